//! `--explain` agrees with the running server: for randomized subjects (wildcards, queues, mapped subjects)
//! against configurations with overlapping allow/deny lists, queue-qualified entries, mappings,
//! `default_permissions` (account and `authorization`) and `allow_responses`, the exit status of
//! `corenats -c FILE --explain USER --pub/--sub ...` is what a live connection of that user gets: a publish
//! delivered or `-ERR 'Permissions Violation for Publish to ...'`, a SUB accepted or refused. Also the bad
//! questions (exit 2) and the founding example. corenats only. `CORENATS_SEED=<n>` replays a seed.

use crate::common::tenancy::*;
use crate::common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

/// An account with its own `default_permissions`, mappings, queue-qualified entries and `allow_responses`.
const ACCOUNT_CONF: &str = r#"
accounts {
  A {
    default_permissions: {
      publish: { deny: ["b.>", "*.secret"] }
      subscribe: { allow: ["a.*", "b.>", "c.* g1"], deny: ["b.secret"] }
    }
    mappings: { "m.*": "a.$1", "n.>": "b.>" }
    users: [
      {user: spy, password: x, permissions: {publish: ">", subscribe: ">"}}
      {user: w, password: x, permissions: {
         publish: {allow: ["a.>", "b.*", "m.x"], deny: ["a.secret", "a.*.c"]},
         subscribe: {allow: ["a.>", "b.* g1", "b.* g2.*", "c.*"], deny: ["a.secret", "a.*.c g1", "> bad"]}}}
      {user: d, password: x}
      {user: r, password: x, permissions: {publish: {deny: "c.>"}, subscribe: "a.>", allow_responses: true}}
    ]
  }
}
"#;

/// The global account: the `authorization` block's `default_permissions` and top-level mappings.
const GLOBAL_CONF: &str = r#"
authorization {
  default_permissions: {
    publish: ["a.*", "b.>"]
    subscribe: { deny: ["a.b", "c.>", "x.* g1"] }
  }
  users: [
    {user: spy, password: x, permissions: {publish: ">", subscribe: ">"}}
    {user: g, password: x}
    {user: o, password: x, permissions: {publish: {allow: ">", deny: ["a.*"]},
                                         subscribe: {allow: ["*.a", "b.>", "x.> g1"], deny: "b.a"}}}
  ]
}
mappings: { "x.*": "a.$1", "c.c": "secret" }
"#;

const TOKENS: [&str; 8] = ["a", "b", "c", "x", "m", "n", "secret", "g1"];
const QUEUES: [&str; 5] = ["g1", "g2.x", "bad", "q", "g2"];

fn seed() -> u64 {
    match std::env::var("CORENATS_SEED") {
        Ok(s) if !s.is_empty() => s.parse().expect("CORENATS_SEED must be a number"),
        _ => rand::random(),
    }
}

/// A random literal subject of 1-3 tokens.
fn literal(rng: &mut StdRng) -> String {
    let n = rng.random_range(1..=3);
    (0..n)
        .map(|_| TOKENS[rng.random_range(0..TOKENS.len())])
        .collect::<Vec<_>>()
        .join(".")
}

/// A random subscription subject of 1-3 tokens: literals, `*`, and sometimes a final `>`.
fn pattern(rng: &mut StdRng) -> String {
    let n = rng.random_range(1..=3);
    (0..n)
        .map(|i| match rng.random_range(0..10) {
            0..=1 => "*",
            2 if i + 1 == n => ">",
            _ => TOKENS[rng.random_range(0..TOKENS.len())],
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Runs `--explain` against the server's config file; returns (exit code, output).
fn explain(conf: &Path, dir: &TempDir, user: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut v: Vec<String> = vec![
        "-c".into(),
        conf.to_string_lossy().into_owned(),
        "--explain".into(),
        user.into(),
    ];
    v.extend(args.iter().map(|s| s.to_string()));
    run_binary(&v, dir)
}

/// Reads the reply to a command followed by PING: `true` for a bare PONG, `false` for an `-ERR` starting
/// with `err_prefix` (then the PONG).
fn accepted(c: &mut Raw, err_prefix: &str, what: &str) -> bool {
    let line = c.expect_line();
    if line == "PONG" {
        return true;
    }
    assert!(
        line.starts_with(&format!("-ERR '{err_prefix}")),
        "{what}: unexpected {line:?}"
    );
    c.expect(b"PONG\r\n");
    false
}

/// For each user, `rounds` random publishes and subscriptions: `--explain`'s exit status against the live
/// verdict.
fn agree(conf_text: &str, users: &[&str], rounds: usize) {
    if !is_corenats() {
        return;
    }
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let s = Server::start(ServerOpts::conf(conf_text));
    let conf = s.conf_path().expect("config file").to_path_buf();
    let dir = TempDir::new();
    let mut spy = login(&s, "spy", "x");
    spy.send(b"SUB > 1\r\n");
    spy.ping_pong();
    let mut n = 0u32;
    // [publish, subscribe] x [denied, allowed]: both verdicts must have come up.
    let mut seen = [[0u32; 2]; 2];
    for user in users {
        let mut p = login(&s, user, "x");
        for _ in 0..rounds {
            let subj = literal(&mut rng);
            let what = format!("seed {seed}: {user} publish {subj}");
            let (code, out) = explain(&conf, &dir, user, &["--pub", &subj]);
            assert!(!out.contains("internal:"), "{what}:\n{out}");
            n += 1;
            let body = format!("p{n}");
            p.send(format!("PUB {subj} {}\r\n{body}\r\nPING\r\n", body.len()).as_bytes());
            let live = accepted(&mut p, "Permissions Violation for Publish to ", &what);
            if live {
                let m = spy.read_msg();
                assert_eq!(
                    String::from_utf8_lossy(&m.payload),
                    body,
                    "{what}: delivered"
                );
            }
            seen[0][usize::from(live)] += 1;
            let want = if live { Some(0) } else { Some(1) };
            assert_eq!(
                code, want,
                "{what}: live allowed={live}; explain said:\n{out}"
            );
        }
        let mut c = login(&s, user, "x");
        for sid in 0..rounds {
            let subj = pattern(&mut rng);
            let queue = rng
                .random_bool(0.4)
                .then(|| QUEUES[rng.random_range(0..QUEUES.len())]);
            let what = format!("seed {seed}: {user} subscribe {subj} queue {queue:?}");
            let mut args = vec!["--sub", subj.as_str()];
            if let Some(q) = queue {
                args.extend(["--queue", q]);
            }
            let (code, out) = explain(&conf, &dir, user, &args);
            assert!(!out.contains("internal:"), "{what}:\n{out}");
            match queue {
                Some(q) => c.send(format!("SUB {subj} {q} {sid}\r\nPING\r\n").as_bytes()),
                None => c.send(format!("SUB {subj} {sid}\r\nPING\r\n").as_bytes()),
            }
            let live = accepted(&mut c, "Permissions Violation for Subscription to ", &what);
            if live {
                c.send(format!("UNSUB {sid}\r\n").as_bytes());
            }
            seen[1][usize::from(live)] += 1;
            let want = if live { Some(0) } else { Some(1) };
            assert_eq!(
                code, want,
                "{what}: live allowed={live}; explain said:\n{out}"
            );
        }
        c.ping_pong();
    }
    spy.expect_nothing();
    assert!(
        seen.iter().flatten().all(|k| *k > 0),
        "seed {seed}: [pub, sub] x [denied, allowed] = {seen:?}"
    );
}

#[test]
fn agrees_with_server_in_an_account() {
    agree(ACCOUNT_CONF, &["w", "d", "r"], 30);
}

#[test]
fn agrees_with_server_in_the_global_account() {
    agree(GLOBAL_CONF, &["g", "o"], 30);
}

#[test]
fn bad_questions_exit_2() {
    if !is_corenats() {
        return;
    }
    let dir = TempDir::new();
    let conf = dir.write("e.conf", ACCOUNT_CONF);
    let (code, out) = explain(&conf, &dir, "nobody", &["--pub", "a"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(
            "\"nobody\" not present as user or nkey in authorization block or account configuration"
        ),
        "{out}"
    );
    let (code, out) = explain(&conf, &dir, "w", &["--sub", "a..b"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("Invalid Subject"), "{out}");
    let (code, out) = explain(&conf, &dir, "w", &["--pub", "a.>"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("Invalid Publish Subject"), "{out}");
    let (code, out) = explain(&conf, &dir, "w", &[]);
    assert_eq!(code, Some(2), "{out}");
    let (code, out) = explain(&conf, &dir, "w", &["--pub", "a", "--queue", "q"]);
    assert_eq!(code, Some(2), "{out}");
}

#[test]
fn founding_example() {
    if !is_corenats() {
        return;
    }
    let dir = TempDir::new();
    let conf = dir.write(
        "seed.conf",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/nats-server.conf")),
    );
    let (code, out) = explain(&conf, &dir, "user:a", &["--pub", "service.a.heartbeat"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("\"account:a\""), "{out}");
    let (code, out) = explain(&conf, &dir, "user:b", &["--sub", "service.a.heartbeat"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no allow entry matches"), "{out}");
    let (code, out) = explain(&conf, &dir, "user:b", &["--sub", "service.b.>"]);
    assert_eq!(code, Some(0), "{out}");
}
