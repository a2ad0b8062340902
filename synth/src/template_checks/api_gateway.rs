//! API Gateway: integrations, deployments, custom domain names, the stage cache in front of
//! public reads, and the account-wide logging settings.

use serde_json::{Map, Value};

use super::Problems;
use super::iam::policies_of;
use super::template::{
    Resource, Template, array, is_true, literal_number, names, object, strings, text,
};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &[
    "integration-without-http-method",
    "put-records-integration",
    "deployment-missing-method-dependency",
    "domain-certificate-mismatch",
    "edge-certificate-region",
    "public-stream-read-uncached",
    "api-account-order",
    "api-body-converted",
    "client-chosen-partition-key",
    "public-switch-route",
    "public-read-without-own-throttle",
];

/// The context variable of the request id a client can set (`x-amzn-RequestId`), and the one
/// API Gateway alone assigns.
const CLIENT_REQUEST_ID: &str = "$context.requestId";
const EXTENDED_REQUEST_ID: &str = "$context.extendedRequestId";

/// The values of `"PartitionKey": "..."` in a mapping template.
fn partition_keys(template: &str) -> Vec<&str> {
    template
        .match_indices("\"PartitionKey\"")
        .filter_map(|(at, key)| {
            let rest = template[at + key.len()..].trim_start().strip_prefix(':')?;
            let rest = rest.trim_start().strip_prefix('"')?;
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// The partition key of a record an API writes to Kinesis decides its shard, and what a
/// response or the data path calls the request id is what the logs match on. A client can set
/// `$context.requestId` (through `x-amzn-RequestId`): it could aim every record at one shard and
/// forge ids. The key and every id in templates are `$context.extendedRequestId`, which only API
/// Gateway assigns (API Gateway DG, *Variables for access logging*).
pub(super) fn check_partition_keys(t: &Template<'_>, problems: &mut Problems) {
    for method in t.of_type("AWS::ApiGateway::Method") {
        let Some(integration) = object(method.properties, "Integration") else {
            continue;
        };
        let request_templates: Vec<&str> = integration
            .get("RequestTemplates")
            .map(strings)
            .unwrap_or_default();
        let response_templates: Vec<&str> = array(integration, "IntegrationResponses")
            .iter()
            .filter_map(|r| r.get("ResponseTemplates"))
            .flat_map(strings)
            .collect();
        let client_ids = request_templates
            .iter()
            .chain(&response_templates)
            .any(|body| {
                body.match_indices(CLIENT_REQUEST_ID).any(|(at, word)| {
                    !body[at + word.len()..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphanumeric())
                })
            });
        let writes_kinesis = kinesis_action(integration)
            .is_some_and(|action| action == "PutRecord" || action == "PutRecords");
        let keys: Vec<&str> = request_templates
            .iter()
            .flat_map(|body| partition_keys(body))
            .collect();
        let bad_key = writes_kinesis
            && (keys
                .iter()
                .any(|k| !k.is_empty() && *k != EXTENDED_REQUEST_ID)
                || !keys.contains(&EXTENDED_REQUEST_ID));
        if client_ids || bad_key {
            problems.at(
                method.id,
                "client-chosen-partition-key",
                format!(
                    "{}: a client can set `$context.requestId` with an `x-amzn-RequestId` header, aim every record at one shard and forge ids in the logs; use `{EXTENDED_REQUEST_ID}`, which only API Gateway assigns",
                    if bad_key {
                        "the Kinesis partition key is not the request's own id"
                    } else {
                        "a mapping template uses the client-settable request id"
                    }
                ),
            );
        }
    }
}

/// An unsigned method whose integration reads S3 serves that object to anyone, and anyone can
/// flood it into 429s; the lever's drain switches once were such a route, read by inverted
/// health checks that a flood then read as "not drained" (`docs/security.md#the-lever`).
pub(super) fn check_public_object_reads(t: &Template<'_>, problems: &mut Problems) {
    for method in t.of_type("AWS::ApiGateway::Method") {
        let p = method.properties;
        if text(p, "AuthorizationType").is_some_and(|kind| kind != "NONE")
            || is_true(p.get("ApiKeyRequired"))
        {
            continue;
        }
        let reads_s3 = object(p, "Integration")
            .and_then(|i| i.get("Uri"))
            .is_some_and(|uri| {
                strings(uri)
                    .iter()
                    .any(|u| u.contains(":s3:path/") || u.contains(":s3:action/"))
            });
        if reads_s3 {
            problems.at(
                method.id,
                "public-switch-route",
                "the unsigned method serves S3 objects to anyone, who can also flood it into 429s: a health check that reads it (a drain switch) can then be jammed; read such state through something the public cannot reach (the lever's CloudWatch alarms)",
            );
        }
    }
}

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
                "the integration calls Kinesis PutRecords, which answers 200 even when some records failed; use PutRecord, or map `FailedRecordCount` in the integration responses so clients resend",
            );
        }
    }
}

/// A body that API Gateway hands a mapping template as text has been decoded as UTF-8: bytes
/// that are not UTF-8 are altered before `$util.base64Encode` sees them, and `.length()`
/// counts characters, not bytes. An integration that puts the body into Kinesis must take it as
/// binary: every content type its templates handle listed in the API's `BinaryMediaTypes`
/// (`/` as `~1`) and `ContentHandling: CONVERT_TO_TEXT`, so `$input.body` is the base64 of the
/// exact bytes. And once an API has binary media types, an integration response without
/// `ContentHandling: CONVERT_TO_TEXT` is base64-decoded for a client whose `Accept` is one of
/// them (`docs/traps.md#api-binary-bodies`).
pub(super) fn check_api_body_handling(t: &Template<'_>, problems: &mut Problems) {
    for method in t.of_type("AWS::ApiGateway::Method") {
        let Some(integration) = object(method.properties, "Integration") else {
            continue;
        };
        let binary: Vec<String> = method
            .properties
            .get("RestApiId")
            .map(|api| t.referenced_resources(api))
            .unwrap_or_default()
            .into_iter()
            .filter(|api| api.ty == "AWS::ApiGateway::RestApi")
            .flat_map(|api| {
                array(api.properties, "BinaryMediaTypes")
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|media| media.replace("~1", "/"))
                    .collect::<Vec<_>>()
            })
            .collect();
        let puts_body = integration.get("Uri").is_some_and(|uri| {
            strings(uri)
                .iter()
                .any(|uri| uri.contains(":kinesis:action/PutRecord"))
        });
        if puts_body {
            let text_types: Vec<&str> = object(integration, "RequestTemplates")
                .map(|templates| {
                    templates
                        .keys()
                        .map(String::as_str)
                        .filter(|content_type| !binary.iter().any(|b| b == content_type))
                        .collect()
                })
                .unwrap_or_default();
            let converts = text(integration, "ContentHandling") == Some("CONVERT_TO_TEXT");
            if !text_types.is_empty() || !converts {
                let what = if text_types.is_empty() {
                    "the integration has no `ContentHandling: CONVERT_TO_TEXT`".to_owned()
                } else {
                    format!(
                        "the API's `BinaryMediaTypes` do not list {} (write `/` as `~1`)",
                        names(&text_types)
                    )
                };
                problems.at(
                    method.id,
                    "api-body-converted",
                    format!(
                        "the integration puts request bodies into Kinesis, but {what}: API Gateway then hands the template a UTF-8 string, altering bodies that are not UTF-8 and counting their length in characters, not bytes"
                    ),
                );
            }
        }
        if binary.is_empty() {
            continue;
        }
        for (index, response) in array(integration, "IntegrationResponses")
            .iter()
            .enumerate()
        {
            let converts = response
                .as_object()
                .and_then(|r| text(r, "ContentHandling"))
                == Some("CONVERT_TO_TEXT");
            if !converts {
                problems.at(
                    method.id,
                    "api-body-converted",
                    format!(
                        "integration response {index} has no `ContentHandling: CONVERT_TO_TEXT`, and the API has binary media types: a client whose `Accept` is one of them gets the text answer base64-decoded"
                    ),
                );
            }
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
                    "the deployment does not `DependsOn` the methods {} of its API, so it may snapshot the API before they exist; list every method (and give the deployment a content-hash id so edits redeploy)",
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
                    "a REGIONAL domain name takes `RegionalCertificateArn` (a certificate in its own region), not `CertificateArn`",
                );
            }
            if !has("RegionalCertificateArn") {
                mismatch("a REGIONAL domain name needs `RegionalCertificateArn`");
            }
        }
        if types.contains(&"EDGE") {
            if has("RegionalCertificateArn") {
                mismatch(
                    "an EDGE domain name takes `CertificateArn` (a us-east-1 certificate), not `RegionalCertificateArn`",
                );
            }
            if !has("CertificateArn") {
                mismatch("an EDGE domain name needs `CertificateArn`");
            }
            if let Some(arn) = text(p, "CertificateArn")
                && let Some(region) = arn.split(':').nth(3)
                && region != "us-east-1"
            {
                problems.at(
                    domain.id,
                    "edge-certificate-region",
                    format!(
                        "an EDGE domain name needs a certificate in us-east-1, but `CertificateArn` is in {region}"
                    ),
                );
            }
        }
    }
}

/// The Kinesis action an integration URI calls (`...:kinesis:action/<Action>`).
fn kinesis_action(integration: &Map<String, Value>) -> Option<&str> {
    let uri = integration.get("Uri")?;
    strings(uri).into_iter().find_map(|text| {
        let (_, rest) = text.split_once(":kinesis:action/")?;
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        Some(&rest[..end])
    })
}

/// The path of an `AWS::ApiGateway::Resource` (`/health`), following `ParentId` to the API's
/// root; `None` when some link is not a resource of the template.
fn resource_path(t: &Template<'_>, resource_id: &Value) -> Option<String> {
    let mut segments = Vec::new();
    let mut current = resource_id;
    for _ in 0..64 {
        let target = t.referenced_resources(current).into_iter().next()?;
        match target.ty {
            "AWS::ApiGateway::RestApi" => {
                segments.reverse();
                return Some(format!("/{}", segments.join("/")));
            }
            "AWS::ApiGateway::Resource" => {
                segments.push(text(target.properties, "PathPart")?);
                current = target.properties.get("ParentId")?;
            }
            _ => return None,
        }
    }
    None
}

/// Whether a stage caches `http_method` on `path` (`None`: a path the checks cannot resolve,
/// which only a stage-wide setting covers): the most specific `MethodSettings` entry must enable
/// caching with a TTL above 0 (300 s when unset).
fn stage_caches(stage: &Resource<'_>, path: Option<&str>, http_method: &str) -> bool {
    if !is_true(stage.properties.get("CacheClusterEnabled")) {
        return false;
    }
    // `MethodSettings` write `/a/b` as `/~1a~1b`; the root stays `/`.
    let encoded = path.map(|path| match path {
        "/" => "/".to_owned(),
        _ => format!("/{}", path.replace('/', "~1")),
    });
    let settings: Vec<&Map<String, Value>> = array(stage.properties, "MethodSettings")
        .iter()
        .filter_map(Value::as_object)
        .collect();
    let specific = settings.iter().find(|setting| {
        encoded.is_some()
            && text(setting, "ResourcePath") == encoded.as_deref()
            && text(setting, "HttpMethod").is_some_and(|m| m == http_method || m == "*")
    });
    let general = settings.iter().find(|setting| {
        text(setting, "ResourcePath") == Some("/*") && text(setting, "HttpMethod") == Some("*")
    });
    specific.or(general).is_some_and(|setting| {
        is_true(setting.get("CachingEnabled"))
            && setting
                .get("CacheTtlInSeconds")
                .map_or(Some(300.0), literal_number)
                .is_some_and(|ttl| ttl > 0.0)
    })
}

/// Whether a stage has a `MethodSettings` entry for exactly `http_method` on `path` with its
/// own throttling.
fn own_throttle(stage: &Resource<'_>, path: Option<&str>, http_method: &str) -> bool {
    let Some(path) = path else {
        return false;
    };
    let encoded = match path {
        "/" => "/".to_owned(),
        _ => format!("/{}", path.replace('/', "~1")),
    };
    array(stage.properties, "MethodSettings")
        .iter()
        .filter_map(Value::as_object)
        .any(|setting| {
            text(setting, "ResourcePath") == Some(encoded.as_str())
                && text(setting, "HttpMethod") == Some(http_method)
                && setting.contains_key("ThrottlingRateLimit")
                && setting.contains_key("ThrottlingBurstLimit")
        })
}

/// An unsigned method that reads Kinesis (anything but `PutRecord`/`PutRecords`: the
/// `Describe*` and `List*` calls have account- or stream-wide rate limits, 20 calls a second per
/// account for `DescribeStreamSummary`) must be answered from the stage cache, or anyone can
/// throttle the call into 5xx, flip a health check that reads the route, and starve every other
/// caller in the account (`docs/traps.md#health-route-throttling`).
pub(super) fn check_public_stream_reads(t: &Template<'_>, problems: &mut Problems) {
    for method in t.of_type("AWS::ApiGateway::Method") {
        let p = method.properties;
        if text(p, "AuthorizationType").is_some_and(|kind| kind != "NONE") {
            continue;
        }
        let Some(action) = object(p, "Integration").and_then(kinesis_action) else {
            continue;
        };
        if action == "PutRecord" || action == "PutRecords" {
            continue;
        }
        let http_method = text(p, "HttpMethod").unwrap_or("GET");
        let path = p.get("ResourceId").and_then(|id| resource_path(t, id));
        let api = p.get("RestApiId");
        let cached = t
            .of_type("AWS::ApiGateway::Stage")
            .filter(|stage| stage.properties.get("RestApiId") == api)
            .any(|stage| stage_caches(stage, path.as_deref(), http_method));
        let throttled = t
            .of_type("AWS::ApiGateway::Stage")
            .filter(|stage| stage.properties.get("RestApiId") == api)
            .any(|stage| own_throttle(stage, path.as_deref(), http_method));
        if !throttled {
            problems.at(
                method.id,
                "public-read-without-own-throttle",
                format!(
                    "the unsigned {http_method} {} has no throttle of its own in the stage's `MethodSettings` (only the stage-wide one): give it an entry with `ThrottlingRateLimit` and `ThrottlingBurstLimit` sized for its readers (Route 53's checkers), so nothing else shares its bucket",
                    path.as_deref().unwrap_or("route")
                ),
            );
        }
        if !cached {
            problems.at(
                method.id,
                "public-stream-read-uncached",
                format!(
                    "the unsigned {http_method} {} calls Kinesis {action} on every request, and Kinesis limits such calls per account or stream (DescribeStreamSummary: 20 a second per account): anyone can throttle it into 5xx and flip a health check that reads it; enable the stage cache (`CacheClusterEnabled`) and cache this method with a short TTL in the stage's `MethodSettings`",
                    path.as_deref().unwrap_or("route")
                ),
            );
        }
    }
}

/// `AWS::ApiGateway::Account` sets the logging role of every API of the account in the region.
/// API Gateway validates the role when the setting is made, and a role or policy created moments
/// before may not have propagated yet; the stages that log need the setting in place
/// (`docs/traps.md#apigateway-account-singleton`).
pub(super) fn check_api_account(t: &Template<'_>, problems: &mut Problems) {
    for account in t.of_type("AWS::ApiGateway::Account") {
        let role = account.properties.get("CloudWatchRoleArn").and_then(|arn| {
            t.referenced_resources(arn)
                .into_iter()
                .find(|r| r.ty == "AWS::IAM::Role")
        });
        let mut first: Vec<&str> = Vec::new();
        if let Some(role) = role {
            first.push(role.id);
            first.extend(policies_of(t, role.id));
        }
        first.extend(t.of_type("AWS::ApiGateway::RestApi").map(|api| api.id));
        let missing: Vec<&str> = first
            .into_iter()
            .filter(|id| !t.creates_before(account.id, id))
            .collect();
        if !missing.is_empty() {
            problems.at(
                account.id,
                "api-account-order",
                format!(
                    "the account settings may be applied before {} exist: API Gateway checks the logging role when they are set and fails with \"The role ARN does not have required permissions\" while the role or its policy is still propagating; add them to `DependsOn` (the role through `CloudWatchRoleArn`)",
                    names(&missing)
                ),
            );
        }
        for stage in t.of_type("AWS::ApiGateway::Stage") {
            if !t.creates_before(stage.id, account.id) {
                problems.at(
                    stage.id,
                    "api-account-order",
                    format!(
                        "the stage may be created before `{}` sets the account's logging role, and a stage that logs then fails (\"CloudWatch Logs role ARN must be set in account settings\"); add `DependsOn: {}`",
                        account.id, account.id
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
      BinaryMediaTypes: [application~1json]
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
        ContentHandling: CONVERT_TO_TEXT
        RequestTemplates:
          application/json: '{"StreamName": "ingest-stream", "PartitionKey": "$context.extendedRequestId", "Data": "$input.body"}'
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
            ContentHandling: CONVERT_TO_TEXT
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

    /// An API whose unsigned `GET /health` reads the stream, answered from the stage cache.
    const CACHED_HEALTH: &str = r#"Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: ingest
  HealthResource:
    Type: AWS::ApiGateway::Resource
    Properties:
      RestApiId: !Ref Api
      ParentId: !GetAtt Api.RootResourceId
      PathPart: health
  HealthMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref HealthResource
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:kinesis:action/ListShards"
        Credentials: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/api"
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [HealthMethod]
    Properties:
      RestApiId: !Ref Api
  Stage:
    Type: AWS::ApiGateway::Stage
    Metadata:
      ingest:
        waf: the web ACL's checks have their own tests
    Properties:
      RestApiId: !Ref Api
      DeploymentId: !Ref Deployment
      StageName: v1
      CacheClusterEnabled: true
      CacheClusterSize: "0.5"
      MethodSettings:
        - ResourcePath: "/*"
          HttpMethod: "*"
          CachingEnabled: false
        - ResourcePath: "/~1health"
          HttpMethod: GET
          ThrottlingRateLimit: 10
          ThrottlingBurstLimit: 20
          CachingEnabled: true
          CacheTtlInSeconds: 10
"#;

    /// The account settings after the role and the API, and the stage after them.
    const ACCOUNT: &str = r#"Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: ingest
  Method:
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
    DependsOn: Method
    Properties:
      RestApiId: !Ref Api
  LogRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: !Sub "apigateway.${AWS::URLSuffix}"
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - !Sub "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
  Account:
    Type: AWS::ApiGateway::Account
    DependsOn: Api
    Properties:
      CloudWatchRoleArn: !GetAtt LogRole.Arn
  Stage:
    Type: AWS::ApiGateway::Stage
    DependsOn: Account
    Metadata:
      ingest:
        waf: the web ACL's checks have their own tests
    Properties:
      RestApiId: !Ref Api
      DeploymentId: !Ref Deployment
      StageName: v1
"#;

    cases! {
        public_stream_read_uncached: "public-stream-read-uncached",
            CACHED_HEALTH.replace("          CachingEnabled: true\n", "          CachingEnabled: false\n"),
            CACHED_HEALTH;
        api_account_order: "api-account-order",
            ACCOUNT.replace("    DependsOn: Api\n", ""), ACCOUNT;
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
        api_body_converted: "api-body-converted",
            API.replace("        ContentHandling: CONVERT_TO_TEXT\n", ""), API;
        client_chosen_partition_key: "client-chosen-partition-key",
            API.replace("$context.extendedRequestId", "$context.requestId"), API;
        public_switch_route: "public-switch-route",
            API.replace("        Type: MOCK\n", S3_READ), API;
        public_read_without_own_throttle: "public-read-without-own-throttle",
            CACHED_HEALTH.replace("          ThrottlingRateLimit: 10\n", ""), CACHED_HEALTH;
    }

    #[test]
    fn every_request_type_must_be_binary_and_every_response_text() {
        let text = API.replace(
            "BinaryMediaTypes: [application~1json]",
            "BinaryMediaTypes: [image~1png]",
        );
        let found = check(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].message.contains("do not list `application/json`"),
            "{}",
            found[0].message
        );
        let text = API.replace("      BinaryMediaTypes: [application~1json]\n", "");
        assert_eq!(codes(&text), ["api-body-converted"]);
        let text = API.replace(
            "  HealthMethod:\n",
            "        IntegrationResponses:\n          - StatusCode: \"200\"\n  HealthMethod:\n",
        );
        let found = check(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].message.contains("integration response 0"),
            "{}",
            found[0].message
        );
    }

    /// An unsigned GET integration that serves an S3 object.
    const S3_READ: &str = r#"        Type: AWS
        IntegrationHttpMethod: GET
        Uri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:s3:path/switches/switch/{flag}"
        Credentials: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/api"
"#;

    #[test]
    fn the_stage_cache_must_exist_and_cover_the_method() {
        // No cache cluster: the method settings cache nothing.
        let text = CACHED_HEALTH.replace("CacheClusterEnabled: true", "CacheClusterEnabled: false");
        assert_eq!(codes(&text), ["public-stream-read-uncached"]);
        // A TTL of 0 disables caching.
        let text = CACHED_HEALTH.replace("CacheTtlInSeconds: 10", "CacheTtlInSeconds: 0");
        assert_eq!(codes(&text), ["public-stream-read-uncached"]);
        // A setting for another path covers neither its cache nor its own throttle; a
        // stage-wide one covers the cache.
        let text = CACHED_HEALTH.replace("\"/~1health\"", "\"/~1status\"");
        assert_eq!(
            codes(&text),
            [
                "public-read-without-own-throttle",
                "public-stream-read-uncached"
            ]
        );
        let text = CACHED_HEALTH
            .replace(
                "          CachingEnabled: false\n",
                "          CachingEnabled: true\n",
            )
            .replace("\"/~1health\"", "\"/~1status\"");
        assert_eq!(codes(&text), ["public-read-without-own-throttle"]);
        // Signed callers are not the public; writes are not cached by design.
        let text = CACHED_HEALTH
            .replace("CacheClusterEnabled: true", "CacheClusterEnabled: false")
            .replace("AuthorizationType: NONE", "AuthorizationType: AWS_IAM");
        assert!(codes(&text).is_empty());
        let text = CACHED_HEALTH
            .replace("CacheClusterEnabled: true", "CacheClusterEnabled: false")
            .replace("action/ListShards", "action/PutRecord");
        // (A write without a request template passes the client's body, partition key
        // included, to Kinesis, and this API takes it as text.)
        assert_eq!(
            codes(&text),
            ["api-body-converted", "client-chosen-partition-key"]
        );
        // The message names the route and the call.
        let found = check(&CACHED_HEALTH.replace("CacheTtlInSeconds: 10", "CacheTtlInSeconds: 0"));
        assert!(
            found[0]
                .message
                .contains("GET /health calls Kinesis ListShards"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn account_waits_for_the_role_policies_and_stages_wait_for_it() {
        let policy = "  LogPolicy:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyName: logs\n      Roles: [!Ref LogRole]\n      PolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n          - Effect: Allow\n            Action: logs:PutLogEvents\n            Resource: \"*\"\n";
        let text = format!("{ACCOUNT}{policy}");
        let found = check(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].message.contains("`LogPolicy`"),
            "{}",
            found[0].message
        );
        let text =
            format!("{ACCOUNT}{policy}").replace("DependsOn: Api", "DependsOn: [Api, LogPolicy]");
        assert!(codes(&text).is_empty(), "{:#?}", check(&text));
        // The stage before the account.
        let text = ACCOUNT.replace("    DependsOn: Account\n", "");
        let found = check(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].resource.as_deref(), Some("Stage"));
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
