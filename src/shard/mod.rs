//! A shard: one pinned executor's share of the server. It owns its connections, its per-account
//! subscription tables and its outbox; nothing here is shared with another core (see `docs/INVARIANTS.md`).
//!
//! Files, in pipeline order: `listener` (accept) → `reader` (read + parse + dispatch ops) → `session`
//! (CONNECT, auth, PING) / `subscribe` (SUB, UNSUB, interest) / `publish` (permit, match, fan out) →
//! `inbox` (what other shards sent) → `writer` (outbound buffers, flush, slow consumers); `timers` runs
//! keep-alive and auth deadlines.

pub mod conn;
pub mod imports;
pub mod inbox;
pub mod leaf;
pub mod lifecycle;
pub mod listener;
pub mod logins;
pub mod peer;
pub mod publish;
pub mod reader;
pub mod route;
pub mod secure;
pub mod service_replies;
pub mod session;
pub mod snapshot;
pub mod subscribe;
pub mod sweeper;
pub mod timers;
pub mod transport;
pub mod writer;

use crate::auth::{AccountId, Auth};
use crate::bus::snapshot::{AccountStats, ClosedConn, ShardStats};
use crate::bus::{Bus, Outbox, ShardId};
use crate::settings::{Globals, Settings};
use crate::subject::Sublist;
use bytes::Bytes;
use conn::{Conn, SubRef};
use slab::Slab;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// Key of a connection in `Shard::conns`.
pub type ConnKey = usize;

/// The shard's tables for one account.
pub struct AccountTables {
    /// This shard's client subscriptions (plain and queue). The only truth about who is subscribed here.
    pub local: Sublist<SubRef>,
    /// Which OTHER shards have interest in which (subject, queue): one entry per shard per key.
    pub remote: Sublist<ShardId>,
    /// Local subscription count per (subject, queue), to announce only 0→1 and N→0 to other shards.
    /// Bound: one entry per distinct local subscription key.
    pub interest: HashMap<(Bytes, Option<Bytes>), u32>,
    /// This shard's traffic counters for the account (summed across shards by the monitor).
    pub stats: AccountStats,
}

impl AccountTables {
    fn new(cache: bool) -> AccountTables {
        let cap = if cache {
            crate::subject::DEFAULT_CACHE_CAPACITY
        } else {
            0
        };
        AccountTables {
            local: Sublist::with_cache_capacity(cap),
            remote: Sublist::with_cache_capacity(cap),
            interest: HashMap::new(),
            stats: AccountStats::default(),
        }
    }
}

/// Everything one shard owns. Lives in an `Rc<RefCell<_>>` shared by the shard's tasks; a borrow is never
/// held across an `.await`.
pub struct Shard {
    pub id: ShardId,
    pub nr_shards: usize,
    pub settings: Arc<Settings>,
    pub auth: Arc<Auth>,
    pub globals: Arc<Globals>,
    pub conns: Slab<Conn>,
    /// Indexed by `AccountId`; grown on reload when accounts are added.
    pub accounts: Vec<AccountTables>,
    pub outbox: Outbox,
    /// Connections with new outbound bytes in this batch; flushed (writer woken) once at its end.
    pub touched: Vec<ConnKey>,
    /// Visibility barriers in progress and the announcements they covered (`peer/barrier.rs`).
    pub barriers: peer::barrier::Barriers,
    /// During `publish_in`'s cross-account routes: the publishing connection, whose PONG must wait for
    /// the shards those deliveries went to.
    pub barrier_for: Option<ConnKey>,
    pub next_token: u64,
    pub stats: ShardStats,
    /// Set once lame duck / shutdown starts: the listener stops accepting.
    pub draining: bool,
    /// Set when the shard is done: its tasks exit and the executor ends.
    pub stopped: bool,
    /// Tells the accept task to stop.
    pub listener_stop: crate::runtime::Notify,
    /// When the housekeeping task wakes next (`timers.rs`).
    pub housekeeping: timers::Housekeeping,
    /// Connections whose subscriptions the sweeper still has to remove (`sweeper.rs`).
    pub sweeps: sweeper::Sweeps,
    /// Lame-duck schedule, once started.
    pub lame_duck: Option<lifecycle::LameDuck>,
    /// Per account: true when it has mappings, stream exports or service imports (the slow publish path).
    pub account_flags: Vec<bool>,
    /// Service-import response mappings owned by this shard.
    pub replies: service_replies::ServiceReplies,
    /// Logins waiting for a bcrypt check on the shard's blocking thread (`logins.rs`).
    pub logins: logins::SlowLogins,
    /// Recently closed connections for `/connz?state=closed`. Bound: `max_closed_clients` per shard.
    pub closed: std::collections::VecDeque<ClosedConn>,
    /// Scratch: per-destination shard marks for one publish (reused to avoid allocation).
    pub(crate) fanout: Option<peer::fanout::Fanout>,
    /// No-responders statuses being decided across shards (`peer/no_responders.rs`).
    pub(crate) no_responders: peer::no_responders::NoResponders,
    /// Leaf-node links (shard 0 only; empty elsewhere) and their interest (`leaf/`).
    pub(crate) leaf: leaf::LeafLinks,
    /// The cluster's routes and peers (shard 0 only; empty elsewhere) (`route/`).
    pub(crate) cluster: route::Cluster,
    /// The cluster's client URLs, ours first (empty on a lone server): every client INFO's
    /// `connect_urls`. Set from shard 0 (`Control::ConnectUrls`).
    pub(crate) connect_urls: Arc<Vec<String>>,
}

pub type ShardRef = Rc<RefCell<Shard>>;

impl Shard {
    pub fn new(
        id: ShardId,
        bus: Bus,
        settings: Arc<Settings>,
        auth: Arc<Auth>,
        globals: Arc<Globals>,
    ) -> Shard {
        let nr_shards = bus.nr_shards();
        let mut s = Shard {
            id,
            nr_shards,
            settings,
            auth,
            globals,
            conns: Slab::new(),
            accounts: Vec::new(),
            outbox: Outbox::new(id, bus),
            touched: Vec::new(),
            barriers: peer::barrier::Barriers::default(),
            barrier_for: None,
            next_token: 1,
            stats: ShardStats::default(),
            draining: false,
            stopped: false,
            listener_stop: crate::runtime::Notify::default(),
            housekeeping: timers::Housekeeping::new(),
            sweeps: sweeper::Sweeps::default(),
            lame_duck: None,
            closed: std::collections::VecDeque::new(),
            logins: logins::SlowLogins::default(),
            account_flags: Vec::new(),
            replies: service_replies::ServiceReplies::new(id),
            fanout: Some(peer::fanout::Fanout::new(nr_shards)),
            no_responders: peer::no_responders::NoResponders::new(nr_shards),
            leaf: leaf::LeafLinks::default(),
            cluster: route::Cluster::default(),
            connect_urls: Arc::new(Vec::new()),
        };
        s.ensure_accounts();
        s
    }

    /// Grows the account tables to cover every account id of the current `Auth`.
    pub fn ensure_accounts(&mut self) {
        self.account_flags = imports::account_flags(&self.auth);
        let n = self.auth.accounts.len().max(1);
        let cache = !self.settings.disable_sublist_cache;
        while self.accounts.len() < n {
            self.accounts.push(AccountTables::new(cache));
        }
    }

    pub fn tables(&mut self, acc: AccountId) -> &mut AccountTables {
        let i = acc as usize;
        if i >= self.accounts.len() {
            let cache = !self.settings.disable_sublist_cache;
            while self.accounts.len() <= i {
                self.accounts.push(AccountTables::new(cache));
            }
        }
        &mut self.accounts[i]
    }

    /// End of a read batch (or an inbox batch): wake the writers of touched connections once each and send
    /// one bus batch per destination shard.
    pub fn end_batch(&mut self) {
        self.end_batch_for(None);
    }

    /// A connection now has a deadline at `at`: wake the housekeeping task early if it sleeps past it.
    pub fn kick_timers(&mut self, at: std::time::Instant) {
        self.housekeeping.kick(at);
    }

    /// This shard is done (shutdown, or lame duck closed its last client). It keeps applying its inbox
    /// (answering other shards' barriers) until every shard is done; see `Globals::shard_stopped`.
    pub fn mark_stopped(&mut self) {
        if !self.stopped {
            self.stopped = true;
            self.globals.shard_stopped();
        }
    }

    /// True once this shard and every other shard are done: the executor may end.
    pub fn finished(&self) -> bool {
        self.stopped && self.globals.stopped_shards() >= self.nr_shards
    }

    /// Flushes touched connections (inline when their writer is idle), without sending the outbox.
    pub fn wake_writers(&mut self) {
        for key in std::mem::take(&mut self.touched) {
            if let Some(c) = self.conns.get_mut(key) {
                c.out.touched = false;
                c.flush();
            }
        }
    }

    /// `end_batch` for a reader: its own connection's writer is woken last, so the subscribers it delivered
    /// to are written before its own PONG (a client that saw its flush complete finds the messages sent).
    pub fn end_batch_for(&mut self, reader: Option<ConnKey>) {
        let mut own = false;
        for key in std::mem::take(&mut self.touched) {
            if Some(key) == reader {
                own = true;
                continue;
            }
            if let Some(c) = self.conns.get_mut(key) {
                c.out.touched = false;
                c.flush();
            }
        }
        if let Some(c) = reader.filter(|_| own).and_then(|k| self.conns.get_mut(k)) {
            c.out.touched = false;
            c.flush();
        }
        self.outbox.flush();
    }
}
