//! `ingest package [SPEC] [--arch arm64|x86_64] [--out DIR]`: the spec's Lambda `bootstrap`,
//! built for `provided.al2023` and zipped reproducibly (see [`crate::package`]).

use std::process::ExitCode;

use super::{Ui, checked_plan, spec_or_default};
use crate::cli::PackageArgs;
use crate::errors::Result;
use crate::package;

/// Runs `ingest package`: prints the zip's path, size and SHA-256.
pub fn run(args: &PackageArgs, ui: Ui) -> Result<ExitCode> {
    let plan = checked_plan(&spec_or_default(args.spec.as_deref()), ui)?;
    let arch = package::arch_for(&plan, args.arch)?;
    print!("{}", package::package(&plan, arch, args.out.as_deref())?);
    Ok(ExitCode::SUCCESS)
}
