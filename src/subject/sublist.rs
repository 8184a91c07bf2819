//! `Sublist<T>`: the subject trie. One generic structure serves three uses: a shard's client subscriptions,
//! compiled permissions (`Sublist<()>`), and which other shards want a subject.
//!
//! Layout: a [`Level`] holds the children of one token position: literal tokens in a hash map keyed by
//! the exact token bytes, plus two separate slots for `*` (`pwc`) and `>` (`fwc`). A [`Node`] holds the entries
//! whose subject ends at that token and, optionally, the next level.
//!
//! Matching a subject (tokens taken literally, any bytes) walks the literal path iteratively and keeps a small
//! explicit stack for the `*` branches, so client bytes never drive recursion depth. Each trie node is visited
//! at most once per match. Results are cached in a bounded [`MatchCache`] invalidated by a generation number.
//!
//! Runs on: the owning shard only (single-threaded: no locks, no atomics; results are shared with `Arc` so compiled permission lists can live in the shared `Auth`).

use bytes::Bytes;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::cache::MatchCache;
use super::validate::{is_valid_subject, FWC, PWC, SEP};

/// Match-cache bound used by [`Sublist::new`], as nats-server's sublist cache (1024 subjects).
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// Returned by [`Sublist::insert`] for a subject that fails [`is_valid_subject`].
/// Its text is the client-visible `-ERR` wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSubject;

impl fmt::Display for InvalidSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Invalid Subject")
    }
}

impl std::error::Error for InvalidSubject {}

/// All entries matching one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchResult<T> {
    /// Entries inserted without a queue, from every matching subject pattern.
    pub plain: Vec<T>,
    /// One group per distinct queue name, merged across every matching subject pattern, sorted by name
    /// (so a group is found by binary search: [`MatchResult::queue`]).
    pub queues: Vec<QueueGroup<T>>,
}

/// The members of one queue group that match a subject.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueGroup<T> {
    /// The queue name, exactly as given to [`Sublist::insert`].
    pub name: Bytes,
    /// Every matching member (never empty in a `MatchResult`).
    pub members: Vec<T>,
}

impl<T> MatchResult<T> {
    /// A result with nothing in it.
    pub fn empty() -> Self {
        MatchResult {
            plain: Vec::new(),
            queues: Vec::new(),
        }
    }

    /// True if nothing matched.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty()
    }

    /// The group named `name`, if any member of it matched (binary search: `queues` is sorted).
    pub fn queue(&self, name: &[u8]) -> Option<&QueueGroup<T>> {
        self.queues
            .binary_search_by(|g| g.name[..].cmp(name))
            .ok()
            .and_then(|i| self.queues.get(i))
    }

    /// Deliveries one message causes: each plain entry plus one per queue group (nats /subsz "fanout").
    pub fn fanout(&self) -> usize {
        self.plain.len() + self.queues.len()
    }
}

impl<T> Default for MatchResult<T> {
    fn default() -> Self {
        Self::empty()
    }
}

/// Counters in nats-server `/subsz` terms.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SublistStats {
    /// Entries currently held (plain and queue).
    pub num_subs: usize,
    /// Fresh (current-generation) results in the match cache.
    pub num_cache: usize,
    /// Successful inserts since creation.
    pub num_inserts: u64,
    /// Successful removes since creation.
    pub num_removes: u64,
    /// Calls to [`Sublist::matches`] (the cached entry point).
    pub num_matches: u64,
    /// Calls to [`Sublist::matches`] answered from the cache.
    pub cache_hits: u64,
    /// Largest fanout among the fresh cached results.
    pub max_fanout: usize,
    /// Mean fanout among the fresh cached results (0 when there are none).
    pub avg_fanout: f64,
}

impl SublistStats {
    /// `cache_hits / num_matches`, 0 when nothing was matched yet.
    pub fn cache_hit_rate(&self) -> f64 {
        if self.num_matches == 0 {
            0.0
        } else {
            self.cache_hits as f64 / self.num_matches as f64
        }
    }
}

/// Entries of one queue name on one node.
struct QueueEntries<T> {
    /// Queue name bytes (not validated, as nats-server does not). Shared with every match result
    /// (a clone is a reference count).
    name: Bytes,
    /// Members in insertion order; never empty (the group is removed with its last member).
    members: Vec<T>,
}

/// The entries whose subject ends at one token, and the level below it.
struct Node<T> {
    /// The level for the next token; `None` when no longer subject passes through here.
    next: Option<Box<Level<T>>>,
    /// Plain entries. Duplicates allowed; `remove` takes one equal item out (linear scan).
    plain: Vec<T>,
    /// Queue entries grouped by name; few names per subject is the norm, so a Vec with linear lookup.
    queues: Vec<QueueEntries<T>>,
}

/// The children of one token position. Dropped iteratively (see `Drop`), never by recursion.
struct Level<T> {
    /// Literal tokens (exact bytes, `foo*` included) → node.
    nodes: HashMap<Box<[u8]>, Node<T>, ahash::RandomState>,
    /// The `*` child.
    pwc: Option<Box<Node<T>>>,
    /// The `>` child (always a leaf: `>` is only valid as the last token).
    fwc: Option<Box<Node<T>>>,
}

impl<T> Node<T> {
    fn new() -> Self {
        Node {
            next: None,
            plain: Vec::new(),
            queues: Vec::new(),
        }
    }

    /// True if entries end at this node.
    fn has_entries(&self) -> bool {
        !self.plain.is_empty() || !self.queues.is_empty()
    }

    /// Number of children in the next level (0 if none).
    fn child_count(&self) -> usize {
        self.next.as_ref().map_or(0, |l| l.child_count())
    }
}

impl<T> Level<T> {
    fn new() -> Self {
        Level {
            nodes: HashMap::default(),
            pwc: None,
            fwc: None,
        }
    }

    fn child_count(&self) -> usize {
        self.nodes.len() + usize::from(self.pwc.is_some()) + usize::from(self.fwc.is_some())
    }

    /// The child for a pattern token (`*` and `>` select the wildcard slots).
    fn child(&self, tok: &[u8]) -> Option<&Node<T>> {
        if tok == PWC {
            self.pwc.as_deref()
        } else if tok == FWC {
            self.fwc.as_deref()
        } else {
            self.nodes.get(tok)
        }
    }

    fn child_mut(&mut self, tok: &[u8]) -> Option<&mut Node<T>> {
        if tok == PWC {
            self.pwc.as_deref_mut()
        } else if tok == FWC {
            self.fwc.as_deref_mut()
        } else {
            self.nodes.get_mut(tok)
        }
    }

    /// The child for a pattern token, created if missing (the key is copied only when it is new).
    /// Always `Some`; an `Option` only so that no panic path is needed to satisfy the borrow checker.
    fn child_or_insert(&mut self, tok: &[u8]) -> Option<&mut Node<T>> {
        if tok == PWC {
            Some(self.pwc.get_or_insert_with(|| Box::new(Node::new())))
        } else if tok == FWC {
            Some(self.fwc.get_or_insert_with(|| Box::new(Node::new())))
        } else {
            if !self.nodes.contains_key(tok) {
                self.nodes.insert(tok.into(), Node::new());
            }
            self.nodes.get_mut(tok)
        }
    }

    /// Moves every child's next level onto `stack` (for the iterative drop).
    fn take_child_levels(&mut self, stack: &mut Vec<Level<T>>) {
        let children = self
            .nodes
            .values_mut()
            .chain(self.pwc.as_deref_mut())
            .chain(self.fwc.as_deref_mut());
        stack.extend(children.filter_map(|n| n.next.take()).map(|b| *b));
    }

    /// Drops the child for a pattern token with its whole subtree.
    fn remove_child(&mut self, tok: &[u8]) {
        if tok == PWC {
            self.pwc = None;
        } else if tok == FWC {
            self.fwc = None;
        } else {
            self.nodes.remove(tok);
        }
    }
}

/// Pending `*` branches kept inline (on the stack) during a match before spilling to the heap.
const BRANCH_INLINE: usize = 16;

/// Small stack for pending `*` branches during a match: inline for the usual case, spilling to the heap only
/// when more than `BRANCH_INLINE` branches are pending at once (deep chains of `*` patterns).
struct BranchStack<'a, T> {
    inline: [Option<(&'a Level<T>, usize)>; BRANCH_INLINE],
    len: usize,
    spill: Vec<(&'a Level<T>, usize)>,
}

impl<'a, T> BranchStack<'a, T> {
    fn new() -> Self {
        BranchStack {
            inline: [None; BRANCH_INLINE],
            len: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, item: (&'a Level<T>, usize)) {
        if self.len < BRANCH_INLINE {
            self.inline[self.len] = Some(item);
            self.len += 1;
        } else {
            self.spill.push(item);
        }
    }

    fn pop(&mut self) -> Option<(&'a Level<T>, usize)> {
        if let Some(item) = self.spill.pop() {
            return Some(item);
        }
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        self.inline[self.len].take()
    }
}

/// The subject trie with its match cache and counters. See the module doc.
/// Not `Clone`: copying is never needed and a derived clone would recurse once per token of depth.
pub struct Sublist<T> {
    /// Children of the first token.
    root: Level<T>,
    /// Entries held (plain and queue members).
    count: usize,
    /// Bumped on every successful insert and remove; cache entries stamped with an older value are stale.
    generation: u64,
    /// Bounded subject → result cache (see [`MatchCache`] for the bound and how it shrinks).
    cache: MatchCache<T>,
    /// Shared empty result, so a no-interest match allocates nothing (and is not cached, see `matches`).
    empty: Arc<MatchResult<T>>,
    num_inserts: u64,
    num_removes: u64,
    num_matches: u64,
    cache_hits: u64,
}

impl<T> Drop for Level<T> {
    /// Tears the trie down with an explicit stack: a derived drop would recurse once per token of depth,
    /// and subject depth is chosen by clients. Each level taken off the stack has its own child levels moved
    /// onto the stack first, so its own drop finds nothing nested.
    fn drop(&mut self) {
        let mut stack: Vec<Level<T>> = Vec::new();
        self.take_child_levels(&mut stack);
        while let Some(mut level) = stack.pop() {
            level.take_child_levels(&mut stack);
        }
    }
}

impl<T> fmt::Debug for Sublist<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sublist")
            .field("count", &self.count)
            .field("generation", &self.generation)
            .field("cache_enabled", &self.cache.enabled())
            .finish_non_exhaustive()
    }
}

impl<T: Clone + PartialEq> Default for Sublist<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone + PartialEq> Sublist<T> {
    /// An empty sublist whose match cache holds up to [`DEFAULT_CACHE_CAPACITY`] subjects.
    pub fn new() -> Self {
        Self::with_cache_capacity(DEFAULT_CACHE_CAPACITY)
    }

    /// An empty sublist whose match cache holds up to `n` subjects; `0` disables the cache.
    pub fn with_cache_capacity(n: usize) -> Self {
        Sublist {
            root: Level::new(),
            count: 0,
            generation: 0,
            cache: MatchCache::new(n),
            empty: Arc::new(MatchResult::empty()),
            num_inserts: 0,
            num_removes: 0,
            num_matches: 0,
            cache_hits: 0,
        }
    }

    /// Adds `item` under `subject` (which may hold wildcards), in queue group `queue` if given.
    /// Duplicates are kept. Queue names are not validated (as nats-server).
    pub fn insert(
        &mut self,
        subject: &[u8],
        queue: Option<&[u8]>,
        item: T,
    ) -> Result<(), InvalidSubject> {
        if !is_valid_subject(subject) {
            return Err(InvalidSubject);
        }
        let mut toks = subject.split(|b| *b == SEP);
        // A valid subject has at least one token.
        let first = toks.next().ok_or(InvalidSubject)?;
        let mut node = self.root.child_or_insert(first).ok_or(InvalidSubject)?;
        for tok in toks {
            let next = node.next.get_or_insert_with(|| Box::new(Level::new()));
            node = next.child_or_insert(tok).ok_or(InvalidSubject)?;
        }
        match queue {
            None => node.plain.push(item),
            // Groups are kept sorted by name: one subject may carry thousands of them.
            Some(q) => match node.queues.binary_search_by(|g| g.name[..].cmp(q)) {
                Ok(i) => node.queues[i].members.push(item),
                Err(i) => node.queues.insert(
                    i,
                    QueueEntries {
                        name: Bytes::copy_from_slice(q),
                        members: vec![item],
                    },
                ),
            },
        }
        self.count += 1;
        self.generation += 1;
        self.num_inserts += 1;
        Ok(())
    }

    /// Removes one entry equal to `item` under exactly `subject` and `queue`. Returns false if there is none.
    /// Nodes left with no entries and no children are pruned.
    pub fn remove(&mut self, subject: &[u8], queue: Option<&[u8]>, item: &T) -> bool {
        let Some(cut) = self.plan_remove(subject, queue, item) else {
            return false;
        };
        let mut toks = subject.split(|b| *b == SEP);
        let mut level = &mut self.root;
        let mut depth = 0;
        let removed = loop {
            let Some(tok) = toks.next() else { break false };
            if cut == Some(depth) {
                level.remove_child(tok);
                break true;
            }
            let Some(node) = level.child_mut(tok) else {
                break false;
            };
            if toks.clone().next().is_none() {
                break remove_entry(node, queue, item);
            }
            let Some(next) = node.next.as_deref_mut() else {
                break false;
            };
            level = next;
            depth += 1;
        };
        if removed {
            self.count -= 1;
            self.generation += 1;
            self.num_removes += 1;
        }
        removed
    }

    /// Read-only pass for `remove`: `None` if the entry is absent; otherwise `Some(cut)` where `cut` is the
    /// depth of the shallowest node to drop with its subtree (`Some(None)`: just take the entry out).
    /// A node can be dropped if, once the entry is gone, it holds nothing and leads only to dropped nodes.
    fn plan_remove(&self, subject: &[u8], queue: Option<&[u8]>, item: &T) -> Option<Option<usize>> {
        let mut toks = subject.split(|b| *b == SEP).peekable();
        let mut level = &self.root;
        let mut depth = 0;
        // Start of the current run of nodes that hold no entries and have exactly one child.
        let mut run: Option<usize> = None;
        loop {
            let tok = toks.next()?;
            let node = level.child(tok)?;
            if toks.peek().is_none() {
                let present = match queue {
                    None => node.plain.contains(item),
                    Some(q) => node
                        .queues
                        .iter()
                        .any(|g| &*g.name == q && g.members.contains(item)),
                };
                if !present {
                    return None;
                }
                let entries =
                    node.plain.len() + node.queues.iter().map(|g| g.members.len()).sum::<usize>();
                if entries == 1 && node.child_count() == 0 {
                    return Some(Some(run.unwrap_or(depth)));
                }
                return Some(None);
            }
            if !node.has_entries() && node.child_count() == 1 {
                run.get_or_insert(depth);
            } else {
                run = None;
            }
            level = node.next.as_deref()?;
            depth += 1;
        }
    }

    /// All entries matching the literal `subject`, from the cache when fresh. A hit does not allocate.
    /// A subject that is empty or has an empty token matches nothing. No-interest results are not cached
    /// (they share one empty result), so a flood of unique unmatched subjects cannot churn the cache.
    pub fn matches(&mut self, subject: &[u8]) -> Arc<MatchResult<T>> {
        self.matches_filtered(subject, |_| true)
    }

    /// [`Sublist::matches`] with the entries `keep` refuses left out (a queue group left with no member
    /// is left out too). `keep` runs only when the result is computed, not on a cache hit, so the cached
    /// result is the filtered one: `keep` must answer the same for the same entry and subject until the
    /// caller calls [`Sublist::invalidate_cache`] (the shard filters deliveries its subscribe-deny rules
    /// forbid this way, and invalidates when permissions change).
    pub fn matches_filtered(
        &mut self,
        subject: &[u8],
        mut keep: impl FnMut(&T) -> bool,
    ) -> Arc<MatchResult<T>> {
        self.num_matches += 1;
        if self.count == 0 {
            return Arc::clone(&self.empty);
        }
        if let Some(r) = self.cache.get(subject, self.generation) {
            self.cache_hits += 1;
            return Arc::clone(r);
        }
        let mut r = self.matches_uncached(subject);
        r.plain.retain(|e| keep(e));
        r.queues.retain_mut(|g| {
            g.members.retain(|e| keep(e));
            !g.members.is_empty()
        });
        if r.is_empty() {
            return Arc::clone(&self.empty);
        }
        let r = Arc::new(r);
        if self.cache.enabled() {
            self.cache.put(subject, self.generation, Arc::clone(&r));
        }
        r
    }

    /// Makes every cached result stale (for a [`Sublist::matches_filtered`] caller whose filter changed).
    pub fn invalidate_cache(&mut self) {
        self.generation += 1;
    }

    /// All entries matching the literal `subject`, computed from the trie (the cache is neither read nor
    /// written). Queue members are grouped by queue name across every matching pattern.
    pub fn matches_uncached(&self, subject: &[u8]) -> MatchResult<T> {
        let mut out = MatchResult::empty();
        let mut nodes_with_queues = 0;
        self.walk(subject, |node| {
            out.plain.extend_from_slice(&node.plain);
            if !node.queues.is_empty() {
                nodes_with_queues += 1;
                out.queues.extend(node.queues.iter().map(|g| QueueGroup {
                    name: g.name.clone(),
                    members: g.members.clone(),
                }));
            }
            false
        });
        // Each node's groups are sorted already; groups from several matching patterns are merged by
        // name (stable sort: members keep the order of the walk), in O(n log n), not O(n²).
        if nodes_with_queues > 1 {
            out.queues.sort_by(|a, b| a.name.cmp(&b.name));
            out.queues.dedup_by(|later, kept| {
                if later.name == kept.name {
                    kept.members.append(&mut later.members);
                    true
                } else {
                    false
                }
            });
        }
        out
    }

    /// True if any plain or queue entry matches the literal `subject`. Does not allocate (unless more than
    /// 16 `*` branches are pending at once).
    pub fn has_match(&self, subject: &[u8]) -> bool {
        self.walk(subject, |node| node.has_entries())
    }

    /// Number of entries held (plain and queue members).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Counters and cache figures (nats `/subsz` names).
    pub fn stats(&self) -> SublistStats {
        let mut num_cache = 0;
        let mut total_fanout = 0;
        let mut max_fanout = 0;
        for r in self.cache.fresh(self.generation) {
            num_cache += 1;
            total_fanout += r.fanout();
            max_fanout = max_fanout.max(r.fanout());
        }
        SublistStats {
            num_subs: self.count,
            num_cache,
            num_inserts: self.num_inserts,
            num_removes: self.num_removes,
            num_matches: self.num_matches,
            cache_hits: self.cache_hits,
            max_fanout,
            avg_fanout: if num_cache == 0 {
                0.0
            } else {
                total_fanout as f64 / num_cache as f64
            },
        }
    }

    /// Calls `f(subject, queue, item)` for every entry, in no particular order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], Option<&[u8]>, &T)) {
        // (node, its token, length of the parent's subject in `buf`). LIFO order keeps `buf[..len]` intact.
        let mut stack: Vec<(&Node<T>, &[u8], usize)> = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        push_children(&mut stack, &self.root, 0);
        while let Some((node, tok, parent_len)) = stack.pop() {
            buf.truncate(parent_len);
            if parent_len > 0 {
                buf.push(SEP);
            }
            buf.extend_from_slice(tok);
            for item in &node.plain {
                f(&buf, None, item);
            }
            for g in &node.queues {
                for item in &g.members {
                    f(&buf, Some(&g.name), item);
                }
            }
            if let Some(next) = node.next.as_deref() {
                push_children(&mut stack, next, buf.len());
            }
        }
    }

    /// Number of trie nodes (to check pruning in tests).
    #[cfg(test)]
    pub(crate) fn node_count(&self) -> usize {
        let mut n = 0;
        let mut stack = vec![&self.root];
        while let Some(level) = stack.pop() {
            let children = level
                .nodes
                .values()
                .chain(level.pwc.as_deref())
                .chain(level.fwc.as_deref());
            for node in children {
                n += 1;
                stack.extend(node.next.as_deref());
            }
        }
        n
    }

    /// Visits every node whose pattern matches the literal `subject`; stops early when `visit` returns true.
    /// Returns whether it stopped early. Subject tokens are literal: a `*` token is looked up as the literal
    /// `*` (and is matched by `*`/`>` entries like any token).
    fn walk<'a>(&'a self, subject: &[u8], mut visit: impl FnMut(&'a Node<T>) -> bool) -> bool {
        if subject.is_empty() || subject.split(|b| *b == SEP).any(|t| t.is_empty()) {
            return false;
        }
        let mut pending = BranchStack::new();
        pending.push((&self.root, 0));
        while let Some((mut level, mut pos)) = pending.pop() {
            loop {
                let rest = &subject[pos..];
                let end = rest
                    .iter()
                    .position(|b| *b == SEP)
                    .map_or(subject.len(), |i| pos + i);
                let tok = &subject[pos..end];
                let last = end == subject.len();
                if let Some(f) = level.fwc.as_deref() {
                    if visit(f) {
                        return true;
                    }
                }
                if let Some(p) = level.pwc.as_deref() {
                    if last {
                        if visit(p) {
                            return true;
                        }
                    } else if let Some(next) = p.next.as_deref() {
                        pending.push((next, end + 1));
                    }
                }
                let Some(n) = level.nodes.get(tok) else { break };
                if last {
                    if visit(n) {
                        return true;
                    }
                    break;
                }
                let Some(next) = n.next.as_deref() else { break };
                level = next;
                pos = end + 1;
            }
        }
        false
    }
}

/// Pushes every child of `level` onto the `for_each` stack with its token.
fn push_children<'a, T>(
    stack: &mut Vec<(&'a Node<T>, &'a [u8], usize)>,
    level: &'a Level<T>,
    len: usize,
) {
    for (tok, node) in &level.nodes {
        stack.push((node, tok, len));
    }
    if let Some(p) = level.pwc.as_deref() {
        stack.push((p, PWC, len));
    }
    if let Some(f) = level.fwc.as_deref() {
        stack.push((f, FWC, len));
    }
}

/// Takes one entry equal to `item` out of `node` (from `queue`'s group, or the plain list).
fn remove_entry<T: PartialEq>(node: &mut Node<T>, queue: Option<&[u8]>, item: &T) -> bool {
    match queue {
        None => match node.plain.iter().position(|x| x == item) {
            Some(i) => {
                node.plain.remove(i);
                true
            }
            None => false,
        },
        Some(q) => {
            let Ok(gi) = node.queues.binary_search_by(|g| g.name[..].cmp(q)) else {
                return false;
            };
            let g = &mut node.queues[gi];
            let Some(i) = g.members.iter().position(|x| x == item) else {
                return false;
            };
            g.members.remove(i);
            if g.members.is_empty() {
                node.queues.remove(gi);
            }
            true
        }
    }
}
