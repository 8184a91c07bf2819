//! Monitoring endpoints against the spawned server (`-m -1`, port read from the log): `/varz` figures after
//! real traffic, `/healthz`, `/`, unknown paths, `http_base_path`, a busy monitor port, `/subsz` with its
//! filters, and per-account figures in `/accstatz`, `/accountz` and `/connz?auth=1`. Runs unchanged
//! against nats-server (`CORENATS_TEST_SERVER=nats-server`) except where marked corenats-only.
use crate::common::monitor::*;
use crate::common::*;

use std::time::{Duration, Instant};

const ACCOUNTS: &str = r#"
accounts {
  A: { users: [ {user: a, password: pa}, {user: a2, password: pa2} ] }
  B: { users: [ {user: b, password: pb, permissions: {publish: {deny: "secret.>"}}} ] }
}
"#;

fn login(s: &Server, user: &str, pass: &str) -> Raw {
    Raw::ready_with(
        s.port(),
        &format!(r#"{{"verbose":false,"pedantic":false,"user":"{user}","pass":"{pass}"}}"#),
    )
}

/// Reads `n` MSG frames.
fn drain(c: &mut Raw, n: usize) {
    for _ in 0..n {
        c.read_msg();
    }
}

#[test]
fn varz_counts_traffic_and_reports_limits() {
    let m = Mon::start(ServerOpts {
        cores: Some(2),
        ..ServerOpts::default()
    });
    let mut sub = m.server.ready();
    sub.send(b"SUB foo 1\r\n");
    sub.ping_pong();
    let mut publ = m.server.ready();
    for _ in 0..100 {
        publ.send(b"PUB foo 5\r\nhello\r\n");
    }
    publ.ping_pong();
    drain(&mut sub, 100);

    let v = m.json("/varz");
    assert_eq!(v["in_msgs"], 100, "{v:#}");
    assert_eq!(v["in_bytes"], 500);
    assert_eq!(v["out_msgs"], 100);
    assert_eq!(v["out_bytes"], 500);
    assert_eq!(v["in_client_msgs"], 100);
    assert_eq!(v["connections"], 2);
    assert!(v["total_connections"].as_u64().unwrap() >= 2);
    assert!(v["subscriptions"].as_u64().unwrap() >= 1);
    assert_eq!(v["slow_consumers"], 0);
    // Identity and limits in nats types.
    let id = v["server_id"].as_str().unwrap();
    assert_eq!(id.len(), 56);
    assert!(id.starts_with('N'));
    assert_eq!(v["host"], "127.0.0.1");
    assert_eq!(v["port"], m.server.port());
    assert_eq!(
        v["http_port"], -1,
        "the configured value, as nats-server reports it"
    );
    assert_eq!(v["proto"], 1);
    assert_eq!(v["max_connections"], 65536);
    assert_eq!(v["max_payload"], 1048576);
    assert_eq!(v["max_pending"], 67108864);
    assert_eq!(v["max_control_line"], 4096);
    assert_eq!(v["ping_interval"], 120_000_000_000u64);
    assert_eq!(v["ping_max"], 2);
    assert_eq!(v["write_deadline"], 10_000_000_000u64);
    assert_eq!(v["auth_timeout"].as_f64(), Some(2.0));
    for k in [
        "cluster",
        "gateway",
        "leaf",
        "mqtt",
        "websocket",
        "jetstream",
    ] {
        assert!(v[k].is_object(), "{k}");
    }
    // Process figures.
    assert!(v["mem"].as_u64().unwrap() > 0);
    assert!(v["cores"].as_u64().unwrap() >= 1);
    assert!(v["cpu"].as_f64().unwrap() >= 0.0);
    let up = v["uptime"].as_str().unwrap();
    assert!(
        up.ends_with('s') && up.chars().next().unwrap().is_ascii_digit(),
        "{up}"
    );
    for k in ["start", "now", "config_load_time"] {
        let t = v[k].as_str().unwrap();
        assert!(
            t.len() >= 20 && t.as_bytes()[10] == b'T' && t.ends_with('Z'),
            "{k}: {t}"
        );
    }
    assert!(v["start"].as_str() <= v["now"].as_str());
    assert!(v["http_req_stats"]["/varz"].as_u64().unwrap() >= 1);
    for k in ["slow_consumer_stats", "stale_connection_stats"] {
        assert_eq!(v[k]["clients"], 0, "{k}");
    }
    let v2 = m.json("/varz");
    assert!(v2["http_req_stats"]["/varz"].as_u64() > v["http_req_stats"]["/varz"].as_u64());
}

#[test]
fn healthz_root_and_unknown_paths() {
    let m = Mon::plain();
    let h = m.json("/healthz");
    assert_eq!(h, serde_json::json!({"status": "ok"}));
    let r = m.get("/");
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("varz") && r.body.contains("connz"),
        "{}",
        r.body
    );
    let r = m.get("/nope");
    assert_eq!(r.status, 404);
    assert_eq!(m.get("/varzz").status, 404);
    // Both names of the subscriptions endpoint.
    assert!(m.json("/subscriptionsz")["num_subscriptions"].is_u64());
}

#[test]
fn healthz_is_503_in_lame_duck() {
    if !is_corenats() {
        return; // nats-server's healthz does not look at lame duck
    }
    let m = Mon::plain();
    let _c = m.server.ready();
    m.server.signal("USR2");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let r = m.get("/healthz");
        if r.status == 503 {
            assert_eq!(r.header("content-type"), Some("application/json"));
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(v["status"], "unavailable");
            assert!(v["error"].as_str().unwrap().contains("lame duck"), "{v}");
            break;
        }
        assert_eq!(r.status, 200);
        assert!(Instant::now() < deadline, "healthz never turned 503");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn base_path_prefixes_every_endpoint() {
    let m = Mon::start(ServerOpts::conf("http_base_path: \"/mon\"\n"));
    assert_eq!(m.json("/mon/varz")["http_base_path"], "/mon");
    assert!(m.json("/mon/connz")["connections"].is_array());
    assert_eq!(m.json("/mon/healthz")["status"], "ok");
    assert_eq!(m.get("/varz").status, 404);
}

#[test]
fn busy_monitor_port_is_a_startup_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let r = Server::try_start(ServerOpts::args(&["-m", &port.to_string()]));
    let Err(log) = r else {
        panic!("server started although the monitor port {port} is busy");
    };
    assert!(
        log.contains(&format!("can't listen to the monitor port: listen tcp 127.0.0.1:{port}: bind: address already in use")),
        "{log}"
    );
}

#[test]
fn subsz_counts_filters_and_lists() {
    let m = Mon::plain();
    let mut c = m.server.ready();
    c.send(b"SUB foo.bar 1\r\nSUB foo.* 2\r\nSUB baz q 3\r\n");
    c.ping_pong();
    let mut p = m.server.ready();
    p.send(b"PUB foo.bar 1\r\nx\r\nPUB foo.bar 1\r\nx\r\n");
    p.ping_pong();
    drain(&mut c, 4);
    let cid = m.json("/connz?sort=subs&limit=1")["connections"][0]["cid"].clone();

    let all = m.json("/subsz?subs=1&acc=$G");
    assert!(all["num_subscriptions"].as_u64().unwrap() >= 3, "{all:#}");
    assert!(all["num_matches"].as_u64().unwrap() >= 1);
    assert!(all["cache_hit_rate"].is_number() && all["avg_fanout"].is_number());
    let mine: Vec<_> = all["subscriptions_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["cid"] == cid)
        .collect();
    assert_eq!(mine.len(), 3, "{all:#}");
    let q = mine.iter().find(|s| s["subject"] == "baz").unwrap();
    assert_eq!(q["qgroup"], "q");
    assert_eq!(q["sid"], "3");
    assert_eq!(q["account"], "$G");
    let fb = mine.iter().find(|s| s["subject"] == "foo.bar").unwrap();
    assert_eq!(fb["msgs"], 2);

    let t = m.json("/subsz?subs=1&test=foo.bar");
    let subjects: Vec<_> = t["subscriptions_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["cid"] == cid)
        .map(|s| s["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(subjects.len(), 2, "{t:#}");
    assert!(subjects.contains(&"foo.bar".into()) && subjects.contains(&"foo.*".into()));

    let paged = m.json("/subsz?subs=1&acc=$G&limit=1&offset=1");
    assert_eq!(paged["subscriptions_list"].as_array().unwrap().len(), 1);
    assert_eq!(paged["limit"], 1);
    assert_eq!(paged["offset"], 1);

    let r = m.get("/subsz?test=foo.*");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("invalid test subject"), "{}", r.body);
    assert_eq!(m.get("/subsz?subs=maybe").status, 400);
}

#[test]
fn accounts_are_reported_separately() {
    let m = Mon::start(ServerOpts::conf(ACCOUNTS));
    let mut a = login(&m.server, "a", "pa");
    a.send(b"SUB x 1\r\n");
    a.ping_pong();
    let mut a2 = login(&m.server, "a2", "pa2");
    for _ in 0..10 {
        a2.send(b"PUB x 3\r\nabc\r\n");
    }
    a2.ping_pong();
    drain(&mut a, 10);
    let mut b = login(&m.server, "b", "pb");
    for _ in 0..3 {
        b.send(b"PUB x 2\r\nhi\r\n");
    }
    b.send(b"PUB secret.y 1\r\nz\r\n");
    b.expect_err("Permissions Violation for Publish to \"secret.y\"");
    b.ping_pong();
    a.expect_nothing();

    let st = m.json("/accstatz");
    let list = st["account_statz"].as_array().unwrap();
    let find = |name: &str| list.iter().find(|x| x["acc"] == name).cloned();
    let sa = find("A").expect("A listed");
    assert_eq!(sa["conns"], 2, "{st:#}");
    assert_eq!(sa["total_conns"], 2);
    if is_corenats() {
        // nats-server also counts the system imports every account has.
        assert_eq!(sa["num_subscriptions"], 1);
    }
    assert_eq!(sa["received"]["msgs"], 10);
    assert_eq!(sa["received"]["bytes"], 30);
    assert_eq!(sa["sent"]["msgs"], 10);
    assert_eq!(sa["sent"]["bytes"], 30);
    assert_eq!(sa["slow_consumers"], 0);
    let sb = find("B").expect("B listed");
    assert_eq!(sb["conns"], 1);
    // The denied publish counts as received too, as in nats-server.
    assert_eq!(sb["received"]["msgs"], 4);
    assert_eq!(sb["sent"]["msgs"], 0);
    assert!(
        find("$G").is_none(),
        "accounts without connections need unused=1"
    );
    let st = m.json("/accstatz?unused=1");
    assert!(st["account_statz"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["acc"] == "$G"));
    if is_corenats() {
        // nats-server's HTTP handler ignores `acc` (only its system request filters); corenats filters.
        let only = m.json("/accstatz?acc=B");
        let only = only["account_statz"].as_array().unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0]["acc"], "B");
    }

    let az = m.json("/accountz");
    let names: Vec<_> = az["accounts"].as_array().unwrap().iter().collect();
    for n in ["A", "B", "$G"] {
        assert!(names.iter().any(|x| *x == n), "{n} in {az:#}");
    }
    let d = m.json("/accountz?acc=A");
    let d = &d["account_detail"];
    assert_eq!(d["account_name"], "A");
    assert_eq!(d["client_connections"], 2);
    if is_corenats() {
        assert_eq!(d["subscriptions"], 1);
        assert_eq!(d["sublist_stats"]["num_subscriptions"], 1);
    }
    assert_eq!(m.get("/accountz?acc=nope").status, 400);

    let cz = m.json("/connz?auth=1&acc=A");
    assert_eq!(cz["total"], 2, "{cz:#}");
    assert_eq!(cz["connections"].as_array().unwrap().len(), 2);
    for c in cz["connections"].as_array().unwrap() {
        assert_eq!(c["account"], "A");
        assert!(c["authorized_user"] == "a" || c["authorized_user"] == "a2");
    }
    let cz = m.json("/connz?auth=1&user=b");
    assert_eq!(cz["connections"].as_array().unwrap().len(), 1, "{cz:#}");
    assert_eq!(cz["connections"][0]["account"], "B");
    if is_corenats() {
        // nats-server counts `total` before the user filter; corenats counts the matches.
        assert_eq!(cz["total"], 1);
    }
    let cz = m.json("/connz");
    assert!(cz["connections"][0].get("authorized_user").is_none());
}

/// The `sha256:<hex>` digest in a log line that contains `prefix`.
fn logged_digest(log: &str, prefix: &str) -> Option<String> {
    let line = log.lines().rev().find(|l| l.contains(prefix))?;
    let at = line.find("(sha256:")?;
    Some(line[at + 1..].trim_end_matches(')').to_string())
}

#[test]
fn varz_config_digest_matches_the_log_and_follows_a_reload() {
    let m = Mon::start(ServerOpts::conf("max_payload: 1000\n"));
    let started = logged_digest(&m.server.log(), "Using configuration file:")
        .expect("the startup line names the digest");
    assert!(
        started.len() == 7 + 64 && started.starts_with("sha256:"),
        "{started}"
    );
    assert_eq!(m.json("/varz")["config_digest"], started.as_str());
    crate::common::tenancy::reload(&m.server, "max_payload: 2000\n");
    let reloaded = logged_digest(&m.server.log(), crate::common::tenancy::RELOADED).unwrap();
    assert_ne!(reloaded, started);
    // The monitor sees the new configuration once the shards have applied it: poll.
    crate::common::tenancy::wait_until("the reloaded digest in /varz", || {
        m.json("/varz")["config_digest"] == reloaded.as_str()
    });
}
