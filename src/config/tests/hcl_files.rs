//! HCL files mean the same as their conf equivalents.

use super::*;
use crate::config::Config;

/// The meaning of a config without positions, for comparing two front ends.
fn meaning(c: &Config) -> String {
    let mut s = format!("{c:?}");
    // Drop every `span: Span { ... }` (positions differ between the two files).
    while let Some(i) = s.find("span: Span {") {
        let Some(j) = s[i..].find('}') else { break };
        s.replace_range(i..i + j + 1, "");
    }
    s
}

fn both(conf: &str, hcl: &str) -> (Loaded, Loaded) {
    let a = with_env(conf, "same.conf", &[], true).unwrap_or_else(|e| panic!("conf: {e}"));
    let b = with_env(hcl, "same.hcl", &[], true).unwrap_or_else(|e| panic!("hcl: {e}"));
    (a, b)
}

#[test]
fn server_settings() {
    let (a, b) = both(
        "listen: \"127.0.0.1:4333\"\nmax_payload: 2MB\nping_interval: \"30s\"\ndebug: true\nserver_name: n1\n",
        "listen = \"127.0.0.1:4333\"\nmax_payload = 2097152\nping_interval = \"30s\"\ndebug = true\nserver_name = \"n1\"\n",
    );
    assert_eq!(meaning(&a.config), meaning(&b.config));
    assert_eq!(b.config.port, 4333);
}

#[test]
fn accounts_users_permissions_imports() {
    let conf = r#"
authorization { timeout: 1.5 }
accounts {
  A {
    users: [ {user: a, password: pa, permissions: {publish: {allow: ["svc.a.>"], deny: "svc.a.x"}, subscribe: "svc.>", allow_responses: {max: 3}}} ]
    exports: [ {stream: "pub.>"}, {service: "help", accounts: [B], response_type: stream} ]
    limits { max_conn: 5 }
  }
  B {
    users: [ {user: b, password: pb} ]
    imports: [ {stream: {account: A, subject: "pub.>"}, prefix: "fromA"}, {service: {account: A, subject: "help"}, to: "ahelp"} ]
  }
}
mappings { "old.*": "new.$1", "w": [ {destination: "x", weight: 40}, {destination: "y", weight: 60} ] }
"#;
    let hcl = r#"
authorization {
  timeout = 1.5
}
accounts "A" {
  users = [ { user = "a", password = "pa", permissions = { publish = { allow = ["svc.a.>"], deny = "svc.a.x" }, subscribe = "svc.>", allow_responses = { max = 3 } } } ]
  exports = [ { stream = "pub.>" }, { service = "help", accounts = ["B"], response_type = "stream" } ]
  limits {
    max_conn = 5
  }
}
accounts "B" {
  users = [ { user = "b", password = "pb" } ]
  imports = [ { stream = { account = "A", subject = "pub.>" }, prefix = "fromA" }, { service = { account = "A", subject = "help" }, to = "ahelp" } ]
}
mappings = { "old.*" = "new.$1", "w" = [ { destination = "x", weight = 40 }, { destination = "y", weight = 60 } ] }
"#;
    let (a, b) = both(conf, hcl);
    assert_eq!(meaning(&a.config), meaning(&b.config));
    assert_eq!(b.config.accounts.len(), 2);
    // Positions point into the HCL file.
    let acc = &b.config.accounts[1];
    assert_eq!(acc.span.file, Path::new("same.hcl"));
    assert_eq!(acc.span.line, 12);
}

#[test]
fn hcl_errors_use_the_same_build() {
    let e = with_env("max_payload = \"2MB\"\nfoo = 1\n", "x.hcl", &[], true).unwrap_err();
    assert_eq!(
        short(&e.diagnostics),
        [
            "1:15 invalid value for \"max_payload\": expected an integer (sizes may use suffixes such as 1MB), got a string \"2MB\"",
            "2:1 unknown field \"foo\"",
        ]
    );
}
