//! Leaf nodes, the soliciting side: corenats dials a hub (nats-server or another NATS leaf-node
//! listener) and bridges one local account to it with nats-server's own leaf-node protocol.
//!
//! Pure parts live here, so they can be tested alone: [`url`] (a remote's URL and its credentials),
//! [`hub_info`] (what the hub's INFO says, and the wrong-port guard), [`connect`] (the CONNECT a
//! soliciting leaf sends), [`creds`] (nkey seeds and credentials files signing the hub's nonce). The wire
//! frames are `crate::protocol::link`. The link itself — a connection
//! owned by shard 0, its interest and its messages — is `crate::shard::leaf`.

pub mod accept;
pub mod connect;
pub mod creds;
pub mod hub_info;
pub mod url;
