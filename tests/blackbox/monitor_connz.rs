//! `/connz` against the spawned server: many connections spread over two shards (`--cores 2`), every sort
//! option checked for its order, paging that covers every connection exactly once, `subs=1|detail`, `cid`,
//! closed connections with nats-server's reasons (client closed, authentication failure, slow consumer),
//! and the 400 answers with nats-server's texts. Runs unchanged against nats-server.
use crate::common::monitor::*;
use crate::common::*;

use serde_json::Value;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const CONNS: usize = 20;

/// `2024-01-02T15:04:05.5Z` → nanoseconds since the epoch (enough for ordering).
fn time_ns(s: &str) -> i128 {
    let (date, rest) = s.split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let rest = rest.trim_end_matches('Z');
    let (hms, frac) = rest.split_once('.').unwrap_or((rest, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    let frac_ns: i64 = format!("{frac:0<9}")[..9].parse().unwrap();
    // Days from civil (Howard Hinnant).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) as i128) * 1_000_000_000 + frac_ns as i128
}

/// `1d2h3m4s` → seconds.
fn uptime_secs(s: &str) -> u64 {
    let mut total = 0;
    let mut n = 0;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            n = n * 10 + d as u64;
        } else {
            total += n * match c {
                'y' => 365 * 86_400,
                'd' => 86_400,
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => panic!("bad uptime {s}"),
            };
            n = 0;
        }
    }
    total
}

fn cids(v: &Value) -> Vec<u64> {
    v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cid"].as_u64().unwrap())
        .collect()
}

/// Messages connection `i` publishes to `fan` (only connections not subscribed to it publish there).
fn fan_pubs(i: usize) -> usize {
    if i.is_multiple_of(3) {
        0
    } else {
        i % 4
    }
}

/// Two shards, CONNS named connections; connection i has i % 5 subscriptions, publishes i messages of
/// i bytes, and connections with subscriptions receive what the others publish to `fan`.
fn busy_server() -> (Mon, Vec<Raw>) {
    let m = Mon::start(ServerOpts {
        cores: Some(2),
        ..ServerOpts::default()
    });
    let mut conns: Vec<Raw> = (0..CONNS)
        .map(|i| {
            Raw::ready_with(
                m.server.port(),
                &format!(r#"{{"verbose":false,"pedantic":false,"name":"c{i}","lang":"rust","version":"1.{i}"}}"#),
            )
        })
        .collect();
    for (i, c) in conns.iter_mut().enumerate() {
        for k in 0..i % 5 {
            c.send(format!("SUB s{i}.{k} {k}\r\n").as_bytes());
        }
        if i.is_multiple_of(3) {
            c.send(format!("SUB fan f{i}\r\n").as_bytes());
        }
        c.ping_pong();
    }
    // Publishers first (their PONG proves their publishes were taken), then the `fan` subscribers, which
    // read every `fan` message before their own PING so that PONG is the next thing they see.
    let fan_msgs: usize = (0..CONNS).map(fan_pubs).sum();
    for pass in [false, true] {
        for (i, c) in conns.iter_mut().enumerate() {
            if (i.is_multiple_of(3)) != pass {
                continue;
            }
            let payload = "x".repeat(i);
            for _ in 0..i {
                c.send(format!("PUB nowhere {i}\r\n{payload}\r\n").as_bytes());
            }
            for _ in 0..fan_pubs(i) {
                c.send(b"PUB fan 2\r\nhi\r\n");
            }
            if pass {
                for _ in 0..fan_msgs {
                    c.read_msg();
                }
            }
            c.ping_pong();
        }
    }
    (m, conns)
}

#[test]
fn connz_lists_connections_across_shards_and_pages() {
    let (m, _conns) = busy_server();
    if is_corenats() {
        let text = m.get("/metrics").body;
        let samples = check_exposition(&text).unwrap();
        let per_shard: Vec<f64> = samples
            .iter()
            .filter(|s| s.name == "corenats_shard_connections")
            .map(|s| s.value)
            .collect();
        assert_eq!(per_shard.len(), 2);
        assert!(
            per_shard.iter().all(|n| *n > 0.0),
            "both shards hold connections: {per_shard:?}"
        );
    }
    let all = m.json("/connz");
    assert_eq!(all["num_connections"], CONNS);
    assert_eq!(all["total"], CONNS);
    assert_eq!(all["offset"], 0);
    assert_eq!(all["limit"], 1024);
    assert_eq!(all["server_id"].as_str().unwrap().len(), 56);
    let ids = cids(&all);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "default order is by cid: {ids:?}"
    );
    for c in all["connections"].as_array().unwrap() {
        assert_eq!(c["kind"], "Client");
        assert_eq!(c["type"], "nats");
        assert_eq!(c["ip"], "127.0.0.1");
        assert!(c["port"].as_u64().unwrap() > 0);
        assert_eq!(c["lang"], "rust");
        let i: usize = c["name"].as_str().unwrap()[1..].parse().unwrap();
        assert_eq!(c["version"], format!("1.{i}"));
        assert_eq!(
            c["subscriptions"],
            i % 5 + usize::from(i.is_multiple_of(3)),
            "{c}"
        );
        assert_eq!(c["in_msgs"], i + fan_pubs(i));
        assert_eq!(c["in_bytes"], i * i + 2 * fan_pubs(i));
        assert_eq!(c["pending_bytes"], 0);
        for k in ["start", "last_activity", "uptime", "idle", "rtt"] {
            assert!(c[k].is_string(), "{k}");
        }
        assert!(
            time_ns(c["start"].as_str().unwrap()) <= time_ns(c["last_activity"].as_str().unwrap())
        );
        assert!(c.get("stop").is_none() && c.get("reason").is_none());
        assert!(c.get("subscriptions_list").is_none());
    }
    // Pages of 7 cover every connection exactly once.
    let mut seen = Vec::new();
    for offset in (0..CONNS + 7).step_by(7) {
        let p = m.json(&format!("/connz?limit=7&offset={offset}"));
        assert_eq!(p["total"], CONNS);
        assert_eq!(p["limit"], 7);
        assert_eq!(p["offset"], offset);
        let page = cids(&p);
        assert_eq!(p["num_connections"], page.len());
        assert_eq!(page.len(), 7.min(CONNS.saturating_sub(offset)));
        seen.extend(page);
    }
    assert_eq!(seen, ids);
}

#[test]
fn connz_sorts_by_every_option() {
    let (m, _conns) = busy_server();
    let num = |c: &Value, k: &str| c[k].as_u64().unwrap();
    type Key = fn(&Value) -> i128;
    let desc: [(&str, Key); 8] = [
        ("subs", |c| c["subscriptions"].as_i64().unwrap() as i128),
        ("pending", |c| c["pending_bytes"].as_i64().unwrap() as i128),
        ("msgs_to", |c| c["out_msgs"].as_i64().unwrap() as i128),
        ("msgs_from", |c| c["in_msgs"].as_i64().unwrap() as i128),
        ("bytes_to", |c| c["out_bytes"].as_i64().unwrap() as i128),
        ("bytes_from", |c| c["in_bytes"].as_i64().unwrap() as i128),
        ("last", |c| time_ns(c["last_activity"].as_str().unwrap())),
        ("idle", |c| uptime_secs(c["idle"].as_str().unwrap()) as i128),
    ];
    for (opt, key) in desc {
        let v = m.json(&format!("/connz?sort={opt}"));
        let keys: Vec<i128> = v["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        assert_eq!(keys.len(), CONNS, "{opt}");
        assert!(
            keys.windows(2).all(|w| w[0] >= w[1]),
            "sort={opt}: {keys:?}"
        );
        // The best 3 over all shards come first when limited (idle grows between two requests).
        let top = m.json(&format!("/connz?sort={opt}&limit=3"));
        let top_keys: Vec<i128> = top["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        if opt != "idle" {
            assert_eq!(top_keys, keys[..3].to_vec(), "sort={opt}&limit=3");
        }
        assert_eq!(top["total"], CONNS);
    }
    let v = m.json("/connz?sort=msgs_from");
    let most = (0..CONNS).map(|i| i + fan_pubs(i)).max().unwrap();
    assert_eq!(num(&v["connections"][0], "in_msgs"), most as u64);
    for opt in ["cid", "start", "rtt"] {
        let v = m.json(&format!("/connz?sort={opt}"));
        assert_eq!(cids(&v).len(), CONNS, "{opt}");
        if opt != "rtt" {
            assert!(cids(&v).windows(2).all(|w| w[0] < w[1]), "{opt}");
        }
    }
    let v = m.json("/connz?sort=uptime");
    let ups: Vec<u64> = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| uptime_secs(c["uptime"].as_str().unwrap()))
        .collect();
    assert!(
        ups.windows(2).all(|w| w[0] <= w[1]),
        "uptime ascending: {ups:?}"
    );
    for opt in ["stop", "reason"] {
        let r = m.get(&format!("/connz?sort={opt}"));
        assert_eq!(r.status, 400, "{opt}");
        assert_eq!(
            r.body,
            format!("sort by {opt} only valid on closed connections")
        );
        assert!(m.json(&format!("/connz?sort={opt}&state=closed"))["connections"].is_array());
    }
    let r = m.get("/connz?sort=foo");
    assert_eq!(r.status, 400);
    assert_eq!(r.body, "invalid sorting option: foo");
}

#[test]
fn connz_subscriptions_and_cid_filter() {
    let m = Mon::plain();
    let mut c = m.server.ready();
    c.send(b"SUB foo 1\r\nSUB bar q 2\r\nPUB foo 2\r\nhi\r\n");
    c.read_msg();
    c.ping_pong();
    let _other = m.server.ready();
    let cid = c.info["client_id"].as_u64().unwrap();

    let v = m.json(&format!("/connz?cid={cid}&subs=1"));
    assert_eq!(v["limit"], 1);
    assert_eq!(cids(&v), vec![cid]);
    let list: HashSet<&str> = v["connections"][0]["subscriptions_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(list, HashSet::from(["foo", "bar"]));

    let v = m.json(&format!("/connz?cid={cid}&subs=detail"));
    let detail = v["connections"][0]["subscriptions_list_detail"]
        .as_array()
        .unwrap();
    assert_eq!(detail.len(), 2);
    let foo = detail.iter().find(|d| d["subject"] == "foo").unwrap();
    assert_eq!(foo["sid"], "1");
    assert_eq!(foo["msgs"], 1);
    assert_eq!(foo["cid"], cid);
    assert!(foo.get("qgroup").is_none());
    let bar = detail.iter().find(|d| d["subject"] == "bar").unwrap();
    assert_eq!(bar["qgroup"], "q");
    assert!(v["connections"][0].get("subscriptions_list").is_none());

    let v = m.json("/connz?subs=true");
    assert_eq!(v["total"], 2);
    assert!(m.json(&format!("/connz?cid={}", cid + 1000))["connections"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Waits until `/connz?state=closed` lists `cid`; returns its entry.
fn closed_entry(m: &Mon, cid: u64) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let v = m.json(&format!("/connz?state=closed&cid={cid}"));
        if let Some(c) = v["connections"].as_array().unwrap().first() {
            return c.clone();
        }
        assert!(
            Instant::now() < deadline,
            "cid {cid} never appeared as closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn closed_connections_keep_stop_and_reason() {
    let m = Mon::plain();
    let open = m.server.ready();
    let mut gone = Raw::ready_with(
        m.server.port(),
        r#"{"verbose":false,"pedantic":false,"name":"gone"}"#,
    );
    gone.send(b"PUB a 1\r\nx\r\n");
    gone.ping_pong();
    let cid = gone.info["client_id"].as_u64().unwrap();
    drop(gone);
    let c = closed_entry(&m, cid);
    assert_eq!(c["reason"], "Client Closed", "{c}");
    assert_eq!(c["name"], "gone");
    assert_eq!(c["in_msgs"], 1);
    let stop = time_ns(c["stop"].as_str().unwrap());
    assert!(stop >= time_ns(c["start"].as_str().unwrap()));

    let any = m.json("/connz?state=any");
    let all = m.json("/connz?state=all");
    assert_eq!(any["total"], all["total"]);
    let ids = cids(&all);
    assert!(ids.contains(&cid) && ids.contains(&open.info["client_id"].as_u64().unwrap()));
    let open_only = cids(&m.json("/connz"));
    assert!(!open_only.contains(&cid));
    let by_stop = m.json("/connz?state=closed&sort=stop");
    assert!(cids(&by_stop).contains(&cid));
    let r = m.get("/connz?state=weird");
    assert_eq!(r.status, 400);
    assert_eq!(r.body, "Error decoding state for weird");
}

#[test]
fn closed_reason_authentication_failure() {
    let m = Mon::start(ServerOpts::conf("authorization { user: u, password: p }\n"));
    let mut bad = Raw::connect(m.server.port());
    let cid = bad.info["client_id"].as_u64().unwrap();
    bad.send(b"CONNECT {\"verbose\":false,\"user\":\"u\",\"pass\":\"wrong\"}\r\nPING\r\n");
    bad.expect_err_closed("Authorization Violation");
    let c = closed_entry(&m, cid);
    assert_eq!(c["reason"], "Authentication Failure", "{c}");
    let by_reason = m.json("/connz?state=closed&sort=reason");
    assert!(cids(&by_reason).contains(&cid));
}

#[test]
fn closed_reason_slow_consumer() {
    let m = Mon::start(ServerOpts::conf("max_payload: 4096\nmax_pending: 65536\n"));
    let mut slow = m.server.ready();
    slow.auto_pong = false;
    slow.send(b"SUB big 1\r\n");
    slow.ping_pong();
    let cid = slow.info["client_id"].as_u64().unwrap();
    let mut publ = m.server.ready();
    let frame = format!("PUB big 1000\r\n{}\r\n", "y".repeat(1000)).repeat(1000);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        publ.send(frame.as_bytes());
        publ.ping_pong();
        let v = m.json("/varz");
        if v["slow_consumers"].as_u64().unwrap() > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no slow consumer after 30 s");
    }
    let c = closed_entry(&m, cid);
    assert!(
        c["reason"].as_str().unwrap().starts_with("Slow Consumer ("),
        "{c}"
    );
    let st = m.json("/accstatz");
    let g = st["account_statz"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["acc"] == "$G")
        .cloned()
        .unwrap();
    assert!(g["slow_consumers"].as_u64().unwrap() >= 1, "{st:#}");
    drop(slow);
}

#[test]
fn connz_bad_parameters() {
    let m = Mon::plain();
    for (q, start) in [
        ("limit=x", "Error decoding int for 'limit'"),
        ("offset=1.5", "Error decoding int for 'offset'"),
        ("cid=-1", "Error decoding uint64 for 'cid'"),
        ("auth=maybe", "Error decoding boolean for 'auth'"),
        ("subs=2", "Error decoding boolean for 'subs'"),
    ] {
        let r = m.get(&format!("/connz?{q}"));
        assert_eq!(r.status, 400, "{q}");
        assert!(r.body.starts_with(start), "{q}: {}", r.body);
    }
    let v = m.json("/connz?limit=-4&offset=-2");
    assert_eq!(v["limit"], 1024);
    assert_eq!(v["offset"], 0);
}
