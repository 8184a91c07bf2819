//! Command line of `loadgen`: global options, one subcommand per scenario, and dispatch.
//!
//! Every scenario runs once per `--size` value and prints, per run, a human line and a JSON
//! line (the JSON line starts with `{`). The exit code is 0 only if every run passed its
//! checks; 1 if any failed; 2 for bad arguments.

use crate::perm;
use crate::report::Outcome;
use crate::scenario::flow::{self, FlowSpec};
use crate::scenario::handshake::{self, HandshakeSpec};
use crate::scenario::idle::{self, IdleSpec};
use crate::scenario::latency::{self, LatencySpec};
use crate::scenario::reqrep::{self, ReqRepSpec};
use crate::scenario::Common;
use crate::tls::{TlsClient, TlsOptions};
use crate::wire::{server_host, Endpoint};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// Messages per publisher when no `--count` is given (the time limit normally ends the run).
const FULL_COUNT: u64 = 50_000_000;
/// Messages per publisher in `--smoke` mode.
const SMOKE_COUNT: u64 = 200;

#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about = "Raw-protocol NATS load generator")]
pub struct Cli {
    /// Server address (host:port or nats://host:port).
    #[arg(long, global = true, default_value = "127.0.0.1:4222")]
    pub server: String,
    /// Where subscribers and responders connect (another server of the same cluster or leaf
    /// setup); publishers and requesters use --server. Default: --server. Plain text only.
    #[arg(long, global = true)]
    pub sub_server: Option<String>,
    /// User name for CONNECT.
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// Password for CONNECT.
    #[arg(long, global = true)]
    pub pass: Option<String>,
    /// Tiny counts for CI: seconds per scenario, counts verified, no timing asserted.
    #[arg(long, global = true)]
    pub smoke: bool,
    /// Hard timeout per run in seconds (default 60, smoke 15).
    #[arg(long, global = true)]
    pub timeout: Option<f64>,
    /// Stop publishing after this many seconds (default 5, smoke 5).
    #[arg(long, global = true)]
    pub time: Option<f64>,
    /// Messages per publisher / requests / latency samples (upper bound).
    #[arg(long, global = true)]
    pub count: Option<u64>,
    /// Payload sizes, comma separated (16, 128, 1k, 64KiB ...); one run per size.
    #[arg(long, global = true, value_delimiter = ',', value_parser = parse_size)]
    pub size: Vec<usize>,
    /// Tag copied into every JSON line.
    #[arg(long, global = true, default_value = "")]
    pub label: String,
    /// Print only the JSON lines.
    #[arg(long, global = true)]
    pub json_only: bool,
    /// Connect over TLS (INFO in clear text, then the TLS handshake, then CONNECT inside TLS).
    /// The server certificate is checked against --tls-ca and the host of --server.
    #[arg(long, global = true, requires = "tls_ca")]
    pub tls: bool,
    /// PEM file with the CA certificate(s) to trust.
    #[arg(long, global = true, value_name = "FILE", requires = "tls")]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate chain (for servers that verify clients); needs --tls-key.
    #[arg(long, global = true, value_name = "FILE", requires_all = ["tls", "tls_key"])]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, global = true, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// TLS handshake before the INFO, for servers with handshake_first.
    #[arg(long, global = true, requires = "tls")]
    pub tls_first: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Publish only (no subscribers); the server's PONG confirms it took every message.
    Pub {
        #[arg(long, default_value_t = 1)]
        pubs: usize,
        /// Distinct subjects per publisher, round robin.
        #[arg(long, default_value_t = 1)]
        subjects: usize,
    },
    /// One publisher, one subscriber; every message in order.
    Pubsub {
        /// Distinct subjects, round robin (the subscriber uses a wildcard when > 1).
        #[arg(long, default_value_t = 1)]
        subjects: usize,
    },
    /// One publisher, N subscribers each receiving everything.
    Fanout {
        #[arg(long, default_value_t = 4)]
        subs: usize,
    },
    /// Queue group: each message to exactly one of N members (checked).
    Queue {
        #[arg(long, default_value_t = 4)]
        subs: usize,
        #[arg(long, default_value_t = 1)]
        pubs: usize,
    },
    /// Request/reply round-trip latency with K requests in flight.
    Reqrep {
        #[arg(long, default_value_t = 1)]
        inflight: u64,
    },
    /// One-way latency at a fixed publish rate.
    Latency {
        /// Messages per second (default 10000, smoke 1000).
        #[arg(long)]
        rate: Option<u64>,
    },
    /// Many idle connections; server bytes per connection from its RSS.
    Idle {
        /// Connections to open (default 1000, smoke 50).
        #[arg(long)]
        conns: Option<usize>,
        /// Server process id, to read its VmRSS.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Seconds to hold the connections before measuring.
        #[arg(long, default_value_t = 0.5)]
        hold: f64,
    },
    /// Many publishers and subscribers, so that every shard of a multi-core server has both
    /// and traffic must cross shards.
    Cross {
        #[arg(long, default_value_t = 8)]
        pubs: usize,
        #[arg(long, default_value_t = 8)]
        subs: usize,
    },
    /// New connections as fast as they go: connect, INFO, TLS handshake (with --tls; no session
    /// resumption), CONNECT + PING, PONG, close. Connections/s and connect-to-PONG times.
    Handshake {
        /// Connections to open at most (default 1000000, smoke 50); --time also stops.
        #[arg(long)]
        conns: Option<u64>,
        /// Threads opening connections at the same time.
        #[arg(long, default_value_t = 4)]
        parallel: usize,
    },
    /// Print the server config for the permission scenario (accounts FREE and HEAVY).
    PermConfig,
}

/// Parses `16`, `128`, `1k`, `1KiB`, `64kb`, `1m` into bytes.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim().to_ascii_lowercase();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: usize = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    let mult = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(format!("bad size unit in {s:?}")),
    };
    let v = n
        .checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))?;
    if v < crate::payload::MIN_SIZE {
        return Err(format!(
            "size {s:?} is below the 16-byte minimum (sequence + timestamp)"
        ));
    }
    Ok(v)
}

fn secs(v: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v).map_err(|_| format!("bad {what}: {v}"))
}

/// Runs the command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    if let Cmd::PermConfig = cli.cmd {
        print!("{}", perm::config());
        return 0;
    }
    match run_scenarios(&cli) {
        Ok(outcomes) => {
            if outcomes.iter().all(|o| o.ok) {
                0
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            2
        }
    }
}

fn run_scenarios(cli: &Cli) -> Result<Vec<Outcome>, String> {
    let mut endpoint =
        Endpoint::new(&cli.server, cli.user.clone(), cli.pass.clone()).map_err(|e| e.0)?;
    if let (true, Some(ca)) = (cli.tls, &cli.tls_ca) {
        let opts = TlsOptions {
            ca: ca.clone(),
            cert: cli.tls_cert.clone(),
            key: cli.tls_key.clone(),
            first: cli.tls_first,
        };
        endpoint.tls = Some(TlsClient::new(&opts, server_host(&cli.server))?);
    }
    let sub_endpoint = match &cli.sub_server {
        Some(s) => Some(Endpoint::new(s, cli.user.clone(), cli.pass.clone()).map_err(|e| e.0)?),
        None => None,
    };
    let common = Common {
        endpoint,
        sub_endpoint,
        label: cli.label.clone(),
        smoke: cli.smoke,
        timeout: secs(
            cli.timeout.unwrap_or(if cli.smoke { 15.0 } else { 60.0 }),
            "--timeout",
        )?,
        time: secs(cli.time.unwrap_or(5.0), "--time")?,
    };
    let sizes = if cli.size.is_empty() {
        vec![128]
    } else {
        cli.size.clone()
    };
    let count = cli
        .count
        .unwrap_or(if cli.smoke { SMOKE_COUNT } else { FULL_COUNT });
    let flow = |scenario: &str, pubs, subs, queue, subjects, size| FlowSpec {
        scenario: scenario.to_string(),
        pubs,
        subs,
        queue,
        size,
        count,
        subjects,
    };
    let mut outcomes = Vec::new();
    let tls = common.endpoint.tls.clone();
    let mut emit = |mut o: Outcome| {
        if let Some(t) = &tls {
            let mut report = t.report();
            // The handshake scenario turns resumption off for its own connections.
            report.resumption &= o.handshake.is_none();
            o.tls = Some(report);
        }
        if !cli.json_only {
            println!("{}", o.human());
        }
        println!("{}", o.json());
        outcomes.push(o);
    };
    if let Cmd::Idle {
        conns,
        server_pid,
        hold,
    } = &cli.cmd
    {
        let spec = IdleSpec {
            conns: conns.unwrap_or(if cli.smoke { 50 } else { 1000 }),
            server_pid: *server_pid,
            hold: secs(*hold, "--hold")?,
        };
        emit(idle::run(&common, &spec));
        return Ok(outcomes);
    }
    if let Cmd::Handshake { conns, parallel } = &cli.cmd {
        let spec = HandshakeSpec {
            conns: conns
                .or(cli.count)
                .unwrap_or(if cli.smoke { 50 } else { 1_000_000 }),
            parallel: *parallel,
        };
        emit(handshake::run(&common, &spec));
        return Ok(outcomes);
    }
    for &size in &sizes {
        let o = match &cli.cmd {
            Cmd::Pub { pubs, subjects } => {
                flow::run(&common, &flow("pub", *pubs, 0, false, *subjects, size))
            }
            Cmd::Pubsub { subjects } => {
                flow::run(&common, &flow("pubsub", 1, 1, false, *subjects, size))
            }
            Cmd::Fanout { subs } => flow::run(&common, &flow("fanout", 1, *subs, false, 1, size)),
            Cmd::Queue { subs, pubs } => {
                flow::run(&common, &flow("queue", *pubs, *subs, true, 1, size))
            }
            Cmd::Cross { pubs, subs } => {
                flow::run(&common, &flow("cross", *pubs, *subs, false, 1, size))
            }
            Cmd::Reqrep { inflight } => {
                let count = cli
                    .count
                    .unwrap_or(if cli.smoke { SMOKE_COUNT } else { FULL_COUNT });
                reqrep::run(
                    &common,
                    &ReqRepSpec {
                        size,
                        count,
                        inflight: *inflight,
                    },
                )
            }
            Cmd::Latency { rate } => {
                let rate = rate.unwrap_or(if cli.smoke { 1000 } else { 10_000 });
                let count = cli
                    .count
                    .unwrap_or(if cli.smoke { SMOKE_COUNT } else { FULL_COUNT });
                latency::run(&common, &LatencySpec { size, count, rate })
            }
            Cmd::Idle { .. } | Cmd::Handshake { .. } | Cmd::PermConfig => return Ok(outcomes),
        };
        emit(o);
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16"), Ok(16));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert!(parse_size("8").is_err());
        assert!(parse_size("x").is_err());
        assert!(parse_size("3q").is_err());
        assert!(parse_size("99999999999999999999k").is_err());
    }

    #[test]
    fn cli_parses_globals_after_subcommand() {
        let cli = Cli::try_parse_from([
            "loadgen", "fanout", "--subs", "3", "--smoke", "--size", "16,1k",
        ])
        .unwrap();
        assert!(cli.smoke);
        assert_eq!(cli.size, vec![16, 1024]);
        assert!(matches!(cli.cmd, Cmd::Fanout { subs: 3 }));
    }

    #[test]
    fn tls_options_go_together() {
        let ok = Cli::try_parse_from([
            "loadgen",
            "pubsub",
            "--tls",
            "--tls-ca",
            "ca.pem",
            "--tls-first",
        ])
        .unwrap();
        assert!(ok.tls && ok.tls_first);
        assert_eq!(ok.tls_ca, Some(PathBuf::from("ca.pem")));
        for bad in [
            &["loadgen", "pubsub", "--tls"][..],
            &["loadgen", "pubsub", "--tls-ca", "ca.pem"],
            &[
                "loadgen",
                "pubsub",
                "--tls",
                "--tls-ca",
                "c",
                "--tls-cert",
                "x",
            ],
            &[
                "loadgen",
                "pubsub",
                "--tls",
                "--tls-ca",
                "c",
                "--tls-key",
                "k",
            ],
            &["loadgen", "pubsub", "--tls-first"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?} was accepted");
        }
        let hs = Cli::try_parse_from(["loadgen", "handshake", "--conns", "9", "--parallel", "2"])
            .unwrap();
        assert!(matches!(
            hs.cmd,
            Cmd::Handshake {
                conns: Some(9),
                parallel: 2
            }
        ));
    }
}
