//! `ingest redrive [SPEC]`: the bridge's dead-letter queue back into the bridge queue (see
//! [`crate::cloud::queues`]). Prints how many messages moved.
//!
//! `ingest redrive --failed [--region primary|secondary] [--dry-run]`: the batches the stream
//! mappings gave up on, replayed through their own functions (see [`crate::cloud::failed`]).

use std::process::ExitCode;

use super::deploy::outln;
use super::deploy::settings;
use super::{Ui, checked_plan, spec_or_default};
use crate::cli::{RedriveArgs, RegionRole};
use crate::cloud::failed::{FailedBatches, Replay};
use crate::cloud::queues::Queues;
use crate::cloud::{self, Cloud};
use crate::errors::{Error, Result};
use crate::plan::Plan;

/// Runs `ingest redrive`.
pub fn run(args: &RedriveArgs, ui: Ui) -> Result<ExitCode> {
    let spec = spec_or_default(args.spec.as_deref());
    let plan = checked_plan(&spec, ui)?;
    if args.failed {
        return replay_failed(args, &plan);
    }
    // The bridge and its queues live in the secondary region.
    let region = plan.secondary.region.clone();
    let (queue, dlq) = (
        plan.bridge.queue_name.clone(),
        plan.bridge.dead_letter_queue_name.clone(),
    );
    cloud::block_on(async {
        let cloud = Cloud::connect(&settings(&args.aws), &region).await?;
        let queues = Queues::new(&cloud, &region);
        let not_deployed = |name: &str| Error::NotDeployed {
            stack: format!("the queue {name}"),
            region: region.clone(),
            help: format!("it is part of {}-secondary: run `ingest deploy`", plan.name),
        };
        let queue_url = queues
            .url(&queue)
            .await?
            .ok_or_else(|| not_deployed(&queue))?;
        let dlq_url = queues.url(&dlq).await?.ok_or_else(|| not_deployed(&dlq))?;
        let depth = queues.depth(&dlq_url).await?;
        eprintln!(
            "{dlq} holds about {} message{} ({} in flight); moving them to {queue}...",
            depth.visible,
            if depth.visible == 1 { "" } else { "s" },
            depth.in_flight
        );
        let moved = queues
            .redrive(&dlq_url, &queue_url, &mut |count| {
                eprintln!("moved {count}");
            })
            .await?;
        outln!(
            "moved {moved} message{} from {dlq} to {queue} ({region})",
            if moved == 1 { "" } else { "s" }
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// `--failed`: every failure record of the chosen regions' failed buckets, replayed.
fn replay_failed(args: &RedriveArgs, plan: &Plan) -> Result<ExitCode> {
    let roles: Vec<RegionRole> = match args.region {
        Some(role) => vec![role],
        None => vec![RegionRole::Primary, RegionRole::Secondary],
    };
    cloud::block_on(async {
        let cloud = Cloud::connect(&settings(&args.aws), &plan.secondary.region).await?;
        let account = cloud.account_id(&plan.secondary.region).await?;
        let mut stuck = 0usize;
        for role in roles {
            let (region, function) = match role {
                RegionRole::Primary => (&plan.primary.region, &plan.validator.function.name),
                RegionRole::Secondary => (&plan.secondary.region, &plan.receiver.name),
            };
            let bucket = crate::plan::bucket_name(&plan.name, "failed")
                .replace("${AWS::AccountId}", &account)
                .replace("${AWS::Region}", region);
            let batches = FailedBatches::new(&cloud, region);
            let keys = batches.keys(&bucket).await?;
            eprintln!(
                "{bucket} holds {} failure record{}; replaying through {function} ({region})",
                keys.len(),
                if keys.len() == 1 { "" } else { "s" }
            );
            let (mut replayed, mut records) = (0usize, 0usize);
            for key in &keys {
                match batches.replay(&bucket, key, function, args.dry_run).await? {
                    Replay::Done { records: n } => {
                        replayed += 1;
                        records += n;
                        eprintln!("replayed {key} ({n} records)");
                    }
                    Replay::Would { records: n } => {
                        replayed += 1;
                        records += n;
                        eprintln!("would replay {key} ({n} records)");
                    }
                    Replay::Failed { answer } => {
                        stuck += 1;
                        eprintln!("kept {key}: {function} answered {answer}");
                    }
                    Replay::Unreadable { why } => {
                        stuck += 1;
                        eprintln!("kept {key}: {why}");
                    }
                }
            }
            outln!(
                "{} {replayed} failed batch{} ({records} records) from {bucket} through {function}",
                if args.dry_run {
                    "would replay"
                } else {
                    "replayed"
                },
                if replayed == 1 { "" } else { "es" }
            );
        }
        Ok(if stuck == 0 {
            ExitCode::SUCCESS
        } else {
            eprintln!(
                "error: {stuck} failure record{} could not be replayed; they stay in place",
                if stuck == 1 { "" } else { "s" }
            );
            ExitCode::FAILURE
        })
    })
}
