//! Black-box test harness: spawns the server binary under test and speaks raw NATS protocol to it.
//!
//! The binary is `CORENATS_TEST_SERVER` (a path, or a name looked up on PATH such as `nats-server`) when that
//! variable is set, otherwise corenats itself (`CARGO_BIN_EXE_corenats`). Every test therefore runs unchanged
//! against real nats-server, which is how the suite itself is validated.
//!
//! * [`Server`] starts the binary with `-a 127.0.0.1 -p -1` (plus `-c <file>` when a config text is given),
//!   learns the port from the log line `Listening for client connections on 127.0.0.1:PORT`, and kills the
//!   child (by its own PID) on drop.
//! * [`Raw`] is a blocking TCP client with exact-bytes expectations; every read has a deadline, so no test
//!   can hang. Ordering is proven with a PING/PONG round trip, never with sleeps.
#![allow(dead_code)]

pub mod client;

use serde_json::Value;
use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
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

    fn command(&self, port: &str) -> Command {
        let mut cmd = Command::new(server_binary());
        cmd.arg("-a").arg("127.0.0.1").arg("-p").arg(port);
        if let Some(c) = &self.conf {
            cmd.arg("-c").arg(c);
        }
        if let (Some(n), true) = (self.opts.cores, is_corenats()) {
            cmd.arg("--cores").arg(n.to_string());
        }
        cmd.args(&self.opts.args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn spawn(&mut self, port: &str) -> Result<(), String> {
        let mut child = self
            .command(port)
            .spawn()
            .map_err(|e| format!("cannot spawn {:?}: {e}", server_binary()))?;
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
    let out_path = dir.path().join("run.out");
    let out = fs::File::create(&out_path).unwrap();
    let err = out.try_clone().unwrap();
    let mut child = Command::new(server_binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
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

/// A message read off the wire (`MSG` or `HMSG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub subject: String,
    pub sid: String,
    pub reply: Option<String>,
    /// The header block exactly as sent (HMSG only).
    pub header: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

/// A raw protocol client with exact-bytes expectations. Every read is bounded by `timeout`.
pub struct Raw {
    stream: TcpStream,
    /// Bytes received but not yet consumed by an expectation.
    buf: Vec<u8>,
    /// The INFO the server sent on accept (`Value::Null` for [`Raw::connect_no_info`]).
    pub info: Value,
    pub timeout: Duration,
    /// Answer server PINGs found at a frame boundary with PONG, invisibly (default true). Servers ping every
    /// client about 2 s after CONNECT, so long tests need this; keep-alive tests turn it off.
    pub auto_pong: bool,
}

/// Renders bytes for failure messages (printable ASCII as is, the rest escaped).
pub fn show(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b.iter().take(2000) {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    if b.len() > 2000 {
        s.push_str(&format!("...({} bytes)", b.len()));
    }
    s
}

impl Raw {
    /// Connects without reading anything.
    pub fn connect_no_info(port: u16) -> Raw {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            buf: Vec::new(),
            info: Value::Null,
            timeout: TIMEOUT,
            auto_pong: true,
        }
    }

    /// Connects and reads the INFO line (checking its exact `INFO {json} \r\n` framing).
    pub fn connect(port: u16) -> Raw {
        let mut r = Raw::connect_no_info(port);
        r.info = r.expect_info();
        r
    }

    /// Connects, sends `CONNECT {connect_json}` and proves it was processed with a PING/PONG.
    pub fn ready_with(port: u16, connect_json: &str) -> Raw {
        let mut r = Raw::connect(port);
        r.send(format!("CONNECT {connect_json}\r\n").as_bytes());
        r.ping_pong();
        r
    }

    /// A quiet client: verbose and pedantic off, headers on.
    pub fn ready(port: u16) -> Raw {
        Raw::ready_with(port, r#"{"verbose":false,"pedantic":false,"headers":true}"#)
    }

    /// Writes all bytes; panics if the socket is already broken.
    pub fn send(&mut self, b: &[u8]) {
        self.stream
            .write_all(b)
            .unwrap_or_else(|e| panic!("send {}: {e}", show(b)));
    }

    /// Writes all bytes, ignoring errors (for when the server may already have closed).
    pub fn try_send(&mut self, b: &[u8]) -> io::Result<()> {
        self.stream.write_all(b)
    }

    /// Writes one byte per write call (each a separate segment with TCP_NODELAY).
    pub fn send_bytewise(&mut self, b: &[u8]) {
        for c in b {
            self.send(std::slice::from_ref(c));
        }
    }

    /// With `auto_pong`, consumes server PINGs at the head of the buffer and answers them.
    fn skip_server_pings(&mut self) {
        while self.auto_pong && self.buf.starts_with(b"PING\r\n") {
            self.buf.drain(..6);
            let _ = self.stream.write_all(b"PONG\r\n");
        }
    }

    /// True while the buffer holds only the start of a server PING (judge nothing yet).
    fn partial_ping(&self) -> bool {
        self.auto_pong
            && !self.buf.is_empty()
            && self.buf.len() < 6
            && b"PING\r\n".starts_with(&self.buf)
    }

    /// Reads more bytes into `buf`; Ok(0) at EOF; Err(TimedOut) at the deadline.
    fn fill(&mut self, deadline: Instant) -> io::Result<usize> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(ErrorKind::TimedOut, "deadline"));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut tmp = [0u8; 65536];
        loop {
            match self.stream.read(&mut tmp) {
                Ok(n) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    return Err(io::Error::new(ErrorKind::TimedOut, "deadline"))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Expects exactly `want` as the next bytes (fails early on the first differing byte).
    pub fn expect(&mut self, want: &[u8]) {
        let deadline = Instant::now() + self.timeout;
        loop {
            self.skip_server_pings();
            let n = self.buf.len().min(want.len());
            if self.buf[..n] != want[..n] && !self.partial_ping() {
                panic!("expected {:?}\n     got {:?}", show(want), show(&self.buf));
            }
            if n == want.len() {
                self.buf.drain(..n);
                return;
            }
            match self.fill(deadline) {
                Ok(0) => panic!(
                    "connection closed while expecting {:?}; got {:?}",
                    show(want),
                    show(&self.buf)
                ),
                Ok(_) => {}
                Err(e) => panic!(
                    "{e} while expecting {:?}; got {:?}",
                    show(want),
                    show(&self.buf)
                ),
            }
        }
    }

    pub fn expect_str(&mut self, want: &str) {
        self.expect(want.as_bytes());
    }

    /// Reads one line (up to `\r\n`) and returns it without the CRLF.
    pub fn expect_line(&mut self) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            self.skip_server_pings();
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
                return String::from_utf8_lossy(&line).into_owned();
            }
            match self.fill(deadline) {
                Ok(0) => panic!(
                    "connection closed while expecting a line; got {:?}",
                    show(&self.buf)
                ),
                Ok(_) => {}
                Err(e) => panic!("{e} while expecting a line; got {:?}", show(&self.buf)),
            }
        }
    }

    /// Reads `n` raw bytes.
    pub fn expect_bytes(&mut self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + self.timeout;
        while self.buf.len() < n {
            match self.fill(deadline) {
                Ok(0) => panic!("closed while expecting {n} bytes; got {}", self.buf.len()),
                Ok(_) => {}
                Err(e) => panic!("{e} while expecting {n} bytes; got {}", self.buf.len()),
            }
        }
        self.buf.drain(..n).collect()
    }

    /// Expects an `INFO {json} \r\n` line (note the space before CRLF) and returns the JSON.
    pub fn expect_info(&mut self) -> Value {
        let line = self.expect_line();
        assert!(
            line.starts_with("INFO {") && line.ends_with("} "),
            "expected `INFO {{json}} \\r\\n`, got {line:?}"
        );
        serde_json::from_str(&line[5..line.len() - 1])
            .unwrap_or_else(|e| panic!("INFO is not JSON ({e}): {line}"))
    }

    /// Expects `-ERR '<text>'\r\n`.
    pub fn expect_err(&mut self, text: &str) {
        self.expect(format!("-ERR '{text}'\r\n").as_bytes());
    }

    /// Expects `-ERR '<text>'\r\n` followed by the server closing the connection.
    pub fn expect_err_closed(&mut self, text: &str) {
        self.expect_err(text);
        self.expect_closed();
    }

    /// Expects the server to close the connection (EOF or reset) with nothing more received.
    pub fn expect_closed(&mut self) {
        let deadline = Instant::now() + self.timeout;
        loop {
            self.skip_server_pings();
            if !self.buf.is_empty() && !self.partial_ping() {
                panic!(
                    "expected the connection to close, got {:?}",
                    show(&self.buf)
                );
            }
            match self.fill(deadline) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    panic!("connection still open after {:?}", self.timeout)
                }
                Err(_) => return, // reset
            }
        }
    }

    /// Every line received until the server closes the connection (panics if it stays open).
    pub fn lines_until_closed(&mut self) -> Vec<String> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.fill(deadline) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    panic!("connection still open after {:?}", self.timeout)
                }
                Err(_) => break, // reset
            }
        }
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        text.split_terminator("\r\n").map(str::to_string).collect()
    }

    /// Expects `bytes`, then the close.
    pub fn expect_closed_after(&mut self, bytes: &[u8]) {
        self.expect(bytes);
        self.expect_closed();
    }

    /// Expects a close; an `-ERR '<text>'` before it is tolerated (servers differ on some parse errors).
    pub fn expect_closed_maybe_err(&mut self, text: &str) {
        let err = format!("-ERR '{text}'\r\n");
        let deadline = Instant::now() + self.timeout;
        loop {
            if self.buf.starts_with(err.as_bytes()) {
                self.buf.drain(..err.len());
                return self.expect_closed();
            }
            if !err.as_bytes().starts_with(&self.buf) {
                panic!("expected a close (or {err:?}), got {:?}", show(&self.buf));
            }
            match self.fill(deadline) {
                Ok(0) if self.buf.is_empty() => return,
                Ok(0) => panic!("closed after a partial {:?}", show(&self.buf)),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    panic!("connection still open after {:?}", self.timeout)
                }
                Err(_) if self.buf.is_empty() => return,
                Err(e) => panic!("{e} after a partial {:?}", show(&self.buf)),
            }
        }
    }

    /// PING, then expect exactly PONG: proves every earlier command was processed.
    pub fn ping_pong(&mut self) {
        self.send(b"PING\r\n");
        self.expect(b"PONG\r\n");
    }

    /// Proves that nothing was (or will be, for commands sent before) received: the PONG must be the next bytes.
    pub fn expect_nothing(&mut self) {
        self.skip_server_pings();
        assert!(
            self.buf.is_empty(),
            "expected nothing, have {:?}",
            show(&self.buf)
        );
        self.ping_pong();
    }

    /// Reads one `MSG` or `HMSG` frame.
    pub fn read_msg(&mut self) -> Msg {
        let line = self.expect_line();
        let parts: Vec<&str> = line.split_ascii_whitespace().collect();
        let (hmsg, args) = match parts.first() {
            Some(&"MSG") => (false, &parts[1..]),
            Some(&"HMSG") => (true, &parts[1..]),
            _ => panic!("expected MSG/HMSG, got {line:?}"),
        };
        let nsizes = if hmsg { 2 } else { 1 };
        assert!(
            args.len() == 2 + nsizes || args.len() == 3 + nsizes,
            "bad frame {line:?}"
        );
        let reply = if args.len() == 3 + nsizes {
            Some(args[2].to_string())
        } else {
            None
        };
        let sizes: Vec<usize> = args[args.len() - nsizes..]
            .iter()
            .map(|s| s.parse().unwrap_or_else(|_| panic!("bad size in {line:?}")))
            .collect();
        let total = *sizes.last().unwrap();
        let body = self.expect_bytes(total);
        self.expect(b"\r\n");
        let (header, payload) = if hmsg {
            (Some(body[..sizes[0]].to_vec()), body[sizes[0]..].to_vec())
        } else {
            (None, body)
        };
        Msg {
            subject: args[0].to_string(),
            sid: args[1].to_string(),
            reply,
            header,
            payload,
        }
    }

    /// True if the server has closed the connection (within a short wait) — for polling.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            match self.fill(deadline) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::TimedOut => return false,
                Err(_) => return true,
            }
        }
    }

    /// Bytes received and not consumed yet.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

/// `HPUB`/`HMSG` header block from `(name, value)` pairs: `NATS/1.0\r\nName: value\r\n...\r\n`.
pub fn header_block(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut h = b"NATS/1.0\r\n".to_vec();
    for (k, v) in pairs {
        h.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    h.extend_from_slice(b"\r\n");
    h
}

impl Raw {
    /// Reads one frame if any byte of one arrives within `wait`; None if the socket stayed silent.
    pub fn try_read_msg(&mut self, wait: Duration) -> Option<Msg> {
        self.skip_server_pings();
        if self.buf.is_empty() {
            let deadline = Instant::now() + wait;
            match self.fill(deadline) {
                Ok(0) => panic!("connection closed while waiting for a message"),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => return None,
                Err(e) => panic!("{e} while waiting for a message"),
            }
            self.skip_server_pings();
            if self.buf.is_empty() {
                return None;
            }
        }
        Some(self.read_msg())
    }
}

/// Reads messages from several connections until `total` have arrived (or panics at `timeout`).
/// Returns (connection index, message) in arrival order per connection.
pub fn collect_from(conns: &mut [Raw], total: usize, timeout: Duration) -> Vec<(usize, Msg)> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        if Instant::now() > deadline {
            panic!("only {} of {total} messages arrived", out.len());
        }
        let mut idle = true;
        for (i, c) in conns.iter_mut().enumerate() {
            while let Some(m) = c.try_read_msg(Duration::from_millis(1)) {
                out.push((i, m));
                idle = false;
            }
        }
        if idle {
            thread::sleep(Duration::from_millis(2));
        }
    }
    out
}

impl Raw {
    /// Reads one line if any byte arrives within `wait`; None if the socket stayed silent.
    pub fn try_line(&mut self, wait: Duration) -> Option<String> {
        self.skip_server_pings();
        if self.buf.is_empty() {
            let deadline = Instant::now() + wait;
            match self.fill(deadline) {
                Ok(0) => panic!("connection closed while waiting for a line"),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => return None,
                Err(e) => panic!("{e} while waiting for a line"),
            }
        }
        Some(self.expect_line())
    }
}
