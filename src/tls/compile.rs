//! `config::TlsSpec` → [`ServerTls`]: load the certificate, key and CA files and build the rustls
//! configurations, with nats-server's error texts (its `GenTLSConfig`, `server/opts.go`).
//!
//! - [`ciphers`]: Go's cipher-suite and curve names and their rustls *ring* equivalents.
//! - `certs`: the PEM files (Go's texts) and the certificate picked for a handshake.
//! - `route`: `cluster { tls {} }` → [`RouteTls`], both ends of every route (mutual TLS).
//!
//! The rustls configuration is always built on an explicit *ring* provider (never the process-wide
//! default, which another crate in the binary could set differently), restricted to the suites and
//! curves the block lists. Session resumption, tickets and buffer limits keep rustls's defaults; ALPN
//! is not offered (NATS has no ALPN name; nats-server sets none).

mod certs;
pub mod ciphers;
mod insecure;
mod route;

pub use route::{routes, RouteTls};

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::{ring, CryptoProvider, SupportedKxGroup};
use rustls::server::WebPkiClientVerifier;
use rustls::version::{TLS12, TLS13};
use rustls::{ServerConfig, SupportedProtocolVersion};

use super::ServerTls;
use crate::config::{Config, Diagnostic, TlsSpec};
use ciphers::{GoSuite, SuiteUse};

use certs::Certs;

/// The handshake timeout when the block sets none (nats-server's `TLS_TIMEOUT`).
pub const DEFAULT_TIMEOUT: Duration = crate::config::defaults::DEFAULT_TLS_TIMEOUT;

/// Builds the TLS settings of the client port from the `tls {}` block. The error is nats-server's text.
pub fn compile(spec: &TlsSpec) -> Result<ServerTls, String> {
    let provider = Arc::new(provider(spec)?);
    let certs = Arc::new(load_certs(spec, &provider)?);
    // Read and checked even without `verify` (nats-server fails on a bad `ca_file` either way), but
    // only used with it: Go's default is not to ask for client certificates at all.
    let roots = match &spec.ca_file {
        Some(p) => Some(certs::load_roots(p)?),
        None => None,
    };
    let versions = versions(spec.min_version.as_deref())?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("error building the TLS configuration: {e}"))?;
    let client = if spec.verify {
        let roots = match roots {
            Some(r) => r,
            None => certs::system_roots()?,
        };
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("error building the client certificate verifier: {e}"))?;
        builder
            .clone()
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(certs.clone())
    } else {
        builder
            .clone()
            .with_no_client_auth()
            .with_cert_resolver(certs.clone())
    };
    // nats-server's monitor clones the client configuration and drops client authentication.
    let mut https = builder.with_no_client_auth().with_cert_resolver(certs);
    // The server picks the suite, in Go's order (`provider`), whatever the client prefers: as
    // nats-server does, and AES-128-GCM is the cheapest suite on hardware with AES instructions.
    let mut client = client;
    client.ignore_client_order = true;
    https.ignore_client_order = true;
    Ok(ServerTls {
        client: Arc::new(client),
        https: Arc::new(https),
        timeout: spec
            .timeout
            .filter(|t| !t.is_zero())
            .unwrap_or(DEFAULT_TIMEOUT),
        handshake_first: spec.handshake_first,
        verify: spec.verify,
        map: spec.map,
        pinned: pinned(&spec.pinned_certs)?,
        rate_limit: spec.rate_limit,
    })
}

/// A leaf remote's `tls {}`: the client side of its link to the hub. The hub's certificate is checked
/// against `ca_file` (else the system's roots) for the URL's host, unless `insecure`; `cert_file` and
/// `key_file`, when given, are presented as the client certificate (for a hub with `verify`).
pub fn client(spec: &TlsSpec) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(provider(spec)?);
    let versions = versions(spec.min_version.as_deref())?;
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("error building the TLS configuration: {e}"))?;
    let builder = if spec.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::AnyServer(provider.clone())))
    } else {
        let roots = match &spec.ca_file {
            Some(p) => certs::load_roots(p)?,
            None => certs::system_roots()?,
        };
        builder.with_root_certificates(roots)
    };
    let has_cert = spec.cert_file.is_some() || spec.key_file.is_some() || !spec.certs.is_empty();
    let config = if has_cert {
        let key = load_certs(spec, &provider)?
            .first()
            .ok_or("no client certificate in the TLS configuration")?;
        builder.with_client_cert_resolver(Arc::new(insecure::OneClientCert(key)))
    } else {
        builder.with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// Compiles the configuration's `tls {}` block, if any (and checks the leaf remotes', the leaf
/// listener's and the cluster's blocks). The error is placed at the block's `tls` key,
/// where nats-server reports it (without a position when the settings came from the command line).
pub fn for_config(cfg: &Config) -> Result<Option<Arc<ServerTls>>, Diagnostic> {
    // The leaf remotes' blocks are checked with the server's, so `-t` and the start fail on them too.
    for spec in cfg.leafnodes.remotes.iter().filter_map(|r| r.tls.as_ref()) {
        client(spec).map_err(|e| Diagnostic::error(&spec.span, e))?;
    }
    // The cluster's block (both ends of every route), compiled again by shard 0 when the cluster
    // starts. nats-server reads it, and fails on it, with or without a cluster port.
    if let Some(spec) = &cfg.cluster.tls {
        routes(spec).map_err(|e| Diagnostic::error(&spec.span, e))?;
    }
    // The leaf-node listener's block, compiled again by shard 0 when it starts listening.
    if let (Some(spec), Some(_)) = (&cfg.leafnodes.tls, cfg.leafnodes.port) {
        compile(spec).map_err(|e| Diagnostic::error(&spec.span, e))?;
    }
    match &cfg.tls {
        None => Ok(None),
        Some(spec) => compile(spec)
            .map(|t| Some(Arc::new(t)))
            .map_err(|e| Diagnostic::error(&spec.span, e)),
    }
}

/// *ring*, limited to the listed TLS 1.2 suites (every TLS 1.3 suite stays, as in Go) and the listed
/// curves (in order). Empty lists keep *ring*'s defaults. Suites are ordered as Go prefers them.
fn provider(spec: &TlsSpec) -> Result<CryptoProvider, String> {
    let mut p = ring::default_provider();
    if !spec.cipher_suites.is_empty() {
        let mut insecure = Vec::new();
        let mut tls12 = Vec::new();
        for name in &spec.cipher_suites {
            let s = GoSuite::by_name(name).ok_or_else(|| ciphers::unrecognized_suite(name))?;
            if s.insecure {
                insecure.push(s.name);
            }
            match s.rustls() {
                SuiteUse::Tls12(r) => {
                    if !tls12.contains(&r) {
                        tls12.push(r)
                    }
                }
                SuiteUse::Tls13 => {}
                SuiteUse::Unsupported if s.insecure && !spec.allow_insecure_cipher_suites => {}
                SuiteUse::Unsupported => return Err(ciphers::unsupported_suite(name)),
            }
        }
        if !insecure.is_empty() && !spec.allow_insecure_cipher_suites {
            return Err(ciphers::insecure_suites(&insecure));
        }
        p.cipher_suites.retain(|s| s.tls13().is_some());
        p.cipher_suites.extend(tls12);
    }
    // Go ignores the order `cipher_suites` lists (a filter only) and prefers AES-128-GCM, then
    // AES-256-GCM, then ChaCha20-Poly1305, ECDSA before RSA within each.
    p.cipher_suites.sort_by_key(|s| go_preference(s.suite()));
    if !spec.curve_preferences.is_empty() {
        let mut groups: Vec<&'static dyn SupportedKxGroup> = Vec::new();
        for name in &spec.curve_preferences {
            let g = ciphers::curve(name)?.ok_or_else(|| ciphers::unsupported_curve(name))?;
            if !groups.iter().any(|h| h.name() == g.name()) {
                groups.push(g);
            }
        }
        p.kx_groups = groups;
    }
    Ok(p)
}

/// Rank of a suite in Go's server preference (its `cipherSuitesPreferenceOrder` on hardware with AES
/// instructions); lower first.
fn go_preference(s: rustls::CipherSuite) -> u8 {
    use rustls::CipherSuite as C;
    match s {
        C::TLS13_AES_128_GCM_SHA256 => 0,
        C::TLS13_AES_256_GCM_SHA384 => 1,
        C::TLS13_CHACHA20_POLY1305_SHA256 => 2,
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => 10,
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 11,
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => 12,
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 13,
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => 14,
        C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => 15,
        _ => 20,
    }
}

/// `min_version`: TLS 1.2 and 1.3 by default, 1.3 alone with "1.3". Texts are nats-server's.
fn versions(min: Option<&str>) -> Result<&'static [&'static SupportedProtocolVersion], String> {
    static BOTH: [&SupportedProtocolVersion; 2] = [&TLS13, &TLS12];
    static ONLY_13: [&SupportedProtocolVersion; 1] = [&TLS13];
    match min {
        None | Some("1.2") => Ok(&BOTH),
        Some("1.3") => Ok(&ONLY_13),
        Some(v @ ("1.0" | "1.1")) => Err(format!("unsupported minimum TLS version: TLS {v}")),
        Some(v) => Err(format!("unknown version: {v}")),
    }
}

/// The server's certificates, checked as nats-server's `GenTLSConfig` checks them.
fn load_certs(spec: &TlsSpec, provider: &CryptoProvider) -> Result<Certs, String> {
    match (&spec.cert_file, &spec.key_file) {
        (Some(_), None) => Err("missing 'key_file' in TLS configuration".to_string()),
        (None, Some(_)) => Err("missing 'cert_file' in TLS configuration".to_string()),
        (Some(_), Some(_)) if !spec.certs.is_empty() => Err(
            "error parsing tls config, cannot combine 'cert_file' option with 'certs' option"
                .to_string(),
        ),
        (Some(c), Some(k)) => Certs::load(&[(c.as_path(), k.as_path())], false, provider),
        (None, None) => {
            let pairs: Vec<_> = spec
                .certs
                .iter()
                .map(|(c, k)| (c.as_path(), k.as_path()))
                .collect();
            Certs::load(&pairs, true, provider)
        }
    }
}

/// `pinned_certs` (64 hex digits each, as the parser checked) as SHA-256 digests; none = no pinning.
fn pinned(list: &[String]) -> Result<Option<HashSet<[u8; 32]>>, String> {
    if list.is_empty() {
        return Ok(None);
    }
    let mut set = HashSet::with_capacity(list.len());
    for entry in list {
        set.insert(sha256_hex(entry).ok_or_else(|| {
            format!(
                "error parsing tls config, 'pinned_certs' key {entry} does not look like \
                 hex-encoded sha256 of DER encoded SubjectPublicKeyInfo"
            )
        })?);
    }
    Ok(Some(set))
}

/// 64 hex digits (either case) → 32 bytes.
pub fn sha256_hex(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod test_certs;
#[cfg(test)]
mod tests;
