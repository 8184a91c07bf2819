//! Raw protocol: server limits — max_control_line (with and without CRLF), max_payload (exact boundary,
//! PUB and HPUB), max_connections (after INFO; 0 rejects all), max_subscriptions (connection stays open).
use crate::common::*;

#[test]
fn control_line_at_limit_ok_over_limit_closes() {
    let s = Server::plain();
    // The argument part of `SUB <subject> 1` is subject + " 1": 4096 bytes is allowed.
    let subj = "a".repeat(4094);
    let mut c = s.ready();
    c.send(format!("SUB {subj} 1\r\nPUB {subj} 1\r\nx\r\n").as_bytes());
    let m = c.read_msg();
    assert_eq!(m.subject, subj);
    c.expect_nothing();
    let subj = "a".repeat(4095);
    let mut c = s.ready();
    c.send(format!("SUB {subj} 1\r\n").as_bytes());
    c.expect_err_closed("maximum control line exceeded");
}

#[test]
fn control_line_exceeded_without_crlf() {
    let s = Server::plain();
    for verb in ["SUB", "PUB", "UNSUB", "HPUB"] {
        let mut c = s.ready();
        c.send(format!("{verb} {}", "a".repeat(5000)).as_bytes());
        c.expect_err_closed("maximum control line exceeded");
    }
}

#[test]
fn control_line_exceeded_by_connect() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(
        format!(
            "CONNECT {{\"verbose\":false,\"name\":\"{}\"}}\r\n",
            "n".repeat(5000)
        )
        .as_bytes(),
    );
    c.expect_err_closed("maximum control line exceeded");
}

#[test]
fn control_line_configured() {
    let s = Server::start(ServerOpts::conf("max_control_line: 64\n"));
    let mut c = s.ready();
    c.send(format!("SUB {} 1\r\n", "b".repeat(50)).as_bytes());
    c.expect_nothing();
    c.send(format!("SUB {} 2\r\n", "b".repeat(70)).as_bytes());
    c.expect_err_closed("maximum control line exceeded");
}

#[test]
fn control_line_split_across_writes() {
    let s = Server::plain();
    let mut c = s.ready();
    let line = format!("SUB {}", "a".repeat(5000));
    for chunk in line.as_bytes().chunks(700) {
        if c.try_send(chunk).is_err() {
            break;
        }
    }
    c.expect_err_closed("maximum control line exceeded");
}

#[test]
fn default_max_payload_exact_ok() {
    let s = Server::plain();
    let mut c = s.ready();
    let n = 1024 * 1024;
    c.send(format!("SUB foo 1\r\nPUB foo {n}\r\n").as_bytes());
    c.send(&vec![b'x'; n]);
    c.send(b"\r\n");
    let m = c.read_msg();
    assert_eq!(m.payload.len(), n);
    c.expect_nothing();
}

#[test]
fn default_max_payload_plus_one_fails_before_payload() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"PUB foo 1048577\r\n");
    c.expect_err_closed("Maximum Payload Violation");
}

#[test]
fn configured_max_payload() {
    let s = Server::start(ServerOpts::conf("max_payload: 100\n"));
    let mut c = s.ready();
    assert_eq!(c.info["max_payload"], 100);
    c.send(format!("SUB foo 1\r\nPUB foo 100\r\n{}\r\n", "y".repeat(100)).as_bytes());
    assert_eq!(c.read_msg().payload.len(), 100);
    c.expect_nothing();
    c.send(b"PUB foo 101\r\n");
    c.expect_err_closed("Maximum Payload Violation");
}

#[test]
fn configured_max_payload_counts_headers() {
    let s = Server::start(ServerOpts::conf("max_payload: 100\n"));
    let mut c = s.ready();
    // 12 header bytes + 88 payload bytes = 100: allowed.
    c.send(
        format!(
            "SUB foo 1\r\nHPUB foo 12 100\r\nNATS/1.0\r\n\r\n{}\r\n",
            "z".repeat(88)
        )
        .as_bytes(),
    );
    let m = c.read_msg();
    assert_eq!(m.payload.len(), 88);
    c.expect_nothing();
    c.send(b"HPUB foo 12 101\r\n");
    c.expect_err_closed("Maximum Payload Violation");
}

#[test]
fn max_connections_rejects_after_info() {
    let s = Server::start(ServerOpts::conf("max_connections: 2\n"));
    let a = s.ready();
    let _b = s.ready();
    let mut c = s.raw(); // INFO first
    c.expect_err_closed("maximum connections exceeded");
    drop(a);
    // The slot frees once the server notices the close.
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let mut d = s.raw();
        d.send(b"CONNECT {\"verbose\":false}\r\nPING\r\n");
        let line = d.expect_line();
        if line == "PONG" {
            break;
        }
        assert_eq!(line, "-ERR 'maximum connections exceeded'");
        assert!(std::time::Instant::now() < deadline, "slot never freed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn max_connections_zero_rejects_everyone() {
    let s = Server::start(ServerOpts::conf("max_connections: 0\n"));
    let mut c = s.raw();
    c.expect_err_closed("maximum connections exceeded");
}

#[test]
fn max_subscriptions_keeps_connection_open() {
    let s = Server::start(ServerOpts::conf("max_subscriptions: 2\n"));
    let mut c = s.ready();
    c.send(b"SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n");
    c.expect_err("maximum subscriptions exceeded");
    // The third SUB was not created.
    c.send(b"PUB c 1\r\nx\r\n");
    c.expect_nothing();
    // After an UNSUB there is room again.
    c.send(b"UNSUB 1\r\nSUB c 3\r\nPUB c 1\r\ny\r\n");
    c.expect(b"MSG c 3 1\r\ny\r\n");
    c.expect_nothing();
}

#[test]
fn max_subscriptions_verbose_order() {
    let s = Server::start(ServerOpts::conf("max_subscriptions: 1\n"));
    let mut c = s.raw();
    c.send(b"CONNECT {}\r\nSUB a 1\r\nSUB b 2\r\n");
    c.expect(b"+OK\r\n+OK\r\n");
    c.expect_err("maximum subscriptions exceeded");
    c.expect_nothing();
}

#[test]
fn max_subscriptions_is_per_connection() {
    let s = Server::start(ServerOpts::conf("max_subscriptions: 1\n"));
    let mut a = s.ready();
    let mut b = s.ready();
    a.send(b"SUB x 1\r\n");
    b.send(b"SUB x 1\r\n");
    a.expect_nothing();
    b.expect_nothing();
}

#[test]
fn max_sub_tokens_refuses_deep_subjects_and_keeps_connection() {
    let s = Server::start(ServerOpts::conf("max_sub_tokens: 3\n"));
    let mut c = s.ready();
    c.send(b"SUB a.b.c.d 1\r\n");
    c.expect_err("Permissions Violation for Subscription to \"a.b.c.d\", too many tokens");
    // Three tokens are fine, and the connection is still open.
    c.send(b"SUB a.b.c 2\r\nPUB a.b.c 1\r\nx\r\n");
    c.expect(b"MSG a.b.c 2 1\r\nx\r\n");
    c.expect_nothing();
}

/// nats-server reads 0 as "the default" for these limits: a config with zeros behaves like one
/// without them (INFO advertises 1 MiB, 4 KiB control lines pass, no ping storm).
#[test]
fn zero_limits_mean_the_defaults() {
    let s = Server::start(ServerOpts::conf(
        "max_payload: 0\nmax_control_line: 0\nping_interval: \"0s\"\nping_max: 0\n",
    ));
    let mut c = s.raw();
    assert_eq!(c.info["max_payload"], 1024 * 1024);
    c.send(b"CONNECT {\"verbose\":false}\r\nPING\r\n");
    c.expect(b"PONG\r\n");
    let subj = "z".repeat(2000);
    c.send(format!("SUB {subj} 1\r\nPUB {subj} 5\r\nhello\r\n").as_bytes());
    let m = c.read_msg();
    assert_eq!(m.payload, b"hello");
    // With ping_interval 0 taken literally the server would PING at once and nonstop.
    c.ping_pong();
    c.expect_nothing();
}

/// An `-ERR` for an op before a PING leaves in the same write as the PONG (nats-server writes them
/// together; nats-py closes on this error and would otherwise miss the PONG its flush waits for).
#[test]
fn err_and_pong_leave_together() {
    let s = Server::start(ServerOpts {
        cores: Some(2),
        ..ServerOpts::conf("max_subscriptions: 3\n")
    });
    for _ in 0..5 {
        let mut c = s.ready();
        c.send(b"SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\nPING\r\n");
        c.expect(b"-ERR 'maximum subscriptions exceeded'\r\n");
        assert_eq!(c.pending(), b"PONG\r\n", "the PONG came in a later write");
    }
}
