"""TLS with nats-py: an ``ssl.SSLContext`` client against ``verify``, ``verify_and_map`` and
``handshake_first`` servers. Certificates are made per test run with the ``openssl`` command (test-only,
in a temporary directory). Passes against nats-server too (``CORENATS_TEST_SERVER=nats-server``)."""

import asyncio
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

import nats
import pytest
from nats.errors import NoServersError

from harness import TIMEOUT, Server

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki():
    """A CA, a server certificate for localhost/127.0.0.1, and client certificates for alice (an
    e-mail SAN) and mallory (signed by another CA)."""
    d = tempfile.TemporaryDirectory(prefix="corenats-pytls-")
    p = Path(d.name)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for ca in ("ca", "other"):
        _openssl("req", "-x509", *ec, "-keyout", f"{ca}-key.pem", "-out", f"{ca}.pem", "-days", "2",
                 "-subj", f"/CN={ca} test CA", cwd=p)

    def issue(name, ca, subj, ext):
        _openssl("req", *ec, "-keyout", f"{name}-key.pem", "-out", f"{name}.csr", "-subj", subj, cwd=p)
        (p / f"{name}.ext").write_text(ext)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=p)

    issue("server", "ca", "/CN=localhost",
          "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    issue("alice", "ca", "/CN=ignored",
          "subjectAltName=email:alice@example.com\nextendedKeyUsage=clientAuth\n")
    issue("mallory", "other", "/CN=mallory",
          "subjectAltName=email:alice@example.com\nextendedKeyUsage=clientAuth\n")
    yield p
    d.cleanup()


def _tls_block(p, extra):
    return (f'tls {{\n  cert_file: "{p}/server.pem"\n  key_file: "{p}/server-key.pem"\n'
            f'  ca_file: "{p}/ca.pem"\n  {extra}\n}}\n')


def _context(p, client=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(p / "ca.pem"))
    if client:
        ctx.load_cert_chain(str(p / f"{client}.pem"), str(p / f"{client}-key.pem"))
    return ctx


async def _connect(port, ctx, **kw):
    return await nats.connect(f"tls://127.0.0.1:{port}", tls=ctx, connect_timeout=TIMEOUT,
                              allow_reconnect=False, max_reconnect_attempts=0, **kw)


def test_verify_and_map_takes_the_user_from_the_certificate(pki):
    conf = _tls_block(pki, "verify_and_map: true") + """
accounts {
  A { users: [ {user: "alice@example.com", permissions: {publish: "a.>", subscribe: "a.>"}} ] }
}
"""

    async def run(port):
        errors = []

        async def on_error(e):
            errors.append(str(e))

        nc = await _connect(port, _context(pki, "alice"), error_cb=on_error)
        sub = await nc.subscribe("a.x")
        await nc.publish("a.x", b"hello")
        msg = await sub.next_msg(timeout=TIMEOUT)
        assert msg.data == b"hello"
        await nc.publish("b.x", b"denied")
        await nc.flush(timeout=TIMEOUT)
        for _ in range(50):
            if errors:
                break
            await asyncio.sleep(0.05)
        assert any("permissions violation" in e.lower() for e in errors), errors
        await nc.close()
        # A certificate from another CA is refused in the handshake.
        with pytest.raises((NoServersError, ssl.SSLError, OSError, asyncio.TimeoutError)):
            await _connect(port, _context(pki, "mallory"))

    with Server(conf) as s:
        asyncio.run(run(s.port))


def test_handshake_first_client(pki):
    conf = _tls_block(pki, "verify: true\n  handshake_first: true")

    async def run(port):
        nc = await _connect(port, _context(pki, "alice"), tls_handshake_first=True)
        sub = await nc.subscribe("t")
        await nc.publish("t", b"first")
        assert (await sub.next_msg(timeout=TIMEOUT)).data == b"first"
        await nc.close()

    with Server(conf) as s:
        asyncio.run(run(s.port))
