//! Outbound side of a connection: the per-connection buffer, the writer task that drains it with one
//! write per flush, slow-consumer detection, and closing.
//!
//! Deliveries only append to `Conn::out` and mark the connection touched; the writer is woken once per
//! batch (`Shard::end_batch`). A stalled socket therefore slows nobody but its own connection, and over
//! `max_pending` bytes it is closed as a slow consumer (no `-ERR`, as nats-server does).

use super::conn::Phase;
use super::conn::WriterStep;
use super::transport::Transport;
use super::{ConnKey, Shard, ShardRef};
use crate::bus::CloseReason;
use crate::protocol::errors::ProtoErr;
use crate::protocol::writer as w;
use crate::runtime;
use futures_lite::future::poll_fn;
use std::task::Poll;

/// A writer keeps at most this much spare buffer capacity between flushes (memory per idle connection).
const KEEP_SPARE: usize = 64 * 1024;

impl Shard {
    /// Marks `key` as having new outbound bytes in this batch.
    #[inline]
    pub fn touch(&mut self, key: ConnKey) {
        if let Some(c) = self.conns.get_mut(key) {
            if !c.out.touched {
                c.out.touched = true;
                self.touched.push(key);
            }
        }
    }

    /// Appends raw protocol bytes (PONG, +OK, INFO...) for `key`. They count toward `max_pending` like
    /// messages do: a client that sends PINGs and never reads is a slow consumer too.
    pub fn send_raw(&mut self, key: ConnKey, bytes: &[u8]) {
        if let Some(c) = self.conns.get_mut(key) {
            if c.phase == Phase::Closing {
                return;
            }
            c.out.buf.extend_from_slice(bytes);
            self.touch(key);
            self.check_pending(key);
        }
    }

    /// Appends `-ERR '...'` for `key` (the caller closes the connection for errors that close it).
    /// Counts toward `max_pending`, as [`Shard::send_raw`].
    pub fn send_err(&mut self, key: ConnKey, err: &ProtoErr) {
        if let Some(c) = self.conns.get_mut(key) {
            if c.phase == Phase::Closing {
                return;
            }
            w::write_err(&mut c.out.buf, err);
            self.touch(key);
            self.check_pending(key);
        }
    }

    /// Checks the pending-bytes cap after appending to `key`; over it, closes as a slow consumer.
    #[inline]
    pub fn check_pending(&mut self, key: ConnKey) {
        let max = self.settings.max_pending;
        let over = match self.conns.get_mut(key) {
            // Like nats-server, count only what the socket will not take: a burst appended between two
            // flushes (e.g. one inbox turn of cross-shard deliveries) must not condemn a reading client.
            Some(c) if c.pending_bytes() > max => {
                c.flush();
                c.pending_bytes() > max
            }
            _ => false,
        };
        if over {
            self.stats.slow_consumers += 1;
            if let Some(acc) = self.conns.get(key).map(|c| c.account) {
                self.tables(acc).stats.slow_consumers += 1;
            }
            if let Some(c) = self.conns.get(key) {
                // Logged as the consumer (its span), at nats-server's level, not as the publisher
                // whose message found the consumer's buffer full.
                c.span.in_scope(|| {
                    tracing::info!(
                        "Slow Consumer Detected: MaxPending of {} Exceeded",
                        self.settings.max_pending
                    )
                });
            }
            if let Some(c) = self.conns.get_mut(key) {
                c.discard_output();
            }
            self.close_conn(key, CloseReason::SlowConsumerPendingBytes);
        }
    }

    /// Closes `key`: removes its subscriptions (announcing lost interest), releases its connection counts,
    /// and lets the writer send what is buffered (e.g. a final `-ERR`) before shutting the socket down.
    pub fn close_conn(&mut self, key: ConnKey, reason: CloseReason) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.phase == Phase::Closing {
            return;
        }
        let was_open = c.phase == Phase::Open;
        let is_link = c.link.is_some();
        c.phase = Phase::Closing;
        c.close_reason = Some(reason);
        let cid = c.cid;
        let account = c.account;
        let counted_server = std::mem::take(&mut c.counted_server);
        tracing::debug!(cid, ?reason, "client connection closed");
        if is_link {
            // The remote's link is down: no more interest is sent to it.
            for r in self.leaf.remotes.iter_mut().filter(|r| r.conn == Some(key)) {
                r.conn = None;
            }
            self.route_closed(key);
            self.leaf.spokes.retain(|k| *k != key);
        } else {
            self.record_closed(key);
        }
        if self.conns[key].subs.len() > super::sweeper::INLINE_REMOVALS {
            self.sweep_later(key);
        } else {
            self.remove_all_subs(key);
        }
        if counted_server {
            self.globals.server_closed();
        }
        if was_open && !is_link {
            self.globals.account_closed(account);
        }
        if let Some(c) = self.conns.get_mut(key) {
            c.out.wake_writer();
        }
        self.touch(key);
    }

    /// Called by the reader and the writer task when they finish; the last one frees the slot.
    pub fn task_done(&mut self, key: ConnKey) {
        let free = match self.conns.get_mut(key) {
            Some(c) => {
                c.tasks = c.tasks.saturating_sub(1);
                c.tasks == 0
            }
            None => false,
        };
        if free {
            self.conns.remove(key);
        }
    }
}

/// The writer task: waits for bytes, writes them in one go (bounded by `write_deadline`), repeats; on close
/// sends what is left and shuts the transport down. Runs on: the owning shard.
pub async fn writer_task(shard: ShardRef, key: ConnKey, transport: Transport) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // Take the whole pending buffer, or learn that we are done.
        let more = poll_fn(|cx| {
            let mut sh = shard.borrow_mut();
            let Some(c) = sh.conns.get_mut(key) else {
                return Poll::Ready(false);
            };
            let closing = c.phase == Phase::Closing;
            let backlog = c.transport.backlog() > 0;
            match c
                .out
                .take_for_writer(&mut buf, closing, backlog, cx.waker())
            {
                WriterStep::Write => Poll::Ready(true),
                WriterStep::Done => Poll::Ready(false),
                WriterStep::Wait => Poll::Pending,
            }
        })
        .await;
        if !more {
            break;
        }
        // A TLS transport seals the bytes into records now; from here they count as its backlog.
        let res = match transport.seal(&mut buf) {
            Ok(true) => {
                if let Some(c) = shard.borrow_mut().conns.get_mut(key) {
                    c.out.written();
                }
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(e) => Err(e),
        };
        let deadline = shard.borrow().settings.write_deadline;
        let res = match res {
            Ok(()) => runtime::timeout(deadline, transport.write_all(&buf)).await,
            Err(e) => Some(Err(e)),
        };
        buf.clear();
        if buf.capacity() > KEEP_SPARE {
            buf = Vec::new();
        }
        let mut sh = shard.borrow_mut();
        match res {
            Some(Ok(())) => {
                if let Some(c) = sh.conns.get_mut(key) {
                    c.out.written();
                }
            }
            Some(Err(_)) => {
                if let Some(c) = sh.conns.get_mut(key) {
                    c.discard_output();
                }
                sh.close_conn(key, CloseReason::WriteError);
                sh.end_batch();
                break;
            }
            None => {
                sh.stats.slow_consumers += 1;
                let wd = sh.settings.write_deadline;
                if let Some(c) = sh.conns.get_mut(key) {
                    let bytes = c.pending_bytes();
                    tracing::info!(
                        "Slow Consumer Detected: WriteDeadline of {} exceeded with 1 chunks of {bytes} total bytes.",
                        crate::config::go_duration(wd)
                    );
                    c.discard_output();
                }
                sh.close_conn(key, CloseReason::SlowConsumerWriteDeadline);
                sh.end_batch();
                break;
            }
        }
    }
    transport.shutdown();
    shard.borrow_mut().task_done(key);
}
