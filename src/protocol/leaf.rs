//! The leaf-node protocol as a soliciting leaf speaks it to its hub, as pure code: what the hub sends
//! (`INFO`, `PING`/`PONG`, `+OK`, `-ERR`, `LS+`/`LS-` interest, `LMSG`/`HMSG` messages) parsed from a
//! byte buffer, and the frames the leaf sends appended to an outbound `Vec<u8>`.
//!
//! Wire forms (nats-server's `leafnode.go`; no account and no sid on the wire: one link binds one
//! account):
//! ```text
//! LS+ <subject>\r\n                      plain interest
//! LS+ <subject> <queue> <weight>\r\n     queue interest, weight = member count (absolute)
//! LS- <subject>[ <queue>]\r\n
//! LMSG <subject> [reply] <size>\r\n<payload>\r\n
//! LMSG <subject> + <reply> <q1> [q2...] <size>\r\n...     the sender chose these queue groups
//! LMSG <subject> | <q1> [q2...] <size>\r\n...             the same without a reply
//! HMSG <subject> [reply | + reply q.. | | q..] <hdr_len> <total_len>\r\n<headers+payload>\r\n
//! ```
//! Ops are case-insensitive and fields split on spaces and tabs, as in the client protocol.

/// One op from the hub; slices borrow the parser's input.
#[derive(Debug, PartialEq, Eq)]
pub enum LeafOp<'a> {
    Info(&'a [u8]),
    Ping,
    Pong,
    Ok,
    /// `-ERR` with its text, quotes removed.
    Err(&'a [u8]),
    /// `LS+`: plain interest (`queue` None) or a queue group's absolute member count.
    Sub {
        subject: &'a [u8],
        queue: Option<(&'a [u8], u32)>,
    },
    /// `LS-`.
    Unsub {
        subject: &'a [u8],
        queue: Option<&'a [u8]>,
    },
    /// `LMSG`/`HMSG`: `queues` empty = plain delivery only.
    Msg {
        subject: &'a [u8],
        reply: Option<&'a [u8]>,
        queues: Vec<&'a [u8]>,
        headers: Option<&'a [u8]>,
        payload: &'a [u8],
    },
}

/// Why the hub's bytes cannot be read (the link is closed with a parser error).
#[derive(Debug, PartialEq, Eq)]
pub enum LeafParseError {
    UnknownOp,
    ControlLineTooLong,
    BadArgs(&'static str),
    PayloadTooBig,
    /// The payload was not followed by CRLF.
    BadTerminator,
}

impl std::fmt::Display for LeafParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LeafParseError::UnknownOp => write!(f, "Unknown Protocol Operation"),
            LeafParseError::ControlLineTooLong => write!(f, "Maximum Control Line Exceeded"),
            LeafParseError::BadArgs(op) => write!(f, "processLeafMsgArgs Parse Error: {op}"),
            LeafParseError::PayloadTooBig => write!(f, "Maximum Payload Violation"),
            LeafParseError::BadTerminator => write!(f, "Leafnode message payload not terminated"),
        }
    }
}

/// Parses the next op from `buf`: `Ok(Some((op, consumed)))`, `Ok(None)` when `buf` holds no
/// complete op yet (the caller reads more and calls again with the same bytes at the front).
/// `max_control_line` bounds a line, `max_payload` a message body.
pub fn parse(
    buf: &[u8],
    max_control_line: usize,
    max_payload: usize,
) -> Result<Option<(LeafOp<'_>, usize)>, LeafParseError> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        if buf.len() > max_control_line {
            return Err(LeafParseError::ControlLineTooLong);
        }
        return Ok(None);
    };
    if nl > max_control_line {
        return Err(LeafParseError::ControlLineTooLong);
    }
    let line = buf[..nl].strip_suffix(b"\r").unwrap_or(&buf[..nl]);
    let after_line = nl + 1;
    let (op, rest) = split_op(line);
    let op_upper = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
    let simple = |o: LeafOp<'static>| Ok(Some((o, after_line)));
    if op_upper("PING") {
        return simple(LeafOp::Ping);
    }
    if op_upper("PONG") {
        return simple(LeafOp::Pong);
    }
    if op_upper("+OK") {
        return simple(LeafOp::Ok);
    }
    if op_upper("INFO") {
        return Ok(Some((LeafOp::Info(rest), after_line)));
    }
    if op_upper("-ERR") {
        let t = trim(rest);
        let t = t
            .strip_prefix(b"'")
            .and_then(|t| t.strip_suffix(b"'"))
            .unwrap_or(t);
        return Ok(Some((LeafOp::Err(t), after_line)));
    }
    let args: Vec<&[u8]> = fields(rest).collect();
    if op_upper("LS+") {
        return match args.as_slice() {
            [s] => Ok(Some((
                LeafOp::Sub {
                    subject: s,
                    queue: None,
                },
                after_line,
            ))),
            [s, q, w] => {
                let w = number(w).ok_or(LeafParseError::BadArgs("LS+"))?;
                let w = u32::try_from(w).map_err(|_| LeafParseError::BadArgs("LS+"))?;
                Ok(Some((
                    LeafOp::Sub {
                        subject: s,
                        queue: Some((q, w)),
                    },
                    after_line,
                )))
            }
            _ => Err(LeafParseError::BadArgs("LS+")),
        };
    }
    if op_upper("LS-") {
        return match args.as_slice() {
            [s] => Ok(Some((
                LeafOp::Unsub {
                    subject: s,
                    queue: None,
                },
                after_line,
            ))),
            [s, q] => Ok(Some((
                LeafOp::Unsub {
                    subject: s,
                    queue: Some(q),
                },
                after_line,
            ))),
            _ => Err(LeafParseError::BadArgs("LS-")),
        };
    }
    let hmsg = op_upper("HMSG");
    if !(hmsg || op_upper("LMSG")) {
        return Err(LeafParseError::UnknownOp);
    }
    let name = if hmsg { "HMSG" } else { "LMSG" };
    let bad = LeafParseError::BadArgs(name);
    // The sizes are the last one (LMSG) or two (HMSG) fields.
    let nsizes = if hmsg { 2 } else { 1 };
    if args.len() < 1 + nsizes {
        return Err(bad);
    }
    let (head, sizes) = args.split_at(args.len() - nsizes);
    let total = number(sizes[nsizes - 1]).ok_or(LeafParseError::BadArgs(name))?;
    let hdr_len = if hmsg {
        let h = number(sizes[0]).ok_or(LeafParseError::BadArgs(name))?;
        if h > total {
            return Err(LeafParseError::BadArgs(name));
        }
        Some(h)
    } else {
        None
    };
    if total > max_payload {
        return Err(LeafParseError::PayloadTooBig);
    }
    let subject = head[0];
    let (reply, queues): (Option<&[u8]>, Vec<&[u8]>) = match &head[1..] {
        [] => (None, Vec::new()),
        [r] => (Some(*r), Vec::new()),
        [m, r, qs @ ..] if *m == b"+" && !qs.is_empty() => (Some(*r), qs.to_vec()),
        [m, qs @ ..] if *m == b"|" && !qs.is_empty() => (None, qs.to_vec()),
        _ => return Err(LeafParseError::BadArgs(name)),
    };
    let end = after_line + total;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err(LeafParseError::BadTerminator);
    }
    let body = &buf[after_line..end];
    let (headers, payload) = match hdr_len {
        Some(h) => (Some(&body[..h]), &body[h..]),
        None => (None, body),
    };
    Ok(Some((
        LeafOp::Msg {
            subject,
            reply,
            queues,
            headers,
            payload,
        },
        end + 2,
    )))
}

/// The op name and what follows it (leading blanks removed).
fn split_op(line: &[u8]) -> (&[u8], &[u8]) {
    let line = trim(line);
    match line.iter().position(|b| *b == b' ' || *b == b'\t') {
        Some(i) => (&line[..i], trim(&line[i..])),
        None => (line, &[]),
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

fn fields(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|b| *b == b' ' || *b == b'\t')
        .filter(|f| !f.is_empty())
}

/// A decimal size (at most 10 digits, as nats-server's `parseSize`).
fn number(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0usize, |n, d| n * 10 + usize::from(d - b'0')))
}

/// `LS+ <subject>\r\n`, or `LS+ <subject> <queue> <weight>\r\n`.
pub fn write_sub(out: &mut Vec<u8>, subject: &[u8], queue: Option<(&[u8], u32)>) {
    out.extend_from_slice(b"LS+ ");
    out.extend_from_slice(subject);
    if let Some((q, w)) = queue {
        out.push(b' ');
        out.extend_from_slice(q);
        out.push(b' ');
        out.extend_from_slice(w.to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// `LS- <subject>[ <queue>]\r\n` (the same key text as the `LS+`).
pub fn write_unsub(out: &mut Vec<u8>, subject: &[u8], queue: Option<&[u8]>) {
    out.extend_from_slice(b"LS- ");
    out.extend_from_slice(subject);
    if let Some(q) = queue {
        out.push(b' ');
        out.extend_from_slice(q);
    }
    out.extend_from_slice(b"\r\n");
}

/// One message to the hub: `LMSG`, or `HMSG` when it has headers and the hub takes them (without
/// header support the header block is dropped, as nats-server does). `queues`: the hub's groups this
/// message was chosen for.
pub fn write_msg(
    out: &mut Vec<u8>,
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[&[u8]],
    headers: Option<&[u8]>,
    payload: &[u8],
) {
    let extra: usize = queues.iter().map(|q| q.len() + 1).sum();
    out.reserve(
        24 + subject.len()
            + reply.map_or(0, |r| r.len() + 3)
            + extra
            + headers.map_or(0, <[u8]>::len)
            + payload.len(),
    );
    out.extend_from_slice(if headers.is_some() {
        b"HMSG "
    } else {
        b"LMSG "
    });
    out.extend_from_slice(subject);
    match (reply, queues.is_empty()) {
        (Some(r), true) => {
            out.push(b' ');
            out.extend_from_slice(r);
        }
        (Some(r), false) => {
            out.extend_from_slice(b" + ");
            out.extend_from_slice(r);
        }
        (None, false) => out.extend_from_slice(b" |"),
        (None, true) => {}
    }
    for q in queues {
        out.push(b' ');
        out.extend_from_slice(q);
    }
    let total = headers.map_or(0, <[u8]>::len) + payload.len();
    if let Some(h) = headers {
        out.push(b' ');
        out.extend_from_slice(h.len().to_string().as_bytes());
    }
    out.push(b' ');
    out.extend_from_slice(total.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(h) = headers {
        out.extend_from_slice(h);
    }
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(b: &[u8]) -> LeafOp<'_> {
        let (op, n) = parse(b, 4096, 1 << 20).unwrap().unwrap();
        assert_eq!(
            n,
            b.len(),
            "consumed all of {:?}",
            String::from_utf8_lossy(b)
        );
        op
    }

    #[test]
    fn control_ops() {
        assert_eq!(one(b"PING\r\n"), LeafOp::Ping);
        assert_eq!(one(b"pong\r\n"), LeafOp::Pong);
        assert_eq!(one(b"+OK\r\n"), LeafOp::Ok);
        assert_eq!(
            one(b"-ERR 'Loop detected'\r\n"),
            LeafOp::Err(b"Loop detected")
        );
        assert_eq!(one(b"INFO {\"a\":1}\r\n"), LeafOp::Info(b"{\"a\":1}"));
    }

    #[test]
    fn interest_ops() {
        assert_eq!(
            one(b"LS+ foo.*\r\n"),
            LeafOp::Sub {
                subject: b"foo.*",
                queue: None
            }
        );
        assert_eq!(
            one(b"ls+  q.>\tworkers 2\r\n"),
            LeafOp::Sub {
                subject: b"q.>",
                queue: Some((b"workers", 2))
            }
        );
        assert_eq!(
            one(b"LS- q.> workers\r\n"),
            LeafOp::Unsub {
                subject: b"q.>",
                queue: Some(b"workers")
            }
        );
        assert!(parse(b"LS+ a b\r\n", 4096, 100).is_err());
        assert!(parse(b"LS+ a b x\r\n", 4096, 100).is_err());
        assert!(parse(b"LS-\r\n", 4096, 100).is_err());
    }

    #[test]
    fn messages_in_every_form() {
        let m = |subject, reply, queues: Vec<&'static [u8]>, headers, payload| LeafOp::Msg {
            subject,
            reply,
            queues,
            headers,
            payload,
        };
        assert_eq!(
            one(b"LMSG foo 5\r\nhello\r\n"),
            m(b"foo", None, vec![], None, b"hello")
        );
        assert_eq!(
            one(b"LMSG foo _INBOX.a 2\r\nhi\r\n"),
            m(b"foo", Some(b"_INBOX.a"), vec![], None, b"hi")
        );
        assert_eq!(
            one(b"LMSG foo + _INBOX.a q1 q2 2\r\nhi\r\n"),
            m(b"foo", Some(b"_INBOX.a"), vec![b"q1", b"q2"], None, b"hi")
        );
        assert_eq!(
            one(b"LMSG foo | q1 0\r\n\r\n"),
            m(b"foo", None, vec![b"q1"], None, b"")
        );
        assert_eq!(
            one(b"HMSG foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"),
            m(b"foo", None, vec![], Some(b"NATS/1.0\r\n\r\n"), b"hi")
        );
        assert_eq!(
            one(b"HMSG foo + r g 12 12\r\nNATS/1.0\r\n\r\n\r\n"),
            m(
                b"foo",
                Some(b"r"),
                vec![b"g"],
                Some(b"NATS/1.0\r\n\r\n"),
                b""
            )
        );
    }

    #[test]
    fn incomplete_input_waits_and_bad_input_fails() {
        assert_eq!(parse(b"LMSG foo 5\r\nhel", 4096, 100), Ok(None));
        assert_eq!(parse(b"LMSG foo 5\r\nhello", 4096, 100), Ok(None));
        assert_eq!(parse(b"PIN", 4096, 100), Ok(None));
        assert_eq!(
            parse(b"LMSG foo 5\r\nhelloXY", 4096, 100),
            Err(LeafParseError::BadTerminator)
        );
        assert_eq!(
            parse(b"LMSG foo 500\r\n", 4096, 100),
            Err(LeafParseError::PayloadTooBig)
        );
        assert_eq!(
            parse(b"HMSG foo 9 5\r\n", 4096, 100),
            Err(LeafParseError::BadArgs("HMSG"))
        );
        assert_eq!(
            parse(b"SUB foo 1\r\n", 4096, 100),
            Err(LeafParseError::UnknownOp)
        );
        assert_eq!(
            parse(&[b'x'; 100], 50, 100),
            Err(LeafParseError::ControlLineTooLong)
        );
        assert!(parse(b"LMSG foo + r 2\r\nhi\r\n", 4096, 100).is_err());
        assert!(parse(b"LMSG 2\r\nhi\r\n", 4096, 100).is_err());
    }

    #[test]
    fn frames_parse_back() {
        let mut out = Vec::new();
        write_sub(&mut out, b"a.b", None);
        write_sub(&mut out, b"q.>", Some((b"w", 3)));
        write_unsub(&mut out, b"q.>", Some(b"w"));
        write_msg(&mut out, b"s", Some(b"r"), &[b"g1", b"g2"], None, b"xy");
        write_msg(
            &mut out,
            b"s",
            None,
            &[b"g1"],
            Some(b"NATS/1.0\r\n\r\n"),
            b"",
        );
        write_msg(&mut out, b"s", Some(b"r"), &[], None, b"");
        assert_eq!(
            out,
            b"LS+ a.b\r\nLS+ q.> w 3\r\nLS- q.> w\r\nLMSG s + r g1 g2 2\r\nxy\r\n\
HMSG s | g1 12 12\r\nNATS/1.0\r\n\r\n\r\nLMSG s r 0\r\n\r\n"
        );
        let mut pos = 0;
        let mut n = 0;
        while let Some((_, used)) = parse(&out[pos..], 4096, 100).unwrap() {
            pos += used;
            n += 1;
        }
        assert_eq!((n, pos), (6, out.len()));
    }
}
