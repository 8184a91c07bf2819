//! Typed build of who may log in and what they may do: `authorization`, `users`, `permissions`.
//!
//! Facts from nats-server's `opts.go` (parseAuthorization, parseUsers, parseUserPermissions,
//! parseVariablePermissions, parseSubjectPermission, parseAllowResponses). Non-standard
//! constructs (2) users as a map of blocks and (4) `allow`/`deny` directly under `permissions`
//! are accepted here and recorded for the warning.

use serde::Deserialize;

use super::build::Ctx;
use super::defaults::{DEFAULT_ALLOW_RESPONSES_EXPIRES, DEFAULT_ALLOW_RESPONSES_MAX};
use super::nonstandard::Construct;
use super::schema::{
    AuthorizationSpec, PermissionsSpec, ResponsePermSpec, SubjectPermSpec, UserSpec,
};
use super::subject;
use super::value::{render_key, Entry, Kind, Map, Value};

/// Connection types nats-server knows for `allowed_connection_types`.
const CONNECTION_TYPES: &[&str] = &[
    "STANDARD",
    "WEBSOCKET",
    "LEAFNODE",
    "LEAFNODE_WS",
    "MQTT",
    "MQTT_WS",
    "IN_PROCESS",
];

/// Top-level `authorization { ... }`.
pub fn authorization(entry: &Entry, ctx: &mut Ctx) -> Option<AuthorizationSpec> {
    let map = ctx.map(entry)?;
    let mut auth = AuthorizationSpec {
        span: entry.key_span.clone(),
        ..AuthorizationSpec::default()
    };
    let mut has_users = false;
    for e in &map.entries {
        match e.key.to_ascii_lowercase().as_str() {
            "user" | "username" => auth.user = ctx.string(e),
            "pass" | "password" => auth.password = ctx.string(e),
            "token" => auth.token = ctx.string(e),
            "timeout" => auth.timeout = auth_timeout(e, ctx),
            "users" => {
                has_users = true;
                auth.users = users(e, ctx);
            }
            "default_permission" | "default_permissions" | "permissions" => {
                auth.default_permissions = permissions(e, ctx)
            }
            "auth_callout" | "auth_hook" | "proxy_required" => ctx.unsupported(e),
            _ => ctx.unknown(e),
        }
    }
    if (auth.user.is_some() || auth.password.is_some()) && auth.token.is_some() {
        ctx.err(&entry.key_span, "Cannot have a user/pass and token");
    }
    if has_users && auth.user.is_some() {
        ctx.err(
            &entry.key_span,
            "Can not have a single user/pass and a users array",
        );
    }
    if has_users && auth.token.is_some() {
        ctx.err(&entry.key_span, "Can not have a token and a users array");
    }
    Some(auth)
}

/// `timeout`: integer or float seconds, or a duration string. Over a minute is nats-server's warning
/// (an error under `-t`); over Go's longest duration an error.
pub(super) fn auth_timeout(e: &Entry, ctx: &mut Ctx) -> Option<std::time::Duration> {
    auth_timeout_in("authorization", e, ctx)
}

/// As [`auth_timeout`], for the block named in the parse errors (`leafnode authorization` in
/// `leafnodes {}`, as nats-server's `parseLeafAuthorization` says).
pub(super) fn auth_timeout_in(
    block: &str,
    e: &Entry,
    ctx: &mut Ctx,
) -> Option<std::time::Duration> {
    let secs = match &e.value.kind {
        Kind::Int(i) => *i as f64,
        Kind::Float(f) => *f,
        Kind::String(s) => match super::duration::parse(s) {
            Ok(d) if d.negative => -d.magnitude.as_secs_f64(),
            Ok(d) => d.magnitude.as_secs_f64(),
            Err(err) => {
                ctx.err(
                    &e.value.span,
                    format!("error parsing {block} config, 'timeout' {err}"),
                );
                return None;
            }
        },
        _ => {
            ctx.err(
                &e.value.span,
                format!("error parsing {block} config, 'timeout' wrong type"),
            );
            return None;
        }
    };
    if secs > 60.0 {
        ctx.warn(
            &e.value.span,
            format!(
                "invalid use of field {:?}: timeout of {} ({secs:.6} seconds) is high, consider \
                 keeping it under 60 seconds. possibly caused by unquoted duration; use '1m' \
                 instead of 1m, for example",
                e.key,
                e.value.go_text()
            ),
        );
    }
    match std::time::Duration::try_from_secs_f64(secs) {
        Ok(d) if d <= super::duration::MAX => Some(d),
        Ok(_) => {
            ctx.err(
                &e.value.span,
                format!(
                    "invalid value for {:?}: {} seconds is more than the longest duration ({})",
                    e.key,
                    e.value.go_text(),
                    super::duration::go_string(super::duration::MAX)
                ),
            );
            None
        }
        Err(_) => {
            ctx.err(
                &e.value.span,
                format!(
                    "invalid value for {:?}: must be a non-negative number of seconds",
                    e.key
                ),
            );
            None
        }
    }
}

/// `users: [ {...}, ... ]`, or (construct (2)) `users { name { ... } ... }`.
pub fn users(entry: &Entry, ctx: &mut Ctx) -> Vec<UserSpec> {
    let mut out = Vec::new();
    match &entry.value.kind {
        Kind::Array(items) => {
            for item in items {
                match &item.kind {
                    Kind::Map(m) => out.extend(user(m, &item.span, None, ctx)),
                    _ => ctx.err(
                        &item.span,
                        format!(
                            "Expected user entry to be a map/struct, got {}",
                            item.type_name()
                        ),
                    ),
                }
            }
        }
        Kind::Map(m)
            if !m.is_empty()
                && m.entries
                    .iter()
                    .all(|e| e.used_as_variable || e.value.as_map().is_some()) =>
        {
            let mut names = Vec::new();
            for e in m.entries.iter().filter(|e| !e.used_as_variable) {
                if let Kind::Map(um) = &e.value.kind {
                    names.push(e.key.clone());
                    out.extend(user(um, &e.key_span, Some(e), ctx));
                }
            }
            let first = names.first().cloned().unwrap_or_default();
            ctx.nonstandard.record(
                Construct::UsersMap,
                entry.key_span.clone(),
                format!("{} {{ {} {{ ... }} }}", entry.key, render_key(&first)),
                format!("{}: [ {{user: {:?}, ...}} ]", entry.key, first),
            );
        }
        _ => ctx.err(
            &entry.value.span,
            format!(
                "Expected users field to be an array, got {}",
                entry.value.go_text()
            ),
        ),
    }
    out
}

/// One user block. `named` is the map entry naming it in the map-of-blocks form.
fn user(
    map: &Map,
    span: &super::schema::Span,
    named: Option<&Entry>,
    ctx: &mut Ctx,
) -> Option<UserSpec> {
    let mut u = UserSpec {
        span: span.clone(),
        ..UserSpec::default()
    };
    for e in &map.entries {
        match e.key.to_ascii_lowercase().as_str() {
            "nkey" => u.nkey = ctx.string(e),
            "user" | "username" => u.user = ctx.string(e),
            "pass" | "password" => u.password = ctx.string(e),
            "permission" | "permissions" | "authorization" => u.permissions = permissions(e, ctx),
            "allowed_connection_types" | "connection_types" | "clients" => {
                u.allowed_connection_types = connection_types(e, ctx)
            }
            "proxy_required" => ctx.unsupported(e),
            _ => ctx.unknown(e),
        }
    }
    if let Some(named) = named {
        match &u.user {
            Some(inner) if *inner != named.key => ctx.err(
                &named.key_span,
                format!("user block {:?} also sets user {:?}", named.key, inner),
            ),
            _ if u.nkey.is_none() => u.user = Some(named.key.clone()),
            _ => {}
        }
    }
    match &u.nkey {
        None if u.user.is_none() => {
            ctx.err(span, "User entry requires a user");
            return None;
        }
        Some(nk) => {
            if !looks_like_user_nkey(nk) {
                ctx.err(span, "Not a valid public nkey for a user");
                return None;
            }
            if u.user.is_some() || u.password.is_some() {
                ctx.err(span, "Nkey users do not take usernames or passwords");
                return None;
            }
        }
        None => {}
    }
    Some(u)
}

/// Shape check of a public user nkey: 'U', 56 characters of base32. (The checksum is verified
/// by the auth module.)
fn looks_like_user_nkey(s: &str) -> bool {
    s.len() == 56
        && s.starts_with('U')
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

fn connection_types(e: &Entry, ctx: &mut Ctx) -> Vec<String> {
    let list: Vec<String> = match &e.value.kind {
        Kind::String(s) => vec![s.clone()],
        _ => ctx
            .typed(e, "a string or an array of strings")
            .unwrap_or_default(),
    };
    for t in &list {
        if !CONNECTION_TYPES.contains(&t.to_ascii_uppercase().as_str()) {
            ctx.warn(&e.value.span, format!("unknown connection type {t:?}"));
        }
    }
    list
}

/// `permissions { publish, subscribe, allow_responses }` (also used for default_permissions).
pub fn permissions(entry: &Entry, ctx: &mut Ctx) -> Option<PermissionsSpec> {
    let Kind::Map(map) = &entry.value.kind else {
        ctx.err(
            &entry.value.span,
            format!(
                "Expected permissions to be a map/struct, got {}",
                entry.value.type_name()
            ),
        );
        return None;
    };
    let mut p = PermissionsSpec::default();
    let mut bare = SubjectPermSpec::default();
    let mut bare_entries: Vec<&Entry> = Vec::new();
    for e in &map.entries {
        match e.key.to_ascii_lowercase().as_str() {
            "pub" | "publish" | "import" => p.publish = variable_permissions(e, ctx),
            "sub" | "subscribe" | "export" => p.subscribe = variable_permissions(e, ctx),
            "publish_allow_responses" | "allow_responses" => {
                p.allow_responses = allow_responses(e, ctx)
            }
            "allow" => {
                bare.allow = perm_subjects(&e.value, ctx);
                bare_entries.push(e);
            }
            "deny" => {
                bare.deny = perm_subjects(&e.value, ctx);
                bare_entries.push(e);
            }
            _ => {
                if !e.used_as_variable {
                    ctx.err(
                        &e.key_span,
                        format!("Unknown field {:?} parsing permissions", e.key),
                    );
                }
            }
        }
    }
    if let Some(first) = bare_entries.first() {
        // Construct (4): rules for each direction that has none of its own.
        let mut applied = Vec::new();
        if p.publish.is_none() {
            p.publish = Some(bare.clone());
            applied.push("publish");
        }
        if p.subscribe.is_none() {
            p.subscribe = Some(bare.clone());
            applied.push("subscribe");
        }
        let rules = render_perm(&bare);
        let standard = if applied.is_empty() {
            format!("publish {rules} / subscribe {rules} (here both already have rules, so it has no effect)")
        } else {
            applied
                .iter()
                .map(|d| format!("{d} {rules}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let written: Vec<String> = bare_entries
            .iter()
            .map(|e| format!("{}: {}", e.key, e.value.render()))
            .collect();
        ctx.nonstandard.record(
            Construct::BarePermissions,
            first.key_span.clone(),
            format!("permissions {{ {} }}", written.join(", ")),
            standard,
        );
    }
    Some(p)
}

/// `{allow: [...], deny: [...]}` in conf syntax.
fn render_perm(p: &SubjectPermSpec) -> String {
    let mut parts = Vec::new();
    for (k, v) in [("allow", &p.allow), ("deny", &p.deny)] {
        if let Some(list) = v {
            let items: Vec<String> = list.iter().map(|s| format!("{s:?}")).collect();
            parts.push(format!("{k}: [{}]", items.join(", ")));
        }
    }
    format!("{{ {} }}", parts.join(", "))
}

/// `publish`/`subscribe`: a subject, a list, or `{allow, deny}`.
fn variable_permissions(e: &Entry, ctx: &mut Ctx) -> Option<SubjectPermSpec> {
    match &e.value.kind {
        Kind::Map(m) => {
            if m.is_empty() {
                return None;
            }
            let mut sp = SubjectPermSpec::default();
            for pe in &m.entries {
                match pe.key.to_ascii_lowercase().as_str() {
                    "allow" => sp.allow = perm_subjects(&pe.value, ctx),
                    "deny" => sp.deny = perm_subjects(&pe.value, ctx),
                    _ => {
                        if !pe.used_as_variable {
                            ctx.err(
                                &pe.key_span,
                                format!(
                                    "Unknown field name {:?} parsing subject permissions, only 'allow' or 'deny' are permitted",
                                    pe.key
                                ),
                            );
                        }
                    }
                }
            }
            Some(sp)
        }
        _ => Some(SubjectPermSpec {
            allow: perm_subjects(&e.value, ctx),
            deny: None,
        }),
    }
}

/// A subject or a list of subjects (each may be `"subject queue"`), validated.
fn perm_subjects(v: &Value, ctx: &mut Ctx) -> Option<Vec<String>> {
    let list: Vec<(String, &Value)> = match &v.kind {
        Kind::String(s) => vec![(s.clone(), v)],
        Kind::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match &item.kind {
                    Kind::String(s) => out.push((s.clone(), item)),
                    _ => {
                        ctx.err(
                            &item.span,
                            "Subject in permissions array cannot be cast to string",
                        );
                        return None;
                    }
                }
            }
            out
        }
        _ => {
            ctx.err(
                &v.span,
                format!(
                    "Expected subject permissions to be a subject, or array of subjects, got {}",
                    v.type_name()
                ),
            );
            return None;
        }
    };
    let mut ok = true;
    for (s, item) in &list {
        if let Err(msg) = subject::check_permission_entry(s) {
            ctx.err(&item.span, msg);
            ok = false;
        }
    }
    ok.then(|| list.into_iter().map(|(s, _)| s).collect())
}

/// The map form of `allow_responses`.
#[derive(Deserialize)]
struct AllowResponsesRaw {
    #[serde(alias = "max_msgs", alias = "max_messages", alias = "max_responses")]
    max: Option<i64>,
    #[serde(alias = "expiration", alias = "ttl")]
    expires: Option<String>,
}

const ALLOW_RESPONSES_KEYS: &[&str] = &[
    "max",
    "max_msgs",
    "max_messages",
    "max_responses",
    "expires",
    "expiration",
    "ttl",
];

/// `allow_responses: true` or `{max, expires}` (0 = default, negative = unlimited).
fn allow_responses(e: &Entry, ctx: &mut Ctx) -> Option<ResponsePermSpec> {
    let default = ResponsePermSpec {
        max: DEFAULT_ALLOW_RESPONSES_MAX,
        expires: DEFAULT_ALLOW_RESPONSES_EXPIRES,
    };
    match &e.value.kind {
        Kind::Bool(b) => b.then_some(default),
        Kind::Map(m) => {
            for k in &m.entries {
                if !k.used_as_variable
                    && !ALLOW_RESPONSES_KEYS.contains(&k.key.to_ascii_lowercase().as_str())
                {
                    ctx.err(
                        &k.key_span,
                        format!("Unknown field {:?} parsing permissions", k.key),
                    );
                }
            }
            for k in &m.entries {
                let lower = k.key.to_ascii_lowercase();
                if ALLOW_RESPONSES_KEYS[4..].contains(&lower.as_str()) && k.value.as_str().is_none()
                {
                    ctx.err(
                        &k.value.span,
                        "error parsing expires, not a duration string",
                    );
                    return None;
                }
            }
            let raw: AllowResponsesRaw = ctx.typed(e, "a map {max: N, expires: \"duration\"}")?;
            let mut rp = default;
            match raw.max {
                Some(n) if n < 0 => rp.max = -1,
                Some(n) if n > 0 => rp.max = n,
                _ => {}
            }
            if let Some(s) = raw.expires {
                match super::duration::parse(&s) {
                    Ok(d) if d.negative => rp.expires = std::time::Duration::ZERO,
                    Ok(d) if !d.magnitude.is_zero() => rp.expires = d.magnitude,
                    Ok(_) => {}
                    Err(err) => {
                        let span = m
                            .entries
                            .iter()
                            .find(|x| {
                                ALLOW_RESPONSES_KEYS[4..]
                                    .contains(&x.key.to_ascii_lowercase().as_str())
                            })
                            .map(|x| x.value.span.clone())
                            .unwrap_or_else(|| e.value.span.clone());
                        ctx.err(&span, format!("error parsing expires: {err}"));
                        return None;
                    }
                }
            }
            Some(rp)
        }
        _ => {
            ctx.err(
                &e.value.span,
                "error parsing response permissions, expected a boolean or a map",
            );
            None
        }
    }
}
