//! Crossing accounts inside one publish: subject mappings, stream exports and service imports.
//!
//! `publish_in` wraps `match_and_deliver` for accounts that have any of these (a per-account flag keeps the common
//! case at one branch). Stream exports re-route the message into each importing account under the
//! transformed subject. A service import maps the request into the exporting account with its reply
//! rewritten to `_R_.<shard prefix>.<token>`; this shard keeps the token → (importer, original reply)
//! mapping (`service_replies.rs`, bounded per importing account) and an internal subscription on `_R_.<prefix>.>` in the exporter, announced to the other shards
//! like any interest, so the response comes back here wherever the responder is, and is delivered to the
//! requester's original reply subject in the importing account.

use super::conn::SubRef;
use super::service_replies::ResponseRoute;
use super::{ConnKey, Shard};
use crate::auth::{AccountId, Auth};
use crate::bus::MsgRef;
use crate::config::ResponseType;
use bytes::Bytes;
use std::time::{Duration, Instant};

/// `SubRef::conn` value of the shard's internal service-reply subscription.
pub const INTERNAL_CONN: u32 = u32::MAX;

/// Service imports a request may cross in a row (chained services); deeper hops are dropped.
const MAX_IMPORT_DEPTH: u8 = 8;

/// Whether an account needs the slow path (mappings, stream exports or service imports).
pub fn account_flags(auth: &Auth) -> Vec<bool> {
    auth.accounts
        .iter()
        .map(|a| {
            !a.mapping_list.is_empty()
                || !a.stream_route_list.is_empty()
                || !a.service_import_list.is_empty()
        })
        .collect()
}

impl Shard {
    /// Publishes in `acc`, following mappings, stream exports and service imports.
    pub fn publish_in(&mut self, src: Option<ConnKey>, acc: AccountId, msg: MsgRef<'_>) -> bool {
        self.publish_at(src, acc, msg, 0)
    }

    /// [`Shard::publish_in`] `depth` service imports away from the original publish. A request that
    /// arrives in an exporting account is published there like any message (its mappings apply, and
    /// its own service imports are followed: chained services), up to `MAX_IMPORT_DEPTH` hops.
    fn publish_at(
        &mut self,
        src: Option<ConnKey>,
        acc: AccountId,
        msg: MsgRef<'_>,
        depth: u8,
    ) -> bool {
        let mut mapped = Vec::new();
        let msg = msg.with_subject(self.map_subject(acc, msg.subject, &mut mapped));
        self.publish_mapped(src, acc, msg, depth)
    }

    /// The subject a publish to `subj` in account `acc` goes to after the account's mappings (one
    /// weighted destination drawn per call); `subj` itself when none applies. `buf` holds a mapped
    /// subject. Permissions are checked on the result, as nats-server checks them.
    pub fn map_subject<'a>(
        &mut self,
        acc: AccountId,
        subj: &'a [u8],
        buf: &'a mut Vec<u8>,
    ) -> &'a [u8] {
        if !self
            .account_flags
            .get(acc as usize)
            .copied()
            .unwrap_or(false)
        {
            return subj;
        }
        let auth = self.auth.clone();
        let Some(m) = auth
            .accounts
            .get(acc as usize)
            .and_then(|a| a.mapping_for(subj))
        else {
            return subj;
        };
        let roll = self.fanout.as_mut().map_or(0, |f| f.pick(100)) as u8;
        match m.pick(roll) {
            Some(t) if t.apply(subj, buf) => &buf[..],
            _ => subj,
        }
    }

    /// [`Shard::publish_at`] for a subject the account's mappings were already applied to.
    pub(crate) fn publish_mapped(
        &mut self,
        src: Option<ConnKey>,
        acc: AccountId,
        msg: MsgRef<'_>,
        depth: u8,
    ) -> bool {
        if !self
            .account_flags
            .get(acc as usize)
            .copied()
            .unwrap_or(false)
        {
            return self.match_and_deliver(src, acc, msg);
        }
        let auth = self.auth.clone();
        let Some(a) = auth.accounts.get(acc as usize) else {
            return self.match_and_deliver(src, acc, msg);
        };
        let mut reached = self.match_and_deliver(src, acc, msg);
        // Deliveries into other accounts carry no echo source, but the publisher's next PONG must still
        // wait for the shards they went to (an inner hop keeps the outer publisher).
        let outer = self.barrier_for;
        if src.is_some() {
            self.barrier_for = src;
        }
        reached |= self.import_streams(a, msg);
        if depth < MAX_IMPORT_DEPTH {
            for si in a.service_imports_for(msg.subject) {
                let mut s = Vec::new();
                if !si.transform.apply(msg.subject, &mut s) {
                    continue;
                }
                let new_reply = match msg.reply {
                    Some(r) => {
                        self.register_response(acc, r, si.exporter, si.response_type, si.threshold)
                    }
                    None => None,
                };
                // A chained hop keeps the header the first hop added (it names the requester).
                let info = request_info_headers(msg.headers, &a.name, depth > 0);
                let request = MsgRef {
                    subject: &s,
                    reply: new_reply.as_deref(),
                    headers: Some(&info),
                    payload: msg.payload,
                };
                reached |= self.publish_at(None, si.exporter, request, depth + 1);
            }
        }
        self.barrier_for = outer;
        reached
    }

    /// Delivers `msg`, published in exporter `a`, to the accounts that import it as a stream. These
    /// deliveries never reach routes: a peer gets the exporter's message and imports it itself.
    pub(crate) fn import_streams(&mut self, a: &crate::auth::Account, msg: MsgRef<'_>) -> bool {
        let mut reached = false;
        let outer = std::mem::replace(&mut self.leaf.import_hop, true);
        for r in a.stream_routes_for(msg.subject) {
            let mut s = Vec::new();
            if r.transform.apply(msg.subject, &mut s) {
                reached |= self.match_and_deliver(None, r.importer, msg.with_subject(&s));
            }
        }
        self.leaf.import_hop = outer;
        reached
    }

    /// Records a response mapping and returns the rewritten reply subject. Each importing account
    /// has its own bound (`service_replies.rs`): at it, its own oldest mappings make room.
    fn register_response(
        &mut self,
        importer: AccountId,
        reply: &[u8],
        exporter: AccountId,
        kind: ResponseType,
        threshold: Duration,
    ) -> Option<Vec<u8>> {
        if self.replies.install(exporter) {
            let mut pattern = self.replies.prefix().as_bytes().to_vec();
            pattern.extend_from_slice(b".>");
            // The internal subscription names its account, so a response is checked against the
            // account it was published in.
            let r = SubRef {
                conn: INTERNAL_CONN,
                sub: exporter,
            };
            let _ = self.tables(exporter).local.insert(&pattern, None, r);
            self.add_interest(exporter, &pattern, None);
            // A leaf hub bound to the exporter may hold the responder: it must route the response
            // back here (other shards' installs reach shard 0 as `Interest`).
            self.leaf_interest(exporter, &pattern, None, true);
        }
        let threshold = if threshold.is_zero() {
            Duration::from_secs(120)
        } else {
            threshold
        };
        Some(self.replies.insert(ResponseRoute {
            exporter,
            importer,
            reply: Bytes::copy_from_slice(reply),
            kind,
            threshold,
            expires: Instant::now() + threshold,
        }))
    }

    /// A response published in account `published_in` on `_R_.<prefix>.<token>` (on any shard)
    /// reached this shard's internal subscription there: deliver it to the requester's original reply
    /// in the importing account. A response with a reply subject of its own gets a mapping the other
    /// way, so the requester can answer it (nats-server does the same).
    pub fn on_service_reply(&mut self, published_in: AccountId, msg: MsgRef<'_>) -> bool {
        let Some(token) = self.replies.token_of(msg.subject) else {
            return false;
        };
        let now = Instant::now();
        let Some(route) = self.replies.get_mut(token) else {
            return false;
        };
        if route.exporter != published_in {
            return false;
        }
        if route.expires <= now {
            self.replies.remove(token);
            return false;
        }
        // The threshold runs from the latest response of a streamed or chunked reply.
        route.expires = now + route.threshold;
        let (importer, reply_to, kind) = (route.importer, route.reply.clone(), route.kind);
        let ends =
            kind == ResponseType::Singleton || (msg.payload.is_empty() && msg.headers.is_none());
        if ends {
            self.replies.remove(token);
        }
        let back = match msg.reply {
            Some(r) => self.register_response(
                published_in,
                r,
                importer,
                ResponseType::Singleton,
                Duration::ZERO,
            ),
            None => None,
        };
        // Published in the importer like any message: its mappings apply, and a reply subject that
        // is itself a service import is followed.
        let response = MsgRef {
            subject: &reply_to,
            reply: back.as_deref(),
            ..msg
        };
        self.publish_in(None, importer, response)
    }

    /// Drops expired response mappings (housekeeping tick).
    pub fn expire_responses(&mut self, now: Instant) {
        self.replies.expire(now);
    }
}

/// The request's header block with `Nats-Request-Info: {"acc":"<importer>"}` added, as nats-server adds it
/// to every service-import request (a plain PUB becomes a header message).
fn request_info_headers(headers: Option<&[u8]>, importer: &str, chained: bool) -> Vec<u8> {
    if let Some(h) = headers.filter(|h| chained && has_request_info(h)) {
        return h.to_vec();
    }
    let base: &[u8] = match headers {
        // Drop the block's final empty line; the new header goes before it.
        Some(h) if h.len() >= 4 && h.ends_with(b"\r\n\r\n") => &h[..h.len() - 2],
        Some(h) if !h.is_empty() => h,
        _ => b"NATS/1.0\r\n",
    };
    let acc = serde_json::to_string(importer).unwrap_or_else(|_| "\"\"".to_string());
    let mut out = Vec::with_capacity(base.len() + acc.len() + 40);
    // A `Nats-Request-Info` the requester wrote itself is dropped: the exporter must be able to
    // trust the account named there.
    let mut lines = base.split_inclusive(|b| *b == b'\n');
    if let Some(status) = lines.next() {
        out.extend_from_slice(status);
    }
    for line in lines {
        if !is_request_info(line) {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"Nats-Request-Info: {\"acc\":");
    out.extend_from_slice(acc.as_bytes());
    out.extend_from_slice(b"}\r\n\r\n");
    out
}

/// The header nats-server adds to service-import requests (matched case-insensitively).
const REQUEST_INFO: &[u8] = b"nats-request-info:";

/// True when a header block has a `Nats-Request-Info` line.
fn has_request_info(h: &[u8]) -> bool {
    h.split(|b| *b == b'\n').any(is_request_info)
}

/// True for a `Nats-Request-Info:` header line (any case).
fn is_request_info(line: &[u8]) -> bool {
    line.get(..REQUEST_INFO.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(REQUEST_INFO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_info_header_is_added() {
        assert_eq!(
            request_info_headers(None, "B", false),
            b"NATS/1.0\r\nNats-Request-Info: {\"acc\":\"B\"}\r\n\r\n".to_vec()
        );
        assert_eq!(
            request_info_headers(Some(b"NATS/1.0\r\nX: y\r\n\r\n"), "acc:b", false),
            b"NATS/1.0\r\nX: y\r\nNats-Request-Info: {\"acc\":\"acc:b\"}\r\n\r\n".to_vec()
        );
        // One the requester wrote is replaced, whatever its case.
        assert_eq!(
            request_info_headers(
                Some(b"NATS/1.0\r\nnats-request-info: {\"acc\":\"X\"}\r\nX-A: 1\r\n\r\n"),
                "B",
                false
            ),
            b"NATS/1.0\r\nX-A: 1\r\nNats-Request-Info: {\"acc\":\"B\"}\r\n\r\n".to_vec()
        );
    }
}
