//! Checks of rendered CloudFormation templates for the mistakes cfn-lint does not catch.
//!
//! The renderer calls [`check_template`] on every template it writes. The template arrives as a
//! `serde_json::Value` in long form (`{"Ref": x}`, `{"Fn::GetAtt": [a, b]}`, `{"Fn::Sub": ...}`),
//! which is what [`crate::yaml::parse_cloudformation`] and [`crate::yaml::Node::to_json`] produce
//! from YAML text.
//!
//! Design, one file per concern:
//! - [`template`]: a borrowed view that finds the sections once and indexes the resources by
//!   logical id; nothing is copied. A malformed template (not a mapping, a section that is not a
//!   mapping, a resource without `Type`) is reported as `malformed-template` and the rest is
//!   still checked as far as it can be. It also holds the small readers of literal values.
//! - [`references`]: one walker that understands the intrinsic functions (`Ref`, `Fn::GetAtt`,
//!   `Fn::Sub` in both forms with its `${!Literal}` escape and local map, `Fn::If`, `Condition`,
//!   `Fn::FindInMap`) and lists every name a value points at. The resolution and usage checks
//!   and the checks that follow a property to another resource (an event source mapping to its
//!   stream or queue, a bucket notification to its queue and that queue's policy) all use it.
//! - The checks, grouped by what they look at: [`resolution`] (every name resolves and is used),
//!   [`limits`] (template quotas and logical ids), then one file per resource family
//!   ([`route53`], [`mappings`], [`api_gateway`], [`kinesis`], [`s3`], [`glue`] with Athena,
//!   [`iam`], [`alarms`], [`waf`], [`kms`]) and the template-wide rules on [`deletion`]
//!   policies and hard-coded [`partitions`]; and one check across two stacks,
//!   [`check_switch_alarms`] (the dns stack's drain-switch checks against the secondary
//!   stack's alarms), which the renderer runs once both are rendered.
//! - Each check is a plain function over the view, listed in [`CHECKS`]; every check runs, so
//!   one call reports every problem. Each problem carries a stable kebab-case code and a message
//!   that says what is wrong and how to fix it; the check's comment cites its trap in
//!   `docs/traps.md`.
//! - A value given by an intrinsic function (a parameter, a `Fn::If`) is unknown until deploy
//!   time and is not judged; only literal values are. The exceptions are the places where the
//!   intrinsic itself says enough: a `Weight` that is a `Ref` to a parameter must be a parameter
//!   bounded to 0..255.
//!
//! The checks are the mistakes cfn-lint 1.58 misses (`docs/traps.md#cfn-lint-blind-spots`) and
//! the traps our own stacks fell into once, so they cannot come back. Every check has a broken
//! and a fixed template in its family's tests: the broken one yields problems of that code and
//! no other, the fixed one none at all.

mod alarms;
mod api_gateway;
mod cross_stack;
mod deletion;
mod glue;
mod iam;
mod kinesis;
mod kms;
mod limits;
mod mappings;
mod partitions;
mod references;
mod resolution;
mod route53;
mod s3;
mod template;
#[cfg(test)]
mod test_support;
mod waf;

use std::fmt;

use serde_json::Value;

pub use cross_stack::check_switch_alarms;
use template::Template;

/// One problem found in a rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    /// Logical id of the entry at fault: a resource, or for problems outside `Resources` the
    /// parameter, condition, output or mapping. `None` when the template as a whole is at fault.
    pub resource: Option<String>,
    /// Stable kebab-case code of the check, e.g. `unresolved-ref` or
    /// `weighted-record-without-health-check`.
    pub code: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let resource = self.resource.as_deref().unwrap_or("template");
        write!(f, "{resource}: {}", self.message)
    }
}

/// Checks a rendered template (long form JSON) and returns every problem found, in the order of
/// the checks and, within a check, of the template. An empty list means the template passed.
pub fn check_template(template: &Value) -> Vec<TemplateProblem> {
    let mut problems = Problems::default();
    if let Some(view) = Template::new(template, &mut problems) {
        for check in CHECKS {
            check(&view, &mut problems);
        }
    }
    problems.0
}

/// A check: reads the template, adds what it finds.
type Check = fn(&Template<'_>, &mut Problems);

/// Every check, in the order their problems are reported.
const CHECKS: &[Check] = &[
    resolution::check_references,
    resolution::check_usage,
    limits::check_limits,
    route53::check_record_sets,
    mappings::check_event_source_mappings,
    api_gateway::check_api_methods,
    api_gateway::check_api_body_handling,
    api_gateway::check_api_deployments,
    api_gateway::check_domain_names,
    kinesis::check_streams,
    s3::check_bucket_notifications,
    s3::check_bucket_lifecycles,
    glue::check_glue_parameters,
    route53::check_health_checks,
    route53::check_health_alarms,
    glue::check_workgroups,
    iam::check_roles,
    api_gateway::check_public_stream_reads,
    api_gateway::check_api_account,
    api_gateway::check_partition_keys,
    api_gateway::check_public_object_reads,
    waf::check_stage_web_acls,
    waf::check_web_acl_rules,
    waf::check_endpoint_check_tokens,
    waf::check_health_traces,
    route53::check_switch_checks,
    s3::check_bucket_encryption,
    s3::check_bucket_expiration,
    s3::check_switch_writers,
    kinesis::check_stream_encryption,
    kms::check_data_key_policies,
    iam::check_put_metric_data,
    alarms::check_alarm_actions,
    alarms::check_stream_throttle_alarms,
    alarms::check_web_acl_alarms,
    deletion::check_deletion_policies,
    partitions::check_partitions,
];

/// The codes each family can report, by family: a code outside these lists is a bug (the
/// tests give every listed code a broken and a fixed template).
const FAMILIES: &[(&str, &[&str])] = &[
    ("template", template::CODES),
    ("resolution", resolution::CODES),
    ("limits", limits::CODES),
    ("route53", route53::CODES),
    ("mappings", mappings::CODES),
    ("api_gateway", api_gateway::CODES),
    ("kinesis", kinesis::CODES),
    ("s3", s3::CODES),
    ("glue", glue::CODES),
    ("iam", iam::CODES),
    ("alarms", alarms::CODES),
    ("waf", waf::CODES),
    ("kms", kms::CODES),
    ("cross_stack", cross_stack::CODES),
    ("deletion", deletion::CODES),
    ("partitions", partitions::CODES),
];

/// Whether some family lists `code`.
fn is_listed(code: &str) -> bool {
    FAMILIES.iter().any(|(_, codes)| codes.contains(&code))
}

/// The problems found so far.
#[derive(Default)]
struct Problems(Vec<TemplateProblem>);

impl Problems {
    /// A problem of the entry with logical id `id`.
    fn at(&mut self, id: &str, code: &'static str, message: impl Into<String>) {
        debug_assert!(is_listed(code), "`{code}` is in no family's CODES");
        self.0.push(TemplateProblem {
            resource: Some(id.to_owned()),
            code,
            message: message.into(),
        });
    }

    /// A problem of the template as a whole.
    fn global(&mut self, code: &'static str, message: impl Into<String>) {
        debug_assert!(is_listed(code), "`{code}` is in no family's CODES");
        self.0.push(TemplateProblem {
            resource: None,
            code,
            message: message.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template_checks::test_support::{check, codes};

    /// Every code a family can report has a broken/fixed case in that family's tests.
    #[test]
    fn every_code_has_a_case() {
        let cases: &[&[&str]] = &[
            template::tests::CASE_CODES,
            resolution::tests::CASE_CODES,
            limits::tests::CASE_CODES,
            route53::tests::CASE_CODES,
            mappings::tests::CASE_CODES,
            api_gateway::tests::CASE_CODES,
            kinesis::tests::CASE_CODES,
            s3::tests::CASE_CODES,
            glue::tests::CASE_CODES,
            iam::tests::CASE_CODES,
            alarms::tests::CASE_CODES,
            waf::tests::CASE_CODES,
            kms::tests::CASE_CODES,
            cross_stack::tests::CASE_CODES,
            deletion::tests::CASE_CODES,
            partitions::tests::CASE_CODES,
        ];
        assert_eq!(
            cases.len(),
            FAMILIES.len(),
            "a family's cases are not listed here"
        );
        let mut all = Vec::new();
        for ((family, codes), cases) in FAMILIES.iter().zip(cases) {
            let mut codes = codes.to_vec();
            let mut cases = cases.to_vec();
            codes.sort_unstable();
            cases.sort_unstable();
            assert_eq!(cases, codes, "{family}: every code needs exactly one case");
            all.extend(codes);
        }
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count, "a code is claimed by two families");
    }

    #[test]
    fn display_is_resource_then_message() {
        let problem = TemplateProblem {
            resource: Some("Record".into()),
            code: "weight-out-of-range",
            message: "too heavy".into(),
        };
        assert_eq!(problem.to_string(), "Record: too heavy");
        let global = TemplateProblem {
            resource: None,
            ..problem
        };
        assert_eq!(global.to_string(), "template: too heavy");
    }

    #[test]
    fn not_a_mapping_is_malformed() {
        assert_eq!(check_template(&serde_json::json!([1, 2])).len(), 1);
        assert_eq!(codes("Resources: []\n"), ["malformed-template"]);
        assert_eq!(codes("Description: empty\n"), ["malformed-template"]);
        assert_eq!(
            codes("Resources:\n  Topic:\n    Properties: {}\n"),
            ["malformed-template"]
        );
        assert!(check("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n").is_empty());
    }
}
