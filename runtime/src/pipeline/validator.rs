//! The validator (primary region): Kinesis batches, or bridge chunks, into good and quarantine.
//!
//! Each record is split into its events (one event or an array) and judged by the spec's
//! [`Registry`] through [`Validator`]. Valid events become good lines grouped per (type, hour,
//! origin region, origin shard); rejected events (or whole records that cannot be split) become
//! quarantine lines grouped per (hour, origin region, origin shard). Each group is one gzip
//! NDJSON object whose key is derived from its records (see [`super::records`]). A put that
//! still fails after the [`RetryPolicy`](super::RetryPolicy) marks every record with a line in
//! that object unfinished; only those are reported (`batchItemFailures` for Kinesis,
//! `unfinished` for the bridge), so the platform retries exactly them. A malformed record is
//! never an error.
//!
//! An event that is valid but has a top-level `ingest` member is quarantined as
//! `bad_envelope`: `ingest` is where the pipeline writes its metadata, and a good line with
//! two `ingest` members would be ambiguous to every reader.

use std::borrow::Cow;
use std::collections::BTreeMap;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};

use super::records::{
    self, BridgeRequest, BridgeResponse, Origin, QuarantineLine, SpoolRecord, Via,
    compare_sequences, event_fields, good_key, partition, quarantine_key, shard_of_event_id,
    timestamp,
};
use super::{
    HandlerError, Lookup, ObjectStore, RetryPolicy, Sleeper, env_number, env_var, kinesis_failures,
    process_env,
};
use crate::check::Violation;
use crate::envelope::{DEFAULT_MAX_BYTES, Reason, RecordOutcome, Registry, Validator};
use crate::json::{Kind, Parser};

/// The validator's settings (environment variables of the primary stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorConfig {
    /// The function's region (`AWS_REGION`): the origin region of direct records that do not
    /// name theirs.
    pub region: String,
    /// `GOOD_BUCKET`.
    pub good_bucket: String,
    /// `QUARANTINE_BUCKET`.
    pub quarantine_bucket: String,
    /// `MAX_EVENT_BYTES`: larger records are quarantined as `too_large`.
    pub max_event_bytes: usize,
    /// Retries of each put.
    pub retry: RetryPolicy,
}

impl ValidatorConfig {
    /// Reads `AWS_REGION`, `GOOD_BUCKET`, `QUARANTINE_BUCKET` and `MAX_EVENT_BYTES` from the
    /// process environment.
    pub fn from_env() -> Result<Self, HandlerError> {
        Self::from_lookup(&process_env)
    }

    /// [`ValidatorConfig::from_env`], reading the variables through `lookup`.
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Self, HandlerError> {
        Ok(ValidatorConfig {
            region: env_var(lookup, "AWS_REGION")?,
            good_bucket: env_var(lookup, "GOOD_BUCKET")?,
            quarantine_bucket: env_var(lookup, "QUARANTINE_BUCKET")?,
            max_event_bytes: usize::try_from(env_number(
                lookup,
                "MAX_EVENT_BYTES",
                DEFAULT_MAX_BYTES as u64,
            )?)
            .unwrap_or(usize::MAX),
            retry: RetryPolicy::default(),
        })
    }
}

/// One record to validate, with where it came from.
#[derive(Debug, Clone)]
pub struct InputRecord<'b> {
    /// The stream record it arrived as.
    pub origin: Origin,
    /// Direct or through the bridge.
    pub via: Via,
    /// Its bytes.
    pub data: Cow<'b, [u8]>,
    /// When the record was too large for the spool: its real size (`data` is its beginning).
    pub truncated_from: Option<u64>,
    /// When a spool line could not be read: why (the line is quarantined as `not_json`).
    pub unreadable: Option<String>,
}

/// Counts of one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Records in the batch.
    pub records: usize,
    /// Good lines written.
    pub good: usize,
    /// Quarantine lines written.
    pub quarantined: usize,
    /// Objects written.
    pub objects: usize,
    /// Objects that could not be written.
    pub failed_objects: usize,
}

/// The result of a batch: which records are unfinished, and counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Indices of the records that are not safely stored, ascending.
    pub unfinished: Vec<usize>,
    /// Counts.
    pub stats: BatchStats,
}

#[derive(Debug)]
struct Group {
    arrival: DateTime<Utc>,
    first_sequence: String,
    lines: Vec<u8>,
    count: usize,
    records: Vec<usize>,
}

impl Group {
    fn new(origin: &Origin) -> Self {
        Group {
            arrival: origin.arrival,
            first_sequence: origin.sequence.clone(),
            lines: Vec::new(),
            count: 0,
            records: Vec::new(),
        }
    }

    fn note(&mut self, index: usize, origin: &Origin) {
        if compare_sequences(&origin.sequence, &self.first_sequence).is_lt() {
            self.first_sequence.clone_from(&origin.sequence);
        }
        if self.records.last() != Some(&index) {
            self.records.push(index);
        }
        self.count += 1;
    }
}

/// (type, partition, region, shard) for good; ("", partition, region, shard) for quarantine.
type GroupKey = (String, String, String, String);

/// The validator function. See the module documentation.
#[derive(Debug)]
pub struct ValidatorHandler<'a, S, Z> {
    /// The spec's event types.
    pub registry: &'a Registry,
    /// Settings.
    pub config: &'a ValidatorConfig,
    /// Where good and quarantine objects go.
    pub store: &'a S,
    /// How retries wait.
    pub sleeper: &'a Z,
}

impl<S, Z> Clone for ValidatorHandler<'_, S, Z> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, Z> Copy for ValidatorHandler<'_, S, Z> {}

impl<S: ObjectStore, Z: Sleeper> ValidatorHandler<'_, S, Z> {
    /// Handles a Kinesis batch: the response lists the unfinished records by sequence number.
    pub async fn handle_kinesis(&self, event: &KinesisEvent) -> KinesisEventResponse {
        let outcome = self.process_kinesis(event).await;
        kinesis_failures(event, &outcome.unfinished)
    }

    /// Processes a Kinesis batch.
    pub async fn process_kinesis(&self, event: &KinesisEvent) -> BatchOutcome {
        let records: Vec<InputRecord<'_>> = event
            .records
            .iter()
            .map(|r| InputRecord {
                origin: Origin {
                    region: r
                        .aws_region
                        .clone()
                        .unwrap_or_else(|| self.config.region.clone()),
                    shard: shard_of_event_id(r.event_id.as_deref().unwrap_or("shardId-unknown"))
                        .to_owned(),
                    sequence: r.kinesis.sequence_number.clone(),
                    arrival: r.kinesis.approximate_arrival_timestamp.0,
                },
                via: Via::Direct,
                data: Cow::Borrowed(&r.kinesis.data.0),
                truncated_from: None,
                unreadable: None,
            })
            .collect();
        self.process(&records).await
    }

    /// Handles a bridge chunk.
    pub async fn handle_bridge(
        &self,
        request: &BridgeRequest,
    ) -> Result<BridgeResponse, HandlerError> {
        let chunk = &request.ingest_bridge;
        let lines = BASE64
            .decode(&chunk.lines)
            .map_err(|e| HandlerError::BadPayload(format!("`lines` is not base64: {e}")))?;
        let spooled_at = records::parse_timestamp(&chunk.spooled_at).ok_or_else(|| {
            HandlerError::BadPayload(format!(
                "`spooled_at` is not a timestamp: {:?}",
                chunk.spooled_at
            ))
        })?;
        let object = chunk.key.rsplit('/').next().unwrap_or(&chunk.key);
        let mut inputs = Vec::new();
        for (line_index, line) in lines.split(|b| *b == b'\n').enumerate() {
            if line.trim_ascii().is_empty() {
                continue;
            }
            let parsed = serde_json::from_slice::<SpoolRecord>(line)
                .map_err(|e| e.to_string())
                .and_then(|record| {
                    let origin = record
                        .origin()
                        .ok_or("the arrival time is not a timestamp")?;
                    let data = record.bytes().ok_or("`data` is not base64")?;
                    Ok((origin, data, record.truncated_from))
                });
            inputs.push(match parsed {
                Ok((origin, data, truncated_from)) => InputRecord {
                    origin,
                    via: Via::Bridge,
                    data: Cow::Owned(data),
                    truncated_from,
                    unreadable: None,
                },
                Err(message) => InputRecord {
                    origin: Origin {
                        region: "spool".to_owned(),
                        shard: format!("{object}#{}", chunk.chunk),
                        sequence: line_index.to_string(),
                        arrival: spooled_at,
                    },
                    via: Via::Bridge,
                    data: Cow::Owned(line.to_vec()),
                    truncated_from: None,
                    unreadable: Some(format!(
                        "spool line {} of s3://{}/{} is not a spool record: {message}",
                        line_index + 1,
                        chunk.bucket,
                        chunk.key
                    )),
                },
            });
        }
        let outcome = self.process(&inputs).await;
        Ok(BridgeResponse {
            records: inputs.len(),
            good: outcome.stats.good,
            quarantined: outcome.stats.quarantined,
            unfinished: outcome.unfinished,
        })
    }

    /// The function's entry point for raw payloads: a Kinesis event (answered with
    /// `batchItemFailures`) or a bridge request (answered with a [`BridgeResponse`]).
    pub async fn handle_payload(&self, payload: &[u8]) -> Result<Vec<u8>, HandlerError> {
        let bad = |e: serde_json::Error| HandlerError::BadPayload(e.to_string());
        if first_key(payload).as_deref() == Some("ingest_bridge") {
            let request: BridgeRequest = serde_json::from_slice(payload).map_err(bad)?;
            let response = self.handle_bridge(&request).await?;
            serde_json::to_vec(&response).map_err(bad)
        } else {
            let event = records::parse_kinesis_event(payload).map_err(bad)?;
            let response = self.handle_kinesis(&event).await;
            serde_json::to_vec(&response).map_err(bad)
        }
    }

    /// Validates records and writes their lines; reports the unfinished ones.
    pub async fn process(&self, records: &[InputRecord<'_>]) -> BatchOutcome {
        let validator = Validator::new(self.registry).with_max_bytes(self.config.max_event_bytes);
        let mut good: BTreeMap<GroupKey, Group> = BTreeMap::new();
        let mut quarantine: BTreeMap<GroupKey, Group> = BTreeMap::new();
        let mut stats = BatchStats {
            records: records.len(),
            ..BatchStats::default()
        };
        for (index, record) in records.iter().enumerate() {
            let origin = &record.origin;
            let hour = partition(origin.arrival);
            let mut quarantine_line = |line: QuarantineLine| {
                let group = quarantine
                    .entry((
                        String::new(),
                        hour.clone(),
                        origin.region.clone(),
                        origin.shard.clone(),
                    ))
                    .or_insert_with(|| Group::new(origin));
                group.note(index, origin);
                let _ = serde_json::to_writer(&mut group.lines, &line);
                group.lines.push(b'\n');
            };
            if let Some(message) = &record.unreadable {
                let violation = violation("", "spool", message.clone());
                quarantine_line(QuarantineLine::new(
                    Reason::NotJson,
                    &[violation],
                    &record.data,
                    origin,
                    record.via,
                ));
                continue;
            }
            if let Some(size) = record.truncated_from {
                let violation = violation(
                    "",
                    "size",
                    format!(
                        "the record has {size} bytes, too many to travel through the spool; only its first {} bytes are kept",
                        record.data.len()
                    ),
                );
                quarantine_line(QuarantineLine::new(
                    Reason::TooLarge,
                    &[violation],
                    &record.data,
                    origin,
                    record.via,
                ));
                continue;
            }
            match validator.validate(&record.data) {
                RecordOutcome::Rejected(rejection) => {
                    let mut line = QuarantineLine::new(
                        rejection.reason,
                        &rejection.violations,
                        &record.data,
                        origin,
                        record.via,
                    );
                    if rejection.reason != Reason::TooLarge {
                        line.event_type = event_fields(&record.data).type_name;
                    }
                    quarantine_line(line);
                }
                RecordOutcome::Events { batch, events } => {
                    for (event_index, verdict) in events.iter().enumerate() {
                        let fields = event_fields(verdict.raw);
                        // The envelope reader already refused a top-level `ingest` member, so a
                        // valid event can take the pipeline's metadata.
                        let rejection = match &verdict.result {
                            Ok(()) => None,
                            Err(rejection) => {
                                Some((rejection.reason, rejection.violations.clone()))
                            }
                        };
                        match (rejection, fields.type_name) {
                            (None, Some(type_name)) => {
                                let group = good
                                    .entry((
                                        type_name,
                                        hour.clone(),
                                        origin.region.clone(),
                                        origin.shard.clone(),
                                    ))
                                    .or_insert_with(|| Group::new(origin));
                                group.note(index, origin);
                                records::push_good_line(
                                    &mut group.lines,
                                    verdict.raw,
                                    &timestamp(origin.arrival),
                                    &origin.region,
                                    record.via,
                                );
                            }
                            (rejection, type_name) => {
                                let (reason, violations) = rejection.unwrap_or_else(|| {
                                    (
                                        Reason::BadEnvelope,
                                        vec![violation(
                                            "/type",
                                            "cloudevents",
                                            "`type` is not a string".to_owned(),
                                        )],
                                    )
                                });
                                let mut line = QuarantineLine::new(
                                    reason,
                                    &violations,
                                    verdict.raw,
                                    origin,
                                    record.via,
                                );
                                line.event_type = type_name;
                                line.event_index = batch.then_some(event_index);
                                quarantine_line(line);
                            }
                        }
                    }
                }
            }
        }
        let mut unfinished = Vec::new();
        for ((type_name, _, region, shard), group) in &good {
            let key = good_key(
                type_name,
                group.arrival,
                region,
                shard,
                &group.first_sequence,
                &group.lines,
            );
            if self.put(&self.config.good_bucket, &key, &group.lines).await {
                stats.good += group.count;
                stats.objects += 1;
            } else {
                stats.failed_objects += 1;
                unfinished.extend_from_slice(&group.records);
            }
        }
        for ((_, _, region, shard), group) in &quarantine {
            let key = quarantine_key(
                group.arrival,
                region,
                shard,
                &group.first_sequence,
                &group.lines,
            );
            if self
                .put(&self.config.quarantine_bucket, &key, &group.lines)
                .await
            {
                stats.quarantined += group.count;
                stats.objects += 1;
            } else {
                stats.failed_objects += 1;
                unfinished.extend_from_slice(&group.records);
            }
        }
        unfinished.sort_unstable();
        unfinished.dedup();
        BatchOutcome { unfinished, stats }
    }

    async fn put(&self, bucket: &str, key: &str, lines: &[u8]) -> bool {
        let body = records::gzip(lines);
        self.config
            .retry
            .run(self.sleeper, || {
                self.store.put_object(bucket, key, body.clone())
            })
            .await
            .is_ok()
    }
}

fn violation(pointer: &str, keyword: &'static str, message: String) -> Violation {
    Violation {
        pointer: pointer.to_owned(),
        keyword,
        message,
    }
}

/// The first key of a JSON object, if the payload is one.
pub(crate) fn first_key(payload: &[u8]) -> Option<String> {
    let mut p = Parser::new(payload);
    if p.peek().ok()? != Kind::Object {
        return None;
    }
    p.begin_object().ok()?;
    let mut first = true;
    p.next_key(&mut first).ok()?.map(Cow::into_owned)
}
