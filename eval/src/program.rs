//! The compiled form of a schema: an arena of nodes addressed by index.
//!
//! A [`Program`] is what [`Program::compile`](crate::Program::compile) makes of one schema, and
//! what [`run`](crate::run) interprets. Every schema position is one [`Node`] in
//! `Program::nodes`; a node refers to the nodes of its children (`items`, each property,
//! `additionalProperties`) by [`NodeId`], never by pointer. The checks of a position are grouped
//! by the JSON kind they apply to, so the interpreter reads the kind of the next value once and
//! runs only that kind's checks, in the order generated code runs them.
//!
//! Why an arena: references (`$ref`, `$defs`, `$anchor`) may be recursive, and applicators
//! (`allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `dependentSchemas`, `prefixItems`,
//! `contains`, `patternProperties`, `propertyNames`, `unevaluated*`) run sub-schemas. In an
//! arena a reference is just the index of its target (a definition is compiled once; a
//! reference back to one still being compiled goes through a [`Node::Ref`]), and an
//! applicator is a list of indices in [`Applicators`], run over a fork of the reader as the
//! generated code runs them.

use std::collections::HashMap;

use ingest_runtime::format::Format;
use ingest_runtime::number::Num;
use regex::Regex;
use serde_json::Value;

/// One schema, compiled: what the evaluator runs (see the module documentation).
///
/// Build it with [`Program::compile`]; run it with [`Program::is_valid`] (the fast path),
/// [`Program::violations`] (the report) or [`Program::validate_json`] (on a reader, with a
/// checker of either mode). It is a [`DataValidator`](ingest_runtime::DataValidator), so it can
/// sit in a [`Registry`](ingest_runtime::Registry).
#[derive(Debug)]
pub struct Program {
    /// Every node; children refer to each other by index.
    pub(crate) nodes: Vec<Node>,
    /// Where evaluation starts.
    pub(crate) root: NodeId,
}

impl Program {
    /// How many nodes the program has (one per schema position, plus one per nullable nested
    /// object).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

/// The index of a node in its program's arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NodeId(pub(crate) u32);

impl NodeId {
    #[inline(always)]
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// One schema position.
#[derive(Debug)]
pub(crate) enum Node {
    /// Any value (the `true` schema, or a schema with no assertion): read and discard it.
    Any,
    /// No value (the `false` schema).
    Never,
    /// `null`, or else what the inner node checks: a nested object whose `type` is
    /// `[object, "null"]`, checked as the generated code checks an `Option` of a struct
    /// (the inner node allows objects only, so its type message names objects only).
    NullOr(NodeId),
    /// The assertions of a schema object.
    Checks(Box<Checks>),
    /// The node of a definition that was still being compiled where it was referenced (a
    /// recursive schema).
    Ref(NodeId),
}

/// Bits of the JSON kinds a node allows, indexed by `ingest_runtime::json::Kind as u8`.
pub(crate) type KindSet = u8;

/// The assertions of one schema object, grouped by the kind of value they apply to.
#[derive(Debug)]
pub(crate) struct Checks {
    /// The kinds `type` allows (`number` and `integer` are both the number kind).
    pub(crate) kinds: KindSet,
    /// What `type` allows, in words, for the message of a wrong type ("a string or null").
    pub(crate) expected: Box<str>,
    /// Checks of a string.
    pub(crate) string: Strings,
    /// Checks of a number.
    pub(crate) number: Numbers,
    /// Checks of an array.
    pub(crate) array: Arrays,
    /// Checks of an object.
    pub(crate) object: Objects,
    /// Checks of the whole value, once it is read; `None` for most positions.
    pub(crate) whole: Option<Box<Whole>>,
    /// Applicators over the same value; `None` for most positions.
    pub(crate) applicators: Option<Box<Applicators>>,
}

/// The subschemas a position applies to the value itself, and `unevaluated*`.
#[derive(Debug)]
pub(crate) struct Applicators {
    /// `allOf` (a `$ref` beside other keywords first).
    pub(crate) all_of: Box<[NodeId]>,
    /// `anyOf`
    pub(crate) any_of: Box<[NodeId]>,
    /// `oneOf`
    pub(crate) one_of: Box<[NodeId]>,
    /// The tag of the union (of `oneOf`, or of `anyOf` without `oneOf`), for a position that
    /// is a union enum whose branches a property tells apart.
    pub(crate) tag: Option<Tag>,
    /// `not`
    pub(crate) not: Option<NodeId>,
    /// `if`, `then`, `else`.
    pub(crate) condition: Option<(NodeId, Option<NodeId>, Option<NodeId>)>,
    /// `dependentSchemas`, in the order of the object's `dependent_triggers`.
    pub(crate) dependent_schemas: Box<[NodeId]>,
    /// `unevaluatedProperties`, when `additionalProperties` leaves something to it.
    pub(crate) unevaluated_properties: Option<Rest>,
    /// `unevaluatedItems`, when `items` leaves something to it.
    pub(crate) unevaluated_items: Option<Rest>,
}

impl Applicators {
    /// Whether the outcome of each branch is kept, for the annotations of `unevaluated*`.
    pub(crate) fn records(&self) -> bool {
        self.unevaluated_properties.is_some() || self.unevaluated_items.is_some()
    }
}

/// A union's tag property and its value per branch.
#[derive(Debug)]
pub(crate) struct Tag {
    pub(crate) property: Box<str>,
    pub(crate) values: Box<[Box<str>]>,
}

/// What `unevaluatedProperties` / `unevaluatedItems` does with what no keyword evaluated.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rest {
    /// `false`
    Denied,
    /// A schema.
    Schema(NodeId),
}

/// The checks that need a value read to its end, re-read from its span in the input. This is
/// where applicators over the same value (`allOf`, `anyOf`, `oneOf`, `not`, `if`) will go: each
/// runs a sub-program over a reader of the span.
#[derive(Debug)]
pub(crate) struct Whole {
    /// `enum` over values that are not all strings (or at a position that admits more than
    /// strings).
    pub(crate) enum_values: Option<Box<[Value]>>,
    /// `const` likewise.
    pub(crate) const_value: Option<Value>,
}

/// The checks of a string, in the order they run.
#[derive(Debug, Default)]
pub(crate) struct Strings {
    /// Whether any of the checks below is present (most strings have none).
    pub(crate) any: bool,
    /// `minLength`
    pub(crate) min_length: Option<usize>,
    /// `maxLength`
    pub(crate) max_length: Option<usize>,
    /// `pattern`, compiled, and as written (for messages).
    pub(crate) pattern: Option<(Regex, Box<str>)>,
    /// `format`
    pub(crate) format: Option<Format>,
    /// `enum` when the position admits strings only and every value is one: compared as text.
    pub(crate) one_of: Option<Box<[Box<str>]>>,
    /// `const` when the position admits strings only and the value is one.
    pub(crate) equal_to: Option<Box<str>>,
}

/// The checks of a number, in the order they run.
#[derive(Debug, Default)]
pub(crate) struct Numbers {
    /// `type` allows integers but not numbers: `1.5` fails, `1.0` passes.
    pub(crate) integer_only: bool,
    /// `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, in that
    /// order, those present.
    pub(crate) bounds: Box<[Bound]>,
}

/// A numeric keyword and its operand.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bound {
    Minimum(Num),
    Maximum(Num),
    ExclusiveMinimum(Num),
    ExclusiveMaximum(Num),
    MultipleOf(Num),
}

/// The checks of an array.
#[derive(Debug)]
pub(crate) struct Arrays {
    /// `prefixItems`
    pub(crate) prefix: Box<[NodeId]>,
    /// `items`, after the prefix (a node that allows anything when absent).
    pub(crate) items: NodeId,
    /// Whether `items` is present (it evaluates every item after the prefix).
    pub(crate) has_items: bool,
    /// Whether `unevaluatedItems` is present (it evaluates every item).
    pub(crate) has_unevaluated: bool,
    /// `contains`, `minContains` (and whether it was given), `maxContains`.
    pub(crate) contains: Option<(NodeId, usize, bool, Option<usize>)>,
    /// `minItems`
    pub(crate) min_items: Option<usize>,
    /// `maxItems`
    pub(crate) max_items: Option<usize>,
    /// `uniqueItems`
    pub(crate) unique_items: bool,
}

/// The checks of an object.
#[derive(Debug)]
pub(crate) struct Objects {
    /// `properties` in schema order.
    pub(crate) properties: Box<[Property]>,
    /// The indices (into `properties`) of the required ones, in property order.
    pub(crate) required: Box<[usize]>,
    /// The names the reader notices beyond the properties (required names that no property
    /// declares, and the names of `dependentRequired` and `dependentSchemas`).
    pub(crate) noted: Box<[Box<str>]>,
    /// The required names no property declares, as where to find them (in `noted`).
    pub(crate) required_noted: Box<[(Box<str>, Presence)]>,
    /// `patternProperties`, in order.
    pub(crate) patterns: Box<[(Regex, NodeId)]>,
    /// `additionalProperties`
    pub(crate) additional: Additional,
    /// `propertyNames`
    pub(crate) property_names: Option<NodeId>,
    /// `dependentRequired`: the trigger, and the names it requires.
    pub(crate) dependent_required: Box<[DependentRequired]>,
    /// Where each `dependentSchemas` trigger is found.
    pub(crate) dependent_triggers: Box<[Presence]>,
    /// Whether `unevaluatedProperties` is present (it evaluates every property).
    pub(crate) has_unevaluated: bool,
    /// `minProperties`
    pub(crate) min_properties: Option<usize>,
    /// `maxProperties`
    pub(crate) max_properties: Option<usize>,
    /// Property names to indices, for objects with many properties (few are scanned).
    pub(crate) index: Option<HashMap<Box<str>, usize>>,
}

/// Objects with more declared properties than this look keys up in a hash map.
pub(crate) const SCANNED_PROPERTIES: usize = 16;

impl Objects {
    /// The index of the property named `key`. `hint` is where the previous key's property
    /// was, plus one: producers usually write keys in schema order, so the first comparison
    /// mostly hits.
    #[inline]
    pub(crate) fn find(&self, key: &str, hint: usize) -> Option<usize> {
        if let Some(property) = self.properties.get(hint)
            && same_key(&property.name, key)
        {
            return Some(hint);
        }
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.properties.iter().position(|p| same_key(&p.name, key)),
        }
    }
}

/// Whether two keys are equal, compared in place: keys are short, and the call to `memcmp`
/// that `==` makes costs more than the comparison (generated code compares against constants,
/// which the compiler inlines). Up to 16 bytes, two overlapping loads of the first and the
/// last bytes cover the key.
#[inline(always)]
fn same_key(name: &str, key: &str) -> bool {
    let (a, b) = (name.as_bytes(), key.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => {
            let head = |s: &[u8]| s.first_chunk::<8>().map(|c| u64::from_le_bytes(*c));
            let tail = |s: &[u8]| s.last_chunk::<8>().map(|c| u64::from_le_bytes(*c));
            head(a) == head(b) && tail(a) == tail(b)
        }
        4..=7 => {
            let head = |s: &[u8]| s.first_chunk::<4>().map(|c| u32::from_le_bytes(*c));
            let tail = |s: &[u8]| s.last_chunk::<4>().map(|c| u32::from_le_bytes(*c));
            head(a) == head(b) && tail(a) == tail(b)
        }
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

/// A declared property.
#[derive(Debug)]
pub(crate) struct Property {
    /// The key.
    pub(crate) name: Box<str>,
    /// Its schema.
    pub(crate) node: NodeId,
    /// The `patternProperties` whose pattern matches the name (known when compiling).
    pub(crate) patterns: Box<[NodeId]>,
}

/// Where the reader records whether a name is present.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Presence {
    /// A declared property (its index).
    Declared(usize),
    /// A noted name (its index in `Objects::noted`).
    Noted(usize),
}

/// One entry of `dependentRequired`.
#[derive(Debug)]
pub(crate) struct DependentRequired {
    pub(crate) trigger: Box<str>,
    pub(crate) at: Presence,
    pub(crate) names: Box<[(Box<str>, Presence)]>,
}

/// What `additionalProperties` says about keys no property declares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Additional {
    /// Absent: any key, any value, unevaluated.
    Absent,
    /// No other key.
    Denied,
    /// Other keys' values must match this node.
    Schema(NodeId),
}
