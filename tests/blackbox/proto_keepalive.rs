//! Raw protocol: server PINGs (`ping_interval`, `ping_max`), the `Stale Connection` close, and client PINGs.
use crate::common::*;
use std::time::{Duration, Instant};

const FAST_PINGS: &str = "ping_interval: \"1s\"\nping_max: 2\n";

#[test]
fn silent_client_gets_pings_then_stale_connection() {
    let s = Server::start(ServerOpts::conf(FAST_PINGS));
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false}\r\n");
    c.timeout = Duration::from_secs(4);
    c.auto_pong = false;
    let t0 = Instant::now();
    c.expect(b"PING\r\n");
    c.expect(b"PING\r\n");
    c.expect_err_closed("Stale Connection");
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "stale too early: {took:?}"
    );
    assert!(took <= Duration::from_secs(8), "stale too late: {took:?}");
}

#[test]
fn answering_client_stays_connected() {
    let s = Server::start(ServerOpts::conf(FAST_PINGS));
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false}\r\n");
    c.timeout = Duration::from_secs(4);
    c.auto_pong = false;
    let end = Instant::now() + Duration::from_millis(4500);
    let mut pings = 0;
    while Instant::now() < end {
        if let Some(line) = c.try_line(Duration::from_millis(200)) {
            assert_eq!(line, "PING", "unexpected {line:?}");
            pings += 1;
            c.send(b"PONG\r\n");
        }
    }
    assert!(pings >= 1, "the server never pinged");
    c.send(b"PING\r\n");
    // A server PING may cross our PING; answer it and look for our PONG.
    loop {
        let line = c.expect_line();
        if line == "PONG" {
            break;
        }
        assert_eq!(line, "PING");
        c.send(b"PONG\r\n");
    }
}

#[test]
fn default_interval_sends_no_early_pings_to_busy_clients() {
    // With the default 2m interval the first PING comes ~2s after CONNECT at the earliest:
    // within one second, nothing but our own PONGs arrives.
    let s = Server::plain();
    let mut c = s.ready();
    c.auto_pong = false;
    let end = Instant::now() + Duration::from_millis(800);
    while Instant::now() < end {
        c.ping_pong();
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn client_ping_answered_before_connect() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"PING\r\nPING\r\n");
    c.expect(b"PONG\r\nPONG\r\n");
}

#[test]
fn ping_max_counts_unanswered_pings_before_stale_connection() {
    // ping_max 4 (not the default 2): a client that never answers gets exactly four PINGs, then the
    // -ERR and the close on the fifth tick.
    let s = Server::start(ServerOpts::conf("ping_interval: \"300ms\"\nping_max: 4\n"));
    let t0 = Instant::now();
    let mut c = s.raw();
    c.auto_pong = false;
    c.send(b"CONNECT {\"verbose\":false}\r\n");
    let lines = c.lines_until_closed();
    let took = t0.elapsed();
    assert_eq!(
        lines,
        ["PING", "PING", "PING", "PING", "-ERR 'Stale Connection'"]
    );
    // Four full intervals at least lie between the first tick and the one that closes.
    assert!(
        took >= Duration::from_millis(1200),
        "stale too early: {took:?}"
    );
}

/// The keep-alive starts when the connection opens, before any CONNECT: a client that never speaks
/// is PINGed and then closed as stale, on an open server too.
#[test]
fn silent_client_without_connect_goes_stale() {
    let s = Server::start(ServerOpts::conf("ping_interval: \"500ms\"\nping_max: 1\n"));
    let mut c = s.raw();
    c.timeout = Duration::from_secs(5);
    c.auto_pong = false;
    c.expect(b"PING\r\n");
    c.expect_err_closed("Stale Connection");
}

/// The first PING comes about 2 s after the connection opens even while the client is busy: it
/// measures the round trip (nats-server does the same, and again every hour).
#[test]
fn first_ping_measures_rtt_despite_traffic() {
    let s = Server::plain();
    let mut c = s.ready();
    c.auto_pong = false;
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(5);
    let mut pinged = false;
    while Instant::now() < end && !pinged {
        c.send(b"PUB busy 1\r\nx\r\n");
        if let Some(line) = c.try_line(Duration::from_millis(100)) {
            assert_eq!(line, "PING", "unexpected {line:?}");
            pinged = true;
        }
    }
    assert!(pinged, "no PING within 5 s");
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "first PING too early: {took:?}"
    );
    c.send(b"PONG\r\n");
    c.ping_pong();
}
