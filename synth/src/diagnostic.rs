//! Located, fixable diagnostics.
//!
//! Every problem `ingest` finds in a user's files becomes a [`Diagnostic`]: a stable code, a
//! message that names the key path, a label on the exact span in the file, and a help line that
//! says what to do. They are rendered with miette, so the user sees the file, line and column
//! and the offending line itself. Diagnostics are collected, sorted by position and shown
//! together: one run reports everything.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, Severity};

/// A file read from disk (or given in memory), shown in diagnostics.
#[derive(Debug)]
pub struct SourceFile {
    name: String,
    text: Arc<str>,
    /// Byte offset of every char index, plus the end: saphyr reports positions in chars.
    char_to_byte: Vec<usize>,
    named: NamedSource<Arc<str>>,
}

impl SourceFile {
    /// A source with the name diagnostics show for it.
    pub fn new(name: impl Into<String>, text: String) -> Self {
        let name = name.into();
        let text: Arc<str> = Arc::from(text);
        let mut char_to_byte: Vec<usize> = text.char_indices().map(|(byte, _)| byte).collect();
        char_to_byte.push(text.len());
        let named = NamedSource::new(&name, Arc::clone(&text)).with_language("yaml");
        Self {
            name,
            text,
            char_to_byte,
            named,
        }
    }

    /// Reads a file; the name shown is the path as given.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Ok(Self::new(path.display().to_string(), text))
    }

    /// The name diagnostics show.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Byte offset of a char index.
    pub fn byte_offset(&self, char_index: usize) -> usize {
        self.char_to_byte
            .get(char_index)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// Byte range of a char range.
    pub fn byte_range(&self, start: usize, end: usize) -> Range<usize> {
        self.byte_offset(start)..self.byte_offset(end)
    }

    /// 1-based line and column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }
}

/// One located problem.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Error or warning; warnings do not make a spec invalid.
    pub severity: Severity,
    /// A stable identifier of the kind of problem (`weight-range`).
    pub code: &'static str,
    /// What is wrong. Starts with the key path when there is one.
    pub message: String,
    /// The file it is in.
    pub source: Arc<SourceFile>,
    /// Byte range of the offending text.
    pub span: Range<usize>,
    /// Short text shown under the span.
    pub label: String,
    /// Other places that explain the problem (in the same file).
    pub related: Vec<(Range<usize>, String)>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(
        code: &'static str,
        message: String,
        source: &Arc<SourceFile>,
        span: Range<usize>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message,
            source: Arc::clone(source),
            span,
            label: String::new(),
            related: Vec::new(),
            help: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(
        code: &'static str,
        message: String,
        source: &Arc<SourceFile>,
        span: Range<usize>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message, source, span)
        }
    }

    /// Sets the label under the span.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a second labelled place.
    pub fn with_related(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    /// Whether this makes the input invalid.
    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Error)
    }

    /// `file:line:column`, for one-line output.
    pub fn location(&self) -> String {
        let (line, column) = self.source.line_column(self.span.start);
        format!("{}:{line}:{column}", self.source.name())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("ingest::{}", self.code)))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source.named)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(
            (!self.label.is_empty()).then(|| self.label.clone()),
            self.span.clone(),
        );
        let related = self
            .related
            .iter()
            .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), span.clone()));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

/// Sorts diagnostics by file and position, so output is stable and reads top to bottom.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.source.name(), a.span.start, a.code).cmp(&(b.source.name(), b.span.start, b.code))
    });
}

/// Renders diagnostics the way the CLI prints them; `color` adds ANSI colors.
pub fn render(diagnostics: &[Diagnostic], color: bool) -> String {
    let handler = crate::errors::handler(color);
    let mut out = String::new();
    for diagnostic in diagnostics {
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, diagnostic);
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    out.push_str(&format!(
        "{} error{}, {} warning{}\n",
        errors,
        if errors == 1 { "" } else { "s" },
        warnings,
        if warnings == 1 { "" } else { "s" }
    ));
    out
}

/// Resolves `relative` against the directory of the file `base`.
pub fn resolve_beside(base: &Path, relative: &str) -> PathBuf {
    base.parent()
        .map_or_else(|| PathBuf::from(relative), |dir| dir.join(relative))
}
