//! Queue groups across shards are weighted by member count: every member of a group gets about the same
//! share, wherever its connection landed. (With a per-shard choice, a lone member on one shard would get
//! half of everything while two members on the other shard got a quarter each.) Also holds for
//! nats-server, which picks uniformly among members.
use crate::common::*;
use std::time::Duration;

#[test]
fn every_queue_member_gets_a_fair_share_across_shards() {
    let s = Server::start(ServerOpts {
        cores: Some(2),
        ..ServerOpts::default()
    });
    // Enough members that both shards surely hold some (SO_REUSEPORT spreads connections).
    const MEMBERS: usize = 6;
    const TOTAL: usize = 6000;
    let mut members: Vec<Raw> = (0..MEMBERS).map(|_| s.ready()).collect();
    for m in members.iter_mut() {
        m.send(b"SUB work grp 1\r\n");
        m.ping_pong();
    }
    let mut publisher = s.ready();
    let mut batch = Vec::new();
    for _ in 0..TOTAL {
        batch.extend_from_slice(b"PUB work 1\r\nx\r\n");
    }
    publisher.send(&batch);
    publisher.ping_pong();
    let got = collect_from(&mut members, TOTAL, Duration::from_secs(10));
    assert_eq!(got.len(), TOTAL, "every message reaches exactly one member");
    let mut share = [0usize; MEMBERS];
    for (i, _) in &got {
        share[*i] += 1;
    }
    // A fair share is 1000 each; a per-shard (unweighted) choice gives some members 1.5x or more.
    for (i, n) in share.iter().enumerate() {
        assert!(
            (600..=1400).contains(n),
            "member {i} got {n} of {TOTAL} (shares {share:?})"
        );
    }
    for m in members.iter_mut() {
        m.expect_nothing();
    }
}
