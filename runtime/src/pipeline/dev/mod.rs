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
//!   number, 413 for a body over `api.max_event_bytes` bytes, 415 for a content type
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
//! - **Facing the browser and slow clients** (`docs/security.md#ingest-dev`). Every port
//!   answers only requests for `127.0.0.1:<port>` or `localhost:<port>` (403 otherwise): a
//!   web page whose name was rebound to 127.0.0.1 sends its own `Host`. A lever pull must carry
//!   [`LEVER_HEADER`], which a page of another origin cannot send without a CORS preflight this
//!   server never grants, and is refused with an `Origin` or `Sec-Fetch-Site` of another site.
//!   [`DevLimits`]: hyper closes a connection whose headers are late (it applies no header
//!   timeout without a timer, so one is set), a body that is late gets 408, and each port holds
//!   a bounded number of connections of its own, so flooding a region's port leaves the domain
//!   and its lever free.
//! - **Threads.** HTTP runs on a one-worker tokio runtime; the pipeline runs on the thread that
//!   drives it and sleeps until a record arrives, the spool or a message is due, or a second
//!   has passed. Each handler batch and spool object is one line of [`DevOptions::log`]
//!   (`12:00:01.250 us-east-1 primary validator shardId-000000000003: records=2 good=1
//!   quarantined=1 failed=0 0.4ms`), stamped with the time it started.
//! - **Stopping** (SIGINT, SIGTERM, or [`DevServer::stop`]): the ports close after the
//!   requests in flight; outages end; the spool is flushed and the queue's messages made
//!   visible until everything accepted is in good or quarantine (or nothing moves any more);
//!   then the [`DevSummary`] says what was accepted, written, and left (nothing, normally).
//!
//! [`LocalServices`]: super::local::LocalServices
//! [`LocalPipeline`]: super::local::LocalPipeline
//! [`Clock::Wall`]: super::local::Clock::Wall

mod front;
mod report;
mod server;

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[cfg(test)]
use super::local::RegionSettings;
use super::local::{PipelineSettings, Role};
use crate::envelope::Registry;

pub use front::LEVER_HEADER;
pub use report::{DevSummary, Pending, RequestCounts, banner};
pub use server::DevServer;

/// The domain's default port.
pub const DEFAULT_DOMAIN_PORT: u16 = 4780;
/// The primary's default port.
pub const DEFAULT_PRIMARY_PORT: u16 = 4781;
/// The secondary's default port.
pub const DEFAULT_SECONDARY_PORT: u16 = 4782;

/// The spec's numbers `ingest dev` runs with (built by `ingest dev` from the plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevConfig {
    /// Both regions' numbers.
    pub pipeline: PipelineSettings,
    /// Whether health checks take an unhealthy region out of DNS.
    pub failover_automatic: bool,
}

/// The three ports (0: any free port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevPorts {
    /// The domain: the weighted split and the lever.
    pub domain: u16,
    /// The primary region's API.
    pub primary: u16,
    /// The secondary region's API.
    pub secondary: u16,
}

impl Default for DevPorts {
    /// 4780, 4781, 4782.
    fn default() -> Self {
        DevPorts {
            domain: DEFAULT_DOMAIN_PORT,
            primary: DEFAULT_PRIMARY_PORT,
            secondary: DEFAULT_SECONDARY_PORT,
        }
    }
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
    /// The ports.
    pub ports: DevPorts,
    /// Stop on SIGINT and SIGTERM.
    pub stop_on_signals: bool,
    /// Where a line per handler batch and per lever pull goes, in the order of their times.
    pub log: LogSink,
    /// What one client may hold of the server (timeouts, connections).
    pub limits: DevLimits,
}

/// What one client may hold of `ingest dev`'s ports, so that a slow or greedy client (a
/// slowloris that sends a header byte now and then, a script that opens sockets and idles)
/// cannot take the ports from the others, or the lever from its operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevLimits {
    /// Time to send a request's headers, counted from when the connection opens (on a
    /// kept-alive connection, from the end of the previous answer); the connection is closed
    /// after it, so a connection that sends nothing, or a header byte now and then, is reaped.
    pub header_read_timeout: Duration,
    /// Time to send a request's body once its headers are in; 408 after it.
    pub body_read_timeout: Duration,
    /// Open connections per port; a connection beyond it is closed at once. Each port has its
    /// own, so a flood of a region's port cannot take the domain's (and the lever's).
    pub connections_per_port: usize,
}

impl Default for DevLimits {
    /// 10 s for headers and 30 s for a body (API Gateway allows a request 30 s in all), 256
    /// connections a port.
    fn default() -> Self {
        DevLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            connections_per_port: 256,
        }
    }
}

impl fmt::Debug for DevOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevOptions")
            .field("out", &self.out)
            .field("ports", &self.ports)
            .field("stop_on_signals", &self.stop_on_signals)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl DevOptions {
    /// The default ports, signals, logs to standard error.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        DevOptions {
            out: out.into(),
            ports: DevPorts::default(),
            stop_on_signals: true,
            log: stderr_log(),
            limits: DevLimits::default(),
        }
    }
}

/// What `ingest dev --compiled` hands the program, as JSON: the configuration, the buckets'
/// folder and the ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevRun {
    /// The spec's numbers.
    pub config: DevConfig,
    /// Where the buckets' folders go.
    pub out: PathBuf,
    /// The ports.
    pub ports: DevPorts,
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

impl DevError {
    /// What to do when a port is taken.
    pub const LISTEN_HELP: &str =
        "another `ingest dev` may be running; pick other ports, or 0 for any free one";
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The program behind `ingest dev --compiled`, linked with a spec's events crate: its one
/// argument is a [`DevRun`] as JSON. Serves until SIGINT or SIGTERM, prints the banner and the
/// summary on standard output and a line per handler batch on standard error; exits 0 when
/// everything accepted was delivered, 1 when something was left, 2 on a usage error or when a
/// port is taken.
pub fn main(registry: &'static Registry, args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let run = match args.as_slice() {
        [json] => serde_json::from_str::<DevRun>(&json.to_string_lossy())
            .map_err(|error| format!("the argument is not a dev run: {error}")),
        _ => Err("expected one argument: the dev run as JSON".to_owned()),
    };
    let run = match run {
        Ok(run) => run,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let options = DevOptions {
        ports: run.ports,
        ..DevOptions::new(run.out.clone())
    };
    let server = match DevServer::start(registry, run.config.clone(), options) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            if matches!(error, DevError::Listen { .. }) {
                eprintln!("help: {}", DevError::LISTEN_HELP);
            }
            return ExitCode::from(2);
        }
    };
    print!("{}", banner(&run.config, &server.addresses(), &run.out));
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
    fn a_dev_run_reads_back_what_it_writes() {
        let region = |region: &str, weight| RegionSettings {
            region: region.to_owned(),
            shards: 1,
            weight,
            retention_hours: 24,
        };
        let run = DevRun {
            config: DevConfig {
                pipeline: PipelineSettings {
                    name: "n".to_owned(),
                    primary: region("us-east-1", 95),
                    secondary: region("us-west-2", 5),
                    max_event_bytes: 1000,
                    validator_batch_size: 10,
                    validator_max_retries: Some(1),
                    validator_max_record_age_seconds: 60,
                    receiver_batch_size: 10,
                    receiver_max_retries: None,
                    receiver_max_record_age_seconds: 0,
                    bridge_batch_size: 10,
                    bridge_max_concurrency: 1,
                    bridge_chunk_bytes: 1024,
                    visibility_timeout_seconds: 30,
                    max_receive_count: 5,
                    queue_retention_seconds: 600,
                    bridge_redelivery: Some(crate::redelivery::Redelivery {
                        first_delay_seconds: 2,
                        max_delay_seconds: 30,
                        growth: 2,
                        jitter_percent: 10,
                        max_receive_count: 5,
                    }),
                    spool_buffer_seconds: 5,
                    spool_buffer_mb: 1,
                    spool_quota_bytes_per_second: None,
                    validator_timeout_seconds: None,
                    receiver_timeout_seconds: None,
                    bridge_timeout_seconds: None,
                    dlq_retention_seconds: None,
                    failed_retention_days: None,
                },
                failover_automatic: false,
            },
            out: PathBuf::from("out"),
            ports: DevPorts::default(),
        };
        let json = serde_json::to_string(&run).unwrap();
        assert_eq!(serde_json::from_str::<DevRun>(&json).unwrap(), run);
        assert_eq!(run.ports.domain, 4780);
        assert_eq!(
            run.config.pipeline.good_bucket(),
            "n-good-123456789012-us-east-1"
        );
    }
}
