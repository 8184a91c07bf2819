//! Tests of the parser: values, variables, includes, the brace-list and colon-key extensions.

use super::*;
use std::collections::HashMap;

fn no_env(_: &str) -> Option<String> {
    None
}

fn p(text: &str) -> Map {
    parse(text, Path::new("t.conf"), &no_env).unwrap().root
}

fn p_err(text: &str) -> Diagnostic {
    parse(text, Path::new("t.conf"), &no_env).unwrap_err()
}

fn kind<'a>(m: &'a Map, key: &str) -> &'a Kind {
    &m.get(key).unwrap().value.kind
}

#[test]
fn scalars() {
    let m = p("a: 1k\nb: 2kb\nc: 10M\nd: 2MB\ne: -5\nf: 1.5\ng: yes\nh: 'x'\ni: \"y\"\nj: 1Ki\nk: 1G\nl: 1gb\nm: 1t\nn: 1TB\no: 1p\npp: 1e\nq: 1EB\n");
    assert_eq!(kind(&m, "a"), &Kind::Int(1000));
    assert_eq!(kind(&m, "b"), &Kind::Int(2048));
    assert_eq!(kind(&m, "c"), &Kind::Int(10_000_000));
    assert_eq!(kind(&m, "d"), &Kind::Int(2_097_152));
    assert_eq!(kind(&m, "e"), &Kind::Int(-5));
    assert_eq!(kind(&m, "f"), &Kind::Float(1.5));
    assert_eq!(kind(&m, "g"), &Kind::Bool(true));
    assert_eq!(kind(&m, "h"), &Kind::String("x".into()));
    assert_eq!(kind(&m, "i"), &Kind::String("y".into()));
    assert_eq!(kind(&m, "j"), &Kind::Int(1024));
    assert_eq!(kind(&m, "k"), &Kind::Int(1_000_000_000));
    assert_eq!(kind(&m, "l"), &Kind::Int(1 << 30));
    assert_eq!(kind(&m, "m"), &Kind::Int(1_000_000_000_000));
    assert_eq!(kind(&m, "n"), &Kind::Int(1 << 40));
    assert_eq!(kind(&m, "o"), &Kind::Int(1_000_000_000_000_000));
    assert_eq!(kind(&m, "pp"), &Kind::Int(1_000_000_000_000_000_000));
    assert_eq!(kind(&m, "q"), &Kind::Int(1 << 60));
}

#[test]
fn integer_errors() {
    assert_eq!(
        p_err("a: 99999999999999999999").message,
        "integer '99999999999999999999' is out of the range"
    );
    assert_eq!(p_err("a: 10e").message, "integer '10e' is out of the range");
}

#[test]
fn duplicate_keys_last_wins() {
    let m = p("a: 1\na: 2\n");
    assert_eq!(m.len(), 1);
    assert_eq!(kind(&m, "a"), &Kind::Int(2));
}

#[test]
fn arrays_and_maps() {
    let m = p("a: [1, 2\n 3]\nb { c: d, e = f; g h }\n");
    // nats-server's columns: 0-based on the first line, 1-based after it.
    assert_eq!(
        kind(&m, "a"),
        &Kind::Array(vec![
            Value::new(
                Kind::Int(1),
                Span {
                    file: "t.conf".into(),
                    line: 1,
                    col: 4
                }
            ),
            Value::new(
                Kind::Int(2),
                Span {
                    file: "t.conf".into(),
                    line: 1,
                    col: 7
                }
            ),
            Value::new(
                Kind::Int(3),
                Span {
                    file: "t.conf".into(),
                    line: 2,
                    col: 2
                }
            ),
        ])
    );
    let b = m.get("b").unwrap().value.as_map().unwrap();
    assert_eq!(b.len(), 3);
    assert_eq!(b.get("g").unwrap().value.as_str(), Some("h"));
}

#[test]
fn spans_of_keys_and_values() {
    let m = p("\n  port: 4222\n");
    let e = m.get("port").unwrap();
    assert_eq!((e.key_span.line, e.key_span.col), (2, 3));
    assert_eq!((e.value.span.line, e.value.span.col), (2, 9));
}

#[test]
fn variables_scoped_innermost_first() {
    let m = p("A: 1\nB: 2\nm {\n  A: 10\n  x: $A\n  y: $B\n}\nz: $A\n");
    let inner = m.get("m").unwrap().value.as_map().unwrap();
    assert_eq!(kind(inner, "x"), &Kind::Int(10));
    assert_eq!(kind(inner, "y"), &Kind::Int(2));
    assert!(inner.get("A").unwrap().used_as_variable);
    assert_eq!(kind(&m, "z"), &Kind::Int(1));
    assert!(m.get("A").unwrap().used_as_variable);
    assert!(m.get("B").unwrap().used_as_variable);
    assert!(!m.get("z").unwrap().used_as_variable);
}

#[test]
fn variables_inside_arrays_see_enclosing_maps() {
    let m = p("PW: secret\nusers: [ {user: a, password: $PW} ]\n");
    let Kind::Array(users) = kind(&m, "users") else {
        panic!()
    };
    let u = users[0].as_map().unwrap();
    assert_eq!(u.get("password").unwrap().value.as_str(), Some("secret"));
}

#[test]
fn quoted_variable_is_literal_and_bcrypt_is_not_a_variable() {
    let m = p("a: \"$X\"\nb: $2a$11$9iBIupLqeXYRfx8SWy5l4O\n");
    assert_eq!(kind(&m, "a"), &Kind::String("$X".into()));
    assert_eq!(
        kind(&m, "b"),
        &Kind::String("$2a$11$9iBIupLqeXYRfx8SWy5l4O".into())
    );
}

#[test]
fn unresolved_variable() {
    let e = p_err("a: 1\n\nb: $NOPE_NOT_SET\n");
    assert_eq!(
        e.message,
        "variable reference for 'NOPE_NOT_SET' on line 3 can not be found"
    );
    assert_eq!((e.span.line, e.span.col), (3, 4));
}

#[test]
fn environment_is_parsed_as_a_value() {
    let env: HashMap<&str, &str> = [
        ("ENV_SUBS", "77"),
        ("ENV_S", "hello"),
        ("ENV_L", "[1, 2]"),
        ("C1", "$C2"),
        ("C2", "$C1"),
        ("BAD", "["),
    ]
    .into_iter()
    .collect();
    let lookup = |n: &str| env.get(n).map(|s| s.to_string());
    let m = parse(
        "a: $ENV_SUBS\nb: $ENV_S\nc: $ENV_L\n",
        Path::new("t.conf"),
        &lookup,
    )
    .unwrap()
    .root;
    assert_eq!(kind(&m, "a"), &Kind::Int(77));
    assert_eq!(kind(&m, "b"), &Kind::String("hello".into()));
    assert!(matches!(kind(&m, "c"), Kind::Array(v) if v.len() == 2));
    let e = parse("a: $C1\n", Path::new("t.conf"), &lookup).unwrap_err();
    assert!(e.message.contains("forms a cycle"), "{}", e.message);
    let e = parse("a: $BAD\n", Path::new("t.conf"), &lookup).unwrap_err();
    assert!(
        e.message
            .starts_with("variable reference for 'BAD' on line 1 could not be parsed"),
        "{}",
        e.message
    );
}

#[test]
fn self_reference_looks_outward() {
    // `a: $a` does not see itself (the key is not defined yet): it looks outward / to the env.
    let e = p_err("a: $a\n");
    assert_eq!(
        e.message,
        "variable reference for 'a' on line 1 can not be found"
    );
}

#[test]
fn brace_list_becomes_array() {
    let parsed = parse(
        "allow { \"a.>\", \"b.>\" }\nx { y }\n",
        Path::new("t.conf"),
        &no_env,
    )
    .unwrap();
    let Kind::Array(items) = kind(&parsed.root, "allow") else {
        panic!()
    };
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].as_str(), Some("b.>"));
    assert!(matches!(kind(&parsed.root, "x"), Kind::Array(v) if v.len() == 1));
    let d = parsed.nonstandard.diagnostics(Severity::Warning);
    assert_eq!(d.len(), 1);
    assert!(
        d[0].message
            .contains("standard form: allow: [\"a.>\", \"b.>\"]"),
        "{}",
        d[0].message
    );
    assert!(d[0].message.contains("(also at 2:1)"), "{}", d[0].message);
}

#[test]
fn mixed_block_is_an_error() {
    let e = p_err("m {\n  a: 1\n  \"b\"\n}\n");
    assert_eq!(e.span.line, 3);
    assert!(e.message.contains("has no value"), "{}", e.message);
}

#[test]
fn colon_key_is_recorded() {
    let parsed = parse(
        "accounts {\n  account:a {\n  }\n}\n",
        Path::new("t.conf"),
        &no_env,
    )
    .unwrap();
    let acc = parsed.root.get("accounts").unwrap().value.as_map().unwrap();
    assert!(acc.get("account:a").is_some());
    let d = parsed.nonstandard.diagnostics(Severity::Warning);
    assert_eq!((d[0].span.line, d[0].span.col), (2, 3));
    assert!(
        d[0].message
            .contains("standard form: \"account:a\" { ... }"),
        "{}",
        d[0].message
    );
}

#[test]
fn parse_error_format() {
    let e = p_err("listen: 4222\naccounts {\n  a: 1 2\n}\n");
    assert_eq!(
        e.message,
        "Parse error on line 3: 'Expected a map value terminator \",\" or a map terminator \"}\", but got '2' instead.'"
    );
    assert_eq!(e.span.line, 3);
}

#[test]
fn json_is_accepted() {
    let m =
        p("{\n  \"port\": 4222,\n  \"accounts\": {\"A\": {\"users\": [{\"user\": \"a\"}]}}\n}\n");
    assert_eq!(kind(&m, "port"), &Kind::Int(4222));
    assert!(m.get("accounts").is_some());
}

#[test]
fn block_string() {
    let m = p("a = (\n  multi\n  line\n)\nb: 1\n");
    assert_eq!(kind(&m, "a"), &Kind::String("\n  multi\n  line\n".into()));
    assert_eq!(kind(&m, "b"), &Kind::Int(1));
}

#[test]
fn include_paths_join_like_go() {
    let d = Path::new("/etc/nats");
    assert_eq!(include_path(d, "./x.conf"), Path::new("/etc/nats/x.conf"));
    // A leading `/` does not make it absolute: nats-server joins it under the folder.
    assert_eq!(
        include_path(d, "/sub/x.conf"),
        Path::new("/etc/nats/sub/x.conf")
    );
    assert_eq!(include_path(d, "../y/./x.conf"), Path::new("/etc/y/x.conf"));
    assert_eq!(include_path(Path::new(""), "./x.conf"), Path::new("x.conf"));
    assert_eq!(
        include_path(Path::new("."), "../x.conf"),
        Path::new("../x.conf")
    );
}

#[test]
fn includes() {
    let dir = std::env::temp_dir().join(format!("corenats-inc-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("sub/users.conf"),
        "users: [ {user: a, password: $PW_VAR} ]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sub/ok.conf"),
        "x: 1\ny { include 'inner.conf' }\n",
    )
    .unwrap();
    std::fs::write(dir.join("sub/inner.conf"), "z: 2\n").unwrap();
    std::fs::write(dir.join("loop.conf"), "include ./loop.conf\n").unwrap();
    let main = dir.join("main.conf");
    let m = parse("x: 0\ninclude ./sub/ok.conf\n", &main, &no_env)
        .unwrap()
        .root;
    assert_eq!(kind(&m, "x"), &Kind::Int(1));
    let y = m.get("y").unwrap().value.as_map().unwrap();
    assert_eq!(kind(y, "z"), &Kind::Int(2));
    assert_eq!(
        y.get("z").unwrap().key_span.file,
        dir.join("sub/inner.conf")
    );

    // Parent variables are invisible in the included file.
    let e = parse(
        "PW_VAR: x\nauthorization {\n  include ./sub/users.conf\n}\n",
        &main,
        &no_env,
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "error parsing include file './sub/users.conf', variable reference for 'PW_VAR' on line 1 can not be found"
    );
    assert_eq!(e.span.file, dir.join("./sub/users.conf"));
    // The environment is visible.
    let env = |n: &str| (n == "PW_VAR").then(|| "pw".to_string());
    assert!(parse(
        "authorization {\n  include ./sub/users.conf\n}\n",
        &main,
        &env
    )
    .is_ok());

    let e = parse("include ./loop.conf\n", &main, &no_env).unwrap_err();
    assert!(e.message.contains("include cycle"), "{}", e.message);
    let e = parse("include ./missing.conf\n", &main, &no_env).unwrap_err();
    assert!(
        e.message
            .starts_with("error parsing include file './missing.conf', open ")
            && e.message
                .ends_with("missing.conf: no such file or directory"),
        "{}",
        e.message
    );
    let _ = std::fs::remove_dir_all(&dir);
}
