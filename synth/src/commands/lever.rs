//! `ingest lever weights P S | drain REGION | restore REGION`: the traffic lever
//! (`docs/architecture.md#the-lever`).
//!
//! - **weights**: a parameter-only change set on the dns stack (the template it has, every
//!   other parameter as it is), shown, confirmed and followed like a deploy. This goes through
//!   Route 53's control plane, so it is for calm days and drills.
//! - **drain / restore**: set a region's drain switch through
//!   [`DrainSwitches`](crate::cloud::switch::DrainSwitches) as the stack's lever operator role
//!   (STS, S3 and, with `--wait`, CloudWatch, all in the secondary region), no call to Route 53
//!   or to the primary region. Draining a region while the other is drained is refused: with
//!   every record unhealthy Route 53 fails open and answers by weight, so the drain would
//!   silently undo itself.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use super::deploy::{
    Progress, Target, confirm, require_answerable, settings, stack_failed, state_error, table,
    targets,
};
use super::deploy::{out, outln};
use super::{Ui, checked_plan, spec_or_default};
use crate::cli::{LeverAction, LeverArgs, RegionRole};
use crate::cloud::stacks::{
    ChangeSetOutcome, ChangeSetRequest, ParameterValue, Stacks, StatusKind, TemplateSource,
    status_kind,
};
use crate::cloud::switch::{DrainSwitches, OPERATOR_ROLE_OUTPUT, SwitchState};
use crate::cloud::{self, Cloud};
use crate::errors::{Error, Result};
use crate::plan::{LeverChoice, Plan, Role};

/// How the dns stack's parameters and outputs name a region: `Primary`, `Secondary`.
pub fn dns_prefix(role: Role) -> &'static str {
    match role {
        Role::Primary => "Primary",
        Role::Secondary => "Secondary",
    }
}

/// The dns stack's weight parameter of a region.
pub fn weight_parameter(role: Role) -> String {
    format!("{}Weight", dns_prefix(role))
}

fn role(region: RegionRole) -> Role {
    match region {
        RegionRole::Primary => Role::Primary,
        RegionRole::Secondary => Role::Secondary,
    }
}

fn other(role: Role) -> Role {
    match role {
        Role::Primary => Role::Secondary,
        Role::Secondary => Role::Primary,
    }
}

/// Runs `ingest lever`.
pub fn run(args: &LeverArgs, ui: Ui) -> Result<ExitCode> {
    let spec = spec_or_default(args.spec.as_deref());
    let plan = checked_plan(&spec, ui)?;
    let all = targets(&plan, &spec, &[])?;
    match args.action {
        LeverAction::Weights {
            primary,
            secondary,
            yes,
        } => weights(args, ui, &all, primary, secondary, yes),
        LeverAction::Drain { region, wait } => switch(args, &plan, &all, role(region), true, wait),
        LeverAction::Restore { region, wait } => {
            switch(args, &plan, &all, role(region), false, wait)
        }
    }
}

fn find<'t>(all: &'t [Target], kind: &str) -> &'t Target {
    all.iter()
        .find(|t| t.kind == kind)
        .expect("every plan renders this stack")
}

fn weights(
    args: &LeverArgs,
    ui: Ui,
    all: &[Target],
    primary: u8,
    secondary: u8,
    yes: bool,
) -> Result<ExitCode> {
    if primary == 0 && secondary == 0 {
        return Err(Error::ZeroWeights);
    }
    require_answerable(yes, "changing the weights")?;
    let dns = find(all, "dns");
    cloud::block_on(async {
        let cloud = Cloud::connect(&settings(&args.aws), &dns.region).await?;
        let stacks = Stacks::new(&cloud, &dns.region);
        let Some(stack) = stacks.describe(&dns.name).await? else {
            return Err(Error::NotDeployed {
                stack: dns.name.clone(),
                region: dns.region.clone(),
                help: "deploy it first: `ingest deploy`".to_owned(),
            });
        };
        if status_kind(&stack.status) != StatusKind::Stable {
            return Err(state_error(&stack, &dns.region));
        }
        let wanted = [
            (weight_parameter(Role::Primary), primary),
            (weight_parameter(Role::Secondary), secondary),
        ];
        let parameters: Vec<ParameterValue> = stack
            .parameters
            .keys()
            .map(|key| ParameterValue {
                key: key.clone(),
                value: wanted
                    .iter()
                    .find(|(name, _)| name == key)
                    .map(|(_, weight)| weight.to_string()),
            })
            .collect();
        for (name, _) in &wanted {
            if !stack.parameters.contains_key(name) {
                return Err(Error::MissingOutput {
                    stack: dns.name.clone(),
                    output: format!("parameter {name}"),
                });
            }
        }
        let request = ChangeSetRequest {
            stack: dns.name.clone(),
            create: false,
            template: TemplateSource::Previous,
            parameters,
            capabilities: dns.capabilities.clone(),
            tags: Default::default(),
            description: format!("ingest lever weights {primary} {secondary}"),
        };
        eprintln!(
            "note: weights change Route 53 records through its control plane; during an outage \
             drain a region instead (`ingest lever drain REGION`)"
        );
        let change_set = match stacks.create_change_set(&request).await? {
            ChangeSetOutcome::NoChanges => {
                outln!(
                    "{}: weights are {primary} and {secondary} already",
                    dns.name
                );
                return Ok(ExitCode::SUCCESS);
            }
            ChangeSetOutcome::Ready(change_set) => change_set,
        };
        outln!("{} ({}):", dns.name, dns.region);
        for (name, weight) in &wanted {
            let old = stack.parameters.get(name).map_or("?", String::as_str);
            outln!("  parameter {name}: {old} -> {weight}");
        }
        out!("{}", table(&change_set.changes));
        if !yes
            && !confirm(&format!(
                "Set the weights of {} to {primary} and {secondary}?",
                dns.name
            ))?
        {
            stacks
                .delete_change_set(&change_set.id, &change_set.stack_id)
                .await?;
            return Err(Error::Declined {
                what: format!("the weights of {} are as they were", dns.name),
            });
        }
        let cursor = stacks.cursor(&change_set.stack_id).await?;
        stacks.execute(&change_set).await?;
        let progress = Progress::new(ui);
        let line = progress
            .borrow_mut()
            .start(&dns.name, "updating", change_set.changes.len());
        let finished = stacks
            .follow(&change_set.stack_id, cursor, &mut |event| {
                progress.borrow_mut().event(line, event);
            })
            .await?;
        progress.borrow_mut().finish(line, &finished.status);
        progress.borrow_mut().clear();
        if !finished.succeeded() {
            return Err(stack_failed(dns, &finished));
        }
        let total = f64::from(primary) + f64::from(secondary);
        outln!(
            "weights: primary {primary} ({:.1}%), secondary {secondary} ({:.1}%)",
            f64::from(primary) * 100.0 / total,
            f64::from(secondary) * 100.0 / total
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn switch(
    args: &LeverArgs,
    plan: &Plan,
    all: &[Target],
    role: Role,
    drain: bool,
    wait: Option<u64>,
) -> Result<ExitCode> {
    if plan.failover.lever.kind == LeverChoice::Arc {
        return Err(Error::LeverArc {
            region: role.as_str(),
            drain,
            state: if drain { "Off" } else { "On" },
        });
    }
    // The switches live in the secondary stack; nothing else is called.
    let secondary = find(all, plan.secondary.role.as_str());
    let region = role.as_str();
    cloud::block_on(async {
        let cloud = Cloud::connect(&settings(&args.aws), &secondary.region).await?;
        let Some(stack) = Stacks::new(&cloud, &secondary.region)
            .describe(&secondary.name)
            .await?
        else {
            return Err(Error::NotDeployed {
                stack: secondary.name.clone(),
                region: secondary.region.clone(),
                help: "the drain switches live in it: deploy first (`ingest deploy`)".to_owned(),
            });
        };
        let missing = |output: &str| Error::MissingOutput {
            stack: secondary.name.clone(),
            output: output.to_owned(),
        };
        let operator_role = stack
            .outputs
            .get(OPERATOR_ROLE_OUTPUT)
            .ok_or_else(|| missing(OPERATOR_ROLE_OUTPUT))?;
        // Only the operator role may write the switches (the bucket policy denies everyone
        // else): assume it through the secondary region's STS.
        let operator = cloud
            .assume_role(operator_role, &secondary.region, "ingest-lever")
            .await?;
        let switches =
            DrainSwitches::from_outputs(&operator, plan, &stack.outputs).map_err(missing)?;
        let location = switches.location(role).clone();
        let current = switches.read(role).await?;
        if drain {
            let other = other(role);
            if switches.read(other).await?.state.is_drained() {
                return Err(Error::DrainBoth {
                    region: role.as_str(),
                    other: other.as_str(),
                });
            }
        }
        if current.state.is_drained() == drain && current.state != SwitchState::Unreadable {
            outln!(
                "{region} is {} already (s3://{}/{})",
                if drain { "drained" } else { "not drained" },
                location.bucket,
                location.key
            );
        } else {
            let action = if drain { "drain" } else { "restore" };
            switches
                .set(role, drain, &format!("ingest lever {action} {region}"))
                .await?;
            let window = plan.failover.lever.period_seconds;
            if drain {
                outln!(
                    "drained {region}: s3://{}/{} is set; the lever's publisher publishes it within seconds, and Route 53 stops sending {region} traffic once its check reads the alarm (a minute or two)",
                    location.bucket,
                    location.key
                );
            } else {
                outln!(
                    "restored {region}: s3://{}/{} is cleared; {region} gets traffic again once the last drained value has left the alarm's {window} s window and its endpoint is healthy (up to about {} min)",
                    location.bucket,
                    location.key,
                    window.div_ceil(60) + 2
                );
            }
        }
        if let Some(seconds) = wait {
            wait_for_publication(&switches, role, drain, Duration::from_secs(seconds)).await?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Polls the published value of `role`'s switch until it says `drained` (or not), then
/// reports the alarm's state; fails after `limit`.
async fn wait_for_publication(
    switches: &DrainSwitches<'_>,
    role: Role,
    drained: bool,
    limit: Duration,
) -> Result<()> {
    let wanted = if drained { 1.0 } else { 0.0 };
    let started = Instant::now();
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        - 60;
    loop {
        if let Some(published) = switches.published(role).await?
            && published.at_epoch_seconds >= since
            && (published.value - wanted).abs() < f64::EPSILON
        {
            let alarm = switches
                .alarm_state(role)
                .await?
                .unwrap_or_else(|| "unknown".to_owned());
            outln!(
                "published: {} is {} (alarm {alarm})",
                role.as_str(),
                if drained { "drained" } else { "not drained" }
            );
            return Ok(());
        }
        if started.elapsed() >= limit {
            return Err(Error::LeverNotPublished {
                region: role.as_str(),
                seconds: limit.as_secs(),
            });
        }
        eprintln!(
            "waiting for the lever's publisher ({} s)...",
            started.elapsed().as_secs()
        );
        tokio::time::sleep(Duration::from_secs(5).min(limit)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_parameters_are_the_dns_templates() {
        let spec =
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/ingest.yaml"));
        let plan = crate::check_spec(&spec).unwrap().plan;
        let all = targets(&plan, &spec, &[]).unwrap();
        let dns = find(&all, "dns");
        for role in [Role::Primary, Role::Secondary] {
            assert!(
                dns.parameters
                    .iter()
                    .any(|(k, _)| *k == weight_parameter(role)),
                "the dns template has no {}",
                weight_parameter(role)
            );
        }
    }
}
