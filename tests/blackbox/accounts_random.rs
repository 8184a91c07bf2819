//! Isolation under load, randomized and seeded, checked against a small reference model.
//!
//! Each round (a fresh server with two shards, so connections spread over both) generates from one seed:
//! 10-12 accounts with 1-3 users each; for every user random publish and subscribe permissions over a small
//! subject alphabet (tokens `a`, `b`, `c`, depth 1-3; literal tokens, `*` and a trailing `>`): no rules,
//! deny only, allow only, or allow and deny, with queue-qualified subscribe entries (`"a.* g1"`) now and
//! then; and two or three stream exports/imports between disjoint exporter and importer accounts (`to` or
//! `prefix` form, sometimes private). Every user connects over raw TCP (some twice), subscribes to random
//! patterns, plain and queue (restricted users too), then publishes random literal subjects.
//!
//! The model predicts every SUB verdict and every PUB verdict with the exact `-ERR` text, and exactly which
//! subscriptions receive each message: plain subscriptions exactly once; each queue group (per account, by
//! queue name across subjects) exactly once among its members allowed to receive, never if none is.
//! Nothing may leave its account other than through an import, under the import's subject.
//!
//! The semantics modelled (docs/ARCHITECTURE.md, src/auth/permissions.rs):
//! * publish: allowed iff (no allow list or an allow entry matches) and no deny entry matches;
//! * SUB of pattern P in queue Q, decided as nats-server does, P's own wildcards read as plain tokens (so
//!   allow `a.*` accepts `SUB a.>`, deny `a.*` refuses it): with an allow list, a plain allow entry must
//!   match P, unless queue-qualified allow entries match P and Q is given, then Q must be one of their
//!   queues; no plain deny entry and no deny entry of queue Q may match P;
//! * delivery: an accepted subscription receives a subject iff it matches and the user could have
//!   subscribed to that literal subject (in that queue) itself. corenats filters at delivery what a
//!   wildcard SUB reaches beyond its allow entries or into its deny entries; nats-server does not always.
//!
//! Ordering without sleeps: each connection's SUBs are followed by a PING whose PONG makes them live on
//! every shard; after all publishes every connection is PINGed (each publisher's PONG means its messages
//! reached every subscriber's outbound buffer), then PINGed again, which collects everything sent to it.
//! On corenats the test also checks, through /metrics, that both shards hold connections.
//!
//! Against real nats-server (`CORENATS_TEST_SERVER=nats-server`) the same test runs, with what the servers
//! deliberately do differently left out of the generation: queue-qualified entries (nats-server lets a
//! non-matching queue entry lift a plain deny); SUBs that reach subjects the user may not subscribe to
//! (nats-server delivers them, unless a deny entry lies inside some wildcard SUB of the connection, after
//! which it filters every delivery of that connection by the deny list); and the same queue names in
//! exporting and importing accounts (nats-server makes them one group). Whether a SUB reaches such
//! subjects is decided by enumerating every literal subject over `a`, `b`, `c` and a fresh token `z` up to
//! depth 4, which is exact for patterns of depth 3 or less.
//!
//! Every assertion names the seed; `CORENATS_SEED=<n>` replays one round (its config is printed on
//! failure), `CORENATS_ROUNDS=<n>` runs more rounds.

use crate::common::monitor::{check_exposition, Mon};
use crate::common::tenancy::*;
use crate::common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

const TOKENS: [&str; 3] = ["a", "b", "c"];
const QUEUES: [&str; 2] = ["g1", "g2"];
/// Queue names of importing accounts against nats-server, which puts an importer's queue subscriptions into
/// the exporter's groups of the same name (one delivery for both accounts); corenats keeps them apart.
const IMPORTER_QUEUES: [&str; 2] = ["h1", "h2"];

// ---------------------------------------------------------------------------------------------------
// The generated world.

/// One permission entry: a subject pattern, optionally queue-qualified (subscribe only).
#[derive(Debug, Clone)]
struct Entry {
    subject: String,
    queue: Option<&'static str>,
}

impl Entry {
    fn render(&self) -> String {
        match self.queue {
            Some(q) => format!("\"{} {q}\"", self.subject),
            None => format!("\"{}\"", self.subject),
        }
    }
}

/// One direction's rules. An empty `allow` means no allow list.
#[derive(Debug, Clone, Default)]
struct Rules {
    allow: Vec<Entry>,
    deny: Vec<Entry>,
}

#[derive(Debug)]
struct User {
    name: String,
    account: usize,
    publish: Rules,
    subscribe: Rules,
}

/// How an import renames the exporter's subjects.
#[derive(Debug)]
enum Rename {
    /// `to: "<t>.>"`: the first token becomes `t`.
    To(&'static str),
    /// `prefix: "<t>"`: `t.` is prepended.
    Prefix(&'static str),
}

/// A stream export of `<token>.>` from `exporter`, imported by `importer`.
#[derive(Debug)]
struct Import {
    exporter: usize,
    importer: usize,
    subject: String,
    rename: Rename,
    private: bool,
}

impl Import {
    /// The subject an exported message has in the importing account, if it is exported at all.
    fn map(&self, subject: &str) -> Option<String> {
        if !subject_matches(&self.subject, subject) {
            return None;
        }
        Some(match self.rename {
            Rename::To(t) => {
                let rest = subject.split_once('.').map_or("", |(_, r)| r);
                format!("{t}.{rest}")
            }
            Rename::Prefix(p) => format!("{p}.{subject}"),
        })
    }
}

struct World {
    accounts: Vec<String>,
    users: Vec<User>,
    imports: Vec<Import>,
}

fn token(rng: &mut StdRng) -> &'static str {
    TOKENS[rng.random_range(0..TOKENS.len())]
}

/// A random pattern of 1-3 tokens: literals, `*`, and sometimes a trailing `>`.
fn pattern(rng: &mut StdRng) -> String {
    let depth = rng.random_range(1..=3);
    let mut t = Vec::new();
    for i in 0..depth {
        let x = rng.random_range(0..100);
        t.push(if i + 1 == depth && x < 22 {
            ">"
        } else if x < 45 {
            "*"
        } else {
            token(rng)
        });
    }
    t.join(".")
}

/// A pattern near `p` (usually inside it): wildcards sometimes replaced by narrower tokens, never deeper
/// than 3 tokens.
fn narrow(rng: &mut StdRng, p: &str) -> String {
    let toks: Vec<&str> = p.split('.').collect();
    let mut out: Vec<&str> = Vec::new();
    for t in toks {
        match t {
            "*" if rng.random_bool(0.5) => out.push(token(rng)),
            ">" => match rng.random_range(0..5) {
                0 | 1 => out.push(">"),
                2 => out.push("*"),
                3 => out.push(token(rng)),
                _ => {
                    out.push(token(rng));
                    if out.len() < 3 {
                        out.push(if rng.random_bool(0.5) { ">" } else { "*" });
                    }
                }
            },
            t => out.push(t),
        }
    }
    out.join(".")
}

/// A pattern around `p` (usually wider): literal tokens sometimes become `*`, a trailing `*` sometimes `>`.
/// Under nats-server's SUB rule allow `a.*` accepts `SUB a.>`, which must then be filtered at delivery.
fn widen(rng: &mut StdRng, p: &str) -> String {
    let toks: Vec<&str> = p.split('.').collect();
    let n = toks.len();
    let mut out: Vec<&str> = Vec::new();
    for (i, t) in toks.into_iter().enumerate() {
        out.push(match t {
            "*" if i + 1 == n && rng.random_bool(0.5) => ">",
            "*" | ">" => t,
            _ if rng.random_bool(0.3) => "*",
            _ if i + 1 == n && rng.random_bool(0.2) => ">",
            _ => t,
        });
    }
    out.join(".")
}

/// A literal subject matching `p`: `*` becomes a token, `>` one or two tokens.
fn instantiate(rng: &mut StdRng, p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for t in p.split('.') {
        match t {
            "*" => out.push(token(rng)),
            ">" => {
                for _ in 0..rng.random_range(1..=2) {
                    out.push(token(rng));
                }
            }
            t => out.push(t),
        }
    }
    out.join(".")
}

/// A random literal subject of 1-3 tokens.
fn literal(rng: &mut StdRng) -> String {
    let depth = rng.random_range(1..=3);
    (0..depth).map(|_| token(rng)).collect::<Vec<_>>().join(".")
}

fn rules(rng: &mut StdRng, subscribe: bool, compat: bool) -> Rules {
    let queue = |rng: &mut StdRng| {
        (subscribe && !compat && rng.random_range(0..6) == 0)
            .then(|| QUEUES[rng.random_range(0..QUEUES.len())])
    };
    let entry = |rng: &mut StdRng| Entry {
        subject: pattern(rng),
        queue: queue(rng),
    };
    let mut r = Rules::default();
    let (allow, deny) = match rng.random_range(0..10) {
        0..=2 => (0, 0),
        3..=4 => (0, rng.random_range(1..=2)),
        5..=7 => (rng.random_range(1..=3), 0),
        _ => (rng.random_range(1..=3), rng.random_range(1..=2)),
    };
    for _ in 0..allow {
        r.allow.push(entry(rng));
    }
    for _ in 0..deny {
        // Often a deny carved out of an allow entry, so that deny overrides allow.
        if !r.allow.is_empty() && rng.random_bool(0.6) {
            let base = r.allow[rng.random_range(0..r.allow.len())].subject.clone();
            r.deny.push(Entry {
                subject: narrow(rng, &base),
                queue: queue(rng),
            });
        } else {
            r.deny.push(entry(rng));
        }
    }
    r
}

fn world(rng: &mut StdRng, compat: bool) -> World {
    let n = rng.random_range(10..=12);
    let accounts: Vec<String> = (0..n).map(|i| format!("ACC{i}")).collect();
    let mut users = Vec::new();
    for account in 0..n {
        for k in 0..rng.random_range(1..=3) {
            users.push(User {
                name: format!("u{account}_{k}"),
                account,
                publish: rules(rng, false, compat),
                subscribe: rules(rng, true, compat),
            });
        }
    }
    // Exporters and importers are disjoint (no chains), and each importer imports once.
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let k = rng.random_range(2..=3);
    let imports = (0..k)
        .map(|i| Import {
            exporter: order[i],
            importer: order[k + i],
            subject: format!("{}.>", token(rng)),
            rename: if rng.random_bool(0.5) {
                Rename::To(token(rng))
            } else {
                Rename::Prefix(token(rng))
            },
            private: rng.random_bool(0.5),
        })
        .collect();
    World {
        accounts,
        users,
        imports,
    }
}

fn render_rules(name: &str, r: &Rules) -> Option<String> {
    let list = |l: &[Entry]| l.iter().map(Entry::render).collect::<Vec<_>>().join(", ");
    let mut parts = Vec::new();
    if !r.allow.is_empty() {
        parts.push(format!("allow: [{}]", list(&r.allow)));
    }
    if !r.deny.is_empty() {
        parts.push(format!("deny: [{}]", list(&r.deny)));
    }
    (!parts.is_empty()).then(|| format!("{name}: {{{}}}", parts.join(", ")))
}

fn config(w: &World) -> String {
    let mut out = String::from("accounts {\n");
    for (a, name) in w.accounts.iter().enumerate() {
        out.push_str(&format!("  {name} {{\n    users: [\n"));
        for u in w.users.iter().filter(|u| u.account == a) {
            let perms: Vec<String> = [
                render_rules("publish", &u.publish),
                render_rules("subscribe", &u.subscribe),
            ]
            .into_iter()
            .flatten()
            .collect();
            let perms = if perms.is_empty() {
                String::new()
            } else {
                format!(", permissions: {{{}}}", perms.join(", "))
            };
            out.push_str(&format!("      {{user: {}, password: x{perms}}}\n", u.name));
        }
        out.push_str("    ]\n");
        let exports: Vec<String> = w
            .imports
            .iter()
            .filter(|i| i.exporter == a)
            .map(|i| match i.private {
                true => format!(
                    "{{stream: \"{}\", accounts: [{}]}}",
                    i.subject, w.accounts[i.importer]
                ),
                false => format!("{{stream: \"{}\"}}", i.subject),
            })
            .collect();
        if !exports.is_empty() {
            out.push_str(&format!("    exports: [{}]\n", exports.join(", ")));
        }
        let imports: Vec<String> = w
            .imports
            .iter()
            .filter(|i| i.importer == a)
            .map(|i| {
                let rename = match i.rename {
                    Rename::To(t) => format!("to: \"{t}.>\""),
                    Rename::Prefix(p) => format!("prefix: \"{p}\""),
                };
                format!(
                    "{{stream: {{account: {}, subject: \"{}\"}}, {rename}}}",
                    w.accounts[i.exporter], i.subject
                )
            })
            .collect();
        if !imports.is_empty() {
            out.push_str(&format!("    imports: [{}]\n", imports.join(", ")));
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

// ---------------------------------------------------------------------------------------------------
// The reference model.

/// The entries of `list` that match `p` with `p`'s own wildcards read as plain tokens (nats-server's SUB
/// check): whether a plain entry does, and the queue names of the queue-qualified ones that do.
fn matching<'a>(list: &'a [Entry], p: &str) -> (bool, Vec<&'a str>) {
    let hits = list.iter().filter(|e| subject_matches(&e.subject, p));
    let (mut plain, mut queues) = (false, Vec::new());
    for e in hits {
        match e.queue {
            None => plain = true,
            Some(q) => queues.push(q),
        }
    }
    (plain, queues)
}

/// SUB `p` (queue `q`) is accepted: with an allow list, a plain entry must match, unless queue-qualified
/// entries match and `q` is given, then `q` must be one of their queues; no plain deny entry and no deny
/// entry of queue `q` may match.
fn sub_accepted(u: &User, p: &str, q: Option<&str>) -> bool {
    let r = &u.subscribe;
    if !r.allow.is_empty() {
        let (plain, queues) = matching(&r.allow, p);
        let ok = match q {
            Some(q) if !queues.is_empty() => queues.contains(&q),
            _ => plain,
        };
        if !ok {
            return false;
        }
    }
    let (plain, queues) = matching(&r.deny, p);
    !(plain || q.is_some_and(|q| queues.contains(&q)))
}

/// An accepted subscription `p` (queue `q`) of `u` receives `subject` iff it matches and `u` could have
/// subscribed to `subject` itself.
fn delivered(u: &User, p: &str, q: Option<&str>, subject: &str) -> bool {
    subject_matches(p, subject) && sub_accepted(u, subject, q)
}

fn can_publish(u: &User, subject: &str) -> bool {
    let r = &u.publish;
    (r.allow.is_empty() || r.allow.iter().any(|e| subject_matches(&e.subject, subject)))
        && !r.deny.iter().any(|e| subject_matches(&e.subject, subject))
}

/// Every literal subject over `a`, `b`, `c` and a fresh token, depth 1-4. For patterns of depth <= 3, if
/// some subject matches some of them and not others, one in this set does (replace what only wildcards
/// cover by the fresh token, cut to 4 tokens), so "some / every subject inside P ..." can be decided here.
fn universe() -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    let mut level: Vec<String> = vec![String::new()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for prefix in &level {
            for t in ["a", "b", "c", "z"] {
                next.push(if prefix.is_empty() {
                    t.to_string()
                } else {
                    format!("{prefix}.{t}")
                });
            }
        }
        all.extend(next.iter().cloned());
        level = next;
    }
    all
}

/// True when nats-server delivers to this SUB exactly what corenats does (both accept or refuse it
/// alike: same rule). nats-server applies no allow filter at delivery, and a deny filter (all deny
/// entries, for every subscription of the connection) only once a wildcard SUB contained a deny entry.
/// So: every subject the SUB matches must be allowed, and if some is denied, a deny entry must lie inside
/// the SUB. (Called only without queue-qualified entries.)
fn nats_server_agrees(universe: &[String], u: &User, p: &str, q: Option<&str>) -> bool {
    if !sub_accepted(u, p, q) {
        return true;
    }
    let r = &u.subscribe;
    let inside: Vec<&String> = universe.iter().filter(|s| subject_matches(p, s)).collect();
    let allowed =
        |s: &str| r.allow.is_empty() || r.allow.iter().any(|e| subject_matches(&e.subject, s));
    let denied = |s: &str| r.deny.iter().any(|e| subject_matches(&e.subject, s));
    if !inside.iter().all(|s| allowed(s)) {
        return false;
    }
    !inside.iter().any(|s| denied(s))
        || r.deny.iter().any(|d| {
            universe
                .iter()
                .all(|s| !subject_matches(&d.subject, s) || subject_matches(p, s))
        })
}

// ---------------------------------------------------------------------------------------------------
// The wire.

/// What a connection received up to a PONG.
#[derive(Default)]
struct Received {
    /// (sid, subject, message id)
    msgs: Vec<(u32, String, u32)>,
    /// `-ERR` texts, without the quotes.
    errs: Vec<String>,
}

/// Sends PING and reads MSGs and `-ERR`s until the PONG.
fn drain(c: &mut Raw, seed: u64, into: &mut Received) {
    c.send(b"PING\r\n");
    loop {
        let line = c.expect_line();
        if line == "PONG" {
            return;
        }
        if let Some(e) = line.strip_prefix("-ERR '") {
            into.errs.push(e.trim_end_matches('\'').to_string());
            continue;
        }
        let parts: Vec<&str> = line.split(' ').collect();
        assert!(
            parts.len() == 4 && parts[0] == "MSG",
            "seed {seed}: unexpected line {line:?}"
        );
        let size: usize = parts[3].parse().unwrap();
        let body = c.expect_bytes(size);
        c.expect(b"\r\n");
        let id = String::from_utf8_lossy(&body)
            .parse()
            .unwrap_or_else(|_| panic!("seed {seed}: bad payload in {line:?}"));
        into.msgs
            .push((parts[2].parse().unwrap(), parts[1].to_string(), id));
    }
}

// ---------------------------------------------------------------------------------------------------
// One round.

/// An accepted subscription.
struct Sub {
    conn: usize,
    sid: u32,
    pattern: String,
    queue: Option<&'static str>,
}

/// An accepted publish.
struct Published {
    conn: usize,
    subject: String,
}

/// Prints the seed and the config if the round panics (the harness' own panics do not name the seed).
struct OnPanic {
    seed: u64,
    config: String,
}

impl Drop for OnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "accounts_random FAILED with seed {} (replay: CORENATS_SEED={}); config:\n{}",
                self.seed, self.seed, self.config
            );
        }
    }
}

fn round(seed: u64, universe: &[String]) {
    let compat = !is_corenats();
    let mut rng = StdRng::seed_from_u64(seed);
    let w = world(&mut rng, compat);
    let conf = config(&w);
    let _guard = OnPanic {
        seed,
        config: conf.clone(),
    };
    let m = Mon::start(ServerOpts {
        config: Some(conf),
        cores: Some(2),
        ..ServerOpts::default()
    });
    let s = &m.server;

    // Connections: every user once, some twice.
    let mut conn_user: Vec<usize> = Vec::new();
    for u in 0..w.users.len() {
        conn_user.push(u);
        if rng.random_range(0..4) == 0 {
            conn_user.push(u);
        }
    }
    let mut conns: Vec<Raw> = conn_user
        .iter()
        .map(|&u| login(s, &w.users[u].name, "x"))
        .collect();
    if !compat {
        // Both shards hold connections (SO_REUSEPORT spreads them; with 10 or more, typically 25, all on
        // one shard is vanishingly unlikely).
        let text = m.get("/metrics").body;
        let per_shard: Vec<f64> = check_exposition(&text)
            .unwrap()
            .iter()
            .filter(|x| x.name == "corenats_shard_connections")
            .map(|x| x.value)
            .collect();
        assert!(
            per_shard.len() == 2 && per_shard.iter().all(|n| *n > 0.0),
            "seed {seed}: connections per shard {per_shard:?}"
        );
    }
    let mut got: Vec<Received> = conns.iter().map(|_| Received::default()).collect();

    // Subscriptions, each connection's made live by its PONG before anyone publishes.
    let mut subs: Vec<Sub> = Vec::new();
    let (mut nr_sub, mut nr_sub_refused, mut nr_sub_skipped) = (0, 0, 0);
    for (conn, c) in conns.iter_mut().enumerate() {
        let u = &w.users[conn_user[conn]];
        let own: Vec<&Entry> = u.subscribe.allow.iter().chain(&u.subscribe.deny).collect();
        let imported: Vec<String> = w
            .imports
            .iter()
            .filter(|i| i.importer == u.account)
            .filter_map(|i| i.map(&instantiate(&mut rng, &i.subject)))
            .collect();
        let queues = match compat && w.imports.iter().any(|i| i.importer == u.account) {
            true => IMPORTER_QUEUES,
            false => QUEUES,
        };
        let mut batch = String::new();
        let mut want_errs = Vec::new();
        for sid in 1..=rng.random_range(1..=5u32) {
            let p = match rng.random_range(0..10) {
                0..=2 if !own.is_empty() => {
                    let e = own[rng.random_range(0..own.len())];
                    narrow(&mut rng, &e.subject)
                }
                3..=4 if !own.is_empty() => {
                    let e = own[rng.random_range(0..own.len())];
                    widen(&mut rng, &e.subject)
                }
                5 if !imported.is_empty() => {
                    let l = &imported[rng.random_range(0..imported.len())];
                    // Widen an imported subject a little so that it catches more.
                    let mut t: Vec<&str> = l.split('.').take(3).collect();
                    let i = rng.random_range(0..t.len());
                    t[i] = if i + 1 == t.len() { ">" } else { "*" };
                    t.join(".")
                }
                _ => pattern(&mut rng),
            };
            let q = (rng.random_range(0..10) < 4).then(|| queues[rng.random_range(0..2)]);
            if compat && !nats_server_agrees(universe, u, &p, q) {
                nr_sub_skipped += 1;
                continue;
            }
            match q {
                Some(q) => batch.push_str(&format!("SUB {p} {q} {sid}\r\n")),
                None => batch.push_str(&format!("SUB {p} {sid}\r\n")),
            }
            nr_sub += 1;
            if sub_accepted(u, &p, q) {
                subs.push(Sub {
                    conn,
                    sid,
                    pattern: p,
                    queue: q,
                });
            } else {
                nr_sub_refused += 1;
                want_errs.push(sub_violation(&p, q));
            }
        }
        c.send(batch.as_bytes());
        let mut r = Received::default();
        drain(c, seed, &mut r);
        assert!(
            r.msgs.is_empty(),
            "seed {seed}: conn {conn} ({}) got messages before anyone published: {:?}",
            u.name,
            r.msgs
        );
        assert_eq!(
            r.errs, want_errs,
            "seed {seed}: conn {conn} ({}): SUB verdicts",
            u.name
        );
    }

    // Publishes: literal subjects, from random patterns, the user's own allow entries, the subscribed
    // patterns and the exported subjects, so that allowed and refused ones, matches and misses all occur.
    let mut published: BTreeMap<u32, Published> = BTreeMap::new();
    let mut want_pub_errs: Vec<Vec<String>> = vec![Vec::new(); conns.len()];
    let mut batches: Vec<String> = vec![String::new(); conns.len()];
    let mut id = 0u32;
    for (conn, batch) in batches.iter_mut().enumerate() {
        let u = &w.users[conn_user[conn]];
        for _ in 0..rng.random_range(10..=50) {
            let subject = match rng.random_range(0..20) {
                0..=4 if !u.publish.allow.is_empty() => {
                    let e = &u.publish.allow[rng.random_range(0..u.publish.allow.len())];
                    instantiate(&mut rng, &e.subject)
                }
                5..=11 if !subs.is_empty() => {
                    let p = subs[rng.random_range(0..subs.len())].pattern.clone();
                    instantiate(&mut rng, &p)
                }
                12..=14 => {
                    let i = &w.imports[rng.random_range(0..w.imports.len())];
                    instantiate(&mut rng, &i.subject)
                }
                15..=16 => {
                    let p = pattern(&mut rng);
                    instantiate(&mut rng, &p)
                }
                _ => literal(&mut rng),
            };
            let body = id.to_string();
            batch.push_str(&format!("PUB {subject} {}\r\n{body}\r\n", body.len()));
            if can_publish(u, &subject) {
                published.insert(id, Published { conn, subject });
            } else {
                want_pub_errs[conn].push(pub_violation(&subject));
            }
            id += 1;
        }
    }
    for (c, b) in conns.iter_mut().zip(&batches) {
        c.send(b.as_bytes());
    }
    // Every publisher's PONG: its messages are in every subscriber's buffer. Then everyone again.
    for (c, r) in conns.iter_mut().zip(got.iter_mut()) {
        drain(c, seed, r);
    }
    for (c, r) in conns.iter_mut().zip(got.iter_mut()) {
        drain(c, seed, r);
        assert!(
            c.pending().is_empty(),
            "seed {seed}: bytes after the last PONG: {}",
            show(c.pending())
        );
    }

    // The model's deliveries.
    // (conn, sid, id) -> subject, for plain subscriptions.
    let mut want_plain: BTreeMap<(usize, u32, u32), String> = BTreeMap::new();
    // (id, account, queue) -> (subject, members), for queue groups with at least one member allowed.
    type Group = (String, Vec<(usize, u32)>);
    let mut want_groups: BTreeMap<(u32, usize, &str), Group> = BTreeMap::new();
    // Subscriptions a message matches but must not reach (the permission filter at delivery).
    let mut nr_filtered = 0;
    for (&id, p) in &published {
        let acc = w.users[conn_user[p.conn]].account;
        let mut targets = vec![(acc, p.subject.clone())];
        for i in w.imports.iter().filter(|i| i.exporter == acc) {
            if let Some(s) = i.map(&p.subject) {
                targets.push((i.importer, s));
            }
        }
        for (acc, subject) in targets {
            for m in &subs {
                let u = &w.users[conn_user[m.conn]];
                if u.account != acc || !subject_matches(&m.pattern, &subject) {
                    continue;
                }
                if !delivered(u, &m.pattern, m.queue, &subject) {
                    nr_filtered += 1;
                    continue;
                }
                match m.queue {
                    None => {
                        want_plain.insert((m.conn, m.sid, id), subject.clone());
                    }
                    Some(q) => want_groups
                        .entry((id, acc, q))
                        .or_insert_with(|| (subject.clone(), Vec::new()))
                        .1
                        .push((m.conn, m.sid)),
                }
            }
        }
    }

    // Compare.
    let describe = |conn: usize, sid: u32, subject: &str, id: u32| {
        let u = &w.users[conn_user[conn]];
        let sub = subs.iter().find(|m| m.conn == conn && m.sid == sid);
        let origin = published.get(&id).map(|p| {
            let pu = &w.users[conn_user[p.conn]];
            format!(
                "published by conn {} ({}, {}) on {:?}",
                p.conn, pu.name, w.accounts[pu.account], p.subject
            )
        });
        format!(
            "message {id} on {subject:?} to conn {conn} ({}, {}) sid {sid} (sub {:?}, queue {:?}); {}",
            u.name,
            w.accounts[u.account],
            sub.map(|m| &m.pattern),
            sub.and_then(|m| m.queue),
            origin.unwrap_or_else(|| "a refused publish".into())
        )
    };
    let mut got_plain: BTreeMap<(usize, u32, u32), usize> = BTreeMap::new();
    let mut got_groups: BTreeMap<(u32, usize, &str), usize> = BTreeMap::new();
    let mut total = 0;
    for (conn, r) in got.iter().enumerate() {
        assert_eq!(
            r.errs, want_pub_errs[conn],
            "seed {seed}: conn {conn} ({}): PUB verdicts",
            w.users[conn_user[conn]].name
        );
        for (sid, subject, id) in &r.msgs {
            total += 1;
            let what = || describe(conn, *sid, subject, *id);
            let m = subs
                .iter()
                .find(|m| m.conn == conn && m.sid == *sid)
                .unwrap_or_else(|| panic!("seed {seed}: delivery on a refused SUB: {}", what()));
            assert!(
                published.contains_key(id),
                "seed {seed}: refused publish delivered: {}",
                what()
            );
            match m.queue {
                None => {
                    let want = want_plain.get(&(conn, *sid, *id));
                    assert_eq!(
                        want,
                        Some(subject),
                        "seed {seed}: unexpected delivery: {}",
                        what()
                    );
                    *got_plain.entry((conn, *sid, *id)).or_default() += 1;
                }
                Some(q) => {
                    let acc = w.users[conn_user[conn]].account;
                    let want = want_groups.get(&(*id, acc, q));
                    assert!(
                        want.is_some_and(
                            |(s, members)| s == subject && members.contains(&(conn, *sid))
                        ),
                        "seed {seed}: unexpected queue delivery: {}",
                        what()
                    );
                    *got_groups.entry((*id, acc, q)).or_default() += 1;
                }
            }
        }
    }
    for ((conn, sid, id), subject) in &want_plain {
        let n = got_plain.get(&(*conn, *sid, *id)).copied().unwrap_or(0);
        assert_eq!(
            n,
            1,
            "seed {seed}: plain delivery count: {}",
            describe(*conn, *sid, subject, *id)
        );
    }
    for ((id, acc, q), (subject, members)) in &want_groups {
        let n = got_groups.get(&(*id, *acc, *q)).copied().unwrap_or(0);
        assert_eq!(
            n, 1,
            "seed {seed}: queue group {q} of {} got message {id} on {subject:?} {n} times; members: {}",
            w.accounts[*acc],
            members
                .iter()
                .map(|(c, sid)| describe(*c, *sid, subject, *id))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    assert_eq!(
        total,
        want_plain.len() + want_groups.len(),
        "seed {seed}: total deliveries"
    );
    eprintln!(
        "seed {seed}: {} accounts, {} users, {} connections, {} imports; {nr_sub} SUBs ({nr_sub_refused} \
         refused, {nr_sub_skipped} left out); {id} PUBs ({} refused); {} plain + {} queue deliveries, \
         {nr_filtered} filtered",
        w.accounts.len(),
        w.users.len(),
        conns.len(),
        w.imports.len(),
        id as usize - published.len(),
        want_plain.len(),
        want_groups.len()
    );
}

#[test]
fn random_traffic_respects_accounts_and_permissions() {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let base = env("CORENATS_SEED").unwrap_or(0x5eed_2024);
    let rounds = match (env("CORENATS_SEED"), env("CORENATS_ROUNDS")) {
        (_, Some(n)) => n,
        (Some(_), None) => 1,
        (None, None) => 16,
    };
    let universe = universe();
    for r in 0..rounds {
        let seed = base.wrapping_add(r);
        eprintln!("accounts_random: seed {seed}");
        round(seed, &universe);
    }
}
