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
    /// The instance, as JSON text.
    pub data: &'static str,
    /// The suite's verdict.
    pub valid: bool,
    /// The generated fast path.
    pub is_valid: fn(&[u8]) -> bool,
    /// The generated report.
    pub violations:
        fn(&[u8]) -> Result<Vec<ingest_runtime::Violation>, ingest_runtime::json::Error>,
}

/// The JSON Schema Test Suite's groups, one module each.
pub mod conformance {
    use super::Case;
    include!(concat!(env!("OUT_DIR"), "/conformance.rs"));
}

/// The events modules of the specs in `specs/`.
pub mod specs {
    include!(concat!(env!("OUT_DIR"), "/specs.rs"));
}
