//! IAM: trust policies a service can satisfy (`docs/traps.md#apigateway-role-trust-condition`),
//! and no permission the code never uses.

use serde_json::Value;

use super::Problems;
use super::template::{Template, actions, service_principals, statements};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "apigateway-trust-condition",
    "function-permission-unused",
    "unscoped-put-metric-data",
];

/// Actions a function role may be granted that no ingest function calls, each with why. A
/// permission nobody uses only widens what a compromised function could do.
const UNUSED_BY_FUNCTIONS: &[(&str, &str)] = &[
    (
        "firehose:PutRecord",
        "the receiver sends records in batches with PutRecordBatch",
    ),
    (
        "s3:AbortMultipartUpload",
        "the functions write each object with a single PutObject",
    ),
];

/// Whether a service principal, literal or `Fn::Sub` text, is API Gateway.
fn is_apigateway(principal: &str) -> bool {
    principal.starts_with("apigateway.")
}

/// Whether a principal is Lambda.
fn is_lambda(principal: &str) -> bool {
    principal.starts_with("lambda.")
}

/// Policy types that attach statements to roles, with the property naming the roles.
const ROLE_POLICIES: &[(&str, &str)] = &[
    ("AWS::IAM::Policy", "Roles"),
    ("AWS::IAM::RolePolicy", "RoleName"),
    ("AWS::IAM::ManagedPolicy", "Roles"),
];

pub(super) fn check_roles(t: &Template<'_>, problems: &mut Problems) {
    for role in t.of_type("AWS::IAM::Role") {
        let trust = role
            .properties
            .get("AssumeRolePolicyDocument")
            .map(statements)
            .unwrap_or_default();
        let assumed_by = |matches: fn(&str) -> bool| {
            trust
                .iter()
                .any(|s| service_principals(s).into_iter().any(matches))
        };
        for statement in &trust {
            let api_gateway = service_principals(statement).into_iter().any(is_apigateway);
            if api_gateway && statement.contains_key("Condition") {
                problems.at(
                    role.id,
                    "apigateway-trust-condition",
                    "the trust policy lets API Gateway assume the role only under a `Condition`, but API Gateway sends no condition keys (such as aws:SourceAccount or aws:SourceArn) when it assumes an integration's role: every call is denied and each integration answers 500 while the deploy succeeds; remove the condition (a role cannot be passed across accounts anyway)",
                );
            }
        }
        if assumed_by(is_lambda) {
            let allowed: Vec<&str> = inline_statements(role.properties.get("Policies"))
                .into_iter()
                .chain(attached_statements(t, role.id))
                .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
                .flat_map(actions)
                .collect();
            for (action, why) in UNUSED_BY_FUNCTIONS {
                let service = action.split(':').next().unwrap_or_default();
                let granted = allowed.iter().any(|a| {
                    a.eq_ignore_ascii_case(action)
                        || a.eq_ignore_ascii_case(&format!("{service}:*"))
                });
                if granted {
                    problems.at(
                        role.id,
                        "function-permission-unused",
                        format!(
                            "the function role may call {action}, which no function calls ({why}); drop it from the policy"
                        ),
                    );
                }
            }
        }
    }
}

/// Whether a policy action grants `cloudwatch:PutMetricData`.
fn grants_put_metric_data(action: &str) -> bool {
    let action = action.to_ascii_lowercase();
    action == "*"
        || action == "cloudwatch:*"
        || action
            .strip_suffix('*')
            .is_some_and(|prefix| "cloudwatch:putmetricdata".starts_with(prefix))
        || action == "cloudwatch:putmetricdata"
}

/// CloudWatch metrics have no resource policy: the only thing that keeps a principal from
/// publishing into the lever's namespace (and draining a region) is a `cloudwatch:namespace`
/// condition on its own `PutMetricData`. Every grant of it in these stacks is scoped so.
pub(super) fn check_put_metric_data(t: &Template<'_>, problems: &mut Problems) {
    for resource in &t.resources {
        let documents: Vec<&Value> = match resource.ty {
            "AWS::IAM::Role" => resource
                .properties
                .get("Policies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("PolicyDocument"))
                .collect(),
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::RolePolicy" => resource
                .properties
                .get("PolicyDocument")
                .into_iter()
                .collect(),
            _ => continue,
        };
        for statement in documents.into_iter().flat_map(statements) {
            if statement.get("Effect").and_then(Value::as_str) != Some("Allow")
                || !actions(statement).into_iter().any(grants_put_metric_data)
            {
                continue;
            }
            let scoped = statement
                .get("Condition")
                .and_then(Value::as_object)
                .is_some_and(|condition| {
                    ["StringEquals", "StringLike"].iter().any(|op| {
                        condition
                            .get(*op)
                            .and_then(Value::as_object)
                            .is_some_and(|m| m.contains_key("cloudwatch:namespace"))
                    })
                });
            if !scoped {
                problems.at(
                    resource.id,
                    "unscoped-put-metric-data",
                    "the policy allows cloudwatch:PutMetricData in every namespace: the principal could publish the lever's metric and drain a region; add `Condition: {StringEquals: {cloudwatch:namespace: <its own namespace>}}`",
                );
            }
        }
    }
}

/// The statements of a role's inline `Policies`.
fn inline_statements(policies: Option<&Value>) -> Vec<&serde_json::Map<String, Value>> {
    policies
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .filter_map(|policy| policy.get("PolicyDocument"))
        .flat_map(statements)
        .collect()
}

/// The statements of policy resources that attach to the role `role`.
fn attached_statements<'a>(
    t: &Template<'a>,
    role: &str,
) -> Vec<&'a serde_json::Map<String, Value>> {
    let mut found = Vec::new();
    for &(ty, key) in ROLE_POLICIES {
        for policy in t.of_type(ty) {
            let attaches = policy
                .properties
                .get(key)
                .is_some_and(|roles| t.referenced_resources(roles).iter().any(|r| r.id == role));
            if attaches {
                let document = policy.properties.get("PolicyDocument");
                found.extend(document.map(statements).unwrap_or_default());
            }
        }
    }
    found
}

/// The policy resources that attach to `role` (for ordering checks).
pub(super) fn policies_of<'t>(t: &'t Template<'_>, role: &str) -> Vec<&'t str> {
    let mut found = Vec::new();
    for &(ty, key) in ROLE_POLICIES {
        for policy in t.of_type(ty) {
            if policy
                .properties
                .get(key)
                .is_some_and(|roles| t.referenced_resources(roles).iter().any(|r| r.id == role))
            {
                found.push(policy.id);
            }
        }
    }
    found
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{cases, check, codes};

    pub(in crate::template_checks) const API_ROLE: &str = r#"Resources:
  ApiRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: !Sub "apigateway.${AWS::URLSuffix}"
            Action: sts:AssumeRole
      Policies:
        - PolicyName: api
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: kinesis:PutRecord
                Resource: "*"
"#;

    const FUNCTION_ROLE: &str = r#"Resources:
  FunctionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: !Sub "lambda.${AWS::URLSuffix}"
            Action: sts:AssumeRole
            Condition:
              StringEquals:
                aws:SourceAccount: !Ref AWS::AccountId
      Policies:
        - PolicyName: function
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Sid: WriteObjects
                Effect: Allow
                Action: s3:PutObject
                Resource: "*"
"#;

    const PUT_METRIC_DATA: &str = r#"              - Sid: PublishMetrics
                Effect: Allow
                Action: cloudwatch:PutMetricData
                Resource: "*"
                Condition:
                  StringEquals:
                    cloudwatch:namespace: IngestLever
"#;

    const ABORT_UPLOADS: &str = r#"              - Sid: AbortUploads
                Effect: Allow
                Action: s3:AbortMultipartUpload
                Resource: "*"
"#;

    cases! {
        apigateway_trust_condition: "apigateway-trust-condition",
            API_ROLE.replace(
                "            Action: sts:AssumeRole\n",
                "            Action: sts:AssumeRole\n            Condition:\n              StringEquals:\n                aws:SourceAccount: !Ref AWS::AccountId\n",
            ),
            API_ROLE;
        function_permission_unused: "function-permission-unused",
            format!("{FUNCTION_ROLE}{ABORT_UPLOADS}"), FUNCTION_ROLE;
        unscoped_put_metric_data: "unscoped-put-metric-data",
            format!("{FUNCTION_ROLE}{PUT_METRIC_DATA}").replace("                Condition:\n                  StringEquals:\n                    cloudwatch:namespace: IngestLever\n", ""),
            format!("{FUNCTION_ROLE}{PUT_METRIC_DATA}");
    }

    #[test]
    fn a_lambda_trust_condition_is_fine_and_attached_policies_count() {
        // Lambda sends aws:SourceAccount; the condition stays.
        assert!(codes(FUNCTION_ROLE).is_empty());
        let attached = format!(
            "{FUNCTION_ROLE}  Extra:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyName: extra\n      Roles: [!Ref FunctionRole]\n      PolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n          - Effect: Allow\n            Action: [\"firehose:*\"]\n            Resource: \"*\"\n"
        );
        assert_eq!(codes(&attached), ["function-permission-unused"]);
        // A wildcard grants PutMetricData in every namespace.
        let everything = attached.replace("\"firehose:*\"", "\"cloudwatch:*\"");
        assert_eq!(codes(&everything), ["unscoped-put-metric-data"]);
        // Each unused action is named once.
        let listed = FUNCTION_ROLE.replace(
            "                Action: s3:PutObject\n",
            "                Action: [s3:PutObject, s3:AbortMultipartUpload, firehose:PutRecord]\n",
        );
        let found = check(&listed);
        assert_eq!(found.len(), 2, "{found:#?}");
        for (finding, action) in found
            .iter()
            .zip(["firehose:PutRecord,", "s3:AbortMultipartUpload,"])
        {
            assert!(finding.message.contains(action), "{}", finding.message);
        }
    }
}
