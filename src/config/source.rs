//! Where the configuration in force comes from: a file (or none) and the command-line settings applied
//! over it, which win, as in nats-server. Start-up, `-t` and every reload load through
//! [`Source::load`], so the three can never disagree about what the configuration is.

use super::schema::AuthorizationSpec;
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
    pub jetstream: bool,
    /// `--user`, `--pass`, `--auth`: the single authorization user, its password, or the token.
    pub user: Option<String>,
    pub pass: Option<String>,
    pub token: Option<String>,
}

impl Overrides {
    /// Writes the given settings over `cfg`.
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
        cfg.jetstream |= self.jetstream;
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
        let errors = loaded.config.validate();
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
    fn no_file_is_nats_servers_defaults() {
        let s = Source::default();
        let l = s.load(Strictness::Start).unwrap();
        assert_eq!(l.config.port, 4222);
        assert!(l.digest.is_empty());
    }
}
