//! Helpers for tests that use the real async-nats client: bounded waits and connection shortcuts.
#![allow(dead_code)]

use super::{Server, TIMEOUT};
use async_nats::{Client, ConnectOptions, Event, Message, Subscriber};
use futures::StreamExt;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;

/// Awaits `fut`, panicking after [`TIMEOUT`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// Connects with default options.
pub async fn connect(s: &Server) -> Client {
    within("connect", async_nats::connect(s.url()))
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", s.url()))
}

/// Connects with the given options.
pub async fn connect_with(s: &Server, opts: ConnectOptions) -> Client {
    within("connect", opts.connect(s.url()))
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", s.url()))
}

/// Options that forward every client event into the returned channel.
pub fn with_events(opts: ConnectOptions) -> (ConnectOptions, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let opts = opts.event_callback(move |ev| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ev);
        }
    });
    (opts, rx)
}

/// Waits for an event matching `pred`, skipping others.
pub async fn wait_event(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    what: &str,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    within(what, async {
        loop {
            match rx.recv().await {
                Some(ev) if pred(&ev) => return ev,
                Some(_) => continue,
                None => panic!("event channel closed while waiting for {what}"),
            }
        }
    })
    .await
}

/// The next message on `sub`, bounded by [`TIMEOUT`].
pub async fn next(sub: &mut Subscriber) -> Message {
    within("next message", sub.next())
        .await
        .expect("subscription ended")
}

/// Proves `sub` has nothing pending: a server round trip on `client` (see `round_trip`), then a short poll.
pub async fn expect_none(client: &Client, sub: &mut Subscriber) {
    round_trip(client).await;
    if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(50), sub.next()).await {
        panic!("unexpected message on {}: {:?}", m.subject, m.payload);
    }
}

/// A real server round trip on `client`'s connection. async-nats' `flush()` only writes the client's
/// buffer to the socket; a request nobody answers comes back as "no responders" only after the server
/// has processed everything this connection sent before it (and, on corenats, after every shard has
/// applied its deliveries).
pub async fn round_trip(client: &Client) {
    let inbox = client.new_inbox();
    let res = within(
        "round trip",
        client.request(format!("{inbox}.rt"), "".into()),
    )
    .await;
    assert!(res.is_err(), "nobody should answer a round-trip probe");
}
