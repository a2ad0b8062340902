//! The generator behind every front-end of `ingest`.
//!
//! This crate owns the logic that turns event schemas into validators, in the habit of
//! oxidecomputer/typify: the proc-macro crate (`ingest-macros`) and the CLI (`ingest-synth`)
//! only parse their own input and call in here. It therefore knows nothing of source spans,
//! command lines or templates.
//!
//! - [`compat`]: whether every event valid under old schemas is valid under new ones (the
//!   breaking-change check of `ingest check --against`), as typed findings.
//! - [`schema`]: the model of the JSON Schema subset that `ingest.yaml` accepts (see
//!   `docs/architecture.md#events`). Parsing checks every keyword and value and reports each
//!   problem with its JSON pointer, so a front-end can place the error in its own source.
//! - [`types`]: schema -> Rust types annotated with `#[derive(Event)]` attributes.
//! - [`validator`]: the validator model the derive builds from those attributes, and its
//!   expansion into one-pass validating code.
//! - [`pattern`]: the `pattern`s that expand into plain loops instead of a regex.
//! - [`events`]: a spec's whole events crate (`generated/<name>/events/`) and its JSON Schema
//!   files, as deterministic text.
//! - [`functions`]: a spec's functions crate (`generated/<name>/functions/`), which links the
//!   events crate into the Lambda `bootstrap`.

pub mod compat;
pub mod events;
pub mod functions;
pub mod keywords;
pub mod pattern;
pub mod schema;
pub mod types;
pub mod validator;

pub use events::{EventInput, GeneratedFile, RUNTIME_VERSION, events_crate};
pub use functions::functions_crate;
