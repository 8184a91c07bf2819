//! What a connection's bytes travel over. The reader task, the writer task and the shard's inline flush
//! use only this, so a TLS session or a cluster link can stand behind a connection without them knowing.
//! Today: plain TCP.
//!
//! Runs on: the owning shard. Cheap to clone (the reader, the writer and the `Conn` each hold one).

use crate::runtime::{self, Stream};
use std::io;
use std::net::SocketAddr;

#[derive(Clone)]
pub enum Transport {
    /// A TCP socket; `fd` is kept for the non-blocking inline send (valid while any clone lives).
    Tcp { stream: Stream, fd: i32 },
}

impl Transport {
    pub fn tcp(stream: Stream) -> Transport {
        let fd = stream.raw_fd();
        Transport::Tcp { stream, fd }
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Tcp { stream, .. } => stream.peer_addr(),
        }
    }

    /// Reads what has arrived (waits for at least one byte; `Ok(0)` at the end).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp { stream, .. } => stream.read(buf).await,
        }
    }

    /// Writes all of `buf` (the writer task; a stalled peer makes it wait).
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        match self {
            Transport::Tcp { stream, .. } => stream.write_all(buf).await,
        }
    }

    /// Writes what the socket takes now, without waiting: how many bytes went (`Ok(0)` when full).
    /// The shard's inline flush at the end of a batch, with no task hop.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp { fd, .. } => runtime::try_send(*fd, buf),
        }
    }

    /// Shuts both directions down, so a task blocked in `read` wakes with the end of the stream.
    pub fn shutdown(&self) {
        match self {
            Transport::Tcp { stream, .. } => stream.shutdown(),
        }
    }
}
