//! Messages across a link, both directions.
//!
//! To the peer: a delivery (a publish on this shard, `match_and_deliver`, or another shard's
//! `Delivery`, `on_delivery`) opens a frame; `write_msg` on a link's subscription only notes the link
//! in it (`link_target`), with the queue group when the subscription is the peer's group member; the
//! frame's end writes one `LMSG`/`RMSG`/`HMSG` per noted link, naming the chosen groups. A frame
//! that may not reach routes (`LeafLinks::no_routes`) refuses a route's subscription, so a queue
//! group's choice moves on to another member. Subjects the hub's
//! `export` permissions or our `deny_exports` refuse are not sent (`_R_.` and `$JS.ACK.` replies pass,
//! as the hub lets them in).
//!
//! From the hub: `link_msg` publishes in the bound account with the link as the source (links are
//! `echo: false`, so nothing goes back to the hub), to plain subscribers, and to queue groups only
//! when the hub chose this side for them (`QueueScope::Only`).

use super::super::{ConnKey, Shard};
use super::{Frame, LinkKind, Target};
use crate::auth::AccountId;
use crate::bus::MsgRef;
use crate::protocol::link as wire;
use bytes::Bytes;

/// Which queue groups a delivery may choose a member for.
#[derive(Clone, Copy)]
pub enum QueueScope<'a> {
    /// Every group (a client's publish).
    All,
    /// Only these (a message from a hub, which chose them; none = plain subscribers only).
    Only(&'a [&'a [u8]]),
}

impl QueueScope<'_> {
    #[inline]
    pub fn allows(&self, group: &[u8]) -> bool {
        match self {
            QueueScope::All => true,
            QueueScope::Only(list) => list.contains(&group),
        }
    }
}

/// Reply subjects a hub lets in whatever the leaf's permissions say (nats-server's `leafMsgAllowed`).
fn always_allowed(subject: &[u8]) -> bool {
    subject.starts_with(b"_R_.") || subject.starts_with(b"$JS.ACK.")
}

impl Shard {
    /// Opens a delivery frame for a message in `acc` from `src` (a link's messages never reach
    /// routes, nor does a stream import's delivery); returns what `leaf_frame_end` restores.
    /// Nothing to do on a shard without links.
    #[inline]
    pub(crate) fn leaf_frame_begin(
        &mut self,
        acc: AccountId,
        src: Option<ConnKey>,
    ) -> Option<Frame> {
        if !self.leaf.active {
            return None;
        }
        // A route's or our hub's messages never go to a route; a leaf node's attached to us do.
        let src_kind = src
            .and_then(|k| self.conns.get(k))
            .and_then(|c| c.link.as_ref())
            .map(|l| l.kind);
        let saved = Frame {
            start: self.leaf.frame,
            acc: self.leaf.frame_acc,
            no_routes: self.leaf.no_routes,
            from_route: self.leaf.from_route,
        };
        self.leaf.frame = self.leaf.targets.len();
        self.leaf.frame_acc = acc;
        self.leaf.no_routes =
            self.leaf.import_hop || matches!(src_kind, Some(LinkKind::Route | LinkKind::Hub));
        self.leaf.from_route = src_kind == Some(LinkKind::Route);
        Some(saved)
    }

    /// Closes the frame: one message to each link noted in it.
    #[inline]
    pub(crate) fn leaf_frame_end(&mut self, saved: Option<Frame>, msg: MsgRef<'_>) {
        let Some(saved) = saved else {
            return;
        };
        if self.leaf.targets.len() > self.leaf.frame {
            self.write_link_targets(msg);
        }
        self.leaf.frame = saved.start;
        self.leaf.frame_acc = saved.acc;
        self.leaf.no_routes = saved.no_routes;
        self.leaf.from_route = saved.from_route;
    }

    /// `write_msg` on subscription `sub` of link `key`: note it for the frame's end. False when
    /// this delivery may not reach the link (a route, for a message that may not go to routes).
    pub(crate) fn link_target(
        &mut self,
        key: ConnKey,
        queue: Option<&[u8]>,
        subject: &[u8],
    ) -> bool {
        let kind = self
            .conns
            .get(key)
            .and_then(|c| c.link.as_ref())
            .map(|l| l.kind);
        match kind {
            Some(LinkKind::Route) if self.leaf.no_routes => return false,
            // From a route, our hub gets only service replies (its other messages reached the hub
            // through the peer that received them first).
            Some(LinkKind::Hub) if self.leaf.from_route && !subject.starts_with(b"_R_.") => {
                return false
            }
            _ => {}
        }
        let frame = self.leaf.frame;
        let t = match self.leaf.targets[frame..]
            .iter_mut()
            .position(|t| t.conn == key)
        {
            Some(i) => &mut self.leaf.targets[frame + i],
            None => {
                self.leaf.targets.push(Target {
                    conn: key,
                    plain: false,
                    queues: Vec::new(),
                });
                let last = self.leaf.targets.len() - 1;
                &mut self.leaf.targets[last]
            }
        };
        match queue {
            Some(q) => t.queues.push(Bytes::copy_from_slice(q)),
            None => t.plain = true,
        }
        true
    }

    fn write_link_targets(&mut self, msg: MsgRef<'_>) {
        let frame = self.leaf.frame;
        // The frame's targets, taken out so the connections can be borrowed (the Vec keeps its
        // capacity across messages; nested frames pushed above `frame` are gone by now).
        let mut targets = std::mem::take(&mut self.leaf.targets);
        // A route's RMSG names the account (borrowed from this `Auth`, so nothing is copied).
        let auth = self.auth.clone();
        let account_name = auth
            .accounts
            .get(self.leaf.frame_acc as usize)
            .map_or("$G", |a| a.name.as_str());
        for t in targets.drain(frame..) {
            let Some(c) = self.conns.get_mut(t.conn) else {
                continue;
            };
            if c.phase == super::super::conn::Phase::Closing {
                continue;
            }
            let Some(link) = c.link.as_ref() else {
                continue;
            };
            if let Some(p) = &link.perms {
                if !always_allowed(msg.subject) && !p.can_publish(msg.subject) {
                    continue;
                }
            }
            let headers = msg.headers.filter(|_| link.headers);
            let is_route = link.kind == LinkKind::Route;
            let queues: Vec<&[u8]> = t.queues.iter().map(|q| &q[..]).collect();
            wire::write_msg(
                &mut c.out.buf,
                is_route.then_some(account_name.as_bytes()),
                msg.subject,
                msg.reply,
                &queues,
                headers,
                msg.payload,
            );
            self.count_out(t.conn, msg.size());
            self.check_pending(t.conn);
        }
        self.leaf.targets = targets;
    }

    /// The account a route op on link `key` names (None: we have no such account).
    pub(crate) fn route_account(&mut self, key: ConnKey, name: &[u8]) -> Option<AccountId> {
        let link = self.conns.get_mut(key)?.link.as_mut()?;
        if let Some((n, id)) = &link.last_account {
            if n[..] == *name {
                return Some(*id);
            }
        }
        let id = std::str::from_utf8(name)
            .ok()
            .and_then(|a| self.auth.account_id(a))?;
        link.last_account = Some((name.into(), id));
        Some(id)
    }

    /// True when the delivery in progress may not reach routes (told to other shards with it).
    #[inline]
    pub(crate) fn routes_barred(&self) -> bool {
        self.leaf.no_routes || self.leaf.import_hop
    }

    /// An `RMSG`/`HMSG` from the route peer on link `key`, in the account it names: to this server's
    /// subscribers (the queue groups the peer chose for us), and through this server's stream
    /// imports. An account we do not have is dropped (as nats-server's static accounts do).
    pub(crate) fn route_msg(
        &mut self,
        key: ConnKey,
        account: &[u8],
        msg: MsgRef<'_>,
        queues: &[&[u8]],
    ) {
        let size = msg.size() as u64;
        if let Some(c) = self.conns.get_mut(key) {
            c.stats.in_msgs += 1;
            c.stats.in_bytes += size;
        }
        let Some(acc) = self.route_account(key, account) else {
            return;
        };
        self.stats.in_msgs += 1;
        self.stats.in_bytes += size;
        let t = self.tables(acc);
        t.stats.in_msgs += 1;
        t.stats.in_bytes += size;
        self.match_and_deliver_scoped(Some(key), acc, msg, QueueScope::Only(queues));
        if self
            .account_flags
            .get(acc as usize)
            .copied()
            .unwrap_or(false)
        {
            let auth = self.auth.clone();
            if let Some(a) = auth.accounts.get(acc as usize) {
                self.import_streams(a, msg);
            }
        }
    }

    /// An `LMSG`/`HMSG` on leaf link `key` (from our hub, or from a leaf node attached to us).
    /// `Err` with nats-server's text when a leaf node publishes what its user may not: the link
    /// closes (from a hub the message is only dropped).
    pub(crate) fn link_msg(
        &mut self,
        key: ConnKey,
        msg: MsgRef<'_>,
        queues: &[&[u8]],
    ) -> Result<(), String> {
        let Some(c) = self.conns.get_mut(key) else {
            return Ok(());
        };
        let size = msg.size() as u64;
        c.stats.in_msgs += 1;
        c.stats.in_bytes += size;
        let acc = c.account;
        // What we may not import (the hub's `import` rules, our `deny_imports`; a leaf user's
        // publish permissions) is dropped.
        if let Some(l) = c.link.as_ref() {
            if let Some(p) = &l.perms {
                if !always_allowed(msg.subject) && !p.deliver_allowed(msg.subject, None) {
                    if l.kind == LinkKind::Spoke {
                        return Err(format!(
                            "Permissions Violation for Publish to {:?}",
                            String::from_utf8_lossy(msg.subject)
                        ));
                    }
                    return Ok(());
                }
            }
        }
        self.stats.in_msgs += 1;
        self.stats.in_bytes += size;
        let t = self.tables(acc);
        t.stats.in_msgs += 1;
        t.stats.in_bytes += size;
        if self
            .account_flags
            .get(acc as usize)
            .copied()
            .unwrap_or(false)
        {
            // Mappings and imports: the account's full publish path (every queue group may choose).
            self.publish_mapped(Some(key), acc, msg, 0);
        } else {
            self.match_and_deliver_scoped(Some(key), acc, msg, QueueScope::Only(queues));
        }
        Ok(())
    }
}
