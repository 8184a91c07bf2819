//! `/subsz` (alias `/subscriptionsz`): subscription counts and match-cache figures of every account's
//! local table summed over the shards, and with `subs=1` the subscriptions themselves (filters `acc`,
//! `test=<literal subject>`, paged by `offset`/`limit`).

use super::connz::SubDetail;
use super::format::{rfc3339, unix_now_ns};
use super::http::{Request, Response};
use super::routes::{json, page, paging, param_bool, param_str, unavailable};
use super::{Monitor, SubsQuery, Want};
use crate::shard::snapshot::keep_best;
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
    #[serde(skip_serializing_if = "Option::is_none")]
    subscriptions_list: Option<Vec<SubDetail>>,
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
    let want = Want {
        accounts: true,
        sublist: true,
        subs: subs.then(|| SubsQuery {
            account: acc.clone(),
            test,
            keep: offset.saturating_add(limit),
        }),
        ..Want::default()
    };
    let snaps = match m.gather(want) {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let server_id = snaps
        .first()
        .map(|s| s.rt.server_id.clone())
        .unwrap_or_default();
    let mut sum = SublistSum::default();
    let mut matched = 0;
    let mut list = Vec::new();
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
        matched += s.subs_matched;
        list.extend(s.sub_list);
    }
    let subscriptions_list = subs.then(|| {
        keep_best(
            &mut list,
            offset.saturating_add(limit),
            super::sort::sub_order,
        );
        page(list, offset, limit)
            .into_iter()
            .map(|s| SubDetail::new(s, true))
            .collect()
    });
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

#[cfg(test)]
mod tests {
    use super::*;

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
