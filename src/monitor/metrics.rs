//! `/metrics`: the Prometheus text exposition format (version 0.0.4). Server totals, per-account
//! counters (label `account`), per-shard figures (label `shard`), per leaf-node link (labels `hub`,
//! `account`, `cid`) and per route (labels `remote_id`, `remote_name`), all from one round of
//! snapshots.
//! Every family has `# HELP` and `# TYPE` lines; counters end in `_total`; label values are escaped.

use super::accounts::totals;
use super::http::Response;
use super::procstat::rss_bytes;
use super::routes::unavailable;
use super::Monitor;
use crate::bus::snapshot::{SubsMode, Want};
use std::fmt::Write;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Builds exposition text one metric family at a time.
#[derive(Default)]
pub struct Exposition {
    pub out: String,
}

/// Escapes a label value (`\`, `"` and newline).
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl Exposition {
    /// Starts a family: `# HELP` and `# TYPE` (`counter` or `gauge`).
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample of the family just started.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", fmt_value(value));
    }

    /// A family with a single unlabelled sample.
    pub fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

pub fn handle(m: &Monitor) -> Response {
    let want = Want {
        accounts: true,
        leafs: Some(false),
        routes: Some(SubsMode::None),
        ..Want::default()
    };
    let snaps = match m.gather(want) {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let Some(first) = snaps.first() else {
        return unavailable("no shards".into());
    };
    let mut e = Exposition::default();
    e.family("corenats_info", "gauge", "Server identity (always 1).");
    e.sample(
        "corenats_info",
        &[
            ("server_id", &first.settings.server_id),
            ("server_name", &first.settings.server_name),
            ("version", crate::settings::VERSION),
        ],
        1.0,
    );
    e.single(
        "corenats_start_time_seconds",
        "gauge",
        "Server start time in seconds since the Unix epoch.",
        m.start_ns as f64 / 1e9,
    );
    e.single(
        "corenats_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        m.started.elapsed().as_secs_f64().floor(),
    );
    e.single(
        "corenats_memory_bytes",
        "gauge",
        "Resident memory of the process.",
        rss_bytes() as f64,
    );
    e.single(
        "corenats_cpu_percent",
        "gauge",
        "Process CPU use in percent of one core.",
        m.cpu_percent(),
    );
    e.single(
        "corenats_shards",
        "gauge",
        "Number of shards (executors).",
        snaps.len() as f64,
    );

    // Server totals and the same figures per shard.
    type Pick = fn(&crate::bus::ShardSnapshot) -> u64;
    let server: [(&str, &str, &str, Pick); 9] = [
        ("connections", "gauge", "Open client connections.", |s| {
            s.conns
        }),
        (
            "connections_total",
            "counter",
            "Client connections accepted.",
            |s| s.stats.total_connections,
        ),
        ("subscriptions", "gauge", "Active subscriptions.", |s| {
            s.subscriptions
        }),
        (
            "pending_bytes",
            "gauge",
            "Bytes waiting in outbound buffers.",
            |s| s.pending_bytes,
        ),
        (
            "in_msgs_total",
            "counter",
            "Messages received from clients.",
            |s| s.stats.in_msgs,
        ),
        (
            "in_bytes_total",
            "counter",
            "Payload bytes received from clients.",
            |s| s.stats.in_bytes,
        ),
        (
            "out_msgs_total",
            "counter",
            "Messages delivered to clients.",
            |s| s.stats.out_msgs,
        ),
        (
            "out_bytes_total",
            "counter",
            "Payload bytes delivered to clients.",
            |s| s.stats.out_bytes,
        ),
        (
            "slow_consumers_total",
            "counter",
            "Connections closed as slow consumers.",
            |s| s.stats.slow_consumers,
        ),
    ];
    for (name, kind, help, pick) in server {
        let total: u64 = snaps.iter().map(pick).sum();
        e.single(&format!("corenats_{name}"), kind, help, total as f64);
    }
    for (name, kind, help, pick) in server {
        let fam = format!("corenats_shard_{name}");
        e.family(&fam, kind, &format!("{help} Per shard."));
        for s in &snaps {
            e.sample(&fam, &[("shard", &s.shard.to_string())], pick(s) as f64);
        }
    }

    // Per account.
    let accs: Vec<_> = totals(&snaps).into_iter().filter(|t| !t.removed).collect();
    type PickAcc = fn(&super::accounts::AccountTotals) -> u64;
    let per_account: [(&str, &str, &str, PickAcc); 7] = [
        (
            "connections",
            "gauge",
            "Logged-in client connections.",
            |t| t.conns,
        ),
        ("subscriptions", "gauge", "Active subscriptions.", |t| {
            t.subs
        }),
        (
            "in_msgs_total",
            "counter",
            "Messages received from the account's clients.",
            |t| t.stats.in_msgs,
        ),
        (
            "in_bytes_total",
            "counter",
            "Payload bytes received from the account's clients.",
            |t| t.stats.in_bytes,
        ),
        (
            "out_msgs_total",
            "counter",
            "Messages delivered to the account's clients.",
            |t| t.stats.out_msgs,
        ),
        (
            "out_bytes_total",
            "counter",
            "Payload bytes delivered to the account's clients.",
            |t| t.stats.out_bytes,
        ),
        (
            "slow_consumers_total",
            "counter",
            "Slow consumers closed in the account.",
            |t| t.stats.slow_consumers,
        ),
    ];
    for (name, kind, help, pick) in per_account {
        let fam = format!("corenats_account_{name}");
        e.family(&fam, kind, help);
        for t in &accs {
            e.sample(&fam, &[("account", &t.name)], pick(t) as f64);
        }
    }
    let fam = "corenats_account_permission_violations_total";
    e.family(
        fam,
        "counter",
        "Publish and subscribe permission violations.",
    );
    for t in &accs {
        e.sample(
            fam,
            &[("account", &t.name), ("kind", "publish")],
            t.stats.pub_violations as f64,
        );
        e.sample(
            fam,
            &[("account", &t.name), ("kind", "subscribe")],
            t.stats.sub_violations as f64,
        );
    }
    leaf_links(&mut e, &snaps);
    routes(&mut e, &snaps);
    Response::new(200, CONTENT_TYPE, e.out.into_bytes())
}

/// Per leaf-node link (labelled by the hub's name and the bound account): whether it is up, its
/// round trip and its traffic.
fn leaf_links(e: &mut Exposition, snaps: &[crate::bus::ShardSnapshot]) {
    let links: Vec<_> = snaps.iter().flat_map(|s| s.leafs.iter()).collect();
    e.single(
        "corenats_leafnodes",
        "gauge",
        "Leaf-node links up (dialled by this server).",
        links.len() as f64,
    );
    type PickLeaf = fn(&crate::bus::snapshot::LeafFigures) -> f64;
    let per_link: [(&str, &str, &str, PickLeaf); 5] = [
        ("rtt_seconds", "gauge", "Round trip to the hub.", |l| {
            l.rtt_ns as f64 / 1e9
        }),
        ("in_msgs_total", "counter", "Messages from the hub.", |l| {
            l.in_msgs as f64
        }),
        (
            "in_bytes_total",
            "counter",
            "Payload bytes from the hub.",
            |l| l.in_bytes as f64,
        ),
        ("out_msgs_total", "counter", "Messages to the hub.", |l| {
            l.out_msgs as f64
        }),
        (
            "out_bytes_total",
            "counter",
            "Payload bytes to the hub.",
            |l| l.out_bytes as f64,
        ),
    ];
    for (name, kind, help, pick) in per_link {
        let fam = format!("corenats_leaf_{name}");
        e.family(&fam, kind, help);
        for l in &links {
            let cid = l.cid.to_string();
            e.sample(
                &fam,
                &[("hub", &l.name), ("account", &l.account), ("cid", &cid)],
                pick(l),
            );
        }
    }
}

/// Per route (labelled by the peer's server id and name): whether it is up, its round trip, the
/// peer's interest and the traffic.
fn routes(e: &mut Exposition, snaps: &[crate::bus::ShardSnapshot]) {
    let mut routes: Vec<_> = snaps.iter().flat_map(|s| s.routes.iter()).collect();
    routes.sort_by_key(|r| r.cid);
    e.single(
        "corenats_routes",
        "gauge",
        "Routes up (one per server of the cluster this server is connected to).",
        routes.len() as f64,
    );
    type PickRoute = fn(&crate::bus::snapshot::RouteFigures) -> f64;
    let per_route: [(&str, &str, &str, PickRoute); 6] = [
        ("rtt_seconds", "gauge", "Round trip to the peer.", |r| {
            r.rtt_ns as f64 / 1e9
        }),
        (
            "subscriptions",
            "gauge",
            "The peer's interest (subscriptions the route holds).",
            |r| r.subscriptions as f64,
        ),
        ("in_msgs_total", "counter", "Messages from the peer.", |r| {
            r.in_msgs as f64
        }),
        (
            "in_bytes_total",
            "counter",
            "Payload bytes from the peer.",
            |r| r.in_bytes as f64,
        ),
        ("out_msgs_total", "counter", "Messages to the peer.", |r| {
            r.out_msgs as f64
        }),
        (
            "out_bytes_total",
            "counter",
            "Payload bytes to the peer.",
            |r| r.out_bytes as f64,
        ),
    ];
    for (name, kind, help, pick) in per_route {
        let fam = format!("corenats_route_{name}");
        e.family(&fam, kind, help);
        for r in &routes {
            e.sample(
                &fam,
                &[("remote_id", &r.remote_id), ("remote_name", &r.remote_name)],
                pick(r),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_formats() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(fmt_value(3.0), "3");
        assert_eq!(fmt_value(0.25), "0.25");
        assert_eq!(fmt_value(f64::NAN), "NaN");
        assert_eq!(fmt_value(f64::INFINITY), "+Inf");
        let mut e = Exposition::default();
        e.family("x_total", "counter", "An x.");
        e.sample("x_total", &[("account", "A\"1"), ("kind", "p")], 5.0);
        assert_eq!(
            e.out,
            "# HELP x_total An x.\n# TYPE x_total counter\nx_total{account=\"A\\\"1\",kind=\"p\"} 5\n"
        );
    }
}
