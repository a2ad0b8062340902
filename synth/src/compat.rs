//! The breaking-change check between a spec and an older version of it (`ingest check --against
//! OLD`; `ingest diff` and `ingest deploy` run it against the deployed spec).
//!
//! The old spec comes from a file, from git ([`Against::Git`]: the same file at a revision, or
//! `REV:PATH`; its schema files are read from the same revision), or from files held in memory
//! (a deployed spec, [`load_files`]). It is read and checked exactly like the new one, and its
//! own errors are reported as the old spec's. The comparison itself is
//! [`ingest_codegen::compat`]'s; this module places each finding in the new spec or the schema
//! file that holds the changed keyword, as a [`Diagnostic`]: breaking changes are errors,
//! "cannot tell" is a warning with a way to find out, and safe changes are listed with the
//! summary. One spec-level rule lives here, since it is about the spec rather than a schema:
//! a lower `api.max_event_bytes` refuses events that were accepted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use ingest_codegen::EventInput;
use ingest_codegen::compat::{Finding, Rule, Verdict, compare_events};
use ingest_codegen::schema::{PathSegment, Target};
use miette::Severity;

use crate::CheckedSpec;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::plan::EventPlan;
use crate::spec::{SpecError, SpecFiles};

/// Where the old spec comes from, as `--against` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Against {
    /// A spec file.
    File(PathBuf),
    /// A spec at a git revision: `path` as git names it (from the repository's root, or from
    /// the current folder with `./`), or the new spec's own file when `None`.
    Git {
        /// The revision (`HEAD~1`, `main`, a commit).
        rev: String,
        /// The file in that revision.
        path: Option<String>,
    },
}

impl Against {
    /// Reads `--against`: an existing file; else `REV:PATH`; else a revision of the same file.
    pub fn parse(text: &str) -> Against {
        if Path::new(text).is_file() {
            return Against::File(PathBuf::from(text));
        }
        match text.split_once(':') {
            Some((rev, path)) if !rev.is_empty() && !path.is_empty() => Against::Git {
                rev: rev.to_owned(),
                path: Some(path.to_owned()),
            },
            _ if looks_like_a_path(text) => Against::File(PathBuf::from(text)),
            _ => Against::Git {
                rev: text.to_owned(),
                path: None,
            },
        }
    }
}

/// A name that can only be a file: it has a spec's extension (a branch may have a `/`).
fn looks_like_a_path(text: &str) -> bool {
    [".yaml", ".yml", ".json"]
        .iter()
        .any(|extension| text.ends_with(extension))
}

/// Why the old spec could not be had.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CompatError {
    /// The old spec file could not be read.
    #[error("cannot read the old spec {}", path.display())]
    #[diagnostic(
        code(ingest::against_unreadable),
        help(
            "--against takes a spec file, a git revision of the same spec (`HEAD~1`, `main`), or REV:PATH"
        )
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// git could not be run.
    #[error("cannot run git to read the old spec at `{rev}`")]
    #[diagnostic(
        code(ingest::git_missing),
        help("install git, or pass the old spec as a file: `--against old-ingest.yaml`")
    )]
    GitMissing {
        /// The revision asked for.
        rev: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// The spec is not in a git repository.
    #[error("{} is not in a git repository, so there is no revision `{rev}` to compare with", dir.display())]
    #[diagnostic(
        code(ingest::not_a_repository),
        help("pass the old spec as a file: `--against old-ingest.yaml`")
    )]
    NotARepository {
        /// The folder of the spec.
        dir: PathBuf,
        /// The revision asked for.
        rev: String,
    },

    /// The revision does not exist.
    #[error("`{rev}` is neither a file nor a revision of the git repository at {}", repository.display())]
    #[diagnostic(
        code(ingest::unknown_revision),
        help(
            "name a commit, branch or tag (`git log --oneline` lists commits), REV:PATH for a file as it was in a revision, or a spec file that exists"
        )
    )]
    UnknownRevision {
        /// The revision asked for.
        rev: String,
        /// The repository's root.
        repository: PathBuf,
    },

    /// The file does not exist in the revision.
    #[error("{path} does not exist in `{rev}`")]
    #[diagnostic(
        code(ingest::not_in_revision),
        help(
            "name the spec as it was then, from the repository's root: `--against {rev}:<path>` (`git show --stat {rev}` lists what changed)"
        )
    )]
    NotInRevision {
        /// The revision.
        rev: String,
        /// The path from the repository's root.
        path: String,
    },

    /// The new spec is outside the repository it was found in (a symbolic link).
    #[error("{} is outside the git repository at {}", path.display(), repository.display())]
    #[diagnostic(
        code(ingest::outside_repository),
        help(
            "name the spec in the revision explicitly: `--against REV:<path from the repository's root>`"
        )
    )]
    OutsideRepository {
        /// The spec.
        path: PathBuf,
        /// The repository's root.
        repository: PathBuf,
    },

    /// git failed in another way.
    #[error("`git {command}` failed: {stderr}")]
    #[diagnostic(code(ingest::git_failed))]
    Git {
        /// The git arguments.
        command: String,
        /// What git said.
        stderr: String,
    },

    /// The old spec has errors of its own.
    #[error("the old spec {label} is not valid, so it cannot be compared")]
    #[diagnostic(
        code(ingest::against_invalid),
        help("compare with a revision or file whose spec is valid for this version of ingest")
    )]
    OldInvalid {
        /// Where the old spec came from.
        label: String,
        /// Its problems.
        #[source]
        error: SpecError,
    },
}

/// An old spec that passed the checks.
#[derive(Debug)]
pub struct OldSpec {
    /// Where it came from, as shown in messages (`HEAD~1:specs/ingest.yaml`).
    pub label: String,
    /// The spec, checked.
    pub checked: CheckedSpec,
}

/// Reads and checks the old spec; `new_spec` is the spec it is compared with (git finds its
/// repository, and a bare revision means this same file).
pub fn load(against: &Against, new_spec: &Path) -> Result<OldSpec, CompatError> {
    match against {
        Against::File(path) => {
            let source = SourceFile::read(path).map_err(|source| CompatError::Read {
                path: path.clone(),
                source,
            })?;
            let label = path.display().to_string();
            let checked =
                crate::check_source(source, path).map_err(|error| CompatError::OldInvalid {
                    label: label.clone(),
                    error,
                })?;
            Ok(OldSpec { label, checked })
        }
        Against::Git { rev, path } => load_git(rev, path.as_deref(), new_spec),
    }
}

/// Checks an old spec held in memory (a deployed spec): `spec` is its file name among `files`,
/// which map paths relative to the spec's folder to their text; `label` names it in messages,
/// and `place` prefixes the names of its files in diagnostics (`deployed:ingest.yaml`).
pub fn load_files(
    label: &str,
    place: &str,
    spec: &str,
    files: &BTreeMap<String, String>,
) -> Result<OldSpec, CompatError> {
    let memory = MemoryFiles {
        label: place,
        files: files
            .iter()
            .filter_map(|(path, text)| Some((normalize(Path::new(path))?, text.as_str())))
            .collect(),
    };
    let spec_path = Path::new(spec);
    let source = memory.read(spec_path).map_err(|source| CompatError::Read {
        path: PathBuf::from(format!("{place}:{spec}")),
        source,
    })?;
    let checked = crate::check_files(source, spec_path, &memory).map_err(|error| {
        CompatError::OldInvalid {
            label: label.to_owned(),
            error,
        }
    })?;
    Ok(OldSpec {
        label: label.to_owned(),
        checked,
    })
}

/// A spec's files held in memory, by normalized relative path.
struct MemoryFiles<'a> {
    label: &'a str,
    files: BTreeMap<String, &'a str>,
}

impl SpecFiles for MemoryFiles<'_> {
    fn read(&self, path: &Path) -> std::io::Result<SourceFile> {
        let key = normalize(path).ok_or_else(|| not_found(path, self.label))?;
        let text = self
            .files
            .get(&key)
            .ok_or_else(|| not_found(path, self.label))?;
        Ok(SourceFile::new(
            format!("{}:{key}", self.label),
            (*text).to_owned(),
        ))
    }
}

fn not_found(path: &Path, place: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{} does not exist in {place}", path.display()),
    )
}

/// A relative path with `.` and `..` resolved, `/`-separated, a leading `..` kept; `None` when
/// it is absolute.
fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            // A name above the spec's folder (`../definitions/common.json`) keeps its `..`.
            Component::ParentDir => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ => parts.push(".."),
            },
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// The files of one git revision.
struct GitFiles<'a> {
    repository: &'a Path,
    rev: &'a str,
}

impl SpecFiles for GitFiles<'_> {
    fn read(&self, path: &Path) -> std::io::Result<SourceFile> {
        let place = format!("`{}`", self.rev);
        // A revision holds only the repository's own files.
        let key = normalize(path)
            .filter(|key| !key.starts_with("../"))
            .ok_or_else(|| not_found(path, &place))?;
        let text = git_text(self.repository, self.rev, &key).map_err(|error| {
            std::io::Error::new(std::io::ErrorKind::NotFound, error.to_string())
        })?;
        Ok(SourceFile::new(format!("{}:{key}", self.rev), text))
    }
}

fn git(repository: &Path, rev: &str, args: &[&str]) -> Result<std::process::Output, CompatError> {
    Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(args)
        .output()
        .map_err(|source| CompatError::GitMissing {
            rev: rev.to_owned(),
            source,
        })
}

/// A file's text at a revision.
fn git_text(repository: &Path, rev: &str, path: &str) -> Result<String, CompatError> {
    let object = format!("{rev}:{path}");
    let exists = git(repository, rev, &["cat-file", "-e", &object])?;
    if !exists.status.success() {
        return Err(CompatError::NotInRevision {
            rev: rev.to_owned(),
            path: path.to_owned(),
        });
    }
    let output = git(repository, rev, &["cat-file", "blob", &object])?;
    if !output.status.success() {
        return Err(CompatError::Git {
            command: format!("cat-file blob {object}"),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    String::from_utf8(output.stdout).map_err(|_| CompatError::Git {
        command: format!("cat-file blob {object}"),
        stderr: format!("{object} is not UTF-8 text"),
    })
}

fn load_git(rev: &str, path: Option<&str>, new_spec: &Path) -> Result<OldSpec, CompatError> {
    let dir = match new_spec.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let toplevel = git(&dir, rev, &["rev-parse", "--show-toplevel"])?;
    if !toplevel.status.success() {
        return Err(CompatError::NotARepository {
            dir,
            rev: rev.to_owned(),
        });
    }
    let repository = PathBuf::from(String::from_utf8_lossy(&toplevel.stdout).trim());
    let repository = repository.canonicalize().unwrap_or(repository);
    let commit = git(
        &repository,
        rev,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )?;
    if !commit.status.success() {
        return Err(CompatError::UnknownRevision {
            rev: rev.to_owned(),
            repository,
        });
    }
    let outside = |path: PathBuf| CompatError::OutsideRepository {
        path,
        repository: repository.clone(),
    };
    let in_repository = |absolute: &Path| {
        absolute
            .strip_prefix(&repository)
            .ok()
            .and_then(normalize)
            .ok_or_else(|| outside(absolute.to_path_buf()))
    };
    let relative = match path {
        None => {
            let absolute = new_spec
                .canonicalize()
                .map_err(|_| outside(new_spec.to_path_buf()))?;
            in_repository(&absolute)?
        }
        Some(path) if path.starts_with("./") || path.starts_with("../") => {
            let cwd = std::env::current_dir()
                .and_then(|d| d.canonicalize())
                .map_err(|_| outside(PathBuf::from(path)))?;
            let joined = lexical_join(&cwd, path);
            in_repository(&joined)?
        }
        Some(path) => normalize(Path::new(path)).ok_or_else(|| outside(PathBuf::from(path)))?,
    };
    let text = git_text(&repository, rev, &relative)?;
    let label = format!("{rev}:{relative}");
    let files = GitFiles {
        repository: &repository,
        rev,
    };
    let checked = crate::check_files(
        SourceFile::new(label.clone(), text),
        Path::new(&relative),
        &files,
    )
    .map_err(|error| CompatError::OldInvalid {
        label: label.clone(),
        error,
    })?;
    Ok(OldSpec { label, checked })
}

/// `base` joined with a relative path, `..` resolved without touching the disk.
fn lexical_join(base: &Path, relative: &str) -> PathBuf {
    let mut out = base.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
            _ => {}
        }
    }
    out
}

/// The breaking-change check against what runs: the spec last deployed to the stack whose
/// validator judges events (the primary). `None` when ingest never deployed it.
#[cfg(feature = "aws")]
pub async fn against_deployed(
    cloud: &crate::cloud::Cloud,
    new: &CheckedSpec,
) -> Result<Option<Comparison>, crate::errors::Error> {
    let primary = new.plan.stack(crate::plan::StackKind::Primary);
    let Some((record, bundle)) =
        crate::cloud::staging::deployed_spec(cloud, &primary.region, &primary.name).await?
    else {
        return Ok(None);
    };
    let label = format!(
        "the spec deployed to {} ({})",
        record.stack, record.deployed_at
    );
    let old = load_files(&label, "deployed", &bundle.spec, &bundle.files)?;
    Ok(Some(compare(new, &old)))
}

/// The changes between an old spec and a new one, each placed in the new spec's files.
#[derive(Debug)]
pub struct Comparison {
    /// Where the old spec came from.
    pub against: String,
    /// One per change: errors for breaking changes, warnings when the check cannot tell,
    /// advice for safe changes; sorted by position.
    pub changes: Vec<Diagnostic>,
}

/// The codes of the spec-level rule.
pub const MAX_EVENT_BYTES_LOWERED: &str = "max-event-bytes-lowered";
/// See [`MAX_EVENT_BYTES_LOWERED`].
pub const MAX_EVENT_BYTES_RAISED: &str = "max-event-bytes-raised";

impl Comparison {
    /// Whether a change breaks events that were valid.
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(Diagnostic::is_error)
    }

    /// Breaking changes and those the check cannot judge, to report as diagnostics.
    pub fn reported(&self) -> Vec<Diagnostic> {
        self.changes
            .iter()
            .filter(|d| !matches!(d.severity, Severity::Advice))
            .cloned()
            .collect()
    }

    /// The section `ingest check` prints after its summary: the counts, then each safe change
    /// with its place.
    pub fn summary(&self) -> String {
        let count = |severity: Severity| {
            self.changes
                .iter()
                .filter(|d| d.severity == severity)
                .count()
        };
        let mut out = String::new();
        if self.changes.is_empty() {
            let _ = writeln!(
                out,
                "compared with {}: no change to what events may be",
                self.against
            );
            return out;
        }
        let _ = writeln!(
            out,
            "compared with {}: {} breaking, {} cannot tell, {} safe",
            self.against,
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Advice)
        );
        let safe: Vec<&Diagnostic> = self
            .changes
            .iter()
            .filter(|d| d.severity == Severity::Advice)
            .collect();
        if !safe.is_empty() {
            let _ = writeln!(out, "safe changes:");
        }
        for change in safe {
            let _ = writeln!(
                out,
                "  {}  {}  {}",
                change.location(),
                change.code,
                change.message
            );
        }
        out
    }
}

/// Compares the old spec with the new one.
pub fn compare(new: &CheckedSpec, old: &OldSpec) -> Comparison {
    let findings = compare_events(&inputs(&old.checked.plan.events), &inputs(&new.plan.events));
    let mut changes: Vec<Diagnostic> = findings.iter().map(|f| locate(new, f)).collect();
    changes.extend(max_event_bytes(new, &old.checked));
    crate::diagnostic::sort(&mut changes);
    Comparison {
        against: old.label.clone(),
        changes,
    }
}

fn inputs(events: &[EventPlan]) -> Vec<EventInput<'_>> {
    events.iter().map(EventPlan::input).collect()
}

fn severity(verdict: Verdict) -> Severity {
    match verdict {
        Verdict::Breaking => Severity::Error,
        Verdict::CannotTell => Severity::Warning,
        Verdict::Safe => Severity::Advice,
    }
}

fn label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Breaking => "breaking change",
        Verdict::CannotTell => "cannot tell",
        Verdict::Safe => "safe",
    }
}

/// A finding as a diagnostic on the changed key in the new spec or schema file.
fn locate(new: &CheckedSpec, finding: &Finding) -> Diagnostic {
    let event_key = || {
        vec![
            PathSegment::Key("events".to_owned()),
            PathSegment::Key(finding.event.clone()),
        ]
    };
    let event = new
        .plan
        .events
        .iter()
        .find(|e| e.type_name == finding.event);
    let (document, path, at_key, message) = match (finding.rule, event) {
        (Rule::EventTypeRemoved, _) | (_, None) => (
            &new.document,
            vec![PathSegment::Key("events".to_owned())],
            true,
            finding.message.clone(),
        ),
        (Rule::EventTypeAdded, Some(_)) => {
            (&new.document, event_key(), true, finding.message.clone())
        }
        (_, Some(event)) => {
            let mut path = event.source.prefix.clone();
            path.extend(finding.path.iter().cloned());
            let place = if finding.instance.is_empty() {
                format!("`{}`", finding.event)
            } else {
                format!("`{}` at `{}`", finding.event, finding.instance)
            };
            (
                &event.source.document,
                path,
                finding.target == Target::Key,
                format!("{place}: {}", finding.message),
            )
        }
    };
    let mut diagnostic = document
        .diagnostic(
            severity(finding.verdict),
            &path,
            at_key,
            finding.rule.code(),
            message,
        )
        .with_label(label(finding.verdict));
    if let Some(help) = &finding.help {
        diagnostic = diagnostic.with_help(help.clone());
    }
    diagnostic
}

/// `api.max_event_bytes`: a lower limit refuses events that were accepted.
fn max_event_bytes(new: &CheckedSpec, old: &CheckedSpec) -> Option<Diagnostic> {
    let (before, after) = (old.plan.api.max_event_bytes, new.plan.api.max_event_bytes);
    let path = [
        PathSegment::Key("api".to_owned()),
        PathSegment::Key("max_event_bytes".to_owned()),
    ];
    let diagnostic = |severity, code, message: String| {
        new.document
            .diagnostic(severity, &path, false, code, message)
    };
    match after.cmp(&before) {
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => Some(
            diagnostic(
                Severity::Advice,
                MAX_EVENT_BYTES_RAISED,
                format!("`api.max_event_bytes` is {after} now (was {before})"),
            )
            .with_label("safe"),
        ),
        std::cmp::Ordering::Less => Some(
            diagnostic(
                Severity::Error,
                MAX_EVENT_BYTES_LOWERED,
                format!(
                    "`api.max_event_bytes` is {after} now (was {before}): events of {} to {before} bytes were accepted and are refused with 413 or quarantined as `too_large` now",
                    after + 1
                ),
            )
            .with_label(label(Verdict::Breaking))
            .with_help(format!(
                "lower the limit only once no producer sends events over {after} bytes"
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn against_tells_files_from_revisions() {
        let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/ingest.yaml");
        assert_eq!(Against::parse(spec), Against::File(PathBuf::from(spec)));
        assert_eq!(
            Against::parse("HEAD~1"),
            Against::Git {
                rev: "HEAD~1".into(),
                path: None
            }
        );
        assert_eq!(
            Against::parse("main:specs/ingest.yaml"),
            Against::Git {
                rev: "main".into(),
                path: Some("specs/ingest.yaml".into())
            }
        );
        assert_eq!(
            Against::parse("origin/main"),
            Against::Git {
                rev: "origin/main".into(),
                path: None
            }
        );
        assert_eq!(
            Against::parse("missing/old.yaml"),
            Against::File(PathBuf::from("missing/old.yaml"))
        );
    }

    #[test]
    fn paths_are_normalized_inside_their_root() {
        assert_eq!(
            normalize(Path::new("specs/../schemas/./a.json")).as_deref(),
            Some("schemas/a.json")
        );
        assert_eq!(
            normalize(Path::new("../a.json")).as_deref(),
            Some("../a.json")
        );
        assert_eq!(
            normalize(Path::new("a/../../b/../c.json")).as_deref(),
            Some("../c.json")
        );
        assert_eq!(normalize(Path::new("/a.json")), None);
        assert_eq!(
            lexical_join(Path::new("/repo/specs"), "../schemas/a.json"),
            PathBuf::from("/repo/schemas/a.json")
        );
    }
}
