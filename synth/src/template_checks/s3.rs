//! S3 buckets: notifications that S3 can validate when the bucket is created, and lifecycle
//! transitions S3 accepts.

use std::collections::HashSet;

use serde_json::Value;

use super::Problems;
use super::template::{Template, array, literal_number, names, object, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "notification-without-policy-dependency",
    "s3-notified-queue-aws-managed-key",
    "lifecycle-ia-too-early",
];

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
      NotificationConfiguration:
        QueueConfigurations:
          - Event: "s3:ObjectCreated:*"
            Queue: !GetAtt Queue.Arn
"#;

    const LIFECYCLE: &str = r#"Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      LifecycleConfiguration:
        Rules:
          - Id: cool-down
            Status: Enabled
            Transitions:
              - StorageClass: STANDARD_IA
                TransitionInDays: 10
            NoncurrentVersionTransitions:
              - StorageClass: GLACIER
                TransitionInDays: 1
"#;

    cases! {
        notification_without_policy_dependency: "notification-without-policy-dependency",
            NOTIFIED_BUCKET.replace("    DependsOn: QueuePolicy\n", ""), NOTIFIED_BUCKET;
        s3_notified_queue_aws_managed_key: "s3-notified-queue-aws-managed-key",
            NOTIFIED_BUCKET.replace("SqsManagedSseEnabled: true", "KmsMasterKeyId: alias/aws/sqs"),
            NOTIFIED_BUCKET;
        lifecycle_ia_too_early: "lifecycle-ia-too-early",
            LIFECYCLE, LIFECYCLE.replace("TransitionInDays: 10", "TransitionInDays: 30");
    }

    #[test]
    fn notification_without_any_queue_policy() {
        let start = NOTIFIED_BUCKET.find("  QueuePolicy:").unwrap();
        let end = NOTIFIED_BUCKET.find("  Bucket:").unwrap();
        let text = format!("{}{}", &NOTIFIED_BUCKET[..start], &NOTIFIED_BUCKET[end..])
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
