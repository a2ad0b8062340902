//! The command line: parses arguments and calls the library; no logic of its own.
//!
//! Exit codes: 0 when the command did its job (a valid spec, warnings allowed), 1 when the input
//! is invalid or unreadable, 2 for a command-line mistake (clap's own).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::diagnostic;
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
    /// Print the JSON Schema of ingest.yaml (for editors and yaml-language-server).
    Schema,
}

/// Runs the CLI with the process's arguments.
pub fn main() -> ExitCode {
    run(Cli::parse())
}

/// Runs a parsed command.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check { spec } => check(spec.as_deref()),
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
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
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
