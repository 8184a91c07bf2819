//! Monitoring: nats-server's HTTP endpoints (same paths, same JSON field names) and Prometheus metrics.
//!
//! The path of a request: the HTTP thread ([`http`]) parses it → [`routes`] picks the endpoint → the
//! endpoint describes what it needs in a [`Want`] → [`Monitor::gather`] broadcasts `Control::Snapshot` to
//! every shard and waits (bounded by [`SNAPSHOT_TIMEOUT`]) for each shard's `ShardSnapshot` → the endpoint
//! merges, sorts and pages the shards' answers and renders JSON ([`varz`], [`connz`], [`subsz`],
//! [`accounts`], [`leafz`], [`routez`]) or exposition text ([`metrics`]).
//!
//! With `https_port` the same endpoints are served over TLS ([`https`]), with the `tls {}` block's
//! certificate (replaced on reload) and never asking for a client certificate.
//!
//! The HTTP side never reads shard state: every figure arrives by message, built by the shard itself
//! between two inbox batches (`src/shard/snapshot.rs`). It runs on the monitor's own thread (hyper on a
//! tokio current-thread runtime) and a few handler threads of that runtime's blocking pool, never on an
//! executor. Asking the shards never waits for room in an inbox: a shard whose inbox is full makes the
//! request fail at once (503), since a full inbox means the shard is already behind.

pub mod accounts;
pub mod connz;
pub mod format;
pub mod http;
pub mod https;
pub mod leafz;
pub mod metrics;
pub mod procstat;
pub mod routes;
pub mod routez;
pub mod subsz;
pub mod varz;

use crate::bus::snapshot::{unix_now_ns, ShardSnapshot, SnapshotRequest, Want};
use crate::bus::{Bus, Control, ShardId};
use crate::config::Config;
use crate::settings::Settings;
use procstat::CpuSampler;
use std::collections::BTreeMap;
use std::net::{TcpListener, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the HTTP side waits for every shard's answer.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(2);

/// Default `limit` of `/connz` and `/subsz` (nats-server's DefaultConnListSize / DefaultSubListSize).
pub const DEFAULT_LIST_SIZE: usize = 1024;

/// Largest `limit` of `/connz` and `/subsz`; a larger one is lowered to it (and reported so in the
/// answer's `limit`). nats-server takes any limit and lists everything; here a page is bounded so one
/// request cannot make the shards build, and the monitor hold and render, an unbounded list: 10,000
/// records are a few MB of JSON and a few ms of a shard's time, and paging with `offset` reaches the rest.
pub const MAX_LIST_SIZE: usize = 10_000;

/// The HTTP side's state: how to reach the shards, and the few figures that live outside them.
pub struct Monitor {
    bus: Bus,
    nr_shards: usize,
    /// `http_host` / `http_port` / `http_base_path` as configured (`-1` stays `-1`, as in nats-server).
    pub http_host: String,
    pub http_port: i32,
    /// `https_port` as configured (0 when monitoring is plain HTTP or off).
    pub https_port: i32,
    pub http_base_path: String,
    /// The normalized base path: "" or "/prefix" (no trailing slash).
    pub base: String,
    /// When the server started (Unix ns) and the same instant on the monotonic clock.
    pub start_ns: u64,
    pub started: Instant,
    state: Mutex<State>,
}

struct State {
    /// Requests served per endpoint path (`http_req_stats`). Bound: one entry per known endpoint.
    req_stats: BTreeMap<&'static str, u64>,
    cpu: CpuSampler,
    /// The settings seen last, to notice a reload (`config_load_time`).
    last_settings: Option<Arc<Settings>>,
    config_load_ns: u64,
}

/// Normalizes `http_base_path`: a leading slash, no trailing slash, "" for the root.
pub fn normalize_base(p: Option<&str>) -> String {
    let p = p.unwrap_or("").trim().trim_end_matches('/');
    if p.is_empty() {
        String::new()
    } else if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Binds the monitoring port (`-1` = a random free port). A busy port is an error, worded as nats-server's.
pub fn bind(host: &str, port: i32) -> Result<TcpListener, String> {
    let p = if port < 0 { 0 } else { port as u16 };
    let hp = join_host_port(host, p);
    let fail = |e: String| {
        format!("Can't start monitoring: can't listen to the monitor port: listen tcp {hp}: {e}")
    };
    let addr = (host, p)
        .to_socket_addrs()
        .map_err(|e| fail(e.to_string()))?
        .next()
        .ok_or_else(|| fail("no address".into()))?;
    TcpListener::bind(addr).map_err(|e| {
        fail(match e.kind() {
            std::io::ErrorKind::AddrInUse => "bind: address already in use".into(),
            _ => format!("bind: {e}"),
        })
    })
}

/// Starts the monitor when `http_port` or `https_port` is set (and not 0): binds, logs
/// `Starting http monitor on HOST:PORT` (or `https`), and serves on its own thread. With HTTPS, returns
/// the configuration holder a reload updates. Both ports, or HTTPS without TLS, are refused with
/// nats-server's texts (`Config::validate` refuses them earlier still).
pub fn start(
    cfg: &Config,
    bus: &Bus,
    tls: Option<&crate::tls::ServerTls>,
) -> Result<Option<https::HttpsConfig>, String> {
    let http_port = cfg.http_port.filter(|p| *p != 0);
    let https_port = cfg.https_port.filter(|p| *p != 0);
    let (port, secure) = match (http_port, https_port) {
        (Some(h), Some(s)) => {
            return Err(format!(
                "Can't start monitoring: can't specify both HTTP ({h}) and HTTPs ({s}) ports"
            ))
        }
        (Some(p), None) => (p, false),
        (None, Some(p)) => (p, true),
        (None, None) => return Ok(None),
    };
    let https = match (secure, tls) {
        (false, _) => None,
        (true, Some(t)) => Some(https::HttpsConfig::new(t.https.clone())),
        (true, None) => {
            return Err("Can't start monitoring: TLS cert and key required for HTTPS".into())
        }
    };
    let host = match secure {
        true => cfg.https_host.clone().or_else(|| cfg.http_host.clone()),
        false => cfg.http_host.clone(),
    }
    .unwrap_or_else(|| cfg.host.clone());
    let listener = bind(&host, port)?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("Can't start monitoring: {e}"))?
        .port();
    let mut mon = Monitor::new(
        bus.clone(),
        host.clone(),
        if secure { 0 } else { port },
        cfg.http_base_path.clone().unwrap_or_default(),
    );
    if secure {
        mon.https_port = port;
    }
    let mon = Arc::new(mon);
    let scheme = if secure { "https" } else { "http" };
    tracing::info!(
        "Starting {scheme} monitor on {}",
        join_host_port(&host, bound)
    );
    let handler: http::Handler = Arc::new(move |req: &http::Request| routes::handle(&mon, req));
    let settings =
        http::runtime(&http::LIMITS).map_err(|e| format!("Can't start monitoring: {e}"))?;
    let serving = https.clone();
    std::thread::Builder::new()
        .name("monitor".into())
        .spawn(move || {
            if let Err(e) = http::serve(settings, listener, handler, http::LIMITS, serving) {
                tracing::error!("Monitoring stopped: {e}");
            }
        })
        .map_err(|e| format!("Can't start the monitor thread: {e}"))?;
    Ok(https)
}

impl Monitor {
    pub fn new(bus: Bus, http_host: String, http_port: i32, http_base_path: String) -> Monitor {
        let start_ns = unix_now_ns();
        Monitor {
            nr_shards: bus.nr_shards(),
            bus,
            http_host,
            http_port,
            https_port: 0,
            base: normalize_base(Some(&http_base_path)),
            http_base_path,
            start_ns,
            started: Instant::now(),
            state: Mutex::new(State {
                req_stats: BTreeMap::new(),
                cpu: CpuSampler::new(),
                last_settings: None,
                config_load_ns: start_ns,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one request to `path` (nats-server's `http_req_stats`).
    pub fn count_request(&self, path: &'static str) {
        *self.state().req_stats.entry(path).or_insert(0) += 1;
    }

    pub fn req_stats(&self) -> BTreeMap<String, u64> {
        self.state()
            .req_stats
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    pub fn cpu_percent(&self) -> f64 {
        self.state().cpu.sample()
    }

    /// When the configuration in force was loaded: start, or the first time a reloaded one was seen.
    pub fn config_load_ns(&self, settings: &Arc<Settings>) -> u64 {
        let mut st = self.state();
        match &st.last_settings {
            Some(prev) if Arc::ptr_eq(prev, settings) => {}
            Some(_) => {
                st.config_load_ns = unix_now_ns();
                st.last_settings = Some(settings.clone());
            }
            None => st.last_settings = Some(settings.clone()),
        }
        st.config_load_ns
    }

    /// Asks every shard for its figures and waits for all answers (sorted by shard id).
    /// Runs on: a handler thread (never an executor, never the HTTP runtime's own thread).
    pub fn gather(&self, want: Want) -> Result<Vec<ShardSnapshot>, String> {
        let all: Vec<ShardId> = (0..self.nr_shards).map(|i| i as ShardId).collect();
        self.gather_from(&all, want)
    }

    /// [`Monitor::gather`] from some shards only. The request goes into each inbox without waiting
    /// (`Bus::try_send_control`): when one is full the answer is an error at once, not after the
    /// timeout. Then waits at most [`SNAPSHOT_TIMEOUT`] for the answers.
    pub fn gather_from(
        &self,
        shards: &[ShardId],
        want: Want,
    ) -> Result<Vec<ShardSnapshot>, String> {
        let (tx, rx) = crossbeam_channel::bounded(shards.len());
        let sent = self.bus.try_send_control(shards, || {
            Control::Snapshot(SnapshotRequest {
                reply: tx.clone(),
                want: want.clone(),
            })
        });
        drop(tx);
        if let Err(full) = sent {
            let list: Vec<String> = full.iter().map(|s| s.to_string()).collect();
            let (noun, verb) = if full.len() == 1 {
                ("shard", "is")
            } else {
                ("shards", "are")
            };
            return Err(format!(
                "{noun} {} {verb} not taking requests (inbox full)",
                list.join(", ")
            ));
        }
        let deadline = Instant::now() + SNAPSHOT_TIMEOUT;
        let mut snaps = Vec::with_capacity(shards.len());
        while snaps.len() < shards.len() {
            match rx.recv_deadline(deadline) {
                Ok(s) => snaps.push(s),
                Err(_) => {
                    return Err(format!(
                        "{} of {} shards did not answer",
                        shards.len() - snaps.len(),
                        shards.len()
                    ))
                }
            }
        }
        snaps.sort_by_key(|s| s.shard);
        Ok(snaps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_normalized() {
        assert_eq!(normalize_base(None), "");
        assert_eq!(normalize_base(Some("/")), "");
        assert_eq!(normalize_base(Some("mon")), "/mon");
        assert_eq!(normalize_base(Some("/mon/")), "/mon");
        assert_eq!(normalize_base(Some("/a/b")), "/a/b");
    }

    #[test]
    fn busy_port_is_an_error() {
        let l = bind("127.0.0.1", -1).unwrap();
        let port = l.local_addr().unwrap().port() as i32;
        let e = bind("127.0.0.1", port).unwrap_err();
        assert_eq!(
            e,
            format!("Can't start monitoring: can't listen to the monitor port: listen tcp 127.0.0.1:{port}: bind: address already in use")
        );
        assert_eq!(join_host_port("::1", 8222), "[::1]:8222");
    }

    /// A shard whose inbox is full (nobody drains it here) makes `/healthz` answer 503 at once, and
    /// the other endpoints a plain-text 503, instead of waiting for room or for the snapshot timeout.
    #[test]
    fn full_inbox_answers_503_at_once() {
        let (bus, _inboxes) = Bus::new(2);
        let mut n = 0;
        while bus.try_send_control(&[1], || Control::Shutdown).is_ok() {
            n += 1;
        }
        assert_eq!(n, crate::bus::INBOX_CAPACITY);
        let m = Monitor::new(bus, "127.0.0.1".into(), 0, String::new());
        let get = |target: &str| match target.split_once('?') {
            Some((path, query)) => http::Request::new("GET", path, Some(query)),
            None => http::Request::new("GET", target, None),
        };
        let t = Instant::now();
        let r = routes::handle(&m, &get("/healthz"));
        assert!(t.elapsed() < SNAPSHOT_TIMEOUT / 4, "{:?}", t.elapsed());
        assert_eq!(r.status, 503);
        assert_eq!(r.content_type, http::JSON);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["status"], "unavailable");
        assert_eq!(v["status_code"], 503);
        assert_eq!(
            v["error"], "shard 1 is not taking requests (inbox full)",
            "{v}"
        );
        for path in [
            "/varz",
            "/connz",
            "/subsz?subs=1",
            "/accstatz",
            "/routez",
            "/metrics",
        ] {
            let t = Instant::now();
            let r = routes::handle(&m, &get(path));
            assert!(
                t.elapsed() < SNAPSHOT_TIMEOUT / 4,
                "{path}: {:?}",
                t.elapsed()
            );
            assert_eq!((r.status, r.content_type), (503, http::TEXT), "{path}");
        }
    }

    #[test]
    fn gather_times_out_without_shards_answering() {
        let (bus, _inboxes) = Bus::new(1);
        let m = Monitor::new(bus, "127.0.0.1".into(), 0, String::new());
        let t = Instant::now();
        let e = m.gather(Want::default()).err().unwrap();
        assert!(e.contains("did not answer"), "{e}");
        assert!(t.elapsed() >= SNAPSHOT_TIMEOUT);
    }
}
