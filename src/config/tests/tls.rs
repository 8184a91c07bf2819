//! The `tls {}` block, `allow_non_tls` and `https`: every key, and every error with nats-server's text
//! at nats-server's position (checked with `nats-server -t` 2.15.1 where it has one).

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::config::TlsSpec;
use crate::tls::HandshakeFirst;

/// The one error of `text`, as `line:col message`.
fn one_error(text: &str) -> String {
    let e = err(text);
    let s = short(&e.diagnostics);
    assert_eq!(s.len(), 1, "{text}: {s:?}");
    s[0].clone()
}

fn block(body: &str) -> String {
    format!("port: 4222\ntls {{\n  cert_file: \"cert.pem\"\n  key_file: \"key.pem\"\n{body}}}\n")
}

#[test]
fn every_key() {
    let l = ok(r#"
TLS {
  Cert_File: "c.pem"
  KEY_FILE: "k.pem"
  ca_file: "ca.pem"
  insecure: true
  verify_and_map: true
  verify_cert_and_check_known_urls: false
  allow_insecure_cipher_suites: false
  cipher_suites: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"]
  curve_preferences: [X25519, "CurveP256"]
  timeout: 1.5
  connection_rate_limit: 100
  pinned_certs: ["ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789"]
  handshake_first: "300ms"
  min_version: "1.3"
  ocsp_peer: false
}
allow_non_tls: true
https: "127.0.0.1:8443"
"#);
    assert!(l.warnings.is_empty(), "{:?}", short(&l.warnings));
    let c = l.config;
    let t = c.tls.unwrap();
    assert_eq!(
        t,
        TlsSpec {
            cert_file: Some(PathBuf::from("c.pem")),
            key_file: Some(PathBuf::from("k.pem")),
            certs: vec![],
            ca_file: Some(PathBuf::from("ca.pem")),
            verify: true,
            map: true,
            check_known_urls: false,
            insecure: true,
            timeout: Some(Duration::from_millis(1500)),
            handshake_first: HandshakeFirst::Fallback(Duration::from_millis(300)),
            cipher_suites: vec![
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
                "TLS_AES_128_GCM_SHA256".into()
            ],
            curve_preferences: vec!["X25519".into(), "CurveP256".into()],
            min_version: Some("1.3".into()),
            pinned_certs: vec![
                "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789".into()
            ],
            rate_limit: 100,
            allow_insecure_cipher_suites: false,
            span: t.span.clone(),
        }
    );
    assert_eq!((t.span.line, t.span.col), (2, 1));
    assert!(c.allow_non_tls);
    assert_eq!(
        (c.https_host.as_deref(), c.https_port),
        (Some("127.0.0.1"), Some(8443))
    );
    assert_eq!(c.http_port, None);
    assert_eq!(ok("https_port: -1\n").config.https_port, Some(-1));
}

#[test]
fn an_empty_block_is_valid() {
    // nats-server's documented set-up behind a TLS-terminating proxy.
    let c = ok("tls {}\nallow_non_tls: true\n").config;
    assert_eq!(
        c.tls,
        Some(TlsSpec {
            span: c.tls.as_ref().unwrap().span.clone(),
            ..TlsSpec::default()
        })
    );
    assert!(c.allow_non_tls);
}

#[test]
fn handshake_first_forms() {
    for (v, want) in [
        ("true", HandshakeFirst::On),
        ("false", HandshakeFirst::Off),
        ("\"on\"", HandshakeFirst::On),
        ("\"OFF\"", HandshakeFirst::Off),
        (
            "\"auto\"",
            HandshakeFirst::Fallback(Duration::from_millis(50)),
        ),
        (
            "\"auto_fallback\"",
            HandshakeFirst::Fallback(Duration::from_millis(50)),
        ),
        ("\"2s\"", HandshakeFirst::Fallback(Duration::from_secs(2))),
        ("\"0s\"", HandshakeFirst::On),
    ] {
        for key in ["handshake_first", "first", "immediate"] {
            let c = ok(&format!("tls {{ {key}: {v} }}\n")).config;
            assert_eq!(c.tls.unwrap().handshake_first, want, "{key}: {v}");
        }
    }
}

#[test]
fn timeout_forms() {
    for (v, want) in [
        ("3", Duration::from_secs(3)),
        ("0.25", Duration::from_millis(250)),
        ("\"1m\"", Duration::from_secs(60)),
    ] {
        let c = ok(&format!("tls {{ timeout: {v} }}\n")).config;
        assert_eq!(c.tls.as_ref().unwrap().timeout, Some(want), "{v}");
        assert_eq!(c.tls_timeout(), want);
        assert_eq!(c.default_auth_timeout(), want + Duration::from_secs(1));
    }
    let c = ok("tls { timeout: 0 }\n").config;
    assert_eq!(c.tls_timeout(), Duration::from_secs(2));
    assert_eq!(
        ok("port: 1\n").config.default_auth_timeout(),
        Duration::from_secs(2)
    );
}

#[test]
fn verify_and_map_implies_verify_whatever_the_order() {
    let c = ok("tls { verify_and_map: true, verify: false }\n").config;
    let t = c.tls.unwrap();
    assert!(t.verify && t.map);
    let t = ok("tls { verify: true, verify_and_map: false }\n")
        .config
        .tls
        .unwrap();
    assert!(t.verify && !t.map);
}

#[test]
fn certificates_list() {
    let t = ok("tls {\n  certificates: [\n    {cert_file: a.pem, key_file: a.key}\n    {cert_file: b.pem, key_file: b.key}\n  ]\n}\n")
        .config
        .tls
        .unwrap();
    assert_eq!(
        t.certs,
        [
            (PathBuf::from("a.pem"), PathBuf::from("a.key")),
            (PathBuf::from("b.pem"), PathBuf::from("b.key"))
        ]
    );
}

/// Each case was run through `nats-server -t` (2.15.1); the text and position are its own.
#[test]
fn errors_as_nats_server_reports_them() {
    for (body, want) in [
        ("  cipher_suites: [\n    \"TLS_FOO\"\n  ]\n", "6:6 unrecognized cipher TLS_FOO"),
        ("  bogus: 1\n", "5:3 error parsing tls config, unknown field \"bogus\""),
        ("  verify: \"yes\"\n", "5:3 error parsing tls config, expected 'verify' to be a boolean"),
        ("  verify: 1\n", "5:3 error parsing tls config, expected 'verify' to be a boolean"),
        ("  cipher_suites: []\n", "5:3 error parsing tls config, 'cipher_suites' cannot be empty"),
        ("  curve_preferences: [\"P256\"]\n", "5:24 unrecognized curve preference P256"),
        ("  min_version: \"1.1\"\n", "5:3 error parsing tls config: unsupported TLS version: TLS 1.1"),
        ("  min_version: \"1.4\"\n", "5:3 error parsing tls config: unknown version: 1.4"),
        ("  min_version: 1.2\n", "5:3 error parsing tls config: 'min_version' wrong type: 1.2"),
        ("  handshake_first: \"maybe\"\n", "5:3 field \"handshake_first\"'s value \"maybe\" is invalid"),
        ("  handshake_first: 5\n", "5:3 field \"handshake_first\" should be a boolean or a string, got int64"),
        ("  timeout: \"x\"\n", "5:3 error parsing tls config, 'timeout' time: invalid duration \"x\""),
        ("  timeout: true\n", "5:3 error parsing tls config, 'timeout' wrong type"),
        ("  pinned_certs: [\"abc\"]\n", "5:19 error parsing tls config, 'pinned_certs' key abc does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo"),
        ("  pinned_certs: \"abc\"\n", "5:3 error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded sha256 of DER encoded SubjectPublicKeyInfo"),
        ("  connection_rate_limit: \"5\"\n", "5:3 error parsing tls config, 'connection_rate_limit' wrong type"),
        ("  verify_cert_and_check_known_urls: true\n", "5:3 verify_cert_and_check_known_urls not supported in this context"),
        ("  cert_store: \"WindowsCurrentUser\"\n", "5:3 cert_store not compatible with current operating system"),
        ("  cert_store: \"foo\"\n", "5:3 cert store type not implemented"),
        ("  cert_store: \"\"\n", "5:3 expected 'cert_store' to be a valid non-empty string"),
        ("  cipher_suites: [\"TLS_RSA_WITH_RC4_128_SHA\"]\n", "2:1 insecure cipher suites configured without 'allow_insecure_cipher_suites' option set: TLS_RSA_WITH_RC4_128_SHA"),
        ("  certs: [{cert_file: \"cert.pem\", key_file: \"key.pem\"}]\n", "2:1 error parsing tls config, cannot combine 'cert_file' option with 'certs' option"),
    ] {
        assert_eq!(one_error(&block(body)), want, "{body}");
    }
    assert_eq!(
        one_error("tls {\n  cert_file: 5\n}\n"),
        "2:3 error parsing tls config, expected 'cert_file' to be filename"
    );
    assert_eq!(
        one_error("tls {\n  certs: [{cert_file: \"cert.pem\", key_file: \"key.pem\"}, {cert_file: \"cert.pem\"}]\n}\n"),
        "2:58 error parsing certificates config: both 'cert_file' and 'cert_key' options are required"
    );
    assert_eq!(
        one_error(
            "tls {\n  certs: [{cert_file: \"cert.pem\", key_file: \"key.pem\", foo: \"x\"}]\n}\n"
        ),
        "2:56 error parsing tls certs config, unknown field \"foo\""
    );
    assert_eq!(
        one_error("tls {\n  certs: [\"x\"]\n}\n"),
        "2:12 error parsing certificates config: unsupported type string"
    );
    // nats-server's text; corenats points at the value, as for `listen` and `http`.
    assert_eq!(
        one_error("https: \"127.0.0.1\"\n"),
        "1:8 could not parse address string \"127.0.0.1\""
    );
}

/// Where nats-server has no text of its own (it panics on the type, or accepts and ignores).
#[test]
fn corenats_own_errors() {
    for (body, want) in [
        ("  cipher_suites: [\"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\"]\n", "5:20 error parsing tls config, cipher suite TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not supported by corenats"),
        ("  allow_insecure_cipher_suites: true\n  cipher_suites: [\"TLS_RSA_WITH_AES_128_GCM_SHA256\"]\n", "6:20 error parsing tls config, cipher suite TLS_RSA_WITH_AES_128_GCM_SHA256 is not supported by corenats"),
        ("  curve_preferences: [CurveP256, CurveP521]\n", "5:34 error parsing tls config, curve preference CurveP521 is not supported by corenats"),
        ("  curve_preferences: [\"X25519MLKEM768\"]\n", "5:24 error parsing tls config, curve preference X25519MLKEM768 is not supported by corenats"),
        ("  curve_preferences: []\n", "5:3 error parsing tls config, 'curve_preferences' cannot be empty"),
        ("  ocsp_peer: true\n", "5:3 error parsing tls config, 'ocsp_peer' is not supported by corenats yet"),
        ("  cert_match_by: \"Subject\"\n", "5:3 cert_store not compatible with current operating system"),
        ("  cert_match: \"x\"\n", "5:3 cert_store not compatible with current operating system"),
        ("  ca_certs_match: [\"x\"]\n", "5:3 cert_store not compatible with current operating system"),
        ("  cert_match_skip_invalid: 1\n", "5:3 expected 'cert_match_skip_invalid' to be a boolean"),
        ("  timeout: -1\n", "5:3 error parsing tls config, 'timeout' must not be negative"),
        ("  cipher_suites: \"TLS_AES_128_GCM_SHA256\"\n", "5:3 invalid value for \"cipher_suites\": expected an array of strings, got a string"),
    ] {
        let got = one_error(&block(body));
        assert!(got.starts_with(want), "{body}: {got}");
    }
    assert_eq!(
        one_error("tls: true\n"),
        "1:5 invalid value for \"tls\": expected a map, got a boolean"
    );
    assert_eq!(
        one_error("allow_non_tls: \"yes\"\n"),
        "1:16 invalid value for \"allow_non_tls\": expected a boolean (true/false/yes/no/on/off), got a string \"yes\""
    );
}

#[test]
fn every_error_in_the_block_at_once() {
    let e = err("tls {\n  verify: 1\n  bogus: 2\n  cipher_suites: [TLS_X]\n}\n");
    assert_eq!(
        short(&e.diagnostics),
        [
            "2:3 error parsing tls config, expected 'verify' to be a boolean",
            "3:3 error parsing tls config, unknown field \"bogus\"",
            "4:19 unrecognized cipher TLS_X"
        ]
    );
    // A block with errors is not kept (its files are not checked on top).
    assert!(e.partial.unwrap().tls.is_none());
}

#[test]
fn hcl_front_end() {
    let l = with_env(
        "tls {\n  cert_file = \"c.pem\"\n  key_file = \"k.pem\"\n  verify = true\n}\nhttps_port = 8443\n",
        "t.hcl",
        &[],
        false,
    )
    .unwrap();
    let t = l.config.tls.unwrap();
    assert!(t.verify);
    assert_eq!(l.config.https_port, Some(8443));
}
