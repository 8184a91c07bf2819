//! Incremental scanner for the frames a NATS server sends to a client.
//!
//! Bytes are read straight into the scanner's buffer; [`Scanner::next_frame`] returns one
//! complete frame at a time as slices of that buffer (no copy, no allocation). A frame split
//! across reads is simply left in the buffer until the rest arrives: the control line is
//! re-scanned (it is short) and the payload is jumped over by its byte count, never scanned.
//! Verbs are matched in upper case only, exactly as servers send them.

use std::fmt;
use std::io::{self, Read};

/// Longest control line accepted (INFO lines carry JSON and can be long).
const MAX_CONTROL_LINE: usize = 64 * 1024;
/// Largest payload accepted in one MSG/HMSG (far above any server's max_payload).
const MAX_PAYLOAD: usize = 64 * 1024 * 1024;
/// Default buffer size: large enough that one read usually carries many small frames.
const DEFAULT_CAPACITY: usize = 256 * 1024;
/// Compact the buffer when less than this much room is left at its tail.
const MIN_SPARE: usize = 16 * 1024;

/// One delivered message (`MSG` or `HMSG`).
#[derive(Debug, PartialEq, Eq)]
pub struct Msg<'a> {
    /// Subject the message was published to.
    pub subject: &'a [u8],
    /// Subscription id it was delivered for.
    pub sid: &'a [u8],
    /// Reply subject, if the publisher gave one.
    pub reply: Option<&'a [u8]>,
    /// Header block (HMSG only; empty for MSG).
    pub headers: &'a [u8],
    /// Payload bytes (after the header block for HMSG).
    pub payload: &'a [u8],
}

/// One frame from the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Msg(Msg<'a>),
    Ping,
    Pong,
    Ok,
    /// `-ERR` with the text after the verb (quotes included, as sent).
    Err(&'a [u8]),
    /// `INFO` with its JSON.
    Info(&'a [u8]),
}

/// Why the byte stream is not valid server output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    /// The line does not start with a known server verb.
    UnknownOp(String),
    /// Wrong number of arguments or a bad size in MSG/HMSG.
    BadArgs(String),
    /// No line end within [`MAX_CONTROL_LINE`] bytes.
    LineTooLong,
    /// The payload was not followed by `\r\n`.
    BadTrailer,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::UnknownOp(l) => write!(f, "unknown server operation: {l:?}"),
            ScanError::BadArgs(l) => write!(f, "bad MSG/HMSG arguments: {l:?}"),
            ScanError::LineTooLong => write!(f, "control line longer than {MAX_CONTROL_LINE}"),
            ScanError::BadTrailer => write!(f, "payload not followed by CRLF"),
        }
    }
}

impl std::error::Error for ScanError {}

/// Read buffer plus scan position.
///
/// Invariant: `start <= end <= buf.len()`; `buf[start..end]` holds bytes received but not
/// yet returned as frames. `buf` grows only when one frame is larger than it (bounded by
/// [`MAX_PAYLOAD`] plus a control line).
pub struct Scanner {
    /// Backing storage; its length is the capacity.
    buf: Vec<u8>,
    /// First unconsumed byte.
    start: usize,
    /// One past the last received byte.
    end: usize,
    /// Total size of the incomplete frame at `start`, once its control line is known
    /// (0 otherwise): lets [`Scanner::spare`] make room for a large payload in one step.
    need: usize,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    pub fn with_capacity(cap: usize) -> Self {
        Scanner {
            buf: vec![0; cap.max(64)],
            start: 0,
            end: 0,
            need: 0,
        }
    }

    /// Bytes received but not yet returned as frames.
    pub fn pending(&self) -> usize {
        self.end - self.start
    }

    /// Free space to read into; compacts or grows the buffer first when needed.
    pub fn spare(&mut self) -> &mut [u8] {
        let want = self.need.max(self.pending() + MIN_SPARE);
        if self.buf.len() - self.end < MIN_SPARE || self.buf.len() - self.start < want {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// Records that `n` bytes were written into the slice returned by [`Scanner::spare`].
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Copies `bytes` in (used by tests and by callers that already hold the bytes).
    pub fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = self.spare();
            let n = room.len().min(bytes.len());
            room[..n].copy_from_slice(&bytes[..n]);
            self.filled(n);
            bytes = &bytes[n..];
        }
    }

    /// One `read` call into the buffer. Returns the byte count (0 = end of stream).
    pub fn read_from<R: Read>(&mut self, r: &mut R) -> io::Result<usize> {
        let n = r.read(self.spare())?;
        self.filled(n);
        Ok(n)
    }

    /// Returns the next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, ScanError> {
        let data = &self.buf[self.start..self.end];
        let Some(nl) = find_newline(data) else {
            if data.len() > MAX_CONTROL_LINE {
                return Err(ScanError::LineTooLong);
            }
            return Ok(None);
        };
        let line_end = if nl > 0 && data[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let kind = classify(&data[..line_end])?;
        let base = self.start;
        let body = base + nl + 1;
        match kind {
            Kind::Simple(frame_kind) => {
                self.consume(nl + 1);
                let line = &self.buf[base..base + line_end];
                Ok(Some(match frame_kind {
                    Simple::Ping => Frame::Ping,
                    Simple::Pong => Frame::Pong,
                    Simple::Ok => Frame::Ok,
                    Simple::Err => Frame::Err(trim(&line[4..])),
                    Simple::Info => Frame::Info(trim(&line[4..])),
                }))
            }
            Kind::Msg(args) => {
                let total = nl + 1 + args.total + 2;
                if data.len() < total {
                    self.need = total;
                    return Ok(None);
                }
                if &data[nl + 1 + args.total..total] != b"\r\n" {
                    return Err(ScanError::BadTrailer);
                }
                self.consume(total);
                let buf = &self.buf;
                let slice = |r: (usize, usize)| &buf[base + r.0..base + r.1];
                let hdr_end = body + args.hdr;
                Ok(Some(Frame::Msg(Msg {
                    subject: slice(args.subject),
                    sid: slice(args.sid),
                    reply: args.reply.map(slice),
                    headers: &buf[body..hdr_end],
                    payload: &buf[hdr_end..body + args.total],
                })))
            }
        }
    }

    /// Marks `n` bytes at `start` as returned; resets to the buffer front when empty.
    fn consume(&mut self, n: usize) {
        self.start += n;
        self.need = 0;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }
}

/// Frames without a payload.
enum Simple {
    Ping,
    Pong,
    Ok,
    Err,
    Info,
}

/// Byte ranges (relative to the control line start) of a MSG/HMSG line's arguments.
struct MsgArgs {
    subject: (usize, usize),
    sid: (usize, usize),
    reply: Option<(usize, usize)>,
    /// Header bytes (0 for MSG).
    hdr: usize,
    /// Header plus payload bytes.
    total: usize,
}

enum Kind {
    Simple(Simple),
    Msg(MsgArgs),
}

fn find_newline(data: &[u8]) -> Option<usize> {
    data.iter().position(|&b| b == b'\n')
}

fn trim(s: &[u8]) -> &[u8] {
    let a = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let b = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(a, |i| i + 1);
    &s[a..b.max(a)]
}

fn classify(line: &[u8]) -> Result<Kind, ScanError> {
    let lossy = || String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
    let verb_is = |v: &[u8]| {
        line.len() >= v.len()
            && &line[..v.len()] == v
            && line.get(v.len()).is_none_or(|b| *b == b' ' || *b == b'\t')
    };
    match line.first() {
        Some(b'M') if verb_is(b"MSG") => {
            parse_msg_args(line, 4, false).ok_or_else(|| ScanError::BadArgs(lossy()))
        }
        Some(b'H') if verb_is(b"HMSG") => {
            parse_msg_args(line, 5, true).ok_or_else(|| ScanError::BadArgs(lossy()))
        }
        Some(b'P') if verb_is(b"PING") => Ok(Kind::Simple(Simple::Ping)),
        Some(b'P') if verb_is(b"PONG") => Ok(Kind::Simple(Simple::Pong)),
        Some(b'+') if verb_is(b"+OK") => Ok(Kind::Simple(Simple::Ok)),
        Some(b'-') if verb_is(b"-ERR") => Ok(Kind::Simple(Simple::Err)),
        Some(b'I') if verb_is(b"INFO") => Ok(Kind::Simple(Simple::Info)),
        _ => Err(ScanError::UnknownOp(lossy())),
    }
}

/// Splits `MSG subj sid [reply] n` (skip = 4) or `HMSG subj sid [reply] h n` (skip = 5).
fn parse_msg_args(line: &[u8], skip: usize, headers: bool) -> Option<Kind> {
    let mut fields = [(0usize, 0usize); 5];
    let mut count = 0;
    let mut i = skip.min(line.len());
    while i < line.len() {
        while i < line.len() && (line[i] == b' ' || line[i] == b'\t') {
            i += 1;
        }
        if i == line.len() {
            break;
        }
        let s = i;
        while i < line.len() && line[i] != b' ' && line[i] != b'\t' {
            i += 1;
        }
        if count == fields.len() {
            return None;
        }
        fields[count] = (s, i);
        count += 1;
    }
    let sizes = if headers { 2 } else { 1 };
    let reply = match count.checked_sub(2 + sizes)? {
        0 => None,
        1 => Some(fields[2]),
        _ => return None,
    };
    let num = |r: (usize, usize)| parse_size(&line[r.0..r.1]);
    let total = num(fields[count - 1])?;
    let hdr = if headers { num(fields[count - 2])? } else { 0 };
    if hdr > total || total > MAX_PAYLOAD {
        return None;
    }
    Some(Kind::Msg(MsgArgs {
        subject: fields[0],
        sid: fields[1],
        reply,
        hdr,
        total,
    }))
}

fn parse_size(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut n = 0usize;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(b - b'0');
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Owned copy of a frame so tests can collect frames across buffer mutations.
    #[derive(Debug, PartialEq, Eq)]
    enum Owned {
        Msg(Vec<u8>, Vec<u8>, Option<Vec<u8>>, Vec<u8>, Vec<u8>),
        Ping,
        Pong,
        Ok,
        Err(Vec<u8>),
        Info(Vec<u8>),
    }

    fn own(f: Frame<'_>) -> Owned {
        match f {
            Frame::Msg(m) => Owned::Msg(
                m.subject.to_vec(),
                m.sid.to_vec(),
                m.reply.map(<[u8]>::to_vec),
                m.headers.to_vec(),
                m.payload.to_vec(),
            ),
            Frame::Ping => Owned::Ping,
            Frame::Pong => Owned::Pong,
            Frame::Ok => Owned::Ok,
            Frame::Err(e) => Owned::Err(e.to_vec()),
            Frame::Info(i) => Owned::Info(i.to_vec()),
        }
    }

    fn drain(s: &mut Scanner, out: &mut Vec<Owned>) {
        while let Some(f) = s.next_frame().unwrap() {
            out.push(own(f));
        }
    }

    fn stream() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"INFO {\"server_id\":\"x\",\"max_payload\":1048576} \r\n");
        v.extend_from_slice(b"+OK\r\nPING\r\nPONG\r\n");
        v.extend_from_slice(b"MSG foo.bar 1 5\r\nhello\r\n");
        v.extend_from_slice(b"MSG foo 22 _INBOX.x 3\r\nabc\r\n");
        v.extend_from_slice(b"MSG  empty\t9   0\r\n\r\n");
        v.extend_from_slice(b"HMSG h 2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
        v.extend_from_slice(b"HMSG h 2 rep 12 12\r\nNATS/1.0\r\n\r\n\r\n");
        let big = vec![b'z'; 70_000];
        v.extend_from_slice(b"MSG big 3 70000\r\n");
        v.extend_from_slice(&big);
        v.extend_from_slice(b"\r\n");
        v.extend_from_slice(b"MSG crlf 4 4\r\n\r\n\r\n\r\n");
        v.extend_from_slice(b"-ERR 'Permissions Violation for Publish to \"x\"'\r\n");
        v
    }

    fn expected() -> Vec<Owned> {
        let m = |s: &str, sid: &str, r: Option<&str>, h: &[u8], p: &[u8]| {
            Owned::Msg(
                s.into(),
                sid.into(),
                r.map(Into::into),
                h.to_vec(),
                p.to_vec(),
            )
        };
        vec![
            Owned::Info(b"{\"server_id\":\"x\",\"max_payload\":1048576}".to_vec()),
            Owned::Ok,
            Owned::Ping,
            Owned::Pong,
            m("foo.bar", "1", None, b"", b"hello"),
            m("foo", "22", Some("_INBOX.x"), b"", b"abc"),
            m("empty", "9", None, b"", b""),
            m("h", "2", None, b"NATS/1.0\r\n\r\n", b"hi"),
            m("h", "2", Some("rep"), b"NATS/1.0\r\n\r\n", b""),
            m("big", "3", None, b"", &[b'z'; 70_000]),
            m("crlf", "4", None, b"", b"\r\n\r\n"),
            Owned::Err(b"'Permissions Violation for Publish to \"x\"'".to_vec()),
        ]
    }

    #[test]
    fn whole_stream_in_one_push() {
        let mut s = Scanner::new();
        s.push(&stream());
        let mut got = Vec::new();
        drain(&mut s, &mut got);
        assert_eq!(got, expected());
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn one_byte_at_a_time() {
        let mut s = Scanner::with_capacity(64);
        let mut got = Vec::new();
        for b in stream() {
            s.push(&[b]);
            drain(&mut s, &mut got);
        }
        assert_eq!(got, expected());
    }

    #[test]
    fn every_split_point_of_two_reads() {
        let data = stream();
        // Split at every point in the small-frame prefix and at a spread of points in the rest.
        let points = (0..400)
            .chain((400..data.len()).step_by(997))
            .chain([data.len()]);
        for cut in points {
            let mut s = Scanner::with_capacity(1024);
            let mut got = Vec::new();
            s.push(&data[..cut]);
            drain(&mut s, &mut got);
            s.push(&data[cut..]);
            drain(&mut s, &mut got);
            assert_eq!(got, expected(), "split at {cut}");
        }
    }

    #[test]
    fn pseudo_random_chunks_through_read_from() {
        let data = stream();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..50 {
            let mut s = Scanner::with_capacity(128);
            let mut got = Vec::new();
            let mut pos = 0;
            while pos < data.len() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let n = 1 + (seed % 3000) as usize;
                let end = (pos + n).min(data.len());
                let mut chunk = &data[pos..end];
                while !chunk.is_empty() {
                    let read = s.read_from(&mut chunk).unwrap();
                    assert!(read > 0);
                    drain(&mut s, &mut got);
                }
                pos = end;
            }
            assert_eq!(got, expected());
        }
    }

    #[test]
    fn bare_newline_line_end_is_accepted() {
        let mut s = Scanner::new();
        s.push(b"PING\nMSG a 1 1\nx\r\n");
        assert_eq!(s.next_frame().unwrap(), Some(Frame::Ping));
        assert!(matches!(s.next_frame().unwrap(), Some(Frame::Msg(m)) if m.payload == b"x"));
        assert_eq!(s.next_frame().unwrap(), None);
    }

    #[test]
    fn errors() {
        let bad: &[&[u8]] = &[
            b"MSGX a 1 1\r\n",
            b"msg a 1 1\r\n",
            b"\r\n",
            b"MSG a 1\r\n",
            b"MSG a 1 b c 1\r\n",
            b"MSG a 1 -1\r\n",
            b"MSG a 1 1x\r\n",
            b"HMSG a 1 5 4\r\n",
            b"HMSG a 1 4\r\n",
            b"MSG a 1 99999999999\r\n",
        ];
        for b in bad {
            let mut s = Scanner::new();
            s.push(b);
            assert!(s.next_frame().is_err(), "{:?}", String::from_utf8_lossy(b));
        }
        let mut s = Scanner::new();
        s.push(b"MSG a 1 1\r\nxyz");
        assert_eq!(s.next_frame(), Err(ScanError::BadTrailer));
        let mut s = Scanner::new();
        s.push(&vec![b'A'; MAX_CONTROL_LINE + 1]);
        assert_eq!(s.next_frame(), Err(ScanError::LineTooLong));
    }

    #[test]
    fn incomplete_payload_waits_and_grows_buffer() {
        let mut s = Scanner::with_capacity(64);
        s.push(b"MSG a 1 100000\r\n");
        assert_eq!(s.next_frame().unwrap(), None);
        assert!(s.spare().len() >= 100_000);
        s.push(&vec![7u8; 100_000]);
        assert_eq!(s.next_frame().unwrap(), None);
        s.push(b"\r\n");
        assert!(
            matches!(s.next_frame().unwrap(), Some(Frame::Msg(m)) if m.payload.len() == 100_000)
        );
    }
}
