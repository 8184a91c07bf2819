//! Publish-permission cost: a user with 50 wildcard allow and 50 wildcard deny rules, checked through the
//! per-connection `PubCache` (warm) and uncached (`can_publish`), against an unrestricted user as baseline.
//!
//! Run: `cargo bench --bench permissions`. Record the results with CPU, kernel and toolchain.

use std::hint::black_box;

use corenats::auth::{Permissions, PubCache};
use corenats::config::{PermissionsSpec, SubjectPermSpec};
use criterion::{criterion_group, criterion_main, Criterion};

/// 50 wildcard allow rules (`svc.N.>` and `app.*.N`) and 50 wildcard deny rules (`svc.N.secret.*`, `app.*.N.x`).
fn restricted() -> Permissions {
    let allow = (0..25)
        .flat_map(|i| [format!("svc.{i}.>"), format!("app.*.{i}")])
        .collect();
    let deny = (0..25)
        .flat_map(|i| [format!("svc.{i}.secret.*"), format!("app.*.{i}.x")])
        .collect();
    Permissions::compile(&PermissionsSpec {
        publish: Some(SubjectPermSpec {
            allow: Some(allow),
            deny: Some(deny),
        }),
        subscribe: None,
        allow_responses: None,
    })
    .expect("valid rules")
}

/// 64 subjects (fits the 128-entry cache): allowed, denied by deny, and not allowed at all.
fn subjects() -> Vec<Vec<u8>> {
    (0..64)
        .map(|i| match i % 4 {
            0 => format!("svc.{}.orders.new", i % 25),
            1 => format!("svc.{}.secret.key", i % 25),
            2 => format!("app.eu.{}", i % 25),
            _ => format!("other.{i}.thing"),
        })
        .map(String::into_bytes)
        .collect()
}

fn bench(c: &mut Criterion) {
    let perms = restricted();
    let open = Permissions::compile(&PermissionsSpec::default()).expect("empty");
    let subs = subjects();
    let mut g = c.benchmark_group("publish_permission");

    let mut cache = PubCache::new();
    for s in &subs {
        cache.check(&perms, s);
    }
    let mut i = 0usize;
    g.bench_function("pubcache_check_cached_50allow_50deny", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            black_box(cache.check(&perms, black_box(&subs[i])))
        })
    });

    let mut i = 0usize;
    g.bench_function("can_publish_uncached_50allow_50deny", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            black_box(perms.can_publish(black_box(&subs[i])))
        })
    });

    let mut open_cache = PubCache::new();
    let mut i = 0usize;
    g.bench_function("baseline_unrestricted_pubcache_check", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            black_box(open_cache.check(&open, black_box(&subs[i])))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
