//! Lambda's event source mappings: Kinesis (checkpoints, `batchItemFailures`, bisect, bounded
//! retries, maximum record age, an on-failure destination) and SQS (batches, failures per
//! message).

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::KinesisEventResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::super::HandlerError;
use super::super::records::compare_sequences;
use super::{LocalQueue, LocalStream, StreamRecord};

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
    /// Retries of a failing batch before it goes to the on-failure destination (`None`: until
    /// the record's age runs out, as `MaximumRetryAttempts: -1`).
    pub max_retries: Option<u64>,
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
        max_retries: Option<u64>,
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
            if self.max_retries.is_some_and(|most| state.attempts > most) {
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
