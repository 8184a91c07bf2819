//! Isolation under load, randomized and seeded: several accounts with restricted and unrestricted users,
//! random subjects (the same names in every account), subscriber and publisher connections spread over two
//! shards. Every `-ERR` and every delivered message is checked against a small reference model (account,
//! subject match, publish/subscribe permissions, deny filtering at delivery, one copy per queue group):
//! nothing outside its account or against a permission, and nothing missing.
//!
//! The seed is printed; set `CORENATS_SEED=<n>` to replay one.
mod common;
#[path = "common/tenancy.rs"]
mod tenancy;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tenancy::*;

/// (user, account, publish allow, publish deny, subscribe allow, subscribe deny). `None` = no list.
/// Subscribe entries are literal tokens with an optional trailing `>` (no `*`), where corenats' subset
/// rule and nats-server's literal-token rule agree (see perm_forms.rs for where they differ).
type UserDef = (
    &'static str,
    &'static str,
    Option<&'static [&'static str]>,
    Option<&'static [&'static str]>,
    Option<&'static [&'static str]>,
    Option<&'static [&'static str]>,
);

const USERS: &[UserDef] = &[
    ("a_all", "A", None, None, None, None),
    (
        "a_pub",
        "A",
        Some(&["s.*", "t.>"]),
        None,
        Some(&["s.>", "t.>"]),
        Some(&["s.3"]),
    ),
    (
        "a_sub",
        "A",
        None,
        Some(&["t.>"]),
        None,
        Some(&["t.1.y", "u.>"]),
    ),
    ("b_all", "B", None, None, None, None),
    (
        "b_lim",
        "B",
        Some(&["s.>"]),
        None,
        Some(&["s.>", "u.>"]),
        None,
    ),
    ("c_all", "C", None, None, None, None),
    (
        "c_deny",
        "C",
        Some(&[">"]),
        Some(&["s.0", "u.>"]),
        None,
        Some(&["s.1", "t.>"]),
    ),
];

/// Subjects publishers use (literal).
const PUB_SUBJECTS: &[&str] = &[
    "s.0", "s.1", "s.2", "s.3", "t.0.x", "t.1.x", "t.1.y", "u.a", "u.b.c", "v",
];
/// Subjects subscribers use.
const SUB_SUBJECTS: &[&str] = &[
    "s.0", "s.1", "s.3", "t.1.y", "u.a", "v", "s.*", "s.>", "t.>", "t.*.x", "t.1.*", "*.a", "u.>",
    ">", "*.*",
];

fn list(l: Option<&[&str]>) -> String {
    let items: Vec<String> = l
        .unwrap_or(&[])
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect();
    format!("[{}]", items.join(", "))
}

fn config() -> String {
    let mut out = String::from("accounts {\n");
    for acc in ["A", "B", "C"] {
        out.push_str(&format!("  {acc} {{ users: [\n"));
        for (u, a, pa, pd, sa, sd) in USERS {
            if *a != acc {
                continue;
            }
            let mut perms = Vec::new();
            let mut dir = |name: &str, allow: &Option<&[&str]>, deny: &Option<&[&str]>| {
                let mut parts = Vec::new();
                if allow.is_some() {
                    parts.push(format!("allow: {}", list(*allow)));
                }
                if deny.is_some() {
                    parts.push(format!("deny: {}", list(*deny)));
                }
                if !parts.is_empty() {
                    perms.push(format!("{name}: {{{}}}", parts.join(", ")));
                }
            };
            dir("publish", pa, pd);
            dir("subscribe", sa, sd);
            let perms = if perms.is_empty() {
                String::new()
            } else {
                format!(", permissions: {{{}}}", perms.join(", "))
            };
            out.push_str(&format!("    {{user: {u}, password: x{perms}}}\n"));
        }
        out.push_str("  ] }\n");
    }
    out.push_str("}\n");
    out
}

/// `subject`'s tokens taken literally (a `*` or `>` in it is just a token), matched against `pattern`:
/// nats-server's SUB-time rule. `subject_matches` only interprets wildcards in the pattern, so it is that.
fn literal_match(pattern: &str, subject: &str) -> bool {
    subject_matches(pattern, subject)
}

fn any_match(l: Option<&[&str]>, subject: &str) -> bool {
    l.unwrap_or(&[]).iter().any(|p| subject_matches(p, subject))
}

fn can_publish(u: &UserDef, subject: &str) -> bool {
    let allowed = match u.2 {
        None => true,
        Some(l) => l.is_empty() || any_match(Some(l), subject),
    };
    allowed && !any_match(u.3, subject)
}

fn can_subscribe(u: &UserDef, subject: &str) -> bool {
    let allowed = match u.4 {
        None => true,
        Some(l) => l.is_empty() || l.iter().any(|p| literal_match(p, subject)),
    };
    allowed && !u.5.unwrap_or(&[]).iter().any(|p| literal_match(p, subject))
}

/// One accepted subscription in the model.
struct ModelSub {
    conn: usize,
    sid: u32,
    subject: &'static str,
    queue: Option<&'static str>,
}

fn round(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let s = Server::start(ServerOpts {
        config: Some(config()),
        cores: Some(2),
        ..ServerOpts::default()
    });

    // Subscribers.
    let mut subs: Vec<Raw> = Vec::new();
    let mut sub_user: Vec<&'static UserDef> = Vec::new();
    let mut model: Vec<ModelSub> = Vec::new();
    for conn in 0..14 {
        let u = &USERS[rng.random_range(0..USERS.len())];
        let mut c = login(&s, u.0, "x");
        let mut expected_errs = Vec::new();
        let mut batch = String::new();
        for sid in 1..=rng.random_range(1..=4u32) {
            let subject = SUB_SUBJECTS[rng.random_range(0..SUB_SUBJECTS.len())];
            // Queue subscriptions only for unrestricted users (no delivery filter inside a group).
            let queue = (u.4.is_none() && u.5.is_none() && rng.random_range(0..3) == 0)
                .then(|| ["g1", "g2"][rng.random_range(0..2)]);
            match queue {
                Some(q) => batch.push_str(&format!("SUB {subject} {q} {sid}\r\n")),
                None => batch.push_str(&format!("SUB {subject} {sid}\r\n")),
            }
            if can_subscribe(u, subject) {
                model.push(ModelSub {
                    conn,
                    sid,
                    subject,
                    queue,
                });
            } else {
                expected_errs.push(sub_violation(subject, queue));
            }
        }
        c.send(batch.as_bytes());
        for e in &expected_errs {
            c.expect_err(e);
        }
        c.ping_pong(); // also the visibility barrier for these subscriptions
        subs.push(c);
        sub_user.push(u);
    }

    // Publishers: random users, random subjects; denied publishes must come back as -ERR, in order.
    let mut pubs: Vec<(Raw, &'static UserDef, Vec<String>)> = (0..6)
        .map(|_| {
            let u = &USERS[rng.random_range(0..USERS.len())];
            (login(&s, u.0, "x"), u, Vec::new())
        })
        .collect();
    // message id -> (account, subject) for accepted publishes
    let mut published: BTreeMap<u32, (&'static str, &'static str)> = BTreeMap::new();
    let mut batches: Vec<String> = vec![String::new(); pubs.len()];
    for id in 0..400u32 {
        let p = rng.random_range(0..pubs.len());
        let subject = PUB_SUBJECTS[rng.random_range(0..PUB_SUBJECTS.len())];
        let body = id.to_string();
        batches[p].push_str(&format!("PUB {subject} {}\r\n{body}\r\n", body.len()));
        let u = pubs[p].1;
        if can_publish(u, subject) {
            published.insert(id, (u.1, subject));
        } else {
            pubs[p].2.push(pub_violation(subject));
        }
    }
    for (i, (c, _, errs)) in pubs.iter_mut().enumerate() {
        c.send(batches[i].as_bytes());
        for e in errs.iter() {
            c.expect_err(e);
        }
        c.expect_nothing();
    }

    // The reference model's deliveries: plain subscriptions exactly; one member per queue group.
    let mut want_plain: BTreeSet<(usize, u32, u32)> = BTreeSet::new();
    let mut want_groups: BTreeMap<(u32, &str), BTreeSet<(usize, u32)>> = BTreeMap::new();
    for (&id, &(acc, subject)) in &published {
        for m in &model {
            let u = sub_user[m.conn];
            if u.1 != acc || !subject_matches(m.subject, subject) || any_match(u.5, subject) {
                continue;
            }
            match m.queue {
                None => {
                    want_plain.insert((m.conn, m.sid, id));
                }
                Some(q) => {
                    // Queue groups are per account: account-qualify the key.
                    want_groups
                        .entry((id, leak(format!("{acc}/{q}"))))
                        .or_default()
                        .insert((m.conn, m.sid));
                }
            }
        }
    }
    let total = want_plain.len() + want_groups.len();
    eprintln!(
        "seed {seed}: {} subscriptions accepted, {} publishes accepted, {total} deliveries expected",
        model.len(),
        published.len()
    );
    let got = collect_from(&mut subs, total, Duration::from_secs(10));
    for c in subs.iter_mut() {
        c.expect_nothing(); // nothing beyond the expected count
    }

    let mut got_plain: BTreeSet<(usize, u32, u32)> = BTreeSet::new();
    let mut got_groups: BTreeMap<(u32, &str), usize> = BTreeMap::new();
    for (conn, m) in &got {
        let id: u32 = String::from_utf8_lossy(&m.payload).parse().unwrap();
        let sid: u32 = m.sid.parse().unwrap();
        let &(acc, subject) = published
            .get(&id)
            .unwrap_or_else(|| panic!("seed {seed}: denied message {id} was delivered: {m:?}"));
        assert_eq!(m.subject, subject, "seed {seed}");
        assert_eq!(
            sub_user[*conn].1, acc,
            "seed {seed}: message {id} left account {acc}"
        );
        let ms = model
            .iter()
            .find(|x| x.conn == *conn && x.sid == sid)
            .unwrap_or_else(|| panic!("seed {seed}: delivery on a refused subscription: {m:?}"));
        match ms.queue {
            None => assert!(
                got_plain.insert((*conn, sid, id)),
                "seed {seed}: duplicate {m:?}"
            ),
            Some(q) => {
                let key = (id, leak(format!("{acc}/{q}")));
                let members = want_groups
                    .get(&key)
                    .unwrap_or_else(|| panic!("seed {seed}: unexpected queue delivery {m:?}"));
                assert!(members.contains(&(*conn, sid)), "seed {seed}: {m:?}");
                *got_groups.entry(key).or_default() += 1;
            }
        }
    }
    let missing: Vec<_> = want_plain.difference(&got_plain).take(5).collect();
    let extra: Vec<_> = got_plain.difference(&want_plain).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "seed {seed}: missing {missing:?}, unexpected {extra:?}"
    );
    for k in want_groups.keys() {
        assert_eq!(
            got_groups.get(k),
            Some(&1),
            "seed {seed}: queue group {k:?}"
        );
    }
}

/// A `&'static str` for map keys (a handful per round; the test process is short-lived).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn random_traffic_respects_accounts_and_permissions() {
    let base: u64 = std::env::var("CORENATS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_2024);
    let rounds = if std::env::var("CORENATS_SEED").is_ok() {
        1
    } else {
        3
    };
    for r in 0..rounds {
        let seed = base.wrapping_add(r);
        eprintln!("accounts_random: seed {seed}");
        round(seed);
    }
}
