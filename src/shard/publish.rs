//! The publish path (the hot path): permit → match locally → one delivery per interested shard.
//!
//! 1. Permission check on the publishing shard before any other work (bounded per-connection cache).
//! 2. Match the account's `local` table and append MSG/HMSG frames to the subscribers' buffers.
//! 3. Match the account's `remote` table and send ONE `Delivery` per interested shard, which matches
//!    again against its own `local` table (`Shard::on_delivery`).
//!
//! Queue groups span shards: for each group the publishing shard picks one shard among those holding
//! members (this one included), weighted by member count, and that shard picks one member.

use super::conn::{Conn, Phase, SubRef};
use super::reader::Flow;
use super::{ConnKey, Shard};
use crate::auth::AccountId;
use crate::bus::{BusMsg, Delivery, ShardId};
use crate::protocol::errors::ProtoErr;
use crate::protocol::writer as w;
use crate::subject::{self, MatchResult};
use bytes::Bytes;
use slab::Slab;
use std::sync::Arc;
use std::time::Instant;

/// Reply prefixes a client may not use (service-import replies, JetStream acks, gateway replies).
/// (Observed on nats-server 2.15.1: `$GNR.` is NOT reserved, `_GR_.` and `$GR.` are.)
const RESERVED_REPLY_PREFIXES: [&[u8]; 4] = [b"_R_.", b"$JS.ACK.", b"_GR_.", b"$GR."];

/// Scratch space for one publish's cross-shard fan-out, reused between publishes (no allocation once warm).
pub struct Fanout {
    /// Per destination shard: deliver to its plain subscribers.
    plain: Vec<bool>,
    /// Per destination shard: queue groups it was chosen for.
    queues: Vec<Vec<Bytes>>,
    /// Destinations marked in this publish.
    dsts: Vec<ShardId>,
    /// xorshift state for queue member choice (not security relevant).
    rng: u64,
}

impl Fanout {
    pub fn new(nr_shards: usize) -> Fanout {
        Fanout {
            plain: vec![false; nr_shards],
            queues: vec![Vec::new(); nr_shards],
            dsts: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15 ^ (nr_shards as u64),
        }
    }

    #[inline]
    fn mark(&mut self, dst: ShardId) {
        let d = dst as usize;
        if !self.plain[d] && self.queues[d].is_empty() {
            self.dsts.push(dst);
        }
    }

    #[inline]
    pub fn pick(&mut self, n: usize) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x % n as u64) as usize
    }
}

impl Shard {
    /// `PUB`/`HPUB` from connection `key`.
    pub fn op_pub(
        &mut self,
        key: ConnKey,
        subj: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) -> Flow {
        let Some(c) = self.conns.get_mut(key) else {
            return Flow::Close;
        };
        let size = payload.len() + headers.map_or(0, |h| h.len());
        c.stats.in_msgs += 1;
        c.stats.in_bytes += size as u64;
        self.stats.in_msgs += 1;
        self.stats.in_bytes += size as u64;
        let acc = c.account;
        let t = self.tables(acc);
        t.stats.in_msgs += 1;
        t.stats.in_bytes += size as u64;
        let c = &mut self.conns[key];
        if c.session.pedantic && !subject::is_valid_literal_subject(subj) {
            // nats-server reports it and still delivers the message.
            self.send_err(key, &ProtoErr::InvalidPublishSubject);
        }
        // Like nats-server, the account's mappings apply first and the permissions judge the subject
        // the message really goes to.
        let mut mapped = Vec::new();
        let subj = self.map_subject(acc, subj, &mut mapped);
        let c = &mut self.conns[key];
        if let Some(p) = &c.perms {
            let mut ok = c.pub_cache.check(p, subj);
            if !ok {
                if let Some(g) = &mut c.reply_grants {
                    ok = g.consume(subj, Instant::now());
                }
            }
            if !ok {
                // The connection's span names the account and user.
                tracing::error!(
                    "Publish Violation - Subject {:?}",
                    String::from_utf8_lossy(subj)
                );
                self.tables(acc).stats.pub_violations += 1;
                self.send_err(key, &ProtoErr::PubViolation(subj.to_vec()));
                return Flow::Continue;
            }
        }
        if let Some(r) = reply {
            if RESERVED_REPLY_PREFIXES.iter().any(|p| r.starts_with(p)) {
                self.send_err(key, &ProtoErr::PubReplyViolation(r.to_vec()));
                return Flow::Continue;
            }
        }
        if self.conns[key].session.verbose {
            self.send_raw(key, w::OK);
        }
        self.start_probe(key, reply);
        let reached = self.publish_mapped(Some(key), acc, subj, reply, headers, payload, 0);
        match reply {
            Some(r) => self.finish_request(key, subj, r, reached),
            None => Flow::Continue,
        }
    }

    /// Delivers a message published in `acc` to every local subscriber and to every interested shard.
    /// `src` is the publishing connection (for `echo:false`), if it is on this shard.
    /// Returns true when anyone (local or another shard) was interested.
    pub fn route(
        &mut self,
        src: Option<ConnKey>,
        acc: AccountId,
        subj: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) -> bool {
        {
            // Nobody anywhere is subscribed in this account: nothing to match (telemetry-style traffic).
            let t = self.tables(acc);
            if t.local.count() == 0 && t.remote.count() == 0 {
                return false;
            }
        }
        let no_echo = src
            .and_then(|k| self.conns.get(k))
            .map(|c| !c.session.echo)
            .unwrap_or(false);
        let skip = |r: &SubRef| no_echo && Some(r.conn as usize) == src;
        let mut reached = false;

        let local = self.local_matches(acc, subj);
        for r in local.plain.iter() {
            if !skip(r) {
                reached |= self.deliver(*r, subj, reply, headers, payload);
            }
        }

        let remote = if self.nr_shards > 1 {
            Some(self.tables(acc).remote.matches(subj))
        } else {
            None
        };
        let mut fan = self
            .fanout
            .take()
            .unwrap_or_else(|| Fanout::new(self.nr_shards));
        if let Some(remote) = &remote {
            for &dst in remote.plain.iter() {
                fan.mark(dst);
                fan.plain[dst as usize] = true;
            }
        }

        // Queue groups: exactly one member of each group, across all shards.
        for g in local.queues.iter() {
            let eligible = g.members.iter().filter(|r| !skip(r)).count();
            let remote_g = remote.as_ref().and_then(|rm| rm.queue(&g.name));
            let nr_remote = remote_g.map_or(0, |rg| rg.members.len());
            // Remote entries are one per member on that shard, so one draw over local and remote
            // members picks a shard weighted by its member count, then the member.
            let nr_local = eligible;
            if nr_local + nr_remote == 0 {
                continue;
            }
            let choice = fan.pick(nr_local + nr_remote);
            let mut delivered = false;
            if choice < nr_local {
                // Like nats-server: if the chosen member refuses (a delivery-time deny, a sub that just
                // went), try the next one, so the group still gets the message.
                for k in 0..nr_local {
                    let nth = (choice + k) % nr_local;
                    if let Some(m) = g.members.iter().filter(|r| !skip(r)).nth(nth).copied() {
                        if self.deliver(m, subj, reply, headers, payload) {
                            delivered = true;
                            break;
                        }
                    }
                }
                reached |= delivered;
            }
            if !delivered && nr_remote > 0 {
                if let Some(rg) = remote_g {
                    let dst = if choice >= nr_local {
                        rg.members[choice - nr_local]
                    } else {
                        rg.members[fan.pick(nr_remote)]
                    };
                    fan.mark(dst);
                    fan.queues[dst as usize].push(g.name.clone());
                }
            }
        }
        if let Some(remote) = &remote {
            for rg in remote.queues.iter() {
                if local.queue(&rg.name).is_some() || rg.members.is_empty() {
                    continue;
                }
                let dst = rg.members[fan.pick(rg.members.len())];
                fan.mark(dst);
                fan.queues[dst as usize].push(rg.name.clone());
            }
        }

        // One delivery per interested shard. The publisher's next PONG waits until they are applied
        // (as with nats-server, a flushed publish has reached every subscriber's buffer).
        if !fan.dsts.is_empty() {
            if let Some(c) = src.or(self.barrier_for).and_then(|k| self.conns.get_mut(k)) {
                c.needs_barrier = true;
            }
        }
        if let Some(p) = self.probe.as_mut() {
            p.local |= reached;
        }
        for dst in std::mem::take(&mut fan.dsts) {
            let d = dst as usize;
            let mut del = Delivery::new(acc, subj, reply, headers, payload);
            del.plain = std::mem::take(&mut fan.plain[d]);
            del.queues = std::mem::take(&mut fan.queues[d]);
            if !del.queues.is_empty() && no_echo {
                // A queue copy passed back here must not reach the publisher itself.
                del.no_echo = src.map(|k| (self.id, k as u32));
            }
            if let Some(p) = self.probe.as_mut() {
                del.ask = Some(p.token);
                self.probe_asked[d] += 1;
            }
            self.outbox.push(dst, BusMsg::Deliver(del));
            reached = true;
        }
        self.fanout = Some(fan);
        reached
    }

    /// A message from shard `src`: match again locally and deliver; answer `src` if it asked.
    pub fn on_delivery(&mut self, d: Delivery, src: ShardId) {
        let subj = d.subject();
        let local = self.local_matches(d.account, subj);
        let relay = self.relay_token(d.ask);
        let (mut taken, mut forwarded) = (false, 0);
        // The publisher itself, when it is on this shard and asked not to get its own messages.
        let me = self.id;
        let skip = |r: &SubRef| d.no_echo == Some((me, r.conn));
        if d.plain {
            for r in local.plain.iter() {
                taken |= self.deliver(*r, subj, d.reply(), d.headers(), d.payload());
            }
        }
        for q in d.queues.iter() {
            match local.queue(q).filter(|g| !g.members.is_empty()) {
                Some(g) => {
                    let n = g.members.len();
                    let start = self.fanout.as_mut().map_or(0, |f| f.pick(n));
                    let got = (0..n).any(|k| {
                        let m = g.members[(start + k) % n];
                        !skip(&m) && self.deliver(m, subj, d.reply(), d.headers(), d.payload())
                    });
                    taken |= got;
                    if !got && self.forward_queue(&d, q, relay) {
                        forwarded += 1;
                    }
                }
                // No local member left (gone since the publisher chose this shard, or none may receive
                // this subject): pass the message on, so the group still gets it.
                None => {
                    if self.forward_queue(&d, q, relay) {
                        forwarded += 1;
                    }
                }
            }
        }
        self.finish_relay(src, d.ask, relay, taken, forwarded);
    }

    /// Sends a queue delivery on to another shard with members of group `q` that has not had its chance
    /// yet (weighted by member count), if any: true when sent. The copy asks with `ask` (see
    /// `Shard::finish_relay`). Every hop adds a shard to `tried`, so a message visits each shard at most
    /// once.
    fn forward_queue(&mut self, d: &Delivery, q: &Bytes, ask: Option<u64>) -> bool {
        let me = self.id;
        let remote = self.tables(d.account).remote.matches(d.subject());
        let Some(g) = remote.queue(q) else {
            return false;
        };
        let untried = |s: &ShardId| *s != me && !d.tried.contains(s);
        let n = g.members.iter().filter(|s| untried(s)).count();
        if n == 0 {
            return false;
        }
        let pick = self.fanout.as_mut().map_or(0, |f| f.pick(n));
        let Some(dst) = g.members.iter().filter(|s| untried(s)).nth(pick).copied() else {
            return false;
        };
        let mut tried = d.tried.clone();
        tried.push(me);
        let fwd = Delivery {
            account: d.account,
            data: d.data.clone(),
            subject_len: d.subject_len,
            reply_len: d.reply_len,
            headers_len: d.headers_len,
            plain: false,
            queues: vec![q.clone()],
            tried,
            ask,
            no_echo: d.no_echo,
        };
        self.outbox.push(dst, BusMsg::Deliver(fwd));
        true
    }

    /// The subscriptions of account `acc` on this shard that receive `subj`: the local table's match
    /// without those whose subscribe permissions forbid `subj`. The filter runs only when the match cache
    /// misses, so a permission-heavy subscriber costs nothing extra per message; its inputs (a sub's
    /// `filtered`, a connection's permissions) change only with a SUB/UNSUB (which makes the cache
    /// stale) or a login/reload (which calls `invalidate_cache`).
    pub fn local_matches(&mut self, acc: AccountId, subj: &[u8]) -> Arc<MatchResult<SubRef>> {
        self.tables(acc);
        let conns = &self.conns;
        self.accounts[acc as usize]
            .local
            .matches_filtered(subj, |r| delivery_allowed(conns, *r, subj))
    }

    /// Appends one MSG/HMSG for subscription `r`. Returns false when the connection or sub is gone or the
    /// delivery is filtered by the subscriber's subscribe permissions.
    pub fn deliver(
        &mut self,
        r: SubRef,
        subj: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) -> bool {
        if r.conn == super::imports::INTERNAL_CONN {
            return self.on_service_reply(r.sub, subj, reply, headers, payload);
        }
        let key = r.conn as usize;
        let Some(c) = self.conns.get_mut(key) else {
            return false;
        };
        if c.phase == Phase::Closing || c.resetting {
            return false;
        }
        // Subscribe-permission filtering already happened in `local_matches`: `r` came from a filtered result.
        let Some(sub) = c.subs.get_mut(r.sub as usize) else {
            return false;
        };
        let size = payload.len() + headers.map_or(0, |h| h.len());
        match headers {
            Some(h) if c.session.headers => {
                w::write_hmsg(&mut c.out, subj, &sub.sid, reply, h, payload)
            }
            _ => w::write_msg(&mut c.out, subj, &sub.sid, reply, payload),
        }
        sub.delivered += 1;
        let done = sub.max.is_some_and(|m| sub.delivered >= m);
        if let (Some(rp), Some(g)) = (reply, &mut c.reply_grants) {
            g.grant(rp, Instant::now());
        }
        self.count_out(key, size);
        if done {
            self.remove_sub(key, r.sub as usize);
        }
        self.check_pending(key);
        true
    }

    /// Counts one message of `size` payload bytes written to connection `key` (connection, account and
    /// shard figures) and marks the connection for this batch's flush.
    pub(crate) fn count_out(&mut self, key: ConnKey, size: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        c.stats.out_msgs += 1;
        c.stats.out_bytes += size as u64;
        let acc = c.account as usize;
        if let Some(t) = self.accounts.get_mut(acc) {
            t.stats.out_msgs += 1;
            t.stats.out_bytes += size as u64;
        }
        self.stats.out_msgs += 1;
        self.stats.out_bytes += size as u64;
        self.touch(key);
    }
}

/// The subscribe-permission delivery filter: false when `r` is a wildcard subscription its connection's
/// subscribe rules only partly permit (see `SubVerdict::AllowedFiltered`) and `subj` is not permitted. Gone connections and subscriptions, and
/// internal (service import) entries, pass: `deliver` handles them.
fn delivery_allowed(conns: &Slab<Conn>, r: SubRef, subj: &[u8]) -> bool {
    if r.conn == super::imports::INTERNAL_CONN {
        return true;
    }
    let Some(c) = conns.get(r.conn as usize) else {
        return true;
    };
    let (Some(sub), Some(p)) = (c.subs.get(r.sub as usize), &c.perms) else {
        return true;
    };
    if !sub.filtered {
        return true;
    }
    p.deliver_allowed(subj, sub.queue.as_deref())
}
