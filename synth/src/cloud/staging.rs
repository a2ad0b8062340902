//! The staging buckets: one per region, where deploy puts what CloudFormation and Lambda read
//! (templates, the Lambda zip) and the record of what was deployed.
//!
//! - **Bootstrap** ([`bootstrap`]): like `cdk bootstrap`, one bucket per region of the spec's
//!   stacks, named `ingest-staging-<account>-<region>` (bucket names are global, so they carry
//!   both). Versioned (a function's `CodeObjectVersion` pins a version), encrypted with S3's own
//!   keys (CloudFormation and Lambda read it with no key policy to manage), public access
//!   blocked, TLS-only by policy, old versions and abandoned uploads expired. Running it again
//!   re-applies these settings and changes nothing else.
//! - **Content-addressed uploads** ([`Staging::put`]): every object's key carries the SHA-256 of
//!   its bytes (`templates/<sha>.yaml`, `artifacts/<sha>.zip`, `specs/<sha>.json`), so an upload
//!   that is already there is skipped and a key never changes meaning. Templates go by
//!   `TemplateURL` from the stack's own region (over 51,200 bytes they must; always doing it keeps
//!   one path), and a function's code must be in the function's region.
//! - **What was deployed** ([`DeployedRecord`], [`deployed_spec`]): after a stack deploys, the
//!   spec and its schema files go up as one [`SpecBundle`], and `deployed/<stack>.json` in the
//!   stack's staging bucket points at it (and at the template and artifact). A pointer object
//!   rather than a stack tag: CloudFormation copies stack tags onto every resource, so a tag
//!   that changed with each spec would touch every resource on every deploy. The bucket is
//!   versioned, so earlier records stay readable.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
    VersioningConfiguration,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Call, Cloud, CloudError};

/// Days an overwritten or deleted version is kept.
pub const NONCURRENT_VERSION_DAYS: i32 = 90;
/// Days before an unfinished multipart upload is removed.
pub const ABORT_UPLOAD_DAYS: i32 = 1;
/// The tag that marks a staging bucket.
pub const PURPOSE_TAG: (&str, &str) = ("ingest:purpose", "staging");

/// The staging bucket of `account` in `region`.
pub fn bucket_name(account: &str, region: &str) -> String {
    format!("ingest-staging-{account}-{region}")
}

/// The key of bytes under `prefix`, named by their SHA-256: `<prefix>/<sha256><extension>`.
pub fn content_key(prefix: &str, bytes: &[u8], extension: &str) -> String {
    format!("{prefix}/{}{extension}", sha256_hex(bytes))
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What bootstrapping one region did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bootstrapped {
    /// The region.
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// Whether this run created it (else it was there and its settings were re-applied).
    pub created: bool,
}

/// Creates (or re-checks) the staging bucket of each region.
pub async fn bootstrap(cloud: &Cloud, regions: &[String]) -> Result<Vec<Bootstrapped>, CloudError> {
    let Some(first) = regions.first() else {
        return Ok(Vec::new());
    };
    let account = cloud.account_id(first).await?;
    let mut done = Vec::new();
    for region in regions {
        let bucket = bucket_name(&account, region);
        let s3 = cloud.s3(region);
        let created = if bucket_exists(cloud, &s3, region, &bucket).await? {
            false
        } else {
            let mut create = s3.create_bucket().bucket(&bucket);
            // us-east-1 is the default location and must not be named.
            if region != "us-east-1" {
                create = create.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(region.as_str()))
                        .build(),
                );
            }
            match create.send().await {
                Ok(_) => true,
                Err(error) => {
                    let error = cloud.error(Call::new("s3", "CreateBucket", region), error);
                    if error.service_code() != Some("BucketAlreadyOwnedByYou") {
                        return Err(error);
                    }
                    false
                }
            }
        };
        configure(cloud, &s3, region, &bucket).await?;
        done.push(Bootstrapped {
            region: region.clone(),
            bucket,
            created,
        });
    }
    Ok(done)
}

/// Whether `bucket` exists and is this account's; a bucket of another account is an error.
async fn bucket_exists(
    cloud: &Cloud,
    s3: &aws_sdk_s3::Client,
    region: &str,
    bucket: &str,
) -> Result<bool, CloudError> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(error) => {
            let status = error.raw_response().map(|r| r.status().as_u16());
            match status {
                Some(404) => Ok(false),
                Some(403) => Err(CloudError::Unexpected {
                    call: Call::new("s3", "HeadBucket", region).to_string(),
                    what: format!(
                        "the staging bucket {bucket} exists but this identity may not read it \
                         (another account owns the name, or s3:ListBucket is denied)"
                    ),
                }),
                _ => Err(cloud.error(Call::new("s3", "HeadBucket", region), error)),
            }
        }
    }
}

/// Applies the staging bucket's settings (each call is idempotent).
async fn configure(
    cloud: &Cloud,
    s3: &aws_sdk_s3::Client,
    region: &str,
    bucket: &str,
) -> Result<(), CloudError> {
    let call = |operation| Call::new("s3", operation, region);
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| cloud.error(call("PutBucketVersioning"), e))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .map_err(|e| build_error(call("PutBucketEncryption"), e))?,
        )
        .build();
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(|e| build_error(call("PutBucketEncryption"), e))?,
        )
        .send()
        .await
        .map_err(|e| cloud.error(call("PutBucketEncryption"), e))?;
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| cloud.error(call("PutPublicAccessBlock"), e))?;
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(tls_only_policy(bucket, region))
        .send()
        .await
        .map_err(|e| cloud.error(call("PutBucketPolicy"), e))?;
    let lifecycle = BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id("expire-old-versions")
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .noncurrent_version_expiration(
                    NoncurrentVersionExpiration::builder()
                        .noncurrent_days(NONCURRENT_VERSION_DAYS)
                        .build(),
                )
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(ABORT_UPLOAD_DAYS)
                        .build(),
                )
                .expiration(
                    LifecycleExpiration::builder()
                        .expired_object_delete_marker(true)
                        .build(),
                )
                .build()
                .map_err(|e| build_error(call("PutBucketLifecycleConfiguration"), e))?,
        )
        .build()
        .map_err(|e| build_error(call("PutBucketLifecycleConfiguration"), e))?;
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(lifecycle)
        .send()
        .await
        .map_err(|e| cloud.error(call("PutBucketLifecycleConfiguration"), e))?;
    let tag = Tag::builder()
        .key(PURPOSE_TAG.0)
        .value(PURPOSE_TAG.1)
        .build()
        .map_err(|e| build_error(call("PutBucketTagging"), e))?;
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            Tagging::builder()
                .tag_set(tag)
                .build()
                .map_err(|e| build_error(call("PutBucketTagging"), e))?,
        )
        .send()
        .await
        .map_err(|e| cloud.error(call("PutBucketTagging"), e))?;
    Ok(())
}

/// A bucket policy that refuses every request not made over TLS.
fn tls_only_policy(bucket: &str, region: &str) -> String {
    let partition = crate::aws::partition_of(region)
        .unwrap_or(crate::aws::Partition::Aws)
        .as_str();
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [
                format!("arn:{partition}:s3:::{bucket}"),
                format!("arn:{partition}:s3:::{bucket}/*"),
            ],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    })
    .to_string()
}

fn build_error(call: Call, error: aws_sdk_s3::error::BuildError) -> CloudError {
    CloudError::Unexpected {
        call: call.to_string(),
        what: error.to_string(),
    }
}

/// An object in a staging bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedObject {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// Its version (empty when the bucket does not report one).
    pub version: String,
    /// Whether it was already there (nothing was uploaded).
    #[serde(skip)]
    pub existed: bool,
}

/// The staging buckets of one deploy, found and checked.
#[derive(Debug, Clone)]
pub struct Staging<'a> {
    cloud: &'a Cloud,
    account: String,
}

impl<'a> Staging<'a> {
    /// The staging buckets of `regions`; fails naming `ingest bootstrap` when one is missing.
    pub async fn find(cloud: &'a Cloud, regions: &[String]) -> Result<Staging<'a>, StagingError> {
        let first = regions.first().map_or("us-east-1", String::as_str);
        let account = cloud.account_id(first).await?;
        for region in regions {
            let bucket = bucket_name(&account, region);
            if !bucket_exists(cloud, &cloud.s3(region), region, &bucket).await? {
                return Err(StagingError::NotBootstrapped {
                    region: region.clone(),
                    bucket,
                });
            }
        }
        Ok(Staging { cloud, account })
    }

    /// The account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The staging bucket of `region`.
    pub fn bucket(&self, region: &str) -> String {
        bucket_name(&self.account, region)
    }

    /// Puts `bytes` at `key` in `region`'s bucket unless an object is there already.
    pub async fn put(
        &self,
        region: &str,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<StagedObject, CloudError> {
        let bucket = self.bucket(region);
        let s3 = self.cloud.s3(region);
        match s3.head_object().bucket(&bucket).key(key).send().await {
            Ok(head) => {
                return Ok(StagedObject {
                    bucket,
                    key: key.to_owned(),
                    version: head.version_id().unwrap_or("").to_owned(),
                    existed: true,
                });
            }
            Err(error) if error.raw_response().map(|r| r.status().as_u16()) == Some(404) => {}
            Err(error) => {
                return Err(self
                    .cloud
                    .error(Call::new("s3", "HeadObject", region), error));
            }
        }
        self.overwrite(region, key, bytes, content_type).await
    }

    /// Puts `bytes` at `key` in `region`'s bucket, replacing what is there (a new version).
    pub async fn overwrite(
        &self,
        region: &str,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<StagedObject, CloudError> {
        let bucket = self.bucket(region);
        let put = self
            .cloud
            .s3(region)
            .put_object()
            .bucket(&bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| self.cloud.error(Call::new("s3", "PutObject", region), e))?;
        Ok(StagedObject {
            bucket,
            key: key.to_owned(),
            version: put.version_id().unwrap_or("").to_owned(),
            existed: false,
        })
    }

    /// The `https://` URL CloudFormation reads a staged template from.
    pub fn template_url(&self, region: &str, key: &str) -> String {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://{}.s3.{region}.{suffix}/{key}", self.bucket(region))
    }
}

/// Why the staging buckets cannot be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StagingError {
    /// A region has no staging bucket.
    #[error("{region} is not bootstrapped: there is no staging bucket {bucket}")]
    #[diagnostic(
        code(ingest::not_bootstrapped),
        help(
            "run `ingest bootstrap` once per account (it creates a staging bucket in each region of the spec)"
        )
    )]
    NotBootstrapped {
        /// The region.
        region: String,
        /// The bucket that should be there.
        bucket: String,
    },
    /// An AWS call failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Cloud(#[from] CloudError),
}

/// A spec as it was deployed: the spec file and the schema files it names, as written, and
/// the schema of each event type, as resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecBundle {
    /// The spec's file name.
    pub spec: String,
    /// Files by path relative to the spec's folder (the spec itself and its `schema_file`s).
    pub files: BTreeMap<String, String>,
    /// Each event type's schema of `data`, resolved.
    pub schemas: BTreeMap<String, serde_json::Value>,
}

/// What `deployed/<stack>.json` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedRecord {
    /// The stack.
    pub stack: String,
    /// When the deploy finished (RFC 3339, UTC).
    pub deployed_at: String,
    /// The [`SpecBundle`].
    pub spec: StagedObject,
    /// The template.
    pub template: StagedObject,
    /// The Lambda zip, for stacks with functions.
    pub artifact: Option<StagedObject>,
}

/// The key of a stack's [`DeployedRecord`].
pub fn record_key(stack: &str) -> String {
    format!("deployed/{stack}.json")
}

/// The spec that was last deployed to `stack` in `region` (with its record), or `None` when
/// ingest never deployed it.
pub async fn deployed_spec(
    cloud: &Cloud,
    region: &str,
    stack: &str,
) -> Result<Option<(DeployedRecord, SpecBundle)>, StagingError> {
    let staging = Staging::find(cloud, &[region.to_owned()]).await?;
    let Some(record) =
        get_json::<DeployedRecord>(cloud, region, &staging.bucket(region), &record_key(stack))
            .await?
    else {
        return Ok(None);
    };
    let bundle = get_json::<SpecBundle>(cloud, region, &record.spec.bucket, &record.spec.key)
        .await?
        .ok_or_else(|| CloudError::Unexpected {
            call: Call::new("s3", "GetObject", region).to_string(),
            what: format!(
                "the deployed spec s3://{}/{} is gone",
                record.spec.bucket, record.spec.key
            ),
        })?;
    Ok(Some((record, bundle)))
}

async fn get_json<T: for<'de> Deserialize<'de>>(
    cloud: &Cloud,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<Option<T>, CloudError> {
    let call = || Call::new("s3", "GetObject", region);
    let object = match cloud
        .s3(region)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(object) => object,
        Err(error) => {
            let error = cloud.error(call(), error);
            return if error.service_code() == Some("NoSuchKey") {
                Ok(None)
            } else {
                Err(error)
            };
        }
    };
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| CloudError::Unexpected {
            call: call().to_string(),
            what: format!("reading s3://{bucket}/{key}: {e}"),
        })?
        .into_bytes();
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| CloudError::Unexpected {
            call: call().to_string(),
            what: format!("s3://{bucket}/{key} is not what ingest wrote: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_named_by_content() {
        assert_eq!(
            content_key("templates", b"abc", ".yaml"),
            "templates/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.yaml"
        );
        assert_eq!(
            bucket_name("123456789012", "us-west-2"),
            "ingest-staging-123456789012-us-west-2"
        );
    }

    #[test]
    fn the_policy_refuses_plain_http_in_the_partition() {
        let policy = tls_only_policy("b", "cn-north-1");
        assert!(policy.contains("arn:aws-cn:s3:::b/*"));
        assert!(policy.contains("\"aws:SecureTransport\":\"false\""));
    }
}
