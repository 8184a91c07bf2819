//! Parser: lexer items → spanned value tree, resolving `$variables` and `include` directives.
//!
//! Facts from nats-server's `conf/parse.go`: variables are looked up in the enclosing maps from
//! the innermost outward (arrays are not scopes), among the keys already defined, then in the
//! environment (whose value is parsed as a config value); an unquoted `$2a$...` is a bcrypt
//! string, not a variable; an included file is parsed on its own (the parent's variables are
//! invisible in it) and its top-level keys are merged where the directive stands.
//! Parsing stops at the first error, as in nats-server.
//!
//! corenats extension handled here: a map whose entries are all keys without values
//! (`allow { "a.>" }`) becomes a list, recorded as non-standard construct (3); construct (1)
//! (`account:a {`) arrives as a flagged key from the lexer and is recorded here.

use std::path::{Path, PathBuf};

use super::lexer::{lex, Item, ItemKind};
use super::nonstandard::{Construct, Recorder};
use super::schema::Span;
use super::value::{render_key, Entry, Kind, Map, Value};
use super::{Diagnostic, Severity};

/// Deepest chain of includes accepted (a cycle is reported before this is reached).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Looks an environment variable up. Tests pass a fixed table; `load` passes the process env.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The parsed document and the non-standard constructs met while parsing it.
#[derive(Debug)]
pub struct Parsed {
    pub root: Map,
    pub nonstandard: Recorder,
}

/// Parses `text` (the contents of `file`).
pub fn parse(text: &str, file: &Path, env: EnvLookup) -> Result<Parsed, Diagnostic> {
    let mut p = Parser::new(file, env, Vec::new(), Vec::new());
    let root = p.document(text)?;
    Ok(Parsed {
        root,
        nonstandard: p.nonstandard,
    })
}

/// Parser state for one file (an include gets its own).
struct Parser<'e> {
    file: PathBuf,
    env: EnvLookup<'e>,
    items: Vec<Item>,
    idx: usize,
    /// Maps under construction, outermost first: the variable scopes.
    scopes: Vec<Map>,
    /// Files being included around this one (cycle detection).
    include_chain: Vec<PathBuf>,
    /// Environment variables being resolved (cycle detection).
    env_chain: Vec<String>,
    nonstandard: Recorder,
}

fn error(span: Span, message: String) -> Diagnostic {
    Diagnostic {
        span,
        message,
        severity: Severity::Error,
    }
}

/// True for the start of a bcrypt hash written without quotes (`$2a$11$...`).
fn is_bcrypt_reference(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 3 && b[0] == b'2' && matches!(b[1], b'a' | b'b' | b'x' | b'y') && b[2] == b'$'
}

/// Converts an integer item (`-12`, `10M`, `2KB`, `1kib`) to its value.
pub fn convert_integer(text: &str) -> Result<i64, String> {
    let digits_end = text
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && *c == '-')))
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    let (num, suffix) = text.split_at(digits_end);
    let n: i64 = num.parse().map_err(|e: std::num::ParseIntError| {
        if matches!(
            e.kind(),
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
        ) {
            format!("integer '{text}' is out of the range")
        } else {
            format!("expected integer, but got '{text}'")
        }
    })?;
    let mult: i64 = match suffix.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1_000,
        "kb" | "ki" | "kib" => 1 << 10,
        "m" => 1_000_000,
        "mb" | "mi" | "mib" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" | "gi" | "gib" => 1 << 30,
        "t" => 1_000_000_000_000,
        "tb" | "ti" | "tib" => 1 << 40,
        "p" => 1_000_000_000_000_000,
        "pb" | "pi" | "pib" => 1 << 50,
        "e" => 1_000_000_000_000_000_000,
        "eb" | "ei" | "eib" => 1 << 60,
        _ => return Err(format!("expected integer, but got '{text}'")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("integer '{text}' is out of the range"))
}

impl<'e> Parser<'e> {
    fn new(
        file: &Path,
        env: EnvLookup<'e>,
        include_chain: Vec<PathBuf>,
        env_chain: Vec<String>,
    ) -> Parser<'e> {
        Parser {
            file: file.to_path_buf(),
            env,
            items: Vec::new(),
            idx: 0,
            scopes: Vec::new(),
            include_chain,
            env_chain,
            nonstandard: Recorder::default(),
        }
    }

    fn span_of(&self, item: &Item) -> Span {
        Span {
            file: self.file.clone(),
            line: item.line,
            col: item.col,
        }
    }

    /// Lexes and parses a whole document into its top-level map.
    fn document(&mut self, text: &str) -> Result<Map, Diagnostic> {
        self.items = lex(text).map_err(|e| {
            error(
                Span {
                    file: self.file.clone(),
                    line: e.line,
                    col: e.col,
                },
                format!("Parse error on line {}: '{}'", e.line, e.msg),
            )
        })?;
        self.idx = 0;
        let (map, bare) = self.map_body(ItemKind::Eof)?;
        if let Some(first) = bare.first() {
            return Err(error(
                first.span.clone(),
                format!(
                    "config is invalid: key {} has no value",
                    render_key(&item_text(first))
                ),
            ));
        }
        Ok(map)
    }

    fn next_item(&mut self) -> Item {
        let item = self.items.get(self.idx).cloned().unwrap_or(Item {
            kind: ItemKind::Eof,
            val: String::new(),
            line: 0,
            col: 0,
            colon_key: false,
        });
        self.idx += 1;
        item
    }

    /// Parses map entries until `end` (MapEnd, or Eof at top level). Returns the map and the
    /// keys that had no value (as string values).
    fn map_body(&mut self, end: ItemKind) -> Result<(Map, Vec<Value>), Diagnostic> {
        self.scopes.push(Map::default());
        let mut bare = Vec::new();
        loop {
            let item = self.next_item();
            match item.kind {
                k if k == end => break,
                ItemKind::Eof | ItemKind::MapEnd => {
                    return Err(error(self.span_of(&item), "Unexpected end of map".into()))
                }
                ItemKind::Key => {
                    let key_span = self.span_of(&item);
                    if item.colon_key {
                        self.nonstandard.record(
                            Construct::ColonKey,
                            key_span.clone(),
                            format!("{} {{ ... }}", item.val),
                            format!("{} {{ ... }}", render_key(&item.val)),
                        );
                    }
                    let next = self.next_item();
                    match next.kind {
                        ItemKind::NoValue => {
                            bare.push(Value::new(Kind::String(item.val.clone()), key_span));
                        }
                        ItemKind::Eof => {
                            return Err(error(
                                key_span,
                                format!(
                                    "config is invalid: key {} has no value",
                                    render_key(&item.val)
                                ),
                            ))
                        }
                        _ => {
                            let (value, brace_list) = self.value(next)?;
                            if brace_list {
                                self.nonstandard.record(
                                    Construct::BraceList,
                                    key_span.clone(),
                                    format!(
                                        "{} {{ {} }}",
                                        render_key(&item.val),
                                        inner_list(&value)
                                    ),
                                    format!("{}: {}", render_key(&item.val), value.render()),
                                );
                            }
                            self.current_scope().insert(Entry {
                                key: item.val,
                                key_span,
                                value,
                                used_as_variable: false,
                            });
                        }
                    }
                }
                ItemKind::Include => self.include(&item)?,
                _ => {
                    return Err(error(
                        self.span_of(&item),
                        format!("unexpected value '{}' where a key was expected", item.val),
                    ))
                }
            }
        }
        let map = self.scopes.pop().unwrap_or_default();
        Ok((map, bare))
    }

    fn current_scope(&mut self) -> &mut Map {
        if self.scopes.is_empty() {
            self.scopes.push(Map::default());
        }
        let last = self.scopes.len() - 1;
        &mut self.scopes[last]
    }

    /// Parses the value that starts with `item`. The flag is true when a brace block of bare
    /// values was turned into a list (construct (3)).
    fn value(&mut self, item: Item) -> Result<(Value, bool), Diagnostic> {
        let span = self.span_of(&item);
        let kind = match item.kind {
            ItemKind::String => Kind::String(item.val),
            ItemKind::Bool => Kind::Bool(matches!(
                item.val.to_ascii_lowercase().as_str(),
                "true" | "yes" | "on"
            )),
            ItemKind::Integer => {
                Kind::Int(convert_integer(&item.val).map_err(|m| error(span.clone(), m))?)
            }
            ItemKind::Float => Kind::Float(item.val.parse::<f64>().map_err(|_| {
                error(
                    span.clone(),
                    format!("expected float, but got '{}'", item.val),
                )
            })?),
            ItemKind::Datetime => Kind::Datetime(item.val),
            ItemKind::Variable => return Ok((self.variable(&item.val, span)?, false)),
            ItemKind::ArrayStart => {
                let mut values = Vec::new();
                loop {
                    let next = self.next_item();
                    if next.kind == ItemKind::ArrayEnd {
                        break;
                    }
                    if next.kind == ItemKind::Eof {
                        return Err(error(span, "Unexpected end of array".into()));
                    }
                    let (v, _) = self.value(next)?;
                    values.push(v);
                }
                Kind::Array(values)
            }
            ItemKind::MapStart => {
                let (map, bare) = self.map_body(ItemKind::MapEnd)?;
                if bare.is_empty() {
                    Kind::Map(map)
                } else if map.is_empty() {
                    return Ok((Value::new(Kind::Array(bare), span), true));
                } else {
                    let first = &bare[0];
                    return Err(error(
                        first.span.clone(),
                        format!(
                            "key {} has no value (a block mixes 'key: value' entries and bare values)",
                            render_key(&item_text(first))
                        ),
                    ));
                }
            }
            _ => {
                return Err(error(
                    span,
                    format!("expected a value, found {:?}", item.kind),
                ))
            }
        };
        Ok((Value::new(kind, span), false))
    }

    /// Resolves `$name` at `span`.
    fn variable(&mut self, name: &str, span: Span) -> Result<Value, Diagnostic> {
        if is_bcrypt_reference(name) {
            return Ok(Value::new(Kind::String(format!("${name}")), span));
        }
        for scope in self.scopes.iter_mut().rev() {
            if let Some(entry) = scope.entries.iter_mut().find(|e| e.key == name) {
                entry.used_as_variable = true;
                let mut v = entry.value.clone();
                v.span = span;
                return Ok(v);
            }
        }
        let line = span.line;
        let Some(raw) = (self.env)(name) else {
            return Err(error(
                span,
                format!("variable reference for '{name}' on line {line} can not be found"),
            ));
        };
        if self.env_chain.iter().any(|n| n == name) {
            return Err(error(
                span,
                format!("variable reference for '{name}' on line {line} forms a cycle"),
            ));
        }
        let mut chain = self.env_chain.clone();
        chain.push(name.to_string());
        let mut sub = Parser::new(&self.file, self.env, self.include_chain.clone(), chain);
        let parsed = sub.document(&format!("pk={raw}")).map_err(|e| {
            let msg = e.message;
            let msg = if msg.contains("forms a cycle") || msg.contains("could not be parsed") {
                msg
            } else {
                format!("variable reference for '{name}' on line {line} could not be parsed: {msg}")
            };
            error(span.clone(), msg)
        })?;
        match parsed.get("pk") {
            Some(entry) => {
                let mut v = entry.value.clone();
                v.span = span;
                Ok(v)
            }
            None => Err(error(
                span,
                format!("variable reference for '{name}' on line {line} can not be found"),
            )),
        }
    }

    /// `include path`: parses the file on its own and merges its top-level keys here.
    fn include(&mut self, item: &Item) -> Result<(), Diagnostic> {
        let span = self.span_of(item);
        let dir = self.file.parent().unwrap_or_else(|| Path::new("."));
        let path = include_path(dir, &item.val);
        let wrap = |msg: String| format!("error parsing include file '{}', {msg}", item.val);
        if self.include_chain.len() >= MAX_INCLUDE_DEPTH
            || self.include_chain.iter().any(|p| same_file(p, &path))
            || same_file(&self.file, &path)
        {
            return Err(error(span, wrap("include cycle detected".into())));
        }
        // Bytes that are not UTF-8 are read as the main file's are (nats-server reads bytes).
        let bytes = std::fs::read(&path)
            .map_err(|e| error(span.clone(), wrap(super::open_error(&path, &e))))?;
        let text = String::from_utf8_lossy(&bytes);
        let mut chain = self.include_chain.clone();
        chain.push(self.file.clone());
        let mut sub = Parser::new(&path, self.env, chain, Vec::new());
        let map = sub
            .document(&text)
            .map_err(|e| error(e.span, wrap(e.message)))?;
        self.nonstandard.absorb(sub.nonstandard);
        for entry in map.entries {
            self.current_scope().insert(entry);
        }
        Ok(())
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn item_text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// `"a", "b"` for a list value, as it was written inside braces.
fn inner_list(v: &Value) -> String {
    match &v.kind {
        Kind::Array(items) => items
            .iter()
            .map(Value::render)
            .collect::<Vec<_>>()
            .join(", "),
        _ => v.render(),
    }
}

/// Where `include <val>` points, as nats-server resolves it (Go's `filepath.Join`): always under
/// the including file's folder, even when `val` starts with `/`, with `.` and `..` folded away.
fn include_path(dir: &Path, val: &str) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for part in dir.components().chain(Path::new(val).components()) {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::RootDir if !out.as_os_str().is_empty() => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
