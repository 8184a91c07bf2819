//! The scenarios. Each takes the [`Common`] settings plus its own parameters and returns an
//! [`Outcome`](crate::report::Outcome); none panics or hangs: failures (lost, duplicated or
//! reordered messages, `-ERR`, closed connections, the hard timeout) end up in the outcome.

pub mod flow;
pub mod handshake;
pub mod idle;
pub mod latency;
pub mod reqrep;

use crate::wire::{fail, Conn};
use crate::wire::{Endpoint, Error, ABORTED};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Settings shared by every scenario.
#[derive(Debug, Clone)]
pub struct Common {
    pub endpoint: Endpoint,
    /// Where subscribers and responders connect, when not `endpoint` (`--sub-server`): the
    /// scenario then waits until their interest has crossed to `endpoint`'s server ([`warm_across`]).
    pub sub_endpoint: Option<Endpoint>,
    /// Copied into every outcome (the comparison script passes the server's name).
    pub label: String,
    /// Tiny counts for CI; the outcome says so.
    pub smoke: bool,
    /// Hard limit for one scenario run, connection setup and draining included.
    pub timeout: Duration,
    /// Publishing stops after this long even if the message count is not reached.
    pub time: Duration,
}

impl Common {
    /// The endpoint subscribers and responders use.
    pub fn sub_endpoint(&self) -> &Endpoint {
        self.sub_endpoint.as_ref().unwrap_or(&self.endpoint)
    }
}

/// The sid of the warm-up subscription ([`warm_across`]); scenarios use small sids.
const WARM_SID: u64 = 999_999;
/// Warm-up rounds (about 5 ms each) before giving up.
const WARM_TRIES: usize = 2_000;

/// When `sub` is on another server than `publ` (a cluster, a leaf link), waits until the interest
/// `sub` registered so far has reached `publ`'s server: `sub` subscribes `<prefix>.warm` after its
/// real subscriptions (interest crosses a link in order), `publ` publishes there until `sub` gets
/// one, then `sub` unsubscribes and drains what was still on its way. Bounded by `ctl`'s deadline.
pub fn warm_across(publ: &mut Conn, sub: &mut Conn, prefix: &str) -> Result<(), Error> {
    let subject = format!("{prefix}.warm");
    sub.sub(&subject, None, WARM_SID);
    sub.sync(|_, _| fail("message before warm-up"))?;
    let mut got = false;
    for _ in 0..WARM_TRIES {
        if got {
            break;
        }
        publ.out
            .extend_from_slice(format!("PUB {subject} 4\r\nwarm\r\n").as_bytes());
        publ.sync(|_, _| Ok(()))?;
        std::thread::sleep(std::time::Duration::from_millis(5));
        sub.poll_nowait(|m, _| {
            got |= m.subject == subject.as_bytes();
            Ok(())
        })?;
    }
    if !got {
        return fail("the subscribers' interest never reached the publishing server");
    }
    sub.out
        .extend_from_slice(format!("UNSUB {WARM_SID}\r\n").as_bytes());
    // After the UNSUB is processed nothing more arrives for it; earlier copies are dropped here.
    sub.sync(|m, _| {
        if m.subject == subject.as_bytes() {
            Ok(())
        } else {
            fail("message before publishing started")
        }
    })
}

/// A subject prefix unique to this process and run (`lg.<pid>x<n>`), so runs never see
/// each other's traffic.
pub fn run_prefix() -> String {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    format!("lg.{}x{n}", std::process::id())
}

/// The values of a set of thread results, or the most telling error ([`first_error`]).
pub fn collect<T>(results: Vec<Result<T, Error>>) -> Result<Vec<T>, Error> {
    if let Some(e) = first_error(results.iter().map(|r| r.as_ref().err())) {
        return Err(e);
    }
    results.into_iter().collect()
}

/// Joins a scoped thread; a panicking thread becomes an error instead of a panic.
pub fn join<T>(h: std::thread::ScopedJoinHandle<'_, Result<T, Error>>) -> Result<T, Error> {
    h.join()
        .unwrap_or_else(|_| Err(Error("worker thread panicked".into())))
}

/// Of several thread results, the most telling failure: the first error that is not just
/// "another thread failed", else the first error. `None` when all succeeded.
pub fn first_error<'a>(errors: impl IntoIterator<Item = Option<&'a Error>>) -> Option<Error> {
    let errors: Vec<&Error> = errors.into_iter().flatten().collect();
    errors
        .iter()
        .find(|e| !e.0.contains(ABORTED))
        .or(errors.first())
        .map(|e| (*e).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_error_wins_over_abort() {
        let a = Error(ABORTED.into());
        let b = Error("lost 3".into());
        assert_eq!(first_error([Some(&a), None, Some(&b)]), Some(b.clone()));
        assert_eq!(first_error([Some(&a)]), Some(a));
        assert_eq!(first_error([None, None]), None);
    }
}
