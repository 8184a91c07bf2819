//! URLs and `host:port` strings read the way Go's `net/url.Parse` and `net.SplitHostPort` read them, for
//! the settings nats-server hands to those functions (`cluster { routes }`, `--routes`, `--cluster`,
//! `cluster_advertise`): the same strings are accepted, the same ones refused, with Go's texts.
//!
//! Only what these settings need is kept: the scheme, the user information, the host (with its port)
//! and whether there was an authority at all. Paths, queries and fragments are checked, not kept.

/// A parsed URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoUrl {
    /// Lower-cased; empty when the text has none.
    pub scheme: String,
    /// The user name (unescaped), when the URL has a `user[:password]@` part.
    pub user: Option<String>,
    /// The password (unescaped), when the user part has a `:`.
    pub password: Option<String>,
    /// `host:port` as Go's `URL.Host` holds it (unescaped, brackets of an IPv6 literal kept). Empty
    /// without an authority (`localhost:6222` is scheme `localhost` with opaque data `6222`).
    pub host: String,
}

/// Go's `url.Parse`: `Err` carries Go's reason (without its `parse "…": ` prefix, see [`parse_error`]).
pub fn parse(raw: &str) -> Result<GoUrl, String> {
    let (rest, fragment) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    let url = parse_without_fragment(rest)?;
    if let Some(f) = fragment {
        unescape(f, Mode::Other)?;
    }
    Ok(url)
}

/// Go's text for a URL it refuses: `parse "<url>": <reason>`.
pub fn parse_error(raw: &str, reason: &str) -> String {
    format!("parse {raw:?}: {reason}")
}

fn parse_without_fragment(raw: &str) -> Result<GoUrl, String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = GoUrl::default();
    if raw == "*" {
        return Ok(url);
    }
    let (scheme, rest) = scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    // The query is split off (and not checked, as Go does not at this point).
    let rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        &rest[..rest.len() - 1]
    } else {
        rest.split_once('?').map_or(rest, |(r, _)| r)
    };
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            // Opaque data (`mailto:x`, `localhost:6222`): nothing more is checked.
            return Ok(url);
        }
        let first_segment = rest.split('/').next().unwrap_or("");
        if first_segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    let mut path = rest;
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, p) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        path = p;
        authority_into(authority, &mut url)?;
    }
    unescape(path, Mode::Other)?;
    Ok(url)
}

/// Go's `getScheme`: a scheme is letters first, then letters, digits, `+`, `-`, `.`, up to a `:`.
fn scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

/// `[user[:password]@]host[:port]`.
fn authority_into(authority: &str, url: &mut GoUrl) -> Result<(), String> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    url.host = host_of(host)?;
    if let Some(info) = userinfo {
        if !valid_userinfo(info) {
            return Err("net/url: invalid userinfo".into());
        }
        match info.split_once(':') {
            Some((u, p)) => {
                url.user = Some(unescape(u, Mode::Other)?);
                url.password = Some(unescape(p, Mode::Other)?);
            }
            None => url.user = Some(unescape(info, Mode::Other)?),
        }
    }
    Ok(())
}

/// Go's `parseHost`: the port after the last `:` (after the `]` of an IPv6 literal) must be digits,
/// and the host may only hold the characters a host may hold.
fn host_of(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(end) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let colon_port = &host[end + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {colon_port:?} after host"));
        }
        // An IPv6 zone (`%25eth0`) may hold more characters than a host (checked loosely here: only
        // its escapes).
        if let Some(zone) = host[..end].find("%25") {
            let mut out = unescape(&host[..zone], Mode::Host)?;
            out.push_str(&unescape(&host[zone..end], Mode::Other)?);
            out.push_str(&unescape(&host[end..], Mode::Host)?);
            return Ok(out);
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {colon_port:?} after host"));
        }
    }
    unescape(host, Mode::Host)
}

/// Empty, or `:` followed by digits only.
fn valid_optional_port(colon_port: &str) -> bool {
    match colon_port.strip_prefix(':') {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
        None => colon_port.is_empty(),
    }
}

/// The characters RFC 3986 allows in user information (escapes included), as Go checks them.
fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A host name: only some ASCII characters may appear unescaped, and an escape may only stand
    /// for a non-ASCII byte (`%25` excepted).
    Host,
    /// Any other part: only the escapes are checked.
    Other,
}

/// Go's `unescape`: `%XX` escapes decoded, a malformed one refused (`invalid URL escape "%zz"`).
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |k: usize| b.get(k).is_some_and(|c| c.is_ascii_hexdigit());
                if !(hex(i + 1) && hex(i + 2)) {
                    let end = (i + 3).min(b.len());
                    let bad = String::from_utf8_lossy(&b[i..end]);
                    return Err(format!("invalid URL escape {bad:?}"));
                }
                let v = u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(0);
                if mode == Mode::Host && v < 0x80 && &s[i..i + 3] != "%25" {
                    return Err(format!("invalid URL escape {:?}", &s[i..i + 3]));
                }
                out.push(v);
                i += 3;
            }
            c => {
                if mode == Mode::Host && c < 0x80 && !host_char(c) {
                    return Err(format!(
                        "invalid character {:?} in host name",
                        char::from(c).to_string()
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// ASCII characters a host may hold unescaped (Go's `shouldEscape` in host mode).
fn host_char(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
                | b'-'
                | b'_'
                | b'.'
                | b'~'
        )
}

/// Go's `net.SplitHostPort`, with Go's error texts (`address h: missing port in address`).
pub fn split_host_port(hostport: &str) -> Result<(String, String), String> {
    let err = |why: &str| {
        if hostport.is_empty() {
            Err(why.to_string())
        } else {
            Err(format!("address {hostport}: {why}"))
        }
    };
    let Some(last_colon) = hostport.rfind(':') else {
        return err("missing port in address");
    };
    let (host, after_host) = if hostport.starts_with('[') {
        let Some(end) = hostport.find(']') else {
            return err("missing ']' in address");
        };
        if end + 1 == hostport.len() {
            return err("missing port in address");
        }
        if end + 1 != last_colon {
            return if hostport.as_bytes()[end + 1] == b':' {
                err("too many colons in address")
            } else {
                err("missing port in address")
            };
        }
        (&hostport[1..end], end + 1)
    } else {
        let host = &hostport[..last_colon];
        if host.contains(':') {
            return err("too many colons in address");
        }
        (host, 0)
    };
    let from = usize::from(hostport.starts_with('['));
    if hostport[from..].contains('[') {
        return err("unexpected '[' in address");
    }
    if hostport[after_host..].contains(']') {
        return err("unexpected ']' in address");
    }
    Ok((host.to_string(), hostport[last_colon + 1..].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_go_accepts() {
        let u = parse("nats-route://ruser:T0p%40ss@127.0.0.1:6222/").unwrap();
        assert_eq!(u.scheme, "nats-route");
        assert_eq!(u.user.as_deref(), Some("ruser"));
        assert_eq!(u.password.as_deref(), Some("T0p@ss"));
        assert_eq!(u.host, "127.0.0.1:6222");
        let u = parse("NATS://[::1]:6222").unwrap();
        assert_eq!((u.scheme.as_str(), u.host.as_str()), ("nats", "[::1]:6222"));
        // Opaque: a scheme `localhost` and no host at all.
        let u = parse("localhost:6222").unwrap();
        assert_eq!((u.scheme.as_str(), u.host.as_str()), ("localhost", ""));
        assert_eq!(parse("//h:1").unwrap().host, "h:1");
        assert_eq!(parse("").unwrap(), GoUrl::default());
        assert_eq!(parse("nats://u@h:1").unwrap().password, None);
        assert!(parse("nats://h:1/path?q#frag").is_ok());
    }

    #[test]
    fn urls_go_refuses_with_gos_reasons() {
        for (raw, want) in [
            (
                "127.0.0.1:6222",
                "first path segment in URL cannot contain colon",
            ),
            ("://h:1", "missing protocol scheme"),
            ("nats://h:x", "invalid port \":x\" after host"),
            ("nats://[::1:6222", "missing ']' in host"),
            ("nats://a b:1", "invalid character \" \" in host name"),
            ("nats://u%zz:p@h:1", "invalid URL escape \"%zz\""),
            ("nats://u^:p@h:1", "net/url: invalid userinfo"),
            ("nats://h:1\n", "net/url: invalid control character in URL"),
            ("nats://h:1/%", "invalid URL escape \"%\""),
        ] {
            assert_eq!(parse(raw), Err(want.to_string()), "{raw}");
        }
        assert_eq!(
            parse_error("nats://h:x", "invalid port \":x\" after host"),
            "parse \"nats://h:x\": invalid port \":x\" after host"
        );
    }

    #[test]
    fn host_port_as_go_splits_it() {
        let ok = |s: &str| split_host_port(s).unwrap();
        assert_eq!(ok("h:1"), ("h".to_string(), "1".to_string()));
        assert_eq!(ok("[::1]:1"), ("::1".to_string(), "1".to_string()));
        assert_eq!(ok(":1"), (String::new(), "1".to_string()));
        assert_eq!(
            split_host_port("h"),
            Err("address h: missing port in address".into())
        );
        assert_eq!(split_host_port(""), Err("missing port in address".into()));
        assert_eq!(
            split_host_port("::1:1"),
            Err("address ::1:1: too many colons in address".into())
        );
        assert_eq!(
            split_host_port("[::1]"),
            Err("address [::1]: missing port in address".into())
        );
    }
}
