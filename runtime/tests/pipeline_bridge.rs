//! The bridge's loss paths (issue 12) against the local stand-ins and, for the SDK's timeouts,
//! the real SDK clients: deadlines and outages (path 3), a line the validator always fails on
//! (path 4), a line longer than one invoke (path 5; the memory bound is measured in
//! `pipeline_bridge_memory.rs`).

mod pipeline_common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ingest_runtime::pipeline::bridge::{
    BridgeConfig, BridgeError, BridgeHandler, READ_TIMEOUT, invoke_attempt_timeout,
};
use ingest_runtime::pipeline::lake::LakeSchema;
use ingest_runtime::pipeline::local::{Faults, LocalInvoker, LocalStore, SimClock};
use ingest_runtime::pipeline::receiver::spool_line;
use ingest_runtime::pipeline::records::{
    BridgeRequest, Origin, QuarantineLine, SpoolRecord, encode_s3_key, gunzip_if_gzip, gzip,
};
use ingest_runtime::pipeline::validator::{UNPROCESSABLE, ValidatorConfig, ValidatorHandler};
use ingest_runtime::pipeline::{
    Deadline, ErrorKind, InfraError, InvokeOutput, Invoker, ObjectStore, RetryPolicy, Service,
    Sleeper,
};
use pipeline_common::{REGISTRY, clock, note, punch, start};

fn validator_config() -> ValidatorConfig {
    ValidatorConfig {
        region: "us-east-1".to_owned(),
        good_bucket: "good".to_owned(),
        quarantine_bucket: "quarantine".to_owned(),
        max_event_bytes: 262_144,
        retry: RetryPolicy::default(),
        lake: LakeSchema::default(),
    }
}

fn bridge_config(chunk_bytes: usize, retry: RetryPolicy) -> BridgeConfig {
    BridgeConfig {
        validator_function: "validator".into(),
        spool_bucket: Some("spool-bucket".into()),
        chunk_bytes,
        retry,
        redelivery: None,
    }
}

fn validator<'a>(
    config: &'a ValidatorConfig,
    store: &'a LocalStore,
    clock: &'a SimClock,
) -> ValidatorHandler<'a, LocalStore, SimClock> {
    ValidatorHandler {
        registry: &REGISTRY,
        config,
        store,
        sleeper: clock,
        deadline: Deadline::NONE,
    }
}

/// The origin of the `n`-th record of the secondary's stream.
fn origin(n: usize) -> Origin {
    Origin {
        region: "us-west-2".into(),
        shard: "shardId-000000000001".into(),
        sequence: format!("{n:020}"),
        arrival: start(),
    }
}

/// The notification of an object of the spool bucket.
fn notification(key: &str) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-west-2",
        "eventTime": "2020-11-25T13:01:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
               "bucket": {"name": "spool-bucket", "arn": "arn:aws:s3:::spool-bucket"},
               "object": {"key": encode_s3_key(key), "size": 1, "eTag": "e"}}
    }]})
    .to_string()
}

/// An SQS event of one message per body, with ids `m0`, `m1`...
fn sqs_event(bodies: &[String]) -> SqsEvent {
    let mut event = SqsEvent::default();
    for (index, body) in bodies.iter().enumerate() {
        let mut message = SqsMessage::default();
        message.message_id = Some(format!("m{index}"));
        message.body = Some(body.clone());
        event.records.push(message);
    }
    event
}

/// Writes a gzip spool object of `events` (one spool line each, origins from `first`).
async fn spool_object(store: &LocalStore, key: &str, events: &[String], first: usize) {
    let mut lines = Vec::new();
    for (n, event) in events.iter().enumerate() {
        lines.extend(spool_line(&origin(first + n), event.as_bytes()).0);
    }
    store
        .put_object("spool-bucket", key, gzip(&lines))
        .await
        .unwrap();
}

/// Every line of a bucket, with its key.
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

fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// A primary that answers `healthy` invokes, then is down (every call `Unavailable`).
struct GoesDown<'a, I> {
    inner: &'a I,
    healthy: usize,
    calls: AtomicUsize,
}

impl<I: Invoker> Invoker for GoesDown<'_, I> {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<InvokeOutput, InfraError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.healthy {
            return Err(InfraError::new(
                Service::Lambda,
                "Invoke",
                ErrorKind::Unavailable,
                "ServiceException: the primary is down",
            ));
        }
        self.inner.invoke(function, payload).await
    }
}

/// Loss path 3: a primary outage costs one message's retry budget, not the batch's. Ten
/// messages; the primary answers three invokes and then goes down. The three finished messages
/// are not reported (SQS deletes them), the fourth fails after its tries, and the other six are
/// reported at once without a call. Before, each of the seven tried its whole budget (35
/// invokes against a down primary, and as many retry waits).
#[tokio::test]
async fn an_outage_costs_one_message_and_the_rest_is_reported_untried() {
    let clock = clock();
    let store = LocalStore::memory();
    let config = validator_config();
    let faults = Faults::new();
    let local = LocalInvoker::new("validator", validator(&config, &store, &clock), &faults);
    let invoker = GoesDown {
        inner: &local,
        healthy: 3,
        calls: AtomicUsize::new(0),
    };
    let mut bodies = Vec::new();
    for n in 0..10 {
        let key = format!("spool/object-{n}.gz");
        spool_object(&store, &key, &[punch("app", n, 5)], n).await;
        bodies.push(notification(&key));
    }
    let event = sqs_event(&bodies);
    let bridge_config = bridge_config(5 << 20, RetryPolicy::default());
    let bridge = BridgeHandler {
        config: &bridge_config,
        store: &store,
        invoker: &invoker,
        sleeper: &clock,
        deadline: Deadline::after(clock.now_ms(), Duration::from_secs(300)),
    };
    let outcome = bridge.process_sqs(&event).await;
    let failed: Vec<usize> = outcome.failed.iter().map(|(i, _)| *i).collect();
    assert_eq!(failed, (3..10).collect::<Vec<_>>(), "{:?}", outcome.failed);
    assert!(matches!(outcome.failed[0].1, BridgeError::Invoke(_)));
    assert!(
        outcome.failed[1..]
            .iter()
            .all(|(_, e)| matches!(e, BridgeError::NotTried(_)))
    );
    assert_eq!(outcome.stats.not_tried, 6);
    assert_eq!(lines(&store, "good").len(), 3, "the finished work counts");
    assert_eq!(
        invoker.calls.load(Ordering::SeqCst),
        3 + 5,
        "three delivered chunks, then one message's five tries"
    );
    assert_eq!(
        outcome.stats.objects, 4,
        "no spool object is read for a message that is not tried"
    );
}

/// A spool whose reads hang: each `GetObject` takes its whole timeout (attempt and body) and
/// fails, as an S3 brownout makes it.
struct HangingSpool<'a> {
    clock: &'a SimClock,
    reads: AtomicUsize,
}

impl ObjectStore for HangingSpool<'_> {
    async fn put_object(&self, _: &str, _: &str, _: Vec<u8>) -> Result<(), InfraError> {
        unreachable!("the bridge writes nothing")
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, InfraError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.clock.sleep(READ_TIMEOUT).await;
        Err(InfraError::new(
            Service::S3,
            "GetObject",
            ErrorKind::Unavailable,
            format!("reading the body of s3://{bucket}/{key}: no end"),
        ))
    }
}

/// Loss path 3: no read starts that could not end before the deadline. The validator's timeout
/// is short (3 s, so an invoke's margin is 13 s), but a `GetObject` may take its attempt and its
/// body's timeout (70 s): the bridge keeps that margin for reads, so the invocation answers
/// before Lambda's timeout of 250 s, and reports its messages. Before, reads were judged by the
/// invoke's margin, a fourth read started at about 211 s and ran past the timeout: a function
/// error, and every message of the batch back after the visibility timeout.
#[tokio::test]
async fn a_spool_read_never_runs_past_the_deadline() {
    let clock = clock();
    let spool = HangingSpool {
        clock: &clock,
        reads: AtomicUsize::new(0),
    };
    let store = LocalStore::memory();
    let config = validator_config();
    let faults = Faults::new();
    let invoker = LocalInvoker::new("validator", validator(&config, &store, &clock), &faults);
    let retry = RetryPolicy {
        attempt_timeout: invoke_attempt_timeout(Duration::from_secs(3)),
        ..RetryPolicy::default()
    };
    let bridge_config = bridge_config(5 << 20, retry);
    let started = clock.now_ms();
    let lambda_timeout = Duration::from_secs(250);
    let bridge = BridgeHandler {
        config: &bridge_config,
        store: &spool,
        invoker: &invoker,
        sleeper: &clock,
        deadline: Deadline::after(started, lambda_timeout),
    };
    let event = sqs_event(&[notification("spool/a.gz"), notification("spool/b.gz")]);
    let response = bridge.handle_sqs(&event).await;
    assert_eq!(failed_ids(&response), ["m0", "m1"]);
    let spent = Duration::from_millis(clock.now_ms() - started);
    assert!(
        spent <= lambda_timeout - Deadline::MIN_MARGIN,
        "the invocation ran {spent:?}, its timeout is {lambda_timeout:?}"
    );
    assert_eq!(
        spool.reads.load(Ordering::SeqCst),
        3,
        "three reads of 70 s fit before the deadline (237.5 s), a fourth would not"
    );
}

/// A validator that crashes (a function error, as a panic or running out of memory would make
/// it) on any chunk holding an event whose bytes contain `poison`, unless asked to quarantine
/// it. Records the line count of every request.
struct Crashing<'a, I> {
    inner: &'a I,
    requests: Mutex<Vec<(usize, usize, bool)>>,
}

impl<I: Invoker> Invoker for Crashing<'_, I> {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<InvokeOutput, InfraError> {
        let request: BridgeRequest = serde_json::from_slice(&payload).unwrap();
        let chunk = &request.ingest_bridge;
        let lines = BASE64.decode(&chunk.lines).unwrap();
        let poisoned = lines
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| serde_json::from_slice::<SpoolRecord>(l).ok())
            .any(|r| r.bytes().unwrap().windows(6).any(|w| w == b"poison"));
        self.requests.lock().unwrap().push((
            chunk.first_line,
            lines.iter().filter(|b| **b == b'\n').count(),
            chunk.unprocessable.is_some(),
        ));
        if poisoned && chunk.unprocessable.is_none() {
            return Ok(InvokeOutput {
                function_error: Some("Unhandled".to_owned()),
                payload: br#"{"errorType":"Runtime.ExitError","errorMessage":"signal: aborted"}"#
                    .to_vec(),
            });
        }
        self.inner.invoke(function, payload).await
    }
}

/// Loss path 4: one line the validator always fails on no longer sends its whole object to the
/// DLQ. The chunk is split in halves down to that line; every other event is delivered, the
/// line is tried again with backoff and then quarantined as `unprocessable` with its original
/// bytes, its origin and the reason. A line that is not a spool record keeps the key it has when
/// its chunk is delivered whole, and the message delivered again writes the same keys. Before,
/// the function error was retried five times and the message failed, on every receive, until the
/// DLQ.
#[tokio::test]
async fn a_line_the_validator_always_fails_on_is_quarantined_and_the_rest_delivered() {
    let clock = clock();
    let events: Vec<String> = (0..40)
        .map(|n| {
            if n == 23 {
                note("app", n, "poison")
            } else {
                punch("app", n, 5)
            }
        })
        .collect();
    let mut spool = Vec::new();
    for (n, event) in events.iter().enumerate() {
        spool.extend(spool_line(&origin(n), event.as_bytes()).0);
        if n == 30 {
            spool.extend(b"this line is not a spool record\n");
        }
    }
    let key = "spool/dt=2020-11-25/hr=13/object-1.gz";
    let config = validator_config();
    let bridge_config = bridge_config(5 << 20, RetryPolicy::default());
    let event = sqs_event(&[notification(key)]);

    // The same object without the poison: every chunk whole.
    let healthy_store = LocalStore::memory();
    let healthy_spool: Vec<u8> = String::from_utf8(spool.clone())
        .unwrap()
        .lines()
        .enumerate()
        .map(|(n, line)| {
            if n == 23 {
                String::from_utf8(spool_line(&origin(23), punch("app", 23, 5).as_bytes()).0)
                    .unwrap()
            } else {
                format!("{line}\n")
            }
        })
        .collect::<String>()
        .into_bytes();
    healthy_store
        .put_object("spool-bucket", key, gzip(&healthy_spool))
        .await
        .unwrap();
    let faults = Faults::new();
    let healthy = LocalInvoker::new(
        "validator",
        validator(&config, &healthy_store, &clock),
        &faults,
    );
    let bridge = BridgeHandler {
        config: &bridge_config,
        store: &healthy_store,
        invoker: &healthy,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    assert!(bridge.process_sqs(&event).await.failed.is_empty());
    let healthy_keys = healthy_store.list("quarantine", "");

    let store = LocalStore::memory();
    store
        .put_object("spool-bucket", key, gzip(&spool))
        .await
        .unwrap();
    let local = LocalInvoker::new("validator", validator(&config, &store, &clock), &faults);
    let invoker = Crashing {
        inner: &local,
        requests: Mutex::default(),
    };
    let bridge = BridgeHandler {
        config: &bridge_config,
        store: &store,
        invoker: &invoker,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let outcome = bridge.process_sqs(&event).await;
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(outcome.stats.unprocessable, 1);
    assert!(outcome.stats.splits >= 5, "{:?}", outcome.stats);
    let good = lines(&store, "good");
    assert_eq!(good.len(), 39, "every other event is delivered");
    let quarantine: Vec<QuarantineLine> = lines(&store, "quarantine")
        .iter()
        .map(|(_, l)| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(quarantine.len(), 2, "{quarantine:?}");
    let poison = quarantine.iter().find(|q| q.kind == UNPROCESSABLE).unwrap();
    assert_eq!(poison.original, events[23], "its original bytes");
    assert_eq!(poison.origin.sequence, origin(23).sequence, "its origin");
    assert!(
        poison.violations[0]
            .message
            .contains("function error Unhandled"),
        "{poison:?}"
    );
    assert!(
        poison.violations[0]
            .message
            .contains("spool line 24 of chunk 0"),
        "{poison:?}"
    );
    // The single line was tried five times, then sent to be quarantined; the parts went in
    // order and covered the chunk's 41 lines exactly once among the delivered requests.
    let requests = invoker.requests.lock().unwrap().clone();
    let single_tries = requests
        .iter()
        .filter(|(first, count, quarantine)| *first == 23 && *count == 1 && !quarantine);
    assert_eq!(single_tries.count(), 5, "{requests:?}");
    assert_eq!(
        requests.iter().filter(|r| r.2).collect::<Vec<_>>(),
        [&(23, 1, true)],
        "one request to quarantine it"
    );
    // The line that is not a spool record: the key its whole chunk gave it.
    let not_json_key = lines(&store, "quarantine")
        .into_iter()
        .zip(&quarantine)
        .find(|(_, q)| q.kind == "not_json")
        .map(|((key, _), _)| key)
        .unwrap();
    assert!(
        healthy_keys.contains(&not_json_key),
        "{not_json_key} in {healthy_keys:?}"
    );

    // Delivered again (SQS redelivers after a lost answer): the same keys, nothing new.
    let good_keys = store.list("good", "");
    let quarantine_keys = store.list("quarantine", "");
    assert!(bridge.process_sqs(&event).await.failed.is_empty());
    assert_eq!(store.list("good", ""), good_keys);
    assert_eq!(store.list("quarantine", ""), quarantine_keys);
}

/// Loss path 4, the other side: a primary that throttles (or is unavailable) is retried whole,
/// never split: throttling says nothing about the chunk.
#[tokio::test]
async fn a_throttled_chunk_is_retried_whole() {
    let clock = clock();
    let store = LocalStore::memory();
    let config = validator_config();
    let faults = Faults::new();
    faults.throttle_next(3);
    let local = LocalInvoker::new("validator", validator(&config, &store, &clock), &faults);
    let invoker = Crashing {
        inner: &local,
        requests: Mutex::default(),
    };
    let events: Vec<String> = (0..8).map(|n| punch("app", n, 5)).collect();
    spool_object(&store, "spool/t.gz", &events, 0).await;
    let bridge_config = bridge_config(5 << 20, RetryPolicy::default());
    let bridge = BridgeHandler {
        config: &bridge_config,
        store: &store,
        invoker: &invoker,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let outcome = bridge
        .process_sqs(&sqs_event(&[notification("spool/t.gz")]))
        .await;
    assert!(outcome.failed.is_empty());
    assert_eq!(outcome.stats.splits, 0);
    assert_eq!(
        invoker.requests.lock().unwrap().clone(),
        vec![(0, 8, false); 4],
        "three throttled tries of the whole chunk, then the delivery"
    );
    assert_eq!(lines(&store, "good").len(), 8);
}

/// Loss path 5 with path 4: a line longer than one invoke carries is never held whole; its
/// beginning is quarantined as `unprocessable` with its size and the reason, and the lines
/// around it are delivered. Before, the message failed (`LineTooLarge`) on every receive.
#[tokio::test]
async fn a_line_longer_than_an_invoke_is_quarantined_by_its_beginning() {
    let clock = clock();
    let store = LocalStore::memory();
    let config = validator_config();
    let faults = Faults::new();
    let invoker = LocalInvoker::new("validator", validator(&config, &store, &clock), &faults);
    let big = punch("app", 5, 5).replace(
        "\"data\"",
        &format!("\"padding\":\"{}\",\"data\"", "p".repeat(60_000)),
    );
    let events: Vec<String> = (0..10)
        .map(|n| {
            if n == 5 {
                big.clone()
            } else {
                punch("app", n, 5)
            }
        })
        .collect();
    spool_object(&store, "spool/big.gz", &events, 0).await;
    // 16 KiB payloads: about 11 KiB of lines, so the 80 KiB spool line of event 5 cannot go.
    let bridge_config = bridge_config(16 * 1024, RetryPolicy::default());
    let bridge = BridgeHandler {
        config: &bridge_config,
        store: &store,
        invoker: &invoker,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let outcome = bridge
        .process_sqs(&sqs_event(&[notification("spool/big.gz")]))
        .await;
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(lines(&store, "good").len(), 9);
    let quarantine: Vec<QuarantineLine> = lines(&store, "quarantine")
        .iter()
        .map(|(_, l)| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(quarantine.len(), 1);
    let line = &quarantine[0];
    assert_eq!(line.kind, UNPROCESSABLE);
    let spooled = spool_line(&origin(5), big.as_bytes()).0;
    let message = &line.violations[0].message;
    assert!(
        message.contains(&format!(
            "spool line 6 of s3://spool-bucket/spool/big.gz has {} bytes",
            spooled.len() - 1
        )),
        "{message}"
    );
    assert!(
        spooled.starts_with(line.original.as_bytes()) && line.original.len() > 10_000,
        "its beginning is kept"
    );
}

/// Loss path 3 on the real SDK: a server that accepts connections and never answers. Each
/// client gives up within its attempt timeout (S3's is the default of every client; the Lambda
/// client's is the one the bridge owns), and a bridge invoking such a primary reports its
/// message before its deadline instead of hanging until Lambda kills it.
#[tokio::test]
async fn sdk_calls_to_a_server_that_never_answers_fail_within_their_timeouts() {
    use ingest_runtime::pipeline::TokioSleeper;
    use ingest_runtime::pipeline::aws::{
        ATTEMPT_TIMEOUT, AwsEnvironment, LambdaInvoker, S3Store, sdk_config,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Accept, read what comes, never answer.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let variables = [
        ("AWS_REGION", "us-west-2"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL", url.as_str()),
    ];
    let lookup = |name: &str| {
        variables
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let sdk = sdk_config(&AwsEnvironment::from_lookup(&lookup).unwrap());

    let s3 = S3Store::new(&sdk, true);
    let began = std::time::Instant::now();
    let error = s3.get_object("spool-bucket", "a.gz").await.unwrap_err();
    let took = began.elapsed();
    assert_eq!(
        (error.service, error.kind),
        (Service::S3, ErrorKind::Unavailable),
        "{error}"
    );
    assert!(
        took >= ATTEMPT_TIMEOUT && took < ATTEMPT_TIMEOUT + Duration::from_secs(5),
        "GetObject gave up after {took:?}: {error}"
    );

    let attempt = Duration::from_secs(1);
    let invoker = LambdaInvoker::new(&sdk, "us-east-2", attempt);
    let began = std::time::Instant::now();
    let error = invoker
        .invoke("validator", b"{}".to_vec())
        .await
        .unwrap_err();
    let took = began.elapsed();
    assert_eq!(
        (error.service, error.kind),
        (Service::Lambda, ErrorKind::Unavailable),
        "{error}"
    );
    assert!(
        took >= attempt && took < attempt + Duration::from_secs(3),
        "Invoke gave up after {took:?}: {error}"
    );

    // The bridge over that client: a short retry budget of one-second attempts and a function
    // timeout of 8 s (a deadline at 6 s).
    let store = LocalStore::memory();
    spool_object(&store, "spool/h.gz", &[punch("app", 1, 5)], 0).await;
    let retry = RetryPolicy {
        attempts: 100,
        attempt_timeout: attempt,
        ..RetryPolicy::default()
    };
    let bridge_config = bridge_config(5 << 20, retry);
    let sleeper = TokioSleeper::default();
    let timeout = Duration::from_secs(8);
    let bridge = BridgeHandler {
        config: &bridge_config,
        store: &store,
        invoker: &invoker,
        sleeper: &sleeper,
        deadline: Deadline::after(sleeper.now_ms(), timeout),
    };
    let began = std::time::Instant::now();
    let response = bridge
        .handle_sqs(&sqs_event(&[
            notification("spool/h.gz"),
            notification("spool/h.gz"),
        ]))
        .await;
    let took = began.elapsed();
    assert_eq!(failed_ids(&response), ["m0", "m1"]);
    assert!(
        took < timeout - Deadline::MIN_MARGIN,
        "the bridge answered after {took:?}"
    );
}
