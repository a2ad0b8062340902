//! `ingest check [SPEC] [--against OLD]`: every problem of a spec at once, located, or a summary
//! of the system; with `--against`, also every change to its event schemas since OLD that would
//! send events that were valid to quarantine (see [`crate::compat`]).

use std::io::Write;
use std::process::ExitCode;

use super::{Ui, spec_or_default};
use crate::cli::CheckArgs;
use crate::compat::{self, Against};
use crate::errors::{Error, Result};

/// Prints the summary of a valid spec (warnings on standard error); an invalid spec is an error
/// carrying every diagnostic, and so is a breaking change against `--against`.
pub fn run(args: &CheckArgs, ui: Ui) -> Result<ExitCode> {
    let path = spec_or_default(args.spec.as_deref());
    let checked = crate::check_spec(&path)?;
    let mut summary = crate::summary::render(&path.display().to_string(), &checked.plan);
    let Some(against) = &args.against else {
        ui.warnings(&checked.warnings);
        print(&summary);
        return Ok(ExitCode::SUCCESS);
    };
    let old = compat::load(&Against::parse(against), &path)?;
    let comparison = compat::compare(&checked, &old);
    summary.push('\n');
    summary.push_str(&comparison.summary());
    print(&summary);
    let mut diagnostics = checked.warnings;
    diagnostics.extend(comparison.reported());
    crate::diagnostic::sort(&mut diagnostics);
    if comparison.is_breaking() {
        return Err(Error::Breaking {
            against: comparison.against,
            breaking: diagnostics.iter().filter(|d| d.is_error()).count(),
            diagnostics,
        });
    }
    ui.warnings(&diagnostics);
    Ok(ExitCode::SUCCESS)
}

fn print(text: &str) {
    // A closed standard output (`ingest check | head`) is not the spec's fault.
    let _ = std::io::stdout().write_all(text.as_bytes());
}
