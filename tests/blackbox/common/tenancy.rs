//! Helpers for the multi-tenancy tests (auth_*, perm_*, accounts_*, reload_*, configs_cli): logging in
//! with credentials, attempting a login and reading the verdict, reloading a config and knowing when the
//! reload happened, and bounded polling.
//!
//! Included from a test file with `#[path = "common/tenancy.rs"] mod tenancy;` next to `mod common;`.
#![allow(dead_code)]

use crate::common::{Raw, Server, TIMEOUT};
use std::thread;
use std::time::{Duration, Instant};

/// The log line both servers print once a SIGHUP reload was accepted.
pub const RELOADED: &str = "Reloaded server configuration";
/// The log line both servers print when a SIGHUP reload was refused.
pub const RELOAD_FAILED: &str = "Failed to reload server configuration";

/// A quiet CONNECT body (verbose/pedantic off, headers on) with extra JSON fields appended.
pub fn connect_json(extra: &str) -> String {
    if extra.is_empty() {
        r#"{"verbose":false,"pedantic":false,"headers":true}"#.to_string()
    } else {
        format!(r#"{{"verbose":false,"pedantic":false,"headers":true,{extra}}}"#)
    }
}

/// The CONNECT fields for a user and password.
pub fn user_pass(user: &str, pass: &str) -> String {
    format!(r#""user":"{user}","pass":"{pass}""#)
}

/// A ready connection logged in as `user`/`pass` (CONNECT, then PING/PONG).
pub fn login(s: &Server, user: &str, pass: &str) -> Raw {
    Raw::ready_with(s.port(), &connect_json(&user_pass(user, pass)))
}

/// Sends `CONNECT <json>` and a PING on a fresh connection; Ok(conn) on PONG, Err(line) on anything else
/// (the connection is then checked to be closed when the line is an `-ERR`).
pub fn try_login_json(s: &Server, json: &str) -> Result<Raw, String> {
    let mut c = s.raw();
    c.send(format!("CONNECT {json}\r\nPING\r\n").as_bytes());
    let line = c.expect_line();
    if line == "PONG" {
        return Ok(c);
    }
    if line.starts_with("-ERR") {
        c.expect_closed();
    }
    Err(line)
}

/// [`try_login_json`] with a user and password.
pub fn try_login(s: &Server, user: &str, pass: &str) -> Result<Raw, String> {
    try_login_json(s, &connect_json(&user_pass(user, pass)))
}

/// Asserts that `json` is refused with exactly `-ERR 'Authorization Violation'` and a close.
pub fn assert_login_refused(s: &Server, json: &str) {
    let mut c = s.raw();
    c.send(format!("CONNECT {json}\r\n").as_bytes());
    c.expect_err_closed("Authorization Violation");
}

/// How many times `needle` occurs in the server log so far.
pub fn log_count(s: &Server, needle: &str) -> usize {
    s.log().matches(needle).count()
}

/// Polls `f` every 20 ms until it returns true; panics with `what` after [`TIMEOUT`].
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if f() {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Rewrites the config file, sends SIGHUP and waits until the log says the reload was applied.
/// (corenats logs this once every shard has been told; callers that need a shard to have acted poll.)
pub fn reload(s: &Server, text: &str) {
    let before = log_count(s, RELOADED);
    s.rewrite_conf(text);
    s.signal("HUP");
    wait_until("the reload log line", || log_count(s, RELOADED) > before);
}

/// Rewrites the config file with a broken text, sends SIGHUP and waits for the failure log line;
/// returns the log text from that line on.
pub fn reload_broken(s: &Server, text: &str) -> String {
    let before = log_count(s, RELOAD_FAILED);
    s.rewrite_conf(text);
    s.signal("HUP");
    wait_until("the reload failure log line", || {
        log_count(s, RELOAD_FAILED) > before
    });
    let log = s.log();
    let at = log.rfind(RELOAD_FAILED).unwrap_or(0);
    log[at..].to_string()
}

/// True when `subject` (a literal) matches `pattern` (which may hold `*` and `>`).
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let s: Vec<&str> = subject.split('.').collect();
    for (i, tok) in p.iter().enumerate() {
        if *tok == ">" {
            return s.len() > i;
        }
        match s.get(i) {
            None => return false,
            Some(t) if *tok == "*" || tok == t => {}
            Some(_) => return false,
        }
    }
    p.len() == s.len()
}

/// `-ERR` text for a denied publish.
pub fn pub_violation(subject: &str) -> String {
    format!("Permissions Violation for Publish to \"{subject}\"")
}

/// `-ERR` text for a denied subscription (optionally queue).
pub fn sub_violation(subject: &str, queue: Option<&str>) -> String {
    match queue {
        Some(q) => {
            format!("Permissions Violation for Subscription to \"{subject}\" using queue \"{q}\"")
        }
        None => format!("Permissions Violation for Subscription to \"{subject}\""),
    }
}

/// Polls the connections until `want` of them are closed (a reload closing the ones over a lowered
/// limit, any of them); returns the closed and the open ones.
pub fn wait_closed(mut open: Vec<Raw>, want: usize) -> (Vec<Raw>, Vec<Raw>) {
    let mut closed = Vec::new();
    wait_until("connections over the lowered limit to be closed", || {
        let mut i = 0;
        while i < open.len() {
            if open[i].closed_within(Duration::from_millis(5)) {
                closed.push(open.remove(i));
            } else {
                i += 1;
            }
        }
        closed.len() >= want
    });
    (closed, open)
}
