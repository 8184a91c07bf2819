//! The server under test: spawns the binary (`CORENATS_TEST_SERVER` — a path, or a name looked up on
//! PATH such as `nats-server` — else corenats itself), learns its port from the log line `Listening for
//! client connections on 127.0.0.1:PORT`, and kills the child (by its own PID) on drop. Also the
//! one-shot runs of the binary (`-t`, `--signal`) and a private temporary directory.
#![allow(dead_code)]

use super::raw::Raw;
use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Default deadline for every expectation on the wire.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The binary under test, as given to `Command::new` (a path or a name on PATH).
pub fn server_binary() -> OsString {
    if let Some(v) = std::env::var_os("CORENATS_TEST_SERVER") {
        if !v.is_empty() {
            return v;
        }
    }
    OsString::from(env!("CARGO_BIN_EXE_corenats"))
}

/// True when the binary under test is corenats (anything whose file name does not start with `nats-server`).
pub fn is_corenats() -> bool {
    let bin = PathBuf::from(server_binary());
    let name = bin
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    !name.starts_with("nats-server")
}

/// `CORENATS_TEST_RUNTIME` (`epoll`, `io_uring` or `auto`): the `--runtime` every corenats a test starts
/// gets, placed before the test's own arguments (a test that names a runtime itself wins). Empty for
/// nats-server, which runs unchanged.
pub fn runtime_args() -> Vec<String> {
    if is_corenats() {
        corenats_runtime_args()
    } else {
        Vec::new()
    }
}

/// [`runtime_args`] for a process known to be corenats (whatever `CORENATS_TEST_SERVER` says).
pub fn corenats_runtime_args() -> Vec<String> {
    match std::env::var("CORENATS_TEST_RUNTIME") {
        Ok(r) if !r.is_empty() => vec!["--runtime".into(), r],
        _ => Vec::new(),
    }
}

/// A private temporary directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "corenats-itests-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst),
            nanos
        ));
        fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path.join(name);
        fs::write(&p, text).unwrap();
        p
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct ServerOpts {
    /// Config file text; written to a temp file and passed with `-c`.
    pub config: Option<String>,
    /// Extra command-line arguments (after `-a 127.0.0.1 -p <port> [-c file]`).
    pub args: Vec<String>,
    /// `--cores N`, passed only to corenats (nats-server has no such flag).
    pub cores: Option<usize>,
    /// Run this binary instead of the one under test (a nats-server hub a test needs).
    pub bin: Option<OsString>,
    /// Start the process with io_uring blocked by a seccomp filter (`io_uring_*` fail with EPERM, as a
    /// container's default profile makes them, or kill the process).
    pub io_uring: super::seccomp::IoUring,
}

impl ServerOpts {
    pub fn conf(text: &str) -> ServerOpts {
        ServerOpts {
            config: Some(text.to_string()),
            ..ServerOpts::default()
        }
    }

    pub fn args(args: &[&str]) -> ServerOpts {
        ServerOpts {
            args: args.iter().map(|s| s.to_string()).collect(),
            ..ServerOpts::default()
        }
    }
}

/// A running server process. Killed (by PID) and reaped on drop.
pub struct Server {
    opts: ServerOpts,
    dir: TempDir,
    conf: Option<PathBuf>,
    child: Option<Child>,
    port: u16,
    /// Everything the process printed on stdout and stderr, line by line.
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the binary on a random port; panics (with the log) if it does not come up.
    pub fn start(opts: ServerOpts) -> Server {
        match Server::try_start(opts) {
            Ok(s) => s,
            Err(e) => panic!("server did not start: {e}"),
        }
    }

    /// Starts a server with no config and no extra arguments.
    pub fn plain() -> Server {
        Server::start(ServerOpts::default())
    }

    /// Starts the binary; returns the log as the error if it exits or stays silent.
    pub fn try_start(opts: ServerOpts) -> Result<Server, String> {
        let dir = TempDir::new();
        let conf = opts
            .config
            .as_ref()
            .map(|text| dir.write("server.conf", text));
        let mut s = Server {
            opts,
            dir,
            conf,
            child: None,
            port: 0,
            log: Arc::new(Mutex::new(String::new())),
        };
        s.spawn("-1")?;
        Ok(s)
    }

    fn binary(&self) -> OsString {
        self.opts.bin.clone().unwrap_or_else(server_binary)
    }

    fn command(&self, port: &str) -> Command {
        let mut cmd = Command::new(self.binary());
        cmd.arg("-a").arg("127.0.0.1").arg("-p").arg(port);
        if let Some(c) = &self.conf {
            cmd.arg("-c").arg(c);
        }
        let corenats = self.opts.bin.is_none() && is_corenats();
        if let (Some(n), true) = (self.opts.cores, corenats) {
            cmd.arg("--cores").arg(n.to_string());
        }
        if corenats {
            cmd.args(runtime_args());
        }
        cmd.args(&self.opts.args);
        super::seccomp::restrict(&mut cmd, self.opts.io_uring);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn spawn(&mut self, port: &str) -> Result<(), String> {
        let mut child = self
            .command(port)
            .spawn()
            .map_err(|e| format!("cannot spawn {:?}: {e}", self.binary()))?;
        let (tx, rx) = mpsc::channel::<Option<u16>>();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        spawn_log_reader(out, self.log.clone(), tx.clone());
        spawn_log_reader(err, self.log.clone(), tx);
        let deadline = Instant::now() + START_TIMEOUT;
        let mut closed = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Some(p)) => {
                    self.port = p;
                    self.child = Some(child);
                    return Ok(());
                }
                Ok(None) => {
                    closed += 1;
                    if closed < 2 {
                        continue;
                    }
                }
                Err(_) => {}
            }
            let _ = child.kill();
            let status = child.wait();
            return Err(format!(
                "exit status {status:?}; log:\n{}",
                self.log.lock().unwrap()
            ));
        }
    }

    /// Kills the process and starts it again on the same port (retrying while the port is busy).
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port.to_string();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn(&port) {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("restart failed: {e}"),
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Kills the process (SIGKILL) and starts it again on the same port at once, as a supervisor
    /// does after a crash: no retry here, so a port that outlives the process fails the start.
    pub fn restart_at_once(&mut self) -> Result<(), String> {
        self.stop();
        let port = self.port.to_string();
        self.spawn(&port)
    }

    /// The process id of the running child (None once stopped), e.g. to read `/proc/<pid>/status`.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Kills the process (if running) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends a signal to the process with `kill -<sig> <pid>` (e.g. "HUP").
    pub fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let status = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(c.id().to_string())
                .status()
                .unwrap();
            assert!(status.success(), "kill -{sig} failed");
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn conf_path(&self) -> Option<&Path> {
        self.conf.as_deref()
    }

    /// Rewrites the config file (e.g. before a reload signal).
    pub fn rewrite_conf(&self, text: &str) {
        let p = self.conf.as_ref().expect("server has no config file");
        fs::write(p, text).unwrap();
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`; false on timeout.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log.lock().unwrap().contains(needle) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Opens a raw connection and reads the INFO line.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// A raw connection after `CONNECT {"verbose":false,"pedantic":false,"headers":true}` and a PING/PONG.
    pub fn ready(&self) -> Raw {
        Raw::ready(self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Copies lines into `log`; sends the port once the listening line appears, `None` at EOF.
fn spawn_log_reader<R: Read + Send + 'static>(
    r: R,
    log: Arc<Mutex<String>>,
    tx: mpsc::Sender<Option<u16>>,
) {
    thread::spawn(move || {
        let mut lines = BufReader::new(r);
        let mut line = String::new();
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            log.lock().unwrap().push_str(&line);
            if let Some(p) = listening_port(&line) {
                let _ = tx.send(Some(p));
            }
        }
        let _ = tx.send(None);
    });
}

/// Parses `... Listening for client connections on HOST:PORT`.
fn listening_port(line: &str) -> Option<u16> {
    let rest = line.split("Listening for client connections on ").nth(1)?;
    let rest = rest.trim();
    let port = rest.rsplit(':').next()?;
    let digits: String = port.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// Runs the binary with `-t -c <conf>` (config check); returns (exit code, stdout + stderr).
pub fn check_config(conf: &str) -> (Option<i32>, String) {
    let dir = TempDir::new();
    let path = dir.write("check.conf", conf);
    run_binary(
        &[
            "-t".into(),
            "-c".into(),
            path.to_string_lossy().into_owned(),
        ],
        &dir,
    )
}

/// Runs the binary with `args` to completion (10 s limit); returns (exit code, stdout + stderr).
pub fn run_binary(args: &[String], dir: &TempDir) -> (Option<i32>, String) {
    run_binary_with(args, dir, |_| {})
}

/// [`run_binary`], with `prepare` applied to the command first (e.g. [`super::seccomp::block_io_uring`]).
pub fn run_binary_with(
    args: &[String],
    dir: &TempDir,
    prepare: impl FnOnce(&mut Command),
) -> (Option<i32>, String) {
    let out_path = dir.path().join("run.out");
    let out = fs::File::create(&out_path).unwrap();
    let err = out.try_clone().unwrap();
    let mut cmd = Command::new(server_binary());
    cmd.args(runtime_args())
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    prepare(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{:?} {args:?} did not exit within 10s", server_binary());
        }
        thread::sleep(Duration::from_millis(20));
    };
    (code, fs::read_to_string(&out_path).unwrap_or_default())
}
