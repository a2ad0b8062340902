//! One module per command: each takes its parsed arguments and returns [`Result`].
//!
//! A command reads its input, calls the library (the spec checks, the plan, the renderers, the
//! runtime), writes what it produces on standard output, and returns an exit code when it did
//! its job or an [`Error`] when it could not. It never prints errors itself and never reaches
//! back into the CLI layer: `main` reports the error once. Progress and warnings go to standard
//! error through [`Ui`], which knows whether to colour them.

pub mod check;
pub mod completions;
pub mod init;
pub mod package;
pub mod schema;
pub mod synth;
// The commands that run the pipeline on this machine (feature `local`).
#[cfg(feature = "local")]
pub mod dev;
#[cfg(feature = "local")]
pub mod drill;
#[cfg(feature = "local")]
pub mod validate;
// The commands that deploy and operate the stacks (feature `aws`).
#[cfg(feature = "aws")]
pub mod bootstrap;
#[cfg(feature = "aws")]
pub mod deploy;
#[cfg(feature = "aws")]
pub mod destroy;
#[cfg(feature = "aws")]
pub mod diff;
#[cfg(feature = "aws")]
pub mod lever;
#[cfg(feature = "aws")]
pub mod redrive;
#[cfg(feature = "aws")]
pub mod status;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{ColorChoice, Command};
use crate::diagnostic::{self, Diagnostic};
use crate::errors::Result;

/// How a command talks to the person running it, decided once by `main`.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// Whether standard error takes ANSI colours.
    pub color: bool,
}

impl Ui {
    /// `--color`, resolved against the terminal and `NO_COLOR`.
    pub fn new(choice: ColorChoice) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Ui { color }
    }

    /// Prints warnings (never errors: those are returned) on standard error.
    pub fn warnings(&self, warnings: &[Diagnostic]) {
        if !warnings.is_empty() {
            eprint!("{}", diagnostic::render(warnings, self.color));
        }
    }
}

/// Runs a parsed command.
pub fn run(command: Command, ui: Ui) -> Result<ExitCode> {
    match command {
        Command::Check(args) => check::run(&args, ui),
        Command::Synth(args) => synth::run(&args, ui),
        Command::Schema => schema::run(),
        #[cfg(feature = "local")]
        Command::Validate(args) => validate::run(&args, ui),
        #[cfg(feature = "local")]
        Command::Drill(args) => drill::run(&args, ui),
        #[cfg(feature = "local")]
        Command::Dev(args) => dev::run(&args, ui),
        Command::Package(args) => package::run(&args, ui),
        #[cfg(feature = "aws")]
        Command::Bootstrap(args) => bootstrap::run(&args, ui),
        #[cfg(feature = "aws")]
        Command::Diff(args) => diff::run(&args, ui),
        #[cfg(feature = "aws")]
        Command::Deploy(args) => deploy::run(&args, ui),
        #[cfg(feature = "aws")]
        Command::Status(args) => status::run(&args, ui),
        #[cfg(feature = "aws")]
        Command::Lever(args) => lever::run(&args, ui),
        #[cfg(feature = "aws")]
        Command::Redrive(args) => redrive::run(&args, ui),
        #[cfg(feature = "aws")]
        Command::Destroy(args) => destroy::run(&args, ui),
        Command::Init(args) => init::run(&args),
        Command::Completions(args) => completions::run(&args),
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

/// The spec a command was given, or the default one.
pub fn spec_or_default(spec: Option<&Path>) -> PathBuf {
    spec.map_or_else(default_spec, Path::to_path_buf)
}

#[cfg(feature = "local")]
/// The spec's validators, compiled in this process from its schemas (`ingest-eval`): the
/// verdicts of the generated code without building it.
pub fn registry(plan: &crate::plan::Plan) -> Result<ingest_runtime::Registry> {
    ingest_eval::registry(&plan.event_inputs()).map_err(crate::errors::Error::Registry)
}

/// Checks a spec, printing its warnings: the plan of a spec that has no errors.
pub fn checked_plan(spec: &Path, ui: Ui) -> Result<crate::plan::Plan> {
    Ok(checked_spec(spec, ui)?.plan)
}

/// Checks a spec, printing its warnings: a spec that has no errors, with its plan and file.
pub fn checked_spec(spec: &Path, ui: Ui) -> Result<crate::CheckedSpec> {
    let checked = crate::check_spec(spec)?;
    ui.warnings(&checked.warnings);
    Ok(checked)
}
