//! Procedural macros of `ingest`.
//!
//! This crate will own `#[derive(Event)]`, which turns a struct annotated with schema attributes
//! into a validator (a fast verdict path and a full violation report, from one attribute model).
//! It stays thin, in the habit of serde_derive and clap_derive: parse the attributes, check them
//! (collecting every error with its span), then hand the model to `ingest-codegen` to expand.
//! Nothing is exported yet: the derive lands with the typed-validators work, and an exported
//! macro that does nothing would be a trap for users.
