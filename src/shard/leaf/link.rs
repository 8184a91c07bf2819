//! One task per remote on shard 0: dial the hub, shake hands, read the hub's ops, and dial again when
//! the link goes — nats-server's soliciting sequence (`leafnode.go`):
//!
//! 1. TCP to the remote's next URL; the hub's INFO within `FIRST_INFO_WAIT`. It must come from a
//!    leaf-node port (`client_id` and `leafnode_urls`, else "attempted to connect to wrong port").
//!    TLS after that INFO when the remote has a `tls {}` block or the hub requires it (before it with
//!    `handshake_first`).
//! 2. Our CONNECT (`crate::leaf::connect`): no `compress_mode`, so the hub never compresses.
//! 3. When the hub announced `info_on_connect`, its second INFO (`connect_info: true`) within
//!    `CONNECT_INFO_WAIT`: the leaf user's `import`/`export` permissions, applied before anything is
//!    sent (a nats-server hub closes the link on the first subscription or message they refuse).
//! 4. The link becomes a connection of the shard (`Shard::new_link_conn`) with a writer task; our
//!    loop-detection subject and the account's interest go out; then the hub's ops are read here.
//! 5. When the link closes: wait `reconnect` plus up to a second of jitter (30 s after a loop, a
//!    permissions violation or a refused login, as nats-server does), then the next URL.
//!
//! Runs on: shard 0 only, one task per configured remote.

use super::super::transport::Transport;
use super::super::writer::writer_task;
use super::super::{ConnKey, ShardRef};
use super::{LinkConn, LinkKind};
use crate::auth::Permissions;
use crate::bus::{CloseReason, MsgRef};
use crate::config::{PermissionsSpec, SubjectPermSpec};
use crate::leaf::connect::LeafConnect;
use crate::leaf::hub_info::{HubInfo, SubjectRules};
use crate::leaf::url::RemoteUrl;
use crate::protocol::link::{self as wire, Dialect, LinkOp};
use crate::runtime;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// How long the hub has for its first INFO (nats-server: 1 s; a little more for a busy machine).
const FIRST_INFO_WAIT: Duration = Duration::from_secs(2);
/// How long the hub has for the INFO answering our CONNECT (nats-server: 2 s).
const CONNECT_INFO_WAIT: Duration = Duration::from_secs(2);
/// After a loop, a permissions violation or a refused login (nats-server's 30 s).
const LONG_BACKOFF: Duration = Duration::from_secs(30);
/// nats-server's `reconnect_error_reports` default: how often a failing dial is logged as an error.
const ERROR_REPORTS: u64 = 3600;
/// Reads of the hub's ops.
const READ_BUF: usize = 64 * 1024;

/// Starts one task per remote; called once on shard 0 at boot.
pub fn start(shard: &ShardRef) {
    let n = {
        let mut sh = shard.borrow_mut();
        if sh.id != 0 {
            return;
        }
        let links = super::LeafLinks::new(&sh.settings, &sh.auth);
        sh.leaf = links;
        sh.leaf.remotes.len()
    };
    for i in 0..n {
        let span = tracing::info_span!("leafnode", remote = i);
        runtime::spawn(link_task(shard.clone(), i).instrument(span));
    }
}

/// Why one attempt ended.
pub(crate) enum Outcome {
    /// The link was up and closed.
    Closed,
    /// It never came up (the reason is logged).
    Failed(String),
    /// The hub refused us in a way worth waiting 30 s for.
    Backoff(String),
}

async fn link_task(shard: ShardRef, idx: usize) {
    let mut next_url = 0usize;
    // Failed attempts in a row (nats-server's count, for its log lines).
    let mut attempts = 0u64;
    loop {
        if stopping(&shard) {
            return;
        }
        let (url, reconnect) = {
            let sh = shard.borrow();
            let spec = &sh.leaf.remotes[idx].spec;
            (
                spec.urls[next_url % spec.urls.len()].clone(),
                sh.settings.leafnodes.reconnect,
            )
        };
        next_url += 1;
        let jitter = Duration::from_millis(rand::random::<u64>() % 1000);
        let wait = match run_once(&shard, idx, &url).await {
            Outcome::Closed => {
                attempts = 0;
                reconnect + jitter
            }
            Outcome::Failed(e) => {
                attempts += 1;
                let host = RemoteUrl::parse(&url).map(|u| u.addr()).unwrap_or_default();
                // As nats-server: an error on the first attempt and every `ERROR_REPORTS`th, the
                // others at debug level, so a hub that is down does not flood the log.
                if attempts == 1 || attempts.is_multiple_of(ERROR_REPORTS) {
                    tracing::error!(
                        "Error trying to connect as leafnode to remote server {host:?} (attempt {attempts}): {e}"
                    );
                } else {
                    tracing::debug!(
                        "Error trying to connect as leafnode to remote server {host:?} (attempt {attempts}): {e}"
                    );
                }
                reconnect + jitter
            }
            Outcome::Backoff(e) => {
                attempts += 1;
                // The hub's words (a loop's already say how long the pause is).
                tracing::error!("Leafnode Error '{e}'");
                LONG_BACKOFF
            }
        };
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if stopping(&shard) {
                return;
            }
            runtime::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn stopping(shard: &ShardRef) -> bool {
    let sh = shard.borrow();
    sh.draining || sh.stopped
}

/// Bytes read from a link's peer and not parsed yet, with the transport they come from (TCP, then
/// TLS once the link upgraded). Shared by hub links and routes (`dialect`).
pub(crate) struct LinkReader {
    pub(crate) transport: Transport,
    pub(crate) pending: Vec<u8>,
    /// The read buffer, reused across reads.
    buf: Vec<u8>,
    dialect: Dialect,
    max_control_line: usize,
    max_payload: usize,
}

impl LinkReader {
    /// A reader of `transport` for a link speaking `dialect`, with the server's limits.
    pub(crate) fn new(shard: &ShardRef, transport: Transport, dialect: Dialect) -> LinkReader {
        let sh = shard.borrow();
        LinkReader {
            transport,
            pending: Vec::new(),
            buf: vec![0u8; READ_BUF],
            dialect,
            max_control_line: sh.settings.max_control_line as usize,
            max_payload: sh.settings.max_payload as usize,
        }
    }

    /// Reads more bytes; false on EOF or an error.
    async fn fill(&mut self) -> std::io::Result<bool> {
        let n = self.transport.read(&mut self.buf).await?;
        self.pending.extend_from_slice(&self.buf[..n]);
        Ok(n > 0)
    }

    /// Refuses the peer as nats-server does: logs `text`, sends it as `-ERR`, closes.
    pub(crate) async fn refuse(&mut self, text: &str) {
        tracing::error!("{text}");
        let _ = self
            .transport
            .write_all(format!("-ERR '{text}'\r\n").as_bytes())
            .await;
        self.transport.shutdown();
    }

    /// On an accepting port (routes, leaf nodes): the peer's first op, which must be its CONNECT
    /// within `within`. Its JSON, or None once the peer is refused as nats-server refuses it
    /// (`Authentication Timeout`; `Authorization Violation` for garbage or another op first; a
    /// close without a word when it hung up).
    pub(crate) async fn expect_connect(&mut self, within: Duration, what: &str) -> Option<Vec<u8>> {
        match runtime::timeout(within, self.next_control()).await {
            None => self.refuse("Authentication Timeout").await,
            Some(Err(e)) => {
                tracing::debug!("{what} closed before its CONNECT: {e}");
                if e.starts_with("parser error") {
                    self.refuse("Authorization Violation").await;
                } else {
                    self.transport.shutdown();
                }
            }
            Some(Ok(Owned::Connect(json))) => return Some(json),
            Some(Ok(_)) => self.refuse("Authorization Violation").await,
        }
        None
    }

    /// The next whole op during the handshake, as an owned copy (control ops only matter there).
    pub(crate) async fn next_control(&mut self) -> Result<Owned, String> {
        loop {
            match wire::parse(
                &self.pending,
                self.dialect,
                self.max_control_line,
                self.max_payload,
            ) {
                Ok(Some((op, used))) => {
                    let owned = Owned::from(&op);
                    self.pending.drain(..used);
                    return Ok(owned);
                }
                Ok(None) => match self.fill().await {
                    Ok(true) => {}
                    Ok(false) => return Err("connection closed by the peer".into()),
                    Err(e) => return Err(e.to_string()),
                },
                Err(e) => return Err(format!("parser error: {e}")),
            }
        }
    }
}

/// A handshake-time op, copied out of the read buffer.
pub(crate) enum Owned {
    Info(Vec<u8>),
    Connect(Vec<u8>),
    Err(String),
    Ping,
    Other,
}

impl From<&LinkOp<'_>> for Owned {
    fn from(op: &LinkOp<'_>) -> Owned {
        match op {
            LinkOp::Info(j) => Owned::Info(j.to_vec()),
            LinkOp::Connect(j) => Owned::Connect(j.to_vec()),
            LinkOp::Err(t) => Owned::Err(String::from_utf8_lossy(t).into_owned()),
            LinkOp::Ping => Owned::Ping,
            _ => Owned::Other,
        }
    }
}

/// Errors after which nats-server's leaf waits 30 s before dialling again.
fn wants_backoff(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("loop detected")
        || t.contains("permissions violation")
        || t.contains("authorization violation")
        || t.contains("same cluster name")
}

async fn run_once(shard: &ShardRef, idx: usize, url_text: &str) -> Outcome {
    let url = match RemoteUrl::parse(url_text) {
        Ok(u) => u,
        Err(e) => return Outcome::Failed(format!("invalid url {url_text:?}: {e}")),
    };
    let addr_text = url.addr();
    let resolved = {
        let a = addr_text.clone();
        runtime::blocking(move || {
            std::net::ToSocketAddrs::to_socket_addrs(&a).map(|mut it| it.next())
        })
        .await
    };
    let addr = match resolved {
        Ok(Some(a)) => a,
        Ok(None) => return Outcome::Failed(format!("no address for {addr_text}")),
        Err(e) => return Outcome::Failed(format!("cannot resolve {addr_text}: {e}")),
    };
    let dial = {
        let sh = shard.borrow();
        let r = &sh.leaf.remotes[idx].spec;
        r.dial_timeout.unwrap_or(sh.settings.leafnodes.dial_timeout)
    };
    let stream = match runtime::connect(addr, dial).await {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(format!("dial {addr_text}: {e}")),
    };
    let mut rd = LinkReader::new(shard, Transport::tcp(stream.clone()), Dialect::Leaf);
    let info = match handshake(shard, idx, &url, &mut rd).await {
        Ok(i) => i,
        Err(o) => {
            rd.transport.shutdown();
            return o;
        }
    };
    let (info, perms) = info;
    let transport = rd.transport.clone();
    if stopping(shard) {
        // Lame duck or shutdown began during the handshake: no new link.
        transport.shutdown();
        return Outcome::Closed;
    }
    let key = {
        let mut sh = shard.borrow_mut();
        let acc = sh.leaf.remotes[idx].account;
        let name = if info.server_name.is_empty() {
            info.server_id.clone()
        } else {
            info.server_name.clone()
        };
        let mut link = LinkConn::new(LinkKind::Hub, info.headers, name);
        link.perms = perms;
        let key = sh.new_link_conn(&transport, acc, link);
        sh.leaf.remotes[idx].conn = Some(key);
        let name = sh.account_name(acc);
        tracing::info!(
            "Leafnode connection created for account: {name} on {addr_text} (hub {:?})",
            info.server_name
        );
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
        sh.link_send_all(key, idx);
        sh.end_batch();
    }
    read_ops(shard, key, rd).await
}

/// Steps 1–3: the hub's INFO, our CONNECT, the hub's `connect_info` INFO. Returns the hub's INFO
/// and the permissions the link applies.
async fn handshake(
    shard: &ShardRef,
    idx: usize,
    url: &RemoteUrl,
    rd: &mut LinkReader,
) -> Result<(HubInfo, Option<Arc<Permissions>>), Outcome> {
    let failed = Outcome::Failed;
    let tls = shard.borrow().leaf.remotes[idx].tls.clone();
    // `handshake_first` on the remote (and on the hub's leaf port): TLS before the INFO.
    let tls_first = shard.borrow().leaf.remotes[idx]
        .spec
        .tls
        .as_ref()
        .is_some_and(|t| t.handshake_first != crate::tls::HandshakeFirst::Off);
    if tls_first {
        secure(shard, idx, url, rd, tls.clone()).await?;
    }
    let first = runtime::timeout(FIRST_INFO_WAIT, rd.next_control())
        .await
        .ok_or_else(|| failed("no INFO from the hub in time".into()))?
        .map_err(failed)?;
    let Owned::Info(json) = first else {
        return Err(Outcome::Failed("attempted to connect to wrong port".into()));
    };
    let info = HubInfo::parse(&json).map_err(Outcome::Failed)?;
    if !info.is_leaf_port() {
        return Err(Outcome::Failed("attempted to connect to wrong port".into()));
    }
    if !tls_first && (tls.is_some() || info.tls_required) {
        secure(shard, idx, url, rd, tls).await?;
    }
    let signature = signed_login(shard, idx, &info)?;
    let line = {
        let sh = shard.borrow();
        let r = &sh.leaf.remotes[idx];
        let account = sh.account_name(r.account);
        let (user, pass, token) = match (&url.user, &url.password) {
            (Some(u), Some(p)) => (Some(u.as_str()), Some(p.as_str()), None),
            // A user alone is sent as a token too, as nats-server does.
            (Some(u), None) => (Some(u.as_str()), None, Some(u.as_str())),
            _ => (None, None, None),
        };
        LeafConnect {
            version: crate::settings::VERSION,
            server_id: &sh.settings.server_id,
            name: &sh.settings.server_name,
            headers: true,
            deny_pub: &r.spec.deny_imports,
            remote_account: &account,
            protocol: 2,
            user,
            pass,
            auth_token: token,
            nkey: signature.as_ref().and_then(|s| s.nkey.as_deref()),
            jwt: signature.as_ref().and_then(|s| s.jwt.as_deref()),
            sig: signature.as_ref().map(|s| s.sig.as_str()),
        }
        .line()
    };
    rd.transport
        .write_all(&line)
        .await
        .map_err(|e| Outcome::Failed(e.to_string()))?;
    let mut rules = (None, None);
    if info.info_on_connect {
        let deadline = Instant::now() + CONNECT_INFO_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let op = runtime::timeout(left, rd.next_control())
                .await
                .ok_or_else(|| failed("Stale Leaf Node Connection".into()))?
                .map_err(failed)?;
            match op {
                Owned::Info(j) => {
                    let ci = HubInfo::parse(&j).map_err(Outcome::Failed)?;
                    if ci.connect_info {
                        rules = (ci.import, ci.export);
                        break;
                    }
                }
                Owned::Err(text) if wants_backoff(&text) => return Err(Outcome::Backoff(text)),
                Owned::Err(text) => return Err(Outcome::Failed(text)),
                Owned::Ping => {
                    let _ = rd.transport.write_all(crate::protocol::writer::PONG).await;
                }
                Owned::Other | Owned::Connect(_) => {}
            }
        }
    }
    let perms = {
        let sh = shard.borrow();
        let spec = &sh.leaf.remotes[idx].spec;
        link_permissions(rules.0, rules.1, &spec.deny_imports, &spec.deny_exports)
            .map_err(Outcome::Failed)?
    };
    Ok((info, perms))
}

/// Upgrades the link to TLS after the hub's INFO (in clear text, as nats-server's leaf does): with
/// the remote's `tls {}`, or — when only the hub asks for TLS — the system's roots. The hub's
/// certificate must name the URL's host (or IP). Bounded by the block's `timeout` (2 s by default).
async fn secure(
    shard: &ShardRef,
    idx: usize,
    url: &RemoteUrl,
    rd: &mut LinkReader,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<(), Outcome> {
    let failed = |e: String| Outcome::Failed(format!("TLS handshake with the hub: {e}"));
    let config = match tls {
        Some(c) => c,
        None => crate::tls::compile::client(&crate::config::TlsSpec::default()).map_err(failed)?,
    };
    let within = shard.borrow().leaf.remotes[idx]
        .spec
        .tls
        .as_ref()
        .and_then(|t| t.timeout)
        .filter(|t| !t.is_zero())
        .unwrap_or(crate::tls::compile::DEFAULT_TIMEOUT);
    let name = rustls::pki_types::ServerName::try_from(url.host.clone())
        .map_err(|e| failed(format!("invalid server name {:?}: {e}", url.host)))?;
    let Transport::Tcp { stream, .. } = &rd.transport else {
        return Err(failed("already secured".into()));
    };
    if !rd.pending.is_empty() {
        // The hub sent more than its INFO in clear text: not a hub we can secure.
        return Err(failed("unexpected bytes before the TLS handshake".into()));
    }
    let session = runtime::timeout(within, crate::tls::session::connect(stream, config, name))
        .await
        .ok_or_else(|| failed("timeout".into()))?
        .map_err(|e| failed(e.to_string()))?;
    rd.transport = Transport::Tls(std::rc::Rc::new(session));
    Ok(())
}

/// The remote's signed login over the hub's nonce, if it has a seed or a credentials file (the file
/// is read again at each dial, so a renewed one is used).
fn signed_login(
    shard: &ShardRef,
    idx: usize,
    info: &HubInfo,
) -> Result<Option<crate::leaf::creds::Signature>, Outcome> {
    use crate::leaf::creds::{parse_creds, SignedLogin};
    let (seed, creds) = {
        let sh = shard.borrow();
        let spec = &sh.leaf.remotes[idx].spec;
        (spec.nkey_seed.clone(), spec.credentials.clone())
    };
    let login = match (creds, seed) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Outcome::Failed(format!(
                    "Error reading LeafNode Remote Credentials file {:?}: {e}",
                    path.display()
                ))
            })?;
            parse_creds(&text).map_err(Outcome::Failed)?
        }
        (None, Some(seed)) => SignedLogin::Seed(seed),
        (None, None) => return Ok(None),
    };
    let nonce = info.nonce.as_deref().unwrap_or("");
    login.sign(nonce).map(Some).map_err(Outcome::Failed)
}

/// The link's rules: the hub's `import` (what the leaf user may subscribe to there: our interest and
/// what we accept) and `export` (what it may publish there: what we send), each with our own deny
/// list added. None when nothing is restricted.
fn link_permissions(
    import: Option<SubjectRules>,
    export: Option<SubjectRules>,
    deny_imports: &[String],
    deny_exports: &[String],
) -> Result<Option<Arc<Permissions>>, String> {
    fn side(rules: Option<SubjectRules>, extra_deny: &[String]) -> Option<SubjectPermSpec> {
        let mut r = rules.unwrap_or_default();
        if !extra_deny.is_empty() {
            r.deny
                .get_or_insert_with(Vec::new)
                .extend(extra_deny.iter().cloned());
        }
        (r.allow.is_some() || r.deny.as_ref().is_some_and(|d| !d.is_empty())).then_some(
            SubjectPermSpec {
                allow: r.allow,
                deny: r.deny,
            },
        )
    }
    let spec = PermissionsSpec {
        publish: side(export, deny_exports),
        subscribe: side(import, deny_imports),
        allow_responses: None,
    };
    if spec.publish.is_none() && spec.subscribe.is_none() {
        return Ok(None);
    }
    Permissions::compile(&spec)
        .map(|p| Some(Arc::new(p)))
        .map_err(|e| format!("invalid permissions from the hub: {}", e.join("; ")))
}

/// Step 4's reading: the peer's ops until the link closes (a hub link's or a route's).
pub(crate) async fn read_ops(shard: &ShardRef, key: ConnKey, rd: LinkReader) -> Outcome {
    let label = match rd.dialect {
        Dialect::Leaf => "Leafnode",
        Dialect::Route => "Route",
    };
    read_loop(shard, key, rd, label).await
}

async fn read_loop(shard: &ShardRef, key: ConnKey, mut rd: LinkReader, label: &str) -> Outcome {
    let mut outcome = Outcome::Closed;
    // Bytes of the last read still in `rd.buf`. Ops are parsed straight from it when nothing is
    // left over from before; only the tail of a split op is copied to `rd.pending`.
    let mut fresh = 0usize;
    'link: loop {
        // First round: whatever the handshake read past the `connect_info` INFO.
        let direct = rd.pending.is_empty();
        if !direct {
            rd.pending.extend_from_slice(&rd.buf[..fresh]);
        }
        let data: &[u8] = if direct {
            &rd.buf[..fresh]
        } else {
            &rd.pending
        };
        let mut used = 0;
        {
            let mut sh = shard.borrow_mut();
            if sh
                .conns
                .get(key)
                .is_none_or(|c| c.link.is_none() || c.phase == super::super::conn::Phase::Closing)
            {
                break 'link;
            }
            if let Some(c) = sh.conns.get_mut(key) {
                c.keepalive.activity(Instant::now());
            }
            loop {
                match wire::parse(
                    &data[used..],
                    rd.dialect,
                    rd.max_control_line,
                    rd.max_payload,
                ) {
                    Ok(Some((op, n))) => {
                        used += n;
                        if let Err(text) = sh.link_op(key, op) {
                            if rd.dialect == Dialect::Leaf && wants_backoff(&text) {
                                outcome = Outcome::Backoff(text);
                            } else {
                                tracing::error!("{label} Error '{text}'");
                            }
                            sh.close_conn(key, CloseReason::ProtocolViolation);
                            sh.end_batch();
                            break 'link;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::error!("{label} parser error: {e}");
                        sh.close_conn(key, CloseReason::ProtocolViolation);
                        sh.end_batch();
                        break 'link;
                    }
                }
            }
            sh.end_batch();
        }
        if rd.dialect == Dialect::Route {
            super::super::route::link::spawn_pending_dials(shard);
        }
        if direct {
            rd.pending.extend_from_slice(&rd.buf[used..fresh]);
        } else {
            rd.pending.drain(..used);
        }
        // Backpressure, as for a client: while another shard's inbox is full, stop reading the hub.
        while !shard.borrow_mut().outbox.drain_backlog() {
            runtime::sleep(Duration::from_micros(50)).await;
        }
        match rd.transport.read(&mut rd.buf).await {
            Ok(n) if n > 0 => fresh = n,
            Ok(_) => {
                shard
                    .borrow_mut()
                    .close_conn(key, CloseReason::ClientClosed);
                shard.borrow_mut().end_batch();
                break;
            }
            Err(e) => {
                tracing::debug!("{label} read error: {e}");
                shard.borrow_mut().close_conn(key, CloseReason::ReadError);
                shard.borrow_mut().end_batch();
                break;
            }
        }
        runtime::yield_if_needed().await;
    }
    {
        let mut sh = shard.borrow_mut();
        if let Some(c) = sh.conns.get(key) {
            let reason = c.close_reason.map(CloseReason::text).unwrap_or("closed");
            tracing::info!("{label} connection closed: {reason}");
        }
        sh.task_done(key);
    }
    outcome
}

impl super::super::Shard {
    /// One op from the peer on link `key`. `Err` carries an error that closes the link.
    fn link_op(&mut self, key: ConnKey, op: LinkOp<'_>) -> Result<(), String> {
        match op {
            LinkOp::Ping => self.send_raw(key, crate::protocol::writer::PONG),
            LinkOp::Pong => {
                if let Some(c) = self.conns.get_mut(key) {
                    c.keepalive.pong(Instant::now());
                }
            }
            LinkOp::Ok | LinkOp::Connect(_) => {}
            LinkOp::Info(json) => self.link_info(key, json),
            LinkOp::Err(text) => {
                let text = String::from_utf8_lossy(text).into_owned();
                return Err(text);
            }
            LinkOp::Sub {
                account: Some(account),
                subject,
                queue,
            } => self.route_sub(key, account, subject, queue.map(|(q, _)| q)),
            LinkOp::Sub {
                account: None,
                subject,
                queue,
            } => {
                if let Err(text) = self.link_sub(key, subject, queue.map(|(q, _)| q)) {
                    self.send_raw(key, format!("-ERR '{text}'\r\n").as_bytes());
                    return Err(text);
                }
            }
            LinkOp::Unsub {
                account,
                subject,
                queue,
            } => self.link_unsub(key, account, subject, queue),
            LinkOp::Msg {
                account,
                subject,
                reply,
                queues,
                headers,
                payload,
            } => {
                let msg = MsgRef {
                    subject,
                    reply,
                    headers,
                    payload,
                };
                match account {
                    Some(a) => self.route_msg(key, a, msg, &queues),
                    None => {
                        if let Err(text) = self.link_msg(key, msg, &queues) {
                            self.send_raw(key, format!("-ERR '{text}'\r\n").as_bytes());
                            return Err(text);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
