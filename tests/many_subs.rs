//! A connection with many subscriptions: closing it takes them out of the tables a slice at a time
//! (the sweeper), while the shard keeps serving others. Its slot is not reused before the last one
//! is gone, so a new connection never receives messages meant for the closed one, and the server's
//! subscription count returns to where it was.
mod common;
#[path = "common_monitor/mod.rs"]
mod common_monitor;
#[path = "common/tenancy.rs"]
mod tenancy;

use common::*;
use common_monitor::*;
use tenancy::wait_until;

#[test]
fn closing_a_connection_with_many_subscriptions() {
    const N: usize = 20_000;
    let m = Mon::start(ServerOpts {
        cores: Some(1),
        ..ServerOpts::default()
    });
    let s = &m.server;
    let mut other = s.ready();
    other.send(b"SUB keep 1\r\n");
    other.ping_pong();
    let base = m.json("/varz")["subscriptions"].as_u64().unwrap_or(0);
    let mut many = s.ready();
    let mut subs = Vec::with_capacity(N * 16);
    for i in 0..N {
        subs.extend_from_slice(format!("SUB many.{i} {i}\r\n").as_bytes());
    }
    many.send(&subs);
    many.ping_pong();
    assert_eq!(
        m.json("/varz")["subscriptions"].as_u64(),
        Some(base + N as u64)
    );
    drop(many);
    // New connections right after the close (one of them may get the closed one's slot) hear
    // nothing of the old subscriptions, while the other connection is served throughout.
    let mut fresh: Vec<Raw> = (0..3).map(|_| s.ready()).collect();
    let mut publisher = s.ready();
    for i in (0..N).step_by(997) {
        publisher.send(format!("PUB many.{i} 1\r\nx\r\n").as_bytes());
    }
    publisher.send(b"PUB keep 1\r\nk\r\n");
    publisher.ping_pong();
    other.expect(b"MSG keep 1 1\r\nk\r\n");
    for f in fresh.iter_mut() {
        f.ping_pong();
        f.expect_nothing();
    }
    // No round trip can prove the sweeper done: poll the count.
    wait_until("the subscriptions to be swept", || {
        m.json("/varz")["subscriptions"].as_u64() == Some(base)
    });
}
