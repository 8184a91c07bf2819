//! `config::TlsSpec` → [`ServerTls`]: load the certificate, key and CA files and build the rustls
//! configurations, with nats-server's error texts.

use super::ServerTls;
use crate::config::TlsSpec;

/// Builds the TLS settings of the client port from the `tls {}` block. The error is nats-server's text.
pub fn compile(spec: &TlsSpec) -> Result<ServerTls, String> {
    let _ = spec;
    Err("TLS is not implemented yet".to_string())
}
