//! The model of the JSON Schema vocabulary that event schemas may use, and its parser
//! (`docs/architecture.md#events`).
//!
//! [`parse`] (and [`parse_with`], which can also read files) turns a `serde_json::Value` into a
//! [`Document`] and checks it on the way: every keyword must be one `ingest` supports (the table
//! of `crate::keywords`), every value must be sane (a regex that compiles, `min <= max`, a
//! non-empty `enum`, a positive `multipleOf`, `required` names that can exist, keywords that can
//! apply to the declared `type`), and every `$ref` must resolve. Problems are collected, never
//! short-circuited, so a user sees all of them at once. Each [`SchemaError`] carries the path of
//! the offending value and the file it is in; the front-ends map that to a line and column in
//! their own source.
//!
//! Semantics are those of draft 2020-12. Unsupported keywords are errors, never ignored: a schema
//! that silently validates less than its author wrote is worse than one that does not load. The
//! one exception is a key named as an extension (`x-owner`: `crate::keywords::is_extension`),
//! an annotation of the author's that no validator reads.
//!
//! # References
//!
//! A schema is a tree ([`Schema`]); a `$ref` in it is an index into the document's table of
//! [`Definition`]s, which holds every schema a reference reaches, each once. A recursive schema is
//! therefore finite: a reference back to an ancestor is just an index. References resolve as
//! draft 2020-12 says (RFC 3986 against the base URI that `$id`s set), to:
//!
//! - a JSON pointer into the same document (`#/$defs/address`, `#/properties/a/items`, `#`);
//! - an anchor (`#node`, set by `$anchor`);
//! - a schema resource embedded in the document (a subschema with its own `$id`);
//! - a file, when the document was read from one ([`parse_with`]): `common.json#/$defs/address`
//!   is resolved against the referring file's folder and read through the [`Loader`], once.
//!
//! Nothing is ever fetched: a reference to any other URL is an error that says what to do
//! instead, as are `$dynamicRef`, `$dynamicAnchor` and `$vocabulary`. A cycle of references that
//! never descends into the value (`a` is `$ref: b`, `b` is `$ref: a`) is an error too, since
//! validation would never end; a cycle through `properties` or `items` (a tree of nodes) is fine,
//! because every step reads one level deeper into the value, and the reader bounds the depth.

pub(crate) mod uri;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use serde_json::{Map, Number, Value};

use crate::keywords::{self, Family, Role};
use uri::{Uri, pointer};
pub use uri::{percent_decode, pointer_segments};

/// The draft this vocabulary follows; the only value `$schema` may take.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// A schema: either a boolean schema (`true` accepts everything, `false` nothing) or an object.
#[derive(Debug, Clone, PartialEq)]
pub enum Schema {
    /// `true` or `false`.
    Bool(bool),
    /// A schema object with its keywords.
    Object(Box<SchemaObject>),
}

impl Schema {
    /// The schema object, if this is not a boolean schema.
    pub fn as_object(&self) -> Option<&SchemaObject> {
        match self {
            Schema::Object(object) => Some(object),
            Schema::Bool(_) => None,
        }
    }
}

/// The JSON types a `type` keyword can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceType {
    /// `null`
    Null,
    /// `boolean`
    Boolean,
    /// `object`
    Object,
    /// `array`
    Array,
    /// `number` (any number, integers included)
    Number,
    /// `string`
    String,
    /// `integer` (a number with no fractional part; `1.0` is an integer)
    Integer,
}

impl InstanceType {
    /// The name used in JSON Schema.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceType::Null => "null",
            InstanceType::Boolean => "boolean",
            InstanceType::Object => "object",
            InstanceType::Array => "array",
            InstanceType::Number => "number",
            InstanceType::String => "string",
            InstanceType::Integer => "integer",
        }
    }

    /// The type with this JSON Schema name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "null" => InstanceType::Null,
            "boolean" => InstanceType::Boolean,
            "object" => InstanceType::Object,
            "array" => InstanceType::Array,
            "number" => InstanceType::Number,
            "string" => InstanceType::String,
            "integer" => InstanceType::Integer,
            _ => return None,
        })
    }

    /// Every type name, for messages.
    pub const NAMES: [&'static str; 7] = [
        "null", "boolean", "object", "array", "number", "string", "integer",
    ];

    /// Whether a JSON value is of this type, with draft 2020-12's rule that `1.0` is an integer.
    pub fn matches(self, value: &Value) -> bool {
        match (self, value) {
            (InstanceType::Null, Value::Null)
            | (InstanceType::Boolean, Value::Bool(_))
            | (InstanceType::Object, Value::Object(_))
            | (InstanceType::Array, Value::Array(_))
            | (InstanceType::Number, Value::Number(_))
            | (InstanceType::String, Value::String(_)) => true,
            (InstanceType::Integer, Value::Number(number)) => is_integral(number),
            _ => false,
        }
    }
}

impl fmt::Display for InstanceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a JSON number has no fractional part.
pub fn is_integral(number: &Number) -> bool {
    number.is_i64() || number.is_u64() || number.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// The string formats `ingest` asserts: the table of `ingest-formats`, shared with the runtime
/// that checks them.
pub use ingest_formats::Format;

/// A `$ref`: the definition it reaches, and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The index of its target in [`Document::definitions`].
    pub target: usize,
    /// The reference as written (`#/$defs/address`).
    pub written: String,
}

/// A schema object: every keyword of the vocabulary, parsed and checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaObject {
    /// `$ref`
    pub reference: Option<Reference>,
    /// `$defs`, in the order the schema lists them (checked; what references reach is in
    /// [`Document::definitions`]).
    pub defs: Vec<(String, Schema)>,
    /// `$anchor`
    pub anchor: Option<String>,
    /// `type`, as a set; `None` when absent (any type).
    pub types: Option<BTreeSet<InstanceType>>,
    /// `enum`
    pub enum_values: Option<Vec<Value>>,
    /// `const`
    pub const_value: Option<Value>,
    /// `allOf`
    pub all_of: Vec<Schema>,
    /// `anyOf`
    pub any_of: Vec<Schema>,
    /// `oneOf`
    pub one_of: Vec<Schema>,
    /// `not`
    pub not: Option<Schema>,
    /// `if`
    pub if_schema: Option<Schema>,
    /// `then`
    pub then_schema: Option<Schema>,
    /// `else`
    pub else_schema: Option<Schema>,
    /// `minimum`
    pub minimum: Option<Number>,
    /// `maximum`
    pub maximum: Option<Number>,
    /// `exclusiveMinimum` (a number, as in draft 2020-12)
    pub exclusive_minimum: Option<Number>,
    /// `exclusiveMaximum` (a number, as in draft 2020-12)
    pub exclusive_maximum: Option<Number>,
    /// `multipleOf`, always positive.
    pub multiple_of: Option<Number>,
    /// `minLength`, in Unicode code points.
    pub min_length: Option<u64>,
    /// `maxLength`, in Unicode code points.
    pub max_length: Option<u64>,
    /// `pattern`, an unanchored regular expression.
    pub pattern: Option<String>,
    /// `format`
    pub format: Option<Format>,
    /// `prefixItems`
    pub prefix_items: Vec<Schema>,
    /// `items` (the elements after `prefixItems`)
    pub items: Option<Schema>,
    /// `contains`
    pub contains: Option<Schema>,
    /// `minContains` (only with `contains`)
    pub min_contains: Option<u64>,
    /// `maxContains` (only with `contains`)
    pub max_contains: Option<u64>,
    /// `minItems`
    pub min_items: Option<u64>,
    /// `maxItems`
    pub max_items: Option<u64>,
    /// `uniqueItems`
    pub unique_items: bool,
    /// `unevaluatedItems`
    pub unevaluated_items: Option<Schema>,
    /// `properties`, in the order the schema lists them.
    pub properties: Vec<(String, Schema)>,
    /// `required`, in the order the schema lists them.
    pub required: Vec<String>,
    /// `additionalProperties`; `None` when absent (which is not the same as `true` for
    /// `unevaluatedProperties`: `true` evaluates every other property).
    pub additional_properties: Option<Schema>,
    /// `patternProperties`, in the order the schema lists them.
    pub pattern_properties: Vec<(String, Schema)>,
    /// `propertyNames`
    pub property_names: Option<Schema>,
    /// `dependentRequired`: when the first name is present, the others must be.
    pub dependent_required: Vec<(String, Vec<String>)>,
    /// `dependentSchemas`: when the name is present, the object must match the schema.
    pub dependent_schemas: Vec<(String, Schema)>,
    /// `minProperties`
    pub min_properties: Option<u64>,
    /// `maxProperties`
    pub max_properties: Option<u64>,
    /// `unevaluatedProperties`
    pub unevaluated_properties: Option<Schema>,
    /// `title`
    pub title: Option<String>,
    /// `description`
    pub description: Option<String>,
    /// `default`
    pub default: Option<Value>,
    /// `examples`
    pub examples: Option<Vec<Value>>,
}

impl SchemaObject {
    /// The schema of a named property, if listed.
    pub fn property(&self, name: &str) -> Option<&Schema> {
        self.properties
            .iter()
            .find(|(property, _)| property == name)
            .map(|(_, schema)| schema)
    }

    /// Whether `type` allows this instance type (absent `type` allows all; `number` admits
    /// integers).
    pub fn allows(&self, instance_type: InstanceType) -> bool {
        match &self.types {
            None => true,
            Some(types) => {
                types.contains(&instance_type)
                    || (instance_type == InstanceType::Integer
                        && types.contains(&InstanceType::Number))
            }
        }
    }

    /// Whether the schema has an applicator that applies subschemas to the value itself
    /// (`$ref`, `allOf`, `anyOf`, `oneOf`, `not`, `if`, `dependentSchemas`).
    pub fn has_in_place_applicators(&self) -> bool {
        self.reference.is_some()
            || !self.all_of.is_empty()
            || !self.any_of.is_empty()
            || !self.one_of.is_empty()
            || self.not.is_some()
            || self.if_schema.is_some()
            || !self.dependent_schemas.is_empty()
    }

    /// The subschemas applied to the value itself, in the order validators apply them.
    pub fn in_place_subschemas(&self) -> impl Iterator<Item = &Schema> {
        self.all_of
            .iter()
            .chain(&self.any_of)
            .chain(&self.one_of)
            .chain(&self.not)
            .chain(&self.if_schema)
            .chain(&self.then_schema)
            .chain(&self.else_schema)
            .chain(self.dependent_schemas.iter().map(|(_, s)| s))
    }

    /// Every direct subschema (in place or of a part of the value), for walks over a schema.
    pub fn subschemas(&self) -> impl Iterator<Item = &Schema> {
        self.in_place_subschemas()
            .chain(&self.prefix_items)
            .chain(&self.items)
            .chain(&self.contains)
            .chain(&self.unevaluated_items)
            .chain(self.properties.iter().map(|(_, s)| s))
            .chain(&self.additional_properties)
            .chain(self.pattern_properties.iter().map(|(_, s)| s))
            .chain(&self.property_names)
            .chain(&self.unevaluated_properties)
            .chain(self.defs.iter().map(|(_, s)| s))
    }
}

/// A schema that a `$ref` reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The file it is in, as the URI the [`Loader`] read (`None`: the parsed document itself).
    pub file: Option<String>,
    /// Its JSON pointer from the root of that file or document (`/$defs/address`).
    pub pointer: String,
    /// A name for it: the last segment of its pointer, its anchor, or its file's stem.
    pub name: String,
    /// The schema.
    pub schema: Schema,
}

impl Definition {
    /// Whether this is the root of the parsed document itself (the target of `$ref: "#"`).
    pub fn is_document_root(&self) -> bool {
        self.file.is_none() && self.pointer.is_empty()
    }
}

/// A parsed schema: the tree, and every schema its references reach.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The schema.
    pub root: Schema,
    /// Every schema a `$ref` reaches, each once, in the order they were first reached.
    pub definitions: Vec<Definition>,
    /// The URI the schema's references were resolved against (its file's, for a schema read
    /// with [`parse_with`]).
    pub base: String,
    /// Every file a reference read: its URI and its JSON, in the order read.
    pub files: Vec<(String, Value)>,
}

impl Document {
    /// A document without references.
    pub fn new(root: Schema) -> Self {
        Document {
            root,
            definitions: Vec::new(),
            base: INLINE_BASE.to_owned(),
            files: Vec::new(),
        }
    }

    /// The schema a reference reaches.
    pub fn target(&self, reference: &Reference) -> &Schema {
        &self.definitions[reference.target].schema
    }

    /// Follows `$ref`s that stand alone (a schema object whose only assertion is its `$ref`)
    /// to the schema they name; any other schema is returned as it is.
    pub fn resolve<'a>(&'a self, mut schema: &'a Schema) -> &'a Schema {
        let mut hops = 0;
        while let Some(object) = schema.as_object()
            && let Some(reference) = &object.reference
            && is_bare_reference(object)
            && hops <= self.definitions.len()
        {
            schema = self.target(reference);
            hops += 1;
        }
        schema
    }
}

/// Whether a schema object is a `$ref` and nothing else but annotations and `$defs`.
pub fn is_bare_reference(object: &SchemaObject) -> bool {
    object.reference.is_some()
        && SchemaObject {
            reference: None,
            defs: Vec::new(),
            anchor: None,
            title: None,
            description: None,
            default: None,
            examples: None,
            ..object.clone()
        } == SchemaObject::default()
}

/// One segment of a path inside a schema document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A key of an object.
    Key(String),
    /// An index into an array.
    Index(usize),
}

impl fmt::Display for PathSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathSegment::Key(key) => f.write_str(key),
            PathSegment::Index(index) => write!(f, "{index}"),
        }
    }
}

/// What part of the source an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The key at the path (for example an unsupported keyword).
    Key,
    /// The value at the path.
    Value,
}

/// One problem found while parsing a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The file the problem is in, as the URI the [`Loader`] read; `None` for the parsed
    /// document itself.
    pub file: Option<String>,
    /// Where in that document (empty for the root).
    pub path: Vec<PathSegment>,
    /// Whether the key or the value at `path` is at fault.
    pub target: Target,
    /// A stable, short identifier of the kind of problem.
    pub code: &'static str,
    /// What is wrong, in a sentence.
    pub message: String,
    /// How to fix it, in a sentence.
    pub help: String,
}

impl SchemaError {
    /// The path as a JSON pointer (`/properties/name/minLength`).
    pub fn pointer(&self) -> String {
        self.path
            .iter()
            .map(|segment| {
                format!(
                    "/{}",
                    segment.to_string().replace('~', "~0").replace('/', "~1")
                )
            })
            .collect()
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{} (at `{}` in {file})", self.message, self.pointer()),
            None => write!(f, "{} (at `{}`)", self.message, self.pointer()),
        }
    }
}

/// Reads the schema files that references name.
pub trait Loader {
    /// The JSON value of the file at `uri` (a `file:` URI a `$ref` resolved to), or why it
    /// cannot be read (in a sentence).
    fn load(&mut self, uri: &str) -> Result<Value, String>;
}

/// The `file:` URI of a filesystem path (for [`parse_with`]'s base): absolute, with `/`
/// separators, and percent-encoded where a URI needs it.
pub fn file_uri(path: &std::path::Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::from("file://");
    if !text.starts_with('/') {
        out.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~:@!$&'()*+,;=".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The filesystem path of a `file:` URI made by [`file_uri`] (or resolved against one).
pub fn uri_path(uri: &str) -> Option<std::path::PathBuf> {
    let path = uri.strip_prefix("file://")?;
    let path = path.split(['#', '?']).next().unwrap_or(path);
    percent_decode(path).ok().map(std::path::PathBuf::from)
}

/// The base of a document parsed without a file: relative references to files fail.
const INLINE_BASE: &str = "file:///schema.json";

/// Parses and checks a schema, collecting every problem. References may point into the schema
/// itself; a reference to a file is an error (there is no folder to read it from).
pub fn parse(value: &Value) -> Result<Document, Vec<SchemaError>> {
    run(value, INLINE_BASE, None)
}

/// Parses and checks a schema whose own location is `base` (a `file:` URI, see
/// [`file_uri`]): references to other files are resolved against the referring file and read
/// with `loader`, each file once. Problems in those files carry their URI in
/// [`SchemaError::file`].
pub fn parse_with(
    value: &Value,
    base: &str,
    loader: &mut dyn Loader,
) -> Result<Document, Vec<SchemaError>> {
    run(value, base, Some(loader))
}

fn run(
    value: &Value,
    base: &str,
    loader: Option<&mut dyn Loader>,
) -> Result<Document, Vec<SchemaError>> {
    let base_text = base.to_owned();
    let base = Uri::parse(base).unwrap_or_else(|_| Uri::parse(INLINE_BASE).expect("valid"));
    let mut parser = Parser {
        docs: Vec::new(),
        resources: HashMap::new(),
        anchors: HashMap::new(),
        bases: HashMap::new(),
        loader,
        doc: 0,
        base: base.clone(),
        path: Vec::new(),
        errors: Vec::new(),
        reported: HashSet::new(),
        definitions: Vec::new(),
        targets: HashMap::new(),
        queue: Vec::new(),
        definition_docs: Vec::new(),
    };
    parser.add_document(None, value.clone(), base);
    let root = parser.schema(value, true);
    parser.drain();
    parser.check_cycles();
    if parser.errors.is_empty() {
        let files = parser
            .docs
            .into_iter()
            .filter_map(|doc| doc.file.map(|file| (file, doc.value)))
            .collect();
        Ok(Document {
            root,
            definitions: parser.definitions,
            base: base_text,
            files,
        })
    } else {
        Err(parser.errors)
    }
}

/// A document the parser read: the schema given, or a file a reference named.
struct Doc {
    /// `None` for the schema given; the URI of a file.
    file: Option<String>,
    value: Value,
}

/// Work left after the tree: definitions to parse, files to check.
#[derive(Debug, Clone, Copy)]
enum Job {
    Definition(usize),
    File(usize),
}

struct Parser<'l> {
    docs: Vec<Doc>,
    /// Schema resources by URI (without fragment): the document and the pointer of their root.
    resources: HashMap<String, (usize, Vec<String>)>,
    /// Anchors by `resource#name`.
    anchors: HashMap<String, (usize, Vec<String>)>,
    /// The base URI at every schema location (document, pointer).
    bases: HashMap<(usize, String), Uri>,
    loader: Option<&'l mut dyn Loader>,
    /// The document being parsed.
    doc: usize,
    /// The base URI at the position being parsed.
    base: Uri,
    path: Vec<PathSegment>,
    errors: Vec<SchemaError>,
    reported: HashSet<(usize, Vec<PathSegment>, &'static str)>,
    definitions: Vec<Definition>,
    targets: HashMap<(usize, String), usize>,
    queue: Vec<Job>,
    /// The document of each definition.
    definition_docs: Vec<usize>,
}

/// The keywords whose value is one schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "additionalProperties",
    "unevaluatedProperties",
    "items",
    "unevaluatedItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "contentSchema",
];
/// The keywords whose value is a list of schemas.
const SCHEMA_LIST_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// The keywords whose value maps names to schemas.
const SCHEMA_MAP_KEYWORDS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "dependentSchemas",
];

impl<'l> Parser<'l> {
    /// Registers a document and indexes its resources and anchors.
    fn add_document(&mut self, file: Option<String>, value: Value, base: Uri) -> usize {
        let doc = self.docs.len();
        self.resources
            .entry(base.resource())
            .or_insert((doc, Vec::new()));
        self.index(doc, &value, &mut Vec::new(), base);
        self.docs.push(Doc { file, value });
        doc
    }

    /// Records the base URI of every schema location of a document, and its `$id`s and
    /// `$anchor`s. Only schema positions are visited: an `$id` inside `enum`, `const`,
    /// `examples` or `default` is data, not an identifier.
    fn index(&mut self, doc: usize, value: &Value, segments: &mut Vec<String>, mut base: Uri) {
        // The base the location is parsed with: the one around it (the parser applies the
        // location's own `$id` itself).
        self.bases.insert((doc, pointer(segments)), base.clone());
        let Value::Object(map) = value else {
            return;
        };
        if let Some(Value::String(id)) = map.get("$id")
            && let Ok(reference) = Uri::parse(id)
        {
            base = base.resolve(&reference);
            self.resources
                .entry(base.resource())
                .or_insert((doc, segments.clone()));
        }
        if let Some(Value::String(anchor)) = map.get("$anchor") {
            self.anchors
                .entry(format!("{}#{anchor}", base.resource()))
                .or_insert((doc, segments.clone()));
        }
        for (key, child) in map {
            if SCHEMA_KEYWORDS.contains(&key.as_str()) {
                segments.push(key.clone());
                self.index(doc, child, segments, base.clone());
                segments.pop();
            } else if SCHEMA_LIST_KEYWORDS.contains(&key.as_str())
                && let Value::Array(items) = child
            {
                for (i, item) in items.iter().enumerate() {
                    segments.push(key.clone());
                    segments.push(i.to_string());
                    self.index(doc, item, segments, base.clone());
                    segments.truncate(segments.len() - 2);
                }
            } else if SCHEMA_MAP_KEYWORDS.contains(&key.as_str())
                && let Value::Object(entries) = child
            {
                for (name, item) in entries {
                    segments.push(key.clone());
                    segments.push(name.clone());
                    self.index(doc, item, segments, base.clone());
                    segments.truncate(segments.len() - 2);
                }
            }
        }
    }

    fn file(&self) -> Option<String> {
        self.docs.get(self.doc).and_then(|d| d.file.clone())
    }

    fn push_error(
        &mut self,
        path: Vec<PathSegment>,
        target: Target,
        code: &'static str,
        message: String,
        help: String,
    ) {
        // A location parsed twice (in the tree and as a reference's target) reports once.
        if !self.reported.insert((self.doc, path.clone(), code)) {
            return;
        }
        self.errors.push(SchemaError {
            file: self.file(),
            path,
            target,
            code,
            message,
            help,
        });
    }

    fn error(
        &mut self,
        key: Option<&str>,
        target: Target,
        code: &'static str,
        message: String,
        help: String,
    ) {
        let mut path = self.path.clone();
        if let Some(key) = key {
            path.push(PathSegment::Key(key.to_owned()));
        }
        self.push_error(path, target, code, message, help);
    }

    fn at(
        &mut self,
        segments: &[PathSegment],
        target: Target,
        code: &'static str,
        message: String,
        help: String,
    ) {
        let mut path = self.path.clone();
        path.extend(segments.iter().cloned());
        self.push_error(path, target, code, message, help);
    }

    fn nested<T>(&mut self, segment: PathSegment, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(segment);
        let result = f(self);
        self.path.pop();
        result
    }

    fn schema(&mut self, value: &Value, is_document_root: bool) -> Schema {
        match value {
            Value::Bool(b) => Schema::Bool(*b),
            Value::Object(map) => {
                let outer = self.base.clone();
                if let Some(Value::String(id)) = map.get("$id")
                    && let Ok(reference) = Uri::parse(id)
                {
                    self.base = self.base.resolve(&reference);
                }
                let resource_root = is_document_root || map.contains_key("$id");
                let object = self.object(map, resource_root);
                self.base = outer;
                Schema::Object(Box::new(object))
            }
            other => {
                self.error(
                    None,
                    Target::Value,
                    "schema-not-object",
                    format!("a schema must be an object or a boolean, not {}", describe(other)),
                    "write a schema object such as `{ type: string }`, or `true` to accept anything"
                        .to_owned(),
                );
                Schema::Bool(true)
            }
        }
    }

    fn object(&mut self, map: &Map<String, Value>, resource_root: bool) -> SchemaObject {
        let mut object = SchemaObject::default();
        for (key, value) in map {
            self.keyword(&mut object, key, value, resource_root);
        }
        self.check_coherence(&object, map);
        object
    }

    fn subschema(&mut self, key: &str, value: &Value) -> Schema {
        self.nested(PathSegment::Key(key.into()), |p| p.schema(value, false))
    }

    fn schema_list(&mut self, key: &str, value: &Value, what: &str) -> Vec<Schema> {
        match value {
            Value::Array(items) if !items.is_empty() => {
                self.nested(PathSegment::Key(key.into()), |p| {
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| p.nested(PathSegment::Index(i), |p| p.schema(item, false)))
                        .collect()
                })
            }
            Value::Array(_) => {
                self.error(
                    Some(key),
                    Target::Value,
                    "schema-list-empty",
                    format!("`{key}` is an empty list, but it needs at least one schema"),
                    format!("list the {what}, or remove `{key}`"),
                );
                Vec::new()
            }
            other => {
                self.error(
                    Some(key),
                    Target::Value,
                    "wrong-type",
                    format!("`{key}` must be a list of schemas, not {}", describe(other)),
                    format!("write `{key}: [{{...}}, {{...}}]`, one schema per entry"),
                );
                Vec::new()
            }
        }
    }

    fn schema_map(&mut self, key: &str, value: &Value) -> Vec<(String, Schema)> {
        let Value::Object(map) = value else {
            self.error(
                Some(key),
                Target::Value,
                "wrong-type",
                format!(
                    "`{key}` must map names to schemas, not be {}",
                    describe(value)
                ),
                format!("write `{key}:` followed by one `name: {{ schema }}` entry per name"),
            );
            return Vec::new();
        };
        self.nested(PathSegment::Key(key.into()), |p| {
            map.iter()
                .map(|(name, schema)| {
                    let schema =
                        p.nested(PathSegment::Key(name.clone()), |p| p.schema(schema, false));
                    (name.clone(), schema)
                })
                .collect()
        })
    }

    fn keyword(
        &mut self,
        object: &mut SchemaObject,
        key: &str,
        value: &Value,
        resource_root: bool,
    ) {
        if keywords::is_extension(key) {
            return;
        }
        let Some(known) = keywords::keyword(key) else {
            self.unknown(key);
            return;
        };
        if known.role == Role::Refused {
            self.error(
                Some(key),
                Target::Key,
                "refused-keyword",
                format!("`{key}` is not supported"),
                keywords::refusal(key).unwrap_or_default().to_owned(),
            );
            return;
        }
        match key {
            "$schema" => {
                if !resource_root {
                    self.error(
                        Some(key),
                        Target::Key,
                        "schema-uri-nested",
                        "`$schema` may only appear at the root of a schema (or of a subschema with its own `$id`)".to_owned(),
                        "remove this `$schema`".to_owned(),
                    );
                } else if value.as_str() != Some(DRAFT_2020_12) {
                    self.error(
                        Some(key),
                        Target::Value,
                        "schema-uri",
                        format!("`$schema` is {value}, but event schemas follow draft 2020-12"),
                        format!("set `$schema` to \"{DRAFT_2020_12}\" or remove it"),
                    );
                }
            }
            "$id" => {
                if let Some(id) = self.string(key, value) {
                    match Uri::parse(&id) {
                        Err(why) => self.error(
                            Some(key),
                            Target::Value,
                            "id-invalid",
                            format!("`$id` {id:?} is not a URI reference: {why}"),
                            "write a URI such as `https://example.com/schemas/order.json`, or remove `$id`".to_owned(),
                        ),
                        Ok(uri) if uri.fragment.as_deref().is_some_and(|f| !f.is_empty()) => self.error(
                            Some(key),
                            Target::Value,
                            "id-fragment",
                            format!("`$id` {id:?} has a fragment, which draft 2020-12 does not allow"),
                            "remove the `#...` part; name a subschema with `$anchor` instead".to_owned(),
                        ),
                        Ok(_) => {}
                    }
                }
            }
            "$anchor" => {
                if let Some(anchor) = self.string(key, value) {
                    let valid = anchor.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && anchor
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                    if valid {
                        object.anchor = Some(anchor);
                    } else {
                        self.error(
                            Some(key),
                            Target::Value,
                            "anchor-invalid",
                            format!("`$anchor` {anchor:?} is not a plain name"),
                            "start with a letter or `_`, then letters, digits, `-`, `_` or `.`"
                                .to_owned(),
                        );
                    }
                }
            }
            "$ref" => object.reference = self.reference(key, value),
            "$defs" => object.defs = self.schema_map(key, value),
            "$comment" => {
                self.string(key, value);
            }
            "type" => object.types = self.types(key, value),
            "enum" => object.enum_values = self.enum_values(key, value),
            "const" => object.const_value = Some(value.clone()),
            "allOf" => {
                object.all_of = self.schema_list(key, value, "schemas the value must all match")
            }
            "anyOf" => object.any_of = self.schema_list(key, value, "schemas the value may match"),
            "oneOf" => {
                object.one_of = self.schema_list(
                    key,
                    value,
                    "schemas of which the value must match exactly one",
                )
            }
            "not" => object.not = Some(self.subschema(key, value)),
            "if" => object.if_schema = Some(self.subschema(key, value)),
            "then" => object.then_schema = Some(self.subschema(key, value)),
            "else" => object.else_schema = Some(self.subschema(key, value)),
            "minimum" => object.minimum = self.number(key, value),
            "maximum" => object.maximum = self.number(key, value),
            "exclusiveMinimum" => object.exclusive_minimum = self.exclusive_bound(key, value),
            "exclusiveMaximum" => object.exclusive_maximum = self.exclusive_bound(key, value),
            "multipleOf" => {
                object.multiple_of = self.number(key, value).and_then(|number| {
                    match keywords::check_multiple_of(key, number.as_f64().unwrap_or(0.0)) {
                        Ok(()) => Some(number),
                        Err(message) => {
                            self.error(
                                Some(key),
                                Target::Value,
                                "multiple-of-not-positive",
                                message,
                                "use a positive number such as 1, 5 or 0.01".to_owned(),
                            );
                            None
                        }
                    }
                })
            }
            "minLength" => object.min_length = self.count(key, value),
            "maxLength" => object.max_length = self.count(key, value),
            "pattern" => object.pattern = self.pattern(key, value),
            "format" => object.format = self.format(key, value),
            "prefixItems" => {
                object.prefix_items =
                    self.schema_list(key, value, "schemas of the first items, in order")
            }
            "items" => {
                if value.is_array() {
                    self.error(
                        Some(key),
                        Target::Value,
                        "items-array",
                        "`items` is a list here, which is draft 2019-09 and earlier; in draft 2020-12 a list of schemas for the first items is `prefixItems`".to_owned(),
                        "rename this `items` to `prefixItems` (and give `items` one schema for the items after them, if any)".to_owned(),
                    );
                } else {
                    object.items = Some(self.subschema(key, value));
                }
            }
            "contains" => object.contains = Some(self.subschema(key, value)),
            "minContains" => object.min_contains = self.count(key, value),
            "maxContains" => object.max_contains = self.count(key, value),
            "minItems" => object.min_items = self.count(key, value),
            "maxItems" => object.max_items = self.count(key, value),
            "uniqueItems" => object.unique_items = self.boolean(key, value).unwrap_or(false),
            "unevaluatedItems" => object.unevaluated_items = Some(self.subschema(key, value)),
            "properties" => object.properties = self.schema_map(key, value),
            "required" => object.required = self.names(key, value, "required"),
            "additionalProperties" => {
                object.additional_properties = Some(self.subschema(key, value))
            }
            "patternProperties" => object.pattern_properties = self.pattern_properties(key, value),
            "propertyNames" => object.property_names = Some(self.subschema(key, value)),
            "dependentRequired" => object.dependent_required = self.dependent_required(key, value),
            "dependentSchemas" => object.dependent_schemas = self.schema_map(key, value),
            "minProperties" => object.min_properties = self.count(key, value),
            "maxProperties" => object.max_properties = self.count(key, value),
            "unevaluatedProperties" => {
                object.unevaluated_properties = Some(self.subschema(key, value))
            }
            "title" => object.title = self.string(key, value),
            "description" => object.description = self.string(key, value),
            "default" => object.default = Some(value.clone()),
            "examples" => match value {
                Value::Array(values) => object.examples = Some(values.clone()),
                other => self.error(
                    Some(key),
                    Target::Value,
                    "wrong-type",
                    format!("`examples` must be a list, not {}", describe(other)),
                    "write the examples as a list: `examples: [...]`".to_owned(),
                ),
            },
            "deprecated" | "readOnly" | "writeOnly" => {
                self.boolean(key, value);
            }
            "contentEncoding" | "contentMediaType" => {
                self.string(key, value);
            }
            "contentSchema" => {
                // An annotation in draft 2020-12 (never asserted), but still a schema to check.
                self.subschema(key, value);
            }
            other => unreachable!("`{other}` is in the keyword table but not parsed"),
        }
    }

    fn unknown(&mut self, key: &str) {
        let supported: Vec<&str> = keywords::supported().collect();
        let help = match closest(key, supported.iter()) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!(
                "remove it, or keep it as an annotation of your own by naming it `x-{key}` (ingest ignores `x-` keys, and refuses other keys it does not know, so that nothing is silently left unchecked); the supported keywords are: {}",
                supported.join(", ")
            ),
        };
        self.error(
            Some(key),
            Target::Key,
            "unsupported-keyword",
            format!("`{key}` is not a supported schema keyword"),
            help,
        );
    }

    /// Resolves a `$ref`, reading its file if it names one, and returns the definition it
    /// reaches (registering it on first sight).
    fn reference(&mut self, key: &str, value: &Value) -> Option<Reference> {
        let written = self.string(key, value)?;
        let fail = |p: &mut Self, code, message: String, help: String| {
            p.error(Some(key), Target::Value, code, message, help);
        };
        let reference = match Uri::parse(&written) {
            Ok(reference) => reference,
            Err(why) => {
                fail(self, "ref-invalid", format!("`$ref` {written:?} is not a URI reference: {why}"), "write a JSON pointer such as `#/$defs/address`, or a relative file reference such as `common.json#/$defs/address`".to_owned());
                return None;
            }
        };
        let resolved = self.base.resolve(&reference);
        let resource = resolved.resource();
        let (doc, mut segments) = match self.resources.get(&resource) {
            Some(found) => found.clone(),
            None => self.load(&written, &resolved)?,
        };
        let fragment = resolved.fragment.clone().unwrap_or_default();
        if fragment.starts_with('/') {
            match percent_decode(&fragment).and_then(|f| pointer_segments(&f)) {
                Ok(more) => segments.extend(more),
                Err(why) => {
                    fail(
                        self,
                        "ref-invalid",
                        format!("`$ref` {written:?} has an invalid JSON pointer: {why}"),
                        "escape `~` as `~0` and `/` as `~1` in pointer segments".to_owned(),
                    );
                    return None;
                }
            }
        } else if !fragment.is_empty() {
            let anchor = percent_decode(&fragment).unwrap_or(fragment);
            match self.anchors.get(&format!("{resource}#{anchor}")) {
                Some((anchored_doc, anchored)) => {
                    let found = (*anchored_doc, anchored.clone());
                    return Some(self.register(found.0, found.1, Some(anchor), &written));
                }
                None => {
                    let known: Vec<String> = self
                        .anchors
                        .keys()
                        .filter_map(|k| k.strip_prefix(&format!("{resource}#")).map(str::to_owned))
                        .collect();
                    let help = match closest(&anchor, known.iter()) {
                        Some(s) => format!("did you mean `#{s}`?"),
                        None => format!("add `$anchor: {anchor}` to the schema it should name"),
                    };
                    fail(
                        self,
                        "ref-not-found",
                        format!(
                            "`$ref` {written:?} names the anchor `{anchor}`, which no `$anchor` in {} defines",
                            self.describe_doc(doc)
                        ),
                        help,
                    );
                    return None;
                }
            }
        }
        // The pointer must reach a value.
        let mut here = &self.docs[doc].value;
        for (depth, segment) in segments.iter().enumerate() {
            let next = match here {
                Value::Object(map) => map.get(segment),
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(value) => here = value,
                None => {
                    let siblings: Vec<String> = match here {
                        Value::Object(map) => map.keys().cloned().collect(),
                        _ => Vec::new(),
                    };
                    let found = pointer(&segments[..depth]);
                    let help = match closest(segment, siblings.iter()) {
                        Some(s) => format!(
                            "did you mean `{}`?",
                            pointer(&[segments[..depth].to_vec(), vec![s.to_owned()]].concat())
                        ),
                        None => format!(
                            "`{}` has no `{segment}`; check the pointer",
                            if found.is_empty() { "#" } else { &found }
                        ),
                    };
                    fail(
                        self,
                        "ref-not-found",
                        format!(
                            "`$ref` {written:?} points to `{}`, which is not in {}",
                            pointer(&segments),
                            self.describe_doc(doc)
                        ),
                        help,
                    );
                    return None;
                }
            }
        }
        Some(self.register(doc, segments, None, &written))
    }

    fn describe_doc(&self, doc: usize) -> String {
        match &self.docs[doc].file {
            Some(file) => uri_path(file)
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| file.clone()),
            None => "this schema".to_owned(),
        }
    }

    /// Reads the file a reference names (a `file:` URI), or reports why it cannot.
    fn load(&mut self, written: &str, resolved: &Uri) -> Option<(usize, Vec<String>)> {
        let resource = resolved.resource();
        if resolved.scheme.as_deref() != Some("file") {
            self.error(
                Some("$ref"),
                Target::Value,
                "ref-remote",
                format!("`$ref` {written:?} points to {resource}, which is not part of this schema, and ingest never fetches schemas"),
                "copy that schema into `$defs` and refer to it as `#/$defs/<name>`, or into a file beside this one and refer to it by a relative path (`common.json#/$defs/<name>`)".to_owned(),
            );
            return None;
        }
        let Some(loader) = self.loader.as_deref_mut() else {
            self.error(
                Some("$ref"),
                Target::Value,
                "ref-file",
                format!("`$ref` {written:?} refers to a file, but this schema was not read from a folder"),
                "put the referenced schema in `$defs` and refer to it as `#/$defs/<name>`".to_owned(),
            );
            return None;
        };
        match loader.load(&resource) {
            Ok(value) => {
                let base = Uri::parse(&resource).unwrap_or_else(|_| resolved.clone());
                let doc = self.add_document(Some(resource.clone()), value, base);
                self.resources.insert(resource, (doc, Vec::new()));
                self.queue.push(Job::File(doc));
                Some((doc, Vec::new()))
            }
            Err(why) => {
                // Shown relative to the referring file's folder, as it is written, so the
                // message does not depend on where the spec is.
                let referrer = uri_path(&self.base.resource());
                let shown = match (uri_path(&resource), &referrer) {
                    (Some(path), Some(referrer)) => relative_path(
                        referrer.parent().unwrap_or(std::path::Path::new("/")),
                        &path,
                    ),
                    _ => resource,
                };
                let folder = referrer
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .map_or_else(String::new, |name| format!(" beside {name}"));
                self.error(
                    Some("$ref"),
                    Target::Value,
                    "ref-file",
                    format!("`$ref` {written:?} refers to the file {shown}{folder}, which cannot be read: {why}"),
                    "the path is relative to the file this schema is in; check the name and that the file exists".to_owned(),
                );
                None
            }
        }
    }

    /// The definition at a location, registered on first sight.
    fn register(
        &mut self,
        doc: usize,
        segments: Vec<String>,
        anchor: Option<String>,
        written: &str,
    ) -> Reference {
        let key = (doc, pointer(&segments));
        let target = match self.targets.get(&key) {
            Some(target) => *target,
            None => {
                let name = anchor
                    .or_else(|| segments.last().cloned())
                    .or_else(|| {
                        self.docs[doc].file.as_ref().and_then(|f| {
                            uri_path(f).and_then(|p| {
                                p.file_stem().map(|s| s.to_string_lossy().into_owned())
                            })
                        })
                    })
                    .unwrap_or_else(|| "root".to_owned());
                let target = self.definitions.len();
                self.definitions.push(Definition {
                    file: self.docs[doc].file.clone(),
                    pointer: key.1.clone(),
                    name,
                    schema: Schema::Bool(true),
                });
                self.definition_docs.push(doc);
                self.targets.insert(key, target);
                self.queue.push(Job::Definition(target));
                target
            }
        };
        Reference {
            target,
            written: written.to_owned(),
        }
    }

    /// The path of a location as errors report it (array indices as indices).
    fn path_of(&self, doc: usize, segments: &[String]) -> Vec<PathSegment> {
        let mut path = Vec::with_capacity(segments.len());
        let mut here = Some(&self.docs[doc].value);
        for segment in segments {
            here = match here {
                Some(Value::Array(items)) => {
                    let i: usize = segment.parse().unwrap_or(0);
                    path.push(PathSegment::Index(i));
                    items.get(i)
                }
                Some(Value::Object(map)) => {
                    path.push(PathSegment::Key(segment.clone()));
                    map.get(segment)
                }
                _ => {
                    path.push(PathSegment::Key(segment.clone()));
                    None
                }
            };
        }
        path
    }

    /// Parses the definitions that references reached, and checks the files they read, until
    /// no new one appears.
    fn drain(&mut self) {
        let mut next = 0;
        while let Some(job) = self.queue.get(next).copied() {
            next += 1;
            let (doc, segments, definition) = match job {
                Job::Definition(id) => {
                    let segments =
                        pointer_segments(&self.definitions[id].pointer).unwrap_or_default();
                    (self.definition_docs[id], segments, Some(id))
                }
                Job::File(doc) => (doc, Vec::new(), None),
            };
            let path = self.path_of(doc, &segments);
            let value = self.docs[doc]
                .value
                .pointer(&pointer(&segments))
                .cloned()
                .unwrap_or(Value::Bool(true));
            // The base URI of the location: recorded by the index, or that of the nearest
            // schema above it (a pointer may reach into `examples`, say).
            let base = (0..=segments.len())
                .rev()
                .find_map(|n| self.bases.get(&(doc, pointer(&segments[..n]))).cloned())
                .unwrap_or_else(|| self.base.clone());
            let saved_doc = std::mem::replace(&mut self.doc, doc);
            let saved_base = std::mem::replace(&mut self.base, base);
            let saved_path = std::mem::replace(&mut self.path, path);
            let schema = self.schema(&value, segments.is_empty());
            self.doc = saved_doc;
            self.base = saved_base;
            self.path = saved_path;
            if let Some(id) = definition {
                self.definitions[id].schema = schema;
            }
        }
        self.queue.clear();
    }

    /// Refuses cycles of references that never read into the value (validation would not
    /// end): from each definition, the references it applies in place (its own `$ref`, and
    /// those of `allOf`, `anyOf`, `oneOf`, `not`, `if`, `then`, `else`, `dependentSchemas`).
    fn check_cycles(&mut self) {
        let graph: Vec<Vec<(usize, Vec<PathSegment>)>> = self
            .definitions
            .iter()
            .enumerate()
            .map(|(id, definition)| {
                let mut found = Vec::new();
                in_place_references(&definition.schema, &mut Vec::new(), &mut found);
                let doc = self.definition_docs[id];
                let base = self.path_of(
                    doc,
                    &pointer_segments(&definition.pointer).unwrap_or_default(),
                );
                found
                    .into_iter()
                    .map(|(target, relative)| {
                        let mut at = base.clone();
                        at.extend(relative);
                        at.push(PathSegment::Key("$ref".into()));
                        (target, at)
                    })
                    .collect()
            })
            .collect();
        // Depth-first search; an edge to a definition still on the stack closes a cycle.
        let mut state = vec![0u8; graph.len()];
        for start in 0..graph.len() {
            if state[start] != 0 {
                continue;
            }
            state[start] = 1;
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            while let Some((node, edge)) = stack.pop() {
                let Some((target, at)) = graph[node].get(edge) else {
                    state[node] = 2;
                    continue;
                };
                stack.push((node, edge + 1));
                match state[*target] {
                    0 => {
                        state[*target] = 1;
                        stack.push((*target, 0));
                    }
                    1 => {
                        let name = self.definitions[*target].name.clone();
                        let saved = std::mem::replace(&mut self.doc, self.definition_docs[node]);
                        self.push_error(
                            at.clone(),
                            Target::Value,
                            "ref-cycle",
                            format!("this `$ref` leads back to `{name}` without reading into the value, so validation would never end"),
                            "break the cycle: a schema may refer to itself only under `properties`, `items` or another keyword that applies to a part of the value".to_owned(),
                        );
                        self.doc = saved;
                    }
                    _ => {}
                }
            }
        }
    }

    fn types(&mut self, key: &str, value: &Value) -> Option<BTreeSet<InstanceType>> {
        let names: Vec<(Option<usize>, &Value)> = match value {
            Value::String(_) => vec![(None, value)],
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Some(i), v))
                .collect(),
            Value::Array(_) => {
                self.error(
                    Some(key),
                    Target::Value,
                    "type-empty",
                    "`type` is an empty list, which no value can match".to_owned(),
                    "name at least one type, for example `type: string`".to_owned(),
                );
                return None;
            }
            other => {
                self.error(
                    Some(key),
                    Target::Value,
                    "wrong-type",
                    format!(
                        "`type` must be a type name or a list of them, not {}",
                        describe(other)
                    ),
                    "write for example `type: string` or `type: [string, \"null\"]`".to_owned(),
                );
                return None;
            }
        };
        let mut types = BTreeSet::new();
        let mut ok = true;
        for (index, name) in names {
            let parsed = name.as_str().and_then(InstanceType::from_name);
            let mut segments = vec![PathSegment::Key(key.to_owned())];
            segments.extend(index.map(PathSegment::Index));
            match parsed {
                Some(instance_type) if types.insert(instance_type) => {}
                Some(instance_type) => {
                    ok = false;
                    self.at(
                        &segments,
                        Target::Value,
                        "type-duplicate",
                        format!("`{instance_type}` is listed twice in `type`"),
                        "list each type once".to_owned(),
                    );
                }
                None => {
                    ok = false;
                    let help = match name.as_str() {
                        Some("int" | "long") => "did you mean `integer`?".to_owned(),
                        Some("float" | "double" | "decimal") => "did you mean `number`?".to_owned(),
                        Some("bool") => "did you mean `boolean`?".to_owned(),
                        Some("str" | "text") => "did you mean `string`?".to_owned(),
                        Some("list") => "did you mean `array`?".to_owned(),
                        Some("map" | "dict") => "did you mean `object`?".to_owned(),
                        _ => "use one of: null, boolean, object, array, number, string, integer (quote `\"null\"` in YAML, or YAML reads it as nothing)".to_owned(),
                    };
                    self.at(
                        &segments,
                        Target::Value,
                        "type-unknown",
                        format!("{name} is not a JSON Schema type"),
                        help,
                    );
                }
            }
        }
        ok.then_some(types)
    }

    /// A list of distinct property names (`required`, the lists of `dependentRequired`).
    fn names(&mut self, key: &str, value: &Value, what: &str) -> Vec<String> {
        let Value::Array(items) = value else {
            self.error(
                Some(key),
                Target::Value,
                "wrong-type",
                format!(
                    "`{key}` must be a list of property names, not {}",
                    describe(value)
                ),
                format!("write `{key}: [name, ...]`"),
            );
            return Vec::new();
        };
        let mut names: Vec<String> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let segments = [PathSegment::Key(key.into()), PathSegment::Index(index)];
            match item {
                Value::String(name) if names.contains(name) => self.at(
                    &segments,
                    Target::Value,
                    "required-duplicate",
                    format!("`{name}` is listed twice in `{key}`"),
                    format!("list each {what} property once"),
                ),
                Value::String(name) => names.push(name.clone()),
                other => self.at(
                    &segments,
                    Target::Value,
                    "wrong-type",
                    format!(
                        "`{key}` lists property names, but this entry is {}",
                        describe(other)
                    ),
                    "quote the property name".to_owned(),
                ),
            }
        }
        names
    }

    fn dependent_required(&mut self, key: &str, value: &Value) -> Vec<(String, Vec<String>)> {
        let Value::Object(map) = value else {
            self.error(
                Some(key),
                Target::Value,
                "wrong-type",
                format!(
                    "`{key}` must map a property name to the names it requires, not be {}",
                    describe(value)
                ),
                format!("write `{key}: {{ card: [billing_address] }}`"),
            );
            return Vec::new();
        };
        self.nested(PathSegment::Key(key.into()), |p| {
            map.iter()
                .map(|(name, names)| (name.clone(), p.names(name, names, "dependent")))
                .collect()
        })
    }

    fn pattern_properties(&mut self, key: &str, value: &Value) -> Vec<(String, Schema)> {
        let entries = self.schema_map(key, value);
        for (pattern, _) in &entries {
            if let Err(message) = keywords::check_pattern(pattern) {
                self.at(
                    &[
                        PathSegment::Key(key.into()),
                        PathSegment::Key(pattern.clone()),
                    ],
                    Target::Key,
                    "pattern-invalid",
                    format!("the `patternProperties` pattern {message}"),
                    keywords::PATTERN_HELP.to_owned(),
                );
            }
        }
        entries
    }

    fn enum_values(&mut self, key: &str, value: &Value) -> Option<Vec<Value>> {
        match value {
            Value::Array(values) if values.is_empty() => {
                self.error(
                    Some(key),
                    Target::Value,
                    "enum-empty",
                    "`enum` is empty, so no value can ever be valid".to_owned(),
                    "list the allowed values, or remove `enum`; to allow no value here on purpose, write the schema `false`".to_owned(),
                );
                None
            }
            Value::Array(values) => {
                for (index, item) in values.iter().enumerate() {
                    if values[..index]
                        .iter()
                        .any(|earlier| json_equal(earlier, item))
                    {
                        self.at(
                            &[PathSegment::Key(key.into()), PathSegment::Index(index)],
                            Target::Value,
                            "enum-duplicate",
                            format!("{item} is listed twice in `enum`"),
                            "list each allowed value once".to_owned(),
                        );
                    }
                }
                Some(values.clone())
            }
            other => {
                self.error(
                    Some(key),
                    Target::Value,
                    "wrong-type",
                    format!(
                        "`enum` must be a list of allowed values, not {}",
                        describe(other)
                    ),
                    "write `enum: [a, b, c]`, or `const: a` for a single value".to_owned(),
                );
                None
            }
        }
    }

    fn number(&mut self, key: &str, value: &Value) -> Option<Number> {
        match value {
            Value::Number(number) => Some(number.clone()),
            other => {
                self.error(
                    Some(key),
                    Target::Value,
                    "wrong-type",
                    format!("`{key}` must be a number, not {}", describe(other)),
                    format!("write a number, for example `{key}: 0`"),
                );
                None
            }
        }
    }

    fn exclusive_bound(&mut self, key: &str, value: &Value) -> Option<Number> {
        if let Value::Bool(_) = value {
            let inclusive = if key == "exclusiveMinimum" {
                "minimum"
            } else {
                "maximum"
            };
            self.error(
                Some(key),
                Target::Value,
                "exclusive-bound-boolean",
                format!("`{key}: {value}` is draft-04 syntax; in draft 2020-12 `{key}` is the bound itself"),
                format!("write `{key}: <number>` instead of combining `{inclusive}` with a boolean"),
            );
            return None;
        }
        self.number(key, value)
    }

    fn count(&mut self, key: &str, value: &Value) -> Option<u64> {
        let count = match value {
            Value::Number(number) => number.as_u64().or_else(|| {
                number
                    .as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= u64::MAX as f64)
                    .map(|f| f as u64)
            }),
            _ => None,
        };
        if count.is_none() {
            self.error(
                Some(key),
                Target::Value,
                "not-a-count",
                format!(
                    "`{key}` must be a whole number of 0 or more, not {}",
                    describe(value)
                ),
                format!("write for example `{key}: 1`"),
            );
        }
        count
    }

    fn boolean(&mut self, key: &str, value: &Value) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            other => {
                self.error(
                    Some(key),
                    Target::Value,
                    "wrong-type",
                    format!("`{key}` must be true or false, not {}", describe(other)),
                    format!("write `{key}: true` or `{key}: false`"),
                );
                None
            }
        }
    }

    fn string(&mut self, key: &str, value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            other => {
                self.error(
                    Some(key),
                    Target::Value,
                    "wrong-type",
                    format!("`{key}` must be a string, not {}", describe(other)),
                    "quote the text".to_owned(),
                );
                None
            }
        }
    }

    fn pattern(&mut self, key: &str, value: &Value) -> Option<String> {
        let pattern = self.string(key, value)?;
        match keywords::check_pattern(&pattern) {
            Ok(()) => Some(pattern),
            Err(message) => {
                self.error(
                    Some(key),
                    Target::Value,
                    "pattern-invalid",
                    format!("`pattern` {message}"),
                    keywords::PATTERN_HELP.to_owned(),
                );
                None
            }
        }
    }

    fn format(&mut self, key: &str, value: &Value) -> Option<Format> {
        let name = self.string(key, value)?;
        match keywords::format_named(&name) {
            Ok(format) => Some(format),
            Err((message, help)) => {
                self.error(
                    Some(key),
                    Target::Value,
                    "format-unsupported",
                    message,
                    help,
                );
                None
            }
        }
    }

    /// Checks between keywords of one schema object: bounds that leave nothing valid, keywords
    /// that cannot apply to the declared type, required properties that cannot exist.
    fn check_coherence(&mut self, object: &SchemaObject, map: &Map<String, Value>) {
        let f = |n: &Option<Number>| n.as_ref().and_then(Number::as_f64);
        if let Err(range) = keywords::check_range(keywords::Range {
            minimum: (f(&object.minimum), "minimum"),
            exclusive_minimum: (f(&object.exclusive_minimum), "exclusiveMinimum"),
            maximum: (f(&object.maximum), "maximum"),
            exclusive_maximum: (f(&object.exclusive_maximum), "exclusiveMaximum"),
        }) {
            self.error(
                Some(range.lower),
                Target::Value,
                "min-above-max",
                range.message,
                format!("make `{}` lower than `{}`", range.lower, range.upper),
            );
        }
        type CountPair<'k> = (&'k str, Option<u64>, &'k str, Option<u64>, &'k str);
        // Not `minContains` above `maxContains`: that leaves non-arrays valid, and the JSON
        // Schema Test Suite holds it to be a schema.
        let pairs: [CountPair; 3] = [
            (
                "minLength",
                object.min_length,
                "maxLength",
                object.max_length,
                "characters",
            ),
            (
                "minItems",
                object.min_items,
                "maxItems",
                object.max_items,
                "items",
            ),
            (
                "minProperties",
                object.min_properties,
                "maxProperties",
                object.max_properties,
                "properties",
            ),
        ];
        for (min_key, min, max_key, max, unit) in pairs {
            if let (Some(min), Some(max)) = (min, max)
                && let Err(message) = keywords::check_counts(min_key, min, max_key, max, unit)
            {
                self.error(
                    Some(min_key),
                    Target::Value,
                    "min-above-max",
                    message,
                    format!("make `{min_key}` at most `{max_key}`"),
                );
            }
        }

        if let Some(types) = &object.types {
            let declared: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
            for key in map.keys() {
                let Some(keyword) = keywords::keyword(key) else {
                    continue;
                };
                if keyword.role == Role::Annotation || keyword.family == Family::Any {
                    continue;
                }
                if types.iter().any(|t| keyword.family.includes(*t)) {
                    continue;
                }
                self.error(
                    Some(key),
                    Target::Key,
                    "keyword-never-applies",
                    format!(
                        "`{key}` applies to {}, but `type` only allows {}, so it would never be checked",
                        keyword.family.plural(),
                        declared.join(", ")
                    ),
                    format!("remove `{key}`, or add the type it is meant for to `type`"),
                );
            }
            for (keyword, values) in [
                ("enum", object.enum_values.clone().unwrap_or_default()),
                ("const", object.const_value.iter().cloned().collect()),
            ] {
                for (index, value) in values.iter().enumerate() {
                    if types.iter().any(|t| t.matches(value)) {
                        continue;
                    }
                    let mut segments = vec![PathSegment::Key(keyword.into())];
                    if keyword == "enum" {
                        segments.push(PathSegment::Index(index));
                    }
                    self.at(
                        &segments,
                        Target::Value,
                        "value-never-matches-type",
                        format!(
                            "{value} is {}, but `type` only allows {}, so it can never be valid",
                            describe(value),
                            declared.join(", ")
                        ),
                        "change the value or the `type`".to_owned(),
                    );
                }
            }
        }

        let closed = matches!(object.additional_properties, Some(Schema::Bool(false)));
        for (index, name) in object.required.iter().enumerate() {
            let declared = object.property(name);
            let by_pattern = object.pattern_properties.iter().any(|(pattern, schema)| {
                *schema != Schema::Bool(false)
                    && regex::Regex::new(&keywords::rust_regex(pattern))
                        .is_ok_and(|r| r.is_match(name))
            });
            let impossible = match declared {
                Some(Schema::Bool(false)) => Some(format!(
                    "`{name}` is required but its schema is `false`, so no object can be valid"
                )),
                None if closed && !by_pattern => Some(format!(
                    "`{name}` is required but is not listed in `properties` (nor matched by `patternProperties`), and `additionalProperties` is false, so no object can have it"
                )),
                _ => None,
            };
            if let Some(message) = impossible {
                let raw_index = map
                    .get("required")
                    .and_then(Value::as_array)
                    .and_then(|items| items.iter().position(|v| v.as_str() == Some(name)))
                    .unwrap_or(index);
                let help = match closest(name, object.properties.iter().map(|(n, _)| n)) {
                    Some(s) => {
                        format!("did you mean `{s}`? otherwise add `{name}` to `properties`")
                    }
                    None => format!("add `{name}` to `properties`, or remove it from `required`"),
                };
                self.at(
                    &[
                        PathSegment::Key("required".into()),
                        PathSegment::Index(raw_index),
                    ],
                    Target::Value,
                    "required-cannot-exist",
                    message,
                    help,
                );
            }
        }
        if let Some(max) = object.max_properties
            && (object.required.len() as u64) > max
        {
            self.error(
                Some("maxProperties"),
                Target::Value,
                "required-over-max-properties",
                format!("`required` lists {} properties but `maxProperties` is {max}, so no object can be valid", object.required.len()),
                "raise `maxProperties` or require fewer properties".to_owned(),
            );
        }
    }
}

/// The references a schema applies to the value itself (not to its parts), with their paths
/// relative to the schema.
fn in_place_references(
    schema: &Schema,
    path: &mut Vec<PathSegment>,
    out: &mut Vec<(usize, Vec<PathSegment>)>,
) {
    let Some(object) = schema.as_object() else {
        return;
    };
    if let Some(reference) = &object.reference {
        out.push((reference.target, path.clone()));
    }
    let mut visit = |key: &str, index: Option<PathSegment>, sub: &Schema, out: &mut Vec<_>| {
        path.push(PathSegment::Key(key.to_owned()));
        if let Some(index) = &index {
            path.push(index.clone());
        }
        in_place_references(sub, path, out);
        if index.is_some() {
            path.pop();
        }
        path.pop();
    };
    for (key, list) in [
        ("allOf", &object.all_of),
        ("anyOf", &object.any_of),
        ("oneOf", &object.one_of),
    ] {
        for (i, sub) in list.iter().enumerate() {
            visit(key, Some(PathSegment::Index(i)), sub, out);
        }
    }
    for (key, sub) in [
        ("not", &object.not),
        ("if", &object.if_schema),
        ("then", &object.then_schema),
        ("else", &object.else_schema),
    ] {
        if let Some(sub) = sub {
            visit(key, None, sub, out);
        }
    }
    for (name, sub) in &object.dependent_schemas {
        visit(
            "dependentSchemas",
            Some(PathSegment::Key(name.clone())),
            sub,
            out,
        );
    }
}

/// A self-contained copy of a schema that references read files: each file is embedded under
/// `$defs` as a schema resource (with an `$id`), and the root gets an `$id` against which the
/// references it already has resolve to those, unchanged (draft 2020-12's bundling). The URIs
/// are on a host of their own (`schemas.ingest.invalid`), not the files' paths, so the text
/// does not depend on where the spec is. `value` is the schema as written; a schema that read
/// no file is returned as it is.
pub fn bundle(document: &Document, value: &Value, name: &str) -> Value {
    let (Value::Object(root), Some(base)) = (value, uri_path(&document.base)) else {
        return value.clone();
    };
    if document.files.is_empty() {
        return value.clone();
    }
    let directory = base.parent().unwrap_or(std::path::Path::new("/"));
    let relative: Vec<(String, &Value)> = document
        .files
        .iter()
        .filter_map(|(uri, file)| Some((relative_path(directory, &uri_path(uri)?), file)))
        .collect();
    // Deep enough that no `..` of a relative path climbs above the host.
    let ups = relative
        .iter()
        .map(|(path, _)| path.split('/').take_while(|s| *s == "..").count())
        .max()
        .unwrap_or(0);
    let id = format!(
        "https://schemas.ingest.invalid/{}{name}.json",
        "_/".repeat(ups)
    );
    let root_uri = Uri::parse(&id).expect("a valid URI");
    let mut out = root.clone();
    out.insert("$id".to_owned(), Value::String(id));
    let mut defs = match out.remove("$defs") {
        Some(Value::Object(defs)) => defs,
        _ => Map::new(),
    };
    for (path, file) in relative {
        let resource = root_uri.resolve(&Uri::parse(&path).unwrap_or_else(|_| root_uri.clone()));
        let mut embedded = file.clone();
        if let Value::Object(map) = &mut embedded {
            map.insert("$id".to_owned(), Value::String(resource.resource()));
        }
        defs.insert(path, embedded);
    }
    out.insert("$defs".to_owned(), Value::Object(defs));
    Value::Object(out)
}

/// `to`, relative to the folder `from` (`../common/x.json`), with `/` separators.
fn relative_path(from: &std::path::Path, to: &std::path::Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// JSON equality as JSON Schema defines it: numbers compare by value (`1 == 1.0`).
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A short description of a JSON value's kind, for messages.
pub fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if is_integral(n) => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a, S: AsRef<str> + ?Sized + 'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a S>,
) -> Option<&'a str> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            let candidate = candidate.as_ref();
            let distance = edit_distance(&word_lower, &candidate.to_ascii_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(word.len()) / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests;
