//! The semantic checks: the traps of multi-region ingest, caught before anything is written.
//!
//! Structure (keys and types) is checked by [`crate::spec`]; this module judges values. Most
//! checks look at the resolved [`Plan`], so derived numbers (shares, capacity, the bridge's retry
//! budget) are computed once, in the plan, and judged here; each diagnostic points at the key
//! the value came from, or at the section whose default produced it. Every check runs, whatever
//! the others found, so one run reports every problem.
//!
//! The rules encode the traps of `docs/traps.md`. A message names its trap by what goes wrong
//! (a standby too small for the whole peak, retries that give up before the outage ends or
//! before the stream trims the records, certificates in the wrong region, reserved concurrency
//! above the account's quota) and says how to fix it; comments cite the trap's anchor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use ingest_codegen::schema::{self, InstanceType, PathSegment, Target, closest};
use miette::Severity;
use regex::Regex;

use crate::aws;
use crate::diagnostic::{Diagnostic, resolve_beside};
use crate::plan::{self, EventPlan, LagBound, Plan, RegionPlan, Role, StreamCapacity, WafPlan};
use crate::spec::raw::{IpAddressType, RawEvent, RawRegion, RawSpec, StreamMode};
use crate::spec::{Document, SchemaSource, SpecFiles, structure::display_path};

/// The reason the `ingest init` starter gives for accepting WAF's mitigation lag: a spec that
/// still carries it is warned that nobody has decided (`waf-lag-accepted-by-starter`).
pub const STARTER_LAG_REASON: &str =
    "anonymous clients until we add api.keys (starter default: decide before production)";

/// Checks a structurally valid spec and resolves it. Returns the plan (only meaningful when no
/// diagnostic is an error) and every diagnostic.
/// Schema files are read through `files` (the disk, or a spec's files at a git revision).
pub fn run(
    document: &Document,
    spec_path: &Path,
    raw: &RawSpec,
    files: &dyn SpecFiles,
) -> (Plan, Vec<Diagnostic>) {
    let mut checker = Checker {
        document,
        files,
        diagnostics: Vec::new(),
    };
    let events = checker.load_events(spec_path, &raw.events);
    let plan = Plan::resolve(raw, events);
    checker.name(&plan);
    checker.domain(&plan);
    checker.regions(raw, &plan);
    checker.capacity(&plan);
    checker.failover(&plan);
    checker.functions(&plan);
    checker.concurrency(&plan);
    checker.bridge(&plan);
    checker.storage(&plan);
    checker.security(&plan);
    checker.athena_alarms_api(
        &plan,
        raw.athena.as_ref().is_some_and(|a| a.database.is_some()),
    );
    checker.tags(&plan);
    checker.event_names(&raw.events);
    (plan, checker.diagnostics)
}

/// Who the spec lets into the account-trusting roles, said once the spec is otherwise valid:
/// with no lever operators or readers named, the operator and reader roles trust the whole
/// account, so any principal allowed `sts:AssumeRole` on them (a grant on `*` is common in CI
/// and admin roles) can drain a region or read the lake. A default, so a warning; shown only
/// without errors, since a spec that does not check yet has more pressing news.
pub fn account_trust(document: &Document, plan: &Plan, files: &dyn SpecFiles) -> Vec<Diagnostic> {
    let mut checker = Checker {
        document,
        files,
        diagnostics: Vec::new(),
    };
    if plan.failover.lever.operators.is_empty()
        && plan.failover.lever.kind == plan::LeverChoice::Metric
    {
        checker.warning(
            &path(&["failover", "lever_operators"]),
            "lever-trusts-account",
            "the lever's operator role trusts the whole account: any principal whose policies allow `sts:AssumeRole` on it can set the drain switches and move traffic".to_owned(),
            "no lever operators named",
            "list the role or user ARNs that may pull the lever in `failover.lever_operators`",
        );
    }
    if plan.storage.readers.is_empty() {
        checker.warning(
            &path(&["storage", "readers", "principals"]),
            "readers-trust-account",
            "the reader role trusts the whole account: any principal whose policies allow `sts:AssumeRole` on it can decrypt and read the lake".to_owned(),
            "no readers named",
            "list the role or user ARNs of your analysts in `storage.readers.principals`",
        );
    }
    checker.diagnostics
}

/// The checks of the event types alone, for a spec whose other parts could not be read (a
/// required key missing, say): their problems are reported in the same run as the rest.
pub fn events_only(
    document: &Document,
    spec_path: &Path,
    events: &BTreeMap<String, RawEvent>,
    files: &dyn SpecFiles,
) -> Vec<Diagnostic> {
    let mut checker = Checker {
        document,
        files,
        diagnostics: Vec::new(),
    };
    checker.load_events(spec_path, events);
    checker.event_names(events);
    checker.diagnostics
}

struct Checker<'a> {
    document: &'a Document,
    files: &'a dyn SpecFiles,
    diagnostics: Vec<Diagnostic>,
}

/// A duration in hours for messages: `24 hours`, `1 hour`, `1.5 hours`.
fn hours(seconds: u64) -> String {
    if seconds == 3600 {
        "1 hour".to_owned()
    } else if seconds.is_multiple_of(3600) {
        format!("{} hours", seconds / 3600)
    } else {
        format!("{:.1} hours", seconds as f64 / 3600.0)
    }
}

/// Builds a path of keys.
fn path(keys: &[&str]) -> Vec<PathSegment> {
    keys.iter()
        .map(|k| PathSegment::Key((*k).to_owned()))
        .collect()
}

/// Prefixes a message with the key path it is about, unless it already names it.
fn with_path(at: &[PathSegment], message: String) -> String {
    let shown = display_path(at);
    if shown.is_empty() || message.contains(&format!("`{shown}`")) {
        message
    } else {
        format!("{shown}: {message}")
    }
}

fn region_path(role: Role, key: &[&str]) -> Vec<PathSegment> {
    let mut keys = vec!["regions", role.as_str()];
    keys.extend_from_slice(key);
    path(&keys)
}

static NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9-]{1,30}$").unwrap());
static DNS_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$").unwrap());
static ZONE_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^Z[A-Z0-9]{1,31}$").unwrap());
static CERTIFICATE_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:(aws|aws-cn|aws-us-gov):acm:([a-z0-9-]+):([0-9]{12}):certificate/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$").unwrap()
});
static EVENT_TYPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9]*([._-][a-z0-9]+)*$").unwrap());
static GLUE_DATABASE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9_]{0,254}$").unwrap());
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").unwrap());
static HEALTH_SEGMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9._-]{1,64}$").unwrap());
/// Route segments the API already uses for other routes.
const RESERVED_SEGMENTS: [&str; 1] = ["events"];

static IAM_PRINCIPAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]{1,512}$",
    )
    .unwrap()
});
static KEY_APP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9-]{0,31}$").unwrap());
static LAMBDA_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_-]{1,64}$").unwrap());
static HEADER_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$").unwrap());

/// Whether `text` is an IPv4 range in CIDR notation (`203.0.113.0/24`).
fn is_ipv4_cidr(text: &str) -> bool {
    let Some((address, bits)) = text.split_once('/') else {
        return false;
    };
    address.parse::<std::net::Ipv4Addr>().is_ok()
        && bits.parse::<u8>().is_ok_and(|bits| bits <= 32)
        && !bits.starts_with('+')
}
static STAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_]{1,128}$").unwrap());
static TAG_TEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").unwrap());

impl Checker<'_> {
    fn push(
        &mut self,
        severity: Severity,
        at: &[PathSegment],
        code: &'static str,
        message: String,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        let diagnostic = self
            .document
            .diagnostic(severity, at, false, code, with_path(at, message))
            .with_label(label)
            .with_help(help);
        self.diagnostics.push(diagnostic);
    }

    /// An error about a key itself (a map key the user chose), not its value.
    fn push_at_key(
        &mut self,
        at: &[PathSegment],
        code: &'static str,
        message: String,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        let diagnostic = self
            .document
            .diagnostic(Severity::Error, at, true, code, with_path(at, message))
            .with_label(label)
            .with_help(help);
        self.diagnostics.push(diagnostic);
    }

    fn error(
        &mut self,
        at: &[PathSegment],
        code: &'static str,
        message: String,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(Severity::Error, at, code, message, label, help);
    }

    fn warning(
        &mut self,
        at: &[PathSegment],
        code: &'static str,
        message: String,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(Severity::Warning, at, code, message, label, help);
    }

    /// The first of `candidates` that the user wrote, else the last: a problem that comes from a
    /// default is shown where the user can change it.
    fn first_written(&self, candidates: &[&[&str]]) -> Vec<PathSegment> {
        candidates
            .iter()
            .map(|keys| path(keys))
            .find(|at| self.document.tree.lookup(at).is_some())
            .unwrap_or_else(|| path(candidates.last().copied().unwrap_or(&[])))
    }

    /// `value` must be within `bounds` (inclusive).
    fn range(&mut self, at: &[PathSegment], value: u64, bounds: (u64, u64), what: &str) {
        let (low, high) = bounds;
        if value < low || value > high {
            let side = if value < low { "below" } else { "above" };
            self.error(
                at,
                "out-of-range",
                format!(
                    "`{}` is {value}, {side} the {} of {} for {what}",
                    display_path(at),
                    if value < low { "minimum" } else { "maximum" },
                    if value < low { low } else { high }
                ),
                format!("must be {low} to {high}"),
                format!("set a value from {low} to {high}"),
            );
        }
    }

    fn name(&mut self, plan: &Plan) {
        let at = path(&["name"]);
        let name = &plan.name;
        if !NAME.is_match(name) || name.ends_with('-') || name.contains("--") {
            let suggestion: String = name
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
                .split('-')
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            let help = if suggestion != *name && NAME.is_match(&suggestion) {
                format!("for example `name: {suggestion}`")
            } else {
                "use 2 to 31 lowercase letters, digits and single hyphens, starting with a letter"
                    .to_owned()
            };
            self.error(
                &at,
                "name-format",
                format!("`name` is {name:?}, but it prefixes S3 buckets, streams and functions, so it must be 2 to 31 lowercase letters, digits and hyphens, start with a letter, and not end with or double a hyphen"),
                "invalid name",
                help,
            );
            return;
        }
        let purpose = plan::BUCKET_PURPOSES[0];
        for region in plan.regions() {
            let length = plan::bucket_name_length(name, purpose, &region.region);
            if length > aws::BUCKET_NAME_MAX {
                let room = name.len() - (length - aws::BUCKET_NAME_MAX);
                self.error(
                    &at,
                    "bucket-name-too-long",
                    format!(
                        "`name` is too long for the S3 bucket names in {}: `{}` has {length} characters, S3 allows {}",
                        region.region,
                        plan::bucket_name(name, purpose)
                            .replace("${AWS::AccountId}", "123456789012")
                            .replace("${AWS::Region}", &region.region),
                        aws::BUCKET_NAME_MAX
                    ),
                    format!("at most {room} characters with these regions"),
                    format!("shorten `name` to {room} characters or fewer"),
                );
                break;
            }
        }
    }

    fn domain(&mut self, plan: &Plan) {
        let name = &plan.domain.name;
        let labels: Vec<&str> = name.split('.').collect();
        let bad_label = labels.iter().find(|label| !DNS_LABEL.is_match(label));
        if labels.len() < 2 || name.len() > 253 || bad_label.is_some() {
            let why = match bad_label {
                Some(&"") => "it has an empty label".to_owned(),
                Some(label) => format!("`{label}` is not a valid DNS label"),
                None if labels.len() < 2 => "it needs at least two labels".to_owned(),
                None => "it is longer than 253 characters".to_owned(),
            };
            self.error(
                &path(&["domain", "name"]),
                "domain-name",
                format!("`domain.name` {name:?} is not a DNS name: {why}"),
                "invalid DNS name",
                "use a name like `ingest.example.com`: labels of letters, digits and inner hyphens, joined by dots",
            );
        }
        let zone = &plan.domain.hosted_zone_id;
        if !ZONE_ID.is_match(zone) {
            let stripped = zone.trim_start_matches("/hostedzone/");
            let help = if stripped != zone && ZONE_ID.is_match(stripped) {
                format!("write the id alone: `{stripped}`")
            } else {
                "copy the id from the Route 53 console or `aws route53 list-hosted-zones`; it looks like `Z0123456789ABCDEFGHIJ`".to_owned()
            };
            self.error(
                &path(&["domain", "hosted_zone_id"]),
                "hosted-zone-id",
                format!("`domain.hosted_zone_id` {zone:?} is not a Route 53 hosted zone id"),
                "expected Z followed by capital letters and digits",
                help,
            );
        }
    }

    fn regions(&mut self, raw: &RawSpec, plan: &Plan) {
        let pairs = [
            (&raw.regions.primary, &plan.primary),
            (&raw.regions.secondary, &plan.secondary),
        ];
        let mut known = [true, true];
        for (index, (raw_region, region)) in pairs.iter().enumerate() {
            known[index] = self.region_name(region);
            self.certificate(region, known[index]);
            self.stream(raw_region, region);
            self.range(
                &region_path(region.role, &["weight"]),
                region.weight,
                aws::ROUTE53_WEIGHT,
                "a Route 53 weight",
            );
        }
        if plan.primary.region == plan.secondary.region {
            self.error(
                &region_path(Role::Secondary, &["region"]),
                "regions-not-distinct",
                format!("both regions are {}: a second region is the point of the standby", plan.primary.region),
                "same region as the primary",
                "put the secondary in another region, ideally in another part of the world from the primary",
            );
        } else if known == [true, true] && plan.primary.partition != plan.secondary.partition {
            self.error(
                &region_path(Role::Secondary, &["region"]),
                "regions-partition",
                format!(
                    "the primary is in partition `{}` and the secondary in `{}`: the bridge cannot invoke a function across partitions",
                    plan.primary.partition, plan.secondary.partition
                ),
                "another partition",
                "choose two regions of the same partition",
            );
        }
        if plan.primary.endpoint == plan::Endpoint::Edge
            && plan.secondary.endpoint == plan::Endpoint::Edge
        {
            self.error(
                &region_path(Role::Secondary, &["endpoint"]),
                "edge-twice",
                "both regions use an `edge` endpoint, but an edge custom domain belongs to exactly one CloudFront distribution".to_owned(),
                "second edge endpoint",
                "make this region `endpoint: regional` (regional in both regions is also fine)",
            );
        }
        if plan.primary.weight == 0 && plan.secondary.weight == 0 {
            self.error(
                &region_path(Role::Primary, &["weight"]),
                "weights-all-zero",
                "both weights are 0: Route 53 then spreads traffic evenly and the lever has nothing to pull".to_owned(),
                "weight 0",
                "give the primary its steady share, for example `weight: 95` with `weight: 5` on the secondary",
            );
        } else if plan.secondary.weight == 0 {
            self.warning(
                &region_path(Role::Secondary, &["weight"]),
                "secondary-weight-zero",
                "the secondary's weight is 0: its path (API, stream, receiver, spool, bridge) carries no traffic, so nothing shows it works before an outage needs it".to_owned(),
                "no steady share",
                "give the secondary a small steady share, for example `weight: 5` with `weight: 95` on the primary",
            );
        } else if plan.secondary.weight > plan.primary.weight
            && plan.secondary.weight <= aws::ROUTE53_WEIGHT.1
        {
            // (A weight out of range is already an error.)
            self.warning(
                &region_path(Role::Secondary, &["weight"]),
                "weights-swapped",
                format!(
                    "the secondary's weight ({}) is above the primary's ({}): most events take the standby path and wait in its spool for the bridge",
                    plan.secondary.weight, plan.primary.weight
                ),
                "above the primary's",
                "the primary carries the steady share and the secondary a small one, for example `weight: 95` and `weight: 5`; the lever moves traffic during an outage",
            );
        }
    }

    fn region_name(&mut self, region: &RegionPlan) -> bool {
        if aws::partition_of(&region.region).is_some() {
            return true;
        }
        let names: Vec<&str> = aws::REGIONS.iter().map(|(name, _)| *name).collect();
        let help = match closest(&region.region, names.iter().copied()) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => "use a region code such as `us-east-1` or `eu-west-1`".to_owned(),
        };
        self.error(
            &region_path(region.role, &["region"]),
            "region-unknown",
            format!("`{}` is not an AWS region", region.region),
            "unknown region",
            help,
        );
        false
    }

    fn certificate(&mut self, region: &RegionPlan, region_known: bool) {
        let at = region_path(region.role, &["certificate_arn"]);
        let Some(captures) = CERTIFICATE_ARN.captures(&region.certificate_arn) else {
            self.error(
                &at,
                "certificate-arn",
                format!("`{}` is not an ACM certificate ARN", display_path(&at)),
                "expected arn:aws:acm:<region>:<account>:certificate/<uuid>",
                "copy the ARN from the ACM console or `aws acm list-certificates --region <region>`",
            );
            return;
        };
        let arn_partition = &captures[1];
        let arn_region = &captures[2];
        let (required_region, why) = match region.endpoint {
            plan::Endpoint::Edge => (
                "us-east-1",
                "an edge endpoint is served by CloudFront, which only uses certificates from us-east-1".to_owned(),
            ),
            plan::Endpoint::Regional => (
                region.region.as_str(),
                format!("a regional endpoint uses a certificate from its own region, {}", region.region),
            ),
        };
        if region_known && arn_region != required_region {
            self.error(
                &at,
                "certificate-region",
                format!(
                    "the {} certificate is in {arn_region}, but {why}",
                    region.role.as_str()
                ),
                format!("must be in {required_region}"),
                format!("request or import the certificate in {required_region} and use its ARN"),
            );
        } else if region_known && arn_partition != region.partition {
            self.error(
                &at,
                "certificate-partition",
                format!(
                    "the certificate ARN is in partition `{arn_partition}`, the region in `{}`",
                    region.partition
                ),
                "wrong partition",
                format!(
                    "use a certificate ARN that starts with `arn:{}:acm:`",
                    region.partition
                ),
            );
        }
    }

    fn stream(&mut self, raw: &RawRegion, region: &RegionPlan) {
        let stream = raw.stream.as_ref();
        let shards = stream.and_then(|s| s.shards);
        match (stream.and_then(|s| s.mode), shards) {
            (Some(StreamMode::OnDemand), Some(_)) => self.error(
                &region_path(region.role, &["stream", "shards"]),
                "stream-mode-conflict",
                format!("the {} stream is `mode: on_demand` and also sets `shards`; an on-demand stream has no shard count", region.role.as_str()),
                "not allowed with on_demand",
                "remove `shards`, or remove `mode: on_demand` to provision this many shards",
            ),
            (Some(StreamMode::Provisioned), None) => self.error(
                &region_path(region.role, &["stream", "mode"]),
                "stream-shards-missing",
                format!("the {} stream is `mode: provisioned` but has no `shards`", region.role.as_str()),
                "needs `shards`",
                "add `shards: N` (each shard takes 1 MiB/s and 1,000 records/s), or use `mode: on_demand`",
            ),
            _ => {}
        }
        if let StreamCapacity::Provisioned { shards } = region.stream.mode
            && shards > 0
        {
            let quota = aws::default_shard_quota(&region.region);
            if shards > quota {
                self.warning(
                    &region_path(region.role, &["stream", "shards"]),
                    "shard-quota",
                    format!("{shards} shards is above the default quota of {quota} shards per account in {}", region.region),
                    "above the default quota",
                    "request a quota increase for Kinesis shards in this region before deploying",
                );
            }
        }
        if let StreamCapacity::Provisioned { shards: 0 } = region.stream.mode
            && shards.is_some()
        {
            self.error(
                &region_path(region.role, &["stream", "shards"]),
                "out-of-range",
                format!("the {} stream has 0 shards", region.role.as_str()),
                "must be at least 1",
                "give it at least one shard, or use `mode: on_demand`",
            );
        }
        self.range(
            &region_path(region.role, &["stream", "retention_hours"]),
            region.stream.retention_hours,
            aws::KINESIS_RETENTION_HOURS,
            "Kinesis retention in hours",
        );
    }

    fn capacity(&mut self, plan: &Plan) {
        let capacity = &plan.capacity;
        for (key, value) in [
            ("peak_events_per_second", capacity.peak_events_per_second),
            ("average_event_bytes", capacity.average_event_bytes),
        ] {
            if value == 0 {
                self.error(
                    &path(&["capacity", key]),
                    "out-of-range",
                    format!("`capacity.{key}` is 0, so nothing can be sized from it"),
                    "must be at least 1",
                    "declare the real peak: the standby is sized to carry all of it",
                );
            }
        }
        if capacity.peak_events_per_second == 0 || capacity.average_event_bytes == 0 {
            return;
        }
        let needed_shards = capacity
            .peak_bytes_per_second
            .div_ceil(aws::SHARD_BYTES_PER_SECOND)
            .max(
                capacity
                    .peak_events_per_second
                    .div_ceil(aws::SHARD_RECORDS_PER_SECOND),
            );
        for region in plan.regions() {
            match region.stream.mode {
                StreamCapacity::Provisioned { shards }
                    if shards > 0 && region.stream.peak_multiple < 1.0 =>
                {
                    let standby = if region.role == Role::Secondary {
                        " The standby must carry 100% when the lever moves, not its usual share."
                    } else {
                        ""
                    };
                    self.error(
                        &region_path(region.role, &["stream", "shards"]),
                        "capacity-short",
                        format!(
                            "the {} stream's {shards} shard{} carr{} {:.0}% of the declared peak ({} events/s of {} bytes).{standby}",
                            region.role.as_str(),
                            if shards == 1 { "" } else { "s" },
                            if shards == 1 { "ies" } else { "y" },
                            region.stream.peak_multiple * 100.0,
                            capacity.peak_events_per_second,
                            capacity.average_event_bytes
                        ),
                        format!("needs at least {needed_shards} shards"),
                        format!("set `shards: {needed_shards}` or more (1 MiB/s and 1,000 records/s per shard), or `mode: on_demand`"),
                    );
                }
                StreamCapacity::OnDemand if region.stream.peak_multiple < 1.0 => {
                    self.warning(
                        &region_path(region.role, &["stream"]),
                        "on-demand-warmup",
                        format!(
                            "the {} stream is on-demand: it starts at 4 MiB/s and 4,000 records/s and grows with traffic, so a sudden step to the declared peak may be throttled until it scales",
                            region.role.as_str()
                        ),
                        "may throttle at first",
                        format!("provision `shards: {needed_shards}` if this region must take the full peak at once"),
                    );
                }
                _ => {}
            }
        }
        if capacity.average_event_bytes > plan.api.max_event_bytes {
            self.error(
                &path(&["capacity", "average_event_bytes"]),
                "capacity-event-size",
                format!(
                    "the average event ({} bytes) is larger than `api.max_event_bytes` ({}), so most events would be refused with 413",
                    capacity.average_event_bytes, plan.api.max_event_bytes
                ),
                "larger than the API accepts",
                "raise `api.max_event_bytes` or check this number",
            );
        }
    }

    fn failover(&mut self, plan: &Plan) {
        let failover = &plan.failover;
        if !aws::HEALTH_CHECK_INTERVALS.contains(&failover.interval_seconds) {
            self.error(
                &path(&["failover", "health_check", "interval_seconds"]),
                "health-check-interval",
                format!(
                    "Route 53 checks every 10 or 30 seconds, not every {}",
                    failover.interval_seconds
                ),
                "must be 10 or 30",
                "use 30 (standard) or 10 (fast, billed extra)",
            );
        }
        self.range(
            &path(&["failover", "health_check", "failure_threshold"]),
            failover.failure_threshold,
            aws::HEALTH_CHECK_FAILURE_THRESHOLD,
            "a Route 53 failure threshold",
        );
        let segment = failover.path.strip_prefix('/').unwrap_or("");
        let path_ok = HEALTH_SEGMENT.is_match(segment) && !RESERVED_SEGMENTS.contains(&segment);
        if !path_ok {
            self.error(
                &path(&["failover", "health_check", "path"]),
                "health-check-path",
                format!(
                    "the health check path {:?} must be `/` and one path segment of letters, digits, `.`, `_` or `-`, other than {}: it becomes the API's health route",
                    failover.path,
                    RESERVED_SEGMENTS
                        .iter()
                        .map(|s| format!("`/{s}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
                "invalid path",
                "use for example `/health`",
            );
        }
    }

    fn functions(&mut self, plan: &Plan) {
        let sizes = [
            (
                "validator",
                &plan.validator.function,
                aws::KINESIS_BATCH_SIZE,
            ),
            ("receiver", &plan.receiver, aws::KINESIS_BATCH_SIZE),
            ("bridge", &plan.bridge.function, aws::SQS_BATCH_SIZE),
        ];
        for (section, function, batch_bounds) in sizes {
            self.range(
                &path(&[section, "memory_mb"]),
                function.memory_mb,
                aws::LAMBDA_MEMORY_MB,
                "Lambda memory in MB",
            );
            self.range(
                &path(&[section, "timeout_seconds"]),
                function.timeout_seconds,
                aws::LAMBDA_TIMEOUT_SECONDS,
                "a Lambda timeout in seconds",
            );
            self.range(
                &path(&[section, "batch_size"]),
                function.batch_size,
                batch_bounds,
                "this event source mapping's batch size",
            );
        }
        let validator = &plan.validator;
        if let Some(max_retries) = validator.max_retries {
            self.range(
                &path(&["validator", "max_retries"]),
                max_retries,
                aws::KINESIS_MAX_RETRIES,
                "retries of a failing batch",
            );
        }
        self.range(
            &path(&["validator", "batching_window_seconds"]),
            validator.batching_window_seconds,
            aws::BATCHING_WINDOW_SECONDS,
            "a batching window in seconds",
        );
        self.range(
            &path(&["validator", "parallelization_factor"]),
            validator.parallelization_factor,
            aws::PARALLELIZATION_FACTOR,
            "a parallelization factor",
        );
        self.buffers(plan);
        let log_days = plan.functions.log_retention_days;
        if !aws::LOG_RETENTION_DAYS.contains(&log_days) {
            let nearest = aws::LOG_RETENTION_DAYS
                .iter()
                .min_by_key(|allowed| allowed.abs_diff(log_days))
                .copied()
                .unwrap_or(30);
            self.error(
                &path(&["functions", "log_retention_days"]),
                "log-retention",
                format!("CloudWatch Logs cannot keep logs for {log_days} days; it accepts only certain values"),
                "not an allowed value",
                format!(
                    "use {nearest}, the nearest allowed value (allowed: {})",
                    aws::LOG_RETENTION_DAYS.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }

    /// Every buffer holds the declared outage plus the margin (`docs/guarantees.md#buffers`):
    /// both streams keep records that long and a margin more, the mappings retry until then
    /// and give up a margin before the stream trims (G33), and retries are bounded by age, not
    /// by a count that an infrastructure outage spends in minutes.
    fn buffers(&mut self, plan: &Plan) {
        let buffers = &plan.buffers;
        let hold = buffers.hold_seconds;
        let (outage, margin) = (hours(buffers.outage_seconds), hours(buffers.margin_seconds));
        let outage_path = self.first_written(&[&["bridge", "outage_hours"], &["bridge"]]);
        if hold > aws::KINESIS_MAX_RECORD_AGE_SECONDS.1 {
            self.error(
                &outage_path,
                "buffer-record-age",
                format!(
                    "riding out {outage} and a margin of {margin} needs the stream mappings to retry a record for {}, but Lambda gives up on a record after at most 7 days (`MaximumRecordAgeInSeconds` 604800)",
                    hours(hold)
                ),
                "longer than a mapping can retry",
                "declare an outage of at most 134 hours",
            );
            return;
        }
        for region in plan.regions() {
            let retention = region.stream.retention_hours;
            if retention < buffers.stream_retention_hours {
                let role = region.role.as_str();
                self.error(
                    &self.first_written(&[
                        &["regions", role, "stream", "retention_hours"],
                        &["bridge", "outage_hours"],
                        &["regions", role, "stream"],
                    ]),
                    "buffer-stream-retention",
                    format!(
                        "the {role} stream keeps records {retention} hours, but riding out the declared outage of {outage} needs {} hours: the outage, a margin of {margin} for the mapping to retry after it, and a margin more before the stream trims what the mapping has not given up on (trimmed records are lost without a count)",
                        buffers.stream_retention_hours
                    ),
                    format!("at least {}", buffers.stream_retention_hours),
                    format!(
                        "set `regions.{role}.stream.retention_hours` to {} or more (or leave it out), or lower `bridge.outage_hours`; retention beyond 24 hours is billed as extended retention",
                        buffers.stream_retention_hours
                    ),
                );
            }
        }
        let validator = &plan.validator;
        let age_path = self.first_written(&[
            &["validator", "max_record_age_seconds"],
            &["regions", "primary", "stream", "retention_hours"],
            &["validator"],
        ]);
        self.range(
            &age_path,
            validator.max_record_age_seconds,
            aws::KINESIS_MAX_RECORD_AGE_SECONDS,
            "the oldest record a mapping retries",
        );
        let retention_seconds = plan.primary.stream.retention_hours.saturating_mul(3600);
        let age_limit = retention_seconds.saturating_sub(buffers.margin_seconds);
        let age = validator.max_record_age_seconds;
        if age > age_limit {
            let how = if age > retention_seconds {
                "longer than".to_owned()
            } else {
                format!("less than the margin ({margin}) below")
            };
            self.error(
                &age_path,
                "record-age-over-retention",
                format!(
                    "`validator.max_record_age_seconds` is {age}, {how} the time the primary stream keeps records ({} hours = {retention_seconds} s): a record that retention trims before the mapping gives up on it never reaches the failed-batches bucket, and nothing counts it as lost",
                    plan.primary.stream.retention_hours
                ),
                "not clearly below the retention",
                format!("lower it to {age_limit} (the margin below the retention) or leave it out"),
            );
        } else if age < hold {
            self.error(
                &age_path,
                "buffer-record-age",
                format!(
                    "`validator.max_record_age_seconds` is {age}: the mapping would give up on records after {}, before the declared outage of {outage} and its margin of {margin} are over, and park them in the failed-batches bucket",
                    hours(age)
                ),
                format!("at least {hold}"),
                format!("raise it to at least {hold}, or leave it out ({age_limit}: the margin below the retention)"),
            );
        }
        if let Some(max_retries) = validator.max_retries {
            let timeout = validator.function.timeout_seconds;
            let failing = plan::failing_invocation_seconds(timeout);
            let lasts = max_retries.saturating_add(1).saturating_mul(failing);
            if lasts < hold {
                let needed = hold.div_ceil(failing.max(1));
                self.error(
                    &path(&["validator", "max_retries"]),
                    "buffer-retries",
                    format!(
                        "`validator.max_retries` is {max_retries}: while S3 or KMS fails, each retry is an invocation that keeps retrying its writes until its {timeout} s timeout is near (about {failing} s), so the mapping gives up after about {} and parks the batch in the failed-batches bucket, long before the declared outage of {outage} and its margin of {margin} are over",
                        hours(lasts)
                    ),
                    "gives up by count before the outage is over",
                    format!(
                        "remove `max_retries`: retries then end by age, {} after a record arrived (the default); or raise it to at least {needed} (at most {})",
                        hours(validator.max_record_age_seconds),
                        aws::KINESIS_MAX_RETRIES.1
                    ),
                );
            }
        }
    }

    /// The reserved concurrency the plan derives for each region's functions must fit the
    /// account's default concurrency less what Lambda keeps unreserved; beyond that the deploy
    /// fails unless the quota was raised, so it is a warning.
    fn concurrency(&mut self, plan: &Plan) {
        let limit = aws::LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY - aws::LAMBDA_UNRESERVED_MINIMUM;
        let regions = [
            (
                &plan.primary,
                vec![&plan.validator.function],
                self.first_written(&[
                    &["regions", "primary", "stream", "shards"],
                    &["validator", "parallelization_factor"],
                    &["regions", "primary", "stream"],
                    &["regions", "primary"],
                ]),
            ),
            (
                &plan.secondary,
                vec![&plan.receiver, &plan.bridge.function],
                self.first_written(&[
                    &["regions", "secondary", "stream", "shards"],
                    &["regions", "secondary", "stream"],
                    &["regions", "secondary"],
                ]),
            ),
        ];
        for (region, functions, at) in regions {
            let total = functions
                .iter()
                .fold(0u64, |sum, f| sum.saturating_add(f.reserved_concurrency));
            if total <= limit {
                continue;
            }
            let parts = functions
                .iter()
                .map(|f| format!("{}: {}", f.name, f.reserved_concurrency))
                .collect::<Vec<_>>()
                .join(", ");
            self.warning(
                &at,
                "reserved-concurrency-quota",
                format!(
                    "the {} region's functions reserve {total} concurrent executions ({parts}), enough to work every shard at once; Lambda keeps {} of an account's executions in a region unreserved, so this needs a quota of at least {} in {}, above the default of {}",
                    region.role.as_str(),
                    aws::LAMBDA_UNRESERVED_MINIMUM,
                    total.saturating_add(aws::LAMBDA_UNRESERVED_MINIMUM),
                    region.region,
                    aws::LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY
                ),
                "needs a raised concurrency quota",
                format!(
                    "request a Lambda concurrent-executions quota of at least {} in {} before deploying (new accounts may start below the default), or use fewer shards",
                    total.saturating_add(aws::LAMBDA_UNRESERVED_MINIMUM),
                    region.region
                ),
            );
        }
    }

    fn bridge(&mut self, plan: &Plan) {
        let bridge = &plan.bridge;
        let outage_path = self.first_written(&[&["bridge", "outage_hours"], &["bridge"]]);
        if bridge.outage_hours == 0 {
            self.error(
                &outage_path,
                "outage-hours",
                "`bridge.outage_hours` is 0: the bridge would give up on the first failed delivery while the primary is down".to_owned(),
                "must be at least 1",
                "set the longest primary outage to ride out, for example 24 (the seed's outage lasted 8 hours)",
            );
        }
        let timeout = bridge.function.timeout_seconds;
        let visibility_path = self.first_written(&[
            &["bridge", "visibility_timeout_seconds"],
            &["bridge", "timeout_seconds"],
            &["bridge"],
        ]);
        if bridge.visibility_timeout_seconds
            < timeout.saturating_mul(plan::defaults::VISIBILITY_FACTOR)
        {
            self.error(
                &visibility_path,
                "visibility-timeout",
                format!(
                    "the queue's visibility timeout ({} s) is less than 6 times the bridge timeout ({timeout} s); Lambda needs at least 6x, or messages reappear while still being processed",
                    bridge.visibility_timeout_seconds
                ),
                format!("at least {}", timeout.saturating_mul(6)),
                format!("set it to {} or more, or leave it out to derive it", timeout.saturating_mul(6)),
            );
        } else if bridge.visibility_timeout_seconds > aws::SQS_MAX_VISIBILITY_SECONDS {
            self.error(
                &visibility_path,
                "visibility-timeout",
                format!(
                    "the queue's visibility timeout would be {} s, above SQS's maximum of 12 hours ({} s)",
                    bridge.visibility_timeout_seconds,
                    aws::SQS_MAX_VISIBILITY_SECONDS
                ),
                "above 43200",
                "lower `bridge.timeout_seconds` or set `bridge.visibility_timeout_seconds` to at most 43200",
            );
        }
        self.redelivery(plan, &outage_path);
        let needed = bridge
            .chunks_per_object
            .saturating_mul(plan.validator.function.timeout_seconds);
        if timeout < needed {
            let at = self.first_written(&[
                &["bridge", "timeout_seconds"],
                &["storage", "spool", "buffer_mb"],
                &["validator", "timeout_seconds"],
                &["bridge"],
            ]);
            self.error(
                &at,
                "bridge-timeout",
                format!(
                    "a spool object of up to {} MB takes {} synchronous invokes of the validator (under 6 MB each), each of up to {} s, but the bridge times out after {timeout} s",
                    plan.storage.spool_buffer_mb,
                    bridge.chunks_per_object,
                    plan.validator.function.timeout_seconds
                ),
                format!("at least {needed}"),
                format!("set `bridge.timeout_seconds` to {needed} or more, or lower `storage.spool.buffer_mb`"),
            );
        }
        // The spool's retention against the bridge's retries is judged with the other
        // retentions (`storage`): it must outlive the dead-letter queue and a redrive.
    }

    /// The bridge's redelivery schedule (`ingest_runtime::redelivery`): its delays fit SQS,
    /// its receives fit `maxReceiveCount`, its budget covers the outage, and the queue keeps a
    /// message until it reaches the DLQ.
    fn redelivery(&mut self, plan: &Plan, outage_path: &[PathSegment]) {
        let bridge = &plan.bridge;
        let schedule = &bridge.redelivery;
        let delay_path = self.first_written(&[
            &["bridge", "retry_max_delay_seconds"],
            &["bridge", "outage_hours"],
            &["bridge"],
        ]);
        if schedule.max_delay_seconds > aws::SQS_MAX_VISIBILITY_SECONDS {
            self.error(
                &delay_path,
                "retry-delay",
                format!(
                    "the longest retry delay would be {} s, above SQS's maximum visibility timeout of 12 hours ({} s)",
                    schedule.max_delay_seconds,
                    aws::SQS_MAX_VISIBILITY_SECONDS
                ),
                "above 43200",
                "set `bridge.retry_max_delay_seconds` to at most 43200, or lower `bridge.outage_hours`",
            );
        }
        let first_path =
            self.first_written(&[&["bridge", "retry_first_delay_seconds"], &["bridge"]]);
        if schedule.first_delay_seconds == 0 {
            self.error(
                &first_path,
                "retry-delay",
                "the first retry delay is 0: a failed message would come straight back, and its delays would never grow".to_owned(),
                "must be at least 1",
                format!(
                    "set `bridge.retry_first_delay_seconds` to at least 1 (default {})",
                    plan::defaults::RETRY_FIRST_DELAY_SECONDS
                ),
            );
        }
        if bridge.outage_hours == 0 || schedule.first_delay_seconds == 0 {
            return;
        }
        let outage_hours = bridge.outage_with_margin_seconds as f64 / 3600.0;
        if bridge.max_receive_count > aws::SQS_MAX_RECEIVE_COUNT.1 {
            self.error(
                &delay_path,
                "retry-budget",
                format!(
                    "riding out {} hours (plus the margin, {outage_hours:.1} hours) with retry delays of at most {} s needs more than {} receives per message, SQS's maximum",
                    bridge.outage_hours,
                    schedule.max_delay_seconds,
                    aws::SQS_MAX_RECEIVE_COUNT.1
                ),
                "needs more receives than SQS allows",
                "raise `bridge.retry_max_delay_seconds` (or leave it out to derive it) so fewer, longer delays cover the outage",
            );
        } else if bridge.retry_budget_seconds < bridge.outage_with_margin_seconds {
            self.error(
                outage_path,
                "retry-budget",
                format!(
                    "the bridge's retry budget ({:.1} hours over {} receives) does not cover the outage plus the margin ({outage_hours:.1} hours): messages would reach the DLQ while the primary is still down",
                    bridge.retry_budget_seconds as f64 / 3600.0,
                    bridge.max_receive_count,
                ),
                "longer than the retry budget",
                "raise `bridge.retry_max_delay_seconds`, or lower `bridge.outage_hours`",
            );
        } else if bridge
            .dead_letter_after_seconds
            .saturating_add(plan::defaults::RETENTION_MARGIN_SECONDS)
            > bridge.queue_retention_seconds
        {
            self.error(
                outage_path,
                "retry-budget",
                format!(
                    "a message can take up to {:.1} days to reach the DLQ ({} receives, each ending after the bridge's {} s timeout plus its retry delay, or after the {} s visibility timeout when the invocation dies), which plus an hour of margin does not fit SQS's 14-day message retention: messages would expire while still being retried",
                    bridge.dead_letter_after_seconds as f64 / 86_400.0,
                    bridge.max_receive_count,
                    bridge.function.timeout_seconds,
                    bridge.visibility_timeout_seconds
                ),
                "longer than SQS keeps messages",
                "lower `bridge.outage_hours`, `bridge.timeout_seconds` or `bridge.visibility_timeout_seconds`",
            );
        }
    }

    fn storage(&mut self, plan: &Plan) {
        let storage = &plan.storage;
        // At 100% failover the secondary's spool takes the whole peak; a Firehose stream under
        // its quota throttles the receiver, and the backlog waits in the secondary stream
        // (`docs/traps.md#firehose-throughput-quota`).
        if storage.spool_peak_bytes_per_second > storage.spool_quota_bytes_per_second {
            let quota_mib = storage.spool_quota_bytes_per_second as f64 / 1024.0 / 1024.0;
            let needed_mib = storage.spool_peak_bytes_per_second.div_ceil(1024 * 1024);
            let whose = if storage.spool_quota_declared {
                "the declared quota".to_owned()
            } else {
                format!(
                    "Firehose's default quota per stream in {}",
                    plan.secondary.region
                )
            };
            self.error(
                &self.first_written(&[
                    &["storage", "spool", "quota_mib_per_second"],
                    &["capacity", "peak_events_per_second"],
                    &["capacity"],
                ]),
                "firehose-quota",
                format!(
                    "at 100% failover the spool must take {:.2} MiB/s (the peak of {} events/s, each a spool line of about {} bytes: the event in base64 and its origin), above {whose} of {quota_mib:.0} MiB/s: Firehose would throttle the receiver and the secondary stream would fall behind",
                    storage.spool_peak_bytes_per_second as f64 / 1024.0 / 1024.0,
                    plan.capacity.peak_events_per_second,
                    storage.spool_peak_bytes_per_second / plan.capacity.peak_events_per_second.max(1),
                ),
                format!("needs {needed_mib} MiB/s"),
                format!(
                    "ask AWS to raise the stream's Direct PUT quota to at least {needed_mib} MiB/s (a service quota request for {}) and declare it as `storage.spool.quota_mib_per_second: {needed_mib}`, or lower the declared peak",
                    plan.secondary.region
                ),
            );
        }
        self.range(
            &path(&["storage", "spool", "buffer_seconds"]),
            storage.spool_buffer_seconds,
            aws::FIREHOSE_BUFFER_SECONDS,
            "a Firehose buffer interval",
        );
        self.range(
            &path(&["storage", "spool", "buffer_mb"]),
            storage.spool_buffer_mb,
            aws::FIREHOSE_BUFFER_MB,
            "a Firehose buffer size in MB",
        );
        if storage.spool_retention_days < storage.spool_minimum_retention_days {
            let at = self.first_written(&[
                &["storage", "spool", "retention_days"],
                &["bridge", "outage_hours"],
                &["bridge"],
            ]);
            self.error(
                &at,
                "spool-retention",
                format!(
                    "spool objects expire after {} days, but a notification can wait in the bridge's dead-letter queue for {} days from when it was first queued and then, redriven, be retried for {:.1} hours more: its object must still be there, or the events buffered during an outage are lost",
                    storage.spool_retention_days,
                    aws::SQS_MAX_RETENTION_SECONDS / 86_400,
                    plan.bridge.queue_retention_seconds as f64 / 3600.0
                ),
                format!("at least {} days", storage.spool_minimum_retention_days),
                format!(
                    "leave `storage.spool.retention_days` out (it is derived: {} days) or set it to that or more",
                    storage.spool_minimum_retention_days
                ),
            );
        }
        let retentions = [
            (
                "quarantine",
                storage.quarantine_retention_days,
                (1, 365),
                "the quarantine keeps raw bodies, possibly personal data; keep them only as long as it takes to fix a producer and replay",
            ),
            (
                "failed",
                storage.failed_retention_days,
                (7, 365),
                "a failed batch must outlive the time it takes to notice its alarm and replay it",
            ),
            (
                "athena_results",
                storage.athena_results_retention_days,
                (1, 365),
                "query results copy lake data",
            ),
            (
                "access_logs",
                storage.access_log_retention_days,
                (1, 3650),
                "access logs hold the address and key of every request",
            ),
        ];
        for (key, days, (low, high), why) in retentions {
            if days < low || days > high {
                self.error(
                    &path(&["storage", key, "retention_days"]),
                    "bucket-retention",
                    format!(
                        "`storage.{key}.retention_days` is {days}, outside {low} to {high}: {why}"
                    ),
                    format!("must be {low} to {high}"),
                    format!(
                        "set a number of days from {low} to {high}, or leave it out for the default"
                    ),
                );
            }
        }
        // A parked batch must outlive the stream it came from by a margin: its alarm fires
        // when it is parked, and `ingest redrive --failed` replays it while the object exists.
        let longest_retention_seconds = plan
            .regions()
            .iter()
            .map(|r| r.stream.retention_hours.saturating_mul(3600))
            .max()
            .unwrap_or(0);
        let failed_minimum_days = longest_retention_seconds
            .saturating_add(plan.buffers.margin_seconds)
            .div_ceil(86_400)
            .saturating_add(1);
        if storage.failed_retention_days < failed_minimum_days {
            let at = self.first_written(&[
                &["storage", "failed", "retention_days"],
                &["storage", "failed"],
                &["storage"],
            ]);
            self.error(
                &at,
                "failed-retention",
                format!(
                    "the failed buckets expire batches after {} days, not more than the streams' retention ({:.0} hours) plus the margin ({:.0} hours): a batch a mapping parks must still be there when `ingest redrive --failed` runs after its alarm",
                    storage.failed_retention_days,
                    longest_retention_seconds as f64 / 3600.0,
                    plan.buffers.margin_seconds as f64 / 3600.0
                ),
                format!("at least {failed_minimum_days} days"),
                format!(
                    "set `storage.failed.retention_days` to {failed_minimum_days} or more (default {})",
                    plan::defaults::FAILED_RETENTION_DAYS
                ),
            );
        }
        let readers = plan.storage.readers.clone();
        self.principals(
            &["storage", "readers", "principals"],
            &readers,
            plan.primary.partition,
        );
    }

    /// IAM principal ARNs the spec trusts (operators, readers): role or user ARNs of the
    /// stacks' partition.
    fn principals(&mut self, keys: &[&str], principals: &[String], partition: &str) {
        for (index, principal) in principals.iter().enumerate() {
            let of_partition = principal
                .strip_prefix("arn:")
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(written, _)| written == partition);
            if IAM_PRINCIPAL.is_match(principal) && !of_partition {
                let mut at = path(keys);
                at.push(PathSegment::Index(index));
                self.error(
                    &at,
                    "principal-arn",
                    format!("{principal:?} is not in the stacks' partition `{partition}`"),
                    "another partition",
                    format!(
                        "name a role or user of the regions' partition: `arn:{partition}:iam::...`"
                    ),
                );
            } else if !IAM_PRINCIPAL.is_match(principal) {
                let mut at = path(keys);
                at.push(PathSegment::Index(index));
                self.error(
                    &at,
                    "principal-arn",
                    format!("{principal:?} is not the ARN of an IAM role or user"),
                    "not a role or user ARN",
                    "write it as `arn:aws:iam::123456789012:role/NAME` (or `:user/NAME`); SSO roles have a path, `role/aws-reserved/sso.amazonaws.com/NAME`",
                );
            }
        }
    }

    /// How many client addresses, each at the web ACL's limits, fill each region's stream
    /// (`docs/security.md#per-client-limits`): the plan derives the large-body limit from
    /// `api.waf.min_addresses_to_fill`; when no limit WAF accepts reaches it, or the records
    /// alone do not, the spec is refused.
    fn addresses_to_fill(&mut self, plan: &Plan, waf: &WafPlan) {
        let api = &plan.api;
        if !aws::WAF_WINDOWS.contains(&waf.window_seconds)
            || waf.rate_per_ip < aws::WAF_RATE_LIMIT.0
            || waf.min_addresses_to_fill == 0
            || waf.large_body_bytes == 0
            || waf.large_body_bytes > aws::WAF_FREE_BODY_INSPECTION_BYTES
            || api.max_event_bytes > aws::SPOOL_MAX_EVENT_BYTES
            || plan
                .regions()
                .iter()
                .any(|region| region.stream.bytes_per_second == 0)
        {
            return; // their own errors say what is wrong
        }
        let limit_too_low = api.max_event_bytes > waf.large_body_bytes
            && waf.large_body_limit < aws::WAF_RATE_LIMIT.0;
        // The smaller stream first: the large-body limit is derived from it.
        let mut regions: Vec<(&RegionPlan, u64)> = plan
            .regions()
            .into_iter()
            .zip(waf.addresses_to_fill)
            .collect();
        regions.sort_by_key(|(region, _)| region.stream.bytes_per_second);
        for (region, addresses) in regions {
            let role = region.role.as_str();
            let at = self.first_written(&[
                &["api", "waf", "min_addresses_to_fill"],
                &["api", "waf", "rate_per_ip"],
                &["api", "max_event_bytes"],
                &["regions", role, "stream", "shards"],
                &["regions", role, "stream"],
                &["regions", role],
            ]);
            let records_fill = waf.min_addresses_to_fill as f64 * waf.per_ip_records_per_second
                > region.stream.records_per_second as f64;
            if !limit_too_low && !records_fill && addresses >= waf.min_addresses_to_fill {
                continue;
            }
            let per_address = region.stream.bytes_per_second / waf.min_addresses_to_fill;
            // With the lowest limit WAF accepts, what the addresses can really write.
            let addresses = if limit_too_low {
                let per_window = waf
                    .rate_per_ip
                    .saturating_mul(waf.large_body_bytes)
                    .saturating_add(aws::WAF_RATE_LIMIT.0.saturating_mul(api.max_event_bytes));
                (region
                    .stream
                    .bytes_per_second
                    .saturating_mul(waf.window_seconds))
                .div_ceil(per_window.max(1))
            } else {
                addresses
            };
            let message = if records_fill {
                format!(
                    "{} client addresses at the WAF limit ({} requests per {} s) write {:.0} records a second, more than the {} stream takes ({}): `api.waf.min_addresses_to_fill` asks that it take at least that many to fill it",
                    waf.min_addresses_to_fill,
                    waf.rate_per_ip,
                    waf.window_seconds,
                    waf.min_addresses_to_fill as f64 * waf.per_ip_records_per_second,
                    region.role.as_str(),
                    region.stream.records_per_second
                )
            } else {
                format!(
                    "it should take {} client addresses to fill the {} stream ({} KiB/s), so each may write {} bytes a second; but {} requests per {} s of {} bytes (the most WAF counts as small) already write {} a second, leaving no room for the {} large bodies (up to `api.max_event_bytes`, {} bytes) per window that are the least a WAF rate rule allows",
                    waf.min_addresses_to_fill,
                    region.role.as_str(),
                    region.stream.bytes_per_second / 1024,
                    per_address,
                    waf.rate_per_ip,
                    waf.window_seconds,
                    waf.large_body_bytes,
                    waf.rate_per_ip * waf.large_body_bytes / waf.window_seconds.max(1),
                    aws::WAF_RATE_LIMIT.0,
                    api.max_event_bytes
                )
            };
            self.error(
                &at,
                "waf-addresses-to-fill",
                message,
                format!(
                    "{addresses} addresses at the WAF limits fill the {} stream",
                    region.role.as_str()
                ),
                "give the smaller stream more shards, or lower `api.max_event_bytes`, `api.waf.rate_per_ip` or `api.waf.large_body_bytes`, or accept fewer addresses with a lower `api.waf.min_addresses_to_fill`",
            );
            return;
        }
    }

    /// WAF's mitigation lag (`docs/security.md#the-mitigation-lag`): for 30-50 s a fresh
    /// address is held by nothing per address, so unless who the client is or the stage
    /// throttle bounds it, a pool of addresses used in turn keeps the smaller stream full with
    /// fewer addresses than `api.waf.min_addresses_to_fill` asks. That is refused unless the
    /// spec says why the team accepts it; a reason where nothing needs one is a warning.
    fn mitigation_lag(&mut self, plan: &Plan, waf: &WafPlan) {
        if plan.api.throttle_rate == 0
            || plan.api.max_event_bytes > aws::SPOOL_MAX_EVENT_BYTES
            || plan
                .regions()
                .iter()
                .any(|region| region.stream.bytes_per_second == 0)
        {
            return; // their own errors say what is wrong
        }
        let accepted_at = path(&["api", "waf", "mitigation_lag_accepted"]);
        let declared = self.document.tree.lookup(&accepted_at).is_some();
        let (shortest_lag, longest_lag) = aws::WAF_MITIGATION_LAG_SECONDS;
        let (fewest, most) = waf.lag_pool_addresses;
        match &waf.lag_bound {
            LagBound::Open { accepted: Some(reason) } if reason.trim().is_empty() => self.error(
                &accepted_at,
                "waf-lag-accepted-empty",
                "`api.waf.mitigation_lag_accepted` is empty: it is the team's reason for accepting the exposure, and the summary prints it".to_owned(),
                "no reason given",
                "say who decided and why, for example `events are small in practice; the stream alarm pages us (team data, 2026-12)`",
            ),
            LagBound::Open {
                accepted: Some(reason),
            } if reason.trim() == STARTER_LAG_REASON => self.warning(
                &accepted_at,
                "waf-lag-accepted-by-starter",
                format!(
                    "`api.waf.mitigation_lag_accepted` is still the reason `ingest init` wrote: nobody has decided that {fewest} to {most} addresses used in turn may fill the {}'s stream during WAF's mitigation lag",
                    waf.lag_fill_role.as_str()
                ),
                "the starter's reason, not yours",
                "decide before production: limit clients by who they are (`api.keys`, `api.authorizer`), or write your team's own reason here",
            ),
            LagBound::Open { accepted: None }
                if fewest < waf.min_addresses_to_fill || !plan.api.keys.is_empty() =>
            {
                let role = waf.lag_fill_role.as_str();
                let (shards, stream, region) = (
                    ["regions", role, "stream", "shards"],
                    ["regions", role, "stream"],
                    ["regions", role],
                );
                let mut candidates: Vec<&[&str]> = Vec::new();
                if !plan.api.keys.is_empty() {
                    candidates.push(&["api", "keys", "apps"]);
                }
                candidates.extend([
                    &["api", "waf"][..],
                    &["api", "max_event_bytes"],
                    &["api", "throttle", "rate"],
                    &["api"],
                    &shards,
                    &stream,
                    &region,
                ]);
                let at = self.first_written(&candidates);
                let (message, label) = if plan.api.keys.is_empty() {
                    (
                        format!(
                            "for the {shortest_lag}-{longest_lag} s before WAF counts a new client address (its mitigation lag) only the stage throttle ({}/s) holds it, and {} requests/s of the largest bodies (`api.max_event_bytes`, {} bytes) fill the {role}'s stream: {fewest} to {most} addresses used in turn keep it full, fewer than the {} of `api.waf.min_addresses_to_fill`",
                            plan.api.throttle_rate,
                            waf.lag_fill_requests_per_second,
                            plan.api.max_event_bytes,
                            waf.min_addresses_to_fill
                        ),
                        format!("{fewest} to {most} addresses fill the {role}'s stream during WAF's lag"),
                    )
                } else {
                    (
                        format!(
                            "the apps' keys together pass up to {} requests in a second (rates plus bursts), and {} requests/s of the largest bodies (`api.max_event_bytes`, {} bytes) fill the {role}'s stream: a key read out of an app fills it, from any address, with no WAF limit to wait for",
                            plan.api.keys_requests_in_a_second(),
                            waf.lag_fill_requests_per_second,
                            plan.api.max_event_bytes
                        ),
                        format!("one app's key fills the {role}'s stream"),
                    )
                };
                self.error(
                    &at,
                    "waf-lag-fills-stream",
                    message,
                    label,
                    format!(
                        "limit clients by who they are (`api.authorizer`, or `api.keys` whose rates and bursts together stay under {}/s), or {}; or, if the team accepts the exposure, say why in `api.waf.mitigation_lag_accepted`",
                        waf.lag_fill_requests_per_second,
                        self.lag_throttle_help(plan, waf)
                    ),
                );
            }
            LagBound::ClientIdentity(_) | LagBound::StageThrottle if declared => self.warning(
                &accepted_at,
                "waf-lag-accepted-unneeded",
                format!(
                    "`api.waf.mitigation_lag_accepted` accepts an exposure this spec does not have: {}",
                    match &waf.lag_bound {
                        LagBound::ClientIdentity(by) => format!("`{by}` bounds each client by who it is"),
                        _ => format!(
                            "the stage throttle ({}/s, burst {}) stays under the {} requests/s of the largest bodies that fill the {}'s stream",
                            plan.api.throttle_rate,
                            plan.api.throttle_burst,
                            waf.lag_fill_requests_per_second,
                            waf.lag_fill_role.as_str()
                        ),
                    }
                ),
                "nothing to accept",
                "remove it, so that a later change that opens the exposure is refused rather than silently accepted",
            ),
            _ => {}
        }
    }

    /// How a stage throttle could bound the lag: below the requests a second that fill the
    /// smaller stream when that still carries the peak, else with smaller bodies too.
    fn lag_throttle_help(&self, plan: &Plan, waf: &WafPlan) -> String {
        let peak = plan.capacity.peak_events_per_second;
        if waf.lag_fill_requests_per_second > peak.saturating_mul(2) {
            return format!(
                "keep `api.throttle.rate` plus `api.throttle.burst` below {} (they are {} and {}; the rate must carry the peak, {peak}/s), so that a second of the stage's largest bodies fits the smaller stream",
                waf.lag_fill_requests_per_second, plan.api.throttle_rate, plan.api.throttle_burst
            );
        }
        let smaller = plan.region(waf.lag_fill_role).stream.bytes_per_second;
        let fitting_bytes = smaller.saturating_sub(1) / peak.saturating_mul(2).max(1);
        format!(
            "lower `api.max_event_bytes` to {fitting_bytes} bytes or less and `api.throttle`'s rate and burst to the peak ({peak}/s), so that a second of the stage's largest bodies fits the {}'s stream, or give that stream more shards",
            waf.lag_fill_role.as_str()
        )
    }

    /// The public face: the web ACL's numbers, the checker regions, API keys, the
    /// authorizer and the lever's kind (`docs/security.md`).
    fn security(&mut self, plan: &Plan) {
        let api = &plan.api;
        match &api.waf {
            None => self.warning(
                &path(&["api", "waf", "enabled"]),
                "waf-off",
                "the API has no web ACL: one client can send up to the stage throttle and fill the streams for everyone, and anyone can flood the health route that Route 53 reads".to_owned(),
                "no per-client limit",
                "leave `api.waf` on unless something else (your own CloudFront and WAF) limits each client and guards the health route",
            ),
            Some(waf) => {
                self.range(
                    &path(&["api", "waf", "rate_per_ip"]),
                    waf.rate_per_ip,
                    aws::WAF_RATE_LIMIT,
                    "a WAF rate limit",
                );
                if !aws::WAF_WINDOWS.contains(&waf.window_seconds) {
                    self.error(
                        &path(&["api", "waf", "window_seconds"]),
                        "waf-window",
                        format!("WAF counts a client's requests over 60, 120, 300 or 600 seconds, not {}", waf.window_seconds),
                        "must be 60, 120, 300 or 600",
                        "use 300 (the default) or another of those",
                    );
                }
                for (index, cidr) in waf.health_allow_cidrs.iter().enumerate() {
                    if !is_ipv4_cidr(cidr) {
                        let mut at = path(&["api", "waf", "health_allow_cidrs"]);
                        at.push(PathSegment::Index(index));
                        self.error(
                            &at,
                            "waf-cidr",
                            format!("{cidr:?} is not an IPv4 range in CIDR notation"),
                            "not an IPv4 CIDR",
                            "write it like `203.0.113.0/24`; Route 53 checks over IPv4 only, and the web ACL's list is IPv4",
                        );
                    }
                }
                self.range(
                    &path(&["api", "waf", "large_body_bytes"]),
                    waf.large_body_bytes,
                    (1, aws::WAF_FREE_BODY_INSPECTION_BYTES),
                    "the large-body threshold (WAF inspects 16 KiB of a body at no extra charge)",
                );
                self.range(
                    &path(&["api", "waf", "min_addresses_to_fill"]),
                    waf.min_addresses_to_fill,
                    (1, u64::from(u32::MAX)),
                    "the addresses it must take to fill a stream",
                );
                self.addresses_to_fill(plan, waf);
                self.mitigation_lag(plan, waf);
            }
        }
        if api.ip_address_type == IpAddressType::Dualstack
            && api.keys.is_empty()
            && api.authorizer.is_none()
        {
            self.warning(
                &path(&["api", "ip_address_type"]),
                "dualstack-rotates",
                "the API answers IPv6: WAF counts each IPv6 address on its own, and one host with an IPv6 /64 sends each request from a new address, so `api.waf.rate_per_ip` does not limit it".to_owned(),
                "IPv6 clients rotate addresses",
                "use `ipv4` (the default), or pair `dualstack` with `api.keys` or `api.authorizer` so clients are limited by who they are, not by address",
            );
        }
        let regions = &plan.failover.checker_regions;
        let regions_path = path(&["failover", "health_check", "regions"]);
        if regions.len() < aws::ROUTE53_MIN_CHECKER_REGIONS {
            self.error(
                &regions_path,
                "checker-regions",
                format!(
                    "Route 53 needs at least {} checker regions, not {}",
                    aws::ROUTE53_MIN_CHECKER_REGIONS,
                    regions.len()
                ),
                "too few regions",
                format!(
                    "name three or more of {}",
                    aws::ROUTE53_CHECKER_REGIONS.join(", ")
                ),
            );
        }
        for (index, region) in regions.iter().enumerate() {
            let duplicate = regions[..index].contains(region);
            if duplicate || !aws::ROUTE53_CHECKER_REGIONS.contains(&region.as_str()) {
                let mut at = regions_path.clone();
                at.push(PathSegment::Index(index));
                self.error(
                    &at,
                    "checker-regions",
                    if duplicate {
                        format!("checker region {region} is listed twice")
                    } else {
                        format!("Route 53 has no health checkers in {region:?}")
                    },
                    "not a checker region",
                    format!(
                        "use regions from {}",
                        aws::ROUTE53_CHECKER_REGIONS.join(", ")
                    ),
                );
            }
        }
        if api.keys.len() > aws::MAX_DYNAMIC_REFERENCES {
            self.error(
                &path(&["api", "keys", "apps"]),
                "api-keys",
                format!("{} apps is more than the {} key values a template can read from Secrets Manager", api.keys.len(), aws::MAX_DYNAMIC_REFERENCES),
                "too many apps",
                "group apps that share a quota under one key",
            );
        }
        for app in &api.keys {
            let at = path(&["api", "keys", "apps", &app.app]);
            if !KEY_APP.is_match(&app.app) {
                self.push_at_key(
                    &at,
                    "api-keys",
                    format!("app name {:?} must be 1 to 32 lowercase letters, digits and hyphens, starting with a letter: it names the key, its usage plan and its secret", app.app),
                    "invalid app name",
                    "rename it, for example `ios` or `web-shop`",
                );
            }
            let rate_path = path(&["api", "keys", "apps", &app.app, "rate"]);
            if app.rate == 0 || app.rate > api.throttle_rate {
                self.error(
                    &rate_path,
                    "api-keys",
                    format!("the {} key's rate is {}, but it must be from 1 to the stage's `api.throttle.rate` ({}), which bounds every client together", app.app, app.rate, api.throttle_rate),
                    format!("1 to {}", api.throttle_rate),
                    "lower the app's rate, or raise `api.throttle.rate`",
                );
            }
            if app.burst == 0 || app.burst > api.throttle_burst {
                self.error(
                    &path(&["api", "keys", "apps", &app.app, "burst"]),
                    "api-keys",
                    format!("the {} key's burst is {}, but it must be from 1 to the stage's `api.throttle.burst` ({})", app.app, app.burst, api.throttle_burst),
                    format!("1 to {}", api.throttle_burst),
                    "lower the app's burst, or leave it out (twice the rate)",
                );
            }
            // A key ships inside every install of the app: whoever reads it out can spend
            // the quota, and every user of the app then gets 429 until the period ends. An
            // authorizer checks something only real clients hold; usage plans are best effort.
            if app.quota.is_some_and(|(limit, _)| limit > 0) && api.authorizer.is_none() {
                self.warning(
                    &path(&["api", "keys", "apps", &app.app, "quota"]),
                    "keys-quota-public",
                    format!(
                        "the {} key's quota can be spent by anyone who reads the key out of the app or its traffic, and then every user of the app is refused until the period ends",
                        app.app
                    ),
                    "a quota anyone with the key can spend",
                    "leave the quota out (the rate still bounds the key), or add `api.authorizer` so requests must carry something only your clients hold",
                );
            }
            if let Some((0, _)) = app.quota {
                self.error(
                    &path(&["api", "keys", "apps", &app.app, "quota", "limit"]),
                    "api-keys",
                    format!(
                        "the {} key's quota is 0 requests, which refuses every request",
                        app.app
                    ),
                    "must be at least 1",
                    "give the requests allowed per period, or remove `quota`",
                );
            }
        }
        // With a web ACL, the mitigation-lag check owns this (keys that fill the stream leave
        // the lag unbounded, an error unless accepted).
        if !api.keys.is_empty() && api.waf.is_none() {
            let keyed = api
                .keys
                .iter()
                .fold(0u64, |sum, app| sum.saturating_add(app.rate))
                .saturating_mul(api.max_event_bytes);
            for region in plan.regions() {
                if keyed > region.stream.bytes_per_second {
                    self.warning(
                        &path(&["api", "keys", "apps"]),
                        "api-keys-fill-stream",
                        format!(
                            "the apps' keys together may send {} requests/s; with bodies of `api.max_event_bytes` that is {} KiB/s, more than the {} stream takes ({} KiB/s), so one app's leaked key can fill it for all",
                            api.keys.iter().map(|a| a.rate).sum::<u64>(),
                            keyed / 1024,
                            region.role.as_str(),
                            region.stream.bytes_per_second / 1024
                        ),
                        "more than the stream takes",
                        "lower the apps' rates or `api.max_event_bytes`, or give the stream more shards",
                    );
                }
            }
        }
        if let Some(authorizer) = &api.authorizer {
            if !LAMBDA_NAME.is_match(&authorizer.function) {
                self.error(
                    &path(&["api", "authorizer", "function"]),
                    "authorizer",
                    format!("{:?} is not a Lambda function name", authorizer.function),
                    "letters, digits, hyphens and underscores, at most 64",
                    "give the function's name (the same in both regions), not its ARN",
                );
            }
            if authorizer.identity_headers.is_empty()
                || authorizer
                    .identity_headers
                    .iter()
                    .any(|h| !HEADER_NAME.is_match(h))
            {
                self.error(
                    &path(&["api", "authorizer", "identity_headers"]),
                    "authorizer",
                    "`api.authorizer.identity_headers` must list one or more HTTP header names"
                        .to_owned(),
                    "not header names",
                    "for example `[Authorization]`",
                );
            }
            self.range(
                &path(&["api", "authorizer", "ttl_seconds"]),
                authorizer.ttl_seconds,
                aws::AUTHORIZER_TTL_SECONDS,
                "an authorizer's result cache in seconds",
            );
        }
        let lever = &plan.failover.lever;
        if lever.kind == plan::LeverChoice::Arc
            && plan.secondary.region != aws::ARC_CONFIGURATION_REGION
        {
            self.error(
                &path(&["failover", "lever"]),
                "lever-arc-region",
                format!(
                    "ARC routing controls are configured in {} only, and ingest puts them in the dns stack, which deploys from the secondary region ({})",
                    aws::ARC_CONFIGURATION_REGION,
                    plan.secondary.region
                ),
                "needs the secondary in us-west-2",
                "use `lever: metric` (the default: no public route, a few dollars a month), or make us-west-2 the secondary region",
            );
        }
        let operators = lever.operators.clone();
        self.principals(
            &["failover", "lever_operators"],
            &operators,
            plan.primary.partition,
        );
    }

    /// The database name is only judged when written: the default derives from `name`, which
    /// has its own check.
    fn athena_alarms_api(&mut self, plan: &Plan, explicit_database: bool) {
        let (low, high) = aws::ATHENA_BYTES_SCANNED_CUTOFF;
        let cutoff = plan.athena.bytes_scanned_cutoff_mb;
        let (minimum_mb, maximum_mb) = (low / 1_000_000, high / 1_000_000);
        if cutoff < minimum_mb || cutoff > maximum_mb {
            let (what, label, help) = if cutoff < minimum_mb {
                (
                    format!("below Athena's minimum of {minimum_mb} MB"),
                    format!("at least {minimum_mb}"),
                    format!(
                        "set it to {minimum_mb} or more, or leave it out ({} MB)",
                        plan::defaults::ATHENA_BYTES_SCANNED_CUTOFF_MB
                    ),
                )
            } else {
                (
                    "more than Athena can hold (a 64-bit count of bytes)".to_owned(),
                    "too large".to_owned(),
                    format!("set it to {maximum_mb} or less"),
                )
            };
            self.error(
                &path(&["athena", "bytes_scanned_cutoff_mb"]),
                "out-of-range",
                format!(
                    "`athena.bytes_scanned_cutoff_mb` is {cutoff}, {what} for the data one query may scan"
                ),
                label,
                help,
            );
        }
        if explicit_database && !GLUE_DATABASE.is_match(&plan.athena.database) {
            self.error(
                &path(&["athena", "database"]),
                "athena-database",
                format!(
                    "`athena.database` {:?} is not a usable Glue database name",
                    plan.athena.database
                ),
                "lowercase letters, digits and underscores",
                format!(
                    "for example `database: {}`",
                    plan.athena
                        .database
                        .to_ascii_lowercase()
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                ),
            );
        }
        if let Some(email) = &plan.alarms.email
            && !EMAIL.is_match(email)
        {
            self.error(
                &path(&["alarms", "email"]),
                "alarm-email",
                format!("`alarms.email` {email:?} is not an email address"),
                "not an address",
                "write an address such as `data-oncall@example.com`, or remove `email`",
            );
        }
        let api = &plan.api;
        let max_path = path(&["api", "max_event_bytes"]);
        if api.max_event_bytes > aws::KINESIS_MAX_RECORD_BYTES {
            self.error(
                &max_path,
                "max-event-bytes",
                format!(
                    "`api.max_event_bytes` is {}, but one request becomes one Kinesis record, which holds at most 1 MiB ({} bytes)",
                    api.max_event_bytes,
                    aws::KINESIS_MAX_RECORD_BYTES
                ),
                "larger than a Kinesis record",
                format!("set it to {} or less", aws::KINESIS_MAX_RECORD_BYTES),
            );
        } else if api.max_event_bytes > aws::SPOOL_MAX_EVENT_BYTES {
            self.error(
                &max_path,
                "max-event-bytes",
                format!(
                    "`api.max_event_bytes` is {}, but the secondary spools each request through Firehose, whose records hold at most 1,000 KiB, and base64 makes a request a third larger: a body over {} bytes could not be spooled whole during an outage",
                    api.max_event_bytes,
                    aws::SPOOL_MAX_EVENT_BYTES
                ),
                "too large to spool",
                format!("set it to {} or less", aws::SPOOL_MAX_EVENT_BYTES),
            );
        } else if api.max_event_bytes < 256 {
            self.error(
                &max_path,
                "max-event-bytes",
                format!(
                    "`api.max_event_bytes` is {}, too small for even a CloudEvents envelope",
                    api.max_event_bytes
                ),
                "too small",
                "allow at least a few KiB; the default is 262144",
            );
        }
        for (key, value) in [("rate", api.throttle_rate), ("burst", api.throttle_burst)] {
            if value == 0 {
                self.error(
                    &path(&["api", "throttle", key]),
                    "throttle",
                    format!("`api.throttle.{key}` is 0, which refuses every request"),
                    "must be at least 1",
                    "set the requests per second the API may take",
                );
            }
        }
        if api.throttle_rate > 0 && api.throttle_rate < plan.capacity.peak_events_per_second {
            let at = self.first_written(&[
                &["api", "throttle", "rate"],
                &["capacity", "peak_events_per_second"],
            ]);
            self.warning(
                &at,
                "throttle-below-peak",
                format!(
                    "the API accepts {} requests/s but the declared peak is {} events/s; that only fits if clients send several events per request",
                    api.throttle_rate, plan.capacity.peak_events_per_second
                ),
                "below the peak",
                "raise `api.throttle.rate`, or make sure clients batch events (a request may carry an array)",
            );
        }
        if !STAGE.is_match(&api.stage) {
            self.error(
                &path(&["api", "stage"]),
                "stage-name",
                format!(
                    "`api.stage` {:?} is not a valid API Gateway stage name",
                    api.stage
                ),
                "letters, digits and underscores",
                "use for example `v1`",
            );
        }
    }

    fn tags(&mut self, plan: &Plan) {
        if plan.tags.len() > aws::MAX_USER_TAGS {
            self.error(
                &path(&["tags"]),
                "tags-count",
                format!("{} tags is more than the {} left after the tags ingest adds (AWS allows 50 per resource)", plan.tags.len(), aws::MAX_USER_TAGS),
                "too many tags",
                "remove some tags",
            );
        }
        for (key, value) in &plan.tags {
            let at = path(&["tags", key]);
            let problem = if key.is_empty() || key.chars().count() > 128 {
                Some("a tag key must have 1 to 128 characters".to_owned())
            } else if key.to_ascii_lowercase().starts_with("aws:") {
                Some("tag keys starting with `aws:` are reserved for AWS".to_owned())
            } else if value.chars().count() > 256 {
                Some(format!(
                    "the value of tag `{key}` is longer than 256 characters"
                ))
            } else if !TAG_TEXT.is_match(key) || !TAG_TEXT.is_match(value) {
                Some(format!(
                    "tag `{key}` uses characters AWS does not allow in tags"
                ))
            } else {
                None
            };
            if let Some(message) = problem {
                self.error(
                    &at,
                    "tag",
                    message,
                    "invalid tag",
                    "tags may use letters, digits, spaces and _ . : / = + - @",
                );
            }
        }
    }

    fn event_names(&mut self, events: &BTreeMap<String, RawEvent>) {
        if events.is_empty() {
            self.error(
                &path(&["events"]),
                "events-empty",
                "`events` is empty: every event would be quarantined as `unknown_type`".to_owned(),
                "no event types",
                "declare at least one event type with its schema",
            );
        }
        let mut tables: BTreeMap<String, &str> = BTreeMap::new();
        for type_name in events.keys() {
            let at = path(&["events", type_name]);
            if !EVENT_TYPE.is_match(type_name) || type_name.len() > 128 {
                let lowered = type_name.to_ascii_lowercase();
                let help = if lowered != *type_name && EVENT_TYPE.is_match(&lowered) {
                    format!("write it in lowercase: `{lowered}`")
                } else {
                    "use lowercase words of letters and digits joined by `.`, `_` or `-`, for example `shift.created.v2`".to_owned()
                };
                self.push_key(
                    &at,
                    "event-type-name",
                    format!("event type {type_name:?} cannot name an S3 prefix and a Glue table: it must be lowercase words joined by `.`, `_` or `-`, at most 128 characters"),
                    "invalid event type",
                    help,
                );
                continue;
            }
            let table = plan::table_name(type_name);
            if let Some(other) = tables.insert(table.clone(), type_name) {
                self.push_key(
                    &at,
                    "event-table-collision",
                    format!("event types `{other}` and `{type_name}` both become the Athena table `{table}`"),
                    "same table name",
                    "rename one of them; `.`, `_` and `-` all map to `_` in table names",
                );
            }
        }
    }

    fn push_key(
        &mut self,
        at: &[PathSegment],
        code: &'static str,
        message: String,
        label: &str,
        help: impl Into<String>,
    ) {
        let diagnostic = self
            .document
            .diagnostic(Severity::Error, at, true, code, with_path(at, message))
            .with_label(label)
            .with_help(help);
        self.diagnostics.push(diagnostic);
    }

    /// Loads every event's schema (inline or from its file), with the files its references
    /// name, and checks it.
    fn load_events(
        &mut self,
        spec_path: &Path,
        raw_events: &BTreeMap<String, RawEvent>,
    ) -> Vec<EventPlan> {
        let mut events = Vec::new();
        let mut files = SchemaFiles::new(self.files);
        for (type_name, event) in raw_events {
            let at = path(&["events", type_name]);
            let loaded = match (&event.schema, &event.schema_file) {
                (Some(_), Some(_)) => {
                    self.push_key(
                        &path(&["events", type_name, "schema_file"]),
                        "schema-twice",
                        format!("event `{type_name}` has both `schema` and `schema_file`"),
                        "only one may be given",
                        "keep the inline `schema` or the `schema_file`, not both".to_owned(),
                    );
                    None
                }
                (None, None) => {
                    self.push_key(
                        &at,
                        "schema-missing",
                        format!("event `{type_name}` has no schema"),
                        "needs `schema` or `schema_file`",
                        "add `schema:` with the JSON Schema of the event's data, or `schema_file: schemas/<type>.json`".to_owned(),
                    );
                    None
                }
                (Some(value), None) => {
                    let mut prefix = at.clone();
                    prefix.push(PathSegment::Key("schema".into()));
                    Some((
                        self.document.clone(),
                        prefix,
                        value.clone(),
                        spec_path.to_path_buf(),
                    ))
                }
                (None, Some(file)) => self.read_schema_file(spec_path, type_name, file).map(
                    |(document, prefix, value)| {
                        (document, prefix, value, resolve_beside(spec_path, file))
                    },
                ),
            };
            let Some((document, prefix, value, location)) = loaded else {
                continue;
            };
            // References resolve against the file the schema is in (the spec's folder for
            // an inline schema), so `common.json#/$defs/address` is a file beside it.
            let base = files.base_uri(&location);
            let parsed = schema::parse_with(&value, &base, &mut files);
            self.diagnostics.append(&mut files.diagnostics);
            match parsed {
                Ok(parsed) => {
                    if self.check_event_root(&document, &prefix, type_name, &parsed) {
                        events.push(EventPlan {
                            type_name: type_name.clone(),
                            table_name: plan::table_name(type_name),
                            description: event.description.clone(),
                            schema: parsed,
                            schema_json: value,
                            source: SchemaSource { document, prefix },
                        });
                    }
                }
                Err(errors) => {
                    for error in errors {
                        // A problem in a file a reference read is located in that file.
                        let (document, mut full) = match &error.file {
                            Some(file) => match files.documents.get(file) {
                                Some(file) => (file.clone(), Vec::new()),
                                None => (document.clone(), prefix.clone()),
                            },
                            None => (document.clone(), prefix.clone()),
                        };
                        full.extend(error.path.iter().cloned());
                        // The message names the keyword; the prefix names the schema it is in.
                        let owner = match full.last() {
                            Some(PathSegment::Key(_)) => &full[..full.len() - 1],
                            _ => &full[..],
                        };
                        let pointer = display_path(owner);
                        let diagnostic = document
                            .diagnostic(
                                Severity::Error,
                                &full,
                                error.target == Target::Key,
                                error.code,
                                format!("{pointer}: {}", error.message),
                            )
                            .with_label(match error.target {
                                Target::Key => "this keyword",
                                Target::Value => "this value",
                            })
                            .with_help(error.help);
                        self.diagnostics.push(diagnostic);
                    }
                }
            }
        }
        events
    }

    fn read_schema_file(
        &mut self,
        spec_path: &Path,
        type_name: &str,
        file: &str,
    ) -> Option<(Document, Vec<PathSegment>, serde_json::Value)> {
        let file_path = resolve_beside(spec_path, file);
        let at = path(&["events", type_name, "schema_file"]);
        let source = match self.files.read(&file_path) {
            Ok(source) => source,
            Err(error) => {
                self.error(
                    &at,
                    "schema-file",
                    format!("cannot read the schema of `{type_name}` from {}: {error}", file_path.display()),
                    "file not readable",
                    "the path is relative to the spec file; check the name and that the file exists",
                );
                return None;
            }
        };
        match Document::parse(source) {
            Ok((document, value)) => Some((document, Vec::new(), value)),
            Err(diagnostics) => {
                self.diagnostics.extend(diagnostics);
                None
            }
        }
    }

    /// The schema of an event's `data` must describe an object: its properties become the
    /// columns of the event's Athena table. (A root that is a `$ref` alone is its target.)
    fn check_event_root(
        &mut self,
        document: &Document,
        prefix: &[PathSegment],
        type_name: &str,
        parsed: &schema::Document,
    ) -> bool {
        let parsed = parsed.resolve(&parsed.root);
        let object_only = parsed
            .as_object()
            .and_then(|o| o.types.as_ref())
            .is_some_and(|types| types.len() == 1 && types.contains(&InstanceType::Object));
        if object_only {
            return true;
        }
        let mut at = prefix.to_vec();
        let has_type = parsed.as_object().is_some_and(|o| o.types.is_some());
        if has_type {
            at.push(PathSegment::Key("type".into()));
        }
        let diagnostic = document
            .diagnostic(
                Severity::Error,
                &at,
                false,
                "event-schema-root",
                format!("the schema of `{type_name}` must be `type: object`: an event's data is an object, whose properties become the columns of its Athena table"),
            )
            .with_label(if has_type { "must be `object`" } else { "no `type: object` here" })
            .with_help("describe the data as `type: object` with `properties`; wrap a single value in a property");
        self.diagnostics.push(diagnostic);
        false
    }
}

/// The schema files that references name (`common.json#/$defs/address`), read once each
/// through the spec's own file access (the disk, or the old spec's git revision), with their
/// located text for diagnostics.
struct SchemaFiles<'a> {
    /// Where the spec's files are read from.
    files: &'a dyn SpecFiles,
    /// What a relative spec path was made absolute against (the schema parser resolves
    /// references between absolute `file:` URIs): taken off again to name a file to `files`,
    /// which reads paths as the spec names them (a git revision has no absolute paths).
    made_absolute_in: PathBuf,
    /// Every file read, by the URI the schema parser asked for.
    documents: BTreeMap<String, Document>,
    /// Problems reading them (a file that is not JSON or YAML), for the checker to report.
    diagnostics: Vec<Diagnostic>,
}

impl<'a> SchemaFiles<'a> {
    fn new(files: &'a dyn SpecFiles) -> Self {
        SchemaFiles {
            files,
            made_absolute_in: std::env::current_dir().unwrap_or_default(),
            documents: BTreeMap::new(),
            diagnostics: Vec::new(),
        }
    }

    /// The `file:` URI references in a schema at `location` resolve against (made absolute in
    /// the working directory, as `made_absolute_in` says).
    fn base_uri(&self, location: &Path) -> String {
        let absolute = std::path::absolute(location).unwrap_or_else(|_| location.to_path_buf());
        schema::file_uri(&absolute)
    }
}

impl schema::Loader for SchemaFiles<'_> {
    fn load(&mut self, uri: &str) -> Result<serde_json::Value, String> {
        let path = schema::uri_path(uri).ok_or_else(|| format!("{uri} is not a file"))?;
        // As the spec names it: relative to the working directory (with `..` when outside it).
        let path = crate::spec::name_relative_to(&path, &self.made_absolute_in).unwrap_or(path);
        let source = self.files.read(&path).map_err(|error| error.to_string())?;
        match Document::parse(source) {
            Ok((document, value)) => {
                self.documents.insert(uri.to_owned(), document);
                Ok(value)
            }
            Err(diagnostics) => {
                self.diagnostics.extend(diagnostics);
                Err("it is not valid JSON or YAML (its own error is reported too)".to_owned())
            }
        }
    }
}
