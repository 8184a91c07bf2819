//! Routes on shard 0: the cluster listener, the dialled routes, and who is connected to whom.
//!
//! A route is a link connection (`Conn::link`, `LinkKind::Route`) of shard 0; what crosses it —
//! interest both ways, messages both ways — is `crate::shard::leaf`'s shared link machinery with the
//! account named in every op. This module keeps the cluster's own state and the handshakes
//! (`link.rs`):
//!
//! - one route per peer server, keyed by its server id: when both sides dial each other, the second
//!   route to register is closed as a duplicate (nats-server's rule);
//! - a route to ourselves (our own URL in `routes`, as some test harnesses write) is noticed by the
//!   server id in its INFO and never dialled again;
//! - gossip: when a route we accepted registers, its INFO goes to our other peers, which dial the
//!   newcomer (an INFO naming another server, received on a route, makes us dial it: an implicit
//!   route), so a server joining through any member ends up in the full mesh;
//! - the peers' client URLs (their INFO's `connect_urls`) are what our clients are told
//!   (`connect_urls` in their INFO, and an async INFO when a peer comes or goes);
//! - with `cluster { tls }`, every route is mutual TLS from its first byte, before any INFO, as
//!   nats-server's (`link.rs`).

pub mod link;

use super::ConnKey;
use crate::route::info::RouteInfo;
use std::collections::{HashMap, HashSet};

/// One registered route's peer.
pub struct Peer {
    pub conn: ConnKey,
    pub info: RouteInfo,
    /// We dialled it (an explicit or implicit route), or it dialled us.
    pub solicited: bool,
    /// A route URL of our configuration (`cluster { routes }`, `--routes`) leads to this peer: we
    /// dialled it from that URL, or that URL's dial found it already connected (it had dialled us
    /// first), as nats-server's `routeType == Explicit` (`/routez` `is_configured`). False for a
    /// peer we only know by gossip, or that dialled us and no configured URL of ours names.
    pub configured: bool,
}

/// Shard 0's cluster state (empty without a `cluster {}` block, and on other shards).
#[derive(Default)]
pub struct Cluster {
    /// A cluster listener runs (routes may exist).
    pub enabled: bool,
    /// Our cluster's name (configured, or made up and `dynamic` until a peer's configured one is
    /// adopted).
    pub name: String,
    pub dynamic: bool,
    /// The route listener's port (the real one when `-1` asked for a random port).
    pub port: u16,
    /// Registered routes by peer server id. Bound: one per peer server.
    pub peers: HashMap<String, Peer>,
    /// Route URLs being dialled or owned by a dial task (configured and implicit). Bound: the
    /// configured ones plus `MAX_DIALS` learnt by gossip.
    pub dialling: HashSet<String>,
    /// URLs that led back to this server: never dialled again.
    pub own_urls: HashSet<String>,
    /// A route has registered at some point (clients are told our own URL from then on).
    pub had_peers: bool,
    /// Gossiped servers to dial once the current batch is done. Bound: emptied after every batch.
    pub pending_dials: Vec<String>,
    /// `cluster { tls }`, compiled when the cluster started: every route is TLS from its first
    /// byte, both ends checking the other's certificate. None = plain-text routes.
    pub tls: Option<std::sync::Arc<crate::tls::compile::RouteTls>>,
    /// nats-server's `routeTLSName`: the first host name (not an IP address) of the configured route
    /// URLs, the TLS server name used to dial a URL that has only an IP address (a gossiped one).
    /// Forgotten when a peer's certificate does not match it.
    pub tls_name: Option<String>,
}

impl Cluster {
    /// The peer whose route is connection `key`.
    pub fn peer_of(&self, key: ConnKey) -> Option<&Peer> {
        self.peers.values().find(|p| p.conn == key)
    }

    /// Our client URLs and every peer's, ours first (what clients are told). Empty on a server that
    /// never had a peer; ours alone once the last peer is gone, as nats-server's.
    pub fn client_urls(&mut self, own: &[String]) -> Vec<String> {
        if self.peers.is_empty() && !self.had_peers {
            return Vec::new();
        }
        self.had_peers = true;
        let mut out: Vec<String> = own.to_vec();
        let mut ids: Vec<&String> = self.peers.keys().collect();
        ids.sort();
        for id in ids {
            for u in &self.peers[id].info.connect_urls {
                if !out.contains(u) {
                    out.push(u.clone());
                }
            }
        }
        out
    }
}
