//! A server process whose whole life a test watches: unlike `common::Server` it takes the complete argument
//! list, can learn its port from a log *file* (`-l`), and can wait for the process to exit and report how
//! (exit code, or the signal that killed it). Used by the lifecycle and command-line tests.
#![allow(dead_code)]

use super::server::{server_binary, TempDir};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A spawned server. Killed (by its own PID) on drop if still running.
pub struct Proc {
    child: Child,
    /// The exit status once [`Proc::wait_exit`] saw it.
    status: Option<ExitStatus>,
    pub port: u16,
    /// stdout + stderr, line by line.
    out: Arc<Mutex<String>>,
    /// The `-l` file, when the caller said where the log goes.
    log_file: Option<PathBuf>,
}

/// `-a 127.0.0.1 -p -1`: the arguments every test server starts with.
pub fn base_args() -> Vec<String> {
    vec!["-a".into(), "127.0.0.1".into(), "-p".into(), "-1".into()]
}

/// Writes `text` as `server.conf` in `dir` and returns `-c <path>`.
pub fn conf_args(dir: &TempDir, text: &str) -> Vec<String> {
    let p = dir.write("server.conf", text);
    vec!["-c".into(), p.to_string_lossy().into_owned()]
}

fn pump<R: Read + Send + 'static>(r: R, out: Arc<Mutex<String>>) {
    thread::spawn(move || {
        let mut lines = BufReader::new(r);
        let mut line = String::new();
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => out.lock().unwrap().push_str(&line),
            }
        }
    });
}

/// The port in `... Listening for client connections on HOST:PORT`.
fn listening_port(log: &str) -> Option<u16> {
    let at = log.find("Listening for client connections on ")?;
    let line = log[at..].lines().next()?;
    let port = line.rsplit(':').next()?;
    let digits: String = port
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

impl Proc {
    /// Spawns the binary with exactly `args`; the log is read from stdout/stderr, or from `log_file`
    /// when given (the caller passes `-l` itself). Panics with the log if no listening line appears.
    pub fn start(args: &[String], log_file: Option<PathBuf>) -> Proc {
        Proc::start_env(args, log_file, &[])
    }

    /// [`Proc::start`] with extra environment variables for the server process.
    pub fn start_env(args: &[String], log_file: Option<PathBuf>, env: &[(&str, &str)]) -> Proc {
        let child = Command::new(server_binary())
            .args(super::server::runtime_args())
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {:?}: {e}", server_binary()));
        let mut p = Proc {
            child,
            status: None,
            port: 0,
            out: Arc::new(Mutex::new(String::new())),
            log_file,
        };
        pump(p.child.stdout.take().unwrap(), p.out.clone());
        pump(p.child.stderr.take().unwrap(), p.out.clone());
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(port) = listening_port(&p.log()) {
                p.port = port;
                return p;
            }
            if let Ok(Some(st)) = p.child.try_wait() {
                panic!("server exited at start ({st}); log:\n{}", p.log());
            }
            assert!(
                Instant::now() < deadline,
                "no listening line; log:\n{}",
                p.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// stdout + stderr, followed by the log file's contents when there is one.
    pub fn log(&self) -> String {
        let mut s = self.out.lock().unwrap().clone();
        if let Some(f) = &self.log_file {
            s.push_str(&std::fs::read_to_string(f).unwrap_or_default());
        }
        s
    }

    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `sig` (e.g. "INT") with `kill`.
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(st.success(), "kill -{sig} failed");
    }

    /// Waits up to `timeout` for the process to exit; None if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.status {
                return Some(st);
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                self.status = Some(st);
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Expects a clean exit (code 0) within `timeout`; panics with the log otherwise.
    pub fn expect_exit_zero(&mut self, timeout: Duration) {
        match self.wait_exit(timeout) {
            Some(st) if st.code() == Some(0) => {}
            Some(st) => panic!(
                "exit status {st} (signal {:?}); log:\n{}",
                st.signal(),
                self.log()
            ),
            None => panic!("still running after {timeout:?}; log:\n{}", self.log()),
        }
    }

    /// What the process printed on stdout and stderr only.
    pub fn console(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// True while the process runs.
    pub fn running(&mut self) -> bool {
        self.wait_exit(Duration::ZERO).is_none()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
