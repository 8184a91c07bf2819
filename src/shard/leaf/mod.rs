//! Leaf-node links this server dialled (`leafnodes { remotes }`), on shard 0, which owns every link.
//!
//! A link is a connection in the shard's slab like a client (`Conn::link` is set): it has an outbound
//! buffer, a writer task and keep-alive PINGs like any connection; its reader is `link.rs`'s task,
//! which speaks the leaf protocol (`crate::protocol::leaf`).
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
//! Only shard 0 holds links, so every `Interest` shard 0 receives comes from clients: the hub never
//! hears back its own interest through another link.

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

/// Per-link state kept in the link's `Conn` (`Conn::link`).
pub struct LinkConn {
    /// Index in `LeafLinks::remotes`.
    pub remote: usize,
    /// The hub takes `HMSG` (else header blocks are dropped).
    pub headers: bool,
    /// The leaf user's permissions on the hub, reversed into ours (publish = the hub's `export`,
    /// subscribe = its `import`) and merged with `deny_exports`/`deny_imports`. None = unrestricted.
    pub perms: Option<Arc<Permissions>>,
    /// What we told the hub: key → member count (1 for plain interest). Bound: one entry per distinct
    /// subscription key of the bound account.
    pub sent: HashMap<Key, u32>,
    /// The hub's interest: key → slot in the connection's `subs`.
    pub hub_subs: HashMap<Key, usize>,
    /// The hub's name, for logs and `/leafz`.
    pub hub_name: String,
}

/// What one message owes one link (collected by `write_msg`, written once by `end_frame`).
pub struct Target {
    pub conn: ConnKey,
    pub plain: bool,
    pub queues: Vec<Bytes>,
}

/// Shard 0's leaf-node state (empty on other shards and without remotes).
#[derive(Default)]
pub struct LeafLinks {
    pub remotes: Vec<Remote>,
    /// Our interest per bound account, counted across all shards: key → subscriptions (plain: local
    /// subscriptions plus one per other shard with interest; queue: members). Bound: one entry per
    /// distinct subscription key of a bound account.
    pub interest: HashMap<AccountId, HashMap<Key, u32>>,
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
        let mut l = LeafLinks::default();
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
            let lds = match l.remotes.iter().find(|r| r.account == account) {
                Some(r) => r.lds.clone(),
                None => Bytes::from(format!("$LDS.{}", super::session::new_nonce())),
            };
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
        self.remotes
            .iter()
            .any(|r| r.account == acc && r.lds[..] == *subject)
    }

    /// True when account `acc` is bound to a remote here (its interest is counted).
    #[inline]
    pub fn binds(&self, acc: AccountId) -> bool {
        !self.interest.is_empty() && self.interest.contains_key(&acc)
    }
}

/// Interest a bound account has whatever its clients subscribe to, counted once from the start (as
/// nats-server's leaf announces them): the subjects other accounts import from it as streams (their
/// subscribers are reached through this account), its own service imports (a hub client's request
/// must reach the import) and its mapping sources (a hub message is mapped here). Taken from the
/// configuration at start (imports changed by a reload are not re-announced).
fn standing_interest(auth: &crate::auth::Auth, account: AccountId) -> HashMap<Key, u32> {
    let mut out = HashMap::new();
    let mut add = |subject: &str| {
        out.insert((Bytes::copy_from_slice(subject.as_bytes()), None), 1);
    };
    if let Some(a) = auth.accounts.get(account as usize) {
        for r in &a.stream_route_list {
            add(&r.subject);
        }
        for i in &a.service_import_list {
            add(&i.local);
        }
        for m in &a.mapping_list {
            add(&m.source);
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
