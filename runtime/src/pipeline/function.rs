//! The Lambda `bootstrap` of a spec (feature `aws`): one binary, four roles.
//!
//! `ingest synth` writes `generated/<name>/functions/`, a crate whose `main` links the spec's
//! events crate and does only this:
//!
//! ```text
//! init_tracing();                                   // JSON logs, level from the environment
//! let config = FunctionConfig::from_env()?;         // INGEST_ROLE and that role's variables
//! let function = Function::connect(&REGISTRY, config).await;   // SDK clients for the role
//! lambda_runtime::run(service_fn(|event| function.handle(event))).await
//! ```
//!
//! Design:
//!
//! - **The role is configuration**: the stacks deploy the same `bootstrap.zip` four times and
//!   set `INGEST_ROLE` (`validator` in the primary region; `receiver`, `bridge` and `lever`,
//!   the drain switches' publisher, in the secondary). [`FunctionConfig::from_lookup`] reads that role's variables (and the ones
//!   `lambda_runtime` itself needs) before anything starts, so a missing or malformed variable
//!   is a [`ConfigError`] naming it and what the role reads, printed once, never a panic
//!   inside the runtime loop.
//! - **Raw JSON in, raw JSON out**: [`Function::handle`] takes the invocation payload as
//!   [`RawValue`] and dispatches by role: the validator accepts a Kinesis event or a bridge
//!   chunk (`{"ingest_bridge": ...}`, decided by the first key, without a second parse), the
//!   receiver a Kinesis event, the bridge an SQS event, the lever any event (its schedule's or
//!   an S3 notification: it reads both switches whatever woke it). Answers are the handlers'
//!   own (`batchItemFailures`, a [`BridgeResponse`](super::records::BridgeResponse), or the
//!   lever's [`PublishReport`](super::lever::PublishReport)).
//! - **Generic over the traits**: [`Function`] works with any [`ObjectStore`],
//!   [`DeliveryStream`], [`Invoker`], [`MessageQueue`] and [`MetricStore`];
//!   [`Function::connect`] wires the SDK ones of [`super::aws`], tests wire local ones.
//! - **The bridge paces its failures**: with `QUEUE_URL` and the redelivery schedule set (the
//!   secondary stack sets both), each message the bridge fails gets its next visibility from
//!   the schedule ([`super::bridge::Pacing`]) before the answer goes back.
//! - **Observability**: each batch is one `info` event with its counts; with
//!   `METRICS_NAMESPACE` and `INGEST_NAME` set (the validator's stack sets both), the validator
//!   also prints a CloudWatch embedded-metric-format line ([`emf_line`]) with `Records`, `Good`,
//!   `Quarantined` and `Unfinished`, dimension `Pipeline`, which the quarantine alarm and the
//!   dashboard of the primary stack read.

use std::fmt;
use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::SqsEvent;
pub use lambda_runtime;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::value::RawValue;

use super::Sleeper as _;
use super::aws::{
    AwsEnvironment, CloudWatchMetrics, FirehoseStream, LambdaInvoker, S3Store, SqsQueue,
    s3_path_style, sdk_config,
};
use super::bridge::{Pacing, invoke_attempt_timeout, sqs_failures};
use super::lake::LakeSchema;
use super::lever::{LeverConfig, LeverPublisher, MetricStore, SwitchStore};
use super::records::{BridgeRequest, parse_kinesis_event};
use super::validator::first_key;
use super::{
    BridgeConfig, BridgeHandler, Deadline, DeliveryStream, HandlerError, Invoker, Lookup,
    MessageQueue, ObjectStore, ReceiverConfig, ReceiverHandler, TokioSleeper, ValidatorConfig,
    ValidatorHandler, env_number, kinesis_failures, process_env,
};
use crate::envelope::Registry;
use crate::redelivery::Redelivery;

/// What one `bootstrap` serves, chosen by `INGEST_ROLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The primary region's validator (Kinesis or bridge chunks into good and quarantine).
    Validator,
    /// The secondary region's receiver (Kinesis into the Firehose spool).
    Receiver,
    /// The secondary region's bridge (spool objects into the primary validator).
    Bridge,
    /// The secondary region's lever publisher (drain switches into the switch metric).
    Lever,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Validator, Role::Receiver, Role::Bridge, Role::Lever];

    /// The value of `INGEST_ROLE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Receiver => "receiver",
            Role::Bridge => "bridge",
            Role::Lever => "lever",
        }
    }

    /// The role named by an `INGEST_ROLE` value.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// The variables the role reads: (required, optional).
    pub fn variables(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Role::Validator => (
                &["AWS_REGION", "GOOD_BUCKET", "QUARANTINE_BUCKET"],
                &["MAX_EVENT_BYTES", "METRICS_NAMESPACE", "INGEST_NAME"],
            ),
            Role::Receiver => (&["AWS_REGION", "DELIVERY_STREAM"], &[]),
            Role::Bridge => (
                &["VALIDATOR_FUNCTION_ARN"],
                &[
                    "VALIDATOR_REGION",
                    "VALIDATOR_TIMEOUT_SECONDS",
                    "SPOOL_BUCKET",
                    "CHUNK_BYTES",
                    "QUEUE_URL",
                    "REDELIVERY_FIRST_DELAY_SECONDS",
                    "REDELIVERY_MAX_DELAY_SECONDS",
                    "REDELIVERY_GROWTH",
                    "REDELIVERY_JITTER_PERCENT",
                    "MAX_RECEIVE_COUNT",
                ],
            ),
            Role::Lever => (
                &[
                    "INGEST_NAME",
                    "SWITCH_BUCKET",
                    "LEVER_NAMESPACE",
                    "LEVER_METRIC",
                    "LEVER_TAMPER_METRIC",
                    "SWITCH_NONCURRENT_DAYS",
                    "LEVER_OPERATOR_ROLE_ARN",
                ],
                &["LEVER_WINDOW_SECONDS"],
            ),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The variables the Lambda service sets and `lambda_runtime` reads at start.
pub const PLATFORM_VARIABLES: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// A role with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleConfig {
    /// The validator's settings.
    Validator(ValidatorConfig),
    /// The receiver's settings.
    Receiver(ReceiverConfig),
    /// The bridge's settings, the region of the validator it invokes and its queue.
    Bridge {
        /// The bridge's settings.
        config: BridgeConfig,
        /// `VALIDATOR_REGION`, else the region in `VALIDATOR_FUNCTION_ARN`.
        validator_region: String,
        /// `VALIDATOR_TIMEOUT_SECONDS` (default Lambda's longest, 900): how long one `Invoke`
        /// may last.
        validator_timeout: Duration,
        /// `QUEUE_URL`: the spool queue, whose failed messages the bridge paces (required
        /// with a redelivery schedule).
        queue_url: Option<String>,
    },
    /// The lever publisher's settings.
    Lever(LeverConfig),
}

impl RoleConfig {
    /// Which role.
    pub fn role(&self) -> Role {
        match self {
            RoleConfig::Validator(_) => Role::Validator,
            RoleConfig::Receiver(_) => Role::Receiver,
            RoleConfig::Bridge { .. } => Role::Bridge,
            RoleConfig::Lever(_) => Role::Lever,
        }
    }
}

/// Where the validator's metrics go (`METRICS_NAMESPACE`, dimension `Pipeline` =
/// `INGEST_NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    /// The CloudWatch namespace.
    pub namespace: String,
    /// The value of the `Pipeline` dimension: the spec's name.
    pub pipeline: String,
}

/// Everything a `bootstrap` reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// The role and its settings.
    pub role: RoleConfig,
    /// Embedded metrics, when the stack asks for them.
    pub metrics: Option<Metrics>,
    /// Whether S3 is addressed path-style (an endpoint override is set).
    pub s3_path_style: bool,
    /// The region, credentials and endpoints the SDK clients use.
    pub aws: AwsEnvironment,
}

/// Why a `bootstrap` cannot start: names the variable and what the role reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The role, when `INGEST_ROLE` was readable.
    pub role: Option<Role>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot start: {}", self.message)?;
        match self.role {
            None => write!(
                f,
                " (INGEST_ROLE chooses what this bootstrap serves: validator, receiver, bridge or lever; the stacks `ingest synth` generates set it)"
            ),
            Some(role) => {
                let (required, optional) = role.variables();
                write!(f, " (the {role} reads {}", required.join(", "))?;
                if !optional.is_empty() {
                    write!(f, ", and optionally {}", optional.join(", "))?;
                }
                write!(
                    f,
                    "; the stacks `ingest synth` generates set them, and the Lambda service sets {})",
                    PLATFORM_VARIABLES.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl FunctionConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&process_env)
    }

    /// Reads `INGEST_ROLE`, that role's variables, then the platform's
    /// ([`PLATFORM_VARIABLES`]), through `lookup`.
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        let text = lookup("INGEST_ROLE").unwrap_or_default();
        let role = match Role::parse(&text) {
            Some(role) => role,
            None if text.is_empty() => {
                return Err(ConfigError {
                    role: None,
                    message: "the environment variable INGEST_ROLE is not set".to_owned(),
                });
            }
            None => {
                return Err(ConfigError {
                    role: None,
                    message: format!(
                        "INGEST_ROLE is {text:?}, which is none of validator, receiver, bridge, lever"
                    ),
                });
            }
        };
        let failed = |error: HandlerError| ConfigError {
            role: Some(role),
            message: match error {
                HandlerError::Config(message) | HandlerError::BadPayload(message) => message,
                HandlerError::Infra(error) => error.to_string(),
            },
        };
        let role_config = match role {
            Role::Validator => {
                RoleConfig::Validator(ValidatorConfig::from_lookup(lookup).map_err(failed)?)
            }
            Role::Receiver => {
                RoleConfig::Receiver(ReceiverConfig::from_lookup(lookup).map_err(failed)?)
            }
            Role::Bridge => {
                let config = BridgeConfig::from_lookup(lookup).map_err(failed)?;
                let from_arn = config
                    .validator_function
                    .split(':')
                    .nth(3)
                    .filter(|region| !region.is_empty())
                    .map(str::to_owned);
                let validator_region = lookup("VALIDATOR_REGION")
                    .filter(|region| !region.is_empty())
                    .or(from_arn)
                    .or_else(|| lookup("AWS_REGION").filter(|region| !region.is_empty()))
                    .ok_or_else(|| ConfigError {
                        role: Some(role),
                        message: "the environment variable VALIDATOR_REGION is not set, and VALIDATOR_FUNCTION_ARN is not an ARN that names a region".to_owned(),
                    })?;
                let validator_timeout = Duration::from_secs(
                    env_number(lookup, "VALIDATOR_TIMEOUT_SECONDS", 900).map_err(failed)?,
                );
                let mut config = config;
                // A try of a chunk is one Invoke, which lasts as long as the validator runs; the
                // invoker's client gets the same number (`LambdaInvoker::new` below).
                config.retry.attempt_timeout = invoke_attempt_timeout(validator_timeout);
                let queue_url = lookup("QUEUE_URL").filter(|url| !url.is_empty());
                if config.redelivery.is_some() && queue_url.is_none() {
                    return Err(ConfigError {
                        role: Some(role),
                        message: format!(
                            "the environment variable QUEUE_URL is not set, but the redelivery schedule ({}) is: the bridge paces failed messages on that queue",
                            Redelivery::ENV.join(", ")
                        ),
                    });
                }
                RoleConfig::Bridge {
                    config,
                    validator_region,
                    validator_timeout,
                    queue_url,
                }
            }
            Role::Lever => RoleConfig::Lever(LeverConfig::from_lookup(lookup).map_err(failed)?),
        };
        for name in PLATFORM_VARIABLES {
            if lookup(name).is_none_or(|value| value.is_empty()) {
                return Err(ConfigError {
                    role: Some(role),
                    message: format!(
                        "the environment variable {name} is not set (the Lambda service sets it; outside Lambda, run the bootstrap under a Lambda runtime emulator)"
                    ),
                });
            }
        }
        let memory = lookup("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or_default();
        if memory.parse::<i32>().is_err() {
            return Err(ConfigError {
                role: Some(role),
                message: format!(
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be a whole number, not {memory:?}"
                ),
            });
        }
        let metrics = match (lookup("METRICS_NAMESPACE"), lookup("INGEST_NAME")) {
            (Some(namespace), Some(pipeline))
                if role == Role::Validator && !namespace.is_empty() && !pipeline.is_empty() =>
            {
                Some(Metrics {
                    namespace,
                    pipeline,
                })
            }
            _ => None,
        };
        let s3_path_style = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
            .iter()
            .any(|name| lookup(name).is_some_and(|url| !url.is_empty()));
        let aws = AwsEnvironment::from_lookup(lookup).map_err(|message| ConfigError {
            role: Some(role),
            message,
        })?;
        Ok(FunctionConfig {
            role: role_config,
            metrics,
            s3_path_style,
            aws,
        })
    }
}

impl FunctionConfig {
    /// Gives the validator the column types of the event tables (pairs of event type and the
    /// Hive type of its `data` column, which `ingest synth` writes into the generated
    /// `bootstrap`): it then quarantines valid events Athena could not read
    /// ([`super::lake`]). Other roles ignore them.
    pub fn with_lake(mut self, pairs: &[(&str, &str)]) -> Result<Self, ConfigError> {
        if let RoleConfig::Validator(config) = &mut self.role {
            config.lake =
                LakeSchema::new(pairs.iter().copied()).map_err(|message| ConfigError {
                    role: Some(Role::Validator),
                    message: format!("the generated lake schema does not read: {message}"),
                })?;
        }
        Ok(self)
    }
}

/// The tracing filter: `RUST_LOG` when set (full directives, e.g. `info,aws_smithy_runtime=warn`),
/// else `AWS_LAMBDA_LOG_LEVEL` (the function's `ApplicationLogLevel`; `FATAL` maps to `error`),
/// else `info`.
pub fn log_filter(lookup: Lookup<'_>) -> String {
    if let Some(filter) = lookup("RUST_LOG").filter(|f| !f.trim().is_empty()) {
        return filter;
    }
    let level = lookup("AWS_LAMBDA_LOG_LEVEL")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match level.as_str() {
        "trace" | "debug" | "info" | "warn" | "error" => level,
        "fatal" => "error".to_owned(),
        _ => "info".to_owned(),
    }
}

/// Sets up tracing for Lambda: one JSON object per line on stdout (`timestamp`, `level`,
/// `message` and the event's fields at the top level, as Lambda's JSON log format expects),
/// filtered by [`log_filter`]. A filter that does not parse falls back to `info`. Calling it
/// twice keeps the first setup.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_new(log_filter(&process_env)).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .try_init();
}

/// One CloudWatch embedded-metric-format line: `metrics` (name, count) in `namespace`, with
/// the dimension `Pipeline`.
pub fn emf_line(metrics: &Metrics, timestamp_ms: u64, values: &[(&str, usize)]) -> String {
    let mut definitions = Vec::new();
    let mut line = serde_json::Map::new();
    for (name, value) in values {
        definitions.push(serde_json::json!({"Name": name, "Unit": "Count"}));
        line.insert((*name).to_owned(), serde_json::json!(value));
    }
    line.insert("Pipeline".to_owned(), serde_json::json!(metrics.pipeline));
    line.insert(
        "_aws".to_owned(),
        serde_json::json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": metrics.namespace,
                "Dimensions": [["Pipeline"]],
                "Metrics": definitions,
            }],
        }),
    );
    serde_json::Value::Object(line).to_string()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::BadPayload(_) => "BadPayload",
            HandlerError::Config(_) => "Config",
            HandlerError::Infra(_) => "Infrastructure",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// A role wired to its clients.
#[derive(Debug)]
pub enum Wiring<S, D, I, Q, M> {
    /// The validator and where it writes.
    Validator {
        /// Settings.
        config: ValidatorConfig,
        /// The good and quarantine buckets.
        store: S,
    },
    /// The receiver and its delivery stream.
    Receiver {
        /// Settings.
        config: ReceiverConfig,
        /// The Firehose spool.
        stream: D,
    },
    /// The bridge, the spool it reads, the validator it invokes and the queue it paces.
    Bridge {
        /// Settings.
        config: BridgeConfig,
        /// The spool bucket.
        store: S,
        /// The primary validator.
        invoker: I,
        /// The spool queue, when failed messages are paced (`config.redelivery`).
        queue: Option<Q>,
    },
    /// The lever publisher, the switch bucket and CloudWatch.
    Lever {
        /// Settings.
        config: LeverConfig,
        /// The switch bucket.
        store: S,
        /// Where the switch metric goes.
        metrics: M,
    },
}

/// A `bootstrap`'s handler: the spec's registry and a role wired to its clients.
#[derive(Debug)]
pub struct Function<S, D, I, Q, M> {
    /// The spec's event types.
    pub registry: &'static Registry,
    /// The role and its clients.
    pub wiring: Wiring<S, D, I, Q, M>,
    /// Embedded metrics of the validator.
    pub metrics: Option<Metrics>,
    /// How retries wait.
    pub sleeper: TokioSleeper,
}

/// A [`Function`] over the AWS SDK.
pub type AwsFunction =
    Function<S3Store, FirehoseStream, LambdaInvoker, SqsQueue, CloudWatchMetrics>;

impl AwsFunction {
    /// Loads the SDK configuration and builds the clients the role needs (building clients
    /// makes no request).
    pub async fn connect(registry: &'static Registry, config: FunctionConfig) -> Self {
        let sdk = sdk_config(&config.aws);
        let path_style = config.s3_path_style || s3_path_style(&sdk, &process_env);
        let wiring = match config.role {
            RoleConfig::Validator(role) => Wiring::Validator {
                config: role,
                store: S3Store::new(&sdk, path_style),
            },
            RoleConfig::Receiver(role) => Wiring::Receiver {
                config: role,
                stream: FirehoseStream::new(&sdk),
            },
            RoleConfig::Bridge {
                config: role,
                validator_region,
                validator_timeout: _,
                queue_url,
            } => Wiring::Bridge {
                queue: queue_url
                    .filter(|_| role.redelivery.is_some())
                    .map(|url| SqsQueue::new(&sdk, &url)),
                // The bridge's own attempt timeout, so the client and the deadline agree.
                invoker: LambdaInvoker::new(&sdk, &validator_region, role.retry.attempt_timeout),
                config: role,
                store: S3Store::new(&sdk, path_style),
            },
            RoleConfig::Lever(role) => Wiring::Lever {
                config: role,
                store: S3Store::new(&sdk, path_style),
                metrics: CloudWatchMetrics::new(&sdk),
            },
        };
        Function {
            registry,
            wiring,
            metrics: config.metrics,
            sleeper: TokioSleeper::default(),
        }
    }
}

fn bad_payload(error: serde_json::Error) -> HandlerError {
    HandlerError::BadPayload(error.to_string())
}

impl<S: ObjectStore + SwitchStore, D: DeliveryStream, I: Invoker, Q: MessageQueue, M: MetricStore>
    Function<S, D, I, Q, M>
{
    /// The role.
    pub fn role(&self) -> Role {
        match self.wiring {
            Wiring::Validator { .. } => Role::Validator,
            Wiring::Receiver { .. } => Role::Receiver,
            Wiring::Bridge { .. } => Role::Bridge,
            Wiring::Lever { .. } => Role::Lever,
        }
    }

    /// Handles one invocation (what `lambda_runtime::service_fn` calls): the handlers stop
    /// starting work before the invocation's deadline (`Context::deadline`, less a margin) and
    /// answer with what they finished, the rest reported unfinished.
    pub async fn handle(
        &self,
        event: LambdaEvent<Box<RawValue>>,
    ) -> Result<Box<RawValue>, HandlerError> {
        let deadline = Deadline::for_invocation(self.sleeper.now_ms(), event.context.deadline);
        // Boxed: the handlers' futures are deep, and `main`'s future holds this one.
        let answer =
            Box::pin(self.handle_invocation(event.payload.get().as_bytes(), deadline)).await?;
        let text = String::from_utf8(answer)
            .map_err(|e| HandlerError::BadPayload(format!("the answer is not UTF-8: {e}")))?;
        RawValue::from_string(text).map_err(bad_payload)
    }

    /// Handles one payload (JSON bytes) with no deadline and returns the answer (JSON bytes).
    pub async fn handle_payload(&self, payload: &[u8]) -> Result<Vec<u8>, HandlerError> {
        self.handle_invocation(payload, Deadline::NONE).await
    }

    /// Handles one payload (JSON bytes) that must be answered by `deadline`.
    pub async fn handle_invocation(
        &self,
        payload: &[u8],
        deadline: Deadline,
    ) -> Result<Vec<u8>, HandlerError> {
        match &self.wiring {
            Wiring::Validator { config, store } => {
                let handler = ValidatorHandler {
                    registry: self.registry,
                    config,
                    store,
                    sleeper: &self.sleeper,
                    deadline,
                };
                if first_key(payload).as_deref() == Some("ingest_bridge") {
                    let request: BridgeRequest =
                        serde_json::from_slice(payload).map_err(bad_payload)?;
                    let response = handler.handle_bridge(&request).await?;
                    tracing::info!(
                        role = "validator",
                        via = "bridge",
                        key = %request.ingest_bridge.key,
                        chunk = request.ingest_bridge.chunk,
                        records = response.records,
                        good = response.good,
                        quarantined = response.quarantined,
                        unfinished = response.unfinished.len(),
                        "batch"
                    );
                    self.emit(
                        response.records,
                        response.good,
                        response.quarantined,
                        response.unfinished.len(),
                    );
                    serde_json::to_vec(&response).map_err(bad_payload)
                } else {
                    let event = parse_kinesis_event(payload).map_err(bad_payload)?;
                    let outcome = handler.process_kinesis(&event).await;
                    let stats = outcome.stats;
                    tracing::info!(
                        role = "validator",
                        via = "direct",
                        records = stats.records,
                        good = stats.good,
                        quarantined = stats.quarantined,
                        objects = stats.objects,
                        failed_objects = stats.failed_objects,
                        unfinished = outcome.unfinished.len(),
                        "batch"
                    );
                    self.emit(
                        stats.records,
                        stats.good,
                        stats.quarantined,
                        outcome.unfinished.len(),
                    );
                    serde_json::to_vec(&kinesis_failures(&event, &outcome.unfinished))
                        .map_err(bad_payload)
                }
            }
            Wiring::Receiver { config, stream } => {
                let handler = ReceiverHandler {
                    config,
                    stream,
                    sleeper: &self.sleeper,
                    deadline,
                };
                let event = parse_kinesis_event(payload).map_err(bad_payload)?;
                let outcome = handler.process_kinesis(&event).await;
                let stats = outcome.stats;
                tracing::info!(
                    role = "receiver",
                    records = stats.records,
                    calls = stats.calls,
                    retried_entries = stats.retried_entries,
                    truncated = stats.truncated,
                    unfinished = outcome.unfinished.len(),
                    "batch"
                );
                serde_json::to_vec(&kinesis_failures(&event, &outcome.unfinished))
                    .map_err(bad_payload)
            }
            Wiring::Bridge {
                config,
                store,
                invoker,
                queue,
            } => {
                let handler = BridgeHandler {
                    config,
                    store,
                    invoker,
                    sleeper: &self.sleeper,
                    deadline,
                };
                let event: SqsEvent = serde_json::from_slice(payload).map_err(bad_payload)?;
                let outcome = handler.process_sqs(&event).await;
                for (index, error) in &outcome.failed {
                    tracing::warn!(
                        role = "bridge",
                        message_id = event.records[*index].message_id.as_deref().unwrap_or(""),
                        error = %error,
                        "message failed; SQS retries it"
                    );
                }
                let stats = outcome.stats;
                tracing::info!(
                    role = "bridge",
                    messages = stats.messages,
                    test_events = stats.test_events,
                    objects = stats.objects,
                    invokes = stats.invokes,
                    chunks = stats.chunks,
                    good = stats.good,
                    quarantined = stats.quarantined,
                    failed = outcome.failed.len(),
                    "batch"
                );
                let failed: Vec<usize> = outcome.failed.iter().map(|(index, _)| *index).collect();
                if let (Some(schedule), Some(queue)) = (&config.redelivery, queue) {
                    let pacing = Pacing { schedule, queue }.pace(&event, &failed).await;
                    for (index, receives, delay) in &pacing.paced {
                        tracing::info!(
                            role = "bridge",
                            message_id = event.records[*index].message_id.as_deref().unwrap_or(""),
                            receive = receives,
                            max_receive_count = schedule.max_receive_count,
                            visible_in_seconds = delay,
                            "message paced"
                        );
                    }
                    for (index, error) in &pacing.failed {
                        tracing::warn!(
                            role = "bridge",
                            message_id = event.records[*index].message_id.as_deref().unwrap_or(""),
                            error = %error,
                            "message not paced; it waits out the queue's visibility timeout"
                        );
                    }
                }
                serde_json::to_vec(&sqs_failures(&event, &failed)).map_err(bad_payload)
            }
            Wiring::Lever {
                config,
                store,
                metrics,
            } => {
                let publisher = LeverPublisher {
                    config,
                    store,
                    metrics,
                };
                // A failed run is an invocation error: the schedule runs it again in a minute,
                // and the function's error alarm counts it.
                let report = publisher
                    .publish(SystemTime::now())
                    .await
                    .map_err(HandlerError::Infra)?;
                for switch in &report.switches {
                    if switch.tampered {
                        tracing::warn!(
                            role = "lever",
                            region = switch.region,
                            "the published state says drained, but the switch does not: someone else published into the lever's namespace"
                        );
                    }
                    if switch.state == "deleted" {
                        tracing::warn!(
                            role = "lever",
                            region = switch.region,
                            "the switch was deleted (ingest lever never deletes one); published what the lever last wrote"
                        );
                    }
                    if switch.state == "unreadable" {
                        tracing::warn!(
                            role = "lever",
                            region = switch.region,
                            "the switch object is not a lever switch; published as not drained"
                        );
                    }
                }
                if !report.versioning_enabled {
                    tracing::warn!(
                        role = "lever",
                        "the switch bucket's versioning is not enabled: the switches keep no history"
                    );
                }
                for finding in report.lifecycle.iter().chain(&report.writer_lock) {
                    tracing::warn!(role = "lever", finding = %finding, "the switch bucket's settings no longer protect the switches");
                }
                tracing::info!(
                    role = "lever",
                    primary_drained = report.switches[0].drained,
                    secondary_drained = report.switches[1].drained,
                    "published"
                );
                serde_json::to_vec(&report).map_err(bad_payload)
            }
        }
    }

    fn emit(&self, records: usize, good: usize, quarantined: usize, unfinished: usize) {
        if let Some(metrics) = &self.metrics {
            println!(
                "{}",
                emf_line(
                    metrics,
                    now_ms(),
                    &[
                        ("Records", records),
                        ("Good", good),
                        ("Quarantined", quarantined),
                        ("Unfinished", unfinished),
                    ],
                )
            );
        }
    }
}

/// Runs the `bootstrap`'s async part on a tokio runtime (one thread: Lambda gives a function
/// one invocation at a time) and turns its result into the exit code; an error is printed.
pub fn block_on<F>(future: F) -> ExitCode
where
    F: Future<Output = Result<(), lambda_runtime::Error>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(future) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn lookup_from(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    /// What Lambda sets besides the region (which the tests choose).
    const PLATFORM: [(&str, &str); 7] = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_LAMBDA_FUNCTION_NAME", "demo-validator"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "role-secret"),
        ("AWS_SESSION_TOKEN", "role-session"),
    ];

    fn with_platform(pairs: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut all = pairs.to_vec();
        all.extend(PLATFORM);
        all
    }

    #[test]
    fn a_validator_reads_its_buckets_and_metrics() {
        let env = lookup_from(&with_platform(&[
            ("INGEST_ROLE", "validator"),
            ("INGEST_NAME", "demo"),
            ("AWS_REGION", "us-east-1"),
            ("GOOD_BUCKET", "good"),
            ("QUARANTINE_BUCKET", "quarantine"),
            ("MAX_EVENT_BYTES", "1024"),
            ("METRICS_NAMESPACE", "Ingest"),
        ]));
        let config = FunctionConfig::from_lookup(&env).unwrap();
        let RoleConfig::Validator(validator) = &config.role else {
            panic!("{config:?}")
        };
        assert_eq!(
            (validator.good_bucket.as_str(), validator.max_event_bytes),
            ("good", 1024)
        );
        assert_eq!(
            config.metrics,
            Some(Metrics {
                namespace: "Ingest".into(),
                pipeline: "demo".into()
            })
        );
        assert!(!config.s3_path_style);
        assert_eq!(config.aws.region, "us-east-1");
        assert_eq!(config.aws.credentials.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(config.aws.credentials.session_token(), Some("role-session"));
        assert!(
            !format!("{config:?}").contains("role-secret"),
            "the secret never shows in the configuration's Debug"
        );
    }

    #[test]
    fn missing_credentials_stop_the_bootstrap_at_start_with_one_error() {
        let mut env = with_platform(&[
            ("INGEST_ROLE", "receiver"),
            ("AWS_REGION", "us-west-2"),
            ("DELIVERY_STREAM", "demo-spool"),
        ]);
        env.retain(|(name, _)| *name != "AWS_SECRET_ACCESS_KEY");
        let error = FunctionConfig::from_lookup(&lookup_from(&env)).unwrap_err();
        assert_eq!(error.role, Some(Role::Receiver));
        let text = error.to_string();
        assert!(
            text.starts_with(
                "cannot start: the environment variable AWS_SECRET_ACCESS_KEY is not set: Lambda sets"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_missing_variable_is_named_with_what_the_role_reads() {
        let env = lookup_from(&with_platform(&[
            ("INGEST_ROLE", "validator"),
            ("AWS_REGION", "us-east-1"),
            ("QUARANTINE_BUCKET", "quarantine"),
        ]));
        let error = FunctionConfig::from_lookup(&env).unwrap_err();
        assert_eq!(error.role, Some(Role::Validator));
        let text = error.to_string();
        assert!(
            text.starts_with("cannot start: the environment variable GOOD_BUCKET is not set (the validator reads AWS_REGION, GOOD_BUCKET, QUARANTINE_BUCKET"),
            "{text}"
        );

        let error = FunctionConfig::from_lookup(&lookup_from(&[])).unwrap_err();
        assert_eq!(error.role, None);
        assert!(
            error.to_string().contains("INGEST_ROLE is not set")
                && error
                    .to_string()
                    .contains("validator, receiver, bridge or lever"),
            "{error}"
        );
        let error =
            FunctionConfig::from_lookup(&lookup_from(&[("INGEST_ROLE", "spooler")])).unwrap_err();
        assert!(error.to_string().contains("\"spooler\""), "{error}");

        let error = FunctionConfig::from_lookup(&lookup_from(&[
            ("INGEST_ROLE", "receiver"),
            ("AWS_REGION", "us-west-2"),
            ("DELIVERY_STREAM", ""),
        ]))
        .unwrap_err();
        assert!(
            error.to_string().contains("DELIVERY_STREAM is not set"),
            "an empty value counts as missing: {error}"
        );

        let error = FunctionConfig::from_lookup(&lookup_from(&[
            ("INGEST_ROLE", "receiver"),
            ("AWS_REGION", "us-west-2"),
            ("DELIVERY_STREAM", "demo-spool"),
        ]))
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("AWS_LAMBDA_RUNTIME_API is not set"),
            "lambda_runtime would panic without it: {error}"
        );

        let error = FunctionConfig::from_lookup(&lookup_from(&with_platform(&[
            ("INGEST_ROLE", "bridge"),
            (
                "VALIDATOR_FUNCTION_ARN",
                "arn:aws:lambda:us-east-1:1:function:v",
            ),
            ("CHUNK_BYTES", "5MB"),
        ])))
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("CHUNK_BYTES must be a whole number"),
            "{error}"
        );
    }

    #[test]
    fn the_bridge_invokes_in_the_validators_region() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:demo-validator";
        let env = lookup_from(&with_platform(&[
            ("INGEST_ROLE", "bridge"),
            ("AWS_REGION", "us-west-2"),
            ("VALIDATOR_FUNCTION_ARN", arn),
            ("SPOOL_BUCKET", "spool"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]));
        let config = FunctionConfig::from_lookup(&env).unwrap();
        let RoleConfig::Bridge {
            config: bridge,
            validator_region,
            queue_url,
            ..
        } = &config.role
        else {
            panic!("{config:?}")
        };
        assert_eq!(validator_region, "us-east-1", "taken from the ARN");
        assert_eq!(bridge.spool_bucket.as_deref(), Some("spool"));
        assert_eq!((queue_url, bridge.redelivery), (&None, None), "no pacing");
        assert!(config.s3_path_style);
        assert_eq!(config.metrics, None);
    }

    #[test]
    fn the_bridge_reads_its_redelivery_schedule_and_queue() {
        let schedule = [
            ("INGEST_ROLE", "bridge"),
            (
                "VALIDATOR_FUNCTION_ARN",
                "arn:aws:lambda:us-east-1:1:function:v",
            ),
            ("REDELIVERY_FIRST_DELAY_SECONDS", "30"),
            ("REDELIVERY_MAX_DELAY_SECONDS", "300"),
            ("REDELIVERY_GROWTH", "2"),
            ("REDELIVERY_JITTER_PERCENT", "10"),
            ("MAX_RECEIVE_COUNT", "324"),
            ("AWS_REGION", "us-west-2"),
        ];
        let error =
            FunctionConfig::from_lookup(&lookup_from(&with_platform(&schedule))).unwrap_err();
        assert!(
            error.to_string().contains("QUEUE_URL is not set"),
            "a schedule without its queue: {error}"
        );
        let mut with_queue = schedule.to_vec();
        with_queue.push(("QUEUE_URL", "https://sqs.us-west-2.amazonaws.com/1/q"));
        let config =
            FunctionConfig::from_lookup(&lookup_from(&with_platform(&with_queue))).unwrap();
        let RoleConfig::Bridge {
            config: bridge,
            queue_url,
            ..
        } = &config.role
        else {
            panic!("{config:?}")
        };
        assert_eq!(
            queue_url.as_deref(),
            Some("https://sqs.us-west-2.amazonaws.com/1/q")
        );
        let redelivery = bridge.redelivery.unwrap();
        assert_eq!(
            (redelivery.first_delay_seconds, redelivery.max_receive_count),
            (30, 324)
        );
        let mut bad = with_queue.clone();
        bad.retain(|(name, _)| *name != "REDELIVERY_GROWTH");
        let error = FunctionConfig::from_lookup(&lookup_from(&with_platform(&bad))).unwrap_err();
        assert!(
            error.to_string().contains("REDELIVERY_GROWTH is not set"),
            "{error}"
        );
    }

    #[test]
    fn the_log_filter_prefers_rust_log_then_the_lambda_level() {
        assert_eq!(log_filter(&lookup_from(&[])), "info");
        assert_eq!(
            log_filter(&lookup_from(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")])),
            "debug"
        );
        assert_eq!(
            log_filter(&lookup_from(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")])),
            "error"
        );
        assert_eq!(
            log_filter(&lookup_from(&[
                ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
                ("RUST_LOG", "info,aws_smithy_runtime=warn")
            ])),
            "info,aws_smithy_runtime=warn"
        );
    }

    #[test]
    fn an_emf_line_declares_every_metric_under_the_pipeline_dimension() {
        let metrics = Metrics {
            namespace: "Ingest".into(),
            pipeline: "demo".into(),
        };
        let line: serde_json::Value = serde_json::from_str(&emf_line(
            &metrics,
            1_700_000_000_000,
            &[("Good", 7), ("Quarantined", 2)],
        ))
        .unwrap();
        assert_eq!(line["Pipeline"], "demo");
        assert_eq!(line["Quarantined"], 2);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Ingest");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Pipeline"]]));
        assert_eq!(directive["Metrics"][1]["Name"], "Quarantined");
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }

    #[test]
    fn a_handler_error_is_a_lambda_diagnostic() {
        let diagnostic = Diagnostic::from(HandlerError::BadPayload("not JSON".into()));
        assert_eq!(diagnostic.error_type, "BadPayload");
        assert_eq!(diagnostic.error_message, "bad payload: not JSON");
    }
}
