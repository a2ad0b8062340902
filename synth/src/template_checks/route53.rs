//! Route 53: weighted records and their health checks.

use serde_json::{Map, Value};

use super::Problems;
use super::references::{Reference, references, single_entry};
use super::template::{Template, array, is_true, literal_number, names, object, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "weighted-record-without-set-identifier",
    "weighted-record-without-health-check",
    "weight-out-of-range",
    "weight-parameter-unbounded",
    "alias-record-with-records",
    "edge-alias-evaluates-target-health",
    "calculated-health-check-children",
];

/// A Route 53 record: a `RecordSet`, or one entry of a `RecordSetGroup`.
struct Record<'a> {
    owner: &'a str,
    /// " (record N of the group)" for group members, else "".
    label: String,
    properties: &'a Map<String, Value>,
}

fn record_sets<'a>(t: &Template<'a>) -> Vec<Record<'a>> {
    let mut records: Vec<Record<'a>> = t
        .of_type("AWS::Route53::RecordSet")
        .map(|r| Record {
            owner: r.id,
            label: String::new(),
            properties: r.properties,
        })
        .collect();
    for group in t.of_type("AWS::Route53::RecordSetGroup") {
        for (i, entry) in array(group.properties, "RecordSets").iter().enumerate() {
            if let Some(properties) = entry.as_object() {
                records.push(Record {
                    owner: group.id,
                    label: format!(" (record {} of the group)", i + 1),
                    properties,
                });
            }
        }
    }
    records
}

pub(super) fn check_record_sets(t: &Template<'_>, problems: &mut Problems) {
    for Record {
        owner,
        label,
        properties,
    } in record_sets(t)
    {
        if let Some(weight) = properties.get("Weight") {
            if !properties.contains_key("SetIdentifier") {
                problems.at(
                    owner,
                    "weighted-record-without-set-identifier",
                    format!(
                        "weighted record{label} has no `SetIdentifier`; Route 53 needs one to tell the members of a weighted set apart"
                    ),
                );
            }
            if !properties.contains_key("HealthCheckId") {
                problems.at(
                    owner,
                    "weighted-record-without-health-check",
                    format!(
                        "weighted record{label} has no `HealthCheckId`: a record without a health check is always healthy, so traffic never fails over (G6)"
                    ),
                );
            }
            check_weight(t, owner, &label, weight, problems);
        }
        if let Some(alias) = object(properties, "AliasTarget") {
            let extra: Vec<&str> = ["ResourceRecords", "TTL"]
                .into_iter()
                .filter(|key| properties.contains_key(*key))
                .collect();
            if !extra.is_empty() {
                problems.at(
                    owner,
                    "alias-record-with-records",
                    format!(
                        "alias record{label} also sets {}; an alias record takes neither `ResourceRecords` nor `TTL`",
                        names(&extra)
                    ),
                );
            }
            if is_true(alias.get("EvaluateTargetHealth")) && is_cloudfront_target(t, alias) {
                problems.at(
                    owner,
                    "edge-alias-evaluates-target-health",
                    format!(
                        "alias record{label} targets an edge (CloudFront) domain with `EvaluateTargetHealth: true`, which Route 53 does not allow; set it to false and rely on `HealthCheckId` (G7)"
                    ),
                );
            }
        }
    }
}

fn check_weight(
    t: &Template<'_>,
    owner: &str,
    label: &str,
    weight: &Value,
    problems: &mut Problems,
) {
    if let Value::Object(map) = weight {
        let parameter = match single_entry(map) {
            Some(("Ref", Value::String(name))) => name.as_str(),
            _ => return,
        };
        let Some(declaration) = t.parameters.get(parameter).and_then(Value::as_object) else {
            return;
        };
        if !parameter_within(declaration, 0.0, 255.0) {
            problems.at(
                owner,
                "weight-parameter-unbounded",
                format!(
                    "record{label} takes its `Weight` from the parameter `{parameter}`, which is not bounded to 0..255; give it `MinValue: 0` and `MaxValue: 255` so a bad weight fails at parameter validation, not halfway through the update"
                ),
            );
        }
        return;
    }
    let in_range =
        literal_number(weight).is_some_and(|w| w.fract() == 0.0 && (0.0..=255.0).contains(&w));
    if !in_range {
        problems.at(
            owner,
            "weight-out-of-range",
            format!("record{label} has `Weight: {weight}`; Route 53 weights are whole numbers from 0 to 255"),
        );
    }
}

/// Whether a parameter can only take values within `min..=max`: by `AllowedValues`, or by
/// `MinValue` and `MaxValue` within the bounds.
fn parameter_within(declaration: &Map<String, Value>, min: f64, max: f64) -> bool {
    let within = |value: &Value| literal_number(value).is_some_and(|v| (min..=max).contains(&v));
    let allowed = array(declaration, "AllowedValues");
    if !allowed.is_empty() {
        return allowed.iter().all(within);
    }
    let bound = |key: &str| declaration.get(key).and_then(literal_number);
    matches!(
        (bound("MinValue"), bound("MaxValue")),
        (Some(low), Some(high)) if low >= min && high <= max
    )
}

/// Whether an alias target is a CloudFront distribution: an edge API Gateway domain
/// (`DistributionDomainName`), a `CloudFront::Distribution`, or CloudFront's zone.
fn is_cloudfront_target(t: &Template<'_>, alias: &Map<String, Value>) -> bool {
    const CLOUDFRONT_ZONE: &str = "Z2FDTNDATAQYW2";
    let dns_is_edge = alias.get("DNSName").is_some_and(|dns| {
        references(dns)
            .into_iter()
            .any(|reference| match reference {
                Reference::GetAtt(_, "DistributionDomainName") => true,
                Reference::GetAtt(resource, "DomainName") => t
                    .resource(resource)
                    .is_some_and(|r| r.ty == "AWS::CloudFront::Distribution"),
                _ => false,
            })
    });
    let zone_is_edge = alias.get("HostedZoneId").is_some_and(|zone| {
        zone.as_str() == Some(CLOUDFRONT_ZONE)
            || references(zone)
                .into_iter()
                .any(|r| matches!(r, Reference::GetAtt(_, "DistributionHostedZoneId")))
    });
    dns_is_edge || zone_is_edge
}

pub(super) fn check_health_checks(t: &Template<'_>, problems: &mut Problems) {
    for check in t.of_type("AWS::Route53::HealthCheck") {
        let Some(config) = object(check.properties, "HealthCheckConfig") else {
            continue;
        };
        if text(config, "Type") != Some("CALCULATED") {
            continue;
        }
        let children = array(config, "ChildHealthChecks");
        if children.is_empty() {
            problems.at(
                check.id,
                "calculated-health-check-children",
                "the CALCULATED health check has no `ChildHealthChecks`",
            );
            continue;
        }
        for child in children {
            for reference in references(child) {
                // An unknown name is reported once, by the resolution check.
                if let Some(target) = reference.target().and_then(|name| t.resource(name))
                    && target.ty != "AWS::Route53::HealthCheck"
                {
                    problems.at(
                        check.id,
                        "calculated-health-check-children",
                        format!(
                            "child `{}` of the CALCULATED health check is a {}, not an AWS::Route53::HealthCheck",
                            target.id, target.ty
                        ),
                    );
                }
                if reference.target() == Some(check.id) {
                    problems.at(
                        check.id,
                        "calculated-health-check-children",
                        "the CALCULATED health check lists itself as a child",
                    );
                }
            }
        }
        if let Some(threshold) = config.get("HealthThreshold").and_then(literal_number)
            && threshold > children.len() as f64
        {
            problems.at(
                check.id,
                "calculated-health-check-children",
                format!(
                    "`HealthThreshold` {threshold} exceeds the {} child health checks, so Route 53 always considers it unhealthy",
                    children.len()
                ),
            );
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{cases, check, codes};

    const DNS: &str = r#"Resources:
  Check:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: HTTPS
        FullyQualifiedDomainName: abc123.execute-api.us-west-2.amazonaws.com
        ResourcePath: /v1/health
  Record:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: Z0000000000000000001
      Name: ingest.example.com
      Type: A
      SetIdentifier: secondary
      Weight: 95
      HealthCheckId: !Ref Check
      AliasTarget:
        DNSName: d-abc123.execute-api.us-west-2.amazonaws.com
        HostedZoneId: Z2OJLYMUO9EFXC
        EvaluateTargetHealth: false
"#;

    fn dns_with_weight_parameter(max: &str) -> String {
        format!(
            "Parameters:\n  Weight:\n    Type: Number\n    MinValue: 0\n    MaxValue: {max}\n{}",
            DNS.replace("Weight: 95", "Weight: !Ref Weight")
        )
    }

    const EDGE_DNS: &str = r#"Resources:
  Domain:
    Type: AWS::ApiGateway::DomainName
    Properties:
      DomainName: ingest.example.com
      CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc"
      EndpointConfiguration:
        Types: [EDGE]
  Check:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: HTTPS
        FullyQualifiedDomainName: abc123.execute-api.us-east-1.amazonaws.com
  Record:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: Z0000000000000000001
      Name: ingest.example.com
      Type: A
      SetIdentifier: primary
      Weight: 5
      HealthCheckId: !Ref Check
      AliasTarget:
        DNSName: !GetAtt Domain.DistributionDomainName
        HostedZoneId: !GetAtt Domain.DistributionHostedZoneId
        EvaluateTargetHealth: false
"#;

    const CALCULATED: &str = r#"Resources:
  Endpoint:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: HTTPS
        FullyQualifiedDomainName: abc123.execute-api.us-west-2.amazonaws.com
  Topic:
    Type: AWS::SNS::Topic
  Calculated:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: CALCULATED
        ChildHealthChecks:
          - !Ref Topic
        HealthThreshold: 1
"#;

    cases! {
        weighted_record_without_set_identifier: "weighted-record-without-set-identifier",
            DNS.replace("      SetIdentifier: secondary\n", ""), DNS;
        weighted_record_without_health_check: "weighted-record-without-health-check",
            DNS.replace("      HealthCheckId: !Ref Check\n", ""), DNS;
        weight_out_of_range: "weight-out-of-range", DNS.replace("Weight: 95", "Weight: 300"), DNS;
        weight_parameter_unbounded: "weight-parameter-unbounded",
            dns_with_weight_parameter("1000"), dns_with_weight_parameter("255");
        alias_record_with_records: "alias-record-with-records",
            DNS.replace("      Type: A\n", "      Type: A\n      TTL: \"60\"\n"), DNS;
        edge_alias_evaluates_target_health: "edge-alias-evaluates-target-health",
            EDGE_DNS.replace("EvaluateTargetHealth: false", "EvaluateTargetHealth: true"), EDGE_DNS;
        calculated_health_check_children: "calculated-health-check-children",
            CALCULATED, CALCULATED.replace("!Ref Topic", "!Ref Endpoint");
    }

    #[test]
    fn weight_parameter_bounded_by_allowed_values_passes() {
        let text = dns_with_weight_parameter("255").replace(
            "    MinValue: 0\n    MaxValue: 255\n",
            "    AllowedValues: [0, 5, 95]\n",
        );
        assert!(codes(&text).is_empty(), "{:#?}", check(&text));
        let text = dns_with_weight_parameter("255").replace("    MinValue: 0\n", "");
        assert_eq!(codes(&text), ["weight-parameter-unbounded"]);
    }

    #[test]
    fn record_set_groups_are_checked_too() {
        let text = r#"Resources:
  Records:
    Type: AWS::Route53::RecordSetGroup
    Properties:
      HostedZoneId: Z0000000000000000001
      RecordSets:
        - Name: ingest.example.com
          Type: CNAME
          Weight: 256
          SetIdentifier: a
          TTL: "60"
          ResourceRecords: [a.example.com]
"#;
        let found = check(text);
        assert_eq!(
            found.iter().map(|p| p.code).collect::<Vec<_>>(),
            [
                "weighted-record-without-health-check",
                "weight-out-of-range"
            ]
        );
        assert!(found[1].message.contains("record 1 of the group"));
    }

    #[test]
    fn cloudfront_zone_counts_as_edge_target() {
        let text = DNS
            .replace("Z2OJLYMUO9EFXC", "Z2FDTNDATAQYW2")
            .replace("EvaluateTargetHealth: false", "EvaluateTargetHealth: true");
        assert_eq!(codes(&text), ["edge-alias-evaluates-target-health"]);
        // A regional target may evaluate its health.
        let text = DNS.replace("EvaluateTargetHealth: false", "EvaluateTargetHealth: true");
        assert!(codes(&text).is_empty());
    }

    #[test]
    fn calculated_health_check_threshold_and_empty_children() {
        let fixed = CALCULATED.replace("!Ref Topic", "!Ref Endpoint");
        let text = fixed.replace("HealthThreshold: 1", "HealthThreshold: 2");
        assert_eq!(codes(&text), ["calculated-health-check-children"]);
        let text = fixed
            .replace("          - !Ref Endpoint\n", "")
            .replace("ChildHealthChecks:\n", "ChildHealthChecks: []\n");
        assert_eq!(codes(&text), ["calculated-health-check-children"]);
    }

    #[test]
    fn unknown_child_health_check_is_reported_once() {
        let text = CALCULATED.replace("!Ref Topic", "!Ref Nowhere");
        assert_eq!(codes(&text), ["unresolved-ref"]);
    }
}
