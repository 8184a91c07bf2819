//! The epoll runtime where io_uring is really blocked (a seccomp filter installed before exec, as Docker's
//! default profile and Kubernetes' `RuntimeDefault` do): `--runtime auto` says why in one log line and
//! serves; `--runtime io_uring` fails at once with a clear error; `--runtime epoll` never calls io_uring.
//! corenats only: nats-server has no runtimes to choose from.
use crate::common::seccomp::{self, IoUring};
use crate::common::*;

const FALLBACK: &str =
    "io_uring unavailable (io_uring_setup: Operation not permitted); using the epoll runtime";

fn start(runtime: &str, io_uring: IoUring) -> Server {
    Server::start(ServerOpts {
        args: vec!["--runtime".into(), runtime.into()],
        cores: Some(2),
        io_uring,
        ..ServerOpts::default()
    })
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Clients on several connections (so on both shards, most likely): every subscriber gets a publication,
/// and a request gets its reply.
fn serves(s: &Server) {
    let mut subs: Vec<Raw> = (0..4).map(|_| s.ready()).collect();
    for (i, r) in subs.iter_mut().enumerate() {
        r.send(format!("SUB fallback.> 1\r\nSUB svc.{i} q 2\r\n").as_bytes());
        r.ping_pong();
    }
    let mut client = s.ready();
    client.send(b"SUB _INBOX.me 1\r\nPUB fallback.x 5\r\nhello\r\n");
    client.ping_pong();
    for r in &mut subs {
        let m = r.read_msg();
        assert_eq!(
            (m.subject.as_str(), m.payload.as_slice()),
            ("fallback.x", &b"hello"[..])
        );
    }
    for (i, r) in subs.iter_mut().enumerate() {
        client.send(format!("PUB svc.{i} _INBOX.me 4\r\nping\r\n").as_bytes());
        let req = r.read_msg();
        assert_eq!(req.reply.as_deref(), Some("_INBOX.me"));
        r.send(format!("PUB _INBOX.me 6\r\npong-{i}\r\n").as_bytes());
        let rep = client.read_msg();
        assert_eq!(rep.payload, format!("pong-{i}").into_bytes());
    }
    client.expect_nothing();
}

#[test]
fn auto_falls_back_to_epoll_in_one_line_and_serves() {
    if !is_corenats() {
        return;
    }
    let s = start("auto", IoUring::Blocked);
    let log = s.log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("io_uring")).collect();
    assert_eq!(lines.len(), 1, "one line about io_uring:\n{log}");
    assert!(
        lines[0].contains("[WRN]") && lines[0].contains(FALLBACK),
        "{log}"
    );
    assert!(log.contains("shard(s) on CPUs"), "{log}");
    assert!(log.contains("(epoll runtime)"), "{log}");
    serves(&s);
}

#[test]
fn io_uring_runtime_fails_fast_when_blocked() {
    if !is_corenats() {
        return;
    }
    let dir = TempDir::new();
    let args = strings(&["-a", "127.0.0.1", "-p", "-1", "--runtime", "io_uring"]);
    let (code, out) = run_binary_with(&args, &dir, seccomp::block_io_uring);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("io_uring is not available (io_uring_setup: Operation not permitted)"),
        "{out}"
    );
    assert!(out.contains("--runtime epoll"), "says what to do: {out}");
    assert!(!out.contains("Listening for client connections"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}

#[test]
fn epoll_runtime_never_calls_io_uring() {
    if !is_corenats() {
        return;
    }
    // Any io_uring system call would kill the process (SIGSYS).
    let s = start("epoll", IoUring::Fatal);
    let log = s.log();
    assert!(!log.contains("io_uring"), "{log}");
    assert!(log.contains("(epoll runtime)"), "{log}");
    serves(&s);
    assert!(s.pid().is_some());
    let dir = TempDir::new();
    let (code, out) = run_binary_with(&strings(&["--runtime", "epoll", "--version"]), &dir, |c| {
        seccomp::restrict(c, IoUring::Fatal)
    });
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("epoll runtime"), "{out}");
    // The filter does kill: `auto` probes io_uring.
    let (code, out) = run_binary_with(&strings(&["--runtime", "auto", "--version"]), &dir, |c| {
        seccomp::restrict(c, IoUring::Fatal)
    });
    assert_eq!(code, None, "killed by SIGSYS: {out}");
}

#[test]
fn version_names_the_runtime_auto_would_choose() {
    if !is_corenats() {
        return;
    }
    let dir = TempDir::new();
    let (code, out) = run_binary_with(
        &strings(&["--runtime", "auto", "--version"]),
        &dir,
        seccomp::block_io_uring,
    );
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    assert!(out.contains("epoll runtime"), "{out}");
}

#[test]
fn unknown_runtime_is_refused() {
    if !is_corenats() {
        return;
    }
    let dir = TempDir::new();
    let (code, out) = run_binary(&strings(&["--runtime", "uring"]), &dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("auto") && out.contains("epoll"), "{out}");
}
