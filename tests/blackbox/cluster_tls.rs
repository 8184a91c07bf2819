//! TLS on routes (`cluster { tls {} }`), as nats-server does it: both ends start TLS on connect,
//! before any INFO; the accepting end requires the peer's certificate and checks it against
//! `ca_file`, the dialling end checks the peer's for the URL's host (or, for an IP address, the
//! first host name of the configured route URLs) and presents its own. Covered: the server under
//! test with a nats-server peer (each side dialling, and both), two and three servers under test (a
//! gossiped route dialled by IP address), the route port on the wire, the refusals — a peer
//! without a certificate, one from another CA, a plain-text peer — after which nothing crosses, and
//! the certificate as the route's login (`verify_and_map`, `verify_cert_and_check_known_urls`).
//! Every test passes with nats-server as every node (`CORENATS_TEST_SERVER=nats-server`).
//!
//! Node certificates are made per test (`Ca::node`: server and client authentication, for
//! `localhost` and 127.0.0.1 unless a test says otherwise).

use crate::common::cluster::{cluster_block, free_ports, remote_ids, route_tls, route_url, Node};
use crate::common::pki::{client_config, Ca, Pki};
use crate::common::raw::{until_delivered, Raw};
use crate::common::server::TIMEOUT;
use std::time::{Duration, Instant};

/// What a server logs for a failed route handshake (nats-server: `TLS route handshake error: ...`;
/// corenats the same words).
const HANDSHAKE_ERROR: &str = "TLS route handshake error";

/// Who dials the route between the server under test and its nats-server peer.
#[derive(Debug, Clone, Copy)]
enum Dial {
    Sut,
    Peer,
    Both,
}

/// The server under test with `sut_tls` and a nats-server peer with `peer_tls` in their cluster
/// blocks, the route dialled as `dial` says. Does not wait for the route.
fn pair(dial: Dial, sut_tls: &str, peer_tls: &str) -> (Node, Node) {
    match dial {
        Dial::Sut => {
            let peer = Node::peer_with(&[], peer_tls, "");
            let sut = Node::start_with(&[peer.route_url("")], sut_tls, "");
            (sut, peer)
        }
        Dial::Peer => {
            let sut = Node::start_with(&[], sut_tls, "");
            let peer = Node::peer_with(&[sut.route_url("")], peer_tls, "");
            (sut, peer)
        }
        Dial::Both => {
            let p = free_ports(2);
            let sut = Node::start(&cluster_block(Some(p[0]), &[route_url(p[1], "")], sut_tls));
            let peer = Node::peer(&cluster_block(Some(p[1]), &[route_url(p[0], "")], peer_tls));
            (sut, peer)
        }
    }
}

/// The next message on `r` that is not a probe.
fn next_real(r: &mut Raw) -> Vec<u8> {
    loop {
        let m = r.read_msg();
        if m.payload != b"probe" {
            return m.payload;
        }
    }
}

/// Messages cross the route from `a`'s clients to `b`'s and back: a probe to learn the interest
/// has crossed, then 100 small messages in order and one of 300 000 bytes (many TLS records).
fn cross_both_ways(a: &Node, b: &Node) {
    for (from, to) in [(a, b), (b, a)] {
        let mut sub = to.ready();
        sub.send(b"SUB over.tls 1\r\n");
        sub.ping_pong();
        let mut publ = from.ready();
        until_delivered(&mut publ, &mut sub, "over.tls");
        let mut burst = Vec::new();
        for i in 0..100 {
            let body = format!("m{i}");
            burst
                .extend_from_slice(format!("PUB over.tls {}\r\n{body}\r\n", body.len()).as_bytes());
        }
        let big: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        burst.extend_from_slice(format!("PUB over.tls {}\r\n", big.len()).as_bytes());
        burst.extend_from_slice(&big);
        burst.extend_from_slice(b"\r\n");
        publ.send(&burst);
        publ.ping_pong();
        for i in 0..100 {
            assert_eq!(next_real(&mut sub), format!("m{i}").into_bytes());
        }
        assert!(
            next_real(&mut sub) == big,
            "the big message arrived changed"
        );
    }
}

/// Waits until `node` has logged `text` at least `n` times.
fn wait_logged(node: &Node, text: &str, n: usize) {
    let deadline = Instant::now() + TIMEOUT;
    while node.server.log().matches(text).count() < n {
        assert!(
            Instant::now() < deadline,
            "{text:?} not logged {n} times:\n{}",
            node.server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Nothing published on either node reaches the other (there is no route between them).
fn nothing_crosses(a: &Node, b: &Node) {
    for (from, to) in [(a, b), (b, a)] {
        let mut sub = to.ready();
        sub.send(b"SUB secret 1\r\n");
        sub.ping_pong();
        let mut publ = from.ready();
        for _ in 0..5 {
            publ.send(b"PUB secret 4\r\nleak\r\n");
        }
        publ.ping_pong();
        assert!(
            sub.try_read_msg(Duration::from_millis(300)).is_none(),
            "a message crossed a refused route"
        );
        sub.expect_nothing();
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The server under test and a nats-server peer.

fn tls_route_with_nats_server(dial: Dial) {
    let pki = Pki::new();
    let names = ["localhost", "127.0.0.1"];
    let sut_cert = pki.ca.node(&pki.dir, "sut", &names);
    let peer_cert = pki.ca.node(&pki.dir, "peer", &names);
    let (sut, peer) = pair(
        dial,
        &route_tls(&sut_cert, &pki.ca, "timeout: 2"),
        &route_tls(&peer_cert, &pki.ca, "timeout: 2"),
    );
    peer.wait_route_to(&sut.id);
    cross_both_ways(&sut, &peer);
    // The peer's /varz says its routes are TLS, as the route INFO of either says.
    let varz = crate::common::monitor::get(peer.http.unwrap(), "/varz");
    let v: serde_json::Value = serde_json::from_str(&varz.body).unwrap();
    assert_eq!(v["cluster"]["tls_required"], true, "{}", v["cluster"]);
    assert!(
        !sut.server.log().contains(HANDSHAKE_ERROR),
        "{}",
        sut.server.log()
    );
}

#[test]
fn a_tls_route_to_nats_server_carries_messages_when_the_server_under_test_dials() {
    tls_route_with_nats_server(Dial::Sut);
}

#[test]
fn a_tls_route_to_nats_server_carries_messages_when_the_peer_dials() {
    tls_route_with_nats_server(Dial::Peer);
}

#[test]
fn a_tls_route_to_nats_server_carries_messages_when_both_dial() {
    tls_route_with_nats_server(Dial::Both);
}

// ---------------------------------------------------------------------------------------------
// 2. Servers under test among themselves.

#[test]
fn two_servers_under_test_route_over_tls() {
    let pki = Pki::new();
    let names = ["localhost", "127.0.0.1"];
    let a_cert = pki.ca.node(&pki.dir, "a", &names);
    let b_cert = pki.ca.node(&pki.dir, "b", &names);
    let a = Node::start_with(&[], &route_tls(&a_cert, &pki.ca, ""), "");
    let b = Node::start_with(&[a.route_url("")], &route_tls(&b_cert, &pki.ca, ""), "");
    cross_both_ways(&a, &b);
    for n in [&a, &b] {
        assert!(
            !n.server.log().contains(HANDSHAKE_ERROR),
            "{}",
            n.server.log()
        );
    }
}

/// Certificates that name `localhost` only (no IP address). `b` and `c` dial the seed `a` as
/// `nats-route://localhost:<port>`; `a` gossips each to the other by IP address, and the one that
/// dials checks the other's certificate for `localhost`, the host name of its configured route
/// (nats-server's `routeTLSName`). No route transits: a message from `b`'s client reaching `c`'s
/// proves the gossiped TLS route.
#[test]
fn a_gossiped_route_is_dialled_by_address_and_checked_for_the_configured_host_name() {
    let pki = Pki::new();
    let cert = |n: &str| pki.ca.node(&pki.dir, n, &["localhost"]);
    let (a_cert, b_cert, c_cert) = (cert("a"), cert("b"), cert("c"));
    let a = Node::start_with(&[], &route_tls(&a_cert, &pki.ca, ""), "");
    let seed = format!("nats-route://localhost:{}", a.cluster_port);
    let b = Node::start_with(
        std::slice::from_ref(&seed),
        &route_tls(&b_cert, &pki.ca, ""),
        "",
    );
    let c = Node::start_with(&[seed], &route_tls(&c_cert, &pki.ca, ""), "");
    let mut on_c = c.ready();
    on_c.send(b"SUB mesh 1\r\n");
    on_c.ping_pong();
    let mut on_b = b.ready();
    until_delivered(&mut on_b, &mut on_c, "mesh");
    let mut on_b = b.ready();
    on_b.send(b"SUB mesh.back 1\r\n");
    on_b.ping_pong();
    let mut on_c = c.ready();
    until_delivered(&mut on_c, &mut on_b, "mesh.back");
}

// ---------------------------------------------------------------------------------------------
// 3. The route port on the wire.

/// The route port starts with TLS: a client with a node certificate of the CA completes the
/// handshake and then reads the route INFO, which says `tls_required` and `tls_verify`. Without a
/// certificate the handshake is refused; a plain-text CONNECT gets no INFO and is closed.
#[test]
fn the_route_port_speaks_tls_first_and_its_info_says_so() {
    let pki = Pki::new();
    let names = ["localhost", "127.0.0.1"];
    let sut_cert = pki.ca.node(&pki.dir, "sut", &names);
    let mine = pki.ca.node(&pki.dir, "probe", &names);
    let sut = Node::start_with(&[], &route_tls(&sut_cert, &pki.ca, ""), "");

    let mut r = Raw::connect_no_info(sut.cluster_port);
    r.upgrade(client_config(&pki.ca.der, Some(&mine)))
        .expect("TLS handshake on the route port");
    let line = r.expect_line();
    let json = line
        .strip_prefix("INFO ")
        .unwrap_or_else(|| panic!("expected a route INFO, got {line:?}"));
    let info: serde_json::Value = serde_json::from_str(json.trim_end()).unwrap();
    assert_eq!(info["tls_required"], true, "{info}");
    assert_eq!(info["tls_verify"], true, "{info}");
    assert_eq!(info["server_id"].as_str(), Some(sut.id.as_str()), "{info}");

    // No client certificate: refused (TLS 1.3: the client learns it at its first read).
    let mut r = Raw::connect_no_info(sut.cluster_port);
    let refused = r.upgrade(pki.client()).is_err() || {
        r.try_send(b"PING\r\n").ok();
        r.closed_within(TIMEOUT)
    };
    assert!(refused, "a route connection without a certificate got in");

    // Plain text: nothing comes back in clear text, the connection is closed.
    let mut r = Raw::connect_no_info(sut.cluster_port);
    r.send(br#"CONNECT {"verbose":false,"pedantic":false,"name":"NPLAIN","cluster":"T"}"#);
    r.send(b"\r\nINFO {}\r\n");
    let lines = r.lines_until_closed();
    assert!(
        !lines.iter().any(|l| l.contains("INFO")),
        "a plain-text connection was answered in clear text: {lines:?}"
    );
    wait_logged(&sut, HANDSHAKE_ERROR, 2);
}

// ---------------------------------------------------------------------------------------------
// 4. Refusals: nothing crosses.

/// A nats-server peer whose certificate another CA issued (it trusts ours): it dials the server
/// under test and is dialled by it; both handshakes fail, again at each retry, no route registers
/// and nothing crosses.
#[test]
fn a_peer_with_a_certificate_from_another_ca_is_refused() {
    let pki = Pki::new();
    let names = ["localhost", "127.0.0.1"];
    let sut_cert = pki.ca.node(&pki.dir, "sut", &names);
    let other = Ca::new(&pki.dir, "other");
    let stranger = other.node(&pki.dir, "stranger", &names);
    let (sut, peer) = pair(
        Dial::Both,
        &route_tls(&sut_cert, &pki.ca, ""),
        &route_tls(&stranger, &pki.ca, ""),
    );
    // Its dials (refused by the server under test) and the server under test's (which refuses
    // its certificate), each retried.
    wait_logged(&sut, HANDSHAKE_ERROR, 4);
    assert!(remote_ids(&peer.routez()).is_empty(), "{}", peer.routez());
    nothing_crosses(&sut, &peer);
    assert!(remote_ids(&peer.routez()).is_empty(), "{}", peer.routez());
}

/// A nats-server peer with a cluster `tls` block but no certificate dials the server under test:
/// refused at each attempt, nothing crosses.
#[test]
fn a_peer_without_a_certificate_is_refused() {
    let pki = Pki::new();
    let names = ["localhost", "127.0.0.1"];
    let sut_cert = pki.ca.node(&pki.dir, "sut", &names);
    let bare = format!("tls {{\n    ca_file: {:?}\n  }}", pki.ca.pem_file);
    let (sut, peer) = pair(Dial::Peer, &route_tls(&sut_cert, &pki.ca, ""), &bare);
    wait_logged(&sut, HANDSHAKE_ERROR, 2);
    assert!(remote_ids(&peer.routez()).is_empty(), "{}", peer.routez());
    nothing_crosses(&sut, &peer);
    assert!(remote_ids(&peer.routez()).is_empty(), "{}", peer.routez());
}

/// A nats-server peer without cluster TLS, each dialling the other: its plain-text CONNECT is not
/// a TLS handshake, and the server under test's handshake finds a plain-text INFO; both are
/// refused at every retry, nothing crosses.
#[test]
fn a_plain_text_peer_and_a_tls_route_port_refuse_each_other() {
    let pki = Pki::new();
    let names = ["localhost", "127.0.0.1"];
    let sut_cert = pki.ca.node(&pki.dir, "sut", &names);
    let (sut, peer) = pair(Dial::Both, &route_tls(&sut_cert, &pki.ca, ""), "");
    wait_logged(&sut, HANDSHAKE_ERROR, 4);
    assert!(remote_ids(&peer.routez()).is_empty(), "{}", peer.routez());
    nothing_crosses(&sut, &peer);
    assert!(remote_ids(&peer.routez()).is_empty(), "{}", peer.routez());
}

// ---------------------------------------------------------------------------------------------
// 5. The certificate as the route's login.

/// `verify_and_map`: a peer is admitted when its certificate names the cluster `authorization`
/// user (here its subject, `CN=good`), whatever its CONNECT says; another CA-signed peer is refused
/// with `Authorization Violation`.
#[test]
fn verify_and_map_admits_the_peer_whose_certificate_names_the_cluster_user() {
    let pki = Pki::new();
    let names = ["localhost", "127.0.0.1"];
    let sut_cert = pki.ca.node(&pki.dir, "sut", &names);
    let good_cert = pki.ca.node(&pki.dir, "good", &names);
    let bad_cert = pki.ca.node(&pki.dir, "bad", &names);
    let sut = Node::start_with(
        &[],
        &format!(
            "{}\n  authorization {{ user: \"CN=good\" }}",
            route_tls(&sut_cert, &pki.ca, "verify_and_map: true")
        ),
        "",
    );
    let good = Node::peer_with(
        &[sut.route_url("")],
        &route_tls(&good_cert, &pki.ca, ""),
        "",
    );
    good.wait_route_to(&sut.id);
    cross_both_ways(&sut, &good);
    let bad = Node::peer_with(&[sut.route_url("")], &route_tls(&bad_cert, &pki.ca, ""), "");
    wait_logged(&bad, "Route Error 'Authorization Violation'", 2);
    bad.wait_routez("no route", |v| remote_ids(v).is_empty());
    nothing_crosses(&sut, &bad);
}

/// `verify_cert_and_check_known_urls`: a peer is admitted when a DNS name of its certificate is the
/// host of one of the configured route URLs (`localhost` here, a URL nobody answers on); a peer
/// whose certificate names only an IP address is refused.
#[test]
fn check_known_urls_admits_a_peer_named_in_a_configured_route_url() {
    let pki = Pki::new();
    let sut_cert = pki.ca.node(&pki.dir, "sut", &["localhost", "127.0.0.1"]);
    let named = pki.ca.node(&pki.dir, "named", &["localhost"]);
    let unnamed = pki.ca.node(&pki.dir, "unnamed", &["127.0.0.1"]);
    let nobody = free_ports(1)[0];
    let sut = Node::start_with(
        &[format!("nats-route://localhost:{nobody}")],
        &route_tls(&sut_cert, &pki.ca, "verify_cert_and_check_known_urls: true"),
        "",
    );
    let ok = Node::peer_with(&[sut.route_url("")], &route_tls(&named, &pki.ca, ""), "");
    ok.wait_route_to(&sut.id);
    cross_both_ways(&sut, &ok);
    let refused = Node::peer_with(&[sut.route_url("")], &route_tls(&unnamed, &pki.ca, ""), "");
    wait_logged(&refused, "Route Error 'Authorization Violation'", 2);
    refused.wait_routez("no route", |v| remote_ids(v).is_empty());
    nothing_crosses(&sut, &refused);
}
