//! Typed build, top level: value tree → [`Config`], collecting every error and warning.
//!
//! Map-shaped sections are walked by hand: nats-server matches keys case-insensitively with many
//! aliases, reports *all* problems at once, skips keys that were only variable definitions, warns
//! (not fails) on unknown keys, and the non-standard constructs need the tree's shape. serde's
//! derive stops at the first error and has none of that, so it is used where a piece has a fixed
//! shape: scalars (`Ctx::typed`) and the small structs in `build_auth`/`build_accounts`.

use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::de::{from_value, DeError};
use super::duration::{self, SignedDuration};
use super::nonstandard::Recorder;
use super::schema::{Config, RuntimeChoice, Span};
use super::value::{Entry, Kind, Map, Value};
use super::{
    build_accounts, build_auth, build_cluster, build_leaf, build_tls, Diagnostic, Severity,
};

/// What one build found, sorted by position.
pub struct Findings {
    pub errors: Vec<Diagnostic>,
    /// Parts of the file corenats ignores or reads differently (unsupported keys, integer durations):
    /// `-t` fails on them, as nats-server's does on its warnings.
    pub warnings: Vec<Diagnostic>,
    /// Non-standard constructs of the founding example, each read with one clear meaning.
    pub notes: Vec<Diagnostic>,
}

/// Collected findings of one build.
pub struct Ctx {
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    /// Non-standard constructs (from parsing, plus those met while building).
    pub nonstandard: Recorder,
}

impl Ctx {
    pub fn new(nonstandard: Recorder) -> Ctx {
        Ctx {
            errors: Vec::new(),
            warnings: Vec::new(),
            nonstandard,
        }
    }

    pub fn err(&mut self, span: &Span, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            span: span.clone(),
            message: message.into(),
            severity: Severity::Error,
        });
    }

    pub fn warn(&mut self, span: &Span, message: impl Into<String>) {
        self.warnings.push(Diagnostic {
            span: span.clone(),
            message: message.into(),
            severity: Severity::Warning,
        });
    }

    /// An unknown key: an error, unless the entry was only a variable. nats-server refuses to
    /// start on one too, and a warning would let a misspelt `pasword` or `authorisation` leave a
    /// server open while it looks configured.
    pub fn unknown(&mut self, entry: &Entry) {
        if !entry.used_as_variable {
            self.err(&entry.key_span, format!("unknown field {:?}", entry.key));
        }
    }

    /// Errors recorded so far (a section compares before and after to know whether it was clean).
    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// A key nats-server knows that corenats does not implement.
    pub fn unsupported(&mut self, entry: &Entry) {
        self.warn(
            &entry.key_span,
            format!(
                "{:?} is not supported by corenats and is ignored",
                entry.key
            ),
        );
    }

    /// Converts `entry`'s value to `T` with serde; on failure records an error that names the
    /// key, the position and `expected`.
    pub fn typed<T: DeserializeOwned>(&mut self, entry: &Entry, expected: &str) -> Option<T> {
        self.typed_value(&entry.key, &entry.value, expected)
    }

    /// As [`Ctx::typed`] for a value under a named key.
    pub fn typed_value<T: DeserializeOwned>(
        &mut self,
        key: &str,
        value: &Value,
        expected: &str,
    ) -> Option<T> {
        match from_value::<T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.de_error(key, value, expected, e);
                None
            }
        }
    }

    fn de_error(&mut self, key: &str, value: &Value, expected: &str, e: DeError) {
        let span = e.span.clone().unwrap_or_else(|| value.span.clone());
        let message = if span != value.span {
            // A node inside the value (a field of a small struct, an array element).
            format!("invalid value in {key:?}: {}", e.message)
        } else if e.message.starts_with("expected ") {
            let got = match value.kind {
                Kind::Map(_) | Kind::Array(_) => value.type_name().to_string(),
                _ => format!("{} {}", value.type_name(), value.render()),
            };
            format!("invalid value for {key:?}: expected {expected}, got {got}")
        } else {
            format!("invalid value for {key:?}: {}", e.message)
        };
        self.err(&span, message);
    }

    pub fn string(&mut self, entry: &Entry) -> Option<String> {
        self.typed(entry, "a string")
    }

    pub fn boolean(&mut self, entry: &Entry) -> Option<bool> {
        self.typed(entry, "a boolean (true/false/yes/no/on/off)")
    }

    /// A non-negative size or count (`1MB`, `64k`, `100`).
    pub fn size(&mut self, entry: &Entry) -> Option<i64> {
        let v: i64 = self.typed(entry, "an integer (sizes may use suffixes such as 1MB)")?;
        if v < 0 {
            self.err(
                &entry.value.span,
                format!(
                    "invalid value for {:?}: must not be negative, got {v}",
                    entry.key
                ),
            );
            return None;
        }
        Some(v)
    }

    /// A duration string; with `int_seconds`, a bare integer counts as seconds with a warning
    /// (nats-server's `parseDuration` backward compatibility).
    pub fn duration(&mut self, entry: &Entry, int_seconds: bool) -> Option<SignedDuration> {
        match &entry.value.kind {
            Kind::String(s) => match duration::parse(s) {
                Ok(d) => Some(d),
                Err(e) => {
                    // nats-server's own text, at its position (the key).
                    self.err(&entry.key_span, format!("error parsing {}: {e}", entry.key));
                    None
                }
            },
            Kind::Int(secs) if int_seconds && secs.unsigned_abs() > duration::MAX.as_secs() => {
                self.err(
                    &entry.value.span,
                    format!(
                        "invalid value for {:?}: {secs} seconds is more than the longest duration ({})",
                        entry.key,
                        duration::go_string(duration::MAX)
                    ),
                );
                None
            }
            Kind::Int(secs) if int_seconds => {
                self.warn(
                    &entry.key_span,
                    format!(
                        "{} should be converted to a duration (e.g. \"{}s\")",
                        entry.key, secs
                    ),
                );
                Some(SignedDuration {
                    negative: *secs < 0,
                    magnitude: Duration::from_secs(secs.unsigned_abs()),
                })
            }
            _ => {
                self.err(
                    &entry.value.span,
                    format!(
                        "invalid value for {:?}: expected a duration string such as \"2s\", got {}",
                        entry.key,
                        entry.value.type_name()
                    ),
                );
                None
            }
        }
    }

    /// A duration that must not be negative.
    pub fn positive_duration(&mut self, entry: &Entry, int_seconds: bool) -> Option<Duration> {
        let d = self.duration(entry, int_seconds)?;
        if d.negative {
            self.err(
                &entry.value.span,
                format!("invalid value for {:?}: must not be negative", entry.key),
            );
            return None;
        }
        Some(d.magnitude)
    }

    /// The value as a map, or an error naming the key.
    pub fn map<'v>(&mut self, entry: &'v Entry) -> Option<&'v Map> {
        match &entry.value.kind {
            Kind::Map(m) => Some(m),
            _ => {
                self.err(
                    &entry.value.span,
                    format!(
                        "invalid value for {:?}: expected a map, got {}",
                        entry.key,
                        entry.value.type_name()
                    ),
                );
                None
            }
        }
    }

    /// Sorted errors, warnings, and notes: the non-standard constructs of the seed dialect, which
    /// corenats reads with a clear meaning (`-t` passes with them unless `--pedantic`).
    pub fn finish(mut self) -> Findings {
        let key = |d: &Diagnostic| (d.span.file.clone(), d.span.line, d.span.col);
        let mut notes = self.nonstandard.diagnostics(Severity::Warning);
        notes.sort_by_key(key);
        self.warnings.sort_by_key(key);
        self.errors.sort_by_key(key);
        Findings {
            errors: self.errors,
            warnings: self.warnings,
            notes,
        }
    }
}

/// Top-level keys nats-server knows but corenats does not implement (warned, then ignored).
const UNSUPPORTED: &[&str] = &[
    "client_advertise",
    "syslog",
    "remote_syslog",
    "logfile_size_limit",
    "log_size_limit",
    "logfile_max_num",
    "log_max_num",
    "logtime_utc",
    "ports_file_dir",
    "prof_port",
    "max_traced_msg_len",
    "ocsp",
    "ocsp_cache",
    "gateway",
    "websocket",
    "ws",
    "mqtt",
    "operator",
    "operators",
    "root",
    "roots",
    "root_operator",
    "root_operators",
    "resolver",
    "account_resolver",
    "accounts_resolver",
    "resolver_tls",
    "resolver_preload",
    "resolver_pinned_accounts",
    "trusted",
    "trusted_keys",
    "connect_error_reports",
    "reconnect_error_reports",
    "server_tags",
    "server_metadata",
    "default_js_domain",
    "no_header_support",
    "write_timeout",
    "no_fast_producer_stall",
    "disable_short_first_ping",
    "trace_headers",
    "default_sentinel",
    "prof_block_rate",
    "proxy_protocol",
    "feature_flags",
    "proxies",
];

/// Builds the whole [`Config`] from the top-level map.
pub fn build(root: &Map, ctx: &mut Ctx) -> Config {
    let mut c = Config::default();
    let mut max_payload_entry: Option<&Entry> = None;
    for entry in &root.entries {
        let key = entry.key.to_ascii_lowercase();
        match key.as_str() {
            "listen" => {
                if let Some((host, port)) = listen(entry, ctx) {
                    if let Some(h) = host.filter(|h| !h.is_empty()) {
                        c.host = h;
                    }
                    c.port = port;
                }
            }
            "port" => {
                if let Some(p) = ctx.typed(entry, "a port number") {
                    c.port = p;
                }
            }
            "host" | "net" => set(&mut c.host, ctx.string(entry)),
            "server_name" => match ctx.string(entry) {
                Some(name) if name.contains(' ') => {
                    ctx.err(&entry.key_span, "server name cannot contain spaces")
                }
                name => c.server_name = name.or(c.server_name.take()),
            },
            "http" => {
                if let Some((host, port)) = listen(entry, ctx) {
                    c.http_host = host.filter(|h| !h.is_empty()).or(c.http_host);
                    c.http_port = Some(port);
                }
            }
            "http_port" | "monitor_port" => {
                if let Some(p) = ctx.typed(entry, "a port number") {
                    c.http_port = Some(p);
                }
            }
            "https" => {
                if let Some((host, port)) = listen(entry, ctx) {
                    c.https_host = host.filter(|h| !h.is_empty()).or(c.https_host);
                    c.https_port = Some(port);
                }
            }
            "https_port" => {
                if let Some(p) = ctx.typed(entry, "a port number") {
                    c.https_port = Some(p);
                }
            }
            "tls" => c.tls = build_tls::tls(entry, ctx),
            "allow_non_tls" => set(&mut c.allow_non_tls, ctx.boolean(entry)),
            "http_base_path" => c.http_base_path = ctx.string(entry).or(c.http_base_path),
            "max_connections" | "max_conn" => {
                if let Some(n) = ctx.typed::<i64>(entry, "an integer") {
                    // nats-server: 0 in config means "no client may connect".
                    c.max_connections = if n == 0 { -1 } else { n };
                }
            }
            "max_subscriptions" | "max_subs" => {
                if let Some(n) = ctx.typed(entry, "a non-negative integer") {
                    c.max_subscriptions = n;
                }
            }
            "max_payload" => {
                if let Some(n) = ctx.size(entry) {
                    match u32::try_from(n).ok().filter(|n| *n <= i32::MAX as u32) {
                        Some(n) => {
                            c.max_payload = n;
                            max_payload_entry = Some(entry);
                        }
                        None => ctx.err(&entry.key_span, "max_payload value is too big"),
                    }
                }
            }
            "max_pending" => set(&mut c.max_pending, ctx.size(entry)),
            "max_control_line" => {
                if let Some(n) = ctx.size(entry) {
                    match u32::try_from(n).ok().filter(|n| *n <= i32::MAX as u32) {
                        Some(n) => c.max_control_line = n,
                        None => ctx.err(&entry.key_span, "max_control_line value is too big"),
                    }
                }
            }
            "max_sub_tokens" | "max_subscription_tokens" => {
                if let Some(n) = ctx.typed::<i64>(entry, "an integer") {
                    if n <= 0 {
                        let msg = format!("{} value can not be negative", entry.key);
                        ctx.err(&entry.key_span, msg);
                    } else if n > i64::from(u8::MAX) {
                        ctx.err(&entry.key_span, format!("{} value is too big", entry.key));
                    } else {
                        c.max_sub_tokens = n as u8;
                    }
                }
            }
            "ping_interval" => set(&mut c.ping_interval, ctx.positive_duration(entry, true)),
            "ping_max" => set(&mut c.ping_max, ctx.typed(entry, "a non-negative integer")),
            "write_deadline" => set(&mut c.write_deadline, ctx.positive_duration(entry, true)),
            "lame_duck_duration" => {
                if let Some(d) = ctx.positive_duration(entry, false) {
                    if d < Duration::from_secs(30) {
                        ctx.err(
                            &entry.key_span,
                            format!(
                                "invalid lame_duck_duration of {}, minimum is 30 seconds",
                                super::duration::go_string(d)
                            ),
                        );
                    } else {
                        c.lame_duck_duration = d;
                    }
                }
            }
            "lame_duck_grace_period" => {
                if let Some(d) = ctx.duration(entry, false) {
                    if d.negative {
                        ctx.err(
                            &entry.key_span,
                            "invalid lame_duck_grace_period, needs to be positive",
                        );
                    } else {
                        c.lame_duck_grace_period = d.magnitude;
                    }
                }
            }
            "max_closed_clients" => set(
                &mut c.max_closed_clients,
                ctx.typed(entry, "a non-negative integer"),
            ),
            "debug" => set(&mut c.debug, ctx.boolean(entry)),
            "trace" => set(&mut c.trace, ctx.boolean(entry)),
            "trace_verbose" => {
                if let Some(true) = ctx.boolean(entry) {
                    c.trace = true;
                }
            }
            "logtime" => set(&mut c.logtime, ctx.boolean(entry)),
            "log_file" | "logfile" => c.log_file = ctx.string(entry).map(PathBuf::from),
            "pid_file" | "pidfile" => c.pid_file = ctx.string(entry).map(PathBuf::from),
            "no_auth_user" => {
                c.no_auth_user = ctx.string(entry);
                c.no_auth_user_span = entry.value.span.clone();
            }
            "system_account" | "system" => {
                c.system_account = ctx.string(entry);
                c.system_account_span = entry.value.span.clone();
            }
            "no_system_account" | "no_system" | "no_sys_acc" => {
                set(&mut c.no_system_account, ctx.boolean(entry))
            }
            "disable_sublist_cache" | "no_sublist_cache" => {
                set(&mut c.disable_sublist_cache, ctx.boolean(entry))
            }
            "authorization" => c.authorization = build_auth::authorization(entry, ctx),
            "accounts" => c.accounts = build_accounts::accounts(entry, ctx),
            "mappings" | "maps" => c.mappings = build_accounts::mappings(entry, ctx),
            "jetstream" => {
                c.jetstream = jetstream_enabled(entry, ctx);
                ctx.warn(
                    &entry.key_span,
                    "jetstream is not supported by corenats; the setting is accepted and ignored",
                );
            }
            "store_dir" | "storedir" => ctx.warn(
                &entry.key_span,
                "store_dir (jetstream) is not supported by corenats and is ignored",
            ),
            "cores" => {
                if let Some(n) = ctx.typed::<usize>(entry, "a positive integer") {
                    if n == 0 {
                        ctx.err(
                            &entry.value.span,
                            "invalid value for \"cores\": must be at least 1",
                        );
                    } else {
                        c.cores = Some(n);
                    }
                }
            }
            "bus_spin" => set(&mut c.bus_spin, ctx.positive_duration(entry, false)),
            "runtime" => {
                if let Some(name) = ctx.string(entry) {
                    match RuntimeChoice::parse(&name) {
                        Some(r) => c.runtime = r,
                        None => ctx.err(
                            &entry.value.span,
                            format!(
                                "invalid value for \"runtime\": expected one of {}, got {name:?}",
                                RuntimeChoice::NAMES.map(|n| format!("{n:?}")).join(", ")
                            ),
                        ),
                    }
                }
            }
            "leafnodes" | "leaf" => {
                if let Some(b) = build_leaf::leafnodes(entry, ctx) {
                    c.leafnodes = b.spec;
                    c.leafnodes_accounts = b.accounts;
                }
            }
            "cluster" => {
                if let Some(b) = build_cluster::cluster(entry, ctx) {
                    c.cluster = b.spec;
                    c.cluster_routes_span = b.routes_span;
                }
            }
            k if UNSUPPORTED.contains(&k) => ctx.unsupported(entry),
            _ => ctx.unknown(entry),
        }
    }
    zero_means_default(&mut c);
    if let Some(entry) = max_payload_entry {
        // Checked with the other cross-field rules (`Config::validate`), after the command line.
        c.max_payload_span = entry.key_span.clone();
    }
    c
}

/// nats-server reads 0 as "use the default" for these settings (its baseline options), so
/// `max_payload: 0` does not refuse every payload and `ping_interval: "0s"` does not ping nonstop.
fn zero_means_default(c: &mut Config) {
    let d = Config::default();
    if c.max_payload == 0 {
        c.max_payload = d.max_payload;
    }
    if c.max_control_line == 0 {
        c.max_control_line = d.max_control_line;
    }
    if c.ping_interval.is_zero() {
        c.ping_interval = d.ping_interval;
    }
    if c.ping_max == 0 {
        c.ping_max = d.ping_max;
    }
    if c.max_pending == 0 {
        c.max_pending = d.max_pending;
    }
    if c.write_deadline.is_zero() {
        c.write_deadline = d.write_deadline;
    }
}

/// Assigns when the conversion succeeded (errors were already recorded).
fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// `listen`/`http`: a port number, or `host:port` (IPv6 in brackets).
pub(super) fn listen(entry: &Entry, ctx: &mut Ctx) -> Option<(Option<String>, i32)> {
    match &entry.value.kind {
        Kind::Int(p) => match i32::try_from(*p) {
            Ok(p) => Some((None, p)),
            Err(_) => {
                ctx.err(&entry.value.span, format!("could not parse port \"{p}\""));
                None
            }
        },
        Kind::String(s) => {
            let Some((host, port)) = split_host_port(s) else {
                ctx.err(
                    &entry.value.span,
                    format!("could not parse address string {s:?}"),
                );
                return None;
            };
            match port.parse::<i32>() {
                Ok(p) => Some((Some(host.to_string()), p)),
                Err(_) => {
                    ctx.err(&entry.value.span, format!("could not parse port {port:?}"));
                    None
                }
            }
        }
        _ => {
            ctx.err(
                &entry.value.span,
                format!(
                    "expected port or host:port for {:?}, got {}",
                    entry.key,
                    entry.value.type_name()
                ),
            );
            None
        }
    }
}

/// Go's `net.SplitHostPort` for the forms a config uses.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host, port))
}

/// `jetstream: true|enabled|{...}`: whether it asks for JetStream.
fn jetstream_enabled(entry: &Entry, ctx: &mut Ctx) -> bool {
    match &entry.value.kind {
        Kind::Bool(b) => *b,
        Kind::String(s) => match s.to_ascii_lowercase().as_str() {
            "enabled" | "enable" => true,
            "disabled" | "disable" => false,
            _ => {
                ctx.err(
                    &entry.value.span,
                    format!("Expected 'enabled' or 'disabled' for string value, got '{s}'"),
                );
                false
            }
        },
        Kind::Map(m) => !m
            .entries
            .iter()
            .any(|e| e.key.eq_ignore_ascii_case("enabled") && e.value.kind == Kind::Bool(false)),
        _ => {
            ctx.err(
                &entry.value.span,
                format!(
                    "Expected map, bool or string to define JetStream, got {}",
                    entry.value.type_name()
                ),
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_split() {
        assert_eq!(
            split_host_port("127.0.0.1:4222"),
            Some(("127.0.0.1", "4222"))
        );
        assert_eq!(split_host_port("[::1]:4222"), Some(("::1", "4222")));
        assert_eq!(split_host_port(":4222"), Some(("", "4222")));
        assert_eq!(split_host_port("localhost"), None);
        assert_eq!(split_host_port("::1:4222"), None);
    }
}
