//! The receiver (secondary region): the secondary stream into the Firehose spool.
//!
//! Each Kinesis record becomes one [`SpoolRecord`] line (its origin and its bytes; Firehose
//! concatenates records, so each ends with a newline,
//! `docs/traps.md#firehose-putrecordbatch`). Lines go out with
//! `PutRecordBatch` in batches within the service limits ([`MAX_BATCH_RECORDS`] records,
//! [`MAX_BATCH_BYTES`] bytes, [`MAX_RECORD_BYTES`] each). A response may accept some entries
//! and refuse others (`FailedPutCount`); exactly the refused entries are put again, with
//! backoff. Records still not accepted after the [`RetryPolicy`](super::RetryPolicy) are
//! reported as `batchItemFailures`.
//!
//! A record whose line would exceed [`MAX_RECORD_BYTES`] (only possible when
//! `api.max_event_bytes` is above about 750 KiB, since base64 adds a third) cannot travel
//! whole: its line keeps the first [`TRUNCATED_KEEP_BYTES`] bytes and its real size, and the
//! validator quarantines it as `too_large` instead of dropping it.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;

use super::records::{Origin, SpoolRecord, shard_of_event_id};
use super::{
    DeliveryStream, HandlerError, Lookup, RetryPolicy, Sleeper, env_var, kinesis_failures,
    process_env,
};

/// Most records in one `PutRecordBatch`.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Most bytes in one `PutRecordBatch`.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Most bytes in one Firehose record.
pub const MAX_RECORD_BYTES: usize = 1000 * 1024;
/// How much of a record too large for the spool is kept.
pub const TRUNCATED_KEEP_BYTES: usize = 64 * 1024;

/// The receiver's settings (environment variables of the secondary stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// `AWS_REGION`: the origin region of records that do not name theirs.
    pub region: String,
    /// `DELIVERY_STREAM`.
    pub delivery_stream: String,
    /// Retries of refused entries.
    pub retry: RetryPolicy,
}

impl ReceiverConfig {
    /// Reads `AWS_REGION` and `DELIVERY_STREAM` from the process environment.
    pub fn from_env() -> Result<Self, HandlerError> {
        Self::from_lookup(&process_env)
    }

    /// [`ReceiverConfig::from_env`], reading the variables through `lookup`.
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Self, HandlerError> {
        Ok(ReceiverConfig {
            region: env_var(lookup, "AWS_REGION")?,
            delivery_stream: env_var(lookup, "DELIVERY_STREAM")?,
            retry: RetryPolicy::default(),
        })
    }
}

/// Counts of one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Records in the batch.
    pub records: usize,
    /// `PutRecordBatch` calls.
    pub calls: usize,
    /// Entries put again after being refused (or after a failed call).
    pub retried_entries: usize,
    /// Records too large for the spool, sent truncated.
    pub truncated: usize,
}

/// The result of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiverOutcome {
    /// Indices of the records Firehose did not accept, ascending.
    pub unfinished: Vec<usize>,
    /// Counts.
    pub stats: ReceiverStats,
}

/// The receiver function. See the module documentation.
#[derive(Debug)]
pub struct ReceiverHandler<'a, D, Z> {
    /// Settings.
    pub config: &'a ReceiverConfig,
    /// The Firehose delivery stream.
    pub stream: &'a D,
    /// How retries wait.
    pub sleeper: &'a Z,
}

impl<D, Z> Clone for ReceiverHandler<'_, D, Z> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D, Z> Copy for ReceiverHandler<'_, D, Z> {}

/// The spool line of a record, truncated when it would not fit one Firehose record.
pub fn spool_line(origin: &Origin, data: &[u8]) -> (Vec<u8>, bool) {
    let line = SpoolRecord::new(origin, data).to_line();
    if line.len() <= MAX_RECORD_BYTES {
        return (line, false);
    }
    let mut record = SpoolRecord::new(origin, &data[..data.len().min(TRUNCATED_KEEP_BYTES)]);
    record.truncated_from = Some(data.len() as u64);
    (record.to_line(), true)
}

/// Splits entries (by index) into batches within the `PutRecordBatch` limits.
pub fn batches(lines: &[Vec<u8>], pending: &[usize]) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut bytes = 0;
    for &index in pending {
        let size = lines[index].len();
        if !current.is_empty()
            && (current.len() == MAX_BATCH_RECORDS || bytes + size > MAX_BATCH_BYTES)
        {
            batches.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(index);
        bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

impl<D: DeliveryStream, Z: Sleeper> ReceiverHandler<'_, D, Z> {
    /// Handles a Kinesis batch: the response lists the records not accepted, by sequence number.
    pub async fn handle_kinesis(&self, event: &KinesisEvent) -> KinesisEventResponse {
        let outcome = self.process_kinesis(event).await;
        kinesis_failures(event, &outcome.unfinished)
    }

    /// Wraps and puts every record of a batch.
    pub async fn process_kinesis(&self, event: &KinesisEvent) -> ReceiverOutcome {
        let mut stats = ReceiverStats {
            records: event.records.len(),
            ..ReceiverStats::default()
        };
        let lines: Vec<Vec<u8>> = event
            .records
            .iter()
            .map(|r| {
                let origin = Origin {
                    region: r
                        .aws_region
                        .clone()
                        .unwrap_or_else(|| self.config.region.clone()),
                    shard: shard_of_event_id(r.event_id.as_deref().unwrap_or("shardId-unknown"))
                        .to_owned(),
                    sequence: r.kinesis.sequence_number.clone(),
                    arrival: r.kinesis.approximate_arrival_timestamp.0,
                };
                let (line, truncated) = spool_line(&origin, &r.kinesis.data.0);
                stats.truncated += usize::from(truncated);
                line
            })
            .collect();
        let mut pending: Vec<usize> = (0..lines.len()).collect();
        let attempts = self.config.retry.attempts.max(1);
        for attempt in 0..attempts {
            let mut refused = Vec::new();
            let mut permanent = false;
            for batch in batches(&lines, &pending) {
                let records: Vec<Vec<u8>> = batch.iter().map(|&i| lines[i].clone()).collect();
                stats.calls += 1;
                match self
                    .stream
                    .put_record_batch(&self.config.delivery_stream, records)
                    .await
                {
                    Ok(results) => {
                        for (position, &index) in batch.iter().enumerate() {
                            if results.get(position).is_none_or(Option::is_some) {
                                refused.push(index);
                            }
                        }
                    }
                    Err(error) => {
                        permanent |= !error.kind.is_retryable();
                        refused.extend_from_slice(&batch);
                    }
                }
            }
            refused.sort_unstable();
            pending = refused;
            if pending.is_empty() || permanent || attempt + 1 == attempts {
                break;
            }
            stats.retried_entries += pending.len();
            self.sleeper.sleep(self.config.retry.delay(attempt)).await;
        }
        ReceiverOutcome {
            unfinished: pending,
            stats,
        }
    }
}
