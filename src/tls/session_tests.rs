//! The session over a real socket: a shard executor (the process's runtime backend) serves, a blocking
//! rustls client talks to it.

use super::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::net::TcpStream;
use std::time::Duration;

struct Pki {
    server: Arc<ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn pki() -> Pki {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = CertificateDer::from(cert.der().to_vec());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Pki {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

/// Runs `serve` on a shard executor for one accepted connection while `client` runs on this
/// thread against it; returns what `serve` returned.
fn with_server<T: Send + 'static>(
    serve: impl FnOnce(Stream) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>
        + Send
        + 'static,
    client: impl FnOnce(TcpStream),
) -> T {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.listen(8).unwrap();
    sock.set_nonblocking(true).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = runtime::start_executor(
        "tls-test".into(),
        None,
        Duration::ZERO,
        move || async move {
            let l = runtime::adopt_listener(sock);
            let s = runtime::accept(&l).await.unwrap();
            let _ = tx.send(serve(s).await);
        },
    )
    .unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    client(tcp);
    let out = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    h.join();
    out
}

fn client_conn(p: &Pki) -> rustls::ClientConnection {
    rustls::ClientConnection::new(p.client.clone(), ServerName::try_from("localhost").unwrap())
        .unwrap()
}

#[test]
fn bytes_cross_both_ways_in_order_through_a_small_read_buffer() {
    let p = pki();
    let server_cfg = p.server.clone();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let expect = big.clone();
    let got = with_server(
        move |s| {
            Box::pin(async move {
                let sess = accept(&s, server_cfg, false).await.unwrap();
                assert_eq!(sess.params().version, "1.3");
                let mut got = Vec::new();
                let mut buf = vec![0u8; 1000];
                while got.len() < 300_000 {
                    let n = sess.read(&mut buf).await.unwrap();
                    assert!(n > 0);
                    got.extend_from_slice(&buf[..n]);
                }
                sess.write_all(&got).await.unwrap();
                assert_eq!(sess.backlog(), 0);
                // The client's close_notify is a clean end.
                let n = sess.read(&mut buf).await.unwrap();
                assert_eq!(n, 0);
                got
            })
        },
        |tcp| {
            let mut t = rustls::StreamOwned::new(client_conn(&p), tcp);
            t.write_all(&big).unwrap();
            let mut back = vec![0u8; big.len()];
            t.read_exact(&mut back).unwrap();
            assert_eq!(back, big);
            t.conn.send_close_notify();
            t.flush().unwrap();
        },
    );
    assert_eq!(got, expect);
}

#[test]
fn what_a_stalled_reader_does_not_take_waits_in_the_backlog() {
    let p = pki();
    let server_cfg = p.server.clone();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    let backlog = with_server(
        move |s| {
            Box::pin(async move {
                let sess = accept(&s, server_cfg, false).await.unwrap();
                // Wait for the client's first record so the handshake is over on both sides.
                let mut buf = [0u8; 16];
                let _ = sess.read(&mut buf).await.unwrap();
                let chunk = vec![b'x'; 64 * 1024];
                let mut taken = 0;
                for _ in 0..200 {
                    taken += sess.try_write(&chunk).unwrap();
                }
                assert_eq!(taken, 200 * chunk.len(), "everything is taken");
                let backlog = sess.backlog();
                let _ = go_rx.lock().unwrap().recv();
                // The writer drains the rest once the client reads.
                sess.write_all(&[]).await.unwrap();
                assert_eq!(sess.backlog(), 0);
                backlog
            })
        },
        move |tcp| {
            let mut t = rustls::StreamOwned::new(client_conn(&p), tcp);
            t.write_all(b"hi").unwrap();
            t.flush().unwrap();
            std::thread::sleep(Duration::from_millis(300));
            go_tx.send(()).unwrap();
            let mut n = 0;
            let mut buf = vec![0u8; 65536];
            while n < 200 * 64 * 1024 {
                let k = t.read(&mut buf).unwrap();
                assert!(buf[..k].iter().all(|b| *b == b'x'));
                n += k;
            }
        },
    );
    // 12.5 MiB sealed; the socket buffers hold a few MiB at most: the rest is backlog.
    assert!(backlog > 4 << 20, "backlog {backlog}");
}

#[test]
fn plain_text_instead_of_a_client_hello_is_a_probe() {
    let p = pki();
    let server_cfg = p.server.clone();
    let err = with_server(
        move |s| {
            Box::pin(async move {
                accept(&s, server_cfg, false)
                    .await
                    .err()
                    .unwrap()
                    .to_string()
            })
        },
        |mut tcp| {
            tcp.write_all(b"CONNECT {}\r\nPING\r\n").unwrap();
            let mut buf = [0u8; 64];
            // The server answers with an alert (or nothing) and closes.
            let _ = tcp.read(&mut buf);
        },
    );
    assert!(!err.is_empty());
    let probe = HandshakeError::Tls(rustls::Error::InvalidMessage(
        rustls::InvalidMessage::InvalidContentType,
    ));
    assert!(probe.is_probe());
    let _ = p;
}

#[test]
fn garbage_after_the_handshake_is_a_read_error_with_an_alert_queued() {
    let p = pki();
    let server_cfg = p.server.clone();
    let res = with_server(
        move |s| {
            Box::pin(async move {
                let sess = accept(&s, server_cfg, false).await.unwrap();
                let mut buf = [0u8; 64];
                let mut first = Vec::new();
                let r = loop {
                    match sess.read(&mut buf).await {
                        Ok(0) => break Ok(()),
                        Ok(n) => first.extend_from_slice(&buf[..n]),
                        Err(e) => break Err(e.kind()),
                    }
                };
                (first, r, sess.backlog() > 0)
            })
        },
        |tcp| {
            let mut t = rustls::StreamOwned::new(client_conn(&p), tcp);
            t.write_all(b"PING\r\n").unwrap();
            t.flush().unwrap();
            // An application-data record whose bytes are not what the keys sealed.
            let mut raw = t.sock.try_clone().unwrap();
            raw.write_all(&[0x17, 0x03, 0x03, 0x00, 0x20]).unwrap();
            raw.write_all(&[0u8; 0x20]).unwrap();
            // Read until the server closes (its tickets, its alert): closing earlier with unread
            // bytes would reset the connection before the server reads the garbage.
            let mut buf = [0u8; 4096];
            while matches!(raw.read(&mut buf), Ok(n) if n > 0) {}
        },
    );
    assert_eq!(res.0, b"PING\r\n");
    assert_eq!(res.1, Err(io::ErrorKind::InvalidData));
    assert!(res.2, "the alert waits to be sent");
}
