//! `cluster { tls {} }` → [`RouteTls`]: both ends of every route, as nats-server's `getTLSConfig`
//! builds them. A route is mutual TLS whatever `verify` says: the accepting side requires the peer's
//! certificate and checks it against `ca_file` (else the system's roots), and the dialling side checks
//! the peer's certificate against the same roots — for the URL's host, as Go's client does — and
//! presents the block's certificate as its own (so a node's certificate must be valid for both server
//! and client authentication).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ServerConfig};

use super::{certs, insecure, load_certs, pinned, provider, versions, DEFAULT_TIMEOUT};
use crate::config::TlsSpec;

/// The compiled `cluster { tls {} }`. Immutable; compiled once when the cluster starts.
pub struct RouteTls {
    /// For routes we accept: our certificate, the peer's required and verified.
    pub server: Arc<ServerConfig>,
    /// For routes we dial: the peer's certificate verified (unless `insecure`), ours presented.
    pub client: Arc<ClientConfig>,
    /// Handshake timeout (`timeout`; default 2 s).
    pub timeout: Duration,
    /// `pinned_certs`: SHA-256 of the accepted peers' SubjectPublicKeyInfo (DER), checked on both
    /// ends. `None` = any peer the chain check lets through.
    pub pinned: Option<HashSet<[u8; 32]>>,
    /// `insecure`: routes we dial do not check the peer's certificate (nats-server warns).
    pub insecure: bool,
    /// `verify_and_map`: an accepted peer's certificate must name the cluster `authorization` user
    /// (its CONNECT's user and password are then not used).
    pub map: bool,
    /// `verify_cert_and_check_known_urls`: an accepted peer's certificate is enough when one of its
    /// DNS names is the host of a configured route URL.
    pub check_known_urls: bool,
}

impl std::fmt::Debug for RouteTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTls")
            .field("timeout", &self.timeout)
            .field("pinned", &self.pinned.as_ref().map(|p| p.len()))
            .field("insecure", &self.insecure)
            .field("map", &self.map)
            .field("check_known_urls", &self.check_known_urls)
            .finish_non_exhaustive()
    }
}

/// Builds both route configurations from `cluster { tls {} }`. The error is nats-server's text. Keys
/// that mean nothing on a route are read and ignored, as nats-server does: `verify` (always on),
/// `handshake_first` (routes always start with TLS) and `connection_rate_limit` (client port only).
pub fn routes(spec: &TlsSpec) -> Result<RouteTls, String> {
    let provider = Arc::new(provider(spec)?);
    let certs = Arc::new(load_certs(spec, &provider)?);
    // nats-server mirrors the client CAs into the root CAs: one pool for both directions.
    let roots = Arc::new(match &spec.ca_file {
        Some(p) => certs::load_roots(p)?,
        None => certs::system_roots()?,
    });
    let versions = versions(spec.min_version.as_deref())?;

    let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .map_err(|e| format!("error building the client certificate verifier: {e}"))?;
    let mut server = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("error building the TLS configuration: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(certs.clone());
    server.ignore_client_order = true;

    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("error building the TLS configuration: {e}"))?;
    let builder = if spec.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::AnyServer(provider.clone())))
    } else {
        builder.with_root_certificates(roots)
    };
    // Without a certificate the peer refuses us, as it refuses a nats-server without one.
    let client = match certs.first() {
        Some(key) => builder.with_client_cert_resolver(Arc::new(insecure::OneClientCert(key))),
        None => builder.with_no_client_auth(),
    };

    Ok(RouteTls {
        server: Arc::new(server),
        client: Arc::new(client),
        timeout: spec
            .timeout
            .filter(|t| !t.is_zero())
            .unwrap_or(DEFAULT_TIMEOUT),
        pinned: pinned(&spec.pinned_certs)?,
        insecure: spec.insecure,
        map: spec.map,
        check_known_urls: spec.check_known_urls,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_certs::TestCerts;
    use super::*;
    use rustls::pki_types::ServerName;
    use rustls::{ClientConnection, ServerConnection};

    /// A route handshake in memory: the dialling side's configuration against the accepting
    /// side's, the peer checked for `name`. Ok: the certificate each side saw of the other.
    fn handshake(
        dialler: &RouteTls,
        acceptor: &RouteTls,
        name: &str,
    ) -> Result<(usize, usize), rustls::Error> {
        let name = ServerName::try_from(name.to_string()).unwrap();
        let mut c = ClientConnection::new(dialler.client.clone(), name)?;
        let mut s = ServerConnection::new(acceptor.server.clone())?;
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
                let seen = |certs: Option<&[rustls::pki_types::CertificateDer<'_>]>| {
                    certs.map_or(0, |c| c.len())
                };
                return Ok((seen(c.peer_certificates()), seen(s.peer_certificates())));
            }
        }
        panic!("handshake did not finish");
    }

    /// A node's block: a self-signed certificate for localhost/127.0.0.1 (no extended key usage, so
    /// valid as server and client) that is also the CA.
    fn node(t: &TestCerts) -> TlsSpec {
        let (cert, key) = t.self_signed("node", &["localhost", "127.0.0.1"]);
        TlsSpec {
            ca_file: Some(cert.clone()),
            cert_file: Some(cert),
            key_file: Some(key),
            // `verify: false` changes nothing on a route.
            verify: false,
            ..TlsSpec::default()
        }
    }

    #[test]
    fn both_ends_present_and_check_certificates() {
        let t = TestCerts::new();
        let spec = node(&t);
        let r = routes(&spec).unwrap();
        assert_eq!(r.timeout, DEFAULT_TIMEOUT);
        assert!(!r.insecure && r.pinned.is_none() && !r.map && !r.check_known_urls);
        assert_eq!(handshake(&r, &r, "localhost").unwrap(), (1, 1));
        assert_eq!(handshake(&r, &r, "127.0.0.1").unwrap(), (1, 1));
        // The dialling side checks the name, as Go's client does.
        assert!(handshake(&r, &r, "other.example").is_err());
        // A peer without a certificate is refused, whatever `verify` says.
        let bare = routes(&TlsSpec {
            cert_file: None,
            key_file: None,
            ..spec.clone()
        })
        .unwrap();
        assert!(handshake(&bare, &r, "localhost").is_err());
        // A peer whose certificate the CA did not sign is refused by the acceptor; with
        // `insecure` the dialler does not check the acceptor's.
        let other = TestCerts::new();
        let other_spec = node(&other);
        let stranger = routes(&TlsSpec {
            insecure: true,
            ..other_spec.clone()
        })
        .unwrap();
        assert!(handshake(&stranger, &r, "localhost").is_err());
        assert!(handshake(&r, &stranger, "localhost").is_err());
        // `insecure`: the dialler takes an acceptor's certificate it cannot check (the acceptor
        // trusts the dialler's CA).
        let trusting = routes(&TlsSpec {
            ca_file: Some(other.path("node-cert.pem")),
            ..spec.clone()
        })
        .unwrap();
        assert_eq!(
            handshake(&stranger, &trusting, "localhost").unwrap(),
            (1, 1)
        );
        let careful = routes(&other_spec).unwrap();
        assert!(handshake(&careful, &trusting, "localhost").is_err());
        let timed = routes(&TlsSpec {
            timeout: Some(Duration::from_millis(1500)),
            ..spec
        })
        .unwrap();
        assert_eq!(timed.timeout, Duration::from_millis(1500));
    }

    #[test]
    fn errors_are_nats_servers() {
        let t = TestCerts::new();
        let spec = TlsSpec {
            cert_file: Some(t.path("server-cert.pem")),
            ca_file: Some(t.path("ca.pem")),
            ..TlsSpec::default()
        };
        assert_eq!(
            routes(&spec).unwrap_err(),
            "missing 'key_file' in TLS configuration"
        );
        let spec = TlsSpec {
            cert_file: Some(t.path("server-cert.pem")),
            key_file: Some(t.path("server-key.pem")),
            ca_file: Some(t.path("nope.pem")),
            ..TlsSpec::default()
        };
        assert!(
            routes(&spec).unwrap_err().contains("nope.pem"),
            "a missing ca_file is named"
        );
    }
}
