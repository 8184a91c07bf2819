//! The spanned value tree: what a config file says, before it is given meaning.
//!
//! Both front ends (the NATS conf parser and the HCL reader) produce this tree; the typed build
//! (`build*.rs`, `de.rs`) consumes it. Every node keeps the `file:line:col` it came from so that
//! every later error can point at it.

use super::schema::Span;

/// One node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: Kind,
    /// Where the value starts (for a map entry's value: the value token, not the key).
    pub span: Span,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Quoted, unquoted or block string (escapes already applied).
    String(String),
    /// Integer, size suffixes already applied (`1k` = 1000, `1kb` = 1024).
    Int(i64),
    Float(f64),
    Bool(bool),
    /// ISO-8601 Zulu datetime, kept as written (no setting uses one yet).
    Datetime(String),
    Array(Vec<Value>),
    Map(Map),
}

/// A map in the order the keys were written. Keys are case-sensitive (as in nats-server);
/// a repeated key replaces the earlier entry ("last one wins").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Map {
    pub entries: Vec<Entry>,
}

/// One `key: value` pair of a map.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    /// Position of the key token: errors about an entry point here, as nats-server does.
    pub key_span: Span,
    pub value: Value,
    /// The entry was referenced as a `$variable` somewhere: it is then a variable definition,
    /// not a setting, and is skipped (never reported as an unknown field).
    pub used_as_variable: bool,
}

impl Map {
    /// Inserts an entry; an existing entry with the same key is removed first (last one wins).
    pub fn insert(&mut self, entry: Entry) {
        self.entries.retain(|e| e.key != entry.key);
        self.entries.push(entry);
    }

    /// Looks a key up exactly (case-sensitive).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A float as Go's `%v` writes it: the shortest digits that read back, in exponent form when the
/// exponent is below -4 or 6 and above (`1e+06`, `100000`, `1.5e-05`, `0.0001`), as Go's `%g` does
/// for the shortest form.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest digits that read back: `d.ddde<exp>`.
    let sci = format!("{:e}", f);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    // Plain form with the same digits.
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let point = exp + 1; // digits before the decimal point
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else if point as usize >= digits.len() {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
    out
}

impl Value {
    pub fn new(kind: Kind, span: Span) -> Value {
        Value { kind, span }
    }

    /// A short name of the value's type, for error messages ("expected a string, got a map").
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::String(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Datetime(_) => "a datetime",
            Kind::Array(_) => "an array",
            Kind::Map(_) => "a map",
        }
    }

    /// The value as Go's `%v` prints a scalar (nats-server's texts quote values that way): a string
    /// as is, numbers and booleans in Go's form; a map or array by its type name.
    pub fn go_text(&self) -> String {
        match &self.kind {
            Kind::String(s) | Kind::Datetime(s) => s.clone(),
            Kind::Int(i) => i.to_string(),
            Kind::Float(f) => go_float(*f),
            Kind::Bool(b) => b.to_string(),
            Kind::Array(_) | Kind::Map(_) => self.type_name().to_string(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Renders the value in conf syntax, for the "standard form" shown in warnings.
    pub fn render(&self) -> String {
        match &self.kind {
            Kind::String(s) => format!("{s:?}"),
            Kind::Int(i) => i.to_string(),
            Kind::Float(f) => f.to_string(),
            Kind::Bool(b) => b.to_string(),
            Kind::Datetime(d) => d.clone(),
            Kind::Array(items) => {
                let parts: Vec<String> = items.iter().map(Value::render).collect();
                format!("[{}]", parts.join(", "))
            }
            Kind::Map(m) => {
                let parts: Vec<String> = m
                    .entries
                    .iter()
                    .map(|e| format!("{}: {}", render_key(&e.key), e.value.render()))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
        }
    }
}

/// A key as it can be written in conf syntax: bare when it is a plain word, quoted otherwise.
pub fn render_key(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if plain {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn floats_as_go_prints_them() {
        for (f, want) in [
            (1e19, "1e+19"),
            (100.0, "100"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.5, "0.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (-2.25, "-2.25"),
            (1e300, "1e+300"),
            (0.0, "0"),
        ] {
            assert_eq!(go_float(f), want, "{f}");
        }
    }

    use super::*;

    fn v(kind: Kind) -> Value {
        Value::new(kind, Span::default())
    }

    fn entry(key: &str, value: Value) -> Entry {
        Entry {
            key: key.into(),
            key_span: Span::default(),
            value,
            used_as_variable: false,
        }
    }

    #[test]
    fn last_key_wins() {
        let mut m = Map::default();
        m.insert(entry("a", v(Kind::Int(1))));
        m.insert(entry("b", v(Kind::Int(2))));
        m.insert(entry("a", v(Kind::Int(3))));
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("a").map(|e| e.value.kind.clone()), Some(Kind::Int(3)));
        assert_eq!(m.entries[1].key, "a");
    }

    #[test]
    fn render_standard_form() {
        let list = v(Kind::Array(vec![v(Kind::String("service.a.>".into()))]));
        assert_eq!(list.render(), r#"["service.a.>"]"#);
        assert_eq!(render_key("account:a"), r#""account:a""#);
        assert_eq!(render_key("allow"), "allow");
    }
}
