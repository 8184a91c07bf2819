//! Top-level server settings: defaults, aliases, units, warnings.

use std::time::Duration;

use super::*;
use crate::config::Config;

#[test]
fn defaults_are_nats_server_defaults() {
    let c = Config::default();
    assert_eq!((c.host.as_str(), c.port), ("0.0.0.0", 4222));
    assert_eq!(c.max_connections, 65536);
    assert_eq!(c.max_subscriptions, 0);
    assert_eq!(c.max_payload, 1 << 20);
    assert_eq!(c.max_pending, 64 << 20);
    assert_eq!(c.max_control_line, 4096);
    assert_eq!(c.ping_interval, Duration::from_secs(120));
    assert_eq!(c.ping_max, 2);
    assert_eq!(c.write_deadline, Duration::from_secs(10));
    assert_eq!(c.lame_duck_duration, Duration::from_secs(120));
    assert_eq!(c.lame_duck_grace_period, Duration::from_secs(10));
    assert!(c.logtime && !c.debug && !c.trace);
    assert_eq!(c.max_closed_clients, 10_000);
    assert_eq!(c.bus_spin, Duration::ZERO);
    assert_eq!(c.cores, None);
    let empty = ok("");
    assert_eq!(empty.config.port, 4222);
    // nats-server starts on an empty file; its `-t` refuses it.
    assert_eq!(
        short(&empty.warnings),
        ["0:0 test.conf: config has no values or is empty"]
    );
}

#[test]
fn every_server_key() {
    let l = ok(r#"
host: 127.0.0.1
port: 4333
server_name: "srv-1"
http: "0.0.0.0:8222"
http_base_path: /mon
MAX_CONN: 100
max_subs: 50
max_payload: 2MB
max_pending: 100MB
max_control_line: 8KB
ping_interval: "30s"
ping_max: 5
write_deadline: "3s"
lame_duck_duration: "45s"
lame_duck_grace_period: "5s"
debug: true
trace: on
logtime: false
logfile: "/tmp/n.log"
pidfile: "/tmp/n.pid"
no_auth_user: someone
system_account: SYS
no_system_account: yes
no_sublist_cache: true
max_closed_clients: 5
max_sub_tokens: 16
cores: 2
bus_spin: "20us"
"#);
    assert!(l.warnings.is_empty(), "{:?}", short(&l.warnings));
    let c = l.config;
    assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 4333));
    assert_eq!(c.server_name.as_deref(), Some("srv-1"));
    assert_eq!(
        (c.http_host.as_deref(), c.http_port),
        (Some("0.0.0.0"), Some(8222))
    );
    assert_eq!(c.http_base_path.as_deref(), Some("/mon"));
    assert_eq!(c.max_connections, 100);
    assert_eq!(c.max_subscriptions, 50);
    assert_eq!(c.max_payload, 2 << 20);
    assert_eq!(c.max_pending, 100 << 20);
    assert_eq!(c.max_control_line, 8192);
    assert_eq!(c.ping_interval, Duration::from_secs(30));
    assert_eq!(c.ping_max, 5);
    assert_eq!(c.write_deadline, Duration::from_secs(3));
    assert_eq!(c.lame_duck_duration, Duration::from_secs(45));
    assert_eq!(c.lame_duck_grace_period, Duration::from_secs(5));
    assert!(c.debug && c.trace && !c.logtime);
    assert_eq!(c.log_file.as_deref(), Some(Path::new("/tmp/n.log")));
    assert_eq!(c.pid_file.as_deref(), Some(Path::new("/tmp/n.pid")));
    assert_eq!(c.no_auth_user.as_deref(), Some("someone"));
    assert_eq!(c.system_account.as_deref(), Some("SYS"));
    assert!(c.no_system_account && c.disable_sublist_cache);
    assert_eq!(c.max_closed_clients, 5);
    assert_eq!(c.max_sub_tokens, 16);
    assert_eq!(c.cores, Some(2));
    assert_eq!(c.bus_spin, Duration::from_micros(20));
}

#[test]
fn listen_forms_and_aliases() {
    let c = ok("listen: 127.0.0.1:4555\n").config;
    assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 4555));
    let c = ok("listen: 4556\n").config;
    assert_eq!((c.host.as_str(), c.port), ("0.0.0.0", 4556));
    let c = ok("listen: \"[::1]:4557\"\n").config;
    assert_eq!(c.host, "::1");
    let c = ok("net: 10.0.0.1\nport: -1\nmonitor_port: 8222\n").config;
    assert_eq!(
        (c.host.as_str(), c.port, c.http_port),
        ("10.0.0.1", -1, Some(8222))
    );
    let c = ok("http_port: -1\n").config;
    assert_eq!(c.http_port, Some(-1));
    let e = err("listen: \"localhost\"\n");
    assert!(has(
        &e.diagnostics,
        1,
        "could not parse address string \"localhost\""
    ));
    let e = err("listen: \"h:x\"\n");
    assert!(has(&e.diagnostics, 1, "could not parse port \"x\""));
}

#[test]
fn max_connections_zero_rejects_everyone() {
    assert_eq!(ok("max_connections: 0\n").config.max_connections, -1);
}

#[test]
fn ping_interval_bare_int_is_seconds_with_warning() {
    let l = ok("ping_interval: 30\n");
    assert_eq!(l.config.ping_interval, Duration::from_secs(30));
    assert_eq!(
        short(&l.warnings),
        ["1:0 ping_interval should be converted to a duration (e.g. \"30s\")"]
    );
    let e = pedantic("ping_interval: 30\n").unwrap_err();
    assert!(has(
        &e.diagnostics,
        1,
        "ping_interval should be converted to a duration"
    ));
}

#[test]
fn durations_errors() {
    let e = err("write_deadline: \"10x\"\nlame_duck_duration: \"10s\"\nlame_duck_grace_period: \"-1s\"\nbus_spin: 5\n");
    let d = &e.diagnostics;
    assert!(
        has(
            d,
            1,
            "error parsing write_deadline: time: unknown unit \"x\" in duration \"10x\""
        ),
        "{:?}",
        short(d)
    );
    assert!(
        has(
            d,
            2,
            "invalid lame_duck_duration of 10s, minimum is 30 seconds"
        ),
        "{:?}",
        short(d)
    );
    assert!(has(
        d,
        3,
        "invalid lame_duck_grace_period, needs to be positive"
    ));
    assert!(has(
        d,
        4,
        "invalid value for \"bus_spin\": expected a duration string such as \"2s\", got an integer"
    ));
}

#[test]
fn unknown_keys_are_errors_as_in_nats_server() {
    let e = err("foo_unknown: 1\nport: 4222\n");
    assert_eq!(short(&e.diagnostics), ["1:0 unknown field \"foo_unknown\""]);
    let e = pedantic("foo_unknown: 1\n").unwrap_err();
    assert_eq!(short(&e.diagnostics), ["1:0 unknown field \"foo_unknown\""]);
    let e = err("authorisation { user: a, password: b }\n");
    assert_eq!(
        short(&e.diagnostics),
        ["1:0 unknown field \"authorisation\""]
    );
    let e = err("authorization { user: a, passwd: b }\n");
    assert_eq!(short(&e.diagnostics), ["1:25 unknown field \"passwd\""]);
    let e = err("accounts { A { userz: [] } }\n");
    assert_eq!(short(&e.diagnostics), ["1:15 unknown field \"userz\""]);
}

#[test]
fn variables_are_not_unknown_fields_but_unused_ones_are() {
    let l = ok("PORT_VAR: 4999\nport: $PORT_VAR\n");
    assert_eq!(l.config.port, 4999);
    assert!(l.warnings.is_empty());
    let e = err("PORT_VAR: 4999\nport: $PORT_VAR\nUNUSED: 1\n");
    assert_eq!(short(&e.diagnostics), ["3:1 unknown field \"UNUSED\""]);
}

#[test]
fn environment_variables() {
    let l = with_env(
        "max_subs: $ENV_SUBS\nserver_name: $NAME\n",
        "t.conf",
        &[("ENV_SUBS", "77"), ("NAME", "n1")],
        false,
    )
    .unwrap();
    assert_eq!(l.config.max_subscriptions, 77);
    assert_eq!(l.config.server_name.as_deref(), Some("n1"));
}

#[test]
fn jetstream_and_unsupported_keys_warn() {
    let l = ok("jetstream: enabled\nstore_dir: \"/data\"\ngateway { port: 7222 }\n");
    assert!(l.config.jetstream);
    let s = short(&l.warnings);
    assert!(s[0].starts_with("1:0 jetstream is not supported"), "{s:?}");
    assert!(
        s[1].starts_with("2:1 store_dir (jetstream) is not supported"),
        "{s:?}"
    );
    assert!(
        s[2].starts_with("3:1 \"gateway\" is not supported by corenats"),
        "{s:?}"
    );
    assert!(!ok("jetstream { enabled: false }\n").config.jetstream);
    assert!(pedantic("jetstream: true\n").is_err());
}

#[test]
fn type_and_range_errors_name_key_and_position() {
    let e = err("max_payload: \"big\"\nmax_pending: -5\ndebug: 3\nmax_subs: -1\ncores: 0\nmax_control_line: 3GB\nmax_sub_tokens: 300\n");
    let s = short(&e.diagnostics);
    assert_eq!(s.len(), 7, "{s:?}");
    assert_eq!(s[0], "1:14 invalid value for \"max_payload\": expected an integer (sizes may use suffixes such as 1MB), got a string \"big\"");
    assert_eq!(
        s[1],
        "2:14 invalid value for \"max_pending\": must not be negative, got -5"
    );
    assert_eq!(s[2], "3:8 invalid value for \"debug\": expected a boolean (true/false/yes/no/on/off), got an integer 3");
    assert_eq!(
        s[3],
        "4:11 invalid value for \"max_subs\": expected a non-negative integer, got an integer -1"
    );
    assert_eq!(s[4], "5:8 invalid value for \"cores\": must be at least 1");
    assert_eq!(s[5], "6:1 max_control_line value is too big");
    assert_eq!(s[6], "7:1 max_sub_tokens value is too big");
}

#[test]
fn max_payload_over_max_pending_is_an_error() {
    // A rule that joins two settings: checked by `Config::validate` once the command line is applied
    // (`Source::load`), with the position of `max_payload`.
    let l = ok("max_pending: 1KB\nmax_payload: 2KB\n");
    assert_eq!(
        short(&l.config.validate()),
        ["2:1 max_payload (2048) cannot be higher than max_pending (1024)"]
    );
}

#[test]
fn zero_means_the_default_as_in_nats_server() {
    let d = Config::default();
    let c = ok("max_payload: 0\nmax_control_line: 0\nping_interval: \"0s\"\nping_max: 0\nmax_pending: 0\nwrite_deadline: \"0s\"\n").config;
    assert_eq!(c.max_payload, d.max_payload);
    assert_eq!(c.max_control_line, d.max_control_line);
    assert_eq!(c.ping_interval, d.ping_interval);
    assert_eq!(c.ping_max, d.ping_max);
    assert_eq!(c.max_pending, d.max_pending);
    assert_eq!(c.write_deadline, d.write_deadline);
    // max_payload checked against the default max_pending, not against 0.
    assert!(ok("max_payload: 2MB\nmax_pending: 0\n").warnings.is_empty());
}

#[test]
fn server_name_cannot_contain_spaces() {
    let e = err("server_name: 'a b'\n");
    assert_eq!(
        short(&e.diagnostics),
        ["1:0 server name cannot contain spaces"]
    );
    assert_eq!(
        ok("server_name: ab\n").config.server_name.as_deref(),
        Some("ab")
    );
}

/// Every key nats-server 2.15 accepts (its opts.go switch statements) is known here: implemented, or
/// warned about as unsupported. Unknown keys are errors, so a missing one would refuse a valid file.
#[test]
fn every_nats_server_key_is_known() {
    const TOP: &str = "listen client_advertise port server_name host net debug trace trace_verbose \
        trace_headers logtime logtime_utc mappings maps disable_sublist_cache no_sublist_cache accounts \
        default_sentinel authorization http https http_port monitor_port https_port http_base_path \
        cluster gateway leaf leafnodes store_dir storedir jetstream logfile log_file logfile_size_limit \
        log_size_limit logfile_max_num log_max_num syslog remote_syslog pidfile pid_file ports_file_dir \
        prof_port prof_block_rate max_control_line max_payload max_pending proxy_protocol max_connections \
        max_conn max_traced_msg_len max_subscriptions max_subs max_sub_tokens max_subscription_tokens \
        ping_interval ping_max tls ocsp allow_non_tls write_deadline write_timeout lame_duck_duration \
        lame_duck_grace_period operator operators roots root root_operators root_operator resolver \
        account_resolver accounts_resolver resolver_tls resolver_preload resolver_pinned_accounts \
        no_auth_user system_account system no_system_account no_system no_sys_acc no_header_support \
        trusted trusted_keys connect_error_reports reconnect_error_reports websocket ws mqtt server_tags \
        server_metadata feature_flags default_js_domain ocsp_cache no_fast_producer_stall \
        max_closed_clients proxies";
    const AUTHZ: &str = "user username pass password token timeout users default_permission \
        default_permissions permissions auth_callout auth_hook proxy_required";
    const USER: &str = "nkey user username pass password permission permissions authorization \
        allowed_connection_types connection_types clients proxy_required";
    const ACCOUNT: &str =
        "nkey imports exports jetstream users default_permissions mappings maps limits msg_trace trace_dest";
    const LIMITS: &str =
        "max_connections max_conn max_subscriptions max_subs max_payload max_pay max_leafnodes max_leafs";
    let unknown = |text: String| -> Vec<String> {
        let diags = match crate::config::parse_str(&text, Path::new("k.conf"), true) {
            Ok(l) => l.warnings,
            Err(e) => e.diagnostics,
        };
        diags
            .into_iter()
            .filter(|d| d.message.to_ascii_lowercase().contains("unknown field"))
            .map(|d| format!("{text}: {}", d.message))
            .collect()
    };
    let mut found = Vec::new();
    for k in TOP.split_whitespace() {
        found.extend(unknown(format!("{k}: 1\n")));
    }
    for k in AUTHZ.split_whitespace() {
        found.extend(unknown(format!("authorization {{ {k}: 1 }}\n")));
    }
    for k in USER.split_whitespace() {
        found.extend(unknown(format!(
            "authorization {{ users: [ {{user: x, password: y, {k}: 1}} ] }}\n"
        )));
    }
    for k in ACCOUNT.split_whitespace() {
        found.extend(unknown(format!("accounts {{ A {{ {k}: 1 }} }}\n")));
    }
    for k in LIMITS.split_whitespace() {
        found.extend(unknown(format!(
            "accounts {{ A {{ limits: {{ {k}: 1 }} }} }}\n"
        )));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn durations_beyond_gos_limit_are_errors_not_panics() {
    // Each used to load, then panic a shard at the first connection (`Instant + duration`).
    for (text, line) in [
        (
            "authorization { user: a, password: b, timeout: 10000000000000000000.0 }\n",
            1,
        ),
        ("ping_interval: 99999999999999999\n", 1),
        ("write_deadline: 9223372037\n", 1),
        ("ping_interval: \"2562048h\"\n", 1),
    ] {
        let e = err(text);
        assert!(
            e.diagnostics.iter().any(|d| d.span.line == line),
            "{text}: {e}"
        );
    }
    // The limit itself is fine.
    let l = ok("ping_interval: 9223372036\n");
    assert_eq!(l.config.ping_interval, Duration::from_secs(9_223_372_036));
    let l = ok("authorization { user: a, password: b, timeout: 1000000000.0 }\n");
    assert_eq!(
        l.config.authorization.and_then(|a| a.timeout),
        Some(Duration::from_secs(1_000_000_000))
    );
}

#[test]
fn runtime_key() {
    use crate::config::RuntimeChoice;
    assert_eq!(Config::default().runtime, RuntimeChoice::Auto);
    for (text, want) in [
        ("runtime: auto\n", RuntimeChoice::Auto),
        ("runtime: io_uring\n", RuntimeChoice::IoUring),
        ("runtime = \"epoll\"\n", RuntimeChoice::Epoll),
    ] {
        let l = ok(text);
        assert!(l.warnings.is_empty(), "{:?}", short(&l.warnings));
        assert_eq!(l.config.runtime, want, "{text}");
    }
    let e = err("port: 4222\nruntime: uring\n");
    assert!(
        has(
            &e.diagnostics,
            2,
            "invalid value for \"runtime\": expected one of \"auto\", \"io_uring\", \"epoll\", got \"uring\""
        ),
        "{:?}",
        short(&e.diagnostics)
    );
}
