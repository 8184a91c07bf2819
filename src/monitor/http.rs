//! The monitor's HTTP/1.1 transport: hyper's http1 server on a tokio current-thread runtime that runs on
//! the monitor's own thread, never on an executor (the shards pay nothing for it). With `https_port`,
//! each connection is a TLS session first ([`super::https`]).
//!
//! Endpoints stay plain synchronous functions from [`Request`] to [`Response`]. Each request's handler
//! runs on tokio's blocking pool ([`Limits::handler_threads`] threads at most): it waits for the shards'
//! snapshots and renders JSON, and neither may hold up the runtime thread, which only accepts, parses and
//! writes. Methods other than GET and HEAD get 405 without reaching a handler.
//!
//! Bounds against abusive clients (all in [`LIMITS`]):
//! - a request head must arrive within [`Limits::header_timeout`] of the moment the server starts
//!   waiting for it (after accept, and after each response on a keep-alive connection), so a client
//!   that trickles its headers, or sits idle between requests, is dropped;
//! - a response write that makes no progress for [`Limits::write_timeout`] closes the connection (a
//!   client that sends requests but never reads the answers);
//! - a request head larger than [`Limits::max_head`] is refused (431);
//! - at most [`Limits::max_conns`] connections are served at once; a connection beyond that gets a
//!   fixed 503 with one non-blocking write and is closed. With the limits above, memory stays bounded
//!   (connections × buffer) and a slot is never held for long by a client that does not make progress.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, HOST,
    LOCATION,
};
use hyper::{Method, StatusCode, Uri, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::https::{self, HttpsConfig};

/// What bounds the monitor's HTTP server. See the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest the server waits for a complete request head (nats-server's monitor uses Go's
    /// `ReadHeaderTimeout` of 5 s). Also the longest a keep-alive connection may sit idle.
    pub header_timeout: Duration,
    /// The longest a response write may make no progress.
    pub write_timeout: Duration,
    /// Connections served at once.
    pub max_conns: usize,
    /// Threads of the blocking pool that run handlers. Each may wait up to `SNAPSHOT_TIMEOUT` for the
    /// shards; requests beyond these wait in tokio's queue, which `max_conns` bounds (HTTP/1 serves one
    /// request per connection at a time).
    pub handler_threads: usize,
    /// Largest request head, in bytes (hyper's read buffer; at least 8 KiB).
    pub max_head: usize,
}

/// The limits the server runs with.
pub const LIMITS: Limits = Limits {
    header_timeout: Duration::from_secs(5),
    write_timeout: Duration::from_secs(10),
    max_conns: 1024,
    handler_threads: 4,
    max_head: 16 * 1024,
};

/// What a connection over [`Limits::max_conns`] is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 40\r\nConnection: close\r\n\r\ntoo many monitoring requests in progress";

/// A parsed request: method, decoded path, decoded query parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Each query value's decoded bytes (same order as `query`), for error texts that quote a value
    /// exactly as Go does (bytes that are not UTF-8 as `\xNN`).
    pub raw_values: Vec<Vec<u8>>,
}

impl Request {
    /// The first value of a query parameter (nats-server's `r.URL.Query().Get`): `None` when absent.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter as decoded bytes.
    pub fn param_bytes(&self, key: &str) -> Option<&[u8]> {
        let i = self.query.iter().position(|(k, _)| k == key)?;
        self.raw_values.get(i).map(Vec::as_slice)
    }

    /// A request for `path` (percent-encoded, as on the request line) and `query` (the raw text after
    /// `?`, if any): the path is percent-decoded, the query is read as Go's `url.ParseQuery` reads it:
    /// pairs split at `&`, `+` is a space, and a pair with a `;` or a bad `%` escape is dropped. A
    /// `#fragment` is ignored.
    pub fn new(method: &str, path: &str, query: Option<&str>) -> Request {
        let path = path.split('#').next().unwrap_or(path);
        let query = query.unwrap_or("");
        let query = query.split('#').next().unwrap_or(query);
        let mut pairs = Vec::new();
        let mut raw_values = Vec::new();
        for kv in query
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.contains(';'))
        {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let (Some(k), Some(v)) = (unescape(k, true), unescape(v, true)) else {
                continue;
            };
            pairs.push((
                String::from_utf8_lossy(&k).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            ));
            raw_values.push(v);
        }
        Request {
            method: method.to_string(),
            path: percent_decode(path, false),
            query: pairs,
            raw_values,
        }
    }

    /// The request a URI names (origin form `/p?q` or absolute form `http://h/p?q`).
    pub fn from_uri(method: &str, uri: &Uri) -> Request {
        Request::new(method, uri.path(), uri.query())
    }
}

/// Go's `url.QueryUnescape` (with `plus`) / `PathUnescape`: `None` when a `%` is not followed by two
/// hex digits.
pub fn unescape(s: &str, plus: bool) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: Option<&u8>| c.and_then(|c| (*c as char).to_digit(16));
                let (h, l) = (hex(b.get(i + 1))?, hex(b.get(i + 2))?);
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    Some(out)
}

/// Go's `path.Clean` for a request path, as its `ServeMux` applies it before routing (a trailing
/// slash is kept): `//varz` → `/varz`, `/a/../b` → `/b`.
pub fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = String::with_capacity(p.len());
    for s in &parts {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || p.ends_with('/') || p.ends_with("/.") || p.ends_with("/..") {
        out.push('/');
    }
    out
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

/// An endpoint dispatcher: called on the blocking pool, once per request.
pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// The runtime the server runs on: current-thread (it runs on the thread that calls [`serve`]), with
/// I/O, timers and a blocking pool of `limits.handler_threads` threads.
pub fn runtime(limits: &Limits) -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(limits.handler_threads.max(1))
        .thread_name("monitor-handler")
        .build()
}

/// Accepts on `listener` and serves until the process ends: plain HTTP, or HTTPS with the
/// configuration `tls` holds at each accept (the handshake bounded by [`Limits::header_timeout`]).
/// Runs on: the monitor thread (never an executor); handlers on the runtime's blocking pool.
pub fn serve(
    rt: tokio::runtime::Runtime,
    listener: std::net::TcpListener,
    handler: Handler,
    limits: Limits,
    tls: Option<HttpsConfig>,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    rt.block_on(accept_loop(listener, handler, limits, tls))
}

/// Gives a connection slot back when the connection's task ends, however it ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    handler: Handler,
    limits: Limits,
    tls: Option<HttpsConfig>,
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let active = Arc::new(AtomicUsize::new(0));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .title_case_headers(true)
        .max_buf_size(limits.max_head.max(8192));
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if active.load(Ordering::Acquire) >= limits.max_conns {
            // One attempt, never a wait: the socket's buffer takes these few bytes or the client
            // sees the connection close (over HTTPS it sees a broken handshake).
            let _ = stream.try_write(BUSY);
            continue;
        }
        active.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(active.clone());
        let _ = stream.set_nodelay(true);
        let io = WriteDeadline::new(stream, limits.write_timeout);
        let (http, handler) = (http.clone(), handler.clone());
        let tls = tls.as_ref().map(HttpsConfig::current);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timeout, malformed request, failed handshake);
            // hyper has already answered what can be answered.
            match tls {
                None => serve_connection(&http, io, handler).await,
                Some(cfg) => {
                    if let Ok(io) = https::accept(io, cfg, limits.header_timeout).await {
                        serve_connection(&http, io, handler).await;
                    }
                }
            }
            drop(slot);
        });
    }
}

/// Serves HTTP/1.1 requests on one connection (plain or inside TLS) until it closes.
async fn serve_connection<I>(http: &hyper::server::conn::http1::Builder, io: I, handler: Handler)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(respond(&req, handler).await) }
    });
    let _ = http.serve_connection(TokioIo::new(io), service).await;
}

/// Runs the handler for GET and HEAD on the blocking pool; 405 for anything else. The body of a HEAD
/// answer is dropped by hyper, which keeps its `Content-Length`.
async fn respond(req: &hyper::Request<Incoming>, handler: Handler) -> hyper::Response<Full<Bytes>> {
    if let Some(early) = refuse_or_redirect(req) {
        return early;
    }
    let method = req.method();
    let resp = if method == Method::GET || method == Method::HEAD {
        let r = Request::from_uri(method.as_str(), req.uri());
        match tokio::task::spawn_blocking(move || handler(&r)).await {
            Ok(resp) => resp,
            Err(_) => Response::text(500, "Internal Server Error"),
        }
    } else {
        Response::text(405, "Method Not Allowed")
    };
    to_hyper(resp)
}

/// What Go's HTTP server answers before any handler runs: 400 for HTTP/1.1 without `Host` or a path
/// with a bad `%` escape (and the connection is closed), 307 to the clean path when the path has
/// `//`, `.` or `..` segments (its `ServeMux`).
fn refuse_or_redirect(req: &hyper::Request<Incoming>) -> Option<hyper::Response<Full<Bytes>>> {
    let bad = |body: &'static str| {
        let mut r = to_hyper(Response::text(400, body));
        r.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        r
    };
    if req.version() == Version::HTTP_11 && !req.headers().contains_key(HOST) {
        return Some(bad("400 Bad Request: missing required Host header"));
    }
    let path = req.uri().path();
    if unescape(path, false).is_none() {
        return Some(bad("400 Bad Request"));
    }
    let clean = clean_path(path);
    if clean != path && req.method() != Method::CONNECT {
        let target = match req.uri().query() {
            Some(q) => format!("{clean}?{q}"),
            None => clean,
        };
        let body = format!("<a href=\"{target}\">Temporary Redirect</a>.\n\n");
        let mut r = to_hyper(Response::new(307, HTML, body));
        if let Ok(v) = HeaderValue::from_str(&target) {
            r.headers_mut().insert(LOCATION, v);
        }
        return Some(r);
    }
    None
}

/// The response with the headers every monitor answer carries: its content type, CORS for any origin
/// and `Cache-Control: no-cache` (hyper adds `Content-Length` and `Date`).
fn to_hyper(r: Response) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(Bytes::from(r.body)));
    *out.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = out.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(r.content_type));
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out
}

/// A socket whose writes fail with `TimedOut` once one has made no progress for `timeout`. Reads pass
/// through (hyper's header timeout covers them).
struct WriteDeadline {
    io: TcpStream,
    timeout: Duration,
    /// Running while a write is blocked; cleared by any write that goes through.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl WriteDeadline {
    fn new(io: TcpStream, timeout: Duration) -> WriteDeadline {
        WriteDeadline {
            io,
            timeout,
            stalled: None,
        }
    }

    /// After a write returned `Pending`: starts the stall timer, or fails once it has run out.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timeout = self.timeout;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "monitor client does not read its responses",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress<T>(&mut self, r: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match r {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.io).poll_write(cx, buf);
        me.progress(r, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.io).poll_write_vectored(cx, bufs);
        me.progress(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.io).poll_flush(cx);
        me.progress(r, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.io).poll_shutdown(cx);
        me.progress(r, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream as StdStream};
    use std::time::Instant;

    #[test]
    fn parses_path_and_query() {
        let r = Request::new(
            "GET",
            "/connz",
            Some("subs=1&sort=bytes_to&acc=A%20B&x&cb=a+b"),
        );
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/connz");
        assert_eq!(r.param("subs"), Some("1"));
        assert_eq!(r.param("sort"), Some("bytes_to"));
        assert_eq!(r.param("acc"), Some("A B"));
        assert_eq!(r.param("x"), Some(""));
        assert_eq!(r.param("cb"), Some("a b"));
        assert_eq!(r.param("y"), None);
        let uri: Uri = "http://h:8222/varz?a=%2E".parse().unwrap();
        let r = Request::from_uri("GET", &uri);
        assert_eq!((r.path.as_str(), r.param("a")), ("/varz", Some(".")));
        let uri: Uri = "/a%2Bb+c".parse().unwrap();
        assert_eq!(Request::from_uri("HEAD", &uri).path, "/a+b+c");
        assert_eq!(Request::new("GET", "/", None).query, vec![]);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Eb+c", true), "a.b c");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%4", true), "%zz%4");
        assert_eq!(percent_decode("%e2%9c%93", true), "✓");
    }

    /// Starts a server on its own thread with `limits`; the handler echoes the path and query, and
    /// `/big` answers `big` bytes.
    fn start(limits: Limits, big: usize) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handler: Handler = Arc::new(move |r: &Request| {
            if r.path == "/big" {
                return Response::new(200, TEXT, vec![b'x'; big]);
            }
            Response::new(200, JSON, format!("{}|{:?}", r.path, r.query))
        });
        let rt = runtime(&limits).unwrap();
        std::thread::spawn(move || serve(rt, listener, handler, limits, None));
        addr
    }

    fn connect(addr: SocketAddr) -> StdStream {
        let s = StdStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Reads one response (head and `Content-Length` body; no body for HEAD).
    fn read_response(s: &mut StdStream, head_only: bool) -> (String, Vec<u8>) {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).unwrap(), 1, "closed mid-head: {buf:?}");
            buf.push(byte[0]);
        }
        let head = String::from_utf8(buf).unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .map_or(0, |v| v.trim().parse().unwrap());
        let mut body = vec![0u8; if head_only { 0 } else { len }];
        s.read_exact(&mut body).unwrap();
        (head, body)
    }

    /// True when the peer closes (EOF or reset) within `wait`.
    fn closed_within(s: &mut StdStream, wait: Duration) -> bool {
        s.set_read_timeout(Some(wait)).unwrap();
        let mut b = [0u8; 64];
        loop {
            match s.read(&mut b) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => {
                    return !matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    )
                }
            }
        }
    }

    #[test]
    fn keep_alive_headers_head_and_405() {
        let addr = start(LIMITS, 0);
        let mut s = connect(addr);
        for _ in 0..2 {
            s.write_all(b"GET /v%61rz?acc=A%20B HTTP/1.1\r\nHost: h\r\n\r\n")
                .unwrap();
            let (head, body) = read_response(&mut s, false);
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
            assert!(
                head.contains("Content-Type: application/json\r\n"),
                "{head}"
            );
            assert!(
                head.contains("Access-Control-Allow-Origin: *\r\n"),
                "{head}"
            );
            assert!(head.contains("Cache-Control: no-cache\r\n"), "{head}");
            assert!(!head.contains("Connection: close"), "{head}");
            assert_eq!(
                String::from_utf8(body).unwrap(),
                r#"/varz|[("acc", "A B")]"#
            );
        }
        // HEAD: the length of the GET body, no body.
        s.write_all(b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
        let (head, _) = read_response(&mut s, true);
        assert!(head.contains("Content-Length: 5\r\n"), "{head}");
        s.write_all(b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let (head, body) = read_response(&mut s, false);
        assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
        assert_eq!(body, b"Method Not Allowed");
        // The connection still serves after all of that (the HEAD left no body behind).
        s.write_all(b"GET /y HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut s, false).1, b"/y|[]");
        // HTTP/1.0 without keep-alive: answered, then closed.
        let mut s = connect(addr);
        s.write_all(b"GET /z HTTP/1.0\r\n\r\n").unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert!(
            all.ends_with(b"\r\n\r\n/z|[]"),
            "{}",
            String::from_utf8_lossy(&all)
        );
    }

    #[test]
    fn oversized_head_is_refused() {
        let addr = start(LIMITS, 0);
        let mut s = connect(addr);
        let long = "a".repeat(LIMITS.max_head + 1);
        let _ = s.write_all(format!("GET /x HTTP/1.1\r\nX-Long: {long}\r\n\r\n").as_bytes());
        let (head, _) = read_response(&mut s, false);
        assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
    }

    #[test]
    fn slow_heads_are_dropped_while_others_are_served() {
        let limits = Limits {
            header_timeout: Duration::from_millis(500),
            ..LIMITS
        };
        let addr = start(limits, 0);
        let mut slow: Vec<StdStream> = (0..8).map(|_| connect(addr)).collect();
        for s in &mut slow {
            s.write_all(b"GET /slow HTT").unwrap();
        }
        let mut idle = connect(addr);
        let t = Instant::now();
        let mut fast = connect(addr);
        fast.write_all(b"GET /fast HTTP/1.1\r\nHost: h\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut fast, false).1, b"/fast|[]");
        // The keep-alive connection that now sits idle is dropped too.
        for s in slow.iter_mut().chain([&mut idle, &mut fast]) {
            assert!(closed_within(s, Duration::from_secs(5)));
        }
        assert!(
            t.elapsed() >= Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn connections_beyond_the_cap_get_503_and_slots_come_back() {
        let limits = Limits {
            max_conns: 2,
            header_timeout: Duration::from_secs(2),
            ..LIMITS
        };
        let addr = start(limits, 0);
        let mut held: Vec<StdStream> = (0..2).map(|_| connect(addr)).collect();
        // A round trip on each proves the server has accepted both.
        for s in &mut held {
            s.write_all(b"GET /h HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
            read_response(s, false);
        }
        let mut over = connect(addr);
        let mut all = Vec::new();
        let _ = over.read_to_end(&mut all);
        let text = String::from_utf8_lossy(&all);
        assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
        assert!(
            text.ends_with("too many monitoring requests in progress"),
            "{text}"
        );
        drop(held);
        // Freed slots serve again (the server notices the closes asynchronously).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut s = connect(addr);
            s.write_all(b"GET /again HTTP/1.0\r\n\r\n").unwrap();
            let mut all = Vec::new();
            let _ = s.read_to_end(&mut all);
            if all.ends_with(b"/again|[]") {
                break;
            }
            assert!(Instant::now() < deadline, "slots never came back");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_client_that_does_not_read_loses_its_slot() {
        let limits = Limits {
            max_conns: 1,
            write_timeout: Duration::from_millis(500),
            ..LIMITS
        };
        // Larger than what loopback socket buffers take, so the write stalls.
        let addr = start(limits, 64 << 20);
        let stuck = connect(addr);
        (&stuck)
            .write_all(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
            .unwrap();
        let t = Instant::now();
        let deadline = t + Duration::from_secs(8);
        loop {
            let mut s = connect(addr);
            s.write_all(b"GET /ok HTTP/1.0\r\n\r\n").unwrap();
            let mut all = Vec::new();
            let _ = s.read_to_end(&mut all);
            if all.ends_with(b"/ok|[]") {
                // The write deadline freed it, not the (longer) header timeout.
                assert!(t.elapsed() < limits.header_timeout, "{:?}", t.elapsed());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the stuck connection kept its slot"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(stuck);
    }
}
