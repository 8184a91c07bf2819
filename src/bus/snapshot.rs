//! The monitor ↔ shard snapshot contract: what the HTTP side asks every shard for
//! (`Control::Snapshot` carrying a [`SnapshotRequest`]) and what each shard answers (a
//! [`ShardSnapshot`] that owns all its data). These types cross threads; the shard fills a snapshot
//! (`src/shard/snapshot.rs`), the monitor merges and renders them (`src/monitor/`). Also the orders
//! both sides apply (`/connz` sort options, `/subsz` order), the close reasons with nats-server's
//! texts, and the clock conversion every figure's timestamps use.

use crate::auth::Auth;
use crate::bus::ShardId;
use crate::settings::Settings;
use crate::subject::SublistStats;
use std::cmp::Ordering;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Sent to every shard inside `Control::Snapshot`; each shard answers with its own figures.
pub struct SnapshotRequest {
    pub reply: crossbeam_channel::Sender<ShardSnapshot>,
    pub want: Want,
}

/// What an endpoint needs from the shards beyond the totals every snapshot carries.
#[derive(Debug, Clone, Default)]
pub struct Want {
    /// Per-account figures (counters, connections, subscription counts).
    pub accounts: bool,
    /// With `accounts`: also `Sublist::stats()` of each account's local table.
    pub sublist: bool,
    /// A connection list (`/connz`).
    pub conns: Option<ConnQuery>,
    /// A subscription list (`/subsz?subs=1`).
    pub subs: Option<SubsQuery>,
    /// The leaf-node links (`/leafz`); with `true`, each link's subscriptions too.
    pub leafs: Option<bool>,
    /// The routes and the cluster's state (`/routez`, `/varz`, `/metrics`; only shard 0 has any),
    /// with each route's subscriptions as subjects (`List`) or records (`Detail`).
    pub routes: Option<SubsMode>,
}

/// Subscriptions in a connection list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubsMode {
    #[default]
    None,
    /// `subs=1`: subjects only.
    List,
    /// `subs=detail`: full objects.
    Detail,
}

/// The filters of `/connz`, applied by each shard.
#[derive(Debug, Clone, Default)]
pub struct ConnQuery {
    pub open: bool,
    pub closed: bool,
    pub cid: Option<u64>,
    /// Account name.
    pub account: Option<String>,
    /// Authorized user.
    pub user: Option<String>,
    pub subs: SubsMode,
    /// `auth=1`: also the client certificates (`tls_peer_certs`).
    pub auth: bool,
    pub sort: SortBy,
    /// Each shard returns at most this many (offset + limit), best first by `sort`.
    pub keep: usize,
}

/// The filters of `/subsz?subs=1`, applied by each shard.
///
/// The list is ordered by (cid, sid) and built in two steps, so that no shard ever builds a record it
/// does not need, whatever `offset` is: first every shard counts the matching subscriptions of each of
/// its connections ([`SubsQuery::windows`] `None`, answered in `ShardSnapshot::sub_counts`); the monitor
/// then places the page over those counts in cid order and asks only the shards that hold a part of it
/// for exactly the subscriptions in it (`Some`, answered in `ShardSnapshot::sub_list`).
#[derive(Debug, Clone, Default)]
pub struct SubsQuery {
    pub account: Option<String>,
    /// A literal subject: only subscriptions that would receive it.
    pub test: Option<String>,
    /// The second step: which subscriptions of which connections to list.
    pub windows: Option<Vec<SubWindow>>,
}

/// One connection's part of a `/subsz` page: its matching subscriptions ranked by sid, ranks
/// `skip .. skip + take`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubWindow {
    pub shard: ShardId,
    /// The connection's slot on that shard, and its cid (checked: the slot may have been reused).
    pub conn: usize,
    pub cid: u64,
    pub skip: usize,
    pub take: usize,
}

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
    /// TLS: the negotiated version and suite ("" on a plain connection), and whether the handshake
    /// came before the INFO.
    pub tls: crate::tls::session::SessionParams,
    pub tls_first: bool,
    /// The certificates the client presented, as `/connz?auth=1` shows them (open connections only,
    /// and only when asked for, as in nats-server).
    pub tls_peer_certs: Vec<crate::tls::identity::PeerCertInfo>,
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
    pub settings: Arc<Settings>,
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
    /// `/subsz?subs=1`, first step: per connection with at least one, how many subscriptions match.
    pub sub_counts: Vec<SubCount>,
    /// `/subsz?subs=1`, second step: the subscriptions of the windows asked for, by (cid, sid).
    pub sub_list: Vec<SubFigures>,
    /// The leaf-node links this shard owns (`Want::leafs`).
    pub leafs: Vec<LeafFigures>,
    /// The routes this shard owns (`Want::routes`; shard 0 only).
    pub routes: Vec<RouteFigures>,
    /// The cluster as shard 0 knows it (`Want::routes`, with a `cluster {}` block; None elsewhere).
    pub cluster: Option<ClusterFigures>,
    /// The leaf-node listener's real port (`Want::routes`, shard 0 with a leaf listener; else 0).
    pub leaf_port: u16,
}

/// One leaf-node link, as `/leafz` shows it.
#[derive(Debug, Clone, Default)]
pub struct LeafFigures {
    pub cid: u64,
    /// The peer's server name (our hub's, or the leaf node's attached to us).
    pub name: String,
    /// We dialled the peer (it is our hub): nats-server's `is_spoke` (we are the spoke).
    pub spoke: bool,
    pub account: String,
    pub ip: Option<std::net::IpAddr>,
    pub port: u16,
    pub rtt_ns: u64,
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
    /// The hub's interest (subscriptions the link holds).
    pub subscriptions: u32,
    /// Their subjects (`subs=1`), `subject[ queue]`.
    pub subs: Vec<String>,
}

/// One route, as `/routez` shows it. Times are Unix nanoseconds (wall clock).
#[derive(Debug, Clone, Default)]
pub struct RouteFigures {
    pub cid: u64,
    /// The peer's `server_id` and `server_name` (from its INFO).
    pub remote_id: String,
    pub remote_name: String,
    /// We dialled this route (`did_solicit`).
    pub solicited: bool,
    /// A configured route URL leads to the peer (`is_configured`).
    pub configured: bool,
    /// The other end of the TCP connection.
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub start_ns: u64,
    pub last_ns: u64,
    pub uptime_ns: u64,
    pub idle_ns: u64,
    pub rtt_ns: u64,
    pub pending_bytes: u64,
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
    /// The peer's interest (subscriptions the route holds, every account).
    pub subscriptions: u32,
    /// Those subscriptions when asked for (`Want::routes` not `SubsMode::None`); `sid` is the
    /// interest's key as nats-server shows it, `R <account> <subject>[ <queue>]`.
    pub subs: Vec<SubFigures>,
}

/// The cluster's state on shard 0 (what `/varz` shows that is not in the settings).
#[derive(Debug, Clone, Default)]
pub struct ClusterFigures {
    /// The cluster's name now (a made-up one may have yielded to a peer's).
    pub name: String,
    /// The route listener's port (the real one when a random port was asked for).
    pub port: u16,
    /// The client URLs clients are told (ours and every peer's; empty on a lone server).
    pub connect_urls: Vec<String>,
}

/// How many of one connection's subscriptions match a `/subsz` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubCount {
    pub conn: usize,
    pub cid: u64,
    pub matched: usize,
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

/// One `sort=` option. `Cid` and `Start` are ascending, `Uptime` and `Reason` ascending as in
/// nats-server; everything else is descending (largest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Cid,
    Start,
    Subs,
    Pending,
    MsgsTo,
    MsgsFrom,
    BytesTo,
    BytesFrom,
    Last,
    Idle,
    Uptime,
    Stop,
    Reason,
    Rtt,
}

impl SortBy {
    /// Parses a `sort=` value (empty = by cid). `None` for anything nats-server rejects.
    pub fn parse(s: &str) -> Option<SortBy> {
        Some(match s {
            "" | "cid" => SortBy::Cid,
            "start" => SortBy::Start,
            "subs" => SortBy::Subs,
            "pending" => SortBy::Pending,
            "msgs_to" => SortBy::MsgsTo,
            "msgs_from" => SortBy::MsgsFrom,
            "bytes_to" => SortBy::BytesTo,
            "bytes_from" => SortBy::BytesFrom,
            "last" => SortBy::Last,
            "idle" => SortBy::Idle,
            "uptime" => SortBy::Uptime,
            "stop" => SortBy::Stop,
            "reason" => SortBy::Reason,
            "rtt" => SortBy::Rtt,
            _ => return None,
        })
    }

    /// The order of two connections under this option (ties: ascending cid).
    pub fn compare(self, a: &ConnFigures, b: &ConnFigures) -> Ordering {
        let primary = match self {
            SortBy::Cid | SortBy::Start => Ordering::Equal,
            SortBy::Rtt => b.rtt_ns.cmp(&a.rtt_ns),
            SortBy::Subs => b.num_subs.cmp(&a.num_subs),
            SortBy::Pending => b.pending_bytes.cmp(&a.pending_bytes),
            SortBy::MsgsTo => b.out_msgs.cmp(&a.out_msgs),
            SortBy::MsgsFrom => b.in_msgs.cmp(&a.in_msgs),
            SortBy::BytesTo => b.out_bytes.cmp(&a.out_bytes),
            SortBy::BytesFrom => b.in_bytes.cmp(&a.in_bytes),
            SortBy::Last => b.last_ns.cmp(&a.last_ns),
            SortBy::Idle => b.idle_ns.cmp(&a.idle_ns),
            SortBy::Uptime => a.uptime_ns.cmp(&b.uptime_ns),
            SortBy::Stop => b.stop_ns.cmp(&a.stop_ns),
            SortBy::Reason => reason_text(a.reason).cmp(reason_text(b.reason)),
        };
        primary.then(a.cid.cmp(&b.cid))
    }

    /// `stop` and `reason` only make sense for closed connections.
    pub fn needs_closed(self) -> bool {
        matches!(self, SortBy::Stop | SortBy::Reason)
    }
}

/// Order of `/subsz` subscription lists: by cid, then sid ([`sid_order`]).
pub fn sub_order(a: &SubFigures, b: &SubFigures) -> Ordering {
    a.cid
        .cmp(&b.cid)
        .then_with(|| sid_order(a.sid.as_bytes(), b.sid.as_bytes()))
}

/// Order of one connection's sids: shorter first, then bytewise, so numeric sids (what clients use)
/// come in numeric order.
pub fn sid_order(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Why a connection was closed (for logs and, later, `/connz?state=closed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    ClientClosed,
    ReadError,
    WriteError,
    SlowConsumerPendingBytes,
    SlowConsumerWriteDeadline,
    ProtocolViolation,
    AuthenticationFailure,
    AuthenticationTimeout,
    StaleConnection,
    MaxConnectionsExceeded,
    MaxSubscriptionsExceeded,
    MaxPayloadExceeded,
    AuthenticationExpired,
    ServerShutdown,
    LameDuck,
    /// The TLS handshake failed or timed out.
    TlsHandshakeError,
    /// A newer link from the same leaf server and account replaced this one.
    DuplicateRemoteLeafnode,
}

impl CloseReason {
    /// nats-server's text for the reason (`ClosedState.String()`).
    pub fn text(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "Client Closed",
            CloseReason::ReadError => "Read Error",
            CloseReason::WriteError => "Write Error",
            CloseReason::SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
            CloseReason::SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            CloseReason::ProtocolViolation => "Protocol Violation",
            CloseReason::AuthenticationFailure => "Authentication Failure",
            CloseReason::AuthenticationTimeout => "Authentication Timeout",
            CloseReason::StaleConnection => "Stale Connection",
            CloseReason::MaxConnectionsExceeded => "Maximum Connections Exceeded",
            CloseReason::MaxSubscriptionsExceeded => "Maximum Subscriptions Exceeded",
            CloseReason::MaxPayloadExceeded => "Maximum Message Payload Exceeded",
            CloseReason::AuthenticationExpired => "Authentication Expired",
            CloseReason::TlsHandshakeError => "TLS Handshake Failure",
            // nats-server closes lame-duck clients with its ServerShutdown state.
            CloseReason::ServerShutdown | CloseReason::LameDuck => "Server Shutdown",
            CloseReason::DuplicateRemoteLeafnode => "Duplicate Remote LeafNode Connection",
        }
    }
}

/// [`CloseReason::text`], or "" for an open connection.
pub fn reason_text(r: Option<CloseReason>) -> &'static str {
    r.map_or("", CloseReason::text)
}

/// Per-shard, per-account counters. Plain integers: only the owning shard writes them.
#[derive(Default, Clone, Copy, Debug)]
pub struct AccountStats {
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
    pub slow_consumers: u64,
    pub pub_violations: u64,
    pub sub_violations: u64,
}

/// Per-shard counters (plain integers; the monitor asks the shard for them by message).
#[derive(Default, Clone, Copy, Debug)]
pub struct ShardStats {
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
    pub slow_consumers: u64,
    pub stale_connections: u64,
    pub total_connections: u64,
}

/// Nanoseconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64)
}

/// One simultaneous reading of both clocks, taken on first use: every monotonic instant is converted to
/// wall-clock time through it, so a connection's `start` reads the same in every snapshot.
fn anchor() -> (Instant, u64) {
    static ANCHOR: OnceLock<(Instant, u64)> = OnceLock::new();
    *ANCHOR.get_or_init(|| (Instant::now(), unix_now_ns()))
}

/// Unix nanoseconds of a monotonic instant (stable: the same instant always gives the same value).
pub fn wall_ns(t: Instant) -> u64 {
    let (ai, an) = anchor();
    match t.checked_duration_since(ai) {
        Some(d) => an.saturating_add(d.as_nanos() as u64),
        None => an.saturating_sub(ai.saturating_duration_since(t).as_nanos() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(cid: u64, subs: u32, out_msgs: u64, uptime: u64) -> ConnFigures {
        ConnFigures {
            cid,
            num_subs: subs,
            out_msgs,
            uptime_ns: uptime,
            ..ConnFigures::default()
        }
    }

    #[test]
    fn every_nats_option_parses_and_bad_ones_do_not() {
        for s in [
            "",
            "cid",
            "start",
            "subs",
            "pending",
            "msgs_to",
            "msgs_from",
            "bytes_to",
            "bytes_from",
            "last",
            "idle",
            "uptime",
            "stop",
            "reason",
            "rtt",
        ] {
            assert!(SortBy::parse(s).is_some(), "{s}");
        }
        assert_eq!(SortBy::parse("foo"), None);
        assert_eq!(SortBy::parse("CID"), None);
    }

    #[test]
    fn orders_follow_nats() {
        let mut v = [conn(3, 1, 10, 5), conn(1, 5, 0, 9), conn(2, 5, 30, 1)];
        v.sort_by(|a, b| SortBy::Subs.compare(a, b));
        assert_eq!(v.iter().map(|c| c.cid).collect::<Vec<_>>(), [1, 2, 3]);
        v.sort_by(|a, b| SortBy::MsgsTo.compare(a, b));
        assert_eq!(v.iter().map(|c| c.cid).collect::<Vec<_>>(), [2, 3, 1]);
        v.sort_by(|a, b| SortBy::Uptime.compare(a, b));
        assert_eq!(v.iter().map(|c| c.cid).collect::<Vec<_>>(), [2, 3, 1]);
        v.sort_by(|a, b| SortBy::Cid.compare(a, b));
        assert_eq!(v.iter().map(|c| c.cid).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn reasons_use_nats_texts() {
        assert_eq!(
            reason_text(Some(CloseReason::ClientClosed)),
            "Client Closed"
        );
        assert_eq!(
            reason_text(Some(CloseReason::SlowConsumerPendingBytes)),
            "Slow Consumer (Pending Bytes)"
        );
        assert_eq!(
            reason_text(Some(CloseReason::StaleConnection)),
            "Stale Connection"
        );
        assert_eq!(
            reason_text(Some(CloseReason::AuthenticationFailure)),
            "Authentication Failure"
        );
        assert_eq!(reason_text(None), "");
    }

    #[test]
    fn wall_clock_conversion_is_stable() {
        let t = Instant::now();
        let a = wall_ns(t);
        assert_eq!(wall_ns(t), a);
        let earlier = t - std::time::Duration::from_millis(1500);
        assert_eq!(a - wall_ns(earlier), 1_500_000_000);
        assert!(wall_ns(t + std::time::Duration::from_secs(1)) == a + 1_000_000_000);
        assert!(a.abs_diff(unix_now_ns()) < 5_000_000_000);
    }
}
