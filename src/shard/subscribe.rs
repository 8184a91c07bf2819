//! SUB and UNSUB: validate, permit, record the subscription in the account's `local` table, and tell the
//! other shards about interest only when this shard's count for (subject, queue) goes 0→1 or N→0.

use super::conn::{Phase, Sub, SubRef};
use super::reader::{After, Flow};
use super::{ConnKey, Shard};
use crate::auth::SubVerdict;
use crate::protocol::errors::ProtoErr;
use crate::subject;

impl Shard {
    /// `SUB <subject> [queue] <sid>`.
    pub fn op_sub(&mut self, key: ConnKey, subj: &[u8], queue: Option<&[u8]>, sid: &[u8]) -> Flow {
        #[cfg(debug_assertions)]
        fault::panic_on(subj);
        if !self.conns.contains(key) {
            return Flow::Close;
        }
        // nats-server's order: permissions, token limit, subscription limit, a repeated sid
        // (kept, +OK), and only then the subject's validity (its sublist refuses the insert).
        let Some(c) = self.conns.get_mut(key) else {
            return Flow::Close;
        };
        let mut filtered = false;
        if let Some(p) = &c.login.perms {
            match p.can_subscribe(subj, queue) {
                SubVerdict::Allowed => {}
                SubVerdict::AllowedFiltered => filtered = true,
                SubVerdict::Denied => {
                    let acc = c.account;
                    // The connection's span names the account and user.
                    tracing::error!(
                        "Subscription Violation - Subject {:?}",
                        String::from_utf8_lossy(subj)
                    );
                    self.tables(acc).stats.sub_violations += 1;
                    self.send_err(
                        key,
                        &ProtoErr::SubViolation {
                            subject: subj.to_vec(),
                            queue: queue.map(|q| q.to_vec()),
                        },
                    );
                    return Flow::Continue;
                }
            }
        }
        let max_tokens = self.settings.max_sub_tokens as usize;
        if max_tokens > 0 && subj.split(|&b| b == b'.').count() > max_tokens {
            self.send_err(key, &ProtoErr::SubTooManyTokens(subj.to_vec()));
            return Flow::Continue;
        }
        let Some(c) = self.conns.get_mut(key) else {
            return Flow::Close;
        };
        if c.max_subs > 0 && c.subs.len() >= c.max_subs as usize {
            self.send_err(key, &ProtoErr::MaxSubscriptions);
            return Flow::Continue;
        }
        if c.sids.contains_key(sid) {
            // nats-server keeps the first subscription and ignores the new subject.
            return self.verbose_ok(key);
        }
        if !subject::is_valid_subject(subj) {
            self.send_err(key, &ProtoErr::InvalidSubject);
            return Flow::Continue;
        }
        let Some(c) = self.conns.get_mut(key) else {
            return Flow::Close;
        };
        let idx = c.subs.insert(Sub {
            sid: sid.into(),
            subject: subj.into(),
            queue: queue.map(Into::into),
            delivered: 0,
            max: None,
            filtered,
        });
        c.sids.insert(sid.into(), idx);
        let acc = c.account;
        let r = SubRef {
            conn: key as u32,
            sub: idx as u32,
        };
        let _ = self.tables(acc).local.insert(subj, queue, r);
        self.add_interest(acc, subj, queue);
        self.leaf_interest(acc, subj, queue, true);
        // Another connection's announcement of the same interest may still be on its way: any SUB made
        // while this shard has announcements no barrier has covered yet waits for one.
        if self.barriers.unsynced() {
            if let Some(c) = self.conns.get_mut(key) {
                c.needs_barrier = true;
            }
        }
        self.verbose_ok(key)
    }

    /// `UNSUB <sid> [max]`: immediate, or after `max` deliveries in total (earlier ones count).
    pub fn op_unsub(&mut self, key: ConnKey, sid: &[u8], max: Option<u64>) -> Flow {
        let Some(c) = self.conns.get_mut(key) else {
            return Flow::Close;
        };
        if let Some(&idx) = c.sids.get(sid) {
            match (max, c.subs.get_mut(idx)) {
                (Some(m), Some(s)) if m > s.delivered => s.max = Some(m),
                _ => self.remove_sub(key, idx),
            }
        }
        self.verbose_ok(key)
    }

    /// `+OK` in verbose mode, after the visibility barrier when this connection changed interest.
    pub fn verbose_ok(&mut self, key: ConnKey) -> Flow {
        match self.conns.get(key) {
            Some(c) if c.session.verbose && c.phase != Phase::Closing => Flow::Barrier(After::Ok),
            _ => Flow::Continue,
        }
    }

    /// Removes one subscription of `key` from every table.
    pub fn remove_sub(&mut self, key: ConnKey, idx: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if !c.subs.contains(idx) {
            return;
        }
        let sub = c.subs.remove(idx);
        c.sids.remove(&sub.sid);
        let acc = match c.link.as_mut() {
            Some(l) => l.sub_accounts.remove(&idx).unwrap_or(c.account),
            None => c.account,
        };
        // A link's key goes with its subscription (also when the link closes).
        let peer_key = c.link.as_mut().and_then(|l| {
            let k = (
                acc,
                (
                    bytes::Bytes::copy_from_slice(&sub.subject),
                    sub.queue.as_deref().map(bytes::Bytes::copy_from_slice),
                ),
            );
            match l.peer_subs.get(&k) {
                Some(i) if *i == idx => l.peer_subs.remove_entry(&k).map(|(k, _)| k),
                _ => None,
            }
        });
        let is_link = c.link.is_some();
        // A leaf link's queue members were announced as fallback members.
        let kind = c.link.as_ref().map(|l| l.kind);
        let hub = kind.is_some_and(|k| k.is_leaf());
        // A link's subscriptions are the peer's interest, never ours to tell a link — except a leaf
        // node attached to us, whose interest is local interest (routes and our hubs hear it).
        if !is_link || kind == Some(super::leaf::LinkKind::Spoke) {
            self.leaf_interest(acc, &sub.subject, sub.queue.as_deref(), false);
        }
        let r = SubRef {
            conn: key as u32,
            sub: idx as u32,
        };
        self.tables(acc)
            .local
            .remove(&sub.subject, sub.queue.as_deref(), &r);
        // A route's or our hub's interest gone: the leaf nodes attached to us hear of it.
        if let (Some(k), Some(false)) = (&peer_key, kind.map(|k| k == super::leaf::LinkKind::Spoke))
        {
            self.announce_to_spokes(acc, &k.1);
        }
        // The last queue member leaving this shard: the next PONG waits until no other shard routes the
        // group's messages here any more (they would find no member and be lost).
        let queue = sub.queue.as_deref();
        if self.drop_interest_as(acc, &sub.subject, queue, hub) && queue.is_some() {
            if let Some(c) = self.conns.get_mut(key) {
                c.needs_barrier = true;
            }
        }
    }

    /// Removes every subscription of `key` (connection closing, or moved to another account).
    pub fn remove_all_subs(&mut self, key: ConnKey) {
        let idxs: Vec<usize> = match self.conns.get(key) {
            Some(c) => c.subs.iter().map(|(i, _)| i).collect(),
            None => return,
        };
        for idx in idxs {
            self.remove_sub(key, idx);
        }
    }
}

/// Fault injection for the tests that prove a panicking shard brings the process down (debug builds
/// only: release binaries have no such hook). `CORENATS_FAULT_PANIC_SUBJECT=<subject>` makes a SUB to
/// exactly that subject panic the shard that handles it.
#[cfg(debug_assertions)]
mod fault {
    use std::sync::OnceLock;

    pub(super) fn panic_on(subject: &[u8]) {
        static SUBJECT: OnceLock<Option<Vec<u8>>> = OnceLock::new();
        let armed = SUBJECT.get_or_init(|| {
            std::env::var("CORENATS_FAULT_PANIC_SUBJECT")
                .ok()
                .filter(|s| !s.is_empty())
                .map(String::into_bytes)
        });
        if armed.as_deref() == Some(subject) {
            panic!("injected fault: SUB {}", String::from_utf8_lossy(subject));
        }
    }
}
