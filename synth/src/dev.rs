//! `ingest dev [SPEC]`: both regions on this machine, with no Docker and no AWS.
//!
//! The command
//!
//! 1. checks the spec and takes the numbers of both regions from the plan (shards, weights,
//!    batch sizes, `api.max_event_bytes`, the spool's buffering, the queue's visibility
//!    timeout and `maxReceiveCount`, the bridge's chunking), the way `ingest drill` does
//!    ([`crate::drill::pipeline_config`]), plus what only a live pipeline needs (failover,
//!    the API's content types); `--spool-buffer` and `--visibility-timeout` shorten the spec's
//!    waits for a rehearsal by hand;
//! 2. builds (once, cached by content, [`crate::program`]) a small program that links the
//!    spec's generated events module with `ingest_runtime::pipeline::dev`, so every verdict
//!    comes from the spec's generated validators;
//! 3. becomes that program (on Unix it replaces this process, so Ctrl-C and SIGTERM reach it
//!    directly): it serves the domain, the primary and the secondary on 127.0.0.1, runs the
//!    pipeline on the real clock, writes buckets as folders under `--out`, logs a line per
//!    handler batch on standard error, and when stopped flushes the spool, delivers what is
//!    pending and prints a summary. See the runtime's `pipeline::dev` for the routes.
//!
//! Like `ingest drill`, the command needs the ingest source tree it was built from.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use serde_json::json;

use crate::plan::Plan;
use crate::program::{self, ProgramError, SpecProgram};

/// The domain's default port (Route 53's weighted split and the lever).
pub const DEFAULT_PORT: u16 = 4780;
/// The primary's default port.
pub const DEFAULT_PRIMARY_PORT: u16 = 4781;
/// The secondary's default port.
pub const DEFAULT_SECONDARY_PORT: u16 = 4782;

/// The options of `ingest dev`.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// The spec.
    pub spec: PathBuf,
    /// Where the buckets go; `./.ingest-dev/<name>/` when not given.
    pub out: Option<PathBuf>,
    /// The domain's port (0: any free port).
    pub port: u16,
    /// The primary's port.
    pub primary_port: u16,
    /// The secondary's port.
    pub secondary_port: u16,
    /// Overrides `storage.spool.buffer_seconds`.
    pub spool_buffer_seconds: Option<u64>,
    /// Overrides the spool queue's visibility timeout.
    pub visibility_timeout_seconds: Option<u64>,
}

/// The dev configuration of a plan (the JSON `ingest_runtime::pipeline::dev::DevConfig`).
pub fn config(plan: &Plan, options: &DevOptions) -> serde_json::Value {
    let mut config = crate::drill::pipeline_config(plan);
    for (key, value) in [
        ("bridge_chunk_bytes", json!(crate::aws::BRIDGE_CHUNK_BYTES)),
        ("failover_automatic", json!(plan.failover.automatic)),
        (
            "content_types",
            json!(crate::render::context::CONTENT_TYPES),
        ),
    ] {
        config.insert(key.to_owned(), value);
    }
    if let Some(seconds) = options.spool_buffer_seconds {
        config.insert("spool_buffer_seconds".to_owned(), json!(seconds));
    }
    if let Some(seconds) = options.visibility_timeout_seconds {
        config.insert("visibility_timeout_seconds".to_owned(), json!(seconds));
    }
    serde_json::Value::Object(config)
}

/// The dev program: the spec's registry driving `ingest_runtime::pipeline::dev`.
pub const PROGRAM: SpecProgram<'static> = SpecProgram {
    purpose: "dev",
    runtime_features: &["dev"],
    main: "ingest_runtime::pipeline::dev::main(&events::REGISTRY, std::env::args_os().skip(1))",
};

/// Builds the dev program of a plan (or finds it in the cache).
pub fn build(plan: &Plan) -> Result<PathBuf, ProgramError> {
    program::build(plan, &PROGRAM)
}

/// Runs `ingest dev` until it is stopped: 0 when everything accepted was delivered, 1 when
/// something was left or the spec cannot be used, 2 when a port is taken.
pub fn run(options: &DevOptions) -> ExitCode {
    let checked = match crate::check_spec(&options.spec) {
        Ok(checked) => checked,
        Err(error) => {
            crate::cli::report(&error, false);
            return ExitCode::FAILURE;
        }
    };
    let plan = &checked.plan;
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(".ingest-dev").join(&plan.name));
    let config = config(plan, options);
    let binary = match build(plan) {
        Ok(binary) => binary,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut command = Command::new(&binary);
    command
        .arg("--config-json")
        .arg(config.to_string())
        .arg("--out")
        .arg(&out)
        .arg("--port")
        .arg(options.port.to_string())
        .arg("--primary-port")
        .arg(options.primary_port.to_string())
        .arg("--secondary-port")
        .arg(options.secondary_port.to_string());
    exec(command, &binary)
}

/// Replaces this process with the program, so signals reach it directly.
#[cfg(unix)]
fn exec(mut command: Command, binary: &std::path::Path) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    eprintln!("error: cannot run {}: {error}", binary.display());
    ExitCode::FAILURE
}

/// Runs the program and passes its exit code on.
#[cfg(not(unix))]
fn exec(mut command: Command, binary: &std::path::Path) -> ExitCode {
    match command.status() {
        Ok(status) => ExitCode::from(u8::try_from(status.code().unwrap_or(1)).unwrap_or(1)),
        Err(error) => {
            eprintln!("error: cannot run {}: {error}", binary.display());
            ExitCode::FAILURE
        }
    }
}
