//! This shard's figures for the monitor. The HTTP side broadcasts `Control::Snapshot`; each shard answers
//! here, between two inbox batches, with a [`ShardSnapshot`] that owns all its data (nothing in it points
//! into the shard). The shard also keeps the bounded ring of recently closed connections
//! (`Shard::closed`) that `/connz?state=closed` reads.
//!
//! Runs on: the owning shard. Work is proportional to what the request asks for: totals cost one pass
//! over the account tables; connection lists cost one pass over the connections plus a partial selection
//! of the `keep` best by the requested sort, and subscription lists are built only for the kept ones.

use super::conn::{CloseReason, Conn, Phase};
use super::{AccountStats, ConnKey, Shard, ShardStats};
use crate::auth::Auth;
use crate::bus::ShardId;
use crate::monitor::format::wall_ns;
use crate::monitor::{ConnQuery, SnapshotRequest, SubsMode, SubsQuery};
use crate::server::Runtime;
use crate::subject::SublistStats;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// Subscriptions kept per closed connection (its `subscriptions` count stays exact). Bounds the ring's memory.
pub const MAX_CLOSED_SUBS: usize = 256;

/// One subscription as `/connz` and `/subsz` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubFigures {
    pub account: String,
    pub subject: String,
    pub queue: Option<String>,
    pub sid: String,
    /// Messages delivered so far.
    pub msgs: u64,
    /// Auto-unsubscribe limit, if any.
    pub max: Option<u64>,
    pub cid: u64,
}

/// One connection's figures, open or closed. Times are Unix nanoseconds (wall clock).
#[derive(Debug, Clone, Default)]
pub struct ConnFigures {
    pub cid: u64,
    pub shard: ShardId,
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub start_ns: u64,
    pub last_ns: u64,
    /// Set for closed connections.
    pub stop_ns: Option<u64>,
    pub reason: Option<CloseReason>,
    /// Now (or stop) minus start, and minus last activity.
    pub uptime_ns: u64,
    pub idle_ns: u64,
    /// Last server PING → PONG round trip (0 until measured).
    pub rtt_ns: u64,
    pub pending_bytes: u64,
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
    pub num_subs: u32,
    pub name: Option<String>,
    pub lang: Option<String>,
    pub version: Option<String>,
    /// Account name (`$G` before login).
    pub account: String,
    /// The user the client logged in as (user name, nkey, or `[REDACTED]` for a token).
    pub user: Option<String>,
    /// Filled only when the request asks for subscriptions (closed connections: at most `MAX_CLOSED_SUBS`).
    pub subs: Vec<SubFigures>,
}

/// A connection kept for `/connz?state=closed`.
pub type ClosedConn = ConnFigures;

/// One account's figures on one shard (index = `AccountId`).
#[derive(Debug, Clone, Default)]
pub struct AccountFigures {
    pub stats: AccountStats,
    /// Logged-in connections of the account on this shard.
    pub conns: u64,
    /// Subscriptions in the account's local table.
    pub subs: u64,
    /// `Sublist::stats()` of the local table, when asked for.
    pub sublist: Option<SublistStats>,
}

/// What one shard reports.
pub struct ShardSnapshot {
    pub shard: ShardId,
    /// The shard's current settings and auth (they change on reload).
    pub rt: Arc<Runtime>,
    pub auth: Arc<Auth>,
    pub stats: ShardStats,
    /// Lame duck or shutdown in progress.
    pub draining: bool,
    /// Client connections not yet closing.
    pub conns: u64,
    pub subscriptions: u64,
    pub pending_bytes: u64,
    /// Per account (index = `AccountId`); empty unless asked for.
    pub accounts: Vec<AccountFigures>,
    /// Matching connections: the best `keep` by the requested sort, and how many matched in all.
    pub conn_list: Vec<ConnFigures>,
    pub conns_matched: usize,
    /// Matching subscriptions (for `/subsz?subs=1`): the first `keep` by (cid, sid), and how many matched.
    pub sub_list: Vec<SubFigures>,
    pub subs_matched: usize,
}

fn user_of(c: &Conn) -> Option<String> {
    let creds = c.creds.as_ref()?;
    if let Some(n) = &creds.nkey {
        return Some(n.clone());
    }
    if let Some(u) = &creds.user {
        return Some(u.clone());
    }
    creds.token.as_ref().map(|_| "[REDACTED]".to_string())
}

fn sub_list(c: &Conn, account: &str, cap: usize) -> Vec<SubFigures> {
    c.subs
        .iter()
        .take(cap)
        .map(|(_, s)| SubFigures {
            account: account.to_string(),
            subject: String::from_utf8_lossy(&s.subject).into_owned(),
            queue: s
                .queue
                .as_ref()
                .map(|q| String::from_utf8_lossy(q).into_owned()),
            sid: String::from_utf8_lossy(&s.sid).into_owned(),
            msgs: s.delivered,
            max: s.max,
            cid: c.cid,
        })
        .collect()
}

/// Keeps the `keep` first items of `v` by `cmp`, sorted (selection first: O(n + k log k)).
pub fn keep_best<T>(
    v: &mut Vec<T>,
    keep: usize,
    mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering,
) {
    if keep == 0 {
        v.clear();
        return;
    }
    if v.len() > keep {
        v.select_nth_unstable_by(keep - 1, &mut cmp);
        v.truncate(keep);
    }
    v.sort_by(cmp);
}

impl Shard {
    fn account_name(&self, acc: crate::auth::AccountId) -> String {
        self.auth
            .accounts
            .get(acc as usize)
            .map_or_else(|| "$G".to_string(), |a| a.name.clone())
    }

    /// Figures of one open connection (without subscriptions).
    fn conn_figures(&self, c: &Conn, now_i: Instant) -> ConnFigures {
        ConnFigures {
            cid: c.cid,
            shard: self.id,
            ip: c.peer.map(|p| p.ip()),
            port: c.peer.map_or(0, |p| p.port()),
            start_ns: wall_ns(c.started),
            last_ns: wall_ns(c.last_activity),
            stop_ns: None,
            reason: None,
            uptime_ns: now_i.saturating_duration_since(c.started).as_nanos() as u64,
            idle_ns: now_i.saturating_duration_since(c.last_activity).as_nanos() as u64,
            rtt_ns: c.rtt.as_nanos() as u64,
            pending_bytes: c.pending_bytes() as u64,
            in_msgs: c.stats.in_msgs,
            in_bytes: c.stats.in_bytes,
            out_msgs: c.stats.out_msgs,
            out_bytes: c.stats.out_bytes,
            num_subs: c.subs.len() as u32,
            name: c.session.name.clone(),
            lang: c.session.lang.clone(),
            version: c.session.version.clone(),
            account: self.account_name(c.account),
            user: user_of(c),
            subs: Vec::new(),
        }
    }

    /// Answers a monitor request with this shard's figures. Runs on: the owning shard.
    pub fn snapshot(&mut self, req: SnapshotRequest) {
        let want = &req.want;
        let mut snap = ShardSnapshot {
            shard: self.id,
            rt: self.rt.clone(),
            auth: self.auth.clone(),
            stats: self.stats,
            draining: self.draining,
            conns: 0,
            subscriptions: 0,
            pending_bytes: 0,
            accounts: Vec::new(),
            conn_list: Vec::new(),
            conns_matched: 0,
            sub_list: Vec::new(),
            subs_matched: 0,
        };
        for (_, c) in self.conns.iter() {
            if c.phase != Phase::Closing {
                snap.conns += 1;
                snap.pending_bytes += c.pending_bytes() as u64;
            }
        }
        for t in &self.accounts {
            snap.subscriptions += t.local.count() as u64;
        }
        if want.accounts {
            snap.accounts = self
                .accounts
                .iter()
                .map(|t| AccountFigures {
                    stats: t.stats,
                    conns: 0,
                    subs: t.local.count() as u64,
                    sublist: want.sublist.then(|| t.local.stats()),
                })
                .collect();
            for (_, c) in self.conns.iter() {
                if c.phase == Phase::Open {
                    if let Some(a) = snap.accounts.get_mut(c.account as usize) {
                        a.conns += 1;
                    }
                }
            }
        }
        if let Some(q) = &want.conns {
            let (list, matched) = self.connz(q);
            snap.conn_list = list;
            snap.conns_matched = matched;
        }
        if let Some(q) = &want.subs {
            let (list, matched) = self.subsz(q);
            snap.sub_list = list;
            snap.subs_matched = matched;
        }
        let _ = req.reply.send(snap);
    }

    fn connz(&self, q: &ConnQuery) -> (Vec<ConnFigures>, usize) {
        let now_i = Instant::now();
        let acc_ok = |name: &str| q.account.as_deref().is_none_or(|a| a == name);
        let user_ok =
            |u: &Option<String>| q.user.as_deref().is_none_or(|w| u.as_deref() == Some(w));
        let cid_ok = |cid: u64| q.cid.is_none_or(|w| w == cid);
        // (figures, slot of an open connection to fill subscriptions from later)
        let mut found: Vec<(ConnFigures, Option<ConnKey>)> = Vec::new();
        if q.open {
            for (k, c) in self.conns.iter() {
                if c.phase == Phase::Closing || !cid_ok(c.cid) {
                    continue;
                }
                let f = self.conn_figures(c, now_i);
                if acc_ok(&f.account) && user_ok(&f.user) {
                    found.push((f, Some(k)));
                }
            }
        }
        if q.closed {
            for cc in &self.closed {
                if cid_ok(cc.cid) && acc_ok(&cc.account) && user_ok(&cc.user) {
                    let mut f = cc.clone_without_subs();
                    if q.subs != SubsMode::None {
                        f.subs = cc.subs.clone();
                    }
                    found.push((f, None));
                }
            }
        }
        let matched = found.len();
        let sort = q.sort;
        keep_best(&mut found, q.keep, |a, b| sort.compare(&a.0, &b.0));
        if q.subs != SubsMode::None {
            for (f, key) in &mut found {
                if let Some(c) = key.and_then(|k| self.conns.get(k)) {
                    f.subs = sub_list(c, &f.account, usize::MAX);
                }
            }
        }
        (found.into_iter().map(|(f, _)| f).collect(), matched)
    }

    fn subsz(&self, q: &SubsQuery) -> (Vec<SubFigures>, usize) {
        let mut found = Vec::new();
        for (_, c) in self.conns.iter() {
            if c.phase == Phase::Closing || c.subs.is_empty() {
                continue;
            }
            let account = self.account_name(c.account);
            if q.account.as_deref().is_some_and(|a| a != account) {
                continue;
            }
            for (_, s) in c.subs.iter() {
                if let Some(t) = &q.test {
                    if !crate::subject::matches(&s.subject, t.as_bytes()) {
                        continue;
                    }
                }
                found.push(SubFigures {
                    account: account.clone(),
                    subject: String::from_utf8_lossy(&s.subject).into_owned(),
                    queue: s
                        .queue
                        .as_ref()
                        .map(|q| String::from_utf8_lossy(q).into_owned()),
                    sid: String::from_utf8_lossy(&s.sid).into_owned(),
                    msgs: s.delivered,
                    max: s.max,
                    cid: c.cid,
                });
            }
        }
        let matched = found.len();
        keep_best(&mut found, q.keep, crate::monitor::sort::sub_order);
        (found, matched)
    }

    /// Remembers a closing connection for `/connz?state=closed`. Bound: `max_closed_clients` per shard,
    /// oldest dropped first. Called by `close_conn` while the slot is still valid.
    pub fn record_closed(&mut self, key: ConnKey) {
        let limit = self.rt.max_closed_clients;
        if limit == 0 {
            return;
        }
        let Some(c) = self.conns.get(key) else {
            return;
        };
        let now_i = Instant::now();
        let mut f = self.conn_figures(c, now_i);
        f.stop_ns = Some(wall_ns(now_i));
        f.reason = Some(c.close_reason.unwrap_or(CloseReason::ClientClosed));
        f.subs = sub_list(c, &f.account, MAX_CLOSED_SUBS);
        while self.closed.len() >= limit {
            self.closed.pop_front();
        }
        self.closed.push_back(f);
    }
}

impl ConnFigures {
    /// A copy without the subscription list (the ring keeps them; most requests do not want them).
    pub fn clone_without_subs(&self) -> ConnFigures {
        // Monitor requests only (not the message path); the ring bounds `subs` to MAX_CLOSED_SUBS.
        ConnFigures {
            subs: Vec::new(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_best_selects_and_sorts() {
        let mut v: Vec<u32> = vec![9, 3, 7, 1, 8, 2, 6];
        keep_best(&mut v, 3, |a, b| a.cmp(b));
        assert_eq!(v, vec![1, 2, 3]);
        let mut v: Vec<u32> = vec![3, 1];
        keep_best(&mut v, 10, |a, b| a.cmp(b));
        assert_eq!(v, vec![1, 3]);
        keep_best(&mut v, 0, |a, b| a.cmp(b));
        assert!(v.is_empty());
    }

    #[test]
    fn keep_best_randomized_matches_full_sort() {
        for round in 0..200u64 {
            let n = (round % 40) as usize;
            let mut v: Vec<u64> = (0..n).map(|_| rand::random_range(0..50)).collect();
            let keep = rand::random_range(0..45);
            let mut expect = v.clone();
            expect.sort();
            expect.truncate(keep);
            keep_best(&mut v, keep, |a, b| a.cmp(b));
            assert_eq!(v, expect);
        }
    }
}
