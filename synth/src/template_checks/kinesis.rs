//! Kinesis streams: capacity settings, and records encrypted with a customer managed key.

use super::Problems;
use super::template::{Template, object, strings, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "on-demand-stream-with-shard-count",
    "stream-without-customer-key",
];

/// Data at rest: a stream's records are encrypted with a customer managed key, whose policy
/// names the producers and consumers; the AWS managed `aws/kinesis` lets any principal of the
/// account that may read the stream decrypt it.
pub(super) fn check_stream_encryption(t: &Template<'_>, problems: &mut Problems) {
    for stream in t.of_type("AWS::Kinesis::Stream") {
        let encryption = object(stream.properties, "StreamEncryption");
        let key = encryption.and_then(|e| e.get("KeyId"));
        let problem = match (encryption.and_then(|e| text(e, "EncryptionType")), key) {
            (Some("KMS"), Some(key)) if !strings(key).iter().any(|k| k.contains("alias/aws/")) => {
                None
            }
            (Some("KMS"), _) => Some(
                "is encrypted with the AWS managed key aws/kinesis, whose policy lets any principal of the account that may read the stream decrypt its records; set `KeyId` to a customer managed key whose policy names the producers and consumers",
            ),
            _ => Some(
                "is not encrypted at rest; set `StreamEncryption` (`EncryptionType: KMS`) with a customer managed key",
            ),
        };
        if let Some(problem) = problem {
            problems.at(
                stream.id,
                "stream-without-customer-key",
                format!("the stream {problem}"),
            );
        }
    }
}

pub(super) fn check_streams(t: &Template<'_>, problems: &mut Problems) {
    for stream in t.of_type("AWS::Kinesis::Stream") {
        let mode =
            object(stream.properties, "StreamModeDetails").and_then(|d| text(d, "StreamMode"));
        if mode == Some("ON_DEMAND") && stream.properties.contains_key("ShardCount") {
            problems.at(
                stream.id,
                "on-demand-stream-with-shard-count",
                "an ON_DEMAND stream takes no `ShardCount`; remove it or use PROVISIONED",
            );
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{STREAM_ENCRYPTION, cases};

    fn on_demand() -> String {
        format!(
            "Resources:\n  Stream:\n    Type: AWS::Kinesis::Stream\n    Properties:\n      StreamModeDetails:\n        StreamMode: ON_DEMAND\n{STREAM_ENCRYPTION}"
        )
    }

    cases! {
        on_demand_stream_with_shard_count: "on-demand-stream-with-shard-count",
            format!("{}      ShardCount: 4\n", on_demand()), on_demand();
        stream_without_customer_key: "stream-without-customer-key",
            on_demand().replace("KeyId: !Sub \"arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/data\"", "KeyId: alias/aws/kinesis"),
            on_demand();
    }
}
