//! The publish path (the hot path), on the publishing shard: permit → match locally → write → hand
//! the rest to the other shards.
//!
//! 1. `op_pub`: the account's mappings, then the permission check on the subject the message really
//!    goes to, before any other work (bounded per-connection cache). A denied publish costs nothing
//!    more.
//! 2. `match_and_deliver`: the account's `local` table gives this shard's subscribers; their MSG/HMSG
//!    frames are appended to their buffers (`write_msg`).
//! 3. Other shards and queue groups: `peer/fanout.rs` (one delivery per interested shard; a queue
//!    group's member chosen once, here or there).
//!
//! Accounts with mappings, stream exports or service imports go through `imports.rs` first.

use super::conn::{Conn, Phase, SubRef};
use super::leaf::deliver::QueueScope;
use super::reader::Flow;
use super::{ConnKey, Shard};
use crate::auth::AccountId;
use crate::bus::MsgRef;
use crate::protocol::errors::ProtoErr;
use crate::protocol::writer as w;
use crate::subject::{self, MatchResult};
use slab::Slab;
use std::sync::Arc;
use std::time::Instant;

/// Reply prefixes a client may not use (service-import replies, JetStream acks, gateway replies).
/// (Observed on nats-server 2.15.1: `$GNR.` is NOT reserved, `_GR_.` and `$GR.` are.)
const RESERVED_REPLY_PREFIXES: [&[u8]; 4] = [b"_R_.", b"$JS.ACK.", b"_GR_.", b"$GR."];

impl Shard {
    /// `PUB`/`HPUB` from connection `key`.
    pub fn op_pub(&mut self, key: ConnKey, msg: MsgRef<'_>) -> Flow {
        let Some(c) = self.conns.get_mut(key) else {
            return Flow::Close;
        };
        let size = msg.size() as u64;
        c.stats.in_msgs += 1;
        c.stats.in_bytes += size;
        self.stats.in_msgs += 1;
        self.stats.in_bytes += size;
        let acc = c.account;
        let t = self.tables(acc);
        t.stats.in_msgs += 1;
        t.stats.in_bytes += size;
        let c = &mut self.conns[key];
        if c.session.pedantic && !subject::is_valid_literal_subject(msg.subject) {
            // nats-server reports it and still delivers the message.
            self.send_err(key, &ProtoErr::InvalidPublishSubject);
        }
        // Like nats-server, the account's mappings apply first and the permissions judge the subject
        // the message really goes to.
        let mut mapped = Vec::new();
        let msg = msg.with_subject(self.map_subject(acc, msg.subject, &mut mapped));
        let c = &mut self.conns[key];
        let l = &mut c.login;
        if let Some(p) = &l.perms {
            let mut ok = l.pub_cache.check(p, msg.subject);
            if !ok {
                if let Some(g) = &mut l.reply_grants {
                    ok = g.consume(msg.subject, Instant::now());
                }
            }
            if !ok {
                // The connection's span names the account and user.
                tracing::error!(
                    "Publish Violation - Subject {:?}",
                    String::from_utf8_lossy(msg.subject)
                );
                self.tables(acc).stats.pub_violations += 1;
                self.send_err(key, &ProtoErr::PubViolation(msg.subject.to_vec()));
                return Flow::Continue;
            }
        }
        if let Some(r) = msg.reply {
            if RESERVED_REPLY_PREFIXES.iter().any(|p| r.starts_with(p)) {
                self.send_err(key, &ProtoErr::PubReplyViolation(r.to_vec()));
                return Flow::Continue;
            }
        }
        if self.conns[key].session.verbose {
            self.send_raw(key, w::OK);
        }
        self.start_probe(key, msg.reply);
        let reached = self.publish_mapped(Some(key), acc, msg, 0);
        match msg.reply {
            Some(r) => self.finish_request(key, msg.subject, r, reached),
            None => Flow::Continue,
        }
    }

    /// Delivers a message published in `acc` to every local subscriber and to every interested shard.
    /// `src` is the publishing connection (for `echo:false`), if it is on this shard.
    /// Returns true when anyone (local or another shard) was interested.
    pub fn match_and_deliver(
        &mut self,
        src: Option<ConnKey>,
        acc: AccountId,
        msg: MsgRef<'_>,
    ) -> bool {
        self.match_and_deliver_scoped(src, acc, msg, QueueScope::All)
    }

    /// `match_and_deliver` with the queue groups limited to `scope` (a message from a leaf hub).
    pub(crate) fn match_and_deliver_scoped(
        &mut self,
        src: Option<ConnKey>,
        acc: AccountId,
        msg: MsgRef<'_>,
        scope: QueueScope<'_>,
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
            .is_some_and(|c| !c.session.echo);
        let local = self.local_matches(acc, msg.subject);
        let frame = self.leaf_frame_begin(acc, src);
        let mut taken = false;
        for r in local.plain.iter() {
            if !(no_echo && Some(r.conn as usize) == src) {
                taken |= self.write_msg(*r, msg);
            }
        }
        let reached = self.fan_out(src, no_echo, acc, msg, &local, taken, scope);
        self.leaf_frame_end(frame, msg);
        reached
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
    pub fn write_msg(&mut self, r: SubRef, msg: MsgRef<'_>) -> bool {
        if r.conn == super::imports::INTERNAL_CONN {
            return self.on_service_reply(r.sub, msg);
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
        if c.link.is_some() {
            // A leaf hub's interest: one LMSG per link at the end of this message's delivery.
            let queue = sub.queue.clone();
            return self.link_target(key, queue.as_deref(), msg.subject);
        }
        match msg.headers {
            Some(h) if c.session.headers => w::write_hmsg(
                &mut c.out.buf,
                msg.subject,
                &sub.sid,
                msg.reply,
                h,
                msg.payload,
            ),
            _ => w::write_msg(
                &mut c.out.buf,
                msg.subject,
                &sub.sid,
                msg.reply,
                msg.payload,
            ),
        }
        sub.delivered += 1;
        let done = sub.max.is_some_and(|m| sub.delivered >= m);
        if let (Some(rp), Some(g)) = (msg.reply, &mut c.login.reply_grants) {
            g.grant(rp, Instant::now());
        }
        self.count_out(key, msg.size());
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
/// subscribe rules only partly permit (see `SubVerdict::AllowedFiltered`) and `subj` is not permitted.
/// Gone connections and subscriptions, and internal (service import) entries, pass: `write_msg`
/// handles them.
fn delivery_allowed(conns: &Slab<Conn>, r: SubRef, subj: &[u8]) -> bool {
    if r.conn == super::imports::INTERNAL_CONN {
        return true;
    }
    let Some(c) = conns.get(r.conn as usize) else {
        return true;
    };
    let (Some(sub), Some(p)) = (c.subs.get(r.sub as usize), &c.login.perms) else {
        return true;
    };
    if !sub.filtered {
        return true;
    }
    p.deliver_allowed(subj, sub.queue.as_deref())
}
