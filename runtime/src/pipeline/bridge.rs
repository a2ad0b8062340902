//! The bridge (secondary region): spool objects into the primary validator.
//!
//! Each SQS message carries an S3 notification. For each created object the bridge reads it
//! (keys arrive URL-encoded and are decoded) and cuts it into chunks of whole lines whose
//! `Invoke` payload stays under `CHUNK_BYTES` (and so under the 6 MB limit of a synchronous
//! invoke, `docs/traps.md#lambda-invoke-payload`), and invokes the primary validator with
//! `RequestResponse` for each chunk, in order. A chunk is done when the validator answers
//! without a function error and with no unfinished line. Chunks are cut the same way every time
//! (blank lines dropped, a chunk closed when the next line would not fit), so a retried message
//! writes the same keys.
//!
//! **Bounded memory** (loss path 5). A gzip object is decompressed as a stream
//! ([`ChunkCutter`]): lines are cut into chunks as they come out of the decoder, and each chunk
//! is delivered before the next is read, so what an object may decompress to (a gzip bomb, or
//! just a large object) costs time, not memory. A message holds its object as read (compressed),
//! the decoder's state, the chunk being filled and the line being read (each at most the chunk's
//! line budget `M`, about three quarters of `CHUNK_BYTES`), and the payload of one invoke and
//! its copy for the try in flight: [`limits::worst_case_bytes`] states the bound, about the
//! object's compressed size plus 9.4 `M` (`M` is 3.75 MiB with the default `CHUNK_BYTES`), about 35 MiB
//! besides the object, of the bridge's 512 MB. A line longer than one chunk can carry is never
//! held whole: its first [`limits::OVERSIZE_HEAD_BYTES`] are kept, the rest only counted, and it
//! is quarantined as one bad line (below).
//!
//! **One bad part never fails the whole** (loss path 4). A chunk fails *for its own sake* when
//! the validator ran and failed on it (a function error: a crash, running out of memory, a
//! payload it refuses), when Lambda refuses the request itself ([`ErrorKind::Invalid`]:
//! `RequestTooLargeException`...), or when the answer is unreadable. Such a chunk is split in
//! halves at once, and each half is sent on its own, in order, down to the single line; a single
//! line is tried again with the retry policy's backoff, and a line that still fails is sent once
//! more with `unprocessable` set ([`BridgeChunk::unprocessable`]): the validator then does not
//! judge it but quarantines it (kind `unprocessable`, the record's original bytes and origin,
//! the reason). The rest of the object is delivered and nothing is lost. Parts carry their
//! chunk's index and their first line's place in it ([`BridgeChunk::first_line`]), so every line
//! keeps its origin (a line that is not a spool record takes it from that place), and a message
//! delivered again splits the same way and writes the same keys. (A chunk delivered whole once
//! and in parts once, after a passing failure, leaves its events in objects of both shapes:
//! duplicates, which collapse on `(source, id)`.) Failures that mean the primary is down or busy
//! (throttled, unavailable, timed out, unfinished lines: its S3 failed) are retried whole,
//! never split: splitting them would only multiply the calls.
//!
//! **Deadlines** (loss path 3). A bridge invocation that times out is a function error: every
//! message of the batch comes back after the visibility timeout, the finished ones too. So no
//! call starts that could not end before the invocation's [`Deadline`]: the margin of a call is
//! the longest it may take, one number per call kind, made of the same constants the SDK's
//! clients get as their timeouts: an `Invoke` may take the validator's timeout and
//! [`ATTEMPT_TIMEOUT`] ([`invoke_attempt_timeout`], set from
//! `VALIDATOR_TIMEOUT_SECONDS`), a `GetObject` its attempt and its body's timeout
//! ([`READ_TIMEOUT`]). Retries wait a random share of an exponentially growing delay (full
//! jitter). Messages are handled **one after the other**: after a message failed because the
//! primary or the spool is down (infrastructure errors after the retries, or the deadline), the
//! rest of the batch is reported at once without a call (`NotTried`), so an outage costs one
//! message's retry budget per invocation instead of ten, and the invocation ends early and is
//! polled again on time. Messages are not handled side by side: the mapping's concurrency
//! (`MaximumConcurrency`) already spreads a backlog over invocations, concurrent messages would
//! multiply the per-invocation memory above and the validator invocations the primary sees,
//! and an outage would fail them all together anyway. Within a message, chunks and parts of
//! chunks go in the object's order. The answer lists exactly the unfinished messages in
//! `batchItemFailures`: a finished message is never redelivered, and no chunk is sent twice by
//! one invocation (a message that fails part-way sends its chunks again when it comes back; they
//! write the same keys).
//!
//! A failed message would come back only when the queue's visibility timeout (six times the
//! bridge's timeout) runs out. [`Pacing`] brings it back sooner: with a redelivery schedule
//! (`REDELIVERY_*` and `MAX_RECEIVE_COUNT`, [`crate::redelivery`]) and the queue
//! (`QUEUE_URL`), the bridge gives each failed message a visibility that grows with its
//! `ApproximateReceiveCount` from a short first delay to a cap, so after the primary recovers
//! the backlog drains within about one cap, while the receives up to `maxReceiveCount` still
//! span the whole retry budget. Pacing a message that then fails to change only costs time: it
//! waits out the queue's visibility timeout instead. A message that keeps failing (a poison
//! message, or a primary outage longer than the retry budget) reaches the DLQ alone.
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
use std::io::BufRead;
use std::sync::Mutex;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use serde::Deserialize;

use super::records::{
    BridgeChunk, BridgeRequest, BridgeResponse, decode_s3_key, parse_timestamp, timestamp,
};
use super::{
    ATTEMPT_TIMEOUT, BODY_TIMEOUT, Deadline, ErrorKind, GaveUp, HandlerError, InfraError, Invoker,
    Lookup, MessageQueue, ObjectStore, RetryPolicy, Service, Sleeper, env_number, env_var,
    process_env,
};
use crate::redelivery::Redelivery;

/// Largest synchronous `Invoke` request payload (6 MB, `docs/traps.md#lambda-invoke-payload`).
pub const INVOKE_LIMIT_BYTES: usize = 6 * 1024 * 1024;
/// The default payload budget of one chunk (`CHUNK_BYTES` of the secondary stack).
pub const DEFAULT_CHUNK_BYTES: usize = 5 * 1024 * 1024;
/// Room left in a chunk's payload for everything but the lines.
const PAYLOAD_OVERHEAD: usize = 1024;
/// How long one `GetObject` may take: its attempt, then its body (`aws::S3Store`). The margin
/// before the deadline that a read needs.
pub const READ_TIMEOUT: Duration = ATTEMPT_TIMEOUT.saturating_add(BODY_TIMEOUT);

/// How long one `Invoke` of a validator whose timeout is `validator_timeout` may take: the
/// validator's run and a call's attempt timeout. The bridge's margin before its deadline for an
/// invoke, and the attempt timeout of its Lambda client (`aws::LambdaInvoker::new`).
pub fn invoke_attempt_timeout(validator_timeout: Duration) -> Duration {
    validator_timeout.saturating_add(ATTEMPT_TIMEOUT)
}

/// What one message may hold (see the module documentation).
pub mod limits {
    /// Bytes of a line too long for one invoke that are kept in its quarantine line.
    pub const OVERSIZE_HEAD_BYTES: usize = 64 * 1024;
    /// The gzip decoder's state (inflate window and tables) and the line reader's buffer,
    /// rounded up.
    pub const DECODER_BYTES: usize = 256 * 1024;

    /// The line budget of a chunk whose payload may take `chunk_bytes` (base64 takes 4 bytes
    /// for 3) when the object's bucket and key take `name_bytes`.
    pub fn chunk_line_bytes(chunk_bytes: usize, name_bytes: usize) -> usize {
        chunk_bytes
            .min(super::INVOKE_LIMIT_BYTES)
            .saturating_sub(super::PAYLOAD_OVERHEAD + name_bytes)
            / 4
            * 3
    }

    /// An upper bound of the heap one message holds while its object of `object_bytes` (as
    /// stored, compressed or not) is delivered in chunks of at most `line_bytes` of lines
    /// ([`chunk_line_bytes`]): the object, the decoder, the chunk being filled and the line
    /// being read (each at most twice `line_bytes`, as vectors grow by doubling), the payload
    /// of an invoke (the base64 of the lines, then the JSON, which may hold twice its length
    /// while it grows) and the copy handed to the try in flight. A split chunk's parts are cut
    /// from the chunk, one at a time.
    pub fn worst_case_bytes(object_bytes: usize, line_bytes: usize) -> usize {
        let payload = line_bytes / 3 * 4 + 4 + super::PAYLOAD_OVERHEAD;
        object_bytes
            .saturating_add(DECODER_BYTES)
            .saturating_add(line_bytes.saturating_mul(4))
            .saturating_add(payload.saturating_mul(4))
    }
}

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
    /// The validator could not be invoked or left lines unfinished (after retries, or stopped
    /// before the deadline).
    Invoke(InfraError),
    /// The validator failed even to quarantine a line it failed on.
    Unprocessable(String),
    /// Not tried: an earlier message of the batch found the primary or the spool down.
    NotTried(String),
}

impl BridgeError {
    /// Whether the failure says the primary or the spool is down (or the deadline is near), so
    /// the batch's other messages would fail the same way: the rest is reported untried. A
    /// validator that fails even to quarantine a line fails on everything (a broken deploy):
    /// an outage too.
    pub fn is_outage(&self) -> bool {
        match self {
            BridgeError::Read(error) => error.kind.is_retryable(),
            BridgeError::Invoke(_) | BridgeError::Unprocessable(_) | BridgeError::NotTried(_) => {
                true
            }
            BridgeError::NotANotification(_)
            | BridgeError::ForeignBucket(_)
            | BridgeError::Corrupt(_) => false,
        }
    }
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
            BridgeError::Invoke(error) => {
                write!(f, "the validator did not finish a chunk: {error}")
            }
            BridgeError::Unprocessable(message) => {
                write!(
                    f,
                    "the validator could not quarantine a line it fails on: {message}"
                )
            }
            BridgeError::NotTried(message) => {
                write!(
                    f,
                    "not tried, an earlier message of the batch failed: {message}"
                )
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
    /// Chunks, or parts of chunks, the validator finished.
    pub chunks: usize,
    /// Chunks (or parts) split in halves because the validator failed on them.
    pub splits: usize,
    /// Lines the validator quarantined as `unprocessable` at the bridge's request.
    pub unprocessable: usize,
    /// Events the validator wrote to good.
    pub good: usize,
    /// Lines the validator wrote to quarantine.
    pub quarantined: usize,
    /// Messages reported without a try because an earlier one found an outage.
    pub not_tried: usize,
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

/// What [`ChunkCutter`] cuts an object into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Chunk `chunk`: whole lines, each ending with a newline, at most the line budget.
    Lines {
        /// The chunk's index in the object.
        chunk: usize,
        /// The lines.
        lines: Vec<u8>,
    },
    /// Chunk `chunk` is one line longer than the line budget: never held whole.
    Oversize {
        /// The chunk's index in the object.
        chunk: usize,
        /// The line's place among the object's lines (0-based, blank lines not counted).
        line: usize,
        /// Its length in bytes (without the newline).
        size: u64,
        /// Its first [`limits::OVERSIZE_HEAD_BYTES`] (fewer when a chunk's budget is smaller).
        head: Vec<u8>,
    },
}

/// One line as [`ChunkCutter`] reads it.
enum Line {
    Whole(Vec<u8>),
    Oversize { head: Vec<u8>, size: u64 },
}

/// Cuts the lines of a (decompressed) object into chunks as they are read, holding at most
/// one chunk and one line (see the module documentation). Blank lines are dropped; a chunk
/// is closed when the next line would make it longer than the budget; a line that alone would
/// is a chunk of its own ([`Piece::Oversize`]).
#[derive(Debug)]
pub struct ChunkCutter<R> {
    reader: R,
    budget: usize,
    current: Vec<u8>,
    queued: Option<Piece>,
    chunks: usize,
    lines: usize,
}

impl<R: BufRead> ChunkCutter<R> {
    /// A cutter of `reader`'s lines into chunks of at most `budget` bytes.
    pub fn new(reader: R, budget: usize) -> Self {
        ChunkCutter {
            reader,
            budget: budget.max(2),
            current: Vec::new(),
            queued: None,
            chunks: 0,
            lines: 0,
        }
    }

    /// The next chunk, or `None` at the end; an error when the reader fails (corrupt gzip).
    pub fn next_piece(&mut self) -> std::io::Result<Option<Piece>> {
        if let Some(piece) = self.queued.take() {
            return Ok(Some(piece));
        }
        loop {
            let Some(line) = self.read_line()? else {
                return Ok(self.close());
            };
            match line {
                Line::Whole(line) => {
                    if line.trim_ascii().is_empty() {
                        continue;
                    }
                    self.lines += 1;
                    if !self.current.is_empty() && self.current.len() + line.len() + 1 > self.budget
                    {
                        let full = self.close();
                        self.current.extend_from_slice(&line);
                        self.current.push(b'\n');
                        return Ok(full);
                    }
                    self.current.extend_from_slice(&line);
                    self.current.push(b'\n');
                }
                Line::Oversize { head, size } => {
                    let line = self.lines;
                    self.lines += 1;
                    let before = self.close();
                    let piece = Piece::Oversize {
                        chunk: self.chunks,
                        line,
                        size,
                        head,
                    };
                    self.chunks += 1;
                    if before.is_some() {
                        self.queued = Some(piece);
                        return Ok(before);
                    }
                    return Ok(Some(piece));
                }
            }
        }
    }

    /// The chunk being filled, if it has lines.
    fn close(&mut self) -> Option<Piece> {
        if self.current.is_empty() {
            return None;
        }
        let piece = Piece::Lines {
            chunk: self.chunks,
            lines: std::mem::take(&mut self.current),
        };
        self.chunks += 1;
        Some(piece)
    }

    /// The next line (without its newline), or `None` at the end. A line that with its newline
    /// would be longer than the budget is kept to its first bytes and counted.
    fn read_line(&mut self) -> std::io::Result<Option<Line>> {
        let most = self.budget - 1;
        let mut line = Vec::new();
        let mut size = 0u64;
        let mut oversize = false;
        let mut read_any = false;
        loop {
            let buffer = self.reader.fill_buf()?;
            if buffer.is_empty() {
                if !read_any {
                    return Ok(None);
                }
                break;
            }
            read_any = true;
            let (take, ends) = match buffer.iter().position(|b| *b == b'\n') {
                Some(at) => (at, true),
                None => (buffer.len(), false),
            };
            size += take as u64;
            if !oversize && line.len() + take <= most {
                line.extend_from_slice(&buffer[..take]);
            } else if !oversize {
                oversize = true;
                // The head travels in an invoke of its own: it must fit one.
                let head = limits::OVERSIZE_HEAD_BYTES.min(most);
                let keep = head.saturating_sub(line.len()).min(take);
                line.extend_from_slice(&buffer[..keep]);
                line.truncate(head);
                line.shrink_to_fit();
            }
            self.reader.consume(take + usize::from(ends));
            if ends {
                break;
            }
        }
        Ok(Some(if oversize {
            Line::Oversize { head: line, size }
        } else {
            Line::Whole(line)
        }))
    }
}

/// Where a chunk goes: its object and the time it was spooled.
struct Target<'t> {
    bucket: &'t str,
    key: &'t str,
    spooled_at: &'t str,
}

/// How a chunk's invoke ended, when the primary answered.
enum Answer {
    /// The validator finished it.
    Done(BridgeResponse),
    /// The chunk failed for its own sake (see the module documentation): why.
    Refused(String),
}

/// Why one try of an invoke failed.
enum TryFailure {
    /// The primary is down or busy: retried whole.
    Infra(InfraError),
    /// The chunk's own fault.
    Refused(String),
}

fn lambda_error(kind: ErrorKind, message: String) -> InfraError {
    InfraError::new(Service::Lambda, "Invoke", kind, message)
}

/// The number of lines of `lines` (each ends with a newline).
fn line_count(lines: &[u8]) -> usize {
    lines.iter().filter(|b| **b == b'\n').count()
}

/// `lines` cut after its first half of lines: (the first part, its line count, the rest).
fn halves(lines: &[u8], count: usize) -> (&[u8], usize, &[u8]) {
    let first = count / 2;
    let at = lines
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(first - 1)
        .map_or(lines.len(), |(at, _)| at + 1);
    (&lines[..at], first, &lines[at..])
}

impl<S: ObjectStore, I: Invoker, Z: Sleeper> BridgeHandler<'_, S, I, Z> {
    /// Handles an SQS batch: the response lists the failed messages by id.
    pub async fn handle_sqs(&self, event: &SqsEvent) -> SqsBatchResponse {
        let outcome = self.process_sqs(event).await;
        let failed: Vec<usize> = outcome.failed.iter().map(|(index, _)| *index).collect();
        sqs_failures(event, &failed)
    }

    /// Processes the messages of a batch one after the other, each on its own; after a
    /// message found an outage ([`BridgeError::is_outage`]), the rest are reported untried.
    pub async fn process_sqs(&self, event: &SqsEvent) -> BridgeOutcome {
        let mut outcome = BridgeOutcome::default();
        outcome.stats.messages = event.records.len();
        let mut outage: Option<String> = None;
        for (index, message) in event.records.iter().enumerate() {
            if let Some(reason) = &outage {
                outcome.stats.not_tried += 1;
                outcome
                    .failed
                    .push((index, BridgeError::NotTried(reason.clone())));
                continue;
            }
            let body = message.body.as_deref().unwrap_or_default();
            if let Err(error) = self.process_message(body, &mut outcome.stats).await {
                if error.is_outage() {
                    outage = Some(error.to_string());
                }
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
            let read = RetryPolicy {
                attempt_timeout: READ_TIMEOUT,
                ..self.config.retry
            };
            let object = read
                .run(self.sleeper, self.deadline, || {
                    self.store.get_object(&bucket, &key)
                })
                .await
                .map_err(|gave_up| {
                    BridgeError::Read(gave_up.into_error(Service::S3, "GetObject"))
                })?;
            stats.objects += 1;
            let spooled_at = timestamp(event_time);
            let target = Target {
                bucket: &bucket,
                key: &key,
                spooled_at: &spooled_at,
            };
            let budget =
                limits::chunk_line_bytes(self.config.chunk_bytes, bucket.len() + key.len());
            if object.starts_with(&[0x1f, 0x8b]) {
                let decoder = flate2::bufread::MultiGzDecoder::new(object.as_slice());
                let reader = std::io::BufReader::with_capacity(64 * 1024, decoder);
                self.deliver_object(&target, ChunkCutter::new(reader, budget), stats)
                    .await?;
            } else {
                // Not gzip (moto ignores Firehose's GZIP setting): the lines as they are.
                self.deliver_object(&target, ChunkCutter::new(object.as_slice(), budget), stats)
                    .await?;
            }
        }
        Ok(())
    }

    /// Delivers an object's chunks in order, each before the next is cut.
    async fn deliver_object<R: BufRead + Send>(
        &self,
        target: &Target<'_>,
        mut cutter: ChunkCutter<R>,
        stats: &mut BridgeStats,
    ) -> Result<(), BridgeError> {
        while let Some(piece) = cutter
            .next_piece()
            .map_err(|e| BridgeError::Corrupt(e.to_string()))?
        {
            match piece {
                Piece::Lines { chunk, lines } => {
                    self.deliver_chunk(target, chunk, &lines, stats).await?;
                }
                Piece::Oversize {
                    chunk,
                    line,
                    size,
                    mut head,
                } => {
                    let reason = format!(
                        "spool line {} of s3://{}/{} has {size} bytes, more than one invoke carries ({} bytes of lines); only its first {} bytes are kept",
                        line + 1,
                        target.bucket,
                        target.key,
                        cutter.budget,
                        head.len()
                    );
                    head.push(b'\n');
                    self.quarantine(target, chunk, 0, &head, reason, stats)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Delivers chunk `chunk`: whole, or, when the validator fails on it, in halves down to
    /// the single line, which is then quarantined as `unprocessable`. Parts go in order.
    async fn deliver_chunk(
        &self,
        target: &Target<'_>,
        chunk: usize,
        lines: &[u8],
        stats: &mut BridgeStats,
    ) -> Result<(), BridgeError> {
        // The parts still to send, the next one last: (first line, line count, lines).
        let mut todo = vec![(0, line_count(lines), lines)];
        while let Some((first_line, count, part)) = todo.pop() {
            match self
                .invoke(target, chunk, first_line, part, None, count == 1, stats)
                .await?
            {
                Answer::Done(response) => {
                    stats.chunks += 1;
                    stats.good += response.good;
                    stats.quarantined += response.quarantined;
                }
                Answer::Refused(_) if count > 1 => {
                    stats.splits += 1;
                    let (front, front_count, back) = halves(part, count);
                    todo.push((first_line + front_count, count - front_count, back));
                    todo.push((first_line, front_count, front));
                }
                Answer::Refused(reason) => {
                    let reason = format!(
                        "the validator failed on spool line {} of chunk {chunk} of s3://{}/{} every time: {reason}",
                        first_line + 1,
                        target.bucket,
                        target.key
                    );
                    self.quarantine(target, chunk, first_line, part, reason, stats)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Asks the validator to quarantine `lines` (one line) as `unprocessable` for `reason`.
    async fn quarantine(
        &self,
        target: &Target<'_>,
        chunk: usize,
        first_line: usize,
        lines: &[u8],
        reason: String,
        stats: &mut BridgeStats,
    ) -> Result<(), BridgeError> {
        match self
            .invoke(target, chunk, first_line, lines, Some(reason), false, stats)
            .await?
        {
            Answer::Done(response) => {
                stats.chunks += 1;
                stats.unprocessable += response.quarantined;
                stats.quarantined += response.quarantined;
                Ok(())
            }
            Answer::Refused(reason) => Err(BridgeError::Unprocessable(reason)),
        }
    }

    /// Invokes the validator with `lines` (part of chunk `chunk` from its line `first_line`),
    /// retrying what the primary's state explains. With `retry_refusals` (a single line), a
    /// refusal is retried too, and it is the answer only when every try was refused.
    #[allow(clippy::too_many_arguments)]
    async fn invoke(
        &self,
        target: &Target<'_>,
        chunk: usize,
        first_line: usize,
        lines: &[u8],
        unprocessable: Option<String>,
        retry_refusals: bool,
        stats: &mut BridgeStats,
    ) -> Result<Answer, BridgeError> {
        let payload = {
            let request = BridgeRequest {
                ingest_bridge: BridgeChunk {
                    bucket: target.bucket.to_owned(),
                    key: target.key.to_owned(),
                    chunk,
                    first_line,
                    spooled_at: target.spooled_at.to_owned(),
                    lines: BASE64.encode(lines),
                    unprocessable,
                },
            };
            serde_json::to_vec(&request).unwrap_or_default()
        };
        // The refusal of the last try, when it was one.
        let refused: Mutex<Option<String>> = Mutex::new(None);
        let result = self
            .config
            .retry
            .run(self.sleeper, self.deadline, || {
                stats.invokes += 1;
                let payload = payload.clone();
                let refused = &refused;
                async move {
                    let outcome = self.try_invoke(payload).await;
                    let mut last = refused.lock().unwrap_or_else(|e| e.into_inner());
                    *last = None;
                    match outcome {
                        Ok(response) => Ok(Answer::Done(response)),
                        Err(TryFailure::Infra(error)) => Err(error),
                        Err(TryFailure::Refused(reason)) if retry_refusals => {
                            *last = Some(reason.clone());
                            Err(lambda_error(ErrorKind::Unavailable, reason))
                        }
                        Err(TryFailure::Refused(reason)) => Ok(Answer::Refused(reason)),
                    }
                }
            })
            .await;
        let last_refusal = refused.into_inner().unwrap_or_else(|e| e.into_inner());
        match (result, last_refusal) {
            (Ok(answer), _) => Ok(answer),
            // Every try was spent and the last one was refused: the line's own fault.
            (Err(GaveUp::Failed(_)), Some(reason)) => Ok(Answer::Refused(reason)),
            (Err(gave_up), _) => Err(BridgeError::Invoke(
                gave_up.into_error(Service::Lambda, "Invoke"),
            )),
        }
    }

    /// One `Invoke`, its failure sorted into the primary's and the chunk's.
    async fn try_invoke(&self, payload: Vec<u8>) -> Result<BridgeResponse, TryFailure> {
        let output = match self
            .invoker
            .invoke(&self.config.validator_function, payload)
            .await
        {
            Ok(output) => output,
            // Lambda refused the request itself (too large, not JSON...): the chunk's fault.
            Err(error) if error.kind == ErrorKind::Invalid => {
                return Err(TryFailure::Refused(error.to_string()));
            }
            Err(error) => return Err(TryFailure::Infra(error)),
        };
        if let Some(error) = output.function_error {
            let detail = String::from_utf8_lossy(&output.payload);
            return Err(TryFailure::Refused(format!(
                "function error {error}: {detail}"
            )));
        }
        let response: BridgeResponse = serde_json::from_slice(&output.payload)
            .map_err(|e| TryFailure::Refused(format!("unreadable answer: {e}")))?;
        if !response.unfinished.is_empty() {
            return Err(TryFailure::Infra(lambda_error(
                ErrorKind::Unavailable,
                format!(
                    "{} of {} lines unfinished",
                    response.unfinished.len(),
                    response.records
                ),
            )));
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
    use crate::pipeline::records;

    /// How chunks were cut from a whole decompressed object before they were cut as it streams:
    /// the cut must not move (a retried message writes the same keys, before and after).
    fn cut_whole(text: &[u8], max_bytes: usize) -> Vec<Vec<u8>> {
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

    fn cut_streaming(object: &[u8], budget: usize) -> Vec<Piece> {
        // A reader of 7 bytes at a time: lines end anywhere in its buffer.
        let decoder = flate2::bufread::MultiGzDecoder::new(object);
        let mut cutter = ChunkCutter::new(std::io::BufReader::with_capacity(7, decoder), budget);
        let mut pieces = Vec::new();
        while let Some(piece) = cutter.next_piece().unwrap() {
            pieces.push(piece);
        }
        pieces
    }

    #[test]
    fn chunks_are_cut_as_the_object_streams_where_the_whole_object_was_cut() {
        let mut text = Vec::new();
        for n in 0..300 {
            text.extend(format!("{{\"n\":{n},\"pad\":\"{}\"}}\n", "p".repeat(n % 37)).into_bytes());
            if n % 50 == 0 {
                text.extend(b"\n  \n");
            }
        }
        text.extend(b"no newline at the end");
        // Two gzip members, as Firehose's objects may be.
        let (front, back) = text.split_at(text.len() / 3);
        let mut object = records::gzip(front);
        object.extend(records::gzip(back));
        for budget in [64, 100, 333, 4096, 1 << 20] {
            let expected = cut_whole(&text, budget);
            let pieces = cut_streaming(&object, budget);
            let got: Vec<(usize, Vec<u8>)> = pieces
                .into_iter()
                .map(|piece| match piece {
                    Piece::Lines { chunk, lines } => (chunk, lines),
                    Piece::Oversize { .. } => panic!("no line is longer than {budget}"),
                })
                .collect();
            assert_eq!(
                got,
                expected.into_iter().enumerate().collect::<Vec<_>>(),
                "budget {budget}"
            );
        }
    }

    #[test]
    fn a_line_longer_than_the_budget_is_a_chunk_of_its_own_kept_to_its_head() {
        let mut text = b"a\nbb\n".to_vec();
        text.extend(vec![b'x'; 200_000]);
        text.extend(b"\ncc\n");
        let pieces = cut_streaming(&records::gzip(&text), 100_000);
        assert_eq!(pieces.len(), 3);
        assert_eq!(
            pieces[0],
            Piece::Lines {
                chunk: 0,
                lines: b"a\nbb\n".to_vec()
            }
        );
        let Piece::Oversize {
            chunk,
            line,
            size,
            head,
        } = &pieces[1]
        else {
            panic!("{:?}", pieces[1]);
        };
        assert_eq!((*chunk, *line, *size), (1, 2, 200_000));
        assert_eq!(head, &vec![b'x'; limits::OVERSIZE_HEAD_BYTES]);
        assert_eq!(
            pieces[2],
            Piece::Lines {
                chunk: 2,
                lines: b"cc\n".to_vec()
            }
        );
        // A head never outgrows the budget: it travels in an invoke of its own.
        let pieces = cut_streaming(&records::gzip(&text), 1000);
        assert!(matches!(&pieces[1], Piece::Oversize { head, .. } if head.len() == 999));
    }

    #[test]
    fn a_chunk_splits_at_its_middle_line() {
        let lines = b"a\nb\nc\nd\ne\n";
        assert_eq!(halves(lines, 5), (&b"a\nb\n"[..], 2, &b"c\nd\ne\n"[..]));
        assert_eq!(halves(b"a\nb\n", 2), (&b"a\n"[..], 1, &b"b\n"[..]));
        assert_eq!(line_count(lines), 5);
    }

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
