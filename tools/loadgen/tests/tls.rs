//! `--tls` against a spawned TLS server, with certificates made here (a CA, a server certificate
//! for 127.0.0.1 and localhost, a client certificate): every scenario over INFO-first TLS, the
//! handshake scenario, `--tls-first` with a client certificate, and the clear failures when client
//! and server disagree about TLS.
//!
//! The server is `LOADGEN_TEST_TLS_SERVER`, else `nats-server` from PATH; without either the
//! tests are skipped with a message. `LOADGEN_TEST_SERVER` is deliberately not used: it names the
//! server for the plain-text tests, which need not speak TLS.

mod support;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use support::{json_lines, loadgen, run_loadgen, server_binary_from, start_server, Server};

/// Certificate files in a directory of their own, removed on drop.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// A CA, a server certificate (SAN IP 127.0.0.1 and DNS localhost) and a client certificate,
    /// all ECDSA P-256 as PEM files.
    fn new(test: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("loadgen-tls-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "loadgen test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let leaf = |sans: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose| {
            let mut p = CertificateParams::new(sans).unwrap();
            p.distinguished_name.push(DnType::CommonName, cn);
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![usage];
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let sans = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let (server, server_key) = leaf(sans, "localhost", ExtendedKeyUsagePurpose::ServerAuth);
        let (client, client_key) = leaf(Vec::new(), "loadgen", ExtendedKeyUsagePurpose::ClientAuth);
        for (name, pem) in [
            ("ca.pem", ca_cert.pem()),
            ("server.pem", server),
            ("server-key.pem", server_key),
            ("client.pem", client),
            ("client-key.pem", client_key),
        ] {
            std::fs::write(dir.join(name), pem).unwrap();
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// A server config with a `tls {}` block made of `extra` plus the server certificate.
    fn config(&self, extra: &str) -> PathBuf {
        let conf = self.dir.join("server.conf");
        let text = format!(
            "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  timeout: 2\n{extra}}}\n",
            self.path("server.pem"),
            self.path("server-key.pem")
        );
        std::fs::write(&conf, text).unwrap();
        conf
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TLS server for `test`, with the lines `extra` makes (from the certificate files) added to
/// its `tls {}` block; `None` (skip) when there is no server binary.
fn tls_server(test: &str, extra: impl Fn(&Pki) -> String) -> Option<(Pki, Server)> {
    let Some(bin) = server_binary_from("LOADGEN_TEST_TLS_SERVER") else {
        eprintln!("skipped: no nats-server on PATH and no LOADGEN_TEST_TLS_SERVER");
        return None;
    };
    let pki = Pki::new(test);
    let conf = pki.config(&extra(&pki));
    let server = start_server(&bin, Some(Path::new(&conf)));
    Some((pki, server))
}

/// Every line ran over TLS 1.3 (both servers negotiate it with rustls's defaults).
fn assert_tls13(lines: &[serde_json::Value]) {
    for l in lines {
        assert_eq!(l["tls"]["negotiated"]["version"], "TLSv1_3", "{l}");
    }
}

#[test]
fn every_scenario_over_tls() {
    let Some((pki, server)) = tls_server("every", |_| String::new()) else {
        return;
    };
    let ca = pki.path("ca.pem");
    let tls = ["--tls", "--tls-ca", &ca];
    let runs: [(&[&str], usize); 8] = [
        (&["pub", "--size", "16,64k"], 2),
        (&["pubsub", "--size", "16,1k,64k"], 3),
        (&["fanout", "--subs", "3", "--size", "16,64k"], 2),
        (&["queue", "--subs", "3", "--pubs", "2"], 1),
        (&["reqrep", "--inflight", "16", "--size", "16,64k"], 2),
        (&["latency", "--size", "16"], 1),
        (&["cross", "--pubs", "2", "--subs", "2"], 1),
        (&["idle", "--conns", "20", "--hold", "0.05"], 1),
    ];
    for (args, expect) in runs {
        let mut all = tls.to_vec();
        all.extend_from_slice(args);
        let lines = loadgen(&server, &all);
        assert_eq!(lines.len(), expect, "{args:?}: {lines:?}");
        assert_tls13(&lines);
        for l in &lines {
            assert_eq!(l["tls"]["resumption"], true, "{l}");
        }
    }
}

#[test]
fn full_handshakes() {
    let Some((pki, server)) = tls_server("handshake", |_| String::new()) else {
        return;
    };
    let ca = pki.path("ca.pem");
    let lines = loadgen(
        &server,
        &["--tls", "--tls-ca", &ca, "handshake", "--parallel", "3"],
    );
    assert_tls13(&lines);
    let l = &lines[0];
    assert_eq!(l["handshake"]["conns"], 50, "{l}");
    assert_eq!(l["handshake"]["parallel"], 3, "{l}");
    assert_eq!(l["latency_us"]["count"], 50, "{l}");
    assert_eq!(l["tls"]["resumption"], false, "{l}");
    assert!(l["handshake"]["per_s"].as_f64().unwrap() > 0.0, "{l}");
}

#[test]
fn tls_first_with_a_client_certificate() {
    let verify_first = |pki: &Pki| {
        format!(
            "  ca_file: \"{}\"\n  verify: true\n  handshake_first: true\n",
            pki.path("ca.pem")
        )
    };
    let Some((pki, server)) = tls_server("first", verify_first) else {
        return;
    };
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client-key.pem"),
    );
    let with_cert = [
        "--tls",
        "--tls-ca",
        &ca,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--tls-first",
    ];
    for args in [&["pubsub", "--size", "16,64k"][..], &["handshake"]] {
        let mut all = with_cert.to_vec();
        all.extend_from_slice(args);
        let lines = loadgen(&server, &all);
        assert_tls13(&lines);
        for l in &lines {
            assert_eq!(l["tls"]["first"], true, "{l}");
            assert_eq!(l["tls"]["client_cert"], true, "{l}");
        }
    }
    // By name instead of address: the certificate's DNS SAN is checked.
    let (status, text) = run_loadgen(
        "localhost",
        server.port,
        &[&with_cert[..], &["--smoke", "reqrep"]].concat(),
    );
    assert!(status.success(), "{text}");
    // Without the client certificate the server refuses the handshake.
    let (status, text) = run_loadgen(
        "127.0.0.1",
        server.port,
        &[
            "--smoke",
            "--timeout",
            "5",
            "--tls",
            "--tls-ca",
            &ca,
            "--tls-first",
            "pub",
        ],
    );
    assert_eq!(status.code(), Some(1), "{text}");
    assert_eq!(json_lines(&text)[0]["ok"], false, "{text}");
}

/// One failing run: exit code 1 and an error containing `needle`.
fn assert_fails_with(port: u16, args: &[&str], needle: &str) {
    let mut all = vec!["--smoke", "--timeout", "5"];
    all.extend_from_slice(args);
    let (status, text) = run_loadgen("127.0.0.1", port, &all);
    assert_eq!(status.code(), Some(1), "{args:?}: {text}");
    let line = &json_lines(&text)[0];
    let err = line["error"].as_str().unwrap_or_default();
    assert!(
        err.contains(needle),
        "{args:?}: error {err:?} lacks {needle:?}"
    );
}

#[test]
fn mismatches_fail_clearly() {
    let Some((pki, server)) = tls_server("mismatch", |_| String::new()) else {
        return;
    };
    let ca = pki.path("ca.pem");
    // Plain client, TLS server.
    assert_fails_with(server.port, &["pubsub"], "requires TLS");
    // TLS first, but the server sends its INFO in clear text first.
    assert_fails_with(
        server.port,
        &["--tls", "--tls-ca", &ca, "--tls-first", "pubsub"],
        "handshake_first",
    );
    // A CA that did not sign the server's certificate.
    let other = Pki::new("mismatch-other");
    assert_fails_with(
        server.port,
        &["--tls", "--tls-ca", &other.path("ca.pem"), "pubsub"],
        "invalid peer certificate",
    );
    // TLS client, plain server.
    let bin = server_binary_from("LOADGEN_TEST_TLS_SERVER").unwrap();
    let plain = start_server(&bin, None);
    assert_fails_with(
        plain.port,
        &["--tls", "--tls-ca", &ca, "pubsub"],
        "does not offer TLS",
    );
}
