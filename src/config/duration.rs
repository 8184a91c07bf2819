//! Go-style duration strings (`"2s"`, `"1m30s"`, `"100ms"`, `"1.5h"`, `"-1s"`), the form
//! nats-server's config uses for every time setting (it calls Go's `time.ParseDuration`).

use std::time::Duration;

/// The longest duration a setting may hold: Go's `time.Duration` limit (2^63-1 ns, about 292 years),
/// which nats-server's settings share. Keeping every configured duration under it also keeps
/// `Instant + duration` from overflowing anywhere in the engine.
pub const MAX: Duration = Duration::from_nanos(i64::MAX as u64);

/// A parsed duration with its sign (negative durations mean "unlimited" in a few settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedDuration {
    pub negative: bool,
    pub magnitude: Duration,
}

/// Parses a Go duration string. The error text follows Go's (`time: invalid duration "x"`).
pub fn parse(s: &str) -> Result<SignedDuration, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(SignedDuration {
            negative: false,
            magnitude: Duration::ZERO,
        });
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            _ => return Err(format!("time: unknown unit {unit:?} in duration {s:?}")),
        };
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut nanos = int.checked_mul(unit_nanos).ok_or_else(invalid)?;
        let mut scale = unit_nanos;
        for d in frac_part.chars() {
            scale /= 10;
            nanos += u128::from(d.to_digit(10).unwrap_or(0)) * scale;
        }
        total_nanos = total_nanos.checked_add(nanos).ok_or_else(invalid)?;
    }
    if total_nanos > i64::MAX as u128 {
        return Err(invalid());
    }
    Ok(SignedDuration {
        negative: negative && total_nanos > 0,
        magnitude: Duration::from_nanos(total_nanos as u64),
    })
}

/// Formats a duration the way Go's `time.Duration.String` does (`0s`, `1.5s`, `2m0s`, `1h0m0s`,
/// `100ms`, `20µs`, `7ns`), for messages that quote a value as nats-server would.
pub fn go_string(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", fraction(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", fraction(nanos, 1_000_000));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = nanos / 60_000_000_000 % 60;
    let seconds = fraction(nanos % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `n / unit` with its fractional digits, trailing zeros removed (`1500, 1000` → `1.5`).
fn fraction(n: u128, unit: u128) -> String {
    let whole = n / unit;
    let rest = n % unit;
    if rest == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Duration {
        parse(s).unwrap().magnitude
    }

    #[test]
    fn go_forms() {
        assert_eq!(d("2s"), Duration::from_secs(2));
        assert_eq!(d("1m30s"), Duration::from_secs(90));
        assert_eq!(d("100ms"), Duration::from_millis(100));
        assert_eq!(d("20us"), Duration::from_micros(20));
        assert_eq!(d("1.5h"), Duration::from_secs(5400));
        assert_eq!(d("0"), Duration::ZERO);
        assert!(parse("-1s").unwrap().negative);
        assert_eq!(parse("abc").unwrap_err(), "time: invalid duration \"abc\"");
        assert_eq!(
            parse("10").unwrap_err(),
            "time: missing unit in duration \"10\""
        );
        assert_eq!(
            parse("3d").unwrap_err(),
            "time: unknown unit \"d\" in duration \"3d\""
        );
        assert!(parse("").is_err());
        assert!(parse("9999999999h").is_err());
    }

    #[test]
    fn go_strings() {
        for (text, want) in [
            ("0s", "0s"),
            ("7ns", "7ns"),
            ("20us", "20µs"),
            ("1500us", "1.5ms"),
            ("100ms", "100ms"),
            ("1.5s", "1.5s"),
            ("29s", "29s"),
            ("90s", "1m30s"),
            ("2m", "2m0s"),
            ("1h", "1h0m0s"),
            ("1h2m3.25s", "1h2m3.25s"),
        ] {
            assert_eq!(go_string(d(text)), want, "{text}");
        }
    }
}
