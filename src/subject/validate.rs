//! Subject rules on raw bytes: validity, wildcard detection, the naive reference
//! matcher, and the set relations between two patterns (`is_subset`, `collide`) that permission checks need.
//!
//! None of these functions allocate. Tokens are split on `.`; a token is a wildcard only when it is exactly
//! `*` (one token) or `>` (one or more tokens, only as the last token).

/// The token separator.
pub(crate) const SEP: u8 = b'.';
/// The single-token wildcard, as a whole token.
pub(crate) const PWC: &[u8] = b"*";
/// The full (tail) wildcard, as a whole token.
pub(crate) const FWC: &[u8] = b">";

/// Bytes that may never appear in a subject: space, tab, CR, LF.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Iterates the tokens of a subject (`a..b` yields an empty token; an empty subject yields one empty token).
fn tokens(s: &[u8]) -> std::slice::Split<'_, u8, impl FnMut(&u8) -> bool> {
    s.split(|b| *b == SEP)
}

/// True if `s` is a valid SUB subject: non-empty, no empty token, no whitespace, and `>` only as the whole
/// last token. `*` may be any whole token. `foo*`, `>foo` and `a*b` are literal tokens and are valid.
pub fn is_valid_subject(s: &[u8]) -> bool {
    if s.is_empty() || s.iter().any(|b| is_space(*b)) {
        return false;
    }
    let mut saw_fwc = false;
    for tok in tokens(s) {
        if tok.is_empty() || saw_fwc {
            return false;
        }
        saw_fwc = tok == FWC;
    }
    true
}

/// True if `s` is valid and has no wildcard token, i.e. it can be published to.
pub fn is_valid_literal_subject(s: &[u8]) -> bool {
    is_valid_subject(s) && !has_wildcard(s)
}

/// True if any whole token of `s` is `*` or `>`. Does not check validity.
pub fn has_wildcard(s: &[u8]) -> bool {
    tokens(s).any(|t| t == PWC || t == FWC)
}

/// The naive reference matcher: does `pattern` match `subject`?
///
/// `pattern` tokens `*`/`>` are wildcards; `subject` tokens are taken literally, so pattern `foo.*` matches
/// subject `foo.*` and `foo.x`, but pattern `foo.x` does not match subject `foo.*`. A subject that is empty
/// or has an empty token matches nothing (as in [`super::Sublist::matches`]).
pub fn matches(pattern: &[u8], subject: &[u8]) -> bool {
    if subject.is_empty() || tokens(subject).any(|t| t.is_empty()) {
        return false;
    }
    let mut subj = tokens(subject);
    for ptok in tokens(pattern) {
        let Some(stok) = subj.next() else {
            return false; // pattern is longer than the subject
        };
        if ptok == FWC {
            return true; // `stok` is the first of one or more remaining tokens
        }
        if ptok != PWC && ptok != stok {
            return false;
        }
    }
    subj.next().is_none()
}

/// True if every literal subject matched by `sub` (which may hold wildcards) is also matched by `of`.
///
/// `foo.*` is a subset of `foo.>` and of `foo.*`; `foo.>` is not a subset of `foo.*`; `foo.*` is not a subset
/// of `foo.bar`. Both arguments are read as patterns; call it only on valid subjects.
pub fn is_subset(sub: &[u8], of: &[u8]) -> bool {
    let mut s = tokens(sub);
    for otok in tokens(of) {
        let Some(stok) = s.next() else {
            return false; // `sub` matches subjects shorter than any `of` matches
        };
        if otok == FWC {
            return true; // `stok` (even `>`) needs at least one token, which `>` covers
        }
        if stok == FWC {
            return false; // `sub` reaches arbitrarily long subjects, `of` does not
        }
        if otok == PWC {
            continue; // any single token, including `*`
        }
        if stok == PWC || stok != otok {
            return false;
        }
    }
    s.next().is_none()
}

/// True if some literal subject is matched by both `a` and `b` (both read as patterns).
pub fn collide(a: &[u8], b: &[u8]) -> bool {
    let mut at = tokens(a);
    let mut bt = tokens(b);
    loop {
        match (at.next(), bt.next()) {
            (None, None) => return true,
            (None, Some(_)) | (Some(_), None) => return false,
            (Some(x), Some(y)) => {
                if x == FWC || y == FWC {
                    return true; // the other side has a token here; `>` absorbs it and the rest
                }
                if x != PWC && y != PWC && x != y {
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_subjects() {
        let table: &[(&[u8], bool)] = &[
            (b"foo", true),
            (b"foo.bar", true),
            (b"foo.*", true),
            (b"foo.>", true),
            (b">", true),
            (b"*", true),
            (b"*.*.>", true),
            (b"foo*", true),
            (b">foo", true),
            (b"foo.bar*baz", true),
            (b"foo.*bar.>x", true),
            (b"$SYS.\xc3\xa9/x", true),
            (b"nul\0byte", true),
            (b"", false),
            (b".", false),
            (b".foo", false),
            (b"foo.", false),
            (b"foo..bar", false),
            (b"foo.>.bar", false),
            (b"a.>.>", false),
            (b">.a", false),
            (b"foo bar", false),
            (b"foo\tbar", false),
            (b"foo\r", false),
            (b"foo\nbar", false),
        ];
        for (s, want) in table {
            assert_eq!(
                is_valid_subject(s),
                *want,
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn literal_subjects_and_wildcards() {
        let table: &[(&[u8], bool, bool)] = &[
            // subject, has_wildcard, is_valid_literal_subject
            (b"foo.bar", false, true),
            (b"foo*", false, true),
            (b">foo", false, true),
            (b"foo.bar*baz", false, true),
            (b"foo.*", true, false),
            (b"*", true, false),
            (b">", true, false),
            (b"foo.>", true, false),
            (b"a.*.b", true, false),
            (b"foo..bar", false, false),
            (b"", false, false),
        ];
        for (s, wc, lit) in table {
            let name = String::from_utf8_lossy(s);
            assert_eq!(has_wildcard(s), *wc, "has_wildcard {name}");
            assert_eq!(is_valid_literal_subject(s), *lit, "literal {name}");
        }
    }

    #[test]
    fn naive_matches() {
        let table: &[(&[u8], &[u8], bool)] = &[
            (b"foo", b"foo", true),
            (b"foo", b"bar", false),
            (b"foo", b"Foo", false),
            (b"foo.bar", b"foo", false),
            (b"foo", b"foo.bar", false),
            (b"foo.*", b"foo.bar", true),
            (b"foo.*", b"foo", false),
            (b"foo.*", b"foo.bar.baz", false),
            (b"*", b"foo", true),
            (b"*.*", b"a.b", true),
            (b"foo.>", b"foo.bar", true),
            (b"foo.>", b"foo.bar.baz", true),
            (b"foo.>", b"foo", false),
            (b">", b"a", true),
            (b">", b"a.b.c", true),
            (b"*.bar.>", b"x.bar.y.z", true),
            (b"*.bar.>", b"x.baz.y", false),
            // Subject tokens are literal.
            (b"foo.*", b"foo.*", true),
            (b"foo.>", b"foo.>", true),
            (b"foo.>", b"foo.*", true),
            (b"foo.x", b"foo.*", false),
            (b"foo.*", b"foo.>", true),
            // `foo*` is a literal token.
            (b"foo*", b"foo*", true),
            (b"foo*", b"foox", false),
            // Subjects with empty tokens match nothing.
            (b">", b"", false),
            (b"*.*", b"a.", false),
            (b">", b"a..b", false),
        ];
        for (p, s, want) in table {
            let (pn, sn) = (String::from_utf8_lossy(p), String::from_utf8_lossy(s));
            assert_eq!(matches(p, s), *want, "pattern {pn} subject {sn}");
        }
    }

    #[test]
    fn subset_table() {
        let table: &[(&[u8], &[u8], bool)] = &[
            (b"foo.bar", b"foo.bar", true),
            (b"foo.bar", b"foo.*", true),
            (b"foo.bar", b"foo.>", true),
            (b"foo.bar", b">", true),
            (b"foo.*", b"foo.>", true),
            (b"foo.*", b"foo.*", true),
            (b"foo.>", b"foo.>", true),
            (b"foo.*.>", b"foo.>", true),
            (b"svc.a.*", b"svc.a.>", true),
            (b"svc.a.>", b"svc.a.>", true),
            (b"svc.*", b"svc.a.>", false),
            (b"foo.>", b"foo.*", false),
            (b"foo.*", b"foo.bar", false),
            (b"foo", b"foo.>", false),
            (b"foo.bar", b"foo", false),
            (b"foo", b"foo.bar", false),
            (b">", b"*", false),
            (b"*", b">", true),
            (b"*.*", b"*.>", true),
        ];
        for (a, b, want) in table {
            let (an, bn) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
            assert_eq!(is_subset(a, b), *want, "{an} subset of {bn}");
        }
    }

    #[test]
    fn collide_table() {
        let table: &[(&[u8], &[u8], bool)] = &[
            (b"foo.bar", b"foo.bar", true),
            (b"foo.bar", b"foo.baz", false),
            (b"foo.*", b"foo.bar", true),
            (b"foo.*", b"*.bar", true),
            (b"foo.*", b"bar.*", false),
            (b"foo.>", b"foo", false),
            (b"foo.>", b"foo.a.b", true),
            (b"foo.>", b"*.*.*", true),
            (b"*", b"foo.bar", false),
            (b">", b"foo.bar", true),
            (b"a.>", b"*.b.>", true),
            (b"svc.a.secret", b">", true),
            (b"foo*", b"foo.*", false),
        ];
        for (a, b, want) in table {
            let (an, bn) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
            assert_eq!(collide(a, b), *want, "{an} collide {bn}");
            assert_eq!(collide(b, a), *want, "{bn} collide {an} (symmetric)");
        }
    }

    /// Every pattern of up to 3 tokens over {a, b, *, >} against every literal subject of up to 4 tokens
    /// over {a, b, z}: `is_subset` and `collide` agree with their definitions over that finite universe.
    /// (One extra token and one extra length are enough to witness any difference.)
    #[test]
    fn subset_and_collide_agree_with_brute_force() {
        fn all(alphabet: &[&str], max_len: usize, fwc_last_only: bool) -> Vec<Vec<u8>> {
            let mut out: Vec<Vec<String>> = vec![vec![]];
            let mut res = Vec::new();
            for _ in 0..max_len {
                let mut next = Vec::new();
                for prefix in &out {
                    if prefix.last().map(|t| t == ">").unwrap_or(false) && fwc_last_only {
                        continue;
                    }
                    for t in alphabet {
                        let mut p = prefix.clone();
                        p.push((*t).to_string());
                        res.push(p.join(".").into_bytes());
                        next.push(p);
                    }
                }
                out = next;
            }
            res.retain(|s| is_valid_subject(s));
            res
        }
        let patterns = all(&["a", "b", "*", ">"], 3, true);
        let literals = all(&["a", "b", "z"], 4, false);
        for p in &patterns {
            for q in &patterns {
                let subset = literals.iter().all(|s| !matches(p, s) || matches(q, s));
                let coll = literals.iter().any(|s| matches(p, s) && matches(q, s));
                let (pn, qn) = (String::from_utf8_lossy(p), String::from_utf8_lossy(q));
                assert_eq!(is_subset(p, q), subset, "{pn} subset of {qn}");
                assert_eq!(collide(p, q), coll, "{pn} collide {qn}");
            }
        }
    }
}
