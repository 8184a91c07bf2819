//! Helpers for the monitoring tests: start a server with `-m -1` and learn the monitor port from the log
//! line `Starting http monitor on 127.0.0.1:PORT`, a tiny HTTP GET over std `TcpStream`, and a strict
//! checker of the Prometheus text exposition format. Works against corenats and real nats-server.
#![allow(dead_code)]

use super::{Server, ServerOpts, TIMEOUT};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A server with monitoring on a random port.
pub struct Mon {
    pub server: Server,
    pub http: u16,
}

/// The monitor port from a log, if the line is there.
pub fn monitor_port(log: &str) -> Option<u16> {
    let at = log.find("Starting http monitor on ")?;
    let line = log[at..].lines().next()?;
    line.rsplit(':').next()?.trim().parse().ok()
}

impl Mon {
    /// Starts the server with `-m -1` plus `opts`, and waits for the monitor line.
    pub fn start(mut opts: ServerOpts) -> Mon {
        opts.args.extend(["-m".to_string(), "-1".to_string()]);
        let server = Server::start(opts);
        assert!(
            server.wait_for_log("Starting http monitor on ", TIMEOUT),
            "no monitor line in log:\n{}",
            server.log()
        );
        let http = monitor_port(&server.log()).expect("monitor port in log");
        Mon { server, http }
    }

    pub fn plain() -> Mon {
        Mon::start(ServerOpts::default())
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        get(self.http, path)
    }

    /// GET that must answer 200 with JSON and CORS; returns the parsed body.
    pub fn json(&self, path: &str) -> Value {
        Mon::json_at(self.http, path)
    }

    /// [`Mon::json`] against any monitor port.
    pub fn json_at(http: u16, path: &str) -> Value {
        let r = get(http, path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "GET {path}: content type {:?}",
            r.header("content-type")
        );
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("*"),
            "GET {path}"
        );
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("GET {path}: {e}: {}", r.body))
    }
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A bounded HTTP/1.0 GET to 127.0.0.1:`port`.
pub fn get(port: u16, path: &str) -> HttpResponse {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("response head");
    let mut lines = head.lines();
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

/// One sample of an exposition: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, k: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

fn valid_metric_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !n.starts_with("__")
}

/// Parses `{a="x",b="y"}` (the text after the metric name up to the value); returns labels and the rest.
type Labels = Vec<(String, String)>;

fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let Some(mut rest) = s.strip_prefix('{') else {
        return Ok((Vec::new(), s));
    };
    let mut labels = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest.find('=').ok_or("label without '='")?;
        let name = &rest[..eq];
        if !valid_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("newline in label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.iter().any(|(n, _): &(String, String)| n == name) {
            return Err(format!("duplicate label {name}"));
        }
        labels.push((name.to_string(), value));
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("expected ',' or '}' after label".into());
        }
    }
}

fn parse_value(v: &str) -> Result<f64, String> {
    match v {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => v.parse::<f64>().map_err(|_| format!("bad value {v:?}")),
    }
}

/// Strict check of the text exposition format 0.0.4 as corenats writes it: every family announced by
/// `# HELP` then `# TYPE` (counter|gauge) before its samples, samples of a family contiguous, no family
/// twice, counters named `*_total` and non-negative, valid names and label syntax, no duplicate series,
/// no timestamps, text ending in a newline. Returns the samples.
pub fn check_exposition(text: &str) -> Result<Vec<Sample>, String> {
    if !text.ends_with('\n') {
        return Err("text does not end with a newline".into());
    }
    let mut seen_families: HashSet<String> = HashSet::new();
    let mut current: Option<(String, String)> = None; // (family, type)
    let mut pending_help: Option<String> = None;
    let mut series: HashSet<String> = HashSet::new();
    let mut samples = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let no = no + 1;
        let err = |m: String| format!("line {no}: {m}: {line:?}");
        if line.is_empty() {
            return Err(err("empty line".into()));
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest
                .split_once(' ')
                .ok_or_else(|| err("HELP without text".into()))?;
            if !valid_metric_name(name) || help.trim().is_empty() {
                return Err(err("bad HELP".into()));
            }
            if seen_families.contains(name) {
                return Err(err(format!("family {name} appears twice")));
            }
            pending_help = Some(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| err("TYPE without kind".into()))?;
            if pending_help.as_deref() != Some(name) {
                return Err(err("TYPE not right after its HELP".into()));
            }
            if !matches!(kind, "counter" | "gauge") {
                return Err(err(format!("unexpected type {kind}")));
            }
            if kind == "counter" && !name.ends_with("_total") {
                return Err(err("counter not named *_total".into()));
            }
            seen_families.insert(name.to_string());
            current = Some((name.to_string(), kind.to_string()));
            pending_help = None;
            continue;
        }
        if line.starts_with('#') {
            return Err(err("unexpected comment".into()));
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("sample without value".into()))?;
        let name = &line[..name_end];
        let Some((family, kind)) = &current else {
            return Err(err("sample before any TYPE".into()));
        };
        if name != family {
            return Err(err(format!("sample of {name} inside family {family}")));
        }
        let (labels, rest) = parse_labels(&line[name_end..]).map_err(err)?;
        let value_text = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before value".into()))?;
        if value_text.contains(' ') {
            return Err(err("timestamps or trailing text are not expected".into()));
        }
        let value = parse_value(value_text).map_err(err)?;
        if kind == "counter" && (value.is_nan() || value < 0.0) {
            return Err(err("negative or NaN counter".into()));
        }
        let mut key: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        key.sort();
        if !series.insert(format!("{name}{{{}}}", key.join(","))) {
            return Err(err("duplicate series".into()));
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    if pending_help.is_some() {
        return Err("HELP without TYPE at the end".into());
    }
    Ok(samples)
}

/// Keys of a JSON object (empty for anything else).
pub fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

impl Mon {
    /// Messages received per shard (corenats `/metrics`, `corenats_shard_in_msgs_total`).
    pub fn shard_in_msgs(&self) -> HashMap<String, f64> {
        let text = self.get("/metrics").body;
        check_exposition(&text)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .filter(|s| s.name == "corenats_shard_in_msgs_total")
            .filter_map(|s| Some((s.label("shard")?.to_string(), s.value)))
            .collect()
    }

    /// A connection (made by `connect`, ready) that lives on shard `want` of a corenats server: tries
    /// new connections, each publishing one message to learn its shard from `/metrics`; the others are
    /// closed. Against nats-server (one process) the first connection is returned.
    pub fn on_shard(&self, want: usize, connect: impl Fn() -> super::Raw) -> super::Raw {
        if !super::is_corenats() {
            return connect();
        }
        for _ in 0..200 {
            let mut c = connect();
            let before = self.shard_in_msgs();
            c.send(b"PUB _placement.probe 0\r\n\r\n");
            c.ping_pong();
            let after = self.shard_in_msgs();
            let moved: Vec<&String> = after
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(*v))
                .map(|(k, _)| k)
                .collect();
            if moved.len() == 1 && *moved[0] == want.to_string() {
                return c;
            }
        }
        panic!("no connection landed on shard {want}");
    }
}
