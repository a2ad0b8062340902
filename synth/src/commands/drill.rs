//! `ingest drill [SPEC] [--events FILE | --count N] [--outage SECONDS]`: the outage the system
//! is built for, rehearsed on this machine (see [`crate::drill`] for what it does).

use std::process::{Command, ExitCode};

use serde_json::json;

use super::{Ui, checked_plan, spec_or_default};
use crate::cli::DrillArgs;
use crate::drill::{self, generate};
use crate::errors::{Error, Result};
use crate::program;

/// Runs `ingest drill`: 0 when nothing accepted was lost, 1 otherwise.
pub fn run(args: &DrillArgs, ui: Ui) -> Result<ExitCode> {
    let plan = checked_plan(&spec_or_default(args.spec.as_deref()), ui)?;
    let work = program::cache_root().join(format!("run-{}-{}", plan.name, std::process::id()));
    let write = |path: &std::path::Path, bytes: &[u8]| {
        std::fs::create_dir_all(&work)
            .and_then(|()| std::fs::write(path, bytes))
            .map_err(|source| Error::Write {
                path: path.to_path_buf(),
                source,
            })
    };
    let (events_path, notes) = match &args.events {
        Some(path) => (
            path.clone(),
            json!({"events_file": path.display().to_string()}),
        ),
        None => {
            let generated = generate::events(&plan, args.count, args.seed)
                .map_err(|error| Error::DrillEvents(error.0))?;
            let path = work.join("events.ndjson");
            let mut text = generated.records.join("\n");
            text.push('\n');
            write(&path, text.as_bytes())?;
            (path, generated.notes)
        }
    };
    let config_path = work.join("config.json");
    let config = drill::config(&plan, args.outage, args.seed, notes);
    write(
        &config_path,
        &serde_json::to_vec_pretty(&config).unwrap_or_default(),
    )?;
    let binary = drill::build(&plan)?;
    let mut command = Command::new(&binary);
    command
        .arg("--config")
        .arg(&config_path)
        .arg("--events")
        .arg(&events_path);
    if let Some(out) = &args.out {
        command.arg("--out").arg(out);
    }
    let status = command.status();
    let _ = std::fs::remove_dir_all(&work);
    let status = status.map_err(|source| Error::Run {
        program: binary,
        source,
    })?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
