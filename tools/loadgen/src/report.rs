//! The result of one scenario run and its two renderings: a human line and a JSON line.
//!
//! The JSON line is the contract with the comparison script: one object per line, starting
//! with `{`, field names as in [`Outcome`].

use crate::sys;
use crate::tls::TlsReport;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Loadgen CPU above this fraction of what it may use triggers a warning.
const CPU_WARN: f64 = 0.85;

/// Latency summary in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    /// Summarises a histogram recorded in nanoseconds.
    pub fn from_ns(h: &Histogram<u64>) -> Self {
        let us = |ns: u64| ns as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50: us(h.value_at_quantile(0.50)),
            p90: us(h.value_at_quantile(0.90)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// A latency histogram in nanoseconds from 1 ns to 100 s with 3 significant digits.
#[allow(clippy::expect_used)] // constant, valid bounds: this cannot fail
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("constant histogram bounds are valid")
}

/// Records `ns` into `h`, clamping to the histogram's range.
pub fn record(h: &mut Histogram<u64>, ns: u64) {
    let v = ns.clamp(1, h.high());
    h.saturating_record(v);
}

/// Idle-connection memory figures.
#[derive(Debug, Clone, Serialize)]
pub struct Idle {
    pub conns: usize,
    /// Server RSS before the connections were opened (bytes), if a pid was given.
    pub rss_before: Option<u64>,
    /// Server RSS with all connections open (bytes).
    pub rss_after: Option<u64>,
    pub bytes_per_conn: Option<f64>,
    /// Seconds to open and handshake all connections.
    pub connect_s: f64,
}

/// Connection set-up figures (the handshake scenario); the connect-to-PONG times are in
/// [`Outcome::latency_us`].
#[derive(Debug, Clone, Serialize)]
pub struct Handshakes {
    /// Connections completed (TCP connect, INFO, TLS, CONNECT + PING, PONG, close).
    pub conns: u64,
    /// Threads opening connections at the same time.
    pub parallel: usize,
    /// Completed connections per second.
    pub per_s: f64,
}

/// How busy loadgen itself was.
#[derive(Debug, Clone, Serialize)]
pub struct Cpu {
    /// Process CPU time / wall time (1.0 = one full core).
    pub process: f64,
    /// Highest single-thread CPU time / that thread's wall time.
    pub max_thread: f64,
    /// CPUs loadgen may run on.
    pub cpus: usize,
    /// True when loadgen neared saturation: results may measure loadgen, not the server.
    pub warning: bool,
}

/// Per-thread CPU accounting: create at thread start, finish at thread end.
pub struct ThreadClock {
    wall: Instant,
    cpu: Duration,
}

impl Default for ThreadClock {
    fn default() -> Self {
        Self::start()
    }
}

impl ThreadClock {
    pub fn start() -> Self {
        ThreadClock {
            wall: Instant::now(),
            cpu: sys::thread_cpu(),
        }
    }

    /// Fraction of one core this thread used since `start`.
    pub fn finish(&self) -> f64 {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = (sys::thread_cpu().saturating_sub(self.cpu)).as_secs_f64();
        if wall > 0.0 {
            cpu / wall
        } else {
            0.0
        }
    }
}

/// Process-wide CPU accounting for one scenario.
pub struct ProcessClock {
    wall: Instant,
    cpu: Duration,
}

impl ProcessClock {
    pub fn start() -> Self {
        ProcessClock {
            wall: Instant::now(),
            cpu: sys::process_cpu(),
        }
    }

    pub fn finish(&self, max_thread: f64) -> Cpu {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = sys::process_cpu().saturating_sub(self.cpu).as_secs_f64();
        let process = if wall > 0.0 { cpu / wall } else { 0.0 };
        let cpus = sys::allowed_cpus();
        Cpu {
            process,
            max_thread,
            cpus,
            warning: max_thread > CPU_WARN || process > CPU_WARN * cpus as f64,
        }
    }
}

/// Everything one scenario run reports. Counts are messages; rates are per second.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub scenario: String,
    /// Free-form tag from `--label` (the comparison script puts the server name here).
    pub label: String,
    pub size: usize,
    pub ok: bool,
    pub error: Option<String>,
    pub smoke: bool,
    pub pubs: usize,
    pub subs: usize,
    /// Messages published (all publishers).
    pub sent: u64,
    /// Messages received (all subscribers).
    pub received: u64,
    /// Messages that had to be received for the run to pass.
    pub expected: u64,
    /// Measured interval: first publish to last receive.
    pub elapsed_s: f64,
    pub pub_rate: f64,
    pub recv_rate: f64,
    /// Payload megabytes (10^6) per second, received (published for publish-only).
    pub mb_per_s: f64,
    pub latency_us: Option<Latency>,
    pub idle: Option<Idle>,
    pub handshake: Option<Handshakes>,
    /// TLS settings and what was negotiated; `None` for plain-text runs.
    pub tls: Option<TlsReport>,
    pub cpu: Option<Cpu>,
    /// Extra scenario parameters (in-flight count, rate, subjects ...).
    pub params: serde_json::Value,
}

impl Outcome {
    pub fn new(scenario: &str, label: &str, size: usize, smoke: bool) -> Self {
        Outcome {
            scenario: scenario.to_string(),
            label: label.to_string(),
            size,
            ok: true,
            error: None,
            smoke,
            pubs: 0,
            subs: 0,
            sent: 0,
            received: 0,
            expected: 0,
            elapsed_s: 0.0,
            pub_rate: 0.0,
            recv_rate: 0.0,
            mb_per_s: 0.0,
            latency_us: None,
            idle: None,
            handshake: None,
            tls: None,
            cpu: None,
            params: serde_json::Value::Null,
        }
    }

    /// Runs a scenario's `body` with loadgen's CPU clock around it: a failure is recorded in the
    /// outcome, and `body`'s result is the busiest thread's CPU fraction.
    pub fn measured(
        mut self,
        body: impl FnOnce(&mut Outcome) -> Result<f64, crate::wire::Error>,
    ) -> Outcome {
        let clock = ProcessClock::start();
        let max_thread = match body(&mut self) {
            Ok(t) => t,
            Err(e) => {
                self.failed(e.0);
                0.0
            }
        };
        self.cpu = Some(clock.finish(max_thread));
        self
    }

    /// Fills the rate fields from the counts and `elapsed`.
    pub fn set_rates(&mut self, elapsed: Duration) {
        let s = elapsed.as_secs_f64().max(1e-9);
        self.elapsed_s = elapsed.as_secs_f64();
        self.pub_rate = self.sent as f64 / s;
        self.recv_rate = self.received as f64 / s;
        let msgs = if self.subs == 0 {
            self.sent
        } else {
            self.received
        };
        self.mb_per_s = (msgs as f64 * self.size as f64) / s / 1e6;
    }

    /// Marks the run failed (keeps the first error).
    pub fn failed(&mut self, err: impl Into<String>) {
        self.ok = false;
        if self.error.is_none() {
            self.error = Some(err.into());
        }
    }

    /// The line for people.
    pub fn human(&self) -> String {
        let mut s = format!("{:<8} size={:<6}", self.scenario, self.size);
        if !self.label.is_empty() {
            s = format!("[{}] {s}", self.label);
        }
        if self.pubs > 0 || self.subs > 0 {
            s += &format!(" pubs={} subs={}", self.pubs, self.subs);
        }
        if let Some(h) = &self.handshake {
            s += &format!(
                " conns={} parallel={}: {} conn/s",
                h.conns,
                h.parallel,
                si(h.per_s)
            );
        } else if self.sent > 0 {
            s += &format!(
                " sent={} recv={}/{} in {:.3}s: pub {} msg/s, recv {} msg/s, {:.1} MB/s",
                self.sent,
                self.received,
                self.expected,
                self.elapsed_s,
                si(self.pub_rate),
                si(self.recv_rate),
                self.mb_per_s
            );
        }
        if let Some(t) = &self.tls {
            match &t.negotiated {
                Some(n) => s += &format!(" tls {} {} {}", n.version, n.suite, n.group),
                None => s += " tls",
            }
        }
        if let Some(l) = &self.latency_us {
            s += &format!(
                " latency us: p50 {:.1} p90 {:.1} p99 {:.1} p99.9 {:.1} max {:.1} (n={})",
                l.p50, l.p90, l.p99, l.p999, l.max, l.count
            );
        }
        if let Some(i) = &self.idle {
            s += &format!(" conns={} connect {:.2}s", i.conns, i.connect_s);
            if let (Some(a), Some(b)) = (i.rss_before, i.rss_after) {
                s += &format!(
                    " server RSS {:.1} -> {:.1} MiB",
                    a as f64 / 1048576.0,
                    b as f64 / 1048576.0
                );
            }
            if let Some(b) = i.bytes_per_conn {
                s += &format!(" = {b:.0} B/conn");
            }
        }
        if let Some(c) = &self.cpu {
            s += &format!(
                " | loadgen cpu {:.0}% (max thread {:.0}%)",
                c.process * 100.0,
                c.max_thread * 100.0
            );
            if c.warning {
                s += " WARNING: loadgen near a full core, result may be loadgen-bound";
            }
        }
        match &self.error {
            None => s += " | OK",
            Some(e) => s += &format!(" | FAILED: {e}"),
        }
        s
    }

    /// The line for the comparison script.
    pub fn json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!("{{\"ok\":false,\"error\":\"json: {e}\"}}"))
    }
}

/// 1234567.0 -> "1.23M".
fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_lines() {
        let mut o = Outcome::new("pubsub", "a", 128, true);
        o.subs = 1;
        o.pubs = 1;
        o.sent = 1000;
        o.received = 1000;
        o.expected = 1000;
        o.set_rates(Duration::from_millis(500));
        assert!((o.recv_rate - 2000.0).abs() < 1e-6);
        assert!(o.human().contains("OK"));
        let v: serde_json::Value = serde_json::from_str(&o.json()).unwrap();
        assert_eq!(v["scenario"], "pubsub");
        assert_eq!(v["ok"], true);
        o.failed("lost 3");
        o.failed("second");
        assert_eq!(o.error.as_deref(), Some("lost 3"));
        assert!(o.human().contains("FAILED: lost 3"));
    }

    #[test]
    fn latency_summary() {
        let mut h = new_histogram();
        for i in 1..=1000u64 {
            record(&mut h, i * 1000);
        }
        record(&mut h, 0);
        let l = Latency::from_ns(&h);
        assert_eq!(l.count, 1001);
        assert!((l.p50 - 500.0).abs() < 2.0);
        assert!((l.max - 1000.0).abs() < 2.0);
    }
}
