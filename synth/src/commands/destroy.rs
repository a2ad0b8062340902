//! `ingest destroy [SPEC] [--yes]`: delete the stacks in reverse dependency order (the dns
//! stack first, then the regional stacks together), following each deletion like a deploy.
//!
//! What the templates keep on purpose (`DeletionPolicy: Retain`: the data buckets, the stream,
//! keys, log groups, the Glue database) is skipped by CloudFormation (`DELETE_SKIPPED`); the
//! command lists each such resource with the command that removes it, and reminds that the
//! staging buckets of `ingest bootstrap` stay too.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::ExitCode;

use futures_util::future::join_all;

use super::deploy::{
    Progress, Target, confirm, levels, require_answerable, settings, stack_failed, state_error,
    targets,
};
use super::deploy::{out, outln};
use super::{Ui, checked_plan, spec_or_default};
use crate::cli::DestroyArgs;
use crate::cloud::stacks::{DeployedStack, Finished, StackEvent, Stacks, StatusKind, status_kind};
use crate::cloud::{self, Cloud, staging};
use crate::errors::{Error, Result};

/// Runs `ingest destroy`.
pub fn run(args: &DestroyArgs, ui: Ui) -> Result<ExitCode> {
    require_answerable(args.yes, "deleting the stacks")?;
    let spec = spec_or_default(args.spec.as_deref());
    let plan = checked_plan(&spec, ui)?;
    let all = targets(&plan, &spec, &[])?;
    let regions: Vec<String> = all
        .iter()
        .map(|t| t.region.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    cloud::block_on(async {
        let cloud = Cloud::connect(&settings(&args.aws), &regions[0]).await?;
        let mut deployed: Vec<(&Target, DeployedStack)> = Vec::new();
        for target in &all {
            if let Some(stack) = Stacks::new(&cloud, &target.region)
                .describe(&target.name)
                .await?
            {
                if status_kind(&stack.status) == StatusKind::Busy {
                    return Err(state_error(&stack, &target.region));
                }
                deployed.push((target, stack));
            }
        }
        if deployed.is_empty() {
            outln!("nothing to delete: no stack of {} is deployed", plan.name);
            return Ok(ExitCode::SUCCESS);
        }
        for (target, stack) in &deployed {
            outln!("{} ({}): {}", target.name, target.region, stack.status);
        }
        if !args.yes {
            let names: Vec<&str> = deployed.iter().map(|(t, _)| t.name.as_str()).collect();
            if !confirm(&format!("Delete {}?", names.join(", ")))? {
                return Err(Error::Declined {
                    what: "no stack was deleted".to_owned(),
                });
            }
        }
        let progress = Progress::new(ui);
        let mut retained: Vec<(&Target, StackEvent)> = Vec::new();
        let mut order = levels(&all);
        order.reverse();
        for level in order {
            let level: Vec<&(&Target, DeployedStack)> = deployed
                .iter()
                .filter(|(t, _)| level.iter().any(|l| l.kind == t.kind))
                .collect();
            let results = join_all(
                level
                    .iter()
                    .map(|(target, stack)| delete(&cloud, target, stack, &progress)),
            )
            .await;
            progress.borrow_mut().clear();
            let mut failure = None;
            for ((target, _), result) in level.iter().zip(results) {
                let finished = result?;
                retained.extend(finished.retained.iter().cloned().map(|e| (*target, e)));
                if finished.succeeded() {
                    outln!("{}: deleted", target.name);
                } else if failure.is_none() {
                    failure = Some(stack_failed(target, &finished));
                }
            }
            if let Some(error) = failure {
                out!("{}", render_retained(&retained));
                return Err(error);
            }
        }
        out!("{}", render_retained(&retained));
        let account = cloud.account_id(&regions[0]).await?;
        let staging_buckets: Vec<String> = regions
            .iter()
            .map(|r| format!("s3://{}", staging::bucket_name(&account, r)))
            .collect();
        outln!(
            "the staging buckets of `ingest bootstrap` stay ({}); they hold only what deploy \
             uploaded and can be emptied and removed like the buckets above",
            staging_buckets.join(", ")
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// Deletes one stack and follows it to the end.
async fn delete(
    cloud: &Cloud,
    target: &Target,
    stack: &DeployedStack,
    progress: &std::rc::Rc<std::cell::RefCell<Progress>>,
) -> Result<Finished> {
    let stacks = Stacks::new(cloud, &target.region);
    let cursor = stacks.cursor(&stack.id).await?;
    stacks.delete(&stack.id).await?;
    let line = progress
        .borrow_mut()
        .start(&target.name, "deleting", target.resources.len());
    let finished = stacks
        .follow(&stack.id, cursor, &mut |event| {
            progress.borrow_mut().event(line, event);
        })
        .await?;
    progress.borrow_mut().finish(line, &finished.status);
    Ok(finished)
}

/// The resources deletion kept, each with how to remove it.
fn render_retained(retained: &[(&Target, StackEvent)]) -> String {
    if retained.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "kept on purpose (DeletionPolicy Retain: data outlives the stacks); to remove them:\n",
    );
    for (target, event) in retained {
        let id = event.physical_id.as_deref().unwrap_or(&event.logical_id);
        let _ = writeln!(
            out,
            "  {} {} ({}): {}",
            target.name,
            event.logical_id,
            event.resource_type,
            removal(&event.resource_type, id, &target.region)
        );
    }
    out
}

/// The command that removes a retained resource.
pub fn removal(resource_type: &str, id: &str, region: &str) -> String {
    match resource_type {
        "AWS::S3::Bucket" => format!(
            "empty it (every object version: the S3 console's Empty does) then `aws s3 rb \
             s3://{id} --region {region}`"
        ),
        "AWS::Kinesis::Stream" => {
            format!("`aws kinesis delete-stream --stream-name {id} --region {region}`")
        }
        "AWS::KMS::Key" => format!(
            "`aws kms schedule-key-deletion --key-id {id} --pending-window-in-days 30 --region \
             {region}` (only once nothing encrypted with it is needed)"
        ),
        "AWS::Logs::LogGroup" => {
            format!("`aws logs delete-log-group --log-group-name {id} --region {region}`")
        }
        "AWS::Logs::LogStream" => format!(
            "removed with its log group; alone: `aws logs delete-log-stream --log-group-name GROUP \
             --log-stream-name {id} --region {region}`"
        ),
        "AWS::IAM::Role" => format!(
            "delete its inline policies (`aws iam list-role-policies --role-name {id}`, then \
             `aws iam delete-role-policy`), then `aws iam delete-role --role-name {id}`"
        ),
        "AWS::SQS::Queue" => format!("`aws sqs delete-queue --queue-url {id} --region {region}`"),
        "AWS::Glue::Database" => {
            format!("`aws glue delete-database --name {id} --region {region}`")
        }
        "AWS::DynamoDB::Table" => {
            format!("`aws dynamodb delete-table --table-name {id} --region {region}`")
        }
        other => format!("delete {id} ({other}) in {region} with the AWS console or CLI"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_retained_type_of_the_templates_has_a_removal_command() {
        let spec =
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/ingest.yaml"));
        let plan = crate::check_spec(&spec).unwrap().plan;
        let mut seen = 0;
        for target in targets(&plan, &spec, &[]).unwrap() {
            let template = super::super::deploy::template_json(&target.template);
            let resources = template["Resources"].as_object().unwrap();
            for (id, resource) in resources {
                let policy = resource["DeletionPolicy"].as_str().unwrap_or("Delete");
                if policy.starts_with("Retain") {
                    seen += 1;
                    let kind = resource["Type"].as_str().unwrap();
                    let how = removal(kind, "x", "r");
                    assert!(
                        how.contains("`aws "),
                        "{kind} ({id}) has no removal command: {how}"
                    );
                }
            }
        }
        assert!(seen > 0, "the templates retain their data");
    }
}
