//! A real client's server pool fails over inside a cluster: async-nats connects to the server under
//! test only, learns the other node from the INFO `connect_urls`, and when the server under test
//! goes away it reconnects to the node it learned, resubscribes, and keeps receiving. Once with a
//! nats-server peer and once with two servers under test. Passes against nats-server too.

use crate::common::client::{next, within};
use crate::common::cluster::Node;
use crate::common::raw::Raw;
use crate::common::server::TIMEOUT;
use std::time::{Duration, Instant};

/// Waits until a fresh client of `n` is told `want` as the cluster's client URLs.
fn wait_pool(n: &Node, want: &[String]) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let r = Raw::connect(n.port());
        let mut urls: Vec<String> = r.info["connect_urls"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        urls.sort();
        let mut w = want.to_vec();
        w.sort();
        if urls == w {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never listed {want:?}: {}",
            n.client_hostport(),
            r.info
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn fails_over(sut: Node, other: Node) {
    wait_pool(&sut, &[sut.client_hostport(), other.client_hostport()]);
    let client = within(
        "connect",
        async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(format!("nats://{}", sut.client_hostport())),
    )
    .await
    .unwrap();
    let mut sub = within("subscribe", client.subscribe("fo.x")).await.unwrap();
    within("flush", client.flush()).await.unwrap();
    // The other node's publisher reaches the client through the route.
    let mut publ = Raw::ready(other.port());
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publ.send(b"PUB fo.x 6\r\nbefore\r\n");
        publ.ping_pong();
        if tokio::time::timeout(Duration::from_millis(50), sub.next_msg())
            .await
            .is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "nothing crossed the route");
    }
    // The server under test goes; the client moves to the node it learned and resubscribes.
    drop(sut);
    let deadline = Instant::now() + TIMEOUT * 3;
    loop {
        publ.send(b"PUB fo.x 5\r\nafter\r\n");
        publ.ping_pong();
        match tokio::time::timeout(Duration::from_millis(100), sub.next_msg()).await {
            Ok(Some(m)) if m.payload.as_ref() == b"after" => break,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "the client never came back through {}",
            other.client_hostport()
        );
    }
    // And it publishes through the node it moved to.
    let mut s2 = within("subscribe", client.subscribe("fo.back"))
        .await
        .unwrap();
    within("flush", client.flush()).await.unwrap();
    within("publish", client.publish("fo.back", "ok".into()))
        .await
        .unwrap();
    assert_eq!(next(&mut s2).await.payload.as_ref(), b"ok");
}

/// `next_msg` for an async-nats subscriber (None when it ended).
trait NextMsg {
    async fn next_msg(&mut self) -> Option<async_nats::Message>;
}

impl NextMsg for async_nats::Subscriber {
    async fn next_msg(&mut self) -> Option<async_nats::Message> {
        futures::StreamExt::next(self).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_fails_over_to_a_nats_server_peer_it_learned() {
    let sut = Node::start_with(&[], "", "");
    let peer = Node::peer_with(&[sut.route_url("")], "", "");
    fails_over(sut, peer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_fails_over_between_servers_under_test() {
    let a = Node::start_with(&[], "", "");
    let b = Node::start_with(&[a.route_url("")], "", "");
    fails_over(a, b).await;
}

/// In lame duck mode a server's clients are told only the other servers' URLs (and `ldm`), so
/// their pools move away from it.
#[test]
fn lame_duck_tells_clients_only_the_other_servers() {
    let sut = Node::start_with(
        &[],
        "",
        "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n",
    );
    let peer = Node::peer_with(&[sut.route_url("")], "", "");
    wait_pool(&sut, &[sut.client_hostport(), peer.client_hostport()]);
    let mut c = Raw::ready_with(
        sut.port(),
        r#"{"verbose":false,"pedantic":false,"protocol":1}"#,
    );
    // Its connect_info INFO after the first PONG.
    let _ = c.expect_info();
    sut.server.signal("USR2");
    let info = c.expect_info();
    assert_eq!(info["ldm"], true, "{info}");
    assert_eq!(
        info["connect_urls"],
        serde_json::json!([peer.client_hostport()]),
        "{info}"
    );
}
