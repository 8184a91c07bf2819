//! Tests for `Sublist`: every matching rule, removal and pruning, the cache, statistics, and a seeded
//! randomized comparison against a plain `Vec` model checked with the naive `matches()`.
//! As nats-server's `sublist_test.go`, rule tests run against a cached and an uncached list.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{matches, InvalidSubject, MatchResult, Sublist};

/// Counts allocations made by the current thread, to prove the no-allocation paths.
struct CountingAlloc;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: CountingAlloc = CountingAlloc;

/// Allocations made by this thread while running `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

/// A list with the default cache, one with a tiny cache, one with none.
fn lists() -> Vec<Sublist<u32>> {
    vec![
        Sublist::new(),
        Sublist::with_cache_capacity(2),
        Sublist::with_cache_capacity(0),
    ]
}

/// `(sorted plain, [(queue name, sorted members)] sorted by name)`, for order-free comparison.
type Canon = (Vec<u32>, Vec<(Vec<u8>, Vec<u32>)>);

fn canon(r: &MatchResult<u32>) -> Canon {
    let mut plain = r.plain.clone();
    plain.sort_unstable();
    let mut queues: Vec<(Vec<u8>, Vec<u32>)> = r
        .queues
        .iter()
        .map(|g| {
            let mut m = g.members.clone();
            m.sort_unstable();
            (g.name.to_vec(), m)
        })
        .collect();
    queues.sort();
    (plain, queues)
}

/// Plain items matching `subject`, sorted, via the cached, uncached and `has_match` paths (all must agree).
fn plain(sl: &mut Sublist<u32>, subject: &str) -> Vec<u32> {
    let cached = canon(&sl.matches(subject.as_bytes()));
    let again = canon(&sl.matches(subject.as_bytes()));
    let uncached = canon(&sl.matches_uncached(subject.as_bytes()));
    assert_eq!(cached, uncached, "cached vs uncached for {subject}");
    assert_eq!(again, uncached, "second (cache hit) match for {subject}");
    let any = !cached.0.is_empty() || !cached.1.is_empty();
    assert_eq!(
        sl.has_match(subject.as_bytes()),
        any,
        "has_match for {subject}"
    );
    cached.0
}

#[test]
fn insert_rejects_invalid_subjects() {
    let mut sl = Sublist::new();
    for bad in [
        "",
        "foo.",
        ".foo",
        "foo..bar",
        "foo.>.bar",
        "a.>.>",
        "foo bar",
        "foo\tbar",
        "a\r\n",
    ] {
        assert_eq!(
            sl.insert(bad.as_bytes(), None, 1),
            Err(InvalidSubject),
            "{bad:?}"
        );
    }
    assert_eq!(sl.count(), 0);
    assert_eq!(sl.stats().num_inserts, 0);
    assert_eq!(InvalidSubject.to_string(), "Invalid Subject");
}

#[test]
fn literal_and_wildcard_rules() {
    for mut sl in lists() {
        sl.insert(b"foo.bar", None, 1).unwrap();
        sl.insert(b"foo.*", None, 2).unwrap();
        sl.insert(b"foo.>", None, 3).unwrap();
        sl.insert(b"*.bar", None, 4).unwrap();
        sl.insert(b">", None, 5).unwrap();
        sl.insert(b"foo", None, 6).unwrap();
        sl.insert(b"foo*", None, 7).unwrap();
        sl.insert(b"foo.*.baz", None, 8).unwrap();
        assert_eq!(plain(&mut sl, "foo.bar"), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            plain(&mut sl, "foo"),
            vec![5, 6],
            "`foo.>` does not match `foo`"
        );
        assert_eq!(plain(&mut sl, "foo.bar.baz"), vec![3, 5, 8]);
        assert_eq!(plain(&mut sl, "foo.x.y.z"), vec![3, 5]);
        assert_eq!(
            plain(&mut sl, "foo*"),
            vec![5, 7],
            "`foo*` is a literal token"
        );
        assert_eq!(plain(&mut sl, "foox"), vec![5]);
        assert_eq!(plain(&mut sl, "x.bar"), vec![4, 5]);
        assert_eq!(plain(&mut sl, "Foo.bar"), vec![4, 5], "case-sensitive");
        // Empty subjects and empty tokens match nothing, even `>`.
        assert_eq!(plain(&mut sl, ""), Vec::<u32>::new());
        assert_eq!(plain(&mut sl, "foo."), Vec::<u32>::new());
        assert_eq!(plain(&mut sl, "foo..bar"), Vec::<u32>::new());
        assert_eq!(plain(&mut sl, ".foo"), Vec::<u32>::new());
    }
}

#[test]
fn subject_tokens_are_literal() {
    for mut sl in lists() {
        sl.insert(b"foo.*", None, 1).unwrap();
        sl.insert(b"foo.x", None, 2).unwrap();
        sl.insert(b"foo.>", None, 3).unwrap();
        assert_eq!(
            plain(&mut sl, "foo.*"),
            vec![1, 3],
            "`foo.x` does not match subject `foo.*`"
        );
        assert_eq!(
            plain(&mut sl, "foo.>"),
            vec![1, 3],
            "`foo.*` matches the literal token `>`"
        );
        assert_eq!(plain(&mut sl, "foo.x"), vec![1, 2, 3]);
    }
}

#[test]
fn any_bytes_in_subjects() {
    let mut sl = Sublist::new();
    sl.insert("$SYS.é/x".as_bytes(), None, 1).unwrap();
    sl.insert(b"nul\0.*", None, 2).unwrap();
    assert_eq!(plain(&mut sl, "$SYS.é/x"), vec![1]);
    assert_eq!(plain(&mut sl, "nul\0.\u{ff}"), vec![2]);
}

/// How a permission check takes a SUB subject against a subscribe allow list: the subject's tokens are literal.
#[test]
fn permission_style_check() {
    let mut allow: Sublist<()> = Sublist::new();
    allow.insert(b"svc.a.>", None, ()).unwrap();
    allow.insert(b"_INBOX.>", None, ()).unwrap();
    assert!(allow.has_match(b"svc.a.*"));
    assert!(allow.has_match(b"svc.a.>"));
    assert!(allow.has_match(b"svc.a.b.c"));
    assert!(!allow.has_match(b"svc.*"), "broader wildcard denied");
    assert!(!allow.has_match(b"svc.a"));
    assert!(!allow.has_match(b">"));
    assert_eq!(allow.matches(b"svc.a.x").plain.len(), 1);
}

#[test]
fn queue_groups_merge_by_name_across_subjects() {
    for mut sl in lists() {
        sl.insert(b"foo.*", Some(b"q"), 1).unwrap();
        sl.insert(b"foo.>", Some(b"q"), 2).unwrap();
        sl.insert(b"foo.x", Some(b"q"), 3).unwrap();
        sl.insert(b"foo.x", Some(b"r"), 4).unwrap();
        sl.insert(b"foo.x", None, 5).unwrap();
        sl.insert(b"foo.*", Some(b"q.*"), 6).unwrap(); // queue names are not validated
        let r = canon(&sl.matches(b"foo.x"));
        assert_eq!(r.0, vec![5]);
        assert_eq!(
            r.1,
            vec![
                (b"q".to_vec(), vec![1, 2, 3]),
                (b"q.*".to_vec(), vec![6]),
                (b"r".to_vec(), vec![4])
            ]
        );
        let r = canon(&sl.matches(b"foo.y.z"));
        assert_eq!(r, (vec![], vec![(b"q".to_vec(), vec![2])]));
        assert_eq!(sl.matches(b"foo.x").fanout(), 4);
        assert_eq!(sl.count(), 6);
    }
}

#[test]
fn remove_takes_one_equal_item_and_checks_queue() {
    for mut sl in lists() {
        sl.insert(b"a.b", None, 1).unwrap();
        sl.insert(b"a.b", None, 1).unwrap();
        sl.insert(b"a.b", Some(b"q"), 1).unwrap();
        assert_eq!(plain(&mut sl, "a.b"), vec![1, 1]);
        assert!(!sl.remove(b"a.b", None, &2), "absent item");
        assert!(!sl.remove(b"a.b", Some(b"r"), &1), "wrong queue");
        assert!(!sl.remove(b"a.*", None, &1), "wrong pattern");
        assert!(!sl.remove(b"a", None, &1), "prefix only");
        assert!(!sl.remove(b"a.b.c", None, &1), "longer");
        assert!(!sl.remove(b"", None, &1));
        assert!(sl.remove(b"a.b", None, &1));
        assert_eq!(plain(&mut sl, "a.b"), vec![1]);
        assert!(sl.remove(b"a.b", Some(b"q"), &1));
        assert!(
            sl.matches(b"a.b").queues.is_empty(),
            "empty group disappears"
        );
        assert!(sl.remove(b"a.b", None, &1));
        assert!(!sl.remove(b"a.b", None, &1));
        assert_eq!(sl.count(), 0);
        assert!(!sl.has_match(b"a.b"));
        assert_eq!(sl.node_count(), 0);
        let st = sl.stats();
        assert_eq!((st.num_inserts, st.num_removes, st.num_subs), (3, 3, 0));
    }
}

#[test]
fn remove_prunes_only_empty_branches() {
    let mut sl = Sublist::new();
    sl.insert(b"a.b.c.d", None, 1).unwrap();
    sl.insert(b"a.b", None, 2).unwrap();
    sl.insert(b"a.*.>", None, 3).unwrap();
    assert_eq!(sl.node_count(), 6); // a, b, c, d, *, >
    assert!(sl.remove(b"a.b.c.d", None, &1));
    assert_eq!(
        sl.node_count(),
        4,
        "c and d pruned, a.b kept (it holds an entry)"
    );
    assert!(sl.remove(b"a.*.>", None, &3));
    assert_eq!(sl.node_count(), 2);
    assert!(sl.remove(b"a.b", None, &2));
    assert_eq!(sl.node_count(), 0);
    // Re-insert after pruning works.
    sl.insert(b"a.b.c.d", None, 4).unwrap();
    assert_eq!(plain(&mut sl, "a.b.c.d"), vec![4]);
    // A node with an entry that also leads elsewhere is kept.
    sl.insert(b"a.b.c", None, 5).unwrap();
    assert!(sl.remove(b"a.b.c", None, &5));
    assert_eq!(sl.node_count(), 4);
    assert_eq!(plain(&mut sl, "a.b.c.d"), vec![4]);
}

#[test]
fn cache_hits_share_the_result_and_are_invalidated() {
    let mut sl = Sublist::new();
    sl.insert(b"foo.*", None, 1).unwrap();
    let a = sl.matches(b"foo.x");
    let b = sl.matches(b"foo.x");
    assert!(Arc::ptr_eq(&a, &b), "hit is an Arc clone");
    assert_eq!(sl.stats().cache_hits, 1);
    assert_eq!(sl.stats().num_cache, 1);
    sl.insert(b"foo.x", None, 2).unwrap();
    assert_eq!(sl.stats().num_cache, 0, "entry is stale after an insert");
    let c = sl.matches(b"foo.x");
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(canon(&c).0, vec![1, 2]);
    sl.remove(b"foo.x", None, &2);
    assert_eq!(canon(&sl.matches(b"foo.x")).0, vec![1]);
    let st = sl.stats();
    assert_eq!((st.num_matches, st.cache_hits, st.num_cache), (4, 1, 1));
    assert!((st.cache_hit_rate() - 0.25).abs() < 1e-9);
    assert_eq!((st.max_fanout, st.avg_fanout), (1, 1.0));
}

#[test]
fn filtered_matches_are_cached_until_invalidated() {
    let mut sl = Sublist::new();
    sl.insert(b"a.>", None, 1).unwrap();
    sl.insert(b"a.*", None, 2).unwrap();
    sl.insert(b"a.b", Some(b"q"), 3).unwrap();
    sl.insert(b"a.b", Some(b"r"), 4).unwrap();
    sl.insert(b"a.b", Some(b"r"), 5).unwrap();
    let mut calls = 0;
    let refuse = |deny: &[u32]| {
        let deny = deny.to_vec();
        move |e: &u32| !deny.contains(e)
    };
    let r = sl.matches_filtered(b"a.b", |e| {
        calls += 1;
        refuse(&[2, 3, 4])(e)
    });
    assert_eq!(calls, 5);
    let c = canon(&r);
    assert_eq!(c.0, vec![1]);
    assert_eq!(
        c.1,
        vec![(b"r".to_vec(), vec![5])],
        "q left out: no member kept"
    );
    // A hit does not run the filter: the filtered result is what was cached.
    let again = sl.matches_filtered(b"a.b", |_| panic!("filter ran on a hit"));
    assert!(Arc::ptr_eq(&r, &again));
    // Everything refused: nothing is cached, and the shared empty result comes back.
    let none = sl.matches_filtered(b"a.c", |_| false);
    assert!(none.is_empty());
    // After invalidation the filter runs again.
    sl.invalidate_cache();
    let fresh = sl.matches_filtered(b"a.b", refuse(&[]));
    assert_eq!(canon(&fresh).0, vec![1, 2]);
    assert_eq!(canon(&fresh).1.len(), 2);
}

#[test]
fn hot_paths_do_not_allocate() {
    let mut sl = Sublist::new();
    sl.insert(b"foo.*", None, 1).unwrap();
    sl.insert(b"foo.>", Some(b"q"), 2).unwrap();
    sl.insert(b"*.*.*", None, 3).unwrap();
    drop(sl.matches(b"foo.x")); // warm the cache
    let mut hit = None;
    assert_eq!(
        allocations(|| hit = Some(sl.matches(b"foo.x"))),
        0,
        "cache hit"
    );
    assert_eq!(hit.map(|r| r.fanout()), Some(2));
    assert_eq!(
        allocations(|| assert!(sl.has_match(b"a.b.c"))),
        0,
        "has_match hit"
    );
    assert_eq!(
        allocations(|| assert!(!sl.has_match(b"a.b.c.d"))),
        0,
        "has_match miss"
    );
    assert_eq!(
        allocations(|| assert!(sl.matches(b"bar.x").is_empty())),
        0,
        "no-interest match"
    );
}

#[test]
fn no_interest_is_not_cached_and_cache_is_bounded() {
    let mut sl = Sublist::with_cache_capacity(16);
    sl.insert(b"hit.*", None, 1).unwrap();
    for i in 0..1000 {
        assert!(sl.matches(format!("miss.{i}").as_bytes()).is_empty());
    }
    assert_eq!(sl.stats().num_cache, 0, "empty results are not cached");
    for i in 0..1000 {
        assert_eq!(sl.matches(format!("hit.{i}").as_bytes()).plain, vec![1]);
        assert!(sl.stats().num_cache <= 16);
    }
    assert!(sl.stats().num_cache > 0);
    let mut off = Sublist::with_cache_capacity(0);
    off.insert(b"hit.*", None, 1).unwrap();
    off.matches(b"hit.x");
    off.matches(b"hit.x");
    assert_eq!((off.stats().num_cache, off.stats().cache_hits), (0, 0));
}

/// (subject, queue, item) borrowed from literals.
type BorrowedEntry = (&'static [u8], Option<&'static [u8]>, u32);

#[test]
fn for_each_reports_every_entry() {
    let mut sl = Sublist::new();
    let entries: Vec<BorrowedEntry> = vec![
        (b"a", None, 1),
        (b"a.b", None, 2),
        (b"a.*", Some(b"q"), 3),
        (b"a.>", None, 4),
        (b">", Some(b"q"), 5),
        (b"x.y.z", None, 6),
        (b"x.y.z", None, 6),
        (b"a.b.c", Some(b"r"), 7),
    ];
    for (s, q, i) in &entries {
        sl.insert(s, *q, *i).unwrap();
    }
    let mut seen = Vec::new();
    sl.for_each(|s, q, i| seen.push((s.to_vec(), q.map(<[u8]>::to_vec), *i)));
    let mut want: Vec<_> = entries
        .iter()
        .map(|(s, q, i)| (s.to_vec(), q.map(<[u8]>::to_vec), *i))
        .collect();
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
}

/// Long subjects and long chains of `*` branches: no recursion, and the branch stack spills correctly.
#[test]
fn deep_subjects_and_many_pending_branches() {
    let mut sl = Sublist::new();
    let deep_wc = vec!["*"; 20_000].join(".");
    let deep_lit = vec!["a"; 20_000].join(".");
    sl.insert(deep_wc.as_bytes(), None, 1).unwrap();
    sl.insert(deep_lit.as_bytes(), None, 2).unwrap();
    assert_eq!(plain(&mut sl, &deep_lit), vec![1, 2]);
    assert!(sl.remove(deep_wc.as_bytes(), None, &1));
    assert!(sl.remove(deep_lit.as_bytes(), None, &2));
    assert_eq!(sl.node_count(), 0);

    // A `*` at each of 40 positions of a 40-token literal path: 40 branches pending at once.
    let n = 40;
    let mut sl = Sublist::new();
    for k in 0..n {
        let mut toks = vec!["a"; n];
        toks[k] = "*";
        sl.insert(toks.join(".").as_bytes(), None, k as u32)
            .unwrap();
    }
    let subject = vec!["a"; n].join(".");
    assert_eq!(plain(&mut sl, &subject), (0..n as u32).collect::<Vec<_>>());
}

/// One model entry: (subject pattern, queue, item).
type ModelEntry = (Vec<u8>, Option<Vec<u8>>, u32);

/// What `Sublist::matches` must return, computed from the model with the naive matcher.
fn model_match(model: &[ModelEntry], subject: &[u8]) -> Canon {
    let mut out = MatchResult::empty();
    for (pat, q, item) in model {
        if !matches(pat, subject) {
            continue;
        }
        match q {
            None => out.plain.push(*item),
            Some(q) => match out.queues.iter_mut().find(|g| &*g.name == q.as_slice()) {
                Some(g) => g.members.push(*item),
                None => out.queues.push(super::QueueGroup {
                    name: bytes::Bytes::from(q.clone()),
                    members: vec![*item],
                }),
            },
        }
    }
    canon(&out)
}

fn random_pattern(rng: &mut StdRng) -> Vec<u8> {
    const TOKS: [&str; 5] = ["a", "b", "c", "*", "a*"];
    let len = rng.random_range(1..=4);
    let mut toks: Vec<&str> = (0..len)
        .map(|_| TOKS[rng.random_range(0..TOKS.len())])
        .collect();
    if rng.random_bool(0.2) {
        toks.push(">");
    }
    toks.join(".").into_bytes()
}

fn random_subject(rng: &mut StdRng) -> Vec<u8> {
    // Mostly literal tokens; sometimes `*`/`>` taken literally (the permission-check use).
    const TOKS: [&str; 7] = ["a", "b", "c", "d", "a*", "*", ">"];
    let len = rng.random_range(1..=6);
    let toks: Vec<&str> = (0..len)
        .map(|_| {
            let i = if rng.random_bool(0.9) {
                rng.random_range(0..5)
            } else {
                rng.random_range(5..7)
            };
            TOKS[i]
        })
        .collect();
    toks.join(".").into_bytes()
}

#[test]
fn randomized_against_naive_model() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    let mut cached: Sublist<u32> = Sublist::new();
    let mut tiny: Sublist<u32> = Sublist::with_cache_capacity(3);
    let mut uncached: Sublist<u32> = Sublist::with_cache_capacity(0);
    let mut model: Vec<ModelEntry> = Vec::new();
    let queues: [Option<&[u8]>; 4] = [None, None, Some(b"q1"), Some(b"q2")];
    for op in 0..6000 {
        let insert = model.is_empty() || rng.random_bool(0.55);
        if insert {
            let pat = random_pattern(&mut rng);
            let q = queues[rng.random_range(0..queues.len())];
            let item = rng.random_range(0..50u32);
            for sl in [&mut cached, &mut tiny, &mut uncached] {
                sl.insert(&pat, q, item).unwrap();
            }
            model.push((pat, q.map(<[u8]>::to_vec), item));
        } else if rng.random_bool(0.9) {
            let i = rng.random_range(0..model.len());
            let (pat, q, item) = model.swap_remove(i);
            for sl in [&mut cached, &mut tiny, &mut uncached] {
                assert!(
                    sl.remove(&pat, q.as_deref(), &item),
                    "op {op}: remove present entry"
                );
            }
        } else {
            // Remove something probably absent: must agree with the model.
            let pat = random_pattern(&mut rng);
            let q = queues[rng.random_range(0..queues.len())];
            let item = rng.random_range(0..50u32);
            let pos = model
                .iter()
                .position(|(p, mq, mi)| *p == pat && mq.as_deref() == q && *mi == item);
            if let Some(i) = pos {
                model.swap_remove(i);
            }
            for sl in [&mut cached, &mut tiny, &mut uncached] {
                assert_eq!(
                    sl.remove(&pat, q, &item),
                    pos.is_some(),
                    "op {op}: remove maybe-absent"
                );
            }
        }
        for _ in 0..4 {
            let subject = random_subject(&mut rng);
            let want = model_match(&model, &subject);
            let any = !want.0.is_empty() || !want.1.is_empty();
            for sl in [&mut cached, &mut tiny, &mut uncached] {
                assert_eq!(
                    canon(&sl.matches(&subject)),
                    want,
                    "op {op}: {:?}",
                    String::from_utf8_lossy(&subject)
                );
                assert_eq!(canon(&sl.matches(&subject)), want, "op {op}: repeat");
                assert_eq!(
                    canon(&sl.matches_uncached(&subject)),
                    want,
                    "op {op}: uncached"
                );
                assert_eq!(sl.has_match(&subject), any, "op {op}: has_match");
                // Groups come sorted by name, one per name, each found by `queue`.
                let r = sl.matches(&subject);
                assert!(
                    r.queues.windows(2).all(|w| w[0].name < w[1].name),
                    "op {op}: queue groups not sorted"
                );
                for g in &r.queues {
                    assert_eq!(r.queue(&g.name).map(|f| &f.name), Some(&g.name));
                }
            }
        }
        assert_eq!(cached.count(), model.len());
        if op % 500 == 0 {
            let mut seen = Vec::new();
            cached.for_each(|s, q, i| seen.push((s.to_vec(), q.map(<[u8]>::to_vec), *i)));
            let mut want = model.clone();
            seen.sort();
            want.sort();
            assert_eq!(seen, want, "op {op}: for_each");
            assert!(tiny.stats().num_cache <= 3);
        }
    }
    // Drain: everything removed leaves an empty trie.
    for (pat, q, item) in model.drain(..) {
        assert!(cached.remove(&pat, q.as_deref(), &item));
    }
    assert_eq!(cached.count(), 0);
    assert_eq!(cached.node_count(), 0);
    assert!(cached.stats().cache_hits > 0);
}

#[test]
fn sublist_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Sublist<()>>();
    check::<Sublist<u16>>();
}

#[test]
fn thousands_of_queue_groups_on_one_subject() {
    // Inserts, matches and removals stay fast with many groups (they are kept sorted).
    let mut sl = Sublist::new();
    for g in 0..5000u32 {
        sl.insert(b"q.>", Some(format!("g{g}").as_bytes()), g)
            .unwrap();
        sl.insert(b"q.x", Some(format!("g{g}").as_bytes()), g + 10_000)
            .unwrap();
    }
    let r = sl.matches(b"q.x");
    assert_eq!(r.queues.len(), 5000);
    let mut g7 = r.queue(b"g7").unwrap().members.clone();
    g7.sort();
    assert_eq!(g7, vec![7, 10_007]);
    assert!(r.queue(b"nope").is_none());
    for g in 0..5000u32 {
        assert!(sl.remove(b"q.x", Some(format!("g{g}").as_bytes()), &(g + 10_000)));
    }
    assert_eq!(sl.matches(b"q.x").queue(b"g7").unwrap().members, vec![7]);
}
