//! Raw protocol: every way to log in (user/password plain and bcrypt, token plain and bcrypt, nkey over
//! the INFO nonce, no_auth_user, a user with no password), the exact failure (`-ERR 'Authorization
//! Violation'` and a close), the first op not being CONNECT, the auth timeout as a float, and duplicate
//! users as a config error.

use crate::common::tenancy::*;
use crate::common::*;
use base64::Engine;
use std::time::{Duration, Instant};

/// A `$2a$` bcrypt hash of `secret` (cost 4: the format is what matters, not the strength).
fn bcrypt_2a(secret: &str) -> String {
    bcrypt::hash_with_result(secret, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoA)
}

fn users_server(hash: &str, quoted: bool) -> Server {
    let hash = if quoted {
        format!("\"{hash}\"")
    } else {
        hash.to_string()
    };
    Server::start(ServerOpts::conf(&format!(
        r#"
accounts {{
  A {{
    users: [
      {{user: plain, password: "pw-plain"}}
      {{user: hashed, password: {hash}}}
      {{user: nopass}}
    ]
  }}
}}
"#
    )))
}

#[test]
fn user_password_plain_and_bcrypt() {
    let hash = bcrypt_2a("pw-hashed");
    assert!(hash.starts_with("$2a$04$"), "{hash}");
    for quoted in [true, false] {
        let s = users_server(&hash, quoted);
        assert_eq!(s.raw().info["auth_required"], true);
        let mut a = login(&s, "plain", "pw-plain");
        let mut b = login(&s, "hashed", "pw-hashed");
        // Same account: they see each other.
        a.send(b"SUB t 1\r\n");
        a.ping_pong();
        b.send(b"PUB t 2\r\nhi\r\n");
        b.ping_pong();
        a.expect(b"MSG t 1 2\r\nhi\r\n");
        for (u, p) in [
            ("plain", "pw-hashed"),
            ("hashed", "pw-plain"),
            ("hashed", hash.as_str()), // the stored hash is not a password
            ("plain", ""),
            ("Plain", "pw-plain"), // user names are case-sensitive
        ] {
            assert_login_refused(&s, &connect_json(&user_pass(u, p)));
        }
        a.expect_nothing();
        b.expect_nothing();
    }
}

#[test]
fn user_without_password() {
    let s = users_server(&bcrypt_2a("x"), true);
    let mut c = Raw::ready_with(s.port(), &connect_json(r#""user":"nopass""#));
    c.send(b"SUB x 1\r\nPUB x 1\r\nz\r\n");
    c.expect(b"MSG x 1 1\r\nz\r\n");
    c.expect_nothing();
    let _ = login(&s, "nopass", "");
}

#[test]
fn token_plain_and_bcrypt() {
    for stored in [
        "\"tok-3n\"".to_string(),
        format!("\"{}\"", bcrypt_2a("tok-3n")),
    ] {
        let s = Server::start(ServerOpts::conf(&format!(
            "authorization {{ token: {stored} }}\n"
        )));
        assert_eq!(s.raw().info["auth_required"], true);
        let mut c = Raw::ready_with(s.port(), &connect_json(r#""auth_token":"tok-3n""#));
        c.send(b"SUB x 1\r\nPUB x 1\r\nz\r\n");
        c.expect(b"MSG x 1 1\r\nz\r\n");
        for bad in [
            r#""auth_token":"tok-3N""#,
            r#""auth_token":"""#,
            r#""user":"tok-3n","pass":"tok-3n""#,
            r#""pass":"tok-3n""#,
            "",
        ] {
            assert_login_refused(&s, &connect_json(bad));
        }
        c.expect_nothing();
    }
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn nkey_connect(kp: &nkeys::KeyPair, nonce: &str, std_padded: bool) -> String {
    let sig = kp.sign(nonce.as_bytes()).unwrap();
    let sig = if std_padded {
        base64::engine::general_purpose::STANDARD.encode(&sig)
    } else {
        b64url(&sig)
    };
    connect_json(&format!(r#""nkey":"{}","sig":"{sig}""#, kp.public_key()))
}

#[test]
fn nkey_signs_the_nonce() {
    let kp = nkeys::KeyPair::new_user();
    let other = nkeys::KeyPair::new_user();
    let s = Server::start(ServerOpts::conf(&format!(
        "accounts {{\n  A {{ users: [ {{nkey: {}}}, {{user: u, password: p}} ] }}\n}}\n",
        kp.public_key()
    )));
    // Good signature (base64url, no padding), then the padded standard form.
    for padded in [false, true] {
        let mut c = s.raw();
        let nonce = c.info["nonce"]
            .as_str()
            .expect("INFO has a nonce")
            .to_string();
        assert!(!nonce.is_empty());
        c.send(format!("CONNECT {}\r\nPING\r\n", nkey_connect(&kp, &nonce, padded)).as_bytes());
        c.expect(b"PONG\r\n");
        c.send(b"SUB n 1\r\nPUB n 1\r\nz\r\n");
        c.expect(b"MSG n 1 1\r\nz\r\n");
        c.expect_nothing();
    }
    // Each connection has its own nonce; a signature over another connection's nonce fails.
    let first = s.raw();
    let mut second = s.raw();
    let n1 = first.info["nonce"].as_str().unwrap().to_string();
    let n2 = second.info["nonce"].as_str().unwrap().to_string();
    assert_ne!(n1, n2);
    second.send(format!("CONNECT {}\r\n", nkey_connect(&kp, &n1, false)).as_bytes());
    second.expect_err_closed("Authorization Violation");
    // A key that is not configured, a signature by the wrong key, no signature, a garbage signature.
    let mut c = s.raw();
    let n = c.info["nonce"].as_str().unwrap().to_string();
    c.send(format!("CONNECT {}\r\n", nkey_connect(&other, &n, false)).as_bytes());
    c.expect_err_closed("Authorization Violation");
    let mut c = s.raw();
    let n = c.info["nonce"].as_str().unwrap().to_string();
    let forged = b64url(&other.sign(n.as_bytes()).unwrap());
    c.send(
        format!(
            "CONNECT {}\r\n",
            connect_json(&format!(r#""nkey":"{}","sig":"{forged}""#, kp.public_key()))
        )
        .as_bytes(),
    );
    c.expect_err_closed("Authorization Violation");
    for bad in [
        format!(r#""nkey":"{}""#, kp.public_key()),
        format!(r#""nkey":"{}","sig":"not-base64!!""#, kp.public_key()),
        format!(r#""user":"{}","pass":"x""#, kp.public_key()),
    ] {
        assert_login_refused(&s, &connect_json(&bad));
    }
    // Users with passwords still work beside nkeys.
    login(&s, "u", "p").expect_nothing();
}

#[test]
fn no_auth_user_without_connect_and_with_permissions() {
    let s = Server::start(ServerOpts::conf(
        r#"
accounts {
  A { users: [ {user: anon, password: pa, permissions: {publish: "open.>", subscribe: "open.>"}} ] }
  B { users: [ {user: b, password: pb} ] }
}
no_auth_user: anon
"#,
    ));
    // No CONNECT at all: the client is `anon` in A (and, as with a CONNECT that omits it, verbose).
    let mut silent = s.raw();
    silent.send(b"SUB open.x 1\r\nPING\r\n");
    silent.expect(b"+OK\r\nPONG\r\n");
    let mut anon = Raw::ready(s.port());
    anon.send(b"PUB open.x 2\r\nhi\r\n");
    anon.ping_pong();
    silent.expect(b"MSG open.x 1 2\r\nhi\r\n");
    // And with anon's permissions.
    anon.send(b"PUB closed.x 1\r\nz\r\n");
    anon.expect_err(&pub_violation("closed.x"));
    anon.send(b"SUB closed.x 9\r\n");
    anon.expect_err(&sub_violation("closed.x", None));
    anon.expect_nothing();
    // B does not see A's traffic; named users log in normally; wrong credentials still fail.
    let mut b = login(&s, "b", "pb");
    b.send(b"SUB open.x 1\r\n");
    b.ping_pong();
    anon.send(b"PUB open.x 1\r\nz\r\n");
    anon.ping_pong();
    silent.expect(b"MSG open.x 1 1\r\nz\r\n");
    b.expect_nothing();
    assert_login_refused(&s, &connect_json(&user_pass("b", "nope")));
    assert_login_refused(&s, &connect_json(&user_pass("anon", "nope")));
}

#[test]
fn no_auth_user_must_exist() {
    const CONF: &str =
        "accounts { A { users: [ {user: a, password: b} ] } }\nno_auth_user: ghost\n";
    let r = Server::try_start(ServerOpts::conf(CONF));
    let log = r
        .err()
        .expect("a server with a missing no_auth_user must not start");
    assert!(
        log.contains("no_auth_user: \"ghost\" not present as user or nkey"),
        "{log}"
    );
    if is_corenats() {
        // nats-server gives no position here; corenats names the value's.
        assert!(log.contains(".conf:2:15: no_auth_user: \"ghost\""), "{log}");
    }
    // Like nats-server, `-t` does not catch it (it is checked when the server starts).
    let (code, out) = check_config(CONF);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn wrong_credentials_are_all_the_same_violation() {
    let kp = nkeys::KeyPair::new_user();
    let s = Server::start(ServerOpts::conf(&format!(
        r#"
accounts {{
  A {{ users: [ {{user: a, password: pa}}, {{nkey: {}}} ] }}
  B {{ users: [ {{user: b, password: pb}} ] }}
}}
"#,
        kp.public_key()
    )));
    for bad in [
        user_pass("a", "pb"),
        user_pass("b", "pa"),
        user_pass("nobody", "pa"),
        user_pass("", ""),
        r#""auth_token":"pa""#.to_string(),
        r#""user":"a""#.to_string(),
        r#""pass":"pa""#.to_string(),
        String::new(),
    ] {
        // Byte for byte: the -ERR line and then EOF, nothing else.
        assert_login_refused(&s, &connect_json(&bad));
    }
}

#[test]
fn first_op_must_be_connect_with_account_users() {
    let s = Server::start(ServerOpts::conf(
        "accounts { A { users: [ {user: a, password: pa} ] } }\n",
    ));
    for first in [
        &b"PING\r\n"[..],
        b"SUB foo 1\r\n",
        b"PUB foo 1\r\nx\r\n",
        b"UNSUB 1\r\n",
        b"PONG\r\n",
    ] {
        let mut c = s.raw();
        c.send(first);
        c.expect_err_closed("Authorization Violation");
    }
    // A good CONNECT after a bad op never gets a chance.
    let mut c = s.raw();
    c.send(b"SUB foo 1\r\nCONNECT {\"user\":\"a\",\"pass\":\"pa\"}\r\nPING\r\n");
    c.expect_err_closed("Authorization Violation");
}

#[test]
fn fractional_auth_timeout_with_accounts() {
    let s = Server::start(ServerOpts::conf(
        "authorization { timeout: 0.5 }\naccounts { A { users: [ {user: a, password: pa} ] } }\n",
    ));
    let t0 = Instant::now();
    let mut c = s.raw();
    c.expect_err_closed("Authentication Timeout");
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(400), "too early: {took:?}");
    assert!(took <= Duration::from_millis(1800), "too late: {took:?}");
    // A client that logs in in time is not touched by the timer.
    let mut ok = login(&s, "a", "pa");
    std::thread::sleep(Duration::from_millis(700));
    ok.expect_nothing();
}

#[test]
fn duplicate_user_is_a_config_error() {
    for conf in [
        "accounts {\n  A { users: [ {user: x, password: a} ] }\n  B { users: [ {user: x, password: b} ] }\n}\n",
        "accounts {\n  A { users: [ {user: x, password: a}, {user: x, password: b} ] }\n}\n",
        "authorization { users: [ {user: x, password: a} ] }\naccounts {\n  A { users: [ {user: x, password: b} ] }\n}\n",
    ] {
        let (code, out) = check_config(conf);
        assert_eq!(code, Some(1), "-t must fail for:\n{conf}\n{out}");
        assert!(out.contains("Duplicate user \"x\" detected"), "{out}");
        let log = Server::try_start(ServerOpts::conf(conf))
            .err()
            .expect("a config with a duplicate user must not start");
        assert!(log.contains("Duplicate user \"x\" detected"), "{log}");
    }
}

/// A misspelt key must not leave a user without a password or permissions: like nats-server,
/// the server refuses to start and names the key.
#[test]
fn misspelt_auth_keys_refuse_to_start() {
    for (conf, key) in [
        (
            "authorization { users: [ {user: admin, pasword: s3cret} ] }\n",
            "pasword",
        ),
        (
            "authorization { users: [ {user: a, password: b, permisions: {publish: x}} ] }\n",
            "permisions",
        ),
        ("authorisation { user: a, password: b }\n", "authorisation"),
    ] {
        let log = Server::try_start(ServerOpts::conf(conf))
            .err()
            .expect("a config with an unknown key must not start");
        assert!(log.contains(&format!("unknown field \"{key}\"")), "{log}");
    }
}

#[test]
fn plaintext_passwords_are_warned_about_once_at_startup() {
    const WARNING: &str = "[WRN] Plaintext passwords detected, use nkeys or bcrypt";
    let hash = bcrypt_2a("pw-hashed");
    // A plain password among bcrypt ones: warned about.
    let plain = users_server(&hash, true);
    assert_eq!(log_count(&plain, WARNING), 1, "{}", plain.log());
    // A plain token is not (nats-server checks passwords only), nor are bcrypt-only users.
    let token = Server::start(ServerOpts::conf("authorization { token: \"s3cr3t\" }\n"));
    assert_eq!(log_count(&token, WARNING), 0, "{}", token.log());
    let hashed = Server::start(ServerOpts::conf(&format!(
        "accounts {{ A {{ users: [ {{user: hashed, password: \"{hash}\"}} ] }} }}\n"
    )));
    assert_eq!(log_count(&hashed, WARNING), 0, "{}", hashed.log());
}

/// With `no_auth_user`, a client that never sends anything is still closed by the auth timeout
/// (it would otherwise hold a connection slot forever).
#[test]
fn no_auth_user_silent_client_times_out() {
    let s = Server::start(ServerOpts::conf(
        "authorization { timeout: 0.5, users: [ {user: a, password: p} ] }\nno_auth_user: a\n",
    ));
    let mut c = s.raw();
    c.timeout = Duration::from_secs(4);
    c.expect_err_closed("Authentication Timeout");
}

/// With auth required, the first byte of anything but CONNECT is an auth failure: no payload or
/// control-line check runs first.
#[test]
fn first_op_other_than_connect_fails_auth_before_limits() {
    let s = Server::start(ServerOpts::conf(
        "max_payload: 8\nauthorization { users: [ {user: a, password: p} ] }\n",
    ));
    let mut c = s.raw();
    c.send(b"PUB x 100\r\n");
    c.expect_err_closed("Authorization Violation");
    let mut c = s.raw();
    c.send(format!("SUB {}", "y".repeat(5000)).as_bytes());
    c.expect_err_closed("Authorization Violation");
}

/// A first PUB without CONNECT logs in as `no_auth_user` before it is read, so the account's
/// `max_payload` already applies to it.
#[test]
fn implicit_login_applies_account_payload_limit_to_first_pub() {
    let s = Server::start(ServerOpts::conf(
        "accounts { A { users: [ {user: a, password: p} ], limits: { max_payload: 5 } } }\nno_auth_user: a\n",
    ));
    let mut c = s.raw();
    c.send(b"PUB x 6\r\n012345\r\nPING\r\n");
    c.expect_err_closed("Maximum Payload Violation");
    let mut ok = s.raw();
    ok.send(b"PUB x 5\r\n01234\r\nPING\r\n");
    ok.expect(b"+OK\r\nPONG\r\n");
}

/// A server with a cost-11 bcrypt user under attack (`victim`, password `right`), another bcrypt user
/// (`alice`) and a plain-password user (`fast`), with the given authorization timeout.
fn flood_server(timeout: &str) -> Server {
    let victim = bcrypt::hash("right", 11).unwrap();
    let alice = bcrypt::hash("alicepw", 11).unwrap();
    Server::start(ServerOpts::conf(&format!(
        r#"
authorization {{ timeout: {timeout} }}
accounts {{
  A {{
    users: [
      {{user: victim, password: "{victim}"}}
      {{user: alice, password: "{alice}"}}
      {{user: fast, password: "plainpw"}}
    ]
  }}
}}
"#
    )))
}

/// `n` connections that each send a wrong-password CONNECT (and a PING) for `victim`.
fn attackers(s: &Server, n: usize) -> Vec<Raw> {
    (0..n)
        .map(|_| {
            let mut c = s.raw();
            c.send(
                b"CONNECT {\"verbose\":false,\"user\":\"victim\",\"pass\":\"wrong\"}\r\nPING\r\n",
            );
            c
        })
        .collect()
}

/// True when the server has sent `c` anything (its verdict) by now, without waiting.
fn answered(c: &Raw) -> bool {
    let s = c.stream();
    s.set_nonblocking(true).unwrap();
    let mut b = [0u8; 1];
    let got = !matches!(s.peek(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    s.set_nonblocking(false).unwrap();
    got
}

#[test]
fn plain_logins_never_wait_behind_bcrypt() {
    // Once, 40 bcrypt checks queued ahead of a plain login made it fail with `Authentication
    // Timeout`: plain passwords (and tokens, nkeys) are now decided at once.
    let s = flood_server("1");
    for hang_up in [true, false] {
        let flood = attackers(&s, 40);
        if hang_up {
            drop(flood);
            for _ in 0..5 {
                login(&s, "fast", "plainpw").expect_nothing();
            }
        } else {
            for _ in 0..5 {
                login(&s, "fast", "plainpw").expect_nothing();
            }
            drop(flood);
        }
    }
}

#[test]
fn a_flood_for_one_user_does_not_hold_back_another_users_login() {
    // Bcrypt checks are served round-robin per (address, user): alice's check overtakes the
    // attackers' queue instead of waiting for all of it. nats-server runs every check at once in
    // parallel, so its attackers and alice finish together: corenats only.
    if !is_corenats() {
        return;
    }
    let s = flood_server("10");
    let flood = attackers(&s, 40);
    // A plain login right after: the attackers' CONNECTs are being handled by then.
    login(&s, "fast", "plainpw").expect_nothing();
    let mut alice = login(&s, "alice", "alicepw");
    let done = flood.iter().filter(|c| answered(c)).count();
    assert!(
        done <= 30,
        "{done} of 40 attackers were answered before alice"
    );
    alice.ping_pong();
}

#[test]
fn a_login_being_checked_is_not_timed_out() {
    // As in nats-server, the authentication timer stops once a CONNECT is being checked: twenty
    // checks for the same user queued ahead (about a second of bcrypt per shard) do not make a
    // correct login fail with `Authentication Timeout` at 0.5 s.
    let s = flood_server("0.5");
    let flood = attackers(&s, 20);
    let mut v = login(&s, "victim", "right");
    v.ping_pong();
    drop(flood);
}

#[test]
fn checks_of_clients_that_hung_up_are_skipped() {
    // Forty attackers that close right after their CONNECT cost (almost) no bcrypt: their checks
    // are skipped, so few `authentication error` lines appear, and a correct login is not held up.
    if !is_corenats() {
        return;
    }
    let s = flood_server("2");
    drop(attackers(&s, 40));
    let mut v = login(&s, "victim", "right");
    v.ping_pong();
    let failures = log_count(&s, "authentication error");
    assert!(failures < 20, "{failures} checks ran:\n{}", s.log());
}
