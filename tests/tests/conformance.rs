//! The JSON Schema Test Suite, run against generated code.
//!
//! `build.rs` turned each group's schema into Rust types with `ingest_codegen::types`, and the
//! derive expanded them into validators when this crate compiled; here every case runs through
//! both generated paths: the fast verdict must equal the suite's, and the report must be empty
//! exactly for valid cases.

use ingest_tests::generated::conformance::{CASES, SKIP_REASONS, SKIPPED};

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

/// The whole suite runs but the groups of `SKIP_REASONS` (`tests/build.rs`, the one place that
/// says what does not run and why): the suite's README counts 2,225 cases in 80 files.
#[test]
fn runs_the_whole_suite_but_the_documented_groups() {
    let skipped_cases: usize = SKIPPED.iter().map(|s| s.cases).sum();
    assert_eq!(
        CASES.len() + skipped_cases,
        2225,
        "the suite's README counts 2,225 cases"
    );
    let mut by_reason: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for group in SKIPPED {
        assert!(
            SKIP_REASONS.iter().any(|(code, _)| *code == group.code),
            "{} / {}: skipped for {}",
            group.file,
            group.group,
            group.code
        );
        let entry = by_reason.entry(group.code).or_default();
        entry.0 += 1;
        entry.1 += group.cases;
    }
    let files: std::collections::BTreeSet<&str> = CASES.iter().map(|c| c.file).collect();
    eprintln!(
        "{} of 2225 cases run, from {} files; skipped: {by_reason:?}",
        CASES.len(),
        files.len()
    );
    // The keywords the issue adds run in full: their files skip nothing.
    for file in [
        "allOf.json",
        "anyOf.json",
        "oneOf.json",
        "not.json",
        "if-then-else.json",
        "dependentSchemas.json",
        "dependentRequired.json",
        "prefixItems.json",
        "contains.json",
        "minContains.json",
        "maxContains.json",
        "patternProperties.json",
        "propertyNames.json",
        "anchor.json",
        "infinite-loop-detection.json",
        "optional/format/time.json",
        "optional/format/duration.json",
        "optional/format/ipv4.json",
        "optional/format/ipv6.json",
        "optional/format/hostname.json",
        "optional/format/uri.json",
    ] {
        let skipped: Vec<&str> = SKIPPED
            .iter()
            .filter(|s| s.file == file)
            .map(|s| s.group)
            .collect();
        assert!(skipped.is_empty(), "{file} skips {skipped:?}");
        assert!(files.contains(file), "{file} runs");
    }
}

/// A skipped group's schema is refused with errors a user can act on: each at a location in
/// the schema, with a help that says what to write instead, and one of them has the skip's code.
/// (The cases that run although `format` is only an annotation parse; nothing to check there.)
#[test]
fn every_skipped_group_is_refused_at_a_location_with_what_to_do() {
    for group in SKIPPED.iter().filter(|g| g.code != "format-asserted") {
        let schema: serde_json::Value = serde_json::from_str(group.schema).unwrap();
        let errors = ingest_codegen::schema::parse(&schema)
            .expect_err("a skipped group's schema does not parse");
        assert!(
            errors.iter().any(|e| e.code == group.code),
            "{} / {}: {errors:?}",
            group.file,
            group.group
        );
        for error in &errors {
            assert!(
                !error.path.is_empty() && !error.help.trim().is_empty(),
                "{} / {}: {error:?} has no location or no help",
                group.file,
                group.group
            );
        }
    }
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
