//! The resolved plan: every default filled in, every physical name and derived number computed.
//!
//! [`Plan::resolve`] is the one place where defaults live and where numbers are derived (shares,
//! capacity, the bridge's retry budget, reserved concurrency, the mappings' retries and record
//! ages, the Athena scan cutoff, the stacks and their deploy order). It is total: it never fails,
//! using saturating arithmetic, so [`crate::checks`] can judge the resolved values and point back
//! at the keys they came from. The renderers only copy these numbers into their contexts. A plan
//! is only handed to callers (the summary, the renderers) once the checks found no error. Maps
//! are ordered, so the same spec always yields the same plan.

use std::collections::BTreeMap;

use ingest_codegen::events::EventInput;
use ingest_codegen::schema::Document;
use ingest_runtime::redelivery::Redelivery;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::aws::{self, Partition};
use crate::spec::raw::{
    Architecture, EndpointKind, IpAddressType, LeverKind, QuotaPeriod, RawRegion, RawSpec,
    StreamMode,
};

/// Defaults, in one place.
pub mod defaults {
    /// Primary Route 53 weight.
    pub const PRIMARY_WEIGHT: u64 = 95;
    /// Secondary Route 53 weight: a small share, so the standby path is always exercised.
    pub const SECONDARY_WEIGHT: u64 = 5;
    /// The least Kinesis keeps records, in hours; the default retention is raised from it to
    /// what the declared outage needs ([`super::BufferPlan`]).
    pub const RETENTION_HOURS: u64 = 24;
    /// Health check path.
    pub const HEALTH_PATH: &str = "/health";
    /// Health check interval.
    pub const HEALTH_INTERVAL_SECONDS: u64 = 30;
    /// Health check failures before unhealthy.
    pub const HEALTH_FAILURE_THRESHOLD: u64 = 3;
    /// Validator memory.
    pub const VALIDATOR_MEMORY_MB: u64 = 512;
    /// Validator timeout.
    pub const VALIDATOR_TIMEOUT_SECONDS: u64 = 60;
    /// Validator batch size.
    pub const VALIDATOR_BATCH_SIZE: u64 = 500;
    /// Batching window.
    pub const BATCHING_WINDOW_SECONDS: u64 = 1;
    /// Parallelization factor.
    pub const PARALLELIZATION_FACTOR: u64 = 1;
    /// Receiver memory.
    pub const RECEIVER_MEMORY_MB: u64 = 256;
    /// Receiver timeout.
    pub const RECEIVER_TIMEOUT_SECONDS: u64 = 60;
    /// Receiver batch size.
    pub const RECEIVER_BATCH_SIZE: u64 = 500;
    /// Outage the bridge rides out.
    pub const OUTAGE_HOURS: u64 = 24;
    /// Bridge memory.
    pub const BRIDGE_MEMORY_MB: u64 = 512;
    /// Bridge timeout.
    pub const BRIDGE_TIMEOUT_SECONDS: u64 = 300;
    /// Bridge batch size.
    pub const BRIDGE_BATCH_SIZE: u64 = 10;
    /// Visibility timeout as a multiple of the bridge timeout: Lambda refuses an SQS mapping
    /// whose queue hides a message for less than six times the function's timeout
    /// (`docs/traps.md#sqs-visibility-timeout`).
    pub const VISIBILITY_FACTOR: u64 = 6;
    /// Concurrent bridge invocations (the SQS mapping's `MaximumConcurrency`); also bounds the
    /// load the bridge puts on the primary's validator after an outage.
    pub const BRIDGE_MAX_CONCURRENCY: u64 = 10;
    /// Reserved concurrency assumed per on-demand stream, which has no shard count to size from.
    pub const ON_DEMAND_CONCURRENCY: u64 = 50;
    /// Reserved concurrency of the receiver beyond one per shard: room for the parent and child
    /// shards of a split or merge, which are read side by side for a while.
    pub const RESHARD_HEADROOM: u64 = 2;
    /// The least margin a buffer keeps beyond the declared outage, and the least distance
    /// between a mapping's giving up and the stream's trimming (a record trimmed by retention
    /// before its age runs out never reaches the on-failure destination, G33).
    pub const MIN_MARGIN_SECONDS: u64 = 3600;
    /// The margin is at least this share of the outage, in percent.
    pub const MARGIN_PERCENT: u64 = 25;
    /// How long Firehose keeps data it cannot deliver to the spool bucket (fixed by AWS).
    pub const FIREHOSE_RETENTION_SECONDS: u64 = 86_400;
    /// A mapping this far behind is stalled rather than busy.
    pub const STALLED_ITERATOR_AGE_SECONDS: u64 = 3600;
    /// Spool data this old warns: Firehose cannot write to the spool bucket.
    pub const SPOOL_FRESHNESS_ALARM_SECONDS: u64 = 3600;
    /// Seconds API Gateway serves `GET /health` from its stage cache: public traffic then reaches
    /// Kinesis at most once per period, and the Route 53 checkers see a change within it.
    pub const HEALTH_CACHE_TTL_SECONDS: u64 = 10;
    /// Size of the stage cache in GB, the smallest API Gateway offers (it holds one response).
    pub const HEALTH_CACHE_SIZE_GB: &str = "0.5";
    /// Most data one Athena query may scan, in MB (10^6 bytes): 100 GB, about $0.50 of scanning.
    pub const ATHENA_BYTES_SCANNED_CUTOFF_MB: u64 = 100_000;
    /// The bridge's first retry delay of a failed spool message
    /// (`ingest_runtime::redelivery`).
    pub const RETRY_FIRST_DELAY_SECONDS: u64 = 30;
    /// The bridge's longest retry delay, unless the outage needs more than
    /// [`RETRY_RECEIVE_TARGET`] receives: after a recovery, the backlog drains within it.
    pub const RETRY_MAX_DELAY_SECONDS: u64 = 300;
    /// Each further failure multiplies the retry delay by this.
    pub const RETRY_GROWTH: u64 = 2;
    /// Jitter: a retry delay is up to this much shorter than nominal, in percent.
    pub const RETRY_JITTER_PERCENT: u64 = 10;
    /// Receives per message the default longest delay is raised to stay under (SQS allows
    /// 1000).
    pub const RETRY_RECEIVE_TARGET: u64 = 500;
    /// Log retention.
    pub const LOG_RETENTION_DAYS: u64 = 30;
    /// Good events are kept forever.
    pub const GOOD_RETENTION_DAYS: u64 = 0;
    /// Quarantined records (raw bodies, possibly personal data) are kept 30 days: long enough
    /// to notice a broken producer, fix it and replay.
    pub const QUARANTINE_RETENTION_DAYS: u64 = 30;
    /// Batches a mapping gave up on are kept 30 days: long enough to notice the alarm and
    /// replay them.
    pub const FAILED_RETENTION_DAYS: u64 = 30;
    /// Athena query results are kept 30 days.
    pub const ATHENA_RESULTS_RETENTION_DAYS: u64 = 30;
    /// S3 server access logs (client addresses and keys of every request) are kept 90 days.
    pub const ACCESS_LOG_RETENTION_DAYS: u64 = 90;
    /// Old versions of objects are kept 7 days (an overwrite or delete can be undone that long).
    pub const NONCURRENT_DAYS: u64 = 7;
    /// Old versions of a drain switch are kept a year: the history of every lever pull.
    pub const SWITCH_NONCURRENT_DAYS: u64 = 365;
    /// Days before an incomplete multipart upload is aborted.
    pub const ABORT_MULTIPART_DAYS: u64 = 7;
    /// WAF: requests one client address may send per window.
    pub const WAF_RATE_PER_IP: u64 = 600;
    /// WAF: the rate-based rule's evaluation window.
    pub const WAF_WINDOW_SECONDS: u64 = 300;
    /// WAF: bodies above this many bytes count against the large-body rule too.
    pub const WAF_LARGE_BODY_BYTES: u64 = 4096;
    /// WAF: client addresses at their limits it must take to fill the smaller stream.
    pub const WAF_MIN_ADDRESSES_TO_FILL: u64 = 100;
    /// WAF's blocked-requests alarm: blocks a minute as many as this many addresses would send
    /// at their full limit. An honest client under its limit is never blocked; a few clients
    /// retrying past it, scanners, and other accounts' health checks stay well below.
    pub const WAF_BLOCKED_ALARM_ADDRESSES: u64 = 10;
    /// WAF's blocked-requests alarm: minutes in a row above the threshold (a flood, not a burst).
    pub const WAF_BLOCKED_ALARM_MINUTES: u64 = 5;
    /// Route 53 checker regions of the endpoint checks (the minimum of three, on two
    /// continents); with WAF on, only their addresses may read the health route.
    pub const CHECKER_REGIONS: [&str; 3] = ["us-east-1", "us-west-1", "eu-west-1"];
    /// `GET /health`'s own method throttle: far above what the checkers send (each checker
    /// region sends a request per interval), and its own bucket, apart from `POST /events`.
    pub const HEALTH_THROTTLE_RATE: u64 = 10;
    /// Burst of `GET /health`.
    pub const HEALTH_THROTTLE_BURST: u64 = 20;
    /// Seconds API Gateway caches a Lambda authorizer's answer.
    pub const AUTHORIZER_TTL_SECONDS: u64 = 300;
    /// The header a Lambda authorizer reads.
    pub const AUTHORIZER_HEADER: &str = "Authorization";
    /// CloudWatch namespace of the lever's metrics; no other principal of ingest publishes in
    /// it (the validator's namespace is `Ingest`).
    pub const LEVER_NAMESPACE: &str = "IngestLever";
    /// The alarm period of a drain switch: one missed publication is absorbed by it, and a
    /// restore takes effect once the last drained value has left it.
    pub const LEVER_PERIOD_SECONDS: u64 = 300;
    /// How often the publisher runs on its schedule (it also runs on every switch change).
    pub const LEVER_PUBLISH_SECONDS: u64 = 60;
    /// The publisher's memory.
    pub const LEVER_MEMORY_MB: u64 = 128;
    /// The publisher's timeout.
    pub const LEVER_TIMEOUT_SECONDS: u64 = 30;
    /// The publisher's reserved concurrency: the schedule and the switch notifications.
    pub const LEVER_CONCURRENCY: u64 = 2;
    /// Firehose buffer interval.
    pub const SPOOL_BUFFER_SECONDS: u64 = 60;
    /// Firehose buffer size.
    pub const SPOOL_BUFFER_MB: u64 = 5;
    /// Stage throttling rate.
    pub const THROTTLE_RATE: u64 = 2000;
    /// Stage throttling burst.
    pub const THROTTLE_BURST: u64 = 5000;
    /// Largest request body.
    pub const MAX_EVENT_BYTES: u64 = 256 * 1024;
    /// API stage name.
    pub const STAGE: &str = "v1";
    /// Address families of the API and its custom domain: IPv4 only, so WAF's per-address
    /// rate counts every client (an IPv6 host holds a /64 of addresses).
    pub const IP_ADDRESS_TYPE: super::IpAddressType = super::IpAddressType::Ipv4;
    /// Margin of queue retention over the retry budget, in seconds.
    pub const RETENTION_MARGIN_SECONDS: u64 = 3600;
}

/// How much of a spool object the bridge sends per Invoke: the runtime's default, under the
/// 6 MB payload limit with room for the JSON around the records.
const BRIDGE_CHUNK_BYTES: u64 = ingest_runtime::pipeline::bridge::DEFAULT_CHUNK_BYTES as u64;

/// Which of the two regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Validates and stores.
    Primary,
    /// Buffers and bridges.
    Secondary,
}

impl Role {
    /// `primary` or `secondary`, as in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
}

/// The complete, resolved system.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Prefix of every physical name.
    pub name: String,
    /// Public DNS name and zone.
    pub domain: DomainPlan,
    /// The primary region.
    pub primary: RegionPlan,
    /// The secondary region.
    pub secondary: RegionPlan,
    /// Route 53 failover.
    pub failover: FailoverPlan,
    /// Declared peak load.
    pub capacity: CapacityPlan,
    /// How long each buffer holds what an outage leaves in it.
    pub buffers: BufferPlan,
    /// The validator function (primary).
    pub validator: ValidatorPlan,
    /// The receiver function (secondary).
    pub receiver: FunctionPlan,
    /// The receiver's Kinesis mapping.
    pub receiver_mapping: ReceiverMappingPlan,
    /// The bridge function and its queue (secondary).
    pub bridge: BridgePlan,
    /// Function settings shared by all.
    pub functions: FunctionsPlan,
    /// Buckets.
    pub storage: StoragePlan,
    /// Athena.
    pub athena: AthenaPlan,
    /// Alarm delivery.
    pub alarms: AlarmsPlan,
    /// The API.
    pub api: ApiPlan,
    /// User tags (ordered).
    pub tags: BTreeMap<String, String>,
    /// Event types, ordered by type name.
    pub events: Vec<EventPlan>,
    /// Every stack, in deploy order: a stack comes after the stacks it depends on.
    pub stacks: Vec<StackPlan>,
}

/// The stacks of a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackKind {
    /// The primary region: API, stream, validator, lake, Athena.
    Primary,
    /// The secondary region: API, stream, spool, bridge, drain switches.
    Secondary,
    /// Route 53 records and health checks (global resources), deployed from the secondary
    /// region once both regional stacks exist.
    Dns,
    /// Alarms on the Route 53 health checks, in the region where Route 53 publishes their
    /// metrics (us-east-1 in the commercial partition), once the dns stack exists.
    Monitoring,
}

impl StackKind {
    /// `primary`, `secondary`, `dns` or `monitoring`: the stack name's suffix and the file name
    /// under `stacks/`.
    pub fn as_str(self) -> &'static str {
        match self {
            StackKind::Primary => "primary",
            StackKind::Secondary => "secondary",
            StackKind::Dns => "dns",
            StackKind::Monitoring => "monitoring",
        }
    }
}

/// One stack: where it goes, what must exist first, and which of its parameters come from
/// another stack's outputs.
#[derive(Debug, Clone, Serialize)]
pub struct StackPlan {
    /// Which stack.
    pub kind: StackKind,
    /// CloudFormation stack name, `<name>-<kind>`.
    pub name: String,
    /// Region it is deployed in.
    pub region: String,
    /// Stacks that must be deployed (and have outputs) before this one.
    pub depends_on: Vec<StackKind>,
    /// Parameters fed from other stacks' outputs, in template order.
    pub inputs: Vec<StackInput>,
    /// Parameters `ingest deploy` fills from outside the stacks.
    pub deploy_inputs: Vec<DeployInput>,
}

/// A parameter whose value `ingest deploy` finds outside the stacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DeployInput {
    /// The IPv4 ranges of Route 53's health checkers in `regions` (AWS's published
    /// `ip-ranges.json`, service `ROUTE53_HEALTHCHECKS`), plus the spec's extra ranges, as a
    /// comma-separated list: the addresses the web ACL lets read the health route.
    CheckerRanges {
        /// The parameter.
        parameter: String,
        /// Checker regions whose ranges it takes.
        regions: Vec<String>,
        /// Extra ranges from the spec.
        extra: Vec<String>,
    },
    /// The health token: the value of the Secrets Manager secret `secret`, which `ingest
    /// deploy` keeps in each of `regions` with one value (copying it from a region that has it;
    /// where no region has it, the value the deployed endpoint checks send, else a random one;
    /// changing it only on `--rotate-health-token`).
    HealthToken {
        /// The parameter (`NoEcho`).
        parameter: String,
        /// The secret's name, `<name>/health-token`.
        secret: String,
        /// Regions that keep a copy: those of the stacks that take it.
        regions: Vec<String>,
        /// The stack whose endpoint checks send the token (the dns stack), read to find the
        /// value they send now.
        checks_stack: String,
        /// Its region.
        checks_region: String,
    },
    /// The token the deployed endpoint checks send now (read from Route 53), which the web
    /// ACLs accept beside the current one until the checks send the current one: a change of
    /// the token reaches the regional stacks before the dns stack. The current token when the
    /// checks already send it, send none, or do not exist yet.
    PreviousHealthToken {
        /// The parameter (`NoEcho`).
        parameter: String,
    },
}

impl DeployInput {
    /// The stack parameter it fills.
    pub fn parameter(&self) -> &str {
        match self {
            DeployInput::CheckerRanges { parameter, .. }
            | DeployInput::HealthToken { parameter, .. }
            | DeployInput::PreviousHealthToken { parameter } => parameter,
        }
    }
}

/// The parameter of a regional stack that takes the health checkers' address ranges.
pub const CHECKER_RANGES_PARAMETER: &str = "Route53CheckerCidrs";
/// The parameter of the regional and dns stacks that takes the health token.
pub const HEALTH_TOKEN_PARAMETER: &str = "HealthToken";
/// The parameter of the regional stacks that takes the token the deployed checks send (the
/// web ACLs accept it too).
pub const HEALTH_TOKEN_PREVIOUS_PARAMETER: &str = "HealthTokenPrevious";
/// The query argument our endpoint checks carry the health token in (`GET
/// /<stage>/health?<argument>=<token>`), and the web ACL matches.
pub const HEALTH_TOKEN_ARGUMENT: &str = "token";

/// A parameter whose value is another stack's output.
#[derive(Debug, Clone, Serialize)]
pub struct StackInput {
    /// The parameter of this stack.
    pub parameter: String,
    /// The stack whose output it takes.
    pub from: StackKind,
    /// That stack's output.
    pub output: String,
}

/// DNS.
#[derive(Debug, Clone, Serialize)]
pub struct DomainPlan {
    /// The public name.
    pub name: String,
    /// Its hosted zone.
    pub hosted_zone_id: String,
}

/// One region, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct RegionPlan {
    /// Primary or secondary.
    pub role: Role,
    /// AWS region name.
    pub region: String,
    /// `aws`, `aws-cn` or `aws-us-gov` (`aws` when the region is unknown; the checks refuse that).
    pub partition: &'static str,
    /// Edge or regional.
    pub endpoint: Endpoint,
    /// ACM certificate.
    pub certificate_arn: String,
    /// The Kinesis stream.
    pub stream: StreamPlan,
    /// Route 53 weight.
    pub weight: u64,
    /// Share of traffic in percent (weight / sum; 0 when all weights are 0).
    pub weight_percent: f64,
}

/// Endpoint kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// CloudFront-backed.
    Edge,
    /// Regional.
    Regional,
}

impl Endpoint {
    /// `edge` or `regional`.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Edge => "edge",
            Endpoint::Regional => "regional",
        }
    }
}

/// A stream, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct StreamPlan {
    /// Physical name.
    pub name: String,
    /// Capacity mode.
    pub mode: StreamCapacity,
    /// Retention in hours.
    pub retention_hours: u64,
    /// Bytes per second the stream accepts (for on-demand: before it has scaled).
    pub bytes_per_second: u64,
    /// Records per second the stream accepts (for on-demand: before it has scaled).
    pub records_per_second: u64,
    /// How many times the declared peak the stream carries (for on-demand: at first).
    pub peak_multiple: f64,
}

/// Stream capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum StreamCapacity {
    /// Fixed shards.
    Provisioned {
        /// Shard count.
        shards: u64,
    },
    /// On-demand.
    OnDemand,
}

/// Route 53 failover.
#[derive(Debug, Clone, Serialize)]
pub struct FailoverPlan {
    /// Whether health checks gate the records.
    pub automatic: bool,
    /// Health route path, `/<segment>`.
    pub path: String,
    /// Seconds between checks.
    pub interval_seconds: u64,
    /// Failures before unhealthy.
    pub failure_threshold: u64,
    /// Route 53 checker regions of the endpoint checks (`HealthCheckConfig.Regions`).
    pub checker_regions: Vec<String>,
    /// The drain switches.
    pub lever: LeverPlan,
}

/// The drain switches (`docs/security.md#the-lever`).
#[derive(Debug, Clone, Serialize)]
pub struct LeverPlan {
    /// Metric alarms (default) or ARC routing controls.
    pub kind: LeverChoice,
    /// Principals that may assume the operator role (empty: the account).
    pub operators: Vec<String>,
    /// The publisher function (secondary region), which turns the switch objects into the
    /// metric every minute and on every change.
    pub publisher: FunctionPlan,
    /// CloudWatch namespace of the lever's metrics.
    pub namespace: &'static str,
    /// The metric of a region's drain switch: 1 drained, 0 not.
    pub metric: &'static str,
    /// The metric the publisher sets to 1 when the published state disagrees with the switch
    /// objects (someone else published into the namespace).
    pub tamper_metric: &'static str,
    /// The switch alarms' period.
    pub period_seconds: u64,
    /// How often the publisher runs on its schedule.
    pub publish_seconds: u64,
    /// Days the switch bucket keeps old versions of a switch (the history of pulls): the
    /// bucket's lifecycle rule, and what the publisher holds any other rule to (a rule that
    /// expires `switch/` sooner is tampering).
    pub switch_noncurrent_days: u64,
    /// Each region's switch alarm, primary then secondary.
    pub alarms: [LeverAlarm; 2],
    /// The role that may write the switches.
    pub operator_role_output: &'static str,
}

/// The lever's mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeverChoice {
    /// CloudWatch alarms on a published metric.
    Metric,
    /// ARC routing controls.
    Arc,
}

/// The alarm Route 53 reads for one region's drain switch.
#[derive(Debug, Clone, Serialize)]
pub struct LeverAlarm {
    /// The region it drains.
    pub role: Role,
    /// `AlarmName`: ends with a hash of the alarm's settings, so a change of them renames the
    /// alarm and makes CloudFormation update the health check, which keeps a copy of the
    /// settings from when it was created.
    pub name: String,
    /// Dimension `Region` of the metric (the role).
    pub region_dimension: &'static str,
}

/// Declared load.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityPlan {
    /// Events per second at peak.
    pub peak_events_per_second: u64,
    /// Average event size.
    pub average_event_bytes: u64,
    /// Peak bytes per second.
    pub peak_bytes_per_second: u64,
}

/// The rule every buffer follows (`docs/guarantees.md#buffers`): whatever an outage of the
/// declared length leaves in a buffer, the buffer holds for the outage plus a margin, and every
/// point where a consumer gives up sits at least the margin inside the buffer behind it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BufferPlan {
    /// The declared outage (`bridge.outage_hours`), in seconds.
    pub outage_seconds: u64,
    /// The margin beyond it: a quarter of the outage, at least an hour.
    pub margin_seconds: u64,
    /// What every buffer must hold: the outage plus the margin.
    pub hold_seconds: u64,
    /// The stream retention the rule asks for: the outage plus twice the margin (the mappings
    /// give up a margin before the stream trims), in whole hours, at least Kinesis's 24.
    pub stream_retention_hours: u64,
    /// How long Firehose keeps data it cannot deliver (fixed by AWS: 24 hours).
    pub firehose_retention_seconds: u64,
}

impl BufferPlan {
    /// The rule for an outage of `outage_hours`.
    pub fn for_outage(outage_hours: u64) -> Self {
        let outage_seconds = outage_hours.saturating_mul(3600);
        let margin_seconds = (outage_seconds.saturating_mul(defaults::MARGIN_PERCENT))
            .div_ceil(100)
            .max(defaults::MIN_MARGIN_SECONDS);
        let hold_seconds = outage_seconds.saturating_add(margin_seconds);
        BufferPlan {
            outage_seconds,
            margin_seconds,
            hold_seconds,
            stream_retention_hours: hold_seconds
                .saturating_add(margin_seconds)
                .div_ceil(3600)
                .max(defaults::RETENTION_HOURS),
            firehose_retention_seconds: defaults::FIREHOSE_RETENTION_SECONDS,
        }
    }

    /// A mapping's `MaximumRecordAgeInSeconds` on a stream keeping records `retention_hours`:
    /// the margin below the retention, within Lambda's bounds.
    pub fn record_age_seconds(&self, retention_hours: u64) -> u64 {
        retention_hours
            .saturating_mul(3600)
            .saturating_sub(self.margin_seconds)
            .clamp(
                aws::KINESIS_MAX_RECORD_AGE_SECONDS.0,
                aws::KINESIS_MAX_RECORD_AGE_SECONDS.1,
            )
    }
}

/// A function's size.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionPlan {
    /// Physical name.
    pub name: String,
    /// Memory in MB.
    pub memory_mb: u64,
    /// Timeout in seconds.
    pub timeout_seconds: u64,
    /// Records or messages per invocation.
    pub batch_size: u64,
    /// `ReservedConcurrentExecutions`: what its event source can use at once, and no more.
    pub reserved_concurrency: u64,
}

/// The validator and its Kinesis mapping.
#[derive(Debug, Clone, Serialize)]
pub struct ValidatorPlan {
    /// The function.
    pub function: FunctionPlan,
    /// Retries of a failing batch, when `validator.max_retries` bounds them; `None` (-1 in the
    /// stack) retries until the record's age runs out: an infrastructure outage is a delay,
    /// not a count.
    pub max_retries: Option<u64>,
    /// Oldest record retried: the margin below the primary stream's retention.
    pub max_record_age_seconds: u64,
    /// Batching window.
    pub batching_window_seconds: u64,
    /// Concurrent batches per shard.
    pub parallelization_factor: u64,
}

/// The receiver's Kinesis mapping (the receiver function itself is a [`FunctionPlan`]).
#[derive(Debug, Clone, Serialize)]
pub struct ReceiverMappingPlan {
    /// Retries of a failing batch: `None` (-1), until the record's age runs out.
    pub max_retries: Option<u64>,
    /// Oldest record retried: the margin below the secondary stream's retention.
    pub max_record_age_seconds: u64,
    /// Batching window.
    pub batching_window_seconds: u64,
    /// Concurrent batches per shard.
    pub parallelization_factor: u64,
}

/// The bridge and its queue.
#[derive(Debug, Clone, Serialize)]
pub struct BridgePlan {
    /// The function.
    pub function: FunctionPlan,
    /// The outage it must ride out, in hours.
    pub outage_hours: u64,
    /// The outage plus the buffers' margin ([`BufferPlan::hold_seconds`]): what the retry
    /// budget must cover.
    pub outage_with_margin_seconds: u64,
    /// Queue visibility timeout: how long a message stays invisible when the bridge dies
    /// before pacing it (at least 6x the function's timeout, as Lambda requires).
    pub visibility_timeout_seconds: u64,
    /// How soon a failed message is tried again (first delay, longest delay, growth, jitter,
    /// and `maxReceiveCount`: the fewest receives whose budget covers the outage).
    pub redelivery: Redelivery,
    /// Receives before a message goes to the DLQ (`redelivery.max_receive_count`).
    pub max_receive_count: u64,
    /// The guaranteed span from a message's first receive to its last, every delay at its
    /// shortest ([`Redelivery::retry_budget_seconds`]): how long an outage is ridden out.
    pub retry_budget_seconds: u64,
    /// The longest a message can take to reach the DLQ: each receive ends after the function's
    /// timeout plus the full delay, or after the visibility timeout when the invocation dies
    /// ([`Redelivery::dead_letter_after_seconds`]).
    pub dead_letter_after_seconds: u64,
    /// Queue retention: [`BridgePlan::dead_letter_after_seconds`] plus a margin (at most 14
    /// days), so no message expires while it is still retried.
    pub queue_retention_seconds: u64,
    /// Bytes of a spool object the bridge sends per Invoke (its `CHUNK_BYTES`).
    pub chunk_bytes: u64,
    /// Invokes per spool object (chunks under the 6 MB limit).
    pub chunks_per_object: u64,
    /// The SQS mapping's `MaximumConcurrency`.
    pub max_concurrency: u64,
    /// Queue name.
    pub queue_name: String,
    /// Dead-letter queue name.
    pub dead_letter_queue_name: String,
}

/// Shared function settings.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionsPlan {
    /// `arm64` or `x86_64`.
    pub architecture: &'static str,
    /// Log retention in days.
    pub log_retention_days: u64,
}

/// Buckets' retention and the spool.
#[derive(Debug, Clone, Serialize)]
pub struct StoragePlan {
    /// Days good events are kept (0: forever).
    pub good_retention_days: u64,
    /// Days quarantined records are kept.
    pub quarantine_retention_days: u64,
    /// Days batches a mapping gave up on are kept.
    pub failed_retention_days: u64,
    /// Days Athena query results are kept.
    pub athena_results_retention_days: u64,
    /// Days S3 server access logs are kept.
    pub access_log_retention_days: u64,
    /// Days old object versions are kept.
    pub noncurrent_days: u64,
    /// The least `spool_retention_days` may be: a spool object must outlive its notification
    /// in the queue and the dead-letter queue (whose retention counts from the first enqueue),
    /// and then a redrive, which starts the queue's retention anew.
    pub spool_minimum_retention_days: u64,
    /// Principals that may assume the reader role (empty: the account).
    pub readers: Vec<String>,
    /// Whether the reader role may read the quarantine.
    pub readers_see_quarantine: bool,
    /// Firehose buffer interval.
    pub spool_buffer_seconds: u64,
    /// Firehose buffer size.
    pub spool_buffer_mb: u64,
    /// Days spool objects are kept.
    pub spool_retention_days: u64,
    /// Firehose delivery stream name.
    pub spool_delivery_stream: String,
    /// What the spool must take at 100% failover, in bytes per second: every event of the
    /// peak as a spool line (its bytes in base64 and its origin).
    pub spool_peak_bytes_per_second: u64,
    /// The stream's byte quota: `storage.spool.quota_mib_per_second`, else the region's
    /// default ([`aws::firehose_default_quota`]).
    pub spool_quota_bytes_per_second: u64,
    /// Whether the quota was declared (raised) rather than the region's default.
    pub spool_quota_declared: bool,
}

/// Athena.
#[derive(Debug, Clone, Serialize)]
pub struct AthenaPlan {
    /// Glue database.
    pub database: String,
    /// Athena workgroup.
    pub workgroup: String,
    /// Most data one query may scan, in MB (10^6 bytes).
    pub bytes_scanned_cutoff_mb: u64,
    /// The same in bytes: the workgroup's `BytesScannedCutoffPerQuery`.
    pub bytes_scanned_cutoff_bytes: u64,
}

/// Alarm delivery, and the thresholds of the alarms that fire before a buffer expires.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmsPlan {
    /// A mapping's `IteratorAge` beyond which a shard counts as stalled (a record failing
    /// every time, `docs/runbook.md#a-stalled-shard`).
    pub stalled_iterator_age_seconds: u64,
    /// A mapping's `IteratorAge` beyond which records are within the margin of being given
    /// up: the declared outage.
    pub expiry_iterator_age_seconds: u64,
    /// Firehose `DeliveryToS3.DataFreshness` that warns (its data expires at 24 h).
    pub spool_freshness_seconds: u64,
    /// Firehose `DeliveryToS3.DataFreshness` that is critical: half of Firehose's 24 h.
    pub spool_freshness_critical_seconds: u64,
    /// Subscribed address, if any.
    pub email: Option<String>,
    /// SNS topic of each regional stack's alarms.
    pub topic_name: String,
    /// SNS topic of the health-check alarms, in the monitoring stack.
    pub health_topic_name: String,
}

/// The API.
#[derive(Debug, Clone, Serialize)]
pub struct ApiPlan {
    /// Requests per second.
    pub throttle_rate: u64,
    /// Burst.
    pub throttle_burst: u64,
    /// Largest body.
    pub max_event_bytes: u64,
    /// Stage name.
    pub stage: String,
    /// Whether the stacks manage API Gateway's per-region account settings (its CloudWatch role).
    pub manage_account_role: bool,
    /// Address families the API and its custom domain answer (and the dns stack's alias
    /// record types: AAAA only with `dualstack`).
    pub ip_address_type: IpAddressType,
    /// Seconds the stage cache serves `GET /health`.
    pub health_cache_ttl_seconds: u64,
    /// Stage cache size in GB (`CacheClusterSize`).
    pub health_cache_size_gb: &'static str,
    /// `GET /health`'s own throttle rate.
    pub health_throttle_rate: u64,
    /// `GET /health`'s own burst.
    pub health_throttle_burst: u64,
    /// The web ACL of both stages; `None` when `api.waf.enabled` is false.
    pub waf: Option<WafPlan>,
    /// API keys and usage plans, one per client app, sorted by app (empty: no keys).
    pub keys: Vec<KeyAppPlan>,
    /// The Lambda authorizer, if any.
    pub authorizer: Option<AuthorizerPlan>,
}

impl ApiPlan {
    /// The most requests all the apps' keys together pass in one second: each usage plan's
    /// token bucket gives its burst and a second's rate. What a key read out of an app can send.
    pub fn keys_requests_in_a_second(&self) -> u64 {
        self.keys.iter().fold(0u64, |sum, app| {
            sum.saturating_add(app.rate).saturating_add(app.burst)
        })
    }
}

/// The web ACL of each stage.
#[derive(Debug, Clone, Serialize)]
pub struct WafPlan {
    /// Requests one address may send per window.
    pub rate_per_ip: u64,
    /// The window, in seconds.
    pub window_seconds: u64,
    /// Extra IPv4 ranges allowed to read the health route.
    pub health_allow_cidrs: Vec<String>,
    /// Bodies above this many bytes are large (the large-body rule's scope-down).
    pub large_body_bytes: u64,
    /// Large bodies one address may send per window: the most that keeps
    /// `min_addresses_to_fill` addresses within the smaller stream's bytes, at most
    /// `rate_per_ip` (0 when even small bodies alone fill it; `ingest check` refuses a value
    /// below WAF's minimum).
    pub large_body_limit: u64,
    /// The addresses it must take to fill the smaller stream (spec).
    pub min_addresses_to_fill: u64,
    /// Bytes per second one address can write at its limits: `rate_per_ip` bodies of
    /// `large_body_bytes`, plus `large_body_limit` of `max_event_bytes`, per window.
    pub per_ip_bytes_per_second: u64,
    /// Records per second one address can write at its limit.
    pub per_ip_records_per_second: f64,
    /// During WAF's mitigation lag only the stage throttle bounds a fresh address: the
    /// requests a second with bodies of `max_event_bytes` that fill the smaller stream (in
    /// bytes or in records, whichever comes first), and which region that is.
    pub lag_fill_requests_per_second: u64,
    /// The region whose stream [`WafPlan::lag_fill_requests_per_second`] fills.
    pub lag_fill_role: Role,
    /// Addresses used in turn, each for one lag and then blocked for about a window, that keep
    /// the smaller stream full: at the longest usual lag and at the shortest.
    pub lag_pool_addresses: (u64, u64),
    /// What bounds a fresh address during the lag.
    pub lag_bound: LagBound,
    /// Addresses at their limits that fill each region's stream (primary, secondary), in
    /// bytes or in records, whichever comes first.
    pub addresses_to_fill: [u64; 2],
    /// Blocked requests a minute, every minute for [`WafPlan::blocked_alarm_minutes`], that set
    /// off each web ACL's blocked-flood alarm: `defaults::WAF_BLOCKED_ALARM_ADDRESSES`
    /// addresses at their full request limit.
    pub blocked_alarm_per_minute: u64,
    /// Minutes in a row the blocks must stay above [`WafPlan::blocked_alarm_per_minute`].
    pub blocked_alarm_minutes: u64,
    /// CloudWatch log group of blocked requests (`aws-waf-logs-` prefix, which WAF requires).
    pub log_group: String,
    /// Secrets Manager secret holding the health token, `<name>/health-token`: only requests
    /// that carry it (our endpoint checks) may read the health route from the checkers' ranges.
    pub health_token_secret: String,
}

/// What bounds a client address WAF has not counted yet: for the 30-50 s of WAF's mitigation
/// lag (`docs/security.md#the-mitigation-lag`) a fresh address is held by nothing per address,
/// so only who the client is, or a stage throttle the smaller stream can take, keeps a pool of
/// fresh addresses from filling it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LagBound {
    /// A request needs an API key (its usage plan throttles it at once, and the keys' rates
    /// and bursts together fit the smaller stream) or the authorizer's yes before it reaches
    /// the stream: the spec value that says so.
    ClientIdentity(&'static str),
    /// The stage throttle's rate and burst of the largest bodies, together in one second,
    /// stay under the smaller stream.
    StageThrottle,
    /// Nothing does: the stage throttle fills the smaller stream. `accepted` is the team's
    /// reason for living with it (`api.waf.mitigation_lag_accepted`), if the spec gives one.
    Open {
        /// See [`LagBound::Open`].
        accepted: Option<String>,
    },
}

/// One client app's usage plan and key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyAppPlan {
    /// App name.
    pub app: String,
    /// Steady requests per second.
    pub rate: u64,
    /// Burst.
    pub burst: u64,
    /// Quota per period, if any: (limit, `DAY`/`WEEK`/`MONTH`).
    pub quota: Option<(u64, &'static str)>,
    /// Secrets Manager secret that holds the key's value, in both regions.
    pub secret: String,
}

/// A Lambda `REQUEST` authorizer.
#[derive(Debug, Clone, Serialize)]
pub struct AuthorizerPlan {
    /// Function name (the same in both regions).
    pub function: String,
    /// Headers that carry the credentials.
    pub identity_headers: Vec<String>,
    /// Result cache TTL.
    pub ttl_seconds: u64,
}

/// One event type.
#[derive(Debug, Clone, Serialize)]
pub struct EventPlan {
    /// CloudEvents `type`.
    pub type_name: String,
    /// Glue table name (`shift_created`).
    pub table_name: String,
    /// What the event means.
    pub description: Option<String>,
    /// The schema of `data`, checked.
    #[serde(skip)]
    pub schema: Document,
    /// The schema as JSON, as written.
    pub schema_json: serde_json::Value,
    /// Where the schema is written (the spec or its `schema_file`), to locate diagnostics
    /// about it.
    #[serde(skip)]
    pub source: crate::spec::SchemaSource,
}

impl EventPlan {
    /// The event as the code generator takes it.
    pub fn input(&self) -> EventInput<'_> {
        EventInput {
            type_name: &self.type_name,
            description: self.description.as_deref(),
            schema: &self.schema,
            schema_json: &self.schema_json,
        }
    }
}

/// The Glue table name of an event type: `.` and `-` become `_`.
pub fn table_name(type_name: &str) -> String {
    type_name.replace(['.', '-'], "_")
}

/// The physical name of a bucket, as CloudFormation `Fn::Sub` text: bucket names are global, so
/// they carry the account and the region.
pub fn bucket_name(name: &str, purpose: &str) -> String {
    format!("{name}-{purpose}-${{AWS::AccountId}}-${{AWS::Region}}")
}

/// Length of a bucket name once the 12-digit account id is filled in.
pub fn bucket_name_length(name: &str, purpose: &str, region: &str) -> usize {
    name.len() + 1 + purpose.len() + 1 + 12 + 1 + region.len()
}

/// Bucket purposes, longest first: the check of name lengths uses the first.
pub const BUCKET_PURPOSES: [&str; 7] = [
    "quarantine",
    "athena",
    "failed",
    "switch",
    "spool",
    "good",
    "logs",
];

impl Plan {
    /// Resolves every default and derived value. `events` are the event types whose schemas
    /// loaded (see [`crate::checks`]).
    pub fn resolve(raw: &RawSpec, events: Vec<EventPlan>) -> Plan {
        let name = raw.name.clone();
        let capacity = CapacityPlan {
            peak_events_per_second: raw.capacity.peak_events_per_second,
            average_event_bytes: raw.capacity.average_event_bytes,
            peak_bytes_per_second: raw
                .capacity
                .peak_events_per_second
                .saturating_mul(raw.capacity.average_event_bytes),
        };
        let primary_weight = raw
            .regions
            .primary
            .weight
            .unwrap_or(defaults::PRIMARY_WEIGHT);
        let secondary_weight = raw
            .regions
            .secondary
            .weight
            .unwrap_or(defaults::SECONDARY_WEIGHT);
        let total_weight = primary_weight.saturating_add(secondary_weight);
        let outage_hours = raw
            .bridge
            .as_ref()
            .and_then(|b| b.outage_hours)
            .unwrap_or(defaults::OUTAGE_HOURS);
        let buffers = BufferPlan::for_outage(outage_hours);
        let region = |role: Role, raw_region: &RawRegion, weight: u64| {
            resolve_region(
                &name,
                role,
                raw_region,
                weight,
                total_weight,
                &capacity,
                buffers.stream_retention_hours,
            )
        };
        let primary = region(Role::Primary, &raw.regions.primary, primary_weight);
        let secondary = region(Role::Secondary, &raw.regions.secondary, secondary_weight);

        let failover = raw.failover.as_ref();
        let health = failover.and_then(|f| f.health_check.as_ref());
        let failover = FailoverPlan {
            automatic: failover.and_then(|f| f.automatic).unwrap_or(true),
            path: health
                .and_then(|h| h.path.clone())
                .unwrap_or_else(|| defaults::HEALTH_PATH.to_owned()),
            interval_seconds: health
                .and_then(|h| h.interval_seconds)
                .unwrap_or(defaults::HEALTH_INTERVAL_SECONDS),
            failure_threshold: health
                .and_then(|h| h.failure_threshold)
                .unwrap_or(defaults::HEALTH_FAILURE_THRESHOLD),
            checker_regions: health.and_then(|h| h.regions.clone()).unwrap_or_else(|| {
                defaults::CHECKER_REGIONS
                    .iter()
                    .map(|r| (*r).to_owned())
                    .collect()
            }),
            lever: lever(&name, failover),
        };

        let bridge_max_concurrency = defaults::BRIDGE_MAX_CONCURRENCY;
        let validator = raw.validator.as_ref();
        let parallelization_factor = validator
            .and_then(|v| v.parallelization_factor)
            .unwrap_or(defaults::PARALLELIZATION_FACTOR);
        let validator = ValidatorPlan {
            function: FunctionPlan {
                name: format!("{name}-validator"),
                memory_mb: validator
                    .and_then(|v| v.memory_mb)
                    .unwrap_or(defaults::VALIDATOR_MEMORY_MB),
                timeout_seconds: validator
                    .and_then(|v| v.timeout_seconds)
                    .unwrap_or(defaults::VALIDATOR_TIMEOUT_SECONDS),
                batch_size: validator
                    .and_then(|v| v.batch_size)
                    .unwrap_or(defaults::VALIDATOR_BATCH_SIZE),
                // Every shard's batches at once, plus the bridge's replays after an outage.
                reserved_concurrency: stream_concurrency(&primary.stream)
                    .saturating_mul(parallelization_factor)
                    .saturating_add(bridge_max_concurrency),
            },
            max_retries: validator.and_then(|v| v.max_retries),
            max_record_age_seconds: validator
                .and_then(|v| v.max_record_age_seconds)
                .unwrap_or_else(|| buffers.record_age_seconds(primary.stream.retention_hours)),
            batching_window_seconds: validator
                .and_then(|v| v.batching_window_seconds)
                .unwrap_or(defaults::BATCHING_WINDOW_SECONDS),
            parallelization_factor,
        };

        let receiver = raw.receiver.as_ref();
        let receiver = FunctionPlan {
            name: format!("{name}-receiver"),
            memory_mb: receiver
                .and_then(|r| r.memory_mb)
                .unwrap_or(defaults::RECEIVER_MEMORY_MB),
            timeout_seconds: receiver
                .and_then(|r| r.timeout_seconds)
                .unwrap_or(defaults::RECEIVER_TIMEOUT_SECONDS),
            batch_size: receiver
                .and_then(|r| r.batch_size)
                .unwrap_or(defaults::RECEIVER_BATCH_SIZE),
            reserved_concurrency: stream_concurrency(&secondary.stream)
                .saturating_add(defaults::RESHARD_HEADROOM),
        };
        let receiver_mapping = ReceiverMappingPlan {
            max_retries: None,
            max_record_age_seconds: buffers.record_age_seconds(secondary.stream.retention_hours),
            batching_window_seconds: defaults::BATCHING_WINDOW_SECONDS,
            parallelization_factor: 1,
        };

        let raw_storage = raw.storage.as_ref();
        let storage = raw_storage;
        let spool = storage.and_then(|s| s.spool.as_ref());
        let retention =
            |pick: fn(&crate::spec::raw::RawStorage) -> Option<&crate::spec::raw::RawRetention>,
             default: u64| {
                storage
                    .and_then(pick)
                    .and_then(|r| r.retention_days)
                    .unwrap_or(default)
            };
        let readers = storage.and_then(|s| s.readers.as_ref());
        let mut storage = StoragePlan {
            good_retention_days: retention(|s| s.good.as_ref(), defaults::GOOD_RETENTION_DAYS),
            quarantine_retention_days: retention(
                |s| s.quarantine.as_ref(),
                defaults::QUARANTINE_RETENTION_DAYS,
            ),
            failed_retention_days: retention(
                |s| s.failed.as_ref(),
                defaults::FAILED_RETENTION_DAYS,
            ),
            athena_results_retention_days: retention(
                |s| s.athena_results.as_ref(),
                defaults::ATHENA_RESULTS_RETENTION_DAYS,
            ),
            access_log_retention_days: retention(
                |s| s.access_logs.as_ref(),
                defaults::ACCESS_LOG_RETENTION_DAYS,
            ),
            noncurrent_days: defaults::NONCURRENT_DAYS,
            spool_minimum_retention_days: 0,
            readers: readers
                .and_then(|r| r.principals.clone())
                .unwrap_or_default(),
            readers_see_quarantine: readers.and_then(|r| r.quarantine).unwrap_or(false),
            spool_buffer_seconds: spool
                .and_then(|s| s.buffer_seconds)
                .unwrap_or(defaults::SPOOL_BUFFER_SECONDS),
            spool_buffer_mb: spool
                .and_then(|s| s.buffer_mb)
                .unwrap_or(defaults::SPOOL_BUFFER_MB),
            spool_retention_days: 0,
            spool_delivery_stream: format!("{name}-spool"),
            spool_peak_bytes_per_second: capacity.peak_events_per_second.saturating_mul(
                spool_line_bytes(capacity.average_event_bytes, &secondary.region),
            ),
            spool_quota_bytes_per_second: spool.and_then(|s| s.quota_mib_per_second).map_or_else(
                || aws::firehose_default_quota(&secondary.region).0,
                |mib| mib.saturating_mul(1024 * 1024),
            ),
            spool_quota_declared: spool.and_then(|s| s.quota_mib_per_second).is_some(),
        };

        let bridge = raw.bridge.as_ref();
        let bridge_timeout = bridge
            .and_then(|b| b.timeout_seconds)
            .unwrap_or(defaults::BRIDGE_TIMEOUT_SECONDS);
        let visibility = bridge
            .and_then(|b| b.visibility_timeout_seconds)
            .unwrap_or(bridge_timeout.saturating_mul(defaults::VISIBILITY_FACTOR));
        // The queue is a buffer like the others: its retries cover the outage and the margin.
        let outage_with_margin_seconds = buffers.hold_seconds;
        // The default longest delay keeps a long outage within the receive target: each
        // receive then adds at least the shortest (jittered) longest delay to the budget.
        let shortest_share = 100 - defaults::RETRY_JITTER_PERCENT;
        let max_delay = bridge
            .and_then(|b| b.retry_max_delay_seconds)
            .unwrap_or_else(|| {
                outage_with_margin_seconds
                    .saturating_mul(100)
                    .div_ceil(shortest_share.saturating_mul(defaults::RETRY_RECEIVE_TARGET))
                    .max(defaults::RETRY_MAX_DELAY_SECONDS)
            });
        let redelivery = Redelivery {
            first_delay_seconds: bridge
                .and_then(|b| b.retry_first_delay_seconds)
                .unwrap_or(defaults::RETRY_FIRST_DELAY_SECONDS)
                .min(max_delay),
            max_delay_seconds: max_delay,
            growth: defaults::RETRY_GROWTH,
            jitter_percent: defaults::RETRY_JITTER_PERCENT,
            max_receive_count: 0,
        }
        // Past SQS's limit the count stops one above it, for the checks to report.
        .covering(
            outage_with_margin_seconds,
            aws::SQS_MAX_RECEIVE_COUNT.1.saturating_add(1),
        );
        let max_receive_count = redelivery.max_receive_count;
        let retry_budget_seconds = redelivery.retry_budget_seconds();
        let dead_letter_after_seconds =
            redelivery.dead_letter_after_seconds(bridge_timeout, visibility);
        let bridge = BridgePlan {
            function: FunctionPlan {
                name: format!("{name}-bridge"),
                memory_mb: bridge
                    .and_then(|b| b.memory_mb)
                    .unwrap_or(defaults::BRIDGE_MEMORY_MB),
                timeout_seconds: bridge_timeout,
                batch_size: bridge
                    .and_then(|b| b.batch_size)
                    .unwrap_or(defaults::BRIDGE_BATCH_SIZE),
                reserved_concurrency: bridge_max_concurrency,
            },
            outage_hours: buffers.outage_seconds / 3600,
            outage_with_margin_seconds,
            visibility_timeout_seconds: visibility,
            redelivery,
            max_receive_count,
            retry_budget_seconds,
            dead_letter_after_seconds,
            queue_retention_seconds: dead_letter_after_seconds
                .saturating_add(defaults::RETENTION_MARGIN_SECONDS)
                .min(aws::SQS_MAX_RETENTION_SECONDS),
            chunk_bytes: BRIDGE_CHUNK_BYTES,
            chunks_per_object: (storage.spool_buffer_mb.saturating_mul(1024 * 1024))
                .div_ceil(BRIDGE_CHUNK_BYTES)
                .max(1),
            max_concurrency: bridge_max_concurrency,
            queue_name: format!("{name}-spool-objects"),
            dead_letter_queue_name: format!("{name}-spool-objects-dlq"),
        };
        // A message lives at most the dead-letter queue's retention from its first enqueue
        // (moving it to the DLQ keeps its enqueue time); a redrive then starts the queue's
        // retention anew. S3 expires an object at the first midnight UTC after its creation
        // plus the days, so whole days of that sum suffice.
        storage.spool_minimum_retention_days = aws::SQS_MAX_RETENTION_SECONDS
            .saturating_add(bridge.queue_retention_seconds)
            .div_ceil(86_400);
        storage.spool_retention_days = spool
            .and_then(|s| s.retention_days)
            .unwrap_or(storage.spool_minimum_retention_days);

        let functions = raw.functions.as_ref();
        let functions = FunctionsPlan {
            architecture: match functions.and_then(|f| f.architecture) {
                Some(Architecture::X86_64) => "x86_64",
                Some(Architecture::Arm64) | None => "arm64",
            },
            log_retention_days: functions
                .and_then(|f| f.log_retention_days)
                .unwrap_or(defaults::LOG_RETENTION_DAYS),
        };

        let athena = raw.athena.as_ref();
        let bytes_scanned_cutoff_mb = athena
            .and_then(|a| a.bytes_scanned_cutoff_mb)
            .unwrap_or(defaults::ATHENA_BYTES_SCANNED_CUTOFF_MB);
        let athena = AthenaPlan {
            database: athena
                .and_then(|a| a.database.clone())
                .unwrap_or_else(|| name.replace('-', "_")),
            workgroup: name.clone(),
            bytes_scanned_cutoff_mb,
            bytes_scanned_cutoff_bytes: bytes_scanned_cutoff_mb.saturating_mul(1_000_000),
        };

        let api = raw.api.as_ref();
        let throttle = api.and_then(|a| a.throttle.as_ref());
        let api = ApiPlan {
            throttle_rate: throttle
                .and_then(|t| t.rate)
                .unwrap_or(defaults::THROTTLE_RATE),
            throttle_burst: throttle
                .and_then(|t| t.burst)
                .unwrap_or(defaults::THROTTLE_BURST),
            max_event_bytes: api
                .and_then(|a| a.max_event_bytes)
                .unwrap_or(defaults::MAX_EVENT_BYTES),
            stage: api
                .and_then(|a| a.stage.clone())
                .unwrap_or_else(|| defaults::STAGE.to_owned()),
            manage_account_role: api.and_then(|a| a.manage_account_role).unwrap_or(true),
            ip_address_type: api
                .and_then(|a| a.ip_address_type)
                .unwrap_or(defaults::IP_ADDRESS_TYPE),
            health_cache_ttl_seconds: defaults::HEALTH_CACHE_TTL_SECONDS,
            health_cache_size_gb: defaults::HEALTH_CACHE_SIZE_GB,
            health_throttle_rate: defaults::HEALTH_THROTTLE_RATE,
            health_throttle_burst: defaults::HEALTH_THROTTLE_BURST,
            waf: None,
            keys: api
                .and_then(|a| a.keys.as_ref())
                .map(|keys| {
                    keys.apps
                        .iter()
                        .map(|(app, plan)| KeyAppPlan {
                            app: app.clone(),
                            rate: plan.rate,
                            burst: plan.burst.unwrap_or(plan.rate.saturating_mul(2)),
                            quota: plan.quota.as_ref().map(|q| {
                                (
                                    q.limit,
                                    match q.period {
                                        QuotaPeriod::Day => "DAY",
                                        QuotaPeriod::Week => "WEEK",
                                        QuotaPeriod::Month => "MONTH",
                                    },
                                )
                            }),
                            secret: format!("{name}/api-keys/{app}"),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            authorizer: api
                .and_then(|a| a.authorizer.as_ref())
                .map(|a| AuthorizerPlan {
                    function: a.function.clone(),
                    identity_headers: a
                        .identity_headers
                        .clone()
                        .unwrap_or_else(|| vec![defaults::AUTHORIZER_HEADER.to_owned()]),
                    ttl_seconds: a.ttl_seconds.unwrap_or(defaults::AUTHORIZER_TTL_SECONDS),
                }),
        };
        let raw_waf = raw.api.as_ref().and_then(|a| a.waf.as_ref());
        let api = ApiPlan {
            waf: raw_waf
                .and_then(|w| w.enabled)
                .unwrap_or(true)
                .then(|| waf(&name, raw_waf, &api, [&primary, &secondary])),
            ..api
        };
        let stacks = stacks(&name, &primary, &secondary, &failover, api.waf.as_ref());

        Plan {
            domain: DomainPlan {
                name: raw.domain.name.trim_end_matches('.').to_ascii_lowercase(),
                hosted_zone_id: raw.domain.hosted_zone_id.clone(),
            },
            primary,
            secondary,
            failover,
            capacity,
            buffers,
            validator,
            receiver,
            receiver_mapping,
            bridge,
            functions,
            storage,
            athena,
            alarms: AlarmsPlan {
                stalled_iterator_age_seconds: defaults::STALLED_ITERATOR_AGE_SECONDS,
                expiry_iterator_age_seconds: buffers.outage_seconds,
                spool_freshness_seconds: defaults::SPOOL_FRESHNESS_ALARM_SECONDS,
                spool_freshness_critical_seconds: buffers.firehose_retention_seconds / 2,
                email: raw.alarms.as_ref().and_then(|a| a.email.clone()),
                topic_name: format!("{name}-alarms"),
                health_topic_name: format!("{name}-health-alarms"),
            },
            api,
            tags: raw.tags.clone().unwrap_or_default(),
            events,
            stacks,
            name,
        }
    }

    /// Every event as the code generator takes it, in plan order (sorted by type).
    pub fn event_inputs(&self) -> Vec<EventInput<'_>> {
        self.events.iter().map(EventPlan::input).collect()
    }

    /// Both regions, primary first.
    pub fn regions(&self) -> [&RegionPlan; 2] {
        [&self.primary, &self.secondary]
    }

    /// The region of `role`.
    pub fn region(&self, role: Role) -> &RegionPlan {
        match role {
            Role::Primary => &self.primary,
            Role::Secondary => &self.secondary,
        }
    }

    /// The stack of `kind` (every plan has all four).
    pub fn stack(&self, kind: StackKind) -> &StackPlan {
        self.stacks
            .iter()
            .find(|stack| stack.kind == kind)
            .expect("the plan lists every stack kind")
    }
}

/// How long an invocation of a function with `timeout_seconds` lasts at least when its writes
/// keep failing: the handlers retry until the invocation's deadline less a safety margin of 5%
/// (at least 2 s; `ingest_runtime::pipeline::Deadline`), so a failing invocation is about as
/// long as the timeout.
pub fn failing_invocation_seconds(timeout_seconds: u64) -> u64 {
    timeout_seconds
        .saturating_sub((timeout_seconds / 20).max(2))
        .max(1)
}

/// The bytes of the spool line the receiver writes for an event of `event_bytes` from a
/// stream in `region`: the event in base64 and its origin (`{"region":..,"shard":..,
/// "sequence":..,"arrival":..,"data":..}` and a newline; `ingest_runtime`'s `SpoolRecord`).
pub fn spool_line_bytes(event_bytes: u64, region: &str) -> u64 {
    /// The line without its region and data: the keys and quotes, a 20-character shard id, a
    /// 56-digit sequence number, a 24-character arrival time and the newline.
    const ORIGIN_BYTES: u64 = 162;
    event_bytes.div_ceil(3).saturating_mul(4) + ORIGIN_BYTES + region.len() as u64
}

/// Reserved concurrency a Kinesis consumer needs for one batch per shard.
fn stream_concurrency(stream: &StreamPlan) -> u64 {
    match stream.mode {
        StreamCapacity::Provisioned { shards } => shards,
        StreamCapacity::OnDemand => defaults::ON_DEMAND_CONCURRENCY,
    }
}

/// The web ACL: the rate-based rule's numbers and what one address can do within them.
fn waf(
    name: &str,
    raw: Option<&crate::spec::raw::RawWaf>,
    api: &ApiPlan,
    regions: [&RegionPlan; 2],
) -> WafPlan {
    let rate_per_ip = raw
        .and_then(|w| w.rate_per_ip)
        .unwrap_or(defaults::WAF_RATE_PER_IP);
    let window_seconds = raw
        .and_then(|w| w.window_seconds)
        .unwrap_or(defaults::WAF_WINDOW_SECONDS);
    let large_body_bytes = raw
        .and_then(|w| w.large_body_bytes)
        .unwrap_or(defaults::WAF_LARGE_BODY_BYTES);
    let min_addresses_to_fill = raw
        .and_then(|w| w.min_addresses_to_fill)
        .unwrap_or(defaults::WAF_MIN_ADDRESSES_TO_FILL);
    let window = window_seconds.max(1);
    // Each address may write `smallest / min_addresses_to_fill` bytes a second. Every request
    // may be a body of `large_body_bytes` (the rate rule counts them all, large ones too); what
    // is left goes to bodies of `max_event_bytes`, counted by the large-body rule.
    let smallest = regions
        .iter()
        .map(|region| region.stream.bytes_per_second)
        .min()
        .unwrap_or(0);
    let budget_per_window =
        u128::from(smallest) * u128::from(window) / u128::from(min_addresses_to_fill.max(1));
    let small_per_window = u128::from(rate_per_ip) * u128::from(large_body_bytes);
    let (large_body_limit, per_ip_bytes_per_window) = if api.max_event_bytes <= large_body_bytes {
        // No accepted body is large: the rule never counts one, the rate rule bounds all.
        (rate_per_ip, rate_per_ip.saturating_mul(api.max_event_bytes))
    } else {
        let limit = u64::try_from(
            budget_per_window.saturating_sub(small_per_window)
                / u128::from(api.max_event_bytes.max(1)),
        )
        .unwrap_or(u64::MAX)
        .min(rate_per_ip);
        (
            limit,
            rate_per_ip
                .saturating_mul(large_body_bytes)
                .saturating_add(limit.saturating_mul(api.max_event_bytes)),
        )
    };
    let per_ip_bytes_per_second = per_ip_bytes_per_window.div_ceil(window);
    let per_ip_records_per_second = rate_per_ip as f64 / window as f64;
    let (lag_fill_requests_per_second, lag_fill_role) = regions
        .iter()
        .map(|region| {
            let by_bytes = region
                .stream
                .bytes_per_second
                .div_ceil(api.max_event_bytes.max(1));
            (by_bytes.min(region.stream.records_per_second), region.role)
        })
        .min_by_key(|(requests, _)| *requests)
        .unwrap_or((0, Role::Secondary));
    let (shortest_lag, longest_lag) = aws::WAF_MITIGATION_LAG_SECONDS;
    let lag_pool_addresses = (
        (window + longest_lag).div_ceil(longest_lag),
        (window + shortest_lag).div_ceil(shortest_lag),
    );
    // A key read out of an app is one client at its usage plan's rate and burst; the keys
    // bound the lag only if all of them together, in one second, fit the smaller stream.
    let lag_bound = if !api.keys.is_empty()
        && api.keys_requests_in_a_second() < lag_fill_requests_per_second
    {
        LagBound::ClientIdentity("api.keys")
    } else if api.authorizer.is_some() {
        LagBound::ClientIdentity("api.authorizer")
    } else if api.throttle_rate.saturating_add(api.throttle_burst) < lag_fill_requests_per_second {
        // A token bucket passes its burst and a second's rate within one second: both must
        // fit, or a client that saves up the burst fills the stream for a while each time.
        LagBound::StageThrottle
    } else {
        LagBound::Open {
            accepted: raw.and_then(|w| w.mitigation_lag_accepted.clone()),
        }
    };
    WafPlan {
        rate_per_ip,
        window_seconds,
        health_allow_cidrs: raw
            .and_then(|w| w.health_allow_cidrs.clone())
            .unwrap_or_default(),
        large_body_bytes,
        large_body_limit,
        min_addresses_to_fill,
        per_ip_bytes_per_second,
        per_ip_records_per_second,
        lag_fill_requests_per_second,
        lag_fill_role,
        lag_pool_addresses,
        lag_bound,
        addresses_to_fill: regions.map(|region| {
            let by_bytes = region
                .stream
                .bytes_per_second
                .div_ceil(per_ip_bytes_per_second.max(1));
            let by_records = (region.stream.records_per_second as f64
                / per_ip_records_per_second.max(f64::MIN_POSITIVE))
            .ceil() as u64;
            by_bytes.min(by_records)
        }),
        blocked_alarm_per_minute: defaults::WAF_BLOCKED_ALARM_ADDRESSES
            .saturating_mul(rate_per_ip)
            .saturating_mul(60)
            .div_ceil(window),
        blocked_alarm_minutes: defaults::WAF_BLOCKED_ALARM_MINUTES,
        log_group: format!("aws-waf-logs-{name}"),
        health_token_secret: format!("{name}/health-token"),
    }
}

/// The drain switches: the publisher, the metric and each region's alarm.
fn lever(name: &str, raw: Option<&crate::spec::raw::RawFailover>) -> LeverPlan {
    let kind = match raw.and_then(|f| f.lever) {
        Some(LeverKind::Arc) => LeverChoice::Arc,
        Some(LeverKind::Metric) | None => LeverChoice::Metric,
    };
    let alarm = |role: Role| {
        // Everything Route 53 copies from the alarm when the check is created.
        let settings = format!(
            "{}|{}|{LEVER_DIMENSION_PIPELINE}={name},{LEVER_DIMENSION_REGION}={}|Maximum|{}|1|1|GreaterThanOrEqualToThreshold",
            defaults::LEVER_NAMESPACE,
            LEVER_METRIC,
            role.as_str(),
            defaults::LEVER_PERIOD_SECONDS
        );
        let digest = Sha256::digest(settings.as_bytes());
        let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        LeverAlarm {
            role,
            name: format!("{name}-lever-{}-{hash}", role.as_str()),
            region_dimension: role.as_str(),
        }
    };
    LeverPlan {
        kind,
        operators: raw
            .and_then(|f| f.lever_operators.clone())
            .unwrap_or_default(),
        publisher: FunctionPlan {
            name: format!("{name}-lever"),
            memory_mb: defaults::LEVER_MEMORY_MB,
            timeout_seconds: defaults::LEVER_TIMEOUT_SECONDS,
            batch_size: 1,
            reserved_concurrency: defaults::LEVER_CONCURRENCY,
        },
        namespace: defaults::LEVER_NAMESPACE,
        metric: LEVER_METRIC,
        tamper_metric: LEVER_TAMPER_METRIC,
        period_seconds: defaults::LEVER_PERIOD_SECONDS,
        publish_seconds: defaults::LEVER_PUBLISH_SECONDS,
        switch_noncurrent_days: defaults::SWITCH_NONCURRENT_DAYS,
        alarms: [alarm(Role::Primary), alarm(Role::Secondary)],
        operator_role_output: "LeverOperatorRoleArn",
    }
}

/// The metric of a drain switch.
pub const LEVER_METRIC: &str = "Drained";
/// The lever metrics' dimension naming the pipeline (value: the spec's `name`).
pub const LEVER_DIMENSION_PIPELINE: &str = "Ingest";
/// The switch metric's dimension naming the region it drains (`primary`, `secondary`).
pub const LEVER_DIMENSION_REGION: &str = "Region";
/// The metric of a disagreement between the published state and the switch objects.
pub const LEVER_TAMPER_METRIC: &str = "LeverTampered";
/// The four stacks in deploy order, with what each takes from the others. The regional stacks
/// are independent; the dns stack takes each region's execute-api host and custom-domain alias
/// target; the monitoring stack takes the health checks the dns stack created.
fn stacks(
    name: &str,
    primary: &RegionPlan,
    secondary: &RegionPlan,
    failover: &FailoverPlan,
    waf: Option<&WafPlan>,
) -> Vec<StackPlan> {
    let input = |parameter: String, from: StackKind, output: &str| StackInput {
        parameter,
        from,
        output: output.to_owned(),
    };
    let regional = [
        (StackKind::Primary, "Primary"),
        (StackKind::Secondary, "Secondary"),
    ];
    let mut dns_inputs: Vec<StackInput> = regional
        .iter()
        .flat_map(|&(kind, prefix)| {
            [
                input(format!("{prefix}ApiHost"), kind, "ApiHost"),
                input(format!("{prefix}TargetDomainName"), kind, "DomainTarget"),
                input(
                    format!("{prefix}TargetHostedZoneId"),
                    kind,
                    "DomainTargetHostedZoneId",
                ),
            ]
        })
        .collect();
    if failover.lever.kind == LeverChoice::Metric {
        // The switch checks read the alarms the secondary stack made: taking their names from
        // its outputs orders the stacks and updates the checks whenever an alarm is renamed.
        for &(_, prefix) in &regional {
            dns_inputs.push(input(
                format!("{prefix}SwitchAlarmName"),
                StackKind::Secondary,
                &format!("{prefix}SwitchAlarmName"),
            ));
        }
    }
    // The regional stacks and the dns stack (in the secondary region) take the token.
    let health_token = || {
        waf.map(|waf| DeployInput::HealthToken {
            parameter: HEALTH_TOKEN_PARAMETER.to_owned(),
            secret: waf.health_token_secret.clone(),
            regions: vec![primary.region.clone(), secondary.region.clone()],
            checks_stack: format!("{name}-{}", StackKind::Dns.as_str()),
            checks_region: secondary.region.clone(),
        })
    };
    // The regional stacks' web ACLs also accept the token the deployed checks send.
    let checker_ranges = || {
        waf.map(|waf| DeployInput::CheckerRanges {
            parameter: CHECKER_RANGES_PARAMETER.to_owned(),
            regions: failover.checker_regions.clone(),
            extra: waf.health_allow_cidrs.clone(),
        })
        .into_iter()
        .chain(health_token())
        .chain(waf.map(|_| DeployInput::PreviousHealthToken {
            parameter: HEALTH_TOKEN_PREVIOUS_PARAMETER.to_owned(),
        }))
        .collect::<Vec<_>>()
    };
    let monitoring_inputs = regional
        .iter()
        .flat_map(|&(_, prefix)| {
            ["HealthCheckId", "EndpointCheckId"].map(|suffix| {
                let key = format!("{prefix}{suffix}");
                input(key.clone(), StackKind::Dns, &key)
            })
        })
        .collect();
    let partition = aws::partition_of(&primary.region).unwrap_or(Partition::Aws);
    let stack =
        |kind: StackKind, region: &str, depends_on: Vec<StackKind>, inputs, deploy_inputs| {
            StackPlan {
                kind,
                name: format!("{name}-{}", kind.as_str()),
                region: region.to_owned(),
                depends_on,
                inputs,
                deploy_inputs,
            }
        };
    vec![
        stack(
            StackKind::Primary,
            &primary.region,
            Vec::new(),
            Vec::new(),
            checker_ranges(),
        ),
        stack(
            StackKind::Secondary,
            &secondary.region,
            Vec::new(),
            Vec::new(),
            checker_ranges(),
        ),
        stack(
            StackKind::Dns,
            &secondary.region,
            vec![StackKind::Primary, StackKind::Secondary],
            dns_inputs,
            health_token().into_iter().collect(),
        ),
        stack(
            StackKind::Monitoring,
            aws::route53_metrics_region(partition),
            vec![StackKind::Dns],
            monitoring_inputs,
            Vec::new(),
        ),
    ]
}

fn resolve_region(
    name: &str,
    role: Role,
    raw: &RawRegion,
    weight: u64,
    total_weight: u64,
    capacity: &CapacityPlan,
    default_retention_hours: u64,
) -> RegionPlan {
    let stream = raw.stream.as_ref();
    let mode = match (stream.and_then(|s| s.mode), stream.and_then(|s| s.shards)) {
        (Some(StreamMode::OnDemand), _) | (None, None) => StreamCapacity::OnDemand,
        (_, shards) => StreamCapacity::Provisioned {
            shards: shards.unwrap_or(0),
        },
    };
    let (bytes_per_second, records_per_second) = match mode {
        StreamCapacity::Provisioned { shards } => (
            shards.saturating_mul(aws::SHARD_BYTES_PER_SECOND),
            shards.saturating_mul(aws::SHARD_RECORDS_PER_SECOND),
        ),
        StreamCapacity::OnDemand => (
            aws::ON_DEMAND_INITIAL_BYTES_PER_SECOND,
            aws::ON_DEMAND_INITIAL_RECORDS_PER_SECOND,
        ),
    };
    let ratio = |have: u64, need: u64| {
        if need == 0 {
            f64::INFINITY
        } else {
            have as f64 / need as f64
        }
    };
    let peak_multiple = ratio(bytes_per_second, capacity.peak_bytes_per_second)
        .min(ratio(records_per_second, capacity.peak_events_per_second));
    let region = raw.region.clone();
    RegionPlan {
        role,
        partition: aws::partition_of(&region)
            .unwrap_or(Partition::Aws)
            .as_str(),
        endpoint: match raw.endpoint {
            Some(EndpointKind::Edge) => Endpoint::Edge,
            Some(EndpointKind::Regional) | None => Endpoint::Regional,
        },
        certificate_arn: raw.certificate_arn.clone(),
        stream: StreamPlan {
            name: format!("{name}-stream"),
            mode,
            retention_hours: stream
                .and_then(|s| s.retention_hours)
                .unwrap_or(default_retention_hours),
            bytes_per_second,
            records_per_second,
            peak_multiple,
        },
        weight,
        weight_percent: if total_weight == 0 {
            0.0
        } else {
            weight as f64 * 100.0 / total_weight as f64
        },
        region,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A plan of the smallest spec, with `extra` merged into it.
    fn resolve(extra: serde_json::Value) -> Plan {
        let mut spec = json!({
            "name": "demo",
            "domain": { "name": "ingest.example.com", "hosted_zone_id": "Z0123456789ABCDEFGHIJ" },
            "regions": {
                "primary": { "region": "eu-west-1", "certificate_arn": "arn", "stream": { "shards": 8 } },
                "secondary": { "region": "eu-central-1", "certificate_arn": "arn", "stream": { "shards": 2, "retention_hours": 48 } }
            },
            "capacity": { "peak_events_per_second": 100, "average_event_bytes": 500 },
            "events": {}
        });
        let (Some(spec_map), Some(extra)) = (spec.as_object_mut(), extra.as_object()) else {
            panic!("objects");
        };
        for (key, value) in extra {
            spec_map.insert(key.clone(), value.clone());
        }
        let raw: RawSpec = serde_json::from_value(spec).unwrap();
        Plan::resolve(&raw, Vec::new())
    }

    #[test]
    fn buffers_hold_the_outage_and_a_margin() {
        let plan = resolve(json!({}));
        let buffers = &plan.buffers;
        // The default outage of 24 h: a margin of 6 h; streams keep 36 h.
        assert_eq!(
            (
                buffers.outage_seconds,
                buffers.margin_seconds,
                buffers.hold_seconds
            ),
            (86_400, 21_600, 108_000)
        );
        assert_eq!(buffers.stream_retention_hours, 36);
        assert_eq!(plan.primary.stream.retention_hours, 36);
        // A written retention is kept (the checks judge it).
        assert_eq!(plan.secondary.stream.retention_hours, 48);
        // The mappings give up a margin before the stream trims, and retry until then.
        assert_eq!(plan.validator.max_record_age_seconds, 36 * 3600 - 21_600);
        assert_eq!(
            plan.receiver_mapping.max_record_age_seconds,
            48 * 3600 - 21_600
        );
        assert_eq!(plan.validator.max_retries, None);
        assert_eq!(plan.receiver_mapping.max_retries, None);
        // A short outage keeps the least margin, an hour, and Kinesis's least retention.
        let short = BufferPlan::for_outage(2);
        assert_eq!(
            (short.margin_seconds, short.stream_retention_hours),
            (3600, 24)
        );
        // Lambda's ceiling of 7 days wins over a longer retention.
        let long = plan_with_retention(8760);
        assert_eq!(long.validator.max_record_age_seconds, 604_800);
        // The spec's own values are kept (the checks judge them).
        let own =
            resolve(json!({ "validator": { "max_record_age_seconds": 600, "max_retries": 3 } }));
        assert_eq!(own.validator.max_record_age_seconds, 600);
        assert_eq!(own.validator.max_retries, Some(3));
    }

    fn plan_with_retention(hours: u64) -> Plan {
        resolve(json!({
            "regions": {
                "primary": { "region": "eu-west-1", "certificate_arn": "arn", "stream": { "shards": 8, "retention_hours": hours } },
                "secondary": { "region": "eu-central-1", "certificate_arn": "arn" }
            }
        }))
    }

    #[test]
    fn reserved_concurrency_covers_every_shard_and_the_bridge() {
        let plan = resolve(json!({ "validator": { "parallelization_factor": 3 } }));
        assert_eq!(plan.validator.function.reserved_concurrency, 8 * 3 + 10);
        assert_eq!(plan.receiver.reserved_concurrency, 2 + 2);
        assert_eq!(plan.bridge.function.reserved_concurrency, 10);
        assert_eq!(plan.bridge.max_concurrency, 10);
        // An on-demand stream has no shard count: it counts as 50.
        let on_demand = plan_with_retention(24);
        assert_eq!(on_demand.receiver.reserved_concurrency, 50 + 2);
    }

    #[test]
    fn stacks_in_deploy_order_with_the_monitoring_stack_where_route53_reports() {
        let plan = resolve(json!({}));
        let listed: Vec<(&str, &str, Vec<&str>)> = plan
            .stacks
            .iter()
            .map(|s| {
                let after = s.depends_on.iter().map(|k| k.as_str()).collect();
                (s.name.as_str(), s.region.as_str(), after)
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("demo-primary", "eu-west-1", vec![]),
                ("demo-secondary", "eu-central-1", vec![]),
                ("demo-dns", "eu-central-1", vec!["primary", "secondary"]),
                ("demo-monitoring", "us-east-1", vec!["dns"]),
            ]
        );
        let monitoring = plan.stack(StackKind::Monitoring);
        let inputs: Vec<(&str, &str)> = monitoring
            .inputs
            .iter()
            .map(|i| (i.parameter.as_str(), i.output.as_str()))
            .collect();
        assert_eq!(
            inputs,
            [
                ("PrimaryHealthCheckId", "PrimaryHealthCheckId"),
                ("PrimaryEndpointCheckId", "PrimaryEndpointCheckId"),
                ("SecondaryHealthCheckId", "SecondaryHealthCheckId"),
                ("SecondaryEndpointCheckId", "SecondaryEndpointCheckId"),
            ]
        );
        let china = plan_in("cn-north-1", "cn-northwest-1");
        assert_eq!(china.stack(StackKind::Monitoring).region, "cn-northwest-1");
    }

    fn plan_in(primary: &str, secondary: &str) -> Plan {
        resolve(json!({
            "regions": {
                "primary": { "region": primary, "certificate_arn": "arn" },
                "secondary": { "region": secondary, "certificate_arn": "arn" }
            }
        }))
    }

    #[test]
    fn athena_cutoff_defaults_to_100_gb_in_bytes() {
        let plan = resolve(json!({}));
        assert_eq!(plan.athena.bytes_scanned_cutoff_mb, 100_000);
        assert_eq!(plan.athena.bytes_scanned_cutoff_bytes, 100_000_000_000);
        let own = plan_own_cutoff(10);
        assert_eq!(own.athena.bytes_scanned_cutoff_bytes, 10_000_000);
    }

    fn plan_own_cutoff(mb: u64) -> Plan {
        resolve(json!({ "athena": { "bytes_scanned_cutoff_mb": mb } }))
    }
}
