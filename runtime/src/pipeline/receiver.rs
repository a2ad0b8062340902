//! The receiver (secondary region): the secondary stream into the Firehose spool.
//!
//! Each Kinesis record becomes one [`SpoolRecord`] line (its origin and its bytes; Firehose
//! concatenates records, so each ends with a newline, `docs/traps.md#firehose-putrecordbatch`).
//! Lines are **packed** into Firehose records of up to [`MAX_RECORD_BYTES`], whole lines in
//! stream order ([`pack`]): a Direct PUT stream's quota counts records as well as bytes
//! (`docs/traps.md#firehose-throughput-quota`), and the spool objects read line by line just
//! the same. Packed records go out with `PutRecordBatch` in batches within the service limits
//! ([`MAX_BATCH_RECORDS`] records, [`MAX_BATCH_BYTES`] bytes). A response may accept some
//! entries and refuse others (`FailedPutCount`: throttling at the quota, or a fault); exactly
//! the refused entries are put again, with jittered backoff, while the invocation's
//! [`Deadline`] allows another try. Records whose lines are still not accepted are reported as
//! `batchItemFailures`, and the mapping retries them (until their age runs out).
//!
//! **One bad part never fails the whole**: a call refused as a whole for a reason that is the
//! request's own (`InvalidArgumentException`: the service will refuse the same request again)
//! is split in halves, each put on its own at once, down to a single line. A single line
//! Firehose still refuses that way is replaced by a marker line, its origin, its first
//! [`TRUNCATED_KEEP_BYTES`] bytes, its size and the reason (`refused`), which the validator
//! quarantines as `unspoolable`: the record ends in quarantine with its reason instead of
//! holding back its shard. If the marker is refused too, the fault is not the record's, and
//! it is reported unfinished.
//!
//! A record whose line would exceed [`MAX_RECORD_BYTES`] (only possible when
//! `api.max_event_bytes` is above about 750 KiB, since base64 adds a third, or when another
//! producer writes the stream) cannot travel whole: its line keeps the first
//! [`TRUNCATED_KEEP_BYTES`] bytes and its real size, and the validator quarantines it as
//! `too_large` instead of dropping it.

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;

use super::records::{Origin, SpoolRecord, shard_of_event_id};
use super::{
    Deadline, DeliveryStream, ErrorKind, HandlerError, InfraError, Lookup, RetryPolicy, Sleeper,
    env_var, kinesis_failures, process_env,
};

/// Most records in one `PutRecordBatch`.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Most bytes in one `PutRecordBatch`.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Most bytes in one Firehose record.
pub const MAX_RECORD_BYTES: usize = 1000 * 1024;
/// How much of a record too large for the spool (or refused by it) is kept.
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
    /// Firehose records the lines were packed into.
    pub packed: usize,
    /// `PutRecordBatch` calls.
    pub calls: usize,
    /// Entries put again after being refused (or after a failed call).
    pub retried_entries: usize,
    /// Records too large for the spool, sent truncated.
    pub truncated: usize,
    /// Records Firehose refused as invalid, sent as marker lines for quarantine.
    pub refused: usize,
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
    /// When the invocation must answer: what is not accepted by then is reported.
    pub deadline: Deadline,
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

/// One Firehose record: whole spool lines, and the stream records they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The lines, concatenated.
    pub bytes: Vec<u8>,
    /// The index of each line's stream record, in order.
    pub records: Vec<usize>,
}

/// Packs lines (one per stream record, in order) into Firehose records of at most
/// [`MAX_RECORD_BYTES`], whole lines only.
pub fn pack(lines: &[Vec<u8>]) -> Vec<Packed> {
    let mut packed: Vec<Packed> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        match packed.last_mut() {
            Some(last) if last.bytes.len() + line.len() <= MAX_RECORD_BYTES => {
                last.bytes.extend_from_slice(line);
                last.records.push(index);
            }
            _ => packed.push(Packed {
                bytes: line.clone(),
                records: vec![index],
            }),
        }
    }
    packed
}

/// Splits entries into batches within the `PutRecordBatch` limits, in order.
pub fn batches(entries: Vec<Packed>) -> Vec<Vec<Packed>> {
    let mut batches = Vec::new();
    let mut current: Vec<Packed> = Vec::new();
    let mut bytes = 0;
    for entry in entries {
        let size = entry.bytes.len();
        if !current.is_empty()
            && (current.len() == MAX_BATCH_RECORDS || bytes + size > MAX_BATCH_BYTES)
        {
            batches.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(entry);
        bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// What one `PutRecordBatch` left to do.
enum Put {
    /// The entries refused (to put again later).
    Refused(Vec<Packed>),
    /// The call was refused as invalid: the entries, to split.
    Invalid(Vec<Packed>, InfraError),
    /// The call failed for a reason retrying will not fix in this invocation (a missing
    /// stream, denied access): the entries, unfinished.
    Stop(Vec<Packed>),
}

impl<D: DeliveryStream, Z: Sleeper> ReceiverHandler<'_, D, Z> {
    /// Handles a Kinesis batch: the response lists the records not accepted, by sequence number.
    pub async fn handle_kinesis(&self, event: &KinesisEvent) -> KinesisEventResponse {
        let outcome = self.process_kinesis(event).await;
        kinesis_failures(event, &outcome.unfinished)
    }

    fn origin(&self, record: &KinesisEventRecord) -> Origin {
        Origin {
            region: record
                .aws_region
                .clone()
                .unwrap_or_else(|| self.config.region.clone()),
            shard: shard_of_event_id(record.event_id.as_deref().unwrap_or("shardId-unknown"))
                .to_owned(),
            sequence: record.kinesis.sequence_number.clone(),
            arrival: record.kinesis.approximate_arrival_timestamp.0,
        }
    }

    /// Wraps, packs and puts every record of a batch.
    pub async fn process_kinesis(&self, event: &KinesisEvent) -> ReceiverOutcome {
        let mut stats = ReceiverStats {
            records: event.records.len(),
            ..ReceiverStats::default()
        };
        let lines: Vec<Vec<u8>> = event
            .records
            .iter()
            .map(|r| {
                let (line, truncated) = spool_line(&self.origin(r), &r.kinesis.data.0);
                stats.truncated += usize::from(truncated);
                line
            })
            .collect();
        let mut pending = pack(&lines);
        stats.packed = pending.len();
        let retry = &self.config.retry;
        let mut attempt = 0;
        let mut stop = false;
        while !pending.is_empty() && !stop {
            let mut refused = Vec::new();
            for batch in batches(pending) {
                if stop
                    || !self
                        .deadline
                        .allows(self.sleeper.now_ms(), retry.attempt_timeout)
                {
                    refused.extend(batch);
                    continue;
                }
                match self.put(batch, &mut stats).await {
                    Put::Refused(entries) => refused.extend(entries),
                    Put::Invalid(entries, error) => {
                        refused.extend(self.split(entries, event, error, &mut stats).await);
                    }
                    Put::Stop(entries) => {
                        stop = true;
                        refused.extend(entries);
                    }
                }
            }
            pending = refused;
            if pending.is_empty() || stop || attempt + 1 >= retry.attempts.max(1) {
                break;
            }
            let wait = retry.jittered_delay(attempt, self.sleeper.random());
            if !self.deadline.allows(
                self.sleeper.now_ms(),
                wait.saturating_add(retry.attempt_timeout),
            ) {
                break;
            }
            stats.retried_entries += pending.len();
            self.sleeper.sleep(wait).await;
            attempt += 1;
        }
        let mut unfinished: Vec<usize> = pending.into_iter().flat_map(|e| e.records).collect();
        unfinished.sort_unstable();
        unfinished.dedup();
        ReceiverOutcome { unfinished, stats }
    }

    async fn put(&self, entries: Vec<Packed>, stats: &mut ReceiverStats) -> Put {
        stats.calls += 1;
        let records: Vec<Vec<u8>> = entries.iter().map(|e| e.bytes.clone()).collect();
        match self
            .stream
            .put_record_batch(&self.config.delivery_stream, records)
            .await
        {
            Ok(results) => Put::Refused(
                entries
                    .into_iter()
                    .enumerate()
                    .filter(|(position, _)| results.get(*position).is_none_or(Option::is_some))
                    .map(|(_, entry)| entry)
                    .collect(),
            ),
            Err(error) if error.kind == ErrorKind::Invalid => Put::Invalid(entries, error),
            Err(error) if error.kind.is_retryable() => Put::Refused(entries),
            Err(_) => Put::Stop(entries),
        }
    }

    /// Puts entries a call refused as invalid in ever smaller parts, at once (the request was
    /// wrong, not the service busy): halves, then the lines of one entry, then a marker for a
    /// single line. Returns what is still not accepted.
    async fn split(
        &self,
        entries: Vec<Packed>,
        event: &KinesisEvent,
        error: InfraError,
        stats: &mut ReceiverStats,
    ) -> Vec<Packed> {
        let mut left = Vec::new();
        let mut work = vec![(entries, error)];
        while let Some((entries, error)) = work.pop() {
            let parts: Vec<Vec<Packed>> = match entries.as_slice() {
                [] => continue,
                [single] if single.records.len() == 1 => {
                    let marker = self.marker(&event.records[single.records[0]], &error);
                    match self.put(vec![marker], stats).await {
                        Put::Refused(rest) | Put::Invalid(rest, _) | Put::Stop(rest)
                            if !rest.is_empty() =>
                        {
                            left.extend(entries);
                        }
                        _ => stats.refused += 1,
                    }
                    continue;
                }
                [single] => {
                    // A packed record: its lines one by one.
                    let line_lengths = single
                        .records
                        .iter()
                        .map(|&index| self.line_len(&event.records[index]));
                    let mut offset = 0;
                    let mut parts = Vec::new();
                    for (&index, length) in single.records.iter().zip(line_lengths) {
                        parts.push(vec![Packed {
                            bytes: single.bytes[offset..offset + length].to_vec(),
                            records: vec![index],
                        }]);
                        offset += length;
                    }
                    parts
                }
                many => {
                    let half = many.len() / 2;
                    vec![many[..half].to_vec(), many[half..].to_vec()]
                }
            };
            for part in parts {
                match self.put(part, stats).await {
                    Put::Refused(rest) | Put::Stop(rest) => left.extend(rest),
                    Put::Invalid(rest, error) => work.push((rest, error)),
                }
            }
        }
        left
    }

    fn line_len(&self, record: &KinesisEventRecord) -> usize {
        spool_line(&self.origin(record), &record.kinesis.data.0)
            .0
            .len()
    }

    /// The marker line of a record Firehose refused as invalid.
    fn marker(&self, record: &KinesisEventRecord, error: &InfraError) -> Packed {
        let data = &record.kinesis.data.0;
        let mut line = SpoolRecord::new(
            &self.origin(record),
            &data[..data.len().min(TRUNCATED_KEEP_BYTES)],
        );
        line.truncated_from = Some(data.len() as u64);
        line.refused = Some(error.to_string());
        Packed {
            bytes: line.to_line(),
            records: Vec::new(),
        }
    }
}
