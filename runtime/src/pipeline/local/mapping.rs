//! Lambda's event source mappings: Kinesis (checkpoints, `batchItemFailures`, bisect, bounded
//! retries, maximum record age, an on-failure destination) and SQS (batches, failures per
//! message).
//!
//! Both hand the function what Lambda hands the bootstrap: the event as JSON bytes (a Kinesis
//! record's `approximateArrivalTimestamp` as a JSON number of seconds, as Lambda sends it), and
//! read its answer back from JSON bytes. An answer that is not a valid response, or names a
//! record that was not in the batch, fails the whole batch, as Lambda's documentation says
//! ("Lambda treats a batch as a complete failure if the function returns ... an invalid JSON
//! response ... an itemIdentifier value with a sequence number that doesn't exist").

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::KinesisEventResponse;
use chrono::{DateTime, Utc};

use super::super::HandlerError;
use super::super::records::compare_sequences;
use super::{Clock, LocalQueue, LocalStream, StreamRecord};

/// The payload Lambda sends a function for a Kinesis event: JSON, with each record's
/// `approximateArrivalTimestamp` a number of seconds with the milliseconds as its fraction
/// (`aws_lambda_events` writes a string; Lambda writes a number).
pub fn kinesis_payload(event: &KinesisEvent) -> Result<Vec<u8>, HandlerError> {
    let bad = |e: serde_json::Error| HandlerError::BadPayload(e.to_string());
    let mut value = serde_json::to_value(event).map_err(bad)?;
    if let Some(records) = value
        .get_mut("Records")
        .and_then(serde_json::Value::as_array_mut)
    {
        for (json, record) in records.iter_mut().zip(&event.records) {
            let millis = record
                .kinesis
                .approximate_arrival_timestamp
                .0
                .timestamp_millis();
            if let (Some(kinesis), Some(seconds)) = (
                json.get_mut("kinesis")
                    .and_then(serde_json::Value::as_object_mut),
                serde_json::Number::from_f64(millis as f64 / 1000.0),
            ) {
                kinesis.insert(
                    "approximateArrivalTimestamp".to_owned(),
                    serde_json::Value::Number(seconds),
                );
            }
        }
    }
    serde_json::to_vec(&value).map_err(bad)
}

/// Why a Kinesis mapping sent records to its on-failure destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParkReason {
    /// Older than `MaximumRecordAgeInSeconds`.
    Age,
    /// `MaximumRetryAttempts` ran out.
    Retries,
}

/// A record a Kinesis mapping sent to its on-failure destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    /// The record.
    pub record: StreamRecord,
    /// Why.
    pub reason: ParkReason,
    /// When.
    pub at: DateTime<Utc>,
}

/// How close the records a mapping finished came to being given up on or trimmed: the least
/// time left, when a record left the stream, before its age reached the mapping's maximum
/// record age and the stream's retention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamMargins {
    /// Least milliseconds left before the maximum record age (and when).
    pub record_age: Option<(i64, DateTime<Utc>)>,
    /// Least milliseconds left before the stream's retention (and when).
    pub retention: Option<(i64, DateTime<Utc>)>,
}

fn keep_least(slot: &mut Option<(i64, DateTime<Utc>)>, left_ms: i64, at: DateTime<Utc>) {
    if slot.is_none_or(|(least, _)| left_ms < least) {
        *slot = Some((left_ms, at));
    }
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
    /// Retries of a failing batch before it goes to the on-failure destination (`None`: until
    /// the record's age runs out, as `MaximumRetryAttempts: -1`).
    pub max_retries: Option<u64>,
    /// Records older than this go to the on-failure destination unread.
    pub max_record_age: Duration,
    /// Halve the batch after a function error.
    pub bisect: bool,
    shards: Vec<ShardState>,
    /// The function's timeout: an invocation whose handler takes longer (on the pipeline's
    /// clock) is a function error, whatever it answered (`None`: no timeout).
    pub timeout: Option<Duration>,
    /// Records sent to the on-failure destination (the S3 destination keeps them), and why.
    pub parked: Vec<Parked>,
    /// Records the stream's retention trimmed before the mapping read them.
    pub expired: Vec<StreamRecord>,
    /// How close the finished records came to the age limit and the retention.
    pub margins: StreamMargins,
    /// Counts.
    pub stats: MappingStats,
}

impl KinesisMapping {
    /// A mapping over a stream of `shards` shards.
    pub fn new(
        shards: usize,
        batch_size: usize,
        max_retries: Option<u64>,
        max_record_age: Duration,
    ) -> Self {
        KinesisMapping {
            batch_size: batch_size.max(1),
            max_retries,
            max_record_age,
            bisect: true,
            timeout: None,
            shards: vec![ShardState::default(); shards.max(1)],
            parked: Vec::new(),
            expired: Vec::new(),
            margins: StreamMargins::default(),
            stats: MappingStats::default(),
        }
    }

    /// Records not yet processed.
    pub fn lag(&self, stream: &LocalStream) -> usize {
        (0..stream.shard_count())
            .map(|s| stream.len(s).saturating_sub(self.shards[s].checkpoint))
            .sum()
    }

    /// One poll: one batch per shard with records, unless the stream is down (Lambda cannot
    /// read it; the records age meanwhile). `handler` gets the payload Lambda would send
    /// ([`kinesis_payload`]) and answers with the function's response bytes. The shards'
    /// invocations run side by side on `clock` ([`Clock::concurrently`]), and an invocation
    /// that outlasts [`KinesisMapping::timeout`] fails whole.
    pub async fn poll<F, Fut>(&mut self, stream: &LocalStream, clock: &Clock, mut handler: F)
    where
        F: FnMut(Vec<u8>) -> Fut,
        Fut: Future<Output = Result<Vec<u8>, HandlerError>>,
    {
        if stream.faults.is_down() {
            return;
        }
        let max_age = chrono::Duration::milliseconds(
            i64::try_from(self.max_record_age.as_millis()).unwrap_or(i64::MAX),
        );
        let retention = chrono::Duration::milliseconds(
            i64::try_from(stream.retention.as_millis()).unwrap_or(i64::MAX),
        );
        let mut lanes = clock.concurrently();
        for shard in 0..stream.shard_count() {
            lanes.next();
            let now = clock.now();
            let horizon = stream.trim_horizon(shard);
            let state = &mut self.shards[shard];
            if state.checkpoint < horizon {
                let trimmed = horizon - state.checkpoint;
                self.stats.expired += trimmed as u64;
                let lost = stream.read(shard, state.checkpoint, trimmed);
                // A record trimmed unread left the stream too, with no time left: the margins
                // say so (they are what the drill's alarms are judged from).
                for record in &lost {
                    keep_least(
                        &mut self.margins.retention,
                        (retention - (now - record.arrival)).num_milliseconds(),
                        now,
                    );
                }
                self.expired.extend(lost);
                state.checkpoint = horizon;
            }
            let limit = state.limit.unwrap_or(self.batch_size);
            let mut batch = stream.read(shard, state.checkpoint, limit);
            let too_old = batch
                .iter()
                .take_while(|r| r.arrival + max_age < now)
                .count();
            if too_old > 0 {
                for record in &batch[..too_old] {
                    keep_least(
                        &mut self.margins.record_age,
                        (max_age - (now - record.arrival)).num_milliseconds(),
                        now,
                    );
                }
                self.stats.parked += too_old as u64;
                self.parked
                    .extend(batch.drain(..too_old).map(|record| Parked {
                        record,
                        reason: ParkReason::Age,
                        at: now,
                    }));
                state.checkpoint += too_old;
            }
            if batch.is_empty() {
                continue;
            }
            self.stats.invocations += 1;
            let started = clock.now();
            let answer = match kinesis_payload(&stream.kinesis_event(shard, &batch)) {
                Ok(payload) => handler(payload).await,
                Err(error) => Err(error),
            };
            let ended = clock.now();
            let timed_out = self
                .timeout
                .is_some_and(|timeout| ended - started > super::millis(timeout));
            // A function error, a timeout (Lambda kills the invocation: no answer) or an
            // answer that is not a response: the whole batch failed.
            let result = match answer {
                Ok(bytes) if !timed_out => {
                    serde_json::from_slice::<KinesisEventResponse>(&bytes).map_err(|_| ())
                }
                _ => Err(()),
            };
            let done = match &result {
                Ok(response) => {
                    let lowest = response
                        .batch_item_failures
                        .iter()
                        .map(|f| f.item_identifier.as_deref())
                        .min_by(|a, b| match (a, b) {
                            (Some(a), Some(b)) => compare_sequences(a, b),
                            (None, _) => std::cmp::Ordering::Less,
                            (_, None) => std::cmp::Ordering::Greater,
                        });
                    match lowest {
                        None => batch.len(),
                        // A missing or unknown identifier: the whole batch failed.
                        Some(sequence) => sequence
                            .and_then(|sequence| batch.iter().position(|r| r.sequence == sequence))
                            .unwrap_or(0),
                    }
                }
                Err(_) => 0,
            };
            for record in &batch[..done] {
                let age = ended - record.arrival;
                keep_least(
                    &mut self.margins.record_age,
                    (max_age - age).num_milliseconds(),
                    ended,
                );
                keep_least(
                    &mut self.margins.retention,
                    (retention - age).num_milliseconds(),
                    ended,
                );
            }
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
            if self.max_retries.is_some_and(|most| state.attempts > most) {
                for record in &batch[done..] {
                    keep_least(
                        &mut self.margins.record_age,
                        (max_age - (ended - record.arrival)).num_milliseconds(),
                        ended,
                    );
                }
                let rest = batch.len() - done;
                self.stats.parked += rest as u64;
                self.parked.extend(batch.drain(done..).map(|record| Parked {
                    record,
                    reason: ParkReason::Retries,
                    at: ended,
                }));
                state.checkpoint += rest;
                state.attempts = 0;
                state.limit = None;
            }
        }
        lanes.finish();
    }
}

/// Lambda's SQS event source mapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqsMapping {
    /// Messages per invocation.
    pub batch_size: usize,
    /// Batches per poll (the mapping's maximum concurrency).
    pub concurrency: usize,
    /// The function's timeout: an invocation whose handler takes longer (on the pipeline's
    /// clock) fails whole, whatever it answered (`None`: no timeout).
    pub timeout: Option<Duration>,
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

    /// One poll: up to `concurrency` batches of visible messages. `handler` gets the SQS
    /// event as JSON bytes and answers with the function's response bytes; an invocation that
    /// outlasts [`SqsMapping::timeout`] on `clock` fails whole (its messages come back after
    /// the visibility timeout). The batches run side by side on `clock`
    /// ([`Clock::concurrently`]), as Lambda's concurrent invocations do.
    pub async fn poll<F, Fut>(&mut self, queue: &LocalQueue, clock: &Clock, mut handler: F)
    where
        F: FnMut(Vec<u8>) -> Fut,
        Fut: Future<Output = Result<Vec<u8>, HandlerError>>,
    {
        let mut lanes = clock.concurrently();
        for _ in 0..self.concurrency {
            lanes.next();
            let messages = queue.receive(self.batch_size);
            if messages.is_empty() {
                break;
            }
            let ids: Vec<String> = messages
                .iter()
                .filter_map(|m| m.message_id.clone())
                .collect();
            let mut event = SqsEvent::default();
            event.records = messages;
            self.invocations += 1;
            let started = clock.now();
            let answer = match serde_json::to_vec(&event) {
                Ok(payload) => handler(payload).await,
                Err(error) => Err(HandlerError::BadPayload(error.to_string())),
            };
            let timed_out = self
                .timeout
                .is_some_and(|timeout| clock.now() - started > super::millis(timeout));
            let result = match answer {
                Ok(bytes) if !timed_out => {
                    serde_json::from_slice::<SqsBatchResponse>(&bytes).map_err(|_| ())
                }
                _ => Err(()),
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
        lanes.finish();
    }
}
