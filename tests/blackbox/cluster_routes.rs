//! Routes (clustering): the server under test joined to real nats-server peers, and to copies of
//! itself, with `cluster { name, listen, routes, authorization }`. Messages, headers, replies and
//! queue groups cross in both directions whichever side dials (or both); interest follows
//! subscribers and is rebuilt after a peer restarts; accounts stay apart and a stream export
//! reaches an importer on another node; three servers under test form a full mesh with no
//! duplicates; a seed gossips its peers to each other; a server listing its own URL does not route
//! to itself; cluster authorization admits the right password only and the route port refuses
//! clients; clients learn the cluster's URLs from async INFOs. Every test passes with nats-server as
//! every node (`CORENATS_TEST_SERVER=nats-server`).
//!
//! A nats-server peer shows what it learned in `/routez?subs=1`, so interest from the server under
//! test is awaited there; interest the other way is awaited by publishing probes until one arrives
//! (bounded). "No duplicates" is proven with an end marker published after the messages: each
//! subscriber reads up to its marker, so nothing is left to arrive later.

use crate::common::cluster::{
    cluster_block, free_ports, remote_ids, route_url, sockets_on_port, Node,
};
use crate::common::probe::{
    each_sub_gets_all, next_real, numbered, publish_then_end, until_all_reached, until_end,
    until_group_reached,
};
use crate::common::raw::{header_block, until_delivered, Raw};
use crate::common::server::TIMEOUT;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

/// Who dials the route between the server under test and its nats-server peer.
#[derive(Debug, Clone, Copy)]
enum Dial {
    /// The server under test lists the peer in `routes`.
    Sut,
    /// The peer lists the server under test.
    Peer,
    /// Each lists the other (duplicate routes are resolved to one link).
    Both,
}

/// The server under test and one nats-server peer joined by a route dialed as `dial` says, both
/// with `rest` in their config; returns once the peer has registered the route.
fn pair(dial: Dial, rest: &str) -> (Node, Node) {
    let (sut, peer) = match dial {
        Dial::Sut => {
            let peer = Node::peer_with(&[], "", rest);
            let sut = Node::start_with(&[peer.route_url("")], "", rest);
            (sut, peer)
        }
        Dial::Peer => {
            let sut = Node::start_with(&[], "", rest);
            let peer = Node::peer_with(&[sut.route_url("")], "", rest);
            (sut, peer)
        }
        Dial::Both => {
            let p = free_ports(2);
            let sut = Node::start(&format!(
                "{rest}\n{}",
                cluster_block(Some(p[0]), &[route_url(p[1], "")], "")
            ));
            let peer = Node::peer(&format!(
                "{rest}\n{}",
                cluster_block(Some(p[1]), &[route_url(p[0], "")], "")
            ));
            (sut, peer)
        }
    };
    peer.wait_route_to(&sut.id);
    (sut, peer)
}

/// Queue members of `group` on `subject`, each also subscribed (plain) to `end_subject`.
fn members(node: &Node, n: usize, subject: &str, group: &str, end_subject: &str) -> Vec<Raw> {
    (0..n)
        .map(|_| {
            let mut r = node.ready();
            r.send(format!("SUB {subject} {group} 1\r\nSUB {end_subject} 2\r\n").as_bytes());
            r.ping_pong();
            r
        })
        .collect()
}

/// Publishes `n` messages on `subject` and checks that `members` (all subscribed to `end_subject`
/// too) get each exactly once between them.
fn group_gets_each_once(
    publ: &mut Raw,
    members: &mut [Raw],
    subject: &str,
    end_subject: &str,
    n: usize,
) {
    publish_then_end(publ, subject, end_subject, n);
    let mut seen = HashSet::new();
    for m in members.iter_mut() {
        for p in until_end(m) {
            assert!(seen.insert(p.clone()), "{p} delivered twice");
        }
    }
    assert_eq!(seen.len(), n, "{} of {n} delivered", seen.len());
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

// ---------------------------------------------------------------------------------------------
// 1. The server under test and one nats-server peer.

/// Plain messages, headers and request/reply cross the route in both directions, each delivered
/// exactly once.
fn messages_cross_both_ways(dial: Dial) {
    let (sut, peer) = pair(dial, "");
    let mut on_sut = sut.ready();
    let mut on_peer = peer.ready();

    // Subscriber on the server under test: its interest reaches the peer's /routez.
    on_sut.send(b"SUB foo.> 1\r\n");
    on_sut.ping_pong();
    peer.wait_interest_from(&sut.id, "foo.>", true);
    on_peer.send(b"PUB foo.x _INBOX.r1 9\r\nfrom-peer\r\n");
    let m = on_sut.read_msg();
    assert_eq!(
        (m.subject.as_str(), m.reply.as_deref(), &m.payload[..]),
        ("foo.x", Some("_INBOX.r1"), &b"from-peer"[..])
    );
    each_sub_gets_all(
        &mut on_peer,
        std::slice::from_mut(&mut on_sut),
        "foo.n",
        "foo.end",
        50,
    );

    // Subscriber on the peer: probes until its interest has reached the server under test.
    on_peer.send(b"SUB bar 1\r\n");
    on_peer.ping_pong();
    until_delivered(&mut on_sut, &mut on_peer, "bar");
    on_sut.send(b"PUB bar 8\r\nfrom-sut\r\n");
    assert_eq!(next_real(&mut on_peer).payload, b"from-sut");
    each_sub_gets_all(
        &mut on_sut,
        std::slice::from_mut(&mut on_peer),
        "bar",
        "bar",
        50,
    );

    // Headers, both ways: HMSG with the header block byte for byte.
    let hdr = header_block(&[("A", "1"), ("Trace", "x y")]);
    let hpub = |subject: &str, body: &str| {
        let mut b = format!(
            "HPUB {subject} {} {}\r\n",
            hdr.len(),
            hdr.len() + body.len()
        )
        .into_bytes();
        b.extend_from_slice(&hdr);
        b.extend_from_slice(format!("{body}\r\n").as_bytes());
        b
    };
    on_peer.send(&hpub("foo.h", "hi"));
    let m = on_sut.read_msg();
    assert_eq!(m.header.as_deref(), Some(&hdr[..]), "{m:?}");
    assert_eq!((m.subject.as_str(), &m.payload[..]), ("foo.h", &b"hi"[..]));
    on_sut.send(&hpub("bar", "yes"));
    let m = next_real(&mut on_peer);
    assert_eq!(m.header.as_deref(), Some(&hdr[..]), "{m:?}");
    assert_eq!(m.payload, b"yes");

    // Request on the server under test, responder on the peer; then the other way round.
    let mut responder = peer.ready();
    responder.send(b"SUB svc.peer 1\r\n");
    responder.ping_pong();
    until_delivered(&mut on_sut, &mut responder, "svc.peer");
    on_sut.send(b"SUB _INBOX.sut.* 7\r\n");
    on_sut.ping_pong();
    peer.wait_interest_from(&sut.id, "_INBOX.sut.*", true);
    on_sut.send(b"PUB svc.peer _INBOX.sut.1 3\r\nreq\r\n");
    let req = next_real(&mut responder);
    assert_eq!(req.reply.as_deref(), Some("_INBOX.sut.1"), "{req:?}");
    responder.send(b"PUB _INBOX.sut.1 4\r\nresp\r\n");
    let m = on_sut.read_msg();
    assert_eq!(
        (m.subject.as_str(), m.sid.as_str(), &m.payload[..]),
        ("_INBOX.sut.1", "7", &b"resp"[..])
    );

    let mut responder = sut.ready();
    responder.send(b"SUB svc.sut 1\r\n");
    responder.ping_pong();
    peer.wait_interest_from(&sut.id, "svc.sut", true);
    on_peer.send(b"SUB _INBOX.peer.* 7\r\n");
    on_peer.ping_pong();
    until_delivered(&mut on_sut, &mut on_peer, "_INBOX.peer.probe");
    on_peer.send(b"PUB svc.sut _INBOX.peer.1 3\r\nreq\r\n");
    let req = responder.read_msg();
    assert_eq!(req.reply.as_deref(), Some("_INBOX.peer.1"), "{req:?}");
    responder.send(b"PUB _INBOX.peer.1 4\r\nresp\r\n");
    let m = next_real(&mut on_peer);
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("_INBOX.peer.1", &b"resp"[..])
    );
}

#[test]
fn messages_cross_both_ways_when_the_server_under_test_dials() {
    messages_cross_both_ways(Dial::Sut);
}

#[test]
fn messages_cross_both_ways_when_the_peer_dials() {
    messages_cross_both_ways(Dial::Peer);
}

#[test]
fn messages_cross_once_when_both_sides_dial() {
    messages_cross_both_ways(Dial::Both);
}

/// A requester that subscribes to a fresh inbox and publishes its request in the same breath (as
/// client libraries do) gets the reply from across the route: the inbox interest must travel ahead
/// of the request, and be in force on the responder's node before the responder can answer. Both
/// directions, a fresh inbox each time.
fn a_request_right_after_its_inbox_subscription_is_answered(dial: Dial) {
    let (sut, peer) = pair(dial, "");
    let mut on_sut = sut.ready();
    let mut on_peer = peer.ready();
    let mut svc_peer = peer.ready();
    svc_peer.send(b"SUB svc.peer 1\r\n");
    svc_peer.ping_pong();
    until_delivered(&mut on_sut, &mut svc_peer, "svc.peer");
    let mut svc_sut = sut.ready();
    svc_sut.send(b"SUB svc.sut 1\r\n");
    svc_sut.ping_pong();
    peer.wait_interest_from(&sut.id, "svc.sut", true);

    for (requester, responder, svc) in [
        (&mut on_sut, &mut svc_peer, "svc.peer"),
        (&mut on_peer, &mut svc_sut, "svc.sut"),
    ] {
        for i in 0..20 {
            let inbox = format!("_INBOX.{svc}.{i}");
            requester.send(
                format!(
                    "SUB {inbox}.* {}\r\nPUB {svc} {inbox}.1 2\r\nq{}\r\n",
                    100 + i,
                    i % 10
                )
                .as_bytes(),
            );
            let req = next_real(responder);
            assert_eq!(req.reply, Some(format!("{inbox}.1")), "{req:?}");
            responder.send(format!("PUB {inbox}.1 2\r\nr{}\r\n", i % 10).as_bytes());
            let m = requester.read_msg();
            assert_eq!(
                (m.subject, m.payload),
                (format!("{inbox}.1"), format!("r{}", i % 10).into_bytes()),
                "request {i} to {svc}"
            );
            requester.send(format!("UNSUB {}\r\n", 100 + i).as_bytes());
        }
    }
}

#[test]
fn a_request_right_after_its_inbox_subscription_is_answered_when_the_server_under_test_dials() {
    a_request_right_after_its_inbox_subscription_is_answered(Dial::Sut);
}

#[test]
fn a_request_right_after_its_inbox_subscription_is_answered_when_the_peer_dials() {
    a_request_right_after_its_inbox_subscription_is_answered(Dial::Peer);
}

/// A queue group gets every message exactly once: members on the far node only (the publisher's
/// node sends one copy across), on the near node only, and on both nodes.
fn queue_group_gets_each_message_once(dial: Dial) {
    let (sut, peer) = pair(dial, "");
    let mut publ_sut = sut.ready();
    let mut publ_peer = peer.ready();

    // Members on the peer only, publisher on the server under test.
    let mut on_peer = members(&peer, 3, "w.*", "workers", "w-end");
    until_group_reached(&mut publ_sut, &mut on_peer, "w.probe");
    until_all_reached(&mut publ_sut, &mut on_peer, "w-end");
    group_gets_each_once(&mut publ_sut, &mut on_peer, "w.x", "w-end", 100);

    // Members on the server under test only, publisher on the peer.
    let mut on_sut = members(&sut, 3, "v.*", "workers", "v-end");
    peer.wait_interest_from(&sut.id, "v.*", true);
    peer.wait_interest_from(&sut.id, "v-end", true);
    group_gets_each_once(&mut publ_peer, &mut on_sut, "v.x", "v-end", 100);

    // Members on both nodes, publishers on both.
    let mut both = members(&sut, 2, "b.*", "g", "b-end");
    both.extend(members(&peer, 2, "b.*", "g", "b-end"));
    peer.wait_interest_from(&sut.id, "b.*", true);
    peer.wait_interest_from(&sut.id, "b-end", true);
    until_all_reached(&mut publ_sut, &mut both, "b-end");
    group_gets_each_once(&mut publ_sut, &mut both, "b.x", "b-end", 100);
    group_gets_each_once(&mut publ_peer, &mut both, "b.y", "b-end", 100);
}

#[test]
fn a_queue_group_gets_each_message_once_when_the_server_under_test_dials() {
    queue_group_gets_each_message_once(Dial::Sut);
}

#[test]
fn a_queue_group_gets_each_message_once_when_the_peer_dials() {
    queue_group_gets_each_message_once(Dial::Peer);
}

/// A subscription removed on one node stops the other node sending: the server under test sends
/// RS- (the peer's /routez drops the interest and the peer forwards nothing more), and it honours
/// the peer's RS- (the peer's route counts no further message from it).
fn an_unsubscribe_stops_the_other_node_sending(dial: Dial) {
    let (sut, peer) = pair(dial, "");

    // Removed on the peer: the server under test must stop sending.
    let mut on_peer = peer.ready();
    on_peer.send(b"SUB gone 1\r\nSUB stay 2\r\nSUB gone.q grp 3\r\n");
    on_peer.ping_pong();
    let mut on_sut = sut.ready();
    until_delivered(&mut on_sut, &mut on_peer, "gone");
    until_delivered(&mut on_sut, &mut on_peer, "gone.q");
    on_peer.send(b"UNSUB 1\r\nUNSUB 3\r\nSUB after 4\r\n");
    on_peer.ping_pong();
    // The server under test has seen the peer's later RS+ after, so the RS- before it too.
    until_delivered(&mut on_sut, &mut on_peer, "after");
    sync(&mut on_sut, &mut on_peer, "stay");
    let (in_before, _) = peer.route_msgs(&sut.id);
    on_sut
        .send(b"PUB gone 1\r\nx\r\nPUB gone 1\r\ny\r\nPUB gone.q 1\r\nz\r\nPUB stay 4\r\nlast\r\n");
    let m = on_peer.read_msg();
    assert_eq!((m.subject.as_str(), &m.payload[..]), ("stay", &b"last"[..]));
    let (in_after, _) = peer.route_msgs(&sut.id);
    assert_eq!(
        in_after - in_before,
        1,
        "the server under test still sends subjects the peer unsubscribed"
    );

    // Removed on the server under test: its RS- reaches the peer, which stops sending.
    on_sut.send(b"SUB gone2 11\r\nSUB stay2 12\r\nSUB gone2.q grp 13\r\n");
    on_sut.ping_pong();
    peer.wait_interest_from(&sut.id, "gone2", true);
    peer.wait_interest_from(&sut.id, "gone2.q", true);
    peer.wait_interest_from(&sut.id, "stay2", true);
    on_sut.send(b"UNSUB 11\r\nUNSUB 13\r\n");
    on_sut.ping_pong();
    peer.wait_interest_from(&sut.id, "gone2", false);
    peer.wait_interest_from(&sut.id, "gone2.q", false);
    let (_, out_before) = peer.route_msgs(&sut.id);
    on_peer.send(b"PUB gone2 1\r\nx\r\nPUB gone2.q 1\r\nz\r\nPUB stay2 4\r\nlast\r\n");
    let m = next_real(&mut on_sut);
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("stay2", &b"last"[..])
    );
    let (_, out_after) = peer.route_msgs(&sut.id);
    assert_eq!(out_after - out_before, 1);
    on_sut.expect_nothing();
}

#[test]
fn an_unsubscribe_stops_the_other_node_when_the_server_under_test_dials() {
    an_unsubscribe_stops_the_other_node_sending(Dial::Sut);
}

#[test]
fn an_unsubscribe_stops_the_other_node_when_the_peer_dials() {
    an_unsubscribe_stops_the_other_node_sending(Dial::Peer);
}

// ---------------------------------------------------------------------------------------------
// 2. Accounts across the cluster.

/// The same accounts on every node: A exports the stream `news.>`, which B imports.
const ACCOUNTS: &str = r#"
accounts {
  A { users = [ { user: a, password: a } ], exports = [ { stream: "news.>" } ] }
  B { users = [ { user: b, password: b } ],
      imports = [ { stream: { account: A, subject: "news.>" } } ] }
}
"#;

/// A message published in one account on one node reaches only that account's subscriber on the
/// other node, in both directions.
#[test]
fn accounts_stay_apart_across_the_route() {
    let (sut, peer) = pair(Dial::Sut, ACCOUNTS);

    // Published on the server under test, subscribed on the peer.
    let mut a_peer = peer.login("a");
    let mut b_peer = peer.login("b");
    a_peer.send(b"SUB shared 1\r\n");
    a_peer.ping_pong();
    b_peer.send(b"SUB shared 1\r\n");
    b_peer.ping_pong();
    let mut a_sut = sut.login("a");
    let mut b_sut = sut.login("b");
    until_delivered(&mut a_sut, &mut a_peer, "shared");
    until_delivered(&mut b_sut, &mut b_peer, "shared");
    a_sut.send(b"PUB shared 6\r\nfrom-a\r\n");
    assert_eq!(next_real(&mut a_peer).payload, b"from-a");
    b_sut.send(b"PUB shared 6\r\nfrom-b\r\n");
    assert_eq!(
        next_real(&mut b_peer).payload,
        b"from-b",
        "B's subscriber got another account's message"
    );
    a_sut.send(b"PUB shared 7\r\nfrom-a2\r\n");
    assert_eq!(
        next_real(&mut a_peer).payload,
        b"from-a2",
        "A's subscriber got another account's message"
    );

    // Published on the peer, subscribed on the server under test: one interest per account.
    a_sut.send(b"SUB back 1\r\n");
    a_sut.ping_pong();
    b_sut.send(b"SUB back 2\r\n");
    b_sut.ping_pong();
    peer.wait_routez("interest in back from both accounts", |v| {
        crate::common::cluster::route_subs(v, &sut.id)
            .iter()
            .filter(|s| *s == "back")
            .count()
            == 2
    });
    a_peer.send(b"PUB back 6\r\nfrom-a\r\n");
    assert_eq!(next_real(&mut a_sut).payload, b"from-a");
    b_peer.send(b"PUB back 6\r\nfrom-b\r\n");
    assert_eq!(
        next_real(&mut b_sut).payload,
        b"from-b",
        "B's subscriber got another account's message"
    );
    a_peer.send(b"PUB back 7\r\nfrom-a2\r\n");
    assert_eq!(next_real(&mut a_sut).payload, b"from-a2");
    b_sut.expect_nothing();
}

/// A stream exported by A reaches B's subscriber on the other node (B imports it): exporter on
/// the server under test and importer on the peer, then the other way round.
#[test]
fn a_stream_export_reaches_an_importer_on_the_other_node() {
    let (sut, peer) = pair(Dial::Peer, ACCOUNTS);

    // Exporter on the server under test, importer on the peer.
    let mut importer = peer.login("b");
    importer.send(b"SUB news.today 1\r\n");
    importer.ping_pong();
    let mut exporter = sut.login("a");
    until_delivered(&mut exporter, &mut importer, "news.today");
    exporter.send(b"PUB news.today 5\r\nfresh\r\n");
    let m = next_real(&mut importer);
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("news.today", &b"fresh"[..])
    );

    // Importer on the server under test, exporter on the peer. corenats may announce the imported
    // pattern, nats-server announces the importer's own subject (in the exporting account).
    let mut importer = sut.login("b");
    importer.send(b"SUB news.local 1\r\n");
    importer.ping_pong();
    peer.wait_routez("interest in news from the importer", |v| {
        crate::common::cluster::route_subs(v, &sut.id)
            .iter()
            .any(|s| s == "news.>" || s == "news.local")
    });
    let mut exporter = peer.login("a");
    exporter.send(b"PUB news.local 4\r\nhere\r\n");
    let m = importer.read_msg();
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("news.local", &b"here"[..])
    );
    // The import is one way: B's own publications on the subject do not reach A's subscribers.
    let mut a_sub = peer.login("a");
    a_sub.send(b"SUB news.local 1\r\n");
    a_sub.ping_pong();
    let mut a_pub = sut.login("a");
    until_delivered(&mut a_pub, &mut a_sub, "news.local");
    let mut b_pub = sut.login("b");
    b_pub.send(b"PUB news.local 3\r\nbad\r\n");
    b_pub.ping_pong();
    a_pub.send(b"PUB news.local 4\r\ngood\r\n");
    assert_eq!(next_real(&mut a_sub).payload, b"good");
}

// ---------------------------------------------------------------------------------------------
// 3. Three servers under test.

/// Three servers under test, each listing the other two: every node's messages reach every other
/// node's subscribers exactly once, and a queue group spread over the mesh gets each message once.
#[test]
fn three_servers_under_test_form_a_full_mesh() {
    let ports = free_ports(3);
    let nodes: Vec<Node> = (0..3)
        .map(|i| {
            let routes: Vec<String> = (0..3)
                .filter(|&j| j != i)
                .map(|j| route_url(ports[j], ""))
                .collect();
            Node::start(&cluster_block(Some(ports[i]), &routes, ""))
        })
        .collect();
    let mut publ: Vec<Raw> = nodes.iter().map(Node::ready).collect();
    let mut subs: Vec<Raw> = nodes
        .iter()
        .map(|n| {
            let mut r = n.ready();
            r.send(b"SUB all 1\r\n");
            r.ping_pong();
            r
        })
        .collect();
    for (i, p) in publ.iter_mut().enumerate() {
        until_all_reached(p, &mut subs, "all");
        // Exactly once: a node that forwarded route messages to its other routes, or two links
        // to one peer, would deliver twice.
        publish_then_end(p, "all", "all", 30);
        for (j, s) in subs.iter_mut().enumerate() {
            assert_eq!(until_end(s), numbered(30), "node {i} to node {j}");
        }
    }

    // Members on nodes 1 and 2 only, publisher on node 0.
    let mut far = members(&nodes[1], 2, "q.*", "g", "q-end");
    far.extend(members(&nodes[2], 2, "q.*", "g", "q-end"));
    until_group_reached(&mut publ[0], &mut far, "q.probe");
    until_all_reached(&mut publ[0], &mut far, "q-end");
    group_gets_each_once(&mut publ[0], &mut far, "q.x", "q-end", 100);

    // Members on every node, a publisher on each.
    let mut all = members(&nodes[0], 2, "r.*", "g", "r-end");
    all.extend(members(&nodes[1], 2, "r.*", "g", "r-end"));
    all.extend(members(&nodes[2], 2, "r.*", "g", "r-end"));
    for (i, p) in publ.iter_mut().enumerate() {
        until_all_reached(p, &mut all, "r-end");
        group_gets_each_once(p, &mut all, &format!("r.{i}"), "r-end", 60);
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Gossip.

/// The server under test is the seed; two nats-server peers each list only the seed. The seed
/// tells each about the other (it forwards a newcomer's INFO), so they connect to each other, and
/// a message from one reaches the other's subscriber once (directly, never relayed by the seed).
/// With `auth`, every node has the same cluster authorization and the implicit route uses it.
fn gossip(auth: bool) {
    let (extra, creds) = if auth {
        ("authorization { user: ru, password: rp }", "ru:rp")
    } else {
        ("", "")
    };
    let seed = Node::start_with(&[], extra, "");
    let p1 = Node::peer_with(&[seed.route_url(creds)], extra, "");
    let p2 = Node::peer_with(&[seed.route_url(creds)], extra, "");
    let want: BTreeSet<String> = [seed.id.clone(), p2.id.clone()].into();
    // A pooled nats-server has several connections per peer: count distinct peers.
    p1.wait_routez("routes to the seed and to P2", |v| remote_ids(v) == want);
    p2.wait_route_to(&p1.id);
    p2.wait_route_to(&seed.id);

    let mut on_p2 = p2.ready();
    on_p2.send(b"SUB gossip 1\r\n");
    on_p2.ping_pong();
    let mut on_seed = seed.ready();
    on_seed.send(b"SUB gossip 1\r\n");
    on_seed.ping_pong();
    p1.wait_interest_from(&p2.id, "gossip", true);
    p1.wait_interest_from(&seed.id, "gossip", true);
    let mut on_p1 = p1.ready();
    each_sub_gets_all(&mut on_p1, &mut [on_p2, on_seed], "gossip", "gossip", 30);
}

#[test]
fn the_seed_gossips_its_peers_to_each_other() {
    gossip(false);
}

#[test]
fn the_seed_gossips_its_peers_to_each_other_with_cluster_authorization() {
    gossip(true);
}

// ---------------------------------------------------------------------------------------------
// 5. A peer restarts.

/// The nats-server peer is killed and started again on the same ports (a new server id): the
/// route comes back, the server under test sends its interest again and learns the new peer's,
/// the dead peer's interest is gone, and nothing arrives twice.
fn interest_is_rebuilt_after_the_peer_restarts(dial: Dial) {
    let (sut, mut peer) = pair(dial, "");
    let mut on_sut = sut.ready();
    on_sut.send(b"SUB from.peer 1\r\n");
    on_sut.ping_pong();
    peer.wait_interest_from(&sut.id, "from.peer", true);
    {
        let mut old = peer.ready();
        old.send(b"SUB old.interest 1\r\n");
        old.ping_pong();
        until_delivered(&mut on_sut, &mut old, "old.interest");
    }
    let old_id = peer.id.clone();
    peer.restart();
    assert_ne!(peer.id, old_id);
    peer.wait_route_to(&sut.id);
    peer.wait_interest_from(&sut.id, "from.peer", true);

    // From the server under test to a subscriber on the restarted peer.
    let mut on_peer = peer.ready();
    on_peer.send(b"SUB to.peer 1\r\n");
    on_peer.ping_pong();
    until_delivered(&mut on_sut, &mut on_peer, "to.peer");
    sync(&mut on_sut, &mut on_peer, "to.peer");
    let (in_before, _) = peer.route_msgs(&sut.id);
    // Nobody on the new peer wants old.interest: the server under test must not send it.
    on_sut.send(b"PUB old.interest 5\r\nstale\r\n");
    publish_then_end(&mut on_sut, "to.peer", "to.peer", 30);
    assert_eq!(until_end(&mut on_peer), numbered(30));
    let (in_after, _) = peer.route_msgs(&sut.id);
    assert_eq!(
        in_after - in_before,
        31,
        "the server under test sent messages nobody on the peer wants"
    );

    // From the restarted peer to the server under test.
    let mut publ = peer.ready();
    publish_then_end(&mut publ, "from.peer", "from.peer", 30);
    assert_eq!(until_end(&mut on_sut), numbered(30));
    on_sut.expect_nothing();
}

#[test]
fn interest_is_rebuilt_after_the_peer_restarts_when_the_server_under_test_dials() {
    interest_is_rebuilt_after_the_peer_restarts(Dial::Sut);
}

#[test]
fn interest_is_rebuilt_after_the_peer_restarts_when_the_peer_dials() {
    interest_is_rebuilt_after_the_peer_restarts(Dial::Peer);
}

// ---------------------------------------------------------------------------------------------
// 6. A route to oneself.

/// The server under test lists its own cluster URL in `routes` (as the nats.py test harness does)
/// next to a peer's: the peer route works, local messages are not echoed back through a self-link,
/// and the server never keeps (or keeps retrying) a connection to its own cluster port.
#[test]
fn a_route_to_itself_is_skipped() {
    let peer = Node::peer_with(&[], "", "");
    let own = free_ports(1)[0];
    // Sockets on the port left over from its previous owner (time-wait) are not ours.
    let stale: BTreeSet<(String, u16, u16)> = sockets_on_port(own).into_iter().collect();
    let sut = Node::start(&cluster_block(
        Some(own),
        &[route_url(own, ""), peer.route_url("")],
        "",
    ));
    assert_eq!(sut.cluster_port, own);
    peer.wait_route_to(&sut.id);

    // Local delivery exactly once.
    let mut local = sut.ready();
    local.send(b"SUB here 1\r\n");
    local.ping_pong();
    let mut publ = sut.ready();
    each_sub_gets_all(
        &mut publ,
        std::slice::from_mut(&mut local),
        "here",
        "here",
        20,
    );
    // Both ways over the peer route, exactly once.
    let mut on_peer = peer.ready();
    on_peer.send(b"SUB there 1\r\n");
    on_peer.ping_pong();
    until_delivered(&mut publ, &mut on_peer, "there");
    each_sub_gets_all(
        &mut publ,
        std::slice::from_mut(&mut on_peer),
        "there",
        "there",
        20,
    );
    local.send(b"SUB back 2\r\n");
    local.ping_pong();
    peer.wait_interest_from(&sut.id, "back", true);
    each_sub_gets_all(
        &mut on_peer,
        std::slice::from_mut(&mut local),
        "back",
        "back",
        20,
    );
    assert_eq!(remote_ids(&peer.routez()), [sut.id.clone()].into());

    // No connection to its own cluster port lasts, and none is retried (routes retry every
    // second): whatever dials happened at the start (nats-server dials itself once per pooled
    // connection, sees its own server id in the INFO, logs `Detected route to self, ignoring` at
    // debug level and never dials it again) are all there is, watched for over two retry periods.
    let attempts = || -> BTreeSet<u16> {
        sockets_on_port(own)
            .into_iter()
            .filter(|s| !stale.contains(s))
            .map(|(_, l, r)| if l == own { r } else { l })
            .collect()
    };
    let first = attempts();
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_millis(2300) {
        let established: Vec<_> = sockets_on_port(own)
            .into_iter()
            .filter(|s| s.0 == "01")
            .collect();
        assert!(
            established.is_empty(),
            "a connection to its own cluster port {own}: {established:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let later = attempts();
    assert!(
        later.is_subset(&first),
        "dialed its own cluster port {own} again: first {first:?}, later {later:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Cluster authorization and the route port.

/// The server under test with `cluster { authorization }`: a peer with the right user and password
/// is admitted; one with a wrong password, or none, is refused with `-ERR 'Authorization
/// Violation'` (which the nats-server peer logs as a route error) and never registers.
#[test]
fn cluster_authorization_admits_the_right_password_only() {
    let sut = Node::start_with(&[], "authorization { user: ru, password: rp }", "");
    let good = Node::peer_with(&[sut.route_url("ru:rp")], "", "");
    good.wait_route_to(&sut.id);
    let bad = Node::peer_with(&[sut.route_url("ru:wrong")], "", "");
    let none = Node::peer_with(&[sut.route_url("")], "", "");
    for p in [&bad, &none] {
        // Refused, and refused again when it retries (a second later).
        let deadline = Instant::now() + TIMEOUT;
        while p
            .server
            .log()
            .matches("Route Error 'Authorization Violation'")
            .count()
            < 2
        {
            assert!(
                Instant::now() < deadline,
                "not refused twice:\n{}",
                p.server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The dialer registers a route on the INFO, before the refusal: only a lasting one counts.
        p.wait_routez("no route", |v| remote_ids(v).is_empty());
    }
    // The admitted route carries messages, and the admitted peer was never told of the refused
    // ones (a refused route must not be gossiped).
    let mut on_good = good.ready();
    on_good.send(b"SUB ok 1\r\n");
    on_good.ping_pong();
    let mut on_sut = sut.ready();
    until_delivered(&mut on_sut, &mut on_good, "ok");
    let want: BTreeSet<String> = [sut.id.clone()].into();
    assert_eq!(remote_ids(&good.routez()), want);
    let log = good.server.log();
    assert!(
        !log.contains(&bad.id) && !log.contains(&none.id),
        "the admitted peer heard of a refused one:\n{log}"
    );
}

/// The server under test dials a peer that wants cluster credentials: those in the route URL are
/// sent and admitted; wrong ones are refused (the peer logs the failed login, the server under
/// test the violation).
#[test]
fn the_server_under_test_sends_the_credentials_in_the_route_url() {
    let peer = Node::peer_with(&[], "authorization { user: ru, password: rp }", "");
    let good = Node::start_with(&[peer.route_url("ru:rp")], "", "");
    peer.wait_route_to(&good.id);
    let bad = Node::start_with(&[peer.route_url("ru:wrong")], "", "");
    assert!(
        peer.server.wait_for_log("authentication error", TIMEOUT),
        "{}",
        peer.server.log()
    );
    assert!(
        bad.server.wait_for_log("Authorization Violation", TIMEOUT),
        "{}",
        bad.server.log()
    );
    let v = peer.routez();
    assert!(!remote_ids(&v).contains(&bad.id), "{v}");
    let mut on_peer = peer.ready();
    on_peer.send(b"SUB ok 1\r\n");
    on_peer.ping_pong();
    let mut on_good = good.ready();
    until_delivered(&mut on_good, &mut on_peer, "ok");
}

/// A connection to a route port and the INFO it sends at once (nats-server ends it with ` \r\n`
/// like a client INFO; any framing will do here).
fn route_conn(port: u16) -> (Raw, Value) {
    let mut r = Raw::connect_no_info(port);
    let line = r.expect_line();
    let json = line
        .strip_prefix("INFO ")
        .unwrap_or_else(|| panic!("expected a route INFO, got {line:?}"));
    let info = serde_json::from_str(json.trim_end())
        .unwrap_or_else(|e| panic!("route INFO is not JSON ({e}): {line}"));
    (r, info)
}

/// The route port is not a client port: a client CONNECT (with `lang`) is told so and closed, as
/// are garbage, a client PING before any CONNECT, a route CONNECT for another cluster, and a
/// connection that says nothing (after the authentication timeout).
#[test]
fn the_route_port_closes_clients_and_garbage() {
    for auth in [true, false] {
        let (extra, creds) = if auth {
            (
                "authorization { user: ru, password: rp }",
                r#","user":"ru","pass":"rp""#,
            )
        } else {
            ("", "")
        };
        let sut = Node::start_with(&[], extra, "");
        let port = sut.cluster_port;

        let (_, info) = route_conn(port);
        assert_eq!(info["server_id"].as_str(), Some(sut.id.as_str()), "{info}");
        assert_eq!(info["cluster"].as_str(), Some("T"), "{info}");
        assert_eq!(
            info["auth_required"].as_bool().unwrap_or(false),
            auth,
            "{info}"
        );

        let (mut c, _) = route_conn(port);
        c.send(
            format!(r#"CONNECT {{"lang":"go","version":"1.41.0","verbose":false,"pedantic":false,"protocol":1{creds}}}"#)
                .as_bytes(),
        );
        c.send(b"\r\nPING\r\n");
        c.expect_err_closed("attempted to connect to route port");

        for junk in [&b"GARBAGE here\r\n"[..], b"PING\r\n", b"SUB foo 1\r\n"] {
            let (mut c, _) = route_conn(port);
            c.send(junk);
            c.expect_closed_maybe_err("Authorization Violation");
        }

        let (mut c, _) = route_conn(port);
        c.send(
            format!(r#"CONNECT {{"verbose":false,"pedantic":false,"name":"NOTHER","cluster":"other","headers":true{creds}}}"#)
                .as_bytes(),
        );
        c.send(b"\r\nPING\r\n");
        let lines = c.lines_until_closed();
        assert!(
            lines.iter().all(|l| l.starts_with("-ERR ")),
            "a route CONNECT for another cluster got {lines:?}"
        );

        if auth {
            let (mut c, _) = route_conn(port);
            c.expect_closed_maybe_err("Authentication Timeout");
        }
        // The server is still fine for its clients.
        let mut c = sut.ready();
        c.send(b"SUB x 1\r\nPUB x 2\r\nok\r\n");
        assert_eq!(c.read_msg().payload, b"ok");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. What clients learn.

/// Reads lines until an INFO whose `connect_urls` equals `want` (other INFOs are skipped, server
/// PINGs answered, anything else fails); returns it.
fn wait_info_urls(c: &mut Raw, want: &[String]) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    let mut seen = Vec::new();
    // Answer PINGs here: a PING alone must not make the line reader wait out its own timeout.
    c.auto_pong = false;
    loop {
        assert!(
            Instant::now() < deadline,
            "no INFO with connect_urls {want:?}; saw INFOs with {seen:?}"
        );
        let Some(line) = c.try_line(Duration::from_millis(50)) else {
            continue;
        };
        if line == "PING" {
            c.send(b"PONG\r\n");
            continue;
        }
        let json = line
            .strip_prefix("INFO ")
            .unwrap_or_else(|| panic!("expected an INFO, got {line:?}"));
        let v: Value = serde_json::from_str(json.trim_end())
            .unwrap_or_else(|e| panic!("INFO is not JSON ({e}): {line}"));
        if urls(&v) == want {
            c.auto_pong = true;
            return v;
        }
        seen.push(v.get("connect_urls").cloned().unwrap_or(Value::Null));
    }
}

/// An INFO's `connect_urls` (empty when absent).
fn urls(v: &Value) -> Vec<String> {
    v["connect_urls"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A client that sent `protocol:1` and got its first PONG receives an async INFO whose
/// `connect_urls` lists the server's own client URL first, then the peer's, once the route is up;
/// a new client gets the same list in its first INFO; when the peer goes, a further INFO lists only
/// the server itself. A `protocol:0` client gets no async INFO, and none arrives before a client's
/// first PONG (nats.go's connect would fail on it).
#[test]
fn clients_learn_the_cluster_from_async_info() {
    let sut = Node::start_with(&[], "", "");
    let own = sut.client_hostport();
    let aware = r#"{"verbose":false,"pedantic":false,"protocol":1}"#;
    let mut c1 = Raw::connect(sut.port());
    assert!(
        urls(&c1.info).iter().all(|u| *u == own),
        "a lone server lists others: {}",
        c1.info
    );
    c1.send(format!("CONNECT {aware}\r\nPING\r\n").as_bytes());
    c1.expect(b"PONG\r\n");
    let mut c0 = Raw::ready_with(
        sut.port(),
        r#"{"verbose":false,"pedantic":false,"protocol":0}"#,
    );
    let mut early = Raw::connect(sut.port());
    early.send(format!("CONNECT {aware}\r\n").as_bytes());

    let mut peer = Node::peer_with(&[sut.route_url("")], "", "");
    peer.wait_route_to(&sut.id);
    let both = vec![own.clone(), peer.client_hostport()];
    let info = wait_info_urls(&mut c1, &both);
    assert_eq!(info["server_id"].as_str(), Some(sut.id.as_str()), "{info}");
    // A new client's first INFO lists both (a sharded server may take a moment to agree).
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let fresh = Raw::connect(sut.port());
        if urls(&fresh.info) == both {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a new client's INFO: {}",
            fresh.info
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The client without a PONG yet: the next bytes are the PONG.
    early.send(b"PING\r\n");
    early.expect(b"PONG\r\n");
    // The protocol-0 client: nothing at all.
    c0.expect_nothing();

    peer.server.stop();
    let only = vec![own.clone()];
    wait_info_urls(&mut c1, &only);
    wait_info_urls(&mut early, &only);
    c0.expect_nothing();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let fresh = Raw::connect(sut.port());
        if urls(&fresh.info).iter().all(|u| *u == own) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a new client's INFO: {}",
            fresh.info
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
