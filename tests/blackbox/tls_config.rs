//! The `tls {}` configuration from the outside: `-t` on good and bad blocks (exit code and message),
//! the TLS command-line flags, and the monitor over HTTPS (`https_port`), including a certificate
//! swapped by a reload. Texts are compared with nats-server's where it has them; the tests run against
//! nats-server too (`CORENATS_TEST_SERVER`), with corenats's own choices gated by `is_corenats()`.

use crate::common::pki::{client_config, Ca, Pki};
use crate::common::server::{is_corenats, run_binary, Server, ServerOpts, TempDir, TIMEOUT};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

/// `-t -c <file>` with `conf` written in `dir` (so relative certificate paths can be tested too).
fn check_in(dir: &TempDir, conf: &str) -> (Option<i32>, String) {
    let path = dir.write("check.conf", conf);
    let args = ["-t", "-c", &path.to_string_lossy()].map(String::from);
    run_binary(&args, dir)
}

#[test]
fn check_accepts_a_complete_block() {
    let pki = Pki::new();
    let conf = format!(
        "{}allow_non_tls: true\nhttps_port: 8443\n",
        pki.tls_block(
            "verify: true\n  timeout: 1.5\n  handshake_first: auto\n  min_version: \"1.2\"\n  \
             cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  \
             curve_preferences: [X25519, CurveP256]"
        )
    );
    let (code, out) = check_in(&pki.dir, &conf);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("is valid"), "{out}");
    // An empty block is valid too (TLS terminated by a proxy in front).
    let (code, out) = check_in(&pki.dir, "tls {}\nallow_non_tls: true\n");
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn check_reports_bad_blocks_as_nats_server_does() {
    let pki = Pki::new();
    let cert = format!("{:?}", pki.server.cert_file);
    let key = format!("{:?}", pki.server.key_file);
    let missing = pki.dir.path().join("missing.pem");
    let cases: Vec<(String, String)> = vec![
        (
            format!("port: 4222\ntls {{\n  cert_file: {cert}\n}}\n"),
            "check.conf:2:1: missing 'key_file' in TLS configuration".into(),
        ),
        (
            format!("port: 4222\ntls {{\n  cert_file: {cert}\n  key_file: {key}\n  bogus: 1\n}}\n"),
            "check.conf:5:3: error parsing tls config, unknown field \"bogus\"".into(),
        ),
        (
            format!(
                "port: 4222\ntls {{\n  cert_file: {cert}\n  key_file: {key}\n  cipher_suites: [\n    \"TLS_FOO\"\n  ]\n}}\n"
            ),
            "check.conf:6:6: unrecognized cipher TLS_FOO".into(),
        ),
        (
            format!("port: 4222\ntls {{\n  cert_file: {missing:?}\n  key_file: {key}\n}}\n"),
            format!(
                "check.conf:2:1: error parsing X509 certificate/key pair: open {}: no such file or directory",
                missing.display()
            ),
        ),
        (
            format!("port: 4222\ntls {{\n  cert_file: {key}\n  key_file: {key}\n}}\n"),
            "check.conf:2:1: error parsing X509 certificate/key pair: tls: failed to find certificate \
             PEM data in certificate input, but did find a private key; PEM inputs may have been switched"
                .into(),
        ),
        (
            format!("port: 4222\ntls {{\n  cert_file: {cert}\n  key_file: {key}\n  ca_file: {key}\n}}\n"),
            "check.conf:2:1: failed to parse root ca certificate".into(),
        ),
        (
            format!(
                "port: 4222\ntls {{\n  cert_file: {cert}\n  key_file: {key}\n  cipher_suites: [\"TLS_RSA_WITH_RC4_128_SHA\"]\n}}\n"
            ),
            "check.conf:2:1: insecure cipher suites configured without 'allow_insecure_cipher_suites' \
             option set: TLS_RSA_WITH_RC4_128_SHA"
                .into(),
        ),
        (
            format!("port: 4222\ntls {{\n  cert_file: {cert}\n  key_file: {key}\n  min_version: \"1.0\"\n}}\n"),
            "check.conf:5:3: error parsing tls config: unsupported TLS version: TLS 1.0".into(),
        ),
        (
            format!(
                "port: 4222\ntls {{\n  cert_file: {cert}\n  key_file: {key}\n  verify_cert_and_check_known_urls: true\n}}\n"
            ),
            "check.conf:5:3: verify_cert_and_check_known_urls not supported in this context".into(),
        ),
        (
            format!("port: 4222\ntls {{\n  cert_file: {cert}\n  key_file: {key}\n  cert_store: \"WindowsLocalMachine\"\n}}\n"),
            "check.conf:5:3: cert_store not compatible with current operating system".into(),
        ),
    ];
    for (conf, want) in cases {
        let (code, out) = check_in(&pki.dir, &conf);
        assert_eq!(code, Some(1), "{conf}\n{out}");
        assert!(out.contains(&want), "{conf}\nwant: {want}\ngot:  {out}");
    }
}

#[test]
fn check_refuses_what_corenats_cannot_do() {
    if !is_corenats() {
        return;
    }
    let pki = Pki::new();
    for (extra, want) in [
        (
            "cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]",
            "cipher suite TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not supported by corenats",
        ),
        (
            "curve_preferences: [CurveP521]",
            "curve preference CurveP521 is not supported by corenats",
        ),
        (
            "ocsp_peer: true",
            "'ocsp_peer' is not supported by corenats yet",
        ),
    ] {
        let (code, out) = check_in(&pki.dir, &pki.tls_block(extra));
        assert_eq!(code, Some(1), "{extra}\n{out}");
        assert!(out.contains(want), "{extra}\n{out}");
    }
    // nats-server finds these only when the monitor starts; corenats's -t finds them.
    let (code, out) = check_in(&pki.dir, "https_port: 8443\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("TLS cert and key required for HTTPS"), "{out}");
    let conf = format!("{}https_port: 8443\nhttp_port: 8222\n", pki.tls_block(""));
    let (code, out) = check_in(&pki.dir, &conf);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("can't specify both HTTP (8222) and HTTPs (8443) ports"),
        "{out}"
    );
}

/// Runs the binary with `args` (no config), expecting it to exit at once.
fn run(args: &[&str]) -> (Option<i32>, String) {
    let dir = TempDir::new();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    run_binary(&args, &dir)
}

#[test]
fn tls_flags_need_a_certificate_and_a_key() {
    let (code, out) = run(&["--tls", "-p", "-1"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("TLS Server certificate must be present and valid"),
        "{out}"
    );
    let (code, out) = run(&["-tlsverify", "-tlscert", "c.pem", "-p", "-1"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("TLS Server private key must be present and valid"),
        "{out}"
    );
    let (code, out) = run(&["--help_tls"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") && out.contains("CurveP256"),
        "{out}"
    );
}

/// `--tls --tlscert <server cert> --tlskey <server key>`.
fn tls_flags(pki: &Pki) -> Vec<String> {
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    vec![
        "--tls".into(),
        "--tlscert".into(),
        path(&pki.server.cert_file),
        "--tlskey".into(),
        path(&pki.server.key_file),
    ]
}

#[test]
fn tls_flags_turn_tls_on_and_off() {
    let pki = Pki::new();
    let s = Server::start(ServerOpts {
        args: tls_flags(&pki),
        ..ServerOpts::default()
    });
    let mut r = s.raw();
    assert_eq!(r.info["tls_required"], true, "{}", r.info);
    assert!(r.info.get("tls_verify").is_none_or(|v| v == false));
    if is_corenats() {
        r.upgrade(pki.client()).expect("handshake");
    }
    drop(s);
    // --tlsverify asks for client certificates of the --tlscacert CA.
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let (cert, key, ca) = (
        path(&pki.server.cert_file),
        path(&pki.server.key_file),
        path(&pki.ca.pem_file),
    );
    let s = Server::start(ServerOpts::args(&[
        "-tlsverify",
        "-tlscert",
        &cert,
        "-tlskey",
        &key,
        "-tlscacert",
        &ca,
    ]));
    assert_eq!(s.raw().info["tls_verify"], true);
    drop(s);
    // --tls=false turns the file's block off.
    let s = Server::start(ServerOpts {
        args: vec!["--tls=false".into()],
        ..ServerOpts::conf(&pki.tls_block(""))
    });
    let r = s.raw();
    assert!(
        r.info.get("tls_required").is_none_or(|v| v == false),
        "{}",
        r.info
    );
}

/// The port in `Starting https monitor on HOST:PORT`.
fn https_port(s: &Server) -> u16 {
    assert!(
        s.wait_for_log("Starting https monitor on ", TIMEOUT),
        "no https monitor line:\n{}",
        s.log()
    );
    let log = s.log();
    let at = log.find("Starting https monitor on ").unwrap();
    let line = log[at..].lines().next().unwrap();
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

/// A GET over TLS (HTTP/1.0, so the server closes after answering): (status line, body, the
/// certificate the server presented).
fn https_get(
    port: u16,
    path: &str,
    client: Arc<rustls::ClientConfig>,
) -> std::io::Result<(String, String, Vec<u8>)> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(client, name).unwrap();
    let sock = TcpStream::connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(TIMEOUT))?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())?;
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            // Go's server may close without close_notify after an HTTP/1.0 answer.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !all.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    let peer = tls.conn.peer_certificates().unwrap()[0].to_vec();
    let text = String::from_utf8_lossy(&all).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or("").to_string();
    Ok((status, body.to_string(), peer))
}

#[test]
fn the_monitor_answers_over_https() {
    let pki = Pki::new();
    let s = Server::start(ServerOpts::conf(&format!(
        "{}https_port: -1\n",
        pki.tls_block("verify: true")
    )));
    let port = https_port(&s);
    // No client certificate needed on the monitor, even with `verify`.
    let (status, body, peer) = https_get(port, "/varz", pki.client()).expect("GET /varz");
    assert!(
        status.starts_with("HTTP/1.") && status.contains(" 200"),
        "{status}"
    );
    assert_eq!(peer, pki.server.der.to_vec());
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["https_port"], -1, "{v}");
    assert_eq!(v["http_port"], 0, "{v}");
    assert_eq!(v["tls_required"], true, "{v}");
    assert_eq!(v["tls_verify"], true, "{v}");
    assert_eq!(v["tls_timeout"], 2.0, "{v}");
    // nats-server's default auth timeout with TLS: the TLS timeout + 1 s.
    assert_eq!(v["auth_timeout"], 3.0, "{v}");
    let (status, _, _) = https_get(port, "/healthz", pki.client()).unwrap();
    assert!(status.contains(" 200"), "{status}");
    // Plain HTTP on the HTTPS port gets no answer.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain.set_read_timeout(Some(TIMEOUT)).unwrap();
    plain
        .write_all(b"GET /varz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(!got.starts_with(b"HTTP/1.1 200"), "{got:?}");
}

#[test]
fn the_https_flag_and_tls_flags_serve_the_monitor() {
    let pki = Pki::new();
    let mut args = tls_flags(&pki);
    args.extend(["-ms".to_string(), "-1".to_string()]);
    let s = Server::start(ServerOpts {
        args,
        ..ServerOpts::default()
    });
    let (status, body, _) = https_get(https_port(&s), "/varz", pki.client()).unwrap();
    assert!(status.contains(" 200"), "{status} {body}");
}

#[test]
fn both_monitor_ports_or_https_without_tls_do_not_start() {
    let pki = Pki::new();
    let both = format!("{}https_port: -1\nhttp_port: -1\n", pki.tls_block(""));
    let e = Server::try_start(ServerOpts::conf(&both))
        .err()
        .expect("must not start");
    assert!(
        e.contains("can't specify both HTTP (-1) and HTTPs (-1) ports"),
        "{e}"
    );
    let e = Server::try_start(ServerOpts::conf("https_port: -1\n"))
        .err()
        .expect("must not start");
    assert!(e.contains("TLS cert and key required for HTTPS"), "{e}");
}

#[test]
fn a_reload_serves_the_new_certificate_on_https() {
    let pki = Pki::new();
    let conf = |cert: &std::path::Path, key: &std::path::Path, extra: &str| {
        format!("tls {{\n  cert_file: {cert:?}\n  key_file: {key:?}\n}}\nhttps_port: -1\n{extra}")
    };
    let s = Server::start(ServerOpts::conf(&conf(
        &pki.server.cert_file,
        &pki.server.key_file,
        "",
    )));
    let port = https_port(&s);
    let (_, _, before) = https_get(port, "/varz", pki.client()).unwrap();
    assert_eq!(before, pki.server.der.to_vec());
    // A new certificate from a second CA, then SIGHUP.
    let other = Ca::new(&pki.dir, "other");
    let renewed = other.server(&pki.dir, "renewed");
    s.rewrite_conf(&conf(&renewed.cert_file, &renewed.key_file, ""));
    s.signal("HUP");
    assert!(
        s.wait_for_log("Reloaded", TIMEOUT),
        "no reload line:\n{}",
        s.log()
    );
    let trusting_other = client_config(&other.der, None);
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        match https_get(port, "/varz", trusting_other.clone()) {
            Ok((status, _, peer)) => {
                assert!(status.contains(" 200"), "{status}");
                assert_eq!(peer, renewed.der.to_vec());
                break;
            }
            Err(e) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "still the old certificate: {e}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    // What cannot change at run time is refused, with nats-server's message, and nothing changes.
    s.rewrite_conf(&conf(
        &renewed.cert_file,
        &renewed.key_file,
        "allow_non_tls: true\n",
    ));
    s.signal("HUP");
    assert!(
        s.wait_for_log(
            "config reload not supported for AllowNonTLS: old=false, new=true",
            TIMEOUT
        ),
        "{}",
        s.log()
    );
    https_get(port, "/varz", trusting_other).expect("still serving");
}

#[test]
fn a_reload_with_a_broken_certificate_keeps_the_old_one() {
    let pki = Pki::new();
    let s = Server::start(ServerOpts::conf(&format!(
        "{}https_port: -1\n",
        pki.tls_block("")
    )));
    let port = https_port(&s);
    let missing = pki.dir.path().join("gone.pem");
    s.rewrite_conf(&format!(
        "tls {{\n  cert_file: {missing:?}\n  key_file: {:?}\n}}\nhttps_port: -1\n",
        pki.server.key_file
    ));
    s.signal("HUP");
    let want = format!("open {}: no such file or directory", missing.display());
    assert!(s.wait_for_log(&want, TIMEOUT), "{}", s.log());
    let (status, _, peer) = https_get(port, "/varz", pki.client()).unwrap();
    assert!(status.contains(" 200"), "{status}");
    assert_eq!(peer, pki.server.der.to_vec());
}
