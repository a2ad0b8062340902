//! From a schema (`ingest_codegen::schema::Document`) to a [`Program`].
//!
//! The program must check exactly what the generated code checks, with the same messages. The
//! generated code is not made from the schema directly: `ingest_codegen::types` writes Rust
//! types with `#[event(...)]` attributes, and `#[derive(Event)]` builds its validator model back
//! from them (`ingest_codegen::validator::Node`). That round trip keeps every assertion, and
//! changes a few things that show in verdicts, messages or the order of work; this compiler
//! applies the same, through the same predicates of `ingest_codegen::types`:
//!
//! - A position that becomes a struct ([`needs_struct`]) without `type` is declared with every
//!   type ([`ALL_TYPES`]); held by a struct field, an array or a map (not the root, a
//!   definition or an applicator's branch, which are types of their own) and typed exactly
//!   `[object, "null"]`, it is an `Option` of a struct that allows objects only: [`Node::NullOr`]
//!   over a node that allows objects, so a wrong type is "expected an object", not "expected
//!   null or an object".
//! - A position that becomes a string enum ([`is_string_enum`]) allows strings only, even when
//!   its schema has no `type`: a number there is a `type` violation, not an `enum` one.
//! - A position that becomes a union enum ([`is_union`]) whose branches a property tells apart
//!   ([`discriminator`]) reads that property and checks only the branch it selects.
//! - A `$ref` beside other keywords is the first branch of `allOf`; a `$ref` alone is its
//!   target, compiled once.
//! - Numbers pass through Rust literals: integers stay integers, and `-0.0` becomes `0.0`.
//!
//! Everything else maps one to one: a keyword to its check, in the order of
//! `ingest_codegen::validator::expand`. The differential tests (`tests/tests/eval.rs`) hold the
//! two to identical verdicts and violation lists.

use std::collections::{BTreeSet, HashMap};

use ingest_codegen::keywords::rust_regex;
use ingest_codegen::schema::{Document, InstanceType, Schema, SchemaObject, is_bare_reference};
use ingest_codegen::types::{ALL_TYPES, discriminator, is_string_enum, is_union, needs_struct};
use ingest_codegen::validator::describe_types;
use ingest_runtime::json::Kind;
use ingest_runtime::number::Num;
use regex::Regex;
use serde_json::{Number, Value};

use crate::program::{
    Additional, Applicators, Arrays, Bound, Checks, DependentRequired, KindSet, Node, NodeId,
    Numbers, Objects, Presence, Program, Property, Rest, SCANNED_PROPERTIES, Strings, Tag, Whole,
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
    /// violations. Compiling is a single walk over the schema and each definition its
    /// references reach, plus one regular expression compilation per pattern.
    pub fn compile(document: &Document) -> Result<Program, CompileError> {
        let mut compiler = Compiler {
            document,
            nodes: Vec::new(),
            path: Vec::new(),
            definitions: HashMap::new(),
            root: None,
        };
        let reserved = compiler.push(Node::Any);
        compiler.root = Some(Slot::Compiling(reserved));
        let root = compiler.position(&document.root, false)?;
        compiler.finish(reserved, root);
        Ok(Program {
            nodes: compiler.nodes,
            root,
        })
    }
}

/// A definition's node: reserved while it compiles (a reference back to it goes through
/// [`Node::Ref`]), then the compiled node itself.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Compiling(NodeId),
    Done(NodeId),
}

struct Compiler<'d> {
    document: &'d Document,
    nodes: Vec<Node>,
    /// The schema path of the position being compiled, for errors.
    path: Vec<String>,
    definitions: HashMap<usize, Slot>,
    /// The document's root, which `$ref: "#"` reaches.
    root: Option<Slot>,
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

impl Compiler<'_> {
    fn push(&mut self, node: Node) -> NodeId {
        let id = u32::try_from(self.nodes.len()).expect("fewer than 4 billion schema positions");
        self.nodes.push(node);
        NodeId(id)
    }

    /// A reserved slot's final content: a jump to the compiled node, for the references that
    /// reached it while it compiled.
    fn finish(&mut self, reserved: NodeId, compiled: NodeId) {
        self.nodes[reserved.index()] = Node::Ref(compiled);
    }

    /// Whether a node is `true` (no check), as opposed to the slot reserved for a definition
    /// still compiling (a recursive reference), which is [`Node::Any`] only until it is done.
    fn allows_anything(&self, id: NodeId) -> bool {
        let reserved = |slot: &Slot| matches!(slot, Slot::Compiling(r) if *r == id);
        matches!(self.nodes[id.index()], Node::Any)
            && !self.root.as_ref().is_some_and(reserved)
            && !self.definitions.values().any(reserved)
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

    fn regex(&self, pattern: &str, last: &str) -> Result<Regex, CompileError> {
        Regex::new(&rust_regex(pattern)).map_err(|error| CompileError {
            pointer: self.pointer(last),
            message: error.to_string(),
        })
    }

    /// The node of a definition a `$ref` reaches, compiled once (as a type of its own: not
    /// nested).
    fn definition(&mut self, target: usize) -> Result<NodeId, CompileError> {
        let definition = &self.document.definitions[target];
        let known = if definition.is_document_root() {
            self.root
        } else {
            self.definitions.get(&target).copied()
        };
        match known {
            Some(Slot::Compiling(reserved)) => return Ok(reserved),
            Some(Slot::Done(id)) => return Ok(id),
            None => {}
        }
        let reserved = self.push(Node::Any);
        self.definitions.insert(target, Slot::Compiling(reserved));
        let saved = std::mem::take(&mut self.path);
        self.path = definition
            .pointer
            .split('/')
            .skip(1)
            .map(str::to_owned)
            .collect();
        let compiled = self.position(&definition.schema, false);
        self.path = saved;
        let compiled = compiled?;
        self.finish(reserved, compiled);
        self.definitions.insert(target, Slot::Done(compiled));
        Ok(compiled)
    }

    /// The node of one schema position. `nested` is true for what a struct field, an array or
    /// a map holds; false for the root, a definition and an applicator's branch.
    fn position(&mut self, schema: &Schema, nested: bool) -> Result<NodeId, CompileError> {
        let object = match schema {
            Schema::Bool(true) => return Ok(self.push(Node::Any)),
            Schema::Bool(false) => return Ok(self.push(Node::Never)),
            Schema::Object(object) => object,
        };
        if is_bare_reference(object)
            && let Some(reference) = &object.reference
        {
            return self.definition(reference.target);
        }
        let null_or_object: BTreeSet<InstanceType> =
            [InstanceType::Null, InstanceType::Object].into();
        let (types, null_or) = if is_union(object) {
            (object.types.clone(), false)
        } else if needs_struct(object) {
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

    /// A subschema that an attribute names by a type: an applicator's branch, a pattern's
    /// schema, `contains`, `propertyNames`, `unevaluated*`.
    fn branch(&mut self, schema: &Schema, segments: &[&str]) -> Result<NodeId, CompileError> {
        self.nested(segments, |c| c.position(schema, false))
    }

    fn branches(&mut self, schemas: &[Schema], key: &str) -> Result<Box<[NodeId]>, CompileError> {
        schemas
            .iter()
            .enumerate()
            .map(|(i, s)| self.branch(s, &[key, &i.to_string()]))
            .collect()
    }

    fn rest(&mut self, schema: &Schema, key: &str) -> Result<Rest, CompileError> {
        Ok(match schema {
            Schema::Bool(false) => Rest::Denied,
            other => Rest::Schema(self.branch(other, &[key])?),
        })
    }

    /// The node of a schema object whose `type` (as the generated code sees it) is `types`.
    fn checks(
        &mut self,
        object: &SchemaObject,
        types: Option<BTreeSet<InstanceType>>,
    ) -> Result<Node, CompileError> {
        let types = types.as_ref();
        let prefix = self.branches(&object.prefix_items, "prefixItems")?;
        let items = match &object.items {
            Some(items) => Some(self.nested(&["items"], |c| c.position(items, true))?),
            None => None,
        };
        // An `items` that allows anything is no check (the derive leaves it out), but it
        // still evaluates every item for `unevaluatedItems`.
        let has_items = items.is_some();
        let items = items.filter(|id| !self.allows_anything(*id));
        let contains = match &object.contains {
            Some(schema) => Some((
                self.branch(schema, &["contains"])?,
                object.min_contains.map_or(1, count),
                object.min_contains.is_some(),
                object.max_contains.map(count),
            )),
            None => None,
        };

        let mut patterns: Vec<(Regex, NodeId)> = Vec::new();
        for (pattern, schema) in &object.pattern_properties {
            let regex = self.nested(&["patternProperties"], |c| c.regex(pattern, pattern))?;
            let node = self.branch(schema, &["patternProperties", pattern])?;
            patterns.push((regex, node));
        }
        let mut properties: Vec<Property> = Vec::with_capacity(object.properties.len());
        for (name, schema) in &object.properties {
            let node = self.nested(&["properties", name], |c| c.position(schema, true))?;
            let matching = patterns
                .iter()
                .filter(|(regex, _)| regex.is_match(name))
                .map(|(_, node)| *node)
                .collect();
            properties.push(Property {
                name: name.as_str().into(),
                node,
                patterns: matching,
            });
        }
        let required: Box<[usize]> = properties
            .iter()
            .enumerate()
            .filter(|(_, p)| object.required.iter().any(|r| *r == *p.name))
            .map(|(index, _)| index)
            .collect();
        // The names to notice beyond the properties, in the order the generated code lists
        // them (`ingest_codegen::validator::Node::noted_names`).
        let mut noted: Vec<Box<str>> = Vec::new();
        let undeclared: Vec<&String> = object
            .required
            .iter()
            .filter(|name| object.property(name).is_none())
            .collect();
        let mentioned = undeclared
            .iter()
            .copied()
            .chain(
                object
                    .dependent_required
                    .iter()
                    .flat_map(|(trigger, names)| std::iter::once(trigger).chain(names)),
            )
            .chain(object.dependent_schemas.iter().map(|(trigger, _)| trigger));
        for name in mentioned {
            if object.property(name).is_none() && !noted.iter().any(|n| **n == **name) {
                noted.push(name.as_str().into());
            }
        }
        let presence = |name: &str| match properties.iter().position(|p| *p.name == *name) {
            Some(i) => Presence::Declared(i),
            None => Presence::Noted(noted.iter().position(|n| **n == *name).unwrap_or(0)),
        };
        let required_noted: Box<[(Box<str>, Presence)]> = undeclared
            .iter()
            .map(|name| (name.as_str().into(), presence(name)))
            .collect();
        let dependent_required: Box<[DependentRequired]> = object
            .dependent_required
            .iter()
            .map(|(trigger, names)| DependentRequired {
                trigger: trigger.as_str().into(),
                at: presence(trigger),
                names: names
                    .iter()
                    .map(|n| (n.as_str().into(), presence(n)))
                    .collect(),
            })
            .collect();
        let dependent_triggers: Box<[Presence]> = object
            .dependent_schemas
            .iter()
            .map(|(trigger, _)| presence(trigger))
            .collect();
        let additional = match &object.additional_properties {
            None => Additional::Absent,
            Some(Schema::Bool(false)) => Additional::Denied,
            Some(schema) => Additional::Schema(
                self.nested(&["additionalProperties"], |c| c.position(schema, true))?,
            ),
        };
        let property_names = match &object.property_names {
            Some(schema) => Some(self.branch(schema, &["propertyNames"])?),
            None => None,
        };

        // The applicators, compiled in the order the generated code names their types.
        let mut all_of: Vec<NodeId> = Vec::new();
        if let Some(reference) = &object.reference {
            all_of.push(self.definition(reference.target)?);
        }
        all_of.extend(self.branches(&object.all_of, "allOf")?.iter());
        let any_of = self.branches(&object.any_of, "anyOf")?;
        let one_of = self.branches(&object.one_of, "oneOf")?;
        let not = match &object.not {
            Some(schema) => Some(self.branch(schema, &["not"])?),
            None => None,
        };
        let condition = match &object.if_schema {
            Some(test) => {
                let test = self.branch(test, &["if"])?;
                let then = match &object.then_schema {
                    Some(s) => Some(self.branch(s, &["then"])?),
                    None => None,
                };
                let otherwise = match &object.else_schema {
                    Some(s) => Some(self.branch(s, &["else"])?),
                    None => None,
                };
                Some((test, then, otherwise))
            }
            None => None,
        };
        let dependent_schemas: Box<[NodeId]> = object
            .dependent_schemas
            .iter()
            .map(|(name, s)| self.branch(s, &["dependentSchemas", name]))
            .collect::<Result<_, _>>()?;
        let unevaluated_properties = match &object.unevaluated_properties {
            Some(schema) => Some(self.rest(schema, "unevaluatedProperties")?)
                .filter(|_| matches!(additional, Additional::Absent)),
            None => None,
        };
        let unevaluated_items = match &object.unevaluated_items {
            Some(schema) => Some(self.rest(schema, "unevaluatedItems")?).filter(|_| !has_items),
            None => None,
        };
        let tag = if is_union(object) {
            let branches = if object.one_of.is_empty() {
                &object.any_of
            } else {
                &object.one_of
            };
            discriminator(self.document, branches).map(|tag| Tag {
                property: tag.property.into(),
                values: tag.values.into_iter().map(Box::from).collect(),
            })
        } else {
            None
        };
        let applicators = Applicators {
            all_of: all_of.into(),
            any_of,
            one_of,
            tag,
            not,
            condition,
            dependent_schemas,
            unevaluated_properties,
            unevaluated_items,
        };
        let in_place = !applicators.all_of.is_empty()
            || !applicators.any_of.is_empty()
            || !applicators.one_of.is_empty()
            || applicators.not.is_some()
            || applicators.condition.is_some()
            || !applicators.dependent_schemas.is_empty();
        let applicators = (in_place || applicators.records()).then(|| Box::new(applicators));

        let pattern = match &object.pattern {
            Some(pattern) => Some(self.regex(pattern, "pattern")?),
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
            && prefix.is_empty()
            && items.is_none()
            && contains.is_none()
            && object.min_items.is_none()
            && object.max_items.is_none()
            && !object.unique_items
            && properties.is_empty()
            && required_noted.is_empty()
            && patterns.is_empty()
            && matches!(additional, Additional::Absent)
            && property_names.is_none()
            && dependent_required.is_empty()
            && object.min_properties.is_none()
            && object.max_properties.is_none()
            && object.enum_values.is_none()
            && object.const_value.is_none()
            && applicators.is_none();
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

        let one_of_strings = if inline_enum { string_enum } else { None };
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
                || one_of_strings.is_some()
                || equal_to.is_some(),
            min_length: object.min_length.map(count),
            max_length: object.max_length.map(count),
            pattern: pattern
                .map(|regex| (regex, object.pattern.clone().unwrap_or_default().into())),
            format: object.format,
            one_of: one_of_strings,
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
                prefix,
                items,
                has_items,
                has_unevaluated: object.unevaluated_items.is_some(),
                contains,
                min_items: object.min_items.map(count),
                max_items: object.max_items.map(count),
                unique_items: object.unique_items,
            },
            object: Objects {
                properties: properties.into(),
                required,
                noted: noted.into(),
                required_noted,
                patterns: patterns.into(),
                additional,
                property_names,
                dependent_required,
                dependent_triggers,
                has_unevaluated: object.unevaluated_properties.is_some(),
                min_properties: object.min_properties.map(count),
                max_properties: object.max_properties.map(count),
                index,
            },
            whole,
            applicators,
        })))
    }
}
