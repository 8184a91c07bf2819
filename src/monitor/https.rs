//! The monitor over TLS (`https_port`): the rustls configuration new connections get, and the
//! handshake that runs before hyper sees a connection.
//!
//! A reload replaces the configuration ([`HttpsConfig::replace`]): the next connection is served
//! with the new certificate, as nats-server's monitor, which asks for the reloaded TLS configuration
//! on every handshake (`getMonitoringTLSConfig`). Connections already open keep theirs.

use std::io;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The HTTPS monitor's TLS configuration in force (`ServerTls::https`: the `tls {}` block's
/// certificates, never asking for a client certificate). Read once per accepted connection; the
/// monitor is not a hot path, so a lock is simpler than anything lock-free.
#[derive(Clone)]
pub struct HttpsConfig(Arc<RwLock<Arc<ServerConfig>>>);

impl HttpsConfig {
    pub fn new(cfg: Arc<ServerConfig>) -> HttpsConfig {
        HttpsConfig(Arc::new(RwLock::new(cfg)))
    }

    /// Runs on: the signal thread, after a reload.
    pub fn replace(&self, cfg: Arc<ServerConfig>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = cfg;
    }

    /// The configuration for the next connection.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The server side of the TLS handshake, bounded by `timeout` (nats-server's monitor bounds it with
/// the request-header timeout).
pub async fn accept<IO>(
    io: IO,
    cfg: Arc<ServerConfig>,
    timeout: Duration,
) -> io::Result<TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(timeout, TlsAcceptor::from(cfg).accept(io)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timeout",
        )),
    }
}
