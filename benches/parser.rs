//! Parser throughput: a read buffer of 1000 `PUB foo.bar 16` ops, and one of 1000 HPUBs,
//! parsed by `protocol::Parser` next to a naive baseline (split lines on `\r\n` with std,
//! `str::split_whitespace`, `str::parse`), which handles neither split reads nor the NATS
//! quirks, so it is a floor to beat, not a competitor.

use std::hint::black_box;
use std::time::Duration;

use corenats::protocol::{ClientOp, Parser};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const N: usize = 1000;

fn pubs() -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..N {
        v.extend_from_slice(b"PUB foo.bar 16\r\n0123456789abcdef\r\n");
    }
    v
}

fn hpubs() -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..N {
        v.extend_from_slice(
            b"HPUB foo.bar _INBOX.abc 20 36\r\nNATS/1.0\r\nA: bcd\r\n\r\n0123456789abcdef\r\n",
        );
    }
    v
}

/// Parses the whole buffer with the real parser; returns the payload bytes seen.
fn parse_real(p: &mut Parser, buf: &[u8]) -> usize {
    let mut pos = 0;
    let mut total = 0;
    while let Ok(Some(op)) = p.parse(buf, &mut pos) {
        total += match op {
            ClientOp::Pub { payload, .. } => payload.len(),
            ClientOp::HPub {
                headers, payload, ..
            } => headers.len() + payload.len(),
            _ => 0,
        };
    }
    total
}

/// The naive way: find each `\r\n`, split the line on whitespace, parse the size, skip
/// the payload.
fn parse_naive(buf: &[u8]) -> usize {
    let mut pos = 0;
    let mut total = 0;
    while pos < buf.len() {
        let Some(end) = buf[pos..].windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let Ok(line) = std::str::from_utf8(&buf[pos..pos + end]) else {
            break;
        };
        let args: Vec<&str> = line.split_whitespace().collect();
        let size: usize = match args.as_slice() {
            ["PUB", _, s] | ["PUB", _, _, s] => s.parse().unwrap_or(0),
            ["HPUB", _, _, s] | ["HPUB", _, _, _, s] => s.parse().unwrap_or(0),
            _ => 0,
        };
        let start = pos + end + 2;
        total += black_box(&buf[start..start + size]).len();
        pos = start + size + 2;
    }
    total
}

fn bench(c: &mut Criterion) {
    for (name, buf) in [("pub", pubs()), ("hpub", hpubs())] {
        let mut g = c.benchmark_group(format!("parse_1000_{name}"));
        g.throughput(Throughput::Bytes(buf.len() as u64));
        // Both must see every payload byte, or the comparison means nothing.
        let mut p = Parser::new(4096, 1 << 20);
        assert_eq!(parse_real(&mut p, &buf), parse_naive(&buf));
        assert!(parse_naive(&buf) >= N * 16);
        g.bench_function("corenats", |b| {
            let mut p = Parser::new(4096, 1 << 20);
            b.iter(|| parse_real(&mut p, black_box(&buf)))
        });
        g.bench_function("naive_std_split", |b| {
            b.iter(|| parse_naive(black_box(&buf)))
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
