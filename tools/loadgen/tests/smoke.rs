//! Runs every scenario in `--smoke` mode against a spawned `nats-server` (skipped when none
//! is on PATH). Set `LOADGEN_TEST_SERVER` to another binary that takes nats-server's flags
//! (`-a`, `-p`, `-c`) to run the same checks against it.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LOADGEN: &str = env!("CARGO_BIN_EXE_loadgen");
/// Longest one loadgen invocation may take before the test kills it and fails.
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// The server binary: `LOADGEN_TEST_SERVER`, else `nats-server` from PATH.
fn server_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LOADGEN_TEST_SERVER") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// A spawned server, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(bin: &PathBuf, config: Option<&PathBuf>) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(bin);
    cmd.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
    if let Some(c) = config {
        cmd.arg("-c").arg(c);
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port };
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "server did not start listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Runs loadgen with `args` against `server`; returns the parsed JSON lines.
fn loadgen(server: &Server, args: &[&str]) -> Vec<serde_json::Value> {
    let out_path = std::env::temp_dir().join(format!(
        "loadgen-smoke-{}-{}.out",
        std::process::id(),
        server.port
    ));
    let out_file = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(LOADGEN)
        .arg("--server")
        .arg(format!("127.0.0.1:{}", server.port))
        .arg("--smoke")
        .args(args)
        .stdout(out_file)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let until = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("loadgen {args:?} did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(&out_path).unwrap();
    let _ = std::fs::remove_file(&out_path);
    assert!(
        status.success(),
        "loadgen {args:?} failed ({status}):\n{text}"
    );
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty(), "no JSON output:\n{text}");
    for l in &lines {
        assert_eq!(l["ok"], true, "{l}");
        assert_eq!(l["smoke"], true, "{l}");
        assert_eq!(l["received"], l["expected"], "{l}");
    }
    lines
}

/// Runs `args` against a fresh default server; skips when there is no server binary.
fn scenario(args: &[&str], expect_lines: usize) -> Option<Vec<serde_json::Value>> {
    let Some(bin) = server_binary() else {
        eprintln!("skipped: no nats-server on PATH");
        return None;
    };
    let server = start_server(&bin, None);
    let lines = loadgen(&server, args);
    assert_eq!(lines.len(), expect_lines, "{lines:?}");
    Some(lines)
}

const ALL_SIZES: &str = "16,128,1k,64k";

#[test]
fn publish_only() {
    if let Some(lines) = scenario(&["pub", "--size", ALL_SIZES], 4) {
        assert!(lines.iter().all(|l| l["sent"] == 200), "{lines:?}");
    }
}

#[test]
fn pub_sub_one_to_one() {
    if let Some(lines) = scenario(&["pubsub", "--size", ALL_SIZES], 4) {
        assert!(lines.iter().all(|l| l["received"] == 200), "{lines:?}");
    }
}

#[test]
fn fan_out() {
    if let Some(lines) = scenario(&["fanout", "--subs", "3", "--size", ALL_SIZES], 4) {
        assert!(lines.iter().all(|l| l["received"] == 600), "{lines:?}");
    }
}

#[test]
fn queue_group_exactly_once() {
    if let Some(lines) = scenario(
        &["queue", "--subs", "3", "--pubs", "2", "--size", ALL_SIZES],
        4,
    ) {
        assert!(lines.iter().all(|l| l["received"] == 400), "{lines:?}");
    }
}

#[test]
fn request_reply_one_and_many_in_flight() {
    for inflight in ["1", "16"] {
        if let Some(lines) = scenario(&["reqrep", "--inflight", inflight, "--size", "16,64k"], 2) {
            for l in &lines {
                assert_eq!(l["received"], 200, "{l}");
                assert_eq!(l["latency_us"]["count"], 200, "{l}");
            }
        }
    }
}

#[test]
fn fixed_rate_latency() {
    if let Some(lines) = scenario(&["latency", "--size", "16,1k"], 2) {
        assert!(
            lines.iter().all(|l| l["latency_us"]["count"] == 200),
            "{lines:?}"
        );
    }
}

#[test]
fn cross_shard_traffic() {
    if let Some(lines) = scenario(
        &["cross", "--pubs", "3", "--subs", "3", "--size", "16,64k"],
        2,
    ) {
        assert!(lines.iter().all(|l| l["received"] == 1800), "{lines:?}");
    }
}

#[test]
fn idle_connections_with_server_rss() {
    let Some(bin) = server_binary() else {
        eprintln!("skipped: no nats-server on PATH");
        return;
    };
    let server = start_server(&bin, None);
    let pid = server.child.id().to_string();
    let lines = loadgen(
        &server,
        &[
            "idle",
            "--conns",
            "100",
            "--server-pid",
            &pid,
            "--hold",
            "0.1",
        ],
    );
    let idle = &lines[0]["idle"];
    assert_eq!(idle["conns"], 100);
    assert!(idle["rss_after"].as_u64().unwrap() > 0, "{idle}");
    assert!(idle["bytes_per_conn"].is_number(), "{idle}");
}

#[test]
fn permission_heavy_and_unrestricted_accounts() {
    let Some(bin) = server_binary() else {
        eprintln!("skipped: no nats-server on PATH");
        return;
    };
    let conf = std::env::temp_dir().join(format!("loadgen-perm-{}.conf", std::process::id()));
    let text = Command::new(LOADGEN)
        .arg("perm-config")
        .output()
        .unwrap()
        .stdout;
    std::fs::write(&conf, text).unwrap();
    let server = start_server(&bin, Some(&conf));
    for user in ["heavy", "free"] {
        let args = [
            "--user",
            user,
            "--pass",
            user,
            "pubsub",
            "--subjects",
            "50",
            "--size",
            "16,1k",
        ];
        let lines = loadgen(&server, &args);
        assert_eq!(lines.len(), 2);
    }
    // Without credentials the server must refuse, and loadgen must report the failure.
    let status = Command::new(LOADGEN)
        .args(["--smoke", "--timeout", "5", "--server"])
        .arg(format!("127.0.0.1:{}", server.port))
        .arg("pub")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let _ = std::fs::remove_file(&conf);
}
