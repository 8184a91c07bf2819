//! A small blocking HTTP/1.1 server for the monitor, on plain threads outside the executors.
//!
//! It answers GET and HEAD only, one request per connection (`Connection: close`). Bounds: a request head
//! of at most [`MAX_HEAD`] bytes, read and write timeouts of [`IO_TIMEOUT`], and at most [`MAX_WORKERS`]
//! connections served at once (more get an immediate 503). That is all a scraper or a browser needs, and
//! it keeps the attack surface of an unauthenticated port small.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Largest request head (request line + headers) accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// Read and write timeout per connection.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served concurrently (one thread each).
pub const MAX_WORKERS: usize = 16;

/// A parsed request: method, decoded path, decoded query parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
}

impl Request {
    /// The first value of a query parameter (nats-server's `r.URL.Query().Get`): `None` when absent.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What a handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

pub const JSON: &str = "application/json";
pub const TEXT: &str = "text/plain; charset=utf-8";
pub const HTML: &str = "text/html; charset=utf-8";

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type,
            body: body.into(),
        }
    }

    /// A plain-text error (nats-server writes its monitor errors as bare text).
    pub fn text(status: u16, msg: impl Into<String>) -> Response {
        Response::new(status, TEXT, msg.into().into_bytes())
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// The bytes of a full response (head and, unless `head_only`, body).
pub fn encode(resp: &Response, head_only: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        resp.status,
        status_text(resp.status),
        resp.content_type,
        resp.body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(&resp.body);
    }
    out
}

/// Decodes `%XX` escapes (and `+` as space when `plus` is set); bad escapes are kept as they are.
pub fn percent_decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a request head. `Err` carries the status to answer with.
pub fn parse_request(head: &[u8]) -> Result<Request, u16> {
    let text = std::str::from_utf8(head).map_err(|_| 400u16)?;
    let line = text.lines().next().ok_or(400u16)?;
    let mut parts = line.split(' ');
    let method = parts.next().filter(|m| !m.is_empty()).ok_or(400u16)?;
    let target = parts.next().filter(|t| !t.is_empty()).ok_or(400u16)?;
    let version = parts.next().ok_or(400u16)?;
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return Err(400);
    }
    // An absolute-form target (`http://host/path`) keeps only its path.
    let target = match target.find("://") {
        Some(i) => {
            let rest = &target[i + 3..];
            rest.find('/').map_or("/", |j| &rest[j..])
        }
        None => target,
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    let path = path.split('#').next().unwrap_or(path);
    let query = query.split('#').next().unwrap_or(query);
    let query = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(kv, true), String::new()),
        })
        .collect();
    Ok(Request {
        method: method.to_string(),
        path: percent_decode(path, false),
        query,
    })
}

/// Reads a request head (up to the blank line). `Err` carries the status to answer with, or 0 to just close.
fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, u16> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).map_err(|_| 0u16)?;
        if n == 0 {
            return Err(0);
        }
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_end(&buf[from..]) {
            buf.truncate(from + end);
            return Ok(buf);
        }
        if buf.len() > MAX_HEAD {
            return Err(413);
        }
    }
}

/// Where the head ends (index just past the blank line), accepting `\r\n\r\n` and bare `\n\n`.
fn find_end(b: &[u8]) -> Option<usize> {
    for i in 0..b.len() {
        if b[i..].starts_with(b"\r\n\r\n") {
            return Some(i + 4);
        }
        if b[i..].starts_with(b"\n\n") {
            return Some(i + 2);
        }
    }
    None
}

/// Serves one connection: read the head, answer, close.
fn serve_conn(mut stream: TcpStream, handler: &(dyn Fn(&Request) -> Response + Send + Sync)) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let resp = match read_head(&mut stream) {
        Err(0) => return,
        Err(status) => (Response::text(status, status_text(status)), false),
        Ok(head) => match parse_request(&head) {
            Err(status) => (Response::text(status, status_text(status)), false),
            Ok(req) if req.method == "GET" || req.method == "HEAD" => {
                (handler(&req), req.method == "HEAD")
            }
            Ok(_) => (Response::text(405, "Method Not Allowed"), false),
        },
    };
    let _ = stream.write_all(&encode(&resp.0, resp.1));
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Accepts forever on `listener`, one thread per connection up to [`MAX_WORKERS`].
/// Runs on: its own thread (never an executor).
pub fn serve(listener: TcpListener, handler: Arc<dyn Fn(&Request) -> Response + Send + Sync>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else {
            // Out of file descriptors and the like: back off instead of spinning.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if active.fetch_add(1, Ordering::AcqRel) >= MAX_WORKERS {
            active.fetch_sub(1, Ordering::AcqRel);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let busy = Response::text(503, "too many monitoring requests in progress");
            let _ = stream.write_all(&encode(&busy, false));
            continue;
        }
        let handler = handler.clone();
        let done = active.clone();
        let spawned = std::thread::Builder::new()
            .name("monitor-http".into())
            .spawn(move || {
                serve_conn(stream, &*handler);
                done.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_line_path_and_query() {
        let r = parse_request(
            b"GET /connz?subs=1&sort=bytes_to&acc=A%20B&x HTTP/1.1\r\nHost: h\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/connz");
        assert_eq!(r.param("subs"), Some("1"));
        assert_eq!(r.param("sort"), Some("bytes_to"));
        assert_eq!(r.param("acc"), Some("A B"));
        assert_eq!(r.param("x"), Some(""));
        assert_eq!(r.param("y"), None);
        let r = parse_request(b"GET http://h:8222/varz HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(r.path, "/varz");
        let r = parse_request(b"GET / HTTP/1.1\n\n").unwrap();
        assert_eq!(r.path, "/");
    }

    #[test]
    fn rejects_malformed_heads() {
        for bad in [
            &b""[..],
            b"GET\r\n\r\n",
            b"GET /\r\n\r\n",
            b"GET / SPDY/3\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"\xff\xfe / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(parse_request(bad), Err(400), "{bad:?}");
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Eb+c", true), "a.b c");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%4", true), "%zz%4");
        assert_eq!(percent_decode("%e2%9c%93", true), "✓");
    }

    #[test]
    fn finds_end_of_head() {
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(find_end(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n"), None);
    }

    #[test]
    fn encodes_cors_and_length() {
        let r = Response::new(200, JSON, b"{}".to_vec());
        let s = String::from_utf8(encode(&r, false)).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(s.contains("Access-Control-Allow-Origin: *\r\n"));
        assert!(s.contains("Content-Type: application/json\r\n"));
        assert!(s.contains("Content-Length: 2\r\n"));
        assert!(s.ends_with("\r\n\r\n{}"));
        let h = String::from_utf8(encode(&r, true)).unwrap();
        assert!(h.ends_with("\r\n\r\n"));
    }
}
