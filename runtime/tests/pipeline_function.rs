//! The `bootstrap`'s dispatch ([`Function`]) over local stand-ins: each role takes the raw JSON
//! payload Lambda delivers and answers with the JSON Lambda expects (`batchItemFailures`, or a
//! bridge response), and a payload of the wrong shape is a function error, not a panic.

mod pipeline_common;

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use ingest_runtime::pipeline::function::{Function, Role, Wiring};
use ingest_runtime::pipeline::lever::MemoryMetrics;
use ingest_runtime::pipeline::local::{LocalQueue, LocalStore};
use ingest_runtime::pipeline::receiver::{ReceiverConfig, spool_line};
use ingest_runtime::pipeline::records::{BridgeChunk, BridgeRequest, Origin};
use ingest_runtime::pipeline::validator::ValidatorConfig;
use ingest_runtime::pipeline::{
    BridgeConfig, DeliveryStream, ErrorKind, HandlerError, InfraError, InvokeOutput, Invoker,
    RetryPolicy, Service, TokioSleeper,
};
use ingest_runtime::redelivery::Redelivery;
use lambda_runtime::{Context, LambdaEvent};
use pipeline_common::{REGISTRY, clock, kinesis, punch, start};
use serde_json::{Value, json};

/// Accepts every entry and remembers each batch.
#[derive(Default)]
struct Recorder(Mutex<Vec<Vec<Vec<u8>>>>);

impl DeliveryStream for Recorder {
    async fn put_record_batch(
        &self,
        _stream: &str,
        records: Vec<Vec<u8>>,
    ) -> Result<Vec<Option<String>>, InfraError> {
        let answer = vec![None; records.len()];
        self.0.lock().unwrap().push(records);
        Ok(answer)
    }
}

/// An invoker these tests never reach.
struct Unreachable;

impl Invoker for Unreachable {
    async fn invoke(&self, function: &str, _payload: Vec<u8>) -> Result<InvokeOutput, InfraError> {
        Err(InfraError::new(
            Service::Lambda,
            "Invoke",
            ErrorKind::NotFound,
            format!("no function {function} here"),
        ))
    }
}

/// A function over local stand-ins.
type Local = Function<LocalStore, Recorder, Unreachable, LocalQueue, MemoryMetrics>;

fn once() -> RetryPolicy {
    RetryPolicy {
        attempts: 1,
        first_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        attempt_timeout: Duration::from_secs(10),
    }
}

fn validator(store: LocalStore) -> Local {
    Function {
        registry: &REGISTRY,
        wiring: Wiring::Validator {
            config: ValidatorConfig {
                region: "us-east-1".into(),
                good_bucket: "good".into(),
                quarantine_bucket: "quarantine".into(),
                max_event_bytes: 4096,
                retry: once(),
                lake: Default::default(),
            },
            store,
        },
        metrics: None,
        sleeper: TokioSleeper::default(),
    }
}

fn failures(answer: &[u8]) -> Vec<String> {
    let answer: Value = serde_json::from_slice(answer).unwrap();
    answer["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_validator_answers_kinesis_batches_and_bridge_chunks() {
    let function = validator(LocalStore::memory());
    assert_eq!(function.role(), Role::Validator);
    let clock = clock();
    let records = [punch("app", 1, 7).into_bytes(), b"{not json".to_vec()];
    let (_, event) = kinesis("us-east-1", &records, &clock);
    let payload = serde_json::to_vec(&event).unwrap();
    let answer = function.handle_payload(&payload).await.unwrap();
    assert!(failures(&answer).is_empty(), "a bad event is data");
    let Wiring::Validator { store, .. } = &function.wiring else {
        unreachable!()
    };
    assert_eq!(store.list("good", "events/type=clock.in/").len(), 1);
    assert_eq!(store.list("quarantine", "").len(), 1);

    // The same payload through `handle`, as lambda_runtime calls it, with the invocation's
    // deadline a minute away (Lambda's, in epoch milliseconds).
    let raw = serde_json::value::RawValue::from_string(String::from_utf8(payload).unwrap());
    let mut context = Context::default();
    context.deadline = u64::try_from(
        (std::time::SystemTime::now() + Duration::from_secs(60))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let answer = function
        .handle(LambdaEvent::new(raw.unwrap(), context))
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(answer.get()).unwrap(),
        json!({"batchItemFailures": []})
    );

    // A bridge chunk: two spool lines, one good event and one not JSON.
    let origin = |sequence: &str| Origin {
        region: "us-west-2".into(),
        shard: "shardId-000000000000".into(),
        sequence: sequence.into(),
        arrival: start(),
    };
    let mut lines = spool_line(&origin("1"), punch("app", 2, 8).as_bytes()).0;
    lines.extend(spool_line(&origin("2"), b"[oops").0);
    let request = BridgeRequest {
        ingest_bridge: BridgeChunk {
            bucket: "spool".into(),
            key: "2020/11/25/13/spool-1".into(),
            chunk: 0,
            spooled_at: "2020-11-25T13:05:00Z".into(),
            lines: base64::engine::general_purpose::STANDARD.encode(&lines),
            first_line: 0,
            unprocessable: None,
        },
    };
    let answer = function
        .handle_payload(&serde_json::to_vec(&request).unwrap())
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(
        answer,
        json!({"records": 2, "good": 1, "quarantined": 1, "unfinished": []})
    );

    let error = function.handle_payload(b"[1, 2]").await.unwrap_err();
    assert!(matches!(error, HandlerError::BadPayload(_)), "{error:?}");
}

#[tokio::test]
async fn an_unwritable_bucket_reports_exactly_the_unfinished_records() {
    let store = LocalStore::memory();
    store.faults("good").set_down(true);
    let function = validator(store);
    let clock = clock();
    let records = [punch("app", 1, 7).into_bytes(), b"{not json".to_vec()];
    let (_, event) = kinesis("us-east-1", &records, &clock);
    let answer = function
        .handle_payload(&serde_json::to_vec(&event).unwrap())
        .await
        .unwrap();
    assert_eq!(
        failures(&answer),
        [event.records[0].kinesis.sequence_number.clone()],
        "the quarantined record is done; the good one is retried"
    );
}

#[tokio::test]
async fn the_receiver_spools_and_the_bridge_skips_the_test_event() {
    let receiver: Local = Function {
        registry: &REGISTRY,
        wiring: Wiring::Receiver {
            config: ReceiverConfig {
                region: "us-west-2".into(),
                delivery_stream: "spool".into(),
                retry: once(),
            },
            stream: Recorder::default(),
        },
        metrics: None,
        sleeper: TokioSleeper::default(),
    };
    let clock = clock();
    let records = [punch("app", 1, 7).into_bytes(), b"anything".to_vec()];
    let (_, event) = kinesis("us-west-2", &records, &clock);
    let answer = receiver
        .handle_payload(&serde_json::to_vec(&event).unwrap())
        .await
        .unwrap();
    assert!(failures(&answer).is_empty());
    let Wiring::Receiver { stream, .. } = &receiver.wiring else {
        unreachable!()
    };
    // Both lines packed into one Firehose record, each ending with a newline.
    let batches = stream.0.lock().unwrap().clone();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].len(), 1);
    let packed = &batches[0][0];
    assert!(packed.ends_with(b"\n"));
    assert_eq!(packed.iter().filter(|b| **b == b'\n').count(), 2);

    // The bridge paces what it fails: the poison message, received for the third time, comes
    // back after the schedule's third delay, not after the queue's visibility timeout.
    let schedule = Redelivery {
        first_delay_seconds: 10,
        max_delay_seconds: 60,
        growth: 2,
        jitter_percent: 0,
        max_receive_count: 5,
    };
    let queue = LocalQueue::new(
        "spool-objects",
        "us-west-2",
        Duration::from_secs(1800),
        5,
        Duration::from_secs(86_400),
        clock.clone(),
    );
    queue.send(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#.to_owned());
    queue.send("not a notification".to_owned());
    for _ in 0..2 {
        assert_eq!(queue.receive(10).len(), 2);
        queue.make_visible();
    }
    let messages = queue.receive(10);
    assert_eq!(messages[1].attributes["ApproximateReceiveCount"], "3");
    let poison = messages[1].message_id.clone().unwrap();
    let bridge: Local = Function {
        registry: &REGISTRY,
        wiring: Wiring::Bridge {
            config: BridgeConfig {
                validator_function: "validator".into(),
                spool_bucket: Some("spool".into()),
                chunk_bytes: 1 << 20,
                retry: once(),
                redelivery: Some(schedule),
            },
            store: LocalStore::memory(),
            invoker: Unreachable,
            queue: Some(queue),
        },
        metrics: None,
        sleeper: TokioSleeper::default(),
    };
    let mut sqs = aws_lambda_events::event::sqs::SqsEvent::default();
    sqs.records = messages;
    let answer = bridge
        .handle_payload(&serde_json::to_vec(&sqs).unwrap())
        .await
        .unwrap();
    assert_eq!(failures(&answer), [poison]);
    let Wiring::Bridge {
        queue: Some(queue), ..
    } = &bridge.wiring
    else {
        unreachable!()
    };
    assert_eq!(
        queue.stats().visibility_changes,
        1,
        "only the failed message"
    );
    assert_eq!(
        queue.next_visible(),
        Some(clock.now() + chrono::Duration::seconds(40)),
        "10 s x 2 x 2 after the third receive"
    );
}
