//! Typed build of `leafnodes { ... }` into [`LeafSpec`]: the soliciting side (`remotes`), which corenats
//! implements, read as nats-server's `parseLeafNodes`/`parseRemoteLeafNodes` read it. The accepting
//! side's keys (`port`, `listen`, `authorization`, …) are known to nats-server but not implemented here:
//! warned and ignored like other unsupported keys. A remote key corenats cannot honour yet (`hub`,
//! `compression`, `proxy`, …) is an error: a link that silently went out without its TLS or its
//! credentials would be worse than none.

use std::path::PathBuf;
use std::time::Duration;

use super::build::Ctx;
use super::schema::{LeafSpec, RemoteLeafSpec};
use super::value::{Entry, Kind, Value};

/// Accept-side keys nats-server knows (warned, ignored).
const ACCEPT_SIDE: &[&str] = &[
    "listen",
    "port",
    "host",
    "net",
    "authorization",
    "advertise",
    "leafnode_advertise",
    "no_advertise",
    "tls",
    "min_version",
    "minimum_version",
    "compression",
    "isolate_leafnode_interest",
    "isolate",
    "write_deadline",
    "write_timeout",
];

/// Remote keys nats-server knows that corenats does not implement yet (errors).
const REMOTE_NOT_YET: &[&str] = &[
    "hub",
    "ws_compress",
    "ws_compression",
    "websocket_compress",
    "websocket_compression",
    "ws_no_masking",
    "websocket_no_masking",
    "jetstream_cluster_migrate",
    "js_cluster_migrate",
    "request_isolation",
    "isolate",
    "isolate_leafnode_interest",
    "compression",
    "proxy",
];

/// Remote keys read and ignored (nothing to do for a link without them).
const REMOTE_HARMLESS: &[&str] = &[
    "no_randomize",
    "dont_randomize",
    "first_info_timeout",
    "ignore_discovered_servers",
];

/// `leafnodes { ... }`.
pub fn leafnodes(entry: &Entry, ctx: &mut Ctx) -> Option<LeafSpec> {
    let Kind::Map(map) = &entry.value.kind else {
        ctx.err(
            &entry.value.span,
            format!(
                "invalid value for {:?}: expected a map, got {}",
                entry.key,
                entry.value.type_name()
            ),
        );
        return None;
    };
    let mut spec = LeafSpec::default();
    for e in &map.entries {
        let key = e.key.to_ascii_lowercase();
        match key.as_str() {
            "remotes" => spec.remotes = remotes(e, ctx),
            "reconnect" | "reconnect_delay" | "reconnect_interval" => {
                if let Some(d) = ctx.positive_duration(e, true) {
                    if d > Duration::ZERO {
                        spec.reconnect = d;
                    }
                }
            }
            "dial_timeout" => {
                if let Some(d) = ctx.positive_duration(e, true) {
                    if d > Duration::ZERO {
                        spec.dial_timeout = d;
                    }
                }
            }
            k if ACCEPT_SIDE.contains(&k) => ctx.warn(
                &e.key_span,
                format!(
                    "leafnodes {:?} (accepting leaf nodes) is not supported by corenats and is ignored",
                    e.key
                ),
            ),
            _ => ctx.unknown(e),
        }
    }
    Some(spec)
}

fn remotes(e: &Entry, ctx: &mut Ctx) -> Vec<RemoteLeafSpec> {
    let Kind::Array(items) = &e.value.kind else {
        ctx.err(
            &e.value.span,
            format!(
                "invalid value for {:?}: expected an array of maps, got {}",
                e.key,
                e.value.type_name()
            ),
        );
        return Vec::new();
    };
    items.iter().filter_map(|v| remote(v, ctx)).collect()
}

fn remote(v: &Value, ctx: &mut Ctx) -> Option<RemoteLeafSpec> {
    let Kind::Map(map) = &v.kind else {
        ctx.err(
            &v.span,
            format!(
                "invalid value in \"remotes\": expected a map, got {}",
                v.type_name()
            ),
        );
        return None;
    };
    let errors = ctx.error_count();
    let mut r = RemoteLeafSpec {
        span: v.span.clone(),
        ..RemoteLeafSpec::default()
    };
    for e in &map.entries {
        let key = e.key.to_ascii_lowercase();
        match key.as_str() {
            "url" => {
                if let Some(u) = ctx.string(e) {
                    r.urls.push(u);
                }
            }
            "urls" => {
                if let Some(us) = ctx.typed::<Vec<String>>(e, "an array of URLs") {
                    r.urls.extend(us);
                }
            }
            "account" | "local" => r.account = ctx.string(e),
            "deny_imports" | "deny_import" => r.deny_imports = subjects(e, ctx),
            "deny_exports" | "deny_export" => r.deny_exports = subjects(e, ctx),
            "disabled" => r.disabled = ctx.boolean(e).unwrap_or(false),
            "nkey" | "seed" => {
                if let Some(seed) = ctx.string(e) {
                    match crate::leaf::creds::check_seed(&seed) {
                        Ok(()) => r.nkey_seed = Some(seed.trim().to_string()),
                        Err(msg) => ctx.err(&e.value.span, msg),
                    }
                }
            }
            "tls" => r.tls = super::build_tls::tls(e, ctx),
            "creds" | "credentials" => {
                if let Some(path) = ctx.string(e) {
                    // Read now so that `-t` and a start with a bad file fail (nats-server only logs
                    // the error at each dial); read again at each dial, so a renewed file is used.
                    let checked = std::fs::read_to_string(&path)
                        .map_err(|err| format!("error reading credentials file {path:?}: {err}"))
                        .and_then(|text| crate::leaf::creds::parse_creds(&text).map(|_| ()));
                    match checked {
                        Ok(()) => r.credentials = Some(PathBuf::from(path)),
                        Err(msg) => ctx.err(&e.value.span, msg),
                    }
                }
            }
            "dial_timeout" => {
                if let Some(d) = ctx.positive_duration(e, true) {
                    r.dial_timeout = (d > Duration::ZERO).then_some(d);
                }
            }
            k if REMOTE_HARMLESS.contains(&k) => {}
            k if REMOTE_NOT_YET.contains(&k) => ctx.err(
                &e.key_span,
                format!(
                    "leafnode remote {:?} is not supported by corenats yet",
                    e.key
                ),
            ),
            _ => ctx.unknown(e),
        }
    }
    if r.urls.is_empty() {
        ctx.err(&v.span, "leafnode remote requires at least one url");
    }
    for u in &r.urls {
        if let Err(msg) = crate::leaf::url::RemoteUrl::parse(u) {
            ctx.err(&v.span, format!("error parsing remote url {u:?}: {msg}"));
        }
    }
    (ctx.error_count() == errors).then_some(r)
}

/// A string or a list of strings (nats-server takes both for the deny lists).
fn subjects(e: &Entry, ctx: &mut Ctx) -> Vec<String> {
    match &e.value.kind {
        Kind::String(s) => vec![s.clone()],
        _ => ctx
            .typed::<Vec<String>>(e, "a subject or an array of subjects")
            .unwrap_or_default(),
    }
}
