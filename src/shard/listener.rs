//! Accepting: one SO_REUSEPORT listener per shard, created by `server` before the shards start (so a busy
//! port fails the whole start instead of silently sharing it), adopted here on the shard's executor.
//! Each accepted connection lives on this shard for life: a reader task and a writer task (on a TLS
//! port, after the securing task's handshake).

use super::ShardRef;
use crate::runtime::{self, Notify};

pub async fn accept_task(shard: ShardRef, sock: socket2::Socket, stop: Notify) {
    let listener = runtime::adopt_listener(sock);
    loop {
        let next =
            futures_lite::future::or(async { Some(runtime::accept(&listener).await) }, async {
                stop.wait().await;
                None
            })
            .await;
        let stream = match next {
            None => break,
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                tracing::error!("Error accepting client connection: {e}");
                runtime::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        // At the connection limit, give connections that are closing right now (a client that hung up
        // and reconnects at once; its EOF may be waiting on this or another shard) a moment to count
        // themselves out before this one is refused.
        for pause in [None, Some(std::time::Duration::from_millis(2))] {
            let at_limit = {
                let sh = shard.borrow();
                sh.globals.connections() >= sh.settings.max_connections
            };
            if !at_limit {
                break;
            }
            match pause {
                None => runtime::yield_now().await,
                Some(d) => runtime::sleep(d).await,
            }
        }
        // Plain: reader and writer at once; TLS: after the handshake (`secure.rs`).
        super::secure::start_conn(&shard, stream);
    }
    drop(listener);
}

/// The accept loop of a server-to-server port (routes, leaf nodes) on shard 0: `sock`'s connections,
/// each handed to `on` (which spawns its handshake task) until `stop`. `what` names the port in
/// the log (`route`, `leafnode`).
pub async fn accept_links(
    sock: socket2::Socket,
    stop: Notify,
    what: &'static str,
    on: impl Fn(runtime::Stream),
) {
    let listener = runtime::adopt_listener(sock);
    loop {
        let next =
            futures_lite::future::or(async { Some(runtime::accept(&listener).await) }, async {
                stop.wait().await;
                None
            })
            .await;
        match next {
            None => break,
            Some(Ok(stream)) => on(stream),
            Some(Err(e)) => {
                tracing::error!("Error accepting {what} connection: {e}");
                runtime::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}
