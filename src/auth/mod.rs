//! Authentication and authorization: the config's users, accounts, permissions and imports/exports,
//! compiled once per (re)load into an immutable [`Auth`] that every shard shares as `Arc<Auth>`
//!.
//!
//! Map, in the order a connection meets it:
//! - [`compile`]: [`Auth::compile`] — accounts (stable ids, tombstones), users, system account,
//!   `no_auth_user`; every config error at once, worded as nats-server words it.
//! - [`imports`]: exports/imports/mappings compiled into per-account lookup tables ([`account`]), using
//!   [`transform`] for `prefix`/`to`/mapping destinations.
//! - [`login`]: [`Auth::authenticate`] (CONNECT credentials → [`Login`]), the colon rule, and
//!   [`Auth::recheck`] for live connections after a reload; `secret` holds the credential checks
//!   (constant-time compare, bcrypt, nkey signatures).
//! - [`permissions`]: a user's compiled publish/subscribe rules ([`Permissions`]); [`explain`] answers
//!   why a user may or may not publish or subscribe somewhere (`--explain`).
//! - Per-connection state the engine keeps beside a `Login`: [`PubCache`] (bounded publish verdicts) and
//!   [`ReplyGrants`] (`allow_responses`).
//! - [`frozen`]: the read-only, thread-shareable `Sublist` wrapper all compiled tables use.
//!
//! Threading: everything in `Auth` is immutable after compile and `Send + Sync`. Per-shard caches of
//! lookups (import routes, mappings) belong to the engine and are dropped when a new `Arc<Auth>` arrives.

pub mod account;
pub mod compile;
pub mod explain;
pub mod frozen;
pub mod imports;
pub mod login;
pub mod permissions;
pub mod pub_cache;
pub mod reply_grants;
mod secret;
pub mod transform;

#[cfg(test)]
mod test_support;

pub use account::{Account, Mapping, ServiceImport, StreamRoute};
pub use compile::{load_error_report, report, Auth, User, UserIdx, DEFAULT_AUTH_TIMEOUT};
pub use frozen::FrozenSublist;
pub use login::{constant_time_eq, AuthFailure, Credentials, FastDeny, Login, Principal, Recheck};
pub use permissions::{Permissions, ResponsePerm, Rules, SubVerdict};
pub use pub_cache::{PubCache, PUB_CACHE_MAX, PUB_CACHE_PRUNE};
pub use reply_grants::{ReplyGrants, MAX_REPLY_GRANTS};
pub use transform::SubjectTransform;

/// Dense account index: the slot in `Auth::accounts` and in every shard's per-account tables.
/// Stable across reloads for an account that keeps its name.
pub type AccountId = u32;

/// The global account `$G` (always present, always id 0).
pub const GLOBAL_ACCOUNT: AccountId = 0;
/// Name of the global account.
pub const GLOBAL_ACCOUNT_NAME: &str = "$G";
/// Name of the automatic system account.
pub const SYSTEM_ACCOUNT_NAME: &str = "$SYS";
