//! What a hub's INFO tells a soliciting leaf (nats-server's `Info` fields that matter on this side),
//! and nats-server's wrong-port guard: the first INFO must come from a leaf-node listener.

use serde::{Deserialize, Serialize};

/// Publish or subscribe rules the hub gives the leaf user (`import`/`export` of the `connect_info`
/// INFO): the hub closes the link on the first violation, so the leaf applies them before sending.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubjectRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<Vec<String>>,
}

/// The hub's INFO, as far as a soliciting leaf uses it. Unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HubInfo {
    #[serde(default)]
    pub server_id: String,
    #[serde(default)]
    pub server_name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default, rename = "client_id")]
    pub cid: u64,
    /// `None` when absent or null: a client port sends none.
    #[serde(default)]
    pub leafnode_urls: Option<Vec<String>>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub headers: bool,
    #[serde(default)]
    pub tls_required: bool,
    #[serde(default)]
    pub auth_required: bool,
    #[serde(default)]
    pub max_payload: i64,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    /// The hub will send a second INFO (`connect_info: true`) after our CONNECT.
    #[serde(default)]
    pub info_on_connect: bool,
    #[serde(default)]
    pub connect_info: bool,
    /// The leaf user's subscribe permissions on the hub (what we may receive: our interest).
    #[serde(default)]
    pub import: Option<SubjectRules>,
    /// The leaf user's publish permissions on the hub (what we may send).
    #[serde(default)]
    pub export: Option<SubjectRules>,
    #[serde(default)]
    pub remote_account: Option<String>,
    #[serde(default)]
    pub compression: Option<String>,
}

impl HubInfo {
    pub fn parse(json: &[u8]) -> Result<HubInfo, String> {
        serde_json::from_slice(json).map_err(|e| format!("invalid INFO from the hub: {e}"))
    }

    /// nats-server's guard on the first INFO of a solicited link: a leaf-node listener always sends a
    /// non-zero `client_id` and a `leafnode_urls` list; a client or route port does not.
    pub fn is_leaf_port(&self) -> bool {
        self.cid != 0 && self.leafnode_urls.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_hub_info_and_spots_a_client_port() {
        let hub = br#"{"server_id":"NABC","server_name":"hub","version":"2.15.1","headers":true,
            "auth_required":true,"max_payload":1048576,"info_on_connect":true,"client_id":7,
            "leafnode_urls":["127.0.0.1:7422"],"nonce":"xyz","proto":3,"api_lvl":3}"#;
        let i = HubInfo::parse(hub).unwrap();
        assert!(i.is_leaf_port() && i.info_on_connect && i.headers);
        assert_eq!(i.nonce.as_deref(), Some("xyz"));
        let client = br#"{"server_id":"N","client_id":5,"headers":true}"#;
        assert!(!HubInfo::parse(client).unwrap().is_leaf_port());
        let ci = br#"{"connect_info":true,"remote_account":"$G",
            "import":{"allow":["bar","_INBOX.>"]},"export":{"allow":["foo"],"deny":["x"]}}"#;
        let i = HubInfo::parse(ci).unwrap();
        assert!(i.connect_info);
        assert_eq!(
            i.export,
            Some(SubjectRules {
                allow: Some(vec!["foo".into()]),
                deny: Some(vec!["x".into()])
            })
        );
        assert!(HubInfo::parse(b"not json").is_err());
    }
}
