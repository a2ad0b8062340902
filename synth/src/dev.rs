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

use serde_json::json;

use crate::cli::DevArgs;
use crate::plan::Plan;
use crate::program::{self, ProgramError, SpecProgram};

/// The domain's default port (Route 53's weighted split and the lever).
pub const DEFAULT_PORT: u16 = 4780;
/// The primary's default port.
pub const DEFAULT_PRIMARY_PORT: u16 = 4781;
/// The secondary's default port.
pub const DEFAULT_SECONDARY_PORT: u16 = 4782;

/// The dev configuration of a plan (the JSON `ingest_runtime::pipeline::dev::DevConfig`).
pub fn config(plan: &Plan, args: &DevArgs) -> serde_json::Value {
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
    if let Some(seconds) = args.spool_buffer {
        config.insert("spool_buffer_seconds".to_owned(), json!(seconds));
    }
    if let Some(seconds) = args.visibility_timeout {
        // A rehearsal's one wait: the queue's timeout, and every retry delay of the bridge.
        config.insert("visibility_timeout_seconds".to_owned(), json!(seconds));
        let schedule = ingest_runtime::redelivery::Redelivery {
            first_delay_seconds: seconds,
            max_delay_seconds: seconds,
            ..plan.bridge.redelivery
        };
        config.insert("bridge_redelivery".to_owned(), json!(schedule));
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
