//! `/connz`: open and recently closed client connections across all shards, filtered by each shard,
//! then merged, sorted and paged here. Parameters and error texts as nats-server's: `subs=true|1|detail`,
//! `auth`, `sort`, `offset`, `limit` (default 1024), `state=open|closed|any|all`, `cid`, `acc`, `user`.

use super::format::{go_duration, rfc3339, uptime};
use super::http::{Request, Response};
use super::routes::{
    json, page, paging, param_bool, param_str, param_subs, param_u64, unavailable,
};
use super::Monitor;
use crate::bus::snapshot::{
    keep_best, reason_text, unix_now_ns, ConnFigures, ConnQuery, SortBy, SubFigures, SubsMode, Want,
};
use serde::Serialize;

#[derive(Serialize)]
pub struct Connz {
    pub server_id: String,
    pub now: String,
    pub num_connections: usize,
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub connections: Vec<ConnInfo>,
}

/// One subscription in `subscriptions_list_detail` (and `/subsz`'s `subscriptions_list`).
#[derive(Serialize)]
pub struct SubDetail {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account_tag: String,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qgroup: Option<String>,
    pub sid: String,
    pub msgs: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    pub cid: u64,
}

impl SubDetail {
    /// `/subsz` shows the account (and its tag); `/connz` leaves both out, as nats-server does.
    pub fn new(s: SubFigures, with_account: bool) -> SubDetail {
        let account = if with_account {
            s.account
        } else {
            String::new()
        };
        SubDetail {
            account_tag: account.clone(),
            account,
            subject: s.subject,
            qgroup: s.queue,
            sid: s.sid,
            msgs: s.msgs,
            max: s.max,
            cid: s.cid,
        }
    }
}

#[derive(Serialize)]
pub struct ConnInfo {
    pub cid: u64,
    pub kind: &'static str,
    #[serde(rename = "type")]
    pub kind_type: &'static str,
    pub ip: String,
    pub port: u16,
    pub start: String,
    pub last_activity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    pub rtt: String,
    pub uptime: String,
    pub idle: String,
    pub pending_bytes: u64,
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    pub subscriptions: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub tls_version: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub tls_cipher_suite: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_peer_certs: Vec<TlsPeerCert>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_first: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriptions_list: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriptions_list_detail: Option<Vec<SubDetail>>,
    /// With `auth`: the account's name tag (its name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_tag: Option<String>,
}

/// A client certificate in `/connz?auth=1` (nats-server's `TLSPeerCert`).
#[derive(Serialize)]
pub struct TlsPeerCert {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub spki_sha256: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_sha256: String,
}

impl ConnInfo {
    fn new(f: ConnFigures, subs: SubsMode, auth: bool) -> ConnInfo {
        let (list, detail) = match subs {
            _ if f.subs.is_empty() => (None, None),
            SubsMode::None => (None, None),
            SubsMode::List => (Some(f.subs.into_iter().map(|s| s.subject).collect()), None),
            SubsMode::Detail => (
                None,
                Some(
                    f.subs
                        .into_iter()
                        .map(|s| SubDetail::new(s, false))
                        .collect(),
                ),
            ),
        };
        ConnInfo {
            cid: f.cid,
            kind: "Client",
            kind_type: "nats",
            ip: f.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            port: f.port,
            start: rfc3339(f.start_ns),
            last_activity: rfc3339(f.last_ns),
            stop: f.stop_ns.map(rfc3339),
            reason: f.reason.map(|r| reason_text(Some(r))),
            rtt: go_duration(f.rtt_ns),
            uptime: uptime(f.uptime_ns),
            idle: uptime(f.idle_ns),
            pending_bytes: f.pending_bytes,
            in_msgs: f.in_msgs,
            out_msgs: f.out_msgs,
            in_bytes: f.in_bytes,
            out_bytes: f.out_bytes,
            subscriptions: f.num_subs,
            name: f.name.filter(|s| !s.is_empty()),
            lang: f.lang.filter(|s| !s.is_empty()),
            version: f.version.filter(|s| !s.is_empty()),
            tls_version: f.tls.version,
            tls_cipher_suite: f.tls.cipher_suite,
            tls_peer_certs: f
                .tls_peer_certs
                .into_iter()
                .map(|c| TlsPeerCert {
                    subject: c.subject,
                    spki_sha256: c.subject_pk_sha256,
                    cert_sha256: c.cert_sha256,
                })
                .collect(),
            tls_first: f.tls_first,
            authorized_user: if auth {
                f.user.filter(|u| !u.is_empty())
            } else {
                None
            },
            name_tag: auth.then(|| f.account.clone()),
            account: (auth && f.account != "$G").then_some(f.account),
            subscriptions_list: list,
            subscriptions_list_detail: detail,
        }
    }
}

/// The request's parameters, validated as nats-server does (400 with its text otherwise).
struct Params {
    query: ConnQuery,
    auth: bool,
    offset: usize,
    limit: usize,
}

fn params(req: &Request) -> Result<Params, Response> {
    let sort_raw = req.param("sort").unwrap_or("");
    let auth = param_bool(req, "auth")?;
    let subs = param_subs(req)?;
    let (offset, mut limit) = paging(req)?;
    let cid = param_u64(req, "cid")?;
    let state = req.param("state").unwrap_or("").to_ascii_lowercase();
    let (open, closed) = match state.as_str() {
        "" | "open" => (true, false),
        "closed" => (false, true),
        "any" | "all" => (true, true),
        other => {
            return Err(Response::text(
                400,
                format!("Error decoding state for {other}"),
            ));
        }
    };
    let sort = SortBy::parse(sort_raw)
        .ok_or_else(|| Response::text(400, format!("invalid sorting option: {sort_raw}")))?;
    let closed_only = closed && !open;
    if sort.needs_closed() && !closed_only {
        return Err(Response::text(
            400,
            format!("sort by {sort_raw} only valid on closed connections"),
        ));
    }
    if cid > 0 {
        limit = 1;
    }
    Ok(Params {
        query: ConnQuery {
            open,
            closed,
            cid: (cid > 0).then_some(cid),
            account: param_str(req, "acc"),
            user: param_str(req, "user"),
            subs,
            auth,
            sort,
            keep: offset.saturating_add(limit),
        },
        auth,
        offset,
        limit,
    })
}

pub fn handle(m: &Monitor, req: &Request) -> Response {
    let p = match params(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let want = Want {
        conns: Some(p.query.clone()),
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
    let mut total = 0;
    let mut all = Vec::new();
    for s in snaps {
        total += s.conns_matched;
        all.extend(s.conn_list);
    }
    let sort = p.query.sort;
    keep_best(&mut all, p.query.keep, |a, b| sort.compare(a, b));
    let conns: Vec<ConnInfo> = page(all, p.offset, p.limit)
        .into_iter()
        .map(|f| ConnInfo::new(f, p.query.subs, p.auth))
        .collect();
    json(
        req,
        200,
        &Connz {
            server_id,
            now: rfc3339(unix_now_ns()),
            num_connections: conns.len(),
            total,
            offset: p.offset,
            limit: p.limit,
            connections: conns,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: "/connz".into(),
            query: q
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            raw_values: q.iter().map(|(_, v)| v.as_bytes().to_vec()).collect(),
        }
    }

    fn err(q: &[(&str, &str)]) -> String {
        let r = params(&req(q)).err().unwrap();
        assert_eq!(r.status, 400);
        String::from_utf8(r.body).unwrap()
    }

    #[test]
    fn parameter_errors_use_nats_texts() {
        assert_eq!(err(&[("sort", "foo")]), "invalid sorting option: foo");
        assert_eq!(err(&[("state", "weird")]), "Error decoding state for weird");
        assert_eq!(
            err(&[("sort", "stop")]),
            "sort by stop only valid on closed connections"
        );
        assert_eq!(
            err(&[("sort", "reason"), ("state", "all")]),
            "sort by reason only valid on closed connections"
        );
        assert!(err(&[("limit", "x")]).starts_with("Error decoding int for 'limit'"));
        assert!(err(&[("cid", "x")]).starts_with("Error decoding uint64 for 'cid'"));
    }

    #[test]
    fn defaults_and_cid() {
        let p = params(&req(&[])).ok().unwrap();
        assert!(p.query.open && !p.query.closed);
        assert_eq!((p.offset, p.limit, p.query.keep), (0, 1024, 1024));
        assert_eq!(p.query.subs, SubsMode::None);
        let p = params(&req(&[("cid", "7"), ("subs", "DETAIL"), ("state", "ANY")]))
            .ok()
            .unwrap();
        assert_eq!(p.query.cid, Some(7));
        assert_eq!(p.limit, 1);
        assert_eq!(p.query.subs, SubsMode::Detail);
        assert!(p.query.open && p.query.closed);
        let p = params(&req(&[
            ("sort", "stop"),
            ("state", "closed"),
            ("subs", "1"),
        ]))
        .ok()
        .unwrap();
        assert_eq!(p.query.sort, SortBy::Stop);
        assert_eq!(p.query.subs, SubsMode::List);
    }

    #[test]
    fn conn_info_omits_what_nats_omits() {
        let f = ConnFigures {
            cid: 3,
            account: "$G".into(),
            user: Some("bob".into()),
            ..ConnFigures::default()
        };
        let v = serde_json::to_value(ConnInfo::new(f.clone(), SubsMode::List, false)).unwrap();
        for absent in [
            "stop",
            "reason",
            "name",
            "authorized_user",
            "account",
            "subscriptions_list",
        ] {
            assert!(v.get(absent).is_none(), "{absent}");
        }
        assert_eq!(v["kind"], "Client");
        assert_eq!(v["type"], "nats");
        assert_eq!(v["rtt"], "0s");
        let v = serde_json::to_value(ConnInfo::new(
            ConnFigures {
                account: "A".into(),
                ..f
            },
            SubsMode::None,
            true,
        ))
        .unwrap();
        assert_eq!(v["authorized_user"], "bob");
        assert_eq!(v["account"], "A");
    }
}
