//! The route INFO: what we tell a peer (sent at once by the accepting side, after the CONNECT by
//! the dialling side, and forwarded to the other peers when a route registers: gossip), and what a
//! peer's tells us. Field names are nats-server's (`server.go`'s `Info`); unknown fields are ignored.

use serde::{Deserialize, Serialize};

/// A route INFO, both directions. Absent fields read as their defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RouteInfo {
    #[serde(default)]
    pub server_id: String,
    #[serde(default)]
    pub server_name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub go: String,
    /// The route listener's host and port (or the advertised ones).
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub auth_required: bool,
    #[serde(default)]
    pub tls_required: bool,
    #[serde(default)]
    pub tls_verify: bool,
    #[serde(default)]
    pub headers: bool,
    #[serde(default)]
    pub max_payload: i64,
    #[serde(default)]
    pub jetstream: bool,
    /// 2: routes carry accounts (`RouteProtoV2`); message tracing (3) is not spoken.
    #[serde(default)]
    pub proto: i32,
    #[serde(default)]
    pub cluster: String,
    /// The cluster name was made up at start and yields to a peer's configured one.
    #[serde(default, rename = "cluster_dynamic", skip_serializing_if = "is_false")]
    pub dynamic: bool,
    /// The server's client URLs (`host:port`), for clients' server pools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    /// `nats-route://host:port/`: where peers that learn of this server by gossip dial it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip: String,
    /// The server is in lame duck mode (its clients should move).
    #[serde(default, rename = "ldm", skip_serializing_if = "is_false")]
    pub lame_duck: bool,
    /// A pooled peer's pool size (we send none: no pooling); a dedicated account route's account.
    #[serde(default, skip_serializing)]
    pub route_pool_size: i64,
    #[serde(default, skip_serializing)]
    pub route_account: String,
    /// 0 default, 1 disabled, 2 override (nats-server 2.11+): a gossiped INFO says whether the
    /// receiver passes it on.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gossip_mode: u8,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

impl RouteInfo {
    /// Parses an INFO's JSON.
    pub fn parse(json: &[u8]) -> Result<RouteInfo, String> {
        serde_json::from_slice(json).map_err(|e| format!("invalid route INFO: {e}"))
    }

    /// `INFO {json} \r\n` (with nats-server's space before the line end).
    pub fn line(&self) -> Vec<u8> {
        let mut out = b"INFO ".to_vec();
        // Serializing plain strings, numbers and lists cannot fail.
        out.extend_from_slice(&serde_json::to_vec(self).unwrap_or_default());
        out.extend_from_slice(b" \r\n");
        out
    }

    /// Where to dial this server if we learn of it by gossip: its `ip`, else `host:port`.
    pub fn route_url(&self) -> String {
        if !self.ip.is_empty() {
            return self.ip.clone();
        }
        format!("nats-route://{}:{}/", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nats_server_route_info_reads_and_ours_has_no_pool_or_compression() {
        let theirs = br#"{"server_id":"NABC","server_name":"n1","version":"2.15.1","go":"go1.24",
            "host":"127.0.0.1","port":6222,"headers":true,"auth_required":true,"max_payload":1048576,
            "jetstream":true,"proto":3,"cluster":"c1","route_pool_size":3,"lnoc":true,
            "compression":"accept","connect_urls":["127.0.0.1:4222"],"nonce":"xyz","gossip_mode":1}"#;
        let i = RouteInfo::parse(theirs).unwrap();
        assert_eq!(
            (
                i.server_id.as_str(),
                i.port,
                i.route_pool_size,
                i.gossip_mode
            ),
            ("NABC", 6222, 3, 1)
        );
        assert_eq!(i.connect_urls, vec!["127.0.0.1:4222".to_string()]);
        assert_eq!(i.route_url(), "nats-route://127.0.0.1:6222/");
        let ours = RouteInfo {
            server_id: "NME".into(),
            route_pool_size: 3,
            ..RouteInfo::default()
        };
        let line = String::from_utf8(ours.line()).unwrap();
        assert!(
            line.starts_with("INFO {") && line.ends_with("} \r\n"),
            "{line}"
        );
        for absent in [
            "route_pool_size",
            "compression",
            "lnoc",
            "ldm",
            "cluster_dynamic",
        ] {
            assert!(!line.contains(absent), "{absent} in {line}");
        }
        assert!(RouteInfo::parse(b"{nope").is_err());
    }
}
