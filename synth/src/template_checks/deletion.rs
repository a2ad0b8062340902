//! Deletion and replacement policies: what a stack keeps must not block a retry of its first
//! deploy (`docs/traps.md#retain-on-failed-create`), and must not be deleted by a replacement
//! either.

use super::Problems;
use super::template::{Template, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &["retain-on-failed-create", "replace-policy-deletes"];

/// Policies that keep the resource when the stack deletes it.
const KEEPING: &[&str] = &["Retain", "RetainExceptOnCreate", "Snapshot"];

pub(super) fn check_deletion_policies(t: &Template<'_>, problems: &mut Problems) {
    for resource in &t.resources {
        let Some(deletion) = text(resource.body, "DeletionPolicy") else {
            continue;
        };
        if deletion == "Retain" {
            problems.at(
                resource.id,
                "retain-on-failed-create",
                "`DeletionPolicy: Retain` also keeps the resource when the stack's first create fails and rolls back: a named resource then blocks every retry with \"already exists\" until someone deletes it by hand; use `DeletionPolicy: RetainExceptOnCreate`",
            );
        }
        let replace = text(resource.body, "UpdateReplacePolicy");
        if KEEPING.contains(&deletion) && !replace.is_some_and(|policy| KEEPING.contains(&policy)) {
            problems.at(
                resource.id,
                "replace-policy-deletes",
                format!(
                    "`DeletionPolicy: {deletion}` keeps the resource when the stack is deleted, but without `UpdateReplacePolicy: Retain` an update that replaces it deletes the old one; add `UpdateReplacePolicy: Retain`"
                ),
            );
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{cases, codes};

    const KEPT_STREAM: &str = r#"Resources:
  Stream:
    Type: AWS::Kinesis::Stream
    DeletionPolicy: RetainExceptOnCreate
    UpdateReplacePolicy: Retain
    Properties:
      Name: ingest-stream
      ShardCount: 1
      StreamEncryption:
        EncryptionType: KMS
        KeyId: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/data"
"#;

    cases! {
        retain_on_failed_create: "retain-on-failed-create",
            KEPT_STREAM.replace("RetainExceptOnCreate", "Retain"), KEPT_STREAM;
        replace_policy_deletes: "replace-policy-deletes",
            KEPT_STREAM.replace("    UpdateReplacePolicy: Retain\n", ""), KEPT_STREAM;
    }

    #[test]
    fn deleted_resources_need_no_replace_policy() {
        let text = KEPT_STREAM
            .replace("RetainExceptOnCreate", "Delete")
            .replace("    UpdateReplacePolicy: Retain\n", "");
        assert!(codes(&text).is_empty());
        let text =
            KEPT_STREAM.replace("UpdateReplacePolicy: Retain", "UpdateReplacePolicy: Delete");
        assert_eq!(codes(&text), ["replace-policy-deletes"]);
    }
}
