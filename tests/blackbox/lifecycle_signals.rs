//! Process lifecycle driven by signals: SIGINT and SIGTERM stop the server (exit code 0, clients see EOF),
//! SIGHUP and `--signal reload=PID` reload the configuration (new users log in, removed users are closed
//! silently, changed passwords get `Authorization Violation`, revoked subscriptions get the `(sid "n")`
//! error, a non-reloadable change is refused and the old configuration stays), and `--signal
//! stop|quit|term=PIDFILE` with the pid file `-P` writes (corenats removes it on a clean exit,
//! nats-server leaves it). Runs unchanged against nats-server.
use crate::common::process::*;
use crate::common::*;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

const EXIT: Duration = Duration::from_secs(10);

fn login(port: u16, user: &str, pass: &str) -> Raw {
    Raw::ready_with(
        port,
        &format!(r#"{{"verbose":false,"pedantic":false,"user":"{user}","pass":"{pass}"}}"#),
    )
}

fn refused(port: u16, user: &str, pass: &str) {
    let mut c = Raw::connect(port);
    c.send(
        format!(r#"CONNECT {{"verbose":false,"pedantic":false,"user":"{user}","pass":"{pass}"}}"#)
            .as_bytes(),
    );
    c.send(b"\r\nPING\r\n");
    c.expect_err_closed("Authorization Violation");
}

#[test]
fn sigint_and_sigterm_stop_with_exit_zero() {
    for (sig, name) in [("INT", "interrupt"), ("TERM", "terminated")] {
        let mut p = Proc::start(&base_args(), None);
        let mut sub = Raw::ready(p.port);
        sub.send(b"SUB x 1\r\n");
        sub.ping_pong();
        let mut idle = Raw::ready(p.port);
        p.signal(sig);
        sub.expect_closed();
        idle.expect_closed();
        p.expect_exit_zero(EXIT);
        let log = p.log();
        assert!(
            log.contains(&format!("Trapped \"{name}\" signal")),
            "{sig}: {log}"
        );
        assert!(log.contains("Server Exiting.."), "{sig}: {log}");
    }
}

#[test]
fn signals_right_after_the_listening_line_are_handled() {
    for sig in ["HUP", "USR2", "HUP"] {
        // nats-server reloads only with a config file.
        let dir = TempDir::new();
        let mut args = base_args();
        args.extend(conf_args(&dir, "max_payload: 1048576\n"));
        let mut p = Proc::start(&args, None);
        p.signal(sig);
        if sig == "HUP" {
            assert!(
                p.wait_for_log("Reloaded server configuration", TIMEOUT),
                "{}",
                p.log()
            );
            Raw::ready(p.port).expect_nothing();
            assert!(p.running(), "{sig} killed the server: {}", p.log());
        } else {
            // With no clients, lame duck mode ends at once: a clean exit, not death by SIGUSR2.
            p.expect_exit_zero(EXIT);
            assert!(p.log().contains("Entering lame duck mode"), "{}", p.log());
        }
    }
}

const USERS_A: &str = r#"
authorization {
  users = [
    { user: a, password: pa }
    { user: c, password: pc }
    { user: d, password: pd }
  ]
}
"#;

const USERS_B: &str = r#"
authorization {
  users = [
    { user: b, password: pb }
    { user: c, password: changed }
    { user: d, password: pd, permissions { subscribe { allow: ["ok.>"] } } }
  ]
}
"#;

#[test]
fn sighup_reload_applies_users_and_permissions() {
    let dir = TempDir::new();
    let mut args = base_args();
    args.extend(conf_args(&dir, USERS_A));
    let p = Proc::start(&args, None);
    let mut a = login(p.port, "a", "pa");
    let mut c = login(p.port, "c", "pc");
    let mut d = login(p.port, "d", "pd");
    d.send(b"SUB ok.x 1\r\nSUB other.y 2\r\n");
    d.ping_pong();
    refused(p.port, "b", "pb");

    dir.write("server.conf", USERS_B);
    p.signal("HUP");
    assert!(
        p.wait_for_log("Reloaded server configuration", TIMEOUT),
        "{}",
        p.log()
    );
    // The removed user is closed silently, the changed password is told, the narrowed user loses one sub.
    a.expect_closed();
    c.expect_err_closed("Authorization Violation");
    d.expect_err(r#"Permissions Violation for Subscription to "other.y" (sid "2")"#);
    d.ping_pong();
    // The new user logs in; the old one no longer can.
    let mut b = login(p.port, "b", "pb");
    refused(p.port, "a", "pa");
    b.send(b"PUB ok.x 2\r\nhi\r\nPUB other.y 2\r\nno\r\n");
    b.ping_pong();
    d.expect(b"MSG ok.x 1 2\r\nhi\r\n");
    d.expect_nothing();
}

#[test]
fn signal_reload_by_pid_and_failed_reload_keeps_old_config() {
    let dir = TempDir::new();
    let mut args = base_args();
    args.extend(conf_args(&dir, &format!("max_pending: 2000000\n{USERS_A}")));
    let p = Proc::start(&args, None);
    let mut a = login(p.port, "a", "pa");

    // A change that cannot be reloaded: all or nothing, the old users stay.
    dir.write("server.conf", &format!("max_pending: 3000000\n{USERS_B}"));
    let (code, out) = run_binary(&["--signal".into(), format!("reload={}", p.pid())], &dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        p.wait_for_log("Failed to reload server configuration", TIMEOUT),
        "{}",
        p.log()
    );
    assert!(
        p.log()
            .contains("config reload not supported for MaxPending"),
        "{}",
        p.log()
    );
    a.ping_pong();
    login(p.port, "a", "pa").expect_nothing();
    refused(p.port, "b", "pb");

    // A good file: reloaded through the same command.
    dir.write("server.conf", &format!("max_pending: 2000000\n{USERS_B}"));
    let (code, out) = run_binary(&["--signal".into(), format!("reload={}", p.pid())], &dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        p.wait_for_log("Reloaded server configuration", TIMEOUT),
        "{}",
        p.log()
    );
    a.expect_closed();
    login(p.port, "b", "pb").expect_nothing();
}

/// `-P FILE` holds the pid while the server runs; `--signal CMD=FILE` reads it.
fn with_pid_file(cmd: &str) -> (Proc, std::process::ExitStatus, bool, TempDir) {
    let dir = TempDir::new();
    let pid_path = dir.path().join("server.pid");
    let mut args = base_args();
    args.extend(["-P".to_string(), pid_path.to_string_lossy().into_owned()]);
    let mut p = Proc::start(&args, None);
    let text = std::fs::read_to_string(&pid_path).expect("pid file written at start");
    assert_eq!(text.trim(), p.pid().to_string());
    let mut c = Raw::ready(p.port);
    let (code, out) = run_binary(
        &[
            "--signal".into(),
            format!("{cmd}={}", pid_path.to_string_lossy()),
        ],
        &dir,
    );
    assert_eq!(code, Some(0), "--signal {cmd}: {out}");
    c.expect_closed();
    let st = p
        .wait_exit(EXIT)
        .unwrap_or_else(|| panic!("--signal {cmd}: still running"));
    let pid_left = pid_path.exists();
    (p, st, pid_left, dir)
}

#[test]
fn signal_quit_and_term_by_pid_file() {
    for cmd in ["quit", "term"] {
        let (p, st, pid_left, _dir) = with_pid_file(cmd);
        assert_eq!(st.code(), Some(0), "--signal {cmd}: {st}; {}", p.log());
        // corenats removes its pid file on a clean exit; nats-server leaves it behind.
        assert_eq!(pid_left, !is_corenats(), "--signal {cmd}: pid file");
    }
}

#[test]
fn signal_stop_by_pid_file_kills() {
    let (_p, st, _pid_left, _dir) = with_pid_file("stop");
    assert_eq!(st.signal(), Some(9), "{st}");
}

#[test]
fn signal_errors() {
    let dir = TempDir::new();
    // No such process, unknown command, unreadable pid file: all fail with a non-zero exit.
    for arg in [
        "reload=999999999".to_string(),
        "bogus=1".to_string(),
        format!("quit={}", dir.path().join("missing.pid").to_string_lossy()),
    ] {
        let (code, out) = run_binary(&["--signal".into(), arg.clone()], &dir);
        assert!(
            code.is_some_and(|c| c != 0),
            "--signal {arg}: {code:?} {out}"
        );
        assert!(!out.trim().is_empty(), "--signal {arg}: no message");
    }
}

#[test]
fn signal_reopen_reopens_the_log_file() {
    // logrotate moves the file away and sends `--signal reopen` (SIGUSR1): the server keeps running
    // and writes on in a new file at the same path.
    let dir = TempDir::new();
    let log = dir.path().join("server.log");
    let rotated = dir.path().join("server.log.1");
    let mut args = base_args();
    args.extend(["-l".to_string(), log.to_string_lossy().into_owned()]);
    let mut p = Proc::start(&args, Some(log.clone()));
    let mut c = Raw::ready(p.port);
    std::fs::rename(&log, &rotated).unwrap();
    let (code, out) = run_binary(&["--signal".into(), format!("reopen={}", p.pid())], &dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(p.wait_for_log("File log re-opened", TIMEOUT), "{}", p.log());
    assert!(p.running(), "the server died on SIGUSR1");
    c.ping_pong();
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("Server is ready"), "{old}");
    assert!(!old.contains("File log re-opened"), "{old}");
    // Twice in a row works too.
    p.signal("USR1");
    c.ping_pong();
    Raw::ready(p.port).expect_nothing();
}

#[test]
fn sigusr1_without_a_log_file_is_harmless() {
    let mut p = Proc::start(&base_args(), None);
    p.signal("USR1");
    assert!(
        p.wait_for_log("File log re-open ignored", TIMEOUT),
        "{}",
        p.log()
    );
    assert!(p.running());
    Raw::ready(p.port).expect_nothing();
}

#[test]
fn a_panicking_shard_takes_the_process_down_with_a_failure_status() {
    // Fault injection exists in corenats's debug builds only.
    if !is_corenats() {
        return;
    }
    for cores in ["1", "2"] {
        let mut args = base_args();
        args.extend(["--cores".to_string(), cores.to_string()]);
        let env = [("CORENATS_FAULT_PANIC_SUBJECT", "fault.panic")];
        let mut p = Proc::start_env(&args, None, &env);
        // With two shards, a client on each: whichever shard panics, the process goes.
        let mut clients: Vec<Raw> = (0..4).map(|_| Raw::ready(p.port)).collect();
        clients[0].send(b"SUB fault.panic 1\r\nPING\r\n");
        let st = p
            .wait_exit(EXIT)
            .unwrap_or_else(|| panic!("--cores {cores}: still running; log:\n{}", p.log()));
        assert_eq!(st.code(), Some(101), "--cores {cores}: {st}; {}", p.log());
        let log = p.log();
        assert!(
            log.contains("[ERR]")
                && log.contains("panic in thread")
                && log.contains("injected fault"),
            "--cores {cores}: {log}"
        );
        for c in &mut clients {
            c.expect_closed();
        }
    }
}
