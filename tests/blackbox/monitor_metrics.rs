//! `/metrics` (corenats only): the exposition is checked line by line by a strict parser, and its figures
//! are checked after real traffic: server totals, per-shard figures (label `shard`) that add up to the
//! totals, and per-account counters (label `account`) kept apart, including permission violations.
//! Also, when `CORENATS_TEST_SERVER=nats-server`, the JSON key sets of corenats and nats-server are compared.
use crate::common::monitor::*;
use crate::common::*;

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn samples(m: &Mon) -> Vec<Sample> {
    let r = m.get("/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    check_exposition(&r.body).unwrap_or_else(|e| panic!("{e}\n{}", r.body))
}

fn value(s: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    s.iter()
        .find(|x| x.name == name && labels.iter().all(|(k, v)| x.label(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
        .value
}

#[test]
fn metrics_totals_and_shard_figures_add_up() {
    if !is_corenats() {
        return;
    }
    let m = Mon::start(ServerOpts {
        cores: Some(2),
        ..ServerOpts::default()
    });
    let mut subs: Vec<Raw> = (0..8).map(|_| m.server.ready()).collect();
    for s in subs.iter_mut() {
        s.send(b"SUB t 1\r\n");
        s.ping_pong();
    }
    let mut pubs: Vec<Raw> = (0..8).map(|_| m.server.ready()).collect();
    for p in pubs.iter_mut() {
        for _ in 0..25 {
            p.send(b"PUB t 4\r\nabcd\r\n");
        }
        p.ping_pong();
    }
    for s in subs.iter_mut() {
        for _ in 0..200 {
            s.read_msg();
        }
    }
    let s = samples(&m);
    assert_eq!(value(&s, "corenats_in_msgs_total", &[]), 200.0);
    assert_eq!(value(&s, "corenats_in_bytes_total", &[]), 800.0);
    assert_eq!(value(&s, "corenats_out_msgs_total", &[]), 1600.0);
    assert_eq!(value(&s, "corenats_connections", &[]), 16.0);
    assert_eq!(value(&s, "corenats_subscriptions", &[]), 8.0);
    assert_eq!(value(&s, "corenats_shards", &[]), 2.0);
    assert!(value(&s, "corenats_memory_bytes", &[]) > 0.0);
    for fam in [
        "connections",
        "connections_total",
        "subscriptions",
        "in_msgs_total",
        "in_bytes_total",
        "out_msgs_total",
        "out_bytes_total",
        "slow_consumers_total",
        "pending_bytes",
    ] {
        let per: Vec<&Sample> = s
            .iter()
            .filter(|x| x.name == format!("corenats_shard_{fam}"))
            .collect();
        let shards: BTreeSet<&str> = per.iter().map(|x| x.label("shard").unwrap()).collect();
        assert_eq!(shards, BTreeSet::from(["0", "1"]), "{fam}");
        let sum: f64 = per.iter().map(|x| x.value).sum();
        assert_eq!(sum, value(&s, &format!("corenats_{fam}"), &[]), "{fam}");
    }
    assert_eq!(
        value(&s, "corenats_account_in_msgs_total", &[("account", "$G")]),
        200.0
    );
    assert_eq!(
        value(&s, "corenats_account_connections", &[("account", "$G")]),
        16.0
    );
    // The figures agree with /varz.
    let v = m.json("/varz");
    assert_eq!(v["out_msgs"], 1600);
    assert_eq!(v["connections"], 16);
}

#[test]
fn metrics_keep_accounts_apart() {
    if !is_corenats() {
        return;
    }
    let m = Mon::start(ServerOpts::conf(
        r#"
accounts {
  A: { users: [ {user: a, password: pa} ] }
  "team b": { users: [ {user: b, password: pb, permissions: {publish: {deny: "no.>"}, subscribe: {deny: "no.>"}}} ] }
}
"#,
    ));
    let login = |u: &str, p: &str| {
        Raw::ready_with(
            m.server.port(),
            &format!(r#"{{"verbose":false,"pedantic":false,"user":"{u}","pass":"{p}"}}"#),
        )
    };
    let mut a = login("a", "pa");
    for _ in 0..7 {
        a.send(b"PUB x 1\r\n1\r\n");
    }
    a.ping_pong();
    let mut b = login("b", "pb");
    b.send(b"PUB no.1 1\r\n1\r\n");
    b.expect_err("Permissions Violation for Publish to \"no.1\"");
    b.send(b"SUB no.2 1\r\n");
    b.expect_err("Permissions Violation for Subscription to \"no.2\"");
    b.send(b"PUB x 2\r\nhi\r\n");
    b.ping_pong();
    let s = samples(&m);
    let w = "team b";
    assert_eq!(
        value(&s, "corenats_account_in_msgs_total", &[("account", "A")]),
        7.0
    );
    assert_eq!(
        value(&s, "corenats_account_in_bytes_total", &[("account", "A")]),
        7.0
    );
    // The denied publish is counted as received, as nats-server counts it.
    assert_eq!(
        value(&s, "corenats_account_in_msgs_total", &[("account", w)]),
        2.0
    );
    assert_eq!(
        value(&s, "corenats_account_connections", &[("account", "A")]),
        1.0
    );
    assert_eq!(
        value(&s, "corenats_account_connections", &[("account", w)]),
        1.0
    );
    let viol = "corenats_account_permission_violations_total";
    assert_eq!(value(&s, viol, &[("account", w), ("kind", "publish")]), 1.0);
    assert_eq!(
        value(&s, viol, &[("account", w), ("kind", "subscribe")]),
        1.0
    );
    assert_eq!(
        value(&s, viol, &[("account", "A"), ("kind", "publish")]),
        0.0
    );
}

#[test]
fn exposition_checker_rejects_what_it_should() {
    let good = "# HELP a_total An a.\n# TYPE a_total counter\na_total{k=\"x\\\"y\"} 3\na_total{k=\"z\"} 0\n# HELP g A g.\n# TYPE g gauge\ng -1.5\n";
    let s = check_exposition(good).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].label("k"), Some("x\"y"));
    for bad in [
        "# HELP a_total A.\n# TYPE a_total counter\na_total 1",
        "# TYPE a_total counter\na_total 1\n",
        "# HELP a A.\n# TYPE a counter\na 1\n",
        "# HELP a A.\n# TYPE a gauge\nb 1\n",
        "# HELP a A.\n# TYPE a gauge\na{k=\"1\"} 1\na{k=\"1\"} 2\n",
        "# HELP a A.\n# TYPE a gauge\na{k=1} 1\n",
        "# HELP a A.\n# TYPE a gauge\na x\n",
        "# HELP a A.\n# TYPE a gauge\na 1 1700000000\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n",
        "# HELP a A.\n# TYPE a gauge\na 1\n# HELP a A.\n# TYPE a gauge\n",
        "# HELP a A.\n# TYPE a histogram\na 1\n",
        "# HELP 1a A.\n# TYPE 1a gauge\n1a 1\n",
    ] {
        assert!(check_exposition(bad).is_err(), "accepted {bad:?}");
    }
}

/// corenats itself (whatever `CORENATS_TEST_SERVER` says), with `-m -1`; killed on drop.
struct Corenats {
    child: Child,
    port: u16,
    http: u16,
}

impl Corenats {
    fn start() -> Corenats {
        let mut child = Command::new(env!("CARGO_BIN_EXE_corenats"))
            .args(corenats_runtime_args())
            .args(["-a", "127.0.0.1", "-p", "-1", "-m", "-1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let (mut port, mut http) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(15);
        while port.is_none() || http.is_none() {
            assert!(Instant::now() < deadline, "corenats did not start");
            let Some(Ok(line)) = lines.next() else {
                panic!("corenats exited");
            };
            let last_port = || line.rsplit(':').next().and_then(|p| p.trim().parse().ok());
            if line.contains("Starting http monitor on ") {
                http = last_port();
            }
            if line.contains("Listening for client connections on ") {
                port = last_port();
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Corenats {
            child,
            port: port.unwrap(),
            http: http.unwrap(),
        }
    }
}

impl Drop for Corenats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Key paths of a JSON value (objects recursed; arrays: the union over their elements).
fn key_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                let p = format!("{prefix}.{k}");
                out.insert(p.clone());
                key_paths(v, &p, out);
            }
        }
        Value::Array(a) => {
            for e in a {
                key_paths(e, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// Keys nats-server 2.15.1 has that corenats leaves out on purpose (no JetStream, no imports, no git).
const KNOWN_MISSING: &[&str] = &[
    "/varz.git_commit",
    "/varz.feature_flags",
    "/varz.disk_io_wait_stats",
    "/accountz?acc=$G.account_detail.imports",
];

#[test]
fn json_key_sets_match_nats_server() {
    if is_corenats() {
        return; // only meaningful with CORENATS_TEST_SERVER=nats-server
    }
    let theirs = Mon::plain();
    let ours = Corenats::start();
    let traffic = |port: u16| {
        let mut c = Raw::ready_with(
            port,
            r#"{"verbose":false,"pedantic":false,"name":"k","lang":"rust","version":"1"}"#,
        );
        c.send(b"SUB foo 1\r\nSUB bar q 2\r\nPUB foo 2\r\nhi\r\n");
        c.read_msg();
        c.ping_pong();
        c
    };
    let _a = traffic(theirs.server.port());
    let _b = traffic(ours.port);
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    for path in [
        "/varz",
        "/connz?subs=detail&auth=1",
        "/connz?subs=1",
        "/subsz?subs=1",
        "/accountz",
        "/accountz?acc=$G",
        "/accstatz?unused=1",
        "/healthz",
    ] {
        let (mut k_theirs, mut k_ours) = (BTreeSet::new(), BTreeSet::new());
        key_paths(&theirs.json(path), path, &mut k_theirs);
        key_paths(&Mon::json_at(ours.http, path), path, &mut k_ours);
        // Dynamic map keys (request stats per path) are not part of the schema.
        let schema = |k: &String| !k.contains("http_req_stats.");
        for k in k_theirs.difference(&k_ours).filter(|k| schema(k)) {
            if !KNOWN_MISSING.iter().any(|m| k.starts_with(m)) {
                missing.push(k.clone());
            }
        }
        extra.extend(k_ours.difference(&k_theirs).filter(|k| schema(k)).cloned());
    }
    assert!(
        missing.is_empty(),
        "keys nats-server has and corenats lacks: {missing:#?}"
    );
    assert!(
        extra.is_empty(),
        "keys corenats has and nats-server lacks: {extra:#?}"
    );
}
