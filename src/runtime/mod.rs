//! The runtime seam: the only place that names glommio.
//!
//! Protocol, subject and auth code never see the executor; the shard code uses the small surface here
//! (spawn, TCP accept/read/write/shutdown, timers, executor start). A different io_uring driver, or a
//! fallback where io_uring is blocked, replaces this module and nothing else.

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

pub mod checks;

/// Starts a detached task on the current shard (a dropped glommio task would be cancelled).
pub fn spawn<F: Future<Output = ()> + 'static>(fut: F) {
    glommio::spawn_local(fut).detach();
}

pub async fn sleep(d: Duration) {
    glommio::timer::sleep(d).await;
}

/// Lets every other ready task on this shard run before continuing.
pub async fn yield_now() {
    futures_lite::future::yield_now().await;
}

/// Yields only when the executor's time slice is used up.
pub async fn yield_if_needed() {
    glommio::yield_if_needed().await;
}

/// A running shard executor; `join` waits for it to finish.
pub struct ExecHandle(glommio::ExecutorJoinHandle<()>);

impl ExecHandle {
    pub fn join(self) {
        let _ = self.0.join();
    }
}

/// Runs `f` on a new thread with a glommio executor pinned to `cpu` (unpinned when `None`), with a
/// small io_uring buffer (the 10 MiB default is pinned memory a network broker does not use) and an
/// unbound blocking pool (for bcrypt checks).
pub fn start_executor<F, Fut>(
    name: String,
    cpu: Option<usize>,
    spin: Duration,
    f: F,
) -> io::Result<ExecHandle>
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
    b.io_memory(64 << 10)
        .blocking_thread_pool_placement(glommio::PoolPlacement::Unbound(1))
        .spawn(f)
        .map(ExecHandle)
        .map_err(|e| io::Error::other(e.to_string()))
}

/// Adopts an already bound and listening socket on the current executor.
pub fn adopt_listener(sock: socket2::Socket) -> TcpListener {
    // SAFETY: the fd is a listening TCP socket we own; ownership moves into the listener.
    unsafe { TcpListener::from_raw_fd(sock.into_raw_fd()) }
}

pub async fn accept(l: &TcpListener) -> io::Result<Stream> {
    let s = l.accept().await.map_err(io::Error::from)?;
    let _ = s.set_nodelay(true);
    Ok(Stream(Rc::new(RefCell::new(s))))
}

/// Dials `addr` (a leaf remote's hub): at most `within` for the connection to be established.
pub async fn connect(addr: SocketAddr, within: Duration) -> io::Result<Stream> {
    let s = timeout(within, TcpStream::connect(addr))
        .await
        .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "dial timeout"))?
        .map_err(io::Error::from)?;
    let _ = s.set_nodelay(true);
    Ok(Stream(Rc::new(RefCell::new(s))))
}

/// One TCP connection, shared by its reader and writer tasks on the same shard. Each direction has its
/// own readiness source inside glommio, and the `RefCell` is only borrowed during a synchronous poll.
#[derive(Clone)]
pub struct Stream(Rc<RefCell<TcpStream>>);

impl Stream {
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.0.borrow().peer_addr().ok()
    }

    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| {
            let mut s = self.0.borrow_mut();
            Pin::new(&mut *s).poll_read(cx, buf)
        })
        .await
    }

    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = poll_fn(|cx| {
                let mut s = self.0.borrow_mut();
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

    /// Waits for bytes to arrive and copies them into `buf` without consuming them (they are read
    /// again by the next `read`). For the task that owns a new connection while it decides between
    /// TLS and plain text: nobody else reads or writes the stream meanwhile, so the shared borrow
    /// held across the wait never meets a mutable one.
    #[allow(clippy::await_holding_refcell_ref)]
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let s = self.0.borrow();
        s.peek(buf).await.map_err(io::Error::from)
    }

    /// The socket's descriptor, for `try_send` from the shard (valid while either task holds a clone).
    pub fn raw_fd(&self) -> i32 {
        std::os::fd::AsRawFd::as_raw_fd(&*self.0.borrow())
    }

    /// Shuts both directions down so a task blocked in `read` wakes with EOF.
    pub fn shutdown(&self) {
        let s = self.0.borrow();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&*s);
        // SAFETY: plain shutdown(2) on a socket fd we own; errors (already closed) are irrelevant.
        unsafe {
            libc::shutdown(fd, libc::SHUT_RDWR);
        }
    }
}

/// Runs `fut` for at most `d`; `None` when the time ran out first.
pub async fn timeout<T>(d: Duration, fut: impl Future<Output = T>) -> Option<T> {
    futures_lite::future::or(async { Some(fut.await) }, async {
        sleep(d).await;
        None
    })
    .await
}

/// Runs a blocking closure on the executor's blocking thread pool (e.g. a bcrypt check).
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    glommio::executor().spawn_blocking(f).await
}

/// A one-shot, shard-local notification with a single waiter (e.g. "stop accepting"). Cheap to clone.
/// Holds at most one waker, so a waiter polled again and again does not accumulate them.
#[derive(Clone, Default)]
pub struct Notify(Rc<RefCell<(bool, Option<std::task::Waker>)>>);

impl Notify {
    pub fn notify(&self) {
        let mut s = self.0.borrow_mut();
        s.0 = true;
        if let Some(w) = s.1.take() {
            w.wake();
        }
    }

    pub async fn wait(&self) {
        poll_fn(|cx| {
            let mut s = self.0.borrow_mut();
            if s.0 {
                std::task::Poll::Ready(())
            } else {
                s.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }
}

/// One non-blocking `send(2)` (MSG_DONTWAIT, MSG_NOSIGNAL): how many bytes the kernel took, `Ok(0)` when
/// the socket buffer is full. Lets the shard flush a connection inline at the end of a batch instead of
/// waking its writer task (one task hop less per message on the latency path).
pub fn try_send(fd: i32, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: send(2) on a socket fd owned by a live connection, reading `buf` only.
    let n = unsafe {
        libc::send(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    if n >= 0 {
        return Ok(n as usize);
    }
    let e = io::Error::last_os_error();
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
        _ => Err(e),
    }
}
