//! Server → client frames, appended to an outbound `Vec<u8>`: each frame reserves its exact
//! length once and is copied in; numbers are written with a small stack formatter, never
//! with `format!`.

use super::errors::ProtoErr;

pub const PING: &[u8] = b"PING\r\n";
pub const PONG: &[u8] = b"PONG\r\n";
pub const OK: &[u8] = b"+OK\r\n";

/// Decimal digits of `n`, right-aligned in a stack buffer (a `usize` has at most 20).
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    #[inline]
    fn new(mut n: usize) -> Self {
        let mut buf = [0u8; 20];
        let mut start = buf.len();
        loop {
            start -= 1;
            buf[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Digits { buf, start }
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// `MSG <subject> <sid> [reply] <#bytes>\r\n<payload>\r\n`
pub fn write_msg(
    out: &mut Vec<u8>,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    payload: &[u8],
) {
    let size = Digits::new(payload.len());
    let size = size.as_bytes();
    let reply_len = reply.map_or(0, |r| r.len() + 1);
    out.reserve(
        4 + subject.len() + 1 + sid.len() + 1 + reply_len + size.len() + 2 + payload.len() + 2,
    );
    out.extend_from_slice(b"MSG ");
    out.extend_from_slice(subject);
    out.push(b' ');
    out.extend_from_slice(sid);
    out.push(b' ');
    if let Some(r) = reply {
        out.extend_from_slice(r);
        out.push(b' ');
    }
    out.extend_from_slice(size);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// `HMSG <subject> <sid> [reply] <#hdr> <#total>\r\n<headers><payload>\r\n`
pub fn write_hmsg(
    out: &mut Vec<u8>,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    headers: &[u8],
    payload: &[u8],
) {
    let hdr = Digits::new(headers.len());
    let hdr = hdr.as_bytes();
    let total = Digits::new(headers.len() + payload.len());
    let total = total.as_bytes();
    let reply_len = reply.map_or(0, |r| r.len() + 1);
    out.reserve(
        5 + subject.len()
            + 1
            + sid.len()
            + 1
            + reply_len
            + hdr.len()
            + 1
            + total.len()
            + 2
            + headers.len()
            + payload.len()
            + 2,
    );
    out.extend_from_slice(b"HMSG ");
    out.extend_from_slice(subject);
    out.push(b' ');
    out.extend_from_slice(sid);
    out.push(b' ');
    if let Some(r) = reply {
        out.extend_from_slice(r);
        out.push(b' ');
    }
    out.extend_from_slice(hdr);
    out.push(b' ');
    out.extend_from_slice(total);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(headers);
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// `-ERR '<text>'\r\n`
pub fn write_err(out: &mut Vec<u8>, err: &ProtoErr) {
    err.write_frame(out);
}

/// `INFO <json> \r\n`: nats-server puts a space before the CRLF, and so do we.
pub fn write_info(out: &mut Vec<u8>, json: &[u8]) {
    out.reserve(5 + json.len() + 3);
    out.extend_from_slice(b"INFO ");
    out.extend_from_slice(json);
    out.extend_from_slice(b" \r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_frames() {
        let mut out = Vec::new();
        write_msg(&mut out, b"foo.bar", b"1", None, b"hello");
        assert_eq!(out, b"MSG foo.bar 1 5\r\nhello\r\n");
        out.clear();
        write_msg(&mut out, b"foo", b"sid9", Some(b"_INBOX.x"), b"");
        assert_eq!(out, b"MSG foo sid9 _INBOX.x 0\r\n\r\n");
        // Appends, does not overwrite.
        write_msg(&mut out, b"a", b"2", None, b"x");
        assert_eq!(out, b"MSG foo sid9 _INBOX.x 0\r\n\r\nMSG a 2 1\r\nx\r\n");
    }

    #[test]
    fn msg_large_size() {
        let payload = vec![b'p'; 1_234_567];
        let mut out = Vec::new();
        write_msg(&mut out, b"s", b"1", None, &payload);
        assert!(out.starts_with(b"MSG s 1 1234567\r\nppp"));
        assert!(out.ends_with(b"ppp\r\n"));
        assert_eq!(out.len(), 17 + 1_234_567 + 2);
    }

    #[test]
    fn hmsg_frames() {
        let mut out = Vec::new();
        write_hmsg(
            &mut out,
            b"foo",
            b"1",
            None,
            b"NATS/1.0\r\nA: b\r\n\r\n",
            b"hi",
        );
        assert_eq!(out, b"HMSG foo 1 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n");
        out.clear();
        // The no-responders status message.
        let hdr = b"NATS/1.0 503\r\nNats-Subject: svc.x\r\n\r\n";
        write_hmsg(&mut out, b"_INBOX.r", b"7", None, hdr, b"");
        let want = format!(
            "HMSG _INBOX.r 7 {0} {0}\r\nNATS/1.0 503\r\nNats-Subject: svc.x\r\n\r\n\r\n",
            hdr.len()
        );
        assert_eq!(out, want.as_bytes());
        out.clear();
        write_hmsg(
            &mut out,
            b"a",
            b"2",
            Some(b"r"),
            b"NATS/1.0\r\n\r\n",
            b"body",
        );
        assert_eq!(out, b"HMSG a 2 r 12 16\r\nNATS/1.0\r\n\r\nbody\r\n");
    }

    #[test]
    fn control_frames() {
        assert_eq!(PING, b"PING\r\n");
        assert_eq!(PONG, b"PONG\r\n");
        assert_eq!(OK, b"+OK\r\n");
        let mut out = Vec::new();
        write_err(&mut out, &ProtoErr::MaxPayload);
        assert_eq!(out, b"-ERR 'Maximum Payload Violation'\r\n");
        out.clear();
        write_info(&mut out, br#"{"server_id":"x"}"#);
        assert_eq!(out, b"INFO {\"server_id\":\"x\"} \r\n");
    }

    #[test]
    fn digits() {
        for n in [0usize, 1, 9, 10, 99, 100, 4096, 1048576, usize::MAX] {
            assert_eq!(Digits::new(n).as_bytes(), n.to_string().as_bytes());
        }
    }
}
