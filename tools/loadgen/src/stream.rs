//! The byte stream under a connection: plain TCP, or TLS (rustls) over the same blocking socket.
//!
//! An enum, not a trait object: the plain arm calls the socket directly, one well-predicted
//! branch per read or write call (each call moves up to 64 KiB), so plain runs cost what they
//! cost before TLS existed. The TLS arm is boxed: a rustls session is several KiB of state that
//! plain connections should not carry around.
//!
//! Blocking reads and writes keep the socket's kernel timeouts: a timed-out call surfaces as
//! `WouldBlock`/`TimedOut`, in the TLS arm too (rustls passes the socket's error through), so the
//! caller can check its deadline and retry. [`Stream::read_nowait`] never waits in either arm.

use crate::tls::TlsClient;
use rustls::{ClientConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};

/// Plain TCP or TLS over TCP.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    /// Wraps `tcp` in a new client session; the handshake is then driven by
    /// [`Stream::handshake_io`] until [`Stream::is_handshaking`] is false.
    pub fn tls(tcp: TcpStream, client: &TlsClient) -> Result<Stream, rustls::Error> {
        let session = client.session()?;
        Ok(Stream::Tls(Box::new(StreamOwned::new(session, tcp))))
    }

    /// The socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }

    /// The TLS session, if this is a TLS stream.
    pub fn session(&self) -> Option<&ClientConnection> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(s) => Some(&s.conn),
        }
    }

    /// True while a TLS handshake is unfinished (never for plain streams).
    pub fn is_handshaking(&self) -> bool {
        self.session().is_some_and(|c| c.is_handshaking())
    }

    /// One round of handshake I/O: writes what the session has to send, reads what the server
    /// sent (at most one read timeout). Errors carry rustls's reason (bad certificate ...).
    pub fn handshake_io(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(_) => Ok(()),
            Stream::Tls(s) => {
                let StreamOwned { conn, sock } = &mut **s;
                let (read, _) = conn.complete_io(sock)?;
                if read == 0 && conn.is_handshaking() && !conn.wants_write() {
                    // complete_io saw end of stream (a timeout would have been an error).
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "server closed the connection during the TLS handshake",
                    ));
                }
                Ok(())
            }
        }
    }

    /// True when encrypted bytes wait to be written (never for plain streams, which buffer
    /// nothing): [`Write::flush`] until it is false.
    pub fn wants_write(&self) -> bool {
        self.session().is_some_and(|c| c.wants_write())
    }

    /// Reads what has already arrived, without waiting: `Ok(0)` at end of stream,
    /// `WouldBlock` when nothing (or, under TLS, no whole record) is there yet.
    pub fn read_nowait(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => recv_nowait(s.as_raw_fd(), buf),
            Stream::Tls(s) => {
                let StreamOwned { conn, sock } = &mut **s;
                match conn.reader().read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    done => return done,
                }
                if conn.read_tls(&mut NoWait(sock.as_raw_fd()))? == 0 {
                    return Ok(0);
                }
                conn.process_new_packets()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                conn.reader().read(buf)
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(_) => Ok(()),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A socket read side that never waits (`MSG_DONTWAIT`), for rustls's `read_tls`.
struct NoWait(RawFd);

impl Read for NoWait {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        recv_nowait(self.0, buf)
    }
}

/// One `recv(MSG_DONTWAIT)`: `WouldBlock` when nothing is there.
fn recv_nowait(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a valid writable buffer of `buf.len()` bytes for the duration of the call.
    let rc = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc as usize)
}
