//! The black-box test harness, shared by every test module: the spawned server ([`server`]), the raw
//! protocol client ([`raw`]), an async-nats client ([`client`]), accounts and logins ([`tenancy`]), the
//! monitoring endpoints ([`monitor`]), whole-lifecycle processes ([`process`]), hostile inputs
//! ([`hostile`]) and io_uring blocked by a seccomp filter ([`seccomp`]). Every test runs unchanged
//! against real nats-server when `CORENATS_TEST_SERVER` names it.
#![allow(dead_code)]

pub mod client;
pub mod cluster;
pub mod hostile;
pub mod hub;
pub mod monitor;
pub mod pki;
pub mod probe;
pub mod process;
pub mod raw;
pub mod seccomp;
pub mod server;
pub mod spoke;
pub mod tenancy;

pub use raw::*;
pub use server::*;
