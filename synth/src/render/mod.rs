//! Rendering: a checked plan -> the text of every generated file.
//!
//! The CloudFormation stacks and the architecture page are Tera templates (`templates/`,
//! embedded in the binary; `--templates DIR` renders a user's fork instead). Templates see only
//! the typed [`context::Contexts`] built from the plan, with undefined variables as errors, and
//! hold no logic beyond loops and conditionals. Every rendered stack is parsed again and checked
//! ([`crate::template_checks`]) before anything is written: a template that renders but would
//! fail at deploy time is a bug to report, not a file to write.

pub mod athena;
pub mod context;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::SourceFile;
use crate::plan::Plan;
use crate::template_checks;

/// The templates shipped in the binary, by name (their path under `templates/`).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "architecture.md.tera",
        include_str!("../../../templates/architecture.md.tera"),
    ),
    (
        "dns.yaml.tera",
        include_str!("../../../templates/dns.yaml.tera"),
    ),
    (
        "monitoring.yaml.tera",
        include_str!("../../../templates/monitoring.yaml.tera"),
    ),
    (
        "primary.yaml.tera",
        include_str!("../../../templates/primary.yaml.tera"),
    ),
    (
        "secondary.yaml.tera",
        include_str!("../../../templates/secondary.yaml.tera"),
    ),
    (
        "partials/alarm.yaml.tera",
        include_str!("../../../templates/partials/alarm.yaml.tera"),
    ),
    (
        "partials/api.yaml.tera",
        include_str!("../../../templates/partials/api.yaml.tera"),
    ),
    (
        "partials/athena.yaml.tera",
        include_str!("../../../templates/partials/athena.yaml.tera"),
    ),
    (
        "partials/bucket.yaml.tera",
        include_str!("../../../templates/partials/bucket.yaml.tera"),
    ),
    (
        "partials/code-parameters.yaml.tera",
        include_str!("../../../templates/partials/code-parameters.yaml.tera"),
    ),
    (
        "partials/dashboard.yaml.tera",
        include_str!("../../../templates/partials/dashboard.yaml.tera"),
    ),
    (
        "partials/data-key.yaml.tera",
        include_str!("../../../templates/partials/data-key.yaml.tera"),
    ),
    (
        "partials/function.yaml.tera",
        include_str!("../../../templates/partials/function.yaml.tera"),
    ),
    (
        "partials/glue-table.yaml.tera",
        include_str!("../../../templates/partials/glue-table.yaml.tera"),
    ),
    (
        "partials/kms.yaml.tera",
        include_str!("../../../templates/partials/kms.yaml.tera"),
    ),
    (
        "partials/lever.yaml.tera",
        include_str!("../../../templates/partials/lever.yaml.tera"),
    ),
    (
        "partials/ops.yaml.tera",
        include_str!("../../../templates/partials/ops.yaml.tera"),
    ),
    (
        "partials/outputs-regional.yaml.tera",
        include_str!("../../../templates/partials/outputs-regional.yaml.tera"),
    ),
    (
        "partials/spool.yaml.tera",
        include_str!("../../../templates/partials/spool.yaml.tera"),
    ),
    (
        "partials/stream.yaml.tera",
        include_str!("../../../templates/partials/stream.yaml.tera"),
    ),
    (
        "partials/tags.yaml.tera",
        include_str!("../../../templates/partials/tags.yaml.tera"),
    ),
    (
        "partials/waf.yaml.tera",
        include_str!("../../../templates/partials/waf.yaml.tera"),
    ),
];

/// The templates every set must have.
pub const REQUIRED: [&str; 5] = [
    "primary.yaml.tera",
    "secondary.yaml.tera",
    "dns.yaml.tera",
    "monitoring.yaml.tera",
    "architecture.md.tera",
];

/// CloudFormation's limit for a template passed inline (`TemplateBody`).
pub const INLINE_TEMPLATE_LIMIT: usize = 51_200;
/// CloudFormation's limit for a template passed by S3 URL.
pub const S3_TEMPLATE_LIMIT: usize = 1_000_000;

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template set could not be loaded.
    #[error("cannot load the templates from {dir}: {message}")]
    Templates {
        /// The folder given with `--templates`.
        dir: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Tera failed (syntax error, undefined variable...).
    #[error("rendering {template} failed: {message}")]
    Tera {
        /// The root template.
        template: String,
        /// Tera's error chain.
        message: String,
    },
    /// A rendered stack is not a valid template.
    #[error("the rendered {stack} stack is not valid:\n{}", problems.join("\n"))]
    Invalid {
        /// Stack kind.
        stack: String,
        /// Every problem found.
        problems: Vec<String>,
    },
}

/// A loaded template set.
pub struct Templates {
    tera: tera::Tera,
    /// The text of the API partial (part of the deployment hash).
    api_partial: String,
}

impl Templates {
    /// The templates shipped in the binary.
    pub fn embedded() -> Result<Self, RenderError> {
        Self::from_sources(
            EMBEDDED
                .iter()
                .map(|(name, text)| ((*name).to_owned(), (*text).to_owned())),
            Path::new("<embedded>"),
        )
    }

    /// A user's fork: every `*.tera` file below `dir`, named by its path relative to `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self, RenderError> {
        let mut sources = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(current) = stack.pop() {
            let entries = std::fs::read_dir(&current).map_err(|error| RenderError::Templates {
                dir: dir.to_path_buf(),
                message: format!("{}: {error}", current.display()),
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "tera") {
                    let text =
                        std::fs::read_to_string(&path).map_err(|error| RenderError::Templates {
                            dir: dir.to_path_buf(),
                            message: format!("{}: {error}", path.display()),
                        })?;
                    let name = path
                        .strip_prefix(dir)
                        .unwrap_or(&path)
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/");
                    sources.push((name, text));
                }
            }
        }
        Self::from_sources(sources.into_iter(), dir)
    }

    fn from_sources(
        sources: impl Iterator<Item = (String, String)>,
        dir: &Path,
    ) -> Result<Self, RenderError> {
        let sources: BTreeMap<String, String> = sources.collect();
        for required in REQUIRED {
            if !sources.contains_key(required) {
                return Err(RenderError::Templates {
                    dir: dir.to_path_buf(),
                    message: format!(
                        "`{required}` is missing; a template set needs {}",
                        REQUIRED.join(", ")
                    ),
                });
            }
        }
        let api_partial = sources
            .get("partials/api.yaml.tera")
            .cloned()
            .unwrap_or_default();
        let mut tera = tera::Tera::default();
        tera.autoescape_on(Vec::new());
        tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|error| RenderError::Templates {
                dir: dir.to_path_buf(),
                message: error_chain(&error),
            })?;
        Ok(Self { tera, api_partial })
    }

    fn render(&self, template: &str, context: &tera::Context) -> Result<String, RenderError> {
        self.tera
            .render(template, context)
            .map_err(|error| RenderError::Tera {
                template: template.to_owned(),
                message: error_chain(&error),
            })
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

/// One rendered stack.
#[derive(Debug, Clone)]
pub struct RenderedStack {
    /// `primary`, `secondary`, `dns` or `monitoring`.
    pub kind: &'static str,
    /// Stack name.
    pub name: String,
    /// Region it deploys to.
    pub region: String,
    /// The template text.
    pub text: String,
    /// Number of resources.
    pub resources: usize,
}

/// Everything rendered for one spec.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Every stack, in the plan's deploy order.
    pub stacks: Vec<RenderedStack>,
    /// The Mermaid page.
    pub architecture: String,
    /// Athena queries by file name.
    pub athena_sql: BTreeMap<String, String>,
}

/// Renders and checks every output of a plan.
pub fn render(plan: &Plan, templates: &Templates) -> Result<Rendered, RenderError> {
    let contexts = context::build(plan, &templates.api_partial);
    let mut stacks = Vec::new();
    let mut parsed = BTreeMap::new();
    for stack in &contexts.stacks {
        let mut tera_context = tera::Context::new();
        tera_context.insert("plan", &contexts.plan);
        tera_context.insert("stack", stack);
        let text = templates.render(stack.template, &tera_context)?;
        let (resources, json) = verify(stack.kind, &text)?;
        parsed.insert(stack.kind, (stack.region.clone(), json));
        stacks.push(RenderedStack {
            kind: stack.kind,
            name: stack.name.clone(),
            region: stack.region.clone(),
            text,
            resources,
        });
    }
    if let (Some((region, secondary)), Some((_, dns))) =
        (parsed.get("secondary"), parsed.get("dns"))
    {
        let problems = template_checks::check_switch_alarms(secondary, region, dns);
        if !problems.is_empty() {
            return Err(RenderError::Invalid {
                stack: "dns".to_owned(),
                problems: problems.iter().map(ToString::to_string).collect(),
            });
        }
    }
    let mut tera_context = tera::Context::new();
    tera_context.insert("plan", &contexts.plan);
    let architecture = templates.render("architecture.md.tera", &tera_context)?;
    let athena_sql = contexts
        .plan
        .athena
        .tables
        .iter()
        .filter_map(|table| {
            table
                .dedupe_sql
                .as_ref()
                .map(|sql| (format!("{}.sql", table.table_name), sql.clone()))
        })
        .collect();
    Ok(Rendered {
        stacks,
        architecture,
        athena_sql,
    })
}

/// Parses a rendered stack back and checks it; returns its resource count and the template as
/// JSON.
fn verify(kind: &str, text: &str) -> Result<(usize, serde_json::Value), RenderError> {
    let invalid = |problems: Vec<String>| RenderError::Invalid {
        stack: kind.to_owned(),
        problems,
    };
    if text.len() > S3_TEMPLATE_LIMIT {
        return Err(invalid(vec![format!(
            "{} bytes is over CloudFormation's 1 MB limit for templates staged in S3",
            text.len()
        )]));
    }
    let source = Arc::new(SourceFile::new(format!("{kind}.yaml"), text.to_owned()));
    let tree = crate::yaml::parse_cloudformation(&source).map_err(|diagnostics| {
        invalid(
            diagnostics
                .iter()
                .map(|d| format!("{}: {}", d.location(), d.message))
                .collect(),
        )
    })?;
    let mut diagnostics = Vec::new();
    let template = tree.to_json(&source, &mut diagnostics);
    let problems: Vec<String> = diagnostics
        .iter()
        .map(|d| format!("{}: {}", d.location(), d.message))
        .chain(
            template_checks::check_template(&template)
                .iter()
                .map(ToString::to_string),
        )
        .collect();
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let resources = template
        .get("Resources")
        .and_then(serde_json::Value::as_object)
        .map_or(0, serde_json::Map::len);
    Ok((resources, template))
}
