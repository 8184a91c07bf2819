//! HCL front end: a `.hcl` file read with hcl-rs (its span-keeping `hcl::edit` parser) into the
//! same spanned value tree as the conf parser, so the same typed build applies.
//!
//! Mapping: `key = value` attributes and `{ ... }` objects become map entries; a block
//! `name { ... }` becomes `name: { ... }`; block labels nest (`accounts "A" { ... }` is
//! `accounts { A { ... } }`) and blocks with the same name merge. Only literal values are
//! accepted: strings must be quoted (a bare identifier or an interpolation is an error), `-5` is a
//! negative number. Positions are exact to the line and column hcl-rs reports.

use std::path::Path;

use hcl::edit::expr::{Expression, ObjectKey, UnaryOperator};
use hcl::edit::structure::{BlockLabel, Body, Structure};
use hcl::edit::Span as HclSpan;

use super::nonstandard::Recorder;
use super::parser::Parsed;
use super::schema::Span;
use super::value::{Entry, Kind, Map, Value};
use super::{Diagnostic, Severity};

/// Parses an HCL document into the value tree.
pub fn parse(text: &str, file: &Path) -> Result<Parsed, Diagnostic> {
    let conv = Converter {
        file,
        line_starts: std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect(),
        text,
    };
    let body = hcl::edit::parser::parse_body(text).map_err(|e| {
        let loc = e.location();
        Diagnostic {
            span: Span {
                file: file.to_path_buf(),
                line: loc.line() as u32,
                col: loc.column() as u32,
            },
            message: format!("HCL parse error: {}", e.message()),
            severity: Severity::Error,
        }
    })?;
    let root = conv.body(&body)?;
    Ok(Parsed {
        root,
        nonstandard: Recorder::default(),
    })
}

/// Converts hcl-edit nodes, turning byte offsets into `line:col`.
struct Converter<'a> {
    file: &'a Path,
    text: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

impl Converter<'_> {
    fn span(&self, node: &dyn HclSpan) -> Span {
        let offset = node.span().map(|r| r.start).unwrap_or(0);
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line_idx).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        Span {
            file: self.file.to_path_buf(),
            line: line_idx as u32 + 1,
            col: col as u32 + 1,
        }
    }

    fn error(&self, span: Span, message: String) -> Diagnostic {
        Diagnostic {
            span,
            message,
            severity: Severity::Error,
        }
    }

    fn body(&self, body: &Body) -> Result<Map, Diagnostic> {
        let mut map = Map::default();
        for structure in body.iter() {
            match structure {
                Structure::Attribute(attr) => {
                    let value = self.expr(&attr.value)?;
                    map.insert(Entry {
                        key: attr.key.value().as_str().to_string(),
                        key_span: self.span(attr),
                        value,
                        used_as_variable: false,
                    });
                }
                Structure::Block(block) => {
                    let span = self.span(block);
                    let mut value = Value::new(Kind::Map(self.body(&block.body)?), span.clone());
                    for label in block.labels.iter().rev() {
                        let name = match label {
                            BlockLabel::Ident(i) => i.value().as_str().to_string(),
                            BlockLabel::String(s) => s.value().to_string(),
                        };
                        let mut m = Map::default();
                        m.insert(Entry {
                            key: name,
                            key_span: self.span(label),
                            value,
                            used_as_variable: false,
                        });
                        value = Value::new(Kind::Map(m), span.clone());
                    }
                    let key = block.ident.value().as_str().to_string();
                    merge(&mut map, key, span, value);
                }
            }
        }
        Ok(map)
    }

    fn expr(&self, e: &Expression) -> Result<Value, Diagnostic> {
        let span = self.span(e);
        let kind = match e {
            Expression::Bool(b) => Kind::Bool(*b.value()),
            Expression::Number(n) => {
                let n = n.value();
                match n.as_i64() {
                    Some(i) => Kind::Int(i),
                    None => Kind::Float(n.as_f64().unwrap_or(0.0)),
                }
            }
            Expression::String(s) => Kind::String(s.value().to_string()),
            Expression::Array(a) => {
                Kind::Array(a.iter().map(|x| self.expr(x)).collect::<Result<_, _>>()?)
            }
            Expression::Object(o) => {
                let mut m = Map::default();
                for (k, v) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(i) => i.value().as_str().to_string(),
                        ObjectKey::Expression(Expression::String(s)) => s.value().to_string(),
                        ObjectKey::Expression(other) => {
                            return Err(self.error(
                                self.span(other),
                                "HCL object keys must be names or quoted strings".into(),
                            ))
                        }
                    };
                    m.insert(Entry {
                        key,
                        key_span: self.span(k),
                        value: self.expr(v.expr())?,
                        used_as_variable: false,
                    });
                }
                Kind::Map(m)
            }
            Expression::Parenthesis(p) => return self.expr(p.inner()),
            Expression::UnaryOp(op) if *op.operator.value() == UnaryOperator::Neg => {
                let inner = self.expr(&op.expr)?;
                match inner.kind {
                    Kind::Int(i) => Kind::Int(-i),
                    Kind::Float(f) => Kind::Float(-f),
                    _ => return Err(self.error(span, "HCL: '-' applies only to numbers".into())),
                }
            }
            Expression::Variable(v) => {
                return Err(self.error(
                    span,
                    format!(
                        "HCL: bare identifier {} is not a value; quote strings (\"{}\")",
                        v.value().as_str(),
                        v.value().as_str()
                    ),
                ))
            }
            Expression::Null(_) => return Err(self.error(span, "HCL: null is not a value".into())),
            _ => return Err(self.error(
                span,
                "HCL: only literal values are supported (no interpolation, functions or operators)"
                    .into(),
            )),
        };
        Ok(Value::new(kind, span))
    }
}

/// Adds a block's value under `key`; blocks with the same name merge their maps.
fn merge(map: &mut Map, key: String, key_span: Span, value: Value) {
    if let Some(existing) = map.entries.iter_mut().find(|e| e.key == key) {
        if let (Kind::Map(old), Kind::Map(new)) = (&mut existing.value.kind, value.kind.clone()) {
            for entry in new.entries {
                let Entry {
                    key: k,
                    key_span: ks,
                    value: v,
                    ..
                } = entry;
                merge(old, k, ks, v);
            }
            return;
        }
    }
    map.insert(Entry {
        key,
        key_span,
        value,
        used_as_variable: false,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_labels_and_positions() {
        let text = "port = 4222\naccounts \"A\" {\n  users = [{ user = \"a\" }]\n}\naccounts \"B\" {}\nneg = -3\n";
        let p = parse(text, Path::new("x.hcl")).unwrap();
        let root = p.root;
        assert_eq!(
            root.get("port").map(|e| e.value.kind.clone()),
            Some(Kind::Int(4222))
        );
        assert_eq!(
            root.get("neg").map(|e| e.value.kind.clone()),
            Some(Kind::Int(-3))
        );
        let accounts = root.get("accounts").and_then(|e| e.value.as_map()).unwrap();
        assert_eq!(accounts.len(), 2);
        let a = accounts.get("A").unwrap();
        assert_eq!(a.key_span.line, 2);
        let users = a.value.as_map().unwrap().get("users").unwrap();
        assert_eq!((users.key_span.line, users.key_span.col), (3, 3));
    }

    #[test]
    fn bare_identifiers_are_rejected() {
        let e = parse("user = alice\n", Path::new("x.hcl")).unwrap_err();
        assert!(e.message.contains("quote strings"), "{}", e.message);
        assert_eq!(e.span.line, 1);
        let e = parse("a = {\n", Path::new("x.hcl")).unwrap_err();
        assert!(e.message.starts_with("HCL parse error"));
    }
}
