//! The JSON Schema Test Suite, run against generated code.
//!
//! `build.rs` turned each group's schema into Rust types with `ingest_codegen::types`, and the
//! derive expanded them into validators when this crate compiled; here every case runs through
//! both generated paths: the fast verdict must equal the suite's, and the report must be empty
//! exactly for valid cases.

use ingest_tests::generated::conformance::{CASES, SKIPPED};

#[test]
fn every_supported_case_passes_on_both_paths() {
    let mut failures = Vec::new();
    for case in CASES {
        let fast = (case.is_valid)(case.data.as_bytes());
        let report = (case.violations)(case.data.as_bytes());
        let report_valid = matches!(&report, Ok(v) if v.is_empty());
        if fast != case.valid || report_valid != case.valid {
            failures.push(format!(
                "{} / {} / {}: data {} expected valid={}, fast path said {fast}, report said {report:?}",
                case.file, case.group, case.test, case.data, case.valid
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// The groups left out, by file: how many, and what in their schema is outside the subset.
/// The suite's README lists the first four files; `uniqueItems.json` has four groups built on
/// `prefixItems`, and `enum.json` has `{"enum": []}`, which `ingest check` rejects as a schema
/// error (an empty enum accepts nothing, so it is always a mistake in an event schema).
const OUT_OF_SCOPE: &[(&str, usize, &str)] = &[
    (
        "additionalProperties.json",
        5,
        "not a supported schema keyword",
    ),
    ("enum.json", 1, "`enum` is empty"),
    ("items.json", 5, "not a supported schema keyword"),
    ("prefixItems.json", 4, "not a supported schema keyword"),
    ("properties.json", 1, "not a supported schema keyword"),
    ("uniqueItems.json", 4, "not a supported schema keyword"),
];

#[test]
fn runs_the_whole_suite_but_the_documented_groups() {
    let files: std::collections::BTreeSet<&str> = CASES.iter().map(|c| c.file).collect();
    assert_eq!(
        files.len(),
        26,
        "every file but prefixItems.json has supported groups: {files:?}"
    );
    let skipped_cases: usize = SKIPPED.iter().map(|s| s.2).sum();
    assert_eq!(
        CASES.len() + skipped_cases,
        651,
        "the suite's README counts 651 cases"
    );
    for (file, count, reason) in OUT_OF_SCOPE {
        let groups: Vec<_> = SKIPPED.iter().filter(|s| s.0 == *file).collect();
        assert_eq!(
            groups.len(),
            *count,
            "skipped groups of {file}: {groups:#?}"
        );
        for group in groups {
            assert!(
                group.3.contains(reason),
                "{file} / {}: skipped because {}",
                group.1,
                group.3
            );
        }
    }
    let documented: usize = OUT_OF_SCOPE.iter().map(|o| o.1).sum();
    assert_eq!(
        SKIPPED.len(),
        documented,
        "no group is skipped without being listed: {SKIPPED:#?}"
    );
}

#[test]
fn violations_point_at_the_value_and_name_the_keyword() {
    let case = CASES
        .iter()
        .find(|c| c.file == "minimum.json" && !c.valid)
        .expect("minimum.json has an invalid case");
    let violations = (case.violations)(case.data.as_bytes()).expect("the data is JSON");
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].keyword, "minimum");
    assert_eq!(violations[0].pointer, "");
    assert!(
        violations[0].message.contains("less than the minimum"),
        "{}",
        violations[0].message
    );
}
