//! `Sync` / `SyncAck`: the visibility barrier, both ends.
//!
//! NATS clients rely on "after `SUB` + `PING` → `PONG`, the subscription is live server-wide" and "after a
//! publish + `PING` → `PONG`, the message reached every subscriber's buffer". A connection whose SUB
//! changed this shard's interest, or whose messages crossed to other shards, is marked
//! `Conn::needs_barrier`; its next PONG (or verbose `+OK`) first sends `Sync { token }` to every other
//! shard, behind those announcements and deliveries (FIFO), and waits until every shard answered
//! `SyncAck { token }`. Each destination answers when it reaches the `Sync`, by which time everything
//! sent before it is applied.

use super::super::Shard;
use super::super::{ConnKey, ShardRef};
use crate::bus::{BusMsg, ShardId, CONTROL_SRC};
use futures_lite::future::poll_fn;
use std::collections::HashMap;
use std::task::{Poll, Waker};

/// One barrier in progress.
struct PendingBarrier {
    /// Other shards that have not answered yet.
    acks_left: usize,
    /// The reader waiting for it.
    waker: Option<Waker>,
    /// `Barriers::announced` when it started: once done, every announcement up to this one is applied
    /// everywhere.
    covers: u64,
}

/// A shard's barriers and what they have covered.
#[derive(Default)]
pub struct Barriers {
    /// token → barrier in progress. Bound: one per connection waiting for a PONG or `+OK`.
    pending: HashMap<u64, PendingBarrier>,
    /// Interest announcements sent so far, and how many of them a completed barrier has covered:
    /// `announced > synced` means some may not be applied on other shards yet.
    announced: u64,
    synced: u64,
}

impl Barriers {
    /// One more interest announcement sent.
    pub fn announced_one(&mut self) {
        self.announced += 1;
    }

    /// True when some announcement sent may not be applied on the other shards yet: a SUB made now
    /// must wait for a barrier before its PONG (another connection's identical interest may still be
    /// on its way).
    pub fn unsynced(&self) -> bool {
        self.announced > self.synced
    }

    fn start(&mut self, token: u64, others: usize) {
        self.pending.insert(
            token,
            PendingBarrier {
                acks_left: others,
                waker: None,
                covers: self.announced,
            },
        );
    }

    /// True (and the barrier forgotten) once every shard answered `token`; else registers `waker`.
    fn done(&mut self, token: u64, waker: &Waker) -> bool {
        match self.pending.get_mut(&token) {
            None => true,
            Some(b) if b.acks_left == 0 => {
                let covers = b.covers;
                self.pending.remove(&token);
                self.synced = self.synced.max(covers);
                true
            }
            Some(b) => {
                b.waker = Some(waker.clone());
                false
            }
        }
    }

    /// One shard answered `token`; the waiting reader is woken when it was the last.
    fn ack(&mut self, token: u64) {
        if let Some(b) = self.pending.get_mut(&token) {
            b.acks_left = b.acks_left.saturating_sub(1);
            if b.acks_left == 0 {
                if let Some(w) = b.waker.take() {
                    w.wake();
                }
            }
        }
    }
}

impl Shard {
    /// Starts a barrier for connection `key` if it needs one: `Sync` to every other shard, sent at once.
    /// Returns the token to wait for.
    fn start_barrier(&mut self, key: ConnKey) -> Option<u64> {
        let multi = self.nr_shards > 1;
        let c = self.conns.get_mut(key)?;
        let needed = std::mem::take(&mut c.needs_barrier);
        if !needed || !multi {
            return None;
        }
        let token = self.next_token;
        self.next_token += 1;
        self.barriers.start(token, self.nr_shards - 1);
        for dst in 0..self.nr_shards as ShardId {
            if dst != self.id {
                self.outbox.push(dst, BusMsg::Sync { token });
            }
        }
        self.end_batch_for(Some(key));
        Some(token)
    }

    /// `Sync` from `src`: everything it sent before is applied here; answer it.
    pub(crate) fn on_sync(&mut self, src: ShardId, token: u64) {
        if src != CONTROL_SRC {
            self.outbox.push(src, BusMsg::SyncAck { token });
        }
    }

    /// `SyncAck` for one of this shard's barriers.
    pub(crate) fn on_sync_ack(&mut self, token: u64) {
        self.barriers.ack(token);
    }
}

/// The `Sync`/`SyncAck` round with every other shard, when connection `key` announced interest or sent
/// messages there since its last barrier. Runs on: the connection's reader.
pub async fn sync_other_shards(shard: &ShardRef, key: ConnKey) {
    let Some(token) = shard.borrow_mut().start_barrier(key) else {
        return;
    };
    poll_fn(|cx| {
        if shard.borrow_mut().barriers.done(token, cx.waker()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Flag(std::sync::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn a_barrier_completes_when_every_shard_answered_and_covers_earlier_announcements() {
        let flag = Arc::new(Flag(false.into()));
        let waker = Waker::from(flag.clone());
        let mut b = Barriers::default();
        b.announced_one();
        b.announced_one();
        assert!(b.unsynced());
        b.start(7, 2);
        b.announced_one(); // after the barrier started: not covered by it
        assert!(!b.done(7, &waker));
        b.ack(7);
        assert!(!flag.0.load(std::sync::atomic::Ordering::SeqCst));
        b.ack(7);
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
        assert!(b.done(7, &waker));
        assert!(b.unsynced(), "the third announcement is not covered");
        b.start(8, 1);
        b.ack(8);
        assert!(b.done(8, &waker));
        assert!(!b.unsynced());
        // Unknown tokens are done (a barrier is forgotten once completed).
        assert!(b.done(99, &waker));
    }
}
