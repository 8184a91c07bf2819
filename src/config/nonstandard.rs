//! The four non-standard constructs of the founding example, recorded where they are met and
//! reported as ONE diagnostic per construct (warning; error in pedantic mode).
//!
//! One diagnostic per construct (not per occurrence) keeps a start-up log readable: the seed file
//! uses construct (1) four times and (3) four times. The diagnostic sits at the first occurrence,
//! shows the standard form for it, and lists the other occurrences as `line:col`.

use super::schema::Span;
use super::{Diagnostic, Severity};

/// Which construct was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Construct {
    /// (1) `account:a { ... }`: a bare key containing `:` before a block.
    ColonKey,
    /// (2) `users { name { ... } }`: users as a map of blocks.
    UsersMap,
    /// (3) `allow { "a.>" }`: a list written in braces.
    BraceList,
    /// (4) `allow`/`deny` directly under `permissions`.
    BarePermissions,
}

/// One occurrence: where, and the standard way to write this occurrence.
#[derive(Debug, Clone)]
struct Occurrence {
    construct: Construct,
    span: Span,
    what: String,
    standard: String,
}

/// Collects occurrences during parsing and building.
#[derive(Debug, Default)]
pub struct Recorder {
    seen: Vec<Occurrence>,
}

impl Recorder {
    /// Records one occurrence. `what` names what was written, `standard` the standard form.
    pub fn record(&mut self, construct: Construct, span: Span, what: String, standard: String) {
        self.seen.push(Occurrence {
            construct,
            span,
            what,
            standard,
        });
    }

    /// Moves the occurrences of another recorder (an included file's) into this one.
    pub fn absorb(&mut self, other: Recorder) {
        self.seen.extend(other.seen);
    }

    /// One diagnostic per construct met, at its first occurrence, in construct order.
    pub fn diagnostics(&self, severity: Severity) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for construct in [
            Construct::ColonKey,
            Construct::UsersMap,
            Construct::BraceList,
            Construct::BarePermissions,
        ] {
            let all: Vec<&Occurrence> = self
                .seen
                .iter()
                .filter(|o| o.construct == construct)
                .collect();
            let Some(first) = all.first() else { continue };
            let title = match construct {
                Construct::ColonKey => "key with ':' before a block",
                Construct::UsersMap => "users written as a map of blocks",
                Construct::BraceList => "list written in braces",
                Construct::BarePermissions => "'allow'/'deny' directly under permissions",
            };
            let mut message = format!(
                "non-standard config ({title}): {}; standard form: {}",
                first.what, first.standard
            );
            if all.len() > 1 {
                let others: Vec<String> = all[1..]
                    .iter()
                    .map(|o| {
                        if o.span.file == first.span.file {
                            format!("{}:{}", o.span.line, o.span.col)
                        } else {
                            format!("{}:{}:{}", o.span.file.display(), o.span.line, o.span.col)
                        }
                    })
                    .collect();
                message.push_str(&format!(" (also at {})", others.join(", ")));
            }
            out.push(Diagnostic {
                span: first.span.clone(),
                message,
                severity,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, col: u32) -> Span {
        Span {
            file: "f.conf".into(),
            line,
            col,
        }
    }

    #[test]
    fn one_diagnostic_per_construct() {
        let mut r = Recorder::default();
        r.record(
            Construct::BraceList,
            at(3, 1),
            "allow { \"a\" }".into(),
            "allow: [\"a\"]".into(),
        );
        r.record(
            Construct::ColonKey,
            at(1, 3),
            "account:a {".into(),
            "\"account:a\" {".into(),
        );
        r.record(Construct::BraceList, at(5, 2), "x".into(), "y".into());
        let d = r.diagnostics(Severity::Warning);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].span.line, 1);
        assert!(d[1].message.ends_with("(also at 5:2)"), "{}", d[1].message);
        assert!(d[1].message.contains("standard form: allow: [\"a\"]"));
    }
}
