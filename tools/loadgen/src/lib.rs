//! corenats-loadgen: a raw-protocol NATS load generator (no client library).
//!
//! Modules, from the wire up:
//! - [`scan`]: incremental scanner for server frames (MSG/HMSG jumped over by byte count).
//! - [`stream`]: the bytes under a connection: plain TCP or TLS (rustls) over it.
//! - [`tls`]: the `--tls*` options compiled into one shared rustls client configuration.
//! - [`wire`]: one client connection: handshake, batched writes, dispatch, deadlines.
//! - [`payload`]: payload layout (sequence number, timestamp) and the shared clock.
//! - [`scenario`]: the scenarios (flow, request/reply, fixed-rate latency, idle, handshakes).
//! - [`report`]: outcome of a run as a human line and a JSON line; CPU accounting.
//! - [`sys`]: getrusage, RLIMIT_NOFILE, a process's RSS.
//! - [`perm`]: the permission-heavy server config used by the permission scenario.
//! - [`cli`]: command-line parsing and dispatch for the `loadgen` binary.

pub mod cli;
pub mod payload;
pub mod perm;
pub mod report;
pub mod scan;
pub mod scenario;
pub mod stream;
pub mod sys;
pub mod tls;
pub mod wire;
