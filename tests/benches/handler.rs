//! The validator Lambda's handler over one full Kinesis batch, as Lambda delivers it.
//!
//! The input is the first 10,000 events of the committed corpus (`benches/corpus.ndjson.gz`,
//! the same events as the `validators` bench), put on a one-shard local stream and turned into
//! the JSON payload Lambda hands the function (records base64-encoded, sequence numbers,
//! arrival times). One iteration is what the `bootstrap` does per invocation:
//!
//! - `handler_payload`: `ValidatorHandler::handle_payload`, as the `bootstrap` calls it: payload
//!   bytes -> `KinesisEvent` -> split, validate, group per type and hour, gzip NDJSON, put into
//!   an in-memory object store -> the `batchItemFailures` response as bytes;
//! - `bare_validator`: the fast path alone over the same 10,000 decoded records, for the side by
//!   side ratio (what the handler adds: decoding, metadata, grouping, gzip, quarantine reasons).
//!
//! Run: `cargo bench -p ingest-tests --bench handler`.

// `criterion_group!` defines a function that cannot carry a doc comment.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ingest_runtime::Validator;
use ingest_runtime::pipeline::lake::LakeSchema;
use ingest_runtime::pipeline::local::{LocalStore, LocalStream, SimClock};
use ingest_runtime::pipeline::{Deadline, RetryPolicy, ValidatorConfig, ValidatorHandler};
use ingest_tests::generated::specs::wiw_events::REGISTRY;

/// Records per invocation: the batch the issue asks for.
const RECORDS: usize = 10_000;

/// The Lambda payload of one batch holding `records`, as the event source mapping sends it.
fn kinesis_payload(records: &[Vec<u8>], clock: &SimClock) -> Vec<u8> {
    let stream = LocalStream::new(
        "wiw-events",
        "us-east-1",
        1,
        Duration::from_secs(86_400),
        clock.clone(),
    );
    for (index, record) in records.iter().enumerate() {
        clock.advance(Duration::from_millis(1));
        stream
            .put_record(record, &index.to_string())
            .expect("the local stream takes the record");
    }
    let all = stream.read(0, 0, usize::MAX);
    serde_json::to_vec(&stream.kinesis_event(0, &all)).expect("a Kinesis event serializes")
}

fn bench(c: &mut Criterion) {
    let records: Vec<Vec<u8>> = ingest_tests::corpus().into_iter().take(RECORDS).collect();
    assert_eq!(
        records.len(),
        RECORDS,
        "the corpus has at least {RECORDS} events"
    );
    let clock = SimClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-11-25T21:00:00Z")
            .expect("a timestamp")
            .to_utc(),
    );
    let payload = kinesis_payload(&records, &clock);
    let event_bytes: usize = records.iter().map(Vec::len).sum();

    let store = LocalStore::memory();
    let config = ValidatorConfig {
        region: "us-east-1".to_owned(),
        good_bucket: "good".to_owned(),
        quarantine_bucket: "quarantine".to_owned(),
        max_event_bytes: 262_144,
        retry: RetryPolicy::default(),
        lake: LakeSchema::default(),
    };
    let handler = ValidatorHandler {
        registry: &REGISTRY,
        config: &config,
        store: &store,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    // What the bootstrap runs per invocation: payload bytes in, response bytes out.
    let invoke = || {
        runtime
            .block_on(handler.handle_payload(&payload))
            .expect("the payload is a Kinesis event")
    };

    // What one invocation wrote, so the figures below are known to be of real work.
    let response = invoke();
    assert_eq!(
        response, br#"{"batchItemFailures":[]}"#,
        "nothing fails in memory"
    );
    let good_lines = count_lines(&store, "good");
    let quarantine_lines = count_lines(&store, "quarantine");
    let valid = records
        .iter()
        .filter(|r| Validator::new(&REGISTRY).is_valid(r))
        .count();
    eprintln!(
        "batch: {RECORDS} records, {event_bytes} bytes of events, payload {} bytes; \
         good lines {good_lines}, quarantine lines {quarantine_lines}, valid by the fast path {valid}",
        payload.len()
    );
    assert_eq!(
        good_lines + quarantine_lines,
        RECORDS,
        "every record is stored"
    );
    assert_eq!(good_lines, valid, "the good lines are the valid records");

    let mut group = c.benchmark_group("validator_handler_10k");
    group.sample_size(20);
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("handler_payload", |b| b.iter(invoke));
    let validator = Validator::new(&REGISTRY);
    group.bench_function("bare_validator", |b| {
        b.iter(|| records.iter().filter(|r| validator.is_valid(r)).count())
    });
    group.finish();

    // The same two, as bytes of events per second.
    let mut group = c.benchmark_group("validator_handler_10k_bytes");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(event_bytes as u64));
    group.bench_function("handler_payload", |b| b.iter(invoke));
    group.finish();
}

/// Lines in every object of a bucket (each object is gzip NDJSON).
fn count_lines(store: &LocalStore, bucket: &str) -> usize {
    store
        .list(bucket, "")
        .iter()
        .map(|key| {
            let body = store.read(bucket, key).expect("listed objects exist");
            let mut text = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(body.as_slice()),
                &mut text,
            )
            .expect("objects are gzip");
            text.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count()
        })
        .sum()
}

criterion_group!(benches, bench);
criterion_main!(benches);
