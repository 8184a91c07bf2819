//! io_uring really blocked, as a container's default seccomp profile blocks it: a `pre_exec` hook that
//! installs a seccomp filter in the child before it runs the binary, making `io_uring_setup`,
//! `io_uring_enter` and `io_uring_register` fail with EPERM (every other system call is allowed) — or,
//! to prove a process never calls them, kill it if it does.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::process::Command;

// Classic BPF opcodes (linux/filter.h, linux/bpf_common.h) and seccomp return values (linux/seccomp.h).
/// BPF_LD | BPF_W | BPF_ABS: load the 32-bit word at offset k of `struct seccomp_data`.
const BPF_LD_W_ABS: u16 = 0x20;
/// BPF_JMP | BPF_JEQ | BPF_K: jump by jt if the word equals k, else by jf.
const BPF_JMP_JEQ_K: u16 = 0x15;
/// BPF_RET | BPF_K: return k.
const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
/// `offsetof(struct seccomp_data, nr)` and `arch`.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

/// The native `AUDIT_ARCH_*` (linux/audit.h): system calls of another ABI are let through unfiltered.
#[cfg(target_arch = "x86_64")]
const NATIVE_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const NATIVE_ARCH: u32 = 0xc000_00b7;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jeq(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: BPF_JMP_JEQ_K,
        jt,
        jf,
        k,
    }
}

/// What the child's io_uring system calls get.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IoUring {
    /// No filter.
    #[default]
    Allowed,
    /// They fail with EPERM, as under Docker's default profile.
    Blocked,
    /// The first one kills the process (SIGSYS).
    Fatal,
}

/// The filter: another architecture → allow; io_uring_{setup,enter,register} → `refusal`; else allow.
fn program(refusal: u32) -> [libc::sock_filter; 8] {
    [
        stmt(BPF_LD_W_ABS, OFFSET_ARCH),
        jeq(NATIVE_ARCH, 0, 4),
        stmt(BPF_LD_W_ABS, OFFSET_NR),
        jeq(libc::SYS_io_uring_setup as u32, 3, 0),
        jeq(libc::SYS_io_uring_enter as u32, 2, 0),
        jeq(libc::SYS_io_uring_register as u32, 1, 0),
        stmt(BPF_RET_K, SECCOMP_RET_ALLOW),
        stmt(BPF_RET_K, refusal),
    ]
}

/// Makes the child of `cmd` run with io_uring blocked (EPERM), as under Docker's default profile.
pub fn block_io_uring(cmd: &mut Command) {
    restrict(cmd, IoUring::Blocked);
}

/// Applies `mode` to the child of `cmd` (nothing for [`IoUring::Allowed`]).
pub fn restrict(cmd: &mut Command, mode: IoUring) {
    let refusal = match mode {
        IoUring::Allowed => return,
        IoUring::Blocked => SECCOMP_RET_ERRNO | libc::EPERM as u32,
        IoUring::Fatal => SECCOMP_RET_KILL_PROCESS,
    };
    let filter = program(refusal);
    // SAFETY: the hook runs in the forked child before exec and only makes two system calls (no
    // allocation, no locks); the filter lives in the closure, which outlives the calls.
    unsafe {
        cmd.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            // Unprivileged processes may install a filter only with no_new_privs set.
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let flags: libc::c_ulong = 0;
            let rc = libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                flags,
                &prog as *const libc::sock_fprog,
            );
            if rc != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
