//! Compiles the accounts' cross-account settings (exports, imports, mappings) into the [`Account`] lookup tables, with
//! nats-server's load-time checks and error texts.
//!
//! Order, as nats-server: all exports first (imports are checked against them), then every stream import,
//! then every service import, each in file order. An import that closes a cycle is the one reported.

use std::collections::HashMap;

use super::account::{Account, Mapping, ServiceImport, StreamRoute};
use super::transform::SubjectTransform;
use super::AccountId;
use crate::config::{AccountSpec, Diagnostic, ExportKind, ExportSpec, ImportSpec, MappingSpec};
use crate::subject::{collide, is_subset, is_valid_subject};

/// One compiled export, kept only while compiling.
struct Export<'a> {
    spec: &'a ExportSpec,
    /// `None` = public; otherwise the accounts allowed to import.
    approved: Option<Vec<AccountId>>,
}

/// A service import already added, for cycle detection: requests in `importer` on `local` go to
/// `exporter` on `remote`.
struct SvcEdge {
    importer: AccountId,
    local: Box<[u8]>,
    exporter: AccountId,
    remote: Box<[u8]>,
}

/// A stream import already added: messages in `exporter` on `subject` also appear in `importer` on `local`.
struct StreamEdge {
    exporter: AccountId,
    subject: Box<[u8]>,
    importer: AccountId,
    local: Box<[u8]>,
}

/// Compiles exports/imports/mappings of `specs` (configured accounts with their ids) into `accounts`.
/// `ids` maps every live account name to its id. Errors are appended.
pub(crate) fn compile(
    specs: &[(AccountId, &AccountSpec)],
    ids: &HashMap<String, AccountId>,
    accounts: &mut [Account],
    errors: &mut Vec<Diagnostic>,
) {
    let mut exports: HashMap<AccountId, Vec<Export<'_>>> = HashMap::new();
    for (id, spec) in specs {
        for e in &spec.exports {
            let what = kind_name(e.kind);
            if !is_valid_subject(e.subject.as_bytes()) {
                errors.push(Diagnostic::unplaced(format!(
                    "Error adding {what} export {:?}: invalid subject",
                    e.subject
                )));
                continue;
            }
            let mut approved = None;
            if !e.accounts.is_empty() {
                let mut v = Vec::new();
                for an in &e.accounts {
                    match ids.get(an) {
                        Some(aid) => v.push(*aid),
                        None => errors.push(Diagnostic::unplaced(format!(
                            "{an:?} account not defined for {what} export"
                        ))),
                    }
                }
                approved = Some(v);
            }
            exports
                .entry(*id)
                .or_default()
                .push(Export { spec: e, approved });
        }
    }

    let mut stream_edges: Vec<StreamEdge> = Vec::new();
    for (id, spec) in specs {
        for im in spec.imports.iter().filter(|i| i.kind == ExportKind::Stream) {
            if let Err(msg) = add_stream_import(*id, im, ids, &exports, &mut stream_edges, accounts)
            {
                errors.push(Diagnostic::unplaced(msg));
            }
        }
    }

    let mut svc_edges: Vec<SvcEdge> = Vec::new();
    for (id, spec) in specs {
        // Local subject → (exporter name, exporter subject) of the first import using it.
        let mut seen: HashMap<&str, (&str, &str)> = HashMap::new();
        for im in spec
            .imports
            .iter()
            .filter(|i| i.kind == ExportKind::Service)
        {
            let local = im.to.as_deref().unwrap_or(&im.subject);
            if let Some((an, sub)) = seen.get(local) {
                errors.push(Diagnostic::unplaced(format!(
                    "Duplicate service import subject {local:?}, previously used in import for account {an:?}, subject {sub:?}"
                )));
                continue;
            }
            seen.insert(local, (&im.account, &im.subject));
            if let Err(msg) = add_service_import(*id, im, ids, &exports, &mut svc_edges, accounts) {
                errors.push(Diagnostic::unplaced(msg));
            }
        }
    }

    for (id, spec) in specs {
        if let Some(acc) = accounts.get_mut(*id as usize) {
            add_mappings(acc, &spec.mappings, errors);
        }
    }
}

/// Compiles `mappings` into an account's table (also used for the top-level mappings of `$G`).
pub(crate) fn add_mappings(acc: &mut Account, specs: &[MappingSpec], errors: &mut Vec<Diagnostic>) {
    for m in specs {
        let err = |why: &str| {
            Diagnostic::unplaced(format!("Error adding mapping for {:?}: {why}", m.source))
        };
        if !is_valid_subject(m.source.as_bytes()) {
            errors.push(err("invalid subject"));
            continue;
        }
        let total: u32 = m.destinations.iter().map(|(_, w)| u32::from(*w)).sum();
        if total > 100 || m.destinations.is_empty() {
            errors.push(err("weights must add up to at most 100%"));
            continue;
        }
        let mut dests = Vec::with_capacity(m.destinations.len());
        let mut ok = true;
        for (d, w) in &m.destinations {
            match SubjectTransform::template(&m.source, d) {
                Ok(t) => dests.push((t, *w)),
                Err(why) => {
                    errors.push(err(&why));
                    ok = false;
                }
            }
        }
        if !ok {
            continue;
        }
        let idx = acc.mapping_list.len() as u32;
        if acc.mappings.insert(m.source.as_bytes(), None, idx).is_err() {
            errors.push(err("invalid subject"));
            continue;
        }
        acc.mapping_list.push(Mapping {
            source: m.source.as_str().into(),
            destinations: dests,
        });
    }
}

fn kind_name(k: ExportKind) -> &'static str {
    match k {
        ExportKind::Stream => "stream",
        ExportKind::Service => "service",
    }
}

/// The export of `exporter` that lets `importer` import `subject` (an exact subject match first, then any
/// export covering it). Importing a never-exported subject is "not authorized", as in nats-server.
fn find_export<'a>(
    exports: &'a HashMap<AccountId, Vec<Export<'a>>>,
    exporter: AccountId,
    kind: ExportKind,
    subject: &str,
    importer: AccountId,
) -> Option<&'a ExportSpec> {
    let list = exports.get(&exporter)?;
    let ok = |e: &&Export<'_>| e.approved.as_ref().is_none_or(|a| a.contains(&importer));
    let of_kind = || list.iter().filter(|e| e.spec.kind == kind);
    of_kind()
        .find(|e| e.spec.subject == subject)
        .filter(ok)
        .or_else(|| {
            of_kind()
                .filter(ok)
                .find(|e| is_subset(subject.as_bytes(), e.spec.subject.as_bytes()))
        })
        .map(|e| e.spec)
}

fn add_stream_import(
    importer: AccountId,
    im: &ImportSpec,
    ids: &HashMap<String, AccountId>,
    exports: &HashMap<AccountId, Vec<Export<'_>>>,
    edges: &mut Vec<StreamEdge>,
    accounts: &mut [Account],
) -> Result<(), String> {
    let Some(&exporter) = ids.get(&im.account) else {
        return Err(format!(
            "{:?} account not defined for stream import",
            im.account
        ));
    };
    let err = |why: &str| format!("Error adding stream import {:?}: {why}", im.subject);
    if im.prefix.is_some() && im.to.is_some() {
        return Err("Stream import can not have a 'prefix' and a 'to' property".to_string());
    }
    if !is_valid_subject(im.subject.as_bytes()) {
        return Err(err("invalid subject"));
    }
    let (transform, local) = match (&im.prefix, &im.to) {
        (Some(p), _) => {
            let t = SubjectTransform::prefix(p).map_err(|w| err(&w))?;
            let mut local = p.trim_end_matches('.').to_string();
            local.push('.');
            local.push_str(&im.subject);
            (t, local)
        }
        (None, Some(to)) => (
            SubjectTransform::template(&im.subject, to).map_err(|w| err(&w))?,
            to.clone(),
        ),
        (None, None) => (SubjectTransform::identity(), im.subject.clone()),
    };
    if find_export(exports, exporter, ExportKind::Stream, &im.subject, importer).is_none() {
        return Err(err("stream import not authorized"));
    }
    // nats-server refuses a second import of the same stream, whatever its prefix (each would deliver
    // every message once more).
    let subject = im.subject.as_bytes();
    if edges
        .iter()
        .any(|e| e.exporter == exporter && e.importer == importer && &*e.subject == subject)
    {
        return Err(err("stream import already exists"));
    }
    // Messages flow exporter → importer; a cycle exists if they can flow from the importer back.
    let mut stack: Vec<(AccountId, Vec<u8>)> = vec![(importer, local.clone().into_bytes())];
    let mut used = vec![false; edges.len()];
    while let Some((acc, subj)) = stack.pop() {
        if acc == exporter {
            return Err(err("import forms a cycle"));
        }
        for (i, e) in edges.iter().enumerate() {
            if !used[i] && e.exporter == acc && collide(&e.subject, &subj) {
                used[i] = true;
                stack.push((e.importer, e.local.to_vec()));
            }
        }
    }
    let acc = accounts
        .get_mut(exporter as usize)
        .ok_or_else(|| format!("{:?} account not defined for stream import", im.account))?;
    let idx = acc.stream_route_list.len() as u32;
    acc.stream_routes
        .insert(im.subject.as_bytes(), None, idx)
        .map_err(|_| err("invalid subject"))?;
    acc.stream_route_list.push(StreamRoute {
        importer,
        transform,
        subject: im.subject.as_str().into(),
    });
    edges.push(StreamEdge {
        exporter,
        subject: im.subject.as_bytes().into(),
        importer,
        local: local.into_bytes().into(),
    });
    Ok(())
}

fn add_service_import(
    importer: AccountId,
    im: &ImportSpec,
    ids: &HashMap<String, AccountId>,
    exports: &HashMap<AccountId, Vec<Export<'_>>>,
    edges: &mut Vec<SvcEdge>,
    accounts: &mut [Account],
) -> Result<(), String> {
    let Some(&exporter) = ids.get(&im.account) else {
        return Err(format!(
            "{:?} account not defined for service import",
            im.account
        ));
    };
    let err = |why: &str| format!("Error adding service import {:?}: {why}", im.subject);
    let local = im.to.as_deref().unwrap_or(&im.subject);
    if !is_valid_subject(im.subject.as_bytes()) || !is_valid_subject(local.as_bytes()) {
        return Err(err("invalid subject"));
    }
    let transform = match &im.to {
        Some(to) if to != &im.subject => {
            SubjectTransform::template(to, &im.subject).map_err(|w| err(&w))?
        }
        _ => SubjectTransform::identity(),
    };
    let Some(export) = find_export(
        exports,
        exporter,
        ExportKind::Service,
        &im.subject,
        importer,
    ) else {
        return Err(err("service import not authorized"));
    };
    // Requests flow importer → exporter; a cycle exists if they can flow from the exporter back.
    let mut stack: Vec<(AccountId, Vec<u8>)> = vec![(exporter, im.subject.clone().into_bytes())];
    let mut used = vec![false; edges.len()];
    while let Some((acc, subj)) = stack.pop() {
        if acc == importer {
            return Err(err("import forms a cycle"));
        }
        for (i, e) in edges.iter().enumerate() {
            if !used[i] && e.importer == acc && collide(&e.local, &subj) {
                used[i] = true;
                stack.push((e.exporter, e.remote.to_vec()));
            }
        }
    }
    let acc = accounts
        .get_mut(importer as usize)
        .ok_or_else(|| err("importing account missing"))?;
    let idx = acc.service_import_list.len() as u32;
    acc.service_imports
        .insert(local.as_bytes(), None, idx)
        .map_err(|_| err("invalid subject"))?;
    acc.service_import_list.push(ServiceImport {
        exporter,
        transform,
        response_type: export.response_type,
        threshold: export.response_threshold,
        share: im.share,
        local: local.into(),
        remote: im.subject.as_str().into(),
    });
    edges.push(SvcEdge {
        importer,
        local: local.as_bytes().into(),
        exporter,
        remote: im.subject.as_bytes().into(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::Auth;
    use crate::config::{ExportKind::*, MappingSpec, ResponseType};
    use std::time::Duration;

    fn apply(t: &crate::auth::SubjectTransform, s: &str) -> String {
        let mut out = Vec::new();
        assert!(t.apply(s.as_bytes(), &mut out));
        String::from_utf8(out).unwrap()
    }

    /// The documentation's example: A exports, B imports.
    fn example() -> crate::config::Config {
        let mut c = config();
        let mut a = account("A", vec![]);
        a.exports = vec![
            export(Stream, "pub.>", &[]),
            export(Service, "help.>", &[]),
            export(Service, "priv.>", &["B"]),
        ];
        a.exports[1].response_type = ResponseType::Stream;
        a.exports[1].response_threshold = Duration::from_secs(10);
        let mut b = account("B", vec![]);
        let mut s1 = import(Stream, "A", "pub.>");
        s1.prefix = Some("fromA".into());
        let mut s2 = import(Stream, "A", "pub.>");
        s2.to = Some("x.>".into());
        let mut v1 = import(Service, "A", "help.>");
        v1.to = Some("ahelp.>".into());
        let mut v2 = import(Service, "A", "priv.x");
        v2.share = true;
        b.imports = vec![s1, v1, v2];
        // A second import of the same stream must come from another account (nats-server refuses
        // a duplicate within one).
        let mut c_acc = account("C", vec![]);
        c_acc.imports = vec![s2];
        c.accounts = vec![a, b, c_acc];
        c
    }

    #[test]
    fn stream_routes_on_exporter() {
        let auth = Auth::compile(&example(), None).unwrap();
        let a = auth.account(auth.account_id("A").unwrap()).unwrap();
        let b_id = auth.account_id("B").unwrap();
        let routes = a.stream_routes_for(b"pub.news");
        assert_eq!(routes.len(), 2);
        let mut seen: Vec<String> = routes
            .iter()
            .map(|r| {
                assert!(r.importer == b_id || Some(r.importer) == auth.account_id("C"));
                apply(&r.transform, "pub.news")
            })
            .collect();
        seen.sort();
        assert_eq!(seen, vec!["fromA.pub.news", "x.news"]);
        assert!(a.stream_routes_for(b"other").is_empty());
        // The importer has no stream routes of its own.
        assert!(auth
            .account(b_id)
            .unwrap()
            .stream_routes_for(b"pub.news")
            .is_empty());
    }

    #[test]
    fn service_imports_on_importer() {
        let auth = Auth::compile(&example(), None).unwrap();
        let a_id = auth.account_id("A").unwrap();
        let b = auth.account(auth.account_id("B").unwrap()).unwrap();
        let si = b.service_import_for(b"ahelp.me").unwrap();
        assert_eq!(si.exporter, a_id);
        assert_eq!(apply(&si.transform, "ahelp.me"), "help.me");
        assert_eq!(si.response_type, ResponseType::Stream);
        assert_eq!(si.threshold, Duration::from_secs(10));
        assert!(!si.share);
        let si = b.service_import_for(b"priv.x").unwrap();
        assert!(si.transform.is_identity());
        assert!(si.share);
        assert_eq!(si.response_type, ResponseType::Singleton);
        assert!(b.service_import_for(b"help.me").is_none());
        assert!(b.service_import_for(b"priv.y").is_none());
    }

    fn errors_of(c: &crate::config::Config) -> Vec<String> {
        let errs = Auth::compile(c, None).err().unwrap_or_default();
        errs.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn import_errors() {
        let mut c = example();
        let b = &mut c.accounts[1];
        b.imports.push(import(Stream, "Z", "s.>"));
        b.imports.push(import(Service, "Z", "s.>"));
        b.imports.push(import(Stream, "A", "s.>")); // never exported
        let mut both = import(Stream, "A", "pub.>");
        both.prefix = Some("p".into());
        both.to = Some("t.>".into());
        b.imports.push(both);
        let mut wild = import(Stream, "A", "pub.>");
        wild.prefix = Some("p.*".into());
        b.imports.push(wild);
        let mut dup = import(Service, "A", "help.x");
        dup.to = Some("ahelp.>".into());
        b.imports.push(dup);
        // C may not import the private service.
        c.accounts[2].imports.push(import(Service, "A", "priv.x"));
        assert_eq!(
            errors_of(&c),
            vec![
                r#""Z" account not defined for stream import"#,
                r#"Error adding stream import "s.>": stream import not authorized"#,
                "Stream import can not have a 'prefix' and a 'to' property",
                r#"Error adding stream import "pub.>": stream import prefix can not contain wildcard tokens"#,
                r#""Z" account not defined for service import"#,
                r#"Duplicate service import subject "ahelp.>", previously used in import for account "A", subject "help.>""#,
                r#"Error adding service import "priv.x": service import not authorized"#,
            ]
        );
    }

    #[test]
    fn export_errors() {
        let mut c = config();
        let mut a = account("A", vec![]);
        a.exports = vec![
            export(Stream, "bad..x", &[]),
            export(Service, "s", &["Nope"]),
        ];
        c.accounts = vec![a];
        assert_eq!(
            errors_of(&c),
            vec![
                r#"Error adding stream export "bad..x": invalid subject"#,
                r#""Nope" account not defined for service export"#,
            ]
        );
    }

    #[test]
    fn service_cycle() {
        let mut c = config();
        let mut a = account("A", vec![]);
        a.exports = vec![export(Service, "svc.>", &[])];
        a.imports = vec![import(Service, "B", "svc.>")];
        let mut b = account("B", vec![]);
        b.exports = vec![export(Service, "svc.>", &[])];
        b.imports = vec![import(Service, "A", "svc.>")];
        c.accounts = vec![a, b];
        assert_eq!(
            errors_of(&c),
            vec![r#"Error adding service import "svc.>": import forms a cycle"#]
        );
        // Three accounts in a ring.
        let mut c = config();
        let mut accs = Vec::new();
        for (me, next) in [("A", "B"), ("B", "C"), ("C", "A")] {
            let mut x = account(me, vec![]);
            x.exports = vec![export(Service, "r.>", &[])];
            x.imports = vec![import(Service, next, "r.>")];
            accs.push(x);
        }
        c.accounts = accs;
        assert_eq!(
            errors_of(&c),
            vec![r#"Error adding service import "r.>": import forms a cycle"#]
        );
        // Non-overlapping subjects do not form a cycle.
        let mut c = config();
        let mut a = account("A", vec![]);
        a.exports = vec![export(Service, "a.>", &[])];
        a.imports = vec![import(Service, "B", "b.>")];
        let mut b = account("B", vec![]);
        b.exports = vec![export(Service, "b.>", &[])];
        b.imports = vec![import(Service, "A", "a.>")];
        c.accounts = vec![a, b];
        assert!(errors_of(&c).is_empty());
    }

    #[test]
    fn stream_cycle() {
        let mut c = config();
        let mut a = account("A", vec![]);
        a.exports = vec![export(Stream, "s.>", &[])];
        a.imports = vec![import(Stream, "B", "s.>")];
        let mut b = account("B", vec![]);
        b.exports = vec![export(Stream, "s.>", &[])];
        b.imports = vec![import(Stream, "A", "s.>")];
        c.accounts = vec![a, b];
        assert_eq!(
            errors_of(&c),
            vec![r#"Error adding stream import "s.>": import forms a cycle"#]
        );
        // With a prefix the subjects no longer meet: no cycle.
        let mut b2 = c.accounts[1].clone();
        b2.imports[0].prefix = Some("fromA".into());
        c.accounts[1] = b2;
        assert!(errors_of(&c).is_empty());
    }

    #[test]
    fn mappings_compile() {
        let mut c = config();
        c.mappings = vec![
            MappingSpec {
                source: "old.*.x".into(),
                destinations: vec![("new.{{wildcard(1)}}.x".into(), 100)],
                span: Default::default(),
            },
            MappingSpec {
                source: "in.*".into(),
                destinations: vec![("out.$1".into(), 100)],
                span: Default::default(),
            },
        ];
        let mut a = account("A", vec![]);
        a.mappings = vec![MappingSpec {
            source: "w".into(),
            destinations: vec![("w1".into(), 60), ("w2".into(), 40)],
            span: Default::default(),
        }];
        c.accounts = vec![a];
        let auth = Auth::compile(&c, None).unwrap();
        let g = auth.account(0).unwrap();
        let m = g.mapping_for(b"old.7.x").unwrap();
        assert_eq!(apply(m.pick(0).unwrap(), "old.7.x"), "new.7.x");
        let m = g.mapping_for(b"in.7").unwrap();
        assert_eq!(apply(m.pick(99).unwrap(), "in.7"), "out.7");
        assert!(g.mapping_for(b"w").is_none());
        let a = auth.account(auth.account_id("A").unwrap()).unwrap();
        let m = a.mapping_for(b"w").unwrap();
        assert_eq!(apply(m.pick(59).unwrap(), "w"), "w1");
        assert_eq!(apply(m.pick(60).unwrap(), "w"), "w2");

        let mut c = config();
        c.mappings = vec![
            MappingSpec {
                source: "p.*".into(),
                destinations: vec![("p.{{partition(3,1)}}".into(), 100)],
                span: Default::default(),
            },
            MappingSpec {
                source: "w".into(),
                destinations: vec![("a".into(), 60), ("b".into(), 60)],
                span: Default::default(),
            },
        ];
        let errs = errors_of(&c);
        assert_eq!(errs.len(), 2);
        assert!(
            errs[0].starts_with(r#"Error adding mapping for "p.*": "#),
            "{errs:?}"
        );
        assert!(
            errs[1].starts_with(r#"Error adding mapping for "w": "#),
            "{errs:?}"
        );
    }
}
