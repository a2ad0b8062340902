//! Differential tests: for every event schema of every spec in `specs/`, on random and mutated
//! events, the generated validator's verdict equals the `jsonschema` crate's (format assertion
//! on), and the generated fast path's verdict equals "the report is empty".
//!
//! Events come from a generator (`support/mod.rs`) that reads the schema and produces values near its edges
//! (boundaries of numeric ranges and lengths, valid and invalid formats, missing required and
//! extra properties, wrong types), so roughly half are valid; mutated events flip, insert or
//! delete bytes of a serialized event.

mod support;

use std::path::Path;

use ingest_runtime::EventTypeRef;
use ingest_runtime::check::Checker;
use ingest_runtime::json::Parser;
use ingest_tests::generated::specs::SPECS;
use ingest_tests::workspace_root;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRng, TestRunner};
use serde_json::Value;
use support::{inlined, value_for};

fn run(validate: EventTypeRef<'_>, bytes: &[u8], report: bool) -> (bool, usize) {
    let mut p = Parser::new(bytes);
    let mut c = if report {
        Checker::report()
    } else {
        Checker::fast()
    };
    match validate
        .validate_json(&mut p, &mut c)
        .and_then(|()| p.finish())
    {
        Ok(()) => (c.violations().is_empty(), c.violations().len()),
        Err(_) => (false, usize::MAX),
    }
}

/// The reference verdict: not JSON (including duplicate keys, which we reject) is invalid,
/// else the `jsonschema` crate decides.
fn reference(validator: &jsonschema::Validator, bytes: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    if Parser::new(bytes).parse_value().is_err() {
        return false;
    }
    validator.is_valid(&value)
}

/// Every event type of every spec: its name, the schema events are generated from (its
/// references inlined), the schema the `jsonschema` crate compiles (self-contained: the files
/// its references read are bundled in, as in `generated/<name>/schemas/`), and the generated
/// validator.
fn schemas() -> Vec<(String, Value, Value, EventTypeRef<'static>)> {
    let root = workspace_root();
    let mut out = Vec::new();
    for (file, registry) in SPECS {
        let checked =
            ingest_synth::check_spec(&root.join(Path::new(file))).expect("bundled specs are valid");
        for event in &checked.plan.events {
            let event_type = registry
                .get(&event.type_name)
                .expect("the registry has every event type");
            out.push((
                format!("{file} {}", event.type_name),
                inlined(&event.schema, &event.schema_json),
                ingest_codegen::schema::bundle(&event.schema, &event.schema_json, &event.type_name),
                event_type,
            ));
        }
    }
    assert!(
        out.len() >= 11,
        "specs/ingest.yaml alone has 7 event types, specs/checkout.yaml 4"
    );
    out
}

/// A runner with a fixed seed: the same events every run, so the share of valid events the
/// generator produces (asserted below) cannot flake. The verdict comparisons would hold for any
/// seed; a fixed one only makes a failure reproducible.
fn seeded(config: Config) -> TestRunner {
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    TestRunner::new_with_rng(config, rng)
}

fn compiled(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .expect("the jsonschema crate compiles every spec schema")
}

#[test]
fn random_events_get_the_jsonschema_crates_verdict() {
    for (name, schema, bundled, validate) in schemas() {
        let reference_validator = compiled(&bundled);
        let mut runner = seeded(Config {
            cases: 600,
            failure_persistence: None,
            ..Config::default()
        });
        let (valid, total) = (std::cell::Cell::new(0usize), std::cell::Cell::new(0usize));
        runner
            .run(&value_for(&schema, 0), |value| {
                let bytes = serde_json::to_vec(&value).unwrap();
                let expected = reference_validator.is_valid(&value);
                let (fast, _) = run(validate, &bytes, false);
                let (report, count) = run(validate, &bytes, true);
                total.set(total.get() + 1);
                valid.set(valid.get() + usize::from(expected));
                prop_assert_eq!(
                    fast,
                    expected,
                    "{}: fast path vs jsonschema on {}",
                    name,
                    value
                );
                prop_assert_eq!(
                    report,
                    fast,
                    "{}: report ({} violations) vs fast path on {}",
                    name,
                    count,
                    value
                );
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let (valid, total) = (valid.get(), total.get());
        assert!(
            valid * 50 >= total && valid < total,
            "{name}: {valid} of {total} generated events were valid; the generator must produce both"
        );
    }
}

#[test]
fn mutated_events_get_the_jsonschema_crates_verdict() {
    for (name, schema, bundled, validate) in schemas() {
        let reference_validator = compiled(&bundled);
        let mut runner = seeded(Config {
            cases: 400,
            failure_persistence: None,
            ..Config::default()
        });
        let strategy = (
            value_for(&schema, 0),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
        );
        runner
            .run(&strategy, |(value, edits)| {
                let mut bytes = serde_json::to_vec(&value).unwrap();
                for (at, byte, op) in edits {
                    if bytes.is_empty() {
                        break;
                    }
                    let i = at.index(bytes.len());
                    match op {
                        0 => bytes[i] = byte,
                        1 => bytes.insert(i, byte),
                        _ => {
                            bytes.remove(i);
                        }
                    }
                }
                let expected = reference(&reference_validator, &bytes);
                let (fast, _) = run(validate, &bytes, false);
                let (report, _) = run(validate, &bytes, true);
                prop_assert_eq!(
                    fast,
                    expected,
                    "{}: fast path vs jsonschema on {:?}",
                    name,
                    String::from_utf8_lossy(&bytes)
                );
                prop_assert_eq!(
                    report,
                    fast,
                    "{}: report vs fast path on {:?}",
                    name,
                    String::from_utf8_lossy(&bytes)
                );
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
