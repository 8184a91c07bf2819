//! NATS subjects: validation, the naive reference matcher, and [`Sublist`], the one subject trie used for
//! client subscriptions, compiled permissions (`Sublist<()>`) and per-shard remote interest.
//!
//! Subjects are dot-separated tokens. `*` matches exactly one token and `>` matches
//! one or more remaining tokens, but only when they are a whole token: `foo*` is a literal token. Everything
//! here works on raw bytes (subjects may hold UTF-8, `$`, `/`, even NUL), never on `str`.
//!
//! Pure code: no I/O, no locks, no atomics. A `Sublist` lives on one shard.

mod cache;
mod sublist;
#[cfg(test)]
mod sublist_tests;
mod validate;

pub use cache::short_eq;
pub use sublist::{
    InvalidSubject, MatchResult, QueueGroup, Sublist, SublistStats, DEFAULT_CACHE_CAPACITY,
};
pub use validate::{
    collide, has_wildcard, is_subset, is_valid_literal_subject, is_valid_subject, matches,
};
