//! The command line: nats-server's flag names (single-dash long options and `=value` included), turned
//! into a `Config` and handed to `server::run`. `src/main.rs` only calls [`main`].

use crate::auth::{load_error_report, Auth};
use crate::config::{self, Config};
use crate::{logging, server, signals};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "corenats",
    about = "A NATS-compatible, thread-per-core message broker",
    disable_version_flag = true,
    disable_help_flag = true,
    args_override_self = true
)]
struct Cli {
    /// Bind to host address (default: 0.0.0.0)
    #[arg(help_heading = "Server Options", short = 'a', long = "addr", visible_aliases = ["net"], value_name = "HOST")]
    addr: Option<String>,
    /// Use port for clients (default: 4222; -1 for a random port)
    #[arg(
        help_heading = "Server Options",
        short = 'p',
        long = "port",
        allow_negative_numbers = true
    )]
    port: Option<i32>,
    /// Server name (default: the server id)
    #[arg(help_heading = "Server Options", short = 'n', long = "name", visible_aliases = ["server_name"])]
    name: Option<String>,
    /// Configuration file
    #[arg(
        help_heading = "Server Options",
        short = 'c',
        long = "config",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    /// Test the configuration file and exit
    #[arg(help_heading = "Server Options", short = 't')]
    test: bool,
    /// With -t: the non-standard constructs of the founding example's dialect are errors too
    #[arg(help_heading = "Server Options", long = "pedantic")]
    pedantic: bool,
    /// Use port for http monitoring
    #[arg(
        help_heading = "Server Options",
        short = 'm',
        long = "http_port",
        allow_negative_numbers = true
    )]
    http_port: Option<i32>,
    /// Use port for https monitoring (with the TLS certificate)
    #[arg(
        help_heading = "Server Options",
        long = "https_port",
        allow_negative_numbers = true
    )]
    https_port: Option<i32>,
    /// Enable TLS, do not verify clients (default: false); --tls=false turns the file's tls {} off
    #[arg(help_heading = "TLS Options", long = "tls", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    tls: Option<bool>,
    /// Server certificate file
    #[arg(help_heading = "TLS Options", long = "tlscert", value_name = "FILE")]
    tlscert: Option<PathBuf>,
    /// Private key for server certificate
    #[arg(help_heading = "TLS Options", long = "tlskey", value_name = "FILE")]
    tlskey: Option<PathBuf>,
    /// Enable TLS, verify client certificates
    #[arg(help_heading = "TLS Options", long = "tlsverify", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    tlsverify: Option<bool>,
    /// Client certificate CA for verification
    #[arg(help_heading = "TLS Options", long = "tlscacert", value_name = "FILE")]
    tlscacert: Option<PathBuf>,
    /// TLS help: the cipher suites and curves a tls {} block may list
    #[arg(help_heading = "TLS Options", long = "help_tls")]
    help_tls: bool,
    /// File to redirect log output
    #[arg(help_heading = "Logging Options", short = 'l', long = "log", visible_aliases = ["log_file"], value_name = "FILE")]
    log: Option<PathBuf>,
    /// File to store the process id
    #[arg(
        help_heading = "Server Options",
        short = 'P',
        long = "pid",
        value_name = "FILE"
    )]
    pid: Option<PathBuf>,
    /// Enable debugging output
    #[arg(help_heading = "Logging Options", short = 'D', long = "debug")]
    debug: bool,
    /// Trace the raw protocol
    #[arg(help_heading = "Logging Options", short = 'V', long = "trace")]
    trace: bool,
    /// Timestamp log entries (default: true)
    #[arg(help_heading = "Logging Options", short = 'T', long = "logtime", num_args = 0..=1, default_missing_value = "true")]
    logtime: Option<bool>,
    /// User required for connections
    #[arg(help_heading = "Authorization Options", long = "user")]
    user: Option<String>,
    /// Password required for connections
    #[arg(help_heading = "Authorization Options", long = "pass")]
    pass: Option<String>,
    /// Authorization token required for connections
    #[arg(help_heading = "Authorization Options", long = "auth")]
    auth: Option<String>,
    /// Send signal to corenats process (ldm, stop, quit, term, reopen, reload): CMD=PID or CMD=PIDFILE
    #[arg(help_heading = "Server Options", long = "signal", value_name = "CMD")]
    signal: Option<String>,
    /// Enable JetStream (not supported yet: accepted with a warning)
    #[arg(help_heading = "JetStream Options", long = "jetstream")]
    jetstream: bool,
    /// JetStream storage directory (not supported yet: accepted with a warning)
    #[arg(help_heading = "JetStream Options", long = "store_dir")]
    store_dir: Option<String>,
    /// Routes to solicit and connect (comma-separated URLs; needs a cluster listener)
    #[arg(help_heading = "Cluster Options", long = "routes", value_name = "URLS")]
    routes: Option<String>,
    #[arg(help_heading = "Cluster Options", 
        long = "cluster",
        visible_aliases = ["cluster_listen"],
        value_name = "URL",
        help = "Cluster URL for solicited routes: nats://[user:pass@]host:port (-1 for a random port)"
    )]
    cluster: Option<String>,
    /// Cluster name (default: a dynamically generated one)
    #[arg(
        help_heading = "Cluster Options",
        long = "cluster_name",
        value_name = "NAME"
    )]
    cluster_name: Option<String>,
    /// Do not advertise known cluster information to clients
    #[arg(help_heading = "Cluster Options", long = "no_advertise", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    no_advertise: Option<bool>,
    /// Cluster address to advertise to other servers (host:port)
    #[arg(
        help_heading = "Cluster Options",
        long = "cluster_advertise",
        value_name = "HOST:PORT"
    )]
    cluster_advertise: Option<String>,
    /// For implicit routes, number of connect retries
    #[arg(
        help_heading = "Cluster Options",
        long = "connect_retries",
        value_name = "N",
        allow_negative_numbers = true
    )]
    connect_retries: Option<i64>,
    /// Number of shards (cores) to use (default: every CPU the process may run on)
    #[arg(help_heading = "Server Options", long = "cores")]
    cores: Option<usize>,
    /// I/O runtime of the shards: auto (io_uring when available, else epoll), io_uring, epoll
    #[arg(help_heading = "Server Options", 
        long = "runtime",
        value_name = "RUNTIME",
        value_parser = clap::builder::PossibleValuesParser::new(config::RuntimeChoice::NAMES)
    )]
    runtime: Option<String>,
    /// Explain why USER (as named in the config; nkeys by public key) may or may not publish or
    /// subscribe (with --pub or --sub), then exit: 0 allowed, 1 denied, 2 bad question
    #[arg(
        help_heading = "Explain Options",
        long = "explain",
        value_name = "USER"
    )]
    explain: Option<String>,
    /// With --explain: the subject to publish to (judged after the account's mappings)
    #[arg(help_heading = "Explain Options", long = "pub", value_name = "SUBJECT")]
    explain_pub: Option<String>,
    /// With --explain: the subject (wildcards allowed) to subscribe to
    #[arg(help_heading = "Explain Options", long = "sub", value_name = "SUBJECT")]
    explain_sub: Option<String>,
    /// With --explain --sub: the queue group to subscribe in
    #[arg(help_heading = "Explain Options", long = "queue", value_name = "QUEUE")]
    explain_queue: Option<String>,
    /// Show version
    #[arg(help_heading = "Common Options", short = 'v', long = "version")]
    version: bool,
    /// Show this message
    #[arg(help_heading = "Common Options", short = 'h', long = "help", action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// Long option names that nats-server also accepts with a single dash (`-user x`, `-port=4222`).
const LONG: &[&str] = &[
    "addr",
    "net",
    "port",
    "name",
    "server_name",
    "config",
    "http_port",
    "https_port",
    "tls",
    "tlscert",
    "tlskey",
    "tlsverify",
    "tlscacert",
    "help_tls",
    "log",
    "log_file",
    "pid",
    "debug",
    "trace",
    "logtime",
    "user",
    "pass",
    "auth",
    "signal",
    "jetstream",
    "store_dir",
    "cores",
    "runtime",
    "routes",
    "cluster",
    "cluster_listen",
    "cluster_name",
    "no_advertise",
    "cluster_advertise",
    "connect_retries",
    "pedantic",
    "version",
    "help",
];

/// Rewrites nats-server style single-dash long options into the `--long` form clap expects.
fn normalize_args(args: impl Iterator<Item = String>) -> Vec<String> {
    args.map(|a| {
        if a.starts_with("--") || !a.starts_with('-') || a.len() <= 2 {
            return a;
        }
        let body = &a[1..];
        let name = body.split('=').next().unwrap_or(body);
        let rest = &body[name.len()..];
        let long = match name {
            "js" => Some("jetstream"),
            "sd" => Some("store_dir"),
            "sl" => Some("signal"),
            "ms" => Some("https_port"),
            n if LONG.contains(&n) => Some(n),
            _ => None,
        };
        match long {
            Some(l) => format!("--{l}{rest}"),
            None => a,
        }
    })
    .collect()
}

/// Where the configuration comes from: the `-c` file and the settings given on the command line
/// (applied over the file at start, on `-t` and on every reload).
fn source(cli: &Cli) -> config::Source {
    config::Source {
        path: cli.config.clone(),
        overrides: config::Overrides {
            host: cli.addr.clone(),
            port: cli.port,
            server_name: cli.name.clone(),
            http_port: cli.http_port,
            log_file: cli.log.clone(),
            pid_file: cli.pid.clone(),
            debug: cli.debug,
            trace: cli.trace,
            logtime: cli.logtime,
            cores: cli.cores,
            runtime: cli
                .runtime
                .as_deref()
                .and_then(config::RuntimeChoice::parse),
            jetstream: cli.jetstream || cli.store_dir.is_some(),
            user: cli.user.clone(),
            pass: cli.pass.clone(),
            token: cli.auth.clone(),
            https_port: cli.https_port,
            tls: cli.tls,
            tls_cert: cli.tlscert.clone(),
            tls_key: cli.tlskey.clone(),
            tls_ca_cert: cli.tlscacert.clone(),
            tls_verify: cli.tlsverify,
            cluster: cli.cluster.clone(),
            cluster_name: cli.cluster_name.clone(),
            cluster_advertise: cli.cluster_advertise.clone(),
            routes: cli.routes.clone(),
            no_advertise: cli.no_advertise,
            connect_retries: cli.connect_retries,
        },
    }
}

/// `-t`: checks the configuration (and its accounts and users, as nats-server's `-t` does) and exits.
fn check(cli: &Cli) -> ExitCode {
    let source = source(cli);
    let Some(path) = &source.path else {
        eprintln!("corenats: must specify a configuration file with -c to test it");
        return ExitCode::from(1);
    };
    let strictness = if cli.pedantic {
        config::Strictness::Pedantic
    } else {
        config::Strictness::Check
    };
    // Like nats-server's `-t`, a missing no_auth_user is only caught at startup.
    let exempt = |cfg: &mut Config| cfg.no_auth_user = None;
    match source.load(strictness) {
        Ok(loaded) => {
            // The seed dialect's notes: the file is valid, each construct has one meaning.
            for note in &loaded.warnings {
                eprintln!("corenats: note: {note}");
            }
            let mut cfg = loaded.config.clone();
            exempt(&mut cfg);
            // Accounts, users and the TLS files: every error in one report, in file order.
            let mut errs = Auth::compile(&cfg, None).err().unwrap_or_default();
            if let Err(d) = crate::tls::compile::for_config(&cfg) {
                errs.push(d);
            }
            if !errs.is_empty() {
                eprintln!("corenats: {}", crate::auth::report(&mut errs));
                return ExitCode::from(1);
            }
            // On stderr, as nats-server prints it.
            eprintln!(
                "corenats: configuration file {} is valid ({})",
                path.display(),
                loaded.digest
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("corenats: {}", load_error_report(&e, exempt));
            ExitCode::from(1)
        }
    }
}

/// `--explain USER (--pub SUBJECT | --sub SUBJECT [--queue Q])`: prints why the configured user may or
/// may not do it and exits 0 (allowed), 1 (denied) or 2 (the question or the configuration is bad).
fn explain(cli: &Cli) -> ExitCode {
    use crate::auth::explain::{explain, Question};
    let bad = |msg: &str| {
        eprintln!("corenats: {msg}");
        ExitCode::from(2)
    };
    let Some(user) = &cli.explain else {
        return bad("--pub, --sub and --queue need --explain USER");
    };
    let question = match (&cli.explain_pub, &cli.explain_sub, &cli.explain_queue) {
        (Some(s), None, None) => Question::Publish(s),
        (None, Some(s), q) => Question::Subscribe {
            subject: s,
            queue: q.as_deref(),
        },
        (Some(_), None, Some(_)) => return bad("--queue goes with --sub, not --pub"),
        (Some(_), Some(_), _) => return bad("--explain takes one of --pub or --sub, not both"),
        (None, None, _) => return bad("--explain USER needs --pub SUBJECT or --sub SUBJECT"),
    };
    let source = source(cli);
    if source.path.is_none() {
        return bad("must specify a configuration file with -c to explain its permissions");
    }
    let loaded = match source.load(config::Strictness::Check) {
        Ok(l) => l,
        Err(e) => return bad(&load_error_report(&e, |_| {})),
    };
    // The seed dialect's notes say how a construct was read, which the explanation depends on.
    for note in &loaded.warnings {
        eprintln!("corenats: note: {note}");
    }
    let auth = match Auth::compile(&loaded.config, None) {
        Ok(a) => a,
        Err(mut errs) => return bad(&crate::auth::report(&mut errs)),
    };
    match explain(&loaded.config, &auth, user, question) {
        Ok(e) => {
            print!("{}", e.text);
            ExitCode::from(e.verdict.exit_code())
        }
        Err(e) => bad(&e.to_string()),
    }
}

/// The `corenats` program: parses the arguments, then checks a config, sends a signal, or runs.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(normalize_args(std::env::args())) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if cli.version {
        // The runtime a start would use here: `--runtime` if given, else what `auto` finds.
        let runtime = match cli
            .runtime
            .as_deref()
            .and_then(config::RuntimeChoice::parse)
        {
            Some(config::RuntimeChoice::IoUring) => "io_uring",
            Some(config::RuntimeChoice::Epoll) => "epoll",
            _ => crate::runtime::auto().0.name(),
        };
        println!(
            "corenats: v{} (nats-server protocol v{}, {runtime} runtime)",
            env!("CARGO_PKG_VERSION"),
            server::VERSION
        );
        return ExitCode::SUCCESS;
    }
    if cli.help_tls {
        print!("{}", crate::tls::compile::ciphers::help_text());
        return ExitCode::SUCCESS;
    }
    if let Some(cmd) = &cli.signal {
        return match signals::send(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("corenats: {e}");
                ExitCode::from(1)
            }
        };
    }
    if cli.test {
        return check(&cli);
    }
    if cli.explain.is_some()
        || cli.explain_pub.is_some()
        || cli.explain_sub.is_some()
        || cli.explain_queue.is_some()
    {
        return explain(&cli);
    }
    let source = source(&cli);
    let loaded = match source.load(config::Strictness::Start) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("corenats: {}", load_error_report(&e, |_| {}));
            return ExitCode::from(1);
        }
    };
    let cfg = &loaded.config;
    if let Err(e) = logging::init(&logging::Settings {
        debug: cfg.debug,
        trace: cfg.trace,
        logtime: cfg.logtime,
        file: cfg.log_file.clone(),
    }) {
        eprintln!("corenats: {e}");
        return ExitCode::from(1);
    }
    server::exit_on_panic();
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    if cli.jetstream || cli.store_dir.is_some() {
        tracing::warn!("JetStream is not supported yet: -js/--store_dir are ignored");
    }
    let boot = server::Boot {
        config: loaded.config,
        config_digest: loaded.digest,
        source,
    };
    match server::run(boot) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("corenats: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_dash_long_options() {
        let v = normalize_args(
            [
                "corenats",
                "-user",
                "x",
                "-port=4222",
                "-DV",
                "-p",
                "-1",
                "-js",
                "--pass",
                "y",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        assert_eq!(
            v,
            [
                "corenats",
                "--user",
                "x",
                "--port=4222",
                "-DV",
                "-p",
                "-1",
                "--jetstream",
                "--pass",
                "y"
            ]
        );
        let cli = Cli::try_parse_from(v).unwrap();
        assert_eq!(cli.user.as_deref(), Some("x"));
        assert_eq!(cli.port, Some(-1));
        assert!(cli.debug && cli.trace && cli.jetstream);
    }

    #[test]
    fn cluster_flags() {
        let args = [
            "corenats",
            "-cluster",
            "nats://ru:rp@127.0.0.1:-1",
            "-routes=nats://127.0.0.1:6223,nats-route://h:6224",
            "-cluster_name",
            "C1",
            "--cluster_advertise=10.0.0.1:16222",
            "-no_advertise",
            "-connect_retries",
            "4",
        ];
        let v = normalize_args(args.iter().map(|s| s.to_string()));
        let cli = Cli::try_parse_from(v).unwrap();
        let o = source(&cli).overrides;
        assert_eq!(o.cluster.as_deref(), Some("nats://ru:rp@127.0.0.1:-1"));
        assert_eq!(
            o.routes.as_deref(),
            Some("nats://127.0.0.1:6223,nats-route://h:6224")
        );
        assert_eq!(o.cluster_name.as_deref(), Some("C1"));
        assert_eq!(o.cluster_advertise.as_deref(), Some("10.0.0.1:16222"));
        assert_eq!((o.no_advertise, o.connect_retries), (Some(true), Some(4)));
        assert!(o.check().is_empty());
        let mut cfg = Config::default();
        o.apply(&mut cfg);
        let c = &cfg.cluster;
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", Some(0)));
        assert_eq!(
            (c.user.as_deref(), c.password.as_deref()),
            (Some("ru"), Some("rp"))
        );
        assert_eq!(c.routes, ["nats://127.0.0.1:6223", "nats-route://h:6224"]);
        assert_eq!(c.name.as_deref(), Some("C1"));
        assert!(c.no_advertise);
        assert_eq!(c.connect_retries, 4);
        assert!(cfg.validate().is_empty());
        // `--cluster_listen` is the same flag; `--no_advertise=false` and an empty `--routes=` parse.
        let v = normalize_args(
            [
                "corenats",
                "-cluster_listen=nats://h:6222",
                "--no_advertise=false",
                "--routes=",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        let cli = Cli::try_parse_from(v).unwrap();
        assert_eq!(cli.cluster.as_deref(), Some("nats://h:6222"));
        assert_eq!(cli.no_advertise, Some(false));
        assert_eq!(cli.routes.as_deref(), Some(""));
        // `--routes` without a listener: nats-server's error, from the same load path as `-t`.
        let v = normalize_args(
            ["corenats", "-routes", "nats://127.0.0.1:6223"]
                .iter()
                .map(|s| s.to_string()),
        );
        let cli = Cli::try_parse_from(v).unwrap();
        let e = source(&cli)
            .load(config::Strictness::Start)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "solicited routes require cluster capabilities, e.g. --cluster"
        );
    }

    #[test]
    fn runtime_flag() {
        for (arg, want) in [
            ("-runtime=epoll", config::RuntimeChoice::Epoll),
            ("--runtime=io_uring", config::RuntimeChoice::IoUring),
            ("--runtime=auto", config::RuntimeChoice::Auto),
        ] {
            let v = normalize_args(["corenats", arg].iter().map(|s| s.to_string()));
            let cli = Cli::try_parse_from(v).unwrap();
            let o = source(&cli).overrides;
            assert_eq!(o.runtime, Some(want), "{arg}");
            let mut cfg = Config::default();
            o.apply(&mut cfg);
            assert_eq!(cfg.runtime, want, "{arg}");
        }
        // Not given: the file decides (default auto). Given twice: the last wins, as every flag.
        let cli = Cli::try_parse_from(["corenats"]).unwrap();
        assert_eq!(source(&cli).overrides.runtime, None);
        let cli =
            Cli::try_parse_from(["corenats", "--runtime", "epoll", "--runtime", "auto"]).unwrap();
        assert_eq!(cli.runtime.as_deref(), Some("auto"));
        let e = Cli::try_parse_from(["corenats", "--runtime", "uring"]).unwrap_err();
        assert!(e.to_string().contains("io_uring"), "{e}");
    }

    #[test]
    fn tls_flags() {
        let args = [
            "corenats",
            "-tls",
            "-tlscert",
            "c.pem",
            "--tlskey=k.pem",
            "-tlscacert",
            "ca.pem",
            "-tlsverify",
            "-ms",
            "-1",
        ];
        let v = normalize_args(args.iter().map(|s| s.to_string()));
        let cli = Cli::try_parse_from(v).unwrap();
        let o = source(&cli).overrides;
        assert_eq!(o.tls, Some(true));
        assert_eq!(o.tls_verify, Some(true));
        assert_eq!(o.tls_cert.as_deref(), Some(std::path::Path::new("c.pem")));
        assert_eq!(o.tls_key.as_deref(), Some(std::path::Path::new("k.pem")));
        assert_eq!(
            o.tls_ca_cert.as_deref(),
            Some(std::path::Path::new("ca.pem"))
        );
        assert_eq!(o.https_port, Some(-1));
        let v = normalize_args(["corenats", "--tls=false"].iter().map(|s| s.to_string()));
        let cli = Cli::try_parse_from(v).unwrap();
        assert_eq!(cli.tls, Some(false));
    }
}
