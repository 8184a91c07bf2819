//! Which endpoint answers which path (under `http_base_path`), plus the two smallest endpoints: the HTML
//! index `/` and `/healthz`. Also the shared helpers for query parameters with nats-server's error texts
//! and for JSON responses (pretty-printed as nats-server does, JSONP via `callback=`).

use super::http::{Request, Response, HTML, JSON};
use super::Monitor;
use crate::bus::snapshot::{SubsMode, Want};
use serde::Serialize;

/// Every endpoint, by its path below the base path, and the key it counts under in `http_req_stats`.
const ENDPOINTS: &[(&str, &str)] = &[
    ("/varz", "/varz"),
    ("/connz", "/connz"),
    ("/subsz", "/subsz"),
    ("/subscriptionsz", "/subsz"),
    ("/accountz", "/accountz"),
    ("/accstatz", "/accstatz"),
    ("/leafz", "/leafz"),
    ("/routez", "/routez"),
    ("/healthz", "/healthz"),
    ("/metrics", "/metrics"),
];

/// Answers one request.
pub fn handle(m: &Monitor, req: &Request) -> Response {
    let Some(rest) = below_base(&m.base, &req.path) else {
        return Response::text(404, "404 page not found\n");
    };
    if rest.is_empty() || rest == "/" {
        m.count_request("/");
        return root(m);
    }
    let Some(&(path, key)) = ENDPOINTS.iter().find(|(p, _)| *p == rest) else {
        return Response::text(404, "404 page not found\n");
    };
    m.count_request(key);
    match path {
        "/varz" => super::varz::handle(m, req),
        "/connz" => super::connz::handle(m, req),
        "/subsz" | "/subscriptionsz" => super::subsz::handle(m, req),
        "/accountz" => super::accounts::accountz(m, req),
        "/accstatz" => super::accounts::accstatz(m, req),
        "/leafz" => super::leafz::handle(m, req),
        "/routez" => super::routez::handle(m, req),
        "/healthz" => healthz(m, req),
        "/metrics" => super::metrics::handle(m),
        _ => Response::text(404, "404 page not found\n"),
    }
}

/// The part of `path` below `base`, if it is below it.
fn below_base<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    let rest = path.strip_prefix(base)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

fn root(m: &Monitor) -> Response {
    let mut html = String::from(
        "<html lang=\"en\">\n<head><title>corenats monitoring</title></head>\n<body>\n<h1>corenats</h1>\n",
    );
    html.push_str(&format!("<p>v{}</p>\n", crate::settings::VERSION));
    for (name, path) in [
        ("General", "/varz"),
        ("Connections", "/connz"),
        ("Accounts", "/accountz"),
        ("Account Stats", "/accstatz"),
        ("Subscriptions", "/subsz"),
        ("Routes", "/routez"),
        ("LeafNodes", "/leafz"),
        ("Health Probe", "/healthz"),
        ("Metrics", "/metrics"),
    ] {
        html.push_str(&format!(
            "<a href=\".{}{}\">{}</a><br/>\n",
            m.base, path, name
        ));
    }
    html.push_str("</body>\n</html>\n");
    Response::new(200, HTML, html.into_bytes())
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `{"status":"ok"}` while serving; 503 with `status`/`error` in lame duck or when shards do not answer.
fn healthz(m: &Monitor, req: &Request) -> Response {
    // nats-server's options (JetStream checks; corenats has no JetStream, so they only have to
    // be well-formed).
    for key in [
        "js-enabled",
        "js-enabled-only",
        "js-server-only",
        "js-meta-only",
        "details",
    ] {
        if let Err(bad) = param_bool(req, key) {
            return bad;
        }
    }
    let err = match m.gather(Want::default()) {
        Ok(snaps) if snaps.iter().any(|s| s.draining) => Some("lame duck mode".to_string()),
        Ok(_) => None,
        Err(e) => Some(e),
    };
    match err {
        None => json(
            req,
            200,
            &Health {
                status: "ok",
                status_code: None,
                error: None,
            },
        ),
        Some(e) => json(
            req,
            503,
            &Health {
                status: "unavailable",
                status_code: Some(503),
                error: Some(e),
            },
        ),
    }
}

/// A JSON response (JSONP when `callback` names a plain JavaScript identifier).
pub fn json<T: Serialize>(req: &Request, status: u16, v: &T) -> Response {
    let body = match serde_json::to_vec_pretty(v) {
        Ok(b) => b,
        Err(e) => return Response::text(500, format!("Error marshaling response: {e}")),
    };
    if let Some(cb) = req.param("callback").filter(|c| is_identifier(c)) {
        let mut out = Vec::with_capacity(body.len() + cb.len() + 2);
        out.extend_from_slice(cb.as_bytes());
        out.push(b'(');
        out.extend_from_slice(&body);
        out.push(b')');
        return Response::new(status, "application/javascript", out);
    }
    Response::new(status, JSON, body)
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.')
}

/// A 503 for endpoints whose shards did not answer in time.
pub fn unavailable(e: String) -> Response {
    Response::text(503, e)
}

/// A parameter's value quoted as Go's `%q` quotes it, for error texts.
fn quoted(req: &Request, key: &str) -> String {
    let mut out = Vec::new();
    crate::protocol::go_quote(req.param_bytes(key).unwrap_or_default(), &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// nats-server's text for a parameter Go's `strconv` refused: `Error decoding <kind> for '<key>':
/// strconv.<func>: parsing "<value>": <why>`.
fn decode_error(req: &Request, key: &str, kind: &str, func: &str, why: &str) -> Response {
    let v = quoted(req, key);
    Response::text(
        400,
        format!("Error decoding {kind} for '{key}': strconv.{func}: parsing {v}: {why}"),
    )
}

/// Go's `strconv` reason for a number it cannot parse: digits that do not fit are "value out of
/// range", anything else "invalid syntax".
fn number_error(v: &str, signed: bool) -> &'static str {
    let digits = v.strip_prefix(['+', '-']).filter(|_| signed).unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        "value out of range"
    } else {
        "invalid syntax"
    }
}

/// Go's `strconv.ParseBool` with nats-server's error text; absent or empty = false.
pub fn param_bool(req: &Request, key: &str) -> Result<bool, Response> {
    match req.param(key).unwrap_or("") {
        "" => Ok(false),
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(decode_error(
            req,
            key,
            "boolean",
            "ParseBool",
            "invalid syntax",
        )),
    }
}

/// Go's `strconv.Atoi` with nats-server's error text; absent or empty = 0.
pub fn param_int(req: &Request, key: &str) -> Result<i64, Response> {
    match req.param(key).unwrap_or("") {
        "" => Ok(0),
        v => v
            .parse::<i64>()
            .map_err(|_| decode_error(req, key, "int", "Atoi", number_error(v, true))),
    }
}

/// Go's `strconv.ParseUint` with nats-server's error text; absent or empty = 0.
pub fn param_u64(req: &Request, key: &str) -> Result<u64, Response> {
    match req.param(key).unwrap_or("") {
        "" => Ok(0),
        v if v.starts_with('+') => Err(decode_error(
            req,
            key,
            "uint64",
            "ParseUint",
            "invalid syntax",
        )),
        v => v
            .parse::<u64>()
            .map_err(|_| decode_error(req, key, "uint64", "ParseUint", number_error(v, false))),
    }
}

/// `subs` as nats-server's `decodeSubs` reads it: `detail` (any case) for records, else a boolean
/// for subjects.
pub fn param_subs(req: &Request) -> Result<SubsMode, Response> {
    if req
        .param("subs")
        .is_some_and(|s| s.eq_ignore_ascii_case("detail"))
    {
        Ok(SubsMode::Detail)
    } else if param_bool(req, "subs")? {
        Ok(SubsMode::List)
    } else {
        Ok(SubsMode::None)
    }
}

/// A non-empty string parameter.
pub fn param_str(req: &Request, key: &str) -> Option<String> {
    req.param(key).filter(|v| !v.is_empty()).map(str::to_string)
}

/// `offset` and `limit` as nats-server clamps them (offset >= 0, limit <= 0 means the default), and
/// limit at most [`super::MAX_LIST_SIZE`] (nats-server takes any).
pub fn paging(req: &Request) -> Result<(usize, usize), Response> {
    let offset = param_int(req, "offset")?.max(0) as usize;
    let limit = match param_int(req, "limit")? {
        l if l <= 0 => super::DEFAULT_LIST_SIZE,
        l => (l as u64).min(super::MAX_LIST_SIZE as u64) as usize,
    };
    Ok((offset, limit))
}

/// `v[offset .. offset + limit]`, clamped.
pub fn page<T>(mut v: Vec<T>, offset: usize, limit: usize) -> Vec<T> {
    let start = offset.min(v.len());
    let end = offset.saturating_add(limit).min(v.len());
    v.truncate(end);
    v.drain(..start);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            query: q
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            raw_values: q.iter().map(|(_, v)| v.as_bytes().to_vec()).collect(),
        }
    }

    #[test]
    fn base_path_routing() {
        assert_eq!(below_base("", "/varz"), Some("/varz"));
        assert_eq!(below_base("/mon", "/mon/varz"), Some("/varz"));
        assert_eq!(below_base("/mon", "/mon"), Some(""));
        assert_eq!(below_base("/mon", "/monx/varz"), None);
        assert_eq!(below_base("/mon", "/varz"), None);
    }

    #[test]
    fn params_follow_go_parsing() {
        assert_eq!(param_bool(&req(&[("a", "true")]), "a").ok(), Some(true));
        assert_eq!(param_bool(&req(&[("a", "0")]), "a").ok(), Some(false));
        assert_eq!(param_bool(&req(&[]), "a").ok(), Some(false));
        let e = param_bool(&req(&[("a", "yes")]), "a").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(
            String::from_utf8(e.body).unwrap(),
            "Error decoding boolean for 'a': strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
        assert_eq!(param_int(&req(&[("n", "-3")]), "n").ok(), Some(-3));
        assert!(param_int(&req(&[("n", "x")]), "n").is_err());
        assert!(param_u64(&req(&[("n", "-1")]), "n").is_err());
        assert_eq!(
            paging(&req(&[("offset", "-5"), ("limit", "0")])).ok(),
            Some((0, 1024))
        );
        assert_eq!(
            paging(&req(&[("offset", "7"), ("limit", "9223372036854775807")])).ok(),
            Some((7, super::super::MAX_LIST_SIZE))
        );
        assert_eq!(paging(&req(&[("limit", "10000")])).ok(), Some((0, 10_000)));
    }

    #[test]
    fn paging_clamps() {
        let v: Vec<u32> = (0..10).collect();
        assert_eq!(page(v.clone(), 2, 3), vec![2, 3, 4]);
        assert_eq!(page(v.clone(), 8, 5), vec![8, 9]);
        assert!(page(v.clone(), 20, 5).is_empty());
        assert_eq!(page(v, 0, usize::MAX).len(), 10);
    }

    #[test]
    fn jsonp_only_for_identifiers() {
        let r = json(
            &req(&[("callback", "cb")]),
            200,
            &Health {
                status: "ok",
                status_code: None,
                error: None,
            },
        );
        assert_eq!(r.content_type, "application/javascript");
        assert!(r.body.starts_with(b"cb("));
        let r = json(&req(&[("callback", "<script>")]), 200, &1);
        assert_eq!(r.content_type, JSON);
    }
}
