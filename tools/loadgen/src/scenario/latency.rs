//! One-way latency at a fixed publish rate.
//!
//! One publisher sends `rate` messages per second (each written at once, stamped with its
//! send time just before the write); one subscriber records receive time minus send time in
//! an HDR histogram. When the publisher falls behind schedule it catches up without sleeping,
//! and the achieved rate is reported. Verification: every message received, in order.

use super::{first_error, join, run_prefix, Common};
use crate::payload;
use crate::report::{new_histogram, record, Latency, Outcome, ThreadClock};
use crate::scan::Msg;
use crate::wire::{fail, Conn, Ctl, Error};
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone)]
pub struct LatencySpec {
    pub size: usize,
    /// Messages at most (the time limit may stop earlier).
    pub count: u64,
    /// Messages per second.
    pub rate: u64,
}

/// Runs one fixed-rate latency scenario.
pub fn run(c: &Common, spec: &LatencySpec) -> Outcome {
    let mut out = Outcome::new("latency", &c.label, spec.size, c.smoke);
    out.pubs = 1;
    out.subs = 1;
    out.params = serde_json::json!({ "rate": spec.rate, "count": spec.count, "time_s": c.time.as_secs_f64() });
    out.measured(|out| run_inner(c, spec, out))
}

fn run_inner(c: &Common, spec: &LatencySpec, out: &mut Outcome) -> Result<f64, Error> {
    if spec.size < payload::MIN_SIZE || spec.rate == 0 {
        return fail("need a payload of 16 bytes or more and a rate above 0");
    }
    let ctl = Ctl::new(c.timeout);
    let subject = format!("{}.lat", run_prefix());
    let mut sub = Conn::connect(
        &c.endpoint,
        "loadgen-lat-sub",
        &ctl,
        (spec.size * 4).max(64 * 1024),
    )?;
    sub.sub(&subject, None, 1);
    sub.sync(|_, _| fail("message before start"))?;
    let publ = Conn::connect(&c.endpoint, "loadgen-lat-pub", &ctl, 64 * 1024)?;
    let received = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let start = Instant::now();
    let (p, s) = std::thread::scope(|sc| {
        let s = sc.spawn(|| subscriber(sub, &received, &done, &ctl));
        let p = sc.spawn(|| publisher(publ, &subject, spec, c.time, start, &ctl));
        let p = join(p);
        let waited = match &p {
            Ok(pd) => wait_all(&received, pd.sent, &ctl),
            Err(e) => Err(e.clone()),
        };
        if waited.is_err() {
            ctl.abort();
        }
        done.store(true, Ordering::Relaxed);
        (p.and_then(|p| waited.map(|_| p)), join(s))
    });
    if let Some(e) = first_error([p.as_ref().err(), s.as_ref().err()]) {
        return Err(e);
    }
    let (p, (hist, sub_cpu, last)) = (p?, s?);
    out.sent = p.sent;
    out.expected = p.sent;
    out.received = hist.len();
    if out.received != out.sent {
        return fail(format!("received {} of {}", out.received, out.sent));
    }
    out.set_rates(
        last.unwrap_or(p.end)
            .max(p.end)
            .saturating_duration_since(start),
    );
    out.latency_us = Some(Latency::from_ns(&hist));
    out.params["achieved_rate"] = (p.sent as f64
        / p.end
            .saturating_duration_since(start)
            .as_secs_f64()
            .max(1e-9))
    .into();
    Ok(p.cpu.max(sub_cpu))
}

fn wait_all(received: &AtomicU64, sent: u64, ctl: &Ctl) -> Result<(), Error> {
    while received.load(Ordering::Relaxed) < sent {
        if let Err(e) = ctl.check() {
            return fail(format!(
                "{e}: received {} of {sent}",
                received.load(Ordering::Relaxed)
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

struct PubDone {
    sent: u64,
    end: Instant,
    cpu: f64,
}

fn publisher(
    mut conn: Conn,
    subject: &str,
    spec: &LatencySpec,
    time: Duration,
    start: Instant,
    ctl: &Ctl,
) -> Result<PubDone, Error> {
    let clock = ThreadClock::start();
    // Ask for precise sleeps (default timer slack is 50 us). Failure only costs precision.
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and affects only this thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
    let header = format!("PUB {subject} {}\r\n", spec.size).into_bytes();
    let template = payload::template(spec.size);
    let interval_ns = 1_000_000_000 / spec.rate.max(1);
    let no_msgs = |_: &Msg<'_>, _: &mut Vec<u8>| fail("publisher received a message");
    let mut n = 0u64;
    while n < spec.count && start.elapsed() < time {
        ctl.check()?;
        let due = start + Duration::from_nanos(n.saturating_mul(interval_ns));
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        conn.out.extend_from_slice(&header);
        let at = conn.out.len();
        conn.out.extend_from_slice(&template);
        payload::stamp(&mut conn.out[at..], n, payload::now_ns());
        conn.out.extend_from_slice(b"\r\n");
        conn.flush()?;
        n += 1;
        if n.is_multiple_of(64) {
            conn.poll_nowait(no_msgs)?;
        }
    }
    conn.sync(no_msgs)?;
    Ok(PubDone {
        sent: n,
        end: Instant::now(),
        cpu: clock.finish(),
    })
}

type SubDone = (Histogram<u64>, f64, Option<Instant>);

fn subscriber(
    mut conn: Conn,
    received: &AtomicU64,
    done: &AtomicBool,
    ctl: &Ctl,
) -> Result<SubDone, Error> {
    let clock = ThreadClock::start();
    let mut hist = new_histogram();
    let mut next = 0u64;
    let mut last = None;
    while !done.load(Ordering::Relaxed) {
        let got = conn.poll(|m, _| {
            let now = payload::now_ns();
            let Some((seq, ts)) = payload::read(m.payload) else {
                return fail("payload too short");
            };
            if seq != next {
                return fail(format!("expected message {next}, got {seq}"));
            }
            next += 1;
            record(&mut hist, now.saturating_sub(ts));
            Ok(())
        });
        match got {
            Ok(n) if n > 0 => {
                received.store(next, Ordering::Relaxed);
                last = Some(Instant::now());
            }
            Ok(_) => {}
            Err(e) => {
                ctl.abort();
                return Err(e);
            }
        }
    }
    Ok((hist, clock.finish(), last))
}
