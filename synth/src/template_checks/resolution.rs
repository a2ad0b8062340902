//! Resolution and usage: every `Ref`, `Fn::GetAtt`, `${...}`, condition, mapping and
//! `DependsOn` names something that exists, and every parameter and condition is used.

use std::collections::HashSet;

use serde_json::Value;

use super::Problems;
use super::references::{Reference, references};
use super::template::{Place, Template, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "unresolved-ref",
    "unresolved-get-att",
    "unresolved-sub-variable",
    "unresolved-depends-on",
    "unresolved-condition",
    "unresolved-mapping",
    "unused-parameter",
    "unused-condition",
];

pub(super) fn check_references(t: &Template<'_>, problems: &mut Problems) {
    for (place, id, value) in t.places() {
        let noun = place.noun();
        for reference in references(value) {
            match reference {
                Reference::Ref(name) if !t.resolves(name) => problems.at(
                    id,
                    "unresolved-ref",
                    format!(
                        "{noun} `Ref`s `{name}`, which is not a parameter, a resource or a pseudo parameter"
                    ),
                ),
                Reference::GetAtt(resource, attribute) if t.resource(resource).is_none() => {
                    problems.at(
                        id,
                        "unresolved-get-att",
                        format!(
                            "{noun} uses `Fn::GetAtt {resource}.{attribute}`, but there is no resource `{resource}`"
                        ),
                    );
                }
                Reference::Sub(name) => match name.split_once('.') {
                    Some((resource, _)) if t.resource(resource).is_none() => problems.at(
                        id,
                        "unresolved-sub-variable",
                        format!(
                            "{noun} has `${{{name}}}` in `Fn::Sub`, but there is no resource `{resource}`; write `${{!{name}}}` if it is meant literally"
                        ),
                    ),
                    None if !t.resolves(name) => problems.at(
                        id,
                        "unresolved-sub-variable",
                        format!(
                            "{noun} has `${{{name}}}` in `Fn::Sub`, which is not in its variable map, a parameter, a resource or a pseudo parameter; write `${{!{name}}}` if it is meant literally"
                        ),
                    ),
                    _ => {}
                },
                Reference::If(name) | Reference::Condition(name)
                    if !t.conditions.contains_key(name) =>
                {
                    problems.at(
                        id,
                        "unresolved-condition",
                        format!("{noun} names the condition `{name}`, which is not defined"),
                    );
                }
                Reference::Mapping(name) if !t.mappings.contains_key(name) => problems.at(
                    id,
                    "unresolved-mapping",
                    format!("{noun} uses `Fn::FindInMap` on `{name}`, which is not a mapping"),
                ),
                _ => {}
            }
        }
    }
    for resource in &t.resources {
        match resource.body.get("DependsOn") {
            None | Some(Value::String(_)) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            Some(_) => problems.at(
                resource.id,
                "unresolved-depends-on",
                "`DependsOn` must be a resource name or a list of resource names",
            ),
        }
        for name in resource.depends_on() {
            if name == resource.id {
                problems.at(
                    resource.id,
                    "unresolved-depends-on",
                    "the resource `DependsOn` itself",
                );
            } else if t.resource(name).is_none() {
                problems.at(
                    resource.id,
                    "unresolved-depends-on",
                    format!("`DependsOn` names `{name}`, which is not a resource"),
                );
            }
        }
    }
    for (place, id, condition) in attribute_conditions(t) {
        if !t.conditions.contains_key(condition) {
            problems.at(
                id,
                "unresolved-condition",
                format!(
                    "the {} is created under the condition `{condition}`, which is not defined",
                    place.noun()
                ),
            );
        }
    }
}

/// The `Condition` attributes of resources and outputs.
fn attribute_conditions<'a>(t: &Template<'a>) -> Vec<(Place, &'a str, &'a str)> {
    let resources = t
        .resources
        .iter()
        .filter_map(|r| Some((Place::Resource, r.id, text(r.body, "Condition")?)));
    let outputs = t.outputs.iter().filter_map(|(id, output)| {
        let condition = output.get("Condition")?.as_str()?;
        Some((Place::Output, id.as_str(), condition))
    });
    resources.chain(outputs).collect()
}

pub(super) fn check_usage(t: &Template<'_>, problems: &mut Problems) {
    let mut used_parameters = HashSet::new();
    let mut used_conditions = HashSet::new();
    for (place, id, value) in t.places() {
        for reference in references(value) {
            match reference {
                Reference::Ref(name) | Reference::Sub(name) => {
                    used_parameters.insert(name);
                }
                Reference::If(name) | Reference::Condition(name)
                    if !(place == Place::Condition && name == id) =>
                {
                    used_conditions.insert(name);
                }
                _ => {}
            }
        }
    }
    used_conditions.extend(attribute_conditions(t).into_iter().map(|(_, _, c)| c));
    for name in t.parameters.keys() {
        if !used_parameters.contains(name.as_str()) {
            problems.at(
                name,
                "unused-parameter",
                "the parameter is never used (no `Ref` or `Fn::Sub` names it); remove it or use it",
            );
        }
    }
    for name in t.conditions.keys() {
        if !used_conditions.contains(name.as_str()) {
            problems.at(
                name,
                "unused-condition",
                "the condition is never used (no resource, output, `Fn::If` or other condition names it); remove it or use it",
            );
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{TOPIC, cases, check, codes};

    const SUBSCRIPTION: &str = r#"Resources:
  Topic:
    Type: AWS::SNS::Topic
  Subscription:
    Type: AWS::SNS::Subscription
    DependsOn: [Topic, Queue]
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt Queue.Arn
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${Topic.TopicName}-${!literal}-${AWS::Region}"
      Tags:
        - Key: name
          Value: !Sub ["${Prefix}-${AWS::StackName}", {Prefix: !GetAtt Topic.TopicName}]
"#;

    const CONDITIONS: &str = r#"Parameters:
  Env:
    Type: String
    AllowedValues: [prod, test]
Conditions:
  IsProduction: !Equals [!Ref Env, prod]
  IsTest: !Not [!Condition IsProduction]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Condition: IsProduction
    Properties:
      DisplayName: !If [IsTest, test, !Ref AWS::NoValue]
Outputs:
  TopicArn:
    Condition: IsProduction
    Value: !Ref Topic
"#;

    const MAPPINGS: &str = r#"Mappings:
  Sizes:
    us-east-1:
      shards: 2
Resources:
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: !FindInMap [Sizes, !Ref AWS::Region, shards]
      StreamEncryption:
        EncryptionType: KMS
        KeyId: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/data"
"#;

    cases! {
        unresolved_ref: "unresolved-ref",
            SUBSCRIPTION.replace("!Ref Topic", "!Ref Topc"), SUBSCRIPTION;
        unresolved_get_att: "unresolved-get-att",
            SUBSCRIPTION.replace("!GetAtt Queue.Arn", "!GetAtt Queues.Arn"), SUBSCRIPTION;
        unresolved_sub_variable: "unresolved-sub-variable",
            SUBSCRIPTION.replace("${AWS::Region}", "${Stage}"), SUBSCRIPTION;
        unresolved_depends_on: "unresolved-depends-on",
            SUBSCRIPTION.replace("[Topic, Queue]", "[Topic, Queue, Missing]"), SUBSCRIPTION;
        unresolved_condition: "unresolved-condition",
            CONDITIONS.replace(
                "    Condition: IsProduction\n    Properties:",
                "    Condition: IsProd\n    Properties:",
            ),
            CONDITIONS;
        unresolved_mapping: "unresolved-mapping",
            MAPPINGS.replace("[Sizes,", "[Size,"), MAPPINGS;
        unused_parameter: "unused-parameter",
            format!("Parameters:\n  Unused:\n    Type: String\n{TOPIC}"),
            format!("Parameters:\n  Unused:\n    Type: String\n{TOPIC}    Properties:\n      DisplayName: !Ref Unused\n");
        unused_condition: "unused-condition",
            CONDITIONS.replace("!If [IsTest, test, !Ref AWS::NoValue]", "test"), CONDITIONS;
    }

    #[test]
    fn sub_map_keys_shadow_and_dotted_variables_need_a_resource() {
        let text = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !Sub [\"${Local}${Gone.Arn}\", {Local: x}]\n";
        let found = check(text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].code, "unresolved-sub-variable");
        assert!(found[0].message.contains("`Gone`"), "{}", found[0].message);
        assert_eq!(found[0].resource.as_deref(), Some("Topic"));
    }

    #[test]
    fn references_in_outputs_and_string_get_att_are_resolved() {
        let text = format!(
            "{TOPIC}Outputs:\n  A:\n    Value: !GetAtt Nope.Arn\n  B:\n    Value: {{\"Fn::GetAtt\": \"Topic.TopicName\"}}\n"
        );
        assert_eq!(codes(&text), ["unresolved-get-att"]);
        assert_eq!(check(&text)[0].resource.as_deref(), Some("A"));
    }

    #[test]
    fn conditions_named_by_if_and_condition_functions() {
        // `Fn::If` on an undefined condition; `IsTest` is then unused as well.
        let text = CONDITIONS.replace("!If [IsTest,", "!If [IsTesting,");
        assert_eq!(codes(&text), ["unresolved-condition", "unused-condition"]);
        let text = CONDITIONS.replace("!Condition IsProduction", "!Condition IsProd");
        assert_eq!(codes(&text), ["unresolved-condition"]);
        // A condition naming only itself is not used.
        let text = CONDITIONS
            .replace("!If [IsTest, test, !Ref AWS::NoValue]", "test")
            .replace("!Not [!Condition IsProduction]", "!Not [!Condition IsTest]");
        assert_eq!(codes(&text), ["unused-condition"]);
    }

    #[test]
    fn depends_on_a_string_and_itself() {
        let text = format!("{TOPIC}    DependsOn: Topic\n");
        assert_eq!(codes(&text), ["unresolved-depends-on"]);
        let text = format!("{TOPIC}    DependsOn: Other\n");
        assert_eq!(codes(&text), ["unresolved-depends-on"]);
    }
}
