//! The only types that cross cores. Everything one shard tells another is a [`BusMsg`] inside a
//! [`Batch`], sent through the destination's inbox in program order (see `docs/INVARIANTS.md`).
//!
//! Ownership: a `BusMsg` is built on the source shard and moved, whole, to the destination; nothing in it
//! refers back to shard-local state (payloads are `Bytes`, names are owned).

use crate::auth::{AccountId, Auth};
use bytes::Bytes;
use std::sync::Arc;

/// Index of a shard, `0..nr_shards`.
pub type ShardId = u16;

/// The sender id used for messages from outside any shard (signal thread, monitor).
pub const CONTROL_SRC: ShardId = ShardId::MAX;

/// Everything one source shard produced for one destination during one loop iteration, in order.
pub struct Batch {
    pub src_shard: ShardId,
    pub msgs: Vec<BusMsg>,
}

pub enum BusMsg {
    /// Local interest in (account, subject, queue) went 0→1 (`add`) or N→0 on `src_shard`.
    Interest {
        account: AccountId,
        subject: Bytes,
        queue: Option<Bytes>,
        add: bool,
        /// A queue member that stands for a leaf hub's group: chosen only when the group has no
        /// other member (nats-server's rule for a client's message).
        fallback: bool,
    },
    /// A message for this shard's local subscribers. See [`Delivery`].
    Deliver(Delivery),
    /// Visibility barrier: answer `SyncAck { token }` to the source once everything before it is applied.
    Sync {
        token: u64,
    },
    SyncAck {
        token: u64,
    },
    /// No-responders probe for a request (see `src/shard/peer/no_responders.rs`): answer `Reached { token, delivered:
    /// false }` to the source once everything before it is applied.
    Probe {
        token: u64,
    },
    /// The answer to a `Delivery` with `ask` set, or to a `Probe`: whether anyone here took the message.
    Reached {
        token: u64,
        delivered: bool,
    },
    /// Process-wide commands (from the signal thread or a reload).
    Control(Control),
}

/// The parts of one message, borrowed from wherever it is (a client's read buffer, a [`Delivery`]):
/// what every step of the publish path passes on. `headers` is `None` for a plain PUB and `Some` for
/// HPUB (a header block, possibly empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgRef<'a> {
    pub subject: &'a [u8],
    pub reply: Option<&'a [u8]>,
    pub headers: Option<&'a [u8]>,
    pub payload: &'a [u8],
}

impl<'a> MsgRef<'a> {
    /// The same message under another subject (a mapping, an import).
    pub fn with_subject(self, subject: &'a [u8]) -> MsgRef<'a> {
        MsgRef { subject, ..self }
    }

    /// Bytes counted for the message in statistics: payload plus header block.
    pub fn size(&self) -> usize {
        self.payload.len() + self.headers.map_or(0, |h| h.len())
    }
}

/// One published message delivered to one interested shard (never one per subscriber).
/// The destination matches `subject` again against its own `local` table of `account`.
pub struct Delivery {
    pub account: AccountId,
    /// subject ‖ reply ‖ headers ‖ payload in one allocation; lengths below.
    pub data: Bytes,
    pub subject_len: u32,
    pub reply_len: u32,
    /// `None` = a plain PUB; `Some(n)` = HPUB with an n-byte header block (n may be 0).
    pub headers_len: Option<u32>,
    /// Deliver to every plain (non-queue) subscription that matches.
    pub plain: bool,
    /// Queue groups this shard was chosen for: deliver to exactly one local member of each.
    pub queues: Vec<Bytes>,
    /// Shards whose members of the `queues` groups already had their chance: the publishing shard, then
    /// each shard that passed the message on because none of its members took it (see
    /// `Shard::forward_queue`). Empty without queues.
    pub tried: Vec<ShardId>,
    /// Set for a request whose publisher wants a no-responders status: answer `Reached { token, .. }`.
    pub ask: Option<u64>,
    /// An `echo:false` publisher (its shard and connection slot): a queue copy that comes back to that
    /// shard must not go to the publisher itself.
    pub no_echo: Option<(ShardId, u32)>,
    /// Not for route links: the message came from a route or a leaf hub, or through a stream import
    /// (see `shard::leaf`).
    pub local_only: bool,
}

impl Delivery {
    /// A delivery of `msg` in `account`, copied into one allocation; where it goes is set after.
    pub fn new(account: AccountId, msg: MsgRef<'_>) -> Delivery {
        let reply = msg.reply.unwrap_or(b"");
        let hdr = msg.headers.unwrap_or(b"");
        let mut v =
            Vec::with_capacity(msg.subject.len() + reply.len() + hdr.len() + msg.payload.len());
        v.extend_from_slice(msg.subject);
        v.extend_from_slice(reply);
        v.extend_from_slice(hdr);
        v.extend_from_slice(msg.payload);
        Delivery {
            account,
            data: Bytes::from(v),
            subject_len: msg.subject.len() as u32,
            reply_len: reply.len() as u32,
            headers_len: msg.headers.map(|h| h.len() as u32),
            plain: false,
            queues: Vec::new(),
            tried: Vec::new(),
            ask: None,
            no_echo: None,
            local_only: false,
        }
    }

    /// The message's parts, borrowed from `data`.
    pub fn msg(&self) -> MsgRef<'_> {
        MsgRef {
            subject: self.subject(),
            reply: self.reply(),
            headers: self.headers(),
            payload: self.payload(),
        }
    }

    pub fn subject(&self) -> &[u8] {
        &self.data[..self.subject_len as usize]
    }

    pub fn reply(&self) -> Option<&[u8]> {
        let s = self.subject_len as usize;
        let r = self.reply_len as usize;
        (r > 0).then(|| &self.data[s..s + r])
    }

    pub fn headers(&self) -> Option<&[u8]> {
        let start = (self.subject_len + self.reply_len) as usize;
        self.headers_len
            .map(|h| &self.data[start..start + h as usize])
    }

    pub fn payload(&self) -> &[u8] {
        let start = (self.subject_len + self.reply_len + self.headers_len.unwrap_or(0)) as usize;
        &self.data[start..]
    }
}

pub enum Control {
    /// A new compiled configuration: swap it in and re-check live connections. The counter holds the
    /// shards still re-checking; the last one sends `ShedOverLimits` to all.
    Reload(
        Arc<crate::settings::Settings>,
        Arc<Auth>,
        Arc<std::sync::atomic::AtomicUsize>,
    ),
    /// Every shard has re-checked its connections after a reload: close those over a lowered account
    /// `max_connections`.
    ShedOverLimits,
    /// Lame duck mode: stop accepting, tell clients, close them over the period.
    LameDuck,
    /// Close every connection and stop the shard.
    Shutdown,
    /// The monitor asks for this shard's figures; the shard answers on the request's channel.
    Snapshot(super::snapshot::SnapshotRequest),
    /// The cluster's client URLs changed (a route came or went; sent by shard 0): clients are told
    /// in their INFO, and those that understand async INFO (`protocol >= 1`) get one now.
    ConnectUrls(Arc<Vec<String>>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_round_trips_its_parts() {
        let d = Delivery::new(
            3,
            MsgRef {
                subject: b"foo.bar",
                reply: Some(b"_INBOX.1"),
                headers: Some(b"NATS/1.0\r\n\r\n"),
                payload: b"hi",
            },
        );
        assert_eq!(d.subject(), b"foo.bar");
        assert_eq!(d.reply(), Some(&b"_INBOX.1"[..]));
        assert_eq!(d.headers(), Some(&b"NATS/1.0\r\n\r\n"[..]));
        assert_eq!(d.payload(), b"hi");
        let d = Delivery::new(
            0,
            MsgRef {
                subject: b"x",
                reply: None,
                headers: None,
                payload: b"",
            },
        );
        assert_eq!(d.msg().size(), 0);
        assert_eq!(d.reply(), None);
        assert_eq!(d.headers(), None);
        assert_eq!(d.payload(), b"");
    }
}
