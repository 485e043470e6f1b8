//! Real-time sampling: one task per probe, on a steady cadence measured on
//! the monotonic clock. A missed tick is skipped, not bunched; each sample
//! records how late it was sent. Samples reach the run loop through a
//! channel, so a stop condition is judged the moment a sample arrives.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::environment::real_probes::RealProber;
use crate::environment::{Millis, Sample};
use crate::scenario::Probe;

pub struct RealtimeProbes {
    pub samples: mpsc::UnboundedReceiver<Sample>,
    tasks: Vec<JoinHandle<()>>,
}

impl RealtimeProbes {
    /// Starts every probe. Each probe keeps its own phase within its
    /// interval, derived from its name: hundreds of probes then spread over
    /// the interval instead of firing in the same instant (a thundering
    /// herd that delays the last of them and floods the target).
    pub fn start(prober: RealProber, origin: Instant, start: Millis, probes: &[Probe]) -> Self {
        let (sender, samples) = mpsc::unbounded_channel();
        let tasks = probes
            .iter()
            .map(|probe| {
                let (prober, probe, sender) = (prober.clone(), probe.clone(), sender.clone());
                tokio::spawn(async move {
                    let interval = probe.interval.std().max(Duration::from_millis(1));
                    let mut scheduled = origin + Duration::from_millis(start) + phase(&probe.name, interval);
                    loop {
                        tokio::time::sleep_until(scheduled).await;
                        let sent = Instant::now();
                        let sent_at = u64::try_from(sent.saturating_duration_since(origin).as_millis()).unwrap_or(u64::MAX);
                        let mut sample = prober.sample(&probe, sent_at).await;
                        sample.lateness_us = u64::try_from(sent.saturating_duration_since(scheduled).as_micros()).unwrap_or(u64::MAX);
                        if sender.send(sample).is_err() {
                            return;
                        }
                        scheduled += interval;
                        let now = Instant::now();
                        while scheduled <= now {
                            scheduled += interval;
                        }
                    }
                })
            })
            .collect();
        RealtimeProbes { samples, tasks }
    }
}

/// A stable offset in `[0, interval)` from the probe's name (FNV-1a).
fn phase(name: &str, interval: Duration) -> Duration {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let micros = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX).max(1);
    Duration::from_micros(hash % micros)
}

impl Drop for RealtimeProbes {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
