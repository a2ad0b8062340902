//! `ingest diff [SPEC] [--only STACK] [--artifact ZIP]`: what deploy would change, changing
//! nothing.
//!
//! The same preparation as deploy ([`super::deploy::prepare`]): the zip and templates are
//! staged (content-addressed, so this is what deploy will use), and each deployed stack gets a
//! change set against what runs now, shown as a table and deleted again. A stack that does not
//! exist is shown from its template ("new stack") without a change set, since a create change
//! set would make the stack exist. A stack whose parameters come from stacks not deployed yet
//! is listed as waiting for them.
//!
//! Exit codes: 0 when nothing would change, [`EXIT_CHANGES`] when something would (like
//! `cdk diff --fail`), 1 on error.

use std::collections::BTreeSet;
use std::process::ExitCode;

use super::deploy::out;
use super::deploy::{
    Inputs, StackChange, Target, artifact_bytes, decision_message, deploy_values, levels,
    outside_outputs, prepare, render_change, settings, stage, targets,
};
use super::{Ui, checked_spec, spec_or_default};
use crate::cli::DiffArgs;
use crate::cloud::stacks::Stacks;
use crate::cloud::staging::Staging;
use crate::cloud::{self, Cloud};
use crate::errors::Result;
use crate::plan::StackKind;

/// The exit code of a diff that found changes (1 is an error, 2 a command-line mistake).
pub const EXIT_CHANGES: u8 = 3;

/// Runs `ingest diff`.
pub fn run(args: &DiffArgs, ui: Ui) -> Result<ExitCode> {
    let spec = spec_or_default(args.spec.as_deref());
    let checked = checked_spec(&spec, ui)?;
    let plan = &checked.plan;
    let all = targets(plan, &spec, &[])?;
    let selected = targets(plan, &spec, &args.only)?;
    let zip = if selected.iter().any(Target::needs_code) {
        Some(artifact_bytes(plan, args.artifact.as_deref())?)
    } else {
        None
    };
    let regions: Vec<String> = selected
        .iter()
        .map(|t| t.region.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    cloud::block_on(async {
        let cloud = Cloud::connect(&settings(&args.aws), &regions[0]).await?;
        let staging = Staging::find(&cloud, &regions).await?;
        let mut staged = stage(&staging, &selected, zip.as_deref()).await?;
        let values = deploy_values(
            &cloud,
            plan,
            &selected,
            args.ip_ranges.as_deref(),
            Inputs::ReadOnly,
        )
        .await?;
        // What deploy would do about the token (its order, a previous token still accepted).
        if let Some(message) = values.token.as_ref().and_then(decision_message) {
            eprintln!("health token: {message}");
        }
        staged.deploy_values = values.values;
        let mut outputs = outside_outputs(&cloud, &all, &selected).await?;
        let mut changes = false;
        for level in levels(&selected) {
            for target in level {
                let prepared = prepare(&cloud, &staging, &staged, target, &outputs, false).await?;
                out!("{}", render_change(&prepared));
                match &prepared.change {
                    StackChange::NoChanges => {}
                    StackChange::Change { change_set, .. } => {
                        changes = true;
                        Stacks::new(&cloud, &target.region)
                            .delete_change_set(&change_set.id, &change_set.stack_id)
                            .await?;
                    }
                    StackChange::New | StackChange::Waiting { .. } => changes = true,
                }
                // A later level reads this stack's outputs as deployed now.
                if let Some(existing) = prepared.existing {
                    outputs.insert(target.kind, existing.outputs);
                }
            }
        }
        // What deploy would refuse: changes that send valid events to quarantine.
        if selected
            .iter()
            .any(|t| t.kind == StackKind::Primary.as_str())
        {
            super::check::in_diff(&cloud, &checked, ui).await?;
        }
        Ok(if changes {
            ExitCode::from(EXIT_CHANGES)
        } else {
            ExitCode::SUCCESS
        })
    })
}
