//! Go's names for cipher suites and key-exchange curves (what a `tls {}` block lists) and what each
//! one is in rustls's *ring* provider.
//!
//! The tables are Go's: `tls.CipherSuites()` plus `tls.InsecureCipherSuites()` (nats-server's
//! `cipherMap`, `server/ciphersuites.go`) and nats-server's `curvePreferenceMap` (Go 1.26 build,
//! `server/ciphersuites_go126.go`). A name Go does not know is nats-server's error; a name Go knows but
//! rustls does not implement (CBC, RC4, 3DES, RSA key exchange; P-521 and the ML-KEM hybrids under
//! *ring*) is corenats's own error naming it, never silently dropped.

use rustls::crypto::ring::{cipher_suite as rs, kx_group};
use rustls::crypto::SupportedKxGroup;
use rustls::SupportedCipherSuite;

/// One cipher suite as Go names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoSuite {
    /// Go's name (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
    pub name: &'static str,
    /// In Go's `InsecureCipherSuites()`: refused unless `allow_insecure_cipher_suites` is set.
    pub insecure: bool,
    /// A TLS 1.3 suite: Go does not let these be configured (all are always enabled), nor does corenats.
    pub tls13: bool,
}

/// Every suite Go knows, secure ones first, each group in Go's order.
pub const GO_SUITES: &[GoSuite] = &[
    suite("TLS_AES_128_GCM_SHA256", false, true),
    suite("TLS_AES_256_GCM_SHA384", false, true),
    suite("TLS_CHACHA20_POLY1305_SHA256", false, true),
    suite("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", false, false),
    suite("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", false, false),
    suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", false, false),
    suite("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", false, false),
    suite("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", false, false),
    suite("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", false, false),
    suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", false, false),
    suite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", false, false),
    suite("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", false, false),
    suite(
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        false,
        false,
    ),
    suite("TLS_RSA_WITH_RC4_128_SHA", true, false),
    suite("TLS_RSA_WITH_3DES_EDE_CBC_SHA", true, false),
    suite("TLS_RSA_WITH_AES_128_CBC_SHA", true, false),
    suite("TLS_RSA_WITH_AES_256_CBC_SHA", true, false),
    suite("TLS_RSA_WITH_AES_128_CBC_SHA256", true, false),
    suite("TLS_RSA_WITH_AES_128_GCM_SHA256", true, false),
    suite("TLS_RSA_WITH_AES_256_GCM_SHA384", true, false),
    suite("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", true, false),
    suite("TLS_ECDHE_RSA_WITH_RC4_128_SHA", true, false),
    suite("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", true, false),
    suite("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", true, false),
    suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", true, false),
];

const fn suite(name: &'static str, insecure: bool, tls13: bool) -> GoSuite {
    GoSuite {
        name,
        insecure,
        tls13,
    }
}

/// What a Go suite name turns into.
#[derive(Debug, Clone, Copy)]
pub enum SuiteUse {
    /// A TLS 1.2 suite rustls implements: enabled, in the order listed.
    Tls12(SupportedCipherSuite),
    /// A TLS 1.3 suite: nothing to do, all of them stay enabled (as in Go).
    Tls13,
    /// Known to Go, not implemented by rustls: a configuration error.
    Unsupported,
}

impl GoSuite {
    /// Looks a name up exactly (Go's map is case-sensitive).
    pub fn by_name(name: &str) -> Option<&'static GoSuite> {
        GO_SUITES.iter().find(|s| s.name == name)
    }

    /// What this suite is under rustls's *ring* provider.
    pub fn rustls(&self) -> SuiteUse {
        if self.tls13 {
            return SuiteUse::Tls13;
        }
        let s = match self.name {
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => {
                rs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            }
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => {
                rs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
            }
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
                rs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
            }
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => rs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => rs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
                rs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
            }
            _ => return SuiteUse::Unsupported,
        };
        SuiteUse::Tls12(s)
    }
}

/// nats-server's text for a name Go does not know.
pub fn unrecognized_suite(name: &str) -> String {
    format!("unrecognized cipher {name}")
}

/// nats-server's text for Go-insecure suites listed without `allow_insecure_cipher_suites`.
pub fn insecure_suites(names: &[&str]) -> String {
    format!(
        "insecure cipher suites configured without 'allow_insecure_cipher_suites' option set: {}",
        names.join(", ")
    )
}

/// corenats's text for a suite Go knows and rustls does not implement.
pub fn unsupported_suite(name: &str) -> String {
    format!(
        "error parsing tls config, cipher suite {name} is not supported by corenats: of the TLS 1.2 \
         suites only the ECDHE ones with AES-GCM or CHACHA20-POLY1305 are (no CBC, RC4, 3DES or RSA \
         key exchange)"
    )
}

/// Every curve nats-server accepts in `curve_preferences`, in Go's default preference order.
pub const GO_CURVES: &[&str] = &[
    "X25519MLKEM768",
    "SecP384r1MLKEM1024",
    "SecP256r1MLKEM768",
    "X25519",
    "CurveP256",
    "CurveP384",
    "CurveP521",
];

/// The rustls *ring* key-exchange group for a Go curve name: `Ok(None)` when Go knows the name but
/// *ring* has no such group, `Err` when the name is not Go's (nats-server's text).
pub fn curve(name: &str) -> Result<Option<&'static dyn SupportedKxGroup>, String> {
    match name {
        "X25519" => Ok(Some(kx_group::X25519)),
        "CurveP256" => Ok(Some(kx_group::SECP256R1)),
        "CurveP384" => Ok(Some(kx_group::SECP384R1)),
        n if GO_CURVES.contains(&n) => Ok(None),
        n => Err(format!("unrecognized curve preference {n}")),
    }
}

/// corenats's text for a curve Go knows and *ring* does not implement.
pub fn unsupported_curve(name: &str) -> String {
    format!(
        "error parsing tls config, curve preference {name} is not supported by corenats: only \
         X25519, CurveP256 and CurveP384 are"
    )
}

/// `--help_tls`: what a `tls {}` block may say, with the names corenats accepts.
pub fn help_text() -> String {
    let mut out = String::from(
        "TLS configuration is specified in the tls section of a configuration file:\n\n\
         e.g.\n\n    tls {\n        cert_file:      \"./certs/server-cert.pem\"\n        \
         key_file:       \"./certs/server-key.pem\"\n        ca_file:        \"./certs/ca.pem\"\n        \
         verify:         true\n        verify_and_map: true\n\n        cipher_suites: [\n            \
         \"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\",\n            \
         \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"\n        ]\n        curve_preferences: [\n            \
         \"CurveP256\",\n            \"CurveP384\"\n        ]\n    }\n\n\
         Available cipher suites include (TLS 1.3 suites are always enabled and need not be listed):\n",
    );
    for s in GO_SUITES {
        if matches!(s.rustls(), SuiteUse::Tls12(_)) {
            out.push_str(&format!("    {}\n", s.name));
        }
    }
    out.push_str("\nAvailable curve preferences include:\n");
    for c in GO_CURVES {
        if matches!(curve(c), Ok(Some(_))) {
            out.push_str(&format!("    {c}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_names_map_to_rustls_suites_by_name() {
        // Go's TLS 1.2 AEAD names are the IANA names, which rustls's suites carry too.
        let mut tls12 = 0;
        for s in GO_SUITES {
            match s.rustls() {
                SuiteUse::Tls12(r) => {
                    tls12 += 1;
                    assert_eq!(format!("{:?}", r.suite()), s.name);
                    assert!(!s.insecure, "{}", s.name);
                }
                SuiteUse::Tls13 => assert!(s.tls13 && !s.insecure),
                SuiteUse::Unsupported => {
                    assert!(
                        s.name.contains("CBC")
                            || s.name.contains("RC4")
                            || s.name.contains("_RSA_WITH_"),
                        "{}",
                        s.name
                    )
                }
            }
        }
        assert_eq!(tls12, 6);
        assert_eq!(GO_SUITES.len(), 25);
        assert_eq!(GO_SUITES.iter().filter(|s| s.insecure).count(), 12);
        assert!(GoSuite::by_name("tls_aes_128_gcm_sha256").is_none());
    }

    #[test]
    fn curves() {
        assert!(curve("X25519").unwrap().is_some());
        assert!(curve("CurveP521").unwrap().is_none());
        assert!(curve("X25519MLKEM768").unwrap().is_none());
        assert_eq!(
            curve("P256").err().unwrap(),
            "unrecognized curve preference P256"
        );
    }

    #[test]
    fn help_lists_only_what_corenats_accepts() {
        let h = help_text();
        assert!(h.contains("    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"));
        assert!(!h.contains("CBC"));
        assert!(h.contains("    CurveP384\n") && !h.contains("    CurveP521\n"));
    }
}
