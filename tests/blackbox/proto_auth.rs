//! Raw protocol: authentication (CLI `--user/--pass`, `--auth` token, config users, auth timeout), login
//! failures, and account permissions/isolation as the client sees them on the wire.
use crate::common::*;
use std::time::{Duration, Instant};

fn user_pass_server() -> Server {
    Server::start(ServerOpts::args(&["--user", "alice", "--pass", "s3cret"]))
}

#[test]
fn info_says_auth_required() {
    let s = user_pass_server();
    assert_eq!(s.raw().info["auth_required"], true);
}

#[test]
fn cli_user_pass_good_login() {
    let s = user_pass_server();
    let mut c = Raw::ready_with(
        s.port(),
        r#"{"verbose":false,"pedantic":false,"user":"alice","pass":"s3cret"}"#,
    );
    c.send(b"SUB foo 1\r\nPUB foo 1\r\nx\r\n");
    c.expect(b"MSG foo 1 1\r\nx\r\n");
    c.expect_nothing();
}

#[test]
fn cli_user_pass_bad_logins() {
    let s = user_pass_server();
    for connect in [
        r#"{"verbose":false,"user":"alice","pass":"wrong"}"#,
        r#"{"verbose":false,"user":"bob","pass":"s3cret"}"#,
        r#"{"verbose":false,"user":"alice"}"#,
        r#"{"verbose":false}"#,
        r#"{"verbose":false,"auth_token":"s3cret"}"#,
        r#"{"verbose":false,"user":null,"pass":null}"#,
    ] {
        let mut c = s.raw();
        c.send(format!("CONNECT {connect}\r\n").as_bytes());
        c.expect_err_closed("Authorization Violation");
    }
}

#[test]
fn first_op_must_be_connect_when_auth_required() {
    let s = user_pass_server();
    for first in [&b"PING\r\n"[..], b"SUB foo 1\r\n", b"PUB foo 1\r\nx\r\n"] {
        let mut c = s.raw();
        c.send(first);
        c.expect_err_closed("Authorization Violation");
    }
}

#[test]
fn cli_token_auth() {
    let s = Server::start(ServerOpts::args(&["--auth", "tok3n"]));
    assert_eq!(s.raw().info["auth_required"], true);
    let mut ok = Raw::ready_with(s.port(), r#"{"verbose":false,"auth_token":"tok3n"}"#);
    ok.expect_nothing();
    for connect in [
        r#"{"verbose":false,"auth_token":"nope"}"#,
        r#"{"verbose":false}"#,
    ] {
        let mut c = s.raw();
        c.send(format!("CONNECT {connect}\r\n").as_bytes());
        c.expect_err_closed("Authorization Violation");
    }
}

#[test]
fn authentication_timeout() {
    let s = Server::start(ServerOpts::conf(
        "authorization { user: a, password: b, timeout: 1 }\n",
    ));
    let mut c = s.raw();
    let t0 = Instant::now();
    c.timeout = Duration::from_secs(4);
    c.expect_err_closed("Authentication Timeout");
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(800), "too early: {took:?}");
    assert!(took <= Duration::from_millis(2500), "too late: {took:?}");
}

#[test]
fn no_auth_timeout_once_connected() {
    let s = Server::start(ServerOpts::conf(
        "authorization { user: a, password: b, timeout: 1 }\n",
    ));
    let mut c = Raw::ready_with(s.port(), r#"{"verbose":false,"user":"a","pass":"b"}"#);
    std::thread::sleep(Duration::from_millis(1500));
    c.expect_nothing();
}

#[test]
fn no_auth_timeout_without_auth() {
    let s = Server::start(ServerOpts::conf("authorization { timeout: 1 }\n"));
    let mut c = s.raw();
    std::thread::sleep(Duration::from_millis(1500));
    c.send(b"CONNECT {\"verbose\":false}\r\n");
    c.expect_nothing();
}

const ACCOUNTS: &str = r#"
accounts {
  A: {
    users: [
      {user: a, password: pa, permissions: {
          publish: {allow: ["svc.a.>", "_INBOX.>"], deny: ["svc.a.secret"]},
          subscribe: {allow: ["svc.a.>", "_INBOX.>", "qq.* grp1"]}}}
      {user: a2, password: pa2}
    ]
  }
  B: {
    users: [
      {user: b, password: pb, permissions: {publish: "svc.b.>", subscribe: "svc.b.>"}}
      {user: b2, password: pb2}
    ]
  }
}
"#;

fn login(s: &Server, user: &str, pass: &str) -> Raw {
    Raw::ready_with(
        s.port(),
        &format!(
            r#"{{"verbose":false,"pedantic":false,"headers":true,"user":"{user}","pass":"{pass}"}}"#
        ),
    )
}

#[test]
fn account_login_failures() {
    let s = Server::start(ServerOpts::conf(ACCOUNTS));
    for (u, p) in [("a", "pb"), ("nobody", "pa"), ("", "")] {
        let mut c = s.raw();
        c.send(
            format!("CONNECT {{\"verbose\":false,\"user\":\"{u}\",\"pass\":\"{p}\"}}\r\n")
                .as_bytes(),
        );
        c.expect_err_closed("Authorization Violation");
    }
}

#[test]
fn post_connect_info_names_the_account() {
    let s = Server::start(ServerOpts::conf(ACCOUNTS));
    let mut c = s.raw();
    c.send(
        b"CONNECT {\"verbose\":false,\"protocol\":1,\"user\":\"b2\",\"pass\":\"pb2\"}\r\nPING\r\n",
    );
    c.expect(b"PONG\r\n");
    let info = c.expect_info();
    assert_eq!(info["remote_account"], "B", "{info}");
    assert_eq!(info["connect_info"], true, "{info}");
    assert_eq!(info["auth_required"], true, "{info}");
}

/// The post-login INFO carries no nonce, and says `auth_required` when credentials exist even if
/// `no_auth_user` let the client in without any (the first INFO leaves it out then).
#[test]
fn post_connect_info_auth_fields() {
    let nkey_user = nkeys::KeyPair::new_user().public_key();
    let s = Server::start(ServerOpts::conf(&format!(
        "authorization {{ users: [ {{user: a, password: p}}, {{nkey: {nkey_user}}} ] }}\nno_auth_user: a\n"
    )));
    let mut c = s.raw();
    assert!(c.info.get("nonce").is_some(), "{}", c.info);
    assert!(c.info.get("auth_required").is_none(), "{}", c.info);
    c.send(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n");
    c.expect(b"PONG\r\n");
    let info = c.expect_info();
    assert_eq!(info["connect_info"], true, "{info}");
    assert!(info.get("nonce").is_none(), "{info}");
    assert_eq!(info["auth_required"], true, "{info}");
}

#[test]
fn publish_violation_keeps_connection_open() {
    let s = Server::start(ServerOpts::conf(ACCOUNTS));
    let mut spy = login(&s, "a2", "pa2");
    spy.send(b"SUB > 1\r\n");
    spy.ping_pong();
    let mut a = login(&s, "a", "pa");
    a.send(b"PUB svc.b.x 1\r\nx\r\n");
    a.expect_err("Permissions Violation for Publish to \"svc.b.x\"");
    a.send(b"PUB svc.a.secret 1\r\nx\r\n");
    a.expect_err("Permissions Violation for Publish to \"svc.a.secret\"");
    a.send(b"PUB svc.a.ok 1\r\nx\r\n");
    a.expect_nothing();
    spy.expect(b"MSG svc.a.ok 1 1\r\nx\r\n");
    spy.expect_nothing();
}

#[test]
fn subscribe_violation_keeps_connection_open() {
    let s = Server::start(ServerOpts::conf(ACCOUNTS));
    let mut a = login(&s, "a", "pa");
    a.send(b"SUB svc.b.x 1\r\n");
    a.expect_err("Permissions Violation for Subscription to \"svc.b.x\"");
    // Broader wildcard than the allow entry: denied. Narrower: allowed.
    a.send(b"SUB svc.* 2\r\n");
    a.expect_err("Permissions Violation for Subscription to \"svc.*\"");
    a.send(b"SUB svc.a.* 3\r\nSUB svc.a.> 4\r\n");
    a.expect_nothing();
    // The denied sid 1 was never created: reuse it.
    a.send(b"SUB svc.a.x 1\r\nPUB svc.a.x 1\r\nx\r\n");
    let mut sids: Vec<String> = (0..3).map(|_| a.read_msg().sid).collect();
    sids.sort();
    assert_eq!(sids, ["1", "3", "4"]);
    a.expect_nothing();
}

#[test]
fn queue_qualified_subscribe_permission() {
    let s = Server::start(ServerOpts::conf(ACCOUNTS));
    let mut a = login(&s, "a", "pa");
    a.send(b"SUB qq.x grp1 7\r\n");
    a.expect_nothing();
    a.send(b"SUB qq.x 6\r\n");
    a.expect_err("Permissions Violation for Subscription to \"qq.x\"");
    a.send(b"SUB qq.x grp2 8\r\n");
    a.expect_err("Permissions Violation for Subscription to \"qq.x\" using queue \"grp2\"");
    a.expect_nothing();
}

#[test]
fn accounts_are_isolated() {
    let s = Server::start(ServerOpts::conf(ACCOUNTS));
    let mut a2 = login(&s, "a2", "pa2");
    a2.send(b"SUB shared 1\r\nSUB > 2\r\n");
    a2.ping_pong();
    let mut b2 = login(&s, "b2", "pb2");
    b2.send(b"SUB shared 1\r\nPUB shared 2\r\nb!\r\n");
    b2.expect(b"MSG shared 1 2\r\nb!\r\n");
    b2.expect_nothing();
    a2.expect_nothing();
    // And the other way round.
    a2.send(b"PUB shared 2\r\na!\r\n");
    let mut got: Vec<String> = (0..2).map(|_| a2.read_msg().sid).collect();
    got.sort();
    assert_eq!(got, ["1", "2"]);
    b2.expect_nothing();
}

#[test]
fn wildcard_sub_filters_denied_subjects_at_delivery() {
    let s = Server::start(ServerOpts::conf(
        r#"
accounts {
  A: { users: [
    {user: w, password: pw, permissions: {subscribe: {allow: ">", deny: "svc.secret"}}}
    {user: p, password: pp}
  ] }
}
"#,
    ));
    let mut w = login(&s, "w", "pw");
    w.send(b"SUB > 1\r\n");
    w.expect_nothing();
    w.send(b"SUB svc.secret 2\r\n");
    w.expect_err("Permissions Violation for Subscription to \"svc.secret\"");
    let mut p = login(&s, "p", "pp");
    p.send(b"PUB svc.secret 1\r\nx\r\nPUB svc.public 1\r\ny\r\n");
    p.ping_pong();
    w.expect(b"MSG svc.public 1 1\r\ny\r\n");
    w.expect_nothing();
}

#[test]
fn users_in_authorization_block_share_global_account() {
    let s = Server::start(ServerOpts::conf(
        "authorization { users: [ {user: x, password: px}, {user: y, password: py} ] }\n",
    ));
    let mut x = login(&s, "x", "px");
    x.send(b"SUB foo 1\r\n");
    x.ping_pong();
    let mut y = login(&s, "y", "py");
    y.send(b"PUB foo 1\r\nz\r\n");
    y.ping_pong();
    x.expect(b"MSG foo 1 1\r\nz\r\n");
}

#[test]
fn no_auth_user_logs_in_anonymous_clients() {
    let s = Server::start(ServerOpts::conf(&format!("{ACCOUNTS}\nno_auth_user: b2\n")));
    let info = s.raw().info;
    assert!(info.get("auth_required").is_none(), "{info}");
    let mut anon = s.raw();
    anon.send(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n");
    anon.expect(b"PONG\r\n");
    assert_eq!(anon.expect_info()["remote_account"], "B");
    // Wrong credentials still fail.
    let mut bad = s.raw();
    bad.send(b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"zz\"}\r\n");
    bad.expect_err_closed("Authorization Violation");
}

/// A second CONNECT starts the session over, as nats-server does: the subscriptions made before it
/// are dropped silently, whoever logs in, and their sids may be used again under the new login's
/// permissions.
#[test]
fn second_connect_drops_existing_subscriptions() {
    let s = Server::start(ServerOpts::conf(ACCOUNTS));
    let mut c = login(&s, "a2", "pa2");
    c.send(b"SUB > 1\r\nSUB other.y 2\r\nSUB svc.a.* 3\r\n");
    c.ping_pong();
    // Again as a2 (same user), then as a (same account A, subscribe allowed only under svc.a.>,
    // _INBOX.> and qq.*).
    for user in [r#""user":"a2","pass":"pa2""#, r#""user":"a","pass":"pa""#] {
        c.send(format!("CONNECT {{\"verbose\":false,\"headers\":true,{user}}}\r\n").as_bytes());
        c.ping_pong();
        let mut p = login(&s, "a2", "pa2");
        p.send(b"PUB other.y 1\r\n1\r\nPUB svc.a.x 1\r\n2\r\n");
        p.ping_pong();
        c.ping_pong();
        c.expect_nothing();
    }
    // The sids are free again, and the new user's permissions apply to new subscriptions.
    c.send(b"SUB svc.a.* 1\r\nSUB other.y 2\r\n");
    c.expect_err("Permissions Violation for Subscription to \"other.y\"");
    c.ping_pong();
    let mut p = login(&s, "a2", "pa2");
    p.send(b"PUB svc.a.x 1\r\n2\r\n");
    p.ping_pong();
    c.expect(b"MSG svc.a.x 1 1\r\n2\r\n");
    c.expect_nothing();
}
