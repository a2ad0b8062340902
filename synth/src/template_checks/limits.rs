//! Template quotas and logical ids.
//!
//! The quotas are CloudFormation's current ones (500 resources, 200 parameters, outputs and
//! mappings per template); older mirrors of the documentation still list smaller numbers
//! (`docs/traps.md#cloudformation-template-limits`).

use super::Problems;
use super::template::Template;

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "too-many-resources",
    "too-many-parameters",
    "too-many-outputs",
    "too-many-mappings",
    "invalid-logical-id",
];

const MAX_RESOURCES: usize = 500;
const MAX_PARAMETERS: usize = 200;
const MAX_OUTPUTS: usize = 200;
const MAX_MAPPINGS: usize = 200;
const MAX_LOGICAL_ID: usize = 255;

pub(super) fn check_limits(t: &Template<'_>, problems: &mut Problems) {
    let counts = [
        (
            "too-many-resources",
            "resources",
            t.resources.len(),
            MAX_RESOURCES,
        ),
        (
            "too-many-parameters",
            "parameters",
            t.parameters.len(),
            MAX_PARAMETERS,
        ),
        ("too-many-outputs", "outputs", t.outputs.len(), MAX_OUTPUTS),
        (
            "too-many-mappings",
            "mappings",
            t.mappings.len(),
            MAX_MAPPINGS,
        ),
    ];
    for (code, noun, count, max) in counts {
        if count > max {
            problems.global(
                code,
                format!(
                    "the template has {count} {noun}; CloudFormation allows at most {max} per template (split the stack)"
                ),
            );
        }
    }
    let ids = t
        .parameters
        .keys()
        .chain(t.conditions.keys())
        .chain(t.outputs.keys())
        .chain(t.mappings.keys())
        .map(String::as_str)
        .chain(t.resources.iter().map(|r| r.id));
    for id in ids {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems.at(
                id,
                "invalid-logical-id",
                "a logical id may hold only the letters A-Z, a-z and the digits 0-9",
            );
        } else if id.len() > MAX_LOGICAL_ID {
            problems.at(
                id,
                "invalid-logical-id",
                format!(
                    "the logical id is {} characters long; the limit is {MAX_LOGICAL_ID}",
                    id.len()
                ),
            );
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{TOPIC, cases, codes};

    /// A template with `count` entries in `section`, each used so that nothing else fires.
    fn many(section: &str, count: usize) -> String {
        let mut text = String::new();
        match section {
            "Resources" => {
                text.push_str("Resources:\n");
                for i in 0..count {
                    text.push_str(&format!("  Topic{i}:\n    Type: AWS::SNS::Topic\n"));
                }
            }
            "Parameters" => {
                text.push_str("Parameters:\n");
                for i in 0..count {
                    text.push_str(&format!("  P{i}:\n    Type: String\n"));
                }
                let used: String = (0..count).map(|i| format!("${{P{i}}}")).collect();
                text.push_str(&format!(
                    "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !Sub \"{used}\"\n"
                ));
            }
            "Outputs" => {
                text.push_str(TOPIC);
                text.push_str("Outputs:\n");
                for i in 0..count {
                    text.push_str(&format!("  O{i}:\n    Value: !Ref Topic\n"));
                }
            }
            "Mappings" => {
                text.push_str("Mappings:\n");
                for i in 0..count {
                    text.push_str(&format!("  M{i}:\n    k:\n      v: x\n"));
                }
                text.push_str(TOPIC);
            }
            other => panic!("no generator for {other}"),
        }
        text
    }

    cases! {
        too_many_resources: "too-many-resources", many("Resources", 501), many("Resources", 500);
        too_many_parameters: "too-many-parameters", many("Parameters", 201), many("Parameters", 200);
        too_many_outputs: "too-many-outputs", many("Outputs", 201), many("Outputs", 200);
        too_many_mappings: "too-many-mappings", many("Mappings", 201), many("Mappings", 200);
        invalid_logical_id: "invalid-logical-id", TOPIC.replace("Topic:", "Alarm-Topic:"), TOPIC;
    }

    #[test]
    fn long_logical_ids_are_rejected() {
        let long = "T".repeat(256);
        assert_eq!(
            codes(&TOPIC.replace("Topic:", &format!("{long}:"))),
            ["invalid-logical-id"]
        );
        let limit = "T".repeat(255);
        assert!(codes(&TOPIC.replace("Topic:", &format!("{limit}:"))).is_empty());
    }
}
