//! Connection set-up rate: new connections as fast as they go, one after another on each of
//! `parallel` threads, until `conns` were opened or `--time` ran out.
//!
//! Each connection: TCP connect, INFO, TLS handshake (with `--tls`; session resumption off, so
//! every handshake is a full one), CONNECT + PING, PONG, close. The close is a reset
//! ([`Conn::close_reset`]), so no TIME_WAIT sockets pile up. Reports completed connections per
//! second and the connect-to-PONG time of each (HDR, in `latency_us`). Verification: every
//! connection got its PONG (one that does not fails the run) and, with TLS, none was resumed.
//! Without `--tls` it measures plain connection set-up, for reference.

use super::{collect, join, Common};
use crate::report::{new_histogram, record, Handshakes, Latency, Outcome, ThreadClock};
use crate::wire::{fail, Conn, Ctl, Endpoint, Error};
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Receive buffer per connection (it only sees INFO and PONG).
const READ_BUF: usize = 4096;

/// What to run.
#[derive(Debug, Clone)]
pub struct HandshakeSpec {
    /// Connections to open at most (the time limit may stop earlier).
    pub conns: u64,
    /// Threads opening connections at once.
    pub parallel: usize,
}

/// What one opener thread reports.
struct Opened {
    conns: u64,
    /// Connect-to-PONG times in nanoseconds.
    hist: Histogram<u64>,
    end: Instant,
    cpu: f64,
}

/// Runs the handshake scenario.
pub fn run(c: &Common, spec: &HandshakeSpec) -> Outcome {
    let mut out = Outcome::new("handshake", &c.label, 0, c.smoke);
    out.params = serde_json::json!({
        "conns": spec.conns, "parallel": spec.parallel, "time_s": c.time.as_secs_f64(),
    });
    out.measured(|out| run_inner(c, spec, out))
}

/// Returns the highest per-thread CPU fraction.
fn run_inner(c: &Common, spec: &HandshakeSpec, out: &mut Outcome) -> Result<f64, Error> {
    if spec.conns == 0 || spec.parallel == 0 {
        return fail("need at least one connection and one thread");
    }
    let mut ep = c.endpoint.clone();
    ep.tls = ep.tls.map(|t| t.without_resumption());
    let ctl = Ctl::new(c.timeout);
    let tickets = AtomicU64::new(0);
    let start = Instant::now();
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = (0..spec.parallel)
            .map(|_| {
                let (ep, ctl, tickets) = (&ep, &ctl, &tickets);
                s.spawn(move || {
                    let r = opener(ep, spec.conns, tickets, start, c.time, ctl);
                    if r.is_err() {
                        ctl.abort();
                    }
                    r
                })
            })
            .collect();
        handles.into_iter().map(join).collect()
    });
    let opened = collect(results)?;
    let mut hist = new_histogram();
    for o in &opened {
        hist.add(&o.hist)
            .map_err(|e| Error(format!("merging histograms: {e}")))?;
    }
    let conns: u64 = opened.iter().map(|o| o.conns).sum();
    let end = opened.iter().map(|o| o.end).max().unwrap_or(start);
    out.sent = conns;
    out.received = conns;
    out.expected = conns;
    out.set_rates(end.saturating_duration_since(start));
    out.latency_us = Some(Latency::from_ns(&hist));
    out.handshake = Some(Handshakes {
        conns,
        parallel: spec.parallel,
        per_s: out.recv_rate,
    });
    out.params["stopped_by"] = if conns >= spec.conns { "count" } else { "time" }.into();
    Ok(opened.iter().map(|o| o.cpu).fold(0.0, f64::max))
}

/// One thread: opens, checks and closes connections until the shared count or the time is used up.
fn opener(
    ep: &Endpoint,
    conns: u64,
    tickets: &AtomicU64,
    start: Instant,
    time: Duration,
    ctl: &Ctl,
) -> Result<Opened, Error> {
    let clock = ThreadClock::start();
    let mut hist = new_histogram();
    let mut n = 0u64;
    while start.elapsed() < time && tickets.fetch_add(1, Ordering::Relaxed) < conns {
        ctl.check()?;
        let t0 = Instant::now();
        let conn = Conn::connect(ep, "loadgen-handshake", ctl, READ_BUF)
            .map_err(|e| Error(format!("connection {} of a thread: {e}", n + 1)))?;
        let ns = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
        record(&mut hist, ns);
        if conn.tls_resumed() {
            return fail("a TLS session was resumed although resumption is off");
        }
        conn.close_reset();
        n += 1;
    }
    Ok(Opened {
        conns: n,
        hist,
        end: Instant::now(),
        cpu: clock.finish(),
    })
}
