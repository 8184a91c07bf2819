//! The sweeper: takes a connection's subscriptions out of the tables a slice at a time.
//!
//! A connection with many subscriptions (a million is allowed by default) would otherwise hold its
//! shard for seconds whenever they all go at once, and every other connection of the shard with it.
//! They all go at once in two cases:
//! - **Close.** A queued closing connection keeps its slot (one extra count in `Conn::tasks`) until its
//!   last subscription is gone, so no stale `SubRef` in a table can ever point at a reused slot.
//!   Deliveries to it stop at once: it is `Closing`.
//! - **Reset.** A second CONNECT starts the session over and drops every subscription (nats-server's
//!   rule). The connection stays open; it is marked `Conn::resetting`, deliveries to it stop at once,
//!   and its reader waits (`Flow::Reset`) until the sweeper is done before it checks the CONNECT and
//!   handles anything after it.
//!
//! Small sets are removed at once by the caller ([`INLINE_REMOVALS`]); larger ones are queued here.

use super::{ConnKey, Shard, ShardRef};
use crate::runtime;
use futures_lite::future::poll_fn;
use std::collections::VecDeque;
use std::task::{Poll, Waker};

/// Subscriptions removed inline when they all go at once; more go to the sweeper.
pub const INLINE_REMOVALS: usize = 4096;
/// Subscriptions the sweeper removes before letting the shard's other tasks run.
const REMOVALS_PER_TURN: usize = 4096;

/// Why a connection's subscriptions are being swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// The connection closed: free its slot when done.
    Close,
    /// A second CONNECT: clear `Conn::resetting` and wake the reader when done.
    Reset,
}

/// The sweeper's queue: one entry per connection being swept, in order; and the task's waker.
/// Bound: one entry per connection at most (two when a reset connection then closes).
#[derive(Default)]
pub struct Sweeps {
    queue: VecDeque<(ConnKey, Sweep)>,
    waker: Option<Waker>,
}

impl Shard {
    /// Queues a closing connection's subscriptions for the sweeper; it keeps the slot until done.
    pub(crate) fn sweep_later(&mut self, key: ConnKey) {
        if let Some(c) = self.conns.get_mut(key) {
            c.tasks += 1;
            self.push_sweep(key, Sweep::Close);
        }
    }

    /// A second CONNECT on connection `key` drops all its subscriptions: at once when there are few
    /// (returns false), else by the sweeper (returns true: the reader must wait for `reset_done`).
    pub(crate) fn reset_subs(&mut self, key: ConnKey) -> bool {
        let Some(c) = self.conns.get_mut(key) else {
            return false;
        };
        if c.subs.len() <= INLINE_REMOVALS {
            self.remove_all_subs(key);
            return false;
        }
        c.resetting = true;
        self.push_sweep(key, Sweep::Reset);
        true
    }

    /// True once connection `key`'s reset is done (or it is gone); else registers `waker`.
    pub(crate) fn reset_done(&mut self, key: ConnKey, waker: &Waker) -> bool {
        match self.conns.get_mut(key) {
            Some(c) if c.resetting => {
                c.reset_waker = Some(waker.clone());
                false
            }
            _ => true,
        }
    }

    fn push_sweep(&mut self, key: ConnKey, why: Sweep) {
        self.sweeps.queue.push_back((key, why));
        if let Some(w) = self.sweeps.waker.take() {
            w.wake();
        }
    }

    /// Removes up to `budget` subscriptions of the first queued connection; finishes its entry when
    /// none are left. Returns false when the queue is empty.
    fn sweep_some(&mut self, budget: usize) -> bool {
        let Some(&(key, why)) = self.sweeps.queue.front() else {
            return false;
        };
        let idxs: Vec<usize> = match self.conns.get(key) {
            Some(c) => c.subs.iter().map(|(i, _)| i).take(budget).collect(),
            None => Vec::new(),
        };
        for idx in &idxs {
            self.remove_sub(key, *idx);
        }
        if idxs.len() < budget {
            self.sweeps.queue.pop_front();
            match why {
                Sweep::Close => self.task_done(key),
                Sweep::Reset => {
                    if let Some(c) = self.conns.get_mut(key) {
                        c.resetting = false;
                        if let Some(w) = c.reset_waker.take() {
                            w.wake();
                        }
                    }
                }
            }
        }
        true
    }
}

pub async fn sweeper_task(shard: ShardRef) {
    loop {
        let more = poll_fn(|cx| {
            let mut sh = shard.borrow_mut();
            if !sh.sweeps.queue.is_empty() {
                Poll::Ready(true)
            } else if sh.stopped {
                Poll::Ready(false)
            } else {
                sh.sweeps.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        if !more {
            break;
        }
        {
            let mut sh = shard.borrow_mut();
            sh.sweep_some(REMOVALS_PER_TURN);
            sh.end_batch();
        }
        runtime::yield_now().await;
    }
}
