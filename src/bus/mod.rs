//! The bus: the only code that crosses cores.
//!
//! Each shard owns one multi-producer inbox (a bounded crossbeam channel of [`Batch`]es) and a [`Bell`]
//! to wake it. A shard never sends single messages: during one loop iteration it appends to a per-destination
//! [`Outbox`] buffer and sends one batch per destination at the end ([`Outbox::flush`]). A full inbox is
//! backpressure, never a drop: the batch waits in the outbox backlog (still in FIFO order) and the shard
//! stops reading from publishers until it drains ([`Outbox::stalled`]).

pub mod bell;
pub mod msg;
pub mod snapshot;

pub use bell::Bell;
pub use msg::{Batch, BusMsg, Control, Delivery, MsgRef, ShardId, CONTROL_SRC};
pub use snapshot::{CloseReason, ShardSnapshot, SnapshotRequest};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};
use std::collections::VecDeque;
use std::sync::Arc;

/// Batches an inbox holds before senders see backpressure.
pub const INBOX_CAPACITY: usize = 4096;

/// The process-wide wiring: one inbox sender and bell per shard. Cheap to clone (`Arc` inside).
#[derive(Clone)]
pub struct Bus {
    links: Arc<[Link]>,
}

struct Link {
    tx: Sender<Batch>,
    bell: Arc<Bell>,
}

/// The receiving end of one shard's inbox. Runs on: the owning shard.
pub struct Inbox {
    pub rx: Receiver<Batch>,
    pub bell: Arc<Bell>,
}

impl Bus {
    /// Creates the wiring for `nr_shards` shards; the `Inbox`es are handed one to each shard.
    pub fn new(nr_shards: usize) -> (Bus, Vec<Inbox>) {
        let mut links = Vec::with_capacity(nr_shards);
        let mut inboxes = Vec::with_capacity(nr_shards);
        for _ in 0..nr_shards {
            let (tx, rx) = crossbeam_channel::bounded(INBOX_CAPACITY);
            let bell = Arc::new(Bell::new());
            links.push(Link {
                tx,
                bell: bell.clone(),
            });
            inboxes.push(Inbox { rx, bell });
        }
        (
            Bus {
                links: links.into(),
            },
            inboxes,
        )
    }

    pub fn nr_shards(&self) -> usize {
        self.links.len()
    }

    /// Sends a control message to every shard (blocking send: only for threads outside the executors that
    /// may wait, the signal thread; the monitor uses [`Bus::try_send_control`]).
    pub fn broadcast_control(&self, make: impl Fn() -> Control) {
        for link in self.links.iter() {
            let batch = Batch {
                src_shard: CONTROL_SRC,
                msgs: vec![BusMsg::Control(make())],
            };
            if link.tx.send(batch).is_ok() {
                link.bell.ring();
            }
        }
    }

    /// Sends a control message to each shard in `targets` without ever waiting, for threads that must
    /// stay responsive (the monitor). When any target's inbox is full (or the shard is gone) nothing is
    /// sent to that one, and `Err` lists every such shard; the others got the message and their bell.
    /// A target found full before anything is sent gets the whole call refused up front (`Err` with
    /// nothing sent), so a request that cannot be answered costs the healthy shards nothing.
    pub fn try_send_control(
        &self,
        targets: &[ShardId],
        make: impl Fn() -> Control,
    ) -> Result<(), Vec<ShardId>> {
        let full: Vec<ShardId> = targets
            .iter()
            .copied()
            .filter(|&d| self.links.get(d as usize).is_none_or(|l| l.tx.is_full()))
            .collect();
        if !full.is_empty() {
            return Err(full);
        }
        let mut refused = Vec::new();
        for &d in targets {
            let batch = Batch {
                src_shard: CONTROL_SRC,
                msgs: vec![BusMsg::Control(make())],
            };
            if self.try_send(d as usize, batch).is_err() {
                refused.push(d);
            }
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(refused)
        }
    }

    fn try_send(&self, dst: usize, batch: Batch) -> Result<(), Batch> {
        match self.links[dst].tx.try_send(batch) {
            Ok(()) => {
                self.links[dst].bell.ring();
                Ok(())
            }
            Err(TrySendError::Full(b)) | Err(TrySendError::Disconnected(b)) => Err(b),
        }
    }
}

impl Inbox {
    pub fn try_recv(&self) -> Option<Batch> {
        match self.rx.try_recv() {
            Ok(b) => Some(b),
            Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => None,
        }
    }
}

/// Per-shard outgoing buffers, one per destination shard.
/// Runs on: the owning (source) shard only.
pub struct Outbox {
    src_shard: ShardId,
    bus: Bus,
    /// Messages appended during the current loop iteration, per destination. Bound: one iteration's worth.
    current: Vec<Vec<BusMsg>>,
    /// Batches the destination's inbox had no room for, oldest first. Anything new for that destination
    /// queues behind them so FIFO order holds. Bound: the publishers stop being read while non-empty.
    backlog: Vec<VecDeque<Batch>>,
    /// Destinations with something in `current` (to flush without scanning every shard).
    dirty: Vec<usize>,
}

impl Outbox {
    pub fn new(src_shard: ShardId, bus: Bus) -> Outbox {
        let n = bus.nr_shards();
        Outbox {
            src_shard,
            bus,
            current: (0..n).map(|_| Vec::new()).collect(),
            backlog: (0..n).map(|_| VecDeque::new()).collect(),
            dirty: Vec::new(),
        }
    }

    #[inline]
    pub fn push(&mut self, dst: ShardId, msg: BusMsg) {
        let d = dst as usize;
        if self.current[d].is_empty() {
            self.dirty.push(d);
        }
        self.current[d].push(msg);
    }

    /// Sends one batch per destination touched in this iteration (behind any backlog).
    pub fn flush(&mut self) {
        for d in std::mem::take(&mut self.dirty) {
            let msgs = std::mem::take(&mut self.current[d]);
            if msgs.is_empty() {
                continue;
            }
            let batch = Batch {
                src_shard: self.src_shard,
                msgs,
            };
            self.backlog[d].push_back(batch);
        }
        self.drain_backlog();
    }

    /// Retries backlogged batches. Returns true when nothing is left waiting.
    pub fn drain_backlog(&mut self) -> bool {
        let mut clear = true;
        for (d, q) in self.backlog.iter_mut().enumerate() {
            while let Some(batch) = q.pop_front() {
                if let Err(batch) = self.bus.try_send(d, batch) {
                    q.push_front(batch);
                    clear = false;
                    break;
                }
            }
        }
        clear
    }

    /// True while some destination's inbox is full: the shard must stop reading from publishers.
    pub fn stalled(&self) -> bool {
        self.backlog.iter().any(|q| !q.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_send_control_reports_full_inboxes_and_never_waits() {
        let (bus, inboxes) = Bus::new(2);
        for _ in 0..INBOX_CAPACITY {
            let b = Batch {
                src_shard: 0,
                msgs: Vec::new(),
            };
            assert!(bus.try_send(1, b).is_ok());
        }
        // Shard 1 is full: refused up front, shard 0 gets nothing either.
        assert_eq!(
            bus.try_send_control(&[0, 1], || Control::Shutdown),
            Err(vec![1])
        );
        assert!(inboxes[0].try_recv().is_none());
        // Shard 0 alone: delivered, and its bell rung.
        assert_eq!(bus.try_send_control(&[0], || Control::Shutdown), Ok(()));
        let b = inboxes[0].try_recv().expect("control batch");
        assert_eq!(b.src_shard, CONTROL_SRC);
        assert!(matches!(&b.msgs[..], [BusMsg::Control(Control::Shutdown)]));
        // An unknown shard counts as unreachable.
        assert_eq!(
            bus.try_send_control(&[7], || Control::Shutdown),
            Err(vec![7])
        );
    }

    #[test]
    fn batches_keep_fifo_order_and_backpressure() {
        let (bus, inboxes) = Bus::new(2);
        let mut out = Outbox::new(0, bus);
        for i in 0..(INBOX_CAPACITY as u64 + 10) {
            out.push(1, BusMsg::Sync { token: i });
            out.flush();
        }
        assert!(out.stalled(), "a full inbox must leave batches waiting");
        let mut next = 0u64;
        while let Some(b) = inboxes[1].try_recv() {
            assert_eq!(b.src_shard, 0);
            for m in b.msgs {
                match m {
                    BusMsg::Sync { token } => {
                        assert_eq!(token, next);
                        next += 1;
                    }
                    _ => panic!("unexpected message"),
                }
            }
            if inboxes[1].rx.is_empty() {
                out.drain_backlog();
            }
        }
        assert_eq!(next, INBOX_CAPACITY as u64 + 10);
        assert!(!out.stalled());
    }
}
