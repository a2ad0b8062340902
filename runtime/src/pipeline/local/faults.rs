//! Failures injected into a local service: an outage, the next N calls, a random share, or
//! calls that hang.

use std::sync::Mutex;
use std::time::Duration;

use super::super::{ErrorKind, InfraError, Service};
use super::{Rng, SimClock, lock};

#[derive(Debug, Default)]
struct FaultState {
    down: bool,
    hang: Option<(SimClock, Duration)>,
    unavailable_next: u32,
    throttle_next: u32,
    random: Option<(Rng, u32)>,
    injected: u64,
}

/// Failures to inject into a local service: an outage, the next N calls, or a random share.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<FaultState>,
}

impl Faults {
    /// No failures.
    pub fn new() -> Self {
        Faults::default()
    }

    /// Takes the service down (every call fails as unavailable) or brings it back.
    pub fn set_down(&self, down: bool) {
        lock(&self.state).down = down;
    }

    /// Whether the service is down.
    pub fn is_down(&self) -> bool {
        lock(&self.state).down
    }

    /// Makes every call hang for `duration` on `clock` (the caller's attempt timeout: the SDK
    /// abandons the attempt then) and fail as unavailable; `None` ends it.
    pub fn set_hang(&self, hang: Option<(SimClock, Duration)>) {
        lock(&self.state).hang = hang;
    }

    /// Whether calls hang.
    pub fn is_hanging(&self) -> bool {
        lock(&self.state).hang.is_some()
    }

    /// Makes the next `n` calls fail as unavailable.
    pub fn fail_next(&self, n: u32) {
        lock(&self.state).unavailable_next = n;
    }

    /// Makes the next `n` calls fail as throttled.
    pub fn throttle_next(&self, n: u32) {
        lock(&self.state).throttle_next = n;
    }

    /// Makes each call (or each entry, see [`Faults::draw`]) fail with probability
    /// `per_mille` / 1000, from a seeded generator; 0 turns it off.
    pub fn set_random(&self, seed: u64, per_mille: u32) {
        lock(&self.state).random = (per_mille > 0).then(|| (Rng::new(seed), per_mille));
    }

    /// How many failures were injected so far.
    pub fn injected(&self) -> u64 {
        lock(&self.state).injected
    }

    /// Decides one call: `Err` when a failure is injected.
    pub fn check(&self, service: Service, operation: &'static str) -> Result<(), InfraError> {
        let mut state = lock(&self.state);
        if let Some((clock, duration)) = state.hang.clone() {
            clock.advance(duration);
            state.injected += 1;
            return Err(InfraError::new(
                service,
                operation,
                ErrorKind::Unavailable,
                format!("injected: no answer within {} s", duration.as_secs()),
            ));
        }
        let kind = if state.down {
            Some(ErrorKind::Unavailable)
        } else if state.throttle_next > 0 {
            state.throttle_next -= 1;
            Some(ErrorKind::Throttled)
        } else if state.unavailable_next > 0 {
            state.unavailable_next -= 1;
            Some(ErrorKind::Unavailable)
        } else if let Some((rng, per_mille)) = &mut state.random {
            let per_mille = u64::from(*per_mille);
            (rng.below(1000) < per_mille).then_some(ErrorKind::Throttled)
        } else {
            None
        };
        match kind {
            Some(kind) => {
                state.injected += 1;
                Err(InfraError::new(
                    service,
                    operation,
                    kind,
                    format!("injected: {}", kind.as_str()),
                ))
            }
            None => Ok(()),
        }
    }

    /// Decides one entry of a batch call (random failures only): `true` when it fails.
    pub fn draw(&self) -> bool {
        let mut state = lock(&self.state);
        let fail = match &mut state.random {
            Some((rng, per_mille)) => {
                let per_mille = u64::from(*per_mille);
                rng.below(1000) < per_mille
            }
            None => false,
        };
        state.injected += u64::from(fail);
        fail
    }
}
