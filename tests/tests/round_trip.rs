//! Typed round trips: for every event type of every spec in `specs/`, every valid generated
//! event (valid by the generated validator, which the differential tests hold to the
//! `jsonschema` crate's verdict) deserializes into the generated Rust type and serializes back
//! to equal JSON (equal as JSON Schema compares: `7` and `7.0` are one number).
//!
//! One normalization first, and it is the only one: a number with an integral fraction (`1.0`)
//! is written as an integer (`1`), which JSON Schema holds equal. JSON Schema calls `1.0` an
//! integer, but serde reads only integer literals into Rust's `i64`, so the generated types
//! take integers as a Rust producer writes them.

mod support;

use std::path::Path;

use ingest_tests::generated::specs::SPECS;
use ingest_tests::workspace_root;
use proptest::test_runner::{Config, TestRng, TestRunner};
use serde_json::{Number, Value};
use support::{inlined, valid_value_for};

/// An event type's name and its round trip: JSON -> generated type -> JSON.
type RoundTrip = (&'static str, fn(&Value) -> Result<Value, String>);

/// The round trips of each spec's module, by spec file.
fn round_trips(file: &str) -> &'static [RoundTrip] {
    use ingest_tests::generated::specs as s;
    match file {
        "specs/checkout.yaml" => s::checkout_plan::ROUND_TRIPS,
        "specs/eu-orders.yaml" => s::shop_orders::ROUND_TRIPS,
        "specs/ingest.yaml" => s::wiw_events::ROUND_TRIPS,
        "specs/minimal.yaml" => s::minimal::ROUND_TRIPS,
        other => panic!("{other} has no round trips here: add its module"),
    }
}

/// Integral floats as integers (JSON Schema's equality holds them equal).
fn integers(value: &Value) -> Value {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::Number(Number::from(f as i64)),
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(integers).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), integers(v))).collect())
        }
        other => other.clone(),
    }
}

#[test]
fn every_valid_generated_event_round_trips_through_its_type() {
    for (file, registry) in SPECS {
        let plan = ingest_synth::check_spec(&workspace_root().join(Path::new(file)))
            .expect("bundled specs are valid")
            .plan;
        let trips = round_trips(file);
        assert_eq!(trips.len(), plan.events.len(), "{file}: every event type");
        for event in &plan.events {
            let (_, trip) = trips
                .iter()
                .find(|(name, _)| *name == event.type_name)
                .expect("a round trip per event type");
            let validator = registry.get(&event.type_name).expect("in the registry");
            let schema = inlined(&event.schema, &event.schema_json);
            let config = Config {
                cases: 400,
                failure_persistence: None,
                ..Config::default()
            };
            let mut runner = TestRunner::new_with_rng(
                config.clone(),
                TestRng::deterministic_rng(config.rng_algorithm),
            );
            let valid = std::cell::Cell::new(0usize);
            runner
                .run(&valid_value_for(&schema), |value| {
                    let value = integers(&value);
                    let bytes = serde_json::to_vec(&value).unwrap();
                    let mut p = ingest_runtime::json::Parser::new(&bytes);
                    let mut c = ingest_runtime::Checker::fast();
                    if validator
                        .validate_json(&mut p, &mut c)
                        .and_then(|()| p.finish())
                        .is_err()
                    {
                        return Ok(());
                    }
                    valid.set(valid.get() + 1);
                    let back = trip(&value).map_err(|e| {
                        proptest::test_runner::TestCaseError::fail(format!(
                            "{} {}: {value} does not deserialize: {e}",
                            file, event.type_name
                        ))
                    })?;
                    proptest::prop_assert!(
                        ingest_codegen::schema::json_equal(&value, &back),
                        "{} {}: {} came back as {}",
                        file,
                        event.type_name,
                        value,
                        back
                    );
                    Ok(())
                })
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                valid.get() >= 40,
                "{file} {}: only {} of 400 generated events were valid",
                event.type_name,
                valid.get()
            );
        }
    }
}
