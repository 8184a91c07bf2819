//! Routes: the full mesh between the servers of a cluster, with nats-server's own route protocol, so
//! corenats nodes and nats-server 2.10–2.15 peers form one cluster.
//!
//! Pure parts live here, so they can be tested alone: [`info`] (the route INFO both sides send, and
//! what a peer's says) and [`connect`] (the CONNECT a dialling side sends, and the checks on one
//! received). The wire frames are `crate::protocol::link` (`Dialect::Route`). The links themselves —
//! connections owned by shard 0, their handshake, interest and messages — are `crate::shard::route`
//! and `crate::shard::leaf`.
//!
//! corenats speaks the route protocol as a server without pooling and without compression (its INFO
//! has no `route_pool_size` and no `compression`): a 2.10+ peer then keeps one route to it carrying
//! every account, with the account named in each op, and never compresses.

pub mod connect;
pub mod info;
