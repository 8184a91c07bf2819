//! The io_uring backend: glommio, one pinned `LocalExecutor` per shard. The fast path.

use futures_lite::future::poll_fn;
use futures_lite::{AsyncRead, AsyncWrite};
use glommio::net::{TcpListener, TcpStream};
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

/// A small io_uring buffer: the 10 MiB default is pinned memory a network broker does not use.
const IO_MEMORY: usize = 64 << 10;

pub type Listener = TcpListener;
pub type Conn = Rc<RefCell<TcpStream>>;
pub type Exec = glommio::ExecutorJoinHandle<()>;

/// Starts a detached task (a dropped glommio task would be cancelled).
pub fn spawn<F: Future<Output = ()> + 'static>(fut: F) {
    glommio::spawn_local(fut).detach();
}

pub async fn sleep(d: Duration) {
    glommio::timer::sleep(d).await;
}

/// Yields only when the executor's time slice is used up.
pub async fn yield_if_needed() {
    glommio::yield_if_needed().await;
}

/// A glommio executor on a new thread, pinned to `cpu` (unpinned when `None`), with an unbound blocking
/// pool of one thread (for bcrypt checks).
pub fn start_executor<F, Fut>(
    name: String,
    cpu: Option<usize>,
    spin: Duration,
    f: F,
) -> io::Result<Exec>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let placement = match cpu {
        Some(c) => glommio::Placement::Fixed(c),
        None => glommio::Placement::Unbound,
    };
    let mut b = glommio::LocalExecutorBuilder::new(placement).name(&name);
    if !spin.is_zero() {
        // Poll for I/O this long before sleeping: lower wake-up latency, paid for in idle CPU.
        b = b.spin_before_park(spin);
    }
    b.io_memory(IO_MEMORY)
        .blocking_thread_pool_placement(glommio::PoolPlacement::Unbound(1))
        .spawn(f)
        .map_err(|e| io::Error::other(e.to_string()))
}

/// Builds (and drops) an executor like a shard's on a throwaway thread: its rings, registered buffer
/// and eventfd are what the shards need from io_uring beyond `io_uring_setup`.
pub fn probe() -> Result<(), String> {
    let t = std::thread::Builder::new()
        .name("io_uring-probe".into())
        .spawn(|| {
            glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
                .io_memory(IO_MEMORY)
                .blocking_thread_pool_placement(glommio::PoolPlacement::Unbound(1))
                .make()
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .map_err(|e| e.to_string())?;
    t.join()
        .unwrap_or_else(|_| Err("the executor panicked while starting".into()))
}

/// Adopts an already bound and listening socket on the current executor.
pub fn adopt_listener(sock: socket2::Socket) -> Listener {
    // SAFETY: the fd is a listening TCP socket we own; ownership moves into the listener.
    unsafe { TcpListener::from_raw_fd(sock.into_raw_fd()) }
}

pub async fn accept(l: &Listener) -> io::Result<Conn> {
    let s = l.accept().await.map_err(io::Error::from)?;
    let _ = s.set_nodelay(true);
    Ok(Rc::new(RefCell::new(s)))
}

pub async fn connect(addr: SocketAddr) -> io::Result<Conn> {
    let s = TcpStream::connect(addr).await.map_err(io::Error::from)?;
    let _ = s.set_nodelay(true);
    Ok(Rc::new(RefCell::new(s)))
}

// One connection is shared by its reader and writer tasks on the same shard. Each direction has its own
// readiness source inside glommio, and the `RefCell` is only borrowed during a synchronous poll.

pub fn peer_addr(s: &Conn) -> Option<SocketAddr> {
    s.borrow().peer_addr().ok()
}

pub async fn read(s: &Conn, buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| {
        let mut s = s.borrow_mut();
        Pin::new(&mut *s).poll_read(cx, buf)
    })
    .await
}

pub async fn write_all(s: &Conn, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| {
            let mut s = s.borrow_mut();
            Pin::new(&mut *s).poll_write(cx, buf)
        })
        .await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// The shared borrow is held across the wait: see `Stream::peek` for why nothing else borrows meanwhile.
#[allow(clippy::await_holding_refcell_ref)]
pub async fn peek(s: &Conn, buf: &mut [u8]) -> io::Result<usize> {
    let s = s.borrow();
    s.peek(buf).await.map_err(io::Error::from)
}

pub fn raw_fd(s: &Conn) -> i32 {
    std::os::fd::AsRawFd::as_raw_fd(&*s.borrow())
}

pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    glommio::executor().spawn_blocking(f).await
}
