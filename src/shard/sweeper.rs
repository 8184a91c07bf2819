//! The sweeper: takes the subscriptions of closed connections out of the tables a slice at a time.
//!
//! A connection with many subscriptions (a million is allowed by default) would otherwise hold its
//! shard for seconds when it closes, and every other connection of the shard with it. Small sets are
//! removed at once in `close_conn`; larger ones are queued here. A queued connection keeps its slot
//! (one extra count in `Conn::tasks`) until its last subscription is gone, so no stale `SubRef`
//! in a table can ever point at a reused slot. Deliveries to it stop at once: it is `Closing`.

use super::{ConnKey, Shard, ShardRef};
use crate::runtime;
use futures_lite::future::poll_fn;
use std::task::Poll;

/// Subscriptions removed inline when a connection closes; more go to the sweeper.
pub const INLINE_REMOVALS: usize = 4096;
/// Subscriptions the sweeper removes before letting the shard's other tasks run.
const REMOVALS_PER_TURN: usize = 4096;

impl Shard {
    /// Queues a closing connection's subscriptions for the sweeper; it keeps the slot until done.
    pub(crate) fn sweep_later(&mut self, key: ConnKey) {
        if let Some(c) = self.conns.get_mut(key) {
            c.tasks += 1;
            self.sweep.push_back(key);
            if let Some(w) = self.sweep_waker.take() {
                w.wake();
            }
        }
    }

    /// Removes up to `budget` subscriptions of the first queued connection; frees its slot when none
    /// are left. Returns false when the queue is empty.
    fn sweep_some(&mut self, budget: usize) -> bool {
        let Some(&key) = self.sweep.front() else {
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
            self.sweep.pop_front();
            self.task_done(key);
        }
        true
    }
}

pub async fn sweeper_task(shard: ShardRef) {
    loop {
        let more = poll_fn(|cx| {
            let mut sh = shard.borrow_mut();
            if !sh.sweep.is_empty() {
                Poll::Ready(true)
            } else if sh.stopped {
                Poll::Ready(false)
            } else {
                sh.sweep_waker = Some(cx.waker().clone());
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
