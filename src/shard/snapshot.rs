//! This shard's figures for the monitor. The HTTP side broadcasts `Control::Snapshot`; each shard answers
//! here, between two inbox batches, with a [`ShardSnapshot`] that owns all its data (nothing in it points
//! into the shard). The shard also keeps the bounded ring of recently closed connections
//! (`Shard::closed`) that `/connz?state=closed` reads.
//!
//! Runs on: the owning shard. Work is proportional to what the request asks for: totals cost one pass
//! over the account tables; connection lists cost one pass over the connections plus a partial selection
//! of the `keep` best by the requested sort, and subscription lists are built only for the kept ones.
//! `/subsz?subs=1` never costs a record per subscription: its first step counts matching subscriptions
//! per connection (one pass over the connections, or with `test=` one match in each account's table),
//! its second builds records only for the page, selecting them by sid within each connection (linear in
//! that connection's subscriptions, however far into the list the page is).

use super::conn::{Conn, Phase, Sub};
use super::{ConnKey, Shard};
use crate::bus::snapshot::{
    keep_best, sid_order, wall_ns, AccountFigures, CloseReason, ClusterFigures, ConnFigures,
    ConnQuery, LeafFigures, RouteFigures, ShardSnapshot, SnapshotRequest, SubCount, SubFigures,
    SubWindow, SubsMode, SubsQuery, MAX_CLOSED_SUBS,
};
use std::time::Instant;

fn user_of(c: &Conn) -> Option<String> {
    let creds = c.login.creds()?;
    if let Some(n) = &creds.nkey {
        return Some(n.clone());
    }
    if let Some(u) = &creds.user {
        return Some(u.clone());
    }
    creds.token.as_ref().map(|_| "[REDACTED]".to_string())
}

fn sub_figures(c: &Conn, s: &Sub, account: &str) -> SubFigures {
    SubFigures {
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
    }
}

/// A route's subscription (the peer's interest in `account`): its sid is the interest's key,
/// `R <account> <subject>[ <queue>]`, as nats-server shows a route subscription's.
fn route_sub_figures(c: &Conn, s: &Sub, account: &str) -> SubFigures {
    let mut f = sub_figures(c, s, account);
    f.sid = match &f.queue {
        Some(q) => format!("R {account} {} {q}", f.subject),
        None => format!("R {account} {}", f.subject),
    };
    f
}

fn sub_list(c: &Conn, account: &str, cap: usize) -> Vec<SubFigures> {
    c.subs
        .iter()
        .take(cap)
        .map(|(_, s)| sub_figures(c, s, account))
        .collect()
}

/// Ranks `skip .. skip + take` of `v` by `cmp`, sorted; linear in `v.len()` plus `take log take`.
pub fn window<T>(
    mut v: Vec<T>,
    skip: usize,
    take: usize,
    mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering,
) -> Vec<T> {
    if skip >= v.len() {
        return Vec::new();
    }
    if skip > 0 {
        v.select_nth_unstable_by(skip, &mut cmp);
        v.drain(..skip);
    }
    keep_best(&mut v, take, cmp);
    v
}

impl Shard {
    /// The account's name (`$G` for an id no longer known).
    pub(crate) fn account_name(&self, acc: crate::auth::AccountId) -> String {
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
            last_ns: wall_ns(c.keepalive.last_activity()),
            stop_ns: None,
            reason: None,
            uptime_ns: now_i.saturating_duration_since(c.started).as_nanos() as u64,
            idle_ns: now_i
                .saturating_duration_since(c.keepalive.last_activity())
                .as_nanos() as u64,
            rtt_ns: c.keepalive.rtt().as_nanos() as u64,
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
            tls: c.transport.tls().map(|s| s.params()).unwrap_or_default(),
            tls_first: c.tls_first && c.transport.tls().is_some(),
            tls_peer_certs: Vec::new(),
        }
    }

    /// Answers a monitor request with this shard's figures. Runs on: the owning shard.
    pub fn snapshot(&mut self, req: SnapshotRequest) {
        let want = &req.want;
        let mut snap = ShardSnapshot {
            shard: self.id,
            settings: self.settings.clone(),
            auth: self.auth.clone(),
            stats: self.stats,
            draining: self.draining,
            conns: 0,
            subscriptions: 0,
            pending_bytes: 0,
            accounts: Vec::new(),
            conn_list: Vec::new(),
            conns_matched: 0,
            sub_counts: Vec::new(),
            sub_list: Vec::new(),
            leafs: Vec::new(),
            routes: Vec::new(),
            cluster: None,
            leaf_port: 0,
        };
        for (_, c) in self.conns.iter() {
            if c.phase != Phase::Closing && c.link.is_none() {
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
                if c.phase == Phase::Open && c.link.is_none() {
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
            match &q.windows {
                None => snap.sub_counts = self.sub_counts(q),
                Some(w) => snap.sub_list = self.sub_windows(q, w),
            }
        }
        if let Some(subs) = want.leafs {
            snap.leafs = self.leaf_figures(subs);
        }
        if let Some(subs) = want.routes {
            snap.leaf_port = self.leaf.accept_port;
            snap.routes = self.route_figures(subs);
            if self.cluster.enabled {
                snap.cluster = Some(ClusterFigures {
                    name: self.cluster.name.clone(),
                    port: self.cluster.port,
                    connect_urls: (*self.connect_urls).clone(),
                });
            }
        }
        let _ = req.reply.send(snap);
    }

    /// `/leafz`: this shard's open leaf-node links.
    fn leaf_figures(&self, with_subs: bool) -> Vec<LeafFigures> {
        self.conns
            .iter()
            .filter(|(_, c)| c.phase != Phase::Closing)
            .filter_map(|(_, c)| c.link.as_ref().map(|l| (c, l)))
            .filter(|(_, l)| l.kind.is_leaf())
            .map(|(c, l)| LeafFigures {
                cid: c.cid,
                name: l.peer_name.clone(),
                spoke: l.kind == super::leaf::LinkKind::Hub,
                account: self.account_name(c.account),
                ip: c.peer.map(|p| p.ip()),
                port: c.peer.map_or(0, |p| p.port()),
                rtt_ns: c.keepalive.rtt().as_nanos() as u64,
                in_msgs: c.stats.in_msgs,
                in_bytes: c.stats.in_bytes,
                out_msgs: c.stats.out_msgs,
                out_bytes: c.stats.out_bytes,
                subscriptions: c.subs.len() as u32,
                subs: if with_subs {
                    // Subjects only, as nats-server lists a leaf's interest.
                    c.subs
                        .iter()
                        .map(|(_, s)| String::from_utf8_lossy(&s.subject).into_owned())
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect()
    }

    /// `/routez`: this shard's registered routes (shard 0's peers), by peer.
    fn route_figures(&self, subs: SubsMode) -> Vec<RouteFigures> {
        let now_i = Instant::now();
        self.cluster
            .peers
            .values()
            .filter_map(|p| self.conns.get(p.conn).map(|c| (p, c)))
            .filter(|(_, c)| c.phase != Phase::Closing)
            .filter_map(|(p, c)| c.link.as_ref().map(|l| (p, c, l)))
            .filter(|(_, _, l)| l.kind == super::leaf::LinkKind::Route)
            .map(|(p, c, l)| RouteFigures {
                cid: c.cid,
                remote_id: p.info.server_id.clone(),
                remote_name: p.info.server_name.clone(),
                solicited: p.solicited,
                configured: p.configured,
                ip: c.peer.map(|a| a.ip()),
                port: c.peer.map_or(0, |a| a.port()),
                start_ns: wall_ns(c.started),
                last_ns: wall_ns(c.keepalive.last_activity()),
                uptime_ns: now_i.saturating_duration_since(c.started).as_nanos() as u64,
                idle_ns: now_i
                    .saturating_duration_since(c.keepalive.last_activity())
                    .as_nanos() as u64,
                rtt_ns: c.keepalive.rtt().as_nanos() as u64,
                pending_bytes: c.pending_bytes() as u64,
                in_msgs: c.stats.in_msgs,
                in_bytes: c.stats.in_bytes,
                out_msgs: c.stats.out_msgs,
                out_bytes: c.stats.out_bytes,
                subscriptions: c.subs.len() as u32,
                subs: if subs == SubsMode::None {
                    Vec::new()
                } else {
                    c.subs
                        .iter()
                        .map(|(slot, s)| {
                            let acc = l.sub_accounts.get(&slot).copied().unwrap_or(c.account);
                            route_sub_figures(c, s, &self.account_name(acc))
                        })
                        .collect()
                },
            })
            .collect()
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
                if c.phase == Phase::Closing || c.link.is_some() || !cid_ok(c.cid) {
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
        if q.subs != SubsMode::None || q.auth {
            for (f, key) in &mut found {
                let Some(c) = key.and_then(|k| self.conns.get(k)) else {
                    continue;
                };
                if q.subs != SubsMode::None {
                    f.subs = sub_list(c, &f.account, usize::MAX);
                }
                if q.auth {
                    f.tls_peer_certs = peer_certs(c);
                }
            }
        }
        (found.into_iter().map(|(f, _)| f).collect(), matched)
    }

    /// `/subsz?subs=1`, first step: matching subscriptions per connection, without building any.
    /// Clients' only: a link's subscriptions (a route's or a hub's interest) are counted in the
    /// tables' totals but not listed, as nats-server lists only local subscriptions.
    fn sub_counts(&self, q: &SubsQuery) -> Vec<SubCount> {
        let acc_ok = |acc: crate::auth::AccountId| {
            q.account.as_deref().is_none_or(|want| {
                self.auth
                    .accounts
                    .get(acc as usize)
                    .map_or("$G", |a| a.name.as_str())
                    == want
            })
        };
        let count = |k: ConnKey, c: &Conn, matched: usize| SubCount {
            conn: k,
            cid: c.cid,
            matched,
        };
        let Some(test) = &q.test else {
            return self
                .conns
                .iter()
                .filter(|(_, c)| {
                    c.phase != Phase::Closing
                        && c.link.is_none()
                        && !c.subs.is_empty()
                        && acc_ok(c.account)
                })
                .map(|(k, c)| count(k, c, c.subs.len()))
                .collect();
        };
        // The subscriptions that would receive `test` are what each account's table matches for it:
        // the work follows the matches, not every subscription of the shard.
        let mut per_conn: hashbrown::HashMap<u32, usize> = hashbrown::HashMap::new();
        for (acc, t) in self.accounts.iter().enumerate() {
            if !acc_ok(acc as crate::auth::AccountId) {
                continue;
            }
            let r = t.local.matches_uncached(test.as_bytes());
            for e in r
                .plain
                .iter()
                .chain(r.queues.iter().flat_map(|g| g.members.iter()))
            {
                *per_conn.entry(e.conn).or_insert(0) += 1;
            }
        }
        per_conn
            .into_iter()
            .filter_map(|(k, n)| {
                // The internal service-reply subscription has no connection; closing ones and
                // links' (a peer's interest) are not listed.
                let c = self.conns.get(k as usize)?;
                (c.phase != Phase::Closing && c.link.is_none()).then(|| count(k as usize, c, n))
            })
            .collect()
    }

    /// `/subsz?subs=1`, second step: the records of this shard's windows. A connection that closed (or
    /// whose slot was reused) since the first step is skipped.
    fn sub_windows(&self, q: &SubsQuery, windows: &[SubWindow]) -> Vec<SubFigures> {
        let mut out = Vec::new();
        for w in windows.iter().filter(|w| w.shard == self.id) {
            let Some(c) = self.conns.get(w.conn) else {
                continue;
            };
            if c.cid != w.cid || c.phase == Phase::Closing || c.link.is_some() {
                continue;
            }
            let account = self.account_name(c.account);
            if q.account.as_deref().is_some_and(|a| a != account) {
                continue;
            }
            let matching: Vec<&Sub> = c
                .subs
                .iter()
                .map(|(_, s)| s)
                .filter(|s| {
                    q.test
                        .as_deref()
                        .is_none_or(|t| crate::subject::matches(&s.subject, t.as_bytes()))
                })
                .collect();
            let page = window(matching, w.skip, w.take, |a, b| sid_order(&a.sid, &b.sid));
            out.extend(page.into_iter().map(|s| sub_figures(c, s, &account)));
        }
        out
    }

    /// Remembers a closing connection for `/connz?state=closed`. Bound: `max_closed_clients` per shard,
    /// oldest dropped first. Called by `close_conn` while the slot is still valid.
    pub fn record_closed(&mut self, key: ConnKey) {
        let limit = self.settings.max_closed_clients;
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

/// `/connz?auth=1` `tls_peer_certs`: the client's certificates as nats-server describes them.
fn peer_certs(c: &Conn) -> Vec<crate::tls::identity::PeerCertInfo> {
    let Some(s) = c.transport.tls() else {
        return Vec::new();
    };
    s.peer_certificates()
        .iter()
        .filter_map(|der| crate::tls::identity::PeerIdentity::from_der(der).ok())
        .map(|id| id.connz())
        .collect()
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
    fn window_randomized_matches_full_sort() {
        for round in 0..300u64 {
            let n = (round % 50) as usize;
            let v: Vec<u64> = (0..n).map(|_| rand::random_range(0..60)).collect();
            let skip = rand::random_range(0..55);
            let take = rand::random_range(0..20);
            let mut expect = v.clone();
            expect.sort();
            let expect: Vec<u64> = expect.into_iter().skip(skip).take(take).collect();
            assert_eq!(window(v, skip, take, |a, b| a.cmp(b)), expect);
        }
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
