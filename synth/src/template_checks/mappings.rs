//! Lambda event source mappings: bounded retries on streams, no stream options on queues, and
//! a queue visibility timeout that covers the function.

use serde_json::{Map, Value};

use super::Problems;
use super::references::{blank_sub_variables, single_entry};
use super::template::{Resource, Template, literal_number, names};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "kinesis-mapping-without-starting-position",
    "kinesis-mapping-unbounded-retries",
    "sqs-mapping-stream-option",
    "sqs-visibility-timeout-too-short",
];

/// What an event source mapping reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A Kinesis or DynamoDB stream.
    Stream,
    /// An SQS queue.
    Queue,
}

/// The kind of source an `EventSourceArn` names: by the type of the resource it points at, or
/// by the service in a literal (or `Fn::Sub`-built) ARN.
fn source_kind(t: &Template<'_>, arn: &Value) -> Option<Source> {
    let kind_of_type = |ty: &str| match ty {
        "AWS::Kinesis::Stream" | "AWS::Kinesis::StreamConsumer" | "AWS::DynamoDB::Table" => {
            Some(Source::Stream)
        }
        "AWS::SQS::Queue" => Some(Source::Queue),
        _ => None,
    };
    if let Some(resource) = t.referenced_resources(arn).first() {
        return kind_of_type(resource.ty);
    }
    let text = match arn {
        Value::String(text) => text.as_str(),
        Value::Object(map) => match single_entry(map) {
            Some(("Fn::Sub", Value::String(text))) => text,
            Some(("Fn::Sub", Value::Array(parts))) => parts.first()?.as_str()?,
            _ => return None,
        },
        _ => return None,
    };
    match blank_sub_variables(text).split(':').nth(2)? {
        "kinesis" | "dynamodb" => Some(Source::Stream),
        "sqs" => Some(Source::Queue),
        _ => None,
    }
}

/// Event source mapping keys that only streams take.
const STREAM_ONLY_KEYS: &[&str] = &[
    "StartingPosition",
    "StartingPositionTimestamp",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "ParallelizationFactor",
    "TumblingWindowInSeconds",
    "DestinationConfig",
];

pub(super) fn check_event_source_mappings(t: &Template<'_>, problems: &mut Problems) {
    for mapping in t.of_type("AWS::Lambda::EventSourceMapping") {
        let p = mapping.properties;
        let Some(arn) = p.get("EventSourceArn") else {
            continue;
        };
        match source_kind(t, arn) {
            Some(Source::Stream) => {
                if !p.contains_key("StartingPosition") {
                    problems.at(
                        mapping.id,
                        "kinesis-mapping-without-starting-position",
                        "the mapping reads a stream but has no `StartingPosition`; streams require one (TRIM_HORIZON, LATEST or AT_TIMESTAMP)",
                    );
                }
                for key in ["MaximumRetryAttempts", "MaximumRecordAgeInSeconds"] {
                    let unbounded = match p.get(key) {
                        None => true,
                        Some(value) => literal_number(value) == Some(-1.0),
                    };
                    if unbounded {
                        problems.at(
                            mapping.id,
                            "kinesis-mapping-unbounded-retries",
                            format!(
                                "the stream mapping leaves `{key}` unbounded (missing or -1): one poison record stalls its shard until it expires; set a bound and an on-failure destination (G11)"
                            ),
                        );
                    }
                }
            }
            Some(Source::Queue) => {
                let stream_keys: Vec<&str> = STREAM_ONLY_KEYS
                    .iter()
                    .copied()
                    .filter(|key| p.contains_key(*key))
                    .collect();
                if !stream_keys.is_empty() {
                    problems.at(
                        mapping.id,
                        "sqs-mapping-stream-option",
                        format!(
                            "the mapping reads an SQS queue but sets {}, which only stream sources take; remove them (retries belong to the queue's RedrivePolicy)",
                            names(&stream_keys)
                        ),
                    );
                }
                check_visibility_timeout(t, mapping, arn, problems);
            }
            None => {}
        }
    }
}

/// G14: the queue's visibility timeout must be at least 6 times the function timeout. Absent
/// values take the service defaults (30 s and 3 s); values given by intrinsics are not judged.
fn check_visibility_timeout(
    t: &Template<'_>,
    mapping: &Resource<'_>,
    arn: &Value,
    problems: &mut Problems,
) {
    let Some(queue) = t
        .referenced_resources(arn)
        .into_iter()
        .find(|r| r.ty == "AWS::SQS::Queue")
    else {
        return;
    };
    let Some(function) = mapping.properties.get("FunctionName").and_then(|name| {
        t.referenced_resources(name)
            .into_iter()
            .find(|r| r.ty == "AWS::Lambda::Function")
    }) else {
        return;
    };
    let seconds = |properties: &Map<String, Value>, key: &str, default: f64| {
        properties.get(key).map_or(Some(default), literal_number)
    };
    let (Some(visibility), Some(timeout)) = (
        seconds(queue.properties, "VisibilityTimeout", 30.0),
        seconds(function.properties, "Timeout", 3.0),
    ) else {
        return;
    };
    if timeout * 6.0 > visibility {
        problems.at(
            mapping.id,
            "sqs-visibility-timeout-too-short",
            format!(
                "function `{}` has a timeout of {timeout} s but queue `{}` a visibility timeout of {visibility} s; make the visibility timeout at least 6 x {timeout} = {} s (G14)",
                function.id,
                queue.id,
                timeout * 6.0
            ),
        );
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{FUNCTION, cases, check, codes};

    pub(in crate::template_checks) fn kinesis_mapping() -> String {
        format!(
            r#"Resources:
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
{FUNCTION}  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      EventSourceArn: !GetAtt Stream.Arn
      FunctionName: !Ref Function
      StartingPosition: TRIM_HORIZON
      BisectBatchOnFunctionError: true
      MaximumRetryAttempts: 10
      MaximumRecordAgeInSeconds: 3600
"#
        )
    }

    fn sqs_mapping() -> String {
        format!(
            r#"Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 360
{FUNCTION}  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      EventSourceArn: !GetAtt Queue.Arn
      FunctionName: !GetAtt Function.Arn
      BatchSize: 10
      FunctionResponseTypes: [ReportBatchItemFailures]
"#
        )
    }

    cases! {
        kinesis_mapping_without_starting_position: "kinesis-mapping-without-starting-position",
            kinesis_mapping().replace("      StartingPosition: TRIM_HORIZON\n", ""), kinesis_mapping();
        kinesis_mapping_unbounded_retries: "kinesis-mapping-unbounded-retries",
            kinesis_mapping().replace("MaximumRetryAttempts: 10", "MaximumRetryAttempts: -1"),
            kinesis_mapping();
        sqs_mapping_stream_option: "sqs-mapping-stream-option",
            sqs_mapping().replace(
                "      BatchSize: 10\n",
                "      BatchSize: 10\n      BisectBatchOnFunctionError: true\n      StartingPosition: LATEST\n",
            ),
            sqs_mapping();
        sqs_visibility_timeout_too_short: "sqs-visibility-timeout-too-short",
            sqs_mapping().replace("VisibilityTimeout: 360", "VisibilityTimeout: 300"), sqs_mapping();
    }

    #[test]
    fn mapping_source_is_found_from_a_sub_built_arn() {
        let text = kinesis_mapping()
            .replace(
                "!GetAtt Stream.Arn",
                "!Sub \"arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/other\"",
            )
            .replace("      MaximumRecordAgeInSeconds: 3600\n", "");
        assert_eq!(codes(&text), ["kinesis-mapping-unbounded-retries"]);
        let text = sqs_mapping().replace(
            "!GetAtt Queue.Arn",
            "!Sub \"arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:other\"",
        );
        let text = text.replace("      BatchSize: 10\n", "      ParallelizationFactor: 2\n");
        assert_eq!(codes(&text), ["sqs-mapping-stream-option"]);
    }

    #[test]
    fn visibility_timeout_uses_defaults_and_skips_intrinsics() {
        // No VisibilityTimeout: the default 30 s is below 6 x 60 s.
        let text = sqs_mapping().replace("VisibilityTimeout: 360", "DelaySeconds: 0");
        let found = check(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].message.contains("360 s"), "{}", found[0].message);
        // A visibility timeout from a parameter is not judged.
        let text = format!(
            "Parameters:\n  Visibility:\n    Type: Number\n{}",
            sqs_mapping().replace(
                "VisibilityTimeout: 360",
                "VisibilityTimeout: !Ref Visibility"
            )
        );
        assert!(codes(&text).is_empty());
    }

    #[test]
    fn sub_variables_are_blanked_for_arn_fields() {
        assert_eq!(
            crate::template_checks::references::blank_sub_variables(
                "arn:${AWS::Partition}:sqs:${AWS::Region}:q${x"
            ),
            "arn:_:sqs:_:q${x"
        );
    }
}
