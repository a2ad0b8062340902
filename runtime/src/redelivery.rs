//! How soon the bridge sees a spool message again after failing it: the redelivery schedule.
//!
//! When the bridge cannot deliver a spool object (the primary is down), it reports the message
//! in `batchItemFailures`. Lambda's SQS event source mapping leaves a failed message in flight,
//! so by itself it reappears only when the queue's visibility timeout runs out, and that
//! timeout must be at least six times the bridge's timeout (30 minutes for the seed). After the
//! primary recovers, the backlog would then wait up to half an hour, and nothing outside the
//! bridge can shorten that: making a message visible takes its receipt handle, which only the
//! consumer that received it holds. So the bridge itself gives each failed message a short
//! visibility (`ChangeMessageVisibility`, counted from the call) that grows with the message's
//! `ApproximateReceiveCount`: [`Redelivery::delay`].
//!
//! The delay after receive `n` (1-based) is `first_delay x growth^(n-1)`, at most `max_delay`,
//! shortened by a jitter of up to `jitter_percent` (so messages that failed together do not
//! come back together). The jitter is drawn from the message id and the receive count, so a
//! retried message gets the same delay on every run (the drill is reproducible) while different
//! messages spread out.
//!
//! SQS moves a message to the DLQ when it would be received more than `maxReceiveCount` times,
//! so the schedule bounds how long a message is retried:
//!
//! - [`Redelivery::retry_budget_seconds`], the guaranteed span from the first receive to the
//!   last: the shortest delays (full jitter) after receives `1..n-1`. `ingest check` requires it
//!   to cover the declared outage; time spent processing only makes the real span longer.
//! - [`Redelivery::dead_letter_after_seconds`], the longest a message can take to reach the
//!   DLQ: each receive ends after at most the function's timeout plus the full delay, or, when
//!   the invocation dies before the bridge can pace it, after the queue's own visibility
//!   timeout. The queue's retention must outlast it, or a message could expire, unseen, while
//!   still being retried.
//!
//! The plan (`ingest` command) owns the values; the stacks pass them to the bridge as
//! environment variables ([`Redelivery::ENV`]), and the local pipeline gets them in its
//! settings. The arithmetic lives only here.

use serde::{Deserialize, Serialize};

/// SQS's longest visibility timeout (12 hours): no delay may exceed it.
pub const MAX_VISIBILITY_SECONDS: u64 = 12 * 3600;

/// A bridge message's redelivery schedule. See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redelivery {
    /// The delay after the first failed receive, in seconds.
    pub first_delay_seconds: u64,
    /// The longest delay, in seconds (at most [`MAX_VISIBILITY_SECONDS`]).
    pub max_delay_seconds: u64,
    /// The factor each further receive multiplies the delay by (at least 1).
    pub growth: u64,
    /// How much shorter than the nominal delay the jitter can make it, in percent (0..=100).
    pub jitter_percent: u64,
    /// The queue's `maxReceiveCount`: receives before SQS moves the message to the DLQ.
    pub max_receive_count: u64,
}

/// Why the schedule in a function's environment cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeliveryError(pub String);

impl std::fmt::Display for RedeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedeliveryError {}

/// FNV-1a over `bytes`, then a final mix: a stable spread of message ids.
fn spread(bytes: &[u8], receive_count: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes.iter().chain(&receive_count.to_le_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^ (hash >> 33)
}

impl Redelivery {
    /// The environment variables the bridge reads the schedule from, in the order of
    /// [`Redelivery::env`].
    pub const ENV: [&'static str; 5] = [
        "REDELIVERY_FIRST_DELAY_SECONDS",
        "REDELIVERY_MAX_DELAY_SECONDS",
        "REDELIVERY_GROWTH",
        "REDELIVERY_JITTER_PERCENT",
        "MAX_RECEIVE_COUNT",
    ];

    /// The delay after receive `receive_count` (1-based; 0 counts as 1) before jitter.
    pub fn nominal_delay(&self, receive_count: u64) -> u64 {
        let mut delay = self.first_delay_seconds.min(self.max_delay_seconds);
        for _ in 1..receive_count.max(1) {
            if delay >= self.max_delay_seconds {
                break;
            }
            delay = delay
                .saturating_mul(self.growth.max(1))
                .min(self.max_delay_seconds);
            if self.growth <= 1 {
                break;
            }
        }
        delay
    }

    /// The shortest delay the jitter can give after receive `receive_count`.
    pub fn shortest_delay(&self, receive_count: u64) -> u64 {
        let nominal = self.nominal_delay(receive_count);
        nominal - nominal.saturating_mul(self.jitter_percent.min(100)) / 100
    }

    /// The delay a message gets after receive `receive_count`: between
    /// [`Redelivery::shortest_delay`] and [`Redelivery::nominal_delay`], drawn from
    /// `message_id` and the receive count.
    pub fn delay(&self, message_id: &str, receive_count: u64) -> u64 {
        let nominal = self.nominal_delay(receive_count);
        let shortest = self.shortest_delay(receive_count);
        shortest + spread(message_id.as_bytes(), receive_count) % (nominal - shortest + 1)
    }

    /// The guaranteed retry span: from the first receive to the last one (receive
    /// `max_receive_count`), with every delay at its shortest.
    pub fn retry_budget_seconds(&self) -> u64 {
        (1..self.max_receive_count)
            .map(|receive| self.shortest_delay(receive))
            .fold(0, u64::saturating_add)
    }

    /// The longest a message can take from its first receive to the DLQ, when each receive
    /// takes up to `function_timeout_seconds` before the bridge paces it, or ends with the
    /// queue's `visibility_timeout_seconds` when the invocation dies first.
    pub fn dead_letter_after_seconds(
        &self,
        function_timeout_seconds: u64,
        visibility_timeout_seconds: u64,
    ) -> u64 {
        (1..=self.max_receive_count)
            .map(|receive| {
                function_timeout_seconds
                    .saturating_add(self.nominal_delay(receive))
                    .max(visibility_timeout_seconds)
            })
            .fold(0, u64::saturating_add)
    }

    /// The fewest receives whose [`Redelivery::retry_budget_seconds`] covers `seconds`
    /// (`max_receive_count` of the result; the other fields are kept). Stops at `limit`.
    pub fn covering(self, seconds: u64, limit: u64) -> Redelivery {
        let mut budget = 0u64;
        let mut receives = 1;
        while budget < seconds && receives < limit {
            budget = budget.saturating_add(self.shortest_delay(receives));
            receives += 1;
        }
        Redelivery {
            max_receive_count: receives,
            ..self
        }
    }

    /// The schedule as environment variables ([`Redelivery::ENV`]).
    pub fn env(&self) -> [(&'static str, String); 5] {
        let [first, max, growth, jitter, receives] = Redelivery::ENV;
        [
            (first, self.first_delay_seconds.to_string()),
            (max, self.max_delay_seconds.to_string()),
            (growth, self.growth.to_string()),
            (jitter, self.jitter_percent.to_string()),
            (receives, self.max_receive_count.to_string()),
        ]
    }

    /// Reads the schedule through `lookup`: `None` when none of [`Redelivery::ENV`] is set
    /// (failed messages then wait out the queue's visibility timeout), an error when only some
    /// are, or one is not a whole number in range.
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Redelivery>, RedeliveryError> {
        let values: Vec<Option<String>> = Redelivery::ENV
            .iter()
            .map(|name| lookup(name).filter(|value| !value.is_empty()))
            .collect();
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        let mut numbers = [0u64; 5];
        for ((name, value), number) in Redelivery::ENV.iter().zip(&values).zip(&mut numbers) {
            let Some(text) = value else {
                return Err(RedeliveryError(format!(
                    "the environment variable {name} is not set (the redelivery schedule needs all of {})",
                    Redelivery::ENV.join(", ")
                )));
            };
            *number = text.parse().map_err(|_| {
                RedeliveryError(format!("{name} must be a whole number, not {text:?}"))
            })?;
        }
        let [first, max, growth, jitter, receives] = numbers;
        let schedule = Redelivery {
            first_delay_seconds: first,
            max_delay_seconds: max,
            growth,
            jitter_percent: jitter,
            max_receive_count: receives,
        };
        schedule.validate().map(|()| Some(schedule))
    }

    /// Checks the ranges SQS and the arithmetic need.
    pub fn validate(&self) -> Result<(), RedeliveryError> {
        let [first, max, growth, jitter, receives] = Redelivery::ENV;
        if self.max_delay_seconds > MAX_VISIBILITY_SECONDS {
            return Err(RedeliveryError(format!(
                "{max} is {}, above SQS's longest visibility timeout ({MAX_VISIBILITY_SECONDS} s)",
                self.max_delay_seconds
            )));
        }
        if self.first_delay_seconds > self.max_delay_seconds {
            return Err(RedeliveryError(format!(
                "{first} ({}) is above {max} ({})",
                self.first_delay_seconds, self.max_delay_seconds
            )));
        }
        if self.growth == 0 {
            return Err(RedeliveryError(format!("{growth} must be at least 1")));
        }
        if self.jitter_percent > 100 {
            return Err(RedeliveryError(format!(
                "{jitter} must be at most 100, not {}",
                self.jitter_percent
            )));
        }
        if self.max_receive_count == 0 {
            return Err(RedeliveryError(format!("{receives} must be at least 1")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: Redelivery = Redelivery {
        first_delay_seconds: 30,
        max_delay_seconds: 300,
        growth: 2,
        jitter_percent: 10,
        max_receive_count: 6,
    };

    #[test]
    fn delays_grow_from_the_first_to_the_cap() {
        let nominal: Vec<u64> = (1..=7).map(|n| SEED.nominal_delay(n)).collect();
        assert_eq!(nominal, [30, 60, 120, 240, 300, 300, 300]);
        assert_eq!(SEED.nominal_delay(0), 30);
        assert_eq!(
            SEED.nominal_delay(u64::MAX),
            300,
            "no overflow, no long loop"
        );
        let shortest: Vec<u64> = (1..=5).map(|n| SEED.shortest_delay(n)).collect();
        assert_eq!(shortest, [27, 54, 108, 216, 270]);
        let flat = Redelivery { growth: 1, ..SEED };
        assert_eq!(flat.nominal_delay(9), 30);
    }

    #[test]
    fn jitter_stays_in_range_is_stable_and_spreads_messages() {
        let mut seen = std::collections::BTreeSet::new();
        for id in 0..200 {
            let id = format!("message-{id}");
            for n in 1..=6 {
                let delay = SEED.delay(&id, n);
                assert!(
                    (SEED.shortest_delay(n)..=SEED.nominal_delay(n)).contains(&delay),
                    "{id} {n}: {delay}"
                );
                assert_eq!(delay, SEED.delay(&id, n), "the same every time");
            }
            seen.insert(SEED.delay(&id, 5));
        }
        assert!(seen.len() > 20, "messages spread over 270..=300: {seen:?}");
        let exact = Redelivery {
            jitter_percent: 0,
            ..SEED
        };
        assert_eq!(exact.delay("m", 3), 120);
    }

    #[test]
    fn the_budget_counts_the_shortest_delays_before_the_last_receive() {
        // Receives 1..=5 are followed by another receive: 27 + 54 + 108 + 216 + 270.
        assert_eq!(SEED.retry_budget_seconds(), 675);
        let once = Redelivery {
            max_receive_count: 1,
            ..SEED
        };
        assert_eq!(once.retry_budget_seconds(), 0, "one receive: no retry");
        // The DLQ bound: each of the 6 receives takes up to the timeout plus the full delay,
        // or the queue's visibility timeout when that is longer.
        assert_eq!(
            SEED.dead_letter_after_seconds(60, 0),
            (30 + 60 + 120 + 240 + 300 + 300) + 6 * 60
        );
        assert_eq!(SEED.dead_letter_after_seconds(60, 1800), 6 * 1800);
    }

    #[test]
    fn covering_finds_the_fewest_receives() {
        let day = SEED.covering(86_400, 1000);
        assert!(day.retry_budget_seconds() >= 86_400);
        let fewer = Redelivery {
            max_receive_count: day.max_receive_count - 1,
            ..day
        };
        assert!(fewer.retry_budget_seconds() < 86_400);
        assert_eq!(
            day.max_receive_count,
            5 + (86_400u64 - 405).div_ceil(270),
            "4 growing delays (405 s) then 270 s each"
        );
        assert_eq!(SEED.covering(10_000_000, 1000).max_receive_count, 1000);
        assert_eq!(SEED.covering(0, 1000).max_receive_count, 1);
    }

    #[test]
    fn the_environment_round_trips_and_bad_values_are_named() {
        let env: std::collections::BTreeMap<&str, String> = SEED.env().into_iter().collect();
        let lookup = |name: &str| env.get(name).cloned();
        assert_eq!(Redelivery::from_lookup(&lookup), Ok(Some(SEED)));
        assert_eq!(Redelivery::from_lookup(&|_| None), Ok(None));
        let partial = |name: &str| (name == "REDELIVERY_GROWTH").then(|| "2".to_owned());
        let error = Redelivery::from_lookup(&partial).unwrap_err();
        assert!(
            error
                .0
                .contains("REDELIVERY_FIRST_DELAY_SECONDS is not set"),
            "{error}"
        );
        let bad = |name: &str| match name {
            "REDELIVERY_MAX_DELAY_SECONDS" => Some("50000".to_owned()),
            _ => lookup(name),
        };
        let error = Redelivery::from_lookup(&bad).unwrap_err();
        assert!(error.0.contains("above SQS's longest"), "{error}");
        let word = |name: &str| match name {
            "MAX_RECEIVE_COUNT" => Some("many".to_owned()),
            _ => lookup(name),
        };
        let error = Redelivery::from_lookup(&word).unwrap_err();
        assert_eq!(
            error.0,
            "MAX_RECEIVE_COUNT must be a whole number, not \"many\""
        );
    }
}
