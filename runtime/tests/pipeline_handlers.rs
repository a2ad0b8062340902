//! The three handlers against the local stand-ins, with injected faults: store errors and
//! throttles, a store down for the whole retry budget, poison records and messages, the
//! `s3:TestEvent` message, oversize bodies, and batches with some bad events.

mod pipeline_common;

use std::time::Duration;

use ingest_runtime::pipeline::bridge::{
    BridgeConfig, BridgeError, BridgeHandler, INVOKE_LIMIT_BYTES,
};
use ingest_runtime::pipeline::lake::LakeSchema;
use ingest_runtime::pipeline::local::{
    Clock, Faults, LocalInvoker, LocalQueue, LocalSpool, LocalStore, SqsMapping,
};
use ingest_runtime::pipeline::receiver::{
    MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_RECORD_BYTES, ReceiverConfig, ReceiverHandler,
    spool_line,
};
use ingest_runtime::pipeline::records::{QuarantineLine, gunzip_if_gzip, split_good_line};
use ingest_runtime::pipeline::validator::{ValidatorConfig, ValidatorHandler};
use ingest_runtime::pipeline::{
    Deadline, DeliveryStream, InfraError, InvokeOutput, Invoker, ObjectStore, RetryPolicy,
};
use pipeline_common::{REGISTRY, clock, kinesis, note, punch};

fn validator_config() -> ValidatorConfig {
    ValidatorConfig {
        region: "us-east-1".to_owned(),
        good_bucket: "good".to_owned(),
        quarantine_bucket: "quarantine".to_owned(),
        max_event_bytes: 4096,
        retry: RetryPolicy::default(),
        lake: LakeSchema::default(),
    }
}

fn lines(store: &LocalStore, bucket: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for key in store.list(bucket, "") {
        let text = gunzip_if_gzip(&store.read(bucket, &key).unwrap()).unwrap();
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            out.push((key.clone(), line.to_vec()));
        }
    }
    out
}

fn mixed_records() -> Vec<Vec<u8>> {
    vec![
        punch("app", 1, 5).into_bytes(),
        format!("[{},{},{}]", punch("app", 2, 5), punch("app", 3, 0), note("app", 4, "hi")).into_bytes(),
        b"{not json".to_vec(),
        vec![0xff, 0xfe, b'{'],
        br#"{"specversion":"1.0","id":"5","source":"app","type":"x.y","data":{}}"#.to_vec(),
        punch("app", 6, 5).replace("\"data\"", &("\"padding\":\"".to_owned() + &"p".repeat(5000) + "\",\"data\"")).into_bytes(),
        punch("app", 7, 5).replace("\"data\"", "\"ingest\":1,\"data\"").into_bytes(),
        "{\n  \"specversion\": \"1.0\", \"id\": \"8\",\n  \"source\": \"app\", \"type\": \"note.added\", \"data\": {\"text\": \"pretty\"}\n}\n".as_bytes().to_vec(),
    ]
}

#[tokio::test]
async fn validator_writes_good_and_quarantine_with_deterministic_keys() {
    let clock = clock();
    let (_stream, event) = kinesis("us-east-1", &mixed_records(), &clock);
    let store = LocalStore::memory();
    let config = validator_config();
    let handler = ValidatorHandler {
        registry: &REGISTRY,
        config: &config,
        store: &store,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let response = handler.handle_kinesis(&event).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a bad event is data, never an error"
    );

    let first = &event.records[0].kinesis.sequence_number;
    let good = lines(&store, "good");
    // Keys end with a 16-hex-digit digest of the object's lines; the rest is the layout of
    // docs/architecture.md#records-and-keys.
    let keys: std::collections::BTreeSet<String> = good
        .iter()
        .map(|(k, _)| {
            let (stem, digest) = k
                .strip_suffix(".json.gz")
                .and_then(|k| k.rsplit_once('-'))
                .expect("a key ends with -<digest>.json.gz");
            assert!(digest.len() == 16 && digest.bytes().all(|b| b.is_ascii_hexdigit()));
            format!("{stem}.json.gz")
        })
        .collect();
    assert_eq!(
        keys.into_iter().collect::<Vec<_>>(),
        vec![
            format!(
                "events/type=clock.in/dt=2020-11-25/hr=13/us-east-1-shardId-000000000000-{first}.json.gz"
            ),
            format!(
                "events/type=note.added/dt=2020-11-25/hr=13/us-east-1-shardId-000000000000-{}.json.gz",
                event.records[1].kinesis.sequence_number
            ),
        ]
    );
    // Good lines: the event as received plus `ingest`.
    assert_eq!(
        good.len(),
        4,
        "events 1, 2 and 4 (of the batch) and 8 (pretty); 6 is too large"
    );
    let (event_bytes, _) = split_good_line(&good[0].1).unwrap();
    assert_eq!(event_bytes, punch("app", 1, 5).into_bytes());
    let value: serde_json::Value = serde_json::from_slice(&good[0].1).unwrap();
    assert_eq!(
        value["ingest"],
        serde_json::json!({"received_at": "2020-11-25T13:00:00.000Z", "region": "us-east-1", "via": "direct"})
    );
    assert!(
        good.iter()
            .any(|(_, l)| l.starts_with(b"{   \"specversion\": \"1.0\", \"id\": \"8\",")),
        "line breaks become spaces"
    );

    let quarantine: Vec<QuarantineLine> = lines(&store, "quarantine")
        .iter()
        .map(|(_, l)| serde_json::from_slice(l).unwrap())
        .collect();
    let kinds: Vec<&str> = quarantine.iter().map(|q| q.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "schema_violation",
            "not_json",
            "not_json",
            "unknown_type",
            "too_large",
            "bad_envelope"
        ]
    );
    assert_eq!(quarantine[0].event_index, Some(1));
    assert_eq!(quarantine[0].violations[0].pointer, "/data/user_id");
    assert_eq!(quarantine[0].violations[0].keyword, "minimum");
    assert_eq!(
        quarantine[0].original.as_bytes(),
        punch("app", 3, 0).as_bytes()
    );
    assert_eq!(quarantine[2].original_encoding, "base64");
    assert_eq!(
        quarantine[2].original_bytes().unwrap(),
        vec![0xff, 0xfe, b'{']
    );
    assert_eq!(quarantine[3].event_type.as_deref(), Some("x.y"));
    assert_eq!(quarantine[5].violations[0].pointer, "/ingest");
    assert_eq!(
        quarantine[1].origin.sequence,
        event.records[2].kinesis.sequence_number
    );
    assert_eq!(quarantine[1].origin.shard, "shardId-000000000000");
    assert_eq!(quarantine[1].received_at, "2020-11-25T13:00:00.000Z");

    // A retried batch writes the same keys with the same bytes.
    let before: Vec<(String, Vec<u8>)> = ["good", "quarantine"]
        .iter()
        .flat_map(|b| {
            store
                .list(b, "")
                .into_iter()
                .map(|k| (k.clone(), store.read(b, &k).unwrap()))
        })
        .collect();
    let puts = store.puts();
    handler.handle_kinesis(&event).await;
    let after: Vec<(String, Vec<u8>)> = ["good", "quarantine"]
        .iter()
        .flat_map(|b| {
            store
                .list(b, "")
                .into_iter()
                .map(|k| (k.clone(), store.read(b, &k).unwrap()))
        })
        .collect();
    assert_eq!(before, after);
    assert_eq!(store.puts(), puts * 2);
}

#[tokio::test]
async fn validator_retries_throttles_and_errors_then_succeeds() {
    let clock = clock();
    let (_stream, event) = kinesis("us-east-1", &mixed_records(), &clock);
    let store = LocalStore::memory();
    store.faults("good").throttle_next(2);
    store.faults("quarantine").fail_next(3);
    let config = validator_config();
    let handler = ValidatorHandler {
        registry: &REGISTRY,
        config: &config,
        store: &store,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let response = handler.handle_kinesis(&event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        store.faults("good").injected() + store.faults("quarantine").injected(),
        5
    );
    // Full jitter: each wait is a random share of 200, 400, 800 ms.
    let waited = clock.elapsed();
    assert!(
        waited > Duration::ZERO && waited <= Duration::from_millis(200 + 400 + 800 + 200 + 400),
        "it backed off: {waited:?}"
    );
}

#[tokio::test]
async fn validator_reports_only_unfinished_records_when_a_store_stays_down() {
    let clock = clock();
    let records = vec![
        b"{not json".to_vec(),
        punch("app", 1, 5).into_bytes(),
        punch("app", 2, 0).into_bytes(),
        note("app", 3, "hi").into_bytes(),
    ];
    let (_stream, event) = kinesis("us-east-1", &records, &clock);
    let store = LocalStore::memory();
    store.faults("good").set_down(true);
    let config = validator_config();
    let handler = ValidatorHandler {
        registry: &REGISTRY,
        config: &config,
        store: &store,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let outcome = handler.process_kinesis(&event).await;
    assert_eq!(
        outcome.unfinished,
        vec![1, 3],
        "records with good events are unfinished; the rest are in quarantine"
    );
    let response = handler.handle_kinesis(&event).await;
    let ids: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            event.records[1].kinesis.sequence_number.clone(),
            event.records[3].kinesis.sequence_number.clone()
        ]
    );
    assert_eq!(
        store.faults("good").injected(),
        2 * 2 * 5,
        "two objects, two invocations, five tries each"
    );
    assert_eq!(
        lines(&store, "quarantine").len(),
        2,
        "the second try rewrote the same key"
    );
}

/// A delivery stream that refuses chosen entries and records the batches it saw.
#[derive(Default)]
struct Firehose {
    batches: std::sync::Mutex<Vec<Vec<Vec<u8>>>>,
    refuse_first_tries: usize,
}

impl DeliveryStream for Firehose {
    async fn put_record_batch(
        &self,
        _stream: &str,
        records: Vec<Vec<u8>>,
    ) -> Result<Vec<Option<String>>, InfraError> {
        let mut batches = self.batches.lock().unwrap();
        let call = batches.len();
        let results = records
            .iter()
            .enumerate()
            .map(|(i, _)| {
                (call < self.refuse_first_tries && i % 3 == 0)
                    .then(|| "ServiceUnavailableException".to_owned())
            })
            .collect();
        batches.push(records);
        Ok(results)
    }
}

#[tokio::test]
async fn receiver_puts_again_exactly_the_refused_entries_within_the_limits() {
    let clock = clock();
    let records: Vec<Vec<u8>> = (0..1200)
        .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(6000)).into_bytes())
        .collect();
    let (_stream, event) = kinesis("us-west-2", &records, &clock);
    let firehose = Firehose {
        refuse_first_tries: 3,
        ..Firehose::default()
    };
    let config = ReceiverConfig {
        region: "us-west-2".to_owned(),
        delivery_stream: "spool".to_owned(),
        retry: RetryPolicy::default(),
    };
    let receiver = ReceiverHandler {
        config: &config,
        stream: &firehose,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let outcome = receiver.process_kinesis(&event).await;
    assert!(outcome.unfinished.is_empty());
    let batches = firehose.batches.lock().unwrap();
    for batch in batches.iter() {
        assert!(batch.len() <= MAX_BATCH_RECORDS);
        assert!(batch.iter().map(Vec::len).sum::<usize>() <= MAX_BATCH_BYTES);
        assert!(
            batch.iter().all(|line| line.ends_with(b"\n")),
            "newline-delimited (G18)"
        );
    }
    // Every record was accepted exactly once: accepted = sent minus refused. Firehose records
    // pack whole lines (about 8,200 bytes each, so 124 fit one record of 1,000 KiB).
    let mut accepted = std::collections::BTreeMap::new();
    for (call, batch) in batches.iter().enumerate() {
        for (i, record) in batch.iter().enumerate() {
            assert!(record.len() <= MAX_RECORD_BYTES);
            if !(call < 3 && i % 3 == 0) {
                for line in record.split_inclusive(|b| *b == b'\n') {
                    *accepted.entry(line.to_vec()).or_insert(0) += 1;
                }
            }
        }
    }
    assert_eq!(accepted.len(), 1200);
    assert!(accepted.values().all(|n| *n == 1));
    assert_eq!(
        outcome.stats.packed, 10,
        "1,200 lines in 10 Firehose records"
    );
    assert_eq!(
        outcome.stats.retried_entries,
        batches[3..].iter().map(Vec::len).sum::<usize>()
    );
}

#[tokio::test]
async fn receiver_reports_records_when_firehose_stays_down_and_truncates_oversize_records() {
    let clock = clock();
    let store = LocalStore::memory();
    let queue = LocalQueue::new(
        "q",
        "us-west-2",
        Duration::from_secs(60),
        3,
        Duration::from_secs(3600),
        clock.clone(),
    );
    let spool = LocalSpool::new(
        "spool",
        "us-west-2",
        "spool-bucket",
        Duration::from_secs(60),
        5 << 20,
        &store,
        &queue,
        clock.clone(),
    );
    let big = vec![b'{'; 900 * 1024];
    let (_stream, event) = kinesis("us-west-2", &[b"{}".to_vec(), big.clone()], &clock);
    let config = ReceiverConfig {
        region: "us-west-2".to_owned(),
        delivery_stream: "spool".to_owned(),
        retry: RetryPolicy::default(),
    };
    let receiver = ReceiverHandler {
        config: &config,
        stream: &spool,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    spool.faults.set_down(true);
    let response = receiver.handle_kinesis(&event).await;
    assert_eq!(response.batch_item_failures.len(), 2);
    spool.faults.set_down(false);
    let outcome = receiver.process_kinesis(&event).await;
    assert!(outcome.unfinished.is_empty());
    assert_eq!(outcome.stats.truncated, 1);
    let (line, truncated) = spool_line(
        &ingest_runtime::pipeline::Origin {
            region: "r".into(),
            shard: "s".into(),
            sequence: "1".into(),
            arrival: pipeline_common::start(),
        },
        &big,
    );
    assert!(truncated && line.len() < 100 * 1024);
}

fn notification(bucket: &str, key: &str) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-west-2",
        "eventTime": "2020-11-25T13:01:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "x"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "x"}, "arn": "arn:aws:s3:::b"},
               "object": {"key": key, "size": 1, "eTag": "e", "sequencer": "1"}}
    }]})
    .to_string()
}

/// An invoker that records payload sizes before handing over.
struct Recording<'a, I> {
    inner: &'a I,
    sizes: std::sync::Mutex<Vec<usize>>,
}

impl<I: Invoker> Invoker for Recording<'_, I> {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<InvokeOutput, InfraError> {
        self.sizes.lock().unwrap().push(payload.len());
        self.inner.invoke(function, payload).await
    }
}

#[tokio::test]
async fn bridge_skips_the_test_event_decodes_keys_chunks_and_fails_messages_alone() {
    let clock = clock();
    let store = LocalStore::memory();
    let config = validator_config();
    let validator = ValidatorHandler {
        registry: &REGISTRY,
        config: &config,
        store: &store,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let down = Faults::new();
    let local = LocalInvoker::new("validator", validator, &down);
    let invoker = Recording {
        inner: &local,
        sizes: Default::default(),
    };
    // A spool object of about 14 MB: valid events, each line wrapped by the receiver.
    let origin = |n: usize| ingest_runtime::pipeline::Origin {
        region: "us-west-2".into(),
        shard: "shardId-000000000001".into(),
        sequence: format!("{n:020}"),
        arrival: pipeline_common::start(),
    };
    let mut spool = Vec::new();
    let padding = "p".repeat(3000);
    let count = 4000;
    for n in 0..count {
        let event =
            punch("app", n, 5).replace("\"data\"", &format!("\"padding\":\"{padding}\",\"data\""));
        spool.extend(spool_line(&origin(n), event.as_bytes()).0);
    }
    spool.extend(b"this line is not a spool record\n");
    let key = "spool/dt=2020-11-25/hr=13/wiw events-1.gz";
    store
        .put_object(
            "spool-bucket",
            key,
            ingest_runtime::pipeline::records::gzip(&spool),
        )
        .await
        .unwrap();
    let bridge_config = BridgeConfig {
        validator_function: "validator".into(),
        spool_bucket: Some("spool-bucket".into()),
        chunk_bytes: 5 << 20,
        retry: RetryPolicy::default(),
        redelivery: None,
    };
    let bridge = BridgeHandler {
        config: &bridge_config,
        store: &store,
        invoker: &invoker,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };

    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    for (id, body) in [
        ("test", r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2020-11-25T13:00:00Z","Bucket":"spool-bucket"}"#.to_owned()),
        ("object", notification("spool-bucket", &ingest_runtime::pipeline::records::encode_s3_key(key))),
        ("poison", "not json at all".to_owned()),
        ("foreign", notification("other-bucket", "x")),
    ] {
        let mut message = aws_lambda_events::event::sqs::SqsMessage::default();
        message.message_id = Some(id.to_owned());
        message.body = Some(body);
        event.records.push(message);
    }
    let outcome = bridge.process_sqs(&event).await;
    let failed: Vec<usize> = outcome.failed.iter().map(|(i, _)| *i).collect();
    assert_eq!(failed, vec![2, 3], "{:?}", outcome.failed);
    assert!(matches!(
        outcome.failed[0].1,
        BridgeError::NotANotification(_)
    ));
    assert!(matches!(outcome.failed[1].1, BridgeError::ForeignBucket(_)));
    assert_eq!(outcome.stats.test_events, 1);
    assert_eq!(outcome.stats.good, count);
    assert_eq!(outcome.stats.quarantined, 1);
    let sizes = invoker.sizes.lock().unwrap().clone();
    assert!(sizes.len() >= 3, "{sizes:?}");
    assert!(sizes.iter().all(|s| *s <= 5 << 20), "{sizes:?}");
    const { assert!(5 << 20 < INVOKE_LIMIT_BYTES) };
    let via: Vec<serde_json::Value> = lines(&store, "good")
        .iter()
        .map(|(_, l)| serde_json::from_slice(l).unwrap())
        .collect();
    assert!(
        via.iter()
            .all(|v| v["ingest"]["via"] == "bridge" && v["ingest"]["region"] == "us-west-2")
    );

    // The primary down for the whole retry budget: the message fails, and SQS will retry it.
    down.set_down(true);
    let response = bridge.handle_sqs(&event).await;
    let ids: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(ids, ["object", "poison", "foreign"]);
    assert_eq!(
        down.injected(),
        5,
        "one chunk, tried five times, then the message is given back"
    );
}

#[tokio::test]
async fn a_poison_message_reaches_the_dlq_alone() {
    let clock = clock();
    let store = LocalStore::memory();
    let config = validator_config();
    let validator = ValidatorHandler {
        registry: &REGISTRY,
        config: &config,
        store: &store,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let faults = Faults::new();
    let invoker = LocalInvoker::new("validator", validator, &faults);
    let queue = LocalQueue::new(
        "q",
        "us-west-2",
        Duration::from_secs(30),
        3,
        Duration::from_secs(86_400),
        clock.clone(),
    );
    let spool = LocalSpool::new(
        "spool",
        "us-west-2",
        "spool-bucket",
        Duration::from_secs(60),
        5 << 20,
        &store,
        &queue,
        clock.clone(),
    );
    let bridge_config = BridgeConfig {
        validator_function: "validator".into(),
        spool_bucket: Some("spool-bucket".into()),
        chunk_bytes: 5 << 20,
        retry: RetryPolicy::default(),
        redelivery: None,
    };
    let bridge = BridgeHandler {
        config: &bridge_config,
        store: &store,
        invoker: &invoker,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let receiver_config = ReceiverConfig {
        region: "us-west-2".into(),
        delivery_stream: "spool".into(),
        retry: RetryPolicy::default(),
    };
    let receiver = ReceiverHandler {
        config: &receiver_config,
        stream: &spool,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let (_stream, event) = kinesis(
        "us-west-2",
        &[
            punch("app", 1, 5).into_bytes(),
            note("app", 2, "hi").into_bytes(),
        ],
        &clock,
    );
    assert!(
        receiver
            .handle_kinesis(&event)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(spool.flush(true).await);
    queue.send("poison".to_owned());
    let mut mapping = SqsMapping::new(10, 2);
    for _ in 0..10 {
        mapping
            .poll(&queue, &Clock::from(clock.clone()), |payload| async move {
                let event = serde_json::from_slice(&payload).unwrap();
                Ok(serde_json::to_vec(&bridge.handle_sqs(&event).await).unwrap())
            })
            .await;
        clock.advance(Duration::from_secs(31));
    }
    assert_eq!(queue.dead_letters(), vec!["poison".to_owned()]);
    assert!(queue.is_empty());
    assert_eq!(lines(&store, "good").len(), 2);
    assert_eq!(queue.stats().dead_lettered, 1);
}

/// Loss path 3: a store that stays down no longer holds the invocation past its deadline.
/// With a retry budget far longer than the function's timeout, the validator stops trying
/// before Lambda's deadline (less the margin), reports the records it could not write and keeps
/// what it wrote; before, it waited out every try and Lambda's timeout failed the whole batch.
#[tokio::test]
async fn validator_stops_before_the_deadline_and_reports_the_rest() {
    let clock = clock();
    let records = vec![punch("app", 1, 5).into_bytes(), b"{not json".to_vec()];
    let (_stream, event) = kinesis("us-east-1", &records, &clock);
    let store = LocalStore::memory();
    store.faults("good").set_down(true);
    let config = ValidatorConfig {
        retry: RetryPolicy {
            attempts: 10_000,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
        },
        ..validator_config()
    };
    let timeout = Duration::from_secs(60);
    let started = clock.now_ms();
    let handler = ValidatorHandler {
        registry: &REGISTRY,
        config: &config,
        store: &store,
        sleeper: &clock,
        deadline: Deadline::after(started, timeout),
    };
    let outcome = handler.process_kinesis(&event).await;
    assert_eq!(
        outcome.unfinished,
        vec![0],
        "the good event's record is reported"
    );
    assert_eq!(
        lines(&store, "quarantine").len(),
        1,
        "the finished work counts"
    );
    let spent = Duration::from_millis(clock.now_ms() - started);
    // 60 s less the margin (5%, at least 2 s), and no try that could not end before it.
    assert!(spent <= Duration::from_secs(57), "it waited {spent:?}");
    let tries = store.faults("good").injected();
    assert!(tries > 1 && tries < 100, "{tries} tries");
}

/// A Firehose that refuses a whole call (`InvalidArgumentException`) when one of its records
/// is larger than `refuse_above` bytes, as for a record of the request's own fault.
#[derive(Default)]
struct PickyFirehose {
    refuse_above: usize,
    calls: std::sync::Mutex<Vec<Vec<Vec<u8>>>>,
}

impl DeliveryStream for PickyFirehose {
    async fn put_record_batch(
        &self,
        _stream: &str,
        records: Vec<Vec<u8>>,
    ) -> Result<Vec<Option<String>>, InfraError> {
        let refused = records.iter().any(|r| r.len() > self.refuse_above);
        let count = records.len();
        self.calls.lock().unwrap().push(records);
        if refused {
            return Err(InfraError::new(
                ingest_runtime::pipeline::Service::Firehose,
                "PutRecordBatch",
                ingest_runtime::pipeline::ErrorKind::Invalid,
                "InvalidArgumentException: a record is not valid".to_owned(),
            ));
        }
        Ok(vec![None; count])
    }
}

/// Loss path 4: one record Firehose refuses for its own sake no longer fails the 500 around
/// it. The call is split in halves down to the single line; the others are spooled, and the
/// refused one travels as a marker line (its origin, its beginning, its size, the reason) that
/// the validator quarantines as `unspoolable`. Before, the whole call was refused and every
/// record of the batch came back to the mapping, again and again.
#[tokio::test]
async fn receiver_splits_a_refused_call_and_marks_the_one_bad_record() {
    let clock = clock();
    let mut records: Vec<Vec<u8>> = (0..40)
        .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(30_000)).into_bytes())
        .collect();
    // Record 17 alone makes a Firehose record this Firehose refuses.
    records[17] = format!("{{\"n\":17,\"pad\":\"{}\"}}", "y".repeat(600_000)).into_bytes();
    let (_stream, event) = kinesis("us-west-2", &records, &clock);
    let firehose = PickyFirehose {
        refuse_above: 700_000,
        ..PickyFirehose::default()
    };
    let config = ReceiverConfig {
        region: "us-west-2".to_owned(),
        delivery_stream: "spool".to_owned(),
        retry: RetryPolicy::default(),
    };
    let receiver = ReceiverHandler {
        config: &config,
        stream: &firehose,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let outcome = receiver.process_kinesis(&event).await;
    assert!(outcome.unfinished.is_empty(), "{outcome:?}");
    assert_eq!(outcome.stats.refused, 1);
    // What Firehose took: every line once, record 17 as its marker.
    let calls = firehose.calls.lock().unwrap();
    let mut spooled = std::collections::BTreeMap::new();
    for call in calls
        .iter()
        .filter(|c| c.iter().all(|r| r.len() <= 700_000))
    {
        for record in call {
            for line in record.split_inclusive(|b| *b == b'\n') {
                let line: ingest_runtime::pipeline::records::SpoolRecord =
                    serde_json::from_slice(line).unwrap();
                assert!(
                    spooled.insert(line.sequence.clone(), line).is_none(),
                    "once"
                );
            }
        }
    }
    assert_eq!(spooled.len(), 40);
    let marker = &spooled[&event.records[17].kinesis.sequence_number];
    assert!(
        marker
            .refused
            .as_deref()
            .unwrap()
            .contains("InvalidArgumentException")
    );
    assert_eq!(marker.truncated_from, Some(records[17].len() as u64));
    for (index, record) in records.iter().enumerate().filter(|(i, _)| *i != 17) {
        let line = &spooled[&event.records[index].kinesis.sequence_number];
        assert_eq!(line.bytes().as_ref(), Some(record), "record {index} whole");
        assert_eq!(line.refused, None);
    }
}
