//! The CONNECT a soliciting leaf sends its hub (nats-server's `leafConnectInfo`): who we are, the
//! account we bind, header support, our `deny_imports` (as `deny_pub`, so the hub filters too), and
//! the credentials from the remote's URL. Never `lang` (that marks a client on the leaf port) and
//! never `compress_mode` (so the hub never switches the link to S2 compression: it records the peer
//! as not supporting it, as for an older server).

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct LeafConnect<'a> {
    pub version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub server_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub name: &'a str,
    pub headers: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub deny_pub: &'a [String],
    pub remote_account: &'a str,
    /// Our protocol level: 2 (accounts on routes; no message tracing).
    pub protocol: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<&'a str>,
    /// A signed login (`crate::leaf::creds`): the public nkey or the user JWT, and the nonce's
    /// signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nkey: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig: Option<&'a str>,
}

impl LeafConnect<'_> {
    /// The `CONNECT {...}\r\n` line.
    pub fn line(&self) -> Vec<u8> {
        let mut out = b"CONNECT ".to_vec();
        // Serialising plain strings and bools cannot fail.
        out.extend_from_slice(&serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec()));
        out.extend_from_slice(b"\r\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_has_nats_server_field_names_and_leaves_out_the_rest() {
        let deny = vec!["secret.>".to_string()];
        let c = LeafConnect {
            version: "2.15.1",
            server_id: "NID",
            name: "edge",
            headers: true,
            deny_pub: &deny,
            remote_account: "A",
            protocol: 2,
            user: Some("u"),
            pass: None,
            auth_token: Some("u"),
            nkey: None,
            jwt: None,
            sig: None,
        };
        let line = String::from_utf8(c.line()).unwrap();
        assert_eq!(
            line,
            "CONNECT {\"version\":\"2.15.1\",\"server_id\":\"NID\",\"name\":\"edge\",\"headers\":true,\
\"deny_pub\":[\"secret.>\"],\"remote_account\":\"A\",\"protocol\":2,\"user\":\"u\",\"auth_token\":\"u\"}\r\n"
        );
        assert!(!line.contains("lang") && !line.contains("compress"));
    }
}
