//! Leaf nodes attaching to us (`leafnodes { port }`: corenats as the hub), on shard 0 — nats-server's
//! accepting sequence (`leafnode.go`):
//!
//! 1. Our INFO at once: `client_id`, `leafnode_urls` and a `nonce` (a nats-server leaf checks the
//!    first two to know it reached a leaf-node port), `info_on_connect`, never `compression`.
//! 2. The leaf's first op must be its CONNECT, within the authorization timeout: a client's
//!    (`lang`), a gateway's, or one from our own cluster are refused with nats-server's words.
//! 3. Its credentials: `leafnodes { authorization }` users when there are some (each binds an
//!    account), else the client logins (`authorization`, `accounts` users, nkeys: the user's account
//!    and permissions), else the `authorization { account }` or `$G`.
//! 4. The `connect_info` INFO answering it: the account we bound (`remote_account`) and the user's
//!    permissions (`import` = its subscribe rules, `export` = its publish rules), which the link
//!    applies reversed (what we send it and what we announce to it).
//! 5. The link becomes a connection of shard 0 (`LinkKind::Spoke`); everything its account wants
//!    goes out (`spoke_send_all`), then its ops are read like a hub's (`link.rs`).
//!
//! Runs on: shard 0 only (the listener, one task per attached leaf node).

use super::super::transport::Transport;
use super::super::writer::writer_task;
use super::super::{ConnKey, ShardRef};
use super::link::{read_ops, LinkReader};
use super::{LinkConn, LinkKind};
use crate::auth::{Credentials, Permissions};
use crate::config::{PermissionsSpec, SubjectPermSpec};
use crate::leaf::accept::{LeafPortInfo, SpokeConnect, SpokeRefusal};
use crate::leaf::hub_info::SubjectRules;
use crate::protocol::link::Dialect;
use crate::runtime;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// nats-server's default leaf authorization timeout.
const AUTH_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the leaf-node listener on shard 0.
pub fn start(shard: &ShardRef, sock: socket2::Socket) {
    {
        let mut sh = shard.borrow_mut();
        if sh.id != 0 {
            return;
        }
        sh.leaf.accept_port = sock
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map_or(0, |a| a.port());
        let auth = sh.auth.clone();
        sh.leaf.enable_routes(&auth);
        if let Some(spec) = sh.settings.leafnodes.tls.clone() {
            match crate::tls::compile::compile(&spec) {
                Ok(t) => sh.leaf.accept_tls = Some(Arc::new(t)),
                Err(e) => {
                    // Checked at start (`tls::compile::for_config`): a file changed since.
                    tracing::error!("Leafnode TLS configuration: {e}; not accepting leaf nodes");
                    return;
                }
            }
        }
    }
    let stop = shard.borrow().listener_stop.clone();
    let me = shard.clone();
    runtime::spawn(super::super::listener::accept_links(
        sock,
        stop,
        "leafnode",
        move |stream| {
            let peer = stream.peer_addr();
            let span = tracing::info_span!(
                parent: None,
                "leaf",
                peer = %peer.map(|p| p.to_string()).unwrap_or_default()
            );
            runtime::spawn(attached(me.clone(), Transport::tcp(stream)).instrument(span));
        },
    ));
}

/// Our leaf-port INFO (before the CONNECT: `nonce` set; after it: `connect_info` fields set by the
/// caller).
fn port_info(sh: &super::super::Shard, client_id: u64, nonce: &str) -> LeafPortInfo {
    let s = &sh.settings;
    let spec = &s.leafnodes;
    let urls = match &spec.advertise {
        Some(a) => vec![a.clone()],
        None => crate::shard::route::link::own_client_urls(&spec.host, sh.leaf.accept_port),
    };
    LeafPortInfo {
        server_id: s.server_id.clone(),
        server_name: s.server_name.clone(),
        version: crate::settings::VERSION.to_string(),
        go: "corenats".to_string(),
        host: spec.host.clone(),
        port: sh.leaf.accept_port,
        headers: true,
        auth_required: true,
        max_payload: i64::from(s.max_payload),
        proto: 2,
        info_on_connect: true,
        leafnode_urls: urls,
        client_id,
        nonce: nonce.to_string(),
        cluster: if sh.cluster.enabled {
            sh.cluster.name.clone()
        } else {
            String::new()
        },
        tls_required: sh.leaf.accept_tls.is_some(),
        tls_verify: sh.leaf.accept_tls.as_ref().is_some_and(|t| t.verify),
        ..LeafPortInfo::default()
    }
}

/// The server side of TLS on a leaf link: after our INFO in clear text (the leaf starts it), or
/// before it with `handshake_first`. Bounded by the block's `timeout`. False when it failed (logged).
async fn secure(rd: &mut LinkReader, tls: &crate::tls::ServerTls) -> bool {
    let Transport::Tcp { stream, .. } = &rd.transport else {
        return true;
    };
    if !rd.pending.is_empty() {
        tracing::error!("TLS handshake error: the leaf node sent clear text before TLS");
        return false;
    }
    let hs = crate::tls::session::accept(stream, tls.client.clone(), tls.verify);
    match runtime::timeout(tls.timeout, hs).await {
        Some(Ok(session)) => {
            rd.transport = Transport::Tls(std::rc::Rc::new(session));
            true
        }
        Some(Err(e)) => {
            tracing::error!("TLS handshake error: {e}");
            false
        }
        None => {
            tracing::error!("TLS handshake timeout");
            false
        }
    }
}

/// Who the leaf is: its account, and its user's permissions (None = unrestricted).
struct Bound {
    account: crate::auth::AccountId,
    perms: Option<Arc<Permissions>>,
}

/// Checks the leaf's credentials (step 3). `Err` = Authorization Violation.
async fn authenticate(shard: &ShardRef, c: &SpokeConnect, nonce: &str) -> Result<Bound, ()> {
    let (users, default_account, auth) = {
        let sh = shard.borrow();
        (
            sh.settings.leafnodes.users.clone(),
            sh.settings.leafnodes.default_account.clone(),
            sh.auth.clone(),
        )
    };
    let account_id = |name: Option<&str>| auth.account_id(name.unwrap_or("$G")).ok_or(());
    if !users.is_empty() {
        let name = c.user.clone().unwrap_or_default();
        let Some(u) = users.iter().find(|u| u.user == name).cloned() else {
            return Err(());
        };
        let given = c.pass.clone().unwrap_or_default();
        let ok = if u.password.starts_with("$2") {
            let hash = u.password.clone();
            runtime::blocking(move || bcrypt::verify(given.as_bytes(), &hash).unwrap_or(false))
                .await
        } else {
            crate::auth::login::constant_time_eq(u.password.as_bytes(), given.as_bytes())
        };
        if !ok {
            return Err(());
        }
        return Ok(Bound {
            account: account_id(u.account.as_deref())?,
            perms: None,
        });
    }
    let no_creds = c.user.is_none() && c.auth_token.is_none() && c.nkey.is_none();
    if no_creds && (default_account.is_some() || !auth.has_credentials()) {
        return Ok(Bound {
            account: account_id(default_account.as_deref())?,
            perms: None,
        });
    }
    // The client logins apply (a bcrypt check runs on the blocking thread).
    let c = c.clone();
    let nonce = nonce.to_string();
    let login = runtime::blocking(move || {
        let creds = Credentials {
            user: c.user.as_deref(),
            pass: c.pass.as_deref(),
            token: c.auth_token.as_deref(),
            nkey: c.nkey.as_deref(),
            sig: c.sig.as_deref(),
            cert: None,
        };
        auth.authenticate(&creds, Some(nonce.as_bytes()))
    })
    .await
    .map_err(|_| ())?;
    Ok(Bound {
        account: login.account,
        perms: login.permissions,
    })
}

/// A side of the user's permissions as the leaf is told it.
fn rules(spec: Option<SubjectPermSpec>) -> Option<SubjectRules> {
    spec.map(|s| SubjectRules {
        allow: s.allow,
        deny: s.deny,
    })
}

/// The link's rules from the user's permissions, reversed as nats-server's hub does: what we send
/// the leaf follows the user's subscribe rules (plus the leaf's own `deny_pub`), what we announce
/// to it (what it may send us) its publish rules.
fn link_permissions(
    user: Option<&Permissions>,
    deny_pub: &[String],
) -> Result<Option<Arc<Permissions>>, String> {
    let mut publish = user.and_then(|p| p.subscribe.as_ref()).map(|r| r.spec());
    let subscribe = user.and_then(|p| p.publish.as_ref()).map(|r| r.spec());
    if !deny_pub.is_empty() {
        let p = publish.get_or_insert_with(SubjectPermSpec::default);
        p.deny
            .get_or_insert_with(Vec::new)
            .extend(deny_pub.iter().cloned());
    }
    if publish.is_none() && subscribe.is_none() {
        return Ok(None);
    }
    let spec = PermissionsSpec {
        publish,
        subscribe,
        allow_responses: None,
    };
    Permissions::compile(&spec)
        .map(|p| Some(Arc::new(p)))
        .map_err(|e| e.join("; "))
}

/// An attached leaf node: steps 1–5, then its life.
async fn attached(shard: ShardRef, transport: Transport) {
    let stopping = {
        let sh = shard.borrow();
        sh.draining || sh.stopped
    };
    if stopping {
        transport.shutdown();
        return;
    }
    let mut rd = LinkReader::new(&shard, transport, Dialect::Leaf);
    let nonce = super::super::session::new_nonce();
    let client_id = shard.borrow().globals.next_cid();
    let tls = shard.borrow().leaf.accept_tls.clone();
    // `handshake_first` (any form: a leaf configured for it starts TLS at once): TLS, then INFO.
    let tls_first = tls
        .as_ref()
        .is_some_and(|t| t.handshake_first != crate::tls::HandshakeFirst::Off);
    if let (true, Some(t)) = (tls_first, &tls) {
        if !secure(&mut rd, t).await {
            rd.transport.shutdown();
            return;
        }
    }
    let line = port_info(&shard.borrow(), client_id, &nonce).line();
    if rd.transport.write_all(&line).await.is_err() {
        rd.transport.shutdown();
        return;
    }
    if let (false, Some(t)) = (tls_first, &tls) {
        if !secure(&mut rd, t).await {
            rd.transport.shutdown();
            return;
        }
    }
    let within = shard
        .borrow()
        .settings
        .leafnodes
        .auth_timeout
        .unwrap_or(AUTH_TIMEOUT);
    let Some(json) = rd.expect_connect(within, "Leafnode").await else {
        return;
    };
    let cluster = {
        let sh = shard.borrow();
        sh.cluster.enabled.then(|| sh.cluster.name.clone())
    };
    let connect = match SpokeConnect::check(&json, cluster.as_deref()) {
        Ok(c) => c,
        // A CONNECT that is not JSON: nats-server closes without a word.
        Err(SpokeRefusal::Parse(e)) => {
            tracing::error!("Leafnode CONNECT: {e}");
            return rd.transport.shutdown();
        }
        Err(r) => return rd.refuse(&r.text()).await,
    };
    let bound = match authenticate(&shard, &connect, &nonce).await {
        Ok(b) => b,
        Err(()) => {
            match &connect.user {
                Some(u) => tracing::error!("authentication error - User {u:?}"),
                None => tracing::error!("authentication error"),
            }
            return rd.refuse("Authorization Violation").await;
        }
    };
    let perms = match link_permissions(bound.perms.as_deref(), &connect.deny_pub) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("Leafnode permissions: {e}");
            rd.transport.shutdown();
            return;
        }
    };
    // Step 4: what the leaf needs to know before it sends anything.
    let answer = {
        let sh = shard.borrow();
        let mut info = port_info(&sh, client_id, "");
        info.connect_info = true;
        info.remote_account = Some(sh.account_name(bound.account));
        info.import = rules(
            bound
                .perms
                .as_ref()
                .and_then(|p| p.subscribe.as_ref())
                .map(|r| r.spec()),
        );
        info.export = rules(
            bound
                .perms
                .as_ref()
                .and_then(|p| p.publish.as_ref())
                .map(|r| r.spec()),
        );
        info.line()
    };
    if rd.transport.write_all(&answer).await.is_err() {
        rd.transport.shutdown();
        return;
    }
    let transport = rd.transport.clone();
    let key: ConnKey = {
        let mut sh = shard.borrow_mut();
        if sh.draining || sh.stopped {
            drop(sh);
            transport.shutdown();
            return;
        }
        let name = if connect.name.is_empty() {
            connect.server_id.clone()
        } else {
            connect.name.clone()
        };
        let mut link = LinkConn::new(LinkKind::Spoke, connect.headers, name.clone());
        link.perms = perms;
        link.peer_id = connect.server_id.clone();
        // The same leaf server dialling again into the same account replaces its older link, as
        // nats-server's hub does.
        if !connect.server_id.is_empty() {
            let older: Vec<ConnKey> = sh
                .leaf
                .spokes
                .iter()
                .copied()
                .filter(|k| {
                    sh.conns.get(*k).is_some_and(|c| {
                        c.account == bound.account
                            && c.link
                                .as_ref()
                                .is_some_and(|l| l.peer_id == connect.server_id)
                    })
                })
                .collect();
            for k in older {
                sh.send_raw(k, b"-ERR 'Duplicate Remote LeafNode Connection'\r\n");
                sh.close_conn(k, crate::bus::CloseReason::DuplicateRemoteLeafnode);
            }
        }
        let key = sh.new_link_conn(&transport, bound.account, link);
        sh.leaf.spokes.push(key);
        let acc = sh.account_name(bound.account);
        tracing::info!("Leafnode connection created for account: {acc} (leaf {name:?})");
        key
    };
    let span = shard
        .borrow()
        .conns
        .get(key)
        .map(|c| c.span.clone())
        .unwrap_or_else(tracing::Span::none);
    runtime::spawn(writer_task(shard.clone(), key, transport).instrument(span));
    {
        let mut sh = shard.borrow_mut();
        sh.spoke_send_all(key);
        sh.end_batch();
    }
    let _ = read_ops(&shard, key, rd).await;
}
