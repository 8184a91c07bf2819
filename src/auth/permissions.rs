//! A user's compiled publish/subscribe permissions and the checks on them.
//!
//! Compiled once per user from the user's own `permissions`, else its account's `default_permissions`, else
//! the `authorization` block's (replaced, never merged; see `compile.rs`). Users sharing a default share one
//! `Arc<Permissions>`.
//!
//! Rules: no rules for a direction means unrestricted; an empty allow list also means unrestricted; when an
//! allow list exists the subject must match it, and deny then overrides allow. `allow_responses` with no
//! explicit publish allow turns publish allow into an empty list (deny-all except replies, which the engine
//! checks with [`super::ReplyGrants`]).
//!
//! Subscribe is checked once at SUB time the way nats-server does it: the SUB subject's own wildcards are
//! matched as plain tokens against the entries, so allow `svc.*` accepts `SUB svc.>` (the entry's `*` matches
//! the token `>`) and deny `x.*` refuses `SUB x.>`. Where nats-server then delivers more than the rules allow
//! (every `svc.a.b` to that `SUB svc.>`), corenats does not: a wildcard SUB that the allow entries do not
//! cover as a subset, or that overlaps a deny entry, is accepted and flagged, and the engine delivers to it
//! only the subjects the user could have subscribed to one by one ([`Permissions::deliver_allowed`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::frozen::FrozenSublist;
use crate::config::{PermissionsSpec, ResponsePermSpec, SubjectPermSpec};
use crate::subject::{collide, has_wildcard, is_subset, is_valid_subject};

/// Source of [`Permissions::generation`]: unique per compiled `Permissions` in this process.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// `allow_responses`: how many replies, for how long, each delivered request allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponsePerm {
    /// Replies allowed per granted reply subject; `None` = unlimited (config negative).
    pub max: Option<u32>,
    /// How long a grant lives; `None` = no expiry (config negative).
    pub expires: Option<Duration>,
}

impl ResponsePerm {
    /// From the typed config (max: default 1, <0 unlimited; expires: ZERO means no expiry).
    pub fn from_spec(s: &ResponsePermSpec) -> Self {
        ResponsePerm {
            max: match s.max {
                m if m < 0 => None,
                0 => Some(1),
                m => Some(u32::try_from(m).unwrap_or(u32::MAX)),
            },
            expires: (!s.expires.is_zero()).then_some(s.expires),
        }
    }
}

/// Result of a SUB-time check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubVerdict {
    /// Create the subscription; no delivery filter needed.
    Allowed,
    /// Create it, but deliver only subjects that pass [`Permissions::deliver_allowed`] (a wildcard SUB that
    /// overlaps a deny entry, or that reaches beyond what the allow entries cover).
    AllowedFiltered,
    /// Refuse: `-ERR 'Permissions Violation for Subscription to ...'`.
    Denied,
}

/// One permission entry as written: a subject, optionally queue-qualified (`"subject queue"`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    subject: Box<[u8]>,
    queue: Option<Box<[u8]>>,
}

/// Allow/deny rules for one direction.
#[derive(Debug)]
pub struct Rules {
    /// `None` = no allow list (everything allowed unless denied). `Some(empty)` = nothing allowed
    /// (only produced by `allow_responses`). Queue-qualified entries are stored with their queue.
    pub allow: Option<FrozenSublist<()>>,
    /// `None` = nothing denied. Queue-qualified entries are stored with their queue.
    pub deny: Option<FrozenSublist<()>>,
    /// The allow entries as written, for SUB-time checks of wildcard SUB subjects (linear in the list).
    allow_list: Vec<Entry>,
    /// The deny entries as written, for SUB-time checks of wildcard SUB subjects and the overlap test.
    deny_list: Vec<Entry>,
}

/// A user's compiled permissions. Shared as `Arc<Permissions>`; immutable.
#[derive(Debug)]
pub struct Permissions {
    /// `None` = publish unrestricted.
    pub publish: Option<Rules>,
    /// `None` = subscribe unrestricted.
    pub subscribe: Option<Rules>,
    /// `allow_responses`, if set.
    pub responses: Option<ResponsePerm>,
    /// Unique id of this compiled value; per-connection caches ([`super::PubCache`]) reset when it changes.
    generation: u64,
}

impl Permissions {
    /// Compiles a permissions block. Errors use nats-server's text (`subject "x" is not a valid subject`).
    pub fn compile(spec: &PermissionsSpec) -> Result<Permissions, Vec<String>> {
        let mut errors = Vec::new();
        let responses = spec.allow_responses.as_ref().map(ResponsePerm::from_spec);
        let publish = compile_rules(
            spec.publish.as_ref(),
            false,
            responses.is_some(),
            &mut errors,
        );
        let subscribe = compile_rules(spec.subscribe.as_ref(), true, false, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Permissions {
            publish,
            subscribe,
            responses,
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Unique id of this compiled value (never 0).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Full publish check of a literal subject: allow (if any) must match, then deny must not. Does not
    /// allocate. Reply grants (`allow_responses`) are not considered here.
    pub fn can_publish(&self, subject: &[u8]) -> bool {
        let Some(r) = &self.publish else { return true };
        if let Some(a) = &r.allow {
            if !a.has_match(subject) {
                return false;
            }
        }
        match &r.deny {
            Some(d) => !d.has_match(subject),
            None => true,
        }
    }

    /// SUB-time check of `subject` (may hold wildcards) with optional queue group.
    pub fn can_subscribe(&self, subject: &[u8], queue: Option<&[u8]>) -> SubVerdict {
        let Some(r) = &self.subscribe else {
            return SubVerdict::Allowed;
        };
        let wildcard = has_wildcard(subject);
        let mut filtered = false;
        if r.allow.is_some() {
            // nats-server: a plain entry allows any queue, unless queue-qualified entries also match, in
            // which case a queue subscription must use one of their queues.
            let permits = |(plain, queues): (bool, Vec<&[u8]>)| match queue {
                Some(q) if !queues.is_empty() => queue_matches(q, &queues),
                _ => plain,
            };
            if !permits(r.matching(true, subject)) {
                return SubVerdict::Denied;
            }
            // Filter when the allow entries do not cover the whole wildcard, or when an entry for another
            // queue restricts the queues allowed on part of it (allow `m.>` and `m.x g1`: `SUB m.* g2` is
            // accepted, but m.x must not reach it).
            let other_queue_entry = |q: &[u8]| {
                r.allow_list.iter().any(|e| {
                    e.queue
                        .as_deref()
                        .is_some_and(|eq| !queue_matches(q, &[eq]) && collide(&e.subject, subject))
                })
            };
            filtered = wildcard
                && (!permits(r.covering(true, subject)) || queue.is_some_and(other_queue_entry));
        }
        if r.deny.is_some() {
            let (plain, queues) = r.matching(false, subject);
            if plain || queue.is_some_and(|q| !queues.is_empty() && queue_matches(q, &queues)) {
                return SubVerdict::Denied;
            }
            filtered |= wildcard
                && r.deny_list
                    .iter()
                    .any(|e| applies_to(e, queue) && collide(&e.subject, subject));
        }
        if filtered {
            SubVerdict::AllowedFiltered
        } else {
            SubVerdict::Allowed
        }
    }

    /// Delivery filter for a subscription flagged [`SubVerdict::AllowedFiltered`] (in group `queue`, if
    /// any): may a message on the literal `subject` reach it? Exactly when the user could subscribe to
    /// `subject` itself. Runs when a match result is computed, not per message.
    pub fn deliver_allowed(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        self.can_subscribe(subject, queue) != SubVerdict::Denied
    }

    /// `allow_responses`, if set.
    pub fn has_responses(&self) -> Option<&ResponsePerm> {
        self.responses.as_ref()
    }
}

impl Rules {
    /// The allow and deny lists as written (`"subject"` or `"subject queue"`): what a hub tells a
    /// leaf node of its user's permissions.
    pub fn spec(&self) -> SubjectPermSpec {
        let text = |e: &Entry| {
            let mut t = String::from_utf8_lossy(&e.subject).into_owned();
            if let Some(q) = &e.queue {
                t.push(' ');
                t.push_str(&String::from_utf8_lossy(q));
            }
            t
        };
        SubjectPermSpec {
            allow: self
                .allow
                .is_some()
                .then(|| self.allow_list.iter().map(text).collect()),
            deny: (!self.deny_list.is_empty()).then(|| self.deny_list.iter().map(text).collect()),
        }
    }

    /// The allow (`allow == true`) or deny entries as written, in config order: subject and queue (for
    /// explanations; the checks do not use it).
    pub fn entries(&self, allow: bool) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        let list = if allow {
            &self.allow_list
        } else {
            &self.deny_list
        };
        list.iter().map(|e| (&*e.subject, e.queue.as_deref()))
    }

    /// True when there is no deny entry.
    pub fn deny_is_empty(&self) -> bool {
        self.deny_list.is_empty()
    }

    /// Which entries of the allow (`allow == true`) or deny list match `subject` with its wildcards taken as
    /// plain tokens (nats-server's SUB check): whether a plain entry does, and the queue names of the
    /// queue-qualified ones that do.
    fn matching<'a>(&'a self, allow: bool, subject: &[u8]) -> (bool, Vec<&'a [u8]>) {
        let (sl, list) = if allow {
            (&self.allow, &self.allow_list)
        } else {
            (&self.deny, &self.deny_list)
        };
        let Some(sl) = sl else {
            return (false, Vec::new());
        };
        let r = sl.matches_uncached(subject);
        if r.queues.is_empty() {
            return (!r.plain.is_empty(), Vec::new());
        }
        // Map the returned names back to borrowed names from the list (same bytes).
        let names = list
            .iter()
            .filter_map(|e| e.queue.as_deref())
            .filter(|q| r.queues.iter().any(|g| &*g.name == *q))
            .collect();
        (!r.plain.is_empty(), names)
    }

    /// Which entries of the allow (`allow == true`) or deny list cover every subject the SUB subject can
    /// match (`is_subset`): whether a plain entry does, and the queue names of the queue-qualified ones that
    /// do. Literal subjects use the trie; wildcard subjects scan the list (SUB time only, linear in it).
    fn covering<'a>(&'a self, allow: bool, subject: &[u8]) -> (bool, Vec<&'a [u8]>) {
        if !has_wildcard(subject) {
            return self.matching(allow, subject);
        }
        let list = if allow {
            &self.allow_list
        } else {
            &self.deny_list
        };
        let mut plain = false;
        let mut names = Vec::new();
        for e in list.iter().filter(|e| is_subset(subject, &e.subject)) {
            match &e.queue {
                None => plain = true,
                Some(q) => names.push(&**q),
            }
        }
        (plain, names)
    }
}

/// Does a deny entry concern a subscription in `queue` (plain entries concern every subscription)?
fn applies_to(e: &Entry, queue: Option<&[u8]>) -> bool {
    match (&e.queue, queue) {
        (None, _) => true,
        (Some(eq), Some(q)) => queue_matches(q, &[eq]),
        (Some(_), None) => false,
    }
}

/// nats-server's queue test: the queue equals an entry's queue name, or that name holds wildcards and
/// covers the queue (queue names may be wildcards, e.g. `grp.*`).
pub(crate) fn queue_matches(queue: &[u8], names: &[&[u8]]) -> bool {
    names
        .iter()
        .any(|n| *n == queue || (has_wildcard(n) && is_valid_subject(queue) && is_subset(queue, n)))
}

/// Parses one entry: `subject` or `subject queue`. Publish entries may not carry a queue.
fn parse_entry(raw: &str, allow_queue: bool) -> Result<Entry, String> {
    let bad = |s: &str| format!("subject {s:?} is not a valid subject");
    if is_valid_subject(raw.as_bytes()) {
        return Ok(Entry {
            subject: raw.as_bytes().into(),
            queue: None,
        });
    }
    let fields: Vec<&str> = raw.split_whitespace().collect();
    let [s, q] = fields.as_slice() else {
        return Err(bad(raw));
    };
    if !is_valid_subject(s.as_bytes()) {
        return Err(bad(s));
    }
    if !allow_queue {
        return Err(bad(raw));
    }
    Ok(Entry {
        subject: s.as_bytes().into(),
        queue: Some(q.as_bytes().into()),
    })
}

/// Builds a sublist and the entry list from raw entries, collecting errors.
fn build(
    raw: &[String],
    allow_queue: bool,
    errors: &mut Vec<String>,
) -> (FrozenSublist<()>, Vec<Entry>) {
    let mut sl = FrozenSublist::new();
    let mut list = Vec::with_capacity(raw.len());
    for r in raw {
        match parse_entry(r, allow_queue) {
            Ok(e) => {
                if sl.insert(&e.subject, e.queue.as_deref(), ()).is_err() {
                    errors.push(format!("subject {r:?} is not a valid subject"));
                    continue;
                }
                list.push(e);
            }
            Err(msg) => errors.push(msg),
        }
    }
    (sl, list)
}

/// Compiles one direction. `force_allow`: `allow_responses` is set and this is publish, so an absent or empty
/// allow list becomes an empty (deny-all) one.
fn compile_rules(
    spec: Option<&SubjectPermSpec>,
    is_subscribe: bool,
    force_allow: bool,
    errors: &mut Vec<String>,
) -> Option<Rules> {
    let allow_raw = spec
        .and_then(|s| s.allow.as_deref())
        .filter(|a| !a.is_empty());
    let deny_raw = spec
        .and_then(|s| s.deny.as_deref())
        .filter(|d| !d.is_empty());
    if allow_raw.is_none() && deny_raw.is_none() && !force_allow {
        return None;
    }
    let (allow, allow_list) = match allow_raw {
        Some(a) => {
            let (sl, list) = build(a, is_subscribe, errors);
            (Some(sl), list)
        }
        None if force_allow => (Some(FrozenSublist::new()), Vec::new()),
        None => (None, Vec::new()),
    };
    let (deny, deny_list) = match deny_raw {
        Some(d) => {
            let (sl, list) = build(d, is_subscribe, errors);
            (Some(sl), list)
        }
        None => (None, Vec::new()),
    };
    Some(Rules {
        allow,
        deny,
        allow_list,
        deny_list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use SubVerdict::*;

    fn list(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    fn sp(allow: &[&str], deny: &[&str]) -> Option<SubjectPermSpec> {
        Some(SubjectPermSpec {
            allow: if allow.is_empty() { None } else { list(allow) },
            deny: if deny.is_empty() { None } else { list(deny) },
        })
    }

    fn perms(publish: Option<SubjectPermSpec>, subscribe: Option<SubjectPermSpec>) -> Permissions {
        Permissions::compile(&PermissionsSpec {
            publish,
            subscribe,
            allow_responses: None,
        })
        .unwrap()
    }

    /// An example user `a` from nats-server's documentation.
    fn user_a() -> Permissions {
        perms(
            sp(&["svc.a.>"], &["svc.a.secret"]),
            sp(&["svc.a.>", "_INBOX.>", "qq.* grp1"], &[]),
        )
    }

    #[test]
    fn no_rules_is_unrestricted() {
        let p = perms(None, None);
        assert!(p.publish.is_none() && p.subscribe.is_none());
        assert!(p.can_publish(b"anything"));
        assert_eq!(p.can_subscribe(b">", None), Allowed);
        assert!(p.deliver_allowed(b"x", None));
    }

    #[test]
    fn empty_allow_list_is_unrestricted() {
        let p = perms(
            Some(SubjectPermSpec {
                allow: Some(vec![]),
                deny: None,
            }),
            Some(SubjectPermSpec {
                allow: Some(vec![]),
                deny: Some(vec![]),
            }),
        );
        assert!(p.can_publish(b"x.y"));
        assert_eq!(p.can_subscribe(b"x.>", None), Allowed);
    }

    #[test]
    fn publish_allow_then_deny() {
        let p = user_a();
        assert!(p.can_publish(b"svc.a.x"));
        assert!(p.can_publish(b"svc.a.x.y"));
        assert!(!p.can_publish(b"svc.a.secret"));
        assert!(!p.can_publish(b"svc.b.x"));
        assert!(!p.can_publish(b"svc.a"));
    }

    #[test]
    fn deny_only() {
        let p = perms(sp(&[], &["secret.>"]), None);
        assert!(p.can_publish(b"a"));
        assert!(!p.can_publish(b"secret.x"));
        let p = perms(sp(&[], &[">"]), None);
        assert!(!p.can_publish(b"a"));
    }

    #[test]
    fn subscribe_literal_tokens() {
        let p = user_a();
        assert_eq!(p.can_subscribe(b"svc.a.x", None), Allowed);
        assert_eq!(p.can_subscribe(b"svc.a.*", None), Allowed);
        assert_eq!(p.can_subscribe(b"svc.a.>", None), Allowed);
        assert_eq!(p.can_subscribe(b"svc.*", None), Denied);
        assert_eq!(p.can_subscribe(b"svc.>", None), Denied);
        assert_eq!(p.can_subscribe(b">", None), Denied);
        assert_eq!(p.can_subscribe(b"svc.b.x", None), Denied);
        assert_eq!(p.can_subscribe(b"_INBOX.abc", None), Allowed);
        // A plain entry allows queue subscriptions with any queue.
        assert_eq!(p.can_subscribe(b"svc.a.x", Some(b"anyq")), Allowed);
    }

    #[test]
    fn queue_qualified_entries() {
        let p = user_a();
        assert_eq!(p.can_subscribe(b"qq.x", Some(b"grp1")), Allowed);
        assert_eq!(p.can_subscribe(b"qq.x", None), Denied);
        assert_eq!(p.can_subscribe(b"qq.x", Some(b"grp2")), Denied);
        assert_eq!(p.can_subscribe(b"qq.*", Some(b"grp1")), Allowed);
        // nats-server's literal-token rule lets `qq.>` through `qq.*`; only `qq.<one token>` is delivered.
        assert_eq!(p.can_subscribe(b"qq.>", Some(b"grp1")), AllowedFiltered);
        assert!(p.deliver_allowed(b"qq.x", Some(b"grp1")));
        assert!(!p.deliver_allowed(b"qq.x.y", Some(b"grp1")));
        // Wildcard queue names in entries.
        let p = perms(None, sp(&["w.* grp.*"], &[]));
        assert_eq!(p.can_subscribe(b"w.x", Some(b"grp.a")), Allowed);
        assert_eq!(p.can_subscribe(b"w.x", Some(b"grp.*")), Allowed);
        assert_eq!(p.can_subscribe(b"w.x", Some(b"other")), Denied);
        // nats-server: when queue entries cover the subject, a queue SUB must use one of their queues even
        // if a plain entry also covers it.
        let p = perms(None, sp(&["m.>", "m.x grp1"], &[]));
        assert_eq!(p.can_subscribe(b"m.x", None), Allowed);
        assert_eq!(p.can_subscribe(b"m.x", Some(b"grp1")), Allowed);
        assert_eq!(p.can_subscribe(b"m.x", Some(b"grp2")), Denied);
        assert_eq!(p.can_subscribe(b"m.y", Some(b"grp2")), Allowed);
        // A wildcard queue SUB over a subject with queue-qualified entries: accepted, and m.x is delivered
        // to it only in a queue the entries allow.
        assert_eq!(p.can_subscribe(b"m.*", Some(b"grp2")), AllowedFiltered);
        assert!(!p.deliver_allowed(b"m.x", Some(b"grp2")));
        assert!(p.deliver_allowed(b"m.y", Some(b"grp2")));
        assert_eq!(p.can_subscribe(b"m.*", None), Allowed);
    }

    #[test]
    fn queue_qualified_deny() {
        let p = perms(None, sp(&[], &["d.x grp1"]));
        assert_eq!(p.can_subscribe(b"d.x", None), Allowed);
        assert_eq!(p.can_subscribe(b"d.x", Some(b"grp1")), Denied);
        assert_eq!(p.can_subscribe(b"d.x", Some(b"grp2")), Allowed);
        // A non-matching queue entry never lifts a plain deny (nats-server would let it).
        let p = perms(None, sp(&[], &["d.>", "d.x grp1"]));
        assert_eq!(p.can_subscribe(b"d.x", Some(b"grp2")), Denied);
        // Delivery filter for a queue sub overlapping a queue-qualified deny.
        let p = perms(None, sp(&[], &["d.x grp1", "e.x"]));
        assert_eq!(p.can_subscribe(b"d.*", Some(b"grp1")), AllowedFiltered);
        assert_eq!(p.can_subscribe(b"d.*", Some(b"grp2")), Allowed);
        assert!(!p.deliver_allowed(b"d.x", Some(b"grp1")));
        assert!(p.deliver_allowed(b"d.x", Some(b"grp2")));
        assert!(!p.deliver_allowed(b"e.x", Some(b"grp2")));
        assert!(p.deliver_allowed(b"d.x", None));
        assert!(!p.deliver_allowed(b"e.x", None));
    }

    #[test]
    fn wildcard_sub_overlapping_deny_is_filtered() {
        // allow `>`, deny `svc.a.secret`: `SUB >` is accepted but never sees svc.a.secret.
        let p = perms(None, sp(&[">"], &["svc.a.secret"]));
        assert_eq!(p.can_subscribe(b">", None), AllowedFiltered);
        assert_eq!(p.can_subscribe(b"svc.a.*", None), AllowedFiltered);
        assert_eq!(p.can_subscribe(b"svc.b.*", None), Allowed);
        assert_eq!(p.can_subscribe(b"svc.a.secret", None), Denied);
        assert_eq!(p.can_subscribe(b"svc.a.public", None), Allowed);
        assert!(!p.deliver_allowed(b"svc.a.secret", None));
        assert!(p.deliver_allowed(b"svc.a.public", None));
        // Overlap without containment (nats-server misses this one; we filter it).
        let p = perms(None, sp(&[], &["svc.*.secret"]));
        assert_eq!(p.can_subscribe(b"svc.a.>", None), AllowedFiltered);
        // A SUB inside a deny wildcard is refused.
        let p = perms(None, sp(&[], &["svc.>"]));
        assert_eq!(p.can_subscribe(b"svc.*", None), Denied);
        assert_eq!(p.can_subscribe(b"svc.a.b", None), Denied);
        assert_eq!(p.can_subscribe(b">", None), AllowedFiltered);
    }

    #[test]
    fn sub_wildcards_are_plain_tokens_as_in_nats_server() {
        // allow `svc.*`: nats-server accepts `SUB svc.>` (its `*` matches the token `>`) and then delivers
        // every svc.a.b to it; corenats accepts it too, but delivers only what `svc.*` allows.
        let p = perms(None, sp(&["svc.*"], &[]));
        assert_eq!(p.can_subscribe(b"svc.>", None), AllowedFiltered);
        assert_eq!(p.can_subscribe(b"svc.*", None), Allowed);
        assert_eq!(p.can_subscribe(b"*.*", None), Denied);
        assert!(p.deliver_allowed(b"svc.a", None));
        assert!(!p.deliver_allowed(b"svc.a.b", None));
        // deny `x.*`: `SUB x.>` is refused (nats-server: the entry matches the token `>`), as is `x.*`;
        // `SUB >` overlaps and is filtered.
        let p = perms(None, sp(&[], &["x.*", "a.*.*"]));
        assert_eq!(p.can_subscribe(b"x.>", None), Denied);
        assert_eq!(p.can_subscribe(b"x.*", None), Denied);
        assert_eq!(p.can_subscribe(b"a.*.>", None), Denied);
        assert_eq!(p.can_subscribe(b">", None), AllowedFiltered);
        assert!(p.deliver_allowed(b"x.y.z", None));
        assert!(!p.deliver_allowed(b"x.y", None));
    }

    #[test]
    fn allow_responses_forms() {
        let rp = ResponsePermSpec {
            max: 2,
            expires: Duration::from_secs(5),
        };
        // No publish rules: publish becomes deny-all except replies.
        let p = Permissions::compile(&PermissionsSpec {
            publish: None,
            subscribe: sp(&["req.>"], &[]),
            allow_responses: Some(rp.clone()),
        })
        .unwrap();
        assert!(!p.can_publish(b"anything"));
        assert_eq!(
            p.has_responses(),
            Some(&ResponsePerm {
                max: Some(2),
                expires: Some(Duration::from_secs(5))
            })
        );
        // Publish with only a deny list: allow still becomes empty.
        let p = Permissions::compile(&PermissionsSpec {
            publish: sp(&[], &["x"]),
            subscribe: None,
            allow_responses: Some(rp.clone()),
        })
        .unwrap();
        assert!(!p.can_publish(b"y"));
        // Explicit publish allow still applies.
        let p = Permissions::compile(&PermissionsSpec {
            publish: sp(&["pub.>"], &[]),
            subscribe: None,
            allow_responses: Some(rp),
        })
        .unwrap();
        assert!(p.can_publish(b"pub.x"));
        assert!(!p.can_publish(b"other"));
        // Defaults and unlimited.
        let d = ResponsePerm::from_spec(&ResponsePermSpec {
            max: 0,
            expires: Duration::from_secs(120),
        });
        assert_eq!(d.max, Some(1));
        assert_eq!(d.expires, Some(Duration::from_secs(120)));
        let u = ResponsePerm::from_spec(&ResponsePermSpec {
            max: -1,
            expires: Duration::ZERO,
        });
        assert_eq!(u.max, None);
        assert_eq!(u.expires, None);
    }

    #[test]
    fn invalid_subjects_rejected() {
        let e = Permissions::compile(&PermissionsSpec {
            publish: sp(&["foo..bar", "ok"], &["a b"]),
            subscribe: sp(&["x..y grp", "a b c"], &[">.x"]),
            allow_responses: None,
        })
        .unwrap_err();
        assert_eq!(
            e,
            vec![
                r#"subject "foo..bar" is not a valid subject"#,
                r#"subject "a b" is not a valid subject"#,
                r#"subject "x..y" is not a valid subject"#,
                r#"subject "a b c" is not a valid subject"#,
                r#"subject ">.x" is not a valid subject"#,
            ]
        );
    }

    #[test]
    fn generations_are_unique() {
        let a = user_a();
        let b = user_a();
        assert_ne!(a.generation(), b.generation());
        assert_ne!(a.generation(), 0);
    }
}
