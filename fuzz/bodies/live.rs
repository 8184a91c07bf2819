//! Fuzz body that drives a live server with arbitrary client bytes over TCP: the server must never
//! panic (a panic ends the process: the fuzzer reports it) and must keep answering other clients.
//!
//! Input layout: byte 0 picks the number of connections (1 to 3) and whether they close abruptly
//! (RST) or politely (FIN); byte 1 seeds where each connection's bytes are cut into writes; the rest
//! is split evenly between the connections. Writes go round-robin across the connections, so their
//! ops interleave on the server (and, with two shards, cross shards). No reads: whatever the server
//! answers is discarded with the socket.
//!
//! The server runs [`CONF`]: accounts with plain and `no_auth_user` logins, publish and subscribe
//! permissions, a stream and a service import, a mapping, small payload and control-line limits —
//! so that random bytes reach those paths, not only the parser's errors.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// The server's configuration (`{port}` is filled in).
pub const CONF: &str = r#"
port: {port}
max_payload: 4096
max_control_line: 512
max_pending: 1MB
no_auth_user: anon
accounts {
  A {
    users: [
      {user: anon, password: x}
      {user: a, password: pa, permissions: {publish: {allow: ">", deny: "secret.>"}, subscribe: {deny: "x.*"}, allow_responses: true}}
    ]
    exports: [ {stream: "pub.>"}, {service: "svc.>"} ]
    mappings: { "in.*": "out.$1", "w": [ {destination: "w.a", weight: 50%}, {destination: "w.b", weight: 50%} ] }
  }
  B {
    users: [ {user: b, password: pb} ]
    imports: [ {stream: {account: A, subject: "pub.>"}, prefix: "fa"}, {service: {account: A, subject: "svc.>"}} ]
  }
}
"#;

/// How long a liveness check may wait for the server's PONG.
const ALIVE_WITHIN: Duration = Duration::from_secs(10);

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    let _ = s.set_nodelay(true);
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    Ok(s)
}

/// Sends one input to the server on `port` (see the module doc for the layout).
pub fn check(port: u16, data: &[u8]) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let (Some(&mode), Some(&cuts)) = (data.first(), data.get(1)) else {
        return;
    };
    let body = &data[2..];
    let n = usize::from(mode % 3) + 1;
    let abrupt = mode & 0x80 != 0;
    let per = body.len().div_ceil(n).max(1);
    let scripts: Vec<&[u8]> = body.chunks(per).collect();
    let mut conns: Vec<TcpStream> = scripts.iter().filter_map(|_| connect(addr).ok()).collect();
    // Each script in up to four writes, cut where `cuts` says.
    let pieces: Vec<Vec<&[u8]>> = scripts
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut out = Vec::new();
            let mut rest = *s;
            for k in 0..3u32 {
                if rest.is_empty() {
                    break;
                }
                let at = (usize::from(cuts.rotate_left(k + i as u32)) * 7) % (rest.len() + 1);
                let (a, b) = rest.split_at(at);
                out.push(a);
                rest = b;
            }
            out.push(rest);
            out
        })
        .collect();
    for round in 0..4 {
        for (c, p) in conns.iter_mut().zip(&pieces) {
            if let Some(bytes) = p.get(round) {
                // The server may have closed the connection already: that is an answer too.
                let _ = c.write_all(bytes);
            }
        }
    }
    for c in conns {
        if abrupt {
            // RST, and no TIME_WAIT left behind on a machine that runs millions of these.
            let _ = socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO));
        } else {
            let _ = c.shutdown(Shutdown::Write);
        }
    }
}

/// Ok when a fresh client logs in (as the `no_auth_user`) and gets PONG for PING in time; else what
/// went wrong.
pub fn alive(port: u16) -> Result<(), String> {
    use std::io::Read;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut c = connect(addr).map_err(|e| format!("cannot connect: {e}"))?;
    let _ = c.set_read_timeout(Some(ALIVE_WITHIN));
    let _ = socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO));
    c.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(6).any(|w| w == b"PONG\r\n") {
        match c.read(&mut buf) {
            Ok(0) => return Err(format!("closed after {:?}", String::from_utf8_lossy(&got))),
            Err(e) => return Err(format!("{e} after {:?}", String::from_utf8_lossy(&got))),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    Ok(())
}
