//! The compiled form of a schema: an arena of nodes addressed by index.
//!
//! A [`Program`] is what [`Program::compile`](crate::Program::compile) makes of one schema, and
//! what [`run`](crate::run) interprets. Every schema position is one [`Node`] in
//! `Program::nodes`; a node refers to the nodes of its children (`items`, each property,
//! `additionalProperties`) by [`NodeId`], never by pointer. The checks of a position are grouped
//! by the JSON kind they apply to, so the interpreter reads the kind of the next value once and
//! runs only that kind's checks, in the order generated code runs them.
//!
//! Why an arena: the schema subset of a later version adds references (`$ref`, `$defs`,
//! `$anchor`), which may be recursive, and applicators (`allOf`, `anyOf`, `oneOf`, `not`,
//! `if`/`then`/`else`, `dependentSchemas`, `prefixItems`, `contains`, `patternProperties`,
//! `propertyNames`) over sub-schemas. In an arena a reference is just the index of its target
//! (a cycle is an index to an ancestor, compiled once), and an applicator is one more kind of
//! node (or one more list in [`Checks`]) over the indices of its sub-programs. The readers of
//! objects and arrays keep the set of properties and items they evaluated (`seen` in the object
//! reader), which is where `unevaluatedProperties`/`unevaluatedItems` annotations will come
//! from.

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
    /// `pattern`
    pub(crate) pattern: Option<Regex>,
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
    /// `items` (a node that allows anything when absent).
    pub(crate) items: NodeId,
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
    /// `properties` in schema order, then the `required` names no property declares.
    pub(crate) properties: Box<[Property]>,
    /// The indices (into `properties`) of the required ones, in property order.
    pub(crate) required: Box<[usize]>,
    /// `additionalProperties`
    pub(crate) additional: Additional,
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
}

/// What `additionalProperties` says about keys no property declares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Additional {
    /// Any key, any value.
    Allowed,
    /// No other key.
    Denied,
    /// Other keys' values must match this node.
    Schema(NodeId),
}
