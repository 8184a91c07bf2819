//! Runs every scenario in `--smoke` mode against a spawned `nats-server` (skipped when none
//! is on PATH). Set `LOADGEN_TEST_SERVER` to another binary that takes nats-server's flags
//! (`-a`, `-p`, `-c`) to run the same checks against it.

mod support;

use std::process::{Command, Stdio};
use support::{loadgen, server_binary, start_server, LOADGEN};

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
fn plain_connection_handshakes() {
    if let Some(lines) = scenario(&["handshake", "--parallel", "3"], 1) {
        let l = &lines[0];
        assert_eq!(l["handshake"]["conns"], 50, "{l}");
        assert_eq!(l["latency_us"]["count"], 50, "{l}");
        assert!(l["tls"].is_null(), "{l}");
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
