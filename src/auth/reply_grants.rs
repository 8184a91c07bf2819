//! [`ReplyGrants`]: a connection's temporary publish rights on reply subjects (`allow_responses`).
//!
//! Each message *delivered* to the connection with a reply subject grants the right to publish to that reply
//! ([`ReplyGrants::grant`]); a publish that the rules deny is then let through if a live grant exists
//! ([`ReplyGrants::consume`]), at most `max` times and within `expires`.
//!
//! Runs on: the shard that owns the connection.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::permissions::ResponsePerm;

/// Most live grants per connection (nats-server prunes past 10,000 too).
pub const MAX_REPLY_GRANTS: usize = 10_000;

/// One granted reply subject.
#[derive(Debug, Clone, Copy)]
struct Grant {
    /// When the request carrying this reply was delivered (a re-delivery restarts it).
    at: Instant,
    /// Replies already published on it.
    used: u32,
}

/// Per-connection reply grants.
///
/// Bound: at most [`MAX_REPLY_GRANTS`] entries. A grant at a full map first drops expired and used-up
/// grants; if that frees less than a quarter of the room, the oldest quarter is dropped too (one sweep
/// buys room for many grants, so the O(n) sweep is amortised). A grant is removed as soon as it is used up.
#[derive(Debug)]
pub struct ReplyGrants {
    /// Reply subject → grant.
    grants: HashMap<Box<[u8]>, Grant>,
    /// Replies allowed per grant; `None` = unlimited.
    max: Option<u32>,
    /// Grant lifetime; `None` = no expiry.
    expires: Option<Duration>,
}

impl ReplyGrants {
    /// Empty grants under the given limits.
    pub fn new(perm: &ResponsePerm) -> Self {
        ReplyGrants {
            grants: HashMap::new(),
            max: perm.max,
            expires: perm.expires,
        }
    }

    /// Applies new limits (config reload); existing grants are kept.
    pub fn set_limits(&mut self, perm: &ResponsePerm) {
        self.max = perm.max;
        self.expires = perm.expires;
    }

    /// Records that a message with reply subject `reply` was delivered at `now`.
    pub fn grant(&mut self, reply: &[u8], now: Instant) {
        if let Some(g) = self.grants.get_mut(reply) {
            *g = Grant { at: now, used: 0 };
            return;
        }
        if self.grants.len() >= MAX_REPLY_GRANTS {
            self.prune(now);
        }
        self.grants.insert(reply.into(), Grant { at: now, used: 0 });
    }

    /// True if a publish to `subject` at `now` is allowed by a live grant; uses one reply of it.
    pub fn consume(&mut self, subject: &[u8], now: Instant) -> bool {
        let Some(g) = self.grants.get_mut(subject) else {
            return false;
        };
        if self
            .expires
            .is_some_and(|e| now.saturating_duration_since(g.at) > e)
        {
            self.grants.remove(subject);
            return false;
        }
        g.used += 1;
        if self.max.is_some_and(|m| g.used >= m) {
            self.grants.remove(subject);
        }
        true
    }

    /// Number of live grants.
    pub fn len(&self) -> usize {
        self.grants.len()
    }

    /// True if there are no grants.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// Drops expired grants, then, if still too full, the oldest quarter.
    fn prune(&mut self, now: Instant) {
        if let Some(e) = self.expires {
            self.grants
                .retain(|_, g| now.saturating_duration_since(g.at) <= e);
        }
        let target = MAX_REPLY_GRANTS - MAX_REPLY_GRANTS / 4;
        if self.grants.len() <= target {
            return;
        }
        let mut ages: Vec<Instant> = self.grants.values().map(|g| g.at).collect();
        let drop = self.grants.len() - target;
        let (_, cutoff, _) = ages.select_nth_unstable(drop - 1);
        let cutoff = *cutoff;
        let mut dropped = 0;
        self.grants.retain(|_, g| {
            if dropped < drop && g.at <= cutoff {
                dropped += 1;
                false
            } else {
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(max: Option<u32>, secs: Option<u64>) -> ResponsePerm {
        ResponsePerm {
            max,
            expires: secs.map(Duration::from_secs),
        }
    }

    #[test]
    fn max_replies() {
        // max 2: the third reply is denied.
        let mut g = ReplyGrants::new(&perm(Some(2), Some(5)));
        let t = Instant::now();
        assert!(!g.consume(b"_INBOX.1", t));
        g.grant(b"_INBOX.1", t);
        assert!(g.consume(b"_INBOX.1", t));
        assert!(g.consume(b"_INBOX.1", t));
        assert!(!g.consume(b"_INBOX.1", t));
        assert!(g.is_empty());
    }

    #[test]
    fn expiry() {
        let mut g = ReplyGrants::new(&perm(Some(1), Some(5)));
        let t = Instant::now();
        g.grant(b"r", t);
        assert!(!g.consume(b"r", t + Duration::from_secs(6)));
        g.grant(b"r", t);
        assert!(g.consume(b"r", t + Duration::from_secs(5)));
    }

    #[test]
    fn unlimited() {
        let mut g = ReplyGrants::new(&perm(None, None));
        let t = Instant::now();
        g.grant(b"r", t);
        for i in 0..100 {
            assert!(g.consume(b"r", t + Duration::from_secs(i * 1000)));
        }
    }

    #[test]
    fn regrant_resets() {
        let mut g = ReplyGrants::new(&perm(Some(1), None));
        let t = Instant::now();
        g.grant(b"r", t);
        assert!(g.consume(b"r", t));
        assert!(!g.consume(b"r", t));
        g.grant(b"r", t);
        assert!(g.consume(b"r", t));
    }

    #[test]
    fn bounded() {
        let mut g = ReplyGrants::new(&perm(None, None));
        let t = Instant::now();
        for i in 0..(MAX_REPLY_GRANTS as u64 * 3) {
            g.grant(format!("r.{i}").as_bytes(), t + Duration::from_millis(i));
            assert!(g.len() <= MAX_REPLY_GRANTS);
        }
        // The newest grants survive.
        let last = MAX_REPLY_GRANTS * 3 - 1;
        assert!(g.consume(format!("r.{last}").as_bytes(), t));
        assert!(!g.consume(b"r.0", t));
    }

    #[test]
    fn prune_drops_expired_first() {
        let mut g = ReplyGrants::new(&perm(None, Some(1)));
        let t = Instant::now();
        for i in 0..MAX_REPLY_GRANTS {
            g.grant(format!("old.{i}").as_bytes(), t);
        }
        let later = t + Duration::from_secs(10);
        g.grant(b"new", later);
        assert_eq!(g.len(), 1);
        assert!(g.consume(b"new", later));
    }
}
