//! A probe's lane of the `report.html` chart at the chart's resolution
//! (issue 18). A lane is a few hundred units wide, so a probe that flaps all
//! run long cannot show each of its state changes: drawn one rectangle per
//! stretch of one state, the chart grew with the number of changes (2.4 MB
//! for a 30 s run of 20 flapping probes). Here consecutive stretches
//! narrower than a column are drawn together as one *mixed* stretch that
//! says how long the probe spent in each state, at least
//! [`MIXED_COLUMNS`] wide, so a lane draws at most about one stretch per
//! column, and a lane that flaps all through about one per
//! [`MIXED_COLUMNS`], whatever the run's length; it holds no more while
//! it is built from the journal.

use crate::environment::Millis;

/// The narrowest a mixed stretch is closed at, in columns. One column
/// (about a pixel) per tooltip made 135 KB a flapping lane, ~67 MB of page
/// for 500 flapping probes (docs/performance.md, fifth step); four keep a
/// tooltip under the pointer every 4 px at a quarter of that.
pub(crate) const MIXED_COLUMNS: f64 = 4.0;

/// The state of one stretch of a probe's lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LaneLook {
    Passing,
    Failing,
    /// An `expected_during_fault` probe failing while a fault is in place.
    Intended,
}

/// How long a mixed stretch spent in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Spent {
    pub passing: Millis,
    pub failing: Millis,
    pub intended: Millis,
}

impl Spent {
    fn add(&mut self, look: LaneLook, ms: Millis) {
        let slot = match look {
            LaneLook::Passing => &mut self.passing,
            LaneLook::Failing => &mut self.failing,
            LaneLook::Intended => &mut self.intended,
        };
        *slot = slot.saturating_add(ms);
    }

    fn plus(self, other: Spent) -> Spent {
        Spent { passing: self.passing.saturating_add(other.passing), failing: self.failing.saturating_add(other.failing), intended: self.intended.saturating_add(other.intended) }
    }
}

/// What a drawn stretch shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shown {
    /// Consecutive samples in one state, and what the first one observed.
    One { look: LaneLook, observed: String },
    /// `stretches` consecutive stretches of one state (each narrower than a
    /// column), drawn as one.
    Mixed { stretches: usize, spent: Spent },
}

/// A stretch of a lane as the chart draws it: from its first sample to the
/// next stretch's first sample (or the end of the run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stretch {
    pub from: Millis,
    pub to: Millis,
    pub samples: usize,
    pub shown: Shown,
}

impl Stretch {
    /// This stretch and the one right after it, as one mixed stretch.
    fn mixed_with(self, next: Stretch) -> Stretch {
        let (stretches, spent) = self.parts();
        let (more, more_spent) = next.parts();
        Stretch { from: self.from, to: next.to, samples: self.samples + next.samples, shown: Shown::Mixed { stretches: stretches + more, spent: spent.plus(more_spent) } }
    }

    fn parts(&self) -> (usize, Spent) {
        match &self.shown {
            Shown::One { look, .. } => {
                let mut spent = Spent::default();
                spent.add(*look, self.to.saturating_sub(self.from));
                (1, spent)
            }
            Shown::Mixed { stretches, spent } => (*stretches, *spent),
        }
    }
}

/// Draws a lane's stretches, fed in time order, at a resolution of
/// `columns` columns over the run's `end` milliseconds: a stretch at least a
/// column wide is drawn as it is; consecutive narrower ones are gathered
/// into one mixed stretch, closed as soon as it is [`MIXED_COLUMNS`] wide. A narrow
/// stretch between two wide ones is drawn as it is (a short failure stays
/// visible as one). No two stretches it keeps are both narrow and
/// adjacent, so feeding its output to another at fewer columns merges
/// further, and at the same number of columns changes nothing.
pub(crate) struct LaneMerger {
    columns: f64,
    end: Millis,
    drawn: Vec<Stretch>,
    /// Narrow stretches gathered so far: one as it is, or a mixed one.
    gathering: Option<Stretch>,
}

impl LaneMerger {
    pub(crate) fn new(columns: f64, end: Millis) -> Self {
        LaneMerger { columns, end: end.max(1), drawn: Vec::new(), gathering: None }
    }

    /// The stretch's width in columns, as the chart clamps times to the run's end.
    fn width(&self, stretch: &Stretch) -> f64 {
        self.columns * (stretch.to.min(self.end).saturating_sub(stretch.from.min(self.end)) as f64) / (self.end as f64)
    }

    pub(crate) fn push(&mut self, stretch: Stretch) {
        if self.width(&stretch) >= 1.0 {
            self.drawn.extend(self.gathering.take());
            self.drawn.push(stretch);
            return;
        }
        let gathered = match self.gathering.take() {
            None => stretch,
            Some(gathering) => gathering.mixed_with(stretch),
        };
        if self.width(&gathered) >= MIXED_COLUMNS {
            self.drawn.push(gathered);
        } else {
            self.gathering = Some(gathered);
        }
    }

    pub(crate) fn finish(mut self) -> Vec<Stretch> {
        self.drawn.extend(self.gathering.take());
        self.drawn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(from: Millis, to: Millis, look: LaneLook) -> Stretch {
        Stretch { from, to, samples: 1, shown: Shown::One { look, observed: String::new() } }
    }

    fn alternating(end: Millis, every: Millis) -> Vec<Stretch> {
        (0..end / every).map(|i| one(i * every, (i + 1) * every, if i % 2 == 0 { LaneLook::Failing } else { LaneLook::Passing })).collect()
    }

    fn merged(stretches: &[Stretch], columns: f64, end: Millis) -> Vec<Stretch> {
        let mut merger = LaneMerger::new(columns, end);
        stretches.iter().cloned().for_each(|s| merger.push(s));
        merger.finish()
    }

    #[test]
    fn stretches_a_column_wide_are_drawn_as_they_are() {
        let stretches = alternating(1_000, 10);
        assert_eq!(merged(&stretches, 100.0, 1_000), stretches);
        // A lone narrow stretch between wide ones stays itself.
        let lone = vec![one(0, 500, LaneLook::Passing), one(500, 501, LaneLook::Failing), one(501, 1_000, LaneLook::Passing)];
        assert_eq!(merged(&lone, 100.0, 1_000), lone);
    }

    #[test]
    fn a_lane_that_flaps_draws_a_mixed_stretch_per_few_columns_and_counts_every_millisecond() {
        for (every, columns) in [(1, 790.0), (3, 790.0), (7, 123.0), (100, 790.0)] {
            let end = 360_000 / every * every;
            let stretches = alternating(end, every);
            let drawn = merged(&stretches, columns, end);
            // Every stretch narrower than a column: mixed ones, each at least MIXED_COLUMNS wide but the last.
            assert!(drawn.len() as f64 <= columns / MIXED_COLUMNS + 1.0, "every {every} ms over {columns} columns: {} stretches drawn", drawn.len());
            assert_eq!(drawn.first().map(|s| s.from), Some(0));
            assert!(drawn.windows(2).all(|w| w[0].to == w[1].from), "no gap, no overlap");
            assert_eq!(drawn.last().map(|s| s.to), Some(end));
            let (stretches_in, spent): (usize, Spent) = drawn.iter().map(Stretch::parts).fold((0, Spent::default()), |(n, s), (m, t)| (n + m, s.plus(t)));
            assert_eq!(stretches_in, stretches.len());
            assert_eq!(spent.passing + spent.failing, end);
            assert_eq!(drawn.iter().map(|s| s.samples).sum::<usize>(), stretches.len());
            // Merged again at the same resolution: the same; at a coarser one: fewer.
            assert_eq!(merged(&drawn, columns, end), drawn);
            assert!(merged(&drawn, columns / 2.0, end).len() <= drawn.len());
        }
    }
}
