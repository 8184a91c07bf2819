"""Starts the server under test for the Python tests and speaks raw protocol when a test needs exact bytes.

The binary is $CORENATS_TEST_SERVER (a path or a name on PATH, e.g. ``nats-server``) when set, else
$CORENATS_BIN (the corenats binary the build passes in). The server runs with ``-a 127.0.0.1 -p -1`` (unless a
test asks for the config's own port) and the chosen port is read from the log line
``Listening for client connections on 127.0.0.1:PORT``. Every wait is bounded.
"""

import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

TIMEOUT = 5.0
START_TIMEOUT = 15.0
REPO = Path(__file__).resolve().parent.parent.parent
SEED_CONF = REPO / "nats-server.conf"

_LISTEN_RE = re.compile(r"Listening for client connections on \S*:(\d+)")


def server_binary():
    """The binary under test, or None when neither variable is set."""
    return os.environ.get("CORENATS_TEST_SERVER") or os.environ.get("CORENATS_BIN") or None


def is_corenats():
    """True unless the binary's file name starts with ``nats-server``."""
    b = server_binary()
    return b is not None and not os.path.basename(b).startswith("nats-server")


class Server:
    """A running server process; use as a context manager (killed by its own PID on exit)."""

    def __init__(self, conf_text=None, random_port=True, args=()):
        self.dir = tempfile.TemporaryDirectory(prefix="corenats-pytests-")
        cmd = [server_binary()]
        if random_port:
            cmd += ["-a", "127.0.0.1", "-p", "-1"]
        if conf_text is not None:
            path = Path(self.dir.name) / "nats-server.conf"
            path.write_text(conf_text)
            cmd += ["-c", str(path)]
        cmd += list(args)
        self.log = []
        self.port = None
        found = threading.Event()
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

        def reader():
            for line in self.proc.stdout:
                self.log.append(line)
                m = _LISTEN_RE.search(line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    found.set()
            found.set()

        threading.Thread(target=reader, daemon=True).start()
        if not found.wait(START_TIMEOUT) or self.port is None:
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.log))

    def url(self, userinfo=""):
        return f"nats://{userinfo}127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        self.dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Raw:
    """A raw protocol client with exact-bytes expectations."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""
        line = self.line()
        assert line.startswith(b"INFO {") and line.endswith(b"} "), line

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; have {self.buf!r}")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError(f"timed out; have {self.buf!r}")
        if not d:
            raise AssertionError(f"connection closed; have {self.buf!r}")
        self.buf += d

    def line(self):
        deadline = time.monotonic() + TIMEOUT
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def expect(self, want):
        deadline = time.monotonic() + TIMEOUT
        while len(self.buf) < len(want):
            assert want.startswith(self.buf), f"expected {want!r}, got {self.buf!r}"
            self._fill(deadline)
        assert self.buf.startswith(want), f"expected {want!r}, got {self.buf!r}"
        self.buf = self.buf[len(want):]

    def ping_pong(self):
        self.send(b"PING\r\n")
        self.expect(b"PONG\r\n")

    def close(self):
        self.sock.close()
