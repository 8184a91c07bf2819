//! Resumable byte-level parser for the client → server protocol.
//!
//! Feed it whatever a socket read returned; it yields one [`ClientOp`] per call and remembers,
//! in [`State`], how much of the next operation it has seen when a read ends mid-operation.
//! States are named after what has been seen (`OpP → OpPu → OpPub → OpPubSpc → PubArg →
//! MsgPayload → MsgEndR → MsgEndN`).
//!
//! Zero copy in the common case: arguments and payloads are slices of the caller's buffer.
//! Only when a read splits an operation are its bytes copied into the parser's own buffers
//! (the control line into `arg_buf`, the payload into `payload_buf`). Control lines are
//! scanned for `\n` in one pass bounded by `max_control_line`; payloads are jumped over by
//! their declared size, never scanned.
//!
//! Rules (nats-server 2.x):
//! * verbs are case-insensitive; blanks are spaces or tabs, runs of them are one separator;
//! * a control line ends at `\n`; one `\r` before it is dropped, so a bare `\n` works;
//! * `PING`, `PONG`, `+OK` ignore the rest of their line; `CONNECT{..}`/`INFO{..}` need no blank;
//! * a payload must be followed by exactly `\r\n`, else `UnknownOp`;
//! * the argument part of a line longer than `max_control_line` is `MaxControlLine`, detected
//!   as soon as that many bytes have arrived (deterministic, whatever the read sizes were);
//! * `size > max_payload` is `MaxPayload`, checked before any payload byte is read;
//! * bad argument counts or sizes are `Violation` (nats-server closes without `-ERR`).

use std::collections::HashMap;

use serde::de::IgnoredAny;

use super::ops::{ClientOp, ParseError, Violation};

/// nats-server's default `max_control_line`.
pub const DEFAULT_MAX_CONTROL_LINE: usize = 4096;
/// nats-server's default `max_payload` (1 MiB).
pub const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;
/// A split-payload buffer grown beyond this is released after its operation, so one large
/// split message does not pin memory in an idle connection for life.
const PAYLOAD_BUF_KEEP: usize = 64 * 1024;

/// What the parser has seen of the current operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Between operations: the next byte starts a verb.
    OpStart,
    OpPlus,
    OpPlusO,
    /// `+OK` seen: bytes up to `\n` are ignored.
    OpPlusOk,
    OpMinus,
    OpMinusE,
    OpMinusEr,
    OpMinusErr,
    OpMinusErrSpc,
    MinusErrArg,
    OpC,
    OpCo,
    OpCon,
    OpConn,
    OpConne,
    OpConnec,
    /// `CONNECT` seen: blanks are skipped, any other byte starts the JSON.
    OpConnect,
    ConnectArg,
    OpH,
    OpHp,
    OpHpu,
    OpHpub,
    OpHpubSpc,
    HpubArg,
    OpP,
    OpPu,
    OpPub,
    OpPubSpc,
    PubArg,
    OpPi,
    OpPin,
    /// `PING` seen: bytes up to `\n` are ignored.
    OpPing,
    OpPo,
    OpPon,
    /// `PONG` seen: bytes up to `\n` are ignored.
    OpPong,
    /// PUB/HPUB line done: reading `size` payload bytes.
    MsgPayload,
    /// Payload read: expecting `\r`.
    MsgEndR,
    /// Payload and `\r` read: expecting `\n`.
    MsgEndN,
    OpS,
    OpSu,
    OpSub,
    OpSubSpc,
    SubArg,
    OpU,
    OpUn,
    OpUns,
    OpUnsu,
    OpUnsub,
    OpUnsubSpc,
    UnsubArg,
    OpI,
    OpIn,
    OpInf,
    /// `INFO` seen: blanks are skipped, any other byte starts the JSON.
    OpInfo,
    InfoArg,
}

/// Where a control line's content lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum LineLoc {
    /// In `Parser::arg_buf` (the line was split, or was saved because its payload was).
    #[default]
    Own,
    /// In the current read buffer, starting at this index.
    Buf(usize),
}

/// A field of a control line: byte range relative to the start of the line's content.
type Span = (usize, usize);

/// The PUB/HPUB whose payload is being read.
#[derive(Debug, Clone, Copy, Default)]
struct PendingPub {
    /// Where the control line content is, and its length.
    line: LineLoc,
    line_len: usize,
    subject: Span,
    reply: Option<Span>,
    /// `Some(header size)` for HPUB, `None` for PUB.
    hdr: Option<usize>,
    /// Payload size (HPUB: the total), already checked against `max_payload`.
    size: usize,
}

/// A finished operation, described by positions only (so `step` holds no borrows).
enum Ready {
    Connect(LineLoc, usize),
    Pub {
        pending: PendingPub,
        /// Start of the payload in the read buffer, or `None` if it is in `payload_buf`.
        payload_at: Option<usize>,
    },
    Sub {
        line: LineLoc,
        len: usize,
        subject: Span,
        queue: Option<Span>,
        sid: Span,
    },
    Unsub {
        line: LineLoc,
        len: usize,
        sid: Span,
        max: Option<u64>,
    },
    Ping,
    Pong,
    Ok,
    Err,
    Info,
}

/// The resumable parser of one client connection.
#[derive(Debug)]
pub struct Parser {
    /// What has been seen of the current operation.
    state: State,
    /// While an argument line is in the current buffer: the index where its content starts.
    /// Only meaningful within one `parse` call and while `arg_copied` is false.
    arg_start: usize,
    /// True once the argument line being read has been copied into `arg_buf`.
    arg_copied: bool,
    /// Copy of a control line that a read split (or whose payload a read split). Holds the
    /// argument part only, at most `max_control_line + 2` bytes.
    arg_buf: Vec<u8>,
    /// True once the payload being read is being copied into `payload_buf`.
    payload_copied: bool,
    /// Copy of a payload that a read split: at most `max_payload` bytes (HPUB: header block
    /// and payload). Released after use when it grew past `PAYLOAD_BUF_KEEP`.
    payload_buf: Vec<u8>,
    /// The PUB/HPUB whose payload is being read (valid in MsgPayload/MsgEndR/MsgEndN).
    pending: PendingPub,
    /// Longest accepted argument part of a control line (nats `max_control_line`, 4096).
    max_control_line: usize,
    /// Largest accepted PUB size / HPUB total size (nats `max_payload`, or the account's).
    max_payload: usize,
}

impl Parser {
    pub fn new(max_control_line: usize, max_payload: usize) -> Self {
        Parser {
            state: State::OpStart,
            arg_start: 0,
            arg_copied: false,
            arg_buf: Vec::new(),
            payload_copied: false,
            payload_buf: Vec::new(),
            pending: PendingPub::default(),
            max_control_line,
            max_payload,
        }
    }

    /// Changes the payload limit (account limits become known after CONNECT).
    pub fn set_max_payload(&mut self, n: usize) {
        self.max_payload = n;
    }

    /// Changes the control-line limit (a reload may lower it for live connections).
    pub fn set_max_control_line(&mut self, n: usize) {
        self.max_control_line = n;
    }

    /// What the parser has seen of the current operation.
    pub fn state(&self) -> State {
        self.state
    }

    /// Parses the next op from `buf[*pos..]`; advances `*pos` past consumed bytes.
    /// `Ok(None)` = all of `buf` consumed (whatever was partial is saved), need more bytes.
    /// On error `*pos` is the offending byte (for a log snippet); the connection must close.
    pub fn parse<'a>(
        &'a mut self,
        buf: &'a [u8],
        pos: &mut usize,
    ) -> Result<Option<ClientOp<'a>>, ParseError> {
        if self.state == State::OpStart && self.payload_buf.capacity() > PAYLOAD_BUF_KEEP {
            self.payload_buf = Vec::new();
        }
        match self.step(buf, pos) {
            Ok(Some(ready)) => Ok(Some(self.build(buf, ready))),
            Ok(None) => Ok(None),
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }

    /// Forgets everything about the current operation (after an error), so that no stale
    /// index into an old buffer survives.
    fn reset(&mut self) {
        self.state = State::OpStart;
        self.arg_copied = false;
        self.payload_copied = false;
        self.pending = PendingPub::default();
        self.arg_buf.clear();
        self.payload_buf.clear();
    }

    /// The state machine. Returns positions only; `build` turns them into slices.
    fn step(&mut self, buf: &[u8], pos: &mut usize) -> Result<Option<Ready>, ParseError> {
        use State::*;
        let mut i = *pos;
        loop {
            let Some(&b) = buf.get(i) else {
                // Out of bytes: nothing may keep pointing into `buf` after we return.
                if matches!(self.state, MsgPayload | MsgEndR | MsgEndN) {
                    self.stash_line(buf);
                }
                *pos = buf.len();
                return Ok(None);
            };
            let next = match self.state {
                OpStart => match b {
                    b'P' | b'p' => OpP,
                    b'H' | b'h' => OpH,
                    b'S' | b's' => OpS,
                    b'U' | b'u' => OpU,
                    b'C' | b'c' => OpC,
                    b'I' | b'i' => OpI,
                    b'+' => OpPlus,
                    b'-' => OpMinus,
                    _ => return fail(pos, i, ParseError::UnknownOp),
                },
                OpP => match b {
                    b'U' | b'u' => OpPu,
                    b'I' | b'i' => OpPi,
                    b'O' | b'o' => OpPo,
                    _ => return fail(pos, i, ParseError::UnknownOp),
                },
                OpPub | OpHpub | OpSub | OpUnsub | OpMinusErr => match (b, self.state) {
                    (b' ' | b'\t', OpPub) => OpPubSpc,
                    (b' ' | b'\t', OpHpub) => OpHpubSpc,
                    (b' ' | b'\t', OpSub) => OpSubSpc,
                    (b' ' | b'\t', OpUnsub) => OpUnsubSpc,
                    (b' ' | b'\t', _) => OpMinusErrSpc,
                    _ => return fail(pos, i, ParseError::UnknownOp),
                },
                OpPubSpc | OpHpubSpc | OpSubSpc | OpUnsubSpc | OpMinusErrSpc | OpConnect
                | OpInfo => {
                    if b == b' ' || b == b'\t' {
                        i += 1;
                        continue;
                    }
                    // The first non-blank byte is argument content, even `\r` or `\n`
                    // (as in nats-server), so the search for the line end starts after it.
                    self.state = match self.state {
                        OpPubSpc => PubArg,
                        OpHpubSpc => HpubArg,
                        OpSubSpc => SubArg,
                        OpUnsubSpc => UnsubArg,
                        OpMinusErrSpc => MinusErrArg,
                        OpConnect => ConnectArg,
                        _ => InfoArg,
                    };
                    self.arg_start = i;
                    self.arg_copied = false;
                    i += 1;
                    match self.arg_line(buf, i, pos)? {
                        Some(r) => return Ok(Some(r)),
                        None => {
                            i = *pos;
                            continue;
                        }
                    }
                }
                PubArg | HpubArg | SubArg | UnsubArg | MinusErrArg | ConnectArg | InfoArg => {
                    match self.arg_line(buf, i, pos)? {
                        Some(r) => return Ok(Some(r)),
                        None => {
                            i = *pos;
                            continue;
                        }
                    }
                }
                OpPing | OpPong | OpPlusOk => {
                    // Everything up to `\n` is ignored (`PINGX`, `PING foo` get a PONG).
                    match find_nl(&buf[i..]) {
                        Some(k) => {
                            *pos = i + k + 1;
                            let r = match self.state {
                                OpPing => Ready::Ping,
                                OpPong => Ready::Pong,
                                _ => Ready::Ok,
                            };
                            self.state = OpStart;
                            return Ok(Some(r));
                        }
                        None => {
                            i = buf.len();
                            continue;
                        }
                    }
                }
                MsgPayload => match self.payload(buf, i, pos)? {
                    Some(r) => return Ok(Some(r)),
                    None => {
                        i = *pos;
                        continue;
                    }
                },
                MsgEndR => {
                    if b != b'\r' {
                        return fail(pos, i, ParseError::UnknownOp);
                    }
                    MsgEndN
                }
                MsgEndN => {
                    if b != b'\n' {
                        return fail(pos, i, ParseError::UnknownOp);
                    }
                    *pos = i + 1;
                    self.state = OpStart;
                    return Ok(Some(Ready::Pub {
                        pending: self.pending,
                        payload_at: None,
                    }));
                }
                _ => match letter_step(self.state, b) {
                    Some(s) => s,
                    None => return fail(pos, i, ParseError::UnknownOp),
                },
            };
            self.state = next;
            i += 1;
        }
    }

    /// In an argument state: looks for the end of the line from `i`. On a complete line,
    /// dispatches it; otherwise saves the partial line in `arg_buf` and sets `*pos` to the
    /// end of `buf`. Enforces `max_control_line` on the argument part as bytes arrive.
    fn arg_line(
        &mut self,
        buf: &[u8],
        i: usize,
        pos: &mut usize,
    ) -> Result<Option<Ready>, ParseError> {
        let have = if self.arg_copied {
            self.arg_buf.len()
        } else {
            i - self.arg_start
        };
        // Looking at `max_control_line + 2 - have` more bytes is enough to decide: a line end
        // among them, or a line too long whatever comes next.
        let budget = self.max_control_line.saturating_add(2).saturating_sub(have);
        let end = buf.len().min(i.saturating_add(budget));
        let Some(k) = find_nl(&buf[i..end]) else {
            if end < buf.len() {
                return fail(pos, end, ParseError::MaxControlLine);
            }
            if self.arg_copied {
                self.arg_buf.extend_from_slice(&buf[i..]);
            } else {
                self.arg_buf.clear();
                self.arg_buf.extend_from_slice(&buf[self.arg_start..]);
                self.arg_copied = true;
            }
            let mut len = self.arg_buf.len();
            if self.arg_buf.last() == Some(&b'\r') {
                len -= 1;
            }
            if len > self.max_control_line {
                return fail(pos, buf.len(), ParseError::MaxControlLine);
            }
            *pos = buf.len();
            return Ok(None);
        };
        let nl = i + k;
        let (line, len) = if self.arg_copied {
            self.arg_buf.extend_from_slice(&buf[i..nl]);
            if self.arg_buf.last() == Some(&b'\r') {
                self.arg_buf.pop();
            }
            (LineLoc::Own, self.arg_buf.len())
        } else {
            let mut e = nl;
            if e > self.arg_start && buf[e - 1] == b'\r' {
                e -= 1;
            }
            (LineLoc::Buf(self.arg_start), e - self.arg_start)
        };
        if len > self.max_control_line {
            return fail(pos, nl, ParseError::MaxControlLine);
        }
        *pos = nl + 1;
        let kind = self.state;
        self.state = State::OpStart;
        let content = match line {
            LineLoc::Own => self.arg_buf.get(..len).unwrap_or_default(),
            LineLoc::Buf(s) => buf.get(s..s + len).unwrap_or_default(),
        };
        let ready = match kind {
            State::ConnectArg => Ready::Connect(line, len),
            State::MinusErrArg => Ready::Err,
            State::InfoArg => {
                // nats-server decodes a client's INFO into its Info struct: must be an object.
                if serde_json::from_slice::<Option<HashMap<String, IgnoredAny>>>(content).is_err() {
                    return Err(ParseError::Violation(Violation::InfoJson));
                }
                Ready::Info
            }
            State::SubArg => {
                let (n, f) = fields::<3>(content, true);
                let (subject, queue, sid) = match n {
                    2 => (f[0], None, f[1]),
                    3 => (f[0], Some(f[1]), f[2]),
                    _ => return Err(ParseError::Violation(Violation::SubArgs)),
                };
                Ready::Sub {
                    line,
                    len,
                    subject,
                    queue,
                    sid,
                }
            }
            State::UnsubArg => {
                let (n, f) = fields::<2>(content, true);
                let max = match n {
                    1 => None,
                    2 => parse_size(span(content, f[1]))
                        .filter(|&m| m > 0)
                        .map(|m| m as u64),
                    _ => return Err(ParseError::Violation(Violation::UnsubArgs)),
                };
                Ready::Unsub {
                    line,
                    len,
                    sid: f[0],
                    max,
                }
            }
            _ => {
                self.pending = self.pub_args(kind == State::HpubArg, content, line, len)?;
                self.state = State::MsgPayload;
                self.payload_copied = false;
                return self.payload(buf, nl + 1, pos);
            }
        };
        Ok(Some(ready))
    }

    /// Splits and checks a PUB/HPUB argument line.
    fn pub_args(
        &self,
        hpub: bool,
        content: &[u8],
        line: LineLoc,
        line_len: usize,
    ) -> Result<PendingPub, ParseError> {
        let (n, f) = fields::<4>(content, false);
        let (subject, reply, hdr, size) = if hpub {
            let (subject, reply, h, t) = match n {
                3 => (f[0], None, f[1], f[2]),
                4 => (f[0], Some(f[1]), f[2], f[3]),
                _ => return Err(ParseError::Violation(Violation::HPubArgs)),
            };
            let hdr = parse_size(span(content, h))
                .ok_or(ParseError::Violation(Violation::HPubHeaderSize))?;
            let total = parse_size(span(content, t))
                .ok_or(ParseError::Violation(Violation::HPubTotalSize))?;
            if hdr > total {
                return Err(ParseError::Violation(Violation::HPubHeaderTooLarge));
            }
            (subject, reply, Some(hdr), total)
        } else {
            let (subject, reply, s) = match n {
                2 => (f[0], None, f[1]),
                3 => (f[0], Some(f[1]), f[2]),
                _ => return Err(ParseError::Violation(Violation::PubArgs)),
            };
            let size =
                parse_size(span(content, s)).ok_or(ParseError::Violation(Violation::PubSize))?;
            (subject, reply, None, size)
        };
        if size > self.max_payload {
            return Err(ParseError::MaxPayload);
        }
        Ok(PendingPub {
            line,
            line_len,
            subject,
            reply,
            hdr,
            size,
        })
    }

    /// In MsgPayload at `i`: jumps over the payload when it and its `\r\n` are all in `buf`;
    /// otherwise copies what is there and moves on (to MsgEndR once the payload is complete).
    fn payload(
        &mut self,
        buf: &[u8],
        i: usize,
        pos: &mut usize,
    ) -> Result<Option<Ready>, ParseError> {
        let size = self.pending.size;
        let avail = buf.len().saturating_sub(i);
        if !self.payload_copied {
            if avail >= size + 2 {
                let end = i + size;
                if buf[end] != b'\r' {
                    return fail(pos, end, ParseError::UnknownOp);
                }
                if buf[end + 1] != b'\n' {
                    return fail(pos, end + 1, ParseError::UnknownOp);
                }
                *pos = end + 2;
                self.state = State::OpStart;
                return Ok(Some(Ready::Pub {
                    pending: self.pending,
                    payload_at: Some(i),
                }));
            }
            if avail == 0 {
                // Nothing of the payload here yet: a later read may hold all of it.
                *pos = buf.len();
                return Ok(None);
            }
            self.stash_line(buf);
            self.payload_buf.clear();
            self.payload_buf.reserve(size);
            self.payload_copied = true;
        }
        let take = (size - self.payload_buf.len().min(size)).min(avail);
        self.payload_buf.extend_from_slice(&buf[i..i + take]);
        if self.payload_buf.len() >= size {
            self.state = State::MsgEndR;
        }
        *pos = i + take;
        Ok(None)
    }

    /// Copies the pending PUB line out of the read buffer before that buffer goes away.
    fn stash_line(&mut self, buf: &[u8]) {
        if let LineLoc::Buf(s) = self.pending.line {
            let line = buf.get(s..s + self.pending.line_len).unwrap_or_default();
            self.arg_buf.clear();
            self.arg_buf.extend_from_slice(line);
            self.pending.line = LineLoc::Own;
        }
    }

    /// Turns a finished operation's positions into slices of `buf` or of our buffers.
    fn build<'a>(&'a self, buf: &'a [u8], ready: Ready) -> ClientOp<'a> {
        let line = |loc: LineLoc, len: usize| -> &'a [u8] {
            match loc {
                LineLoc::Own => self.arg_buf.get(..len).unwrap_or_default(),
                LineLoc::Buf(s) => buf.get(s..s + len).unwrap_or_default(),
            }
        };
        match ready {
            Ready::Connect(loc, len) => ClientOp::Connect {
                json: line(loc, len),
            },
            Ready::Pub {
                pending: p,
                payload_at,
            } => {
                let l = line(p.line, p.line_len);
                let body: &'a [u8] = match payload_at {
                    Some(s) => buf.get(s..s + p.size).unwrap_or_default(),
                    None => self.payload_buf.get(..p.size).unwrap_or_default(),
                };
                let subject = span(l, p.subject);
                let reply = p.reply.map(|r| span(l, r));
                match p.hdr {
                    None => ClientOp::Pub {
                        subject,
                        reply,
                        payload: body,
                    },
                    Some(h) => {
                        let (headers, payload) = body.split_at(h.min(body.len()));
                        ClientOp::HPub {
                            subject,
                            reply,
                            headers,
                            payload,
                        }
                    }
                }
            }
            Ready::Sub {
                line: loc,
                len,
                subject,
                queue,
                sid,
            } => {
                let l = line(loc, len);
                ClientOp::Sub {
                    subject: span(l, subject),
                    queue: queue.map(|q| span(l, q)),
                    sid: span(l, sid),
                }
            }
            Ready::Unsub {
                line: loc,
                len,
                sid,
                max,
            } => ClientOp::Unsub {
                sid: span(line(loc, len), sid),
                max,
            },
            Ready::Ping => ClientOp::Ping,
            Ready::Pong => ClientOp::Pong,
            Ready::Ok => ClientOp::Ok,
            Ready::Err => ClientOp::Err,
            Ready::Info => ClientOp::Info,
        }
    }
}

/// Records the error position and returns the error.
fn fail<T>(pos: &mut usize, at: usize, e: ParseError) -> Result<T, ParseError> {
    *pos = at;
    Err(e)
}

/// The verb letters that have exactly one successor (either case accepted).
fn letter_step(state: State, b: u8) -> Option<State> {
    use State::*;
    let (want, next) = match state {
        OpPu => (b'B', OpPub),
        OpPi => (b'N', OpPin),
        OpPin => (b'G', OpPing),
        OpPo => (b'N', OpPon),
        OpPon => (b'G', OpPong),
        OpH => (b'P', OpHp), // HMSG is a server verb: UnknownOp from a client.
        OpHp => (b'U', OpHpu),
        OpHpu => (b'B', OpHpub),
        OpS => (b'U', OpSu),
        OpSu => (b'B', OpSub),
        OpU => (b'N', OpUn),
        OpUn => (b'S', OpUns),
        OpUns => (b'U', OpUnsu),
        OpUnsu => (b'B', OpUnsub),
        OpC => (b'O', OpCo),
        OpCo => (b'N', OpCon),
        OpCon => (b'N', OpConn),
        OpConn => (b'E', OpConne),
        OpConne => (b'C', OpConnec),
        OpConnec => (b'T', OpConnect),
        OpI => (b'N', OpIn),
        OpIn => (b'F', OpInf),
        OpInf => (b'O', OpInfo),
        OpPlus => (b'O', OpPlusO),
        OpPlusO => (b'K', OpPlusOk),
        OpMinus => (b'E', OpMinusE),
        OpMinusE => (b'R', OpMinusEr),
        OpMinusEr => (b'R', OpMinusErr),
        _ => return None,
    };
    (b == want || b == want.to_ascii_lowercase()).then_some(next)
}

/// Index of the first `\n` in `s`.
#[inline]
fn find_nl(s: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', s)
}

/// Splits `line` into fields separated by runs of blanks (and of `\r`/`\n` when `crlf`, as
/// nats-server does for SUB/UNSUB). Returns the total count and the first `N` fields.
fn fields<const N: usize>(line: &[u8], crlf: bool) -> (usize, [Span; N]) {
    let mut out = [(0, 0); N];
    let mut n = 0;
    let mut start: Option<usize> = None;
    for (k, &c) in line.iter().enumerate() {
        let sep = c == b' ' || c == b'\t' || (crlf && (c == b'\r' || c == b'\n'));
        match (sep, start) {
            (true, Some(s)) => {
                if n < N {
                    out[n] = (s, k);
                }
                n += 1;
                start = None;
            }
            (false, None) => start = Some(k),
            _ => {}
        }
    }
    if let Some(s) = start {
        if n < N {
            out[n] = (s, line.len());
        }
        n += 1;
    }
    (n, out)
}

/// The bytes of a field.
#[inline]
fn span(line: &[u8], (a, b): Span) -> &[u8] {
    line.get(a..b).unwrap_or_default()
}

/// nats-server's `parseSize`: 1 to 9 ASCII digits, nothing else (no sign, no `+`).
pub(crate) fn parse_size(d: &[u8]) -> Option<usize> {
    if d.is_empty() || d.len() > 9 {
        return None;
    }
    let mut n = 0usize;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(c - b'0');
    }
    Some(n)
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
