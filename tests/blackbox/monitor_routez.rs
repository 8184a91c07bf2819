//! Monitoring of routes: `/routez` (with `subs=1` and `subs=detail`), the `/varz` `cluster` section
//! and route counts, and the route series of `/metrics` (corenats only). The server under test
//! (two shards on corenats) has a `cluster {}` block; its one peer is a real nats-server started by
//! each test (without route pooling, as corenats), which either dials the server under test or is
//! dialled by it. Both print `Listening for route connections on HOST:PORT`, where the cluster port
//! is read. The same tests pass with nats-server as the server under test (`CORENATS_TEST_SERVER`),
//! for the fields both have.

use crate::common::hub::nats_server_binary;
use crate::common::is_corenats;
use crate::common::monitor::{check_exposition, get, monitor_port, Mon, Sample};
use crate::common::raw::Raw;
use crate::common::server::{Server, ServerOpts, TIMEOUT};
use serde_json::Value;
use std::time::{Duration, Instant};

const ROUTE_LISTEN: &str = "Listening for route connections on ";

/// How long a route may take to come up (a nats-server dial retries every second).
const ROUTE_UP: Duration = Duration::from_secs(10);

/// The port in the `Listening for route connections on HOST:PORT` line of `log`.
fn route_port(log: &str) -> Option<u16> {
    let at = log.find(ROUTE_LISTEN)?;
    let line = log[at..].lines().next()?;
    line.rsplit(':').next()?.trim().parse().ok()
}

fn route_url(port: u16) -> String {
    format!("nats-route://127.0.0.1:{port}")
}

/// A `cluster` block named `c` on a random port of 127.0.0.1, dialling `routes`, plus `extra`.
fn cluster_block(routes: &[String], extra: &str) -> String {
    let routes: Vec<String> = routes.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "cluster {{\n  name: c\n  listen: \"127.0.0.1:-1\"\n  routes: [{}]\n  {extra}\n}}\n",
        routes.join(", ")
    )
}

/// The nats-server peer, monitoring on a random port.
struct Peer {
    server: Server,
    http: u16,
    cluster_port: u16,
    id: String,
}

impl Peer {
    fn start(routes: &[String]) -> Peer {
        let conf = format!(
            "server_name: peer\n{}",
            cluster_block(routes, "pool_size: -1")
        );
        let mut opts = ServerOpts::conf(&conf);
        opts.bin = Some(nats_server_binary());
        opts.args.extend(["-m".to_string(), "-1".to_string()]);
        let server = Server::try_start(opts).unwrap_or_else(|e| {
            panic!("the route tests need nats-server (or NATS_SERVER_BIN): {e}")
        });
        assert!(
            server.wait_for_log(ROUTE_LISTEN, TIMEOUT)
                && server.wait_for_log("Starting http monitor on ", TIMEOUT),
            "peer log:\n{}",
            server.log()
        );
        let log = server.log();
        let http = monitor_port(&log).expect("monitor port in the peer's log");
        let id = Mon::json_at(http, "/varz")["server_id"]
            .as_str()
            .unwrap()
            .to_string();
        Peer {
            cluster_port: route_port(&log).expect("route port in the peer's log"),
            http,
            id,
            server,
        }
    }
}

/// The server under test: `server_name: sut`, a cluster block dialling `routes`, monitoring.
struct Sut {
    mon: Mon,
    cluster_port: u16,
    id: String,
}

impl Sut {
    fn start(routes: &[String]) -> Sut {
        let mut opts =
            ServerOpts::conf(&format!("server_name: sut\n{}", cluster_block(routes, "")));
        opts.cores = Some(2);
        let mon = Mon::start(opts);
        assert!(
            mon.server.wait_for_log(ROUTE_LISTEN, TIMEOUT),
            "no route listener:\n{}",
            mon.server.log()
        );
        let cluster_port = route_port(&mon.server.log()).unwrap();
        let id = mon.json("/varz")["server_id"].as_str().unwrap().to_string();
        Sut {
            mon,
            cluster_port,
            id,
        }
    }
}

/// Polls `path` on monitor port `http` until `f` holds; panics with the last answer otherwise.
fn wait_json(
    http: u16,
    path: &str,
    within: Duration,
    what: &str,
    f: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let v = Mon::json_at(http, path);
        if f(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never showed {what}: {v:#}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The one route of a `/routez` answer.
fn only_route(v: &Value) -> &Value {
    assert_eq!(v["num_routes"], 1, "{v:#}");
    &v["routes"][0]
}

fn subjects(route: &Value) -> Vec<String> {
    route["subscriptions_list"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn counter(route: &Value, key: &str) -> u64 {
    route[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {route}"))
}

/// RFC 3339 with a `T` and a trailing `Z`, as nats-server prints times.
fn is_time(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|t| t.len() >= 20 && t.as_bytes()[10] == b'T' && t.ends_with('Z'))
}

/// The samples of `/metrics` named `name`.
fn series(m: &Mon, name: &str) -> Vec<Sample> {
    let text = m.get("/metrics").body;
    check_exposition(&text)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|s| s.name == name)
        .collect()
}

/// A nats-server peer dials the server under test: the route is neither solicited nor configured
/// on our side, its figures move with traffic both ways, and `subs=1`/`subs=detail` list the
/// peer's interest; the route appears in no client endpoint.
#[test]
fn routez_shows_a_peer_that_dialled_us_and_its_traffic() {
    let sut = Sut::start(&[]);
    let peer = Peer::start(&[route_url(sut.cluster_port)]);
    let http = sut.mon.http;
    let v = wait_json(http, "/routez", ROUTE_UP, "one route", |v| {
        v["num_routes"] == 1
    });
    assert_eq!(v["server_id"], sut.id.as_str());
    assert_eq!(v["server_name"], "sut");
    assert!(is_time(&v["now"]), "{v}");
    let r = only_route(&v);
    assert_eq!(r["remote_id"], peer.id.as_str(), "{r:#}");
    assert_eq!(r["remote_name"], "peer");
    assert_eq!(r["did_solicit"], false);
    assert_eq!(r["is_configured"], false);
    assert_eq!(r["ip"], "127.0.0.1");
    assert!(r["port"].as_u64().is_some_and(|p| p > 0), "{r}");
    assert!(r["rid"].as_u64().is_some_and(|c| c > 0), "{r}");
    assert!(is_time(&r["start"]) && is_time(&r["last_activity"]), "{r}");
    for k in ["rtt", "uptime", "idle"] {
        assert!(r[k].as_str().is_some_and(|s| s.ends_with('s')), "{k}: {r}");
    }
    assert!(r["pending_size"].is_u64(), "{r}");
    assert_eq!(r["compression"], "off");
    // No pinned-account route (no pooling on either side), no cluster permissions.
    for absent in ["account", "import", "export", "subscriptions_list"] {
        assert!(r.get(absent).is_none(), "{absent} in {r}");
    }

    // The peer's interest shows on our route.
    let mut pc = Raw::ready(peer.server.port());
    pc.send(b"SUB routez.out 1\r\nSUB routez.q q1 2\r\n");
    pc.ping_pong();
    let v = wait_json(
        http,
        "/routez?subs=1",
        ROUTE_UP,
        "the peer's interest",
        |v| {
            let s = subjects(&v["routes"][0]);
            s.iter().any(|x| x == "routez.out") && s.iter().any(|x| x == "routez.q")
        },
    );
    let r = only_route(&v);
    assert!(counter(r, "subscriptions") >= 2, "{r}");
    let v = Mon::json_at(http, "/routez?subs=detail");
    let r = only_route(&v);
    assert!(r.get("subscriptions_list").is_none(), "{r}");
    let detail = r["subscriptions_list_detail"]
        .as_array()
        .expect("detail list");
    let q = detail
        .iter()
        .find(|d| d["subject"] == "routez.q")
        .unwrap_or_else(|| panic!("routez.q in {r:#}"));
    assert_eq!(q["qgroup"], "q1");
    assert_eq!(q["sid"], "R $G routez.q q1");
    let plain = detail
        .iter()
        .find(|d| d["subject"] == "routez.out")
        .unwrap();
    assert!(plain.get("qgroup").is_none(), "{plain}");
    assert_eq!(plain["sid"], "R $G routez.out");

    // Out: three messages of 5 bytes from our client to the peer's.
    let before = only_route(&Mon::json_at(http, "/routez")).clone();
    let mut c = sut.mon.server.ready();
    for _ in 0..3 {
        c.send(b"PUB routez.out 5\r\nhello\r\n");
    }
    c.ping_pong();
    for _ in 0..3 {
        assert_eq!(pc.read_msg().payload, b"hello");
    }
    wait_json(http, "/routez", TIMEOUT, "3 messages out", |v| {
        let r = &v["routes"][0];
        counter(r, "out_msgs") >= counter(&before, "out_msgs") + 3
            && counter(r, "out_bytes") >= counter(&before, "out_bytes") + 15
    });

    // In: two messages of 4 bytes from the peer's client to ours.
    c.send(b"SUB routez.in 7\r\n");
    c.ping_pong();
    wait_json(peer.http, "/routez?subs=1", ROUTE_UP, "our interest", |v| {
        subjects(&v["routes"][0]).iter().any(|s| s == "routez.in")
    });
    let before = only_route(&Mon::json_at(http, "/routez")).clone();
    pc.send(b"PUB routez.in 4\r\nabcd\r\nPUB routez.in 4\r\nabcd\r\n");
    pc.ping_pong();
    for _ in 0..2 {
        assert_eq!(c.read_msg().payload, b"abcd");
    }
    wait_json(http, "/routez", TIMEOUT, "2 messages in", |v| {
        let r = &v["routes"][0];
        counter(r, "in_msgs") >= counter(&before, "in_msgs") + 2
            && counter(r, "in_bytes") >= counter(&before, "in_bytes") + 8
    });

    // Client figures leave the route out.
    let v = sut.mon.json("/varz");
    assert_eq!(v["in_client_msgs"], 3, "{v:#}");
    assert_eq!(v["in_client_bytes"], 15);
    assert_eq!(v["out_client_msgs"], 2);
    assert_eq!(v["out_client_bytes"], 8);
    // The route is no client connection, and its subscriptions (the peer's interest) are counted
    // but not listed by /subsz, as nats-server does.
    let v = sut.mon.json("/connz");
    assert_eq!(v["num_connections"], 1, "{v:#}");
    let v = sut.mon.json("/subsz?subs=1&limit=10000");
    let listed: Vec<&str> = v["subscriptions_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["subject"].as_str())
        .collect();
    assert!(listed.contains(&"routez.in"), "{listed:?}");
    assert!(!listed.contains(&"routez.out"), "{listed:?}");
    assert!(v["num_subscriptions"].as_u64().unwrap() >= 3, "{v}");

    // /varz: the cluster section and the counts.
    let v = sut.mon.json("/varz");
    let cl = &v["cluster"];
    assert_eq!(cl["name"], "c", "{cl:#}");
    assert_eq!(cl["addr"], "127.0.0.1");
    assert_eq!(cl["cluster_port"], sut.cluster_port);
    assert_eq!(cl["auth_timeout"].as_f64(), Some(2.0));
    assert_eq!(cl["tls_timeout"].as_f64(), Some(2.0));
    assert!(cl.get("urls").is_none(), "{cl}");
    assert!(cl.get("tls_required").is_none() && cl.get("tls_verify").is_none());
    if is_corenats() {
        assert_eq!(cl["pool_size"], -1, "no pooling");
    } else {
        assert!(cl["pool_size"].is_i64(), "{cl}");
    }
    assert_eq!(v["routes"], 1);
    assert_eq!(v["remotes"], 1);
    let urls: Vec<&str> = v["connect_urls"]
        .as_array()
        .unwrap_or_else(|| panic!("connect_urls in {v:#}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let ours = format!("127.0.0.1:{}", sut.mon.server.port());
    let theirs = format!("127.0.0.1:{}", peer.server.port());
    assert!(
        urls.contains(&ours.as_str()) && urls.contains(&theirs.as_str()),
        "{urls:?}"
    );

    if !is_corenats() {
        return; // /metrics is corenats'
    }
    let routes = series(&sut.mon, "corenats_routes");
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].value, 1.0);
    let pick = |name: &str| {
        let s = series(&sut.mon, name);
        assert_eq!(s.len(), 1, "{name}: {s:?}");
        assert_eq!(s[0].label("remote_id"), Some(peer.id.as_str()), "{s:?}");
        assert_eq!(s[0].label("remote_name"), Some("peer"), "{s:?}");
        s[0].value
    };
    assert!(pick("corenats_route_out_msgs_total") >= 3.0);
    assert!(pick("corenats_route_out_bytes_total") >= 15.0);
    assert!(pick("corenats_route_in_msgs_total") >= 2.0);
    assert!(pick("corenats_route_in_bytes_total") >= 8.0);
    assert!(pick("corenats_route_subscriptions") >= 2.0);
    assert!(pick("corenats_route_rtt_seconds") >= 0.0);
}

/// The server under test dials a configured route: solicited and configured, its port the peer's
/// cluster port, the URL in `/varz`; when the peer goes, so does the route (the URL stays).
#[test]
fn a_configured_route_is_solicited_and_configured() {
    let mut peer = Peer::start(&[]);
    let sut = Sut::start(&[route_url(peer.cluster_port)]);
    let http = sut.mon.http;
    let v = wait_json(http, "/routez", ROUTE_UP, "one route", |v| {
        v["num_routes"] == 1
    });
    let r = only_route(&v);
    assert_eq!(r["remote_id"], peer.id.as_str(), "{r:#}");
    assert_eq!(r["remote_name"], "peer");
    assert_eq!(r["did_solicit"], true);
    assert_eq!(r["is_configured"], true);
    assert_eq!(r["ip"], "127.0.0.1");
    assert_eq!(r["port"], peer.cluster_port);
    // The peer sees the other side of it.
    let v = wait_json(peer.http, "/routez", ROUTE_UP, "one route", |v| {
        v["num_routes"] == 1
    });
    let theirs = only_route(&v);
    assert_eq!(theirs["remote_id"], sut.id.as_str());
    assert_eq!(theirs["remote_name"], "sut");
    assert_eq!(theirs["did_solicit"], false);
    assert_eq!(theirs["is_configured"], false);

    let v = sut.mon.json("/varz");
    let want_urls = serde_json::json!([format!("127.0.0.1:{}", peer.cluster_port)]);
    assert_eq!(v["cluster"]["urls"], want_urls, "{:#}", v["cluster"]);
    assert_eq!(
        (v["routes"].clone(), v["remotes"].clone()),
        (1.into(), 1.into())
    );

    peer.server.stop();
    let v = wait_json(http, "/routez", ROUTE_UP, "no route", |v| {
        v["num_routes"] == 0
    });
    assert_eq!(v["routes"], serde_json::json!([]));
    let v = sut.mon.json("/varz");
    assert_eq!(
        (v["routes"].clone(), v["remotes"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(v["cluster"]["urls"], want_urls);
    if is_corenats() {
        assert_eq!(series(&sut.mon, "corenats_routes")[0].value, 0.0);
        assert!(series(&sut.mon, "corenats_route_in_msgs_total").is_empty());
    }
}

/// Without a `cluster {}` block: `/routez` answers with no routes, the cluster section is `{}`;
/// `subs` is parsed as nats-server parses it.
#[test]
fn without_a_cluster_there_are_no_routes() {
    let m = Mon::plain();
    let v = m.json("/routez");
    assert_eq!(v["num_routes"], 0, "{v:#}");
    assert_eq!(v["routes"], serde_json::json!([]));
    assert!(v["server_id"].as_str().is_some_and(|s| s.len() == 56));
    assert!(v["server_name"].is_string());
    assert_eq!(m.json("/routez?subs=detail")["num_routes"], 0);
    let r = get(m.http, "/routez?subs=maybe");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body.trim_end(),
        "Error decoding boolean for 'subs': strconv.ParseBool: parsing \"maybe\": invalid syntax"
    );
    let v = m.json("/varz");
    assert_eq!(v["cluster"], serde_json::json!({}), "{v:#}");
    assert_eq!(
        (v["routes"].clone(), v["remotes"].clone()),
        (0.into(), 0.into())
    );
    assert!(v.get("connect_urls").is_none());
    // (nats-server does not count a request whose parameters it refused.)
    assert!(m.json("/varz")["http_req_stats"]["/routez"].as_u64() >= Some(2));
    if is_corenats() {
        let s = series(&m, "corenats_routes");
        assert_eq!((s.len(), s[0].value), (1, 0.0));
    }
}
