//! A connection's outbound side: what is waiting to be written, what the writer task is writing, and
//! the inline flush at the end of a batch.
//!
//! Who writes: deliveries and replies on the owning shard append to `buf`; at the end of the batch the
//! shard flushes each touched connection once. When the writer task is idle (parked, nothing in flight)
//! the flush sends inline with one non-blocking write (no task hop on the latency path); whatever the
//! transport does not take, or anything while a write is in flight, is left to the writer task, which
//! writes it in order. Never reorders: while the writer has a write in flight, it alone writes.
//!
//! Bound: `pending()` (waiting + in flight) plus the transport's own backlog (TLS records not yet on
//! the socket) against `max_pending`, checked by the shard after every append (over it the
//! connection is a slow consumer).

use crate::shard::transport::Transport;
use std::task::Waker;

/// Queued bytes past which held output (`Outbound::hold`) is written anyway.
const HOLD_MAX: usize = 32 * 1024;
/// Capacity above which a drained buffer is shrunk (memory per connection after a burst), and what it
/// keeps. Steady high-rate traffic stays below it: shrinking on every batch would re-grow (and
/// page-fault) the buffer each time.
const SHRINK_OUT_ABOVE: usize = 4 << 20;
const KEEP_OUT_CAPACITY: usize = 256 * 1024;

#[derive(Default)]
pub struct Outbound {
    /// Bytes waiting for the writer task (frames are appended here directly).
    pub(crate) buf: Vec<u8>,
    /// Bytes the writer task is writing right now (they count as pending too).
    in_flight: usize,
    /// The writer task's waker while it waits for data.
    writer_waker: Option<Waker>,
    /// Already queued in the shard's `touched` list for this batch.
    pub(crate) touched: bool,
    /// While the reader waits for a visibility barrier before a PONG or `+OK`: what is already queued
    /// (an `-ERR` for an op before the PING, say) waits too and leaves with that reply in one write, as
    /// nats-server writes them (a client that closes on the `-ERR` would otherwise drop the PONG it
    /// waits for). Bounded: at `HOLD_MAX` queued bytes the output goes anyway.
    held: bool,
}

/// What the writer task should do next.
pub enum WriterStep {
    /// Write these bytes (swapped out of the buffer; the writer's spare buffer took their place).
    Write,
    /// Nothing to write and the connection is closing: shut down.
    Done,
    /// Nothing to write: wait (the waker is registered).
    Wait,
}

impl Outbound {
    /// Bytes waiting plus bytes in flight (what `max_pending` bounds).
    pub fn pending(&self) -> usize {
        self.buf.len() + self.in_flight
    }

    /// Holds (or releases) what is queued until the reply the reader is waiting to send.
    pub fn hold(&mut self, on: bool) {
        self.held = on;
    }

    /// Drops everything queued (a slow consumer, a dead socket).
    pub fn discard(&mut self) {
        self.buf.clear();
        self.in_flight = 0;
    }

    /// Wakes the writer task if it is waiting.
    pub fn wake_writer(&mut self) {
        if let Some(w) = self.writer_waker.take() {
            w.wake();
        }
    }

    /// Sends what is queued right away when the writer is idle, with one non-blocking write on
    /// `transport`; the rest is left for the writer task, which is woken. `closing`: the writer task
    /// alone finishes a closing connection.
    pub fn flush(&mut self, transport: &Transport, closing: bool) {
        if self.held && self.buf.len() < HOLD_MAX {
            return;
        }
        // TLS records the transport holds (an answer to a key update, say) need a flush too.
        if self.buf.is_empty() && transport.backlog() == 0 {
            return;
        }
        if self.in_flight == 0 && self.writer_waker.is_some() && !closing {
            match transport.try_write(&self.buf) {
                Ok(n) if n == self.buf.len() => {
                    self.buf.clear();
                    if self.buf.capacity() > SHRINK_OUT_ABOVE {
                        // A burst grew the buffer far beyond steady state: give most of it back.
                        self.buf.shrink_to(KEEP_OUT_CAPACITY);
                    }
                    if transport.backlog() == 0 {
                        return;
                    }
                }
                Ok(n) => {
                    self.buf.drain(..n);
                }
                Err(_) => {}
            }
        }
        self.wake_writer();
    }

    /// For the writer task: swaps the queued bytes into `spare` (then in flight), or says there is
    /// nothing (registering `waker` unless `closing`). `backlog`: the transport holds bytes of its own
    /// to write (TLS records), so the writer writes even with nothing queued here.
    pub fn take_for_writer(
        &mut self,
        spare: &mut Vec<u8>,
        closing: bool,
        backlog: bool,
        waker: &Waker,
    ) -> WriterStep {
        if !self.buf.is_empty() {
            std::mem::swap(&mut self.buf, spare);
            self.in_flight = spare.len();
            return WriterStep::Write;
        }
        if backlog {
            return WriterStep::Write;
        }
        if closing {
            return WriterStep::Done;
        }
        self.writer_waker = Some(waker.clone());
        WriterStep::Wait
    }

    /// For the writer task: its write completed.
    pub fn written(&mut self) {
        self.in_flight = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn the_writer_takes_everything_and_in_flight_counts_until_written() {
        let waker = Waker::from(Arc::new(Noop));
        let mut o = Outbound::default();
        let mut spare = Vec::new();
        assert!(matches!(
            o.take_for_writer(&mut spare, false, false, &waker),
            WriterStep::Wait
        ));
        o.buf.extend_from_slice(b"PONG\r\n");
        assert_eq!(o.pending(), 6);
        assert!(matches!(
            o.take_for_writer(&mut spare, false, false, &waker),
            WriterStep::Write
        ));
        assert_eq!(spare, b"PONG\r\n");
        assert!(o.buf.is_empty());
        o.buf.extend_from_slice(b"+OK\r\n");
        assert_eq!(o.pending(), 11, "in flight and waiting both count");
        o.written();
        assert_eq!(o.pending(), 5);
        o.discard();
        assert_eq!(o.pending(), 0);
        assert!(matches!(
            o.take_for_writer(&mut spare, true, false, &waker),
            WriterStep::Done
        ));
    }
}
