//! `/leafz`: the leaf-node links this server dialled, in nats-server's shape (`subs=1` lists each
//! link's subscriptions — the hub's interest; `acc=NAME` keeps one account's links). Links live on
//! shard 0; the figures come from its snapshot like every other endpoint's.

use super::format::{go_duration, rfc3339};
use super::http::{Request, Response};
use super::routes::{json, param_bool, param_str, unavailable};
use super::Monitor;
use crate::bus::snapshot::{unix_now_ns, Want};
use serde::Serialize;

#[derive(Serialize)]
struct Leafz {
    server_id: String,
    now: String,
    leafnodes: usize,
    leafs: Vec<Leaf>,
}

#[derive(Serialize)]
struct Leaf {
    id: u64,
    name: String,
    /// This server dialled the link (it is the hub's spoke).
    is_spoke: bool,
    account: String,
    ip: String,
    port: u16,
    rtt: String,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    subscriptions: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscriptions_list: Option<Vec<String>>,
    /// corenats never compresses a link (it declines the hub's offer).
    compression: &'static str,
}

pub fn handle(m: &Monitor, req: &Request) -> Response {
    let subs = match param_bool(req, "subs") {
        Ok(b) => b,
        Err(r) => return r,
    };
    let acc = param_str(req, "acc");
    let want = Want {
        leafs: Some(subs),
        ..Want::default()
    };
    let snaps = match m.gather(want) {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let Some(first) = snaps.first() else {
        return unavailable("no shards".into());
    };
    let mut leafs: Vec<Leaf> = snaps
        .iter()
        .flat_map(|s| s.leafs.iter())
        .filter(|l| acc.as_deref().is_none_or(|a| a == l.account))
        .map(|l| {
            let mut list = l.subs.clone();
            list.sort();
            Leaf {
                id: l.cid,
                name: l.name.clone(),
                is_spoke: l.spoke,
                account: l.account.clone(),
                ip: l.ip.map(|i| i.to_string()).unwrap_or_default(),
                port: l.port,
                rtt: go_duration(l.rtt_ns),
                in_msgs: l.in_msgs,
                out_msgs: l.out_msgs,
                in_bytes: l.in_bytes,
                out_bytes: l.out_bytes,
                subscriptions: l.subscriptions,
                subscriptions_list: subs.then_some(list),
                compression: "off",
            }
        })
        .collect();
    leafs.sort_by_key(|l| l.id);
    json(
        req,
        200,
        &Leafz {
            server_id: first.settings.server_id.clone(),
            now: rfc3339(unix_now_ns()),
            leafnodes: leafs.len(),
            leafs,
        },
    )
}
