//! The command line: parses arguments and calls the library; no logic of its own.
//!
//! Exit codes: 0 when the command did its job (a valid spec, warnings allowed), 1 when the input
//! is invalid or unreadable, 2 for a command-line mistake (clap's own).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::diagnostic;
use crate::output;
use crate::plan::Plan;
use crate::render::{self, Templates};
use crate::spec::{self, SpecError};

/// Turn one ingest.yaml into a two-region, fail-gracefully event-ingest system on AWS.
#[derive(Debug, Parser)]
#[command(name = "ingest", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec and print every problem, located, or a summary of the system it describes.
    Check {
        /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
        spec: Option<PathBuf>,
    },
    /// Generate CloudFormation for both regions and DNS (and everything else) into generated/.
    Synth {
        /// Specs to synthesize [default: ./ingest.yaml, else specs/ingest.yaml]
        specs: Vec<PathBuf>,
        /// Folder to write into; each spec gets <OUT>/<name>/
        #[arg(long, value_name = "DIR", default_value = "generated")]
        out: PathBuf,
        /// Write nothing; fail with a diff when <OUT> is not what synth would generate
        #[arg(long)]
        check: bool,
        /// Render a fork of the templates instead of the built-in ones
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
    },
    /// Print the JSON Schema of ingest.yaml (for editors and yaml-language-server).
    Schema,
    /// Validate events with the spec's generated validators: one JSON verdict per record.
    Validate {
        /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
        #[arg(long)]
        spec: Option<PathBuf>,
        /// Files of events: NDJSON (one record per line) or one JSON array; `-` for stdin
        #[arg(required = true)]
        files: Vec<std::ffi::OsString>,
    },
    /// Rehearse a primary outage locally and report whether any event was lost
    ///
    /// Events go through both regions with the real handlers and the spec's validators; the
    /// primary goes down mid-stream and the bridge delivers the backlog once it is back. Prints
    /// a JSON report; exits 0 only when no accepted event was lost.
    Drill {
        /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
        spec: Option<PathBuf>,
        /// Request bodies to send (NDJSON or one JSON array) instead of generated events
        #[arg(long, value_name = "FILE", conflicts_with = "count")]
        events: Option<PathBuf>,
        /// How many events to generate from the spec's schemas
        #[arg(long, value_name = "N", default_value_t = crate::drill::DEFAULT_COUNT)]
        count: usize,
        /// How long the primary region is down (simulated seconds)
        #[arg(long, value_name = "SECONDS", default_value_t = crate::drill::DEFAULT_OUTAGE_SECONDS)]
        outage: u64,
        /// Seed of the generated events and of the client's choices
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Keep the local buckets as files in this folder
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
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
    Dev {
        /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
        spec: Option<PathBuf>,
        /// Folder for the buckets, one folder per bucket [default: ./.ingest-dev/<name>]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Port of the domain: the weighted split among healthy, undrained regions, and the lever (0: any free port)
        #[arg(long, value_name = "PORT", default_value_t = crate::dev::DEFAULT_PORT)]
        port: u16,
        /// Port of the primary region's API (0: any free port)
        #[arg(long, value_name = "PORT", default_value_t = crate::dev::DEFAULT_PRIMARY_PORT)]
        primary_port: u16,
        /// Port of the secondary region's API (0: any free port)
        #[arg(long, value_name = "PORT", default_value_t = crate::dev::DEFAULT_SECONDARY_PORT)]
        secondary_port: u16,
        /// Write spool objects after this many seconds instead of the spec's buffering interval
        #[arg(long, value_name = "SECONDS")]
        spool_buffer: Option<u64>,
        /// Retry a failed bridge message after this many seconds instead of the spec's visibility timeout
        #[arg(long, value_name = "SECONDS")]
        visibility_timeout: Option<u64>,
    },
    /// Build the Lambda bootstrap for provided.al2023 and write a reproducible bootstrap.zip
    Package {
        /// The spec [default: ./ingest.yaml, else specs/ingest.yaml]
        spec: Option<PathBuf>,
        /// CPU architecture [default: the spec's functions.architecture]
        #[arg(long, value_enum)]
        arch: Option<crate::package::Arch>,
        /// Folder (or .zip path) to write [default: dist/<name>/bootstrap.zip]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// Runs the CLI with the process's arguments.
pub fn main() -> ExitCode {
    run(Cli::parse())
}

/// Runs a parsed command.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check { spec } => check(spec.as_deref()),
        Command::Synth {
            specs,
            out,
            check,
            templates,
        } => synth(&specs, &out, check, templates.as_deref()),
        Command::Validate { spec, files } => {
            crate::validate::run(&spec.unwrap_or_else(default_spec), &files)
        }
        Command::Drill {
            spec,
            events,
            count,
            outage,
            seed,
            out,
        } => crate::drill::run(&crate::drill::DrillOptions {
            spec: spec.unwrap_or_else(default_spec),
            events,
            count: Some(count),
            outage_seconds: outage,
            seed,
            out,
        }),
        Command::Dev {
            spec,
            out,
            port,
            primary_port,
            secondary_port,
            spool_buffer,
            visibility_timeout,
        } => crate::dev::run(&crate::dev::DevOptions {
            spec: spec.unwrap_or_else(default_spec),
            out,
            port,
            primary_port,
            secondary_port,
            spool_buffer_seconds: spool_buffer,
            visibility_timeout_seconds: visibility_timeout,
        }),
        Command::Package { spec, arch, out } => {
            crate::package::run(&spec.unwrap_or_else(default_spec), arch, out.as_deref())
        }
        Command::Schema => {
            let schema = spec::json_schema();
            let text = serde_json::to_string_pretty(&schema).expect("schema serializes");
            println!("{text}");
            ExitCode::SUCCESS
        }
    }
}

/// The spec to use when none is given: `./ingest.yaml`, else `specs/ingest.yaml`.
pub fn default_spec() -> PathBuf {
    let local = PathBuf::from("ingest.yaml");
    if local.exists() {
        local
    } else {
        PathBuf::from("specs/ingest.yaml")
    }
}

fn check(spec: Option<&Path>) -> ExitCode {
    let path = spec.map_or_else(default_spec, Path::to_path_buf);
    let color = color();
    match crate::check_spec(&path) {
        Ok(checked) => {
            if !checked.warnings.is_empty() {
                eprint!("{}", diagnostic::render(&checked.warnings, color));
            }
            let summary = crate::summary::render(&path.display().to_string(), &checked.plan);
            let _ = std::io::stdout().write_all(summary.as_bytes());
            ExitCode::SUCCESS
        }
        Err(error) => {
            report(&error, color);
            ExitCode::FAILURE
        }
    }
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn synth(specs: &[PathBuf], out: &Path, check_only: bool, templates: Option<&Path>) -> ExitCode {
    let color = color();
    let templates = match templates.map_or_else(Templates::embedded, Templates::from_dir) {
        Ok(templates) => templates,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let paths = if specs.is_empty() {
        vec![default_spec()]
    } else {
        specs.to_vec()
    };
    let runtime = output::runtime_dependency_for(out);
    // Everything is checked and rendered before anything is written: one bad spec writes nothing.
    let mut sets = Vec::new();
    let mut failed = false;
    for path in &paths {
        let checked = match crate::check_spec(path) {
            Ok(checked) => checked,
            Err(error) => {
                report(&error, color);
                failed = true;
                continue;
            }
        };
        if !checked.warnings.is_empty() {
            eprint!("{}", diagnostic::render(&checked.warnings, color));
        }
        if let Some((other, _, _)) = sets
            .iter()
            .find(|(_, plan, _): &&(PathBuf, Plan, _)| plan.name == checked.plan.name)
        {
            eprintln!(
                "error: {} and {} both have `name: {}`, so they would write the same folder",
                other.display(),
                path.display(),
                checked.plan.name
            );
            failed = true;
            continue;
        }
        match output::assemble_with(&checked.plan, &templates, &runtime) {
            Ok((set, rendered)) => sets.push((path.clone(), checked.plan, (set, rendered))),
            Err(error) => {
                eprintln!("error: {}: {error}", path.display());
                failed = true;
            }
        }
    }
    if failed {
        eprintln!("nothing was written");
        return ExitCode::FAILURE;
    }
    if check_only {
        let mut stale_specs = Vec::new();
        for (path, _, (set, _)) in &sets {
            match output::compare(out, set) {
                Ok(stale) if stale.is_empty() => {}
                Ok(stale) => {
                    eprint!("{}", output::describe(&stale));
                    stale_specs.push(path.display().to_string());
                }
                Err(error) => {
                    eprintln!("error: cannot read {}: {error}", out.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        if stale_specs.is_empty() {
            println!(
                "{} is up to date ({} spec{})",
                out.display(),
                sets.len(),
                if sets.len() == 1 { "" } else { "s" }
            );
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "error: {} is stale; regenerate it with:\n  ingest synth {} --out {}",
            out.display(),
            stale_specs.join(" "),
            out.display()
        );
        return ExitCode::FAILURE;
    }
    for (path, plan, (set, rendered)) in &sets {
        if let Err(error) = output::write(out, set) {
            eprintln!("error: cannot write {}: {error}", out.display());
            return ExitCode::FAILURE;
        }
        print!("{}", synth_summary(path, plan, out, set, rendered));
    }
    ExitCode::SUCCESS
}

fn synth_summary(
    path: &Path,
    plan: &Plan,
    out: &Path,
    set: &output::FileSet,
    rendered: &render::Rendered,
) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: wrote {} files to {}",
        path.display(),
        set.files.len(),
        out.join(&plan.name).display()
    );
    for stack in &rendered.stacks {
        let note = if stack.text.len() > render::INLINE_TEMPLATE_LIMIT {
            "  (over the 51,200-byte inline limit: deploy stages it in S3)"
        } else {
            ""
        };
        let _ = writeln!(
            text,
            "  {:<28} {:<15} {:>3} resources {:>7} bytes{note}",
            stack.name,
            stack.region,
            stack.resources,
            stack.text.len()
        );
    }
    text
}

/// Prints why a spec could not be used.
pub fn report(error: &SpecError, color: bool) {
    match error {
        SpecError::Io { path, error } => {
            eprintln!("error: cannot read the spec {}: {error}", path.display());
            if error.kind() == std::io::ErrorKind::NotFound {
                eprintln!(
                    "help: pass the path of an ingest.yaml, or run from a folder that has ./ingest.yaml or specs/ingest.yaml"
                );
            }
        }
        SpecError::Invalid(diagnostics) => {
            eprint!("{}", diagnostic::render(diagnostics, color));
        }
    }
}
