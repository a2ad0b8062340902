//! `ingest`: one `ingest.yaml` becomes a two-region, fail-gracefully event-ingest system on AWS.
//!
//! Data flows one way (`docs/architecture.md#how-the-crates-fit`): [`spec::read`] reads the file
//! into a located tree and checks its structure; [`checks::run`] judges the values and resolves the
//! [`plan::Plan`], in which every default, name and derived number is settled; later stages render
//! from the plan only. Every problem on the way is a located [`diagnostic::Diagnostic`], and all of
//! them are reported in one run.
//!
//! The binary (`src/main.rs`) is a thin shell: it parses [`cli::Cli`] (clap types only), runs
//! the command through [`commands::run`] (one module per command), and reports an
//! [`errors::Error`] once.

pub mod aws;
pub mod checks;
pub mod cli;
#[cfg(feature = "aws")]
pub mod cloud;
pub mod commands;
pub mod compat;
pub mod diagnostic;
pub mod drill;
pub mod errors;
pub mod lever;
pub mod output;
pub mod package;
pub mod plan;
pub mod program;
pub mod render;
#[cfg(feature = "local")]
pub mod settings;
pub mod spec;
pub mod staging;
pub mod summary;
pub mod template_checks;
pub mod yaml;

use std::path::Path;

use diagnostic::Diagnostic;
use plan::Plan;
use spec::SpecError;

/// A spec that passed every check.
#[derive(Debug)]
pub struct CheckedSpec {
    /// The resolved plan.
    pub plan: Plan,
    /// Warnings (never errors), sorted by position.
    pub warnings: Vec<Diagnostic>,
    /// The spec file, to locate diagnostics about it after the check.
    pub document: spec::Document,
}

/// Reads and checks a spec: the plan, or every diagnostic (sorted) when any is an error.
pub fn check_spec(path: &Path) -> Result<CheckedSpec, SpecError> {
    finish_check(spec::read(path)?, &spec::Disk)
}

/// Checks a spec held in memory; `path` is where it would live (schema files are found beside
/// it).
pub fn check_source(source: diagnostic::SourceFile, path: &Path) -> Result<CheckedSpec, SpecError> {
    finish_check(spec::read_source(source, path)?, &spec::Disk)
}

/// Checks a spec held in memory whose schema files come from `files` (a git revision, a
/// deployed spec); `path` is where the spec is among those files.
pub fn check_files(
    source: diagnostic::SourceFile,
    path: &Path,
    files: &dyn spec::SpecFiles,
) -> Result<CheckedSpec, SpecError> {
    finish_check(spec::read_source(source, path)?, files)
}

fn finish_check(
    (read, mut diagnostics): (spec::ReadSpec, Vec<Diagnostic>),
    files: &dyn spec::SpecFiles,
) -> Result<CheckedSpec, SpecError> {
    let plan = read.raw.as_ref().map(|raw| {
        let (plan, found) = checks::run(&read.document, &read.path, raw, files);
        diagnostics.extend(found);
        plan
    });
    if let Some(events) = &read.raw_events {
        diagnostics.extend(checks::events_only(
            &read.document,
            &read.path,
            events,
            files,
        ));
    }
    if let Some(plan) = &plan
        && !diagnostics.iter().any(Diagnostic::is_error)
    {
        diagnostics.extend(checks::account_trust(&read.document, plan, files));
    }
    diagnostic::sort(&mut diagnostics);
    match plan {
        Some(plan) if !diagnostics.iter().any(Diagnostic::is_error) => Ok(CheckedSpec {
            plan,
            warnings: diagnostics,
            document: read.document,
        }),
        _ => Err(SpecError::Invalid(diagnostics)),
    }
}
