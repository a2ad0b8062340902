//! CloudWatch alarms: every action notifies a topic the template creates, so the topic exists in
//! the alarm's region (an alarm can only notify a topic in its own region); a stream the
//! public writes to says when its shards refuse writes; and a web ACL says when it blocks a
//! flood.

use super::Problems;
use super::template::{Template, array, object, strings, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "alarm-action-outside-template",
    "stream-without-throttle-alarm",
    "web-acl-without-blocked-alarm",
];

/// The value of an alarm's dimension `key`.
fn dimension<'a>(
    alarm: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'a serde_json::Value> {
    array(alarm, "Dimensions")
        .iter()
        .find(|d| d.get("Name").and_then(|n| n.as_str()) == Some(key))
        .and_then(|d| d.get("Value"))
}

/// A flood the web ACL blocks never reaches API Gateway or the streams, so no other alarm sees
/// it, and WAF bills every request it blocks. Each web ACL needs an alarm on its
/// `AWS/WAFV2` `BlockedRequests` with dimensions `WebACL` (its name, which is also its metric
/// name), `Region` and `Rule: ALL` (every rule), that notifies someone.
pub(super) fn check_web_acl_alarms(t: &Template<'_>, problems: &mut Problems) {
    for acl in t.of_type("AWS::WAFv2::WebACL") {
        let name = text(acl.properties, "Name");
        let metric_name =
            object(acl.properties, "VisibilityConfig").and_then(|v| text(v, "MetricName"));
        let watched = t.of_type("AWS::CloudWatch::Alarm").any(|alarm| {
            let p = alarm.properties;
            text(p, "Namespace") == Some("AWS/WAFV2")
                && text(p, "MetricName") == Some("BlockedRequests")
                && dimension(p, "WebACL")
                    .and_then(|v| v.as_str())
                    .is_some_and(|v| Some(v) == name && Some(v) == metric_name)
                && dimension(p, "Rule").and_then(|v| v.as_str()) == Some("ALL")
                && dimension(p, "Region").is_some()
                && !array(p, "AlarmActions").is_empty()
        });
        if !watched {
            problems.at(
                acl.id,
                "web-acl-without-blocked-alarm",
                "no alarm watches this web ACL's blocked requests: a flood it blocks never reaches API Gateway or the streams, so nothing else sees it, and WAF bills each request; add an alarm on AWS/WAFV2 `BlockedRequests` with dimensions `WebACL` (the web ACL's `Name`, made its `VisibilityConfig.MetricName` too), `Region` and `Rule: ALL`, with `AlarmActions`",
            );
        }
    }
}

/// A stream an API writes to (an integration whose request template names the stream) can be
/// filled by a flood; its `WriteProvisionedThroughputExceeded` (records refused for lack of
/// shard capacity, clients get 503) needs an alarm, or nobody hears about it.
pub(super) fn check_stream_throttle_alarms(t: &Template<'_>, problems: &mut Problems) {
    let templates: Vec<&str> = t
        .of_type("AWS::ApiGateway::Method")
        .filter_map(|m| object(m.properties, "Integration"))
        .filter(|i| {
            i.get("Uri").is_some_and(|u| {
                strings(u)
                    .iter()
                    .any(|u| u.contains("kinesis:action/PutRecord"))
            })
        })
        .filter_map(|i| i.get("RequestTemplates"))
        .flat_map(strings)
        .collect();
    for stream in t.of_type("AWS::Kinesis::Stream") {
        let Some(name) = text(stream.properties, "Name") else {
            continue;
        };
        let quoted = format!("\"{name}\"");
        if !templates.iter().any(|body| body.contains(&quoted)) {
            continue;
        }
        let watched = t.of_type("AWS::CloudWatch::Alarm").any(|alarm| {
            text(alarm.properties, "Namespace") == Some("AWS/Kinesis")
                && text(alarm.properties, "MetricName")
                    == Some("WriteProvisionedThroughputExceeded")
                && array(alarm.properties, "Dimensions").iter().any(|d| {
                    d.get("Name").and_then(|n| n.as_str()) == Some("StreamName")
                        && d.get("Value").is_some_and(|v| {
                            v.as_str() == Some(name)
                                || t.referenced_resources(v).iter().any(|r| r.id == stream.id)
                        })
                })
        });
        if !watched {
            problems.at(
                stream.id,
                "stream-without-throttle-alarm",
                format!(
                    "the API writes to stream `{name}`, but no alarm watches its `WriteProvisionedThroughputExceeded` (AWS/Kinesis, dimension StreamName): a flood that fills the shards answers clients 503 without anyone being told"
                ),
            );
        }
    }
}

/// The properties that list alarm actions.
const ACTION_LISTS: [&str; 3] = ["AlarmActions", "OKActions", "InsufficientDataActions"];

pub(super) fn check_alarm_actions(t: &Template<'_>, problems: &mut Problems) {
    for alarm in t.of_type("AWS::CloudWatch::Alarm") {
        for list in ACTION_LISTS {
            for action in array(alarm.properties, list) {
                let own_topic = t
                    .referenced_resources(action)
                    .iter()
                    .any(|r| r.ty == "AWS::SNS::Topic");
                if !own_topic {
                    let shown = strings(action).join("");
                    problems.at(
                        alarm.id,
                        "alarm-action-outside-template",
                        format!(
                            "`{list}` names `{shown}`, a topic this template does not create: an alarm can only notify a topic in its own region, and nothing makes sure one exists there; create the topic in this template and `!Ref` it"
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{STREAM_ENCRYPTION, cases};
    use crate::template_checks::waf::tests::protected;

    fn written_stream() -> String {
        format!(
            r#"Resources:
  Topic:
    Type: AWS::SNS::Topic
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      Name: ingest-stream
      ShardCount: 1
{STREAM_ENCRYPTION}  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: ingest
      BinaryMediaTypes: [application~1json]
  Method:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: POST
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: !Sub "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:kinesis:action/PutRecord"
        Credentials: !Sub "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/api"
        ContentHandling: CONVERT_TO_TEXT
        RequestTemplates:
          application/json: '{{"StreamName": "ingest-stream", "PartitionKey": "$context.extendedRequestId", "Data": "$input.body"}}'
  ThrottledAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Kinesis
      MetricName: WriteProvisionedThroughputExceeded
      Dimensions:
        - Name: StreamName
          Value: ingest-stream
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 5
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      AlarmActions:
        - !Ref Topic
"#
        )
    }

    const ALARM: &str = r#"Resources:
  Topic:
    Type: AWS::SNS::Topic
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      AlarmActions:
        - !Ref Topic
      OKActions:
        - !Ref Topic
"#;

    cases! {
        alarm_action_outside_template: "alarm-action-outside-template",
            ALARM.replace(
                "      OKActions:\n        - !Ref Topic\n",
                "      OKActions:\n        - !Sub \"arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:alarms\"\n",
            ),
            ALARM;
        stream_without_throttle_alarm: "stream-without-throttle-alarm",
            written_stream().replace("MetricName: WriteProvisionedThroughputExceeded", "MetricName: IncomingRecords"),
            written_stream();
        web_acl_without_blocked_alarm: "web-acl-without-blocked-alarm",
            protected().replace("Value: ALL", "Value: per-client-rate"),
            protected();
    }

    #[test]
    fn the_blocked_alarm_names_the_web_acl_as_its_metrics_do_and_notifies() {
        use crate::template_checks::test_support::codes;
        // A metric name that differs from the name: which one the dimension is is ambiguous.
        let renamed = protected().replace(
            "        MetricName: acl\n",
            "        MetricName: acl_metrics\n",
        );
        assert_eq!(codes(&renamed), ["web-acl-without-blocked-alarm"]);
        let silent = protected().replace("      AlarmActions:\n        - !Ref Topic\n", "");
        assert_eq!(codes(&silent), ["web-acl-without-blocked-alarm"]);
    }
}
