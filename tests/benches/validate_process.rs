//! `ingest validate` as a whole process next to a plain program over the `jsonschema` crate doing
//! the same job, on 200,000 events (the committed corpus twice, about 88 MB of NDJSON).
//!
//! Both sides are whole processes timed from spawn to exit: read the spec, compile its
//! validators, stream the file, write one JSON verdict line per record into a file.
//!
//! - `ingest validate --spec specs/ingest.yaml events.ndjson` (JSON lines: stdout is a file), the
//!   release binary `target/release/ingest` (or `$INGEST_BIN`), with every core (its default) and
//!   with `--jobs 1`;
//! - the plain program: this bench binary started again with [`PLAIN`] as its first argument. It
//!   reads the spec with `ingest_synth::check_spec`, compiles each event type's schema with the
//!   `jsonschema` crate (draft 2020-12, formats asserted), then for each line: bytes ->
//!   `serde_json::Value` -> the validator of its `type` -> `is_valid(data)`, and for an invalid
//!   record the violations (pointer and message); a `BufWriter` over stdout. One thread, the way
//!   such a program is written.
//!
//! Before timing, one run of each must give 200,000 verdict lines with the same number of valid
//! records. Then the runs alternate (plain, ingest, ingest --jobs 1) [`ROUNDS`] times; the bench
//! prints each side's median wall time and the ratio of the medians.
//!
//! ```text
//! cargo build --release -p ingest-synth --bin ingest
//! cargo bench -p ingest-tests --bench validate_process
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The first argument that makes this binary the plain jsonschema program.
const PLAIN: &str = "--plain-jsonschema";

/// Timed runs of each side.
const ROUNDS: usize = 7;

/// Copies of the corpus (100,000 events each) in the input.
const COPIES: usize = 2;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(PLAIN) {
        plain(Path::new(&args[1]), Path::new(&args[2]));
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: a test run only checks
    // that the bench starts.
    if !args.iter().any(|arg| arg == "--bench") {
        return;
    }
    bench();
}

/// The plain program: one verdict line per record of `events`, judged by the `jsonschema` crate.
fn plain(spec: &Path, events: &Path) {
    let plan = ingest_synth::check_spec(spec)
        .expect("the spec is valid")
        .plan;
    let validators: HashMap<String, jsonschema::Validator> = plan
        .events
        .iter()
        .map(|event| {
            let validator = jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&event.schema_json)
                .expect("the schema compiles");
            (event.type_name.clone(), validator)
        })
        .collect();
    let input = BufReader::with_capacity(1 << 20, std::fs::File::open(events).expect("opens"));
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    for (index, line) in input.split(b'\n').enumerate() {
        let line = line.expect("reads");
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = index + 1;
        let verdict = match serde_json::from_slice::<Value>(&line) {
            Err(error) => {
                json!({"line": number, "valid": false, "reason": "bad_json", "message": error.to_string()})
            }
            Ok(value) => match value
                .get("type")
                .and_then(Value::as_str)
                .and_then(|name| validators.get(name))
            {
                None => json!({"line": number, "valid": false, "reason": "unknown_type"}),
                Some(validator) => {
                    let data = value.get("data").unwrap_or(&Value::Null);
                    if validator.is_valid(data) {
                        json!({"line": number, "valid": true})
                    } else {
                        let violations: Vec<Value> = validator
                            .iter_errors(data)
                            .map(|error| {
                                json!({
                                    "pointer": format!("/data{}", error.instance_path()),
                                    "message": error.to_string(),
                                })
                            })
                            .collect();
                        json!({"line": number, "valid": false, "reason": "schema_violation", "violations": violations})
                    }
                }
            },
        };
        serde_json::to_writer(&mut out, &verdict).expect("writes");
        out.write_all(b"\n").expect("writes");
    }
    out.flush().expect("writes");
}

/// One side of the comparison.
struct Side {
    name: &'static str,
    command: Vec<std::ffi::OsString>,
    times: Vec<Duration>,
}

fn bench() {
    let root = ingest_tests::workspace_root();
    let spec = root.join("specs/ingest.yaml");
    let ingest = ingest_binary();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let events = dir.path().join("events.ndjson");
    let corpus = ingest_tests::corpus();
    {
        let mut file = BufWriter::new(std::fs::File::create(&events).expect("creates"));
        for _ in 0..COPIES {
            for event in &corpus {
                file.write_all(event).expect("writes");
                file.write_all(b"\n").expect("writes");
            }
        }
        file.flush().expect("writes");
    }
    let records = corpus.len() * COPIES;
    let bytes = std::fs::metadata(&events).expect("exists").len();
    let verdicts = dir.path().join("verdicts.ndjson");

    let this = std::env::current_exe().expect("the bench binary");
    let mut sides = [
        Side {
            name: "plain program over the jsonschema crate (one thread)",
            command: vec![
                this.into(),
                PLAIN.into(),
                spec.clone().into(),
                events.clone().into(),
            ],
            times: Vec::new(),
        },
        Side {
            name: "ingest validate (every core)",
            command: vec![
                ingest.clone().into(),
                "validate".into(),
                "--spec".into(),
                spec.clone().into(),
                events.clone().into(),
            ],
            times: Vec::new(),
        },
        Side {
            name: "ingest validate --jobs 1",
            command: vec![
                ingest.into(),
                "validate".into(),
                "--jobs".into(),
                "1".into(),
                "--spec".into(),
                spec.into(),
                events.into(),
            ],
            times: Vec::new(),
        },
    ];

    // The sides must do the same work: a verdict line per record, the same valid count.
    let mut valid_counts = Vec::new();
    for side in &sides {
        run(side, &verdicts);
        let (lines, valid) = count_verdicts(&verdicts);
        assert_eq!(lines, records, "{}: one verdict line per record", side.name);
        valid_counts.push(valid);
    }
    assert!(
        valid_counts.iter().all(|count| *count == valid_counts[0]),
        "the sides disagree on the number of valid records: {valid_counts:?}"
    );
    println!(
        "{records} events, {bytes} bytes ({:.1} MB), {} valid; {} cores available; {ROUNDS} rounds",
        bytes as f64 / 1e6,
        valid_counts[0],
        std::thread::available_parallelism().map_or(1, usize::from)
    );

    for _ in 0..ROUNDS {
        for side in &mut sides {
            let time = run(side, &verdicts);
            side.times.push(time);
        }
    }
    let plain_median = median(&sides[0].times);
    println!("| side | median | min | max | events/s | speed vs plain jsonschema |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for side in &sides {
        let median = median(&side.times);
        let min = side.times.iter().min().expect("rounds ran");
        let max = side.times.iter().max().expect("rounds ran");
        println!(
            "| {} | {:.3} s | {:.3} s | {:.3} s | {:.2} M | {:.2}x |",
            side.name,
            median.as_secs_f64(),
            min.as_secs_f64(),
            max.as_secs_f64(),
            records as f64 / median.as_secs_f64() / 1e6,
            plain_median.as_secs_f64() / median.as_secs_f64()
        );
    }
}

/// The release `ingest`: `$INGEST_BIN`, else `ingest` in the profile folder above this bench
/// binary (`target/release/deps/..`).
fn ingest_binary() -> PathBuf {
    let path = std::env::var_os("INGEST_BIN").map_or_else(
        || {
            let exe = std::env::current_exe().expect("the bench binary");
            exe.parent()
                .and_then(Path::parent)
                .expect("the bench binary sits in target/<profile>/deps")
                .join(format!("ingest{}", std::env::consts::EXE_SUFFIX))
        },
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "{} does not exist: build it first with `cargo build --release -p ingest-synth --bin ingest` \
         (or set INGEST_BIN to an ingest binary)",
        path.display()
    );
    path
}

/// Runs one side with stdout into `verdicts`; its wall time from spawn to exit.
fn run(side: &Side, verdicts: &Path) -> Duration {
    let out = std::fs::File::create(verdicts).expect("creates");
    let start = Instant::now();
    let status = Command::new(&side.command[0])
        .args(&side.command[1..])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::inherit())
        .status()
        .expect("starts");
    let time = start.elapsed();
    // ingest exits 1 when some record is invalid (the corpus has invalid records).
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "{} failed: {status}",
        side.name
    );
    time
}

/// Verdict lines and valid verdicts in a file of JSON verdicts.
fn count_verdicts(verdicts: &Path) -> (usize, usize) {
    let file = BufReader::new(std::fs::File::open(verdicts).expect("opens"));
    let mut lines = 0;
    let mut valid = 0;
    for line in file.lines() {
        let verdict: Value = serde_json::from_str(&line.expect("reads")).expect("a JSON verdict");
        lines += 1;
        if verdict["valid"] == Value::Bool(true) {
            valid += 1;
        }
    }
    (lines, valid)
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}
