//! The shard's service-import response mappings: reply token → where the response goes.
//!
//! A request that crosses a service import gets the reply subject `_R_.<shard prefix>.<token>`; the
//! mapping remembers the requester's account and original reply until the response arrives or the
//! export's threshold passes. One tenant must not be able to crowd out another's mappings, so each
//! account whose requests created mappings (the *importer*) has its own bound on this shard, in entries
//! and in bytes ([`MAX_PER_ACCOUNT`], [`MAX_BYTES_PER_ACCOUNT`]). An account at its bound loses its own
//! oldest mapping (that request's response is then dropped), never another account's.
//!
//! nats-server keeps these maps per exporting account without a bound (only the threshold ends them).

use crate::auth::AccountId;
use crate::config::ResponseType;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Mappings one importing account may hold on one shard.
pub const MAX_PER_ACCOUNT: usize = 65_536;
/// Bytes of mappings (reply subjects plus a fixed cost per entry) one importing account may hold on
/// one shard.
pub const MAX_BYTES_PER_ACCOUNT: usize = 16 << 20;
/// What one mapping costs beyond its reply subject (the route, the token in two tables).
const ENTRY_COST: usize = 96;

/// Where a response to a service-import request goes.
pub struct ResponseRoute {
    /// The account the response must be published in: only a publish there on the token's subject
    /// is a response (another account reaching the same internal subscription is not).
    pub exporter: AccountId,
    pub importer: AccountId,
    /// The requester's original reply subject.
    pub reply: Bytes,
    pub kind: ResponseType,
    /// Streamed and chunked responses keep the mapping alive this long after each response.
    pub threshold: Duration,
    pub expires: Instant,
}

impl ResponseRoute {
    fn cost(&self) -> usize {
        ENTRY_COST + self.reply.len()
    }
}

/// One importing account's mappings on this shard, oldest first.
#[derive(Default)]
struct Share {
    /// Tokens in the order they were created. May still hold tokens whose mapping is gone already
    /// (answered, expired); they are skipped when reached. Bound: `MAX_PER_ACCOUNT`.
    order: VecDeque<u64>,
    /// Cost of the live mappings. Bound: `MAX_BYTES_PER_ACCOUNT`.
    bytes: usize,
}

/// Per-shard service-import state. Runs on: its shard.
pub struct ServiceReplies {
    /// `_R_.xxxxxx` — unique per shard and process.
    prefix: String,
    /// token → route.
    routes: HashMap<u64, ResponseRoute>,
    /// Per importing account: its share of `routes`.
    shares: HashMap<AccountId, Share>,
    /// Accounts (exporters) where this shard's `_R_.<prefix>.>` subscription is installed.
    installed: Vec<AccountId>,
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Reply tokens are `REPLY_TOKEN_LEN` base62 characters, as nats-server's (`_R_.xxxxxx.yyyyyy`).
const REPLY_TOKEN_LEN: usize = 6;
/// 62^6: the number of distinct reply tokens.
const REPLY_TOKEN_SPACE: u64 = 62 * 62 * 62 * 62 * 62 * 62;

fn base62(mut n: u64, out: &mut Vec<u8>) {
    let start = out.len();
    loop {
        out.push(BASE62[(n % 62) as usize]);
        n /= 62;
        if n == 0 {
            break;
        }
    }
    out[start..].reverse();
}

fn parse_base62(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 11 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        let d = BASE62.iter().position(|&c| c == b)? as u64;
        n = n.checked_mul(62)?.checked_add(d)?;
    }
    Some(n)
}

impl ServiceReplies {
    pub fn new(shard: u16) -> ServiceReplies {
        let mut p = Vec::with_capacity(10);
        p.extend_from_slice(b"_R_.");
        for _ in 0..4 {
            p.push(BASE62[rand::random_range(0..62)]);
        }
        // Two characters name the shard, so prefixes never collide between shards of one process.
        p.push(BASE62[(shard as usize / 62) % 62]);
        p.push(BASE62[shard as usize % 62]);
        ServiceReplies {
            prefix: String::from_utf8_lossy(&p).into_owned(),
            routes: HashMap::new(),
            shares: HashMap::new(),
            installed: Vec::new(),
        }
    }

    /// `_R_.xxxxxx`: the prefix of every reply subject this shard hands out.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Records that the internal subscription is installed in `exporter`; false if it already was.
    pub fn install(&mut self, exporter: AccountId) -> bool {
        if self.installed.contains(&exporter) {
            return false;
        }
        self.installed.push(exporter);
        true
    }

    /// Adds a mapping and returns its reply subject (`_R_.<prefix>.<token>`). At its account's bound,
    /// the account's oldest mappings make room.
    pub fn insert(&mut self, route: ResponseRoute) -> Vec<u8> {
        // A random token (not a counter): other clients of the exporting account must not be able to
        // guess a pending request's reply subject and answer in the responder's place.
        let token = loop {
            let t = rand::random_range(0..REPLY_TOKEN_SPACE);
            if !self.routes.contains_key(&t) {
                break t;
            }
        };
        let importer = route.importer;
        let cost = route.cost();
        let share = self.shares.entry(importer).or_default();
        while share.order.len() >= MAX_PER_ACCOUNT
            || (share.bytes + cost > MAX_BYTES_PER_ACCOUNT && !share.order.is_empty())
        {
            let Some(old) = share.order.pop_front() else {
                break;
            };
            if let Some(r) = self.routes.remove(&old) {
                share.bytes = share.bytes.saturating_sub(r.cost());
            }
        }
        share.order.push_back(token);
        share.bytes += cost;
        self.routes.insert(token, route);
        let mut out = self.prefix.clone().into_bytes();
        out.push(b'.');
        let start = out.len();
        base62(token, &mut out);
        while out.len() - start < REPLY_TOKEN_LEN {
            out.insert(start, b'0');
        }
        out
    }

    /// The token a reply subject names, if it is one of this shard's.
    pub fn token_of(&self, subject: &[u8]) -> Option<u64> {
        let rest = subject.strip_prefix(self.prefix.as_bytes())?;
        parse_base62(rest.strip_prefix(b".")?)
    }

    pub fn get_mut(&mut self, token: u64) -> Option<&mut ResponseRoute> {
        self.routes.get_mut(&token)
    }

    /// Ends a mapping (answered, or expired).
    pub fn remove(&mut self, token: u64) {
        if let Some(r) = self.routes.remove(&token) {
            if let Some(share) = self.shares.get_mut(&r.importer) {
                share.bytes = share.bytes.saturating_sub(r.cost());
            }
        }
    }

    /// Drops expired mappings from the front of each account's order, and tokens already gone;
    /// stops at each account's first live, unexpired one (a mapping kept alive by streamed responses
    /// holds later ones until it expires; they expire when reached, or are checked when a response
    /// arrives). Cost: what it removes, plus one look per account.
    pub fn expire(&mut self, now: Instant) {
        let routes = &mut self.routes;
        self.shares.retain(|_, share| {
            while let Some(&t) = share.order.front() {
                match routes.get(&t) {
                    Some(r) if r.expires > now => break,
                    Some(r) => {
                        share.bytes = share.bytes.saturating_sub(r.cost());
                        routes.remove(&t);
                    }
                    None => {}
                }
                share.order.pop_front();
            }
            !share.order.is_empty()
        });
    }

    /// Live mappings.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.routes.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Live mappings created by `importer`'s requests.
    #[cfg(test)]
    fn len_of(&self, importer: AccountId) -> usize {
        self.shares.get(&importer).map_or(0, |s| {
            s.order
                .iter()
                .filter(|t| self.routes.contains_key(t))
                .count()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(importer: AccountId, reply: &str, now: Instant) -> ResponseRoute {
        ResponseRoute {
            exporter: 9,
            importer,
            reply: Bytes::copy_from_slice(reply.as_bytes()),
            kind: ResponseType::Singleton,
            threshold: Duration::from_secs(120),
            expires: now + Duration::from_secs(120),
        }
    }

    #[test]
    fn base62_round_trip() {
        for n in [0u64, 1, 61, 62, 12345, u32::MAX as u64, u64::MAX / 2] {
            let mut v = Vec::new();
            base62(n, &mut v);
            assert_eq!(parse_base62(&v), Some(n));
        }
        assert_eq!(parse_base62(b""), None);
        assert_eq!(parse_base62(b"a.b"), None);
    }

    #[test]
    fn prefixes_differ_per_shard() {
        let a = ServiceReplies::new(0);
        let b = ServiceReplies::new(1);
        assert_eq!(a.prefix().len(), 10);
        assert_ne!(a.prefix()[8..], b.prefix()[8..]);
    }

    #[test]
    fn reply_subjects_name_their_token() {
        let now = Instant::now();
        let mut s = ServiceReplies::new(0);
        let subj = s.insert(route(1, "_INBOX.a", now));
        let t = s.token_of(&subj).unwrap();
        assert_eq!(&s.get_mut(t).unwrap().reply[..], b"_INBOX.a");
        s.remove(t);
        assert!(s.get_mut(t).is_none() && s.is_empty());
        assert_eq!(s.token_of(b"_R_.other.abc"), None);
    }

    #[test]
    fn one_account_at_its_bound_evicts_only_its_own_oldest() {
        let now = Instant::now();
        let mut s = ServiceReplies::new(0);
        let b_subj = s.insert(route(2, "_INBOX.b", now));
        let first_a = s.insert(route(1, "_INBOX.a0", now));
        for i in 1..MAX_PER_ACCOUNT + 10 {
            s.insert(route(1, &format!("_INBOX.a{i}"), now));
        }
        assert_eq!(s.len_of(1), MAX_PER_ACCOUNT);
        assert_eq!(s.len_of(2), 1);
        // A's oldest went; B's survived.
        assert!(s.token_of(&first_a).and_then(|t| s.get_mut(t)).is_none());
        let tb = s.token_of(&b_subj).unwrap();
        assert_eq!(&s.get_mut(tb).unwrap().reply[..], b"_INBOX.b");
    }

    #[test]
    fn bytes_are_bounded_too() {
        let now = Instant::now();
        let mut s = ServiceReplies::new(0);
        let long = "x".repeat(64 * 1024);
        for _ in 0..1000 {
            s.insert(route(1, &long, now));
        }
        let per = ENTRY_COST + long.len();
        assert_eq!(s.len_of(1), MAX_BYTES_PER_ACCOUNT / per);
    }

    #[test]
    fn expiry_from_the_front() {
        let now = Instant::now();
        let mut s = ServiceReplies::new(0);
        let mut r = route(1, "_INBOX.old", now);
        r.expires = now + Duration::from_secs(1);
        s.insert(r);
        let keep = s.insert(route(1, "_INBOX.new", now));
        let answered = s.insert(route(3, "_INBOX.c", now));
        s.remove(s.token_of(&answered).unwrap());
        s.expire(now + Duration::from_secs(5));
        assert_eq!(s.len(), 1);
        assert!(s.get_mut(s.token_of(&keep).unwrap()).is_some());
        // The emptied account's share is gone.
        assert_eq!(s.shares.len(), 1);
    }
}
