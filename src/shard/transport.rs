//! What a connection's bytes travel over. The reader task, the writer task and the shard's inline flush
//! use only this, so the parser, permissions and fan-out never know whether a connection is encrypted.
//!
//! - `Tcp`: plain text on the socket.
//! - `Tls`: a TLS session over the socket (`tls::session`): reads decrypt, writes seal into a
//!   ciphertext backlog that one writer at a time sends.
//! - `Handshake`: the socket belongs to the task upgrading the connection (`shard::secure`); nothing
//!   else may touch it. Inline flushes take nothing and the connection's bytes wait in its outbound
//!   buffer until the session exists (the TLS-first INFO, say).
//!
//! Runs on: the owning shard. Cheap to clone (the reader, the writer and the `Conn` each hold one).

use crate::runtime::{self, Stream};
use crate::tls::session::TlsSession;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

#[derive(Clone)]
pub enum Transport {
    /// A TCP socket; `fd` is kept for the non-blocking inline send (valid while any clone lives).
    Tcp { stream: Stream, fd: i32 },
    /// A TLS session over a TCP socket.
    Tls(Rc<TlsSession>),
    /// A TCP socket whose TLS handshake (or the choice between TLS and plain text) is under way.
    Handshake(Stream),
}

impl Transport {
    pub fn tcp(stream: Stream) -> Transport {
        let fd = stream.raw_fd();
        Transport::Tcp { stream, fd }
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Tcp { stream, .. } | Transport::Handshake(stream) => stream.peer_addr(),
            Transport::Tls(s) => s.peer_addr(),
        }
    }

    /// Reads what has arrived (waits for at least one byte; `Ok(0)` at the end).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp { stream, .. } => stream.read(buf).await,
            Transport::Tls(s) => s.read(buf).await,
            Transport::Handshake(_) => Err(handshaking()),
        }
    }

    /// Hands `buf` to the transport when it keeps its own backlog (TLS: sealed into records, counted
    /// by [`Transport::backlog`] from now on) and clears it; false (and `buf` untouched) otherwise.
    /// The writer task seals before it waits for the socket, so bytes are counted once.
    pub fn seal(&self, buf: &mut Vec<u8>) -> io::Result<bool> {
        match self {
            Transport::Tls(s) => {
                s.seal(buf)?;
                buf.clear();
                Ok(true)
            }
            Transport::Tcp { .. } | Transport::Handshake(_) => Ok(false),
        }
    }

    /// Writes all of `buf`, and before it anything in the transport's backlog (the writer task; a
    /// stalled peer makes it wait).
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        match self {
            Transport::Tcp { stream, .. } => stream.write_all(buf).await,
            Transport::Tls(s) => s.write_all(buf).await,
            Transport::Handshake(_) => Err(handshaking()),
        }
    }

    /// Takes what it can of `buf` now, without waiting: how many bytes it took (`Ok(0)` when the
    /// socket is full). TLS takes everything (sealed; what the socket refused stays in the backlog).
    /// The shard's inline flush at the end of a batch, with no task hop.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp { fd, .. } => runtime::try_send(*fd, buf),
            Transport::Tls(s) => s.try_write(buf),
            Transport::Handshake(_) => Ok(0),
        }
    }

    /// Bytes the transport holds that are not on the socket yet (TLS records); they count towards
    /// `max_pending`, and the writer task must run while there are any.
    pub fn backlog(&self) -> usize {
        match self {
            Transport::Tls(s) => s.backlog(),
            Transport::Tcp { .. } | Transport::Handshake(_) => 0,
        }
    }

    /// Drops the transport's backlog (TLS records not yet handed to the socket; what a write has
    /// under way finishes).
    pub fn discard(&self) {
        if let Transport::Tls(s) = self {
            s.discard();
        }
    }

    /// Shuts both directions down, so a task blocked in `read` wakes with the end of the stream (TLS
    /// first sends close_notify if the socket takes it).
    pub fn shutdown(&self) {
        match self {
            Transport::Tcp { stream, .. } | Transport::Handshake(stream) => stream.shutdown(),
            Transport::Tls(s) => s.shutdown(),
        }
    }

    /// The TLS session, when there is one (for `/connz` and `verify_and_map`).
    pub fn tls(&self) -> Option<&TlsSession> {
        match self {
            Transport::Tls(s) => Some(s),
            _ => None,
        }
    }
}

fn handshaking() -> io::Error {
    io::Error::other("the connection's TLS handshake is under way")
}
