//! The one revert-with-retry loop.

use super::clock::{Clock, Interrupt};
use crate::environment::{Effect, EnvError, Environment, Millis};

/// Attempts at one revert before it counts as failed.
pub const REVERT_ATTEMPTS: u32 = 3;

/// The first wait between two revert attempts; the second is twice as long.
pub const REVERT_BACKOFF: Millis = 1_000;

/// Undoes one effect, trying `REVERT_ATTEMPTS` times with a backoff of
/// `backoff`, then twice that (`REVERT_BACKOFF`: 1 s, then 2 s; on `clock`,
/// so virtual on the simulator). Reverts are idempotent, so trying again is
/// always safe. The one retry loop of the runner and `recover` (the path
/// after a panic, `recover::after_panic`, included).
pub async fn revert_with_retry<E: Environment, C: Clock>(
    env: &mut E,
    effect: &Effect,
    clock: &mut C,
    interrupt: &Interrupt,
    backoff: Millis,
) -> Result<crate::environment::RevertOutcome, EnvError> {
    let mut attempt = 0;
    loop {
        match env.revert(effect, clock.now()).await {
            Ok(outcome) => return Ok(outcome),
            // The last attempt's error, typed: its kind says what a person can do.
            Err(error) if attempt + 1 >= REVERT_ATTEMPTS => return Err(error),
            Err(_) => {
                let wait = clock.now() + backoff * 2u64.pow(attempt);
                clock.sleep_until(wait, interrupt).await;
                attempt += 1;
            }
        }
    }
}
