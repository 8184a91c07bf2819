//! nats-server's defaults for every setting, as `Config::default()`: the one home of each default value.

use std::time::Duration;

use super::schema::{Config, Span};

/// Default client port.
pub const DEFAULT_PORT: i32 = 4222;
/// Default `max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: i64 = 64 * 1024;
/// Default `max_payload` (1 MiB): the client protocol's own default.
pub const DEFAULT_MAX_PAYLOAD: u32 = crate::protocol::parser::DEFAULT_MAX_PAYLOAD as u32;
/// Default `max_pending` (64 MiB).
pub const DEFAULT_MAX_PENDING: i64 = 64 * 1024 * 1024;
/// Default `max_control_line`: the client protocol's own default.
pub const DEFAULT_MAX_CONTROL_LINE: u32 = crate::protocol::parser::DEFAULT_MAX_CONTROL_LINE as u32;
/// Default `authorization.timeout`.
pub const DEFAULT_AUTH_TIMEOUT: Duration = Duration::from_secs(2);
/// Default TLS handshake timeout (`tls { timeout }`; nats-server's `TLS_TIMEOUT`).
pub const DEFAULT_TLS_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `handshake_first: auto` waits for a client's first bytes (nats-server's
/// `DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_DELAY`).
pub const DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK: Duration = Duration::from_millis(50);
/// Default `allow_responses` limits: 1 response within 2 minutes.
pub const DEFAULT_ALLOW_RESPONSES_MAX: i64 = 1;
pub const DEFAULT_ALLOW_RESPONSES_EXPIRES: Duration = Duration::from_secs(120);
/// Default service export response threshold.
pub const DEFAULT_RESPONSE_THRESHOLD: Duration = Duration::from_secs(120);

impl Config {
    /// The TLS handshake timeout in force: the block's `timeout`, else 2 s (also without TLS, as
    /// nats-server's `/varz` reports it).
    pub fn tls_timeout(&self) -> Duration {
        self.tls
            .as_ref()
            .and_then(|t| t.timeout)
            .filter(|t| !t.is_zero())
            .unwrap_or(DEFAULT_TLS_TIMEOUT)
    }

    /// The authentication timeout when `authorization.timeout` is not set: 2 s, or the TLS timeout
    /// plus 1 s when TLS is configured (nats-server's `getDefaultAuthTimeout`), so a slow handshake
    /// does not eat the client's time to send CONNECT.
    pub fn default_auth_timeout(&self) -> Duration {
        if self.tls.is_some() {
            self.tls_timeout() + Duration::from_secs(1)
        } else {
            DEFAULT_AUTH_TIMEOUT
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            host: "0.0.0.0".to_string(),
            port: DEFAULT_PORT,
            server_name: None,
            http_host: None,
            http_port: None,
            http_base_path: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_subscriptions: 0,
            max_payload: DEFAULT_MAX_PAYLOAD,
            max_payload_span: Span::default(),
            max_pending: DEFAULT_MAX_PENDING,
            max_control_line: DEFAULT_MAX_CONTROL_LINE,
            ping_interval: Duration::from_secs(120),
            ping_max: 2,
            write_deadline: Duration::from_secs(10),
            lame_duck_duration: Duration::from_secs(120),
            lame_duck_grace_period: Duration::from_secs(10),
            debug: false,
            trace: false,
            logtime: true,
            log_file: None,
            pid_file: None,
            no_auth_user: None,
            no_auth_user_span: Span::default(),
            system_account: None,
            system_account_span: Span::default(),
            no_system_account: false,
            disable_sublist_cache: false,
            authorization: None,
            accounts: Vec::new(),
            mappings: Vec::new(),
            jetstream: false,
            cores: None,
            bus_spin: Duration::ZERO,
            runtime: super::schema::RuntimeChoice::Auto,
            max_closed_clients: 10_000,
            leafnodes: super::schema::LeafSpec::default(),
            leafnodes_accounts: Vec::new(),
            cluster: super::schema::ClusterSpec::default(),
            cluster_routes_span: Span::default(),
            max_sub_tokens: 0,
            tls: None,
            allow_non_tls: false,
            https_host: None,
            https_port: None,
        }
    }
}
