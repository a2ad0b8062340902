//! Lambda event source mappings: retries on streams that end by a record age clearly below the
//! stream's retention, a watched on-failure destination, no stream options on queues, and a
//! queue visibility timeout that covers the function.

use serde_json::{Map, Value};

use super::Problems;
use super::references::{blank_sub_variables, single_entry};
use super::template::{Resource, Template, array, literal_number, names, object, text};
use crate::plan::defaults::MIN_MARGIN_SECONDS;

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "kinesis-mapping-without-starting-position",
    "kinesis-mapping-unbounded-retries",
    "record-age-not-below-retention",
    "mapping-destination-unwatched",
    "sqs-mapping-stream-option",
    "sqs-visibility-timeout-too-short",
];

/// Kinesis keeps records 24 hours unless `RetentionPeriodHours` says otherwise.
const DEFAULT_RETENTION_HOURS: f64 = 24.0;

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
                check_record_age(t, mapping, arn, problems);
                check_destination_watched(t, mapping, problems);
                // Retries may be unbounded (-1) when the age ends them: an outage is then a
                // delay, and a record that always fails is given up a margin before the
                // stream trims it. Without an age, nothing ends them before retention does.
                let age_unbounded = match p.get("MaximumRecordAgeInSeconds") {
                    None => true,
                    Some(value) => literal_number(value) == Some(-1.0),
                };
                if age_unbounded {
                    problems.at(
                        mapping.id,
                        "kinesis-mapping-unbounded-retries",
                        "the stream mapping leaves `MaximumRecordAgeInSeconds` unbounded (missing or -1): a record that always fails is retried until the stream's retention trims it, stalling its shard and lost without a count; set an age below the retention and an on-failure destination",
                    );
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

/// A mapping that gives up on a record only when retention is about to trim it leaves no time to
/// write it to the on-failure destination: records trimmed first are lost without a trace, and
/// the mapping's metrics do not count them (`docs/traps.md#record-age-below-retention`). Literal
/// values only; a stream outside the template is not judged.
fn check_record_age(
    t: &Template<'_>,
    mapping: &Resource<'_>,
    arn: &Value,
    problems: &mut Problems,
) {
    let Some(stream) = t
        .referenced_resources(arn)
        .into_iter()
        .find(|r| r.ty == "AWS::Kinesis::Stream")
    else {
        return;
    };
    let Some(retention_hours) = stream
        .properties
        .get("RetentionPeriodHours")
        .map_or(Some(DEFAULT_RETENTION_HOURS), literal_number)
    else {
        return;
    };
    let Some(age) = mapping
        .properties
        .get("MaximumRecordAgeInSeconds")
        .and_then(literal_number)
        .filter(|age| *age >= 0.0)
    else {
        return;
    };
    let retention = retention_hours * 3600.0;
    let limit = retention - MIN_MARGIN_SECONDS as f64;
    if age > limit {
        problems.at(
            mapping.id,
            "record-age-not-below-retention",
            format!(
                "`MaximumRecordAgeInSeconds` is {age}, not clearly below the {retention} s that stream `{}` keeps records: a record that retention trims before the mapping gives up on it never reaches the on-failure destination and nothing counts it as lost; set it to {limit} or less (an hour below the retention)",
                stream.id
            ),
        );
    }
}

/// An on-failure destination the mapping cannot write to loses the records it gave up on; Lambda
/// counts each failed write in the function's `DestinationDeliveryFailures` metric, which an
/// alarm of the template must watch (`docs/traps.md#on-failure-delivery-failures`).
fn check_destination_watched(t: &Template<'_>, mapping: &Resource<'_>, problems: &mut Problems) {
    let has_destination = object(mapping.properties, "DestinationConfig")
        .and_then(|config| object(config, "OnFailure"))
        .is_some_and(|on_failure| on_failure.contains_key("Destination"));
    if !has_destination {
        return;
    }
    let Some(function) = mapping.properties.get("FunctionName").and_then(|name| {
        t.referenced_resources(name)
            .into_iter()
            .find(|r| r.ty == "AWS::Lambda::Function")
    }) else {
        return;
    };
    let physical_name = text(function.properties, "FunctionName");
    let watched = t.of_type("AWS::CloudWatch::Alarm").any(|alarm| {
        let p = alarm.properties;
        text(p, "Namespace") == Some("AWS/Lambda")
            && text(p, "MetricName") == Some("DestinationDeliveryFailures")
            && array(p, "Dimensions")
                .iter()
                .filter_map(Value::as_object)
                .any(|dimension| {
                    text(dimension, "Name") == Some("FunctionName")
                        && dimension.get("Value").is_some_and(|value| {
                            value.as_str().is_some_and(|v| Some(v) == physical_name)
                                || t.referenced_resources(value)
                                    .iter()
                                    .any(|r| r.id == function.id)
                        })
                })
    });
    if !watched {
        problems.at(
            mapping.id,
            "mapping-destination-unwatched",
            format!(
                "the mapping sends the batches it gives up on to an on-failure destination, but no alarm watches `DestinationDeliveryFailures` of `{}`: when that write fails (permissions, a missing bucket) the records are lost silently; add an AWS/Lambda `DestinationDeliveryFailures` alarm with the `FunctionName` dimension",
                function.id
            ),
        );
    }
}

/// The queue's visibility timeout must be at least 6 times the function timeout
/// (`docs/traps.md#sqs-visibility-timeout`). Absent
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
                "function `{}` has a timeout of {timeout} s but queue `{}` a visibility timeout of {visibility} s; make the visibility timeout at least 6 x {timeout} = {} s",
                function.id,
                queue.id,
                timeout * 6.0
            ),
        );
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::s3::tests::SECURE;
    use crate::template_checks::test_support::{FUNCTION, STREAM_ENCRYPTION, cases, check, codes};

    pub(in crate::template_checks) fn kinesis_mapping() -> String {
        format!(
            r#"Resources:
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
{STREAM_ENCRYPTION}{FUNCTION}  Mapping:
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

    /// A mapping with an on-failure bucket and the alarm that watches its delivery.
    fn watched_destination() -> String {
        format!(
            r#"{}      DestinationConfig:
        OnFailure:
          Destination: !GetAtt Failed.Arn
  Failed:
    Type: AWS::S3::Bucket
    Properties:
{SECURE}  DeliveryAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: DestinationDeliveryFailures
      Dimensions:
        - Name: FunctionName
          Value: ingest-validator
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
"#,
            kinesis_mapping()
        )
    }

    cases! {
        record_age_not_below_retention: "record-age-not-below-retention",
            kinesis_mapping().replace("MaximumRecordAgeInSeconds: 3600", "MaximumRecordAgeInSeconds: 86400"),
            kinesis_mapping().replace("MaximumRecordAgeInSeconds: 3600", "MaximumRecordAgeInSeconds: 82800");
        mapping_destination_unwatched: "mapping-destination-unwatched",
            watched_destination().replace("DestinationDeliveryFailures", "Errors"),
            watched_destination();
        kinesis_mapping_without_starting_position: "kinesis-mapping-without-starting-position",
            kinesis_mapping().replace("      StartingPosition: TRIM_HORIZON\n", ""), kinesis_mapping();
        kinesis_mapping_unbounded_retries: "kinesis-mapping-unbounded-retries",
            kinesis_mapping()
                .replace("MaximumRetryAttempts: 10", "MaximumRetryAttempts: -1")
                .replace("MaximumRecordAgeInSeconds: 3600", "MaximumRecordAgeInSeconds: -1"),
            // Retries without a count end by age: what the stacks deploy.
            kinesis_mapping().replace("MaximumRetryAttempts: 10", "MaximumRetryAttempts: -1");
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
    fn record_age_follows_the_stream_retention() {
        let longer = kinesis_mapping()
            .replace(
                "ShardCount: 1",
                "ShardCount: 1\n      RetentionPeriodHours: 48",
            )
            .replace(
                "MaximumRecordAgeInSeconds: 3600",
                "MaximumRecordAgeInSeconds: 86400",
            );
        assert!(codes(&longer).is_empty());
        let equal = longer.replace(
            "MaximumRecordAgeInSeconds: 86400",
            "MaximumRecordAgeInSeconds: 172800",
        );
        let found = check(&equal);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].message.contains("set it to 169200 or less"),
            "{}",
            found[0].message
        );
        // A retention from a parameter is not judged.
        let text = format!(
            "Parameters:\n  Hours:\n    Type: Number\n{}",
            equal.replace(
                "RetentionPeriodHours: 48",
                "RetentionPeriodHours: !Ref Hours"
            )
        );
        assert!(codes(&text).is_empty());
    }

    #[test]
    fn a_destination_alarm_may_name_the_function_by_ref() {
        let text = watched_destination().replace("Value: ingest-validator", "Value: !Ref Function");
        assert!(codes(&text).is_empty(), "{:#?}", check(&text));
        let text =
            watched_destination().replace("Value: ingest-validator", "Value: other-function");
        assert_eq!(codes(&text), ["mapping-destination-unwatched"]);
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
