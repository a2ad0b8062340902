//! Local stand-ins for the AWS services, so the very same handlers run on one machine with no
//! Docker and no AWS (feature `local`).
//!
//! | AWS | here | what it keeps of the real behaviour |
//! |---|---|---|
//! | time | [`Clock`] | a simulated clock ([`SimClock`]): waits (handler backoff, visibility timeouts, buffering) advance it instead of sleeping, so an hours-long outage runs in seconds and every run is reproducible; or the wall clock, for `ingest dev` |
//! | S3 | [`LocalStore`] | buckets as folders of files (or in memory); every bucket can be made to fail ([`Faults`]) |
//! | Kinesis | [`LocalStream`] | shards chosen by partition key, increasing sequence numbers, arrival times, retention |
//! | Lambda ← Kinesis | [`KinesisMapping`] | one batch per shard per poll, checkpoints, `batchItemFailures` (retry from the lowest), bisect on function error, bounded retries, an on-failure destination, maximum record age |
//! | Firehose | [`LocalSpool`] | `PutRecordBatch` limits, per-entry failures (`FailedPutCount`), buffering by time and size, gzip objects under the spool prefix, and the S3 notification of each object (after an `s3:TestEvent`, `docs/traps.md#s3-test-event`) |
//! | SQS | [`LocalQueue`] | visibility timeouts, `ChangeMessageVisibility` by receipt handle (the latest receive's only), receive counts, `maxReceiveCount` into a DLQ, retention |
//! | Lambda ← SQS | [`SqsMapping`] | batches, `batchItemFailures` per message |
//! | Lambda `Invoke` | [`LocalInvoker`] | the 6 MB payload limit, function errors, and an outage of the function |
//!
//! Events travel as Lambda delivers them: each Kinesis and SQS event is serialized to JSON
//! and read back before the handler sees it. Locks are held only for a moment, never across a
//! wait, so other threads may put records while a pipeline runs (`ingest dev` serves HTTP on
//! its own thread).
//!
//! Both regions wired from these stand-ins ([`LocalServices`], owned and shared, and
//! [`LocalPipeline`], the event source mappings and handlers that borrow them) are what the
//! outage drill ([`super::drill`], simulated time) and `ingest dev` (the wall clock, behind
//! HTTP) run: [`LocalPipeline::step`] is one round of every mapping, and nothing else of the
//! wiring is written twice.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_lambda_events::event::streams::KinesisEventResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::bridge::{
    BridgeConfig, BridgeHandler, DEFAULT_CHUNK_BYTES, INVOKE_LIMIT_BYTES, Pacing, sqs_failures,
};
use super::receiver::{
    MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_RECORD_BYTES, ReceiverConfig, ReceiverHandler,
};
use super::records::{self, compare_sequences, encode_s3_key, timestamp};
use super::validator::{ValidatorConfig, ValidatorHandler};
use super::{
    DeliveryStream, ErrorKind, HandlerError, InfraError, InvokeOutput, Invoker, MessageQueue,
    ObjectStore, RetryPolicy, Service, Sleeper, kinesis_failures,
};
use crate::envelope::Registry;
use crate::redelivery::Redelivery;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

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

/// A simulated clock shared by everything of a local pipeline. [`Sleeper::sleep`] advances it.
#[derive(Debug, Clone)]
pub struct SimClock {
    start: DateTime<Utc>,
    elapsed_ms: Arc<AtomicU64>,
}

impl SimClock {
    /// A clock that starts at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        SimClock {
            start,
            elapsed_ms: Arc::new(AtomicU64::new(0)),
        }
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

impl From<SimClock> for Clock {
    fn from(clock: SimClock) -> Self {
        Clock::Simulated(clock)
    }
}

impl Sleeper for Clock {
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

#[derive(Debug, Default)]
struct FaultState {
    down: bool,
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

/// Buckets as folders of files, or in memory.
#[derive(Debug, Default)]
pub struct LocalStore {
    root: Option<PathBuf>,
    memory: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    faults: Mutex<BTreeMap<String, Arc<Faults>>>,
    puts: AtomicU64,
}

impl LocalStore {
    /// Buckets in memory.
    pub fn memory() -> Self {
        LocalStore::default()
    }

    /// Buckets as folders under `root` (`root/<bucket>/<key>`).
    pub fn dir(root: impl Into<PathBuf>) -> Self {
        LocalStore {
            root: Some(root.into()),
            ..LocalStore::default()
        }
    }

    /// The failures of a bucket.
    pub fn faults(&self, bucket: &str) -> Arc<Faults> {
        Arc::clone(lock(&self.faults).entry(bucket.to_owned()).or_default())
    }

    /// Successful puts so far.
    pub fn puts(&self) -> u64 {
        self.puts.load(Ordering::SeqCst)
    }

    fn path(&self, root: &Path, bucket: &str, key: &str) -> PathBuf {
        let mut path = root.join(bucket);
        for part in key
            .split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        {
            path.push(part);
        }
        path
    }

    /// Every key of a bucket under a prefix, sorted (no faults apply).
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        match &self.root {
            None => lock(&self.memory)
                .keys()
                .filter(|(b, k)| b == bucket && k.starts_with(prefix))
                .map(|(_, k)| k.clone())
                .collect(),
            Some(root) => {
                let base = root.join(bucket);
                let mut keys = Vec::new();
                let mut stack = vec![base.clone()];
                while let Some(dir) = stack.pop() {
                    let Ok(entries) = std::fs::read_dir(&dir) else {
                        continue;
                    };
                    for entry in entries.flatten() {
                        let path = entry.path();
                        if path.is_dir() {
                            stack.push(path);
                        } else if let Ok(relative) = path.strip_prefix(&base) {
                            let key = relative.to_string_lossy().replace('\\', "/");
                            if key.starts_with(prefix) && !key.ends_with(".partial") {
                                keys.push(key);
                            }
                        }
                    }
                }
                keys.sort();
                keys
            }
        }
    }

    /// An object's bytes (no faults apply).
    pub fn read(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match &self.root {
            None => lock(&self.memory)
                .get(&(bucket.to_owned(), key.to_owned()))
                .cloned(),
            Some(root) => std::fs::read(self.path(root, bucket, key)).ok(),
        }
    }

    fn write(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), InfraError> {
        match &self.root {
            None => {
                lock(&self.memory).insert((bucket.to_owned(), key.to_owned()), body);
            }
            Some(root) => {
                let path = self.path(root, bucket, key);
                let io = |e: std::io::Error| {
                    InfraError::new(
                        Service::S3,
                        "PutObject",
                        ErrorKind::Unavailable,
                        e.to_string(),
                    )
                };
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                let partial = path.with_extension("partial");
                std::fs::write(&partial, body).map_err(io)?;
                std::fs::rename(&partial, &path).map_err(io)?;
            }
        }
        self.puts.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl ObjectStore for LocalStore {
    fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), InfraError>> + Send {
        let result = self
            .faults(bucket)
            .check(Service::S3, "PutObject")
            .and_then(|()| self.write(bucket, key, body));
        std::future::ready(result)
    }

    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, InfraError>> + Send {
        let result = self
            .faults(bucket)
            .check(Service::S3, "GetObject")
            .and_then(|()| {
                self.read(bucket, key).ok_or_else(|| {
                    InfraError::new(
                        Service::S3,
                        "GetObject",
                        ErrorKind::NotFound,
                        format!("NoSuchKey: s3://{bucket}/{key}"),
                    )
                })
            });
        std::future::ready(result)
    }
}

/// One record of a [`LocalStream`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// Partition key.
    pub partition_key: String,
    /// Sequence number (increasing within the stream).
    pub sequence: String,
    /// Arrival time.
    pub arrival: DateTime<Utc>,
    /// The bytes.
    pub data: Vec<u8>,
}

/// An in-process Kinesis stream.
#[derive(Debug)]
pub struct LocalStream {
    /// Stream name.
    pub name: String,
    /// Region.
    pub region: String,
    /// How long records are kept.
    pub retention: Duration,
    shards: Vec<Mutex<Vec<StreamRecord>>>,
    next_sequence: AtomicU64,
    clock: Clock,
    /// Failures of `PutRecord` and of reading (an outage stops both).
    pub faults: Faults,
}

/// The id of shard `index` (`shardId-000000000003`).
pub fn shard_id(index: usize) -> String {
    format!("shardId-{index:012}")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl LocalStream {
    /// A stream with `shards` shards (at least 1).
    pub fn new(
        name: &str,
        region: &str,
        shards: usize,
        retention: Duration,
        clock: impl Into<Clock>,
    ) -> Self {
        LocalStream {
            name: name.to_owned(),
            region: region.to_owned(),
            retention,
            shards: (0..shards.max(1)).map(|_| Mutex::new(Vec::new())).collect(),
            next_sequence: AtomicU64::new(1),
            clock: clock.into(),
            faults: Faults::new(),
        }
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// `PutRecord`: the shard index and sequence number of the new record.
    pub fn put_record(
        &self,
        data: &[u8],
        partition_key: &str,
    ) -> Result<(usize, String), InfraError> {
        self.faults.check(Service::Kinesis, "PutRecord")?;
        let shard = usize::try_from(fnv1a(partition_key.as_bytes()) % self.shards.len() as u64)
            .unwrap_or(0);
        let sequence = format!(
            "4959{:052}",
            self.next_sequence.fetch_add(1, Ordering::SeqCst)
        );
        lock(&self.shards[shard]).push(StreamRecord {
            partition_key: partition_key.to_owned(),
            sequence: sequence.clone(),
            arrival: self.clock.now(),
            data: data.to_vec(),
        });
        Ok((shard, sequence))
    }

    /// Records of a shard from position `from`, at most `max`.
    pub fn read(&self, shard: usize, from: usize, max: usize) -> Vec<StreamRecord> {
        let records = lock(&self.shards[shard]);
        records.iter().skip(from).take(max).cloned().collect()
    }

    /// Records ever put into a shard.
    pub fn len(&self, shard: usize) -> usize {
        lock(&self.shards[shard]).len()
    }

    /// Whether no record was ever put.
    pub fn is_empty(&self) -> bool {
        (0..self.shards.len()).all(|s| self.len(s) == 0)
    }

    /// The first position of a shard still within retention.
    pub fn trim_horizon(&self, shard: usize) -> usize {
        let now = self.clock.now();
        let retention = chrono::Duration::milliseconds(
            i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX),
        );
        lock(&self.shards[shard])
            .iter()
            .take_while(|r| r.arrival + retention < now)
            .count()
    }

    /// The Kinesis event Lambda would deliver for these records of a shard.
    pub fn kinesis_event(&self, shard: usize, records: &[StreamRecord]) -> KinesisEvent {
        let shard = shard_id(shard);
        let mut event = KinesisEvent::default();
        for r in records {
            let mut record = KinesisEventRecord::default();
            record.aws_region = Some(self.region.clone());
            record.event_id = Some(format!("{shard}:{}", r.sequence));
            record.event_name = Some("aws:kinesis:record".to_owned());
            record.event_source = Some("aws:kinesis".to_owned());
            record.event_source_arn = Some(format!(
                "arn:aws:kinesis:{}:123456789012:stream/{}",
                self.region, self.name
            ));
            record.event_version = Some("1.0".to_owned());
            record.kinesis.approximate_arrival_timestamp.0 = r.arrival;
            record.kinesis.data.0.clone_from(&r.data);
            record.kinesis.partition_key.clone_from(&r.partition_key);
            record.kinesis.sequence_number.clone_from(&r.sequence);
            record.kinesis.kinesis_schema_version = Some("1.0".to_owned());
            event.records.push(record);
        }
        event
    }
}

/// Serializes and reads back a value, as Lambda's delivery does.
fn through_json<T: Serialize + serde::de::DeserializeOwned>(value: &T) -> Result<T, HandlerError> {
    let bytes = serde_json::to_vec(value).map_err(|e| HandlerError::BadPayload(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| HandlerError::BadPayload(e.to_string()))
}

#[derive(Debug, Clone, Default)]
struct ShardState {
    checkpoint: usize,
    attempts: u64,
    limit: Option<usize>,
}

/// Counts of a mapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MappingStats {
    /// Invocations.
    pub invocations: u64,
    /// Invocations that failed or reported failures.
    pub failed_invocations: u64,
    /// Records sent to the on-failure destination (retries or age exhausted).
    pub parked: u64,
    /// Records lost to the stream's retention before they were read.
    pub expired: u64,
}

/// Lambda's Kinesis event source mapping. See the module documentation.
#[derive(Debug)]
pub struct KinesisMapping {
    /// Records per invocation.
    pub batch_size: usize,
    /// Retries of a failing batch before it goes to the on-failure destination.
    pub max_retries: u64,
    /// Records older than this go to the on-failure destination unread.
    pub max_record_age: Duration,
    /// Halve the batch after a function error.
    pub bisect: bool,
    shards: Vec<ShardState>,
    /// Records sent to the on-failure destination (the S3 destination keeps them).
    pub parked: Vec<StreamRecord>,
    /// Counts.
    pub stats: MappingStats,
}

impl KinesisMapping {
    /// A mapping over a stream of `shards` shards.
    pub fn new(
        shards: usize,
        batch_size: usize,
        max_retries: u64,
        max_record_age: Duration,
    ) -> Self {
        KinesisMapping {
            batch_size: batch_size.max(1),
            max_retries,
            max_record_age,
            bisect: true,
            shards: vec![ShardState::default(); shards.max(1)],
            parked: Vec::new(),
            stats: MappingStats::default(),
        }
    }

    /// Records not yet processed.
    pub fn lag(&self, stream: &LocalStream) -> usize {
        (0..stream.shard_count())
            .map(|s| stream.len(s).saturating_sub(self.shards[s].checkpoint))
            .sum()
    }

    /// One poll: one batch per shard with records, unless the stream is down.
    pub async fn poll<F, Fut>(&mut self, stream: &LocalStream, now: DateTime<Utc>, mut handler: F)
    where
        F: FnMut(KinesisEvent) -> Fut,
        Fut: Future<Output = Result<KinesisEventResponse, HandlerError>>,
    {
        if stream.faults.is_down() {
            return;
        }
        let max_age = chrono::Duration::milliseconds(
            i64::try_from(self.max_record_age.as_millis()).unwrap_or(i64::MAX),
        );
        for shard in 0..stream.shard_count() {
            let horizon = stream.trim_horizon(shard);
            let state = &mut self.shards[shard];
            if state.checkpoint < horizon {
                self.stats.expired += (horizon - state.checkpoint) as u64;
                state.checkpoint = horizon;
            }
            let limit = state.limit.unwrap_or(self.batch_size);
            let mut batch = stream.read(shard, state.checkpoint, limit);
            let too_old = batch
                .iter()
                .take_while(|r| r.arrival + max_age < now)
                .count();
            if too_old > 0 {
                self.stats.parked += too_old as u64;
                self.parked.extend(batch.drain(..too_old));
                state.checkpoint += too_old;
            }
            if batch.is_empty() {
                continue;
            }
            self.stats.invocations += 1;
            let result = match through_json(&stream.kinesis_event(shard, &batch)) {
                Ok(event) => handler(event).await,
                Err(error) => Err(error),
            };
            let done = match &result {
                Ok(response) => {
                    let lowest = response
                        .batch_item_failures
                        .iter()
                        .filter_map(|f| f.item_identifier.as_deref())
                        .min_by(|a, b| compare_sequences(a, b));
                    match lowest {
                        None => batch.len(),
                        Some(sequence) => batch
                            .iter()
                            .position(|r| r.sequence == sequence)
                            .unwrap_or(0),
                    }
                }
                Err(_) => 0,
            };
            state.checkpoint += done;
            if done == batch.len() {
                state.attempts = 0;
                state.limit = None;
                continue;
            }
            self.stats.failed_invocations += 1;
            if done > 0 {
                state.attempts = 0;
                continue;
            }
            if result.is_err() && self.bisect && batch.len() > 1 {
                state.limit = Some(batch.len().div_ceil(2));
            }
            state.attempts += 1;
            if state.attempts > self.max_retries {
                let rest = batch.len() - done;
                self.stats.parked += rest as u64;
                self.parked.extend(batch.drain(done..));
                state.checkpoint += rest;
                state.attempts = 0;
                state.limit = None;
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Message {
    id: String,
    body: String,
    sent_at: DateTime<Utc>,
    receive_count: u64,
    visible_at: DateTime<Utc>,
}

/// Counts of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Messages sent.
    pub sent: u64,
    /// Receives (a message received twice counts twice).
    pub receives: u64,
    /// Messages deleted after success.
    pub deleted: u64,
    /// Messages moved to the DLQ.
    pub dead_lettered: u64,
    /// Messages dropped by retention.
    pub expired: u64,
    /// `ChangeMessageVisibility` calls that took effect.
    pub visibility_changes: u64,
}

/// An in-process SQS queue with a DLQ.
#[derive(Debug)]
pub struct LocalQueue {
    /// Queue name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Visibility timeout.
    pub visibility_timeout: Duration,
    /// Receives before a message moves to the DLQ.
    pub max_receive_count: u64,
    /// Retention.
    pub retention: Duration,
    clock: Clock,
    messages: Mutex<Vec<Message>>,
    dlq: Mutex<Vec<Message>>,
    next_id: AtomicU64,
    stats: Mutex<QueueStats>,
}

fn millis(d: Duration) -> chrono::Duration {
    chrono::Duration::milliseconds(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl LocalQueue {
    /// A queue.
    pub fn new(
        name: &str,
        region: &str,
        visibility_timeout: Duration,
        max_receive_count: u64,
        retention: Duration,
        clock: impl Into<Clock>,
    ) -> Self {
        LocalQueue {
            name: name.to_owned(),
            region: region.to_owned(),
            visibility_timeout,
            max_receive_count: max_receive_count.max(1),
            retention,
            clock: clock.into(),
            messages: Mutex::new(Vec::new()),
            dlq: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            stats: Mutex::new(QueueStats::default()),
        }
    }

    /// Sends a message; returns its id.
    pub fn send(&self, body: String) -> String {
        let now = self.clock.now();
        let id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            self.next_id.fetch_add(1, Ordering::SeqCst),
            0
        );
        lock(&self.messages).push(Message {
            id: id.clone(),
            body,
            sent_at: now,
            receive_count: 0,
            visible_at: now,
        });
        lock(&self.stats).sent += 1;
        id
    }

    /// Receives up to `max` visible messages (moving those past `maxReceiveCount` to the DLQ).
    pub fn receive(&self, max: usize) -> Vec<SqsMessage> {
        let now = self.clock.now();
        let mut messages = lock(&self.messages);
        let mut stats = lock(&self.stats);
        let retention = millis(self.retention);
        let before = messages.len();
        messages.retain(|m| m.sent_at + retention > now);
        stats.expired += (before - messages.len()) as u64;
        let mut out = Vec::new();
        let mut index = 0;
        while index < messages.len() && out.len() < max {
            if messages[index].visible_at > now {
                index += 1;
                continue;
            }
            if messages[index].receive_count >= self.max_receive_count {
                let message = messages.remove(index);
                lock(&self.dlq).push(message);
                stats.dead_lettered += 1;
                continue;
            }
            let message = &mut messages[index];
            message.receive_count += 1;
            message.visible_at = now + millis(self.visibility_timeout);
            stats.receives += 1;
            let mut sqs = SqsMessage::default();
            sqs.message_id = Some(message.id.clone());
            sqs.receipt_handle = Some(format!("{}#{}", message.id, message.receive_count));
            sqs.body = Some(message.body.clone());
            sqs.attributes.insert(
                "ApproximateReceiveCount".to_owned(),
                message.receive_count.to_string(),
            );
            sqs.attributes.insert(
                "SentTimestamp".to_owned(),
                message.sent_at.timestamp_millis().to_string(),
            );
            sqs.event_source = Some("aws:sqs".to_owned());
            sqs.event_source_arn = Some(format!(
                "arn:aws:sqs:{}:123456789012:{}",
                self.region, self.name
            ));
            sqs.aws_region = Some(self.region.clone());
            out.push(sqs);
            index += 1;
        }
        out
    }

    /// Deletes a message by id.
    pub fn delete(&self, id: &str) {
        let mut messages = lock(&self.messages);
        let before = messages.len();
        messages.retain(|m| m.id != id);
        lock(&self.stats).deleted += (before - messages.len()) as u64;
    }

    /// Messages in the queue (visible or not).
    pub fn len(&self) -> usize {
        lock(&self.messages).len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of the messages in the queue (visible or not).
    pub fn ids(&self) -> Vec<String> {
        lock(&self.messages).iter().map(|m| m.id.clone()).collect()
    }

    /// Bodies of the messages in the DLQ.
    pub fn dead_letters(&self) -> Vec<String> {
        lock(&self.dlq).iter().map(|m| m.body.clone()).collect()
    }

    /// Makes every message visible now, as `ChangeMessageVisibility` to 0 on each in-flight
    /// message would (receive counts are kept): `ingest dev` uses it when it stops, so the
    /// bridge retries at once instead of after the visibility timeout.
    pub fn make_visible(&self) {
        let now = self.clock.now();
        for message in lock(&self.messages).iter_mut() {
            message.visible_at = message.visible_at.min(now);
        }
    }

    /// `ChangeMessageVisibility`: the message received with `receipt_handle` becomes visible
    /// `seconds` from now. As in SQS, only the handle of the message's latest receive works,
    /// and a deleted message cannot be changed.
    pub fn change_visibility(&self, receipt_handle: &str, seconds: u64) -> Result<(), InfraError> {
        let invalid = |message: String| {
            InfraError::new(
                Service::Sqs,
                "ChangeMessageVisibility",
                ErrorKind::Invalid,
                message,
            )
        };
        if seconds > crate::redelivery::MAX_VISIBILITY_SECONDS {
            return Err(invalid(format!(
                "a visibility timeout of {seconds} s is above 12 hours"
            )));
        }
        let (id, receive) = receipt_handle
            .rsplit_once('#')
            .and_then(|(id, count)| Some((id, count.parse::<u64>().ok()?)))
            .ok_or_else(|| invalid(format!("ReceiptHandleIsInvalid: {receipt_handle:?}")))?;
        let now = self.clock.now();
        let mut messages = lock(&self.messages);
        let message = messages
            .iter_mut()
            .find(|m| m.id == id && m.receive_count == receive)
            .ok_or_else(|| {
                invalid(format!(
                    "MessageNotInflight: no message was last received with {receipt_handle:?}"
                ))
            })?;
        message.visible_at = now + millis(Duration::from_secs(seconds));
        lock(&self.stats).visibility_changes += 1;
        Ok(())
    }

    /// When the next invisible message becomes visible, if any.
    pub fn next_visible(&self) -> Option<DateTime<Utc>> {
        lock(&self.messages).iter().map(|m| m.visible_at).min()
    }

    /// Counts.
    pub fn stats(&self) -> QueueStats {
        *lock(&self.stats)
    }
}

impl MessageQueue for LocalQueue {
    fn change_visibility(
        &self,
        receipt_handle: &str,
        seconds: u64,
    ) -> impl Future<Output = Result<(), InfraError>> + Send {
        std::future::ready(LocalQueue::change_visibility(self, receipt_handle, seconds))
    }
}

/// Lambda's SQS event source mapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqsMapping {
    /// Messages per invocation.
    pub batch_size: usize,
    /// Batches per poll (the mapping's maximum concurrency).
    pub concurrency: usize,
    /// Invocations.
    pub invocations: u64,
    /// Messages reported failed (or in a failed invocation).
    pub failed_messages: u64,
}

impl SqsMapping {
    /// A mapping.
    pub fn new(batch_size: usize, concurrency: usize) -> Self {
        SqsMapping {
            batch_size: batch_size.max(1),
            concurrency: concurrency.max(1),
            ..SqsMapping::default()
        }
    }

    /// One poll: up to `concurrency` batches of visible messages.
    pub async fn poll<F, Fut>(&mut self, queue: &LocalQueue, mut handler: F)
    where
        F: FnMut(SqsEvent) -> Fut,
        Fut: Future<Output = Result<SqsBatchResponse, HandlerError>>,
    {
        for _ in 0..self.concurrency {
            let messages = queue.receive(self.batch_size);
            if messages.is_empty() {
                return;
            }
            let ids: Vec<String> = messages
                .iter()
                .filter_map(|m| m.message_id.clone())
                .collect();
            let mut event = SqsEvent::default();
            event.records = messages;
            self.invocations += 1;
            let result = match through_json(&event) {
                Ok(event) => handler(event).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(response) => {
                    let failed: Vec<&str> = response
                        .batch_item_failures
                        .iter()
                        .map(|f| f.item_identifier.as_str())
                        .collect();
                    self.failed_messages += failed.len() as u64;
                    for id in &ids {
                        if !failed.contains(&id.as_str()) {
                            queue.delete(id);
                        }
                    }
                }
                Err(_) => self.failed_messages += ids.len() as u64,
            }
        }
    }
}

#[derive(Debug, Default)]
struct SpoolBuffer {
    bytes: Vec<u8>,
    first_at: Option<DateTime<Utc>>,
    records: usize,
}

/// Counts of a spool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Records accepted.
    pub accepted: u64,
    /// Entries refused (`FailedPutCount`).
    pub refused: u64,
    /// Objects written.
    pub objects: u64,
    /// Failed object writes (retried at the next flush).
    pub failed_writes: u64,
}

/// An in-process Firehose delivery stream into a bucket, notifying a queue of each object.
#[derive(Debug)]
pub struct LocalSpool<'a> {
    /// Delivery stream name.
    pub name: String,
    /// Region (of the bucket's notifications).
    pub region: String,
    /// Destination bucket.
    pub bucket: String,
    /// Key prefix (`spool/`); objects go under `<prefix>dt=YYYY-MM-DD/hr=HH/`.
    pub prefix: String,
    /// Buffering interval.
    pub buffer_interval: Duration,
    /// Buffering size.
    pub buffer_bytes: usize,
    store: &'a LocalStore,
    queue: &'a LocalQueue,
    clock: Clock,
    buffer: Mutex<SpoolBuffer>,
    counter: AtomicU64,
    stats: Mutex<SpoolStats>,
    /// Failures of `PutRecordBatch` calls ([`Faults::check`]) and of entries ([`Faults::draw`]).
    pub faults: Faults,
}

impl<'a> LocalSpool<'a> {
    /// A delivery stream; sends the bucket's `s3:TestEvent` to the queue, as configuring the
    /// notification does.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        region: &str,
        bucket: &str,
        buffer_interval: Duration,
        buffer_bytes: usize,
        store: &'a LocalStore,
        queue: &'a LocalQueue,
        clock: impl Into<Clock>,
    ) -> Self {
        let clock = clock.into();
        let test_event = serde_json::json!({
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": timestamp(clock.now()),
            "Bucket": bucket,
            "RequestId": "0000000000000000",
            "HostId": "local",
        });
        queue.send(test_event.to_string());
        LocalSpool {
            name: name.to_owned(),
            region: region.to_owned(),
            bucket: bucket.to_owned(),
            prefix: "spool/".to_owned(),
            buffer_interval,
            buffer_bytes: buffer_bytes.max(1),
            store,
            queue,
            clock,
            buffer: Mutex::new(SpoolBuffer::default()),
            counter: AtomicU64::new(1),
            stats: Mutex::new(SpoolStats::default()),
            faults: Faults::new(),
        }
    }

    /// Counts.
    pub fn stats(&self) -> SpoolStats {
        *lock(&self.stats)
    }

    /// Records buffered and not yet written.
    pub fn buffered(&self) -> usize {
        lock(&self.buffer).records
    }

    /// When the buffer is due, if it holds anything.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        lock(&self.buffer)
            .first_at
            .map(|t| t + millis(self.buffer_interval))
    }

    /// Writes the buffer when its interval has passed or it is full (or always, with
    /// `force`); returns whether an object was written.
    pub async fn flush(&self, force: bool) -> bool {
        let now = self.clock.now();
        let (bytes, first_at, records) = {
            let mut buffer = lock(&self.buffer);
            let Some(first_at) = buffer.first_at else {
                return false;
            };
            let due = force
                || buffer.bytes.len() >= self.buffer_bytes
                || first_at + millis(self.buffer_interval) <= now;
            if !due {
                return false;
            }
            let taken = std::mem::take(&mut *buffer);
            (taken.bytes, first_at, taken.records)
        };
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let key = format!(
            "{}{}/{}-1-{}-{n:08}.gz",
            self.prefix,
            records::partition(first_at),
            self.name,
            first_at.format("%Y-%m-%d-%H-%M-%S")
        );
        let body = records::gzip(&bytes);
        let size = body.len();
        match self.store.put_object(&self.bucket, &key, body).await {
            Ok(()) => {
                let notification = serde_json::json!({"Records": [{
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": self.region,
                    "eventTime": timestamp(now),
                    "eventName": "ObjectCreated:Put",
                    "userIdentity": {"principalId": "AWS:FIREHOSE"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "spool",
                        "bucket": {"name": self.bucket, "ownerIdentity": {"principalId": "LOCAL"}, "arn": format!("arn:aws:s3:::{}", self.bucket)},
                        "object": {"key": encode_s3_key(&key), "size": size, "eTag": format!("{n:032x}"), "sequencer": format!("{n:016X}")}
                    }
                }]});
                self.queue.send(notification.to_string());
                lock(&self.stats).objects += 1;
                true
            }
            Err(_) => {
                let mut buffer = lock(&self.buffer);
                let mut restored = bytes;
                restored.extend_from_slice(&buffer.bytes);
                buffer.bytes = restored;
                buffer.records += records;
                buffer.first_at = Some(buffer.first_at.map_or(first_at, |t| t.min(first_at)));
                lock(&self.stats).failed_writes += 1;
                false
            }
        }
    }
}

impl DeliveryStream for LocalSpool<'_> {
    fn put_record_batch(
        &self,
        stream: &str,
        records: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Vec<Option<String>>, InfraError>> + Send {
        let result = (|| {
            let invalid = |message: String| {
                InfraError::new(
                    Service::Firehose,
                    "PutRecordBatch",
                    ErrorKind::Invalid,
                    message,
                )
            };
            if stream != self.name {
                return Err(InfraError::new(
                    Service::Firehose,
                    "PutRecordBatch",
                    ErrorKind::NotFound,
                    format!("no delivery stream {stream}"),
                ));
            }
            self.faults.check(Service::Firehose, "PutRecordBatch")?;
            if records.is_empty() || records.len() > MAX_BATCH_RECORDS {
                return Err(invalid(format!(
                    "{} records; a batch holds 1 to {MAX_BATCH_RECORDS}",
                    records.len()
                )));
            }
            let total: usize = records.iter().map(Vec::len).sum();
            if total > MAX_BATCH_BYTES {
                return Err(invalid(format!(
                    "{total} bytes; a batch holds at most {MAX_BATCH_BYTES}"
                )));
            }
            if let Some(record) = records.iter().find(|r| r.len() > MAX_RECORD_BYTES) {
                return Err(invalid(format!(
                    "a record of {} bytes; at most {MAX_RECORD_BYTES}",
                    record.len()
                )));
            }
            let now = self.clock.now();
            let mut results = Vec::with_capacity(records.len());
            let mut buffer = lock(&self.buffer);
            let mut stats = lock(&self.stats);
            for record in records {
                if self.faults.draw() {
                    stats.refused += 1;
                    results.push(Some("ServiceUnavailableException".to_owned()));
                } else {
                    buffer.bytes.extend_from_slice(&record);
                    buffer.records += 1;
                    buffer.first_at.get_or_insert(now);
                    stats.accepted += 1;
                    results.push(None);
                }
            }
            Ok(results)
        })();
        std::future::ready(result)
    }
}

/// Lambda `Invoke` of a validator in this process.
#[derive(Debug)]
pub struct LocalInvoker<'a, S, Z> {
    /// The function's name or ARN, as the bridge is configured with.
    pub function: String,
    /// The validator it runs.
    pub validator: ValidatorHandler<'a, S, Z>,
    /// An outage of the function.
    pub faults: &'a Faults,
    invocations: AtomicU64,
}

impl<'a, S, Z> LocalInvoker<'a, S, Z> {
    /// An invoker of `validator` under the name `function`.
    pub fn new(function: &str, validator: ValidatorHandler<'a, S, Z>, faults: &'a Faults) -> Self {
        LocalInvoker {
            function: function.to_owned(),
            validator,
            faults,
            invocations: AtomicU64::new(0),
        }
    }

    /// Invocations so far (failed ones included).
    pub fn invocations(&self) -> u64 {
        self.invocations.load(Ordering::SeqCst)
    }
}

impl<S: ObjectStore, Z: Sleeper> Invoker for LocalInvoker<'_, S, Z> {
    fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<InvokeOutput, InfraError>> + Send {
        self.invocations.fetch_add(1, Ordering::SeqCst);
        let precheck = if function != self.function {
            Err(InfraError::new(
                Service::Lambda,
                "Invoke",
                ErrorKind::NotFound,
                format!("ResourceNotFoundException: {function}"),
            ))
        } else if payload.len() > INVOKE_LIMIT_BYTES {
            Err(InfraError::new(
                Service::Lambda,
                "Invoke",
                ErrorKind::Invalid,
                format!(
                    "RequestEntityTooLargeException: {} bytes, more than {INVOKE_LIMIT_BYTES}",
                    payload.len()
                ),
            ))
        } else {
            self.faults.check(Service::Lambda, "Invoke")
        };
        async move {
            precheck?;
            match self.validator.handle_payload(&payload).await {
                Ok(payload) => Ok(InvokeOutput {
                    function_error: None,
                    payload,
                }),
                Err(error) => Ok(InvokeOutput {
                    function_error: Some("Unhandled".to_owned()),
                    payload: serde_json::json!({"errorType": "HandlerError", "errorMessage": error.to_string()})
                        .to_string()
                        .into_bytes(),
                }),
            }
        }
    }
}

/// What the API's mapping template checks before `PutRecord`: a body longer than
/// `max_event_bytes` characters (`$input.body.length()`) is refused with 413.
pub fn exceeds_event_limit(body: &[u8], max_event_bytes: usize) -> bool {
    String::from_utf8_lossy(body).chars().count() > max_event_bytes
}

/// The account id local resources pretend to belong to (bucket names and ARNs carry one).
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// A region's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The primary: validator, good and quarantine buckets.
    Primary,
    /// The secondary: receiver, spool, queue and bridge.
    Secondary,
}

impl Role {
    /// Both roles.
    pub const BOTH: [Role; 2] = [Role::Primary, Role::Secondary];

    /// `primary` or `secondary`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }

    /// The other role.
    pub fn other(self) -> Role {
        match self {
            Role::Primary => Role::Secondary,
            Role::Secondary => Role::Primary,
        }
    }
}

/// One region's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionSettings {
    /// AWS region name.
    pub region: String,
    /// Shards of its stream (on-demand streams: pick a number).
    pub shards: usize,
    /// Route 53 weight.
    pub weight: u64,
    /// Stream retention in hours.
    pub retention_hours: u64,
}

fn default_chunk_bytes() -> usize {
    DEFAULT_CHUNK_BYTES
}

/// The spec's numbers both regions are built with (from the plan, by the `ingest` command).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineSettings {
    /// The spec's name: the prefix of every resource name.
    pub name: String,
    /// The primary region.
    pub primary: RegionSettings,
    /// The secondary region.
    pub secondary: RegionSettings,
    /// `api.max_event_bytes`.
    pub max_event_bytes: usize,
    /// Validator batch size.
    pub validator_batch_size: usize,
    /// Validator mapping retries.
    pub validator_max_retries: u64,
    /// Validator mapping maximum record age.
    pub validator_max_record_age_seconds: u64,
    /// Receiver batch size.
    pub receiver_batch_size: usize,
    /// Bridge batch size.
    pub bridge_batch_size: usize,
    /// Bridge mapping concurrency.
    pub bridge_max_concurrency: usize,
    /// The bridge's `CHUNK_BYTES`.
    #[serde(default = "default_chunk_bytes")]
    pub bridge_chunk_bytes: usize,
    /// Spool queue visibility timeout.
    pub visibility_timeout_seconds: u64,
    /// Spool queue `maxReceiveCount`.
    pub max_receive_count: u64,
    /// Spool queue retention.
    pub queue_retention_seconds: u64,
    /// How the bridge paces the messages it fails ([`crate::redelivery`]); `None`: they wait
    /// out the visibility timeout.
    #[serde(default)]
    pub bridge_redelivery: Option<Redelivery>,
    /// Firehose buffer interval.
    pub spool_buffer_seconds: u64,
    /// Firehose buffer size.
    pub spool_buffer_mb: u64,
}

impl PipelineSettings {
    /// A region's numbers.
    pub fn region(&self, role: Role) -> &RegionSettings {
        match role {
            Role::Primary => &self.primary,
            Role::Secondary => &self.secondary,
        }
    }

    /// A bucket's name as the stacks name it (`<name>-<purpose>-<account>-<region>`).
    pub fn bucket(&self, purpose: &str, role: Role) -> String {
        format!(
            "{}-{purpose}-{LOCAL_ACCOUNT}-{}",
            self.name,
            self.region(role).region
        )
    }

    /// The good bucket (primary).
    pub fn good_bucket(&self) -> String {
        self.bucket("good", Role::Primary)
    }

    /// The quarantine bucket (primary).
    pub fn quarantine_bucket(&self) -> String {
        self.bucket("quarantine", Role::Primary)
    }

    /// The spool bucket (secondary).
    pub fn spool_bucket(&self) -> String {
        self.bucket("spool", Role::Secondary)
    }

    /// The ARN the bridge invokes: `<name>-validator` in the primary's region.
    pub fn validator_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{LOCAL_ACCOUNT}:function:{}-validator",
            self.primary.region, self.name
        )
    }
}

/// Both regions' services, owned: streams, buckets, the spool's queue, the validator's
/// outage switch, and the handlers' settings. Shared (behind an `Arc` in `ingest dev`) by
/// whoever puts records and pulls levers; a [`LocalPipeline`] borrows it to run the handlers.
#[derive(Debug)]
pub struct LocalServices {
    /// The numbers.
    pub settings: PipelineSettings,
    /// The time everything reads.
    pub clock: Clock,
    /// Every bucket.
    pub store: LocalStore,
    /// The primary's stream.
    pub primary_stream: LocalStream,
    /// The secondary's stream.
    pub secondary_stream: LocalStream,
    /// The queue of spool notifications (and its DLQ).
    pub queue: LocalQueue,
    /// An outage of the validator function, as the bridge's `Invoke` target.
    pub validator_faults: Faults,
    validator_config: ValidatorConfig,
    receiver_config: ReceiverConfig,
    bridge_config: BridgeConfig,
}

impl LocalServices {
    /// Both regions' services over `store`.
    pub fn new(settings: PipelineSettings, clock: impl Into<Clock>, store: LocalStore) -> Self {
        let clock = clock.into();
        let name = &settings.name;
        let hours = |h: u64| Duration::from_secs(h.saturating_mul(3600));
        let stream = |region: &RegionSettings| {
            LocalStream::new(
                &format!("{name}-stream"),
                &region.region,
                region.shards,
                hours(region.retention_hours),
                clock.clone(),
            )
        };
        let primary_stream = stream(&settings.primary);
        let secondary_stream = stream(&settings.secondary);
        let queue = LocalQueue::new(
            &format!("{name}-spool-objects"),
            &settings.secondary.region,
            Duration::from_secs(settings.visibility_timeout_seconds),
            settings.max_receive_count,
            Duration::from_secs(settings.queue_retention_seconds),
            clock.clone(),
        );
        let retry = RetryPolicy::default();
        let validator_config = ValidatorConfig {
            region: settings.primary.region.clone(),
            good_bucket: settings.good_bucket(),
            quarantine_bucket: settings.quarantine_bucket(),
            max_event_bytes: settings.max_event_bytes,
            retry,
        };
        let receiver_config = ReceiverConfig {
            region: settings.secondary.region.clone(),
            delivery_stream: format!("{name}-spool"),
            retry,
        };
        let bridge_config = BridgeConfig {
            validator_function: settings.validator_arn(),
            spool_bucket: Some(settings.spool_bucket()),
            chunk_bytes: settings.bridge_chunk_bytes,
            retry,
            redelivery: settings.bridge_redelivery,
        };
        LocalServices {
            settings,
            clock,
            store,
            primary_stream,
            secondary_stream,
            queue,
            validator_faults: Faults::new(),
            validator_config,
            receiver_config,
            bridge_config,
        }
    }

    /// A region's stream.
    pub fn stream(&self, role: Role) -> &LocalStream {
        match role {
            Role::Primary => &self.primary_stream,
            Role::Secondary => &self.secondary_stream,
        }
    }

    /// Takes a region down or brings it back: its stream (puts and reads) and its buckets, and
    /// for the primary its validator as the bridge's `Invoke` target.
    pub fn set_down(&self, role: Role, down: bool) {
        self.stream(role).faults.set_down(down);
        match role {
            Role::Primary => {
                self.store
                    .faults(&self.validator_config.good_bucket)
                    .set_down(down);
                self.store
                    .faults(&self.validator_config.quarantine_bucket)
                    .set_down(down);
                self.validator_faults.set_down(down);
            }
            Role::Secondary => self
                .store
                .faults(&self.settings.spool_bucket())
                .set_down(down),
        }
    }

    /// Whether a region is down.
    pub fn is_down(&self, role: Role) -> bool {
        self.stream(role).faults.is_down()
    }
}

/// What ran in one round of a [`LocalPipeline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The validator on a batch of the primary's stream.
    Validator,
    /// The receiver on a batch of the secondary's stream.
    Receiver,
    /// The spool (Firehose) wrote an object.
    Spool,
    /// The bridge on a batch of spool notifications.
    Bridge,
}

impl Stage {
    /// The stage's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Validator => "validator",
            Stage::Receiver => "receiver",
            Stage::Spool => "spool",
            Stage::Bridge => "bridge",
        }
    }

    /// The region role it runs in.
    pub fn role(self) -> Role {
        match self {
            Stage::Validator => Role::Primary,
            Stage::Receiver | Stage::Spool | Stage::Bridge => Role::Secondary,
        }
    }
}

/// One handler invocation (or spool object) of a round, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLog {
    /// What ran.
    pub stage: Stage,
    /// The shard, for a stream's batch.
    pub shard: Option<String>,
    /// Records (stream batches, spool objects) or messages (bridge).
    pub records: usize,
    /// Good lines written (validator, bridge).
    pub good: usize,
    /// Quarantine lines written (validator, bridge).
    pub quarantined: usize,
    /// Records handed to the spool (receiver).
    pub spooled: usize,
    /// Records or messages left unfinished (retried by the platform).
    pub failed: usize,
    /// `s3:TestEvent` messages skipped (bridge).
    pub test_events: usize,
    /// Why the first failed message failed (bridge).
    pub error: Option<String>,
    /// The longest delay a failed message was given before it is received again (bridge,
    /// with a redelivery schedule).
    pub paced_seconds: Option<u64>,
    /// When it started, on the pipeline's clock.
    pub at: DateTime<Utc>,
    /// Wall time the handler took.
    pub duration: Duration,
}

impl BatchLog {
    fn new(stage: Stage, records: usize, at: DateTime<Utc>) -> Self {
        BatchLog {
            stage,
            at,
            shard: None,
            records,
            good: 0,
            quarantined: 0,
            spooled: 0,
            failed: 0,
            test_events: 0,
            error: None,
            paced_seconds: None,
            duration: Duration::ZERO,
        }
    }
}

/// The shard of a Kinesis event's first record.
fn event_shard(event: &KinesisEvent) -> Option<String> {
    event
        .records
        .first()
        .and_then(|r| r.event_id.as_deref())
        .map(|id| records::shard_of_event_id(id).to_owned())
}

/// The handlers over a [`LocalServices`]: the primary's Kinesis mapping into the validator,
/// the secondary's into the receiver and its spool, and the SQS mapping into the bridge, which
/// invokes the validator in process.
#[derive(Debug)]
pub struct LocalPipeline<'a> {
    services: &'a LocalServices,
    registry: &'a Registry,
    /// The secondary's delivery stream.
    pub spool: LocalSpool<'a>,
    /// The validator as the bridge invokes it.
    pub invoker: LocalInvoker<'a, LocalStore, Clock>,
    /// The primary's mapping (validator).
    pub primary_mapping: KinesisMapping,
    /// The secondary's mapping (receiver).
    pub secondary_mapping: KinesisMapping,
    /// The queue's mapping (bridge).
    pub sqs_mapping: SqsMapping,
    /// `s3:TestEvent` messages the bridge skipped so far.
    pub test_events: u64,
}

impl<'a> LocalPipeline<'a> {
    /// Wires the handlers; the spool's notification sends its `s3:TestEvent` now.
    pub fn new(services: &'a LocalServices, registry: &'a Registry) -> Self {
        let settings = &services.settings;
        let spool = LocalSpool::new(
            &services.receiver_config.delivery_stream,
            &settings.secondary.region,
            &settings.spool_bucket(),
            Duration::from_secs(settings.spool_buffer_seconds),
            usize::try_from(settings.spool_buffer_mb.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
            &services.store,
            &services.queue,
            services.clock.clone(),
        );
        let validator = ValidatorHandler {
            registry,
            config: &services.validator_config,
            store: &services.store,
            sleeper: &services.clock,
        };
        let invoker = LocalInvoker::new(
            &services.bridge_config.validator_function,
            validator,
            &services.validator_faults,
        );
        let hours = |h: u64| Duration::from_secs(h.saturating_mul(3600));
        LocalPipeline {
            services,
            registry,
            spool,
            invoker,
            primary_mapping: KinesisMapping::new(
                settings.primary.shards,
                settings.validator_batch_size,
                settings.validator_max_retries,
                Duration::from_secs(settings.validator_max_record_age_seconds),
            ),
            // The receiver only wraps and spools: its mapping retries for the stream's whole
            // retention rather than park anything.
            secondary_mapping: KinesisMapping::new(
                settings.secondary.shards,
                settings.receiver_batch_size,
                10_000,
                hours(settings.secondary.retention_hours),
            ),
            sqs_mapping: SqsMapping::new(
                settings.bridge_batch_size,
                settings.bridge_max_concurrency,
            ),
            test_events: 0,
        }
    }

    /// The services it runs over.
    pub fn services(&self) -> &'a LocalServices {
        self.services
    }

    /// One round: a poll of the primary's mapping, of the secondary's, a flush of the spool
    /// when it is due, and a poll of the queue's mapping. Returns what ran, in order.
    pub async fn step(&mut self) -> Vec<BatchLog> {
        let services = self.services;
        let now = services.clock.now();
        let logs = std::cell::RefCell::new(Vec::new());
        let validator = ValidatorHandler {
            registry: self.registry,
            config: &services.validator_config,
            store: &services.store,
            sleeper: &services.clock,
        };
        self.primary_mapping
            .poll(&services.primary_stream, now, |event| {
                let logs = &logs;
                async move {
                    let (at, started) = (services.clock.now(), std::time::Instant::now());
                    let outcome = validator.process_kinesis(&event).await;
                    let mut log = BatchLog::new(Stage::Validator, outcome.stats.records, at);
                    log.shard = event_shard(&event);
                    log.good = outcome.stats.good;
                    log.quarantined = outcome.stats.quarantined;
                    log.failed = outcome.unfinished.len();
                    log.duration = started.elapsed();
                    logs.borrow_mut().push(log);
                    Ok(kinesis_failures(&event, &outcome.unfinished))
                }
            })
            .await;
        let receiver = ReceiverHandler {
            config: &services.receiver_config,
            stream: &self.spool,
            sleeper: &services.clock,
        };
        self.secondary_mapping
            .poll(&services.secondary_stream, now, |event| {
                let logs = &logs;
                async move {
                    let (at, started) = (services.clock.now(), std::time::Instant::now());
                    let outcome = receiver.process_kinesis(&event).await;
                    let mut log = BatchLog::new(Stage::Receiver, outcome.stats.records, at);
                    log.shard = event_shard(&event);
                    log.failed = outcome.unfinished.len();
                    log.spooled = log.records - log.failed;
                    log.duration = started.elapsed();
                    logs.borrow_mut().push(log);
                    Ok(kinesis_failures(&event, &outcome.unfinished))
                }
            })
            .await;
        self.flush_spool(false, &logs).await;
        let bridge = BridgeHandler {
            config: &services.bridge_config,
            store: &services.store,
            invoker: &self.invoker,
            sleeper: &services.clock,
        };
        let test_events = std::cell::Cell::new(0u64);
        self.sqs_mapping
            .poll(&services.queue, |event| {
                let (logs, test_events) = (&logs, &test_events);
                async move {
                    let (at, started) = (services.clock.now(), std::time::Instant::now());
                    let outcome = bridge.process_sqs(&event).await;
                    test_events.set(test_events.get() + outcome.stats.test_events as u64);
                    let failed: Vec<usize> = outcome.failed.iter().map(|(i, _)| *i).collect();
                    let paced = match &services.bridge_config.redelivery {
                        Some(schedule) if !failed.is_empty() => {
                            let pacing = Pacing {
                                schedule,
                                queue: &services.queue,
                            };
                            Some(pacing.pace(&event, &failed).await.longest_delay_seconds())
                        }
                        _ => None,
                    };
                    let mut log = BatchLog::new(Stage::Bridge, outcome.stats.messages, at);
                    log.good = outcome.stats.good;
                    log.quarantined = outcome.stats.quarantined;
                    log.failed = failed.len();
                    log.test_events = outcome.stats.test_events;
                    log.error = outcome.failed.first().map(|(_, error)| error.to_string());
                    log.paced_seconds = paced;
                    log.duration = started.elapsed();
                    logs.borrow_mut().push(log);
                    Ok(sqs_failures(&event, &failed))
                }
            })
            .await;
        self.test_events += test_events.get();
        logs.into_inner()
    }

    /// Writes the spool's buffer now (when `ingest dev` stops, so nothing buffered is lost);
    /// returns the object written, if any.
    pub async fn flush_spool_now(&self) -> Option<BatchLog> {
        let logs = std::cell::RefCell::new(Vec::new());
        self.flush_spool(true, &logs).await;
        logs.into_inner().pop()
    }

    async fn flush_spool(&self, force: bool, logs: &std::cell::RefCell<Vec<BatchLog>>) {
        let (at, started) = (self.services.clock.now(), std::time::Instant::now());
        let buffered = self.spool.buffered();
        if self.spool.flush(force).await {
            let mut log = BatchLog::new(Stage::Spool, buffered, at);
            log.duration = started.elapsed();
            logs.borrow_mut().push(log);
        }
    }

    /// Records in a region's stream that its mapping has not processed yet.
    pub fn lag(&self, role: Role) -> usize {
        match role {
            Role::Primary => self.primary_mapping.lag(&self.services.primary_stream),
            Role::Secondary => self.secondary_mapping.lag(&self.services.secondary_stream),
        }
    }

    /// Whether either stream has records not processed yet.
    pub fn busy(&self) -> bool {
        self.lag(Role::Primary) > 0 || self.lag(Role::Secondary) > 0
    }

    /// Whether everything is done: no stream lag, nothing buffered, no message in the queue.
    pub fn quiet(&self) -> bool {
        !self.busy() && self.spool.buffered() == 0 && self.services.queue.is_empty()
    }

    /// When the spool's buffer or the next invisible message is due, if either is.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        [self.spool.due_at(), self.services.queue.next_visible()]
            .into_iter()
            .flatten()
            .min()
    }
}
