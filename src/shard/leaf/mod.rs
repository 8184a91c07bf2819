//! Leaf-node links this server dialled (`leafnodes { remotes }`), on shard 0, which owns every link.
//!
//! A link is a connection in the shard's slab like a client (`Conn::link` is set): it has an outbound
//! buffer, a writer task and keep-alive PINGs like any connection; its reader is `link.rs`'s task,
//! which speaks the leaf protocol (`crate::protocol::link`).
//!
//! - **The hub's interest** (`LS+`/`LS-`) becomes subscriptions of the link connection in the bound
//!   account's `local` table, announced to the other shards like a client's, so a publish on any shard
//!   reaches shard 0 and the link (`interest.rs`).
//! - **Our interest** (what the bound account's clients on every shard subscribe to) is counted here
//!   per (subject, queue) from local SUBs and from the other shards' `Interest` announcements, and sent
//!   to the hub on 0→1 and N→0 (queue groups: every change, with the member count), filtered by the
//!   hub's `import` permissions and `deny_imports` (`interest.rs`).
//! - **Messages to the hub**: `write_msg` on a link subscription does not write at once; it notes the
//!   link, whether a plain subscription matched and which of the hub's queue groups were chosen, and
//!   the end of the message's delivery writes ONE `LMSG`/`HMSG` per link with that queue list — what a
//!   nats-server hub expects (it delivers every `LMSG` to its plain subscribers) (`deliver.rs`).
//! - **Messages from the hub** are published in the bound account with the link as the source: never
//!   back to the link, plain subscribers always, queue groups only those the hub named (`deliver.rs`).
//!
//! Only shard 0 holds links, so every `Interest` shard 0 receives comes from clients: a peer never
//! hears back its own interest through another link, and interest learned from one link is never
//! announced on another (nats-server sends routes only its local interest, and a spoke sends its hub
//! only its clients').

pub mod accept;
pub mod deliver;
pub mod interest;
pub mod link;

use super::ConnKey;
use crate::auth::{AccountId, Permissions};
use crate::config::RemoteLeafSpec;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;

/// An interest key: (subject, queue).
pub type Key = (Bytes, Option<Bytes>);

/// One configured remote and its live link, if any.
pub struct Remote {
    pub spec: RemoteLeafSpec,
    /// The local account the link binds.
    pub account: AccountId,
    /// The link's connection while it is up.
    pub conn: Option<ConnKey>,
    /// The client side of TLS to the hub (the remote's `tls {}`), when it has a block.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// `$LDS.<random>`: the bound account's loop-detection subject (one per account, shared by every
    /// remote bound to it), sent to the hub as interest; the same subject coming back from any hub
    /// means a link loops back to us.
    pub lds: Bytes,
}

/// What kind of server-to-server link a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// We dialled a leaf-node hub (`leafnodes { remotes }`): one bound account.
    Hub,
    /// A route to another server of our cluster (either side dialled): every account.
    Route,
    /// A leaf node that attached to our leaf-node port (we are its hub): one bound account.
    Spoke,
}

impl LinkKind {
    /// A leaf link (either side): its queue members are chosen only when a group has no other
    /// member, and it speaks the leaf dialect.
    #[inline]
    pub fn is_leaf(self) -> bool {
        self != LinkKind::Route
    }
}

/// Per-link state kept in the link's `Conn` (`Conn::link`).
pub struct LinkConn {
    pub kind: LinkKind,
    /// The hub takes `HMSG` (else header blocks are dropped).
    pub headers: bool,
    /// The leaf user's permissions on the hub, reversed into ours (publish = the hub's `export`,
    /// subscribe = its `import`) and merged with `deny_exports`/`deny_imports`. None = unrestricted.
    pub perms: Option<Arc<Permissions>>,
    /// What we told the peer: (account, key) → member count (1 for plain interest). Bound: one entry
    /// per distinct subscription key of the accounts the link carries.
    pub sent: HashMap<(AccountId, Key), u32>,
    /// The peer's interest: (account, key) → slot in the connection's `subs` (one entry stands for a
    /// peer's whole queue group). Bound: what the peer announced, at most one per key.
    pub peer_subs: HashMap<(AccountId, Key), usize>,
    /// A route's subscriptions live in several accounts: slot → account (empty on a hub link, whose
    /// subscriptions are all in the connection's account).
    pub sub_accounts: HashMap<usize, AccountId>,
    /// The peer's name (its `server_name`, else its id), for logs and `/leafz`/`/routez`.
    pub peer_name: String,
    /// The peer's server id (a leaf node's from its CONNECT; "" when it sent none).
    pub peer_id: String,
    /// A route's last account name and its id: consecutive ops mostly name the same account, so
    /// most skip the name lookup (ids are stable across reloads).
    pub last_account: Option<(Box<[u8]>, AccountId)>,
}

impl LinkConn {
    /// A link's state before any interest crossed it.
    pub fn new(kind: LinkKind, headers: bool, peer_name: String) -> LinkConn {
        LinkConn {
            kind,
            headers,
            perms: None,
            sent: HashMap::new(),
            peer_subs: HashMap::new(),
            sub_accounts: HashMap::new(),
            peer_name,
            peer_id: String::new(),
            last_account: None,
        }
    }
}

/// What one message owes one link (collected by `write_msg`, written once at the frame's end).
pub struct Target {
    pub conn: ConnKey,
    pub plain: bool,
    pub queues: Vec<Bytes>,
}

/// The delivery in progress, saved by `leaf_frame_begin` and restored by `leaf_frame_end`.
pub struct Frame {
    start: usize,
    acc: AccountId,
    no_routes: bool,
    from_route: bool,
}

/// Shard 0's link state (empty on other shards and without remotes or a cluster).
#[derive(Default)]
pub struct LeafLinks {
    /// This shard has links or may get some (shard 0 with remotes or a cluster): deliveries open
    /// frames. False everywhere else, so a delivery costs nothing extra.
    pub active: bool,
    pub remotes: Vec<Remote>,
    /// Live routes (their connections); at most one per peer server.
    pub routes: Vec<super::ConnKey>,
    /// `$LDS.<random>` per account with a leaf link (ours to a hub, or a leaf node's to us): sent as
    /// interest on every leaf link of the account; the same subject coming back on any of them
    /// means the links form a loop. Bound: one per account.
    pub lds: HashMap<AccountId, Bytes>,
    /// Live leaf nodes attached to us (their connections). Bound: one per accepted link.
    pub spokes: Vec<super::ConnKey>,
    /// The leaf-node listener's port (the real one when `-1` asked for a random one); 0 without.
    pub accept_port: u16,
    /// The leaf-node listener's TLS (`leafnodes { tls }`), compiled at start.
    pub accept_tls: Option<Arc<crate::tls::ServerTls>>,
    /// Count every account's interest (a cluster: routes carry every account), not only bound ones.
    pub all_accounts: bool,
    /// Our interest per account carried by a link, counted across all shards: key → subscriptions
    /// (plain: local subscriptions plus one per other shard with interest; queue: members). Bound:
    /// one entry per distinct subscription key of such an account.
    pub interest: HashMap<AccountId, HashMap<Key, u32>>,
    /// The delivery in progress may not reach routes (it came from a route or a hub, or through a
    /// stream import). Read on every shard: a `Delivery` carries it (`local_only`).
    pub no_routes: bool,
    /// A stream import's delivery is in progress (on any shard): it may not reach routes.
    pub import_hop: bool,
    /// The delivery in progress came from a route: a hub link takes only service replies from it
    /// (nats-server's rule), so a spoke cluster's hub never gets a message twice.
    pub from_route: bool,
    /// The account of the delivery in progress (a route's `RMSG` names it).
    pub frame_acc: AccountId,
    /// Links owed a message in the deliveries in progress (nested deliveries — a service reply
    /// published while a message is delivered — stack their own frames above `frame`).
    pub targets: Vec<Target>,
    /// Where the innermost delivery's targets start in `targets`.
    pub frame: usize,
}

impl LeafLinks {
    /// The remotes of `settings`, bound to their accounts in `auth`. Remotes naming an unknown
    /// account are left out with an error log (the config check refuses them before start).
    pub fn new(settings: &crate::settings::Settings, auth: &crate::auth::Auth) -> LeafLinks {
        let mut l = LeafLinks {
            active: !settings.leafnodes.remotes.is_empty(),
            ..LeafLinks::default()
        };
        for spec in settings.leafnodes.remotes.iter().filter(|r| !r.disabled) {
            let name = spec.account.as_deref().unwrap_or("$G");
            let Some(account) = auth.account_id(name) else {
                tracing::error!("Leafnode remote account {name:?} does not exist");
                continue;
            };
            let tls = match spec.tls.as_ref().map(crate::tls::compile::client) {
                None => None,
                Some(Ok(c)) => Some(c),
                Some(Err(e)) => {
                    // Checked at start (`tls::compile::for_config`): a file changed since.
                    tracing::error!("Leafnode remote TLS configuration: {e}");
                    continue;
                }
            };
            l.interest
                .entry(account)
                .or_insert_with(|| standing_interest(auth, account));
            let lds = l.lds_for(account);
            l.remotes.push(Remote {
                spec: spec.clone(),
                account,
                conn: None,
                tls,
                lds,
            });
        }
        l
    }

    /// True when `subject` is the loop-detection subject of account `acc`.
    pub fn is_own_lds(&self, acc: AccountId, subject: &[u8]) -> bool {
        self.lds.get(&acc).is_some_and(|l| l[..] == *subject)
    }

    /// Account `acc`'s loop-detection subject, made on first use.
    pub fn lds_for(&mut self, acc: AccountId) -> Bytes {
        self.lds
            .entry(acc)
            .or_insert_with(|| Bytes::from(format!("$LDS.{}", super::session::new_nonce())))
            .clone()
    }

    /// True when account `acc`'s interest is counted here (bound to a remote, or a cluster).
    #[inline]
    pub fn binds(&self, acc: AccountId) -> bool {
        self.all_accounts || (!self.interest.is_empty() && self.interest.contains_key(&acc))
    }

    /// Adds the cluster's side, or the leaf-node listener's: every account's interest is counted,
    /// starting from the subjects other accounts import from it as streams (a peer's importer is
    /// reached through them).
    pub fn enable_routes(&mut self, auth: &crate::auth::Auth) {
        self.active = true;
        self.all_accounts = true;
        for acc in 0..auth.accounts.len() {
            let m = self.interest.entry(acc as AccountId).or_default();
            for (k, n) in stream_interest(auth, acc as AccountId) {
                m.entry(k).or_insert(n);
            }
        }
    }
}

/// Interest a bound account has whatever its clients subscribe to, counted once from the start (as
/// nats-server's leaf announces them): the subjects other accounts import from it as streams (their
/// subscribers are reached through this account), its own service imports (a hub client's request
/// must reach the import) and its mapping sources (a hub message is mapped here). Taken from the
/// configuration at start (imports changed by a reload are not re-announced).
fn standing_interest(auth: &crate::auth::Auth, account: AccountId) -> HashMap<Key, u32> {
    let mut out = stream_interest(auth, account);
    let mut add = |subject: &str| {
        out.insert((Bytes::copy_from_slice(subject.as_bytes()), None), 1);
    };
    if let Some(a) = auth.accounts.get(account as usize) {
        for i in &a.service_import_list {
            add(&i.local);
        }
        for m in &a.mapping_list {
            add(&m.source);
        }
    }
    out
}

/// The subjects other accounts import from `account` as streams: a route announces them for every
/// account (nats-server announces each importer's subscription in the exporter; a peer that gets the
/// exporter's message imports it itself). Service imports and mappings are the publisher's server's
/// business and cross a route already applied.
fn stream_interest(auth: &crate::auth::Auth, account: AccountId) -> HashMap<Key, u32> {
    let mut out = HashMap::new();
    if let Some(a) = auth.accounts.get(account as usize) {
        for r in &a.stream_route_list {
            out.insert((Bytes::copy_from_slice(r.subject.as_bytes()), None), 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(text: &str) -> LeafLinks {
        let loaded = crate::config::parse_str(text, std::path::Path::new("t.conf"), false).unwrap();
        let auth = crate::auth::Auth::compile(&loaded.config, None).unwrap();
        let settings = crate::settings::Settings::from_config(&loaded.config, "NID", 4222);
        LeafLinks::new(&settings, &auth)
    }

    #[test]
    fn one_loop_detection_subject_per_account_and_standing_interest() {
        let l = links(
            r#"accounts {
                 X { users = [ {user: x, password: x} ], exports = [ {stream: "news.>"} ],
                     mappings = { "old.*": "new.$1" } }
                 Y { users = [ {user: y, password: y} ],
                     imports = [ {stream: {account: X, subject: "news.>"}} ] }
               }
               leafnodes { remotes = [ {url: "nats://a", account: X}, {url: "nats://b", account: X},
                                       {url: "nats://c", account: Y} ] }"#,
        );
        assert_eq!(l.remotes.len(), 3);
        // Both of X's remotes share its subject; Y has its own.
        assert_eq!(l.remotes[0].lds, l.remotes[1].lds);
        assert_ne!(l.remotes[0].lds, l.remotes[2].lds);
        let x = l.remotes[0].account;
        assert!(l.is_own_lds(x, &l.remotes[1].lds));
        assert!(!l.is_own_lds(x, &l.remotes[2].lds));
        // X's standing interest: the stream Y imports from it and its mapping source.
        let keys: Vec<&[u8]> = l.interest[&x].keys().map(|k| &k.0[..]).collect();
        assert!(
            keys.contains(&&b"news.>"[..]) && keys.contains(&&b"old.*"[..]),
            "{keys:?}"
        );
    }
}
