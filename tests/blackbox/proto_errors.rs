//! Raw protocol: how protocol errors end a connection — `Unknown Protocol Operation`, silent closes on argument
//! errors, bad bytes after a payload, client `-ERR`, and server-only verbs sent by a client.
use crate::common::*;

/// Sends `bad` on a fresh quiet connection and expects a close with nothing received.
fn silent_close(s: &Server, bad: &[u8]) {
    let mut c = s.ready();
    c.send(bad);
    c.expect_closed();
}

fn unknown_op_close(s: &Server, bad: &[u8]) {
    let mut c = s.ready();
    c.send(bad);
    c.expect_err_closed("Unknown Protocol Operation");
}

#[test]
fn unknown_verb() {
    let s = Server::plain();
    for bad in [
        &b"FOO\r\n"[..],
        b"FOO bar\r\n",
        b"PUBX foo 1\r\n",
        b"SUBX foo 1\r\n",
        b"XYZ",
    ] {
        unknown_op_close(&s, bad);
    }
}

#[test]
fn unknown_verb_before_connect() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"HELLO\r\n");
    c.expect_err_closed("Unknown Protocol Operation");
}

#[test]
fn empty_line() {
    let s = Server::plain();
    unknown_op_close(&s, b"\r\n");
}

#[test]
fn msg_from_client() {
    let s = Server::plain();
    unknown_op_close(&s, b"MSG foo 1 2\r\nhi\r\n");
}

#[test]
fn route_and_leaf_verbs_from_client() {
    let s = Server::plain();
    for bad in [
        &b"RS+ $G foo\r\n"[..],
        b"LS+ foo\r\n",
        b"A+ foo\r\n",
        b"RMSG $G foo 1\r\n",
    ] {
        unknown_op_close(&s, bad);
    }
}

#[test]
fn client_err_closes_silently() {
    let s = Server::plain();
    silent_close(&s, b"-ERR 'whatever'\r\n");
}

#[test]
fn pub_argument_errors_close_silently() {
    let s = Server::plain();
    for bad in [
        &b"PUB foo\r\n"[..],
        b"PUB foo -1\r\n",
        b"PUB foo +1\r\n",
        b"PUB foo x\r\n",
        b"PUB foo 1x\r\n",
        b"PUB a b c 1\r\n",
    ] {
        silent_close(&s, bad);
    }
}

#[test]
fn hpub_argument_errors_close_silently() {
    let s = Server::plain();
    for bad in [
        &b"HPUB foo 12\r\n"[..],
        b"HPUB foo x 12\r\n",
        b"HPUB foo 12 x\r\n",
        b"HPUB foo 14 12\r\n",
        b"HPUB foo -1 12\r\n",
        b"HPUB a b c 12 12\r\n",
    ] {
        silent_close(&s, bad);
    }
}

#[test]
fn sub_argument_errors_close_silently() {
    let s = Server::plain();
    for bad in [&b"SUB foo\r\n"[..], b"SUB a b c d\r\n"] {
        silent_close(&s, bad);
    }
}

#[test]
fn unsub_argument_errors_close_silently() {
    let s = Server::plain();
    silent_close(&s, b"UNSUB 1 2 3\r\n");
}

#[test]
fn verbs_without_arguments_close() {
    // nats-server answers `PUB\r\n` (no space after the verb) with Unknown Protocol Operation; a silent
    // close is also accepted here.
    let s = Server::plain();
    for bad in [&b"PUB\r\n"[..], b"SUB\r\n", b"UNSUB\r\n", b"HPUB\r\n"] {
        let mut c = s.ready();
        c.send(bad);
        c.expect_closed_maybe_err("Unknown Protocol Operation");
    }
}

#[test]
fn bad_byte_after_payload() {
    let s = Server::plain();
    unknown_op_close(&s, b"PUB foo 2\r\nhiX\r\n");
}

#[test]
fn payload_shorter_than_size() {
    let s = Server::plain();
    unknown_op_close(&s, b"PUB foo 1\r\nhi\r\n");
}

#[test]
fn payload_must_end_with_crlf() {
    let s = Server::plain();
    unknown_op_close(&s, b"PUB foo 2\r\nhi\n");
}

#[test]
fn hpub_bad_byte_after_payload() {
    let s = Server::plain();
    unknown_op_close(&s, b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhiX\r\n");
}

#[test]
fn nothing_delivered_before_the_error_is_lost() {
    // Messages before the bad command are delivered; the bad one is not.
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nbX\r\n");
    c.expect(b"MSG foo 1 1\r\na\r\n");
    c.expect_err_closed("Unknown Protocol Operation");
}

#[test]
fn other_connections_survive_a_protocol_error() {
    let s = Server::plain();
    let mut good = s.ready();
    good.send(b"SUB foo 1\r\n");
    good.ping_pong();
    unknown_op_close(&s, b"BOGUS\r\n");
    silent_close(&s, b"PUB foo x\r\n");
    let mut p = s.ready();
    p.send(b"PUB foo 2\r\nok\r\n");
    p.ping_pong();
    good.expect(b"MSG foo 1 2\r\nok\r\n");
    good.expect_nothing();
}
