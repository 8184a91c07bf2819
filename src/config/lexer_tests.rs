//! Tests of the lexer: item kinds, positions, extensions and nats-server error texts.
use super::*;

fn kinds(input: &str) -> Vec<(ItemKind, std::string::String)> {
    lex(input)
        .unwrap()
        .into_iter()
        .map(|i| (i.kind, i.val))
        .collect()
}

fn k(kind: ItemKind, v: &str) -> (ItemKind, std::string::String) {
    (kind, v.to_string())
}

use ItemKind::*;

#[test]
fn separators() {
    for input in ["foo = 2", "foo: 2", "foo 2", "foo=2", "foo:2"] {
        assert_eq!(
            kinds(input),
            vec![k(Key, "foo"), k(Integer, "2"), k(Eof, "")],
            "{input}"
        );
    }
}

#[test]
fn unquoted_value_may_contain_colon() {
    assert_eq!(
        kinds("user: user:a\n"),
        vec![k(Key, "user"), k(String, "user:a"), k(Eof, "")]
    );
    assert_eq!(
        kinds("listen: 127.0.0.1:4222"),
        vec![k(Key, "listen"), k(String, "127.0.0.1:4222"), k(Eof, "")]
    );
}

#[test]
fn map_without_separator_and_positions() {
    let items = lex("a {\n  b: 1\n}").unwrap();
    assert_eq!(items[0].kind, Key);
    assert_eq!(items[1].kind, MapStart);
    assert_eq!((items[2].line, items[2].col), (2, 3));
    assert_eq!(items[3].kind, Integer);
    assert_eq!(items[4].kind, MapEnd);
}

#[test]
fn colon_key_extension() {
    let items = lex("accounts {\n  account:a {\n  }\n}").unwrap();
    assert_eq!(items[2].val, "account:a");
    assert!(items[2].colon_key);
    assert_eq!((items[2].line, items[2].col), (2, 3));
    // Standard `key:value` followed by `{` without space is not the extension.
    let items = lex("a { x:{ y: 1 } }").unwrap();
    assert_eq!(items[2].val, "x");
    assert!(!items[2].colon_key);
}

#[test]
fn brace_list_no_value() {
    assert_eq!(
        kinds(r#"allow { "a.>", "b.>" }"#),
        vec![
            k(Key, "allow"),
            k(MapStart, ""),
            k(Key, "a.>"),
            k(NoValue, ""),
            k(Key, "b.>"),
            k(NoValue, ""),
            k(MapEnd, ""),
            k(Eof, "")
        ]
    );
}

#[test]
fn numbers_strings_bools() {
    assert_eq!(kinds("a: 1k")[1], k(Integer, "1k"));
    assert_eq!(kinds("a: 2MB")[1], k(Integer, "2MB"));
    assert_eq!(kinds("a: 3kib")[1], k(Integer, "3kib"));
    assert_eq!(kinds("a: -5")[1], k(Integer, "-5"));
    assert_eq!(kinds("a: 1.5")[1], k(Float, "1.5"));
    assert_eq!(kinds("a: -1.5")[1], k(Float, "-1.5"));
    assert_eq!(kinds("a: 3secret")[1], k(String, "3secret"));
    assert_eq!(kinds("a: 10s")[1], k(String, "10s"));
    assert_eq!(kinds("a: 1mx")[1], k(String, "1mx"));
    assert_eq!(kinds("a: YES")[1], k(Bool, "YES"));
    assert_eq!(kinds("a: off")[1], k(Bool, "off"));
    assert_eq!(kinds("a: \"true\"")[1], k(String, "true"));
    assert_eq!(kinds("a: $X")[1], k(Variable, "X"));
    assert_eq!(kinds("a: \"$X\"")[1], k(String, "$X"));
    assert_eq!(
        kinds("a: 2021-01-02T03:04:05Z")[1],
        k(Datetime, "2021-01-02T03:04:05Z")
    );
    assert_eq!(kinds("a: [1, 2]")[2], k(Integer, "1"));
}

#[test]
fn strings() {
    assert_eq!(kinds(r#"a: "x\ty\x41\"""#)[1], k(String, "x\tyA\""));
    assert_eq!(kinds(r"a: 'raw\n'")[1], k(String, r"raw\n"));
    assert_eq!(
        kinds("a: (\nline1\nline2\n)\n")[1],
        k(String, "\nline1\nline2\n")
    );
}

#[test]
fn comments_and_arrays() {
    let input = "# c\na: [ 1, # x\n 2\n // y\n 3 ]  // z\nb: 1 # t";
    let ks: Vec<ItemKind> = kinds(input).into_iter().map(|x| x.0).collect();
    assert_eq!(
        ks,
        vec![Key, ArrayStart, Integer, Integer, Integer, ArrayEnd, Key, Integer, Eof]
    );
}

#[test]
fn include_directive() {
    assert_eq!(
        kinds("include ./a.conf\nx: 1"),
        vec![
            k(Include, "./a.conf"),
            k(Key, "x"),
            k(Integer, "1"),
            k(Eof, "")
        ]
    );
    assert_eq!(kinds("m { include 'b.conf' }")[2], k(Include, "b.conf"));
}

#[test]
fn json_document() {
    let ks: Vec<ItemKind> = kinds(r#"{ "port": 4222, "a": {"b": [1, "x"]} }"#)
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(
        ks,
        vec![Key, Integer, Key, MapStart, Key, ArrayStart, Integer, String, ArrayEnd, MapEnd, Eof]
    );
}

#[test]
fn errors_carry_nats_text() {
    let e = lex("accounts {\n  a {\n    b: c d\n").unwrap_err();
    assert_eq!(
        e.msg,
        "Expected a map value terminator \",\" or a map terminator \"}\", but got 'd' instead."
    );
    assert_eq!((e.line, e.col), (3, 10));
    // Without the space before `{` the extension does not apply.
    let e = lex("m {\n a: b c\n}").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.msg.starts_with("Expected a map value terminator"));
    assert_eq!(
        lex("a: \"x\\q\"").unwrap_err().msg,
        "Invalid escape character 'q'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\."
    );
    assert_eq!(lex("a: [1 2]").unwrap_err().msg,
        "Expected an array value terminator \",\" or an array terminator \"]\", but got '2' instead.");
    assert_eq!(
        lex("a = \n").unwrap_err().msg,
        "Expected value but found new line"
    );
    assert_eq!(lex("a: \"abc").unwrap_err().msg, "Unexpected EOF.");
    assert_eq!(
        lex("a: 1 2").unwrap_err().msg,
        "Expected a top-level value to end with a new line, comment or EOF, but got '2' instead."
    );
    assert_eq!(
        lex("a: [\n  ,]").unwrap_err().msg,
        "Unexpected array value terminator ','."
    );
    assert_eq!(
        lex("a: .5").unwrap_err().msg,
        "Floats must start with a digit"
    );
    assert_eq!(
        lex("a: 12-01").unwrap_err().msg,
        "All ISO8601 dates must be in full Zulu form."
    );
    assert_eq!(
        lex("include [x]").unwrap_err().msg,
        "Expected include value but found start of an array"
    );
    assert!(lex(&format!("a: {}", "[".repeat(100))).is_err());
}
