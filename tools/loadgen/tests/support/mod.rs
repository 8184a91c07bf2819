//! What the black-box loadgen tests share: finding a server binary, spawning it on a free port
//! (killed on drop), and running loadgen against it with a hard time limit.
//!
//! Each test file uses part of it, so the unused rest would warn in the others.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const LOADGEN: &str = env!("CARGO_BIN_EXE_loadgen");
/// Longest one loadgen invocation may take before the test kills it and fails.
pub const RUN_LIMIT: Duration = Duration::from_secs(90);

/// The binary named by `var`, else `nats-server` from PATH.
pub fn server_binary_from(var: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// The server for the plain-text tests: `LOADGEN_TEST_SERVER`, else `nats-server` from PATH.
pub fn server_binary() -> Option<PathBuf> {
    server_binary_from("LOADGEN_TEST_SERVER")
}

/// A spawned server, killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin -a 127.0.0.1 -p PORT [-c config]` and waits until it accepts connections.
pub fn start_server(bin: &Path, config: Option<&Path>) -> Server {
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
    let mut server = Server { child, port };
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("{} exited ({status}) instead of listening", bin.display());
        }
        assert!(
            Instant::now() < until,
            "server did not start listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Runs loadgen with `--server HOST:PORT` and `args`, killed after [`RUN_LIMIT`];
/// returns its exit status and standard output.
pub fn run_loadgen(host: &str, port: u16, args: &[&str]) -> (ExitStatus, String) {
    let out_path =
        std::env::temp_dir().join(format!("loadgen-test-{}-{port}.out", std::process::id()));
    let out_file = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(LOADGEN)
        .arg("--server")
        .arg(format!("{host}:{port}"))
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
    (status, text)
}

/// The JSON lines of loadgen's output.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs loadgen `--smoke` with `args` against `server` (as 127.0.0.1); every run must pass.
/// Returns the parsed JSON lines.
pub fn loadgen(server: &Server, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["--smoke"];
    all.extend_from_slice(args);
    let (status, text) = run_loadgen("127.0.0.1", server.port, &all);
    assert!(
        status.success(),
        "loadgen {args:?} failed ({status}):\n{text}"
    );
    let lines = json_lines(&text);
    assert!(!lines.is_empty(), "no JSON output:\n{text}");
    for l in &lines {
        assert_eq!(l["ok"], true, "{l}");
        assert_eq!(l["smoke"], true, "{l}");
        assert_eq!(l["received"], l["expected"], "{l}");
    }
    lines
}
