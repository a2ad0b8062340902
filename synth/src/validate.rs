//! `ingest validate [--spec SPEC] FILE...`: validates events with exactly the code the
//! pipeline runs.
//!
//! The spec's generated events module (the code `ingest synth` writes to
//! `generated/<name>/events/`) is linked with `ingest_runtime::lines::main`, built once in
//! release mode and cached by content ([`crate::program`]), then run over the files. The second
//! run of the same spec starts at once; any change to a schema (or to ingest) builds anew. It
//! works for a spec anywhere on disk, and needs the ingest source tree this binary was built from.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::program::{self, ProgramError, SpecProgram};

/// What went wrong while preparing the validator.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The spec did not load.
    #[error("the spec has errors")]
    Spec(crate::spec::SpecError),
    /// The program could not be built.
    #[error(transparent)]
    Program(#[from] ProgramError),
}

/// The validator program: the spec's registry driving `ingest_runtime::lines`.
pub const PROGRAM: SpecProgram<'static> = SpecProgram {
    purpose: "validate",
    runtime_features: &[],
    main: "ingest_runtime::lines::main(&events::REGISTRY, std::env::args_os().skip(1))",
};

/// The built validator program of a spec, building it if the cache does not have it.
pub fn build_validator(spec: &Path) -> Result<PathBuf, ValidateError> {
    let checked = crate::check_spec(spec).map_err(ValidateError::Spec)?;
    Ok(program::build(&checked.plan, &PROGRAM)?)
}

/// Runs `ingest validate`: exit 0 when every record is valid, 1 otherwise.
pub fn run(spec: &Path, files: &[OsString]) -> ExitCode {
    let binary = match build_validator(spec) {
        Ok(binary) => binary,
        Err(ValidateError::Spec(error)) => {
            crate::cli::report(&error, false);
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match Command::new(&binary).args(files).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: cannot run {}: {error}", binary.display());
            ExitCode::FAILURE
        }
    }
}
