//! The fuzz targets' checks (`fuzz/bodies/`), run on stable Rust for a bounded time: every seed of
//! `fuzz/seeds/<target>/`, then random mutations of them (bit flips, byte inserts and deletions,
//! splices, random bytes). This is what CI runs (it has no nightly toolchain for libFuzzer); the long
//! coverage-guided runs are recorded in `docs/FUZZING.md`.
//!
//! Each body gets `FUZZ_SECONDS` seconds (default 2) after its seeds; `FUZZ_SEED=n` replays a run
//! (the seed is printed).

#[path = "../../fuzz/bodies/config.rs"]
mod config;
#[path = "../../fuzz/bodies/connect.rs"]
mod connect;
#[path = "../../fuzz/bodies/link.rs"]
mod link;
#[path = "../../fuzz/bodies/parser.rs"]
mod parser;
#[path = "../../fuzz/bodies/sublist.rs"]
mod sublist;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    out.push(Vec::new());
    out
}

/// One random mutation of `input` (or of a splice with `other`).
fn mutate(rng: &mut StdRng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        match rng.random_range(0..6) {
            0 if !v.is_empty() => {
                let i = rng.random_range(0..v.len());
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let i = rng.random_range(0..=v.len());
                v.insert(i, rng.random());
            }
            2 if !v.is_empty() => {
                let i = rng.random_range(0..v.len());
                let n = rng.random_range(1..=(v.len() - i).min(8));
                v.drain(i..i + n);
            }
            3 if !other.is_empty() => {
                let i = rng.random_range(0..=v.len());
                let a = rng.random_range(0..other.len());
                let b = rng.random_range(a..=other.len());
                v.splice(i..i, other[a..b].iter().copied());
            }
            4 if !v.is_empty() => {
                // Repeat a slice (deep nesting, long tokens).
                let a = rng.random_range(0..v.len());
                let b = rng.random_range(a..=v.len().min(a + 16));
                let chunk = v[a..b].to_vec();
                for _ in 0..rng.random_range(1..64) {
                    v.splice(a..a, chunk.iter().copied());
                }
            }
            _ => {
                let n = rng.random_range(0..32);
                v.extend((0..n).map(|_| rng.random::<u8>()));
            }
        }
    }
    v
}

fn run(target: &str, check: fn(&[u8])) {
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    let secs = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    eprintln!("{target}: FUZZ_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let corpus = seeds(target);
    for s in &corpus {
        check(s);
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut n = 0u64;
    while Instant::now() < deadline {
        let a = &corpus[rng.random_range(0..corpus.len())];
        let b = &corpus[rng.random_range(0..corpus.len())];
        let input = mutate(&mut rng, a, b);
        check(&input);
        n += 1;
    }
    eprintln!("{target}: {n} random inputs");
}

#[test]
fn parser_body() {
    run("parser", parser::check);
}

#[test]
fn sublist_body() {
    run("sublist", sublist::check);
}

#[test]
fn config_body() {
    run("config", config::check);
}

#[test]
fn connect_body() {
    run("connect", connect::check);
}

#[test]
fn link_body() {
    run("link", link::check);
}
