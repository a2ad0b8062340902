//! Glue tables.

use serde_json::Value;

use super::Problems;
use super::template::{Template, is_intrinsic, object};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &["glue-parameter-not-string"];

pub(super) fn check_glue_parameters(t: &Template<'_>, problems: &mut Problems) {
    let tables = t.of_type("AWS::Glue::Table").filter_map(|table| {
        let input = object(table.properties, "TableInput")?;
        let storage = object(input, "StorageDescriptor");
        let serde = storage.and_then(|s| object(s, "SerdeInfo"));
        let maps = [
            ("TableInput.Parameters", Some(input)),
            ("StorageDescriptor.Parameters", storage),
            ("SerdeInfo.Parameters", serde),
        ];
        Some((table.id, maps))
    });
    for (id, maps) in tables {
        for (label, owner) in maps {
            let Some(parameters) = owner.and_then(|o| object(o, "Parameters")) else {
                continue;
            };
            for (key, value) in parameters {
                let kind = match value {
                    Value::String(_) => continue,
                    _ if is_intrinsic(value) => continue,
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    Value::Null => "empty",
                    Value::Array(_) => "a list",
                    Value::Object(_) => "a mapping",
                };
                problems.at(
                    id,
                    "glue-parameter-not-string",
                    format!(
                        "{label} `{key}` is {kind}; Glue parameters are strings, so quote it (e.g. \"{value}\")"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::cases;

    const GLUE: &str = r#"Resources:
  Database:
    Type: AWS::Glue::Database
    Properties:
      CatalogId: !Ref AWS::AccountId
      DatabaseInput:
        Name: lake
  Table:
    Type: AWS::Glue::Table
    Properties:
      CatalogId: !Ref AWS::AccountId
      DatabaseName: !Ref Database
      TableInput:
        Name: events
        Parameters:
          projection.enabled: true
          projection.dt.interval: 1
          storage.location.template: !Sub "s3://lake-${AWS::AccountId}/dt=${!dt}/"
        StorageDescriptor:
          SerdeInfo:
            Parameters:
              ignore.malformed.json: "false"
"#;

    cases! {
        glue_parameter_not_string: "glue-parameter-not-string",
            GLUE,
            GLUE.replace("enabled: true", "enabled: \"true\"").replace("interval: 1", "interval: \"1\"");
    }
}
