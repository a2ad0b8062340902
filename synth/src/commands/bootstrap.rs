//! `ingest bootstrap [SPEC]`: the staging bucket of each region of the spec's stacks (see
//! [`crate::cloud::staging`]). Safe to repeat: an existing bucket gets its settings re-applied.

use std::collections::BTreeSet;
use std::process::ExitCode;

use super::deploy::outln;
use super::deploy::{settings, targets};
use super::{Ui, checked_plan, spec_or_default};
use crate::cli::BootstrapArgs;
use crate::cloud::{self, Cloud, staging};
use crate::errors::Result;

/// Runs `ingest bootstrap`: one line per region on standard output.
pub fn run(args: &BootstrapArgs, ui: Ui) -> Result<ExitCode> {
    let spec = spec_or_default(args.spec.as_deref());
    let plan = checked_plan(&spec, ui)?;
    let regions: Vec<String> = targets(&plan, &spec, &[])?
        .into_iter()
        .map(|t| t.region)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    cloud::block_on(async {
        let cloud = Cloud::connect(&settings(&args.aws), &regions[0]).await?;
        eprintln!("bootstrapping {}...", regions.join(", "));
        for done in staging::bootstrap(&cloud, &regions).await? {
            let what = if done.created {
                "created"
            } else {
                "already bootstrapped (settings re-applied)"
            };
            outln!("{}: s3://{} {what}", done.region, done.bucket);
        }
        Ok(ExitCode::SUCCESS)
    })
}
