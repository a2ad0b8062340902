//! `ingest dev`: both regions on loopback, with the real handlers and the spec's validators, on
//! the wall clock (feature `dev`).
//!
//! ```text
//!  domain    127.0.0.1:4780  POST /events, GET /health: Route 53's weighted split
//!                            POST /lever/{drain,restore,outage,recover}/{primary,secondary}, GET /lever
//!  primary   127.0.0.1:4781  POST /events, GET /health  --> stream --> validator --> good, quarantine
//!  secondary 127.0.0.1:4782  POST /events, GET /health  --> stream --> receiver --> spool
//!                                                           spool --> queue --> bridge --> validator
//! ```
//!
//! Design:
//!
//! - **The same wiring as the drill.** Both regions are a [`LocalServices`] and a
//!   [`LocalPipeline`] built from the spec's numbers ([`DevConfig`], written by `ingest dev`
//!   from the plan), with [`Clock::Wall`] instead of the drill's simulated clock: the spool
//!   buffers for its real seconds, a failed bridge message waits out its real visibility
//!   timeout. Buckets are folders under `--out` (`<out>/<bucket>/<key>`, the stacks' bucket
//!   names and the real key layout).
//! - **HTTP like the deployed API Gateway** (`templates/partials/api.yaml.tera`): one request
//!   is one `PutRecord` whose partition key is the request id; 200 with the shard and sequence
//!   number, 413 for a body over `api.max_event_bytes` characters, 415 for a content type
//!   without a mapping template, 503 when the stream is down; `GET /health` is 200 while the
//!   region's stream is up, else 503. An empty body is refused with 400: it holds no event.
//!   Unknown paths are 404, other methods 405.
//! - **The domain and the lever.** A third port stands for the domain: each request goes to a
//!   region picked by weight among the regions DNS would answer with (undrained, and healthy
//!   when failover is automatic; every region when none is, as Route 53 fails open), and
//!   names it in `x-ingest-region`. Health is seen at once here, where Route 53 takes
//!   `interval x threshold`. The lever routes drain and restore a region (draining both is
//!   refused, see `docs/architecture.md#the-lever`) and take a region down or bring it back (its
//!   stream, its buckets, and for the primary the validator as the bridge's target).
//! - **Threads.** HTTP runs on a one-worker tokio runtime; the pipeline runs on the thread that
//!   drives it and sleeps until a record arrives, the spool or a message is due, or a second
//!   has passed. Each handler batch and spool object is one line of [`DevOptions::log`]
//!   (`12:00:01.250 us-east-1 primary validator shardId-000000000003: records=2 good=1
//!   quarantined=1 failed=0 0.4ms`), stamped with the time it started.
//! - **Stopping** (SIGINT, SIGTERM, or [`DevServer::stop`]): the ports close after the
//!   requests in flight; outages end; the spool is flushed and the queue's messages made
//!   visible until everything accepted is in good or quarantine (or nothing moves any more);
//!   then the [`DevSummary`] says what was accepted, written, and left (nothing, normally).

use std::convert::Infallible;
use std::ffi::OsString;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{Notify, watch};

use super::local::{
    BatchLog, Clock, LocalPipeline, LocalServices, LocalStore, PipelineSettings, Rng, Role, Stage,
    exceeds_event_limit,
};
use crate::envelope::Registry;

/// The domain's default port.
pub const DEFAULT_DOMAIN_PORT: u16 = 4780;
/// The primary's default port.
pub const DEFAULT_PRIMARY_PORT: u16 = 4781;
/// The secondary's default port.
pub const DEFAULT_SECONDARY_PORT: u16 = 4782;

/// The content types the API has a mapping template for (others get 415).
pub const CONTENT_TYPES: [&str; 3] = [
    "application/json",
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
];

/// How long the pipeline sleeps at most when nothing is due.
const IDLE: Duration = Duration::from_secs(1);
/// How long it sleeps at least when something is overdue but cannot go on (a spool object
/// that cannot be written while its bucket is down).
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// How long stopping waits for requests in flight.
const GRACE: Duration = Duration::from_secs(5);
/// How long stopping drains at most.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

fn default_content_types() -> Vec<String> {
    CONTENT_TYPES.iter().map(|t| (*t).to_owned()).collect()
}

/// The spec's numbers `ingest dev` runs with (written by `ingest dev` from the plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevConfig {
    /// Both regions' numbers.
    #[serde(flatten)]
    pub pipeline: PipelineSettings,
    /// Whether health checks take an unhealthy region out of DNS.
    pub failover_automatic: bool,
    /// Content types with a mapping template.
    #[serde(default = "default_content_types")]
    pub content_types: Vec<String>,
}

/// Where log lines go.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Log lines to standard error.
pub fn stderr_log() -> LogSink {
    Arc::new(|line: &str| eprintln!("{line}"))
}

/// How to run.
#[derive(Clone)]
pub struct DevOptions {
    /// Where the buckets' folders go.
    pub out: PathBuf,
    /// The domain's port (0: any free port).
    pub domain_port: u16,
    /// The primary's port (0: any free port).
    pub primary_port: u16,
    /// The secondary's port (0: any free port).
    pub secondary_port: u16,
    /// Stop on SIGINT and SIGTERM.
    pub stop_on_signals: bool,
    /// Where a line per handler batch and per lever pull goes.
    pub log: LogSink,
}

impl fmt::Debug for DevOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevOptions")
            .field("out", &self.out)
            .field("domain_port", &self.domain_port)
            .field("primary_port", &self.primary_port)
            .field("secondary_port", &self.secondary_port)
            .field("stop_on_signals", &self.stop_on_signals)
            .finish_non_exhaustive()
    }
}

impl DevOptions {
    /// The default ports, signals, logs to standard error.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        DevOptions {
            out: out.into(),
            domain_port: DEFAULT_DOMAIN_PORT,
            primary_port: DEFAULT_PRIMARY_PORT,
            secondary_port: DEFAULT_SECONDARY_PORT,
            stop_on_signals: true,
            log: stderr_log(),
        }
    }
}

/// Where the ports are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevAddresses {
    /// The domain (weighted split, lever).
    pub domain: SocketAddr,
    /// The primary region's API.
    pub primary: SocketAddr,
    /// The secondary region's API.
    pub secondary: SocketAddr,
}

impl DevAddresses {
    /// A region's address.
    pub fn region(&self, role: Role) -> SocketAddr {
        match role {
            Role::Primary => self.primary,
            Role::Secondary => self.secondary,
        }
    }
}

/// Why `ingest dev` could not start.
#[derive(Debug)]
pub enum DevError {
    /// A port could not be bound.
    Listen {
        /// Which port.
        what: &'static str,
        /// The port asked for.
        port: u16,
        /// Why.
        error: std::io::Error,
    },
    /// The output folder, the runtime or the thread could not be made.
    Io(std::io::Error),
}

impl fmt::Display for DevError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DevError::Listen { what, port, error } => {
                write!(f, "cannot listen on 127.0.0.1:{port} ({what}): {error}")
            }
            DevError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for DevError {}

/// Requests answered, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// Accepted (200), by region role.
    pub accepted: std::collections::BTreeMap<String, u64>,
    /// Refused with 413: over `api.max_event_bytes`.
    pub too_large: u64,
    /// Refused with 400: an empty or unreadable body.
    pub bad_request: u64,
    /// Refused with 415: a content type without a mapping template.
    pub unsupported_media_type: u64,
    /// Refused with 503: the region's stream is down.
    pub unavailable: u64,
}

/// What is left when `ingest dev` stops: all zero when everything accepted was delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// Records the validator has not processed.
    pub primary_stream: usize,
    /// Records the receiver has not processed.
    pub secondary_stream: usize,
    /// Records buffered in the spool.
    pub spool_buffered: usize,
    /// Spool notifications the bridge has not finished.
    pub queue_messages: usize,
    /// Spool notifications in the DLQ (their objects stay in the spool bucket).
    pub dead_letters: usize,
    /// Records the primary's mapping sent to its on-failure destination.
    pub parked: usize,
}

impl Pending {
    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        *self == Pending::default()
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DevSummary {
    /// Requests answered.
    pub requests: RequestCounts,
    /// Handler invocations.
    pub batches: u64,
    /// Good lines written (a retried batch writes its lines again).
    pub good: u64,
    /// Quarantine lines written.
    pub quarantined: u64,
    /// Spool objects written.
    pub spool_objects: u64,
    /// What is left.
    pub pending: Pending,
    /// Where the buckets are.
    pub out: PathBuf,
}

impl DevSummary {
    /// Whether everything accepted reached good or quarantine.
    pub fn delivered(&self) -> bool {
        self.pending.is_empty()
    }

    /// The summary as printed when `ingest dev` stops.
    pub fn render(&self) -> String {
        let r = &self.requests;
        let accepted: u64 = r.accepted.values().sum();
        let by_role: Vec<String> = r.accepted.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let refused = r.too_large + r.bad_request + r.unsupported_media_type;
        let mut text = format!(
            "stopped: {} accepted ({}), {refused} refused ({} too large, {} bad, {} unsupported type), {} unavailable\n",
            count(accepted, "request"),
            if by_role.is_empty() {
                "none".to_owned()
            } else {
                by_role.join(", ")
            },
            r.too_large,
            r.bad_request,
            r.unsupported_media_type,
            r.unavailable,
        );
        text.push_str(&format!(
            "wrote: {}, {}, {} in {}, under {}\n",
            count(self.good, "good line"),
            count(self.quarantined, "quarantine line"),
            count(self.spool_objects, "spool object"),
            count(self.batches, "handler batch"),
            self.out.display()
        ));
        if self.delivered() {
            text.push_str("delivered: everything accepted is in good or quarantine\n");
        } else {
            let p = &self.pending;
            let parts: Vec<String> = [
                (p.primary_stream, "records in the primary's stream"),
                (p.secondary_stream, "records in the secondary's stream"),
                (p.spool_buffered, "records in the spool's buffer"),
                (p.queue_messages, "spool notifications in the queue"),
                (p.dead_letters, "spool notifications in the DLQ"),
                (p.parked, "records parked by the primary's mapping"),
            ]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
            text.push_str(&format!("not delivered: {}\n", parts.join(", ")));
        }
        text
    }
}

/// `1 request`, `2 requests`, `1 handler batch`, `2 handler batches`.
fn count(n: u64, what: &str) -> String {
    let plural = if what.ends_with("ch") { "es" } else { "s" };
    format!("{n} {what}{}", if n == 1 { "" } else { plural })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Which port a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Domain,
    Region(Role),
}

/// What the HTTP side and the pipeline share.
struct Front {
    services: LocalServices,
    failover_automatic: bool,
    content_types: Vec<String>,
    drained: Mutex<[bool; 2]>,
    rng: Mutex<Rng>,
    requests: Mutex<RequestCounts>,
    /// Rung on every accepted record and lever pull: the pipeline wakes at once.
    wake: Notify,
    log: LogSink,
}

fn index(role: Role) -> usize {
    match role {
        Role::Primary => 0,
        Role::Secondary => 1,
    }
}

type Answer = Response<Full<Bytes>>;

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
    fn log(&self, line: &str) {
        (self.log)(&format!("{} {line}", Utc::now().format("%H:%M:%S%.3f")));
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

    async fn handle(&self, endpoint: Endpoint, request: Request<Incoming>) -> Answer {
        let path = request.uri().path().to_owned();
        let method = request.method().clone();
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
        if !self.content_types.contains(&media_type) {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({"error": "unsupported_media_type", "contentTypes": self.content_types, "requestId": request_id}),
            );
        }
        // A body of more than 4 bytes per allowed character is too large whatever it holds,
        // so nothing longer is read.
        let limit = max.saturating_mul(4).saturating_add(4);
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large());
        }
        let body = match Limited::new(request.into_body(), limit).collect().await {
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
                            "shardId": super::local::shard_id(shard),
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

/// A handler batch as one log line.
fn batch_line(settings: &PipelineSettings, log: &BatchLog) -> String {
    let role = log.stage.role();
    let mut line = format!(
        "{} {} {} {}",
        log.at.format("%H:%M:%S%.3f"),
        settings.region(role).region,
        role.as_str(),
        log.stage.as_str()
    );
    if let Some(shard) = &log.shard {
        line.push(' ');
        line.push_str(shard);
    }
    match log.stage {
        Stage::Validator => line.push_str(&format!(
            ": records={} good={} quarantined={} failed={}",
            log.records, log.good, log.quarantined, log.failed
        )),
        Stage::Receiver => line.push_str(&format!(
            ": records={} spooled={} failed={}",
            log.records, log.spooled, log.failed
        )),
        Stage::Spool => line.push_str(&format!(": records={} object written", log.records)),
        Stage::Bridge => line.push_str(&format!(
            ": messages={} good={} quarantined={} failed={}",
            log.records, log.good, log.quarantined, log.failed
        )),
    }
    line.push_str(&format!(" {:.1}ms", log.duration.as_secs_f64() * 1000.0));
    if let Some(error) = &log.error {
        line.push_str(&format!(" ({error})"));
    }
    if let Some(seconds) = log.paced_seconds {
        line.push_str(&format!("; failed messages come back within {seconds} s"));
    }
    line
}

/// A running `ingest dev`: stops (and drains) when dropped.
#[derive(Debug)]
pub struct DevServer {
    addresses: DevAddresses,
    stop: Arc<watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<DevSummary>>,
}

impl DevServer {
    /// Binds the three ports on 127.0.0.1 and starts serving and running the pipeline on a
    /// thread of its own.
    pub fn start(
        registry: &'static Registry,
        config: DevConfig,
        options: DevOptions,
    ) -> Result<DevServer, DevError> {
        let bind = |what: &'static str, port: u16| {
            let listener = StdListener::bind((Ipv4Addr::LOCALHOST, port))
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|error| DevError::Listen { what, port, error })?;
            let address =
                listener
                    .local_addr()
                    .map_err(|error| DevError::Listen { what, port, error })?;
            Ok::<_, DevError>((listener, address))
        };
        let (domain, domain_address) = bind("the domain, --port", options.domain_port)?;
        let (primary, primary_address) = bind("the primary, --primary-port", options.primary_port)?;
        let (secondary, secondary_address) =
            bind("the secondary, --secondary-port", options.secondary_port)?;
        let addresses = DevAddresses {
            domain: domain_address,
            primary: primary_address,
            secondary: secondary_address,
        };
        std::fs::create_dir_all(&options.out).map_err(DevError::Io)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ingest-dev-http")
            .enable_io()
            .enable_time()
            .build()
            .map_err(DevError::Io)?;
        let (stop, stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let listeners = vec![
            (Endpoint::Domain, domain),
            (Endpoint::Region(Role::Primary), primary),
            (Endpoint::Region(Role::Secondary), secondary),
        ];
        let signal_stop = options.stop_on_signals.then(|| Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("ingest-dev".to_owned())
            .spawn(move || {
                runtime.block_on(serve(
                    registry,
                    config,
                    options,
                    listeners,
                    stopped,
                    signal_stop,
                ))
            })
            .map_err(DevError::Io)?;
        Ok(DevServer {
            addresses,
            stop,
            thread: Some(thread),
        })
    }

    /// Where the ports are bound.
    pub fn addresses(&self) -> DevAddresses {
        self.addresses
    }

    /// Stops serving, drains, and returns the summary.
    pub fn stop(mut self) -> DevSummary {
        self.stop.send_replace(true);
        self.join()
    }

    /// Waits until a signal stops it (with `stop_on_signals`), then returns the summary.
    pub fn wait(mut self) -> DevSummary {
        self.join()
    }

    fn join(&mut self) -> DevSummary {
        self.thread
            .take()
            .map(|thread| thread.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop.send_replace(true);
            self.join();
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn signalled() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Accepts connections until told to stop, then lets the requests in flight finish.
async fn accept(
    front: Arc<Front>,
    endpoint: Endpoint,
    listener: StdListener,
    mut stopped: watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let front = Arc::clone(&front);
                let service = service_fn(move |request| {
                    let front = Arc::clone(&front);
                    async move { Ok::<_, Infallible>(front.handle(endpoint, request).await) }
                });
                let connection = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::spawn(graceful.watch(connection));
            }
            changed = stopped.changed() => {
                if changed.is_err() || *stopped.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
}

struct Totals<'a> {
    front: &'a Front,
    summary: DevSummary,
}

impl Totals<'_> {
    fn record(&mut self, logs: Vec<BatchLog>) {
        for log in logs {
            match log.stage {
                Stage::Spool => self.summary.spool_objects += 1,
                _ => self.summary.batches += 1,
            }
            self.summary.good += log.good as u64;
            self.summary.quarantined += log.quarantined as u64;
            // The s3:TestEvent S3 sends when the notification is set up is not news.
            if log.stage == Stage::Bridge && log.test_events == log.records {
                continue;
            }
            (self.front.log)(&batch_line(&self.front.services.settings, &log));
        }
    }
}

async fn serve(
    registry: &'static Registry,
    config: DevConfig,
    options: DevOptions,
    listeners: Vec<(Endpoint, StdListener)>,
    mut stopped: watch::Receiver<bool>,
    signal_stop: Option<Arc<watch::Sender<bool>>>,
) -> DevSummary {
    let front = Arc::new(Front {
        services: LocalServices::new(config.pipeline, Clock::Wall, LocalStore::dir(&options.out)),
        failover_automatic: config.failover_automatic,
        content_types: config.content_types,
        drained: Mutex::new([false; 2]),
        rng: Mutex::new(Rng::new(
            u64::try_from(Utc::now().timestamp_nanos_opt().unwrap_or_default()).unwrap_or(1)
                ^ u64::from(std::process::id()),
        )),
        requests: Mutex::new(RequestCounts::default()),
        wake: Notify::new(),
        log: Arc::clone(&options.log),
    });
    if let Some(stop) = signal_stop {
        tokio::spawn(async move {
            signalled().await;
            stop.send_replace(true);
        });
    }
    let servers: Vec<_> = listeners
        .into_iter()
        .map(|(endpoint, listener)| {
            tokio::spawn(accept(
                Arc::clone(&front),
                endpoint,
                listener,
                stopped.clone(),
            ))
        })
        .collect();

    let services = &front.services;
    let mut pipeline = LocalPipeline::new(services, registry);
    let mut totals = Totals {
        front: &front,
        summary: DevSummary {
            out: options.out.clone(),
            ..DevSummary::default()
        },
    };
    loop {
        totals.record(pipeline.step().await);
        if *stopped.borrow() {
            break;
        }
        let runnable = Role::BOTH
            .into_iter()
            .any(|role| pipeline.lag(role) > 0 && !services.is_down(role));
        if runnable {
            tokio::task::yield_now().await;
            continue;
        }
        let wait = pipeline
            .next_due()
            .map_or(IDLE, |at| (at - Utc::now()).to_std().unwrap_or_default())
            .clamp(RETRY_PAUSE, IDLE);
        tokio::select! {
            () = front.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            changed = stopped.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }

    // Stop: no new requests; the ones in flight finish.
    for server in servers {
        let _ = server.await;
    }
    for role in Role::BOTH {
        if services.is_down(role) {
            front.log(&format!(
                "stopping: the {} outage ends so its records can be delivered",
                role.as_str()
            ));
            services.set_down(role, false);
        }
    }
    let deadline = Instant::now() + DRAIN_LIMIT;
    let fingerprint = |pipeline: &LocalPipeline<'_>| {
        (
            pipeline.lag(Role::Primary),
            pipeline.lag(Role::Secondary),
            pipeline.spool.buffered(),
            services.queue.len(),
            services.store.puts(),
        )
    };
    let mut still = 0;
    loop {
        let before = fingerprint(&pipeline);
        if let Some(log) = pipeline.flush_spool_now().await {
            totals.record(vec![log]);
        }
        services.queue.make_visible();
        totals.record(pipeline.step().await);
        if pipeline.quiet() || Instant::now() > deadline {
            break;
        }
        // Nothing moved three times in a row: what is left cannot be delivered.
        still = if fingerprint(&pipeline) == before {
            still + 1
        } else {
            0
        };
        if still >= 3 {
            break;
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }

    let mut summary = totals.summary;
    summary.requests = lock(&front.requests).clone();
    summary.pending = Pending {
        primary_stream: pipeline.lag(Role::Primary),
        secondary_stream: pipeline.lag(Role::Secondary),
        spool_buffered: pipeline.spool.buffered(),
        queue_messages: services.queue.len(),
        dead_letters: services.queue.dead_letters().len(),
        parked: pipeline.primary_mapping.parked.len(),
    };
    summary
}

/// The banner printed when `ingest dev` is up.
pub fn banner(config: &DevConfig, addresses: &DevAddresses, out: &std::path::Path) -> String {
    let p = &config.pipeline;
    let url = |a: SocketAddr| format!("http://{a}");
    let mut text = format!(
        "ingest dev: {} on loopback; Ctrl-C stops, flushes the spool and drains\n",
        p.name
    );
    text.push_str(&format!(
        "  domain     {:<24} POST /events, GET /health: weighted {}/{} among regions in DNS; GET /lever, POST /lever/{{drain,restore,outage,recover}}/{{primary,secondary}}\n",
        url(addresses.domain),
        p.primary.weight,
        p.secondary.weight
    ));
    for role in Role::BOTH {
        let region = p.region(role);
        text.push_str(&format!(
            "  {:<10} {:<24} POST /events, GET /health: {}, {} shard{}\n",
            role.as_str(),
            url(addresses.region(role)),
            region.region,
            region.shards,
            if region.shards == 1 { "" } else { "s" }
        ));
    }
    text.push_str(&format!(
        "  buckets    {}/{{{}, {}, {}}}\n",
        out.display(),
        p.good_bucket(),
        p.quarantine_bucket(),
        p.spool_bucket()
    ));
    let retried = match &p.bridge_redelivery {
        Some(schedule) => format!(
            "after {} s, growing x{} to {} s ({} receives)",
            schedule.first_delay_seconds,
            schedule.growth,
            schedule.max_delay_seconds,
            schedule.max_receive_count
        ),
        None => format!("after {} s", p.visibility_timeout_seconds),
    };
    text.push_str(&format!(
        "  timing     the spool writes after {} s or {} MB; a failed bridge message is retried {retried}\n",
        p.spool_buffer_seconds, p.spool_buffer_mb
    ));
    text.push_str(&format!(
        "  try        curl -H 'content-type: application/json' --data @event.json {}/events\n",
        url(addresses.domain)
    ));
    text
}

const USAGE: &str =
    "usage: dev --config-json JSON --out DIR [--port N] [--primary-port N] [--secondary-port N]";

/// The program behind `ingest dev`, linked with a spec's events crate: serves until SIGINT or
/// SIGTERM, prints the banner and the summary on standard output and a line per handler batch
/// on standard error; exits 0 when everything accepted was delivered, 1 when something was
/// left, 2 on a usage error or when a port is taken.
pub fn main(registry: &'static Registry, args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let mut config = None;
    let mut out = None;
    let mut ports = [
        DEFAULT_DOMAIN_PORT,
        DEFAULT_PRIMARY_PORT,
        DEFAULT_SECONDARY_PORT,
    ];
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let flag = arg.to_string_lossy().into_owned();
        let value = args.next().map(|v| v.to_string_lossy().into_owned());
        let port = |slot: &mut u16| match value.as_deref().map(str::parse) {
            Some(Ok(port)) => {
                *slot = port;
                true
            }
            _ => false,
        };
        let ok = match flag.as_str() {
            "--config-json" => {
                config = value.clone();
                config.is_some()
            }
            "--out" => {
                out = value.clone().map(PathBuf::from);
                out.is_some()
            }
            "--port" => port(&mut ports[0]),
            "--primary-port" => port(&mut ports[1]),
            "--secondary-port" => port(&mut ports[2]),
            _ => false,
        };
        if !ok {
            eprintln!("error: unexpected or incomplete argument {flag}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let (Some(config), Some(out)) = (config, out) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let config: DevConfig = match serde_json::from_str(&config) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: the configuration is not a dev configuration: {error}");
            return ExitCode::from(2);
        }
    };
    let options = DevOptions {
        domain_port: ports[0],
        primary_port: ports[1],
        secondary_port: ports[2],
        ..DevOptions::new(out.clone())
    };
    let server = match DevServer::start(registry, config.clone(), options) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            if matches!(error, DevError::Listen { .. }) {
                eprintln!(
                    "help: another `ingest dev` may be running; pick other ports, or 0 for any free one"
                );
            }
            return ExitCode::from(2);
        }
    };
    print!("{}", banner(&config, &server.addresses(), &out));
    let summary = server.wait();
    print!("{}", summary.render());
    if summary.delivered() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_was_left() {
        let mut summary = DevSummary {
            out: PathBuf::from("out"),
            good: 1,
            batches: 2,
            ..DevSummary::default()
        };
        summary.requests.accepted.insert("primary".to_owned(), 1);
        summary.requests.too_large = 1;
        let text = summary.render();
        assert!(text.starts_with(
            "stopped: 1 request accepted (primary 1), 1 refused (1 too large, 0 bad, 0 unsupported type), 0 unavailable\n"
        ));
        assert!(text.contains(
            "wrote: 1 good line, 0 quarantine lines, 0 spool objects in 2 handler batches, under out\n"
        ));
        assert!(summary.delivered());
        assert!(text.ends_with("delivered: everything accepted is in good or quarantine\n"));

        summary.pending.primary_stream = 3;
        summary.pending.dead_letters = 1;
        assert!(!summary.delivered());
        assert!(summary.render().ends_with(
            "not delivered: 3 records in the primary's stream, 1 spool notifications in the DLQ\n"
        ));
    }

    #[test]
    fn the_config_reads_what_ingest_dev_writes() {
        let config: DevConfig = serde_json::from_value(json!({
            "name": "n",
            "primary": {"region": "us-east-1", "shards": 2, "weight": 95, "retention_hours": 24},
            "secondary": {"region": "us-west-2", "shards": 1, "weight": 5, "retention_hours": 24},
            "max_event_bytes": 1000,
            "validator_batch_size": 10,
            "validator_max_retries": 1,
            "validator_max_record_age_seconds": 60,
            "receiver_batch_size": 10,
            "bridge_batch_size": 10,
            "bridge_max_concurrency": 1,
            "visibility_timeout_seconds": 30,
            "max_receive_count": 5,
            "queue_retention_seconds": 600,
            "spool_buffer_seconds": 5,
            "spool_buffer_mb": 1,
            "failover_automatic": false,
        }))
        .unwrap();
        assert_eq!(config.pipeline.bridge_chunk_bytes, 5 * 1024 * 1024);
        assert_eq!(config.content_types, CONTENT_TYPES);
        assert_eq!(
            config.pipeline.good_bucket(),
            "n-good-123456789012-us-east-1"
        );
        assert_eq!(
            config.pipeline.spool_bucket(),
            "n-spool-123456789012-us-west-2"
        );
    }
}
