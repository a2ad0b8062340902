//! `ingest deploy [SPEC] [--yes] [--only STACK] [--artifact ZIP] [--rotate-health-token]`: the
//! stacks on AWS.
//!
//! 1. The spec is checked and its stacks rendered in memory ([`targets`]); `generated/` is not
//!    read. Each stack's template says which parameters it takes, which capabilities it needs
//!    (`CAPABILITY_IAM`, or `CAPABILITY_NAMED_IAM` when it names IAM resources) and which
//!    resources it has.
//! 2. The Lambda zip is built (`ingest package`, the spec's architecture) unless `--artifact`
//!    gives one, and uploaded with the templates to the staging bucket of each stack's region
//!    under content-addressed keys (skipped when there): see [`crate::cloud::staging`]. The
//!    parameters found outside the stacks are read ([`deploy_values`]): Route 53's checker
//!    ranges, the health token, whose secret is created in each region where it is absent (or
//!    changed, `--rotate-health-token`), and the token the deployed checks send
//!    ([`crate::cloud::secrets`]; `diff` creates nothing).
//! 3. Stacks deploy by dependency level: the regional stacks together, then the dns stack with
//!    their outputs as its parameters. The health token may change that order
//!    ([`token_step`]): the regional stacks' web ACLs accept the current token and the one the
//!    deployed endpoint checks send ([`secrets::decide`]), so a rotation keeps the usual order;
//!    but checks that send no token (stacks from before it) are updated first, by a dns stack
//!    level ahead of the others, since the new web ACLs would refuse them and the old ones
//!    ignore the query string. Per level: a change set per stack ([`prepare`]), shown as
//!    a table on standard output; one question (unless `--yes`); execution; the stacks' events
//!    followed with a live progress line per stack on standard error ([`Progress`]); the outputs
//!    printed. A failed stack stops the run with CloudFormation's reasons for each failed
//!    resource and the way out of the state it is left in ([`way_out`]).
//! 4. Each regional API is probed through `TestInvokeMethod` ([`crate::cloud::probe`]), and
//!    what was deployed (spec, template, artifact) is recorded in the staging bucket.
//!
//! `ingest diff` runs steps 1-3 up to the tables and deletes its change sets; `ingest lever
//! weights` and `ingest destroy` reuse the confirmation and the progress display.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::join_all;
use serde_json::Value;

use super::{Ui, checked_spec, spec_or_default};
use crate::cli::{AwsArgs, DeployArgs};
use crate::cloud::ip_ranges;
use crate::cloud::probe::{self, ProbeResult};
use crate::cloud::secrets;
use crate::cloud::stacks::{
    ChangeSet, ChangeSetOutcome, ChangeSetRequest, DeployedStack, Finished, ParameterValue,
    ResourceChange, StackEvent, Stacks, StatusKind, TemplateSource, status_kind,
};
use crate::cloud::staging::{self, DeployedRecord, SpecBundle, StagedObject, Staging};
use crate::cloud::{self, Cloud, CloudError, Settings};
use crate::diagnostic::SourceFile;
use crate::errors::{Error, Result};
use crate::plan::{DeployInput, HEALTH_TOKEN_ARGUMENT, Plan, StackKind};
use crate::render::{self, Templates};

/// `print!` to standard output that ignores a closed pipe (`ingest status | head`): the
/// reader leaving is not an error of the command.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}
/// `println!`, like [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
pub(crate) use {out, outln};

/// The parameters of a stack that take the Lambda zip's location.
const CODE_BUCKET: &str = "CodeBucket";
const CODE_KEY: &str = "CodeKey";
const CODE_VERSION: &str = "CodeObjectVersion";
/// IAM resource properties that name the resource (they need `CAPABILITY_NAMED_IAM`).
const IAM_NAME_PROPERTIES: [&str; 5] = [
    "RoleName",
    "ManagedPolicyName",
    "GroupName",
    "UserName",
    "InstanceProfileName",
];

/// The settings of the shared AWS flags.
pub(crate) fn settings(args: &AwsArgs) -> Settings {
    Settings {
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
    }
}

/// A parameter fed from another stack's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Input {
    /// This stack's parameter.
    pub parameter: String,
    /// The kind of the stack whose output it takes.
    pub from: &'static str,
    /// That stack's output.
    pub output: String,
}

/// One stack of the spec, rendered, as the AWS commands handle it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `primary`, `secondary`, `dns`...
    pub kind: &'static str,
    /// The stack name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// Kinds of the stacks it needs first.
    pub depends_on: Vec<&'static str>,
    /// Its parameters taken from those stacks' outputs.
    pub inputs: Vec<Input>,
    /// Its parameters deploy fills from outside the stacks.
    pub deploy_inputs: Vec<DeployInput>,
    /// The template.
    pub template: String,
    /// The template's parameters with their defaults, in template order.
    pub parameters: Vec<(String, Option<String>)>,
    /// The template's `NoEcho` parameters (the health token): their values are never printed.
    pub secret_parameters: Vec<String>,
    /// The template's resources: logical id and type, in template order.
    pub resources: Vec<(String, String)>,
    /// The capabilities the template needs.
    pub capabilities: Vec<String>,
}

impl Target {
    /// Whether the stack takes the Lambda zip.
    pub fn needs_code(&self) -> bool {
        self.parameters.iter().any(|(key, _)| key == CODE_KEY)
    }
}

/// How the plan's stacks depend on each other: `(kind, depends on, inputs, deploy inputs)`, in
/// deploy order (the plan's own order).
#[allow(clippy::type_complexity)]
fn stack_links(
    plan: &Plan,
) -> Vec<(
    &'static str,
    Vec<&'static str>,
    Vec<Input>,
    Vec<DeployInput>,
)> {
    plan.stacks
        .iter()
        .map(|stack| {
            let depends_on = stack.depends_on.iter().map(|kind| kind.as_str()).collect();
            let inputs = stack
                .inputs
                .iter()
                .map(|input| Input {
                    parameter: input.parameter.clone(),
                    from: input.from.as_str(),
                    output: input.output.clone(),
                })
                .collect();
            (
                stack.kind.as_str(),
                depends_on,
                inputs,
                stack.deploy_inputs.clone(),
            )
        })
        .collect()
}

/// The spec's stacks, rendered and read, in deploy order; `only` keeps the named kinds.
pub(crate) fn targets(plan: &Plan, spec: &Path, only: &[String]) -> Result<Vec<Target>> {
    let render_error = |source| Error::Render {
        spec: spec.to_path_buf(),
        source,
    };
    let templates = Templates::embedded().map_err(render_error)?;
    let rendered = render::render(plan, &templates).map_err(render_error)?;
    let mut targets = Vec::new();
    for (kind, depends_on, inputs, deploy_inputs) in stack_links(plan) {
        let Some(stack) = rendered.stacks.iter().find(|s| s.kind == kind) else {
            continue;
        };
        let json = template_json(&stack.text);
        let parameters = json
            .get("Parameters")
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(key, spec)| (key.clone(), spec.get("Default").map(default_text)))
                    .collect()
            })
            .unwrap_or_default();
        let secret_parameters = json
            .get("Parameters")
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .filter(|(_, spec)| spec.get("NoEcho") == Some(&Value::Bool(true)))
                    .map(|(key, _)| key.clone())
                    .collect()
            })
            .unwrap_or_default();
        let resources: Vec<(String, String)> = json
            .get("Resources")
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(id, resource)| {
                        let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("");
                        (id.clone(), kind.to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        targets.push(Target {
            kind,
            name: stack.name.clone(),
            region: stack.region.clone(),
            depends_on,
            inputs,
            deploy_inputs,
            capabilities: capabilities(&json),
            template: stack.text.clone(),
            parameters,
            secret_parameters,
            resources,
        });
    }
    if only.is_empty() {
        return Ok(targets);
    }
    let known: Vec<&str> = targets.iter().map(|t| t.kind).collect();
    for name in only {
        if !known.contains(&name.as_str()) {
            return Err(Error::UnknownStack {
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    Ok(targets
        .into_iter()
        .filter(|t| only.iter().any(|o| o == t.kind))
        .collect())
}

/// A rendered template as JSON (the renderer already checked that it parses).
pub(crate) fn template_json(text: &str) -> Value {
    let source = Arc::new(SourceFile::new("template.yaml", text.to_owned()));
    crate::yaml::parse_cloudformation(&source)
        .map(|tree| tree.to_json(&source, &mut Vec::new()))
        .unwrap_or(Value::Null)
}

/// A parameter default as CloudFormation takes it: text.
fn default_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The capabilities a template needs: `CAPABILITY_IAM` for IAM resources,
/// `CAPABILITY_NAMED_IAM` when one of them has a name.
fn capabilities(template: &Value) -> Vec<String> {
    let iam: Vec<&Value> = template
        .get("Resources")
        .and_then(Value::as_object)
        .map(|map| {
            map.values()
                .filter(|r| {
                    r.get("Type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.starts_with("AWS::IAM::"))
                })
                .collect()
        })
        .unwrap_or_default();
    if iam.is_empty() {
        return Vec::new();
    }
    let named = iam.iter().any(|r| {
        r.get("Properties")
            .and_then(Value::as_object)
            .is_some_and(|p| IAM_NAME_PROPERTIES.iter().any(|name| p.contains_key(*name)))
    });
    let mut capabilities = vec!["CAPABILITY_IAM".to_owned()];
    if named {
        capabilities.push("CAPABILITY_NAMED_IAM".to_owned());
    }
    capabilities
}

/// Groups targets into dependency levels: a level's stacks need only earlier levels.
pub(crate) fn levels(targets: &[Target]) -> Vec<Vec<&Target>> {
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    // Targets are in deploy order, so a stack's dependencies come before it.
    for target in targets {
        let level = target
            .depends_on
            .iter()
            .filter_map(|dep| depth.get(dep).map(|d| d + 1))
            .max()
            .unwrap_or(0);
        depth.insert(target.kind, level);
    }
    let mut levels: Vec<Vec<&Target>> = Vec::new();
    for target in targets {
        let level = depth[target.kind];
        if levels.len() <= level {
            levels.resize_with(level + 1, Vec::new);
        }
        levels[level].push(target);
    }
    levels.retain(|level| !level.is_empty());
    levels
}

/// The Lambda zip: `--artifact`, or `ingest package`'s output for the spec's architecture.
pub(crate) fn artifact_bytes(plan: &Plan, artifact: Option<&Path>) -> Result<Vec<u8>> {
    let path: PathBuf = match artifact {
        Some(path) => path.to_path_buf(),
        None => {
            let arch = crate::package::arch_for(plan, None)?;
            let packaged = crate::package::package(plan, arch, None)?;
            eprint!("{packaged}");
            packaged.zip
        }
    };
    let bytes = std::fs::read(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(Error::Read {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a zip file (`ingest package` writes the Lambda zip)",
            ),
        });
    }
    Ok(bytes)
}

/// What was staged for one deploy: the zip per region, the template per stack, and the values
/// of the parameters filled from outside the stacks.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    /// The Lambda zip, by region.
    pub artifacts: BTreeMap<String, StagedObject>,
    /// The template, by stack kind.
    pub templates: BTreeMap<&'static str, StagedObject>,
    /// Deploy inputs by parameter name (the same value for every stack that takes it).
    pub deploy_values: BTreeMap<String, String>,
}

/// Whether [`deploy_values`] may create what is missing (`deploy`) or only read (`diff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inputs {
    /// Create the health token's secret where it is absent.
    Create,
    /// Create it where it is absent and put a new random value in it (`--rotate-health-token`).
    Rotate,
    /// Read only; a missing token is made up for the change set and not stored.
    ReadOnly,
}

/// The deploy inputs' values, and what the health token asks of the deploy's order.
#[derive(Debug, Default)]
pub(crate) struct DeployValues {
    /// Values by parameter name (the same value for every stack that takes it).
    pub values: BTreeMap<String, String>,
    /// What [`secrets::decide`] decided, when a stack takes the health token.
    pub token: Option<secrets::TokenDecision>,
}

/// The values of the deploy inputs of `targets`: Route 53's health-checker ranges from
/// `ip_ranges` (a file) or AWS's published `ip-ranges.json` ([`ip_ranges`]), the health token
/// from its secret, and the token the deployed checks send ([`secrets`]).
pub(crate) async fn deploy_values(
    cloud: &Cloud,
    plan: &Plan,
    targets: &[Target],
    ip_ranges_file: Option<&Path>,
    inputs: Inputs,
) -> Result<DeployValues> {
    let mut values = BTreeMap::new();
    let mut text: Option<(Vec<u8>, String)> = None;
    let mut decision: Option<secrets::TokenDecision> = None;
    let all_inputs: Vec<&DeployInput> = targets.iter().flat_map(|t| &t.deploy_inputs).collect();
    for input in &all_inputs {
        match input {
            DeployInput::CheckerRanges {
                parameter,
                regions,
                extra,
            } => {
                if values.contains_key(parameter) {
                    continue;
                }
                if text.is_none() {
                    text = Some(ip_ranges::fetch(ip_ranges_file).await?);
                }
                let (bytes, from) = text.as_ref().expect("fetched above");
                let ranges = ip_ranges::checker_ranges(bytes, from, regions, extra)
                    .map_err(|what| Error::IpRanges { what })?;
                eprintln!("health checkers: {}", ranges.source);
                values.insert(parameter.clone(), ranges.parameter_value());
            }
            DeployInput::HealthToken {
                parameter,
                secret,
                regions,
                checks_stack,
                checks_region,
            } => {
                if values.contains_key(parameter) {
                    continue;
                }
                let checks = secrets::deployed_checks(
                    cloud,
                    checks_stack,
                    checks_region,
                    HEALTH_TOKEN_ARGUMENT,
                )
                .await?;
                let write = match inputs {
                    Inputs::Create => secrets::Write::Create,
                    Inputs::Rotate => secrets::Write::Rotate,
                    Inputs::ReadOnly => secrets::Write::ReadOnly,
                };
                let token =
                    secrets::health_token(cloud, &plan.name, secret, regions, checks.sent(), write)
                        .await?;
                if let Some(message) = token_message(secret, &token, inputs) {
                    eprintln!("health token: {message}");
                }
                decision = Some(secrets::decide(&token.value, &checks));
                values.insert(parameter.clone(), token.value);
            }
            DeployInput::PreviousHealthToken { .. } => {}
        }
    }
    // After the token: the previous one is decided from it.
    for input in &all_inputs {
        if let DeployInput::PreviousHealthToken { parameter } = input {
            let decided = decision.as_ref().ok_or_else(|| Error::UnfilledParameter {
                stack: "a regional stack".to_owned(),
                parameter: parameter.clone(),
            })?;
            values.insert(parameter.clone(), decided.previous.clone());
        }
    }
    Ok(DeployValues {
        values,
        token: decision,
    })
}

/// What deploy says about the health token's secret (never its value).
fn token_message(secret: &str, token: &secrets::HealthToken, inputs: Inputs) -> Option<String> {
    let (done, regions) = (inputs != Inputs::ReadOnly, token.created_in.join(" and "));
    let created = if done { "created" } else { "would create" };
    Some(match token.source {
        secrets::TokenSource::Kept if token.created_in.is_empty() => return None,
        secrets::TokenSource::Kept => format!(
            "{} the secret {secret} in {regions} with the value of the other region",
            if done { "copied" } else { "would copy" }
        ),
        secrets::TokenSource::Recovered => format!(
            "no region has the secret {secret}: {created} it in {regions} with the value the deployed health checks send (the token does not change)"
        ),
        secrets::TokenSource::New => {
            format!(
                "{created} the secret {secret} in {regions} (a new random value: no deployed health check sends one)"
            )
        }
        secrets::TokenSource::Rotated => {
            let mut text = format!(
                "put a new random value in the secret {secret} (Secrets Manager keeps the old one as AWSPREVIOUS)"
            );
            if !token.created_in.is_empty() {
                let _ = write!(text, ", created it in {regions}");
            }
            text
        }
    })
}

/// What the decision about the token means for this deploy, said before it starts.
pub(crate) fn decision_message(decision: &secrets::TokenDecision) -> Option<&'static str> {
    match decision.transition {
        secrets::Transition::FirstDeploy | secrets::Transition::Steady => None,
        secrets::Transition::Rotating => Some(
            "the deployed health checks send the previous token: the web ACLs accept it beside the new one until the dns stack's checks send the new one; the next `ingest deploy` drops it",
        ),
        secrets::Transition::Upgrading => Some(
            "the deployed health checks send no token: the dns stack deploys first (the deployed web ACLs ignore the query string), then the regional stacks, whose web ACLs then require it",
        ),
    }
}

/// Uploads what `targets` need to the staging buckets (skipping what is there).
pub(crate) async fn stage(
    staging: &Staging<'_>,
    targets: &[Target],
    artifact: Option<&[u8]>,
) -> Result<Staged> {
    let mut staged = Staged::default();
    if let Some(zip) = artifact {
        let key = staging::content_key("artifacts", zip, ".zip");
        let regions: BTreeSet<&str> = targets
            .iter()
            .filter(|t| t.needs_code())
            .map(|t| t.region.as_str())
            .collect();
        for region in regions {
            let object = staging
                .put(region, &key, zip.to_vec(), "application/zip")
                .await?;
            eprintln!(
                "{} s3://{}/{}",
                if object.existed { "have  " } else { "upload" },
                object.bucket,
                object.key
            );
            staged.artifacts.insert(region.to_owned(), object);
        }
    }
    for target in targets {
        let bytes = target.template.as_bytes();
        let key = staging::content_key("templates", bytes, ".yaml");
        let object = staging
            .put(&target.region, &key, bytes.to_vec(), "application/x-yaml")
            .await?;
        eprintln!(
            "{} s3://{}/{} ({})",
            if object.existed { "have  " } else { "upload" },
            object.bucket,
            object.key,
            target.name
        );
        staged.templates.insert(target.kind, object);
    }
    Ok(staged)
}

/// Outputs of the stacks deployed so far, by kind.
pub(crate) type Outputs = BTreeMap<&'static str, BTreeMap<String, String>>;

/// What deploying a stack would do.
#[derive(Debug, Clone)]
pub(crate) enum StackChange {
    /// Nothing to change.
    NoChanges,
    /// A change set to run (on a new stack when `new`).
    Change {
        /// The change set.
        change_set: ChangeSet,
        /// Whether it creates the stack.
        new: bool,
    },
    /// The stack is new and diff does not create it: its template's resources.
    New,
    /// Its inputs come from stacks that are not deployed yet.
    Waiting {
        /// Those stacks.
        on: Vec<String>,
    },
}

/// One stack, prepared.
#[derive(Debug, Clone)]
pub(crate) struct Prepared<'t> {
    /// The stack.
    pub target: &'t Target,
    /// What is deployed now.
    pub existing: Option<DeployedStack>,
    /// The parameters it would get.
    pub parameters: Vec<ParameterValue>,
    /// What would change.
    pub change: StackChange,
}

/// Works out what deploying `target` would change: the parameters from the staged zip, the
/// outputs of the stacks it depends on and the template's defaults; then a change set (for a
/// new stack only when `create_new`, since a create change set makes the stack exist).
pub(crate) async fn prepare<'t>(
    cloud: &Cloud,
    staging: &Staging<'_>,
    staged: &Staged,
    target: &'t Target,
    outputs: &Outputs,
    create_new: bool,
) -> Result<Prepared<'t>> {
    let stacks = Stacks::new(cloud, &target.region);
    let existing = stacks.describe(&target.name).await?;
    let new = match &existing {
        None => true,
        Some(stack) => match status_kind(&stack.status) {
            StatusKind::Stable => false,
            StatusKind::Review => true,
            _ => return Err(state_error(stack, &target.region)),
        },
    };
    let waiting: Vec<String> = target
        .inputs
        .iter()
        .filter(|input| !outputs.contains_key(input.from))
        .map(|input| input.from.to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !waiting.is_empty() {
        return Ok(Prepared {
            target,
            existing,
            parameters: Vec::new(),
            change: StackChange::Waiting { on: waiting },
        });
    }
    let parameters = parameters(target, staged, outputs)?;
    if new && !create_new {
        return Ok(Prepared {
            target,
            existing,
            parameters,
            change: StackChange::New,
        });
    }
    let template = &staged.templates[target.kind];
    let request = ChangeSetRequest {
        stack: target.name.clone(),
        create: new,
        template: TemplateSource::Url(staging.template_url(&target.region, &template.key)),
        parameters: parameters.clone(),
        capabilities: target.capabilities.clone(),
        tags: BTreeMap::new(),
        description: format!("ingest deploy of {}", target.name),
    };
    let change = match stacks.create_change_set(&request).await? {
        ChangeSetOutcome::NoChanges => StackChange::NoChanges,
        ChangeSetOutcome::Ready(change_set) => StackChange::Change { change_set, new },
    };
    Ok(Prepared {
        target,
        existing,
        parameters,
        change,
    })
}

/// Every parameter of `target`'s template with its value.
fn parameters(target: &Target, staged: &Staged, outputs: &Outputs) -> Result<Vec<ParameterValue>> {
    let mut values = Vec::new();
    for (key, default) in &target.parameters {
        let code = staged.artifacts.get(&target.region);
        let value = match key.as_str() {
            CODE_BUCKET => code.map(|c| c.bucket.clone()),
            CODE_KEY => code.map(|c| c.key.clone()),
            CODE_VERSION => code.map(|c| c.version.clone()),
            _ => staged.deploy_values.get(key).cloned(),
        };
        let value = value
            .or_else(|| {
                let input = target.inputs.iter().find(|i| &i.parameter == key)?;
                outputs.get(input.from)?.get(&input.output).cloned()
            })
            .or_else(|| default.clone());
        match value {
            Some(value) => values.push(ParameterValue {
                key: key.clone(),
                value: Some(value),
            }),
            None => {
                if let Some(input) = target.inputs.iter().find(|i| &i.parameter == key) {
                    return Err(Error::MissingOutput {
                        stack: format!("the {} stack", input.from),
                        output: input.output.clone(),
                    });
                }
                return Err(Error::UnfilledParameter {
                    stack: target.name.clone(),
                    parameter: key.clone(),
                });
            }
        }
    }
    Ok(values)
}

/// The error for a stack whose status blocks a change, with the way out.
pub(crate) fn state_error(stack: &DeployedStack, region: &str) -> Error {
    Error::StackState {
        stack: stack.name.clone(),
        region: region.to_owned(),
        status: stack.status.clone(),
        reason: stack.status_reason.clone(),
        way_out: way_out(&stack.name, region, &stack.status),
    }
}

/// What to do about a stack left in `status`.
pub(crate) fn way_out(stack: &str, region: &str, status: &str) -> String {
    match status {
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" => format!(
            "its first create failed and was rolled back, and such a stack can only be deleted: \
             fix the cause, delete it (`aws cloudformation delete-stack --stack-name {stack} \
             --region {region}`), then deploy again; resources kept by DeletionPolicy Retain \
             stay behind and a create of the same names fails until they are removed"
        ),
        "UPDATE_ROLLBACK_FAILED" => format!(
            "the update failed and so did its rollback: fix the cause, then finish the rollback \
             with `aws cloudformation continue-update-rollback --stack-name {stack} --region \
             {region}` (add --resources-to-skip LOGICAL_ID for a resource that cannot roll back) \
             and deploy again"
        ),
        "UPDATE_ROLLBACK_COMPLETE" => {
            "the update failed and was rolled back, so the stack is as it was: fix the cause and \
             deploy again"
                .to_owned()
        }
        "DELETE_FAILED" => "remove what blocks the deletion (see the reasons), then run \
                            `ingest destroy` again"
            .to_owned(),
        s if s.ends_with("_IN_PROGRESS") => format!(
            "an operation is running on it: wait until it finishes (`aws cloudformation \
             describe-stacks --stack-name {stack} --region {region}`) and run the command again"
        ),
        _ => "see the reasons above, fix the cause and run the command again".to_owned(),
    }
}

/// A live line per running stack operation on standard error: resources done / total, the
/// resource in progress, elapsed time. On a terminal the lines are redrawn in place; otherwise
/// each finished or failed resource is one line (readable in CI logs).
#[derive(Debug)]
pub(crate) struct Progress {
    terminal: bool,
    color: bool,
    lines: Vec<ProgressLine>,
    drawn: usize,
}

#[derive(Debug)]
struct ProgressLine {
    stack: String,
    verb: &'static str,
    done: BTreeSet<String>,
    total: usize,
    current: Option<String>,
    start: Instant,
    end: Option<String>,
    took: String,
}

impl Progress {
    /// A display on standard error.
    pub fn new(ui: Ui) -> Rc<RefCell<Progress>> {
        Rc::new(RefCell::new(Progress {
            terminal: std::io::stderr().is_terminal(),
            color: ui.color,
            lines: Vec::new(),
            drawn: 0,
        }))
    }

    /// Starts a line; returns its index.
    pub fn start(&mut self, stack: &str, verb: &'static str, total: usize) -> usize {
        self.lines.push(ProgressLine {
            stack: stack.to_owned(),
            verb,
            done: BTreeSet::new(),
            total,
            current: None,
            start: Instant::now(),
            end: None,
            took: String::new(),
        });
        if !self.terminal {
            eprintln!("{stack}: {verb} ({total} resources)");
        }
        self.redraw();
        self.lines.len() - 1
    }

    /// Takes an event of line `index`'s stack (`None`: only refresh the elapsed time).
    pub fn event(&mut self, index: usize, event: Option<&StackEvent>) {
        if let Some(event) = event.filter(|e| !e.is_stack()) {
            let line = &mut self.lines[index];
            if event.is_done() {
                line.done.insert(event.logical_id.clone());
                if line.current.as_deref() == Some(event.logical_id.as_str()) {
                    line.current = None;
                }
            } else if event.status.ends_with("_IN_PROGRESS") {
                line.current = Some(format!("{} ({})", event.logical_id, event.resource_type));
            }
            let counted = line.done.len().min(line.total.max(line.done.len()));
            let text = format!(
                "{}: {} {} ({}) [{}/{}, {}]",
                line.stack,
                event.status,
                event.logical_id,
                event.resource_type,
                counted,
                line.total,
                elapsed(line.start)
            );
            if event.is_failure() {
                let reason = event.reason.as_deref().unwrap_or("no reason given");
                self.log(&format!("{text}: {reason}"));
            } else if !self.terminal && event.is_done() {
                self.log(&text);
            }
        }
        self.redraw();
    }

    /// Ends line `index` with its final status.
    pub fn finish(&mut self, index: usize, status: &str) {
        let line = &mut self.lines[index];
        line.end = Some(status.to_owned());
        line.took = elapsed(line.start);
        line.current = None;
        if !self.terminal {
            let text = format!("{}: {status} after {}", line.stack, elapsed(line.start));
            eprintln!("{text}");
        }
        self.redraw();
    }

    /// Ends the live display (before results go to standard output): on a terminal, the
    /// finished lines stay as plain lines (`stack: STATUS, done/total resources in 1m04s`).
    pub fn clear(&mut self) {
        if self.terminal {
            let mut err = std::io::stderr().lock();
            if self.drawn > 0 {
                let _ = write!(err, "\x1b[{}A\x1b[J", self.drawn);
            }
            for line in self.lines.iter().filter(|line| line.end.is_some()) {
                let counted = line.done.len().min(line.total.max(line.done.len()));
                let _ = writeln!(
                    err,
                    "{}: {}, {counted}/{} resources in {}",
                    line.stack,
                    line.end.as_deref().unwrap_or(""),
                    line.total,
                    line.took
                );
            }
            let _ = err.flush();
        }
        self.drawn = 0;
        self.lines.retain(|line| line.end.is_none());
    }

    fn log(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.terminal && self.drawn > 0 {
            let _ = write!(err, "\x1b[{}A\x1b[J", self.drawn);
            self.drawn = 0;
        }
        let _ = writeln!(err, "{text}");
        drop(err);
        self.redraw();
    }

    fn redraw(&mut self) {
        if !self.terminal {
            return;
        }
        let mut out = String::new();
        if self.drawn > 0 {
            let _ = write!(out, "\x1b[{}A", self.drawn);
        }
        for line in &self.lines {
            let counted = line.done.len().min(line.total.max(line.done.len()));
            let state = match (&line.end, &line.current) {
                (Some(status), _) => status.clone(),
                (None, Some(current)) => current.clone(),
                (None, None) => "waiting for CloudFormation".to_owned(),
            };
            let (bold, reset) = if self.color {
                ("\x1b[1m", "\x1b[0m")
            } else {
                ("", "")
            };
            let _ = writeln!(
                out,
                "\x1b[2K{bold}{}{reset} {} {counted}/{} {} {state}",
                line.stack,
                line.verb,
                line.total,
                elapsed(line.start)
            );
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(out.as_bytes());
        let _ = err.flush();
        self.drawn = self.lines.len();
    }
}

/// `42s`, `3m07s`.
fn elapsed(start: Instant) -> String {
    let seconds = start.elapsed().as_secs();
    if seconds < 60 {
        format!("{seconds}s")
    } else {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

/// Fails before anything happens when the command would have to ask and cannot.
pub(crate) fn require_answerable(yes: bool, action: &'static str) -> Result<()> {
    if yes || std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(Error::NotATerminal { action })
    }
}

/// Asks a yes/no question on the terminal (default no).
pub(crate) fn confirm(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|source| Error::Read {
            path: PathBuf::from("<stdin>"),
            source,
        })?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The table of one prepared stack, as diff and deploy print it on standard output.
pub(crate) fn render_change(prepared: &Prepared<'_>) -> String {
    let target = prepared.target;
    let mut out = format!("{} ({}): ", target.name, target.region);
    let rows: Vec<ResourceChange> = match &prepared.change {
        StackChange::NoChanges => {
            out.push_str("no changes\n");
            return out;
        }
        StackChange::Waiting { on } => {
            let _ = writeln!(
                out,
                "new stack, after {} (its parameters are their outputs)",
                on.join(" and ")
            );
            return out;
        }
        StackChange::New => {
            let _ = writeln!(out, "new stack, {} resources", target.resources.len());
            target
                .resources
                .iter()
                .map(|(id, kind)| ResourceChange {
                    action: "Add".to_owned(),
                    logical_id: id.clone(),
                    resource_type: kind.clone(),
                    replacement: None,
                })
                .collect()
        }
        StackChange::Change { change_set, new } => {
            if *new {
                let _ = writeln!(out, "new stack, {} resources", change_set.changes.len());
            } else {
                let n = change_set.changes.len();
                let _ = writeln!(out, "{n} resource change{}", if n == 1 { "" } else { "s" });
            }
            change_set.changes.clone()
        }
    };
    if let Some(existing) = &prepared.existing {
        for parameter in &prepared.parameters {
            let (Some(new), Some(old)) =
                (&parameter.value, existing.parameters.get(&parameter.key))
            else {
                continue;
            };
            // CloudFormation answers `****` for a NoEcho parameter, and its value is a secret:
            // the resources that take it show in the table when it changes.
            if prepared.target.secret_parameters.contains(&parameter.key) {
                continue;
            }
            if new != old {
                let _ = writeln!(out, "  parameter {}: {old} -> {new}", parameter.key);
            }
        }
    }
    out.push_str(&table(&rows));
    out
}

/// Rows of resource changes under a header, columns aligned.
pub(crate) fn table(rows: &[ResourceChange]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let header = ["ACTION", "LOGICAL ID", "TYPE", "REPLACEMENT"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|row| {
            [
                row.action.clone(),
                row.logical_id.clone(),
                row.resource_type.clone(),
                row.replacement.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: [&str; 4]| {
        let _ = writeln!(
            out,
            "  {:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    };
    line(&mut out, header);
    for row in &cells {
        line(&mut out, [&row[0], &row[1], &row[2], &row[3]]);
    }
    out
}

/// Reads the outputs of the stacks `targets` depend on that are not among them.
pub(crate) async fn outside_outputs(
    cloud: &Cloud,
    plan_targets: &[Target],
    targets: &[Target],
) -> Result<Outputs> {
    let mut outputs = Outputs::new();
    let selected: BTreeSet<&str> = targets.iter().map(|t| t.kind).collect();
    let needed: BTreeSet<&str> = targets
        .iter()
        .flat_map(|t| t.depends_on.iter().copied())
        .filter(|kind| !selected.contains(kind))
        .collect();
    for kind in needed {
        let Some(target) = plan_targets.iter().find(|t| t.kind == kind) else {
            continue;
        };
        if let Some(stack) = Stacks::new(cloud, &target.region)
            .describe(&target.name)
            .await?
            && status_kind(&stack.status) == StatusKind::Stable
        {
            outputs.insert(target.kind, stack.outputs);
        }
    }
    Ok(outputs)
}

/// The record of what was deployed to one stack.
async fn record(
    staging: &Staging<'_>,
    target: &Target,
    staged: &Staged,
    spec: &StagedObject,
) -> Result<()> {
    let record = DeployedRecord {
        stack: target.name.clone(),
        deployed_at: now_rfc3339(),
        spec: spec.clone(),
        template: staged.templates[target.kind].clone(),
        artifact: target
            .needs_code()
            .then(|| staged.artifacts.get(&target.region).cloned())
            .flatten(),
    };
    let bytes = serde_json::to_vec_pretty(&record).expect("a record serializes");
    staging
        .overwrite(
            &target.region,
            &staging::record_key(&target.name),
            bytes,
            "application/json",
        )
        .await?;
    Ok(())
}

/// The spec and the schema files it names, with each event's resolved schema.
pub(crate) fn spec_bundle(plan: &Plan, spec: &Path) -> Result<SpecBundle> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let name = spec.file_name().map_or_else(
        || "ingest.yaml".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut files = BTreeMap::new();
    files.insert(name.clone(), read(spec)?);
    let (read_spec, _) = crate::spec::read(spec)?;
    if let Some(raw) = &read_spec.raw {
        for event in raw.events.values() {
            if let Some(file) = &event.schema_file {
                let path = crate::diagnostic::resolve_beside(spec, file);
                files.insert(file.clone(), read(&path)?);
            }
        }
    }
    // The files the schemas' references read (`common.json#/$defs/address`), named relative to
    // the spec's folder (`../definitions/common.json` for one outside it), as the deployed spec's
    // check reads them back, so it is checked again as it was, not with today's files.
    let folder = std::path::absolute(spec)
        .ok()
        .and_then(|path| path.parent().map(crate::spec::lexically_normal));
    for event in &plan.events {
        for (uri, _) in &event.schema.files {
            let Some(path) = ingest_codegen::schema::uri_path(uri) else {
                continue;
            };
            let name = folder
                .as_deref()
                .and_then(|folder| crate::spec::name_relative_to(&path, folder))
                .map(|relative| {
                    relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/")
                });
            if let Some(name) = name {
                files.insert(name, read(&path)?);
            }
        }
    }
    let schemas = plan
        .events
        .iter()
        .map(|event| (event.type_name.clone(), event.schema_json.clone()))
        .collect();
    Ok(SpecBundle {
        spec: name,
        files,
        schemas,
    })
}

/// Now, as RFC 3339 UTC.
pub(crate) fn now_rfc3339() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// What the health token's decision makes of the stacks of one deploy ([`token_step`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum TokenStep {
    /// The plan's order.
    Usual,
    /// The plan's order, with a warning.
    Warn(String),
    /// The dns stack first, with the deployed regional stacks' outputs, then the plan's order.
    DnsFirst,
    /// Not this deploy: it would make the web ACLs refuse the deployed checks.
    Refuse {
        /// Why.
        what: String,
        /// What to do.
        help: String,
    },
}

/// Where the dns stack goes in a deploy of `selected`, given what [`secrets::decide`] decided
/// and the outputs of the deployed regional stacks (`deployed`, read when the decision puts the
/// dns stack first). Pure: the deploy's only decision about the order.
///
/// The plan deploys the regional stacks first because the dns stack takes their outputs. That
/// order is safe for a token change as long as the web ACLs accept the token the deployed
/// checks send ([`secrets::decide`] passes it as `HealthTokenPrevious`). Checks that send no
/// token at all are the one case no web ACL of ours accepts: the dns stack goes first, while the
/// deployed web ACLs (from before the token) ignore the query string, and again in its usual
/// place, so outputs the regional stacks change still reach it (usually no change).
fn token_step(
    decision: &secrets::TokenDecision,
    selected: &[Target],
    deployed: &Outputs,
) -> TokenStep {
    let dns = selected.iter().find(|t| t.kind == StackKind::Dns.as_str());
    let regional: Vec<&str> = selected
        .iter()
        .filter(|t| {
            t.deploy_inputs
                .iter()
                .any(|i| matches!(i, DeployInput::PreviousHealthToken { .. }))
        })
        .map(|t| t.name.as_str())
        .collect();
    if regional.is_empty() {
        return match dns {
            Some(dns) if decision.transition == secrets::Transition::Rotating => {
                TokenStep::Warn(format!(
                    "{} will send the new health token: the regional stacks are not in this deploy, so their web ACLs accept it only if they were deployed since the token changed",
                    dns.name
                ))
            }
            _ => TokenStep::Usual,
        };
    }
    if decision.order != secrets::Order::DnsFirst {
        return TokenStep::Usual;
    }
    let Some(dns) = dns else {
        return TokenStep::Refuse {
            what: format!(
                "the deployed health checks send no health token, and the web ACLs of {} would require one: the checks would read 403 and fail the regions over",
                regional.join(" and ")
            ),
            help: "deploy the dns stack first (`ingest deploy --only dns`: the deployed web ACLs ignore the query string), or deploy every stack (without --only) and deploy orders them so".to_owned(),
        };
    };
    let missing: Vec<String> = dns
        .inputs
        .iter()
        .filter(|i| {
            !deployed
                .get(i.from)
                .is_some_and(|o| o.contains_key(&i.output))
        })
        .map(|i| format!("{} of the {} stack", i.output, i.from))
        .collect();
    if missing.is_empty() {
        TokenStep::DnsFirst
    } else {
        TokenStep::Warn(format!(
            "{} cannot deploy before the regional stacks (they do not output {} yet): the health checks read 403 from when a regional web ACL requires the token until {} has deployed",
            dns.name,
            missing.join(", "),
            dns.name
        ))
    }
}

/// Applies [`token_step`] to a deploy: reads the deployed regional stacks' outputs when the
/// dns stack would go first, and puts it first (its level ahead of `order`, their outputs in
/// `outputs`), warns, or refuses.
async fn token_order<'t>(
    cloud: &Cloud,
    decision: &secrets::TokenDecision,
    all: &[Target],
    selected: &'t [Target],
    outputs: &mut Outputs,
    order: &mut Vec<Vec<&'t Target>>,
) -> Result<()> {
    let dns = selected.iter().find(|t| t.kind == StackKind::Dns.as_str());
    let mut deployed = Outputs::new();
    if let Some(dns) = dns
        && decision.order == secrets::Order::DnsFirst
    {
        for kind in &dns.depends_on {
            let Some(target) = all.iter().find(|t| t.kind == *kind) else {
                continue;
            };
            if let Some(stack) = Stacks::new(cloud, &target.region)
                .describe(&target.name)
                .await?
                .filter(|s| status_kind(&s.status) == StatusKind::Stable)
            {
                deployed.insert(target.kind, stack.outputs);
            }
        }
    }
    match token_step(decision, selected, &deployed) {
        TokenStep::Usual => {}
        TokenStep::Warn(text) => eprintln!("warning: {text}"),
        TokenStep::Refuse { what, help } => return Err(Error::HealthToken { what, help }),
        TokenStep::DnsFirst => {
            for (kind, values) in deployed {
                outputs.entry(kind).or_insert(values);
            }
            order.insert(0, dns.into_iter().collect());
        }
    }
    Ok(())
}

/// Runs `ingest deploy`.
pub fn run(args: &DeployArgs, ui: Ui) -> Result<ExitCode> {
    require_answerable(args.yes, "deploying")?;
    if args.rotate_health_token && !args.only.is_empty() {
        return Err(Error::HealthToken {
            what: "--rotate-health-token changes the token every stack takes: it cannot go with --only".to_owned(),
            help: "run `ingest deploy --rotate-health-token` without --only: it deploys the regional stacks (accepting the new and the old token), then the dns stack's checks (sending the new one)".to_owned(),
        });
    }
    let spec = spec_or_default(args.spec.as_deref());
    let checked = checked_spec(&spec, ui)?;
    let plan = &checked.plan;
    let all = targets(plan, &spec, &[])?;
    let selected = targets(plan, &spec, &args.only)?;
    let bundle = spec_bundle(plan, &spec)?;
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
        // The validator runs in the primary stack: its schemas change only when it deploys.
        if selected
            .iter()
            .any(|t| t.kind == StackKind::Primary.as_str())
        {
            super::check::before_deploy(&cloud, &checked, args.allow_breaking, ui).await?;
        }
        let mut staged = stage(&staging, &selected, zip.as_deref()).await?;
        let inputs = if args.rotate_health_token {
            Inputs::Rotate
        } else {
            Inputs::Create
        };
        let values =
            deploy_values(&cloud, plan, &selected, args.ip_ranges.as_deref(), inputs).await?;
        staged.deploy_values = values.values;
        let mut outputs = outside_outputs(&cloud, &all, &selected).await?;
        let mut order = levels(&selected);
        if let Some(decision) = &values.token {
            if let Some(message) = decision_message(decision) {
                eprintln!("health token: {message}");
            }
            token_order(&cloud, decision, &all, &selected, &mut outputs, &mut order).await?;
        }
        let progress = Progress::new(ui);
        let mut changed = 0usize;
        for level in order {
            let prepared: Vec<Prepared<'_>> = join_all(
                level
                    .iter()
                    .map(|t| prepare(&cloud, &staging, &staged, t, &outputs, true)),
            )
            .await
            .into_iter()
            .collect::<Result<_>>()?;
            for p in &prepared {
                if let StackChange::Waiting { on } = &p.change
                    && let Some(missing) = all.iter().find(|t| on.iter().any(|k| k == t.kind))
                {
                    return Err(Error::NotDeployed {
                        stack: missing.name.clone(),
                        region: missing.region.clone(),
                        help: format!(
                            "{} takes its outputs as parameters: deploy it first (`ingest deploy --only {}`)",
                            p.target.name,
                            on.join(",")
                        ),
                    });
                }
                out!("{}", render_change(p));
            }
            let runs: Vec<&Prepared<'_>> = prepared
                .iter()
                .filter(|p| matches!(p.change, StackChange::Change { .. }))
                .collect();
            if !runs.is_empty() && !args.yes {
                let names: Vec<&str> = runs.iter().map(|p| p.target.name.as_str()).collect();
                let question = format!("Deploy these changes to {}?", names.join(" and "));
                if !confirm(&question)? {
                    discard(&cloud, &runs).await?;
                    return Err(Error::Declined {
                        what: format!("{} left as they were", names.join(" and ")),
                    });
                }
            }
            let finished = join_all(runs.iter().map(|p| execute(&cloud, p, &progress))).await;
            progress.borrow_mut().clear();
            let mut failure = None;
            for (p, result) in runs.iter().zip(finished) {
                let finished = result?;
                if !finished.succeeded() && failure.is_none() {
                    failure = Some(stack_failed(p.target, &finished));
                }
            }
            if let Some(error) = failure {
                return Err(error);
            }
            changed += runs.len();
            for p in &prepared {
                let stack = Stacks::new(&cloud, &p.target.region)
                    .describe(&p.target.name)
                    .await?
                    .ok_or_else(|| Error::NotDeployed {
                        stack: p.target.name.clone(),
                        region: p.target.region.clone(),
                        help: "it vanished while deploying; run `ingest deploy` again".to_owned(),
                    })?;
                if runs.iter().any(|r| r.target.kind == p.target.kind) {
                    out!("{}", render_outputs(&stack));
                }
                outputs.insert(p.target.kind, stack.outputs);
            }
        }
        if !args.no_probe {
            run_probe(&cloud, &selected, &outputs).await?;
        }
        let bytes = serde_json::to_vec_pretty(&bundle).expect("a bundle serializes");
        let key = staging::content_key("specs", &bytes, ".json");
        let mut spec_objects: BTreeMap<&str, StagedObject> = BTreeMap::new();
        for target in &selected {
            if !spec_objects.contains_key(target.region.as_str()) {
                let object = staging
                    .put(&target.region, &key, bytes.clone(), "application/json")
                    .await?;
                spec_objects.insert(&target.region, object);
            }
            record(
                &staging,
                target,
                &staged,
                &spec_objects[target.region.as_str()],
            )
            .await?;
        }
        if changed == 0 {
            outln!("no changes");
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Deletes change sets that will not run (and the empty stacks a create change set made).
async fn discard(cloud: &Cloud, runs: &[&Prepared<'_>]) -> Result<()> {
    for p in runs {
        if let StackChange::Change { change_set, new } = &p.change {
            let stacks = Stacks::new(cloud, &p.target.region);
            stacks
                .delete_change_set(&change_set.id, &change_set.stack_id)
                .await?;
            if *new && p.existing.is_none() {
                stacks.delete(&change_set.stack_id).await?;
            }
        }
    }
    Ok(())
}

/// Executes a prepared change set and follows it to the end.
async fn execute(
    cloud: &Cloud,
    prepared: &Prepared<'_>,
    progress: &Rc<RefCell<Progress>>,
) -> Result<Finished> {
    let StackChange::Change { change_set, new } = &prepared.change else {
        unreachable!("only change sets are executed");
    };
    let stacks = Stacks::new(cloud, &prepared.target.region);
    let cursor = stacks.cursor(&change_set.stack_id).await?;
    stacks.execute(change_set).await?;
    let total = if *new {
        prepared.target.resources.len()
    } else {
        change_set.changes.len()
    };
    let verb = if *new { "creating" } else { "updating" };
    let line = progress
        .borrow_mut()
        .start(&prepared.target.name, verb, total);
    let finished = stacks
        .follow(&change_set.stack_id, cursor, &mut |event| {
            progress.borrow_mut().event(line, event);
        })
        .await?;
    progress.borrow_mut().finish(line, &finished.status);
    Ok(finished)
}

/// The error for a stack operation that ended badly.
pub(crate) fn stack_failed(target: &Target, finished: &Finished) -> Error {
    let mut failures: Vec<String> = finished
        .failures
        .iter()
        .filter(|e| {
            // "Resource creation cancelled" only says another resource failed first.
            !e.reason
                .as_deref()
                .is_some_and(|r| r.contains("Resource creation cancelled"))
        })
        .map(|e| {
            format!(
                "{} ({}): {}",
                e.logical_id,
                e.resource_type,
                e.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    if failures.is_empty()
        && let Some(reason) = &finished.status_reason
    {
        failures.push(reason.clone());
    }
    Error::StackFailed {
        stack: target.name.clone(),
        region: target.region.clone(),
        status: finished.status.clone(),
        failures,
        way_out: way_out(&target.name, &target.region, &finished.status),
    }
}

/// A stack's outputs, as deploy prints them.
fn render_outputs(stack: &DeployedStack) -> String {
    let mut out = format!("{} outputs:\n", stack.name);
    let width = stack.outputs.keys().map(String::len).max().unwrap_or(0);
    for (key, value) in &stack.outputs {
        let _ = writeln!(out, "  {key:<width$}  {value}");
    }
    out
}

/// Probes each deployed regional API; fails the run when a route does not answer 2xx.
async fn run_probe(cloud: &Cloud, targets: &[Target], outputs: &Outputs) -> Result<()> {
    let mut results: Vec<ProbeResult> = Vec::new();
    for target in targets {
        let Some(stack_outputs) = outputs.get(target.kind) else {
            continue;
        };
        let Some(api_id) = stack_outputs.get("ApiId") else {
            continue;
        };
        let routes = probe::routes(stack_outputs);
        match probe::probe(cloud, &target.region, &target.name, api_id, &routes).await {
            Ok(found) => results.extend(found),
            // An emulator without TestInvokeMethod (moto): say so rather than fail a deploy
            // that worked. AWS always has the call.
            Err(error @ CloudError::Unsupported { .. }) => {
                eprintln!("warning: the APIs were not probed: {error}");
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        }
    }
    let mut failures = Vec::new();
    for result in &results {
        let verdict = if result.passed() { "ok" } else { "FAILED" };
        outln!(
            "probe {} {}: {} {verdict}",
            result.stack,
            result.route,
            result.status
        );
        if !result.passed() {
            failures.push(format!(
                "{} {}: {} {}",
                result.stack,
                result.route,
                result.status,
                result.reason.as_deref().unwrap_or(&result.body)
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::ProbeFailed { failures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> (Plan, PathBuf) {
        let spec = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/ingest.yaml"));
        (crate::check_spec(&spec).unwrap().plan, spec)
    }

    #[test]
    fn the_spec_bundle_holds_the_files_references_read() {
        let spec = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../specs/./schemas/../checkout.yaml"
        ));
        let plan = crate::check_spec(&spec).unwrap().plan;
        let bundle = spec_bundle(&plan, &spec).unwrap();
        let names: Vec<&str> = bundle.files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "checkout.yaml",
                "schemas/catalog.updated.json",
                "schemas/common.json",
                "schemas/order.placed.json"
            ]
        );
        // The deployed spec reads back from the bundle alone, references and all.
        let old = crate::compat::load_files("deployed", "deployed", &bundle.spec, &bundle.files);
        assert!(old.is_ok(), "{:?}", old.err());
    }

    #[test]
    fn the_spec_bundle_names_files_outside_the_spec_folder_by_their_way_up() {
        // A team's spec beside a folder of definitions shared by several specs.
        let root = tempfile::tempdir().unwrap();
        let (team, shared) = (root.path().join("team"), root.path().join("definitions"));
        std::fs::create_dir_all(&team).unwrap();
        std::fs::create_dir_all(&shared).unwrap();
        let minimal = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../specs/minimal.yaml"
        ))
        .unwrap();
        let spec_text = minimal.replace(
            "url: { type: string, maxLength: 2048 }",
            "url: { $ref: \"../definitions/common.json#/$defs/url\" }",
        );
        assert_ne!(spec_text, minimal);
        let spec = team.join("ingest.yaml");
        std::fs::write(&spec, spec_text).unwrap();
        std::fs::write(
            shared.join("common.json"),
            r#"{"$defs": {"url": {"type": "string", "maxLength": 2048}}}"#,
        )
        .unwrap();
        let plan = crate::check_spec(&spec).unwrap().plan;
        let bundle = spec_bundle(&plan, &spec).unwrap();
        let names: Vec<&str> = bundle.files.keys().map(String::as_str).collect();
        assert_eq!(names, ["../definitions/common.json", "ingest.yaml"]);
        // Read back from the bundle alone, the reference finds its file by the same name.
        let old = crate::compat::load_files("deployed", "deployed", &bundle.spec, &bundle.files);
        assert!(old.is_ok(), "{:?}", old.err());
    }

    #[test]
    fn targets_read_parameters_capabilities_and_levels_from_the_templates() {
        let (plan, spec) = plan();
        let targets = targets(&plan, &spec, &[]).unwrap();
        let kinds: Vec<&str> = targets.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, ["primary", "secondary", "dns", "monitoring"]);
        let primary = &targets[0];
        assert!(primary.needs_code());
        assert_eq!(primary.capabilities, ["CAPABILITY_IAM"]);
        let dns = &targets[2];
        assert!(!dns.needs_code());
        // Every dns parameter is an input, a deploy input (the health token) or has a default
        // (the spec's weights).
        for (key, default) in &dns.parameters {
            assert!(
                default.is_some()
                    || dns.inputs.iter().any(|i| &i.parameter == key)
                    || dns.deploy_inputs.iter().any(|i| i.parameter() == key),
                "{key} would have no value"
            );
        }
        // The token is a secret: never printed in a change's summary.
        assert_eq!(dns.secret_parameters, ["HealthToken"]);
        assert_eq!(
            primary.secret_parameters,
            ["HealthToken", "HealthTokenPrevious"]
        );
        assert_eq!(
            dns.parameters
                .iter()
                .find(|(k, _)| k == "PrimaryWeight")
                .and_then(|(_, d)| d.clone())
                .as_deref(),
            Some(plan.primary.weight.to_string().as_str())
        );
        let levels: Vec<Vec<&str>> = levels(&targets)
            .iter()
            .map(|l| l.iter().map(|t| t.kind).collect())
            .collect();
        assert_eq!(
            levels,
            vec![
                vec!["primary", "secondary"],
                vec!["dns"],
                vec!["monitoring"]
            ]
        );
        // The monitoring stack takes the dns stack's health checks and deploys in the region
        // where Route 53 publishes their metrics.
        let monitoring = &targets[3];
        assert_eq!(monitoring.region, "us-east-1");
        assert!(monitoring.inputs.iter().all(|i| i.from == "dns"));
        let only = super::targets(&plan, &spec, &["dns".to_owned()]).unwrap();
        assert_eq!(only.len(), 1);
        let error = super::targets(&plan, &spec, &["dsn".to_owned()]).unwrap_err();
        assert_eq!(error.to_string(), "the spec has no `dsn` stack");
    }

    #[test]
    fn checks_without_a_token_put_the_dns_stack_first_or_refuse_the_regions_alone() {
        let (plan, spec) = plan();
        let all = targets(&plan, &spec, &[]).unwrap();
        let only = |kinds: &[&str]| {
            let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
            targets(&plan, &spec, &kinds).unwrap()
        };
        let decision = |transition, order| secrets::TokenDecision {
            previous: "p".repeat(43),
            order,
            transition,
        };
        let upgrading = decision(secrets::Transition::Upgrading, secrets::Order::DnsFirst);
        // Every output the dns stack takes, as the deployed regional stacks have them.
        let dns = all.iter().find(|t| t.kind == "dns").unwrap();
        let mut deployed = Outputs::new();
        for input in &dns.inputs {
            deployed
                .entry(input.from)
                .or_default()
                .insert(input.output.clone(), "x".to_owned());
        }
        assert_eq!(token_step(&upgrading, &all, &deployed), TokenStep::DnsFirst);
        // Much older regional stacks without an output the dns stack takes: it cannot go first.
        let mut older = deployed.clone();
        older
            .get_mut("secondary")
            .unwrap()
            .remove("PrimarySwitchAlarmName");
        let TokenStep::Warn(text) = token_step(&upgrading, &all, &older) else {
            panic!("a warning");
        };
        assert!(
            text.contains("PrimarySwitchAlarmName of the secondary stack"),
            "{text}"
        );
        // The regional stacks alone would refuse the deployed checks.
        let TokenStep::Refuse { what, help } =
            token_step(&upgrading, &only(&["primary", "secondary"]), &deployed)
        else {
            panic!("refused");
        };
        assert!(
            what.contains("wiw-events-primary and wiw-events-secondary"),
            "{what}"
        );
        assert!(help.contains("--only dns"), "{help}");
        // The dns stack alone sends the token the old web ACLs ignore: nothing to reorder.
        assert_eq!(
            token_step(&upgrading, &only(&["dns"]), &deployed),
            TokenStep::Usual
        );
        assert_eq!(
            token_step(&upgrading, &only(&["monitoring"]), &deployed),
            TokenStep::Usual
        );
    }

    #[test]
    fn a_rotation_and_a_steady_token_keep_the_plans_order() {
        let (plan, spec) = plan();
        let all = targets(&plan, &spec, &[]).unwrap();
        let decision = |transition| secrets::TokenDecision {
            previous: "p".repeat(43),
            order: secrets::Order::RegionsFirst,
            transition,
        };
        for transition in [
            secrets::Transition::FirstDeploy,
            secrets::Transition::Steady,
            secrets::Transition::Rotating,
        ] {
            assert_eq!(
                token_step(&decision(transition), &all, &Outputs::new()),
                TokenStep::Usual,
                "{transition:?}"
            );
        }
        // The checks alone during a rotation: the regional stacks must already accept it.
        let dns = targets(&plan, &spec, &["dns".to_owned()]).unwrap();
        assert!(matches!(
            token_step(&decision(secrets::Transition::Rotating), &dns, &Outputs::new()),
            TokenStep::Warn(text) if text.contains("deployed since the token changed")
        ));
        assert_eq!(
            token_step(
                &decision(secrets::Transition::Steady),
                &dns,
                &Outputs::new()
            ),
            TokenStep::Usual
        );
    }

    #[test]
    fn tables_align_their_columns() {
        let rows = [
            ResourceChange {
                action: "Modify".into(),
                logical_id: "PrimaryRecordA".into(),
                resource_type: "AWS::Route53::RecordSet".into(),
                replacement: Some("False".into()),
            },
            ResourceChange {
                action: "Add".into(),
                logical_id: "Q".into(),
                resource_type: "AWS::SQS::Queue".into(),
                replacement: None,
            },
        ];
        assert_eq!(
            table(&rows),
            "  ACTION  LOGICAL ID      TYPE                     REPLACEMENT\n\
             \x20 Modify  PrimaryRecordA  AWS::Route53::RecordSet  False\n\
             \x20 Add     Q               AWS::SQS::Queue          -\n"
        );
    }

    #[test]
    fn every_stuck_status_has_a_way_out() {
        assert!(
            way_out("s", "r", "ROLLBACK_COMPLETE")
                .contains("delete-stack --stack-name s --region r")
        );
        assert!(way_out("s", "r", "UPDATE_ROLLBACK_FAILED").contains("continue-update-rollback"));
        assert!(way_out("s", "r", "UPDATE_IN_PROGRESS").contains("wait"));
    }
}
