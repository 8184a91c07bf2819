//! Signals, handled on one plain thread outside the executors (as nats-server: SIGINT/SIGTERM stop,
//! SIGHUP reloads the configuration, SIGUSR1 reopens the log file, SIGUSR2 enters lame duck mode),
//! and `--signal CMD=PID`.

use crate::auth::Auth;
use crate::bus::{Bus, Control};
use crate::config;
use crate::settings::Settings;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::Signals;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

/// What a reload replaces: the settings the shards run with, and the configuration they came from
/// (kept to refuse changes that cannot apply at run time).
pub struct Live {
    pub settings: Arc<Settings>,
    pub auth: Arc<Auth>,
    pub config: config::Config,
    /// The HTTPS monitor's certificate holder (with `https_port`): a reload puts the new certificate
    /// in it for the next connections.
    pub https: Option<crate::monitor::https::HttpsConfig>,
}

pub fn spawn(bus: Bus, source: config::Source, live: Live) -> Result<(), String> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut live = live;
            let mut lame_duck = false;
            for sig in signals.forever() {
                match sig {
                    SIGINT | SIGTERM => {
                        if sig == SIGTERM && lame_duck {
                            continue;
                        }
                        let name = if sig == SIGINT {
                            "interrupt"
                        } else {
                            "terminated"
                        };
                        tracing::info!("Trapped {:?} signal", name);
                        bus.broadcast_control(|| Control::Shutdown);
                        return;
                    }
                    SIGUSR1 => match crate::logging::reopen() {
                        crate::logging::Reopen::Reopened => tracing::info!("File log re-opened"),
                        crate::logging::Reopen::NotAFileLogger => {
                            tracing::info!("File log re-open ignored, not a file logger")
                        }
                        crate::logging::Reopen::Failed(e) => tracing::error!("{e}"),
                    },
                    SIGUSR2 => {
                        tracing::info!("Entering lame duck mode, stop accepting new clients");
                        lame_duck = true;
                        bus.broadcast_control(|| Control::LameDuck);
                    }
                    SIGHUP => {
                        tracing::info!("Trapped \"hangup\" signal");
                        match reload(&source, &live) {
                            Ok((new_live, digest)) => {
                                live = new_live;
                                if let (Some(h), Some(t)) = (&live.https, &live.settings.tls) {
                                    h.replace(t.https.clone());
                                }
                                let (r, a) = (live.settings.clone(), live.auth.clone());
                                let round = Arc::new(AtomicUsize::new(bus.nr_shards()));
                                bus.broadcast_control(|| {
                                    Control::Reload(r.clone(), a.clone(), round.clone())
                                });
                                tracing::info!("Reloaded server configuration ({digest})");
                            }
                            Err(e) => {
                                tracing::error!("Failed to reload server configuration: {e}");
                            }
                        }
                    }
                    _ => {}
                }
            }
        })
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    Ok(())
}

/// Re-reads the configuration; all or nothing. Settings that cannot change at run time are refused
/// with nats-server's message (its option names), and then nothing changes.
fn reload(source: &config::Source, live: &Live) -> Result<(Live, String), String> {
    let loaded = source
        .load(config::Strictness::Start)
        .map_err(|e| crate::auth::load_error_report(&e, |_| {}))?;
    let (cfg, digest) = (loaded.config, loaded.digest);
    not_reloadable(&live.config, &cfg)?;
    let settings = &live.settings;
    let mut new_settings = Settings::from_config(&cfg, &settings.server_id, settings.port);
    new_settings.config_digest = digest.clone();
    let new_auth =
        Auth::compile(&cfg, Some(&live.auth)).map_err(|mut e| crate::auth::report(&mut e))?;
    // New connections get the new certificates; live ones keep their sessions.
    new_settings.tls = crate::tls::compile::for_config(&cfg).map_err(|d| d.to_string())?;
    let new_live = Live {
        settings: Arc::new(new_settings),
        auth: Arc::new(new_auth),
        config: cfg,
        https: live.https.clone(),
    };
    Ok((new_live, digest))
}

/// The first setting that differs between `old` and `new` but cannot change while the server runs.
fn not_reloadable(old: &config::Config, new: &config::Config) -> Result<(), String> {
    fn refuse(name: &str, old: impl std::fmt::Display, new: impl std::fmt::Display) -> String {
        format!("config reload not supported for {name}: old={old}, new={new}")
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let go = config::go_duration;
    leaf_not_reloadable(&old.leafnodes, &new.leafnodes)?;
    cluster_not_reloadable(&old.cluster, &new.cluster)?;
    if old.host != new.host {
        return Err(refuse("Host", &old.host, &new.host));
    }
    if old.port != new.port {
        return Err(refuse("Port", old.port, new.port));
    }
    if old.server_name != new.server_name {
        return Err(refuse(
            "ServerName",
            text(&old.server_name),
            text(&new.server_name),
        ));
    }
    if old.system_account != new.system_account {
        return Err(refuse(
            "SystemAccount",
            text(&old.system_account),
            text(&new.system_account),
        ));
    }
    // Removing no_auth_user is allowed when its user is gone too (nats-server's rule).
    let dropped_with_user = new.no_auth_user.is_none()
        && old
            .no_auth_user
            .as_deref()
            .is_some_and(|u| !new.has_user(u));
    if old.no_auth_user != new.no_auth_user && !dropped_with_user {
        return Err(refuse(
            "NoAuthUser",
            text(&old.no_auth_user),
            text(&new.no_auth_user),
        ));
    }
    if old.http_host != new.http_host {
        return Err(refuse(
            "HTTPHost",
            text(&old.http_host),
            text(&new.http_host),
        ));
    }
    if old.http_port != new.http_port {
        let port = |p: Option<i32>| p.unwrap_or(0);
        return Err(refuse("HTTPPort", port(old.http_port), port(new.http_port)));
    }
    if old.https_host != new.https_host {
        return Err(refuse(
            "HTTPHost",
            text(&old.https_host),
            text(&new.https_host),
        ));
    }
    if old.https_port != new.https_port {
        let port = |p: Option<i32>| p.unwrap_or(0);
        return Err(refuse(
            "HTTPSPort",
            port(old.https_port),
            port(new.https_port),
        ));
    }
    // The TLS configuration, its timeout, pinned certificates and handshake-first mode reload (as in
    // nats-server); these do not.
    if old.allow_non_tls != new.allow_non_tls {
        return Err(refuse("AllowNonTLS", old.allow_non_tls, new.allow_non_tls));
    }
    let map = |c: &config::Config| c.tls.as_ref().is_some_and(|t| t.map);
    if map(old) != map(new) {
        return Err(refuse("TLSMap", map(old), map(new)));
    }
    let rate = |c: &config::Config| c.tls.as_ref().map_or(0, |t| t.rate_limit);
    if rate(old) != rate(new) {
        return Err(refuse("TLSRateLimit", rate(old), rate(new)));
    }
    if old.lame_duck_duration != new.lame_duck_duration {
        return Err(refuse(
            "LameDuckDuration",
            go(old.lame_duck_duration),
            go(new.lame_duck_duration),
        ));
    }
    if old.max_pending != new.max_pending {
        return Err(refuse("MaxPending", old.max_pending, new.max_pending));
    }
    if old.max_subscriptions != new.max_subscriptions {
        return Err(refuse(
            "MaxSubs",
            old.max_subscriptions,
            new.max_subscriptions,
        ));
    }
    // corenats' own: the shards and their spinning are set up once.
    if old.cores != new.cores {
        let n = |c: Option<usize>| c.map(|c| c.to_string()).unwrap_or_default();
        return Err(refuse("cores", n(old.cores), n(new.cores)));
    }
    if old.bus_spin != new.bus_spin {
        return Err(refuse("bus_spin", go(old.bus_spin), go(new.bus_spin)));
    }
    if old.runtime != new.runtime {
        return Err(refuse(
            "runtime",
            old.runtime.as_str(),
            new.runtime.as_str(),
        ));
    }
    Ok(())
}

/// The `cluster` block (and its flags) is set up once at start. A change of the listener is refused with
/// nats-server's own text (`validateClusterOpts`); nats-server applies the other changes at run time,
/// corenats refuses them too, naming the setting (the password is never printed).
/// A changed `leafnodes` block refuses the reload: corenats dials its remotes and opens its leaf
/// listener once, at start (nats-server refuses a change of the listener and its authorization too).
fn leaf_not_reloadable(old: &config::LeafSpec, new: &config::LeafSpec) -> Result<(), String> {
    fn refuse(name: &str, old: impl std::fmt::Display, new: impl std::fmt::Display) -> String {
        format!("config reload not supported for LeafNode {name}: old={old}, new={new}")
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    // nats-server's port as configured: 0 = no listener, -1 = random.
    let port = |p: Option<u16>| match p {
        None => 0,
        Some(0) => -1,
        Some(p) => i32::from(p),
    };
    if old.host != new.host {
        return Err(refuse("host", &old.host, &new.host));
    }
    if old.port != new.port {
        return Err(refuse("port", port(old.port), port(new.port)));
    }
    if old.advertise != new.advertise {
        return Err(refuse(
            "advertise",
            text(&old.advertise),
            text(&new.advertise),
        ));
    }
    if old.no_advertise != new.no_advertise {
        return Err(refuse("no_advertise", old.no_advertise, new.no_advertise));
    }
    if old.users != new.users || old.default_account != new.default_account {
        // Passwords are not printed.
        let who = |l: &config::LeafSpec| match (l.users.len(), &l.default_account) {
            (0, None) => "none".to_string(),
            (0, Some(a)) => format!("account {a:?}"),
            (n, _) => format!("{n} users"),
        };
        return Err(refuse("authorization", who(old), who(new)));
    }
    if old.auth_timeout != new.auth_timeout {
        let t = |d: Option<std::time::Duration>| d.map(config::go_duration).unwrap_or_default();
        return Err(refuse(
            "authorization timeout",
            t(old.auth_timeout),
            t(new.auth_timeout),
        ));
    }
    if old != new {
        return Err(format!(
            "config reload not supported for LeafNode: old={} remotes, new={} remotes",
            old.remotes.len(),
            new.remotes.len()
        ));
    }
    Ok(())
}

fn cluster_not_reloadable(
    old: &config::ClusterSpec,
    new: &config::ClusterSpec,
) -> Result<(), String> {
    fn refuse(name: &str, old: impl std::fmt::Display, new: impl std::fmt::Display) -> String {
        format!("config reload not supported for cluster {name}: old={old}, new={new}")
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    // nats-server's port as configured: 0 = no cluster, -1 = random.
    let port = |p: Option<u16>| match p {
        None => 0,
        Some(0) => -1,
        Some(p) => i32::from(p),
    };
    if old.host != new.host {
        return Err(refuse("host", &old.host, &new.host));
    }
    if old.port != new.port {
        return Err(refuse("port", port(old.port), port(new.port)));
    }
    if old.name != new.name {
        return Err(refuse("name", text(&old.name), text(&new.name)));
    }
    if old.advertise != new.advertise {
        return Err(refuse(
            "advertise",
            text(&old.advertise),
            text(&new.advertise),
        ));
    }
    if old.no_advertise != new.no_advertise {
        return Err(refuse("no_advertise", old.no_advertise, new.no_advertise));
    }
    if old.routes != new.routes {
        // The URLs may hold passwords: counted, not printed.
        return Err(refuse(
            "routes",
            format!("{} routes", old.routes.len()),
            format!("{} routes", new.routes.len()),
        ));
    }
    if old.user != new.user || old.password != new.password {
        let who = |c: &config::ClusterSpec| match (&c.user, &c.password) {
            (None, None) => "none".to_string(),
            (u, _) => format!("user {:?}", text(u)),
        };
        return Err(refuse("authorization", who(old), who(new)));
    }
    if old.auth_timeout != new.auth_timeout {
        let t = |d: Option<std::time::Duration>| d.map(config::go_duration).unwrap_or_default();
        return Err(refuse(
            "authorization timeout",
            t(old.auth_timeout),
            t(new.auth_timeout),
        ));
    }
    if old.connect_retries != new.connect_retries {
        return Err(refuse(
            "connect_retries",
            old.connect_retries,
            new.connect_retries,
        ));
    }
    // Compiled once, when the cluster starts (where the block is written does not count).
    let tls = |c: &config::ClusterSpec| {
        c.tls.clone().map(|t| config::TlsSpec {
            span: Default::default(),
            ..t
        })
    };
    if tls(old) != tls(new) {
        let on = |c: &config::ClusterSpec| if c.tls.is_some() { "on" } else { "off" };
        return Err(match (&old.tls, &new.tls) {
            (Some(_), Some(_)) => {
                "config reload not supported for cluster tls: the block changed".to_string()
            }
            _ => refuse("tls", on(old), on(new)),
        });
    }
    Ok(())
}

/// `--signal CMD[=PID|PIDFILE]`: sends the matching signal to a running server.
pub fn send(cmd: &str) -> Result<(), String> {
    let (name, target) = match cmd.split_once('=') {
        Some((n, t)) => (n, Some(t)),
        None => (cmd, None),
    };
    let sig = match name {
        "stop" => libc::SIGKILL,
        "quit" => libc::SIGINT,
        "term" => libc::SIGTERM,
        "reopen" => libc::SIGUSR1,
        "reload" => libc::SIGHUP,
        "ldm" => libc::SIGUSR2,
        other => return Err(format!("unknown signal \"{other}\"")),
    };
    let pid: i32 = match target {
        Some(t) => match t.parse() {
            Ok(p) => p,
            Err(_) => std::fs::read_to_string(t)
                .map_err(|e| format!("could not read pid file {t:?}: {e}"))?
                .trim()
                .parse()
                .map_err(|_| format!("invalid pid in {t:?}"))?,
        },
        None => return Err("no pid given: use --signal CMD=PID".into()),
    };
    // SAFETY: kill(2) with a pid and a signal number.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc != 0 {
        return Err(format!(
            "could not send signal to pid {pid}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, TlsSpec};

    /// A changed `cluster` block refuses the reload, the listener with nats-server's own text.
    #[test]
    fn cluster_changes_do_not_reload() {
        let with = |f: fn(&mut config::ClusterSpec)| {
            let mut c = Config::default();
            f(&mut c.cluster);
            c
        };
        let old = with(|c| {
            c.port = Some(6222);
            c.routes = vec!["nats-route://u:secret@h:6222".into()];
            c.user = Some("u".into());
            c.password = Some("p".into());
        });
        assert_eq!(not_reloadable(&old, &old.clone()), Ok(()));
        // Where the block is written does not matter.
        let mut moved = old.clone();
        moved.cluster_routes_span.line = 7;
        assert_eq!(not_reloadable(&old, &moved), Ok(()));
        let refused = |f: fn(&mut config::ClusterSpec)| {
            let mut new = old.clone();
            f(&mut new.cluster);
            not_reloadable(&old, &new).unwrap_err()
        };
        assert_eq!(
            refused(|c| c.port = Some(0)),
            "config reload not supported for cluster port: old=6222, new=-1"
        );
        assert_eq!(
            not_reloadable(&Config::default(), &old).unwrap_err(),
            "config reload not supported for cluster port: old=0, new=6222"
        );
        assert_eq!(
            refused(|c| c.host = "127.0.0.1".into()),
            "config reload not supported for cluster host: old=0.0.0.0, new=127.0.0.1"
        );
        assert_eq!(
            refused(|c| c.routes.clear()),
            "config reload not supported for cluster routes: old=1 routes, new=0 routes"
        );
        assert_eq!(
            refused(|c| c.tls = Some(TlsSpec::default())),
            "config reload not supported for cluster tls: old=off, new=on"
        );
        let mut with_tls = old.clone();
        with_tls.cluster.tls = Some(TlsSpec::default());
        let mut moved = with_tls.clone();
        moved.cluster.tls.as_mut().unwrap().span.line = 9;
        assert_eq!(not_reloadable(&with_tls, &moved), Ok(()));
        moved.cluster.tls.as_mut().unwrap().insecure = true;
        assert_eq!(
            not_reloadable(&with_tls, &moved).unwrap_err(),
            "config reload not supported for cluster tls: the block changed"
        );
        let text = refused(|c| c.password = Some("other".into()));
        assert_eq!(
            text,
            "config reload not supported for cluster authorization: old=user \"u\", new=user \"u\""
        );
        assert!(refused(|c| c.name = Some("C".into())).contains("cluster name: old=, new=C"));
        assert!(refused(|c| c.connect_retries = 3).contains("connect_retries: old=0, new=3"));
    }

    /// A changed `leafnodes` block refuses the reload: the listener, its authorization, the remotes.
    #[test]
    fn leafnodes_changes_do_not_reload() {
        let mut old = Config::default();
        old.leafnodes.port = Some(7422);
        old.leafnodes.users = vec![config::LeafUserSpec {
            user: "leaf".into(),
            password: "secret".into(),
            account: Some("A".into()),
        }];
        assert_eq!(not_reloadable(&old, &old.clone()), Ok(()));
        // Where the block is written does not matter.
        let mut moved = old.clone();
        moved.leafnodes_accounts = vec![("A".into(), config::Span::default())];
        assert_eq!(not_reloadable(&old, &moved), Ok(()));
        let refused = |f: fn(&mut config::LeafSpec)| {
            let mut new = old.clone();
            f(&mut new.leafnodes);
            not_reloadable(&old, &new).unwrap_err()
        };
        assert_eq!(
            refused(|l| l.port = Some(0)),
            "config reload not supported for LeafNode port: old=7422, new=-1"
        );
        assert_eq!(
            not_reloadable(&Config::default(), &old).unwrap_err(),
            "config reload not supported for LeafNode port: old=0, new=7422"
        );
        assert_eq!(
            refused(|l| l.host = "127.0.0.1".into()),
            "config reload not supported for LeafNode host: old=0.0.0.0, new=127.0.0.1"
        );
        assert_eq!(
            refused(|l| l.users[0].password = "other".into()),
            "config reload not supported for LeafNode authorization: old=1 users, new=1 users"
        );
        assert_eq!(
            refused(|l| {
                l.users.clear();
                l.default_account = Some("A".into());
            }),
            "config reload not supported for LeafNode authorization: old=1 users, new=account \"A\""
        );
        assert!(refused(|l| l.advertise = Some("h:1".into())).contains("advertise: old=, new=h:1"));
        assert!(refused(|l| l.no_advertise = true).contains("no_advertise: old=false, new=true"));
        assert!(
            refused(|l| l.auth_timeout = Some(std::time::Duration::from_secs(3)))
                .contains("authorization timeout: old=, new=3s")
        );
        assert_eq!(
            refused(|l| l.remotes.push(config::RemoteLeafSpec::default())),
            "config reload not supported for LeafNode: old=0 remotes, new=1 remotes"
        );
    }

    /// The shards' runtime is chosen once, at start.
    #[test]
    fn runtime_does_not_reload() {
        let epoll = Config {
            runtime: config::RuntimeChoice::Epoll,
            ..Config::default()
        };
        assert_eq!(
            not_reloadable(&Config::default(), &epoll).unwrap_err(),
            "config reload not supported for runtime: old=auto, new=epoll"
        );
        assert_eq!(not_reloadable(&epoll, &epoll.clone()), Ok(()));
    }

    /// nats-server reloads the TLS configuration, its timeout, pinned certificates and handshake-first
    /// mode, and refuses the rest with its option names.
    #[test]
    fn tls_settings_that_do_not_reload() {
        let tls = |f: fn(&mut TlsSpec)| {
            let mut t = TlsSpec::default();
            f(&mut t);
            Config {
                tls: Some(t),
                ..Config::default()
            }
        };
        let old = tls(|_| {});
        let fine = tls(|t| {
            t.timeout = Some(std::time::Duration::from_secs(5));
            t.pinned_certs = vec!["ab".repeat(32)];
            t.handshake_first = crate::tls::HandshakeFirst::On;
            t.cert_file = Some("new.pem".into());
        });
        assert_eq!(not_reloadable(&old, &fine), Ok(()));
        assert_eq!(not_reloadable(&Config::default(), &old), Ok(()));
        let refused = |new: &Config| not_reloadable(&old, new).unwrap_err();
        assert_eq!(
            refused(&tls(|t| t.map = true)),
            "config reload not supported for TLSMap: old=false, new=true"
        );
        assert_eq!(
            refused(&tls(|t| t.rate_limit = 10)),
            "config reload not supported for TLSRateLimit: old=0, new=10"
        );
        let mut non_tls = old.clone();
        non_tls.allow_non_tls = true;
        assert_eq!(
            refused(&non_tls),
            "config reload not supported for AllowNonTLS: old=false, new=true"
        );
        let mut https = old.clone();
        https.https_port = Some(8443);
        assert_eq!(
            refused(&https),
            "config reload not supported for HTTPSPort: old=0, new=8443"
        );
    }
}
