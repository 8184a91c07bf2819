//! Configuration: nats-server's config language (or HCL) → typed [`Config`].
//!
//! Pipeline: `lexer` (text → items) → `parser` (items → spanned value tree, variables,
//! includes) — or `hcl` for `.hcl` files — → `build` (value tree → [`Config`], every error and
//! warning collected with its `file:line:col`). [`Source::load`] is the one way in (start-up, `-t`,
//! reload): the file, then the command line over it, then the cross-field rules. Its [`Strictness`]
//! decides what fails: errors only at start; warnings too for `-t`, as nats-server's; and the seed
//! dialect's notes too with `--pedantic`.

mod build;
mod build_accounts;
mod build_auth;
mod build_cluster;
mod build_leaf;
mod build_tls;
mod de;
pub mod defaults;
mod digest;
mod duration;
pub(crate) mod go_url;
mod hcl;
mod lexer;
mod lexer_scalars;
mod nonstandard;
mod parser;
pub mod schema;
mod source;
mod subject;
pub mod value;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

pub use duration::go_string as go_duration;
pub use schema::*;
pub use source::{Overrides, Source};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

/// One message about the config file, with where it applies.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub span: Span,
    pub message: String,
    pub severity: Severity,
}

impl Diagnostic {
    /// An error at `span` (a span with line 0 prints without a position).
    pub fn error(span: &Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            span: span.clone(),
            message: message.into(),
            severity: Severity::Error,
        }
    }

    /// An error about the configuration as a whole, or about something with no place in a file.
    pub fn unplaced(message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(&Span::default(), message)
    }

    /// The order reports list diagnostics in: by file position; those without one last.
    pub fn position_key(&self) -> (bool, &std::path::Path, u32, u32) {
        (
            self.span.line == 0,
            self.span.file.as_path(),
            self.span.line,
            self.span.col,
        )
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: about the file as a whole (it cannot be opened, it is empty), no position.
        if self.span.line == 0 {
            return write!(f, "{}", self.message);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.span.file.display(),
            self.span.line,
            self.span.col,
            self.message
        )
    }
}

/// A successfully loaded configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Non-fatal findings (unknown keys, non-standard constructs, deprecated forms).
    pub warnings: Vec<Diagnostic>,
    /// `sha256:<hex>` of the parsed configuration, as nats-server computes it (see `digest.rs`).
    pub digest: String,
}

/// Loading failed: every error found (not just the first), one per line when displayed.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
    /// The configuration as far as it could be built (none when the text did not even parse), so the
    /// caller can still check accounts and users and report their errors in the same run.
    pub partial: Option<Box<Config>>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// nats-server's (Go's) text for a file that cannot be read: `open <path>: <reason>`, or for a
/// directory (which Go opens, then fails to read) `read <path>: is a directory`.
pub(crate) fn open_error(path: &Path, e: &std::io::Error) -> String {
    let (op, reason) = match e.kind() {
        std::io::ErrorKind::NotFound => ("open", "no such file or directory".to_string()),
        std::io::ErrorKind::PermissionDenied => ("open", "permission denied".to_string()),
        std::io::ErrorKind::IsADirectory => ("read", "is a directory".to_string()),
        _ => ("open", go_error_text(e)),
    };
    format!("{op} {}: {reason}", path.display())
}

/// How strictly a load judges what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Start and reload: warnings and notes are logged, only errors fail.
    Start,
    /// `-t`: warnings fail too (as nats-server's `-t`); the seed dialect's notes are printed.
    Check,
    /// `-t --pedantic`: the seed dialect's notes fail as well.
    Pedantic,
}

/// An OS error worded as Go prints it (`address already in use`): the C library's text, starting in
/// lower case, without Rust's ` (os error N)` suffix. Tools match nats-server's log lines.
pub fn go_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads and builds one file (without the command line: [`Source::load`] is the way in).
pub(crate) fn load_file(path: &Path, strictness: Strictness) -> Result<Loaded, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError {
        diagnostics: vec![Diagnostic {
            span: Span {
                file: path.to_path_buf(),
                line: 0,
                col: 0,
            },
            message: open_error(path, &e),
            severity: Severity::Error,
        }],
        partial: None,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let env = |name: &str| std::env::var(name).ok();
    load_text(&text, path, strictness, &env)
}

/// Parses config text as if read from `name` (includes resolve relative to it). For tests.
pub fn parse_str(text: &str, name: &Path, pedantic: bool) -> Result<Loaded, ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    let strictness = if pedantic {
        Strictness::Pedantic
    } else {
        Strictness::Start
    };
    load_text(text, name, strictness, &env)
}

/// The whole pipeline over text already read. `env` looks environment variables up.
pub(crate) fn load_text(
    text: &str,
    name: &Path,
    strictness: Strictness,
    env: parser::EnvLookup,
) -> Result<Loaded, ConfigError> {
    let is_hcl = name
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("hcl"));
    let parsed = if is_hcl {
        hcl::parse(text, name)
    } else {
        parser::parse(text, name, env)
    };
    let parsed = parsed.map_err(|d| ConfigError {
        diagnostics: vec![d],
        partial: None,
    })?;
    let digest = digest::digest(&parsed.root);
    let mut ctx = build::Ctx::new(parsed.nonstandard);
    if parsed.root.entries.is_empty() {
        // nats-server starts on an empty file but its `-t` refuses it.
        let whole_file = Span {
            file: name.to_path_buf(),
            line: 0,
            col: 0,
        };
        let message = format!("{}: config has no values or is empty", name.display());
        ctx.warn(&whole_file, message);
    }
    let config = build::build(&parsed.root, &mut ctx);
    let build::Findings {
        mut errors,
        mut warnings,
        notes,
    } = ctx.finish();
    let promote = |d: Diagnostic| Diagnostic {
        severity: Severity::Error,
        ..d
    };
    if strictness != Strictness::Start {
        errors.extend(warnings.drain(..).map(promote));
    }
    if strictness == Strictness::Pedantic {
        errors.extend(notes.into_iter().map(promote));
    } else {
        warnings.extend(notes);
        warnings.sort_by(|a, b| {
            (&a.span.file, a.span.line, a.span.col).cmp(&(&b.span.file, b.span.line, b.span.col))
        });
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| {
            (&a.span.file, a.span.line, a.span.col).cmp(&(&b.span.file, b.span.line, b.span.col))
        });
        return Err(ConfigError {
            diagnostics: errors,
            partial: Some(Box::new(config)),
        });
    }
    Ok(Loaded {
        config,
        warnings,
        digest,
    })
}
