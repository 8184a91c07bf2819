//! Leaf nodes, the soliciting side: the server under test dials a real nats-server hub (started by
//! each test) with `leafnodes { remotes }`. Messages, replies, headers and queue groups cross both
//! ways; the bound account's interest follows its subscribers and comes back after the hub restarts;
//! the hub's permissions are honoured before anything is sent (a nats-server hub closes the link on
//! the first violation); credentials travel in the URL; a client port is refused; the hub's
//! JetStream is reachable through its domain. The same tests pass with nats-server as the leaf
//! (`CORENATS_TEST_SERVER`).
//!
//! Interest from the leaf is seen in the hub's `/leafz?subs=1`; interest from the hub has no such
//! window on the leaf, so those tests publish probes until one arrives (bounded in time).

use crate::common::hub::{leaf_subs, Hub};
use crate::common::raw::{until_delivered, Msg, Raw};
use crate::common::server::{Server, ServerOpts, TIMEOUT};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The leaf under test on two shards, with `remotes` (and `rest`) in its config.
fn leaf(remote: &str, rest: &str) -> Server {
    let mut opts = ServerOpts::conf(&format!(
        "{rest}\nleafnodes {{ remotes = [ {{ {remote} }} ] }}\n"
    ));
    opts.cores = Some(2);
    Server::start(opts)
}

fn leaf_to(hub: &Hub) -> Server {
    leaf(&format!("url: {:?}", hub.leaf_url("")), "")
}

/// The next message that is not a probe.
fn next_real(r: &mut Raw) -> Msg {
    loop {
        let m = r.read_msg();
        if m.payload != b"probe" {
            return m;
        }
    }
}

#[test]
fn messages_and_replies_cross_both_ways() {
    let hub = Hub::plain();
    let l = leaf_to(&hub);
    hub.wait_leafs(1);
    let mut on_leaf = Raw::ready(l.port());
    let mut on_hub = Raw::ready(hub.server.port());

    // Leaf subscriber, hub publisher: the leaf's interest reaches the hub's /leafz.
    on_leaf.send(b"SUB foo.> 1\r\n");
    on_leaf.ping_pong();
    hub.wait_interest("foo.>", true);
    on_hub.send(b"PUB foo.x _INBOX.r1 8\r\nfrom-hub\r\n");
    let m = on_leaf.read_msg();
    assert_eq!(
        (m.subject.as_str(), m.reply.as_deref(), &m.payload[..]),
        ("foo.x", Some("_INBOX.r1"), &b"from-hub"[..])
    );

    // Hub subscriber, leaf publisher.
    on_hub.send(b"SUB bar 1\r\n");
    on_hub.ping_pong();
    until_delivered(&mut on_leaf, &mut on_hub, "bar");
    on_leaf.send(b"PUB bar 9\r\nfrom-leaf\r\n");
    assert_eq!(next_real(&mut on_hub).payload, b"from-leaf");

    // Request on the leaf, responder on the hub: the reply inbox crosses back.
    on_hub.send(b"SUB svc 2\r\n");
    on_hub.ping_pong();
    until_delivered(&mut on_leaf, &mut on_hub, "svc");
    on_leaf.send(b"SUB _INBOX.me.* 3\r\n");
    on_leaf.ping_pong();
    hub.wait_interest("_INBOX.me.*", true);
    on_leaf.send(b"PUB svc _INBOX.me.1 3\r\nreq\r\n");
    let req = next_real(&mut on_hub);
    assert_eq!(req.reply.as_deref(), Some("_INBOX.me.1"));
    on_hub.send(b"PUB _INBOX.me.1 4\r\nresp\r\n");
    let resp = on_leaf.read_msg();
    assert_eq!(
        (resp.subject.as_str(), &resp.payload[..]),
        ("_INBOX.me.1", &b"resp"[..])
    );
}

#[test]
fn headers_cross_as_hmsg() {
    let hub = Hub::plain();
    let l = leaf_to(&hub);
    hub.wait_leafs(1);
    let mut on_leaf = Raw::ready(l.port());
    let mut on_hub = Raw::ready(hub.server.port());
    on_leaf.send(b"SUB h 1\r\n");
    on_leaf.ping_pong();
    hub.wait_interest("h", true);
    let hdr = b"NATS/1.0\r\nA: 1\r\n\r\n";
    on_hub.send(format!("HPUB h {} {}\r\n", hdr.len(), hdr.len() + 2).as_bytes());
    on_hub.send(hdr);
    on_hub.send(b"hi\r\n");
    let m = on_leaf.read_msg();
    assert_eq!(m.header.as_deref(), Some(&hdr[..]));
    assert_eq!(m.payload, b"hi");

    on_hub.send(b"SUB g 1\r\n");
    on_hub.ping_pong();
    until_delivered(&mut on_leaf, &mut on_hub, "g");
    on_leaf.send(format!("HPUB g {} {}\r\n", hdr.len(), hdr.len() + 3).as_bytes());
    on_leaf.send(hdr);
    on_leaf.send(b"yes\r\n");
    let m = next_real(&mut on_hub);
    assert_eq!(m.header.as_deref(), Some(&hdr[..]));
    assert_eq!(m.payload, b"yes");
}

/// Subscribes `n` members of `group` on `subject` at `port`.
fn members(port: u16, n: usize, subject: &str, group: &str) -> Vec<Raw> {
    (0..n)
        .map(|_| {
            let mut r = Raw::ready(port);
            r.send(format!("SUB {subject} {group} 1\r\n").as_bytes());
            r.ping_pong();
            r
        })
        .collect()
}

/// Publishes probes on `subject` from `publ` until one reaches any of `members`.
fn until_group_reached(publ: &mut Raw, members: &mut [Raw], subject: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publ.send(format!("PUB {subject} 5\r\nprobe\r\n").as_bytes());
        publ.ping_pong();
        for m in members.iter_mut() {
            if m.try_read_msg(Duration::from_millis(10)).is_some() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the group on {subject} was never reached"
        );
    }
}

/// Publishes `n` numbered messages on `subject` and checks that `members` get each exactly once.
fn each_once(publ: &mut Raw, members: &mut [Raw], subject: &str, n: usize) {
    for i in 0..n {
        publ.send(format!("PUB {subject} {}\r\n{i}\r\n", i.to_string().len()).as_bytes());
    }
    publ.ping_pong();
    let mut seen = HashSet::new();
    let deadline = Instant::now() + TIMEOUT;
    while seen.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} arrived",
            seen.len()
        );
        for m in members.iter_mut() {
            while let Some(msg) = m.try_read_msg(Duration::from_millis(2)) {
                if msg.payload != b"probe" {
                    assert!(seen.insert(msg.payload.clone()), "delivered twice: {msg:?}");
                }
            }
        }
    }
    for m in members.iter_mut() {
        while let Some(msg) = m.try_read_msg(Duration::from_millis(100)) {
            assert_eq!(msg.payload, b"probe", "extra delivery {msg:?}");
        }
    }
}

/// Queue groups across the link: each message reaches exactly one member; a group with members on
/// both sides is served by the publisher's side (the other side's members are only a fallback, as
/// in nats-server).
#[test]
fn queue_groups_get_each_message_once_across_the_link() {
    let hub = Hub::plain();
    let l = leaf_to(&hub);
    hub.wait_leafs(1);
    let mut publ_leaf = Raw::ready(l.port());
    let mut publ_hub = Raw::ready(hub.server.port());

    // Members on the hub only, publisher on the leaf.
    let mut on_hub = members(hub.server.port(), 2, "w.*", "workers");
    until_group_reached(&mut publ_leaf, &mut on_hub, "w.probe");
    each_once(&mut publ_leaf, &mut on_hub, "w.x", 100);

    // Members on the leaf only, publisher on the hub.
    let mut on_leaf = members(l.port(), 3, "v.*", "workers");
    hub.wait_interest("v.*", true);
    each_once(&mut publ_hub, &mut on_leaf, "v.x", 100);

    // Members on both sides: each side's publisher is served by its own side.
    let mut both_leaf = members(l.port(), 2, "b.*", "g");
    let mut both_hub = members(hub.server.port(), 2, "b.*", "g");
    hub.wait_interest("b.*", true);
    until_group_reached(&mut publ_leaf, &mut both_leaf, "b.probe");
    each_once(&mut publ_leaf, &mut both_leaf, "b.x", 50);
    for m in both_hub.iter_mut() {
        while let Some(msg) = m.try_read_msg(Duration::from_millis(50)) {
            assert_eq!(
                msg.payload, b"probe",
                "the hub's member got the leaf's message {msg:?}"
            );
        }
    }
    each_once(&mut publ_hub, &mut both_hub, "b.y", 50);
    for m in both_leaf.iter_mut() {
        m.expect_nothing();
    }
}

/// A subscriber that goes takes its interest with it; the interest comes back after the hub
/// restarts (the link dials again and sends everything).
#[test]
fn interest_follows_subscribers_and_comes_back_after_the_hub_restarts() {
    let port = free_port();
    let mut hub = Hub::start(&format!("leafnodes {{ port: {port} }}\n"));
    let l = leaf_to(&hub);
    hub.wait_leafs(1);
    let mut c = Raw::ready(l.port());
    c.send(b"SUB a 1\r\nSUB b 2\r\nSUB q x 3\r\nSUB q x 4\r\n");
    c.ping_pong();
    hub.wait_interest("a", true);
    hub.wait_interest("q", true);
    c.send(b"UNSUB 1\r\n");
    c.ping_pong();
    hub.wait_interest("a", false);
    let v = hub.leafz();
    assert!(leaf_subs(&v).contains(&"b".to_string()), "{v}");

    hub.restart();
    hub.wait_leafs(1);
    hub.wait_interest("b", true);
    hub.wait_interest("q", true);
    assert!(!leaf_subs(&hub.leafz()).contains(&"a".to_string()));
    let mut on_hub = Raw::ready(hub.server.port());
    on_hub.send(b"PUB b 5\r\nagain\r\n");
    on_hub.ping_pong();
    assert_eq!(c.read_msg().payload, b"again");
}

/// The hub gives the leaf user publish allow [foo, _INBOX.>] and subscribe allow [bar, _INBOX.>]:
/// the leaf sends no interest and no message outside them, so the hub never closes the link.
#[test]
fn the_hubs_permissions_are_honoured_before_sending() {
    let hub = Hub::start(
        r#"
        authorization {
          users = [ { user: leaf, password: secret,
                      permissions: { publish: { allow: ["foo", "_INBOX.>"] },
                                     subscribe: { allow: ["bar", "_INBOX.>"] } } },
                    { user: app, password: app } ]
        }
        leafnodes { port: -1 }
        "#,
    );
    let l = leaf(&format!("url: {:?}", hub.leaf_url("leaf:secret")), "");
    hub.wait_leafs(1);
    let mut c = Raw::ready(l.port());
    c.send(b"SUB notallowed 1\r\nSUB bar 2\r\n");
    c.ping_pong();
    hub.wait_interest("bar", true);
    let app = r#"{"verbose":false,"pedantic":false,"user":"app","pass":"app"}"#;
    let mut on_hub = Raw::ready_with(hub.server.port(), app);
    on_hub.send(b"SUB foo 1\r\nSUB other 2\r\n");
    on_hub.ping_pong();
    until_delivered(&mut c, &mut on_hub, "foo");
    c.send(b"PUB other 1\r\nx\r\nPUB foo 2\r\nok\r\n");
    c.ping_pong();
    let m = next_real(&mut on_hub);
    assert_eq!((m.subject.as_str(), &m.payload[..]), ("foo", &b"ok"[..]));
    on_hub.send(b"PUB bar 2\r\nin\r\n");
    assert_eq!(c.read_msg().payload, b"in");
    // Still one link, never refused.
    let v = hub.wait_leafs(1);
    assert!(!leaf_subs(&v).contains(&"notallowed".to_string()), "{v}");
    let log = hub.server.log();
    assert!(!log.contains("Permissions Violation"), "{log}");
}

#[test]
fn credentials_travel_in_the_url_and_a_refused_login_is_logged() {
    let hub =
        Hub::start("leafnodes { port: -1, authorization { user: leaf, password: secret } }\n");
    let good = leaf(&format!("url: {:?}", hub.leaf_url("leaf:secret")), "");
    hub.wait_leafs(1);
    let bad = leaf(&format!("url: {:?}", hub.leaf_url("leaf:wrong")), "");
    assert!(
        bad.wait_for_log("Authorization Violation", TIMEOUT),
        "{}",
        bad.log()
    );
    hub.wait_leafs(1);
    drop(good);
    hub.wait_leafs(0);
}

#[test]
fn a_client_port_is_refused_as_the_wrong_port() {
    let hub = Hub::plain();
    let l = leaf(
        &format!("url: \"nats-leaf://127.0.0.1:{}\"", hub.server.port()),
        "",
    );
    assert!(
        l.wait_for_log("attempted to connect to wrong port", TIMEOUT),
        "{}",
        l.log()
    );
    assert_eq!(hub.leafz()["leafnodes"], 0);
}

/// Only the bound account crosses: the other account's subscribers and publishers never do.
#[test]
fn only_the_bound_account_crosses() {
    let hub = Hub::plain();
    let l = leaf(
        &format!("url: {:?}, account: A", hub.leaf_url("")),
        r#"accounts { A { users = [ { user: a, password: a } ] }
                      B { users = [ { user: b, password: b } ] } }"#,
    );
    hub.wait_leafs(1);
    let quiet =
        |u: &str| format!(r#"{{"verbose":false,"pedantic":false,"user":"{u}","pass":"{u}"}}"#);
    let mut a = Raw::ready_with(l.port(), &quiet("a"));
    let mut b = Raw::ready_with(l.port(), &quiet("b"));
    b.send(b"SUB onlyb 1\r\nSUB shared 2\r\n");
    b.ping_pong();
    a.send(b"SUB shared 1\r\n");
    a.ping_pong();
    hub.wait_interest("shared", true);
    assert!(!leaf_subs(&hub.leafz()).contains(&"onlyb".to_string()));
    let mut on_hub = Raw::ready(hub.server.port());
    on_hub.send(b"PUB shared 3\r\nhub\r\n");
    on_hub.ping_pong();
    assert_eq!(a.read_msg().payload, b"hub");
    b.expect_nothing();
    on_hub.send(b"SUB fromleaf 1\r\n");
    on_hub.ping_pong();
    until_delivered(&mut a, &mut on_hub, "fromleaf");
    b.send(b"PUB fromleaf 1\r\nb\r\n");
    b.ping_pong();
    a.send(b"PUB fromleaf 1\r\na\r\n");
    let m = next_real(&mut on_hub);
    assert_eq!(m.payload, b"a", "account B's message crossed: {m:?}");
}

/// A client of the leaf uses the hub's JetStream through its domain (`$JS.HUB.API`), as with a
/// nats-server leaf.
#[test]
fn the_hubs_jetstream_answers_through_its_domain() {
    let dir = crate::common::server::TempDir::new();
    let hub = Hub::start(&format!(
        "jetstream {{ domain: HUB, store_dir: {:?} }}\nleafnodes {{ port: -1 }}\n",
        dir.path().join("js")
    ));
    let l = leaf_to(&hub);
    hub.wait_leafs(1);
    let mut c = Raw::ready(l.port());
    c.send(b"SUB _INBOX.js.* 1\r\n");
    c.ping_pong();
    hub.wait_interest("_INBOX.js.*", true);
    let deadline = Instant::now() + TIMEOUT;
    let info = loop {
        // Until the hub's interest in `$JS.HUB.API.>` has crossed, the request goes nowhere.
        c.send(b"PUB $JS.HUB.API.INFO _INBOX.js.1 0\r\n\r\n");
        if let Some(m) = c.try_read_msg(Duration::from_millis(100)) {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no answer from the hub's JetStream"
        );
    };
    let v: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
    assert_eq!(
        v["type"], "io.nats.jetstream.api.v1.account_info_response",
        "{v}"
    );
    assert_eq!(v["domain"], "HUB", "{v}");
}

/// A port nobody listens on right now (for a hub that must come back on the same one).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The leaf's own `/leafz` shows the link it dialled, its account, and the hub's interest.
#[test]
fn leafz_shows_the_link_and_the_hubs_interest() {
    let hub = Hub::plain();
    let mut opts = ServerOpts::conf(&format!(
        "leafnodes {{ remotes = [ {{ url: {:?} }} ] }}\n",
        hub.leaf_url("")
    ));
    opts.cores = Some(2);
    let l = crate::common::monitor::Mon::start(opts);
    hub.wait_leafs(1);
    let mut on_hub = Raw::ready(hub.server.port());
    on_hub.send(b"SUB seen.here 1\r\nSUB grp.* workers 2\r\n");
    on_hub.ping_pong();
    let deadline = Instant::now() + TIMEOUT;
    let v = loop {
        let v = l.json("/leafz?subs=1");
        let subs = leaf_subs(&v);
        if subs.iter().any(|s| s == "seen.here") && subs.iter().any(|s| s.starts_with("grp.*")) {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "the hub's interest never showed: {v}"
        );
        std::thread::sleep(Duration::from_millis(25));
    };
    assert_eq!(v["leafnodes"], 1, "{v}");
    let link = &v["leafs"][0];
    assert_eq!(link["is_spoke"], true, "{v}");
    assert_eq!(link["account"], "$G", "{v}");
    assert_eq!(link["ip"], "127.0.0.1", "{v}");
    assert_eq!(link["port"], hub.leaf_port, "{v}");
    // Without subs=1 there is no list.
    let v = l.json("/leafz");
    assert!(v["leafs"][0].get("subscriptions_list").is_none(), "{v}");
    // /varz: the link counted, the remote listed by host:port.
    let v = l.json("/varz");
    assert_eq!(v["leafnodes"], 1, "{v}");
    let want = format!("127.0.0.1:{}", hub.leaf_port);
    assert_eq!(
        v["leaf"]["remotes"][0]["urls"][0],
        want.as_str(),
        "{}",
        v["leaf"]
    );
    if crate::common::server::is_corenats() {
        let m = l.get("/metrics").body;
        assert!(m.contains("\ncorenats_leafnodes 1\n"), "{m}");
        assert!(m.contains("corenats_leaf_out_msgs_total{hub="), "{m}");
    }
}

/// A hub that is not one: a listener in the test that speaks the leaf protocol badly.
struct FakeHub {
    listener: std::net::TcpListener,
}

impl FakeHub {
    fn new() -> FakeHub {
        FakeHub {
            listener: std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        }
    }

    fn url(&self) -> String {
        format!(
            "nats-leaf://127.0.0.1:{}",
            self.listener.local_addr().unwrap().port()
        )
    }

    /// Accepts the leaf's next dial (within the test deadline), sends a leaf-port INFO and reads
    /// the CONNECT line back.
    fn accept(&self) -> (std::net::TcpStream, std::io::BufReader<std::net::TcpStream>) {
        use std::io::{BufRead, Write};
        self.listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + TIMEOUT;
        let s = loop {
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("the leaf never dialled: {e}"),
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut w = s.try_clone().unwrap();
        w.write_all(
            b"INFO {\"server_id\":\"NFAKEHUB\",\"client_id\":7,\"leafnode_urls\":[\"127.0.0.1:1\"],\
\"headers\":true,\"max_payload\":1048576} \r\n",
        )
        .unwrap();
        let mut r = std::io::BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with("CONNECT {"), "{line:?}");
        assert!(!line.contains("\"lang\""), "{line:?}");
        (w, r)
    }
}

/// Reads until the peer closes (bounded); panics if it stays open.
fn expect_closed_by_leaf(r: &mut std::io::BufReader<std::net::TcpStream>) {
    use std::io::Read;
    let deadline = Instant::now() + TIMEOUT;
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => assert!(Instant::now() < deadline, "the leaf kept the link open"),
        }
    }
}

/// Garbage, an oversized message and a malformed one each close the link; the leaf dials again and
/// its clients never notice.
#[test]
fn a_hub_that_sends_garbage_is_dropped_and_dialled_again() {
    use std::io::Write;
    let fake = FakeHub::new();
    let l = leaf(&format!("url: {:?}", fake.url()), "");
    for bad in [
        &b"GARBAGE here\r\n"[..],
        b"LMSG foo 100000000\r\n",
        b"LMSG foo 5\r\nhelloXX",
        b"LS+ a b\r\n",
    ] {
        let (mut w, mut r) = fake.accept();
        w.write_all(bad).unwrap();
        expect_closed_by_leaf(&mut r);
        let mut c = Raw::ready(l.port());
        c.send(b"SUB x 1\r\nPUB x 2\r\nok\r\n");
        assert_eq!(c.read_msg().payload, b"ok");
    }
}

/// A hub that sends back our own loop-detection subject closes the link with nats-server's words.
#[test]
fn a_link_that_loops_back_is_detected() {
    use std::io::{BufRead, Write};
    let fake = FakeHub::new();
    let l = leaf(&format!("url: {:?}", fake.url()), "");
    let (mut w, mut r) = fake.accept();
    let mut line = String::new();
    let lds = loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if let Some(s) = line.trim_end().strip_prefix("LS+ $LDS.") {
            break format!("$LDS.{s}");
        }
        if line.starts_with("PING") {
            w.write_all(b"PONG\r\n").unwrap();
        }
    };
    w.write_all(format!("LS+ {lds}\r\n").as_bytes()).unwrap();
    expect_closed_by_leaf(&mut r);
    assert!(
        l.wait_for_log("Loop detected for leafnode account=\"$G\"", TIMEOUT),
        "{}",
        l.log()
    );
}

/// A remote with a user nkey seed signs the hub's nonce; the hub knows the user by its public key.
/// A seed the hub does not know is refused (and logged).
#[test]
fn an_nkey_seed_signs_the_hubs_nonce() {
    let user = nkeys::KeyPair::new_user();
    let stranger = nkeys::KeyPair::new_user();
    let hub = Hub::start(&format!(
        "authorization {{ users = [ {{ nkey: {} }} ] }}\nleafnodes {{ port: -1 }}\n",
        user.public_key()
    ));
    let good = leaf(
        &format!(
            "url: {:?}, nkey: {:?}",
            hub.leaf_url(""),
            user.seed().unwrap()
        ),
        "",
    );
    hub.wait_leafs(1);
    let mut c = Raw::ready(good.port());
    c.send(b"SUB signed 1\r\n");
    c.ping_pong();
    hub.wait_interest("signed", true);
    let bad = leaf(
        &format!(
            "url: {:?}, nkey: {:?}",
            hub.leaf_url(""),
            stranger.seed().unwrap()
        ),
        "",
    );
    assert!(
        bad.wait_for_log("Authorization Violation", TIMEOUT),
        "{}",
        bad.log()
    );
    assert_eq!(hub.leafz()["leafnodes"], 1);
}

/// TLS to the hub: INFO in clear, then TLS with the remote's `ca_file` (the hub's certificate names
/// 127.0.0.1); with `verify` on the hub, the remote presents its client certificate. Messages cross
/// both ways inside TLS, and the hub's `/leafz` is still fed.
#[test]
fn tls_to_the_hub_with_and_without_a_client_certificate() {
    use crate::common::pki::{Pki, Subject};
    let pki = Pki::new();
    let leaf_cert = pki.ca.client(&pki.dir, "leaf", &Subject::cn("leaf"));
    let hub = Hub::start(&format!(
        "leafnodes {{ port: -1\n{} }}\n",
        pki.tls_block("verify: true\ntimeout: 3")
    ));
    // With the client certificate: the link comes up and carries messages.
    let remote = format!(
        "url: {:?}, tls: {{ ca_file: {:?}, cert_file: {:?}, key_file: {:?} }}",
        hub.leaf_url(""),
        pki.ca.pem_file,
        leaf_cert.cert_file,
        leaf_cert.key_file
    );
    let l = leaf(&remote, "");
    hub.wait_leafs(1);
    let mut c = Raw::ready(l.port());
    c.send(b"SUB secure 1\r\n");
    c.ping_pong();
    hub.wait_interest("secure", true);
    let mut on_hub = Raw::ready(hub.server.port());
    on_hub.send(b"PUB secure 6\r\nsealed\r\n");
    assert_eq!(c.read_msg().payload, b"sealed");
    on_hub.send(b"SUB back 1\r\n");
    on_hub.ping_pong();
    until_delivered(&mut c, &mut on_hub, "back");

    // Without one, the hub (verify) refuses the handshake: no second link, and corenats logs why
    // (nats-server's leaf says only "Read Error" unless debugging).
    let bare = leaf(
        &format!(
            "url: {:?}, tls: {{ ca_file: {:?} }}",
            hub.leaf_url(""),
            pki.ca.pem_file
        ),
        "",
    );
    if crate::common::server::is_corenats() {
        assert!(log_mentions(&bare, "certificate"), "{}", bare.log());
    } else {
        assert!(bare.wait_for_log("Leafnode connection closed", TIMEOUT));
    }
    assert_eq!(hub.leafz()["leafnodes"], 1);
}

/// A hub whose certificate the remote's CA did not sign is refused: no link, the reason logged.
#[test]
fn a_hub_certificate_from_another_ca_is_refused() {
    use crate::common::pki::{Ca, Pki};
    let pki = Pki::new();
    let other = Ca::new(&pki.dir, "other");
    let hub = Hub::start(&format!(
        "leafnodes {{ port: -1\n{} }}\n",
        pki.tls_block("")
    ));
    let l = leaf(
        &format!(
            "url: {:?}, tls: {{ ca_file: {:?} }}",
            hub.leaf_url(""),
            other.pem_file
        ),
        "",
    );
    assert!(log_mentions(&l, "certificate"), "{}", l.log());
    assert_eq!(hub.leafz()["leafnodes"], 0);
}

/// Waits until the server's log mentions `word` (in any case): corenats and nats-server word their
/// TLS errors differently.
fn log_mentions(s: &Server, word: &str) -> bool {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        if s.log().to_lowercase().contains(word) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `handshake_first` on both sides: TLS before the hub's INFO.
#[test]
fn tls_first_to_a_hub_that_wants_it() {
    use crate::common::pki::Pki;
    let pki = Pki::new();
    let hub = Hub::start(&format!(
        "leafnodes {{ port: -1\n{} }}\n",
        pki.tls_block("handshake_first: true")
    ));
    let l = leaf(
        &format!(
            "url: {:?}, tls: {{ ca_file: {:?}, handshake_first: true }}",
            hub.leaf_url(""),
            pki.ca.pem_file
        ),
        "",
    );
    hub.wait_leafs(1);
    let mut c = Raw::ready(l.port());
    c.send(b"SUB first 1\r\n");
    c.ping_pong();
    hub.wait_interest("first", true);
    let mut on_hub = Raw::ready(hub.server.port());
    on_hub.send(b"PUB first 2\r\nok\r\n");
    assert_eq!(c.read_msg().payload, b"ok");
}

/// A service import whose responder is on the hub: the request crosses with its `_R_.` reply, and
/// the leaf's interest in its reply prefix brings the response back to the importing account.
#[test]
fn a_service_import_answered_on_the_hub() {
    let hub = Hub::plain();
    let l = leaf(
        &format!("url: {:?}, account: A", hub.leaf_url("")),
        r#"accounts {
             A { users = [ { user: a, password: a } ], exports = [ { service: "svc.>" } ] }
             B { users = [ { user: b, password: b } ],
                 imports = [ { service: { account: A, subject: "svc.>" } } ] }
           }"#,
    );
    hub.wait_leafs(1);
    let mut responder = Raw::ready(hub.server.port());
    responder.send(b"SUB svc.> 1\r\n");
    responder.ping_pong();
    let b = r#"{"verbose":false,"pedantic":false,"user":"b","pass":"b"}"#;
    let mut requester = Raw::ready_with(l.port(), b);
    requester.send(b"SUB _INBOX.b.* 1\r\n");
    requester.ping_pong();
    // Until the hub's interest in svc.> has reached the leaf, a request goes nowhere: retry.
    let deadline = Instant::now() + TIMEOUT;
    let req = loop {
        requester.send(b"PUB svc.time _INBOX.b.1 3\r\nreq\r\n");
        requester.ping_pong();
        if let Some(m) = responder.try_read_msg(Duration::from_millis(50)) {
            break m;
        }
        assert!(Instant::now() < deadline, "the request never crossed");
    };
    let reply = req.reply.expect("a reply subject");
    assert!(reply.starts_with("_R_."), "{reply}");
    // The response crosses back once the leaf's `_R_` interest is at the hub.
    let prefix = reply.rsplit_once('.').unwrap().0.to_string();
    hub.wait_interest(&format!("{prefix}.>"), true);
    responder.send(format!("PUB {reply} 4\r\nresp\r\n").as_bytes());
    let m = requester.read_msg();
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("_INBOX.b.1", &b"resp"[..])
    );
}

/// A hub that sends its messages a byte at a time: each arrives whole, in order.
#[test]
fn messages_split_across_reads_arrive_whole() {
    use std::io::{BufRead, Write};
    let fake = FakeHub::new();
    let l = leaf(&format!("url: {:?}", fake.url()), "");
    let (mut w, mut r) = fake.accept();
    let mut c = Raw::ready(l.port());
    c.send(b"SUB split.* 1\r\n");
    c.ping_pong();
    let mut line = String::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line.trim_end() == "LS+ split.*" {
            break;
        }
    }
    w.set_nodelay(true).unwrap();
    let hdr = b"NATS/1.0\r\nK: v\r\n\r\n";
    let mut stream = Vec::new();
    for i in 0..20 {
        stream.extend_from_slice(
            format!("LMSG split.{i} _INBOX.r {}\r\nmsg-{i:02}\r\n", 6).as_bytes(),
        );
    }
    stream
        .extend_from_slice(format!("HMSG split.h {} {}\r\n", hdr.len(), hdr.len() + 2).as_bytes());
    stream.extend_from_slice(hdr);
    stream.extend_from_slice(b"hh\r\n");
    for b in &stream {
        w.write_all(std::slice::from_ref(b)).unwrap();
    }
    for i in 0..20 {
        let m = c.read_msg();
        assert_eq!(
            (m.subject, m.reply.as_deref(), m.payload),
            (
                format!("split.{i}"),
                Some("_INBOX.r"),
                format!("msg-{i:02}").into_bytes()
            )
        );
    }
    let m = c.read_msg();
    assert_eq!(
        (m.header.as_deref(), &m.payload[..]),
        (Some(&hdr[..]), &b"hh"[..])
    );
}

/// Imports and exports of the bound account work across the link: a stream another account imports
/// from it reaches that account's subscribers from the hub, and a service it imports answers the
/// hub's requests.
#[test]
fn imports_of_the_bound_account_work_across_the_link() {
    let hub = Hub::plain();
    let l = leaf(
        &format!("url: {:?}, account: X", hub.leaf_url("")),
        r#"accounts {
             X { users = [ { user: x, password: x } ],
                 exports = [ { stream: "news.>" } ],
                 imports = [ { service: { account: S, subject: "svc.>" } } ] }
             Y { users = [ { user: y, password: y } ],
                 imports = [ { stream: { account: X, subject: "news.>" } } ] }
             S { users = [ { user: s, password: s } ], exports = [ { service: "svc.>" } ] }
           }"#,
    );
    hub.wait_leafs(1);
    let login =
        |u: &str| format!(r#"{{"verbose":false,"pedantic":false,"user":"{u}","pass":"{u}"}}"#);
    // A stream from the hub to the importing account Y.
    let mut y = Raw::ready_with(l.port(), &login("y"));
    y.send(b"SUB news.today 1\r\n");
    y.ping_pong();
    // corenats announces the imported pattern, nats-server the importer's own subscription.
    hub.wait_leafz("interest in news", |v| {
        leaf_subs(v)
            .iter()
            .any(|s| s == "news.>" || s == "news.today")
    });
    let mut on_hub = Raw::ready(hub.server.port());
    on_hub.send(b"PUB news.today 5\r\nfresh\r\n");
    assert_eq!(next_real(&mut y).payload, b"fresh");
    // A request from the hub to X's service import, answered in S.
    let mut s = Raw::ready_with(l.port(), &login("s"));
    s.send(b"SUB svc.> 1\r\n");
    s.ping_pong();
    hub.wait_interest("svc.>", true);
    on_hub.send(b"SUB _INBOX.h.* 9\r\n");
    on_hub.ping_pong();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        on_hub.send(b"PUB svc.time _INBOX.h.1 1\r\n?\r\n");
        on_hub.ping_pong();
        if let Some(req) = s.try_read_msg(Duration::from_millis(50)) {
            let reply = req.reply.expect("reply");
            s.send(format!("PUB {reply} 4\r\nnoon\r\n").as_bytes());
            break;
        }
        assert!(Instant::now() < deadline, "the request never crossed");
    }
    let m = on_hub.read_msg();
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("_INBOX.h.1", &b"noon"[..])
    );
}
