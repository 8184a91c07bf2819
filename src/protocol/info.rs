//! The server's `INFO` (the first bytes on every client socket, and the async INFO after the
//! first PING of a protocol-1 client): the fields of nats-server 2.15's `Info` that concern
//! client connections, serialized in the same key order, optional ones left out when unset.

use serde::Serialize;

use super::writer::write_info;

/// The INFO JSON object. Field order is the wire order of nats-server 2.15.
/// Optional strings are skipped when `None`, flags when false, lists when empty and
/// `client_id`/`api_lvl` when 0 (Go's `omitempty`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    /// 56-char nkey-style server id.
    pub server_id: String,
    /// Defaults to the id.
    pub server_name: String,
    pub version: String,
    /// Protocol version: 1.
    pub proto: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// `go` in nats-server (the Go version); we report our toolchain here.
    pub go: String,
    pub host: String,
    pub port: u16,
    /// Always true: the server supports headers.
    pub headers: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_available: bool,
    /// Server max_payload, or after CONNECT the connection's limit (account limits apply).
    pub max_payload: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub jetstream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub client_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// Present when nkey users exist: 11 random bytes in base64url (15 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// host:port strings of the cluster's client listeners.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ws_connect_urls: Vec<String>,
    /// Lame duck mode.
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    /// True in the INFO answering a protocol-1 client's first PING after CONNECT.
    #[serde(skip_serializing_if = "is_false")]
    pub connect_info: bool,
    /// The account the client was bound to (post-CONNECT INFO).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_account: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub acc_is_sys: bool,
    /// JetStream API level.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub api_lvl: u32,
    /// Server curve (x25519) public key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xkey: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

impl ServerInfo {
    /// The JSON object alone.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Appends the whole `INFO {json} \r\n` line.
    pub fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        let json = self.to_json()?;
        write_info(out, &json);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ServerInfo {
        ServerInfo {
            server_id: "NID".into(),
            server_name: "NID".into(),
            version: "2.15.1".into(),
            proto: 1,
            git_commit: Some("abc".into()),
            go: "go1.24".into(),
            host: "0.0.0.0".into(),
            port: 4222,
            headers: true,
            max_payload: 1048576,
            client_id: 5,
            client_ip: Some("127.0.0.1".into()),
            api_lvl: 1,
            xkey: Some("XKEY".into()),
            ..Default::default()
        }
    }

    #[test]
    fn no_auth_info_in_nats_order() {
        let mut out = Vec::new();
        sample().write_line(&mut out).unwrap();
        let want = concat!(
            r#"INFO {"server_id":"NID","server_name":"NID","version":"2.15.1","proto":1,"#,
            r#""git_commit":"abc","go":"go1.24","host":"0.0.0.0","port":4222,"headers":true,"#,
            r#""max_payload":1048576,"client_id":5,"client_ip":"127.0.0.1","api_lvl":1,"#,
            r#""xkey":"XKEY"} "#,
            "\r\n"
        );
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn optional_fields_in_place() {
        let info = ServerInfo {
            auth_required: true,
            nonce: Some("abcdefghijklmno".into()),
            connect_urls: vec!["10.0.0.1:4222".into()],
            ldm: true,
            connect_info: true,
            remote_account: Some("A".into()),
            acc_is_sys: true,
            git_commit: None,
            ..sample()
        };
        let s = String::from_utf8(info.to_json().unwrap()).unwrap();
        let order = [
            "\"version\"",
            "\"go\"",
            "\"headers\":true",
            "\"auth_required\":true",
            "\"max_payload\"",
            "\"client_id\"",
            "\"client_ip\"",
            "\"nonce\"",
            "\"connect_urls\":[\"10.0.0.1:4222\"]",
            "\"ldm\":true",
            "\"connect_info\":true",
            "\"remote_account\":\"A\"",
            "\"acc_is_sys\":true",
            "\"api_lvl\"",
            "\"xkey\"",
        ];
        let mut last = 0;
        for key in order {
            let at = s
                .find(key)
                .unwrap_or_else(|| panic!("{key} missing in {s}"));
            assert!(at >= last, "{key} out of order in {s}");
            last = at;
        }
        assert!(!s.contains("git_commit"));
        assert!(!s.contains("tls_required"));
    }
}
