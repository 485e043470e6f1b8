//! `cargo bench --bench drill`: how precisely a drill on the simulator
//! applies people's commands at scaled speed. A scripted session of the
//! example drill runs at several speeds; each timed command's lateness
//! (journaled time minus its `at T0+…`) is printed in simulated and in wall
//! milliseconds. Prints figures; asserts nothing about time (targets live in
//! docs/performance.md).

use std::time::Instant;

use gameday::drill::{DrillSession, parse_line, parse_steps};
use gameday::environment::sim::{SimEnvironment, Topology};
use gameday::run::clock::{AnyClock, Interrupt, ScaledClock};
use gameday::run::journal::{Event, Journal};
use gameday::run::{RunConfig, Runner, Silent};

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = gameday::scenario::load_file(&root.join("scenarios/manual-region-failover.yaml")).expect("the example drill loads");
    let steps = parse_steps(&std::fs::read_to_string(root.join("runbooks/manual-region-failover.md")).unwrap()).unwrap();
    // The scripted test's session, then the facilitator ends the drill.
    let session = std::fs::read_to_string(root.join("tests/drills/manual-region-failover.txt")).unwrap() + "at T0+12m30s quit\n";
    let inputs: Vec<_> = session.lines().filter_map(|l| parse_line(l).unwrap()).collect();
    let topology = Topology::default_topology().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!("drill command lateness: {} timed commands over 12m30s of simulated time", inputs.len());
    println!("{:>7} {:>9} {:>16} {:>16} {:>16}", "speed", "wall", "median (sim ms)", "max (sim ms)", "max (wall ms)");
    for speed in [60u32, 600, 3600] {
        let mut env = SimEnvironment::new(&topology, 7);
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        for input in &inputs {
            sender.send(input.clone()).unwrap();
        }
        drop(sender);
        let session = DrillSession::new("runbooks/manual-region-failover.md".into(), steps.clone(), loaded.scenario.operator_actions.clone());
        let mut config = RunConfig::new(7, jiff::Timestamp::now());
        config.max_sleep = Some(250 * u64::from(speed));
        let started = Instant::now();
        let finished = runtime.block_on(async {
            let clock = AnyClock::Scaled(ScaledClock::start(speed));
            Runner::new(&loaded.scenario, &mut env, clock, Silent, Journal::in_memory(), config, Interrupt::new()).with_drill(session, format!("{speed}×"), receiver).run().await
        });
        let wall = started.elapsed();
        let records = finished.records.to_vec();
        let t0 = records.iter().find(|r| matches!(r.event, Event::FaultApplied { .. })).map(|r| r.t).unwrap();
        // One journaled event per command, in order (a `done` without an
        // acknowledgement journals both at the same moment: count it once).
        let mut times: Vec<u64> = Vec::new();
        for record in &records {
            let human = matches!(
                record.event,
                Event::StepAcknowledged { .. }
                    | Event::StepDone { .. }
                    | Event::StepSkipped { .. }
                    | Event::StepAnnotated { .. }
                    | Event::TeamObservation { .. }
                    | Event::OperatorActionTaken { .. }
                    | Event::Interrupted { .. }
            );
            let pair = matches!(record.event, Event::StepDone { .. }) && times.last() == Some(&record.t);
            if human && !pair {
                times.push(record.t);
            }
        }
        let mut lateness: Vec<u64> = times.iter().zip(&inputs).map(|(t, input)| t.saturating_sub(t0 + input.at.unwrap_or(0))).collect();
        lateness.sort_unstable();
        let max = *lateness.last().unwrap_or(&0);
        println!("{:>6}× {:>8.2}s {:>16} {:>16} {:>16.1}", speed, wall.as_secs_f64(), lateness[lateness.len() / 2], max, max as f64 / f64::from(speed));
    }
}
