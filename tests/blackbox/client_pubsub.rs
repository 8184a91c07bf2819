//! Real client (async-nats): publish/subscribe, wildcards, queue groups, request/reply, headers,
//! no-responders, auto-unsubscribe and drain.
use crate::common::client::*;
use crate::common::*;

use async_nats::header::HeaderMap;
use async_nats::RequestErrorKind;
use bytes::Bytes;
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_info_seen_by_client() {
    let s = Server::plain();
    let c = connect(&s).await;
    let info = c.server_info();
    assert_eq!(info.max_payload, 1024 * 1024);
    assert!(info.headers);
    assert_eq!(info.proto, 1);
    assert_eq!(info.port, s.port());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_subscribe_in_order() {
    let s = Server::plain();
    let sub_client = connect(&s).await;
    let mut sub = sub_client.subscribe("updates.service.a").await.unwrap();
    round_trip(&sub_client).await;
    let pub_client = connect(&s).await;
    for i in 0..100 {
        pub_client
            .publish("updates.service.a", format!("m{i}").into())
            .await
            .unwrap();
    }
    round_trip(&pub_client).await;
    for i in 0..100 {
        let m = next(&mut sub).await;
        assert_eq!(m.subject.as_str(), "updates.service.a");
        assert_eq!(m.payload, Bytes::from(format!("m{i}")));
    }
    expect_none(&sub_client, &mut sub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcards() {
    let s = Server::plain();
    let c = connect(&s).await;
    let mut star = c.subscribe("orders.*").await.unwrap();
    let mut gt = c.subscribe("orders.>").await.unwrap();
    c.flush().await.unwrap();
    for subj in ["orders", "orders.new", "orders.new.eu", "other.new"] {
        c.publish(subj, "x".into()).await.unwrap();
    }
    assert_eq!(next(&mut star).await.subject.as_str(), "orders.new");
    assert_eq!(next(&mut gt).await.subject.as_str(), "orders.new");
    assert_eq!(next(&mut gt).await.subject.as_str(), "orders.new.eu");
    expect_none(&c, &mut star).await;
    expect_none(&c, &mut gt).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_group_delivers_each_message_once() {
    let s = Server::plain();
    let mut clients = Vec::new();
    let mut subs = Vec::new();
    for _ in 0..4 {
        let c = connect(&s).await;
        subs.push(c.queue_subscribe("jobs", "workers".into()).await.unwrap());
        round_trip(&c).await;
        clients.push(c);
    }
    let plain_client = connect(&s).await;
    let mut plain = plain_client.subscribe("jobs").await.unwrap();
    round_trip(&plain_client).await;
    let p = connect(&s).await;
    let n = 200;
    for i in 0..n {
        p.publish("jobs", format!("{i}").into()).await.unwrap();
    }
    round_trip(&p).await;
    let mut merged = futures::stream::select_all(subs.iter_mut());
    let mut seen: HashMap<String, u32> = HashMap::new();
    for _ in 0..n {
        let m = within("queue message", merged.next()).await.unwrap();
        *seen
            .entry(String::from_utf8(m.payload.to_vec()).unwrap())
            .or_default() += 1;
    }
    drop(merged);
    assert_eq!(seen.len(), n);
    assert!(seen.values().all(|&v| v == 1));
    for (c, sub) in clients.iter().zip(subs.iter_mut()) {
        expect_none(c, sub).await;
    }
    for i in 0..n {
        assert_eq!(next(&mut plain).await.payload, Bytes::from(format!("{i}")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_reply() {
    let s = Server::plain();
    let responder = connect(&s).await;
    let mut svc = responder.subscribe("svc.echo").await.unwrap();
    round_trip(&responder).await;
    let r2 = responder.clone();
    let task = tokio::spawn(async move {
        while let Some(m) = svc.next().await {
            let mut h = HeaderMap::new();
            h.insert("X-Served-By", "responder");
            let mut body = b"echo:".to_vec();
            body.extend_from_slice(&m.payload);
            r2.publish_with_headers(m.reply.unwrap(), h, body.into())
                .await
                .unwrap();
        }
    });
    let c = connect(&s).await;
    for i in 0..20 {
        let resp = within("request", c.request("svc.echo", format!("{i}").into()))
            .await
            .unwrap();
        assert_eq!(resp.payload, Bytes::from(format!("echo:{i}")));
        let h = resp.headers.unwrap();
        assert_eq!(h.get("X-Served-By").unwrap().as_str(), "responder");
    }
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_roundtrip() {
    let s = Server::plain();
    let c = connect(&s).await;
    let mut sub = c.subscribe("h").await.unwrap();
    c.flush().await.unwrap();
    let mut h = HeaderMap::new();
    h.insert("Single", "one");
    h.append("Multi", "a");
    h.append("Multi", "b");
    c.publish_with_headers("h", h, "body".into()).await.unwrap();
    c.publish_with_headers("h", HeaderMap::new(), "".into())
        .await
        .unwrap();
    let m = next(&mut sub).await;
    let got = m.headers.unwrap();
    assert_eq!(got.get("Single").unwrap().as_str(), "one");
    let multi: Vec<&str> = got.get_all("Multi").map(|v| v.as_str()).collect();
    assert_eq!(multi, ["a", "b"]);
    assert_eq!(m.payload, Bytes::from("body"));
    let m = next(&mut sub).await;
    assert!(m.payload.is_empty());
    expect_none(&c, &mut sub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_responders_error() {
    let s = Server::plain();
    let c = connect(&s).await;
    let t0 = std::time::Instant::now();
    let err = within("request", c.request("nobody.home", "?".into()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), RequestErrorKind::NoResponders, "{err}");
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "no-responders must not wait for the timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_after() {
    let s = Server::plain();
    let c = connect(&s).await;
    let mut sub = c.subscribe("auto").await.unwrap();
    sub.unsubscribe_after(3).await.unwrap();
    c.flush().await.unwrap();
    for i in 0..6 {
        c.publish("auto", format!("{i}").into()).await.unwrap();
    }
    c.flush().await.unwrap();
    for i in 0..3 {
        assert_eq!(next(&mut sub).await.payload, Bytes::from(format!("{i}")));
    }
    let end = within("subscription end", sub.next()).await;
    assert!(end.is_none(), "got a 4th message: {end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_stops_delivery() {
    let s = Server::plain();
    let c = connect(&s).await;
    let mut keep = c.subscribe("u").await.unwrap();
    let mut gone = c.subscribe("u").await.unwrap();
    c.flush().await.unwrap();
    gone.unsubscribe().await.unwrap();
    c.publish("u", "x".into()).await.unwrap();
    assert_eq!(next(&mut keep).await.payload, Bytes::from("x"));
    let end = within("subscription end", gone.next()).await;
    assert!(end.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_drain() {
    let s = Server::plain();
    let c = connect(&s).await;
    let mut sub = c.subscribe("d").await.unwrap();
    c.flush().await.unwrap();
    for i in 0..50 {
        c.publish("d", format!("{i}").into()).await.unwrap();
    }
    // async-nats drains what it has already read when it handles the drain (it does not wait for the
    // server's PONG); a round trip first makes sure the 50 messages are in.
    round_trip(&c).await;
    sub.drain().await.unwrap();
    let got: Vec<_> = within("drained messages", sub.by_ref().collect::<Vec<_>>()).await;
    assert_eq!(got.len(), 50);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.payload, Bytes::from(format!("{i}")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_drain() {
    let s = Server::plain();
    let c = connect(&s).await;
    let mut sub = c.subscribe("cd").await.unwrap();
    round_trip(&c).await;
    let p = connect(&s).await;
    for i in 0..20 {
        p.publish("cd", format!("{i}").into()).await.unwrap();
    }
    // Once the publisher's round trip is back, the messages are on their way to `c`; async-nats drains
    // what it has read, so give `c` its own round trip before draining.
    round_trip(&p).await;
    round_trip(&c).await;
    c.drain().await.unwrap();
    let got: Vec<_> = within("drained messages", sub.by_ref().collect::<Vec<_>>()).await;
    assert_eq!(got.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_payload_and_many_subjects() {
    let s = Server::plain();
    let c = connect(&s).await;
    let mut sub = c.subscribe("big.>").await.unwrap();
    c.flush().await.unwrap();
    let body: Bytes = (0..512 * 1024u32)
        .map(|i| (i % 253) as u8)
        .collect::<Vec<u8>>()
        .into();
    for i in 0..5 {
        c.publish(format!("big.{i}"), body.clone()).await.unwrap();
    }
    for i in 0..5 {
        let m = next(&mut sub).await;
        assert_eq!(m.subject.as_str(), format!("big.{i}"));
        assert_eq!(m.payload, body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_over_max_payload_is_refused_client_side() {
    let s = Server::start(ServerOpts::conf("max_payload: 1000\n"));
    let c = connect(&s).await;
    assert_eq!(c.server_info().max_payload, 1000);
    let r = c.publish("x", vec![0u8; 1001].into()).await;
    assert!(r.is_err(), "async-nats checks max_payload from INFO");
    // The connection is still usable.
    c.flush().await.unwrap();
}
