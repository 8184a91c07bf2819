//! [`Raw`]: a blocking TCP client speaking raw NATS protocol with exact-bytes expectations; every
//! read has a deadline, so no test can hang. Ordering is proven with a PING/PONG round trip, never
//! with sleeps.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::server::TIMEOUT;

/// A message read off the wire (`MSG` or `HMSG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub subject: String,
    pub sid: String,
    pub reply: Option<String>,
    /// The header block exactly as sent (HMSG only).
    pub header: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

/// The bytes' way: plain TCP, or TLS over it (after [`Raw::upgrade`] or a TLS-first connect).
enum Wire {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Wire {
    fn tcp(&self) -> &TcpStream {
        match self {
            Wire::Plain(s) => s,
            Wire::Tls(t) => &t.sock,
        }
    }

    fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(d)
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(s) => s.read(buf),
            Wire::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(s) => s.write(buf),
            Wire::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Wire::Plain(s) => s.flush(),
            Wire::Tls(t) => t.flush(),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Wire::Plain(s) => s.write_all(buf),
            Wire::Tls(t) => {
                t.write_all(buf)?;
                t.flush()
            }
        }
    }
}

/// A raw protocol client with exact-bytes expectations. Every read is bounded by `timeout`.
pub struct Raw {
    stream: Wire,
    /// Bytes received but not yet consumed by an expectation.
    buf: Vec<u8>,
    /// The INFO the server sent on accept (`Value::Null` for [`Raw::connect_no_info`]).
    pub info: Value,
    pub timeout: Duration,
    /// Answer server PINGs found at a frame boundary with PONG, invisibly (default true). Servers ping every
    /// client about 2 s after CONNECT, so long tests need this; keep-alive tests turn it off.
    pub auto_pong: bool,
}

/// Renders bytes for failure messages (printable ASCII as is, the rest escaped).
pub fn show(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b.iter().take(2000) {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    if b.len() > 2000 {
        s.push_str(&format!("...({} bytes)", b.len()));
    }
    s
}

impl Raw {
    /// Connects without reading anything.
    pub fn connect_no_info(port: u16) -> Raw {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream.set_nodelay(true).unwrap();
        Raw {
            stream: Wire::Plain(stream),
            buf: Vec::new(),
            info: Value::Null,
            timeout: TIMEOUT,
            auto_pong: true,
        }
    }

    /// Connects and reads the INFO line (checking its exact `INFO {json} \r\n` framing).
    pub fn connect(port: u16) -> Raw {
        let mut r = Raw::connect_no_info(port);
        r.info = r.expect_info();
        r
    }

    /// Connects, sends `CONNECT {connect_json}` and proves it was processed with a PING/PONG.
    pub fn ready_with(port: u16, connect_json: &str) -> Raw {
        let mut r = Raw::connect(port);
        r.send(format!("CONNECT {connect_json}\r\n").as_bytes());
        r.ping_pong();
        r
    }

    /// A quiet client: verbose and pedantic off, headers on.
    pub fn ready(port: u16) -> Raw {
        Raw::ready_with(port, r#"{"verbose":false,"pedantic":false,"headers":true}"#)
    }

    /// Writes all bytes; panics if the socket is already broken.
    pub fn send(&mut self, b: &[u8]) {
        self.stream
            .write_all(b)
            .unwrap_or_else(|e| panic!("send {}: {e}", show(b)));
    }

    /// Writes all bytes, ignoring errors (for when the server may already have closed).
    pub fn try_send(&mut self, b: &[u8]) -> io::Result<()> {
        self.stream.write_all(b)
    }

    /// Writes one byte per write call (each a separate segment with TCP_NODELAY).
    pub fn send_bytewise(&mut self, b: &[u8]) {
        for c in b {
            self.send(std::slice::from_ref(c));
        }
    }

    /// With `auto_pong`, consumes server PINGs at the head of the buffer and answers them.
    fn skip_server_pings(&mut self) {
        while self.auto_pong && self.buf.starts_with(b"PING\r\n") {
            self.buf.drain(..6);
            let _ = self.stream.write_all(b"PONG\r\n");
        }
    }

    /// True while the buffer holds only the start of a server PING (judge nothing yet).
    fn partial_ping(&self) -> bool {
        self.auto_pong
            && !self.buf.is_empty()
            && self.buf.len() < 6
            && b"PING\r\n".starts_with(&self.buf)
    }

    /// Reads more bytes into `buf`; Ok(0) at EOF; Err(TimedOut) at the deadline.
    fn fill(&mut self, deadline: Instant) -> io::Result<usize> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(ErrorKind::TimedOut, "deadline"));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut tmp = [0u8; 65536];
        loop {
            match self.stream.read(&mut tmp) {
                Ok(n) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    return Err(io::Error::new(ErrorKind::TimedOut, "deadline"))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Expects exactly `want` as the next bytes (fails early on the first differing byte).
    pub fn expect(&mut self, want: &[u8]) {
        let deadline = Instant::now() + self.timeout;
        loop {
            self.skip_server_pings();
            let n = self.buf.len().min(want.len());
            if self.buf[..n] != want[..n] && !self.partial_ping() {
                panic!("expected {:?}\n     got {:?}", show(want), show(&self.buf));
            }
            if n == want.len() {
                self.buf.drain(..n);
                return;
            }
            match self.fill(deadline) {
                Ok(0) => panic!(
                    "connection closed while expecting {:?}; got {:?}",
                    show(want),
                    show(&self.buf)
                ),
                Ok(_) => {}
                Err(e) => panic!(
                    "{e} while expecting {:?}; got {:?}",
                    show(want),
                    show(&self.buf)
                ),
            }
        }
    }

    pub fn expect_str(&mut self, want: &str) {
        self.expect(want.as_bytes());
    }

    /// Reads one line (up to `\r\n`) and returns it without the CRLF.
    pub fn expect_line(&mut self) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            self.skip_server_pings();
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
                return String::from_utf8_lossy(&line).into_owned();
            }
            match self.fill(deadline) {
                Ok(0) => panic!(
                    "connection closed while expecting a line; got {:?}",
                    show(&self.buf)
                ),
                Ok(_) => {}
                Err(e) => panic!("{e} while expecting a line; got {:?}", show(&self.buf)),
            }
        }
    }

    /// Reads `n` raw bytes.
    pub fn expect_bytes(&mut self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + self.timeout;
        while self.buf.len() < n {
            match self.fill(deadline) {
                Ok(0) => panic!("closed while expecting {n} bytes; got {}", self.buf.len()),
                Ok(_) => {}
                Err(e) => panic!("{e} while expecting {n} bytes; got {}", self.buf.len()),
            }
        }
        self.buf.drain(..n).collect()
    }

    /// Expects an `INFO {json} \r\n` line (note the space before CRLF) and returns the JSON.
    pub fn expect_info(&mut self) -> Value {
        let line = self.expect_line();
        assert!(
            line.starts_with("INFO {") && line.ends_with("} "),
            "expected `INFO {{json}} \\r\\n`, got {line:?}"
        );
        serde_json::from_str(&line[5..line.len() - 1])
            .unwrap_or_else(|e| panic!("INFO is not JSON ({e}): {line}"))
    }

    /// Expects `-ERR '<text>'\r\n`.
    pub fn expect_err(&mut self, text: &str) {
        self.expect(format!("-ERR '{text}'\r\n").as_bytes());
    }

    /// Expects `-ERR '<text>'\r\n` followed by the server closing the connection.
    pub fn expect_err_closed(&mut self, text: &str) {
        self.expect_err(text);
        self.expect_closed();
    }

    /// Expects the server to close the connection (EOF or reset) with nothing more received.
    pub fn expect_closed(&mut self) {
        let deadline = Instant::now() + self.timeout;
        loop {
            self.skip_server_pings();
            if !self.buf.is_empty() && !self.partial_ping() {
                panic!(
                    "expected the connection to close, got {:?}",
                    show(&self.buf)
                );
            }
            match self.fill(deadline) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    panic!("connection still open after {:?}", self.timeout)
                }
                Err(_) => return, // reset
            }
        }
    }

    /// Every line received until the server closes the connection (panics if it stays open).
    pub fn lines_until_closed(&mut self) -> Vec<String> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.fill(deadline) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    panic!("connection still open after {:?}", self.timeout)
                }
                Err(_) => break, // reset
            }
        }
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        text.split_terminator("\r\n").map(str::to_string).collect()
    }

    /// Expects `bytes`, then the close.
    pub fn expect_closed_after(&mut self, bytes: &[u8]) {
        self.expect(bytes);
        self.expect_closed();
    }

    /// Expects a close; an `-ERR '<text>'` before it is tolerated (servers differ on some parse errors).
    pub fn expect_closed_maybe_err(&mut self, text: &str) {
        let err = format!("-ERR '{text}'\r\n");
        let deadline = Instant::now() + self.timeout;
        loop {
            if self.buf.starts_with(err.as_bytes()) {
                self.buf.drain(..err.len());
                return self.expect_closed();
            }
            if !err.as_bytes().starts_with(&self.buf) {
                panic!("expected a close (or {err:?}), got {:?}", show(&self.buf));
            }
            match self.fill(deadline) {
                Ok(0) if self.buf.is_empty() => return,
                Ok(0) => panic!("closed after a partial {:?}", show(&self.buf)),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    panic!("connection still open after {:?}", self.timeout)
                }
                Err(_) if self.buf.is_empty() => return,
                Err(e) => panic!("{e} after a partial {:?}", show(&self.buf)),
            }
        }
    }

    /// PING, then expect exactly PONG: proves every earlier command was processed.
    pub fn ping_pong(&mut self) {
        self.send(b"PING\r\n");
        self.expect(b"PONG\r\n");
    }

    /// Proves that nothing was (or will be, for commands sent before) received: the PONG must be the next bytes.
    pub fn expect_nothing(&mut self) {
        self.skip_server_pings();
        assert!(
            self.buf.is_empty(),
            "expected nothing, have {:?}",
            show(&self.buf)
        );
        self.ping_pong();
    }

    /// Reads one `MSG` or `HMSG` frame.
    pub fn read_msg(&mut self) -> Msg {
        let line = self.expect_line();
        let parts: Vec<&str> = line.split_ascii_whitespace().collect();
        let (hmsg, args) = match parts.first() {
            Some(&"MSG") => (false, &parts[1..]),
            Some(&"HMSG") => (true, &parts[1..]),
            _ => panic!("expected MSG/HMSG, got {line:?}"),
        };
        let nsizes = if hmsg { 2 } else { 1 };
        assert!(
            args.len() == 2 + nsizes || args.len() == 3 + nsizes,
            "bad frame {line:?}"
        );
        let reply = if args.len() == 3 + nsizes {
            Some(args[2].to_string())
        } else {
            None
        };
        let sizes: Vec<usize> = args[args.len() - nsizes..]
            .iter()
            .map(|s| s.parse().unwrap_or_else(|_| panic!("bad size in {line:?}")))
            .collect();
        let total = *sizes.last().unwrap();
        let body = self.expect_bytes(total);
        self.expect(b"\r\n");
        let (header, payload) = if hmsg {
            (Some(body[..sizes[0]].to_vec()), body[sizes[0]..].to_vec())
        } else {
            (None, body)
        };
        Msg {
            subject: args[0].to_string(),
            sid: args[1].to_string(),
            reply,
            header,
            payload,
        }
    }

    /// True if the server has closed the connection (within a short wait) — for polling.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            match self.fill(deadline) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::TimedOut => return false,
                Err(_) => return true,
            }
        }
    }

    /// Bytes received and not consumed yet.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    pub fn stream(&self) -> &TcpStream {
        self.stream.tcp()
    }

    /// Starts TLS on the connection (after the plain INFO, or at once for a TLS-first server) and
    /// completes the handshake within the read timeout; the error is what the client's TLS saw.
    pub fn upgrade(&mut self, config: std::sync::Arc<rustls::ClientConfig>) -> io::Result<()> {
        let Wire::Plain(tcp) = &self.stream else {
            return Err(io::Error::other("already TLS"));
        };
        let tcp = tcp.try_clone()?;
        tcp.set_read_timeout(Some(self.timeout))?;
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        self.stream = Wire::Tls(Box::new(tls));
        Ok(())
    }

    /// The TLS session's negotiated version, when the connection is TLS.
    pub fn tls_version(&self) -> Option<rustls::ProtocolVersion> {
        match &self.stream {
            Wire::Tls(t) => t.conn.protocol_version(),
            Wire::Plain(_) => None,
        }
    }
}

/// `HPUB`/`HMSG` header block from `(name, value)` pairs: `NATS/1.0\r\nName: value\r\n...\r\n`.
pub fn header_block(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut h = b"NATS/1.0\r\n".to_vec();
    for (k, v) in pairs {
        h.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    h.extend_from_slice(b"\r\n");
    h
}

impl Raw {
    /// Reads one frame if any byte of one arrives within `wait`; None if the socket stayed silent.
    pub fn try_read_msg(&mut self, wait: Duration) -> Option<Msg> {
        self.skip_server_pings();
        if self.buf.is_empty() {
            let deadline = Instant::now() + wait;
            match self.fill(deadline) {
                Ok(0) => panic!("connection closed while waiting for a message"),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => return None,
                Err(e) => panic!("{e} while waiting for a message"),
            }
            self.skip_server_pings();
            if self.buf.is_empty() {
                return None;
            }
        }
        Some(self.read_msg())
    }
}

/// Reads messages from several connections until `total` have arrived (or panics at `timeout`).
/// Returns (connection index, message) in arrival order per connection.
pub fn collect_from(conns: &mut [Raw], total: usize, timeout: Duration) -> Vec<(usize, Msg)> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        if Instant::now() > deadline {
            panic!("only {} of {total} messages arrived", out.len());
        }
        let mut idle = true;
        for (i, c) in conns.iter_mut().enumerate() {
            while let Some(m) = c.try_read_msg(Duration::from_millis(1)) {
                out.push((i, m));
                idle = false;
            }
        }
        if idle {
            thread::sleep(Duration::from_millis(2));
        }
    }
    out
}

impl Raw {
    /// Reads one line if any byte arrives within `wait`; None if the socket stayed silent.
    pub fn try_line(&mut self, wait: Duration) -> Option<String> {
        self.skip_server_pings();
        if self.buf.is_empty() {
            let deadline = Instant::now() + wait;
            match self.fill(deadline) {
                Ok(0) => panic!("connection closed while waiting for a line"),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => return None,
                Err(e) => panic!("{e} while waiting for a line"),
            }
        }
        Some(self.expect_line())
    }
}

/// Publishes `subject` probes from `publ` (each flushed with a PING) until `sub` receives one: the
/// subscriber's interest has crossed whatever link lies between them (a route, a leaf link).
pub fn until_delivered(publ: &mut Raw, sub: &mut Raw, subject: &str) {
    let deadline = std::time::Instant::now() + super::server::TIMEOUT;
    loop {
        publ.send(format!("PUB {subject} 5\r\nprobe\r\n").as_bytes());
        publ.ping_pong();
        if let Some(m) = sub.try_read_msg(Duration::from_millis(50)) {
            assert_eq!(m.payload, b"probe", "{m:?}");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "interest in {subject} never crossed the link"
        );
    }
}
