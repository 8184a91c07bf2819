//! Raw protocol: `allow_responses` (true, and `{max, expires}`), default permissions per account and in the
//! authorization block (replaced, never merged), and the reserved `_R_.` reply prefix
//!.

use crate::common::tenancy::*;
use crate::common::*;
use std::time::Duration;

const CONF: &str = r#"
accounts {
  R {
    users: [
      {user: req, password: x}
      {user: resp1, password: x, permissions: {subscribe: "req.>", allow_responses: true}}
      {user: resp2, password: x, permissions: {subscribe: "req.>", allow_responses: {max: 2, expires: "1s"}}}
      {user: resp3, password: x, permissions: {publish: "status.>", subscribe: "req.>", allow_responses: true}}
    ]
  }
  D {
    users: [
      {user: d1, password: x}
      {user: d2, password: x, permissions: {publish: ">"}}
      {user: d3, password: x, permissions: {subscribe: {deny: "d.secret"}}}
    ]
    default_permissions: {publish: "d.>", subscribe: "d.>"}
  }
}
"#;

fn server() -> Server {
    Server::start(ServerOpts::conf(CONF))
}

/// A requester subscribed to its inbox `_INBOX.r` as sid 1.
fn requester(s: &Server) -> Raw {
    let mut r = login(s, "req", "x");
    r.send(b"SUB _INBOX.r 1\r\n");
    r.ping_pong();
    r
}

/// A responder logged in as `user`, subscribed to `req.>` as sid 1.
fn responder(s: &Server, user: &str) -> Raw {
    let mut r = login(s, user, "x");
    r.send(b"SUB req.> 1\r\n");
    r.ping_pong();
    r
}

/// Sends one request from `req` and checks the responder received it with the reply subject intact.
fn request(req: &mut Raw, resp: &mut Raw) {
    req.send(b"PUB req.a _INBOX.r 2\r\nq?\r\n");
    req.ping_pong();
    resp.expect(b"MSG req.a 1 _INBOX.r 2\r\nq?\r\n");
}

/// `resp` answers on `_INBOX.r`; `granted` says whether that reply is still allowed.
fn answer(resp: &mut Raw, req: &mut Raw, granted: bool) {
    resp.send(b"PUB _INBOX.r 1\r\nA\r\n");
    if granted {
        resp.expect_nothing();
        req.expect(b"MSG _INBOX.r 1 1\r\nA\r\n");
    } else {
        resp.expect_err(&pub_violation("_INBOX.r"));
        resp.expect_nothing();
    }
    req.expect_nothing();
}

#[test]
fn allow_responses_true_grants_one_reply_per_request() {
    let s = server();
    let mut req = requester(&s);
    let mut resp = responder(&s, "resp1");
    // No explicit publish allow: publish is deny-all except replies.
    for subj in ["req.a", "_INBOX.r", "anything"] {
        resp.send(format!("PUB {subj} 1\r\nz\r\n").as_bytes());
        resp.expect_err(&pub_violation(subj));
    }
    req.expect_nothing();
    request(&mut req, &mut resp);
    answer(&mut resp, &mut req, true);
    answer(&mut resp, &mut req, false); // max defaults to 1
                                        // A new request grants a new reply.
    request(&mut req, &mut resp);
    answer(&mut resp, &mut req, true);
    // A message without a reply grants nothing.
    req.send(b"PUB req.b 1\r\nn\r\n");
    req.ping_pong();
    resp.expect(b"MSG req.b 1 1\r\nn\r\n");
    answer(&mut resp, &mut req, false);
}

#[test]
fn allow_responses_max_and_expires() {
    let s = server();
    let mut req = requester(&s);
    let mut resp = responder(&s, "resp2");
    request(&mut req, &mut resp);
    answer(&mut resp, &mut req, true);
    answer(&mut resp, &mut req, true);
    answer(&mut resp, &mut req, false); // the third is over max 2
                                        // A fresh grant expires after 1s.
    request(&mut req, &mut resp);
    std::thread::sleep(Duration::from_millis(1300));
    answer(&mut resp, &mut req, false);
}

#[test]
fn allow_responses_keeps_explicit_publish_allows() {
    let s = server();
    let mut req = requester(&s);
    let mut resp = responder(&s, "resp3");
    let mut spy = login(&s, "req", "x");
    spy.send(b"SUB status.> 1\r\n");
    spy.ping_pong();
    resp.send(b"PUB status.up 1\r\nu\r\n");
    resp.expect_nothing();
    spy.expect(b"MSG status.up 1 1\r\nu\r\n");
    resp.send(b"PUB other 1\r\nz\r\n");
    resp.expect_err(&pub_violation("other"));
    request(&mut req, &mut resp);
    answer(&mut resp, &mut req, true);
    answer(&mut resp, &mut req, false);
}

#[test]
fn account_default_permissions_are_replaced_not_merged() {
    let s = server();
    let mut spy = login(&s, "d2", "x");
    spy.send(b"SUB > 1\r\n");
    spy.ping_pong();
    // d1 has no permissions of its own: the account default applies to both directions.
    let mut d1 = login(&s, "d1", "x");
    d1.send(b"PUB d.x 1\r\n1\r\n");
    d1.expect_nothing();
    spy.expect(b"MSG d.x 1 1\r\n1\r\n");
    d1.send(b"PUB e.x 1\r\n1\r\n");
    d1.expect_err(&pub_violation("e.x"));
    d1.send(b"SUB e.x 2\r\n");
    d1.expect_err(&sub_violation("e.x", None));
    d1.send(b"SUB d.* 3\r\n");
    d1.expect_nothing();
    // d2 sets only publish: its subscribe is unrestricted (the default is not merged in). Its `SUB >` above
    // was accepted; publishing anywhere works.
    let mut d3 = login(&s, "d3", "x");
    // d3 sets only subscribe: its publish is unrestricted.
    d3.send(b"PUB e.y 1\r\n3\r\n");
    d3.expect_nothing();
    spy.expect(b"MSG e.y 1 1\r\n3\r\n");
    d3.send(b"SUB d.secret 1\r\n");
    d3.expect_err(&sub_violation("d.secret", None));
    d3.send(b"SUB e.> 2\r\n");
    d3.expect_nothing();
    spy.expect_nothing();
}

#[test]
fn authorization_default_permissions() {
    let s = Server::start(ServerOpts::conf(
        r#"
authorization {
  default_permissions: {publish: "d.>", subscribe: ["d.>", "_INBOX.>"]}
  users: [
    {user: u1, password: x}
    {user: u2, password: x, permissions: {subscribe: "s.>"}}
  ]
}
"#,
    ));
    let mut u1 = login(&s, "u1", "x");
    u1.send(b"SUB _INBOX.a 1\r\nSUB d.x 2\r\n");
    u1.expect_nothing();
    u1.send(b"SUB s.x 3\r\n");
    u1.expect_err(&sub_violation("s.x", None));
    u1.send(b"PUB s.x 1\r\nz\r\n");
    u1.expect_err(&pub_violation("s.x"));
    let mut u2 = login(&s, "u2", "x");
    u2.send(b"SUB d.x 1\r\n");
    u2.expect_err(&sub_violation("d.x", None));
    u2.send(b"SUB s.x 2\r\n");
    u2.expect_nothing();
    // u2's publish is unrestricted (no publish rules of its own, and the default is not merged in).
    u2.send(b"PUB _INBOX.a 1\r\n1\r\nPUB d.x 1\r\n2\r\n");
    u2.expect_nothing();
    u1.expect(b"MSG _INBOX.a 1 1\r\n1\r\n");
    u1.expect(b"MSG d.x 2 1\r\n2\r\n");
    u1.send(b"PUB s.x 1\r\n3\r\n");
    u1.expect_err(&pub_violation("s.x"));
    u1.expect_nothing();
    u2.expect_nothing();
}

#[test]
fn reserved_reply_prefix() {
    let s = server();
    let mut spy = login(&s, "req", "x");
    spy.send(b"SUB foo 1\r\n");
    spy.ping_pong();
    let mut c = login(&s, "req", "x");
    c.send(b"PUB foo _R_.abc.def 1\r\nz\r\n");
    c.expect_err("Permissions Violation for Publish with Reply of \"_R_.abc.def\"");
    c.send(b"HPUB foo _R_.x 12 12\r\nNATS/1.0\r\n\r\n\r\n");
    c.expect_err("Permissions Violation for Publish with Reply of \"_R_.x\"");
    // Open, and a similar-looking reply is fine.
    c.send(b"PUB foo _R_x 1\r\ny\r\n");
    c.expect_nothing();
    spy.expect(b"MSG foo 1 _R_x 1\r\ny\r\n");
    spy.expect_nothing();
}
