//! What the moto tests share: moto's server and a lock over its state, SDK configurations
//! pointed at it, the AWS resources of the two regions, the events, and two small HTTP servers
//! on 127.0.0.1 that stand in for what moto cannot do.
//!
//! - **moto** is started by `scripts/test` through the test-only launcher
//!   `tests/moto/ingest_moto.py -H 127.0.0.1 -p <port>` (moto's server with ingest's shim),
//!   which exports its URL as `INGEST_MOTO_ENDPOINT`. Without the variable every test fails and
//!   says how to start it: a test that skips silently would pass without testing anything.
//! - **One test at a time**: moto's state is global and the tests of a binary run in parallel,
//!   so [`Moto::reset`] takes a process-wide async lock, then wipes moto
//!   (`POST /moto-api/reset`); the test holds the lock until it ends.
//! - **The SDK clients are the real ones**: the handlers get [`S3Store`], [`FirehoseStream`] and
//!   [`LambdaInvoker`] over an [`SdkConfig`] whose endpoint is moto (or one of the servers
//!   below) and credentials `testing`, built by the `bootstrap`'s own
//!   [`ingest_runtime::pipeline::aws::sdk_config`] from the variables Lambda would set.
//! - **[`FaultProxy`]**: moto never throttles, never fails, and accepts every entry of a
//!   `PutRecordBatch`. The proxy sits in front of it and follows a script of [`Rule`]s: per
//!   operation (and bucket), answer an error itself, or forward the request and mark entries
//!   of the answer failed (`FailedPutCount`, `RequestResponses[i].ErrorCode`). It records every
//!   exchange, so tests can check what the handlers sent on each try.
//! - **[`InvokeServer`]**: moto cannot run Lambda code without Docker. This server speaks the
//!   Lambda `Invoke` API (`POST /2015-03-31/functions/{FunctionName}/invocations`) and runs
//!   the primary's validator in-process, through the `bootstrap`'s own dispatch
//!   ([`Function::handle_payload`]) over [`S3Store`] on moto. A function error is answered as
//!   Lambda does (200, `X-Amz-Function-Error: Unhandled`, an error JSON); [`Primary`] switches
//!   it to throttling (429 `TooManyRequestsException`), a service error (500
//!   `ServiceException`) or a crashing function, for the outage tests.
//! - Both servers stop when dropped (their accept loop and every connection are aborted), and
//!   with the test's runtime at the latest.

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Event as S3EventName, FilterRule,
    FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter, QueueConfiguration,
    S3KeyFilter,
};
use aws_types::SdkConfig;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ingest_runtime::pipeline::aws::{
    AwsEnvironment, CloudWatchMetrics, FirehoseStream, LambdaInvoker, S3Store, SqsQueue,
    s3_path_style,
};
use ingest_runtime::pipeline::function::{Function, Wiring};
use ingest_runtime::pipeline::records::gunzip_if_gzip;
use ingest_runtime::pipeline::validator::ValidatorConfig;
use ingest_runtime::pipeline::{RetryPolicy, Sleeper, TokioSleeper};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// The variable that holds moto's URL (`http://127.0.0.1:PORT`).
pub const ENDPOINT_VAR: &str = "INGEST_MOTO_ENDPOINT";
/// The primary region (validator, good and quarantine buckets).
pub const PRIMARY: &str = "us-east-1";
/// The secondary region (receiver, spool, queue, bridge).
pub const SECONDARY: &str = "us-west-2";
/// moto's default account.
pub const ACCOUNT: &str = "123456789012";
/// The good bucket (primary).
pub const GOOD: &str = "wiw-good";
/// The quarantine bucket (primary).
pub const QUARANTINE: &str = "wiw-quarantine";
/// The spool bucket (secondary).
pub const SPOOL: &str = "wiw-spool";
/// The spool's key prefix (Firehose's `Prefix`, and the notification's filter).
pub const SPOOL_PREFIX: &str = "spool/";
/// The Firehose delivery stream (secondary).
pub const DELIVERY_STREAM: &str = "wiw-spool";
/// The bridge's queue (secondary).
pub const QUEUE: &str = "wiw-bridge";
/// The primary validator's name (the deterministic cross-region link of
/// `docs/architecture.md#the-deployed-system`).
pub const VALIDATOR: &str = "wiw-validator";

/// The primary validator's ARN, as the bridge's `VALIDATOR_FUNCTION_ARN` holds it.
pub fn validator_arn() -> String {
    format!("arn:aws:lambda:{PRIMARY}:{ACCOUNT}:function:{VALIDATOR}")
}

/// moto's URL from [`ENDPOINT_VAR`]; panics with how to start it when the variable is unset.
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "{ENDPOINT_VAR} is not set: these tests run the Lambda handlers against moto's server. \
             Run them through `scripts/test`, which starts moto and sets it; or install moto with \
             `scripts/setup-python`, start \
             `.tools/venv-moto/bin/python tests/moto/ingest_moto.py -H 127.0.0.1 -p 5000` \
             and run the tests with {ENDPOINT_VAR}=http://127.0.0.1:5000"
        ),
    }
}

/// Serializes the tests: moto's state is global.
static MOTO_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A wiped moto, held by one test until it is dropped.
pub struct Moto {
    /// moto's URL.
    pub endpoint: String,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Moto {
    /// Waits for this test's turn, then wipes moto's state.
    pub async fn reset() -> Moto {
        let endpoint = endpoint();
        let turn = MOTO_LOCK.lock().await;
        let url = format!("{endpoint}/moto-api/reset");
        let (status, body) = http_call(Method::POST, &url, Bytes::new())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot reach moto at {endpoint} ({ENDPOINT_VAR}): {e}; is moto's server (tests/moto/ingest_moto.py) running?"
                )
            });
        assert!(
            status.is_success(),
            "POST {url} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        Moto {
            endpoint,
            _turn: turn,
        }
    }

    /// An SDK configuration for `region`, pointed at moto.
    pub async fn config(&self, region: &str) -> SdkConfig {
        sdk_config(&self.endpoint, region).await
    }

    /// An S3 client of `region` on moto (path-style, as the handlers' [`S3Store`] uses).
    pub async fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        s3_client(&self.config(region).await)
    }

    /// The handlers' [`S3Store`] for `region` on moto.
    pub async fn store(&self, region: &str) -> S3Store {
        store(&self.config(region).await)
    }
}

/// The SDK configuration a function builds in `region` with `AWS_ENDPOINT_URL` set to
/// `endpoint` and credentials `testing` (the SDK's retries off: the handlers retry).
pub async fn sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    let lookup = |name: &str| match name {
        "AWS_REGION" => Some(region.to_owned()),
        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("testing".to_owned()),
        "AWS_ENDPOINT_URL" => Some(endpoint.to_owned()),
        _ => None,
    };
    let environment = AwsEnvironment::from_lookup(&lookup).expect("the variables are all set");
    ingest_runtime::pipeline::aws::sdk_config(&environment)
}

/// An S3 client over `config`, path-style as [`s3_path_style`] decides for an endpoint
/// override.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = s3_path_style(config, &|_| None);
    assert!(path_style, "an endpoint override means path-style S3");
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build(),
    )
}

/// The handlers' [`S3Store`] over `config`.
pub fn store(config: &SdkConfig) -> S3Store {
    S3Store::new(config, s3_path_style(config, &|_| None))
}

/// Retries for tests: 3 tries, 10 ms then 20 ms.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        attempt_timeout: Duration::from_secs(10),
    }
}

/// A [`Sleeper`] that records every wait and waits a millisecond.
#[derive(Debug, Default, Clone)]
pub struct RecordingSleeper(Arc<Mutex<Vec<Duration>>>);

impl RecordingSleeper {
    /// The waits so far.
    pub fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        self.0.lock().unwrap().push(duration);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// The longest wait every time, so the recorded waits are the policy's.
    fn random(&self) -> u64 {
        u64::MAX
    }
}

// ---------------------------------------------------------------------------------------------
// Resources.

/// Creates a bucket in `region`.
pub async fn create_bucket(s3: &aws_sdk_s3::Client, region: &str, bucket: &str) {
    let mut request = s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {}", show(&e)));
}

/// The primary's good and quarantine buckets.
pub async fn primary_buckets(moto: &Moto) {
    let s3 = moto.s3(PRIMARY).await;
    create_bucket(&s3, PRIMARY, GOOD).await;
    create_bucket(&s3, PRIMARY, QUARANTINE).await;
}

/// The spool bucket and the Firehose delivery stream that writes into it (GZIP, as the
/// secondary stack configures it; moto ignores the compression).
pub async fn spool_stream(moto: &Moto) {
    let config = moto.config(SECONDARY).await;
    create_bucket(&s3_client(&config), SECONDARY, SPOOL).await;
    let destination = aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/wiw-firehose"))
        .bucket_arn(format!("arn:aws:s3:::{SPOOL}"))
        .prefix(SPOOL_PREFIX)
        .compression_format(aws_sdk_firehose::types::CompressionFormat::Gzip)
        .build()
        .unwrap();
    aws_sdk_firehose::Client::new(&config)
        .create_delivery_stream()
        .delivery_stream_name(DELIVERY_STREAM)
        .delivery_stream_type(aws_sdk_firehose::types::DeliveryStreamType::DirectPut)
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateDeliveryStream: {}", show(&e)));
}

/// The bridge's queue and the spool's notification into it, set through the S3 API (moto's
/// CloudFormation drops `NotificationConfiguration`). Returns the queue's URL and ARN.
pub async fn spool_queue(moto: &Moto) -> (String, String) {
    let config = moto.config(SECONDARY).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = sqs
        .create_queue()
        .queue_name(QUEUE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateQueue: {}", show(&e)))
        .queue_url
        .unwrap();
    let arn = format!("arn:aws:sqs:{SECONDARY}:{ACCOUNT}:{QUEUE}");
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value(SPOOL_PREFIX)
                        .build(),
                )
                .build(),
        )
        .build();
    let queue = QueueConfiguration::builder()
        .queue_arn(&arn)
        .events(S3EventName::from("s3:ObjectCreated:*"))
        .filter(filter)
        .build()
        .unwrap();
    s3_client(&config)
        .put_bucket_notification_configuration()
        .bucket(SPOOL)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(queue)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketNotificationConfiguration: {}", show(&e)));
    (url, arn)
}

/// An SDK error with its whole chain.
pub fn show<E: std::error::Error + 'static>(error: &E) -> String {
    aws_sdk_s3::error::DisplayErrorContext(error).to_string()
}

// ---------------------------------------------------------------------------------------------
// Reading what landed in S3.

/// Every key under `prefix`, in order (all pages).
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListObjectsV2 {bucket}: {}", show(&e)));
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match page.next_continuation_token() {
            Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
            _ => break,
        }
    }
    keys
}

/// An object: its `Content-Type` and its bytes as stored.
pub async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> (String, Vec<u8>) {
    let output = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObject s3://{bucket}/{key}: {}", show(&e)));
    let content_type = output.content_type().unwrap_or_default().to_owned();
    let body = output.body.collect().await.unwrap().into_bytes().to_vec();
    (content_type, body)
}

/// Every line of every object of a bucket: (key, line), objects gunzipped when gzip.
pub async fn lines(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for key in keys(s3, bucket, "").await {
        let (_, body) = object(s3, bucket, &key).await;
        let text = gunzip_if_gzip(&body).unwrap();
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            out.push((key.clone(), line.to_vec()));
        }
    }
    out
}

/// Splits a key `<stem>-<16 hex digits>.json.gz` into `<stem>.json.gz`; panics otherwise.
pub fn without_digest(key: &str) -> String {
    let (stem, digest) = key
        .strip_suffix(".json.gz")
        .and_then(|k| k.rsplit_once('-'))
        .unwrap_or_else(|| panic!("{key} does not end with -<digest>.json.gz"));
    assert!(
        digest.len() == 16 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}: the digest is 16 hex digits"
    );
    format!("{stem}.json.gz")
}

// ---------------------------------------------------------------------------------------------
// Events.

// The pipeline tests' two event types and their registry (`clock.in`, `note.added`).
pub use crate::pipeline_common::{REGISTRY, note, punch};

/// 2020-11-25T13:00:00Z in seconds: the arrival time of the first record.
pub const ARRIVAL_SECONDS: i64 = 1_606_309_200;

/// The `received_at` of a record that arrived `index` seconds after [`ARRIVAL_SECONDS`] (at
/// most an hour).
pub fn received_at(index: usize) -> String {
    format!("2020-11-25T13:{:02}:{:02}.000Z", index / 60, index % 60)
}

/// The sequence number of record `index` of shard 0 (Kinesis-sized, ascending).
pub fn sequence(index: usize) -> String {
    format!("49590338271490256608559692538361571095921575989136{index:06}")
}

/// The Kinesis event Lambda delivers for `records` of shard 0 of a stream in `region`: record
/// `i` has sequence number [`sequence`]`(i)` and arrived `i` seconds after
/// [`ARRIVAL_SECONDS`]. Whole seconds: `aws_lambda_events` 1.2.1 reads the fraction of
/// `approximateArrivalTimestamp` from the float's shortest text, so `.010` becomes 1 ms.
pub fn kinesis_event(region: &str, records: &[Vec<u8>]) -> KinesisEvent {
    let records: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, data)| {
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": format!("pk-{i}"),
                    "sequenceNumber": sequence(i),
                    "data": BASE64.encode(data),
                    "approximateArrivalTimestamp": ARRIVAL_SECONDS + i as i64,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{}", sequence(i)),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": format!("arn:aws:iam::{ACCOUNT}:role/wiw-function"),
                "awsRegion": region,
                "eventSourceARN": format!("arn:aws:kinesis:{region}:{ACCOUNT}:stream/wiw-events"),
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

// ---------------------------------------------------------------------------------------------
// SQS, as the bridge's event source mapping uses it.

/// Receives messages from the queue until `count` arrived (or 10 s passed; then panics).
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    count: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut messages = Vec::new();
    while messages.len() < count {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(i32::try_from((count - messages.len()).min(10)).unwrap())
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ReceiveMessage: {}", show(&e)));
        messages.extend(output.messages.unwrap_or_default());
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {count} messages arrived in {queue_url}",
            messages.len()
        );
    }
    messages
}

/// How many messages the queue holds (visible, and in flight).
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> (usize, usize) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let output = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes: {}", show(&e)));
    let attributes = output.attributes.unwrap_or_default();
    let number = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(usize::MAX)
    };
    (
        number(QueueAttributeName::ApproximateNumberOfMessages),
        number(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

/// The SQS event Lambda's event source mapping delivers for `messages`.
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": SECONDARY,
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// What the event source mapping does with the bridge's answer: deletes every message not
/// listed in `failed_ids`; the listed ones stay in the queue, and are made visible again at
/// once (as the visibility timeout would, later).
pub async fn settle(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[aws_sdk_sqs::types::Message],
    failed_ids: &[String],
) {
    for message in messages {
        let handle = message.receipt_handle().unwrap();
        if failed_ids
            .iter()
            .any(|id| Some(id.as_str()) == message.message_id())
        {
            sqs.change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap_or_else(|e| panic!("ChangeMessageVisibility: {}", show(&e)));
        } else {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .send()
                .await
                .unwrap_or_else(|e| panic!("DeleteMessage: {}", show(&e)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing of the two servers.

type Body = Full<Bytes>;

/// One HTTP call (for moto's own API, and the proxy's forwarding).
async fn http_call(method: Method, url: &str, body: Bytes) -> Result<(StatusCode, Bytes), String> {
    let request = Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    let response = plain_client()
        .request(request)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

fn plain_client() -> HttpClient<HttpConnector, Body> {
    HttpClient::builder(TokioExecutor::new()).build_http()
}

/// A server on 127.0.0.1 whose accept loop (and with it every connection) stops when dropped.
struct Server {
    url: String,
    task: JoinHandle<()>,
}

impl Server {
    async fn start<F, Fut>(handle: F) -> Server
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response<Body>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            // Dropping the set (when the loop is aborted) aborts the connections too.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handle = handle.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let handle = handle.clone();
                        async move { Ok::<_, Infallible>(handle(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Server {
            url: format!("http://{address}"),
            task,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn respond(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response.body(Full::new(body.into())).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The fault-injecting proxy.

/// What the proxy does with a request a [`Rule`] matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this, without forwarding.
    Reply {
        /// HTTP status.
        status: u16,
        /// `Content-Type` and other headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: String,
    },
    /// Forward, then mark these entries of a `PutRecordBatch` answer failed with `code`.
    FailEntries {
        /// Indices in the request's `Records`.
        entries: Vec<usize>,
        /// The entries' `ErrorCode`.
        code: String,
    },
}

impl Fault {
    /// An S3 error answer (XML), such as 503 `SlowDown`.
    pub fn s3(status: u16, code: &str) -> Fault {
        Fault::Reply {
            status,
            headers: vec![("content-type".into(), "application/xml".into())],
            body: format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>injected by the test proxy</Message><RequestId>FAULT</RequestId></Error>"#
            ),
        }
    }

    /// A JSON-protocol error answer (Firehose, SQS), such as 503
    /// `ServiceUnavailableException`.
    pub fn json(status: u16, code: &str) -> Fault {
        Fault::Reply {
            status,
            headers: vec![
                ("content-type".into(), "application/x-amz-json-1.1".into()),
                ("x-amzn-errortype".into(), code.into()),
            ],
            body: json!({"__type": code, "message": "injected by the test proxy"}).to_string(),
        }
    }

    /// Firehose's partial failure: these entries refused with `ServiceUnavailableException`.
    pub fn fail_entries(entries: &[usize]) -> Fault {
        Fault::FailEntries {
            entries: entries.to_vec(),
            code: "ServiceUnavailableException".into(),
        }
    }
}

/// When a [`Fault`] applies: an operation (`PutObject`, `PutRecordBatch`...), optionally only
/// for one bucket, the next `times` matching requests (`None`: every one).
#[derive(Debug, Clone)]
pub struct Rule {
    /// The operation.
    pub operation: String,
    /// Only requests for this bucket (S3).
    pub bucket: Option<String>,
    /// How many more requests it applies to; `None` for all.
    pub times: Option<usize>,
    /// What to do.
    pub fault: Fault,
}

impl Rule {
    /// The next `times` requests of `operation`.
    pub fn next(operation: &str, times: usize, fault: Fault) -> Rule {
        Rule {
            operation: operation.into(),
            bucket: None,
            times: Some(times),
            fault,
        }
    }

    /// Every request of `operation`.
    pub fn always(operation: &str, fault: Fault) -> Rule {
        Rule {
            operation: operation.into(),
            bucket: None,
            times: None,
            fault,
        }
    }

    /// Only requests for `bucket`.
    pub fn in_bucket(mut self, bucket: &str) -> Rule {
        self.bucket = Some(bucket.into());
        self
    }
}

/// One request through the proxy and what it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The operation (`x-id` or `X-Amz-Target`, else from the method).
    pub operation: String,
    /// For S3 (path-style): the bucket.
    pub bucket: Option<String>,
    /// For S3: the key, decoded.
    pub key: Option<String>,
    /// The request body as sent.
    pub request: Bytes,
    /// The status the client got.
    pub status: u16,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
}

impl Exchange {
    /// For `PutRecordBatch`: the records' data, decoded.
    pub fn firehose_records(&self) -> Vec<Vec<u8>> {
        let body: Value = serde_json::from_slice(&self.request).unwrap();
        body["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| BASE64.decode(r["Data"].as_str().unwrap()).unwrap())
            .collect()
    }
}

#[derive(Default)]
struct ProxyState {
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<Exchange>>,
}

/// A proxy on 127.0.0.1 in front of moto that injects [`Fault`]s. See the module
/// documentation.
pub struct FaultProxy {
    /// The proxy's URL (an SDK endpoint).
    pub url: String,
    state: Arc<ProxyState>,
    _server: Server,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream`.
    pub async fn start(upstream: &str) -> FaultProxy {
        let state = Arc::new(ProxyState::default());
        let upstream: Arc<str> = upstream.into();
        let shared = state.clone();
        let server = Server::start(move |request| {
            let state = shared.clone();
            let upstream = upstream.clone();
            async move { proxy(&state, &upstream, request).await }
        })
        .await;
        FaultProxy {
            url: server.url.clone(),
            state,
            _server: server,
        }
    }

    /// Adds rules (the first matching rule with uses left applies).
    pub fn script(&self, rules: impl IntoIterator<Item = Rule>) {
        self.state.rules.lock().unwrap().extend(rules);
    }

    /// Removes every rule: from now on, every request is forwarded as is.
    pub fn heal(&self) {
        self.state.rules.lock().unwrap().clear();
    }

    /// Every exchange so far.
    pub fn log(&self) -> Vec<Exchange> {
        self.state.log.lock().unwrap().clone()
    }

    /// The exchanges of one operation.
    pub fn calls(&self, operation: &str) -> Vec<Exchange> {
        self.log()
            .into_iter()
            .filter(|e| e.operation == operation)
            .collect()
    }
}

/// The operation of a request: S3's `x-id` query parameter, the JSON protocols'
/// `X-Amz-Target`, else S3's method and path; with the bucket and key of a path-style S3 path.
fn operation(request: &Request<Incoming>) -> (String, Option<String>, Option<String>) {
    if let Some(target) = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        let name = target.rsplit('.').next().unwrap_or(target);
        return (name.to_owned(), None, None);
    }
    let path = request.uri().path().trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((bucket, key)) if !key.is_empty() => (bucket, Some(key)),
        _ => (path, None),
    };
    let key = key.map(|k| {
        percent_encoding::percent_decode_str(k)
            .decode_utf8_lossy()
            .into_owned()
    });
    let x_id = request.uri().query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("x-id="))
            .map(str::to_owned)
    });
    let name = x_id.unwrap_or_else(|| match (request.method().as_str(), &key) {
        ("PUT", Some(_)) => "PutObject".into(),
        ("GET", Some(_)) => "GetObject".into(),
        ("HEAD", Some(_)) => "HeadObject".into(),
        ("DELETE", Some(_)) => "DeleteObject".into(),
        (method, _) => format!("{method} bucket"),
    });
    let bucket = (!bucket.is_empty()).then(|| bucket.to_owned());
    (name, bucket, key)
}

async fn proxy(state: &ProxyState, upstream: &str, request: Request<Incoming>) -> Response<Body> {
    let (name, bucket, key) = operation(&request);
    let fault = {
        let mut rules = state.rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|rule| {
                rule.operation == name
                    && rule.times != Some(0)
                    && rule
                        .bucket
                        .as_ref()
                        .is_none_or(|b| Some(b) == bucket.as_ref())
            })
            .map(|rule| {
                if let Some(times) = &mut rule.times {
                    *times -= 1;
                }
                rule.fault.clone()
            })
    };
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let response = match &fault {
        Some(Fault::Reply {
            status,
            headers,
            body,
        }) => {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            respond(*status, &headers, body.clone())
        }
        forward => {
            let uri = format!(
                "{upstream}{}",
                parts.uri.path_and_query().map_or("/", |p| p.as_str())
            );
            let mut outgoing = Request::builder().method(parts.method.clone()).uri(uri);
            for (header, value) in &parts.headers {
                outgoing = outgoing.header(header, value);
            }
            let outgoing = outgoing.body(Full::new(body.clone())).unwrap();
            match plain_client().request(outgoing).await {
                Err(error) => respond(502, &[], format!("the proxy cannot reach moto: {error:?}")),
                Ok(answer) => {
                    let (mut head, answer) = answer.into_parts();
                    let mut answer = answer.collect().await.unwrap().to_bytes();
                    if let Some(Fault::FailEntries { entries, code }) = forward {
                        answer = fail_entries(&answer, entries, code);
                    }
                    // The body may have changed: hyper sets the length again.
                    head.headers.remove(hyper::header::CONTENT_LENGTH);
                    head.headers.remove(hyper::header::TRANSFER_ENCODING);
                    head.headers.remove(hyper::header::CONNECTION);
                    Response::from_parts(head, Full::new(answer))
                }
            }
        }
    };
    state.log.lock().unwrap().push(Exchange {
        operation: name,
        bucket,
        key,
        request: body,
        status: response.status().as_u16(),
        fault,
    });
    response
}

/// A `PutRecordBatch` answer with `entries` refused.
fn fail_entries(answer: &[u8], entries: &[usize], code: &str) -> Bytes {
    let mut value: Value = serde_json::from_slice(answer)
        .unwrap_or_else(|e| panic!("moto's PutRecordBatch answer is not JSON: {e}"));
    let responses = value["RequestResponses"].as_array_mut().unwrap();
    for &entry in entries {
        responses[entry] = json!({"ErrorCode": code, "ErrorMessage": "Slow down."});
    }
    let failed = responses
        .iter()
        .filter(|r| r.get("ErrorCode").is_some())
        .count();
    value["FailedPutCount"] = json!(failed);
    Bytes::from(value.to_string())
}

// ---------------------------------------------------------------------------------------------
// The Invoke stand-in.

/// How the primary answers `Invoke`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primary {
    /// The validator runs.
    Up,
    /// 429 `TooManyRequestsException` (the function's concurrency is exhausted).
    Throttled,
    /// 500 `ServiceException` (Lambda itself fails in the region).
    Down,
    /// The function crashes: 200 with `X-Amz-Function-Error: Unhandled`.
    Crashing,
}

/// One `Invoke` the server received.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `{FunctionName}` of the path, decoded.
    pub function: String,
    /// The region of the request's signature (its credential scope).
    pub region: String,
    /// `X-Amz-Invocation-Type` (absent means `RequestResponse`).
    pub invocation_type: Option<String>,
    /// The payload.
    pub payload: Bytes,
    /// The HTTP status answered.
    pub status: u16,
    /// `X-Amz-Function-Error` answered.
    pub function_error: Option<String>,
}

/// The primary validator as a function behind Lambda's `Invoke` API.
pub type Validator = Function<S3Store, FirehoseStream, LambdaInvoker, SqsQueue, CloudWatchMetrics>;

struct InvokeState {
    validator: Validator,
    primary: Mutex<Primary>,
    log: Mutex<Vec<Invocation>>,
}

/// A local server that speaks Lambda's `Invoke` API and runs the primary's validator. See the
/// module documentation.
pub struct InvokeServer {
    /// The server's URL (an SDK endpoint for Lambda).
    pub url: String,
    state: Arc<InvokeState>,
    _server: Server,
}

/// The validator's settings in the primary stack (with quick retries).
pub fn validator_config() -> ValidatorConfig {
    ValidatorConfig {
        region: PRIMARY.into(),
        good_bucket: GOOD.into(),
        quarantine_bucket: QUARANTINE.into(),
        max_event_bytes: 4096,
        retry: quick_retry(),
        lake: Default::default(),
    }
}

impl InvokeServer {
    /// Starts the server; the validator writes through `store` (the primary's S3).
    pub async fn start(store: S3Store) -> InvokeServer {
        let state = Arc::new(InvokeState {
            validator: Function {
                registry: &REGISTRY,
                wiring: Wiring::Validator {
                    config: validator_config(),
                    store,
                },
                metrics: None,
                sleeper: TokioSleeper::default(),
            },
            primary: Mutex::new(Primary::Up),
            log: Mutex::new(Vec::new()),
        });
        let shared = state.clone();
        let server = Server::start(move |request| {
            let state = shared.clone();
            async move { invoke(&state, request).await }
        })
        .await;
        InvokeServer {
            url: server.url.clone(),
            state,
            _server: server,
        }
    }

    /// Switches how the primary answers.
    pub fn set(&self, primary: Primary) {
        *self.state.primary.lock().unwrap() = primary;
    }

    /// Every invocation so far.
    pub fn log(&self) -> Vec<Invocation> {
        self.state.log.lock().unwrap().clone()
    }
}

const INVOKE_PATH: &str = "/2015-03-31/functions/";

async fn invoke(state: &InvokeState, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let function = path
        .strip_prefix(INVOKE_PATH)
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .map(|name| {
            percent_encoding::percent_decode_str(name)
                .decode_utf8_lossy()
                .into_owned()
        });
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // `Credential=testing/20201125/us-east-1/lambda/aws4_request`: the region the client signs for.
    let region = header("authorization")
        .and_then(|auth| {
            let scope = auth
                .split("Credential=")
                .nth(1)?
                .split(',')
                .next()?
                .to_owned();
            scope.split('/').nth(2).map(str::to_owned)
        })
        .unwrap_or_default();
    let invocation_type = header("x-amz-invocation-type");
    let method = request.method().clone();
    let payload = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let primary = *state.primary.lock().unwrap();
    let json_error = |status: u16, kind: &str, body: Value| {
        respond(
            status,
            &[
                ("content-type", "application/json"),
                ("x-amzn-errortype", kind),
            ],
            body.to_string(),
        )
    };
    let response = match function.as_deref() {
        _ if method != Method::POST => json_error(
            405,
            "MethodNotAllowed",
            json!({"message": "only POST .../invocations"}),
        ),
        None => json_error(
            404,
            "UnknownOperationException",
            json!({"Type": "User", "message": format!("no operation at {path}")}),
        ),
        Some(name) if name != VALIDATOR && name != validator_arn() => json_error(
            404,
            "ResourceNotFoundException",
            json!({"Type": "User", "Message": format!("Function not found: {name}")}),
        ),
        Some(_)
            if invocation_type
                .as_deref()
                .is_some_and(|t| t != "RequestResponse") =>
        {
            json_error(
                400,
                "InvalidParameterValueException",
                json!({"Type": "User", "message": "this stand-in serves RequestResponse only"}),
            )
        }
        Some(_) => match primary {
            Primary::Throttled => json_error(
                429,
                "TooManyRequestsException",
                json!({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}),
            ),
            Primary::Down => json_error(
                500,
                "ServiceException",
                json!({"Type": "Service", "Message": "The Lambda service encountered an internal error."}),
            ),
            Primary::Crashing => function_error(&json!({
                "errorType": "Runtime.ExitError",
                "errorMessage": "RequestId: 0 Error: Runtime exited with error: signal: killed",
            })),
            Primary::Up => match state.validator.handle_payload(&payload).await {
                Ok(answer) => respond(
                    200,
                    &[
                        ("content-type", "application/json"),
                        ("x-amz-executed-version", "$LATEST"),
                    ],
                    answer,
                ),
                Err(error) => {
                    let diagnostic = lambda_runtime::Diagnostic::from(error);
                    function_error(&json!({
                        "errorType": diagnostic.error_type,
                        "errorMessage": diagnostic.error_message,
                    }))
                }
            },
        },
    };
    state.log.lock().unwrap().push(Invocation {
        function: function.unwrap_or_default(),
        region,
        invocation_type,
        payload,
        status: response.status().as_u16(),
        function_error: response
            .headers()
            .get("x-amz-function-error")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    response
}

/// A function error as Lambda answers it.
fn function_error(error: &Value) -> Response<Body> {
    respond(
        200,
        &[
            ("content-type", "application/json"),
            ("x-amz-executed-version", "$LATEST"),
            ("x-amz-function-error", "Unhandled"),
        ],
        error.to_string(),
    )
}

/// The bridge's view of the primary: a [`LambdaInvoker`] whose endpoint is `server`, in the
/// secondary region, calling functions in the primary region.
pub async fn invoker(server: &InvokeServer) -> LambdaInvoker {
    LambdaInvoker::new(
        &sdk_config(&server.url, SECONDARY).await,
        PRIMARY,
        ingest_runtime::pipeline::bridge::invoke_attempt_timeout(Duration::from_secs(60)),
    )
}

/// Counts equal items: `{item: times}`.
pub fn tally<T: std::hash::Hash + Eq>(items: impl IntoIterator<Item = T>) -> HashMap<T, usize> {
    let mut counts = HashMap::new();
    for item in items {
        *counts.entry(item).or_insert(0) += 1;
    }
    counts
}
