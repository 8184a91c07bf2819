//! `/subsz` (alias `/subscriptionsz`): subscription counts and match-cache figures of every account's
//! local table summed over the shards, and with `subs=1` the subscriptions themselves (filters `acc`,
//! `test=<literal subject>`, paged by `offset`/`limit`, `limit` at most `MAX_LIST_SIZE`). The list
//! has clients' subscriptions only: a link's (a route peer's or a hub's interest) are in the tables'
//! counts but not listed, as nats-server lists only local subscriptions.
//!
//! The list is ordered by (cid, sid). nats-server lists in the order it walks its subscription tables,
//! which is no stable order; a fixed one is what makes paging with `offset` meaningful. It is built in
//! two steps (see `SubsQuery`): per-connection counts from every shard, then only the page's records
//! from the shards that hold them. Between the two steps subscriptions may come and go, as they may
//! while nats-server walks its tables: `total` is the first step's count, and a connection that closed
//! in between leaves its part of the page out.

use super::connz::SubDetail;
use super::format::rfc3339;
use super::http::{Request, Response};
use super::routes::{json, paging, param_bool, param_str, unavailable};
use super::Monitor;
use crate::bus::snapshot::{sub_order, unix_now_ns, SubCount, SubWindow, SubsQuery, Want};
use crate::bus::ShardId;
use crate::subject::SublistStats;
use serde::Serialize;

/// nats-server's `SublistStats` JSON, summed over tables.
#[derive(Serialize, Default, Debug, Clone, PartialEq)]
pub struct SublistJson {
    pub num_subscriptions: u64,
    pub num_cache: u64,
    pub num_inserts: u64,
    pub num_removes: u64,
    pub num_matches: u64,
    pub cache_hit_rate: f64,
    pub max_fanout: u64,
    pub avg_fanout: f64,
}

/// Sums `Sublist::stats()` of several tables: counts add up, the hit rate and average fanout are
/// recomputed from the sums, the max fanout is the largest.
#[derive(Default)]
pub struct SublistSum {
    subs: u64,
    cache: u64,
    inserts: u64,
    removes: u64,
    matches: u64,
    hits: u64,
    max_fanout: u64,
    fanout_total: f64,
}

impl SublistSum {
    pub fn add(&mut self, s: &SublistStats) {
        self.subs += s.num_subs as u64;
        self.cache += s.num_cache as u64;
        self.inserts += s.num_inserts;
        self.removes += s.num_removes;
        self.matches += s.num_matches;
        self.hits += s.cache_hits;
        self.max_fanout = self.max_fanout.max(s.max_fanout as u64);
        self.fanout_total += s.avg_fanout * s.num_cache as f64;
    }

    pub fn json(&self) -> SublistJson {
        SublistJson {
            num_subscriptions: self.subs,
            num_cache: self.cache,
            num_inserts: self.inserts,
            num_removes: self.removes,
            num_matches: self.matches,
            cache_hit_rate: if self.matches == 0 {
                0.0
            } else {
                self.hits as f64 / self.matches as f64
            },
            max_fanout: self.max_fanout,
            avg_fanout: if self.cache == 0 {
                0.0
            } else {
                self.fanout_total / self.cache as f64
            },
        }
    }
}

#[derive(Serialize)]
struct Subsz {
    server_id: String,
    now: String,
    #[serde(flatten)]
    stats: SublistJson,
    total: usize,
    offset: usize,
    limit: usize,
    /// Left out when empty, as nats-server does (`omitempty`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list: Vec<SubDetail>,
}

pub fn handle(m: &Monitor, req: &Request) -> Response {
    let subs = match param_bool(req, "subs") {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (offset, limit) = match paging(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let test = param_str(req, "test");
    if let Some(t) = &test {
        if !crate::subject::is_valid_literal_subject(t.as_bytes()) {
            return Response::text(
                400,
                format!("invalid test subject, must be valid publish subject: {t}"),
            );
        }
    }
    let acc = param_str(req, "acc");
    let query = SubsQuery {
        account: acc.clone(),
        test,
        windows: None,
    };
    let want = Want {
        accounts: true,
        sublist: true,
        subs: subs.then(|| query.clone()),
        ..Want::default()
    };
    let snaps = match m.gather(want) {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let server_id = snaps
        .first()
        .map(|s| s.settings.server_id.clone())
        .unwrap_or_default();
    let mut sum = SublistSum::default();
    let mut counts = Vec::new();
    for s in snaps {
        for (i, a) in s.accounts.iter().enumerate() {
            let name = s.auth.accounts.get(i).map_or("$G", |a| a.name.as_str());
            if acc.as_deref().is_some_and(|want| want != name) {
                continue;
            }
            if let Some(st) = &a.sublist {
                sum.add(st);
            }
        }
        counts.extend(s.sub_counts.iter().map(|c| (s.shard, *c)));
    }
    let matched: usize = counts.iter().map(|(_, c)| c.matched).sum();
    let subscriptions_list = if subs {
        let windows = windows(counts, offset, limit);
        let mut shards: Vec<ShardId> = windows.iter().map(|w| w.shard).collect();
        shards.sort_unstable();
        shards.dedup();
        let mut list = Vec::new();
        if !shards.is_empty() {
            let want = Want {
                subs: Some(SubsQuery {
                    windows: Some(windows),
                    ..query
                }),
                ..Want::default()
            };
            match m.gather_from(&shards, want) {
                Ok(snaps) => list.extend(snaps.into_iter().flat_map(|s| s.sub_list)),
                Err(e) => return unavailable(e),
            }
        }
        list.sort_by(sub_order);
        list.into_iter().map(|s| SubDetail::new(s, true)).collect()
    } else {
        Vec::new()
    };
    json(
        req,
        200,
        &Subsz {
            server_id,
            now: rfc3339(unix_now_ns()),
            stats: sum.json(),
            total: if subs { matched } else { 0 },
            offset,
            limit,
            subscriptions_list,
        },
    )
}

/// Places the page `offset .. offset + limit` over the connections' counts laid out in cid order:
/// which ranks of which connection's (sid-ordered) matching subscriptions it covers.
fn windows(mut counts: Vec<(ShardId, SubCount)>, offset: usize, limit: usize) -> Vec<SubWindow> {
    counts.sort_unstable_by_key(|(_, c)| c.cid);
    let end = offset.saturating_add(limit);
    let mut out = Vec::new();
    let mut at = 0usize;
    for (shard, c) in counts {
        if at >= end {
            break;
        }
        let next = at.saturating_add(c.matched);
        let from = offset.max(at);
        let to = end.min(next);
        if from < to {
            out.push(SubWindow {
                shard,
                conn: c.conn,
                cid: c.cid,
                skip: from - at,
                take: to - from,
            });
        }
        at = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_page_in_cid_order() {
        let c = |cid: u64, matched: usize| SubCount {
            conn: cid as usize * 10,
            cid,
            matched,
        };
        // cid order: 1 (3 subs), 2 (5), 4 (2) -> global ranks 0..3, 3..8, 8..10.
        let counts = vec![(1, c(4, 2)), (0, c(1, 3)), (1, c(2, 5))];
        let w = |shard, cid: u64, skip, take| SubWindow {
            shard,
            conn: cid as usize * 10,
            cid,
            skip,
            take,
        };
        assert_eq!(windows(counts.clone(), 0, 1), vec![w(0, 1, 0, 1)]);
        assert_eq!(
            windows(counts.clone(), 2, 7),
            vec![w(0, 1, 2, 1), w(1, 2, 0, 5), w(1, 4, 0, 1)]
        );
        assert_eq!(windows(counts.clone(), 3, 5), vec![w(1, 2, 0, 5)]);
        assert_eq!(windows(counts.clone(), 9, 100), vec![w(1, 4, 1, 1)]);
        assert!(windows(counts.clone(), 10, 5).is_empty());
        assert!(windows(counts, usize::MAX, usize::MAX).is_empty());
        assert!(windows(Vec::new(), 0, 10).is_empty());
    }

    #[test]
    fn sums_recompute_rates() {
        let mut s = SublistSum::default();
        s.add(&SublistStats {
            num_subs: 2,
            num_cache: 1,
            num_inserts: 3,
            num_removes: 1,
            num_matches: 10,
            cache_hits: 5,
            max_fanout: 4,
            avg_fanout: 4.0,
        });
        s.add(&SublistStats {
            num_subs: 1,
            num_cache: 3,
            num_inserts: 1,
            num_removes: 0,
            num_matches: 10,
            cache_hits: 10,
            max_fanout: 2,
            avg_fanout: 1.0,
        });
        let j = s.json();
        assert_eq!(j.num_subscriptions, 3);
        assert_eq!(j.num_cache, 4);
        assert_eq!(j.num_inserts, 4);
        assert_eq!(j.num_matches, 20);
        assert_eq!(j.cache_hit_rate, 0.75);
        assert_eq!(j.max_fanout, 4);
        assert_eq!(j.avg_fanout, 7.0 / 4.0);
        assert_eq!(SublistSum::default().json().cache_hit_rate, 0.0);
    }
}
