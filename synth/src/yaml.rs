//! A YAML (and JSON) reader that keeps where everything came from.
//!
//! serde-based YAML readers stop at the first error and forget positions once a value is built,
//! but `ingest check` must point at the line of every problem, all in one run. So the spec is
//! read in two steps: this module builds a [`Node`] tree in which every key and value carries its
//! byte span, and rejects what a plain JSON-like model would silently lose (duplicate keys,
//! several documents, complex keys, custom tags). [`Node::to_json`] then resolves scalars with
//! the YAML 1.2 core schema (so `on`/`yes` stay strings) and the rest of the pipeline works on
//! ordinary `serde_json::Value`s, coming back here with a path only to find a span.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, LazyLock};

use ingest_codegen::schema::PathSegment;
use regex::Regex;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

use crate::diagnostic::{Diagnostic, SourceFile};

/// A value in a YAML document, with its byte span in the source.
#[derive(Debug, Clone)]
pub struct Node {
    /// Byte range of the value in the source text.
    pub span: Range<usize>,
    /// What the value is.
    pub kind: NodeKind,
}

/// The shape of a [`Node`].
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar with its text and whether it was written plain (subject to type resolution).
    Scalar {
        /// The scalar's text after YAML unescaping.
        text: String,
        /// Plain scalars are resolved to null, booleans and numbers; quoted ones stay strings.
        plain: bool,
    },
    /// A sequence.
    Sequence(Vec<Node>),
    /// A mapping, in source order.
    Mapping(Vec<Entry>),
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key's text.
    pub key: String,
    /// Byte range of the key.
    pub key_span: Range<usize>,
    /// The value.
    pub value: Node,
}

impl Node {
    /// Finds the node at `path`, with the span of the key that leads to it (if it is a mapping
    /// value).
    pub fn lookup(&self, path: &[PathSegment]) -> Option<(&Node, Option<Range<usize>>)> {
        let mut node = self;
        let mut key_span = None;
        for segment in path {
            match (&node.kind, segment) {
                (NodeKind::Mapping(entries), PathSegment::Key(key)) => {
                    let entry = entries.iter().find(|entry| &entry.key == key)?;
                    key_span = Some(entry.key_span.clone());
                    node = &entry.value;
                }
                (NodeKind::Sequence(items), PathSegment::Index(index)) => {
                    node = items.get(*index)?;
                    key_span = None;
                }
                _ => return None,
            }
        }
        Some((node, key_span))
    }

    /// The span that best shows the thing at `path`: its key when `want_key`, else its value;
    /// falls back to the deepest ancestor that exists. A mapping or list is shown by its key (or,
    /// at the top level, its first key), never as a whole block of lines.
    pub fn span_of(&self, path: &[PathSegment], want_key: bool) -> Range<usize> {
        for depth in (0..=path.len()).rev() {
            if let Some((node, key_span)) = self.lookup(&path[..depth]) {
                let is_block = matches!(node.kind, NodeKind::Mapping(_) | NodeKind::Sequence(_));
                return match key_span {
                    Some(key) if want_key || depth < path.len() || is_block => key,
                    _ if is_block => node.head_span(),
                    _ => node.span.clone(),
                };
            }
        }
        self.span.clone()
    }

    /// A short span that stands for the node: a mapping's first key, a list's first item.
    fn head_span(&self) -> Range<usize> {
        match &self.kind {
            NodeKind::Mapping(entries) => entries
                .first()
                .map_or(self.span.start..self.span.start, |e| e.key_span.clone()),
            NodeKind::Sequence(items) => items
                .first()
                .map_or(self.span.start..self.span.start, Node::head_span),
            NodeKind::Scalar { .. } => self.span.clone(),
        }
    }

    /// Converts to JSON, resolving plain scalars with the YAML 1.2 core schema. Values JSON cannot
    /// hold (`.inf`, `.nan`) become diagnostics.
    pub fn to_json(&self, source: &Arc<SourceFile>, diagnostics: &mut Vec<Diagnostic>) -> Value {
        match &self.kind {
            NodeKind::Scalar { text, plain: false } => Value::String(text.clone()),
            NodeKind::Scalar { text, plain: true } => match resolve_plain(text) {
                Ok(value) => value,
                Err(message) => {
                    diagnostics.push(
                        Diagnostic::error("not-json", message, source, self.span.clone())
                            .with_label("not a JSON value")
                            .with_help(
                                "write a finite number, or quote the text to make it a string",
                            ),
                    );
                    Value::Null
                }
            },
            NodeKind::Sequence(items) => Value::Array(
                items
                    .iter()
                    .map(|item| item.to_json(source, diagnostics))
                    .collect(),
            ),
            NodeKind::Mapping(entries) => {
                let mut map = Map::new();
                for entry in entries {
                    map.insert(entry.key.clone(), entry.value.to_json(source, diagnostics));
                }
                Value::Object(map)
            }
        }
    }
}

static DECIMAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[-+]?[0-9]+$").unwrap());
static FLOAT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").unwrap());

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(text: &str) -> Result<Value, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            return Err(format!("`{text}` is not a number JSON can represent"));
        }
        _ => {}
    }
    if DECIMAL.is_match(text) {
        if let Ok(int) = text.parse::<i64>() {
            return Ok(Value::Number(int.into()));
        }
        if let Ok(int) = text.trim_start_matches('+').parse::<u64>() {
            return Ok(Value::Number(int.into()));
        }
        // Too big for 64 bits: keep the magnitude as a float, as JSON parsers do.
        return Ok(float_value(text));
    }
    if let Some(digits) = text.strip_prefix("0x")
        && let Ok(int) = u64::from_str_radix(digits, 16)
    {
        return Ok(Value::Number(int.into()));
    }
    if let Some(digits) = text.strip_prefix("0o")
        && let Ok(int) = u64::from_str_radix(digits, 8)
    {
        return Ok(Value::Number(int.into()));
    }
    if FLOAT.is_match(text) {
        return Ok(float_value(text));
    }
    Ok(Value::String(text.to_owned()))
}

fn float_value(text: &str) -> Value {
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or_else(|| Value::String(text.to_owned()), Value::Number)
}

/// Parses one YAML document into a [`Node`] tree. Syntax errors, duplicate keys and other
/// structure the model cannot hold come back as diagnostics.
pub fn parse(source: &Arc<SourceFile>) -> Result<Node, Vec<Diagnostic>> {
    parse_with(source, false)
}

/// Parses a CloudFormation template: the short forms of the intrinsic functions (`!Ref x`,
/// `!GetAtt a.b`, `!Sub ...`) become their long forms (`{Ref: x}`, `{Fn::GetAtt: [a, b]}`,
/// `{Fn::Sub: ...}`), as CloudFormation reads them.
pub fn parse_cloudformation(source: &Arc<SourceFile>) -> Result<Node, Vec<Diagnostic>> {
    parse_with(source, true)
}

fn parse_with(source: &Arc<SourceFile>, cloudformation: bool) -> Result<Node, Vec<Diagnostic>> {
    let mut builder = Builder {
        source,
        parser: Parser::new_from_str(source.text()),
        anchors: HashMap::new(),
        diagnostics: Vec::new(),
        cloudformation,
    };
    let root = builder.document();
    match root {
        Some(root) if builder.diagnostics.is_empty() => Ok(root),
        _ => Err(builder.diagnostics),
    }
}

/// The CloudFormation intrinsic functions that have a short YAML form.
const INTRINSICS: &[&str] = &[
    "Ref",
    "Condition",
    "GetAtt",
    "Sub",
    "Join",
    "Select",
    "Split",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "Base64",
    "Cidr",
    "GetAZs",
    "ImportValue",
    "Length",
    "ToJsonString",
];

struct Builder<'a> {
    source: &'a Arc<SourceFile>,
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
    diagnostics: Vec<Diagnostic>,
    cloudformation: bool,
}

/// A syntax error ends the build: the parser cannot resynchronise after one.
struct Stop;

impl<'a> Builder<'a> {
    fn span(&self, span: Span) -> Range<usize> {
        self.source.byte_range(span.start.index(), span.end.index())
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), Stop> {
        match self.parser.next_event() {
            Some(Ok(event)) => Ok(event),
            Some(Err(error)) => {
                let at = self.source.byte_offset(error.marker().index());
                let info = error.info().to_owned();
                self.diagnostics.push(
                    Diagnostic::error(
                        "yaml-syntax",
                        format!("this is not valid YAML: {info}"),
                        self.source,
                        at..at,
                    )
                    .with_label("the parser stopped here")
                    .with_help("check the indentation and the quoting on this line and the one before it; tabs may not indent YAML"),
                );
                Err(Stop)
            }
            None => Err(Stop),
        }
    }

    fn document(&mut self) -> Option<Node> {
        let mut root = None;
        loop {
            let (event, span) = self.next().ok()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    if root.is_some() {
                        let at = self.span(span);
                        self.diagnostics.push(
                            Diagnostic::error(
                                "yaml-several-documents",
                                "this file holds more than one YAML document".to_owned(),
                                self.source,
                                at,
                            )
                            .with_label("a second document starts here")
                            .with_help("keep one document per file: remove this `---` and what follows, or move it to a file of its own"),
                        );
                        return None;
                    }
                    let (event, span) = self.next().ok()?;
                    root = Some(self.node(event, span).ok()?);
                }
                _ => {
                    root = Some(self.node(event, span).ok()?);
                }
            }
        }
        Some(root.unwrap_or(Node {
            span: 0..0,
            kind: NodeKind::Scalar {
                text: String::new(),
                plain: true,
            },
        }))
    }

    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Node, Stop> {
        let start = self.span(span);
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let mut plain = style == ScalarStyle::Plain;
                let mut other_tag = None;
                if let Some(tag) = tag {
                    if tag.is_yaml_core_schema() && tag.suffix == "str" {
                        plain = false;
                    } else {
                        other_tag = Some(tag);
                    }
                }
                let node = Node {
                    span: start,
                    kind: NodeKind::Scalar {
                        text: text.into_owned(),
                        plain,
                    },
                };
                (self.apply_tag(other_tag.as_deref(), node), anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                let mut items = Vec::new();
                let mut end = start.end;
                loop {
                    let (event, span) = self.next()?;
                    if let Event::SequenceEnd = event {
                        end = end.max(self.span(span).end);
                        break;
                    }
                    let item = self.node(event, span)?;
                    end = end.max(item.span.end);
                    items.push(item);
                }
                let node = Node {
                    span: start.start..end,
                    kind: NodeKind::Sequence(items),
                };
                (self.apply_tag(tag.as_deref(), node), anchor)
            }
            Event::MappingStart(anchor, tag) => {
                let mut entries: Vec<Entry> = Vec::new();
                let mut end = start.end;
                loop {
                    let (event, span) = self.next()?;
                    if let Event::MappingEnd = event {
                        end = end.max(self.span(span).end);
                        break;
                    }
                    let key = self.node(event, span)?;
                    let (event, span) = self.next()?;
                    let value = self.node(event, span)?;
                    end = end.max(value.span.end);
                    let NodeKind::Scalar { text, .. } = key.kind else {
                        self.diagnostics.push(
                            Diagnostic::error(
                                "yaml-complex-key",
                                "a mapping key must be a plain name, not a list or a mapping"
                                    .to_owned(),
                                self.source,
                                key.span,
                            )
                            .with_label("complex key")
                            .with_help("use a string key"),
                        );
                        continue;
                    };
                    if let Some(first) = entries.iter().find(|entry| entry.key == text) {
                        self.diagnostics.push(
                            Diagnostic::error(
                                "duplicate-key",
                                format!("`{text}` is defined twice in the same mapping"),
                                self.source,
                                key.span.clone(),
                            )
                            .with_label("defined again here")
                            .with_related(first.key_span.clone(), "first defined here")
                            .with_help(format!(
                                "YAML keeps only one of them; merge the two `{text}` entries or rename one"
                            )),
                        );
                        continue;
                    }
                    entries.push(Entry {
                        key: text,
                        key_span: key.span,
                        value,
                    });
                }
                let node = Node {
                    span: start.start..end,
                    kind: NodeKind::Mapping(entries),
                };
                (self.apply_tag(tag.as_deref(), node), anchor)
            }
            Event::Alias(id) => {
                let node = match self.anchors.get(&id) {
                    Some(anchored) => Node {
                        span: start,
                        kind: anchored.kind.clone(),
                    },
                    None => Node {
                        span: start,
                        kind: NodeKind::Scalar {
                            text: String::new(),
                            plain: true,
                        },
                    },
                };
                return Ok(node);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::SequenceEnd
            | Event::MappingEnd => {
                return Ok(Node {
                    span: start,
                    kind: NodeKind::Scalar {
                        text: String::new(),
                        plain: true,
                    },
                });
            }
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    /// Applies a tag other than `!!str`: a CloudFormation intrinsic becomes its long form;
    /// anything else is reported.
    fn apply_tag(&mut self, tag: Option<&saphyr_parser::Tag>, node: Node) -> Node {
        let Some(tag) = tag else {
            return node;
        };
        let intrinsic = (self.cloudformation && tag.handle == "!")
            .then(|| INTRINSICS.iter().find(|name| **name == tag.suffix))
            .flatten();
        let Some(name) = intrinsic else {
            self.unsupported_tag(&tag.to_string(), node.span.clone());
            return node;
        };
        let key = match *name {
            "Ref" | "Condition" => (*name).to_owned(),
            other => format!("Fn::{other}"),
        };
        let span = node.span.clone();
        let value = match (&node.kind, *name) {
            // `!GetAtt Resource.Attribute` is the short form of `[Resource, Attribute]`.
            (NodeKind::Scalar { text, .. }, "GetAtt") if text.contains('.') => {
                let (resource, attribute) = text.split_once('.').unwrap_or((text, ""));
                let part = |text: &str| Node {
                    span: span.clone(),
                    kind: NodeKind::Scalar {
                        text: text.to_owned(),
                        plain: false,
                    },
                };
                Node {
                    span: span.clone(),
                    kind: NodeKind::Sequence(vec![part(resource), part(attribute)]),
                }
            }
            _ => node,
        };
        Node {
            span: span.clone(),
            kind: NodeKind::Mapping(vec![Entry {
                key,
                key_span: span,
                value,
            }]),
        }
    }

    fn unsupported_tag(&mut self, tag: &str, span: Range<usize>) {
        self.diagnostics.push(
            Diagnostic::error(
                "yaml-tag",
                format!("the YAML tag `{tag}` is not supported here"),
                self.source,
                span,
            )
            .with_label("tag")
            .with_help("remove the tag; quote a value to make it a string"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_of(text: &str) -> Value {
        let source = Arc::new(SourceFile::new("t.yaml", text.to_owned()));
        let node = parse(&source).unwrap_or_else(|d| panic!("{d:?}"));
        let mut diagnostics = Vec::new();
        let value = node.to_json(&source, &mut diagnostics);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        value
    }

    #[test]
    fn resolves_scalars_with_the_core_schema() {
        assert_eq!(
            json_of(
                "a: 1\nb: -2.5\nc: on\nd: 'true'\ne: true\nf: ~\ng: 0x1F\nh: 1e3\ni: 18446744073709551616\nj: !!str 12\n"
            ),
            json!({"a": 1, "b": -2.5, "c": "on", "d": "true", "e": true, "f": null, "g": 31, "h": 1000.0, "i": 18446744073709551616.0, "j": "12"})
        );
    }

    #[test]
    fn reads_json_too() {
        assert_eq!(
            json_of(r#"{"type": "object", "required": ["a"], "x": [1, {"y": null}]}"#),
            json!({"type": "object", "required": ["a"], "x": [1, {"y": null}]})
        );
    }

    #[test]
    fn keeps_key_order_and_resolves_aliases() {
        let value = json_of("z: &a {k: 1}\na: *a\n");
        assert_eq!(value, json!({"z": {"k": 1}, "a": {"k": 1}}));
        assert_eq!(value.as_object().unwrap().keys().next().unwrap(), "z");
    }

    #[test]
    fn finds_spans_by_path() {
        let text = "regions:\n  primary:\n    weight: 300\n";
        let source = Arc::new(SourceFile::new("t.yaml", text.to_owned()));
        let node = parse(&source).unwrap();
        let path = [
            PathSegment::Key("regions".into()),
            PathSegment::Key("primary".into()),
            PathSegment::Key("weight".into()),
        ];
        assert_eq!(&text[node.span_of(&path, false)], "300");
        assert_eq!(&text[node.span_of(&path, true)], "weight");
        let missing = [
            PathSegment::Key("regions".into()),
            PathSegment::Key("nope".into()),
        ];
        assert_eq!(&text[node.span_of(&missing, false)], "regions");
    }

    #[test]
    fn rejects_duplicate_keys_and_reports_both_places() {
        let source = Arc::new(SourceFile::new("t.yaml", "a: 1\nb: 2\na: 3\n".to_owned()));
        let diagnostics = parse(&source).unwrap_err();
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].code, "duplicate-key");
        assert_eq!(diagnostics[0].span, 10..11);
    }

    #[test]
    fn syntax_errors_are_located() {
        let source = Arc::new(SourceFile::new("t.yaml", "a: [1, 2\nb: 3\n".to_owned()));
        let diagnostics = parse(&source).unwrap_err();
        assert_eq!(diagnostics[0].code, "yaml-syntax");
    }

    #[test]
    fn cloudformation_short_forms_become_long_forms() {
        let text =
            "A: !Ref B\nC: !GetAtt D.Arn\nE: !Sub [\"${X}\", {X: !Ref F}]\nG: !If [H, 1, 2]\n";
        let source = Arc::new(SourceFile::new("t.yaml", text.to_owned()));
        let node = parse_cloudformation(&source).unwrap();
        let value = node.to_json(&source, &mut Vec::new());
        assert_eq!(
            value,
            json!({"A": {"Ref": "B"}, "C": {"Fn::GetAtt": ["D", "Arn"]},
                   "E": {"Fn::Sub": ["${X}", {"X": {"Ref": "F"}}]}, "G": {"Fn::If": ["H", 1, 2]}})
        );
        // Outside CloudFormation templates a tag is an error.
        assert_eq!(parse(&source).unwrap_err()[0].code, "yaml-tag");
    }

    #[test]
    fn non_ascii_text_maps_to_byte_spans() {
        let text = "é: ü\nweight: 300\n";
        let source = Arc::new(SourceFile::new("t.yaml", text.to_owned()));
        let node = parse(&source).unwrap();
        let span = node.span_of(&[PathSegment::Key("weight".into())], false);
        assert_eq!(&text[span], "300");
    }
}
