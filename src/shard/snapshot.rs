//! This shard's figures for the monitor (stub; being built).

use super::{ConnKey, Shard};
use crate::monitor::SnapshotRequest;

/// A closed connection kept for `/connz?state=closed`.
pub struct ClosedConn {
    pub cid: u64,
}

/// What one shard reports.
pub struct ShardSnapshot {
    pub shard: u16,
}

impl Shard {
    /// Answers a monitor request with this shard's figures.
    pub fn snapshot(&mut self, req: SnapshotRequest) {
        let _ = req.reply.send(ShardSnapshot { shard: self.id });
    }

    /// Remembers a closing connection for `/connz?state=closed` (bounded).
    pub fn record_closed(&mut self, key: ConnKey) {
        let _ = key;
    }
}
