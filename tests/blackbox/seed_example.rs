//! The founding example (docs/FOUNDING-EXAMPLE.md) told with async-nats, which ignores URL credentials, so the users
//! `user:a` / `user:b` are passed as options. corenats runs the seed file verbatim (`nats-server.conf` at the
//! top of the repo); real nats-server rejects that file, so against it the corrected equivalent of
//! the seed config in standard form (with the same colon user names) is used.
use crate::common::client::*;
use crate::common::*;

use async_nats::{Client, ConnectOptions, Event, ServerError};
use bytes::Bytes;
use tokio::sync::mpsc::UnboundedReceiver;

const SEED: &str = include_str!("../../nats-server.conf");

const CORRECTED: &str = r#"
listen: 4222
accounts {
  account_a {
    users = [
      { user: "user:a", password: "password-a"
        permissions { publish { allow: ["service.a.>"] }, subscribe { allow: ["service.a.>"] } } }
    ]
  }
  account_b {
    users = [
      { user: "user:b", password: "password-b"
        permissions { publish { allow: ["service.b.>"] }, subscribe { allow: ["service.b.>"] } } }
    ]
  }
}
"#;

fn tenants() -> Server {
    let conf = if is_corenats() { SEED } else { CORRECTED };
    Server::start(ServerOpts::conf(conf))
}

/// Logs in as a tenant. Tenants may not use `_INBOX`, so each gets an inbox prefix under its own subjects
/// (`service.a.inbox` for `user:a`): requests, and so `round_trip`, work inside the tenant.
async fn login(s: &Server, user: &str, pass: &str) -> (Client, UnboundedReceiver<Event>) {
    let tenant = user.trim_start_matches("user:");
    let (opts, events) = with_events(
        ConnectOptions::new()
            .user_and_password(user.into(), pass.into())
            .custom_inbox_prefix(format!("service.{tenant}.inbox")),
    );
    (connect_with(s, opts).await, events)
}

async fn server_error(events: &mut UnboundedReceiver<Event>) -> String {
    match wait_event(events, "server error", |e| {
        matches!(e, Event::ServerError(_))
    })
    .await
    {
        Event::ServerError(ServerError::Other(text)) => text,
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_accounts_one_shared_subject_space() {
    let s = Server::plain();
    let client_b = connect(&s).await;
    let mut sub = client_b.subscribe("updates.service.a").await.unwrap();
    round_trip(&client_b).await;
    let client_a = connect(&s).await;
    client_a
        .publish("updates.service.a", "hello".into())
        .await
        .unwrap();
    assert_eq!(next(&mut sub).await.payload, Bytes::from("hello"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_a_publishes_within_its_tenant() {
    let s = tenants();
    let (watcher, _) = login(&s, "user:a", "password-a").await;
    let mut sub = watcher.subscribe("service.a.heartbeat").await.unwrap();
    round_trip(&watcher).await;
    let (a, mut a_events) = login(&s, "user:a", "password-a").await;
    a.publish("service.a.heartbeat", "beat".into())
        .await
        .unwrap();
    a.flush().await.unwrap();
    let m = next(&mut sub).await;
    assert_eq!(m.subject.as_str(), "service.a.heartbeat");
    assert_eq!(m.payload, Bytes::from("beat"));
    while let Ok(ev) = a_events.try_recv() {
        assert!(!matches!(ev, Event::ServerError(_)), "{ev:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_b_subscription_to_a_is_denied_and_stays_open() {
    let s = tenants();
    let (b, mut b_events) = login(&s, "user:b", "password-b").await;
    let _denied = b.subscribe("service.a.heartbeat").await.unwrap();
    let text = server_error(&mut b_events).await;
    assert_eq!(
        text,
        "Permissions Violation for Subscription to \"service.a.heartbeat\""
    );
    // Still open and working inside its own tenant.
    let mut own = b.subscribe("service.b.status").await.unwrap();
    round_trip(&b).await;
    b.publish("service.b.status", "ok".into()).await.unwrap();
    assert_eq!(next(&mut own).await.payload, Bytes::from("ok"));
    assert!(matches!(
        b.connection_state(),
        async_nats::connection::State::Connected
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_b_status_never_reaches_client_a() {
    let s = tenants();
    let (a, mut a_events) = login(&s, "user:a", "password-a").await;
    // Listening where b will try to publish (narrower than `service.a.>`, which would also catch a's own
    // round-trip probes under `service.a.inbox`).
    let mut a_sub = a.subscribe("service.a.heartbeat").await.unwrap();
    // a may not even listen on b's subjects.
    let _denied = a.subscribe("service.b.status").await.unwrap();
    assert_eq!(
        server_error(&mut a_events).await,
        "Permissions Violation for Subscription to \"service.b.status\""
    );
    // After this, a's subscription is live on every shard.
    round_trip(&a).await;
    let (b, mut b_events) = login(&s, "user:b", "password-b").await;
    b.publish("service.b.status", "up".into()).await.unwrap();
    // b cannot reach into a's subjects by publishing either.
    b.publish("service.a.heartbeat", "spoof".into())
        .await
        .unwrap();
    // After this, everything b published has been delivered wherever it was going to be.
    round_trip(&b).await;
    assert_eq!(
        server_error(&mut b_events).await,
        "Permissions Violation for Publish to \"service.a.heartbeat\""
    );
    // Anything b had leaked to a would arrive before a's own message.
    a.publish("service.a.heartbeat", "a's own".into())
        .await
        .unwrap();
    let m = next(&mut a_sub).await;
    assert_eq!(m.payload, Bytes::from("a's own"), "b's message leaked to a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_a_cannot_publish_outside_its_tenant() {
    let s = tenants();
    let (a, mut a_events) = login(&s, "user:a", "password-a").await;
    a.publish("service.b.status", "x".into()).await.unwrap();
    assert_eq!(
        server_error(&mut a_events).await,
        "Permissions Violation for Publish to \"service.b.status\""
    );
    a.flush().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_an_authorization_violation() {
    let s = tenants();
    let r = within(
        "connect",
        ConnectOptions::new()
            .user_and_password("user:a".into(), "password-b".into())
            .connect(s.url()),
    )
    .await;
    assert!(r.is_err(), "login with b's password must fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_style_split_credentials() {
    // What nats.go / nats.py send for `nats://user:a:password-a@host`: user "user", pass "a:password-a".
    // corenats re-joins and re-splits at a later colon (the colon rule); nats-server rejects it.
    let s = tenants();
    let r = within(
        "connect",
        ConnectOptions::new()
            .user_and_password("user".into(), "a:password-a".into())
            .connect(s.url()),
    )
    .await;
    if is_corenats() {
        let a = r.expect("colon rule: user:a / password-a");
        let mut sub = a.subscribe("service.a.x").await.unwrap();
        a.publish("service.a.x", "via-colon-rule".into())
            .await
            .unwrap();
        assert_eq!(next(&mut sub).await.payload, Bytes::from("via-colon-rule"));
    } else {
        assert!(r.is_err(), "nats-server has no colon rule");
    }
}
