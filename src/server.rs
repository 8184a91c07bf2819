//! Boot and process lifecycle: load config → compile auth → bind → start one shard per CPU → signals →
//! shutdown. The state every shard shares is in [`crate::settings`].

use crate::auth::Auth;
use crate::bus::{Bus, Control};
use crate::config::Config;
use crate::runtime;
use crate::settings::{Globals, Settings};
use crate::shard::{self, Shard};
use std::cell::RefCell;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub use crate::settings::VERSION;

/// Makes any panic, on any thread, end the whole process with a non-zero status and a logged reason.
///
/// A shard is one thread among several that depend on each other (barriers, the bus): a shard that
/// died alone would leave the others waiting on its inbox forever, and a process whose only shard
/// died would exit 0, which supervisors (`Restart=on-failure`) take for a clean stop. So the process
/// goes down at once, as nats-server does on a panic, and its supervisor restarts it.
pub fn exit_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!("Fatal error: panic in thread {name:?}{at}: {what}; exiting");
        std::process::exit(PANIC_EXIT_CODE);
    }));
}

/// The exit status after a panic (Rust's own for a panicking main thread).
pub const PANIC_EXIT_CODE: i32 = 101;

/// What the command line hands over: the loaded configuration, and where it came from (a reload
/// loads from there again).
pub struct Boot {
    pub config: Config,
    /// `sha256:<hex>` of the configuration file ("" without one).
    pub config_digest: String,
    pub source: crate::config::Source,
}

/// A 56-character server id in nkey style ('N' + base32), as nats-server's.
pub fn new_server_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut id = String::with_capacity(56);
    id.push('N');
    for _ in 0..55 {
        id.push(ALPHABET[rand::random_range(0..32)] as char);
    }
    id
}

/// The CPUs this process may run on (its affinity mask), limited to `cores` if given; asking for more shards
/// than CPUs gives that many unpinned shards.
fn shard_cpus(cores: Option<usize>) -> Vec<Option<usize>> {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let mut cpus: Vec<Option<usize>> = ids.into_iter().map(|c| Some(c.id)).collect();
    if cpus.is_empty() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        cpus = (0..n).map(|_| None).collect();
    }
    match cores {
        Some(n) if n > cpus.len() => {
            // More shards than CPUs (useful to test many-shard behaviour on a small machine): none is
            // pinned, so the OS spreads them.
            let shards = n.min(MAX_SHARDS);
            tracing::warn!(
                "{n} shards requested but {} CPUs available: running {shards} unpinned shards",
                cpus.len()
            );
            let n = shards;
            vec![None; n]
        }
        Some(n) => {
            cpus.truncate(n.max(1));
            cpus
        }
        None => {
            cpus.truncate(MAX_SHARDS);
            cpus
        }
    }
}

/// Most shards a server runs (shard ids are `u16`; per-publish scratch is sized by the shard count).
const MAX_SHARDS: usize = 256;

/// How long the port check retries while the port is busy. A process killed with SIGKILL leaves its
/// listening sockets behind for a few milliseconds while the kernel tears its io_uring instances down
/// (measured: 7-11 ms here); supervisors restart at once, so the check waits that out. A port held by
/// a live server stays busy and is refused once this runs out, with nats-server's message.
const PORT_BUSY_RETRY: Duration = Duration::from_secs(1);
const PORT_BUSY_STEP: Duration = Duration::from_millis(5);

/// Resolves the listen address; checks that the port is free (glommio-style SO_REUSEPORT would silently
/// share it with another server) and picks a random port for `-1`.
fn resolve_listen(host: &str, port: i32) -> Result<SocketAddr, String> {
    let p = if port < 0 { 0 } else { port as u16 };
    let addr = (host, p)
        .to_socket_addrs()
        .map_err(|e| format!("Error resolving listen host {host:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("Error resolving listen host {host:?}"))?;
    let until = std::time::Instant::now() + PORT_BUSY_RETRY;
    let probe = loop {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => break l,
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && std::time::Instant::now() < until =>
            {
                std::thread::sleep(PORT_BUSY_STEP);
            }
            Err(e) => {
                return Err(format!(
                    "Error listening on port: {host}:{p}, \"listen tcp {host}:{p}: bind: {}\"",
                    crate::config::go_error_text(&e)
                ))
            }
        }
    };
    probe.local_addr().map_err(|e| {
        format!(
            "Error listening on port: {}",
            crate::config::go_error_text(&e)
        )
    })
}

fn bind_shard_socket(addr: SocketAddr) -> Result<socket2::Socket, String> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| format!("socket: {e}"))?;
    s.set_reuse_address(true).map_err(|e| e.to_string())?;
    s.set_reuse_port(true).map_err(|e| e.to_string())?;
    s.set_nonblocking(true).map_err(|e| e.to_string())?;
    s.bind(&addr.into())
        .map_err(|e| format!("Error listening on port: {addr}, \"bind: {e}\""))?;
    s.listen(1024).map_err(|e| format!("listen: {e}"))?;
    Ok(s)
}

/// Binds a route or leaf-node listener on `host:port` (0 = random) and logs nats-server's
/// `Listening for <kind> connections on HOST:PORT` with the real port.
fn link_listener(host: &str, port: u16, what: &str, kind: &str) -> Result<socket2::Socket, String> {
    let addr = resolve_listen(host, i32::from(port))?;
    let sock = bind_cluster_socket(addr, what)?;
    let real = sock
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map_or(port, |a| a.port());
    tracing::info!("Listening for {kind} connections on {host}:{real}");
    Ok(sock)
}

/// The route (or leaf-node) listener's socket: one, on shard 0 (no `SO_REUSEPORT`: a second server
/// on the same port must fail to start).
fn bind_cluster_socket(addr: SocketAddr, what: &str) -> Result<socket2::Socket, String> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| format!("socket: {e}"))?;
    s.set_reuse_address(true).map_err(|e| e.to_string())?;
    s.set_nonblocking(true).map_err(|e| e.to_string())?;
    s.bind(&addr.into())
        .map_err(|e| format!("Error listening on {what} port: {addr}, \"bind: {e}\""))?;
    s.listen(1024).map_err(|e| format!("listen: {e}"))?;
    Ok(s)
}

/// nats-server's start-up lines about TLS on the client port.
fn log_tls_mode(tls: &crate::tls::ServerTls, allow_non_tls: bool) {
    let first_only = tls.handshake_first == crate::tls::HandshakeFirst::On;
    if allow_non_tls && !first_only {
        tracing::info!("TLS available for client connections");
    } else {
        tracing::info!("TLS required for client connections");
    }
    if first_only {
        tracing::warn!(
            "Clients that are not using \"TLS Handshake First\" option will fail to connect"
        );
    }
}

/// Starts the server and blocks until it stops. Returns the process exit code.
pub fn run(boot: Boot) -> Result<(), String> {
    // A write to a socket its peer reset must be an error, never a process-killing SIGPIPE. A Rust
    // binary's runtime ignores SIGPIPE before `main`; a host embedding `run` (the live fuzz target,
    // whose `main` is libFuzzer's) may not have.
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let cfg = boot.config;
    // io_uring, or epoll where io_uring is blocked (`auto`): probed and chosen before anything starts.
    let backend = runtime::select(cfg.runtime)?;
    let auth = Arc::new(Auth::compile(&cfg, None).map_err(|mut e| crate::auth::report(&mut e))?);
    // Certificates and keys are read once here (and again on every reload), never per connection.
    let tls = crate::tls::compile::for_config(&cfg).map_err(|d| d.to_string())?;
    let cpus = shard_cpus(cfg.cores);
    let nr_shards = cpus.len();

    let probe = resolve_listen(&cfg.host, cfg.port)?;
    // Bind every shard's socket before starting anything; the probe socket is gone by now.
    let mut sockets = Vec::with_capacity(nr_shards);
    for _ in 0..nr_shards {
        sockets.push(bind_shard_socket(probe)?);
    }
    let port = probe.port();
    let server_id = new_server_id();
    let mut settings = Settings::from_config(&cfg, &server_id, port);
    settings.config_digest = boot.config_digest.clone();
    settings.tls = tls.clone();
    let settings = Arc::new(settings);
    let globals = Arc::new(Globals::default());

    tracing::info!("Starting nats-server");
    tracing::info!("  Version:  {}", VERSION);
    tracing::info!("  Git:      [corenats {}]", env!("CARGO_PKG_VERSION"));
    tracing::info!("  Name:     {}", settings.server_name);
    tracing::info!("  ID:       {}", server_id);
    if auth.plaintext_passwords {
        tracing::warn!("Plaintext passwords detected, use nkeys or bcrypt");
    }
    if let Some(p) = &boot.source.path {
        tracing::info!(
            "Using configuration file: {} ({})",
            p.display(),
            settings.config_digest
        );
    }
    if cfg.jetstream {
        tracing::warn!("JetStream is not supported by corenats yet; continuing without it");
    }
    tracing::info!(
        "Starting {} shard(s) on CPUs {:?} ({} runtime)",
        nr_shards,
        cpus,
        backend.name()
    );
    if let Some(pid) = &cfg.pid_file {
        std::fs::write(pid, std::process::id().to_string())
            .map_err(|e| format!("Could not write pidfile: {e}"))?;
    }

    // The route and leaf-node listeners (shard 0 owns every link), bound before anything starts:
    // a busy port fails the start.
    let mut cluster_sock = match cfg.cluster.port {
        Some(p) => Some(link_listener(&cfg.cluster.host, p, "router", "route")?),
        None => None,
    };
    let mut leaf_sock = match cfg.leafnodes.port {
        Some(p) => Some(link_listener(
            &cfg.leafnodes.host,
            p,
            "leafnode",
            "leafnode",
        )?),
        None => None,
    };

    let (bus, inboxes) = Bus::new(nr_shards);
    let (ready_tx, ready_rx) = crossbeam_channel::bounded::<()>(nr_shards);
    let mut handles = Vec::with_capacity(nr_shards);
    for (i, ((cpu, inbox), sock)) in cpus.iter().copied().zip(inboxes).zip(sockets).enumerate() {
        let bus = bus.clone();
        let settings = settings.clone();
        let auth = auth.clone();
        let globals = globals.clone();
        let ready = ready_tx.clone();
        let routes = if i == 0 { cluster_sock.take() } else { None };
        let leaves = if i == 0 { leaf_sock.take() } else { None };
        let h = runtime::start_executor(
            format!("shard-{i}"),
            cpu,
            cfg.bus_spin,
            move || async move {
                let sh = Shard::new(i as u16, bus, settings, auth, globals);
                let stop = sh.listener_stop.clone();
                let sh = Rc::new(RefCell::new(sh));
                runtime::spawn(shard::listener::accept_task(sh.clone(), sock, stop));
                runtime::spawn(shard::timers::timers_task(sh.clone()));
                runtime::spawn(shard::sweeper::sweeper_task(sh.clone()));
                runtime::spawn(shard::logins::logins_task(sh.clone()));
                shard::leaf::link::start(&sh);
                if let Some(sock) = routes {
                    shard::route::link::start(&sh, sock);
                }
                if let Some(sock) = leaves {
                    shard::leaf::accept::start(&sh, sock);
                }
                let _ = ready.send(());
                shard::inbox::inbox_task(sh.clone(), inbox).await;
                // Give writers a moment to send what is buffered before the executor ends.
                runtime::sleep(Duration::from_millis(20)).await;
            },
        )
        .map_err(|e| format!("Error starting shard {i} on CPU {cpu:?}: {e}"))?;
        handles.push(h);
    }
    for _ in 0..nr_shards {
        let _ = ready_rx.recv_timeout(Duration::from_secs(10));
    }
    // Monitoring (when `http_port` or `https_port` is set), fed by shard snapshots; a busy port is a
    // startup error.
    let https = crate::monitor::start(&cfg, &bus, tls.as_deref())?;
    // Signals are handled before the listening line: tools signal as soon as they see it (a SIGHUP or
    // SIGUSR2 arriving earlier would kill the process with the default action).
    crate::signals::spawn(
        bus.clone(),
        boot.source,
        crate::signals::Live {
            settings: settings.clone(),
            auth: auth.clone(),
            config: cfg.clone(),
            https,
        },
    )?;
    tracing::info!("Listening for client connections on {}:{}", cfg.host, port);
    if let Some(t) = &tls {
        log_tls_mode(t, cfg.allow_non_tls);
    }
    tracing::info!("Server is ready");

    for h in handles {
        h.join();
    }
    if let Some(pid) = &cfg.pid_file {
        let _ = std::fs::remove_file(pid);
    }
    tracing::info!("Server Exiting..");
    let _ = Control::Shutdown;
    Ok(())
}
