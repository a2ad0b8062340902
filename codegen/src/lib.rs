//! The generator behind every front-end of `ingest`.
//!
//! This crate owns the logic that turns event schemas into validators, in the habit of
//! oxidecomputer/typify: the proc-macro crate (`ingest-macros`) and the CLI (`ingest-synth`)
//! only parse their own input and call in here. It therefore knows nothing of source spans,
//! command lines or templates.
//!
//! Today it holds [`schema`], the model of the JSON Schema subset that `ingest.yaml` accepts
//! (DESIGN section 5): parsing a schema checks every keyword and value and reports each problem
//! with its JSON pointer, so a front-end can place the error in its own source. The Rust type
//! generation built on this model comes next.

pub mod schema;
