//! Time for the stand-ins: a simulated clock (the drill, the tests) or the wall clock
//! (`ingest dev`), and the small seeded generator of their random choices.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::super::Sleeper;

/// A small deterministic random number generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }
}

/// A simulated clock shared by everything of a local pipeline. [`Sleeper::sleep`] advances it;
/// [`Sleeper::random`] draws from one seeded sequence, so jittered retries are reproducible.
#[derive(Debug, Clone)]
pub struct SimClock {
    start: DateTime<Utc>,
    elapsed_ms: Arc<AtomicU64>,
    random: Arc<AtomicU64>,
}

/// SplitMix64's output for a state.
fn mix(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SimClock {
    /// A clock that starts at `start` (its randomness seeded by 0).
    pub fn new(start: DateTime<Utc>) -> Self {
        Self::seeded(start, 0)
    }

    /// A clock that starts at `start`, with its randomness seeded by `seed`.
    pub fn seeded(start: DateTime<Utc>, seed: u64) -> Self {
        SimClock {
            start,
            elapsed_ms: Arc::new(AtomicU64::new(0)),
            random: Arc::new(AtomicU64::new(seed)),
        }
    }

    /// Milliseconds since the Unix epoch, simulated.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.now().timestamp_millis()).unwrap_or(0)
    }

    fn next_random(&self) -> u64 {
        mix(self
            .random
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::SeqCst)
            .wrapping_add(0x9e37_79b9_7f4a_7c15))
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.start
            + chrono::Duration::milliseconds(
                i64::try_from(self.elapsed().as_millis()).unwrap_or(i64::MAX),
            )
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.elapsed_ms.load(Ordering::SeqCst))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.elapsed_ms.fetch_add(
            u64::try_from(by.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }

    /// Sets the clock back to `elapsed` after the start, if that is earlier than now: the
    /// mappings run their concurrent invocations each from the same start (see
    /// [`Clock::concurrently`]).
    pub fn rewind_to(&self, elapsed: Duration) {
        self.elapsed_ms.fetch_min(
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }

    /// Moves the clock to `elapsed` after the start, if that is later than now.
    pub fn advance_to(&self, elapsed: Duration) {
        self.elapsed_ms.fetch_max(
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }
}

impl Sleeper for SimClock {
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        self.advance(duration);
        std::future::ready(())
    }

    fn now_ms(&self) -> u64 {
        SimClock::now_ms(self)
    }

    fn random(&self) -> u64 {
        self.next_random()
    }
}

/// The time of a local pipeline: simulated ([`SimClock`]: the drill and the tests) or the
/// wall clock (`ingest dev`, where a visibility timeout really takes its seconds). Everything
/// that reads the time or waits takes one, so the same stand-ins serve both.
#[derive(Debug, Clone)]
pub enum Clock {
    /// A simulated clock: waits advance it.
    Simulated(SimClock),
    /// The system's clock: waits sleep (on tokio's timer, which the runtime must enable).
    Wall,
}

impl Clock {
    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::Simulated(clock) => clock.now(),
            Clock::Wall => Utc::now(),
        }
    }
}

/// Invocations that run side by side in Lambda, run one after the other here: on a simulated
/// clock each starts at the same time, and the clock ends at the latest end (on the wall clock
/// they simply follow each other). See [`Clock::concurrently`].
#[derive(Debug)]
pub struct Concurrent<'a> {
    clock: &'a Clock,
    start: Duration,
    latest: Duration,
}

impl Concurrent<'_> {
    /// Before the next invocation: back to the common start.
    pub fn next(&mut self) {
        if let Clock::Simulated(clock) = self.clock {
            self.latest = self.latest.max(clock.elapsed());
            clock.rewind_to(self.start);
        }
    }

    /// After the last one: the latest end.
    pub fn finish(self) {
        if let Clock::Simulated(clock) = self.clock {
            clock.advance_to(self.latest.max(clock.elapsed()));
        }
    }
}

impl Clock {
    /// Starts a group of concurrent invocations (see [`Concurrent`]).
    pub fn concurrently(&self) -> Concurrent<'_> {
        let start = match self {
            Clock::Simulated(clock) => clock.elapsed(),
            Clock::Wall => Duration::ZERO,
        };
        Concurrent {
            clock: self,
            start,
            latest: start,
        }
    }
}

impl From<SimClock> for Clock {
    fn from(clock: SimClock) -> Self {
        Clock::Simulated(clock)
    }
}

impl Sleeper for Clock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.now().timestamp_millis()).unwrap_or(0)
    }

    fn random(&self) -> u64 {
        match self {
            Clock::Simulated(clock) => clock.next_random(),
            Clock::Wall => {
                static STATE: AtomicU64 = AtomicU64::new(0);
                let nanos = Utc::now().timestamp_subsec_nanos();
                mix(STATE.fetch_add(0x9e37_79b9_7f4a_7c15 ^ u64::from(nanos), Ordering::SeqCst))
            }
        }
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        let timer = match self {
            Clock::Simulated(clock) => {
                clock.advance(duration);
                None
            }
            Clock::Wall => Some(tokio::time::sleep(duration)),
        };
        async move {
            if let Some(timer) = timer {
                timer.await;
            }
        }
    }
}
