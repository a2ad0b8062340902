//! The one error type of the `ingest` command, and how it is shown.
//!
//! Every command returns [`Result`]; `main` reports an [`Error`] once, through [`render`], and
//! exits with [`Error::exit_code`]. Nothing else prints `error: ...`: library code returns typed
//! errors (the spec's located [`Diagnostic`]s, [`RenderError`], [`ProgramError`],
//! [`PackageError`]), and each becomes one variant here with a `help` that says what to do.
//! Errors that belong to a located place in the user's YAML stay located diagnostics (the
//! [`Error::Spec`] variant renders them all, each with its file, line and column).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use crate::compat::CompatError;
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

    /// The spec's schemas could not be compiled into validators (the checks accept only
    /// schemas the evaluator runs, so this is a bug).
    #[cfg(feature = "local")]
    #[error("cannot compile the spec's validators: {0}")]
    #[diagnostic(
        code(ingest::evaluator),
        help("this is a bug of ingest; --compiled builds the generated validators instead")
    )]
    Registry(#[source] ingest_eval::RegistryError),

    /// Inputs of `validate` or `drill` could not be read whole.
    #[error(
        "{} input{} could not be read whole",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    )]
    #[diagnostic(code(ingest::inputs))]
    Inputs {
        /// Each input's problem, in the order of the inputs.
        #[related]
        errors: Vec<InputTrouble>,
    },

    /// The verdicts could not be written to standard output.
    #[error("cannot write to standard output")]
    #[diagnostic(code(ingest::stdout))]
    WriteOutput {
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// `ingest dev` could not start.
    #[cfg(feature = "local")]
    #[error("ingest dev cannot start: {0}")]
    #[diagnostic(code(ingest::dev), help("{}", dev_help(.0)))]
    Dev(ingest_runtime::pipeline::dev::DevError),

    /// A program over the spec's generated validators did not answer as expected.
    #[error("{} did not write a report: {message}", program.display())]
    #[diagnostic(
        code(ingest::program_output),
        help("its own messages are above; leave out --compiled to run the built-in evaluator")
    )]
    ProgramOutput {
        /// The program.
        program: PathBuf,
        /// What was wrong with its output.
        message: String,
    },

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

    /// The old spec of a breaking-change check could not be had.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Compat(#[from] CompatError),

    /// Changes that would send events that were valid under the old spec to quarantine.
    #[error(
        "{} change{} against {against} would send events that were valid to quarantine",
        breaking,
        if *breaking == 1 { "" } else { "s" }
    )]
    #[diagnostic(code(ingest::breaking))]
    Breaking {
        /// Where the old spec came from.
        against: String,
        /// How many changes break events.
        breaking: usize,
        /// Every breaking change (errors) and every one the check cannot judge (warnings),
        /// located in the new spec.
        diagnostics: Vec<diagnostic::Diagnostic>,
        /// What the command did not do, and how to make it (`deploy`'s `--allow-breaking`).
        next: Option<String>,
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

    /// Route 53's health-checker ranges could not be had.
    #[error("{what}")]
    #[diagnostic(
        code(ingest::ip_ranges),
        help(
            "the web ACLs let only Route 53's health checkers read the health route, so deploy needs their addresses: download https://ip-ranges.amazonaws.com/ip-ranges.json where you can and pass it with --ip-ranges FILE"
        )
    )]
    IpRanges {
        /// What went wrong.
        what: String,
    },

    /// The health token's secret cannot be used as it is.
    #[cfg(feature = "aws")]
    #[error("{what}")]
    #[diagnostic(code(ingest::health_token), help("{help}"))]
    HealthToken {
        /// What is wrong.
        what: String,
        /// How to fix it.
        help: String,
    },

    /// `--wait` ran out before the publisher published the new state.
    #[error("the lever's publisher did not publish {region}'s new state within {seconds} s")]
    #[diagnostic(
        code(ingest::lever_not_published),
        help(
            "the switch is set; the publisher runs every minute and on every switch change: look at its log group (/aws/lambda/<name>-lever) and its errors alarm, and at `ingest status`"
        )
    )]
    LeverNotPublished {
        /// The region.
        region: &'static str,
        /// How long it waited.
        seconds: u64,
    },

    /// `ingest lever drain|restore` with ARC routing controls as the switches.
    #[error(
        "with failover.lever: arc the drain switches are ARC routing controls, which ingest does not set"
    )]
    #[diagnostic(
        code(ingest::lever_arc),
        help(
            "set the routing control through one of the cluster's five regional endpoints (the ARC data plane): `aws route53-recovery-cluster update-routing-control-state --routing-control-arn <{region} routing control: the dns stack's output> --routing-control-state {state} --region <endpoint region> --endpoint-url <cluster endpoint>`"
        )
    )]
    LeverArc {
        /// The region.
        region: &'static str,
        /// Drain (Off) or restore (On).
        drain: bool,
        /// `Off` to drain, `On` to restore.
        state: &'static str,
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
    /// The process exit code for this error: 2 for inputs that could not be read whole (as for
    /// clap's own usage errors, which exit 2 before any command runs), 1 for everything else a
    /// command refuses or cannot do.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Inputs { .. } => ExitCode::from(ingest_runtime::lines::EXIT_INPUT),
            _ => ExitCode::FAILURE,
        }
    }
}

#[cfg(feature = "local")]
fn dev_help(error: &ingest_runtime::pipeline::dev::DevError) -> &'static str {
    match error {
        ingest_runtime::pipeline::dev::DevError::Listen { .. } => {
            ingest_runtime::pipeline::dev::DevError::LISTEN_HELP
        }
        ingest_runtime::pipeline::dev::DevError::Io(_) => {
            "check that --out names a folder you can write"
        }
    }
}

/// One input that could not be read whole, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputTrouble(pub ingest_runtime::lines::InputError);

impl From<ingest_runtime::lines::InputError> for InputTrouble {
    fn from(error: ingest_runtime::lines::InputError) -> Self {
        InputTrouble(error)
    }
}

impl Diagnostic for InputTrouble {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        use ingest_runtime::lines::InputProblem;
        Some(Box::new(match self.0.problem {
            InputProblem::Unreadable { .. } => "ingest::input_unreadable",
            InputProblem::Empty => "ingest::input_empty",
            InputProblem::BrokenArray { .. } => "ingest::input_broken_array",
        }))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        use ingest_runtime::lines::InputProblem;
        Some(Box::new(match self.0.problem {
            InputProblem::Unreadable { .. } => "check the path and that you may read it",
            InputProblem::Empty => {
                "an input holds CloudEvents as NDJSON (one per line) or as one JSON array of them"
            }
            InputProblem::BrokenArray { .. } => {
                "a JSON array of records holds one record between each pair of commas and ends with `]`; or write one record per line (NDJSON)"
            }
        }))
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
        Error::Compat(CompatError::OldInvalid {
            label,
            error: SpecError::Invalid(diagnostics),
        }) => {
            let mut text = diagnostic::render(diagnostics, color);
            let _ = writeln!(
                text,
                "the old spec {label} is not valid, so it cannot be compared: compare with a revision or file whose spec is valid for this version of ingest"
            );
            text
        }
        Error::Breaking {
            diagnostics, next, ..
        } => {
            let mut text = diagnostic::render(diagnostics, color);
            let _ = writeln!(text, "{error}");
            if let Some(next) = next {
                let _ = writeln!(text, "{next}");
            }
            text
        }
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
