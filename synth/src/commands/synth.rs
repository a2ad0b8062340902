//! `ingest synth [SPEC...] [--out DIR] [--check] [--templates DIR]`.
//!
//! Every spec is checked and rendered in memory before anything is written, so one bad spec
//! writes nothing at all; then each spec's folder is replaced in one rename
//! ([`crate::output::write`]). `--check` compares instead of writing and fails with the diffs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{Ui, default_spec};
use crate::cli::SynthArgs;
use crate::errors::{Error, Result};
use crate::output::{self, FileSet};
use crate::plan::Plan;
use crate::render::{self, Rendered, Templates};

/// One spec, checked and rendered.
struct Synthesized {
    path: PathBuf,
    plan: Plan,
    files: FileSet,
    rendered: Rendered,
}

/// Runs `ingest synth`.
pub fn run(args: &SynthArgs, ui: Ui) -> Result<ExitCode> {
    let templates = match &args.templates {
        Some(dir) => Templates::from_dir(dir),
        None => Templates::embedded(),
    }
    .map_err(Error::Templates)?;
    let paths = if args.specs.is_empty() {
        vec![default_spec()]
    } else {
        args.specs.clone()
    };
    let sets = synthesize_all(&paths, &templates, ui)?;
    if args.check {
        return check(&sets, &args.out);
    }
    for set in &sets {
        output::write(&args.out, &set.files).map_err(|source| Error::Write {
            path: args.out.clone(),
            source,
        })?;
        print!("{}", summary(set, &args.out));
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks and renders every spec; any failure fails the whole run, with every failure listed.
fn synthesize_all(paths: &[PathBuf], templates: &Templates, ui: Ui) -> Result<Vec<Synthesized>> {
    let mut sets: Vec<Synthesized> = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let checked = match crate::check_spec(path) {
            Ok(checked) => checked,
            Err(error) => {
                errors.push(Error::Spec(error));
                continue;
            }
        };
        ui.warnings(&checked.warnings);
        if let Some(first) = sets.iter().find(|s| s.plan.name == checked.plan.name) {
            errors.push(Error::DuplicateName {
                first: first.path.clone(),
                second: path.clone(),
                name: checked.plan.name,
            });
            continue;
        }
        match output::assemble(&checked.plan, templates) {
            Ok((files, rendered)) => sets.push(Synthesized {
                path: path.clone(),
                plan: checked.plan,
                files,
                rendered,
            }),
            Err(source) => errors.push(Error::Render {
                spec: path.clone(),
                source,
            }),
        }
    }
    if errors.is_empty() {
        Ok(sets)
    } else {
        Err(Error::NothingWritten { errors })
    }
}

/// `--check`: the stale files of every spec as diffs on standard error, and an error naming the
/// command that regenerates them.
fn check(sets: &[Synthesized], out: &Path) -> Result<ExitCode> {
    let mut stale_specs = Vec::new();
    for set in sets {
        let stale = output::compare(out, &set.files).map_err(|source| Error::Read {
            path: out.to_path_buf(),
            source,
        })?;
        if !stale.is_empty() {
            eprint!("{}", output::describe(&stale));
            stale_specs.push(set.path.display().to_string());
        }
    }
    if !stale_specs.is_empty() {
        return Err(Error::Stale {
            out: out.to_path_buf(),
            specs: stale_specs.join(" "),
        });
    }
    println!(
        "{} is up to date ({} spec{})",
        out.display(),
        sets.len(),
        if sets.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

/// What one spec wrote: its folder, and each stack's region, resources and size.
fn summary(set: &Synthesized, out: &Path) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: wrote {} files to {}",
        set.path.display(),
        set.files.files.len(),
        out.join(&set.plan.name).display()
    );
    for stack in &set.rendered.stacks {
        let note = if stack.text.len() > render::INLINE_TEMPLATE_LIMIT {
            "  (over the 51,200-byte inline limit: deploy stages it in S3)"
        } else {
            ""
        };
        let _ = writeln!(
            text,
            "  {:<28} {:<15} {:>3} resources {:>7} bytes{note}",
            stack.name,
            stack.region,
            stack.resources,
            stack.text.len()
        );
    }
    text
}
