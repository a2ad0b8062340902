//! The HTTP side: each region's API as API Gateway answers it, and the domain (the weighted
//! split among the regions DNS answers with, and the lever).

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use tokio::sync::Notify;

use super::super::local::{LocalServices, Rng, Role, exceeds_event_limit};
use super::{DevLimits, LogSink, RequestCounts, lock};
use crate::envelope::CONTENT_TYPES;

/// Which port a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Domain,
    Region(Role),
}

/// What the HTTP side and the pipeline share.
pub(super) struct Front {
    pub(super) services: LocalServices,
    pub(super) failover_automatic: bool,
    pub(super) drained: Mutex<[bool; 2]>,
    pub(super) rng: Mutex<Rng>,
    pub(super) requests: Mutex<RequestCounts>,
    /// Rung on every accepted record and lever pull: the pipeline wakes at once.
    pub(super) wake: Notify,
    pub(super) log: LogSink,
    /// Lines logged by the HTTP side (lever pulls) and by stopping, with their times, until
    /// the pipeline's thread writes them in time order with its batch lines.
    pub(super) pending_log: Mutex<Vec<(DateTime<Utc>, String)>>,
    pub(super) limits: DevLimits,
}

/// The request header a lever pull must carry. It is not one a browser lets a page of another
/// origin send without a CORS preflight, which this server never grants, so a web page cannot
/// pull the lever through the user's browser (cross-site request forgery); curl and scripts
/// just add it.
pub const LEVER_HEADER: &str = "x-ingest-lever";

/// Whether `host` (a `Host` header) names this server: `127.0.0.1:<port>` or
/// `localhost:<port>`. Anything else is refused on every port: a page whose DNS name was
/// rebound to 127.0.0.1 sends its own name, and must not read or pull anything here.
fn is_own_host(host: &str, port: u16) -> bool {
    let host = host.trim();
    host.rsplit_once(':').is_some_and(|(name, p)| {
        p.parse::<u16>() == Ok(port)
            && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
    })
}

/// Why a lever pull is refused as coming from a web page rather than from its operator, if it
/// is: an `Origin` other than this server's, a `Sec-Fetch-Site` other than `same-origin` or
/// `none` (browsers send both), or no [`LEVER_HEADER`].
fn cross_origin_pull(headers: &hyper::HeaderMap, port: u16) -> Option<String> {
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
    };
    if let Some(origin) = text("origin") {
        let own = [
            format!("http://127.0.0.1:{port}"),
            format!("http://localhost:{port}"),
        ];
        if !own.iter().any(|o| o.eq_ignore_ascii_case(&origin)) {
            return Some(format!(
                "a lever pull from the web page at {origin} is refused"
            ));
        }
    }
    if let Some(site) = text("sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return Some(format!("a lever pull from a {site} web page is refused"));
    }
    if !headers.contains_key(LEVER_HEADER) {
        return Some(
            "a lever pull must carry the header `X-Ingest-Lever: 1` (curl -X POST -H 'X-Ingest-Lever: 1' ...), which web pages cannot send".to_owned(),
        );
    }
    None
}

fn index(role: Role) -> usize {
    match role {
        Role::Primary => 0,
        Role::Secondary => 1,
    }
}

pub(super) type Answer = Response<Full<Bytes>>;

fn answer(status: StatusCode, body: &serde_json::Value) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn method_not_allowed(allow: &'static str) -> Answer {
    let mut response = answer(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({"error": "method_not_allowed", "allow": allow}),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

impl Front {
    /// Logs a line now; it is written with the next batch lines, in time order.
    pub(super) fn log(&self, line: &str) {
        let mut pending = lock(&self.pending_log);
        // The time is taken under the lock, so a line taken out by `write_log` is never later
        // than one left in.
        pending.push((Utc::now(), line.to_owned()));
    }

    /// Writes the pending lines and `lines` (each with the time it is about), in time order.
    pub(super) fn write_log(&self, mut lines: Vec<(DateTime<Utc>, String)>) {
        lines.append(&mut lock(&self.pending_log));
        lines.sort_by_key(|(at, _)| *at);
        for (at, line) in lines {
            (self.log)(&format!("{} {line}", at.format("%H:%M:%S%.3f")));
        }
    }

    /// An id like API Gateway's `$context.requestId`, which is also the partition key.
    fn request_id(&self) -> String {
        let (a, b) = {
            let mut rng = lock(&self.rng);
            (rng.next_u64(), rng.next_u64())
        };
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    fn in_dns(&self, role: Role) -> bool {
        let drained = lock(&self.drained)[index(role)];
        let unhealthy = self.failover_automatic && self.services.is_down(role);
        !drained && !unhealthy
    }

    /// The region DNS answers with: by weight among those in DNS, or among all when none is.
    fn pick(&self) -> Role {
        let mut candidates: Vec<Role> =
            Role::BOTH.into_iter().filter(|r| self.in_dns(*r)).collect();
        if candidates.is_empty() {
            candidates = Role::BOTH.to_vec();
        }
        let weight = |r: &Role| self.services.settings.region(*r).weight;
        let total: u64 = candidates.iter().map(weight).sum();
        let mut rng = lock(&self.rng);
        if total == 0 {
            let at = usize::try_from(rng.below(candidates.len() as u64)).unwrap_or(0);
            return candidates[at];
        }
        let mut draw = rng.below(total);
        for role in &candidates {
            if draw < weight(role) {
                return *role;
            }
            draw -= weight(role);
        }
        candidates[0]
    }

    fn lever_state(&self) -> serde_json::Value {
        let drained = *lock(&self.drained);
        let mut state = serde_json::Map::new();
        for role in Role::BOTH {
            let region = self.services.settings.region(role);
            state.insert(
                role.as_str().to_owned(),
                json!({
                    "region": region.region,
                    "weight": region.weight,
                    "down": self.services.is_down(role),
                    "drained": drained[index(role)],
                    "in_dns": self.in_dns(role),
                }),
            );
        }
        state.insert(
            "failover_automatic".to_owned(),
            json!(self.failover_automatic),
        );
        serde_json::Value::Object(state)
    }

    /// Answers a request that came to `endpoint`, listening on 127.0.0.1:`port`.
    pub(super) async fn handle(
        &self,
        endpoint: Endpoint,
        port: u16,
        request: Request<Incoming>,
    ) -> Answer {
        let path = request.uri().path().to_owned();
        let method = request.method().clone();
        let host = request
            .headers()
            .get(HOST)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if !host.as_deref().is_some_and(|h| is_own_host(h, port)) {
            return answer(
                StatusCode::FORBIDDEN,
                &json!({
                    "error": "forbidden_host",
                    "message": format!("this server answers requests for 127.0.0.1:{port} and localhost:{port} only, not {}", host.as_deref().unwrap_or("a request without a Host header")),
                }),
            );
        }
        match (endpoint, path.as_str()) {
            (_, "/events") if method != Method::POST => method_not_allowed("POST"),
            (_, "/health") if method != Method::GET => method_not_allowed("GET"),
            (Endpoint::Region(role), "/events") => self.put(role, request).await,
            (Endpoint::Region(role), "/health") => self.health(role),
            (Endpoint::Domain, "/events") => {
                let role = self.pick();
                self.put(role, request).await
            }
            (Endpoint::Domain, "/health") => self.health(self.pick()),
            (Endpoint::Domain, "/lever") if method != Method::GET => method_not_allowed("GET"),
            (Endpoint::Domain, "/lever") => answer(StatusCode::OK, &self.lever_state()),
            (Endpoint::Domain, lever) if lever.starts_with("/lever/") => {
                if method != Method::POST {
                    return method_not_allowed("POST");
                }
                if let Some(why) = cross_origin_pull(request.headers(), port) {
                    self.log(&format!("lever: refused {method} {lever}: {why}"));
                    return answer(
                        StatusCode::FORBIDDEN,
                        &json!({"error": "forbidden", "message": why}),
                    );
                }
                self.pull(&lever["/lever/".len()..])
            }
            _ => {
                let mut routes = vec!["POST /events", "GET /health"];
                if endpoint == Endpoint::Domain {
                    routes.extend([
                        "GET /lever",
                        "POST /lever/{drain,restore,outage,recover}/{primary,secondary}",
                    ]);
                }
                answer(
                    StatusCode::NOT_FOUND,
                    &json!({"error": "not_found", "routes": routes}),
                )
            }
        }
    }

    fn with_region(&self, role: Role, mut response: Answer) -> Answer {
        let region = &self.services.settings.region(role).region;
        if let Ok(value) = HeaderValue::from_str(region) {
            response.headers_mut().insert("x-ingest-region", value);
        }
        if let Ok(value) = HeaderValue::from_str(role.as_str()) {
            response.headers_mut().insert("x-ingest-role", value);
        }
        response
    }

    fn health(&self, role: Role) -> Answer {
        let response = if self.services.is_down(role) {
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "unavailable"}),
            )
        } else {
            answer(StatusCode::OK, &json!({"status": "ok"}))
        };
        self.with_region(role, response)
    }

    /// `POST /events`: the API Gateway integration in front of `PutRecord`.
    async fn put(&self, role: Role, request: Request<Incoming>) -> Answer {
        let request_id = self.request_id();
        let max = self.services.settings.max_event_bytes;
        let refuse = |status: StatusCode, body: serde_json::Value| {
            let mut counts = lock(&self.requests);
            match status {
                StatusCode::PAYLOAD_TOO_LARGE => counts.too_large += 1,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => counts.unsupported_media_type += 1,
                StatusCode::SERVICE_UNAVAILABLE => counts.unavailable += 1,
                _ => counts.bad_request += 1,
            }
            self.with_region(role, answer(status, &body))
        };
        let too_large =
            || json!({"error": "payload_too_large", "maxEventBytes": max, "requestId": request_id});
        // API Gateway takes a request without a content type as JSON.
        let media_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_else(|| "application/json".to_owned());
        if !CONTENT_TYPES.contains(&media_type.as_str()) {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({"error": "unsupported_media_type", "contentTypes": CONTENT_TYPES, "requestId": request_id}),
            );
        }
        // The limit counts bytes, as the API's template does: nothing longer is read.
        let limit = max;
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large());
        }
        let collect = Limited::new(request.into_body(), limit).collect();
        let Ok(collected) = tokio::time::timeout(self.limits.body_read_timeout, collect).await
        else {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                json!({"error": "request_timeout", "message": format!("the body did not arrive within {} s", self.limits.body_read_timeout.as_secs_f64()), "requestId": request_id}),
            );
        };
        let body = match collected {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large());
            }
            Err(error) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "unreadable_body", "message": error.to_string(), "requestId": request_id}),
                );
            }
        };
        if body.is_empty() {
            return refuse(
                StatusCode::BAD_REQUEST,
                json!({"error": "empty_body", "message": "POST one CloudEvent or a JSON array of them", "requestId": request_id}),
            );
        }
        if exceeds_event_limit(&body, max) {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large());
        }
        match self.services.stream(role).put_record(&body, &request_id) {
            Ok((shard, sequence)) => {
                *lock(&self.requests)
                    .accepted
                    .entry(role.as_str().to_owned())
                    .or_default() += 1;
                self.wake.notify_one();
                self.with_region(
                    role,
                    answer(
                        StatusCode::OK,
                        &json!({
                            "accepted": true,
                            "requestId": request_id,
                            "shardId": super::super::local::shard_id(shard),
                            "sequenceNumber": sequence,
                        }),
                    ),
                )
            }
            Err(_) => refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "unavailable", "retry": true, "requestId": request_id}),
            ),
        }
    }

    /// `POST /lever/<action>/<role>`.
    fn pull(&self, rest: &str) -> Answer {
        let (action, role) = rest.split_once('/').unwrap_or((rest, ""));
        let role = match role {
            "primary" => Role::Primary,
            "secondary" => Role::Secondary,
            _ => {
                return answer(
                    StatusCode::NOT_FOUND,
                    &json!({"error": "not_found", "message": "the region is `primary` or `secondary`"}),
                );
            }
        };
        match action {
            "drain" => {
                let mut drained = lock(&self.drained);
                if drained[index(role.other())] {
                    return answer(
                        StatusCode::CONFLICT,
                        &json!({
                            "error": "refused",
                            "message": format!("the {} region is drained: draining both is refused, as Route 53 fails open when every record is unhealthy", role.other().as_str()),
                        }),
                    );
                }
                drained[index(role)] = true;
            }
            "restore" => lock(&self.drained)[index(role)] = false,
            "outage" => self.services.set_down(role, true),
            "recover" => self.services.set_down(role, false),
            _ => {
                return answer(
                    StatusCode::NOT_FOUND,
                    &json!({"error": "not_found", "message": "the lever's actions are drain, restore, outage and recover"}),
                );
            }
        }
        self.log(&format!(
            "lever: {action} {} ({})",
            role.as_str(),
            self.services.settings.region(role).region
        ));
        self.wake.notify_one();
        answer(StatusCode::OK, &self.lever_state())
    }
}
