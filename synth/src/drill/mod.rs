//! `ingest drill [SPEC] [--events FILE | --count N] [--outage SECONDS]`: the seed's night,
//! rehearsed on this machine with the real handlers and the spec's own validators.
//!
//! The command (`crate::commands::drill`)
//!
//! 1. checks the spec and takes its numbers from the plan ([`crate::settings::drill`]: shards,
//!    weights, retention, batch sizes, health checks, the spool's buffering, the queue's
//!    visibility timeout, `maxReceiveCount` and retention, the bridge's redelivery schedule);
//! 2. takes the events from `--events FILE` (NDJSON or a JSON array of request bodies), or
//!    makes `--count N` of them from the spec's schemas ([`generate`]), mostly valid, some
//!    invalid, some batches;
//! 3. runs `ingest_runtime::pipeline::drill` in this process over the spec's validators,
//!    compiled at run time by `ingest-eval` (the generated code's verdicts, no build); with
//!    `--compiled`, a small program over the spec's generated events crate runs it instead
//!    ([`crate::program`]), so the verdicts come from the very code the Lambda runs;
//! 4. presents the report: for people on a terminal, as JSON otherwise or with `--json`, and
//!    exits 0 only when nothing accepted was lost.

pub mod generate;

/// Events made when neither `--events` nor `--count` is given.
pub const DEFAULT_COUNT: usize = 10_000;
/// The default outage.
pub const DEFAULT_OUTAGE_SECONDS: u64 = 600;
