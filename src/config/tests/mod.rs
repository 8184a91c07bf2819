//! End-to-end tests of the config loader: text in, `Config` / diagnostics out.

mod accounts;
mod auth;
mod bad_files;
mod cluster;
mod docs;
mod hcl_files;
mod leaf;
mod seed;
mod server;
mod tls;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{load_text, ConfigError, Diagnostic, Loaded, Severity};

/// Loads `text` as `test.conf` with an empty environment; panics with the diagnostics on error.
pub fn ok(text: &str) -> Loaded {
    with_env(text, "test.conf", &[], false).unwrap_or_else(|e| panic!("unexpected error:\n{e}"))
}

/// Loads `text` expecting failure.
pub fn err(text: &str) -> ConfigError {
    match with_env(text, "test.conf", &[], false) {
        Ok(l) => panic!("expected an error, got {:?}", l.config),
        Err(e) => e,
    }
}

/// Loads `text` in pedantic mode.
pub fn pedantic(text: &str) -> Result<Loaded, ConfigError> {
    with_env(text, "test.conf", &[], true)
}

/// Loads `text` as file `name` with the given environment variables.
pub fn with_env(
    text: &str,
    name: &str,
    env: &[(&str, &str)],
    pedantic: bool,
) -> Result<Loaded, ConfigError> {
    let table: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |n: &str| table.get(n).cloned();
    let strictness = if pedantic {
        crate::config::Strictness::Pedantic
    } else {
        crate::config::Strictness::Start
    };
    load_text(text, Path::new(name), strictness, &lookup)
}

/// The crate's `tests/configs` folder.
pub fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("configs")
}

/// `line:col message` of each diagnostic, for compact assertions.
pub fn short(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| format!("{}:{} {}", d.span.line, d.span.col, d.message))
        .collect()
}

/// True when one diagnostic is at `line` and its message contains `text`.
pub fn has(diags: &[Diagnostic], line: u32, text: &str) -> bool {
    diags
        .iter()
        .any(|d| d.span.line == line && d.message.contains(text))
}

#[test]
fn display_formats() {
    let e = err("a: 1\nmax_payload: abc\nport: x\n");
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "test.conf:1:0: unknown field \"a\"");
    assert!(
        lines[1].starts_with("test.conf:2:14: invalid value for \"max_payload\""),
        "{text}"
    );
    assert!(
        lines[2].starts_with("test.conf:3:7: invalid value for \"port\""),
        "{text}"
    );
    assert!(e.diagnostics.iter().all(|d| d.severity == Severity::Error));
}

#[test]
fn digest_is_nats_servers() {
    // `nats-server -t` printed this digest for this file.
    let l = ok("port: 4222\n");
    assert_eq!(
        l.digest,
        "sha256:797533ebd0dfba7d34a0f9337ecf147e442871f48ddfd07ed751575a5737267e"
    );
}

/// Randomly mutated configs never panic the loader (they load or give diagnostics).
#[test]
fn mutated_inputs_never_panic() {
    let seeds = [
        include_str!("../../../tests/configs/seed-example.conf"),
        "authorization { users: [ {user: a, permissions: {publish: {allow: [\"a.>\"]}, allow_responses: {max: 2}}} ] }\n",
        "accounts { A { exports: [ {service: s} ] }, B { imports: [ {service: {account: A, subject: s}, to: t} ] } }\nmappings { a: [ {destination: b, weight: 50%} ] }\n",
        "x = (\nblock\n)\nv: $2a$11$abc\nn: [1k, -2.5, 3MB, 2020-01-02T03:04:05Z, 'q', \"\\x41\"]\n",
    ];
    let alphabet: &[u8] = b" \t\n{}[]():=,;#/\"'$\\-.0123456789kmbKMBaxz>*";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let mut bytes = seeds[round % seeds.len()].as_bytes().to_vec();
        for _ in 0..(1 + next() % 4) {
            let pos = (next() as usize) % (bytes.len() + 1);
            let c = alphabet[(next() as usize) % alphabet.len()];
            match next() % 3 {
                0 if pos < bytes.len() => bytes[pos] = c,
                1 if pos < bytes.len() => {
                    bytes.remove(pos);
                }
                _ => bytes.insert(pos, c),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let name = if round % 7 == 0 { "f.hcl" } else { "f.conf" };
        let _ = with_env(&text, name, &[("E", "[1, {a: $E}]")], round % 2 == 0);
    }
}
