//! Route 53: weighted records, their health checks, and the alarms on those checks.

use serde_json::{Map, Value};

use super::Problems;
use super::references::{Reference, references, single_entry};
use super::template::{Template, array, is_true, literal_number, names, object, text};
use crate::aws::{Partition, route53_metrics_region};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "weighted-record-without-set-identifier",
    "weighted-record-without-health-check",
    "weight-out-of-range",
    "weight-parameter-unbounded",
    "alias-record-with-records",
    "edge-alias-evaluates-target-health",
    "calculated-health-check-children",
    "route53-alarm-region-unpinned",
    "switch-check-shape",
];

/// A drain switch must be readable by Route 53 only and read the same way whatever happens to
/// the switch's machinery (`docs/security.md#the-lever`): a `CLOUDWATCH_METRIC` check names its
/// alarm and its region and says what no data means (`InsufficientDataHealthStatus`; Route 53's
/// own default is the last known status, which would freeze a drain while the publisher is
/// silent), and is not inverted (a drained region's alarm is in ALARM, which already reads
/// unhealthy). An inverted string-match check is the old public drain switch: anyone could
/// flood its route into errors, which the inversion reads as "not drained".
pub(super) fn check_switch_checks(t: &Template<'_>, problems: &mut Problems) {
    for check in t.of_type("AWS::Route53::HealthCheck") {
        let Some(config) = object(check.properties, "HealthCheckConfig") else {
            continue;
        };
        let kind = text(config, "Type").unwrap_or("");
        let inverted = is_true(config.get("Inverted"));
        let problem = match kind {
            "CLOUDWATCH_METRIC" => {
                let alarm = object(config, "AlarmIdentifier");
                if alarm.is_none_or(|a| !a.contains_key("Name") || !a.contains_key("Region")) {
                    Some(
                        "the CLOUDWATCH_METRIC check needs `AlarmIdentifier` with the alarm's `Name` and `Region`",
                    )
                } else if !config.contains_key("InsufficientDataHealthStatus") {
                    Some(
                        "the CLOUDWATCH_METRIC check does not say what no data means: Route 53 then keeps the last known status, so a drain would stay frozen while its publisher is silent; set `InsufficientDataHealthStatus` (Healthy: a switch nobody can read does not drain)",
                    )
                } else if inverted {
                    Some(
                        "the CLOUDWATCH_METRIC check is inverted: a drained region's alarm is in ALARM, which already reads unhealthy, so the inversion would send traffic to the drained region",
                    )
                } else {
                    None
                }
            }
            "HTTP_STR_MATCH" | "HTTPS_STR_MATCH" if inverted => Some(
                "the inverted string-match check reads a public route: anyone can flood that route into errors, which the inversion reads as healthy, so a drain is ignored; read the switch from a CloudWatch alarm (`CLOUDWATCH_METRIC`) instead",
            ),
            _ => None,
        };
        if let Some(problem) = problem {
            problems.at(check.id, "switch-check-shape", problem);
        }
    }
}

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
                        "weighted record{label} has no `HealthCheckId`: a record without a health check is always healthy, so traffic never fails over"
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
                        "alias record{label} targets an edge (CloudFront) domain with `EvaluateTargetHealth: true`, which Route 53 does not allow; set it to false and rely on `HealthCheckId`"
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

/// The region a template pins itself to with a `Rules` assertion that holds unconditionally:
/// `Fn::Equals` of `Ref AWS::Region` and a literal region.
fn pinned_region<'a>(t: &Template<'a>) -> Option<&'a str> {
    let rules = t.root.get("Rules")?.as_object()?;
    rules
        .values()
        .filter_map(Value::as_object)
        .filter(|rule| !rule.contains_key("RuleCondition"))
        .flat_map(|rule| array(rule, "Assertions"))
        .filter_map(|assertion| assertion.get("Assert")?.as_object())
        .find_map(|assert| {
            let Some(("Fn::Equals", Value::Array(sides))) = single_entry(assert) else {
                return None;
            };
            let is_region = |v: &Value| {
                v.as_object()
                    .and_then(single_entry)
                    .is_some_and(|(f, a)| f == "Ref" && a.as_str() == Some("AWS::Region"))
            };
            match sides.as_slice() {
                [a, b] if is_region(a) => b.as_str(),
                [a, b] if is_region(b) => a.as_str(),
                _ => None,
            }
        })
}

/// Route 53 publishes health-check metrics in one region per partition (us-east-1 in the
/// commercial one). An alarm on them anywhere else never sees data; the template must refuse to
/// deploy elsewhere, which a `Rules` assertion on `AWS::Region` does before anything is created
/// (`docs/traps.md#route53-metrics-us-east-1`).
pub(super) fn check_health_alarms(t: &Template<'_>, problems: &mut Problems) {
    let metrics_regions =
        [Partition::Aws, Partition::AwsCn, Partition::AwsUsGov].map(route53_metrics_region);
    let pinned = pinned_region(t).filter(|region| metrics_regions.contains(region));
    if pinned.is_some() {
        return;
    }
    for alarm in t.of_type("AWS::CloudWatch::Alarm") {
        if text(alarm.properties, "Namespace") == Some("AWS/Route53") {
            problems.at(
                alarm.id,
                "route53-alarm-region-unpinned",
                "the alarm watches Route 53 health-check metrics, which Route 53 publishes only in us-east-1 (in China cn-northwest-1, in GovCloud us-gov-west-1), but nothing keeps the stack out of other regions, where the alarm never sees data; deploy it there and pin the template with a `Rules` assertion `Fn::Equals: [!Ref AWS::Region, us-east-1]`",
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
    Metadata:
      ingest:
        health_token: the web ACL is not this test's subject
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
    Metadata:
      ingest:
        health_token: the web ACL is not this test's subject
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
    Metadata:
      ingest:
        health_token: the web ACL is not this test's subject
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

    const HEALTH_ALARM: &str = r#"Rules:
  MetricsRegion:
    Assertions:
      - Assert: !Equals [!Ref AWS::Region, us-east-1]
        AssertDescription: Route 53 publishes health-check metrics only in us-east-1
Parameters:
  CheckId:
    Type: String
Resources:
  Topic:
    Type: AWS::SNS::Topic
  HealthAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Route53
      MetricName: HealthCheckStatus
      Dimensions:
        - Name: HealthCheckId
          Value: !Ref CheckId
      Statistic: Minimum
      Period: 60
      EvaluationPeriods: 2
      Threshold: 1
      ComparisonOperator: LessThanThreshold
      AlarmActions:
        - !Ref Topic
"#;

    cases! {
        route53_alarm_region_unpinned: "route53-alarm-region-unpinned",
            HEALTH_ALARM.replace("[!Ref AWS::Region, us-east-1]", "[!Ref AWS::Region, us-west-2]"),
            HEALTH_ALARM;
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
        switch_check_shape: "switch-check-shape",
            SWITCH_CHECK.replace("        InsufficientDataHealthStatus: Healthy\n", ""),
            SWITCH_CHECK;
    }

    const SWITCH_CHECK: &str = r#"Parameters:
  SwitchAlarmName:
    Type: String
Resources:
  SwitchCheck:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: CLOUDWATCH_METRIC
        AlarmIdentifier:
          Name: !Ref SwitchAlarmName
          Region: us-west-2
        InsufficientDataHealthStatus: Healthy
"#;

    #[test]
    fn an_inverted_alarm_check_or_string_match_is_refused() {
        let inverted = SWITCH_CHECK.replace(
            "        InsufficientDataHealthStatus: Healthy\n",
            "        InsufficientDataHealthStatus: Healthy\n        Inverted: true\n",
        );
        assert_eq!(codes(&inverted), ["switch-check-shape"]);
        let string_match = "Resources:\n  Check:\n    Type: AWS::Route53::HealthCheck\n    Properties:\n      HealthCheckConfig:\n        Type: HTTPS_STR_MATCH\n        FullyQualifiedDomainName: api.example.com\n        ResourcePath: /v1/switch/primary\n        SearchString: drain=on\n        Inverted: true\n";
        assert_eq!(codes(string_match), ["switch-check-shape"]);
    }

    #[test]
    fn the_region_pin_must_hold_unconditionally() {
        let start = HEALTH_ALARM.find("Parameters:").unwrap();
        assert_eq!(
            codes(&HEALTH_ALARM[start..]),
            ["route53-alarm-region-unpinned"]
        );
        let text = HEALTH_ALARM.replace(
            "    Assertions:",
            "    RuleCondition: !Equals [!Ref AWS::AccountId, \"123456789012\"]\n    Assertions:",
        );
        assert_eq!(codes(&text), ["route53-alarm-region-unpinned"]);
        let text = HEALTH_ALARM.replace(
            "[!Ref AWS::Region, us-east-1]",
            "[us-east-1, !Ref AWS::Region]",
        );
        assert!(codes(&text).is_empty());
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
