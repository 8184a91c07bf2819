//! Command line: `-t` config checking (exit codes), command-line flags overriding the config, restart on the
//! same port.
use crate::common::*;

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
fn check_seed_config_passes_with_notes() {
    // nats-server cannot parse the seed file at all. corenats reads its dialect with one clear meaning
    // per construct: `-t` passes and prints a note for each; `--pedantic` makes them errors.
    let seed = include_str!("../../nats-server.conf");
    let (code, out) = check_config(seed);
    if !is_corenats() {
        assert_eq!(code, Some(1), "{out}");
        return;
    }
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("is valid"), "{out}");
    assert!(
        out.contains("note: ") && out.contains("check.conf:4:3"),
        "{out}"
    );
    let dir = TempDir::new();
    let path = dir.write("seed.conf", seed);
    let args = ["-t", "--pedantic", "-c", &path.to_string_lossy()].map(String::from);
    let (code, out) = run_binary(&args, &dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("seed.conf:4:3: non-standard config"), "{out}");
}

#[test]
fn check_still_fails_on_unknown_and_unsupported_keys() {
    // An unknown key is an error everywhere; a key corenats does not implement fails `-t` (the
    // file is valid, but part of it would be ignored), as nats-server's `-t` fails on its warnings.
    let (code, out) = check_config("listen: 4222\npasword: x\n");
    assert_eq!(code, Some(1), "{out}");
    if is_corenats() {
        let (code, out) = check_config("listen: 4222\njetstream: {}\n");
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("jetstream is not supported"), "{out}");
    }
}

#[test]
fn check_accepts_a_cluster_block() {
    let (code, out) = check_config(
        r#"
port: 4222
cluster {
  name: "C1"
  listen: "127.0.0.1:-1"
  advertise: "10.0.0.1:16222"
  no_advertise: true
  connect_retries: 3
  routes: [ "nats-route://ruser:T0p@127.0.0.1:6223", "nats://127.0.0.1:6224" ]
  authorization { user: ruser, password: T0p, timeout: 2 }
}
"#,
    );
    assert_eq!(code, Some(0), "{out}");
    // A cluster `tls` block is read as nats-server's and its files are checked: a certificate
    // without its key is nats-server's error, at the block.
    let (code, out) = check_config("cluster {\n  port: 6222\n  tls {}\n}\n");
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check_config(
        "cluster {\n  port: 6222\n  tls {\n    cert_file: \"/nonexistent/node.pem\"\n  }\n}\n",
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("check.conf:3:3: missing 'key_file' in TLS configuration"),
        "{out}"
    );
    if is_corenats() {
        // Keys corenats ignores fail `-t`, as every ignored key does.
        let (code, out) = check_config("cluster { port: 6222, pool_size: 3 }\n");
        assert_eq!(code, Some(1), "{out}");
        assert!(
            out.contains("check.conf:1:22: cluster \"pool_size\" is not supported"),
            "{out}"
        );
        let (code, out) = check_config("cluster {\n  routes: [\"nats://h:1\"]\n}\n");
        assert_eq!(code, Some(1), "{out}");
        assert!(
            out.contains(
                "check.conf:2:3: solicited routes require cluster capabilities, e.g. --cluster"
            ),
            "{out}"
        );
    }
}

#[test]
fn check_accepts_a_leafnodes_listener_block() {
    let (code, out) = check_config(
        r#"
port: 4222
accounts { HUB { users = [ { user: c, password: c } ] } }
leafnodes {
  listen: "127.0.0.1:-1"
  advertise: "10.0.0.1:17422"
  no_advertise: true
  authorization {
    users = [
      { user: leaf1, password: s1, account: HUB }
      { user: leaf2, password: s2 }
    ]
    timeout: 2
  }
}
"#,
    );
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check_config(
        "accounts { HUB {} }\nleafnodes { port: -1, authorization { user: u, password: p, account: HUB } }\n",
    );
    assert_eq!(code, Some(0), "{out}");
    // nats-server's own check, at the `authorization` key.
    let (code, out) = check_config(
        "leafnodes {\n  port: 7422\n  authorization { user: u, password: p, users: [ {user: v} ] }\n}\n",
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("check.conf:3:3: can not have a single user/pass and a users array"),
        "{out}"
    );
    if is_corenats() {
        // Ignored keys fail `-t`; an unknown account is an error (nats-server finds it only at
        // start).
        let (code, out) = check_config("leafnodes {\n  port: 7422\n  compression: off\n}\n");
        assert_eq!(code, Some(1), "{out}");
        assert!(
            out.contains(
                "check.conf:3:3: leafnodes \"compression\" (accepting leaf nodes) is not supported"
            ),
            "{out}"
        );
        let (code, out) =
            check_config("leafnodes {\n  port: 7422\n  authorization { account: NOPE }\n}\n");
        assert_eq!(code, Some(1), "{out}");
        assert!(
            out.contains("cannot find local account \"NOPE\" specified in leafnode authorization"),
            "{out}"
        );
    }
}

#[test]
fn real_server_refuses_seed_config_corenats_accepts_it() {
    let seed = include_str!("../../nats-server.conf");
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
fn restart_at_once_after_kill_with_clients() {
    // A SIGKILLed server's listening sockets outlive it for a few milliseconds (io_uring teardown);
    // a supervisor restarts at once and must not see `address already in use`.
    let mut s = Server::plain();
    for round in 0..10 {
        let mut c = s.ready();
        c.send(b"SUB x 1\r\nPING\r\n");
        c.expect(b"PONG\r\n");
        if let Err(e) = s.restart_at_once() {
            panic!("round {round}: restart failed: {e}");
        }
        s.ready().expect_nothing();
    }
}

#[test]
fn second_live_server_on_the_port_is_refused() {
    let s = Server::plain();
    let dir = TempDir::new();
    let port = s.port().to_string();
    let args = ["-a", "127.0.0.1", "-p", &port].map(String::from);
    let (code, out) = run_binary(&args, &dir);
    assert_eq!(code, Some(1), "{out}");
    let want = format!(
        "Error listening on port: 127.0.0.1:{port}, \"listen tcp 127.0.0.1:{port}: bind: address already in use\""
    );
    assert!(out.contains(&want), "{out}");
    s.ready().expect_nothing();
}

#[test]
fn version_flag() {
    let dir = TempDir::new();
    let (code, out) = run_binary(&["--version".into()], &dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.trim().is_empty());
}

/// The standard-form equivalent of the seed config (docs/FOUNDING-EXAMPLE.md), with colon user names.
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
