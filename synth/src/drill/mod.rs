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
//! 3. builds (once, cached by content) a small program that links the spec's generated events
//!    crate (`ingest_codegen::events::module_tokens`, the code `ingest synth` writes to
//!    `generated/<name>/events/`) with `ingest_runtime::pipeline::drill`, so every verdict
//!    comes from the spec's generated validators, never from a stand-in;
//! 4. runs it: it prints the JSON report (sent, accepted, good, quarantined, lost, duplicates,
//!    drain time...) and exits 0 only when nothing accepted was lost.
//!
//! The cache lives in `$INGEST_DRILL_CACHE`, else `$CARGO_TARGET_DIR/ingest-drill`, else
//! `target/ingest-drill` of the ingest workspace; like `ingest validate`, the command needs the
//! ingest source tree it was built from, and works for a spec anywhere on disk.

pub mod generate;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use ingest_codegen::events::{EventInput, format_tokens, module_tokens};
use serde_json::json;

use crate::plan::{Plan, StreamCapacity};

/// Shards the drill gives an on-demand stream.
pub const ON_DEMAND_SHARDS: u64 = 4;
/// Events made when neither `--events` nor `--count` is given.
pub const DEFAULT_COUNT: usize = 10_000;
/// The default outage.
pub const DEFAULT_OUTAGE_SECONDS: u64 = 600;

/// The options of `ingest drill`.
#[derive(Debug, Clone)]
pub struct DrillOptions {
    /// The spec.
    pub spec: PathBuf,
    /// Request bodies to send instead of generated ones.
    pub events: Option<PathBuf>,
    /// How many events to generate.
    pub count: Option<usize>,
    /// How long the primary is down.
    pub outage_seconds: u64,
    /// Seed of the generator and of the client's choices.
    pub seed: u64,
    /// Keep the buckets as files in this folder.
    pub out: Option<PathBuf>,
}

/// The ingest workspace this binary was built from.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("INGEST_DRILL_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("ingest-drill");
    }
    workspace_root().join("target/ingest-drill")
}

/// FNV-1a, 64 bits: a stable hash for cache keys.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Every file under a folder, sorted, for the cache key.
fn sources(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            sources(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
}

/// The drill configuration of a plan (the JSON `ingest_runtime::pipeline::drill::DrillConfig`).
pub fn config(
    plan: &Plan,
    outage_seconds: u64,
    seed: u64,
    notes: serde_json::Value,
) -> serde_json::Value {
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
    json!({
        "name": plan.name,
        "primary": region(&plan.primary),
        "secondary": region(&plan.secondary),
        "failover_automatic": plan.failover.automatic,
        "health_interval_seconds": plan.failover.interval_seconds,
        "health_failure_threshold": plan.failover.failure_threshold,
        "peak_events_per_second": plan.capacity.peak_events_per_second,
        "max_event_bytes": plan.api.max_event_bytes,
        "validator_batch_size": plan.validator.function.batch_size,
        "validator_max_retries": plan.validator.max_retries,
        "validator_max_record_age_seconds": plan.validator.max_record_age_seconds,
        "receiver_batch_size": plan.receiver.batch_size,
        "bridge_batch_size": plan.bridge.function.batch_size,
        "bridge_max_concurrency": crate::render::context::BRIDGE_MAX_CONCURRENCY,
        "visibility_timeout_seconds": plan.bridge.visibility_timeout_seconds,
        "max_receive_count": plan.bridge.max_receive_count,
        "queue_retention_seconds": plan.bridge.queue_retention_seconds,
        "spool_buffer_seconds": plan.storage.spool_buffer_seconds,
        "spool_buffer_mb": plan.storage.spool_buffer_mb,
        "outage_seconds": outage_seconds,
        "seed": seed,
        "notes": notes,
    })
}

/// Builds the drill program of a plan (or finds it in the cache).
pub fn build(plan: &Plan) -> Result<PathBuf, String> {
    let inputs: Vec<EventInput<'_>> = plan
        .events
        .iter()
        .map(|e| EventInput {
            type_name: &e.type_name,
            description: e.description.as_deref(),
            schema: &e.schema,
            schema_json: &e.schema_json,
        })
        .collect();
    let mut sorted = inputs.clone();
    sorted.sort_by(|a, b| a.type_name.cmp(b.type_name));
    let events_module = format_tokens(module_tokens(&sorted));
    let main_rs = format!(
        "//! `ingest drill` for the `{name}` spec (generated by ingest).\n\n#![allow(missing_docs, dead_code)]\n\n/// The spec's events and validators, as in `generated/{name}/events`.\nmod events {{\n{events_module}}}\n\nfn main() -> std::process::ExitCode {{\n    ingest_runtime::pipeline::drill::main(&events::REGISTRY, std::env::args_os().skip(1))\n}}\n",
        name = plan.name
    );
    let runtime = workspace_root().join("runtime");
    let runtime = runtime.canonicalize().unwrap_or(runtime);
    let mut files = Vec::new();
    sources(&runtime.join("src"), &mut files);
    let mut parts: Vec<&[u8]> = vec![env!("CARGO_PKG_VERSION").as_bytes(), main_rs.as_bytes()];
    for (_, bytes) in &files {
        parts.push(bytes);
    }
    let manifest = std::fs::read(runtime.join("Cargo.toml")).unwrap_or_default();
    parts.push(&manifest);
    let key = format!("{:016x}", fnv1a(&parts));
    let cache = cache_root();
    let dir = cache.join(format!("{}-{key}", plan.name));
    let target = cache.join("target");
    let bin_name = format!("drill-{}-{key}", plan.name);
    let binary = target
        .join("release")
        .join(format!("{bin_name}{}", std::env::consts::EXE_SUFFIX));
    if binary.exists() {
        return Ok(binary);
    }
    let write = |path: PathBuf, contents: &[u8]| -> Result<(), String> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let runtime_path = serde_json::to_string(&runtime.display().to_string()).unwrap_or_default();
    write(
        dir.join("Cargo.toml"),
        format!(
            "# generated by ingest drill - do not edit\n[package]\nname = \"ingest-drill-{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[[bin]]\nname = \"{bin_name}\"\npath = \"src/main.rs\"\n\n[dependencies]\ningest-runtime = {{ path = {runtime_path}, features = [\"local\"] }}\n\n[workspace]\n",
            name = plan.name
        )
        .as_bytes(),
    )?;
    write(dir.join("src/main.rs"), main_rs.as_bytes())?;
    if let Ok(lock) = std::fs::read(workspace_root().join("Cargo.lock")) {
        write(dir.join("Cargo.lock"), &lock)?;
    }
    eprintln!(
        "building the drill of {} (release, cached in {})...",
        plan.name,
        dir.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "--bin",
            &bin_name,
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() || !binary.exists() {
        return Err(format!(
            "building the drill failed: cargo exited with {status}"
        ));
    }
    Ok(binary)
}

/// Runs `ingest drill`: 0 when nothing accepted was lost, 1 otherwise (or when the spec or the
/// events cannot be used).
pub fn run(options: &DrillOptions) -> ExitCode {
    let checked = match crate::check_spec(&options.spec) {
        Ok(checked) => checked,
        Err(error) => {
            crate::cli::report(&error, false);
            return ExitCode::FAILURE;
        }
    };
    let plan = &checked.plan;
    let cache = cache_root();
    let work = cache.join(format!("run-{}-{}", plan.name, std::process::id()));
    if let Err(error) = std::fs::create_dir_all(&work) {
        eprintln!("error: cannot create {}: {error}", work.display());
        return ExitCode::FAILURE;
    }
    let (events_path, notes) = match &options.events {
        Some(path) => (
            path.clone(),
            json!({"events_file": path.display().to_string()}),
        ),
        None => {
            let count = options.count.unwrap_or(DEFAULT_COUNT);
            match generate::events(plan, count, options.seed) {
                Ok(generated) => {
                    let path = work.join("events.ndjson");
                    let mut text = generated.records.join("\n");
                    text.push('\n');
                    if let Err(error) = std::fs::write(&path, text) {
                        eprintln!("error: cannot write {}: {error}", path.display());
                        return ExitCode::FAILURE;
                    }
                    (path, generated.notes)
                }
                Err(error) => {
                    eprintln!(
                        "error: {}\nhelp: pass request bodies with --events FILE instead",
                        error.0
                    );
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let config_path = work.join("config.json");
    let config = config(plan, options.outage_seconds, options.seed, notes);
    if let Err(error) = std::fs::write(
        &config_path,
        serde_json::to_vec_pretty(&config).unwrap_or_default(),
    ) {
        eprintln!("error: cannot write {}: {error}", config_path.display());
        return ExitCode::FAILURE;
    }
    let binary = match build(plan) {
        Ok(binary) => binary,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut command = Command::new(&binary);
    command
        .arg("--config")
        .arg(&config_path)
        .arg("--events")
        .arg(&events_path);
    if let Some(out) = &options.out {
        command.arg("--out").arg(out);
    }
    let status = command.status();
    let _ = std::fs::remove_dir_all(&work);
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: cannot run {}: {error}", binary.display());
            ExitCode::FAILURE
        }
    }
}
