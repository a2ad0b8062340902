//! Loss path 5 in the bridge, as a measurement: the heap one message uses for a gzip bomb
//! (a small object that decompresses to 64 MiB: short lines, then one line of 32 MiB) next to a
//! normal spool object at least as large compressed, with the stack's default `CHUNK_BYTES`.
//! The bridge used to gunzip the whole object into memory; it now cuts chunks as the lines come
//! out of the decoder, and its bound is `bridge::limits::worst_case_bytes`.
//!
//! One test per file: dhat's heap profiler is the process's allocator.

mod pipeline_common;

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use ingest_runtime::pipeline::bridge::{BridgeConfig, BridgeHandler, DEFAULT_CHUNK_BYTES, limits};
use ingest_runtime::pipeline::local::LocalStore;
use ingest_runtime::pipeline::receiver::spool_line;
use ingest_runtime::pipeline::records::{Origin, encode_s3_key, gzip};
use ingest_runtime::pipeline::{
    Deadline, InfraError, InvokeOutput, Invoker, ObjectStore, RetryPolicy,
};
use pipeline_common::{clock, punch, start};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const KEY: &str = "spool/dt=2020-11-25/hr=13/object.gz";

/// A validator that answers every chunk as done without reading it: only the bridge's heap is
/// measured. Counts the invokes and the largest payload.
#[derive(Default)]
struct Answering {
    invokes: AtomicUsize,
    largest: AtomicUsize,
}

impl Invoker for Answering {
    async fn invoke(&self, _: &str, payload: Vec<u8>) -> Result<InvokeOutput, InfraError> {
        self.invokes.fetch_add(1, Ordering::SeqCst);
        self.largest.fetch_max(payload.len(), Ordering::SeqCst);
        Ok(InvokeOutput {
            function_error: None,
            payload: br#"{"records":1,"good":1,"quarantined":0,"unfinished":[]}"#.to_vec(),
        })
    }
}

/// The most heap in use while the bridge handles one message for `object`, beyond what was in
/// use before (the store's copy of the object included), and the invokes it made.
fn peak(object: &[u8]) -> (usize, usize) {
    // One profiler per measurement: dhat's maximum is since the profiler started.
    let _profiler = dhat::Profiler::builder().testing().build();
    let store = LocalStore::memory();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime
        .block_on(store.put_object("spool-bucket", KEY, object.to_vec()))
        .unwrap();
    let config = BridgeConfig {
        validator_function: "validator".into(),
        spool_bucket: Some("spool-bucket".into()),
        chunk_bytes: DEFAULT_CHUNK_BYTES,
        retry: RetryPolicy::default(),
        redelivery: None,
    };
    let body = serde_json::json!({"Records": [{
        "eventTime": "2020-11-25T13:01:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "spool-bucket"}, "object": {"key": encode_s3_key(KEY)}}
    }]})
    .to_string();
    let mut event = SqsEvent::default();
    let mut message = SqsMessage::default();
    message.message_id = Some("m".into());
    message.body = Some(body);
    event.records.push(message);
    let invoker = Answering::default();
    let clock = clock();
    let bridge = BridgeHandler {
        config: &config,
        store: &store,
        invoker: &invoker,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let before = dhat::HeapStats::get();
    let outcome = runtime.block_on(bridge.process_sqs(&event));
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    let after = dhat::HeapStats::get();
    (
        after.max_bytes.saturating_sub(before.curr_bytes),
        invoker.invokes.load(Ordering::SeqCst),
    )
}

#[test]
fn a_gzip_bomb_costs_a_bounded_heap_not_its_decompressed_size() {
    // 32 MiB of short lines, then one line of 32 MiB: 64 MiB from a few dozen KiB.
    let mut text = b"{\"not\":\"a spool record\"}\n".repeat(32 << 20 >> 5);
    text.resize(32 << 20, b'\n');
    text.extend(std::iter::repeat_n(b'x', 32 << 20));
    let bomb = gzip(&text);
    let decompressed = text.len();
    drop(text);
    // Spool lines of valid events until the object is at least as large, compressed.
    let mut lines = Vec::new();
    let mut n = 0;
    while gzip(&lines).len() < bomb.len() {
        for _ in 0..5000 {
            let origin = Origin {
                region: "us-west-2".into(),
                shard: "shardId-000000000001".into(),
                sequence: format!("{n:020}"),
                arrival: start(),
            };
            lines.extend(spool_line(&origin, punch("app", n, 5).as_bytes()).0);
            n += 1;
        }
    }
    let normal = gzip(&lines);
    let (bomb_peak, bomb_invokes) = peak(&bomb);
    let (normal_peak, _) = peak(&normal);
    let line_bytes =
        limits::chunk_line_bytes(DEFAULT_CHUNK_BYTES, "spool-bucket".len() + KEY.len());
    let bound = limits::worst_case_bytes(bomb.len(), line_bytes);
    eprintln!(
        "objects: bomb {} bytes ({decompressed} decompressed, {bomb_invokes} invokes), normal {} bytes ({} decompressed); peak heap: bomb {bomb_peak} bytes, normal {normal_peak} bytes; stated bound {bound} bytes",
        bomb.len(),
        normal.len(),
        lines.len()
    );
    assert!(
        bomb_invokes >= 8,
        "the short lines went in chunks, the long line as one"
    );
    assert!(bomb_peak <= bound, "{bomb_peak} > the stated bound {bound}");
    assert!(
        bomb_peak < decompressed / 2,
        "{bomb_peak} bytes held for an object of {decompressed} decompressed"
    );
    assert!(normal_peak <= limits::worst_case_bytes(normal.len(), line_bytes));
}
