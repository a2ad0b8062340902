//! The end-of-deploy probe: each regional API's read routes called through API Gateway's
//! `TestInvokeMethod`, which runs the method and its integration (with the integration's own
//! credentials role) without going through DNS, the custom domain or the health checkers.
//!
//! A deploy can succeed while every AWS-service integration answers 500 because API Gateway may
//! not assume the integration role (`docs/traps.md#apigateway-integration-role-trust`): the
//! probe calls `GET /health` (the stream) and fails the deploy unless it answers 2xx, quoting
//! the answer and the log line that says why. (`TestInvokeMethod` runs the method without the
//! stage's web ACL, which admits only Route 53's checkers to the health route.)

use std::collections::BTreeMap;

use super::{Call, Cloud, CloudError};

/// Outputs of a regional stack that name a route to probe (the stage URL plus the path).
const PROBED_OUTPUTS: [&str; 1] = ["HealthUrl"];

/// One route to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The output that named it.
    pub output: String,
    /// The path below the stage (`/health`, `/switch/primary`).
    pub path: String,
}

/// What one call answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProbeResult {
    /// The stack.
    pub stack: String,
    /// The method and path (`GET /health`).
    pub route: String,
    /// The status the method answered.
    pub status: i32,
    /// The start of its body.
    pub body: String,
    /// The log lines that explain a failure (execution errors), if any.
    pub reason: Option<String>,
}

impl ProbeResult {
    /// Whether the route works.
    pub fn passed(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The routes of a regional stack to probe, from its outputs (`ApiEndpoint` is the stage URL).
pub fn routes(outputs: &BTreeMap<String, String>) -> Vec<Route> {
    let Some(stage_url) = outputs.get("ApiEndpoint") else {
        return Vec::new();
    };
    outputs
        .iter()
        .filter(|(key, _)| PROBED_OUTPUTS.iter().any(|probed| key.starts_with(probed)))
        .filter_map(|(key, url)| {
            let path = url.strip_prefix(stage_url.trim_end_matches('/'))?;
            path.starts_with('/').then(|| Route {
                output: key.clone(),
                path: path.to_owned(),
            })
        })
        .collect()
}

/// Calls each route of `stack` (with API `api_id` in `region`) through `TestInvokeMethod`.
pub async fn probe(
    cloud: &Cloud,
    region: &str,
    stack: &str,
    api_id: &str,
    routes: &[Route],
) -> Result<Vec<ProbeResult>, CloudError> {
    let client = cloud.apigateway(region);
    let mut resources: Vec<(String, String)> = Vec::new();
    let mut position: Option<String> = None;
    loop {
        let page = client
            .get_resources()
            .rest_api_id(api_id)
            .limit(500)
            .set_position(position.take())
            .send()
            .await
            .map_err(|e| cloud.error(Call::new("apigateway", "GetResources", region), e))?;
        for item in page.items() {
            if let (Some(id), Some(path)) = (item.id(), item.path()) {
                resources.push((path.to_owned(), id.to_owned()));
            }
        }
        match page.position() {
            Some(next) if !next.is_empty() && !page.items().is_empty() => {
                position = Some(next.to_owned());
            }
            _ => break,
        }
    }
    let mut results = Vec::new();
    for route in routes {
        let Some((_, resource_id)) = resources
            .iter()
            .find(|(template, _)| path_matches(template, &route.path))
        else {
            results.push(ProbeResult {
                stack: stack.to_owned(),
                route: format!("GET {}", route.path),
                status: 404,
                body: String::new(),
                reason: Some(format!("the API has no resource for {}", route.path)),
            });
            continue;
        };
        let answer = client
            .test_invoke_method()
            .rest_api_id(api_id)
            .resource_id(resource_id)
            .http_method("GET")
            .path_with_query_string(&route.path)
            .send()
            .await
            .map_err(|e| cloud.error(Call::new("apigateway", "TestInvokeMethod", region), e))?;
        let body: String = answer.body().unwrap_or("").chars().take(200).collect();
        let reason = answer.log().and_then(failure_lines);
        results.push(ProbeResult {
            stack: stack.to_owned(),
            route: format!("GET {}", route.path),
            status: answer.status(),
            body,
            reason,
        });
    }
    Ok(results)
}

/// Whether a concrete path matches a resource path template (`/switch/{flag}`).
pub fn path_matches(template: &str, path: &str) -> bool {
    let template: Vec<&str> = template.trim_matches('/').split('/').collect();
    let path: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or("")
        .trim_matches('/')
        .split('/')
        .collect();
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// The lines of a `TestInvokeMethod` log that say why the integration failed.
fn failure_lines(log: &str) -> Option<String> {
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| {
            let line = line.to_ascii_lowercase();
            line.contains("execution failed")
                || line.contains("does not have permission")
                || line.contains("error")
        })
        .map(|line| {
            // "Mon Dec 01 20:00:00 UTC 2026 : Execution failed ..." -> the message.
            line.split_once(" : ")
                .map_or(line, |(_, message)| message)
                .trim()
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join(" / "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_come_from_the_outputs_below_the_stage() {
        let outputs: BTreeMap<String, String> = [
            (
                "ApiEndpoint",
                "https://a1.execute-api.us-west-2.amazonaws.com/v1",
            ),
            (
                "HealthUrl",
                "https://a1.execute-api.us-west-2.amazonaws.com/v1/health",
            ),
            (
                "SwitchUrlPrimary",
                "https://a1.execute-api.us-west-2.amazonaws.com/v1/switch/primary",
            ),
            ("EventsUrl", "https://ingest.example.com/events"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let paths: Vec<String> = routes(&outputs).into_iter().map(|r| r.path).collect();
        assert_eq!(
            paths,
            ["/health"],
            "the drain switches have no route any more"
        );
    }

    #[test]
    fn templates_match_concrete_paths() {
        assert!(path_matches("/switch/{flag}", "/switch/primary"));
        assert!(path_matches("/health", "/health"));
        assert!(!path_matches("/switch/{flag}", "/switch"));
        assert!(!path_matches("/health", "/events"));
    }

    #[test]
    fn the_log_line_that_explains_is_kept() {
        let log = "Execution log for request x\nMon Dec 01 20:00:00 UTC 2026 : Starting execution\n\
                   Mon Dec 01 20:00:00 UTC 2026 : Execution failed due to configuration error: API Gateway does not have permission to assume the provided role arn:aws:iam::1:role/r\n";
        assert_eq!(
            failure_lines(log).as_deref(),
            Some(
                "Execution failed due to configuration error: API Gateway does not have permission to assume the provided role arn:aws:iam::1:role/r"
            )
        );
        assert_eq!(
            failure_lines("Starting execution\nSuccessfully completed"),
            None
        );
    }
}
