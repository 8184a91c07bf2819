//! Lexer for nats-server's config language: text → flat list of items (keys, scalars, brackets).
//!
//! The grammar follows nats-server's `conf/lex.go` (facts, not code): `:`/`=`/whitespace
//! separators, maps may follow a key directly, arrays split by `,` or newlines, `#` and `//`
//! comments, quoted/raw/unquoted/block strings, numbers with size suffixes, booleans,
//! `$variables` and `include` directives. It is written as recursive descent over the nesting
//! (depth-bounded) instead of a state-function machine; the item stream is the same. Scalars
//! (strings, numbers, datetimes) are in `lexer_scalars.rs`.
//!
//! Two corenats extensions are recognised here (the parser and build decide what they mean):
//! - a bare key containing `:` followed by whitespace and `{` (`account:a {`) is one key,
//!   flagged [`Item::colon_key`]; nats-server rejects that text, so no standard meaning changes;
//! - a map key with no value before `}` or `,` (`{ "service.a.>" }`) yields [`ItemKind::NoValue`],
//!   which the parser turns into a list written in braces.

/// Deepest nesting of maps/arrays accepted; deeper input is an error, not a stack overflow.
const MAX_DEPTH: usize = 64;

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Key,
    String,
    Bool,
    /// Digits with an optional sign and size suffix, converted by the parser.
    Integer,
    Float,
    Datetime,
    ArrayStart,
    ArrayEnd,
    MapStart,
    MapEnd,
    /// `$NAME` (the value holds `NAME`).
    Variable,
    /// `include path` (the value holds the path as written).
    Include,
    /// The preceding map key had no value (extension: list written in braces).
    NoValue,
    Eof,
}

/// One lexed item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub kind: ItemKind,
    /// Text of the item: key name, string contents (escapes applied), number text, ...
    pub val: String,
    /// 1-based line and column (in characters) where the item starts.
    pub line: u32,
    pub col: u32,
    /// For keys: the key is the `name:with:colons {` extension.
    pub colon_key: bool,
}

/// A lexer error: nats-server's message text and where the lexer stood.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub msg: String,
    pub line: u32,
    pub col: u32,
}

/// Which container a key/value sits in: the top level and maps end values differently.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
    Top,
    Map,
    Array,
}

/// Lexes a whole document. On error the items before it are discarded (like nats-server, which
/// stops at the first lexer error).
pub fn lex(input: &str) -> Result<Vec<Item>, LexError> {
    let mut lx = Lexer {
        chars: input.chars().collect(),
        pos: 0,
        line: 1,
        line_start: 0,
        items: Vec::new(),
        depth: 0,
    };
    lx.top()?;
    Ok(lx.items)
}

/// Lexer state: the input as characters (so columns count characters) and a cursor.
pub(super) struct Lexer {
    pub(super) chars: Vec<char>,
    /// Index of the next character.
    pub(super) pos: usize,
    /// Current line (1-based) and the index where it starts.
    pub(super) line: u32,
    pub(super) line_start: usize,
    pub(super) items: Vec<Item>,
    /// Current map/array nesting.
    pub(super) depth: usize,
}

pub(super) fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(super) fn is_nl(c: char) -> bool {
    c == '\n' || c == '\r'
}

fn is_sep(c: char) -> bool {
    c == ':' || c == '='
}

impl Lexer {
    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.line_start = self.pos;
        }
        Some(c)
    }

    /// nats-server's column: 1-based, except on the first line where it is 0-based (its lexer
    /// counts from the previous newline, and the first line has none).
    pub(super) fn col(&self) -> u32 {
        let col = (self.pos - self.line_start + 1) as u32;
        if self.line == 1 {
            col - 1
        } else {
            col
        }
    }

    pub(super) fn err<T>(&self, msg: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            msg: msg.into(),
            line: self.line,
            col: self.col(),
        })
    }

    pub(super) fn emit(&mut self, kind: ItemKind, val: String, line: u32, col: u32) {
        self.items.push(Item {
            kind,
            val,
            line,
            col,
            colon_key: false,
        });
    }

    pub(super) fn emit_here(&mut self, kind: ItemKind) {
        let (line, col) = (self.line, self.col());
        self.emit(kind, String::new(), line, col);
    }

    /// Skips a comment body up to (not including) the end of the line. The caller has seen `#`
    /// or `//` at the cursor.
    fn skip_comment(&mut self) {
        while let Some(c) = self.peek() {
            if is_nl(c) {
                break;
            }
            self.bump();
        }
    }

    /// True (and consumes the opener) when a comment starts at the cursor.
    fn comment_start(&mut self) -> bool {
        match self.peek() {
            Some('#') => {
                self.bump();
                true
            }
            Some('/') if self.peek_at(self.pos + 1) == Some('/') => {
                self.bump();
                self.bump();
                true
            }
            _ => false,
        }
    }

    /// Top level: a sequence of `key value` entries. A leading `{` and trailing `}` are skipped
    /// so JSON documents lex as config.
    fn top(&mut self) -> Result<(), LexError> {
        loop {
            match self.peek() {
                None => {
                    self.emit_here(ItemKind::Eof);
                    return Ok(());
                }
                Some(c) if c.is_whitespace() || c == '{' || c == '}' => {
                    self.bump();
                }
                Some(_) if self.comment_start() => self.skip_comment(),
                Some(_) => {
                    self.key_and_value(Ctx::Top)?;
                    if self.items.last().map(|i| i.kind) == Some(ItemKind::Eof) {
                        return Ok(());
                    }
                    self.top_value_end()?;
                }
            }
        }
    }

    fn top_value_end(&mut self) -> Result<(), LexError> {
        loop {
            if self.comment_start() {
                self.skip_comment();
                return Ok(());
            }
            match self.peek() {
                None => return Ok(()),
                Some(c) if is_ws(c) || c == '/' => {
                    self.bump();
                }
                Some(c) if is_nl(c) || c == ';' || c == ',' || c == '}' => {
                    self.bump();
                    return Ok(());
                }
                Some(c) => {
                    return self.err(format!(
                        "Expected a top-level value to end with a new line, comment or EOF, but got '{c}' instead."
                    ))
                }
            }
        }
    }

    /// Lexes one key (quoted or bare), or an `include` directive, then its value.
    /// Returns true when it was an include.
    fn key_and_value(&mut self, ctx: Ctx) -> Result<bool, LexError> {
        let (line, col) = (self.line, self.col());
        let c = match self.peek() {
            Some(c) => c,
            None => return Ok(false),
        };
        let dot = if ctx == Ctx::Map { "." } else { "" };
        if is_sep(c) {
            return self.err(format!("Unexpected key separator '{c}'{dot}"));
        }
        if c == ']' && ctx == Ctx::Map {
            return self.err("Unexpected array end ']' processing map.");
        }
        if c == '"' || c == '\'' {
            self.bump();
            let mut key = String::new();
            loop {
                match self.bump() {
                    None => return self.err(eof_in_quoted_key(ctx, c)),
                    Some(q) if q == c => break,
                    Some(ch) => key.push(ch),
                }
            }
            // nats-server places a quoted key at its first character, after the quote.
            self.emit(ItemKind::Key, key, line, col + 1);
        } else {
            let start = self.pos;
            while let Some(ch) = self.peek() {
                if ch.is_whitespace() || is_sep(ch) || (ctx == Ctx::Map && (ch == ',' || ch == '}'))
                {
                    break;
                }
                self.bump();
            }
            let mut colon_key = false;
            if self.peek() == Some(':') {
                if let Some(end) = self.colon_key_end() {
                    while self.pos < end {
                        self.bump();
                    }
                    colon_key = true;
                }
            }
            if ctx == Ctx::Map && self.peek().is_none() {
                return self.err("Unexpected EOF processing map key.");
            }
            let key: String = self.chars[start..self.pos].iter().collect();
            let followed_by_space = self.peek().is_some_and(char::is_whitespace);
            if followed_by_space && key.eq_ignore_ascii_case("include") {
                self.include()?;
                return Ok(true);
            }
            self.emit(ItemKind::Key, key, line, col);
            if let Some(item) = self.items.last_mut() {
                item.colon_key = colon_key;
            }
        }
        self.key_end(ctx)?;
        Ok(false)
    }

    /// At a `:` after a bare key: if the text is `:REST<spaces>{` with a non-empty REST, returns
    /// the index where the (longer) key ends. This is the `account:a {` extension.
    fn colon_key_end(&self) -> Option<usize> {
        let mut i = self.pos + 1;
        let rest_start = i;
        while let Some(c) = self.peek_at(i) {
            if c.is_whitespace() || "{}[],;#\"'=".contains(c) {
                break;
            }
            i += 1;
        }
        if i == rest_start || self.peek_at(i - 1) == Some(':') {
            return None;
        }
        let end = i;
        let mut j = i;
        while self.peek_at(j).is_some_and(is_ws) {
            j += 1;
        }
        (j > end && self.peek_at(j) == Some('{')).then_some(end)
    }

    /// After a key: skips whitespace (newlines too), an optional separator, then lexes the value.
    fn key_end(&mut self, ctx: Ctx) -> Result<(), LexError> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        match self.peek() {
            None if ctx == Ctx::Top => {
                self.emit_here(ItemKind::Eof);
                return Ok(());
            }
            Some(c) if is_sep(c) => {
                self.bump();
                return self.value(ctx);
            }
            _ => {}
        }
        if ctx == Ctx::Map {
            // nats-server's lexMapValue: whitespace (newlines too) may precede the value.
            while self.peek().is_some_and(char::is_whitespace) {
                self.bump();
            }
            match self.peek() {
                Some('}') | Some(',') => {
                    self.emit_here(ItemKind::NoValue);
                    return Ok(());
                }
                None => return self.err(map_terminator_expected("")),
                _ => {}
            }
        }
        self.value(ctx)
    }

    /// `include <path>`: the keyword has been consumed.
    fn include(&mut self) -> Result<(), LexError> {
        while self.peek().is_some_and(is_ws) {
            self.bump();
        }
        let (line, col) = (self.line, self.col());
        let path = match self.peek() {
            Some(q @ ('"' | '\'')) => {
                self.bump();
                let mut s = String::new();
                loop {
                    match self.bump() {
                        None if q == '"' => {
                            return self.err("Unexpected EOF in double quoted include")
                        }
                        None => return self.err("Unexpected EOF in quoted include"),
                        Some(c) if c == q => break,
                        Some(c) => s.push(c),
                    }
                }
                s
            }
            Some('[') => return self.err("Expected include value but found start of an array"),
            Some('{') => return self.err("Expected include value but found start of a map"),
            Some('(') => return self.err("Expected include value but found start of a block"),
            Some(c) if c.is_ascii_digit() || c == '-' => {
                return self.err("Expected include value but found start of a number")
            }
            Some('\\') => return self.err("Expected include value but found escape sequence"),
            Some(c) if is_nl(c) => {
                // As nats-server's lexer, the new line is consumed first: the error is on the next line.
                self.bump();
                return self.err("Expected include value but found new line");
            }
            _ => {
                let mut s = String::new();
                while let Some(c) = self.peek() {
                    if c.is_whitespace() || c == ';' || c == '}' {
                        break;
                    }
                    s.push(c);
                    self.bump();
                }
                s
            }
        };
        self.emit(ItemKind::Include, path, line, col);
        Ok(())
    }

    /// Any value: scalar, array or map. Leading spaces/tabs are skipped but not newlines.
    fn value(&mut self, ctx: Ctx) -> Result<(), LexError> {
        while self.peek().is_some_and(is_ws) {
            self.bump();
        }
        let (line, col) = (self.line, self.col());
        // Like nats-server, brackets and quoted strings are placed just after their opening character.
        let inner = col + 1;
        match self.peek() {
            Some('[') => {
                self.bump();
                self.emit(ItemKind::ArrayStart, String::new(), line, inner);
                self.nested(Self::array)
            }
            Some('{') => {
                self.bump();
                self.emit(ItemKind::MapStart, String::new(), line, inner);
                self.nested(Self::map)
            }
            Some('\'') => {
                self.bump();
                let mut s = String::new();
                loop {
                    match self.bump() {
                        None => return self.err("Unexpected EOF."),
                        Some('\'') => break,
                        Some(c) => s.push(c),
                    }
                }
                self.emit(ItemKind::String, s, line, inner);
                Ok(())
            }
            Some('"') => {
                self.bump();
                let s = self.quoted_string()?;
                self.emit(ItemKind::String, s, line, inner);
                Ok(())
            }
            Some('-') => self.negative_number(ctx),
            Some('(') => self.block_string(),
            Some(c) if c.is_ascii_digit() => self.number_or_string(ctx),
            Some('.') => self.err("Floats must start with a digit"),
            Some(c) if is_nl(c) => self.err("Expected value but found new line"),
            _ => self.unquoted_string(ctx, self.pos, line, col),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<(), LexError>) -> Result<(), LexError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!(
                "Maps and arrays nested deeper than {MAX_DEPTH} levels"
            ));
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// After `[`: values separated by `,` and/or newlines, until `]`.
    fn array(&mut self) -> Result<(), LexError> {
        loop {
            // lexArrayValue
            loop {
                match self.peek() {
                    Some(c) if c.is_whitespace() => {
                        self.bump();
                    }
                    Some(_) if self.comment_start() => self.skip_comment(),
                    Some(',') => return self.err("Unexpected array value terminator ','."),
                    Some(']') => {
                        self.bump();
                        self.emit_here(ItemKind::ArrayEnd);
                        return Ok(());
                    }
                    None => return self.err(array_terminator_expected("")),
                    Some(_) => break,
                }
            }
            self.value(Ctx::Array)?;
            // lexArrayValueEnd
            loop {
                if self.comment_start() {
                    self.skip_comment();
                    continue;
                }
                match self.peek() {
                    Some(c) if is_ws(c) => {
                        self.bump();
                    }
                    Some(c) if c == ',' || is_nl(c) => {
                        self.bump();
                        break;
                    }
                    Some(']') => {
                        self.bump();
                        self.emit_here(ItemKind::ArrayEnd);
                        return Ok(());
                    }
                    Some(c) => return self.err(array_terminator_expected(&c.to_string())),
                    None => return self.err(array_terminator_expected("")),
                }
            }
        }
    }

    /// After `{`: `key value` pairs separated by `,`, `;` or newlines, until `}`.
    fn map(&mut self) -> Result<(), LexError> {
        loop {
            // lexMapKeyStart
            loop {
                match self.peek() {
                    Some(c) if c.is_whitespace() => {
                        self.bump();
                    }
                    Some(_) if self.comment_start() => self.skip_comment(),
                    Some('}') => {
                        self.bump();
                        self.emit_here(ItemKind::MapEnd);
                        return Ok(());
                    }
                    None => return self.err("Unexpected EOF processing map."),
                    Some(_) => break,
                }
            }
            self.key_and_value(Ctx::Map)?;
            if self.items.last().map(|i| i.kind) == Some(ItemKind::NoValue) {
                if self.peek() == Some(',') {
                    self.bump();
                }
                continue;
            }
            // lexMapValueEnd
            loop {
                if self.comment_start() {
                    self.skip_comment();
                    continue;
                }
                match self.peek() {
                    Some(c) if is_ws(c) => {
                        self.bump();
                    }
                    Some(c) if c == ';' || c == ',' || is_nl(c) => {
                        self.bump();
                        break;
                    }
                    Some('}') => {
                        self.bump();
                        self.emit_here(ItemKind::MapEnd);
                        return Ok(());
                    }
                    Some(c) => return self.err(map_terminator_expected(&c.to_string())),
                    None => return self.err(map_terminator_expected("")),
                }
            }
        }
    }
}

/// nats-server's text when a map value is not followed by `,`, a newline or `}`. At the end of
/// the input nats-server quotes a NUL character; corenats leaves the quotes empty.
fn map_terminator_expected(got: &str) -> String {
    format!("Expected a map value terminator \",\" or a map terminator \"}}\", but got '{got}' instead.")
}

/// As [`map_terminator_expected`] for an array value.
fn array_terminator_expected(got: &str) -> String {
    format!(
        "Expected an array value terminator \",\" or an array terminator \"]\", but got '{got}' instead."
    )
}

/// nats-server's text for a quoted key cut off by the end of the input.
fn eof_in_quoted_key(ctx: Ctx, quote: char) -> &'static str {
    match (ctx, quote) {
        (Ctx::Map, '"') => "Unexpected EOF processing double quoted map key.",
        (Ctx::Map, _) => "Unexpected EOF processing quoted map key.",
        _ => "Unexpected EOF.",
    }
}

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
