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
            next: None,
        });
    }
    ui.warnings(&diagnostics);
    Ok(ExitCode::SUCCESS)
}

/// Before `ingest deploy` changes anything: the check against the deployed spec, which stops
/// the deploy on a breaking change unless `allow_breaking`.
#[cfg(feature = "aws")]
pub(crate) async fn before_deploy(
    cloud: &crate::cloud::Cloud,
    checked: &crate::CheckedSpec,
    allow_breaking: bool,
    ui: Ui,
) -> Result<()> {
    let comparison = match compat::against_deployed(cloud, checked).await {
        Ok(Some(comparison)) => comparison,
        Ok(None) => return Ok(()),
        Err(Error::Compat(error @ compat::CompatError::OldInvalid { .. })) if allow_breaking => {
            eprint!("{}", crate::errors::render(&Error::Compat(error), ui.color));
            eprintln!("deploying anyway (--allow-breaking) without comparing the event schemas");
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    print(&comparison.summary());
    let reported = comparison.reported();
    if comparison.is_breaking() && !allow_breaking {
        return Err(Error::Breaking {
            breaking: reported.iter().filter(|d| d.is_error()).count(),
            against: comparison.against,
            diagnostics: reported,
            next: Some(
                "nothing was deployed: deploy the new schemas once no producer sends such events, or pass --allow-breaking to deploy now and let those events go to quarantine"
                    .to_owned(),
            ),
        });
    }
    if !reported.is_empty() {
        eprint!("{}", crate::diagnostic::render(&reported, ui.color));
    }
    if comparison.is_breaking() {
        eprintln!("deploying anyway (--allow-breaking): those events will go to quarantine");
    }
    Ok(())
}

/// `ingest diff`: the check against the deployed spec, shown (breaking changes as errors, so
/// the reader sees what `deploy` would refuse) without failing the diff.
#[cfg(feature = "aws")]
pub(crate) async fn in_diff(
    cloud: &crate::cloud::Cloud,
    checked: &crate::CheckedSpec,
    ui: Ui,
) -> Result<()> {
    let Some(comparison) = compat::against_deployed(cloud, checked).await? else {
        return Ok(());
    };
    print(&comparison.summary());
    let reported = comparison.reported();
    if !reported.is_empty() {
        eprint!("{}", crate::diagnostic::render(&reported, ui.color));
    }
    if comparison.is_breaking() {
        eprintln!(
            "`ingest deploy` would stop at these breaking changes unless given --allow-breaking"
        );
    }
    Ok(())
}

fn print(text: &str) {
    // A closed standard output (`ingest check | head`) is not the spec's fault.
    let _ = std::io::stdout().write_all(text.as_bytes());
}
