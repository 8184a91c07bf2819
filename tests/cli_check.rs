//! Command line: `-t` config checking (exit codes), command-line flags overriding the config, restart on the
//! same port.
mod common;
use common::*;

#[test]
fn check_valid_config_exits_zero() {
    let (code, out) =
        check_config("port: 4222\nmax_payload: 2MB\nauthorization { user: a, password: b }\n");
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn check_corrected_seed_config_exits_zero() {
    let (code, out) = check_config(CORRECTED_SEED);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn check_parse_error_exits_one() {
    let (code, out) =
        check_config("port: 4222\naccounts {\n  a { users: [ {user: x, password: y} \n");
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn check_unknown_field_exits_one() {
    let (code, out) = check_config("foo_unknown: 1\n");
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn check_bad_permission_subject_exits_one() {
    let (code, out) = check_config(
        "accounts { A { users: [ {user: a, password: b, permissions: {publish: \"foo..bar\"}} ] } }\n",
    );
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn check_seed_config_is_strict() {
    // nats-server cannot parse the seed file at all; corenats accepts it with warnings, which `-t` turns
    // into errors. Either way the check fails.
    let seed = include_str!("../nats-server.conf");
    let (code, out) = check_config(seed);
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn real_server_refuses_seed_config_corenats_accepts_it() {
    let seed = include_str!("../nats-server.conf");
    let r = Server::try_start(ServerOpts::conf(seed));
    if is_corenats() {
        let s = r.unwrap();
        // Warnings name the file and line of each non-standard construct.
        let log = s.log();
        assert!(
            log.contains("server.conf:4"),
            "no warning for line 4 in:\n{log}"
        );
    } else {
        assert!(
            r.is_err(),
            "nats-server is expected to reject the seed config"
        );
    }
}

#[test]
fn command_line_overrides_config_port() {
    // The config says 4222 (possibly busy); `-p -1` from the harness wins.
    let s = Server::start(ServerOpts::conf("port: 4222\n"));
    assert_ne!(s.port(), 0);
    s.ready().expect_nothing();
}

#[test]
fn restart_on_same_port() {
    let mut s = Server::plain();
    let port = s.port();
    s.ready().expect_nothing();
    s.restart();
    assert_eq!(s.port(), port);
    s.ready().expect_nothing();
}

#[test]
fn version_flag() {
    let dir = TempDir::new();
    let (code, out) = run_binary(&["--version".into()], &dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.trim().is_empty());
}

/// nats-behaviour.md §5.2's corrected equivalent of the seed config, with colon user names.
const CORRECTED_SEED: &str = r#"
listen: 4222
accounts {
  a {
    users = [
      { user: "user:a", password: "password-a"
        permissions { publish { allow: ["service.a.>"] }, subscribe { allow: ["service.a.>"] } } }
    ]
  }
  b {
    users = [
      { user: "user:b", password: "password-b"
        permissions { publish { allow: ["service.b.>"] }, subscribe { allow: ["service.b.>"] } } }
    ]
  }
}
"#;
