//! The bridge (secondary region): spool objects into the primary validator.
//!
//! Each SQS message carries an S3 notification. For each created object the bridge reads it
//! (keys arrive URL-encoded and are decoded; objects are gunzipped when gzip), cuts it into
//! chunks of whole lines whose `Invoke` payload stays under `CHUNK_BYTES` (and so under the 6 MB
//! limit of a synchronous invoke, `docs/traps.md#lambda-invoke-payload`), and invokes the primary
//! validator with `RequestResponse` for each chunk, in order. A chunk is done when the validator
//! answers without a function error and with no unfinished line; otherwise it is tried again with
//! backoff, and when it still fails the message is reported in `batchItemFailures`, and a
//! message that keeps failing (a poison message, or a primary outage longer than the retry
//! budget) reaches the DLQ alone, without holding back the others. Chunks are cut the same way
//! every time, so a retried message writes the same keys.
//!
//! A failed message would come back only when the queue's visibility timeout (six times the
//! bridge's timeout) runs out. [`Pacing`] brings it back sooner: with a redelivery schedule
//! (`REDELIVERY_*` and `MAX_RECEIVE_COUNT`, [`crate::redelivery`]) and the queue
//! (`QUEUE_URL`), the bridge gives each failed message a visibility that grows with its
//! `ApproximateReceiveCount` from a short first delay to a cap, so after the primary recovers
//! the backlog drains within about one cap, while the receives up to `maxReceiveCount` still
//! span the whole retry budget. Pacing a message that then fails to change only costs time: it
//! waits out the queue's visibility timeout instead.
//!
//! The `s3:TestEvent` message S3 sends when the notification is configured
//! (`docs/traps.md#s3-test-event`) has no `Records`; it is acknowledged and skipped.
//!
//! A notification is read for the members the bridge uses ([`Notification`]: each record's
//! `eventName`, `eventTime`, bucket name and object key), not as `aws_lambda_events`' `S3Event`,
//! which also requires `userIdentity` and `requestParameters`: S3 sends them, but moto (the
//! tests' AWS) does not, and a missing member the bridge never reads must not make every
//! message poison.

use std::fmt;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use serde::Deserialize;

use super::records::{
    self, BridgeChunk, BridgeRequest, BridgeResponse, decode_s3_key, parse_timestamp, timestamp,
};
use super::{
    Deadline, ErrorKind, HandlerError, InfraError, Invoker, Lookup, MessageQueue, ObjectStore,
    RetryPolicy, Service, Sleeper, env_number, env_var, process_env,
};
use crate::redelivery::Redelivery;

/// Largest synchronous `Invoke` request payload (6 MB, `docs/traps.md#lambda-invoke-payload`).
pub const INVOKE_LIMIT_BYTES: usize = 6 * 1024 * 1024;
/// The default payload budget of one chunk (`CHUNK_BYTES` of the secondary stack).
pub const DEFAULT_CHUNK_BYTES: usize = 5 * 1024 * 1024;
/// Room left in a chunk's payload for everything but the lines.
const PAYLOAD_OVERHEAD: usize = 1024;

/// The bridge's settings (environment variables of the secondary stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    /// `VALIDATOR_FUNCTION_ARN`: the only function the bridge invokes.
    pub validator_function: String,
    /// `SPOOL_BUCKET`: when set, notifications of other buckets are refused.
    pub spool_bucket: Option<String>,
    /// `CHUNK_BYTES`: the largest `Invoke` payload the bridge sends.
    pub chunk_bytes: usize,
    /// Retries of reads and invokes.
    pub retry: RetryPolicy,
    /// `REDELIVERY_*` and `MAX_RECEIVE_COUNT`: how soon a failed message comes back
    /// ([`Pacing`]); `None` leaves it to the queue's visibility timeout.
    pub redelivery: Option<Redelivery>,
}

impl BridgeConfig {
    /// Reads `VALIDATOR_FUNCTION_ARN`, `SPOOL_BUCKET`, `CHUNK_BYTES` and the redelivery
    /// schedule from the process environment.
    pub fn from_env() -> Result<Self, HandlerError> {
        Self::from_lookup(&process_env)
    }

    /// [`BridgeConfig::from_env`], reading the variables through `lookup`.
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Self, HandlerError> {
        let chunk_bytes = env_number(lookup, "CHUNK_BYTES", DEFAULT_CHUNK_BYTES as u64)?;
        Ok(BridgeConfig {
            validator_function: env_var(lookup, "VALIDATOR_FUNCTION_ARN")?,
            spool_bucket: lookup("SPOOL_BUCKET").filter(|bucket| !bucket.is_empty()),
            chunk_bytes: usize::try_from(chunk_bytes)
                .unwrap_or(DEFAULT_CHUNK_BYTES)
                .min(INVOKE_LIMIT_BYTES),
            retry: RetryPolicy::default(),
            redelivery: Redelivery::from_lookup(lookup)
                .map_err(|error| HandlerError::Config(error.to_string()))?,
        })
    }
}

/// Why a message could not be finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeError {
    /// The body is neither an S3 notification nor the test event.
    NotANotification(String),
    /// The notification names a bucket other than the spool.
    ForeignBucket(String),
    /// The spool object could not be read (after retries).
    Read(InfraError),
    /// The spool object is gzip but corrupt.
    Corrupt(String),
    /// A single line is too large for one invoke.
    LineTooLarge(usize),
    /// The validator could not be invoked, failed, or left lines unfinished (after retries).
    Invoke(InfraError),
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::NotANotification(message) => {
                write!(f, "the message is not an S3 notification: {message}")
            }
            BridgeError::ForeignBucket(bucket) => {
                write!(f, "the notification is for bucket {bucket}, not the spool")
            }
            BridgeError::Read(error) => write!(f, "cannot read the spool object: {error}"),
            BridgeError::Corrupt(message) => write!(f, "the spool object is corrupt: {message}"),
            BridgeError::LineTooLarge(size) => {
                write!(f, "a spool line of {size} bytes does not fit one invoke")
            }
            BridgeError::Invoke(error) => {
                write!(f, "the validator did not finish a chunk: {error}")
            }
        }
    }
}

impl std::error::Error for BridgeError {}

/// An S3 event notification (the body of an SQS message), as far as the bridge reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Notification {
    /// One record per object event.
    #[serde(rename = "Records")]
    pub records: Vec<NotificationRecord>,
}

/// One object event of a [`Notification`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRecord {
    /// `ObjectCreated:Put`...; events of other kinds are skipped.
    #[serde(default)]
    pub event_name: Option<String>,
    /// When the object was written (RFC 3339).
    pub event_time: String,
    /// The bucket and the object.
    pub s3: NotificationEntity,
}

/// The bucket and object of a [`NotificationRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NotificationEntity {
    /// The bucket.
    pub bucket: NotificationBucket,
    /// The object.
    pub object: NotificationObject,
}

/// The bucket of a [`NotificationEntity`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NotificationBucket {
    /// Its name.
    pub name: String,
}

/// The object of a [`NotificationEntity`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NotificationObject {
    /// Its key, URL-encoded as notifications carry it.
    pub key: String,
}

/// Counts of one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeStats {
    /// Messages in the batch.
    pub messages: usize,
    /// `s3:TestEvent` messages skipped.
    pub test_events: usize,
    /// Spool objects read.
    pub objects: usize,
    /// Invokes (retries included).
    pub invokes: usize,
    /// Chunks the validator finished.
    pub chunks: usize,
    /// Events the validator wrote to good.
    pub good: usize,
    /// Lines the validator wrote to quarantine.
    pub quarantined: usize,
}

/// The result of a batch.
#[derive(Debug, Clone, Default)]
pub struct BridgeOutcome {
    /// The messages that failed, by index, with why.
    pub failed: Vec<(usize, BridgeError)>,
    /// Counts.
    pub stats: BridgeStats,
}

/// The bridge function. See the module documentation.
#[derive(Debug)]
pub struct BridgeHandler<'a, S, I, Z> {
    /// Settings.
    pub config: &'a BridgeConfig,
    /// Where spool objects are read.
    pub store: &'a S,
    /// How the validator is invoked.
    pub invoker: &'a I,
    /// How retries wait.
    pub sleeper: &'a Z,
    /// When the invocation must answer: messages not finished by then are reported failed.
    pub deadline: Deadline,
}

impl<S, I, Z> Clone for BridgeHandler<'_, S, I, Z> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, I, Z> Copy for BridgeHandler<'_, S, I, Z> {}

/// The answer to an SQS batch whose messages at `failed` (indices) are unfinished: their ids as
/// `batchItemFailures`, so SQS retries exactly them.
pub fn sqs_failures(event: &SqsEvent, failed: &[usize]) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for &index in failed {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = event.records[index].message_id.clone().unwrap_or_default();
        response.batch_item_failures.push(failure);
    }
    response
}

/// Cuts NDJSON into chunks of whole lines, each at most `max_bytes` (a longer line is a chunk
/// of its own). Blank lines are dropped.
pub fn chunk_lines(text: &[u8], max_bytes: usize) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    for line in text.split(|b| *b == b'\n') {
        if line.trim_ascii().is_empty() {
            continue;
        }
        if !current.is_empty() && current.len() + line.len() + 1 > max_bytes {
            chunks.push(std::mem::take(&mut current));
        }
        current.extend_from_slice(line);
        current.push(b'\n');
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn lambda_error(kind: ErrorKind, message: String) -> InfraError {
    InfraError::new(Service::Lambda, "Invoke", kind, message)
}

impl<S: ObjectStore, I: Invoker, Z: Sleeper> BridgeHandler<'_, S, I, Z> {
    /// Handles an SQS batch: the response lists the failed messages by id.
    pub async fn handle_sqs(&self, event: &SqsEvent) -> SqsBatchResponse {
        let outcome = self.process_sqs(event).await;
        let failed: Vec<usize> = outcome.failed.iter().map(|(index, _)| *index).collect();
        sqs_failures(event, &failed)
    }

    /// Processes every message of a batch, each on its own.
    pub async fn process_sqs(&self, event: &SqsEvent) -> BridgeOutcome {
        let mut outcome = BridgeOutcome::default();
        outcome.stats.messages = event.records.len();
        for (index, message) in event.records.iter().enumerate() {
            let body = message.body.as_deref().unwrap_or_default();
            if let Err(error) = self.process_message(body, &mut outcome.stats).await {
                outcome.failed.push((index, error));
            }
        }
        outcome
    }

    /// Processes one message body.
    pub async fn process_message(
        &self,
        body: &str,
        stats: &mut BridgeStats,
    ) -> Result<(), BridgeError> {
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| BridgeError::NotANotification(e.to_string()))?;
        if value.get("Event").and_then(serde_json::Value::as_str) == Some("s3:TestEvent") {
            stats.test_events += 1;
            return Ok(());
        }
        let event: Notification = serde_json::from_value(value)
            .map_err(|e| BridgeError::NotANotification(e.to_string()))?;
        if event.records.is_empty() {
            return Err(BridgeError::NotANotification(
                "it has no Records".to_owned(),
            ));
        }
        for record in &event.records {
            if !record
                .event_name
                .as_deref()
                .unwrap_or_default()
                .starts_with("ObjectCreated")
            {
                continue;
            }
            let event_time = parse_timestamp(&record.event_time).ok_or_else(|| {
                BridgeError::NotANotification(format!(
                    "eventTime is not a timestamp: {:?}",
                    record.event_time
                ))
            })?;
            let bucket = record.s3.bucket.name.clone();
            if self
                .config
                .spool_bucket
                .as_ref()
                .is_some_and(|spool| *spool != bucket)
            {
                return Err(BridgeError::ForeignBucket(bucket));
            }
            let key = decode_s3_key(&record.s3.object.key);
            let object = self
                .config
                .retry
                .run(self.sleeper, self.deadline, || {
                    self.store.get_object(&bucket, &key)
                })
                .await
                .map_err(|gave_up| {
                    BridgeError::Read(gave_up.into_error(Service::S3, "GetObject"))
                })?;
            stats.objects += 1;
            let text = records::gunzip_if_gzip(&object)
                .map_err(|e| BridgeError::Corrupt(e.to_string()))?;
            let overhead = PAYLOAD_OVERHEAD + bucket.len() + key.len();
            let max_line_bytes = self
                .config
                .chunk_bytes
                .min(INVOKE_LIMIT_BYTES)
                .saturating_sub(overhead)
                / 4
                * 3;
            let spooled_at = timestamp(event_time);
            for (chunk_index, lines) in chunk_lines(&text, max_line_bytes).into_iter().enumerate() {
                if lines.len() > max_line_bytes {
                    return Err(BridgeError::LineTooLarge(lines.len()));
                }
                let request = BridgeRequest {
                    ingest_bridge: BridgeChunk {
                        bucket: bucket.clone(),
                        key: key.clone(),
                        chunk: chunk_index,
                        spooled_at: spooled_at.clone(),
                        lines: BASE64.encode(&lines),
                    },
                };
                let payload = serde_json::to_vec(&request).unwrap_or_default();
                let response = self
                    .config
                    .retry
                    .run(self.sleeper, self.deadline, || {
                        stats.invokes += 1;
                        self.invoke_chunk(payload.clone())
                    })
                    .await
                    .map_err(|gave_up| {
                        BridgeError::Invoke(gave_up.into_error(Service::Lambda, "Invoke"))
                    })?;
                stats.chunks += 1;
                stats.good += response.good;
                stats.quarantined += response.quarantined;
            }
        }
        Ok(())
    }

    async fn invoke_chunk(&self, payload: Vec<u8>) -> Result<BridgeResponse, InfraError> {
        let output = self
            .invoker
            .invoke(&self.config.validator_function, payload)
            .await?;
        if let Some(error) = output.function_error {
            let detail = String::from_utf8_lossy(&output.payload).into_owned();
            return Err(lambda_error(
                ErrorKind::Unavailable,
                format!("function error {error}: {detail}"),
            ));
        }
        let response: BridgeResponse = serde_json::from_slice(&output.payload)
            .map_err(|e| lambda_error(ErrorKind::Unavailable, format!("unreadable answer: {e}")))?;
        if !response.unfinished.is_empty() {
            return Err(lambda_error(
                ErrorKind::Unavailable,
                format!(
                    "{} of {} lines unfinished",
                    response.unfinished.len(),
                    response.records
                ),
            ));
        }
        Ok(response)
    }
}

/// The `ApproximateReceiveCount` of an SQS message (1 when it is missing or unreadable).
pub fn receive_count(message: &SqsMessage) -> u64 {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse().ok())
        .unwrap_or(1)
}

/// What [`Pacing::pace`] did to a batch's failed messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacingOutcome {
    /// Messages given their next delay: (index, receive count, delay in seconds).
    pub paced: Vec<(usize, u64, u64)>,
    /// Messages whose visibility could not be changed (they wait out the queue's visibility
    /// timeout instead), by index.
    pub failed: Vec<(usize, InfraError)>,
}

impl PacingOutcome {
    /// The longest delay given, in seconds.
    pub fn longest_delay_seconds(&self) -> u64 {
        self.paced
            .iter()
            .map(|(_, _, delay)| *delay)
            .max()
            .unwrap_or(0)
    }
}

/// The bridge's redelivery pacing: after a batch, each failed message becomes visible again
/// after its schedule's next delay instead of the queue's visibility timeout (see the module
/// documentation and [`crate::redelivery`]).
#[derive(Debug)]
pub struct Pacing<'a, Q> {
    /// The schedule.
    pub schedule: &'a Redelivery,
    /// The queue the messages came from.
    pub queue: &'a Q,
}

impl<Q> Clone for Pacing<'_, Q> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Q> Copy for Pacing<'_, Q> {}

impl<Q: MessageQueue> Pacing<'_, Q> {
    /// Gives each message of `event` at `failed` (indices) the delay its receive count calls
    /// for (`ChangeMessageVisibility` on its receipt handle). Call it before answering the
    /// batch: the event source mapping leaves failed messages in flight as they are.
    pub async fn pace(&self, event: &SqsEvent, failed: &[usize]) -> PacingOutcome {
        let mut outcome = PacingOutcome::default();
        for &index in failed {
            let message = &event.records[index];
            let receives = receive_count(message);
            let id = message.message_id.as_deref().unwrap_or_default();
            let delay = self.schedule.delay(id, receives);
            let Some(handle) = message.receipt_handle.as_deref().filter(|h| !h.is_empty()) else {
                outcome.failed.push((
                    index,
                    InfraError::new(
                        Service::Sqs,
                        "ChangeMessageVisibility",
                        ErrorKind::Invalid,
                        "the message has no receipt handle",
                    ),
                ));
                continue;
            };
            match self.queue.change_visibility(handle, delay).await {
                Ok(()) => outcome.paced.push((index, receives, delay)),
                Err(error) => outcome.failed.push((index, error)),
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_needs_only_what_the_bridge_reads() {
        // moto's body: no userIdentity, requestParameters or responseElements.
        let body = r#"{"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-west-2", "eventTime": "2026-11-26T06:38:21.571Z", "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion": "1.0", "configurationId": "c", "bucket": {"name": "spool", "arn": "arn:aws:s3:::spool"}, "object": {"key": "spool%2Fx+y%3D1.gz", "size": 2, "eTag": "e"}}}]}"#;
        let notification: Notification = serde_json::from_str(body).unwrap();
        let record = &notification.records[0];
        assert_eq!(record.event_name.as_deref(), Some("ObjectCreated:Put"));
        assert_eq!(record.s3.bucket.name, "spool");
        assert_eq!(decode_s3_key(&record.s3.object.key), "spool/x y=1.gz");
        assert_eq!(
            parse_timestamp(&record.event_time).map(timestamp),
            Some("2026-11-26T06:38:21.571Z".to_owned())
        );
        // Without a key there is nothing to read: not a notification.
        let keyless = body.replace(r#""key": "spool%2Fx+y%3D1.gz", "#, "");
        assert!(serde_json::from_str::<Notification>(&keyless).is_err());
    }
}
