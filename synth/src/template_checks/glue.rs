//! Glue tables and Athena workgroups.

use serde_json::Value;

use super::Problems;
use super::template::{Template, is_intrinsic, is_true, literal_number, object, text};
use crate::aws::ATHENA_BYTES_SCANNED_CUTOFF;

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "glue-parameter-not-string",
    "athena-workgroup-without-scan-cutoff",
    "athena-results-not-kms",
];

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

/// A workgroup without `BytesScannedCutoffPerQuery` lets one query scan the whole lake (Athena
/// bills by the byte scanned); a literal cutoff must be at least Athena's minimum of 10 MB.
pub(super) fn check_workgroups(t: &Template<'_>, problems: &mut Problems) {
    let (minimum, _) = ATHENA_BYTES_SCANNED_CUTOFF;
    for workgroup in t.of_type("AWS::Athena::WorkGroup") {
        let cutoff = object(workgroup.properties, "WorkGroupConfiguration")
            .and_then(|configuration| configuration.get("BytesScannedCutoffPerQuery"));
        let problem = match cutoff {
            None => Some(
                "the workgroup sets no `BytesScannedCutoffPerQuery`, so one query may scan the whole lake and Athena bills every byte; set a cutoff in `WorkGroupConfiguration`".to_owned(),
            ),
            Some(value) => literal_number(value)
                .filter(|bytes| *bytes < minimum as f64)
                .map(|bytes| {
                    format!(
                        "`BytesScannedCutoffPerQuery` is {bytes}, below Athena's minimum of {minimum} bytes (10 MB); raise it"
                    )
                }),
        };
        if let Some(message) = problem {
            problems.at(
                workgroup.id,
                "athena-workgroup-without-scan-cutoff",
                message,
            );
        }
        // Query results copy lake data: they get the lake's key (`SSE_KMS` or `CSE_KMS` with a
        // key), enforced over what a client asks for.
        let configuration = object(workgroup.properties, "WorkGroupConfiguration");
        let encryption = configuration
            .and_then(|c| object(c, "ResultConfiguration"))
            .and_then(|r| object(r, "EncryptionConfiguration"));
        let option = encryption.and_then(|e| text(e, "EncryptionOption"));
        let keyed = matches!(option, Some("SSE_KMS" | "CSE_KMS"))
            && encryption.is_some_and(|e| e.contains_key("KmsKey"));
        let enforced =
            configuration.is_some_and(|c| is_true(c.get("EnforceWorkGroupConfiguration")));
        if !keyed || !enforced {
            problems.at(
                workgroup.id,
                "athena-results-not-kms",
                format!(
                    "query results copy lake data, but the workgroup {}; set `ResultConfiguration.EncryptionConfiguration` to `SSE_KMS` with the lake's `KmsKey` and `EnforceWorkGroupConfiguration: true`",
                    if keyed {
                        "lets each query choose its own result encryption"
                    } else {
                        "does not encrypt them with a customer managed key"
                    }
                ),
            );
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{cases, codes};

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

    const WORKGROUP: &str = r#"Resources:
  WorkGroup:
    Type: AWS::Athena::WorkGroup
    Properties:
      Name: ingest
      WorkGroupConfiguration:
        EnforceWorkGroupConfiguration: true
        BytesScannedCutoffPerQuery: 100000000000
        ResultConfiguration:
          OutputLocation: s3://results/
          EncryptionConfiguration:
            EncryptionOption: SSE_KMS
            KmsKey: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/data"
"#;

    cases! {
        athena_workgroup_without_scan_cutoff: "athena-workgroup-without-scan-cutoff",
            WORKGROUP.replace("        BytesScannedCutoffPerQuery: 100000000000\n", ""), WORKGROUP;
        athena_results_not_kms: "athena-results-not-kms",
            WORKGROUP.replace("EncryptionOption: SSE_KMS", "EncryptionOption: SSE_S3"), WORKGROUP;
        glue_parameter_not_string: "glue-parameter-not-string",
            GLUE,
            GLUE.replace("enabled: true", "enabled: \"true\"").replace("interval: 1", "interval: \"1\"");
    }

    #[test]
    fn a_cutoff_below_ten_megabytes_is_refused() {
        let text = WORKGROUP.replace("100000000000", "1000000");
        assert_eq!(codes(&text), ["athena-workgroup-without-scan-cutoff"]);
        let text = WORKGROUP.replace("100000000000", "10000000");
        assert!(codes(&text).is_empty());
    }
}
