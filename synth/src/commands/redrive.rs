//! `ingest redrive [SPEC]`: the bridge's dead-letter queue back into the bridge queue (see
//! [`crate::cloud::queues`]). Prints how many messages moved.

use std::process::ExitCode;

use super::deploy::outln;
use super::deploy::settings;
use super::{Ui, checked_plan, spec_or_default};
use crate::cli::RedriveArgs;
use crate::cloud::queues::Queues;
use crate::cloud::{self, Cloud};
use crate::errors::{Error, Result};

/// Runs `ingest redrive`.
pub fn run(args: &RedriveArgs, ui: Ui) -> Result<ExitCode> {
    let spec = spec_or_default(args.spec.as_deref());
    let plan = checked_plan(&spec, ui)?;
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
