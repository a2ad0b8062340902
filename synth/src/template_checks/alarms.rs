//! CloudWatch alarms: every action notifies a topic the template creates, so the topic exists in
//! the alarm's region (an alarm can only notify a topic in its own region).

use super::Problems;
use super::template::{Template, array, strings};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &["alarm-action-outside-template"];

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
    use crate::template_checks::test_support::cases;

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
    }
}
