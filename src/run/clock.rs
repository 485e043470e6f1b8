//! The run's clock: virtual on the simulator (sleeping jumps ahead, so an
//! hour of game day takes milliseconds), the wall clock elsewhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::Notify;

use crate::environment::Millis;

/// Set by Ctrl-C or SIGTERM; wakes a sleeping run so it can revert at once.
#[derive(Default)]
pub struct Interrupt {
    count: AtomicU32,
    notify: Notify,
}

impl Interrupt {
    pub fn new() -> Arc<Self> {
        Arc::new(Interrupt::default())
    }
    /// Records one interrupt and returns how many there have been.
    pub fn raise(&self) -> u32 {
        let count = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        self.notify.notify_waiters();
        count
    }
    pub fn raised(&self) -> bool {
        self.count.load(Ordering::SeqCst) > 0
    }
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        if self.raised() {
            return;
        }
        notified.await;
    }
}

#[allow(async_fn_in_trait)]
pub trait Clock {
    /// Milliseconds since the run started.
    fn now(&self) -> Millis;
    /// Returns at `at`, or earlier when interrupted.
    async fn sleep_until(&mut self, at: Millis, interrupt: &Interrupt);
    /// The monotonic instant of time zero, for clocks that follow real time.
    fn origin(&self) -> Option<tokio::time::Instant> {
        None
    }
}

/// Virtual time: `sleep_until` jumps there.
#[derive(Debug, Default)]
pub struct VirtualClock {
    now: Millis,
}

impl Clock for VirtualClock {
    fn now(&self) -> Millis {
        self.now
    }
    async fn sleep_until(&mut self, at: Millis, _interrupt: &Interrupt) {
        self.now = self.now.max(at);
    }
}

/// Real time, measured on the monotonic clock from the run's start.
pub struct WallClock {
    origin: tokio::time::Instant,
}

impl WallClock {
    pub fn start() -> Self {
        WallClock { origin: tokio::time::Instant::now() }
    }
}

impl Clock for WallClock {
    fn now(&self) -> Millis {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
    fn origin(&self) -> Option<tokio::time::Instant> {
        Some(self.origin)
    }
    async fn sleep_until(&mut self, at: Millis, interrupt: &Interrupt) {
        let deadline = self.origin + std::time::Duration::from_millis(at);
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = interrupt.wait() => {}
        }
    }
}
