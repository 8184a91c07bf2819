//! Tests of the client protocol parser: every op whole, one byte at a time and in random
//! splits; every protocol error nats-server reports; the state after each byte of a PING.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::protocol::ops::{ClientOp, ParseError, Violation};

/// An owned copy of a `ClientOp`, to compare runs fed with different splits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Connect(Vec<u8>),
    Pub(Vec<u8>, Option<Vec<u8>>, Vec<u8>),
    HPub(Vec<u8>, Option<Vec<u8>>, Vec<u8>, Vec<u8>),
    Sub(Vec<u8>, Option<Vec<u8>>, Vec<u8>),
    Unsub(Vec<u8>, Option<u64>),
    Ping,
    Pong,
    Ok,
    Err,
    Info,
}

fn own(op: ClientOp<'_>) -> Op {
    let v = |s: &[u8]| s.to_vec();
    match op {
        ClientOp::Connect { json } => Op::Connect(v(json)),
        ClientOp::Pub {
            subject,
            reply,
            payload,
        } => Op::Pub(v(subject), reply.map(v), v(payload)),
        ClientOp::HPub {
            subject,
            reply,
            headers,
            payload,
        } => Op::HPub(v(subject), reply.map(v), v(headers), v(payload)),
        ClientOp::Sub {
            subject,
            queue,
            sid,
        } => Op::Sub(v(subject), queue.map(v), v(sid)),
        ClientOp::Unsub { sid, max } => Op::Unsub(v(sid), max),
        ClientOp::Ping => Op::Ping,
        ClientOp::Pong => Op::Pong,
        ClientOp::Ok => Op::Ok,
        ClientOp::Err => Op::Err,
        ClientOp::Info => Op::Info,
    }
}

const MCL: usize = DEFAULT_MAX_CONTROL_LINE;
const MPAY: usize = DEFAULT_MAX_PAYLOAD;

/// Feeds `chunks` in order; returns the ops and the error that stopped it, if any.
fn run_with(p: &mut Parser, chunks: &[&[u8]]) -> (Vec<Op>, Option<ParseError>) {
    let mut ops = Vec::new();
    for chunk in chunks {
        let mut pos = 0;
        let mut calls = 0;
        loop {
            calls += 1;
            assert!(calls <= chunk.len() + 2, "parser does not progress");
            let before = pos;
            match p.parse(chunk, &mut pos) {
                Ok(Some(op)) => {
                    assert!(pos > before, "an op must consume bytes");
                    ops.push(own(op));
                }
                Ok(None) => {
                    assert_eq!(pos, chunk.len());
                    break;
                }
                Err(e) => return (ops, Some(e)),
            }
        }
    }
    (ops, None)
}

fn run_limits(mcl: usize, mpay: usize, chunks: &[&[u8]]) -> (Vec<Op>, Option<ParseError>) {
    run_with(&mut Parser::new(mcl, mpay), chunks)
}

fn whole(mcl: usize, mpay: usize, input: &[u8]) -> (Vec<Op>, Option<ParseError>) {
    run_limits(mcl, mpay, &[input])
}

fn bytewise(mcl: usize, mpay: usize, input: &[u8]) -> (Vec<Op>, Option<ParseError>) {
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    run_limits(mcl, mpay, &chunks)
}

fn random_split(
    mcl: usize,
    mpay: usize,
    input: &[u8],
    rng: &mut StdRng,
) -> (Vec<Op>, Option<ParseError>) {
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = rng.random_range(1..=rest.len().min(40));
        let (a, b) = rest.split_at(n);
        chunks.push(a);
        rest = b;
    }
    run_limits(mcl, mpay, &chunks)
}

/// Checks that whole, byte-at-a-time and 50 random splittings all give `expected`.
fn check_all_splits(
    mcl: usize,
    mpay: usize,
    input: &[u8],
    expected: &(Vec<Op>, Option<ParseError>),
) {
    let show = String::from_utf8_lossy(input).into_owned();
    assert_eq!(&whole(mcl, mpay, input), expected, "whole: {show:?}");
    assert_eq!(&bytewise(mcl, mpay, input), expected, "bytewise: {show:?}");
    let mut rng = StdRng::seed_from_u64(0x5EED ^ input.len() as u64);
    for _ in 0..50 {
        assert_eq!(
            &random_split(mcl, mpay, input, &mut rng),
            expected,
            "random split: {show:?}"
        );
    }
}

fn ok(input: &[u8], ops: Vec<Op>) {
    check_all_splits(MCL, MPAY, input, &(ops, None));
}

fn err(input: &[u8], e: ParseError) {
    err_limits(MCL, MPAY, input, e);
}

fn err_limits(mcl: usize, mpay: usize, input: &[u8], e: ParseError) {
    let (ops, got) = whole(mcl, mpay, input);
    assert_eq!(got, Some(e), "{:?}", String::from_utf8_lossy(input));
    check_all_splits(mcl, mpay, input, &(ops, Some(e)));
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn pub_op(s: &str, r: Option<&str>, p: &str) -> Op {
    Op::Pub(b(s), r.map(b), b(p))
}

fn sub_op(s: &str, q: Option<&str>, sid: &str) -> Op {
    Op::Sub(b(s), q.map(b), b(sid))
}

#[test]
fn ping_state_after_each_byte() {
    // As nats-server's TestParsePing: the state after every byte.
    let mut p = Parser::new(MCL, MPAY);
    let steps: [(u8, State); 6] = [
        (b'P', State::OpP),
        (b'I', State::OpPi),
        (b'N', State::OpPin),
        (b'G', State::OpPing),
        (b'\r', State::OpPing),
        (b'\n', State::OpStart),
    ];
    for (k, (byte, want)) in steps.iter().enumerate() {
        let buf = [*byte];
        let mut pos = 0;
        let r = p.parse(&buf, &mut pos).unwrap().map(own);
        if k == 5 {
            assert_eq!(r, Some(Op::Ping));
        } else {
            assert_eq!(r, None);
        }
        assert_eq!(pos, 1);
        assert_eq!(p.state(), *want, "after byte {k}");
    }
}

#[test]
fn pub_states_after_each_byte() {
    let mut p = Parser::new(MCL, MPAY);
    let input = b"PUB a 1\r\nx\r\n";
    let want = [
        State::OpP,
        State::OpPu,
        State::OpPub,
        State::OpPubSpc,
        State::PubArg,
        State::PubArg,
        State::PubArg,
        State::PubArg,
        State::MsgPayload,
        State::MsgEndR,
        State::MsgEndN,
        State::OpStart,
    ];
    for (k, byte) in input.iter().enumerate() {
        let mut pos = 0;
        let r = p
            .parse(std::slice::from_ref(byte), &mut pos)
            .unwrap()
            .map(own);
        assert_eq!(p.state(), want[k], "after byte {k}");
        if k == input.len() - 1 {
            assert_eq!(r, Some(pub_op("a", None, "x")));
        }
    }
}

#[test]
fn pub_forms() {
    ok(
        b"PUB foo 5\r\nhello\r\n",
        vec![pub_op("foo", None, "hello")],
    );
    ok(
        b"pub foo bar 5\r\nhello\r\n",
        vec![pub_op("foo", Some("bar"), "hello")],
    );
    ok(b"PUB x 0\r\n\r\n", vec![pub_op("x", None, "")]);
    ok(
        b"PuB\tfoo\t\t bar  5  \r\nhello\r\n",
        vec![pub_op("foo", Some("bar"), "hello")],
    );
    // Bare \n ends a control line; the payload may contain CR LF.
    ok(
        b"PUB foo 4\n\r\n\r\n\r\n",
        vec![pub_op("foo", None, "\r\n\r\n")],
    );
    // Wildcards and odd bytes are not the parser's business.
    ok(
        b"PUB foo.* bar.> 1\r\n*\r\n",
        vec![pub_op("foo.*", Some("bar.>"), "*")],
    );
    ok(
        b"PUB foo 000000001\r\nx\r\n",
        vec![pub_op("foo", None, "x")],
    );
}

#[test]
fn hpub_forms() {
    ok(
        b"HPUB foo 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n",
        vec![Op::HPub(
            b("foo"),
            None,
            b("NATS/1.0\r\nA: b\r\n\r\n"),
            b("hi"),
        )],
    );
    ok(
        b"HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n",
        vec![Op::HPub(b("foo"), None, b("NATS/1.0\r\n\r\n"), b(""))],
    );
    ok(
        b"hpub foo rep 0 2\r\nhi\r\n",
        vec![Op::HPub(b("foo"), Some(b("rep")), b(""), b("hi"))],
    );
}

#[test]
fn sub_unsub_forms() {
    ok(b"SUB foo 1\r\n", vec![sub_op("foo", None, "1")]);
    ok(b"SUB\tfoo  1  \r\n", vec![sub_op("foo", None, "1")]);
    ok(b"sub foo q 2\n", vec![sub_op("foo", Some("q"), "2")]);
    ok(
        b"SuB foo.> q.* sid-x\r\n",
        vec![sub_op("foo.>", Some("q.*"), "sid-x")],
    );
    ok(b"UNSUB 1\r\n", vec![Op::Unsub(b("1"), None)]);
    ok(b"unsub 1 5\r\n", vec![Op::Unsub(b("1"), Some(5))]);
    ok(b"UNSUB 1 0\r\n", vec![Op::Unsub(b("1"), None)]);
    ok(b"UNSUB 1 -1\r\n", vec![Op::Unsub(b("1"), None)]);
    ok(b"UNSUB 1 abc\r\n", vec![Op::Unsub(b("1"), None)]);
    ok(
        b"UNSUB 1 999999999\r\n",
        vec![Op::Unsub(b("1"), Some(999_999_999))],
    );
    ok(b"UNSUB 1 9999999999\r\n", vec![Op::Unsub(b("1"), None)]);
}

#[test]
fn ping_pong_ok_ignore_rest_of_line() {
    ok(b"PING\r\n", vec![Op::Ping]);
    ok(b"ping\n", vec![Op::Ping]);
    ok(b"PING foo bar\r\n", vec![Op::Ping]);
    ok(b"PINGX\r\n", vec![Op::Ping]);
    ok(b"PONG\r\n", vec![Op::Pong]);
    ok(b"pOnG whatever\r\n", vec![Op::Pong]);
    ok(b"+OK\r\n", vec![Op::Ok]);
    ok(b"+ok junk\r\n", vec![Op::Ok]);
}

#[test]
fn connect_info_err() {
    ok(
        b"CONNECT {\"verbose\":false}\r\n",
        vec![Op::Connect(b("{\"verbose\":false}"))],
    );
    ok(b"CONNECT{}\r\n", vec![Op::Connect(b("{}"))]);
    ok(b"connect \t {} \r\n", vec![Op::Connect(b("{} "))]);
    // Empty CONNECT reaches the engine as empty JSON (which it rejects silently).
    ok(b"CONNECT\r\n", vec![Op::Connect(b(""))]);
    ok(b"INFO {\"server_id\":\"x\"}\r\n", vec![Op::Info]);
    ok(b"INFO{}\n", vec![Op::Info]);
    ok(b"-ERR 'Stale Connection'\r\n", vec![Op::Err]);
    ok(b"-err x\r\n", vec![Op::Err]);
}

#[test]
fn many_ops_in_one_stream() {
    let mut input = Vec::new();
    let mut want = Vec::new();
    input.extend_from_slice(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n");
    want.push(Op::Connect(b("{\"verbose\":false,\"pedantic\":false}")));
    for k in 0..20 {
        input.extend_from_slice(format!("SUB s.{k} q{k} {k}\r\n").as_bytes());
        want.push(Op::Sub(
            format!("s.{k}").into_bytes(),
            Some(format!("q{k}").into_bytes()),
            format!("{k}").into_bytes(),
        ));
        let payload = "x".repeat(k * 7);
        input.extend_from_slice(
            format!("PUB s.{k} r {}\r\n{payload}\r\n", payload.len()).as_bytes(),
        );
        want.push(pub_op(&format!("s.{k}"), Some("r"), &payload));
        input.extend_from_slice(
            format!(
                "HPUB s.{k} 12 {}\r\nNATS/1.0\r\n\r\n{payload}\r\n",
                12 + payload.len()
            )
            .as_bytes(),
        );
        want.push(Op::HPub(
            format!("s.{k}").into_bytes(),
            None,
            b("NATS/1.0\r\n\r\n"),
            payload.clone().into_bytes(),
        ));
        input.extend_from_slice(b"PING\r\nPONG\r\n+OK\r\n");
        want.extend([Op::Ping, Op::Pong, Op::Ok]);
        input.extend_from_slice(format!("UNSUB {k} 3\r\n").as_bytes());
        want.push(Op::Unsub(format!("{k}").into_bytes(), Some(3)));
    }
    input.extend_from_slice(b"-ERR 'bye'\r\n");
    want.push(Op::Err);
    ok(&input, want);
}

#[test]
fn large_payload_split_anywhere() {
    let payload: Vec<u8> = (0..200_000u32).map(|k| (k % 251) as u8).collect();
    let mut input = b"PUB big 200000\r\n".to_vec();
    input.extend_from_slice(&payload);
    input.extend_from_slice(b"\r\nPING\r\n");
    let want = (
        vec![Op::Pub(b("big"), None, payload.clone()), Op::Ping],
        None,
    );
    assert_eq!(whole(MCL, MPAY, &input), want);
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..20 {
        let mut chunks: Vec<&[u8]> = Vec::new();
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len().min(70_000));
            let (a, c) = rest.split_at(n);
            chunks.push(a);
            rest = c;
        }
        assert_eq!(run_limits(MCL, MPAY, &chunks), want);
    }
}

#[test]
fn whole_op_borrows_read_buffer_split_op_is_copied() {
    let input = b"PUB foo 5\r\nhello\r\n";
    let mut p = Parser::new(MCL, MPAY);
    let mut pos = 0;
    let range = input.as_ptr_range();
    match p.parse(input, &mut pos).unwrap() {
        Some(ClientOp::Pub {
            subject, payload, ..
        }) => {
            assert!(range.contains(&subject.as_ptr()));
            assert!(range.contains(&payload.as_ptr()));
        }
        other => panic!("{other:?}"),
    }
    // Split inside the payload: both the line and the payload are copied.
    let (a, c) = input.split_at(13);
    let mut pos = 0;
    assert!(p.parse(a, &mut pos).unwrap().is_none());
    let mut pos = 0;
    let range = c.as_ptr_range();
    match p.parse(c, &mut pos).unwrap() {
        Some(ClientOp::Pub {
            subject, payload, ..
        }) => {
            assert_eq!((subject, payload), (&b"foo"[..], &b"hello"[..]));
            assert!(!range.contains(&subject.as_ptr()));
            assert!(!range.contains(&payload.as_ptr()));
        }
        other => panic!("{other:?}"),
    }
    // Split right after the control line: the payload is still borrowed from the new read.
    let (a, c) = input.split_at(11);
    let mut pos = 0;
    assert!(p.parse(a, &mut pos).unwrap().is_none());
    let mut pos = 0;
    let range = c.as_ptr_range();
    match p.parse(c, &mut pos).unwrap() {
        Some(ClientOp::Pub { payload, .. }) => {
            assert_eq!(payload, b"hello");
            assert!(range.contains(&payload.as_ptr()));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn big_split_payload_buffer_is_released() {
    let mut p = Parser::new(MCL, MPAY);
    let mut input = b"PUB a 100000\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'z', 100_000));
    input.extend_from_slice(b"\r\n");
    let (x, y) = input.split_at(50_000);
    let mut pos = 0;
    assert!(p.parse(x, &mut pos).unwrap().is_none());
    let mut pos = 0;
    assert!(p.parse(y, &mut pos).unwrap().is_some());
    assert!(p.payload_buf.capacity() >= 100_000);
    let (ops, _) = run_with(&mut p, &[b"PING\r\n"]);
    assert_eq!(ops, vec![Op::Ping]);
    assert!(p.payload_buf.capacity() <= PAYLOAD_BUF_KEEP);
}

#[test]
fn unknown_operations() {
    use ParseError::UnknownOp;
    err(b"\r\n", UnknownOp);
    err(b"\n", UnknownOp);
    err(b"PING\r\n\r\n", UnknownOp);
    err(b"XYZ\r\n", UnknownOp);
    err(b"MSG foo 1 5\r\nhello\r\n", UnknownOp);
    err(b"HMSG foo 1 2 2\r\nhi\r\n", UnknownOp);
    err(b"RS+ foo\r\n", UnknownOp);
    err(b"RMSG $G foo 1\r\n", UnknownOp);
    err(b"LS+ foo\r\n", UnknownOp);
    err(b"LMSG foo 1\r\n", UnknownOp);
    err(b"A+ foo\r\n", UnknownOp);
    err(b"PUBX foo 1\r\n", UnknownOp);
    err(b"PUB\r\n", UnknownOp);
    err(b"SUBfoo 1\r\n", UnknownOp);
    err(b"UNSUB\r\n", UnknownOp);
    err(b"-ERR\r\n", UnknownOp);
    err(b"CONNEXT {}\r\n", UnknownOp);
    // Payload must be followed by exactly CR LF (this also catches a wrong byte count).
    err(b"PUB foo 5\r\nhelloX\r\n", UnknownOp);
    err(b"PUB foo 5\r\nhello\n", UnknownOp);
    err(b"PUB foo 5\r\nhello\rX", UnknownOp);
    err(b"PUB foo 3\r\nhello\r\n", UnknownOp);
    err(b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\n\n", UnknownOp);
    // Ops before the error are still delivered.
    let (ops, e) = whole(MCL, MPAY, b"PING\r\nSUB a 1\r\nBAD\r\n");
    assert_eq!(ops, vec![Op::Ping, sub_op("a", None, "1")]);
    assert_eq!(e, Some(UnknownOp));
}

#[test]
fn argument_violations_close_silently() {
    use ParseError::Violation as V;
    err(b"PUB foo -1\r\n", V(Violation::PubSize));
    err(b"PUB foo +1\r\n", V(Violation::PubSize));
    err(b"PUB foo abc\r\n", V(Violation::PubSize));
    err(b"PUB foo 1234567890\r\n", V(Violation::PubSize));
    err(b"PUB foo\r\n", V(Violation::PubArgs));
    err(b"PUB foo bar baz 1\r\n", V(Violation::PubArgs));
    err(b"PUB \r\n", V(Violation::PubArgs));
    err(b"HPUB foo 20 18\r\n", V(Violation::HPubHeaderTooLarge));
    err(b"HPUB foo 1\r\n", V(Violation::HPubArgs));
    err(b"HPUB a b c d e\r\n", V(Violation::HPubArgs));
    err(b"HPUB foo x 2\r\n", V(Violation::HPubHeaderSize));
    err(b"HPUB foo -1 2\r\n", V(Violation::HPubHeaderSize));
    err(b"HPUB foo 1 y\r\n", V(Violation::HPubTotalSize));
    err(b"SUB foo\r\n", V(Violation::SubArgs));
    err(b"SUB a b c d\r\n", V(Violation::SubArgs));
    err(b"SUB \r\n", V(Violation::SubArgs));
    err(b"UNSUB 1 2 3\r\n", V(Violation::UnsubArgs));
    err(b"UNSUB \r\n", V(Violation::UnsubArgs));
    err(b"INFO [1]\r\n", V(Violation::InfoJson));
    err(b"INFO not json\r\n", V(Violation::InfoJson));
}

#[test]
fn max_payload_checked_before_payload() {
    let e = ParseError::MaxPayload;
    // The error comes as soon as the line ends, with no payload byte sent.
    err_limits(MCL, 10, b"PUB foo 11\r\n", e);
    err_limits(MCL, 10, b"HPUB foo 2 11\r\n", e);
    err_limits(MCL, 10, b"HPUB foo 12 12\r\n", e);
    check_all_splits(
        MCL,
        10,
        b"PUB foo 10\r\n0123456789\r\n",
        &(vec![pub_op("foo", None, "0123456789")], None),
    );
    // Account limits after CONNECT.
    let mut p = Parser::new(MCL, MPAY);
    let (ops, e1) = run_with(&mut p, &[b"PUB a 5\r\nhello\r\n"]);
    assert_eq!((ops.len(), e1), (1, None));
    p.set_max_payload(4);
    let (_, e2) = run_with(&mut p, &[b"PUB a 5\r\nhello\r\n"]);
    assert_eq!(e2, Some(ParseError::MaxPayload));
}

#[test]
fn max_control_line() {
    let e = ParseError::MaxControlLine;
    let at = |n: usize| format!("SUB {} 1\r\n", "a".repeat(n - 2)).into_bytes();
    // Argument part of exactly 16 bytes is fine; 17 is too long.
    check_all_splits(
        16,
        MPAY,
        &at(16),
        &(vec![sub_op(&"a".repeat(14), None, "1")], None),
    );
    err_limits(16, MPAY, &at(17), e);
    // Detected before the line ends, however the bytes arrive.
    err_limits(16, MPAY, format!("PUB {}", "b".repeat(40)).as_bytes(), e);
    err_limits(
        16,
        MPAY,
        format!("CONNECT {{{}", " ".repeat(40)).as_bytes(),
        e,
    );
    // Default limit: 4096.
    let long = format!("CONNECT {{\"name\":\"{}\"}}\r\n", "n".repeat(5000));
    err(long.as_bytes(), e);
    let fits = format!("CONNECT {{\"name\":\"{}\"}}\r\n", "n".repeat(4000));
    assert_eq!(whole(MCL, MPAY, fits.as_bytes()).1, None);
    // Blanks between the verb and the arguments do not count, trailing CR does not count.
    check_all_splits(
        16,
        MPAY,
        format!("SUB      {} 1\r\n", "a".repeat(14)).as_bytes(),
        &(vec![sub_op(&"a".repeat(14), None, "1")], None),
    );
}

#[test]
fn random_garbage_never_panics_or_loops() {
    let mut rng = StdRng::seed_from_u64(42);
    let alphabet: &[u8] = b"PUBHSINGCOKTRMX+-ER \t\r\n0123456789{}.*>";
    for _ in 0..2000 {
        let len = rng.random_range(0..80);
        let input: Vec<u8> = (0..len)
            .map(|_| {
                if rng.random_bool(0.9) {
                    alphabet[rng.random_range(0..alphabet.len())]
                } else {
                    rng.random()
                }
            })
            .collect();
        let expected = whole(64, 32, &input);
        assert_eq!(bytewise(64, 32, &input), expected);
        assert_eq!(random_split(64, 32, &input, &mut rng), expected);
        // Feeding after an error must not panic either.
        let mut p = Parser::new(64, 32);
        let _ = run_with(&mut p, &[&input, &input]);
    }
}

#[test]
fn parse_size_rules() {
    assert_eq!(parse_size(b"0"), Some(0));
    assert_eq!(parse_size(b"123456789"), Some(123_456_789));
    assert_eq!(parse_size(b"1234567890"), None);
    assert_eq!(parse_size(b""), None);
    assert_eq!(parse_size(b"-1"), None);
    assert_eq!(parse_size(b"+1"), None);
    assert_eq!(parse_size(b"1a"), None);
}
