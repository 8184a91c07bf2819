//! Cross-shard behaviour: with corenats `--cores 2` and 16 publisher + 16 subscriber connections, both shards
//! surely hold both kinds. Checks delivery, per-publisher order, queue-group exactly-once across all members,
//! and the visibility guarantees clients rely on: after `SUB` + `PING` → `PONG` the subscription is live
//! server-wide; after `UNSUB` + `PING` → `PONG` no more messages arrive for that sid; a `SUB` followed by a
//! request on the same connection sees the reply. Against nats-server these are ordinary single-process checks.
use crate::common::monitor::Mon;
use crate::common::*;

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

const CONNS: usize = 16;
/// Time budget for each repeated-visibility test.
const BUDGET: Duration = Duration::from_secs(3);

fn two_shards() -> Server {
    Server::start(ServerOpts {
        cores: Some(2),
        ..ServerOpts::default()
    })
}

fn conns(s: &Server, n: usize) -> Vec<Raw> {
    (0..n).map(|_| s.ready()).collect()
}

#[test]
fn fanout_reaches_every_subscriber_in_publisher_order() {
    let s = two_shards();
    let per_pub = 200;
    let mut subs = conns(&s, CONNS);
    for c in subs.iter_mut() {
        c.send(b"SUB ord.> 1\r\n");
        c.ping_pong();
    }
    let pubs = conns(&s, CONNS);
    let readers: Vec<_> = subs
        .into_iter()
        .map(|mut c| {
            thread::spawn(move || {
                let mut last: HashMap<String, i64> = HashMap::new();
                for _ in 0..CONNS * per_pub {
                    let m = c.read_msg();
                    let seq: i64 = String::from_utf8(m.payload).unwrap().parse().unwrap();
                    let prev = last.entry(m.subject.clone()).or_insert(-1);
                    assert_eq!(seq, *prev + 1, "out of order from {}", m.subject);
                    *prev = seq;
                }
                assert_eq!(last.len(), CONNS);
                assert!(last.values().all(|&v| v == per_pub as i64 - 1));
                c.expect_nothing();
            })
        })
        .collect();
    let writers: Vec<_> = pubs
        .into_iter()
        .enumerate()
        .map(|(p, mut c)| {
            thread::spawn(move || {
                let mut batch = Vec::new();
                for i in 0..per_pub {
                    let body = i.to_string();
                    batch.extend_from_slice(
                        format!("PUB ord.{p} {}\r\n{body}\r\n", body.len()).as_bytes(),
                    );
                    if batch.len() > 4000 {
                        c.send(&batch);
                        batch.clear();
                    }
                }
                c.send(&batch);
                c.ping_pong();
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    for r in readers {
        r.join().unwrap();
    }
}

#[test]
fn queue_group_exactly_once_across_all_members() {
    let s = two_shards();
    let per_pub = 100;
    let mut members = conns(&s, CONNS);
    for (k, c) in members.iter_mut().enumerate() {
        c.send(format!("SUB work.* grp m{k}\r\n").as_bytes());
        c.ping_pong();
    }
    let mut watcher = s.ready();
    watcher.send(b"SUB work.* 1\r\n");
    watcher.ping_pong();
    let writers: Vec<_> = conns(&s, CONNS)
        .into_iter()
        .enumerate()
        .map(|(p, mut c)| {
            thread::spawn(move || {
                let mut batch = Vec::new();
                for i in 0..per_pub {
                    let body = format!("{p}:{i}");
                    batch.extend_from_slice(
                        format!("PUB work.{p} {}\r\n{body}\r\n", body.len()).as_bytes(),
                    );
                }
                c.send(&batch);
                c.ping_pong();
            })
        })
        .collect();
    let total = CONNS * per_pub;
    let got = collect_from(&mut members, total, Duration::from_secs(20));
    for w in writers {
        w.join().unwrap();
    }
    let mut seen: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut per_member = [0usize; CONNS];
    for (k, m) in &got {
        assert_eq!(m.sid, format!("m{k}"));
        *seen.entry(m.payload.clone()).or_default() += 1;
        per_member[*k] += 1;
    }
    assert_eq!(seen.len(), total, "some messages never reached the group");
    assert!(
        seen.values().all(|&v| v == 1),
        "a message reached the group twice"
    );
    assert!(
        per_member.iter().filter(|&&n| n > 0).count() > 1,
        "all messages went to one member: {per_member:?}"
    );
    for c in members.iter_mut() {
        c.expect_nothing();
    }
    // The plain subscriber still gets every message.
    let all = collect_from(
        std::slice::from_mut(&mut watcher),
        total,
        Duration::from_secs(20),
    );
    assert_eq!(all.len(), total);
    watcher.expect_nothing();
}

#[test]
fn sub_then_pong_is_visible_to_every_publisher() {
    let s = two_shards();
    let mut subs = conns(&s, CONNS);
    let mut pubs = conns(&s, CONNS);
    let t0 = Instant::now();
    let mut i = 0usize;
    while t0.elapsed() < BUDGET && i < 20_000 {
        let sc = i % CONNS;
        let pc = (i * 7 + 3 + i / CONNS) % CONNS;
        let sub = &mut subs[sc];
        sub.send(format!("SUB vis.{i} {i}\r\nPING\r\n").as_bytes());
        sub.expect(b"PONG\r\n");
        // "Signal" the publisher: it publishes only after the subscriber saw its PONG.
        pubs[pc].send(format!("PUB vis.{i} 1\r\nx\r\n").as_bytes());
        sub.expect(format!("MSG vis.{i} {i} 1\r\nx\r\n").as_bytes());
        sub.send(format!("UNSUB {i}\r\n").as_bytes());
        i += 1;
    }
    eprintln!("{i} rounds");
    assert!(i >= 100, "only {i} rounds in {BUDGET:?}");
    for c in subs.iter_mut().chain(pubs.iter_mut()) {
        c.expect_nothing();
    }
}

#[test]
fn fresh_connection_sub_is_visible_after_pong() {
    let s = two_shards();
    let mut pubs = conns(&s, CONNS);
    let t0 = Instant::now();
    let mut i = 0usize;
    while t0.elapsed() < BUDGET && i < 2_000 {
        let mut sub = s.ready();
        sub.send(b"SUB fresh 1\r\nPING\r\n");
        sub.expect(b"PONG\r\n");
        pubs[i % CONNS].send(format!("PUB fresh {}\r\n{i}\r\n", i.to_string().len()).as_bytes());
        sub.expect(format!("MSG fresh 1 {}\r\n{i}\r\n", i.to_string().len()).as_bytes());
        i += 1;
    }
    eprintln!("{i} rounds");
    assert!(i >= 20, "only {i} rounds in {BUDGET:?}");
}

#[test]
fn unsub_then_pong_stops_delivery_everywhere() {
    let s = two_shards();
    let mut subs = conns(&s, CONNS);
    for (k, c) in subs.iter_mut().enumerate() {
        c.send(format!("SUB ctl.{k} c\r\n").as_bytes());
        c.ping_pong();
    }
    let mut pubs = conns(&s, CONNS);
    let t0 = Instant::now();
    let mut i = 0usize;
    while t0.elapsed() < BUDGET && i < 20_000 {
        let sc = i % CONNS;
        let pc = (i * 5 + 1 + i / CONNS) % CONNS;
        let sub = &mut subs[sc];
        sub.send(format!("SUB gone.{i} {i}\r\nPING\r\n").as_bytes());
        sub.expect(b"PONG\r\n");
        pubs[pc].send(format!("PUB gone.{i} 1\r\na\r\n").as_bytes());
        sub.expect(format!("MSG gone.{i} {i} 1\r\na\r\n").as_bytes());
        sub.send(format!("UNSUB {i}\r\nPING\r\n").as_bytes());
        sub.expect(b"PONG\r\n");
        // The marker follows the unwanted message from the same publisher: once the marker is here,
        // the unwanted one would have been too.
        pubs[pc].send(format!("PUB gone.{i} 1\r\nb\r\nPUB ctl.{sc} 1\r\nm\r\n").as_bytes());
        sub.expect(format!("MSG ctl.{sc} c 1\r\nm\r\n").as_bytes());
        i += 1;
    }
    eprintln!("{i} rounds");
    assert!(i >= 100, "only {i} rounds in {BUDGET:?}");
    for c in subs.iter_mut().chain(pubs.iter_mut()) {
        c.expect_nothing();
    }
}

#[test]
fn unsub_max_across_shards() {
    let s = two_shards();
    let mut subs = conns(&s, CONNS);
    for (k, c) in subs.iter_mut().enumerate() {
        c.send(format!("SUB lim 1\r\nUNSUB 1 3\r\nSUB ctl.{k} c\r\n").as_bytes());
        c.ping_pong();
    }
    let mut p = s.ready();
    let mut batch = Vec::new();
    for _ in 0..10 {
        batch.extend_from_slice(b"PUB lim 1\r\nx\r\n");
    }
    for k in 0..CONNS {
        batch.extend_from_slice(format!("PUB ctl.{k} 1\r\nm\r\n").as_bytes());
    }
    p.send(&batch);
    p.ping_pong();
    for (k, c) in subs.iter_mut().enumerate() {
        c.expect(b"MSG lim 1 1\r\nx\r\nMSG lim 1 1\r\nx\r\nMSG lim 1 1\r\nx\r\n");
        c.expect(format!("MSG ctl.{k} c 1\r\nm\r\n").as_bytes());
        c.expect_nothing();
    }
}

#[test]
fn sub_then_request_on_same_connection_gets_reply() {
    let s = two_shards();
    let mut responder = s.ready();
    responder.send(b"SUB svc 1\r\n");
    responder.ping_pong();
    let resp = thread::spawn(move || loop {
        let m = responder.read_msg();
        if m.payload == b"stop" {
            return;
        }
        let reply = m.reply.unwrap();
        responder.send(format!("PUB {reply} {}\r\n", m.payload.len()).as_bytes());
        responder.send(&m.payload);
        responder.send(b"\r\n");
    });
    let mut reqs = conns(&s, CONNS);
    let t0 = Instant::now();
    let mut i = 0usize;
    while t0.elapsed() < BUDGET && i < 20_000 {
        let c = &mut reqs[i % CONNS];
        let body = i.to_string();
        // No PING between SUB and the request: ordering alone must make the reply land.
        c.send(
            format!(
                "SUB inbox.{i} r{i}\r\nPUB svc inbox.{i} {}\r\n{body}\r\n",
                body.len()
            )
            .as_bytes(),
        );
        c.expect(format!("MSG inbox.{i} r{i} {}\r\n{body}\r\n", body.len()).as_bytes());
        c.send(format!("UNSUB r{i}\r\n").as_bytes());
        i += 1;
    }
    eprintln!("{i} rounds");
    assert!(i >= 100, "only {i} rounds in {BUDGET:?}");
    let mut stop = s.ready();
    stop.send(b"PUB svc 4\r\nstop\r\n");
    stop.ping_pong();
    resp.join().unwrap();
}

#[test]
fn no_responders_when_the_only_subscriber_on_another_shard_may_not_receive_it() {
    // `limited` holds `SUB work.*` but may not receive work.secret: a request on work.secret has no
    // responder, wherever the requester's shard is. 16 requesters: both shards surely hold some.
    let s = limited_server(2);
    let connect = |user: &str, pass: &str| nr_login(&s, user, pass);
    let mut responder = connect("limited", "l");
    responder.send(b"SUB work.* 1\r\n");
    responder.ping_pong();
    for i in 0..CONNS {
        let mut r = connect("open", "o");
        r.send(format!("SUB _INBOX.{i} 9\r\nPUB work.secret _INBOX.{i} 1\r\nx\r\n").as_bytes());
        let m = r.read_msg();
        assert_eq!(
            (m.subject.as_str(), m.sid.as_str()),
            (&*format!("_INBOX.{i}"), "9")
        );
        let h = m.header.expect("a 503 status");
        assert!(h.starts_with(b"NATS/1.0 503\r\n"), "{}", show(&h));
        // And a request the responder may receive is delivered, not answered with 503.
        r.send(format!("PUB work.open _INBOX.{i} 1\r\ny\r\n").as_bytes());
        r.ping_pong();
        r.expect_nothing();
        let got = responder.read_msg();
        assert_eq!((got.subject.as_str(), got.sid.as_str()), ("work.open", "1"));
    }
    responder.expect_nothing();
}

#[test]
fn no_503_when_an_imported_copy_of_the_request_is_taken_on_the_same_shard() {
    // One request, two routes to the same shard: X's own refusing subscribers, and Y's subscriber through
    // a stream import. Y takes it, so no requester may get a 503, whichever answer comes first.
    let s = Server::start(ServerOpts {
        cores: Some(2),
        config: Some(
            r#"accounts {
                 X { users: [
                       {user: limited, password: l, permissions: {subscribe: {deny: ["s.secret"]}}}
                       {user: x, password: x} ]
                     exports: [ {stream: "s.>"} ] }
                 Y { users: [ {user: y, password: y} ]
                     imports: [ {stream: {account: X, subject: "s.>"}} ] }
               }"#
            .to_string(),
        ),
        ..ServerOpts::default()
    });
    let connect = |user: &str, pass: &str| nr_login(&s, user, pass);
    let mut refusing: Vec<Raw> = (0..4).map(|_| connect("limited", "l")).collect();
    for c in refusing.iter_mut() {
        c.send(b"SUB s.* 1\r\n");
        c.ping_pong();
    }
    let mut taker = connect("y", "y");
    taker.send(b"SUB s.> 1\r\n");
    taker.ping_pong();
    for i in 0..CONNS {
        let mut r = connect("x", "x");
        r.send(format!("SUB _INBOX.{i} 9\r\nPUB s.secret _INBOX.{i} 1\r\nx\r\n").as_bytes());
        r.ping_pong();
        // The taker's copy arrived, and the requester got no 503 (a second PING round trip lets any
        // late answer between shards land first).
        let m = taker.read_msg();
        assert_eq!(m.reply.as_deref(), Some(&*format!("_INBOX.{i}")));
        r.ping_pong();
        r.expect_nothing();
    }
    for c in refusing.iter_mut() {
        c.expect_nothing();
    }
}

/// A server with a `limited` user who may not receive work.secret and an unrestricted `open` user.
fn limited_server(cores: usize) -> Server {
    Server::start(ServerOpts {
        cores: Some(cores),
        config: Some(LIMITED.to_string()),
        ..ServerOpts::default()
    })
}

/// A `limited` user who may not receive work.secret and an unrestricted `open` user.
const LIMITED: &str = r#"authorization { users: [
  {user: limited, password: l, permissions: {subscribe: {deny: ["work.secret"]}}}
  {user: open, password: o}
] }"#;

/// A connection that wants no-responders statuses.
fn nr_login(s: &Server, user: &str, pass: &str) -> Raw {
    Raw::ready_with(
        s.port(),
        &format!(
            r#"{{"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"user":"{user}","pass":"{pass}"}}"#
        ),
    )
}

#[test]
fn no_responders_status_goes_to_the_sid_of_the_request_and_before_later_messages() {
    let s = limited_server(2);
    let mut responder = nr_login(&s, "limited", "l");
    responder.send(b"SUB work.* 1\r\n");
    responder.ping_pong();
    let mut other = nr_login(&s, "open", "o");
    other.send(b"SUB other 1\r\n");
    other.ping_pong();
    for _ in 0..CONNS {
        let mut r = nr_login(&s, "open", "o");
        // The reply subscription goes before the answers can come back, and a new one may take its
        // slot: the status still names sid 1 (as nats-server), and comes before the PONG.
        r.send(b"SUB r 1\r\nPUB work.secret r 0\r\n\r\nUNSUB 1\r\nSUB r 2\r\nPING\r\n");
        let m = r.read_msg();
        assert_eq!((m.subject.as_str(), m.sid.as_str()), ("r", "1"));
        let h = m.header.expect("a 503 status");
        assert!(h.starts_with(b"NATS/1.0 503\r\n"), "{}", show(&h));
        r.expect(b"PONG\r\n");
        // A request nobody anywhere is interested in, after a publish that crossed shards (or not):
        // its status comes before a message the connection publishes later, as with nats-server.
        r.send(b"SUB r2 3\r\nPUB other 1\r\na\r\nPUB nobody r2 0\r\n\r\nPUB r2 1\r\nx\r\nPING\r\n");
        let m = r.read_msg();
        assert_eq!((m.subject.as_str(), m.sid.as_str()), ("r2", "3"));
        assert!(m.header.is_some_and(|h| h.starts_with(b"NATS/1.0 503\r\n")));
        let m = r.read_msg();
        assert_eq!(
            (m.subject.as_str(), m.sid.as_str(), m.payload.as_slice()),
            ("r2", "3", &b"x"[..])
        );
        r.expect(b"PONG\r\n");
        r.expect_nothing();
        let m = other.read_msg();
        assert_eq!(m.subject, "other");
    }
    responder.expect_nothing();
}

#[test]
fn no_responders_when_queue_members_on_every_other_shard_refuse() {
    // Three shards (unpinned on a small machine); refusing queue members everywhere: the message
    // passes from shard to shard and nobody takes it, so every requester gets its 503.
    let s = limited_server(3);
    let mut members: Vec<Raw> = (0..9).map(|_| nr_login(&s, "limited", "l")).collect();
    for c in members.iter_mut() {
        c.send(b"SUB work.* q 1\r\n");
        c.ping_pong();
    }
    for i in 0..CONNS {
        let mut r = nr_login(&s, "open", "o");
        r.send(format!("SUB _INBOX.{i} 9\r\nPUB work.secret _INBOX.{i} 1\r\nx\r\n").as_bytes());
        let m = r.read_msg();
        let h = m.header.expect("a 503 status");
        assert!(h.starts_with(b"NATS/1.0 503\r\n"), "{}", show(&h));
    }
    for c in members.iter_mut() {
        c.expect_nothing();
    }
}

/// Options for a monitored three-shard server with the `limited` and `open` users of
/// [`limited_server`].
fn limited_mon_opts() -> ServerOpts {
    ServerOpts {
        cores: Some(3),
        config: Some(LIMITED.to_string()),
        ..ServerOpts::default()
    }
}

/// One `limited` member of queue group `q` on `work.*` on each of shards 1 and 2 (they refuse
/// work.secret). Kept open by the caller.
fn refusing_members_on_shards_1_and_2(m: &Mon) -> Vec<Raw> {
    [1, 2]
        .into_iter()
        .map(|shard| {
            let mut c = m.on_shard(shard, || nr_login(&m.server, "limited", "l"));
            c.send(b"SUB work.* q 1\r\n");
            c.ping_pong();
            c
        })
        .collect()
}

#[test]
fn echo_false_requester_queue_copy_can_come_back_to_its_shard() {
    // The only member that may take work.secret shares the requester's shard 0; members on shards 1
    // and 2 refuse it. A copy sent to them must be able to come back to shard 0 (skipping only the
    // echo:false requester itself), so every request is taken and none gets a 503.
    let m = Mon::start(limited_mon_opts());
    let s = &m.server;
    let mut members = refusing_members_on_shards_1_and_2(&m);
    let mut taker = m.on_shard(0, || nr_login(s, "open", "o"));
    taker.send(b"SUB work.* q 1\r\n");
    taker.ping_pong();
    let mut r = m.on_shard(0, || {
        Raw::ready_with(
            s.port(),
            r#"{"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"echo":false,"user":"open","pass":"o"}"#,
        )
    });
    let n = 50;
    let mut batch = b"SUB _I.> 9\r\n".to_vec();
    for k in 0..n {
        batch.extend_from_slice(format!("PUB work.secret _I.{k} 0\r\n\r\n").as_bytes());
    }
    r.send(&batch);
    r.ping_pong();
    for _ in 0..n {
        assert_eq!(taker.read_msg().subject, "work.secret");
    }
    taker.ping_pong();
    r.expect_nothing();
    for c in members.iter_mut() {
        c.expect_nothing();
    }
}

#[test]
fn no_responders_status_comes_before_the_pong_when_queue_copies_travel() {
    // Refusing queue members on shards 1 and 2 only: each request travels between them before its
    // status is known; the status still comes before the PONG of a PING sent right after, even when
    // the reply subscription is gone by then (as with nats-server).
    let m = Mon::start(limited_mon_opts());
    let s = &m.server;
    let mut members = refusing_members_on_shards_1_and_2(&m);
    let mut r = m.on_shard(0, || nr_login(s, "open", "o"));
    for k in 0..50 {
        r.send(
            format!("SUB r{k} {k}\r\nPUB work.secret r{k} 0\r\n\r\nUNSUB {k}\r\nPING\r\n")
                .as_bytes(),
        );
        let m = r.read_msg();
        assert_eq!((m.subject, m.sid), (format!("r{k}"), k.to_string()));
        assert!(m.header.is_some_and(|h| h.starts_with(b"NATS/1.0 503\r\n")));
        r.expect(b"PONG\r\n");
    }
    r.expect_nothing();
    for c in members.iter_mut() {
        c.expect_nothing();
    }
}

#[test]
fn no_responders_status_does_not_count_against_an_unsub_limit() {
    let s = limited_server(2);
    let mut c = nr_login(&s, "open", "o");
    c.send(b"SUB r 1\r\n");
    c.ping_pong();
    // `UNSUB 1 1`: one more message for sid 1. The 503 does not use it up (as with nats-server).
    c.send(b"UNSUB 1 1\r\nPUB nobody r 0\r\n\r\nPUB r 1\r\nx\r\nPING\r\n");
    let m = c.read_msg();
    assert!(m.header.is_some_and(|h| h.starts_with(b"NATS/1.0 503\r\n")));
    let m = c.read_msg();
    assert_eq!(
        (m.subject.as_str(), m.sid.as_str(), m.payload.as_slice()),
        ("r", "1", &b"x"[..])
    );
    c.expect(b"PONG\r\n");
    c.expect_nothing();
}
