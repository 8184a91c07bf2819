//! loadgen must fail (exit 1, `"ok":false`) instead of hanging or passing when the server
//! misbehaves: a server that never answers, and one that swallows every message.
//! These use fake servers in the test process, so they need no nats-server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LOADGEN: &str = env!("CARGO_BIN_EXE_loadgen");

/// Runs loadgen against `port` with a 2 s hard timeout; returns (exit code, stdout, secs).
fn run_against(port: u16, args: &[&str]) -> (Option<i32>, String, f64) {
    let started = Instant::now();
    let out = Command::new(LOADGEN)
        .args(["--smoke", "--timeout", "2", "--server"])
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), text, started.elapsed().as_secs_f64())
}

fn assert_failed(code: Option<i32>, text: &str, secs: f64, needle: &str) {
    assert_eq!(code, Some(1), "{text}");
    let json = text.lines().find(|l| l.starts_with('{')).unwrap();
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["ok"], false, "{json}");
    let err = v["error"].as_str().unwrap();
    assert!(err.contains(needle), "error {err:?} lacks {needle:?}");
    assert!(secs < 10.0, "took {secs} s despite a 2 s timeout");
}

#[test]
fn silent_server_times_out() {
    // The kernel completes the TCP handshake, but nothing is ever sent or read.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (code, text, secs) = run_against(port, &["pubsub"]);
    assert_failed(code, &text, secs, "timeout");
    drop(listener);
}

/// Serves the handshake and PING/PONG but never delivers a message.
fn swallowing_server(conn: TcpStream) {
    let mut conn = conn;
    let info = b"INFO {\"server_id\":\"fake\",\"max_payload\":1048576,\"proto\":1} \r\n";
    if conn.write_all(info).is_err() {
        return;
    }
    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
    let mut carry: Vec<u8> = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = conn.read(&mut buf) {
        if n == 0 {
            return;
        }
        carry.extend_from_slice(&buf[..n]);
        let pings = carry.windows(6).filter(|w| w == b"PING\r\n").count();
        for _ in 0..pings {
            if conn.write_all(b"PONG\r\n").is_err() {
                return;
            }
        }
        let keep = carry.len().saturating_sub(5);
        carry.drain(..keep);
        // A PING split across reads is counted once its tail arrives; the five kept bytes
        // cannot hold a whole "PING\r\n", so nothing is counted twice.
    }
}

#[test]
fn lost_messages_are_detected() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || swallowing_server(conn));
        }
    });
    for scenario in [
        &["pubsub"][..],
        &["queue", "--subs", "2"],
        &["reqrep"],
        &["latency"],
    ] {
        let (code, text, secs) = run_against(port, scenario);
        assert_failed(code, &text, secs, "timeout");
    }
}
