//! AWS WAF in front of the stages (`docs/security.md#per-client-limits`): every stage has a
//! web ACL, its rate-based rules count client addresses a client cannot choose, and the health
//! route is open to an allow-list only.

use serde_json::{Map, Value};

use super::Problems;
use super::template::{Template, array, object, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "stage-without-waf",
    "waf-rate-key-spoofable",
    "health-route-open",
];

/// The web ACL associated with a stage: `ResourceArn` is
/// `arn:<partition>:apigateway:<region>::/restapis/<api>/stages/<stage>`, a `Fn::Sub` naming
/// the stage (`${ApiStage}`) and its API.
fn associates(t: &Template<'_>, association: &Map<String, Value>, stage_id: &str) -> bool {
    association.get("ResourceArn").is_some_and(|arn| {
        let text = super::template::strings(arn).join(" ");
        text.contains("/restapis/") && t.referenced_resources(arn).iter().any(|r| r.id == stage_id)
    })
}

pub(super) fn check_stage_web_acls(t: &Template<'_>, problems: &mut Problems) {
    let associations: Vec<&Map<String, Value>> = t
        .of_type("AWS::WAFv2::WebACLAssociation")
        .map(|a| a.properties)
        .collect();
    for stage in t.of_type("AWS::ApiGateway::Stage") {
        let waived = object(stage.body, "Metadata")
            .and_then(|m| object(m, "ingest"))
            .and_then(|i| text(i, "waf"))
            .is_some_and(|why| !why.trim().is_empty());
        if waived || associations.iter().any(|a| associates(t, a, stage.id)) {
            continue;
        }
        problems.at(
            stage.id,
            "stage-without-waf",
            "no AWS::WAFv2::WebACLAssociation names this stage (`arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${Stage}`): one client can use the whole stage throttle and flood the health route; associate a regional web ACL, or say why not in the stage's `Metadata.ingest.waf`",
        );
    }
}

/// The statements of a rule, and of the statements it combines.
fn walk<'a>(statement: &'a Map<String, Value>, found: &mut Vec<(&'a str, &'a Map<String, Value>)>) {
    for (kind, inner) in statement {
        let Some(inner) = inner.as_object() else {
            continue;
        };
        found.push((kind.as_str(), inner));
        match kind.as_str() {
            "AndStatement" | "OrStatement" => {
                for nested in array(inner, "Statements")
                    .iter()
                    .filter_map(Value::as_object)
                {
                    walk(nested, found);
                }
            }
            "NotStatement" => {
                if let Some(nested) = object(inner, "Statement") {
                    walk(nested, found);
                }
            }
            "RateBasedStatement" => {
                if let Some(nested) = object(inner, "ScopeDownStatement") {
                    walk(nested, found);
                }
            }
            _ => {}
        }
    }
}

/// A rule's path match: the search string of a `ByteMatchStatement` on `UriPath`.
fn path_match(statements: &[(&str, &Map<String, Value>)]) -> Option<String> {
    statements.iter().find_map(|(kind, inner)| {
        (*kind == "ByteMatchStatement"
            && object(inner, "FieldToMatch").is_some_and(|f| f.contains_key("UriPath")))
        .then(|| text(inner, "SearchString").map(str::to_owned))
        .flatten()
    })
}

pub(super) fn check_web_acl_rules(t: &Template<'_>, problems: &mut Problems) {
    for acl in t.of_type("AWS::WAFv2::WebACL") {
        let mut rules: Vec<&Map<String, Value>> = array(acl.properties, "Rules")
            .iter()
            .filter_map(Value::as_object)
            .collect();
        rules.sort_by_key(|rule| rule.get("Priority").and_then(Value::as_u64).unwrap_or(0));
        let mut allowed_paths: Vec<String> = Vec::new();
        let mut blocked_paths: Vec<String> = Vec::new();
        let mut rate_rules = 0;
        for rule in &rules {
            let name = text(rule, "Name").unwrap_or("(no name)");
            let mut found = Vec::new();
            if let Some(statement) = object(rule, "Statement") {
                walk(statement, &mut found);
            }
            for (kind, inner) in &found {
                if *kind == "RateBasedStatement" {
                    rate_rules += 1;
                    let key = text(inner, "AggregateKeyType").unwrap_or("");
                    if key == "FORWARDED_IP" || key == "CONSTANT" {
                        problems.at(
                            acl.id,
                            "waf-rate-key-spoofable",
                            format!(
                                "rule `{name}` counts requests by {key}: {}; count by `AggregateKeyType: IP`, the address the request came from",
                                if key == "FORWARDED_IP" {
                                    "the first address of a forwarded-for header is whatever the client writes there, and a request without the header is not counted at all"
                                } else {
                                    "one counter for every client lets one client exhaust it for all"
                                }
                            ),
                        );
                    }
                }
            }
            let action = object(rule, "Action");
            let is_allow = action.is_some_and(|a| a.contains_key("Allow"));
            let is_block = action.is_some_and(|a| a.contains_key("Block"));
            let has_ip_set = found
                .iter()
                .any(|(kind, _)| *kind == "IPSetReferenceStatement");
            if let Some(path) = path_match(&found) {
                if is_allow && has_ip_set {
                    allowed_paths.push(path);
                } else if is_block && allowed_paths.contains(&path) {
                    blocked_paths.push(path);
                }
            }
        }
        if rate_rules == 0 {
            problems.at(
                acl.id,
                "waf-rate-key-spoofable",
                "the web ACL has no rate-based rule: nothing limits what one client address sends",
            );
        }
        let open: Vec<&String> = allowed_paths
            .iter()
            .filter(|path| !blocked_paths.contains(path))
            .collect();
        if allowed_paths.is_empty() || !open.is_empty() {
            problems.at(
                acl.id,
                "health-route-open",
                "the web ACL does not keep the health route to the health checkers: it needs an `Allow` rule matching the route's path and an IP set of Route 53's checkers, followed (a higher `Priority`) by a `Block` rule on the same path; otherwise anyone can flood the route Route 53 reads into 429s and move the traffic",
            );
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{cases, codes};

    const STAGE: &str = r#"Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: api
  ApiStage:
    Type: AWS::ApiGateway::Stage
    Properties:
      RestApiId: !Ref Api
      DeploymentId: deployment
      StageName: v1
"#;

    const ASSOCIATION: &str = r#"  Acl:
    Type: AWS::WAFv2::WebACL
    Properties:
      Scope: REGIONAL
      DefaultAction:
        Allow: {}
      VisibilityConfig:
        SampledRequestsEnabled: true
        CloudWatchMetricsEnabled: true
        MetricName: acl
      Rules:
        - Name: health-from-checkers
          Priority: 0
          Action:
            Allow: {}
          Statement:
            AndStatement:
              Statements:
                - IPSetReferenceStatement:
                    Arn: !GetAtt Checkers.Arn
                - ByteMatchStatement:
                    FieldToMatch:
                      UriPath: {}
                    PositionalConstraint: CONTAINS
                    SearchString: /health
                    TextTransformations:
                      - Priority: 0
                        Type: LOWERCASE
        - Name: health-from-elsewhere
          Priority: 1
          Action:
            Block: {}
          Statement:
            ByteMatchStatement:
              FieldToMatch:
                UriPath: {}
              PositionalConstraint: CONTAINS
              SearchString: /health
              TextTransformations:
                - Priority: 0
                  Type: LOWERCASE
        - Name: per-client
          Priority: 2
          Action:
            Block: {}
          Statement:
            RateBasedStatement:
              Limit: 600
              AggregateKeyType: IP
  Checkers:
    Type: AWS::WAFv2::IPSet
    Properties:
      Scope: REGIONAL
      IPAddressVersion: IPV4
      Addresses: ["15.177.0.0/18"]
  Association:
    Type: AWS::WAFv2::WebACLAssociation
    Properties:
      WebACLArn: !GetAtt Acl.Arn
      ResourceArn: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${ApiStage}"
"#;

    fn protected() -> String {
        format!("{STAGE}{ASSOCIATION}")
    }

    cases! {
        stage_without_waf: "stage-without-waf",
            format!("{STAGE}  Unrelated:\n    Type: AWS::SNS::Topic\n"),
            protected();
        waf_rate_key_spoofable: "waf-rate-key-spoofable",
            protected().replace("AggregateKeyType: IP", "AggregateKeyType: FORWARDED_IP"),
            protected();
        health_route_open: "health-route-open",
            protected().replace("          Action:\n            Block: {}\n          Statement:\n            ByteMatchStatement:", "          Action:\n            Count: {}\n          Statement:\n            ByteMatchStatement:"),
            protected();
    }

    #[test]
    fn a_stage_may_go_without_waf_when_its_metadata_says_why() {
        let waived = STAGE.replace(
            "    Type: AWS::ApiGateway::Stage\n",
            "    Type: AWS::ApiGateway::Stage\n    Metadata:\n      ingest:\n        waf: api.waf.enabled is false\n",
        );
        assert!(codes(&waived).is_empty());
        // A block that comes first does not keep the route to the checkers either.
        let reversed = protected().replace(
            "          Priority: 0\n          Action:\n            Allow",
            "          Priority: 5\n          Action:\n            Allow",
        );
        assert_eq!(codes(&reversed), ["health-route-open"]);
    }
}
