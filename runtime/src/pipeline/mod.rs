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

/// How handlers wait between retries.
pub trait Sleeper: Send + Sync {
    /// Waits (or, in a simulation, advances the clock).
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// Waits with tokio's timer (in Lambda).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// Exponential backoff: `attempts` tries in all, waiting `first_delay`, then twice as long each
/// time, at most `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (at least 1).
    pub attempts: u32,
    /// Wait after the first failure.
    pub first_delay: Duration,
    /// Longest wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 5 tries over about 3 seconds: well inside a function's timeout.
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed try number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Runs `op` until it succeeds, fails with an error that is not retryable, or has been
    /// tried `attempts` times; returns the last error.
    pub async fn run<T, F, Fut>(&self, sleeper: &impl Sleeper, mut op: F) -> Result<T, InfraError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, InfraError>>,
    {
        let mut attempt = 0;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(error) if !error.kind.is_retryable() || attempt + 1 >= self.attempts.max(1) => {
                    return Err(error);
                }
                Err(_) => {
                    sleeper.sleep(self.delay(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }
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
