//! The command line beyond config checks: `-l` log file, `-D`/`-V`/`-DV` log levels, `-T=false`, `-n`,
//! nats-server's single-dash long options and `=value` forms (`-port=N`, `-user x -pass y`, `-auth t`),
//! `-js`/`--store_dir` (accepted; corenats warns), `-v`, `-p -1` and `port: -1`, the cluster flags nats-server
//! refuses before it starts (`--routes` without a listener, ...), and a busy port (the second server fails
//! with a clear error, the first keeps serving). Runs unchanged against nats-server.
use crate::common::process::*;
use crate::common::*;

use std::net::TcpListener;
use std::thread;
use std::time::Duration;

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends a SUB and proves it was processed, then gives the log pipe a moment to catch up.
fn sub_and_settle(s: &Server) {
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\n");
    c.ping_pong();
    thread::sleep(Duration::from_millis(200));
}

#[test]
fn log_file_receives_the_log() {
    let dir = TempDir::new();
    let log = dir.path().join("server.log");
    let mut args = base_args();
    args.extend(["-l".to_string(), log.to_string_lossy().into_owned()]);
    let p = Proc::start(&args, Some(log.clone()));
    Raw::ready(p.port).expect_nothing();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Server is ready"), "{text}");
    assert!(text.contains("[INF]"), "{text}");
    // Nothing of the log goes to stdout/stderr.
    let console = p.console();
    assert!(!console.contains("Server is ready"), "console: {console}");
}

#[test]
fn trace_flags_log_protocol_lines() {
    for flags in [&["-V"][..], &["-DV"], &["--trace"], &["-trace"]] {
        let s = Server::start(ServerOpts::args(flags));
        let mut c = s.ready();
        c.send(b"SUB foo 1\r\n");
        c.ping_pong();
        assert!(
            s.wait_for_log("<<- [SUB foo 1]", TIMEOUT),
            "{flags:?}: {}",
            s.log()
        );
        assert!(s.log().contains("[TRC]"), "{flags:?}");
        let has_dbg = s.wait_for_log("[DBG]", Duration::from_millis(300));
        assert_eq!(has_dbg, flags == ["-DV"], "{flags:?}: {}", s.log());
    }
}

#[test]
fn debug_flag_logs_debug_but_no_trace() {
    for flags in [&["-D"][..], &["--debug"]] {
        let s = Server::start(ServerOpts::args(flags));
        sub_and_settle(&s);
        assert!(s.wait_for_log("[DBG]", TIMEOUT), "{flags:?}: {}", s.log());
        assert!(!s.log().contains("[TRC]"), "{flags:?}: {}", s.log());
    }
}

#[test]
fn default_log_has_no_debug_or_trace() {
    let s = Server::plain();
    sub_and_settle(&s);
    let log = s.log();
    assert!(!log.contains("[TRC]") && !log.contains("[DBG]"), "{log}");
    assert!(!log.contains("SUB foo"), "{log}");
}

#[test]
fn logtime_false_drops_timestamps() {
    let s = Server::start(ServerOpts::args(&["-T=false"]));
    assert!(s.wait_for_log("Server is ready", TIMEOUT));
    let line = s
        .log()
        .lines()
        .find(|l| l.contains("Server is ready"))
        .unwrap()
        .to_string();
    // `[PID] [INF] Server is ready`: nothing between the pid and the level.
    assert!(line.starts_with('['), "{line}");
    let after_pid = line.split_once("] ").unwrap().1;
    assert!(after_pid.starts_with("[INF]"), "{line}");
    let t = Server::plain();
    assert!(t.wait_for_log("Server is ready", TIMEOUT));
    let line = t
        .log()
        .lines()
        .find(|l| l.contains("Server is ready"))
        .unwrap()
        .to_string();
    assert!(
        !line.split_once("] ").unwrap().1.starts_with("[INF]"),
        "{line}"
    );
}

#[test]
fn single_dash_and_equals_forms() {
    let port = free_port();
    let s = Server::start(ServerOpts::args(&[
        &format!("-port={port}"),
        "-user",
        "x",
        "-pass",
        "y",
        "-name",
        "named",
    ]));
    assert_eq!(s.port(), port);
    let mut c = s.raw();
    assert_eq!(c.info["server_name"], "named");
    assert_eq!(c.info["auth_required"], true);
    c.send(b"CONNECT {\"verbose\":false,\"user\":\"x\",\"pass\":\"y\"}\r\n");
    c.ping_pong();
    let mut bad = s.raw();
    bad.send(b"CONNECT {\"verbose\":false,\"user\":\"x\",\"pass\":\"z\"}\r\nPING\r\n");
    bad.expect_err_closed("Authorization Violation");

    for args in [&["--user=u", "--pass=p"][..], &["-user=u", "-pass=p"]] {
        let s = Server::start(ServerOpts::args(args));
        let mut c = s.raw();
        c.send(b"CONNECT {\"verbose\":false,\"user\":\"u\",\"pass\":\"p\"}\r\n");
        c.ping_pong();
    }

    let s = Server::start(ServerOpts::args(&["-auth", "tok"]));
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false,\"auth_token\":\"tok\"}\r\n");
    c.ping_pong();
    let mut bad = s.raw();
    bad.send(b"CONNECT {\"verbose\":false,\"auth_token\":\"nope\"}\r\nPING\r\n");
    bad.expect_err_closed("Authorization Violation");
}

#[test]
fn jetstream_flags_are_accepted() {
    let dir = TempDir::new();
    let store = dir.path().to_string_lossy().into_owned();
    for args in [
        strings(&["-js", "--store_dir", &store]),
        strings(&["--jetstream", "-sd", &store]),
    ] {
        let s = Server::start(ServerOpts {
            args,
            ..ServerOpts::default()
        });
        s.ready().expect_nothing();
        if is_corenats() {
            let log = s.log();
            assert!(
                log.lines()
                    .any(|l| l.contains("[WRN]") && l.contains("JetStream")),
                "{log}"
            );
        }
    }
}

#[test]
fn short_version_flag() {
    let dir = TempDir::new();
    let (code, out) = run_binary(&["-v".into()], &dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(": v"), "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
}

#[test]
fn random_port_from_flag_and_config() {
    let a = Server::plain();
    let b = Server::plain();
    assert_ne!(a.port(), b.port());
    a.ready().expect_nothing();
    b.ready().expect_nothing();
    let dir = TempDir::new();
    let mut args = strings(&["-a", "127.0.0.1"]);
    args.extend(conf_args(&dir, "port: -1\n"));
    let p = Proc::start(&args, None);
    assert_ne!(p.port, 4222);
    Raw::ready(p.port).expect_nothing();
}

#[test]
fn cluster_flags_nats_server_refuses_at_start() {
    // Refused before anything listens, with nats-server's texts (no route code involved).
    let dir = TempDir::new();
    for (args, want) in [
        (
            &["-routes", "nats://127.0.0.1:6223"][..],
            "solicited routes require cluster capabilities, e.g. --cluster",
        ),
        (
            &["--routes=nats://127.0.0.1:6223", "--cluster="],
            "solicited routes require cluster capabilities, e.g. --cluster",
        ),
        (
            &["-cluster", "nats://ruser@127.0.0.1:-1"],
            "expected cluster password to be set",
        ),
        (
            &["--cluster_listen", "nats://127.0.0.1"],
            "address 127.0.0.1: missing port in address",
        ),
        (
            &["--cluster", "nats://127.0.0.1:-1", "--cluster_name", "a b"],
            "cluster name cannot contain spaces",
        ),
    ] {
        let mut all = strings(&["-a", "127.0.0.1", "-p", "-1"]);
        all.extend(strings(args));
        let (code, out) = run_binary(&all, &dir);
        assert_eq!(code, Some(1), "{args:?}: {out}");
        assert!(out.contains(want), "{args:?}: {out}");
    }
    // The routes of a file without a listener, with the flag's `--routes` too.
    let mut all = strings(&["-p", "-1", "--routes", "nats://127.0.0.1:6223"]);
    all.extend(conf_args(&dir, "cluster { name: C }\n"));
    let (code, out) = run_binary(&all, &dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("solicited routes require cluster capabilities"),
        "{out}"
    );
}

#[test]
fn busy_port_is_an_error_and_the_first_server_keeps_serving() {
    let s = Server::plain();
    let mut keep = s.ready();
    keep.send(b"SUB busy 1\r\n");
    keep.ping_pong();
    let dir = TempDir::new();
    let (code, out) = run_binary(
        &strings(&["-a", "127.0.0.1", "-p", &s.port().to_string()]),
        &dir,
    );
    assert!(code.is_some_and(|c| c != 0), "{code:?}: {out}");
    let low = out.to_lowercase();
    assert!(
        low.contains("address already in use") && low.contains(&s.port().to_string()),
        "{out}"
    );
    // Every new connection still reaches the first server and sees its subscription.
    for i in 0..10 {
        let mut c = s.ready();
        c.send(format!("PUB busy 1\r\n{i}\r\n").as_bytes());
        c.ping_pong();
        keep.expect(format!("MSG busy 1 1\r\n{i}\r\n").as_bytes());
    }
    keep.expect_nothing();
}

#[test]
fn trace_redacts_connect_secrets() {
    let s = Server::start(ServerOpts {
        config: Some("authorization { user: derek, password: s3cr3tpw }\n".into()),
        args: vec!["-V".into()],
        ..ServerOpts::default()
    });
    let mut c = s.raw();
    c.send(
        b"CONNECT {\"verbose\":false,\"user\":\"derek\",\"pass\":\"s3cr3tpw\",\"auth_token\":\"tok3n\",\"name\":\"n1\"}\r\nPING\r\n",
    );
    c.expect(b"PONG\r\n");
    let mut d = s.raw();
    d.send(b"CONNECT {\"verbose\":false,\"nkey\":\"UPUBLICKEYX\",\"sig\":\"s1gnatur3\"}\r\n");
    d.expect_err_closed("Authorization Violation");
    assert!(s.wait_for_log("\"name\":\"n1\"", TIMEOUT), "{}", s.log());
    assert!(
        s.wait_for_log("\"nkey\":\"[REDACTED]\"", TIMEOUT),
        "{}",
        s.log()
    );
    let log = s.log();
    for secret in ["s3cr3tpw", "tok3n", "s1gnatur3"] {
        assert!(!log.contains(secret), "{secret} in the trace:\n{log}");
    }
    assert!(log.contains("\"pass\":\"[REDACTED]\""), "{log}");
    assert!(log.contains("\"auth_token\":\"[REDACTED]\""), "{log}");
    assert!(log.contains("\"sig\":\"[REDACTED]\""), "{log}");
}

/// `--help` groups the options as nats-server's help does.
#[test]
fn help_groups_options_like_nats_server() {
    if !is_corenats() {
        return;
    }
    let dir = TempDir::new();
    let (code, out) = run_binary(&["--help".into()], &dir);
    assert_eq!(code, Some(0), "{out}");
    let mut at = 0;
    for heading in [
        "Server Options:",
        "TLS Options:",
        "Logging Options:",
        "Authorization Options:",
        "JetStream Options:",
        "Cluster Options:",
        "Explain Options:",
        "Common Options:",
    ] {
        let i = out[at..]
            .find(heading)
            .unwrap_or_else(|| panic!("no {heading:?} after byte {at}:\n{out}"));
        at += i + heading.len();
    }
    assert!(
        out.contains("--runtime") && out.contains("--routes"),
        "{out}"
    );
}
