//! Signals, handled on one plain thread outside the executors (as nats-server: SIGINT/SIGTERM stop,
//! SIGHUP reloads the configuration, SIGUSR2 enters lame duck mode), and `--signal CMD=PID`.

use crate::auth::Auth;
use crate::bus::{Bus, Control};
use crate::config;
use crate::server::Runtime;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR2};
use signal_hook::iterator::Signals;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

type Overrides = Box<dyn Fn(&mut config::Config) + Send + Sync>;

pub fn spawn(
    bus: Bus,
    config_path: Option<PathBuf>,
    overrides: Overrides,
    rt: Arc<Runtime>,
    auth: Arc<Auth>,
) -> Result<(), String> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR2])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut rt = rt;
            let mut auth = auth;
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
                    SIGUSR2 => {
                        tracing::info!("Entering lame duck mode, stop accepting new clients");
                        lame_duck = true;
                        bus.broadcast_control(|| Control::LameDuck);
                    }
                    SIGHUP => {
                        tracing::info!("Trapped \"hangup\" signal");
                        match reload(&config_path, &overrides, &rt, &auth) {
                            Ok((new_rt, new_auth, digest)) => {
                                rt = new_rt;
                                auth = new_auth;
                                let (r, a) = (rt.clone(), auth.clone());
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

/// Re-reads the configuration; all or nothing. Settings that cannot change at run time are refused.
fn reload(
    path: &Option<PathBuf>,
    overrides: &Overrides,
    rt: &Arc<Runtime>,
    auth: &Arc<Auth>,
) -> Result<(Arc<Runtime>, Arc<Auth>, String), String> {
    let (mut cfg, digest) = match path {
        Some(p) => {
            let loaded =
                config::load(p).map_err(|e| crate::auth::load_error_report(&e, overrides))?;
            (loaded.config, loaded.digest)
        }
        None => (config::Config::default(), String::new()),
    };
    overrides(&mut cfg);
    let mut new_rt = Runtime::from_config(&cfg, &rt.server_id, rt.port);
    new_rt.config_digest = digest.clone();
    if new_rt.max_pending != rt.max_pending {
        return Err(format!(
            "config reload not supported for MaxPending: old={}, new={}",
            rt.max_pending, new_rt.max_pending
        ));
    }
    if new_rt.max_subscriptions != rt.max_subscriptions {
        return Err(format!(
            "config reload not supported for MaxSubs: old={}, new={}",
            rt.max_subscriptions, new_rt.max_subscriptions
        ));
    }
    let new_auth = Auth::compile(&cfg, Some(auth)).map_err(|e| e.join("\n"))?;
    Ok((Arc::new(new_rt), Arc::new(new_auth), digest))
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
