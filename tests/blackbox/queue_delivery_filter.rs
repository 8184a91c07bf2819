//! A queue member whose delivery-time deny filter refuses a message does not swallow it: another member
//! of the group gets it (nats-server tries the next member too). And a second subscriber of a subject that
//! another connection on the same shard just announced still gets the SUB → PING → PONG guarantee.
use crate::common::tenancy::login;
use crate::common::*;

const CONF: &str = r#"
authorization {
  users: [
    { user: limited, password: l, permissions: { subscribe: { deny: ["work.secret"] } } }
    { user: open, password: o }
  ]
}
"#;

#[test]
fn a_member_refusing_by_deny_filter_passes_the_message_to_another() {
    let s = Server::start(ServerOpts {
        config: Some(CONF.to_string()),
        cores: Some(1),
        ..ServerOpts::default()
    });
    let mut limited = login(&s, "limited", "l");
    let mut open = login(&s, "open", "o");
    // `work.*` overlaps the deny entry: accepted, filtered at delivery.
    limited.send(b"SUB work.* grp 1\r\n");
    limited.ping_pong();
    open.send(b"SUB work.* grp 1\r\n");
    open.ping_pong();
    let mut publisher = login(&s, "open", "o");
    let n = 200;
    let mut batch = Vec::new();
    for _ in 0..n {
        batch.extend_from_slice(b"PUB work.secret 1\r\nx\r\n");
    }
    publisher.send(&batch);
    publisher.ping_pong();
    for _ in 0..n {
        let m = open.read_msg();
        assert_eq!(m.subject, "work.secret");
    }
    open.expect_nothing();
    limited.expect_nothing();
}

#[test]
fn second_subscriber_on_a_shard_waits_for_the_first_ones_announcement() {
    let s = Server::start(ServerOpts {
        cores: Some(2),
        ..ServerOpts::default()
    });
    // Many rounds with fresh subjects: two subscribers (likely on the same shard now and then) subscribe
    // back to back; the second one's PONG must mean a publisher anywhere reaches it.
    // `firsts` only subscribe (their own SUB is not covered by any PING of theirs, so they may or may not
    // get the message; they are never read); `conns` hold the second subscriber and the publisher.
    let mut firsts: Vec<Raw> = (0..4).map(|_| s.ready()).collect();
    let mut conns: Vec<Raw> = (0..8).map(|_| s.ready()).collect();
    for round in 0..300 {
        let subj = format!("vis.{round}");
        let (ia, ib, ip) = (round % 4, round % 8, (round + 1) % 8);
        firsts[ia].send(format!("SUB {subj} 1\r\n").as_bytes());
        conns[ib].send(format!("SUB {subj} 2\r\nPING\r\n").as_bytes());
        conns[ib].expect(b"PONG\r\n");
        conns[ip].send(format!("PUB {subj} 1\r\nx\r\n").as_bytes());
        assert_eq!(conns[ib].read_msg().subject, subj);
        conns[ib].send(b"UNSUB 2\r\n");
    }
    for c in conns.iter_mut() {
        c.expect_nothing();
    }
}

#[test]
fn queue_message_finds_the_one_member_allowed_to_take_it_across_three_shards() {
    // Three shards (more than this machine may have CPUs: corenats then runs them unpinned). Nine
    // members that may not receive work.secret and one that may: every message must reach the one,
    // however many shards it has to pass through (nats-server tries every member too).
    let s = Server::start(ServerOpts {
        config: Some(CONF.to_string()),
        cores: Some(3),
        ..ServerOpts::default()
    });
    if is_corenats() {
        assert!(s.log().contains("Starting 3 shard(s)"), "{}", s.log());
    }
    let mut refusing: Vec<Raw> = (0..9).map(|_| login(&s, "limited", "l")).collect();
    for c in refusing.iter_mut() {
        c.send(b"SUB work.* grp 1\r\n");
        c.ping_pong();
    }
    let mut taker = login(&s, "open", "o");
    taker.send(b"SUB work.* grp 1\r\n");
    taker.ping_pong();
    // Several publishers, so that some surely sit on a shard without the taker.
    let per_pub = 50;
    let mut pubs: Vec<Raw> = (0..6).map(|_| login(&s, "open", "o")).collect();
    for p in pubs.iter_mut() {
        let mut batch = Vec::new();
        for _ in 0..per_pub {
            batch.extend_from_slice(b"PUB work.secret 1\r\nx\r\n");
        }
        p.send(&batch);
        p.ping_pong();
    }
    for _ in 0..pubs.len() * per_pub {
        assert_eq!(taker.read_msg().subject, "work.secret");
    }
    taker.ping_pong();
    taker.expect_nothing();
    for c in refusing.iter_mut() {
        c.expect_nothing();
    }
}
