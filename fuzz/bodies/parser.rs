//! Fuzz body for the client protocol parser: any bytes, cut at any points, must never panic or
//! stall, and must give the same ops and the same error as the unsplit input.
//!
//! Input layout: byte 0 = number of cut points (mod 16), then that many bytes of cut offsets (each
//! taken mod the remaining length), then the protocol bytes. Shared by the libFuzzer target
//! (`fuzz_targets/parser.rs`) and the stable test (`tests/fuzz_bodies.rs`).

use corenats::protocol::{ClientOp, ParseError, Parser};

/// Owned form of an op, for comparing runs.
fn own(op: ClientOp<'_>) -> String {
    format!("{op:?}")
}

fn run(chunks: &[&[u8]]) -> (Vec<String>, Option<ParseError>) {
    // Small limits so that the limit paths are reached often.
    let mut p = Parser::new(64, 128);
    let mut ops = Vec::new();
    for chunk in chunks {
        let mut pos = 0;
        loop {
            let before = pos;
            match p.parse(chunk, &mut pos) {
                Ok(Some(op)) => {
                    assert!(pos > before && pos <= chunk.len());
                    ops.push(own(op));
                }
                Ok(None) => {
                    assert_eq!(pos, chunk.len());
                    break;
                }
                Err(e) => return (ops, Some(e)),
            }
        }
    }
    (ops, None)
}

/// The check for one input.
pub fn check(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 16).min(rest.len());
    let (cuts, input) = rest.split_at(n);
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut tail = input;
    for &c in cuts {
        if tail.is_empty() {
            break;
        }
        let k = usize::from(c) % tail.len();
        let (a, b) = tail.split_at(k);
        chunks.push(a);
        tail = b;
    }
    chunks.push(tail);
    let whole = run(&[input]);
    let split = run(&chunks);
    assert_eq!(whole, split);
    let bytewise: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(whole, run(&bytewise));
}
