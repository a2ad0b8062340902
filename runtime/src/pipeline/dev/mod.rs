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

use serde::{Deserialize, Serialize};

use super::local::{PipelineSettings, Role};
use crate::envelope::Registry;

pub use report::{DevSummary, Pending, RequestCounts, banner};
pub use server::DevServer;

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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
    use serde_json::json;

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
