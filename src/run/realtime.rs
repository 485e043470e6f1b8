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
    /// Starts every probe; the first samples are due one interval after `start`.
    pub fn start(prober: RealProber, origin: Instant, start: Millis, probes: &[Probe]) -> Self {
        let (sender, samples) = mpsc::unbounded_channel();
        let tasks = probes
            .iter()
            .map(|probe| {
                let (prober, probe, sender) = (prober.clone(), probe.clone(), sender.clone());
                tokio::spawn(async move {
                    let interval = probe.interval.std().max(Duration::from_millis(1));
                    let mut scheduled = origin + Duration::from_millis(start) + interval;
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

impl Drop for RealtimeProbes {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
