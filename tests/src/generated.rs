//! Validators generated at build time by `build.rs` (see there), for the tests and benchmarks.

/// One test case of the JSON Schema Test Suite, with the generated validator of its group.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// The suite file (`minimum.json`).
    pub file: &'static str,
    /// The group's description.
    pub group: &'static str,
    /// The test's description.
    pub test: &'static str,
    /// The group's schema, as JSON text.
    pub schema: &'static str,
    /// The instance, as JSON text.
    pub data: &'static str,
    /// The suite's verdict.
    pub valid: bool,
    /// The generated validator, on a reader with a checker of either mode.
    pub validate: ingest_runtime::envelope::ValidateFn,
    /// The generated fast path.
    pub is_valid: fn(&[u8]) -> bool,
    /// The generated report.
    pub violations:
        fn(&[u8]) -> Result<Vec<ingest_runtime::Violation>, ingest_runtime::json::Error>,
}

/// A group of the JSON Schema Test Suite that does not run, and why.
#[derive(Debug, Clone, Copy)]
pub struct Skipped {
    /// The suite file.
    pub file: &'static str,
    /// The group's description.
    pub group: &'static str,
    /// How many test cases it has.
    pub cases: usize,
    /// The schema parser's error code, one of `SKIP_REASONS`.
    pub code: &'static str,
    /// The reason of that code.
    pub reason: &'static str,
    /// The parser's errors.
    pub detail: &'static str,
    /// The group's schema, as JSON text.
    pub schema: &'static str,
}

/// The JSON Schema Test Suite's groups, one module each.
pub mod conformance {
    use super::{Case, Skipped};
    include!(concat!(env!("OUT_DIR"), "/conformance.rs"));
}

/// The events modules of the specs in `specs/`.
pub mod specs {
    include!(concat!(env!("OUT_DIR"), "/specs.rs"));
}

/// A schema of `fixtures/schemas/shapes.json`, with its generated validator.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// What the schema exercises.
    pub description: &'static str,
    /// The schema, as JSON text.
    pub schema: &'static str,
    /// Instances, as JSON text (exactly as written: duplicate keys and escapes included).
    pub data: &'static [&'static str],
    /// The generated validator.
    pub validate: ingest_runtime::envelope::ValidateFn,
}

/// Schemas whose Rust types take every shape the type generator knows.
pub mod shapes {
    use super::Shape;
    include!(concat!(env!("OUT_DIR"), "/shapes.rs"));
}
