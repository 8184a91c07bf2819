//! Real client (async-nats): reconnect after the server restarts on the same port, with subscriptions restored.
use crate::common::client::*;
use crate::common::*;

use async_nats::{ConnectOptions, Event};
use bytes::Bytes;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_after_restart_restores_subscriptions() {
    let mut s = Server::plain();
    let opts = ConnectOptions::new()
        .reconnect_delay_callback(|_| Duration::from_millis(100))
        .max_reconnects(None);
    let (opts, mut events) = with_events(opts);
    let c = connect_with(&s, opts).await;
    let mut sub = c.subscribe("after.restart").await.unwrap();
    c.publish("after.restart", "before".into()).await.unwrap();
    assert_eq!(next(&mut sub).await.payload, Bytes::from("before"));

    tokio::task::block_in_place(|| s.restart());
    wait_event(&mut events, "disconnect", |e| {
        matches!(e, Event::Disconnected)
    })
    .await;
    wait_event(&mut events, "reconnect", |e| matches!(e, Event::Connected)).await;
    // The client re-sent its SUB on reconnect; a round trip proves the server has it.
    round_trip(&c).await;

    // A second client proves the subscription is live on the new server.
    let other = connect(&s).await;
    other
        .publish("after.restart", "after".into())
        .await
        .unwrap();
    round_trip(&other).await;
    let m = next(&mut sub).await;
    assert_eq!(m.payload, Bytes::from("after"));
    // And the reconnected client can publish.
    c.publish("after.restart", "own".into()).await.unwrap();
    assert_eq!(next(&mut sub).await.payload, Bytes::from("own"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_connections_are_dropped_on_restart() {
    let mut s = Server::plain();
    let mut c = s.ready();
    s.restart();
    assert!(
        c.closed_within(TIMEOUT),
        "old connection still open after restart"
    );
    s.ready().expect_nothing();
}
