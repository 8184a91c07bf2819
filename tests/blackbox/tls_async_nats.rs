//! TLS with the async-nats client (rustls): a CA, client certificates with `verify_and_map`, and
//! `tls_first` against `handshake_first` (on, and with its fallback). Passes against nats-server too.

use crate::common::client::{next, within};
use crate::common::pki::{Pki, Subject};
use crate::common::server::{Server, ServerOpts};
use async_nats::ConnectOptions;

fn start(pki: &Pki, extra_tls: &str, rest: &str) -> Server {
    Server::start(ServerOpts::conf(&format!(
        "{}{rest}\n",
        pki.tls_block(extra_tls)
    )))
}

fn tls_opts(pki: &Pki) -> ConnectOptions {
    ConnectOptions::new()
        .add_root_certificates(pki.ca.pem_file.clone())
        .require_tls(true)
}

async fn round_trip(c: &async_nats::Client, subject: &str) {
    let mut sub = within("subscribe", c.subscribe(subject.to_string()))
        .await
        .unwrap();
    within("flush", c.flush()).await.unwrap();
    within("publish", c.publish(subject.to_string(), "ping".into()))
        .await
        .unwrap();
    assert_eq!(next(&mut sub).await.payload.as_ref(), b"ping");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trusting_the_ca_connects_info_first() {
    let pki = Pki::new();
    let s = start(&pki, "", "");
    let c = within("connect", tls_opts(&pki).connect(s.url()))
        .await
        .unwrap();
    round_trip(&c, "info.first").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_names_the_user_and_its_permissions_apply() {
    let pki = Pki::new();
    let conf = format!(
        "{}{}",
        pki.tls_block("verify_and_map: true"),
        r#"
accounts {
  A { users: [ {user: "svc.example.com", permissions: {publish: "svc.>", subscribe: ["svc.>", "_INBOX.>"]}} ] }
}
"#
    );
    let s = Server::start(ServerOpts::conf(&conf));
    let cert = pki.ca.client(
        &pki.dir,
        "svc",
        &Subject {
            dns: vec!["svc.example.com".into()],
            ..Subject::cn("svc")
        },
    );
    let c = within(
        "connect",
        tls_opts(&pki)
            .add_client_certificate(cert.cert_file.clone(), cert.key_file.clone())
            .connect(s.url()),
    )
    .await
    .unwrap();
    round_trip(&c, "svc.echo").await;
    // Outside its permissions: the subscription is refused (no message ever arrives).
    let mut denied = within("subscribe", c.subscribe("other.x")).await.unwrap();
    within("flush", c.flush()).await.unwrap();
    within("publish", c.publish("svc.echo", "x".into()))
        .await
        .unwrap();
    within("flush", c.flush()).await.unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_millis(200), async {
        futures::StreamExt::next(&mut denied).await
    })
    .await;
    assert!(
        !matches!(got, Ok(Some(_))),
        "a denied subscription got a message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_first_clients_with_handshake_first_and_its_fallback() {
    let pki = Pki::new();
    for mode in ["true", "auto", "\"200ms\""] {
        let s = start(&pki, &format!("handshake_first: {mode}"), "");
        let c = within("connect", tls_opts(&pki).tls_first().connect(s.url()))
            .await
            .unwrap_or_else(|e| panic!("handshake_first: {mode}: {e}"));
        round_trip(&c, "tls.first").await;
        if mode != "true" {
            // With a fallback, an INFO-first client is served too.
            let c = within("connect", tls_opts(&pki).connect(s.url()))
                .await
                .unwrap_or_else(|e| panic!("handshake_first: {mode}, INFO first: {e}"));
            round_trip(&c, "info.first").await;
        }
    }
}
