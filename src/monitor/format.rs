//! How nats-server prints times and durations in its monitoring JSON: RFC 3339 timestamps with
//! nanoseconds (Go's `time.RFC3339Nano`, trailing zeros trimmed), the compact uptime form `1d2h3m4s`,
//! and Go's `Duration.String()` for RTTs. Pure functions, no clock reads.

use std::fmt::Write;

/// `2024-01-02T15:04:05.123456789Z` (UTC, trailing zeros of the fraction trimmed, no fraction when 0).
pub fn rfc3339(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    let nanos = (unix_ns % 1_000_000_000) as u32;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let mut s = String::with_capacity(32);
    let _ = write!(
        s,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// nats-server's `myUptime`: whole seconds as `3s`, `2m3s`, `1h2m3s`, `4d1h2m3s`, `1y4d1h2m3s`.
pub fn uptime(ns: u64) -> String {
    let tsecs = ns / 1_000_000_000;
    let tmins = tsecs / 60;
    let thrs = tmins / 60;
    let tdays = thrs / 24;
    let tyrs = tdays / 365;
    if tyrs > 0 {
        format!(
            "{tyrs}y{}d{}h{}m{}s",
            tdays % 365,
            thrs % 24,
            tmins % 60,
            tsecs % 60
        )
    } else if tdays > 0 {
        format!("{tdays}d{}h{}m{}s", thrs % 24, tmins % 60, tsecs % 60)
    } else if thrs > 0 {
        format!("{thrs}h{}m{}s", tmins % 60, tsecs % 60)
    } else if tmins > 0 {
        format!("{tmins}m{}s", tsecs % 60)
    } else {
        format!("{tsecs}s")
    }
}

/// Go's `time.Duration.String()` for non-negative durations: `0s`, `1.5µs`, `2.25ms`, `1m2.5s` (the
/// config module's formatter, from nanoseconds).
pub fn go_duration(ns: u64) -> String {
    crate::config::go_duration(std::time::Duration::from_nanos(ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_go() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2024-02-29T12:34:56.5Z (leap day)
        assert_eq!(rfc3339(1_709_210_096_500_000_000), "2024-02-29T12:34:56.5Z");
        assert_eq!(
            rfc3339(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(rfc3339(4_102_444_799_000_000_000), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn uptime_matches_nats() {
        let s = 1_000_000_000u64;
        assert_eq!(uptime(0), "0s");
        assert_eq!(uptime(999_999_999), "0s");
        assert_eq!(uptime(59 * s), "59s");
        assert_eq!(uptime(62 * s), "1m2s");
        assert_eq!(uptime(3723 * s), "1h2m3s");
        assert_eq!(uptime((86_400 + 3600) * s), "1d1h0m0s");
        assert_eq!(uptime((366 * 86_400 + 5) * s), "1y1d0h0m5s");
    }

    #[test]
    fn go_duration_matches_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(15), "15ns");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(2_250_000), "2.25ms");
        assert_eq!(go_duration(1_000_000_000), "1s");
        assert_eq!(go_duration(62_500_000_000), "1m2.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
    }
}
