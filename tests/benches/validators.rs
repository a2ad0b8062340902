//! Validator throughput over the committed corpus (`benches/corpus.ndjson.gz`, 100,000
//! CloudEvents of `specs/ingest.yaml`, ~440 bytes each, ~90% valid; rebuild it with
//! `cargo run -p ingest-tests --example make_corpus`).
//!
//! One run measures, per event, from bytes to a verdict:
//! - `floor`: `serde_json` parsing into `IgnoredAny` (no validation at all);
//! - `jsonschema`: bytes -> `serde_json::Value` -> the `jsonschema` crate's compiled validator
//!   for the event's `type` (format assertion on) -> `is_valid`;
//! - `generated`: our generated validator's fast path (envelope + data), bytes -> verdict;
//! - `generated_report`: the same code collecting every violation, for reference;
//! - `eval_fast_path` and `eval_report`: the same two paths through the evaluator
//!   (`ingest-eval`), which compiles the spec's schemas at run time instead of generating code.
//!
//! A second group times how long the evaluator takes to compile the spec's registry (what
//! `ingest validate` pays before its first record when it runs without a build).
//!
//! A third group times the fast path and the floor on the valid and the invalid events of
//! the corpus separately (by our verdict, which the run first checks equals jsonschema's), so
//! the cost of each kind can be stated side by side from one run.
//!
//! Run: `cargo bench -p ingest-tests --bench validators`.

// `criterion_group!` defines a function that cannot carry a doc comment.
#![allow(missing_docs)]

use std::collections::HashMap;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ingest_codegen::EventInput;
use ingest_runtime::{Registry, Validator};
use ingest_tests::generated::specs::wiw_events::REGISTRY;
use serde::de::IgnoredAny;
use serde_json::Value;

fn plan() -> ingest_synth::plan::Plan {
    let root = ingest_tests::workspace_root();
    ingest_synth::check_spec(&root.join("specs/ingest.yaml"))
        .expect("the seed spec is valid")
        .plan
}

/// The evaluator's registry for the seed spec, compiled from the plan's schemas.
fn evaluated_registry(plan: &ingest_synth::plan::Plan) -> Registry {
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
    ingest_eval::registry(&inputs).expect("the seed spec's schemas compile")
}

fn jsonschema_validators(
    plan: &ingest_synth::plan::Plan,
) -> HashMap<String, jsonschema::Validator> {
    plan.events
        .iter()
        .map(|e| {
            let validator = jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&e.schema_json)
                .expect("compiles");
            (e.type_name.clone(), validator)
        })
        .collect()
}

fn jsonschema_verdict(validators: &HashMap<String, jsonschema::Validator>, bytes: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    let Some(validator) = value
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| validators.get(t))
    else {
        return false;
    };
    value
        .get("data")
        .is_some_and(|data| validator.is_valid(data))
}

fn bench(c: &mut Criterion) {
    let events = ingest_tests::corpus();
    let plan = plan();
    let validators = jsonschema_validators(&plan);
    let evaluated = evaluated_registry(&plan);
    let ours = Validator::new(&REGISTRY);
    let eval = Validator::new(&evaluated);
    let total_bytes: usize = events.iter().map(Vec::len).sum();
    let valid = events.iter().filter(|e| ours.is_valid(e)).count();
    let agree = events
        .iter()
        .filter(|e| ours.is_valid(e) == jsonschema_verdict(&validators, e))
        .count();
    eprintln!(
        "corpus: {} events, {} bytes on average, {valid} valid ({:.1}%), verdicts equal to jsonschema's on {agree}",
        events.len(),
        total_bytes / events.len(),
        100.0 * valid as f64 / events.len() as f64
    );
    assert_eq!(
        agree,
        events.len(),
        "the generated validator must agree with jsonschema on the corpus"
    );
    assert!(
        events.iter().all(|e| eval.is_valid(e) == ours.is_valid(e)),
        "the evaluator must agree with the generated validator on the corpus"
    );

    let mut group = c.benchmark_group("validate_corpus");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(20);
    group.bench_function("floor_serde_ignored_any", |b| {
        b.iter(|| {
            events
                .iter()
                .filter(|e| serde_json::from_slice::<IgnoredAny>(e).is_ok())
                .count()
        })
    });
    group.bench_function("jsonschema_value_is_valid", |b| {
        b.iter(|| {
            events
                .iter()
                .filter(|e| jsonschema_verdict(&validators, e))
                .count()
        })
    });
    group.bench_function("generated_fast_path", |b| {
        b.iter(|| events.iter().filter(|e| ours.is_valid(e)).count())
    });
    group.bench_function("generated_report", |b| {
        b.iter(|| {
            events
                .iter()
                .filter(|e| ours.validate(e).is_valid())
                .count()
        })
    });
    group.bench_function("eval_fast_path", |b| {
        b.iter(|| events.iter().filter(|e| eval.is_valid(e)).count())
    });
    group.bench_function("eval_report", |b| {
        b.iter(|| {
            events
                .iter()
                .filter(|e| eval.validate(e).is_valid())
                .count()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("eval_compile");
    group.sample_size(20);
    group.bench_function("registry_of_the_seed_spec", |b| {
        b.iter(|| evaluated_registry(&plan).len())
    });
    group.finish();

    let (valid_events, invalid_events): (Vec<&Vec<u8>>, Vec<&Vec<u8>>) =
        events.iter().partition(|e| ours.is_valid(e));
    for (name, subset) in [("valid", &valid_events), ("invalid", &invalid_events)] {
        let mut group = c.benchmark_group(format!("validate_{name}_events"));
        group.throughput(Throughput::Elements(subset.len() as u64));
        group.sample_size(20);
        group.bench_function("floor_serde_ignored_any", |b| {
            b.iter(|| {
                subset
                    .iter()
                    .filter(|e| serde_json::from_slice::<IgnoredAny>(e).is_ok())
                    .count()
            })
        });
        group.bench_function("generated_fast_path", |b| {
            b.iter(|| subset.iter().filter(|e| ours.is_valid(e)).count())
        });
        group.bench_function("eval_fast_path", |b| {
            b.iter(|| subset.iter().filter(|e| eval.is_valid(e)).count())
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
