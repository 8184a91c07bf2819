//! The founding example loads as written, means what its README says, and warns 4 times.

use super::*;
use crate::config::{load_file, Strictness, SubjectPermSpec};

fn allow(s: &str) -> Option<SubjectPermSpec> {
    Some(SubjectPermSpec {
        allow: Some(vec![s.to_string()]),
        deny: None,
    })
}

#[test]
fn seed_loads_with_the_meaning_of_its_readme() {
    let path = configs_dir().join("seed-example.conf");
    let loaded = load_file(&path, Strictness::Start).unwrap_or_else(|e| panic!("{e}"));
    let c = &loaded.config;
    assert_eq!(c.port, 4222);
    assert_eq!(c.host, "0.0.0.0");
    let names: Vec<&str> = c.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["account:a", "account:b"]);

    let a = &c.accounts[0];
    assert_eq!(a.span.line, 4);
    assert_eq!(a.users.len(), 1);
    let ua = &a.users[0];
    assert_eq!(ua.user.as_deref(), Some("user:a"));
    assert_eq!(ua.password.as_deref(), Some("password-a"));
    let pa = ua.permissions.as_ref().unwrap();
    assert_eq!(pa.publish, allow("service.a.>"));
    assert_eq!(pa.subscribe, allow("service.a.>"));
    assert_eq!(pa.allow_responses, None);

    let b = &c.accounts[1];
    let ub = &b.users[0];
    assert_eq!(ub.user.as_deref(), Some("user:b"));
    assert_eq!(ub.password.as_deref(), Some("password-b"));
    let pb = ub.permissions.as_ref().unwrap();
    assert_eq!(pb.publish, allow("service.b.>"));
    // The bare `allow` under permissions applies to subscribe (publish has its own rules).
    assert_eq!(pb.subscribe, allow("service.b.>"));
    assert!(c.authorization.is_none());
    assert!(loaded.digest.starts_with("sha256:"));
}

#[test]
fn seed_warns_once_per_construct_with_positions() {
    let path = configs_dir().join("seed-example.conf");
    let loaded = load_file(&path, Strictness::Start).unwrap();
    let w = &loaded.warnings;
    assert_eq!(w.len(), 4, "{:#?}", short(w));
    assert!(w.iter().all(|d| d.severity == Severity::Warning));
    assert!(w.iter().all(|d| d.span.file == path));
    let s = short(w);
    assert!(s[0].starts_with("4:3 non-standard config (key with ':' before a block): account:a { ... }; standard form: \"account:a\" { ... } (also at 7:7, 23:3, 26:7)"), "{}", s[0]);
    assert!(
        s[1].starts_with("5:5 non-standard config (users written as a map of blocks)"),
        "{}",
        s[1]
    );
    assert!(
        s[1].contains("standard form: users: [ {user: \"user:a\", ...} ]"),
        "{}",
        s[1]
    );
    assert!(s[1].ends_with("(also at 24:5)"), "{}", s[1]);
    assert!(s[2].starts_with("12:13 non-standard config (list written in braces): allow { \"service.a.>\" }; standard form: allow: [\"service.a.>\"] (also at 16:13, 31:13, 34:11)"), "{}", s[2]);
    assert!(
        s[3].starts_with("34:11 non-standard config ('allow'/'deny' directly under permissions)"),
        "{}",
        s[3]
    );
    assert!(
        s[3].contains("standard form: subscribe { allow: [\"service.b.>\"] }"),
        "{}",
        s[3]
    );
    // Display names the file.
    assert!(w[0]
        .to_string()
        .ends_with(&format!("seed-example.conf:4:3: {}", w[0].message)));
}

#[test]
fn seed_is_rejected_in_pedantic_mode_with_all_four_errors() {
    let path = configs_dir().join("seed-example.conf");
    let e = load_file(&path, Strictness::Pedantic).unwrap_err();
    let lines: Vec<u32> = e.diagnostics.iter().map(|d| d.span.line).collect();
    assert_eq!(lines, [4, 5, 12, 34]);
    assert!(e.diagnostics.iter().all(|d| d.severity == Severity::Error));
    // `-t` without --pedantic: the same four, as notes, and the file passes.
    let l = load_file(&path, Strictness::Check).unwrap();
    let lines: Vec<u32> = l.warnings.iter().map(|d| d.span.line).collect();
    assert_eq!(lines, [4, 5, 12, 34]);
}

#[test]
fn corrected_seed_is_standard_and_equivalent() {
    // The standard-form equivalent of the seed, with the colon names restored (quoted keys / values).
    let text = r#"
listen: 4222
accounts {
  "account:a" {
    users = [
      { user: "user:a", password: "password-a"
        permissions { publish { allow: ["service.a.>"] }, subscribe { allow: ["service.a.>"] } } }
    ]
  }
  "account:b" {
    users = [
      { user: "user:b", password: "password-b"
        permissions { publish { allow: ["service.b.>"] }, subscribe { allow: ["service.b.>"] } } }
    ]
  }
}
"#;
    let std = pedantic(text).unwrap_or_else(|e| panic!("{e}"));
    assert!(std.warnings.is_empty());
    let seed = load_file(&configs_dir().join("seed-example.conf"), Strictness::Start).unwrap();
    for (x, y) in std.config.accounts.iter().zip(&seed.config.accounts) {
        assert_eq!(x.name, y.name);
        assert_eq!(x.users[0].user, y.users[0].user);
        assert_eq!(x.users[0].password, y.users[0].password);
        assert_eq!(x.users[0].permissions, y.users[0].permissions);
    }
}

#[test]
fn standard_user_colon_value_is_not_the_extension() {
    // `user: user:a` stays key `user`, value `user:a`.
    let l = pedantic("authorization { users: [ {user: user:a, password: p} ] }\n").unwrap();
    let u = &l.config.authorization.unwrap().users[0];
    assert_eq!(u.user.as_deref(), Some("user:a"));
}
