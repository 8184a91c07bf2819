//! Route handshakes and tasks, on shard 0 — nats-server's sequence (`route.go`):
//!
//! - **Accepting** (`accepted`): our INFO at once; the peer's first op must be its CONNECT (its
//!   `authorization` checked, a client's or a gateway's refused) within the authorization timeout;
//!   then its INFO registers the route. A nats-server peer also dials a dedicated `$SYS` route, sees
//!   from our INFO that we do not pool, says so with an `-ERR` and closes: nothing was registered.
//! - **Dialling** (`dial_task`, one per configured URL and per gossiped server): CONNECT and INFO at
//!   once, then the peer's INFO registers the route. A URL that leads back to us is dropped; one
//!   whose server is already connected waits; a configured URL is dialled again a second after a
//!   route closes, forever; a gossiped one `connect_retries` times.
//! - **Registering** (`register`): one route per peer server id (a second one is closed as a
//!   duplicate), cluster names must match (a made-up name yields to a configured one); then every
//!   account's interest goes out, and an accepted peer's INFO is gossiped to the other peers.
//! - **TLS** (`cluster { tls }`): both sides start the handshake on TCP connect, before any INFO
//!   (nats-server's `createRoute`), bounded by the block's `timeout`; the accepting side requires
//!   the peer's certificate, the dialling side checks the peer's for the URL's host (or the first
//!   host name of the configured URLs when the URL has an IP address, as nats-server's
//!   `routeTLSName`). A failed handshake closes the connection; a dial is retried as any failed
//!   dial. With `verify_and_map` or `verify_cert_and_check_known_urls`, an accepted peer's
//!   certificate, not its CONNECT's password, decides whether it may join (`isRouterAuthorized`).
//!
//! Runs on: shard 0 only (the listener, one task per dialled URL, one reader per route).

use super::super::leaf::link::{read_ops, LinkReader, Outcome, Owned};
use super::super::leaf::{LinkConn, LinkKind};
use super::super::transport::Transport;
use super::super::writer::writer_task;
use super::super::{ConnKey, ShardRef};
use super::{Cluster, Peer};
use crate::leaf::url::RemoteUrl;
use crate::protocol::link::Dialect;
use crate::route::connect::{dns_alt_name_matches, Refusal, RouteConnect};
use crate::route::info::RouteInfo;
use crate::runtime::{self, Stream};
use crate::tls::compile::RouteTls;
use crate::tls::identity::PeerIdentity;
use crate::tls::session::{self, HandshakeError, TlsSession};
use std::rc::Rc;
use std::time::Duration;
use tracing::Instrument;

/// nats-server's route dial timeout and the pause between attempts (`DEFAULT_ROUTE_DIAL`/`CONNECT`).
/// Most dial tasks at once for servers learnt by gossip.
const MAX_DIALS: usize = 1024;
const DIAL_TIMEOUT: Duration = Duration::from_secs(1);
const RETRY: Duration = Duration::from_secs(1);
/// How long a dialled peer has for its INFO (nats-server answers at once).
const INFO_WAIT: Duration = Duration::from_secs(2);
/// How long an accepted peer has for its INFO after its CONNECT (a nats-server peer sends it as
/// soon as it has read ours).
const PEER_INFO_WAIT: Duration = Duration::from_secs(10);
/// nats-server's default route authorization timeout (with TLS: the TLS timeout plus a second,
/// its `getDefaultAuthTimeout`).
const AUTH_TIMEOUT: Duration = Duration::from_secs(2);
/// nats-server's warning for `insecure` in `cluster { tls }` (`clusterTLSInsecureWarning`).
const INSECURE_WARNING: &str = concat!(
    "TLS certificate chain and hostname of solicited routes will not be verified. ",
    "DO NOT USE IN PRODUCTION!"
);
/// nats-server's `ErrCertNotPinned`.
const NOT_PINNED: &str = "certificate not pinned";

/// Starts the cluster on shard 0: the listener on `sock` and a dial task per configured route.
pub fn start(shard: &ShardRef, sock: socket2::Socket) {
    let urls = {
        let mut sh = shard.borrow_mut();
        if sh.id != 0 {
            return;
        }
        let port = sock
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map_or(0, |a| a.port());
        let spec = &sh.settings.cluster;
        // Checked by the configuration check before start; only a file changed since fails here,
        // and a cluster that meant TLS never runs in plain text.
        let tls = match spec.tls.as_ref().map(crate::tls::compile::routes) {
            None => None,
            Some(Ok(t)) => Some(std::sync::Arc::new(t)),
            Some(Err(e)) => {
                tracing::error!("Cluster TLS configuration: {e} (routes are not started)");
                return;
            }
        };
        if tls.as_ref().is_some_and(|t| t.insecure) {
            tracing::warn!("{INSECURE_WARNING}");
        }
        let tls_name = tls_name(&spec.routes);
        let (name, dynamic) = match &spec.name {
            Some(n) => (n.clone(), false),
            None => (super::super::session::new_nonce(), true),
        };
        if dynamic {
            tracing::warn!("Cluster name was dynamically generated, consider setting one");
        }
        tracing::info!("Cluster name is {name}");
        let routes = spec.routes.clone();
        sh.cluster = Cluster {
            enabled: true,
            name,
            dynamic,
            port,
            tls,
            tls_name,
            ..Cluster::default()
        };
        let auth = sh.auth.clone();
        sh.leaf.enable_routes(&auth);
        routes
    };
    let stop = shard.borrow().listener_stop.clone();
    let me = shard.clone();
    runtime::spawn(super::super::listener::accept_links(
        sock,
        stop,
        "route",
        move |stream| {
            let peer = stream.peer_addr();
            let span = tracing::info_span!(
                parent: None,
                "route",
                peer = %peer.map(|p| p.to_string()).unwrap_or_default()
            );
            runtime::spawn(accepted(me.clone(), stream).instrument(span));
        },
    ));
    for url in urls {
        spawn_dial(shard, url, true);
    }
}

/// Starts a dial task for `url` unless one runs already.
fn spawn_dial(shard: &ShardRef, url: String, explicit: bool) {
    {
        let mut sh = shard.borrow_mut();
        // Gossip names servers to dial; a peer that names thousands must not make us run
        // thousands of dial tasks (configured routes always get theirs).
        if !explicit && sh.cluster.dialling.len() >= MAX_DIALS {
            tracing::warn!(
                "Too many route dials in progress ({MAX_DIALS}); not dialling {}",
                redacted(&url)
            );
            return;
        }
        if !sh.cluster.dialling.insert(url.clone()) {
            return;
        }
    }
    let span = tracing::info_span!(parent: None, "route", url = %redacted(&url));
    runtime::spawn(dial_task(shard.clone(), url, explicit).instrument(span));
}

/// nats-server's `saveRouteTLSName`: the first configured route URL's host that is a name, not an
/// IP address.
fn tls_name(routes: &[String]) -> Option<String> {
    routes
        .iter()
        .filter_map(|u| RemoteUrl::parse(u).ok())
        .map(|u| u.host)
        .find(|h| !h.is_empty() && h.parse::<std::net::IpAddr>().is_err())
}

/// `url` without its password, for logs.
fn redacted(url: &str) -> String {
    match RemoteUrl::parse(url) {
        Ok(u) => format!("nats-route://{}", u.addr()),
        Err(_) => url.to_string(),
    }
}

fn stopping(shard: &ShardRef) -> bool {
    let sh = shard.borrow();
    sh.draining || sh.stopped
}

/// Our route INFO.
fn our_info(sh: &super::super::Shard) -> RouteInfo {
    let s = &sh.settings;
    let spec = &s.cluster;
    let (host, port) = match spec.advertise.as_deref().and_then(split_host_port) {
        Some((h, p)) => (h, p),
        None => (spec.host.clone(), sh.cluster.port),
    };
    RouteInfo {
        server_id: s.server_id.clone(),
        server_name: s.server_name.clone(),
        version: crate::settings::VERSION.to_string(),
        go: "corenats".to_string(),
        host: host.clone(),
        port,
        auth_required: spec.user.is_some(),
        tls_required: sh.cluster.tls.is_some(),
        tls_verify: sh.cluster.tls.is_some(),
        headers: true,
        max_payload: i64::from(s.max_payload),
        proto: 2,
        cluster: sh.cluster.name.clone(),
        dynamic: sh.cluster.dynamic,
        connect_urls: if spec.no_advertise {
            Vec::new()
        } else {
            own_client_urls(&s.info_host, s.port)
        },
        ip: if spec.advertise.is_some() {
            format!("nats-route://{}/", join_host_port(&host, port))
        } else {
            String::new()
        },
        lame_duck: sh.draining,
        ..RouteInfo::default()
    }
}

fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (h, p) = s.rsplit_once(':')?;
    let h = h.trim_start_matches('[').trim_end_matches(']');
    Some((h.to_string(), p.parse().ok()?))
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Our client URLs as nats-server lists them: the client listener's `host:port`, or every
/// non-loopback address of the machine's interfaces when it listens on all of them (the loopback
/// one when there is no other).
pub fn own_client_urls(host: &str, port: u16) -> Vec<String> {
    let wildcard = host.is_empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
    if !wildcard {
        return vec![join_host_port(host, port)];
    }
    let mut out: Vec<String> = interface_addrs()
        .into_iter()
        .filter(|a| !a.is_loopback() && !a.is_unspecified())
        .filter(|a| !matches!(a, std::net::IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80))
        .map(|a| join_host_port(&a.to_string(), port))
        .collect();
    if out.is_empty() {
        out.push(join_host_port("127.0.0.1", port));
    }
    out
}

/// The machine's interface addresses (`getifaddrs`).
fn interface_addrs() -> Vec<std::net::IpAddr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below with freeifaddrs; every pointer
    // read is checked for null and points into that list.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return out;
        }
        let mut p = head;
        while !p.is_null() {
            let a = (*p).ifa_addr;
            if !a.is_null() {
                match i32::from((*a).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(a as *const libc::sockaddr_in);
                        out.push(std::net::IpAddr::from(
                            u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                        ));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(a as *const libc::sockaddr_in6);
                        out.push(std::net::IpAddr::from(sin6.sin6_addr.s6_addr));
                    }
                    _ => {}
                }
            }
            p = (*p).ifa_next;
        }
        libc::freeifaddrs(head);
    }
    out.dedup();
    out
}

/// An accepted route: TLS (with `cluster { tls }`), INFO, the peer's CONNECT, its INFO, then the
/// route's life.
async fn accepted(shard: ShardRef, stream: Stream) {
    if stopping(&shard) {
        stream.shutdown();
        return;
    }
    let tls = shard.borrow().cluster.tls.clone();
    let transport = match &tls {
        None => Transport::tcp(stream),
        Some(tls) => {
            tracing::debug!("Starting TLS route server handshake");
            let handshake = session::accept(&stream, tls.server.clone(), true);
            match secured(runtime::timeout(tls.timeout, handshake).await, tls) {
                Ok(s) => Transport::Tls(Rc::new(s)),
                Err(()) => {
                    stream.shutdown();
                    return;
                }
            }
        }
    };
    let mut rd = LinkReader::new(&shard, transport, Dialect::Route);
    let info_line = our_info(&shard.borrow()).line();
    if rd.transport.write_all(&info_line).await.is_err() {
        rd.transport.shutdown();
        return;
    }
    let (user, pass, within, routes) = {
        let sh = shard.borrow();
        let c = &sh.settings.cluster;
        let default = tls
            .as_ref()
            .map_or(AUTH_TIMEOUT, |t| t.timeout + Duration::from_secs(1));
        (
            c.user.clone(),
            c.password.clone(),
            c.auth_timeout.unwrap_or(default),
            c.routes.clone(),
        )
    };
    // `verify_and_map` / `verify_cert_and_check_known_urls`: the certificate decides, not the
    // CONNECT's user and password.
    let by_cert = tls.as_ref().filter(|t| t.map || t.check_known_urls);
    let Some(json) = rd.expect_connect(within, "Route").await else {
        return;
    };
    let connect = {
        let checked = if let Some(t) = by_cert {
            RouteConnect::check(&json, None, None).and_then(|c| {
                let admitted = rd
                    .transport
                    .tls()
                    .is_some_and(|s| cert_admits(s, t, user.as_deref(), &routes));
                if admitted {
                    Ok(c)
                } else {
                    Err(Refusal::Authorization)
                }
            })
        } else {
            RouteConnect::check(&json, user.as_deref(), pass.as_deref())
        };
        match checked {
            Ok(c) => c,
            Err(r) => {
                let text = match r {
                    Refusal::ClientOnRoutePort => "attempted to connect to route port".into(),
                    Refusal::Gateway => {
                        "Rejecting connection from gateway on the Route port".into()
                    }
                    Refusal::Authorization => "Authorization Violation".into(),
                    Refusal::Parse(e) => format!("Invalid route CONNECT: {e}"),
                };
                return rd.refuse(&text).await;
            }
        }
    };
    // The cluster name, checked on the CONNECT as nats-server does (a made-up one yields).
    if let Err(text) = check_cluster_name(&shard, &connect.cluster, connect.cluster_dynamic) {
        return rd.refuse(&text).await;
    }
    let info = match wait_info(&mut rd, PEER_INFO_WAIT).await {
        Ok(i) => i,
        Err(e) => {
            // A pooled peer's dedicated-account route ends here with its `-ERR`.
            tracing::debug!("Route not registered: {e}");
            rd.transport.shutdown();
            return;
        }
    };
    let _ = register(&shard, rd, info, false, false).await;
}

/// The end of a route's TLS handshake (either side): the session, with `pinned_certs` checked; or
/// `Err` once the failure is logged with nats-server's words (always as an error on a route port,
/// which no load balancer should probe). The caller closes the socket.
fn secured(
    done: Option<Result<TlsSession, HandshakeError>>,
    tls: &RouteTls,
) -> Result<TlsSession, ()> {
    let session = match done {
        None => {
            tracing::error!("TLS handshake timeout");
            return Err(());
        }
        Some(Err(e)) => {
            tracing::error!("TLS route handshake error: {e}");
            return Err(());
        }
        Some(Ok(s)) => s,
    };
    if let Some(pinned) = &tls.pinned {
        let leaf = session.peer_certificates().into_iter().next();
        let ok = leaf
            .and_then(|der| PeerIdentity::from_der(&der).ok())
            .is_some_and(|id| pinned.contains(&id.spki_sha256()));
        if !ok {
            tracing::error!("TLS route handshake error: {NOT_PINNED}");
            session.shutdown();
            return Err(());
        }
    }
    let p = session.params();
    tracing::debug!("TLS handshake complete");
    tracing::debug!("TLS version {}, cipher suite {}", p.version, p.cipher_suite);
    Ok(session)
}

/// nats-server's `isRouterAuthorized` with `verify_and_map` / `verify_cert_and_check_known_urls`:
/// the peer's certificate admits it when one of its DNS names is the host of a configured route URL
/// (`check_known_urls`), or when it names the cluster `authorization` user (`map`).
fn cert_admits(
    session: &TlsSession,
    tls: &RouteTls,
    user: Option<&str>,
    routes: &[String],
) -> bool {
    let Some(leaf) = session.peer_certificates().into_iter().next() else {
        tracing::debug!("User required in cert, no peer certificates found");
        return false;
    };
    let Ok(id) = PeerIdentity::from_der(&leaf) else {
        return false;
    };
    if tls.check_known_urls {
        let hosts: Vec<String> = routes
            .iter()
            .filter_map(|u| RemoteUrl::parse(u).ok())
            .map(|u| u.host)
            .collect();
        if id
            .dns_names()
            .iter()
            .any(|name| dns_alt_name_matches(name, &hosts))
        {
            return true;
        }
    }
    tls.map && user.is_some_and(|u| id.map_name(&[u]).is_some())
}

/// Reads ops until the peer's INFO (answering PINGs); `Err` on `-ERR`, EOF, garbage or timeout.
async fn wait_info(rd: &mut LinkReader, within: Duration) -> Result<RouteInfo, String> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let op = runtime::timeout(left, rd.next_control())
            .await
            .ok_or_else(|| "no INFO from the peer in time".to_string())??;
        match op {
            Owned::Info(json) => return RouteInfo::parse(&json),
            Owned::Err(text) => return Err(text),
            Owned::Ping => {
                let _ = rd.transport.write_all(crate::protocol::writer::PONG).await;
            }
            Owned::Connect(_) | Owned::Other => {}
        }
    }
}

/// Checks a peer's cluster name against ours; a made-up name of ours yields to a configured one
/// (or a greater made-up one), as nats-server's does.
fn check_cluster_name(shard: &ShardRef, theirs: &str, their_dynamic: bool) -> Result<(), String> {
    let mut sh = shard.borrow_mut();
    let c = &mut sh.cluster;
    if theirs.is_empty() || theirs == c.name {
        return Ok(());
    }
    if c.dynamic && (!their_dynamic || c.name.as_str() < theirs) {
        tracing::info!("Cluster name updated to {theirs}");
        c.name = theirs.to_string();
        c.dynamic = their_dynamic;
        return Ok(());
    }
    Err(format!(
        "Rejecting connection, cluster name {theirs:?} does not match {:?}",
        c.name
    ))
}

/// A dial task: dials `url` until it leads back to us, or (a gossiped URL) its retries are used up.
async fn dial_task(shard: ShardRef, url: String, explicit: bool) {
    let mut failures = 0u32;
    let mut known_id: Option<String> = None;
    loop {
        if stopping(&shard) {
            break;
        }
        // The server behind this URL is connected already (it dialled us): nothing to do now.
        let connected = known_id
            .as_ref()
            .is_some_and(|id| shard.borrow().cluster.peers.contains_key(id));
        if !connected {
            match dial_once(&shard, &url, explicit).await {
                Ok(Some(id)) => {
                    failures = 0;
                    known_id = Some(id);
                }
                Ok(None) => {
                    // Our own URL.
                    shard.borrow_mut().cluster.own_urls.insert(url.clone());
                    break;
                }
                Err(e) => {
                    failures += 1;
                    match e {
                        // A failed TLS handshake, logged already (each time, as nats-server).
                        DialError::Logged => {}
                        DialError::Failed(e) if failures == 1 => {
                            tracing::error!("Error trying to connect to route: {e}");
                        }
                        DialError::Failed(e) => {
                            tracing::debug!(
                                "Error trying to connect to route (attempt {failures}): {e}"
                            );
                        }
                    }
                    let retries = shard.borrow().settings.cluster.connect_retries;
                    if !explicit && failures > retries {
                        break;
                    }
                }
            }
        }
        // A second plus up to 100 ms of jitter, as nats-server's reconnect.
        let wait = RETRY + Duration::from_millis(rand::random::<u64>() % 100);
        runtime::sleep(wait).await;
    }
    shard.borrow_mut().cluster.dialling.remove(&url);
}

/// Why a dial failed.
enum DialError {
    /// The failure, to be logged.
    Failed(String),
    /// The TLS handshake failed, and was logged.
    Logged,
}

impl From<String> for DialError {
    fn from(e: String) -> DialError {
        DialError::Failed(e)
    }
}

/// One dial. `Ok(Some(id))`: a route to server `id` came up and has closed (or it was a duplicate
/// of one that is up); `Ok(None)`: the URL is our own. `explicit`: the URL is a configured one.
async fn dial_once(
    shard: &ShardRef,
    url_text: &str,
    explicit: bool,
) -> Result<Option<String>, DialError> {
    let url = RemoteUrl::parse(url_text).map_err(|e| format!("invalid url {url_text:?}: {e}"))?;
    let addr_text = url.addr();
    let resolved = {
        let a = addr_text.clone();
        runtime::blocking(move || {
            std::net::ToSocketAddrs::to_socket_addrs(&a).map(|it| it.collect::<Vec<_>>())
        })
        .await
    };
    let addrs = match resolved {
        Ok(a) if !a.is_empty() => a,
        Ok(_) => return Err(format!("no address for {addr_text}").into()),
        Err(e) => return Err(format!("cannot resolve {addr_text}: {e}").into()),
    };
    // Each address in turn, as Go's dialer does (`localhost` may be ::1 first and 127.0.0.1 next:
    // a route URL naming a host, as a TLS certificate does, must reach it either way).
    let mut stream = None;
    let mut last = String::new();
    for addr in addrs {
        match runtime::connect(addr, DIAL_TIMEOUT).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("dial tcp {addr}: {e}"),
        }
    }
    let Some(stream) = stream else {
        return Err(last.into());
    };
    let tls = shard.borrow().cluster.tls.clone();
    let transport = match &tls {
        None => Transport::tcp(stream),
        Some(tls) => match secure_dialled(shard, &url.host, &stream, tls).await {
            Some(s) => Transport::Tls(Rc::new(s)),
            None => {
                stream.shutdown();
                return Err(DialError::Logged);
            }
        },
    };
    let mut rd = LinkReader::new(shard, transport, Dialect::Route);
    let connect = {
        let sh = shard.borrow();
        let spec = &sh.settings.cluster;
        let (user, pass) = match (&url.user, &url.password) {
            (Some(u), p) => (Some(u.clone()), p.clone()),
            _ => (spec.user.clone(), spec.password.clone()),
        };
        RouteConnect {
            user,
            pass,
            tls_required: tls.is_some(),
            headers: true,
            name: sh.settings.server_id.clone(),
            cluster: sh.cluster.name.clone(),
            cluster_dynamic: sh.cluster.dynamic,
            ..RouteConnect::default()
        }
    };
    let mut hello = connect.line();
    hello.extend_from_slice(&our_info(&shard.borrow()).line());
    if let Err(e) = rd.transport.write_all(&hello).await {
        rd.transport.shutdown();
        return Err(e.to_string().into());
    }
    let info = match wait_info(&mut rd, INFO_WAIT).await {
        Ok(i) => i,
        Err(e) => {
            rd.transport.shutdown();
            return Err(e.into());
        }
    };
    let id = info.server_id.clone();
    if id == shard.borrow().settings.server_id {
        rd.transport.shutdown();
        return Ok(None);
    }
    register(shard, rd, info, true, explicit).await?;
    Ok(Some(id))
}

/// The client side of a dialled route's TLS handshake, bounded by the block's `timeout`. The peer's
/// certificate must be valid for `host` — or, when `host` is an IP address and a configured route
/// URL has a host name, for that name (nats-server's `routeTLSName`, forgotten when a certificate
/// does not match it, as nats-server does). None once the failure is logged.
async fn secure_dialled(
    shard: &ShardRef,
    host: &str,
    stream: &Stream,
    tls: &RouteTls,
) -> Option<TlsSession> {
    let saved = shard.borrow().cluster.tls_name.clone();
    let name = match saved {
        Some(n) if host.parse::<std::net::IpAddr>().is_ok() => n,
        _ => host.to_string(),
    };
    let server_name = match rustls::pki_types::ServerName::try_from(name.clone()) {
        Ok(n) => n,
        Err(e) => {
            tracing::error!("TLS route handshake error: invalid server name {name:?}: {e}");
            return None;
        }
    };
    tracing::debug!("Starting TLS route client handshake");
    let handshake = session::connect(stream, tls.client.clone(), server_name);
    let done = runtime::timeout(tls.timeout, handshake).await;
    if let Some(Err(HandshakeError::Tls(rustls::Error::InvalidCertificate(
        rustls::CertificateError::NotValidForName
        | rustls::CertificateError::NotValidForNameContext { .. },
    )))) = &done
    {
        let mut sh = shard.borrow_mut();
        if sh.cluster.tls_name.as_deref() == Some(name.as_str()) && name != host {
            sh.cluster.tls_name = None;
        }
    }
    secured(done, tls).ok()
}

/// The peer's INFO arrived: register the route (or refuse it) and read it until it closes.
/// `configured`: we dialled it from a configured URL (`Peer::configured`).
async fn register(
    shard: &ShardRef,
    rd: LinkReader,
    info: RouteInfo,
    solicited: bool,
    configured: bool,
) -> Result<(), String> {
    let refused = |text: String| {
        rd.transport.shutdown();
        Err(text)
    };
    {
        let sh = shard.borrow();
        if info.server_id == sh.settings.server_id {
            drop(sh);
            return refused("route to self".into());
        }
        if !info.route_account.is_empty() {
            drop(sh);
            return refused(format!(
                "dedicated route for account {:?} not supported",
                info.route_account
            ));
        }
        if sh.cluster.peers.contains_key(&info.server_id) {
            drop(sh);
            tracing::debug!("Detected duplicate remote route {:?}", info.server_id);
            if configured {
                // A configured URL leads to the peer that dialled us first: its route is a
                // configured one (nats-server's `handleDuplicateRoute` keeps it so too).
                if let Some(p) = shard.borrow_mut().cluster.peers.get_mut(&info.server_id) {
                    p.configured = true;
                }
            }
            return refused("duplicate route".into());
        }
        if !solicited && info.server_name == sh.settings.server_name {
            let name = info.server_name.clone();
            drop(sh);
            tracing::error!("Remote server has a duplicate name: {name:?}");
            return refused("duplicate server name".into());
        }
    }
    if let Err(text) = check_cluster_name(shard, &info.cluster, info.dynamic) {
        tracing::error!("{text}");
        return refused(text);
    }
    let transport = rd.transport.clone();
    let peer_ip = transport.peer_addr().map(|a| a.ip());
    let mut info = info;
    if info.ip.is_empty() {
        if let Some(ip) = peer_ip {
            info.ip = format!(
                "nats-route://{}/",
                join_host_port(&ip.to_string(), info.port)
            );
        }
    }
    let key = {
        let mut sh = shard.borrow_mut();
        let name = if info.server_name.is_empty() {
            info.server_id.clone()
        } else {
            info.server_name.clone()
        };
        let link = LinkConn::new(LinkKind::Route, info.headers, name);
        let key = sh.new_link_conn(&transport, 0, link);
        sh.leaf.routes.push(key);
        sh.cluster.peers.insert(
            info.server_id.clone(),
            Peer {
                conn: key,
                info: info.clone(),
                solicited,
                configured,
            },
        );
        tracing::info!(
            "Route connection created to {:?} ({})",
            info.server_name,
            info.ip
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
        sh.route_send_all(key);
        if !solicited {
            sh.gossip(key, &info);
        }
        sh.cluster_changed();
        sh.end_batch();
    }
    let _: Outcome = read_ops(shard, key, rd).await;
    Ok(())
}

impl super::super::Shard {
    /// Tells our other peers about `info`'s server, which just registered a route we accepted, so
    /// they dial it (nats-server's `forwardNewRouteInfoToKnownServers`; nats-server 2.11+ peers
    /// read `gossip_mode` 2, "override": pass it on even if they learnt of it by gossip — not
    /// needed here, so the default is sent).
    fn gossip(&mut self, from: ConnKey, info: &RouteInfo) {
        let mut fwd = info.clone();
        fwd.gossip_mode = 0;
        let line = fwd.line();
        let others: Vec<ConnKey> = self
            .leaf
            .routes
            .iter()
            .copied()
            .filter(|k| *k != from)
            .collect();
        for k in others {
            self.send_raw(k, &line);
        }
    }

    /// An INFO on an established link: on a route, a peer telling us about another server (dial it:
    /// an implicit route) or about itself (lame duck mode: its client URLs leave ours).
    pub(crate) fn link_info(&mut self, key: ConnKey, json: &[u8]) {
        let is_route = self
            .conns
            .get(key)
            .and_then(|c| c.link.as_ref())
            .is_some_and(|l| l.kind == LinkKind::Route);
        if !is_route {
            return;
        }
        let Ok(info) = RouteInfo::parse(json) else {
            return;
        };
        let from = self.cluster.peer_of(key).map(|p| p.info.server_id.clone());
        if from.as_deref() == Some(info.server_id.as_str()) {
            if info.lame_duck {
                if let Some(p) = self.cluster.peers.get_mut(&info.server_id) {
                    p.info.connect_urls.clear();
                }
                self.cluster_changed();
            }
            return;
        }
        if info.server_id == self.settings.server_id
            || self.cluster.peers.contains_key(&info.server_id)
        {
            return;
        }
        let mut url = info.route_url();
        if let Some(rest) = url.strip_prefix("nats-route://") {
            let configured = &self.settings.cluster;
            if info.auth_required {
                if let (Some(u), Some(p)) = (&configured.user, &configured.password) {
                    url = format!("nats-route://{u}:{p}@{rest}");
                }
            }
        }
        if self.cluster.own_urls.contains(&url) {
            return;
        }
        // Dialled by the reader once this op's batch is done (`spawn_pending_dials`).
        self.cluster.pending_dials.push(url);
    }

    /// Lame duck mode began: our peers stop offering our client URLs to their clients (nats-server
    /// sends its INFO with `ldm` to every route).
    pub(crate) fn routes_lame_duck(&mut self) {
        if !self.cluster.enabled || self.leaf.routes.is_empty() {
            return;
        }
        let line = our_info(self).line();
        for k in self.leaf.routes.clone() {
            self.send_raw(k, &line);
        }
    }

    /// A route closed: forget its peer (the dial task of a configured URL dials again).
    pub(crate) fn route_closed(&mut self, key: ConnKey) {
        let before = self.leaf.routes.len();
        self.leaf.routes.retain(|k| *k != key);
        if before == self.leaf.routes.len() {
            return;
        }
        let id = self.cluster.peer_of(key).map(|p| p.info.server_id.clone());
        if let Some(id) = id {
            tracing::info!("Route connection closed to {id:?}");
            self.cluster.peers.remove(&id);
        }
        self.cluster_changed();
    }

    /// The set of peers changed: every shard's clients learn the cluster's client URLs (each
    /// shard applies `Control::ConnectUrls`, this one at once).
    fn cluster_changed(&mut self) {
        if self.settings.cluster.no_advertise {
            return;
        }
        let own = own_client_urls(&self.settings.info_host, self.settings.port);
        let urls = std::sync::Arc::new(self.cluster.client_urls(&own));
        if *urls == *self.connect_urls {
            return;
        }
        for dst in 0..self.nr_shards as crate::bus::ShardId {
            if dst != self.id {
                let c = crate::bus::Control::ConnectUrls(urls.clone());
                self.outbox.push(dst, crate::bus::BusMsg::Control(c));
            }
        }
        self.set_connect_urls(urls);
    }
}

/// Starts the dials a route's INFO asked for (gossip), after the batch that read it.
pub(crate) fn spawn_pending_dials(shard: &ShardRef) {
    let urls = std::mem::take(&mut shard.borrow_mut().cluster.pending_dials);
    for url in urls {
        spawn_dial(shard, url, false);
    }
}
