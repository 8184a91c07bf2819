//! `Deliver`: a message crossing to the other shards, both ends.
//!
//! Sending (the publishing shard, after its local plain subscribers got the message): the account's
//! `remote` table says which other shards have plain interest and which hold members of which queue
//! groups. Each interested shard gets ONE `Delivery`, never one per subscriber; it carries the
//! message once (`Bytes`) and says whether the destination's plain subscribers take it and for which
//! queue groups it was chosen.
//!
//! Queue groups: each group gets the message exactly once across all shards. One draw over the local
//! members and the remote entries (one per member on its shard) picks the member's shard weighted by
//! member count; a local pick is written here, a remote one joins that shard's delivery.
//!
//! Receiving (`on_delivery`, from the inbox): the destination matches the subject again against its
//! own `local` table (the only truth about who is subscribed there), writes to its plain subscribers
//! and to one member of each group it was chosen for. When no member there can take it (the last one
//! just left, or every one refuses it), it passes the message on to a shard that has not had its
//! chance yet (`tried`), so the group still gets it; a message visits each shard at most once.

use super::super::conn::SubRef;
use super::super::leaf::deliver::QueueScope;
use super::super::{ConnKey, Shard};
use super::interest::FALLBACK;
use crate::auth::AccountId;
use crate::bus::{BusMsg, Delivery, MsgRef, ShardId};
use crate::subject::MatchResult;
use bytes::Bytes;

/// Scratch space for one publish's cross-shard fan-out, reused between publishes (no allocation once
/// warm). All marks are cleared by the publish that set them.
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

    /// A pseudo-random index below `n` (queue member choice, weighted mapping draws).
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

/// The `nth` remote-table entry of the kind asked for (a leaf hub's group member when `fallback`,
/// else any other), as a shard id. Without leaf remotes anywhere there is only one kind.
#[inline]
fn nth_member(
    members: &[ShardId],
    nth: usize,
    fallback: bool,
    links_anywhere: bool,
) -> Option<ShardId> {
    if !links_anywhere {
        return members.get(nth).copied();
    }
    members
        .iter()
        .filter(|s| (**s & FALLBACK != 0) == fallback)
        .nth(nth)
        .map(|s| *s & !FALLBACK)
}

impl Shard {
    /// The part of a publish that concerns other shards and queue groups: chooses each group's member
    /// (here or on another shard), and sends one `Delivery` per interested shard. `local` is this
    /// shard's match, whose plain subscribers are already written (`local_taken`: one took it);
    /// `no_echo`: `src` does not get its own messages. Returns true when anyone took the message here
    /// or it went to another shard.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fan_out(
        &mut self,
        src: Option<ConnKey>,
        no_echo: bool,
        acc: AccountId,
        msg: MsgRef<'_>,
        local: &MatchResult<SubRef>,
        local_taken: bool,
        scope: QueueScope<'_>,
    ) -> bool {
        let skip = |r: &SubRef| no_echo && Some(r.conn as usize) == src;
        let mut reached = local_taken;
        let remote = if self.nr_shards > 1 {
            Some(self.tables(acc).remote.matches(msg.subject))
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

        // Queue groups: exactly one member of each group, across all shards. A leaf hub's member
        // (a link's subscription here, a `FALLBACK` entry for another shard's) is chosen only when
        // the group has no other member anywhere, as nats-server does for a client's message.
        // Without leaf remotes (the usual case) there are no `FALLBACK` entries and no link members:
        // every count below is then the plain one and every pick a plain index.
        // Leaf links exist somewhere (then some `remote` entries may carry `FALLBACK`): remotes
        // we dial, or leaf nodes attaching to us.
        let leafnodes = &self.settings.leafnodes;
        let links_anywhere = !leafnodes.remotes.is_empty() || leafnodes.port.is_some();
        let links_here = self.leaf.active;
        for g in local.queues.iter() {
            if !scope.allows(&g.name) {
                continue;
            }
            let conns = &self.conns;
            let is_link = |r: &SubRef| {
                links_here
                    && conns
                        .get(r.conn as usize)
                        .and_then(|c| c.link.as_ref())
                        .is_some_and(|l| l.kind.is_leaf())
            };
            let remote_g = remote.as_ref().and_then(|rm| rm.queue(&g.name));
            let normal_local = g.members.iter().filter(|r| !skip(r) && !is_link(r)).count();
            let all_remote = remote_g.map_or(0, |rg| rg.members.len());
            let normal_remote = match remote_g {
                Some(rg) if links_anywhere => {
                    rg.members.iter().filter(|s| **s & FALLBACK == 0).count()
                }
                _ => all_remote,
            };
            let fallback = normal_local + normal_remote == 0;
            // Remote entries are one per member on that shard, so one draw over local and remote
            // members picks a shard weighted by its member count, then the member.
            let (nr_local, nr_remote) = if fallback {
                let links = g.members.iter().filter(|r| !skip(r) && is_link(r)).count();
                (links, all_remote - normal_remote)
            } else {
                (normal_local, normal_remote)
            };
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
                    let conns = &self.conns;
                    let is_link = |r: &SubRef| {
                        links_here
                            && conns
                                .get(r.conn as usize)
                                .and_then(|c| c.link.as_ref())
                                .is_some_and(|l| l.kind.is_leaf())
                    };
                    let pick = g
                        .members
                        .iter()
                        .filter(|r| !skip(r) && is_link(r) == fallback)
                        .nth(nth)
                        .copied();
                    if let Some(m) = pick {
                        if self.write_msg(m, msg) {
                            delivered = true;
                            break;
                        }
                    }
                }
                reached |= delivered;
            }
            if !delivered && nr_remote > 0 {
                let nth = if choice >= nr_local {
                    choice - nr_local
                } else {
                    fan.pick(nr_remote)
                };
                let dst =
                    remote_g.and_then(|rg| nth_member(&rg.members, nth, fallback, links_anywhere));
                if let Some(dst) = dst {
                    fan.mark(dst);
                    fan.queues[dst as usize].push(g.name.clone());
                }
            }
        }
        if let Some(remote) = &remote {
            for rg in remote.queues.iter() {
                if local.queue(&rg.name).is_some()
                    || rg.members.is_empty()
                    || !scope.allows(&rg.name)
                {
                    continue;
                }
                let normal = if links_anywhere {
                    rg.members.iter().filter(|s| **s & FALLBACK == 0).count()
                } else {
                    rg.members.len()
                };
                let fallback = normal == 0;
                let n = if fallback { rg.members.len() } else { normal };
                let pick = fan.pick(n);
                let Some(dst) = nth_member(&rg.members, pick, fallback, links_anywhere) else {
                    continue;
                };
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
        self.note_local_taker(reached);
        for dst in std::mem::take(&mut fan.dsts) {
            let d = dst as usize;
            let mut del = Delivery::new(acc, msg);
            del.plain = std::mem::take(&mut fan.plain[d]);
            del.queues = std::mem::take(&mut fan.queues[d]);
            if !del.queues.is_empty() && no_echo {
                // A queue copy passed back here must not reach the publisher itself.
                del.no_echo = src.map(|k| (self.id, k as u32));
            }
            del.ask = self.ask_for(dst);
            del.local_only = self.routes_barred();
            self.outbox.push(dst, BusMsg::Deliver(del));
            reached = true;
        }
        self.fanout = Some(fan);
        reached
    }

    /// A message from shard `src`: match again locally and deliver; answer `src` if it asked.
    pub fn on_delivery(&mut self, d: Delivery, src: ShardId) {
        let msg = d.msg();
        let local = self.local_matches(d.account, msg.subject);
        let relay = self.relay_token(d.ask);
        let outer_hop = std::mem::replace(&mut self.leaf.import_hop, d.local_only);
        let frame = self.leaf_frame_begin(d.account, None);
        let (mut taken, mut forwarded) = (false, 0);
        // The publisher itself, when it is on this shard and asked not to get its own messages.
        let me = self.id;
        let skip = |r: &SubRef| d.no_echo == Some((me, r.conn));
        if d.plain {
            for r in local.plain.iter() {
                taken |= self.write_msg(*r, msg);
            }
        }
        for q in d.queues.iter() {
            match local.queue(q).filter(|g| !g.members.is_empty()) {
                Some(g) => {
                    let n = g.members.len();
                    let start = self.fanout.as_mut().map_or(0, |f| f.pick(n));
                    // A leaf hub's member only when no other member here takes it.
                    let links_here = self.leaf.active;
                    let got = [false, true].into_iter().any(|links| {
                        (0..n).any(|k| {
                            let m = g.members[(start + k) % n];
                            let is_link = links_here
                                && self
                                    .conns
                                    .get(m.conn as usize)
                                    .and_then(|c| c.link.as_ref())
                                    .is_some_and(|l| l.kind.is_leaf());
                            is_link == links && !skip(&m) && self.write_msg(m, msg)
                        })
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
        self.leaf_frame_end(frame, msg);
        self.leaf.import_hop = outer_hop;
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
        let untried = |s: &ShardId| {
            let s = *s & !FALLBACK;
            s != me && !d.tried.contains(&s)
        };
        // A shard with a member of its own before one whose only member is a leaf hub's.
        let regular = g
            .members
            .iter()
            .filter(|s| untried(s) && **s & FALLBACK == 0)
            .count();
        let fallback = regular == 0;
        let n = if fallback {
            g.members.iter().filter(|s| untried(s)).count()
        } else {
            regular
        };
        if n == 0 {
            return false;
        }
        let pick = self.fanout.as_mut().map_or(0, |f| f.pick(n));
        let Some(dst) = g
            .members
            .iter()
            .filter(|s| untried(s) && (fallback || **s & FALLBACK == 0))
            .nth(pick)
            .map(|s| *s & !FALLBACK)
        else {
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
            local_only: d.local_only,
        };
        self.outbox.push(dst, BusMsg::Deliver(fwd));
        true
    }
}
