//! The spec's numbers both regions are built with, the regions' roles, and the names the
//! stacks give resources.

use serde::{Deserialize, Serialize};

use super::super::bridge::DEFAULT_CHUNK_BYTES;
use crate::redelivery::Redelivery;

/// What the API's mapping template checks before `PutRecord`: a body of more than
/// `max_event_bytes` bytes is refused with 413. The API takes bodies as binary, so the template
/// sees the base64 of the exact bytes and counts them from its length
/// (`len / 4 * 3 - padding`), the same count for every encoding; Kinesis gets the bytes
/// unchanged.
pub fn exceeds_event_limit(body: &[u8], max_event_bytes: usize) -> bool {
    body.len() > max_event_bytes
}

/// The account id local resources pretend to belong to (bucket names and ARNs carry one).
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// A region's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The primary: validator, good and quarantine buckets.
    Primary,
    /// The secondary: receiver, spool, queue and bridge.
    Secondary,
}

impl Role {
    /// Both roles.
    pub const BOTH: [Role; 2] = [Role::Primary, Role::Secondary];

    /// `primary` or `secondary`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }

    /// The other role.
    pub fn other(self) -> Role {
        match self {
            Role::Primary => Role::Secondary,
            Role::Secondary => Role::Primary,
        }
    }
}

/// One region's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionSettings {
    /// AWS region name.
    pub region: String,
    /// Shards of its stream (on-demand streams: pick a number).
    pub shards: usize,
    /// Route 53 weight.
    pub weight: u64,
    /// Stream retention in hours.
    pub retention_hours: u64,
}

fn default_chunk_bytes() -> usize {
    DEFAULT_CHUNK_BYTES
}

/// The spec's numbers both regions are built with (from the plan, by the `ingest` command).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineSettings {
    /// The spec's name: the prefix of every resource name.
    pub name: String,
    /// The primary region.
    pub primary: RegionSettings,
    /// The secondary region.
    pub secondary: RegionSettings,
    /// `api.max_event_bytes`.
    pub max_event_bytes: usize,
    /// Validator batch size.
    pub validator_batch_size: usize,
    /// Validator mapping retries: `None` (-1 in the stack) until the record's age runs out.
    pub validator_max_retries: Option<u64>,
    /// Validator mapping maximum record age.
    pub validator_max_record_age_seconds: u64,
    /// Receiver batch size.
    pub receiver_batch_size: usize,
    /// Receiver mapping retries: `None` (-1), until the record's age runs out.
    #[serde(default)]
    pub receiver_max_retries: Option<u64>,
    /// Receiver mapping maximum record age (0: the secondary stream's retention less an hour).
    #[serde(default)]
    pub receiver_max_record_age_seconds: u64,
    /// Bridge batch size.
    pub bridge_batch_size: usize,
    /// Bridge mapping concurrency.
    pub bridge_max_concurrency: usize,
    /// The bridge's `CHUNK_BYTES`.
    #[serde(default = "default_chunk_bytes")]
    pub bridge_chunk_bytes: usize,
    /// Spool queue visibility timeout.
    pub visibility_timeout_seconds: u64,
    /// Spool queue `maxReceiveCount`.
    pub max_receive_count: u64,
    /// Spool queue retention.
    pub queue_retention_seconds: u64,
    /// How the bridge paces the messages it fails ([`crate::redelivery`]); `None`: they wait
    /// out the visibility timeout.
    #[serde(default)]
    pub bridge_redelivery: Option<Redelivery>,
    /// Firehose buffer interval.
    pub spool_buffer_seconds: u64,
    /// Firehose buffer size.
    pub spool_buffer_mb: u64,
    /// The spool's Firehose throughput quota in bytes per second (the region's default or the
    /// declared one, G36); `None`: unlimited.
    #[serde(default)]
    pub spool_quota_bytes_per_second: Option<u64>,
    /// The validator's timeout: an invocation that takes longer fails whole.
    #[serde(default)]
    pub validator_timeout_seconds: Option<u64>,
    /// The receiver's timeout.
    #[serde(default)]
    pub receiver_timeout_seconds: Option<u64>,
    /// The bridge's timeout.
    #[serde(default)]
    pub bridge_timeout_seconds: Option<u64>,
    /// How long the spool's dead-letter queue keeps a message, counted from its first
    /// enqueue into the spool queue (SQS keeps that timestamp when it moves a message).
    #[serde(default)]
    pub dlq_retention_seconds: Option<u64>,
    /// How long the failed-batches buckets keep what a mapping gave up on (`None`: forever).
    #[serde(default)]
    pub failed_retention_days: Option<u64>,
}

impl PipelineSettings {
    /// A region's numbers.
    pub fn region(&self, role: Role) -> &RegionSettings {
        match role {
            Role::Primary => &self.primary,
            Role::Secondary => &self.secondary,
        }
    }

    /// A bucket's name as the stacks name it (`<name>-<purpose>-<account>-<region>`).
    pub fn bucket(&self, purpose: &str, role: Role) -> String {
        format!(
            "{}-{purpose}-{LOCAL_ACCOUNT}-{}",
            self.name,
            self.region(role).region
        )
    }

    /// The good bucket (primary).
    pub fn good_bucket(&self) -> String {
        self.bucket("good", Role::Primary)
    }

    /// The quarantine bucket (primary).
    pub fn quarantine_bucket(&self) -> String {
        self.bucket("quarantine", Role::Primary)
    }

    /// The spool bucket (secondary).
    pub fn spool_bucket(&self) -> String {
        self.bucket("spool", Role::Secondary)
    }

    /// The ARN the bridge invokes: `<name>-validator` in the primary's region.
    pub fn validator_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{LOCAL_ACCOUNT}:function:{}-validator",
            self.primary.region, self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// The mapping template's arithmetic over the base64 of a body: `length / 4 * 3 - padding`.
    fn template_bytes(body: &[u8]) -> usize {
        let data = base64::engine::general_purpose::STANDARD.encode(body);
        let padding = if data.ends_with("==") {
            2
        } else {
            usize::from(data.ends_with('='))
        };
        data.len() / 4 * 3 - padding
    }

    #[test]
    fn the_limit_counts_bytes_as_the_template_does() {
        let limit = 262_144;
        for size in limit - 3..=limit + 3 {
            let body = vec![b'x'; size];
            assert_eq!(template_bytes(&body), size);
            assert_eq!(exceeds_event_limit(&body, limit), size > limit, "{size}");
        }
        // 262,144 characters of three bytes each: 786,432 bytes, refused (a character count
        // let it through).
        let euros = "\u{20ac}".repeat(limit);
        assert_eq!(template_bytes(euros.as_bytes()), 786_432);
        assert!(exceeds_event_limit(euros.as_bytes(), limit));
        // Bytes that are not UTF-8 count as they are.
        assert_eq!(template_bytes(&[0xff, 0xfe, 0x00]), 3);
    }
}
