//! Validates the benchmark corpus three times with one path, for instruction counts under
//! `valgrind --tool=callgrind` (repeatable on a shared machine, where times are not):
//!
//! ```text
//! cargo build --release -p ingest-tests --example corpus_profile
//! valgrind --tool=callgrind target/release/examples/corpus_profile PATH [checkout]
//! ```
//!
//! PATH is `generated` or `eval` (the fast path of the generated registry or of the
//! evaluator's), `generated-report` or `eval-report` (the reports), `jsonschema` (bytes ->
//! `serde_json::Value` -> the `jsonschema` crate's validator of the event's `type`, as in the
//! validators bench), `floor` (`serde_json` into `IgnoredAny`), or `none` (load the corpus and
//! compile the validators, validate nothing: the baseline to subtract). With `checkout`, the
//! corpus is `benches/checkout.ndjson.gz` and the spec `specs/checkout.yaml` instead of the
//! seed corpus and spec.

use std::collections::HashMap;
use std::process::ExitCode;

use ingest_codegen::EventInput;
use ingest_runtime::Validator;
use ingest_tests::generated::specs::{checkout_plan, wiw_events};
use serde::de::IgnoredAny;
use serde_json::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    Generated,
    Eval,
    GeneratedReport,
    EvalReport,
    Jsonschema,
    Floor,
    None,
}

fn main() -> ExitCode {
    let path = std::env::args().nth(1).unwrap_or_default();
    let path = match path.as_str() {
        "generated" => Path::Generated,
        "eval" => Path::Eval,
        "generated-report" => Path::GeneratedReport,
        "eval-report" => Path::EvalReport,
        "jsonschema" => Path::Jsonschema,
        "floor" => Path::Floor,
        "none" => Path::None,
        _ => {
            eprintln!(
                "usage: corpus_profile generated|eval|generated-report|eval-report|jsonschema|floor|none [checkout]"
            );
            return ExitCode::FAILURE;
        }
    };
    let (events, spec, registry) = match std::env::args().nth(2).as_deref() {
        None => (ingest_tests::corpus(), "ingest.yaml", &wiw_events::REGISTRY),
        Some("checkout") => (
            ingest_tests::checkout_corpus(),
            "checkout.yaml",
            &checkout_plan::REGISTRY,
        ),
        Some(other) => {
            eprintln!("unknown corpus `{other}`: the second argument is `checkout` or nothing");
            return ExitCode::FAILURE;
        }
    };
    let plan = ingest_synth::check_spec(&ingest_tests::workspace_root().join("specs").join(spec))
        .expect("the spec is valid")
        .plan;
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
    let evaluated = ingest_eval::registry(&inputs).expect("the spec compiles");
    let jsonschema: HashMap<&str, jsonschema::Validator> = plan
        .events
        .iter()
        .map(|e| {
            // Self-contained: the schema files its `$ref`s read are bundled in.
            let bundled = ingest_codegen::schema::bundle(&e.schema, &e.schema_json, &e.type_name);
            let validator = jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&bundled)
                .expect("compiles");
            (e.type_name.as_str(), validator)
        })
        .collect();
    let generated = Validator::new(registry);
    let eval = Validator::new(&evaluated);
    let rounds = if path == Path::None { 0 } else { 3 };
    let mut valid = 0usize;
    for _ in 0..rounds {
        for event in &events {
            let verdict = match path {
                Path::Generated => generated.is_valid(event),
                Path::Eval => eval.is_valid(event),
                Path::GeneratedReport => generated.validate(event).is_valid(),
                Path::EvalReport => eval.validate(event).is_valid(),
                Path::Jsonschema => serde_json::from_slice::<Value>(event).is_ok_and(|value| {
                    let validator = value
                        .get("type")
                        .and_then(Value::as_str)
                        .and_then(|t| jsonschema.get(t));
                    match (validator, value.get("data")) {
                        (Some(validator), Some(data)) => validator.is_valid(data),
                        _ => false,
                    }
                }),
                Path::Floor => serde_json::from_slice::<IgnoredAny>(event).is_ok(),
                Path::None => false,
            };
            valid += usize::from(verdict);
        }
    }
    println!(
        "{valid} valid verdicts in {rounds} rounds of {} events",
        events.len()
    );
    ExitCode::SUCCESS
}
