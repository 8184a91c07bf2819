//! The route CONNECT: the first op of a dialling side (`name` is its server id), and the checks the
//! accepting side makes on one (nats-server's `processRouteConnect`), including the certificate
//! name check of `verify_cert_and_check_known_urls` ([`dns_alt_name_matches`]).

use serde::{Deserialize, Serialize};

/// A route CONNECT, both directions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RouteConnect {
    #[serde(default)]
    pub echo: bool,
    #[serde(default)]
    pub verbose: bool,
    #[serde(default)]
    pub pedantic: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    #[serde(default)]
    pub tls_required: bool,
    #[serde(default)]
    pub headers: bool,
    /// The dialling server's id.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub cluster: String,
    #[serde(default)]
    pub cluster_dynamic: bool,
    /// Set only by clients: a client on the route port.
    #[serde(default, skip_serializing)]
    pub lang: Option<String>,
    /// Set only by gateways.
    #[serde(default, skip_serializing)]
    pub gateway: Option<String>,
}

/// Why a CONNECT on the route port is refused, with nats-server's words.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not JSON (or not a CONNECT object).
    Parse(String),
    /// A client's CONNECT (`lang` set) on the route port.
    ClientOnRoutePort,
    /// A gateway's CONNECT.
    Gateway,
    /// Wrong user or password.
    Authorization,
}

impl RouteConnect {
    /// `CONNECT {json}\r\n`.
    pub fn line(&self) -> Vec<u8> {
        let mut out = b"CONNECT ".to_vec();
        out.extend_from_slice(&serde_json::to_vec(self).unwrap_or_default());
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Parses a peer's CONNECT and checks it against the cluster's `authorization` (None: any).
    pub fn check(
        json: &[u8],
        user: Option<&str>,
        password: Option<&str>,
    ) -> Result<RouteConnect, Refusal> {
        let c: RouteConnect =
            serde_json::from_slice(json).map_err(|e| Refusal::Parse(e.to_string()))?;
        if c.lang.is_some() {
            return Err(Refusal::ClientOnRoutePort);
        }
        if c.gateway.as_deref().is_some_and(|g| !g.is_empty()) {
            return Err(Refusal::Gateway);
        }
        if let Some(u) = user {
            let ok = c.user.as_deref() == Some(u) && c.pass.as_deref() == password;
            if !ok {
                return Err(Refusal::Authorization);
            }
        }
        Ok(c)
    }
}

/// nats-server's `dnsAltNameMatches` (RFC 6125 6.4.1): a certificate's DNS name `san` names one of
/// `hosts` (the configured route URLs' hosts), label by label and case-insensitively; a `*` matches
/// exactly one label, and only as the left-most one.
pub fn dns_alt_name_matches(san: &str, hosts: &[String]) -> bool {
    let san = san.to_ascii_lowercase();
    let want: Vec<&str> = san.split('.').collect();
    hosts.iter().any(|host| {
        let host = host.to_ascii_lowercase();
        let labels: Vec<&str> = host.split('.').collect();
        if labels.len() != want.len() {
            return false;
        }
        let skip = usize::from(want[0] == "*");
        want.iter().zip(&labels).skip(skip).all(|(a, b)| a == b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_names_match_route_hosts_as_nats_servers() {
        let hosts = vec!["Node1.Example.com".to_string(), "127.0.0.1".to_string()];
        assert!(dns_alt_name_matches("node1.example.COM", &hosts));
        assert!(dns_alt_name_matches("*.example.com", &hosts));
        // `*` is one label, the left-most only.
        assert!(!dns_alt_name_matches("*.com", &hosts));
        assert!(!dns_alt_name_matches("node1.*.com", &hosts));
        assert!(!dns_alt_name_matches("node2.example.com", &hosts));
        assert!(!dns_alt_name_matches("example.com", &hosts));
        assert!(dns_alt_name_matches("127.0.0.1", &hosts));
        assert!(!dns_alt_name_matches("anything", &[]));
    }

    #[test]
    fn checks_in_nats_server_order() {
        let ok = RouteConnect {
            user: Some("r".into()),
            pass: Some("p".into()),
            name: "NID".into(),
            cluster: "c".into(),
            headers: true,
            ..RouteConnect::default()
        };
        let line = ok.line();
        let json = &line[8..line.len() - 2];
        assert_eq!(
            RouteConnect::check(json, Some("r"), Some("p"))
                .unwrap()
                .name,
            "NID"
        );
        assert_eq!(
            RouteConnect::check(json, Some("r"), Some("x")),
            Err(Refusal::Authorization)
        );
        assert!(RouteConnect::check(json, None, None).is_ok());
        assert_eq!(
            RouteConnect::check(br#"{"lang":"go","verbose":false}"#, None, None),
            Err(Refusal::ClientOnRoutePort)
        );
        assert_eq!(
            RouteConnect::check(br#"{"gateway":"g"}"#, None, None),
            Err(Refusal::Gateway)
        );
        assert!(matches!(
            RouteConnect::check(b"garbage", None, None),
            Err(Refusal::Parse(_))
        ));
    }
}
