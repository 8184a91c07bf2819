//! Per-shard housekeeping: authentication deadlines, server PINGs and stale connections, and the lame-duck
//! closing schedule. One task per shard (no timer per connection) that sleeps until the earliest deadline
//! of any of its connections — at most `MAX_SLEEP` — and is kicked awake when a new connection brings an
//! earlier one (`Shard::kick_timers`). An idle server therefore wakes about once a second per shard.

use super::conn::{Phase, Tick};
use super::ShardRef;
use crate::bus::CloseReason;
use crate::protocol::errors::ProtoErr;
use crate::protocol::writer as w;
use crate::runtime;
use futures_lite::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// Longest sleep between two housekeeping passes.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// Shortest sleep (deadlines closer than this are handled together).
const MIN_SLEEP: Duration = Duration::from_millis(5);
/// Pass interval while lame duck spreads its closes.
const LAME_DUCK_TICK: Duration = Duration::from_millis(100);

/// When the next pass is due: the earliest auth deadline or PING time of any connection, clamped.
fn next_wake(sh: &super::Shard, now: Instant) -> Instant {
    let mut at = now + MAX_SLEEP;
    if sh.lame_duck.is_some() {
        at = at.min(now + LAME_DUCK_TICK);
    }
    for (_, c) in sh.conns.iter() {
        if c.phase != Phase::Closing {
            at = at.min(c.keepalive.next_due(c.phase == Phase::New));
        }
    }
    at.max(now + MIN_SLEEP)
}

/// When the housekeeping task plans to wake next, and how to wake it earlier.
pub struct Housekeeping {
    /// The planned wake-up.
    at: Instant,
    /// A connection brought an earlier deadline since the task went to sleep.
    kicked: bool,
    /// The task, while it sleeps.
    waker: Option<Waker>,
}

impl Housekeeping {
    pub fn new() -> Housekeeping {
        Housekeeping {
            at: Instant::now(),
            kicked: false,
            waker: None,
        }
    }

    /// Something is due at `at`: wake the task early if it sleeps past it.
    pub fn kick(&mut self, at: Instant) {
        if at < self.at {
            self.at = at;
            self.kicked = true;
            if let Some(w) = self.waker.take() {
                w.wake();
            }
        }
    }

    fn plan(&mut self, at: Instant) {
        self.at = at;
        self.kicked = false;
    }

    fn kicked(&mut self, waker: &Waker) -> bool {
        if !self.kicked {
            self.waker = Some(waker.clone());
        }
        self.kicked
    }
}

impl Default for Housekeeping {
    fn default() -> Self {
        Housekeeping::new()
    }
}

pub async fn timers_task(shard: ShardRef) {
    loop {
        let wake = {
            let mut sh = shard.borrow_mut();
            let at = next_wake(&sh, Instant::now());
            sh.housekeeping.plan(at);
            at
        };
        let kicked = poll_fn(|cx| {
            if shard.borrow_mut().housekeeping.kicked(cx.waker()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        let until = wake.saturating_duration_since(Instant::now());
        runtime::timeout(until, kicked).await;
        let mut sh = shard.borrow_mut();
        sh.housekeeping.waker = None;
        if sh.stopped {
            break;
        }
        let now = Instant::now();
        let interval = sh.settings.ping_interval;
        let ping_max = sh.settings.ping_max;
        let mut timed_out = Vec::new();
        let mut stale = Vec::new();
        let mut ping = Vec::new();
        for (k, c) in sh.conns.iter_mut() {
            if c.phase == Phase::Closing {
                continue;
            }
            // Keep-alive, from the moment the connection opened (before CONNECT too, as in
            // nats-server): a silent client is PINGed and, after `ping_max` unanswered, closed.
            match c
                .keepalive
                .tick(now, c.phase == Phase::New, interval, ping_max)
            {
                Tick::Nothing => {}
                Tick::AuthTimeout => timed_out.push(k),
                Tick::Stale => stale.push(k),
                Tick::Ping => ping.push(k),
            }
        }
        for k in timed_out {
            sh.send_err(k, &ProtoErr::AuthTimeout);
            sh.close_conn(k, CloseReason::AuthenticationTimeout);
        }
        for k in stale {
            sh.stats.stale_connections += 1;
            sh.send_err(k, &ProtoErr::StaleConnection);
            sh.close_conn(k, CloseReason::StaleConnection);
        }
        for k in ping {
            sh.send_raw(k, w::PING);
        }
        sh.lame_duck_tick(now);
        sh.expire_responses(now);
        sh.end_batch();
    }
}
