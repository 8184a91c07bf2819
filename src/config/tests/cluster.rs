//! `cluster { ... }`: every key nats-server's `parseCluster` reads, their aliases, the random port, the
//! keys corenats cannot honour yet (errors) or ignores (warnings), the route URL checks, and the
//! command-line flags over the file (`--cluster`, `--routes`, ...).

use std::time::Duration;

use super::*;
use crate::config::{ClusterSpec, Config, Overrides};

fn cluster(text: &str) -> ClusterSpec {
    ok(text).config.cluster
}

fn messages(diags: &[Diagnostic]) -> Vec<String> {
    diags.iter().map(|d| d.message.clone()).collect()
}

#[test]
fn every_key_is_read() {
    let l = ok(r#"
cluster {
  name: "C1"
  listen: "127.0.0.1:6222"
  advertise: "10.0.0.1:16222"
  no_advertise: true
  connect_retries: 5
  routes: [
    "nats-route://ruser:T0p@127.0.0.1:6223"
    " nats://127.0.0.1:6224 "
  ]
  authorization {
    user: ruser
    password: T0p
    timeout: 0.5
  }
}
"#);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let c = &l.config.cluster;
    assert_eq!(c.name.as_deref(), Some("C1"));
    assert_eq!(c.host, "127.0.0.1");
    assert_eq!(c.port, Some(6222));
    assert_eq!(c.advertise.as_deref(), Some("10.0.0.1:16222"));
    assert!(c.no_advertise);
    assert_eq!(c.connect_retries, 5);
    // Trimmed, as nats-server parses them.
    assert_eq!(
        c.routes,
        [
            "nats-route://ruser:T0p@127.0.0.1:6223",
            "nats://127.0.0.1:6224"
        ]
    );
    assert_eq!(c.user.as_deref(), Some("ruser"));
    assert_eq!(c.password.as_deref(), Some("T0p"));
    assert_eq!(c.auth_timeout, Some(Duration::from_millis(500)));
    assert_eq!(l.config.cluster_routes_span.line, 8);
    assert!(l.config.validate().is_empty());
}

#[test]
fn aliases_and_case() {
    let c = cluster(
        "CLUSTER { Port: 6222, net: \"10.1.1.1\", cluster_advertise: \"h\", \
         authorization { username: a, pass: b, timeout: \"3s\" } }\n",
    );
    assert_eq!((c.host.as_str(), c.port), ("10.1.1.1", Some(6222)));
    assert_eq!(c.advertise.as_deref(), Some("h"));
    assert_eq!(
        (c.user.as_deref(), c.password.as_deref()),
        (Some("a"), Some("b"))
    );
    assert_eq!(c.auth_timeout, Some(Duration::from_secs(3)));
    assert_eq!(cluster("cluster { host: h, port: 1 }\n").host, "h");
    // `listen` takes a bare port too; an empty host keeps the default.
    let c = cluster("cluster { listen: 6222 }\n");
    assert_eq!((c.host.as_str(), c.port), ("0.0.0.0", Some(6222)));
    let c = cluster("cluster { listen: \":6222\" }\n");
    assert_eq!((c.host.as_str(), c.port), ("0.0.0.0", Some(6222)));
    let c = cluster("cluster { listen: \"[::1]:6222\" }\n");
    assert_eq!(c.host, "::1");
}

#[test]
fn defaults_without_a_block() {
    let c = ok("port: 4222\n").config;
    assert_eq!(c.cluster, ClusterSpec::default());
    assert_eq!(c.cluster.port, None);
    assert_eq!(c.cluster.host, "0.0.0.0");
    // An empty name is a dynamic one; 0 timeout the default; `port: 0` no cluster.
    let c = cluster(
        "cluster { name: \"\", port: 0, authorization { user: a, password: b, timeout: 0 } }\n",
    );
    assert_eq!((c.name, c.port, c.auth_timeout), (None, None, None));
    // A negative connect_retries is 0, as nats-server uses it.
    assert_eq!(
        cluster("cluster { connect_retries: -1 }\n").connect_retries,
        0
    );
}

#[test]
fn minus_one_is_a_random_port() {
    assert_eq!(cluster("cluster { port: -1 }\n").port, Some(0));
    let c = cluster("cluster { listen: \"127.0.0.1:-1\" }\n");
    assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", Some(0)));
    let c = cluster("cluster { listen: -1 }\n");
    assert_eq!(c.port, Some(0));
}

#[test]
fn errors_name_the_problem_at_its_position() {
    for (text, want) in [
        ("cluster {\n  name: \"a b\"\n}\n", "2:3 cluster name cannot contain spaces"),
        (
            "cluster {\n  port: 70000\n}\n",
            "2:9 invalid cluster port 70000: a port is 1 to 65535, or -1 for a random one",
        ),
        (
            "cluster {\n  port: -2\n}\n",
            "2:9 invalid cluster port -2: a port is 1 to 65535, or -1 for a random one",
        ),
        (
            "cluster {\n  listen: \"h:x\"\n}\n",
            "2:12 could not parse port \"x\"",
        ),
        (
            "cluster {\n  listen: \"nohost\"\n}\n",
            "2:12 could not parse address string \"nohost\"",
        ),
        (
            "cluster {\n  port: \"x\"\n}\n",
            "2:10 invalid value for \"port\": expected a port number, got a string \"x\"",
        ),
        (
            "cluster {\n  no_advertise: 3\n}\n",
            "2:17 invalid value for \"no_advertise\": expected a boolean (true/false/yes/no/on/off), got an integer 3",
        ),
        (
            "cluster {\n  connect_retries: x\n}\n",
            "2:20 invalid value for \"connect_retries\": expected an integer, got a string \"x\"",
        ),
        (
            "cluster {\n  advertise: \"h:x\"\n}\n",
            "2:15 invalid Cluster.Advertise value of h:x, err=strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (
            "cluster {\n  advertise: \"::1\"\n}\n",
            "2:15 invalid Cluster.Advertise value of ::1, err=address ::1: too many colons in address",
        ),
        ("cluster: 6222\n", "1:9 invalid value for \"cluster\": expected a map, got an integer"),
        ("cluster {\n  bogus: 1\n}\n", "2:3 unknown field \"bogus\""),
        (
            "cluster {\n  authorization {\n    bogus: 1\n  }\n}\n",
            "3:5 unknown field \"bogus\"",
        ),
    ] {
        let e = err(text);
        assert_eq!(short(&e.diagnostics), [want], "{text}");
    }
}

#[test]
fn authorization_is_one_user_without_token_or_permissions() {
    for (text, want) in [
        (
            "cluster {\n  authorization {\n    token: t\n  }\n}\n",
            "2:3 Cluster authorization does not support tokens",
        ),
        (
            "cluster {\n  authorization {\n    users: [ {user: a, password: b} ]\n  }\n}\n",
            "2:3 Cluster authorization does not allow multiple users",
        ),
        (
            "cluster {\n  authorization {\n    users: [ {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4} ]\n  }\n}\n",
            "2:3 Cluster authorization does not allow multiple users",
        ),
        (
            "cluster {\n  authorization {\n    auth_callout: {}\n  }\n}\n",
            "2:3 Cluster authorization does not support callouts",
        ),
        (
            "cluster {\n  authorization {\n    permissions: { import: \">\" }\n  }\n}\n",
            "3:5 cluster authorization \"permissions\" is not supported by corenats yet (routes would run without it)",
        ),
        (
            "cluster {\n  authorization: 1\n}\n",
            "2:18 invalid value for \"authorization\": expected a map, got an integer",
        ),
        (
            "cluster {\n  authorization {\n    timeout: \"x\"\n  }\n}\n",
            "3:15 error parsing authorization config, 'timeout' time: invalid duration \"x\"",
        ),
    ] {
        let e = err(text);
        assert_eq!(short(&e.diagnostics), [want], "{text}");
    }
    // An empty users list is let through, as nats-server does.
    let c = cluster("cluster { port: 1, authorization { user: a, password: b, users: [] } }\n");
    assert_eq!(c.user.as_deref(), Some("a"));
}

#[test]
fn permissions_are_an_error_until_implemented() {
    let e = err("cluster {\n  port: 6222\n  tls { cert_file: a, key_file: b }\n  permissions { import: \">\", export: \">\" }\n}\n");
    assert_eq!(
        short(&e.diagnostics),
        ["4:3 cluster \"permissions\" is not supported by corenats yet (routes would run without it)"]
    );
}

#[test]
fn the_tls_block_is_read_as_nats_server_reads_a_cluster_one() {
    let l = ok(r#"
cluster {
  port: 6222
  TLS {
    cert_file: "node.pem"
    key_file: "node-key.pem"
    ca_file: "ca.pem"
    verify: true
    timeout: 0.5
    insecure: true
    pinned_certs: ["ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789"]
    verify_cert_and_check_known_urls: true
    min_version: "1.3"
  }
}
"#);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let t = l.config.cluster.tls.clone().expect("cluster tls");
    assert_eq!(t.cert_file.as_deref(), Some(Path::new("node.pem")));
    assert_eq!(t.key_file.as_deref(), Some(Path::new("node-key.pem")));
    assert_eq!(t.ca_file.as_deref(), Some(Path::new("ca.pem")));
    assert_eq!(t.timeout, Some(Duration::from_millis(500)));
    assert!(t.insecure && t.verify && t.check_known_urls && !t.map);
    assert_eq!(t.min_version.as_deref(), Some("1.3"));
    assert_eq!(
        t.pinned_certs,
        ["abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"]
    );
    // Errors point at the `tls` key, as nats-server's do.
    assert_eq!((t.span.line, t.span.col), (4, 3));
    // The top-level block is untouched.
    assert_eq!(l.config.tls, None);
    assert!(l.config.validate().is_empty());

    // `verify_and_map` implies `verify`; `verify: false` is read (routes verify anyway).
    let c = cluster("cluster { port: 1, tls { verify_and_map: true } }\n");
    let t = c.tls.unwrap();
    assert!(t.map && t.verify && !t.check_known_urls);
    let c = cluster("cluster { port: 1, tls { verify: false } }\n");
    assert!(!c.tls.unwrap().verify);
    // An empty block is TLS with nats-server's defaults (every handshake fails without a
    // certificate, as nats-server's do).
    assert!(cluster("cluster { port: 1, tls {} }\n").tls.is_some());
    // Without a block: plain-text routes.
    assert_eq!(cluster("cluster { port: 1 }\n").tls, None);
}

#[test]
fn tls_keys_that_mean_nothing_on_a_route_are_read_and_ignored_as_nats_server_does() {
    // Routes always start with TLS, and the rate limit is the client port's.
    let l = ok(
        "cluster { port: 1, tls { handshake_first: false, connection_rate_limit: 10, \
         verify_cert_and_check_known_urls: false } }\n",
    );
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let t = l.config.cluster.tls.unwrap();
    assert_eq!(t.rate_limit, 10);
    assert!(!t.check_known_urls);
}

#[test]
fn tls_errors_are_nats_servers_at_nats_servers_positions() {
    for (text, want) in [
        (
            "cluster {\n  tls {\n    timeout: \"x\"\n  }\n}\n",
            "3:5 error parsing tls config, 'timeout' time: invalid duration \"x\"",
        ),
        (
            "cluster {\n  tls {\n    bogus: 1\n  }\n}\n",
            "3:5 error parsing tls config, unknown field \"bogus\"",
        ),
        (
            "cluster {\n  tls {\n    verify: 1\n  }\n}\n",
            "3:5 error parsing tls config, expected 'verify' to be a boolean",
        ),
        (
            "cluster {\n  tls {\n    min_version: \"1.1\"\n  }\n}\n",
            "3:5 error parsing tls config: unsupported TLS version: TLS 1.1",
        ),
        (
            "cluster {\n  tls: 1\n}\n",
            "2:8 invalid value for \"tls\": expected a map, got an integer",
        ),
    ] {
        let e = err(text);
        assert_eq!(short(&e.diagnostics), [want], "{text}");
    }
    // `verify_cert_and_check_known_urls` is for routes (and gateways): still refused at the top.
    let e = err("tls {\n  verify_cert_and_check_known_urls: true\n}\n");
    assert_eq!(
        short(&e.diagnostics),
        ["2:3 verify_cert_and_check_known_urls not supported in this context"]
    );
}

#[test]
fn the_tls_blocks_files_are_checked_with_the_servers_at_the_tls_key() {
    // nats-server's `GenTLSConfig` texts, at the cluster's `tls` key; with or without a port.
    for port in ["port: 6222", ""] {
        let l = ok(&format!(
            "cluster {{\n  {port}\n  tls {{\n    cert_file: \"/nonexistent/c.pem\"\n  }}\n}}\n"
        ));
        let d = crate::tls::compile::for_config(&l.config).unwrap_err();
        assert_eq!(d.message, "missing 'key_file' in TLS configuration");
        assert_eq!((d.span.line, d.span.col), (3, 3));
    }
    let l = ok("cluster {\n  port: 6222\n  tls {\n    ca_file: \"/nonexistent/ca.pem\"\n  }\n}\n");
    let d = crate::tls::compile::for_config(&l.config).unwrap_err();
    assert!(d.message.contains("/nonexistent/ca.pem"), "{}", d.message);
}

#[test]
fn pooling_compression_and_keepalive_keys_are_warned_and_ignored() {
    let l = ok(r#"
cluster {
  port: 6222
  pool_size: 3
  accounts: [A, B]
  compression: s2_auto
  ping_interval: "30s"
  ping_max: 3
  write_deadline: "5s"
  write_timeout: close
  connect_backoff: true
}
"#);
    assert_eq!(
        short(&l.warnings),
        [
            "4:3 cluster \"pool_size\" is not supported by corenats and is ignored: routes are single connections, without pooling",
            "5:3 cluster \"accounts\" is not supported by corenats and is ignored: routes are single connections, without pooling",
            "6:3 cluster \"compression\" is not supported by corenats and is ignored: routes are not compressed",
            "7:3 cluster \"ping_interval\" is not supported by corenats and is ignored",
            "8:3 cluster \"ping_max\" is not supported by corenats and is ignored",
            "9:3 cluster \"write_deadline\" is not supported by corenats and is ignored",
            "10:3 cluster \"write_timeout\" is not supported by corenats and is ignored",
            "11:3 cluster \"connect_backoff\" is not supported by corenats and is ignored",
        ]
    );
    assert_eq!(l.config.cluster.port, Some(6222));
    // `-t` fails on them, as on every ignored key.
    let e = crate::config::load_text(
        "cluster { port: 6222, pool_size: 3 }\n",
        Path::new("t.conf"),
        crate::config::Strictness::Check,
        &|_: &str| None,
    )
    .unwrap_err();
    assert_eq!(e.diagnostics.len(), 1);
}

#[test]
fn route_urls_are_checked() {
    let e = err(r#"cluster {
  port: 6222
  routes: [
    "127.0.0.1:6223"
    "nats-route://h:x"
    "localhost:6223"
    "nats://h"
    "nats://a b:1"
    "nats://h:0"
    "http://h:1"
    7
  ]
}
"#);
    assert_eq!(
        short(&e.diagnostics),
        [
            "4:6 error parsing route url [\"127.0.0.1:6223\"]: first path segment in URL cannot contain colon",
            "5:6 error parsing route url [\"nats-route://h:x\"]: invalid port \":x\" after host",
            "6:6 error parsing route url [\"localhost:6223\"]: no host and port to connect to (write nats-route://host:port)",
            "7:6 error parsing route url [\"nats://h\"]: address h: missing port in address",
            "8:6 error parsing route url [\"nats://a b:1\"]: invalid character \" \" in host name",
            "9:6 error parsing route url [\"nats://h:0\"]: invalid port \"0\"",
            "10:6 error parsing route url [\"http://h:1\"]: unsupported scheme \"http\"",
            "11:5 invalid value in \"routes\": expected a URL string, got an integer",
        ]
    );
    let e = err("cluster {\n  port: 1\n  routes: \"nats://h:1\"\n}\n");
    assert_eq!(
        short(&e.diagnostics),
        ["3:12 invalid value for \"routes\": expected an array of URLs, got a string"]
    );
    // IPv6, user info with escapes, the schemes the dialer reads.
    let c = cluster(
        "cluster { port: 1, routes: [\"tls://[::1]:6222\", \"nats://u:p%40ss@h:6222/\", \"nats-route://h:1\"] }\n",
    );
    assert_eq!(c.routes.len(), 3);
}

#[test]
fn a_repeated_route_is_warned_and_dropped() {
    let l = ok("cluster {\n  port: 1\n  routes: [\"nats://h:1\", \"nats://h:1\"]\n}\n");
    assert_eq!(l.config.cluster.routes, ["nats://h:1"]);
    assert_eq!(
        short(&l.warnings),
        ["3:27 invalid use of field \"nats://h:1\": Duplicate route entry detected"]
    );
}

#[test]
fn routes_without_a_listener_are_an_error() {
    // Checked with the rules that join settings, after the command line (which may add the port).
    let l = ok("cluster {\n  host: 127.0.0.1\n  routes: [\"nats://h:1\"]\n}\n");
    assert_eq!(
        short(&l.config.validate()),
        ["3:3 solicited routes require cluster capabilities, e.g. --cluster"]
    );
    let l = ok("cluster {\n  port: 0\n  routes: [\"nats://h:1\"]\n}\n");
    assert_eq!(l.config.validate().len(), 1);
    assert!(ok("cluster { port: -1, routes: [\"nats://h:1\"] }\n")
        .config
        .validate()
        .is_empty());
    // No routes, no listener: no cluster, nothing to say.
    assert!(ok("cluster { name: C }\n").config.validate().is_empty());
}

#[test]
fn every_nats_server_cluster_key_is_known() {
    const CLUSTER: &str = "name listen port host net authorization routes tls cluster_advertise \
        advertise no_advertise connect_retries connect_backoff permissions pool_size accounts \
        compression ping_interval ping_max write_deadline write_timeout";
    for k in CLUSTER.split_whitespace() {
        let text = format!("cluster {{ {k}: 1 }}\n");
        let diags = match crate::config::parse_str(&text, Path::new("k.conf"), true) {
            Ok(l) => l.warnings,
            Err(e) => e.diagnostics,
        };
        assert!(
            !diags.iter().any(|d| d.message.contains("unknown field")),
            "{k}: {diags:?}"
        );
    }
}

fn apply(o: Overrides, file: &str) -> (Config, Vec<String>) {
    let mut cfg = ok(file).config;
    let mut errs = messages(&o.check());
    o.apply(&mut cfg);
    errs.extend(messages(&cfg.validate()));
    (cfg, errs)
}

#[test]
fn cluster_flag_sets_listener_and_user_over_the_file() {
    let file = "cluster { listen: \"127.0.0.1:6222\", name: F, authorization { user: fu, password: fp, timeout: 3 }, routes: [\"nats://h:1\"] }\n";
    let (c, errs) = apply(
        Overrides {
            cluster: Some("nats://ru:rp@10.0.0.1:7244".into()),
            ..Overrides::default()
        },
        file,
    );
    assert!(errs.is_empty(), "{errs:?}");
    let k = &c.cluster;
    assert_eq!((k.host.as_str(), k.port), ("10.0.0.1", Some(7244)));
    assert_eq!(
        (k.user.as_deref(), k.password.as_deref()),
        (Some("ru"), Some("rp"))
    );
    // The rest of the block stays.
    assert_eq!(k.name.as_deref(), Some("F"));
    assert_eq!(k.routes, ["nats://h:1"]);
    assert_eq!(k.auth_timeout, Some(Duration::from_secs(3)));
    // Without user info the file's user and password are dropped (nats-server's overrideCluster).
    let (c, _) = apply(
        Overrides {
            cluster: Some("nats://127.0.0.1:-1".into()),
            ..Overrides::default()
        },
        file,
    );
    assert_eq!(c.cluster.port, Some(0));
    assert_eq!((c.cluster.user, c.cluster.password), (None, None));
    // An empty host listens everywhere.
    let (c, _) = apply(
        Overrides {
            cluster: Some("nats://:6222".into()),
            ..Overrides::default()
        },
        "",
    );
    assert_eq!(
        (c.cluster.host.as_str(), c.cluster.port),
        ("0.0.0.0", Some(6222))
    );
}

#[test]
fn empty_cluster_flag_turns_the_listener_off() {
    let (c, errs) = apply(
        Overrides {
            cluster: Some(String::new()),
            ..Overrides::default()
        },
        "cluster { port: 6222 }\n",
    );
    assert_eq!(c.cluster.port, None);
    assert!(errs.is_empty());
    // With the file's routes left, that is the routes-without-listener error, at the routes.
    let (_, errs) = apply(
        Overrides {
            cluster: Some(String::new()),
            ..Overrides::default()
        },
        "cluster { port: 6222, routes: [\"nats://h:1\"] }\n",
    );
    assert_eq!(
        errs,
        ["solicited routes require cluster capabilities, e.g. --cluster"]
    );
}

#[test]
fn cluster_flag_errors_are_nats_servers() {
    for (flag, want) in [
        ("nats://u@h:6222", "expected cluster password to be set"),
        ("nats://h", "address h: missing port in address"),
        ("localhost:6222", "missing port in address"),
        (
            "127.0.0.1:6222",
            "parse \"127.0.0.1:6222\": first path segment in URL cannot contain colon",
        ),
        (
            "nats://h:70000",
            "invalid cluster port 70000: a port is 1 to 65535, or -1 for a random one",
        ),
    ] {
        let (_, errs) = apply(
            Overrides {
                cluster: Some(flag.into()),
                ..Overrides::default()
            },
            "",
        );
        assert_eq!(errs, [want], "{flag}");
    }
}

#[test]
fn routes_flag_replaces_the_files_routes() {
    let file = "cluster {\n  port: 6222\n  routes: [\"nats://a:1\"]\n}\n";
    let (c, errs) = apply(
        Overrides {
            routes: Some("nats://b:1, nats-route://u:p@c:2".into()),
            ..Overrides::default()
        },
        file,
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(c.cluster.routes, ["nats://b:1", "nats-route://u:p@c:2"]);
    assert_eq!(c.cluster_routes_span.line, 0);
    // `--routes ""` drops them.
    let (c, _) = apply(
        Overrides {
            routes: Some(String::new()),
            ..Overrides::default()
        },
        file,
    );
    assert!(c.cluster.routes.is_empty());
    // A bad URL, and routes without any listener (flag or file): nats-server's texts, no position.
    let (_, errs) = apply(
        Overrides {
            routes: Some("nats://b:1,b:x".into()),
            ..Overrides::default()
        },
        "",
    );
    assert_eq!(
        errs,
        [
            "error parsing route url [\"b:x\"]: no host and port to connect to (write nats-route://host:port)",
            "solicited routes require cluster capabilities, e.g. --cluster",
        ]
    );
    // A listener from the flag makes the file's routes fine.
    let (c, errs) = apply(
        Overrides {
            cluster: Some("nats://127.0.0.1:-1".into()),
            ..Overrides::default()
        },
        "cluster { routes: [\"nats://a:1\"] }\n",
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(c.cluster.port, Some(0));
}

#[test]
fn name_advertise_no_advertise_and_retries_flags_win() {
    let file = "cluster { port: 1, name: F, advertise: \"f:1\", no_advertise: true, connect_retries: 2 }\n";
    let (c, errs) = apply(
        Overrides {
            cluster_name: Some("N".into()),
            cluster_advertise: Some("n:2".into()),
            no_advertise: Some(false),
            connect_retries: Some(9),
            ..Overrides::default()
        },
        file,
    );
    assert!(errs.is_empty(), "{errs:?}");
    let k = &c.cluster;
    assert_eq!(k.name.as_deref(), Some("N"));
    assert_eq!(k.advertise.as_deref(), Some("n:2"));
    assert!(!k.no_advertise);
    assert_eq!(k.connect_retries, 9);
    // Empty strings clear; flags not given keep the file's.
    let (c, _) = apply(
        Overrides {
            cluster_name: Some(String::new()),
            cluster_advertise: Some(String::new()),
            ..Overrides::default()
        },
        file,
    );
    assert_eq!((c.cluster.name, c.cluster.advertise), (None, None));
    assert!(c.cluster.no_advertise);
    assert_eq!(c.cluster.connect_retries, 2);
    let (_, errs) = apply(
        Overrides {
            cluster_name: Some("a b".into()),
            cluster_advertise: Some("h:x".into()),
            ..Overrides::default()
        },
        "",
    );
    assert_eq!(
        errs,
        [
            "cluster name cannot contain spaces",
            "invalid Cluster.Advertise value of h:x, err=strconv.Atoi: parsing \"x\": invalid syntax",
        ]
    );
}
