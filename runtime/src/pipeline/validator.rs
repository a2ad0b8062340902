//! The validator (primary region): Kinesis batches, or bridge chunks, into good and quarantine.
//!
//! Each record is split into its events (one event or an array) and judged by the spec's
//! [`Registry`] through [`Validator`]. Valid events become good lines grouped per (type, hour,
//! origin region, origin shard); rejected events (or whole records that cannot be split) become
//! quarantine lines grouped per (hour, origin region, origin shard). Each group is gzip NDJSON,
//! compressed as its lines are written, and stored as one object, or as several parts of at
//! most [`limits::OBJECT_PART_BYTES`] uncompressed, cut at record boundaries; every key is
//! derived from its part's records (see [`super::records`]), so a retry writes the same keys.
//! A put that still fails after the [`RetryPolicy`](super::RetryPolicy) marks every record with
//! a line in that object unfinished; only those are reported (`batchItemFailures` for Kinesis,
//! `unfinished` for the bridge), so the platform retries exactly them. A malformed record is
//! never an error.
//!
//! An event that is valid but has a top-level `ingest` member is quarantined as
//! `bad_envelope`: `ingest` is where the pipeline writes its metadata, and a good line with
//! two `ingest` members would be ambiguous to every reader. A valid event that Athena's JSON
//! reader could not read (keys that collide once lowercased, a `bigint` written as `1.0` or
//! beyond 64 bits, [`super::lake`]) is quarantined as `unqueryable`.
//!
//! **What a record may cost** ([`limits`]): a record's events are judged one at a time, and
//! the quarantine lines they make may total at most [`limits::QUARANTINE_AMPLIFICATION`] times
//! the record's size plus [`limits::QUARANTINE_ALLOWANCE_BYTES`]; a record past that, or with
//! more events than valid events of its size could be, stops being read and becomes **one**
//! quarantine line (`too_large`, keyword `events`) holding its original bytes. Lines carry at
//! most 16 violations of at most 256 bytes each. So a record like `[{},{},...]` costs one pass
//! over its bytes, and the memory of an invocation is bounded by its payload: see
//! [`limits::worst_case_bytes`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::ops::ControlFlow;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use flate2::write::GzEncoder;

use super::lake::{LakeSchema, UNQUERYABLE};
use super::records::{
    self, BridgeRequest, BridgeResponse, ContentTag, Origin, QuarantineLine, SpoolRecord, Via,
    compare_sequences, event_fields, good_key_tagged, partition, quarantine_key_tagged,
    shard_of_event_id, timestamp,
};
use super::{
    Deadline, HandlerError, Lookup, ObjectStore, RetryPolicy, Sleeper, env_number, env_var,
    join_bounded, kinesis_failures, process_env,
};
use crate::check::Violation;
use crate::envelope::{DEFAULT_MAX_BYTES, Reason, Registry, Validator};
use crate::json::{Kind, Parser};

/// Bounds on what one record may cost.
pub mod limits {
    /// The fewest bytes a valid event takes in a batch
    /// (`{"specversion":"1.0","id":"x","source":"x","type":"x","data":0}` and a comma): a batch
    /// record with more events than its size allows valid ones to be is not read further.
    pub const MIN_EVENT_BYTES: usize = 64;
    /// Quarantine bytes the events of one record may produce, as a multiple of its size...
    pub const QUARANTINE_AMPLIFICATION: usize = 8;
    /// ...plus this allowance: room for one line's violations, whatever the record's size.
    pub const QUARANTINE_ALLOWANCE_BYTES: usize = 8 * 1024;
    /// Bytes a good line adds to its event (the `ingest` member), at most.
    pub const GOOD_LINE_OVERHEAD_BYTES: usize = 160;
    /// Uncompressed bytes of one object: a group with more is stored in parts.
    pub const OBJECT_PART_BYTES: usize = 32 * 1024 * 1024;
    /// Lines a group gathers before they go through gzip: zlib fed line by line spent about
    /// 7% of the handler's instructions on per-call overhead (BENCHMARKS.md, issue 12).
    pub const GZIP_BLOCK_BYTES: usize = 64 * 1024;
    /// Memory a gzip encoder keeps while a group is open (zlib's window, hash chains and
    /// pending output at the default level, and the [`GZIP_BLOCK_BYTES`] in front of it),
    /// rounded up.
    pub const ENCODER_BYTES: usize = 384 * 1024;

    /// The most quarantine bytes a record of `record_bytes` may produce.
    pub fn quarantine_budget(record_bytes: usize) -> usize {
        record_bytes
            .saturating_mul(QUARANTINE_AMPLIFICATION)
            .saturating_add(QUARANTINE_ALLOWANCE_BYTES)
    }

    /// An upper bound of the bytes one validator invocation holds for a payload of
    /// `payload_bytes` (Lambda's synchronous limit is 6 MB) holding `records` records, with
    /// `groups` objects open: the payload as received and parsed (twice), the records'
    /// decoded bytes (three quarters of the payload), and every line written, as if nothing
    /// compressed (good lines: the events and their `ingest` member; quarantine lines: each
    /// record's budget), plus the compressors' state. Lines are compressed as they are
    /// written, so what is held is smaller; this bound assumes no compression at all.
    pub fn worst_case_bytes(payload_bytes: usize, records: usize, groups: usize) -> usize {
        let decoded = payload_bytes / 4 * 3;
        let events = decoded / MIN_EVENT_BYTES;
        let good = decoded.saturating_add(events.saturating_mul(GOOD_LINE_OVERHEAD_BYTES));
        let quarantine = decoded
            .saturating_mul(QUARANTINE_AMPLIFICATION)
            .saturating_add(records.saturating_mul(QUARANTINE_ALLOWANCE_BYTES));
        payload_bytes
            .saturating_mul(2)
            .saturating_add(decoded)
            .saturating_add(good.max(quarantine))
            .saturating_add(groups.saturating_mul(ENCODER_BYTES))
    }
}

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
    /// The column types of the event tables, for [`super::lake`] (empty: collisions only).
    pub lake: LakeSchema,
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
            lake: LakeSchema::default(),
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
    /// When Firehose refused the record itself: why (it is quarantined as `unspoolable`).
    pub refused: Option<String>,
    /// When the bridge found that the validator fails on this record's spool line: why (it is
    /// quarantined as `unprocessable`, not judged).
    pub unprocessable: Option<String>,
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
    /// Records quarantined whole because their events would cost too much
    /// ([`limits`]).
    pub collapsed: usize,
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

/// One object being written: its lines go through gzip in blocks as they come.
struct Part {
    encoder: std::io::BufWriter<GzEncoder<Vec<u8>>>,
    tag: ContentTag,
    bytes: usize,
    lines: usize,
    first_sequence: String,
    records: Vec<usize>,
}

impl Part {
    fn new(origin: &Origin) -> Self {
        Part {
            encoder: std::io::BufWriter::with_capacity(
                limits::GZIP_BLOCK_BYTES,
                GzEncoder::new(Vec::new(), flate2::Compression::default()),
            ),
            tag: ContentTag::default(),
            bytes: 0,
            lines: 0,
            first_sequence: origin.sequence.clone(),
            records: Vec::new(),
        }
    }
}

/// A finished object: its key's parts and its gzip body.
struct Finished {
    first_sequence: String,
    tag: String,
    body: Vec<u8>,
    lines: usize,
    records: Vec<usize>,
}

/// The lines of one (type, hour, region, shard), in parts of at most
/// [`limits::OBJECT_PART_BYTES`].
struct Group {
    arrival: DateTime<Utc>,
    open: Part,
    done: Vec<Finished>,
}

impl Group {
    fn new(origin: &Origin) -> Self {
        Group {
            arrival: origin.arrival,
            open: Part::new(origin),
            done: Vec::new(),
        }
    }

    /// Appends the lines of record `index`, in a new part when the open one holds
    /// `part_bytes` already.
    fn write(
        &mut self,
        index: usize,
        origin: &Origin,
        lines: &[u8],
        count: usize,
        part_bytes: usize,
    ) {
        if self.open.bytes >= part_bytes {
            let full = std::mem::replace(&mut self.open, Part::new(origin));
            self.done.push(finish(full));
        }
        let part = &mut self.open;
        if compare_sequences(&origin.sequence, &part.first_sequence).is_lt() {
            part.first_sequence.clone_from(&origin.sequence);
        }
        if part.records.last() != Some(&index) {
            part.records.push(index);
        }
        // Writing to a Vec cannot fail.
        let _ = part.encoder.write_all(lines);
        part.tag.update(lines);
        part.bytes += lines.len();
        part.lines += count;
    }

    fn into_parts(mut self) -> Vec<Finished> {
        self.done.push(finish(self.open));
        self.done
    }
}

fn finish(part: Part) -> Finished {
    Finished {
        first_sequence: part.first_sequence,
        tag: part.tag.finish(),
        // Writing to a Vec cannot fail, so neither can the last block's flush.
        body: part
            .encoder
            .into_inner()
            .ok()
            .and_then(|encoder| encoder.finish().ok())
            .unwrap_or_default(),
        lines: part.lines,
        records: part.records,
    }
}

/// The reason kind of a record Firehose refused as invalid (a quarantine `kind`).
pub const UNSPOOLABLE: &str = "unspoolable";

/// The reason kind of a spool line the validator failed on again and again, or one too long
/// for an invoke, that the bridge asked to quarantine without judging (a quarantine `kind`).
pub const UNPROCESSABLE: &str = "unprocessable";

/// Objects written at once.
const PUT_CONCURRENCY: usize = 8;

/// (type, partition, region, shard) for good; ("", partition, region, shard) for quarantine.
type GroupKey = (String, String, String, String);

/// The lines one record produced, held until the whole record is judged.
#[derive(Default)]
struct RecordLines {
    /// Good lines, one after the other, and where each starts with its type.
    good: Vec<u8>,
    good_spans: Vec<(String, usize, usize)>,
    quarantine: Vec<u8>,
    quarantine_lines: usize,
}

impl RecordLines {
    fn clear(&mut self) {
        self.good.clear();
        self.good_spans.clear();
        self.quarantine.clear();
        self.quarantine_lines = 0;
    }

    fn quarantine(&mut self, line: &QuarantineLine) {
        let _ = serde_json::to_writer(&mut self.quarantine, line);
        self.quarantine.push(b'\n');
        self.quarantine_lines += 1;
    }
}

/// Why a record stopped being read before its end.
enum Overflow {
    /// More events than valid events of its size could be.
    Events(usize),
    /// Its quarantine lines passed the budget after this many events.
    Bytes(usize),
}

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
    /// When the invocation must answer: objects not written by then leave their records
    /// unfinished, and the answer goes out in time.
    pub deadline: Deadline,
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
                refused: None,
                unprocessable: None,
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
        // Indices count the chunk's lines, so a part of a split chunk numbers its lines as the
        // whole chunk did (`first_line`), and the keys of what they make are the same.
        let numbered = lines
            .split(|b| *b == b'\n')
            .filter(|line| !line.trim_ascii().is_empty())
            .enumerate()
            .map(|(index, line)| (chunk.first_line + index, line));
        for (line_index, line) in numbered {
            let parsed = serde_json::from_slice::<SpoolRecord>(line)
                .map_err(|e| e.to_string())
                .and_then(|record| {
                    let origin = record
                        .origin()
                        .ok_or("the arrival time is not a timestamp")?;
                    let data = record.bytes().ok_or("`data` is not base64")?;
                    Ok((origin, data, record.truncated_from, record.refused))
                });
            inputs.push(match parsed {
                Ok((origin, data, truncated_from, refused)) => InputRecord {
                    origin,
                    via: Via::Bridge,
                    data: Cow::Owned(data),
                    truncated_from,
                    unreadable: None,
                    refused,
                    unprocessable: chunk.unprocessable.clone(),
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
                    refused: None,
                    unreadable: Some(format!(
                        "spool line {} of chunk {} of s3://{}/{} is not a spool record: {message}",
                        line_index + 1,
                        chunk.chunk,
                        chunk.bucket,
                        chunk.key
                    )),
                    unprocessable: chunk.unprocessable.clone(),
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
        let mut lines = RecordLines::default();
        for (index, record) in records.iter().enumerate() {
            lines.clear();
            stats.collapsed += usize::from(self.judge(&validator, record, &mut lines));
            let origin = &record.origin;
            let hour = partition(origin.arrival);
            for (type_name, start, end) in &lines.good_spans {
                good.entry((
                    type_name.clone(),
                    hour.clone(),
                    origin.region.clone(),
                    origin.shard.clone(),
                ))
                .or_insert_with(|| Group::new(origin))
                .write(
                    index,
                    origin,
                    &lines.good[*start..*end],
                    1,
                    limits::OBJECT_PART_BYTES,
                );
            }
            if lines.quarantine_lines > 0 {
                quarantine
                    .entry((
                        String::new(),
                        hour,
                        origin.region.clone(),
                        origin.shard.clone(),
                    ))
                    .or_insert_with(|| Group::new(origin))
                    .write(
                        index,
                        origin,
                        &lines.quarantine,
                        lines.quarantine_lines,
                        limits::OBJECT_PART_BYTES,
                    );
            }
        }
        let mut unfinished = Vec::new();
        let mut objects = Vec::new();
        for ((type_name, _, region, shard), group) in good {
            let arrival = group.arrival;
            for part in group.into_parts() {
                let key = good_key_tagged(
                    &type_name,
                    arrival,
                    &region,
                    &shard,
                    &part.first_sequence,
                    &part.tag,
                );
                objects.push((true, key, part));
            }
        }
        for ((_, _, region, shard), group) in quarantine {
            let arrival = group.arrival;
            for part in group.into_parts() {
                let key = quarantine_key_tagged(
                    arrival,
                    &region,
                    &shard,
                    &part.first_sequence,
                    &part.tag,
                );
                objects.push((false, key, part));
            }
        }
        let puts = objects
            .iter()
            .map(|(is_good, key, part)| {
                let bucket = if *is_good {
                    &self.config.good_bucket
                } else {
                    &self.config.quarantine_bucket
                };
                self.put(bucket, key, &part.body)
            })
            .collect();
        let written = join_bounded(puts, PUT_CONCURRENCY).await;
        for ((is_good, _, part), written) in objects.iter().zip(written) {
            if written {
                if *is_good {
                    stats.good += part.lines;
                } else {
                    stats.quarantined += part.lines;
                }
                stats.objects += 1;
            } else {
                stats.failed_objects += 1;
                unfinished.extend_from_slice(&part.records);
            }
        }
        unfinished.sort_unstable();
        unfinished.dedup();
        BatchOutcome { unfinished, stats }
    }

    /// Judges one record into `lines`; returns whether it was quarantined whole because its
    /// events would cost too much.
    fn judge(
        &self,
        validator: &Validator<'_>,
        record: &InputRecord<'_>,
        lines: &mut RecordLines,
    ) -> bool {
        let origin = &record.origin;
        if let Some(reason) = &record.unprocessable {
            let message = match &record.unreadable {
                Some(unreadable) => format!("{reason}; {unreadable}"),
                None => reason.clone(),
            };
            lines.quarantine(&QuarantineLine::of_kind(
                UNPROCESSABLE,
                &[violation("", "bridge", message)],
                &record.data,
                origin,
                record.via,
            ));
            return false;
        }
        if let Some(message) = &record.unreadable {
            let violation = violation("", "spool", message.clone());
            lines.quarantine(&QuarantineLine::new(
                Reason::NotJson,
                &[violation],
                &record.data,
                origin,
                record.via,
            ));
            return false;
        }
        if let Some(reason) = &record.refused {
            let violation = violation(
                "",
                "spool",
                format!(
                    "Firehose refused the record ({} bytes) as invalid, so it could not be spooled; only its first {} bytes are kept: {reason}",
                    record.truncated_from.unwrap_or(record.data.len() as u64),
                    record.data.len()
                ),
            );
            lines.quarantine(&QuarantineLine::of_kind(
                UNSPOOLABLE,
                &[violation],
                &record.data,
                origin,
                record.via,
            ));
            return false;
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
            lines.quarantine(&QuarantineLine::new(
                Reason::TooLarge,
                &[violation],
                &record.data,
                origin,
                record.via,
            ));
            return false;
        }
        let data: &[u8] = &record.data;
        let batch = data.trim_ascii_start().first() == Some(&b'[');
        let received_at = timestamp(origin.arrival);
        let budget = limits::quarantine_budget(data.len());
        let most_events = data.len() / limits::MIN_EVENT_BYTES + 1;
        let mut overflow = None;
        let mut first_rejection: Option<(usize, Vec<Violation>)> = None;
        let mut event_index = 0usize;
        let read = validator.validate_each(data, |verdict| {
            let at = event_index;
            event_index += 1;
            if at >= most_events {
                overflow = Some(Overflow::Events(event_index));
                return ControlFlow::Break(());
            }
            let fields = event_fields(verdict.raw);
            let rejection = match verdict.result {
                Ok(()) => match (&fields.type_name, fields.data) {
                    (Some(type_name), Some((start, end))) => self
                        .config
                        .lake
                        .check(type_name, &verdict.raw[start..end])
                        .err()
                        .map(|problem| (UNQUERYABLE, vec![problem])),
                    (Some(_), None) => None,
                    (None, _) => Some((
                        Reason::BadEnvelope.as_str(),
                        vec![violation(
                            "/type",
                            "cloudevents",
                            "`type` is not a string".to_owned(),
                        )],
                    )),
                },
                Err(rejection) => Some((rejection.reason.as_str(), rejection.violations)),
            };
            match (rejection, fields.type_name) {
                (None, Some(type_name)) => {
                    let start = lines.good.len();
                    records::push_good_line(
                        &mut lines.good,
                        verdict.raw,
                        &received_at,
                        &origin.region,
                        record.via,
                    );
                    lines.good_spans.push((type_name, start, lines.good.len()));
                }
                (rejection, type_name) => {
                    let (kind, violations) = rejection.unwrap_or_default();
                    let mut line =
                        QuarantineLine::of_kind(kind, &violations, verdict.raw, origin, record.via);
                    line.event_type = type_name;
                    line.event_index = batch.then_some(at);
                    lines.quarantine(&line);
                    if first_rejection.is_none() {
                        first_rejection = Some((at, violations));
                    }
                    if lines.quarantine.len() > budget {
                        overflow = Some(Overflow::Bytes(event_index));
                        return ControlFlow::Break(());
                    }
                }
            }
            ControlFlow::Continue(())
        });
        match read {
            Ok(_) if overflow.is_none() => false,
            Ok(_) => {
                lines.clear();
                let mut whole = Parser::new(data);
                let mut violations = match whole.skip_value().and_then(|()| whole.finish()) {
                    Err(error) => {
                        lines.quarantine(&QuarantineLine::new(
                            Reason::NotJson,
                            &[violation("", "json", format!("not valid JSON: {error}"))],
                            data,
                            origin,
                            record.via,
                        ));
                        return true;
                    }
                    Ok(()) => vec![violation(
                        "",
                        "events",
                        match overflow {
                            Some(Overflow::Events(seen)) => format!(
                                "the record holds more than {} events ({seen} read before stopping), more than valid events of its {} bytes could be; it is kept whole",
                                seen - 1,
                                data.len()
                            ),
                            Some(Overflow::Bytes(read)) => format!(
                                "the record's events would make more than {} bytes of quarantine lines ({read} events read; at most {} times its {} bytes, plus {}); it is kept whole instead, with the first problems",
                                budget,
                                limits::QUARANTINE_AMPLIFICATION,
                                data.len(),
                                limits::QUARANTINE_ALLOWANCE_BYTES
                            ),
                            None => String::new(),
                        },
                    )],
                };
                if let Some((at, first)) = first_rejection {
                    violations.extend(first.into_iter().map(|mut v| {
                        v.pointer = format!("/{at}{}", v.pointer);
                        v
                    }));
                }
                let mut line =
                    QuarantineLine::new(Reason::TooLarge, &violations, data, origin, record.via);
                line.event_type = None;
                lines.quarantine(&line);
                true
            }
            Err(rejection) => {
                lines.clear();
                let mut line = QuarantineLine::new(
                    rejection.reason,
                    &rejection.violations,
                    data,
                    origin,
                    record.via,
                );
                if rejection.reason != Reason::TooLarge {
                    line.event_type = event_fields(data).type_name;
                }
                lines.quarantine(&line);
                false
            }
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: &[u8]) -> bool {
        self.config
            .retry
            .run(self.sleeper, self.deadline, || {
                self.store.put_object(bucket, key, body.to_vec())
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn origin(sequence: &str) -> Origin {
        Origin {
            region: "us-east-1".into(),
            shard: "shardId-000000000000".into(),
            sequence: sequence.into(),
            arrival: Utc.with_ymd_and_hms(2020, 11, 25, 13, 0, 0).unwrap(),
        }
    }

    fn parts(bound: usize) -> Vec<Finished> {
        let mut group = Group::new(&origin("10"));
        for (index, sequence) in ["10", "11", "12", "13", "14"].iter().enumerate() {
            let line = format!("{{\"line\":{index}}}\n");
            group.write(index, &origin(sequence), line.as_bytes(), 1, bound);
        }
        group.into_parts()
    }

    #[test]
    fn groups_split_into_parts_at_record_boundaries_with_their_own_keys() {
        let whole = parts(usize::MAX);
        assert_eq!(whole.len(), 1);
        let lines: Vec<u8> = (0..5)
            .flat_map(|i| format!("{{\"line\":{i}}}\n").into_bytes())
            .collect();
        assert_eq!(
            whole[0].tag,
            records::content_tag(&lines),
            "the digest streams"
        );
        assert_eq!(records::gunzip_if_gzip(&whole[0].body).unwrap(), lines);
        // Two records of 11 bytes fill a part of 20.
        let split = parts(20);
        let shape: Vec<(&str, usize, &[usize])> = split
            .iter()
            .map(|p| (p.first_sequence.as_str(), p.lines, p.records.as_slice()))
            .collect();
        assert_eq!(
            shape,
            [
                ("10", 2, &[0, 1][..]),
                ("12", 2, &[2, 3][..]),
                ("14", 1, &[4][..])
            ]
        );
        let again = parts(20);
        let tags = |p: &[Finished]| p.iter().map(|f| f.tag.clone()).collect::<Vec<_>>();
        assert_eq!(tags(&split), tags(&again), "the same input, the same keys");
        let joined: Vec<u8> = split
            .iter()
            .flat_map(|p| records::gunzip_if_gzip(&p.body).unwrap())
            .collect();
        assert_eq!(joined, lines);
    }
}
