//! The typed configuration: what the NATS conf (or HCL) file means, after parsing and validation.
//! Produced by `src/config`, consumed by `src/auth` and the engine. Every field has a default equal to
//! nats-server's default (`defaults.rs`).

use std::path::PathBuf;
use std::time::Duration;

/// Where a value came from, for error messages (`file:line:col`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Span {
    pub file: PathBuf,
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `host`/`net`/`listen: host:port`. Default "0.0.0.0".
    pub host: String,
    /// `port`/`listen`. Default 4222. -1 = pick a random free port.
    pub port: i32,
    pub server_name: Option<String>,
    /// `http_port` / `monitor_port` / `http: host:port`. None = monitoring off. -1 = random.
    pub http_host: Option<String>,
    pub http_port: Option<i32>,
    pub http_base_path: Option<String>,
    /// `max_connections`/`max_conn`. Default 65536. `0` in config means -1 = reject every client.
    pub max_connections: i64,
    /// `max_subscriptions`/`max_subs`, per connection. 0 = unlimited.
    pub max_subscriptions: u32,
    /// Default 1 MiB.
    pub max_payload: u32,
    /// Where `max_payload` was set (line 0 when not from a file), for the cross-field check.
    pub max_payload_span: Span,
    /// Default 64 MiB.
    pub max_pending: i64,
    /// Default 4096.
    pub max_control_line: u32,
    /// Default 2m.
    pub ping_interval: Duration,
    /// Default 2.
    pub ping_max: u32,
    /// Default 10s.
    pub write_deadline: Duration,
    /// Default 2m / 10s.
    pub lame_duck_duration: Duration,
    pub lame_duck_grace_period: Duration,
    pub debug: bool,
    pub trace: bool,
    /// Default true.
    pub logtime: bool,
    pub log_file: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_auth_user: Option<String>,
    /// Where `no_auth_user` was set (line 0 when not from a file), for the error naming an unknown user.
    pub no_auth_user_span: Span,
    pub system_account: Option<String>,
    /// Where `system_account` was set (line 0 when not from a file).
    pub system_account_span: Span,
    pub no_system_account: bool,
    pub disable_sublist_cache: bool,
    /// Top-level `authorization { ... }`.
    pub authorization: Option<AuthorizationSpec>,
    /// `accounts { NAME { ... } }` (or `accounts: [A, B]`), in file order.
    pub accounts: Vec<AccountSpec>,
    /// Top-level `mappings` (for the global account `$G`).
    pub mappings: Vec<MappingSpec>,
    /// `jetstream` present (accepted with a warning; not implemented).
    pub jetstream: bool,
    /// corenats extension `cores: N` (number of shards). None = all CPUs in the affinity mask.
    pub cores: Option<usize>,
    /// corenats extension `bus_spin: "20us"`: bounded spin before a shard parks (its cross-core inbox and,
    /// on the io_uring runtime, its reactor): lower wake-up latency for CPU right after activity. Default 0.
    pub bus_spin: Duration,
    /// corenats extension `runtime: auto|io_uring|epoll` (and `--runtime`): the shards' I/O backend.
    /// Default `auto`: io_uring when it works here, else epoll.
    pub runtime: RuntimeChoice,
    /// Default 10000.
    pub max_closed_clients: usize,
    /// `leafnodes { ... }`: links this server dials to leaf-node hubs (`remotes`), and the leaf-node
    /// listener (`port`, `authorization`, ...).
    pub leafnodes: LeafSpec,
    /// The accounts `leafnodes { authorization }` binds (its `account`, its users' `account`), each
    /// where it is written, for the check that they exist (`Config::validate`). Kept out of
    /// [`LeafSpec`] so that a reload compares what the block means, not where it is.
    pub leafnodes_accounts: Vec<(String, Span)>,
    /// `cluster { ... }` (and `--cluster`, `--routes`, ...): this server's routes (see `build_cluster.rs`).
    pub cluster: ClusterSpec,
    /// Where `cluster { routes }` was written (line 0 when not from a file, or replaced by `--routes`),
    /// for the error about routes without a listener. Kept out of [`ClusterSpec`] so that a reload
    /// compares what the block means, not where it is.
    pub cluster_routes_span: Span,
    /// `max_sub_tokens`/`max_subscription_tokens`: most tokens a subscription subject may have
    /// (1..=255). 0 = unlimited (the default). [added by src/config]
    pub max_sub_tokens: u8,
    /// Top-level `tls { ... }`: TLS on the client port (and for `https_port`). None = plain text.
    pub tls: Option<TlsSpec>,
    /// `allow_non_tls`: with `tls`, plain-text clients are accepted on the same port too.
    pub allow_non_tls: bool,
    /// `https_port` / `https: host:port`: monitoring over TLS (with the `tls` block's certificate).
    /// -1 = random. Exclusive with `http_port` in nats-server.
    pub https_host: Option<String>,
    pub https_port: Option<i32>,
}

/// Which I/O backend runs the shards (`runtime` / `--runtime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeChoice {
    /// io_uring when it works on this host (probed at start), else epoll, with a log line saying why.
    #[default]
    Auto,
    /// io_uring only: the start fails when it is unavailable.
    IoUring,
    /// epoll only: io_uring is never touched.
    Epoll,
}

impl RuntimeChoice {
    /// The names `runtime` and `--runtime` accept.
    pub const NAMES: [&'static str; 3] = ["auto", "io_uring", "epoll"];

    pub fn parse(s: &str) -> Option<RuntimeChoice> {
        match s {
            "auto" => Some(RuntimeChoice::Auto),
            "io_uring" => Some(RuntimeChoice::IoUring),
            "epoll" => Some(RuntimeChoice::Epoll),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeChoice::Auto => "auto",
            RuntimeChoice::IoUring => "io_uring",
            RuntimeChoice::Epoll => "epoll",
        }
    }
}

/// nats-server's `tls { ... }` block, as written (files are loaded by `crate::tls::compile`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSpec {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// `certs` / `certificates: [{cert_file, key_file}, ...]` (exclusive with `cert_file`).
    pub certs: Vec<(PathBuf, PathBuf)>,
    pub ca_file: Option<PathBuf>,
    /// `verify` (or implied by `verify_and_map`).
    pub verify: bool,
    /// `verify_and_map`.
    pub map: bool,
    /// `verify_cert_and_check_known_urls` (implies `verify`): a route peer whose certificate names
    /// the host of a configured route URL is admitted (cluster blocks only; an error elsewhere).
    pub check_known_urls: bool,
    /// `insecure` (outgoing connections only; no effect on a listener, as in nats-server).
    pub insecure: bool,
    /// `timeout` (seconds, fractional, or a duration string). None = 2 s.
    pub timeout: Option<Duration>,
    /// `handshake_first` / `first` / `immediate`.
    pub handshake_first: crate::tls::HandshakeFirst,
    /// `cipher_suites`: Go names, as written (empty = the defaults).
    pub cipher_suites: Vec<String>,
    /// `curve_preferences`: Go names, as written (empty = the defaults).
    pub curve_preferences: Vec<String>,
    /// `min_version`: "1.2" or "1.3". None = 1.2.
    pub min_version: Option<String>,
    /// `pinned_certs`: lower-case hex SHA-256 of a peer's SubjectPublicKeyInfo.
    pub pinned_certs: Vec<String>,
    /// `connection_rate_limit`: new TLS connections per second (0 = off).
    pub rate_limit: u64,
    /// `allow_insecure_cipher_suites`.
    pub allow_insecure_cipher_suites: bool,
    /// Where the block is (file errors such as a missing key are reported here, as nats-server does).
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct AuthorizationSpec {
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// `timeout` (int/float seconds or duration string). None = default 2s.
    pub timeout: Option<Duration>,
    /// `users: [...]` — these land in the global account `$G`.
    pub users: Vec<UserSpec>,
    /// `permissions` / `default_permissions` inside `authorization`: defaults for its users.
    pub default_permissions: Option<PermissionsSpec>,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct AccountSpec {
    /// The map key, case-sensitive. `$G` is reserved.
    pub name: String,
    pub users: Vec<UserSpec>,
    pub default_permissions: Option<PermissionsSpec>,
    pub exports: Vec<ExportSpec>,
    pub imports: Vec<ImportSpec>,
    pub mappings: Vec<MappingSpec>,
    pub limits: AccountLimits,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct UserSpec {
    /// `user`/`username`. None for nkey users.
    pub user: Option<String>,
    /// `pass`/`password`: plain text or bcrypt (`$2a$`/`$2b$`/`$2x$`/`$2y$`).
    pub password: Option<String>,
    /// Public user nkey ('U…').
    pub nkey: Option<String>,
    /// `permission|permissions|authorization`. None = use the account's / authorization's default_permissions.
    pub permissions: Option<PermissionsSpec>,
    /// `allowed_connection_types|connection_types|clients` (e.g. "STANDARD"). Empty = all.
    pub allowed_connection_types: Vec<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PermissionsSpec {
    /// `publish`/`pub`. None = unrestricted.
    pub publish: Option<SubjectPermSpec>,
    /// `subscribe`/`sub`. None = unrestricted.
    pub subscribe: Option<SubjectPermSpec>,
    /// `allow_responses` / `publish_allow_responses`.
    pub allow_responses: Option<ResponsePermSpec>,
}

/// A string, a list, or `{allow, deny}`. A plain string or list means `allow`.
/// Entries are subjects, or "subject queue" (space-separated) for queue-qualified subscribe entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubjectPermSpec {
    /// None = no allow list (everything allowed unless denied). Some(empty) = also unrestricted.
    pub allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResponsePermSpec {
    /// Default 1; 0 in config = default; negative = unlimited (stored as -1).
    pub max: i64,
    /// Default 2m; negative = unlimited (stored as Duration::ZERO meaning no expiry).
    pub expires: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Stream,
    Service,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseType {
    #[default]
    Singleton,
    Stream,
    Chunked,
}

#[derive(Debug, Clone)]
pub struct ExportSpec {
    pub kind: ExportKind,
    pub subject: String,
    /// Empty = public.
    pub accounts: Vec<String>,
    pub response_type: ResponseType,
    /// Default 2m.
    pub response_threshold: Duration,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ImportSpec {
    pub kind: ExportKind,
    /// The exporting account.
    pub account: String,
    pub subject: String,
    pub to: Option<String>,
    /// Streams only.
    pub prefix: Option<String>,
    pub share: bool,
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountLimits {
    pub max_connections: Option<i64>,
    pub max_subscriptions: Option<i64>,
    pub max_payload: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct MappingSpec {
    pub source: String,
    /// (destination template, weight in percent). A plain mapping is one destination with weight 100.
    pub destinations: Vec<(String, u8)>,
    pub span: Span,
}

impl Config {
    /// True when a user (by name, or by nkey) of this name is configured anywhere.
    pub fn has_user(&self, name: &str) -> bool {
        let global = self.authorization.iter().flat_map(|a| a.users.iter());
        let in_accounts = self.accounts.iter().flat_map(|a| a.users.iter());
        global
            .chain(in_accounts)
            .any(|u| u.user.as_deref() == Some(name) || u.nkey.as_deref() == Some(name))
            || self
                .authorization
                .as_ref()
                .is_some_and(|a| a.user.as_deref() == Some(name))
    }
}

/// `cluster { ... }`: routes to the other servers of a cluster (see `build_cluster.rs`). Without a
/// listener port there is no cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    /// `name`. None = a random name made at start and announced as dynamic (`cluster_dynamic`).
    pub name: Option<String>,
    /// `host`/`listen`/`net`: the route listener's interface. Default `0.0.0.0`.
    pub host: String,
    /// `port`/`listen`: the route listener's port. None = no cluster at all; Some(0) = a random port
    /// (`-1` in the file or on the command line).
    pub port: Option<u16>,
    /// `advertise`/`cluster_advertise`: `host:port` told to peers instead of the listener's address.
    pub advertise: Option<String>,
    /// `no_advertise`: clients are not told the other servers' URLs, and ours are not offered.
    pub no_advertise: bool,
    /// `routes`: route URLs as written, trimmed (`nats-route://` or `nats://`, optional `user:pass@`);
    /// each has a host, a port 1..=65535 and a scheme `crate::leaf::url::RemoteUrl` reads (checked by
    /// `build_cluster::check_route_url`). Non-empty only with a listener `port`.
    pub routes: Vec<String>,
    /// `authorization { user, password }`: what a peer's CONNECT must carry.
    pub user: Option<String>,
    pub password: Option<String>,
    /// `authorization { timeout }`: how long a peer has for its CONNECT. None = 2 s.
    pub auth_timeout: Option<Duration>,
    /// `tls {}`: TLS on every route, both directions, from the first byte (mutual: each side
    /// presents its certificate and checks the other's against `ca_file`). None = plain routes.
    pub tls: Option<TlsSpec>,
    /// `connect_retries`: how many times a failed dial of an implicit (gossiped) route is retried, one
    /// second apart, before it is given up; 0 (the default) = one attempt only. Explicit routes
    /// (`routes`) are retried forever whatever it says (nats-server's `connectToRoute`).
    pub connect_retries: u32,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            name: None,
            host: "0.0.0.0".into(),
            port: None,
            advertise: None,
            no_advertise: false,
            routes: Vec::new(),
            user: None,
            password: None,
            auth_timeout: None,
            tls: None,
            connect_retries: 0,
        }
    }
}

/// `leafnodes { ... }`: the soliciting side (`remotes`) and the accepting side (see `build_leaf.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct LeafSpec {
    pub remotes: Vec<RemoteLeafSpec>,
    /// `reconnect`/`reconnect_delay`: wait between attempts (plus up to 1 s of jitter). Default 1s.
    pub reconnect: Duration,
    /// `dial_timeout`: how long one dial may take. Default 1s (nats-server's).
    pub dial_timeout: Duration,
    /// The accepting side (corenats as a hub): `port`/`listen`. None = no leaf-node listener (no
    /// port, or `port: 0`, as in nats-server); Some(0) = a random port (`-1`).
    pub port: Option<u16>,
    /// `host`/`listen`/`net`: the leaf listener's interface. Default `0.0.0.0`.
    pub host: String,
    /// `advertise`/`leafnode_advertise`: `host:port` told to leaf nodes (`leafnode_urls`) instead
    /// of the listener's address.
    pub advertise: Option<String>,
    /// `no_advertise`: our leaf URL is not offered to route peers (nothing else changes here).
    pub no_advertise: bool,
    /// `authorization { user, password, account }` (one user) or `authorization { users: [...] }`:
    /// who may attach as a leaf node and which account each binds. Empty = the client logins
    /// (`authorization`/`accounts` users) apply, as nats-server does.
    pub users: Vec<LeafUserSpec>,
    /// `authorization { account }` without `user`: the account a leaf node binds when `users` is
    /// empty and the server requires no client login (None = `$G`). When client logins are required,
    /// a leaf node logs in as a client and binds that user's account (`no_auth_user` included), as in
    /// nats-server's `isLeafNodeAuthorized`. Set to None (with a warning) when `users` is not empty.
    pub default_account: Option<String>,
    /// `authorization { timeout }`: how long a leaf node has for its CONNECT. None = 2 s.
    pub auth_timeout: Option<Duration>,
    /// The accepting side's `tls {}` (leaf nodes upgrade after our INFO, or before it with
    /// `handshake_first`). None = plain text.
    pub tls: Option<TlsSpec>,
}

/// One leaf-node user of `leafnodes { authorization }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeafUserSpec {
    pub user: String,
    /// Plain text or a bcrypt hash (`$2a$…`), as a client user's.
    pub password: String,
    /// The local account the leaf binds. None = `$G`.
    pub account: Option<String>,
}

impl Default for LeafSpec {
    fn default() -> Self {
        LeafSpec {
            remotes: Vec::new(),
            reconnect: Duration::from_secs(1),
            dial_timeout: Duration::from_secs(1),
            port: None,
            host: "0.0.0.0".into(),
            advertise: None,
            no_advertise: false,
            users: Vec::new(),
            default_account: None,
            auth_timeout: None,
            tls: None,
        }
    }
}

/// One `remotes` entry: a hub to dial, and the local account the link binds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteLeafSpec {
    /// `url`/`urls`, as written (`nats-leaf://user:pass@host:7422`); tried in order.
    pub urls: Vec<String>,
    /// `account`/`local`: the local account bridged. None = `$G`.
    pub account: Option<String>,
    /// Subjects the hub's messages may not bring in (no interest sent for them either).
    pub deny_imports: Vec<String>,
    /// Subjects never sent to the hub.
    pub deny_exports: Vec<String>,
    /// `disabled: true`: configured but not dialled.
    pub disabled: bool,
    /// `dial_timeout` of this remote (else the block's).
    pub dial_timeout: Option<Duration>,
    /// `nkey`/`seed`: a user nkey seed that signs the hub's nonce.
    pub nkey_seed: Option<String>,
    /// `credentials`/`creds`: a user JWT and seed file (read at each dial).
    pub credentials: Option<PathBuf>,
    /// `tls { ... }`: TLS to the hub (also used, with the system's roots, when the hub requires TLS
    /// and the remote has no block).
    pub tls: Option<TlsSpec>,
    pub span: Span,
}
