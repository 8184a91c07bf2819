//! Helpers for the hostile-input suite (`tests/bad_input.rs`): a server watched for survival, leaked
//! connections and subscriptions, and memory growth; table-driven cases that carry nats-server's answer
//! and how corenats stands to it; a raw HTTP exchange and a config check, each bounded in time.
//!
//! Included with `#[path = "common/hostile.rs"] mod hostile;` next to `mod common;` and
//! `mod common_monitor;`.
#![allow(dead_code)]

use crate::common::monitor::Mon;
use crate::common::{is_corenats, run_binary, show, Raw, Server, ServerOpts, TempDir, TIMEOUT};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

/// How far corenats' resident set may grow over one group of hostile inputs.
pub const RSS_SLACK_KIB: u64 = 20 * 1024;

/// The CONNECT of a quiet probe client: no `+OK`, headers on.
pub const QUIET: &str = r#"{"verbose":false,"pedantic":false,"headers":true}"#;

/// How corenats' answer to a case stands to nats-server's.
#[derive(Debug, Clone)]
pub enum Dev<W> {
    /// The same answer.
    Same,
    /// A different answer on purpose: corenats' answer, and why.
    Differs(W, &'static str),
    /// A different answer by mistake. The key names the bug; an ignored test per key asserts
    /// nats-server's answer on corenats, so it passes once the bug is fixed.
    Bug(&'static str),
}

impl<W> Dev<W> {
    /// The answer to assert on the server under test: nats-server's, corenats' deliberate one, or for a
    /// known corenats bug none (unless `strict`, which asserts nats-server's answer anyway).
    pub fn expected<'a>(&'a self, nats: &'a W, strict: bool) -> Option<&'a W> {
        if !is_corenats() {
            return Some(nats);
        }
        match self {
            Dev::Same => Some(nats),
            Dev::Differs(w, _) => Some(w),
            Dev::Bug(_) => strict.then_some(nats),
        }
    }

    pub fn is_bug(&self, key: &str) -> bool {
        matches!(self, Dev::Bug(k) if *k == key)
    }
}

/// The text of a caught panic.
fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

/// Runs `check` for every item, collecting failures instead of stopping at the first; `after` runs after
/// each item outside the catch (a dead server ends the test at once). Panics listing every failure.
pub fn each<T>(items: &[T], name: impl Fn(&T) -> String, check: impl Fn(&T), after: impl Fn()) {
    let mut failed = Vec::new();
    for it in items {
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| check(it))) {
            failed.push(format!("  {}: {}", name(it), panic_text(&*e)));
        }
        after();
    }
    assert!(
        failed.is_empty(),
        "{} of {} inputs got the wrong answer:\n{}",
        failed.len(),
        items.len(),
        failed.join("\n")
    );
}

/// The resident set of a running server in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(s: &Server) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid()?)).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// A server with monitoring, watched for survival, leaks and memory growth.
pub struct Watched {
    pub mon: Mon,
    /// The CONNECT JSON of probe clients (with credentials when the server needs them).
    connect: String,
    base_subs: u64,
    base_rss_kib: Option<u64>,
}

impl Watched {
    pub fn start(opts: ServerOpts) -> Watched {
        Watched::start_with(opts, QUIET)
    }

    /// Starts the server with `-m -1`, records its subscription count before any client, warms it up
    /// with one client that subscribes, receives and leaves, and records its resident set after that.
    pub fn start_with(opts: ServerOpts, connect: &str) -> Watched {
        let mon = Mon::start(opts);
        let mut w = Watched {
            mon,
            connect: connect.to_string(),
            base_subs: 0,
            base_rss_kib: None,
        };
        // nats-server has internal subscriptions of its system account; corenats none.
        w.base_subs = w.counts().1;
        {
            let mut c = w.client();
            c.send(b"SUB warm.up 1\r\nPUB warm.up 2\r\nhi\r\n");
            c.expect(b"MSG warm.up 1 2\r\nhi\r\n");
            c.ping_pong();
        }
        w.settle_counts();
        w.base_rss_kib = rss_kib(&w.mon.server);
        w
    }

    pub fn server(&self) -> &Server {
        &self.mon.server
    }

    pub fn port(&self) -> u16 {
        self.mon.server.port()
    }

    /// A probe client, after its CONNECT and a PING/PONG.
    pub fn client(&self) -> Raw {
        Raw::ready_with(self.port(), &self.connect)
    }

    /// The server survived: a fresh client connects and gets PONG for PING, and nothing panicked.
    pub fn alive(&self) {
        let mut c = self.client();
        c.ping_pong();
        drop(c);
        self.no_panic();
    }

    pub fn no_panic(&self) {
        let log = self.mon.server.log();
        assert!(!log.contains("panicked at"), "the server panicked:\n{log}");
    }

    /// `/varz` `connections` and `subscriptions`.
    pub fn counts(&self) -> (u64, u64) {
        let v = self.mon.json("/varz");
        (
            v["connections"].as_u64().expect("varz connections"),
            v["subscriptions"].as_u64().expect("varz subscriptions"),
        )
    }

    /// Waits (bounded) until no client connection is left and the subscriptions are back at baseline.
    fn settle_counts(&self) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let (conns, subs) = self.counts();
            if conns == 0 && subs == self.base_subs {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "leak: {conns} connections and {subs} subscriptions remain (baseline 0 and {})",
                self.base_subs
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// End of a group: the server serves a fresh client, no connection or subscription leaked, and
    /// (corenats only: nats-server is a Go process with its own GC) its resident set is within
    /// [`RSS_SLACK_KIB`] of the baseline.
    pub fn settle(&self) {
        self.alive();
        self.settle_counts();
        if is_corenats() {
            let base = self.base_rss_kib.expect("baseline RSS");
            let now = rss_kib(&self.mon.server).expect("RSS");
            assert!(
                now <= base + RSS_SLACK_KIB,
                "resident set grew from {base} KiB to {now} KiB"
            );
        }
        self.no_panic();
    }

    /// One protocol case on a new connection (see [`Dev::expected`] for `strict`).
    pub fn run(&self, c: &Case, strict: bool) {
        let mut conn = match c.start {
            Start::Ready => self.client(),
            Start::Fresh => Raw::connect(self.port()),
        };
        // Sends may fail once the server has closed on an earlier byte; the answer tells.
        if c.bytewise {
            for b in &c.input {
                if conn.try_send(std::slice::from_ref(b)).is_err() {
                    break;
                }
            }
        } else {
            let _ = conn.try_send(&c.input);
        }
        match c.dev.expected(&c.want, strict) {
            None => {}
            Some(Want::Open(bytes)) => {
                conn.send(b"PING\r\n");
                let mut all = bytes.clone();
                all.extend_from_slice(b"PONG\r\n");
                conn.expect(&all);
            }
            Some(Want::Err(text)) => conn.expect_err_closed(text),
            Some(Want::Closed) => conn.expect_closed(),
        }
    }

    /// Every case on this server, a survival check after each, then [`Watched::settle`].
    pub fn run_all(&self, cases: &[Case]) {
        each(
            cases,
            |c| c.name.clone(),
            |c| self.run(c, false),
            || self.alive(),
        );
        self.settle();
    }

    /// One HTTP case against the monitor port (see [`Dev::expected`] for `strict`).
    pub fn run_http(&self, c: &HCase, strict: bool) {
        let Some(want) = c.dev.expected(&c.want, strict) else {
            // A known bug: send the input and leave; only survival is checked.
            let _ = http_raw(self.mon.http, &c.request, c.half_close, Duration::ZERO);
            return;
        };
        let reply = http_raw(self.mon.http, &c.request, c.half_close, TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}"));
        want.check(reply.as_ref());
    }

    /// Every HTTP case, a survival check (client port and monitor) after each, then settle.
    pub fn run_all_http(&self, cases: &[HCase]) {
        each(
            cases,
            |c| c.name.clone(),
            |c| self.run_http(c, false),
            || {
                self.alive();
                self.mon.json("/varz");
            },
        );
        self.settle();
    }
}

/// nats-server's answer on the client port.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// The connection stays open: exactly these bytes arrive before the PONG of a PING sent after the
    /// input.
    Open(Vec<u8>),
    /// `-ERR '<text>'`, then the close.
    Err(&'static str),
    /// A close with nothing sent.
    Closed,
}

pub fn open(b: impl AsRef<[u8]>) -> Want {
    Want::Open(b.as_ref().to_vec())
}

/// How a case's connection begins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    /// After a quiet CONNECT and a PING/PONG.
    Ready,
    /// Right after INFO: the input is the first thing the client sends.
    Fresh,
}

/// One hostile input on the client port.
pub struct Case {
    pub name: String,
    pub start: Start,
    pub input: Vec<u8>,
    /// One byte per write.
    pub bytewise: bool,
    pub want: Want,
    pub dev: Dev<Want>,
}

pub fn case(name: &str, input: impl AsRef<[u8]>, want: Want) -> Case {
    Case {
        name: name.to_string(),
        start: Start::Ready,
        input: input.as_ref().to_vec(),
        bytewise: false,
        want,
        dev: Dev::Same,
    }
}

impl Case {
    pub fn fresh(mut self) -> Case {
        self.start = Start::Fresh;
        self
    }

    pub fn bytewise(mut self) -> Case {
        self.bytewise = true;
        self
    }

    pub fn bug(mut self, key: &'static str) -> Case {
        self.dev = Dev::Bug(key);
        self
    }
}

/// A response read off the monitor port.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

/// Writes `request` to the monitor (write errors ignored: a server may answer and close before reading
/// everything), half-closes when asked, and reads until the server closes. `Ok(None)`: closed without a
/// byte. `Err`: still open at `wait` (a zero `wait` only sends and returns).
pub fn http_raw(
    port: u16,
    request: &[u8],
    half_close: bool,
    wait: Duration,
) -> Result<Option<HttpReply>, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    let _ = s.set_write_timeout(Some(TIMEOUT));
    let _ = s.write_all(request);
    if half_close {
        let _ = s.shutdown(Shutdown::Write);
    }
    if wait.is_zero() {
        return Ok(None);
    }
    let deadline = Instant::now() + wait;
    let mut buf = Vec::new();
    let mut tmp = [0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no close within {wait:?}; got {:?}", show(&buf)));
        }
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match s.read(&mut tmp) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break, // reset after the answer
        }
    }
    if buf.is_empty() {
        return Ok(None);
    }
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response head in {:?}", show(&buf)))?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = head
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {head:?}"))?;
    Ok(Some(HttpReply {
        status,
        head,
        body: buf[end + 4..].to_vec(),
    }))
}

/// nats-server's answer on the monitor port.
#[derive(Debug, Clone, PartialEq)]
pub enum HWant {
    /// This status (body not checked).
    Status(u16),
    /// This status and exactly this body.
    Body(u16, &'static str),
    /// 200 with a JSON body whose top-level `field` is this number.
    JsonNum(&'static str, i64),
    /// Any 4xx status.
    ClientError,
    /// Closed without a byte.
    Silent,
}

impl HWant {
    pub fn check(&self, reply: Option<&HttpReply>) {
        let Some(r) = reply else {
            assert_eq!(*self, HWant::Silent, "closed without an answer");
            return;
        };
        let body = String::from_utf8_lossy(&r.body);
        match self {
            HWant::Status(s) => assert_eq!(r.status, *s, "{}\n\n{body}", r.head),
            HWant::Body(s, b) => {
                assert_eq!(r.status, *s, "{}\n\n{body}", r.head);
                assert_eq!(body, *b, "{}", r.head);
            }
            HWant::JsonNum(field, n) => {
                assert_eq!(r.status, 200, "{}\n\n{body}", r.head);
                let v: serde_json::Value =
                    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {body}"));
                assert_eq!(v[*field].as_i64(), Some(*n), "{field} in {body}");
            }
            HWant::ClientError => {
                assert!((400..500).contains(&r.status), "{}\n\n{body}", r.head)
            }
            HWant::Silent => panic!("expected no answer, got {}\n\n{body}", r.head),
        }
    }
}

/// One hostile request to the monitor port.
pub struct HCase {
    pub name: String,
    pub request: Vec<u8>,
    /// Shut down the write side after the request.
    pub half_close: bool,
    pub want: HWant,
    pub dev: Dev<HWant>,
}

pub fn hcase(name: &str, request: impl AsRef<[u8]>, want: HWant) -> HCase {
    HCase {
        name: name.to_string(),
        request: request.as_ref().to_vec(),
        half_close: false,
        want,
        dev: Dev::Same,
    }
}

/// `GET <target> HTTP/1.0` with nothing else: one request, then the server closes.
pub fn get10(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.0\r\n\r\n").into_bytes()
}

impl HCase {
    pub fn half_close(mut self) -> HCase {
        self.half_close = true;
        self
    }

    pub fn bug(mut self, key: &'static str) -> HCase {
        self.dev = Dev::Bug(key);
        self
    }

    pub fn differs(mut self, corenats: HWant, why: &'static str) -> HCase {
        self.dev = Dev::Differs(corenats, why);
        self
    }
}

/// What `-t -c <file>` says.
#[derive(Debug, Clone, PartialEq)]
pub enum CWant {
    /// Exit 0 and `configuration file ... is valid`.
    Valid,
    /// Exit 1 and this text in the output.
    Error(&'static str),
}

/// One hostile config file, checked with `-t -c`.
pub struct CCase {
    pub name: &'static str,
    pub text: Vec<u8>,
    /// Other files next to it (for includes).
    pub extra: Vec<(&'static str, Vec<u8>)>,
    /// Pass the directory itself as the config path.
    pub dir_as_path: bool,
    pub want: CWant,
    pub dev: Dev<CWant>,
}

pub fn ccase(name: &'static str, text: impl AsRef<[u8]>, want: CWant) -> CCase {
    CCase {
        name,
        text: text.as_ref().to_vec(),
        extra: Vec::new(),
        dir_as_path: false,
        want,
        dev: Dev::Same,
    }
}

impl CCase {
    pub fn with_file(mut self, name: &'static str, text: impl AsRef<[u8]>) -> CCase {
        self.extra.push((name, text.as_ref().to_vec()));
        self
    }

    pub fn dir_as_path(mut self) -> CCase {
        self.dir_as_path = true;
        self
    }

    pub fn bug(mut self, key: &'static str) -> CCase {
        self.dev = Dev::Bug(key);
        self
    }

    pub fn differs(mut self, corenats: CWant, why: &'static str) -> CCase {
        self.dev = Dev::Differs(corenats, why);
        self
    }

    /// Runs `-t -c` on the file (see [`Dev::expected`] for `strict`). Whatever the verdict, the binary
    /// exits by itself and never panics.
    pub fn check(&self, strict: bool) {
        let dir = TempDir::new();
        let file = format!("{}.conf", self.name);
        let path = if self.dir_as_path {
            dir.path().to_path_buf()
        } else {
            let p = dir.path().join(&file);
            std::fs::write(&p, &self.text).unwrap();
            p
        };
        for (name, text) in &self.extra {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let (code, out) = run_binary(
            &[
                "-t".into(),
                "-c".into(),
                path.to_string_lossy().into_owned(),
            ],
            &dir,
        );
        assert!(
            !out.contains("panicked at") && code != Some(101),
            "panic (exit {code:?}):\n{out}"
        );
        assert!(code.is_some(), "killed by a signal:\n{out}");
        match self.dev.expected(&self.want, strict) {
            None => {}
            Some(CWant::Valid) => {
                assert_eq!(code, Some(0), "{out}");
                assert!(out.contains("is valid"), "{out}");
            }
            Some(CWant::Error(text)) => {
                assert_eq!(code, Some(1), "{out}");
                assert!(out.contains(text), "want {text:?} in:\n{out}");
            }
        }
    }
}
