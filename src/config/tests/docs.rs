//! Config examples from the NATS documentation (nats.docs), loaded in pedantic mode. The files live in
//! `tests/configs/good/`, where the CLI tests also check them with `-t`.

use super::*;
use crate::config::{ExportKind, SubjectPermSpec};

#[test]
fn accounts_import_export_example() {
    let text = include_str!("../../../tests/configs/good/docs_accounts.conf");
    let c = pedantic(text).unwrap_or_else(|e| panic!("{e}")).config;
    assert_eq!(c.accounts.len(), 3);
    assert_eq!(c.accounts[0].exports.len(), 4);
    assert_eq!(c.accounts[0].exports[2].accounts, ["B"]);
    assert_eq!(c.accounts[2].imports[0].prefix.as_deref(), Some("from_a"));
    assert_eq!(c.accounts[2].imports[1].kind, ExportKind::Service);
    assert_eq!(c.accounts[2].imports[1].to.as_deref(), Some("Q"));
    assert_eq!(c.no_auth_user.as_deref(), Some("a"));
}

#[test]
fn allow_deny_example() {
    let text = include_str!("../../../tests/configs/good/docs_allow_deny.conf");
    let a = pedantic(text)
        .unwrap_or_else(|e| panic!("{e}"))
        .config
        .authorization
        .unwrap();
    let p = a.users[1].permissions.as_ref().unwrap();
    assert_eq!(
        p.publish,
        Some(SubjectPermSpec {
            allow: None,
            deny: Some(vec![">".into()])
        })
    );
    assert_eq!(
        p.subscribe,
        Some(SubjectPermSpec {
            allow: Some(vec!["client.>".into()]),
            deny: None
        })
    );
}

#[test]
fn allow_responses_example() {
    let text = include_str!("../../../tests/configs/good/docs_allow_responses.conf");
    let a = pedantic(text)
        .unwrap_or_else(|e| panic!("{e}"))
        .config
        .authorization
        .unwrap();
    let r = a.users[2]
        .permissions
        .as_ref()
        .unwrap()
        .allow_responses
        .clone()
        .unwrap();
    assert_eq!((r.max, r.expires.as_secs()), (5, 60));
}

#[test]
fn queue_permissions_example() {
    let text = include_str!("../../../tests/configs/good/docs_queue_permissions.conf");
    let a = pedantic(text)
        .unwrap_or_else(|e| panic!("{e}"))
        .config
        .authorization
        .unwrap();
    let s = a.users[1]
        .permissions
        .as_ref()
        .unwrap()
        .subscribe
        .clone()
        .unwrap();
    assert_eq!(s.allow.unwrap().len(), 4);
    assert_eq!(s.deny, Some(vec!["> *.prod".to_string()]));
}

#[test]
fn token_and_nkey_examples() {
    let c = pedantic(include_str!("../../../tests/configs/good/docs_token.conf"))
        .unwrap()
        .config;
    assert_eq!(c.authorization.unwrap().token.as_deref(), Some("s3cr3t"));
    let nkey = include_str!("../../../tests/configs/good/docs_nkey.conf").replace(
        "NKEY",
        "UDXU4RCSJNZOIQHZNWXHXMKZ3OUF23FGFS5YHMM6DSTB6JKNB6XPIKSB",
    );
    let c = pedantic(&nkey).unwrap().config;
    assert!(c.authorization.unwrap().users[0].nkey.is_some());
}
