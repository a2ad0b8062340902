//! Property: for any mix of records and injected faults, every record ends in good or
//! quarantine at least once, nothing is lost, and each good line per `(source, id)` is the
//! event as received.
//!
//! Records go through both paths (the primary's stream and validator; the secondary's stream,
//! receiver, spool, queue and bridge) while every service fails at random; then the faults
//! stop, as outages do, and the pipeline runs until it is quiet. The mappings' retry budgets
//! are larger than the faulty phase (an outage longer than the budget is a different story,
//! told by the drill test).

mod pipeline_common;

use std::collections::HashMap;
use std::time::Duration;

use ingest_runtime::pipeline::bridge::{BridgeConfig, BridgeHandler};
use ingest_runtime::pipeline::local::{
    Clock, Faults, KinesisMapping, LocalInvoker, LocalQueue, LocalSpool, LocalStore, LocalStream,
    SqsMapping,
};
use ingest_runtime::pipeline::receiver::{ReceiverConfig, ReceiverHandler};
use ingest_runtime::pipeline::records::{
    QuarantineLine, event_fields, gunzip_if_gzip, parse_kinesis_event, split_good_line,
};
use ingest_runtime::pipeline::validator::{ValidatorConfig, ValidatorHandler};
use ingest_runtime::pipeline::{Deadline, RetryPolicy};
use pipeline_common::{REGISTRY, clock, note, punch};
use proptest::prelude::*;

/// A record's bytes and the `(source, id)` of its events.
type Sent = (Vec<u8>, Vec<(String, String)>);

#[derive(Debug, Clone)]
enum Body {
    Punch(i64),
    Note(String),
    Batch(Vec<(bool, i64)>),
    Garbage(Vec<u8>),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => (-2i64..5).prop_map(Body::Punch),
        2 => "[a-z \\n]{0,30}".prop_map(Body::Note),
        1 => proptest::collection::vec((any::<bool>(), -1i64..3), 1..4).prop_map(Body::Batch),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Body::Garbage),
    ]
}

fn render(body: &Body, id: usize) -> (Vec<u8>, Vec<(String, String)>) {
    let source = format!("app/{}", id % 5);
    match body {
        Body::Punch(user) => (
            punch(&source, id, *user).into_bytes(),
            vec![(source, id.to_string())],
        ),
        Body::Note(text) => (
            note(&source, id, &text.replace('\n', "\\n")).into_bytes(),
            vec![(source, id.to_string())],
        ),
        Body::Batch(items) => {
            let mut keys = Vec::new();
            let parts: Vec<String> = items
                .iter()
                .enumerate()
                .map(|(i, (is_note, user))| {
                    let id = id * 10 + i + 1_000_000;
                    keys.push((source.clone(), id.to_string()));
                    if *is_note {
                        note(&source, id, "n")
                    } else {
                        punch(&source, id, *user)
                    }
                })
                .collect();
            (format!("[{}]", parts.join(", ")).into_bytes(), keys)
        }
        Body::Garbage(bytes) => (bytes.clone(), vec![]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn every_record_lands_and_good_lines_are_the_events_as_sent(
        bodies in proptest::collection::vec((body(), any::<bool>()), 1..40),
        store_faults in 0u32..700,
        spool_faults in 0u32..700,
        invoke_faults in 0u32..700,
        seed in any::<u64>(),
    ) {
        let clock = clock();
        let store = LocalStore::memory();
        let primary = LocalStream::new("p", "us-east-1", 3, Duration::from_secs(86_400), clock.clone());
        let secondary = LocalStream::new("s", "us-west-2", 2, Duration::from_secs(86_400), clock.clone());
        let queue = LocalQueue::new("q", "us-west-2", Duration::from_secs(30), 10_000, Duration::from_secs(14 * 86_400), clock.clone());
        let spool = LocalSpool::new("spool", "us-west-2", "spool-bucket", Duration::from_secs(5), 64 * 1024, &store, &queue, clock.clone());
        let retry = RetryPolicy { attempts: 2, first_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1), attempt_timeout: Duration::from_secs(10) };
        let vconfig = ValidatorConfig { region: "us-east-1".into(), good_bucket: "good".into(), quarantine_bucket: "quarantine".into(), max_event_bytes: 4096, retry, lake: Default::default() };
        let validator = ValidatorHandler { registry: &REGISTRY, config: &vconfig, store: &store, sleeper: &clock, deadline: Deadline::NONE };
        let invoke_down = Faults::new();
        let invoker = LocalInvoker::new("validator", validator, &invoke_down);
        let rconfig = ReceiverConfig { region: "us-west-2".into(), delivery_stream: "spool".into(), retry };
        let receiver = ReceiverHandler { config: &rconfig, stream: &spool, sleeper: &clock, deadline: Deadline::NONE };
        let bconfig = BridgeConfig { validator_function: "validator".into(), spool_bucket: Some("spool-bucket".into()), chunk_bytes: 16 * 1024, retry, redelivery: None };
        let bridge = BridgeHandler { config: &bconfig, store: &store, invoker: &invoker, sleeper: &clock, deadline: Deadline::NONE };

        let mut sent: Vec<Sent> = Vec::new();
        for (id, (body, to_primary)) in bodies.iter().enumerate() {
            let (bytes, keys) = render(body, id);
            let stream = if *to_primary { &primary } else { &secondary };
            stream.put_record(&bytes, &format!("pk{id}")).unwrap();
            sent.push((bytes, keys));
        }
        store.faults("good").set_random(seed, store_faults);
        store.faults("quarantine").set_random(seed ^ 1, store_faults);
        store.faults("spool-bucket").set_random(seed ^ 2, store_faults);
        spool.faults.set_random(seed ^ 3, spool_faults);
        invoke_down.set_random(seed ^ 4, invoke_faults);

        let mut primary_mapping = KinesisMapping::new(3, 7, None, Duration::from_secs(7 * 86_400));
        let mut secondary_mapping = KinesisMapping::new(2, 7, None, Duration::from_secs(7 * 86_400));
        let mut sqs = SqsMapping::new(3, 2);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            for round in 0..400 {
                if round == 40 {
                    for bucket in ["good", "quarantine", "spool-bucket"] {
                        store.faults(bucket).set_random(0, 0);
                    }
                    spool.faults.set_random(0, 0);
                    invoke_down.set_random(0, 0);
                }
                let now = Clock::from(clock.clone());
                primary_mapping.poll(&primary, &now, |payload| async move { validator.handle_payload(&payload).await }).await;
                secondary_mapping.poll(&secondary, &now, |payload| async move {
                    let event = parse_kinesis_event(&payload).unwrap();
                    Ok(serde_json::to_vec(&receiver.handle_kinesis(&event).await).unwrap())
                }).await;
                spool.flush(false).await;
                sqs.poll(&queue, &now, |payload| async move {
                    let event = serde_json::from_slice(&payload).unwrap();
                    Ok(serde_json::to_vec(&bridge.handle_sqs(&event).await).unwrap())
                }).await;
                clock.advance(Duration::from_secs(10));
                if round > 40 && primary_mapping.lag(&primary) == 0 && secondary_mapping.lag(&secondary) == 0 && spool.buffered() == 0 && queue.is_empty() {
                    break;
                }
            }
        });
        prop_assert_eq!(primary_mapping.stats.parked, 0);
        prop_assert!(queue.dead_letters().is_empty());
        prop_assert!(queue.is_empty(), "the queue drained");

        // Read back.
        let mut good: HashMap<(String, String), Vec<Vec<u8>>> = HashMap::new();
        for key in store.list("good", "") {
            let text = gunzip_if_gzip(&store.read("good", &key).unwrap()).unwrap();
            for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let (event, _) = split_good_line(line).unwrap();
                let fields = event_fields(&event);
                good.entry((fields.source.unwrap(), fields.id.unwrap())).or_default().push(event);
            }
        }
        let mut quarantined: Vec<Vec<u8>> = Vec::new();
        for key in store.list("quarantine", "") {
            let text = gunzip_if_gzip(&store.read("quarantine", &key).unwrap()).unwrap();
            for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let line: QuarantineLine = serde_json::from_slice(line).unwrap();
                quarantined.push(line.original_bytes().unwrap());
            }
        }
        for (bytes, keys) in &sent {
            let whole_record_quarantined = quarantined.iter().any(|q| q == bytes);
            let events: Vec<&[u8]> = if bytes.first() == Some(&b'[') && !keys.is_empty() {
                let text = std::str::from_utf8(bytes).unwrap();
                let inner = &text[1..text.len() - 1];
                inner.split(", ").map(str::as_bytes).collect()
            } else {
                vec![bytes.as_slice()]
            };
            if keys.is_empty() {
                prop_assert!(whole_record_quarantined, "garbage {:?} is in quarantine", bytes);
                continue;
            }
            for (event, key) in events.iter().zip(keys) {
                let normalized: Vec<u8> = event.iter().map(|b| if *b == b'\n' { b' ' } else { *b }).collect();
                match good.get(key) {
                    Some(copies) => {
                        for copy in copies {
                            prop_assert_eq!(copy, &normalized, "good holds the event as received");
                        }
                    }
                    None => prop_assert!(
                        whole_record_quarantined || quarantined.iter().any(|q| q == event),
                        "event {:?} is in good or quarantine", key
                    ),
                }
            }
        }
    }
}
