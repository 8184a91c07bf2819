//! Typed build of `cluster { ... }` into [`ClusterSpec`], read as nats-server's `parseCluster` reads it,
//! and the command-line forms of the same settings (`--cluster`, `--routes`, ..., nats-server's
//! `overrideCluster` and `RoutesFromStr`), which `source.rs` applies over the file.
//!
//! corenats's routes are single, uncompressed connections, as a pre-2.10 server's: `pool_size`,
//! `accounts` (pinned accounts), `compression` and the route keep-alive and write settings are read
//! and ignored with a warning. `permissions` is an error until it is implemented: a cluster that
//! silently ran without its permissions would be worse than none. `tls` is read as nats-server
//! reads it (a server-to-server block: `verify_cert_and_check_known_urls` is allowed); its files
//! are loaded by `crate::tls::compile::routes`.

use std::time::Duration;

use super::build::{listen, Ctx};
use super::go_url;
use super::schema::{ClusterSpec, Span};
use super::value::{Entry, Kind};

/// Keys nats-server knows that corenats cannot honour yet (errors).
const NOT_YET: &[&str] = &["permissions"];

/// Keys nats-server knows that corenats reads and ignores (warnings).
const IGNORED: &[&str] = &[
    "pool_size",
    "accounts",
    "compression",
    "ping_interval",
    "ping_max",
    "write_deadline",
    "write_timeout",
    "connect_backoff",
];

/// nats-server's text for a cluster name with a space (`ErrClusterNameHasSpaces`).
pub const NAME_HAS_SPACES: &str = "cluster name cannot contain spaces";

/// nats-server's text for `--routes` on a server without a route listener; corenats also gives it
/// for a file's `routes` without one (nats-server then silently never dials them).
pub const ROUTES_WITHOUT_LISTENER: &str =
    "solicited routes require cluster capabilities, e.g. --cluster";

/// What the `cluster` block gives.
pub struct Built {
    pub spec: ClusterSpec,
    /// Where `routes` was written (line 0 without it), for [`ROUTES_WITHOUT_LISTENER`].
    pub routes_span: Span,
}

/// `cluster { ... }`.
pub fn cluster(entry: &Entry, ctx: &mut Ctx) -> Option<Built> {
    let map = ctx.map(entry)?;
    let mut spec = ClusterSpec::default();
    let mut routes_span = Span::default();
    for e in &map.entries {
        let key = e.key.to_ascii_lowercase();
        match key.as_str() {
            "name" => match ctx.string(e) {
                Some(n) if n.contains(' ') => ctx.err(&e.key_span, NAME_HAS_SPACES),
                Some(n) => spec.name = (!n.is_empty()).then_some(n),
                None => {}
            },
            "listen" | "port" | "host" | "net" => {
                let default = default_host();
                listener_entry(
                    e,
                    ctx,
                    listener_port,
                    &default,
                    &mut spec.host,
                    &mut spec.port,
                );
            }
            "advertise" | "cluster_advertise" => {
                if let Some(a) = ctx.string(e) {
                    match check_advertise(&a) {
                        Ok(()) => spec.advertise = (!a.is_empty()).then_some(a),
                        Err(msg) => ctx.err(&e.value.span, msg),
                    }
                }
            }
            "no_advertise" => {
                if let Some(b) = ctx.boolean(e) {
                    spec.no_advertise = b;
                }
            }
            "connect_retries" => {
                if let Some(n) = ctx.typed::<i64>(e, "an integer") {
                    spec.connect_retries = connect_retries(n);
                }
            }
            "routes" => {
                routes_span = e.key_span.clone();
                spec.routes = routes(e, ctx);
            }
            "authorization" => authorization(e, &mut spec, ctx),
            "tls" => spec.tls = super::build_tls::cluster_tls(e, ctx),
            k if NOT_YET.contains(&k) => ctx.err(
                &e.key_span,
                format!(
                    "cluster {:?} is not supported by corenats yet (routes would run without it)",
                    e.key
                ),
            ),
            k if IGNORED.contains(&k) => {
                let why = match k {
                    "pool_size" | "accounts" => ": routes are single connections, without pooling",
                    "compression" => ": routes are not compressed",
                    _ => "",
                };
                ctx.warn(
                    &e.key_span,
                    format!(
                        "cluster {:?} is not supported by corenats and is ignored{why}",
                        e.key
                    ),
                );
            }
            _ => ctx.unknown(e),
        }
    }
    Some(Built { spec, routes_span })
}

/// The listener keys `cluster` and `leafnodes` share: `listen` (`host:port` or a port), `port`,
/// `host`/`net` (empty = `default`). `port_of` reads a port as the block allows it (-1 random,
/// 0 none), with the block's own error text.
pub(super) fn listener_entry(
    e: &Entry,
    ctx: &mut Ctx,
    port_of: fn(i64) -> Result<Option<u16>, String>,
    default: &str,
    host: &mut String,
    port: &mut Option<u16>,
) {
    let set_port = |p: i64, ctx: &mut Ctx, port: &mut Option<u16>| match port_of(p) {
        Ok(p) => *port = p,
        Err(msg) => ctx.err(&e.value.span, msg),
    };
    match e.key.to_ascii_lowercase().as_str() {
        "listen" => {
            if let Some((h, p)) = listen(e, ctx) {
                if let Some(h) = h.filter(|h| !h.is_empty()) {
                    *host = h;
                }
                set_port(i64::from(p), ctx, port);
            }
        }
        "port" => {
            if let Some(p) = ctx.typed::<i64>(e, "a port number") {
                set_port(p, ctx, port);
            }
        }
        _ => {
            // `host`/`net`: nats-server listens on its default host when the host is empty.
            if let Some(h) = ctx.string(e) {
                *host = if h.is_empty() { default.to_string() } else { h };
            }
        }
    }
}

fn default_host() -> String {
    ClusterSpec::default().host
}

/// A listener port as written: -1 is a random port (`Some(0)`), 0 no cluster at all (nats-server's
/// `Cluster.Port == 0`).
pub fn listener_port(p: i64) -> Result<Option<u16>, String> {
    match p {
        -1 => Ok(Some(0)),
        0 => Ok(None),
        1..=65535 => Ok(Some(p as u16)),
        _ => Err(format!(
            "invalid cluster port {p}: a port is 1 to 65535, or -1 for a random one"
        )),
    }
}

/// `connect_retries` as nats-server uses it: a negative count is 0 (no retry).
pub fn connect_retries(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// `routes: [url, ...]`: each URL as Go's `url.Parse` takes it (trimmed), a repeated one warned about
/// and dropped (nats-server's `parseURLs`).
fn routes(e: &Entry, ctx: &mut Ctx) -> Vec<String> {
    let Kind::Array(items) = &e.value.kind else {
        ctx.err(
            &e.value.span,
            format!(
                "invalid value for {:?}: expected an array of URLs, got {}",
                e.key,
                e.value.type_name()
            ),
        );
        return Vec::new();
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for item in items {
        let Kind::String(raw) = &item.kind else {
            ctx.err(
                &item.span,
                format!(
                    "invalid value in {:?}: expected a URL string, got {}",
                    e.key,
                    item.type_name()
                ),
            );
            continue;
        };
        if seen.contains(&raw.as_str()) {
            ctx.warn(
                &item.span,
                format!("invalid use of field {raw:?}: Duplicate route entry detected"),
            );
            continue;
        }
        seen.push(raw);
        let url = raw.trim();
        match check_route_url(url) {
            Ok(()) => out.push(url.to_string()),
            Err(msg) => ctx.err(&item.span, msg),
        }
    }
    out
}

/// A route URL: what Go's `url.Parse` refuses is refused with nats-server's text (plus Go's reason).
/// Also refused, where nats-server would retry the dial forever: a URL without a host and port to
/// dial (`localhost:6222` is scheme `localhost` to Go). And what the route dialer cannot read
/// (`crate::leaf::url::RemoteUrl`): a scheme other than `nats-route`, `nats`, `tls` (and the leaf
/// ones it shares), which nats-server would ignore.
pub fn check_route_url(raw: &str) -> Result<(), String> {
    let refused = |why: &str| format!("error parsing route url [{raw:?}]: {why}");
    let url = go_url::parse(raw).map_err(|e| refused(&e))?;
    if url.host.is_empty() {
        return Err(refused(
            "no host and port to connect to (write nats-route://host:port)",
        ));
    }
    let (_, port) = go_url::split_host_port(&url.host).map_err(|e| refused(&e))?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 => {}
        _ => return Err(refused(&format!("invalid port {port:?}"))),
    }
    crate::leaf::url::RemoteUrl::parse(raw)
        .map(|_| ())
        .map_err(|e| refused(&e))
}

/// `advertise`: `host` or `host:port`, as nats-server's `parseHostPort` reads it when it starts the
/// route listener (it refuses to start on a bad one).
pub fn check_advertise(adv: &str) -> Result<(), String> {
    check_host_port(adv)
        .map_err(|err| format!("invalid Cluster.Advertise value of {adv}, err={err}"))
}

/// An `advertise` value (`host` or `host:port`) as nats-server's `parseHostPort` reads it: `Err` is
/// Go's reason. Empty is fine (no advertise).
pub fn check_host_port(adv: &str) -> Result<(), String> {
    if adv.is_empty() {
        return Ok(());
    }
    let split = match go_url::split_host_port(adv) {
        Err(e) if e.contains("missing port in address") => {
            go_url::split_host_port(&format!("{adv}:0"))
        }
        other => other,
    };
    let (_, port) = split?;
    let port = port.trim();
    port.parse::<i64>()
        .map(|_| ())
        .map_err(|_| format!("strconv.Atoi: parsing {port:?}: invalid syntax"))
}

/// `authorization { user, password, timeout }`: what a peer's CONNECT must carry. One user only, as in
/// nats-server (whose errors point at the `authorization` key); its permissions are not implemented yet.
fn authorization(e: &Entry, spec: &mut ClusterSpec, ctx: &mut Ctx) {
    let Some(map) = ctx.map(e) else {
        return;
    };
    let (mut user, mut password, mut timeout) = (None, None, None);
    for a in &map.entries {
        match a.key.to_ascii_lowercase().as_str() {
            "user" | "username" => user = ctx.string(a),
            "pass" | "password" => password = ctx.string(a),
            "timeout" => timeout = super::build_auth::auth_timeout(a, ctx),
            "token" => ctx.err(&e.key_span, "Cluster authorization does not support tokens"),
            "users" => {
                // nats-server lets an empty list through.
                if !matches!(&a.value.kind, Kind::Array(v) if v.is_empty()) {
                    ctx.err(
                        &e.key_span,
                        "Cluster authorization does not allow multiple users",
                    );
                }
            }
            "auth_callout" | "auth_hook" => ctx.err(
                &e.key_span,
                "Cluster authorization does not support callouts",
            ),
            "default_permission" | "default_permissions" | "permissions" => ctx.err(
                &a.key_span,
                format!(
                    "cluster authorization {:?} is not supported by corenats yet (routes would run without it)",
                    a.key
                ),
            ),
            // Read, with no meaning for routes (as in nats-server).
            "proxy_required" => {
                let _ = ctx.boolean(a);
            }
            _ => ctx.unknown(a),
        }
    }
    spec.user = user;
    spec.password = password;
    // 0 is nats-server's "the default".
    spec.auth_timeout = timeout.filter(|t| *t > Duration::ZERO);
}

/// What `--cluster URL` (or `--cluster_listen URL`) sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenFlag {
    pub host: String,
    pub port: Option<u16>,
    /// From the URL's `user:pass@`; both None without one (which clears the file's, as in nats-server).
    pub user: Option<String>,
    pub password: Option<String>,
}

/// nats-server's `overrideCluster`: `nats://[user:pass@]host:port`, port -1 for a random one. `Err` is
/// nats-server's text.
pub fn listen_flag(raw: &str) -> Result<ListenFlag, String> {
    // Go's parser refuses the port "-1": it is read as 0, then put back.
    let (text, random) = match raw.strip_suffix(":-1") {
        Some(head) => (format!("{head}:0"), true),
        None => (raw.to_string(), false),
    };
    let url = go_url::parse(&text).map_err(|e| go_url::parse_error(&text, &e))?;
    let (host, port) = go_url::split_host_port(&url.host)?;
    let port = if random {
        Some(0)
    } else {
        let p: i64 = port
            .parse()
            .map_err(|_| format!("invalid cluster port {port:?} in {raw:?}"))?;
        listener_port(p)?
    };
    let (user, password) = match (url.user, url.password) {
        (Some(_), None) => return Err("expected cluster password to be set".into()),
        (user, password) => (user, password),
    };
    Ok(ListenFlag {
        host: if host.is_empty() {
            default_host()
        } else {
            host
        },
        port,
        user,
        password,
    })
}

/// `--routes url1,url2`: split at commas, each trimmed (nats-server's `RoutesFromStr`); an empty value
/// is no routes.
pub fn routes_flag(raw: &str) -> Vec<String> {
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(',').map(|r| r.trim().to_string()).collect()
}
