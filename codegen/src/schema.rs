//! The model of the JSON Schema subset that event schemas may use (`docs/architecture.md#events`).
//!
//! [`parse`] turns a `serde_json::Value` into a [`Schema`] and checks it on the way: every keyword
//! must be in the subset, every value must be sane (a regex that compiles, `min <= max`, a
//! non-empty `enum`, a positive `multipleOf`, `required` names that can exist, keywords that can
//! apply to the declared `type`). Problems are collected, never short-circuited, so a user sees all
//! of them at once. Each [`SchemaError`] carries the path of the offending value inside the
//! schema; the front-ends map that path to a line and column in their own source.
//!
//! Semantics are those of draft 2020-12. Unsupported keywords are errors, never ignored: a schema
//! that silently validates less than its author wrote is worse than one that does not load.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Number, Value};

/// The draft this subset follows; the only value `$schema` may take.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// The keywords of the subset that assert something about an instance.
pub const ASSERTION_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
];

/// The keywords of the subset that only annotate (they never change a verdict).
pub const ANNOTATION_KEYWORDS: &[&str] = &[
    "title",
    "description",
    "default",
    "examples",
    "$comment",
    "$schema",
];

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

    fn from_name(name: &str) -> Option<Self> {
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

/// The string formats the subset asserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 3339 `date-time`.
    DateTime,
    /// RFC 3339 `full-date`.
    Date,
    /// RFC 4122 UUID.
    Uuid,
    /// RFC 5321 mailbox address.
    Email,
}

impl Format {
    /// The name used in JSON Schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Date => "date",
            Format::Uuid => "uuid",
            Format::Email => "email",
        }
    }

    const ALL: [Format; 4] = [Format::DateTime, Format::Date, Format::Uuid, Format::Email];
}

/// A schema object: every keyword of the subset, parsed and checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaObject {
    /// `type`, as a set; `None` when absent (any type).
    pub types: Option<BTreeSet<InstanceType>>,
    /// `properties`, in the order the schema lists them.
    pub properties: Vec<(String, Schema)>,
    /// `required`, in the order the schema lists them.
    pub required: Vec<String>,
    /// `additionalProperties`; `None` when absent (equivalent to `true`).
    pub additional_properties: Option<Schema>,
    /// `enum`
    pub enum_values: Option<Vec<Value>>,
    /// `const`
    pub const_value: Option<Value>,
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
    /// `items`
    pub items: Option<Schema>,
    /// `minItems`
    pub min_items: Option<u64>,
    /// `maxItems`
    pub max_items: Option<u64>,
    /// `uniqueItems`
    pub unique_items: bool,
    /// `minProperties`
    pub min_properties: Option<u64>,
    /// `maxProperties`
    pub max_properties: Option<u64>,
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
}

/// One segment of a path inside a schema document.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The key at the path (for example an unsupported keyword).
    Key,
    /// The value at the path.
    Value,
}

/// One problem found while parsing a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Where in the schema document (empty for the root).
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
        write!(f, "{} (at `{}`)", self.message, self.pointer())
    }
}

/// Parses and checks a schema, collecting every problem.
pub fn parse(value: &Value) -> Result<Schema, Vec<SchemaError>> {
    let mut parser = Parser {
        path: Vec::new(),
        errors: Vec::new(),
    };
    let schema = parser.schema(value, true);
    if parser.errors.is_empty() {
        Ok(schema)
    } else {
        Err(parser.errors)
    }
}

struct Parser {
    path: Vec<PathSegment>,
    errors: Vec<SchemaError>,
}

impl Parser {
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
        self.errors.push(SchemaError {
            path,
            target,
            code,
            message,
            help,
        });
    }

    fn nested<T>(&mut self, segment: PathSegment, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(segment);
        let result = f(self);
        self.path.pop();
        result
    }

    fn schema(&mut self, value: &Value, is_root: bool) -> Schema {
        match value {
            Value::Bool(b) => Schema::Bool(*b),
            Value::Object(map) => Schema::Object(Box::new(self.object(map, is_root))),
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

    fn object(&mut self, map: &Map<String, Value>, is_root: bool) -> SchemaObject {
        let mut object = SchemaObject::default();
        for (key, value) in map {
            self.keyword(&mut object, key, value, is_root);
        }
        self.check_coherence(&object, map);
        object
    }

    fn keyword(&mut self, object: &mut SchemaObject, key: &str, value: &Value, is_root: bool) {
        match key {
            "type" => object.types = self.types(key, value),
            "properties" => object.properties = self.properties(key, value),
            "required" => object.required = self.required(key, value),
            "additionalProperties" => {
                object.additional_properties =
                    Some(self.nested(PathSegment::Key(key.into()), |p| p.schema(value, false)))
            }
            "items" => {
                if value.is_array() {
                    self.error(
                        Some(key),
                        Target::Value,
                        "items-array",
                        "`items` is a list here, which draft 2020-12 calls `prefixItems` (tuple validation), and that is not supported".to_owned(),
                        "give `items` one schema that every element must match".to_owned(),
                    );
                } else {
                    object.items =
                        Some(self.nested(PathSegment::Key(key.into()), |p| p.schema(value, false)));
                }
            }
            "enum" => object.enum_values = self.enum_values(key, value),
            "const" => object.const_value = Some(value.clone()),
            "minimum" => object.minimum = self.number(key, value),
            "maximum" => object.maximum = self.number(key, value),
            "exclusiveMinimum" => object.exclusive_minimum = self.exclusive_bound(key, value),
            "exclusiveMaximum" => object.exclusive_maximum = self.exclusive_bound(key, value),
            "multipleOf" => {
                object.multiple_of = self.number(key, value).and_then(|number| {
                    if number.as_f64().is_some_and(|f| f > 0.0) {
                        Some(number)
                    } else {
                        self.error(
                            Some(key),
                            Target::Value,
                            "multiple-of-not-positive",
                            format!("`multipleOf` must be greater than 0, but it is {number}"),
                            "use a positive number such as 1, 5 or 0.01".to_owned(),
                        );
                        None
                    }
                })
            }
            "minLength" => object.min_length = self.count(key, value),
            "maxLength" => object.max_length = self.count(key, value),
            "minItems" => object.min_items = self.count(key, value),
            "maxItems" => object.max_items = self.count(key, value),
            "minProperties" => object.min_properties = self.count(key, value),
            "maxProperties" => object.max_properties = self.count(key, value),
            "uniqueItems" => object.unique_items = self.boolean(key, value).unwrap_or(false),
            "pattern" => object.pattern = self.pattern(key, value),
            "format" => object.format = self.format(key, value),
            "title" => object.title = self.string(key, value),
            "description" => object.description = self.string(key, value),
            "$comment" => {
                self.string(key, value);
            }
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
            "$schema" => {
                if !is_root {
                    self.error(
                        Some(key),
                        Target::Key,
                        "schema-uri-nested",
                        "`$schema` may only appear at the root of a schema".to_owned(),
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
            unsupported => self.unsupported(unsupported),
        }
    }

    fn unsupported(&mut self, key: &str) {
        let help = match key {
            "allOf" | "anyOf" | "oneOf" | "not" | "if" | "then" | "else" => {
                "combinators are not supported; a variant of an event is a new event type (`shift.created.v2`), and a nullable value is `type: [string, \"null\"]`".to_owned()
            }
            "$ref" | "$defs" | "definitions" | "$id" | "$anchor" | "$dynamicRef" => {
                "references are not supported; write the referenced schema inline".to_owned()
            }
            "nullable" => "`nullable` is OpenAPI, not JSON Schema; write `type: [<type>, \"null\"]`".to_owned(),
            "prefixItems" => "tuple validation is not supported; use `items` with one schema for every element".to_owned(),
            "patternProperties" | "propertyNames" | "dependentRequired" | "dependentSchemas"
            | "unevaluatedProperties" | "unevaluatedItems" | "contains" | "minContains"
            | "maxContains" | "contentEncoding" | "contentMediaType" | "contentSchema" => {
                format!("`{key}` is outside the supported subset; list the keys under `properties` and use `additionalProperties`")
            }
            _ => match closest(key, ASSERTION_KEYWORDS.iter().chain(ANNOTATION_KEYWORDS)) {
                Some(suggestion) => format!("did you mean `{suggestion}`?"),
                None => format!(
                    "the supported keywords are: {}",
                    ASSERTION_KEYWORDS.join(", ")
                ),
            },
        };
        self.error(
            Some(key),
            Target::Key,
            "unsupported-keyword",
            format!("`{key}` is not a supported schema keyword"),
            help,
        );
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
        self.errors.push(SchemaError {
            path,
            target,
            code,
            message,
            help,
        });
    }

    fn properties(&mut self, key: &str, value: &Value) -> Vec<(String, Schema)> {
        let Value::Object(map) = value else {
            self.error(
                Some(key),
                Target::Value,
                "wrong-type",
                format!(
                    "`properties` must map names to schemas, not be {}",
                    describe(value)
                ),
                "write `properties:` followed by one `name: { schema }` entry per property"
                    .to_owned(),
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

    fn required(&mut self, key: &str, value: &Value) -> Vec<String> {
        let Value::Array(items) = value else {
            self.error(
                Some(key),
                Target::Value,
                "wrong-type",
                format!(
                    "`required` must be a list of property names, not {}",
                    describe(value)
                ),
                "write `required: [name, ...]`".to_owned(),
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
                    format!("`{name}` is listed twice in `required`"),
                    "list each required property once".to_owned(),
                ),
                Value::String(name) => names.push(name.clone()),
                other => self.at(
                    &segments,
                    Target::Value,
                    "wrong-type",
                    format!(
                        "`required` lists property names, but this entry is {}",
                        describe(other)
                    ),
                    "quote the property name".to_owned(),
                ),
            }
        }
        names
    }

    fn enum_values(&mut self, key: &str, value: &Value) -> Option<Vec<Value>> {
        match value {
            Value::Array(values) if values.is_empty() => {
                self.error(
                    Some(key),
                    Target::Value,
                    "enum-empty",
                    "`enum` is empty, so no value can ever be valid".to_owned(),
                    "list the allowed values, or remove `enum`".to_owned(),
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
        match regex::Regex::new(&pattern) {
            Ok(_) => Some(pattern),
            Err(error) => {
                let detail = error.to_string();
                let last = detail.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
                self.error(
                    Some(key),
                    Target::Value,
                    "pattern-invalid",
                    format!("`pattern` {pattern:?} is not a regular expression we can compile: {}", last.trim_start_matches("error: ")),
                    "fix the expression; look-around and backreferences are not supported (patterns are compiled to a linear-time automaton)".to_owned(),
                );
                None
            }
        }
    }

    fn format(&mut self, key: &str, value: &Value) -> Option<Format> {
        let name = self.string(key, value)?;
        let found = Format::ALL
            .into_iter()
            .find(|format| format.as_str() == name);
        if found.is_none() {
            let supported: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
            self.error(
                Some(key),
                Target::Value,
                "format-unsupported",
                format!("format {name:?} is not supported, and would not be checked"),
                match closest(&name, supported.iter()) {
                    Some(s) => format!(
                        "did you mean `{s}`? supported formats: {}",
                        supported.join(", ")
                    ),
                    None => format!(
                        "supported formats: {}; for anything else use `pattern`",
                        supported.join(", ")
                    ),
                },
            );
        }
        found
    }

    /// Checks between keywords of one schema object: bounds that leave nothing valid, keywords
    /// that cannot apply to the declared type, required properties that cannot exist.
    fn check_coherence(&mut self, object: &SchemaObject, map: &Map<String, Value>) {
        self.check_numeric_range(object);
        // (lower keyword, its value, upper keyword, its value, what is counted)
        type CountPair<'k> = (&'k str, Option<u64>, &'k str, Option<u64>, &'k str);
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
                && min > max
            {
                self.error(
                    Some(min_key),
                    Target::Value,
                    "min-above-max",
                    format!("`{min_key}` is {min} but `{max_key}` is {max}: no value can have at least {min} and at most {max} {unit}"),
                    format!("make `{min_key}` at most `{max_key}`"),
                );
            }
        }

        if let Some(types) = &object.types {
            let applies: [(&[&str], &[InstanceType], &str); 4] = [
                (
                    &[
                        "minimum",
                        "maximum",
                        "exclusiveMinimum",
                        "exclusiveMaximum",
                        "multipleOf",
                    ],
                    &[InstanceType::Number, InstanceType::Integer],
                    "numbers",
                ),
                (
                    &["minLength", "maxLength", "pattern", "format"],
                    &[InstanceType::String],
                    "strings",
                ),
                (
                    &["items", "minItems", "maxItems", "uniqueItems"],
                    &[InstanceType::Array],
                    "arrays",
                ),
                (
                    &[
                        "properties",
                        "required",
                        "additionalProperties",
                        "minProperties",
                        "maxProperties",
                    ],
                    &[InstanceType::Object],
                    "objects",
                ),
            ];
            let declared: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
            for (keywords, kinds, noun) in applies {
                if kinds.iter().any(|kind| types.contains(kind)) {
                    continue;
                }
                for keyword in keywords.iter().filter(|k| map.contains_key(**k)) {
                    self.error(
                        Some(keyword),
                        Target::Key,
                        "keyword-never-applies",
                        format!("`{keyword}` applies to {noun}, but `type` only allows {}, so it would never be checked", declared.join(", ")),
                        format!("remove `{keyword}`, or add the type it is meant for to `type`"),
                    );
                }
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
            let impossible = match declared {
                Some(Schema::Bool(false)) => Some(format!(
                    "`{name}` is required but its schema is `false`, so no object can be valid"
                )),
                None if closed => Some(format!(
                    "`{name}` is required but is not listed in `properties`, and `additionalProperties` is false, so no object can have it"
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

    fn check_numeric_range(&mut self, object: &SchemaObject) {
        // The tightest lower and upper bound, each with whether it is exclusive.
        let lower = tighter(
            object.minimum.as_ref(),
            object.exclusive_minimum.as_ref(),
            true,
        );
        let upper = tighter(
            object.maximum.as_ref(),
            object.exclusive_maximum.as_ref(),
            false,
        );
        if let (Some((low, low_exclusive, low_key)), Some((high, high_exclusive, high_key))) =
            (lower, upper)
        {
            let empty = low > high || (low == high && (low_exclusive || high_exclusive));
            if empty {
                self.error(
                    Some(low_key),
                    Target::Value,
                    "min-above-max",
                    format!("`{low_key}` is {low} and `{high_key}` is {high}: no number is in that range"),
                    format!("make `{low_key}` lower than `{high_key}`"),
                );
            }
        }
    }
}

/// Picks the tighter of an inclusive and an exclusive bound: `(value, exclusive, keyword)`.
fn tighter(
    inclusive: Option<&Number>,
    exclusive: Option<&Number>,
    is_lower: bool,
) -> Option<(f64, bool, &'static str)> {
    let (inclusive_key, exclusive_key) = if is_lower {
        ("minimum", "exclusiveMinimum")
    } else {
        ("maximum", "exclusiveMaximum")
    };
    let inclusive = inclusive
        .and_then(Number::as_f64)
        .map(|v| (v, false, inclusive_key));
    let exclusive = exclusive
        .and_then(Number::as_f64)
        .map(|v| (v, true, exclusive_key));
    match (inclusive, exclusive) {
        (Some(a), Some(b)) => {
            let b_tighter = if is_lower { b.0 >= a.0 } else { b.0 <= a.0 };
            Some(if b_tighter { b } else { a })
        }
        (a, b) => a.or(b),
    }
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
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(value: Value) -> Vec<(String, &'static str)> {
        match parse(&value) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| (e.pointer(), e.code)).collect(),
        }
    }

    #[test]
    fn accepts_every_supported_keyword() {
        let schema = json!({
            "$schema": DRAFT_2020_12, "title": "t", "description": "d", "$comment": "c",
            "type": "object", "required": ["a"], "additionalProperties": false,
            "minProperties": 1, "maxProperties": 3, "default": {}, "examples": [{}],
            "properties": {
                "a": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^a", "format": "uuid"},
                "b": {"type": ["integer", "null"], "minimum": 0, "maximum": 9, "multipleOf": 3},
                "c": {"type": "array", "items": {"enum": ["x", "y"]}, "minItems": 1, "maxItems": 2, "uniqueItems": true},
                "d": {"const": 1, "exclusiveMinimum": 0, "exclusiveMaximum": 2}
            }
        });
        let parsed = parse(&schema).expect("valid schema");
        let object = parsed.as_object().unwrap();
        assert_eq!(object.properties.len(), 4);
        assert_eq!(object.properties[0].0, "a", "property order is kept");
        assert_eq!(object.required, vec!["a"]);
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let found = errors(json!({
            "type": "object",
            "properties": {
                "a": {"type": "string", "minLength": 5, "maxLength": 2, "pattern": "(?<=x)y"},
                "b": {"type": "int", "oneOf": []},
                "c": {"enum": [], "multipleOf": 0},
                "d": {"type": "string", "minimum": 1, "format": "hostname"}
            },
            "required": ["a", "z", "a"],
            "additionalProperties": false
        }));
        assert_eq!(
            found,
            vec![
                ("/properties/a/pattern".to_owned(), "pattern-invalid"),
                ("/properties/a/minLength".to_owned(), "min-above-max"),
                ("/properties/b/type".to_owned(), "type-unknown"),
                ("/properties/b/oneOf".to_owned(), "unsupported-keyword"),
                ("/properties/c/enum".to_owned(), "enum-empty"),
                (
                    "/properties/c/multipleOf".to_owned(),
                    "multiple-of-not-positive"
                ),
                ("/properties/d/format".to_owned(), "format-unsupported"),
                ("/properties/d/minimum".to_owned(), "keyword-never-applies"),
                ("/required/2".to_owned(), "required-duplicate"),
                ("/required/1".to_owned(), "required-cannot-exist"),
            ]
        );
    }

    #[test]
    fn numeric_ranges_consider_exclusive_bounds() {
        assert!(errors(json!({"minimum": 1, "maximum": 1})).is_empty());
        assert_eq!(
            errors(json!({"minimum": 1, "exclusiveMaximum": 1}))[0].1,
            "min-above-max"
        );
        assert_eq!(
            errors(json!({"exclusiveMinimum": 3, "maximum": 2}))[0].1,
            "min-above-max"
        );
        assert_eq!(
            errors(json!({"exclusiveMinimum": true}))[0].1,
            "exclusive-bound-boolean"
        );
    }

    #[test]
    fn counts_accept_integral_floats_only() {
        assert!(errors(json!({"maxLength": 2.0})).is_empty());
        assert_eq!(errors(json!({"maxLength": 2.5}))[0].1, "not-a-count");
        assert_eq!(errors(json!({"minItems": -1}))[0].1, "not-a-count");
    }

    #[test]
    fn suggests_close_keywords() {
        let error = parse(&json!({"minLenght": 1})).unwrap_err().remove(0);
        assert_eq!(error.help, "did you mean `minLength`?");
        assert_eq!(error.target, Target::Key);
    }

    #[test]
    fn enum_values_must_fit_the_type() {
        assert_eq!(
            errors(json!({"type": "string", "enum": ["a", 1]})),
            vec![("/enum/1".to_owned(), "value-never-matches-type")]
        );
        assert!(errors(json!({"type": "integer", "enum": [1.0]})).is_empty());
        assert_eq!(errors(json!({"enum": [1, 1.0]}))[0].1, "enum-duplicate");
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("shards", "shards"), 0);
        assert_eq!(edit_distance("shrads", "shards"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
