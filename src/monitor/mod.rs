//! Monitoring (stub; being built): HTTP endpoints fed by per-shard snapshots gathered by message passing.

use crate::shard::snapshot::ShardSnapshot;

/// Sent to every shard inside `Control::Snapshot`; each shard answers with its own figures.
pub struct SnapshotRequest {
    pub reply: crossbeam_channel::Sender<ShardSnapshot>,
}
