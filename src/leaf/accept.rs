//! The accepting side of a leaf-node link (corenats as the hub), as pure code: the INFO a hub sends a
//! leaf node (at accept, and the `connect_info` one answering its CONNECT), and the CONNECT a leaf
//! node sends, with nats-server's checks on it (`leafnode.go` `processLeafNodeConnect`).

use super::hub_info::SubjectRules;
use serde::{Deserialize, Serialize};

/// The INFO a hub sends on its leaf-node port. nats-server leaves check `client_id` and
/// `leafnode_urls` (else "attempted to connect to wrong port"); `compression` is never sent, so a
/// leaf never compresses.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LeafPortInfo {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub go: String,
    pub host: String,
    pub port: u16,
    pub headers: bool,
    /// Always true on a leaf port (nats-server's).
    pub auth_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_verify: bool,
    pub max_payload: i64,
    /// 2: no message tracing.
    pub proto: i32,
    /// A second INFO follows the leaf's CONNECT.
    pub info_on_connect: bool,
    pub leafnode_urls: Vec<String>,
    pub client_id: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub connect_info: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_account: Option<String>,
    /// The leaf user's subscribe permissions (what the leaf may receive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<SubjectRules>,
    /// The leaf user's publish permissions (what the leaf may send).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<SubjectRules>,
}

impl LeafPortInfo {
    /// `INFO {json} \r\n`.
    pub fn line(&self) -> Vec<u8> {
        let mut out = b"INFO ".to_vec();
        out.extend_from_slice(&serde_json::to_vec(self).unwrap_or_default());
        out.extend_from_slice(b" \r\n");
        out
    }
}

/// A leaf node's CONNECT, as far as the hub uses it. Unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct SpokeConnect {
    #[serde(default)]
    pub server_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub cluster: String,
    #[serde(default)]
    pub headers: bool,
    #[serde(default)]
    pub remote_account: String,
    /// The leaf's `deny_imports`: what we must not send it.
    #[serde(default)]
    pub deny_pub: Vec<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub pass: Option<String>,
    #[serde(default)]
    pub auth_token: Option<String>,
    #[serde(default)]
    pub nkey: Option<String>,
    #[serde(default)]
    pub sig: Option<String>,
    #[serde(default)]
    pub jwt: Option<String>,
    /// Set only by clients.
    #[serde(default)]
    pub lang: Option<String>,
    /// The leaf wants to be the hub: not supported here.
    #[serde(default)]
    pub is_hub: bool,
    #[serde(default)]
    pub gateway: Option<String>,
}

/// Why a leaf's CONNECT is refused, with nats-server's `-ERR` text.
#[derive(Debug, PartialEq, Eq)]
pub enum SpokeRefusal {
    Parse(String),
    /// A client on the leaf port.
    ClientOnLeafPort,
    /// The leaf's cluster has our cluster's name.
    SameClusterName,
    /// The leaf's cluster name has a space.
    ClusterNameSpaces,
    Gateway,
}

impl SpokeRefusal {
    pub fn text(&self) -> String {
        match self {
            SpokeRefusal::Parse(e) => format!("Invalid leafnode CONNECT: {e}"),
            SpokeRefusal::ClientOnLeafPort => "attempted to connect to leaf node port".into(),
            SpokeRefusal::SameClusterName => "remote leafnode has same cluster name".into(),
            SpokeRefusal::ClusterNameSpaces => "cluster name cannot contain spaces".into(),
            SpokeRefusal::Gateway => {
                "Rejecting connection from gateway on the Leafnode port".into()
            }
        }
    }
}

impl SpokeConnect {
    /// Parses a leaf's CONNECT and makes nats-server's checks (`our_cluster`: our cluster name, if
    /// we are in one).
    pub fn check(json: &[u8], our_cluster: Option<&str>) -> Result<SpokeConnect, SpokeRefusal> {
        let c: SpokeConnect =
            serde_json::from_slice(json).map_err(|e| SpokeRefusal::Parse(e.to_string()))?;
        if c.lang.as_deref().is_some_and(|l| !l.is_empty()) {
            return Err(SpokeRefusal::ClientOnLeafPort);
        }
        if c.gateway.as_deref().is_some_and(|g| !g.is_empty()) {
            return Err(SpokeRefusal::Gateway);
        }
        if c.cluster.contains(' ') {
            return Err(SpokeRefusal::ClusterNameSpaces);
        }
        if our_cluster.is_some_and(|ours| !c.cluster.is_empty() && c.cluster == ours) {
            return Err(SpokeRefusal::SameClusterName);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_connect_is_read_and_checked() {
        let leaf = br#"{"version":"2.15.1","server_id":"NL","name":"edge","headers":true,
            "remote_account":"A","deny_pub":["x.>"],"user":"u","pass":"p","protocol":2,"isolate":false}"#;
        let c = SpokeConnect::check(leaf, Some("hubc")).unwrap();
        assert_eq!((c.name.as_str(), c.user.as_deref()), ("edge", Some("u")));
        assert_eq!(c.deny_pub, vec!["x.>".to_string()]);
        assert_eq!(
            SpokeConnect::check(br#"{"lang":"go"}"#, None),
            Err(SpokeRefusal::ClientOnLeafPort)
        );
        assert_eq!(
            SpokeConnect::check(br#"{"cluster":"hubc"}"#, Some("hubc")),
            Err(SpokeRefusal::SameClusterName)
        );
        assert!(SpokeConnect::check(b"nope", None).is_err());
    }

    #[test]
    fn the_leaf_port_info_has_what_leaves_require() {
        let i = LeafPortInfo {
            server_id: "N".into(),
            client_id: 3,
            leafnode_urls: vec!["127.0.0.1:7422".into()],
            auth_required: true,
            info_on_connect: true,
            nonce: "abc".into(),
            ..LeafPortInfo::default()
        };
        let line = String::from_utf8(i.line()).unwrap();
        let back = crate::leaf::hub_info::HubInfo::parse(
            line.trim_start_matches("INFO ").trim_end().as_bytes(),
        )
        .unwrap();
        assert!(back.is_leaf_port() && back.info_on_connect);
        assert!(!line.contains("compression") && !line.contains("connect_info"));
    }
}
