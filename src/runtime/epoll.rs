//! The epoll backend, for hosts where io_uring is blocked (most containers): per shard, a thread pinned to
//! its CPU running a tokio current-thread runtime (I/O readiness on epoll, timers, a blocking pool) and a
//! `LocalSet`, so the shard's tasks stay `!Send` and single-threaded as on glommio.
//!
//! Wake-ups keep glommio's contract: a task's waker may be woken from any thread (the bus bell does), and
//! tokio moves the task to its shard's queue and interrupts that shard's `epoll_wait`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// Adopting a listener registers it with the shard's epoll instance, which can fail; the error is kept
/// and every `accept` returns it (the accepting task logs it), as the seam's `adopt_listener` cannot fail.
pub struct Listener(io::Result<TcpListener>);

pub type Conn = Rc<TcpStream>;
pub type Exec = std::thread::JoinHandle<()>;

/// tokio's timer wheel counts whole milliseconds; a shorter sleep would last about a millisecond.
const TIMER_TICK: Duration = Duration::from_millis(1);

/// Starts a detached task on the current shard (dropping tokio's handle does not cancel it).
pub fn spawn<F: Future<Output = ()> + 'static>(fut: F) {
    drop(tokio::task::spawn_local(fut));
}

/// A sleep. Below tokio's 1 ms timer tick (the shard's 50-100 µs back-pressure retries) the task yields
/// until the time is up instead, so those retries keep their pace; every other task and the I/O driver
/// run meanwhile.
pub async fn sleep(d: Duration) {
    if d >= TIMER_TICK {
        tokio::time::sleep(d).await;
        return;
    }
    let until = Instant::now() + d;
    while Instant::now() < until {
        tokio::task::yield_now().await;
    }
}

/// Yields only when the task has used up its cooperative budget (tokio's counterpart of glommio's time
/// slice: 128 units per turn, one per socket operation and per call here).
pub async fn yield_if_needed() {
    tokio::task::coop::consume_budget().await;
}

/// A tokio current-thread runtime and `LocalSet` on a new thread, pinned to `cpu` (unpinned when `None`).
/// The blocking pool has one thread (for bcrypt checks), not pinned: it runs where the process may run,
/// not on the shard's CPU. Fails, like glommio, when the thread cannot be pinned.
pub fn start_executor<F, Fut>(name: String, cpu: Option<usize>, f: F) -> io::Result<Exec>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let mut b = tokio::runtime::Builder::new_current_thread();
    b.enable_io()
        .enable_time()
        .max_blocking_threads(1)
        .thread_name(format!("{name}-blocking"));
    // Threads inherit their creator's affinity: the pool's threads are started by the pinned shard, so
    // they take the unpinned mask of the thread starting the shards back.
    if let Some(mask) = CpuMask::of_this_thread() {
        b.on_thread_start(move || {
            let _ = mask.apply_to_this_thread();
        });
    }
    let rt = b.build()?;
    let (started_tx, started_rx) = std::sync::mpsc::sync_channel::<io::Result<()>>(1);
    let thread = std::thread::Builder::new().name(name).spawn(move || {
        if let Some(c) = cpu {
            if let Err(e) = CpuMask::one(c).and_then(|m| m.apply_to_this_thread()) {
                let _ = started_tx.send(Err(e));
                return;
            }
        }
        let _ = started_tx.send(Ok(()));
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, f());
        // The tasks still there are dropped (their sockets closed) before the runtime goes.
        drop(local);
        drop(rt);
    })?;
    match started_rx.recv() {
        Ok(Ok(())) => Ok(thread),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(io::Error::other("the executor thread ended while starting"))
        }
    }
}

/// A thread's CPU affinity mask.
#[derive(Clone, Copy)]
struct CpuMask(libc::cpu_set_t);

impl CpuMask {
    fn of_this_thread() -> Option<CpuMask> {
        // SAFETY: an all-zero cpu_set_t is a valid (empty) set; sched_getaffinity fills it.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: pid 0 = this thread; the size is the struct's.
        let rc =
            unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
        (rc == 0).then_some(CpuMask(set))
    }

    fn one(cpu: usize) -> io::Result<CpuMask> {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CPU {cpu} is out of range"),
            ));
        }
        // SAFETY: an all-zero cpu_set_t is the empty set; `cpu` is below CPU_SETSIZE.
        let set = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            set
        };
        Ok(CpuMask(set))
    }

    fn apply_to_this_thread(&self) -> io::Result<()> {
        // SAFETY: pid 0 = this thread; reads the set we pass.
        let rc =
            unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.0) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// Adopts an already bound, listening, non-blocking socket on the current shard's runtime.
pub fn adopt_listener(sock: socket2::Socket) -> Listener {
    Listener(TcpListener::from_std(std::net::TcpListener::from(sock)))
}

pub async fn accept(l: &Listener) -> io::Result<Conn> {
    let l = match &l.0 {
        Ok(l) => l,
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("listener not registered: {e}"),
            ))
        }
    };
    let (s, _) = l.accept().await?;
    let _ = s.set_nodelay(true);
    Ok(Rc::new(s))
}

pub async fn connect(addr: SocketAddr) -> io::Result<Conn> {
    let s = TcpStream::connect(addr).await?;
    let _ = s.set_nodelay(true);
    Ok(Rc::new(s))
}

// One connection is shared by its reader and writer tasks on the same shard: tokio's socket takes `&self`
// and keeps one readiness state per direction, so no `RefCell` is needed.

pub fn peer_addr(s: &Conn) -> Option<SocketAddr> {
    s.peer_addr().ok()
}

pub async fn read(s: &Conn, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        s.readable().await?;
        match s.try_read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            r => return r,
        }
    }
}

pub async fn write_all(s: &Conn, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        s.writable().await?;
        match s.try_write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub async fn peek(s: &Conn, buf: &mut [u8]) -> io::Result<usize> {
    s.peek(buf).await
}

pub fn raw_fd(s: &Conn) -> i32 {
    std::os::fd::AsRawFd::as_raw_fd(&**s)
}

/// Runs `f` on the shard's blocking pool. A panic in `f` goes on in the caller, as on glommio.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            // Cancelled: only when the runtime shuts down, which drops this task too.
            Err(_) => std::future::pending().await,
        },
    }
}
