//! `ingest drill [SPEC] [--events FILE | --count N] [--outage SECONDS]`: the seed's night,
//! rehearsed on this machine with the real handlers and the spec's own validators.
//!
//! The command
//!
//! 1. checks the spec and takes its numbers from the plan (shards, weights, retention, batch
//!    sizes, health checks, the spool's buffering, the queue's visibility timeout,
//!    `maxReceiveCount` and retention) into a drill configuration;
//! 2. takes the events from `--events FILE` (NDJSON or a JSON array of request bodies), or
//!    makes `--count N` of them from the spec's schemas ([`generate`]), mostly valid, some
//!    invalid, some batches;
//! 3. builds (once, cached by content, [`crate::program`]) a small program that links the
//!    spec's generated events module (the code `ingest synth` writes to
//!    `generated/<name>/events/`) with `ingest_runtime::pipeline::drill`, so every verdict
//!    comes from the spec's generated validators, never from a stand-in;
//! 4. runs it: it prints the JSON report (sent, accepted, good, quarantined, lost, duplicates,
//!    drain time...) and exits 0 only when nothing accepted was lost.
//!
//! Like `ingest validate`, the command needs the ingest source tree it was built from, and
//! works for a spec anywhere on disk.

pub mod generate;

use std::path::PathBuf;

use serde_json::json;

use crate::plan::{Plan, StreamCapacity};
use crate::program::{self, ProgramError, SpecProgram};

/// Shards the drill gives an on-demand stream.
pub const ON_DEMAND_SHARDS: u64 = 4;
/// Events made when neither `--events` nor `--count` is given.
pub const DEFAULT_COUNT: usize = 10_000;
/// The default outage.
pub const DEFAULT_OUTAGE_SECONDS: u64 = 600;

/// The numbers both regions of a local pipeline are built with (the JSON
/// `ingest_runtime::pipeline::local::PipelineSettings`, less `bridge_chunk_bytes`, which the
/// drill leaves at its default): what `ingest drill` and `ingest dev` share.
pub fn pipeline_config(plan: &Plan) -> serde_json::Map<String, serde_json::Value> {
    let shards = |capacity: StreamCapacity| match capacity {
        StreamCapacity::Provisioned { shards } => shards,
        StreamCapacity::OnDemand => ON_DEMAND_SHARDS,
    };
    let region = |r: &crate::plan::RegionPlan| {
        json!({
            "region": r.region,
            "shards": shards(r.stream.mode),
            "weight": r.weight,
            "retention_hours": r.stream.retention_hours,
        })
    };
    [
        ("name", json!(plan.name)),
        ("primary", region(&plan.primary)),
        ("secondary", region(&plan.secondary)),
        ("max_event_bytes", json!(plan.api.max_event_bytes)),
        (
            "validator_batch_size",
            json!(plan.validator.function.batch_size),
        ),
        ("validator_max_retries", json!(plan.validator.max_retries)),
        (
            "validator_max_record_age_seconds",
            json!(plan.validator.max_record_age_seconds),
        ),
        ("receiver_batch_size", json!(plan.receiver.batch_size)),
        (
            "receiver_max_retries",
            json!(plan.receiver_mapping.max_retries),
        ),
        (
            "receiver_max_record_age_seconds",
            json!(plan.receiver_mapping.max_record_age_seconds),
        ),
        ("bridge_batch_size", json!(plan.bridge.function.batch_size)),
        (
            "bridge_max_concurrency",
            json!(crate::render::context::BRIDGE_MAX_CONCURRENCY),
        ),
        (
            "visibility_timeout_seconds",
            json!(plan.bridge.visibility_timeout_seconds),
        ),
        ("max_receive_count", json!(plan.bridge.max_receive_count)),
        (
            "queue_retention_seconds",
            json!(plan.bridge.queue_retention_seconds),
        ),
        (
            "spool_buffer_seconds",
            json!(plan.storage.spool_buffer_seconds),
        ),
        ("spool_buffer_mb", json!(plan.storage.spool_buffer_mb)),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

/// The drill configuration of a plan (the JSON `ingest_runtime::pipeline::drill::DrillConfig`).
pub fn config(
    plan: &Plan,
    outage_seconds: u64,
    seed: u64,
    notes: serde_json::Value,
) -> serde_json::Value {
    let mut config = pipeline_config(plan);
    for (key, value) in [
        ("failover_automatic", json!(plan.failover.automatic)),
        (
            "health_interval_seconds",
            json!(plan.failover.interval_seconds),
        ),
        (
            "health_failure_threshold",
            json!(plan.failover.failure_threshold),
        ),
        (
            "peak_events_per_second",
            json!(plan.capacity.peak_events_per_second),
        ),
        ("outage_seconds", json!(outage_seconds)),
        ("seed", json!(seed)),
        ("notes", notes),
    ] {
        config.insert(key.to_owned(), value);
    }
    serde_json::Value::Object(config)
}

/// The drill program: the spec's registry driving `ingest_runtime::pipeline::drill`.
pub const PROGRAM: SpecProgram<'static> = SpecProgram {
    purpose: "drill",
    runtime_features: &["local"],
    main: "ingest_runtime::pipeline::drill::main(&events::REGISTRY, std::env::args_os().skip(1))",
};

/// Builds the drill program of a plan (or finds it in the cache).
pub fn build(plan: &Plan) -> Result<PathBuf, ProgramError> {
    program::build(plan, &PROGRAM)
}
