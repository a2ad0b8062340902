//! The handlers' traits over the official AWS SDK for Rust (feature `aws`): [`S3Store`]
//! ([`ObjectStore`]), [`FirehoseStream`] ([`DeliveryStream`]) and [`LambdaInvoker`]
//! ([`Invoker`]).
//!
//! Design:
//!
//! - **One HTTP stack**: hyper 1 with rustls over ring ([`http_client`]), passed to the SDK
//!   explicitly, so no SDK crate pulls its default (aws-lc) or legacy (hyper 0.14) stack.
//! - **Endpoints come from the SDK's own configuration chain**: `AWS_ENDPOINT_URL` (and the
//!   per-service `AWS_ENDPOINT_URL_S3`...) point the clients at a stand-in such as moto. S3 then
//!   uses path-style addressing, since a local endpoint has no per-bucket host names.
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

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_firehose::types::Record;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_s3::config::SharedHttpClient;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{Blob, ByteStream};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::{
    DeliveryStream, ErrorKind, InfraError, InvokeOutput, Invoker, Lookup, ObjectStore, Service,
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

/// How long one attempt of an S3 or Firehose call may take (the default
/// `RetryPolicy::attempt_timeout`).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);
/// How long reading a `GetObject` body may take once its response started.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// The SDK's timeouts for calls whose attempts take at most `attempt`.
pub fn timeouts(attempt: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(attempt)
        .build()
}

/// Loads the SDK configuration the usual way (region, credentials and endpoint from the
/// environment, profile or instance role), with [`http_client`], the SDK's retries off and
/// every attempt bounded ([`ATTEMPT_TIMEOUT`]).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts(ATTEMPT_TIMEOUT))
        .load()
        .await
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
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
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
    /// An invoker over an SDK configuration, calling functions in `region` that answer within
    /// `function_timeout` (a synchronous `Invoke` lasts as long as the function runs: its
    /// attempt may take that and a margin).
    pub fn new(config: &SdkConfig, region: &str, function_timeout: Duration) -> Self {
        let lambda = aws_sdk_lambda::config::Builder::from(config)
            .region(Region::new(region.to_owned()))
            .timeout_config(timeouts(function_timeout.saturating_add(ATTEMPT_TIMEOUT)))
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .retry_config(RetryConfig::disabled())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await;
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
    }
}
