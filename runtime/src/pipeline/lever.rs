//! The lever's publisher (`INGEST_ROLE=lever`, secondary region): turns the drain switches
//! into the metric whose alarms Route 53 reads (`docs/security.md#the-lever`).
//!
//! ```text
//!  ingest lever drain primary --PutObject--> s3://<switch bucket>/switch/primary   (operator role only)
//!        |                                          |  (S3 notification, and every minute)
//!        |                                          v
//!        |                                 publisher: GetObject both switches
//!        |                                          |  PutMetricData <namespace>/<metric>
//!        |                                          v      {Ingest=<name>, Region=primary|secondary} = 1|0
//!        +--(reads back)--------------------> CloudWatch  <--- alarm (Maximum over the period >= 1)
//!                                                              <--- Route 53 CLOUDWATCH_METRIC check
//! ```
//!
//! Design:
//!
//! - **Stateless and idempotent**: every run reads both switch objects and publishes both
//!   values, whatever triggered it (the schedule's event or an S3 notification; the payload is
//!   not read). A run that fails is repeated by the next one a minute later.
//! - **An unreadable switch reads as not drained**: a missing object is "never set"; a body
//!   that does not parse is reported and published as not drained, exactly as Route 53 treats a
//!   silent publisher (`InsufficientDataHealthStatus: Healthy`). A secondary outage can then
//!   never drain the primary.
//! - **A deleted switch keeps its last value, and is tampering**: `ingest lever` never deletes
//!   a switch, and the bucket policy denies every write but a read to anyone but the operator
//!   role; a delete marker can still come from a lifecycle rule or suspended versioning (bucket
//!   settings a broad `s3:Put*` may change). So the publisher reads the newest version under a
//!   delete marker and publishes what the lever last wrote: a deletion cannot undo a drain. A
//!   deleted switch, a body that is not a lever switch, or a bucket whose versioning is no
//!   longer enabled publishes the tamper metric.
//! - **The history cannot be expired quietly**: a lifecycle rule that expires `switch/` would
//!   put a delete marker over a drain (caught above), then expire the versions under it (the
//!   drain reads as never set) and the marker itself (nothing left to call deleted). So the
//!   publisher also reads the bucket's lifecycle configuration and reports tampering when an
//!   enabled rule could expire, delete or archive anything under `switch/` sooner than the
//!   stack's own rule keeps old versions ([`SwitchLifecycle`], from the plan through
//!   `SWITCH_NONCURRENT_DAYS`), or when the configuration the stack defines is gone
//!   ([`lifecycle_findings`]).
//! - **The writer lock stays**: the bucket policy's deny of every write under `switch/` but by
//!   the operator role is what makes a switch the operator's. A principal allowed
//!   `s3:PutBucketPolicy` could remove it, and a switch it then wrote would read as set. So the
//!   publisher reads the bucket policy too and reports tampering when the lock is gone or
//!   changed ([`writer_lock_findings`]).
//! - **Tamper check**: CloudWatch metrics have no resource policy, so a principal whose own
//!   policy allows `cloudwatch:PutMetricData` on any namespace can publish a 1. Before
//!   publishing, the publisher reads the largest value of each region's metric over the alarm's
//!   window; a 1 for a switch that is not drained, and whose last change (the `at` the lever
//!   wrote) is older than the window, cannot be the tail of a real drain: it publishes
//!   `<tamper metric> = 1`, which has its own alarm. A forged 0 cannot hide a real drain (the
//!   alarm takes the maximum).
//! - The switch body is JSON, `{"drained": true, "by": "<who>", "at": "<RFC 3339>"}`, written
//!   by `ingest lever` (synth's `lever` module owns the writing side; a test in the tests crate
//!   holds the two together). The metric's dimensions are [`DIMENSION_PIPELINE`] and
//!   [`DIMENSION_REGION`], which the stacks' switch alarms name.

use std::future::Future;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{HandlerError, InfraError, Lookup, env_number, env_var};

/// The dimension of every lever metric that names the pipeline (the spec's `name`).
pub const DIMENSION_PIPELINE: &str = "Ingest";
/// The dimension of a switch metric that names the region it drains.
pub const DIMENSION_REGION: &str = "Region";
/// The regions, as the switch keys and the `Region` dimension name them.
pub const REGIONS: [&str; 2] = ["primary", "secondary"];
/// The key prefix of the switches.
pub const SWITCH_PREFIX: &str = "switch/";

/// The publisher's settings (from the environment the secondary stack sets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeverConfig {
    /// The pipeline's name (`INGEST_NAME`): the value of [`DIMENSION_PIPELINE`].
    pub pipeline: String,
    /// The switch bucket (`SWITCH_BUCKET`).
    pub bucket: String,
    /// The namespace (`LEVER_NAMESPACE`).
    pub namespace: String,
    /// The switch metric (`LEVER_METRIC`).
    pub metric: String,
    /// The tamper metric (`LEVER_TAMPER_METRIC`).
    pub tamper_metric: String,
    /// The switch alarms' window (`LEVER_WINDOW_SECONDS`).
    pub window: Duration,
    /// The stack's own lifecycle of the switch bucket (`SWITCH_NONCURRENT_DAYS`).
    pub lifecycle: SwitchLifecycle,
    /// The only principal the bucket policy lets write the switches
    /// (`LEVER_OPERATOR_ROLE_ARN`).
    pub operator_role_arn: String,
}

impl LeverConfig {
    /// Reads the settings through `lookup`.
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Self, HandlerError> {
        Ok(LeverConfig {
            pipeline: env_var(lookup, "INGEST_NAME")?,
            bucket: env_var(lookup, "SWITCH_BUCKET")?,
            namespace: env_var(lookup, "LEVER_NAMESPACE")?,
            metric: env_var(lookup, "LEVER_METRIC")?,
            tamper_metric: env_var(lookup, "LEVER_TAMPER_METRIC")?,
            window: Duration::from_secs(env_number(lookup, "LEVER_WINDOW_SECONDS", 300)?),
            operator_role_arn: env_var(lookup, "LEVER_OPERATOR_ROLE_ARN")?,
            lifecycle: SwitchLifecycle {
                noncurrent_days: env_var(lookup, "SWITCH_NONCURRENT_DAYS")?.parse().map_err(
                    |_| {
                        HandlerError::Config(
                            "SWITCH_NONCURRENT_DAYS must be a whole number of days".to_owned(),
                        )
                    },
                )?,
            },
        })
    }
}

/// A switch object's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchBody {
    /// Whether the region is drained.
    pub drained: bool,
    /// Who set it.
    #[serde(default)]
    pub by: String,
    /// When, RFC 3339.
    #[serde(default)]
    pub at: String,
}

/// What the switch bucket holds for one switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchObject {
    /// The current version's body.
    Current(Vec<u8>),
    /// No version at all: the switch was never set.
    NeverSet,
    /// The current version is a delete marker; the newest version under it, if any.
    Deleted {
        /// The body the lever last wrote.
        last: Option<Vec<u8>>,
    },
}

/// The switch bucket's lifecycle as the stack defines it: no rule expires a current switch, and
/// old versions (the history of pulls) are kept this many days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchLifecycle {
    /// `NoncurrentVersionExpiration.NoncurrentDays` of the stack's rule.
    pub noncurrent_days: u64,
}

impl SwitchLifecycle {
    /// The stack's own rules, as [`SwitchStore::lifecycle_rules`] reads them.
    pub fn rules(&self) -> Vec<LifecycleRule> {
        vec![LifecycleRule {
            id: "expire-noncurrent-versions".to_owned(),
            enabled: true,
            prefix: String::new(),
            narrowed: false,
            expires_current: false,
            noncurrent_days: Some(self.noncurrent_days),
            transitions: false,
        }]
    }
}

/// One lifecycle rule of a bucket, as much of it as decides whether it can take a switch or its
/// history away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    /// `ID` (may be empty).
    pub id: String,
    /// `Status: Enabled`.
    pub enabled: bool,
    /// The key prefix of its filter (the legacy `Prefix`, `Filter.Prefix` or `Filter.And.Prefix`;
    /// empty for the whole bucket).
    pub prefix: String,
    /// Whether its filter also names tags or object sizes. Such a rule is counted as applying
    /// to the switches all the same: this says only that a reader should look at the filter.
    pub narrowed: bool,
    /// Whether it expires current objects (`Expiration` with `Days` or `Date`).
    pub expires_current: bool,
    /// `NoncurrentVersionExpiration.NoncurrentDays`, if it has one.
    pub noncurrent_days: Option<u64>,
    /// Whether it moves objects or old versions to another storage class (a switch in an
    /// archive class cannot be read: the publisher would fail and Route 53 read "not drained").
    pub transitions: bool,
}

impl LifecycleRule {
    /// Whether the rule's filter can match a key under [`SWITCH_PREFIX`].
    fn covers_switches(&self) -> bool {
        self.prefix.starts_with(SWITCH_PREFIX) || SWITCH_PREFIX.starts_with(self.prefix.as_str())
    }
}

/// What in the bucket's lifecycle can take the switches' history away: one line per finding,
/// empty when none. `rules` is `None` when the bucket has no lifecycle configuration.
///
/// An enabled rule whose filter can match a key under `switch/` is a finding when it expires
/// current objects, expires old versions sooner than `expected.noncurrent_days`, or moves
/// objects to another storage class. A missing configuration is a finding too: the stack
/// defines one, so someone removed it. Rules that only abort multipart uploads or remove
/// expired delete markers (the stack's own do both) take nothing away.
pub fn lifecycle_findings(
    rules: Option<&[LifecycleRule]>,
    expected: SwitchLifecycle,
) -> Vec<String> {
    let Some(rules) = rules else {
        return vec![
            "the switch bucket has no lifecycle configuration, but the stack defines one: someone removed it".to_owned(),
        ];
    };
    let mut findings = Vec::new();
    for rule in rules.iter().filter(|r| r.enabled && r.covers_switches()) {
        let name = if rule.id.is_empty() {
            "a rule without an ID".to_owned()
        } else {
            format!("rule {:?}", rule.id)
        };
        let mut scope = if rule.prefix.is_empty() {
            "every key".to_owned()
        } else {
            format!("prefix {:?}", rule.prefix)
        };
        if rule.narrowed {
            scope.push_str(", and tags or sizes");
        }
        if rule.expires_current {
            findings.push(format!(
                "{name} ({scope}) expires current objects: it would delete the switches"
            ));
        }
        if let Some(days) = rule.noncurrent_days
            && days < expected.noncurrent_days
        {
            findings.push(format!(
                "{name} ({scope}) expires old versions after {days} days, sooner than the stack's {}: it would erase the switches' history",
                expected.noncurrent_days
            ));
        }
        if rule.transitions {
            findings.push(format!(
                "{name} ({scope}) moves objects to another storage class: an archived switch cannot be read"
            ));
        }
    }
    findings
}

/// The bucket policy's writer lock as the stack writes it: deny everyone but `operator_role_arn`
/// every action on `<bucket>/switch/*` but reads. A store whose settings nothing but the stack
/// changes (the local one) answers this for [`SwitchStore::bucket_policy`].
pub fn writer_lock_policy(bucket: &str, operator_role_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OnlyTheOperatorRoleWrites",
            "Effect": "Deny",
            "Principal": "*",
            "NotAction": "s3:GetObject*",
            "Resource": format!("arn:aws:s3:::{bucket}/{SWITCH_PREFIX}*"),
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": operator_role_arn}},
        }],
    })
    .to_string()
}

/// A value that is one string or a list of them, as IAM writes `Action`, `Resource` and
/// condition values.
fn one_or_many(value: Option<&serde_json::Value>) -> Vec<&str> {
    match value {
        Some(serde_json::Value::String(one)) => vec![one.as_str()],
        Some(serde_json::Value::Array(many)) => {
            many.iter().filter_map(serde_json::Value::as_str).collect()
        }
        _ => Vec::new(),
    }
}

/// Whether a bucket policy statement is the writer lock, unweakened: `Deny` to every principal,
/// every action but reads (`NotAction: s3:GetObject*`, or all of S3), on every switch, unless
/// the principal is `operator_role_arn` and nothing else (a further condition would narrow the
/// deny).
fn is_writer_lock(statement: &serde_json::Value, operator_role_arn: &str) -> bool {
    let everyone = match statement.get("Principal") {
        Some(serde_json::Value::String(p)) => p == "*",
        Some(serde_json::Value::Object(p)) => one_or_many(p.get("AWS")) == ["*"],
        _ => false,
    };
    let actions = if statement.get("NotAction").is_some() {
        one_or_many(statement.get("NotAction")) == ["s3:GetObject*"]
    } else {
        one_or_many(statement.get("Action"))
            .iter()
            .any(|a| *a == "s3:*" || *a == "*")
    };
    let switches = one_or_many(statement.get("Resource")).iter().any(|r| {
        r.split_once(":::")
            .and_then(|(_, path)| path.split_once('/'))
            .is_some_and(|(_, key)| key == "*" || key == format!("{SWITCH_PREFIX}*"))
    });
    let only_operator = statement
        .get("Condition")
        .and_then(serde_json::Value::as_object)
        .is_some_and(|condition| {
            condition.len() == 1
                && condition
                    .get("ArnNotEquals")
                    .or_else(|| condition.get("StringNotEquals"))
                    .and_then(serde_json::Value::as_object)
                    .is_some_and(|keys| {
                        keys.len() == 1
                            && one_or_many(keys.get("aws:PrincipalArn")) == [operator_role_arn]
                    })
        });
    statement.get("Effect").and_then(serde_json::Value::as_str) == Some("Deny")
        && everyone
        && actions
        && switches
        && only_operator
}

/// What is wrong with the bucket policy's writer lock: one line, or none when the policy
/// still denies every write under `switch/` to everyone but `operator_role_arn`. `policy` is
/// `None` when the bucket has no policy.
pub fn writer_lock_findings(policy: Option<&str>, operator_role_arn: &str) -> Vec<String> {
    let Some(policy) = policy else {
        return vec![
            "the switch bucket has no bucket policy: anyone the account allows s3:PutObject can write a switch".to_owned(),
        ];
    };
    let Ok(document) = serde_json::from_str::<serde_json::Value>(policy) else {
        return vec!["the switch bucket's policy is not JSON".to_owned()];
    };
    let statements = match document.get("Statement") {
        Some(serde_json::Value::Array(list)) => list.iter().collect(),
        Some(one @ serde_json::Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    if statements
        .iter()
        .any(|statement| is_writer_lock(statement, operator_role_arn))
    {
        return Vec::new();
    }
    vec![format!(
        "the switch bucket's policy no longer denies writes under {SWITCH_PREFIX} to everyone but {operator_role_arn}: anyone the account allows s3:PutObject can write a switch"
    )]
}

/// The switch bucket as the publisher reads it: each switch with its history, and whether the
/// bucket still keeps that history.
pub trait SwitchStore: Send + Sync {
    /// What the bucket holds for `key`.
    fn read_switch(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<SwitchObject, InfraError>> + Send;
    /// Whether the bucket's versioning is enabled (not suspended, not never enabled).
    fn versioning_enabled(
        &self,
        bucket: &str,
    ) -> impl Future<Output = Result<bool, InfraError>> + Send;
    /// The bucket's lifecycle rules, or `None` when it has no lifecycle configuration. A store
    /// whose settings nothing but the stack changes (the local one) answers `expected`.
    fn lifecycle_rules(
        &self,
        bucket: &str,
        expected: SwitchLifecycle,
    ) -> impl Future<Output = Result<Option<Vec<LifecycleRule>>, InfraError>> + Send;
    /// The bucket policy's text, or `None` when the bucket has none. A store whose settings
    /// nothing but the stack changes (the local one) answers
    /// [`writer_lock_policy`]`(bucket, operator_role_arn)`.
    fn bucket_policy(
        &self,
        bucket: &str,
        operator_role_arn: &str,
    ) -> impl Future<Output = Result<Option<String>, InfraError>> + Send;
}

/// One switch as the publisher read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchReading {
    /// `primary` or `secondary`.
    pub region: &'static str,
    /// What it publishes for the region.
    pub drained: bool,
    /// `set`, `unset` (no object), `unreadable` (a body that does not parse) or `deleted` (a
    /// delete marker over the version it publishes).
    pub state: &'static str,
    /// Who set it, when set.
    pub by: String,
    /// When, when set.
    pub at: String,
    /// Whether someone but the lever changed what this switch publishes: the published
    /// maximum says drained while the switch does not, and has not for longer than the window;
    /// or the switch was deleted; or its body is not a lever switch.
    pub tampered: bool,
}

/// What one run published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    /// Both switches, primary first.
    pub switches: Vec<SwitchReading>,
    /// Whether the switch bucket's versioning is enabled (without it, a write leaves no
    /// history and a deletion no version to fall back on: tampering).
    pub versioning_enabled: bool,
    /// What in the bucket's lifecycle can take the switches' history away
    /// ([`lifecycle_findings`]; tampering when not empty).
    pub lifecycle: Vec<String>,
    /// What is wrong with the bucket policy's writer lock ([`writer_lock_findings`];
    /// tampering when not empty).
    pub writer_lock: Vec<String>,
}

impl PublishReport {
    /// Whether this run published the tamper metric as 1.
    pub fn tampered(&self) -> bool {
        !self.versioning_enabled
            || !self.lifecycle.is_empty()
            || !self.writer_lock.is_empty()
            || self.switches.iter().any(|s| s.tampered)
    }
}

/// One data point to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    /// Metric name.
    pub metric: String,
    /// Dimensions, in order.
    pub dimensions: Vec<(String, String)>,
    /// The value.
    pub value: f64,
    /// Its timestamp.
    pub timestamp: SystemTime,
}

/// CloudWatch metrics as the publisher needs them: `PutMetricData` and the largest value of a
/// metric since a moment (`GetMetricStatistics`, `Maximum`).
pub trait MetricStore: Send + Sync {
    /// Publishes data points in `namespace` (standard resolution).
    fn put(
        &self,
        namespace: &str,
        data: Vec<Datum>,
    ) -> impl Future<Output = Result<(), InfraError>> + Send;
    /// The largest value of `metric` with exactly `dimensions` from `since` to `until`, or
    /// `None` without data.
    fn maximum(
        &self,
        namespace: &str,
        metric: &str,
        dimensions: &[(String, String)],
        since: SystemTime,
        until: SystemTime,
    ) -> impl Future<Output = Result<Option<f64>, InfraError>> + Send;
}

/// The publisher: the switches in `store`, published to `metrics`.
#[derive(Debug)]
pub struct LeverPublisher<'a, S, M> {
    /// Settings.
    pub config: &'a LeverConfig,
    /// The switch bucket.
    pub store: &'a S,
    /// CloudWatch.
    pub metrics: &'a M,
}

impl<S: SwitchStore, M: MetricStore> LeverPublisher<'_, S, M> {
    /// The dimensions of `region`'s switch metric.
    pub fn dimensions(&self, region: &str) -> Vec<(String, String)> {
        vec![
            (DIMENSION_PIPELINE.to_owned(), self.config.pipeline.clone()),
            (DIMENSION_REGION.to_owned(), region.to_owned()),
        ]
    }

    /// Reads both switches, checks what was published against them, and publishes both (and
    /// the tamper metric) as of `now`.
    pub async fn publish(&self, now: SystemTime) -> Result<PublishReport, InfraError> {
        let mut switches = Vec::new();
        for region in REGIONS {
            let key = format!("{SWITCH_PREFIX}{region}");
            let reading = match self.store.read_switch(&self.config.bucket, &key).await? {
                SwitchObject::Current(body) => {
                    let mut reading = read_body(region, &body);
                    reading.tampered = reading.state == "unreadable";
                    reading
                }
                SwitchObject::NeverSet => SwitchReading {
                    region,
                    drained: false,
                    state: "unset",
                    by: String::new(),
                    at: String::new(),
                    tampered: false,
                },
                SwitchObject::Deleted { last } => {
                    let last = last.map(|body| read_body(region, &body));
                    SwitchReading {
                        region,
                        drained: last.as_ref().is_some_and(|r| r.drained),
                        state: "deleted",
                        by: last.as_ref().map(|r| r.by.clone()).unwrap_or_default(),
                        at: last.map(|r| r.at).unwrap_or_default(),
                        tampered: true,
                    }
                }
            };
            switches.push(reading);
        }
        let versioning_enabled = self.store.versioning_enabled(&self.config.bucket).await?;
        let rules = self
            .store
            .lifecycle_rules(&self.config.bucket, self.config.lifecycle)
            .await?;
        let lifecycle = lifecycle_findings(rules.as_deref(), self.config.lifecycle);
        let policy = self
            .store
            .bucket_policy(&self.config.bucket, &self.config.operator_role_arn)
            .await?;
        let writer_lock = writer_lock_findings(policy.as_deref(), &self.config.operator_role_arn);
        let since = now.checked_sub(self.config.window).unwrap_or(now);
        for reading in &mut switches {
            if reading.drained {
                continue;
            }
            let published = self
                .metrics
                .maximum(
                    &self.config.namespace,
                    &self.config.metric,
                    &self.dimensions(reading.region),
                    since,
                    now,
                )
                .await?;
            let changed_within_window = changed_at(&reading.at).is_some_and(|at| at >= since);
            reading.tampered |=
                published.is_some_and(|value| value >= 1.0) && !changed_within_window;
        }
        let mut data: Vec<Datum> = switches
            .iter()
            .map(|reading| Datum {
                metric: self.config.metric.clone(),
                dimensions: self.dimensions(reading.region),
                value: if reading.drained { 1.0 } else { 0.0 },
                timestamp: now,
            })
            .collect();
        let report = PublishReport {
            switches,
            versioning_enabled,
            lifecycle,
            writer_lock,
        };
        data.push(Datum {
            metric: self.config.tamper_metric.clone(),
            dimensions: vec![(DIMENSION_PIPELINE.to_owned(), self.config.pipeline.clone())],
            value: if report.tampered() { 1.0 } else { 0.0 },
            timestamp: now,
        });
        self.metrics.put(&self.config.namespace, data).await?;
        Ok(report)
    }
}

/// Metrics in memory (the local pipeline and tests): every data point published, in order.
#[derive(Debug, Default)]
pub struct MemoryMetrics {
    points: std::sync::Mutex<Vec<(String, Datum)>>,
}

impl MemoryMetrics {
    /// No data yet.
    pub fn new() -> Self {
        MemoryMetrics::default()
    }

    /// Every data point published so far, with its namespace.
    pub fn points(&self) -> Vec<(String, Datum)> {
        self.points
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl MetricStore for MemoryMetrics {
    fn put(
        &self,
        namespace: &str,
        data: Vec<Datum>,
    ) -> impl Future<Output = Result<(), InfraError>> + Send {
        let mut points = self
            .points
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        points.extend(data.into_iter().map(|d| (namespace.to_owned(), d)));
        std::future::ready(Ok(()))
    }

    fn maximum(
        &self,
        namespace: &str,
        metric: &str,
        dimensions: &[(String, String)],
        since: SystemTime,
        until: SystemTime,
    ) -> impl Future<Output = Result<Option<f64>, InfraError>> + Send {
        let points = self
            .points
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let largest = points
            .iter()
            .filter(|(ns, d)| {
                ns == namespace
                    && d.metric == metric
                    && d.dimensions == dimensions
                    && d.timestamp >= since
                    && d.timestamp <= until
            })
            .map(|(_, d)| d.value)
            .fold(None, |largest: Option<f64>, value| {
                Some(largest.map_or(value, |l| l.max(value)))
            });
        std::future::ready(Ok(largest))
    }
}

/// A switch object's reading; a body that does not parse reads as not drained.
pub fn read_body(region: &'static str, body: &[u8]) -> SwitchReading {
    match serde_json::from_slice::<SwitchBody>(body) {
        Ok(switch) => SwitchReading {
            region,
            drained: switch.drained,
            state: "set",
            by: switch.by,
            at: switch.at,
            tampered: false,
        },
        Err(_) => SwitchReading {
            region,
            drained: false,
            state: "unreadable",
            by: String::new(),
            at: String::new(),
            tampered: false,
        },
    }
}

/// When a switch was last set, from its `at`.
fn changed_at(at: &str) -> Option<SystemTime> {
    let parsed = chrono::DateTime::parse_from_rfc3339(at).ok()?;
    let seconds = u64::try_from(parsed.timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_does_not_parse_reads_as_not_drained() {
        let set = read_body(
            "primary",
            br#"{"drained": true, "by": "ingest lever drain primary", "at": "2026-12-01T10:00:00Z"}"#,
        );
        assert!(set.drained);
        assert_eq!(set.state, "set");
        let junk = read_body("primary", b"drain=on\n");
        assert!(!junk.drained, "the old string-match body is not a drain");
        assert_eq!(junk.state, "unreadable");
    }

    /// A switch bucket in memory: each key's object as [`SwitchObject`] says.
    struct Switches {
        primary: SwitchObject,
        versioning: bool,
        /// The bucket's lifecycle rules; `None` for no configuration.
        lifecycle: Option<Vec<LifecycleRule>>,
        /// The bucket policy; `None` for none.
        policy: Option<String>,
    }

    impl Switches {
        /// As the stack leaves the bucket: versioned, its own lifecycle rule.
        fn as_deployed(primary: SwitchObject) -> Self {
            Switches {
                primary,
                versioning: true,
                lifecycle: Some(EXPECTED.rules()),
                policy: Some(writer_lock_policy("switches", OPERATOR)),
            }
        }
    }

    const OPERATOR: &str = "arn:aws:iam::123456789012:role/wiw-events-lever-operator";

    const EXPECTED: SwitchLifecycle = SwitchLifecycle {
        noncurrent_days: 365,
    };

    impl SwitchStore for Switches {
        async fn read_switch(&self, _bucket: &str, key: &str) -> Result<SwitchObject, InfraError> {
            Ok(if key == "switch/primary" {
                self.primary.clone()
            } else {
                SwitchObject::NeverSet
            })
        }

        async fn versioning_enabled(&self, _bucket: &str) -> Result<bool, InfraError> {
            Ok(self.versioning)
        }

        async fn lifecycle_rules(
            &self,
            _bucket: &str,
            _expected: SwitchLifecycle,
        ) -> Result<Option<Vec<LifecycleRule>>, InfraError> {
            Ok(self.lifecycle.clone())
        }

        async fn bucket_policy(
            &self,
            _bucket: &str,
            _operator_role_arn: &str,
        ) -> Result<Option<String>, InfraError> {
            Ok(self.policy.clone())
        }
    }

    fn config() -> LeverConfig {
        LeverConfig {
            pipeline: "wiw-events".to_owned(),
            bucket: "switches".to_owned(),
            namespace: "IngestLever".to_owned(),
            metric: "Drained".to_owned(),
            tamper_metric: "LeverTampered".to_owned(),
            window: Duration::from_secs(300),
            lifecycle: EXPECTED,
            operator_role_arn: OPERATOR.to_owned(),
        }
    }

    /// The primary's published value and the tamper metric after one run over `switches`.
    async fn publish(switches: Switches) -> (PublishReport, f64, f64) {
        let config = config();
        let metrics = MemoryMetrics::new();
        let publisher = LeverPublisher {
            config: &config,
            store: &switches,
            metrics: &metrics,
        };
        let report = publisher.publish(SystemTime::now()).await.unwrap();
        let value = |metric: &str, region: Option<&str>| {
            metrics
                .points()
                .iter()
                .find(|(_, d)| {
                    d.metric == metric
                        && region.is_none_or(|r| d.dimensions.iter().any(|(_, v)| v == r))
                })
                .map(|(_, d)| d.value)
                .unwrap()
        };
        let drained = value("Drained", Some("primary"));
        let tampered = value("LeverTampered", None);
        (report, drained, tampered)
    }

    const DRAINED: &[u8] =
        br#"{"drained": true, "by": "ingest lever drain primary", "at": "2026-12-01T10:00:00Z"}"#;

    #[tokio::test]
    async fn a_set_or_never_set_switch_is_not_tampering() {
        let (report, drained, tampered) = publish(Switches::as_deployed(SwitchObject::Current(
            DRAINED.to_vec(),
        )))
        .await;
        assert_eq!((drained, tampered), (1.0, 0.0), "{report:?}");
        assert!(report.lifecycle.is_empty(), "{report:?}");
        let (report, drained, tampered) =
            publish(Switches::as_deployed(SwitchObject::NeverSet)).await;
        assert_eq!((drained, tampered), (0.0, 0.0), "{report:?}");
        assert_eq!(report.switches[0].state, "unset");
    }

    /// A lifecycle rule or a broad `s3:Put*` principal puts a delete marker over a drain: the
    /// drain stands and the tamper alarm fires.
    #[tokio::test]
    async fn a_deleted_switch_keeps_what_the_lever_last_wrote_and_is_tampering() {
        let (report, drained, tampered) = publish(Switches::as_deployed(SwitchObject::Deleted {
            last: Some(DRAINED.to_vec()),
        }))
        .await;
        assert_eq!((drained, tampered), (1.0, 1.0), "{report:?}");
        assert_eq!(report.switches[0].state, "deleted");
        assert_eq!(report.switches[0].by, "ingest lever drain primary");
        let (_, drained, tampered) =
            publish(Switches::as_deployed(SwitchObject::Deleted { last: None })).await;
        assert_eq!((drained, tampered), (0.0, 1.0));
    }

    #[tokio::test]
    async fn a_foreign_body_or_suspended_versioning_is_tampering() {
        let (report, drained, tampered) = publish(Switches::as_deployed(SwitchObject::Current(
            b"drain=on".to_vec(),
        )))
        .await;
        assert_eq!((drained, tampered), (0.0, 1.0), "{report:?}");
        let (report, drained, tampered) = publish(Switches {
            versioning: false,
            ..Switches::as_deployed(SwitchObject::Current(DRAINED.to_vec()))
        })
        .await;
        assert_eq!((drained, tampered), (1.0, 1.0), "{report:?}");
        assert!(!report.versioning_enabled);
    }

    fn rule(id: &str, prefix: &str) -> LifecycleRule {
        LifecycleRule {
            id: id.to_owned(),
            enabled: true,
            prefix: prefix.to_owned(),
            narrowed: false,
            expires_current: false,
            noncurrent_days: None,
            transitions: false,
        }
    }

    /// The review's path: a rule expiring `switch/` and its old versions after a day. Day 1 a
    /// delete marker (caught), day 2 the versions are gone (the drain reads as never set), then
    /// the marker (nothing left to call deleted). The rule itself is tampering from the start,
    /// whatever the switches then look like.
    #[tokio::test]
    async fn a_lifecycle_rule_that_expires_the_switches_is_tampering_even_once_they_are_gone() {
        let expiring = LifecycleRule {
            expires_current: true,
            noncurrent_days: Some(1),
            ..rule("expire-switches", "switch/")
        };
        let mut lifecycle = EXPECTED.rules();
        lifecycle.push(expiring);
        let (report, drained, tampered) = publish(Switches {
            lifecycle: Some(lifecycle),
            ..Switches::as_deployed(SwitchObject::NeverSet)
        })
        .await;
        assert_eq!((drained, tampered), (0.0, 1.0), "{report:?}");
        assert_eq!(report.switches[0].state, "unset");
        assert_eq!(report.lifecycle.len(), 2, "{report:?}");
        assert!(
            report.lifecycle[0].contains("expire-switches"),
            "{report:?}"
        );

        // The stack's rule removed along with the whole configuration.
        let (report, _, tampered) = publish(Switches {
            lifecycle: None,
            ..Switches::as_deployed(SwitchObject::NeverSet)
        })
        .await;
        assert_eq!(tampered, 1.0, "{report:?}");
    }

    #[test]
    fn only_rules_that_can_take_a_switch_or_its_history_are_findings() {
        let findings = |rules: Vec<LifecycleRule>| lifecycle_findings(Some(&rules), EXPECTED);
        assert!(findings(EXPECTED.rules()).is_empty());
        // Shorter than the stack's, on the whole bucket, a prefix above or below switch/.
        for prefix in ["", "s", "switch/", "switch/prim"] {
            let shorter = LifecycleRule {
                noncurrent_days: Some(EXPECTED.noncurrent_days - 1),
                ..rule("shorter", prefix)
            };
            assert_eq!(findings(vec![shorter]).len(), 1, "prefix {prefix:?}");
        }
        // Other prefixes, disabled rules, the stack's own numbers or longer: nothing.
        let elsewhere = LifecycleRule {
            expires_current: true,
            noncurrent_days: Some(1),
            transitions: true,
            ..rule("spool", "spool/")
        };
        let disabled = LifecycleRule {
            enabled: false,
            expires_current: true,
            ..rule("off", "switch/")
        };
        let longer = LifecycleRule {
            noncurrent_days: Some(EXPECTED.noncurrent_days + 1),
            ..rule("longer", "")
        };
        assert!(findings(vec![elsewhere, disabled, longer]).is_empty());
        // A tag or size filter narrows nothing we can rely on; an archive class is unreadable.
        let tagged = LifecycleRule {
            narrowed: true,
            transitions: true,
            ..rule("", "switch/")
        };
        let found = findings(vec![tagged]);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("without an ID"), "{found:?}");
        assert_eq!(lifecycle_findings(None, EXPECTED).len(), 1);
    }

    /// Someone allowed `s3:PutBucketPolicy` removes the writer lock (then writes a switch that
    /// reads as set): tampering, whatever the switches say.
    #[tokio::test]
    async fn a_removed_or_weakened_writer_lock_is_tampering() {
        let (report, drained, tampered) = publish(Switches::as_deployed(SwitchObject::Current(
            DRAINED.to_vec(),
        )))
        .await;
        assert_eq!((drained, tampered), (1.0, 0.0), "{report:?}");
        let (report, drained, tampered) = publish(Switches {
            policy: None,
            ..Switches::as_deployed(SwitchObject::Current(DRAINED.to_vec()))
        })
        .await;
        assert_eq!((drained, tampered), (1.0, 1.0), "{report:?}");
        assert_eq!(report.writer_lock.len(), 1);
    }

    #[test]
    fn only_the_stack_s_writer_lock_or_a_wider_one_passes() {
        let lock = |policy: &str| writer_lock_findings(Some(policy), OPERATOR);
        let stack = writer_lock_policy("switches", OPERATOR);
        assert!(lock(&stack).is_empty());
        // Wider: every action on the whole bucket, a list of one principal.
        let wider = stack
            .replace(r#""NotAction":"s3:GetObject*""#, r#""Action":["s3:*"]"#)
            .replace("switches/switch/*", "switches/*")
            .replace(r#""Principal":"*""#, r#""Principal":{"AWS":"*"}"#);
        assert!(lock(&wider).is_empty(), "{wider}");
        // Weakened: another principal excepted, writes allowed through, an extra condition, an
        // Allow, another prefix.
        for (from, to) in [
            (OPERATOR, "arn:aws:iam::123456789012:role/someone-else"),
            (
                r#""NotAction":"s3:GetObject*""#,
                r#""NotAction":["s3:GetObject*","s3:PutObject"]"#,
            ),
            (
                r#""Condition":{"#,
                r#""Condition":{"Bool":{"aws:SecureTransport":"false"},"#,
            ),
            (r#""Effect":"Deny""#, r#""Effect":"Allow""#),
            ("switches/switch/*", "switches/other/*"),
        ] {
            let weakened = stack.replace(from, to);
            assert_ne!(weakened, stack, "{from}");
            assert_eq!(lock(&weakened).len(), 1, "{from} -> {to}");
        }
        assert_eq!(writer_lock_findings(None, OPERATOR).len(), 1);
        assert_eq!(lock("not json").len(), 1);
    }

    #[test]
    fn the_change_time_is_the_lever_s_rfc3339() {
        let at = changed_at("2026-12-01T10:00:00Z").unwrap();
        assert_eq!(
            at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_796_119_200
        );
        assert_eq!(changed_at(""), None);
    }
}
