//! Per-connection state kept in the shard's slab (`Shard::conns`). The socket itself belongs to the
//! connection's reader and writer tasks; this struct holds everything other code on the shard may touch
//! while delivering to the connection: its outbound buffer, its subscriptions, its session.
//!
//! Runs on: the owning shard only. Nothing here is `Send`.

use crate::auth::{AccountId, Credentials, Login, Permissions, PubCache, ReplyGrants};
use crate::bus::CloseReason;
use crate::protocol::connect::ConnectOptions;
use slab::Slab;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

/// Queued bytes past which held output (`Conn::hold_output`) is written anyway.
const HOLD_MAX: usize = 32 * 1024;
/// Outbound buffer capacity above which a drained buffer is shrunk (memory per connection after a
/// burst), and what it keeps. Steady high-rate traffic stays below it: shrinking on every batch would
/// re-grow (and page-fault) the buffer each time.
const SHRINK_OUT_ABOVE: usize = 4 << 20;
const KEEP_OUT_CAPACITY: usize = 256 * 1024;

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

/// The credential fields of a CONNECT, owned (they outlive the read buffer: login runs off the shard, and
/// a reload re-checks them).
#[derive(Clone, Default)]
pub struct OwnedCreds {
    pub user: Option<String>,
    pub pass: Option<String>,
    pub token: Option<String>,
    pub nkey: Option<String>,
    pub sig: Option<String>,
}

impl OwnedCreds {
    pub fn from_connect(c: &ConnectOptions) -> OwnedCreds {
        OwnedCreds {
            user: c.user.clone(),
            pass: c.pass.clone(),
            token: c.auth_token.clone(),
            nkey: c.nkey.clone(),
            sig: c.sig.clone(),
        }
    }

    pub fn borrow(&self) -> Credentials<'_> {
        Credentials {
            user: self.user.as_deref(),
            pass: self.pass.as_deref(),
            token: self.token.as_deref(),
            nkey: self.nkey.as_deref(),
            sig: self.sig.as_deref(),
        }
    }
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

pub struct Conn {
    /// Server-wide unique client id.
    pub cid: u64,
    pub peer: Option<SocketAddr>,
    /// The connection's log span (`conn{shard, cid, peer, account, user}`).
    pub span: tracing::Span,
    /// The socket, for inline flushes (`Shard::flush_conn`); open while the slot exists.
    pub fd: i32,
    pub phase: Phase,
    pub close_reason: Option<CloseReason>,
    pub started: Instant,
    pub session: Session,
    /// Account the connection lives in (0 = `$G` until login).
    pub account: AccountId,
    pub login: Option<Login>,
    /// Credentials from CONNECT, kept to re-check the login on reload.
    pub creds: Option<OwnedCreds>,
    /// The login's compiled permissions; `None` = unrestricted.
    pub perms: Option<Arc<Permissions>>,
    /// Bounded cache of publish verdicts (see `auth::PubCache`).
    pub pub_cache: PubCache,
    /// Temporary publish rights granted by `allow_responses` (only for users that have it).
    pub reply_grants: Option<ReplyGrants>,
    /// The nonce sent in INFO (nkey logins sign it).
    pub nonce: Option<String>,
    /// Subscriptions by slab key; `sids` maps the client's sid to that key.
    pub subs: Slab<Sub>,
    pub sids: HashMap<Box<[u8]>, usize, ahash::RandomState>,
    /// Bytes waiting for the writer task. Bound: `max_pending` (over it the connection is a slow consumer).
    pub out: Vec<u8>,
    /// Bytes the writer task is writing right now (they count toward `max_pending` too).
    pub in_flight: usize,
    /// The writer task's waker while it waits for data.
    pub writer_waker: Option<Waker>,
    /// Already queued in the shard's `touched` list for this batch.
    pub touched: bool,
    /// Set while the reader waits for a visibility barrier before a PONG or `+OK`: what is already
    /// queued (an `-ERR` for an op before the PING, say) waits too and leaves with that reply in one
    /// write, as nats-server writes them (a client that closes on the `-ERR` would otherwise drop
    /// the PONG it waits for). Bounded: at `HOLD_MAX` queued bytes the output goes anyway.
    pub hold_output: bool,
    /// This connection sent interest or messages to other shards since its last barrier: its next PONG
    /// (or verbose +OK) waits until every other shard has applied them.
    pub needs_barrier: bool,
    /// No-responders statuses of this connection's requests still waiting for other shards' answers
    /// (`peer/no_responders.rs`); its PONG, verbose +OK and, for a request that went nowhere, its next op
    /// wait until they are settled. `status_waker` is the reader waiting for that.
    pub pending_status: u32,
    pub status_waker: Option<std::task::Waker>,
    /// The post-CONNECT INFO (protocol 1) is sent after the first PONG.
    pub sent_connect_info: bool,
    /// Keep-alive: PINGs sent without a PONG, when the next PING is due, last client activity.
    pub pings_out: u32,
    /// When the oldest unanswered server PING went out (for the round-trip time).
    pub ping_sent: Option<Instant>,
    /// Last measured round-trip time (server PING → client PONG), for `/connz`.
    pub rtt: std::time::Duration,
    /// When the PING behind `rtt` went out; a PING is sent despite recent traffic while there is no
    /// measurement or it is over an hour old (nats-server's RTT measurement interval).
    pub rtt_at: Option<Instant>,
    pub next_ping: Instant,
    pub last_activity: Instant,
    /// Authentication deadline while in `Phase::New` (None when no auth is required).
    pub auth_deadline: Option<Instant>,
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
}

impl Conn {
    pub fn is_open(&self) -> bool {
        self.phase != Phase::Closing
    }

    pub fn pending_bytes(&self) -> usize {
        self.out.len() + self.in_flight
    }

    /// Wakes the writer task if it is waiting.
    pub fn wake_writer(&mut self) {
        if let Some(w) = self.writer_waker.take() {
            w.wake();
        }
    }

    /// True once a CONNECT was handled (its credentials are kept) or the first op logged the
    /// connection in as `no_auth_user` (a user login): a later CONNECT then drops its subscriptions
    /// (nats-server's rule). An anonymous first op on a server without auth does not count.
    pub fn registered(&self) -> bool {
        self.creds.is_some()
            || self.login.as_ref().is_some_and(|l| {
                matches!(
                    l.principal,
                    crate::auth::Principal::User(_) | crate::auth::Principal::Nkey(_)
                )
            })
    }

    /// Sends what is buffered right away when the writer is idle (parked, nothing in flight), with one
    /// non-blocking send; whatever the socket does not take is left for the writer task, which is woken.
    /// Never reorders: while the writer has a write in flight it alone writes.
    pub fn flush(&mut self) {
        if self.out.is_empty() || (self.hold_output && self.out.len() < HOLD_MAX) {
            return;
        }
        if self.in_flight == 0 && self.writer_waker.is_some() && self.phase != Phase::Closing {
            match crate::runtime::try_send(self.fd, &self.out) {
                Ok(n) if n == self.out.len() => {
                    self.out.clear();
                    if self.out.capacity() > SHRINK_OUT_ABOVE {
                        // A burst grew the buffer far beyond steady state: give most of it back.
                        self.out.shrink_to(KEEP_OUT_CAPACITY);
                    }
                    return;
                }
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(_) => {}
            }
        }
        self.wake_writer();
    }
}
