//! Shard lifecycle beyond single connections: configuration reload and lame-duck mode.

use super::conn::Phase;
use super::Shard;
use crate::auth::{AccountId, Auth, Recheck};
use crate::bus::CloseReason;
use crate::bus::{BusMsg, Control, ShardId};
use crate::protocol::errors::ProtoErr;
use crate::settings::Settings;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A subscription a reload no longer allows: (slab index, subject, queue, sid).
type Revoked = (usize, Vec<u8>, Option<Vec<u8>>, Vec<u8>);

/// Lame duck: after the grace period, close the shard's clients evenly over the rest of the duration.
pub struct LameDuck {
    pub started: Instant,
    /// Connections open when closing began (the spread is computed from it).
    pub initial: Option<usize>,
    pub closed: usize,
}

impl Shard {
    pub fn start_lame_duck(&mut self) {
        self.draining = true;
        self.listener_stop.notify();
        self.kick_timers(Instant::now());
        if self.lame_duck.is_none() {
            self.lame_duck = Some(LameDuck {
                started: Instant::now(),
                initial: None,
                closed: 0,
            });
        }
    }

    /// Called on every housekeeping tick.
    pub fn lame_duck_tick(&mut self, now: Instant) {
        let Some(ld) = &mut self.lame_duck else {
            return;
        };
        // As nats-server: with no client anywhere there is no grace period to wait for.
        if ld.initial.is_none() && self.conns.is_empty() && self.globals.connections() == 0 {
            self.mark_stopped();
            return;
        }
        let grace = self.settings.lame_duck_grace_period;
        let total = self.settings.lame_duck_duration.saturating_sub(grace);
        let since = now.duration_since(ld.started);
        if since < grace {
            return;
        }
        let initial = *ld.initial.get_or_insert(self.conns.len());
        // As nats-server: at most one second between two closes, so a few clients are not spread over
        // the whole duration, and the server stops once the last one is closed.
        let total = total.min(Duration::from_secs(initial as u64));
        let elapsed = since - grace;
        let due = if total.is_zero() || elapsed >= total {
            usize::MAX
        } else {
            ((initial as u128 * elapsed.as_millis()) / total.as_millis().max(1)) as usize + 1
        };
        let mut to_close = due.saturating_sub(ld.closed);
        let keys: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.phase != Phase::Closing)
            .map(|(k, _)| k)
            .collect();
        let mut closed = 0;
        for k in keys {
            if to_close == 0 {
                break;
            }
            self.close_conn(k, CloseReason::LameDuck);
            to_close -= 1;
            closed += 1;
        }
        if let Some(ld) = &mut self.lame_duck {
            ld.closed += closed;
        }
        if self.conns.iter().all(|(_, c)| c.phase == Phase::Closing) && elapsed >= total {
            self.mark_stopped();
        }
    }

    /// A new configuration: swap it in and re-check every live connection against the new users and
    /// permissions. Removed users are closed silently; changed credentials get `Authorization Violation`;
    /// subscriptions no longer allowed are removed with the `(sid "n")` error.
    pub fn reload(&mut self, settings: Arc<Settings>, auth: Arc<Auth>, round: &AtomicUsize) {
        self.settings = settings;
        self.auth = auth;
        self.ensure_accounts();
        let keys: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.phase == Phase::Open && c.link.is_none())
            .map(|(k, _)| k)
            .collect();
        for k in keys {
            let verdict = {
                let c = &self.conns[k];
                let nonce = c.login.nonce().map(str::as_bytes);
                match (c.login.current(), c.login.creds()) {
                    (Some(login), Some(creds)) => {
                        Some(self.auth.recheck_fast(login, &creds.borrow(), nonce))
                    }
                    (Some(login), None) => {
                        Some(self.auth.recheck_fast(login, &Default::default(), None))
                    }
                    _ => None,
                }
            };
            match verdict {
                None => {}
                // A changed bcrypt secret: checked on the blocking thread, applied when done.
                Some(None) => self.queue_recheck(k),
                Some(Some(r)) => self.apply_recheck(k, r),
            }
        }
        // A changed `max_payload` (server or account) applies to the next PUB of every connection, as in
        // nats-server (the reader picks the new value up before its next op). A lowered subscription
        // limit closes a connection already holding more, with nats-server's error.
        let keys: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.link.is_none())
            .map(|(k, _)| k)
            .collect();
        for k in keys {
            let c = &self.conns[k];
            let (payload, subs) = match c.phase {
                Phase::Open => {
                    let account_subs = self
                        .auth
                        .accounts
                        .get(c.account as usize)
                        .and_then(|a| a.limits.max_subscriptions);
                    (
                        self.account_payload_limit(c.account),
                        super::session::subs_limit(&self.settings, account_subs),
                    )
                }
                _ => (self.settings.max_payload, self.settings.max_subscriptions),
            };
            let c = &mut self.conns[k];
            c.max_payload = payload;
            c.max_subs = subs;
            if c.phase == Phase::Open && subs > 0 && c.subs.len() > subs as usize {
                self.send_err(k, &ProtoErr::MaxSubscriptions);
                self.close_conn(k, CloseReason::MaxSubscriptionsExceeded);
            }
        }
        // Connections over a lowered account limit are counted once every shard has re-checked its own
        // (users moved out of an account leave it first), so the shards together close only the excess.
        if round.fetch_sub(1, Ordering::AcqRel) == 1 {
            for d in (0..self.nr_shards as ShardId).filter(|d| *d != self.id) {
                self.outbox
                    .push(d, BusMsg::Control(Control::ShedOverLimits));
            }
            self.shed_over_limits();
        }
        self.end_batch();
    }

    /// Applies a reload's verdict on live connection `k`: removed users are closed silently, changed
    /// credentials get `Authorization Violation`, a kept login gets its new permissions.
    pub(crate) fn apply_recheck(&mut self, k: usize, r: Recheck) {
        match r {
            Recheck::Removed => self.close_conn(k, CloseReason::AuthenticationExpired),
            Recheck::CredentialsChanged => {
                let c = &self.conns[k];
                let user = login_name(c);
                c.span
                    .in_scope(|| tracing::error!("authentication error - User {user:?}"));
                self.send_err(k, &ProtoErr::AuthViolation);
                self.close_conn(k, CloseReason::AuthenticationFailure);
            }
            Recheck::Keep(login) => self.relogin(k, login),
        }
    }

    /// After a reload lowered an account's `max_connections`, closes connections over it with nats-server's
    /// error, as nats-server does; which ones go is not specified (there: map order; here: slot order per
    /// shard, shards racing for the excess).
    pub fn shed_over_limits(&mut self) {
        self.shed_over_server_limit();
        self.shed_over_account_limits();
    }

    /// After a reload lowered `max_connections`, closes connections over it with nats-server's
    /// error and log line (which ones go: slot order per shard, shards racing for the excess).
    fn shed_over_server_limit(&mut self) {
        let max = self.settings.max_connections;
        let counted: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.counted_server && c.phase != Phase::Closing)
            .map(|(k, _)| k)
            .collect();
        let mut closed = 0;
        for k in counted {
            if !self.globals.shed_server(max) {
                break;
            }
            self.send_err(k, &ProtoErr::MaxConnections);
            // Counted off already: close without counting it again.
            self.conns[k].counted_server = false;
            self.close_conn(k, CloseReason::MaxConnectionsExceeded);
            closed += 1;
        }
        if closed > 0 {
            tracing::info!("Closed {closed} connections to fall within max_connections");
        }
    }

    fn shed_over_account_limits(&mut self) {
        // Leaf links count against no client limit (they never took an account slot).
        let open: Vec<(usize, AccountId)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.phase == Phase::Open && c.link.is_none())
            .map(|(k, c)| (k, c.account))
            .collect();
        for (k, acc) in open {
            let limit = self
                .auth
                .accounts
                .get(acc as usize)
                .and_then(|a| a.limits.max_connections);
            let Some(limit) = limit.filter(|l| *l >= 0) else {
                continue;
            };
            if self.globals.shed_account(acc, limit) {
                let c = &self.conns[k];
                let account = self.auth.accounts.get(acc as usize).map_or("", |a| &a.name);
                let user = login_name(c);
                c.span.in_scope(|| {
                    tracing::error!(
                        "{} - Account:{account} - user:{user}",
                        ProtoErr::MaxAccountConnections
                    )
                });
                self.send_err(k, &ProtoErr::MaxAccountConnections);
                // Counted off already: close without counting it again.
                self.conns[k].phase = Phase::New;
                self.close_conn(k, CloseReason::MaxConnectionsExceeded);
            }
        }
    }

    /// Applies new permissions to a connection that keeps its login; drops subscriptions they forbid.
    fn relogin(&mut self, k: usize, login: crate::auth::Login) {
        if self.conns[k].account != login.account {
            // Moved to another account: closed silently, as nats-server does, so the client reconnects
            // and subscribes again in its new account (keeping the connection would drop its
            // subscriptions without telling it).
            self.close_conn(k, CloseReason::ClientClosed);
            return;
        }
        let perms = login.permissions.clone();
        self.conns[k].login.relogin(login);
        let Some(p) = perms else {
            self.refilter_subs(k);
            return;
        };
        let revoked: Vec<Revoked> = self.conns[k]
            .subs
            .iter()
            .filter(|(_, s)| {
                p.can_subscribe(&s.subject, s.queue.as_deref()) == crate::auth::SubVerdict::Denied
            })
            .map(|(i, s)| {
                (
                    i,
                    s.subject.to_vec(),
                    s.queue.as_ref().map(|q| q.to_vec()),
                    s.sid.to_vec(),
                )
            })
            .collect();
        for (idx, subject, queue, sid) in revoked {
            self.remove_sub(k, idx);
            // nats-server names the user (or nkey) as logged in.
            let user = login_name(&self.conns[k]);
            let qtext = queue.as_deref().map_or(String::new(), |q| {
                format!(" using queue {:?}", String::from_utf8_lossy(q))
            });
            tracing::info!(
                "Removed sub {:?}{} (sid {:?}) for User {:?} - not authorized",
                String::from_utf8_lossy(&subject),
                qtext,
                String::from_utf8_lossy(&sid),
                user
            );
            self.send_err(
                k,
                &ProtoErr::SubRevoked {
                    subject,
                    queue,
                    sid,
                },
            );
        }
        self.refilter_subs(k);
    }

    /// Re-derives every subscription's delivery filter from the connection's current permissions, and
    /// makes the account's cached match results (filtered with the old ones) stale. A subscription the
    /// permissions now refuse outright is flagged too, so it receives only what they allow (a reload
    /// revokes such subscriptions first; a second CONNECT drops every subscription before).
    pub(crate) fn refilter_subs(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let perms = c.login.perms.clone();
        for (_, s) in c.subs.iter_mut() {
            s.filtered = perms.as_ref().is_some_and(|p| {
                p.can_subscribe(&s.subject, s.queue.as_deref()) != crate::auth::SubVerdict::Allowed
            });
        }
        let acc = c.account;
        self.tables(acc).local.invalidate_cache();
    }
}

/// The user (or nkey) a connection logged in as, for log lines ("" for anonymous and token logins).
fn login_name(c: &super::conn::Conn) -> String {
    c.login.user_name()
}
