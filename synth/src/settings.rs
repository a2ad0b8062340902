//! The runtime's typed settings, built from the plan: one function per struct.
//!
//! `ingest validate`, `drill` and `dev` run the runtime in this process, handing it these
//! structs; with `--compiled` the same structs go to the program over the spec's generated
//! validators as JSON (serde), so the two paths cannot disagree on a key. Every number comes
//! from the plan, which owns the defaults and the derived numbers; the few choices that exist only
//! on one machine (how many shards an on-demand stream gets, a shorter wait asked for on the
//! command line) are made here and named.

use std::path::PathBuf;

use ingest_runtime::lines::{self, Format};
use ingest_runtime::pipeline::dev::DevConfig;
use ingest_runtime::pipeline::drill::flood::{
    FloodConfig, ForeignChecks, RotatingPool, SwarmConfig, WafRule,
};
use ingest_runtime::pipeline::drill::{AlarmThresholds, DrillConfig, DrillFaults};
use ingest_runtime::pipeline::local::{Outage, PipelineSettings, RegionSettings};
use ingest_runtime::redelivery::Redelivery;

use crate::aws;
use crate::plan::{LagBound, Plan, RegionPlan, StreamCapacity, WafPlan, defaults};

/// Shards the local pipeline gives an on-demand stream, which has no shard count of its own.
pub const ON_DEMAND_SHARDS: usize = 4;

fn usize_of(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn region(region: &RegionPlan) -> RegionSettings {
    RegionSettings {
        region: region.region.clone(),
        shards: match region.stream.mode {
            StreamCapacity::Provisioned { shards } => usize_of(shards),
            StreamCapacity::OnDemand => ON_DEMAND_SHARDS,
        },
        weight: region.weight,
        retention_hours: region.stream.retention_hours,
    }
}

/// The numbers both regions of a local pipeline are built with.
pub fn pipeline(plan: &Plan) -> PipelineSettings {
    PipelineSettings {
        name: plan.name.clone(),
        primary: region(&plan.primary),
        secondary: region(&plan.secondary),
        max_event_bytes: usize_of(plan.api.max_event_bytes),
        validator_batch_size: usize_of(plan.validator.function.batch_size),
        validator_max_retries: plan.validator.max_retries,
        validator_max_record_age_seconds: plan.validator.max_record_age_seconds,
        receiver_batch_size: usize_of(plan.receiver.batch_size),
        receiver_max_retries: plan.receiver_mapping.max_retries,
        receiver_max_record_age_seconds: plan.receiver_mapping.max_record_age_seconds,
        bridge_batch_size: usize_of(plan.bridge.function.batch_size),
        bridge_max_concurrency: usize_of(plan.bridge.max_concurrency),
        bridge_chunk_bytes: usize_of(plan.bridge.chunk_bytes),
        visibility_timeout_seconds: plan.bridge.visibility_timeout_seconds,
        max_receive_count: plan.bridge.max_receive_count,
        queue_retention_seconds: plan.bridge.queue_retention_seconds,
        bridge_redelivery: Some(plan.bridge.redelivery),
        spool_buffer_seconds: plan.storage.spool_buffer_seconds,
        spool_buffer_mb: plan.storage.spool_buffer_mb,
        spool_quota_bytes_per_second: Some(plan.storage.spool_quota_bytes_per_second),
        validator_timeout_seconds: Some(plan.validator.function.timeout_seconds),
        receiver_timeout_seconds: Some(plan.receiver.timeout_seconds),
        bridge_timeout_seconds: Some(plan.bridge.function.timeout_seconds),
        dlq_retention_seconds: Some(aws::SQS_MAX_RETENTION_SECONDS),
        failed_retention_days: (plan.storage.failed_retention_days > 0)
            .then_some(plan.storage.failed_retention_days),
    }
}

/// Waits `ingest dev` may shorten for a rehearsal by hand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DevWaits {
    /// The spool's buffering interval instead of the spec's.
    pub spool_buffer_seconds: Option<u64>,
    /// The queue's visibility timeout instead of the spec's.
    pub visibility_timeout_seconds: Option<u64>,
}

/// What `ingest dev` runs with.
pub fn dev(plan: &Plan, waits: DevWaits) -> DevConfig {
    let mut pipeline = pipeline(plan);
    if let Some(seconds) = waits.spool_buffer_seconds {
        pipeline.spool_buffer_seconds = seconds;
    }
    if let Some(seconds) = waits.visibility_timeout_seconds {
        // A rehearsal's one wait: the queue's timeout, and every retry delay of the bridge.
        pipeline.visibility_timeout_seconds = seconds;
        pipeline.bridge_redelivery = Some(Redelivery {
            first_delay_seconds: seconds,
            max_delay_seconds: seconds,
            ..plan.bridge.redelivery
        });
    }
    DevConfig {
        pipeline,
        failover_automatic: plan.failover.automatic,
    }
}

/// The drill's hostile address sends this many times the stage's throttle rate to each public
/// route: far more than it takes to starve the others if nothing stops it per address.
pub const FLOOD_OVER_STAGE_RATE: u64 = 10;

/// The drill's flood phase: what the stacks put in front of the primary's API, from the plan,
/// and a flood of two WAF windows (the rule's window, or its default when `api.waf` is off).
pub fn flood(plan: &Plan) -> FloodConfig {
    let api = &plan.api;
    let (rate_per_ip, window_seconds) = api.waf.as_ref().map_or(
        (defaults::WAF_RATE_PER_IP, defaults::WAF_WINDOW_SECONDS),
        |waf| (waf.rate_per_ip, waf.window_seconds),
    );
    FloodConfig {
        seconds: 2 * window_seconds,
        requests_per_second: FLOOD_OVER_STAGE_RATE * api.throttle_rate,
        stage_rate: api.throttle_rate,
        stage_burst: api.throttle_burst,
        health_rate: api.health_throttle_rate,
        health_burst: api.health_throttle_burst,
        waf: api.waf.as_ref().map(|waf| WafRule {
            rate_per_ip: waf.rate_per_ip,
            window_seconds: waf.window_seconds,
            detection_seconds: aws::WAF_DETECTION_SECONDS,
        }),
        // Each honest address sends half what the rate rule allows it.
        honest_addresses: (2 * plan.capacity.peak_events_per_second * window_seconds)
            .div_ceil(rate_per_ip.max(1))
            .max(1),
        health_checkers: plan.failover.checker_regions.len() as u64,
        healthy_checkers_percent: aws::ROUTE53_HEALTHY_CHECKERS_PERCENT,
        // Someone else's health checks at ten times the health method's rate, from the
        // checker ranges: blocked by the web ACL for want of our token.
        foreign_checks: api.waf.as_ref().map(|_| ForeignChecks {
            reads_per_second: FLOOD_OVER_STAGE_RATE * api.health_throttle_rate,
            token_required: true,
        }),
        rotating_pool: rotating_pool(plan),
        swarm: api
            .waf
            .as_ref()
            .map(|waf| swarm(plan, waf, waf.min_addresses_to_fill)),
    }
}

/// The drill's rotating pool against the smaller stream, when the web ACL is the only
/// per-client bound (no keys, no authorizer: the pool would have neither; a leaked key's
/// exposure is `ingest check`'s, not the drill's).
pub fn rotating_pool(plan: &Plan) -> Option<RotatingPool> {
    let waf = plan.api.waf.as_ref()?;
    if !plan.api.keys.is_empty() {
        return None; // the pool has no key: API Gateway refuses it before the stream
    }
    let accepted = match &waf.lag_bound {
        LagBound::ClientIdentity(_) => return None,
        LagBound::StageThrottle => None,
        LagBound::Open { accepted } => accepted.clone(),
    };
    // The stream the plan says the largest bodies fill first (in bytes or in records).
    let filled = plan.region(waf.lag_fill_role);
    Some(RotatingPool {
        body_bytes: plan.api.max_event_bytes,
        stream_bytes_per_second: filled.stream.bytes_per_second,
        stream_records_per_second: filled.stream.records_per_second,
        honest_millievents_per_second: (honest_events_per_second(plan, filled) * 1000.0).round()
            as u64,
        honest_body_bytes: plan.capacity.average_event_bytes,
        accepted,
    })
}

/// The region whose stream takes the fewest bytes a second: what a flood fills first.
fn smaller_region(plan: &Plan) -> &RegionPlan {
    plan.regions()
        .into_iter()
        .min_by_key(|region| region.stream.bytes_per_second)
        .expect("two regions")
}

/// The honest clients' events a second to `region`: its Route 53 share of the peak.
fn honest_events_per_second(plan: &Plan, region: &RegionPlan) -> f64 {
    let total_weight = (plan.primary.weight + plan.secondary.weight).max(1);
    plan.capacity.peak_events_per_second as f64 * region.weight as f64 / total_weight as f64
}

/// The drill's swarm against the smaller stream: addresses each one request and one large body
/// under the web ACL's limits, as many as `api.waf.min_addresses_to_fill` leaves room for
/// beside the honest clients' share of that region (`target` addresses, less those the honest
/// traffic is worth). `ingest check` guarantees that many do not fill the stream; the drill
/// shows it, and a test shows that the addresses the summary says fill it do.
pub fn swarm(plan: &Plan, waf: &WafPlan, target: u64) -> SwarmConfig {
    let smaller = smaller_region(plan);
    let honest_per_second = honest_events_per_second(plan, smaller);
    let honest_bytes = honest_per_second * plan.capacity.average_event_bytes as f64;
    let honest_addresses = (honest_bytes / waf.per_ip_bytes_per_second.max(1) as f64).ceil() as u64;
    let large_body_bytes = plan.api.max_event_bytes.max(waf.large_body_bytes);
    SwarmConfig {
        addresses: target.saturating_sub(honest_addresses).max(1),
        requests_per_window: waf.rate_per_ip.saturating_sub(1),
        large_per_window: waf.large_body_limit.saturating_sub(1),
        window_seconds: waf.window_seconds,
        small_body_bytes: waf.large_body_bytes.min(plan.api.max_event_bytes),
        large_body_bytes,
        stream_bytes_per_second: smaller.stream.bytes_per_second,
        stream_records_per_second: smaller.stream.records_per_second,
        honest_millievents_per_second: (honest_per_second * 1000.0).round() as u64,
        honest_body_bytes: plan.capacity.average_event_bytes,
    }
}

/// What `ingest drill` runs with: the outage, the client's seed, and notes echoed in the
/// report (how the events were made).
pub fn drill(
    plan: &Plan,
    outage_seconds: u64,
    outage: Outage,
    faults: DrillFaults,
    seed: u64,
    notes: serde_json::Value,
) -> DrillConfig {
    DrillConfig {
        pipeline: pipeline(plan),
        failover_automatic: plan.failover.automatic,
        health_interval_seconds: plan.failover.interval_seconds,
        health_failure_threshold: plan.failover.failure_threshold,
        peak_events_per_second: plan.capacity.peak_events_per_second,
        outage_seconds,
        seed,
        start: None,
        notes,
        flood: Some(flood(plan)),
        outage,
        faults,
        alarms: Some(AlarmThresholds {
            stalled_iterator_age_seconds: plan.alarms.stalled_iterator_age_seconds,
            expiry_iterator_age_seconds: plan.alarms.expiry_iterator_age_seconds,
            spool_freshness_seconds: plan.alarms.spool_freshness_seconds,
            spool_freshness_critical_seconds: plan.alarms.spool_freshness_critical_seconds,
        }),
    }
}

/// How `ingest validate` reads and writes: the inputs and the terminal's choices from the command
/// line, the record limit from the spec (`api.max_event_bytes`, as the pipeline judges records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidateOutput {
    /// JSON lines or lines for people.
    pub format: Format,
    /// ANSI colours in the human format.
    pub color: bool,
    /// A progress line on standard error.
    pub progress: bool,
    /// Worker threads (0: every core).
    pub jobs: usize,
}

/// What `ingest validate` runs with.
pub fn validate(plan: &Plan, inputs: Vec<PathBuf>, output: ValidateOutput) -> lines::Options {
    lines::Options {
        inputs,
        format: output.format,
        color: output.color,
        progress: output.progress,
        jobs: output.jobs,
        max_record_bytes: usize_of(plan.api.max_event_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest_runtime::pipeline::drill::flood::run_swarm;

    /// H3 of the security review: as many addresses as `api.waf.min_addresses_to_fill` leaves
    /// room for, each just under the web ACL's limits, do not fill the smaller stream; the
    /// number that fills it at those rates does, and the honest clients are refused then (and
    /// get in by retrying). Every bundled spec, so neither outcome is true by construction.
    #[test]
    fn the_swarm_fills_the_smaller_stream_only_at_the_addresses_the_limits_allow() {
        for name in [
            "ingest.yaml",
            "eu-orders.yaml",
            "checkout.yaml",
            "minimal.yaml",
        ] {
            let plan = plan(name);
            let waf = plan.api.waf.as_ref().unwrap();
            let at_target = swarm(&plan, waf, waf.min_addresses_to_fill);
            let held = run_swarm(&at_target, 2 * waf.window_seconds, 7);
            assert_eq!(held.throttled_seconds, 0, "{name}: {held:#?}");
            assert_eq!(held.honest_refused, 0, "{name}: {held:#?}");
            assert!(held.offered_bytes_per_second <= held.stream_bytes_per_second);
            // Each address's bytes at these rates; enough of them to fill the stream.
            let per_address = (at_target.requests_per_window - at_target.large_per_window)
                * at_target.small_body_bytes
                + at_target.large_per_window * at_target.large_body_bytes;
            let filling = (at_target.stream_bytes_per_second * at_target.window_seconds)
                .div_ceil(per_address)
                + 1;
            assert!(filling > at_target.addresses, "{name}");
            let mut over = at_target.clone();
            over.addresses = filling;
            let filled = run_swarm(&over, 2 * waf.window_seconds, 7);
            assert!(filled.throttled_seconds > 0, "{name}: {filled:#?}");
            assert!(filled.honest_refused > 0, "{name}: {filled:#?}");
            assert_eq!(filled.honest_gave_up, 0, "{name}: refused, not lost");
            let report = ingest_runtime::pipeline::drill::flood::FloodReport {
                swarm: Some(filled.clone()),
                ..Default::default()
            };
            assert!(!report.held());
            assert!(
                report
                    .swarm_failure()
                    .is_some_and(|why| why.contains("throttle the smaller stream")),
                "{name}"
            );
            eprintln!(
                "{name}: {} addresses held ({} KiB/s of {}), {} filled it",
                held.addresses,
                held.offered_bytes_per_second / 1024,
                held.stream_bytes_per_second / 1024,
                filled.addresses
            );
        }
    }

    fn plan(name: &str) -> Plan {
        crate::check_spec(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../specs")
                .join(name),
        )
        .unwrap()
        .plan
    }

    #[test]
    fn the_settings_are_the_plans_numbers() {
        let plan = plan("ingest.yaml");
        let settings = pipeline(&plan);
        assert_eq!(settings.name, plan.name);
        assert_eq!(settings.primary.weight, plan.primary.weight);
        assert_eq!(settings.secondary.region, plan.secondary.region);
        assert_eq!(
            settings.bridge_max_concurrency as u64,
            plan.bridge.max_concurrency
        );
        assert_eq!(settings.bridge_chunk_bytes as u64, plan.bridge.chunk_bytes);
        assert_eq!(settings.max_receive_count, plan.bridge.max_receive_count);
        assert_eq!(
            settings.validator_max_record_age_seconds,
            plan.validator.max_record_age_seconds
        );
        let dev = dev(
            &plan,
            DevWaits {
                spool_buffer_seconds: Some(2),
                visibility_timeout_seconds: None,
            },
        );
        assert_eq!(dev.pipeline.spool_buffer_seconds, 2);
        assert_eq!(
            dev.pipeline.visibility_timeout_seconds,
            plan.bridge.visibility_timeout_seconds
        );
        assert_eq!(settings.bridge_redelivery, Some(plan.bridge.redelivery));
        let rehearsal = super::dev(
            &plan,
            DevWaits {
                spool_buffer_seconds: None,
                visibility_timeout_seconds: Some(3),
            },
        );
        let paced = rehearsal.pipeline.bridge_redelivery.expect("a schedule");
        assert_eq!(rehearsal.pipeline.visibility_timeout_seconds, 3);
        assert_eq!((paced.first_delay_seconds, paced.max_delay_seconds), (3, 3));
        assert_eq!(
            paced.max_receive_count,
            plan.bridge.redelivery.max_receive_count
        );
        let faults = DrillFaults {
            hostile_records: 3,
            ..DrillFaults::default()
        };
        let drill = drill(
            &plan,
            600,
            Outage::Hang,
            faults.clone(),
            7,
            serde_json::Value::Null,
        );
        assert_eq!(drill.pipeline, settings);
        assert_eq!((drill.outage, drill.faults), (Outage::Hang, faults));
        // The numbers the drill's pessimistic model runs with are the stacks'.
        assert_eq!(
            settings.spool_quota_bytes_per_second,
            Some(plan.storage.spool_quota_bytes_per_second)
        );
        assert_eq!(
            (
                settings.validator_timeout_seconds,
                settings.receiver_timeout_seconds,
                settings.bridge_timeout_seconds
            ),
            (
                Some(plan.validator.function.timeout_seconds),
                Some(plan.receiver.timeout_seconds),
                Some(plan.bridge.function.timeout_seconds)
            )
        );
        assert_eq!(
            settings.receiver_max_record_age_seconds,
            plan.receiver_mapping.max_record_age_seconds
        );
        assert_eq!(
            drill.health_interval_seconds,
            plan.failover.interval_seconds
        );
    }
}
