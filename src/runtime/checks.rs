//! Start-up checks that glommio would otherwise report with misleading messages.

/// glommio registers a small io_uring buffer per executor; it needs locked memory.
pub const MIN_MEMLOCK: u64 = 512 * 1024;

/// Fails with a clear message when RLIMIT_MEMLOCK is below what the executors need.
pub fn check_memlock() -> Result<(), String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) };
    if rc != 0 {
        return Ok(());
    }
    if lim.rlim_cur != libc::RLIM_INFINITY && lim.rlim_cur < MIN_MEMLOCK {
        return Err(format!(
            "locked-memory limit (RLIMIT_MEMLOCK) is {} KiB; corenats needs at least {} KiB: \
             raise it with `ulimit -l {}` or LimitMEMLOCK= in the service unit",
            lim.rlim_cur / 1024,
            MIN_MEMLOCK / 1024,
            MIN_MEMLOCK / 1024
        ));
    }
    Ok(())
}

/// Probes io_uring_setup(2); containers with the default seccomp profile block it.
pub fn check_io_uring() -> Result<(), String> {
    let mut params = [0u8; 120]; // struct io_uring_params
                                 // SAFETY: io_uring_setup with 1 entry and a zeroed params struct of the kernel's size.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        return Err(format!(
            "io_uring is not available ({err}): corenats needs Linux >= 5.8 with io_uring enabled \
             (containers: allow the io_uring_* syscalls in the seccomp profile; sysctl kernel.io_uring_disabled=0)"
        ));
    }
    // SAFETY: closing the fd we just created.
    unsafe { libc::close(fd as i32) };
    Ok(())
}
