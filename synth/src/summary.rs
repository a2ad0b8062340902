//! The short, human summary `ingest check` prints for a valid spec.
//!
//! It answers what a reviewer of the spec asks first: where does traffic go, can each region
//! carry the whole peak on its own, how long can the primary be down before anything is lost,
//! what one Athena query may cost, what faces the internet and what it costs to guard it (the
//! web ACL, keys, the lever, the data key), which stacks get deployed where and in what order,
//! and which event types exist.

use std::fmt::Write;

use crate::aws;
use crate::plan::{LagBound, LeverChoice, Plan, RegionPlan, StackKind, StreamCapacity};
use crate::spec::raw::IpAddressType;

/// Renders the summary of a checked plan.
pub fn render(spec_name: &str, plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{spec_name}: valid spec `{}`", plan.name);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  domain     {} (zone {})",
        plan.domain.name, plan.domain.hosted_zone_id
    );
    for region in plan.regions() {
        let label = if region.role == crate::plan::Role::Primary {
            "regions"
        } else {
            ""
        };
        let _ = writeln!(out, "  {label:<9}  {}", region_line(region));
    }
    let capacity = &plan.capacity;
    let _ = writeln!(
        out,
        "  peak       {} events/s x {} B = {}/s",
        capacity.peak_events_per_second,
        capacity.average_event_bytes,
        bytes(capacity.peak_bytes_per_second)
    );
    let failover = &plan.failover;
    let _ = writeln!(
        out,
        "  failover   {}: GET {} every {} s, unhealthy after {} failures",
        if failover.automatic {
            "automatic"
        } else {
            "manual"
        },
        failover.path,
        failover.interval_seconds,
        failover.failure_threshold,
    );
    let bridge = &plan.bridge;
    let schedule = &bridge.redelivery;
    let _ = writeln!(
        out,
        "  bridge     rides out {} h: a failed message is retried after {} s, growing x{} to {} s (up to {}% less, jitter); {} receives = {} retry budget",
        bridge.outage_hours,
        schedule.first_delay_seconds,
        schedule.growth,
        schedule.max_delay_seconds,
        schedule.jitter_percent,
        bridge.max_receive_count,
        hours(bridge.retry_budget_seconds),
    );
    let _ = writeln!(
        out,
        "             after a recovery each queued message is tried again within {} s; DLQ after at most {}; messages kept {}",
        schedule.max_delay_seconds,
        hours(bridge.dead_letter_after_seconds),
        hours(bridge.queue_retention_seconds)
    );
    buffers_lines(&mut out, plan);
    let validator = &plan.validator;
    let retries = match validator.max_retries {
        Some(count) => format!("{count} retries"),
        None => format!(
            "retries until a record is {} old",
            hours(validator.max_record_age_seconds)
        ),
    };
    let _ = writeln!(
        out,
        "  validator  {} MB, {} s timeout, batches of {}, {retries}, {} functions",
        validator.function.memory_mb,
        validator.function.timeout_seconds,
        validator.function.batch_size,
        plan.functions.architecture
    );
    let _ = writeln!(
        out,
        "  athena     database {}, workgroup {}: a query may scan at most {}",
        plan.athena.database,
        plan.athena.workgroup,
        decimal_megabytes(plan.athena.bytes_scanned_cutoff_mb)
    );
    for (label, line) in security_lines(plan) {
        let _ = writeln!(out, "  {label:<9}  {line}");
    }
    let _ = writeln!(out, "  stacks     {}", deploy_order(plan));
    let names: Vec<&str> = plan.events.iter().map(|e| e.type_name.as_str()).collect();
    let _ = writeln!(
        out,
        "  events     {} type{}: {}",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    );
    out
}

/// What each buffer holds against the declared outage (`docs/guarantees.md#buffers`).
fn buffers_lines(out: &mut String, plan: &Plan) {
    let buffers = &plan.buffers;
    let _ = writeln!(
        out,
        "  buffers    ride out {} and a margin of {}: every buffer holds {} or more",
        hours(buffers.outage_seconds),
        hours(buffers.margin_seconds),
        hours(buffers.hold_seconds)
    );
    let extended: u64 = plan
        .regions()
        .iter()
        .filter(|r| r.stream.retention_hours > 24)
        .map(|r| match r.stream.mode {
            StreamCapacity::Provisioned { shards } => shards,
            StreamCapacity::OnDemand => 0,
        })
        .sum();
    let cost = if plan
        .regions()
        .iter()
        .all(|r| r.stream.retention_hours <= 24)
    {
        String::new()
    } else if extended > 0 {
        format!("; beyond 24 h is billed as extended retention: {extended} shard-hours each hour")
    } else {
        "; beyond 24 h is billed as extended retention (per GB stored)".to_owned()
    };
    let _ = writeln!(
        out,
        "             streams keep primary {}, secondary {}{cost}",
        hours(plan.primary.stream.retention_hours.saturating_mul(3600)),
        hours(plan.secondary.stream.retention_hours.saturating_mul(3600)),
    );
    let retry = |bound: Option<u64>, age: u64| match bound {
        Some(count) => format!("{count} retries or {}", hours(age)),
        None => format!("until a record is {} old", hours(age)),
    };
    let _ = writeln!(
        out,
        "             mappings retry the validator {}, the receiver {}; then the failed buckets keep the batch {} days: run `ingest redrive --failed` before",
        retry(
            plan.validator.max_retries,
            plan.validator.max_record_age_seconds
        ),
        retry(
            plan.receiver_mapping.max_retries,
            plan.receiver_mapping.max_record_age_seconds
        ),
        plan.storage.failed_retention_days,
    );
    let _ = writeln!(
        out,
        "             Firehose keeps what it cannot write to the spool bucket {} (fixed by AWS; a spool-bucket outage, not a primary one; alarm at 1 h)",
        hours(buffers.firehose_retention_seconds)
    );
    let storage = &plan.storage;
    let _ = writeln!(
        out,
        "  spool      at 100% failover {}/s of {} {}/s quota in {} (lines packed into Firehose records of up to 1,000 KiB)",
        bytes(storage.spool_peak_bytes_per_second),
        if storage.spool_quota_declared {
            "the declared"
        } else {
            "Firehose's default"
        },
        bytes(storage.spool_quota_bytes_per_second),
        plan.secondary.region
    );
    let _ = writeln!(
        out,
        "  api        bodies up to {} bytes, counted in bytes and passed on unchanged (binary) on both paths",
        plan.api.max_event_bytes
    );
}

/// What faces the internet and guards the data: the web ACL, keys and authorizer, the lever,
/// the data key and retention; with the monthly cost of each where it is known.
fn security_lines(plan: &Plan) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    let api = &plan.api;
    let peak_requests_month = plan
        .capacity
        .peak_events_per_second
        .saturating_mul(aws::SECONDS_PER_MONTH);
    match &api.waf {
        Some(waf) => {
            let fills: Vec<String> = plan
                .regions()
                .iter()
                .zip(waf.addresses_to_fill)
                .map(|(region, n)| {
                    format!("{n} addresses fill the {}'s stream", region.role.as_str())
                })
                .collect();
            lines.push((
                "waf",
                format!(
                    "{} requests per {} s per client address, of which {} with bodies over {}, then 429; one address writes at most {}/s: {} (at least {} asked); GET {} only from our Route 53 checks (checker ranges in {} and the health token)",
                    waf.rate_per_ip,
                    waf.window_seconds,
                    waf.large_body_limit,
                    bytes(waf.large_body_bytes),
                    bytes(waf.per_ip_bytes_per_second),
                    fills.join(", "),
                    waf.min_addresses_to_fill,
                    plan.failover.path,
                    plan.failover.checker_regions.join(", ")
                ),
            ));
            let (shortest_lag, longest_lag) = aws::WAF_MITIGATION_LAG_SECONDS;
            let lag = match &waf.lag_bound {
                LagBound::ClientIdentity(by) => format!(
                    "during WAF's {shortest_lag}-{longest_lag} s mitigation lag a new address is bounded by who it is ({by}{})",
                    if *by == "api.authorizer" {
                        ": a client it accepts is held only by the stage throttle"
                    } else {
                        ""
                    }
                ),
                LagBound::StageThrottle => format!(
                    "during WAF's {shortest_lag}-{longest_lag} s mitigation lag the stage throttle ({}/s, burst {}) stays under the {}'s stream ({} requests/s of the largest bodies fill it)",
                    api.throttle_rate,
                    api.throttle_burst,
                    waf.lag_fill_role.as_str(),
                    waf.lag_fill_requests_per_second
                ),
                LagBound::Open { accepted } if !api.keys.is_empty() => format!(
                    "NOT bounded by the keys: together they pass up to {} requests in a second, and {} requests/s of the largest bodies fill the {}'s stream, so a key read out of an app fills it{}",
                    api.keys_requests_in_a_second(),
                    waf.lag_fill_requests_per_second,
                    waf.lag_fill_role.as_str(),
                    match accepted {
                        Some(reason) => format!("; accepted in the spec: \"{}\"", reason.trim()),
                        None => String::new(),
                    }
                ),
                LagBound::Open { accepted } => format!(
                    "NOT bounded during WAF's {shortest_lag}-{longest_lag} s mitigation lag: a new address is held only by the stage throttle ({}/s), and {} requests/s of the largest bodies fill the {}'s stream; {} to {} addresses used in turn keep it full{}",
                    api.throttle_rate,
                    waf.lag_fill_requests_per_second,
                    waf.lag_fill_role.as_str(),
                    waf.lag_pool_addresses.0,
                    waf.lag_pool_addresses.1,
                    match accepted {
                        Some(reason) => format!("; accepted in the spec: \"{}\"", reason.trim()),
                        None => " (close it with api.keys or api.authorizer, smaller api.max_event_bytes, or a stage throttle the stream can take)".to_owned(),
                    }
                ),
            };
            lines.push(("", lag));
            let fixed = 2.0 * (aws::WAF_PRICE_PER_ACL_MONTH + 4.0 * aws::WAF_PRICE_PER_RULE_MONTH);
            let inspected =
                peak_requests_month as f64 / 1e6 * aws::WAF_PRICE_PER_MILLION_REQUESTS;
            lines.push((
                "",
                format!(
                    "web ACL cost: ${fixed:.0}/month for the two ACLs and their rules, plus ${inspected:.0}/month inspecting {} requests/s all month; each request it blocks saves API Gateway's ${:.2} per million",
                    plan.capacity.peak_events_per_second,
                    aws::API_GATEWAY_PRICE_PER_MILLION_REQUESTS
                ),
            ));
            // WAF bills every request it inspects, blocked ones too, and nothing upstream of it
            // caps a flood; the stage throttle is only a yardstick here.
            let flood_hour_millions = api.throttle_rate as f64 * 3600.0 / 1e6;
            lines.push((
                "",
                format!(
                    "a blocked flood costs WAF's ${:.2} per million requests (API Gateway bills none of them): ${:.2} an hour per region at the stage throttle's {}/s, more at a higher rate (WAF caps nothing); the waf-blocked-flood alarm fires above {} blocks a minute for {} minutes",
                    aws::WAF_PRICE_PER_MILLION_REQUESTS,
                    flood_hour_millions * aws::WAF_PRICE_PER_MILLION_REQUESTS,
                    api.throttle_rate,
                    waf.blocked_alarm_per_minute,
                    waf.blocked_alarm_minutes
                ),
            ));
        }
        None => lines.push((
            "waf",
            "OFF (api.waf.enabled: false): no per-client limit, and the health route is open to everyone".to_owned(),
        )),
    }
    lines.push((
        "addresses",
        match api.ip_address_type {
            IpAddressType::Ipv4 => {
                "IPv4 only (api.ip_address_type: ipv4): A records, every client counted per address"
                    .to_owned()
            }
            IpAddressType::Dualstack => {
                "IPv4 and IPv6 (api.ip_address_type: dualstack): A and AAAA records; one IPv6 host can rotate addresses past the per-address rate"
                    .to_owned()
            }
        },
    ));
    if !api.keys.is_empty() {
        let apps: Vec<String> = api
            .keys
            .iter()
            .map(|app| {
                let quota = app
                    .quota
                    .map(|(limit, period)| format!(", {limit}/{}", period.to_ascii_lowercase()))
                    .unwrap_or_default();
                format!("{} ({}/s, burst {}{quota})", app.app, app.rate, app.burst)
            })
            .collect();
        lines.push((
            "keys",
            format!(
                "POST /events needs an x-api-key of: {}; values from Secrets Manager {}/api-keys/<app> in both regions",
                apps.join(", "),
                plan.name
            ),
        ));
    }
    if let Some(authorizer) = &api.authorizer {
        lines.push((
            "authorizer",
            format!(
                "Lambda {} (in both regions) checks {} before Kinesis; answers cached {} s",
                authorizer.function,
                authorizer.identity_headers.join(", "),
                authorizer.ttl_seconds
            ),
        ));
    }
    let lever = &plan.failover.lever;
    let operators = if lever.operators.is_empty() {
        "any principal of the account whose policies allow sts:AssumeRole on it: name them in failover.lever_operators".to_owned()
    } else {
        format!("assumed only by {}", lever.operators.join(", "))
    };
    match lever.kind {
        LeverChoice::Metric => {
            let cost = 3.0 * aws::CLOUDWATCH_PRICE_PER_METRIC_MONTH
                + 4.0 * aws::CLOUDWATCH_PRICE_PER_ALARM_MONTH
                + (aws::SECONDS_PER_MONTH / lever.publish_seconds.max(1)) as f64 / 1000.0
                    * aws::CLOUDWATCH_PRICE_PER_THOUSAND_PUTS;
            lines.push((
                "lever",
                format!(
                    "drain switches in {} written only by its operator role ({operators}), published every {} s and on each change as {}/{}, read by Route 53 through alarms; no public route; about ${cost:.2}/month",
                    plan.secondary.region,
                    lever.publish_seconds,
                    lever.namespace,
                    lever.metric
                ),
            ));
        }
        LeverChoice::Arc => {
            let hourly = aws::ARC_CLUSTER_PRICE_PER_HOUR;
            lines.push((
                "lever",
                format!(
                    "ARC routing controls (cluster in {}): the cluster is billed by the hour, ${hourly:.2}/h, about ${:.0}/month",
                    aws::ARC_CONFIGURATION_REGION,
                    hourly * 24.0 * 30.0
                ),
            ));
        }
    }
    let storage = &plan.storage;
    let readers = if storage.readers.is_empty() {
        "any principal of the account whose policies allow sts:AssumeRole on it: name them in storage.readers.principals".to_owned()
    } else {
        format!("assumed only by {}", storage.readers.join(", "))
    };
    lines.push((
        "data",
        format!(
            "a customer managed key per region (${:.0}/month each) for the streams, the lake, the spool and Athena results; besides the pipeline only the reader role may decrypt ({readers}{})",
            aws::KMS_PRICE_PER_KEY_MONTH,
            if storage.readers_see_quarantine {
                ", quarantine included"
            } else {
                ", quarantine excluded"
            }
        ),
    ));
    let days = |n: u64| {
        if n == 0 {
            "forever".to_owned()
        } else {
            format!("{n} d")
        }
    };
    lines.push((
        "",
        format!(
            "kept: good {}, quarantine {}, failed batches {}, spool {}, Athena results {}, access logs {}; old versions {}",
            days(storage.good_retention_days),
            days(storage.quarantine_retention_days),
            days(storage.failed_retention_days),
            days(storage.spool_retention_days),
            days(storage.athena_results_retention_days),
            days(storage.access_log_retention_days),
            days(storage.noncurrent_days)
        ),
    ));
    lines
}

fn region_line(region: &RegionPlan) -> String {
    let stream = match region.stream.mode {
        StreamCapacity::Provisioned { shards } => {
            format!("{shards} shard{}", if shards == 1 { "" } else { "s" })
        }
        StreamCapacity::OnDemand => "on-demand".to_owned(),
    };
    let carries = match region.stream.mode {
        StreamCapacity::Provisioned { .. } => {
            format!("carries {} the peak", multiple(region.stream.peak_multiple))
        }
        StreamCapacity::OnDemand => format!(
            "starts at {} the peak, then scales",
            multiple(region.stream.peak_multiple)
        ),
    };
    format!(
        "{:<9}  {:<14}  {:<8}  {:<10}  weight {:>3} ({:>5.1}%)  {carries}",
        region.role.as_str(),
        region.region,
        region.endpoint.as_str(),
        stream,
        region.weight,
        region.weight_percent
    )
}

/// The stacks in deploy waves: the stacks of one wave depend only on earlier waves and can be
/// deployed side by side.
fn deploy_order(plan: &Plan) -> String {
    let mut waves: Vec<(usize, StackKind)> = Vec::new();
    for stack in &plan.stacks {
        let wave = stack
            .depends_on
            .iter()
            .filter_map(|kind| waves.iter().find(|(_, k)| k == kind).map(|(w, _)| w + 1))
            .max()
            .unwrap_or(0);
        waves.push((wave, stack.kind));
    }
    let last = waves.iter().map(|(w, _)| *w).max().unwrap_or(0);
    (0..=last)
        .map(|wave| {
            plan.stacks
                .iter()
                .zip(&waves)
                .filter(|(_, (w, _))| *w == wave)
                .map(|(stack, _)| format!("{} ({})", stack.kind.as_str(), stack.region))
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect::<Vec<_>>()
        .join(", then ")
}

/// MB (10^6 bytes) as MB, GB or TB.
fn decimal_megabytes(mb: u64) -> String {
    let value = mb as f64;
    if mb >= 1_000_000 {
        format!("{} TB", trim(value / 1_000_000.0))
    } else if mb >= 1_000 {
        format!("{} GB", trim(value / 1_000.0))
    } else {
        format!("{mb} MB")
    }
}

/// A number with at most one decimal, without a trailing `.0`.
fn trim(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

fn multiple(ratio: f64) -> String {
    if ratio.is_infinite() {
        "all".to_owned()
    } else if ratio >= 10.0 {
        format!("{ratio:.0}x")
    } else {
        format!("{ratio:.1}x")
    }
}

fn bytes(count: u64) -> String {
    const KIB: f64 = 1024.0;
    let value = count as f64;
    if value >= KIB * KIB {
        format!("{:.1} MiB", value / KIB / KIB)
    } else if value >= KIB {
        format!("{:.1} KiB", value / KIB)
    } else {
        format!("{count} B")
    }
}

fn hours(seconds: u64) -> String {
    let hours = seconds as f64 / 3600.0;
    if hours >= 48.0 {
        format!("{:.1} days", hours / 24.0)
    } else {
        format!("{hours:.1} h")
    }
}
