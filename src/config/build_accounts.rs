//! Typed build of tenants: `accounts` (map and array forms), their `exports`, `imports`,
//! `mappings` and `limits`; also the top-level `mappings`.
//!
//! Facts from nats-server's `opts.go` (parseAccounts, parseExportStreamOrService,
//! parseImportStreamOrService, parseAccountMappings, parseAccountLimits). Checks that need other
//! accounts (unknown import account, authorisation of imports, duplicate users) belong to the
//! auth module and are not done here.

use std::time::Duration;

use serde::Deserialize;

use super::build::Ctx;
use super::build_auth::{permissions, users};
use super::defaults::DEFAULT_RESPONSE_THRESHOLD;
use super::schema::{
    AccountLimits, AccountSpec, ExportKind, ExportSpec, ImportSpec, MappingSpec, ResponseType,
};
use super::subject;
use super::value::{Entry, Kind, Map, Value};

/// Name of the global account; it cannot be declared.
const GLOBAL_ACCOUNT: &str = "$G";

/// `accounts { NAME { ... } }` or `accounts: [A, B]`.
pub fn accounts(entry: &Entry, ctx: &mut Ctx) -> Vec<AccountSpec> {
    let mut out: Vec<AccountSpec> = Vec::new();
    match &entry.value.kind {
        Kind::Array(items) => {
            for item in items {
                let Some(name) = item.as_str() else {
                    ctx.err(
                        &item.span,
                        format!(
                            "Expected account name to be a string, got {}",
                            item.type_name()
                        ),
                    );
                    continue;
                };
                if name == GLOBAL_ACCOUNT {
                    ctx.err(&item.span, format!("{name:?} is a Reserved Account"));
                    continue;
                }
                if out.iter().any(|a| a.name == name) {
                    ctx.err(&item.span, format!("Duplicate Account Entry: {name}"));
                    continue;
                }
                out.push(AccountSpec {
                    name: name.to_string(),
                    span: item.span.clone(),
                    ..AccountSpec::default()
                });
            }
        }
        Kind::Map(m) => {
            for e in &m.entries {
                if e.used_as_variable {
                    continue;
                }
                let Kind::Map(am) = &e.value.kind else {
                    ctx.err(&e.key_span, "Expected map entries for accounts");
                    continue;
                };
                if e.key == GLOBAL_ACCOUNT {
                    ctx.err(&e.key_span, format!("{:?} is a Reserved Account", e.key));
                    continue;
                }
                out.push(account(e, am, ctx));
            }
        }
        _ => ctx.err(
            &entry.value.span,
            format!(
                "Expected accounts to be a map or an array of names, got {}",
                entry.value.type_name()
            ),
        ),
    }
    out
}

fn account(e: &Entry, map: &Map, ctx: &mut Ctx) -> AccountSpec {
    let mut acc = AccountSpec {
        name: e.key.clone(),
        span: e.key_span.clone(),
        ..AccountSpec::default()
    };
    for f in &map.entries {
        match f.key.to_ascii_lowercase().as_str() {
            "users" => acc.users = users(f, ctx),
            "default_permissions" => acc.default_permissions = permissions(f, ctx),
            "exports" => acc.exports = exports(f, ctx),
            "imports" => acc.imports = imports(f, ctx),
            "mappings" | "maps" => acc.mappings = mappings(f, ctx),
            "limits" => acc.limits = limits(f, ctx),
            "jetstream" => ctx.warn(
                &f.key_span,
                "account jetstream is not supported by corenats and is ignored",
            ),
            "nkey" | "msg_trace" | "trace_dest" => ctx.unsupported(f),
            _ => ctx.unknown(f),
        }
    }
    acc
}

/// `exports: [ {stream|service: subject, accounts, response_type, threshold}, ... ]`.
fn exports(entry: &Entry, ctx: &mut Ctx) -> Vec<ExportSpec> {
    let Kind::Array(items) = &entry.value.kind else {
        ctx.err(
            &entry.value.span,
            format!(
                "Exports should be an array, got {}",
                entry.value.type_name()
            ),
        );
        return Vec::new();
    };
    items.iter().filter_map(|item| export(item, ctx)).collect()
}

fn export(item: &Value, ctx: &mut Ctx) -> Option<ExportSpec> {
    let Kind::Map(m) = &item.kind else {
        ctx.err(
            &item.span,
            format!(
                "Export Items should be a map with type entry, got {}",
                item.type_name()
            ),
        );
        return None;
    };
    let mut stream: Option<(&Entry, String)> = None;
    let mut service: Option<(&Entry, String)> = None;
    let mut accounts = Vec::new();
    let mut response: Option<(&Entry, ResponseType)> = None;
    let mut threshold: Option<(&Entry, Duration)> = None;
    for e in &m.entries {
        match e.key.to_ascii_lowercase().as_str() {
            "stream" => stream = ctx.typed(e, "a subject string").map(|s| (e, s)),
            "service" => service = ctx.typed(e, "a subject string").map(|s| (e, s)),
            "accounts" => {
                accounts = ctx
                    .typed(e, "an array of account names")
                    .unwrap_or_default()
            }
            "response" | "response_type" => {
                let Some(s) = ctx.typed::<String>(e, "singleton, stream or chunked") else {
                    continue;
                };
                let rt = match s.to_ascii_lowercase().as_str() {
                    "single" | "singleton" => ResponseType::Singleton,
                    "stream" => ResponseType::Stream,
                    "chunk" | "chunked" => ResponseType::Chunked,
                    _ => {
                        ctx.err(&e.value.span, format!("Unknown response type: {s:?}"));
                        continue;
                    }
                };
                response = Some((e, rt));
            }
            "threshold" | "response_threshold" | "response_max_time" | "response_time" => {
                match &e.value.kind {
                    Kind::String(_) => {
                        threshold = ctx.positive_duration(e, false).map(|d| (e, d));
                    }
                    _ => ctx.err(
                        &e.value.span,
                        format!(
                            "Expected response threshold to be a parseable time duration, got {}",
                            e.value.type_name()
                        ),
                    ),
                }
            }
            "latency" | "account_token_position" | "allow_trace" => ctx.unsupported(e),
            _ => ctx.unknown(e),
        }
    }
    let (kind, (subj_entry, subject)) = match (stream, service) {
        (Some(st), Some((sv_entry, sv))) => {
            ctx.err(
                &sv_entry.key_span,
                format!(
                    "Detected service {sv:?} but already saw a stream {:?}",
                    st.1
                ),
            );
            return None;
        }
        (Some(st), None) => (super::schema::ExportKind::Stream, st),
        (None, Some(sv)) => (super::schema::ExportKind::Service, sv),
        (None, None) => {
            ctx.warn(
                &item.span,
                "export has neither 'stream' nor 'service' and is ignored",
            );
            return None;
        }
    };
    if kind == ExportKind::Stream {
        for e in [response.map(|r| r.0), threshold.map(|t| t.0)]
            .into_iter()
            .flatten()
        {
            ctx.err(&e.key_span, "Detected response directive on non-service");
        }
    }
    if !subject::is_valid(&subject) {
        ctx.err(
            &subj_entry.value.span,
            format!("subject {subject:?} is not a valid subject"),
        );
        return None;
    }
    Some(ExportSpec {
        kind,
        subject,
        accounts,
        response_type: response.map(|r| r.1).unwrap_or_default(),
        response_threshold: threshold.map(|t| t.1).unwrap_or(DEFAULT_RESPONSE_THRESHOLD),
        span: item.span.clone(),
    })
}

/// `{account, subject}` inside an import.
#[derive(Deserialize)]
struct ImportSource {
    account: Option<String>,
    subject: Option<String>,
}

/// `imports: [ {stream|service: {account, subject}, prefix|to, share}, ... ]`.
fn imports(entry: &Entry, ctx: &mut Ctx) -> Vec<ImportSpec> {
    let Kind::Array(items) = &entry.value.kind else {
        ctx.err(
            &entry.value.span,
            format!(
                "Imports should be an array, got {}",
                entry.value.type_name()
            ),
        );
        return Vec::new();
    };
    let mut out: Vec<ImportSpec> = Vec::new();
    for item in items {
        let Some(imp) = import(item, ctx) else {
            continue;
        };
        if imp.kind == ExportKind::Service {
            let local = imp.to.clone().unwrap_or_else(|| imp.subject.clone());
            if let Some(dup) = out.iter().find(|o| {
                o.kind == ExportKind::Service
                    && o.to.clone().unwrap_or_else(|| o.subject.clone()) == local
            }) {
                ctx.err(
                    &item.span,
                    format!(
                        "Duplicate service import subject {local:?}, previously used in import for account {:?}, subject {:?}",
                        dup.account, dup.subject
                    ),
                );
                continue;
            }
        }
        out.push(imp);
    }
    out
}

fn import(item: &Value, ctx: &mut Ctx) -> Option<ImportSpec> {
    let Kind::Map(m) = &item.kind else {
        ctx.err(
            &item.span,
            format!(
                "Import Items should be a map with type entry, got {}",
                item.type_name()
            ),
        );
        return None;
    };
    let mut source: Option<(ExportKind, &Entry, ImportSource)> = None;
    let mut prefix: Option<(&Entry, String)> = None;
    let mut to: Option<(&Entry, String)> = None;
    let mut share = false;
    let mut ok = true;
    for e in &m.entries {
        let lower = e.key.to_ascii_lowercase();
        match lower.as_str() {
            "stream" | "service" => {
                let kind = if lower == "stream" {
                    ExportKind::Stream
                } else {
                    ExportKind::Service
                };
                if let Some((other, _, _)) = &source {
                    if *other != kind {
                        let (a, b) = if kind == ExportKind::Stream {
                            ("stream", "service")
                        } else {
                            ("service", "stream")
                        };
                        ctx.err(&e.key_span, format!("Detected {a} but already saw a {b}"));
                        ok = false;
                        continue;
                    }
                }
                let Kind::Map(src) = &e.value.kind else {
                    let what = if kind == ExportKind::Stream {
                        "Stream"
                    } else {
                        "Service"
                    };
                    ctx.err(
                        &e.value.span,
                        format!(
                            "{what} entry should be an account map, got {}",
                            e.value.type_name()
                        ),
                    );
                    ok = false;
                    continue;
                };
                for k in &src.entries {
                    let kl = k.key.to_ascii_lowercase();
                    if kl != "account" && kl != "subject" {
                        ctx.unknown(k);
                    }
                }
                let raw: ImportSource = ctx.typed(e, "a map {account, subject}")?;
                source = Some((kind, e, raw));
            }
            "prefix" => prefix = ctx.string(e).map(|s| (e, s)),
            "to" => to = ctx.string(e).map(|s| (e, s)),
            "share" => share = ctx.boolean(e).unwrap_or(false),
            _ => ctx.unknown(e),
        }
    }
    let (kind, src_entry, raw) = source?;
    if !ok {
        return None;
    }
    let (Some(account), Some(subject)) = (
        raw.account.filter(|a| !a.is_empty()),
        raw.subject.filter(|s| !s.is_empty()),
    ) else {
        ctx.err(&src_entry.key_span, "Expect an account name and a subject");
        return None;
    };
    if !subject::is_valid(&subject) {
        ctx.err(
            &src_entry.value.span,
            format!("subject {subject:?} is not a valid subject"),
        );
        return None;
    }
    if let Some((e, t)) = &to {
        if !subject::is_valid(t) {
            ctx.err(
                &e.value.span,
                format!("subject {t:?} is not a valid subject"),
            );
            return None;
        }
    }
    let mut spec = ImportSpec {
        kind,
        account,
        subject,
        to: to.as_ref().map(|t| t.1.clone()),
        prefix: None,
        share,
        span: item.span.clone(),
    };
    if kind == ExportKind::Stream {
        if let Some((pe, p)) = prefix {
            if let Some((te, _)) = &to {
                let _ = pe;
                ctx.err(
                    &te.key_span,
                    "Stream import can not have a 'prefix' and a 'to' property",
                );
                return None;
            }
            if subject::has_wildcard(&p) {
                ctx.err(
                    &pe.value.span,
                    "stream import prefix can not contain wildcard tokens",
                );
                return None;
            }
            spec.prefix = Some(p);
        }
    }
    Some(spec)
}

/// A weighted mapping destination.
#[derive(Deserialize)]
struct MapDestRaw {
    #[serde(alias = "dest")]
    destination: Option<String>,
    weight: Option<WeightRaw>,
    #[allow(dead_code)]
    cluster: Option<String>,
}

/// A weight: `50` or `"50%"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum WeightRaw {
    Int(i64),
    Text(String),
}

/// `mappings { "src": "dest" | {destination, weight} | [ {destination, weight}, ... ] }`.
pub fn mappings(entry: &Entry, ctx: &mut Ctx) -> Vec<MappingSpec> {
    let Some(map) = ctx.map(entry) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in &map.entries {
        if e.used_as_variable {
            continue;
        }
        if !subject::is_valid(&e.key) {
            ctx.err(
                &e.key_span,
                format!("Subject {:?} is not a valid subject", e.key),
            );
            continue;
        }
        let destinations = match &e.value.kind {
            Kind::String(d) => Some(vec![(d.clone(), 100u8)]),
            Kind::Map(_) => map_dest(&e.value, ctx).map(|d| vec![d]),
            Kind::Array(items) => {
                let mut ds = Vec::new();
                for item in items {
                    ds.extend(map_dest(item, ctx));
                }
                let total: u32 = ds.iter().map(|d| u32::from(d.1)).sum();
                if total > 100 {
                    ctx.err(
                        &e.key_span,
                        format!(
                            "Error adding mapping for {:?}: total weight {total} exceeds 100",
                            e.key
                        ),
                    );
                    None
                } else {
                    Some(ds)
                }
            }
            _ => {
                ctx.err(
                    &e.value.span,
                    format!(
                        "Unknown type {} for mapping destination",
                        e.value.type_name()
                    ),
                );
                None
            }
        };
        if let Some(destinations) = destinations {
            out.push(MappingSpec {
                source: e.key.clone(),
                destinations,
                span: e.key_span.clone(),
            });
        }
    }
    out
}

fn map_dest(v: &Value, ctx: &mut Ctx) -> Option<(String, u8)> {
    let Kind::Map(m) = &v.kind else {
        ctx.err(&v.span, "Expected an entry for the mapping destination");
        return None;
    };
    for e in &m.entries {
        let k = e.key.to_ascii_lowercase();
        if !matches!(k.as_str(), "dest" | "destination" | "weight" | "cluster")
            && !e.used_as_variable
        {
            ctx.err(
                &e.key_span,
                format!("Unknown field {:?} for mapping destination", e.key),
            );
            return None;
        }
    }
    let raw: MapDestRaw = ctx.typed_value("destination", v, "a map {destination, weight}")?;
    let dest = raw.destination.unwrap_or_default();
    let weight = match raw.weight {
        None => {
            ctx.err(
                &v.span,
                format!("Missing weight for mapping destination {dest:?}"),
            );
            return None;
        }
        Some(WeightRaw::Int(w)) => w,
        Some(WeightRaw::Text(t)) => match t.trim_end_matches('%').parse::<i64>() {
            Ok(w) => w,
            Err(_) => {
                ctx.err(
                    &v.span,
                    format!(
                        "Invalid weight {:?} for mapping destination",
                        t.trim_end_matches('%')
                    ),
                );
                return None;
            }
        },
    };
    match u8::try_from(weight).ok().filter(|w| *w <= 100) {
        Some(w) => Some((dest, w)),
        None => {
            ctx.err(
                &v.span,
                format!("Invalid weight {weight} for mapping destination"),
            );
            None
        }
    }
}

/// Account `limits { max_connections, max_subscriptions, max_payload, max_leafnodes }`.
#[derive(Deserialize)]
struct LimitsRaw {
    #[serde(alias = "max_conn")]
    max_connections: Option<i64>,
    #[serde(alias = "max_subs")]
    max_subscriptions: Option<i64>,
    #[serde(alias = "max_pay")]
    max_payload: Option<i64>,
    #[serde(alias = "max_leafs")]
    #[allow(dead_code)]
    max_leafnodes: Option<i64>,
}

const LIMIT_KEYS: &[&str] = &[
    "max_connections",
    "max_conn",
    "max_subscriptions",
    "max_subs",
    "max_payload",
    "max_pay",
    "max_leafnodes",
    "max_leafs",
];

fn limits(entry: &Entry, ctx: &mut Ctx) -> AccountLimits {
    let Some(map) = ctx.map(entry) else {
        return AccountLimits::default();
    };
    for e in &map.entries {
        if !e.used_as_variable && !LIMIT_KEYS.contains(&e.key.to_ascii_lowercase().as_str()) {
            ctx.err(
                &e.key_span,
                format!("Unknown field {:?} parsing account limits", e.key),
            );
        }
    }
    let Some(raw) = ctx.typed::<LimitsRaw>(entry, "a map of integer limits") else {
        return AccountLimits::default();
    };
    AccountLimits {
        max_connections: raw.max_connections,
        max_subscriptions: raw.max_subscriptions,
        max_payload: raw.max_payload,
    }
}
