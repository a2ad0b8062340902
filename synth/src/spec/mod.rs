//! Reading `ingest.yaml`: text -> located tree -> structural check -> raw types.
//!
//! [`read`] does the part that is about the file rather than its meaning: YAML syntax, duplicate
//! keys, unknown keys, missing keys and wrong types, each located in the file. What it returns
//! ([`ReadSpec`]) still has to pass the semantic checks in [`crate::checks`] before a plan can
//! be made from it.

pub mod raw;
pub mod structure;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ingest_codegen::schema::PathSegment;
use miette::Severity;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, SourceFile};
use crate::yaml::{self, Node};
use raw::RawEvent;
pub use raw::RawSpec;

/// A parsed YAML file with its source, for locating paths.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file.
    pub source: Arc<SourceFile>,
    /// Its tree with spans.
    pub tree: Node,
}

impl Document {
    /// Reads and parses a YAML or JSON file; syntax problems are diagnostics.
    pub fn parse(source: SourceFile) -> Result<(Self, Value), Vec<Diagnostic>> {
        let source = Arc::new(source);
        let tree = yaml::parse(&source)?;
        let mut diagnostics = Vec::new();
        let value = tree.to_json(&source, &mut diagnostics);
        if diagnostics.is_empty() {
            Ok((Self { source, tree }, value))
        } else {
            Err(diagnostics)
        }
    }

    /// A diagnostic about the key (`at_key`) or value at `path`.
    pub fn diagnostic(
        &self,
        severity: Severity,
        path: &[PathSegment],
        at_key: bool,
        code: &'static str,
        message: String,
    ) -> Diagnostic {
        let span = self.tree.span_of(path, at_key);
        let diagnostic = Diagnostic::error(code, message, &self.source, span);
        Diagnostic {
            severity,
            ..diagnostic
        }
    }
}

/// Where a schema is written: a file (the spec itself, or a `schema_file`) and the path of the
/// schema inside it.
#[derive(Debug, Clone)]
pub struct SchemaSource {
    /// The file.
    pub document: Document,
    /// The path of the schema in it (`events.<type>.schema`, or empty for a schema file).
    pub prefix: Vec<PathSegment>,
}

/// Where the files a spec names (its `schema_file`s) are read from.
pub trait SpecFiles {
    /// Reads the file at `path` (the spec's folder joined with the name it gives).
    fn read(&self, path: &Path) -> std::io::Result<SourceFile>;
}

/// How a spec names a file it reads, given the file's absolute, normal path (as a schema
/// reference's `file:` URI gives it) and the absolute folder relative paths start from: relative,
/// with `..` where the file is outside that folder (`../definitions/common.json`), so a spec whose
/// files were stored by these names (a git revision, a deployed bundle) reads them back the same
/// way. `None` when the two have no common root (another drive).
pub fn name_relative_to(path: &Path, folder: &Path) -> Option<PathBuf> {
    let folder = lexically_normal(folder);
    let mut path_parts = path.components().peekable();
    let mut folder_parts = folder.components().peekable();
    let mut shared = false;
    while let (Some(a), Some(b)) = (path_parts.peek(), folder_parts.peek()) {
        if a != b {
            break;
        }
        shared = true;
        path_parts.next();
        folder_parts.next();
    }
    if !shared {
        return None;
    }
    let mut name = PathBuf::new();
    for _ in folder_parts {
        name.push("..");
    }
    name.extend(path_parts);
    Some(name)
}

/// An absolute path with `.` and `..` taken out, as references' URIs are.
pub fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The files on disk.
#[derive(Debug, Clone, Copy)]
pub struct Disk;

impl SpecFiles for Disk {
    fn read(&self, path: &Path) -> std::io::Result<SourceFile> {
        SourceFile::read(path)
    }
}

/// Why a spec could not be read or is not valid.
#[derive(Debug)]
pub enum SpecError {
    /// The file could not be read at all.
    Io {
        /// The path as given.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The file was read and has problems (errors, maybe with warnings).
    Invalid(Vec<Diagnostic>),
}

/// A spec whose structure is right, so its raw types could be read.
#[derive(Debug, Clone)]
pub struct ReadSpec {
    /// Where the spec was read from.
    pub path: PathBuf,
    /// The spec file.
    pub document: Document,
    /// The JSON value of the whole spec.
    pub value: Value,
    /// The raw types, when deserialization succeeded (possibly after removing values blamed by
    /// structural problems, so the semantic checks can still run on the rest).
    pub raw: Option<RawSpec>,
    /// The event types alone, when the whole spec could not be deserialized but they could:
    /// their schemas are still checked, so every problem shows in one run.
    pub raw_events: Option<BTreeMap<String, RawEvent>>,
}

/// The JSON Schema of `ingest.yaml`, derived from the raw types.
pub fn json_schema() -> Value {
    let schema = schemars::schema_for!(RawSpec);
    serde_json::to_value(schema).expect("a schemars schema is plain JSON")
}

/// Reads a spec and checks its structure. Structural problems come back as diagnostics next to
/// whatever could still be read.
pub fn read(path: &Path) -> Result<(ReadSpec, Vec<Diagnostic>), SpecError> {
    let source = SourceFile::read(path).map_err(|error| SpecError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    read_source(source, path)
}

/// Like [`read`], for a source already in memory; `path` locates files the spec refers to.
pub fn read_source(
    source: SourceFile,
    path: &Path,
) -> Result<(ReadSpec, Vec<Diagnostic>), SpecError> {
    let (document, value) = Document::parse(source).map_err(SpecError::Invalid)?;
    static SCHEMA: std::sync::LazyLock<Value> = std::sync::LazyLock::new(json_schema);
    let problems = structure::check(&SCHEMA, &value);
    let mut diagnostics: Vec<Diagnostic> = problems
        .iter()
        .map(|problem| {
            document
                .diagnostic(
                    Severity::Error,
                    &problem.path,
                    problem.at_key,
                    problem.code,
                    problem.message.clone(),
                )
                .with_label(problem.label.clone())
                .with_help(problem.help.clone())
        })
        .collect();
    let mut pruned = value.clone();
    structure::prune(&mut pruned, &problems);
    let events = pruned.get("events").cloned();
    let raw = match serde_json::from_value::<RawSpec>(pruned) {
        Ok(raw) => Some(raw),
        Err(error) if problems.is_empty() => {
            // The structural check mirrors serde; if they ever disagree, still say where.
            diagnostics.push(
                document
                    .diagnostic(
                        Severity::Error,
                        &[],
                        false,
                        "unreadable",
                        format!("the spec could not be read: {error}"),
                    )
                    .with_help("compare the file with `ingest schema`"),
            );
            None
        }
        Err(_) => None,
    };
    let raw_events = match (&raw, events) {
        (None, Some(events)) => serde_json::from_value(events).ok(),
        _ => None,
    };
    Ok((
        ReadSpec {
            path: path.to_path_buf(),
            document,
            value,
            raw,
            raw_events,
        },
        diagnostics,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_relative_to_a_folder_go_up_where_they_must() {
        let folder = Path::new("/work/team/./specs/../specs");
        let name = |path: &str| name_relative_to(Path::new(path), folder);
        assert_eq!(
            name("/work/team/specs/schemas/a.json"),
            Some(PathBuf::from("schemas/a.json"))
        );
        assert_eq!(
            name("/work/definitions/common.json"),
            Some(PathBuf::from("../../definitions/common.json"))
        );
        assert_eq!(name("/work/team/specs"), Some(PathBuf::new()));
    }
}
