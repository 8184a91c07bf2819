//! Config examples from the NATS documentation (nats.docs), loaded in pedantic mode.

use super::*;
use crate::config::{ExportKind, SubjectPermSpec};

#[test]
fn accounts_import_export_example() {
    let text = r#"
accounts: {
    A: {
        users: [
            {user: a, password: a}
        ]
        exports: [
            {stream: puba.>}
            {service: pubq.>}
            {stream: b.>, accounts: [B]}
            {service: q.b, accounts: [B]}
        ]
    },
    B: {
        users: [
            {user: b, password: b}
        ]
        imports: [
            {stream: {account: A, subject: b.>}}
            {service: {account: A, subject: q.b}}
        ]
    }
    C: {
        users: [
            {user: c, password: c}
        ]
        imports: [
            {stream: {account: A, subject: puba.>}, prefix: from_a}
            {service: {account: A, subject: pubq.C}, to: Q}
        ]
    }
}
no_auth_user: a
"#;
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
    let text = r#"
authorization: {
    users = [
        {
            user: admin
            password: secret
            permissions: {
                publish: ">"
                subscribe: ">"
            }
        }
        { 
            user: test
            password: test
            permissions: {
                publish: {
                    deny: ">"
                }, 
                subscribe: {
                    allow: "client.>"
                }
            }
        }
    ]
}
"#;
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
    let text = r#"
authorization: {
    users: [
        { user: a, password: a },
        { user: b, password: b, permissions: {subscribe: "q", allow_responses: true } },
        { user: c, password: c, permissions: {subscribe: "q", allow_responses: { max: 5, expires: "1m" } } }
    ]
}
"#;
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
    // The docs' snippet misses a closing brace per user; fixed here.
    let text = r#"
authorization {
users = [
  {
    user: "a", password: "a", permissions: {
      sub: {
        allow: ["foo queue"]
     }
    }
  }
  {
    user: "b", password: "b", permissions: {
      sub: {
        # Allow plain subscription foo, but only v1 groups or *.dev queue groups
        allow: ["foo", "foo v1", "foo v1.>", "foo *.dev"]

        # Prevent queue subscriptions on prod groups
        deny: ["> *.prod"]
     }
    }
  }
]
}
"#;
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
    let c = pedantic("authorization {\n    token: \"s3cr3t\"\n}\n")
        .unwrap()
        .config;
    assert_eq!(c.authorization.unwrap().token.as_deref(), Some("s3cr3t"));
    let c = pedantic(
        "authorization: {\n  users: [\n    { nkey: UDXU4RCSJNZOIQHZNWXHXMKZ3OUF23FGFS5YHMM6DSTB6JKNB6XPIKSB }\n  ]\n}\n",
    )
    .unwrap()
    .config;
    assert!(c.authorization.unwrap().users[0].nkey.is_some());
}
