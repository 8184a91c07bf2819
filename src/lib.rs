//! corenats: a NATS-compatible message broker, thread-per-core on io_uring, multi-tenant at heart.
//!
//! The modules in pipeline order — the path of a message:
//! - [`cli`]: the command line (nats-server's flag names) → a configuration → [`run`].
//! - [`config`]: nats-server's config language (and HCL) → a typed [`config::Config`].
//! - [`auth`]: accounts, users and permissions compiled once into an immutable `Auth`.
//! - `server`: boot — config → auth → bind → one shard per CPU → signals → shutdown ([`run`]).
//! - [`settings`]: what every shard shares — immutable `Settings`, process-wide `Globals`.
//! - `runtime`: the seam over the shards' executors — glommio on io_uring, or tokio on epoll where io_uring
//!   is blocked (spawn, TCP, timers, executors).
//! - `shard`: one per core — accept → read + parse → permit → match locally → fan out → write.
//!   What one shard tells another is in `shard/peer/`, one file per message.
//! - [`protocol`]: pure — the resumable client protocol parser, frame writer, `-ERR` texts, INFO/CONNECT.
//! - [`subject`]: pure — subject validation and the generic `Sublist<T>` trie with its bounded cache.
//! - [`bus`]: the only code that crosses cores — batches, inboxes, the wake-up bell, the monitor's
//!   snapshot contract.
//! - `monitor`: nats-server's HTTP monitoring endpoints and Prometheus metrics, fed by shard snapshots.
//! - [`tls`]: the `tls {}` block compiled for rustls, peer-certificate identities, TLS sessions.
//! - `logging`, `signals`: nats-server style logs; SIGINT/SIGTERM/SIGHUP/SIGUSR1/SIGUSR2.
//!
//! Public: what the binary, the benchmarks, the fuzz targets and the tests use (`cli`, `config`,
//! `auth`, `protocol`, `subject`, `bus`, `settings`, and [`run`] with [`Boot`]); the engine itself is
//! private to the crate.
//!
//! Ownership and cross-core rules: `docs/INVARIANTS.md`. Architecture: `docs/ARCHITECTURE.md`.

pub mod auth;
pub mod bus;
pub mod cli;
pub mod config;
pub mod leaf;
pub(crate) mod logging;
pub(crate) mod monitor;
pub mod protocol;
pub mod route;
pub(crate) mod runtime;
pub(crate) mod server;
pub mod settings;
pub(crate) mod shard;
pub(crate) mod signals;
pub mod subject;
pub mod tls;

pub use server::{run, Boot};
