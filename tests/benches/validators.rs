//! Validator throughput over the committed corpora: `benches/corpus.ndjson.gz` (100,000
//! CloudEvents of the seed spec `specs/ingest.yaml`, ~440 bytes each, ~90% valid) and
//! `benches/checkout.ndjson.gz` (30,000 CloudEvents of `specs/checkout.yaml`, ~590 bytes each,
//! ~90% valid, every event type and every branch of its unions; its schemas use `$ref` into
//! schema files, `oneOf`/`anyOf`, `if`/`then`/`else`, `unevaluatedProperties`...). Rebuild them
//! with `cargo run -p ingest-tests --example make_corpus [-- checkout]`.
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
//! A fourth group, `validate_checkout_corpus`, measures the sides of the first on the checkout
//! corpus, after the same checks (verdicts equal to jsonschema's and to the evaluator's).
//!
//! Run: `cargo bench -p ingest-tests --bench validators`.

// `criterion_group!` defines a function that cannot carry a doc comment.
#![allow(missing_docs)]

use std::collections::HashMap;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ingest_codegen::EventInput;
use ingest_runtime::{Registry, Validator};
use ingest_tests::generated::specs::{checkout_plan, wiw_events};
use serde::de::IgnoredAny;
use serde_json::Value;

/// The plan of a spec of `specs/`.
fn plan(file: &str) -> ingest_synth::plan::Plan {
    let root = ingest_tests::workspace_root();
    ingest_synth::check_spec(&root.join("specs").join(file))
        .unwrap_or_else(|_| panic!("specs/{file} is valid"))
        .plan
}

/// The evaluator's registry for a spec, compiled from the plan's schemas.
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
    ingest_eval::registry(&inputs).expect("the spec's schemas compile")
}

fn jsonschema_validators(
    plan: &ingest_synth::plan::Plan,
) -> HashMap<String, jsonschema::Validator> {
    plan.events
        .iter()
        .map(|e| {
            // Self-contained: the schema files its `$ref`s read are bundled in.
            let bundled = ingest_codegen::schema::bundle(&e.schema, &e.schema_json, &e.type_name);
            let validator = jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&bundled)
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

/// The validators of one spec over its corpus, every verdict checked before any timing.
struct Sides<'a> {
    events: Vec<Vec<u8>>,
    plan: ingest_synth::plan::Plan,
    jsonschema: HashMap<String, jsonschema::Validator>,
    evaluated: Registry,
    ours: Validator<'a>,
}

impl<'a> Sides<'a> {
    /// Loads a corpus and its spec's validators, and checks that the generated validator's
    /// verdict equals the `jsonschema` crate's and the evaluator's on every event.
    fn new(name: &str, events: Vec<Vec<u8>>, spec: &str, registry: &'a Registry) -> Self {
        let plan = plan(spec);
        let jsonschema = jsonschema_validators(&plan);
        let evaluated = evaluated_registry(&plan);
        let ours = Validator::new(registry);
        let total_bytes: usize = events.iter().map(Vec::len).sum();
        let valid = events.iter().filter(|e| ours.is_valid(e)).count();
        let agree = events
            .iter()
            .filter(|e| ours.is_valid(e) == jsonschema_verdict(&jsonschema, e))
            .count();
        eprintln!(
            "{name}: {} events, {} bytes on average, {valid} valid ({:.1}%), verdicts equal to jsonschema's on {agree}",
            events.len(),
            total_bytes / events.len(),
            100.0 * valid as f64 / events.len() as f64
        );
        assert_eq!(
            agree,
            events.len(),
            "{name}: the generated validator must agree with jsonschema on the corpus"
        );
        let eval = Validator::new(&evaluated);
        assert!(
            events.iter().all(|e| eval.is_valid(e) == ours.is_valid(e)),
            "{name}: the evaluator must agree with the generated validator on the corpus"
        );
        Sides {
            events,
            plan,
            jsonschema,
            evaluated,
            ours,
        }
    }

    /// The floor, the `jsonschema` crate, and the fast path and report of the generated
    /// validator and of the evaluator, over the whole corpus, in one group.
    fn bench_corpus(&self, c: &mut Criterion, group_name: &str) {
        let (events, validators, ours) = (&self.events, &self.jsonschema, &self.ours);
        let eval = Validator::new(&self.evaluated);
        let mut group = c.benchmark_group(group_name);
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
                    .filter(|e| jsonschema_verdict(validators, e))
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
    }
}

fn bench(c: &mut Criterion) {
    let seed = Sides::new(
        "corpus",
        ingest_tests::corpus(),
        "ingest.yaml",
        &wiw_events::REGISTRY,
    );
    // Both corpora are checked before anything is timed.
    let checkout = Sides::new(
        "checkout corpus",
        ingest_tests::checkout_corpus(),
        "checkout.yaml",
        &checkout_plan::REGISTRY,
    );
    seed.bench_corpus(c, "validate_corpus");
    let (events, plan, ours) = (&seed.events, &seed.plan, &seed.ours);
    let eval = Validator::new(&seed.evaluated);

    let mut group = c.benchmark_group("eval_compile");
    group.sample_size(20);
    group.bench_function("registry_of_the_seed_spec", |b| {
        b.iter(|| evaluated_registry(plan).len())
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

    checkout.bench_corpus(c, "validate_checkout_corpus");
}

criterion_group!(benches, bench);
criterion_main!(benches);
