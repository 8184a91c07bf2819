//! Throughput scenarios: P publishers and S subscribers, one thread per connection.
//!
//! One engine serves publish-only (S = 0), 1→1, 1→N fan-out, queue groups and cross-shard
//! traffic (many of both). Publisher `p` publishes to `<prefix>.<p>.<k>` for `k` in
//! `0..subjects` (round robin). Plain subscribers subscribe to the exact subject when there is
//! one publisher and one subject, else to `<prefix>.>`; queue members join group `q` on
//! `<prefix>.>`. Publishers stay at most a window of messages ahead of the subscribers (end to
//! end, through shared counters), so a fast publisher never turns a subscriber into a slow
//! consumer. Verification: plain subscribers must see every publisher's messages complete and
//! in order; queue members together must see every message exactly once.

use super::{collect, first_error, join, run_prefix, warm_across, Common};
use crate::payload;
use crate::report::{Outcome, ThreadClock};
use crate::scan::Msg;
use crate::wire::{fail, Conn, Ctl, Error};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Bytes a publisher batches before one write.
const BATCH_BYTES: usize = 64 * 1024;
/// Bytes a publisher may be ahead of its slowest subscriber (well below max_pending).
const WINDOW_BYTES: usize = 8 * 1024 * 1024;

/// What to run.
#[derive(Debug, Clone)]
pub struct FlowSpec {
    /// Scenario name for the outcome.
    pub scenario: String,
    pub pubs: usize,
    pub subs: usize,
    /// Subscribers form one queue group (exactly-once) instead of each receiving everything.
    pub queue: bool,
    /// Payload bytes (at least 16).
    pub size: usize,
    /// Messages per publisher (upper bound; the time limit may stop earlier).
    pub count: u64,
    /// Distinct subjects per publisher (exercises permission caches).
    pub subjects: usize,
}

/// Counters shared between the threads of one run.
struct Shared {
    /// Messages received so far, per subscriber (updated once per read batch).
    received: Vec<AtomicU64>,
    /// Messages published so far by all publishers (updated once per write batch).
    sent: AtomicU64,
    /// Set by the main thread when every expected message arrived (or the run failed).
    done: AtomicBool,
    queue: bool,
}

impl Shared {
    /// How many messages the subscribers have consumed, in units comparable to `sent`.
    fn progress(&self) -> u64 {
        let it = self.received.iter().map(|r| r.load(Ordering::Relaxed));
        if self.queue {
            it.sum()
        } else {
            it.min().unwrap_or(u64::MAX)
        }
    }
}

/// What a publisher thread reports.
struct PubDone {
    sent: u64,
    end: Instant,
    cpu: f64,
}

/// What a subscriber thread reports.
struct SubDone {
    received: u64,
    last: Option<Instant>,
    /// Queue mode: per publisher, a bitset of message numbers seen.
    seen: Vec<Vec<u64>>,
    cpu: f64,
}

/// Runs one flow scenario.
pub fn run(c: &Common, spec: &FlowSpec) -> Outcome {
    let mut out = Outcome::new(&spec.scenario, &c.label, spec.size, c.smoke);
    out.pubs = spec.pubs;
    out.subs = spec.subs;
    out.params = serde_json::json!({
        "count": spec.count, "time_s": c.time.as_secs_f64(), "subjects": spec.subjects,
        "queue": spec.queue,
    });
    out.measured(|out| run_inner(c, spec, out))
}

/// Returns the highest per-thread CPU fraction.
fn run_inner(c: &Common, spec: &FlowSpec, out: &mut Outcome) -> Result<f64, Error> {
    if spec.pubs == 0 || spec.size < payload::MIN_SIZE || spec.subjects == 0 {
        return fail("need at least one publisher, one subject and a payload of 16 bytes or more");
    }
    let ctl = Ctl::new(c.timeout);
    let prefix = run_prefix();
    let sub_subject = if spec.pubs == 1 && spec.subjects == 1 {
        format!("{prefix}.0.0")
    } else {
        format!("{prefix}.>")
    };
    let read_buf = (spec.size * 4).max(256 * 1024);
    let mut subs = Vec::with_capacity(spec.subs);
    for i in 0..spec.subs {
        let mut conn = Conn::connect(
            c.sub_endpoint(),
            &format!("loadgen-sub-{i}"),
            &ctl,
            read_buf,
        )?;
        conn.sub(&sub_subject, spec.queue.then_some("q"), 1);
        conn.sync(|_, _| fail("message before publishing started"))?;
        subs.push(conn);
    }
    let mut pubs = Vec::with_capacity(spec.pubs);
    for i in 0..spec.pubs {
        pubs.push(Conn::connect(
            &c.endpoint,
            &format!("loadgen-pub-{i}"),
            &ctl,
            64 * 1024,
        )?);
    }
    if c.sub_endpoint.is_some() {
        // Subscribers on another server: their interest must have crossed before publishing.
        for sub in subs.iter_mut() {
            warm_across(&mut pubs[0], sub, &format!("{prefix}w"))?;
        }
    }
    let shared = Shared {
        received: (0..spec.subs).map(|_| AtomicU64::new(0)).collect(),
        sent: AtomicU64::new(0),
        done: AtomicBool::new(false),
        queue: spec.queue,
    };
    let window = (WINDOW_BYTES / (spec.size + 48)).max(256) as u64;
    let start = Instant::now();
    let (pub_res, sub_res) = std::thread::scope(|s| {
        let sub_handles: Vec<_> = subs
            .into_iter()
            .enumerate()
            .map(|(i, conn)| {
                let (shared, ctl) = (&shared, ctl.clone());
                s.spawn(move || guard(&ctl, subscriber(conn, i, spec, shared, &ctl)))
            })
            .collect();
        let pub_handles: Vec<_> = pubs
            .into_iter()
            .enumerate()
            .map(|(i, conn)| {
                let (shared, ctl, prefix) = (&shared, ctl.clone(), prefix.clone());
                let time = c.time;
                s.spawn(move || {
                    let r = publisher(conn, i, &prefix, spec, shared, &ctl, window, start, time);
                    guard(&ctl, r)
                })
            })
            .collect();
        let pub_res = collect(pub_handles.into_iter().map(join).collect());
        let waited = match &pub_res {
            Ok(done) => wait_for_delivery(&shared, spec, done, &ctl),
            Err(e) => Err(e.clone()),
        };
        shared.done.store(true, Ordering::Relaxed);
        if waited.is_err() {
            ctl.abort();
        }
        let sub_res = collect(sub_handles.into_iter().map(join).collect());
        (pub_res.and_then(|p| waited.map(|_| p)), sub_res)
    });
    let sub_err = sub_res.as_ref().err();
    if let Some(e) = first_error([pub_res.as_ref().err(), sub_err]) {
        return Err(e);
    }
    let (pubs_done, subs_done) = (pub_res?, sub_res?);
    let sent_per_pub: Vec<u64> = pubs_done.iter().map(|p| p.sent).collect();
    out.sent = sent_per_pub.iter().sum();
    out.expected = if spec.queue {
        out.sent
    } else {
        out.sent * spec.subs as u64
    };
    out.received = subs_done.iter().map(|s| s.received).sum();
    let end = subs_done
        .iter()
        .filter_map(|s| s.last)
        .chain(pubs_done.iter().map(|p| p.end))
        .max()
        .unwrap_or(start);
    out.set_rates(end.saturating_duration_since(start));
    out.params["stopped_by"] = if out.sent == spec.count * spec.pubs as u64 {
        "count"
    } else {
        "time"
    }
    .into();
    verify(spec, &sent_per_pub, &subs_done, out)?;
    let cpus = pubs_done
        .iter()
        .map(|p| p.cpu)
        .chain(subs_done.iter().map(|s| s.cpu));
    Ok(cpus.fold(0.0, f64::max))
}

/// Aborts the other threads when this one failed.
fn guard<T>(ctl: &Ctl, r: Result<T, Error>) -> Result<T, Error> {
    if r.is_err() {
        ctl.abort();
    }
    r
}

/// Main thread: after the publishers finished, waits until every expected message arrived.
fn wait_for_delivery(
    shared: &Shared,
    spec: &FlowSpec,
    pubs: &[PubDone],
    ctl: &Ctl,
) -> Result<(), Error> {
    let sent: u64 = pubs.iter().map(|p| p.sent).sum();
    if spec.subs == 0 {
        return Ok(());
    }
    loop {
        if shared.progress() >= sent {
            return Ok(());
        }
        if let Err(e) = ctl.check() {
            let got: Vec<u64> = shared
                .received
                .iter()
                .map(|r| r.load(Ordering::Relaxed))
                .collect();
            return fail(format!(
                "{e}: waiting for delivery of {sent} messages, subscribers have {got:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Final count checks.
fn verify(spec: &FlowSpec, sent: &[u64], subs: &[SubDone], out: &mut Outcome) -> Result<(), Error> {
    let total: u64 = sent.iter().sum();
    if !spec.queue {
        for (i, s) in subs.iter().enumerate() {
            if s.received != total {
                return fail(format!("subscriber {i} received {} of {total}", s.received));
            }
        }
        return Ok(());
    }
    for (p, &n) in sent.iter().enumerate() {
        let words = n.div_ceil(64) as usize;
        let mut union = vec![0u64; words];
        for s in subs {
            for (w, &bits) in s.seen.get(p).map_or(&[][..], |v| &v[..]).iter().enumerate() {
                let Some(u) = union.get_mut(w) else {
                    return fail(format!(
                        "queue member got a message number beyond {n} from publisher {p}"
                    ));
                };
                if *u & bits != 0 {
                    return fail(format!(
                        "queue group: publisher {p} message delivered to two members"
                    ));
                }
                *u |= bits;
            }
        }
        let got: u64 = union.iter().map(|w| u64::from(w.count_ones())).sum();
        if got != n {
            return fail(format!(
                "queue group: publisher {p} sent {n}, members received {got} distinct"
            ));
        }
    }
    if out.received != total {
        return fail(format!("queue group received {} of {total}", out.received));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn publisher(
    mut conn: Conn,
    index: usize,
    prefix: &str,
    spec: &FlowSpec,
    shared: &Shared,
    ctl: &Ctl,
    window: u64,
    start: Instant,
    time: Duration,
) -> Result<PubDone, Error> {
    let clock = ThreadClock::start();
    let headers: Vec<Vec<u8>> = (0..spec.subjects)
        .map(|k| format!("PUB {prefix}.{index}.{k} {}\r\n", spec.size).into_bytes())
        .collect();
    let template = payload::template(spec.size);
    conn.out.reserve(BATCH_BYTES + spec.size + 128);
    let no_msgs = |_: &Msg<'_>, _: &mut Vec<u8>| fail("publisher received a message");
    let mut n = 0u64;
    let mut k = 0usize;
    while n < spec.count && start.elapsed() < time {
        ctl.check()?;
        if spec.subs > 0 {
            while shared
                .sent
                .load(Ordering::Relaxed)
                .saturating_sub(shared.progress())
                >= window
            {
                conn.poll_nowait(no_msgs)?;
                ctl.check()?;
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        let mut batch = 0u64;
        while conn.out.len() < BATCH_BYTES && n < spec.count {
            conn.out.extend_from_slice(&headers[k]);
            let at = conn.out.len();
            conn.out.extend_from_slice(&template);
            payload::stamp(&mut conn.out[at..], payload::seq_of(index, n), 0);
            conn.out.extend_from_slice(b"\r\n");
            k = if k + 1 == headers.len() { 0 } else { k + 1 };
            n += 1;
            batch += 1;
        }
        conn.flush()?;
        shared.sent.fetch_add(batch, Ordering::Relaxed);
        conn.poll_nowait(no_msgs)?;
    }
    conn.sync(no_msgs)?;
    Ok(PubDone {
        sent: n,
        end: Instant::now(),
        cpu: clock.finish(),
    })
}

fn subscriber(
    mut conn: Conn,
    index: usize,
    spec: &FlowSpec,
    shared: &Shared,
    ctl: &Ctl,
) -> Result<SubDone, Error> {
    let clock = ThreadClock::start();
    let pubs = spec.pubs;
    let queue = spec.queue;
    // Plain: next message number expected from each publisher. Queue: last seen + 1.
    let mut next = vec![0u64; pubs];
    let mut seen: Vec<Vec<u64>> = if queue {
        vec![Vec::new(); pubs]
    } else {
        Vec::new()
    };
    let mut received = 0u64;
    let mut last = None;
    while !shared.done.load(Ordering::Relaxed) {
        let got = conn.poll(|m, _| {
            let Some((seq, _)) = payload::read(m.payload) else {
                return fail(format!("payload of {} bytes is too short", m.payload.len()));
            };
            let (p, n) = payload::split_seq(seq);
            let Some(want) = next.get_mut(p) else {
                return fail(format!("message from unknown publisher {p}"));
            };
            if queue {
                if n < *want {
                    return fail(format!(
                        "queue member {index}: publisher {p} message {n} out of order"
                    ));
                }
                let bits = &mut seen[p];
                let w = (n / 64) as usize;
                if bits.len() <= w {
                    bits.resize(w + 1, 0);
                }
                bits[w] |= 1 << (n % 64);
            } else if n != *want {
                return fail(format!(
                    "subscriber {index}: publisher {p} expected message {want}, got {n}"
                ));
            }
            *want = n + 1;
            received += 1;
            Ok(())
        })?;
        if got > 0 {
            shared.received[index].store(received, Ordering::Relaxed);
            last = Some(Instant::now());
        }
        ctl.check()?;
    }
    Ok(SubDone {
        received,
        last,
        seen,
        cpu: clock.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(queue: bool) -> FlowSpec {
        FlowSpec {
            scenario: "t".into(),
            pubs: 1,
            subs: 2,
            queue,
            size: 16,
            count: 100,
            subjects: 1,
        }
    }

    fn member(received: u64, seen: Vec<u64>) -> SubDone {
        SubDone {
            received,
            last: None,
            seen: vec![seen],
            cpu: 0.0,
        }
    }

    #[test]
    fn queue_exactly_once_passes() {
        let mut out = Outcome::new("t", "", 16, true);
        out.received = 70;
        // 70 messages: member 0 has 0..64, member 1 has 64..70.
        let subs = [member(64, vec![u64::MAX]), member(6, vec![0, 0b11_1111])];
        assert!(verify(&spec(true), &[70], &subs, &mut out).is_ok());
    }

    #[test]
    fn queue_duplicate_and_loss_fail() {
        let mut out = Outcome::new("t", "", 16, true);
        out.received = 70;
        let dup = [member(64, vec![u64::MAX]), member(6, vec![1, 0b1_1111])];
        let e = verify(&spec(true), &[70], &dup, &mut out).unwrap_err();
        assert!(e.0.contains("two members"), "{e}");
        let lost = [
            member(63, vec![u64::MAX >> 1]),
            member(6, vec![0, 0b11_1111]),
        ];
        let e = verify(&spec(true), &[70], &lost, &mut out).unwrap_err();
        assert!(e.0.contains("69 distinct"), "{e}");
        let beyond = [member(1, vec![0, 0, 1]), member(0, vec![])];
        assert!(verify(&spec(true), &[70], &beyond, &mut out).is_err());
    }

    #[test]
    fn plain_subscriber_short_fails() {
        let mut out = Outcome::new("t", "", 16, true);
        let subs = [member(70, vec![]), member(69, vec![])];
        let e = verify(&spec(false), &[70], &subs, &mut out).unwrap_err();
        assert!(e.0.contains("subscriber 1 received 69 of 70"), "{e}");
    }
}
