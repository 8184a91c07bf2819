//! `Bell`: the cross-core wake-up for one shard's inbox.
//!
//! The consumer (the owning shard's inbox task) registers its waker and *arms* the bell right before it
//! parks; producers on other cores ring only when the bell is armed, so a busy shard costs its producers
//! one atomic load per batch and no syscall. Both runtimes' task wakers (glommio's, tokio's) may be woken
//! from any thread.
//!
//! Runs on: `ring` on any shard; `armed_wait` only on the owning shard.

use atomic_waker::AtomicWaker;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

/// One per shard, shared (`Arc`) with every producer.
#[derive(Default)]
pub struct Bell {
    /// The parked consumer's waker (the inbox task of the owning shard).
    waker: AtomicWaker,
    /// True while the consumer is parked (or about to park). Producers swap it to false and wake.
    armed: AtomicBool,
}

impl Bell {
    pub fn new() -> Self {
        Self::default()
    }

    /// Producer side: wake the consumer if it is parked. Cheap when it is not.
    #[inline]
    pub fn ring(&self) {
        if self.armed.load(Ordering::Acquire) && self.armed.swap(false, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// Consumer side: register, arm, and re-check `ready` to close the lost-wake-up window.
    /// Returns `Ready` when `ready()` is true (work arrived), otherwise `Pending` with the bell armed.
    pub fn poll_park(&self, cx: &mut Context<'_>, ready: impl Fn() -> bool) -> Poll<()> {
        if ready() {
            self.armed.store(false, Ordering::Release);
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        self.armed.store(true, Ordering::SeqCst);
        if ready() {
            self.armed.store(false, Ordering::Release);
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn rings_only_when_armed() {
        let bell = Bell::new();
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = std::task::Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        bell.ring(); // not armed: nothing happens
        assert!(!flag.0.load(Ordering::SeqCst));
        assert!(bell.poll_park(&mut cx, || false).is_pending());
        bell.ring();
        assert!(flag.0.load(Ordering::SeqCst));
        // disarmed after one ring
        flag.0.store(false, Ordering::SeqCst);
        bell.ring();
        assert!(!flag.0.load(Ordering::SeqCst));
        assert!(bell.poll_park(&mut cx, || true).is_ready());
    }
}
