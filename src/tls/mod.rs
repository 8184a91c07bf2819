//! TLS for the client port and the HTTPS monitor, configured as nats-server's `tls {}` block.
//!
//! - [`compile`]: `config::TlsSpec` → [`ServerTls`]: certificates and keys loaded, the rustls
//!   configuration built (cipher suites, curves, minimum version, client verification), with
//!   nats-server's error texts. Run at start-up, by `-t` and on every reload.
//! - [`identity`]: pure — what a peer certificate says (SANs, subject DN as nats-server prints it,
//!   fingerprints) for `verify_and_map`, `pinned_certs` and `/connz`.
//! - [`session`]: one server-side TLS session over a connection's socket: the handshake, decrypting
//!   reads, encrypting writes and the ciphertext backlog that counts towards `max_pending`.
//!
//! Runs on: `compile` on the thread that loads configuration; a `ServerTls` is immutable and shared by
//! every shard (`Settings::tls`); a session lives on its connection's shard.

pub mod compile;
pub mod identity;
pub mod session;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// nats-server's `handshake_first`: whether the TLS handshake comes before the INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HandshakeFirst {
    /// INFO in clear text first, then the client starts TLS (the default).
    #[default]
    Off,
    /// The TLS handshake first; the INFO is the first record inside TLS.
    On,
    /// Wait this long for the client's first bytes: any → TLS first; none → INFO first.
    Fallback(Duration),
}

/// The compiled `tls {}` block. Immutable; a reload builds a new one (live sessions keep theirs).
pub struct ServerTls {
    /// For the client port: asks for client certificates when `verify` is set.
    pub client: Arc<rustls::ServerConfig>,
    /// For the HTTPS monitor: the same certificates and settings, never asking for client certificates.
    pub https: Arc<rustls::ServerConfig>,
    /// Handshake timeout (`timeout`; default 2 s).
    pub timeout: Duration,
    pub handshake_first: HandshakeFirst,
    /// `verify` (also set by `verify_and_map`): a client certificate is required and checked.
    pub verify: bool,
    /// `verify_and_map`: the user is the one the client certificate names.
    pub map: bool,
    /// `pinned_certs`: SHA-256 of the accepted peers' SubjectPublicKeyInfo (DER). `None` = any peer.
    pub pinned: Option<HashSet<[u8; 32]>>,
    /// `connection_rate_limit`: new TLS client connections per second (0 = no limit).
    pub rate_limit: u64,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("timeout", &self.timeout)
            .field("handshake_first", &self.handshake_first)
            .field("verify", &self.verify)
            .field("map", &self.map)
            .field("pinned", &self.pinned.as_ref().map(|p| p.len()))
            .field("rate_limit", &self.rate_limit)
            .finish_non_exhaustive()
    }
}
