//! Lame duck mode (SIGUSR2 or `--signal ldm=PID`): protocol-1 clients get an async INFO with `"ldm":true`
//! (protocol-0 clients get nothing), new connections are refused, existing clients keep working during the
//! grace period and are closed after it, SIGTERM is ignored meanwhile, and then the server exits with code 0.
//! Both servers require `lame_duck_duration` >= 30 s; with few clients neither stretches the closing over
//! the whole duration (at most a second between two closes), so these tests take a few seconds. Runs
//! unchanged against nats-server.
use crate::common::process::*;
use crate::common::*;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

const GRACE: Duration = Duration::from_secs(1);
const CONF: &str = "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n";

/// A protocol-1 client, past the post-CONNECT INFO that the first PING brings.
fn proto1(port: u16) -> Raw {
    let mut c = Raw::connect(port);
    c.send(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\nPING\r\n");
    c.expect(b"PONG\r\n");
    let info = c.expect_info();
    assert_eq!(info["connect_info"], true, "{info}");
    c
}

fn proto0(port: u16) -> Raw {
    Raw::ready_with(port, r#"{"verbose":false,"pedantic":false,"protocol":0}"#)
}

/// True if a new connection can complete CONNECT + PING → PONG (i.e. the server still accepts clients).
fn usable_connection(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
        .is_err()
    {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            Err(_) => return false,
        }
        if got.windows(6).any(|w| w == b"PONG\r\n") {
            return true;
        }
    }
    false
}

/// Runs one lame-duck cycle; `enter` puts the server in lame duck mode.
fn lame_duck(enter: impl FnOnce(&Proc)) {
    let dir = TempDir::new();
    let mut args = base_args();
    args.extend(conf_args(&dir, CONF));
    let mut p = Proc::start(&args, None);
    let mut p1 = proto1(p.port);
    p1.send(b"SUB ld 1\r\n");
    p1.ping_pong();
    let mut p0 = proto0(p.port);
    let mut p1b = proto1(p.port);
    assert!(usable_connection(p.port));

    let t0 = Instant::now();
    enter(&p);
    let info = p1.expect_info();
    assert_eq!(info["ldm"], true, "{info}");
    assert_eq!(p1b.expect_info()["ldm"], true);
    // SIGTERM does not cut lame duck mode short.
    p.signal("TERM");

    // New connections are refused (a shard may take a moment to close its listener).
    let deadline = Instant::now() + Duration::from_millis(500);
    while usable_connection(p.port) {
        assert!(
            Instant::now() < deadline,
            "new connections still accepted in lame duck mode"
        );
        thread::sleep(Duration::from_millis(10));
    }
    for _ in 0..5 {
        assert!(!usable_connection(p.port), "accepted in lame duck mode");
    }

    // Existing clients still work during the grace period (checked only while surely inside it).
    if t0.elapsed() < GRACE / 2 {
        p0.send(b"PUB ld 2\r\nok\r\n");
        p0.ping_pong();
        p1.expect(b"MSG ld 1 2\r\nok\r\n");
        // The protocol-0 client got no INFO.
        p0.expect_nothing();
    }

    // Then every client is closed (no -ERR), not before the grace period.
    for c in [&mut p1, &mut p0, &mut p1b] {
        c.expect_closed();
    }
    assert!(
        t0.elapsed() >= GRACE - Duration::from_millis(100),
        "clients closed after only {:?}",
        t0.elapsed()
    );
    p.expect_exit_zero(Duration::from_secs(15));
    eprintln!("server exited {:?} after lame duck started", t0.elapsed());
}

#[test]
fn sigusr2_lame_duck() {
    lame_duck(|p| p.signal("USR2"));
}

#[test]
fn signal_ldm_by_pid() {
    lame_duck(|p| {
        let dir = TempDir::new();
        let (code, out) = run_binary(&["--signal".into(), format!("ldm={}", p.pid())], &dir);
        assert_eq!(code, Some(0), "{out}");
    });
}

#[test]
fn lame_duck_duration_below_30s_is_refused() {
    let (code, out) = check_config("lame_duck_duration: \"5s\"\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("minimum is 30 seconds"), "{out}");
}
