//! Both regions wired from the stand-ins: the services ([`LocalServices`], owned and shared)
//! and the handlers over them ([`LocalPipeline`]), which the drill and `ingest dev` run.

use std::time::Duration;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::bridge::{BridgeConfig, BridgeHandler, Pacing, sqs_failures};
use super::super::lake::LakeSchema;
use super::super::receiver::{ReceiverConfig, ReceiverHandler};
use super::super::records::{self, parse_kinesis_event};
use super::super::validator::{ValidatorConfig, ValidatorHandler};
use super::super::{Deadline, HandlerError, RetryPolicy, Sleeper as _, kinesis_failures};
use super::{
    Clock, Faults, KinesisMapping, LocalInvoker, LocalQueue, LocalSpool, LocalStore, LocalStream,
    PipelineSettings, RegionSettings, Role, SimClock, SqsMapping,
};

/// How a region is down ([`LocalServices::set_outage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outage {
    /// Everything of the region fails at once: its API and stream (puts and Lambda's reads:
    /// nothing is invoked, records only age), its buckets, its validator as an `Invoke`
    /// target.
    Region,
    /// The region's buckets fail (S3 or KMS errors) while its API, stream and Lambda work:
    /// requests are accepted until the operator drains the region, Lambda keeps polling the
    /// stream and invoking the validator, and every invocation (the bridge's too) fails and
    /// ages its records, as in AWS when S3 or KMS is down and Kinesis is not. The drill's
    /// default: the records accepted before the drain wait out the whole outage in the
    /// primary's stream, against the mapping's maximum record age and the retention.
    #[default]
    Brownout,
    /// As [`Outage::Brownout`], but the buckets' calls hang until the SDK's attempt timeout
    /// instead of failing at once: invocations run into the function's timeout.
    Hang,
}

fn fails(error: serde_json::Error) -> HandlerError {
    HandlerError::BadPayload(error.to_string())
}
use crate::envelope::Registry;

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
            lake: LakeSchema::default(),
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

    /// Takes a region down the way `outage` says, or brings it back (`None`). A hanging
    /// outage hangs on the simulated clock (on the wall clock its calls fail at once).
    pub fn set_outage(&self, role: Role, outage: Option<Outage>) {
        self.set_down(role, outage == Some(Outage::Region));
        let buckets = match role {
            Role::Primary => vec![
                self.validator_config.good_bucket.clone(),
                self.validator_config.quarantine_bucket.clone(),
            ],
            Role::Secondary => vec![self.settings.spool_bucket()],
        };
        let hang = match (&self.clock, outage) {
            (Clock::Simulated(clock), Some(Outage::Hang)) => {
                Some((clock.clone(), RetryPolicy::default().attempt_timeout))
            }
            _ => None,
        };
        for bucket in buckets {
            let faults = self.store.faults(&bucket);
            faults.set_down(outage.is_some() && hang.is_none());
            faults.set_hang(hang.clone());
        }
        if role == Role::Primary {
            self.validator_faults
                .set_down(outage == Some(Outage::Region));
        }
    }

    /// Makes a bucket's calls fail (S3 or KMS down) or work again.
    pub fn set_bucket_down(&self, bucket: &str, down: bool) {
        self.store.faults(bucket).set_down(down);
    }

    /// The simulated clock, if the pipeline runs on one.
    pub fn sim_clock(&self) -> Option<&SimClock> {
        match &self.clock {
            Clock::Simulated(clock) => Some(clock),
            Clock::Wall => None,
        }
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
            deadline: Deadline::NONE,
        };
        let mut spool = spool;
        spool.quota_bytes_per_second = settings.spool_quota_bytes_per_second;
        let timeout = |seconds: Option<u64>| seconds.map(Duration::from_secs);
        let mut invoker = LocalInvoker::new(
            &services.bridge_config.validator_function,
            validator,
            &services.validator_faults,
        );
        invoker.timeout = timeout(settings.validator_timeout_seconds);
        let hours = |h: u64| Duration::from_secs(h.saturating_mul(3600));
        let mut primary_mapping = KinesisMapping::new(
            settings.primary.shards,
            settings.validator_batch_size,
            settings.validator_max_retries,
            Duration::from_secs(settings.validator_max_record_age_seconds),
        );
        primary_mapping.timeout = timeout(settings.validator_timeout_seconds);
        let mut secondary_mapping = KinesisMapping::new(
            settings.secondary.shards,
            settings.receiver_batch_size,
            settings.receiver_max_retries,
            if settings.receiver_max_record_age_seconds == 0 {
                hours(settings.secondary.retention_hours).saturating_sub(hours(1))
            } else {
                Duration::from_secs(settings.receiver_max_record_age_seconds)
            },
        );
        secondary_mapping.timeout = timeout(settings.receiver_timeout_seconds);
        let mut sqs_mapping =
            SqsMapping::new(settings.bridge_batch_size, settings.bridge_max_concurrency);
        sqs_mapping.timeout = timeout(settings.bridge_timeout_seconds);
        LocalPipeline {
            services,
            registry,
            spool,
            invoker,
            primary_mapping,
            secondary_mapping,
            sqs_mapping,
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
        let settings = &services.settings;
        let clock = &services.clock;
        // What Lambda gives an invocation: its deadline, from the function's timeout.
        let deadline = |timeout: Option<u64>| {
            timeout.map_or(Deadline::NONE, |seconds| {
                Deadline::after(services.clock.now_ms(), Duration::from_secs(seconds))
            })
        };
        let logs = std::cell::RefCell::new(Vec::new());
        let registry = self.registry;
        self.primary_mapping
            .poll(&services.primary_stream, clock, |payload| {
                let logs = &logs;
                async move {
                    let (at, started) = (services.clock.now(), std::time::Instant::now());
                    let validator = ValidatorHandler {
                        registry,
                        config: &services.validator_config,
                        store: &services.store,
                        sleeper: &services.clock,
                        deadline: deadline(settings.validator_timeout_seconds),
                    };
                    let event = parse_kinesis_event(&payload).map_err(fails)?;
                    let outcome = validator.process_kinesis(&event).await;
                    let mut log = BatchLog::new(Stage::Validator, outcome.stats.records, at);
                    log.shard = event_shard(&event);
                    log.good = outcome.stats.good;
                    log.quarantined = outcome.stats.quarantined;
                    log.failed = outcome.unfinished.len();
                    log.duration = started.elapsed();
                    logs.borrow_mut().push(log);
                    serde_json::to_vec(&kinesis_failures(&event, &outcome.unfinished))
                        .map_err(fails)
                }
            })
            .await;
        let spool = &self.spool;
        self.secondary_mapping
            .poll(&services.secondary_stream, clock, |payload| {
                let logs = &logs;
                async move {
                    let (at, started) = (services.clock.now(), std::time::Instant::now());
                    let receiver = ReceiverHandler {
                        config: &services.receiver_config,
                        stream: spool,
                        sleeper: &services.clock,
                        deadline: deadline(settings.receiver_timeout_seconds),
                    };
                    let event = parse_kinesis_event(&payload).map_err(fails)?;
                    let outcome = receiver.process_kinesis(&event).await;
                    let mut log = BatchLog::new(Stage::Receiver, outcome.stats.records, at);
                    log.shard = event_shard(&event);
                    log.failed = outcome.unfinished.len();
                    log.spooled = log.records - log.failed;
                    log.duration = started.elapsed();
                    logs.borrow_mut().push(log);
                    serde_json::to_vec(&kinesis_failures(&event, &outcome.unfinished))
                        .map_err(fails)
                }
            })
            .await;
        self.flush_spool(false, &logs).await;
        self.spool.deliver_notifications();
        let invoker = &self.invoker;
        let test_events = std::cell::Cell::new(0u64);
        self.sqs_mapping
            .poll(&services.queue, clock, |payload| {
                let (logs, test_events) = (&logs, &test_events);
                async move {
                    let (at, started) = (services.clock.now(), std::time::Instant::now());
                    let bridge = BridgeHandler {
                        config: &services.bridge_config,
                        store: &services.store,
                        invoker,
                        sleeper: &services.clock,
                        deadline: deadline(settings.bridge_timeout_seconds),
                    };
                    let event: SqsEvent = serde_json::from_slice(&payload).map_err(fails)?;
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
                    serde_json::to_vec(&sqs_failures(&event, &failed)).map_err(fails)
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

    /// Whether everything is done: no stream lag, nothing buffered, no notification on its
    /// way, no message in the queue.
    pub fn quiet(&self) -> bool {
        !self.busy()
            && self.spool.buffered() == 0
            && self.spool.pending_notifications() == 0
            && self.services.queue.is_empty()
    }

    /// When the spool's buffer, a late notification or the next invisible message is due, if
    /// any is.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        [
            self.spool.due_at(),
            self.spool.next_notification(),
            self.services.queue.next_visible(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
