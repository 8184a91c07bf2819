//! [`SubjectTransform`]: rewrites a subject that matched a source pattern into a destination subject.
//! Used for stream-import `prefix`/`to`, service-import `to`, and account `mappings`.
//!
//! Destination templates: literal tokens; `$N` or `{{wildcard(N)}}` (the N-th `*` of the
//! source, 1-based); a bare `*` (the next source `*`, in order: the legacy positional form); and a final `>`
//! (the tokens the source's `>` matched). Other mapping functions (`partition`, `split`, ...) are rejected
//! for now. Built once at config load; `apply` never allocates beyond growing the caller's buffer.

/// How to rewrite a subject. See the module doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTransform {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// The subject is kept as it is.
    Identity,
    /// `prefix.` is put in front (the stored value already ends with `.`).
    Prefix(Box<[u8]>),
    /// A destination template over a source pattern.
    Template(Template),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Template {
    /// Number of tokens in the source pattern (including a final `>`).
    src_tokens: usize,
    /// True if the source ends with `>` (then the subject has at least `src_tokens` tokens).
    src_fwc: bool,
    /// The destination, token by token; a `.` goes between consecutive parts.
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// A literal destination token.
    Literal(Box<[u8]>),
    /// The subject token at this index (a `*` position of the source).
    Token(usize),
    /// The subject tokens from this index to the end (what the source's `>` matched).
    Tail(usize),
}

impl SubjectTransform {
    /// Keeps subjects unchanged.
    pub fn identity() -> Self {
        SubjectTransform {
            kind: Kind::Identity,
        }
    }

    /// Puts `prefix` and a `.` in front (stream import `prefix`). A trailing `.` in `prefix` is not doubled.
    pub fn prefix(prefix: &str) -> Result<Self, String> {
        if prefix.is_empty()
            || !crate::subject::is_valid_subject(prefix.trim_end_matches('.').as_bytes())
        {
            return Err(format!("invalid prefix {prefix:?}"));
        }
        if crate::subject::has_wildcard(prefix.as_bytes()) {
            return Err("stream import prefix can not contain wildcard tokens".to_string());
        }
        let mut p = prefix.as_bytes().to_vec();
        if p.last() != Some(&b'.') {
            p.push(b'.');
        }
        Ok(SubjectTransform {
            kind: Kind::Prefix(p.into()),
        })
    }

    /// Maps subjects matching `source` onto the `dest` template. Errors name the problem (no subject quoted;
    /// callers add their own context).
    pub fn template(source: &str, dest: &str) -> Result<Self, String> {
        let src = source.as_bytes();
        if !crate::subject::is_valid_subject(src) {
            return Err(format!("invalid source subject {source:?}"));
        }
        let src_toks: Vec<&[u8]> = src.split(|b| *b == b'.').collect();
        let src_fwc = src_toks.last().is_some_and(|t| *t == b">");
        // Token index of each `*` in the source, in order.
        let stars: Vec<usize> = (0..src_toks.len())
            .filter(|i| src_toks[*i] == b"*")
            .collect();
        let mut next_star = 0usize;
        let mut parts = Vec::new();
        let dest_toks: Vec<&str> = dest.split('.').collect();
        for (i, tok) in dest_toks.iter().enumerate() {
            let t = tok.trim();
            if t.is_empty() {
                return Err(format!("invalid destination subject {dest:?}"));
            }
            if t == ">" {
                if i + 1 != dest_toks.len() || !src_fwc {
                    return Err(format!(
                        "destination {dest:?}: '>' needs a '>' at the end of the source"
                    ));
                }
                parts.push(Part::Tail(src_toks.len() - 1));
            } else if t == "*" {
                let Some(&pos) = stars.get(next_star) else {
                    return Err(format!("destination {dest:?} has more '*' than the source"));
                };
                next_star += 1;
                parts.push(Part::Token(pos));
            } else if let Some(n) = wildcard_ref(t)? {
                let Some(&pos) = n.checked_sub(1).and_then(|k| stars.get(k)) else {
                    return Err(format!(
                        "destination {dest:?}: wildcard {n} is not in the source"
                    ));
                };
                parts.push(Part::Token(pos));
            } else {
                if tok.bytes().any(|b| b.is_ascii_whitespace()) {
                    return Err(format!("invalid destination subject {dest:?}"));
                }
                parts.push(Part::Literal(tok.as_bytes().into()));
            }
        }
        Ok(SubjectTransform {
            kind: Kind::Template(Template {
                src_tokens: src_toks.len(),
                src_fwc,
                parts,
            }),
        })
    }

    /// True if this transform leaves subjects unchanged.
    pub fn is_identity(&self) -> bool {
        matches!(self.kind, Kind::Identity)
    }

    /// Writes the transformed `subject` into `out` (cleared first). `subject` must be a literal subject that
    /// matched the source pattern; returns false (and leaves `out` empty) if its token count does not fit.
    pub fn apply(&self, subject: &[u8], out: &mut Vec<u8>) -> bool {
        out.clear();
        match &self.kind {
            Kind::Identity => {
                out.extend_from_slice(subject);
                true
            }
            Kind::Prefix(p) => {
                out.extend_from_slice(p);
                out.extend_from_slice(subject);
                true
            }
            Kind::Template(t) => {
                let n = subject.split(|b| *b == b'.').count();
                if n < t.src_tokens || (!t.src_fwc && n != t.src_tokens) {
                    return false;
                }
                for (i, part) in t.parts.iter().enumerate() {
                    if i > 0 {
                        out.push(b'.');
                    }
                    match part {
                        Part::Literal(l) => out.extend_from_slice(l),
                        Part::Token(k) => {
                            if let Some(tok) = subject.split(|b| *b == b'.').nth(*k) {
                                out.extend_from_slice(tok);
                            }
                        }
                        Part::Tail(k) => {
                            out.extend_from_slice(&subject[token_offset(subject, *k)..])
                        }
                    }
                }
                true
            }
        }
    }
}

/// Byte offset where token `k` (0-based) starts; the caller has checked that it exists.
fn token_offset(subject: &[u8], k: usize) -> usize {
    if k == 0 {
        return 0;
    }
    let mut seen = 0;
    for (i, b) in subject.iter().enumerate() {
        if *b == b'.' {
            seen += 1;
            if seen == k {
                return i + 1;
            }
        }
    }
    subject.len()
}

/// Parses `$N` or `{{wildcard(N)}}` (spaces allowed inside the braces). `Ok(None)`: a literal token.
/// Any other `{{...}}` function is an error.
fn wildcard_ref(tok: &str) -> Result<Option<usize>, String> {
    if let Some(d) = tok.strip_prefix('$') {
        if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) {
            return d
                .parse()
                .map(Some)
                .map_err(|_| format!("bad wildcard reference {tok:?}"));
        }
        return Ok(None);
    }
    let Some(inner) = tok.strip_prefix("{{").and_then(|t| t.strip_suffix("}}")) else {
        if tok.contains("{{") {
            return Err(format!("mapping functions must be whole tokens: {tok:?}"));
        }
        return Ok(None);
    };
    let inner = inner.trim();
    let lower = inner.to_ascii_lowercase();
    let Some(arg) = lower
        .strip_prefix("wildcard(")
        .and_then(|a| a.strip_suffix(')'))
    else {
        return Err(format!("mapping function {inner:?} is not supported"));
    };
    arg.trim()
        .parse()
        .map(Some)
        .map_err(|_| format!("bad wildcard reference {tok:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &SubjectTransform, s: &str) -> Option<String> {
        let mut out = Vec::new();
        t.apply(s.as_bytes(), &mut out)
            .then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn identity_and_prefix() {
        assert_eq!(
            run(&SubjectTransform::identity(), "a.b").as_deref(),
            Some("a.b")
        );
        let p = SubjectTransform::prefix("fromA").unwrap();
        assert_eq!(run(&p, "pub.news").as_deref(), Some("fromA.pub.news"));
        let p = SubjectTransform::prefix("fromA.").unwrap();
        assert_eq!(run(&p, "pub.news").as_deref(), Some("fromA.pub.news"));
        assert_eq!(
            SubjectTransform::prefix("a.*").unwrap_err(),
            "stream import prefix can not contain wildcard tokens"
        );
        assert!(SubjectTransform::prefix("").is_err());
    }

    #[test]
    fn tail_remap() {
        let t = SubjectTransform::template("pub.>", "x.>").unwrap();
        assert_eq!(run(&t, "pub.news").as_deref(), Some("x.news"));
        assert_eq!(run(&t, "pub.a.b.c").as_deref(), Some("x.a.b.c"));
        assert_eq!(run(&t, "pub"), None);
        let t = SubjectTransform::template("ahelp.>", "help.>").unwrap();
        assert_eq!(run(&t, "ahelp.me").as_deref(), Some("help.me"));
        let t = SubjectTransform::template("legacy.>", "modern.>").unwrap();
        assert_eq!(run(&t, "legacy.x.y").as_deref(), Some("modern.x.y"));
    }

    #[test]
    fn wildcard_references() {
        let t = SubjectTransform::template("old.*.x", "new.{{wildcard(1)}}.x").unwrap();
        assert_eq!(run(&t, "old.7.x").as_deref(), Some("new.7.x"));
        assert_eq!(run(&t, "old.7.y.z"), None);
        let t = SubjectTransform::template("in.*", "out.$1").unwrap();
        assert_eq!(run(&t, "in.7").as_deref(), Some("out.7"));
        let t = SubjectTransform::template("a.*.*.>", "b.$2.{{ wildcard( 1 ) }}.>").unwrap();
        assert_eq!(run(&t, "a.x.y.z.w").as_deref(), Some("b.y.x.z.w"));
        let t = SubjectTransform::template("a.*.*", "b.*.*").unwrap();
        assert_eq!(run(&t, "a.1.2").as_deref(), Some("b.1.2"));
    }

    #[test]
    fn literal_remap() {
        let t = SubjectTransform::template("a.b", "c.d.e").unwrap();
        assert_eq!(run(&t, "a.b").as_deref(), Some("c.d.e"));
        assert_eq!(run(&t, "a.b.c"), None);
    }

    #[test]
    fn template_errors() {
        assert!(SubjectTransform::template("a.*", "b.$2").is_err());
        assert!(SubjectTransform::template("a.*", "b.$0").is_err());
        assert!(SubjectTransform::template("a.*", "b.>").is_err());
        assert!(SubjectTransform::template("a.>", "b.>.c").is_err());
        assert!(SubjectTransform::template("a.*", "b.*.*").is_err());
        assert!(SubjectTransform::template("a..b", "c").is_err());
        assert!(SubjectTransform::template("a.b", "c..d").is_err());
        assert!(SubjectTransform::template("p.*", "p.{{partition(3,1)}}").is_err());
        assert!(SubjectTransform::template("p.*", "p.x{{wildcard(1)}}").is_err());
    }
}
