//! Typed build of a `tls { ... }` block (top level, leaf nodes, cluster) into [`TlsSpec`], read as
//! nats-server's `parseTLS` (`server/opts.go`) reads it: keys case-insensitive, each value
//! type-checked, names (cipher suites, curves, TLS versions) checked against Go's tables, with
//! nats-server's texts at nats-server's positions (an entry's key; a list element itself; the `tls`
//! key for the block as a whole). The files are not read here: `crate::tls::compile` loads them.
//!
//! Unlike nats-server, which stops at the first problem in the block, every problem is reported. A
//! block with any error yields no [`TlsSpec`], so its files are not checked on top of it.

use std::path::PathBuf;
use std::time::Duration;

use super::build::Ctx;
use super::defaults::DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK;
use super::duration;
use super::schema::{Span, TlsSpec};
use super::value::{Entry, Kind, Map, Value};
use crate::tls::compile::ciphers::{self, GoSuite, SuiteUse};
use crate::tls::HandshakeFirst;

/// nats-server's `error parsing tls config, expected '<key>' to be a boolean`.
fn expect_bool(e: &Entry, ctx: &mut Ctx) -> Option<bool> {
    match e.value.kind {
        Kind::Bool(b) => Some(b),
        _ => {
            let key = e.key.to_ascii_lowercase();
            ctx.err(
                &e.key_span,
                format!("error parsing tls config, expected '{key}' to be a boolean"),
            );
            None
        }
    }
}

/// A file name; nats-server's `expected '<key>' to be filename` otherwise.
fn expect_file(e: &Entry, ctx: &mut Ctx) -> Option<PathBuf> {
    match &e.value.kind {
        Kind::String(s) => Some(PathBuf::from(s)),
        _ => {
            let key = e.key.to_ascii_lowercase();
            ctx.err(
                &e.key_span,
                format!("error parsing tls config, expected '{key}' to be filename"),
            );
            None
        }
    }
}

/// The Go type nats-server names in its `unsupported type %T` texts.
fn go_type(v: &Value) -> &'static str {
    match v.kind {
        Kind::String(_) => "string",
        Kind::Int(_) => "int64",
        Kind::Float(_) => "float64",
        Kind::Bool(_) => "bool",
        Kind::Datetime(_) => "time.Time",
        Kind::Array(_) => "[]interface {}",
        Kind::Map(_) => "map[string]interface {}",
    }
}

/// An array of strings with each element's position. nats-server panics on other shapes; the text
/// here is corenats's usual one.
fn strings<'v>(e: &'v Entry, ctx: &mut Ctx) -> Option<Vec<(&'v str, &'v Span)>> {
    let Kind::Array(items) = &e.value.kind else {
        ctx.err(
            &e.key_span,
            format!(
                "invalid value for {:?}: expected an array of strings, got {}",
                e.key,
                e.value.type_name()
            ),
        );
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for v in items {
        match &v.kind {
            Kind::String(s) => out.push((s.as_str(), &v.span)),
            _ => {
                ctx.err(
                    &v.span,
                    format!(
                        "invalid value in {:?}: expected a string, got {}",
                        e.key,
                        v.type_name()
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Top-level `tls { ... }` (and every other client context: the leaf-node listener, a remote).
pub fn tls(entry: &Entry, ctx: &mut Ctx) -> Option<TlsSpec> {
    block(entry, ctx, true)
}

/// `cluster { tls { ... } }`: a server-to-server context, where `verify_cert_and_check_known_urls`
/// is allowed (nats-server's `parseTLS(tk, false)`).
pub fn cluster_tls(entry: &Entry, ctx: &mut Ctx) -> Option<TlsSpec> {
    block(entry, ctx, false)
}

/// A `tls { ... }` block; `client_ctx` as nats-server's `isClientCtx`.
fn block(entry: &Entry, ctx: &mut Ctx, client_ctx: bool) -> Option<TlsSpec> {
    let errors_before = ctx.error_count();
    let map = ctx.map(entry)?;
    let mut spec = TlsSpec {
        span: entry.key_span.clone(),
        ..TlsSpec::default()
    };
    let (mut verify, mut map_users) = (false, false);
    // Checked once the whole block is read (`allow_insecure_cipher_suites` may come later).
    let mut suites: Vec<(&'static GoSuite, &Span)> = Vec::new();
    for e in &map.entries {
        if e.used_as_variable {
            continue;
        }
        match e.key.to_ascii_lowercase().as_str() {
            "cert_file" => spec.cert_file = expect_file(e, ctx),
            "key_file" => spec.key_file = expect_file(e, ctx),
            "ca_file" => spec.ca_file = expect_file(e, ctx),
            "insecure" => spec.insecure = expect_bool(e, ctx).unwrap_or(false),
            "verify" => verify = expect_bool(e, ctx).unwrap_or(false),
            "verify_and_map" => map_users = expect_bool(e, ctx).unwrap_or(false),
            "verify_cert_and_check_known_urls" => match expect_bool(e, ctx) {
                // Routes and gateways only; the client port is a client context.
                Some(true) if client_ctx => ctx.err(
                    &e.key_span,
                    "verify_cert_and_check_known_urls not supported in this context",
                ),
                Some(b) => spec.check_known_urls = b,
                None => {}
            },
            "allow_insecure_cipher_suites" => {
                spec.allow_insecure_cipher_suites = expect_bool(e, ctx).unwrap_or(false)
            }
            "cipher_suites" => {
                let Some(list) = strings(e, ctx) else {
                    continue;
                };
                if list.is_empty() {
                    ctx.err(
                        &e.key_span,
                        "error parsing tls config, 'cipher_suites' cannot be empty",
                    );
                }
                for (name, span) in list {
                    match GoSuite::by_name(name) {
                        Some(s) => {
                            suites.push((s, span));
                            spec.cipher_suites.push(name.to_string());
                        }
                        None => ctx.err(span, ciphers::unrecognized_suite(name)),
                    }
                }
            }
            "curve_preferences" => {
                let Some(list) = strings(e, ctx) else {
                    continue;
                };
                if list.is_empty() {
                    ctx.err(
                        &e.key_span,
                        "error parsing tls config, 'curve_preferences' cannot be empty",
                    );
                }
                for (name, span) in list {
                    match ciphers::curve(name) {
                        Ok(Some(_)) => spec.curve_preferences.push(name.to_string()),
                        Ok(None) => ctx.err(span, ciphers::unsupported_curve(name)),
                        Err(msg) => ctx.err(span, msg),
                    }
                }
            }
            "timeout" => spec.timeout = timeout(e, ctx),
            "connection_rate_limit" => match e.value.kind {
                // nats-server limits only when the value is positive.
                Kind::Int(n) => spec.rate_limit = n.max(0) as u64,
                _ => ctx.err(
                    &e.key_span,
                    "error parsing tls config, 'connection_rate_limit' wrong type",
                ),
            },
            "pinned_certs" => spec.pinned_certs = pinned_certs(e, ctx),
            "handshake_first" | "first" | "immediate" => {
                if let Some(h) = handshake_first(e, ctx) {
                    spec.handshake_first = h;
                }
            }
            "certs" | "certificates" => spec.certs = certs(e, ctx),
            "min_version" => spec.min_version = min_version(e, ctx),
            "cert_store"
            | "cert_match_by"
            | "cert_match"
            | "ca_certs_match"
            | "cert_match_skip_invalid" => cert_store(e, ctx),
            "ocsp_peer" => {
                // `false` asks for nothing; anything else would be a check corenats does not make.
                if e.value.kind != Kind::Bool(false) {
                    ctx.err(
                        &e.key_span,
                        "error parsing tls config, 'ocsp_peer' is not supported by corenats yet",
                    );
                }
            }
            _ => ctx.err(
                &e.key_span,
                format!("error parsing tls config, unknown field {:?}", e.key),
            ),
        }
    }
    spec.verify = verify || map_users || spec.check_known_urls;
    spec.map = map_users;
    if spec.cert_file.is_some() && !spec.certs.is_empty() {
        ctx.err(
            &entry.key_span,
            "error parsing tls config, cannot combine 'cert_file' option with 'certs' option",
        );
    }
    check_suites(
        &suites,
        spec.allow_insecure_cipher_suites,
        &entry.key_span,
        ctx,
    );
    (ctx.error_count() == errors_before).then_some(spec)
}

/// Go-insecure suites need `allow_insecure_cipher_suites` (nats-server's text, at the block); then every
/// suite must be one rustls implements (corenats's text, at the name). Every Go-insecure suite is also
/// one rustls lacks, so the first rule is the one a user meets, as with nats-server.
fn check_suites(suites: &[(&GoSuite, &Span)], allow_insecure: bool, block: &Span, ctx: &mut Ctx) {
    let insecure: Vec<&str> = suites
        .iter()
        .filter(|(s, _)| s.insecure)
        .map(|(s, _)| s.name)
        .collect();
    if !insecure.is_empty() && !allow_insecure {
        ctx.err(block, ciphers::insecure_suites(&insecure));
        return;
    }
    for (s, span) in suites {
        if let SuiteUse::Unsupported = s.rustls() {
            ctx.err(span, ciphers::unsupported_suite(s.name));
        }
    }
}

/// `timeout`: seconds (integer or fractional) or a duration string. 0 means the default.
fn timeout(e: &Entry, ctx: &mut Ctx) -> Option<Duration> {
    let secs = match &e.value.kind {
        Kind::Int(i) => *i as f64,
        Kind::Float(f) => *f,
        Kind::String(s) => match duration::parse(s) {
            Ok(d) if d.negative => -d.magnitude.as_secs_f64(),
            Ok(d) => d.magnitude.as_secs_f64(),
            Err(err) => {
                ctx.err(
                    &e.key_span,
                    format!("error parsing tls config, 'timeout' {err}"),
                );
                return None;
            }
        },
        _ => {
            ctx.err(
                &e.key_span,
                "error parsing tls config, 'timeout' wrong type",
            );
            return None;
        }
    };
    // nats-server takes a negative timeout (every handshake then times out at once); corenats refuses it.
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if d <= duration::MAX => Some(d),
        Ok(_) => {
            ctx.err(
                &e.key_span,
                format!(
                    "error parsing tls config, 'timeout' is more than the longest duration ({})",
                    duration::go_string(duration::MAX)
                ),
            );
            None
        }
        Err(_) => {
            ctx.err(
                &e.key_span,
                "error parsing tls config, 'timeout' must not be negative",
            );
            None
        }
    }
}

/// `pinned_certs`: a list of hex SHA-256 digests, kept lower-case.
fn pinned_certs(e: &Entry, ctx: &mut Ctx) -> Vec<String> {
    let Kind::Array(items) = &e.value.kind else {
        ctx.err(
            &e.key_span,
            "error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded sha256 \
             of DER encoded SubjectPublicKeyInfo",
        );
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for v in items {
        let entry = v.go_text().to_ascii_lowercase();
        let valid = matches!(v.kind, Kind::String(_))
            && entry.len() == 64
            && entry.bytes().all(|b| b.is_ascii_hexdigit());
        if valid {
            if !out.contains(&entry) {
                out.push(entry);
            }
        } else {
            ctx.err(
                &v.span,
                format!(
                    "error parsing tls config, 'pinned_certs' key {entry} does not look like \
                     hex-encoded sha256 of DER encoded SubjectPublicKeyInfo"
                ),
            );
        }
    }
    out
}

/// `handshake_first` (or `first`, `immediate`): a boolean, `true`/`on`, `false`/`off`,
/// `auto`/`auto_fallback` (fall back after 50 ms) or a duration (fall back after it).
fn handshake_first(e: &Entry, ctx: &mut Ctx) -> Option<HandshakeFirst> {
    let on = |b: bool| {
        if b {
            HandshakeFirst::On
        } else {
            HandshakeFirst::Off
        }
    };
    match &e.value.kind {
        Kind::Bool(b) => Some(on(*b)),
        Kind::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "on" => Some(HandshakeFirst::On),
            "false" | "off" => Some(HandshakeFirst::Off),
            "auto" | "auto_fallback" => Some(HandshakeFirst::Fallback(
                DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK,
            )),
            _ => match duration::parse(s) {
                // nats-server falls back only after a positive delay; 0 or less is TLS first always.
                Ok(d) if !d.negative && !d.magnitude.is_zero() && d.magnitude <= duration::MAX => {
                    Some(HandshakeFirst::Fallback(d.magnitude))
                }
                Ok(_) => Some(HandshakeFirst::On),
                Err(_) => {
                    ctx.err(
                        &e.key_span,
                        format!("field {:?}'s value {s:?} is invalid", e.key),
                    );
                    None
                }
            },
        },
        _ => {
            ctx.err(
                &e.key_span,
                format!(
                    "field {:?} should be a boolean or a string, got {}",
                    e.key,
                    go_type(&e.value)
                ),
            );
            None
        }
    }
}

/// `certs` / `certificates`: `[{cert_file, key_file}, ...]` (keys case-sensitive, as nats-server's).
fn certs(e: &Entry, ctx: &mut Ctx) -> Vec<(PathBuf, PathBuf)> {
    let unsupported = |v: &Value| {
        format!(
            "error parsing certificates config: unsupported type {}",
            go_type(v)
        )
    };
    let Kind::Array(items) = &e.value.kind else {
        ctx.err(&e.key_span, unsupported(&e.value));
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Kind::Map(pair) = &item.kind else {
            ctx.err(&item.span, unsupported(item));
            continue;
        };
        if let Some(p) = cert_pair(pair, &item.span, ctx) {
            out.push(p);
        }
    }
    out
}

/// One `{cert_file, key_file}` of `certs`.
fn cert_pair(pair: &Map, at: &Span, ctx: &mut Ctx) -> Option<(PathBuf, PathBuf)> {
    let (mut cert, mut key) = (None, None);
    let mut ok = true;
    for f in pair.entries.iter().filter(|f| !f.used_as_variable) {
        let Kind::String(file) = &f.value.kind else {
            let msg = format!(
                "error parsing certificates config: unsupported type {}",
                go_type(&f.value)
            );
            ctx.err(&f.key_span, msg);
            ok = false;
            continue;
        };
        match f.key.as_str() {
            "cert_file" => cert = Some(PathBuf::from(file)),
            "key_file" => key = Some(PathBuf::from(file)),
            _ => {
                ctx.err(
                    &f.key_span,
                    format!("error parsing tls certs config, unknown field {:?}", f.key),
                );
                ok = false;
            }
        }
    }
    match (
        cert.filter(|c| !c.as_os_str().is_empty()),
        key.filter(|k| !k.as_os_str().is_empty()),
    ) {
        (Some(c), Some(k)) if ok => Some((c, k)),
        (Some(_), Some(_)) => None,
        _ => {
            // nats-server points at the pair's last field.
            let at = pair.entries.last().map_or(at, |f| &f.key_span);
            ctx.err(
                at,
                "error parsing certificates config: both 'cert_file' and 'cert_key' options are required",
            );
            None
        }
    }
}

/// `min_version`: "1.2" or "1.3" (as a string); texts are nats-server's.
fn min_version(e: &Entry, ctx: &mut Ctx) -> Option<String> {
    let problem = match &e.value.kind {
        Kind::String(v) => match v.as_str() {
            "1.2" | "1.3" => return Some(v.clone()),
            "1.0" | "1.1" => format!("unsupported TLS version: TLS {v}"),
            _ => format!("unknown version: {v}"),
        },
        _ => format!("'min_version' wrong type: {}", e.value.go_text()),
    };
    ctx.err(&e.key_span, format!("error parsing tls config: {problem}"));
    None
}

/// The Windows certificate-store keys: nats-server's checks of the value, then its error for any
/// other operating system (it accepts the `cert_match*` keys silently without `cert_store`; corenats
/// refuses them rather than ignore them).
fn cert_store(e: &Entry, ctx: &mut Ctx) {
    const NOT_HERE: &str = "cert_store not compatible with current operating system";
    let key = e.key.to_ascii_lowercase();
    let text = e.value.as_str().filter(|s| !s.is_empty());
    let msg = match key.as_str() {
        "cert_store" => match text.map(str::to_ascii_lowercase).as_deref() {
            None => "expected 'cert_store' to be a valid non-empty string",
            Some("windowscurrentuser" | "windowslocalmachine") => NOT_HERE,
            Some(_) => "cert store type not implemented",
        },
        "cert_match_by" => match text.map(str::to_ascii_lowercase).as_deref() {
            None => "expected 'cert_match_by' to be a valid non-empty string",
            Some("issuer" | "subject" | "thumbprint") => NOT_HERE,
            Some(_) => "cert match by type not implemented",
        },
        "cert_match" if text.is_none() => "expected 'cert_match' to be a valid non-empty string",
        "cert_match_skip_invalid" if !matches!(e.value.kind, Kind::Bool(_)) => {
            "expected 'cert_match_skip_invalid' to be a boolean"
        }
        _ => NOT_HERE,
    };
    ctx.err(&e.key_span, msg);
}
