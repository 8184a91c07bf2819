"""The founding example (seed-example.md), sentence by sentence, with nats-py.

Against corenats the server runs the repo's top-level ``nats-server.conf`` verbatim and the clients use the
story's URLs as written (``nats://user:a:password-a@localhost:PORT``; nats-py splits the user-info at the first
colon and corenats' colon rule finds user ``user:a``). Real nats-server rejects that file, so those tests skip
there; the variant with the corrected config of nats-behaviour.md §5.2 (users ``user:a``/``user:b`` passed as
options) runs against both servers.

Run: ``CORENATS_TEST_SERVER=nats-server python3 -m pytest tests/py`` (or CORENATS_BIN=<corenats binary>).
"""

import asyncio
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import Raw, Server, is_corenats, server_binary  # noqa: E402

import nats  # noqa: E402

pytestmark = pytest.mark.skipif(server_binary() is None, reason="set CORENATS_TEST_SERVER or CORENATS_BIN")
needs_corenats = pytest.mark.skipif(
    not is_corenats(), reason="nats-server rejects the seed config (nats-behaviour.md 5.2)"
)

CORRECTED = """
listen: 4222
accounts {
  a {
    users = [
      { user: "user:a", password: "password-a"
        permissions { publish { allow: ["service.a.>"] }, subscribe { allow: ["service.a.>"] } } }
    ]
  }
  b {
    users = [
      { user: "user:b", password: "password-b"
        permissions { publish { allow: ["service.b.>"] }, subscribe { allow: ["service.b.>"] } } }
    ]
  }
}
"""

DENIED_SUB = 'Permissions Violation for Subscription to "service.a.heartbeat"'
T = harness.TIMEOUT


def seed_text():
    return harness.SEED_CONF.read_text()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


class Tenant:
    """One nats-py connection plus every error its error callback saw."""

    def __init__(self):
        self.errors = []
        self.nc = None

    async def connect(self, url, **opts):
        async def on_error(e):
            self.errors.append(str(e))

        self.nc = await nats.connect(
            servers=[url], error_cb=on_error, allow_reconnect=False, connect_timeout=T, **opts
        )
        return self

    async def wait_error(self):
        for _ in range(int(T / 0.01)):
            if self.errors:
                return self.errors.pop(0)
            await asyncio.sleep(0.01)
        raise AssertionError("no error reported")


async def by_url(port, who):
    # The story's URLs, exactly as written apart from the port.
    url = {"a": f"nats://user:a:password-a@localhost:{port}", "b": f"nats://user:b:password-b@localhost:{port}"}[who]
    return await Tenant().connect(url)


async def by_options(port, who):
    user, pw = {"a": ("user:a", "password-a"), "b": ("user:b", "password-b")}[who]
    return await Tenant().connect(f"nats://127.0.0.1:{port}", user=user, password=pw)


async def next_msg(sub):
    return await asyncio.wait_for(sub.next_msg(timeout=T), T + 1)


async def expect_none(tenant, sub):
    await tenant.nc.flush(timeout=T)
    with pytest.raises(nats.errors.TimeoutError):
        await sub.next_msg(timeout=0.05)


# -- the story -----------------------------------------------------------------------------------------------


async def story_client_a_publishes(port, login):
    watcher = await login(port, "a")
    sub = await watcher.nc.subscribe("service.a.>")
    await watcher.nc.flush(timeout=T)
    a = await login(port, "a")
    await a.nc.publish("service.a.heartbeat", b"beat")
    await a.nc.flush(timeout=T)
    m = await next_msg(sub)
    assert (m.subject, m.data) == ("service.a.heartbeat", b"beat")
    assert a.errors == [] and watcher.errors == []
    await a.nc.close()
    await watcher.nc.close()


async def story_client_b_denied_subscription(port, login):
    b = await login(port, "b")
    await b.nc.subscribe("service.a.heartbeat")
    err = await b.wait_error()
    # nats-py lower-cases the server's text and prefixes "nats: ".
    assert err == "nats: " + DENIED_SUB.lower(), err
    # The connection stays open and works inside b's tenant.
    assert b.nc.is_connected
    own = await b.nc.subscribe("service.b.status")
    await b.nc.flush(timeout=T)
    await b.nc.publish("service.b.status", b"ok")
    assert (await next_msg(own)).data == b"ok"
    assert b.nc.is_connected
    await b.nc.close()


async def story_b_never_reaches_a(port, login):
    a = await login(port, "a")
    sub = await a.nc.subscribe("service.a.>")
    await a.nc.flush(timeout=T)
    b = await login(port, "b")
    await b.nc.publish("service.b.status", b"up")
    await b.nc.publish("service.a.heartbeat", b"spoof")  # denied: b may publish under service.b.> only
    await b.nc.flush(timeout=T)
    err = await b.wait_error()
    assert err == 'nats: permissions violation for publish to "service.a.heartbeat"', err
    await expect_none(a, sub)
    # a may not listen on b's subjects either.
    await a.nc.subscribe("service.b.status")
    assert (await a.wait_error()) == 'nats: permissions violation for subscription to "service.b.status"'
    assert a.nc.is_connected and b.nc.is_connected
    await a.nc.close()
    await b.nc.close()


STORY = [story_client_a_publishes, story_client_b_denied_subscription, story_b_never_reaches_a]


def test_without_accounts_one_subject_space():
    with Server() as s:

        async def go():
            b = await Tenant().connect(f"nats://localhost:{s.port}")
            sub = await b.nc.subscribe("updates.service.a")
            await b.nc.flush(timeout=T)
            a = await Tenant().connect(f"nats://localhost:{s.port}")
            await a.nc.publish("updates.service.a", b"hi")
            assert (await next_msg(sub)).data == b"hi"
            await a.nc.close()
            await b.nc.close()

        run(go())


@needs_corenats
@pytest.mark.parametrize("step", STORY, ids=lambda f: f.__name__)
def test_seed_config_with_story_urls(step):
    with Server(seed_text()) as s:
        run(step(s.port, by_url))


@pytest.mark.parametrize("step", STORY, ids=lambda f: f.__name__)
def test_corrected_config_with_option_credentials(step):
    with Server(CORRECTED) as s:
        run(step(s.port, by_options))


@needs_corenats
@pytest.mark.parametrize("step", STORY, ids=lambda f: f.__name__)
def test_seed_config_with_option_credentials(step):
    with Server(seed_text()) as s:
        run(step(s.port, by_options))


@needs_corenats
def test_seed_config_denied_subscription_exact_bytes():
    # Exactly what nats-py sends for the story's URL: user "user", pass "b:password-b".
    with Server(seed_text()) as s:
        c = Raw(s.port)
        c.send(b'CONNECT {"verbose":false,"pedantic":false,"user":"user","pass":"b:password-b"}\r\n')
        c.ping_pong()
        c.send(b"SUB service.a.heartbeat 1\r\n")
        c.expect(b"-ERR '" + DENIED_SUB.encode() + b"'\r\n")
        c.ping_pong()  # still open
        c.close()


def test_corrected_config_denied_subscription_exact_bytes():
    with Server(CORRECTED) as s:
        c = Raw(s.port)
        c.send(b'CONNECT {"verbose":false,"pedantic":false,"user":"user:b","pass":"password-b"}\r\n')
        c.ping_pong()
        c.send(b"SUB service.a.heartbeat 1\r\n")
        c.expect(b"-ERR '" + DENIED_SUB.encode() + b"'\r\n")
        c.ping_pong()
        c.close()


def test_story_urls_against_corrected_config():
    # nats-py sends user "user" / pass "a:password-a": nats-server refuses, corenats' colon rule accepts.
    with Server(CORRECTED) as s:
        if is_corenats():
            run(story_client_a_publishes(s.port, by_url))
        else:

            async def go():
                with pytest.raises(Exception) as e:
                    await by_url(s.port, "a")
                assert "authorization violation" in str(e.value).lower()

            run(go())


@needs_corenats
def test_seed_config_wrong_password_fails():
    with Server(seed_text()) as s:

        async def go():
            with pytest.raises(Exception) as e:
                await Tenant().connect(f"nats://user:a:password-b@localhost:{s.port}")
            assert "authorization violation" in str(e.value).lower()

        run(go())


def _port_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


@needs_corenats
def test_seed_config_verbatim_listens_on_4222():
    if not _port_free(4222):
        pytest.skip("port 4222 is busy")
    with Server(seed_text(), random_port=False) as s:
        assert s.port == 4222

        async def go():
            a = await Tenant().connect("nats://user:a:password-a@localhost:4222")
            b = await Tenant().connect("nats://user:b:password-b@localhost:4222")
            await a.nc.publish("service.a.heartbeat", b"beat")
            await a.nc.flush(timeout=T)
            assert a.errors == []
            await b.nc.subscribe("service.a.heartbeat")
            assert (await b.wait_error()) == "nats: " + DENIED_SUB.lower()
            assert b.nc.is_connected
            await a.nc.close()
            await b.nc.close()

        run(go())
