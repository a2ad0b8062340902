//! `ingest completions <SHELL>`: the completion script of a shell, from the clap types.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::errors::Result;

/// Prints the script on standard output.
pub fn run(args: &CompletionsArgs) -> Result<ExitCode> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "ingest", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
