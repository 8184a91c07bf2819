//! [`FrozenSublist`]: a [`Sublist`] that is filled once while compiling [`super::Auth`] and afterwards only
//! read, so it can be shared by every shard inside `Arc<Auth>`.
//!
//! Why a wrapper: the shared tables must never use `Sublist::matches` (it mutates the match cache through
//! `&mut`); this wrapper creates the sublist with its cache switched off, exposes only `insert` (while the
//! owner is still building it) and the two `&self` read paths, `matches_uncached` and `has_match`.
//! `Sublist` itself is `Send + Sync`, so no `unsafe` is needed to share it inside `Arc<Auth>`.

use crate::subject::{InvalidSubject, MatchResult, Sublist};

/// A read-only subject trie, safe to share between threads. Per-shard caching is the engine's business.
pub struct FrozenSublist<T> {
    /// The trie, cache disabled. Private, so nothing can call the caching `matches` on it.
    inner: Sublist<T>,
}

impl<T: Clone + PartialEq> Default for FrozenSublist<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone + PartialEq> FrozenSublist<T> {
    /// An empty trie with no match cache.
    pub fn new() -> Self {
        FrozenSublist {
            inner: Sublist::with_cache_capacity(0),
        }
    }

    /// Adds an entry; only possible while the owner holds it mutably (before it is shared).
    pub fn insert(
        &mut self,
        subject: &[u8],
        queue: Option<&[u8]>,
        item: T,
    ) -> Result<(), InvalidSubject> {
        self.inner.insert(subject, queue, item)
    }

    /// Every entry matching the literal `subject` (allocates the result; cache it per shard if hot).
    pub fn matches_uncached(&self, subject: &[u8]) -> MatchResult<T> {
        self.inner.matches_uncached(subject)
    }

    /// True if any plain or queue entry matches `subject`. Does not allocate.
    pub fn has_match(&self, subject: &[u8]) -> bool {
        self.inner.has_match(subject)
    }

    /// Number of entries.
    pub fn count(&self) -> usize {
        self.inner.count()
    }

    /// True if no entry was inserted.
    pub fn is_empty(&self) -> bool {
        self.inner.count() == 0
    }
}

impl<T> std::fmt::Debug for FrozenSublist<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrozenSublist")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<X: Send + Sync>() {}

    #[test]
    fn is_send_and_sync() {
        assert_send_sync::<FrozenSublist<()>>();
        assert_send_sync::<FrozenSublist<u32>>();
    }

    #[test]
    fn shared_reads_across_threads() {
        let mut s = FrozenSublist::new();
        s.insert(b"a.*", None, 1u32).unwrap();
        s.insert(b"a.>", Some(b"q"), 2u32).unwrap();
        let s = std::sync::Arc::new(s);
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        assert!(s.has_match(b"a.b"));
                        assert!(!s.has_match(b"b"));
                        let r = s.matches_uncached(b"a.b");
                        assert_eq!(r.plain, vec![1]);
                        assert_eq!(r.queues.len(), 1);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
