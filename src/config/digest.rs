//! The configuration digest (`sha256:<hex>`), computed as nats-server computes it: over the JSON
//! encoding of the parsed configuration, not over the file's bytes. Comments, separators, key
//! order and include boundaries do not change it; a changed value does. Variable definitions
//! are part of it (nats-server 2.15.1 keeps them in its parsed map).
//!
//! nats-server encodes its parsed map with Go's `encoding/json` encoder: map keys sorted
//! bytewise, `<`, `>`, `&`, U+2028 and U+2029 escaped, and a trailing newline.

use sha2::{Digest, Sha256};

use super::value::{Kind, Map, Value};

/// `sha256:<hex>` of the parsed configuration rooted at `root`.
pub fn digest(root: &Map) -> String {
    let mut out = String::new();
    map(root, &mut out);
    out.push('\n');
    format!("sha256:{:x}", Sha256::digest(out.as_bytes()))
}

fn map(m: &Map, out: &mut String) {
    let mut entries: Vec<_> = m.entries.iter().collect();
    entries.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    out.push('{');
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(&e.key, out);
        out.push(':');
        value(&e.value, out);
    }
    out.push('}');
}

fn value(v: &Value, out: &mut String) {
    match &v.kind {
        Kind::String(s) | Kind::Datetime(s) => string(s, out),
        Kind::Int(i) => out.push_str(&i.to_string()),
        Kind::Float(f) => float(*f, out),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(item, out);
            }
            out.push(']');
        }
        Kind::Map(m) => map(m, out),
    }
}

/// Go's float encoding: the shortest form that reads back the same, without an exponent between
/// 1e-6 and 1e21, with a signed exponent (`1e+21`, `1e-7`) outside that range.
fn float(f: f64, out: &mut String) {
    let abs = f.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        out.push_str(&format!("{f}"));
    } else {
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => {
                out.push_str(&format!("{mantissa}e+{exp}"))
            }
            _ => out.push_str(&s),
        }
    }
}

/// A JSON string as Go's encoder writes it (HTML-safe escaping on).
fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use crate::config::parse_str;
    use std::path::Path;

    fn digest_of(text: &str) -> String {
        parse_str(text, Path::new("t.conf"), false)
            .expect("valid config")
            .digest
    }

    /// Values that nats-server 2.15.1 printed for these files with `-t`.
    #[test]
    fn matches_nats_server() {
        assert_eq!(
            digest_of("port: 4222\nhost: \"127.0.0.1\"\n"),
            "sha256:00c08c20cbad87a99fd56cc764a3dcd71ecc9c6c5a71ee2f0461fab0f72e8600"
        );
        let mixed = r#"# comment
P: 4333
port: $P
server_name: "srv<1>&x"
max_payload: 2MB
ping_interval: "30s"
write_deadline: "2.5s"
authorization {
  timeout: 1.5
  users: [ {user: a, password: "p\"w"}, {user: b, password: bb, permissions: {publish: ["x.>", "y"], subscribe: {deny: "z"}}} ]
}
debug: true
"#;
        assert_eq!(
            digest_of(mixed),
            "sha256:afba5473615e55193d33b2b3f7f158477f0bd1839469b703dfb81f119535a48a"
        );
    }

    #[test]
    fn layout_does_not_change_it_values_do() {
        let a = digest_of("port: 4222\nhost: \"127.0.0.1\"\n");
        assert_eq!(a, digest_of("# c\nhost = 127.0.0.1 // x\nport 4222\n"));
        assert_eq!(a, digest_of("{\"port\": 4222, \"host\": \"127.0.0.1\"}\n"));
        assert_ne!(a, digest_of("port: 4223\nhost: \"127.0.0.1\"\n"));
        // A variable definition is part of it, as in nats-server.
        assert_eq!(
            digest_of("P: 4222\nport: $P\nhost: \"127.0.0.1\"\n"),
            "sha256:1064a48c94b16d054de62a38c43d660bd8f08e644b8adb781033985e8c401e9c"
        );
    }

    #[test]
    fn floats_and_escapes_as_go_writes_them() {
        let mut s = String::new();
        for f in [1.5, 2.0, 1e21, 1e-7, 0.000001] {
            super::float(f, &mut s);
            s.push(' ');
        }
        assert_eq!(s, "1.5 2 1e+21 1e-7 0.000001 ");
        let mut s = String::new();
        super::string("a<b>&\"\\\n\u{1}é", &mut s);
        assert_eq!(s, "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001é\"");
    }
}
