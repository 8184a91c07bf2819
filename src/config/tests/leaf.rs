//! `leafnodes { ... }`: the remotes corenats dials, the remote keys it cannot honour yet (errors), the
//! URL and account checks; the accepting side (listener, advertise, authorization) with every key and
//! alias nats-server's `parseLeafNodes`/`parseLeafAuthorization`/`parseLeafUsers` read, the keys it
//! cannot honour yet (errors) or ignores (warnings), and the accounts the leaf users bind.

use std::time::Duration;

use super::*;
use crate::config::{LeafSpec, LeafUserSpec};

#[test]
fn remotes_with_urls_accounts_and_deny_lists() {
    let l = ok(r#"
accounts { A { users = [ { user: a, password: a } ] } }
leafnodes {
  reconnect: "3s"
  remotes = [
    { url: "nats-leaf://u:p@hub:7422", account: A, deny_imports: ["secret.>"], deny_exports: "x" }
    { urls: ["nats://h1", "h2:7000"] }
  ]
}
"#);
    let r = &l.config.leafnodes;
    assert_eq!(r.reconnect, Duration::from_secs(3));
    assert_eq!(r.remotes.len(), 2);
    assert_eq!(r.remotes[0].urls, vec!["nats-leaf://u:p@hub:7422"]);
    assert_eq!(r.remotes[0].account.as_deref(), Some("A"));
    assert_eq!(r.remotes[0].deny_imports, vec!["secret.>"]);
    assert_eq!(r.remotes[0].deny_exports, vec!["x"]);
    assert_eq!(r.remotes[1].urls.len(), 2);
    assert_eq!(r.remotes[1].account, None);
}

#[test]
fn remote_keys_not_honoured_yet_and_bad_remotes_are_errors() {
    for (text, want) in [
        (
            r#"leafnodes { remotes = [ { url: "nats://h", hub: true } ] }"#,
            "leafnode remote \"hub\" is not supported by corenats yet",
        ),
        (
            r#"leafnodes { remotes = [ { url: "nats://h", credentials: "x.creds" } ] }"#,
            "error reading credentials file \"x.creds\": No such file or directory (os error 2)",
        ),
        (
            r#"leafnodes { remotes = [ { url: "nats://h", nkey: "SUBOGUS" } ] }"#,
            "invalid nkey seed: Invalid key length: Bad seed length: 7",
        ),
        (
            r#"leafnodes { remotes = [ { account: A } ] }"#,
            "leafnode remote requires at least one url",
        ),
        (
            r#"leafnodes { remotes = [ { url: "http://h" } ] }"#,
            "error parsing remote url \"http://h\": unsupported scheme \"http\"",
        ),
        (
            r#"leafnodes { remotes = [ { url: "nats://h", bogus: 1 } ] }"#,
            "unknown field \"bogus\"",
        ),
    ] {
        let e = err(text);
        let msgs: Vec<String> = e.diagnostics.iter().map(|d| d.message.clone()).collect();
        assert!(msgs.iter().any(|m| m == want), "{text}: {msgs:?}");
    }
    // Checked with the rules that join settings (after the command line).
    let l = ok(r#"leafnodes { remotes = [ { url: "nats://h", account: NOPE } ] }"#);
    let v = l.config.validate();
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].message,
        "leafnode remote account \"NOPE\" is not defined"
    );
}

#[test]
fn a_remotes_tls_block_is_read_and_its_files_checked_with_the_servers() {
    let l = ok(
        r#"leafnodes { remotes = [ { url: "nats://h", tls: { ca_file: "/nonexistent/ca.pem", handshake_first: true, timeout: 3 } } ] }"#,
    );
    let t = l.config.leafnodes.remotes[0].tls.as_ref().unwrap();
    assert_eq!(t.timeout, Some(std::time::Duration::from_secs(3)));
    let d = crate::tls::compile::for_config(&l.config).unwrap_err();
    assert!(d.message.contains("/nonexistent/ca.pem"), "{}", d.message);
}

fn leaf(text: &str) -> LeafSpec {
    let l = ok(text);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    l.config.leafnodes
}

fn user(name: &str, password: &str, account: Option<&str>) -> LeafUserSpec {
    LeafUserSpec {
        user: name.into(),
        password: password.into(),
        account: account.map(String::from),
    }
}

#[test]
fn accept_side_every_key_is_read() {
    let l = ok(r#"
accounts { HUB { users = [ { user: c, password: c } ] } }
leafnodes {
  listen: "127.0.0.1:7422"
  advertise: "10.0.0.1:17422"
  no_advertise: true
  authorization {
    user: leaf
    password: s3cr3t
    account: HUB
    timeout: 0.5
  }
}
"#);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let s = &l.config.leafnodes;
    assert_eq!(s.host, "127.0.0.1");
    assert_eq!(s.port, Some(7422));
    assert_eq!(s.advertise.as_deref(), Some("10.0.0.1:17422"));
    assert!(s.no_advertise);
    assert_eq!(s.users, [user("leaf", "s3cr3t", Some("HUB"))]);
    assert_eq!(s.default_account, None);
    assert_eq!(s.auth_timeout, Some(Duration::from_millis(500)));
    assert!(s.remotes.is_empty());
    assert_eq!(l.config.leafnodes_accounts.len(), 1);
    assert_eq!(l.config.leafnodes_accounts[0].0, "HUB");
    assert_eq!(l.config.leafnodes_accounts[0].1.line, 10);
    assert!(l.config.validate().is_empty());
}

#[test]
fn accept_side_defaults_ports_and_aliases() {
    // No listener without a port, or with port 0 (nats-server's "no leaf listener").
    let none = leaf("leafnodes { remotes = [ { url: \"nats://h\" } ] }\n");
    assert_eq!(
        none,
        LeafSpec {
            remotes: none.remotes.clone(),
            ..LeafSpec::default()
        }
    );
    assert_eq!(none.port, None);
    assert_eq!(none.host, "0.0.0.0");
    assert_eq!(leaf("leafnodes { port: 0 }").port, None);
    assert_eq!(leaf("leafnodes { port: 7422, port: 0 }").port, None);
    assert_eq!(leaf("leafnodes { listen: 0 }").port, None);
    // -1 is a random port.
    assert_eq!(leaf("leafnodes { port: -1 }").port, Some(0));
    assert_eq!(leaf("leafnodes { listen: -1 }").port, Some(0));
    let l = leaf("leafnodes { listen: \"127.0.0.1:-1\" }");
    assert_eq!((l.host.as_str(), l.port), ("127.0.0.1", Some(0)));
    // A bare port keeps the host; an empty host is the default one.
    let l = leaf("leafnodes { host: \"::1\", listen: 7000 }");
    assert_eq!((l.host.as_str(), l.port), ("::1", Some(7000)));
    let l = leaf("leafnodes { listen: \":7001\" }");
    assert_eq!((l.host.as_str(), l.port), ("0.0.0.0", Some(7001)));
    assert_eq!(
        leaf("leafnodes { net: 10.1.2.3, port: 1 }").host,
        "10.1.2.3"
    );
    assert_eq!(leaf("leafnodes { host: \"\", port: 1 }").host, "0.0.0.0");
    // Keys are matched case-insensitively, the last one wins.
    let l = leaf("leafnodes { PORT: 7422, Host: h, HOST: h2 }");
    assert_eq!((l.host.as_str(), l.port), ("h2", Some(7422)));
    // `leafnode_advertise` is `advertise`; a host without a port is fine (the listener's is used).
    let l = leaf("leafnodes { port: 1, leafnode_advertise: \"hub.example\" }");
    assert_eq!(l.advertise.as_deref(), Some("hub.example"));
    let l = leaf("leafnodes { port: 1, advertise: \"hub:7422\", advertise: \"\" }");
    assert_eq!(l.advertise, None);
    assert!(!leaf("leafnodes { no_advertise: false }").no_advertise);
    // The top-level `leaf` alias of the block.
    assert_eq!(leaf("leaf { port: 7422 }").port, Some(7422));
}

#[test]
fn accept_side_bad_values_are_errors_at_their_position() {
    for (text, want) in [
        (
            "leafnodes {\n  port: 70000\n}",
            "2:9 invalid leafnodes port 70000: a port is 1 to 65535, -1 for a random one, or 0 for none",
        ),
        (
            "leafnodes {\n  port: -2\n}",
            "2:9 invalid leafnodes port -2: a port is 1 to 65535, -1 for a random one, or 0 for none",
        ),
        (
            "leafnodes {\n  port: \"x\"\n}",
            "2:10 invalid value for \"port\": expected a port number, got a string \"x\"",
        ),
        (
            "leafnodes {\n  listen: \"h:99999\"\n}",
            "2:12 invalid leafnodes port 99999: a port is 1 to 65535, -1 for a random one, or 0 for none",
        ),
        (
            "leafnodes {\n  listen: \"h\"\n}",
            "2:12 could not parse address string \"h\"",
        ),
        (
            "leafnodes {\n  advertise: \"h:x\"\n}",
            "2:15 Error setting leafnode INFO with LeafNode.Advertise value of h:x, err=strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (
            "leafnodes {\n  no_advertise: 3\n}",
            "2:17 invalid value for \"no_advertise\": expected a boolean (true/false/yes/no/on/off), got an integer 3",
        ),
        (
            "leafnodes {\n  authorization: 1\n}",
            "2:18 invalid value for \"authorization\": expected a map, got an integer",
        ),
        ("leafnodes {\n  bogus: 1\n}", "2:3 unknown field \"bogus\""),
    ] {
        let e = err(text);
        let got = short(&e.diagnostics);
        assert!(got.iter().any(|m| m == want), "{text}: {got:?}");
    }
}

#[test]
fn accept_side_users_and_default_account() {
    let text = r#"
accounts { A { users = [ { user: a, password: a } ] }, B {} }
leafnodes {
  port: 7422
  authorization {
    users = [
      { user: l1, password: p1, account: A }
      { username: l2, pass: "$2a$11$3kIDaCxw.Glsl1.u5nKa6eUnNDLV5HV9tIuUp7EHhMt6Nm9myW1aS" }
      { user: l3, password: p3, account: "$G" }
    ]
    timeout: "1.5s"
  }
}
"#;
    let l = ok(text);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let s = &l.config.leafnodes;
    assert_eq!(
        s.users,
        [
            user("l1", "p1", Some("A")),
            user(
                "l2",
                "$2a$11$3kIDaCxw.Glsl1.u5nKa6eUnNDLV5HV9tIuUp7EHhMt6Nm9myW1aS",
                None
            ),
            user("l3", "p3", Some("$G")),
        ]
    );
    assert_eq!(s.default_account, None);
    assert_eq!(s.auth_timeout, Some(Duration::from_millis(1500)));
    assert!(l.config.validate().is_empty());

    // `account` alone: what a leaf node without credentials binds.
    let s = leaf("accounts { B {} }\nleafnodes { port: 1, authorization { account: B } }");
    assert!(s.users.is_empty());
    assert_eq!(s.default_account.as_deref(), Some("B"));
    // A user without a password must send an empty one (nats-server's comparison).
    let s = leaf("leafnodes { authorization { username: u } }");
    assert_eq!(s.users, [user("u", "", None)]);
    // An empty account is `$G`; timeout 0 is the default.
    let s = leaf("leafnodes { authorization { account: \"\", timeout: 0 } }");
    assert_eq!((s.default_account, s.auth_timeout), (None, None));
    // `proxy_required: false` changes nothing.
    let s = leaf(
        "leafnodes { authorization { proxy_required: false, users: [ { user: u, proxy_required: false } ] } }",
    );
    assert_eq!(s.users, [user("u", "", None)]);
    // An empty users list is no users.
    assert!(leaf("leafnodes { authorization { users: [] } }")
        .users
        .is_empty());

    // With users, the block's `account` binds nothing (each user has its own): a warning.
    let l = ok("accounts { A {} }\nleafnodes {\n  authorization {\n    account: A\n    users: [ {user: u, password: p} ]\n  }\n}");
    assert_eq!(
        short(&l.warnings),
        ["4:5 leafnodes authorization \"account\" is ignored with \"users\": each user binds its own \"account\" (without one, $G)"]
    );
    assert_eq!(l.config.leafnodes.default_account, None);
    assert_eq!(l.config.leafnodes.users, [user("u", "p", None)]);
    // A high timeout is nats-server's warning.
    let l = ok("leafnodes { authorization { user: u, password: p, timeout: 120 } }");
    assert_eq!(l.warnings.len(), 1);
    assert!(
        l.warnings[0]
            .message
            .contains("timeout of 120 (120.000000 seconds) is high"),
        "{:?}",
        l.warnings
    );
}

#[test]
fn accept_side_unknown_accounts_are_errors_at_their_position() {
    let l = ok(r#"
accounts { A {} }
leafnodes {
  authorization {
    account: NOPE1
    users = [
      { user: a, password: a, account: A }
      { user: b, password: b, account: NOPE2 }
    ]
  }
}
"#);
    assert_eq!(
        short(&l.config.validate()),
        [
            "5:14 cannot find local account \"NOPE1\" specified in leafnode authorization",
            "8:40 cannot find local account \"NOPE2\" specified in leafnode authorization",
        ]
    );
    let l = ok("leafnodes {\n  authorization { user: u, password: p, account: X }\n}");
    assert_eq!(
        short(&l.config.validate()),
        ["2:50 cannot find local account \"X\" specified in leafnode authorization"]
    );
    // `$G` always exists; `$SYS` when it is the system account corenats creates.
    assert!(ok("leafnodes { authorization { account: \"$G\" } }")
        .config
        .validate()
        .is_empty());
    assert!(ok("leafnodes { authorization { account: \"$SYS\" } }")
        .config
        .validate()
        .is_empty());
    let l = ok("no_system_account: true\nleafnodes { authorization { account: \"$SYS\" } }");
    assert_eq!(l.config.validate().len(), 1);
}

#[test]
fn accept_side_authorization_errors() {
    for (text, want) in [
        (
            "leafnodes {\n  authorization {\n    nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4\n  }\n}",
            "3:5 leafnodes authorization \"nkey\" is not supported by corenats yet (leaf nodes would attach without it)",
        ),
        (
            "leafnodes {\n  authorization {\n    user: u, password: p\n    proxy_required: true\n  }\n}",
            "4:5 leafnodes authorization \"proxy_required\" is not supported by corenats yet (leaf nodes would attach without it)",
        ),
        (
            "leafnodes {\n  authorization {\n    users: [ { user: u, proxy_required: true } ]\n  }\n}",
            "3:25 leafnodes authorization \"proxy_required\" is not supported by corenats yet (leaf nodes would attach without it)",
        ),
        // Keys nats-server's leaf authorization does not know: its `unknown field`.
        (
            "leafnodes {\n  authorization {\n    token: t\n  }\n}",
            "3:5 unknown field \"token\"",
        ),
        (
            "leafnodes {\n  authorization {\n    auth_callout: {}\n  }\n}",
            "3:5 unknown field \"auth_callout\"",
        ),
        (
            "leafnodes {\n  authorization {\n    users: [ { nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4 } ]\n  }\n}",
            "3:16 unknown field \"nkey\"",
        ),
        (
            "leafnodes {\n  authorization {\n    users: [ { user: u, permissions: { publish: \">\" } } ]\n  }\n}",
            "3:25 unknown field \"permissions\"",
        ),
        // nats-server's own checks, at the `authorization` key.
        (
            "leafnodes {\n  authorization {\n    user: u, password: p\n    users: [ { user: v } ]\n  }\n}",
            "2:3 can not have a single user/pass and a users array",
        ),
        (
            "leafnodes {\n  authorization {\n    users: [\n      { user: u, password: a }\n      { user: u, password: b }\n    ]\n  }\n}",
            "5:8 duplicate user \"u\" detected in leafnode authorization",
        ),
        // A password nats-server would silently drop.
        (
            "leafnodes {\n  authorization {\n    password: p\n  }\n}",
            "3:5 leafnodes authorization has a password but no user (nats-server ignores such a password: leaf nodes would attach without it)",
        ),
        (
            "leafnodes {\n  authorization {\n    timeout: \"soon\"\n  }\n}",
            "3:15 error parsing leafnode authorization config, 'timeout' time: invalid duration \"soon\"",
        ),
        (
            "leafnodes {\n  authorization {\n    timeout: [1]\n  }\n}",
            "3:15 error parsing leafnode authorization config, 'timeout' wrong type",
        ),
        (
            "leafnodes {\n  authorization {\n    users: { user: u }\n  }\n}",
            "3:13 invalid value for \"users\": expected an array of users, got a map",
        ),
        (
            "leafnodes {\n  authorization {\n    users: [ u ]\n  }\n}",
            "3:14 invalid value in \"users\": expected a user map, got a string",
        ),
    ] {
        let e = err(text);
        let got = short(&e.diagnostics);
        assert!(got.iter().any(|m| m == want), "{text}:\n{got:#?}");
    }
}

#[test]
fn accept_side_tls_is_read_for_a_listener_only() {
    let l = ok("leafnodes {\n  tls { handshake_first: true, timeout: 3 }\n  port: 7422\n}");
    let t = l.config.leafnodes.tls.as_ref().expect("the listener's tls");
    assert_eq!(t.timeout, Some(std::time::Duration::from_secs(3)));
    // Without a listener it has nothing to apply to: a warning, and nothing kept.
    let l = ok("leafnodes {\n  tls {}\n  remotes = [ { url: \"nats://h\", tls: {} } ]\n}");
    assert_eq!(
        short(&l.warnings),
        ["2:3 leafnodes \"tls\" is for the leaf-node listener, and there is no leafnodes port: it is ignored (a remote's TLS goes in the remote's own tls block)"]
    );
    assert!(l.config.leafnodes.tls.is_none());
    assert!(l.config.leafnodes.remotes[0].tls.is_some());
    // The block is still read as a tls block.
    let e = err("leafnodes {\n  tls { bogus: 1 }\n}");
    assert!(
        has(&e.diagnostics, 2, "unknown field \"bogus\""),
        "{:?}",
        e.diagnostics
    );
}

#[test]
fn accept_side_keys_that_only_tune_the_link_are_warnings() {
    let l = ok(r#"leafnodes {
  port: 7422
  compression: s2_auto
  min_version: "2.8.0"
  minimum_version: "2.9.0"
  isolate_leafnode_interest: true
  isolate: false
  write_deadline: "5s"
  write_timeout: close
}
"#);
    let w = short(&l.warnings);
    assert_eq!(w.len(), 7, "{w:#?}");
    assert_eq!(
        w[0],
        "3:3 leafnodes \"compression\" (accepting leaf nodes) is not supported by corenats and is ignored: leaf connections are not compressed (leaf nodes are told none, as by a server without compression)"
    );
    for (i, key) in [
        "min_version",
        "minimum_version",
        "isolate_leafnode_interest",
        "isolate",
        "write_deadline",
        "write_timeout",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(
            w[i + 1],
            format!(
                "{}:3 leafnodes \"{key}\" (accepting leaf nodes) is not supported by corenats and is ignored",
                i + 4
            )
        );
    }
    assert_eq!(l.config.leafnodes.port, Some(7422));
    // A remote's `compression` stays an error (it would be asked of the hub).
    let e = err(r#"leafnodes { remotes = [ { url: "nats://h", compression: off } ] }"#);
    assert!(has(
        &e.diagnostics,
        1,
        "leafnode remote \"compression\" is not supported by corenats yet"
    ));
}
