//! The runtime seam: the only place that names glommio, or tokio on a shard.
//!
//! Protocol, subject and auth code never see the executor; the shard code uses the small surface here
//! (spawn, TCP accept/read/write/shutdown, timers, executor start). Two backends share one model: one
//! single-threaded executor per shard thread, pinned to its CPU; one SO_REUSEPORT listener per shard,
//! adopted by its executor; timers; a blocking pool; task wakers that may be woken from any thread.
//! - io_uring (`uring.rs`, glommio): the fast path.
//! - epoll (`epoll.rs`, a tokio current-thread runtime and `LocalSet` per shard): where io_uring is
//!   blocked (most containers' seccomp profiles) or disabled.
//!
//! The backend is chosen once per process, before any shard starts ([`select`]); every call below is one
//! predictable branch on it (or on the variant of the socket it is given), with nothing allocated for the
//! dispatch.

use crate::config::RuntimeChoice;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

pub mod checks;
mod epoll;
mod uring;

/// The I/O backend the shards run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    IoUring,
    Epoll,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::IoUring => "io_uring",
            Backend::Epoll => "epoll",
        }
    }
}

static BACKEND: OnceLock<Backend> = OnceLock::new();

/// The backend in use: the one [`select`] chose; in a process that never called it (unit tests), what
/// `auto` would choose, without a log line.
#[inline]
pub fn backend() -> Backend {
    *BACKEND.get_or_init(|| auto().0)
}

/// What `auto` chooses on this host, and why not io_uring when it does not.
pub fn auto() -> (Backend, Option<checks::Unavailable>) {
    match checks::probe_io_uring() {
        Ok(()) => (Backend::IoUring, None),
        Err(why) => (Backend::Epoll, Some(why)),
    }
}

/// Chooses the backend for this process (once, before the first shard starts): `auto` probes io_uring
/// and falls back to epoll with one log line saying why; `io_uring` fails with what is missing; `epoll`
/// never touches io_uring. A second call must ask for the same backend.
pub fn select(choice: RuntimeChoice) -> Result<Backend, String> {
    let chosen = match choice {
        RuntimeChoice::Epoll => Backend::Epoll,
        RuntimeChoice::IoUring => {
            checks::probe_io_uring().map_err(|why| why.detail)?;
            Backend::IoUring
        }
        RuntimeChoice::Auto => {
            let (b, why) = auto();
            if let Some(why) = why {
                tracing::warn!(
                    "io_uring unavailable ({}); using the epoll runtime",
                    why.reason
                );
            }
            b
        }
    };
    let set = *BACKEND.get_or_init(|| chosen);
    if set != chosen {
        return Err(format!(
            "the {} runtime is already running in this process; cannot start the {} runtime",
            set.name(),
            chosen.name()
        ));
    }
    Ok(chosen)
}

/// Starts a detached task on the current shard.
pub fn spawn<F: Future<Output = ()> + 'static>(fut: F) {
    match backend() {
        Backend::IoUring => uring::spawn(fut),
        Backend::Epoll => epoll::spawn(fut),
    }
}

pub async fn sleep(d: Duration) {
    match backend() {
        Backend::IoUring => uring::sleep(d).await,
        Backend::Epoll => epoll::sleep(d).await,
    }
}

/// Lets every other ready task on this shard run before continuing (on epoll, the shard also looks for
/// I/O first: tokio defers the task's wake-up until its driver has been polled, which glommio's
/// executor does between its turns anyway).
pub async fn yield_now() {
    match backend() {
        Backend::IoUring => futures_lite::future::yield_now().await,
        Backend::Epoll => tokio::task::yield_now().await,
    }
}

/// Yields only when the task has had its share of the shard for now (glommio: the executor's time
/// slice; tokio: the task's cooperative budget).
pub async fn yield_if_needed() {
    match backend() {
        Backend::IoUring => uring::yield_if_needed().await,
        Backend::Epoll => epoll::yield_if_needed().await,
    }
}

/// A running shard executor; `join` waits for it to finish.
pub struct ExecHandle(Exec);

enum Exec {
    Uring(uring::Exec),
    Epoll(epoll::Exec),
}

impl ExecHandle {
    pub fn join(self) {
        match self.0 {
            Exec::Uring(h) => {
                let _ = h.join();
            }
            Exec::Epoll(h) => {
                let _ = h.join();
            }
        }
    }
}

/// Runs `f` on a new thread with an executor of the process's backend, pinned to `cpu` (unpinned when
/// `None`), with a blocking pool of one unpinned thread (for bcrypt checks). `spin` (`bus_spin`) makes an
/// io_uring executor poll for I/O that long before it sleeps; the epoll backend has no such spin (the
/// shard's own inbox spin applies to both).
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
    let exec = match backend() {
        Backend::IoUring => Exec::Uring(uring::start_executor(name, cpu, spin, f)?),
        Backend::Epoll => Exec::Epoll(epoll::start_executor(name, cpu, f)?),
    };
    Ok(ExecHandle(exec))
}

/// A listening socket adopted by a shard's executor.
pub struct TcpListener(Listener);

enum Listener {
    Uring(uring::Listener),
    Epoll(epoll::Listener),
}

/// Adopts an already bound and listening (non-blocking) socket on the current executor.
pub fn adopt_listener(sock: socket2::Socket) -> TcpListener {
    TcpListener(match backend() {
        Backend::IoUring => Listener::Uring(uring::adopt_listener(sock)),
        Backend::Epoll => Listener::Epoll(epoll::adopt_listener(sock)),
    })
}

/// The next connection (with `TCP_NODELAY` set).
pub async fn accept(l: &TcpListener) -> io::Result<Stream> {
    Ok(Stream(match &l.0 {
        Listener::Uring(l) => Conn::Uring(uring::accept(l).await?),
        Listener::Epoll(l) => Conn::Epoll(epoll::accept(l).await?),
    }))
}

/// Dials `addr` (a leaf remote's hub, a route): at most `within` for the connection to be established.
pub async fn connect(addr: SocketAddr, within: Duration) -> io::Result<Stream> {
    let dial = async {
        Ok(Stream(match backend() {
            Backend::IoUring => Conn::Uring(uring::connect(addr).await?),
            Backend::Epoll => Conn::Epoll(epoll::connect(addr).await?),
        }))
    };
    timeout(within, dial)
        .await
        .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "dial timeout"))?
}

/// One TCP connection, shared by its reader and writer tasks on the same shard (cheap to clone: both
/// backends let one task read while another writes).
#[derive(Clone)]
pub struct Stream(Conn);

#[derive(Clone)]
enum Conn {
    Uring(uring::Conn),
    Epoll(epoll::Conn),
}

impl Stream {
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match &self.0 {
            Conn::Uring(s) => uring::peer_addr(s),
            Conn::Epoll(s) => epoll::peer_addr(s),
        }
    }

    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.0 {
            Conn::Uring(s) => uring::read(s, buf).await,
            Conn::Epoll(s) => epoll::read(s, buf).await,
        }
    }

    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        match &self.0 {
            Conn::Uring(s) => uring::write_all(s, buf).await,
            Conn::Epoll(s) => epoll::write_all(s, buf).await,
        }
    }

    /// Waits for bytes to arrive and copies them into `buf` without consuming them (they are read
    /// again by the next `read`). For the task that owns a new connection while it decides between
    /// TLS and plain text: nobody else reads or writes the stream meanwhile (on glommio a shared
    /// borrow is held across the wait and must never meet a mutable one).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.0 {
            Conn::Uring(s) => uring::peek(s, buf).await,
            Conn::Epoll(s) => epoll::peek(s, buf).await,
        }
    }

    /// The socket's descriptor, for `try_send` from the shard (valid while either task holds a clone).
    pub fn raw_fd(&self) -> i32 {
        match &self.0 {
            Conn::Uring(s) => uring::raw_fd(s),
            Conn::Epoll(s) => epoll::raw_fd(s),
        }
    }

    /// Shuts both directions down so a task blocked in `read` wakes with EOF.
    pub fn shutdown(&self) {
        let fd = self.raw_fd();
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
    match backend() {
        Backend::IoUring => uring::blocking(f).await,
        Backend::Epoll => epoll::blocking(f).await,
    }
}

/// A one-shot, shard-local notification with a single waiter (e.g. "stop accepting"). Cheap to clone.
/// Holds at most one waker, so a waiter polled again and again does not accumulate them.
#[derive(Clone, Default)]
pub struct Notify(std::rc::Rc<std::cell::RefCell<(bool, Option<std::task::Waker>)>>);

impl Notify {
    pub fn notify(&self) {
        let mut s = self.0.borrow_mut();
        s.0 = true;
        if let Some(w) = s.1.take() {
            w.wake();
        }
    }

    pub async fn wait(&self) {
        futures_lite::future::poll_fn(|cx| {
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
/// waking its writer task (one task hop less per message on the latency path). Either backend's writer
/// still sees a full buffer itself (its own write returns "would block" and it waits for room).
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
