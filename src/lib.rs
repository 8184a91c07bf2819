//! corenats: a NATS-compatible message broker, thread-per-core on io_uring, multi-tenant at heart.
//!
//! The modules in pipeline order — the path of a message:
//! - [`config`]: nats-server's config language (and HCL) → a typed [`config::Config`].
//! - [`auth`]: accounts, users and permissions compiled once into an immutable `Auth`.
//! - [`server`]: boot — config → auth → bind → one shard per CPU → signals → shutdown.
//! - [`settings`]: what every shard shares — immutable `Settings`, process-wide `Globals`.
//! - [`runtime`]: the seam over glommio (spawn, TCP, timers, executors).
//! - [`shard`]: one per core — accept → read + parse → permit → match locally → fan out → write.
//! - [`protocol`]: pure — the resumable client protocol parser, frame writer, `-ERR` texts, INFO/CONNECT.
//! - [`subject`]: pure — subject validation and the generic `Sublist<T>` trie with its bounded cache.
//! - [`bus`]: the only code that crosses cores — batches, inboxes, the wake-up bell.
//! - [`monitor`]: nats-server's HTTP monitoring endpoints and Prometheus metrics, fed by shard snapshots.
//! - [`logging`], [`signals`]: nats-server style logs; SIGINT/SIGTERM/SIGHUP/SIGUSR2.
//!
//! Ownership and cross-core rules: `docs/INVARIANTS.md`. Architecture: `docs/ARCHITECTURE.md`.

pub mod auth;
pub mod bus;
pub mod config;
pub mod logging;
pub mod monitor;
pub mod protocol;
pub mod runtime;
pub mod server;
pub mod settings;
pub mod shard;
pub mod signals;
pub mod subject;
