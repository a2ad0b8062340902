//! The Lambda handlers (`docs/architecture.md#the-deployed-system`), written against small
//! traits so that the same code runs in AWS and on one machine (feature `lambda`; the local
//! adapters and the outage drill are behind `local`; `ingest dev`, the local pipeline behind HTTP
//! on loopback, behind `dev`; the AWS SDK adapters (`aws`) and the Lambda `bootstrap` (`function`)
//! behind `aws`).
//!
//! ```text
//!  primary:    Kinesis --> validator --> good store       (events/type=<t>/dt=/hr=/...json.gz)
//!                                    \-> quarantine store (dt=/hr=/...json.gz)
//!  secondary:  Kinesis --> receiver --> delivery stream (Firehose) --> spool objects
//!              spool notification --> queue (SQS + DLQ) --> bridge --Invoke--> validator
//!              drain switches (S3) --> lever publisher --> metric (CloudWatch) <-- Route 53
//! ```
//!
//! Design:
//!
//! - **Handlers are plain async methods** over the event types of `aws_lambda_events`
//!   ([`validator::ValidatorHandler`] takes a Kinesis event or a bridge payload,
//!   [`receiver::ReceiverHandler`] a Kinesis event, [`bridge::BridgeHandler`] an SQS event) and
//!   return the batch-item-failure responses Lambda understands. They reach AWS only through
//!   [`ObjectStore`] (S3), [`DeliveryStream`] (Firehose `PutRecordBatch`), [`Invoker`]
//!   (Lambda `Invoke`, `RequestResponse`) and [`MessageQueue`] (SQS `ChangeMessageVisibility`,
//!   the bridge's redelivery pacing), and wait only through a [`Sleeper`], so tests and the
//!   drill run them without AWS and without waiting.
//! - **A bad event is data**: the validator writes it to quarantine and succeeds. Only an
//!   infrastructure failure ([`InfraError`]) fails a record, after [`RetryPolicy`] has retried
//!   it with exponential backoff; the handler then reports exactly the unfinished records, so
//!   the platform retries them (Kinesis from the lowest reported sequence number, SQS per
//!   message).
//! - **Deterministic output**: object keys come from the records' origin (region, shard,
//!   sequence) and arrival time (see [`records`]), so a retried batch writes the same keys;
//!   the remaining duplicates collapse on `(source, id)` downstream.
//! - Errors have stable types: [`InfraError`] with an [`ErrorKind`] for what the platform
//!   retries, and [`HandlerError`] for a payload that cannot be handled at all (a Lambda
//!   function error).

pub mod bridge;
pub mod lake;
pub mod lever;
pub mod receiver;
pub mod records;
pub mod validator;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "dev")]
pub mod dev;
#[cfg(feature = "local")]
pub mod drill;
#[cfg(feature = "aws")]
pub mod function;
#[cfg(feature = "local")]
pub mod local;

use std::fmt;
use std::future::Future;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use std::time::Duration;

pub use bridge::{BridgeConfig, BridgeHandler, Pacing};
pub use receiver::{ReceiverConfig, ReceiverHandler};
pub use records::{Origin, Via};
pub use validator::{ValidatorConfig, ValidatorHandler};

/// The AWS service behind a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// An object store (S3).
    S3,
    /// A delivery stream (Firehose).
    Firehose,
    /// Lambda `Invoke`.
    Lambda,
    /// A Kinesis stream.
    Kinesis,
    /// A queue (SQS).
    Sqs,
    /// Metrics (CloudWatch).
    CloudWatch,
}

impl Service {
    /// The service's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Firehose => "firehose",
            Service::Lambda => "lambda",
            Service::Kinesis => "kinesis",
            Service::Sqs => "sqs",
            Service::CloudWatch => "cloudwatch",
        }
    }
}

/// What kind of infrastructure failure happened: decides whether a retry can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Slow down (`ThrottlingException`, `SlowDown`, `TooManyRequestsException`).
    Throttled,
    /// The service or region is unavailable (5xx, timeouts, connection errors).
    Unavailable,
    /// The object or function does not exist.
    NotFound,
    /// The request was refused as malformed or too large; retrying the same request fails again.
    Invalid,
    /// Access denied.
    Denied,
}

impl ErrorKind {
    /// Whether retrying the same call may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Unavailable)
    }

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Denied => "denied",
        }
    }
}

/// A failed call to an AWS service (or its local stand-in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfraError {
    /// The service.
    pub service: Service,
    /// The operation (`PutObject`, `PutRecordBatch`, `Invoke`...).
    pub operation: &'static str,
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The service's message.
    pub message: String,
}

impl InfraError {
    /// An error of a service's operation.
    pub fn new(
        service: Service,
        operation: &'static str,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        InfraError {
            service,
            operation,
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for InfraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} failed ({}): {}",
            self.service.as_str(),
            self.operation,
            self.kind.as_str(),
            self.message
        )
    }
}

impl std::error::Error for InfraError {}

/// Why a whole invocation failed (a Lambda function error): the platform retries it as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerError {
    /// The payload is not one this function handles (for the validator: neither a Kinesis
    /// event nor a bridge request).
    BadPayload(String),
    /// The function is misconfigured (a missing environment variable...).
    Config(String),
    /// A call to AWS failed and the handler has no finer way to report it than failing the
    /// invocation (the lever's publisher: the next scheduled run repeats it).
    Infra(InfraError),
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandlerError::BadPayload(message) => write!(f, "bad payload: {message}"),
            HandlerError::Config(message) => write!(f, "configuration: {message}"),
            HandlerError::Infra(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for HandlerError {}

/// An object store: S3 in AWS, files or memory locally.
pub trait ObjectStore: Send + Sync {
    /// Writes (or overwrites) an object.
    fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), InfraError>> + Send;
    /// Reads an object.
    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, InfraError>> + Send;
}

/// A delivery stream: Firehose `PutRecordBatch` (`docs/traps.md#firehose-putrecordbatch`).
pub trait DeliveryStream: Send + Sync {
    /// Puts a batch (at most [`receiver::MAX_BATCH_RECORDS`] records, [`receiver::MAX_BATCH_BYTES`]
    /// bytes, [`receiver::MAX_RECORD_BYTES`] each). Returns one entry per record, in order:
    /// `None` when it was accepted, else its error code (a response with `FailedPutCount` > 0).
    fn put_record_batch(
        &self,
        stream: &str,
        records: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Vec<Option<String>>, InfraError>> + Send;
}

/// What a synchronous Lambda invocation returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeOutput {
    /// `Some` when the function failed (`FunctionError`: `Unhandled`...).
    pub function_error: Option<String>,
    /// The response payload.
    pub payload: Vec<u8>,
}

/// Lambda `Invoke` with `InvocationType: RequestResponse` (6 MB each way:
/// `docs/traps.md#lambda-invoke-payload`).
pub trait Invoker: Send + Sync {
    /// Invokes a function and waits for its answer.
    fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<InvokeOutput, InfraError>> + Send;
}

/// A queue's consumer side: SQS `ChangeMessageVisibility`. The bridge uses it to bring a
/// message it failed back sooner than the queue's visibility timeout
/// ([`bridge::Pacing`], [`crate::redelivery`]).
pub trait MessageQueue: Send + Sync {
    /// Makes the message received with `receipt_handle` invisible for `seconds` from now
    /// (0 makes it visible at once).
    fn change_visibility(
        &self,
        receipt_handle: &str,
        seconds: u64,
    ) -> impl Future<Output = Result<(), InfraError>> + Send;
}

/// The answer to a Kinesis batch whose records at `unfinished` (indices) are not done: their
/// sequence numbers as `batchItemFailures`, so the event source mapping retries from the
/// lowest of them.
pub fn kinesis_failures(event: &KinesisEvent, unfinished: &[usize]) -> KinesisEventResponse {
    let mut response = KinesisEventResponse::default();
    for &index in unfinished {
        let mut failure = KinesisBatchItemFailure::default();
        failure.item_identifier = Some(event.records[index].kinesis.sequence_number.clone());
        response.batch_item_failures.push(failure);
    }
    response
}

/// The time handlers see: how they wait between retries, what time it is (to stop before the
/// invocation's [`Deadline`]), and the randomness of their backoff's jitter. In Lambda the
/// tokio timer and the system clock ([`TokioSleeper`]); in the drill and the tests a simulated
/// clock, whose waits advance it and whose randomness is seeded, so a run is reproducible.
pub trait Sleeper: Send + Sync {
    /// Waits (or, in a simulation, advances the clock).
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// 64 random bits (for jitter; not cryptographic).
    fn random(&self) -> u64;
}

/// Waits with tokio's timer and reads the system clock (in Lambda).
#[derive(Debug, Default)]
pub struct TokioSleeper {
    state: std::sync::atomic::AtomicU64,
}

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn random(&self) -> u64 {
        use std::sync::atomic::Ordering;
        // SplitMix64 over a counter started from the clock: enough to spread retries apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut z = self
            .state
            .fetch_add(0x9e37_79b9_7f4a_7c15 ^ u64::from(nanos), Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// When an invocation must have answered: Lambda's deadline less a safety margin (5% of the
/// time the invocation had, at least 2 s), so the answer, with the work finished so far and the
/// rest reported unfinished, reaches Lambda before it times out. A timed-out invocation is a
/// function error: nothing of its work counts, and every record or message comes back.
/// Handlers start no attempt that could not end before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at_ms: u64,
}

impl Deadline {
    /// No deadline (tests, tools).
    pub const NONE: Deadline = Deadline { at_ms: u64::MAX };

    /// The least safety margin.
    pub const MIN_MARGIN: Duration = Duration::from_secs(2);

    /// The deadline of an invocation that started at `now_ms` and must answer by
    /// `lambda_deadline_ms` (epoch milliseconds, Lambda's `Context::deadline`).
    pub fn for_invocation(now_ms: u64, lambda_deadline_ms: u64) -> Deadline {
        let budget = lambda_deadline_ms.saturating_sub(now_ms);
        let margin = (budget / 20).max(u64::try_from(Self::MIN_MARGIN.as_millis()).unwrap_or(0));
        Deadline {
            at_ms: lambda_deadline_ms.saturating_sub(margin),
        }
    }

    /// A deadline `timeout` after `now_ms`, less the margin (what Lambda would give a function
    /// with that timeout).
    pub fn after(now_ms: u64, timeout: Duration) -> Deadline {
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        Self::for_invocation(now_ms, now_ms.saturating_add(timeout_ms))
    }

    /// The deadline in epoch milliseconds (`u64::MAX` for none).
    pub fn at_ms(self) -> u64 {
        self.at_ms
    }

    /// Whether something that takes up to `needed` and starts at `now_ms` ends before it.
    pub fn allows(self, now_ms: u64, needed: Duration) -> bool {
        let needed_ms = u64::try_from(needed.as_millis()).unwrap_or(u64::MAX);
        now_ms.saturating_add(needed_ms) <= self.at_ms
    }

    /// Time left at `now_ms`.
    pub fn remaining(self, now_ms: u64) -> Duration {
        Duration::from_millis(self.at_ms.saturating_sub(now_ms))
    }
}

/// How long one attempt of an S3 or Firehose call may take: the SDK clients' attempt timeout
/// (`aws::sdk_config`) and the default [`RetryPolicy::attempt_timeout`].
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long reading a `GetObject` body may take once its response started (the SDK's attempt
/// timeout ends when the response starts; `aws::S3Store` bounds the body with this).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// Exponential backoff with full jitter: at most `attempts` tries, each allowed
/// `attempt_timeout` (the SDK's attempt timeout); after the n-th failure a random wait of up to
/// `first_delay · 2ⁿ` (at most `max_delay`). No try starts that could not end before the
/// invocation's [`Deadline`]: the caller then reports its work unfinished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (at least 1).
    pub attempts: u32,
    /// The longest wait after the first failure.
    pub first_delay: Duration,
    /// Longest wait.
    pub max_delay: Duration,
    /// How long one try may take before it is abandoned (set on the SDK's clients).
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    /// 5 tries, waits of up to 0.2, 0.4, 0.8 and 1.6 s, 10 s per try.
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            attempt_timeout: ATTEMPT_TIMEOUT,
        }
    }
}

/// Why [`RetryPolicy::run`] gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GaveUp {
    /// The last try failed with this error (not retryable, or the tries ran out).
    Failed(InfraError),
    /// No try could end before the deadline (with the last error, if a try was made).
    Deadline(Option<InfraError>),
}

impl GaveUp {
    /// The error behind it, if a try was made.
    pub fn error(&self) -> Option<&InfraError> {
        match self {
            GaveUp::Failed(error) | GaveUp::Deadline(Some(error)) => Some(error),
            GaveUp::Deadline(None) => None,
        }
    }
}

impl GaveUp {
    /// The error behind it; for a stop before the deadline without a try, an
    /// [`ErrorKind::Unavailable`] error of `service`'s `operation` saying so.
    pub fn into_error(self, service: Service, operation: &'static str) -> InfraError {
        match self {
            GaveUp::Failed(error) | GaveUp::Deadline(Some(error)) => error,
            GaveUp::Deadline(None) => InfraError::new(
                service,
                operation,
                ErrorKind::Unavailable,
                "not tried: the invocation's deadline was too near",
            ),
        }
    }
}

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GaveUp::Failed(error) => error.fmt(f),
            GaveUp::Deadline(None) => f.write_str("stopped before the invocation's deadline"),
            GaveUp::Deadline(Some(error)) => {
                write!(f, "stopped before the invocation's deadline after: {error}")
            }
        }
    }
}

impl RetryPolicy {
    /// The longest wait after failed try number `attempt` (0-based), before jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait after failed try `attempt`: a random share of [`RetryPolicy::delay`] (full
    /// jitter, so handlers that failed together do not retry together).
    pub fn jittered_delay(&self, attempt: u32, random: u64) -> Duration {
        let most = u128::from(u64::try_from(self.delay(attempt).as_millis()).unwrap_or(u64::MAX));
        // most × (random + 1) / 2⁶⁴: from 0 (random 0) to `most` (random u64::MAX).
        let share = (most * (u128::from(random) + 1)) >> 64;
        Duration::from_millis(u64::try_from(share).unwrap_or(u64::MAX))
    }

    /// Runs `op` until it succeeds, fails with an error that is not retryable, has been tried
    /// `attempts` times, or the next try could not end before `deadline`.
    pub async fn run<T, F, Fut>(
        &self,
        sleeper: &impl Sleeper,
        deadline: Deadline,
        mut op: F,
    ) -> Result<T, GaveUp>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, InfraError>>,
    {
        let mut attempt = 0;
        let mut last = None;
        loop {
            if !deadline.allows(sleeper.now_ms(), self.attempt_timeout) {
                return Err(GaveUp::Deadline(last));
            }
            match op().await {
                Ok(value) => return Ok(value),
                Err(error) if !error.kind.is_retryable() || attempt + 1 >= self.attempts.max(1) => {
                    return Err(GaveUp::Failed(error));
                }
                Err(error) => {
                    last = Some(error);
                    let wait = self.jittered_delay(attempt, sleeper.random());
                    if !deadline.allows(sleeper.now_ms(), wait.saturating_add(self.attempt_timeout))
                    {
                        return Err(GaveUp::Deadline(last));
                    }
                    sleeper.sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// Runs futures side by side, at most `limit` at a time (in order: the first ones start
/// first), on the caller's task; returns their outputs in order. The handlers' writes go out
/// this way, so a slow call does not hold up the others.
pub async fn join_bounded<F: Future>(futures: Vec<F>, limit: usize) -> Vec<F::Output> {
    use std::pin::Pin;
    use std::task::Poll;
    let mut pending: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    let limit = limit.max(1);
    std::future::poll_fn(|cx| {
        // Poll in order until `limit` futures are waiting: a finished one frees its place at
        // once, and every future left unpolled has not started yet.
        let mut waiting = 0;
        for (slot, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if waiting == limit {
                break;
            }
            let Some(future) = slot else {
                continue;
            };
            match future.as_mut().poll(cx) {
                Poll::Ready(value) => {
                    *output = Some(value);
                    *slot = None;
                }
                Poll::Pending => waiting += 1,
            }
        }
        if waiting == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Where a function's settings come from: the process environment in Lambda
/// ([`process_env`]), a map in tests. Returns `None` for a variable that is not set.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the process environment (a variable that is not valid Unicode counts as not set).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads a required variable: missing or empty is a [`HandlerError::Config`] naming it.
pub(crate) fn env_var(lookup: Lookup<'_>, name: &str) -> Result<String, HandlerError> {
    match lookup(name) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(HandlerError::Config(format!(
            "the environment variable {name} is not set"
        ))),
    }
}

/// Reads an optional numeric variable.
pub(crate) fn env_number(
    lookup: Lookup<'_>,
    name: &str,
    default: u64,
) -> Result<u64, HandlerError> {
    match lookup(name) {
        Some(text) => text.parse().map_err(|_| {
            HandlerError::Config(format!("{name} must be a whole number, not {text:?}"))
        }),
        None => Ok(default),
    }
}
