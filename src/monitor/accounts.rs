//! Per-account figures summed over the shards, and the two endpoints built on them: `/accountz`
//! (account names; `acc=NAME` for one account's detail) and `/accstatz` (connections, subscriptions,
//! messages and bytes sent and received, slow consumers; `unused=1` adds accounts without connections,
//! `acc=A,B` filters). `/metrics` uses the same sums.

use super::format::rfc3339;
use super::http::{Request, Response};
use super::routes::{json, param_bool, param_str, unavailable};
use super::subsz::{SublistJson, SublistSum};
use super::Monitor;
use crate::bus::snapshot::{unix_now_ns, AccountStats, ShardSnapshot, Want};
use serde::Serialize;

/// One account's figures over all shards.
#[derive(Default)]
pub struct AccountTotals {
    pub name: String,
    pub is_system: bool,
    /// Removed by a reload (kept as a tombstone by auth): not listed.
    pub removed: bool,
    pub stats: AccountStats,
    /// Logged-in connections.
    pub conns: u64,
    pub subs: u64,
    pub sublist: SublistSum,
}

fn add_stats(to: &mut AccountStats, s: &AccountStats) {
    to.in_msgs += s.in_msgs;
    to.in_bytes += s.in_bytes;
    to.out_msgs += s.out_msgs;
    to.out_bytes += s.out_bytes;
    to.slow_consumers += s.slow_consumers;
    to.pub_violations += s.pub_violations;
    to.sub_violations += s.sub_violations;
}

/// Sums the shards' per-account figures (snapshots gathered with `Want::accounts`). Index = `AccountId`
/// (removed accounts included, flagged).
pub fn totals(snaps: &[ShardSnapshot]) -> Vec<AccountTotals> {
    let Some(first) = snaps.first() else {
        return Vec::new();
    };
    let mut out: Vec<AccountTotals> = first
        .auth
        .accounts
        .iter()
        .map(|a| AccountTotals {
            name: a.name.clone(),
            is_system: a.is_system,
            removed: a.removed,
            ..AccountTotals::default()
        })
        .collect();
    for s in snaps {
        for (t, a) in out.iter_mut().zip(&s.accounts) {
            add_stats(&mut t.stats, &a.stats);
            t.conns += a.conns;
            t.subs += a.subs;
            if let Some(st) = &a.sublist {
                t.sublist.add(st);
            }
        }
    }
    out
}

#[derive(Serialize)]
struct Accountz {
    server_id: String,
    now: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accounts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_detail: Option<AccountInfo>,
}

#[derive(Serialize)]
struct AccountInfo {
    account_name: String,
    update_time: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_system: bool,
    expired: bool,
    complete: bool,
    jetstream_enabled: bool,
    leafnode_connections: u64,
    client_connections: u64,
    subscriptions: u64,
    /// The account's name tag: its name (no JWTs here).
    name_tag: String,
    sublist_stats: SublistJson,
}

pub fn accountz(m: &Monitor, req: &Request) -> Response {
    let acc = param_str(req, "acc");
    let want = Want {
        accounts: acc.is_some(),
        sublist: acc.is_some(),
        ..Want::default()
    };
    let snaps = match m.gather(want) {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let Some(first) = snaps.first() else {
        return unavailable("no shards".into());
    };
    let system_account = first
        .auth
        .accounts
        .iter()
        .find(|a| a.is_system)
        .map(|a| a.name.clone());
    let mut out = Accountz {
        server_id: first.settings.server_id.clone(),
        now: rfc3339(unix_now_ns()),
        system_account,
        accounts: None,
        account_detail: None,
    };
    match acc {
        None => {
            out.accounts = Some(
                first
                    .auth
                    .accounts
                    .iter()
                    .filter(|a| !a.removed)
                    .map(|a| a.name.clone())
                    .collect(),
            );
        }
        Some(name) => {
            let load = rfc3339(m.config_load_ns(&first.settings));
            let all = totals(&snaps);
            let Some(t) = all.into_iter().find(|t| t.name == name && !t.removed) else {
                return Response::text(400, format!("Account {name} does not exist"));
            };
            out.account_detail = Some(AccountInfo {
                account_name: t.name.clone(),
                update_time: load,
                is_system: t.is_system,
                expired: false,
                complete: true,
                jetstream_enabled: false,
                leafnode_connections: 0,
                client_connections: t.conns,
                subscriptions: t.subs,
                name_tag: t.name.clone(),
                sublist_stats: t.sublist.json(),
            });
        }
    }
    json(req, 200, &out)
}

#[derive(Serialize, Default)]
struct MsgBytes {
    msgs: u64,
    bytes: u64,
}

#[derive(Serialize, Default)]
struct DataStats {
    msgs: u64,
    bytes: u64,
    gateways: MsgBytes,
    routes: MsgBytes,
    leafs: MsgBytes,
}

#[derive(Serialize)]
struct AccountStat {
    acc: String,
    name: String,
    conns: u64,
    leafnodes: u64,
    total_conns: u64,
    num_subscriptions: u64,
    sent: DataStats,
    received: DataStats,
    slow_consumers: u64,
}

#[derive(Serialize)]
struct AccountStatz {
    server_id: String,
    now: String,
    account_statz: Vec<AccountStat>,
}

pub fn accstatz(m: &Monitor, req: &Request) -> Response {
    let unused = match param_bool(req, "unused") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let filter: Vec<String> = param_str(req, "acc")
        .or_else(|| param_str(req, "accs"))
        .map(|s| s.split(',').map(|a| a.trim().to_string()).collect())
        .unwrap_or_default();
    let want = Want {
        accounts: true,
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
    let account_statz = totals(&snaps)
        .into_iter()
        .filter(|t| !t.removed)
        .filter(|t| filter.is_empty() || filter.contains(&t.name))
        .filter(|t| unused || t.conns > 0)
        .map(|t| AccountStat {
            acc: t.name.clone(),
            name: t.name,
            conns: t.conns,
            leafnodes: 0,
            total_conns: t.conns,
            num_subscriptions: t.subs,
            sent: DataStats {
                msgs: t.stats.out_msgs,
                bytes: t.stats.out_bytes,
                ..DataStats::default()
            },
            received: DataStats {
                msgs: t.stats.in_msgs,
                bytes: t.stats.in_bytes,
                ..DataStats::default()
            },
            slow_consumers: t.stats.slow_consumers,
        })
        .collect();
    json(
        req,
        200,
        &AccountStatz {
            server_id,
            now: rfc3339(unix_now_ns()),
            account_statz,
        },
    )
}
