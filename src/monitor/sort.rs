//! `/connz?sort=`: the sort options of nats-server and their orders, and nats-server's texts for close
//! reasons. Pure; used both by each shard (to select its best `offset + limit`) and by the HTTP side
//! (to merge the shards' lists). Ties are broken by ascending cid so pages are stable.

use crate::shard::conn::CloseReason;
use crate::shard::snapshot::{ConnFigures, SubFigures};
use std::cmp::Ordering;

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

/// nats-server's text for a close reason (`ClosedState.String()`); "" for an open connection.
pub fn reason_text(r: Option<CloseReason>) -> &'static str {
    let Some(r) = r else {
        return "";
    };
    match r {
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
        // nats-server closes lame-duck clients with its ServerShutdown state.
        CloseReason::ServerShutdown | CloseReason::LameDuck => "Server Shutdown",
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
}
