//! Soak: everything at once, on two shards, for `SOAK_SECONDS` (default 30; set it higher for a long
//! run): publishers streaming numbered messages, auditors that must receive every one of them in order
//! (plain subscriptions) or exactly once across the group (a queue group), and chaos around them —
//! clients connecting, subscribing, publishing and disconnecting abruptly, slow consumers that never
//! read, bad logins, and SIGHUP reloads that change users and permissions every few hundred ms.
//!
//! At the end: every message accounted for, no connection and no subscription left on any shard,
//! resident memory within a stated bound of where it was once the steady clients were connected,
//! and nothing panicked. `SOAK_SEED=n` replays the chaos (the seed is printed).

use crate::common::monitor::*;
use crate::common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const PUBLISHERS: usize = 4;
const AUDITORS: usize = 4;
const CHAOS_THREADS: usize = 4;
/// Messages a publisher sends between two round trips (its pace).
const BATCH: u64 = 50;
/// How far (in plain messages) the publishers may run ahead of the slowest auditor.
const WINDOW: u64 = 2000;
/// How much resident memory may grow over the run (KiB): the chaos clients' buffers come and go; a
/// leak of even a few hundred bytes per connection or message would pass this within the run.
const RSS_BOUND_KIB: u64 = 48 * 1024;

/// Two configurations the reloader alternates between: the chaos user's permissions and a user that
/// comes and goes change; the steady users (`pub`, `audit`) never do.
fn conf(variant: bool) -> String {
    let chaos_perms = if variant {
        r#"{publish: ["chaos.>", "soak.>"], subscribe: [">"]}"#
    } else {
        r#"{publish: "chaos.>", subscribe: {allow: ">", deny: "chaos.secret.>"}}"#
    };
    let extra = if variant {
        "{user: extra, password: x}"
    } else {
        ""
    };
    let bcrypt = "$2a$04$Eb6PW4Dwb1ZuFH8XrmfVxOCydLmdy7hvGM7iB3vTBB0JxaBpqn1SG";
    format!(
        r#"
max_pending: 512KB
max_payload: 64KB
write_deadline: "2s"
accounts {{
  S {{
    users: [
      {{user: pub, password: p}}
      {{user: audit, password: a}}
      {{user: chaos, password: c, permissions: {chaos_perms}}}
      {{user: hashed, password: "{bcrypt}"}}
      {extra}
    ]
  }}
  OTHER {{ users: [ {{user: other, password: o}} ] }}
}}
"#
    )
}

/// An auditor's view: per publisher, the next sequence number expected on the plain subscription,
/// and how many queue-group messages of each publisher it got (with the sequences, to check once).
#[derive(Default)]
struct Audit {
    next_plain: HashMap<usize, u64>,
    queue_seqs: HashMap<usize, Vec<u64>>,
}

fn parse_payload(p: &[u8]) -> (usize, u64) {
    let s = std::str::from_utf8(p).unwrap();
    let (a, b) = s.split_once(':').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

#[test]
fn soak() {
    let seed: u64 = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    let secs = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30u64);
    eprintln!("SOAK_SEED={seed} SOAK_SECONDS={secs}");
    let m = Arc::new(Mon::start(ServerOpts {
        config: Some(conf(false)),
        cores: Some(2),
        ..ServerOpts::default()
    }));
    let port = m.server.port();
    // nats-server counts subscriptions of its own (system account services); corenats has none.
    let base_subs = m.json("/varz")["subscriptions"].as_u64().unwrap_or(0);
    let login = |user: &str, pass: &str| crate::common::tenancy::login(&m.server, user, pass);

    // Steady clients: auditors first (so they see everything), then publishers.
    let stop = Arc::new(AtomicBool::new(false));
    let mut auditors: Vec<Raw> = (0..AUDITORS).map(|_| login("audit", "a")).collect();
    for (i, a) in auditors.iter_mut().enumerate() {
        a.send(format!("SUB soak.p.* {i}\r\nSUB soak.q.* audit 1{i}\r\n").as_bytes());
        a.ping_pong();
        a.timeout = Duration::from_secs(30);
    }
    // Plain messages each auditor has read so far: publishers stay at most WINDOW ahead of the slowest
    // one, so the auditors (test threads, slower than the server) never become slow consumers.
    let progress: Arc<Vec<AtomicU64>> =
        Arc::new((0..AUDITORS).map(|_| AtomicU64::new(0)).collect());
    let audit_threads: Vec<_> = auditors
        .into_iter()
        .enumerate()
        .map(|(i, mut a)| {
            let (stop, progress) = (stop.clone(), progress.clone());
            thread::spawn(move || {
                let mut audit = Audit::default();
                // Reads until told to stop and a final round trip proves it read everything.
                while !stop.load(Ordering::Relaxed) {
                    let Some(msg) = a.try_read_msg(Duration::from_millis(50)) else {
                        continue;
                    };
                    let (p, seq) = parse_payload(&msg.payload);
                    if msg.subject.starts_with("soak.p.") {
                        let next = audit.next_plain.entry(p).or_insert(0);
                        assert_eq!(seq, *next, "publisher {p}: lost or reordered");
                        *next += 1;
                        progress[i].fetch_add(1, Ordering::Relaxed);
                    } else {
                        audit.queue_seqs.entry(p).or_default().push(seq);
                    }
                }
                (a, audit)
            })
        })
        .collect();
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..PUBLISHERS).map(|_| AtomicU64::new(0)).collect());
    let pub_threads: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let mut c = login("pub", "p");
            let (stop, sent, progress) = (stop.clone(), sent.clone(), progress.clone());
            thread::spawn(move || {
                let mut seq = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let total: u64 = sent.iter().map(|s| s.load(Ordering::Relaxed)).sum();
                    let slowest = progress.iter().map(|a| a.load(Ordering::Relaxed)).min();
                    if total.saturating_sub(slowest.unwrap_or(0)) > WINDOW {
                        thread::sleep(Duration::from_micros(200));
                        continue;
                    }
                    let mut batch = Vec::new();
                    for _ in 0..BATCH {
                        let body = format!("{p}:{seq}");
                        batch.extend_from_slice(
                            format!("PUB soak.p.{p} {}\r\n{body}\r\n", body.len()).as_bytes(),
                        );
                        batch.extend_from_slice(
                            format!("PUB soak.q.{p} {}\r\n{body}\r\n", body.len()).as_bytes(),
                        );
                        seq += 1;
                    }
                    c.send(&batch);
                    c.ping_pong();
                    sent[p].store(seq, Ordering::Relaxed);
                }
                c
            })
        })
        .collect();
    // Memory once the steady clients run: the bound is measured from here.
    let rss = || -> u64 {
        let pid = m.server.pid().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    thread::sleep(Duration::from_millis(500));
    let rss_start = if is_corenats() { rss() } else { 0 };

    // Chaos.
    let chaos_done = Arc::new(AtomicU64::new(0));
    let chaos: Vec<_> = (0..CHAOS_THREADS)
        .map(|t| {
            let (stop, done) = (stop.clone(), chaos_done.clone());
            thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed.wrapping_add(t as u64));
                while !stop.load(Ordering::Relaxed) {
                    chaos_client(port, &mut rng);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Slow consumers: subscribe to everything the publishers send and never read. The kernel's socket
    // buffers take a few MB first; then `max_pending` or the write deadline closes them.
    let slow = {
        let stop = stop.clone();
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                    continue;
                };
                let _ = socket2::SockRef::from(&s).set_recv_buffer_size(4096);
                let _ = s.write_all(
                    b"CONNECT {\"verbose\":false,\"user\":\"chaos\",\"pass\":\"c\"}\r\nSUB soak.> 1\r\n",
                );
                let until = Instant::now() + Duration::from_secs(6);
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(50));
                }
                let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
            }
        })
    };
    let reloader = {
        let (stop, m) = (stop.clone(), m.clone());
        thread::spawn(move || {
            let mut variant = false;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(300));
                variant = !variant;
                m.server.rewrite_conf(&conf(variant));
                m.server.signal("HUP");
                n += 1;
            }
            n
        })
    };

    thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let reloads = reloader.join().unwrap();
    slow.join().unwrap();
    for c in chaos {
        c.join().unwrap();
    }
    // Publishers end with a round trip: everything they sent is in the auditors' buffers.
    let publishers: Vec<Raw> = pub_threads
        .into_iter()
        .map(|t| {
            t.join()
                .unwrap_or_else(|_| panic!("a publisher failed; log:\n{}", tail(&m)))
        })
        .collect();
    let mut audits: Vec<(Raw, Audit)> = audit_threads
        .into_iter()
        .map(|t| {
            t.join()
                .unwrap_or_else(|_| panic!("an auditor failed; log:\n{}", tail(&m)))
        })
        .collect();
    // Each auditor reads on to its own PONG: nothing is left in flight.
    for (a, audit) in audits.iter_mut() {
        a.send(b"PING\r\n");
        loop {
            if let Some(line) = a.try_line(Duration::from_secs(10)) {
                if line == "PONG" {
                    break;
                }
                let parts: Vec<&str> = line.split(' ').collect();
                assert_eq!(parts[0], "MSG", "{line}");
                let payload = a.expect_line();
                let (p, seq) = parse_payload(payload.as_bytes());
                if parts[1].starts_with("soak.p.") {
                    let next = audit.next_plain.entry(p).or_insert(0);
                    assert_eq!(seq, *next, "publisher {p}: lost or reordered");
                    *next += 1;
                } else {
                    audit.queue_seqs.entry(p).or_default().push(seq);
                }
            } else {
                panic!("an auditor got no PONG");
            }
        }
    }
    let sent: Vec<u64> = sent.iter().map(|s| s.load(Ordering::Relaxed)).collect();
    let total: u64 = sent.iter().sum();
    eprintln!(
        "{total} messages per auditor from {PUBLISHERS} publishers, {} chaos clients, {reloads} reloads",
        chaos_done.load(Ordering::Relaxed)
    );
    for (_, audit) in &audits {
        for (p, n) in sent.iter().enumerate() {
            assert_eq!(
                audit.next_plain.get(&p).copied().unwrap_or(0),
                *n,
                "an auditor missed messages of publisher {p}"
            );
        }
    }
    // The queue group: each message exactly once across the auditors.
    for (p, n) in sent.iter().enumerate() {
        let mut all: Vec<u64> = audits
            .iter()
            .flat_map(|(_, a)| a.queue_seqs.get(&p).cloned().unwrap_or_default())
            .collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..*n).collect::<Vec<_>>(),
            "queue group, publisher {p}"
        );
    }
    let v = m.json("/varz");
    assert!(
        v["slow_consumers"].as_u64().unwrap_or(0) > 0,
        "no slow consumer was caught: {v}"
    );

    // Everything closed: nothing left on any shard.
    drop(publishers);
    drop(audits);
    crate::common::tenancy::wait_until("every connection to close", || {
        m.json("/varz")["connections"].as_u64() == Some(0)
    });
    crate::common::tenancy::wait_until("every subscription to go", || {
        m.json("/varz")["subscriptions"].as_u64() == Some(base_subs)
    });
    if is_corenats() {
        let text = m.get("/metrics").body;
        let samples = check_exposition(&text).unwrap();
        for s in samples.iter().filter(|s| {
            s.name == "corenats_shard_subscriptions" || s.name == "corenats_shard_connections"
        }) {
            assert_eq!(s.value, 0.0, "{} {:?}", s.name, s.labels);
        }
        let grown = rss().saturating_sub(rss_start);
        eprintln!("resident memory grew by {grown} KiB");
        assert!(grown < RSS_BOUND_KIB, "resident memory grew by {grown} KiB");
    }
    let log = m.server.log();
    assert!(!log.contains("panicked"), "{log}");
}

/// The server log's last lines that are not about chaos clients (for a failure message).
fn tail(m: &Mon) -> String {
    let log = m.server.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("authentication error") && !l.contains("Publish Violation"))
        .collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// One chaos client: a login (sometimes a bad one), some random traffic, then a close, abrupt or
/// polite.
fn chaos_client(port: u16, rng: &mut StdRng) {
    let mut s = match std::net::TcpStream::connect(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(_) => return,
    };
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    let login = match rng.random_range(0..10) {
        0 => r#"{"user":"chaos","pass":"wrong"}"#,
        1 => r#"{"user":"hashed","pass":"nope"}"#,
        2 => r#"{"user":"extra","pass":"x"}"#,
        3 => r#"{"user":"other","pass":"o"}"#,
        _ => r#"{"user":"chaos","pass":"c"}"#,
    };
    let mut out = format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"headers\":true,{}\r\n",
        &login[1..]
    );
    for i in 0..rng.random_range(1..40) {
        match rng.random_range(0..6) {
            0 => out.push_str(&format!("SUB chaos.{} {i}\r\n", rng.random_range(0..5))),
            1 => out.push_str(&format!("SUB chaos.> g{} {i}\r\n", rng.random_range(0..2))),
            2 => out.push_str(&format!("UNSUB {}\r\n", rng.random_range(0..i + 1))),
            3 => out.push_str(&format!(
                "PUB chaos.{} 3\r\nabc\r\n",
                rng.random_range(0..5)
            )),
            4 => out.push_str("PUB chaos.secret.x 1\r\nz\r\n"),
            _ => out.push_str("PING\r\n"),
        }
    }
    let _ = s.write_all(out.as_bytes());
    if rng.random_bool(0.5) {
        thread::sleep(Duration::from_millis(rng.random_range(0..20)));
    }
    if rng.random_bool(0.5) {
        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
    }
}
