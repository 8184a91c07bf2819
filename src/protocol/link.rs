//! The server-to-server protocols corenats speaks, as pure code: a leaf node's link to its hub and a
//! route between the servers of a cluster (the two differ only in their op names and the account
//! field). What the peer sends (`INFO`, `CONNECT`, `PING`/`PONG`, `+OK`, `-ERR`, interest, messages)
//! is parsed from a byte buffer; what we send is appended to an outbound `Vec<u8>`.
//!
//! Leaf forms (nats-server's `leafnode.go`; no account and no sid on the wire: one link binds one
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
//! Route forms (nats-server's `route.go`, a route without pooling: every op names its account):
//! ```text
//! RS+ <account> <subject>[ <queue> <weight>]\r\n
//! RS- <account> <subject>[ <queue>]\r\n
//! RMSG <account> <subject> [reply | + reply q.. | | q..] <size>\r\n<payload>\r\n
//! HMSG <account> <subject> [reply | + reply q.. | | q..] <hdr_len> <total_len>\r\n...
//! ```
//! Ops are case-insensitive and fields split on spaces and tabs, as in the client protocol.

/// Which server-to-server protocol a link speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// A leaf node's link (`LS+`, `LMSG`; no account on the wire).
    Leaf,
    /// A route (`RS+`, `RMSG`; the account first).
    Route,
}

impl Dialect {
    fn sub_op(self) -> &'static [u8] {
        match self {
            Dialect::Leaf => b"LS+",
            Dialect::Route => b"RS+",
        }
    }
    fn unsub_op(self) -> &'static [u8] {
        match self {
            Dialect::Leaf => b"LS-",
            Dialect::Route => b"RS-",
        }
    }
    fn msg_op(self) -> &'static str {
        match self {
            Dialect::Leaf => "LMSG",
            Dialect::Route => "RMSG",
        }
    }
}

/// One op from the peer; slices borrow the parser's input. `account` is the route's account field
/// (None on a leaf link).
#[derive(Debug, PartialEq, Eq)]
pub enum LinkOp<'a> {
    Info(&'a [u8]),
    /// `CONNECT` with its JSON (the first op a route's soliciting side sends).
    Connect(&'a [u8]),
    Ping,
    Pong,
    Ok,
    /// `-ERR` with its text, quotes removed.
    Err(&'a [u8]),
    /// `LS+`: plain interest (`queue` None) or a queue group's absolute member count.
    Sub {
        account: Option<&'a [u8]>,
        subject: &'a [u8],
        queue: Option<(&'a [u8], u32)>,
    },
    /// `LS-`.
    Unsub {
        account: Option<&'a [u8]>,
        subject: &'a [u8],
        queue: Option<&'a [u8]>,
    },
    /// `LMSG`/`HMSG`: `queues` empty = plain delivery only.
    Msg {
        account: Option<&'a [u8]>,
        subject: &'a [u8],
        reply: Option<&'a [u8]>,
        queues: Vec<&'a [u8]>,
        headers: Option<&'a [u8]>,
        payload: &'a [u8],
    },
}

/// Why the hub's bytes cannot be read (the link is closed with a parser error).
#[derive(Debug, PartialEq, Eq)]
pub enum LinkParseError {
    UnknownOp,
    ControlLineTooLong,
    BadArgs(&'static str),
    PayloadTooBig,
    /// The payload was not followed by CRLF.
    BadTerminator,
}

impl std::fmt::Display for LinkParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkParseError::UnknownOp => write!(f, "Unknown Protocol Operation"),
            LinkParseError::ControlLineTooLong => write!(f, "Maximum Control Line Exceeded"),
            LinkParseError::BadArgs(op) => write!(f, "processMsgArgs Parse Error: {op}"),
            LinkParseError::PayloadTooBig => write!(f, "Maximum Payload Violation"),
            LinkParseError::BadTerminator => write!(f, "Leafnode message payload not terminated"),
        }
    }
}

/// Fields of an op line parsed without allocating (a message with a reply and a few queue groups).
const MAX_FIELDS: usize = 12;

/// Parses the next op of `dialect` from `buf`: `Ok(Some((op, consumed)))`, `Ok(None)` when `buf`
/// holds no complete op yet (the caller reads more and calls again with the same bytes at the front).
/// `max_control_line` bounds a line, `max_payload` a message body.
pub fn parse(
    buf: &[u8],
    dialect: Dialect,
    max_control_line: usize,
    max_payload: usize,
) -> Result<Option<(LinkOp<'_>, usize)>, LinkParseError> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        if buf.len() > max_control_line {
            return Err(LinkParseError::ControlLineTooLong);
        }
        return Ok(None);
    };
    if nl > max_control_line {
        return Err(LinkParseError::ControlLineTooLong);
    }
    let line = buf[..nl].strip_suffix(b"\r").unwrap_or(&buf[..nl]);
    let after_line = nl + 1;
    let (op, rest) = split_op(line);
    let op_is = |s: &[u8]| op.eq_ignore_ascii_case(s);
    let simple = |o: LinkOp<'static>| Ok(Some((o, after_line)));
    if op_is(b"PING") {
        return simple(LinkOp::Ping);
    }
    if op_is(b"PONG") {
        return simple(LinkOp::Pong);
    }
    if op_is(b"+OK") {
        return simple(LinkOp::Ok);
    }
    if op_is(b"INFO") {
        return Ok(Some((LinkOp::Info(rest), after_line)));
    }
    if op_is(b"CONNECT") {
        return Ok(Some((LinkOp::Connect(rest), after_line)));
    }
    if op_is(b"-ERR") {
        let t = trim(rest);
        let t = t
            .strip_prefix(b"'")
            .and_then(|t| t.strip_suffix(b"'"))
            .unwrap_or(t);
        return Ok(Some((LinkOp::Err(t), after_line)));
    }
    // The fields, without allocating for the usual few (a message with many queue groups spills
    // into a Vec).
    let mut few: [&[u8]; MAX_FIELDS] = [&[]; MAX_FIELDS];
    let mut n = 0;
    let mut spill: Vec<&[u8]> = Vec::new();
    for f in fields(rest) {
        if n < MAX_FIELDS {
            few[n] = f;
        } else {
            if spill.is_empty() {
                spill.extend_from_slice(&few);
            }
            spill.push(f);
        }
        n += 1;
    }
    let all: &[&[u8]] = if n > MAX_FIELDS { &spill } else { &few[..n] };
    // A route's ops name the account first.
    let (account, args): (Option<&[u8]>, &[&[u8]]) = match dialect {
        Dialect::Leaf => (None, all),
        Dialect::Route => match all.split_first() {
            Some((a, rest)) => (Some(*a), rest),
            None => (None, all),
        },
    };
    let sub_name = if dialect == Dialect::Leaf {
        "LS+"
    } else {
        "RS+"
    };
    let unsub_name = if dialect == Dialect::Leaf {
        "LS-"
    } else {
        "RS-"
    };
    if op_is(dialect.sub_op()) {
        if dialect == Dialect::Route && account.is_none() {
            return Err(LinkParseError::BadArgs(sub_name));
        }
        return match args {
            [s] => Ok(Some((
                LinkOp::Sub {
                    account,
                    subject: s,
                    queue: None,
                },
                after_line,
            ))),
            [s, q, w] => {
                let w = number(w).ok_or(LinkParseError::BadArgs(sub_name))?;
                let w = u32::try_from(w).map_err(|_| LinkParseError::BadArgs(sub_name))?;
                Ok(Some((
                    LinkOp::Sub {
                        account,
                        subject: s,
                        queue: Some((q, w)),
                    },
                    after_line,
                )))
            }
            _ => Err(LinkParseError::BadArgs(sub_name)),
        };
    }
    if op_is(dialect.unsub_op()) {
        if dialect == Dialect::Route && account.is_none() {
            return Err(LinkParseError::BadArgs(unsub_name));
        }
        return match args {
            [s] => Ok(Some((
                LinkOp::Unsub {
                    account,
                    subject: s,
                    queue: None,
                },
                after_line,
            ))),
            [s, q] => Ok(Some((
                LinkOp::Unsub {
                    account,
                    subject: s,
                    queue: Some(q),
                },
                after_line,
            ))),
            _ => Err(LinkParseError::BadArgs(unsub_name)),
        };
    }
    let hmsg = op_is(b"HMSG");
    if !(hmsg || op_is(dialect.msg_op().as_bytes())) {
        return Err(LinkParseError::UnknownOp);
    }
    let name = if hmsg { "HMSG" } else { dialect.msg_op() };
    let bad = LinkParseError::BadArgs(name);
    if dialect == Dialect::Route && account.is_none() {
        return Err(bad);
    }
    // The sizes are the last one (LMSG/RMSG) or two (HMSG) fields.
    let nsizes = if hmsg { 2 } else { 1 };
    if args.len() < 1 + nsizes {
        return Err(bad);
    }
    let (head, sizes) = args.split_at(args.len() - nsizes);
    let total = number(sizes[nsizes - 1]).ok_or(LinkParseError::BadArgs(name))?;
    let hdr_len = if hmsg {
        let h = number(sizes[0]).ok_or(LinkParseError::BadArgs(name))?;
        if h > total {
            return Err(LinkParseError::BadArgs(name));
        }
        Some(h)
    } else {
        None
    };
    if total > max_payload {
        return Err(LinkParseError::PayloadTooBig);
    }
    let subject = head[0];
    let (reply, queues): (Option<&[u8]>, Vec<&[u8]>) = match &head[1..] {
        [] => (None, Vec::new()),
        [r] => (Some(*r), Vec::new()),
        [m, r, qs @ ..] if *m == b"+" && !qs.is_empty() => (Some(*r), qs.to_vec()),
        [m, qs @ ..] if *m == b"|" && !qs.is_empty() => (None, qs.to_vec()),
        _ => return Err(LinkParseError::BadArgs(name)),
    };
    let end = after_line + total;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err(LinkParseError::BadTerminator);
    }
    let body = &buf[after_line..end];
    let (headers, payload) = match hdr_len {
        Some(h) => (Some(&body[..h]), &body[h..]),
        None => (None, body),
    };
    Ok(Some((
        LinkOp::Msg {
            account,
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

/// The op and, on a route, the account: `LS+ ` or `RS+ <account> `.
fn head(out: &mut Vec<u8>, op: &[u8], account: Option<&[u8]>) {
    out.extend_from_slice(op);
    out.push(b' ');
    if let Some(a) = account {
        out.extend_from_slice(a);
        out.push(b' ');
    }
}

/// `LS+ <subject>\r\n`, or `LS+ <subject> <queue> <weight>\r\n`; with an account (a route),
/// `RS+ <account> <subject>...`.
pub fn write_sub(
    out: &mut Vec<u8>,
    account: Option<&[u8]>,
    subject: &[u8],
    queue: Option<(&[u8], u32)>,
) {
    let dialect = if account.is_some() {
        Dialect::Route
    } else {
        Dialect::Leaf
    };
    head(out, dialect.sub_op(), account);
    out.extend_from_slice(subject);
    if let Some((q, w)) = queue {
        out.push(b' ');
        out.extend_from_slice(q);
        out.push(b' ');
        out.extend_from_slice(w.to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// `LS- <subject>[ <queue>]\r\n` (the same key text as the `LS+`); `RS- <account> ...` on a route.
pub fn write_unsub(
    out: &mut Vec<u8>,
    account: Option<&[u8]>,
    subject: &[u8],
    queue: Option<&[u8]>,
) {
    let dialect = if account.is_some() {
        Dialect::Route
    } else {
        Dialect::Leaf
    };
    head(out, dialect.unsub_op(), account);
    out.extend_from_slice(subject);
    if let Some(q) = queue {
        out.push(b' ');
        out.extend_from_slice(q);
    }
    out.extend_from_slice(b"\r\n");
}

/// One message to the peer: `LMSG` (`RMSG <account>` on a route), or `HMSG` when it has headers and
/// the peer takes them (without header support the header block is dropped, as nats-server does).
/// `queues`: the peer's groups this message was chosen for.
pub fn write_msg(
    out: &mut Vec<u8>,
    account: Option<&[u8]>,
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[&[u8]],
    headers: Option<&[u8]>,
    payload: &[u8],
) {
    let extra: usize = queues.iter().map(|q| q.len() + 1).sum();
    out.reserve(
        24 + account.map_or(0, |a| a.len() + 1)
            + subject.len()
            + reply.map_or(0, |r| r.len() + 3)
            + extra
            + headers.map_or(0, <[u8]>::len)
            + payload.len(),
    );
    let op: &[u8] = match (headers.is_some(), account.is_some()) {
        (true, _) => b"HMSG",
        (false, false) => b"LMSG",
        (false, true) => b"RMSG",
    };
    head(out, op, account);
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

    fn one(b: &[u8]) -> LinkOp<'_> {
        let (op, n) = parse(b, Dialect::Leaf, 4096, 1 << 20).unwrap().unwrap();
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
        assert_eq!(one(b"PING\r\n"), LinkOp::Ping);
        assert_eq!(one(b"pong\r\n"), LinkOp::Pong);
        assert_eq!(one(b"+OK\r\n"), LinkOp::Ok);
        assert_eq!(
            one(b"-ERR 'Loop detected'\r\n"),
            LinkOp::Err(b"Loop detected")
        );
        assert_eq!(one(b"INFO {\"a\":1}\r\n"), LinkOp::Info(b"{\"a\":1}"));
    }

    #[test]
    fn interest_ops() {
        assert_eq!(
            one(b"LS+ foo.*\r\n"),
            LinkOp::Sub {
                account: None,
                subject: b"foo.*",
                queue: None
            }
        );
        assert_eq!(
            one(b"ls+  q.>\tworkers 2\r\n"),
            LinkOp::Sub {
                account: None,
                subject: b"q.>",
                queue: Some((b"workers", 2))
            }
        );
        assert_eq!(
            one(b"LS- q.> workers\r\n"),
            LinkOp::Unsub {
                account: None,
                subject: b"q.>",
                queue: Some(b"workers")
            }
        );
        assert!(parse(b"LS+ a b\r\n", Dialect::Leaf, 4096, 100).is_err());
        assert!(parse(b"LS+ a b x\r\n", Dialect::Leaf, 4096, 100).is_err());
        assert!(parse(b"LS-\r\n", Dialect::Leaf, 4096, 100).is_err());
    }

    #[test]
    fn messages_in_every_form() {
        let m = |subject, reply, queues: Vec<&'static [u8]>, headers, payload| LinkOp::Msg {
            account: None,
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
        assert_eq!(
            parse(b"LMSG foo 5\r\nhel", Dialect::Leaf, 4096, 100),
            Ok(None)
        );
        assert_eq!(
            parse(b"LMSG foo 5\r\nhello", Dialect::Leaf, 4096, 100),
            Ok(None)
        );
        assert_eq!(parse(b"PIN", Dialect::Leaf, 4096, 100), Ok(None));
        assert_eq!(
            parse(b"LMSG foo 5\r\nhelloXY", Dialect::Leaf, 4096, 100),
            Err(LinkParseError::BadTerminator)
        );
        assert_eq!(
            parse(b"LMSG foo 500\r\n", Dialect::Leaf, 4096, 100),
            Err(LinkParseError::PayloadTooBig)
        );
        assert_eq!(
            parse(b"HMSG foo 9 5\r\n", Dialect::Leaf, 4096, 100),
            Err(LinkParseError::BadArgs("HMSG"))
        );
        assert_eq!(
            parse(b"SUB foo 1\r\n", Dialect::Leaf, 4096, 100),
            Err(LinkParseError::UnknownOp)
        );
        assert_eq!(
            parse(&[b'x'; 100], Dialect::Leaf, 50, 100),
            Err(LinkParseError::ControlLineTooLong)
        );
        assert!(parse(b"LMSG foo + r 2\r\nhi\r\n", Dialect::Leaf, 4096, 100).is_err());
        assert!(parse(b"LMSG 2\r\nhi\r\n", Dialect::Leaf, 4096, 100).is_err());
    }

    #[test]
    fn frames_parse_back() {
        let mut out = Vec::new();
        write_sub(&mut out, None, b"a.b", None);
        write_sub(&mut out, None, b"q.>", Some((b"w", 3)));
        write_unsub(&mut out, None, b"q.>", Some(b"w"));
        write_msg(
            &mut out,
            None,
            b"s",
            Some(b"r"),
            &[b"g1", b"g2"],
            None,
            b"xy",
        );
        write_msg(
            &mut out,
            None,
            b"s",
            None,
            &[b"g1"],
            Some(b"NATS/1.0\r\n\r\n"),
            b"",
        );
        write_msg(&mut out, None, b"s", Some(b"r"), &[], None, b"");
        assert_eq!(
            out,
            b"LS+ a.b\r\nLS+ q.> w 3\r\nLS- q.> w\r\nLMSG s + r g1 g2 2\r\nxy\r\n\
HMSG s | g1 12 12\r\nNATS/1.0\r\n\r\n\r\nLMSG s r 0\r\n\r\n"
        );
        let mut pos = 0;
        let mut n = 0;
        while let Some((_, used)) = parse(&out[pos..], Dialect::Leaf, 4096, 100).unwrap() {
            pos += used;
            n += 1;
        }
        assert_eq!((n, pos), (6, out.len()));
    }

    #[test]
    fn route_ops_carry_the_account() {
        let r = |b: &'static [u8]| parse(b, Dialect::Route, 4096, 1 << 20).unwrap().unwrap().0;
        assert_eq!(
            r(b"RS+ $G foo.* q 3\r\n"),
            LinkOp::Sub {
                account: Some(b"$G"),
                subject: b"foo.*",
                queue: Some((b"q", 3))
            }
        );
        assert_eq!(
            r(b"rs- ACC foo\r\n"),
            LinkOp::Unsub {
                account: Some(b"ACC"),
                subject: b"foo",
                queue: None
            }
        );
        assert_eq!(
            r(b"RMSG A s + r g 2\r\nhi\r\n"),
            LinkOp::Msg {
                account: Some(b"A"),
                subject: b"s",
                reply: Some(b"r"),
                queues: vec![b"g"],
                headers: None,
                payload: b"hi"
            }
        );
        assert_eq!(r(b"CONNECT {}\r\n"), LinkOp::Connect(b"{}"));
        // The leaf forms are not route ops, and a route op needs its account.
        assert!(parse(b"LS+ foo\r\n", Dialect::Route, 4096, 100).is_err());
        assert!(parse(b"LMSG foo 0\r\n\r\n", Dialect::Route, 4096, 100).is_err());
        assert!(parse(b"RS+ foo\r\n", Dialect::Leaf, 4096, 100).is_err());
        assert!(parse(b"RS+\r\n", Dialect::Route, 4096, 100).is_err());
        assert!(parse(b"RMSG A 0\r\n\r\n", Dialect::Route, 4096, 100).is_err());
        let mut out = Vec::new();
        write_sub(&mut out, Some(b"A"), b"x", Some((b"q", 2)));
        write_unsub(&mut out, Some(b"A"), b"x", Some(b"q"));
        write_msg(&mut out, Some(b"A"), b"x", None, &[b"q"], None, b"hi");
        write_msg(
            &mut out,
            Some(b"A"),
            b"x",
            Some(b"r"),
            &[],
            Some(b"NATS/1.0\r\n\r\n"),
            b"",
        );
        assert_eq!(
            out,
            b"RS+ A x q 2\r\nRS- A x q\r\nRMSG A x | q 2\r\nhi\r\n\
HMSG A x r 12 12\r\nNATS/1.0\r\n\r\n\r\n"
        );
        let mut pos = 0;
        while let Some((_, used)) = parse(&out[pos..], Dialect::Route, 4096, 100).unwrap() {
            pos += used;
        }
        assert_eq!(pos, out.len());
    }
}
