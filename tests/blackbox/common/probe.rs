//! Probes and counted deliveries shared by the link tests (routes, leaf nodes): wait until
//! interest has crossed by publishing probes, then publish numbered messages with an end marker
//! and read every subscriber up to it, so "exactly once, in order" is checked without sleeping.
#![allow(dead_code)]

use super::raw::{Msg, Raw};
use super::server::TIMEOUT;
use std::time::{Duration, Instant};

/// Publishes `subject` probes from `publ` until every one of `conns` has received one.
pub fn until_all_reached(publ: &mut Raw, conns: &mut [Raw], subject: &str) {
    let deadline = Instant::now() + TIMEOUT;
    let mut reached = vec![false; conns.len()];
    while reached.iter().any(|r| !r) {
        publ.send(format!("PUB {subject} 5\r\nprobe\r\n").as_bytes());
        publ.ping_pong();
        for (i, c) in conns.iter_mut().enumerate() {
            while let Some(m) = c.try_read_msg(Duration::from_millis(10)) {
                assert_eq!(m.payload, b"probe", "{m:?}");
                reached[i] = true;
            }
        }
        assert!(
            Instant::now() < deadline,
            "probes on {subject} reached only {reached:?}"
        );
    }
}

/// Publishes probes on `subject` from `publ` until any one of `members` receives one.
pub fn until_group_reached(publ: &mut Raw, members: &mut [Raw], subject: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publ.send(format!("PUB {subject} 5\r\nprobe\r\n").as_bytes());
        publ.ping_pong();
        for m in members.iter_mut() {
            if m.try_read_msg(Duration::from_millis(10)).is_some() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the group on {subject} was never reached"
        );
    }
}

/// The next message that is not a probe.
pub fn next_real(r: &mut Raw) -> Msg {
    loop {
        let m = r.read_msg();
        if m.payload != b"probe" {
            return m;
        }
    }
}

/// Publishes `m0`..`m{n-1}` on `subject`, then `end` on `end_subject`, from `publ`.
pub fn publish_then_end(publ: &mut Raw, subject: &str, end_subject: &str, n: usize) {
    let mut buf = Vec::new();
    for i in 0..n {
        let body = format!("m{i}");
        buf.extend_from_slice(format!("PUB {subject} {}\r\n{body}\r\n", body.len()).as_bytes());
    }
    buf.extend_from_slice(format!("PUB {end_subject} 3\r\nend\r\n").as_bytes());
    publ.send(&buf);
    publ.ping_pong();
}

/// Every payload `c` receives (probes skipped) up to its `end` marker.
pub fn until_end(c: &mut Raw) -> Vec<String> {
    let mut got = Vec::new();
    loop {
        let m = next_real(c);
        if m.payload == b"end" {
            return got;
        }
        got.push(String::from_utf8_lossy(&m.payload).into_owned());
    }
}

/// `m0`..`m{n-1}`.
pub fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("m{i}")).collect()
}

/// Publishes `n` messages on `subject` (then `end` on `end_subject`) and checks that each of
/// `subs` (plain subscribers of both) gets every one exactly once, in order.
pub fn each_sub_gets_all(
    publ: &mut Raw,
    subs: &mut [Raw],
    subject: &str,
    end_subject: &str,
    n: usize,
) {
    publish_then_end(publ, subject, end_subject, n);
    for (i, s) in subs.iter_mut().enumerate() {
        assert_eq!(until_end(s), numbered(n), "subscriber {i}");
    }
}
