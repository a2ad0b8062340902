//! `ingest drill [SPEC] [--events FILE | --count N] [--outage SECONDS] [--outage-kind KIND]
//! [--spool-s3-down SECONDS] [--late-notifications SECONDS] [--duplicate-notifications N]
//! [--hostile N] [--json] [--compiled]`:
//! the outage the system is built for, rehearsed on this machine (see [`crate::drill`]).

use std::io::IsTerminal;
use std::process::{Command, ExitCode, Stdio};

use ingest_runtime::pipeline::drill::{self, DrillFaults, DrillReport, DrillRun};
use ingest_runtime::pipeline::local::Outage;
use serde_json::json;

use super::{Ui, checked_plan, registry, spec_or_default};
use crate::cli::{DrillArgs, DrillOutage};
use crate::drill::generate;
use crate::errors::{Error, Result};
use crate::program::{self, SpecProgram};
use crate::settings;

/// Runs `ingest drill`: 0 when nothing accepted was lost, 1 otherwise.
pub fn run(args: &DrillArgs, ui: Ui) -> Result<ExitCode> {
    let plan = checked_plan(&spec_or_default(args.spec.as_deref()), ui)?;
    let (records, notes) = match &args.events {
        Some(path) => {
            let input = std::fs::read(path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let records = drill::read_records(&input).map_err(|problem| Error::Inputs {
                errors: vec![
                    ingest_runtime::lines::InputError {
                        input: path.clone(),
                        problem,
                    }
                    .into(),
                ],
            })?;
            (records, json!({"events_file": path.display().to_string()}))
        }
        None => {
            let generated = generate::events(&plan, args.count, args.seed)
                .map_err(|error| Error::DrillEvents(error.0))?;
            let records = generated
                .records
                .into_iter()
                .map(String::into_bytes)
                .collect();
            (records, generated.notes)
        }
    };
    let outage = match args.outage_kind {
        DrillOutage::Brownout => Outage::Brownout,
        DrillOutage::Hang => Outage::Hang,
        DrillOutage::Region => Outage::Region,
    };
    let faults = DrillFaults {
        spool_s3_down_seconds: args.spool_s3_down,
        notification_delay_seconds: args.late_notifications,
        duplicate_notifications_per_mille: args.duplicate_notifications,
        hostile_records: args.hostile,
    };
    let config = settings::drill(&plan, args.outage, outage, faults, args.seed, notes);
    let report = if args.compiled {
        compiled(&plan, config, &records, args)?
    } else {
        drill::run(&registry(&plan)?, &config, &records, args.out.as_deref())
    };
    if args.json || !std::io::stdout().is_terminal() {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        eprintln!("{}", report.verdict());
    } else {
        print!("{}", report.render());
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs the drill in the program over the spec's generated validators and reads its report.
fn compiled(
    plan: &crate::plan::Plan,
    config: drill::DrillConfig,
    records: &[Vec<u8>],
    args: &DrillArgs,
) -> Result<DrillReport> {
    let binary = program::build(plan, SpecProgram::Drill)?;
    let work = program::cache_root().join(format!("run-{}-{}", plan.name, std::process::id()));
    let events = work.join("events.ndjson");
    let mut text = Vec::new();
    for record in records {
        text.extend_from_slice(record);
        text.push(b'\n');
    }
    std::fs::create_dir_all(&work)
        .and_then(|()| std::fs::write(&events, text))
        .map_err(|source| Error::Write {
            path: events.clone(),
            source,
        })?;
    let run = DrillRun {
        config,
        events,
        out: args.out.clone(),
    };
    let output = Command::new(&binary)
        .arg(serde_json::to_string(&run).unwrap_or_default())
        .stderr(Stdio::inherit())
        .output();
    let _ = std::fs::remove_dir_all(&work);
    let output = output.map_err(|source| Error::Run {
        program: binary.clone(),
        source,
    })?;
    serde_json::from_slice(&output.stdout).map_err(|error| Error::ProgramOutput {
        program: binary,
        message: format!("{error} (it exited with {})", output.status),
    })
}
