//! The command line as clap types, and nothing else: what each command takes, with its help.
//!
//! `main` parses [`Cli`] and hands it to [`crate::commands::run`]; the commands never reach back
//! here. Exit codes: 0 when the command did its job (a valid spec, warnings allowed), 1 when the
//! input is invalid or the command could not do its job, 2 for a command-line mistake (clap's
//! own).

use std::ffi::OsString;
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
    /// Validate events with the spec's generated validators: one JSON verdict per record.
    Validate(ValidateArgs),
    /// Rehearse a primary outage locally and report whether any event was lost
    ///
    /// Events go through both regions with the real handlers and the spec's validators; the
    /// primary goes down mid-stream and the bridge delivers the backlog once it is back. Prints
    /// a JSON report; exits 0 only when no accepted event was lost.
    Drill(DrillArgs),
    /// Run both regions on this machine: loopback APIs, the real handlers, buckets as folders
    ///
    /// Serves the primary's and the secondary's API (POST /events, GET /health) and a domain
    /// that splits traffic by the spec's weights, all on 127.0.0.1; runs the pipeline with the
    /// spec's validators on the real clock (the spool buffers, the bridge retries after the
    /// visibility timeout); writes good, quarantine and spool objects in the real key layout
    /// under --out; and logs a line per handler batch on stderr. The domain also pulls the
    /// lever: `curl -X POST http://127.0.0.1:4780/lever/drain/primary` (drain, restore,
    /// outage, recover; `GET /lever` shows the state). Ctrl-C or SIGTERM stops it: the spool
    /// is flushed, everything accepted is delivered, a summary is printed, and it exits 0 when
    /// nothing was left.
    Dev(DevArgs),
    /// Build the Lambda bootstrap for provided.al2023 and write a reproducible bootstrap.zip
    Package(PackageArgs),
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

/// `ingest validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Files of events: NDJSON (one record per line) or one JSON array; `-` for stdin
    #[arg(required = true)]
    pub files: Vec<OsString>,
}

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
    /// Seed of the generated events and of the client's choices
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep the local buckets as files in this folder
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `ingest dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
    pub spec: Option<PathBuf>,
    /// Folder for the buckets, one folder per bucket [default: ./.ingest-dev/<name>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Port of the domain: the weighted split among healthy, undrained regions, and the lever (0: any free port)
    #[arg(long, value_name = "PORT", default_value_t = crate::dev::DEFAULT_PORT)]
    pub port: u16,
    /// Port of the primary region's API (0: any free port)
    #[arg(long, value_name = "PORT", default_value_t = crate::dev::DEFAULT_PRIMARY_PORT)]
    pub primary_port: u16,
    /// Port of the secondary region's API (0: any free port)
    #[arg(long, value_name = "PORT", default_value_t = crate::dev::DEFAULT_SECONDARY_PORT)]
    pub secondary_port: u16,
    /// Write spool objects after this many seconds instead of the spec's buffering interval
    #[arg(long, value_name = "SECONDS")]
    pub spool_buffer: Option<u64>,
    /// Retry a failed bridge message after this many seconds instead of the spec's visibility timeout
    #[arg(long, value_name = "SECONDS")]
    pub visibility_timeout: Option<u64>,
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
