//! `Interest`: which (account, subject, queue) this shard's subscribers want, told to the other
//! shards — both ends.
//!
//! Sending: a shard counts its local subscriptions per (account, subject, queue) and tells every other
//! shard only when a plain count goes 0→1 or N→0 ("interest, not traffic"). Queue members are told one
//! by one, so the others can weight their choice of shard by member count. The messages go through the
//! same FIFO inbox as deliveries, so a SUB reaches another shard before any later message this shard
//! forwards there.
//!
//! Receiving: the destination inserts or removes one entry per announcement in the account's `remote`
//! table (`ShardId` of the sender, marked with [`FALLBACK`] for a leaf hub's queue member), which
//! `fanout.rs` matches.

use super::super::Shard;
use crate::auth::AccountId;
use crate::bus::{BusMsg, ShardId};
use bytes::Bytes;

/// Set on a `remote` table entry (`ShardId | FALLBACK`) for a queue member that stands for a leaf
/// hub's group: the fan-out picks such a member only when its group has no other member anywhere, as
/// nats-server sends a client's message to a leaf's member only when no local or routed one exists.
/// Shard ids stay far below it.
pub(crate) const FALLBACK: ShardId = 0x8000;

impl Shard {
    /// Counts local interest; on 0→1 tells every other shard. Returns true when it told them.
    pub(crate) fn add_interest(
        &mut self,
        acc: AccountId,
        subj: &[u8],
        queue: Option<&[u8]>,
    ) -> bool {
        self.add_interest_as(acc, subj, queue, false)
    }

    /// `add_interest`; `fallback`: the member is a leaf hub's group (see [`FALLBACK`]).
    pub(crate) fn add_interest_as(
        &mut self,
        acc: AccountId,
        subj: &[u8],
        queue: Option<&[u8]>,
        fallback: bool,
    ) -> bool {
        let k = (
            Bytes::copy_from_slice(subj),
            queue.map(Bytes::copy_from_slice),
        );
        let n = self.tables(acc).interest.entry(k.clone()).or_insert(0);
        *n += 1;
        // Plain interest is announced on 0→1 only; every queue member is announced, so other shards
        // can weight their choice of shard by member count.
        if (*n == 1 || k.1.is_some()) && self.nr_shards > 1 {
            self.announce(acc, k.0, k.1, true, fallback);
            return true;
        }
        false
    }

    /// Counts local interest down; on N→0 tells every other shard. Returns true when it told them.
    /// `fallback`: as given to `add_interest_as` for this member.
    pub(crate) fn drop_interest_as(
        &mut self,
        acc: AccountId,
        subj: &[u8],
        queue: Option<&[u8]>,
        fallback: bool,
    ) -> bool {
        let k = (
            Bytes::copy_from_slice(subj),
            queue.map(Bytes::copy_from_slice),
        );
        let t = self.tables(acc);
        let queue_member = k.1.is_some();
        let gone = match t.interest.get_mut(&k) {
            Some(n) if *n > 1 => {
                *n -= 1;
                queue_member
            }
            Some(_) => {
                t.interest.remove(&k);
                true
            }
            None => false,
        };
        if gone && self.nr_shards > 1 {
            self.announce(acc, k.0, k.1, false, fallback);
            return true;
        }
        false
    }

    fn announce(
        &mut self,
        account: AccountId,
        subject: Bytes,
        queue: Option<Bytes>,
        add: bool,
        fallback: bool,
    ) {
        self.barriers.announced_one();
        for dst in 0..self.nr_shards as u16 {
            if dst == self.id {
                continue;
            }
            self.outbox.push(
                dst,
                BusMsg::Interest {
                    account,
                    subject: subject.clone(),
                    queue: queue.clone(),
                    add,
                    fallback,
                },
            );
        }
    }

    /// Another shard's interest changed: one entry more or less in the account's `remote` table.
    pub(crate) fn apply_interest(
        &mut self,
        src: ShardId,
        account: AccountId,
        subject: &[u8],
        queue: Option<&[u8]>,
        add: bool,
        fallback: bool,
    ) {
        let t = self.tables(account);
        let entry = if fallback && queue.is_some() {
            src | FALLBACK
        } else {
            src
        };
        if add {
            let _ = t.remote.insert(subject, queue, entry);
        } else {
            t.remote.remove(subject, queue, &entry);
        }
        // Links live on shard 0 only, so this is a client's interest on another shard.
        if !fallback {
            self.leaf_interest(account, subject, queue, add);
        }
    }
}
