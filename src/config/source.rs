//! Where the configuration in force comes from: a file (or none) and the command-line settings applied
//! over it, which win, as in nats-server. Start-up, `-t` and every reload load through
//! [`Source::load`], so the three can never disagree about what the configuration is.

use super::build_cluster;
use super::schema::{AuthorizationSpec, Span, TlsSpec};
use super::{load_file, Config, ConfigError, Diagnostic, Loaded, Severity, Strictness};
use std::path::PathBuf;

/// Settings given on the command line (nats-server's flags); `None`/`false` = not given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub host: Option<String>,
    pub port: Option<i32>,
    pub server_name: Option<String>,
    pub http_port: Option<i32>,
    pub log_file: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub debug: bool,
    pub trace: bool,
    pub logtime: Option<bool>,
    pub cores: Option<usize>,
    /// `--runtime auto|io_uring|epoll`.
    pub runtime: Option<super::schema::RuntimeChoice>,
    pub jetstream: bool,
    /// `--user`, `--pass`, `--auth`: the single authorization user, its password, or the token.
    pub user: Option<String>,
    pub pass: Option<String>,
    pub token: Option<String>,
    /// `--https_port` / `-ms`.
    pub https_port: Option<i32>,
    /// `--tls` (`Some(false)`: `--tls=false`, which turns off the file's `tls {}` and every other
    /// TLS flag, as in nats-server).
    pub tls: Option<bool>,
    /// `--tlscert`, `--tlskey`, `--tlscacert`, `--tlsverify`: any of them (or `--tls`) replaces the
    /// file's certificate settings with these (see [`Overrides::apply`]).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_ca_cert: Option<PathBuf>,
    pub tls_verify: Option<bool>,
    /// `--cluster URL` / `--cluster_listen URL`: the route listener (`nats://[user:pass@]host:port`, port
    /// -1 random). `Some("")` turns the file's cluster off.
    pub cluster: Option<String>,
    /// `--cluster_name` (`Some("")`: a dynamic name).
    pub cluster_name: Option<String>,
    /// `--cluster_advertise HOST[:PORT]` (`Some("")`: none).
    pub cluster_advertise: Option<String>,
    /// `--routes url1,url2`: replaces the file's routes (`Some("")`: none).
    pub routes: Option<String>,
    /// `--no_advertise[=BOOL]`.
    pub no_advertise: Option<bool>,
    /// `--connect_retries N` (a negative N is 0, as in nats-server).
    pub connect_retries: Option<i64>,
}

/// What the TLS flags ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsFlags {
    /// None given: the file decides.
    None,
    /// `--tls=false`: no TLS, whatever else is given.
    Off,
    /// `--tls` or any `--tls*` flag: TLS with the certificate from the flags.
    Replace,
}

impl Overrides {
    fn tls_flags(&self) -> TlsFlags {
        if self.tls == Some(false) {
            return TlsFlags::Off;
        }
        let any = self.tls.is_some()
            || self.tls_cert.is_some()
            || self.tls_key.is_some()
            || self.tls_ca_cert.is_some()
            || self.tls_verify.is_some();
        if any {
            TlsFlags::Replace
        } else {
            TlsFlags::None
        }
    }

    /// What is wrong with the flags on their own: TLS flags without a certificate and key
    /// (nats-server's `overrideTLS` texts); a `--cluster` URL, `--routes` URL, `--cluster_name` or
    /// `--cluster_advertise` nats-server would refuse.
    pub fn check(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if let Some(l) = self.cluster.as_deref().filter(|l| !l.is_empty()) {
            if let Err(e) = build_cluster::listen_flag(l) {
                out.push(Diagnostic::unplaced(e));
            }
        }
        if self
            .cluster_name
            .as_deref()
            .is_some_and(|n| n.contains(' '))
        {
            out.push(Diagnostic::unplaced(build_cluster::NAME_HAS_SPACES));
        }
        if let Some(a) = &self.cluster_advertise {
            if let Err(e) = build_cluster::check_advertise(a) {
                out.push(Diagnostic::unplaced(e));
            }
        }
        for url in self
            .routes
            .iter()
            .flat_map(|r| build_cluster::routes_flag(r))
        {
            if let Err(e) = build_cluster::check_route_url(&url) {
                out.push(Diagnostic::unplaced(e));
            }
        }
        if self.tls_flags() == TlsFlags::Replace {
            if self.tls_cert.is_none() {
                out.push(Diagnostic::unplaced(
                    "TLS Server certificate must be present and valid",
                ));
            } else if self.tls_key.is_none() {
                out.push(Diagnostic::unplaced(
                    "TLS Server private key must be present and valid",
                ));
            }
        }
        out
    }

    /// Writes the given settings over `cfg`.
    ///
    /// TLS flags, as nats-server's `overrideTLS`: the certificate, key, CA and `verify` come from the
    /// flags alone (suites, curves, `min_version` back to their defaults); the block's `timeout`,
    /// `handshake_first`, `verify_and_map`, `pinned_certs` and `connection_rate_limit` stay, as they
    /// are separate options there. Flags without a certificate and key change nothing ([`check`]
    /// reports them).
    ///
    /// [`check`]: Overrides::check
    pub fn apply(&self, cfg: &mut Config) {
        if let Some(h) = &self.host {
            cfg.host = h.clone();
        }
        if let Some(p) = self.port {
            cfg.port = p;
        }
        if let Some(n) = &self.server_name {
            cfg.server_name = Some(n.clone());
        }
        if let Some(p) = self.http_port {
            cfg.http_port = Some(p);
        }
        if let Some(p) = self.https_port {
            cfg.https_port = Some(p);
        }
        match self.tls_flags() {
            TlsFlags::None => {}
            TlsFlags::Off => cfg.tls = None,
            TlsFlags::Replace => {
                if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
                    let kept = cfg.tls.take().unwrap_or_default();
                    cfg.tls = Some(TlsSpec {
                        cert_file: Some(cert.clone()),
                        key_file: Some(key.clone()),
                        ca_file: self.tls_ca_cert.clone(),
                        verify: self.tls_verify.unwrap_or(false),
                        map: kept.map,
                        timeout: kept.timeout,
                        handshake_first: kept.handshake_first,
                        pinned_certs: kept.pinned_certs,
                        rate_limit: kept.rate_limit,
                        ..TlsSpec::default()
                    });
                }
            }
        }
        if let Some(l) = &self.log_file {
            cfg.log_file = Some(l.clone());
        }
        if let Some(p) = &self.pid_file {
            cfg.pid_file = Some(p.clone());
        }
        cfg.debug |= self.debug;
        cfg.trace |= self.trace;
        if let Some(t) = self.logtime {
            cfg.logtime = t;
        }
        if let Some(c) = self.cores {
            cfg.cores = Some(c);
        }
        if let Some(r) = self.runtime {
            cfg.runtime = r;
        }
        cfg.jetstream |= self.jetstream;
        self.apply_cluster(cfg);
        if self.user.is_some() || self.pass.is_some() || self.token.is_some() {
            let a = cfg
                .authorization
                .get_or_insert_with(AuthorizationSpec::default);
            if let Some(u) = &self.user {
                a.user = Some(u.clone());
            }
            if let Some(p) = &self.pass {
                a.password = Some(p.clone());
            }
            if let Some(t) = &self.token {
                a.token = Some(t.clone());
            }
        }
    }
}

impl Overrides {
    /// The cluster flags, as nats-server applies them over the file: each given flag replaces the
    /// file's setting. `--cluster URL` sets the listener's host and port and the cluster user and
    /// password from the URL (without a `user:pass@`, the file's user and password are dropped);
    /// `--cluster ""` turns the listener off. A flag [`Overrides::check`] refuses changes nothing.
    fn apply_cluster(&self, cfg: &mut Config) {
        let c = &mut cfg.cluster;
        match self.cluster.as_deref() {
            Some("") => c.port = None,
            Some(l) => {
                if let Ok(f) = build_cluster::listen_flag(l) {
                    c.host = f.host;
                    c.port = f.port;
                    c.user = f.user;
                    c.password = f.password;
                }
            }
            None => {}
        }
        if let Some(n) = &self.cluster_name {
            c.name = (!n.is_empty()).then(|| n.clone());
        }
        if let Some(a) = &self.cluster_advertise {
            c.advertise = (!a.is_empty()).then(|| a.clone());
        }
        if let Some(b) = self.no_advertise {
            c.no_advertise = b;
        }
        if let Some(n) = self.connect_retries {
            c.connect_retries = build_cluster::connect_retries(n);
        }
        if let Some(r) = &self.routes {
            c.routes = build_cluster::routes_flag(r);
            cfg.cluster_routes_span = Span::default();
        }
    }
}

/// A configuration file (or none: nats-server's defaults) and the command-line settings over it.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub path: Option<PathBuf>,
    pub overrides: Overrides,
}

impl Source {
    /// Reads the file (if any), applies the command-line settings, and checks the rules that join
    /// several settings ([`Config::validate`]). On failure the error keeps the configuration as far as
    /// it was built, with the overrides applied, so accounts and users can be checked in the same run.
    pub fn load(&self, strictness: Strictness) -> Result<Loaded, ConfigError> {
        let mut loaded = match &self.path {
            Some(p) => load_file(p, strictness).map_err(|mut e| {
                if let Some(partial) = e.partial.as_mut() {
                    self.overrides.apply(partial);
                }
                e
            })?,
            None => Loaded {
                config: Config::default(),
                warnings: Vec::new(),
                digest: String::new(),
            },
        };
        self.overrides.apply(&mut loaded.config);
        let mut errors = self.overrides.check();
        errors.extend(loaded.config.validate());
        if !errors.is_empty() {
            return Err(ConfigError {
                diagnostics: errors,
                partial: Some(Box::new(loaded.config)),
            });
        }
        Ok(loaded)
    }
}

impl Config {
    /// The rules that join several settings (checked after the command line is applied, so a flag
    /// that breaks one is caught as well as a file that does).
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if i64::from(self.max_payload) > self.max_pending {
            out.push(Diagnostic {
                span: self.max_payload_span.clone(),
                message: format!(
                    "max_payload ({}) cannot be higher than max_pending ({})",
                    self.max_payload, self.max_pending
                ),
                severity: Severity::Error,
            });
        }
        // nats-server checks these when the monitor starts; here `-t` catches them too.
        let http = self.http_port.filter(|p| *p != 0);
        let https = self.https_port.filter(|p| *p != 0);
        if let (Some(http), Some(https)) = (http, https) {
            out.push(Diagnostic::unplaced(format!(
                "can't specify both HTTP ({http}) and HTTPs ({https}) ports"
            )));
        } else if https.is_some() && self.tls.is_none() {
            out.push(Diagnostic::unplaced("TLS cert and key required for HTTPS"));
        }
        // nats-server refuses `--routes` without a listener, and never dials a file's routes without one.
        if !self.cluster.routes.is_empty() && self.cluster.port.is_none() {
            out.push(Diagnostic::error(
                &self.cluster_routes_span,
                build_cluster::ROUTES_WITHOUT_LISTENER,
            ));
        }
        // nats-server retries such a remote forever ("Unable to lookup account"); with accounts from
        // the config file it can never succeed, so it is an error here.
        for r in &self.leafnodes.remotes {
            let name = r.account.as_deref().unwrap_or("$G");
            if name != "$G" && !self.accounts.iter().any(|a| a.name == name) {
                out.push(Diagnostic {
                    span: r.span.clone(),
                    message: format!("leafnode remote account {name:?} is not defined"),
                    severity: Severity::Error,
                });
            }
        }
        // nats-server's check of the accept side's accounts (`validateLeafNode`): `$G`, and `$SYS`
        // when it is the system account corenats creates.
        let implicit_sys = self.system_account.is_none() && !self.no_system_account;
        for (name, span) in &self.leafnodes_accounts {
            let exists = name == "$G"
                || (implicit_sys && name == crate::auth::SYSTEM_ACCOUNT_NAME)
                || self.accounts.iter().any(|a| &a.name == name);
            if !exists {
                out.push(Diagnostic::error(
                    span,
                    format!(
                        "cannot find local account {name:?} specified in leafnode authorization"
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Span;

    #[test]
    fn command_line_settings_win_and_are_validated() {
        let mut cfg = Config::default();
        let o = Overrides {
            port: Some(-1),
            user: Some("u".into()),
            pass: Some("p".into()),
            debug: true,
            ..Overrides::default()
        };
        o.apply(&mut cfg);
        assert_eq!(cfg.port, -1);
        assert!(cfg.debug);
        let a = cfg.authorization.as_ref().unwrap();
        assert_eq!(
            (a.user.as_deref(), a.password.as_deref()),
            (Some("u"), Some("p"))
        );
        assert!(cfg.validate().is_empty());
        cfg.max_pending = 10;
        cfg.max_payload_span = Span {
            file: "x.conf".into(),
            line: 3,
            col: 1,
        };
        let errs = cfg.validate();
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "x.conf:3:1: max_payload (1048576) cannot be higher than max_pending (10)"
        );
    }

    #[test]
    fn tls_flags_replace_the_files_certificate() {
        let mut cfg = Config {
            tls: Some(TlsSpec {
                cert_file: Some("file.pem".into()),
                key_file: Some("file.key".into()),
                cipher_suites: vec!["TLS_AES_128_GCM_SHA256".into()],
                timeout: Some(std::time::Duration::from_secs(5)),
                map: true,
                ..TlsSpec::default()
            }),
            ..Config::default()
        };
        let o = Overrides {
            tls_cert: Some("flag.pem".into()),
            tls_key: Some("flag.key".into()),
            tls_verify: Some(true),
            ..Overrides::default()
        };
        assert!(o.check().is_empty());
        o.apply(&mut cfg);
        let t = cfg.tls.as_ref().unwrap();
        assert_eq!(
            t.cert_file.as_deref(),
            Some(std::path::Path::new("flag.pem"))
        );
        assert!(t.verify && t.map && t.cipher_suites.is_empty());
        assert_eq!(t.timeout, Some(std::time::Duration::from_secs(5)));
        assert_eq!(t.span, Span::default());
        // `--tls=false` wins over everything.
        let off = Overrides {
            tls: Some(false),
            tls_cert: Some("flag.pem".into()),
            ..Overrides::default()
        };
        assert!(off.check().is_empty());
        off.apply(&mut cfg);
        assert!(cfg.tls.is_none());
        // Any TLS flag needs both files, whatever the file says.
        let texts =
            |o: Overrides| -> Vec<String> { o.check().iter().map(|d| d.to_string()).collect() };
        assert_eq!(
            texts(Overrides {
                tls: Some(true),
                ..Overrides::default()
            }),
            ["TLS Server certificate must be present and valid"]
        );
        assert_eq!(
            texts(Overrides {
                tls_cert: Some("c".into()),
                ..Overrides::default()
            }),
            ["TLS Server private key must be present and valid"]
        );
    }

    #[test]
    fn http_and_https_are_exclusive_and_https_needs_tls() {
        let mut cfg = Config {
            https_port: Some(8443),
            ..Config::default()
        };
        let texts =
            |c: &Config| -> Vec<String> { c.validate().iter().map(|d| d.to_string()).collect() };
        assert_eq!(texts(&cfg), ["TLS cert and key required for HTTPS"]);
        cfg.tls = Some(TlsSpec::default());
        assert!(texts(&cfg).is_empty());
        cfg.http_port = Some(-1);
        assert_eq!(
            texts(&cfg),
            ["can't specify both HTTP (-1) and HTTPs (8443) ports"]
        );
        cfg.http_port = Some(0);
        assert!(texts(&cfg).is_empty());
    }

    #[test]
    fn no_file_is_nats_servers_defaults() {
        let s = Source::default();
        let l = s.load(Strictness::Start).unwrap();
        assert_eq!(l.config.port, 4222);
        assert!(l.digest.is_empty());
    }
}
