//! Hard-coded partitions: every ARN the templates build must name `${AWS::Partition}`, so the
//! stacks deploy to China and GovCloud too. Certificate ARNs come from the spec and are exempt.

use serde_json::Value;

use super::Problems;
use super::template::Template;

/// Codes this file reports.
pub(super) const CODES: &[&str] = &["hard-coded-partition"];

/// Keys whose literal ARNs come from the spec (certificates) and may name their partition.
fn is_certificate_key(key: &str) -> bool {
    key.ends_with("CertificateArn")
}

pub(super) fn check_partitions(t: &Template<'_>, problems: &mut Problems) {
    // Every string of the template counts, in every section; a problem is charged to the entry
    // of a section that holds it, or to the template for top-level keys like `Description`.
    const SECTIONS: &[&str] = &[
        "Parameters",
        "Mappings",
        "Conditions",
        "Resources",
        "Outputs",
    ];
    let mut places: Vec<(Option<&str>, &Value)> = Vec::new();
    for (key, value) in t.root {
        match value {
            Value::Object(entries) if SECTIONS.contains(&key.as_str()) => {
                places.extend(entries.iter().map(|(id, v)| (Some(id.as_str()), v)));
            }
            _ => places.push((None, value)),
        }
    }
    for (owner, value) in places {
        let mut found = Vec::new();
        hard_coded_partitions(value, &mut found);
        for arn in found {
            let message = format!(
                "`{}` hard-codes the `aws` partition; build ARNs with `!Sub arn:${{AWS::Partition}}:...`",
                excerpt(arn)
            );
            match owner {
                Some(id) => problems.at(id, "hard-coded-partition", message),
                None => problems.global("hard-coded-partition", message),
            }
        }
    }
}

/// The strings under `value` that hold a hard-coded partition (`arn:aws:`, `arn:aws-cn:`, ...),
/// skipping certificate ARN properties.
fn hard_coded_partitions<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::String(text) if has_hard_coded_partition(text) => found.push(text),
        Value::Array(items) => items
            .iter()
            .for_each(|item| hard_coded_partitions(item, found)),
        Value::Object(map) => {
            for (key, item) in map {
                if !is_certificate_key(key) {
                    hard_coded_partitions(item, found);
                }
            }
        }
        _ => {}
    }
}

fn has_hard_coded_partition(text: &str) -> bool {
    text.match_indices("arn:aws").any(|(at, prefix)| {
        let before = text[..at].chars().next_back();
        let after = text[at + prefix.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric()) && matches!(after, Some(':' | '-'))
    })
}

/// The start of a long string, for messages.
fn excerpt(text: &str) -> String {
    const LIMIT: usize = 80;
    let start = text.find("arn:aws").unwrap_or(0);
    let tail = &text[start..];
    match tail.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}...", &tail[..end]),
        None => tail.to_owned(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::has_hard_coded_partition;
    use crate::template_checks::test_support::{TOPIC, cases, check};

    const FUNCTION_TEMPLATE: &str = r#"Resources:
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Role: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ingest"
      Code:
        ZipFile: unused
"#;

    cases! {
        hard_coded_partition: "hard-coded-partition",
            FUNCTION_TEMPLATE.replace("arn:${AWS::Partition}:iam", "arn:aws:iam"), FUNCTION_TEMPLATE;
    }

    #[test]
    fn strings_outside_resources_count_and_words_are_not_arns() {
        let text = format!("Description: \"see arn:aws-cn:s3:::x\"\n{TOPIC}");
        let found = check(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].resource, None);
        // "arn:aws" inside a longer word is not an ARN.
        assert!(!has_hard_coded_partition("learn:aws:docs"));
        assert!(has_hard_coded_partition("x,arn:aws:sqs:us-east-1:1:q"));
    }
}
