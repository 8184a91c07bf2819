//! Raw protocol: stream exports/imports (prefix and `to`), service exports/imports (`to`, the `_R_.`
//! reply rewrite, singleton responses), private exports, and subject mappings.

use crate::common::tenancy::*;
use crate::common::*;

const CONF: &str = r#"
accounts {
  A {
    users: [ {user: a, password: x} ]
    exports: [
      {stream: "pub.>"}
      {service: "help.>"}
      {stream: "priv.>", accounts: [B]}
    ]
    mappings: { "in.*": "out.$1" }
  }
  B {
    users: [ {user: b, password: x} ]
    imports: [
      {stream: {account: A, subject: "pub.>"}, prefix: "fromA"}
      {service: {account: A, subject: "help.>"}, to: "ahelp.>"}
      {stream: {account: A, subject: "priv.>"}}
    ]
  }
  C {
    users: [ {user: c, password: x} ]
    imports: [ {stream: {account: A, subject: "pub.>"}, to: "news.>"} ]
  }
}
"#;

fn server() -> Server {
    Server::start(ServerOpts::conf(CONF))
}

/// True for `_R_.` + 6 base62 characters + `.` + 6 base62 characters (optionally more tokens after).
fn is_service_reply(r: &str) -> bool {
    let t: Vec<&str> = r.split('.').collect();
    t.len() >= 3
        && t[0] == "_R_"
        && t[1..3]
            .iter()
            .all(|x| x.len() == 6 && x.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[test]
fn stream_import_with_prefix_and_with_to() {
    let s = server();
    let mut a = login(&s, "a", "x");
    let mut b = login(&s, "b", "x");
    let mut c = login(&s, "c", "x");
    a.send(b"SUB pub.> 1\r\n");
    a.ping_pong();
    b.send(b"SUB fromA.> 1\r\nSUB pub.> 2\r\n");
    b.ping_pong();
    c.send(b"SUB news.* 1\r\nSUB pub.> 2\r\nSUB fromA.> 3\r\n");
    c.ping_pong();
    let mut pa = login(&s, "a", "x");
    pa.send(b"PUB pub.news 5\r\nhello\r\n");
    pa.ping_pong();
    a.expect(b"MSG pub.news 1 5\r\nhello\r\n");
    b.expect(b"MSG fromA.pub.news 1 5\r\nhello\r\n");
    c.expect(b"MSG news.news 1 5\r\nhello\r\n");
    a.expect_nothing();
    b.expect_nothing();
    c.expect_nothing();
    // Imports are one way: B publishing the mapped or the original subject stays in B.
    let mut pb = login(&s, "b", "x");
    pb.send(b"PUB pub.news 1\r\nb\r\nPUB fromA.pub.x 1\r\nb\r\n");
    pb.ping_pong();
    b.expect(b"MSG pub.news 2 1\r\nb\r\n");
    b.expect(b"MSG fromA.pub.x 1 1\r\nb\r\n");
    a.expect_nothing();
    c.expect_nothing();
    // Subjects outside the export do not cross.
    pa.send(b"PUB other 1\r\nz\r\n");
    pa.ping_pong();
    b.expect_nothing();
    c.expect_nothing();
}

#[test]
fn private_stream_export_reaches_only_the_named_account() {
    let s = server();
    let mut b = login(&s, "b", "x");
    b.send(b"SUB priv.> 1\r\n");
    b.ping_pong();
    let mut c = login(&s, "c", "x");
    c.send(b"SUB priv.> 1\r\n");
    c.ping_pong();
    let mut pa = login(&s, "a", "x");
    pa.send(b"PUB priv.x 1\r\np\r\n");
    pa.ping_pong();
    b.expect(b"MSG priv.x 1 1\r\np\r\n");
    b.expect_nothing();
    c.expect_nothing();
    // And an import of it by anyone else is a config error.
    let bad = "accounts {\n  A { exports: [ {stream: \"priv.>\", accounts: [B]} ] }\n  B { }\n  C { imports: [ {stream: {account: A, subject: \"priv.>\"}} ] }\n}\n";
    let (code, out) = check_config(bad);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("stream import not authorized"), "{out}");
}

#[test]
fn service_import_with_to_rewrites_the_reply() {
    let s = server();
    let mut responder = login(&s, "a", "x");
    responder.send(b"SUB help.> 9\r\n");
    responder.ping_pong();
    let mut requester = login(&s, "b", "x");
    requester.send(b"SUB _INBOX.b.* 1\r\n");
    requester.ping_pong();
    requester.send(b"PUB ahelp.me _INBOX.b.1 3\r\nreq\r\n");
    requester.ping_pong();
    let m = responder.read_msg();
    assert_eq!(m.subject, "help.me");
    assert_eq!(m.sid, "9");
    assert_eq!(m.payload, b"req");
    let reply = m.reply.clone().expect("the request carries a reply");
    assert!(is_service_reply(&reply), "reply {reply:?}");
    if let Some(h) = &m.header {
        // nats-server adds the requester's info; corenats sends the request as it came (plain MSG).
        assert!(
            String::from_utf8_lossy(h).contains("Nats-Request-Info"),
            "{m:?}"
        );
    }
    // The response goes back to B's own inbox; a second response is dropped (singleton).
    responder.send(format!("PUB {reply} 4\r\nresp\r\nPUB {reply} 5\r\nresp2\r\n").as_bytes());
    responder.ping_pong();
    requester.expect(b"MSG _INBOX.b.1 1 4\r\nresp\r\n");
    requester.expect_nothing();
    responder.expect_nothing();
    // Only the imported subject crosses: B's `help.me` stays in B, and A's own `ahelp.me` stays in A.
    requester.send(b"PUB help.me _INBOX.b.2 1\r\nx\r\n");
    requester.ping_pong();
    responder.expect_nothing();
    let mut a2 = login(&s, "a", "x");
    a2.send(b"PUB ahelp.me 1\r\nx\r\n");
    a2.ping_pong();
    responder.expect_nothing();
    // A second request gets a different reply subject.
    requester.send(b"PUB ahelp.again _INBOX.b.3 1\r\nr\r\n");
    requester.ping_pong();
    let m2 = responder.read_msg();
    let reply2 = m2.reply.unwrap();
    assert!(is_service_reply(&reply2), "{reply2}");
    assert_ne!(reply2, reply);
    responder.send(format!("PUB {reply2} 2\r\nok\r\n").as_bytes());
    responder.ping_pong();
    requester.expect(b"MSG _INBOX.b.3 1 2\r\nok\r\n");
    requester.expect_nothing();
}

#[test]
fn account_mappings() {
    let s = server();
    let mut a = login(&s, "a", "x");
    a.send(b"SUB out.* 1\r\nSUB in.* 2\r\n");
    a.ping_pong();
    let mut b = login(&s, "b", "x");
    b.send(b"SUB out.* 1\r\nSUB in.* 2\r\n");
    b.ping_pong();
    let mut pa = login(&s, "a", "x");
    pa.send(b"PUB in.7 1\r\nm\r\n");
    pa.ping_pong();
    // Subscribers only see the mapped subject.
    a.expect(b"MSG out.7 1 1\r\nm\r\n");
    a.expect_nothing();
    // The mapping belongs to A: B's `in.7` is not mapped.
    let mut pb = login(&s, "b", "x");
    pb.send(b"PUB in.7 1\r\nn\r\n");
    pb.ping_pong();
    b.expect(b"MSG in.7 2 1\r\nn\r\n");
    b.expect_nothing();
    a.expect_nothing();
}

#[test]
fn global_account_mappings() {
    let s = Server::start(ServerOpts::conf(
        "mappings { \"old.*.x\": \"new.{{wildcard(1)}}.x\", \"legacy.>\": \"modern.>\" }\n",
    ));
    let mut sub = s.ready();
    sub.send(b"SUB new.*.x 1\r\nSUB modern.> 2\r\nSUB old.> 3\r\n");
    sub.ping_pong();
    let mut p = s.ready();
    p.send(b"PUB old.7.x 1\r\n1\r\nPUB legacy.a.b 1\r\n2\r\n");
    p.ping_pong();
    sub.expect(b"MSG new.7.x 1 1\r\n1\r\n");
    sub.expect(b"MSG modern.a.b 2 1\r\n2\r\n");
    sub.expect_nothing();
}

/// Two exporters and one importer: each exporter's responses are its own. Another account that
/// learns a pending reply subject cannot answer it, a forged `Nats-Request-Info` is replaced, and a
/// response with a reply of its own can be answered back across the accounts.
const TWO_EXPORTERS: &str = r#"
accounts {
  A { users: [ {user: a, password: x} ], exports: [ {service: "svc.>", response_type: stream} ] }
  C { users: [ {user: c, password: x} ], exports: [ {service: "csvc.>"} ] }
  B {
    users: [ {user: b, password: x} ]
    imports: [
      {service: {account: A, subject: "svc.>"}}
      {service: {account: C, subject: "csvc.>"}}
    ]
  }
}
"#;

#[test]
fn responses_belong_to_their_exporter() {
    let s = Server::start(ServerOpts::conf(TWO_EXPORTERS));
    let mut a = login(&s, "a", "x");
    a.send(b"SUB svc.> 1\r\nSUB more.> 5\r\n");
    a.ping_pong();
    let mut c = login(&s, "c", "x");
    c.send(b"SUB csvc.> 1\r\n");
    c.ping_pong();
    let mut b = login(&s, "b", "x");
    b.send(b"SUB _INBOX.> 9\r\n");
    b.ping_pong();
    // A request to C first, so C's account also has a way in for responses.
    b.send(b"PUB csvc.warm _INBOX.0 1\r\nw\r\n");
    b.ping_pong();
    let _ = c.read_msg();
    let forged = header_block(&[("Nats-Request-Info", "{\"acc\":\"X\"}"), ("X-A", "1")]);
    let mut hpub = format!(
        "HPUB svc.x _INBOX.1 {} {}\r\n",
        forged.len(),
        forged.len() + 3
    )
    .into_bytes();
    hpub.extend_from_slice(&forged);
    hpub.extend_from_slice(b"req\r\n");
    b.send(&hpub);
    b.ping_pong();
    let m = a.read_msg();
    let h = String::from_utf8_lossy(m.header.as_deref().unwrap_or_default()).into_owned();
    assert_eq!(h.matches("Nats-Request-Info").count(), 1, "{h}");
    assert!(h.contains("\"acc\":\"B\""), "{h}");
    assert!(h.contains("X-A: 1"), "{h}");
    let reply = m.reply.expect("a reply subject");
    // C publishes on A's pending reply subject: not a response.
    c.send(format!("PUB {reply} 4\r\nEVIL\r\n").as_bytes());
    c.ping_pong();
    // A's response, with a reply of its own, reaches B once; B's answer reaches A.
    a.send(format!("PUB {reply} more.1 2\r\nr1\r\n").as_bytes());
    a.ping_pong();
    let r = b.read_msg();
    assert_eq!(
        (r.subject.as_str(), r.payload.as_slice()),
        ("_INBOX.1", &b"r1"[..])
    );
    let back = r.reply.expect("the response's reply is mapped back");
    b.expect_nothing();
    b.send(format!("PUB {back} 3\r\nack\r\n").as_bytes());
    b.ping_pong();
    a.expect(b"MSG more.1 5 3\r\nack\r\n");
    a.expect_nothing();
}

#[test]
fn duplicate_stream_import_is_a_config_error() {
    let conf = "accounts {\n  A { users: [ {user: a, password: x} ], exports: [ {stream: \"s.>\"} ] }\n  B { users: [ {user: b, password: x} ], imports: [\n    {stream: {account: A, subject: \"s.>\"}, prefix: x}\n    {stream: {account: A, subject: \"s.>\"}, prefix: y}\n  ] }\n}\n";
    let log = Server::try_start(ServerOpts::conf(conf))
        .err()
        .expect("a duplicate stream import must not start");
    assert!(
        log.contains("Error adding stream import \"s.>\": stream import already exists"),
        "{log}"
    );
}

/// A request that reaches an exporting account is published there like any message: the exporter's
/// mappings apply and its own service imports are followed (a chained service); the response comes
/// back through every hop, and the importer's mappings apply to it.
const CHAINED: &str = r#"
accounts {
  C { users: [ {user: c, password: x} ], exports: [ {service: "deep.>"} ] }
  A {
    users: [ {user: a, password: x} ]
    exports: [ {service: "svc.>"} ]
    imports: [ {service: {account: C, subject: "deep.>"}, to: "svc.deep.>"} ]
    mappings: { "svc.m.*": "real.$1" }
  }
  B {
    users: [ {user: b, password: x} ]
    imports: [ {service: {account: A, subject: "svc.>"}} ]
    mappings: { "_INBOX.m.*": "mapped.$1" }
  }
}
"#;

#[test]
fn chained_services_and_mappings_on_both_sides() {
    let s = Server::start(ServerOpts::conf(CHAINED));
    let mut c = login(&s, "c", "x");
    c.send(b"SUB deep.> 1\r\n");
    c.ping_pong();
    let mut a = login(&s, "a", "x");
    a.send(b"SUB real.* 2\r\n");
    a.ping_pong();
    let mut b = login(&s, "b", "x");
    b.send(b"SUB _INBOX.> 9\r\nSUB mapped.* 8\r\n");
    b.ping_pong();
    // B → A → C and back.
    b.send(b"PUB svc.deep.x _INBOX.1 3\r\nreq\r\n");
    b.ping_pong();
    let m = c.read_msg();
    assert_eq!(m.subject, "deep.x");
    let h = String::from_utf8_lossy(m.header.as_deref().unwrap_or_default()).into_owned();
    assert!(
        h.contains("\"acc\":\"B\""),
        "the first requester is named: {h}"
    );
    c.send(format!("PUB {} 2\r\nok\r\n", m.reply.expect("a reply")).as_bytes());
    c.ping_pong();
    b.expect(b"MSG _INBOX.1 9 2\r\nok\r\n");
    // The exporter's mapping applies to the request, the importer's to the response.
    b.send(b"PUB svc.m.7 _INBOX.m.5 1\r\nx\r\n");
    b.ping_pong();
    let m = a.read_msg();
    assert_eq!(m.subject, "real.7");
    a.send(format!("PUB {} 2\r\nr7\r\n", m.reply.expect("a reply")).as_bytes());
    a.ping_pong();
    b.expect(b"MSG mapped.5 8 2\r\nr7\r\n");
    b.expect_nothing();
}

/// A request matching two service imports goes to both exporters, each with its own reply.
#[test]
fn request_matching_two_service_imports_goes_to_both() {
    let conf = r#"
accounts {
  A { users: [ {user: a, password: x} ], exports: [ {service: "svc.>"} ] }
  C { users: [ {user: c, password: x} ], exports: [ {service: "svc.>"} ] }
  B {
    users: [ {user: b, password: x} ]
    imports: [ {service: {account: A, subject: "svc.>"}}, {service: {account: C, subject: "svc.x"}} ]
  }
}
"#;
    let s = Server::start(ServerOpts::conf(conf));
    let mut a = login(&s, "a", "x");
    a.send(b"SUB svc.> 1\r\n");
    a.ping_pong();
    let mut c = login(&s, "c", "x");
    c.send(b"SUB svc.> 1\r\n");
    c.ping_pong();
    let mut b = login(&s, "b", "x");
    b.send(b"SUB _INBOX.> 9\r\n");
    b.ping_pong();
    b.send(b"PUB svc.x _INBOX.1 1\r\nq\r\n");
    b.ping_pong();
    let ma = a.read_msg();
    let mc = c.read_msg();
    assert_eq!(
        (ma.subject.as_str(), mc.subject.as_str()),
        ("svc.x", "svc.x")
    );
    let (ra, rc) = (ma.reply.expect("a reply"), mc.reply.expect("a reply"));
    assert_ne!(ra, rc);
    a.send(format!("PUB {ra} 2\r\nfa\r\n").as_bytes());
    a.ping_pong();
    b.expect(b"MSG _INBOX.1 9 2\r\nfa\r\n");
    // Only the request's own subject crossed: svc.y goes to A alone.
    b.send(b"PUB svc.y 1\r\nq\r\n");
    b.ping_pong();
    assert_eq!(a.read_msg().subject, "svc.y");
    c.expect_nothing();
}

/// Resident memory of the server process, in KiB.
fn rss_kib(s: &Server) -> u64 {
    let pid = s.pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn one_tenants_pending_requests_cannot_crowd_out_anothers() {
    // Tenant A sends 300,000 requests through a service import that nobody answers: each leaves a
    // response mapping behind. A's mappings are bounded on their own (its oldest make room), so
    // memory stays bounded and tenant B's requests, and A's newest, still get their answers.
    let conf = r#"
accounts {
  SVC { users: [ {user: svc, password: x} ], exports: [ {service: "svc.>"} ] }
  A { users: [ {user: a, password: x} ], imports: [ {service: {account: SVC, subject: "svc.>"}} ] }
  B { users: [ {user: b, password: x} ], imports: [ {service: {account: SVC, subject: "svc.>"}} ] }
}
"#;
    let s = Server::start(ServerOpts {
        config: Some(conf.into()),
        cores: Some(1),
        ..ServerOpts::default()
    });
    let mut svc = login(&s, "svc", "x");
    svc.send(b"SUB svc.b 1\r\nSUB svc.a.last 2\r\n");
    svc.ping_pong();
    let mut a = login(&s, "a", "x");
    a.send(b"SUB _INBOX.a.> 1\r\n");
    a.ping_pong();
    let before = if is_corenats() { rss_kib(&s) } else { 0 };
    const FLOOD: usize = 300_000;
    let mut batch = Vec::new();
    for i in 0..FLOOD {
        batch.extend_from_slice(format!("PUB svc.a _INBOX.a.{i} 0\r\n\r\n").as_bytes());
        if batch.len() > 1 << 20 {
            a.send(&batch);
            batch.clear();
        }
    }
    a.send(&batch);
    a.ping_pong();
    if is_corenats() {
        let grown = rss_kib(&s).saturating_sub(before);
        eprintln!("RSS grew by {grown} KiB for {FLOOD} pending requests");
        // One tenant's mappings are bounded (65,536 per shard, about 10 MiB); unbounded they took
        // about 70 MiB here.
        assert!(grown < 40 * 1024, "RSS grew by {grown} KiB");
    }
    let mut b = login(&s, "b", "x");
    b.send(b"SUB _INBOX.b 1\r\nPUB svc.b _INBOX.b 2\r\nhi\r\n");
    let req = svc.read_msg();
    assert_eq!(req.subject, "svc.b");
    let reply = req.reply.expect("B's request lost its reply subject");
    svc.send(format!("PUB {reply} 2\r\nok\r\n").as_bytes());
    svc.ping_pong();
    b.expect(b"MSG _INBOX.b 1 2\r\nok\r\n");
    a.send(b"PUB svc.a.last _INBOX.a.last 2\r\nhi\r\n");
    let req = svc.read_msg();
    let reply = req
        .reply
        .expect("A's newest request lost its reply subject");
    svc.send(format!("PUB {reply} 3\r\nyes\r\n").as_bytes());
    svc.ping_pong();
    a.expect(b"MSG _INBOX.a.last 1 3\r\nyes\r\n");
}
