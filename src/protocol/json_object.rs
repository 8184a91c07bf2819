//! A small JSON reader for the `CONNECT` object, with the leniencies of Go's `encoding/json` that
//! nats-server's clients may rely on, and no recursion.
//!
//! Go decodes a CONNECT into a struct: keys it does not know are skipped (their values only have to be
//! well-formed: any depth up to 10,000, numbers of any size), strings may hold bytes that are not UTF-8
//! and lone surrogate escapes (both become U+FFFD), and `null` leaves a field as it was. serde_json
//! refuses the first three, so a CONNECT nats-server accepts was refused. This reader yields the
//! top-level members in order as (key, [`Scalar`]); nested objects and arrays are validated by an
//! iterative scan and reported as [`Scalar::Composite`].

use std::borrow::Cow;

/// Go's `encoding/json` nesting limit.
pub const MAX_DEPTH: usize = 10_000;

/// A member's value, as far as the CONNECT decoder needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    /// Decoded text (escapes applied, invalid UTF-8 and lone surrogates replaced by U+FFFD).
    Str(String),
    /// A number exactly as written (grammar checked, no range).
    Number(&'a str),
    /// An object or an array (checked to be well-formed, not decoded).
    Composite,
}

/// The document is not a JSON value Go would accept, or not an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Malformed JSON: what was wrong, and the byte offset.
    Syntax(&'static str, usize),
    /// Well-formed, but neither an object nor `null`.
    NotAnObject,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonError::Syntax(what, at) => write!(f, "{what} at offset {at}"),
            JsonError::NotAnObject => f.write_str("not an object"),
        }
    }
}

/// One member of the top-level object: its key (decoded) and value.
pub type Member<'a> = (Cow<'a, str>, Scalar<'a>);

/// The members of the top-level object in document order (`None` for a top-level `null`).
pub fn members(json: &[u8]) -> Result<Option<Vec<Member<'_>>>, JsonError> {
    let mut r = Reader { b: json, i: 0 };
    r.space();
    let out = match r.peek() {
        Some(b'{') => Some(r.object()?),
        Some(b'n') => {
            r.literal(b"null")?;
            None
        }
        Some(_) => {
            // Well-formed but the wrong kind: Go reports the type, not the syntax.
            r.value()?;
            r.end()?;
            return Err(JsonError::NotAnObject);
        }
        None => return Err(r.err("unexpected end of JSON input")),
    };
    r.end()?;
    Ok(out)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &'static str) -> JsonError {
        JsonError::Syntax(what, self.i)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn consume(&mut self, c: u8) -> Result<(), JsonError> {
        self.space();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err("unexpected character"))
        }
    }

    /// Only whitespace may follow the top-level value.
    fn end(&mut self) -> Result<(), JsonError> {
        self.space();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err("invalid character after top-level value")),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), JsonError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn object(&mut self) -> Result<Vec<Member<'a>>, JsonError> {
        self.consume(b'{')?;
        let mut out = Vec::new();
        self.space();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(out);
        }
        loop {
            self.space();
            if self.peek() != Some(b'"') {
                return Err(self.err("object key must be a string"));
            }
            let key = self.string()?;
            self.consume(b':')?;
            self.space();
            let v = self.value()?;
            out.push((key, v));
            self.space();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => return Err(self.err("expected ',' or '}' after object member")),
            }
        }
    }

    fn value(&mut self) -> Result<Scalar<'a>, JsonError> {
        self.space();
        match self.peek() {
            Some(b'"') => Ok(Scalar::Str(self.string()?.into_owned())),
            Some(b't') => self.literal(b"true").map(|_| Scalar::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|_| Scalar::Bool(false)),
            Some(b'n') => self.literal(b"null").map(|_| Scalar::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Scalar::Number),
            Some(b'{' | b'[') => self.skip_composite().map(|_| Scalar::Composite),
            Some(_) => Err(self.err("invalid character looking for beginning of value")),
            None => Err(self.err("unexpected end of JSON input")),
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
    fn number(&mut self) -> Result<&'a str, JsonError> {
        let start = self.i;
        let digits = |r: &mut Reader<'_>| {
            let s = r.i;
            while matches!(r.peek(), Some(b'0'..=b'9')) {
                r.i += 1;
            }
            r.i > s
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err("invalid number"));
            }
        }
        // The bytes checked above are ASCII.
        std::str::from_utf8(&self.b[start..self.i]).map_err(|_| self.err("invalid number"))
    }

    /// A string at `self.i` (which is `"`), decoded as Go decodes it.
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.i += 1;
        let start = self.i;
        // Fast path: no escapes, valid UTF-8.
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    let raw = &self.b[start..self.i];
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(raw));
                }
                b'\\' => break,
                0..=0x1f => return Err(self.err("invalid character in string literal")),
                _ => self.i += 1,
            }
        }
        let mut out: Vec<u8> = self.b[start..self.i].to_vec();
        loop {
            match self.peek() {
                None => return Err(self.err("unexpected end of JSON input")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Cow::Owned(String::from_utf8_lossy(&out).into_owned()));
                }
                Some(0..=0x1f) => return Err(self.err("invalid character in string literal")),
                Some(b'\\') => {
                    self.i += 1;
                    let e = self
                        .peek()
                        .ok_or_else(|| self.err("unexpected end of JSON input"))?;
                    self.i += 1;
                    let simple = match e {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(8),
                        b'f' => Some(12),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        _ => return Err(self.err("invalid escape in string literal")),
                    };
                    match simple {
                        Some(c) => out.push(c),
                        None => {
                            let ch = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// After `\u`: four hex digits, a surrogate pair when one follows; a lone surrogate is U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) && self.b[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            // Not a low surrogate: the first is lone, the second escape is read on its own.
            self.i = save;
        }
        Ok(char::from_u32(first).unwrap_or('\u{FFFD}'))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let hex = self
            .b
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("invalid escape in string literal"))?;
        let mut v = 0u32;
        for &h in hex {
            let d = (h as char)
                .to_digit(16)
                .ok_or_else(|| self.err("invalid escape in string literal"))?;
            v = v * 16 + d;
        }
        self.i += 4;
        Ok(v)
    }

    /// Checks an object or array without building it, with an explicit stack (no recursion).
    fn skip_composite(&mut self) -> Result<(), JsonError> {
        // The closing byte of each open level.
        let mut stack: Vec<u8> = Vec::new();
        self.open(&mut stack)?;
        // Right after an opening bracket (where the level may close at once).
        let mut first = true;
        loop {
            self.space();
            let close = stack.last().copied().unwrap_or(b']');
            if first && self.peek() == Some(close) {
                self.i += 1;
                stack.pop();
                if stack.is_empty() {
                    return Ok(());
                }
            } else {
                if close == b'}' {
                    if self.peek() != Some(b'"') {
                        return Err(self.err("object key must be a string"));
                    }
                    self.string()?;
                    self.consume(b':')?;
                    self.space();
                }
                if matches!(self.peek(), Some(b'{' | b'[')) {
                    self.open(&mut stack)?;
                    first = true;
                    continue;
                }
                self.value()?;
            }
            // After a value: a separator, or the end of this level (and maybe of those around it).
            loop {
                self.space();
                let close = stack.last().copied().unwrap_or(b']');
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        first = false;
                        break;
                    }
                    Some(c) if c == close => {
                        self.i += 1;
                        stack.pop();
                        if stack.is_empty() {
                            return Ok(());
                        }
                    }
                    _ => return Err(self.err("expected a separator or the end of a container")),
                }
            }
        }
    }

    /// Consumes `{` or `[` and opens a level.
    fn open(&mut self, stack: &mut Vec<u8>) -> Result<(), JsonError> {
        if stack.len() >= MAX_DEPTH {
            return Err(self.err("exceeded max depth"));
        }
        let close = match self.peek() {
            Some(b'{') => b'}',
            Some(b'[') => b']',
            _ => return Err(self.err("invalid character looking for beginning of value")),
        };
        self.i += 1;
        stack.push(close);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &[u8]) -> Vec<(String, Scalar<'_>)> {
        members(s)
            .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(s)))
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect()
    }

    fn bad(s: &[u8]) {
        assert!(
            members(s).is_err(),
            "accepted {:?}",
            String::from_utf8_lossy(s)
        );
    }

    #[test]
    fn scalars_in_order() {
        let m = ok(br#" {"a":true, "b":false,"c":null,"d":"x\"y\u00e9","e":-1.5e+3,"a":1} "#);
        assert_eq!(
            m,
            vec![
                ("a".into(), Scalar::Bool(true)),
                ("b".into(), Scalar::Bool(false)),
                ("c".into(), Scalar::Null),
                ("d".into(), Scalar::Str("x\"y\u{e9}".into())),
                ("e".into(), Scalar::Number("-1.5e+3")),
                ("a".into(), Scalar::Number("1")),
            ]
        );
        assert_eq!(members(b"null").unwrap(), None);
        assert_eq!(ok(b"{}"), vec![]);
    }

    #[test]
    fn go_leniencies() {
        // Deep nesting, huge numbers, bytes that are not UTF-8, lone surrogates.
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(ok(deep.as_bytes())[0].1, Scalar::Composite);
        let deep_obj = format!("{{\"x\":{}1{}}}", "{\"a\":".repeat(3000), "}".repeat(3000));
        assert_eq!(ok(deep_obj.as_bytes())[0].1, Scalar::Composite);
        let digits = format!("{{\"x\":{}}}", "9".repeat(1001));
        assert!(matches!(ok(digits.as_bytes())[0].1, Scalar::Number(_)));
        assert_eq!(ok(b"{\"x\":1e99999}")[0].1, Scalar::Number("1e99999"));
        assert_eq!(
            ok(b"{\"x\":\"\xff\xfe\"}")[0].1,
            Scalar::Str("\u{FFFD}\u{FFFD}".into())
        );
        assert_eq!(
            ok(br#"{"x":"\ud800","y":"\ud83d\ude00","z":"\ud800\u0041"}"#)
                .into_iter()
                .map(|(_, v)| v)
                .collect::<Vec<_>>(),
            vec![
                Scalar::Str("\u{FFFD}".into()),
                Scalar::Str("\u{1F600}".into()),
                Scalar::Str("\u{FFFD}A".into()),
            ]
        );
        assert_eq!(
            ok(br#"{"x":[1,"a",{"b":[true,null,{}]},[]],"y":{"z":[{"q":-0.5}]}}"#).len(),
            2
        );
    }

    #[test]
    fn malformed_documents() {
        for s in [
            &b""[..],
            b"{",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{\"a\":1} x",
            b"{a:1}",
            b"{\"a\":tru}",
            b"{\"a\":01}",
            b"{\"a\":1.}",
            b"{\"a\":-}",
            b"{\"a\":\"x\x01\"}",
            b"{\"a\":\"\\q\"}",
            b"{\"a\":\"\\u12\"}",
            b"{\"a\":[1,]}",
            b"{\"a\":[1 2]}",
            b"{\"a\":{\"b\":1,}}",
            b"{\"a\":{\"b\" 1}}",
            b"{\"a\":[}",
            b"{\"a\":{]}",
            b"{\"a\":[[]}",
            b"{\"a\":\"unterminated}",
        ] {
            bad(s);
        }
        assert_eq!(members(b"[1]"), Err(JsonError::NotAnObject));
        assert_eq!(members(b"\"x\""), Err(JsonError::NotAnObject));
        let too_deep = format!(
            "{{\"x\":{}{}}}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        bad(too_deep.as_bytes());
    }
}
