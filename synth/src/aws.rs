//! Facts about AWS that the checks and the plan rely on: regions, partitions and service limits.
//!
//! Each limit names the documentation page it comes from; `docs/traps.md` tells the traps they
//! guard against. Quotas that an account can raise are kept apart from hard limits: exceeding a
//! default quota is a warning, exceeding a hard limit an error.

/// AWS regions by partition, as of 2026.
pub const REGIONS: &[(&str, Partition)] = &[
    ("us-east-1", Partition::Aws),
    ("us-east-2", Partition::Aws),
    ("us-west-1", Partition::Aws),
    ("us-west-2", Partition::Aws),
    ("af-south-1", Partition::Aws),
    ("ap-east-1", Partition::Aws),
    ("ap-east-2", Partition::Aws),
    ("ap-south-1", Partition::Aws),
    ("ap-south-2", Partition::Aws),
    ("ap-southeast-1", Partition::Aws),
    ("ap-southeast-2", Partition::Aws),
    ("ap-southeast-3", Partition::Aws),
    ("ap-southeast-4", Partition::Aws),
    ("ap-southeast-5", Partition::Aws),
    ("ap-southeast-6", Partition::Aws),
    ("ap-southeast-7", Partition::Aws),
    ("ap-northeast-1", Partition::Aws),
    ("ap-northeast-2", Partition::Aws),
    ("ap-northeast-3", Partition::Aws),
    ("ca-central-1", Partition::Aws),
    ("ca-west-1", Partition::Aws),
    ("eu-central-1", Partition::Aws),
    ("eu-central-2", Partition::Aws),
    ("eu-west-1", Partition::Aws),
    ("eu-west-2", Partition::Aws),
    ("eu-west-3", Partition::Aws),
    ("eu-south-1", Partition::Aws),
    ("eu-south-2", Partition::Aws),
    ("eu-north-1", Partition::Aws),
    ("il-central-1", Partition::Aws),
    ("me-south-1", Partition::Aws),
    ("me-central-1", Partition::Aws),
    ("mx-central-1", Partition::Aws),
    ("sa-east-1", Partition::Aws),
    ("cn-north-1", Partition::AwsCn),
    ("cn-northwest-1", Partition::AwsCn),
    ("us-gov-east-1", Partition::AwsUsGov),
    ("us-gov-west-1", Partition::AwsUsGov),
];

/// An AWS partition: regions of different partitions cannot call each other with one identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// The commercial partition.
    Aws,
    /// China.
    AwsCn,
    /// GovCloud (US).
    AwsUsGov,
}

impl Partition {
    /// The partition's name as it appears in ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }
}

/// The region where Route 53, a global service, publishes its health-check metrics
/// (`AWS/Route53 HealthCheckStatus`): the region its global endpoint signs in, us-east-1 in the
/// commercial partition. An alarm on those metrics, and the SNS topic it notifies, must be there.
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html>
pub fn route53_metrics_region(partition: Partition) -> &'static str {
    match partition {
        Partition::Aws => "us-east-1",
        Partition::AwsCn => "cn-northwest-1",
        Partition::AwsUsGov => "us-gov-west-1",
    }
}

/// The partition of a region, if the region exists.
pub fn partition_of(region: &str) -> Option<Partition> {
    REGIONS
        .iter()
        .find(|(name, _)| *name == region)
        .map(|(_, partition)| *partition)
}

/// Default account quota of Kinesis shards in a region (raisable). US East (N. Virginia),
/// US West (Oregon) and Europe (Ireland) have 500; every other region 200.
/// <https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>
pub fn default_shard_quota(region: &str) -> u64 {
    match region {
        "us-east-1" | "us-west-2" | "eu-west-1" => 500,
        _ => 200,
    }
}

/// Bytes per second one shard accepts (1 MiB/s).
pub const SHARD_BYTES_PER_SECOND: u64 = 1024 * 1024;
/// Records per second one shard accepts.
pub const SHARD_RECORDS_PER_SECOND: u64 = 1000;
/// Write capacity of a new on-demand stream before it has seen traffic (4 MiB/s, 4,000
/// records/s); it then scales to twice its recent peak.
pub const ON_DEMAND_INITIAL_BYTES_PER_SECOND: u64 = 4 * 1024 * 1024;
/// See [`ON_DEMAND_INITIAL_BYTES_PER_SECOND`].
pub const ON_DEMAND_INITIAL_RECORDS_PER_SECOND: u64 = 4000;
/// Largest data blob of one Kinesis record (1 MiB).
pub const KINESIS_MAX_RECORD_BYTES: u64 = 1024 * 1024;
/// Largest request body the secondary's spool can carry whole: the receiver base64-encodes each
/// record into one Firehose record of at most 1,000 KiB, next to its origin (under 1 KiB), so
/// `(1,024,000 - 1,024) * 3 / 4` bytes.
pub const SPOOL_MAX_EVENT_BYTES: u64 = (1_024_000 - 1_024) * 3 / 4;
/// Kinesis retention bounds in hours.
pub const KINESIS_RETENTION_HOURS: (u64, u64) = (24, 8760);

/// Lambda memory bounds in MB.
pub const LAMBDA_MEMORY_MB: (u64, u64) = (128, 10240);
/// Lambda timeout bounds in seconds.
pub const LAMBDA_TIMEOUT_SECONDS: (u64, u64) = (1, 900);
/// Kinesis event source mapping batch size bounds.
pub const KINESIS_BATCH_SIZE: (u64, u64) = (1, 10000);
/// Kinesis event source mapping `MaximumRetryAttempts` bounds when written; -1 (infinite) is
/// what the stacks set by default, always with a finite `MaximumRecordAgeInSeconds` a margin
/// below the stream's retention, so retries end by age (`docs/traps.md#kinesis-poison-record`).
pub const KINESIS_MAX_RETRIES: (u64, u64) = (0, 10000);
/// Kinesis event source mapping `MaximumRecordAgeInSeconds` bounds (-1, never, is refused: with
/// infinite retries a record that always fails would stall its shard until retention trims it,
/// and nothing would count it).
pub const KINESIS_MAX_RECORD_AGE_SECONDS: (u64, u64) = (60, 604_800);
/// `MaximumBatchingWindowInSeconds` bounds.
pub const BATCHING_WINDOW_SECONDS: (u64, u64) = (0, 300);
/// `ParallelizationFactor` bounds.
pub const PARALLELIZATION_FACTOR: (u64, u64) = (1, 10);
/// SQS event source mapping batch size bounds without a batching window.
pub const SQS_BATCH_SIZE: (u64, u64) = (1, 10);
/// Default concurrent executions per account and region (raisable; new accounts may start
/// lower). <https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html>
pub const LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY: u64 = 1000;
/// Concurrency Lambda keeps unreserved in every account and region: reserved concurrency may
/// not eat into it.
pub const LAMBDA_UNRESERVED_MINIMUM: u64 = 100;
/// Synchronous Invoke payload limit (6 MB).
pub const LAMBDA_SYNC_PAYLOAD_BYTES: u64 = 6 * 1024 * 1024;

/// SQS `MessageRetentionPeriod` maximum (14 days).
pub const SQS_MAX_RETENTION_SECONDS: u64 = 14 * 24 * 3600;
/// SQS `VisibilityTimeout` maximum (12 hours).
pub const SQS_MAX_VISIBILITY_SECONDS: u64 = 12 * 3600;
/// SQS redrive `maxReceiveCount` bounds.
pub const SQS_MAX_RECEIVE_COUNT: (u64, u64) = (1, 1000);

/// Largest Firehose record (1,000 KiB before base64) and `PutRecordBatch` request (4 MiB,
/// 500 records); these cannot be raised.
pub const FIREHOSE_MAX_RECORD_BYTES: u64 = 1000 * 1024;
/// See [`FIREHOSE_MAX_RECORD_BYTES`].
pub const FIREHOSE_MAX_BATCH_BYTES: u64 = 4 * 1024 * 1024;

/// A Direct PUT Firehose stream's default throughput quota in a region: (bytes/s, records/s,
/// requests/s). US East (N. Virginia), US West (Oregon) and Europe (Ireland) get 5 MiB/s,
/// 500,000 records/s and 2,000 requests/s; other regions 1 MiB/s, 100,000 records/s and
/// 1,000 requests/s. Raisable by request (`storage.spool.quota_mib_per_second` declares a
/// raised one). <https://docs.aws.amazon.com/firehose/latest/dev/limits.html>
pub fn firehose_default_quota(region: &str) -> (u64, u64, u64) {
    match region {
        "us-east-1" | "us-west-2" | "eu-west-1" => (5 * 1024 * 1024, 500_000, 2_000),
        _ => (1024 * 1024, 100_000, 1_000),
    }
}

/// Firehose buffering bounds.
pub const FIREHOSE_BUFFER_SECONDS: (u64, u64) = (0, 900);
/// Firehose buffering bounds in MB.
pub const FIREHOSE_BUFFER_MB: (u64, u64) = (1, 128);

/// Route 53 weight bounds.
pub const ROUTE53_WEIGHT: (u64, u64) = (0, 255);
/// Route 53 health check intervals.
pub const HEALTH_CHECK_INTERVALS: [u64; 2] = [10, 30];
/// Route 53 health check failure threshold bounds.
pub const HEALTH_CHECK_FAILURE_THRESHOLD: (u64, u64) = (1, 10);

/// API Gateway's request payload limit (10 MB).
pub const API_GATEWAY_MAX_PAYLOAD_BYTES: u64 = 10 * 1024 * 1024;

/// Athena workgroup `BytesScannedCutoffPerQuery` bounds in bytes: at least 10 MB, at most
/// what the API's 64-bit signed integer holds.
/// <https://docs.aws.amazon.com/athena/latest/APIReference/API_WorkGroupConfiguration.html>
pub const ATHENA_BYTES_SCANNED_CUTOFF: (u64, u64) = (10_000_000, i64::MAX as u64);

/// Values CloudWatch Logs accepts for `RetentionInDays`.
pub const LOG_RETENTION_DAYS: &[u64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Longest S3 bucket name.
pub const BUCKET_NAME_MAX: usize = 63;

/// Tags per resource, less the ones `ingest` adds itself.
pub const MAX_USER_TAGS: usize = 45;

/// AWS WAF rate-based rule: the lowest and highest request limit.
/// <https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html>
pub const WAF_RATE_LIMIT: (u64, u64) = (10, 2_000_000_000);
/// The request body AWS WAF inspects for a regional web ACL without extra charge (16 KiB,
/// `AssociationConfig.RequestBody.API_GATEWAY.DefaultSizeInspectionLimit: KB_16`, also the
/// default); a larger body is "oversize", handled by the statement's `OversizeHandling`.
/// <https://docs.aws.amazon.com/waf/latest/APIReference/API_Body.html>
pub const WAF_FREE_BODY_INSPECTION_BYTES: u64 = 16 * 1024;
/// AWS WAF rate-based rule: the evaluation windows it accepts, in seconds.
pub const WAF_WINDOWS: [u64; 4] = [60, 120, 300, 600];
/// How late AWS WAF's rate-based rule starts (and stops) blocking an address: it re-estimates
/// rates "frequently", and the delay is "usually below 30 seconds" (the drill's flood phase
/// models a check every this many seconds).
/// <https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-caveats.html>
pub const WAF_DETECTION_SECONDS: u64 = 30;
/// How long AWS WAF's rate limiting takes to block an address that went over its limit, the
/// shortest and the usual longest ("Mitigation lag: Usually 30-50 seconds. Can be up to several
/// minutes."): until then only the stage throttle bounds that address.
/// <https://docs.aws.amazon.com/waf/latest/developerguide/waf-rate-limiting-options.html>
pub const WAF_MITIGATION_LAG_SECONDS: (u64, u64) = (30, 50);
/// AWS WAF list prices (the same in every region): per web ACL and per rule a month, and per
/// million requests inspected, blocked ones included. <https://aws.amazon.com/waf/pricing/>
pub const WAF_PRICE_PER_ACL_MONTH: f64 = 5.0;
/// See [`WAF_PRICE_PER_ACL_MONTH`].
pub const WAF_PRICE_PER_RULE_MONTH: f64 = 1.0;
/// See [`WAF_PRICE_PER_ACL_MONTH`].
pub const WAF_PRICE_PER_MILLION_REQUESTS: f64 = 0.60;
/// API Gateway REST API list price per million requests (first tier, us-east-1), which WAF
/// spares for every request it blocks. <https://aws.amazon.com/api-gateway/pricing/>
pub const API_GATEWAY_PRICE_PER_MILLION_REQUESTS: f64 = 3.50;
/// Route 53 Application Recovery Controller bills each cluster by the hour: $2.50 an hour at
/// the list price we know of (<https://aws.amazon.com/application-recovery-controller/pricing/>;
/// the routing-control guide says only that clusters are "charged by the hour").
pub const ARC_CLUSTER_PRICE_PER_HOUR: f64 = 2.50;
/// The region that holds ARC's recovery-control configuration (clusters, control panels,
/// routing controls). <https://docs.aws.amazon.com/recovery-cluster/latest/api/what-is-recovery-control.html>
pub const ARC_CONFIGURATION_REGION: &str = "us-west-2";

/// The regions Route 53 runs health checkers in (`HealthCheckConfig.Regions`); a check needs
/// at least three. <https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html>
pub const ROUTE53_CHECKER_REGIONS: [&str; 8] = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
];
/// Route 53 considers an endpoint healthy when more than this share (percent) of its health
/// checkers report it healthy.
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html>
pub const ROUTE53_HEALTHY_CHECKERS_PERCENT: u64 = 18;
/// Fewest checker regions a Route 53 health check may name.
pub const ROUTE53_MIN_CHECKER_REGIONS: usize = 3;
/// Lambda authorizer result TTL bounds in seconds.
pub const AUTHORIZER_TTL_SECONDS: (u64, u64) = (0, 3600);
/// Dynamic references a template may hold (each API key's value is one).
pub const MAX_DYNAMIC_REFERENCES: usize = 60;
/// The account-level API Gateway throttle per region (raisable; shared by every API of the
/// account there). <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html>
pub const API_GATEWAY_ACCOUNT_RATE: u64 = 10_000;
/// CloudWatch list prices (us-east-1): a custom metric a month (first 10,000), a standard
/// alarm metric a month, and `PutMetricData` per 1,000 requests.
/// <https://aws.amazon.com/cloudwatch/pricing/>
pub const CLOUDWATCH_PRICE_PER_METRIC_MONTH: f64 = 0.30;
/// See [`CLOUDWATCH_PRICE_PER_METRIC_MONTH`].
pub const CLOUDWATCH_PRICE_PER_ALARM_MONTH: f64 = 0.10;
/// See [`CLOUDWATCH_PRICE_PER_METRIC_MONTH`].
pub const CLOUDWATCH_PRICE_PER_THOUSAND_PUTS: f64 = 0.01;
/// KMS: a customer managed key a month (automatic rotation adds a dollar a month per
/// rotated backing key). <https://aws.amazon.com/kms/pricing/>
pub const KMS_PRICE_PER_KEY_MONTH: f64 = 1.0;
/// Seconds in the 30-day month prices are quoted for.
pub const SECONDS_PER_MONTH: u64 = 30 * 24 * 3600;
