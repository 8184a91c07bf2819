//! The monitor under abuse, against the spawned server: clients that trickle their request heads do not
//! keep `/varz` from answering and are dropped by the header timeout (5 s, as nats-server's
//! `ReadHeaderTimeout`); a keep-alive connection serves several requests; `/subsz?subs=1` over 100,000
//! subscriptions returns exactly the page asked for, in (cid, sid) order on corenats, with `limit`
//! capped at 10,000 on corenats (nats-server lists everything). Runs against nats-server
//! (`CORENATS_TEST_SERVER=nats-server`) except where marked corenats-only.
use crate::common::monitor::*;
use crate::common::*;

use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// corenats' `MAX_LIST_SIZE`.
const MAX_LIST_SIZE: u64 = 10_000;

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), TIMEOUT).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Whether the server has closed `s` (EOF or reset), without waiting.
fn is_closed(s: &mut TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut b = [0u8; 256];
    let closed = loop {
        match s.read(&mut b) {
            Ok(0) => break true,
            Ok(_) => continue, // a 408 or the like before the close
            Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
            Err(_) => break true,
        }
    };
    s.set_nonblocking(false).unwrap();
    closed
}

#[test]
fn slow_header_clients_do_not_block_varz_and_are_dropped() {
    const SLOW: usize = 24;
    const TRICKLE: Duration = Duration::from_secs(2);
    let m = Mon::plain();
    let start = Instant::now();
    let mut slow: Vec<TcpStream> = (0..SLOW).map(|_| connect(m.http)).collect();
    for s in &mut slow {
        s.write_all(b"GET /varz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
    }
    let mut closed_at: Vec<Option<Duration>> = vec![None; SLOW];
    let mut next_trickle = Instant::now() + TRICKLE;
    let mut answered = 0;
    // Ends when every slow client is gone; the header timeout is 5 s on both servers.
    while closed_at.iter().any(Option::is_none) {
        assert!(
            start.elapsed() < Duration::from_secs(12),
            "slow clients still open after {:?}: {closed_at:?}",
            start.elapsed()
        );
        let t = Instant::now();
        let r = m.get("/varz");
        assert_eq!(r.status, 200, "{}", r.body);
        // Not a latency goal, only proof that /varz is not stuck behind the slow clients.
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "/varz took {:?}",
            t.elapsed()
        );
        answered += 1;
        if Instant::now() >= next_trickle {
            next_trickle += TRICKLE;
            for (s, c) in slow.iter_mut().zip(&closed_at) {
                if c.is_none() {
                    let _ = s.write_all(b"a");
                }
            }
        }
        for (s, c) in slow.iter_mut().zip(closed_at.iter_mut()) {
            if c.is_none() && is_closed(s) {
                *c = Some(start.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(answered >= 10, "{answered}");
    // Dropped by the header timeout, not at once: each kept trickling bytes for a while.
    for c in closed_at.iter().flatten() {
        assert!(*c >= Duration::from_secs(3), "{closed_at:?}");
    }
}

/// Reads one response with a `Content-Length` body from a keep-alive connection.
fn read_response(s: &mut TcpStream) -> (u16, String) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "closed mid-head");
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let len: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.trim().parse().unwrap())
        .expect("content-length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

#[test]
fn keep_alive_connection_serves_several_requests() {
    let m = Mon::plain();
    let mut s = connect(m.http);
    for path in ["/varz", "/healthz", "/connz?limit=1", "/varz"] {
        write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let (status, body) = read_response(&mut s);
        assert_eq!(status, 200, "{path}: {body}");
        let _: Value = serde_json::from_str(&body).unwrap();
    }
}

/// `n` subscriptions `s.0 .. s.{n-1}` with sids `1 ..= n` on a new connection, sent in bulk.
fn subscriber(srv: &Server, n: usize) -> Raw {
    let mut c = srv.ready();
    let mut buf = Vec::with_capacity(n * 24);
    for i in 0..n {
        buf.extend_from_slice(format!("SUB s.{i} {}\r\n", i + 1).as_bytes());
    }
    c.send(&buf);
    c.timeout = Duration::from_secs(30);
    c.ping_pong();
    c.timeout = TIMEOUT;
    c
}

/// The page of a `/subsz?subs=1` answer (both servers leave out an empty list).
fn list(v: &Value) -> Vec<Value> {
    match v.get("subscriptions_list") {
        None => Vec::new(),
        Some(l) => l.as_array().expect("subscriptions_list").clone(),
    }
}

#[test]
fn subsz_pages_many_subscriptions() {
    const CONNS: usize = 4;
    const PER: usize = 25_000;
    let m = Mon::start(ServerOpts {
        cores: Some(2),
        ..ServerOpts::default()
    });
    // nats-server has a few internal subscriptions in $G (corenats none); they count in `total`.
    let base = m.json("/subsz?subs=1&acc=$G")["total"].as_u64().unwrap();
    assert!(!is_corenats() || base == 0, "{base}");
    let total = base + (CONNS * PER) as u64;
    let _subs: Vec<Raw> = (0..CONNS).map(|_| subscriber(&m.server, PER)).collect();
    let mut cids: Vec<u64> = m.json("/connz")["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cid"].as_u64().unwrap())
        .collect();
    cids.sort();
    assert_eq!(cids.len(), CONNS);

    let one = m.json("/subsz?subs=1&limit=1&acc=$G");
    assert_eq!(one["total"], total, "{one:#}");
    assert_eq!(one["limit"], 1);
    assert!(one["num_subscriptions"].as_u64().unwrap() >= total);
    assert_eq!(list(&one).len(), 1, "{one:#}");
    if is_corenats() {
        // (cid, sid) order: the lowest cid's sid 1.
        assert_eq!(list(&one)[0]["cid"], cids[0]);
        assert_eq!(list(&one)[0]["sid"], "1");
        assert_eq!(list(&one)[0]["subject"], "s.0");
    }

    // A page that starts inside the second connection and runs into the third.
    let off = PER + PER - 2;
    let p = m.json(&format!("/subsz?subs=1&acc=$G&offset={off}&limit=4"));
    assert_eq!(p["total"], total);
    assert_eq!(p["offset"], off);
    assert_eq!(list(&p).len(), 4, "{p:#}");
    if is_corenats() {
        let got: Vec<(u64, String)> = list(&p)
            .iter()
            .map(|s| {
                (
                    s["cid"].as_u64().unwrap(),
                    s["sid"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [(1, "24999"), (1, "25000"), (2, "1"), (2, "2")]
                .map(|(i, sid)| (cids[i], sid.to_string()))
        );
    }
    // Past the end: the totals, no records.
    let end = m.json(&format!("/subsz?subs=1&acc=$G&offset={total}&limit=5"));
    assert_eq!(end["total"], total);
    assert!(list(&end).is_empty(), "{end:#}");

    // A test subject: one subscription per connection would receive it.
    let t = m.json("/subsz?subs=1&acc=$G&test=s.777&limit=2");
    assert_eq!(t["total"], CONNS as u64, "{t:#}");
    assert_eq!(list(&t).len(), 2);
    for s in list(&t) {
        assert_eq!((&s["subject"], &s["sid"]), (&"s.777".into(), &"778".into()));
    }
    if is_corenats() {
        assert_eq!(list(&t)[0]["cid"], cids[0]);
        assert_eq!(list(&t)[1]["cid"], cids[1]);
    }

    // A huge limit: corenats caps it (and says so); nats-server lists everything.
    let big = m.json("/subsz?subs=1&acc=$G&limit=1000000");
    assert_eq!(big["total"], total);
    let limit = big["limit"].as_u64().unwrap();
    if is_corenats() {
        assert_eq!(limit, MAX_LIST_SIZE);
        let c = m.json("/connz?limit=1000000");
        assert_eq!(c["limit"], MAX_LIST_SIZE);
        assert_eq!(c["connections"].as_array().unwrap().len(), CONNS);
    } else {
        assert_eq!(limit, 1_000_000);
    }
    assert_eq!(list(&big).len() as u64, limit.min(total));
}
