//! Scalar values for the lexer: quoted and unquoted strings with escapes, block strings,
//! numbers with size suffixes, floats, IP addresses and ISO-8601 datetimes (nats-server's
//! `conf/lex.go` rules; the digit-led-string rule is the newer one: `3secret` is a string).

use super::lexer::{is_nl, is_ws, Ctx, ItemKind, LexError, Lexer};

fn is_bool(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off"
    )
}

fn is_suffix(c: char) -> bool {
    matches!(c.to_ascii_lowercase(), 'k' | 'm' | 'g' | 't' | 'p' | 'e')
}

/// Characters that end a number (anything else turns a digit-led token into a string).
fn ends_number(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => is_nl(c) || is_ws(c) || matches!(c, '}' | ']' | ';' | ','),
    }
}

impl Lexer {
    /// After `"`: contents with escapes, up to the closing quote.
    pub(super) fn quoted_string(&mut self) -> Result<String, LexError> {
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            match self.bump() {
                None => return self.err("Unexpected EOF."),
                Some('"') => break,
                Some('\\') => self.escape(&mut bytes)?,
                Some(c) => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// One escape sequence; the backslash has been consumed.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), LexError> {
        match self.bump() {
            Some('t') => out.push(b'\t'),
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('"') => out.push(b'"'),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let a = self.bump();
                let b = self.bump();
                let (a, b) = match (a, b) {
                    (Some(a), Some(b)) if !is_nl(a) && !is_nl(b) => (a, b),
                    _ => {
                        return self.err(
                            "Expected two hexadecimal digits after '\\x', but hit end of line",
                        )
                    }
                };
                match (a.to_digit(16), b.to_digit(16)) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => {
                        return self.err(format!(
                            "Expected two hexadecimal digits after '\\x', but got '{a}{b}'"
                        ))
                    }
                }
            }
            other => {
                let c = other.map(String::from).unwrap_or_default();
                return self.err(format!(
                    "Invalid escape character '{c}'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\."
                ));
            }
        }
        Ok(())
    }

    /// An unquoted value from `start`: ends at whitespace, newline, `,`, `;`, `]`, `}` or EOF.
    /// Becomes a boolean, a `$variable` or a string.
    pub(super) fn unquoted_string(
        &mut self,
        _ctx: Ctx,
        start: usize,
        line: u32,
        col: u32,
    ) -> Result<(), LexError> {
        let mut bytes: Vec<u8> = self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .into_bytes();
        let mut escaped = false;
        while let Some(c) = self.peek() {
            if is_nl(c) || is_ws(c) || matches!(c, ';' | ',' | ']' | '}') {
                break;
            }
            self.bump();
            if c == '\\' {
                escaped = true;
                self.escape(&mut bytes)?;
            } else {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
        let s = String::from_utf8_lossy(&bytes).into_owned();
        if !escaped && is_bool(&s) {
            self.emit(ItemKind::Bool, s, line, col);
        } else if !escaped && s.starts_with('$') {
            self.emit(ItemKind::Variable, s[1..].to_string(), line, col);
        } else {
            self.emit(ItemKind::String, s, line, col);
        }
        Ok(())
    }

    /// `( ... )`: everything up to a `)` alone at the start of a line (followed by a newline or
    /// EOF) is one string.
    pub(super) fn block_string(&mut self) -> Result<(), LexError> {
        let (line, col) = (self.line, self.col());
        self.bump();
        let start = self.pos;
        loop {
            match self.bump() {
                None => return self.err("Unexpected EOF processing block."),
                Some(')') => {
                    let before = self.pos.checked_sub(2).and_then(|i| self.peek_at(i));
                    let after = self.peek();
                    if before == Some('\n') && (after.is_none() || after == Some('\n')) {
                        let s: String = self.chars[start..self.pos - 1].iter().collect();
                        self.emit(ItemKind::String, s, line, col + 1);
                        return Ok(());
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// A digit-led value: integer (with size suffix), float, ISO-8601 datetime, IP address
    /// (`127.0.0.1:4222`, a string), or a string that merely starts with a digit (`3secret`).
    pub(super) fn number_or_string(&mut self, ctx: Ctx) -> Result<(), LexError> {
        let (line, col) = (self.line, self.col());
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        match self.peek() {
            Some('-') => {
                if self.pos - start != 4 {
                    return self.err("All ISO8601 dates must be in full Zulu form.");
                }
                return self.datetime(start, line, col);
            }
            Some('.') => return self.float(ctx, start, line, col),
            Some(c) if is_suffix(c) => return self.suffixed(ctx, start, line, col),
            c if ends_number(c) => {}
            _ => return self.unquoted_string(ctx, start, line, col),
        }
        let s: String = self.chars[start..self.pos].iter().collect();
        self.emit(ItemKind::Integer, s, line, col);
        Ok(())
    }

    /// Digits followed by a size suffix letter (and optional `b`/`i` letters).
    fn suffixed(&mut self, ctx: Ctx, start: usize, line: u32, col: u32) -> Result<(), LexError> {
        self.bump();
        while self
            .peek()
            .is_some_and(|c| matches!(c, 'b' | 'B' | 'i' | 'I'))
        {
            self.bump();
        }
        if !ends_number(self.peek()) {
            return self.unquoted_string(ctx, start, line, col);
        }
        let s: String = self.chars[start..self.pos].iter().collect();
        self.emit(ItemKind::Integer, s, line, col);
        Ok(())
    }

    /// Digits and a `.` seen: a float, or an IP address when a second `.` follows.
    fn float(&mut self, ctx: Ctx, start: usize, line: u32, col: u32) -> Result<(), LexError> {
        self.bump();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {}
            other => {
                let c = other.map(String::from).unwrap_or_default();
                return self.err(format!(
                    "Floats must have a digit after the '.', but got '{c}' instead."
                ));
            }
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.peek() == Some('.') {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '-'))
            {
                self.bump();
            }
            if !ends_number(self.peek()) {
                return self.unquoted_string(ctx, start, line, col);
            }
            let s: String = self.chars[start..self.pos].iter().collect();
            self.emit(ItemKind::String, s, line, col);
            return Ok(());
        }
        if !ends_number(self.peek()) {
            return self.unquoted_string(ctx, start, line, col);
        }
        let s: String = self.chars[start..self.pos].iter().collect();
        self.emit(ItemKind::Float, s, line, col);
        Ok(())
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`; the year has been consumed.
    fn datetime(&mut self, start: usize, line: u32, col: u32) -> Result<(), LexError> {
        const FORMAT: &str = "-00-00T00:00:00Z";
        for f in FORMAT.chars() {
            let r = self.bump();
            let shown = r.map(String::from).unwrap_or_default();
            if f == '0' {
                if !r.is_some_and(|c| c.is_ascii_digit()) {
                    return self.err(format!(
                        "Expected digit in ISO8601 datetime, but found '{shown}' instead."
                    ));
                }
            } else if r != Some(f) {
                return self.err(format!(
                    "Expected '{f}' in ISO8601 datetime, but found '{shown}' instead."
                ));
            }
        }
        let s: String = self.chars[start..self.pos].iter().collect();
        self.emit(ItemKind::Datetime, s, line, col);
        Ok(())
    }

    /// `-` seen: a negative integer or float.
    pub(super) fn negative_number(&mut self, ctx: Ctx) -> Result<(), LexError> {
        let (line, col) = (self.line, self.col());
        let start = self.pos;
        self.bump();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {}
            Some('.') => return self.err("Floats must start with a digit, not '.'."),
            other => {
                let c = other.map(String::from).unwrap_or_default();
                return self.err(format!("Expected a digit but got '{c}'."));
            }
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        match self.peek() {
            Some('.') => return self.float(ctx, start, line, col),
            Some(c) if is_suffix(c) => return self.suffixed(ctx, start, line, col),
            c if ends_number(c) => {}
            _ => return self.unquoted_string(ctx, start, line, col),
        }
        let s: String = self.chars[start..self.pos].iter().collect();
        self.emit(ItemKind::Integer, s, line, col);
        Ok(())
    }
}
