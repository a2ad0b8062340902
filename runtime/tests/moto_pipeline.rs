//! The three handlers against moto's server through the real AWS SDK clients ([`S3Store`],
//! [`FirehoseStream`], [`LambdaInvoker`] and the SQS client of the event source mapping):
//! objects, keys, gzip and content in S3; Firehose batches with injected partial failures; the
//! spool -> S3 notification -> SQS -> bridge -> `Invoke` -> validator path; and the faults of
//! `docs/architecture.md#guarantees` on real clients: S3 errors and throttles, the primary down for
//! the whole retry budget, poison messages, the `s3:TestEvent` message, arrays with some bad
//! events.
//!
//! moto must be running (`scripts/test` starts it and sets `INGEST_MOTO_ENDPOINT`); see
//! `moto_common` for the lock, the reset and the two stand-in servers.

mod moto_common;
mod pipeline_common;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{TimeZone, Utc};
use ingest_runtime::pipeline::aws::{FirehoseStream, SqsQueue};
use ingest_runtime::pipeline::bridge::{
    BridgeConfig, BridgeError, BridgeHandler, Pacing, sqs_failures,
};
use ingest_runtime::pipeline::receiver::{ReceiverConfig, ReceiverHandler, spool_line};
use ingest_runtime::pipeline::records::{
    Origin, QuarantineLine, SpoolRecord, content_tag, gunzip_if_gzip, gzip, split_good_line,
};
use ingest_runtime::pipeline::validator::{ValidatorConfig, ValidatorHandler};
use ingest_runtime::pipeline::{
    Deadline, ErrorKind, Invoker, MessageQueue, ObjectStore, RetryPolicy, Service,
};
use ingest_runtime::redelivery::Redelivery;
use moto_common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// Records of a batch: valid, an array with one bad event of three, not JSON, not UTF-8, an
/// unknown type, too large, a reserved `ingest` member, and a pretty-printed valid event.
fn mixed_records() -> Vec<Vec<u8>> {
    vec![
        punch("app", 1, 5).into_bytes(),
        format!("[{},{},{}]", punch("app", 2, 5), punch("app", 3, 0), note("app", 4, "hi"))
            .into_bytes(),
        b"{not json".to_vec(),
        vec![0xff, 0xfe, b'{'],
        br#"{"specversion":"1.0","id":"5","source":"app","type":"x.y","data":{}}"#.to_vec(),
        punch("app", 6, 5)
            .replace("\"data\"", &format!("\"padding\":\"{}\",\"data\"", "p".repeat(5000)))
            .into_bytes(),
        punch("app", 7, 5)
            .replace("\"data\"", "\"ingest\":1,\"data\"")
            .into_bytes(),
        b"{\n  \"specversion\": \"1.0\", \"id\": \"8\",\n  \"source\": \"app\", \"type\": \"note.added\", \"data\": {\"text\": \"pretty\"}\n}\n".to_vec(),
    ]
}

fn good_key_stem(type_name: &str, region: &str, shard: &str, first: &str) -> String {
    format!("events/type={type_name}/dt=2020-11-25/hr=13/{region}-{shard}-{first}.json.gz")
}

fn quarantine_lines(lines: &[(String, Vec<u8>)]) -> Vec<QuarantineLine> {
    lines
        .iter()
        .map(|(key, line)| {
            serde_json::from_slice(line)
                .unwrap_or_else(|e| panic!("{key}: not a quarantine line ({e})"))
        })
        .collect()
}

#[tokio::test]
async fn validator_writes_gzip_ndjson_under_design_keys_to_s3() {
    let moto = Moto::reset().await;
    primary_buckets(&moto).await;
    let store = moto.store(PRIMARY).await;
    let config = validator_config();
    let sleeper = RecordingSleeper::default();
    let handler = ValidatorHandler {
        registry: &REGISTRY,
        config: &config,
        store: &store,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    let records = mixed_records();
    let event = kinesis_event(PRIMARY, &records);
    let response = handler.handle_kinesis(&event).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a bad event is data, never an error: {response:?}"
    );
    assert!(sleeper.waits().is_empty(), "nothing was retried");

    let s3 = moto.s3(PRIMARY).await;
    let shard = "shardId-000000000000";
    let good_keys = keys(&s3, GOOD, "").await;
    assert_eq!(
        good_keys
            .iter()
            .map(|k| without_digest(k))
            .collect::<Vec<_>>(),
        [
            good_key_stem("clock.in", PRIMARY, shard, &sequence(0)),
            good_key_stem("note.added", PRIMARY, shard, &sequence(1)),
        ],
        "DESIGN section 7: type, arrival hour, region, shard, first sequence"
    );
    let quarantine_keys = keys(&s3, QUARANTINE, "").await;
    assert_eq!(
        quarantine_keys
            .iter()
            .map(|k| without_digest(k))
            .collect::<Vec<_>>(),
        [format!(
            "dt=2020-11-25/hr=13/{PRIMARY}-{shard}-{}.json.gz",
            sequence(1)
        )]
    );
    // Every object is gzip, says so, and its key ends with the digest of its lines.
    for (bucket, key) in good_keys
        .iter()
        .map(|k| (GOOD, k))
        .chain(quarantine_keys.iter().map(|k| (QUARANTINE, k)))
    {
        let (content_type, body) = object(&s3, bucket, key).await;
        assert_eq!(content_type, "application/gzip", "{key}");
        assert!(body.starts_with(&[0x1f, 0x8b]), "{key} is gzip");
        let lines = gunzip_if_gzip(&body).unwrap();
        assert!(
            key.ends_with(&format!("-{}.json.gz", content_tag(&lines))),
            "{key}"
        );
    }

    // Good lines: each event exactly as sent (line breaks as spaces), plus `ingest`.
    let good = lines(&s3, GOOD).await;
    let expected = [
        (0, punch("app", 1, 5)),
        (1, punch("app", 2, 5)),
        (1, note("app", 4, "hi")),
        (
            7,
            String::from_utf8(records[7].clone())
                .unwrap()
                .trim()
                .replace('\n', " "),
        ),
    ];
    assert_eq!(good.len(), expected.len(), "{good:?}");
    for ((_, line), (record, sent)) in good.iter().zip(&expected) {
        let (event_bytes, _) = split_good_line(line).unwrap();
        assert_eq!(String::from_utf8(event_bytes).unwrap(), *sent);
        let value: Value = serde_json::from_slice(line).unwrap();
        assert_eq!(
            value["ingest"],
            json!({"received_at": received_at(*record), "region": PRIMARY, "via": "direct"})
        );
    }

    // Quarantine lines: reason, violations, origin, arrival and the original bytes.
    let quarantine = quarantine_lines(&lines(&s3, QUARANTINE).await);
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
    let sources = [1, 2, 3, 4, 5, 6];
    for (line, record) in quarantine.iter().zip(sources) {
        assert_eq!(line.origin.region, PRIMARY);
        assert_eq!(line.origin.shard, shard);
        assert_eq!(line.origin.sequence, sequence(record));
        assert_eq!(line.received_at, received_at(record));
        assert!(!line.violations.is_empty(), "{line:?}");
        if record != 1 {
            assert_eq!(line.original_bytes().unwrap(), records[record]);
        }
    }
    assert_eq!(quarantine[0].event_index, Some(1));
    assert_eq!(quarantine[0].original, punch("app", 3, 0));
    assert_eq!(
        (
            quarantine[0].violations[0].pointer.as_str(),
            quarantine[0].violations[0].keyword.as_str()
        ),
        ("/data/user_id", "minimum")
    );
    assert_eq!(quarantine[2].original_encoding, "base64");
    assert_eq!(quarantine[3].event_type.as_deref(), Some("x.y"));
    assert_eq!(quarantine[5].violations[0].pointer, "/ingest");

    // A retried batch writes the same keys with the same bytes.
    let mut before = Vec::new();
    for (bucket, key) in good_keys
        .iter()
        .map(|k| (GOOD, k))
        .chain(quarantine_keys.iter().map(|k| (QUARANTINE, k)))
    {
        before.push(object(&s3, bucket, key).await);
    }
    assert!(
        handler
            .handle_kinesis(&event)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(keys(&s3, GOOD, "").await, good_keys);
    assert_eq!(keys(&s3, QUARANTINE, "").await, quarantine_keys);
    let mut after = Vec::new();
    for (bucket, key) in good_keys
        .iter()
        .map(|k| (GOOD, k))
        .chain(quarantine_keys.iter().map(|k| (QUARANTINE, k)))
    {
        after.push(object(&s3, bucket, key).await);
    }
    assert_eq!(before, after);
}

#[tokio::test]
async fn validator_retries_s3_throttles_and_errors_with_the_same_object() {
    let moto = Moto::reset().await;
    primary_buckets(&moto).await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    proxy.script([
        Rule::next("PutObject", 2, Fault::s3(503, "SlowDown")).in_bucket(GOOD),
        Rule::next("PutObject", 1, Fault::s3(500, "InternalError")).in_bucket(QUARANTINE),
    ]);
    let store = store(&sdk_config(&proxy.url, PRIMARY).await);
    let config = validator_config();
    let sleeper = RecordingSleeper::default();
    let handler = ValidatorHandler {
        registry: &REGISTRY,
        config: &config,
        store: &store,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    let response = handler
        .handle_kinesis(&kinesis_event(PRIMARY, &mixed_records()))
        .await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    // The validator writes its objects side by side: look at each object's tries in order.
    let puts = proxy.calls("PutObject");
    /// Each object's tries, (status, body) in order, by (bucket, key).
    type Tries = std::collections::BTreeMap<(String, String), Vec<(u16, Vec<u8>)>>;
    let mut tries = Tries::new();
    for put in &puts {
        tries
            .entry((put.bucket.clone().unwrap(), put.key.clone().unwrap()))
            .or_default()
            .push((put.status, put.request.to_vec()));
    }
    let statuses: Vec<(&str, Vec<u16>)> = tries
        .iter()
        .map(|((bucket, _), tries)| (bucket.as_str(), tries.iter().map(|t| t.0).collect()))
        .collect();
    let count = |bucket: &str, status: u16| {
        statuses
            .iter()
            .filter(|(b, _)| *b == bucket)
            .flat_map(|(_, s)| s)
            .filter(|s| **s == status)
            .count()
    };
    assert_eq!(
        (
            count(GOOD, 503),
            count(GOOD, 200),
            count(QUARANTINE, 500),
            count(QUARANTINE, 200)
        ),
        (2, 2, 1, 1),
        "{statuses:?}"
    );
    for (key, tries) in &tries {
        // A retry puts the same object again: same key, same bytes; the last try is written.
        assert_eq!(tries.last().unwrap().0, 200, "{key:?}");
        assert!(tries.iter().all(|t| t.1 == tries[0].1), "{key:?}");
    }
    // Backoff with full jitter: a random share of 10 ms, then of 20 ms, per object.
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 3, "{waits:?}");
    assert!(
        waits.iter().all(|w| *w <= Duration::from_millis(20)),
        "{waits:?}"
    );
    let s3 = moto.s3(PRIMARY).await;
    assert_eq!(lines(&s3, GOOD).await.len(), 4);
    assert_eq!(lines(&s3, QUARANTINE).await.len(), 6);
}

#[tokio::test]
async fn validator_reports_exactly_the_records_s3_refuses_for_the_whole_budget() {
    let moto = Moto::reset().await;
    primary_buckets(&moto).await;
    let records = mixed_records();
    let event = kinesis_event(PRIMARY, &records);
    let failures = |response: aws_lambda_events::event::streams::KinesisEventResponse| {
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier.unwrap())
            .collect::<Vec<_>>()
    };

    // Quarantine throttles on every try: the records with a quarantine line are reported (by
    // sequence number, so Kinesis retries from the lowest); good objects are written.
    let proxy = FaultProxy::start(&moto.endpoint).await;
    proxy.script([Rule::always("PutObject", Fault::s3(503, "SlowDown")).in_bucket(QUARANTINE)]);
    let store = store(&sdk_config(&proxy.url, PRIMARY).await);
    let config = validator_config();
    let sleeper = RecordingSleeper::default();
    let handler = ValidatorHandler {
        registry: &REGISTRY,
        config: &config,
        store: &store,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    assert_eq!(
        failures(handler.handle_kinesis(&event).await),
        (1..=6).map(sequence).collect::<Vec<_>>()
    );
    let quarantine_puts = proxy
        .calls("PutObject")
        .into_iter()
        .filter(|e| e.bucket.as_deref() == Some(QUARANTINE))
        .count();
    assert_eq!(quarantine_puts, 3, "the whole budget: 3 tries");
    assert_eq!(sleeper.waits().len(), 2);
    let s3 = moto.s3(PRIMARY).await;
    assert_eq!(keys(&s3, GOOD, "").await.len(), 2);
    assert!(keys(&s3, QUARANTINE, "").await.is_empty());

    // Access denied is not retried: one try per object, and the records are reported.
    proxy.heal();
    proxy.script([Rule::always("PutObject", Fault::s3(403, "AccessDenied")).in_bucket(GOOD)]);
    let before = proxy.log().len();
    let sleeper = RecordingSleeper::default();
    let handler = ValidatorHandler {
        sleeper: &sleeper,
        ..handler
    };
    assert_eq!(
        failures(handler.handle_kinesis(&event).await),
        [0, 1, 7].map(sequence).to_vec()
    );
    let good_puts = proxy.log()[before..]
        .iter()
        .filter(|e| e.bucket.as_deref() == Some(GOOD))
        .count();
    assert_eq!(good_puts, 2, "two good objects, one try each");
    assert!(sleeper.waits().is_empty());

    // A missing bucket, as moto itself answers it (404 NoSuchBucket): not found, not retried.
    let missing = ValidatorConfig {
        quarantine_bucket: "wiw-no-such-bucket".into(),
        ..validator_config()
    };
    let direct = moto.store(PRIMARY).await;
    let error = direct
        .put_object("wiw-no-such-bucket", "k", b"x".to_vec())
        .await
        .unwrap_err();
    assert_eq!(
        (error.service, error.operation, error.kind),
        (Service::S3, "PutObject", ErrorKind::NotFound),
        "{error}"
    );
    let sleeper = RecordingSleeper::default();
    let handler = ValidatorHandler {
        registry: &REGISTRY,
        config: &missing,
        store: &direct,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    assert_eq!(
        failures(handler.handle_kinesis(&event).await),
        (1..=6).map(sequence).collect::<Vec<_>>()
    );
    assert!(sleeper.waits().is_empty());
}

fn receiver_config(stream: &str) -> ReceiverConfig {
    ReceiverConfig {
        region: SECONDARY.into(),
        delivery_stream: stream.into(),
        retry: RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            attempt_timeout: Duration::from_secs(10),
        },
    }
}

/// Every spool line in the spool bucket.
async fn spool_records(s3: &aws_sdk_s3::Client) -> Vec<SpoolRecord> {
    let mut records = Vec::new();
    for key in keys(s3, SPOOL, "").await {
        assert!(key.starts_with(SPOOL_PREFIX), "{key}");
        let (_, body) = object(s3, SPOOL, &key).await;
        for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            records.push(serde_json::from_slice(line).unwrap_or_else(|e| {
                panic!(
                    "{key}: not a spool line ({e}): {}",
                    String::from_utf8_lossy(line)
                )
            }));
        }
    }
    records
}

#[tokio::test]
async fn receiver_spools_every_record_through_firehose() {
    let moto = Moto::reset().await;
    spool_stream(&moto).await;
    let config = moto.config(SECONDARY).await;
    let stream = FirehoseStream::new(&config);
    let receiver = receiver_config(DELIVERY_STREAM);
    let sleeper = RecordingSleeper::default();
    let handler = ReceiverHandler {
        config: &receiver,
        stream: &stream,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    // 502 records, with every kind of bytes: their lines packed into one Firehose record
    // (loss path 8: the stream's quota counts records), so one PutRecordBatch call.
    let mut records = mixed_records();
    records.extend((records.len()..502).map(|i| punch("app", i, 5).into_bytes()));
    let event = kinesis_event(SECONDARY, &records);
    let outcome = handler.process_kinesis(&event).await;
    assert!(outcome.unfinished.is_empty(), "{outcome:?}");
    assert_eq!((outcome.stats.calls, outcome.stats.retried_entries), (1, 0));

    // moto writes one plain object per call (it ignores GZIP) under the prefix.
    let s3 = s3_client(&config);
    assert_eq!(keys(&s3, SPOOL, SPOOL_PREFIX).await.len(), 1);
    // Each object's key ends with a random id: put the lines back in sequence order.
    let mut spooled = spool_records(&s3).await;
    spooled.sort_by(|a, b| a.sequence.cmp(&b.sequence));
    assert_eq!(spooled.len(), records.len());
    for (index, (record, sent)) in spooled.iter().zip(&records).enumerate() {
        assert_eq!(
            (
                record.region.as_str(),
                record.shard.as_str(),
                record.sequence.clone(),
                record.arrival.clone()
            ),
            (
                SECONDARY,
                "shardId-000000000000",
                sequence(index),
                received_at(index)
            )
        );
        assert_eq!(record.bytes().as_ref(), Some(sent), "record {index}");
        assert_eq!(record.truncated_from, None);
    }
}

#[tokio::test]
async fn receiver_puts_again_exactly_the_entries_firehose_refuses() {
    let moto = Moto::reset().await;
    spool_stream(&moto).await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    proxy.script([
        Rule::next("PutRecordBatch", 1, Fault::fail_entries(&[1, 3, 4])),
        Rule::next(
            "PutRecordBatch",
            1,
            Fault::json(503, "ServiceUnavailableException"),
        ),
        // Entry 1 of the batch [1, 3, 4] put again: record 3.
        Rule::next("PutRecordBatch", 1, Fault::fail_entries(&[1])),
    ]);
    let stream = FirehoseStream::new(&sdk_config(&proxy.url, SECONDARY).await);
    let receiver = receiver_config(DELIVERY_STREAM);
    let sleeper = RecordingSleeper::default();
    let handler = ReceiverHandler {
        config: &receiver,
        stream: &stream,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    // Records of 400 KB: a line each is over half of a Firehose record, so each travels in
    // its own entry and the entries can be refused one by one.
    let records: Vec<Vec<u8>> = (0..6)
        .map(|i| format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(400_000)).into_bytes())
        .collect();
    let event = kinesis_event(SECONDARY, &records);
    let outcome = handler.process_kinesis(&event).await;
    assert!(outcome.unfinished.is_empty(), "{outcome:?}");
    assert_eq!((outcome.stats.calls, outcome.stats.retried_entries), (4, 7));

    // What each call carried: all, then exactly the refused entries.
    let sequences = |exchange: &Exchange| -> Vec<String> {
        exchange
            .firehose_records()
            .iter()
            .map(|line| {
                serde_json::from_slice::<SpoolRecord>(line)
                    .unwrap()
                    .sequence
            })
            .collect()
    };
    let calls = proxy.calls("PutRecordBatch");
    let carried: Vec<Vec<String>> = calls.iter().map(sequences).collect();
    assert_eq!(
        carried,
        [
            (0..6).map(sequence).collect::<Vec<_>>(),
            [1, 3, 4].map(sequence).to_vec(),
            [1, 3, 4].map(sequence).to_vec(),
            vec![sequence(3)],
        ]
    );
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        [200, 503, 200, 200]
    );
    // Full jitter: each wait is a random share of 10, 20, 40 ms.
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 3, "{waits:?}");
    for (wait, nominal) in waits.iter().zip([10, 20, 40]) {
        assert!(*wait <= Duration::from_millis(nominal), "{waits:?}");
    }

    // Every record reached the spool at least once. The proxy only rewrote moto's answers, so
    // moto also wrote the entries it "refused": the spool holds every forwarded call's records.
    let s3 = moto.s3(SECONDARY).await;
    let spooled = spool_records(&s3).await;
    let counts = tally(spooled.iter().map(|r| r.sequence.clone()));
    for (index, sent) in records.iter().enumerate() {
        let forwarded = carried
            .iter()
            .zip(&calls)
            .filter(|(carried, call)| call.status == 200 && carried.contains(&sequence(index)))
            .count();
        assert_eq!(
            counts.get(&sequence(index)),
            Some(&forwarded),
            "record {index}: once per forwarded call that carried it"
        );
        assert!(
            spooled
                .iter()
                .any(|r| r.sequence == sequence(index) && r.bytes().as_ref() == Some(sent))
        );
    }
    assert_eq!(spooled.len(), 6 + 3 + 1);

    // An entry refused on every try is reported, alone, by sequence number.
    proxy.heal();
    proxy.script([Rule::always("PutRecordBatch", Fault::fail_entries(&[0]))]);
    let response = handler.handle_kinesis(&event).await;
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier.unwrap())
        .collect();
    assert_eq!(failed, [sequence(0)]);

    // A stream that does not exist (moto's own 400 ResourceNotFoundException) is not retried:
    // every record is reported after one call.
    let missing = receiver_config("wiw-no-such-stream");
    let direct = FirehoseStream::new(&moto.config(SECONDARY).await);
    let sleeper = RecordingSleeper::default();
    let handler = ReceiverHandler {
        config: &missing,
        stream: &direct,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    let outcome = handler.process_kinesis(&event).await;
    assert_eq!(outcome.unfinished, (0..6).collect::<Vec<_>>());
    assert_eq!(outcome.stats.calls, 1);
    assert!(sleeper.waits().is_empty());
}

/// The spool lines of records of shard 1 of the secondary stream (as the receiver writes
/// them), records numbered from `first`.
fn spool_lines(first: usize, records: &[Vec<u8>]) -> Vec<u8> {
    let mut lines = Vec::new();
    for (i, data) in records.iter().enumerate() {
        let origin = Origin {
            region: SECONDARY.into(),
            shard: "shardId-000000000001".into(),
            sequence: sequence(first + i),
            arrival: Utc
                .timestamp_opt(ARRIVAL_SECONDS + (first + i) as i64, 0)
                .unwrap(),
        };
        lines.extend(spool_line(&origin, data).0);
    }
    lines
}

/// Both regions on moto as the bridge sees them: the primary's buckets, the spool stream and
/// bucket, the queue and the spool's notification into it; with the secondary's S3 and SQS
/// clients and the bridge's [`S3Store`](ingest_runtime::pipeline::aws::S3Store).
struct Secondary {
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    store: ingest_runtime::pipeline::aws::S3Store,
    queue_url: String,
    queue_arn: String,
}

impl Secondary {
    async fn set_up(moto: &Moto) -> Secondary {
        primary_buckets(moto).await;
        spool_stream(moto).await;
        let (queue_url, queue_arn) = spool_queue(moto).await;
        let config = moto.config(SECONDARY).await;
        Secondary {
            s3: s3_client(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            store: store(&config),
            queue_url,
            queue_arn,
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(SPOOL)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {key}: {}", show(&e)));
    }

    async fn receive(&self, count: usize) -> (Vec<aws_sdk_sqs::types::Message>, SqsEvent) {
        let messages = receive(&self.sqs, &self.queue_url, count).await;
        let event = sqs_event(&messages, &self.queue_arn);
        (messages, event)
    }
}

fn bridge_config(chunk_bytes: usize) -> BridgeConfig {
    BridgeConfig {
        validator_function: validator_arn(),
        spool_bucket: Some(SPOOL.into()),
        chunk_bytes,
        retry: quick_retry(),
        redelivery: None,
    }
}

/// The ids of the messages a bridge answer lists as failed.
fn failed_ids(event: &SqsEvent, failed: &[usize]) -> Vec<String> {
    sqs_failures(event, failed)
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

fn is_test_event(message: &aws_sdk_sqs::types::Message) -> bool {
    message.body().unwrap_or_default().contains("s3:TestEvent")
}

/// Every event of good and quarantine: (source, id) of good lines, originals of quarantine
/// lines; with the `ingest` member and origin checks of bridged records.
async fn bridged(s3: &aws_sdk_s3::Client) -> (Vec<(String, String)>, Vec<QuarantineLine>) {
    let mut good = Vec::new();
    for (key, line) in lines(s3, GOOD).await {
        assert!(key.contains(&format!("/{SECONDARY}-shardId-")), "{key}");
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["ingest"]["via"], "bridge", "{key}");
        assert_eq!(value["ingest"]["region"], SECONDARY, "{key}");
        good.push((
            value["source"].as_str().unwrap().to_owned(),
            value["id"].as_str().unwrap().to_owned(),
        ));
    }
    let quarantine = quarantine_lines(&lines(s3, QUARANTINE).await);
    for line in &quarantine {
        assert_eq!(line.origin.via, ingest_runtime::pipeline::Via::Bridge);
    }
    good.sort();
    (good, quarantine)
}

#[tokio::test]
async fn spool_notification_queue_bridge_invoke_validator_end_to_end() {
    let moto = Moto::reset().await;
    let secondary = Secondary::set_up(&moto).await;
    let primary = InvokeServer::start(moto.store(PRIMARY).await).await;

    // The receiver spools through moto's Firehose (a plain object, with moto's key format).
    let direct: Vec<Vec<u8>> = vec![
        punch("receiver", 1, 5).into_bytes(),
        format!(
            "[{},{},{}]",
            punch("receiver", 2, 5),
            punch("receiver", 3, 0),
            note("receiver", 4, "hi")
        )
        .into_bytes(),
        b"{not json".to_vec(),
    ];
    let stream = FirehoseStream::new(&moto.config(SECONDARY).await);
    let receiver = receiver_config(DELIVERY_STREAM);
    let sleeper = RecordingSleeper::default();
    let outcome = ReceiverHandler {
        config: &receiver,
        stream: &stream,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    }
    .process_kinesis(&kinesis_event(SECONDARY, &direct))
    .await;
    assert!(outcome.unfinished.is_empty());

    // And a spool object as real Firehose writes it: gzip (two members, as concatenated
    // buffers), under a key that notifications percent-encode.
    let gzipped: Vec<Vec<u8>> = (10..40)
        .map(|i| punch("firehose", i, 5).into_bytes())
        .chain([note("firehose", 40, "this note is far too long").into_bytes()])
        .collect();
    let mut body = gzip(&spool_lines(100, &gzipped[..20]));
    body.extend(gzip(&spool_lines(120, &gzipped[20..])));
    let gzip_key = format!("{SPOOL_PREFIX}2020/11/25/13/wiw spool=1+a.gz");
    secondary.put(&gzip_key, body).await;

    // The test event, then one notification per object.
    let (messages, event) = secondary.receive(3).await;
    assert_eq!(messages.iter().filter(|m| is_test_event(m)).count(), 1);
    let invoker = invoker(&primary).await;
    let config = bridge_config(4096);
    let sleeper = RecordingSleeper::default();
    let bridge = BridgeHandler {
        config: &config,
        store: &secondary.store,
        invoker: &invoker,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    let outcome = bridge.process_sqs(&event).await;
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    let stats = outcome.stats;
    assert_eq!(
        (stats.messages, stats.test_events, stats.objects),
        (3, 1, 2)
    );
    assert!(stats.chunks > 2, "small chunks: {stats:?}");
    assert_eq!(stats.invokes, stats.chunks, "no retries");
    assert_eq!((stats.good, stats.quarantined), (3 + 30, 2 + 1));
    assert!(sleeper.waits().is_empty());
    settle(&secondary.sqs, &secondary.queue_url, &messages, &[]).await;
    assert_eq!(
        queue_depth(&secondary.sqs, &secondary.queue_url).await,
        (0, 0)
    );

    // Each invoke was a synchronous call of the primary's validator, in the primary region.
    let invocations = primary.log();
    assert_eq!(invocations.len(), stats.invokes);
    for invocation in &invocations {
        assert_eq!(invocation.function, validator_arn());
        assert_eq!(invocation.region, PRIMARY);
        assert_eq!(
            invocation.invocation_type.as_deref(),
            Some("RequestResponse")
        );
        assert_eq!(
            (invocation.status, invocation.function_error.as_deref()),
            (200, None)
        );
        let payload: Value = serde_json::from_slice(&invocation.payload).unwrap();
        assert!(payload["ingest_bridge"]["key"].is_string());
    }
    let keys_invoked: BTreeSet<String> = invocations
        .iter()
        .map(|i| {
            let payload: Value = serde_json::from_slice(&i.payload).unwrap();
            payload["ingest_bridge"]["key"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(
        keys_invoked.contains(&gzip_key),
        "the key was decoded: {keys_invoked:?}"
    );

    // Every event arrived once, via the bridge, with its origin in the secondary region.
    let (good, quarantine) = bridged(&moto.s3(PRIMARY).await).await;
    let mut expected: Vec<(String, String)> = [1, 2, 4]
        .iter()
        .map(|i| ("receiver".to_owned(), i.to_string()))
        .chain((10..40).map(|i| ("firehose".to_owned(), i.to_string())))
        .collect();
    expected.sort();
    assert_eq!(good, expected);
    let mut kinds: Vec<(&str, &str)> = quarantine
        .iter()
        .map(|q| (q.kind.as_str(), q.original.as_str()))
        .collect();
    kinds.sort();
    let long_note = note("firehose", 40, "this note is far too long");
    let bad_punch = punch("receiver", 3, 0);
    assert_eq!(
        kinds,
        [
            ("not_json", "{not json"),
            ("schema_violation", bad_punch.as_str()),
            ("schema_violation", long_note.as_str()),
        ]
    );
    let from_array = quarantine.iter().find(|q| q.original == bad_punch).unwrap();
    assert_eq!(from_array.event_index, Some(1));
    assert_eq!(from_array.origin.sequence, sequence(1));
    assert_eq!(from_array.origin.region, SECONDARY);
    assert_eq!(from_array.received_at, received_at(1));
}

#[tokio::test]
async fn primary_down_for_the_whole_retry_budget_fails_every_message_until_it_is_back() {
    let moto = Moto::reset().await;
    let secondary = Secondary::set_up(&moto).await;
    // The primary's storage goes through a proxy, to take it down too.
    let storage = FaultProxy::start(&moto.endpoint).await;
    let primary = InvokeServer::start(store(&sdk_config(&storage.url, PRIMARY).await)).await;
    let records: Vec<Vec<u8>> = (0..6).map(|i| punch("app", i, 5).into_bytes()).collect();
    secondary
        .put(
            &format!("{SPOOL_PREFIX}a.gz"),
            gzip(&spool_lines(0, &records[..3])),
        )
        .await;
    secondary
        .put(&format!("{SPOOL_PREFIX}b"), spool_lines(3, &records[3..]))
        .await;
    // The first delivery: the test event is acknowledged, the notifications are left for the
    // outage.
    let (mut messages, _) = secondary.receive(3).await;
    let first_delivery = messages.clone();
    messages.retain(|m| !is_test_event(m));
    let notifications: Vec<String> = messages
        .iter()
        .map(|m| m.message_id().unwrap().to_owned())
        .collect();
    settle(
        &secondary.sqs,
        &secondary.queue_url,
        &first_delivery,
        &notifications,
    )
    .await;
    let invoker = invoker(&primary).await;
    let config = bridge_config(bridge_default_chunk());
    let good_s3 = moto.s3(PRIMARY).await;

    // Each outage: how the primary answers, whether its storage is down, and the error the
    // bridge sees.
    let outages = [
        ("throttled", Primary::Throttled, false, ErrorKind::Throttled),
        ("Lambda down", Primary::Down, false, ErrorKind::Unavailable),
        ("crashing", Primary::Crashing, false, ErrorKind::Unavailable),
        ("storage down", Primary::Up, true, ErrorKind::Unavailable),
    ];
    for (round, (name, state, storage_down, kind)) in outages.iter().enumerate() {
        primary.set(*state);
        if *storage_down {
            storage.script([Rule::always("PutObject", Fault::s3(503, "SlowDown"))]);
        }
        let (received, event) = secondary.receive(2).await;
        let mut ids: Vec<String> = received
            .iter()
            .map(|m| m.message_id().unwrap().to_owned())
            .collect();
        ids.sort();
        let mut expected = notifications.clone();
        expected.sort();
        assert_eq!(ids, expected, "{name}: the same messages come back");
        for message in &received {
            let count = &message.attributes().unwrap()
                [&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount];
            assert_eq!(*count, (round + 2).to_string(), "{name}");
        }
        let before = primary.log().len();
        let sleeper = RecordingSleeper::default();
        let bridge = BridgeHandler {
            config: &config,
            store: &secondary.store,
            invoker: &invoker,
            sleeper: &sleeper,
            deadline: Deadline::NONE,
        };
        let outcome = bridge.process_sqs(&event).await;
        let failed: Vec<usize> = outcome.failed.iter().map(|(i, _)| *i).collect();
        assert_eq!(failed, [0, 1], "{name}: every message fails");
        // The first message finds the outage; the second is reported without a call.
        assert!(
            matches!(&outcome.failed[1].1, BridgeError::NotTried(_)),
            "{name}: {:?}",
            outcome.failed[1]
        );
        let tries = primary.log().len() - before;
        match (&outcome.failed[0].1, state) {
            // A validator that fails on every chunk: the 3-line chunk is split, its first line
            // tried 3 times, and the request to quarantine it fails too.
            (BridgeError::Unprocessable(reason), Primary::Crashing) => {
                assert!(reason.contains("function error"), "{name}: {reason}");
                assert_eq!(tries, 1 + 3 + 1, "{name}");
                assert_eq!(sleeper.waits().len(), 2, "{name}");
            }
            (BridgeError::Invoke(error), _) => {
                assert_eq!(
                    (error.service, error.kind),
                    (Service::Lambda, *kind),
                    "{name}: {error}"
                );
                assert_eq!(
                    tries, 3,
                    "{name}: the first message's first chunk, tried 3 times"
                );
                assert_eq!(sleeper.waits().len(), 2, "{name}");
            }
            (error, _) => panic!("{name}: {error}"),
        }
        let failed = failed_ids(&event, &failed);
        settle(&secondary.sqs, &secondary.queue_url, &received, &failed).await;
        assert_eq!(
            queue_depth(&secondary.sqs, &secondary.queue_url).await,
            (2, 0),
            "{name}: nothing deleted"
        );
        assert!(keys(&good_s3, GOOD, "").await.is_empty(), "{name}");
        storage.heal();
    }

    // The primary is back: the next delivery of the same messages finishes them.
    primary.set(Primary::Up);
    let (received, event) = secondary.receive(2).await;
    let sleeper = RecordingSleeper::default();
    let bridge = BridgeHandler {
        config: &config,
        store: &secondary.store,
        invoker: &invoker,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    let outcome = bridge.process_sqs(&event).await;
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    settle(&secondary.sqs, &secondary.queue_url, &received, &[]).await;
    assert_eq!(
        queue_depth(&secondary.sqs, &secondary.queue_url).await,
        (0, 0)
    );
    let (good, quarantine) = bridged(&good_s3).await;
    let mut expected: Vec<(String, String)> =
        (0..6).map(|i| ("app".to_owned(), i.to_string())).collect();
    expected.sort();
    assert_eq!(good, expected);
    assert!(quarantine.is_empty());
}

fn bridge_default_chunk() -> usize {
    ingest_runtime::pipeline::bridge::DEFAULT_CHUNK_BYTES
}

#[tokio::test]
async fn poison_messages_fail_alone_and_bad_lines_are_quarantined() {
    let moto = Moto::reset().await;
    let secondary = Secondary::set_up(&moto).await;
    let primary = InvokeServer::start(moto.store(PRIMARY).await).await;
    // A spool object with an array holding a bad event, a line that is no spool record, and
    // a valid event.
    let mut body = spool_lines(
        0,
        &[format!(
            "[{},{}]",
            punch("app", 1, 5),
            note("app", 2, "a note longer than twenty")
        )
        .into_bytes()],
    );
    body.extend_from_slice(b"this line is not a spool record\n");
    body.extend(spool_lines(1, &[punch("app", 3, 5).into_bytes()]));
    let key = format!("{SPOOL_PREFIX}good-object.gz");
    secondary.put(&key, gzip(&body)).await;
    let (mut messages, _) = secondary.receive(2).await;
    let notification = messages
        .iter()
        .find(|m| !is_test_event(m))
        .unwrap()
        .body()
        .unwrap()
        .to_owned();

    // Poison: not JSON, JSON without Records, an object that does not exist, another bucket.
    let missing = notification.replace("good-object.gz", "missing-object.gz");
    assert_ne!(missing, notification);
    let foreign =
        notification.replace(&format!("\"name\": \"{SPOOL}\""), "\"name\": \"elsewhere\"");
    assert_ne!(foreign, notification, "{notification}");
    for body in [
        "not a notification",
        r#"{"Records": []}"#,
        &missing,
        &foreign,
    ] {
        secondary
            .sqs
            .send_message()
            .queue_url(&secondary.queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    messages.extend(receive(&secondary.sqs, &secondary.queue_url, 4).await);
    let event = sqs_event(&messages, &secondary.queue_arn);
    let invoker = invoker(&primary).await;
    let config = bridge_config(bridge_default_chunk());
    let sleeper = RecordingSleeper::default();
    let bridge = BridgeHandler {
        config: &config,
        store: &secondary.store,
        invoker: &invoker,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    let outcome = bridge.process_sqs(&event).await;

    let body_of = |index: usize| messages[index].body().unwrap().to_owned();
    let mut failed: Vec<(String, String)> = outcome
        .failed
        .iter()
        .map(|(index, error)| {
            let kind = match error {
                BridgeError::NotANotification(_) => "not a notification".to_owned(),
                BridgeError::Read(e) => format!("read {}", e.kind.as_str()),
                BridgeError::ForeignBucket(bucket) => format!("foreign {bucket}"),
                other => panic!("{other}"),
            };
            (body_of(*index), kind)
        })
        .collect();
    failed.sort();
    let mut expected = vec![
        (
            "not a notification".to_owned(),
            "not a notification".to_owned(),
        ),
        (
            r#"{"Records": []}"#.to_owned(),
            "not a notification".to_owned(),
        ),
        (missing.clone(), "read not_found".to_owned()),
        (foreign.clone(), "foreign elsewhere".to_owned()),
    ];
    expected.sort();
    assert_eq!(failed, expected);
    assert_eq!(outcome.stats.test_events, 1);
    assert!(
        sleeper.waits().is_empty(),
        "a missing object is not retried"
    );
    assert_eq!(primary.log().len(), 1, "one chunk of the one good object");

    // The good object's lines: two events good, the bad one and the odd line quarantined.
    let (good, quarantine) = bridged(&moto.s3(PRIMARY).await).await;
    assert_eq!(
        good,
        [
            ("app".to_owned(), "1".to_owned()),
            ("app".to_owned(), "3".to_owned())
        ]
    );
    let mut kinds: Vec<(&str, Option<usize>)> = quarantine
        .iter()
        .map(|q| (q.kind.as_str(), q.event_index))
        .collect();
    kinds.sort();
    assert_eq!(kinds, [("not_json", None), ("schema_violation", Some(1))]);
    let odd = quarantine.iter().find(|q| q.kind == "not_json").unwrap();
    assert_eq!(odd.original, "this line is not a spool record");
    assert_eq!(odd.origin.region, "spool");
    assert!(odd.violations[0].message.contains(&key), "{odd:?}");
}

#[tokio::test]
async fn bridge_retries_spool_reads_that_s3_throttles() {
    let moto = Moto::reset().await;
    let secondary = Secondary::set_up(&moto).await;
    let primary = InvokeServer::start(moto.store(PRIMARY).await).await;
    let records: Vec<Vec<u8>> = (0..3).map(|i| punch("app", i, 5).into_bytes()).collect();
    secondary
        .put(
            &format!("{SPOOL_PREFIX}x.gz"),
            gzip(&spool_lines(0, &records)),
        )
        .await;
    let (messages, event) = secondary.receive(2).await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    proxy.script([Rule::next("GetObject", 2, Fault::s3(503, "SlowDown"))]);
    let spool = store(&sdk_config(&proxy.url, SECONDARY).await);
    let invoker = invoker(&primary).await;
    let config = bridge_config(bridge_default_chunk());
    let sleeper = RecordingSleeper::default();
    let bridge = BridgeHandler {
        config: &config,
        store: &spool,
        invoker: &invoker,
        sleeper: &sleeper,
        deadline: Deadline::NONE,
    };
    let outcome = bridge.process_sqs(&event).await;
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(
        proxy
            .calls("GetObject")
            .iter()
            .map(|e| (e.key.clone().unwrap(), e.status))
            .collect::<Vec<_>>(),
        [503, 503, 200].map(|status| (format!("{SPOOL_PREFIX}x.gz"), status))
    );
    assert_eq!(
        sleeper.waits(),
        [10, 20].map(Duration::from_millis).to_vec()
    );
    assert_eq!(bridged(&moto.s3(PRIMARY).await).await.0.len(), 3);

    // Reads failing for the whole budget fail the message (and invoke nothing).
    proxy.script([Rule::always("GetObject", Fault::s3(500, "InternalError"))]);
    let before = primary.log().len();
    let outcome = bridge.process_sqs(&event).await;
    let failed: Vec<usize> = outcome.failed.iter().map(|(i, _)| *i).collect();
    let notification = messages.iter().position(|m| !is_test_event(m)).unwrap();
    assert_eq!(failed, [notification]);
    assert!(matches!(
        &outcome.failed[0].1,
        BridgeError::Read(e) if e.kind == ErrorKind::Unavailable
    ));
    assert_eq!(primary.log().len(), before);
}

#[tokio::test]
async fn the_invoke_stand_in_answers_as_lambda_does_through_the_sdk() {
    let moto = Moto::reset().await;
    primary_buckets(&moto).await;
    let primary = InvokeServer::start(moto.store(PRIMARY).await).await;
    let invoker = invoker(&primary).await;

    // A payload the validator cannot handle is a function error with Lambda's error JSON.
    let output = invoker
        .invoke(&validator_arn(), br#"{"ingest_bridge": 1}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(output.function_error.as_deref(), Some("Unhandled"));
    let error: Value = serde_json::from_slice(&output.payload).unwrap();
    assert_eq!(error["errorType"], "BadPayload");

    // A Kinesis event by name: the validator's own answer.
    let event = serde_json::to_vec(&kinesis_event(PRIMARY, &[b"{".to_vec()])).unwrap();
    let output = invoker.invoke(VALIDATOR, event).await.unwrap();
    assert_eq!(output.function_error, None);
    let answer: Value = serde_json::from_slice(&output.payload).unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert_eq!(keys(&moto.s3(PRIMARY).await, QUARANTINE, "").await.len(), 1);

    // Errors of the API itself, classified from the real SDK's errors.
    let error = invoker
        .invoke("someone-else", b"{}".to_vec())
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound, "{error}");
    for (primary_state, kind) in [
        (Primary::Throttled, ErrorKind::Throttled),
        (Primary::Down, ErrorKind::Unavailable),
    ] {
        primary.set(primary_state);
        let error = invoker
            .invoke(&validator_arn(), b"{}".to_vec())
            .await
            .unwrap_err();
        assert_eq!(
            (error.service, error.kind),
            (Service::Lambda, kind),
            "{error}"
        );
    }
    primary.set(Primary::Crashing);
    let output = invoker
        .invoke(&validator_arn(), b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(output.function_error.as_deref(), Some("Unhandled"));
    assert!(
        primary
            .log()
            .iter()
            .all(|i| i.region == PRIMARY && i.invocation_type.as_deref() == Some("RequestResponse"))
    );
}

#[tokio::test]
async fn the_bridge_paces_a_failed_message_with_change_message_visibility() {
    let moto = Moto::reset().await;
    let config = moto.config(SECONDARY).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = sqs
        .create_queue()
        .queue_name("paced")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "1800",
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateQueue: {}", show(&e)))
        .queue_url
        .unwrap();
    sqs.send_message()
        .queue_url(&url)
        .message_body("not a notification")
        .send()
        .await
        .unwrap_or_else(|e| panic!("SendMessage: {}", show(&e)));
    let first = receive(&sqs, &url, 1).await;
    let event = sqs_event(&first, &format!("arn:aws:sqs:{SECONDARY}:{ACCOUNT}:paced"));

    let schedule = Redelivery {
        first_delay_seconds: 1,
        max_delay_seconds: 1,
        growth: 2,
        jitter_percent: 0,
        max_receive_count: 5,
    };
    let queue = SqsQueue::new(&config, &url);
    let pacing = Pacing {
        schedule: &schedule,
        queue: &queue,
    };
    let outcome = pacing.pace(&event, &[0]).await;
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(outcome.paced, [(0, 1, 1)], "receive 1, back in 1 s");
    // In flight for a second, not for the queue's 30 minutes.
    assert_eq!(queue_depth(&sqs, &url).await, (0, 1));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = receive(&sqs, &url, 1).await;
    let count = again[0]
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
        })
        .cloned();
    assert_eq!(count.as_deref(), Some("2"));

    // A handle SQS never gave out is refused, and retrying would not help.
    let error = queue
        .change_visibility("not-a-handle", 5)
        .await
        .unwrap_err();
    assert_eq!(
        (error.service, error.operation),
        (Service::Sqs, "ChangeMessageVisibility")
    );
    assert!(!error.kind.is_retryable(), "{error}");
}

/// The lever's publisher against moto through the real CloudWatch client (Smithy RPC v2 CBOR,
/// served by the shim's `cloudwatch-cbor` route): what `PutMetricData` wrote is what
/// `GetMetricStatistics` reads back, per region; a 1 that no switch explains is reported as
/// tampering on the next run.
#[tokio::test]
async fn the_lever_publisher_publishes_to_cloudwatch_and_reads_it_back() {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter, NoncurrentVersionExpiration,
    };
    use ingest_runtime::pipeline::aws::CloudWatchMetrics;
    use ingest_runtime::pipeline::lever::{
        Datum, LeverConfig, LeverPublisher, MetricStore, SwitchLifecycle, writer_lock_policy,
    };
    use std::time::SystemTime;

    let moto = Moto::reset().await;
    let config = moto.config(SECONDARY).await;
    let s3 = s3_client(&config);
    let bucket = "wiw-switch";
    create_bucket(&s3, SECONDARY, bucket).await;
    let versioning = |status: aws_sdk_s3::types::BucketVersioningStatus| {
        let s3 = &s3;
        async move {
            s3.put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(status)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    };
    // As the stack makes it: versioned, so every pull is kept, and old versions kept a year.
    versioning(aws_sdk_s3::types::BucketVersioningStatus::Enabled).await;
    let expected = SwitchLifecycle {
        noncurrent_days: 365,
    };
    let lifecycle = |rules: Vec<LifecycleRule>| {
        let s3 = &s3;
        async move {
            s3.put_bucket_lifecycle_configuration()
                .bucket(bucket)
                .lifecycle_configuration(
                    BucketLifecycleConfiguration::builder()
                        .set_rules(Some(rules))
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
    };
    let stack_rule = LifecycleRule::builder()
        .id("expire-noncurrent-versions")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(365)
                .build(),
        )
        .expiration(
            LifecycleExpiration::builder()
                .expired_object_delete_marker(true)
                .build(),
        )
        .build()
        .unwrap();
    lifecycle(vec![stack_rule.clone()]).await;
    // And the writer lock: only the operator role writes under switch/.
    let operator = "arn:aws:iam::123456789012:role/wiw-events-lever-operator";
    let lock = |policy: String| {
        let s3 = &s3;
        async move {
            s3.put_bucket_policy()
                .bucket(bucket)
                .policy(policy)
                .send()
                .await
                .unwrap();
        }
    };
    let switches = store(&config);
    switches
        .put_object(
            bucket,
            "switch/primary",
            br#"{"drained": true, "by": "operator", "at": "2026-12-01T00:00:00Z"}"#.to_vec(),
        )
        .await
        .unwrap();
    // Locked after the operator's write: moto enforces the policy, and the test's principal
    // is not the operator role.
    lock(writer_lock_policy(bucket, operator)).await;
    let refused = switches
        .put_object(bucket, "switch/primary", b"{}".to_vec())
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Denied, "{refused:?}");
    let metrics = CloudWatchMetrics::new(&config);
    let lever = LeverConfig {
        pipeline: "wiw-events".to_owned(),
        bucket: bucket.to_owned(),
        namespace: "IngestLever".to_owned(),
        metric: "Drained".to_owned(),
        tamper_metric: "LeverTampered".to_owned(),
        window: Duration::from_secs(300),
        lifecycle: expected,
        operator_role_arn: operator.to_owned(),
    };
    let publisher = LeverPublisher {
        config: &lever,
        store: &switches,
        metrics: &metrics,
    };
    let now = SystemTime::now();
    let report = publisher.publish(now).await.unwrap();
    assert_eq!(
        report
            .switches
            .iter()
            .map(|s| (s.region, s.drained, s.tampered))
            .collect::<Vec<_>>(),
        [("primary", true, false), ("secondary", false, false)]
    );
    let since = now - Duration::from_secs(300);
    let until = now + Duration::from_secs(60);
    let read = |region: &'static str| {
        let dimensions = publisher.dimensions(region);
        let metrics = &metrics;
        async move {
            metrics
                .maximum("IngestLever", "Drained", &dimensions, since, until)
                .await
                .unwrap()
        }
    };
    let read_tampered = || {
        let metrics = &metrics;
        async move {
            metrics
                .maximum(
                    "IngestLever",
                    "LeverTampered",
                    &[("Ingest".to_owned(), "wiw-events".to_owned())],
                    since,
                    until,
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(read("primary").await, Some(1.0));
    assert_eq!(read("secondary").await, Some(0.0));
    assert_eq!(read_tampered().await, Some(0.0));
    // Nothing of another pipeline is read as this one.
    assert_eq!(
        metrics
            .maximum(
                "IngestLever",
                "Drained",
                &[
                    ("Ingest".to_owned(), "other-pipeline".to_owned()),
                    ("Region".to_owned(), "primary".to_owned()),
                ],
                since,
                until,
            )
            .await
            .unwrap(),
        None
    );

    // Someone with broad PutMetricData publishes a 1 for the undrained secondary.
    metrics
        .put(
            "IngestLever",
            vec![Datum {
                metric: "Drained".to_owned(),
                dimensions: publisher.dimensions("secondary"),
                value: 1.0,
                timestamp: now,
            }],
        )
        .await
        .unwrap();
    let report = publisher
        .publish(now + Duration::from_secs(1))
        .await
        .unwrap();
    assert!(report.switches[1].tampered, "{report:?}");
    assert_eq!(read_tampered().await, Some(1.0));

    // Someone deletes the primary's switch (a lifecycle rule would do the same): a delete
    // marker over the drain. The publisher reads the version under it: the drain stands, and
    // the deletion is reported as tampering.
    // (The lock refuses the deletion to the test's principal; an expiring lifecycle rule is not
    // refused by a bucket policy. Lifted for the deletion only.)
    s3.delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket(bucket)
        .key("switch/primary")
        .send()
        .await
        .unwrap();
    lock(writer_lock_policy(bucket, operator)).await;
    let report = publisher
        .publish(now + Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        (
            report.switches[0].state,
            report.switches[0].drained,
            report.switches[0].tampered
        ),
        ("deleted", true, true),
        "{report:?}"
    );
    assert_eq!(report.switches[0].by, "operator");
    assert!(report.tampered());

    // The review's path to erase a drain quietly: a lifecycle rule that expires switch/ and its
    // old versions after a day. moto does not run lifecycle rules; the rule itself is the
    // finding, before it has expired anything.
    let expiring = LifecycleRule::builder()
        .id("expire-switches")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("switch/").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(1)
                .build(),
        )
        .build()
        .unwrap();
    lifecycle(vec![stack_rule.clone(), expiring]).await;
    let report = publisher
        .publish(now + Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(report.lifecycle.len(), 2, "{report:?}");
    assert!(
        report
            .lifecycle
            .iter()
            .all(|f| f.contains("expire-switches")),
        "{report:?}"
    );
    // The whole configuration removed: the stack defines one, so that is tampering too.
    s3.delete_bucket_lifecycle()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let report = publisher
        .publish(now + Duration::from_secs(4))
        .await
        .unwrap();
    assert_eq!(report.lifecycle.len(), 1, "{report:?}");
    assert!(report.tampered());
    // Back as the stack defines it: the lifecycle is no finding.
    lifecycle(vec![stack_rule]).await;
    let report = publisher
        .publish(now + Duration::from_secs(5))
        .await
        .unwrap();
    assert!(report.lifecycle.is_empty(), "{report:?}");

    // The writer lock removed (a principal allowed s3:DeleteBucketPolicy): tampering; back, not.
    s3.delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let report = publisher
        .publish(now + Duration::from_secs(6))
        .await
        .unwrap();
    assert_eq!(report.writer_lock.len(), 1, "{report:?}");
    assert!(report.tampered());
    lock(writer_lock_policy(bucket, operator)).await;
    let report = publisher
        .publish(now + Duration::from_secs(7))
        .await
        .unwrap();
    assert!(report.writer_lock.is_empty(), "{report:?}");

    // Versioning suspended: the switches would keep no history. Tampering too.
    versioning(aws_sdk_s3::types::BucketVersioningStatus::Suspended).await;
    let report = publisher
        .publish(now + Duration::from_secs(8))
        .await
        .unwrap();
    assert!(!report.versioning_enabled, "{report:?}");
    assert!(report.tampered());
}
