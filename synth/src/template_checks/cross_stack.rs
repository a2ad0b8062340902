//! Checks across two stacks: the dns stack's drain-switch checks read alarms the secondary
//! stack makes (`docs/security.md#the-lever`).
//!
//! A `CLOUDWATCH_METRIC` health check names its alarm by a parameter the deploy fills from the
//! secondary stack's output of the same name. Route 53 copies the alarm's settings when the
//! check is created and supports only some alarms: "Standard-resolution metrics",
//! "Statistics: Average, Minimum, Maximum, Sum, and SampleCount. Extended statistics aren't
//! supported" (API reference, `AlarmIdentifier`); its copy has one metric, so metric-math
//! alarms cannot be represented. The alarm must be in the region the check names.

use serde_json::Value;

use super::TemplateProblem;
use super::template::{literal_number, object, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &["switch-alarm-unreadable"];

/// Statistics Route 53 reads.
const STATISTICS: [&str; 5] = ["Average", "Minimum", "Maximum", "Sum", "SampleCount"];

/// Checks the dns stack's alarm checks against the secondary stack (deployed in
/// `secondary_region`).
pub fn check_switch_alarms(
    secondary: &Value,
    secondary_region: &str,
    dns: &Value,
) -> Vec<TemplateProblem> {
    let mut problems = Vec::new();
    let mut problem = |id: &str, message: String| {
        problems.push(TemplateProblem {
            resource: Some(id.to_owned()),
            code: "switch-alarm-unreadable",
            message,
        });
    };
    let section =
        |template: &Value, key: &str| template.get(key).and_then(Value::as_object).cloned();
    let dns_resources = section(dns, "Resources").unwrap_or_default();
    let outputs = section(secondary, "Outputs").unwrap_or_default();
    let resources = section(secondary, "Resources").unwrap_or_default();
    for (id, resource) in &dns_resources {
        let Some(config) = resource
            .get("Properties")
            .and_then(|p| p.get("HealthCheckConfig"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        if text(config, "Type") != Some("CLOUDWATCH_METRIC") {
            continue;
        }
        let Some(identifier) = object(config, "AlarmIdentifier") else {
            continue;
        };
        if text(identifier, "Region") != Some(secondary_region) {
            problem(
                id,
                format!(
                    "the check reads an alarm in {}, but the switch alarms are in the secondary stack's region, {secondary_region}",
                    text(identifier, "Region").unwrap_or("no region")
                ),
            );
        }
        let Some(parameter) = identifier
            .get("Name")
            .and_then(|n| n.get("Ref"))
            .and_then(Value::as_str)
        else {
            problem(
                id,
                "the check's alarm name is not a parameter fed from the secondary stack's outputs; a name written in two stacks drifts".to_owned(),
            );
            continue;
        };
        let alarm = outputs
            .get(parameter)
            .and_then(|o| o.get("Value"))
            .and_then(|v| v.get("Ref"))
            .and_then(Value::as_str)
            .and_then(|alarm_id| resources.get(alarm_id).map(|r| (alarm_id, r)))
            .filter(|(_, r)| {
                r.get("Type").and_then(Value::as_str) == Some("AWS::CloudWatch::Alarm")
            });
        let Some((alarm_id, alarm)) = alarm else {
            problem(
                id,
                format!(
                    "the secondary stack has no output `{parameter}` that is a `Ref` to one of its alarms"
                ),
            );
            continue;
        };
        let properties = alarm
            .get("Properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let period = properties.get("Period").and_then(literal_number);
        let why = if properties.contains_key("Metrics") || !properties.contains_key("MetricName") {
            Some("is not a single-metric alarm (Route 53 copies one metric, not metric math)")
        } else if properties.contains_key("ExtendedStatistic")
            || !text(&properties, "Statistic").is_some_and(|s| STATISTICS.contains(&s))
        {
            Some("does not use one of Average, Minimum, Maximum, Sum or SampleCount")
        } else if period.is_none_or(|p| p < 60.0 || p % 60.0 != 0.0) {
            Some(
                "has a period that is not a whole number of minutes (Route 53 reads standard-resolution metrics only)",
            )
        } else {
            None
        };
        if let Some(why) = why {
            problem(id, format!("the alarm `{alarm_id}` the check reads {why}"));
        }
    }
    problems
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::diagnostic::SourceFile;
    use crate::yaml::parse_cloudformation;

    pub(crate) const CASE_CODES: &[&str] = &["switch-alarm-unreadable"];

    fn json(text: &str) -> Value {
        let source = Arc::new(SourceFile::new("t.yaml", text.to_owned()));
        parse_cloudformation(&source)
            .unwrap()
            .to_json(&source, &mut Vec::new())
    }

    const SECONDARY: &str = r#"Resources:
  PrimarySwitchAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: demo-lever-primary-0a1b2c3d
      Namespace: IngestLever
      MetricName: Drained
      Statistic: Maximum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
Outputs:
  PrimarySwitchAlarmName:
    Value: !Ref PrimarySwitchAlarm
"#;

    const DNS: &str = r#"Parameters:
  PrimarySwitchAlarmName:
    Type: String
Resources:
  PrimarySwitchCheck:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: CLOUDWATCH_METRIC
        AlarmIdentifier:
          Name: !Ref PrimarySwitchAlarmName
          Region: us-west-2
        InsufficientDataHealthStatus: Healthy
"#;

    fn codes(secondary: &str, dns: &str) -> Vec<&'static str> {
        check_switch_alarms(&json(secondary), "us-west-2", &json(dns))
            .into_iter()
            .map(|p| p.code)
            .collect()
    }

    #[test]
    fn switch_alarm_unreadable() {
        assert!(CODES.contains(&CASE_CODES[0]));
        assert!(codes(SECONDARY, DNS).is_empty(), "the fixed pair");
        let extended = SECONDARY.replace("Statistic: Maximum", "ExtendedStatistic: p99");
        assert_eq!(codes(&extended, DNS), ["switch-alarm-unreadable"]);
        let fast = SECONDARY.replace("Period: 300", "Period: 10");
        assert_eq!(codes(&fast, DNS), ["switch-alarm-unreadable"]);
        let elsewhere = DNS.replace("Region: us-west-2", "Region: us-east-1");
        assert_eq!(codes(SECONDARY, &elsewhere), ["switch-alarm-unreadable"]);
        let no_output = SECONDARY.replace("  PrimarySwitchAlarmName:", "  OtherName:");
        assert_eq!(codes(&no_output, DNS), ["switch-alarm-unreadable"]);
    }
}
