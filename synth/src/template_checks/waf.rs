//! AWS WAF in front of the stages (`docs/security.md#per-client-limits`): every stage has a
//! web ACL, its rate-based rules count client addresses a client cannot choose, and the health
//! route is open to an allow-list only, with a token that stays out of X-Ray traces.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Problems;
use super::template::{Template, array, is_true, literal_number, object, strings, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "stage-without-waf",
    "waf-rate-key-spoofable",
    "health-route-open",
    "health-allow-without-token",
    "health-token-without-previous",
    "health-check-without-token",
    "waf-bytes-unbounded",
    "health-token-traced",
];

/// A rate-based rule counts requests, not bytes: with bodies of the largest size a few
/// addresses under the request limit fill a stream. So one rate rule must count only large
/// bodies: a scope-down `SizeConstraintStatement` on `Body`, `GT`, with `OversizeHandling:
/// MATCH` (WAF inspects at most 64 KiB of a body: `CONTINUE` would judge a larger body by its
/// inspected part and `NO_MATCH` would not count it at all).
fn counts_large_bodies(rate: &Map<String, Value>) -> bool {
    let Some(scope) = object(rate, "ScopeDownStatement") else {
        return false;
    };
    let mut found = Vec::new();
    walk(scope, &mut found);
    found.iter().any(|(kind, inner)| {
        *kind == "SizeConstraintStatement"
            && text(inner, "ComparisonOperator") == Some("GT")
            && object(inner, "FieldToMatch")
                .and_then(|f| object(f, "Body"))
                .is_some_and(|body| text(body, "OversizeHandling") == Some("MATCH"))
    })
}

/// Whether the template has the parameter `name`, declared `NoEcho`.
fn secret_parameter(t: &Template<'_>, name: &str) -> bool {
    t.parameters
        .get(name)
        .and_then(Value::as_object)
        .is_some_and(|p| is_true(p.get("NoEcho")))
}

/// A statement that only a request carrying a token of ours matches: an exact match of a
/// query argument against a `NoEcho` parameter (a secret the template does not hold), with no
/// text transformation (one would widen what matches). Its argument and parameter.
fn token_match<'a>(t: &Template<'_>, inner: &'a Map<String, Value>) -> Option<(&'a str, &'a str)> {
    let argument = object(inner, "FieldToMatch")
        .and_then(|f| object(f, "SingleQueryArgument"))
        .and_then(|a| text(a, "Name"))?;
    let parameter = inner
        .get("SearchString")
        .and_then(Value::as_object)
        .and_then(|o| o.get("Ref"))
        .and_then(Value::as_str)?;
    let untransformed = array(inner, "TextTransformations")
        .iter()
        .all(|tr| tr.get("Type").and_then(Value::as_str) == Some("NONE"));
    (text(inner, "PositionalConstraint") == Some("EXACTLY")
        && untransformed
        && secret_parameter(t, parameter))
    .then_some((argument, parameter))
}

/// The health route's allow rule must match something only our checks send: Route 53's
/// checker ranges serve every account's health checks, so an allow-list of addresses admits an
/// outsider's checks too (`docs/security.md#the-health-token`). One of the conditions the rule
/// ANDs must be a [`token_match`], or an `OrStatement` of token matches on one argument (any
/// other statement in it would admit reads without a token). The parameters it accepts.
fn accepted_tokens<'a>(
    t: &Template<'_>,
    statement: &'a Map<String, Value>,
) -> Option<BTreeSet<&'a str>> {
    let conjuncts: Vec<&Map<String, Value>> = match object(statement, "AndStatement") {
        Some(and) => array(and, "Statements")
            .iter()
            .filter_map(Value::as_object)
            .collect(),
        None => vec![statement],
    };
    conjuncts.iter().find_map(|conjunct| {
        if let Some(inner) = object(conjunct, "ByteMatchStatement") {
            return token_match(t, inner).map(|(_, parameter)| BTreeSet::from([parameter]));
        }
        let members: Vec<(&str, &str)> = array(object(conjunct, "OrStatement")?, "Statements")
            .iter()
            .map(|member| {
                member
                    .as_object()
                    .and_then(|m| object(m, "ByteMatchStatement"))
                    .and_then(|inner| token_match(t, inner))
            })
            .collect::<Option<_>>()?;
        let argument = members.first()?.0;
        members
            .iter()
            .all(|(a, _)| *a == argument)
            .then(|| members.iter().map(|(_, parameter)| *parameter).collect())
    })
}

/// The web ACL associated with a stage: `ResourceArn` is
/// `arn:<partition>:apigateway:<region>::/restapis/<api>/stages/<stage>`, a `Fn::Sub` naming
/// the stage (`${ApiStage}`) and its API.
fn associates(t: &Template<'_>, association: &Map<String, Value>, stage_id: &str) -> bool {
    association.get("ResourceArn").is_some_and(|arn| {
        let text = strings(arn).join(" ");
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
        let mut large_body_rules = 0;
        for rule in &rules {
            let name = text(rule, "Name").unwrap_or("(no name)");
            let mut found = Vec::new();
            if let Some(statement) = object(rule, "Statement") {
                walk(statement, &mut found);
            }
            for (kind, inner) in &found {
                if *kind == "RateBasedStatement" {
                    rate_rules += 1;
                    if counts_large_bodies(inner) {
                        large_body_rules += 1;
                    }
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
                    match object(rule, "Statement").and_then(|s| accepted_tokens(t, s)) {
                        None => problems.at(
                            acl.id,
                            "health-allow-without-token",
                            format!(
                                "rule `{name}` admits the health route by address alone: Route 53's checker ranges serve every account's health checks, so anyone's checks pass it and can drain the route's throttle; AND a `ByteMatchStatement` on `SingleQueryArgument` (`PositionalConstraint: EXACTLY`, `TextTransformations` of `NONE`, `SearchString: !Ref` a `NoEcho` parameter) that only our checks send, or an `OrStatement` of such matches and nothing else"
                            ),
                        ),
                        Some(accepted) if accepted.len() != 2 => problems.at(
                            acl.id,
                            "health-token-without-previous",
                            format!(
                                "rule `{name}` accepts {} health token parameter{} ({}): a change of the token reaches the web ACL minutes before the dns stack's checks send it, and in between our own checks read 403 and fail the region over; accept exactly the current and the previous token, an `OrStatement` of two such matches (`!Ref HealthToken`, `!Ref HealthTokenPrevious`)",
                                accepted.len(),
                                if accepted.len() == 1 { "" } else { "s" },
                                accepted.iter().copied().collect::<Vec<_>>().join(", ")
                            ),
                        ),
                        Some(_) => {}
                    }
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
        if rate_rules > 0 && large_body_rules == 0 {
            problems.at(
                acl.id,
                "waf-bytes-unbounded",
                "no rate-based rule counts large bodies: the rate rules count requests, so a few addresses under the limit, each sending bodies of the largest size, fill a stream; add a rate-based rule keyed on `IP` with a `ScopeDownStatement` of a `SizeConstraintStatement` on `Body` (`OversizeHandling: MATCH`, `ComparisonOperator: GT`)",
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

/// Our endpoint checks send the health token the web ACLs require: a `ResourcePath` of
/// `Fn::Sub` text with a query argument whose value is a `NoEcho` parameter. A check that says
/// why it sends none (`Metadata.ingest.health_token`: WAF is off) passes.
pub(super) fn check_endpoint_check_tokens(t: &Template<'_>, problems: &mut Problems) {
    for check in t.of_type("AWS::Route53::HealthCheck") {
        let Some(config) = object(check.properties, "HealthCheckConfig") else {
            continue;
        };
        if !matches!(text(config, "Type"), Some("HTTP" | "HTTPS")) {
            continue;
        }
        let waived = object(check.body, "Metadata")
            .and_then(|m| object(m, "ingest"))
            .and_then(|i| text(i, "health_token"))
            .is_some_and(|why| !why.trim().is_empty());
        let sub = config
            .get("ResourcePath")
            .and_then(Value::as_object)
            .and_then(|o| o.get("Fn::Sub"))
            .and_then(|sub| match sub {
                Value::String(text) => Some(text.as_str()),
                Value::Array(items) => items.first().and_then(Value::as_str),
                _ => None,
            });
        let sends_token = sub.is_some_and(|text| {
            text.split_once('?').is_some_and(|(_, query)| {
                query.split('&').any(|pair| {
                    pair.split_once('=').is_some_and(|(_, value)| {
                        value
                            .strip_prefix("${")
                            .and_then(|v| v.strip_suffix('}'))
                            .is_some_and(|name| secret_parameter(t, name))
                    })
                })
            })
        });
        if !waived && !sends_token {
            problems.at(
                check.id,
                "health-check-without-token",
                "the endpoint check sends no health token: the web ACL admits only health reads that carry it, so this check would read 403 and fail the region over; set `ResourcePath: !Sub \"/<stage>/health?token=${HealthToken}\"` with a `NoEcho` parameter, or say why not in `Metadata.ingest.health_token`",
            );
        }
    }
}

/// X-Ray's wildcard match: `*` any run of characters, `?` one character, case-sensitive.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // matched[j]: the pattern so far matches the first j characters of the text.
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for p in &pattern {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = match p {
                '*' => matched[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && matched[j - 1],
                c => j > 0 && matched[j - 1] && text[j - 1] == *c,
            };
        }
        matched = next;
    }
    matched[text.len()]
}

/// Whether an `AWS::XRay::SamplingRule` never samples `GET <path>` on `stage` (the stage's
/// logical id, its API's and its name): rate and reservoir 0, every host and service name, no
/// attributes, the stage's resource ARN, and a URL path pattern that matches the route with the
/// stage prefix (execute-api host) and without (custom domain).
fn excludes_from_traces(
    t: &Template<'_>,
    rule: &Map<String, Value>,
    api_ids: &[&str],
    stage_name: &str,
    path: &str,
) -> bool {
    let zero = |key: &str| rule.get(key).and_then(literal_number) == Some(0.0);
    let matches = |key: &str, value: &str| text(rule, key).is_some_and(|p| glob_matches(p, value));
    let arn_names_stage = rule.get("ResourceARN").is_some_and(|arn| {
        let written = strings(arn).join("");
        written.contains("/restapis/")
            && written.ends_with(&format!("/stages/{stage_name}"))
            && t.referenced_resources(arn)
                .iter()
                .any(|r| api_ids.contains(&r.id))
    });
    zero("FixedRate")
        && zero("ReservoirSize")
        && text(rule, "Host") == Some("*")
        && text(rule, "ServiceName") == Some("*")
        && matches("ServiceType", "AWS::ApiGateway::Stage")
        && matches("HTTPMethod", "GET")
        && matches("URLPath", &format!("/{stage_name}{path}"))
        && matches("URLPath", path)
        && object(rule, "Attributes").is_none_or(Map::is_empty)
        && arn_names_stage
}

/// API Gateway's X-Ray segment records a request's URL with its query string, and our health
/// checks carry the health token there: a stage that traces (`TracingEnabled`) behind a web ACL
/// that admits the health route by token needs a sampling rule that never samples that route
/// (`docs/security.md#the-health-token`).
pub(super) fn check_health_traces(t: &Template<'_>, problems: &mut Problems) {
    let rules: Vec<&Map<String, Value>> = t
        .of_type("AWS::XRay::SamplingRule")
        .filter_map(|r| object(r.properties, "SamplingRule"))
        .collect();
    for acl in t.of_type("AWS::WAFv2::WebACL") {
        let token_paths: Vec<String> = array(acl.properties, "Rules")
            .iter()
            .filter_map(Value::as_object)
            .filter(|rule| object(rule, "Action").is_some_and(|a| a.contains_key("Allow")))
            .filter_map(|rule| {
                let statement = object(rule, "Statement")?;
                accepted_tokens(t, statement)?;
                let mut found = Vec::new();
                walk(statement, &mut found);
                path_match(&found)
            })
            .collect();
        if token_paths.is_empty() {
            continue;
        }
        let stages = t
            .of_type("AWS::WAFv2::WebACLAssociation")
            .filter(|a| {
                a.properties
                    .get("WebACLArn")
                    .is_some_and(|arn| t.referenced_resources(arn).iter().any(|r| r.id == acl.id))
            })
            .flat_map(|a| {
                a.properties
                    .get("ResourceArn")
                    .map(|arn| t.referenced_resources(arn))
                    .unwrap_or_default()
            })
            .filter(|r| r.ty == "AWS::ApiGateway::Stage");
        for stage in stages {
            if !is_true(stage.properties.get("TracingEnabled")) {
                continue;
            }
            let stage_name = text(stage.properties, "StageName").unwrap_or_default();
            let api_ids: Vec<&str> = stage
                .properties
                .get("RestApiId")
                .map(|api| t.referenced_resources(api).iter().map(|r| r.id).collect())
                .unwrap_or_default();
            for path in &token_paths {
                let excluded = rules
                    .iter()
                    .any(|rule| excludes_from_traces(t, rule, &api_ids, stage_name, path));
                if !excluded {
                    problems.at(
                        stage.id,
                        "health-token-traced",
                        format!(
                            "the stage traces with X-Ray, whose segments record the request URL with its query string, and GET {path} carries the health token there: add an `AWS::XRay::SamplingRule` that never samples it (`FixedRate: 0`, `ReservoirSize: 0`, `Host` and `ServiceName` `*`, `ServiceType: AWS::ApiGateway::Stage`, `HTTPMethod: GET`, `URLPath: \"*{path}*\"`, `ResourceARN: !Sub \"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{Api}}/stages/{stage_name}\"`, a `Priority` below the default rule's 10000)"
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{cases, codes};

    const TOKEN_PARAMETER: &str =
        "Parameters:\n  HealthToken:\n    Type: String\n    NoEcho: true\n";
    const PREVIOUS_PARAMETER: &str = "  HealthTokenPrevious:\n    Type: String\n    NoEcho: true\n";

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
      Name: acl
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
                - OrStatement:
                    Statements:
                      - ByteMatchStatement:
                          FieldToMatch:
                            SingleQueryArgument:
                              Name: token
                          PositionalConstraint: EXACTLY
                          SearchString: !Ref HealthToken
                          TextTransformations:
                            - Priority: 0
                              Type: NONE
                      - ByteMatchStatement:
                          FieldToMatch:
                            SingleQueryArgument:
                              Name: token
                          PositionalConstraint: EXACTLY
                          SearchString: !Ref HealthTokenPrevious
                          TextTransformations:
                            - Priority: 0
                              Type: NONE
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
        - Name: per-client-large-bodies
          Priority: 3
          Action:
            Block: {}
          Statement:
            RateBasedStatement:
              Limit: 38
              AggregateKeyType: IP
              ScopeDownStatement:
                SizeConstraintStatement:
                  FieldToMatch:
                    Body:
                      OversizeHandling: MATCH
                  ComparisonOperator: GT
                  Size: 4096
                  TextTransformations:
                    - Priority: 0
                      Type: NONE
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
  Topic:
    Type: AWS::SNS::Topic
  BlockedAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/WAFV2
      MetricName: BlockedRequests
      Dimensions:
        - Name: WebACL
          Value: acl
        - Name: Region
          Value: !Ref AWS::Region
        - Name: Rule
          Value: ALL
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 5
      Threshold: 1200
      ComparisonOperator: GreaterThanThreshold
      AlarmActions:
        - !Ref Topic
"#;

    /// A stage behind a web ACL that passes every check, its blocked-flood alarm included.
    pub(crate) fn protected() -> String {
        format!("{TOKEN_PARAMETER}{PREVIOUS_PARAMETER}{STAGE}{ASSOCIATION}")
    }

    const ENDPOINT_CHECK: &str = r#"Resources:
  Check:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: HTTPS
        FullyQualifiedDomainName: api.example.com
        ResourcePath: !Sub "/v1/health?token=${HealthToken}"
"#;

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
        health_allow_without_token: "health-allow-without-token",
            protected().replace("SingleQueryArgument:\n                              Name: token", "UriPath: {}"),
            protected();
        health_token_without_previous: "health-token-without-previous",
            protected().replace("!Ref HealthTokenPrevious", "!Ref HealthToken").replace(PREVIOUS_PARAMETER, ""),
            protected();
        waf_bytes_unbounded: "waf-bytes-unbounded",
            protected().replace("OversizeHandling: MATCH", "OversizeHandling: NO_MATCH"),
            protected();
        health_check_without_token: "health-check-without-token",
            format!("{TOKEN_PARAMETER}{}", ENDPOINT_CHECK.replace("/v1/health?token=${HealthToken}", "/v1/health/${HealthToken}")),
            format!("{TOKEN_PARAMETER}{ENDPOINT_CHECK}");
        health_token_traced: "health-token-traced",
            traced(),
            format!("{}{SAMPLING_RULE}", traced());
    }

    /// The protected stage, traced with X-Ray.
    fn traced() -> String {
        protected().replace(
            "      StageName: v1\n",
            "      StageName: v1\n      TracingEnabled: true\n",
        )
    }

    const SAMPLING_RULE: &str = r#"  HealthTraceExclusion:
    Type: AWS::XRay::SamplingRule
    Properties:
      SamplingRule:
        RuleName: api-health
        Priority: 1
        FixedRate: 0
        ReservoirSize: 0
        ServiceType: AWS::ApiGateway::Stage
        ServiceName: "*"
        Host: "*"
        HTTPMethod: GET
        URLPath: "*/health*"
        ResourceARN: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/v1"
        Version: 1
"#;

    #[test]
    fn a_sampling_rule_that_samples_or_misses_the_health_route_leaves_the_token_in_traces() {
        let excluded = format!("{}{SAMPLING_RULE}", traced());
        assert!(codes(&excluded).is_empty());
        for (from, to) in [
            ("FixedRate: 0", "FixedRate: 0.05"),
            ("ReservoirSize: 0", "ReservoirSize: 1"),
            ("URLPath: \"*/health*\"", "URLPath: /health"),
            ("HTTPMethod: GET", "HTTPMethod: POST"),
            ("stages/v1\"", "stages/v2\""),
            ("Host: \"*\"", "Host: api.example.com"),
        ] {
            assert_eq!(
                codes(&excluded.replace(from, to)),
                ["health-token-traced"],
                "{from} -> {to}"
            );
        }
        // Wildcards as X-Ray reads them.
        for (pattern, url) in [("*/health*", "/v1/health"), ("/v?/health", "/v1/health")] {
            assert!(super::glob_matches(pattern, url), "{pattern} {url}");
        }
        assert!(!super::glob_matches("*/health", "/v1/health/x"));
        // A stage that does not trace needs no rule.
        assert!(codes(&protected()).is_empty());
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

    #[test]
    fn a_token_must_be_a_secret_parameter_and_an_endpoint_check_may_say_why_it_sends_none() {
        // A parameter that is not NoEcho shows the token to anyone who reads the stack.
        let echoed = format!("{TOKEN_PARAMETER}{ENDPOINT_CHECK}").replace("    NoEcho: true\n", "");
        assert_eq!(codes(&echoed), ["health-check-without-token"]);
        let echoed_acl = protected().replace("    NoEcho: true\n", "");
        assert_eq!(codes(&echoed_acl), ["health-allow-without-token"]);
        // One of the two a plain parameter: the OR admits whoever reads the stack's value.
        let one_echoed = protected().replace(
            PREVIOUS_PARAMETER,
            "  HealthTokenPrevious:\n    Type: String\n",
        );
        assert_ne!(one_echoed, protected());
        assert_eq!(codes(&one_echoed), ["health-allow-without-token"]);
        // A transformation widens what matches the token.
        let lowered = protected().replacen("Type: NONE", "Type: LOWERCASE", 1);
        assert_eq!(codes(&lowered), ["health-allow-without-token"]);
        // An OR with anything but token matches admits reads without the token.
        let widened = protected().replace(
            "                          SearchString: !Ref HealthTokenPrevious\n",
            "                          SearchString: !Ref HealthTokenPrevious\n                      - IPSetReferenceStatement:\n                          Arn: !GetAtt Checkers.Arn\n",
        );
        assert_ne!(widened, protected());
        assert_eq!(codes(&widened), ["health-allow-without-token"]);
        // The token ANDed with the rest, not merely somewhere in the rule.
        let ored = protected().replace(
            "            AndStatement:\n              Statements:\n                - IPSetReferenceStatement:",
            "            OrStatement:\n              Statements:\n                - IPSetReferenceStatement:",
        );
        assert_ne!(ored, protected());
        assert_eq!(codes(&ored), ["health-allow-without-token"]);
        // No token at all, and the same check when it says why it sends none.
        let plain = ENDPOINT_CHECK.replace(
            "ResourcePath: !Sub \"/v1/health?token=${HealthToken}\"",
            "ResourcePath: /v1/health",
        );
        assert_eq!(codes(&plain), ["health-check-without-token"]);
        let waived = plain.replace(
            "    Type: AWS::Route53::HealthCheck\n",
            "    Type: AWS::Route53::HealthCheck\n    Metadata:\n      ingest:\n        health_token: api.waf.enabled is false\n",
        );
        assert!(codes(&waived).is_empty());
    }
}
