//! `compile` against real files (generated at test time) and real handshakes in memory.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::ring;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use rustls_pki_types::pem::PemObject;

use super::test_certs::TestCerts;
use super::*;
use crate::config::TlsSpec;

fn spec(t: &TestCerts) -> TlsSpec {
    TlsSpec {
        cert_file: Some(t.path("server-cert.pem")),
        key_file: Some(t.path("server-key.pem")),
        ..TlsSpec::default()
    }
}

fn err(s: &TlsSpec) -> String {
    match compile(s) {
        Ok(t) => panic!("expected an error, got {t:?}"),
        Err(e) => e,
    }
}

/// A client trusting the test CA, optionally presenting the test client certificate, limited to
/// `versions` / `suites` when given.
fn client(
    t: &TestCerts,
    with_cert: bool,
    tls12_only: bool,
    suites: Option<Vec<rustls::SupportedCipherSuite>>,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(t.path("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let mut p = ring::default_provider();
    if let Some(s) = suites {
        p.cipher_suites = s;
    }
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let b = ClientConfig::builder_with_provider(Arc::new(p))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let cfg = if with_cert {
        let chain: Vec<_> = CertificateDer::pem_file_iter(t.path("client-cert.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(t.path("client-key.pem")).unwrap();
        b.with_client_auth_cert(chain, key).unwrap()
    } else {
        b.with_no_client_auth()
    };
    Arc::new(cfg)
}

/// A client that takes any server certificate, to see which one the server picks.
fn trusting_anything() -> Arc<ClientConfig> {
    #[derive(Debug)]
    struct Any(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for Any {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let p = Arc::new(ring::default_provider());
    let cfg = ClientConfig::builder_with_provider(p.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Any(p)))
        .with_no_client_auth();
    Arc::new(cfg)
}

/// Runs a handshake in memory. Ok: the certificate the server presented.
fn handshake(
    server: &Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    name: &str,
) -> Result<CertificateDer<'static>, rustls::Error> {
    let name = ServerName::try_from(name.to_string()).unwrap();
    let mut c = ClientConnection::new(client, name)?;
    let mut s = ServerConnection::new(server.clone())?;
    for _ in 0..20 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            s.read_tls(&mut &buf[..]).unwrap();
            s.process_new_packets()?;
        }
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            c.read_tls(&mut &buf[..]).unwrap();
            c.process_new_packets()?;
        }
        if !c.is_handshaking() && !s.is_handshaking() {
            let peer = c.peer_certificates().unwrap()[0].clone().into_owned();
            return Ok(peer);
        }
    }
    panic!("handshake did not finish");
}

#[test]
fn a_certificate_pair_serves_handshakes() {
    let t = TestCerts::new();
    let tls = compile(&spec(&t)).unwrap();
    assert_eq!(tls.timeout, Duration::from_secs(2));
    assert!(!tls.verify && !tls.map && tls.pinned.is_none());
    let peer = handshake(&tls.client, client(&t, false, false, None), "localhost").unwrap();
    assert_eq!(peer.as_ref(), &t.server_der[..]);
    handshake(&tls.https, client(&t, false, true, None), "localhost").unwrap();
    // Without `verify`, no client certificate is asked for, even with a CA file (Go's NoClientCert).
    let with_ca = TlsSpec {
        ca_file: Some(t.path("ca.pem")),
        ..spec(&t)
    };
    let tls = compile(&with_ca).unwrap();
    handshake(&tls.client, client(&t, false, false, None), "localhost").unwrap();
    // Always an explicit ring provider, no ALPN.
    assert!(tls.client.alpn_protocols.is_empty());
    assert_eq!(tls.client.crypto_provider().cipher_suites.len(), 9);
}

#[test]
fn verify_requires_a_client_certificate_but_not_on_https() {
    let t = TestCerts::new();
    let s = TlsSpec {
        ca_file: Some(t.path("ca.pem")),
        verify: true,
        ..spec(&t)
    };
    let tls = compile(&s).unwrap();
    assert!(tls.verify);
    assert!(handshake(&tls.client, client(&t, false, false, None), "localhost").is_err());
    handshake(&tls.client, client(&t, true, false, None), "localhost").unwrap();
    handshake(&tls.client, client(&t, true, true, None), "localhost").unwrap();
    // The monitor never asks for one.
    handshake(&tls.https, client(&t, false, false, None), "localhost").unwrap();
    // A client certificate from another CA is refused.
    let (other_cert, other_key) = t.self_signed("other", &["client.example"]);
    let s2 = TlsSpec {
        ca_file: Some(other_cert.clone()),
        verify: true,
        ..spec(&t)
    };
    let _ = other_key;
    let tls = compile(&s2).unwrap();
    assert!(handshake(&tls.client, client(&t, true, false, None), "localhost").is_err());
}

#[test]
fn an_empty_block_builds_and_every_handshake_fails() {
    let t = TestCerts::new();
    let tls = compile(&TlsSpec::default()).unwrap();
    assert!(handshake(&tls.client, client(&t, false, false, None), "localhost").is_err());
    assert!(handshake(&tls.https, client(&t, false, false, None), "localhost").is_err());
}

#[test]
fn go_texts_for_missing_and_bad_files() {
    let t = TestCerts::new();
    let only_cert = TlsSpec {
        key_file: None,
        ..spec(&t)
    };
    assert_eq!(err(&only_cert), "missing 'key_file' in TLS configuration");
    let only_key = TlsSpec {
        cert_file: None,
        ..spec(&t)
    };
    assert_eq!(err(&only_key), "missing 'cert_file' in TLS configuration");
    let nope = t.path("nope.pem");
    let missing = TlsSpec {
        cert_file: Some(nope.clone()),
        ..spec(&t)
    };
    assert_eq!(
        err(&missing),
        format!(
            "error parsing X509 certificate/key pair: open {}: no such file or directory",
            nope.display()
        )
    );
    let switched = TlsSpec {
        cert_file: Some(t.path("server-key.pem")),
        key_file: Some(t.path("server-cert.pem")),
        ..spec(&t)
    };
    assert_eq!(
        err(&switched),
        "error parsing X509 certificate/key pair: tls: failed to find certificate PEM data in \
         certificate input, but did find a private key; PEM inputs may have been switched"
    );
    let cert_as_key = TlsSpec {
        key_file: Some(t.path("server-cert.pem")),
        ..spec(&t)
    };
    assert_eq!(
        err(&cert_as_key),
        "error parsing X509 certificate/key pair: tls: found a certificate rather than a key in \
         the PEM for the private key"
    );
    let junk = t.write("junk.pem", "not pem at all\n");
    let no_pem = TlsSpec {
        cert_file: Some(junk.clone()),
        ..spec(&t)
    };
    assert_eq!(
        err(&no_pem),
        "error parsing X509 certificate/key pair: tls: failed to find any PEM data in certificate input"
    );
    let no_key_pem = TlsSpec {
        key_file: Some(junk),
        ..spec(&t)
    };
    assert_eq!(
        err(&no_key_pem),
        "error parsing X509 certificate/key pair: tls: failed to find any PEM data in key input"
    );
    let mismatch = TlsSpec {
        key_file: Some(t.path("client-key.pem")),
        ..spec(&t)
    };
    assert_eq!(
        err(&mismatch),
        "error parsing X509 certificate/key pair: tls: private key does not match public key"
    );
    let bad_ca = TlsSpec {
        ca_file: Some(t.path("server-key.pem")),
        ..spec(&t)
    };
    assert_eq!(err(&bad_ca), "failed to parse root ca certificate");
    let no_ca = TlsSpec {
        ca_file: Some(nope.clone()),
        ..spec(&t)
    };
    assert_eq!(
        err(&no_ca),
        format!("open {}: no such file or directory", nope.display())
    );
}

#[test]
fn several_certificates_are_picked_by_server_name() {
    let t = TestCerts::new();
    let (a_cert, a_key) = t.self_signed("a", &["a.example"]);
    let (b_cert, b_key) = t.self_signed("b", &["*.b.example"]);
    let s = TlsSpec {
        certs: vec![(a_cert, a_key), (b_cert.clone(), b_key.clone())],
        ..TlsSpec::default()
    };
    let tls = compile(&s).unwrap();
    let a_der = CertificateDer::from_pem_file(t.path("a-cert.pem")).unwrap();
    let b_der = CertificateDer::from_pem_file(&b_cert).unwrap();
    let presented = |name: &str| handshake(&tls.client, trusting_anything(), name).unwrap();
    assert_eq!(presented("x.b.example"), b_der);
    assert_eq!(presented("a.example"), a_der);
    // No certificate names it: the first one, as Go does.
    assert_eq!(presented("c.example"), a_der);
    assert_eq!(presented("b.example"), a_der);
    // A bad second pair is numbered as nats-server numbers it.
    let nope = t.path("nope.pem");
    let bad = TlsSpec {
        certs: vec![
            (t.path("server-cert.pem"), t.path("server-key.pem")),
            (b_cert, nope.clone()),
        ],
        ..TlsSpec::default()
    };
    assert_eq!(
        err(&bad),
        format!(
            "error parsing X509 certificate/key pair 2/2: open {}: no such file or directory",
            nope.display()
        )
    );
    let both = TlsSpec {
        certs: vec![(t.path("server-cert.pem"), t.path("server-key.pem"))],
        ..spec(&t)
    };
    assert_eq!(
        err(&both),
        "error parsing tls config, cannot combine 'cert_file' option with 'certs' option"
    );
    let _ = b_key;
}

#[test]
fn suites_curves_and_versions() {
    use rustls::crypto::ring::cipher_suite as rs;
    let t = TestCerts::new();
    let s = TlsSpec {
        cipher_suites: vec![
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".into(),
            "TLS_AES_128_GCM_SHA256".into(),
        ],
        curve_preferences: vec!["CurveP384".into(), "X25519".into()],
        ..spec(&t)
    };
    let tls = compile(&s).unwrap();
    let p = tls.client.crypto_provider();
    let names: Vec<String> = p
        .cipher_suites
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect();
    assert_eq!(
        names,
        [
            "TLS13_AES_128_GCM_SHA256",
            "TLS13_AES_256_GCM_SHA384",
            "TLS13_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        ],
        "Go's preference order, whatever the list's"
    );
    assert!(tls.client.ignore_client_order);
    let groups: Vec<String> = p
        .kx_groups
        .iter()
        .map(|g| format!("{:?}", g.name()))
        .collect();
    assert_eq!(groups, ["secp384r1", "X25519"]);
    // A TLS 1.2 client offering only a suite not listed is refused.
    let other = vec![rs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256];
    assert!(handshake(
        &tls.client,
        client(&t, false, true, Some(other)),
        "localhost"
    )
    .is_err());
    let listed = vec![rs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256];
    handshake(
        &tls.client,
        client(&t, false, true, Some(listed)),
        "localhost",
    )
    .unwrap();
    // min_version 1.3: TLS 1.2 clients are refused.
    let s13 = TlsSpec {
        min_version: Some("1.3".into()),
        ..spec(&t)
    };
    let tls = compile(&s13).unwrap();
    assert!(handshake(&tls.client, client(&t, false, true, None), "localhost").is_err());
    handshake(&tls.client, client(&t, false, false, None), "localhost").unwrap();
    for (v, want) in [
        ("1.1", "unsupported minimum TLS version: TLS 1.1"),
        ("1.4", "unknown version: 1.4"),
    ] {
        let s = TlsSpec {
            min_version: Some(v.into()),
            ..spec(&t)
        };
        assert_eq!(err(&s), want);
    }
}

#[test]
fn names_rustls_lacks_are_errors() {
    let t = TestCerts::new();
    let with = |suites: &[&str], allow: bool| TlsSpec {
        cipher_suites: suites.iter().map(|s| s.to_string()).collect(),
        allow_insecure_cipher_suites: allow,
        ..spec(&t)
    };
    assert_eq!(
        err(&with(&["TLS_RSA_WITH_RC4_128_SHA"], false)),
        "insecure cipher suites configured without 'allow_insecure_cipher_suites' option set: \
         TLS_RSA_WITH_RC4_128_SHA"
    );
    assert!(err(&with(&["TLS_RSA_WITH_RC4_128_SHA"], true))
        .contains("cipher suite TLS_RSA_WITH_RC4_128_SHA is not supported by corenats"));
    assert!(err(&with(&["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"], false))
        .contains("cipher suite TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not supported by corenats"));
    assert_eq!(
        err(&with(&["TLS_NOPE"], false)),
        "unrecognized cipher TLS_NOPE"
    );
    let curve = |c: &str| TlsSpec {
        curve_preferences: vec![c.into()],
        ..spec(&t)
    };
    assert!(err(&curve("CurveP521")).contains("curve preference CurveP521 is not supported"));
    assert!(err(&curve("X25519MLKEM768")).contains("X25519MLKEM768 is not supported"));
    assert_eq!(err(&curve("P256")), "unrecognized curve preference P256");
}

#[test]
fn settings_carried_over() {
    let t = TestCerts::new();
    let pin = "AB".repeat(32);
    let s = TlsSpec {
        timeout: Some(Duration::from_millis(1500)),
        handshake_first: crate::tls::HandshakeFirst::Fallback(Duration::from_millis(50)),
        pinned_certs: vec![pin.to_ascii_lowercase()],
        rate_limit: 7,
        verify: true,
        map: true,
        ca_file: Some(t.path("ca.pem")),
        ..spec(&t)
    };
    let tls = compile(&s).unwrap();
    assert_eq!(tls.timeout, Duration::from_millis(1500));
    assert_eq!(
        tls.handshake_first,
        crate::tls::HandshakeFirst::Fallback(Duration::from_millis(50))
    );
    assert_eq!(tls.pinned, Some([[0xab; 32]].into_iter().collect()));
    assert_eq!(tls.rate_limit, 7);
    assert!(tls.verify && tls.map);
    let zero = TlsSpec {
        timeout: Some(Duration::ZERO),
        ..spec(&t)
    };
    assert_eq!(compile(&zero).unwrap().timeout, DEFAULT_TIMEOUT);
    assert_eq!(sha256_hex("zz"), None);
    assert_eq!(sha256_hex(&"0g".repeat(32)), None);
}

#[test]
fn errors_are_placed_at_the_tls_key() {
    let mut cfg = crate::config::Config::default();
    assert!(for_config(&cfg).unwrap().is_none());
    cfg.tls = Some(TlsSpec {
        cert_file: Some(Path::new("x.pem").into()),
        span: crate::config::Span {
            file: "a.conf".into(),
            line: 3,
            col: 1,
        },
        ..TlsSpec::default()
    });
    let d = for_config(&cfg).unwrap_err();
    assert_eq!(
        d.to_string(),
        "a.conf:3:1: missing 'key_file' in TLS configuration"
    );
}
