//! The scenarios. Each takes the [`Common`] settings plus its own parameters and returns an
//! [`Outcome`](crate::report::Outcome); none panics or hangs: failures (lost, duplicated or
//! reordered messages, `-ERR`, closed connections, the hard timeout) end up in the outcome.

pub mod flow;
pub mod handshake;
pub mod idle;
pub mod latency;
pub mod reqrep;

use crate::wire::{Endpoint, Error, ABORTED};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Settings shared by every scenario.
#[derive(Debug, Clone)]
pub struct Common {
    pub endpoint: Endpoint,
    /// Copied into every outcome (the comparison script passes the server's name).
    pub label: String,
    /// Tiny counts for CI; the outcome says so.
    pub smoke: bool,
    /// Hard limit for one scenario run, connection setup and draining included.
    pub timeout: Duration,
    /// Publishing stops after this long even if the message count is not reached.
    pub time: Duration,
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
