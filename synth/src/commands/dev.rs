//! `ingest dev [SPEC]`: both regions on this machine (see [`crate::dev`] for what runs).

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use super::{Ui, checked_plan, spec_or_default};
use crate::cli::DevArgs;
use crate::errors::{Error, Result};

/// Runs `ingest dev` until it is stopped: the program's own exit code (0 when everything
/// accepted was delivered, 1 when something was left, 2 when a port is taken).
pub fn run(args: &DevArgs, ui: Ui) -> Result<ExitCode> {
    let plan = checked_plan(&spec_or_default(args.spec.as_deref()), ui)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(".ingest-dev").join(&plan.name));
    let config = crate::dev::config(&plan, args);
    let binary = crate::dev::build(&plan)?;
    let mut command = Command::new(&binary);
    command
        .arg("--config-json")
        .arg(config.to_string())
        .arg("--out")
        .arg(&out)
        .arg("--port")
        .arg(args.port.to_string())
        .arg("--primary-port")
        .arg(args.primary_port.to_string())
        .arg("--secondary-port")
        .arg(args.secondary_port.to_string());
    exec(command, binary)
}

/// Replaces this process with the program, so signals reach it directly.
#[cfg(unix)]
fn exec(mut command: Command, program: PathBuf) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let source = command.exec();
    Err(Error::Run { program, source })
}

/// Runs the program and passes its exit code on.
#[cfg(not(unix))]
fn exec(mut command: Command, program: PathBuf) -> Result<ExitCode> {
    let status = command
        .status()
        .map_err(|source| Error::Run { program, source })?;
    Ok(ExitCode::from(
        u8::try_from(status.code().unwrap_or(1)).unwrap_or(1),
    ))
}
