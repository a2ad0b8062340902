//! `ingest validate [--spec SPEC] FILE...`: validates events with exactly the code the
//! pipeline runs.
//!
//! The spec's generated events module (the code `ingest synth` writes to
//! `generated/<name>/events/`) is linked with `ingest_runtime::lines::main`, built once in
//! release mode and cached by content ([`crate::program`]), then run over the files. The second
//! run of the same spec starts at once; any change to a schema (or to ingest) builds anew. It
//! works for a spec anywhere on disk, and needs the ingest source tree this binary was built from.

use std::process::{Command, ExitCode};

use super::{Ui, checked_plan, spec_or_default};
use crate::cli::ValidateArgs;
use crate::errors::{Error, Result};
use crate::program::{self, SpecProgram};

/// The validator program: the spec's registry driving `ingest_runtime::lines`.
pub const PROGRAM: SpecProgram<'static> = SpecProgram {
    purpose: "validate",
    runtime_features: &[],
    main: "ingest_runtime::lines::main(&events::REGISTRY, std::env::args_os().skip(1))",
};

/// Runs `ingest validate`: exit 0 when every record is valid, 1 otherwise.
pub fn run(args: &ValidateArgs, ui: Ui) -> Result<ExitCode> {
    let plan = checked_plan(&spec_or_default(args.spec.as_deref()), ui)?;
    let binary = program::build(&plan, &PROGRAM)?;
    let status = Command::new(&binary)
        .args(&args.files)
        .status()
        .map_err(|source| Error::Run {
            program: binary.clone(),
            source,
        })?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
