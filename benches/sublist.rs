//! Sublist match cost with 10k subscriptions, next to the naive baseline (a linear scan with `matches`).
//!
//! Cases: a literal subject that hits one literal entry, and a subject that hits wildcard entries
//! (`*` and `>` at several depths plus a queue group). Each is measured with a warm cache (hit), with the
//! cache disabled (every call walks the trie), and with the naive scan.
//! Run: `cargo bench --bench sublist -- --quick`.

use std::hint::black_box;

use corenats::subject::{matches, Sublist};
use criterion::{criterion_group, criterion_main, Criterion};

const SUBS: u32 = 10_000;

/// 10k patterns: 9,800 literals `svc.<a>.<b>.data`, 100 `svc.<a>.*.data`, 100 `svc.<a>.>` in a queue group.
fn patterns() -> Vec<(String, Option<&'static [u8]>)> {
    let mut out = Vec::new();
    for i in 0..SUBS - 200 {
        out.push((format!("svc.{}.{}.data", i % 100, i), None));
    }
    for a in 0..100 {
        out.push((format!("svc.{a}.*.data"), None));
        out.push((format!("svc.{a}.>"), Some(&b"workers"[..])));
    }
    out
}

fn build(cache: usize) -> Sublist<u32> {
    let mut sl = Sublist::with_cache_capacity(cache);
    for (i, (p, q)) in patterns().iter().enumerate() {
        if sl.insert(p.as_bytes(), *q, i as u32).is_err() {
            panic!("bench pattern {p} is invalid");
        }
    }
    sl
}

fn naive_count(pats: &[(String, Option<&'static [u8]>)], subject: &[u8]) -> usize {
    pats.iter()
        .filter(|(p, _)| matches(p.as_bytes(), subject))
        .count()
}

fn bench(c: &mut Criterion) {
    let pats = patterns();
    let mut cached = build(1024);
    let mut uncached = build(0);
    // `svc.7.4207.data` hits the literal entry plus `svc.7.*.data` and `svc.7.>`;
    // `svc.7.none.data` hits only the wildcard entries; `other.x` hits nothing.
    let cases: [(&str, &[u8]); 3] = [
        ("literal", b"svc.7.4207.data"),
        ("wildcard", b"svc.7.none.data"),
        ("no_interest", b"other.x"),
    ];
    for (name, subject) in cases {
        let mut g = c.benchmark_group(format!("match_10k/{name}"));
        g.bench_function("cache_hit", |b| {
            b.iter(|| cached.matches(black_box(subject)).fanout())
        });
        g.bench_function("no_cache", |b| {
            b.iter(|| uncached.matches(black_box(subject)).fanout())
        });
        g.bench_function("has_match", |b| {
            b.iter(|| uncached.has_match(black_box(subject)))
        });
        g.bench_function("naive_scan", |b| {
            b.iter(|| naive_count(&pats, black_box(subject)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
