//! Login checks: cheap ones at once on the shard, bcrypt ones queued for the shard's blocking thread.
//!
//! A bcrypt check takes tens of milliseconds (cost 11: ~120 ms). Run on the shard it would stall every
//! connection there, and queued in plain arrival order a flood of bad logins would hold every later
//! login back. So:
//! - Plain passwords, tokens, nkeys and anonymous logins are decided on the shard at once
//!   (`Auth::authenticate_fast`); they never wait behind bcrypt.
//! - A login that needs bcrypt joins [`SlowLogins`], one queue per (peer IP, claimed user). The
//!   shard's logins task takes one check at a time, round-robin over those queues, and runs it on the
//!   shard's one blocking thread: at most one bcrypt per shard at any moment, and a flood of attempts
//!   for one user (or from one address) delays another user's login by at most one check per busy
//!   queue.
//! - A check whose connection is gone or closing is skipped before it runs. The reader watches its
//!   socket while it waits, so a client that hangs up is noticed at once (bytes that arrive meanwhile
//!   are kept, bounded, and parsed after the login).
//! - The authentication timer stops when a CONNECT starts being checked, as nats-server stops it.
//! - A reload re-checks live connections the same way: unchanged secrets are kept without any check,
//!   changed bcrypt secrets are queued here and applied when checked (until then the connection keeps
//!   its previous login).
//!
//! Bound: one queued entry per connection at most (a connection waits for its own check before
//! sending another; a reload re-check replaces nothing and is skipped once stale), so the queues are
//! bounded by the shard's connections.

use super::conn::{OwnedCreds, Phase};
use super::transport::Transport;
use super::{ConnKey, Shard, ShardRef};
use crate::auth::{Auth, AuthFailure, FastDeny, Login, Recheck};
use crate::bus::CloseReason;
use crate::protocol::connect::ConnectOptions;
use crate::runtime;
use futures_lite::future::poll_fn;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

/// A slow check, run on the blocking thread.
pub type SlowCheck = Box<dyn FnOnce() -> Verdict + Send + 'static>;

/// What a slow check decided.
pub enum Verdict {
    /// For a CONNECT.
    Login(Result<Login, AuthFailure>),
    /// For a live connection after a reload.
    Recheck(Recheck),
}

/// Who is waiting for a queued check.
enum Waiter {
    /// A CONNECT: the connection's reader awaits the slot.
    Connect(Rc<LoginSlot>),
    /// A reload re-check, applied by the logins task if `auth` is still the configuration in force
    /// (a later reload queued its own).
    Reload(Arc<Auth>),
}

struct Queued {
    key: ConnKey,
    cid: u64,
    check: SlowCheck,
    waiter: Waiter,
}

/// Checks are served round-robin between these: the client's address and the user it claims.
type FairKey = (Option<IpAddr>, Box<str>);

/// The shard's queue of bcrypt checks (see the module doc).
#[derive(Default)]
pub struct SlowLogins {
    /// Per fairness key, its checks in arrival order. A key is present only while it has checks.
    queues: HashMap<FairKey, VecDeque<Queued>>,
    /// Keys with checks, in the order they are served next.
    ring: VecDeque<FairKey>,
    /// The logins task, while it waits for work.
    waker: Option<Waker>,
}

impl SlowLogins {
    fn push(&mut self, fair: FairKey, q: Queued) {
        let queue = self.queues.entry(fair.clone()).or_default();
        if queue.is_empty() {
            self.ring.push_back(fair);
        }
        queue.push_back(q);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// The next check, round-robin over the keys.
    fn pop(&mut self) -> Option<Queued> {
        let fair = self.ring.pop_front()?;
        let queue = self.queues.get_mut(&fair)?;
        let q = queue.pop_front();
        if queue.is_empty() {
            self.queues.remove(&fair);
        } else {
            self.ring.push_back(fair);
        }
        q
    }

    /// Checks waiting (not counting the one running).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// Where a CONNECT's reader receives its queued check's verdict. `None`: the check was skipped
/// (the connection is closing).
#[derive(Default)]
pub struct LoginSlot {
    verdict: RefCell<Option<Option<Result<Login, AuthFailure>>>>,
    waker: RefCell<Option<Waker>>,
}

impl LoginSlot {
    fn complete(&self, v: Option<Result<Login, AuthFailure>>) {
        *self.verdict.borrow_mut() = Some(v);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    async fn wait(&self) -> Option<Result<Login, AuthFailure>> {
        poll_fn(|cx| match self.verdict.borrow_mut().take() {
            Some(v) => Poll::Ready(v),
            None => {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// The next step of a CONNECT's login.
pub enum LoginStep {
    /// The connection is gone or closing.
    Gone,
    /// Decided on the shard.
    Decided(Result<Login, AuthFailure>),
    /// Queued: await the slot; `used` is the configuration it is checked against.
    Queued(Rc<LoginSlot>, Arc<Auth>),
}

/// The claimed identity that decides which fairness queue a check joins.
fn claimed(creds: &OwnedCreds) -> Box<str> {
    let who = creds
        .user
        .as_deref()
        .or(creds.nkey.as_deref())
        .filter(|s| !s.is_empty());
    match who {
        Some(u) => u.into(),
        None => "".into(),
    }
}

impl Shard {
    /// Checks a CONNECT's credentials, at once when no bcrypt is needed. `previous`: the verdict of a
    /// check against a configuration a reload has replaced since; a login it granted is re-checked
    /// the way a reload re-checks live connections (no second bcrypt when the secret is unchanged).
    pub fn login_step(
        &mut self,
        key: ConnKey,
        opts: &ConnectOptions,
        previous: Option<Result<Login, AuthFailure>>,
    ) -> LoginStep {
        let Some(c) = self.conns.get_mut(key) else {
            return LoginStep::Gone;
        };
        if c.phase == Phase::Closing {
            return LoginStep::Gone;
        }
        // As nats-server: the authentication timer stops once a CONNECT is being checked.
        c.keepalive.stop_auth_timer();
        let nonce = c.login.nonce().map(str::to_string);
        let (cid, peer) = (c.cid, c.peer.map(|p| p.ip()));
        let mut creds = OwnedCreds::from_connect(opts);
        creds.cert = c.login.cert.clone();
        if let (Some(_), Some(u)) = (&creds.cert, opts.user.as_deref().filter(|u| !u.is_empty())) {
            tracing::warn!("User {u:?} found in connect proto, but user required from cert");
        }
        let nonce_bytes = nonce.as_deref().map(str::as_bytes);
        let auth = self.auth.clone();
        let fast = match &previous {
            Some(Ok(login)) => match auth.recheck_fast(login, &creds.borrow(), nonce_bytes) {
                Some(Recheck::Keep(l)) => Some(Ok(l)),
                Some(Recheck::Removed | Recheck::CredentialsChanged) => Some(Err(AuthFailure)),
                None => None,
            },
            _ => match auth.authenticate_fast(&creds.borrow(), nonce_bytes) {
                Ok(l) => Some(Ok(l)),
                Err(FastDeny::Failed) => Some(Err(AuthFailure)),
                Err(FastDeny::NeedsBcrypt) => None,
            },
        };
        if let Some(v) = fast {
            return LoginStep::Decided(v);
        }
        let fair = (peer, claimed(&creds));
        let used = auth.clone();
        let check: SlowCheck = Box::new(move || {
            let nonce = nonce.as_deref().map(str::as_bytes);
            Verdict::Login(match previous {
                Some(Ok(login)) => match auth.recheck(&login, &creds.borrow(), nonce) {
                    Recheck::Keep(l) => Ok(l),
                    Recheck::Removed | Recheck::CredentialsChanged => Err(AuthFailure),
                },
                _ => auth.authenticate(&creds.borrow(), nonce),
            })
        });
        let slot = Rc::new(LoginSlot::default());
        self.logins.push(
            fair,
            Queued {
                key,
                cid,
                check,
                waiter: Waiter::Connect(slot.clone()),
            },
        );
        LoginStep::Queued(slot, used)
    }

    /// True when a login checked against `used` must be checked again: a reload replaced the
    /// configuration while the check waited or ran (a reload re-checks only connections already
    /// logged in).
    pub fn login_is_stale(&self, used: &Arc<Auth>) -> bool {
        !Arc::ptr_eq(used, &self.auth)
    }

    /// A reload's re-check of live connection `key` that needs bcrypt: queued, applied when done.
    pub(crate) fn queue_recheck(&mut self, key: ConnKey) {
        let Some(c) = self.conns.get(key) else {
            return;
        };
        let (Some(login), creds) = (
            c.login.current().cloned(),
            c.login.creds().cloned().unwrap_or_default(),
        ) else {
            return;
        };
        let nonce = c.login.nonce().map(str::to_string);
        let fair = (c.peer.map(|p| p.ip()), claimed(&creds));
        let auth = self.auth.clone();
        let used = auth.clone();
        let check: SlowCheck = Box::new(move || {
            let nonce = nonce.as_deref().map(str::as_bytes);
            Verdict::Recheck(auth.recheck(&login, &creds.borrow(), nonce))
        });
        let cid = c.cid;
        self.logins.push(
            fair,
            Queued {
                key,
                cid,
                check,
                waiter: Waiter::Reload(used),
            },
        );
    }

    /// True while connection `key` is still the one (`cid`) a check was queued for and is not closing.
    fn login_wanted(&self, key: ConnKey, cid: u64) -> bool {
        self.conns
            .get(key)
            .is_some_and(|c| c.cid == cid && c.phase != Phase::Closing)
    }
}

/// What waiting for a queued login ended with.
pub enum SlotWait {
    /// The verdict (`None`: skipped, the connection is closing).
    Done(Option<Result<Login, AuthFailure>>),
    /// The client hung up while it waited; the connection is closed.
    HungUp,
}

/// Bytes a reader keeps while it waits for its login (later ops, parsed after it).
pub const CARRY_MAX: usize = 64 * 1024;

/// Waits for a queued login while watching the socket: a client that hangs up is closed at once (its
/// check is then skipped); bytes that arrive are appended to `carry` until it holds `CARRY_MAX`.
pub async fn wait_watching(
    shard: &ShardRef,
    key: ConnKey,
    stream: &Transport,
    carry: &mut Vec<u8>,
    slot: &LoginSlot,
) -> SlotWait {
    let mut tmp = vec![0u8; 4096];
    loop {
        if carry.len() >= CARRY_MAX {
            return SlotWait::Done(slot.wait().await);
        }
        let room = (CARRY_MAX - carry.len()).min(tmp.len());
        let next = futures_lite::future::or(async { Ok(slot.wait().await) }, async {
            Err(stream.read(&mut tmp[..room]).await)
        })
        .await;
        match next {
            Ok(v) => return SlotWait::Done(v),
            Err(Ok(n)) if n > 0 => carry.extend_from_slice(&tmp[..n]),
            Err(r) => {
                let reason = if r.is_ok() {
                    CloseReason::ClientClosed
                } else {
                    CloseReason::ReadError
                };
                let mut sh = shard.borrow_mut();
                sh.close_conn(key, reason);
                sh.end_batch();
                return SlotWait::HungUp;
            }
        }
    }
}

/// The shard's logins task: runs queued bcrypt checks one at a time on the blocking thread.
pub async fn logins_task(shard: ShardRef) {
    loop {
        let next = poll_fn(|cx| {
            let mut sh = shard.borrow_mut();
            if let Some(q) = sh.logins.pop() {
                return Poll::Ready(Some(q));
            }
            if sh.stopped {
                return Poll::Ready(None);
            }
            sh.logins.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        let Some(q) = next else {
            break;
        };
        let wanted = {
            let sh = shard.borrow();
            let waiting = match &q.waiter {
                // The reader dropped its slot: nobody waits for this verdict.
                Waiter::Connect(slot) => Rc::strong_count(slot) > 1,
                Waiter::Reload(used) => !sh.login_is_stale(used),
            };
            waiting && sh.login_wanted(q.key, q.cid)
        };
        if !wanted {
            if let Waiter::Connect(slot) = &q.waiter {
                slot.complete(None);
            }
            continue;
        }
        let verdict = runtime::blocking(q.check).await;
        match (q.waiter, verdict) {
            (Waiter::Connect(slot), Verdict::Login(v)) => slot.complete(Some(v)),
            (Waiter::Reload(used), Verdict::Recheck(r)) => {
                let mut sh = shard.borrow_mut();
                if !sh.login_is_stale(&used) && sh.login_wanted(q.key, q.cid) {
                    sh.apply_recheck(q.key, r);
                    sh.end_batch();
                }
            }
            (Waiter::Connect(slot), Verdict::Recheck(_)) => slot.complete(None),
            (Waiter::Reload(_), Verdict::Login(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(key: ConnKey) -> Queued {
        Queued {
            key,
            cid: key as u64,
            check: Box::new(|| Verdict::Login(Err(AuthFailure))),
            waiter: Waiter::Reload(Arc::new(
                Auth::compile(&crate::config::Config::default(), None)
                    .unwrap_or_else(|e| panic!("{e:?}")),
            )),
        }
    }

    fn fair(user: &str) -> FairKey {
        (None, user.into())
    }

    #[test]
    fn round_robin_between_claimed_users() {
        let mut s = SlowLogins::default();
        // A flood for one user, then one login for another: the other is served second.
        for k in 0..40 {
            s.push(fair("victim"), q(k));
        }
        s.push(fair("alice"), q(100));
        assert_eq!(s.len(), 41);
        assert_eq!(s.pop().map(|q| q.key), Some(0));
        assert_eq!(s.pop().map(|q| q.key), Some(100));
        for k in 1..40 {
            assert_eq!(s.pop().map(|q| q.key), Some(k));
        }
        assert!(s.pop().is_none());
        assert!(s.is_empty() && s.queues.is_empty());
    }
}
