//! What the family tests share: templates written as YAML text, run through the same parser as
//! rendered stacks, and the broken/fixed case runner.

use std::sync::Arc;

use super::{TemplateProblem, check_template};
use crate::diagnostic::SourceFile;
use crate::yaml::parse_cloudformation;

/// The problems of a template given as YAML text (CloudFormation tags allowed).
pub(super) fn check(text: &str) -> Vec<TemplateProblem> {
    let source = Arc::new(SourceFile::new("test.yaml", text.to_owned()));
    let node = parse_cloudformation(&source)
        .unwrap_or_else(|d| panic!("test template does not parse: {d:?}\n{text}"));
    let mut diagnostics = Vec::new();
    let value = node.to_json(&source, &mut diagnostics);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    check_template(&value)
}

/// The codes of [`check`], in order.
pub(super) fn codes(text: &str) -> Vec<&'static str> {
    check(text).into_iter().map(|p| p.code).collect()
}

/// The broken template yields problems of `code` and no other; the fixed one yields none.
pub(super) fn check_case(family: &[&str], code: &str, broken: &str, fixed: &str) {
    assert!(
        family.contains(&code),
        "`{code}` is not in its family's CODES"
    );
    assert_ne!(broken, fixed, "the fix changes nothing");
    let found = check(broken);
    assert!(
        !found.is_empty() && found.iter().all(|p| p.code == code),
        "broken template: expected only `{code}`, got {found:#?}"
    );
    let found = check(fixed);
    assert!(
        found.is_empty(),
        "fixed template: expected no problem, got {found:#?}"
    );
}

/// One test per case, `name: "code", broken, fixed;`, plus `CASE_CODES`, the codes covered,
/// which the module tests compare with the family's `CODES`.
macro_rules! cases {
    ($($name:ident: $code:literal, $broken:expr, $fixed:expr;)*) => {
        pub(crate) const CASE_CODES: &[&str] = &[$($code),*];
        $(
            #[test]
            fn $name() {
                $crate::template_checks::test_support::check_case(
                    super::CODES,
                    $code,
                    &$broken,
                    &$fixed,
                );
            }
        )*
    };
}
pub(super) use cases;

/// The smallest valid template.
pub(super) const TOPIC: &str = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n";

/// A function (as a `Resources` entry) for mapping and alarm templates.
pub(super) const FUNCTION: &str = r#"  Function:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: ingest-validator
      Runtime: provided.al2023
      Handler: bootstrap
      Role: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ingest"
      Code:
        ZipFile: unused
      Timeout: 60
"#;

/// A stream's encryption with a customer managed key (as a key ARN), which every stream needs.
pub(super) const STREAM_ENCRYPTION: &str = r#"      StreamEncryption:
        EncryptionType: KMS
        KeyId: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/data"
"#;
