//! `authorization`, users and permissions.

use std::time::Duration;

use super::*;
use crate::config::{PermissionsSpec, ResponsePermSpec, SubjectPermSpec};

fn allow(list: &[&str]) -> Option<SubjectPermSpec> {
    Some(SubjectPermSpec {
        allow: Some(list.iter().map(|s| s.to_string()).collect()),
        deny: None,
    })
}

#[test]
fn single_user_and_token_and_timeouts() {
    let a = ok("authorization { user: derek, password: T0pS3cr3t, timeout: 1 }\n")
        .config
        .authorization
        .unwrap();
    assert_eq!(a.user.as_deref(), Some("derek"));
    assert_eq!(a.password.as_deref(), Some("T0pS3cr3t"));
    assert_eq!(a.timeout, Some(Duration::from_secs(1)));
    assert_eq!(a.span.line, 1);
    let a = ok("authorization { token: \"s3cr3t\", timeout: 1.5 }\n")
        .config
        .authorization
        .unwrap();
    assert_eq!(a.token.as_deref(), Some("s3cr3t"));
    assert_eq!(a.timeout, Some(Duration::from_millis(1500)));
    let a = ok("authorization { username: u, pass: p, timeout: \"250ms\" }\n")
        .config
        .authorization
        .unwrap();
    assert_eq!(
        (a.user.as_deref(), a.password.as_deref()),
        (Some("u"), Some("p"))
    );
    assert_eq!(a.timeout, Some(Duration::from_millis(250)));
}

#[test]
fn authorization_conflicts() {
    let e = err("authorization { user: a, password: b, token: t }\n");
    assert_eq!(
        short(&e.diagnostics),
        ["1:0 Cannot have a user/pass and token"]
    );
    let e = err("authorization { user: a, users: [ {user: b} ] }\n");
    assert_eq!(
        short(&e.diagnostics),
        ["1:0 Can not have a single user/pass and a users array"]
    );
    let e = err("authorization { token: t, users: [ {user: b} ] }\n");
    assert_eq!(
        short(&e.diagnostics),
        ["1:0 Can not have a token and a users array"]
    );
}

#[test]
fn users_and_default_permissions() {
    let a = ok(r#"
authorization {
  default_permissions { publish: "d.>", subscribe: ["d.>", "_INBOX.>"] }
  users: [
    {user: a, password: pa, permissions: {publish: {allow: ["svc.a.>"], deny: ["svc.a.secret"]}, subscribe: ["svc.a.>", "qq.* grp1"]}}
    {user: abc, password: $2a$11$9iBIupLqeXYRfx8SWy5l4ObMLjua8c4hSpvFIfLRRWy8Vjj8PSzIi}
    {nkey: UDXU4RCSJNZOIQHZNWXHXMKZ3OUF23FGFS5YHMM6DSTB6JKNB6XPIKSB}
    {user: resp, password: pr, permissions: {subscribe: "req.>", allow_responses: {max: 2, expires: "5s"}}}
    {user: w, allowed_connection_types: ["STANDARD", "WEBSOCKET"]}
    {user: x, connection_types: "MQTT"}
  ]
}
"#)
    .config
    .authorization
    .unwrap();
    assert_eq!(
        a.default_permissions,
        Some(PermissionsSpec {
            publish: allow(&["d.>"]),
            subscribe: allow(&["d.>", "_INBOX.>"]),
            allow_responses: None
        })
    );
    let u = &a.users;
    assert_eq!(u.len(), 6);
    let p = u[0].permissions.as_ref().unwrap();
    assert_eq!(
        p.publish,
        Some(SubjectPermSpec {
            allow: Some(vec!["svc.a.>".into()]),
            deny: Some(vec!["svc.a.secret".into()])
        })
    );
    assert_eq!(p.subscribe, allow(&["svc.a.>", "qq.* grp1"]));
    assert_eq!(
        u[1].password.as_deref(),
        Some("$2a$11$9iBIupLqeXYRfx8SWy5l4ObMLjua8c4hSpvFIfLRRWy8Vjj8PSzIi")
    );
    assert_eq!(u[1].permissions, None);
    assert_eq!(
        u[2].nkey.as_deref(),
        Some("UDXU4RCSJNZOIQHZNWXHXMKZ3OUF23FGFS5YHMM6DSTB6JKNB6XPIKSB")
    );
    assert_eq!(u[2].user, None);
    let r = u[3].permissions.as_ref().unwrap();
    assert_eq!(
        r.allow_responses,
        Some(ResponsePermSpec {
            max: 2,
            expires: Duration::from_secs(5)
        })
    );
    // allow_responses leaves publish as written; the auth module applies the implicit deny.
    assert_eq!(r.publish, None);
    assert_eq!(u[4].allowed_connection_types, ["STANDARD", "WEBSOCKET"]);
    assert_eq!(u[5].allowed_connection_types, ["MQTT"]);
    assert_eq!(u[3].span.line, 8);
}

#[test]
fn permission_forms_and_aliases() {
    let a = ok(r#"authorization { users: [
  {user: a, permission: {pub: "a", sub: ["b", "c"]}}
  {user: b, authorization: {PUBLISH: {deny: ">"}, Subscribe: {allow: "x.>", deny: ["x.y"]}}}
  {user: c, permissions: {publish: [], subscribe: {}}}
  {user: d, permissions: {allow_responses: true}}
  {user: e, permissions: {publish_allow_responses: {max_msgs: -1, ttl: "-1s"}}}
  {user: f, permissions: {allow_responses: {max: 0, expiration: "0s"}}}
  {user: g, permissions: {allow_responses: false}}
] }
"#)
    .config
    .authorization
    .unwrap();
    let p = |i: usize| a.users[i].permissions.clone().unwrap();
    assert_eq!(p(0).publish, allow(&["a"]));
    assert_eq!(p(0).subscribe, allow(&["b", "c"]));
    assert_eq!(
        p(1).publish,
        Some(SubjectPermSpec {
            allow: None,
            deny: Some(vec![">".into()])
        })
    );
    assert_eq!(
        p(1).subscribe,
        Some(SubjectPermSpec {
            allow: Some(vec!["x.>".into()]),
            deny: Some(vec!["x.y".into()])
        })
    );
    // An empty list means no restriction; an empty map means no rules at all.
    assert_eq!(
        p(2).publish,
        Some(SubjectPermSpec {
            allow: Some(vec![]),
            deny: None
        })
    );
    assert_eq!(p(2).subscribe, None);
    assert_eq!(
        p(3).allow_responses,
        Some(ResponsePermSpec {
            max: 1,
            expires: Duration::from_secs(120)
        })
    );
    assert_eq!(
        p(4).allow_responses,
        Some(ResponsePermSpec {
            max: -1,
            expires: Duration::ZERO
        })
    );
    assert_eq!(
        p(5).allow_responses,
        Some(ResponsePermSpec {
            max: 1,
            expires: Duration::from_secs(120)
        })
    );
    assert_eq!(p(6).allow_responses, None);
}

#[test]
fn permission_errors() {
    let e = err(r#"authorization { users: [
  {user: a, permissions: {publish: {allow: "a", pattern: "b"}}}
  {user: b, permissions: {publish: "a", bogus: 1}}
  {user: c, permissions: {subscribe: "foo..bar"}}
  {user: d, permissions: {subscribe: ["ok", 5]}}
  {user: e, permissions: "x"}
  {user: f, permissions: {publish: 5}}
  {user: g, permissions: {allow_responses: {max: 1, bad: 2}}}
  {user: h, permissions: {allow_responses: "yes please"}}
] }
"#);
    let s = short(&e.diagnostics);
    assert_eq!(
        s,
        [
            "2:49 Unknown field name \"pattern\" parsing subject permissions, only 'allow' or 'deny' are permitted",
            "3:41 Unknown field \"bogus\" parsing permissions",
            "4:39 subject \"foo..bar\" is not a valid subject",
            "5:45 Subject in permissions array cannot be cast to string",
            "6:27 Expected permissions to be a map/struct, got a string",
            "7:36 Expected subject permissions to be a subject, or array of subjects, got an integer",
            "8:53 Unknown field \"bad\" parsing permissions",
            "9:45 error parsing response permissions, expected a boolean or a map",
        ]
    );
}

#[test]
fn user_entry_errors() {
    let e = err(r#"authorization { users: [
  {password: x}
  {nkey: UDXU4RCSJNZOIQHZNWXHXMKZ3OUF23FGFS5YHMM6DSTB6JKNB6XPIKSB, password: x}
  {nkey: notakey}
  "just a string"
] }
"#);
    assert_eq!(
        short(&e.diagnostics),
        [
            "2:4 User entry requires a user",
            "3:4 Nkey users do not take usernames or passwords",
            "4:4 Not a valid public nkey for a user",
            "5:4 Expected user entry to be a map/struct, got a string",
        ]
    );
    let e = err("authorization { users: {user: a, password: b} }\n");
    assert_eq!(
        short(&e.diagnostics),
        ["1:24 Expected users field to be an array, got a map"]
    );
}

#[test]
fn unknown_user_field_is_an_error() {
    // A misspelt password must not leave the user without one.
    let e = err("authorization { users: [ {user: a, pasword: chess} ] }\n");
    assert_eq!(short(&e.diagnostics), ["1:35 unknown field \"pasword\""]);
    let e = err("authorization { users: [ {user: a, password: b, permisions: {publish: x}} ] }\n");
    assert_eq!(short(&e.diagnostics), ["1:48 unknown field \"permisions\""]);
}

#[test]
fn bare_allow_deny_under_permissions() {
    // Neither direction has rules: both get them.
    let l = ok(
        "authorization { users: [ {user: a, permissions: {allow: \"x.>\", deny: \"x.y\"}} ] }\n",
    );
    let p = l.config.authorization.unwrap().users[0]
        .permissions
        .clone()
        .unwrap();
    let both = Some(SubjectPermSpec {
        allow: Some(vec!["x.>".into()]),
        deny: Some(vec!["x.y".into()]),
    });
    assert_eq!(
        (p.publish.clone(), p.subscribe.clone()),
        (both.clone(), both)
    );
    assert_eq!(l.warnings.len(), 1);
    assert!(l.warnings[0].message.contains("standard form: publish { allow: [\"x.>\"], deny: [\"x.y\"] }, subscribe { allow: [\"x.>\"], deny: [\"x.y\"] }"), "{}", l.warnings[0].message);
    let e = pedantic("authorization { users: [ {user: a, permissions: {allow: \"x.>\"}} ] }\n")
        .unwrap_err();
    assert_eq!(e.diagnostics.len(), 1);
    assert_eq!(e.diagnostics[0].span.col, 49);
}

#[test]
fn users_map_of_blocks() {
    let l = ok("accounts { A { users { alice { password: pw }, bob { password: pb } } } }\n");
    let users = &l.config.accounts[0].users;
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].user.as_deref(), Some("alice"));
    assert_eq!(users[1].password.as_deref(), Some("pb"));
    assert_eq!(l.warnings.len(), 1);
    assert!(l.warnings[0]
        .message
        .contains("users written as a map of blocks"));
}

#[test]
fn docs_variables_example() {
    // nats.docs "Authorization" → "Variables" (passwords from the environment).
    let text = r#"
authorization {
  default_permissions = {
    publish = "SANDBOX.*"
    subscribe = ["PUBLIC.>", "_INBOX.>"]
  }
  ADMIN = {
    publish = ">"
    subscribe = ">"
  }
  REQUESTOR = {
    publish = ["req.a", "req.b"]
    subscribe = "_INBOX.>"
  }
  RESPONDER = {
    subscribe = ["req.a", "req.b"]
    publish = "_INBOX.>"
  }
  users = [
    {user: admin,   password: $ADMIN_PASS, permissions: $ADMIN}
    {user: client,  password: $CLIENT_PASS, permissions: $REQUESTOR}
    {user: service,  password: $SERVICE_PASS, permissions: $RESPONDER}
    {user: other, password: $OTHER_PASS}
  ]
}
"#;
    let env = [
        ("ADMIN_PASS", "a"),
        ("CLIENT_PASS", "c"),
        ("SERVICE_PASS", "s"),
        ("OTHER_PASS", "o"),
    ];
    let l = with_env(text, "docs.conf", &env, true).unwrap_or_else(|e| panic!("{e}"));
    let a = l.config.authorization.unwrap();
    assert_eq!(a.users.len(), 4);
    assert_eq!(a.users[0].password.as_deref(), Some("a"));
    assert_eq!(
        a.users[0].permissions.as_ref().unwrap().publish,
        allow(&[">"])
    );
    assert_eq!(
        a.users[1].permissions.as_ref().unwrap().publish,
        allow(&["req.a", "req.b"])
    );
    assert_eq!(
        a.users[2].permissions.as_ref().unwrap().publish,
        allow(&["_INBOX.>"])
    );
    assert_eq!(a.users[3].permissions, None);
    assert_eq!(
        a.default_permissions.unwrap().publish,
        allow(&["SANDBOX.*"])
    );
}
