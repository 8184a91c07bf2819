//! `/varz`: server identity, limits in force, process figures and traffic totals summed over the shards,
//! with nats-server's field names and types (durations in nanoseconds, `auth_timeout` in seconds,
//! `uptime` as `1h2m3s`).

use super::format::{rfc3339, uptime};
use super::http::{Request, Response};
use super::procstat::rss_bytes;
use super::routes::{json, unavailable};
use super::Monitor;
use crate::bus::snapshot::{unix_now_ns, SubsMode, Want};
use serde::Serialize;
use std::collections::BTreeMap;

/// Sections corenats does not have (gateway, mqtt, websocket, jetstream): `{}`.
#[derive(Serialize, Default)]
pub struct Empty {}

/// nats-server's `cluster` section (`ClusterOptsVarz`): `{}` without a `cluster {}` block. Every
/// field is left out when unset, as nats-server's `omitempty`; `write_deadline`, `write_timeout`
/// and `tls_cert_not_after` never appear (corenats has no per-cluster write deadline, nor TLS on
/// routes).
#[derive(Serialize, Default)]
pub struct ClusterVarz {
    /// The cluster's name now (a made-up one may have yielded to a peer's).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The route listener's interface.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub addr: String,
    /// The route listener's port (the real one when `-1` asked for a random port).
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub cluster_port: u16,
    /// Seconds a peer has for its CONNECT (`authorization { timeout }`, default 2).
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub auth_timeout: f64,
    /// `host:port` of each configured route URL (never the credentials).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Seconds: `cluster { tls { timeout } }`, or nats-server's default (2), which it shows for a
    /// cluster without TLS too. `tls_required` and `tls_verify`: `cluster { tls }` is set (a route
    /// always verifies its peer).
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub tls_timeout: f64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_verify: bool,
    /// -1: no pooling — one route per peer carrying every account, what nats-server does (and
    /// shows) with `pool_size: -1`.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub pool_size: i64,
}

/// `pool_size` of a cluster: corenats never pools routes.
pub const NO_POOLING: i64 = -1;

fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

/// nats-server's `leaf` section: the leaf-node listener (when there is one) and the remotes this
/// server dials.
#[derive(Serialize, Default)]
pub struct LeafVarz {
    /// The leaf-node listener (nats-server leaves these out without one).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub port: u16,
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub auth_timeout: f64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub tls_timeout: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remotes: Vec<RemoteVarz>,
}

#[derive(Serialize, Default)]
pub struct RemoteVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub local_account: String,
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub tls_timeout: f64,
    /// `host:port` of each URL (never the credentials).
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny: Option<DenyRules>,
}

#[derive(Serialize, Default)]
pub struct DenyRules {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

#[derive(Serialize, Default)]
pub struct ByKind {
    pub clients: u64,
    pub routes: u64,
    pub gateways: u64,
    pub leafs: u64,
}

#[derive(Serialize, Default)]
pub struct Varz {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub proto: u32,
    pub go: String,
    pub host: String,
    pub port: u16,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auth_required: bool,
    /// Clients must use TLS (`tls {}` without `allow_non_tls`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_required: bool,
    /// Client certificates are required and checked (`verify`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_verify: bool,
    /// The client URLs clients are told: ours and every route peer's (left out on a lone server).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    pub max_connections: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_subscriptions: u64,
    /// Nanoseconds.
    pub ping_interval: u64,
    pub ping_max: u32,
    pub http_host: String,
    pub http_port: i32,
    pub http_base_path: String,
    pub https_port: i32,
    /// Seconds.
    pub auth_timeout: f64,
    pub max_control_line: u32,
    pub max_payload: u32,
    pub max_pending: u64,
    pub cluster: ClusterVarz,
    pub gateway: Empty,
    pub leaf: LeafVarz,
    pub mqtt: Empty,
    pub websocket: Empty,
    pub jetstream: Empty,
    /// Seconds.
    pub tls_timeout: f64,
    /// Nanoseconds.
    pub write_deadline: u64,
    pub start: String,
    pub now: String,
    pub uptime: String,
    pub mem: u64,
    pub cores: usize,
    pub gomaxprocs: usize,
    pub cpu: f64,
    pub connections: u64,
    pub total_connections: u64,
    /// Routes up, and the servers they lead to (the same number: one route per peer).
    pub routes: u64,
    pub remotes: u64,
    pub leafnodes: u64,
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub in_client_msgs: u64,
    pub in_client_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
    pub out_client_msgs: u64,
    pub out_client_bytes: u64,
    pub slow_consumers: u64,
    pub stale_connections: u64,
    pub stalled_clients: u64,
    pub subscriptions: u64,
    pub http_req_stats: BTreeMap<String, u64>,
    pub config_load_time: String,
    /// The digest of the configuration file ("" when unknown).
    pub config_digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_account: Option<String>,
    pub slow_consumer_stats: ByKind,
    pub stale_connection_stats: ByKind,
}

/// The `leaf` section from the configured remotes (nats-server's `varzLeafNodeRemotes`).
fn leaf_varz(settings: &crate::settings::Settings) -> LeafVarz {
    let remotes = settings
        .leafnodes
        .remotes
        .iter()
        .map(|r| RemoteVarz {
            local_account: r.account.clone().unwrap_or_default(),
            tls_timeout: r
                .tls
                .as_ref()
                .and_then(|t| t.timeout)
                .map_or(0.0, |t| t.as_secs_f64()),
            urls: r
                .urls
                .iter()
                .filter_map(|u| crate::leaf::url::RemoteUrl::parse(u).ok())
                .map(|u| u.addr())
                .collect(),
            deny: (!r.deny_imports.is_empty() || !r.deny_exports.is_empty()).then(|| DenyRules {
                exports: r.deny_exports.clone(),
                imports: r.deny_imports.clone(),
            }),
        })
        .collect();
    let mut v = LeafVarz {
        remotes,
        ..LeafVarz::default()
    };
    if settings.leafnodes.port.is_some() {
        v.host = settings.leafnodes.host.clone();
        v.auth_timeout = settings
            .leafnodes
            .auth_timeout
            .unwrap_or(crate::config::defaults::DEFAULT_AUTH_TIMEOUT)
            .as_secs_f64();
        v.tls_timeout = 2.0;
    }
    v
}

/// The `cluster` section: the block's settings and shard 0's figures.
fn cluster_varz(
    settings: &crate::settings::Settings,
    c: &crate::bus::snapshot::ClusterFigures,
) -> ClusterVarz {
    let spec = &settings.cluster;
    let tls_timeout = spec
        .tls
        .as_ref()
        .and_then(|t| t.timeout)
        .filter(|t| !t.is_zero())
        .unwrap_or(crate::config::defaults::DEFAULT_TLS_TIMEOUT);
    // nats-server's `getDefaultAuthTimeout`: with TLS, the TLS timeout plus a second.
    let auth_default = if spec.tls.is_some() {
        tls_timeout + std::time::Duration::from_secs(1)
    } else {
        crate::config::defaults::DEFAULT_AUTH_TIMEOUT
    };
    ClusterVarz {
        name: c.name.clone(),
        addr: spec.host.clone(),
        cluster_port: c.port,
        auth_timeout: spec.auth_timeout.unwrap_or(auth_default).as_secs_f64(),
        urls: spec
            .routes
            .iter()
            .filter_map(|u| crate::leaf::url::RemoteUrl::parse(u).ok())
            .map(|u| u.addr())
            .collect(),
        tls_timeout: tls_timeout.as_secs_f64(),
        tls_required: spec.tls.is_some(),
        tls_verify: spec.tls.is_some(),
        pool_size: NO_POOLING,
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

pub fn handle(m: &Monitor, req: &Request) -> Response {
    match build(m) {
        Ok(v) => json(req, 200, &v),
        Err(e) => unavailable(e),
    }
}

/// Gathers the shards' totals and builds the `/varz` object.
pub fn build(m: &Monitor) -> Result<Varz, String> {
    let snaps = m.gather(Want {
        leafs: Some(false),
        routes: Some(SubsMode::None),
        ..Want::default()
    })?;
    let first = snaps.first().ok_or("no shards")?;
    let settings = first.settings.clone();
    let auth = first.auth.clone();
    let now_ns = unix_now_ns();
    let mut v = Varz {
        server_id: settings.server_id.clone(),
        server_name: settings.server_name.clone(),
        version: crate::settings::VERSION.to_string(),
        proto: 1,
        go: "corenats".to_string(),
        host: settings.info_host.clone(),
        port: settings.port,
        auth_required: auth.auth_required(),
        max_connections: settings.max_connections,
        max_subscriptions: settings.max_subscriptions as u64,
        ping_interval: settings.ping_interval.as_nanos() as u64,
        ping_max: settings.ping_max,
        http_host: m.http_host.clone(),
        http_port: m.http_port,
        https_port: m.https_port,
        tls_required: settings.tls.is_some() && !settings.allow_non_tls,
        tls_verify: settings.tls.as_ref().is_some_and(|t| t.verify),
        http_base_path: m.http_base_path.clone(),
        auth_timeout: auth.auth_timeout().as_secs_f64(),
        max_control_line: settings.max_control_line,
        max_payload: settings.max_payload,
        max_pending: settings.max_pending as u64,
        tls_timeout: settings
            .tls
            .as_ref()
            .map_or(crate::config::defaults::DEFAULT_TLS_TIMEOUT, |t| t.timeout)
            .as_secs_f64(),
        write_deadline: settings.write_deadline.as_nanos() as u64,
        start: rfc3339(m.start_ns),
        now: rfc3339(now_ns),
        uptime: uptime(m.started.elapsed().as_nanos() as u64),
        mem: rss_bytes(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        gomaxprocs: snaps.len(),
        cpu: m.cpu_percent(),
        http_req_stats: m.req_stats(),
        config_load_time: rfc3339(m.config_load_ns(&settings)),
        config_digest: settings.config_digest.clone(),
        system_account: auth
            .accounts
            .iter()
            .find(|a| a.is_system)
            .map(|a| a.name.clone()),
        leaf: leaf_varz(&settings),
        ..Varz::default()
    };
    if let Some(p) = snaps.iter().map(|s| s.leaf_port).find(|p| *p != 0) {
        v.leaf.port = p;
    }
    if let Some(c) = snaps.iter().find_map(|s| s.cluster.as_ref()) {
        v.cluster = cluster_varz(&settings, c);
        v.connect_urls = c.connect_urls.clone();
    }
    for s in &snaps {
        v.connections += s.conns;
        v.total_connections += s.stats.total_connections;
        v.in_msgs += s.stats.in_msgs;
        v.in_bytes += s.stats.in_bytes;
        v.out_msgs += s.stats.out_msgs;
        v.out_bytes += s.stats.out_bytes;
        v.slow_consumers += s.stats.slow_consumers;
        v.stale_connections += s.stats.stale_connections;
        v.subscriptions += s.subscriptions;
    }
    // Client figures: the totals without the links' traffic (leaf-node links and routes; no
    // gateways).
    let (mut li, mut lib, mut lo, mut lob) = (0, 0, 0, 0);
    for l in snaps.iter().flat_map(|s| s.leafs.iter()) {
        v.leafnodes += 1;
        (li, lib, lo, lob) = (
            li + l.in_msgs,
            lib + l.in_bytes,
            lo + l.out_msgs,
            lob + l.out_bytes,
        );
    }
    let mut peers = std::collections::HashSet::new();
    for r in snaps.iter().flat_map(|s| s.routes.iter()) {
        v.routes += 1;
        peers.insert(r.remote_id.as_str());
        (li, lib, lo, lob) = (
            li + r.in_msgs,
            lib + r.in_bytes,
            lo + r.out_msgs,
            lob + r.out_bytes,
        );
    }
    v.remotes = peers.len() as u64;
    v.in_client_msgs = v.in_msgs.saturating_sub(li);
    v.in_client_bytes = v.in_bytes.saturating_sub(lib);
    v.out_client_msgs = v.out_msgs.saturating_sub(lo);
    v.out_client_bytes = v.out_bytes.saturating_sub(lob);
    v.slow_consumer_stats.clients = v.slow_consumers;
    v.stale_connection_stats.clients = v.stale_connections;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a cluster the section is `{}`; with one, nats-server's keys in its order, unset ones
    /// left out, and `pool_size` -1 (no pooling).
    #[test]
    fn the_cluster_section_as_nats_server_writes_it() {
        let v = serde_json::to_string(&ClusterVarz::default()).unwrap();
        assert_eq!(v, "{}");
        let c = ClusterVarz {
            name: "c".into(),
            addr: "0.0.0.0".into(),
            cluster_port: 6222,
            auth_timeout: 2.0,
            urls: vec!["10.0.0.2:6222".into()],
            tls_timeout: 2.0,
            pool_size: NO_POOLING,
            ..ClusterVarz::default()
        };
        let v = serde_json::to_string(&c).unwrap();
        assert_eq!(
            v,
            r#"{"name":"c","addr":"0.0.0.0","cluster_port":6222,"auth_timeout":2.0,"urls":["10.0.0.2:6222"],"tls_timeout":2.0,"pool_size":-1}"#
        );
    }

    /// With `cluster { tls }`: `tls_required` and `tls_verify`, the block's timeout, and the
    /// authorization timeout nats-server derives from it (the TLS timeout plus a second).
    #[test]
    fn the_cluster_section_with_tls() {
        let mut cfg = crate::config::Config::default();
        cfg.cluster.port = Some(6222);
        cfg.cluster.tls = Some(crate::config::TlsSpec {
            timeout: Some(std::time::Duration::from_millis(1500)),
            ..Default::default()
        });
        let settings = crate::settings::Settings::from_config(&cfg, "NID", 4222);
        let figures = crate::bus::snapshot::ClusterFigures {
            name: "c".into(),
            port: 6222,
            connect_urls: Vec::new(),
        };
        let v = cluster_varz(&settings, &figures);
        assert!(v.tls_required && v.tls_verify);
        assert_eq!((v.tls_timeout, v.auth_timeout), (1.5, 2.5));
        cfg.cluster.tls = None;
        let settings = crate::settings::Settings::from_config(&cfg, "NID", 4222);
        let v = cluster_varz(&settings, &figures);
        assert!(!v.tls_required && !v.tls_verify);
        assert_eq!((v.tls_timeout, v.auth_timeout), (2.0, 2.0));
    }
}
