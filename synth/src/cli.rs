//! The command line as clap types, and nothing else: what each command takes, with its help.
//!
//! `main` parses [`Cli`] and hands it to [`crate::commands::run`]; the commands never reach back
//! here. Exit codes: 0 when the command did its job (a valid spec, warnings allowed), 1 when the
//! input is invalid or the command could not do its job, 2 for a command-line mistake (clap's
//! own).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Turn one ingest.yaml into a two-region, fail-gracefully event-ingest system on AWS.
#[derive(Debug, Parser)]
#[command(name = "ingest", version)]
pub struct Cli {
    /// When to colour messages on standard error: auto (a terminal without NO_COLOR), always, never
    #[arg(
        long,
        value_enum,
        global = true,
        value_name = "WHEN",
        default_value_t = ColorChoice::Auto,
        hide_possible_values = true
    )]
    pub color: ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When standard error is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec and print every problem, located, or a summary of the system it describes.
    Check(CheckArgs),
    /// Generate CloudFormation for both regions and DNS (and everything else) into generated/.
    Synth(SynthArgs),
    /// Print the JSON Schema of ingest.yaml (for editors and yaml-language-server).
    Schema,
    /// Validate CloudEvents with the spec's validators: a verdict per record
    ///
    /// Each record (a line of NDJSON, or an element of a JSON array of records) is a CloudEvents
    /// 1.0 envelope in JSON (`specversion`, `id`, `source`, `type`, `data`; or a batch array of
    /// them) whose `data` is judged by the schema its `type` names in the spec, exactly as the
    /// pipeline's validator judges it. Inputs are read as a stream and validated on every core;
    /// verdicts come out in input order. On a terminal it prints a line per violation of the
    /// invalid records; otherwise, or with --json, one JSON object per record. A summary goes to
    /// standard error.
    ///
    /// Exit codes: 0 every record is valid; 1 some record is invalid; 2 an input could not be
    /// read whole (unreadable, empty, or a JSON array of records whose structure is broken) or
    /// the command line is wrong.
    #[cfg(feature = "local")]
    Validate(ValidateArgs),
    /// Rehearse a primary outage locally and report whether any event was lost
    ///
    /// Events go through both regions with the real handlers and the spec's validators; the
    /// primary fails mid-stream (its S3 and KMS by default, see --outage-kind), traffic drains
    /// to the secondary, and the bridge delivers the backlog once the primary is back. Then the
    /// public routes are flooded against a model of the spec's web ACL, throttles and health
    /// checkers (`flood` in the report): one address, someone else's health checks without our
    /// token, a swarm of addresses each under the per-address limits, and a pool of fresh
    /// addresses during WAF's mitigation lag. Prints a report (for people on a terminal, JSON
    /// otherwise or with --json) and a verdict; exits 0 only when no accepted event was lost
    /// and the flood starved no honest client, throttled no stream (the pool may fill the
    /// smaller one only where `api.waf.mitigation_lag_accepted` says why) and moved neither
    /// the health verdict nor the lever.
    ///
    /// In the report: `lost` counts accepted events found neither in good nor in quarantine
    /// (must be 0); `duplicates` the extra good copies of an event by (source, id), which
    /// at-least-once delivery allows; `altered` the good lines whose event is not byte for byte
    /// one that was sent (must be 0); `refused` the events the API refused as too large (never
    /// accepted, so not lost); `gave_up` the events the client stopped retrying after many
    /// refusals while both regions were unreachable; `parked` the records the validator's Kinesis
    /// mapping gave up on (its retries or record age ran out) and sent to its on-failure
    /// destination, where they wait for a replay; `expired` the records a stream's retention
    /// dropped before they were read.
    #[cfg(feature = "local")]
    Drill(DrillArgs),
    /// Run both regions on this machine: loopback APIs, the real handlers, buckets as folders
    ///
    /// Serves the primary's and the secondary's API (POST /events, GET /health) and a domain
    /// that splits traffic by the spec's weights, all on 127.0.0.1; runs the pipeline with the
    /// spec's validators on the real clock (the spool buffers, the bridge retries after the
    /// visibility timeout); writes good, quarantine and spool objects in the real key layout
    /// under --out; and logs a line per handler batch on stderr. The domain also pulls the
    /// lever: `curl -X POST -H 'X-Ingest-Lever: 1' http://127.0.0.1:4780/lever/drain/primary`
    /// (drain, restore, outage, recover; `GET /lever` shows the state; a pull without that
    /// header, or from a web page, is refused). Only requests for 127.0.0.1 or localhost are
    /// answered. Ctrl-C or SIGTERM stops it: the spool is flushed, everything accepted is
    /// delivered, a summary is printed, and it exits 0 when nothing was left.
    #[cfg(feature = "local")]
    Dev(DevArgs),
    /// Build the Lambda bootstrap for provided.al2023 and write a reproducible bootstrap.zip
    Package(PackageArgs),
    /// Create a staging bucket in each region of the spec (once per account; safe to repeat)
    ///
    /// One bucket per region, ingest-staging-<account>-<region>: versioned, encrypted, public
    /// access blocked, TLS only. Deploy puts templates, the Lambda zip and the record of what was
    /// deployed there. Running it again re-applies the settings and changes nothing else.
    ///
    /// Exit codes: 0 done; 1 an AWS call failed (the message says what to set or allow).
    #[cfg(feature = "aws")]
    Bootstrap(BootstrapArgs),
    /// Show what deploy would change in each stack, without changing anything
    ///
    /// Per stack, a CloudFormation change set against what is deployed (deleted again right
    /// away), shown as a table: action, logical id, type, replacement; a stack that does not
    /// exist yet is listed as "new stack" with its resources. Uploads the templates and the
    /// Lambda zip to the staging buckets first (content-addressed; skipped when there). When the
    /// primary stack was deployed by ingest, its event schemas are compared with that spec's,
    /// as `ingest check --against` does, and changes that deploy would refuse are shown.
    ///
    /// Exit codes: 0 no changes; 3 changes; 1 error.
    #[cfg(feature = "aws")]
    Diff(DiffArgs),
    /// Deploy the stacks: package, upload, change set per stack, confirm, execute, follow
    ///
    /// Builds the Lambda zip (or takes --artifact), uploads it and the templates to the staging
    /// buckets, then per stack creates a change set, shows it, asks (unless --yes), executes it
    /// and follows the stack's events until it is done, and prints its outputs. The regional
    /// stacks deploy concurrently; the dns stack follows with their outputs as parameters, then
    /// the monitoring stack (alarms on the dns stack's health checks). With api.waf on,
    /// the web ACLs get Route 53's health-checker ranges from AWS's ip-ranges.json (downloaded,
    /// or --ip-ranges FILE). Ends with a probe of each regional API (GET /health through API
    /// Gateway's TestInvokeMethod). Before anything changes, the event schemas are compared
    /// with the spec deployed to the primary stack (as `ingest check --against` does): a change
    /// that would send events that were valid to quarantine stops the deploy, unless
    /// --allow-breaking.
    ///
    /// Exit codes: 0 deployed (or no changes); 1 a breaking schema change, a stack failed, the
    /// probe failed, the changes were not confirmed, or an AWS call failed.
    #[cfg(feature = "aws")]
    Deploy(DeployArgs),
    /// Show each region's stack, endpoint, health, drain switch, weight and backlog
    ///
    /// Per region: stack status, endpoint, Route 53 health check verdict, drain switch, weight,
    /// the stream's iterator age, the bridge queue and dead-letter queue depths, and quarantine
    /// objects written in the last hour. A table, or JSON with --json.
    ///
    /// Exit codes: 0 the status was read; 1 an AWS call failed.
    #[cfg(feature = "aws")]
    Status(StatusArgs),
    /// Pull the traffic lever: weights, or drain and restore a region
    #[cfg(feature = "aws")]
    Lever(LeverArgs),
    /// Move the bridge's dead-letter queue back to the bridge queue, or replay failed batches
    ///
    /// Messages the bridge gave up on (an outage longer than the spec's bridge.outage_hours)
    /// wait in its dead-letter queue; this moves each back to the bridge queue, deleting it from
    /// the dead-letter queue only once its copy is sent, and reports how many moved.
    ///
    /// With --failed, it replays the batches a stream mapping gave up on instead: each failure
    /// record in a region's failed bucket goes to the mapping's own function (the validator,
    /// the receiver) and, once every record is taken, moves under redriven/ in the bucket.
    /// Replays are safe to repeat: duplicates collapse on (source, id).
    ///
    /// Exit codes: 0 done (also when there was nothing to move); 1 an AWS call failed or a
    /// failed batch could not be replayed.
    #[cfg(feature = "aws")]
    Redrive(RedriveArgs),
    /// Delete the stacks, in reverse deploy order: monitoring, dns, then the regional stacks
    ///
    /// Data the stacks keep on purpose (buckets, the stream, keys, log groups: DeletionPolicy
    /// Retain) stays; the command lists each with how to remove it.
    ///
    /// Exit codes: 0 deleted (or nothing deployed); 1 a deletion failed, was not confirmed, or
    /// an AWS call failed.
    #[cfg(feature = "aws")]
    Destroy(DestroyArgs),
    /// Write a commented starter ingest.yaml (and the schema editors read) into a folder
    Init(InitArgs),
    /// Print the completion script of a shell
    ///
    /// For example `ingest completions bash > ~/.local/share/bash-completion/completions/ingest`,
    /// `ingest completions zsh > ~/.zfunc/_ingest`, or
    /// `ingest completions fish > ~/.config/fish/completions/ingest.fish`.
    Completions(CompletionsArgs),
}

/// `ingest check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// Also compare the event schemas with an older spec, and fail on changes that would send
    /// events that were valid to quarantine
    ///
    /// OLD is a spec file, a git revision of the same spec (`HEAD~1`, `main`, a commit), or
    /// REV:PATH for a file as it was in a revision (PATH from the repository's root, or `./`
    /// for the current folder). Breaking changes are errors (exit 1), changes whose effect
    /// cannot be decided (two different patterns) are warnings, and safe changes are listed
    /// with the summary.
    #[arg(long, value_name = "OLD")]
    pub against: Option<String>,
}

/// `ingest synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Specs to synthesize [default: ./ingest.yaml, else specs/ingest.yaml]
    pub specs: Vec<PathBuf>,
    /// Folder to write into; each spec gets <OUT>/<name>/
    #[arg(long, value_name = "DIR", default_value = "generated")]
    pub out: PathBuf,
    /// Write nothing; fail with a diff when <OUT> is not what synth would generate
    #[arg(long)]
    pub check: bool,
    /// Render a fork of the templates instead of the built-in ones
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

#[cfg(feature = "local")]
/// `ingest validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Files of events: NDJSON (one record per line) or one JSON array; `-` for stdin
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON verdict per record on standard output, even on a terminal
    #[arg(long)]
    pub json: bool,
    /// Worker threads [default: one per core]
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Judge with the spec's generated validators, the Lambda's own code, built with cargo (once,
    /// cached) instead of the built-in evaluator (the same verdicts, no build)
    #[arg(long)]
    pub compiled: bool,
}

#[cfg(feature = "local")]
/// `ingest drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// Request bodies to send (NDJSON or one JSON array) instead of generated events
    #[arg(long, value_name = "FILE", conflicts_with = "count")]
    pub events: Option<PathBuf>,
    /// How many events to generate from the spec's schemas
    #[arg(long, value_name = "N", default_value_t = crate::drill::DEFAULT_COUNT)]
    pub count: usize,
    /// How long the primary region is down (simulated seconds)
    #[arg(long, value_name = "SECONDS", default_value_t = crate::drill::DEFAULT_OUTAGE_SECONDS)]
    pub outage: u64,
    /// How the primary is down: `brownout` (S3/KMS fail while its API and stream work: Lambda
    /// keeps invoking the validator and every invocation fails), `hang` (as brownout, but S3
    /// calls hang until the SDK's timeout) or `region` (everything at once, stream included)
    #[arg(long, value_name = "KIND", value_enum, default_value_t = DrillOutage::Brownout)]
    pub outage_kind: DrillOutage,
    /// The secondary's spool bucket fails for this long from the outage's start (Firehose
    /// keeps what it cannot deliver for 24 hours, then discards it)
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub spool_s3_down: u64,
    /// Each S3 notification of a spool object arrives up to this late
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub late_notifications: u64,
    /// Per thousand S3 notifications delivered twice
    #[arg(long, value_name = "PER_MILLE", default_value_t = 0)]
    pub duplicate_notifications: u32,
    /// Hostile records to send among the others (an array of `{}` as large as the limit, an
    /// array nested as deep, a body that is not UTF-8, in turn)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub hostile: usize,
    /// Seed of the generated events and of the client's choices
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep the local buckets as files in this folder
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the report as JSON, even on a terminal
    #[arg(long)]
    pub json: bool,
    /// Run the spec's generated validators, the Lambda's own code, built with cargo (once,
    /// cached) instead of the built-in evaluator
    #[arg(long)]
    pub compiled: bool,
}

#[cfg(feature = "local")]
/// How the drill's primary is down (`ingest drill --outage-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DrillOutage {
    /// S3/KMS fail; the API and the stream work, Lambda keeps invoking.
    Brownout,
    /// As brownout, with S3 calls that hang until the SDK's timeout.
    Hang,
    /// Everything of the region at once, stream reads included.
    Region,
}

#[cfg(feature = "local")]
/// `ingest dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// Folder for the buckets, one folder per bucket [default: ./.ingest-dev/<name>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Port of the domain: the weighted split among healthy, undrained regions, and the lever (0: any free port)
    #[arg(long, value_name = "PORT", default_value_t = ingest_runtime::pipeline::dev::DEFAULT_DOMAIN_PORT)]
    pub port: u16,
    /// Port of the primary region's API (0: any free port)
    #[arg(long, value_name = "PORT", default_value_t = ingest_runtime::pipeline::dev::DEFAULT_PRIMARY_PORT)]
    pub primary_port: u16,
    /// Port of the secondary region's API (0: any free port)
    #[arg(long, value_name = "PORT", default_value_t = ingest_runtime::pipeline::dev::DEFAULT_SECONDARY_PORT)]
    pub secondary_port: u16,
    /// Write spool objects after this many seconds instead of the spec's buffering interval
    #[arg(long, value_name = "SECONDS")]
    pub spool_buffer: Option<u64>,
    /// Retry a failed bridge message after this many seconds instead of the spec's retry delays
    #[arg(long, value_name = "SECONDS")]
    pub visibility_timeout: Option<u64>,
    /// Run the spec's generated validators, the Lambda's own code, built with cargo (once,
    /// cached) instead of the built-in evaluator
    #[arg(long)]
    pub compiled: bool,
}

/// `ingest package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// CPU architecture [default: the spec's functions.architecture]
    #[arg(long, value_enum)]
    pub arch: Option<crate::package::Arch>,
    /// Folder (or .zip path) to write [default: dist/<name>/bootstrap.zip]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// How the AWS commands reach AWS (shared by every one of them).
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Named profile of ~/.aws/config [default: AWS_PROFILE, else the usual credential chain]
    #[arg(long, value_name = "NAME", global = true)]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (an emulator) [default: AWS_ENDPOINT_URL]
    #[arg(long, value_name = "URL", global = true)]
    pub endpoint_url: Option<String>,
}

/// `ingest bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `ingest diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// Only these stacks, by kind (primary, secondary, dns, monitoring; repeat or use commas)
    #[arg(long, value_name = "STACK", value_delimiter = ',')]
    pub only: Vec<String>,
    /// The Lambda zip to compare against instead of building it (the output of `ingest package`)
    #[arg(long, value_name = "ZIP")]
    pub artifact: Option<PathBuf>,
    /// AWS's published IP ranges (ip-ranges.json) to take Route 53's health-checker ranges
    /// from, instead of downloading https://ip-ranges.amazonaws.com/ip-ranges.json
    #[arg(long, value_name = "FILE")]
    pub ip_ranges: Option<PathBuf>,
    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `ingest deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// Execute every change set without asking (needed when standard input is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Only these stacks, by kind (primary, secondary, dns, monitoring; repeat or use commas)
    #[arg(long, value_name = "STACK", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Deploy this Lambda zip instead of building it (the output of `ingest package`)
    #[arg(long, value_name = "ZIP")]
    pub artifact: Option<PathBuf>,
    /// Skip the closing probe of the APIs (for identities without apigateway:POST)
    #[arg(long)]
    pub no_probe: bool,
    /// AWS's published IP ranges (ip-ranges.json) to take Route 53's health-checker ranges
    /// from, instead of downloading https://ip-ranges.amazonaws.com/ip-ranges.json
    #[arg(long, value_name = "FILE")]
    pub ip_ranges: Option<PathBuf>,
    /// Deploy even when the event schemas changed so that events valid under the deployed
    /// spec would go to quarantine (deploy checks this like `ingest check --against`)
    #[arg(long)]
    pub allow_breaking: bool,
    /// Put a new random health token in its secret in both regions, then deploy: the web ACLs
    /// accept the new and the old token until the health checks send the new one (the next
    /// deploy drops the old one). Without it the token never changes
    #[arg(long)]
    pub rotate_health_token: bool,
    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `ingest status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// Print JSON (for machines) instead of a table
    #[arg(long)]
    pub json: bool,
    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `ingest lever`.
#[derive(Debug, Args)]
pub struct LeverArgs {
    /// Which lever.
    #[command(subcommand)]
    pub action: LeverAction,
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    #[arg(long, global = true)]
    pub spec: Option<PathBuf>,
    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The lever's actions.
#[derive(Debug, Subcommand)]
pub enum LeverAction {
    /// Set the Route 53 weights (a change set on the dns stack; Route 53's control plane)
    ///
    /// Share of traffic = weight / sum. Use it on calm days and for drills: during an outage
    /// the control plane may be unreachable; drain instead.
    ///
    /// Exit codes: 0 set (or already so); 1 refused, not confirmed, or an AWS call failed.
    Weights {
        /// The primary region's weight (0-255)
        #[arg(value_parser = clap::value_parser!(u8))]
        primary: u8,
        /// The secondary region's weight (0-255)
        #[arg(value_parser = clap::value_parser!(u8))]
        secondary: u8,
        /// Execute the change set without asking
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Drain a region: its health check fails and Route 53 sends it no traffic
    ///
    /// Sets the region's drain switch in the secondary region as the stack's lever operator
    /// role (STS, S3 and CloudWatch of the secondary region only): no call to Route 53 or to
    /// the primary region, so it works while either is impaired. The lever's publisher turns
    /// the switch into the metric Route 53's check reads within seconds. Refused when the
    /// other region is drained (Route 53 would then fail open and send traffic to both).
    ///
    /// Exit codes: 0 drained (or already); 1 refused, not published in time with --wait, or
    /// an AWS call failed.
    Drain {
        /// primary or secondary
        #[arg(value_enum)]
        region: RegionRole,
        /// Wait until the publisher has published the new state (at most this many seconds;
        /// bare --wait: 180)
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "180")]
        wait: Option<u64>,
    },
    /// Undo a drain: the region's health check follows its endpoint again
    ///
    /// Exit codes: 0 restored (or was not drained); 1 not published in time with --wait, or an
    /// AWS call failed.
    Restore {
        /// primary or secondary
        #[arg(value_enum)]
        region: RegionRole,
        /// Wait until the publisher has published the new state (at most this many seconds;
        /// bare --wait: 180)
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "180")]
        wait: Option<u64>,
    },
}

/// A region by its role in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegionRole {
    /// The primary region.
    Primary,
    /// The secondary region.
    Secondary,
}

/// `ingest redrive`.
#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// Replay the batches the stream mappings gave up on (the failed buckets) through their own
    /// functions, instead of moving the bridge's dead-letter queue
    #[arg(long)]
    pub failed: bool,
    /// With --failed: only this region's failed bucket [default: both]
    #[arg(long, value_enum, requires = "failed")]
    pub region: Option<RegionRole>,
    /// With --failed: list what would be replayed, and change nothing
    #[arg(long, requires = "failed")]
    pub dry_run: bool,
    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `ingest destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// Delete without asking (needed when standard input is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `ingest init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to write ingest.yaml and ingest.schema.json into (created if missing)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// `ingest completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
