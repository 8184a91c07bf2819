//! Typed build of `leafnodes { ... }` into [`LeafSpec`], read as nats-server's `parseLeafNodes`,
//! `parseLeafAuthorization`, `parseLeafUsers` and `parseRemoteLeafNodes` read it: the soliciting side
//! (`remotes`) and the accepting side (`port`/`listen`, `host`, `advertise`, `no_advertise`,
//! `authorization`).
//!
//! What corenats cannot honour yet is an error: a remote's `hub`, `compression`, `proxy`, …, the leaf
//! listener's `tls`, and an `authorization` with an `nkey` or `proxy_required` (a link that silently
//! went out, or a leaf port that silently let leaf nodes in, without its TLS or its credentials would
//! be worse than none). What only tunes a link is warned about and ignored: `compression` (leaf
//! connections are never compressed: corenats declines it as an older server does), `min_version`,
//! `isolate_leafnode_interest`, `write_deadline`, `write_timeout`.

use std::path::PathBuf;
use std::time::Duration;

use super::build::Ctx;
use super::schema::{LeafSpec, LeafUserSpec, RemoteLeafSpec, Span};
use super::value::{Entry, Kind, Value};
use super::{build_auth, build_cluster, build_tls};

/// Accept-side keys nats-server knows that corenats reads and ignores (warnings).
const ACCEPT_IGNORED: &[&str] = &[
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

/// What the `leafnodes` block gives.
pub struct Built {
    pub spec: LeafSpec,
    /// The accounts its `authorization` binds, each where it is written (checked once the accounts
    /// are known, by `Config::validate`).
    pub accounts: Vec<(String, Span)>,
}

/// `leafnodes { ... }`.
pub fn leafnodes(entry: &Entry, ctx: &mut Ctx) -> Option<Built> {
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
    let mut accounts = Vec::new();
    let mut tls: Option<&Entry> = None;
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
            "listen" | "port" | "host" | "net" => {
                let default = LeafSpec::default().host;
                build_cluster::listener_entry(
                    e,
                    ctx,
                    listener_port,
                    &default,
                    &mut spec.host,
                    &mut spec.port,
                );
            }
            "advertise" | "leafnode_advertise" => {
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
            "authorization" => authorization(e, &mut spec, &mut accounts, ctx),
            "tls" => {
                spec.tls = build_tls::tls(e, ctx);
                tls = Some(e);
            }
            k if ACCEPT_IGNORED.contains(&k) => {
                let why = match k {
                    "compression" => {
                        ": leaf connections are not compressed (leaf nodes are told none, as by a \
                         server without compression)"
                    }
                    _ => "",
                };
                ctx.warn(
                    &e.key_span,
                    format!(
                        "leafnodes {:?} (accepting leaf nodes) is not supported by corenats and is ignored{why}",
                        e.key
                    ),
                );
            }
            _ => ctx.unknown(e),
        }
    }
    if let Some(e) = tls {
        // The block is the listener's only: each remote has its own `tls`.
        if spec.port.is_none() {
            spec.tls = None;
            ctx.warn(
                &e.key_span,
                "leafnodes \"tls\" is for the leaf-node listener, and there is no leafnodes port: \
                 it is ignored (a remote's TLS goes in the remote's own tls block)",
            );
        }
    }
    Some(Built { spec, accounts })
}

/// A leaf listener port as written: -1 is a random port (`Some(0)`), 0 no listener at all (nats-server
/// starts its leaf listener only for `LeafNode.Port != 0`).
pub fn listener_port(p: i64) -> Result<Option<u16>, String> {
    match p {
        -1 => Ok(Some(0)),
        0 => Ok(None),
        1..=65535 => Ok(Some(p as u16)),
        _ => Err(format!(
            "invalid leafnodes port {p}: a port is 1 to 65535, -1 for a random one, or 0 for none"
        )),
    }
}

/// `advertise`: `host` or `host:port`, as nats-server's `parseHostPort` reads it when it starts the
/// leaf listener (it refuses to start on a bad one, with this text).
pub fn check_advertise(adv: &str) -> Result<(), String> {
    build_cluster::check_host_port(adv).map_err(|err| {
        format!("Error setting leafnode INFO with LeafNode.Advertise value of {adv}, err={err}")
    })
}

/// The error for an `authorization` key corenats cannot honour yet.
fn auth_not_yet(ctx: &mut Ctx, a: &Entry) {
    ctx.err(
        &a.key_span,
        format!(
            "leafnodes authorization {:?} is not supported by corenats yet (leaf nodes would attach without it)",
            a.key
        ),
    );
}

/// `authorization { user, password, account, timeout }` or `authorization { users: [...], account,
/// timeout }`. nats-server's own errors (a single user with a users array, a repeated user) point at
/// the `authorization` key, as its do; keys it does not know (`token`, `auth_callout`, a user's `nkey`
/// or `permissions`) are its `unknown field`.
fn authorization(
    e: &Entry,
    spec: &mut LeafSpec,
    accounts: &mut Vec<(String, Span)>,
    ctx: &mut Ctx,
) {
    let Some(map) = ctx.map(e) else {
        return;
    };
    let mut user: Option<String> = None;
    let mut password: Option<(String, Span)> = None;
    let mut account: Option<(String, Span)> = None;
    let mut users: Vec<(LeafUserSpec, Span)> = Vec::new();
    let mut timeout = None;
    for a in &map.entries {
        match a.key.to_ascii_lowercase().as_str() {
            "user" | "username" => user = ctx.string(a),
            "pass" | "password" => password = ctx.string(a).map(|p| (p, a.key_span.clone())),
            // Empty is `$G` to nats-server.
            "account" => {
                account = ctx
                    .string(a)
                    .filter(|n| !n.is_empty())
                    .map(|n| (n, a.key_span.clone()));
                if let Some((n, _)) = &account {
                    accounts.push((n.clone(), a.value.span.clone()));
                }
            }
            "timeout" => timeout = build_auth::auth_timeout_in("leafnode authorization", a, ctx),
            "users" => users = leaf_users(a, accounts, ctx),
            "nkey" => auth_not_yet(ctx, a),
            "proxy_required" => {
                if ctx.boolean(a) == Some(true) {
                    auth_not_yet(ctx, a);
                }
            }
            _ => ctx.unknown(a),
        }
    }
    // nats-server checks the single user only when its name is not empty.
    let user = user.filter(|u| !u.is_empty());
    if user.is_some() && !users.is_empty() {
        ctx.err(
            &e.key_span,
            "can not have a single user/pass and a users array",
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for (u, span) in &users {
        if seen.contains(&u.user.as_str()) {
            ctx.err(
                span,
                format!(
                    "duplicate user {:?} detected in leafnode authorization",
                    u.user
                ),
            );
        }
        seen.push(&u.user);
    }
    if let (None, Some((_, span))) = (&user, &password) {
        // nats-server drops such a password without a word, and lets leaf nodes in without it.
        ctx.err(
            span,
            "leafnodes authorization has a password but no user (nats-server ignores such a \
             password: leaf nodes would attach without it)",
        );
    }
    match user {
        Some(user) => {
            spec.users = vec![LeafUserSpec {
                user,
                password: password.map(|(p, _)| p).unwrap_or_default(),
                account: account.map(|(n, _)| n),
            }];
            spec.default_account = None;
        }
        None if users.is_empty() => {
            spec.users = Vec::new();
            spec.default_account = account.map(|(n, _)| n);
        }
        None => {
            if let Some((_, span)) = &account {
                ctx.warn(
                    span,
                    "leafnodes authorization \"account\" is ignored with \"users\": each user \
                     binds its own \"account\" (without one, $G)",
                );
            }
            spec.users = users.into_iter().map(|(u, _)| u).collect();
            spec.default_account = None;
        }
    }
    // 0 is nats-server's "the default".
    spec.auth_timeout = timeout.filter(|t| *t > Duration::ZERO);
}

/// `authorization { users: [ {user, password, account}, ... ] }`, each with where it is written.
fn leaf_users(
    a: &Entry,
    accounts: &mut Vec<(String, Span)>,
    ctx: &mut Ctx,
) -> Vec<(LeafUserSpec, Span)> {
    let Kind::Array(items) = &a.value.kind else {
        ctx.err(
            &a.value.span,
            format!(
                "invalid value for {:?}: expected an array of users, got {}",
                a.key,
                a.value.type_name()
            ),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Kind::Map(m) = &item.kind else {
            ctx.err(
                &item.span,
                format!(
                    "invalid value in {:?}: expected a user map, got {}",
                    a.key,
                    item.type_name()
                ),
            );
            continue;
        };
        let mut u = LeafUserSpec::default();
        for f in &m.entries {
            match f.key.to_ascii_lowercase().as_str() {
                "user" | "username" => {
                    if let Some(name) = ctx.string(f) {
                        u.user = name;
                    }
                }
                "pass" | "password" => {
                    if let Some(p) = ctx.string(f) {
                        u.password = p;
                    }
                }
                "account" => {
                    u.account = ctx.string(f).filter(|n| !n.is_empty());
                    if let Some(n) = &u.account {
                        accounts.push((n.clone(), f.value.span.clone()));
                    }
                }
                "proxy_required" => {
                    if ctx.boolean(f) == Some(true) {
                        auth_not_yet(ctx, f);
                    }
                }
                _ => ctx.unknown(f),
            }
        }
        out.push((u, item.span.clone()));
    }
    out
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
