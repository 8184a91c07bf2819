//! Slow consumers: a subscriber that stops reading is closed once its pending bytes pass `max_pending`
//! (or a write to it stalls past `write_deadline`), without any `-ERR`; the publisher and the other
//! subscribers never notice (every PING/PONG round trip answers, every message arrives in order); the
//! server counts it in `/varz` `slow_consumers` and logs `Slow Consumer Detected`. Runs unchanged against
//! nats-server.
use crate::common::monitor::*;
use crate::common::*;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const PAYLOAD: usize = 1000;
const PER_CHUNK: usize = 100;

/// A subscriber that will never read: a small receive buffer (loopback autotuning could grow it to
/// tens of MB) so the server's side fills quickly.
fn stalled_subscriber(s: &Server, subject: &str) -> Raw {
    let mut c = s.ready();
    c.auto_pong = false;
    socket2::SockRef::from(c.stream())
        .set_recv_buffer_size(64 * 1024)
        .unwrap();
    c.send(format!("SUB {subject} 1\r\n").as_bytes());
    c.ping_pong();
    c
}

/// A subscriber on its own thread that must receive exactly `n` messages `0..n` in order; `progress`
/// counts what it has received so far.
fn counting_subscriber(
    s: &Server,
    subject: &str,
    n: usize,
) -> (thread::JoinHandle<Raw>, Arc<AtomicUsize>) {
    let mut c = s.ready();
    c.send(format!("SUB {subject} 9\r\n").as_bytes());
    c.ping_pong();
    let progress = Arc::new(AtomicUsize::new(0));
    let seen = progress.clone();
    let h = thread::spawn(move || {
        c.timeout = Duration::from_secs(20);
        for i in 0..n {
            let m = c.read_msg();
            let seq: usize = std::str::from_utf8(&m.payload[..10])
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(seq, i, "message lost or reordered");
            seen.store(i + 1, Ordering::Relaxed);
        }
        c.timeout = TIMEOUT;
        c
    });
    (h, progress)
}

/// Waits (bounded) until every reader has received at least `n` messages.
fn wait_readers(progress: &[Arc<AtomicUsize>], n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while progress.iter().any(|p| p.load(Ordering::Relaxed) < n) {
        assert!(Instant::now() < deadline, "readers stuck below {n}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// `PER_CHUNK` messages of `PAYLOAD` bytes numbered from `first` (the number is the first 10 bytes).
fn chunk(subject: &str, first: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(PER_CHUNK * (PAYLOAD + 32));
    for i in first..first + PER_CHUNK {
        b.extend_from_slice(format!("PUB {subject} {PAYLOAD}\r\n{i:010}").as_bytes());
        b.resize(b.len() + PAYLOAD - 10, b'x');
        b.extend_from_slice(b"\r\n");
    }
    b
}

fn slow_consumers(m: &Mon) -> u64 {
    m.json("/varz")["slow_consumers"].as_u64().unwrap()
}

/// Waits (bounded) until `/varz` counts at least one slow consumer.
fn wait_slow_consumer(m: &Mon, within: Duration) {
    let deadline = Instant::now() + within;
    while slow_consumers(m) == 0 {
        assert!(
            Instant::now() < deadline,
            "no slow consumer counted; log:\n{}",
            m.server.log()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Reads whatever the server had sent to `c` until EOF; it must hold no `-ERR`.
fn drain_to_eof_without_err(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.closed_within(Duration::from_millis(500)) {
        assert!(
            Instant::now() < deadline,
            "the slow consumer was not closed"
        );
    }
    let p = c.pending();
    assert!(
        !p.windows(4).any(|w| w == b"-ERR"),
        "an -ERR was sent: {}",
        show(&p[p.len().saturating_sub(200)..])
    );
    eprintln!("the stalled consumer had {} bytes on its way", p.len());
}

#[test]
fn max_pending_closes_only_the_slow_consumer() {
    let chunks = 80; // 8 MB: about twice the socket buffers in between plus max_pending
    let m = Mon::start(ServerOpts::conf("max_payload: 4096\nmax_pending: 65536\n"));
    let mut slow = stalled_subscriber(&m.server, "big");
    // Several readers, so that on corenats some surely sit on another shard than the publisher.
    let (readers, progress): (Vec<_>, Vec<_>) = (0..4)
        .map(|_| counting_subscriber(&m.server, "big", chunks * PER_CHUNK))
        .unzip();
    let mut other = m.server.ready();
    other.send(b"SUB side 3\r\n");
    other.ping_pong();

    let mut publ = m.server.ready();
    let t0 = Instant::now();
    for k in 0..chunks {
        // Paced to the readers (at most two chunks ahead, far below the socket buffers): they keep up,
        // so only the stalled subscriber may ever count as slow.
        wait_readers(&progress, k.saturating_sub(1) * PER_CHUNK);
        publ.send(&chunk("big", k * PER_CHUNK));
        publ.ping_pong();
        if k % 20 == 0 {
            // Unrelated traffic keeps flowing at every stage.
            publ.send(format!("PUB side 2\r\n{:02}\r\n", k / 20).as_bytes());
            other.expect(format!("MSG side 3 2\r\n{:02}\r\n", k / 20).as_bytes());
        }
    }
    eprintln!("published {} MB in {:?}", chunks / 10, t0.elapsed());
    wait_slow_consumer(&m, TIMEOUT);
    for r in readers {
        r.join().unwrap().expect_nothing();
    }
    let slow_cid = slow.info["client_id"].clone();
    drain_to_eof_without_err(&mut slow);
    // Logged as the consumer (its cid), at INF, as nats-server does (corenats' prefix names the
    // connection as `cid=N`, nats-server's as `cid:N -`).
    const TEXT: &str = "Slow Consumer Detected: MaxPending of 65536 Exceeded";
    assert!(m.server.wait_for_log(TEXT, TIMEOUT), "{}", m.server.log());
    let cid = if is_corenats() {
        format!(" cid={slow_cid} ")
    } else {
        format!("cid:{slow_cid} -")
    };
    assert!(
        m.server
            .log()
            .lines()
            .any(|l| l.contains(TEXT) && l.contains(&cid) && l.contains("[INF]")),
        "{}",
        m.server.log()
    );
    // Publisher and the other subscribers are unaffected; exactly one slow consumer.
    publ.send(b"PUB side 2\r\nzz\r\n");
    publ.ping_pong();
    other.expect(b"MSG side 3 2\r\nzz\r\n");
    other.expect_nothing();
    let v = m.json("/varz");
    assert_eq!(v["slow_consumers"], 1, "{v}");
    assert_eq!(v["connections"], 2, "{v}"); // the publisher and `other`
}

#[test]
fn write_deadline_closes_a_stalled_consumer() {
    let m = Mon::start(ServerOpts::conf("write_deadline: \"1s\"\n"));
    let mut slow = stalled_subscriber(&m.server, "wd");
    let (fast, _) = counting_subscriber(&m.server, "wd", 80 * PER_CHUNK);
    let mut publ = m.server.ready();
    for k in 0..80 {
        publ.send(&chunk("wd", k * PER_CHUNK));
        publ.ping_pong();
    }
    // The writes to the stalled subscriber now block; after the deadline it is cut off.
    wait_slow_consumer(&m, Duration::from_secs(8));
    let mut fast = fast.join().unwrap();
    fast.expect_nothing();
    drain_to_eof_without_err(&mut slow);
    assert!(
        m.server
            .wait_for_log("Slow Consumer Detected: WriteDeadline of", TIMEOUT),
        "{}",
        m.server.log()
    );
    publ.ping_pong();
}

/// `max_pending` bounds everything queued for a connection, not only messages: a client that streams
/// PINGs and never reads the PONGs is a slow consumer once they pass it (the server once grew to
/// hundreds of MiB this way). The long write deadline makes sure it is `max_pending` that acts.
#[test]
fn unread_pongs_count_toward_max_pending() {
    let m = Mon::start(ServerOpts::conf(
        "max_payload: 4096\nmax_pending: 65536\nwrite_deadline: \"1m\"\n",
    ));
    let mut c = m.server.ready();
    c.auto_pong = false;
    socket2::SockRef::from(c.stream())
        .set_recv_buffer_size(64 * 1024)
        .unwrap();
    let mut w = c.stream().try_clone().unwrap();
    w.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let pings = b"PING\r\n".repeat(10_000);
    let writer = thread::spawn(move || {
        use std::io::Write;
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut sent = 0usize;
        while Instant::now() < deadline {
            if w.write_all(&pings).is_err() {
                return (sent, true);
            }
            sent += pings.len();
        }
        (sent, false)
    });
    wait_slow_consumer(&m, Duration::from_secs(15));
    let (sent, cut_off) = writer.join().unwrap();
    eprintln!("sent {} MB of PINGs before the close", sent >> 20);
    assert!(cut_off, "the PING stream was never cut off");
    assert!(
        m.server.log().contains("MaxPending of 65536 Exceeded"),
        "{}",
        m.server.log()
    );
    // Others are unaffected, and the server holds no more connections than theirs.
    let mut other = m.server.ready();
    other.ping_pong();
    assert_eq!(m.json("/varz")["connections"], 1);
    if is_corenats() {
        let pid = m.server.pid().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let rss_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        assert!(rss_kb < 200 * 1024, "RSS {rss_kb} kB");
    }
}
