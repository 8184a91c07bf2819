//! Many idle connections: how much server memory each one costs.
//!
//! Raises RLIMIT_NOFILE, reads the server's RSS (`--server-pid`), opens `conns` connections
//! one after another (each fully handshaken: INFO, CONNECT, PING/PONG), holds them, then
//! checks every one is still alive with a PING/PONG round and reads the RSS again.
//! Bytes per connection = RSS growth / connections. Verification: all connections alive.

use super::Common;
use crate::report::{Idle, Outcome, ProcessClock};
use crate::sys;
use crate::wire::{fail, Conn, Ctl, Error};
use std::time::{Duration, Instant};

/// Receive buffer per idle connection (they only ever see INFO, PING and PONG).
const IDLE_READ_BUF: usize = 4096;
/// File descriptors kept free for everything else.
const FD_MARGIN: u64 = 128;

/// What to run.
#[derive(Debug, Clone)]
pub struct IdleSpec {
    pub conns: usize,
    /// Server process to read VmRSS from.
    pub server_pid: Option<u32>,
    /// How long to hold the connections before measuring.
    pub hold: Duration,
}

/// Runs the idle-connection scenario.
pub fn run(c: &Common, spec: &IdleSpec) -> Outcome {
    let mut out = Outcome::new("idle", &c.label, 0, c.smoke);
    out.params = serde_json::json!({ "conns": spec.conns, "hold_s": spec.hold.as_secs_f64() });
    let clock = ProcessClock::start();
    if let Err(e) = run_inner(c, spec, &mut out) {
        out.failed(e.0);
    }
    out.cpu = Some(clock.finish(0.0));
    if let Some(cpu) = &mut out.cpu {
        // Single-threaded: the process figure is the thread figure.
        cpu.max_thread = cpu.process;
        cpu.warning = false;
    }
    out
}

fn run_inner(c: &Common, spec: &IdleSpec, out: &mut Outcome) -> Result<(), Error> {
    let want = spec.conns as u64 + FD_MARGIN;
    let limit = sys::raise_nofile(want).map_err(Error)?;
    if limit < want {
        return fail(format!(
            "RLIMIT_NOFILE is {limit}, need {want} for {} connections (raise the hard limit)",
            spec.conns
        ));
    }
    let ctl = Ctl::new(c.timeout);
    let rss = || spec.server_pid.and_then(sys::rss_bytes);
    let rss_before = rss();
    if spec.server_pid.is_some() && rss_before.is_none() {
        return fail("cannot read the server's VmRSS from /proc (wrong --server-pid?)");
    }
    let started = Instant::now();
    let mut conns = Vec::with_capacity(spec.conns);
    for i in 0..spec.conns {
        let conn = Conn::connect(&c.endpoint, "loadgen-idle", &ctl, IDLE_READ_BUF)
            .map_err(|e| Error(format!("connection {i} of {}: {e}", spec.conns)))?;
        conns.push(conn);
    }
    let connect_s = started.elapsed().as_secs_f64();
    let hold_until = Instant::now() + spec.hold;
    while Instant::now() < hold_until {
        ctl.check()?;
        std::thread::sleep(
            Duration::from_millis(20).min(hold_until.saturating_duration_since(Instant::now())),
        );
    }
    // Every connection must still answer (server PINGs seen on the way are answered).
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.sync(|_, _| fail("idle connection received a message"))
            .map_err(|e| Error(format!("connection {i} not alive: {e}")))?;
    }
    let rss_after = rss();
    out.received = conns.len() as u64;
    out.expected = spec.conns as u64;
    let bytes_per_conn = match (rss_before, rss_after) {
        (Some(a), Some(b)) if spec.conns > 0 => Some((b as f64 - a as f64) / spec.conns as f64),
        _ => None,
    };
    out.idle = Some(Idle {
        conns: spec.conns,
        rss_before,
        rss_after,
        bytes_per_conn,
        connect_s,
    });
    Ok(())
}
