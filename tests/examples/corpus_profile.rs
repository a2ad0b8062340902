//! Validates the benchmark corpus three times with one path, for instruction counts under
//! `valgrind --tool=callgrind` (repeatable on a shared machine, where times are not):
//!
//! ```text
//! cargo build --release -p ingest-tests --example corpus_profile
//! valgrind --tool=callgrind target/release/examples/corpus_profile PATH
//! ```
//!
//! PATH is `generated` or `eval` (the fast path of the generated registry or of the
//! evaluator's), `generated-report` or `eval-report` (the reports), or `none` (load the corpus
//! and compile the registries, validate nothing: the baseline to subtract).

use std::process::ExitCode;

use ingest_codegen::EventInput;
use ingest_runtime::Validator;
use ingest_tests::generated::specs::wiw_events::REGISTRY;

fn main() -> ExitCode {
    let path = std::env::args().nth(1).unwrap_or_default();
    let (evaluator, report, rounds) = match path.as_str() {
        "generated" => (false, false, 3),
        "eval" => (true, false, 3),
        "generated-report" => (false, true, 3),
        "eval-report" => (true, true, 3),
        "none" => (false, false, 0),
        _ => {
            eprintln!("usage: corpus_profile generated|eval|generated-report|eval-report|none");
            return ExitCode::FAILURE;
        }
    };
    let events = ingest_tests::corpus();
    let plan = ingest_synth::check_spec(&ingest_tests::workspace_root().join("specs/ingest.yaml"))
        .expect("the seed spec is valid")
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
    let evaluated = ingest_eval::registry(&inputs).expect("the seed spec compiles");
    let validator = Validator::new(if evaluator { &evaluated } else { &REGISTRY });
    let mut valid = 0usize;
    for _ in 0..rounds {
        for event in &events {
            let verdict = if report {
                validator.validate(event).is_valid()
            } else {
                validator.is_valid(event)
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
