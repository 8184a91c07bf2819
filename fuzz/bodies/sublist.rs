//! Fuzz body: random insert/remove/match sequences on `Sublist`, checked against a plain Vec model
//! matched with the naive `matches()`. Also checks that `matches`, `matches_uncached` and `has_match`
//! agree, and that queue groups come sorted by name. Input bytes are read as ops; subjects are drawn
//! from a small token alphabet so that patterns collide, with occasional raw bytes (invalid subjects
//! must be rejected, never panic).

use corenats::subject::{is_valid_subject, matches, MatchResult, Sublist};

const TOKS: [&[u8]; 8] = [b"a", b"b", b"*", b">", b"a*", b"", b" ", b"c"];

/// Reads a subject from the input: a length byte, then one token index per token.
fn subject(data: &mut &[u8]) -> Vec<u8> {
    let Some((&len, rest)) = data.split_first() else {
        return b"a".to_vec();
    };
    *data = rest;
    let mut out = Vec::new();
    for i in 0..(len % 6) as usize + 1 {
        let Some((&t, rest)) = data.split_first() else {
            break;
        };
        *data = rest;
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(TOKS[t as usize % TOKS.len()]);
    }
    out
}

/// A match result in a comparable form: sorted plain items, and (queue name, sorted members) pairs.
type Canon = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>);

fn canon(r: &MatchResult<u8>) -> Canon {
    let mut plain = r.plain.clone();
    plain.sort_unstable();
    let mut queues: Vec<_> = r
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

/// The check for one input.
pub fn check(input: &[u8]) {
    let mut data = input;
    let mut sl: Sublist<u8> = Sublist::with_cache_capacity(4);
    let mut model: Vec<(Vec<u8>, Option<Vec<u8>>, u8)> = Vec::new();
    while let Some((&op, rest)) = data.split_first() {
        data = rest;
        let s = subject(&mut data);
        let queue: Option<&[u8]> = match op >> 6 {
            0 => Some(b"q"),
            1 => Some(b"r"),
            _ => None,
        };
        let item = op & 0x7;
        match (op >> 3) & 0x7 {
            0..=2 => {
                let ok = sl.insert(&s, queue, item).is_ok();
                assert_eq!(ok, is_valid_subject(&s));
                if ok {
                    model.push((s, queue.map(<[u8]>::to_vec), item));
                }
            }
            3..=4 => {
                let pos = model
                    .iter()
                    .position(|(p, q, i)| *p == s && q.as_deref() == queue && *i == item);
                assert_eq!(sl.remove(&s, queue, &item), pos.is_some());
                if let Some(i) = pos {
                    model.swap_remove(i);
                }
            }
            _ => {
                let mut want = MatchResult::empty();
                for (p, q, i) in &model {
                    if !matches(p, &s) {
                        continue;
                    }
                    match q {
                        None => want.plain.push(*i),
                        Some(q) => {
                            match want.queues.iter_mut().find(|g| &*g.name == q.as_slice()) {
                                Some(g) => g.members.push(*i),
                                None => want.queues.push(corenats::subject::QueueGroup {
                                    name: q.clone().into(),
                                    members: vec![*i],
                                }),
                            }
                        }
                    }
                }
                let want = canon(&want);
                let got = sl.matches(&s);
                assert!(got.queues.windows(2).all(|w| w[0].name < w[1].name));
                assert_eq!(canon(&got), want);
                assert_eq!(canon(&sl.matches(&s)), want);
                assert_eq!(canon(&sl.matches_uncached(&s)), want);
                assert_eq!(sl.has_match(&s), !want.0.is_empty() || !want.1.is_empty());
            }
        }
        assert_eq!(sl.count(), model.len());
    }
}
