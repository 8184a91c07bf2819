//! The deployment files in `deploy/`: the container image (built when `CORENATS_TEST_DOCKER=1` and a
//! container engine answers; otherwise its structure is checked: multi-stage, non-root, the four
//! ports, a health check on `/healthz`), the configuration it ships (valid for `-t`), the systemd
//! unit (checked by `systemd-analyze verify` when the machine has it) and the logrotate snippet.

use crate::common::server::{run_binary, TempDir};
use std::path::{Path, PathBuf};
use std::process::Command;

fn file(name: &str) -> (PathBuf, String) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (p, text)
}

/// The instructions of a Dockerfile (continuation lines joined, comments dropped).
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && cur.is_empty()) {
            continue;
        }
        if let Some(body) = t.strip_suffix('\\') {
            cur.push_str(body);
            cur.push(' ');
            continue;
        }
        cur.push_str(t);
        if let Some((op, rest)) = cur.trim().split_once(char::is_whitespace) {
            out.push((op.to_ascii_uppercase(), rest.trim().to_string()));
        }
        cur.clear();
    }
    out
}

#[test]
fn the_image_is_multi_stage_non_root_and_checks_its_health() {
    let (path, text) = file("Dockerfile");
    let ins = instructions(&text);
    let count = |op: &str| ins.iter().filter(|(o, _)| o == op).count();
    assert!(count("FROM") >= 2, "not multi-stage: {ins:?}");
    assert!(
        ins.iter()
            .any(|(o, a)| o == "COPY" && a.starts_with("--from=")),
        "the final stage copies nothing from the build stage"
    );
    let user = ins
        .iter()
        .rev()
        .find(|(o, _)| o == "USER")
        .map(|(_, a)| a.clone())
        .expect("a USER instruction");
    assert!(user != "root" && user != "0", "runs as {user}");
    let exposed: Vec<&str> = ins
        .iter()
        .filter(|(o, _)| o == "EXPOSE")
        .flat_map(|(_, a)| a.split_whitespace())
        .collect();
    for p in ["4222", "8222", "6222", "7422"] {
        assert!(exposed.contains(&p), "{p} not exposed: {exposed:?}");
    }
    let health = ins
        .iter()
        .find(|(o, _)| o == "HEALTHCHECK")
        .map(|(_, a)| a.clone())
        .expect("a HEALTHCHECK");
    assert!(health.contains("/healthz"), "{health}");
    // Build it when asked to and an engine answers (a release build inside: minutes).
    let engine = Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success());
    if std::env::var_os("CORENATS_TEST_DOCKER").is_some() && engine {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let st = Command::new("docker")
            .args(["build", "-f"])
            .arg(&path)
            .args(["-t", "corenats-test", "."])
            .current_dir(root)
            .status()
            .expect("docker build");
        assert!(st.success(), "docker build failed");
    }
}

#[test]
fn the_images_configuration_is_valid() {
    let (path, _) = file("corenats.conf");
    let dir = TempDir::new();
    let (code, out) = run_binary(
        &["-t".into(), "-c".into(), path.display().to_string()],
        &dir,
    );
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn the_systemd_unit_restarts_reloads_and_raises_its_limits() {
    let (path, text) = file("corenats.service");
    for want in [
        "Restart=on-failure",
        "LimitMEMLOCK=",
        "LimitNOFILE=",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ExecStart=/usr/local/bin/corenats -c ",
    ] {
        assert!(text.contains(want), "no {want:?} in the unit");
    }
    let analyze = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output();
    if let Ok(o) = analyze {
        let err = String::from_utf8_lossy(&o.stderr);
        // The binary path and the user need not exist on a test machine.
        let real: Vec<&str> = err
            .lines()
            .filter(|l| !l.contains("/usr/local/bin/corenats") && !l.trim().is_empty())
            .filter(|l| !l.contains("Failed to resolve") && !l.contains("user"))
            .collect();
        assert!(real.is_empty(), "systemd-analyze verify:\n{err}");
    }
}

#[test]
fn logrotate_reopens_the_log_with_the_signal_command() {
    let (_, text) = file("corenats.logrotate");
    assert!(text.contains("--signal reopen="), "{text}");
    assert!(text.contains("postrotate") && text.contains("endscript"));
}
