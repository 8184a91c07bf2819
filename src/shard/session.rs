//! The session of a connection: INFO on accept, CONNECT and login, the post-CONNECT INFO.
//!
//! Login may check a bcrypt hash (tens of milliseconds), so `op_connect` only parses and validates;
//! the reader has the credentials checked (`logins.rs`) and applies the verdict (`finish_login`).

use super::conn::{Conn, ConnStats, KeepAlive, LoginState, Outbound, OwnedCreds, Phase, Session};
use super::reader::Flow;
use super::transport::Transport;
use super::{ConnKey, Shard};
use crate::auth::{AuthFailure, Credentials, Login};
use crate::bus::CloseReason;
use crate::protocol::connect::{parse_connect_over, ConnectOptions};
use crate::protocol::errors::ProtoErr;
use crate::protocol::info::ServerInfo;
use crate::protocol::writer as w;
use crate::settings::Settings;
use slab::Slab;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The first server PING comes this soon after the connection opens (nats-server: min(ping_interval,
/// 2s), plus up to 20% so that many clients connecting at once do not ping in step).
const FIRST_PING: Duration = Duration::from_secs(2);

/// When the first keep-alive PING of connection `cid` is due after it opens.
fn first_ping_delay(ping_interval: Duration, cid: u64) -> Duration {
    let d = ping_interval.min(FIRST_PING);
    // A cheap spread from the connection id (a multiplicative hash), no random source needed.
    let spread = (cid.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as u32; // 0..1024
    d + d / 5 * spread / 1024
}

impl Shard {
    /// Registers a freshly accepted connection and queues its INFO. When the server is full the
    /// client still gets INFO, then `-ERR 'maximum connections exceeded'`, and the connection is
    /// closing. `tls_first`: the INFO will travel inside TLS (it says `tls_required`). While the
    /// transport is `Handshake`, the connection's clocks wait ([`Shard::start_clocks`]).
    pub fn new_conn(&mut self, transport: &Transport, tls_first: bool) -> ConnKey {
        let now = Instant::now();
        let cid = self.globals.next_cid();
        let nonce = self.auth.needs_nonce().then(new_nonce);
        let peer = transport.peer_addr();
        let span = tracing::info_span!(
            "conn",
            shard = self.id,
            cid,
            peer = %peer.map(|p| p.to_string()).unwrap_or_default(),
            account = tracing::field::Empty,
            user = tracing::field::Empty,
        );
        let keepalive = match transport {
            Transport::Handshake(_) => KeepAlive::not_started(now),
            _ => self.keepalive(cid, now),
        };
        let due = keepalive.next_due(true);
        let mut conn = self.conn_parts(cid, span, transport, keepalive, now);
        conn.login = LoginState::new(nonce);
        conn.tls_first = tls_first;
        let key = self.conns.insert(conn);
        self.kick_timers(due);
        self.stats.total_connections += 1;
        let info = self.info_json(key, false);
        self.send_raw(key, &info);
        if self.globals.try_open_server(self.settings.max_connections) {
            self.conns[key].counted_server = true;
            if self.draining {
                self.close_conn(key, CloseReason::LameDuck);
            }
        } else {
            self.send_err(key, &ProtoErr::MaxConnections);
            self.close_conn(key, CloseReason::MaxConnectionsExceeded);
        }
        tracing::debug!(cid, peer = ?peer, "Client connection created");
        key
    }

    /// Registers a leaf-node link that finished its handshake with the hub: an open connection in
    /// account `account`, never echoing (a hub's message never goes back to it), with PINGs but no
    /// authentication deadline, counted against no client limit.
    pub(crate) fn new_link_conn(
        &mut self,
        transport: &Transport,
        account: crate::auth::AccountId,
        link: super::leaf::LinkConn,
    ) -> ConnKey {
        let now = Instant::now();
        let cid = self.globals.next_cid();
        let peer = transport.peer_addr();
        let peer_text = peer.map(|p| p.to_string()).unwrap_or_default();
        let span = match link.kind {
            super::leaf::LinkKind::Hub | super::leaf::LinkKind::Spoke => {
                tracing::info_span!("leaf", shard = self.id, cid, peer = %peer_text)
            }
            super::leaf::LinkKind::Route => {
                tracing::info_span!("route", shard = self.id, cid, peer = %peer_text)
            }
        };
        let keepalive = KeepAlive::new(
            now,
            first_ping_delay(self.settings.ping_interval, cid),
            None,
        );
        let due = keepalive.next_due(false);
        let session = Session {
            echo: false,
            headers: link.headers,
            name: Some(link.peer_name.clone()),
            ..Session::default()
        };
        let mut conn = self.conn_parts(cid, span, transport, keepalive, now);
        conn.phase = Phase::Open;
        conn.session = session;
        conn.account = account;
        conn.sent_connect_info = true;
        conn.max_subs = 0;
        conn.link = Some(Box::new(link));
        let key = self.conns.insert(conn);
        self.kick_timers(due);
        key
    }

    /// A new connection's state before login: a client's defaults (nats-server's session defaults,
    /// account 0, the server's limits, no login yet).
    fn conn_parts(
        &self,
        cid: u64,
        span: tracing::Span,
        transport: &Transport,
        keepalive: KeepAlive,
        now: Instant,
    ) -> Conn {
        Conn {
            span,
            cid,
            peer: transport.peer_addr(),
            transport: transport.clone(),
            phase: Phase::New,
            close_reason: None,
            started: now,
            session: Session::defaults(),
            account: 0,
            login: LoginState::new(None),
            subs: Slab::new(),
            sids: HashMap::default(),
            out: Outbound::default(),
            keepalive,
            needs_barrier: false,
            pending_status: 0,
            status_waker: None,
            sent_connect_info: false,
            max_payload: self.settings.max_payload,
            max_subs: self.settings.max_subscriptions,
            stats: ConnStats::default(),
            tasks: 2,
            counted_server: false,
            resetting: false,
            reset_waker: None,
            tls_first: false,
            link: None,
        }
    }

    /// A connection's clocks from `now`: PINGs, and the authentication deadline whenever credentials
    /// exist, also with `no_auth_user` (a client that never sends anything must not hold a connection
    /// slot forever; nats-server does the same).
    fn keepalive(&self, cid: u64, now: Instant) -> KeepAlive {
        let auth_deadline = self
            .auth
            .has_credentials()
            .then(|| now + self.auth.auth_timeout());
        let first_ping = first_ping_delay(self.settings.ping_interval, cid);
        KeepAlive::new(now, first_ping, auth_deadline)
    }

    /// Starts the clocks of a connection whose TLS handshake just completed (nats-server starts the
    /// authentication timer after the handshake, so a slow handshake is not an authentication timeout).
    pub fn start_clocks(&mut self, key: ConnKey) {
        let now = Instant::now();
        let Some(cid) = self.conns.get(key).map(|c| c.cid) else {
            return;
        };
        let keepalive = self.keepalive(cid, now);
        let due = keepalive.next_due(true);
        self.conns[key].keepalive = keepalive;
        self.kick_timers(due);
    }

    /// The cluster's client URLs changed: keep them for new clients' INFO and send an async INFO to
    /// every open client that understands one (`protocol >= 1`) and has had its first PONG (its
    /// `connect_info` INFO, which already carries the URLs), as nats-server does.
    pub(crate) fn set_connect_urls(&mut self, urls: std::sync::Arc<Vec<String>>) {
        self.connect_urls = urls;
        let keys: Vec<ConnKey> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.phase == Phase::Open
                    && c.link.is_none()
                    && c.session.protocol >= 1
                    && c.sent_connect_info
            })
            .map(|(k, _)| k)
            .collect();
        for k in keys {
            let info = self.info_json(k, false);
            self.send_raw(k, &info);
        }
    }

    /// The INFO line for `key`: the accept-time one, or the post-CONNECT one (`connect_info`).
    pub fn info_json(&self, key: ConnKey, connect_info: bool) -> Vec<u8> {
        let c = &self.conns[key];
        let acc = &self.auth.accounts;
        let mut info = ServerInfo {
            server_id: self.settings.server_id.clone(),
            server_name: self.settings.server_name.clone(),
            version: crate::settings::VERSION.to_string(),
            proto: 1,
            go: "corenats".to_string(),
            host: self.settings.info_host.clone(),
            port: self.settings.port,
            headers: true,
            ..ServerInfo::default()
        };
        info.auth_required = self.auth.auth_required();
        info.max_payload = c.max_payload as i64;
        info.client_id = c.cid;
        info.client_ip = c.peer.map(|p| p.ip().to_string());
        info.nonce = c.login.nonce().map(str::to_string);
        info.ldm = self.draining;
        info.connect_urls = (*self.connect_urls).clone();
        if self.draining && !info.connect_urls.is_empty() {
            // Lame duck mode: only the other servers, so a client's pool moves away from us.
            let own =
                super::route::link::own_client_urls(&self.settings.info_host, self.settings.port);
            info.connect_urls.retain(|u| !own.contains(u));
        }
        if let Some(tls) = &self.settings.tls {
            // nats-server: required unless plain text is allowed too; a TLS-first INFO says
            // required whatever the port allows (the client is already speaking TLS).
            let required = !self.settings.allow_non_tls;
            info.tls_required = required || c.tls_first;
            info.tls_verify = tls.verify;
            info.tls_available = !required;
        }
        if connect_info {
            // nats-server's post-login INFO: no nonce, and `auth_required` whenever credentials
            // exist (also when `no_auth_user` let the client in without any).
            info.nonce = None;
            info.auth_required = self.auth.has_credentials();
            info.connect_info = true;
            let a = acc.get(c.account as usize);
            info.remote_account = a.map(|a| a.name.clone());
            info.acc_is_sys = a.is_some_and(|a| a.is_system);
        }
        let mut out = Vec::with_capacity(512);
        if info.write_line(&mut out).is_err() {
            out.clear();
        }
        out
    }

    /// `CONNECT {json}`: parse and validate, then hand the login to the reader.
    pub fn op_connect(&mut self, key: ConnKey, json: &[u8]) -> Flow {
        // A second CONNECT decodes over the first: what it leaves out stays as it was.
        let base = match self.conns.get(key) {
            Some(c) if c.phase == Phase::Open => connect_base(c),
            _ => ConnectOptions::default(),
        };
        let opts = match parse_connect_over(json, base) {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(cid = self.conns[key].cid, "processConnect Parse Error: {e}");
                self.close_conn(key, CloseReason::ProtocolViolation);
                return Flow::Close;
            }
        };
        if opts.account.is_some() || opts.new_account {
            // Account selection in CONNECT is JWT-era; nats-server refuses it as an auth failure.
            self.send_err(key, &ProtoErr::AuthViolation);
            self.close_conn(key, CloseReason::AuthenticationFailure);
            return Flow::Close;
        }
        // A second CONNECT of a registered connection drops its subscriptions whatever the login
        // decides (a refused one closes the connection), so they go first — a slice at a time when
        // there are many, the reader waiting (`sweeper.rs`).
        let reset = self
            .conns
            .get(key)
            .is_some_and(|c| c.phase == Phase::Open && c.registered());
        if reset && self.reset_subs(key) {
            return Flow::Reset(Box::new(opts));
        }
        Flow::Login(Box::new(opts))
    }

    /// Applies a login verdict: moves the connection into its account with its permissions and limits.
    pub fn finish_login(
        &mut self,
        key: ConnKey,
        opts: &ConnectOptions,
        verdict: Option<Result<Login, AuthFailure>>,
    ) -> Flow {
        let Some(c) = self.conns.get(key) else {
            return Flow::Close;
        };
        if c.phase == Phase::Closing {
            return Flow::Close;
        }
        let login = match verdict {
            Some(Ok(l)) => l,
            Some(Err(_)) | None => {
                let user = opts.user.clone().or(opts.nkey.clone()).unwrap_or_default();
                tracing::error!(cid = c.cid, "authentication error - User {:?}", user);
                self.send_err(key, &ProtoErr::AuthViolation);
                self.close_conn(key, CloseReason::AuthenticationFailure);
                return Flow::Close;
            }
        };
        // Like nats-server, the protocol fields are judged only once the credentials are: bad
        // credentials get `Authorization Violation` whatever else the CONNECT says.
        if let Err(e) = opts.validate() {
            tracing::error!(cid = self.conns[key].cid, "{e}");
            self.send_err(key, &e);
            self.close_conn(key, CloseReason::ProtocolViolation);
            return Flow::Close;
        }
        let mut creds = OwnedCreds::from_connect(opts);
        creds.cert = self.conns[key].login.cert.clone();
        if let Some(f) = self.apply_login(key, login, Some(creds)) {
            return f;
        }
        let c = &mut self.conns[key];
        c.session = Session::from_connect(opts);
        if c.session.verbose {
            self.send_raw(key, w::OK);
        }
        Flow::Continue
    }

    /// The first op was not CONNECT: allowed only without auth or with `no_auth_user`.
    /// Returns `Some(flow)` when the connection must stop here.
    pub fn implicit_login(&mut self, key: ConnKey) -> Option<Flow> {
        if self.auth.auth_required() {
            self.send_err(key, &ProtoErr::AuthViolation);
            self.close_conn(key, CloseReason::AuthenticationFailure);
            return Some(Flow::Close);
        }
        match self.auth.authenticate(&Credentials::default(), None) {
            Ok(login) => self.apply_login(key, login, None),
            Err(_) => {
                self.send_err(key, &ProtoErr::AuthViolation);
                self.close_conn(key, CloseReason::AuthenticationFailure);
                Some(Flow::Close)
            }
        }
    }

    /// Puts a logged-in connection into its account (leaving the previous one on a second CONNECT).
    pub(crate) fn apply_login(
        &mut self,
        key: ConnKey,
        login: Login,
        creds: Option<OwnedCreds>,
    ) -> Option<Flow> {
        let acc = login.account;
        let (was_open, old_acc, registered) = {
            let c = &self.conns[key];
            (c.phase == Phase::Open, c.account, c.registered())
        };
        // A second CONNECT starts the session over, as in nats-server: the subscriptions made after
        // the first login are dropped (silently), whoever logs in. Subscriptions made before any
        // CONNECT on a server without auth stay (nats-server keeps them too).
        if was_open && (registered || old_acc != acc) {
            self.remove_all_subs(key);
        }
        if !was_open || old_acc != acc {
            let limit = self
                .auth
                .accounts
                .get(acc as usize)
                .and_then(|a| a.limits.max_connections);
            if !self.globals.try_open_account(acc, limit) {
                if was_open {
                    self.globals.account_closed(old_acc);
                }
                self.conns[key].phase = Phase::New;
                self.send_err(key, &ProtoErr::MaxAccountConnections);
                self.close_conn(key, CloseReason::MaxConnectionsExceeded);
                return Some(Flow::Close);
            }
            if was_open {
                self.globals.account_closed(old_acc);
            }
        }
        let limits = self
            .auth
            .accounts
            .get(acc as usize)
            .map(|a| a.limits.clone())
            .unwrap_or_default();
        let settings = self.settings.clone();
        let max_payload = self.account_payload_limit(acc);
        let c = &mut self.conns[key];
        c.account = acc;
        if let Some(a) = self.auth.accounts.get(acc as usize) {
            c.span.record("account", a.name.as_str());
        }
        c.span.record("user", login.label.as_str());
        c.login.set(login, creds);
        c.max_payload = max_payload;
        c.max_subs = subs_limit(&settings, limits.max_subscriptions);
        // The keep-alive schedule started when the connection opened, as in nats-server.
        c.phase = Phase::Open;
        c.keepalive.stop_auth_timer();
        self.ensure_accounts();
        // The account's cached match results were filtered with the permissions of earlier logins.
        self.refilter_subs(key);
        None
    }

    /// Protocol-1 clients get a second INFO (`connect_info`, `remote_account`) after their first PONG.
    pub fn maybe_connect_info(&mut self, key: ConnKey) {
        let Some(c) = self.conns.get(key) else {
            return;
        };
        if c.sent_connect_info || c.session.protocol < 1 || c.phase != Phase::Open {
            return;
        }
        let info = self.info_json(key, true);
        self.conns[key].sent_connect_info = true;
        self.send_raw(key, &info);
    }
}

/// The INFO nonce for nkey logins: 11 random bytes as 15 characters of unpadded base64url (nats-server's form).
pub fn new_nonce() -> String {
    use base64::Engine;
    let bytes: [u8; 11] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Shard {
    /// The payload limit of a connection logged in to `acc` under the current configuration.
    pub(crate) fn account_payload_limit(&self, acc: crate::auth::AccountId) -> u32 {
        let account_max = self
            .auth
            .accounts
            .get(acc as usize)
            .and_then(|a| a.limits.max_payload);
        payload_limit(&self.settings, account_max)
    }
}

/// The options a connection's CONNECT left in force, for decoding a second one over them.
fn connect_base(c: &Conn) -> ConnectOptions {
    let s = &c.session;
    let creds = c.login.creds();
    let cred = |f: fn(&OwnedCreds) -> &Option<String>| creds.and_then(|o| f(o).clone());
    ConnectOptions {
        verbose: s.verbose,
        pedantic: s.pedantic,
        echo: s.echo,
        headers: s.headers,
        no_responders: s.no_responders,
        protocol: s.protocol,
        name: s.name.clone(),
        lang: s.lang.clone(),
        version: s.version.clone(),
        user: cred(|o| &o.user),
        pass: cred(|o| &o.pass),
        auth_token: cred(|o| &o.token),
        nkey: cred(|o| &o.nkey),
        sig: cred(|o| &o.sig),
        ..ConnectOptions::default()
    }
}

/// A logged-in connection's subscription limit: the server's `max_subscriptions`, lowered by its
/// account's (0 = unlimited).
pub(crate) fn subs_limit(settings: &Settings, account_max: Option<i64>) -> u32 {
    match account_max {
        Some(m) if m > 0 => {
            let m = u32::try_from(m).unwrap_or(u32::MAX);
            if settings.max_subscriptions == 0 {
                m
            } else {
                m.min(settings.max_subscriptions)
            }
        }
        _ => settings.max_subscriptions,
    }
}

/// A logged-in connection's payload limit: the server's `max_payload`, lowered by its account's.
fn payload_limit(settings: &Settings, account_max: Option<i64>) -> u32 {
    match account_max {
        Some(m) if m >= 0 => (m as u32).min(settings.max_payload),
        _ => settings.max_payload,
    }
}
