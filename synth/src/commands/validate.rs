//! `ingest validate [--spec SPEC] FILE... [--json] [--jobs N] [--compiled]`: a verdict per
//! record, with the spec's validators.
//!
//! The spec's schemas are compiled in this process by `ingest-eval` (microseconds; the
//! generated code's verdicts and violations) and `ingest_runtime::lines` judges the inputs on
//! every core, streaming. With `--compiled`, the spec's generated events crate is built into a
//! program ([`crate::program`]) that runs the same `lines` with the same options. Either way
//! the output goes straight to standard output: lines for people on a terminal, JSON lines
//! otherwise or with `--json`.

use std::io::IsTerminal;
use std::process::{Command, ExitCode};

use ingest_runtime::lines::{self, Format};

use super::{Ui, checked_plan, registry, spec_or_default};
use crate::cli::ValidateArgs;
use crate::errors::{Error, Result};
use crate::program::{self, SpecProgram};
use crate::settings::{self, ValidateOutput};

/// Runs `ingest validate`: exit 0 when every record is valid, 1 when one is not, 2 when an
/// input could not be read whole.
pub fn run(args: &ValidateArgs, ui: Ui) -> Result<ExitCode> {
    let plan = checked_plan(&spec_or_default(args.spec.as_deref()), ui)?;
    let human = !args.json && std::io::stdout().is_terminal();
    let options = settings::validate(
        &plan,
        args.files.clone(),
        ValidateOutput {
            format: if human { Format::Human } else { Format::Json },
            color: human && ui.color,
            progress: std::io::stderr().is_terminal(),
            jobs: args.jobs.map_or(0, usize::from),
        },
    );
    if args.compiled {
        let binary = program::build(&plan, SpecProgram::Validate)?;
        let status = Command::new(&binary)
            .arg(serde_json::to_string(&options).unwrap_or_default())
            .status()
            .map_err(|source| Error::Run {
                program: binary,
                source,
            })?;
        return Ok(ExitCode::from(
            status
                .code()
                .and_then(|code| u8::try_from(code).ok())
                .unwrap_or(lines::EXIT_INPUT),
        ));
    }
    let registry = registry(&plan)?;
    let stdout = std::io::stdout();
    let summary = match lines::run(&registry, &options, &mut stdout.lock()) {
        Ok(summary) => summary,
        // A reader that stopped early (`| head`) has what it wanted.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(ExitCode::SUCCESS);
        }
        Err(source) => return Err(Error::WriteOutput { source }),
    };
    if summary.records > 0 || summary.input_errors.is_empty() {
        eprint!("{}", summary.render());
    }
    if !summary.input_errors.is_empty() {
        return Err(Error::Inputs {
            errors: summary.input_errors.into_iter().map(Into::into).collect(),
        });
    }
    Ok(ExitCode::from(summary.exit_code()))
}
