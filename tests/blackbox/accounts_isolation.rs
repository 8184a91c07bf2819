//! Raw protocol: accounts are isolated subject spaces (the same subject in two accounts never crosses),
//! on one shard and across shards with many connections; service imports across shards; the
//! `accounts: [A, B]` array form.

use crate::common::monitor::Mon;
use crate::common::tenancy::*;
use crate::common::*;
use std::collections::HashMap;
use std::time::Duration;

const CONF: &str = r#"
accounts {
  A { users: [ {user: a, password: x} ], exports: [ {service: "svc.>"} ] }
  B { users: [ {user: b, password: x} ], imports: [ {service: {account: A, subject: "svc.>"}, to: "asvc.>"} ] }
  C { users: [ {user: c, password: x} ] }
}
"#;

fn start(cores: usize) -> Server {
    Server::start(ServerOpts {
        config: Some(CONF.to_string()),
        cores: Some(cores),
        ..ServerOpts::default()
    })
}

/// Many connections of three accounts subscribe to the same subjects, others publish on them; each
/// subscriber must get exactly its own account's messages, once per matching subscription, and each
/// account's queue group exactly one copy of each of its messages.
fn same_subject_never_crosses(cores: usize) {
    const SUBS_PER_ACCOUNT: usize = 6;
    const PUBS_PER_ACCOUNT: usize = 2;
    const MSGS: usize = 10;
    let s = start(cores);
    let users = ["a", "b", "c"];
    let mut subs: Vec<Raw> = Vec::new();
    let mut account_of: Vec<&str> = Vec::new();
    for u in users {
        for _ in 0..SUBS_PER_ACCOUNT {
            let mut c = login(&s, u, "x");
            c.send(b"SUB shared 1\r\nSUB > 2\r\nSUB shared.* q 3\r\n");
            subs.push(c);
            account_of.push(u);
        }
    }
    for c in subs.iter_mut() {
        c.ping_pong(); // after this PONG the subscriptions are live on every shard
    }
    let mut pubs: Vec<Raw> = Vec::new();
    for u in users {
        for i in 0..PUBS_PER_ACCOUNT {
            let mut c = login(&s, u, "x");
            let mut batch = String::new();
            for n in 0..MSGS {
                let p = format!("{u}-{i}-{n}");
                batch.push_str(&format!("PUB shared {}\r\n{p}\r\n", p.len()));
                batch.push_str(&format!("PUB shared.q {}\r\n{p}\r\n", p.len()));
            }
            c.send(batch.as_bytes());
            pubs.push(c);
        }
    }
    for c in pubs.iter_mut() {
        c.expect_nothing();
    }
    // Per subscriber: `shared` on sids 1 and 2, `shared.q` on sid 2; plus, per account, one queue member
    // (sid 3) for each `shared.q`.
    let from_account = PUBS_PER_ACCOUNT * MSGS;
    let total = subs.len() * 3 * from_account + users.len() * from_account;
    let got = collect_from(&mut subs, total, Duration::from_secs(10));
    let mut queue_hits: HashMap<&str, usize> = HashMap::new();
    for (i, m) in &got {
        let payload = String::from_utf8_lossy(&m.payload).into_owned();
        assert!(
            payload.starts_with(&format!("{}-", account_of[*i])),
            "connection {i} of account {} got {payload:?} on {}",
            account_of[*i],
            m.subject
        );
        if m.sid == "3" {
            *queue_hits.entry(account_of[*i]).or_default() += 1;
        }
    }
    for u in users {
        assert_eq!(queue_hits.get(u).copied(), Some(from_account), "{u}");
    }
    for c in subs.iter_mut() {
        c.expect_nothing();
    }
}

#[test]
fn same_subject_never_crosses_one_shard() {
    same_subject_never_crosses(1);
}

#[test]
fn same_subject_never_crosses_two_shards() {
    same_subject_never_crosses(2);
}

#[test]
fn service_import_across_shards() {
    let s = start(2);
    let mut responders: Vec<Raw> = (0..3)
        .map(|_| {
            let mut r = login(&s, "a", "x");
            r.send(b"SUB svc.> workers 1\r\n");
            r.ping_pong();
            r
        })
        .collect();
    let mut requesters: Vec<Raw> = (0..6)
        .map(|i| {
            let mut r = login(&s, "b", "x");
            r.send(format!("SUB _INBOX.{i}.* 1\r\n").as_bytes());
            r.ping_pong();
            r
        })
        .collect();
    // C, with the same subjects, sees none of it.
    let mut c = login(&s, "c", "x");
    c.send(b"SUB > 1\r\n");
    c.ping_pong();
    const N: usize = 5;
    for (i, r) in requesters.iter_mut().enumerate() {
        for n in 0..N {
            r.send(format!("PUB asvc.{i} _INBOX.{i}.{n} 1\r\n{n}\r\n").as_bytes());
        }
        r.ping_pong();
    }
    let got = collect_from(
        &mut responders,
        requesters.len() * N,
        Duration::from_secs(10),
    );
    for (k, m) in &got {
        let reply = m.reply.clone().expect("reply");
        assert!(reply.starts_with("_R_."), "{reply}");
        let body = format!("re:{}:{}", m.subject, String::from_utf8_lossy(&m.payload));
        responders[*k].send(format!("PUB {reply} {}\r\n{body}\r\n", body.len()).as_bytes());
    }
    for r in responders.iter_mut() {
        r.ping_pong();
    }
    for (i, r) in requesters.iter_mut().enumerate() {
        let mut seen: Vec<String> = (0..N)
            .map(|_| r.read_msg())
            .map(|m| {
                let body = String::from_utf8_lossy(&m.payload).into_owned();
                assert_eq!(
                    body,
                    format!("re:svc.{i}:{}", m.subject.rsplit('.').next().unwrap())
                );
                m.subject
            })
            .collect();
        seen.sort();
        let want: Vec<String> = (0..N).map(|n| format!("_INBOX.{i}.{n}")).collect();
        assert_eq!(seen, want);
        r.expect_nothing();
    }
    c.expect_nothing();
}

#[test]
fn accounts_array_form() {
    let conf = "accounts: [A, B]\nauthorization { users: [ {user: g, password: x} ] }\n";
    let (code, out) = check_config(conf);
    assert_eq!(code, Some(0), "{out}");
    let m = Mon::start(ServerOpts::conf(conf));
    let az = m.json("/accountz");
    let names: Vec<String> = az["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    for n in ["A", "B", "$G"] {
        assert!(names.iter().any(|x| x == n), "{n} in {az:#}");
    }
    // The authorization users live in $G.
    let mut g = login(&m.server, "g", "x");
    g.send(b"SUB x 1\r\nPUB x 1\r\nz\r\n");
    g.expect(b"MSG x 1 1\r\nz\r\n");
    let info_acc = {
        let mut c = m.server.raw();
        c.send(
            format!(
                "CONNECT {}\r\nPING\r\n",
                connect_json(&format!(r#""protocol":1,{}"#, user_pass("g", "x")))
            )
            .as_bytes(),
        );
        c.expect(b"PONG\r\n");
        c.expect_info()["remote_account"].clone()
    };
    assert_eq!(info_acc, "$G");
}
