//! API Gateway: integrations, deployments and custom domain names.

use serde_json::Value;

use super::Problems;
use super::template::{Template, names, object, strings, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "integration-without-http-method",
    "put-records-integration",
    "deployment-missing-method-dependency",
    "domain-certificate-mismatch",
    "edge-certificate-region",
];

/// Integration types that call a backend over HTTP and so need `IntegrationHttpMethod`.
const HTTP_INTEGRATIONS: &[&str] = &["AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY"];

pub(super) fn check_api_methods(t: &Template<'_>, problems: &mut Problems) {
    for method in t.of_type("AWS::ApiGateway::Method") {
        let Some(integration) = object(method.properties, "Integration") else {
            continue;
        };
        if let Some(kind) = text(integration, "Type")
            && HTTP_INTEGRATIONS.contains(&kind)
            && !integration.contains_key("IntegrationHttpMethod")
        {
            problems.at(
                method.id,
                "integration-without-http-method",
                format!(
                    "the {kind} integration has no `IntegrationHttpMethod`; API Gateway needs the method it calls the backend with (POST for AWS service actions)"
                ),
            );
        }
        let calls_put_records = integration
            .get("Uri")
            .is_some_and(|uri| strings(uri).into_iter().any(names_put_records));
        let surfaces_failures = integration
            .get("IntegrationResponses")
            .is_some_and(|r| strings(r).iter().any(|s| s.contains("FailedRecordCount")));
        if calls_put_records && !surfaces_failures {
            problems.at(
                method.id,
                "put-records-integration",
                "the integration calls Kinesis PutRecords, which answers 200 even when some records failed; use PutRecord, or map `FailedRecordCount` in the integration responses so clients resend (G1)",
            );
        }
    }
}

/// Whether a URI names the action `PutRecords` (not `PutRecord`).
fn names_put_records(uri: &str) -> bool {
    uri.match_indices("PutRecords").any(|(at, word)| {
        !uri[at + word.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

pub(super) fn check_api_deployments(t: &Template<'_>, problems: &mut Problems) {
    for deployment in t.of_type("AWS::ApiGateway::Deployment") {
        let api = deployment.properties.get("RestApiId");
        let depends_on = deployment.depends_on();
        let missing: Vec<&str> = t
            .of_type("AWS::ApiGateway::Method")
            .filter(|method| method.properties.get("RestApiId") == api)
            .map(|method| method.id)
            .filter(|id| !depends_on.contains(id))
            .collect();
        if !missing.is_empty() {
            problems.at(
                deployment.id,
                "deployment-missing-method-dependency",
                format!(
                    "the deployment does not `DependsOn` the methods {} of its API, so it may snapshot the API before they exist; list every method (and give the deployment a content-hash id so edits redeploy) (G2)",
                    names(&missing)
                ),
            );
        }
    }
}

pub(super) fn check_domain_names(t: &Template<'_>, problems: &mut Problems) {
    for domain in t.of_type("AWS::ApiGateway::DomainName") {
        let p = domain.properties;
        let types: Vec<&str> = match object(p, "EndpointConfiguration").map(|e| e.get("Types")) {
            None | Some(None) => vec!["EDGE"],
            Some(Some(Value::Array(types))) => types.iter().filter_map(Value::as_str).collect(),
            Some(Some(_)) => continue,
        };
        let has = |key: &str| p.contains_key(key);
        let mut mismatch = |message: &str| {
            problems.at(domain.id, "domain-certificate-mismatch", message);
        };
        if types.contains(&"REGIONAL") {
            if has("CertificateArn") {
                mismatch(
                    "a REGIONAL domain name takes `RegionalCertificateArn` (a certificate in its own region), not `CertificateArn` (G3)",
                );
            }
            if !has("RegionalCertificateArn") {
                mismatch("a REGIONAL domain name needs `RegionalCertificateArn` (G3)");
            }
        }
        if types.contains(&"EDGE") {
            if has("RegionalCertificateArn") {
                mismatch(
                    "an EDGE domain name takes `CertificateArn` (a us-east-1 certificate), not `RegionalCertificateArn` (G3)",
                );
            }
            if !has("CertificateArn") {
                mismatch("an EDGE domain name needs `CertificateArn` (G3)");
            }
            if let Some(arn) = text(p, "CertificateArn")
                && let Some(region) = arn.split(':').nth(3)
                && region != "us-east-1"
            {
                problems.at(
                    domain.id,
                    "edge-certificate-region",
                    format!(
                        "an EDGE domain name needs a certificate in us-east-1, but `CertificateArn` is in {region} (G3)"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{cases, check, codes};

    const API: &str = r#"Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: ingest
  Method:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: POST
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:kinesis:action/PutRecord"
        Credentials: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/api"
  HealthMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: MOCK
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [Method, HealthMethod]
    Properties:
      RestApiId: !Ref Api
"#;

    const PUT_RECORDS_RESPONSES: &str = r#"        IntegrationResponses:
          - StatusCode: "200"
            ResponseTemplates:
              application/json: '{"failed": $input.path("$.FailedRecordCount")}'
"#;

    const REGIONAL_DOMAIN: &str = r#"Resources:
  Domain:
    Type: AWS::ApiGateway::DomainName
    Properties:
      DomainName: ingest.example.com
      RegionalCertificateArn: "arn:aws:acm:us-west-2:123456789012:certificate/abc"
      EndpointConfiguration:
        Types: [REGIONAL]
"#;

    const EDGE_DOMAIN: &str = r#"Resources:
  Domain:
    Type: AWS::ApiGateway::DomainName
    Properties:
      DomainName: ingest.example.com
      CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc"
"#;

    cases! {
        integration_without_http_method: "integration-without-http-method",
            API.replace("        IntegrationHttpMethod: POST\n", ""), API;
        put_records_integration: "put-records-integration",
            API.replace("action/PutRecord\"", "action/PutRecords\""),
            API.replace("action/PutRecord\"", "action/PutRecords\"").replace(
                "  HealthMethod:\n",
                &format!("{PUT_RECORDS_RESPONSES}  HealthMethod:\n"),
            );
        deployment_missing_method_dependency: "deployment-missing-method-dependency",
            API.replace("DependsOn: [Method, HealthMethod]", "DependsOn: Method"), API;
        domain_certificate_mismatch: "domain-certificate-mismatch",
            REGIONAL_DOMAIN.replace("RegionalCertificateArn:", "CertificateArn:"), REGIONAL_DOMAIN;
        edge_certificate_region: "edge-certificate-region",
            EDGE_DOMAIN.replace(":us-east-1:", ":us-west-2:"), EDGE_DOMAIN;
    }

    #[test]
    fn edge_domain_with_regional_certificate() {
        let text = EDGE_DOMAIN.replace("CertificateArn:", "RegionalCertificateArn:");
        let found = check(&text);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found
                .iter()
                .all(|p| p.code == "domain-certificate-mismatch")
        );
    }

    #[test]
    fn put_record_is_not_put_records() {
        assert!(!super::names_put_records(
            "arn:x:apigateway:r:kinesis:action/PutRecord"
        ));
        assert!(super::names_put_records(
            "arn:x:apigateway:r:kinesis:action/PutRecords"
        ));
        assert!(super::names_put_records("action/PutRecords?x"));
        assert!(!super::names_put_records("action/PutRecordsBatch"));
    }

    #[test]
    fn certificate_arns_may_name_the_partition() {
        assert!(codes(EDGE_DOMAIN).is_empty());
    }
}
