//! `ingest check [SPEC]`: every problem of a spec at once, located, or a summary of the system.

use std::io::Write;
use std::process::ExitCode;

use super::{Ui, checked_plan, spec_or_default};
use crate::cli::CheckArgs;
use crate::errors::Result;

/// Prints the summary of a valid spec (warnings on standard error); an invalid spec is an error
/// carrying every diagnostic.
pub fn run(args: &CheckArgs, ui: Ui) -> Result<ExitCode> {
    let path = spec_or_default(args.spec.as_deref());
    let plan = checked_plan(&path, ui)?;
    let summary = crate::summary::render(&path.display().to_string(), &plan);
    // A closed standard output (`ingest check | head`) is not the spec's fault.
    let _ = std::io::stdout().write_all(summary.as_bytes());
    Ok(ExitCode::SUCCESS)
}
