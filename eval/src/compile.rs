//! From a schema (`ingest_codegen::schema::Schema`) to a [`Program`].
//!
//! The program must check exactly what the generated code checks, with the same messages. The
//! generated code is not made from the schema directly: `ingest_codegen::types` writes Rust
//! types with `#[event(...)]` attributes, and `#[derive(Event)]` builds its validator model back
//! from them (`ingest_codegen::validator::Node`). That round trip keeps every assertion, and
//! changes three things that show in verdicts or messages; this compiler applies the same
//! three, through the same predicates of `ingest_codegen::types`:
//!
//! - A position that becomes a struct ([`needs_struct`]) without `type` is declared with every
//!   type ([`ALL_TYPES`]); nested (not the root) and typed exactly `[object, "null"]`, it is an
//!   `Option` of a struct that allows objects only: [`Node::NullOr`] over a node that allows
//!   objects, so a wrong type is "expected an object", not "expected null or an object".
//! - A position that becomes a string enum ([`is_string_enum`]) allows strings only, even when
//!   its schema has no `type`: a number there is a `type` violation, not an `enum` one.
//! - Numbers pass through Rust literals: integers stay integers, and `-0.0` becomes `0.0`.
//!
//! Everything else maps one to one: a keyword to its check, in the order of
//! `ingest_codegen::validator::expand`. The differential tests (`tests/tests/eval.rs`) hold the
//! two to identical verdicts and violation lists.

use std::collections::{BTreeSet, HashMap};

use ingest_codegen::schema::{Format as SchemaFormat, InstanceType, Schema, SchemaObject};
use ingest_codegen::types::{ALL_TYPES, is_string_enum, needs_struct};
use ingest_codegen::validator::describe_types;
use ingest_runtime::format::Format;
use ingest_runtime::json::Kind;
use ingest_runtime::number::Num;
use regex::Regex;
use serde_json::{Number, Value};

use crate::program::{
    Additional, Arrays, Bound, Checks, KindSet, Node, NodeId, Numbers, Objects, Program, Property,
    SCANNED_PROPERTIES, Strings, Whole,
};

/// A schema the evaluator cannot run. Schemas from `ingest_codegen::schema::parse` always
/// compile (it checks their patterns); this is for schemas built some other way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`pattern` at `{pointer}` is not a valid regular expression: {message}")]
pub struct CompileError {
    /// Where in the schema, as a JSON pointer (`/properties/color/pattern`).
    pub pointer: String,
    /// What the regular expression engine said.
    pub message: String,
}

impl Program {
    /// Compiles a schema into a program that gives the generated validator's verdicts and
    /// violations. Compiling is a single walk over the schema plus one regular expression
    /// compilation per `pattern`.
    pub fn compile(schema: &Schema) -> Result<Program, CompileError> {
        let mut compiler = Compiler {
            nodes: Vec::new(),
            path: Vec::new(),
        };
        let root = compiler.position(schema, false)?;
        Ok(Program {
            nodes: compiler.nodes,
            root,
        })
    }
}

struct Compiler {
    nodes: Vec<Node>,
    /// The schema path of the position being compiled, for errors.
    path: Vec<String>,
}

/// The bit of a JSON kind in a [`KindSet`].
#[inline(always)]
pub(crate) fn kind_bit(kind: Kind) -> KindSet {
    1 << kind as u8
}

/// Whether `type` allows an instance type (absent allows all; `number` admits integers), as
/// the validator model decides it.
fn allows(types: Option<&BTreeSet<InstanceType>>, t: InstanceType) -> bool {
    match types {
        None => true,
        Some(types) => {
            types.contains(&t)
                || (t == InstanceType::Integer && types.contains(&InstanceType::Number))
        }
    }
}

/// A number as generated code holds it: the schema's number written as a Rust literal (by
/// `ingest_codegen::types`) and read back (by the derive). Integers stay exact; a float keeps
/// its value but not the sign of zero.
fn number(n: &Number) -> Num {
    if let Some(u) = n.as_u64() {
        Num::Uint(u)
    } else if let Some(i) = n.as_i64() {
        Num::Int(i)
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        Num::Float(if f == 0.0 { 0.0 } else { f })
    }
}

/// A count keyword's operand as generated code holds it.
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn format(format: SchemaFormat) -> Format {
    match format {
        SchemaFormat::DateTime => Format::DateTime,
        SchemaFormat::Date => Format::Date,
        SchemaFormat::Uuid => Format::Uuid,
        SchemaFormat::Email => Format::Email,
    }
}

impl Compiler {
    fn push(&mut self, node: Node) -> NodeId {
        let id = u32::try_from(self.nodes.len()).expect("fewer than 4 billion schema positions");
        self.nodes.push(node);
        NodeId(id)
    }

    fn nested<T>(&mut self, segments: &[&str], f: impl FnOnce(&mut Self) -> T) -> T {
        let depth = self.path.len();
        self.path.extend(segments.iter().map(|s| (*s).to_owned()));
        let result = f(self);
        self.path.truncate(depth);
        result
    }

    fn pointer(&self, last: &str) -> String {
        self.path
            .iter()
            .map(String::as_str)
            .chain([last])
            .map(|segment| format!("/{}", segment.replace('~', "~0").replace('/', "~1")))
            .collect()
    }

    /// The node of one schema position; `nested` is false for the root only.
    fn position(&mut self, schema: &Schema, nested: bool) -> Result<NodeId, CompileError> {
        let object = match schema {
            Schema::Bool(true) => return Ok(self.push(Node::Any)),
            Schema::Bool(false) => return Ok(self.push(Node::Never)),
            Schema::Object(object) => object,
        };
        let null_or_object: BTreeSet<InstanceType> =
            [InstanceType::Null, InstanceType::Object].into();
        let (types, null_or) = if needs_struct(object) {
            match &object.types {
                Some(types) if nested && *types == null_or_object => {
                    (Some([InstanceType::Object].into()), true)
                }
                Some(types) => (Some(types.clone()), false),
                None => (Some(ALL_TYPES.into_iter().collect()), false),
            }
        } else if is_string_enum(object) {
            (Some([InstanceType::String].into()), false)
        } else {
            (object.types.clone(), false)
        };
        let node = self.checks(object, types)?;
        let id = self.push(node);
        Ok(if null_or {
            self.push(Node::NullOr(id))
        } else {
            id
        })
    }

    /// The node of a schema object whose `type` (as the generated code sees it) is `types`.
    fn checks(
        &mut self,
        object: &SchemaObject,
        types: Option<BTreeSet<InstanceType>>,
    ) -> Result<Node, CompileError> {
        let types = types.as_ref();
        let items = match &object.items {
            Some(items) => Some(self.nested(&["items"], |c| c.position(items, true))?),
            None => None,
        };
        // An `items` that allows anything is no check (the derive leaves it out).
        let items = items.filter(|id| !matches!(self.nodes[id.index()], Node::Any));

        let mut properties: Vec<Property> = Vec::with_capacity(object.properties.len());
        for (name, schema) in &object.properties {
            let node = self.nested(&["properties", name], |c| c.position(schema, true))?;
            properties.push(Property {
                name: name.as_str().into(),
                node,
            });
        }
        for name in &object.required {
            if object.property(name).is_none() {
                let node = self.push(Node::Any);
                properties.push(Property {
                    name: name.as_str().into(),
                    node,
                });
            }
        }
        let required: Box<[usize]> = properties
            .iter()
            .enumerate()
            .filter(|(_, p)| object.required.iter().any(|r| *r == *p.name))
            .map(|(index, _)| index)
            .collect();
        let additional = match &object.additional_properties {
            None | Some(Schema::Bool(true)) => Additional::Allowed,
            Some(Schema::Bool(false)) => Additional::Denied,
            Some(schema) => Additional::Schema(
                self.nested(&["additionalProperties"], |c| c.position(schema, true))?,
            ),
        };

        let pattern = match &object.pattern {
            Some(pattern) => Some(Regex::new(pattern).map_err(|error| CompileError {
                pointer: self.pointer("pattern"),
                message: error.to_string(),
            })?),
            None => None,
        };

        let string_only = types.is_some_and(|t| t.len() == 1 && t.contains(&InstanceType::String));
        let string_enum: Option<Box<[Box<str>]>> = object
            .enum_values
            .as_ref()
            .and_then(|values| values.iter().map(|v| v.as_str().map(Box::from)).collect());
        let inline_enum = string_only && string_enum.is_some();
        let inline_const = string_only && object.const_value.as_ref().is_some_and(Value::is_string);

        let trivial = types.is_none()
            && object.min_length.is_none()
            && object.max_length.is_none()
            && pattern.is_none()
            && object.format.is_none()
            && object.minimum.is_none()
            && object.maximum.is_none()
            && object.exclusive_minimum.is_none()
            && object.exclusive_maximum.is_none()
            && object.multiple_of.is_none()
            && object.min_items.is_none()
            && object.max_items.is_none()
            && !object.unique_items
            && items.is_none()
            && properties.is_empty()
            && matches!(additional, Additional::Allowed)
            && object.min_properties.is_none()
            && object.max_properties.is_none()
            && object.enum_values.is_none()
            && object.const_value.is_none();
        if trivial {
            return Ok(Node::Any);
        }

        let mut kinds: KindSet = 0;
        for (kind, allowed) in [
            (Kind::String, allows(types, InstanceType::String)),
            (
                Kind::Number,
                allows(types, InstanceType::Number) || allows(types, InstanceType::Integer),
            ),
            (Kind::Bool, allows(types, InstanceType::Boolean)),
            (Kind::Null, allows(types, InstanceType::Null)),
            (Kind::Array, allows(types, InstanceType::Array)),
            (Kind::Object, allows(types, InstanceType::Object)),
        ] {
            if allowed {
                kinds |= kind_bit(kind);
            }
        }

        let bounds: Vec<Bound> = [
            object.minimum.as_ref().map(|n| Bound::Minimum(number(n))),
            object.maximum.as_ref().map(|n| Bound::Maximum(number(n))),
            object
                .exclusive_minimum
                .as_ref()
                .map(|n| Bound::ExclusiveMinimum(number(n))),
            object
                .exclusive_maximum
                .as_ref()
                .map(|n| Bound::ExclusiveMaximum(number(n))),
            object
                .multiple_of
                .as_ref()
                .map(|n| Bound::MultipleOf(number(n))),
        ]
        .into_iter()
        .flatten()
        .collect();

        let index = (properties.len() > SCANNED_PROPERTIES).then(|| {
            let mut index = HashMap::with_capacity(properties.len());
            for (position, property) in properties.iter().enumerate() {
                index.entry(property.name.clone()).or_insert(position);
            }
            index
        });
        let items = match items {
            Some(items) => items,
            None => self.push(Node::Any),
        };

        let one_of = if inline_enum { string_enum } else { None };
        let equal_to: Option<Box<str>> = if inline_const {
            object
                .const_value
                .as_ref()
                .and_then(Value::as_str)
                .map(Box::from)
        } else {
            None
        };
        let string = Strings {
            any: object.min_length.is_some()
                || object.max_length.is_some()
                || pattern.is_some()
                || object.format.is_some()
                || one_of.is_some()
                || equal_to.is_some(),
            min_length: object.min_length.map(count),
            max_length: object.max_length.map(count),
            pattern,
            format: object.format.map(format),
            one_of,
            equal_to,
        };

        let whole = Whole {
            enum_values: if inline_enum {
                None
            } else {
                object.enum_values.clone().map(Vec::into_boxed_slice)
            },
            const_value: if inline_const {
                None
            } else {
                object.const_value.clone()
            },
        };
        let whole =
            (whole.enum_values.is_some() || whole.const_value.is_some()).then(|| Box::new(whole));

        Ok(Node::Checks(Box::new(Checks {
            kinds,
            expected: types.map(describe_types).unwrap_or_default().into(),
            string,
            number: Numbers {
                integer_only: !allows(types, InstanceType::Number),
                bounds: bounds.into(),
            },
            array: Arrays {
                items,
                min_items: object.min_items.map(count),
                max_items: object.max_items.map(count),
                unique_items: object.unique_items,
            },
            object: Objects {
                properties: properties.into(),
                required,
                additional,
                min_properties: object.min_properties.map(count),
                max_properties: object.max_properties.map(count),
                index,
            },
            whole,
        })))
    }
}
