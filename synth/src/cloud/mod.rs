//! The AWS side of the commands that deploy and operate the stacks (`bootstrap`, `diff`,
//! `deploy`, `status`, `lever`, `redrive`, `destroy`), over the official AWS SDK for Rust.
//!
//! This module is the one owner of how ingest talks to AWS:
//!
//! - **Configuration** ([`Cloud::connect`]): the usual credential chain (environment,
//!   `--profile` / `AWS_PROFILE` in `~/.aws/config` and `~/.aws/credentials`, IAM Identity Center,
//!   `credential_process`, container and instance roles), loaded once and checked before the
//!   first call, so a missing credential or an unknown profile is one line that says what to
//!   set ([`CloudError`]). The region of each client is the region of the stack it works on
//!   (the spec decides, never the profile). `--endpoint-url` overrides every service's endpoint;
//!   without it the SDK reads `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_<SERVICE>`
//!   itself, which is how tests and emulators (moto) are reached. S3 is then addressed
//!   path-style, since a local endpoint has no per-bucket host names.
//! - **One HTTP stack**: hyper 1 with rustls over ring, passed to the SDK explicitly, so no SDK
//!   crate pulls its default (aws-lc) or legacy (hyper 0.14) stack. The SDK's standard retries
//!   (with backoff) absorb throttling; a short connect timeout makes an unreachable endpoint an
//!   error in seconds.
//! - **Errors** ([`error`]): every SDK failure becomes a [`CloudError`] that names the call and
//!   says what to do: which variables or profile to set, which IAM action was denied on which
//!   resource, that AWS kept throttling, or that the endpoint could not be reached.
//!
//! The operations themselves live in the submodules: [`stacks`] (CloudFormation change sets,
//! events, outputs), [`staging`] (the per-region staging buckets and content-addressed
//! uploads, and the record of what was deployed), [`switch`] (the lever's drain switches),
//! [`ip_ranges`] (Route 53's health-checker ranges for the web ACLs),
//! [`probe`] (API Gateway's `TestInvokeMethod`), [`secrets`] (the health token), [`metrics`] (what `status` reads),
//! [`queues`] (the bridge queues and their redrive) and [`failed`] (the batches the stream
//! mappings gave up on, replayed).

pub mod error;
pub mod failed;
pub mod ip_ranges;
pub mod metrics;
pub mod probe;
pub mod queues;
pub mod secrets;
pub mod stacks;
pub mod staging;
pub mod switch;

use std::future::Future;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_types::os_shim_internal::{Env, Fs};

pub use error::CloudError;

/// Attempts per call, the first included: the SDK's standard retries back off between them.
const MAX_ATTEMPTS: u32 = 5;
/// How long a connection may take before the endpoint counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt of a call may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the calls go and as whom: the shared `--profile` and `--endpoint-url` flags.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// A named profile of `~/.aws/config` / `~/.aws/credentials` (else `AWS_PROFILE`, else
    /// `default`).
    pub profile: Option<String>,
    /// One endpoint for every service (else `AWS_ENDPOINT_URL` and the per-service variables).
    pub endpoint_url: Option<String>,
}

/// A checked connection to AWS: the loaded configuration, from which each service's client is
/// made for the region it works in.
#[derive(Debug, Clone)]
pub struct Cloud {
    config: SdkConfig,
    /// The endpoint override in force, for messages (`--endpoint-url` or `AWS_ENDPOINT_URL`).
    endpoint: Option<String>,
    /// Whether S3 is addressed path-style (an endpoint override is in force for S3).
    path_style: bool,
}

/// Runs a command's asynchronous part to completion on a single-threaded runtime: the work is
/// waiting on AWS, and the concurrent parts (two regional stacks at once) interleave on it.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded tokio runtime starts")
        .block_on(future)
}

impl Cloud {
    /// Loads the configuration the usual way and checks that it yields credentials.
    /// `home_region` signs the credential chain's own calls (STS for assumed roles) when neither
    /// the environment nor the profile names a region.
    pub async fn connect(settings: &Settings, home_region: &str) -> Result<Cloud, CloudError> {
        if let Some(profile) = &settings.profile {
            check_profile(profile).await?;
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build(),
            );
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let mut config = loader.load().await;
        if config.region().is_none() {
            config = config
                .into_builder()
                .region(Region::new(home_region.to_owned()))
                .build();
        }
        let provider = config
            .credentials_provider()
            .ok_or_else(|| CloudError::no_credentials(settings.profile.as_deref(), None))?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| CloudError::credentials(settings.profile.as_deref(), &e))?;
        let env_endpoint = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let endpoint = settings
            .endpoint_url
            .clone()
            .or_else(|| env_endpoint("AWS_ENDPOINT_URL"));
        let path_style = endpoint.is_some() || env_endpoint("AWS_ENDPOINT_URL_S3").is_some();
        Ok(Cloud {
            config,
            endpoint,
            path_style,
        })
    }

    /// A connection over a configuration loaded elsewhere (a test, a program embedding ingest):
    /// its credentials, region and endpoint are used as they are.
    pub fn with_config(config: SdkConfig) -> Cloud {
        let endpoint = config.endpoint_url().map(str::to_owned);
        Cloud {
            path_style: endpoint.is_some(),
            endpoint,
            config,
        }
    }

    /// The endpoint override in force, if any (for messages).
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// CloudFormation in `region`.
    pub fn cloudformation(&self, region: &str) -> aws_sdk_cloudformation::Client {
        let config = aws_sdk_cloudformation::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_cloudformation::Client::from_conf(config)
    }

    /// S3 in `region` (path-style behind an endpoint override).
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .force_path_style(self.path_style)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// SQS in `region`.
    pub fn sqs(&self, region: &str) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    /// CloudWatch in `region`.
    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        let config = aws_sdk_cloudwatch::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_cloudwatch::Client::from_conf(config)
    }

    /// Secrets Manager in `region`.
    pub fn secretsmanager(&self, region: &str) -> aws_sdk_secretsmanager::Client {
        let config = aws_sdk_secretsmanager::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    /// Lambda in `region` (`Invoke` waits for the function: up to its 15-minute limit).
    pub fn lambda(&self, region: &str) -> aws_sdk_lambda::Client {
        let config = aws_sdk_lambda::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(Duration::from_secs(15 * 60 + 60))
                    .build(),
            )
            .build();
        aws_sdk_lambda::Client::from_conf(config)
    }

    /// API Gateway in `region`.
    pub fn apigateway(&self, region: &str) -> aws_sdk_apigateway::Client {
        let config = aws_sdk_apigateway::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_apigateway::Client::from_conf(config)
    }

    /// Route 53 (a global service; `region` picks the partition's endpoint).
    pub fn route53(&self, region: &str) -> aws_sdk_route53::Client {
        let config = aws_sdk_route53::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_route53::Client::from_conf(config)
    }

    /// The account the credentials belong to (STS `GetCallerIdentity` in `region`).
    pub async fn account_id(&self, region: &str) -> Result<String, CloudError> {
        let config = aws_sdk_sts::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        let identity = aws_sdk_sts::Client::from_conf(config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| self.error(Call::new("sts", "GetCallerIdentity", region), e))?;
        identity.account.ok_or_else(|| CloudError::Unexpected {
            call: Call::new("sts", "GetCallerIdentity", region).to_string(),
            what: "no account in the answer".to_owned(),
        })
    }

    /// A connection with the credentials of `role_arn`, assumed through the STS endpoint of
    /// `region` (regional, so the lever never depends on the global endpoint in us-east-1);
    /// the endpoint override stays. When the caller already is that role, the connection is
    /// returned as it is.
    pub async fn assume_role(
        &self,
        role_arn: &str,
        region: &str,
        session: &str,
    ) -> Result<Cloud, CloudError> {
        let config = aws_sdk_sts::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        let sts = aws_sdk_sts::Client::from_conf(config);
        let identity = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| self.error(Call::new("sts", "GetCallerIdentity", region), e))?;
        if identity
            .arn()
            .is_some_and(|arn| is_session_of(arn, role_arn))
        {
            return Ok(self.clone());
        }
        let answer = sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session)
            .send()
            .await
            .map_err(|e| self.error(Call::new("sts", "AssumeRole", region), e))?;
        let credentials = answer.credentials().ok_or_else(|| CloudError::Unexpected {
            call: Call::new("sts", "AssumeRole", region).to_string(),
            what: "no credentials in the answer".to_owned(),
        })?;
        let expiry = std::time::SystemTime::try_from(*credentials.expiration()).ok();
        let assumed = aws_credential_types::Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            expiry,
            "ingest-assume-role",
        );
        let config = self
            .config
            .clone()
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(assumed),
            )
            .build();
        Ok(Cloud {
            config,
            endpoint: self.endpoint.clone(),
            path_style: self.path_style,
        })
    }

    /// An SDK failure of `call` as a [`CloudError`].
    pub fn error<E>(
        &self,
        call: Call,
        error: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> CloudError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        error::from_sdk(call, self.endpoint.as_deref(), error)
    }
}

/// Whether an STS caller ARN (`arn:aws:sts::123456789012:assumed-role/NAME/SESSION`) is a
/// session of the role `role_arn` (`arn:aws:iam::123456789012:role/PATH/NAME`).
fn is_session_of(caller: &str, role_arn: &str) -> bool {
    let Some(role_name) = role_arn.rsplit('/').next() else {
        return false;
    };
    let account = |arn: &str| arn.split(':').nth(4).map(str::to_owned);
    caller.contains(":assumed-role/")
        && caller
            .split(":assumed-role/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            == Some(role_name)
        && account(caller) == account(role_arn)
}

/// One AWS call, for messages: `cloudformation:CreateChangeSet in us-east-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The IAM service prefix (`cloudformation`, `s3`...).
    pub service: &'static str,
    /// The API operation (`CreateChangeSet`).
    pub operation: &'static str,
    /// The region it was sent to.
    pub region: String,
}

impl Call {
    /// A call of `service:operation` in `region`.
    pub fn new(service: &'static str, operation: &'static str, region: &str) -> Call {
        Call {
            service,
            operation,
            region: region.to_owned(),
        }
    }

    /// The IAM action the call needs (`s3:GetObject`), as far as the operation's name says it.
    pub fn action(&self) -> String {
        let operation = match (self.service, self.operation) {
            ("s3", "HeadBucket" | "ListObjectsV2") => "ListBucket",
            ("s3", "HeadObject") => "GetObject",
            ("s3", "CreateBucket") => "CreateBucket",
            ("s3", "PutBucketVersioning") => "PutBucketVersioning",
            ("s3", "PutBucketEncryption" | "GetBucketEncryption") => "PutEncryptionConfiguration",
            ("s3", "PutPublicAccessBlock") => "PutBucketPublicAccessBlock",
            ("apigateway", "GetResources") => "GET",
            ("apigateway", "TestInvokeMethod") => "POST",
            (_, operation) => operation,
        };
        format!("{}:{operation}", self.service)
    }
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} in {}", self.service, self.operation, self.region)
    }
}

/// The HTTPS client every SDK client shares: hyper 1 and rustls with ring, trusting the
/// system's certificates.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Fails when `profile` is defined in neither `~/.aws/config` nor `~/.aws/credentials` (or
/// the files `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE` name): the SDK's chain would
/// otherwise move on to other sources and report only that it found no credentials.
async fn check_profile(profile: &str) -> Result<(), CloudError> {
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let known: Vec<String> =
        match aws_config::profile::load(&Fs::real(), &Env::real(), &files, None).await {
            Ok(set) => set.profiles().map(str::to_owned).collect(),
            Err(error) => {
                return Err(CloudError::ProfileFile {
                    detail: error.to_string(),
                });
            }
        };
    if known.iter().any(|name| name == profile) {
        Ok(())
    } else {
        Err(CloudError::UnknownProfile {
            profile: profile.to_owned(),
            known,
        })
    }
}
