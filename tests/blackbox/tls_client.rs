//! TLS on the client port, on the wire: the INFO fields, the three upgrade sequences (INFO first,
//! `handshake_first`, its fallback), `allow_non_tls`, client certificates (`verify`, unknown and
//! expired ones, `pinned_certs`), `verify_and_map`, the handshake's failures, `/connz`, and the
//! certificate reload. Raw-protocol tests use a rustls client; they pass against nats-server too
//! (`CORENATS_TEST_SERVER`), except where noted.

use crate::common::monitor::{monitor_port, Mon};
use crate::common::pki::{client_config, spki_sha256, Ca, Pki, Subject};
use crate::common::raw::Raw;
use crate::common::server::{Server, ServerOpts, TIMEOUT};
use rcgen::DnType;
use std::time::Duration;

fn start(pki: &Pki, extra_tls: &str, rest: &str) -> Server {
    Server::start(ServerOpts::conf(&format!(
        "{}{rest}\n",
        pki.tls_block(extra_tls)
    )))
}

/// Connects, reads the plain INFO, upgrades and proves the session with a CONNECT and PING/PONG.
fn tls_ready(s: &Server, cfg: std::sync::Arc<rustls::ClientConfig>, connect: &str) -> Raw {
    let mut r = s.raw();
    r.upgrade(cfg).expect("handshake");
    r.send(format!("CONNECT {connect}\r\n").as_bytes());
    r.ping_pong();
    r
}

const QUIET: &str = r#"{"verbose":false,"pedantic":false}"#;

#[test]
fn info_first_then_tls_and_the_info_fields_say_so() {
    let pki = Pki::new();
    let s = start(&pki, "", "");
    let mut r = s.raw();
    assert_eq!(r.info["tls_required"], true, "{}", r.info);
    assert!(r.info.get("tls_verify").is_none_or(|v| v == false));
    assert!(r.info.get("tls_available").is_none_or(|v| v == false));
    r.upgrade(pki.client()).unwrap();
    assert_eq!(r.tls_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    r.send(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB t 1\r\nPUB t 5\r\nhello\r\n");
    let m = r.read_msg();
    assert_eq!(m.payload, b"hello");
    r.ping_pong();
}

#[test]
fn verify_is_announced_and_a_client_without_certificate_is_refused() {
    let pki = Pki::new();
    let s = start(&pki, "verify: true", "");
    let mut r = s.raw();
    assert_eq!(r.info["tls_verify"], true, "{}", r.info);
    assert!(
        r.upgrade(pki.client()).is_err() || {
            // TLS 1.3: the client learns of the refusal at its first read.
            r.try_send(b"PING\r\n").ok();
            r.closed_within(TIMEOUT)
        },
        "a client without certificate must not get in"
    );
    let alice = pki.ca.client(&pki.dir, "alice", &Subject::cn("alice"));
    tls_ready(&s, pki.client_with(&alice), QUIET);
}

#[test]
fn unknown_and_expired_client_certificates_are_refused_and_logged() {
    let pki = Pki::new();
    let s = start(&pki, "verify: true", "");
    let other = Ca::new(&pki.dir, "other");
    let stranger = other.client(&pki.dir, "stranger", &Subject::cn("stranger"));
    let old = pki.ca.client(
        &pki.dir,
        "old",
        &Subject {
            expired: true,
            ..Subject::cn("old")
        },
    );
    for cert in [&stranger, &old] {
        let mut r = s.raw();
        let refused = match r.upgrade(pki.client_with(cert)) {
            Err(_) => true,
            Ok(()) => {
                let _ = r.try_send(b"CONNECT {}\r\nPING\r\n");
                r.closed_within(TIMEOUT)
            }
        };
        assert!(refused, "an untrusted certificate got in");
    }
    assert!(
        s.wait_for_log("TLS handshake error", TIMEOUT),
        "no log line says why:\n{}",
        s.log()
    );
    // Others are unaffected.
    let alice = pki.ca.client(&pki.dir, "alice", &Subject::cn("alice"));
    tls_ready(&s, pki.client_with(&alice), QUIET);
}

#[test]
fn a_plain_text_client_on_a_tls_port_is_closed_without_a_word() {
    let pki = Pki::new();
    let s = start(&pki, "timeout: 0.5", "");
    // Speaking protocol instead of TLS: closed at once.
    let mut r = s.raw();
    r.send(b"CONNECT {}\r\nPING\r\n");
    r.expect_closed();
    // Saying nothing: closed when the TLS timeout ends (nats-server's -ERR never reaches the wire).
    let mut r = s.raw();
    r.expect_closed();
    // A truncated handshake (half a ClientHello) is closed at the timeout too.
    let mut r = s.raw();
    r.send(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]);
    r.expect_closed();
    tls_ready(&s, pki.client(), QUIET);
}

#[test]
fn a_client_hello_on_a_plain_port_is_an_unknown_operation() {
    let s = Server::plain();
    let mut r = s.raw();
    // The start of a TLS ClientHello record.
    r.send(&[
        0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03,
    ]);
    r.expect_closed_maybe_err("Unknown Protocol Operation");
}

#[test]
fn handshake_first_puts_the_info_inside_tls() {
    let pki = Pki::new();
    let s = start(&pki, "handshake_first: true", "allow_non_tls: true");
    let mut r = Raw::connect_no_info(s.port());
    r.upgrade(pki.client()).unwrap();
    let info = r.expect_info();
    assert_eq!(info["tls_required"], true, "{info}");
    r.send(format!("CONNECT {QUIET}\r\n").as_bytes());
    r.ping_pong();
    // An INFO-first client waits for an INFO that never comes in clear text.
    let mut plain = Raw::connect_no_info(s.port());
    plain.timeout = Duration::from_millis(300);
    assert!(!plain.closed_within(Duration::from_millis(300)));
    assert!(plain.pending().is_empty(), "{:?}", plain.pending());
}

#[test]
fn handshake_first_with_a_fallback_serves_both_kinds_of_client() {
    let pki = Pki::new();
    let s = start(&pki, "handshake_first: \"300ms\"", "");
    // A TLS-first client.
    let mut r = Raw::connect_no_info(s.port());
    r.upgrade(pki.client()).unwrap();
    let info = r.expect_info();
    assert_eq!(info["tls_required"], true);
    r.send(format!("CONNECT {QUIET}\r\n").as_bytes());
    r.ping_pong();
    // An INFO-first client gets the INFO in clear text after the wait, then upgrades.
    let mut r = s.raw();
    assert_eq!(r.info["tls_required"], true, "{}", r.info);
    r.upgrade(pki.client()).unwrap();
    r.send(format!("CONNECT {QUIET}\r\n").as_bytes());
    r.ping_pong();
}

#[test]
fn allow_non_tls_takes_plain_and_tls_clients_on_one_port() {
    let pki = Pki::new();
    let s = start(&pki, "", "allow_non_tls: true");
    let mut plain = s.raw();
    assert!(plain.info.get("tls_required").is_none_or(|v| v == false));
    assert_eq!(plain.info["tls_available"], true, "{}", plain.info);
    plain.send(format!("CONNECT {QUIET}\r\nSUB x 1\r\n").as_bytes());
    plain.ping_pong();
    let mut secure = tls_ready(&s, pki.client(), QUIET);
    secure.send(b"PUB x 2\r\nhi\r\n");
    secure.ping_pong();
    assert_eq!(plain.read_msg().payload, b"hi");
}

#[test]
fn pinned_certs_admit_only_the_pinned_key() {
    let pki = Pki::new();
    let alice = pki.ca.client(&pki.dir, "alice", &Subject::cn("alice"));
    let bob = pki.ca.client(&pki.dir, "bob", &Subject::cn("bob"));
    let pin = spki_sha256(&alice.der);
    let s = start(
        &pki,
        &format!("verify: true\n  pinned_certs: [\"{pin}\"]"),
        "",
    );
    tls_ready(&s, pki.client_with(&alice), QUIET);
    let mut r = s.raw();
    let refused = match r.upgrade(pki.client_with(&bob)) {
        Err(_) => true,
        Ok(()) => {
            let _ = r.try_send(b"CONNECT {}\r\nPING\r\n");
            r.closed_within(TIMEOUT)
        }
    };
    assert!(refused, "an unpinned key got in");
}

#[test]
fn verify_and_map_logs_in_the_user_the_certificate_names() {
    let pki = Pki::new();
    let conf = format!(
        "{}\n{}",
        pki.tls_block("verify_and_map: true"),
        r#"
accounts {
  A { users: [ {user: "alice@example.com", permissions: {publish: "a.>", subscribe: "a.>"}} ] }
  B { users: [ {user: "bob.example.com"}, {user: "CN=carol,OU=ops,O=corenats"} ] }
}
"#
    );
    let s = Server::start(ServerOpts::conf(&conf));
    let by_email = pki.ca.client(
        &pki.dir,
        "alice",
        &Subject {
            emails: vec!["alice@example.com".into()],
            ..Subject::cn("ignored")
        },
    );
    let by_dns = pki.ca.client(
        &pki.dir,
        "bob",
        &Subject {
            dns: vec!["bob.example.com".into()],
            ..Subject::cn("ignored too")
        },
    );
    let by_dn = pki.ca.client(
        &pki.dir,
        "carol",
        &Subject {
            dn: vec![
                (DnType::OrganizationName, "corenats".into()),
                (DnType::OrganizationalUnitName, "ops".into()),
                (DnType::CommonName, "carol".into()),
            ],
            ..Subject::default()
        },
    );
    let nobody = pki.ca.client(&pki.dir, "dave", &Subject::cn("dave"));
    // No user or password in CONNECT: the certificate names the user.
    let mut alice = tls_ready(&s, pki.client_with(&by_email), QUIET);
    alice.send(b"PUB b.x 0\r\n\r\n");
    alice.expect_err("Permissions Violation for Publish to \"b.x\"");
    let mut bob = tls_ready(&s, pki.client_with(&by_dns), QUIET);
    let mut carol = tls_ready(&s, pki.client_with(&by_dn), QUIET);
    // Bob and Carol share account B; Alice is in A.
    carol.send(b"SUB b.x 1\r\n");
    carol.ping_pong();
    bob.send(b"PUB b.x 3\r\nhey\r\n");
    bob.ping_pong();
    assert_eq!(carol.read_msg().payload, b"hey");
    // A certificate that names nobody: refused.
    let mut r = s.raw();
    r.upgrade(pki.client_with(&nobody)).unwrap();
    r.send(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n");
    r.expect_err_closed("Authorization Violation");
}

#[test]
fn connz_shows_the_session_and_with_auth_the_peer_certificates() {
    let pki = Pki::new();
    let conf = format!("{}\nhttp_port: -1\n", pki.tls_block("verify: true"));
    let m = Mon::start(ServerOpts::conf(&conf));
    let alice = pki.ca.client(&pki.dir, "alice", &Subject::cn("alice"));
    let _r = tls_ready(
        &m.server,
        pki.client_with(&alice),
        r#"{"verbose":false,"pedantic":false,"name":"tls-client"}"#,
    );
    let v = m.json("/connz?auth=true");
    let c = &v["connections"][0];
    assert_eq!(c["tls_version"], "1.3", "{c}");
    assert_eq!(c["tls_cipher_suite"], "TLS_AES_128_GCM_SHA256", "{c}");
    let certs = c["tls_peer_certs"].as_array().expect("tls_peer_certs");
    assert_eq!(certs[0]["subject"], "CN=alice");
    assert_eq!(certs[0]["spki_sha256"], spki_sha256(&alice.der));
    assert_eq!(certs[0]["cert_sha256"].as_str().map(str::len), Some(64));
    let v = m.json("/connz");
    assert!(v["connections"][0].get("tls_peer_certs").is_none());
}

#[test]
fn a_reload_serves_the_new_certificate_to_new_connections_and_keeps_old_sessions() {
    let pki = Pki::new();
    let s = start(&pki, "", "");
    let mut old = tls_ready(&s, pki.client(), QUIET);
    // A new CA and server certificate, written over the files the config names.
    let ca2 = Ca::new(&pki.dir, "second");
    let cert2 = ca2.server(&pki.dir, "server2");
    std::fs::copy(&cert2.cert_file, &pki.server.cert_file).unwrap();
    std::fs::copy(&cert2.key_file, &pki.server.key_file).unwrap();
    s.signal("HUP");
    // New connections present the new certificate (trusted through the new CA only); the
    // reload is done once one does.
    let new_cfg = client_config(&ca2.der, None);
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let mut r = s.raw();
        if r.upgrade(new_cfg.clone()).is_ok() {
            r.send(format!("CONNECT {QUIET}\r\n").as_bytes());
            r.ping_pong();
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reload not applied:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The old session lives on.
    old.ping_pong();
}

#[test]
fn a_tls_subscriber_that_stops_reading_is_a_slow_consumer() {
    let pki = Pki::new();
    let s = start(&pki, "", "max_pending: 1MB");
    let mut sub = tls_ready(&s, pki.client(), QUIET);
    sub.send(b"SUB big 1\r\n");
    sub.ping_pong();
    // The subscriber never reads: its socket buffers fill, then the TLS records wait in the
    // session's backlog, which counts towards max_pending.
    let mut p = tls_ready(&s, pki.client(), QUIET);
    let payload = vec![b'x'; 60_000];
    let mut frame = format!("PUB big {}\r\n", payload.len()).into_bytes();
    frame.extend_from_slice(&payload);
    frame.extend_from_slice(b"\r\n");
    for i in 0..2000 {
        p.send(&frame);
        if i % 20 == 0 && s.log().contains("Slow Consumer Detected") {
            break;
        }
    }
    p.ping_pong();
    assert!(
        s.wait_for_log("Slow Consumer Detected", TIMEOUT),
        "{}",
        s.log()
    );
}

#[test]
fn connection_rate_limit_refuses_the_excess_in_clear_text() {
    let pki = Pki::new();
    let s = start(&pki, "connection_rate_limit: 1", "");
    let _first = tls_ready(&s, pki.client(), QUIET);
    let mut second = s.raw();
    second.expect_err_closed("Connection throttling is active. Please try again later.");
}

#[test]
fn the_monitor_port_is_found_in_the_log() {
    // Guards the helper the connz test relies on: the monitor line is the same with TLS.
    let pki = Pki::new();
    let s = start(&pki, "", "http_port: -1");
    assert!(monitor_port(&s.log()).is_some(), "{}", s.log());
}

#[test]
fn a_renegotiation_attempt_closes_the_connection_and_nothing_else() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("skipped: needs the openssl command (its s_client can renegotiate)");
        return;
    }
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let pki = Pki::new();
    let s = start(&pki, "handshake_first: true", "");
    let mut child = Command::new("openssl")
        .args(["s_client", "-tls1_2", "-connect"])
        .arg(format!("127.0.0.1:{}", s.port()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |want: &str| loop {
        match rx.recv_timeout(TIMEOUT) {
            Ok(l) if l.contains(want) => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    };
    stdin
        .write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
        .unwrap();
    assert!(wait_for("PONG"), "no PONG over openssl's session");
    // "R" alone on a line makes s_client renegotiate.
    stdin.write_all(b"R\n").unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    let closed = loop {
        if let Ok(Some(_)) = child.try_wait() {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(closed, "the connection survived a renegotiation attempt");
    // The server and other clients are unaffected.
    let mut r = Raw::connect_no_info(s.port());
    r.upgrade(pki.client()).unwrap();
    r.expect_info();
    r.send(format!("CONNECT {QUIET}\r\n").as_bytes());
    r.ping_pong();
}
