//! The `ingest` binary: parses the command line, runs the command, reports an error once.
//! Everything else lives in the library (`ingest_synth::commands`).

use std::process::ExitCode;

use clap::Parser;
use ingest_synth::cli::Cli;
use ingest_synth::commands::{self, Ui};
use ingest_synth::errors;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ui = Ui::new(cli.color);
    match commands::run(cli.command, ui) {
        Ok(code) => code,
        Err(error) => {
            eprint!("{}", errors::render(&error, ui.color));
            error.exit_code()
        }
    }
}
