//! One raw NATS client connection: handshake, batched writes, frame dispatch, PING/PONG.
//!
//! A connection is owned by exactly one thread, which both reads and writes it, so frames
//! written never interleave. Sockets use short kernel timeouts so that every blocking call
//! comes back regularly to check the scenario's deadline and abort flag ([`Ctl`]): nothing
//! can hang past the deadline.
//!
//! With TLS the opening follows nats-server: the INFO line arrives in clear text, then the
//! client starts the TLS handshake and sends CONNECT inside TLS; with `--tls-first`
//! (`handshake_first` servers) the handshake comes first and the INFO is read inside TLS.

use crate::scan::{Frame, Msg, ScanError, Scanner};
use crate::stream::Stream;
use crate::tls::TlsClient;
use serde::Deserialize;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one blocking read may wait before the deadline is checked again.
const READ_TICK: Duration = Duration::from_millis(50);
/// How long one blocking write may wait before the deadline is checked again.
const WRITE_TICK: Duration = Duration::from_millis(200);

/// Text of the error a thread gets when another thread failed first.
pub const ABORTED: &str = "aborted (another connection failed)";

/// A scenario failure: what went wrong, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error(format!("i/o: {e}"))
    }
}

impl From<ScanError> for Error {
    fn from(e: ScanError) -> Self {
        Error(format!("protocol: {e}"))
    }
}

/// Shorthand for a failed scenario.
pub fn fail<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error(msg.into()))
}

/// Where to connect, as whom, and whether over TLS.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Resolved server address.
    pub addr: SocketAddr,
    pub user: Option<String>,
    pub pass: Option<String>,
    /// TLS settings; `None` = plain text.
    pub tls: Option<TlsClient>,
}

impl Endpoint {
    pub fn new(server: &str, user: Option<String>, pass: Option<String>) -> Result<Self, Error> {
        let hostport = server_hostport(server);
        let addr = hostport
            .to_socket_addrs()
            .map_err(|e| Error(format!("bad server address {server:?}: {e}")))?
            .next()
            .ok_or_else(|| Error(format!("server address {server:?} resolves to nothing")))?;
        Ok(Endpoint {
            addr,
            user,
            pass,
            tls: None,
        })
    }
}

/// `host:port` of a `--server` value (`nats://`, `tls://` prefixes dropped).
fn server_hostport(server: &str) -> &str {
    ["nats://", "tls://"]
        .iter()
        .find_map(|p| server.strip_prefix(p))
        .unwrap_or(server)
}

/// The host part of a `--server` value (`[v6]:port`, `host:port` or `host`): the name the
/// server's certificate is checked against.
pub fn server_host(server: &str) -> &str {
    let hp = server_hostport(server);
    if let Some(rest) = hp.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match hp.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => hp,
    }
}

/// The INFO fields a client needs before CONNECT.
#[derive(Debug, Default, Deserialize)]
struct InfoTls {
    /// The server accepts only TLS clients.
    #[serde(default)]
    tls_required: bool,
    /// The server accepts TLS and plain clients (`allow_non_tls`).
    #[serde(default)]
    tls_available: bool,
}

/// Stop conditions shared by every thread of one scenario run.
#[derive(Debug, Clone)]
pub struct Ctl {
    /// Hard deadline: past it every call fails with a timeout.
    pub deadline: Instant,
    /// Set by any thread that failed, so the others stop promptly.
    pub abort: Arc<AtomicBool>,
}

impl Ctl {
    pub fn new(timeout: Duration) -> Self {
        Ctl {
            deadline: Instant::now() + timeout,
            abort: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Fails if the deadline passed or another thread aborted.
    pub fn check(&self) -> Result<(), Error> {
        if Instant::now() >= self.deadline {
            return fail("hard timeout reached");
        }
        if self.abort.load(Ordering::Relaxed) {
            return fail(ABORTED);
        }
        Ok(())
    }

    /// Tells every other thread to stop.
    pub fn abort(&self) {
        self.abort.store(true, Ordering::Relaxed);
    }
}

/// A connected, handshaken client connection.
pub struct Conn {
    stream: Stream,
    /// Received bytes not yet dispatched.
    scan: Scanner,
    /// Bytes queued for the next [`Conn::flush`]; callers append frames to it.
    pub out: Vec<u8>,
    /// PONGs received so far (for [`Conn::sync`]).
    pongs: u64,
    /// PINGs we sent so far.
    pings: u64,
    ctl: Ctl,
}

impl Conn {
    /// Connects, reads INFO (upgrading to TLS when the endpoint says so), sends CONNECT + PING
    /// and waits for the PONG. `read_buf` sizes the receive buffer (small for idle connections).
    pub fn connect(ep: &Endpoint, name: &str, ctl: &Ctl, read_buf: usize) -> Result<Conn, Error> {
        ctl.check()?;
        let left = ctl.deadline.saturating_duration_since(Instant::now());
        let mut tcp = TcpStream::connect_timeout(&ep.addr, left.min(Duration::from_secs(5)))
            .map_err(|e| Error(format!("connect {}: {e}", ep.addr)))?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(READ_TICK))?;
        tcp.set_write_timeout(Some(WRITE_TICK))?;
        let mut scan = Scanner::with_capacity(read_buf);
        let stream = match &ep.tls {
            None => {
                if read_info(&mut tcp, &mut scan, ctl)?.tls_required {
                    return fail("the server requires TLS (INFO says tls_required): add --tls");
                }
                Stream::Plain(tcp)
            }
            Some(tls) if tls.first => {
                let mut stream = start_tls(tcp, tls, ctl)?;
                read_info(&mut stream, &mut scan, ctl)?;
                stream
            }
            Some(tls) => {
                let info = read_info(&mut tcp, &mut scan, ctl).map_err(|e| {
                    Error(format!("{e} (a handshake_first server needs --tls-first)"))
                })?;
                if !info.tls_required && !info.tls_available {
                    return fail("--tls, but the server does not offer TLS (no tls_required or tls_available in its INFO)");
                }
                if scan.pending() > 0 {
                    return fail("the server sent more than its INFO before the TLS handshake");
                }
                start_tls(tcp, tls, ctl)?
            }
        };
        let mut conn = Conn {
            stream,
            scan,
            out: Vec::with_capacity(1024),
            pongs: 0,
            pings: 0,
            ctl: ctl.clone(),
        };
        let mut connect = serde_json::json!({
            "verbose": false, "pedantic": false, "lang": "rust", "version": "loadgen",
            "protocol": 1, "headers": true, "no_responders": false, "echo": true, "name": name,
            "tls_required": ep.tls.is_some(),
        });
        if let Some(u) = &ep.user {
            connect["user"] = u.clone().into();
        }
        if let Some(p) = &ep.pass {
            connect["pass"] = p.clone().into();
        }
        conn.out.extend_from_slice(b"CONNECT ");
        conn.out.extend_from_slice(connect.to_string().as_bytes());
        conn.out.extend_from_slice(b"\r\n");
        conn.sync(|_, _| fail("message before the handshake finished"))?;
        Ok(conn)
    }

    /// Whether this connection's TLS session was resumed (false for plain connections).
    pub fn tls_resumed(&self) -> bool {
        self.stream
            .session()
            .is_some_and(|c| c.handshake_kind() == Some(rustls::HandshakeKind::Resumed))
    }

    /// Closes with a reset (`SO_LINGER` 0) instead of a FIN: no TIME_WAIT socket is left behind,
    /// so tens of thousands of short connections cannot use up the ephemeral ports.
    pub fn close_reset(self) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: valid socket, option value and size; failure only means an ordinary close.
        unsafe {
            libc::setsockopt(
                self.stream.tcp().as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }

    /// One blocking read of at most one read tick. Returns the byte count (0 after a tick
    /// without data, once the deadline was checked); end of stream is an error.
    fn read_some(&mut self) -> Result<usize, Error> {
        match self.scan.read_from(&mut self.stream) {
            Ok(0) => fail("server closed the connection"),
            Ok(n) => Ok(n),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                self.ctl.check()?;
                Ok(0)
            }
            Err(e) => Err(Error(format!("read: {e}"))),
        }
    }

    /// Appends `SUB subject [queue] sid`.
    pub fn sub(&mut self, subject: &str, queue: Option<&str>, sid: u64) {
        let line = match queue {
            Some(q) => format!("SUB {subject} {q} {sid}\r\n"),
            None => format!("SUB {subject} {sid}\r\n"),
        };
        self.out.extend_from_slice(line.as_bytes());
    }

    /// Writes everything in `out`; retries on kernel timeouts until the deadline.
    pub fn flush(&mut self) -> Result<(), Error> {
        let mut pos = 0;
        while pos < self.out.len() {
            match self.stream.write(&self.out[pos..]) {
                Ok(0) => return fail("server closed the connection (write returned 0)"),
                Ok(n) => pos += n,
                Err(e) if is_timeout(&e) => self.ctl.check()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error(format!("write: {e}"))),
            }
        }
        self.out.clear();
        // TLS: rustls took every byte, but may still hold encrypted ones back.
        while self.stream.wants_write() {
            match self.stream.flush() {
                Ok(()) => {}
                Err(e) if is_timeout(&e) => self.ctl.check()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error(format!("write: {e}"))),
            }
        }
        Ok(())
    }

    /// Sends PING and dispatches frames until the matching PONG arrives: afterwards the
    /// server has processed everything this connection sent before.
    pub fn sync<F>(&mut self, mut on_msg: F) -> Result<(), Error>
    where
        F: FnMut(&Msg<'_>, &mut Vec<u8>) -> Result<(), Error>,
    {
        self.out.extend_from_slice(b"PING\r\n");
        self.pings += 1;
        self.flush()?;
        while self.pongs < self.pings {
            self.poll(&mut on_msg)?;
        }
        Ok(())
    }

    /// Number of PONGs received so far.
    pub fn pongs(&self) -> u64 {
        self.pongs
    }

    /// One blocking read (at most one read tick), then dispatches every complete frame.
    /// Returns the number of messages handed to `on_msg`.
    pub fn poll<F>(&mut self, on_msg: F) -> Result<usize, Error>
    where
        F: FnMut(&Msg<'_>, &mut Vec<u8>) -> Result<(), Error>,
    {
        self.read_some()?;
        self.dispatch(on_msg)
    }

    /// Like [`Conn::poll`] but never waits: reads only what is already there.
    pub fn poll_nowait<F>(&mut self, on_msg: F) -> Result<usize, Error>
    where
        F: FnMut(&Msg<'_>, &mut Vec<u8>) -> Result<(), Error>,
    {
        let n = match self.stream.read_nowait(self.scan.spare()) {
            Ok(0) => return fail("server closed the connection"),
            Ok(n) => n,
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => return Ok(0),
            Err(e) => return Err(Error(format!("read: {e}"))),
        };
        self.scan.filled(n);
        self.dispatch(on_msg)
    }

    /// Hands out every complete frame: messages to `on_msg`, PING answered, PONG counted,
    /// `-ERR` turned into an error (a benchmark never expects one).
    fn dispatch<F>(&mut self, mut on_msg: F) -> Result<usize, Error>
    where
        F: FnMut(&Msg<'_>, &mut Vec<u8>) -> Result<(), Error>,
    {
        let mut msgs = 0;
        let mut pong_owed = false;
        while let Some(frame) = self.scan.next_frame()? {
            match frame {
                Frame::Msg(m) => {
                    msgs += 1;
                    on_msg(&m, &mut self.out)?;
                }
                Frame::Ping => pong_owed = true,
                Frame::Pong => self.pongs += 1,
                Frame::Ok | Frame::Info(_) => {}
                Frame::Err(e) => {
                    return fail(format!("server -ERR {}", String::from_utf8_lossy(e)))
                }
            }
        }
        if pong_owed {
            self.out.extend_from_slice(b"PONG\r\n");
            self.flush()?;
        }
        Ok(msgs)
    }
}

/// Reads until the INFO line; `-ERR` or any other frame first is an error.
fn read_info<R: Read>(r: &mut R, scan: &mut Scanner, ctl: &Ctl) -> Result<InfoTls, Error> {
    loop {
        match scan.read_from(r) {
            Ok(0) => return fail("server closed the connection before its INFO"),
            Ok(_) => {}
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => ctl
                .check()
                .map_err(|e| Error(format!("{e} waiting for the INFO")))?,
            Err(e) => return Err(Error(format!("read: {e}"))),
        }
        match scan.next_frame()? {
            Some(Frame::Info(json)) => return Ok(serde_json::from_slice(json).unwrap_or_default()),
            Some(Frame::Err(e)) => {
                return fail(format!("server -ERR {}", String::from_utf8_lossy(e)))
            }
            Some(other) => return fail(format!("expected INFO first, got {other:?}")),
            None => {}
        }
    }
}

/// Runs the TLS handshake over `tcp` to the end (or the deadline).
fn start_tls(tcp: TcpStream, tls: &TlsClient, ctl: &Ctl) -> Result<Stream, Error> {
    let mut stream = Stream::tls(tcp, tls).map_err(|e| Error(format!("TLS: {e}")))?;
    while stream.is_handshaking() {
        match stream.handshake_io() {
            Ok(()) => {}
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => ctl
                .check()
                .map_err(|e| Error(format!("{e} in the TLS handshake")))?,
            Err(e) => {
                let hint = if tls.first {
                    " (--tls-first needs a server with handshake_first)"
                } else {
                    ""
                };
                return fail(format!("TLS handshake: {e}{hint}"));
            }
        }
    }
    if let Some(session) = stream.session() {
        tls.note(session);
    }
    Ok(stream)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_a_server_address() {
        assert_eq!(server_host("127.0.0.1:4222"), "127.0.0.1");
        assert_eq!(server_host("nats://localhost:4222"), "localhost");
        assert_eq!(server_host("tls://example.org:4443"), "example.org");
        assert_eq!(server_host("[::1]:4222"), "::1");
        assert_eq!(server_host("localhost"), "localhost");
        assert_eq!(server_host("::1"), "::1");
    }
}
