//! What one shard tells another, one file per message, with both ends in it (as nats-server's
//! `route.go` keeps the sending and the receiving side of a route message together). The transport —
//! batches, inboxes, the wake-up — is `crate::bus`; the inbox task that receives is `../inbox.rs`.
//!
//! - [`interest`]: `Interest` — local subscription counts going 0→1 / N→0, and the `remote` tables.
//! - [`fanout`]: `Deliver` — one delivery per interested shard, queue-group choice, forwarding.
//! - [`barrier`]: `Sync` / `SyncAck` — the visibility barrier before a PONG.
//! - [`no_responders`]: `Probe` / `Reached` — whether anyone anywhere took a request.

pub mod barrier;
pub mod fanout;
pub mod interest;
pub mod no_responders;
