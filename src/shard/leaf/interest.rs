//! Interest across a leaf link, both directions.
//!
//! Ours → the hub: `leaf_interest` counts the bound account's subscriptions on every shard (local SUBs
//! and UNSUBs, other shards' `Interest`), and `announce_to_link` brings the hub's view of a key to the
//! count: plain interest as `LS+` on 0→1 and `LS-` on 1→0; a queue group as `LS+ <subject> <queue>
//! <members>` on every change and `LS-` when none is left. Keys the hub's `import` permissions (or
//! our `deny_imports`) refuse are never sent: a nats-server hub closes the link on the first one.
//!
//! The hub's → ours: `LS+`/`LS-` become subscriptions of the link connection in the bound account's
//! `local` table, announced to the other shards like a client's (`add_interest`), but never counted
//! as our interest.

use super::super::conn::{Sub, SubRef};
use super::super::{ConnKey, Shard};
use super::Key;
use crate::auth::{AccountId, SubVerdict};
use crate::protocol::leaf as wire;
use bytes::Bytes;

impl Shard {
    /// A client subscription here, or another shard's announcement, changed the interest of account
    /// `acc` in (`subj`, `queue`) by one. Does nothing unless the account is bound to a remote.
    pub(crate) fn leaf_interest(
        &mut self,
        acc: AccountId,
        subj: &[u8],
        queue: Option<&[u8]>,
        add: bool,
    ) {
        if !self.leaf.binds(acc) {
            return;
        }
        let k: Key = (
            Bytes::copy_from_slice(subj),
            queue.map(Bytes::copy_from_slice),
        );
        let Some(map) = self.leaf.interest.get_mut(&acc) else {
            return;
        };
        let n = if add {
            let n = map.entry(k.clone()).or_insert(0);
            *n += 1;
            *n
        } else {
            match map.get_mut(&k) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    *n
                }
                Some(_) => {
                    map.remove(&k);
                    0
                }
                None => return,
            }
        };
        let links: Vec<ConnKey> = self
            .leaf
            .remotes
            .iter()
            .filter(|r| r.account == acc)
            .filter_map(|r| r.conn)
            .collect();
        for key in links {
            self.announce_to_link(key, &k, n);
        }
    }

    /// Brings the hub's view of `k` on link `key` to `n` subscriptions.
    fn announce_to_link(&mut self, key: ConnKey, k: &Key, n: u32) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let Some(link) = c.link.as_mut() else {
            return;
        };
        if let Some(p) = &link.perms {
            if p.can_subscribe(&k.0, k.1.as_deref()) == SubVerdict::Denied {
                return;
            }
        }
        let before = link.sent.get(k).copied().unwrap_or(0);
        let buf = &mut c.out.buf;
        match &k.1 {
            None if before == 0 && n > 0 => {
                wire::write_sub(buf, &k.0, None);
                link.sent.insert(k.clone(), 1);
            }
            None if before > 0 && n == 0 => {
                wire::write_unsub(buf, &k.0, None);
                link.sent.remove(k);
            }
            Some(q) if n > 0 && n != before => {
                wire::write_sub(buf, &k.0, Some((q, n)));
                link.sent.insert(k.clone(), n);
            }
            Some(q) if n == 0 && before > 0 => {
                wire::write_unsub(buf, &k.0, Some(q));
                link.sent.remove(k);
            }
            _ => return,
        }
        self.touch(key);
    }

    /// Right after the link's handshake: the loop-detection subject, then everything the account
    /// wants.
    pub(crate) fn link_send_all(&mut self, key: ConnKey, remote: usize) {
        let Some(r) = self.leaf.remotes.get(remote) else {
            return;
        };
        let (acc, lds) = (r.account, r.lds.clone());
        if let Some(c) = self.conns.get_mut(key) {
            wire::write_sub(&mut c.out.buf, &lds, None);
        }
        let all: Vec<(Key, u32)> = self
            .leaf
            .interest
            .get(&acc)
            .map(|m| m.iter().map(|(k, n)| (k.clone(), *n)).collect())
            .unwrap_or_default();
        for (k, n) in all {
            self.announce_to_link(key, &k, n);
        }
        self.touch(key);
    }

    /// The hub's `LS+`. `Err` with nats-server's text when it is our own loop-detection subject.
    pub(crate) fn link_sub(
        &mut self,
        key: ConnKey,
        subject: &[u8],
        queue: Option<&[u8]>,
    ) -> Result<(), String> {
        let Some(c) = self.conns.get(key) else {
            return Ok(());
        };
        let Some(link) = c.link.as_ref() else {
            return Ok(());
        };
        let remote = &self.leaf.remotes[link.remote];
        if self.leaf.is_own_lds(remote.account, subject) {
            let name = self.account_name(remote.account);
            return Err(format!(
                "Loop detected for leafnode account={name:?}. Delaying attempt to reconnect for 30s"
            ));
        }
        if !crate::subject::is_valid_subject(subject) {
            return Ok(());
        }
        // A literal subject we may not send to the hub (its `export` rules, our `deny_exports`) is no
        // interest of ours: nats-server's spoke skips it too, so a request to it gets no-responders.
        let exempt = [&b"$LDS."[..], b"$GR.", b"_GR_."]
            .iter()
            .any(|p| subject.starts_with(p));
        if let Some(p) = &link.perms {
            if !exempt && !crate::subject::has_wildcard(subject) && !p.can_publish(subject) {
                return Ok(());
            }
        }
        let k: Key = (
            Bytes::copy_from_slice(subject),
            queue.map(Bytes::copy_from_slice),
        );
        if link.hub_subs.contains_key(&k) {
            // A queue group's new member count: one entry stands for the hub's whole group.
            return Ok(());
        }
        let acc = c.account;
        let Some(c) = self.conns.get_mut(key) else {
            return Ok(());
        };
        let idx = c.subs.insert(Sub {
            sid: Box::default(),
            subject: subject.into(),
            queue: queue.map(Into::into),
            delivered: 0,
            max: None,
            filtered: false,
        });
        if let Some(link) = c.link.as_mut() {
            link.hub_subs.insert(k, idx);
        }
        let r = SubRef {
            conn: key as u32,
            sub: idx as u32,
        };
        let _ = self.tables(acc).local.insert(subject, queue, r);
        self.add_interest_as(acc, subject, queue, true);
        Ok(())
    }

    /// The hub's `LS-`.
    pub(crate) fn link_unsub(&mut self, key: ConnKey, subject: &[u8], queue: Option<&[u8]>) {
        let k: Key = (
            Bytes::copy_from_slice(subject),
            queue.map(Bytes::copy_from_slice),
        );
        let idx = self
            .conns
            .get_mut(key)
            .and_then(|c| c.link.as_mut())
            .and_then(|l| l.hub_subs.remove(&k));
        if let Some(idx) = idx {
            self.remove_sub(key, idx);
        }
    }
}
