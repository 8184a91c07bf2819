//! Process figures for `/varz`: resident memory (`VmRSS` of `/proc/self/status`) and CPU use in percent
//! of one core (utime + stime of `/proc/self/stat`, averaged since the previous sample, as nats-server's
//! `pse` does once a second). Linux only; elsewhere both read as 0.

use std::time::{Duration, Instant};

/// Resident set size in bytes (0 when unknown).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_vm_rss(&s))
        .unwrap_or(0)
}

/// `VmRSS:   1234 kB` → bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line["VmRSS:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// utime + stime in clock ticks from the text of `/proc/<pid>/stat`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name is in parentheses and may itself hold spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is the state (field 3); utime is field 14 and stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn cpu_ticks() -> Option<u64> {
    parse_cpu_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// Process CPU percent, recomputed at most once per [`CpuSampler::PERIOD`].
pub struct CpuSampler {
    last_ticks: u64,
    last_at: Instant,
    pcpu: f64,
    hz: f64,
}

impl Default for CpuSampler {
    fn default() -> Self {
        CpuSampler::new()
    }
}

impl CpuSampler {
    pub const PERIOD: Duration = Duration::from_secs(1);

    pub fn new() -> CpuSampler {
        CpuSampler {
            last_ticks: cpu_ticks().unwrap_or(0),
            last_at: Instant::now(),
            pcpu: 0.0,
            hz: ticks_per_second(),
        }
    }

    /// The CPU percent over the last period (100 = one core busy).
    pub fn sample(&mut self) -> f64 {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_at);
        if elapsed >= Self::PERIOD {
            if let Some(t) = cpu_ticks() {
                let used = t.saturating_sub(self.last_ticks) as f64 / self.hz;
                let pcpu = used / elapsed.as_secs_f64() * 100.0;
                self.pcpu = (pcpu * 10.0).round() / 10.0;
                self.last_ticks = t;
            }
            self.last_at = now;
        }
        self.pcpu
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_texts() {
        let status = "Name:\tx\nVmPeak:\t  9999 kB\nVmRSS:\t    2048 kB\nThreads: 3\n";
        assert_eq!(parse_vm_rss(status), Some(2048 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1 2 3";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn reads_this_process() {
        if cfg!(target_os = "linux") {
            assert!(rss_bytes() > 0);
            assert!(cpu_ticks().is_some());
        }
        let mut s = CpuSampler::new();
        assert!(s.sample() >= 0.0);
    }
}
