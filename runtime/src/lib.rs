//! The runtime that generated event crates and the Lambda functions link against.
//!
//! It will hold, in its light default part (no AWS crates): the `Event` trait that
//! `#[derive(Event)]` implements, the `Violation` type that quarantine reasons are made of, the
//! format checkers, CloudEvents envelope parsing and the per-record verdict with the reason kinds
//! of DESIGN section 7. Behind a feature, for the Lambda binary only: the validator, receiver and
//! bridge handlers over `lambda_runtime`, with AWS adapters. It is empty until those land, so that
//! nothing here pretends to validate.
