//! `ingest status [SPEC] [--json]`: how each region stands, read from AWS.
//!
//! Per region: its stack's status, its endpoint, the Route 53 health checkers' verdict on its
//! calculated health check (endpoint and drain switch), its drain switch (as set, as the
//! lever's publisher last published it, and its alarm's state), its weight (the dns
//! stack's parameter, as deployed), its stream's iterator age (CloudWatch), the bridge queue and
//! dead-letter queue depths (where the bridge runs) and the quarantine objects written in the
//! last hour (where the validator runs). A reading that fails (a permission the identity lacks,
//! a stack not deployed yet) is shown as unavailable with the reason; the rest is still read.
//! A table for people, `--json` for machines: every reading is a field (`null` when
//! unavailable) and `unavailable` maps each missing reading to its reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use super::deploy::{Target, settings, targets};
use super::deploy::{out, outln};
use super::lever::{dns_prefix, weight_parameter};
use super::{Ui, checked_plan, spec_or_default};
use crate::cli::StatusArgs;
use crate::cloud::metrics::{self, HealthVerdict, QUARANTINE_COUNT_LIMIT};
use crate::cloud::queues::{Depth, Queues};
use crate::cloud::stacks::{DeployedStack, Stacks};
use crate::cloud::switch::{DrainSwitches, SwitchState};
use crate::cloud::{self, Cloud, CloudError};
use crate::errors::Result;
use crate::plan::{Plan, RegionPlan, Role};

/// Everything `status` read.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The spec's name.
    pub name: String,
    /// Every stack.
    pub stacks: Vec<StackStatus>,
    /// Each region.
    pub regions: Vec<RegionStatus>,
}

/// One stack.
#[derive(Debug, Clone, Serialize)]
pub struct StackStatus {
    /// `primary`, `secondary`, `dns`...
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// Its CloudFormation status; `null` when it is not deployed.
    pub status: Option<String>,
}

/// One region.
#[derive(Debug, Clone, Serialize)]
pub struct RegionStatus {
    /// `primary` or `secondary`.
    pub role: Role,
    /// The AWS region.
    pub region: String,
    /// Its stack's status (`null`: not deployed).
    pub stack_status: Option<String>,
    /// The API's stage URL.
    pub endpoint: Option<String>,
    /// Whether Route 53 treats the region as healthy: every check its calculated health
    /// check combines is healthy.
    pub healthy: Option<bool>,
    /// The checkers' verdict on the region's endpoint (`GET /health`); `null` also when
    /// failover is manual (no endpoint check).
    pub endpoint_check: Option<HealthVerdict>,
    /// The checkers' verdict on the region's drain switch (healthy: not drained).
    pub switch_check: Option<HealthVerdict>,
    /// Whether the region is drained.
    pub drained: Option<bool>,
    /// The drain switch as set.
    pub drain_switch: Option<SwitchState>,
    /// The value the lever's publisher last published for the switch (1 drained, 0 not) in
    /// the last minutes; `null` without one.
    pub switch_published: Option<f64>,
    /// The state of the switch's alarm (`OK`, `ALARM`, `INSUFFICIENT_DATA`), which Route 53's
    /// switch check reads.
    pub switch_alarm: Option<String>,
    /// The Route 53 weight as deployed.
    pub weight: Option<u64>,
    /// Its share of traffic in percent (weight / sum).
    pub share_percent: Option<f64>,
    /// The stream's largest iterator age over the last minutes, in milliseconds (`null` with
    /// no reason: CloudWatch has no data, as for an idle stream).
    pub iterator_age_ms: Option<f64>,
    /// The bridge queue (the region that runs the bridge).
    pub bridge_queue: Option<Depth>,
    /// The bridge's dead-letter queue.
    pub dead_letter_queue: Option<Depth>,
    /// Quarantine objects written in the last hour (the region that runs the validator).
    pub quarantine_last_hour: Option<u64>,
    /// Readings that could not be taken, with why.
    pub unavailable: BTreeMap<String, String>,
}

/// Runs `ingest status`.
pub fn run(args: &StatusArgs, ui: Ui) -> Result<ExitCode> {
    let spec = spec_or_default(args.spec.as_deref());
    let plan = checked_plan(&spec, ui)?;
    let all = targets(&plan, &spec, &[])?;
    let status = cloud::block_on(async {
        let cloud = Cloud::connect(&settings(&args.aws), &plan.primary.region).await?;
        read(&cloud, &plan, &all).await
    })?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&status).expect("a status serializes")
        );
    } else {
        out!("{}", render(&status));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the status of every stack and region.
pub(crate) async fn read(cloud: &Cloud, plan: &Plan, all: &[Target]) -> Result<Status> {
    let mut deployed: BTreeMap<&str, DeployedStack> = BTreeMap::new();
    let mut stacks = Vec::new();
    for target in all {
        let stack = Stacks::new(cloud, &target.region)
            .describe(&target.name)
            .await?;
        stacks.push(StackStatus {
            kind: target.kind.to_owned(),
            name: target.name.clone(),
            region: target.region.clone(),
            status: stack.as_ref().map(|s| s.status.clone()),
        });
        if let Some(stack) = stack {
            deployed.insert(target.kind, stack);
        }
    }
    let secondary_kind = plan.secondary.role.as_str();
    let switches = deployed
        .get(secondary_kind)
        .and_then(|s| DrainSwitches::from_outputs(cloud, plan, &s.outputs).ok());
    let dns = deployed.get("dns");
    let dns_region = all
        .iter()
        .find(|t| t.kind == "dns")
        .map_or(plan.secondary.region.as_str(), |t| t.region.as_str());
    let weights: Vec<Option<u64>> = plan
        .regions()
        .iter()
        .map(|r| {
            dns.and_then(|d| d.parameters.get(&weight_parameter(r.role)))
                .and_then(|w| w.parse().ok())
        })
        .collect();
    let total: Option<u64> = weights.iter().copied().sum();
    let mut regions = Vec::new();
    for (region, weight) in plan.regions().into_iter().zip(weights) {
        let stack = deployed.get(region.role.as_str());
        let mut status = RegionStatus {
            role: region.role,
            region: region.region.clone(),
            stack_status: stack.map(|s| s.status.clone()),
            endpoint: stack.and_then(|s| s.outputs.get("ApiEndpoint").cloned()),
            healthy: None,
            endpoint_check: None,
            switch_check: None,
            drained: None,
            drain_switch: None,
            switch_published: None,
            switch_alarm: None,
            weight,
            share_percent: weight.zip(total).map(|(w, t)| {
                if t == 0 {
                    0.0
                } else {
                    w as f64 * 100.0 / t as f64
                }
            }),
            iterator_age_ms: None,
            bridge_queue: None,
            dead_letter_queue: None,
            quarantine_last_hour: None,
            unavailable: BTreeMap::new(),
        };
        read_region(
            cloud,
            plan,
            region,
            stack,
            dns,
            dns_region,
            switches.as_ref(),
            &mut status,
        )
        .await;
        regions.push(status);
    }
    Ok(Status {
        name: plan.name.clone(),
        stacks,
        regions,
    })
}

/// Takes one region's readings into `status`, noting each that fails.
#[allow(clippy::too_many_arguments)]
async fn read_region(
    cloud: &Cloud,
    plan: &Plan,
    region: &RegionPlan,
    stack: Option<&DeployedStack>,
    dns: Option<&DeployedStack>,
    dns_region: &str,
    switches: Option<&DrainSwitches<'_>>,
    status: &mut RegionStatus,
) {
    let mut missing = |field: &str, why: String| {
        status.unavailable.insert(field.to_owned(), why);
    };
    let not_deployed = |stack: &str| format!("{}-{stack} is not deployed", plan.name);
    let reason = |error: CloudError| error.to_string();

    // The region's record carries a calculated check, whose status Route 53 does not report
    // (GetHealthCheckStatus refuses calculated checks): read the checks it combines.
    let (mut endpoint_check, mut switch_check) = (None, None);
    for (field, output, slot) in [
        ("endpoint_check", "EndpointCheckId", &mut endpoint_check),
        ("switch_check", "SwitchCheckId", &mut switch_check),
    ] {
        let Some(dns) = dns else {
            missing(field, not_deployed("dns"));
            continue;
        };
        // Without automatic failover there is no endpoint check: nothing to read.
        let Some(id) = dns
            .outputs
            .get(&format!("{}{output}", dns_prefix(region.role)))
        else {
            continue;
        };
        match metrics::health_check(cloud, dns_region, id).await {
            Ok(verdict) => *slot = Some(verdict),
            Err(error) => missing(field, reason(error)),
        }
    }
    let (mut switch, mut published, mut alarm) = (None, None, None);
    match switches {
        Some(switches) => {
            match switches.read(region.role).await {
                Ok(read) => switch = Some(read.state),
                Err(error) => missing("drain_switch", reason(error)),
            }
            match switches.published(region.role).await {
                Ok(value) => published = value.map(|p| p.value),
                Err(error) => missing("switch_published", reason(error)),
            }
            match switches.alarm_state(region.role).await {
                Ok(state) => alarm = state,
                Err(error) => missing("switch_alarm", reason(error)),
            }
        }
        None if plan.failover.lever.kind == crate::plan::LeverChoice::Arc => {}
        None => missing("drain_switch", not_deployed(plan.secondary.role.as_str())),
    }
    if status.weight.is_none() {
        missing("weight", not_deployed("dns"));
    }
    let mut age = None;
    match stack {
        Some(stack) => {
            let stream = stack
                .outputs
                .get("StreamName")
                .cloned()
                .unwrap_or_else(|| region.stream.name.clone());
            match metrics::iterator_age_ms(cloud, &region.region, &stream).await {
                Ok(value) => age = value,
                Err(error) => missing("iterator_age_ms", reason(error)),
            }
        }
        None => missing("iterator_age_ms", not_deployed(region.role.as_str())),
    }
    let (mut queue, mut dlq, mut quarantine) = (None, None, None);
    if region.role == Role::Secondary {
        let queues = Queues::new(cloud, &region.region);
        for (field, name, slot) in [
            ("bridge_queue", &plan.bridge.queue_name, &mut queue),
            (
                "dead_letter_queue",
                &plan.bridge.dead_letter_queue_name,
                &mut dlq,
            ),
        ] {
            match queues.url(name).await {
                Ok(Some(url)) => match queues.depth(&url).await {
                    Ok(depth) => *slot = Some(depth),
                    Err(error) => missing(field, reason(error)),
                },
                Ok(None) => missing(field, format!("there is no queue {name}")),
                Err(error) => missing(field, reason(error)),
            }
        }
    }
    if region.role == Role::Primary {
        match stack.and_then(|s| s.outputs.get("QuarantineBucketName")) {
            Some(bucket) => {
                match metrics::quarantine_last_hour(cloud, &region.region, bucket).await {
                    Ok(count) => quarantine = Some(count),
                    Err(error) => missing("quarantine_last_hour", reason(error)),
                }
            }
            None => missing("quarantine_last_hour", not_deployed(region.role.as_str())),
        }
    }
    status.endpoint_check = endpoint_check;
    status.switch_check = switch_check;
    status.healthy = match (endpoint_check, switch_check) {
        (_, None) => None,
        (None, Some(switch)) => Some(switch.is_healthy()),
        (Some(endpoint), Some(switch)) => Some(endpoint.is_healthy() && switch.is_healthy()),
    };
    status.drain_switch = switch;
    status.switch_published = published;
    status.switch_alarm = alarm;
    status.drained = switch.map(SwitchState::is_drained);
    status.iterator_age_ms = age;
    status.bridge_queue = queue;
    status.dead_letter_queue = dlq;
    status.quarantine_last_hour = quarantine;
}

/// The table people read.
pub fn render(status: &Status) -> String {
    let regions = &status.regions;
    let value = |region: &RegionStatus, field: &str, text: Option<String>| -> String {
        match (text, region.unavailable.get(field)) {
            (Some(text), _) => text,
            (None, Some(_)) => "unavailable (see below)".to_owned(),
            (None, None) => "-".to_owned(),
        }
    };
    let mut rows: Vec<(&str, Vec<String>)> = Vec::new();
    let mut row = |label: &'static str, cell: &dyn Fn(&RegionStatus) -> String| {
        rows.push((label, regions.iter().map(cell).collect()));
    };
    row("stack", &|r| {
        r.stack_status
            .clone()
            .unwrap_or_else(|| "not deployed".to_owned())
    });
    row("endpoint", &|r| value(r, "endpoint", r.endpoint.clone()));
    let verdict = |h: HealthVerdict| {
        format!(
            "{} ({}/{} checkers)",
            if h.is_healthy() {
                "healthy"
            } else {
                "UNHEALTHY"
            },
            h.healthy,
            h.checkers
        )
    };
    row("health", &|r| match r.healthy {
        Some(true) => "healthy".to_owned(),
        Some(false) => "UNHEALTHY (Route 53 sends it no traffic)".to_owned(),
        None if r.unavailable.contains_key("switch_check") => "unavailable (see below)".to_owned(),
        None => "-".to_owned(),
    });
    row("  endpoint check", &|r| {
        value(r, "endpoint_check", r.endpoint_check.map(verdict))
    });
    row("  switch check", &|r| {
        value(r, "switch_check", r.switch_check.map(verdict))
    });
    row("drain switch", &|r| {
        value(
            r,
            "drain_switch",
            r.drain_switch.map(|s| {
                if s.is_drained() {
                    "DRAINED".to_owned()
                } else {
                    s.describe().to_owned()
                }
            }),
        )
    });
    row("  published", &|r| {
        if r.unavailable.contains_key("switch_published") {
            "unavailable (see below)".to_owned()
        } else {
            match r.switch_published {
                Some(value) if value >= 1.0 => "drained".to_owned(),
                Some(_) => "not drained".to_owned(),
                None if r.drain_switch.is_some() => "nothing in the last 15 min".to_owned(),
                None => "-".to_owned(),
            }
        }
    });
    row("  switch alarm", &|r| {
        value(r, "switch_alarm", r.switch_alarm.clone())
    });
    row("weight", &|r| {
        value(
            r,
            "weight",
            r.weight
                .map(|w| format!("{w} ({:.1}%)", r.share_percent.unwrap_or(0.0))),
        )
    });
    row("iterator age", &|r| {
        if r.unavailable.contains_key("iterator_age_ms") {
            "unavailable (see below)".to_owned()
        } else {
            r.iterator_age_ms
                .map_or_else(|| "no data".to_owned(), |ms| format!("{ms:.0} ms"))
        }
    });
    let depth = |d: Depth| format!("{} ({} in flight)", d.visible, d.in_flight);
    row("bridge queue", &|r| {
        value(r, "bridge_queue", r.bridge_queue.map(depth))
    });
    row("dead-letter queue", &|r| {
        value(r, "dead_letter_queue", r.dead_letter_queue.map(depth))
    });
    row("quarantine, last hour", &|r| {
        value(
            r,
            "quarantine_last_hour",
            r.quarantine_last_hour.map(|n| {
                if n >= QUARANTINE_COUNT_LIMIT {
                    format!("{n}+ objects")
                } else {
                    format!("{n} object{}", if n == 1 { "" } else { "s" })
                }
            }),
        )
    });
    let label_width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let headers: Vec<String> = regions
        .iter()
        .map(|r| format!("{} ({})", r.role.as_str(), r.region))
        .collect();
    let widths: Vec<usize> = (0..regions.len())
        .map(|i| {
            rows.iter()
                .map(|(_, cells)| cells[i].len())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |label: &str, cells: &[String]| {
        let mut text = format!("{label:<label_width$}");
        for (cell, width) in cells.iter().zip(&widths) {
            let _ = write!(text, "  {cell:<width$}");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&status.name, &headers);
    for (label, cells) in &rows {
        line(label, cells);
    }
    for stack in &status.stacks {
        if !regions.iter().any(|r| r.role.as_str() == stack.kind) {
            let _ = writeln!(
                out,
                "{} stack {} ({}): {}",
                stack.kind,
                stack.name,
                stack.region,
                stack.status.as_deref().unwrap_or("not deployed")
            );
        }
    }
    for region in regions {
        for (field, why) in &region.unavailable {
            let _ = writeln!(out, "{} {field}: {why}", region.role.as_str());
        }
    }
    out
}
