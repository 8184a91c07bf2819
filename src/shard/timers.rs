//! Per-shard housekeeping: authentication deadlines, server PINGs and stale connections, and the lame-duck
//! closing schedule. One task per shard ticking over the shard's connections (no timer per connection).

use super::conn::{CloseReason, Phase};
use super::ShardRef;
use crate::protocol::errors::ProtoErr;
use crate::protocol::writer as w;
use crate::runtime;
use std::time::{Duration, Instant};

/// Tick while connections exist; idle shards tick rarely so an idle server uses no measurable CPU.
const TICK: Duration = Duration::from_millis(100);
const IDLE_TICK: Duration = Duration::from_secs(1);

pub async fn timers_task(shard: ShardRef) {
    loop {
        let d = if shard.borrow().conns.is_empty() {
            IDLE_TICK
        } else {
            TICK
        };
        runtime::sleep(d).await;
        let mut sh = shard.borrow_mut();
        if sh.stopped {
            break;
        }
        let now = Instant::now();
        let interval = sh.rt.ping_interval;
        let ping_max = sh.rt.ping_max;
        let mut timed_out = Vec::new();
        let mut stale = Vec::new();
        let mut ping = Vec::new();
        for (k, c) in sh.conns.iter_mut() {
            match c.phase {
                Phase::New => {
                    if c.auth_deadline.is_some_and(|d| now >= d) {
                        timed_out.push(k);
                    }
                }
                Phase::Open => {
                    if now < c.next_ping {
                        continue;
                    }
                    let recent = now.duration_since(c.last_activity) < interval;
                    c.next_ping = now + interval;
                    if recent && c.pings_out == 0 {
                        continue;
                    }
                    if c.pings_out + 1 > ping_max {
                        stale.push(k);
                    } else {
                        c.pings_out += 1;
                        ping.push(k);
                    }
                }
                Phase::Closing => {}
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
