//! Logging through `tracing`, formatted like nats-server's log lines (tools parse them):
//! `[PID] 2006/01/02 15:04:05.000000 [INF] Listening for client connections on 0.0.0.0:4222`.
//! `-D` enables debug, `-V` protocol trace; when off, disabled events cost one level check.
//! glommio logs through the `log` crate; that is bridged in here so its warnings are not lost.
//! A log file (`-l`) can be reopened (`--signal reopen`, SIGUSR1) after logrotate moved it.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub struct Settings {
    pub debug: bool,
    pub trace: bool,
    pub logtime: bool,
    pub file: Option<std::path::PathBuf>,
}

struct NatsFormat {
    logtime: bool,
    pid: u32,
}

impl<S, N> FormatEvent<S, N> for NatsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(w, "[{}] ", self.pid)?;
        if self.logtime {
            write_time(&mut w)?;
        }
        let lvl = match *event.metadata().level() {
            Level::ERROR => "[ERR]",
            Level::WARN => "[WRN]",
            Level::INFO => "[INF]",
            Level::DEBUG => "[DBG]",
            Level::TRACE => "[TRC]",
        };
        write!(w, "{lvl} ")?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(f) = ext.get::<tracing_subscriber::fmt::FormattedFields<N>>() {
                    if !f.is_empty() {
                        write!(w, "{} - ", f)?;
                    }
                }
            }
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// `2006/01/02 15:04:05.000000 ` in UTC.
fn write_time(w: &mut Writer<'_>) -> fmt::Result {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    write!(
        w,
        "{y:04}/{m:02}/{d:02} {:02}:{:02}:{:02}.{:06} ",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        now.subsec_micros()
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The log file in use, shared by the log layer and `reopen` (the signal thread).
#[derive(Clone)]
struct LogFile {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

/// Set once at start when logging goes to a file.
static LOG_FILE: OnceLock<LogFile> = OnceLock::new();

fn open_log(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// One log line's access to the file: the lock is held while the line is written.
struct LogGuard<'a>(MutexGuard<'a, File>);

impl io::Write for LogGuard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogFile {
    type Writer = LogGuard<'a>;
    fn make_writer(&'a self) -> LogGuard<'a> {
        LogGuard(self.file.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What `reopen` did, for the log line the caller writes (nats-server's wording).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reopen {
    Reopened,
    NotAFileLogger,
    Failed(String),
}

/// Reopens the log file at its path (logrotate moved the old one away): later lines go to the new
/// file. Lines being written finish in the old one.
pub fn reopen() -> Reopen {
    let Some(lf) = LOG_FILE.get() else {
        return Reopen::NotAFileLogger;
    };
    match open_log(&lf.path) {
        Ok(f) => {
            *lf.file.lock().unwrap_or_else(|e| e.into_inner()) = f;
            Reopen::Reopened
        }
        Err(e) => Reopen::Failed(format!(
            "could not reopen log file {}: {e}",
            lf.path.display()
        )),
    }
}

pub fn init(s: &Settings) -> Result<(), String> {
    let level = if s.trace {
        Level::TRACE
    } else if s.debug {
        Level::DEBUG
    } else {
        Level::INFO
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(level)
        .with_target("glommio", Level::WARN);
    let fmt = NatsFormat {
        logtime: s.logtime,
        pid: std::process::id(),
    };
    use tracing_subscriber::prelude::*;
    // As nats-server: `-V` alone traces the protocol without the debug lines (`-DV` has both).
    let debug = s.debug || !s.trace;
    let no_debug =
        tracing_subscriber::filter::filter_fn(move |m| debug || *m.level() != Level::DEBUG);
    let registry = tracing_subscriber::registry().with(filter).with(no_debug);
    match &s.file {
        Some(path) => {
            let file = open_log(path)
                .map_err(|e| format!("could not open log file {}: {e}", path.display()))?;
            let lf = LogFile {
                path: path.clone(),
                file: Arc::new(Mutex::new(file)),
            };
            let _ = LOG_FILE.set(lf.clone());
            let layer = tracing_subscriber::fmt::layer()
                .event_format(fmt)
                .with_writer(lf)
                .with_ansi(false);
            registry.with(layer).try_init().map_err(|e| e.to_string())
        }
        None => {
            let layer = tracing_subscriber::fmt::layer()
                .event_format(fmt)
                .with_writer(std::io::stderr)
                .with_ansi(false);
            registry.with(layer).try_init().map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_785), (2026, 11, 28));
    }
}
