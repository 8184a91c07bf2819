//! One raw NATS client connection: handshake, batched writes, frame dispatch, PING/PONG.
//!
//! A connection is owned by exactly one thread, which both reads and writes it, so frames
//! written never interleave. Sockets use short kernel timeouts so that every blocking call
//! comes back regularly to check the scenario's deadline and abort flag ([`Ctl`]): nothing
//! can hang past the deadline.

use crate::scan::{Frame, Msg, ScanError, Scanner};
use std::fmt;
use std::io::{self, Write};
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

/// Where to connect and as whom.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Resolved server address.
    pub addr: SocketAddr,
    pub user: Option<String>,
    pub pass: Option<String>,
}

impl Endpoint {
    pub fn new(server: &str, user: Option<String>, pass: Option<String>) -> Result<Self, Error> {
        let hostport = server.strip_prefix("nats://").unwrap_or(server);
        let addr = hostport
            .to_socket_addrs()
            .map_err(|e| Error(format!("bad server address {server:?}: {e}")))?
            .next()
            .ok_or_else(|| Error(format!("server address {server:?} resolves to nothing")))?;
        Ok(Endpoint { addr, user, pass })
    }
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
    stream: TcpStream,
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
    /// Connects, reads INFO, sends CONNECT + PING and waits for the PONG.
    /// `read_buf` sizes the receive buffer (small for idle connections).
    pub fn connect(ep: &Endpoint, name: &str, ctl: &Ctl, read_buf: usize) -> Result<Conn, Error> {
        ctl.check()?;
        let left = ctl.deadline.saturating_duration_since(Instant::now());
        let stream = TcpStream::connect_timeout(&ep.addr, left.min(Duration::from_secs(5)))
            .map_err(|e| Error(format!("connect {}: {e}", ep.addr)))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TICK))?;
        stream.set_write_timeout(Some(WRITE_TICK))?;
        let mut conn = Conn {
            stream,
            scan: Scanner::with_capacity(read_buf),
            out: Vec::with_capacity(1024),
            pongs: 0,
            pings: 0,
            ctl: ctl.clone(),
        };
        let mut connect = serde_json::json!({
            "verbose": false, "pedantic": false, "lang": "rust", "version": "loadgen",
            "protocol": 1, "headers": true, "no_responders": false, "echo": true, "name": name,
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
        conn.handshake()?;
        Ok(conn)
    }

    /// Expects INFO first, then (after our pipelined CONNECT + PING) a PONG.
    fn handshake(&mut self) -> Result<(), Error> {
        loop {
            self.read_some()?;
            match self.scan.next_frame()? {
                Some(Frame::Info(_)) => break,
                Some(Frame::Err(e)) => {
                    return fail(format!("server -ERR {}", String::from_utf8_lossy(e)))
                }
                Some(other) => return fail(format!("expected INFO first, got {other:?}")),
                None => {}
            }
        }
        self.sync(|_, _| fail("message before the handshake finished"))
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
        let fd = self.stream.as_raw_fd();
        let room = self.scan.spare();
        // SAFETY: `room` is a valid writable buffer of `room.len()` bytes owned by the scanner.
        let rc =
            unsafe { libc::recv(fd, room.as_mut_ptr().cast(), room.len(), libc::MSG_DONTWAIT) };
        if rc == 0 {
            return fail("server closed the connection");
        }
        if rc < 0 {
            let e = io::Error::last_os_error();
            if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted {
                return Ok(0);
            }
            return Err(Error(format!("read: {e}")));
        }
        self.scan.filled(rc as usize);
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

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
