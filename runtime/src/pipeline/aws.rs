//! The handlers' traits over the official AWS SDK for Rust (feature `aws`): [`S3Store`]
//! ([`ObjectStore`]), [`FirehoseStream`] ([`DeliveryStream`]), [`LambdaInvoker`]
//! ([`Invoker`]), [`SqsQueue`] ([`MessageQueue`]) and [`CloudWatchMetrics`] ([`MetricStore`],
//! the lever's publisher).
//!
//! Design:
//!
//! - **One HTTP stack**: hyper 1 with rustls over ring ([`http_client`]), passed to the SDK
//!   explicitly, so no SDK crate pulls its default (aws-lc) or legacy (hyper 0.14) stack.
//! - **Configuration from Lambda's environment, not the SDK's default chain**
//!   ([`AwsEnvironment`], [`sdk_config`]). Lambda sets the execution role's credentials
//!   (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and the region
//!   (`AWS_REGION`) in the environment of every function it starts, so the `bootstrap` reads
//!   those and builds the [`SdkConfig`] itself. `aws-config`'s default chain would look at the
//!   same variables first and find them, but linking it links every other source too (profile
//!   files, SSO, STS web identity and assume-role, the ECS container endpoint, the EC2 instance
//!   metadata client), none of which runs in Lambda: dropping it took 788 KB (8.5%) off the
//!   arm64 `bootstrap` of `specs/ingest.yaml` (BENCHMARKS.md, issue 9), bytes every cold start
//!   downloads. Lambda's other way of handing out credentials does not apply here: with
//!   SnapStart it gives them through the container credentials endpoint
//!   (`AWS_CONTAINER_CREDENTIALS_FULL_URI`) instead, but SnapStart exists only for the managed
//!   Java, Python and .NET runtimes and for container images, never for a `provided.al2023`
//!   zip, which is what `ingest package` builds and the stacks deploy. Missing credentials or
//!   region stop the `bootstrap` at start with one error naming the variable
//!   ([`AwsEnvironment::from_lookup`], reported by the function's configuration), never a
//!   failed call per invocation.
//! - **Endpoints**: `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_<SERVICE>`
//!   ([`ENDPOINT_SERVICES`]: `AWS_ENDPOINT_URL_S3`...) point the clients at a stand-in such as
//!   moto, with the SDK's precedence (the service's variable first). S3 then uses path-style
//!   addressing, since a local endpoint has no per-bucket host names.
//! - **One retry layer**: the SDK's own retries are disabled ([`sdk_config`]); the handlers'
//!   [`RetryPolicy`](super::RetryPolicy) retries what [`classify`] calls retryable, so the
//!   number of tries and the backoff are the documented ones, not a product of two policies.
//! - **Every call has a deadline**: the SDK sets no attempt or read timeout by default, so a
//!   hung connection would hold an invocation until Lambda kills it (a function error: every
//!   record or message of the batch comes back, finished or not). [`sdk_config`] bounds each
//!   attempt ([`ATTEMPT_TIMEOUT`], the handlers' `RetryPolicy::attempt_timeout`) and the
//!   connect; an `Invoke` waits for the validator, so its attempt is the validator's timeout
//!   and a margin ([`LambdaInvoker::new`]); and a `GetObject` body, which the SDK's timeouts
//!   do not cover once the response has started, is read under [`S3Store`]'s own timeout.
//! - Every SDK failure becomes an [`InfraError`] whose [`ErrorKind`] comes from the HTTP status
//!   and the service's error code ([`classify`]); the message keeps the SDK's whole error chain.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_firehose::types::Record;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, SharedHttpClient};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{Blob, ByteStream};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_types::region::Region;
use aws_types::sdk_config::SdkConfig;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use super::lever::{Datum, LifecycleRule, MetricStore, SwitchLifecycle, SwitchObject, SwitchStore};
use super::{
    DeliveryStream, ErrorKind, InfraError, InvokeOutput, Invoker, Lookup, MessageQueue,
    ObjectStore, Service,
};

/// Error codes that mean "slow down".
const THROTTLED_CODES: &[&str] = &[
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
    "LimitExceededException",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ThrottledException",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
];
/// Error codes of transient failures, whatever their status.
const UNAVAILABLE_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "RequestTimeout",
    "RequestTimeoutException",
    "ResourceNotReadyException",
    "ServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];
/// Error codes of a missing bucket, object, stream or function.
const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
    "ResourceNotFoundException",
];
/// Error codes of refused credentials or permissions.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "KMSAccessDeniedException",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
];

/// The kind of a service's error answer, from its error code (first) and HTTP status.
pub fn classify(status: Option<u16>, code: Option<&str>) -> ErrorKind {
    if let Some(code) = code {
        for (codes, kind) in [
            (THROTTLED_CODES, ErrorKind::Throttled),
            (UNAVAILABLE_CODES, ErrorKind::Unavailable),
            (NOT_FOUND_CODES, ErrorKind::NotFound),
            (DENIED_CODES, ErrorKind::Denied),
        ] {
            if codes.contains(&code) {
                return kind;
            }
        }
    }
    match status {
        Some(429) => ErrorKind::Throttled,
        Some(408 | 500..=599) | None => ErrorKind::Unavailable,
        Some(404) => ErrorKind::NotFound,
        Some(401 | 403) => ErrorKind::Denied,
        Some(_) => ErrorKind::Invalid,
    }
}

/// An SDK failure as an [`InfraError`]: a request that could not be built is
/// [`ErrorKind::Invalid`]; timeouts, connection failures and unreadable answers are
/// [`ErrorKind::Unavailable`]; a service's error answer is [`classify`]d.
pub fn infra_error<E>(
    service: Service,
    operation: &'static str,
    error: &SdkError<E, HttpResponse>,
) -> InfraError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let kind = match error {
        SdkError::ConstructionFailure(_) => ErrorKind::Invalid,
        SdkError::ServiceError(context) => {
            classify(Some(context.raw().status().as_u16()), context.err().code())
        }
        _ => ErrorKind::Unavailable,
    };
    InfraError::new(
        service,
        operation,
        kind,
        DisplayErrorContext(error).to_string(),
    )
}

/// The HTTPS client every SDK client shares: hyper 1 and rustls with ring, trusting the
/// system's certificates.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

pub use super::{ATTEMPT_TIMEOUT, BODY_TIMEOUT};
/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// The SDK's timeouts for calls whose attempts take at most `attempt`.
pub fn timeouts(attempt: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(attempt)
        .build()
}

/// The variable that overrides every service's endpoint.
pub const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// The SDK service ids of the clients this module builds; each has its own endpoint variable,
/// `AWS_ENDPOINT_URL_` and the id in upper case (`AWS_ENDPOINT_URL_S3`). A client added here
/// adds its id.
pub const ENDPOINT_SERVICES: [&str; 5] = ["S3", "Firehose", "Lambda", "SQS", "CloudWatch"];

/// What a `bootstrap` needs from Lambda's environment to reach AWS (see the module
/// documentation). `Debug` shows the access key id, never the secret or the session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsEnvironment {
    /// `AWS_REGION` (Lambda sets it), else `AWS_DEFAULT_REGION`.
    pub region: String,
    /// The execution role's credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN`.
    pub credentials: Credentials,
    /// `AWS_ENDPOINT_URL`, when set.
    pub endpoint_url: Option<String>,
    /// `AWS_ENDPOINT_URL_<SERVICE>` by service id, for the ids of [`ENDPOINT_SERVICES`] that
    /// have one.
    pub service_endpoints: BTreeMap<String, String>,
}

impl AwsEnvironment {
    /// Reads the region, the credentials and the endpoint overrides through `lookup` (an empty
    /// variable counts as unset). A missing region or key is an error naming the variable.
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Self, String> {
        let read = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let region = read("AWS_REGION")
            .or_else(|| read("AWS_DEFAULT_REGION"))
            .ok_or("the environment variable AWS_REGION is not set (Lambda sets it)")?;
        let key = |name: &str| {
            read(name).ok_or_else(|| {
                format!(
                    "the environment variable {name} is not set: Lambda sets AWS_ACCESS_KEY_ID, \
                     AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN to the execution role's \
                     credentials; outside Lambda, set them to the credentials to use"
                )
            })
        };
        let credentials = Credentials::new(
            key("AWS_ACCESS_KEY_ID")?,
            key("AWS_SECRET_ACCESS_KEY")?,
            read("AWS_SESSION_TOKEN"),
            None,
            "Environment",
        );
        let service_endpoints = ENDPOINT_SERVICES
            .iter()
            .filter_map(|id| {
                let url = read(&format!("{ENDPOINT_URL}_{}", id.to_uppercase()))?;
                Some(((*id).to_owned(), url))
            })
            .collect();
        Ok(AwsEnvironment {
            region,
            credentials,
            endpoint_url: read(ENDPOINT_URL),
            service_endpoints,
        })
    }
}

/// The per-service endpoints as the SDK clients ask for them: each client asks with its
/// service id when it is built from an [`SdkConfig`], and its own variable wins over
/// `AWS_ENDPOINT_URL`, as in `aws-config`. Other settings are not read (the SDK's defaults).
#[derive(Debug)]
struct ServiceEndpoints {
    global: Option<String>,
    by_service: BTreeMap<String, String>,
}

impl LoadServiceConfig for ServiceEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.env() != ENDPOINT_URL {
            return None;
        }
        self.by_service
            .get(key.service_id())
            .or(self.global.as_ref())
            .cloned()
    }
}

/// The SDK configuration of a `bootstrap`: `environment`'s region, credentials and endpoints,
/// [`http_client`], the SDK's retries off, every attempt bounded ([`ATTEMPT_TIMEOUT`]) and
/// the connect ([`CONNECT_TIMEOUT`]), and otherwise the clients' defaults of the latest
/// behavior version (stalled-stream protection, an identity cache).
pub fn sdk_config(environment: &AwsEnvironment) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(environment.region.clone()))
        .credentials_provider(SharedCredentialsProvider::new(
            environment.credentials.clone(),
        ))
        .http_client(http_client())
        .retry_config(RetryConfig::disabled())
        .service_config(ServiceEndpoints {
            global: environment.endpoint_url.clone(),
            by_service: environment.service_endpoints.clone(),
        })
        .timeout_config(timeouts(ATTEMPT_TIMEOUT));
    builder.set_endpoint_url(environment.endpoint_url.clone());
    builder.build()
}

/// Whether S3 must be addressed path-style: when an endpoint override (`AWS_ENDPOINT_URL` or
/// `AWS_ENDPOINT_URL_S3`) points at a stand-in that has no per-bucket host names.
pub fn s3_path_style(config: &SdkConfig, lookup: Lookup<'_>) -> bool {
    config.endpoint_url().is_some()
        || lookup("AWS_ENDPOINT_URL_S3").is_some_and(|url| !url.is_empty())
}

/// S3 as an [`ObjectStore`].
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
}

impl S3Store {
    /// A store over an SDK configuration; `path_style` as [`s3_path_style`] says.
    pub fn new(config: &SdkConfig, path_style: bool) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        S3Store {
            client: aws_sdk_s3::Client::from_conf(s3),
        }
    }

    /// A store over an existing client.
    pub fn from_client(client: aws_sdk_s3::Client) -> Self {
        S3Store { client }
    }

    /// An object's body: the current version, or the one named.
    async fn read_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<String>,
    ) -> Result<Vec<u8>, InfraError> {
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id)
            .send()
            .await
            .map_err(|e| infra_error(Service::S3, "GetObject", &e))?;
        let unavailable = |what: String| {
            InfraError::new(
                Service::S3,
                "GetObject",
                ErrorKind::Unavailable,
                format!("reading the body of s3://{bucket}/{key}: {what}"),
            )
        };
        let body = tokio::time::timeout(BODY_TIMEOUT, output.body.collect())
            .await
            .map_err(|_| unavailable(format!("no end after {} s", BODY_TIMEOUT.as_secs())))?
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(body.into_bytes().to_vec())
    }
}

impl ObjectStore for S3Store {
    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), InfraError> {
        let content_type = if key.ends_with(".gz") {
            "application/gzip"
        } else {
            "application/x-ndjson"
        };
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| infra_error(Service::S3, "PutObject", &e))?;
        Ok(())
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, InfraError> {
        self.read_version(bucket, key, None).await
    }
}

/// The switch bucket through `ListObjectVersions` (prefix the switch's key): S3 lists a key's
/// versions and delete markers newest first, so the first page holds the current one and the
/// newest version under a delete marker (the bucket keeps a year of them, far fewer than a
/// page's 1,000 for one key).
impl SwitchStore for S3Store {
    async fn read_switch(&self, bucket: &str, key: &str) -> Result<SwitchObject, InfraError> {
        let listing = self
            .client
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .send()
            .await
            .map_err(|e| infra_error(Service::S3, "ListObjectVersions", &e))?;
        let deleted = listing
            .delete_markers()
            .iter()
            .any(|marker| marker.key() == Some(key) && marker.is_latest() == Some(true));
        let versions: Vec<_> = listing
            .versions()
            .iter()
            .filter(|version| version.key() == Some(key))
            .collect();
        if !deleted {
            if versions.is_empty() {
                return Ok(SwitchObject::NeverSet);
            }
            return Ok(SwitchObject::Current(self.get_object(bucket, key).await?));
        }
        let Some(newest) = newest_version(&versions) else {
            return Ok(SwitchObject::Deleted { last: None });
        };
        let version = newest.version_id().map(str::to_owned);
        Ok(SwitchObject::Deleted {
            last: Some(self.read_version(bucket, key, version).await?),
        })
    }

    async fn versioning_enabled(&self, bucket: &str) -> Result<bool, InfraError> {
        let output = self
            .client
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| infra_error(Service::S3, "GetBucketVersioning", &e))?;
        Ok(output.status() == Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled))
    }

    async fn lifecycle_rules(
        &self,
        bucket: &str,
        _expected: SwitchLifecycle,
    ) -> Result<Option<Vec<LifecycleRule>>, InfraError> {
        let output = match self
            .client
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    == Some("NoSuchLifecycleConfiguration") =>
            {
                return Ok(None);
            }
            Err(error) => {
                return Err(infra_error(
                    Service::S3,
                    "GetBucketLifecycleConfiguration",
                    &error,
                ));
            }
        };
        Ok(Some(output.rules().iter().map(lifecycle_rule).collect()))
    }

    async fn bucket_policy(
        &self,
        bucket: &str,
        _operator_role_arn: &str,
    ) -> Result<Option<String>, InfraError> {
        match self.client.get_bucket_policy().bucket(bucket).send().await {
            Ok(output) => Ok(output.policy().map(str::to_owned)),
            Err(error)
                if error
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    == Some("NoSuchBucketPolicy") =>
            {
                Ok(None)
            }
            Err(error) => Err(infra_error(Service::S3, "GetBucketPolicy", &error)),
        }
    }
}

/// The newest version under a delete marker: the first of the key's versions in S3's listing,
/// which is newest first. Not the latest `LastModified`: two writes in one second share it.
fn newest_version<'a>(
    versions: &[&'a aws_sdk_s3::types::ObjectVersion],
) -> Option<&'a aws_sdk_s3::types::ObjectVersion> {
    versions.first().copied()
}

/// A rule of `GetBucketLifecycleConfiguration`, as [`super::lever::lifecycle_findings`]
/// judges it.
fn lifecycle_rule(rule: &aws_sdk_s3::types::LifecycleRule) -> LifecycleRule {
    let filter = rule.filter();
    let and = filter.and_then(|f| f.and());
    #[allow(deprecated)] // the legacy top-level `Prefix` still applies where a bucket has it
    let legacy_prefix = rule.prefix();
    let prefix = filter
        .and_then(|f| f.prefix())
        .or_else(|| and.and_then(|a| a.prefix()))
        .or(legacy_prefix)
        .unwrap_or_default()
        .to_owned();
    let narrowed = filter.is_some_and(|f| {
        f.tag().is_some()
            || f.object_size_greater_than().is_some()
            || f.object_size_less_than().is_some()
    }) || and.is_some_and(|a| {
        !a.tags().is_empty()
            || a.object_size_greater_than().is_some()
            || a.object_size_less_than().is_some()
    });
    let expires_current = rule
        .expiration()
        .is_some_and(|e| e.days().is_some() || e.date().is_some());
    LifecycleRule {
        id: rule.id().unwrap_or_default().to_owned(),
        enabled: rule.status() == &aws_sdk_s3::types::ExpirationStatus::Enabled,
        prefix,
        narrowed,
        expires_current,
        noncurrent_days: rule
            .noncurrent_version_expiration()
            .and_then(|e| e.noncurrent_days())
            .and_then(|days| u64::try_from(days).ok()),
        transitions: !rule.transitions().is_empty()
            || !rule.noncurrent_version_transitions().is_empty(),
    }
}

/// Firehose as a [`DeliveryStream`] (`PutRecordBatch` to a stream named by
/// `DELIVERY_STREAM`).
#[derive(Debug, Clone)]
pub struct FirehoseStream {
    client: aws_sdk_firehose::Client,
}

impl FirehoseStream {
    /// A delivery stream client over an SDK configuration.
    pub fn new(config: &SdkConfig) -> Self {
        FirehoseStream {
            client: aws_sdk_firehose::Client::new(config),
        }
    }

    /// A delivery stream over an existing client.
    pub fn from_client(client: aws_sdk_firehose::Client) -> Self {
        FirehoseStream { client }
    }
}

impl DeliveryStream for FirehoseStream {
    async fn put_record_batch(
        &self,
        stream: &str,
        records: Vec<Vec<u8>>,
    ) -> Result<Vec<Option<String>>, InfraError> {
        let records = records
            .into_iter()
            .map(|data| Record::builder().data(Blob::new(data)).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                InfraError::new(
                    Service::Firehose,
                    "PutRecordBatch",
                    ErrorKind::Invalid,
                    e.to_string(),
                )
            })?;
        let output = self
            .client
            .put_record_batch()
            .delivery_stream_name(stream)
            .set_records(Some(records))
            .send()
            .await
            .map_err(|e| infra_error(Service::Firehose, "PutRecordBatch", &e))?;
        Ok(output
            .request_responses()
            .iter()
            .map(|entry| {
                entry.error_code().map(|code| match entry.error_message() {
                    Some(message) => format!("{code}: {message}"),
                    None => code.to_owned(),
                })
            })
            .collect())
    }
}

/// Lambda `Invoke` (`RequestResponse`) as an [`Invoker`], in the region of the function it
/// calls (the bridge calls the validator of the primary region).
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    /// An invoker over an SDK configuration, calling functions in `region`, each attempt
    /// abandoned after `attempt_timeout` (a synchronous `Invoke` lasts as long as the function
    /// runs: the bridge passes its `RetryPolicy::attempt_timeout`, which
    /// [`invoke_attempt_timeout`](super::bridge::invoke_attempt_timeout) derives from the
    /// validator's timeout, so the client and the bridge's deadline agree on one number).
    pub fn new(config: &SdkConfig, region: &str, attempt_timeout: Duration) -> Self {
        let lambda = aws_sdk_lambda::config::Builder::from(config)
            .region(Region::new(region.to_owned()))
            .timeout_config(timeouts(attempt_timeout))
            .build();
        LambdaInvoker {
            client: aws_sdk_lambda::Client::from_conf(lambda),
        }
    }

    /// An invoker over an existing client.
    pub fn from_client(client: aws_sdk_lambda::Client) -> Self {
        LambdaInvoker { client }
    }
}

impl Invoker for LambdaInvoker {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<InvokeOutput, InfraError> {
        let output = self
            .client
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| infra_error(Service::Lambda, "Invoke", &e))?;
        Ok(InvokeOutput {
            function_error: output.function_error,
            payload: output.payload.map(Blob::into_inner).unwrap_or_default(),
        })
    }
}

/// CloudWatch as a [`MetricStore`] (`PutMetricData`, `GetMetricStatistics`).
#[derive(Debug, Clone)]
pub struct CloudWatchMetrics {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchMetrics {
    /// Metrics over an SDK configuration, in its region.
    pub fn new(config: &SdkConfig) -> Self {
        CloudWatchMetrics {
            client: aws_sdk_cloudwatch::Client::new(config),
        }
    }

    /// Metrics over an existing client.
    pub fn from_client(client: aws_sdk_cloudwatch::Client) -> Self {
        CloudWatchMetrics { client }
    }
}

fn cloudwatch_dimensions(
    dimensions: &[(String, String)],
) -> Vec<aws_sdk_cloudwatch::types::Dimension> {
    dimensions
        .iter()
        .map(|(name, value)| {
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name(name)
                .value(value)
                .build()
        })
        .collect()
}

impl MetricStore for CloudWatchMetrics {
    async fn put(&self, namespace: &str, data: Vec<Datum>) -> Result<(), InfraError> {
        use aws_sdk_cloudwatch::types::{MetricDatum, StandardUnit};
        let data = data
            .into_iter()
            .map(|datum| {
                MetricDatum::builder()
                    .metric_name(datum.metric)
                    .set_dimensions(Some(cloudwatch_dimensions(&datum.dimensions)))
                    .value(datum.value)
                    .unit(StandardUnit::Count)
                    .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from(
                        datum.timestamp,
                    ))
                    .storage_resolution(60)
                    .build()
            })
            .collect();
        self.client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(|e| infra_error(Service::CloudWatch, "PutMetricData", &e))?;
        Ok(())
    }

    async fn maximum(
        &self,
        namespace: &str,
        metric: &str,
        dimensions: &[(String, String)],
        since: std::time::SystemTime,
        until: std::time::SystemTime,
    ) -> Result<Option<f64>, InfraError> {
        let window = until
            .duration_since(since)
            .unwrap_or_default()
            .as_secs()
            .max(60);
        // One period over the whole window, a multiple of 60 as CloudWatch requires.
        let period = i32::try_from(window.div_ceil(60) * 60).unwrap_or(i32::MAX);
        let answer = self
            .client
            .get_metric_statistics()
            .namespace(namespace)
            .metric_name(metric)
            .set_dimensions(Some(cloudwatch_dimensions(dimensions)))
            .start_time(aws_sdk_cloudwatch::primitives::DateTime::from(since))
            .end_time(aws_sdk_cloudwatch::primitives::DateTime::from(until))
            .period(period)
            .statistics(aws_sdk_cloudwatch::types::Statistic::Maximum)
            .send()
            .await
            .map_err(|e| infra_error(Service::CloudWatch, "GetMetricStatistics", &e))?;
        Ok(answer
            .datapoints()
            .iter()
            .filter_map(|point| point.maximum())
            .fold(None, |largest: Option<f64>, value| {
                Some(largest.map_or(value, |l| l.max(value)))
            }))
    }
}

/// An SQS queue as a [`MessageQueue`]: `ChangeMessageVisibility` on the queue at `QUEUE_URL`.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    /// The queue at `url` (the `QueueUrl` SQS answers `GetQueueUrl` with; the stacks pass
    /// `!Ref` of the queue).
    pub fn new(config: &SdkConfig, url: &str) -> Self {
        SqsQueue {
            client: aws_sdk_sqs::Client::new(config),
            url: url.to_owned(),
        }
    }

    /// The queue at `url` over an existing client.
    pub fn from_client(client: aws_sdk_sqs::Client, url: &str) -> Self {
        SqsQueue {
            client,
            url: url.to_owned(),
        }
    }
}

impl MessageQueue for SqsQueue {
    async fn change_visibility(
        &self,
        receipt_handle: &str,
        seconds: u64,
    ) -> Result<(), InfraError> {
        let seconds = i32::try_from(seconds).unwrap_or(i32::MAX);
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|e| infra_error(Service::Sqs, "ChangeMessageVisibility", &e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup_from(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    fn environment(pairs: &[(&str, &str)]) -> AwsEnvironment {
        AwsEnvironment::from_lookup(&lookup_from(pairs)).unwrap()
    }

    fn endpoint_for(config: &SdkConfig, service_id: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service_id)
            .env(ENDPOINT_URL)
            .profile("endpoint_url")
            .build()
            .unwrap();
        config.service_config()?.load_config(key)
    }

    #[test]
    fn lambdas_variables_give_the_region_and_the_roles_credentials() {
        let env = environment(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "session"),
        ]);
        assert_eq!(env.region, "eu-west-1", "AWS_REGION first");
        assert_eq!(
            (
                env.credentials.access_key_id(),
                env.credentials.secret_access_key(),
                env.credentials.session_token(),
                env.credentials.expiry(),
            ),
            ("ASIAEXAMPLE", "secret", Some("session"), None)
        );
        assert_eq!((env.endpoint_url, env.service_endpoints.len()), (None, 0));
        let config = sdk_config(&environment(&[
            ("AWS_DEFAULT_REGION", "us-east-2"),
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ]));
        assert_eq!(
            config.region().map(|region| region.as_ref()),
            Some("us-east-2")
        );
        assert_eq!(
            config.retry_config().map(RetryConfig::max_attempts),
            Some(1),
            "the handlers retry, not the SDK"
        );
        assert!(config.credentials_provider().is_some());
        assert_eq!(config.endpoint_url(), None);
        assert_eq!(endpoint_for(&config, "S3"), None, "AWS's own endpoints");
    }

    #[test]
    fn a_missing_region_or_key_is_one_error_naming_the_variable() {
        let error = AwsEnvironment::from_lookup(&lookup_from(&[
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ]))
        .unwrap_err();
        assert!(error.contains("AWS_REGION is not set"), "{error}");
        for missing in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let pairs: Vec<(&str, &str)> = [
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
            ]
            .into_iter()
            .map(|(name, value)| (name, if name == missing { "" } else { value }))
            .collect();
            let error = AwsEnvironment::from_lookup(&lookup_from(&pairs)).unwrap_err();
            assert!(
                error.starts_with(&format!("the environment variable {missing} is not set")),
                "an empty value counts as missing: {error}"
            );
        }
    }

    #[test]
    fn a_services_own_endpoint_variable_wins_over_the_global_one() {
        let config = sdk_config(&environment(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5001"),
            ("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:5002"),
        ]));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        let endpoints: Vec<Option<String>> = ENDPOINT_SERVICES
            .iter()
            .map(|id| endpoint_for(&config, id))
            .collect();
        assert_eq!(
            endpoints,
            [
                Some("http://127.0.0.1:5001".to_owned()),
                Some("http://127.0.0.1:5000".to_owned()),
                Some("http://127.0.0.1:5000".to_owned()),
                Some("http://127.0.0.1:5002".to_owned()),
                Some("http://127.0.0.1:5000".to_owned()),
            ]
        );
        let only_s3 = sdk_config(&environment(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5001"),
        ]));
        assert_eq!(
            (
                endpoint_for(&only_s3, "S3"),
                endpoint_for(&only_s3, "Lambda")
            ),
            (Some("http://127.0.0.1:5001".to_owned()), None)
        );
    }

    #[test]
    fn codes_decide_before_statuses() {
        assert_eq!(
            classify(Some(400), Some("ThrottlingException")),
            ErrorKind::Throttled
        );
        assert_eq!(classify(Some(503), Some("SlowDown")), ErrorKind::Throttled);
        assert_eq!(
            classify(Some(400), Some("RequestTimeout")),
            ErrorKind::Unavailable
        );
        assert_eq!(
            classify(Some(400), Some("ResourceNotFoundException")),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify(Some(400), Some("ExpiredTokenException")),
            ErrorKind::Denied
        );
        assert_eq!(classify(Some(429), None), ErrorKind::Throttled);
        assert_eq!(classify(Some(502), Some("Odd")), ErrorKind::Unavailable);
        assert_eq!(classify(Some(404), None), ErrorKind::NotFound);
        assert_eq!(classify(Some(403), None), ErrorKind::Denied);
        assert_eq!(
            classify(Some(413), Some("RequestTooLargeException")),
            ErrorKind::Invalid
        );
        assert!(!classify(Some(400), Some("InvalidArgumentException")).is_retryable());
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_a_retryable_error_not_a_panic() {
        // Port 9 on the loopback address (discard) is closed here: the connection is refused.
        let config = sdk_config(&environment(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ]));
        let store = S3Store::new(&config, s3_path_style(&config, &|_| None));
        let error = store.get_object("bucket", "key").await.unwrap_err();
        assert_eq!(
            (error.service, error.kind),
            (Service::S3, ErrorKind::Unavailable)
        );
        let stream = FirehoseStream::new(&config);
        let error = stream
            .put_record_batch("spool", vec![b"x\n".to_vec()])
            .await
            .unwrap_err();
        assert_eq!(error.operation, "PutRecordBatch");
        assert!(error.kind.is_retryable());
        let invoker = LambdaInvoker::new(&config, "us-east-1", Duration::from_secs(60));
        let error = invoker
            .invoke("validator", b"{}".to_vec())
            .await
            .unwrap_err();
        assert_eq!(
            (error.service, error.kind),
            (Service::Lambda, ErrorKind::Unavailable)
        );
        let queue = SqsQueue::new(&config, "http://127.0.0.1:9/123456789012/spool-objects");
        let error = queue.change_visibility("handle", 30).await.unwrap_err();
        assert_eq!(
            (error.service, error.operation, error.kind),
            (
                Service::Sqs,
                "ChangeMessageVisibility",
                ErrorKind::Unavailable
            )
        );
    }

    /// Two operator writes in one second share a `LastModified`; S3 lists the newer first.
    /// The version under a delete marker is the first listed, whatever the times say.
    #[test]
    fn under_a_delete_marker_the_first_listed_version_is_the_newest() {
        use aws_sdk_s3::primitives::DateTime;
        use aws_sdk_s3::types::ObjectVersion;
        let version = |id: &str, secs: i64| {
            ObjectVersion::builder()
                .key("switch/primary")
                .version_id(id)
                .last_modified(DateTime::from_secs(secs))
                .build()
        };
        let listed = [
            version("restore", 1_796_119_200),
            version("drain", 1_796_119_200),
            version("older", 1_796_119_100),
        ];
        let versions: Vec<&ObjectVersion> = listed.iter().collect();
        assert_eq!(
            newest_version(&versions).and_then(ObjectVersion::version_id),
            Some("restore")
        );
        assert!(newest_version(&[]).is_none());
    }

    #[test]
    fn lifecycle_rules_are_read_with_their_filters_and_actions() {
        use aws_sdk_s3::types::{
            ExpirationStatus, LifecycleExpiration, LifecycleRule as S3Rule,
            LifecycleRuleAndOperator, LifecycleRuleFilter, NoncurrentVersionExpiration, Tag,
            Transition,
        };
        let expire = S3Rule::builder()
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
        let read = lifecycle_rule(&expire);
        assert_eq!(
            read,
            LifecycleRule {
                id: "expire-switches".to_owned(),
                enabled: true,
                prefix: "switch/".to_owned(),
                narrowed: false,
                expires_current: true,
                noncurrent_days: Some(1),
                transitions: false,
            }
        );
        let tagged = S3Rule::builder()
            .status(ExpirationStatus::Disabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .and(
                        LifecycleRuleAndOperator::builder()
                            .prefix("switch/p")
                            .tags(Tag::builder().key("k").value("v").build().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .transitions(Transition::builder().days(0).build())
            .expiration(
                LifecycleExpiration::builder()
                    .expired_object_delete_marker(true)
                    .build(),
            )
            .build()
            .unwrap();
        let read = lifecycle_rule(&tagged);
        assert_eq!(
            (read.enabled, read.prefix.as_str(), read.narrowed),
            (false, "switch/p", true)
        );
        assert!(read.transitions);
        assert!(
            !read.expires_current,
            "a delete-marker cleanup expires nothing current"
        );
    }
}
