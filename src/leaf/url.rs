//! A leaf remote's URL: `[nats-leaf|nats|tls]://[user[:password]@]host[:port]`, port 7422 by default
//! (nats-server's `DEFAULT_LEAFNODE_PORT`). Credentials in the userinfo are the only way to give a
//! remote a user and password (nats-server has no `user`/`password` remote keys); a user without a
//! password is sent as a token too, as nats-server does.

/// nats-server's default leaf-node port.
pub const DEFAULT_LEAF_PORT: u16 = 7422;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl RemoteUrl {
    /// Parses one URL; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<RemoteUrl, String> {
        let s = s.trim();
        let rest = match s.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = scheme.to_ascii_lowercase();
                if !matches!(
                    scheme.as_str(),
                    "nats-leaf" | "nats" | "tls" | "leaf" | "nats-route" | "route"
                ) {
                    return Err(format!("unsupported scheme {scheme:?}"));
                }
                rest
            }
            None => s,
        };
        let rest = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((a, b)) => (Some(unescape(a)?), Some(unescape(b)?)),
                None => (Some(unescape(u)?), None),
            },
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            // [v6]:port
            let (h, after) = h.split_once(']').ok_or("missing ']' in host")?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| format!("invalid port {p:?}"))?,
                None if after.is_empty() => DEFAULT_LEAF_PORT,
                None => return Err(format!("invalid host {hostport:?}")),
            };
            (h.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| format!("invalid port {p:?}"))?,
                ),
                None => (hostport.to_string(), DEFAULT_LEAF_PORT),
            }
        };
        if host.is_empty() {
            return Err("missing host".into());
        }
        Ok(RemoteUrl {
            host,
            port,
            user: user.filter(|u| !u.is_empty()),
            password,
        })
    }

    /// `host:port` for dialling and logs (never the credentials).
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `%XX` escapes in a userinfo part, as Go's `url.Parse` decodes them.
fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or("invalid escape in userinfo")?;
            let v = u8::from_str_radix(hex, 16).map_err(|_| "invalid escape in userinfo")?;
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "userinfo is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_nats_server_reads_them() {
        let u = RemoteUrl::parse("nats-leaf://leaf:s%40cret@hub.example:7423").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.user.as_deref(),
                u.password.as_deref()
            ),
            ("hub.example", 7423, Some("leaf"), Some("s@cret"))
        );
        let u = RemoteUrl::parse("nats://127.0.0.1").unwrap();
        assert_eq!((u.port, u.user), (7422, None));
        let u = RemoteUrl::parse("tok@[::1]:7000").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 7000));
        assert_eq!(u.addr(), "[::1]:7000");
        assert_eq!(u.user.as_deref(), Some("tok"));
        assert!(RemoteUrl::parse("http://x").is_err());
        assert!(RemoteUrl::parse("nats://x:port").is_err());
        assert!(RemoteUrl::parse("nats://:7422").is_err());
    }
}
