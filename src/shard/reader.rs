//! The reader task of one connection: read → parse → dispatch each op → end the batch (flush once).
//!
//! The parser is resumable, so an op may span reads. Ops are dispatched with the shard borrowed; anything
//! that must wait (the visibility barrier before a PONG, a login that checks a bcrypt hash) returns a
//! [`Flow`] that this task awaits with the borrow released, then resumes parsing where it stopped.

use super::conn::Phase;
use super::logins::{wait_watching, LoginStep, SlotWait};
use super::transport::Transport;
use super::{ConnKey, Shard, ShardRef};
use crate::bus::CloseReason;
use crate::bus::MsgRef;
use crate::protocol::connect::ConnectOptions;
use crate::protocol::errors::ProtoErr;
use crate::protocol::writer as w;
use crate::protocol::{ClientOp, ParseError, Parser, State};
use crate::runtime;
use futures_lite::future::poll_fn;
use std::task::Poll;
use std::time::{Duration, Instant};

/// Read buffer bounds per connection: it starts small (idle connections cost little), doubles when a read
/// fills it and halves when reads stay small. The parser copies any op a read splits, so the buffer may be
/// replaced between reads.
const READ_BUF_MIN: usize = 1024;
const READ_BUF_MAX: usize = 64 * 1024;
/// Consecutive reads under 1/8 of the buffer before it is halved.
const SHRINK_AFTER: u32 = 16;

/// What the reader does after dispatching one op.
pub enum Flow {
    Continue,
    /// The connection is closing; stop reading.
    Close,
    /// Wait until every other shard has applied this connection's interest changes, then send `After`.
    Barrier(After),
    /// Authenticate (possibly slow: bcrypt) off the shard, then finish the CONNECT.
    Login(Box<ConnectOptions>),
    /// A second CONNECT: wait until the sweeper removed the old subscriptions, then log in.
    Reset(Box<ConnectOptions>),
    /// Other shards must say whether anyone took this connection's request before its no-responders
    /// status is settled; nothing later of the connection is handled before (see `no_responders`).
    AwaitStatus,
}

/// The reply that waits for a visibility barrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum After {
    Pong,
    Ok,
}

pub async fn reader_task(shard: ShardRef, key: ConnKey, stream: Transport) {
    let (mut max_cl, mut max_payload) = {
        let sh = shard.borrow();
        (
            sh.settings.max_control_line as usize,
            sh.settings.max_payload as usize,
        )
    };
    let mut parser = Parser::new(max_cl, max_payload);
    let mut buf = vec![0u8; READ_BUF_MIN];
    let mut small_reads = 0u32;
    // Bytes read while a login was being checked, not parsed yet.
    let mut carry: Vec<u8> = Vec::new();
    'conn: loop {
        // Backpressure: while another shard's inbox is full, stop reading publishers.
        loop {
            let stalled = !shard.borrow_mut().outbox.drain_backlog();
            if !stalled {
                break;
            }
            runtime::sleep(Duration::from_micros(50)).await;
        }
        // Bytes that arrived while a login was checked come first (`logins::wait_watching`).
        let read = if carry.is_empty() {
            stream.read(&mut buf).await
        } else {
            if buf.len() < carry.len() {
                buf.resize(carry.len(), 0);
            }
            buf[..carry.len()].copy_from_slice(&carry);
            Ok(std::mem::take(&mut carry).len())
        };
        let n = match read {
            Ok(0) => {
                close(&shard, key, CloseReason::ClientClosed);
                break;
            }
            Ok(n) => n,
            Err(e) => {
                // nats-server logs read errors at debug level (a TLS alert, a reset, a refused
                // renegotiation); the reason is in /connz.
                tracing::debug!("Client read error: {e}");
                close(&shard, key, CloseReason::ReadError);
                break;
            }
        };
        let mut pos = 0;
        // Grow at once when a read fills the buffer; shrink only after a run of small reads.
        small_reads = if n < buf.len() / 8 {
            small_reads + 1
        } else {
            0
        };
        let resize = if n == buf.len() && buf.len() < READ_BUF_MAX {
            Some(buf.len() * 2)
        } else if small_reads >= SHRINK_AFTER && buf.len() > READ_BUF_MIN {
            small_reads = 0;
            Some(buf.len() / 2)
        } else {
            None
        };
        {
            let mut sh = shard.borrow_mut();
            if let Some(c) = sh.conns.get_mut(key) {
                c.keepalive.activity(Instant::now());
            }
            // TLS may have an answer of its own to send (a key update, an alert): flush it with
            // this batch.
            if stream.backlog() > 0 {
                sh.touch(key);
            }
        }
        loop {
            // Dispatch ops with one borrow of the shard until one needs to wait (or the buffer ends).
            let flow = {
                let mut sh = shard.borrow_mut();
                let trace = sh.settings.trace;
                // A reload may change the control-line limit for live connections too (checked
                // once per dispatch run, not per op: it changes only with the configuration).
                if sh.settings.max_control_line as usize != max_cl {
                    max_cl = sh.settings.max_control_line as usize;
                    parser.set_max_control_line(max_cl);
                }
                let mut done = false;
                let flow = loop {
                    let Some(c) = sh.conns.get_mut(key) else {
                        break 'conn;
                    };
                    if c.phase == Phase::Closing {
                        sh.end_batch_for(Some(key));
                        break 'conn;
                    }
                    // nats-server decides at the first byte of the first op: anything but a
                    // CONNECT is refused when auth is required, or logs in as `no_auth_user`
                    // before the op is parsed (so that op already has the account's limits).
                    let implicit = c.phase == Phase::New
                        && pos < n
                        && parser.state() == State::OpStart
                        && !matches!(buf[pos], b'C' | b'c');
                    if implicit {
                        if let Some(f) = sh.implicit_login(key) {
                            break f;
                        }
                        continue;
                    }
                    if c.max_payload as usize != max_payload {
                        max_payload = c.max_payload as usize;
                        parser.set_max_payload(max_payload);
                    }
                    let f = match parser.parse(&buf[..n], &mut pos) {
                        Ok(Some(op)) => {
                            if trace {
                                trace_op(&sh, key, &op);
                            }
                            sh.dispatch(key, op)
                        }
                        Ok(None) => {
                            done = true;
                            Flow::Continue
                        }
                        Err(e) => {
                            sh.parse_error(key, e);
                            Flow::Close
                        }
                    };
                    if done || !matches!(f, Flow::Continue) {
                        break f;
                    }
                };
                if done {
                    break;
                }
                flow
            };
            if !run_flow(&shard, key, &stream, &mut carry, flow).await {
                break 'conn;
            }
        }
        shard.borrow_mut().end_batch_for(Some(key));
        if let Some(len) = resize {
            buf = vec![0u8; len];
        }
        runtime::yield_if_needed().await;
    }
    shard.borrow_mut().task_done(key);
}

/// `-V`: one trace line per client op, nats-server style (`<<- [SUB foo 1]`).
fn trace_op(sh: &Shard, key: ConnKey, op: &ClientOp<'_>) {
    let cid = sh.conns.get(key).map_or(0, |c| c.cid);
    let text = match op {
        ClientOp::Connect { json } => format!(
            "CONNECT {}",
            String::from_utf8_lossy(&crate::protocol::redact::redact_connect(json))
        ),
        ClientOp::Pub {
            subject,
            reply,
            payload,
        } => format!(
            "PUB {} {}{}",
            String::from_utf8_lossy(subject),
            reply
                .map(|r| format!("{} ", String::from_utf8_lossy(r)))
                .unwrap_or_default(),
            payload.len()
        ),
        ClientOp::HPub {
            subject,
            reply,
            headers,
            payload,
        } => format!(
            "HPUB {} {}{} {}",
            String::from_utf8_lossy(subject),
            reply
                .map(|r| format!("{} ", String::from_utf8_lossy(r)))
                .unwrap_or_default(),
            headers.len(),
            headers.len() + payload.len()
        ),
        ClientOp::Sub {
            subject,
            queue,
            sid,
        } => format!(
            "SUB {} {}{}",
            String::from_utf8_lossy(subject),
            queue
                .map(|q| format!("{} ", String::from_utf8_lossy(q)))
                .unwrap_or_default(),
            String::from_utf8_lossy(sid)
        ),
        ClientOp::Unsub { sid, max } => format!(
            "UNSUB {}{}",
            String::from_utf8_lossy(sid),
            max.map(|m| format!(" {m}")).unwrap_or_default()
        ),
        other => other.verb().to_string(),
    };
    tracing::trace!(cid, "<<- [{}]", text);
}

/// Carries out what dispatching an op asked for: a barrier, a login (whose result may ask for more).
/// Returns false when the connection is closing and the reader must stop.
async fn run_flow(
    shard: &ShardRef,
    key: ConnKey,
    stream: &Transport,
    carry: &mut Vec<u8>,
    mut flow: Flow,
) -> bool {
    loop {
        match flow {
            Flow::Continue => return true,
            Flow::Close => {
                shard.borrow_mut().end_batch_for(Some(key));
                return false;
            }
            Flow::Barrier(after) => {
                set_hold(shard, key, true);
                barrier(shard, key).await;
                let mut sh = shard.borrow_mut();
                sh.send_after(key, after);
                if let Some(c) = sh.conns.get_mut(key) {
                    c.out.hold(false);
                }
                sh.touch(key);
                return true;
            }
            Flow::AwaitStatus => {
                // Send the questions before waiting for the answers.
                shard.borrow_mut().end_batch_for(Some(key));
                statuses_settled(shard, key).await;
                return true;
            }
            Flow::Reset(opts) => {
                poll_fn(|cx| {
                    if shard.borrow_mut().reset_done(key, cx.waker()) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
                flow = Flow::Login(opts);
            }
            Flow::Login(opts) => {
                // Cheap checks are decided at once; bcrypt ones wait their turn on the shard's
                // blocking thread (`logins.rs`) while the socket is watched. If a reload landed
                // meanwhile, the login is checked again against the new configuration, so no login
                // slips past a reload.
                let mut previous = None;
                let verdict = loop {
                    let step = shard.borrow_mut().login_step(key, &opts, previous.take());
                    let (slot, used) = match step {
                        LoginStep::Gone => break None,
                        LoginStep::Decided(v) => break Some(v),
                        LoginStep::Queued(slot, used) => (slot, used),
                    };
                    match wait_watching(shard, key, stream, carry, &slot).await {
                        SlotWait::HungUp => return false,
                        SlotWait::Done(None) => break None,
                        SlotWait::Done(Some(v)) => {
                            if !shard.borrow().login_is_stale(&used) {
                                break Some(v);
                            }
                            previous = Some(v);
                        }
                    }
                };
                flow = shard.borrow_mut().finish_login(key, &opts, verdict);
            }
        }
    }
}

fn close(shard: &ShardRef, key: ConnKey, reason: CloseReason) {
    let mut sh = shard.borrow_mut();
    sh.close_conn(key, reason);
    sh.end_batch();
}

/// The visibility barrier: when this connection announced interest to other shards since its last
/// barrier, send `Sync` to every other shard (behind those announcements, FIFO) and wait for all acks.
/// Holds (or releases) what is queued for connection `key` (`Outbound::hold`).
fn set_hold(shard: &ShardRef, key: ConnKey, hold: bool) {
    if let Some(c) = shard.borrow_mut().conns.get_mut(key) {
        c.out.hold(hold);
    }
}

pub async fn barrier(shard: &ShardRef, key: ConnKey) {
    super::peer::barrier::sync_other_shards(shard, key).await;
    // No-responders statuses still waiting for other shards' answers come before the reply too.
    statuses_settled(shard, key).await;
}

/// Waits until every no-responders status of connection `key` is settled (see `peer/no_responders.rs`).
async fn statuses_settled(shard: &ShardRef, key: ConnKey) {
    poll_fn(|cx| {
        if shard.borrow_mut().statuses_settled(key, cx.waker()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

impl Shard {
    /// Routes one parsed op. Runs on: the owning shard, with the shard borrowed.
    pub fn dispatch(&mut self, key: ConnKey, op: ClientOp<'_>) -> Flow {
        let Some(c) = self.conns.get(key) else {
            return Flow::Close;
        };
        if c.phase == Phase::New {
            match op {
                ClientOp::Connect { json } => return self.op_connect(key, json),
                _ => {
                    if let Some(f) = self.implicit_login(key) {
                        return f;
                    }
                }
            }
        }
        match op {
            ClientOp::Connect { json } => self.op_connect(key, json),
            ClientOp::Pub {
                subject,
                reply,
                payload,
            } => self.op_pub(
                key,
                MsgRef {
                    subject,
                    reply,
                    headers: None,
                    payload,
                },
            ),
            ClientOp::HPub {
                subject,
                reply,
                headers,
                payload,
            } => {
                if !self.conns[key].session.headers {
                    tracing::debug!(cid = self.conns[key].cid, "message headers not supported");
                    self.close_conn(key, CloseReason::ProtocolViolation);
                    return Flow::Close;
                }
                // `HPUB subj 0 n` carries no header block: delivered as a plain MSG.
                let headers = (!headers.is_empty()).then_some(headers);
                self.op_pub(
                    key,
                    MsgRef {
                        subject,
                        reply,
                        headers,
                        payload,
                    },
                )
            }
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => self.op_sub(key, subject, queue, sid),
            ClientOp::Unsub { sid, max } => self.op_unsub(key, sid, max),
            ClientOp::Ping => {
                let c = &self.conns[key];
                if (c.needs_barrier && self.nr_shards > 1) || c.pending_status > 0 {
                    Flow::Barrier(After::Pong)
                } else {
                    self.send_after(key, After::Pong);
                    Flow::Continue
                }
            }
            ClientOp::Pong => {
                if let Some(c) = self.conns.get_mut(key) {
                    c.keepalive.pong(Instant::now());
                }
                Flow::Continue
            }
            ClientOp::Ok | ClientOp::Info => Flow::Continue,
            ClientOp::Err => {
                self.close_conn(key, CloseReason::ClientClosed);
                Flow::Close
            }
        }
    }

    /// Sends the reply that waited for a barrier.
    pub fn send_after(&mut self, key: ConnKey, after: After) {
        match after {
            After::Ok => self.send_raw(key, w::OK),
            After::Pong => {
                self.send_raw(key, w::PONG);
                self.maybe_connect_info(key);
            }
        }
    }

    /// A parse error: the documented `-ERR` (or none, for argument errors) and a close.
    pub fn parse_error(&mut self, key: ConnKey, e: ParseError) {
        let unauthenticated =
            self.conns.get(key).is_some_and(|c| c.phase == Phase::New) && self.auth.auth_required();
        let err = match e {
            // nats-server: with auth required, anything but CONNECT first is an auth failure.
            ParseError::UnknownOp if unauthenticated => Some(ProtoErr::AuthViolation),
            ParseError::UnknownOp => Some(ProtoErr::UnknownOp),
            ParseError::MaxControlLine => Some(ProtoErr::MaxControlLine),
            ParseError::MaxPayload => Some(ProtoErr::MaxPayload),
            ParseError::Violation(v) => {
                if let Some(c) = self.conns.get(key) {
                    tracing::error!(cid = c.cid, "{v}");
                }
                None
            }
        };
        if let Some(err) = err {
            if let Some(c) = self.conns.get(key) {
                tracing::error!(cid = c.cid, "{}", err);
            }
            self.send_err(key, &err);
        }
        let reason = match e {
            ParseError::MaxPayload => CloseReason::MaxPayloadExceeded,
            _ => CloseReason::ProtocolViolation,
        };
        self.close_conn(key, reason);
    }
}
