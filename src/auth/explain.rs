//! `--explain`: why a configured user may or may not publish to a subject or subscribe to one.
//!
//! Worked out on the compiled [`Auth`] with the checks the engine itself runs ([`Permissions::can_publish`],
//! [`Permissions::can_subscribe`]), so the verdict is the one a live connection gets. Beside it, the chain
//! that led there: the account, which rule set applies (the user's own permissions or a
//! `default_permissions`), the account mappings applied before a publish is judged, the allow and deny
//! entries that match (as written in the config), which one won and why, and the reply grants of
//! `allow_responses` (which only a live connection that received a request can use).

use std::fmt;

use super::permissions::queue_matches;
use super::{Auth, Permissions, Rules, SubVerdict, User, GLOBAL_ACCOUNT};
use crate::config::{Config, UserSpec};
use crate::protocol::errors::ProtoErr;
use crate::subject::{collide, has_wildcard, is_subset, is_valid_subject, matches};

/// What is asked about a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question<'a> {
    /// May it publish to this subject?
    Publish(&'a str),
    /// May it subscribe to this subject (wildcards allowed), optionally in a queue group?
    Subscribe {
        subject: &'a str,
        queue: Option<&'a str>,
    },
}

/// The answer, as the exit status reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed (a subscription may still be filtered per message; the text says so).
    Allowed,
    /// Denied (for a weighted mapping: denied for at least some messages).
    Denied,
}

impl Verdict {
    /// The process exit status: 0 allowed, 1 denied.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Allowed => 0,
            Verdict::Denied => 1,
        }
    }
}

/// A verdict and the lines that explain it.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub verdict: Verdict,
    /// Human-readable, one `label: value` per line, ending with `verdict:` and `why:`.
    pub text: String,
}

/// A question that cannot be answered (exit status 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadQuestion {
    /// No user or nkey of that name in the configuration.
    UnknownUser(String),
    /// A subscribe subject (or queue name) that is not valid.
    InvalidSubject,
    /// A publish subject that is not a valid literal subject.
    InvalidPublishSubject,
}

impl fmt::Display for BadQuestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proto = |e: ProtoErr| {
            let mut t = Vec::new();
            e.write_text(&mut t);
            String::from_utf8_lossy(&t).into_owned()
        };
        match self {
            // nats-server's wording for a `no_auth_user` that names nobody.
            BadQuestion::UnknownUser(u) => write!(
                f,
                "{u:?} not present as user or nkey in authorization block or account configuration"
            ),
            BadQuestion::InvalidSubject => f.write_str(&proto(ProtoErr::InvalidSubject)),
            BadQuestion::InvalidPublishSubject => {
                f.write_str(&proto(ProtoErr::InvalidPublishSubject))
            }
        }
    }
}

impl std::error::Error for BadQuestion {}

/// Answers `q` about `user` (a user name as configured, or a public nkey). `cfg` is the configuration
/// `auth` was compiled from (it tells own permissions from a default).
pub fn explain(
    cfg: &Config,
    auth: &Auth,
    user: &str,
    q: Question<'_>,
) -> Result<Explanation, BadQuestion> {
    let (_, u) = auth
        .user_by_name(user)
        .or_else(|| auth.user_by_nkey(user))
        .ok_or_else(|| BadQuestion::UnknownUser(user.to_string()))?;
    match q {
        Question::Publish(s) => {
            let b = s.as_bytes();
            if !is_valid_subject(b) || has_wildcard(b) {
                return Err(BadQuestion::InvalidPublishSubject);
            }
        }
        Question::Subscribe { subject, queue } => {
            let bad_queue = queue.is_some_and(|q| q.is_empty() || q.contains(char::is_whitespace));
            if !is_valid_subject(subject.as_bytes()) || bad_queue {
                return Err(BadQuestion::InvalidSubject);
            }
        }
    }
    let mut out = Out::default();
    out.kv("user", format!("{:?}", &*u.name));
    let account = auth
        .account(u.account)
        .map_or_else(|| "?".to_string(), |a| format!("{:?}", a.name));
    if u.account == GLOBAL_ACCOUNT {
        out.kv("account", format!("{account} (the global account)"));
    } else {
        out.kv("account", account);
    }
    out.kv("rule set", rule_source(cfg, u));
    let perms = u.permissions.as_deref();
    let verdict = match q {
        Question::Publish(s) => explain_pub(auth, u, perms, s, &mut out),
        Question::Subscribe { subject, queue } => explain_sub(perms, subject, queue, &mut out),
    };
    Ok(Explanation {
        verdict,
        text: out.0,
    })
}

/// The text being built: `label: value` lines with aligned values.
#[derive(Default)]
struct Out(String);

impl Out {
    fn kv(&mut self, label: &str, value: impl AsRef<str>) {
        let label = format!("{label}:");
        self.0.push_str(&format!("{label:<17}{}\n", value.as_ref()));
    }
}

/// Where the user's rule set comes from, told from the configuration.
fn rule_source(cfg: &Config, u: &User) -> String {
    let name = &*u.name;
    let authz = cfg.authorization.as_ref();
    let unrestricted = "none (no own permissions, no default_permissions): full access";
    if authz.and_then(|a| a.user.as_deref()) == Some(name) {
        return format!("{unrestricted} (the `authorization` block's single user)");
    }
    let is = |s: &UserSpec| match s.nkey.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => k == name,
        None => s.user.as_deref() == Some(name),
    };
    let found = authz
        .and_then(|a| {
            let s = a.users.iter().find(|s| is(s))?;
            let d = a.default_permissions.is_some();
            Some((
                s,
                d,
                "the `authorization` block's default_permissions".to_string(),
            ))
        })
        .or_else(|| {
            cfg.accounts.iter().find_map(|a| {
                let s = a.users.iter().find(|s| is(s))?;
                let d = a.default_permissions.is_some();
                Some((s, d, format!("account {:?}'s default_permissions", a.name)))
            })
        });
    match found {
        Some((s, _, _)) if s.permissions.is_some() => "the user's own permissions".to_string(),
        Some((_, true, d)) => format!("{d} (the user has no permissions of its own)"),
        _ => unrestricted.to_string(),
    }
}

/// An entry as written: `"subject"` or `"subject queue"`.
fn entry_text((subject, queue): (&[u8], Option<&[u8]>)) -> String {
    let mut t = String::from_utf8_lossy(subject).into_owned();
    if let Some(q) = queue {
        t.push(' ');
        t.push_str(&String::from_utf8_lossy(q));
    }
    format!("{t:?}")
}

/// `"a", "b"` or `none`.
fn list(entries: &[String]) -> String {
    if entries.is_empty() {
        "none".to_string()
    } else {
        entries.join(", ")
    }
}

/// One line per direction: the allow and deny lists as written.
fn describe_rules(r: &Rules, dir: &str, out: &mut Out) {
    let allow: Vec<String> = r.entries(true).map(entry_text).collect();
    let deny: Vec<String> = r.entries(false).map(entry_text).collect();
    let allow = match (&r.allow, allow.is_empty()) {
        (None, _) => "no allow list (everything not denied is allowed)".to_string(),
        (Some(_), true) => {
            "an empty allow list (allow_responses without a publish allow: only replies)"
                .to_string()
        }
        (Some(_), false) => format!("allow [{}]", allow.join(", ")),
    };
    let deny = if deny.is_empty() {
        "no deny list".to_string()
    } else {
        format!("deny [{}]", deny.join(", "))
    };
    out.kv(&format!("{dir} rules"), format!("{allow}; {deny}"));
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Publish: mappings first, then the publish rules on each subject the message may go to.
fn explain_pub(
    auth: &Auth,
    u: &User,
    perms: Option<&Permissions>,
    subject: &str,
    out: &mut Out,
) -> Verdict {
    out.kv("question", format!("publish to {subject:?}"));
    let b = subject.as_bytes();
    // (subject judged, percent of messages)
    let mut outcomes: Vec<(Vec<u8>, u16)> = Vec::new();
    match auth.account(u.account).and_then(|a| a.mapping_for(b)) {
        None => {
            out.kv("mapping", "none (the subject is judged as published)");
            outcomes.push((b.to_vec(), 100));
        }
        Some(m) => {
            let mut rest: u16 = 100;
            for (t, w) in &m.destinations {
                let mut buf = Vec::new();
                let to = if t.apply(b, &mut buf) {
                    buf
                } else {
                    b.to_vec()
                };
                rest = rest.saturating_sub(u16::from(*w));
                outcomes.push((to, u16::from(*w)));
            }
            if rest > 0 {
                outcomes.push((b.to_vec(), rest));
            }
            let dests: Vec<String> = outcomes
                .iter()
                .map(|(s, w)| format!("{w}% -> {:?}", lossy(s)))
                .collect();
            out.kv(
                "mapping",
                format!(
                    "{:?} applies first: {} (the mapped subject is the one judged, as at publish time)",
                    m.source,
                    dests.join(", ")
                ),
            );
        }
    }
    let several = outcomes.len() > 1;
    let mut denied: u16 = 0;
    let mut whys = Vec::new();
    for (i, (s, w)) in outcomes.iter().enumerate() {
        if i == 0 {
            match perms.map(|p| p.publish.as_ref()) {
                Some(Some(r)) => describe_rules(r, "publish", out),
                Some(None) => out.kv("publish rules", "none"),
                None => {}
            }
        }
        if several {
            out.kv("judged", format!("{:?} ({w}% of messages)", lossy(s)));
        } else {
            out.kv("judged", format!("{:?}", lossy(s)));
        }
        let (ok, why) = judge_pub(perms, s, out);
        if !ok {
            denied += w;
        }
        whys.push(why);
    }
    if let Some(rp) = perms.and_then(|p| p.has_responses()) {
        let max = rp.max.map_or("unlimited".to_string(), |m| m.to_string());
        let expires = rp
            .expires
            .map_or("no expiry".to_string(), |d| format!("{d:?}"));
        out.kv(
            "reply grants",
            format!(
                "allow_responses (max {max}, expires {expires}): a connection that receives a request may \
                 also publish that many replies to its reply subject, even where the rules deny it; they \
                 exist only on a live connection and are not part of this verdict"
            ),
        );
    }
    let verdict = if denied == 0 {
        out.kv("verdict", "ALLOWED");
        Verdict::Allowed
    } else if denied >= 100 || !several {
        out.kv("verdict", "DENIED");
        Verdict::Denied
    } else {
        out.kv(
            "verdict",
            format!("DENIED for {denied}% of messages (weighted mapping)"),
        );
        Verdict::Denied
    };
    if several {
        for ((s, _), why) in outcomes.iter().zip(&whys) {
            out.kv("why", format!("{:?}: {why}", lossy(s)));
        }
    } else if let Some(why) = whys.first() {
        out.kv("why", why);
    }
    verdict
}

/// The publish rules on one literal subject: lines for the matching entries; (allowed, why).
fn judge_pub(perms: Option<&Permissions>, s: &[u8], out: &mut Out) -> (bool, String) {
    let Some(p) = perms else {
        return (
            true,
            "the user has no permissions: publish is unrestricted".into(),
        );
    };
    let Some(r) = &p.publish else {
        return (
            p.can_publish(s),
            "no publish rules: publish is unrestricted".into(),
        );
    };
    let allow: Vec<String> = r
        .entries(true)
        .filter(|(e, _)| matches(e, s))
        .map(entry_text)
        .collect();
    let deny: Vec<String> = r
        .entries(false)
        .filter(|(e, _)| matches(e, s))
        .map(entry_text)
        .collect();
    if r.allow.is_some() {
        out.kv("allow matches", list(&allow));
    }
    if !r.deny_is_empty() {
        out.kv("deny matches", list(&deny));
    }
    let ok = p.can_publish(s);
    let (expected, why) = if let Some(d) = deny.first() {
        let over = if allow.is_empty() {
            String::new()
        } else {
            format!(" (over allow {})", allow.join(", "))
        };
        (
            false,
            format!("deny {d} matches, and deny beats allow{over}"),
        )
    } else if r.allow.is_some() && allow.is_empty() {
        if r.entries(true).next().is_none() {
            (
                false,
                "allow_responses is set without a publish allow list: the user may publish only replies"
                    .to_string(),
            )
        } else {
            (
                false,
                "no allow entry matches: with an allow list, what it does not list is denied"
                    .to_string(),
            )
        }
    } else if r.allow.is_some() {
        (
            true,
            format!("allow {} matches and no deny entry does", allow.join(", ")),
        )
    } else {
        (
            true,
            "there is no allow list (everything not denied is allowed) and no deny entry matches"
                .to_string(),
        )
    };
    (ok, consistent(ok, expected, why))
}

/// The reason, flagged if it does not agree with the check (the check decides).
fn consistent(ok: bool, expected: bool, why: String) -> String {
    if ok == expected {
        why
    } else {
        format!("{why} [internal: the check decided otherwise; the verdict is the check's]")
    }
}

/// Subscribe: nats-server's SUB-time check, and corenats's per-message filter for wildcards.
fn explain_sub(
    perms: Option<&Permissions>,
    subject: &str,
    queue: Option<&str>,
    out: &mut Out,
) -> Verdict {
    match queue {
        Some(q) => out.kv(
            "question",
            format!("subscribe to {subject:?} in queue group {q:?}"),
        ),
        None => out.kv("question", format!("subscribe to {subject:?}")),
    }
    let s = subject.as_bytes();
    let qb = queue.map(str::as_bytes);
    let allowed = |out: &mut Out, why: &str| {
        out.kv("verdict", "ALLOWED");
        out.kv("why", why);
        Verdict::Allowed
    };
    let Some(p) = perms else {
        return allowed(
            out,
            "the user has no permissions: subscribe is unrestricted",
        );
    };
    let Some(r) = &p.subscribe else {
        out.kv("subscribe rules", "none");
        return allowed(out, "no subscribe rules: subscribe is unrestricted");
    };
    describe_rules(r, "subscribe", out);
    let wildcard = has_wildcard(s);
    if wildcard {
        out.kv(
            "note",
            "the subscription's wildcards are matched as plain tokens against the entries, as \
             nats-server does (allow \"a.*\" accepts SUB \"a.>\")",
        );
    }
    // Does an entry's queue concern this subscription (plain entries concern every one)?
    let concerns = |eq: Option<&[u8]>| match (eq, qb) {
        (None, _) => true,
        (Some(eq), Some(q)) => queue_matches(q, &[eq]),
        (Some(_), None) => false,
    };
    let allow_all: Vec<(&[u8], Option<&[u8]>)> =
        r.entries(true).filter(|(e, _)| matches(e, s)).collect();
    let allow_plain: Vec<String> = allow_all
        .iter()
        .filter(|(_, q)| q.is_none())
        .map(|e| entry_text(*e))
        .collect();
    let allow_queued: Vec<String> = allow_all
        .iter()
        .filter(|(_, q)| q.is_some())
        .map(|e| entry_text(*e))
        .collect();
    let allow_for_queue: Vec<String> = allow_all
        .iter()
        .filter(|(_, q)| q.is_some() && concerns(*q))
        .map(|e| entry_text(*e))
        .collect();
    let deny: Vec<String> = r
        .entries(false)
        .filter(|(e, q)| matches(e, s) && concerns(*q))
        .map(entry_text)
        .collect();
    if r.allow.is_some() {
        out.kv(
            "allow matches",
            list(&allow_all.iter().map(|e| entry_text(*e)).collect::<Vec<_>>()),
        );
    }
    if !r.deny_is_empty() {
        out.kv("deny matches", list(&deny));
    }
    let verdict = p.can_subscribe(s, qb);
    match verdict {
        SubVerdict::Denied => {
            let why = if let Some(d) = deny.first() {
                format!("deny {d} matches, and deny beats allow")
            } else if allow_all.is_empty() {
                "no allow entry matches: with an allow list, what it does not list is denied".into()
            } else if let (Some(q), false) = (queue, allow_queued.is_empty()) {
                format!(
                    "queue-qualified allow entries match ({}), so a queue subscription must use one of \
                     their queue groups, and {q:?} is none of them",
                    allow_queued.join(", ")
                )
            } else if queue.is_none() && allow_plain.is_empty() {
                format!(
                    "only queue-qualified allow entries match ({}): a subscription without a queue group \
                     is not allowed",
                    allow_queued.join(", ")
                )
            } else {
                "denied by the subscribe rules".into()
            };
            out.kv("verdict", "DENIED");
            out.kv("why", why);
            Verdict::Denied
        }
        SubVerdict::AllowedFiltered => {
            let mut reasons = Vec::new();
            if r.allow.is_some() {
                let covering: Vec<String> = r
                    .entries(true)
                    .filter(|(e, q)| concerns(*q) && is_subset(s, e))
                    .map(entry_text)
                    .collect();
                let other_queue: Vec<String> = r
                    .entries(true)
                    .filter(|(e, q)| q.is_some() && !concerns(*q) && qb.is_some() && collide(e, s))
                    .map(entry_text)
                    .collect();
                if covering.is_empty() {
                    reasons.push(
                        "no allow entry covers every subject the wildcard matches".to_string(),
                    );
                }
                if !other_queue.is_empty() {
                    reasons.push(format!(
                        "allow entries for other queue groups overlap it ({})",
                        other_queue.join(", ")
                    ));
                }
            }
            let overlap: Vec<String> = r
                .entries(false)
                .filter(|(e, q)| concerns(*q) && collide(e, s))
                .map(entry_text)
                .collect();
            if !overlap.is_empty() {
                reasons.push(format!("deny entries overlap it ({})", overlap.join(", ")));
            }
            out.kv("verdict", "ALLOWED, filtered per message");
            out.kv(
                "why",
                format!(
                    "the subscription is accepted ({}), but {}; corenats delivers to it only messages on \
                     subjects the user could subscribe to one by one",
                    match allow_all.first() {
                        Some(_) => format!(
                            "allow {} matches",
                            list(&allow_all.iter().map(|e| entry_text(*e)).collect::<Vec<_>>())
                        ),
                        None => "no allow list, no deny entry matches".to_string(),
                    },
                    reasons.join("; ")
                ),
            );
            Verdict::Allowed
        }
        SubVerdict::Allowed => {
            let why = if r.allow.is_none() {
                "there is no allow list (everything not denied is allowed) and no deny entry matches"
                    .to_string()
            } else if !allow_for_queue.is_empty() {
                format!(
                    "allow {} matches for queue group {:?} and no deny entry does",
                    allow_for_queue.join(", "),
                    queue.unwrap_or_default()
                )
            } else {
                format!(
                    "allow {} matches and no deny entry does",
                    list(&allow_plain)
                )
            };
            allowed(out, &why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(conf: &str) -> (Config, Auth) {
        let cfg = crate::config::parse_str(conf, std::path::Path::new("t.conf"), false)
            .unwrap_or_else(|e| panic!("{e}"))
            .config;
        let auth = Auth::compile(&cfg, None).unwrap_or_else(|e| panic!("{e:?}"));
        (cfg, auth)
    }

    fn ask(cfg: &Config, auth: &Auth, user: &str, q: Question<'_>) -> Explanation {
        explain(cfg, auth, user, q).unwrap()
    }

    /// The value of the first `label:` line.
    fn field<'a>(text: &'a str, label: &str) -> &'a str {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{label}:")))
            .map_or("", str::trim)
    }

    fn publish(s: &str) -> Question<'_> {
        Question::Publish(s)
    }

    fn sub<'a>(s: &'a str, q: Option<&'a str>) -> Question<'a> {
        Question::Subscribe {
            subject: s,
            queue: q,
        }
    }

    const CONF: &str = r#"
accounts {
  A {
    default_permissions: { publish: { deny: "b.>" }, subscribe: ["a.*", "b.>"] }
    mappings: { "m.*": "a.$1", "w": [{destination: "a.ok", weight: 50%}, {destination: "a.secret", weight: 50%}] }
    users: [
      {user: w, password: x, permissions: {
         publish: {allow: ["a.>", "b.*"], deny: ["a.secret"]},
         subscribe: {allow: ["a.>", "q.* grp1", "n.*"], deny: ["a.secret"]}}}
      {user: d, password: x}
      {user: r, password: x, permissions: {subscribe: "req.>", allow_responses: {max: 2}}}
      {user: free, password: x, permissions: {}}
    ]
  }
}
authorization { users: [ {user: g, password: x} ] }
"#;

    #[test]
    fn publish_allow_deny() {
        let (cfg, auth) = setup(CONF);
        let e = ask(&cfg, &auth, "w", publish("a.x"));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
        assert_eq!(field(&e.text, "account"), "\"A\"", "{}", e.text);
        assert!(e.text.contains("the user's own permissions"), "{}", e.text);
        assert_eq!(field(&e.text, "allow matches"), "\"a.>\"", "{}", e.text);
        let e = ask(&cfg, &auth, "w", publish("a.secret"));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        assert!(
            e.text
                .contains("deny \"a.secret\" matches, and deny beats allow (over allow \"a.>\")"),
            "{}",
            e.text
        );
        let e = ask(&cfg, &auth, "w", publish("c"));
        assert_eq!(e.verdict, Verdict::Denied);
        assert!(e.text.contains("no allow entry matches"), "{}", e.text);
        assert!(!e.text.contains("internal"), "{}", e.text);
    }

    #[test]
    fn publish_mapping_is_judged_after_mapping() {
        let (cfg, auth) = setup(CONF);
        let e = ask(&cfg, &auth, "w", publish("m.secret"));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        assert!(
            e.text
                .contains("\"m.*\" applies first: 100% -> \"a.secret\""),
            "{}",
            e.text
        );
        assert_eq!(field(&e.text, "judged"), "\"a.secret\"", "{}", e.text);
        let e = ask(&cfg, &auth, "w", publish("m.ok"));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
        // Weighted: denied for half of the messages.
        let e = ask(&cfg, &auth, "w", publish("w"));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        assert!(e.text.contains("DENIED for 50% of messages"), "{}", e.text);
    }

    #[test]
    fn default_permissions_and_unrestricted() {
        let (cfg, auth) = setup(CONF);
        let e = ask(&cfg, &auth, "d", publish("b.x"));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        assert!(
            e.text.contains("account \"A\"'s default_permissions"),
            "{}",
            e.text
        );
        let e = ask(&cfg, &auth, "d", publish("c.x"));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
        assert!(e.text.contains("there is no allow list"), "{}", e.text);
        let e = ask(&cfg, &auth, "g", sub(">", None));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
        assert!(e.text.contains("(the global account)"), "{}", e.text);
        assert!(e.text.contains("full access"), "{}", e.text);
        let e = ask(&cfg, &auth, "free", publish("x"));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
    }

    #[test]
    fn allow_responses_are_mentioned() {
        let (cfg, auth) = setup(CONF);
        let e = ask(&cfg, &auth, "r", publish("x"));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        assert!(e.text.contains("allow_responses (max 2"), "{}", e.text);
        assert!(e.text.contains("may publish only replies"), "{}", e.text);
    }

    #[test]
    fn subscribe_forms() {
        let (cfg, auth) = setup(CONF);
        let e = ask(&cfg, &auth, "w", sub("a.x", None));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
        assert_eq!(field(&e.text, "verdict"), "ALLOWED", "{}", e.text);
        let e = ask(&cfg, &auth, "w", sub("a.secret", Some("g")));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        // Wildcard overlapping a deny: accepted, filtered.
        let e = ask(&cfg, &auth, "w", sub("a.*", None));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
        assert!(e.text.contains("filtered per message"), "{}", e.text);
        assert!(
            e.text.contains("deny entries overlap it (\"a.secret\")"),
            "{}",
            e.text
        );
        // `n.*` accepts `SUB n.>` (plain tokens), filtered: the allow does not cover it.
        let e = ask(&cfg, &auth, "w", sub("n.>", None));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
        assert!(e.text.contains("no allow entry covers"), "{}", e.text);
        // Queue-qualified entries.
        let e = ask(&cfg, &auth, "w", sub("q.x", Some("grp1")));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
        let e = ask(&cfg, &auth, "w", sub("q.x", Some("grp2")));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        assert!(e.text.contains("\"grp2\" is none of them"), "{}", e.text);
        let e = ask(&cfg, &auth, "w", sub("q.x", None));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        assert!(e.text.contains("without a queue group"), "{}", e.text);
        let e = ask(&cfg, &auth, "w", sub("b.x", None));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        assert!(!e.text.contains("internal"), "{}", e.text);
    }

    #[test]
    fn bad_questions() {
        let (cfg, auth) = setup(CONF);
        let e = explain(&cfg, &auth, "nobody", publish("a")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"nobody\" not present as user or nkey in authorization block or account configuration"
        );
        let e = explain(&cfg, &auth, "w", publish("a.*")).unwrap_err();
        assert_eq!(e.to_string(), "Invalid Publish Subject");
        let e = explain(&cfg, &auth, "w", sub("a..b", None)).unwrap_err();
        assert_eq!(e.to_string(), "Invalid Subject");
    }

    #[test]
    fn nkey_users_by_public_key() {
        let key = nkeys::KeyPair::new_user().public_key();
        let conf = format!(
            "accounts {{ K {{ default_permissions: {{ publish: \"k.>\" }}, users: [ {{nkey: {key}}} ] }} }}"
        );
        let (cfg, auth) = setup(&conf);
        let e = ask(&cfg, &auth, &key, publish("k.x"));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
        assert_eq!(field(&e.text, "user"), format!("{key:?}"), "{}", e.text);
        assert!(
            field(&e.text, "rule set").starts_with("account \"K\"'s default_permissions"),
            "{}",
            e.text
        );
        let e = ask(&cfg, &auth, &key, publish("j"));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        assert!(explain(&cfg, &auth, &key[..10], publish("k.x")).is_err());
    }

    #[test]
    fn founding_example() {
        let (cfg, auth) = setup(include_str!("../../nats-server.conf"));
        let e = ask(&cfg, &auth, "user:a", publish("service.a.heartbeat"));
        assert_eq!(e.verdict, Verdict::Allowed, "{}", e.text);
        assert_eq!(field(&e.text, "account"), "\"account:a\"", "{}", e.text);
        let e = ask(&cfg, &auth, "user:b", sub("service.a.heartbeat", None));
        assert_eq!(e.verdict, Verdict::Denied, "{}", e.text);
        assert!(e.text.contains("allow [\"service.b.>\"]"), "{}", e.text);
    }
}
