//! Per-connection state kept in the shard's slab (`Shard::conns`): everything code on the shard may touch
//! while delivering to the connection. Its parts: [`outbound`] (what waits to be written, the writer
//! task), [`keepalive`] (auth deadline, PINGs, round trip), [`login_state`] (login, credentials,
//! permissions and their caches). The transport is shared with the connection's reader and writer tasks.
//!
//! Runs on: the owning shard only. Nothing here is `Send`.

pub mod keepalive;
pub mod login_state;
pub mod outbound;

pub use keepalive::{KeepAlive, Tick};
pub use login_state::{LoginState, OwnedCreds};
pub use outbound::{Outbound, WriterStep};

use super::transport::Transport;
use crate::auth::AccountId;
use crate::bus::CloseReason;
use crate::protocol::connect::ConnectOptions;
use slab::Slab;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::task::Waker;
use std::time::Instant;

/// One subscription of one connection. Lives in `Conn::subs`; the account's `local` sublist holds a
/// [`SubRef`] pointing back here.
pub struct Sub {
    pub sid: Box<[u8]>,
    pub subject: Box<[u8]>,
    pub queue: Option<Box<[u8]>>,
    /// Messages delivered so far (counts toward `max`).
    pub delivered: u64,
    /// Auto-unsubscribe after this many deliveries in total.
    pub max: Option<u64>,
    /// A wildcard subscription the subscribe rules permit only in part (`SubVerdict::AllowedFiltered`):
    /// deliveries are filtered when the account's match results are computed (`Shard::local_matches`).
    pub filtered: bool,
}

/// What the account sublists store for a client subscription: slab keys of the connection and of the sub.
/// Valid while the connection is open: closing a connection removes all its `SubRef`s first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubRef {
    pub conn: u32,
    pub sub: u32,
}

/// The connection's session state once CONNECT has been handled.
#[derive(Default)]
pub struct Session {
    pub verbose: bool,
    pub pedantic: bool,
    pub echo: bool,
    pub headers: bool,
    pub no_responders: bool,
    pub protocol: i64,
    pub name: Option<String>,
    pub lang: Option<String>,
    pub version: Option<String>,
}

impl Session {
    /// nats-server's defaults before (or without) a CONNECT: verbose and pedantic on, echo on.
    pub fn defaults() -> Session {
        Session {
            verbose: true,
            pedantic: true,
            echo: true,
            ..Session::default()
        }
    }

    pub fn from_connect(c: &ConnectOptions) -> Session {
        Session {
            verbose: c.verbose,
            pedantic: c.pedantic,
            echo: c.echo,
            headers: c.headers,
            no_responders: c.no_responders,
            protocol: c.protocol,
            name: c.name.clone(),
            lang: c.lang.clone(),
            version: c.version.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Accepted; waiting for CONNECT (auth required) or any op (no auth).
    New,
    /// Authenticated (or no auth required) and processing ops.
    Open,
    /// Closing: the writer sends what is buffered, then the socket is shut down.
    Closing,
}

/// Per-connection traffic counters (plain integers: only the owning shard writes them).
#[derive(Default, Clone, Copy)]
pub struct ConnStats {
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
}

/// One client connection: small owned parts for its outbound side, its clocks and its login, plus
/// what the shard's code reads directly on the hot path (its account, session, subscriptions).
pub struct Conn {
    /// Server-wide unique client id.
    pub cid: u64,
    pub peer: Option<SocketAddr>,
    /// The connection's log span (`conn{shard, cid, peer, account, user}`).
    pub span: tracing::Span,
    /// What its bytes travel over (for the inline flush); open while the slot exists.
    pub transport: Transport,
    pub phase: Phase,
    pub close_reason: Option<CloseReason>,
    pub started: Instant,
    pub session: Session,
    /// Account the connection lives in (0 = `$G` until login).
    pub account: AccountId,
    /// Who it is: login, credentials, permissions and their caches, nonce.
    pub login: LoginState,
    /// Subscriptions by slab key; `sids` maps the client's sid to that key.
    pub subs: Slab<Sub>,
    pub sids: HashMap<Box<[u8]>, usize, ahash::RandomState>,
    /// What is waiting to be written, and the writer task. Bound: `max_pending`.
    pub out: Outbound,
    /// Authentication deadline, server PINGs, round-trip time.
    pub keepalive: KeepAlive,
    /// This connection sent interest or messages to other shards since its last barrier: its next PONG
    /// (or verbose +OK) waits until every other shard has applied them.
    pub needs_barrier: bool,
    /// No-responders statuses of this connection's requests still waiting for other shards' answers
    /// (`peer/no_responders.rs`); its PONG, verbose +OK and, for a request that went nowhere, its next op
    /// wait until they are settled. `status_waker` is the reader waiting for that.
    pub pending_status: u32,
    pub status_waker: Option<Waker>,
    /// The post-CONNECT INFO (protocol 1) is sent after the first PONG.
    pub sent_connect_info: bool,
    /// Effective per-connection limits (server limits lowered by account limits after login).
    pub max_payload: u32,
    pub max_subs: u32,
    pub stats: ConnStats,
    /// Counted against the server's `max_connections` (released on close).
    pub counted_server: bool,
    /// Tasks still running for this connection (reader, writer); the last one to finish frees the slot.
    pub tasks: u8,
    /// A second CONNECT's sweep of the old subscriptions is under way (`sweeper.rs`): nothing is
    /// delivered to the connection, and its reader (`reset_waker`) waits until the sweep is done.
    pub resetting: bool,
    pub reset_waker: Option<Waker>,
    /// The TLS handshake came before the INFO (`handshake_first`): INFO says `tls_required`, `/connz`
    /// says `tls_first`.
    pub tls_first: bool,
    /// Set for a leaf-node link this server dialled (`shard/leaf`): its subscriptions are the hub's
    /// interest, and messages to it are `LMSG`s.
    pub link: Option<Box<crate::shard::leaf::LinkConn>>,
}

impl Conn {
    /// What waits to be written: the outbound buffer and the transport's backlog (TLS records).
    pub fn pending_bytes(&self) -> usize {
        self.out.pending() + self.transport.backlog()
    }

    /// True once a CONNECT was handled or the first op logged the connection in as a user (see
    /// [`LoginState::registered`]).
    pub fn registered(&self) -> bool {
        self.login.registered()
    }

    /// Drops everything waiting to be written (a slow consumer, a dead socket): the outbound buffer
    /// and the transport's backlog of TLS records.
    pub fn discard_output(&mut self) {
        self.out.discard();
        self.transport.discard();
    }

    /// Sends what is queued (see [`Outbound::flush`]).
    pub fn flush(&mut self) {
        let closing = self.phase == Phase::Closing;
        self.out.flush(&self.transport, closing);
    }
}
