//! Loss path 5 as a measurement: the heap one validator invocation uses for a hostile batch
//! (records of tens of thousands of empty objects) next to a normal batch of the same size, as
//! Lambda delivers them (a Kinesis event of base64 records, parsed and handled by
//! `handle_payload`). Today's handler held every quarantine line of a record uncompressed, about
//! 57 MB per 256 KiB record; the bound is now the payload's
//! (`validator::limits::worst_case_bytes`).
//!
//! One test per file: dhat's heap profiler is the process's allocator.

mod pipeline_common;

use ingest_runtime::pipeline::lake::LakeSchema;
use ingest_runtime::pipeline::local::LocalStore;
use ingest_runtime::pipeline::validator::{ValidatorConfig, ValidatorHandler, limits};
use ingest_runtime::pipeline::{Deadline, RetryPolicy};
use pipeline_common::{REGISTRY, clock, kinesis, punch};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// A Kinesis payload of `records`, as Lambda sends it.
fn payload(records: &[Vec<u8>]) -> Vec<u8> {
    let (_stream, event) = kinesis("us-east-1", records, &clock());
    serde_json::to_vec(&event).unwrap()
}

/// The most heap in use while one invocation handles `payload`, beyond what was in use before.
/// Each measurement has its own profiler: dhat's maximum is the process's since the profiler
/// started, so one profiler for both batches would report the larger peak twice.
fn peak(payload: &[u8]) -> usize {
    let _profiler = dhat::Profiler::builder().testing().build();
    let store = LocalStore::memory();
    let clock = clock();
    let config = ValidatorConfig {
        region: "us-east-1".to_owned(),
        good_bucket: "good".to_owned(),
        quarantine_bucket: "quarantine".to_owned(),
        max_event_bytes: 262_144,
        retry: RetryPolicy::default(),
        lake: LakeSchema::new([("clock.in", "struct<punch_id:string,user_id:bigint>")]).unwrap(),
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
        .unwrap();
    let before = dhat::HeapStats::get();
    let answer = runtime.block_on(handler.handle_payload(payload)).unwrap();
    assert_eq!(answer, br#"{"batchItemFailures":[]}"#);
    let after = dhat::HeapStats::get();
    // The store keeps what was written: count it as held by the invocation (S3 would not).
    after.max_bytes.saturating_sub(before.curr_bytes)
}

#[test]
fn a_hostile_batch_costs_about_what_a_normal_batch_of_its_size_costs() {
    // 22 records of 87,000 empty objects (256 KiB each): a 7.5 MB payload.
    let hostile_record = format!("[{}]", vec!["{}"; 87_000].join(",")).into_bytes();
    let hostile = payload(&vec![hostile_record; 22]);
    // Valid events in a payload of the same size (each record costs its event in base64 and
    // its metadata, so the count comes from the size of one).
    let event = punch("app", 1, 5).into_bytes();
    let per_record =
        payload(&vec![event.clone(); 2]).len() - payload(std::slice::from_ref(&event)).len();
    let normal = payload(&vec![event; hostile.len() / per_record]);
    let normal_peak = peak(&normal);
    let hostile_peak = peak(&hostile);
    eprintln!(
        "payloads: hostile {} bytes, normal {} bytes; peak heap: hostile {hostile_peak} bytes, normal {normal_peak} bytes",
        hostile.len(),
        normal.len()
    );
    let bound = limits::worst_case_bytes(hostile.len(), 22, 2);
    assert!(
        hostile_peak <= bound,
        "{hostile_peak} > the stated bound {bound}"
    );
    assert!(
        hostile_peak <= 2 * normal_peak + (8 << 20),
        "hostile {hostile_peak} against normal {normal_peak}"
    );
}
