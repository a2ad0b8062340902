//! `ingest dev [SPEC]`: both regions on this machine, with no Docker and no AWS.
//!
//! The command checks the spec, takes both regions' numbers from the plan
//! ([`crate::settings::dev`]; `--spool-buffer` and `--visibility-timeout` shorten the spec's
//! waits for a rehearsal by hand), compiles the spec's validators in this process
//! (`ingest-eval`), and runs `ingest_runtime::pipeline::dev`: it serves the domain, the primary
//! and the secondary on 127.0.0.1, runs the pipeline on the real clock, writes buckets as
//! folders under `--out`, logs a line per handler batch on standard error, and when stopped
//! (Ctrl-C, SIGTERM) flushes the spool, delivers what is pending and prints a summary. See the
//! runtime's `pipeline::dev` for the routes. With `--compiled` this process becomes the program
//! over the spec's generated validators ([`crate::program`]), which runs the same server.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use ingest_runtime::Registry;
use ingest_runtime::pipeline::dev::{self, DevOptions, DevPorts, DevRun, DevServer};

use super::{Ui, checked_plan, registry, spec_or_default};
use crate::cli::DevArgs;
use crate::errors::{Error, Result};
use crate::program::{self, SpecProgram};
use crate::settings::{self, DevWaits};

/// Runs `ingest dev` until it is stopped: 0 when everything accepted was delivered, 1 when
/// something was left.
pub fn run(args: &DevArgs, ui: Ui) -> Result<ExitCode> {
    let plan = checked_plan(&spec_or_default(args.spec.as_deref()), ui)?;
    let run = DevRun {
        config: settings::dev(
            &plan,
            DevWaits {
                spool_buffer_seconds: args.spool_buffer,
                visibility_timeout_seconds: args.visibility_timeout,
            },
        ),
        out: args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(".ingest-dev").join(&plan.name)),
        ports: DevPorts {
            domain: args.port,
            primary: args.primary_port,
            secondary: args.secondary_port,
        },
    };
    if args.compiled {
        let binary = program::build(&plan, SpecProgram::Dev)?;
        let mut command = Command::new(&binary);
        command.arg(serde_json::to_string(&run).unwrap_or_default());
        return exec(command, binary);
    }
    // The server's threads hold the registry for the life of the process.
    let registry: &'static Registry = Box::leak(Box::new(registry(&plan)?));
    let options = DevOptions {
        ports: run.ports,
        ..DevOptions::new(run.out.clone())
    };
    let server = DevServer::start(registry, run.config.clone(), options).map_err(Error::Dev)?;
    print!(
        "{}",
        dev::banner(&run.config, &server.addresses(), &run.out)
    );
    let summary = server.wait();
    print!("{}", summary.render());
    Ok(if summary.delivered() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
