//! [`PubCache`]: a connection's bounded cache of publish verdicts, so the hot path is one hash lookup.
//!
//! Runs on: the shard that owns the connection (plain `&mut`, no sharing).

use hashbrown::HashTable;

use crate::subject::short_eq;

use super::permissions::Permissions;

/// Most subjects a cache holds (nats-server's `maxPermCacheSize`).
pub const PUB_CACHE_MAX: usize = 128;
/// Entries dropped when a new subject arrives at a full cache (nats-server's `pruneSize`).
pub const PUB_CACHE_PRUNE: usize = 32;

/// Per-connection publish verdicts.
///
/// Bound: at most [`PUB_CACHE_MAX`] (128) subjects. When full, [`PUB_CACHE_PRUNE`] (32) entries are dropped in
/// hash order, which is effectively random because the map's hasher is randomly seeded (nats-server also
/// prunes at random). Invalidation: every entry belongs to one compiled [`Permissions`]; when `check` is
/// called with a different one (reload, second CONNECT) the cache is cleared first, by comparing
/// generation numbers, never by hunting entries. Reply grants (`allow_responses`) are never cached: a
/// `false` here is followed by the engine's [`super::ReplyGrants::consume`] check.
pub struct PubCache {
    /// [`Permissions::generation`] the entries were computed against (0 = none yet).
    generation: u64,
    /// (subject, allowed). Keys are owned copies, made only on a miss. A raw table so the key comparison
    /// is inlined (subjects are short; a library `memcmp` call per lookup was ~9% of a shard's CPU for a
    /// permission-heavy user), with a fast seeded hash: subjects come from clients, and this runs on every
    /// message.
    map: HashTable<(Box<[u8]>, bool)>,
    hasher: ahash::RandomState,
}

impl std::fmt::Debug for PubCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubCache")
            .field("generation", &self.generation)
            .field("len", &self.map.len())
            .finish()
    }
}

impl Default for PubCache {
    fn default() -> Self {
        PubCache {
            generation: 0,
            map: HashTable::new(),
            hasher: ahash::RandomState::new(),
        }
    }
}

impl PubCache {
    /// An empty cache (allocates nothing until the first miss).
    pub fn new() -> Self {
        Self::default()
    }

    /// May this connection publish to `subject` under `perms`? A hit does not allocate; a miss runs
    /// [`Permissions::can_publish`] and stores the verdict. Unrestricted publish never touches the map.
    pub fn check(&mut self, perms: &Permissions, subject: &[u8]) -> bool {
        if perms.publish.is_none() {
            return true;
        }
        let generation = perms.generation();
        if self.generation != generation {
            self.map.clear();
            self.generation = generation;
        }
        let hash = self.hasher.hash_one(subject);
        if let Some((_, v)) = self.map.find(hash, |(k, _)| short_eq(k, subject)) {
            return *v;
        }
        let v = perms.can_publish(subject);
        if self.map.len() >= PUB_CACHE_MAX {
            let mut seen = 0;
            self.map.retain(|_| {
                seen += 1;
                seen > PUB_CACHE_PRUNE
            });
        }
        let hasher = &self.hasher;
        self.map
            .insert_unique(hash, (subject.into(), v), |(k, _)| hasher.hash_one(&k[..]));
        v
    }

    /// Number of cached subjects.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PermissionsSpec, SubjectPermSpec};

    fn perms(allow: &str, deny: &str) -> Permissions {
        Permissions::compile(&PermissionsSpec {
            publish: Some(SubjectPermSpec {
                allow: Some(vec![allow.to_string()]),
                deny: Some(vec![deny.to_string()]),
            }),
            subscribe: None,
            allow_responses: None,
        })
        .unwrap()
    }

    #[test]
    fn caches_verdicts() {
        let p = perms("a.>", "a.secret");
        let mut c = PubCache::new();
        assert!(c.check(&p, b"a.x"));
        assert!(!c.check(&p, b"a.secret"));
        assert!(!c.check(&p, b"b"));
        assert_eq!(c.len(), 3);
        assert!(c.check(&p, b"a.x"));
        assert!(!c.check(&p, b"b"));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn bounded_and_pruned() {
        let p = perms(">", "x.*");
        let mut c = PubCache::new();
        for i in 0..PUB_CACHE_MAX {
            assert!(c.check(&p, format!("s.{i}").as_bytes()));
        }
        assert_eq!(c.len(), PUB_CACHE_MAX);
        assert!(!c.check(&p, b"x.y"));
        assert_eq!(c.len(), PUB_CACHE_MAX - PUB_CACHE_PRUNE + 1);
        for i in 0..1000 {
            c.check(&p, format!("t.{i}").as_bytes());
            assert!(c.len() <= PUB_CACHE_MAX);
        }
        // Verdicts stay right after pruning.
        assert!(!c.check(&p, b"x.y"));
        assert!(c.check(&p, b"s.1"));
    }

    #[test]
    fn new_permissions_invalidate() {
        let old = perms("a.>", "none");
        let new = perms("b.>", "none");
        let mut c = PubCache::new();
        assert!(c.check(&old, b"a.x"));
        assert!(!c.check(&new, b"a.x"));
        assert_eq!(c.len(), 1);
        assert!(c.check(&new, b"b.x"));
    }

    #[test]
    fn unrestricted_skips_cache() {
        let p = Permissions::compile(&PermissionsSpec::default()).unwrap();
        let mut c = PubCache::new();
        assert!(c.check(&p, b"anything"));
        assert!(c.is_empty());
    }
}
