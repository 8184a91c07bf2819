//! `/routez`: the routes to the other servers of our cluster, in nats-server's shape (`subs=1` lists
//! each route's subscriptions — the peer's interest — as subjects, `subs=detail` as records). Routes
//! live on shard 0; the figures come from its snapshot like every other endpoint's. Without a
//! `cluster {}` block the answer has no routes, as nats-server's.
//!
//! What nats-server shows and corenats leaves out: `import`/`export` (cluster permissions, which
//! corenats does not have) and `account` (a pinned-account route: corenats does not pool, every
//! route carries every account). `compression` is always `off` (corenats never compresses a route).

use super::connz::SubDetail;
use super::format::{go_duration, rfc3339, uptime};
use super::http::{Request, Response};
use super::routes::{json, param_subs, unavailable};
use super::Monitor;
use crate::bus::snapshot::{unix_now_ns, RouteFigures, SubsMode, Want};
use serde::Serialize;

#[derive(Serialize)]
struct Routez {
    server_id: String,
    server_name: String,
    now: String,
    num_routes: usize,
    routes: Vec<Route>,
}

#[derive(Serialize)]
struct Route {
    rid: u64,
    remote_id: String,
    remote_name: String,
    did_solicit: bool,
    is_configured: bool,
    ip: String,
    port: u16,
    start: String,
    last_activity: String,
    rtt: String,
    uptime: String,
    idle: String,
    pending_size: u64,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    subscriptions: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list_detail: Vec<SubDetail>,
    compression: &'static str,
}

impl Route {
    fn new(r: RouteFigures, mode: SubsMode) -> Route {
        let mut subs = r.subs;
        subs.sort_by(|a, b| (&a.subject, &a.queue).cmp(&(&b.subject, &b.queue)));
        let (list, detail) = match mode {
            SubsMode::None => (Vec::new(), Vec::new()),
            // Subjects only, as nats-server lists them (a queue subscription's group is left out).
            SubsMode::List => (subs.into_iter().map(|s| s.subject).collect(), Vec::new()),
            SubsMode::Detail => (
                Vec::new(),
                subs.into_iter().map(|s| SubDetail::new(s, false)).collect(),
            ),
        };
        Route {
            rid: r.cid,
            remote_id: r.remote_id,
            remote_name: r.remote_name,
            did_solicit: r.solicited,
            is_configured: r.configured,
            ip: r.ip.map(|i| i.to_string()).unwrap_or_default(),
            port: r.port,
            start: rfc3339(r.start_ns),
            last_activity: rfc3339(r.last_ns),
            rtt: go_duration(r.rtt_ns),
            uptime: uptime(r.uptime_ns),
            idle: uptime(r.idle_ns),
            pending_size: r.pending_bytes,
            in_msgs: r.in_msgs,
            out_msgs: r.out_msgs,
            in_bytes: r.in_bytes,
            out_bytes: r.out_bytes,
            subscriptions: r.subscriptions,
            subscriptions_list: list,
            subscriptions_list_detail: detail,
            compression: "off",
        }
    }
}

pub fn handle(m: &Monitor, req: &Request) -> Response {
    let mode = match param_subs(req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let want = Want {
        routes: Some(mode),
        ..Want::default()
    };
    let snaps = match m.gather(want) {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let Some(settings) = snaps.first().map(|s| s.settings.clone()) else {
        return unavailable("no shards".into());
    };
    let mut figures: Vec<RouteFigures> = snaps.into_iter().flat_map(|s| s.routes).collect();
    figures.sort_by_key(|r| r.cid);
    let routes: Vec<Route> = figures.into_iter().map(|r| Route::new(r, mode)).collect();
    json(
        req,
        200,
        &Routez {
            server_id: settings.server_id.clone(),
            server_name: settings.server_name.clone(),
            now: rfc3339(unix_now_ns()),
            num_routes: routes.len(),
            routes,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::snapshot::SubFigures;

    fn figures() -> RouteFigures {
        let sub = |subject: &str, queue: Option<&str>| SubFigures {
            account: "$G".into(),
            subject: subject.into(),
            queue: queue.map(str::to_string),
            sid: match queue {
                Some(q) => format!("R $G {subject} {q}"),
                None => format!("R $G {subject}"),
            },
            msgs: 0,
            max: None,
            cid: 7,
        };
        RouteFigures {
            cid: 7,
            remote_id: "NPEER".into(),
            remote_name: "peer".into(),
            solicited: true,
            configured: true,
            ip: Some("127.0.0.1".parse().unwrap()),
            port: 6222,
            start_ns: 1_700_000_000_000_000_000,
            last_ns: 1_700_000_001_000_000_000,
            uptime_ns: 3_000_000_000,
            idle_ns: 2_000_000_000,
            rtt_ns: 250_000,
            subscriptions: 2,
            subs: vec![sub("foo", None), sub("bar", Some("q1"))],
            ..RouteFigures::default()
        }
    }

    /// The fields and their forms are nats-server's; subscriptions appear only when asked for.
    #[test]
    fn a_route_in_nats_server_shape() {
        let v = serde_json::to_value(Route::new(figures(), SubsMode::None)).unwrap();
        assert_eq!(v["rid"], 7);
        assert_eq!(v["remote_id"], "NPEER");
        assert_eq!(v["did_solicit"], true);
        assert_eq!(v["is_configured"], true);
        assert_eq!(v["ip"], "127.0.0.1");
        assert_eq!(v["rtt"], "250µs");
        assert_eq!(v["uptime"], "3s");
        assert_eq!(v["idle"], "2s");
        assert_eq!(v["start"], "2023-11-14T22:13:20Z");
        assert_eq!(v["compression"], "off");
        for absent in [
            "subscriptions_list",
            "subscriptions_list_detail",
            "account",
            "import",
            "export",
        ] {
            assert!(v.get(absent).is_none(), "{absent} in {v}");
        }
        let v = serde_json::to_value(Route::new(figures(), SubsMode::List)).unwrap();
        assert_eq!(v["subscriptions_list"], serde_json::json!(["bar", "foo"]));
        let v = serde_json::to_value(Route::new(figures(), SubsMode::Detail)).unwrap();
        let d = &v["subscriptions_list_detail"];
        assert_eq!(d[0]["subject"], "bar");
        assert_eq!(d[0]["qgroup"], "q1");
        assert_eq!(d[0]["sid"], "R $G bar q1");
        assert_eq!(d[1]["sid"], "R $G foo");
        assert!(d[1].get("qgroup").is_none() && d[1].get("account").is_none());
        assert!(v.get("subscriptions_list").is_none());
    }
}
