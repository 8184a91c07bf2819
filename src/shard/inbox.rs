//! The inbox task: applies what other shards sent, in their program order, then parks on the bell.
//!
//! Interest changes update the `remote` tables, deliveries are matched against the `local` tables,
//! `Sync` is answered with `SyncAck` (everything before it from that shard is applied by then), and
//! control messages reload, drain or stop the shard.

use super::conn::Phase;
use super::{Shard, ShardRef};
use crate::bus::CloseReason;
use crate::bus::{BusMsg, Control, Inbox, ShardId};
use crate::runtime;
use futures_lite::future::poll_fn;
use std::time::{Duration, Instant};

/// Batches and messages applied before letting connection tasks run (whichever limit comes first).
/// A batch may hold far more messages than one turn takes (a connection with a million
/// subscriptions closing sends a million interest removals at once): it is applied over several
/// turns, in order, so the shard's other connections are never held up for long.
const BATCHES_PER_TURN: usize = 64;
const MSGS_PER_TURN: usize = 4096;

pub async fn inbox_task(shard: ShardRef, inbox: Inbox) {
    let spin = shard.borrow().settings.bus_spin;
    // The batch being applied (its source shard and the messages not applied yet).
    let mut current: Option<(ShardId, std::vec::IntoIter<BusMsg>)> = None;
    loop {
        let mut budget = MSGS_PER_TURN;
        let mut batches = 0;
        let mut applied = false;
        while budget > 0 {
            if current.is_none() {
                if batches == BATCHES_PER_TURN {
                    break;
                }
                batches += 1;
                current = inbox.try_recv().map(|b| (b.src_shard, b.msgs.into_iter()));
            }
            let Some((src, msgs)) = current.as_mut() else {
                break;
            };
            let n = msgs.len().min(budget);
            shard.borrow_mut().apply_msgs(*src, msgs.by_ref().take(n));
            budget -= n;
            applied = true;
            if msgs.len() == 0 {
                current = None;
            }
        }
        if applied {
            // Let the woken writers run before answering syncs: when another shard sees our SyncAck,
            // the deliveries before it are already on their subscribers' sockets.
            shard.borrow_mut().wake_writers();
            runtime::yield_now().await;
            let stop = {
                let mut sh = shard.borrow_mut();
                sh.end_batch();
                sh.finished()
            };
            if stop {
                break;
            }
            continue;
        }
        if shard.borrow().finished() {
            break;
        }
        // Optional bounded spin: trades idle CPU for a cheaper hop (trading deployments).
        if !spin.is_zero() {
            let t = Instant::now();
            while t.elapsed() < spin && inbox.rx.is_empty() {
                std::hint::spin_loop();
            }
            if !inbox.rx.is_empty() {
                continue;
            }
        }
        // A full destination inbox: retry soon instead of parking for good.
        if shard.borrow().outbox.stalled() {
            let clear = shard.borrow_mut().outbox.drain_backlog();
            if !clear {
                runtime::sleep(Duration::from_micros(100)).await;
            }
            continue;
        }
        let park = poll_fn(|cx| inbox.bell.poll_park(cx, || !inbox.rx.is_empty()));
        let (lame_duck, stopped) = {
            let sh = shard.borrow();
            (sh.lame_duck.is_some(), sh.stopped)
        };
        if lame_duck || stopped {
            // Lame duck ends on the timers task, and the last shard to stop rings no bell here:
            // look again each tick.
            runtime::timeout(Duration::from_millis(100), park).await;
        } else {
            park.await;
        }
    }
}

impl Shard {
    /// Applies messages from shard `src`, in order. Runs on: the destination shard.
    pub fn apply_msgs(&mut self, src: ShardId, msgs: impl Iterator<Item = BusMsg>) {
        for msg in msgs {
            match msg {
                BusMsg::Interest {
                    account,
                    subject,
                    queue,
                    add,
                    fallback,
                } => self.apply_interest(src, account, &subject, queue.as_deref(), add, fallback),
                BusMsg::Deliver(d) => self.on_delivery(d, src),
                BusMsg::Probe { token } => self.on_probe(src, token),
                BusMsg::Reached { token, delivered } => self.on_reached(token, delivered),
                BusMsg::Sync { token } => self.on_sync(src, token),
                BusMsg::SyncAck { token } => self.on_sync_ack(token),
                BusMsg::Control(c) => self.on_control(c),
            }
        }
    }

    fn on_control(&mut self, c: Control) {
        match c {
            Control::Reload(settings, auth, round) => self.reload(settings, auth, &round),
            Control::ShedOverLimits => {
                self.shed_over_limits();
                self.end_batch();
            }
            Control::LameDuck => {
                self.start_lame_duck();
                self.routes_lame_duck();
                let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
                for k in keys {
                    let proto1 =
                        self.conns[k].session.protocol >= 1 && self.conns[k].phase == Phase::Open;
                    if proto1 {
                        let info = self.info_json(k, false);
                        self.send_raw(k, &info);
                    }
                }
            }
            Control::Snapshot(req) => self.snapshot(req),
            Control::ConnectUrls(urls) => {
                self.set_connect_urls(urls);
                self.end_batch();
            }
            Control::Shutdown => {
                self.draining = true;
                self.mark_stopped();
                self.listener_stop.notify();
                let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
                for k in keys {
                    self.close_conn(k, CloseReason::ServerShutdown);
                }
            }
        }
    }
}
