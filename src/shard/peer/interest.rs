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
//! table (`ShardId` of the sender), which `fanout.rs` matches.

use super::super::Shard;
use crate::auth::AccountId;
use crate::bus::{BusMsg, ShardId};
use bytes::Bytes;

impl Shard {
    /// Counts local interest; on 0→1 tells every other shard. Returns true when it told them.
    pub(crate) fn add_interest(
        &mut self,
        acc: AccountId,
        subj: &[u8],
        queue: Option<&[u8]>,
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
            self.announce(acc, k.0, k.1, true);
            return true;
        }
        false
    }

    /// Counts local interest down; on N→0 tells every other shard. Returns true when it told them.
    pub(crate) fn drop_interest(
        &mut self,
        acc: AccountId,
        subj: &[u8],
        queue: Option<&[u8]>,
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
            self.announce(acc, k.0, k.1, false);
            return true;
        }
        false
    }

    fn announce(&mut self, account: AccountId, subject: Bytes, queue: Option<Bytes>, add: bool) {
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
    ) {
        let t = self.tables(account);
        if add {
            let _ = t.remote.insert(subject, queue, src);
        } else {
            t.remote.remove(subject, queue, &src);
        }
    }
}
