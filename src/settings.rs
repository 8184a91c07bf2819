//! The process-wide state every shard shares, in a leaf module (it depends only on the configuration):
//! [`Settings`] (immutable, built from the configuration, swapped whole on reload) and [`Globals`]
//! (connection counts and ids; touched only at connect and close, never per message).

use crate::auth::AccountId;
use crate::config::Config;
use crate::tls::ServerTls;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The nats-server version corenats speaks for (INFO `version`, `/varz`): clients gate features on it.
pub const VERSION: &str = "2.15.1";

/// Settings every shard reads, immutable once built; a reload builds a new one and swaps it in.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server_id: String,
    pub server_name: String,
    /// The host and port clients see in INFO.
    pub info_host: String,
    pub port: u16,
    pub max_payload: u32,
    pub max_pending: usize,
    pub max_control_line: u32,
    pub max_connections: i64,
    pub max_subscriptions: u32,
    pub ping_interval: Duration,
    pub ping_max: u32,
    pub write_deadline: Duration,
    pub lame_duck_duration: Duration,
    pub lame_duck_grace_period: Duration,
    pub bus_spin: Duration,
    pub disable_sublist_cache: bool,
    /// `-V`: log every protocol op (read once per op batch; no cost when off).
    pub trace: bool,
    /// Recently closed connections kept per shard for the monitor.
    pub max_closed_clients: usize,
    /// Most tokens a SUB subject may have (0 = unlimited).
    pub max_sub_tokens: u8,
    /// `sha256:<hex>` of the configuration file in force ("" without one), for the log and `/varz`.
    pub config_digest: String,
    /// The compiled `tls {}` block (None = plain text); set by whoever compiled it (start, reload).
    pub tls: Option<Arc<ServerTls>>,
    /// `allow_non_tls`: plain-text clients too on a TLS port.
    pub allow_non_tls: bool,
    /// `leafnodes { remotes }`: the hubs shard 0 dials (fixed for the process's life).
    pub leafnodes: crate::config::schema::LeafSpec,
    /// `cluster {}`: routes, owned by shard 0 (fixed for the process's life).
    pub cluster: crate::config::schema::ClusterSpec,
}

impl Settings {
    pub fn from_config(cfg: &Config, server_id: &str, port: u16) -> Settings {
        Settings {
            server_id: server_id.to_string(),
            server_name: cfg
                .server_name
                .clone()
                .unwrap_or_else(|| server_id.to_string()),
            info_host: cfg.host.clone(),
            port,
            max_payload: cfg.max_payload,
            max_pending: cfg.max_pending.max(0) as usize,
            max_control_line: cfg.max_control_line,
            max_connections: cfg.max_connections,
            max_subscriptions: cfg.max_subscriptions,
            ping_interval: cfg.ping_interval,
            ping_max: cfg.ping_max,
            write_deadline: cfg.write_deadline,
            lame_duck_duration: cfg.lame_duck_duration,
            lame_duck_grace_period: cfg.lame_duck_grace_period,
            bus_spin: cfg.bus_spin,
            disable_sublist_cache: cfg.disable_sublist_cache,
            trace: cfg.trace,
            max_closed_clients: cfg.max_closed_clients,
            max_sub_tokens: cfg.max_sub_tokens,
            config_digest: String::new(),
            tls: None,
            allow_non_tls: cfg.allow_non_tls,
            leafnodes: cfg.leafnodes.clone(),
            cluster: cfg.cluster.clone(),
        }
    }
}

/// Process-wide counters shared by all shards. Touched at connect and close only.
#[derive(Default)]
pub struct Globals {
    next_cid: AtomicU64,
    /// Client connections counted against `max_connections`.
    server_conns: AtomicI64,
    /// Open connections per account, against the account's `limits.max_connections`.
    account_conns: Mutex<HashMap<AccountId, i64>>,
    /// Shards that are done (a shard exits only when all are, so barriers never wait on a gone shard).
    stopped_shards: AtomicUsize,
    /// `tls { connection_rate_limit }`: new TLS connections in the current one-second window.
    tls_rate: Mutex<RateWindow>,
}

/// One-second window of new TLS connections, as nats-server counts them: the first connection of a
/// window opens it (counted as 0), each later one adds 1, and `limit` of those are let through.
#[derive(Default)]
struct RateWindow {
    end: Option<std::time::Instant>,
    count: u64,
    /// Refused since the last report (logged once a second).
    blocked: u64,
}

impl Globals {
    pub fn next_cid(&self) -> u64 {
        self.next_cid.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Counts a new connection unless the server is full (`max < 0` rejects everyone).
    pub fn try_open_server(&self, max: i64) -> bool {
        let n = self.server_conns.fetch_add(1, Ordering::AcqRel) + 1;
        if max < 0 || n > max {
            self.server_conns.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// May one more TLS connection start its handshake under `limit` per second?
    pub fn allow_tls_connection(&self, limit: u64) -> bool {
        let now = std::time::Instant::now();
        let mut w = self.tls_rate.lock().unwrap_or_else(|e| e.into_inner());
        if w.end.is_none_or(|end| now > end) {
            w.count = 0;
            w.end = Some(now + Duration::from_secs(1));
        } else {
            w.count += 1;
        }
        let allow = w.count < limit;
        if !allow {
            w.blocked += 1;
        }
        allow
    }

    /// TLS connections refused by the rate limit since the last call.
    pub fn take_tls_blocked(&self) -> u64 {
        let mut w = self.tls_rate.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut w.blocked)
    }

    pub fn shard_stopped(&self) {
        self.stopped_shards.fetch_add(1, Ordering::AcqRel);
    }

    pub fn stopped_shards(&self) -> usize {
        self.stopped_shards.load(Ordering::Acquire)
    }

    /// One connection must go because the server is over `max` (lowered by a reload): true (and the
    /// count lowered) while it is over. Shards race for the excess; the atomic makes them close
    /// exactly that many together.
    pub fn shed_server(&self, max: i64) -> bool {
        let limit = max.max(0);
        self.server_conns
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n > limit).then_some(n - 1)
            })
            .is_ok()
    }

    pub fn server_closed(&self) {
        self.server_conns.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn connections(&self) -> i64 {
        self.server_conns.load(Ordering::Relaxed)
    }

    /// Counts a login into `acc` unless its limit is reached.
    pub fn try_open_account(&self, acc: AccountId, limit: Option<i64>) -> bool {
        let mut m = self.account_conns.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(acc).or_insert(0);
        if let Some(l) = limit {
            if l >= 0 && *n >= l {
                return false;
            }
        }
        *n += 1;
        true
    }

    /// One connection of `acc` must go because the account is over `limit` (lowered by a reload): true
    /// (and the count lowered) while it is over. Every shard asks for each of its connections; the lock
    /// makes the shards together close exactly the excess.
    pub fn shed_account(&self, acc: AccountId, limit: i64) -> bool {
        let mut m = self.account_conns.lock().unwrap_or_else(|e| e.into_inner());
        match m.get_mut(&acc) {
            Some(n) if *n > limit.max(0) => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    pub fn account_closed(&self, acc: AccountId) {
        let mut m = self.account_conns.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&acc) {
            *n -= 1;
        }
    }
}
