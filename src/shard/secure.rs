//! Securing a new connection on a TLS port, in nats-server's order (its `createClientEx`):
//!
//! 1. The connection is registered and its INFO queued (`Shard::new_conn`), with its clocks stopped.
//! 2. `handshake_first: <duration>`: wait that long for the client's first bytes; any → TLS first,
//!    none → INFO first after all (its INFO no longer forces `tls_required`).
//! 3. INFO first: the INFO goes out in clear text; with `allow_non_tls` the client's first byte
//!    decides (0x16, a TLS record, → TLS; anything else, or silence for `timeout`, → plain text).
//! 4. `connection_rate_limit`, then the handshake, bounded by `timeout`; `pinned_certs` checked.
//! 5. The transport becomes the TLS session, the clocks start (the authentication timer starts
//!    after the handshake, as nats-server's), and the reader and writer tasks take over. A TLS-first
//!    INFO is still in the outbound buffer: it is the first record the writer sends.
//!
//! A failed or timed-out handshake closes the connection without a word on the wire (nats-server's
//! `-ERR` for a timeout never reaches the client either) and is logged as nats-server logs it:
//! at debug level for probes (silence, plain text, a vanished client), as an error otherwise.
//!
//! Runs on: the owning shard, one task per connection; the socket is this task's alone until it
//! hands over (the connection's transport says `Handshake` meanwhile).

use super::conn::Phase;
use super::reader::reader_task;
use super::transport::Transport;
use super::writer::writer_task;
use super::{ConnKey, ShardRef};
use crate::bus::CloseReason;
use crate::protocol::errors::ProtoErr;
use crate::protocol::writer as w;
use crate::runtime::{self, Stream};
use crate::tls::identity::PeerIdentity;
use crate::tls::session::{self, TlsSession};
use crate::tls::{HandshakeFirst, ServerTls};
use std::rc::Rc;
use std::sync::Arc;
use tracing::Instrument;

/// The first byte of a TLS record carrying a handshake message (a ClientHello).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Registers an accepted connection and starts its tasks: the reader and writer directly on a
/// plain port, the securing task (then they) on a TLS port.
pub fn start_conn(shard: &ShardRef, stream: Stream) {
    let tls = shard.borrow().settings.tls.clone();
    let Some(tls) = tls else {
        let transport = Transport::tcp(stream);
        let key = shard.borrow_mut().new_conn(&transport, false);
        shard.borrow_mut().end_batch();
        spawn_tasks(shard, key, transport);
        return;
    };
    let tls_first = tls.handshake_first != HandshakeFirst::Off;
    let key = shard
        .borrow_mut()
        .new_conn(&Transport::Handshake(stream.clone()), tls_first);
    let span = span_of(shard, key);
    runtime::spawn(secure_task(shard.clone(), key, stream, tls).instrument(span));
}

/// The connection's log span (every line of its tasks carries shard, cid, peer, account, user).
fn span_of(shard: &ShardRef, key: ConnKey) -> tracing::Span {
    let span = shard.borrow().conns.get(key).map(|c| c.span.clone());
    span.unwrap_or_else(tracing::Span::none)
}

fn spawn_tasks(shard: &ShardRef, key: ConnKey, transport: Transport) {
    let span = span_of(shard, key);
    runtime::spawn(reader_task(shard.clone(), key, transport.clone()).instrument(span.clone()));
    runtime::spawn(writer_task(shard.clone(), key, transport).instrument(span));
}

/// Steps 2–5 of the module doc for connection `key`.
async fn secure_task(shard: ShardRef, key: ConnKey, stream: Stream, tls: Arc<ServerTls>) {
    let allow_non_tls = shard.borrow().settings.allow_non_tls;
    if phase(&shard, key) == Some(Phase::Closing) {
        // Refused at once (the server is full, or in lame duck). INFO first: the INFO and the
        // `-ERR` go out in clear text, as nats-server sends them; a TLS-first client would only
        // read them as a broken handshake, so it just sees the connection close.
        if tls.handshake_first != HandshakeFirst::Off {
            if let Some(c) = shard.borrow_mut().conns.get_mut(key) {
                c.out.discard();
            }
        }
        return hand_over(&shard, key, Transport::tcp(stream));
    }
    let mut tls_first = tls.handshake_first != HandshakeFirst::Off;
    if let HandshakeFirst::Fallback(wait) = tls.handshake_first {
        let mut first = [0u8; 1];
        match runtime::timeout(wait, stream.peek(&mut first)).await {
            Some(Ok(n)) if n > 0 => {}
            Some(_) => return give_up(&shard, key, &stream, CloseReason::ClientClosed),
            None => {
                // Nothing came: an INFO-first client waits for our INFO. It no longer forces
                // `tls_required`.
                tls_first = false;
                let mut sh = shard.borrow_mut();
                if let Some(c) = sh.conns.get_mut(key) {
                    c.tls_first = false;
                    c.out.discard();
                }
                let info = sh.info_json(key, false);
                if let Some(c) = sh.conns.get_mut(key) {
                    c.out.buf.extend_from_slice(&info);
                }
            }
        }
    }
    if !tls_first {
        if !send_info_in_clear(&shard, key, &stream).await {
            return give_up(&shard, key, &stream, CloseReason::WriteError);
        }
        if allow_non_tls {
            let mut first = [0u8; 1];
            match runtime::timeout(tls.timeout, stream.peek(&mut first)).await {
                Some(Ok(n)) if n > 0 && first[0] == TLS_HANDSHAKE_RECORD => {}
                Some(Ok(0)) | Some(Err(_)) => {
                    return give_up(&shard, key, &stream, CloseReason::ClientClosed)
                }
                // Plain text (or a silent client: the authentication timer deals with it).
                _ => {
                    shard.borrow_mut().start_clocks(key);
                    return hand_over(&shard, key, Transport::tcp(stream));
                }
            }
        }
    }
    if tls.rate_limit > 0 && !shard.borrow().globals.allow_tls_connection(tls.rate_limit) {
        // nats-server answers in clear text, before any TLS.
        let mut bytes = Vec::new();
        w::write_err(&mut bytes, &ProtoErr::TlsThrottled);
        let _ = runtime::timeout(tls.timeout, stream.write_all(&bytes)).await;
        return give_up(&shard, key, &stream, CloseReason::MaxConnectionsExceeded);
    }
    tracing::debug!("Starting TLS client connection handshake");
    let session = match runtime::timeout(
        tls.timeout,
        session::accept(&stream, tls.client.clone(), tls.verify),
    )
    .await
    {
        None => {
            tracing::debug!("TLS handshake timeout");
            return give_up(&shard, key, &stream, CloseReason::TlsHandshakeError);
        }
        Some(Err(e)) => {
            if e.is_probe() {
                tracing::debug!("TLS handshake error: {e}");
            } else {
                tracing::error!("TLS handshake error: {e}");
            }
            return give_up(&shard, key, &stream, CloseReason::TlsHandshakeError);
        }
        Some(Ok(s)) => s,
    };
    if let Some(pinned) = &tls.pinned {
        if !matches_pinned(&session, pinned) {
            tracing::error!("TLS handshake error: {}", NOT_PINNED);
            session.shutdown();
            return give_up(&shard, key, &stream, CloseReason::TlsHandshakeError);
        }
    }
    let p = session.params();
    tracing::debug!("TLS handshake complete");
    tracing::debug!("TLS version {}, cipher suite {}", p.version, p.cipher_suite);
    if tls.map {
        // verify_and_map: what the certificate says decides the user at CONNECT.
        let certs = session.peer_certificates();
        let id = certs.first().map(|leaf| PeerIdentity::from_der(leaf));
        match id {
            Some(Ok(id)) => {
                if let Some(c) = shard.borrow_mut().conns.get_mut(key) {
                    c.login.cert = Some(Arc::new(id));
                }
            }
            Some(Err(e)) => tracing::error!("TLS handshake error: {e}"),
            None => {}
        }
    }
    shard.borrow_mut().start_clocks(key);
    hand_over(&shard, key, Transport::Tls(Rc::new(session)));
}

/// nats-server's `ErrCertNotPinned`.
const NOT_PINNED: &str = "certificate not pinned";

/// `pinned_certs`: the client's leaf certificate's public key must be one of them.
fn matches_pinned(session: &TlsSession, pinned: &std::collections::HashSet<[u8; 32]>) -> bool {
    let certs = session.peer_certificates();
    let Some(leaf) = certs.first() else {
        return false;
    };
    PeerIdentity::from_der(leaf).is_ok_and(|id| pinned.contains(&id.spki_sha256()))
}

fn phase(shard: &ShardRef, key: ConnKey) -> Option<Phase> {
    shard.borrow().conns.get(key).map(|c| c.phase)
}

/// INFO first: writes the queued INFO in clear text (bounded by `write_deadline`). False when the
/// client is gone.
async fn send_info_in_clear(shard: &ShardRef, key: ConnKey, stream: &Stream) -> bool {
    let (info, deadline) = {
        let mut sh = shard.borrow_mut();
        let deadline = sh.settings.write_deadline;
        let Some(c) = sh.conns.get_mut(key) else {
            return false;
        };
        (std::mem::take(&mut c.out.buf), deadline)
    };
    matches!(
        runtime::timeout(deadline, stream.write_all(&info)).await,
        Some(Ok(()))
    )
}

/// The connection continues on `transport`: the reader and writer tasks take over (a connection
/// already closing only has its writer send what is queued and shut the socket down).
fn hand_over(shard: &ShardRef, key: ConnKey, transport: Transport) {
    let closing = {
        let mut sh = shard.borrow_mut();
        let Some(c) = sh.conns.get_mut(key) else {
            return;
        };
        c.transport = transport.clone();
        let closing = c.phase == Phase::Closing;
        // What was queued meanwhile (a TLS-first INFO) goes out with the next flush.
        sh.touch(key);
        sh.end_batch();
        closing
    };
    if closing {
        let span = span_of(shard, key);
        shard.borrow_mut().task_done(key);
        runtime::spawn(writer_task(shard.clone(), key, transport).instrument(span));
    } else {
        spawn_tasks(shard, key, transport);
    }
}

/// The connection ends before it had tasks: closed for `reason`, the socket shut down, its slot freed.
fn give_up(shard: &ShardRef, key: ConnKey, stream: &Stream, reason: CloseReason) {
    let mut sh = shard.borrow_mut();
    if let Some(c) = sh.conns.get_mut(key) {
        c.out.discard();
    }
    sh.close_conn(key, reason);
    sh.end_batch();
    stream.shutdown();
    // Neither the reader nor the writer will run for it.
    sh.task_done(key);
    sh.task_done(key);
}
