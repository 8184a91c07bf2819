//! Leaf nodes, the accepting side: the server under test is the hub (`leafnodes { port: -1,
//! authorization { ... } }`) and real nats-server leaf nodes (spokes, started by each test) attach
//! to it. Messages, headers, replies and queue groups cross both ways; interest follows
//! subscribers, is sent whole when a leaf attaches, and is relayed between leaf nodes of one
//! account; leaf users bind accounts and a wrong password is refused; clients, garbage and a leaf
//! of the hub's own cluster are refused on the leaf port with nats-server's words; `/leafz` shows
//! the attached leaf nodes; a leaf dialling twice is replaced, and a loop through the hub is
//! detected. Every test passes with nats-server as the hub (`CORENATS_TEST_SERVER=nats-server`).
//!
//! A spoke shows in its `/leafz?subs=1` the interest the hub sent it, so interest from the hub is
//! awaited there; interest the other way is awaited by publishing probes until one arrives
//! (bounded). "Exactly once" is proven with an end marker published after the messages: each
//! subscriber reads up to its marker, so nothing is left to arrive later.

use crate::common::cluster::{free_ports, sockets_on_port};
use crate::common::probe::{
    each_sub_gets_all, next_real, publish_then_end, until_all_reached, until_end,
    until_group_reached,
};
use crate::common::raw::{header_block, until_delivered, Raw};
use crate::common::server::TIMEOUT;
use crate::common::spoke::{leaf_listen_port, leaf_url, remote, subs_of, LeafHub, Spoke};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers (as in cluster_routes.rs).

/// Queue members of `group` on `subject` at `port`, each also subscribed (plain) to `end_subject`.
fn members(port: u16, n: usize, subject: &str, group: &str, end_subject: &str) -> Vec<Raw> {
    (0..n)
        .map(|_| {
            let mut r = Raw::ready(port);
            r.send(format!("SUB {subject} {group} 1\r\nSUB {end_subject} 2\r\n").as_bytes());
            r.ping_pong();
            r
        })
        .collect()
}

/// Publishes `n` messages on `subject` and checks that `members` (all subscribed to `end_subject`
/// too) get each exactly once between them; returns how many each got.
fn group_gets_each_once(
    publ: &mut Raw,
    members: &mut [Raw],
    subject: &str,
    end_subject: &str,
    n: usize,
) -> Vec<usize> {
    publish_then_end(publ, subject, end_subject, n);
    let mut seen = HashSet::new();
    let mut per_member = Vec::new();
    for m in members.iter_mut() {
        let got = until_end(m);
        per_member.push(got.len());
        for p in got {
            assert!(seen.insert(p.clone()), "{p} delivered twice");
        }
    }
    assert_eq!(seen.len(), n, "{} of {n} delivered", seen.len());
    per_member
}

/// Publishes `sync` on `subject` and reads `sub` up to it: whatever `publ` sent before has arrived.
fn sync(publ: &mut Raw, sub: &mut Raw, subject: &str) {
    publ.send(format!("PUB {subject} 4\r\nsync\r\n").as_bytes());
    loop {
        if sub.read_msg().payload == b"sync" {
            return;
        }
    }
}

/// `HPUB subject` with `hdr` and `body`.
fn hpub(subject: &str, hdr: &[u8], body: &str) -> Vec<u8> {
    let mut b = format!(
        "HPUB {subject} {} {}\r\n",
        hdr.len(),
        hdr.len() + body.len()
    )
    .into_bytes();
    b.extend_from_slice(hdr);
    b.extend_from_slice(format!("{body}\r\n").as_bytes());
    b
}

/// How many times `needle` occurs in `s`'s log.
fn log_count(s: &crate::common::server::Server, needle: &str) -> usize {
    s.log().matches(needle).count()
}

/// Waits until `needle` occurs at least `n` times in `s`'s log; false at `timeout`.
fn wait_log_count(
    s: &crate::common::server::Server,
    needle: &str,
    n: usize,
    timeout: Duration,
) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if log_count(s, needle) >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Accounts A and B with one client user each (`a`/`a`, `b`/`b`), and the hub's leaf users `la`
/// (password `pa`, bound to A) and `lb` (password `pb`, bound to B).
const AB_USERS: &str = r#"
accounts {
  A { users = [ { user: a, password: a } ] }
  B { users = [ { user: b, password: b } ] }
}
leafnodes {
  port: -1
  authorization {
    users: [ { user: la, password: pa, account: A }, { user: lb, password: pb, account: B } ]
  }
}
"#;

// ---------------------------------------------------------------------------------------------
// 1. One leaf node, no leaf authorization.

/// Plain messages, headers and request/reply cross the link both ways, each exactly once: the
/// hub's interest shows in the spoke's /leafz, the spoke's reaches the hub (probes).
#[test]
fn messages_headers_and_replies_cross_both_ways() {
    let hub = LeafHub::plain();
    let leaf = Spoke::to("LEAF1", &hub.leaf_url(""));
    let mut on_hub = hub.ready();
    let mut on_leaf = leaf.ready();

    // Subscriber on the hub, publisher on the leaf.
    on_hub.send(b"SUB foo.> 1\r\n");
    on_hub.ping_pong();
    leaf.wait_interest("foo.>", true);
    on_leaf.send(b"PUB foo.x _INBOX.r1 9\r\nfrom-leaf\r\n");
    let m = on_hub.read_msg();
    assert_eq!(
        (m.subject.as_str(), m.reply.as_deref(), &m.payload[..]),
        ("foo.x", Some("_INBOX.r1"), &b"from-leaf"[..])
    );
    each_sub_gets_all(
        &mut on_leaf,
        std::slice::from_mut(&mut on_hub),
        "foo.n",
        "foo.end",
        50,
    );

    // Subscriber on the leaf, publisher on the hub.
    on_leaf.send(b"SUB bar 1\r\n");
    on_leaf.ping_pong();
    until_delivered(&mut on_hub, &mut on_leaf, "bar");
    on_hub.send(b"PUB bar _INBOX.r2 8\r\nfrom-hub\r\n");
    let m = next_real(&mut on_leaf);
    assert_eq!(
        (m.subject.as_str(), m.reply.as_deref(), &m.payload[..]),
        ("bar", Some("_INBOX.r2"), &b"from-hub"[..])
    );
    each_sub_gets_all(
        &mut on_hub,
        std::slice::from_mut(&mut on_leaf),
        "bar",
        "bar",
        50,
    );

    // Headers, both ways: HMSG with the header block byte for byte.
    let hdr = header_block(&[("A", "1"), ("Trace", "x y")]);
    on_leaf.send(&hpub("foo.h", &hdr, "hi"));
    let m = on_hub.read_msg();
    assert_eq!(m.header.as_deref(), Some(&hdr[..]), "{m:?}");
    assert_eq!((m.subject.as_str(), &m.payload[..]), ("foo.h", &b"hi"[..]));
    on_hub.send(&hpub("bar", &hdr, "yes"));
    let m = next_real(&mut on_leaf);
    assert_eq!(m.header.as_deref(), Some(&hdr[..]), "{m:?}");
    assert_eq!(m.payload, b"yes");

    // Request on the hub, responder on the leaf.
    let mut responder = leaf.ready();
    responder.send(b"SUB svc.leaf 1\r\n");
    responder.ping_pong();
    until_delivered(&mut on_hub, &mut responder, "svc.leaf");
    on_hub.send(b"SUB _INBOX.hub.* 7\r\n");
    on_hub.ping_pong();
    leaf.wait_interest("_INBOX.hub.*", true);
    on_hub.send(b"PUB svc.leaf _INBOX.hub.1 3\r\nreq\r\n");
    let req = next_real(&mut responder);
    assert_eq!(req.reply.as_deref(), Some("_INBOX.hub.1"), "{req:?}");
    responder.send(b"PUB _INBOX.hub.1 4\r\nresp\r\n");
    let m = on_hub.read_msg();
    assert_eq!(
        (m.subject.as_str(), m.sid.as_str(), &m.payload[..]),
        ("_INBOX.hub.1", "7", &b"resp"[..])
    );

    // Request on the leaf, responder on the hub.
    let mut responder = hub.ready();
    responder.send(b"SUB svc.hub 1\r\n");
    responder.ping_pong();
    leaf.wait_interest("svc.hub", true);
    on_leaf.send(b"SUB _INBOX.leaf.* 7\r\n");
    on_leaf.ping_pong();
    until_delivered(&mut on_hub, &mut on_leaf, "_INBOX.leaf.probe");
    on_leaf.send(b"PUB svc.hub _INBOX.leaf.1 3\r\nreq\r\n");
    let req = responder.read_msg();
    assert_eq!(req.reply.as_deref(), Some("_INBOX.leaf.1"), "{req:?}");
    responder.send(b"PUB _INBOX.leaf.1 4\r\nresp\r\n");
    let m = next_real(&mut on_leaf);
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("_INBOX.leaf.1", &b"resp"[..])
    );
    on_hub.expect_nothing();
}

/// A subscription removed on one side stops the other side sending: the hub honours the leaf's
/// LS- (the spoke's link counts no further message from the hub), and sends its own LS- (the
/// spoke's /leafz drops the interest and the spoke forwards nothing more).
#[test]
fn an_unsubscribe_stops_delivery_across_the_link() {
    let hub = LeafHub::plain();
    let leaf = Spoke::to("LEAF1", &hub.leaf_url(""));

    // Removed on the leaf: the hub must stop sending.
    let mut on_leaf = leaf.ready();
    on_leaf.send(b"SUB gone 1\r\nSUB stay 2\r\nSUB gone.q grp 3\r\n");
    on_leaf.ping_pong();
    let mut on_hub = hub.ready();
    until_delivered(&mut on_hub, &mut on_leaf, "gone");
    until_delivered(&mut on_hub, &mut on_leaf, "gone.q");
    until_delivered(&mut on_hub, &mut on_leaf, "stay");
    on_leaf.send(b"UNSUB 1\r\nUNSUB 3\r\nSUB after 4\r\n");
    on_leaf.ping_pong();
    // The hub has seen the leaf's later LS+ after, so the LS- before it too.
    until_delivered(&mut on_hub, &mut on_leaf, "after");
    sync(&mut on_hub, &mut on_leaf, "stay");
    let (in_before, _) = leaf.link_msgs();
    on_hub
        .send(b"PUB gone 1\r\nx\r\nPUB gone 1\r\ny\r\nPUB gone.q 1\r\nz\r\nPUB stay 4\r\nlast\r\n");
    let m = on_leaf.read_msg();
    assert_eq!((m.subject.as_str(), &m.payload[..]), ("stay", &b"last"[..]));
    let (in_after, _) = leaf.link_msgs();
    assert_eq!(
        in_after - in_before,
        1,
        "the hub still sends subjects the leaf unsubscribed"
    );
    on_leaf.expect_nothing();

    // Removed on the hub: its LS- reaches the spoke, which stops sending.
    on_hub.send(b"SUB gone2 11\r\nSUB stay2 12\r\nSUB gone2.q grp 13\r\n");
    on_hub.ping_pong();
    for s in ["gone2", "gone2.q", "stay2"] {
        leaf.wait_interest(s, true);
    }
    on_hub.send(b"UNSUB 11\r\nUNSUB 13\r\n");
    on_hub.ping_pong();
    leaf.wait_interest("gone2", false);
    leaf.wait_interest("gone2.q", false);
    let (_, out_before) = leaf.link_msgs();
    on_leaf.send(b"PUB gone2 1\r\nx\r\nPUB gone2.q 1\r\nz\r\nPUB stay2 4\r\nlast\r\n");
    let m = next_real(&mut on_hub);
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("stay2", &b"last"[..])
    );
    let (_, out_after) = leaf.link_msgs();
    assert_eq!(out_after - out_before, 1);
    on_hub.expect_nothing();
}

// ---------------------------------------------------------------------------------------------
// 2. Queue groups.

/// A queue group gets every message exactly once: members on the hub only (the spoke sends one
/// copy), on the leaf only (the hub sends one copy), and on both sides, published on either side.
#[test]
fn a_queue_group_gets_each_message_once_across_the_link() {
    let hub = LeafHub::plain();
    let leaf = Spoke::to("LEAF1", &hub.leaf_url(""));
    let mut publ_hub = hub.ready();
    let mut publ_leaf = leaf.ready();

    // Members on the hub only, publisher on the leaf.
    let mut on_hub = members(hub.port(), 3, "w.*", "workers", "w-end");
    leaf.wait_interest("w.*", true);
    leaf.wait_interest("w-end", true);
    group_gets_each_once(&mut publ_leaf, &mut on_hub, "w.x", "w-end", 100);

    // Members on the leaf only, publisher on the hub.
    let mut on_leaf = members(leaf.port(), 3, "v.*", "workers", "v-end");
    until_group_reached(&mut publ_hub, &mut on_leaf, "v.probe");
    until_all_reached(&mut publ_hub, &mut on_leaf, "v-end");
    group_gets_each_once(&mut publ_hub, &mut on_leaf, "v.x", "v-end", 100);

    // Members on both sides, publishers on both.
    let mut both = members(hub.port(), 2, "b.*", "g", "b-end");
    both.extend(members(leaf.port(), 2, "b.*", "g", "b-end"));
    leaf.wait_interest("b.*", true);
    leaf.wait_interest("b-end", true);
    until_all_reached(&mut publ_hub, &mut both, "b-end");
    group_gets_each_once(&mut publ_hub, &mut both, "b.x", "b-end", 100);
    group_gets_each_once(&mut publ_leaf, &mut both, "b.y", "b-end", 100);
}

/// With members on both sides, each side's publisher is served by its own side's members: a
/// nats-server hub sends a client's message to a leaf's member only when it has no member of its
/// own (and the nats-server spoke does the same the other way).
#[test]
fn a_queue_group_is_served_on_the_publishers_side() {
    let hub = LeafHub::plain();
    let leaf = Spoke::to("LEAF1", &hub.leaf_url(""));
    let mut publ_hub = hub.ready();
    let mut publ_leaf = leaf.ready();
    let mut both = members(hub.port(), 2, "p.*", "g", "p-end");
    both.extend(members(leaf.port(), 2, "p.*", "g", "p-end"));
    leaf.wait_interest("p.*", true);
    leaf.wait_interest("p-end", true);
    until_all_reached(&mut publ_hub, &mut both, "p-end");

    let got = group_gets_each_once(&mut publ_hub, &mut both, "p.x", "p-end", 100);
    assert_eq!(
        got[2] + got[3],
        0,
        "the hub sent its client's messages to the leaf's members: {got:?}"
    );
    let got = group_gets_each_once(&mut publ_leaf, &mut both, "p.y", "p-end", 100);
    assert_eq!(got[0] + got[1], 0, "per member: {got:?}");

    // The hub's members leave: the leaf's members take over (each once).
    for m in both.iter_mut().take(2) {
        m.send(b"UNSUB 1\r\n");
        m.ping_pong();
    }
    let mut leaf_members: Vec<Raw> = both.drain(2..).collect();
    until_group_reached(&mut publ_hub, &mut leaf_members, "p.probe");
    let got = group_gets_each_once(&mut publ_hub, &mut leaf_members, "p.z", "p-end", 100);
    assert_eq!(got.iter().sum::<usize>(), 100, "{got:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. Leaf users bind accounts.

/// `authorization { users: [...] }` with two leaf users bound to accounts A and B, and one spoke
/// per user: each spoke sees only its account's interest, and messages stay in their accounts in
/// both directions. A spoke with a wrong password is refused (`Authorization Violation`) and keeps
/// retrying.
#[test]
fn leaf_users_bind_their_accounts() {
    let hub = LeafHub::start(AB_USERS);
    let la = Spoke::to("LEAF-A", &hub.leaf_url("la:pa"));
    let lb = Spoke::to("LEAF-B", &hub.leaf_url("lb:pb"));
    let mut a = hub.login("a");
    let mut b = hub.login("b");

    // Hub subscribers: each spoke learns its own account's interest only.
    a.send(b"SUB shared 1\r\nSUB onlya 2\r\n");
    a.ping_pong();
    b.send(b"SUB shared 1\r\nSUB onlyb 2\r\n");
    b.ping_pong();
    la.wait_interest("onlya", true);
    la.wait_interest("shared", true);
    lb.wait_interest("onlyb", true);
    let v = lb.wait_interest("shared", true);
    assert!(
        !subs_of(&v, |_| true).contains(&"onlya".to_string()),
        "B's spoke learned A's interest: {v}"
    );
    let v = la.leafz();
    assert!(
        !subs_of(&v, |_| true).contains(&"onlyb".to_string()),
        "A's spoke learned B's interest: {v}"
    );

    // Leaf publishers: each message reaches only its account's subscriber.
    let mut pa = la.ready();
    let mut pb = lb.ready();
    pb.send(b"PUB shared 7\r\nfrom-lb\r\n");
    assert_eq!(b.read_msg().payload, b"from-lb");
    pa.send(b"PUB shared 7\r\nfrom-la\r\n");
    assert_eq!(
        a.read_msg().payload,
        b"from-la",
        "A's subscriber got B's message"
    );
    pb.send(b"PUB shared 8\r\nfrom-lb2\r\n");
    assert_eq!(
        b.read_msg().payload,
        b"from-lb2",
        "B's subscriber got A's message"
    );

    // Leaf subscribers: each gets only its account's messages from the hub.
    let mut sa = la.ready();
    let mut sb = lb.ready();
    sa.send(b"SUB down 1\r\n");
    sa.ping_pong();
    sb.send(b"SUB down 1\r\n");
    sb.ping_pong();
    until_delivered(&mut a, &mut sa, "down");
    until_delivered(&mut b, &mut sb, "down");
    b.send(b"PUB down 6\r\nfrom-b\r\n");
    assert_eq!(next_real(&mut sb).payload, b"from-b");
    a.send(b"PUB down 6\r\nfrom-a\r\n");
    assert_eq!(
        next_real(&mut sa).payload,
        b"from-a",
        "A's leaf subscriber got B's message"
    );
    b.send(b"PUB down 7\r\nfrom-b2\r\n");
    assert_eq!(
        next_real(&mut sb).payload,
        b"from-b2",
        "B's leaf subscriber got A's message"
    );
    a.expect_nothing();
    b.expect_nothing();

    // A wrong password: refused with `-ERR 'Authorization Violation'` (the spoke logs it), and
    // retried (the spoke dials again about a second later and is refused again).
    let bad = Spoke::unlinked("LEAF-BAD", &[remote(&hub.leaf_url("la:wrong"), None)], "");
    assert!(
        wait_log_count(
            &bad.server,
            "Leafnode Error 'Authorization Violation'",
            2,
            Duration::from_secs(8)
        ),
        "{}",
        bad.server.log()
    );
    assert_eq!(bad.leafz()["leafnodes"], 0);
    // A client user is no leaf user.
    let wrong = Spoke::unlinked("LEAF-CLIENT", &[remote(&hub.leaf_url("a:a"), None)], "");
    assert!(
        wrong
            .server
            .wait_for_log("Leafnode Error 'Authorization Violation'", TIMEOUT),
        "{}",
        wrong.server.log()
    );
    let v = hub.wait_leafz("the two good links only", |v| v["leafnodes"] == 2);
    let names: BTreeSet<&str> = v["leafs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(names, ["LEAF-A", "LEAF-B"].into(), "{v}");
}

/// Two remotes of one spoke, one per leaf user, bridge two local accounts to A and B: the
/// accounts stay apart through one spoke too.
#[test]
fn two_remotes_of_one_spoke_bind_two_accounts() {
    let hub = LeafHub::start(AB_USERS);
    let leaf = Spoke::attach(
        "LEAF-AB",
        &[
            remote(&hub.leaf_url("la:pa"), Some("LA")),
            remote(&hub.leaf_url("lb:pb"), Some("LB")),
        ],
        r#"accounts {
             LA { users = [ { user: a, password: a } ] }
             LB { users = [ { user: b, password: b } ] }
           }"#,
    );
    let mut a = hub.login("a");
    let mut b = hub.login("b");
    a.send(b"SUB x 1\r\n");
    a.ping_pong();
    b.send(b"SUB x 1\r\n");
    b.ping_pong();
    leaf.wait_leafz("interest in x on both links", |v| {
        v["leafs"].as_array().is_some_and(|ls| {
            ls.len() == 2
                && ls.iter().all(|l| {
                    l["subscriptions_list"]
                        .as_array()
                        .is_some_and(|s| s.iter().any(|s| s == "x"))
                })
        })
    });
    let mut la = leaf.login("a");
    let mut lb = leaf.login("b");
    lb.send(b"PUB x 4\r\nfrom\r\n");
    assert_eq!(b.read_msg().payload, b"from");
    la.send(b"PUB x 5\r\nfromA\r\n");
    assert_eq!(a.read_msg().payload, b"fromA", "A got LB's message");
    lb.send(b"PUB x 5\r\nfromB\r\n");
    assert_eq!(b.read_msg().payload, b"fromB", "B got LA's message");

    la.send(b"SUB y 1\r\n");
    la.ping_pong();
    lb.send(b"SUB y 1\r\n");
    lb.ping_pong();
    until_delivered(&mut a, &mut la, "y");
    until_delivered(&mut b, &mut lb, "y");
    a.send(b"PUB y 2\r\nya\r\n");
    assert_eq!(next_real(&mut la).payload, b"ya");
    b.send(b"PUB y 2\r\nyb\r\n");
    assert_eq!(next_real(&mut lb).payload, b"yb", "LB got A's message");
    a.send(b"PUB y 3\r\nya2\r\n");
    assert_eq!(next_real(&mut la).payload, b"ya2", "LA got B's message");
}

/// The single-user form `authorization { user, password, account }`: the right password binds
/// the account; a wrong one, or none, is refused with `-ERR 'Authorization Violation'`.
#[test]
fn a_single_leaf_user_binds_its_account() {
    let hub = LeafHub::start(
        r#"
        accounts { A { users = [ { user: a, password: a } ] } }
        leafnodes { port: -1, authorization { user: leaf, password: s3cret, account: A } }
        "#,
    );
    let leaf = Spoke::to("LEAF-S", &hub.leaf_url("leaf:s3cret"));
    let mut a = hub.login("a");
    a.send(b"SUB single 1\r\n");
    a.ping_pong();
    leaf.wait_interest("single", true);
    let mut p = leaf.ready();
    p.send(b"PUB single 2\r\nok\r\n");
    assert_eq!(a.read_msg().payload, b"ok");
    let v = hub.wait_leafz("the leaf in account A", |v| v["leafnodes"] == 1);
    assert_eq!(v["leafs"][0]["account"], "A", "{v}");

    for creds in [r#","user":"leaf","pass":"wrong""#, ""] {
        let mut r = hub.raw_leaf();
        r.send(format!(r#"CONNECT {{"name":"X","headers":true{creds}}}"#).as_bytes());
        r.send(b"\r\nPING\r\n");
        r.expect_err_closed("Authorization Violation");
    }
    let bad = Spoke::unlinked("LEAF-BAD", &[remote(&hub.leaf_url("leaf:nope"), None)], "");
    assert!(
        bad.server
            .wait_for_log("Leafnode Error 'Authorization Violation'", TIMEOUT),
        "{}",
        bad.server.log()
    );
    assert_eq!(hub.leafz()["leafnodes"], 1);
}

// ---------------------------------------------------------------------------------------------
// 4. Two leaf nodes in one account.

/// Two spokes of one account: the hub relays each spoke's interest to the other (it shows in the
/// other's /leafz) and its messages through, exactly once and in order; an unsubscribe is relayed
/// too; a queue group spread over both spokes gets each of the hub's messages once.
#[test]
fn two_leaf_nodes_talk_through_the_hub() {
    let hub = LeafHub::plain();
    let l1 = Spoke::to("LEAF1", &hub.leaf_url(""));
    let l2 = Spoke::to("LEAF2", &hub.leaf_url(""));

    // Leaf 2's subscriber: its interest reaches leaf 1 through the hub.
    let mut s2 = l2.ready();
    s2.send(b"SUB across 1\r\n");
    s2.ping_pong();
    l1.wait_interest("across", true);
    let mut on_hub = hub.ready();
    on_hub.send(b"SUB across 1\r\n");
    on_hub.ping_pong();
    let mut p1 = l1.ready();
    p1.send(b"PUB across 5\r\nfirst\r\n");
    assert_eq!(s2.read_msg().payload, b"first");
    assert_eq!(on_hub.read_msg().payload, b"first");
    each_sub_gets_all(&mut p1, &mut [s2, on_hub], "across", "across", 50);

    // And the other way.
    let mut s1 = l1.ready();
    s1.send(b"SUB back.* 1\r\n");
    s1.ping_pong();
    l2.wait_interest("back.*", true);
    let mut p2 = l2.ready();
    each_sub_gets_all(
        &mut p2,
        std::slice::from_mut(&mut s1),
        "back.x",
        "back.end",
        50,
    );

    // An unsubscribe on leaf 1 is relayed to leaf 2.
    s1.send(b"UNSUB 1\r\n");
    s1.ping_pong();
    l2.wait_interest("back.*", false);

    // A queue group on both spokes, publisher on the hub: each message once.
    let mut group = members(l1.port(), 2, "q.*", "g", "q-end");
    group.extend(members(l2.port(), 2, "q.*", "g", "q-end"));
    let mut publ = hub.ready();
    until_all_reached(&mut publ, &mut group, "q-end");
    group_gets_each_once(&mut publ, &mut group, "q.x", "q-end", 100);
    // Published on leaf 1 (which has members of its own): still each once.
    group_gets_each_once(&mut p1, &mut group, "q.y", "q-end", 100);
}

// ---------------------------------------------------------------------------------------------
// 5. Interest already present when a leaf attaches.

/// Subscriptions made on the hub before a leaf attaches (plain, wildcard, queue), and those of a
/// leaf already attached, are sent to the new leaf at once: its /leafz lists them as soon as the
/// link is up, and a single message from it (no probes) reaches each.
#[test]
fn interest_present_before_a_leaf_attaches_is_sent_at_connect() {
    let hub = LeafHub::plain();
    let mut on_hub = hub.ready();
    on_hub.send(b"SUB early 1\r\nSUB early.> 2\r\nSUB eq grp 3\r\n");
    on_hub.ping_pong();
    let first = Spoke::to("LEAF1", &hub.leaf_url(""));
    let mut on_first = first.ready();
    on_first.send(b"SUB from.first.leaf 1\r\n");
    on_first.ping_pong();
    first.wait_interest("early", true);
    // Nothing proves the hub has the first leaf's interest yet: probe it.
    until_delivered(&mut on_hub, &mut on_first, "from.first.leaf");

    let late = Spoke::to("LEAF2", &hub.leaf_url(""));
    let v = late.wait_leafz("the hub's interest", |v| {
        let subs = subs_of(v, |_| true);
        ["early", "early.>", "eq", "from.first.leaf"]
            .iter()
            .all(|s| subs.iter().any(|x| x == s))
    });
    assert_eq!(v["leafs"][0]["name"].as_str(), hub_name(&hub).as_deref());
    let mut p = late.ready();
    p.send(b"PUB early 3\r\none\r\n");
    let m = on_hub.read_msg();
    assert_eq!((m.sid.as_str(), &m.payload[..]), ("1", &b"one"[..]));
    p.send(b"PUB early.a.b 3\r\ntwo\r\n");
    let m = on_hub.read_msg();
    assert_eq!((m.sid.as_str(), &m.payload[..]), ("2", &b"two"[..]));
    p.send(b"PUB eq 5\r\nthree\r\n");
    let m = on_hub.read_msg();
    assert_eq!((m.sid.as_str(), &m.payload[..]), ("3", &b"three"[..]));
    p.send(b"PUB from.first.leaf 4\r\nfour\r\n");
    assert_eq!(next_real(&mut on_first).payload, b"four");
    on_hub.expect_nothing();
}

/// The hub's `server_name` as its client INFO tells (the name a spoke shows in /leafz).
fn hub_name(hub: &LeafHub) -> Option<String> {
    hub.server.raw().info["server_name"]
        .as_str()
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------------
// 6. What the leaf port refuses, and what it says to a leaf.

/// The leaf port greets like nats-server: an INFO with a non-zero `client_id`, `leafnode_urls`,
/// a nonce and `info_on_connect`; after a CONNECT, an INFO with `connect_info` and the bound
/// account (`remote_account`), then the account's whole interest (`LS+`, with the account's loop
/// detection subject `$LDS.…`), then PONG. Interest and messages then flow as LS+/LS-/LMSG.
#[test]
fn the_leaf_port_greets_a_leaf_as_nats_server_does() {
    let hub = LeafHub::start(&AB_USERS.replace("port: -1", "host: 127.0.0.1\n  port: -1"));
    let client_info = hub.server.raw().info;
    let mut a = hub.login("a");
    a.send(b"SUB seen 1\r\nSUB grp.* workers 2\r\n");
    a.ping_pong();

    let mut r = hub.raw_leaf();
    let info = r.info.clone();
    assert_eq!(info["server_id"], client_info["server_id"], "{info}");
    assert_eq!(info["server_name"], client_info["server_name"], "{info}");
    assert_eq!(info["version"], client_info["version"], "{info}");
    assert!(info["client_id"].as_u64().unwrap_or(0) > 0, "{info}");
    assert_eq!(
        info["leafnode_urls"],
        json!([format!("127.0.0.1:{}", hub.leaf_port)]),
        "{info}"
    );
    assert!(
        info["nonce"].as_str().is_some_and(|n| !n.is_empty()),
        "{info}"
    );
    assert_eq!(info["info_on_connect"], true, "{info}");
    assert_eq!(info["auth_required"], true, "{info}");
    assert_eq!(info["headers"], true, "{info}");
    assert_eq!(info["max_payload"], 1048576, "{info}");
    assert_eq!(info["port"], hub.leaf_port, "{info}");
    assert!(info.get("connect_info").is_none(), "{info}");

    r.send(br#"CONNECT {"version":"2.15.1","server_id":"NRAWLEAF","name":"RAWLEAF","headers":true,"user":"la","pass":"pa","remote_account":"$G","protocol":1}"#);
    r.send(b"\r\nPING\r\n");
    let ci = r.expect_info();
    assert_eq!(ci["connect_info"], true, "{ci}");
    assert_eq!(ci["remote_account"], "A", "{ci}");
    assert_eq!(ci["client_id"], info["client_id"], "{ci}");
    assert_eq!(ci["server_id"], info["server_id"], "{ci}");
    assert!(ci.get("nonce").is_none(), "{ci}");
    // No permissions for this user: no import/export.
    assert!(
        ci.get("import").is_none() && ci.get("export").is_none(),
        "{ci}"
    );
    let mut dump = Vec::new();
    loop {
        let line = r.expect_line();
        if line == "PONG" {
            break;
        }
        dump.push(line);
    }
    assert!(dump.iter().all(|l| l.starts_with("LS+ ")), "{dump:?}");
    assert!(dump.contains(&"LS+ seen".to_string()), "{dump:?}");
    assert!(
        dump.contains(&"LS+ grp.* workers 1".to_string()),
        "{dump:?}"
    );
    assert_eq!(
        dump.iter().filter(|l| l.starts_with("LS+ $LDS.")).count(),
        1,
        "one loop-detection subject for the account: {dump:?}"
    );

    // Live interest: LS+ on a new subscription, LS- when it goes.
    a.send(b"SUB later 3\r\n");
    a.ping_pong();
    r.expect_str("LS+ later\r\n");
    a.send(b"UNSUB 3\r\n");
    a.ping_pong();
    r.expect_str("LS- later\r\n");

    // Messages both ways: LMSG to the leaf for its LS+, LMSG from it to the hub's subscriber.
    r.send(b"LS+ fromhub\r\nPING\r\n");
    r.expect_str("PONG\r\n");
    until_lmsg(&mut a, &mut r, "fromhub");
    a.send(b"PUB fromhub _INBOX.x 2\r\nhi\r\n");
    r.expect_str("LMSG fromhub _INBOX.x 2\r\nhi\r\n");
    r.send(b"LMSG seen 2\r\nyo\r\nPING\r\n");
    r.expect_str("PONG\r\n");
    let m = a.read_msg();
    assert_eq!((m.subject.as_str(), &m.payload[..]), ("seen", &b"yo"[..]));

    // Leaf user lb binds account B.
    let mut r = hub.raw_leaf();
    r.send(br#"CONNECT {"name":"RAWLEAF2","headers":true,"user":"lb","pass":"pb"}"#);
    r.send(b"\r\nPING\r\n");
    let ci = r.expect_info();
    assert_eq!(
        (&ci["connect_info"], &ci["remote_account"]),
        (&json!(true), &json!("B")),
        "{ci}"
    );
}

/// Publishes `subject` probes from the client `publ` until the raw leaf `r` gets one as LMSG.
fn until_lmsg(publ: &mut Raw, r: &mut Raw, subject: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publ.send(format!("PUB {subject} 5\r\nprobe\r\n").as_bytes());
        publ.ping_pong();
        if let Some(line) = r.try_line(Duration::from_millis(50)) {
            assert_eq!(line, format!("LMSG {subject} 5"), "{line}");
            r.expect_str("probe\r\n");
            // Later probes still in flight.
            while let Some(line) = r.try_line(Duration::from_millis(50)) {
                assert_eq!(line, format!("LMSG {subject} 5"), "{line}");
                r.expect_str("probe\r\n");
            }
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the leaf's interest in {subject} never took"
        );
    }
}

/// A leaf that authenticates as a user of the main `authorization` (no leaf authorization)
/// receives that user's permissions in the connect_info INFO: `import` = its subscribe
/// permissions, `export` = its publish permissions; an LS+ outside them is a violation that closes
/// the link.
#[test]
fn the_connect_info_carries_the_leaf_users_permissions() {
    let hub = LeafHub::start(
        r#"
        authorization {
          users = [ { user: leaf, password: secret,
                      permissions: { publish: { allow: ["foo", "_INBOX.>"] },
                                     subscribe: { allow: ["bar"], deny: ["bar.x"] } } } ]
        }
        leafnodes { port: -1 }
        "#,
    );
    let mut r = hub.raw_leaf();
    r.send(br#"CONNECT {"name":"RAWLEAF","headers":true,"user":"leaf","pass":"secret"}"#);
    r.send(b"\r\nPING\r\n");
    let ci = r.expect_info();
    assert_eq!(ci["connect_info"], true, "{ci}");
    assert_eq!(ci["remote_account"], "$G", "{ci}");
    assert_eq!(
        ci["import"],
        json!({"allow": ["bar"], "deny": ["bar.x"]}),
        "{ci}"
    );
    assert_eq!(ci["export"], json!({"allow": ["foo", "_INBOX.>"]}), "{ci}");
    loop {
        if r.expect_line() == "PONG" {
            break;
        }
    }
    r.send(b"LS+ nope\r\n");
    r.expect_err_closed("Permissions Violation for Subscription to \"nope\"");
}

/// The leaf port refuses a client (a CONNECT with `lang`), anything before CONNECT, a CONNECT that
/// is not JSON, a cluster name with spaces and a leaf of the hub's own cluster, each with
/// nats-server's words; a nats-server leaf of the hub's cluster logs the refusal and backs off.
/// The hub still takes a proper leaf afterwards.
#[test]
fn the_leaf_port_refuses_clients_garbage_and_its_own_cluster() {
    let hub = LeafHub::start(
        "cluster { name: HUBC, listen: \"127.0.0.1:-1\" }\nleafnodes { port: -1 }\n",
    );
    let mut r = hub.raw_leaf();
    r.send(br#"CONNECT {"verbose":false,"pedantic":false,"lang":"rust","version":"0.1.0"}"#);
    r.send(b"\r\nPING\r\n");
    r.expect_err_closed("attempted to connect to leaf node port");

    for junk in [
        &b"GARBAGE here\r\n"[..],
        b"PING\r\n",
        b"SUB foo 1\r\n",
        b"LS+ foo\r\n",
        b"LMSG foo 2\r\nhi\r\n",
        b"\x00\x01\xff\r\n",
    ] {
        let mut r = hub.raw_leaf();
        r.send(junk);
        r.expect_err_closed("Authorization Violation");
    }

    let mut r = hub.raw_leaf();
    r.send(b"CONNECT not json\r\n");
    let lines = r.lines_until_closed();
    // nats-server closes without a word.
    assert!(lines.is_empty(), "a CONNECT that is not JSON got {lines:?}");

    let mut r = hub.raw_leaf();
    r.send(br#"CONNECT {"name":"X","cluster":"a b","headers":true}"#);
    r.send(b"\r\nPING\r\n");
    r.expect_err_closed("cluster name cannot contain spaces");

    let mut r = hub.raw_leaf();
    r.send(br#"CONNECT {"name":"X","cluster":"HUBC","headers":true}"#);
    r.send(b"\r\nPING\r\n");
    r.expect_err_closed("remote leafnode has same cluster name");

    let same = Spoke::unlinked(
        "SAMECL",
        &[remote(&hub.leaf_url(""), None)],
        "cluster { name: HUBC, listen: \"127.0.0.1:-1\" }",
    );
    assert!(
        same.server.wait_for_log(
            "Leafnode Error 'remote leafnode has same cluster name'",
            TIMEOUT
        ),
        "{}",
        same.server.log()
    );
    assert!(
        same.server.wait_for_log(
            "Leafnode connection dropped with same cluster name error. Delaying attempt to \
             reconnect for 30s",
            TIMEOUT
        ),
        "{}",
        same.server.log()
    );
    assert_eq!(hub.leafz()["leafnodes"], 0);

    // A leaf of another cluster is welcome.
    let other = Spoke::attach(
        "OTHERCL",
        &[remote(&hub.leaf_url(""), None)],
        "cluster { name: OTHER, listen: \"127.0.0.1:-1\" }",
    );
    let mut on_hub = hub.ready();
    on_hub.send(b"SUB ok 1\r\n");
    on_hub.ping_pong();
    other.wait_interest("ok", true);
    let mut p = other.ready();
    p.send(b"PUB ok 2\r\nok\r\n");
    assert_eq!(on_hub.read_msg().payload, b"ok");
    assert_eq!(hub.leafz()["leafnodes"], 1);
}

// ---------------------------------------------------------------------------------------------
// 7. /leafz.

/// The hub's /leafz lists each attached leaf as nats-server does: its `server_name`, `is_spoke`
/// false, the bound account, the leaf's address, message and byte counts that move with the
/// traffic (payload bytes), and with `subs=1` the leaf's interest; `acc=` keeps one account's
/// links; /varz counts the leaf nodes.
#[test]
fn leafz_lists_the_attached_leaf_nodes() {
    let hub = LeafHub::start(AB_USERS);
    let la = Spoke::to("LEAF-A", &hub.leaf_url("la:pa"));
    let lb = Spoke::to("LEAF-B", &hub.leaf_url("lb:pb"));
    let mut sa = la.ready();
    sa.send(b"SUB to.leaf 1\r\nSUB to.leaf.q grp 2\r\n");
    sa.ping_pong();
    let v = hub.wait_leafz("LEAF-A's interest", |v| {
        let subs = subs_of(v, |l| l["name"] == "LEAF-A");
        subs.iter().any(|s| s == "to.leaf") && subs.iter().any(|s| s == "to.leaf.q")
    });
    assert_eq!(v["leafnodes"], 2, "{v}");
    let ports: BTreeSet<u16> = sockets_on_port(hub.leaf_port)
        .into_iter()
        .filter(|s| s.0 == "01")
        .map(|(_, l, r)| if l == hub.leaf_port { r } else { l })
        .collect();
    let mut ids = BTreeSet::new();
    for (name, account) in [("LEAF-A", "A"), ("LEAF-B", "B")] {
        let l = link(&v, name);
        assert_eq!(l["is_spoke"], false, "{l}");
        assert_eq!(l["account"], account, "{l}");
        assert_eq!(l["ip"], "127.0.0.1", "{l}");
        let port = l["port"].as_u64().unwrap_or(0) as u16;
        assert!(
            ports.contains(&port),
            "port {port} is not a leaf's end of a link to {}: {ports:?}",
            hub.leaf_port
        );
        assert!(l["rtt"].is_string(), "{l}");
        assert!(ids.insert(l["id"].as_u64().expect("id")), "{v}");
        let list = l["subscriptions_list"].as_array().expect("subs=1 lists");
        assert_eq!(l["subscriptions"].as_u64(), Some(list.len() as u64), "{l}");
    }

    // Counts: three messages from LEAF-A to a hub subscriber, two from the hub to LEAF-A.
    let mut a = hub.login("a");
    a.send(b"SUB to.hub 1\r\n");
    a.ping_pong();
    la.wait_interest("to.hub", true);
    until_delivered(&mut a, &mut sa, "to.leaf");
    sync(&mut a, &mut sa, "to.leaf");
    sync(&mut sa, &mut a, "to.hub");
    let before = link(&hub.leafz(), "LEAF-A").clone();
    sa.send(b"PUB to.hub 5\r\nhello\r\nPUB to.hub 5\r\nhello\r\nPUB to.hub 3\r\nbye\r\n");
    for _ in 0..3 {
        a.read_msg();
    }
    a.send(b"PUB to.leaf 4\r\nabcd\r\nPUB to.leaf 6\r\nabcdef\r\n");
    for _ in 0..2 {
        sa.read_msg();
    }
    let n = |l: &Value, k: &str| l[k].as_u64().unwrap_or(0);
    let want = |l: &Value| {
        (
            n(l, "in_msgs") - n(&before, "in_msgs"),
            n(l, "in_bytes") - n(&before, "in_bytes"),
            n(l, "out_msgs") - n(&before, "out_msgs"),
            n(l, "out_bytes") - n(&before, "out_bytes"),
        )
    };
    let v = hub.wait_leafz("LEAF-A's counts moved", |v| {
        want(link(v, "LEAF-A")) == (3, 13, 2, 10)
    });
    let b = link(&v, "LEAF-B");
    assert_eq!((n(b, "in_msgs"), n(b, "out_msgs")), (0, 0), "{b}");

    // acc= keeps one account's links; without subs=1 there is no list.
    let v = hub.json("/leafz?acc=B");
    assert_eq!(v["leafnodes"], 1, "{v}");
    assert_eq!(v["leafs"][0]["name"], "LEAF-B", "{v}");
    assert!(v["leafs"][0].get("subscriptions_list").is_none(), "{v}");
    let v = hub.json("/varz");
    assert_eq!(v["leafnodes"], 2, "{v}");
    assert_eq!(v["leaf"]["port"], hub.leaf_port, "{v}");

    // A leaf that goes is gone from the list.
    drop(lb);
    let v = hub.wait_leafz("LEAF-B gone", |v| v["leafnodes"] == 1);
    assert_eq!(v["leafs"][0]["name"], "LEAF-A", "{v}");
    drop(la);
    hub.wait_leafz("no leaf", |v| v["leafnodes"] == 0);
}

/// The link named `name` in a `/leafz` answer.
fn link<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["leafs"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["name"] == name))
        .unwrap_or_else(|| panic!("no link named {name} in {v}"))
}

// ---------------------------------------------------------------------------------------------
// 8. A leaf that dials twice, and a loop.

/// One spoke with two remotes to the hub bridging the same account (the URLs differ only in
/// their userinfo). A nats-server hub keeps one link for one server and account: as a rule it
/// takes the newer and evicts the older with `-ERR 'Duplicate Remote LeafNode Connection'`, which
/// that remote redials a second later, so the links take turns; when both links are up at once,
/// the account's loop-detection subject comes back over the other one and the hub closes it with
/// `-ERR 'Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s'` (that
/// remote backs off). The spoke logs either error; the hub settles on one link from the spoke;
/// and while the links change, nothing is delivered twice in either direction.
#[test]
fn a_leaf_dialling_twice_in_one_account_keeps_one_link() {
    let hub = LeafHub::plain();
    let leaf = Spoke::unlinked(
        "TWICE",
        &[
            remote(&hub.leaf_url(""), None),
            remote(&hub.leaf_url("u:p"), None),
        ],
        "",
    );
    let dup = "Leafnode Error 'Duplicate Remote LeafNode Connection'";
    let looped = "Loop detected for leafnode account=\"$G\"";
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let log = leaf.server.log();
        if log.contains(dup) || log.contains(looped) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second link was neither evicted nor found looping:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let one_link = |v: &Value| {
        v["leafs"]
            .as_array()
            .is_some_and(|ls| ls.iter().filter(|l| l["name"] == "TWICE").count() == 1)
    };
    hub.wait_leafz("one link from TWICE", one_link);

    // While the links change (about once a second), every message arrives at most once.
    let mut on_leaf = leaf.ready();
    on_leaf.send(b"SUB dup 1\r\n");
    on_leaf.ping_pong();
    let mut on_hub = hub.ready();
    on_hub.send(b"SUB dup.back 1\r\n");
    on_hub.ping_pong();
    let mut publ_hub = hub.ready();
    let mut publ_leaf = leaf.ready();
    let start = Instant::now();
    let (mut down, mut up) = (HashSet::new(), HashSet::new());
    let mut i = 0;
    while start.elapsed() < Duration::from_millis(3000) {
        publ_hub.send(format!("PUB dup {}\r\n{i}\r\n", i.to_string().len()).as_bytes());
        publ_leaf.send(format!("PUB dup.back {}\r\n{i}\r\n", i.to_string().len()).as_bytes());
        i += 1;
        while let Some(m) = on_leaf.try_read_msg(Duration::from_millis(5)) {
            assert!(down.insert(m.payload.clone()), "delivered twice: {m:?}");
        }
        while let Some(m) = on_hub.try_read_msg(Duration::from_millis(5)) {
            assert!(up.insert(m.payload.clone()), "delivered twice: {m:?}");
        }
    }
    while let Some(m) = on_leaf.try_read_msg(Duration::from_millis(300)) {
        assert!(down.insert(m.payload.clone()), "delivered twice: {m:?}");
    }
    while let Some(m) = on_hub.try_read_msg(Duration::from_millis(300)) {
        assert!(up.insert(m.payload.clone()), "delivered twice: {m:?}");
    }
    assert!(
        !down.is_empty() && !up.is_empty(),
        "nothing crossed: {} down, {} up of {i}",
        down.len(),
        up.len()
    );
    hub.wait_leafz("one link from TWICE", one_link);
}

/// A real loop: the spoke dials the hub, and the hub dials the spoke (both in the global
/// account). The loop-detection subject comes back around and the link is closed on both ends
/// with nats-server's words (`Loop detected for leafnode account="$G". Delaying attempt to
/// reconnect for 30s`); the loop stays broken (no more than one of the two links is left).
#[test]
fn a_loop_through_the_hub_is_detected() {
    let hub_port = free_ports(1)[0];
    let x = Spoke::start(
        "LOOPX",
        &format!(
            "leafnodes {{ port: -1, remotes = [ {} ] }}\n",
            remote(&leaf_url(hub_port, ""), None)
        ),
    );
    assert!(
        x.server
            .wait_for_log(crate::common::spoke::LEAF_LISTEN, TIMEOUT),
        "{}",
        x.server.log()
    );
    let x_port = leaf_listen_port(&x.server.log()).expect("the spoke's leaf port");
    let hub = LeafHub::start(&format!(
        "leafnodes {{ port: {hub_port}, remotes = [ {} ] }}\n",
        remote(&leaf_url(x_port, ""), None)
    ));
    assert_eq!(hub.leaf_port, hub_port);
    let words = "Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s";
    assert!(
        x.server.wait_for_log(words, Duration::from_secs(8)),
        "{}",
        x.server.log()
    );
    assert!(
        hub.server.wait_for_log(words, TIMEOUT),
        "{}",
        hub.server.log()
    );
    x.wait_leafz("at most one link", |v| {
        v["leafnodes"].as_u64().is_some_and(|n| n <= 1)
    });
    // No second link comes back within the back-off (either side redials after a second when it
    // does not back off): watched for 1.5 s.
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_millis(1500) {
        let v = x.leafz();
        assert!(v["leafnodes"].as_u64().unwrap_or(9) <= 1, "{v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
