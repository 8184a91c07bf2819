//! The certificate files of a `tls {}` block: the server's certificate/key pairs (as Go's
//! `tls.LoadX509KeyPair` reads them, with its error texts) and the CA bundle (`ca_file`, as Go's
//! `CertPool.AppendCertsFromPEM`), and [`Certs`], which picks the certificate for a handshake.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::open_error;

/// The certificates a listener serves (none for an empty `tls {}`: every handshake then fails, as
/// with nats-server, which is the documented set-up behind a TLS-terminating proxy).
///
/// Which one a handshake gets is Go's rule (`Config.getCertificate`): the only one; else the first
/// whose names cover the client's SNI (when it sent one) and whose key can sign with a scheme the
/// client offers; else the first. Immutable; shared by the client-port and the HTTPS configurations.
#[derive(Debug, Default)]
pub struct Certs {
    /// In configuration order. Bound: the entries of `certs` (or the one `cert_file`).
    entries: Vec<Served>,
}

/// One certificate chain with its key, and the DNS names its leaf is valid for.
#[derive(Debug)]
struct Served {
    key: Arc<CertifiedKey>,
    /// The leaf's DNS subject alternative names, lower-case (`*.example.com` kept as written).
    names: Vec<String>,
}

impl Certs {
    /// Loads each (certificate file, key file) pair. The error is nats-server's text, numbered
    /// `i/n` when there are several pairs (its `certs` list).
    pub fn load(
        pairs: &[(&Path, &Path)],
        numbered: bool,
        provider: &CryptoProvider,
    ) -> Result<Certs, String> {
        let mut entries = Vec::with_capacity(pairs.len());
        for (i, (cert, key)) in pairs.iter().enumerate() {
            let which = if numbered {
                format!(" {}/{}", i + 1, pairs.len())
            } else {
                String::new()
            };
            let served = load_pair(cert, key, provider)
                .map_err(|e| format!("error parsing X509 certificate/key pair{which}: {e}"))?;
            entries.push(served);
        }
        Ok(Certs { entries })
    }
}

impl Certs {
    /// The first chain and key (a leaf link presents it as its client certificate).
    pub fn first(&self) -> Option<Arc<CertifiedKey>> {
        self.entries.first().map(|s| s.key.clone())
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if self.entries.len() <= 1 {
            return self.entries.first().map(|s| s.key.clone());
        }
        let sni = hello.server_name();
        let fits = |s: &Served| {
            sni.is_none_or(|host| s.names.iter().any(|n| name_matches(n, host)))
                && s.key.key.choose_scheme(hello.signature_schemes()).is_some()
        };
        self.entries
            .iter()
            .find(|s| fits(s))
            .or(self.entries.first())
            .map(|s| s.key.clone())
    }
}

/// Go's `VerifyHostname` for DNS names: case-insensitive, a trailing dot ignored, `*` only as the
/// whole left-most label and matching exactly one label.
fn name_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => pattern == host,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| open_error(path, &e))
}

/// The `-----BEGIN <label>-----` labels of a PEM text, in order (for Go's error texts).
fn pem_labels(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("-----BEGIN "))
        .filter_map(|l| l.strip_suffix("-----"))
        .map(str::to_string)
        .collect()
}

/// Go's `%v` of a string slice: `[A B]`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// One pair, as Go's `tls.X509KeyPair` checks it; the error is Go's text (without nats-server's prefix).
fn load_pair(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<Served, String> {
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .map_while(Result::ok)
        .collect();
    if chain.is_empty() {
        let labels = pem_labels(&cert_pem);
        return Err(match labels.as_slice() {
            [] => "tls: failed to find any PEM data in certificate input".to_string(),
            [one] if one.ends_with("PRIVATE KEY") => "tls: failed to find certificate PEM data in \
                certificate input, but did find a private key; PEM inputs may have been switched"
                .to_string(),
            _ => format!(
                "tls: failed to find \"CERTIFICATE\" PEM block in certificate input after skipping \
                 PEM blocks of the following types: {}",
                go_list(&labels)
            ),
        });
    }
    let key_der = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(k) => k,
        Err(_) => {
            let labels = pem_labels(&key_pem);
            return Err(if labels.iter().any(|l| l.ends_with("PRIVATE KEY")) {
                // A key block rustls cannot read (an encrypted key, say): Go fails to parse it too.
                "tls: failed to parse private key".to_string()
            } else {
                match labels.as_slice() {
                    [] => "tls: failed to find any PEM data in key input".to_string(),
                    [one] if one == "CERTIFICATE" => {
                        "tls: found a certificate rather than a key in the PEM for the private key"
                            .to_string()
                    }
                    _ => format!(
                        "tls: failed to find PEM block with type ending in \"PRIVATE KEY\" in key \
                         input after skipping PEM blocks of the following types: {}",
                        go_list(&labels)
                    ),
                }
            });
        }
    };
    let names = leaf_dns_names(&chain[0])?;
    let key = CertifiedKey::from_der(chain, key_der, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            "tls: private key does not match public key".to_string()
        }
        rustls::Error::InvalidCertificate(_) => "x509: malformed certificate".to_string(),
        _ => "tls: failed to parse private key".to_string(),
    })?;
    Ok(Served {
        key: Arc::new(key),
        names,
    })
}

/// The leaf's DNS subject alternative names (Go matches SNI against these only, never the CN).
fn leaf_dns_names(leaf: &CertificateDer<'_>) -> Result<Vec<String>, String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|_| "x509: malformed certificate".to_string())?;
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Ok(Vec::new());
    };
    Ok(san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
            _ => None,
        })
        .collect())
}

/// The certificates of a CA bundle (`ca_file`): every `CERTIFICATE` block that parses, as Go's
/// `AppendCertsFromPEM`; none is nats-server's "failed to parse root ca certificate". A file that
/// cannot be read is Go's `open` error, which nats-server prints bare.
pub fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem).map_while(Result::ok);
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err("failed to parse root ca certificate".to_string());
    }
    Ok(roots)
}

/// The system's trust anchors (Go's `x509.SystemCertPool`), for `verify` without `ca_file`.
pub fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(
            "'verify' needs CA certificates: set 'ca_file' (no system root certificates were found)"
                .to_string(),
        );
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_hostname_rules() {
        assert!(name_matches("example.com", "Example.COM."));
        assert!(name_matches("*.example.com", "a.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.example.com", ".example.com"));
    }

    #[test]
    fn labels_and_go_lists() {
        let text = b"junk\n-----BEGIN EC PARAMETERS-----\nAA==\n-----END EC PARAMETERS-----\n-----BEGIN CERTIFICATE-----\n";
        let l = pem_labels(text);
        assert_eq!(l, ["EC PARAMETERS", "CERTIFICATE"]);
        assert_eq!(go_list(&l), "[EC PARAMETERS CERTIFICATE]");
    }
}
