//! KMS: the key of the data at rest (the one buckets, streams and Athena results are encrypted
//! with) delegates administration to the account but its use only to named principals
//! (`docs/security.md#data-at-rest`).

use serde_json::{Map, Value};

use super::Problems;
use super::template::{Template, actions, array, object, statements, strings, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &["key-policy-delegates-use"];

/// KMS actions that use a key on data (as opposed to administering it). A trailing `*` in a
/// policy's action matches them by prefix.
const USE_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:CreateGrant",
];

/// Whether a policy action grants one of [`USE_ACTIONS`].
fn grants_use(action: &str) -> bool {
    let action = action.to_ascii_lowercase();
    if action == "*" || action == "kms:*" {
        return true;
    }
    USE_ACTIONS.iter().any(|used| {
        let used = used.to_ascii_lowercase();
        match action.strip_suffix('*') {
            Some(prefix) => used.starts_with(prefix),
            None => used == action,
        }
    })
}

/// The keys that hold data: named by a bucket's default encryption, a stream or an Athena
/// workgroup.
fn data_keys<'a>(t: &'a Template<'a>) -> Vec<&'a str> {
    let mut places: Vec<&Value> = Vec::new();
    for bucket in t.of_type("AWS::S3::Bucket") {
        for rule in object(bucket.properties, "BucketEncryption")
            .map(|e| array(e, "ServerSideEncryptionConfiguration"))
            .unwrap_or_default()
        {
            if let Some(key) = rule
                .get("ServerSideEncryptionByDefault")
                .and_then(|d| d.get("KMSMasterKeyID"))
            {
                places.push(key);
            }
        }
    }
    for stream in t.of_type("AWS::Kinesis::Stream") {
        if let Some(key) =
            object(stream.properties, "StreamEncryption").and_then(|e| e.get("KeyId"))
        {
            places.push(key);
        }
    }
    for workgroup in t.of_type("AWS::Athena::WorkGroup") {
        if let Some(key) = object(workgroup.properties, "WorkGroupConfiguration")
            .and_then(|c| object(c, "ResultConfiguration"))
            .and_then(|r| object(r, "EncryptionConfiguration"))
            .and_then(|e| e.get("KmsKey"))
        {
            places.push(key);
        }
    }
    let mut keys: Vec<&str> = places
        .into_iter()
        .flat_map(|place| t.referenced_resources(place))
        .filter(|r| r.ty == "AWS::KMS::Key")
        .map(|r| r.id)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Whether a statement's principal is everyone or the whole account (a root ARN, an account
/// id), as opposed to named roles.
fn broad_principal(statement: &Map<String, Value>) -> bool {
    let Some(principal) = statement.get("Principal") else {
        return false;
    };
    if principal.as_str() == Some("*") {
        return true;
    }
    principal.get("AWS").is_some_and(|aws| {
        strings(aws)
            .iter()
            .any(|p| *p == "*" || p.ends_with(":root") || p.chars().all(|c| c.is_ascii_digit()))
    })
}

/// Whether a statement limits itself to named principals (`aws:PrincipalArn`).
fn names_principals(statement: &Map<String, Value>) -> bool {
    object(statement, "Condition").is_some_and(|condition| {
        ["ArnEquals", "ArnLike", "StringEquals", "StringLike"]
            .iter()
            .filter_map(|op| object(condition, op))
            .any(|m| m.contains_key("aws:PrincipalArn"))
    })
}

pub(super) fn check_data_key_policies(t: &Template<'_>, problems: &mut Problems) {
    for id in data_keys(t) {
        let Some(key) = t.resource(id) else {
            continue;
        };
        let Some(policy) = key.properties.get("KeyPolicy") else {
            continue;
        };
        for statement in statements(policy) {
            if text(statement, "Effect") != Some("Allow") || !broad_principal(statement) {
                continue;
            }
            let granted: Vec<&str> = actions(statement)
                .into_iter()
                .filter(|a| grants_use(a))
                .collect();
            if !granted.is_empty() && !names_principals(statement) {
                let sid = text(statement, "Sid").unwrap_or("(no Sid)");
                problems.at(
                    id,
                    "key-policy-delegates-use",
                    format!(
                        "statement `{sid}` of the data key's policy lets every principal of the account that IAM allows use the key ({}): anyone with read access to the data can then decrypt it, as with an AWS managed key; give the account administration only, and grant use with an `aws:PrincipalArn` condition naming the roles",
                        granted.join(", ")
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::cases;

    const KEYED_STREAM: &str = r#"Resources:
  Producer:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: !Sub "firehose.${AWS::URLSuffix}"
            Action: sts:AssumeRole
  DataKey:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Sid: AccountAdministersOnly
            Effect: Allow
            Principal:
              AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
            Action: [kms:Describe*, kms:Put*, kms:Enable*, kms:Disable*, kms:ScheduleKeyDeletion]
            Resource: "*"
          - Sid: StreamProducers
            Effect: Allow
            Principal:
              AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
            Action: kms:GenerateDataKey
            Resource: "*"
            Condition:
              ArnEquals:
                aws:PrincipalArn: !GetAtt Producer.Arn
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
      StreamEncryption:
        EncryptionType: KMS
        KeyId: !GetAtt DataKey.Arn
"#;

    cases! {
        key_policy_delegates_use: "key-policy-delegates-use",
            KEYED_STREAM.replace("kms:Describe*, kms:Put*", "\"kms:*\""),
            KEYED_STREAM;
    }

    #[test]
    fn only_use_actions_count() {
        assert!(super::grants_use("kms:GenerateDataKey*"));
        assert!(super::grants_use("kms:ReEncrypt*"));
        assert!(!super::grants_use("kms:Describe*"));
        assert!(!super::grants_use("kms:PutKeyPolicy"));
    }
}
