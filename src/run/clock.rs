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
    /// The wall-clock time of `origin`: the journal dates its records from it.
    started_at: jiff::Timestamp,
}

impl WallClock {
    pub fn start() -> Self {
        WallClock { origin: tokio::time::Instant::now(), started_at: jiff::Timestamp::now() }
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

/// Simulated time running `speed` times faster than the wall clock: a drill
/// on the simulator at `--speed 60` lives an hour in a minute.
pub struct ScaledClock {
    origin: tokio::time::Instant,
    /// The wall-clock time of `origin`.
    started_at: jiff::Timestamp,
    speed: u32,
}

impl ScaledClock {
    pub fn start(speed: u32) -> Self {
        ScaledClock { origin: tokio::time::Instant::now(), started_at: jiff::Timestamp::now(), speed: speed.max(1) }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Millis {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX / 1_000).saturating_mul(u64::from(self.speed))
    }
    async fn sleep_until(&mut self, at: Millis, interrupt: &Interrupt) {
        // Round up, so the clock has reached `at` when this returns.
        let wall = at.div_ceil(u64::from(self.speed));
        let deadline = self.origin + std::time::Duration::from_millis(wall);
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = interrupt.wait() => {}
        }
    }
}

/// The clock a command chose, as one type for the runner.
pub enum AnyClock {
    Virtual(VirtualClock),
    Wall(WallClock),
    Scaled(ScaledClock),
}

impl AnyClock {
    /// The wall-clock time at which a clock that follows real time started:
    /// the origin the journal dates its records from. Taken when the clock
    /// starts, not when the command started, so that the run directory, the
    /// lock and the journal being created do not make every record early.
    /// `None` for virtual time, which has no wall-clock origin of its own.
    pub fn started_at(&self) -> Option<jiff::Timestamp> {
        match self {
            AnyClock::Virtual(_) => None,
            AnyClock::Wall(c) => Some(c.started_at),
            AnyClock::Scaled(c) => Some(c.started_at),
        }
    }
}

impl Clock for AnyClock {
    fn now(&self) -> Millis {
        match self {
            AnyClock::Virtual(c) => c.now(),
            AnyClock::Wall(c) => c.now(),
            AnyClock::Scaled(c) => c.now(),
        }
    }
    async fn sleep_until(&mut self, at: Millis, interrupt: &Interrupt) {
        match self {
            AnyClock::Virtual(c) => c.sleep_until(at, interrupt).await,
            AnyClock::Wall(c) => c.sleep_until(at, interrupt).await,
            AnyClock::Scaled(c) => c.sleep_until(at, interrupt).await,
        }
    }
    fn origin(&self) -> Option<tokio::time::Instant> {
        match self {
            AnyClock::Virtual(c) => c.origin(),
            AnyClock::Wall(c) => c.origin(),
            AnyClock::Scaled(c) => c.origin(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_scaled_clock_runs_speed_times_faster_and_sleeps_to_the_moment() {
        let mut clock = ScaledClock::start(60);
        let interrupt = Interrupt::new();
        clock.sleep_until(90_000, &interrupt).await;
        // 90 s of simulated time is 1.5 s of (paused, auto-advanced) wall time.
        assert_eq!(clock.now(), 90_000);
        clock.sleep_until(90_001, &interrupt).await;
        assert!(clock.now() >= 90_001 && clock.now() <= 90_060, "{}", clock.now());
    }
}
