//! Interest across a link, both directions.
//!
//! Ours → the peer: `leaf_interest` counts the subscriptions of every account a link carries (local
//! SUBs and UNSUBs, other shards' `Interest`), and `announce_to_link` brings the peer's view of a key
//! to the count: plain interest as `LS+`/`RS+` on 0→1 and `LS-`/`RS-` on 1→0; a queue group as
//! `LS+ <subject> <queue> <members>` on every change and `LS-` when none is left (a route's ops name
//! the account first). Keys a hub's `import` permissions (or our `deny_imports`) refuse are never
//! sent: a nats-server hub closes the link on the first one.
//!
//! The peer's → ours: `LS+`/`RS+` become subscriptions of the link connection in the account's
//! `local` table, announced to the other shards like a client's (`add_interest`), but never counted
//! as our interest (so never announced on another link).

use super::super::conn::{Sub, SubRef};
use super::super::{ConnKey, Shard};
use super::{Key, LinkKind};
use crate::auth::{AccountId, SubVerdict};
use crate::protocol::link as wire;
use bytes::Bytes;

impl Shard {
    /// A client subscription here, or another shard's announcement, changed the interest of account
    /// `acc` in (`subj`, `queue`) by one. Does nothing unless a link carries the account.
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
        let map = self.leaf.interest.entry(acc).or_default();
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
            .chain(self.leaf.routes.iter().copied())
            .collect();
        for key in links {
            self.announce_to_link(key, acc, &k, n);
        }
        self.announce_to_spokes(acc, &k);
    }

    /// What leaf node `key` attached to us should know of key `k` in `acc`: everything the account
    /// wants (local interest, other leaf nodes', routes' and our hubs'), minus its own.
    fn spoke_view(&self, key: ConnKey, acc: AccountId, k: &Key) -> u32 {
        let total = self
            .leaf
            .interest
            .get(&acc)
            .and_then(|m| m.get(k))
            .copied()
            .unwrap_or(0);
        let sk = (acc, k.clone());
        let own = self
            .conns
            .get(key)
            .and_then(|c| c.link.as_ref())
            .is_some_and(|l| l.peer_subs.contains_key(&sk));
        let others = self
            .leaf
            .routes
            .iter()
            .chain(self.leaf.remotes.iter().filter_map(|r| r.conn.as_ref()))
            .filter_map(|c| self.conns.get(*c))
            .filter_map(|c| c.link.as_ref())
            .filter(|l| l.peer_subs.contains_key(&sk))
            .count() as u32;
        (total - u32::from(own && total > 0)) + others
    }

    /// Brings every leaf node attached to us in account `acc` up to date on key `k`.
    pub(crate) fn announce_to_spokes(&mut self, acc: AccountId, k: &Key) {
        if self.leaf.spokes.is_empty() {
            return;
        }
        let spokes: Vec<ConnKey> = self
            .leaf
            .spokes
            .iter()
            .copied()
            .filter(|s| self.conns.get(*s).is_some_and(|c| c.account == acc))
            .collect();
        for s in spokes {
            let n = self.spoke_view(s, acc, k);
            self.announce_to_link(s, acc, k, n);
        }
    }

    /// Brings the peer's view of `k` in account `acc` on link `key` to `n` subscriptions.
    fn announce_to_link(&mut self, key: ConnKey, acc: AccountId, k: &Key, n: u32) {
        let auth = self.auth.clone();
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
        // A route names the account.
        let account = match link.kind {
            LinkKind::Hub | LinkKind::Spoke => None,
            LinkKind::Route => Some(
                auth.accounts
                    .get(acc as usize)
                    .map_or(&b"$G"[..], |a| a.name.as_bytes()),
            ),
        };
        let sk = (acc, k.clone());
        let before = link.sent.get(&sk).copied().unwrap_or(0);
        let buf = &mut c.out.buf;
        match &k.1 {
            None if before == 0 && n > 0 => {
                wire::write_sub(buf, account, &k.0, None);
                link.sent.insert(sk, 1);
            }
            None if before > 0 && n == 0 => {
                wire::write_unsub(buf, account, &k.0, None);
                link.sent.remove(&sk);
            }
            Some(q) if n > 0 && n != before => {
                wire::write_sub(buf, account, &k.0, Some((q, n)));
                link.sent.insert(sk, n);
            }
            Some(q) if n == 0 && before > 0 => {
                wire::write_unsub(buf, account, &k.0, Some(q));
                link.sent.remove(&sk);
            }
            _ => return,
        }
        self.touch(key);
    }

    /// Right after a hub link's handshake: the loop-detection subject, then everything the account
    /// wants.
    pub(crate) fn link_send_all(&mut self, key: ConnKey, remote: usize) {
        let Some(r) = self.leaf.remotes.get(remote) else {
            return;
        };
        let (acc, lds) = (r.account, r.lds.clone());
        if let Some(c) = self.conns.get_mut(key) {
            wire::write_sub(&mut c.out.buf, None, &lds, None);
        }
        self.send_account_interest(key, acc);
    }

    /// Right after a leaf node attached to us: our loop-detection subject for its account, then
    /// everything the account wants (local interest, other leaf nodes', routes' and our hubs'; its
    /// own loop-detection subject comes back only if another path carries it: a loop).
    pub(crate) fn spoke_send_all(&mut self, key: ConnKey) {
        let Some(acc) = self.conns.get(key).map(|c| c.account) else {
            return;
        };
        // Our loop-detection subject for the account first, as nats-server's hub sends it.
        let lds = self.leaf.lds_for(acc);
        if let Some(c) = self.conns.get_mut(key) {
            wire::write_sub(&mut c.out.buf, None, &lds, None);
        }
        let mut keys: Vec<Key> = self
            .leaf
            .interest
            .get(&acc)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for l in self
            .leaf
            .routes
            .iter()
            .chain(self.leaf.remotes.iter().filter_map(|r| r.conn.as_ref()))
            .filter_map(|c| self.conns.get(*c))
            .filter_map(|c| c.link.as_ref())
        {
            keys.extend(
                l.peer_subs
                    .keys()
                    .filter(|(a, _)| *a == acc)
                    .map(|(_, k)| k.clone()),
            );
        }
        keys.sort();
        keys.dedup();
        for k in keys {
            let n = self.spoke_view(key, acc, &k);
            self.announce_to_link(key, acc, &k, n);
        }
        self.touch(key);
    }

    /// Right after a route registered: every account's interest.
    pub(crate) fn route_send_all(&mut self, key: ConnKey) {
        let mut accs: Vec<AccountId> = self.leaf.interest.keys().copied().collect();
        accs.sort_unstable();
        for acc in accs {
            self.send_account_interest(key, acc);
        }
    }

    fn send_account_interest(&mut self, key: ConnKey, acc: AccountId) {
        let all: Vec<(Key, u32)> = self
            .leaf
            .interest
            .get(&acc)
            .map(|m| m.iter().map(|(k, n)| (k.clone(), *n)).collect())
            .unwrap_or_default();
        for (k, n) in all {
            self.announce_to_link(key, acc, &k, n);
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
        let acc = c.account;
        if self.leaf.is_own_lds(acc, subject) {
            let name = self.account_name(acc);
            return Err(format!(
                "Loop detected for leafnode account={name:?}. Delaying attempt to reconnect for 30s"
            ));
        }
        if !crate::subject::is_valid_subject(subject) {
            return Ok(());
        }
        // A literal subject we may not send to the peer (a hub's `export` rules, our
        // `deny_exports`; a leaf user's subscribe permissions) is no interest of ours: nats-server's
        // spoke skips it too, so a request to it gets no-responders; its hub closes the link.
        let exempt = [&b"$LDS."[..], b"$GR.", b"_GR_."]
            .iter()
            .any(|p| subject.starts_with(p));
        if let Some(p) = &link.perms {
            if !exempt && !crate::subject::has_wildcard(subject) && !p.can_publish(subject) {
                if link.kind == LinkKind::Spoke {
                    return Err(format!(
                        "Permissions Violation for Subscription to {:?}",
                        String::from_utf8_lossy(subject)
                    ));
                }
                return Ok(());
            }
        }
        self.peer_sub(key, acc, subject, queue);
        Ok(())
    }

    /// A route's `RS+` in the account it names (an account we do not have is ignored, as
    /// nats-server's static accounts do).
    pub(crate) fn route_sub(
        &mut self,
        key: ConnKey,
        account: &[u8],
        subject: &[u8],
        queue: Option<&[u8]>,
    ) {
        let Some(acc) = self.route_account(key, account) else {
            tracing::debug!(
                "Route subscription for unknown account {:?} ignored",
                String::from_utf8_lossy(account)
            );
            return;
        };
        if crate::subject::is_valid_subject(subject) {
            self.peer_sub(key, acc, subject, queue);
        }
    }

    /// The peer's interest in (`subject`, `queue`) of account `acc` becomes a subscription of link
    /// `key` (once per key: a queue group's new member count changes nothing here).
    fn peer_sub(&mut self, key: ConnKey, acc: AccountId, subject: &[u8], queue: Option<&[u8]>) {
        let k = (
            acc,
            (
                Bytes::copy_from_slice(subject),
                queue.map(Bytes::copy_from_slice),
            ),
        );
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let Some(link) = c.link.as_ref() else {
            return;
        };
        if link.peer_subs.contains_key(&k) {
            return;
        }
        let kind = link.kind;
        let idx = c.subs.insert(Sub {
            sid: Box::default(),
            subject: subject.into(),
            queue: queue.map(Into::into),
            delivered: 0,
            max: None,
            filtered: false,
        });
        if let Some(link) = c.link.as_mut() {
            link.peer_subs.insert(k.clone(), idx);
            if kind == LinkKind::Route {
                link.sub_accounts.insert(idx, acc);
            }
        }
        let r = SubRef {
            conn: key as u32,
            sub: idx as u32,
        };
        let _ = self.tables(acc).local.insert(subject, queue, r);
        // A leaf's queue member is chosen only when no other member exists; a route's is ordinary.
        self.add_interest_as(acc, subject, queue, kind.is_leaf());
        if kind == LinkKind::Spoke {
            // A leaf node attached to us is local interest: routes, our hubs and other leaf nodes
            // hear it.
            self.leaf_interest(acc, subject, queue, true);
        } else {
            self.announce_to_spokes(acc, &k.1);
        }
    }

    /// The peer's `LS-`/`RS-` (`account`: a route's account field).
    pub(crate) fn link_unsub(
        &mut self,
        key: ConnKey,
        account: Option<&[u8]>,
        subject: &[u8],
        queue: Option<&[u8]>,
    ) {
        let acc = match account {
            None => match self.conns.get(key) {
                Some(c) => c.account,
                None => return,
            },
            Some(a) => match self.route_account(key, a) {
                Some(acc) => acc,
                None => return,
            },
        };
        let k = (
            acc,
            (
                Bytes::copy_from_slice(subject),
                queue.map(Bytes::copy_from_slice),
            ),
        );
        let idx = self
            .conns
            .get_mut(key)
            .and_then(|c| c.link.as_mut())
            .and_then(|l| l.peer_subs.get(&k).copied());
        if let Some(idx) = idx {
            self.remove_sub(key, idx);
        }
    }
}
