//! The one error type of the `ingest` command, and how it is shown.
//!
//! Every command returns [`Result`]; `main` reports an [`Error`] once, through [`render`], and
//! exits with [`Error::exit_code`]. Nothing else prints `error: ...`: library code returns typed
//! errors (the spec's located [`Diagnostic`]s, [`RenderError`], [`ProgramError`],
//! [`PackageError`]), and each becomes one variant here with a `help` that says what to do.
//! Errors that belong to a located place in the user's YAML stay located diagnostics (the
//! [`Error::Spec`] variant renders them all, each with its file, line and column).

use std::path::PathBuf;
use std::process::ExitCode;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use crate::diagnostic;
use crate::package::PackageError;
use crate::program::ProgramError;
use crate::render::RenderError;
use crate::spec::SpecError;

/// What `ingest` returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    /// The spec could not be read, or has errors (every one of them, located).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Spec(#[from] SpecError),

    /// Two specs of one `synth` run have the same name.
    #[error(
        "{} and {} both have `name: {name}`, so they would write the same folder",
        first.display(),
        second.display()
    )]
    #[diagnostic(
        code(ingest::duplicate_name),
        help("give each spec its own `name`, or synthesize them in separate runs")
    )]
    DuplicateName {
        /// The spec seen first.
        first: PathBuf,
        /// The spec with the same name.
        second: PathBuf,
        /// The name.
        name: String,
    },

    /// Rendering a spec's outputs failed.
    #[error("{}: {source}", spec.display())]
    #[diagnostic(
        code(ingest::render),
        help(
            "with the built-in templates this is a bug of ingest; with --templates, fix the template named above"
        )
    )]
    Render {
        /// The spec.
        spec: PathBuf,
        /// What failed.
        #[source]
        source: RenderError,
    },

    /// A forked template set could not be loaded.
    #[error(transparent)]
    #[diagnostic(
        code(ingest::templates),
        help("--templates takes a copy of the templates/ folder of ingest")
    )]
    Templates(RenderError),

    /// A file or folder could not be read.
    #[error("cannot read {}", path.display())]
    #[diagnostic(code(ingest::read))]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// A file or folder could not be written.
    #[error("cannot write {}", path.display())]
    #[diagnostic(code(ingest::write))]
    Write {
        /// What could not be written.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// A file that `init` would write already exists.
    #[error("{} already exists", path.display())]
    #[diagnostic(
        code(ingest::would_overwrite),
        help(
            "ingest init never overwrites: pick an empty folder (`ingest init DIR`) or move the file away"
        )
    )]
    WouldOverwrite {
        /// The file.
        path: PathBuf,
    },

    /// `synth --check` found generated files that differ from what synth would write.
    #[error("{} is stale", out.display())]
    #[diagnostic(
        code(ingest::stale),
        help("regenerate it with:\n  ingest synth {specs} --out {}", out.display())
    )]
    Stale {
        /// The output folder.
        out: PathBuf,
        /// The specs whose output is stale, space-separated.
        specs: String,
    },

    /// A program over the spec's compiled validators could not be built.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Program(#[from] ProgramError),

    /// The Lambda artifact could not be built.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Package(#[from] PackageError),

    /// Events for the drill could not be made from the spec's schemas.
    #[error("cannot generate drill events: {0}")]
    #[diagnostic(
        code(ingest::drill_events),
        help("pass request bodies with --events FILE instead")
    )]
    DrillEvents(String),

    /// A program this command runs could not be started.
    #[error("cannot run {}", program.display())]
    #[diagnostic(code(ingest::run))]
    Run {
        /// The program.
        program: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    // The commands that deploy and operate the stacks (feature `aws`).
    /// An AWS call failed.
    #[cfg(feature = "aws")]
    #[error(transparent)]
    #[diagnostic(transparent)]
    Cloud(#[from] crate::cloud::CloudError),

    /// The staging buckets cannot be used.
    #[cfg(feature = "aws")]
    #[error(transparent)]
    #[diagnostic(transparent)]
    Staging(#[from] crate::cloud::staging::StagingError),

    /// A command must ask before it changes something and cannot.
    #[error("cannot ask before {action}: standard input is not a terminal")]
    #[diagnostic(
        code(ingest::not_a_terminal),
        help("pass --yes to {action} without asking (as CI pipelines do)")
    )]
    NotATerminal {
        /// What it was about to do.
        action: &'static str,
    },

    /// The person running the command said no.
    #[error("{what}: not confirmed")]
    #[diagnostic(code(ingest::declined))]
    Declined {
        /// What did not happen.
        what: String,
    },

    /// `--only` names a stack the spec does not have.
    #[error("the spec has no `{name}` stack")]
    #[diagnostic(code(ingest::unknown_stack), help("its stacks are: {known}"))]
    UnknownStack {
        /// What was asked for.
        name: String,
        /// The stacks there are, comma-separated.
        known: String,
    },

    /// A stack is in a state the command cannot work from.
    #[error("{stack} in {region} is {status}{}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    #[diagnostic(code(ingest::stack_state), help("{way_out}"))]
    StackState {
        /// The stack.
        stack: String,
        /// Its region.
        region: String,
        /// Its status.
        status: String,
        /// CloudFormation's reason, if any.
        reason: Option<String>,
        /// What to do.
        way_out: String,
    },

    /// A stack operation ended in failure.
    #[error("{stack} in {region} ended {status}{}", failure_lines(failures))]
    #[diagnostic(code(ingest::stack_failed), help("{way_out}"))]
    StackFailed {
        /// The stack.
        stack: String,
        /// Its region.
        region: String,
        /// Its final status.
        status: String,
        /// The failed resources: `Logical (Type): reason`.
        failures: Vec<String>,
        /// What to do.
        way_out: String,
    },

    /// A stack another one needs is not deployed.
    #[error("{stack} is not deployed in {region}")]
    #[diagnostic(code(ingest::not_deployed), help("{help}"))]
    NotDeployed {
        /// The stack.
        stack: String,
        /// Its region.
        region: String,
        /// What to do.
        help: String,
    },

    /// A deployed stack lacks an output ingest reads.
    #[error("{stack} has no output `{output}`")]
    #[diagnostic(
        code(ingest::missing_output),
        help(
            "the stack was deployed from another version of ingest; run `ingest deploy` to update it"
        )
    )]
    MissingOutput {
        /// The stack.
        stack: String,
        /// The output.
        output: String,
    },

    /// The rendered template of a stack has a parameter deploy cannot fill.
    #[error("{stack}: the template's parameter `{parameter}` has no value and no default")]
    #[diagnostic(
        code(ingest::unfilled_parameter),
        help("with the built-in templates this is a bug of ingest")
    )]
    UnfilledParameter {
        /// The stack.
        stack: String,
        /// The parameter.
        parameter: String,
    },

    /// The closing probe found routes that do not work.
    #[error("the stacks deployed, but {} of the API's routes failed the probe:{}", failures.len(), failure_lines(failures))]
    #[diagnostic(
        code(ingest::probe_failed),
        help(
            "a 500 with \"does not have permission to assume the provided role\" is the integration role's trust policy (docs/traps.md#apigateway-integration-role-trust); a 503 on /health is the stream (is it ACTIVE?)"
        )
    )]
    ProbeFailed {
        /// One line per failed route.
        failures: Vec<String>,
    },

    /// Draining a region while the other one is drained.
    #[error("refusing to drain {region}: {other} is drained already")]
    #[diagnostic(
        code(ingest::drain_both),
        help(
            "with every region unhealthy Route 53 fails open and sends traffic to both by weight, so draining both drains neither; restore {other} first (`ingest lever restore {other}`)"
        )
    )]
    DrainBoth {
        /// The region asked for.
        region: &'static str,
        /// The other one.
        other: &'static str,
    },

    /// Weights that would send no traffic anywhere.
    #[error("weights 0 and 0 send no region any traffic")]
    #[diagnostic(
        code(ingest::zero_weights),
        help(
            "give at least one region a weight above 0 (share = weight / sum); to take a region out, drain it"
        )
    )]
    ZeroWeights,

    /// `synth` refused every spec because some failed; nothing was written.
    #[error("nothing was written: {} spec{} failed", errors.len(), if errors.len() == 1 { "" } else { "s" })]
    #[diagnostic(code(ingest::nothing_written))]
    NothingWritten {
        /// Each failure, in the order of the specs.
        #[related]
        errors: Vec<Error>,
    },
}

/// Failure lines under a message, one indented line each.
fn failure_lines(lines: &[String]) -> String {
    lines.iter().map(|line| format!("\n  {line}")).collect()
}

impl Error {
    /// The process exit code for this error: 1 for everything a command refuses or cannot do
    /// (clap's own usage errors exit 2 before any command runs).
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::FAILURE
    }
}

impl Diagnostic for SpecError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(match self {
            SpecError::Io { .. } => "ingest::spec_unreadable",
            SpecError::Invalid(_) => "ingest::spec_invalid",
        }))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self {
            SpecError::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound => {
                Some(Box::new(
                    "pass the path of an ingest.yaml, or run from a folder that has ./ingest.yaml or specs/ingest.yaml",
                ))
            }
            _ => None,
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        match self {
            SpecError::Invalid(diagnostics) => {
                Some(Box::new(diagnostics.iter().map(|d| d as &dyn Diagnostic)))
            }
            SpecError::Io { .. } => None,
        }
    }
}

/// Renders an error as `main` prints it on standard error; `color` adds ANSI colours.
///
/// A spec's diagnostics are rendered each with its source lines and a count of errors and
/// warnings; the failures of a `synth` run are rendered one after the other, then "nothing was written".
pub fn render(error: &Error, color: bool) -> String {
    match error {
        Error::Spec(SpecError::Invalid(diagnostics)) => diagnostic::render(diagnostics, color),
        Error::NothingWritten { errors } => {
            let mut text: String = errors.iter().map(|e| render(e, color)).collect();
            text.push_str("nothing was written\n");
            text
        }
        other => {
            let mut text = String::new();
            // Writing into a String cannot fail.
            let _ = handler(color).render_report(&mut text, other);
            text
        }
    }
}

/// The report handler every rendering shares: width 100, no hyperlinks, colour on request.
pub fn handler(color: bool) -> GraphicalReportHandler {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpecError::Io { path, .. } => write!(f, "cannot read the spec {}", path.display()),
            SpecError::Invalid(diagnostics) => {
                let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                write!(
                    f,
                    "the spec has {errors} error{}",
                    if errors == 1 { "" } else { "s" }
                )
            }
        }
    }
}

impl std::error::Error for SpecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpecError::Io { error, .. } => Some(error),
            SpecError::Invalid(_) => None,
        }
    }
}
