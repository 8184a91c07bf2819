//! The bounded match cache of a [`super::Sublist`]: subject bytes → shared match result.
//!
//! Entries are stamped with the sublist's generation number at the time they were computed. Every insert or
//! remove bumps the generation, so an entry with an older stamp is simply a miss (it is overwritten when that
//! subject is matched again, or swept when the cache is full). Nothing ever hunts entries down on a change.

use hashbrown::HashTable;
use std::sync::Arc;

/// Byte equality for short keys (subjects) without a library call: 8 bytes at a time as integers. The
/// hash maps on the publish path use it so a cache hit does not pay for a `memcmp` call.
#[inline]
pub fn short_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let (Ok(x), Ok(y)) = (<[u8; 8]>::try_from(x), <[u8; 8]>::try_from(y)) else {
            return false;
        };
        if u64::from_ne_bytes(x) != u64::from_ne_bytes(y) {
            return false;
        }
    }
    ca.remainder()
        .iter()
        .zip(cb.remainder())
        .all(|(x, y)| x == y)
}

use super::sublist::MatchResult;

/// One cached result and the sublist generation it was computed at.
struct Entry<T> {
    /// `Sublist` generation when `result` was computed; valid only while it equals the current generation.
    generation: u64,
    /// The result, shared with callers: a hit is an `Arc` clone (uncontended: the list lives on one shard), never an allocation.
    result: Arc<MatchResult<T>>,
}

/// Bounded map from subject bytes to the latest match result.
///
/// Bound: at most `capacity` entries (0 disables the cache). When a new subject arrives and the map is full,
/// it first drops every stale entry (older generation); if at least `capacity - capacity/4` entries are still
/// fresh it then drops entries in hash order (effectively random, the hasher is randomly seeded) until only
/// `capacity - capacity/4` remain. One sweep therefore buys room for at least a quarter of the capacity,
/// so the O(capacity) sweep cost is amortised over many inserts.
pub(crate) struct MatchCache<T> {
    /// (subject bytes, result). Keys are owned copies of the matched subject. A raw table with an inlined
    /// key comparison ([`short_eq`]) and a fast hasher with a random per-process seed: subjects come from
    /// clients, so it must resist collision flooding, and it runs on every publish.
    map: HashTable<(Box<[u8]>, Entry<T>)>,
    hasher: ahash::RandomState,
    /// Maximum number of entries in `map`; 0 means caching is off.
    capacity: usize,
}

impl<T> MatchCache<T> {
    /// A cache holding at most `capacity` subjects (0 = disabled). Nothing is allocated until first use.
    pub(crate) fn new(capacity: usize) -> Self {
        MatchCache {
            map: HashTable::new(),
            hasher: ahash::RandomState::new(),
            capacity,
        }
    }

    /// True if the cache is switched on.
    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The result for `subject` if it was computed at `generation`. Does not allocate.
    pub(crate) fn get(&self, subject: &[u8], generation: u64) -> Option<&Arc<MatchResult<T>>> {
        let hash = self.hasher.hash_one(subject);
        match self.map.find(hash, |(k, _)| short_eq(k, subject)) {
            Some((_, e)) if e.generation == generation => Some(&e.result),
            _ => None,
        }
    }

    /// Stores `result` for `subject` at `generation`, shrinking the map first if it is full.
    pub(crate) fn put(&mut self, subject: &[u8], generation: u64, result: Arc<MatchResult<T>>) {
        if self.capacity == 0 {
            return;
        }
        let hash = self.hasher.hash_one(subject);
        if let Some((_, e)) = self.map.find_mut(hash, |(k, _)| short_eq(k, subject)) {
            e.generation = generation;
            e.result = result;
            return;
        }
        if self.map.len() >= self.capacity {
            self.shrink(generation);
        }
        let hasher = &self.hasher;
        self.map.insert_unique(
            hash,
            (subject.into(), Entry { generation, result }),
            |(k, _)| hasher.hash_one(&k[..]),
        );
    }

    /// Drops stale entries, then arbitrary ones, until at most `capacity - capacity/4` remain.
    fn shrink(&mut self, generation: u64) {
        self.map.retain(|(_, e)| e.generation == generation);
        let keep = self.capacity - (self.capacity / 4).max(1);
        let mut excess = self.map.len().saturating_sub(keep);
        if excess > 0 {
            self.map.retain(|_| {
                if excess > 0 {
                    excess -= 1;
                    false
                } else {
                    true
                }
            });
        }
    }

    /// The fresh (current-generation) results, for statistics.
    pub(crate) fn fresh(&self, generation: u64) -> impl Iterator<Item = &MatchResult<T>> {
        self.map
            .iter()
            .filter(move |(_, e)| e.generation == generation)
            .map(|(_, e)| &*e.result)
    }

    /// Number of entries held, fresh or stale (never more than the capacity).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_eq_compares_every_byte() {
        use super::short_eq;
        assert!(short_eq(b"", b""));
        assert!(short_eq(b"foo.bar.baz.qux", b"foo.bar.baz.qux"));
        assert!(!short_eq(b"foo.bar.baz.qux", b"foo.bar.baz.quy"));
        assert!(!short_eq(b"foo.bar.", b"foo.bax."));
        assert!(!short_eq(b"foo", b"foo."));
        assert!(!short_eq(b"a.b.c.d.e.f.g.h.i", b"a.b.c.d.e.f.g.h.j"));
    }

    use super::*;

    fn result(n: u32) -> Arc<MatchResult<u32>> {
        Arc::new(MatchResult {
            plain: vec![n],
            queues: vec![],
        })
    }

    #[test]
    fn hit_only_at_same_generation() {
        let mut c = MatchCache::new(8);
        c.put(b"a", 1, result(1));
        assert_eq!(c.get(b"a", 1).map(|r| r.plain[0]), Some(1));
        assert!(c.get(b"a", 2).is_none(), "stale entry is a miss");
        c.put(b"a", 2, result(2));
        assert_eq!(c.get(b"a", 2).map(|r| r.plain[0]), Some(2));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let mut c = MatchCache::new(0);
        assert!(!c.enabled());
        c.put(b"a", 1, result(1));
        assert!(c.get(b"a", 1).is_none());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn bounded_and_shrinks_by_a_quarter() {
        let mut c = MatchCache::new(8);
        for i in 0..8u32 {
            c.put(format!("s{i}").as_bytes(), 1, result(i));
        }
        assert_eq!(c.len(), 8);
        c.put(b"new", 1, result(99));
        // Full: shrunk to 6, then the new one added.
        assert_eq!(c.len(), 7);
        assert!(c.get(b"new", 1).is_some());
        for i in 0..10_000u32 {
            c.put(format!("x{i}").as_bytes(), 1, result(i));
            assert!(c.len() <= 8);
        }
    }

    #[test]
    fn full_cache_drops_stale_entries_first() {
        let mut c = MatchCache::new(4);
        for i in 0..4u32 {
            c.put(format!("old{i}").as_bytes(), 1, result(i));
        }
        c.put(b"fresh", 2, result(7));
        assert_eq!(c.len(), 1, "all stale entries swept, the fresh one kept");
        assert_eq!(c.fresh(2).count(), 1);
    }

    #[test]
    fn capacity_one_works() {
        let mut c = MatchCache::new(1);
        c.put(b"a", 1, result(1));
        c.put(b"b", 1, result(2));
        assert_eq!(c.len(), 1);
        assert!(c.get(b"b", 1).is_some());
    }
}
