//! Raw protocol: HPUB/HMSG exact frames, header passthrough, headers:false clients, and the no-responders 503.
use crate::common::*;

#[test]
fn hpub_to_hmsg_exact() {
    let s = Server::plain();
    let mut sub = s.ready();
    sub.send(b"SUB foo 1\r\n");
    sub.ping_pong();
    let mut p = s.ready();
    p.send(b"HPUB foo 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n");
    p.send(b"HPUB foo rep 12 12\r\nNATS/1.0\r\n\r\n\r\n");
    p.ping_pong();
    sub.expect(b"HMSG foo 1 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\nHMSG foo 1 rep 12 12\r\nNATS/1.0\r\n\r\n\r\n");
    sub.expect_nothing();
}

#[test]
fn header_case_and_multiple_values_preserved() {
    let s = Server::plain();
    let mut c = s.ready();
    let h = header_block(&[
        ("X-MiXeD", "One"),
        ("x-mixed", "two"),
        ("Nats-Msg-Id", "abc"),
    ]);
    let body = b"payload";
    c.send(b"SUB foo 1\r\n");
    c.send(format!("HPUB foo {} {}\r\n", h.len(), h.len() + body.len()).as_bytes());
    c.send(&h);
    c.send(body);
    c.send(b"\r\n");
    let m = c.read_msg();
    assert_eq!(m.header.as_deref(), Some(&h[..]));
    assert_eq!(m.payload, body);
    c.expect_nothing();
}

#[test]
fn header_block_is_not_validated() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nHPUB foo 12 14\r\nXXXX/1.0\r\n\r\nhi\r\n");
    c.expect(b"HMSG foo 1 12 14\r\nXXXX/1.0\r\n\r\nhi\r\n");
    c.expect_nothing();
}

#[test]
fn hpub_status_line_passthrough() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nHPUB foo 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
    c.expect(b"HMSG foo 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
    c.expect_nothing();
}

#[test]
fn hpub_zero_header_delivered_as_msg() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nHPUB foo 0 2\r\nhi\r\n");
    c.expect(b"MSG foo 1 2\r\nhi\r\n");
    c.expect_nothing();
}

#[test]
fn headers_false_subscriber_gets_plain_msg() {
    let s = Server::plain();
    let mut sub = Raw::ready_with(
        s.port(),
        r#"{"verbose":false,"pedantic":false,"headers":false}"#,
    );
    sub.send(b"SUB foo 1\r\n");
    sub.ping_pong();
    let mut p = s.ready();
    p.send(b"HPUB foo r 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n");
    p.ping_pong();
    sub.expect(b"MSG foo 1 r 2\r\nhi\r\n");
    sub.expect_nothing();
}

#[test]
fn headers_omitted_subscriber_gets_plain_msg() {
    let s = Server::plain();
    let mut sub = Raw::ready_with(s.port(), r#"{"verbose":false,"pedantic":false}"#);
    sub.send(b"SUB foo 1\r\n");
    sub.ping_pong();
    let mut p = s.ready();
    p.send(b"HPUB foo 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n");
    p.ping_pong();
    sub.expect(b"MSG foo 1 2\r\nhi\r\n");
    sub.expect_nothing();
}

#[test]
fn hpub_from_headers_false_client_closes() {
    let s = Server::plain();
    let mut c = Raw::ready_with(
        s.port(),
        r#"{"verbose":false,"pedantic":false,"headers":false}"#,
    );
    c.send(b"HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n");
    c.expect_closed();
}

#[test]
fn hpub_header_larger_than_total_closes() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"HPUB foo 14 12\r\n");
    c.expect_closed();
}

#[test]
fn no_responders_503() {
    let s = Server::plain();
    let mut c = Raw::ready_with(
        s.port(),
        r#"{"verbose":false,"pedantic":false,"headers":true,"no_responders":true}"#,
    );
    c.send(b"SUB _INBOX.x 7\r\nPUB svc.nobody _INBOX.x 3\r\nreq\r\n");
    let m = c.read_msg();
    assert_eq!(m.subject, "_INBOX.x");
    assert_eq!(m.sid, "7");
    assert_eq!(m.reply, None);
    assert!(m.payload.is_empty());
    let h = m.header.unwrap();
    // 2.9 sends only the status line; 2.15 also names the subject. Either way the status is 503.
    assert!(
        h == b"NATS/1.0 503\r\nNats-Subject: svc.nobody\r\n\r\n" || h == b"NATS/1.0 503\r\n\r\n",
        "{}",
        show(&h)
    );
    c.expect_nothing();
}

#[test]
fn no_responders_exact_frame() {
    // nats-server >= 2.10 (and corenats) include Nats-Subject.
    let s = Server::plain();
    let mut c = Raw::ready_with(
        s.port(),
        r#"{"verbose":false,"pedantic":false,"headers":true,"no_responders":true}"#,
    );
    c.send(b"SUB rep 1\r\nHPUB q rep 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    c.expect(b"HMSG rep 1 33 33\r\nNATS/1.0 503\r\nNats-Subject: q\r\n\r\n\r\n");
    c.expect_nothing();
}

#[test]
fn no_503_when_a_responder_exists() {
    let s = Server::plain();
    let mut resp = s.ready();
    resp.send(b"SUB svc 1\r\n");
    resp.ping_pong();
    let mut c = Raw::ready_with(
        s.port(),
        r#"{"verbose":false,"pedantic":false,"headers":true,"no_responders":true}"#,
    );
    c.send(b"SUB rep 1\r\nPUB svc rep 1\r\nx\r\n");
    c.expect_nothing();
    resp.expect(b"MSG svc 1 rep 1\r\nx\r\n");
}

#[test]
fn no_503_without_no_responders() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB rep 1\r\nPUB svc rep 1\r\nx\r\n");
    c.expect_nothing();
}

#[test]
fn no_503_without_reply_or_without_own_reply_sub() {
    let s = Server::plain();
    let mut c = Raw::ready_with(
        s.port(),
        r#"{"verbose":false,"pedantic":false,"headers":true,"no_responders":true}"#,
    );
    c.send(b"SUB rep 1\r\nPUB svc 1\r\nx\r\n");
    c.expect_nothing();
    // The reply subject is watched by another connection only: nothing is generated.
    let mut watcher = s.ready();
    watcher.send(b"SUB other 1\r\n");
    watcher.ping_pong();
    c.send(b"PUB svc other 1\r\nx\r\n");
    c.expect_nothing();
    watcher.expect_nothing();
}
