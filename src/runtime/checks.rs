//! The io_uring probe: what the io_uring backend needs, checked before any shard starts, so that `auto`
//! can fall back to epoll with the reason and `io_uring` can fail with a clear message (glommio would
//! otherwise report these with misleading ones, or panic in a shard).

use std::io;

/// glommio registers a small io_uring buffer per executor; it needs locked memory.
pub const MIN_MEMLOCK: u64 = 512 * 1024;

/// Why io_uring cannot be used here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// One short clause for the fallback log line, e.g. `io_uring_setup: Operation not permitted`.
    pub reason: String,
    /// The error `--runtime io_uring` fails with: the reason and what to do about it.
    pub detail: String,
}

/// Everything the io_uring backend needs, most basic first: `io_uring_setup(2)` and `io_uring_enter(2)`
/// (a seccomp profile may block either), the locked-memory limit, then a glommio executor built as a
/// shard's is (its rings and registered buffer) and dropped.
pub fn probe_io_uring() -> Result<(), Unavailable> {
    check_syscalls()?;
    check_memlock()?;
    super::uring::probe().map_err(|e| Unavailable {
        detail: format!(
            "io_uring is not usable: creating an executor failed ({e}); {}",
            FALLBACK_HINT
        ),
        reason: format!("creating an io_uring executor: {e}"),
    })
}

const FALLBACK_HINT: &str = "or start with `--runtime epoll` (or `auto`) to run on epoll instead";

/// RLIMIT_MEMLOCK must cover the executors' registered buffers.
fn check_memlock() -> Result<(), Unavailable> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) };
    if rc != 0 || lim.rlim_cur == libc::RLIM_INFINITY || lim.rlim_cur >= MIN_MEMLOCK {
        return Ok(());
    }
    let (have, need) = (lim.rlim_cur / 1024, MIN_MEMLOCK / 1024);
    Err(Unavailable {
        reason: format!("RLIMIT_MEMLOCK is {have} KiB, io_uring needs {need} KiB"),
        detail: format!(
            "locked-memory limit (RLIMIT_MEMLOCK) is {have} KiB; corenats needs at least {need} KiB: \
             raise it with `ulimit -l {need}` or LimitMEMLOCK= in the service unit, {FALLBACK_HINT}"
        ),
    })
}

/// Creates a one-entry ring and enters it once (submitting nothing). Containers with the default seccomp
/// profile block both calls; `kernel.io_uring_disabled` makes the first fail.
fn check_syscalls() -> Result<(), Unavailable> {
    let refused = |call: &str, err: io::Error| {
        Unavailable {
        reason: format!("{call}: {}", strerror(&err)),
        detail: format!(
            "io_uring is not available ({call}: {}): corenats' io_uring runtime needs Linux >= 5.8 with \
             io_uring enabled (containers: allow the io_uring_* syscalls in the seccomp profile; sysctl \
             kernel.io_uring_disabled=0), {FALLBACK_HINT}",
            strerror(&err)
        ),
    }
    };
    // struct io_uring_params, zeroed.
    let mut params = [0u8; 120];
    // SAFETY: io_uring_setup with 1 entry and a zeroed params struct of the kernel's size.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        return Err(refused("io_uring_setup", io::Error::last_os_error()));
    }
    let fd = fd as libc::c_int;
    // SAFETY: io_uring_enter on the ring we just created: nothing to submit, nothing to wait for.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_io_uring_enter,
            fd,
            0u32,
            0u32,
            0u32,
            std::ptr::null::<libc::c_void>(),
            0usize,
        )
    };
    let entered = if rc < 0 {
        Err(refused("io_uring_enter", io::Error::last_os_error()))
    } else {
        Ok(())
    };
    // SAFETY: closing the fd we just created.
    unsafe { libc::close(fd) };
    entered
}

/// The error's text without Rust's ` (os error N)` suffix: `Operation not permitted`.
fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_drops_the_os_error_suffix() {
        let e = io::Error::from_raw_os_error(libc::EPERM);
        assert_eq!(strerror(&e), "Operation not permitted");
        assert_eq!(strerror(&io::Error::other("plain")), "plain");
    }
}
