//! The outage drill: the seed's night, rehearsed on one machine (feature `local`).
//!
//! Both regions are built from the [`local`](super::local) stand-ins with the spec's numbers
//! ([`DrillConfig`], written by `ingest drill` from the plan), wired as `ingest dev` wires them
//! ([`LocalServices`], [`LocalPipeline`]), and run the real handlers on a simulated clock:
//!
//! 1. A client sends the records evenly over the send window, each to a region picked by the
//!    Route 53 weights among the regions DNS would answer with; a refused request (the region
//!    is down) is sent again with backoff, as a client does, and may land in the other region.
//!    A body longer than `api.max_event_bytes` characters is refused with 413 and not retried.
//! 2. A quarter into the window the primary region goes down, as [`DrillConfig::outage`]
//!    says: by default a brownout (its S3 and KMS fail; its API and stream work, so it accepts
//!    requests until the drain, and Lambda keeps invoking the validator, every invocation
//!    failing and ageing the records it holds), or calls that hang until the SDK's timeout, or
//!    the whole region (stream reads included). The health check notices after
//!    `interval x threshold`, and the operator drains the primary a minute in; from then on
//!    everything goes to the secondary, whose receiver spools it, and whose bridge keeps
//!    failing to hand it over: the SQS retry budget is what carries the night. The fault modes
//!    of [`DrillFaults`] add a spool-bucket outage (Firehose's 24 h), late and duplicated S3
//!    notifications and hostile records; Firehose throttles at the spec's quota.
//! 3. After `outage_seconds` the primary comes back and is restored; its own stream catches
//!    up, and the bridge delivers the backlog as messages become visible again: with the
//!    spec's redelivery schedule (`bridge_redelivery`), each failed message came back after a
//!    delay growing to the schedule's cap, so the backlog drains within about one cap of the
//!    restore ([`DrillReport::backlog_drain_seconds`]); without it, within the queue's
//!    visibility timeout.
//! 4. When everything is quiet, the good and quarantine buckets are read back and every
//!    event sent is looked for, by its bytes: [`DrillReport::lost`] counts the accepted events
//!    found in neither (it must be 0), `duplicates` counts the extra good copies per
//!    `(source, id)`, and `altered` the good lines whose event differs from what was sent.
//!    Each lost record is named with the buffer that dropped it ([`LostRecord`], from what the
//!    stand-ins kept of what they dropped: trimmed and parked stream records, Firehose's
//!    discards, expired and dead-lettered notifications, whose spool objects are read back),
//!    and [`DrillReport::margins`] says how close each buffer came to dropping what it
//!    delivered ([`BufferMargin`]).
//!
//! 5. With [`DrillConfig::flood`], the flood phase ([`flood`]): one hostile address floods
//!    the primary's public routes through a model of the web ACL, the stage and method
//!    throttles and the health checkers; the drill fails if it starves the honest clients or
//!    moves the health verdict or the lever ([`DrillReport::flood`]).
//!
//! Every run with the same inputs gives the same report except `wall_ms`.

pub mod flood;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::local::{
    FIREHOSE_RETENTION, LocalPipeline, LocalServices, LocalStore, Outage, ParkReason,
    PipelineSettings, RegionSettings, Rng, Role, SimClock, exceeds_event_limit,
};
use super::records::{
    QuarantineLine, SpoolRecord, decode_s3_key, event_fields, gunzip_if_gzip, split_good_line,
};
use crate::envelope::Registry;
use crate::json::{Kind, Parser};

/// One region of the drill.
pub type DrillRegion = RegionSettings;

/// How the drill's clients send a refused request again: after `first_ms`, doubling up to
/// `max_ms`, at most `retries` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRetry {
    /// The first wait.
    pub first_ms: u64,
    /// The longest wait.
    pub max_ms: u64,
    /// Times a request is sent again before the client gives up.
    pub retries: u32,
}

impl ClientRetry {
    /// The wait after try `attempt` (0 for the first) was refused.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        self.first_ms
            .saturating_mul(1u64 << attempt.min(16))
            .min(self.max_ms)
    }
}

/// The drill's clients: a second, doubling to 30 s, 60 times (about half an hour).
pub const CLIENT_RETRY: ClientRetry = ClientRetry {
    first_ms: 1000,
    max_ms: 30_000,
    retries: 60,
};

/// The spec's numbers the drill runs with (built by `ingest drill` from the plan): the
/// pipeline's, as `ingest dev` gets them, and the drill's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillConfig {
    /// Both regions' numbers.
    pub pipeline: PipelineSettings,
    /// Whether health checks take an unhealthy region out of DNS.
    pub failover_automatic: bool,
    /// Health check interval.
    pub health_interval_seconds: u64,
    /// Health check failures before unhealthy.
    pub health_failure_threshold: u64,
    /// Events per second the client sends at most.
    pub peak_events_per_second: u64,
    /// How long the primary is down.
    pub outage_seconds: u64,
    /// Seed of the client's choices.
    pub seed: u64,
    /// When the drill starts (RFC 3339); default 2020-11-25T13:00:00Z, the seed's night.
    #[serde(default)]
    pub start: Option<String>,
    /// Anything the caller wants echoed in the report (how the events were made).
    #[serde(default)]
    pub notes: serde_json::Value,
    /// The flood phase, if any.
    #[serde(default)]
    pub flood: Option<flood::FloodConfig>,
    /// How the primary is down during the outage (default: a brownout, Lambda still polling).
    #[serde(default)]
    pub outage: Outage,
    /// The fault modes added to the outage.
    #[serde(default)]
    pub faults: DrillFaults,
    /// The thresholds of the stacks' alarms on the buffers, to report which would have fired.
    #[serde(default)]
    pub alarms: Option<AlarmThresholds>,
}

/// Fault modes of the drill, on top of the outage ([`DrillConfig::faults`]); all off by
/// default. Each models what AWS documents can happen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DrillFaults {
    /// The spool bucket fails (the secondary's S3 or KMS) for this long from the outage's
    /// start: Firehose keeps what it cannot deliver, and discards it after 24 hours.
    pub spool_s3_down_seconds: u64,
    /// Each S3 notification of a spool object arrives up to this late (seeded, uniform).
    pub notification_delay_seconds: u64,
    /// This many per thousand notifications arrive twice.
    pub duplicate_notifications_per_mille: u32,
    /// Hostile records sent among the others, in rounds of three: an array of as many `{}` as
    /// `api.max_event_bytes` holds, an array nested as deep as it holds, and a body that is
    /// not UTF-8. Each must end in quarantine, at about the cost of a record of its size.
    pub hostile_records: usize,
}

/// The hostile records of [`DrillFaults::hostile_records`]: `count` of them, each at most
/// `max_bytes` long, cycling through the three kinds.
pub fn hostile_records(count: usize, max_bytes: usize) -> Vec<Vec<u8>> {
    let size = max_bytes.max(8);
    (0..count)
        .map(|i| match i % 3 {
            0 => {
                let n = (size - 1) / 3;
                let mut body = Vec::with_capacity(size);
                body.push(b'[');
                for k in 0..n {
                    if k > 0 {
                        body.push(b',');
                    }
                    body.extend_from_slice(b"{}");
                }
                body.push(b']');
                body
            }
            1 => {
                let depth = (size - 2) / 2;
                let mut body = vec![b'['; depth];
                body.extend(std::iter::repeat_n(b']', depth));
                body
            }
            _ => {
                let mut body = format!("{{\"round\":{i},\"bytes\":\"").into_bytes();
                body.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28, 0x80]);
                body.extend_from_slice(b"\"}");
                body
            }
        })
        .collect()
}

/// Why an accepted record ended in neither good nor quarantine: the buffer that dropped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossReason {
    /// A stream's retention trimmed it before its mapping read it.
    StreamRetention,
    /// A mapping gave up on it after its maximum record age (it is in the failed-batches
    /// bucket, outside good and quarantine).
    RecordAge,
    /// A mapping gave up on it after its maximum retries (failed-batches bucket).
    Retries,
    /// Firehose could not deliver it to the spool bucket for 24 hours and discarded it.
    FirehoseDiscard,
    /// The spool queue's retention deleted its notification.
    QueueRetention,
    /// Its notification went to the dead-letter queue.
    DeadLetter,
    /// The drill stopped (its horizon) with it still in a buffer.
    StillBuffered,
    /// No buffer reports dropping it.
    Unknown,
}

impl LossReason {
    /// The reason's name.
    pub fn as_str(self) -> &'static str {
        match self {
            LossReason::StreamRetention => "stream-retention",
            LossReason::RecordAge => "record-age",
            LossReason::Retries => "retries",
            LossReason::FirehoseDiscard => "firehose-discard",
            LossReason::QueueRetention => "queue-retention",
            LossReason::DeadLetter => "dead-letter",
            LossReason::StillBuffered => "still-buffered",
            LossReason::Unknown => "unknown",
        }
    }
}

/// One accepted record that ended in neither good nor quarantine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostRecord {
    /// Its index among the records sent.
    pub record: usize,
    /// Its events lost.
    pub events: usize,
    /// Why.
    pub reason: LossReason,
    /// Where: `primary` or `secondary` (the stream, or the spool path).
    pub region: String,
    /// When the buffer dropped it (simulated seconds from the start), if known.
    pub at_s: Option<f64>,
    /// Its first bytes (lossy UTF-8, at most 80).
    pub preview: String,
}

/// How close one buffer came to dropping something it delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BufferMargin {
    /// What the limit counts: `seconds` or `receives`.
    pub unit: String,
    /// The buffer's limit in that unit.
    pub limit: f64,
    /// The least left of it when an element left the buffer (`None`: nothing passed through).
    pub least_left: Option<f64>,
    /// When (simulated seconds from the start).
    pub at_s: Option<f64>,
}

/// The thresholds of the stacks' alarms that watch the buffers (the plan's, through
/// `ingest drill`): what the report's [`DrillReport::alarms`] judges the run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmThresholds {
    /// A mapping's `IteratorAge` that says a shard is stalled.
    pub stalled_iterator_age_seconds: u64,
    /// A mapping's `IteratorAge` that says records are near being given up.
    pub expiry_iterator_age_seconds: u64,
    /// Firehose's `DeliveryToS3.DataFreshness` that warns.
    pub spool_freshness_seconds: u64,
    /// Firehose's `DeliveryToS3.DataFreshness` that is critical.
    pub spool_freshness_critical_seconds: u64,
}

/// An alarm of the stacks that the run would have set off: its metric went to `peak`, at or
/// beyond `threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillAlarm {
    /// The alarm, as the stacks describe it.
    pub alarm: String,
    /// What it watches (`seconds` of age, or a `count`).
    pub unit: String,
    /// Its threshold.
    pub threshold: f64,
    /// The largest value the run gave it.
    pub peak: f64,
    /// When (simulated seconds from the start): an age at its peak, a count at its first.
    pub at_s: Option<f64>,
}

/// The alarms on the buffers that the run would have set off, from the buffers' margins (the
/// oldest record each delivered or dropped) and what ended parked or dead-lettered. The stacks
/// alarm on a mapping's `IteratorAge`, on records given up to the failed bucket
/// (`OnFailureDestinationDeliveredEventCount`), on a non-empty dead-letter queue and on
/// Firehose's `DataFreshness`; the drill judges the same metrics it models.
fn alarms(
    thresholds: &AlarmThresholds,
    margins: &BTreeMap<String, BufferMargin>,
    pipeline: &LocalPipeline<'_>,
    services: &LocalServices,
    start: DateTime<Utc>,
) -> Vec<DrillAlarm> {
    let seconds_from_start = |at: DateTime<Utc>| (at - start).num_milliseconds() as f64 / 1000.0;
    // The oldest element a buffer held: its limit less the least that was left.
    let peak_age = |buffer: &str| {
        margins.get(buffer).and_then(|margin| {
            margin
                .least_left
                .map(|left| (margin.limit - left, margin.at_s))
        })
    };
    let mut fired = Vec::new();
    let mut age_alarm = |alarm: String, buffer: &str, threshold: u64| {
        if let Some((peak, at_s)) = peak_age(buffer)
            && peak >= threshold as f64
        {
            fired.push(DrillAlarm {
                alarm,
                unit: "seconds".to_owned(),
                threshold: threshold as f64,
                peak,
                at_s,
            });
        }
    };
    for role in Role::BOTH {
        let buffer = format!("{} mapping record age", role.as_str());
        age_alarm(
            format!("{} mapping IteratorAge: a shard is stalled", role.as_str()),
            &buffer,
            thresholds.stalled_iterator_age_seconds,
        );
        age_alarm(
            format!(
                "{} mapping IteratorAge: records near being given up",
                role.as_str()
            ),
            &buffer,
            thresholds.expiry_iterator_age_seconds,
        );
    }
    age_alarm(
        "spool DeliveryToS3.DataFreshness".to_owned(),
        "firehose 24 h",
        thresholds.spool_freshness_seconds,
    );
    age_alarm(
        "spool DeliveryToS3.DataFreshness: critical".to_owned(),
        "firehose 24 h",
        thresholds.spool_freshness_critical_seconds,
    );
    for (role, mapping) in [
        (Role::Primary, &pipeline.primary_mapping),
        (Role::Secondary, &pipeline.secondary_mapping),
    ] {
        if let Some(first) = mapping.parked.iter().map(|parked| parked.at).min() {
            fired.push(DrillAlarm {
                alarm: format!(
                    "{} mapping OnFailureDestinationDeliveredEventCount: records given up to the failed bucket",
                    role.as_str()
                ),
                unit: "count".to_owned(),
                threshold: 1.0,
                peak: mapping.parked.len() as f64,
                at_s: Some(seconds_from_start(first)),
            });
        }
    }
    let dead = services.queue.dead_letter_messages();
    if let Some(first) = dead.iter().map(|message| message.sent_at).min() {
        fired.push(DrillAlarm {
            alarm: "bridge dead-letter queue ApproximateNumberOfMessagesVisible".to_owned(),
            unit: "count".to_owned(),
            threshold: 1.0,
            peak: dead.len() as f64,
            at_s: Some(seconds_from_start(first)),
        });
    }
    fired
}

/// The timeline, in seconds from the start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The send window.
    pub send_window_s: f64,
    /// The primary goes down.
    pub outage_start_s: f64,
    /// The health checks take the primary out of DNS (automatic failover), if they do.
    pub unhealthy_s: Option<f64>,
    /// The operator drains the primary.
    pub drained_s: f64,
    /// The primary is back and restored.
    pub restored_s: f64,
    /// The last object written.
    pub last_write_s: f64,
    /// Simulated time at the end.
    pub end_s: f64,
}

/// The bridge's side of the night.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeSummary {
    /// Spool objects written.
    pub spool_objects: u64,
    /// Messages received by the bridge (retries included).
    pub receives: u64,
    /// `Invoke` calls of the validator.
    pub invokes: u64,
    /// `s3:TestEvent` messages skipped.
    pub test_events_skipped: u64,
    /// Messages that reached the DLQ.
    pub dead_letters: u64,
    /// Messages dropped by queue retention.
    pub queue_expired: u64,
    /// Spool entries Firehose refused over its throughput quota (the receiver retried them).
    #[serde(default)]
    pub spool_throttled: u64,
    /// Spool records Firehose discarded after 24 hours undelivered.
    #[serde(default)]
    pub spool_discarded: u64,
    /// Spool notifications delivered twice.
    #[serde(default)]
    pub duplicate_notifications: u64,
    /// Failed messages the bridge gave their next delay (`ChangeMessageVisibility`).
    pub visibility_changes: u64,
    /// The longest retry delay of the schedule, if the bridge paced its failures.
    pub max_delay_seconds: Option<u64>,
}

/// The drill's report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillReport {
    /// The spec's name.
    pub spec: String,
    /// Records (request bodies) sent.
    pub records: usize,
    /// Events sent (a batch record counts each element).
    pub sent: usize,
    /// Events whose request was accepted by a region.
    pub accepted: usize,
    /// Events refused with 413 (body over `api.max_event_bytes`): never accepted, so not lost.
    pub refused: usize,
    /// Events the client gave up on after many refused tries.
    pub gave_up: usize,
    /// Accepted events in good.
    pub good: usize,
    /// Accepted events in quarantine (and not in good).
    pub quarantined: usize,
    /// Accepted events found in neither.
    pub lost: usize,
    /// Lost events per reason.
    #[serde(default)]
    pub lost_reasons: BTreeMap<String, usize>,
    /// Every accepted record found in neither, and why.
    #[serde(default)]
    pub lost_records: Vec<LostRecord>,
    /// How close each buffer came to dropping what it delivered.
    #[serde(default)]
    pub margins: BTreeMap<String, BufferMargin>,
    /// The stacks' alarms on the buffers that the run would have set off (empty without
    /// [`DrillConfig::alarms`]).
    #[serde(default)]
    pub alarms: Vec<DrillAlarm>,
    /// Extra good lines per `(source, id)`.
    pub duplicates: usize,
    /// Extra quarantine lines per event.
    pub quarantine_duplicates: usize,
    /// Good lines whose event is not byte for byte one that was sent.
    pub altered: usize,
    /// Events accepted per region role.
    pub accepted_by_region: BTreeMap<String, usize>,
    /// Quarantine lines per reason kind.
    pub quarantine_reasons: BTreeMap<String, usize>,
    /// Good lines per `ingest.via`.
    pub good_by_via: BTreeMap<String, usize>,
    /// Seconds from the primary's restore to the last object written (simulated; the client
    /// may still be sending then).
    pub drain_seconds: f64,
    /// Seconds from the restore until every spool message queued before it had left the queue
    /// (delivered, or moved to the DLQ: see `bridge.dead_letters`); 0 when none was queued,
    /// `None` without an outage. The pacing of failed messages decides it.
    pub backlog_drain_seconds: Option<f64>,
    /// Records the primary's mapping sent to its on-failure destination.
    pub parked: u64,
    /// Records lost to stream retention.
    pub expired: u64,
    /// The bridge.
    pub bridge: BridgeSummary,
    /// The timeline (simulated seconds).
    pub timeline: Timeline,
    /// Objects read back: good and quarantine.
    pub objects: BTreeMap<String, usize>,
    /// Where the buckets were written, when kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
    /// Wall-clock milliseconds the drill took.
    pub wall_ms: u128,
    /// The flood phase, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flood: Option<flood::FloodReport>,
    /// The caller's notes.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub generated: serde_json::Value,
}

impl DrillReport {
    /// Whether the drill passed: no accepted event was lost, and the flood (if it ran)
    /// starved no honest client and moved neither the health verdict nor the lever.
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.flood.as_ref().is_none_or(flood::FloodReport::held)
    }

    /// One line for people: whether anything was lost, and the numbers that say so.
    pub fn verdict(&self) -> String {
        let flood_failure = self.flood.as_ref().filter(|f| !f.held()).map(|f| {
            let mut what = Vec::new();
            if f.starved() || f.honest_gave_up > 0 {
                what.push(format!(
                    "starved the honest clients ({:.0}/s accepted of the {:.0}/s the stage leaves them, {} given up)",
                    f.honest_accepted_per_second, f.stage_leaves_per_second, f.honest_gave_up
                ));
            }
            if f.health_verdict_changes > 0 {
                what.push(format!(
                    "moved the primary's health verdict {} times",
                    f.health_verdict_changes
                ));
            }
            if f.lever_changes > 0 {
                what.push(format!("moved the lever {} times", f.lever_changes));
            }
            what.extend(f.swarm_failure());
            what.extend(f.rotation_failure());
            what.join(" and ")
        });
        let outcome = if self.lost == 0 && flood_failure.is_some() {
            format!(
                "drill FAILED: the flood phase {}",
                flood_failure.unwrap_or_default()
            )
        } else if self.passed() && self.flood.is_some() {
            let accepted = self
                .flood
                .as_ref()
                .and_then(|f| f.rotation.as_ref())
                .is_some_and(|r| r.fills_stream && r.accepted.is_some());
            format!(
                "drill passed: nothing accepted was lost, and the flood phase starved no one and moved nothing{}",
                if accepted {
                    " (but for the pool of fresh addresses during WAF's mitigation lag, which fills the smaller stream as the spec accepts)"
                } else {
                    ""
                }
            )
        } else if self.passed() {
            "drill passed: nothing accepted was lost".to_owned()
        } else {
            format!(
                "drill FAILED: {} accepted event{} lost",
                self.lost,
                if self.lost == 1 { " was" } else { "s were" }
            )
        };
        format!(
            "{outcome} ({} of {} events accepted, {} good, {} quarantined, {} duplicate{}; drained {:.0} s after the primary came back)",
            self.accepted,
            self.sent,
            self.good,
            self.quarantined,
            self.duplicates,
            if self.duplicates == 1 { "" } else { "s" },
            self.drain_seconds
        )
    }

    /// The report for people: what happened, a line per part of the system, and the verdict.
    pub fn render(&self) -> String {
        let list = |map: &BTreeMap<String, usize>| {
            if map.is_empty() {
                "none".to_owned()
            } else {
                map.iter()
                    .map(|(key, n)| format!("{key} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let t = &self.timeline;
        let mut text = format!(
            "drill of {}: the primary is down from {:.0} s to {:.0} s (simulated; drained from DNS at {:.0} s)\n",
            self.spec, t.outage_start_s, t.restored_s, t.drained_s
        );
        let rows = [
            (
                "sent",
                format!(
                    "{} events in {} records; {} refused as too large, {} given up by the client",
                    self.sent, self.records, self.refused, self.gave_up
                ),
            ),
            (
                "accepted",
                format!("{} ({})", self.accepted, list(&self.accepted_by_region)),
            ),
            (
                "delivered",
                format!(
                    "{} good ({}), {} quarantined ({}), {} lost ({})",
                    self.good,
                    list(&self.good_by_via),
                    self.quarantined,
                    list(&self.quarantine_reasons),
                    self.lost,
                    list(&self.lost_reasons)
                ),
            ),
            (
                "copies",
                format!(
                    "{} duplicate good lines by (source, id), {} duplicate quarantine lines, {} altered",
                    self.duplicates, self.quarantine_duplicates, self.altered
                ),
            ),
            (
                "bridge",
                format!(
                    "{} spool objects, {} receives, {} invokes, {} dead letters, {} expired; Firehose throttled {} entries, discarded {}; {} duplicate notifications",
                    self.bridge.spool_objects,
                    self.bridge.receives,
                    self.bridge.invokes,
                    self.bridge.dead_letters,
                    self.bridge.queue_expired,
                    self.bridge.spool_throttled,
                    self.bridge.spool_discarded,
                    self.bridge.duplicate_notifications
                ),
            ),
            (
                "parked",
                format!(
                    "{} records sent to the validator's on-failure destination, {} expired from a stream",
                    self.parked, self.expired
                ),
            ),
            (
                "time",
                format!(
                    "the spool's backlog left the queue {} after the primary came back, the last object was written {:.0} s after; {:.0} s simulated in {:.1} s",
                    self.backlog_drain_seconds
                        .map_or_else(|| "-".to_owned(), |seconds| format!("{seconds:.0} s")),
                    self.drain_seconds,
                    t.end_s,
                    self.wall_ms as f64 / 1000.0
                ),
            ),
        ];
        for (name, value) in rows {
            text.push_str(&format!("  {name:<10} {value}\n"));
        }
        for lost in &self.lost_records {
            text.push_str(&format!(
                "  {:<10} record {} ({} event{}) in the {} path: {}{}: {}\n",
                "lost",
                lost.record,
                lost.events,
                if lost.events == 1 { "" } else { "s" },
                if lost.region.is_empty() {
                    "?"
                } else {
                    &lost.region
                },
                lost.reason.as_str(),
                lost.at_s
                    .map_or_else(String::new, |at| format!(" at {at:.0} s")),
                lost.preview.escape_debug()
            ));
        }
        for (buffer, margin) in &self.margins {
            let left = margin.least_left.map_or_else(
                || "nothing passed through".to_owned(),
                |left| {
                    format!(
                        "at least {left:.0} of {:.0} {} left{}",
                        margin.limit,
                        margin.unit,
                        margin
                            .at_s
                            .map_or_else(String::new, |at| format!(" (closest at {at:.0} s)"))
                    )
                },
            );
            text.push_str(&format!("  {:<10} {buffer}: {left}\n", "margin"));
        }
        for alarm in &self.alarms {
            text.push_str(&format!(
                "  {:<10} {}: {:.0} {} (threshold {:.0}){}\n",
                "alarm",
                alarm.alarm,
                alarm.peak,
                alarm.unit,
                alarm.threshold,
                alarm
                    .at_s
                    .map_or_else(String::new, |at| format!(", at {at:.0} s"))
            ));
        }
        for (name, value) in self.flood.iter().flat_map(flood::FloodReport::rows) {
            text.push_str(&format!("  {name:<10} {value}\n"));
        }
        if let Some(out) = &self.output {
            text.push_str(&format!("  {:<10} {}\n", "buckets", out.display()));
        }
        text.push_str(&self.verdict());
        text.push('\n');
        text
    }
}

#[derive(Debug, Clone)]
struct SentEvent {
    record: usize,
    accepted: bool,
    good: usize,
    quarantined: usize,
}

/// How bytes are compared: trimmed, with raw line breaks as spaces (as good lines keep them).
fn normalize(bytes: &[u8]) -> Vec<u8> {
    bytes
        .trim_ascii()
        .iter()
        .map(|b| if matches!(b, b'\n' | b'\r') { b' ' } else { *b })
        .collect()
}

/// The events of a record: the elements of an array, else the record itself.
fn split_record(record: &[u8]) -> Vec<&[u8]> {
    let mut p = Parser::new(record);
    if p.peek() == Ok(Kind::Array) {
        let mut spans = Vec::new();
        let read = (|| {
            p.begin_array()?;
            let mut first = true;
            while p.next_element(&mut first)? {
                p.peek()?;
                let start = p.offset();
                p.skip_value()?;
                spans.push((start, p.offset()));
            }
            p.finish()
        })();
        if read.is_ok() && !spans.is_empty() {
            return spans.into_iter().map(|(s, e)| &record[s..e]).collect();
        }
    }
    vec![record]
}

/// The seconds of a duration as a float.
fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Runs the drill. `out` keeps the buckets as files there; without it they live in memory.
pub fn run(
    registry: &Registry,
    config: &DrillConfig,
    records: &[Vec<u8>],
    out: Option<&Path>,
) -> DrillReport {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime without I/O or timers always builds");
    runtime.block_on(run_async(registry, config, records, out))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Send {
    at_ms: u64,
    record: usize,
    attempt: u32,
}

#[allow(clippy::too_many_lines)]
async fn run_async(
    registry: &Registry,
    config: &DrillConfig,
    records: &[Vec<u8>],
    out: Option<&Path>,
) -> DrillReport {
    let wall = Instant::now();
    let hostile = hostile_records(
        config.faults.hostile_records,
        config.pipeline.max_event_bytes,
    );
    let records: Vec<&[u8]> = records
        .iter()
        .map(Vec::as_slice)
        .chain(hostile.iter().map(Vec::as_slice))
        .collect();
    let records = records.as_slice();
    let start = config
        .start
        .as_deref()
        .and_then(super::records::parse_timestamp)
        .unwrap_or_else(|| {
            DateTime::parse_from_rfc3339("2020-11-25T13:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        });
    let clock = SimClock::new(start);
    let name = &config.pipeline.name;
    let store = match out {
        Some(dir) => LocalStore::dir(dir),
        None => LocalStore::memory(),
    };
    let services = LocalServices::new(config.pipeline.clone(), clock.clone(), store);
    let mut pipeline = LocalPipeline::new(&services, registry);
    let faults = &config.faults;
    if faults.notification_delay_seconds > 0 || faults.duplicate_notifications_per_mille > 0 {
        pipeline.spool.set_notifications(
            config.seed,
            Duration::from_secs(faults.notification_delay_seconds),
            faults.duplicate_notifications_per_mille,
        );
    }
    let store = &services.store;
    let good_bucket = services.settings.good_bucket();
    let quarantine_bucket = services.settings.quarantine_bucket();

    // What was sent, for reading the buckets back.
    let mut events: Vec<SentEvent> = Vec::new();
    let mut record_events: Vec<Vec<usize>> = Vec::new();
    let mut by_bytes: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    // Per bytes, how many of its events a good line (a quarantine line) claimed so far:
    // identical events sent many times are claimed in order, without a scan.
    let mut good_claimed: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut quarantine_claimed: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut record_by_bytes: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    let mut record_claimed: HashMap<Vec<u8>, usize> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let mut ids = Vec::new();
        for event in split_record(record) {
            let id = events.len();
            events.push(SentEvent {
                record: index,
                accepted: false,
                good: 0,
                quarantined: 0,
            });
            by_bytes.entry(normalize(event)).or_default().push(id);
            ids.push(id);
        }
        record_by_bytes
            .entry(normalize(record))
            .or_default()
            .push(index);
        record_events.push(ids);
    }

    // The timeline.
    let rate = config.peak_events_per_second.max(1) as f64;
    let window = (events.len() as f64 / rate)
        .max(2.0 * config.outage_seconds as f64)
        .max(1.0);
    let ms = |s: f64| (s * 1000.0).round() as u64;
    let outage_start = ms(window / 4.0);
    let outage_end = outage_start + config.outage_seconds * 1000;
    let has_outage = config.outage_seconds > 0;
    let detection = config.health_interval_seconds * config.health_failure_threshold * 1000;
    let unhealthy_at =
        (has_outage && config.failover_automatic).then_some(outage_start + detection);
    let drained_at = outage_start + 60_000;
    let mut report = DrillReport {
        spec: name.clone(),
        records: records.len(),
        sent: events.len(),
        generated: config.notes.clone(),
        output: out.map(Path::to_path_buf),
        ..DrillReport::default()
    };
    report.timeline.send_window_s = window;
    report.timeline.outage_start_s = outage_start as f64 / 1000.0;
    report.timeline.unhealthy_s = unhealthy_at.map(|t| t as f64 / 1000.0);
    report.timeline.drained_s = drained_at as f64 / 1000.0;
    report.timeline.restored_s = outage_end as f64 / 1000.0;

    let mut sends: BinaryHeap<Reverse<Send>> = (0..records.len())
        .map(|record| {
            Reverse(Send {
                at_ms: ms(window * record as f64 / records.len().max(1) as f64),
                record,
                attempt: 0,
            })
        })
        .collect();
    let mut rng = Rng::new(config.seed);
    let mut down = false;
    let mut spool_down = false;
    let spool_down_end = outage_start + faults.spool_s3_down_seconds * 1000;
    let mut last_puts = store.puts();
    let mut last_write_ms = 0u64;
    // The spool messages queued when the primary is restored, until they have all left.
    let mut backlog: Option<Vec<String>> = None;
    let mut backlog_drained_ms: Option<u64> = None;
    let mut stopped_at_horizon = false;
    let horizon_ms = outage_end
        + faults.spool_s3_down_seconds * 1000
        + faults.notification_delay_seconds * 1000
        + ms(window)
        + (config
            .pipeline
            .visibility_timeout_seconds
            .saturating_mul(config.pipeline.max_receive_count)
            + config.pipeline.queue_retention_seconds
            + 7200)
            * 1000;
    loop {
        let now_ms = clock.elapsed().as_millis() as u64;
        // The outage.
        let should_be_down = has_outage && now_ms >= outage_start && now_ms < outage_end;
        if should_be_down != down {
            down = should_be_down;
            services.set_outage(Role::Primary, down.then_some(config.outage));
        }
        let spool_should_be_down =
            faults.spool_s3_down_seconds > 0 && now_ms >= outage_start && now_ms < spool_down_end;
        if spool_should_be_down != spool_down {
            spool_down = spool_should_be_down;
            services.set_bucket_down(&services.settings.spool_bucket(), spool_down);
        }
        if has_outage && now_ms >= outage_end && backlog.is_none() {
            backlog = Some(services.queue.ids());
        }
        // The client.
        let drained = has_outage && now_ms >= drained_at && now_ms < outage_end;
        let unhealthy =
            unhealthy_at.is_some_and(|t| now_ms >= t && now_ms < outage_end + detection);
        let primary_in_dns = !drained && !unhealthy;
        while let Some(Reverse(send)) = sends.peek().copied() {
            if send.at_ms > now_ms {
                break;
            }
            sends.pop();
            let body = records[send.record];
            let total = config.pipeline.primary.weight + config.pipeline.secondary.weight;
            let to_primary = if !primary_in_dns {
                false
            } else if total == 0 {
                rng.below(2) == 0
            } else {
                rng.below(total) < config.pipeline.primary.weight
            };
            let role = if to_primary {
                Role::Primary
            } else {
                Role::Secondary
            };
            if exceeds_event_limit(body, config.pipeline.max_event_bytes) {
                report.refused += record_events[send.record].len();
                continue;
            }
            let partition_key = format!("{:016x}", rng.next_u64());
            match services.stream(role).put_record(body, &partition_key) {
                Ok(_) => {
                    for &id in &record_events[send.record] {
                        events[id].accepted = true;
                    }
                    *report
                        .accepted_by_region
                        .entry(role.as_str().to_owned())
                        .or_default() += record_events[send.record].len();
                }
                Err(_) if send.attempt >= CLIENT_RETRY.retries => {
                    report.gave_up += record_events[send.record].len();
                }
                Err(_) => {
                    sends.push(Reverse(Send {
                        at_ms: now_ms + CLIENT_RETRY.backoff_ms(send.attempt),
                        record: send.record,
                        attempt: send.attempt + 1,
                    }));
                }
            }
        }
        // The pipeline.
        pipeline.step().await;
        if store.puts() != last_puts {
            last_puts = store.puts();
            last_write_ms = clock.elapsed().as_millis() as u64;
        }
        if let (Some(waiting), None) = (&backlog, backlog_drained_ms) {
            let queued = services.queue.ids();
            if !waiting.iter().any(|id| queued.contains(id)) {
                backlog_drained_ms = Some(clock.elapsed().as_millis() as u64);
            }
        }
        // Done?
        let now_ms = clock.elapsed().as_millis() as u64;
        let busy = pipeline.busy();
        let quiet = sends.is_empty() && pipeline.quiet();
        if quiet && (!has_outage || now_ms >= outage_end) {
            break;
        }
        if now_ms > horizon_ms {
            stopped_at_horizon = true;
            break;
        }
        // Next step: a second later while there is work, else straight to the next thing due.
        let mut next = now_ms + 1000;
        if !busy {
            let mut candidates = vec![horizon_ms + 1];
            if let Some(Reverse(send)) = sends.peek() {
                candidates.push(send.at_ms);
            }
            if let Some(at) = pipeline.next_due() {
                candidates.push(u64::try_from((at - start).num_milliseconds()).unwrap_or(0));
            }
            if has_outage {
                candidates.extend(
                    [outage_start, outage_end, drained_at, spool_down_end]
                        .into_iter()
                        .filter(|t| *t > now_ms),
                );
            }
            next = candidates
                .into_iter()
                .min()
                .unwrap_or(next)
                .max(now_ms + 1000);
        }
        clock.advance_to(Duration::from_millis(next));
    }
    report.timeline.last_write_s = last_write_ms as f64 / 1000.0;
    report.timeline.end_s = secs(clock.elapsed());
    report.drain_seconds = if has_outage {
        (last_write_ms.saturating_sub(outage_end)) as f64 / 1000.0
    } else {
        0.0
    };
    report.backlog_drain_seconds =
        backlog_drained_ms.map(|at| at.saturating_sub(outage_end) as f64 / 1000.0);

    // Read the buckets back.
    let mut good_keys: HashMap<(String, String), usize> = HashMap::new();
    let good_objects = store.list(&good_bucket, "events/");
    for key in &good_objects {
        let Some(text) = store
            .read(&good_bucket, key)
            .and_then(|b| gunzip_if_gzip(&b).ok())
        else {
            continue;
        };
        for line in text
            .split(|b| *b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
        {
            let Some((event, ingest)) = split_good_line(line) else {
                report.altered += 1;
                continue;
            };
            let via = serde_json::from_slice::<serde_json::Value>(&[b"{", ingest, b"}"].concat())
                .ok()
                .and_then(|v| v["ingest"]["via"].as_str().map(str::to_owned))
                .unwrap_or_default();
            *report.good_by_via.entry(via).or_default() += 1;
            let fields = event_fields(&event);
            if let (Some(source), Some(id)) = (fields.source, fields.id) {
                let copies = good_keys.entry((source, id)).or_default();
                *copies += 1;
                if *copies > 1 {
                    report.duplicates += 1;
                }
            }
            let bytes = normalize(&event);
            match by_bytes.get(&bytes) {
                // Identical events sent several times: each line claims one that has none yet.
                Some(ids) => {
                    let claimed = good_claimed.entry(bytes).or_default();
                    let id = ids.get(*claimed).copied().unwrap_or(ids[0]);
                    *claimed += 1;
                    events[id].good += 1;
                }
                None => report.altered += 1,
            }
        }
    }
    let quarantine_objects = store.list(&quarantine_bucket, "");
    for key in &quarantine_objects {
        let Some(text) = store
            .read(&quarantine_bucket, key)
            .and_then(|b| gunzip_if_gzip(&b).ok())
        else {
            continue;
        };
        for line in text
            .split(|b| *b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
        {
            let Ok(line) = serde_json::from_slice::<QuarantineLine>(line) else {
                continue;
            };
            *report
                .quarantine_reasons
                .entry(line.kind.clone())
                .or_default() += 1;
            let original = normalize(&line.original_bytes().unwrap_or_default());
            let ids: Vec<usize> = match by_bytes.get(&original) {
                // Identical bytes sent several times: each line claims one that has none yet.
                Some(ids) => {
                    let claimed = quarantine_claimed.entry(original.clone()).or_default();
                    let id = ids.get(*claimed).copied().unwrap_or(ids[0]);
                    *claimed += 1;
                    vec![id]
                }
                // A line for a whole record (a batch quarantined as one): identical records
                // sent several times are claimed in order too.
                None => match record_by_bytes.get(&original) {
                    Some(records) => {
                        let claimed = record_claimed.entry(original.clone()).or_default();
                        let record = records.get(*claimed).copied().unwrap_or(records[0]);
                        *claimed += 1;
                        record_events[record].clone()
                    }
                    None => Vec::new(),
                },
            };
            for id in ids {
                events[id].quarantined += 1;
                if events[id].quarantined > 1 {
                    report.quarantine_duplicates += 1;
                }
            }
        }
    }
    report.objects.insert("good".to_owned(), good_objects.len());
    report
        .objects
        .insert("quarantine".to_owned(), quarantine_objects.len());
    let fates = fates(&services, &pipeline);
    let mut lost_by_record: BTreeMap<usize, usize> = BTreeMap::new();
    for event in &events {
        if !event.accepted {
            continue;
        }
        report.accepted += 1;
        if event.good > 0 {
            report.good += 1;
        } else if event.quarantined > 0 {
            report.quarantined += 1;
        } else {
            report.lost += 1;
            *lost_by_record.entry(event.record).or_default() += 1;
        }
    }
    for (record, lost) in lost_by_record {
        let bytes = records[record];
        let fate = fates.get(&normalize(bytes)).copied();
        let (reason, role, at) = match fate {
            Some((reason, role, at)) => (reason, Some(role), Some(at)),
            None if stopped_at_horizon => (LossReason::StillBuffered, None, None),
            None => (LossReason::Unknown, None, None),
        };
        *report
            .lost_reasons
            .entry(reason.as_str().to_owned())
            .or_default() += lost;
        report.lost_records.push(LostRecord {
            record,
            events: lost,
            reason,
            region: role.map_or("", Role::as_str).to_owned(),
            at_s: at.map(|at: DateTime<Utc>| (at - start).num_milliseconds() as f64 / 1000.0),
            preview: String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned(),
        });
    }
    report.margins = margins(&services, &pipeline, start, clock.now());
    if let Some(thresholds) = &config.alarms {
        report.alarms = alarms(thresholds, &report.margins, &pipeline, &services, start);
    }
    debug_assert!(events.iter().all(|e| e.record < records.len()));
    report.parked = pipeline.primary_mapping.stats.parked;
    report.expired =
        pipeline.primary_mapping.stats.expired + pipeline.secondary_mapping.stats.expired;
    let queue_stats = services.queue.stats();
    report.bridge = BridgeSummary {
        spool_objects: pipeline.spool.stats().objects,
        receives: queue_stats.receives,
        invokes: pipeline.invoker.invocations(),
        test_events_skipped: pipeline.test_events,
        dead_letters: queue_stats.dead_lettered,
        queue_expired: queue_stats.expired,
        spool_throttled: pipeline.spool.stats().throttled,
        spool_discarded: pipeline.spool.stats().discarded,
        duplicate_notifications: pipeline.spool.stats().duplicate_notifications,
        visibility_changes: queue_stats.visibility_changes,
        max_delay_seconds: config
            .pipeline
            .bridge_redelivery
            .map(|schedule| schedule.max_delay_seconds),
    };
    report.flood = flood::run(config);
    report.wall_ms = wall.elapsed().as_millis();
    report
}

/// What each buffer dropped, by the record's bytes: why, where and when.
type Fates = HashMap<Vec<u8>, (LossReason, Role, DateTime<Utc>)>;

/// The records of a spool object named by an S3 notification (or a Firehose record: spool
/// lines), as the bytes the client sent.
fn spool_line_records(lines: &[u8]) -> Vec<Vec<u8>> {
    lines
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<SpoolRecord>(line).ok())
        .filter_map(|record| record.bytes())
        .collect()
}

fn notified_records(services: &LocalServices, body: &str) -> Vec<Vec<u8>> {
    let Ok(notification) = serde_json::from_str::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let Some(key) = notification["Records"][0]["s3"]["object"]["key"].as_str() else {
        return Vec::new();
    };
    services
        .store
        .read(&services.settings.spool_bucket(), &decode_s3_key(key))
        .and_then(|object| gunzip_if_gzip(&object).ok())
        .map(|lines| spool_line_records(&lines))
        .unwrap_or_default()
}

/// Every record a buffer dropped, from the stand-ins' own lists (the first drop of a record
/// wins: a record parked by the validator's mapping stays parked whatever follows).
fn fates(services: &LocalServices, pipeline: &LocalPipeline<'_>) -> Fates {
    let mut fates = Fates::new();
    let mut note = |bytes: &[u8], reason, role, at| {
        fates.entry(normalize(bytes)).or_insert((reason, role, at));
    };
    for (role, mapping) in [
        (Role::Primary, &pipeline.primary_mapping),
        (Role::Secondary, &pipeline.secondary_mapping),
    ] {
        for record in &mapping.expired {
            note(
                &record.data,
                LossReason::StreamRetention,
                role,
                record.arrival,
            );
        }
        for parked in &mapping.parked {
            let reason = match parked.reason {
                ParkReason::Age => LossReason::RecordAge,
                ParkReason::Retries => LossReason::Retries,
            };
            note(&parked.record.data, reason, role, parked.at);
        }
    }
    let firehose = super::local::millis_of(FIREHOSE_RETENTION);
    for (at, entry) in pipeline.spool.discarded() {
        for bytes in spool_line_records(&entry) {
            note(
                &bytes,
                LossReason::FirehoseDiscard,
                Role::Secondary,
                at + firehose,
            );
        }
    }
    for message in services.queue.expired_messages() {
        for bytes in notified_records(services, &message.body) {
            note(
                &bytes,
                LossReason::QueueRetention,
                Role::Secondary,
                message.at,
            );
        }
    }
    for message in services.queue.dead_letter_messages() {
        for bytes in notified_records(services, &message.body) {
            note(&bytes, LossReason::DeadLetter, Role::Secondary, message.at);
        }
    }
    fates
}

/// How close each buffer came to dropping what it delivered (see [`BufferMargin`]).
fn margins(
    services: &LocalServices,
    pipeline: &LocalPipeline<'_>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> BTreeMap<String, BufferMargin> {
    let settings = &services.settings;
    let seconds_from_start = |at: DateTime<Utc>| (at - start).num_milliseconds() as f64 / 1000.0;
    let in_seconds = |limit: f64, least: Option<(i64, DateTime<Utc>)>| BufferMargin {
        unit: "seconds".to_owned(),
        limit,
        least_left: least.map(|(ms, _)| ms as f64 / 1000.0),
        at_s: least.map(|(_, at)| seconds_from_start(at)),
    };
    let mut margins = BTreeMap::new();
    for (role, mapping) in [
        (Role::Primary, &pipeline.primary_mapping),
        (Role::Secondary, &pipeline.secondary_mapping),
    ] {
        let retention = settings.region(role).retention_hours as f64 * 3600.0;
        margins.insert(
            format!("{} stream retention", role.as_str()),
            in_seconds(retention, mapping.margins.retention),
        );
        margins.insert(
            format!("{} mapping record age", role.as_str()),
            in_seconds(
                mapping.max_record_age.as_secs_f64(),
                mapping.margins.record_age,
            ),
        );
    }
    margins.insert(
        "firehose 24 h".to_owned(),
        in_seconds(
            FIREHOSE_RETENTION.as_secs_f64(),
            pipeline.spool.stats().closest_to_discard,
        ),
    );
    let queue = services.queue.margins();
    margins.insert(
        "spool queue retention".to_owned(),
        in_seconds(settings.queue_retention_seconds as f64, queue.retention),
    );
    margins.insert(
        "spool queue receives".to_owned(),
        BufferMargin {
            unit: "receives".to_owned(),
            limit: settings.max_receive_count as f64,
            least_left: queue.receives_left.map(|(n, _)| n as f64),
            at_s: queue.receives_left.map(|(_, at)| seconds_from_start(at)),
        },
    );
    // What is still in the DLQ and the failed-batches buckets at the end: time left there.
    if let Some(limit) = settings.dlq_retention_seconds {
        let least = services
            .queue
            .dead_letter_messages()
            .iter()
            .map(|m| {
                let left = i64::try_from(limit)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1000)
                    - (end - m.sent_at).num_milliseconds();
                (left, end)
            })
            .min_by_key(|(left, _)| *left);
        margins.insert(
            "dead-letter queue retention".to_owned(),
            in_seconds(limit as f64, least),
        );
    }
    if let Some(days) = settings.failed_retention_days {
        let limit_ms = i64::try_from(days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
        let least = [&pipeline.primary_mapping, &pipeline.secondary_mapping]
            .iter()
            .flat_map(|m| m.parked.iter())
            .map(|parked| (limit_ms - (end - parked.at).num_milliseconds(), end))
            .min_by_key(|(left, _)| *left);
        margins.insert(
            "failed records retention".to_owned(),
            in_seconds(limit_ms as f64 / 1000.0, least),
        );
    }
    margins
}

/// Reads the records of an events file: NDJSON (one record per line) or one JSON array of
/// records (see [`crate::lines::records`]).
pub fn read_records(input: &[u8]) -> Result<Vec<Vec<u8>>, crate::lines::InputProblem> {
    Ok(crate::lines::records(input)?
        .into_iter()
        .map(|r| r.bytes)
        .collect())
}

/// What `ingest drill --compiled` hands the program, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillRun {
    /// The spec's numbers.
    pub config: DrillConfig,
    /// The request bodies to send: NDJSON or one JSON array of them.
    pub events: PathBuf,
    /// Where to keep the buckets as files (in memory without).
    pub out: Option<PathBuf>,
}

/// The program behind `ingest drill --compiled`, linked with a spec's events crate: its one
/// argument is a [`DrillRun`] as JSON. Prints the [`DrillReport`] as JSON (`ingest` presents
/// it); exits 0 when nothing was lost, 1 when something was, 2 on a usage or input error.
pub fn main(registry: &Registry, args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    let run = match args.as_slice() {
        [json] => serde_json::from_str::<DrillRun>(&json.to_string_lossy())
            .map_err(|error| format!("the argument is not a drill run: {error}")),
        _ => Err("expected one argument: the drill run as JSON".to_owned()),
    };
    let records = run.and_then(|run| {
        let input = std::fs::read(&run.events)
            .map_err(|error| format!("cannot read {}: {error}", run.events.display()))?;
        let records = read_records(&input)
            .map_err(|problem| format!("{} {problem}", run.events.display()))?;
        Ok((run, records))
    });
    let (run, records) = match records {
        Ok(read) => read,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let report = self::run(registry, &run.config, &records, run.out.as_deref());
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    if report.lost == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
