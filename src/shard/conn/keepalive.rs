//! A connection's clocks: the authentication deadline, server PINGs and stale detection, and the
//! round-trip time measured by them. The shard's housekeeping task (`timers.rs`) asks each connection
//! what is due ([`KeepAlive::tick`]); the reader reports activity and PONGs.
//!
//! As nats-server: keep-alive runs from accept (before CONNECT too); a connection with recent traffic is
//! not pinged, unless its round trip has not been measured in the last hour; after `ping_max`
//! unanswered PINGs it is stale.

use std::time::{Duration, Instant};

/// A PING goes out despite recent traffic when the last round-trip measurement is older than this
/// (or there is none yet), as nats-server does.
pub const RTT_MEASUREMENT_INTERVAL: Duration = Duration::from_secs(3600);

pub struct KeepAlive {
    /// PINGs sent without a PONG.
    pings_out: u32,
    /// When the oldest unanswered PING went out (for the round-trip time).
    ping_sent: Option<Instant>,
    /// Last measured round trip (server PING → client PONG), and when its PING went out.
    rtt: Duration,
    rtt_at: Option<Instant>,
    /// When the next PING is due.
    next_ping: Instant,
    /// The client's last bytes.
    last_activity: Instant,
    /// Until a CONNECT starts being checked, when a connection that needs one must have sent it.
    auth_deadline: Option<Instant>,
}

/// What is due for one connection now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    Nothing,
    /// The authentication deadline passed.
    AuthTimeout,
    /// `ping_max` PINGs went unanswered.
    Stale,
    /// Send a PING.
    Ping,
}

impl KeepAlive {
    /// A connection accepted at `now`: its first PING at `now + first_ping`; `auth_deadline` when
    /// credentials are configured.
    pub fn new(now: Instant, first_ping: Duration, auth_deadline: Option<Instant>) -> KeepAlive {
        KeepAlive {
            pings_out: 0,
            ping_sent: None,
            rtt: Duration::ZERO,
            rtt_at: None,
            next_ping: now + first_ping,
            last_activity: now,
            auth_deadline,
        }
    }

    /// A connection whose clocks have not started: its TLS handshake is under way (bounded by the TLS
    /// timeout). nats-server starts the authentication timer and PINGs after the handshake.
    pub fn not_started(now: Instant) -> KeepAlive {
        let never = now + Duration::from_secs(365 * 24 * 3600);
        KeepAlive::new(now, never - now, None)
    }

    /// The client sent something.
    pub fn activity(&mut self, now: Instant) {
        self.last_activity = now;
    }

    pub fn last_activity(&self) -> Instant {
        self.last_activity
    }

    /// The client answered a PING: the round trip is measured from the oldest unanswered one.
    pub fn pong(&mut self, now: Instant) {
        self.pings_out = 0;
        if let Some(t) = self.ping_sent.take() {
            self.rtt = now.saturating_duration_since(t);
            self.rtt_at = Some(t);
        }
    }

    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// The authentication timer stops (a CONNECT is being checked, or the connection logged in).
    pub fn stop_auth_timer(&mut self) {
        self.auth_deadline = None;
    }

    /// The earliest moment something may be due (the housekeeping task sleeps until the earliest of
    /// all connections'). `authenticating`: the connection has not logged in yet.
    pub fn next_due(&self, authenticating: bool) -> Instant {
        match self.auth_deadline {
            Some(d) if authenticating => d.min(self.next_ping),
            _ => self.next_ping,
        }
    }

    /// What is due at `now`, and the bookkeeping for it (the next PING scheduled, a PING counted).
    pub fn tick(
        &mut self,
        now: Instant,
        authenticating: bool,
        interval: Duration,
        ping_max: u32,
    ) -> Tick {
        if authenticating && self.auth_deadline.is_some_and(|d| now >= d) {
            return Tick::AuthTimeout;
        }
        if now < self.next_ping {
            return Tick::Nothing;
        }
        let recent = now.saturating_duration_since(self.last_activity) < interval;
        let need_rtt = self
            .rtt_at
            .is_none_or(|t| now.saturating_duration_since(t) > RTT_MEASUREMENT_INTERVAL);
        self.next_ping = now + interval;
        if recent && self.pings_out == 0 && !need_rtt {
            return Tick::Nothing;
        }
        if self.pings_out + 1 > ping_max {
            return Tick::Stale;
        }
        self.pings_out += 1;
        self.ping_sent.get_or_insert(now);
        Tick::Ping
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn auth_deadline_only_while_authenticating() {
        let t0 = Instant::now();
        let mut k = KeepAlive::new(t0, 2 * S, Some(t0 + S));
        assert_eq!(k.next_due(true), t0 + S);
        assert_eq!(k.tick(t0 + S, true, 120 * S, 2), Tick::AuthTimeout);
        k.stop_auth_timer();
        assert_eq!(k.next_due(true), t0 + 2 * S);
        assert_eq!(k.tick(t0 + S, true, 120 * S, 2), Tick::Nothing);
    }

    #[test]
    fn pings_measure_the_round_trip_then_only_idle_connections_are_pinged() {
        let t0 = Instant::now();
        let mut k = KeepAlive::new(t0, 2 * S, None);
        // The first PING goes out despite traffic: no round trip measured yet.
        k.activity(t0 + S);
        assert_eq!(k.tick(t0 + 2 * S, false, 10 * S, 2), Tick::Ping);
        k.pong(t0 + 2 * S + Duration::from_millis(3));
        assert_eq!(k.rtt(), Duration::from_millis(3));
        // Busy: no PING at the next due time.
        k.activity(t0 + 11 * S);
        assert_eq!(k.tick(t0 + 12 * S, false, 10 * S, 2), Tick::Nothing);
        // Idle: PING, then another, then stale after ping_max unanswered.
        assert_eq!(k.tick(t0 + 22 * S, false, 10 * S, 2), Tick::Ping);
        assert_eq!(k.tick(t0 + 32 * S, false, 10 * S, 2), Tick::Ping);
        assert_eq!(k.tick(t0 + 42 * S, false, 10 * S, 2), Tick::Stale);
    }

    #[test]
    fn the_round_trip_is_measured_again_every_hour() {
        let t0 = Instant::now();
        let mut k = KeepAlive::new(t0, 2 * S, None);
        assert_eq!(k.tick(t0 + 2 * S, false, 60 * S, 2), Tick::Ping);
        k.pong(t0 + 2 * S);
        let later = t0 + RTT_MEASUREMENT_INTERVAL + 120 * S;
        k.activity(later);
        assert_eq!(k.tick(later, false, 60 * S, 2), Tick::Ping);
    }
}
