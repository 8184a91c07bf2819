//! Request/reply round-trip latency with a fixed number of requests in flight.
//!
//! A responder connection subscribes to `<prefix>.svc` and echoes every request's payload to
//! its reply subject. The requester subscribes to `<prefix>.inbox`, keeps `inflight`
//! requests outstanding, stamps each with its send time and records the round trip in an
//! HDR histogram. Verification: every request answered exactly once.

use super::{first_error, join, run_prefix, warm_across, Common};
use crate::payload;
use crate::report::{new_histogram, record, Latency, Outcome, ThreadClock};
use crate::wire::{fail, Conn, Ctl, Error};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone)]
pub struct ReqRepSpec {
    pub size: usize,
    /// Requests to send at most (the time limit may stop earlier).
    pub count: u64,
    /// Requests outstanding at once (1 = strict ping-pong).
    pub inflight: u64,
}

/// Runs one request/reply scenario.
pub fn run(c: &Common, spec: &ReqRepSpec) -> Outcome {
    let mut out = Outcome::new("reqrep", &c.label, spec.size, c.smoke);
    out.pubs = 1;
    out.subs = 1;
    out.params = serde_json::json!({
        "inflight": spec.inflight, "count": spec.count, "time_s": c.time.as_secs_f64(),
    });
    out.measured(|out| run_inner(c, spec, out))
}

fn run_inner(c: &Common, spec: &ReqRepSpec, out: &mut Outcome) -> Result<f64, Error> {
    if spec.size < payload::MIN_SIZE || spec.inflight == 0 {
        return fail("need a payload of 16 bytes or more and at least one request in flight");
    }
    let ctl = Ctl::new(c.timeout);
    let prefix = run_prefix();
    let read_buf = (spec.size * 4).max(256 * 1024);
    let mut responder = Conn::connect(c.sub_endpoint(), "loadgen-responder", &ctl, read_buf)?;
    responder.sub(&format!("{prefix}.svc"), None, 1);
    responder.sync(|_, _| fail("message before start"))?;
    let mut requester = Conn::connect(&c.endpoint, "loadgen-requester", &ctl, read_buf)?;
    requester.sub(&format!("{prefix}.inbox"), None, 1);
    requester.sync(|_, _| fail("message before start"))?;
    if c.sub_endpoint.is_some() {
        // Responder on another server: each side's interest must have crossed to the other.
        warm_across(&mut requester, &mut responder, &format!("{prefix}w1"))?;
        warm_across(&mut responder, &mut requester, &format!("{prefix}w2"))?;
    }
    let done = AtomicBool::new(false);
    let start = Instant::now();
    let (req, resp) = std::thread::scope(|s| {
        let resp = s.spawn(|| respond(responder, &done, &ctl));
        let req = s.spawn(|| request(requester, &prefix, spec, c, start));
        let req = join(req);
        if req.is_err() {
            ctl.abort();
        }
        done.store(true, Ordering::Relaxed);
        (req, join(resp))
    });
    if let Some(e) = first_error([req.as_ref().err(), resp.as_ref().err()]) {
        return Err(e);
    }
    let (req, resp_cpu) = (req?, resp?);
    out.sent = req.sent;
    out.received = req.received;
    out.expected = req.sent;
    out.set_rates(req.elapsed);
    out.latency_us = Some(req.latency);
    out.params["stopped_by"] = if req.sent == spec.count {
        "count"
    } else {
        "time"
    }
    .into();
    Ok(req.cpu.max(resp_cpu))
}

/// Echoes requests until `done`; returns its CPU fraction.
fn respond(mut conn: Conn, done: &AtomicBool, ctl: &Ctl) -> Result<f64, Error> {
    let clock = ThreadClock::start();
    while !done.load(Ordering::Relaxed) {
        let r = conn.poll(|m, out| {
            let Some(reply) = m.reply else {
                return fail("request without a reply subject");
            };
            out.extend_from_slice(b"PUB ");
            out.extend_from_slice(reply);
            out.push(b' ');
            push_decimal(out, m.payload.len());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(m.payload);
            out.extend_from_slice(b"\r\n");
            Ok(())
        });
        if let Err(e) = r {
            ctl.abort();
            return Err(e);
        }
        conn.flush()?;
    }
    Ok(clock.finish())
}

struct ReqDone {
    sent: u64,
    received: u64,
    elapsed: std::time::Duration,
    latency: Latency,
    cpu: f64,
}

fn request(
    mut conn: Conn,
    prefix: &str,
    spec: &ReqRepSpec,
    c: &Common,
    start: Instant,
) -> Result<ReqDone, Error> {
    let clock = ThreadClock::start();
    let header = format!("PUB {prefix}.svc {prefix}.inbox {}\r\n", spec.size).into_bytes();
    let template = payload::template(spec.size);
    let mut hist = new_histogram();
    let mut answered: Vec<u64> = Vec::new();
    let (mut sent, mut received) = (0u64, 0u64);
    let mut last = start;
    loop {
        let sending = sent < spec.count && start.elapsed() < c.time;
        while sending && sent - received < spec.inflight && sent < spec.count {
            conn.out.extend_from_slice(&header);
            let at = conn.out.len();
            conn.out.extend_from_slice(&template);
            payload::stamp(&mut conn.out[at..], sent, payload::now_ns());
            conn.out.extend_from_slice(b"\r\n");
            sent += 1;
        }
        conn.flush()?;
        if !sending && received == sent {
            break;
        }
        let got = conn.poll(|m, _| {
            let now = payload::now_ns();
            let Some((seq, ts)) = payload::read(m.payload) else {
                return fail("reply payload too short");
            };
            if seq >= sent {
                return fail(format!("reply to request {seq} that was never sent"));
            }
            let w = (seq / 64) as usize;
            if answered.len() <= w {
                answered.resize(w + 1, 0);
            }
            if answered[w] & (1 << (seq % 64)) != 0 {
                return fail(format!("request {seq} answered twice"));
            }
            answered[w] |= 1 << (seq % 64);
            record(&mut hist, now.saturating_sub(ts));
            received += 1;
            Ok(())
        });
        match got {
            Ok(n) if n > 0 => last = Instant::now(),
            Ok(_) => {}
            Err(e) => {
                return Err(Error(format!(
                    "{e} ({received} of {sent} replies received)"
                )))
            }
        }
    }
    Ok(ReqDone {
        sent,
        received,
        elapsed: last.saturating_duration_since(start),
        latency: Latency::from_ns(&hist),
        cpu: clock.finish(),
    })
}

/// Appends `n` in decimal without formatting machinery.
pub fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal() {
        for n in [0usize, 7, 10, 65536, usize::MAX] {
            let mut v = Vec::new();
            super::push_decimal(&mut v, n);
            assert_eq!(v, n.to_string().into_bytes());
        }
    }
}
