//! Client-side TLS settings: the `--tls*` options compiled once into a rustls configuration that
//! every connection of the process shares, and what the first handshake negotiated (reported
//! with every run, so a comparison can check that both servers agreed on the same parameters).
//!
//! The crypto provider is ring, always named explicitly (`ClientConfig::builder_with_provider`),
//! never taken from a process-wide default. Its cipher suites are offered with AES-128-GCM first,
//! as Go clients do: nats-server (Go) picks AES-128-GCM over AES-256-GCM in whatever order the
//! client offers them, while a rustls server follows the client's order; with rustls's own order
//! (AES-256-GCM first) the two servers would encrypt with different ciphers and the comparison
//! would measure the cipher.

use rustls::client::Resumption;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, SupportedCipherSuite};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The `--tls*` options as given.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM file with the CA certificate(s) to trust (`--tls-ca`).
    pub ca: PathBuf,
    /// PEM client certificate chain and key (`--tls-cert`, `--tls-key`), both or neither.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// `--tls-first`: TLS handshake before the INFO (servers with `handshake_first`).
    pub first: bool,
}

/// What a completed handshake agreed on, as rustls names it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Negotiated {
    /// Protocol version, e.g. `TLSv1_3`.
    pub version: String,
    /// Cipher suite, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub suite: String,
    /// Key exchange group, e.g. `X25519`.
    pub group: String,
}

/// What a run reports about TLS (the JSON line's `tls` field; absent for plain runs).
#[derive(Debug, Clone, Serialize)]
pub struct TlsReport {
    pub first: bool,
    pub client_cert: bool,
    /// Whether session resumption was allowed (it is not in the handshake scenario).
    pub resumption: bool,
    /// The first completed handshake's parameters (`None` if none completed).
    pub negotiated: Option<Negotiated>,
}

/// Compiled client TLS, shared by every connection of a run.
#[derive(Debug, Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    /// The name the server's certificate must carry: the host of `--server` (an IP address is
    /// checked against the certificate's IP SANs, a name against its DNS SANs).
    name: ServerName<'static>,
    /// `--tls-first`.
    pub first: bool,
    client_cert: bool,
    /// Session resumption allowed (rustls's default) or off.
    resumption: bool,
    /// Set by the first handshake that completes; shared with copies made by
    /// [`TlsClient::without_resumption`].
    negotiated: Arc<OnceLock<Negotiated>>,
}

impl TlsClient {
    /// Loads the files and builds the configuration for server `host`.
    pub fn new(opts: &TlsOptions, host: &str) -> Result<TlsClient, String> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("--tls: server host {host:?} is not a valid TLS name: {e}"))?;
        let mut roots = RootCertStore::empty();
        for cert in read_certs(&opts.ca, "--tls-ca")? {
            roots
                .add(cert)
                .map_err(|e| format!("--tls-ca {}: {e}", opts.ca.display()))?;
        }
        let builder = ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS provider: {e}"))?
            .with_root_certificates(roots);
        let config = match (&opts.cert, &opts.key) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert, "--tls-cert")?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };
        Ok(TlsClient {
            config: Arc::new(config),
            name,
            first: opts.first,
            client_cert: opts.cert.is_some(),
            resumption: true,
            negotiated: Arc::new(OnceLock::new()),
        })
    }

    /// The same settings with session resumption off: every connection a full handshake.
    pub fn without_resumption(&self) -> TlsClient {
        let mut config = (*self.config).clone();
        config.resumption = Resumption::disabled();
        TlsClient {
            config: Arc::new(config),
            resumption: false,
            ..self.clone()
        }
    }

    /// A new client session (no I/O yet).
    pub fn session(&self) -> Result<ClientConnection, rustls::Error> {
        ClientConnection::new(self.config.clone(), self.name.clone())
    }

    /// Keeps the parameters of the first completed handshake.
    pub fn note(&self, conn: &ClientConnection) {
        if self.negotiated.get().is_some() {
            return;
        }
        let debug = |v: Option<String>| v.unwrap_or_else(|| "?".into());
        let _ = self.negotiated.set(Negotiated {
            version: debug(conn.protocol_version().map(|v| format!("{v:?}"))),
            suite: debug(
                conn.negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite())),
            ),
            group: debug(
                conn.negotiated_key_exchange_group()
                    .map(|g| format!("{:?}", g.name())),
            ),
        });
    }

    /// What to report for a run.
    pub fn report(&self) -> TlsReport {
        TlsReport {
            first: self.first,
            client_cert: self.client_cert,
            resumption: self.resumption,
            negotiated: self.negotiated.get().cloned(),
        }
    }
}

/// The ring provider with AES-128-GCM offered first (see the module comment).
fn provider() -> CryptoProvider {
    let mut p = ring::default_provider();
    p.cipher_suites = preferred_order(&p.cipher_suites);
    p
}

/// Stable reorder: AES-128-GCM suites (TLS 1.3, then 1.2) ahead of the rest.
fn preferred_order(suites: &[SupportedCipherSuite]) -> Vec<SupportedCipherSuite> {
    let aes128 = |s: &SupportedCipherSuite| format!("{:?}", s.suite()).contains("AES_128_GCM");
    let mut v: Vec<SupportedCipherSuite> = suites.iter().copied().filter(aes128).collect();
    v.extend(suites.iter().copied().filter(|s| !aes128(s)));
    v
}

fn read_certs(path: &PathBuf, flag: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{flag} {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{flag} {}: no certificate in it", path.display()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_128_gcm_is_offered_first() {
        let order: Vec<String> = provider()
            .cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        assert_eq!(order[0], "TLS13_AES_128_GCM_SHA256", "{order:?}");
        assert_eq!(order.len(), ring::default_provider().cipher_suites.len());
        let first_tls12 = order.iter().position(|s| !s.starts_with("TLS13")).unwrap();
        assert!(order[first_tls12].contains("AES_128_GCM"), "{order:?}");
    }

    #[test]
    fn missing_or_empty_ca_is_a_clear_error() {
        let opts = TlsOptions {
            ca: PathBuf::from("/nonexistent/ca.pem"),
            ..TlsOptions::default()
        };
        let e = TlsClient::new(&opts, "127.0.0.1").unwrap_err();
        assert!(e.starts_with("--tls-ca /nonexistent/ca.pem"), "{e}");
        let empty = std::env::temp_dir().join(format!("loadgen-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "").unwrap();
        let opts = TlsOptions {
            ca: empty.clone(),
            ..TlsOptions::default()
        };
        let e = TlsClient::new(&opts, "localhost").unwrap_err();
        let _ = std::fs::remove_file(&empty);
        assert!(e.contains("no certificate"), "{e}");
    }
}
