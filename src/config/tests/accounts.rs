//! Accounts, exports/imports, mappings, limits.

use std::time::Duration;

use super::*;
use crate::config::{AccountLimits, ExportKind, ResponseType};

#[test]
fn array_form_and_reserved_names() {
    let c = ok("accounts: [A, B]\n").config;
    let names: Vec<&str> = c.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["A", "B"]);
    assert!(c.accounts.iter().all(|a| a.users.is_empty()));
    let e = err("accounts: [A, \"$G\", A]\n");
    assert_eq!(
        short(&e.diagnostics),
        [
            "1:15 \"$G\" is a Reserved Account",
            "1:20 Duplicate Account Entry: A"
        ]
    );
    let e = err("accounts {\n  \"$G\" { }\n  B: 5\n}\n");
    assert_eq!(
        short(&e.diagnostics),
        [
            "2:4 \"$G\" is a Reserved Account",
            "3:3 Expected map entries for accounts"
        ]
    );
}

#[test]
fn account_names_are_case_sensitive_fields_are_not() {
    let c = ok("accounts { acc: { USERS: [ {USER: u} ] }, ACC: {} }\n").config;
    assert_eq!(c.accounts.len(), 2);
    assert_eq!(c.accounts[0].name, "acc");
    assert_eq!(c.accounts[0].users[0].user.as_deref(), Some("u"));
}

#[test]
fn account_level_variables_are_skipped() {
    let l = ok("accounts {\n  PW: secret\n  A { users: [ {user: a, password: $PW} ] }\n}\n");
    assert_eq!(l.config.accounts.len(), 1);
    assert_eq!(
        l.config.accounts[0].users[0].password.as_deref(),
        Some("secret")
    );
    assert!(l.warnings.is_empty());
}

#[test]
fn exports_and_imports() {
    let c = ok(r#"
accounts {
  A: {
    exports: [
      {stream: "pub.>"}
      {service: "help.>", response_type: singleton}
      {service: "multi.>", response: stream, threshold: "10s"}
      {service: "chunks", response_type: chunked}
      {service: "priv.>", accounts: [B]}
    ]
  }
  B: {
    imports: [
      {stream:  {account: A, subject: "pub.>"}, prefix: "fromA"}
      {stream:  {account: A, subject: "pub.>"}, to: "x.>"}
      {service: {account: A, subject: "help.>"}, to: "ahelp.>"}
      {service: {account: A, subject: "priv.x"}, share: true}
    ]
  }
}
"#)
    .config;
    let ex = &c.accounts[0].exports;
    assert_eq!(ex.len(), 5);
    assert_eq!(
        (ex[0].kind, ex[0].subject.as_str()),
        (ExportKind::Stream, "pub.>")
    );
    assert_eq!(ex[1].response_type, ResponseType::Singleton);
    assert_eq!(ex[1].response_threshold, Duration::from_secs(120));
    assert_eq!(
        (ex[2].response_type, ex[2].response_threshold),
        (ResponseType::Stream, Duration::from_secs(10))
    );
    assert_eq!(ex[3].response_type, ResponseType::Chunked);
    assert_eq!(ex[4].accounts, ["B"]);
    assert_eq!(ex[4].span.line, 9);
    let im = &c.accounts[1].imports;
    assert_eq!(im.len(), 4);
    assert_eq!(
        (im[0].kind, im[0].account.as_str(), im[0].subject.as_str()),
        (ExportKind::Stream, "A", "pub.>")
    );
    assert_eq!(
        (im[0].prefix.as_deref(), im[0].to.as_deref()),
        (Some("fromA"), None)
    );
    assert_eq!(im[1].to.as_deref(), Some("x.>"));
    assert_eq!(
        (im[2].kind, im[2].to.as_deref()),
        (ExportKind::Service, Some("ahelp.>"))
    );
    assert!(im[3].share && !im[2].share);
}

#[test]
fn export_import_errors() {
    let e = err(r#"accounts {
  A: { exports: [
    {stream: "a", service: "b"}
    {stream: "a", response_type: stream}
    {service: "a", response_type: bogus}
    {service: "a..b"}
    "x"
  ] }
  B: { imports: [
    {stream: {account: A, subject: "s.>"}, prefix: "p", to: "t"}
    {stream: {account: A, subject: "s.>"}, prefix: "p.*"}
    {stream: {account: A}}
    {service: "A"}
    {service: {account: A, subject: "q"}}
    {service: {account: A, subject: "r"}, to: "q"}
    {stream: {account: A, subject: "bad..subj"}}
  ] }
  C: { exports: {stream: x}, imports: 5 }
}
"#);
    let s = short(&e.diagnostics);
    let want = [
        "3:19 Detected service \"b\" but already saw a stream \"a\"",
        "4:19 Detected response directive on non-service",
        "5:35 Unknown response type: \"bogus\"",
        "6:16 subject \"a..b\" is not a valid subject",
        "7:6 Export Items should be a map with type entry, got a string",
        "10:57 Stream import can not have a 'prefix' and a 'to' property",
        "11:53 stream import prefix can not contain wildcard tokens",
        "12:6 Expect an account name and a subject",
        "13:16 Service entry should be an account map, got a string",
        "15:6 Duplicate service import subject \"q\", previously used in import for account \"A\", subject \"q\"",
        "16:15 subject \"bad..subj\" is not a valid subject",
        "18:18 Exports should be an array, got a map",
        "18:39 Imports should be an array, got an integer",
    ];
    assert_eq!(s, want);
}

#[test]
fn mappings_plain_and_weighted() {
    let c = ok(r#"
mappings {
  "old.*.x": "new.{{wildcard(1)}}.x"
  "in.*": "out.$1"
  weighted: [ {destination: "a", weight: 50%}, {dest: "b", weight: 30, cluster: "c1"} ]
  single: {destination: "s", weight: "100%"}
}
accounts { A { maps { "x": "y" } } }
"#)
    .config;
    let m = &c.mappings;
    assert_eq!(m.len(), 4);
    assert_eq!(
        (m[0].source.as_str(), m[0].destinations.clone()),
        ("old.*.x", vec![("new.{{wildcard(1)}}.x".to_string(), 100)])
    );
    assert_eq!(m[1].destinations, [("out.$1".to_string(), 100)]);
    assert_eq!(
        m[2].destinations,
        [("a".to_string(), 50), ("b".to_string(), 30)]
    );
    assert_eq!(m[3].destinations, [("s".to_string(), 100)]);
    assert_eq!(c.accounts[0].mappings[0].source, "x");
}

#[test]
fn mapping_errors() {
    let e = err(r#"mappings {
  "a..b": "x"
  w1: [ {destination: "a", weight: 150} ]
  w2: [ {destination: "a"} ]
  w3: [ {destination: "a", weight: 60}, {destination: "b", weight: 60} ]
  w4: [ {destination: "a", weight: 10, color: red} ]
  w5: 5
}
"#);
    assert_eq!(
        short(&e.diagnostics),
        [
            "2:4 Subject \"a..b\" is not a valid subject",
            "3:10 Invalid weight 150 for mapping destination",
            "4:10 Missing weight for mapping destination \"a\"",
            "5:3 Error adding mapping for \"w3\": total weight 120 exceeds 100",
            "6:40 Unknown field \"color\" for mapping destination",
            "7:7 Unknown type an integer for mapping destination",
        ]
    );
}

#[test]
fn account_limits() {
    let c = ok("accounts { A { limits { max_conn: 2, max_subscriptions: 10, max_pay: 1KB, max_leafs: 1 } } }\n").config;
    assert_eq!(
        c.accounts[0].limits,
        AccountLimits {
            max_connections: Some(2),
            max_subscriptions: Some(10),
            max_payload: Some(1024)
        }
    );
    let e = err("accounts { A { limits { max_conns: 2, max_payload: \"x\" } } }\n");
    assert_eq!(
        short(&e.diagnostics),
        [
            "1:24 Unknown field \"max_conns\" parsing account limits",
            "1:52 invalid value in \"limits\": expected i64, got string \"x\"",
        ]
    );
}

#[test]
fn account_default_permissions_and_jetstream() {
    let l = ok("accounts { A { default_permissions: {publish: \"d.>\"}, jetstream: enabled, users: [ {user: a} ] } }\n");
    let a = &l.config.accounts[0];
    assert!(a.default_permissions.is_some());
    assert_eq!(a.users[0].permissions, None);
    assert_eq!(l.warnings.len(), 1);
    assert!(l.warnings[0]
        .message
        .contains("account jetstream is not supported"));
}
