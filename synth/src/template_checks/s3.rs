//! S3 buckets: notifications that S3 can validate when the bucket is created, lifecycle
//! transitions S3 accepts, data encrypted with a customer managed key, objects that expire,
//! and a bucket whose objects drive a function (the lever's switches) written by one role only.

use std::collections::HashSet;

use serde_json::Value;

use super::Problems;
use super::template::{
    Template, actions, array, is_true, literal_number, names, object, statements, text,
};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "notification-without-policy-dependency",
    "s3-notified-queue-aws-managed-key",
    "lifecycle-ia-too-early",
    "bucket-without-customer-key",
    "bucket-without-expiration",
    "switch-writable-by-anyone",
];

/// A reason the template gives in `Metadata.ingest.<key>` of a resource.
pub(super) fn metadata_reason<'a>(
    body: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Option<&'a str> {
    object(body, "Metadata")
        .and_then(|m| object(m, "ingest"))
        .and_then(|i| text(i, key))
        .filter(|why| !why.trim().is_empty())
}

/// Data at rest: a bucket's default encryption is SSE-KMS with a customer managed key (a key
/// resource of the template or a key ARN, never the AWS managed `aws/s3`, whose policy lets
/// every principal of the account that may read the bucket decrypt it) and a bucket key (one
/// KMS call per bucket and period instead of per object). SSE-S3 is left to the buckets that
/// cannot take KMS: the server-access-log target (S3 logging cannot write SSE-KMS), and a
/// bucket whose `Metadata.ingest.sse_s3` says why.
pub(super) fn check_bucket_encryption(t: &Template<'_>, problems: &mut Problems) {
    let log_targets: HashSet<&str> = t
        .of_type("AWS::S3::Bucket")
        .filter_map(|b| object(b.properties, "LoggingConfiguration"))
        .filter_map(|l| l.get("DestinationBucketName"))
        .flat_map(|target| t.referenced_resources(target))
        .map(|r| r.id)
        .collect();
    for bucket in t.of_type("AWS::S3::Bucket") {
        let rule = object(bucket.properties, "BucketEncryption")
            .map(|e| array(e, "ServerSideEncryptionConfiguration"))
            .and_then(|rules| rules.first())
            .and_then(Value::as_object);
        let default = rule.and_then(|r| object(r, "ServerSideEncryptionByDefault"));
        let algorithm = default
            .and_then(|d| text(d, "SSEAlgorithm"))
            .unwrap_or("AES256");
        let problem = if algorithm.starts_with("aws:kms") {
            let key = default.and_then(|d| d.get("KMSMasterKeyID"));
            let managed = key.is_none_or(|key| {
                super::template::strings(key)
                    .iter()
                    .any(|k| k.contains("alias/aws/"))
            });
            if managed {
                Some(
                    "is encrypted with the AWS managed key aws/s3, whose key policy lets any principal of the account that may read the bucket decrypt its objects; set `KMSMasterKeyID` to a customer managed key whose policy names the readers",
                )
            } else if !is_true(rule.and_then(|r| r.get("BucketKeyEnabled"))) {
                Some(
                    "uses SSE-KMS without a bucket key: S3 calls KMS for every object, which costs per request and shares the account's KMS request quota; set `BucketKeyEnabled: true`",
                )
            } else {
                None
            }
        } else if log_targets.contains(bucket.id)
            || metadata_reason(bucket.body, "sse_s3").is_some()
        {
            None
        } else {
            Some(
                "is encrypted with S3-managed keys (SSE-S3): any principal that may read the bucket reads its data; use SSE-KMS with a customer managed key, or say why not in `Metadata.ingest.sse_s3`",
            )
        };
        if let Some(problem) = problem {
            problems.at(
                bucket.id,
                "bucket-without-customer-key",
                format!("the bucket {problem}"),
            );
        }
    }
}

/// Nothing is kept by accident: every bucket expires its objects (or says in
/// `Metadata.ingest.kept` why it keeps them), and a versioned bucket expires old versions too.
pub(super) fn check_bucket_expiration(t: &Template<'_>, problems: &mut Problems) {
    for bucket in t.of_type("AWS::S3::Bucket") {
        let rules: Vec<&serde_json::Map<String, Value>> =
            object(bucket.properties, "LifecycleConfiguration")
                .map(|l| array(l, "Rules"))
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_object)
                .filter(|rule| text(rule, "Status") == Some("Enabled"))
                .collect();
        let expires = rules.iter().any(|rule| {
            rule.contains_key("ExpirationInDays") || rule.contains_key("ExpirationDate")
        });
        if !expires && metadata_reason(bucket.body, "kept").is_none() {
            problems.at(
                bucket.id,
                "bucket-without-expiration",
                "the bucket never expires its objects: add a lifecycle rule with `ExpirationInDays`, or say why it keeps them in `Metadata.ingest.kept`",
            );
        }
        let versioned = object(bucket.properties, "VersioningConfiguration")
            .and_then(|v| text(v, "Status"))
            == Some("Enabled");
        let expires_old = rules.iter().any(|rule| {
            rule.contains_key("NoncurrentVersionExpiration")
                || rule.contains_key("NoncurrentVersionExpirationInDays")
        });
        if versioned && !expires_old {
            problems.at(
                bucket.id,
                "bucket-without-expiration",
                "the bucket is versioned but never expires old versions: an expired or overwritten object stays as a noncurrent version forever; add `NoncurrentVersionExpiration`",
            );
        }
    }
}

/// Whether a `NotAction` list leaves only reads: every action it spares is a `Get` or a
/// `List`, so the statement covers every write S3 has or will add.
fn spares_only_reads(not_actions: &[&str]) -> bool {
    !not_actions.is_empty()
        && not_actions.iter().all(|a| {
            let name = a.strip_prefix("s3:").unwrap_or("");
            name.starts_with("Get") || name.starts_with("List")
        })
}

/// A bucket whose new objects invoke a function (the lever's switches drive its publisher)
/// must let exactly one role write there: a bucket policy `Deny` of every object action but
/// reads (`NotAction`, or `s3:*`) to every principal whose `aws:PrincipalArn` is not that
/// role. An identity policy cannot do it: any principal of the account with a broad
/// `s3:PutObject` could otherwise flip what the function publishes. A list of write actions
/// is not enough: it misses the ones it does not name (`s3:ReplicateObject` writes a switch
/// from another bucket's replication).
pub(super) fn check_switch_writers(t: &Template<'_>, problems: &mut Problems) {
    for bucket in t.of_type("AWS::S3::Bucket") {
        let drives_function = object(bucket.properties, "NotificationConfiguration")
            .is_some_and(|n| !array(n, "LambdaConfigurations").is_empty());
        if !drives_function {
            continue;
        }
        let locked =
            t.of_type("AWS::S3::BucketPolicy")
                .filter(|policy| {
                    policy.properties.get("Bucket").is_some_and(|b| {
                        t.referenced_resources(b).iter().any(|r| r.id == bucket.id)
                    })
                })
                .filter_map(|policy| policy.properties.get("PolicyDocument"))
                .flat_map(statements)
                .any(|statement| {
                    let denies = text(statement, "Effect") == Some("Deny");
                    let everyone = statement.get("Principal").is_some_and(|p| {
                        p.as_str() == Some("*") || p.get("AWS").and_then(Value::as_str) == Some("*")
                    });
                    let not_actions = statement
                        .get("NotAction")
                        .map(super::template::strings)
                        .unwrap_or_default();
                    let all_writes =
                        actions(statement).contains(&"s3:*") || spares_only_reads(&not_actions);
                    let except_one = object(statement, "Condition").is_some_and(|c| {
                        [
                            "ArnNotEquals",
                            "ArnNotLike",
                            "StringNotEquals",
                            "StringNotLike",
                        ]
                        .iter()
                        .filter_map(|op| object(c, op))
                        .any(|m| m.contains_key("aws:PrincipalArn"))
                    });
                    denies && everyone && all_writes && except_one
                });
        if !locked {
            problems.at(
                bucket.id,
                "switch-writable-by-anyone",
                "new objects of this bucket invoke a function, but its bucket policy does not deny every object action but reads to every principal but one (`Effect: Deny`, `Principal: \"*\"`, `NotAction: s3:GetObject*`, `ArnNotEquals: {aws:PrincipalArn: <the role>}`): any principal of the account with a broad s3:PutObject, or a replication into the bucket, could change what the function does",
            );
        }
    }
}

/// The destinations an S3 bucket notifies, each with the resource that must grant S3 access
/// before the bucket is created (`docs/traps.md#s3-notification-destination-validation`):
/// configuration list, key of the target, policy type, policy property naming the target.
const NOTIFICATION_TARGETS: &[(&str, &str, &str, &str)] = &[
    (
        "QueueConfigurations",
        "Queue",
        "AWS::SQS::QueuePolicy",
        "Queues",
    ),
    (
        "TopicConfigurations",
        "Topic",
        "AWS::SNS::TopicPolicy",
        "Topics",
    ),
    (
        "LambdaConfigurations",
        "Function",
        "AWS::Lambda::Permission",
        "FunctionName",
    ),
];

pub(super) fn check_bucket_notifications(t: &Template<'_>, problems: &mut Problems) {
    let mut managed_key_queues = HashSet::new();
    for bucket in t.of_type("AWS::S3::Bucket") {
        let Some(notifications) = object(bucket.properties, "NotificationConfiguration") else {
            continue;
        };
        let depends_on = bucket.depends_on();
        for &(list, target_key, policy_type, policy_key) in NOTIFICATION_TARGETS {
            for configuration in array(notifications, list) {
                let Some(target) = configuration
                    .get(target_key)
                    .and_then(|value| t.referenced_resources(value).into_iter().next())
                else {
                    continue;
                };
                let policies: Vec<&str> = t
                    .of_type(policy_type)
                    .filter(|policy| {
                        policy.properties.get(policy_key).is_some_and(|value| {
                            t.referenced_resources(value)
                                .iter()
                                .any(|r| r.id == target.id)
                        })
                    })
                    .map(|policy| policy.id)
                    .collect();
                if policies.is_empty() {
                    problems.at(
                        bucket.id,
                        "notification-without-policy-dependency",
                        format!(
                            "the bucket notifies `{}`, but no {policy_type} lets S3 deliver to it; S3 validates the destination when the bucket is created",
                            target.id
                        ),
                    );
                } else if !policies.iter().any(|p| depends_on.contains(p)) {
                    problems.at(
                        bucket.id,
                        "notification-without-policy-dependency",
                        format!(
                            "the bucket notifies `{}` but does not `DependsOn` {}; S3 validates the destination when the bucket is created, so the policy must exist first",
                            target.id,
                            names(&policies)
                        ),
                    );
                }
                if target.ty == "AWS::SQS::Queue"
                    && text(target.properties, "KmsMasterKeyId")
                        .is_some_and(|key| key.ends_with("alias/aws/sqs"))
                    && managed_key_queues.insert(target.id)
                {
                    problems.at(
                        target.id,
                        "s3-notified-queue-aws-managed-key",
                        format!(
                            "the queue receives S3 notifications from `{}` but is encrypted with the AWS managed key alias/aws/sqs, whose policy S3 cannot use; use `SqsManagedSseEnabled: true` or a customer managed key that allows s3.amazonaws.com",
                            bucket.id
                        ),
                    );
                }
            }
        }
    }
}

/// Storage classes that need objects to be at least 30 days old before a transition.
const THIRTY_DAY_CLASSES: &[&str] = &["STANDARD_IA", "ONEZONE_IA"];

pub(super) fn check_bucket_lifecycles(t: &Template<'_>, problems: &mut Problems) {
    for bucket in t.of_type("AWS::S3::Bucket") {
        let Some(lifecycle) = object(bucket.properties, "LifecycleConfiguration") else {
            continue;
        };
        for rule in array(lifecycle, "Rules")
            .iter()
            .filter_map(Value::as_object)
        {
            let rule_id = text(rule, "Id").unwrap_or("(no Id)");
            let transitions = ["Transitions", "NoncurrentVersionTransitions"]
                .into_iter()
                .flat_map(|key| array(rule, key).iter())
                .chain(
                    ["Transition", "NoncurrentVersionTransition"]
                        .into_iter()
                        .filter_map(|key| rule.get(key)),
                )
                .filter_map(Value::as_object);
            for transition in transitions {
                let Some(class) =
                    text(transition, "StorageClass").filter(|c| THIRTY_DAY_CLASSES.contains(c))
                else {
                    continue;
                };
                if let Some(days) = transition.get("TransitionInDays").and_then(literal_number)
                    && days < 30.0
                {
                    problems.at(
                        bucket.id,
                        "lifecycle-ia-too-early",
                        format!(
                            "lifecycle rule `{rule_id}` moves objects to {class} after {days} days; S3 requires at least 30"
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{cases, check, codes};

    fn notified_bucket() -> String {
        NOTIFIED_BUCKET.replace("{SECURE}", SECURE)
    }

    const NOTIFIED_BUCKET: &str = r#"Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: !Sub "s3.${AWS::URLSuffix}"
            Action: sqs:SendMessage
            Resource: !GetAtt Queue.Arn
            Condition:
              ArnLike:
                aws:SourceArn: !Sub "arn:${AWS::Partition}:s3:::spool-${AWS::AccountId}"
  Bucket:
    Type: AWS::S3::Bucket
    DependsOn: QueuePolicy
    Properties:
      BucketName: !Sub "spool-${AWS::AccountId}"
{SECURE}      NotificationConfiguration:
        QueueConfigurations:
          - Event: "s3:ObjectCreated:*"
            Queue: !GetAtt Queue.Arn
"#;

    const LIFECYCLE: &str = r#"Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: aws:kms
              KMSMasterKeyID: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/data"
            BucketKeyEnabled: true
      LifecycleConfiguration:
        Rules:
          - Id: expire
            Status: Enabled
            ExpirationInDays: 30
          - Id: cool-down
            Status: Enabled
            Transitions:
              - StorageClass: STANDARD_IA
                TransitionInDays: 10
            NoncurrentVersionTransitions:
              - StorageClass: GLACIER
                TransitionInDays: 1
"#;

    /// Encryption with a customer key and an expiration, which every bucket needs.
    pub(in crate::template_checks) const SECURE: &str = r#"      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: aws:kms
              KMSMasterKeyID: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/data"
            BucketKeyEnabled: true
      LifecycleConfiguration:
        Rules:
          - Id: expire
            Status: Enabled
            ExpirationInDays: 30
"#;

    /// The lever's switch bucket: it invokes its publisher, only the operator role writes.
    const SWITCHES: &str = r#"Resources:
  Operator:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
            Action: sts:AssumeRole
  Permission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: publisher
      Action: lambda:InvokeFunction
      Principal: !Sub "s3.${AWS::URLSuffix}"
      SourceAccount: !Ref AWS::AccountId
  Switches:
    Type: AWS::S3::Bucket
    DependsOn: Permission
    Metadata:
      ingest:
        kept: a switch stays as set
        sse_s3: the lever must not depend on KMS
    Properties:
      NotificationConfiguration:
        LambdaConfigurations:
          - Event: "s3:ObjectCreated:*"
            Function: !Sub "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:publisher"
  SwitchesPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Switches
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: OnlyTheOperatorRoleWrites
            Effect: Deny
            Principal: "*"
            NotAction: ["s3:GetObject*"]
            Resource: !Sub "${Switches.Arn}/switch/*"
            Condition:
              ArnNotEquals:
                aws:PrincipalArn: !GetAtt Operator.Arn
"#;

    cases! {
        notification_without_policy_dependency: "notification-without-policy-dependency",
            notified_bucket().replace("    DependsOn: QueuePolicy\n", ""), notified_bucket();
        s3_notified_queue_aws_managed_key: "s3-notified-queue-aws-managed-key",
            notified_bucket().replace("SqsManagedSseEnabled: true", "KmsMasterKeyId: alias/aws/sqs"),
            notified_bucket();
        lifecycle_ia_too_early: "lifecycle-ia-too-early",
            LIFECYCLE, LIFECYCLE.replace("TransitionInDays: 10", "TransitionInDays: 30");
        bucket_without_customer_key: "bucket-without-customer-key",
            notified_bucket().replace("              KMSMasterKeyID: !Sub \"arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/data\"\n", ""),
            notified_bucket();
        bucket_without_expiration: "bucket-without-expiration",
            notified_bucket().replace("            ExpirationInDays: 30\n", "            AbortIncompleteMultipartUpload:\n              DaysAfterInitiation: 7\n"),
            notified_bucket();
        switch_writable_by_anyone: "switch-writable-by-anyone",
            SWITCHES.replace("              ArnNotEquals:\n                aws:PrincipalArn: !GetAtt Operator.Arn\n", "              Bool:\n                aws:SecureTransport: \"false\"\n"),
            SWITCHES;
    }

    /// A deny that names the writes it knows misses the others (`s3:ReplicateObject` writes a
    /// switch from another bucket's replication), and a `NotAction` that spares a write lets
    /// it through: only "everything but reads" locks a switch.
    #[test]
    fn a_switch_lock_must_deny_every_write() {
        for statement in [
            "Action: [s3:PutObject, s3:DeleteObject, s3:DeleteObjectVersion]",
            "NotAction: [\"s3:GetObject*\", s3:ReplicateObject]",
        ] {
            crate::template_checks::test_support::check_case(
                super::CODES,
                "switch-writable-by-anyone",
                &SWITCHES.replace("NotAction: [\"s3:GetObject*\"]", statement),
                SWITCHES,
            );
        }
    }

    #[test]
    fn sse_s3_is_for_the_log_target_and_for_stated_reasons() {
        let plain = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Metadata:\n      ingest:\n        kept: test\n";
        assert_eq!(codes(plain), ["bucket-without-customer-key"]);
        let logged = format!(
            "{plain}  Data:\n    Type: AWS::S3::Bucket\n    Properties:\n{SECURE}      LoggingConfiguration:\n        DestinationBucketName: !Ref Bucket\n"
        );
        assert!(
            codes(&logged).is_empty(),
            "the access-log target may be SSE-S3"
        );
        let no_bucket_key = notified_bucket().replace("            BucketKeyEnabled: true\n", "");
        assert_eq!(codes(&no_bucket_key), ["bucket-without-customer-key"]);
        let versioned = notified_bucket().replace(
            "      LifecycleConfiguration:\n",
            "      VersioningConfiguration:\n        Status: Enabled\n      LifecycleConfiguration:\n",
        );
        assert_eq!(codes(&versioned), ["bucket-without-expiration"]);
    }

    #[test]
    fn notification_without_any_queue_policy() {
        let bucket = notified_bucket();
        let start = bucket.find("  QueuePolicy:").unwrap();
        let end = bucket.find("  Bucket:").unwrap();
        let text = format!("{}{}", &bucket[..start], &bucket[end..])
            .replace("    DependsOn: QueuePolicy\n", "");
        let found = check(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].message.contains("no AWS::SQS::QueuePolicy"));
    }

    #[test]
    fn noncurrent_transitions_count_too() {
        let text = LIFECYCLE
            .replace("TransitionInDays: 10", "TransitionInDays: 30")
            .replace("StorageClass: GLACIER", "StorageClass: ONEZONE_IA");
        assert_eq!(codes(&text), ["lifecycle-ia-too-early"]);
    }
}
