//! The short, human summary `ingest check` prints for a valid spec.
//!
//! It answers what a reviewer of the spec asks first: where does traffic go, can each region
//! carry the whole peak on its own, how long can the primary be down before anything is lost,
//! and which event types exist.

use std::fmt::Write;

use crate::plan::{Plan, RegionPlan, StreamCapacity};

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
        "  failover   {}: GET {} every {} s, unhealthy after {} failures; drain switches in {}",
        if failover.automatic {
            "automatic"
        } else {
            "manual"
        },
        failover.path,
        failover.interval_seconds,
        failover.failure_threshold,
        plan.secondary.region
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
    let validator = &plan.validator;
    let _ = writeln!(
        out,
        "  validator  {} MB, {} s timeout, batches of {}, {} retries, {} functions",
        validator.function.memory_mb,
        validator.function.timeout_seconds,
        validator.function.batch_size,
        validator.max_retries,
        plan.functions.architecture
    );
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
