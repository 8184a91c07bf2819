//! The no-responders status (a 503 to a request nobody took), decided across shards.
//!
//! Runs on: every shard. On one shard the answer is known when the publish returns. On several, a
//! request's deliveries to other shards carry a token ([`Probe`]), and each destination answers
//! `Reached { token, delivered }` once it applied the delivery. A destination that passes a queue
//! message on (none of its members could take it) waits for the copy's answer before answering itself
//! ([`Then::Answer`]), so an answer always means "this branch is done". When earlier publishes of the
//! connection crossed shards, every other shard also gets a `Probe { token }` and answers behind them,
//! so the status follows those messages, as nats-server sends it only after delivering them.
//!
//! The connection's next PONG (and verbose +OK) waits until its pending statuses are settled, so a status
//! always comes before that PONG, as with nats-server. When the request went nowhere (only probes), the
//! reader also waits before its next op, which keeps the status ahead of the connection's later
//! messages. When it went to another shard, the reader does not wait (a subscriber there nearly always
//! takes it, and waiting would cost every cross-shard request a bus round trip); if that subscriber
//! refuses it after all, the status can come after messages the connection published later.

use super::super::conn::{Phase, SubRef};
use super::super::reader::Flow;
use super::super::{ConnKey, Shard};
use crate::bus::{BusMsg, ShardId, CONTROL_SRC};
use crate::protocol::writer as w;
use std::collections::HashMap;
use std::task::Waker;

/// A shard's no-responders bookkeeping (multi-shard servers only).
pub struct NoResponders {
    /// While a request that wants a status is being routed: where it went.
    current: Option<Probe>,
    /// Per shard, for `current`: deliveries that asked for an answer (one publish can route several
    /// times: stream and service imports). Scratch, all zero between requests.
    asked: Vec<u32>,
    /// Requests (or relayed queue copies) waiting for other shards to say whether anyone took them:
    /// token → state. Bound: one entry per such request in flight; every shard answers every token
    /// (its inbox is FIFO and drops nothing), so an entry lives about one bus round trip.
    pending: HashMap<u64, PendingProbe>,
}

impl NoResponders {
    pub fn new(nr_shards: usize) -> NoResponders {
        NoResponders {
            current: None,
            asked: vec![0; nr_shards],
            pending: HashMap::new(),
        }
    }
}

/// A request being routed whose publisher wants a no-responders status.
struct Probe {
    /// Names the answers (`BusMsg::Reached`).
    token: u64,
    /// A subscriber on this shard took it.
    local: bool,
}

/// Answers still expected for one token, and what to do when the last is in.
struct PendingProbe {
    waiting: usize,
    taken: bool,
    then: Then,
}

/// What a completed [`PendingProbe`] does.
enum Then {
    /// A request of a connection on this shard: the 503 when nothing took it, written to the sid the
    /// reply subscription had when the request was published (as nats-server, even if it is gone since);
    /// then one fewer `Conn::pending_status`.
    Status {
        key: ConnKey,
        /// Guards against a reused connection slot.
        cid: u64,
        sid: Box<[u8]>,
        reply: Box<[u8]>,
        subject: Box<[u8]>,
    },
    /// Queue copies this shard passed on: answer `token` to `shard` once they have answered.
    Answer { shard: ShardId, token: u64 },
}

impl Shard {
    /// Starts tracking a request if its publisher wants a no-responders status and other shards could
    /// take it (`Shard::fan_out` records where it went).
    pub(crate) fn start_probe(&mut self, key: ConnKey, reply: Option<&[u8]>) {
        let Some(c) = self.conns.get(key) else {
            return;
        };
        if reply.is_none() || self.nr_shards < 2 || !c.session.no_responders || !c.session.headers {
            return;
        }
        self.next_token += 1;
        self.no_responders.current = Some(Probe {
            token: self.next_token,
            local: false,
        });
    }

    /// After publishing a request: the 503 now (nobody anywhere was interested), later (other shards
    /// must answer first; when only probes went out the reader waits, see [`Flow::AwaitStatus`]), or
    /// never (taken here, or the publisher did not ask for it). `reached`: `publish_in`'s verdict, used
    /// without a probe.
    pub(crate) fn finish_request(
        &mut self,
        key: ConnKey,
        subj: &[u8],
        reply: &[u8],
        reached: bool,
    ) -> Flow {
        let Some(p) = self.no_responders.current.take() else {
            if !reached {
                if let Some(r) = self.no_responders_sub(key, reply) {
                    self.send_no_responders(r, reply, subj);
                }
            }
            return Flow::Continue;
        };
        // The per-shard counts are scratch reused by every request: read, then cleared.
        let mut asked = std::mem::take(&mut self.no_responders.asked);
        let flow = self.settle_probe(key, p, &asked, subj, reply);
        asked.fill(0);
        self.no_responders.asked = asked;
        flow
    }

    /// [`Shard::finish_request`] for a probed request; `asked[d]`: deliveries that asked shard `d`.
    fn settle_probe(
        &mut self,
        key: ConnKey,
        p: Probe,
        asked: &[u32],
        subj: &[u8],
        reply: &[u8],
    ) -> Flow {
        if p.local {
            return Flow::Continue;
        }
        let Some(r) = self.no_responders_sub(key, reply) else {
            return Flow::Continue;
        };
        let c = &self.conns[key];
        let (cid, ordered) = (c.cid, c.needs_barrier);
        let Some(sid) = c.subs.get(r.sub as usize).map(|s| s.sid.clone()) else {
            return Flow::Continue;
        };
        let mut waiting = 0;
        let delivered_elsewhere = asked.iter().any(|n| *n > 0);
        for (d, &n) in asked.iter().enumerate() {
            if n > 0 {
                waiting += n as usize;
            } else if ordered && d != self.id as usize {
                self.outbox
                    .push(d as ShardId, BusMsg::Probe { token: p.token });
                waiting += 1;
            }
        }
        if waiting == 0 {
            self.send_no_responders(r, reply, subj);
            return Flow::Continue;
        }
        let then = Then::Status {
            key,
            cid,
            sid,
            reply: reply.into(),
            subject: subj.into(),
        };
        let pending = PendingProbe {
            waiting,
            taken: false,
            then,
        };
        self.no_responders.pending.insert(p.token, pending);
        self.conns[key].pending_status += 1;
        if delivered_elsewhere {
            Flow::Continue
        } else {
            Flow::AwaitStatus
        }
    }

    /// While routing a probed request: a subscriber on this shard took it (or not).
    pub(crate) fn note_local_taker(&mut self, taken: bool) {
        if let Some(p) = self.no_responders.current.as_mut() {
            p.local |= taken;
        }
    }

    /// While routing a probed request: the token a delivery to shard `dst` asks with (counted, so the
    /// request waits for its answer); `None` for a request nobody probes.
    pub(crate) fn ask_for(&mut self, dst: ShardId) -> Option<u64> {
        let p = self.no_responders.current.as_ref()?;
        if let Some(n) = self.no_responders.asked.get_mut(dst as usize) {
            *n += 1;
        }
        Some(p.token)
    }

    /// A token for the copies of an asking delivery this shard is about to pass on (see
    /// [`Shard::finish_relay`]); `None` when the delivery did not ask.
    pub(crate) fn relay_token(&mut self, ask: Option<u64>) -> Option<u64> {
        ask.map(|_| {
            self.next_token += 1;
            self.next_token
        })
    }

    /// Answers an asking delivery from `src`: now, or, when `forwarded` copies went on carrying
    /// `relay` and nothing here took it, once they have answered.
    pub(crate) fn finish_relay(
        &mut self,
        src: ShardId,
        ask: Option<u64>,
        relay: Option<u64>,
        taken: bool,
        forwarded: usize,
    ) {
        let Some(token) = ask else {
            return;
        };
        match relay {
            Some(relay) if forwarded > 0 && !taken => {
                let then = Then::Answer { shard: src, token };
                let pending = PendingProbe {
                    waiting: forwarded,
                    taken: false,
                    then,
                };
                self.no_responders.pending.insert(relay, pending);
            }
            _ => {
                let delivered = taken;
                self.outbox.push(src, BusMsg::Reached { token, delivered });
            }
        }
    }

    /// `Probe` from `src`: everything it sent before is applied here, and a probe itself reaches
    /// nobody; answer "not taken".
    pub(crate) fn on_probe(&mut self, src: ShardId, token: u64) {
        if src != CONTROL_SRC {
            let delivered = false;
            self.outbox.push(src, BusMsg::Reached { token, delivered });
        }
    }

    /// An answer for one of this shard's tokens.
    pub fn on_reached(&mut self, token: u64, delivered: bool) {
        let Some(p) = self.no_responders.pending.get_mut(&token) else {
            return;
        };
        p.waiting = p.waiting.saturating_sub(1);
        p.taken |= delivered;
        if p.waiting > 0 {
            return;
        }
        let Some(p) = self.no_responders.pending.remove(&token) else {
            return;
        };
        match p.then {
            Then::Answer { shard, token } => {
                let delivered = p.taken;
                self.outbox
                    .push(shard, BusMsg::Reached { token, delivered });
            }
            Then::Status {
                key,
                cid,
                sid,
                reply,
                subject,
            } => {
                if !p.taken {
                    self.write_no_responders(key, cid, &sid, &reply, &subject);
                }
                if let Some(c) = self.conns.get_mut(key).filter(|c| c.cid == cid) {
                    c.pending_status = c.pending_status.saturating_sub(1);
                    if c.pending_status == 0 {
                        if let Some(w) = c.status_waker.take() {
                            w.wake();
                        }
                    }
                }
            }
        }
    }

    /// For the connection's reader: true once every pending status of connection `key` is settled;
    /// otherwise it registers the reader's waker.
    pub(crate) fn statuses_settled(&mut self, key: ConnKey, waker: &Waker) -> bool {
        match self.conns.get_mut(key) {
            Some(c) if c.pending_status > 0 => {
                c.status_waker = Some(waker.clone());
                false
            }
            _ => true,
        }
    }

    /// The requester's own subscription on `reply`, when it asked for no-responders statuses.
    fn no_responders_sub(&mut self, key: ConnKey, reply: &[u8]) -> Option<SubRef> {
        let c = self.conns.get(key)?;
        if !c.session.no_responders || !c.session.headers {
            return None;
        }
        let m = self.local_matches(c.account, reply);
        m.plain.iter().find(|r| r.conn as usize == key).copied()
    }

    /// Writes the 503 now to the requester's reply subscription `r` (like nats-server, not counted as a
    /// delivery against an `UNSUB` limit).
    fn send_no_responders(&mut self, r: SubRef, reply: &[u8], subj: &[u8]) {
        let key = r.conn as usize;
        let Some(c) = self.conns.get(key) else {
            return;
        };
        let cid = c.cid;
        let Some(sid) = c.subs.get(r.sub as usize).map(|s| s.sid.clone()) else {
            return;
        };
        self.write_no_responders(key, cid, &sid, reply, subj);
    }

    /// Writes the 503 for a request published earlier to `sid` of connection `key`, if it is still the
    /// same connection.
    fn write_no_responders(
        &mut self,
        key: ConnKey,
        cid: u64,
        sid: &[u8],
        reply: &[u8],
        subj: &[u8],
    ) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.cid != cid || c.phase == Phase::Closing {
            return;
        }
        let hdr = status_503(subj);
        w::write_hmsg(&mut c.out.buf, reply, sid, None, &hdr, b"");
        self.count_out(key, hdr.len());
        self.check_pending(key);
    }
}

/// The header block of a no-responders status for a request on `subj`.
fn status_503(subj: &[u8]) -> Vec<u8> {
    let mut hdr = Vec::with_capacity(48 + subj.len());
    hdr.extend_from_slice(b"NATS/1.0 503\r\nNats-Subject: ");
    hdr.extend_from_slice(subj);
    hdr.extend_from_slice(b"\r\n\r\n");
    hdr
}
