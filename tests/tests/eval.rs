//! Differential tests of the evaluator (`ingest-eval`) against the generated code: identical
//! verdicts and identical violation lists (pointer, keyword, message, order), for the fast path
//! and the report, and identical errors for malformed JSON (same message, same offset).
//!
//! - every supported case of the JSON Schema Test Suite (the same cases `conformance.rs` runs
//!   against generated code), as written and in two altered forms (pretty-printed; cut in half);
//! - the schemas of `fixtures/schemas/shapes.json`, whose Rust types take every shape the type
//!   generator knows (nullable nested objects, string enums without `type`, many properties...):
//!   their written instances, and random and mutated values;
//! - random and mutated values for every event schema of every spec in `specs/` (the
//!   generators of `support/mod.rs`);
//! - whole records through the envelope reader and a registry (reason kinds included): random
//!   envelopes around random data, batches, mutated bytes, and the 100,000 events of the
//!   committed benchmark corpus.

mod support;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

use ingest_codegen::EventInput;
use ingest_runtime::json::{Error, Parser};
use ingest_runtime::{Checker, EventTypeRef, Registry, Validator, Violation};
use ingest_tests::generated::conformance::CASES;
use ingest_tests::generated::shapes::SHAPES;
use ingest_tests::generated::specs::SPECS;
use ingest_tests::workspace_root;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRng, TestRunner};
use serde_json::{Value, json};
use support::{any_json, inlined, value_for};

/// What one validator says about one input in one mode: the reader's result (an error for
/// malformed JSON, or `Stop` at the first violation of the fast path) and the violations.
type Outcome = (Result<(), Error>, Vec<Violation>);

fn outcome(
    validate: impl Fn(&mut Parser<'_>, &mut Checker) -> Result<(), Error>,
    bytes: &[u8],
    report: bool,
) -> Outcome {
    let mut p = Parser::new(bytes);
    let mut c = if report {
        Checker::report()
    } else {
        Checker::fast()
    };
    let result = validate(&mut p, &mut c).and_then(|()| p.finish());
    (result, c.into_violations())
}

/// Both modes of a generated validator and of a program on the same bytes; `Err` describes the
/// first difference.
fn compare(
    generated: impl Fn(&mut Parser<'_>, &mut Checker) -> Result<(), Error>,
    program: &ingest_eval::Program,
    bytes: &[u8],
) -> Result<Outcome, String> {
    let mut report = None;
    for mode in [false, true] {
        let expected = outcome(&generated, bytes, mode);
        let found = outcome(|p, c| program.validate_json(p, c), bytes, mode);
        if expected != found {
            return Err(format!(
                "{} mode on {:?}:\n  generated: {expected:?}\n  evaluator: {found:?}",
                if mode { "report" } else { "fast" },
                String::from_utf8_lossy(bytes)
            ));
        }
        report = Some(expected);
    }
    Ok(report.expect("two modes ran"))
}

fn program_of(schema_json: &Value) -> ingest_eval::Program {
    let schema = ingest_codegen::schema::parse(schema_json).expect("the schema parses");
    ingest_eval::Program::compile(&schema).expect("a parsed schema compiles")
}

#[test]
fn every_supported_conformance_case_gets_the_generated_verdict_and_violations() {
    assert!(
        CASES.len() > 500,
        "the suite's supported cases are here: {}",
        CASES.len()
    );
    let mut failures = Vec::new();
    let (mut invalid, mut compared) = (0usize, 0usize);
    let mut programs: Vec<(&str, ingest_eval::Program)> = Vec::new();
    for case in CASES {
        if programs
            .last()
            .is_none_or(|(schema, _)| *schema != case.schema)
        {
            let schema_json: Value = serde_json::from_str(case.schema).expect("the schema is JSON");
            programs.push((case.schema, program_of(&schema_json)));
        }
        let program = &programs.last().expect("just pushed").1;
        let data: Value = serde_json::from_str(case.data).expect("the data is JSON");
        let pretty = serde_json::to_string_pretty(&data).expect("serializes");
        let cut = &case.data.as_bytes()[..case.data.len() / 2];
        for bytes in [case.data.as_bytes(), pretty.as_bytes(), cut] {
            compared += 1;
            match compare(case.validate, program, bytes) {
                Ok((result, violations)) => {
                    if bytes == case.data.as_bytes() {
                        let valid = result.is_ok() && violations.is_empty();
                        assert_eq!(
                            valid, case.valid,
                            "{} / {}: the suite's verdict",
                            case.file, case.test
                        );
                        invalid += usize::from(!valid);
                    }
                }
                Err(difference) => failures.push(format!(
                    "{} / {} / {}: {difference}",
                    case.file, case.group, case.test
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} inputs differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        invalid > 100,
        "the suite's invalid cases compare their violations ({invalid})"
    );
    assert!(
        programs.len() > 90,
        "one program per group ({})",
        programs.len()
    );
}

#[test]
fn every_shape_of_the_generated_types_gets_the_generated_violations() {
    let (mut valid, mut invalid, mut malformed) = (0usize, 0usize, 0usize);
    for shape in SHAPES {
        let schema: Value = serde_json::from_str(shape.schema).expect("the schema is JSON");
        let program = program_of(&schema);
        let mut count = |(result, violations): &Outcome| match result {
            Err(_) => malformed += 1,
            Ok(()) if violations.is_empty() => valid += 1,
            Ok(()) => invalid += 1,
        };
        for data in shape.data {
            for bytes in [data.as_bytes(), &data.as_bytes()[..data.len() / 2]] {
                let report = compare(shape.validate, &program, bytes)
                    .unwrap_or_else(|e| panic!("{}: {e}", shape.description));
                count(&report);
            }
        }
        let mut runner = seeded(300);
        runner
            .run(&(value_for(&schema, 0), edits()), |(value, edits)| {
                let mut bytes = serde_json::to_vec(&value).unwrap();
                compare(shape.validate, &program, &bytes)
                    .map(drop)
                    .map_err(|e| TestCaseError::fail(format!("{}: {e}", shape.description)))?;
                mutate(&mut bytes, &edits);
                compare(shape.validate, &program, &bytes)
                    .map(drop)
                    .map_err(|e| TestCaseError::fail(format!("{}: {e}", shape.description)))?;
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(
        SHAPES.len() >= 19 && valid >= 10 && invalid >= 50 && malformed >= 20,
        "{} shapes; written instances: {valid} valid, {invalid} invalid, {malformed} malformed",
        SHAPES.len()
    );
}

/// Every event type of every spec: its name, schema, generated validator and program.
struct SpecType {
    name: String,
    schema: Value,
    generated: EventTypeRef<'static>,
    program: ingest_eval::Program,
}

fn plan(file: &str) -> ingest_synth::plan::Plan {
    ingest_synth::check_spec(&workspace_root().join(Path::new(file)))
        .expect("bundled specs are valid")
        .plan
}

fn spec_types() -> Vec<SpecType> {
    let mut out = Vec::new();
    for (file, registry) in SPECS {
        for event in &plan(file).events {
            out.push(SpecType {
                name: format!("{file} {}", event.type_name),
                schema: inlined(&event.schema, &event.schema_json),
                generated: registry
                    .get(&event.type_name)
                    .expect("the registry has every event type"),
                program: ingest_eval::Program::compile(&event.schema).expect("compiles"),
            });
        }
    }
    assert!(out.len() >= 7, "specs/ingest.yaml alone has 7 event types");
    out
}

/// The registry `ingest_eval` builds for a spec, from the same plan `ingest synth` generates
/// the spec's events crate from.
fn evaluated_registry(file: &str) -> Registry {
    let plan = plan(file);
    let inputs: Vec<EventInput<'_>> = plan
        .events
        .iter()
        .map(|e| EventInput {
            type_name: &e.type_name,
            description: e.description.as_deref(),
            schema: &e.schema,
            schema_json: &e.schema_json,
        })
        .collect();
    ingest_eval::registry(&inputs).expect("every spec schema compiles")
}

fn seeded(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    TestRunner::new_with_rng(config, rng)
}

/// Flips, inserts or deletes bytes.
fn mutate(bytes: &mut Vec<u8>, edits: &[(prop::sample::Index, u8, u8)]) {
    for (at, byte, op) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = at.index(bytes.len());
        match op {
            0 => bytes[i] = *byte,
            1 => bytes.insert(i, *byte),
            _ => {
                bytes.remove(i);
            }
        }
    }
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, u8)>> {
    proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4)
}

#[test]
fn random_and_mutated_events_of_every_spec_get_the_generated_violations() {
    for spec_type in spec_types() {
        let generated =
            |p: &mut Parser<'_>, c: &mut Checker| spec_type.generated.validate_json(p, c);
        let seen = RefCell::new(Vec::new());
        let mut runner = seeded(500);
        runner
            .run(
                &(value_for(&spec_type.schema, 0), edits()),
                |(value, edits)| {
                    let bytes = serde_json::to_vec(&value).unwrap();
                    let report = compare(generated, &spec_type.program, &bytes)
                        .map_err(|e| TestCaseError::fail(format!("{}: {e}", spec_type.name)))?;
                    seen.borrow_mut().push(report);
                    let mut mutated = bytes.clone();
                    mutate(&mut mutated, &edits);
                    let report = compare(generated, &spec_type.program, &mutated)
                        .map_err(|e| TestCaseError::fail(format!("{}: {e}", spec_type.name)))?;
                    seen.borrow_mut().push(report);
                    Ok(())
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let (mut valid, mut invalid, mut malformed) = (0usize, 0usize, 0usize);
        for (result, violations) in seen.into_inner() {
            match result {
                Err(_) => malformed += 1,
                Ok(()) if violations.is_empty() => valid += 1,
                Ok(()) => invalid += 1,
            }
        }
        assert!(
            valid >= 10 && invalid >= 10 && malformed >= 10,
            "{}: {valid} valid, {invalid} invalid, {malformed} malformed inputs; each kind must be compared",
            spec_type.name
        );
    }
}

/// A CloudEvent around `data`, with one of the envelope's variations.
fn envelope(type_name: &str, data: Value, variant: u8) -> Value {
    let mut event = json!({
        "specversion": "1.0",
        "id": "e-1",
        "source": "app://test",
        "type": type_name,
        "time": "2024-03-01T09:00:00Z",
        "data": data,
    });
    let map = event.as_object_mut().expect("an object");
    match variant {
        // Data before `type`: validated once the envelope is read.
        0 => {
            let type_value = map.remove("type").expect("present");
            map.insert("type".into(), type_value);
        }
        1 => {
            map.insert("type".into(), json!("no.such.type"));
        }
        2 => {
            map.remove("id");
        }
        3 => {
            map.insert("specversion".into(), json!("0.3"));
        }
        4 => {
            map.insert("tenant".into(), json!("acme"));
            map.insert("BadName".into(), json!([1]));
        }
        5 => {
            map.remove("data");
        }
        _ => {}
    }
    event
}

#[test]
fn whole_records_get_the_generated_reason_and_violations() {
    for (file, generated) in SPECS {
        let evaluated = evaluated_registry(file);
        assert!(!evaluated.is_compiled() && generated.is_compiled());
        assert_eq!(
            evaluated
                .types()
                .map(|t| (t.type_name, t.description))
                .collect::<Vec<_>>(),
            generated
                .types()
                .map(|t| (t.type_name, t.description))
                .collect::<Vec<_>>(),
            "{file}: the same event types"
        );
        let schemas: Vec<(String, Value)> = plan(file)
            .events
            .iter()
            .map(|e| (e.type_name.clone(), inlined(&e.schema, &e.schema_json)))
            .collect();
        let one_event = proptest::sample::select(schemas).prop_flat_map(|(type_name, schema)| {
            (value_for(&schema, 0), 0u8..10)
                .prop_map(move |(data, variant)| envelope(&type_name, data, variant))
        });
        let record = prop_oneof![
            4 => one_event.clone().prop_map(|e| serde_json::to_vec(&e).unwrap()),
            1 => proptest::collection::vec(one_event.clone(), 0..4)
                .prop_map(|events| serde_json::to_vec(&events).unwrap()),
            1 => any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ];
        let (with_generated, with_evaluator) =
            (Validator::new(generated), Validator::new(&evaluated));
        let reasons = RefCell::new(BTreeSet::new());
        let mut runner = seeded(1500);
        runner
            .run(
                &(record, proptest::option::weighted(0.2, edits())),
                |(mut bytes, edits)| {
                    if let Some(edits) = edits {
                        mutate(&mut bytes, &edits);
                    }
                    let expected = with_generated.validate(&bytes);
                    prop_assert_eq!(
                        &with_evaluator.validate(&bytes),
                        &expected,
                        "{}: report on {}",
                        file,
                        String::from_utf8_lossy(&bytes)
                    );
                    prop_assert_eq!(
                        with_evaluator.is_valid(&bytes),
                        with_generated.is_valid(&bytes),
                        "{}: fast path on {}",
                        file,
                        String::from_utf8_lossy(&bytes)
                    );
                    reasons.borrow_mut().extend(first_reason(&expected));
                    Ok(())
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let reasons = reasons.into_inner();
        assert_eq!(
            reasons.len(),
            5,
            "{file}: every reason kind (and valid) was compared: {reasons:?}"
        );
    }
}

/// The first reason of a record's rejection, or "valid".
fn first_reason(outcome: &ingest_runtime::RecordOutcome<'_>) -> Option<&'static str> {
    Some(match outcome {
        ingest_runtime::RecordOutcome::Rejected(r) => r.reason.as_str(),
        ingest_runtime::RecordOutcome::Events { events, .. } => {
            match events.iter().find_map(|e| e.result.as_ref().err()) {
                Some(r) => r.reason.as_str(),
                None => "valid",
            }
        }
    })
}

#[test]
fn the_benchmark_corpus_gets_the_generated_verdicts() {
    let events = ingest_tests::corpus();
    assert_eq!(events.len(), 100_000);
    let generated = &ingest_tests::generated::specs::wiw_events::REGISTRY;
    let evaluated = evaluated_registry("specs/ingest.yaml");
    let (with_generated, with_evaluator) = (Validator::new(generated), Validator::new(&evaluated));
    let mut valid = 0usize;
    for event in &events {
        let expected = with_generated.validate(event);
        assert_eq!(
            with_evaluator.validate(event),
            expected,
            "report on {}",
            String::from_utf8_lossy(event)
        );
        let fast = with_generated.is_valid(event);
        assert_eq!(
            with_evaluator.is_valid(event),
            fast,
            "fast path on {}",
            String::from_utf8_lossy(event)
        );
        valid += usize::from(fast);
    }
    assert_eq!(valid, 90_111, "the corpus's valid events (BENCHMARKS.md)");
}
