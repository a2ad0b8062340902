//! The spec exactly as written: one type per mapping of `ingest.yaml`.
//!
//! These types mirror the YAML and nothing more: optional keys are `Option`, numbers are wide
//! enough to hold what a user may type, and every struct rejects unknown keys. Defaults, limits
//! and derived names are not here; [`crate::plan`] resolves them after [`crate::checks`] has
//! judged the values. The JSON Schema of `ingest.yaml` (`ingest schema`) is derived from these
//! types, so the doc comments below are what editors show as hover help.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An `ingest.yaml`: one event-ingest system in two AWS regions.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ingest.yaml")]
pub struct RawSpec {
    /// Prefix of every physical name: lowercase letters, digits and hyphens, 2 to 31 characters,
    /// starting with a letter.
    pub name: String,
    /// The public name clients post events to.
    pub domain: RawDomain,
    /// The primary and the secondary (standby) region.
    pub regions: RawRegions,
    /// How Route 53 decides that a region is unhealthy.
    pub failover: Option<RawFailover>,
    /// The peak load each region must be able to carry on its own.
    pub capacity: RawCapacity,
    /// The validator function in the primary region.
    pub validator: Option<RawValidator>,
    /// The receiver function in the secondary region (Kinesis to Firehose).
    pub receiver: Option<RawReceiver>,
    /// The bridge function in the secondary region (spool to the primary's validator).
    pub bridge: Option<RawBridge>,
    /// Settings shared by every function.
    pub functions: Option<RawFunctions>,
    /// Retention of the buckets and buffering of the spool.
    pub storage: Option<RawStorage>,
    /// The Glue database that Athena queries.
    pub athena: Option<RawAthena>,
    /// Where alarms are sent.
    pub alarms: Option<RawAlarms>,
    /// The ingest API.
    pub api: Option<RawApi>,
    /// Tags put on every resource that takes tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// The event types, keyed by their CloudEvents `type` (for example `shift.created`).
    pub events: BTreeMap<String, RawEvent>,
}

/// The public DNS name and the Route 53 zone that holds it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDomain {
    /// The name clients post to, for example `ingest.example.com`.
    pub name: String,
    /// The Route 53 hosted zone of that name, for example `Z0123456789ABCDEFGHIJ`.
    pub hosted_zone_id: String,
}

/// Both regions.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRegions {
    /// Where events are validated and stored.
    pub primary: RawRegion,
    /// The standby: it always carries a small share, and buffers what it receives until the
    /// primary can take it.
    pub secondary: RawRegion,
}

/// One region's API, stream and weight.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    /// The AWS region, for example `us-east-1`.
    pub region: String,
    /// `edge` (CloudFront-backed, at most one region) or `regional`. Default: `regional`.
    pub endpoint: Option<EndpointKind>,
    /// ACM certificate for the domain: in us-east-1 for `edge`, in this region for `regional`.
    pub certificate_arn: String,
    /// The Kinesis stream: `{ shards: N }` or `{ mode: on_demand }`. Default: on-demand.
    pub stream: Option<RawStream>,
    /// Route 53 weight, 0 to 255; the share is weight / sum of weights. Default: 95 for the
    /// primary, 5 for the secondary.
    pub weight: Option<u64>,
}

/// API Gateway endpoint types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// Edge-optimized: served through an API Gateway-owned CloudFront distribution.
    Edge,
    /// Regional: served from the region itself.
    Regional,
}

/// Kinesis capacity modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamMode {
    /// A fixed number of shards (`shards`).
    Provisioned,
    /// Kinesis scales the stream with traffic.
    OnDemand,
}

/// A region's Kinesis stream.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStream {
    /// Number of shards; each takes 1 MiB/s and 1,000 records/s. Implies `mode: provisioned`.
    pub shards: Option<u64>,
    /// `provisioned` (with `shards`) or `on_demand`.
    pub mode: Option<StreamMode>,
    /// How long records stay in the stream, 24 to 8760 hours. Default: 24.
    pub retention_hours: Option<u64>,
}

/// Automatic failover through Route 53 health checks, and the lever.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFailover {
    /// Whether a region whose health check fails stops getting traffic. Default: true.
    pub automatic: Option<bool>,
    /// The endpoint health check.
    pub health_check: Option<RawHealthCheck>,
    /// What the drain switches are. `metric` (default): S3 objects in the secondary region
    /// that only the lever's operator role may write, published every minute as a CloudWatch
    /// metric whose alarms Route 53 reads (no public route; a few dollars a month). `arc`:
    /// Route 53 Application Recovery Controller routing controls (a cluster billed by the
    /// hour; its configuration lives in us-west-2, so the secondary region must be us-west-2).
    pub lever: Option<LeverKind>,
    /// IAM principals (role or user ARNs) that may assume the lever's operator role, the only
    /// identity allowed to set the drain switches. Default: any principal of the account that
    /// IAM allows to assume it.
    pub lever_operators: Option<Vec<String>>,
}

/// The mechanism of the drain switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeverKind {
    /// CloudWatch alarms in the secondary region on a metric published from the switch objects.
    Metric,
    /// Route 53 Application Recovery Controller routing controls.
    Arc,
}

/// The Route 53 check of each region's `GET /health`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    /// Path of the health route. Default: `/health`.
    pub path: Option<String>,
    /// 10 or 30 seconds between checks. Default: 30.
    pub interval_seconds: Option<u64>,
    /// Consecutive failures before a region counts as unhealthy, 1 to 10. Default: 3.
    pub failure_threshold: Option<u64>,
    /// Route 53 checker regions (at least 3) that run the endpoint checks; with `api.waf` on,
    /// only their published addresses may read the health route. Default: us-east-1,
    /// us-west-1, eu-west-1.
    pub regions: Option<Vec<String>>,
}

/// The declared peak load.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCapacity {
    /// Events per second at peak, across all clients.
    pub peak_events_per_second: u64,
    /// Average size of one event in bytes.
    pub average_event_bytes: u64,
}

/// The validator function and its Kinesis mapping.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawValidator {
    /// Memory in MB, 128 to 10240. Default: 512.
    pub memory_mb: Option<u64>,
    /// Timeout in seconds, 1 to 900. Default: 60.
    pub timeout_seconds: Option<u64>,
    /// Records per invocation, 1 to 10000. Default: 500.
    pub batch_size: Option<u64>,
    /// Retries of a failing batch (after bisecting), 0 to 10000. Default: 10.
    pub max_retries: Option<u64>,
    /// Oldest record the mapping still retries, 60 to 604800 seconds and at least an hour below
    /// the primary stream's retention (a record trimmed by retention first never reaches the
    /// failed-batches bucket). Default: the retention less one hour.
    pub max_record_age_seconds: Option<u64>,
    /// Seconds the mapping may wait to fill a batch, 0 to 300. Default: 1.
    pub batching_window_seconds: Option<u64>,
    /// Concurrent batches per shard, 1 to 10. Default: 1.
    pub parallelization_factor: Option<u64>,
}

/// The receiver function in the secondary region.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReceiver {
    /// Memory in MB, 128 to 10240. Default: 256.
    pub memory_mb: Option<u64>,
    /// Timeout in seconds, 1 to 900. Default: 60.
    pub timeout_seconds: Option<u64>,
    /// Records per invocation, 1 to 10000. Default: 500.
    pub batch_size: Option<u64>,
}

/// The bridge function and its queue.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBridge {
    /// Longest primary outage the bridge must ride out without losing a message, in hours.
    /// Sets the queue's retry budget and retention. Default: 24.
    pub outage_hours: Option<u64>,
    /// Memory in MB, 128 to 10240. Default: 512.
    pub memory_mb: Option<u64>,
    /// Timeout in seconds, 1 to 900; must cover invoking the validator once per chunk of a spool
    /// object. Default: 300.
    pub timeout_seconds: Option<u64>,
    /// SQS messages per invocation, 1 to 10. Default: 10.
    pub batch_size: Option<u64>,
    /// Queue visibility timeout, at least 6 times `timeout_seconds`. Default: 6 times it.
    /// A message the bridge fails comes back sooner, on the retry delays below; this timeout
    /// applies only when an invocation dies before it can set them.
    pub visibility_timeout_seconds: Option<u64>,
    /// Seconds before a failed spool message is tried again the first time; each further
    /// failure doubles the delay up to `retry_max_delay_seconds`. Default: 30.
    pub retry_first_delay_seconds: Option<u64>,
    /// The longest delay between two tries of a spool message, at most 43200 (12 hours): after
    /// the primary recovers, the backlog is delivered within about this long. Default: 300, or
    /// more for an outage that would otherwise need more than 500 tries per message.
    pub retry_max_delay_seconds: Option<u64>,
}

/// Settings every function shares.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFunctions {
    /// `arm64` or `x86_64`. Default: `arm64`.
    pub architecture: Option<Architecture>,
    /// Days the functions' logs are kept; one of CloudWatch's allowed values. Default: 30.
    pub log_retention_days: Option<u64>,
}

/// Lambda architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Graviton.
    Arm64,
    /// Intel and AMD.
    X86_64,
}

/// Buckets: how long each keeps its objects, and who may read the lake.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStorage {
    /// Validated events (primary). Default: kept forever (`retention_days: 0`).
    pub good: Option<RawRetention>,
    /// Rejected records with their reasons and original bytes (primary), 1 to 365 days.
    /// Default: 30.
    pub quarantine: Option<RawRetention>,
    /// Kinesis batches a mapping gave up on (both regions), 7 to 365 days. Default: 30.
    pub failed: Option<RawRetention>,
    /// Athena query results (primary), 1 to 365 days. Default: 30.
    pub athena_results: Option<RawRetention>,
    /// S3 server access logs of the buckets (both regions), 1 to 3650 days. Default: 90.
    pub access_logs: Option<RawRetention>,
    /// The secondary's buffer of received records.
    pub spool: Option<RawSpool>,
    /// The analysts' reader role of the primary: the one identity besides the pipeline's own
    /// that can decrypt the lake.
    pub readers: Option<RawReaders>,
}

/// Who may read the lake, and how much of it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReaders {
    /// IAM principals (role or user ARNs) that may assume the reader role. Default: any
    /// principal of the account that IAM allows to assume it.
    pub principals: Option<Vec<String>>,
    /// Whether the reader role may also read the quarantine (raw bodies as sent, possibly
    /// personal data). Default: false.
    pub quarantine: Option<bool>,
}

/// How long a bucket keeps objects.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    /// Days before objects expire; for the good bucket, 0 keeps them forever.
    pub retention_days: Option<u64>,
}

/// The Firehose spool in the secondary region.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSpool {
    /// Seconds Firehose buffers before writing an object, 0 to 900. Default: 60.
    pub buffer_seconds: Option<u64>,
    /// MB Firehose buffers before writing an object, 1 to 128. Default: 5.
    pub buffer_mb: Option<u64>,
    /// Days spool objects are kept; must outlast the bridge queue's and its dead-letter
    /// queue's retention, so a redriven message still finds its object. Default: derived from
    /// them (16 days with the defaults).
    pub retention_days: Option<u64>,
    /// The Firehose stream's throughput quota in MiB/s, when AWS raised it for this account
    /// (a Direct PUT stream gets 5 MiB/s by default in us-east-1, us-west-2 and eu-west-1, 1 MiB/s
    /// elsewhere). At 100% failover the spool must carry the whole peak. Default: the region's.
    pub quota_mib_per_second: Option<u64>,
}

/// Athena.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAthena {
    /// Glue database name: lowercase letters, digits and underscores. Default: `name` with
    /// hyphens as underscores.
    pub database: Option<String>,
    /// Most data one query of the workgroup may scan, in MB (10^6 bytes), at least 10; Athena
    /// cancels a query that would scan more (the workgroup's `BytesScannedCutoffPerQuery`).
    /// Default: 100000 (100 GB, about $0.50 of scanning per query).
    pub bytes_scanned_cutoff_mb: Option<u64>,
}

/// Alarm delivery.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlarms {
    /// Address subscribed to the alarm topic. Without it the topic has no subscriber.
    pub email: Option<String>,
}

/// The ingest API.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    /// Stage throttling.
    pub throttle: Option<RawThrottle>,
    /// Largest request body accepted, at most 1 MiB (one Kinesis record); larger bodies get 413.
    /// Default: 262144.
    pub max_event_bytes: Option<u64>,
    /// Stage name, also the first path segment of the execute-api URL. Default: `v1`.
    pub stage: Option<String>,
    /// Whether the stacks set API Gateway's account-wide CloudWatch role in each region (one per
    /// account and region; turn off when something else already manages it). Default: true.
    pub manage_account_role: Option<bool>,
    /// AWS WAF in front of both stages: a per-client rate limit, and the health route open to
    /// Route 53's health checkers only. On by default.
    pub waf: Option<RawWaf>,
    /// API keys with a usage plan per client app: requests without a known key are refused
    /// before they reach Kinesis. Off by default.
    pub keys: Option<RawKeys>,
    /// A Lambda `REQUEST` authorizer of your own (deployed in both regions under one name) that
    /// checks each request's credentials (a signature, a token) before it reaches Kinesis.
    pub authorizer: Option<RawAuthorizer>,
    /// Which client addresses the API and its custom domain answer: `ipv4` (default) or
    /// `dualstack` (IPv6 too, with AAAA records). WAF counts each IPv6 address on its own, so
    /// one host with an IPv6 /64 rotates past `api.waf.rate_per_ip`: use `dualstack` only with
    /// `api.keys` or `api.authorizer` (a warning says so).
    pub ip_address_type: Option<IpAddressType>,
}

/// The address families an API endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IpAddressType {
    /// IPv4 only: every client is counted per IPv4 address.
    Ipv4,
    /// IPv4 and IPv6.
    Dualstack,
}

impl IpAddressType {
    /// The value of `EndpointConfiguration.IpAddressType` (API Gateway's spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Dualstack => "dualstack",
        }
    }
}

/// The regional AWS WAF web ACL of each stage.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWaf {
    /// Whether the stages get a web ACL. Default: true. Without it one client can fill the
    /// streams and the health route is open to everyone (a warning says so).
    pub enabled: Option<bool>,
    /// Requests one client address may send in `window_seconds` before WAF answers 429 until
    /// its rate falls again, at least 10. Default: 600 (2 requests a second on average).
    pub rate_per_ip: Option<u64>,
    /// The window WAF counts a client's requests over: 60, 120, 300 or 600 seconds.
    /// Default: 300.
    pub window_seconds: Option<u64>,
    /// Extra IPv4 CIDR ranges (your monitoring, say) that may read the health route besides
    /// Route 53's health checkers (with the health token, like them).
    pub health_allow_cidrs: Option<Vec<String>>,
    /// Bodies larger than this many bytes are "large": besides `rate_per_ip`, each address may
    /// send only so many of them per window, a limit `ingest check` derives from
    /// `min_addresses_to_fill`. 1 to 16384 (the body size WAF inspects at no extra charge;
    /// larger bodies count as large unseen). Default: 4096.
    pub large_body_bytes: Option<u64>,
    /// How many client addresses, each sending at its limits (`rate_per_ip` requests per
    /// window, the large ones of `api.max_event_bytes`), it must take to fill the smaller
    /// region's stream, in bytes and in records. `ingest check` fails when the limits cannot
    /// guarantee it. Default: 100.
    pub min_addresses_to_fill: Option<u64>,
    /// Why the team accepts that, for the 30-50 s before WAF starts counting a new address
    /// (its mitigation lag), nothing per address holds it: a small pool of addresses used in
    /// turn can keep the smaller stream full, fewer than `min_addresses_to_fill`. Without
    /// `api.keys`, `api.authorizer` or a stage throttle whose rate of the largest bodies the
    /// smaller stream can take, `ingest check` fails unless this says why (who decided, and
    /// what else limits clients). The summary prints it.
    pub mitigation_lag_accepted: Option<String>,
}

/// API keys and their usage plans.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKeys {
    /// One usage plan and key per client app, keyed by a short app name (`[a-z][a-z0-9-]*`).
    /// The key's value is read at deploy time from the Secrets Manager secret
    /// `<name>/api-keys/<app>`, which must exist in both regions.
    pub apps: BTreeMap<String, RawKeyApp>,
}

/// One client app's usage plan.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKeyApp {
    /// Steady requests per second of the app's key, at most `api.throttle.rate`.
    pub rate: u64,
    /// Burst of requests of the app's key. Default: twice `rate`.
    pub burst: Option<u64>,
    /// Requests per day, week or month; beyond it the key gets 429 until the period ends.
    pub quota: Option<RawQuota>,
}

/// A usage plan quota.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawQuota {
    /// Requests allowed per period.
    pub limit: u64,
    /// `day`, `week` or `month`.
    pub period: QuotaPeriod,
}

/// A usage plan quota period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuotaPeriod {
    /// A UTC day.
    Day,
    /// A week.
    Week,
    /// A month.
    Month,
}

/// A Lambda authorizer on `POST /events`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAuthorizer {
    /// Name of the function, the same in both regions (each region's API calls its own).
    pub function: String,
    /// Request headers that carry the credentials; a request without them is refused with 401
    /// without calling the function. Default: `[Authorization]`.
    pub identity_headers: Option<Vec<String>>,
    /// Seconds API Gateway caches the function's answer per identity, 0 to 3600. Default: 300.
    pub ttl_seconds: Option<u64>,
}

/// API Gateway stage throttling.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawThrottle {
    /// Steady requests per second. Default: 2000.
    pub rate: Option<u64>,
    /// Burst of requests. Default: 5000.
    pub burst: Option<u64>,
}

/// One event type.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    /// What the event means; becomes the documentation of its generated type.
    pub description: Option<String>,
    /// The JSON Schema (draft 2020-12 subset) of the event's `data`. Give this or `schema_file`.
    pub schema: Option<Value>,
    /// A JSON or YAML file holding the schema, relative to this spec. Give this or `schema`.
    pub schema_file: Option<String>,
}
