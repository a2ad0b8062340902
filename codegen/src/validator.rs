//! The validator model and its expansion into Rust: what `#[derive(Event)]` emits.
//!
//! A [`Node`] holds every assertion and applicator of the vocabulary for one position in a JSON
//! document. Its children are either inline nodes or other Rust types that implement
//! `ingest_runtime::Event` (a nested struct, a union's branch, a `$defs` type with its own
//! derive). The derive builds the model from a type's attributes; [`expand`] turns it into one
//! `impl Event`, whose code reads the JSON once with `ingest_runtime::json::Parser` and checks
//! each keyword as soon as its value is read: a property's value is checked before the next key
//! is read, a string's format before the next token. Nothing is materialized except where a
//! keyword needs whole values (`enum` and `const` over non-strings, `uniqueItems`), and then
//! only that value.
//!
//! Applicators that apply more schemas to the same value (`allOf`, `anyOf`, `oneOf`, `not`,
//! `if`/`then`/`else`, `dependentSchemas`, `unevaluatedProperties`, `unevaluatedItems`) read it
//! again: the node takes a fork of the reader (`Parser::fork`, a copy of its position) before
//! reading the value, reads the value once for its own keywords (which also proves it
//! well-formed), then runs each subschema over a fresh fork, in this order:
//!
//! 1. `allOf` (a `$ref` beside other keywords is its first branch), each branch reporting its
//!    violations in place;
//! 2. `anyOf` and `oneOf`, each branch with a checker of its own ([`Checker::branch`]); when no
//!    branch matches, the report names the closest branch (the rule is stated on
//!    `ingest_runtime::Checker::no_branch_matched`) and adds its violations. A union whose
//!    branches are objects told apart by a `const` property (a [`Tag`]) reads that property and
//!    runs only the branch it selects, which is the same verdict (no other branch can match)
//!    for a fraction of the work;
//! 3. `not`, `if` (verdicts only), then `then` or `else` in place;
//! 4. `dependentSchemas` whose property is present, in place;
//! 5. `unevaluatedProperties` / `unevaluatedItems`: the properties (items) that no keyword
//!    evaluated, where the evaluated ones are this node's own (`properties`, `patternProperties`,
//!    `additionalProperties`; `prefixItems`, `items`, `contains`) and those of every in-place
//!    subschema that passed, which each type reports through `Event::annotate`.
//!
//! Most of those second reads are avoided on the fast path. A node's own pass over an object
//! records each key and where its value starts (`ingest_runtime::Members`); a subschema whose
//! only object keywords are `properties`, `required`, `dependentRequired` and the property
//! counts ([`Node::decided_by_members`]) is decided from that index, reading only the members
//! it checks (`Event::matches_members`), and so are a union's tag and the members left to
//! `unevaluatedProperties`. `contains` beside an `items` type is decided from the index the
//! item's validator fills in the same pass (`Event::validate_indexed`). The report path
//! applies subschemas in place as above (for their violations); an object the index cannot
//! hold (more than 16 keys, an escaped key) is read again.
//!
//! Every check goes through `ingest_runtime::Checker`, which either stops at the first
//! violation (the fast path) or records it with its pointer (the report): one generated body,
//! two behaviours, so the two paths agree on every input by construction.
//!
//! [`Checker::branch`]: https://docs.rs/ingest-runtime

use std::collections::BTreeSet;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::{Number, Value};

use crate::schema::{Format, InstanceType};

/// The assertions at one position of a JSON document. `Node::default()` accepts any value.
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// Allowed JSON types; `None` allows every type. `number` admits integers.
    pub types: Option<BTreeSet<InstanceType>>,
    /// The `false` schema: no value is allowed.
    pub never: bool,
    /// `minLength`
    pub min_length: Option<u64>,
    /// `maxLength`
    pub max_length: Option<u64>,
    /// `pattern`
    pub pattern: Option<String>,
    /// `format`
    pub format: Option<Format>,
    /// `minimum`
    pub minimum: Option<Number>,
    /// `maximum`
    pub maximum: Option<Number>,
    /// `exclusiveMinimum`
    pub exclusive_minimum: Option<Number>,
    /// `exclusiveMaximum`
    pub exclusive_maximum: Option<Number>,
    /// `multipleOf`
    pub multiple_of: Option<Number>,
    /// `prefixItems`: the schemas of the first items, in order.
    pub prefix_items: Vec<Child>,
    /// `items`: the schema of the items after `prefixItems`; `None` allows any.
    pub items: Option<Child>,
    /// `contains`
    pub contains: Option<Child>,
    /// `minContains` (with `contains`; 1 when absent)
    pub min_contains: Option<u64>,
    /// `maxContains` (with `contains`)
    pub max_contains: Option<u64>,
    /// `minItems`
    pub min_items: Option<u64>,
    /// `maxItems`
    pub max_items: Option<u64>,
    /// `uniqueItems`
    pub unique_items: bool,
    /// `unevaluatedItems`
    pub unevaluated_items: Option<Unevaluated>,
    /// `properties` with `required` folded in.
    pub properties: Vec<Property>,
    /// The names in `required` that no property declares: they must be present, and their
    /// values are checked like any other undeclared key's (`patternProperties`,
    /// `additionalProperties`).
    pub required: Vec<String>,
    /// `patternProperties`, in order.
    pub pattern_properties: Vec<(String, Child)>,
    /// `additionalProperties`
    pub additional: Additional,
    /// `propertyNames`
    pub property_names: Option<Child>,
    /// `dependentRequired`
    pub dependent_required: Vec<(String, Vec<String>)>,
    /// `dependentSchemas`
    pub dependent_schemas: Vec<(String, Child)>,
    /// `minProperties`
    pub min_properties: Option<u64>,
    /// `maxProperties`
    pub max_properties: Option<u64>,
    /// `unevaluatedProperties`
    pub unevaluated_properties: Option<Unevaluated>,
    /// `enum`
    pub enum_values: Option<Vec<Value>>,
    /// `const`
    pub const_value: Option<Value>,
    /// `allOf` (and a `$ref` beside other keywords, first).
    pub all_of: Vec<Child>,
    /// `anyOf`
    pub any_of: Vec<Child>,
    /// `oneOf`
    pub one_of: Vec<Child>,
    /// How the branches of the union (`oneOf`, or `anyOf` when there is no `oneOf`) are told
    /// apart, when they are objects selected by a property.
    pub tag: Option<Tag>,
    /// `not`
    pub not: Option<Child>,
    /// `if`, `then`, `else`.
    pub condition: Option<Condition>,
}

/// A declared property.
#[derive(Debug, Clone)]
pub struct Property {
    /// The key in JSON.
    pub name: String,
    /// Whether the key must be present.
    pub required: bool,
    /// The schema of its value.
    pub child: Child,
}

/// What `additionalProperties` says about keys that neither `properties` nor
/// `patternProperties` covers.
#[derive(Debug, Clone, Default)]
pub enum Additional {
    /// The keyword is absent: the keys are allowed, and left unevaluated (for
    /// `unevaluatedProperties`).
    #[default]
    Absent,
    /// No other key (`false`).
    Denied,
    /// Other keys' values must match this schema (`true` is a schema that allows anything),
    /// and count as evaluated.
    Schema(Box<Child>),
}

/// What `unevaluatedProperties` or `unevaluatedItems` says about what no keyword evaluated.
#[derive(Debug, Clone)]
pub enum Unevaluated {
    /// Nothing more is allowed (`false`).
    Denied,
    /// The rest must match this schema.
    Schema(Box<Child>),
}

/// The property that tells the branches of a union apart: each branch is an object whose
/// `property` is required and equal to its entry of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The property (`kind`).
    pub property: String,
    /// Its value for each branch, in branch order (all different).
    pub values: Vec<String>,
}

/// `if`, `then` and `else`.
#[derive(Debug, Clone)]
pub struct Condition {
    /// `if`
    pub test: Child,
    /// `then`
    pub then: Option<Child>,
    /// `else`
    pub otherwise: Option<Child>,
}

/// The schema of a child position.
#[derive(Debug, Clone)]
pub enum Child {
    /// Checked by code generated in place.
    Inline(Box<Node>),
    /// Checked by another type's `ingest_runtime::Event` implementation.
    Type {
        /// The type, as written (`CreatedBy`).
        path: TokenStream,
        /// Whether `null` is allowed instead.
        nullable: bool,
    },
}

impl Node {
    fn allows(&self, t: InstanceType) -> bool {
        match &self.types {
            None => true,
            Some(types) => {
                types.contains(&t)
                    || (t == InstanceType::Integer && types.contains(&InstanceType::Number))
            }
        }
    }

    /// Whether the node accepts every value (no keyword asserts anything).
    pub fn is_trivial(&self) -> bool {
        self.types.is_none()
            && !self.never
            && self.min_length.is_none()
            && self.max_length.is_none()
            && self.pattern.is_none()
            && self.format.is_none()
            && self.minimum.is_none()
            && self.maximum.is_none()
            && self.exclusive_minimum.is_none()
            && self.exclusive_maximum.is_none()
            && self.multiple_of.is_none()
            && self.prefix_items.is_empty()
            && self.items.is_none()
            && self.contains.is_none()
            && self.min_items.is_none()
            && self.max_items.is_none()
            && !self.unique_items
            && self.unevaluated_items.is_none()
            && self.properties.is_empty()
            && self.required.is_empty()
            && self.pattern_properties.is_empty()
            && matches!(self.additional, Additional::Absent)
            && self.property_names.is_none()
            && self.dependent_required.is_empty()
            && self.dependent_schemas.is_empty()
            && self.min_properties.is_none()
            && self.max_properties.is_none()
            && self.unevaluated_properties.is_none()
            && self.enum_values.is_none()
            && self.const_value.is_none()
            && !self.has_in_place()
    }

    /// Whether the node applies subschemas to the value itself.
    pub fn has_in_place(&self) -> bool {
        !self.all_of.is_empty()
            || !self.any_of.is_empty()
            || !self.one_of.is_empty()
            || self.not.is_some()
            || self.condition.is_some()
            || !self.dependent_schemas.is_empty()
    }

    /// Whether the node evaluates properties or items of the value (so a type with this node
    /// reports annotations, see `ingest_runtime::Event::annotate`).
    pub fn annotates(&self) -> bool {
        !self.properties.is_empty()
            || !self.pattern_properties.is_empty()
            || !matches!(self.additional, Additional::Absent)
            || self.unevaluated_properties.is_some()
            || !self.prefix_items.is_empty()
            || self.items.is_some()
            || self.contains.is_some()
            || self.unevaluated_items.is_some()
            || self.has_in_place()
    }

    /// Whether the node's verdict on an object can be decided from an index of its members
    /// (`ingest_runtime::Members`: which keys are present, where their values are), reading
    /// only the members it checks: its only keywords about an object are `properties`,
    /// `required`, `dependentRequired`, `minProperties` and `maxProperties`. (Other kinds of
    /// value are checked by reading them, as before.)
    pub fn decided_by_members(&self) -> bool {
        !self.never
            && self.allows(InstanceType::Object)
            && self.pattern_properties.is_empty()
            && matches!(self.additional, Additional::Absent)
            && self.property_names.is_none()
            && self.dependent_schemas.is_empty()
            && self.unevaluated_properties.is_none()
            && self.enum_values.is_none()
            && self.const_value.is_none()
            && !self.has_in_place()
    }

    /// The names of the properties the node evaluates in any object it matches, when its
    /// annotations are only those (no `patternProperties`, `additionalProperties`,
    /// `unevaluated*`, item keywords or applicators): then an applicator's annotations are
    /// known without reading the value (`Event::EVALUATED_NAMES`).
    fn evaluated_names(&self) -> Option<Vec<&str>> {
        let only_names = self.pattern_properties.is_empty()
            && matches!(self.additional, Additional::Absent)
            && self.unevaluated_properties.is_none()
            && self.prefix_items.is_empty()
            && self.items.is_none()
            && self.contains.is_none()
            && self.unevaluated_items.is_none()
            && !self.has_in_place();
        only_names.then(|| self.properties.iter().map(|p| p.name.as_str()).collect())
    }

    /// The subschemas the node applies in place to the value itself.
    fn in_place_children(&self) -> impl Iterator<Item = &Child> {
        self.all_of
            .iter()
            .chain(&self.any_of)
            .chain(&self.one_of)
            .chain(&self.not)
            .chain(self.condition.iter().flat_map(|condition| {
                std::iter::once(&condition.test)
                    .chain(&condition.then)
                    .chain(&condition.otherwise)
            }))
            .chain(self.dependent_schemas.iter().map(|(_, child)| child))
    }

    /// Whether only strings can pass the type check.
    fn string_only(&self) -> bool {
        self.types
            .as_ref()
            .is_some_and(|t| t.len() == 1 && t.contains(&InstanceType::String))
    }

    /// The union the tag applies to: `oneOf`, or else `anyOf`.
    fn tagged_union(&self) -> Option<(&'static str, &[Child], &Tag)> {
        let tag = self.tag.as_ref()?;
        if !self.one_of.is_empty() {
            Some(("oneOf", &self.one_of, tag))
        } else if !self.any_of.is_empty() {
            Some(("anyOf", &self.any_of, tag))
        } else {
            None
        }
    }

    /// Whether `unevaluatedProperties` has anything left to check: `additionalProperties`
    /// evaluates every property it can see.
    fn checks_unevaluated_properties(&self) -> bool {
        self.unevaluated_properties.is_some() && matches!(self.additional, Additional::Absent)
    }

    /// Whether `unevaluatedItems` has anything left to check: `items` evaluates every item
    /// after `prefixItems`.
    fn checks_unevaluated_items(&self) -> bool {
        self.unevaluated_items.is_some() && self.items.is_none()
    }

    /// The names the object reader must notice beyond the declared properties: required
    /// names no property declares, and the names `dependentRequired` and `dependentSchemas`
    /// mention.
    fn noted_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let mentioned = self
            .required
            .iter()
            .chain(
                self.dependent_required
                    .iter()
                    .flat_map(|(trigger, names)| std::iter::once(trigger).chain(names)),
            )
            .chain(self.dependent_schemas.iter().map(|(trigger, _)| trigger));
        for name in mentioned {
            if !self.properties.iter().any(|p| p.name == *name) && !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }
}

/// "a string, an integer or null": what the `type` keyword allows, for messages.
pub fn describe_types(types: &BTreeSet<InstanceType>) -> String {
    let words: Vec<&str> = types
        .iter()
        .map(|t| match t {
            InstanceType::Null => "null",
            InstanceType::Boolean => "a boolean",
            InstanceType::Object => "an object",
            InstanceType::Array => "an array",
            InstanceType::Number => "a number",
            InstanceType::String => "a string",
            InstanceType::Integer => "an integer",
        })
        .collect();
    match words.as_slice() {
        [] => "nothing".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn num_tokens(n: &Number) -> TokenStream {
    if let Some(u) = n.as_u64() {
        quote!(::ingest_runtime::number::Num::Uint(#u))
    } else if let Some(i) = n.as_i64() {
        quote!(::ingest_runtime::number::Num::Int(#i))
    } else {
        let f = Literal::f64_unsuffixed(n.as_f64().unwrap_or(0.0));
        quote!(::ingest_runtime::number::Num::Float(#f))
    }
}

fn count_tokens(n: u64) -> TokenStream {
    let n = Literal::usize_unsuffixed(usize::try_from(n).unwrap_or(usize::MAX));
    quote!(#n)
}

fn format_tokens(format: Format) -> TokenStream {
    // The runtime re-exports the same enum, so the variant's name (its `Debug`) is the path.
    let variant = format_ident!("{format:?}");
    quote!(::ingest_runtime::format::Format::#variant)
}

/// A `static` regular expression, compiled on first use (a JSON Schema pattern, in the
/// `regex` crate's syntax: `crate::keywords::rust_regex`).
fn regex_static(name: &Ident, pattern: &str) -> TokenStream {
    let pattern = crate::keywords::rust_regex(pattern);
    quote! {
        static #name: ::ingest_runtime::__private::LazyLock<::ingest_runtime::__private::Regex> =
            ::ingest_runtime::__private::LazyLock::new(|| ::ingest_runtime::__private::regex(#pattern));
    }
}

/// Which patterns of `patternProperties` match a declared name (known when generating).
fn patterns_matching<'n>(node: &'n Node, name: &str) -> Vec<(usize, &'n Child)> {
    node.pattern_properties
        .iter()
        .enumerate()
        .filter(|(_, (pattern, _))| {
            regex::Regex::new(&crate::keywords::rust_regex(pattern)).is_ok_and(|r| r.is_match(name))
        })
        .map(|(i, (_, child))| (i, child))
        .collect()
}

struct Expander {
    functions: Vec<TokenStream>,
}

/// Where a node function's index of the object's members comes from.
#[derive(Clone, Copy)]
enum MembersIndex {
    /// Its own, declared when its applicators use it.
    Local,
    /// The caller's (`m`, a type's own schema: `Event::validate_indexed`).
    Param,
}

/// Flags the applicator phase records for the annotations of `unevaluated*`: which in-place
/// branches passed.
#[derive(Default)]
struct Outcomes {
    /// (branch, flag expression) of every in-place subschema that may have evaluated
    /// something, in order.
    passed: Vec<(Child, TokenStream)>,
}

impl Expander {
    /// The expression that validates a child with the reader `p` and the checker `c` given.
    fn call(&mut self, child: &Child, p: TokenStream, c: TokenStream) -> TokenStream {
        match child {
            Child::Inline(node) if node.is_trivial() => quote!((#p).skip_value()),
            Child::Inline(node) => {
                let name = self.node(node);
                quote!(#name(#p, #c))
            }
            Child::Type {
                path,
                nullable: false,
            } => {
                quote!(<#path as ::ingest_runtime::Event>::validate_json(#p, #c))
            }
            Child::Type {
                path,
                nullable: true,
            } => quote!({
                let p: &mut ::ingest_runtime::json::Parser<'_> = #p;
                if p.peek()? == ::ingest_runtime::json::Kind::Null {
                    p.parse_null()
                } else {
                    <#path as ::ingest_runtime::Event>::validate_json(p, #c)
                }
            }),
        }
    }

    /// The expression: whether a child matches the value at the reader `fork` (not moved).
    fn matches(&mut self, child: &Child, fork: TokenStream) -> TokenStream {
        match child {
            Child::Type {
                path,
                nullable: false,
            } => quote!(<#path as ::ingest_runtime::Event>::matches(&#fork)),
            _ => {
                let call = self.call(
                    child,
                    quote!(&mut #fork.fork()),
                    quote!(&mut ::ingest_runtime::Checker::fast()),
                );
                quote!((#call).is_ok())
            }
        }
    }

    /// The statement that adds a child's annotations (for a value it matches) to `a`.
    fn annotate_call(&mut self, child: &Child, fork: TokenStream) -> TokenStream {
        match child {
            Child::Type { path, .. } => quote! {
                match <#path as ::ingest_runtime::Event>::EVALUATED_NAMES {
                    ::core::option::Option::Some(names) => a.keys(names),
                    ::core::option::Option::None => {
                        <#path as ::ingest_runtime::Event>::annotate(&mut #fork.fork(), a)?;
                    }
                }
            },
            Child::Inline(node) if node.annotates() => {
                let name = self.annotate_fn(node);
                quote!(#name(&mut #fork.fork(), a)?;)
            }
            Child::Inline(_) => TokenStream::new(),
        }
    }

    /// Generates the validating function for a node and returns its name.
    fn node(&mut self, node: &Node) -> Ident {
        let index = self.functions.len();
        let name = format_ident!("node_{}", index);
        self.functions.push(TokenStream::new());
        let body = self.body(node);
        self.functions[index] = quote! {
            fn #name<'a>(
                p: &mut ::ingest_runtime::json::Parser<'a>,
                c: &mut ::ingest_runtime::Checker,
            ) -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                #body
            }
        };
        name
    }

    /// Generates the validating function of a type's own schema and returns its name: a node
    /// function that also takes the index of the object's members, which it fills when the
    /// index is enabled (`Event::validate_indexed`) or when its own applicators use it.
    fn root(&mut self, node: &Node) -> Ident {
        let index = self.functions.len();
        let name = format_ident!("node_{}", index);
        self.functions.push(TokenStream::new());
        let body = self.body_with(node, MembersIndex::Param);
        self.functions[index] = quote! {
            fn #name<'a>(
                p: &mut ::ingest_runtime::json::Parser<'a>,
                c: &mut ::ingest_runtime::Checker,
                m: ::core::option::Option<&mut ::ingest_runtime::Members<'a>>,
            ) -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                #body
            }
        };
        name
    }

    /// Whether any subschema the node applies in place may be decided from the index of the
    /// object's members: the expression (constant once compiled), if any child can be.
    fn members_wanted(node: &Node) -> Option<TokenStream> {
        let decidable: Vec<TokenStream> = node
            .in_place_children()
            .filter_map(|child| match child {
                Child::Type {
                    path,
                    nullable: false,
                } => Some(quote!(<#path as ::ingest_runtime::Event>::DECIDED_BY_MEMBERS)),
                _ => None,
            })
            .collect();
        // A tag's value and `unevaluatedProperties` read the index too.
        let own = node.tagged_union().is_some() || node.checks_unevaluated_properties();
        (own || !decidable.is_empty()).then(|| quote!(#own #(|| #decidable)*))
    }

    /// The expression (an `Option<bool>`): the fast verdict of a child applied in place, from
    /// the index of the object's members, or `None` when it cannot be decided so (then it is
    /// read again). Only the fast path decides: the report reads the child for its violations,
    /// and a verdict taken twice per level of a recursive schema would cost 2^depth.
    fn decided(child: &Child) -> TokenStream {
        match child {
            Child::Type {
                path,
                nullable: false,
            } => quote! {
                (if <#path as ::ingest_runtime::Event>::DECIDED_BY_MEMBERS
                    && !c.is_report()
                    && members.complete()
                {
                    ::core::option::Option::Some(
                        <#path as ::ingest_runtime::Event>::matches_members(kind, &fork, &*members),
                    )
                } else {
                    ::core::option::Option::None
                })
            },
            _ => quote!(::core::option::Option::<bool>::None),
        }
    }

    /// The statement that applies a child in place (its violations reported where they are),
    /// skipped when the index of members shows it matches: a subschema that matches reports
    /// nothing. With `flag`, the child's outcome is kept in it (for `unevaluated*`).
    fn in_place(
        &mut self,
        child: &Child,
        flag: Option<&TokenStream>,
        declare: bool,
    ) -> TokenStream {
        let call = self.call(child, quote!(&mut fork.fork()), quote!(c));
        let decided = Self::decided(child);
        let binding = declare.then(|| quote!(let));
        // A fast verdict of `false` stops the fast path as the child's own violation would.
        match flag {
            Some(flag) => quote! {
                #binding #flag = match #decided {
                    ::core::option::Option::Some(true) => true,
                    ::core::option::Option::Some(false) => {
                        return ::core::result::Result::Err(::ingest_runtime::json::Error::Stop);
                    }
                    ::core::option::Option::None => {
                        let before = c.count();
                        #call?;
                        c.count() == before
                    }
                };
            },
            None => quote! {
                match #decided {
                    ::core::option::Option::Some(true) => {}
                    ::core::option::Option::Some(false) => {
                        return ::core::result::Result::Err(::ingest_runtime::json::Error::Stop);
                    }
                    ::core::option::Option::None => #call?,
                }
            },
        }
    }

    /// The expression: whether a child applied in place matches, from the index of the
    /// object's members when it can be decided so, else by reading the value again.
    fn matches_in_place(&mut self, child: &Child) -> TokenStream {
        match child {
            Child::Type {
                path,
                nullable: false,
            } => quote! {
                (if <#path as ::ingest_runtime::Event>::DECIDED_BY_MEMBERS && members.complete() {
                    <#path as ::ingest_runtime::Event>::matches_members(kind, &fork, &*members)
                } else {
                    <#path as ::ingest_runtime::Event>::matches(&fork)
                })
            },
            _ => self.matches(child, quote!(fork)),
        }
    }

    /// The body of `Event::matches_members` for a node that `decided_by_members`.
    fn members_body(&mut self, node: &Node) -> TokenStream {
        let mut checks = Vec::new();
        for property in &node.properties {
            let name = &property.name;
            let trivial = matches!(&property.child, Child::Inline(n) if n.is_trivial());
            let present = if trivial {
                TokenStream::new()
            } else {
                // A nullable type's check reads with `?`: keep it inside a `Result`.
                let matches = match &property.child {
                    Child::Type {
                        path,
                        nullable: false,
                    } => {
                        quote!(<#path as ::ingest_runtime::Event>::matches(&q))
                    }
                    child => {
                        let call = self.call(
                            child,
                            quote!(&mut q.fork()),
                            quote!(&mut ::ingest_runtime::Checker::fast()),
                        );
                        quote! {
                            (|| -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                                #call
                            })()
                            .is_ok()
                        }
                    }
                };
                quote! {
                    let q = p.member_at(offset);
                    if !#matches {
                        return false;
                    }
                }
            };
            let absent = property.required.then(|| quote!(return false;));
            checks.push(quote! {
                match m.get(#name) {
                    ::core::option::Option::Some(offset) => { #present }
                    ::core::option::Option::None => { #absent }
                }
            });
        }
        for name in &node.required {
            checks.push(quote!(if !m.has(#name) { return false; }));
        }
        for (trigger, names) in &node.dependent_required {
            checks.push(quote! {
                if m.has(#trigger) && !(true #(&& m.has(#names))*) {
                    return false;
                }
            });
        }
        if let Some(min) = node.min_properties {
            let min = count_tokens(min);
            checks.push(quote!(if m.len() < #min { return false; }));
        }
        if let Some(max) = node.max_properties {
            let max = count_tokens(max);
            checks.push(quote!(if m.len() > #max { return false; }));
        }
        quote! {
            if kind != ::ingest_runtime::json::Kind::Object {
                return <Self as ::ingest_runtime::Event>::matches(p);
            }
            #(#checks)*
            true
        }
    }

    /// Generates the annotating function for a node and returns its name.
    fn annotate_fn(&mut self, node: &Node) -> Ident {
        let index = self.functions.len();
        let name = format_ident!("annotate_{}", index);
        self.functions.push(TokenStream::new());
        let body = self.annotate_body(node);
        self.functions[index] = quote! {
            fn #name<'a>(
                p: &mut ::ingest_runtime::json::Parser<'a>,
                a: &mut ::ingest_runtime::Annotations<'a>,
            ) -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                #body
            }
        };
        name
    }

    fn body(&mut self, node: &Node) -> TokenStream {
        self.body_with(node, MembersIndex::Local)
    }

    fn body_with(&mut self, node: &Node, index: MembersIndex) -> TokenStream {
        if node.never {
            return quote!(c.never(p));
        }
        if node.is_trivial() {
            return quote!(p.skip_value());
        }
        let kind = quote!(::ingest_runtime::json::Kind);
        let expected = node.types.as_ref().map(describe_types).unwrap_or_default();

        let string_enum: Option<Vec<String>> = node.enum_values.as_ref().and_then(|values| {
            values
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
        });
        let inline_enum = node.string_only() && string_enum.is_some();
        let inline_const =
            node.string_only() && node.const_value.as_ref().is_some_and(Value::is_string);
        let general_enum = node.enum_values.is_some() && !inline_enum;
        let general_const = node.const_value.is_some() && !inline_const;
        let unevaluated = node.checks_unevaluated_properties() || node.checks_unevaluated_items();
        let needs_fork = node.has_in_place() || unevaluated;
        // Only a node that reads objects itself can index their members.
        let wanted = Self::members_wanted(node).map(|wanted| {
            if node.allows(InstanceType::Object) {
                wanted
            } else {
                quote!(false)
            }
        });
        // The index of the object's members: this node's own (for its applicators), or the
        // caller's, which this node enables when its applicators use it.
        // (A node that does not use an index keeps none on its stack: recursive schemas nest
        // these frames as deep as the document.)
        let push = quote!(members.push(&key, p.offset()););
        let (members_decl, indexing) = match (index, &wanted) {
            (MembersIndex::Local, None) => (None, None),
            (MembersIndex::Local, Some(wanted)) => (
                Some(quote! {
                    let mut members = ::ingest_runtime::Members::new(#wanted);
                    let members = &mut members;
                }),
                Some(push),
            ),
            (MembersIndex::Param, Some(wanted)) => (
                Some(quote! {
                    let mut own_members;
                    let members: &mut ::ingest_runtime::Members<'_> = match m {
                        ::core::option::Option::Some(m) => m,
                        ::core::option::Option::None => {
                            own_members = ::ingest_runtime::Members::new(false);
                            &mut own_members
                        }
                    };
                    if #wanted {
                        members.enable();
                    }
                }),
                Some(push),
            ),
            (MembersIndex::Param, None) => (
                Some(quote!(let mut members = m;)),
                Some(quote! {
                    if let ::core::option::Option::Some(members) = members.as_deref_mut() {
                        #push
                    }
                }),
            ),
        };

        let mut arms = Vec::new();
        let all_kinds = [
            InstanceType::String,
            InstanceType::Number,
            InstanceType::Boolean,
            InstanceType::Null,
            InstanceType::Array,
            InstanceType::Object,
        ];
        let mut missing_kind = false;
        for t in all_kinds {
            let allowed = if t == InstanceType::Number {
                node.allows(InstanceType::Number) || node.allows(InstanceType::Integer)
            } else {
                node.allows(t)
            };
            if !allowed {
                missing_kind = true;
                continue;
            }
            arms.push(match t {
                InstanceType::String => {
                    let checks = self.string_checks(
                        node,
                        inline_enum.then_some(string_enum.as_deref()).flatten(),
                        inline_const,
                    );
                    quote!(#kind::String => { #checks })
                }
                InstanceType::Number => {
                    let checks = self.number_checks(node, &expected);
                    quote!(#kind::Number => { #checks })
                }
                InstanceType::Boolean => quote!(#kind::Bool => { p.parse_bool()?; }),
                InstanceType::Null => quote!(#kind::Null => { p.parse_null()?; }),
                InstanceType::Array => {
                    let checks = self.array_checks(node);
                    quote!(#kind::Array => { #checks })
                }
                InstanceType::Object => {
                    let checks = self.object_checks(node, indexing.clone());
                    quote!(#kind::Object => { #checks })
                }
                InstanceType::Integer => unreachable!("integers are read as numbers"),
            });
        }
        if missing_kind {
            arms.push(quote!(other => c.wrong_type(p, other, #expected)?,));
        }
        let fork = needs_fork.then(|| quote!(let fork = p.fork();));
        let start = (general_enum || general_const).then(|| quote!(let start = p.offset();));
        let dependents = (!node.dependent_schemas.is_empty()).then(|| {
            let n = node.dependent_schemas.len();
            quote!(let mut dependents = [false; #n];)
        });
        let enum_check = general_enum.then(|| {
            let text = Value::Array(node.enum_values.clone().unwrap_or_default()).to_string();
            quote! {
                static ALLOWED: ::ingest_runtime::__private::LazyLock<::std::vec::Vec<::ingest_runtime::__private::serde_json::Value>> =
                    ::ingest_runtime::__private::LazyLock::new(|| ::ingest_runtime::value::embedded_list(#text));
                c.enum_value(p, start, p.offset(), &ALLOWED)?;
            }
        });
        let const_check = general_const.then(|| {
            let text = node.const_value.clone().unwrap_or_default().to_string();
            quote! {
                static EXPECTED: ::ingest_runtime::__private::LazyLock<::ingest_runtime::__private::serde_json::Value> =
                    ::ingest_runtime::__private::LazyLock::new(|| ::ingest_runtime::value::embedded(#text));
                c.const_value(p, start, p.offset(), &EXPECTED)?;
            }
        });
        let mut outcomes = Outcomes::default();
        let applicators = self.applicators(node, unevaluated, &mut outcomes);
        let unevaluated_checks = self.unevaluated(node, &outcomes);
        quote! {
            let kind = p.peek()?;
            #fork
            #members_decl
            #start
            #dependents
            match kind {
                #(#arms)*
            }
            #enum_check
            #const_check
            #applicators
            #unevaluated_checks
            Ok(())
        }
    }

    /// The in-place applicators, in the order of the module documentation. With `record`,
    /// each branch's outcome is kept in a flag for the annotations of `unevaluated*`.
    fn applicators(&mut self, node: &Node, record: bool, outcomes: &mut Outcomes) -> TokenStream {
        let mut out = Vec::new();
        for (i, child) in node.all_of.iter().enumerate() {
            if record {
                let flag = format_ident!("all_of_{}", i);
                let flag = quote!(#flag);
                out.push(self.in_place(child, Some(&flag), true));
                outcomes.passed.push((child.clone(), flag));
            } else {
                out.push(self.in_place(child, None, false));
            }
        }
        let tagged = node
            .tagged_union()
            .map(|(keyword, _, tag)| (keyword, tag.clone()));
        for (keyword, branches) in [("anyOf", &node.any_of), ("oneOf", &node.one_of)] {
            if branches.is_empty() {
                continue;
            }
            out.push(match &tagged {
                Some((tagged_keyword, tag)) if *tagged_keyword == keyword => {
                    self.tagged(keyword, branches, tag, record, outcomes)
                }
                _ => self.union(keyword, branches, record, outcomes),
            });
        }
        if let Some(not) = &node.not {
            let matches = self.matches_in_place(not);
            out.push(quote!(if #matches { c.matches_not()?; }));
        }
        if let Some(condition) = &node.condition {
            let test = self.matches_in_place(&condition.test);
            if record {
                outcomes
                    .passed
                    .push((condition.test.clone(), quote!(condition)));
            }
            let mut branch = |child: &Option<Child>, flag: &str| {
                let Some(child) = child else {
                    return TokenStream::new();
                };
                if record {
                    let flag = format_ident!("{}", flag);
                    let flag = quote!(#flag);
                    outcomes.passed.push((child.clone(), flag.clone()));
                    self.in_place(child, Some(&flag), false)
                } else {
                    self.in_place(child, None, false)
                }
            };
            let then = branch(&condition.then, "then_passed");
            let otherwise = branch(&condition.otherwise, "else_passed");
            let flags = record.then(|| {
                quote! {
                    let mut then_passed = false;
                    let mut else_passed = false;
                }
            });
            out.push(quote! {
                let condition = #test;
                #flags
                if condition {
                    #then
                } else {
                    #otherwise
                }
            });
        }
        for (i, (_, child)) in node.dependent_schemas.iter().enumerate() {
            if record {
                let flag = format_ident!("dependent_{}", i);
                let flag = quote!(#flag);
                let apply = self.in_place(child, Some(&flag), false);
                out.push(quote! {
                    let mut #flag = false;
                    if dependents[#i] {
                        #apply
                    }
                });
                outcomes.passed.push((child.clone(), flag));
            } else {
                let apply = self.in_place(child, None, false);
                out.push(quote!(if dependents[#i] { #apply }));
            }
        }
        quote!(#(#out)*)
    }

    /// An untagged `anyOf` or `oneOf`: every branch with a checker of its own.
    fn union(
        &mut self,
        keyword: &str,
        branches: &[Child],
        record: bool,
        outcomes: &mut Outcomes,
    ) -> TokenStream {
        let n = branches.len();
        let flags = format_ident!(
            "{}",
            if keyword == "anyOf" {
                "any_of"
            } else {
                "one_of"
            }
        );
        let mut steps = Vec::new();
        for (i, child) in branches.iter().enumerate() {
            let call = self.call(child, quote!(&mut fork.fork()), quote!(&mut b));
            let decided = Self::decided(child);
            // `anyOf` may stop at the first match, unless annotations need every branch.
            let guard = (keyword == "anyOf" && !record).then(|| quote!(if !#flags.contains(&true)));
            steps.push(quote! {
                #guard {
                    if let ::core::option::Option::Some(matched) = #decided {
                        #flags[#i] = matched;
                    } else {
                        let mut b = c.branch();
                        let result = #call;
                        if ::ingest_runtime::Checker::passed(&b, result)? {
                            #flags[#i] = true;
                        } else if c.is_report() {
                            failed.push(b);
                        }
                    }
                }
            });
            if record {
                outcomes.passed.push((child.clone(), quote!(#flags[#i])));
            }
        }
        let verdict = if keyword == "anyOf" {
            quote! {
                if !#flags.contains(&true) {
                    c.no_branch_matched("anyOf", failed)?;
                }
            }
        } else {
            quote! {
                let matched: usize = #flags.iter().filter(|f| **f).count();
                if matched == 0 {
                    c.no_branch_matched("oneOf", failed)?;
                } else if matched > 1 {
                    let which: ::std::vec::Vec<usize> =
                        (0..#n).filter(|i| #flags[*i]).collect();
                    c.several_branches_matched(&which)?;
                }
            }
        };
        quote! {
            let mut #flags = [false; #n];
            {
                let mut failed: ::std::vec::Vec<::ingest_runtime::Checker> = ::std::vec::Vec::new();
                #(#steps)*
                #verdict
            }
        }
    }

    /// A union told apart by a tag: the branch the tag selects, alone.
    fn tagged(
        &mut self,
        keyword: &str,
        branches: &[Child],
        tag: &Tag,
        record: bool,
        outcomes: &mut Outcomes,
    ) -> TokenStream {
        let n = branches.len();
        let flags = format_ident!(
            "{}",
            if keyword == "anyOf" {
                "any_of"
            } else {
                "one_of"
            }
        );
        let property = &tag.property;
        let values = &tag.values;
        let mut arms = Vec::new();
        for (i, child) in branches.iter().enumerate() {
            let call = self.call(child, quote!(&mut fork.fork()), quote!(&mut b));
            let decided = Self::decided(child);
            arms.push(quote! {
                ::ingest_runtime::check::Tag::Branch(#i) => {
                    if let ::core::option::Option::Some(matched) = #decided {
                        if !matched {
                            return ::core::result::Result::Err(::ingest_runtime::json::Error::Stop);
                        }
                        #flags[#i] = true;
                    } else {
                        let mut b = c.branch();
                        let result = #call;
                        if ::ingest_runtime::Checker::passed(&b, result)? {
                            #flags[#i] = true;
                        } else {
                            c.tagged_branch_failed(#keyword, #property, VALUES[#i], #i, b)?;
                        }
                    }
                }
            });
            if record {
                outcomes.passed.push((child.clone(), quote!(#flags[#i])));
            }
        }
        quote! {
            let mut #flags = [false; #n];
            {
                const VALUES: &[&str] = &[#(#values),*];
                let tag = if members.complete() {
                    ::ingest_runtime::check::tag_of_members(&fork, kind, &*members, #property, VALUES)?
                } else {
                    ::ingest_runtime::check::tag_of(&fork, #property, VALUES)?
                };
                match tag {
                    #(#arms)*
                    other => c.no_tag(#keyword, #property, VALUES, &other)?,
                }
            }
        }
    }

    /// The pass of `unevaluatedProperties` / `unevaluatedItems` over a fork of the value.
    fn unevaluated(&mut self, node: &Node, outcomes: &Outcomes) -> TokenStream {
        if !node.checks_unevaluated_properties() && !node.checks_unevaluated_items() {
            return TokenStream::new();
        }
        let mut annotations = Vec::new();
        for (child, flag) in &outcomes.passed {
            let call = self.annotate_call(child, quote!(fork));
            if !call.is_empty() {
                annotations.push(quote!(if #flag { #call }));
            }
        }
        let mut passes = Vec::new();
        if let Some(rule) = node
            .unevaluated_properties
            .as_ref()
            .filter(|_| node.checks_unevaluated_properties())
        {
            let names: Vec<&str> = node.properties.iter().map(|p| p.name.as_str()).collect();
            let declared = if names.is_empty() {
                quote!(false)
            } else {
                quote!(matches!(::core::convert::AsRef::<str>::as_ref(&key), #(#names)|*))
            };
            let (statics, patterns) = self.pattern_tests(node, "U");
            let rest = match rule {
                Unevaluated::Denied => quote!(c.unevaluated_property(&mut q, &key)?;),
                Unevaluated::Schema(child) => {
                    let call = self.call(child, quote!(&mut q), quote!(c));
                    quote! {
                        c.enter_key(&key);
                        #call?;
                        c.leave();
                    }
                }
            };
            // From the index of members when it is complete: only the values to check are read.
            passes.push(quote! {
                if kind == ::ingest_runtime::json::Kind::Object {
                    #statics
                    if members.complete() {
                        for (key, offset) in members.iter() {
                            let key = ::std::borrow::Cow::Borrowed(key);
                            if !(#declared #patterns || a.has_key(&key)) {
                                let mut q = fork.member_at(offset);
                                #rest
                            }
                        }
                    } else {
                        let mut q = fork.fork();
                        q.begin_object()?;
                        let mut first = true;
                        while q.read_key(&mut first)? {
                            let key = q.last_str();
                            if #declared #patterns || a.has_key(&key) {
                                q.skip_value()?;
                            } else {
                                #rest
                            }
                        }
                    }
                }
            });
        }
        if let Some(rule) = node
            .unevaluated_items
            .as_ref()
            .filter(|_| node.checks_unevaluated_items())
        {
            let prefix = node.prefix_items.len();
            let contains = node.contains.as_ref().map(|child| {
                let matches = self.matches(child, quote!(q));
                quote!(|| #matches)
            });
            let rest = match rule {
                Unevaluated::Denied => quote!(c.unevaluated_item(&mut q, index)?;),
                Unevaluated::Schema(child) => {
                    let call = self.call(child, quote!(&mut q), quote!(c));
                    quote! {
                        c.enter_index(index);
                        #call?;
                        c.leave();
                    }
                }
            };
            passes.push(quote! {
                if kind == ::ingest_runtime::json::Kind::Array {
                    let mut q = fork.fork();
                    q.begin_array()?;
                    let mut first = true;
                    let mut index = 0usize;
                    while q.next_element(&mut first)? {
                        if index < #prefix #contains || a.has_item(index) {
                            q.skip_value()?;
                        } else {
                            #rest
                        }
                        index += 1;
                    }
                }
            });
        }
        quote! {
            let mut a = ::ingest_runtime::Annotations::default();
            {
                let a = &mut a;
                #(#annotations)*
            }
            #(#passes)*
        }
    }

    /// `static`s for the node's `patternProperties` and the `|| P.is_match(&key)` tests.
    fn pattern_tests(&mut self, node: &Node, prefix: &str) -> (TokenStream, TokenStream) {
        let mut statics = Vec::new();
        let mut tests = Vec::new();
        for (i, (pattern, _)) in node.pattern_properties.iter().enumerate() {
            let name = format_ident!("{}PATTERN_{}", prefix, i);
            statics.push(regex_static(&name, pattern));
            tests.push(quote!(|| #name.is_match(&key)));
        }
        (quote!(#(#statics)*), quote!(#(#tests)*))
    }

    fn annotate_body(&mut self, node: &Node) -> TokenStream {
        let kind = quote!(::ingest_runtime::json::Kind);
        let mut arms = Vec::new();
        let object_all =
            !matches!(node.additional, Additional::Absent) || node.unevaluated_properties.is_some();
        if object_all {
            arms.push(quote!(#kind::Object => { a.all_keys(); p.skip_value()?; }));
        } else if !node.properties.is_empty() || !node.pattern_properties.is_empty() {
            let names: Vec<&str> = node.properties.iter().map(|p| p.name.as_str()).collect();
            let declared = if names.is_empty() {
                quote!(false)
            } else {
                quote!(matches!(::core::convert::AsRef::<str>::as_ref(&key), #(#names)|*))
            };
            let (statics, patterns) = self.pattern_tests(node, "A");
            arms.push(quote! {
                #kind::Object => {
                    #statics
                    p.begin_object()?;
                    let mut first = true;
                    while p.read_key(&mut first)? {
                        let key = p.last_str();
                        if #declared #patterns {
                            a.key(key);
                        }
                        p.skip_value()?;
                    }
                }
            });
        }
        if node.items.is_some() || node.unevaluated_items.is_some() {
            arms.push(quote!(#kind::Array => { a.all_items(); p.skip_value()?; }));
        } else if !node.prefix_items.is_empty() || node.contains.is_some() {
            let prefix = node.prefix_items.len();
            let contains = node.contains.as_ref().map(|child| {
                let matches = self.matches(child, quote!(p));
                quote!(if #matches { a.item(index); })
            });
            arms.push(quote! {
                #kind::Array => {
                    a.prefix(#prefix);
                    p.begin_array()?;
                    let mut first = true;
                    let mut index = 0usize;
                    while p.next_element(&mut first)? {
                        #contains
                        p.skip_value()?;
                        index += 1;
                    }
                }
            });
        }
        let mut in_place = Vec::new();
        for child in &node.all_of {
            in_place.push(self.annotate_call(child, quote!(fork)));
        }
        for child in node.any_of.iter().chain(&node.one_of) {
            let matches = self.matches(child, quote!(fork));
            let call = self.annotate_call(child, quote!(fork));
            if !call.is_empty() {
                in_place.push(quote!(if #matches { #call }));
            }
        }
        if let Some(condition) = &node.condition {
            let test = self.matches(&condition.test, quote!(fork));
            let test_call = self.annotate_call(&condition.test, quote!(fork));
            let then = condition
                .then
                .as_ref()
                .map(|c| self.annotate_call(c, quote!(fork)));
            let otherwise = condition
                .otherwise
                .as_ref()
                .map(|c| self.annotate_call(c, quote!(fork)));
            in_place.push(quote! {
                if #test {
                    #test_call
                    #then
                } else {
                    #otherwise
                }
            });
        }
        for (name, child) in &node.dependent_schemas {
            let call = self.annotate_call(child, quote!(fork));
            if !call.is_empty() {
                in_place.push(quote! {
                    if ::ingest_runtime::check::has_key(&fork, #name)? { #call }
                });
            }
        }
        let fork = (!in_place.is_empty()).then(|| quote!(let fork = p.fork();));
        quote! {
            #fork
            match p.peek()? {
                #(#arms)*
                _ => p.skip_value()?,
            }
            #(#in_place)*
            Ok(())
        }
    }

    fn string_checks(
        &mut self,
        node: &Node,
        inline_enum: Option<&[String]>,
        inline_const: bool,
    ) -> TokenStream {
        // `read_str` then `last_str` rather than `parse_str`: a `Result<Cow<str>, _>` travels
        // through memory, and reading it back stalls on every string.
        let mut checks = vec![quote!(p.read_str()?; let s = p.last_str();)];
        if let Some(min) = node.min_length {
            let min = count_tokens(min);
            checks.push(quote!(c.min_length(&s, #min)?;));
        }
        if let Some(max) = node.max_length {
            let max = count_tokens(max);
            checks.push(quote!(c.max_length(&s, #max)?;));
        }
        if let Some(pattern) = &node.pattern {
            match crate::pattern::Steps::of(&crate::keywords::rust_regex(pattern)) {
                Some(steps) => {
                    let matched = steps.tokens();
                    checks.push(quote! {
                        let matched = #matched;
                        c.pattern_matched(matched, &s, #pattern)?;
                    });
                }
                None => {
                    let name = format_ident!("PATTERN");
                    let pattern_static = regex_static(&name, pattern);
                    checks.push(quote! {
                        #pattern_static
                        c.pattern(&s, &PATTERN, #pattern)?;
                    });
                }
            }
        }
        if let Some(format) = node.format {
            let format = format_tokens(format);
            checks.push(quote!(c.format(&s, #format)?;));
        }
        if let Some(values) = inline_enum {
            checks.push(quote! {
                match ::core::convert::AsRef::<str>::as_ref(&s) {
                    #(#values)|* => {}
                    _ => c.not_in_enum(&s, &[#(#values),*])?,
                }
            });
        }
        if inline_const && let Some(Value::String(expected)) = &node.const_value {
            checks.push(quote! {
                if ::core::convert::AsRef::<str>::as_ref(&s) != #expected {
                    c.not_const(&s, #expected)?;
                }
            });
        }
        quote!(#(#checks)*)
    }

    fn number_checks(&mut self, node: &Node, expected: &str) -> TokenStream {
        let mut checks = vec![quote!(let n = p.parse_number()?;)];
        if !node.allows(InstanceType::Number) {
            checks.push(quote!(if !n.is_integer() { c.not_integer(n, #expected)?; }));
        }
        for (value, method) in [
            (&node.minimum, quote!(minimum)),
            (&node.maximum, quote!(maximum)),
            (&node.exclusive_minimum, quote!(exclusive_minimum)),
            (&node.exclusive_maximum, quote!(exclusive_maximum)),
            (&node.multiple_of, quote!(multiple_of)),
        ] {
            if let Some(limit) = value {
                let limit = num_tokens(limit);
                checks.push(quote!(c.#method(n, #limit)?;));
            }
        }
        quote!(#(#checks)*)
    }

    fn array_checks(&mut self, node: &Node) -> TokenStream {
        let items = match &node.items {
            Some(child) => self.call(child, quote!(p), quote!(c)),
            None => quote!(p.skip_value()),
        };
        let item = if node.prefix_items.is_empty() {
            items
        } else {
            let arms: Vec<TokenStream> = node
                .prefix_items
                .iter()
                .enumerate()
                .map(|(i, child)| {
                    let call = self.call(child, quote!(p), quote!(c));
                    quote!(#i => #call,)
                })
                .collect();
            quote!(match count { #(#arms)* _ => #items })
        };
        let unique = node.unique_items;
        let spans_decl = unique.then(
            || quote!(let mut spans: ::std::vec::Vec<(usize, usize)> = ::std::vec::Vec::new();),
        );
        let span_start = unique.then(|| quote!(p.peek()?; let item_start = p.offset();));
        let span_push = unique.then(|| quote!(spans.push((item_start, p.offset()));));
        let unique_check = unique.then(|| quote!(c.unique_items(p, &spans)?;));
        // `contains` over items of a type whose validator indexes the members of an object
        // (`Event::validate_indexed`) is decided from that index, in the same pass as `items`.
        let one_pass = match (&node.contains, &node.items) {
            (
                Some(Child::Type {
                    path: contains,
                    nullable: false,
                }),
                Some(Child::Type {
                    path: items,
                    nullable: false,
                }),
            ) if node.prefix_items.is_empty() => Some((contains.clone(), items.clone())),
            _ => None,
        };
        let mut item = item;
        if let Some((contains, items)) = &one_pass {
            item = quote! {
                {
                    let item_fork = p.fork();
                    let item_kind = p.peek()?;
                    let mut item_members = ::ingest_runtime::Members::new(
                        <#contains as ::ingest_runtime::Event>::DECIDED_BY_MEMBERS,
                    );
                    let result =
                        <#items as ::ingest_runtime::Event>::validate_indexed(
                            p,
                            c,
                            ::core::option::Option::Some(&mut item_members),
                        );
                    if result.is_ok() {
                        let matched = if <#contains as ::ingest_runtime::Event>::DECIDED_BY_MEMBERS
                            && item_members.complete()
                        {
                            <#contains as ::ingest_runtime::Event>::matches_members(
                                item_kind,
                                &item_fork,
                                &item_members,
                            )
                        } else {
                            <#contains as ::ingest_runtime::Event>::matches(&item_fork)
                        };
                        if matched {
                            matching += 1;
                        }
                    }
                    result
                }
            };
        }
        let (contains_decl, contains_test, contains_check) = match &node.contains {
            Some(child) => {
                let matches = self.matches(child, quote!(p));
                let min = count_tokens(node.min_contains.unwrap_or(1));
                let min_given = node.min_contains.is_some();
                let max = match node.max_contains {
                    Some(max) => {
                        let max = count_tokens(max);
                        quote!(::core::option::Option::Some(#max))
                    }
                    None => quote!(::core::option::Option::None),
                };
                let test = one_pass
                    .is_none()
                    .then(|| quote!(if #matches { matching += 1; }));
                (
                    Some(quote!(let mut matching = 0usize;)),
                    test,
                    Some(quote!(c.contains(matching, #min, #min_given, #max)?;)),
                )
            }
            None => (None, None, None),
        };
        let min = node.min_items.map(|n| {
            let n = count_tokens(n);
            quote!(c.min_items(count, #n)?;)
        });
        let max = node.max_items.map(|n| {
            let n = count_tokens(n);
            quote!(c.max_items(count, #n)?;)
        });
        quote! {
            p.begin_array()?;
            let mut first = true;
            let mut count = 0usize;
            #spans_decl
            #contains_decl
            while p.next_element(&mut first)? {
                c.enter_index(count);
                #contains_test
                #span_start
                #item?;
                #span_push
                c.leave();
                count += 1;
            }
            #min
            #max
            #contains_check
            #unique_check
        }
    }

    fn object_checks(&mut self, node: &Node, push: Option<TokenStream>) -> TokenStream {
        let noted = node.noted_names();
        let (statics, _) = self.pattern_tests(node, "");
        let pattern_calls: Vec<(Ident, TokenStream)> = node
            .pattern_properties
            .iter()
            .enumerate()
            .map(|(i, (_, child))| {
                let call = self.call(child, quote!(&mut value.fork()), quote!(c));
                (format_ident!("PATTERN_{}", i), call)
            })
            .collect();
        let other = match &node.additional {
            Additional::Absent => quote!(p.skip_value()?;),
            Additional::Denied => quote!(c.not_allowed(p, &key)?;),
            Additional::Schema(child) => {
                let call = self.call(child, quote!(p), quote!(c));
                quote! {
                    c.enter_key(&key);
                    #call?;
                    c.leave();
                }
            }
        };
        let other = if pattern_calls.is_empty() {
            other
        } else {
            let tests = pattern_calls.iter().map(|(name, call)| {
                quote! {
                    if #name.is_match(&key) {
                        matched = true;
                        c.enter_key(&key);
                        #call?;
                        c.leave();
                    }
                }
            });
            quote! {
                let value = p.fork();
                let mut matched = false;
                #(#tests)*
                if matched {
                    p.skip_value()?;
                } else {
                    #other
                }
            }
        };
        let note = (!noted.is_empty()).then(|| {
            let arms = noted
                .iter()
                .enumerate()
                .map(|(i, name)| quote!(#name => noted[#i] = true,));
            quote! {
                match ::core::convert::AsRef::<str>::as_ref(&key) {
                    #(#arms)*
                    _ => {}
                }
            }
        });
        let other_arm = quote! {
            ::ingest_runtime::check::note_key(p, &mut others, &key)?;
            #note
            #other
        };
        let property_names = node.property_names.as_ref().map(|child| {
            let call = self.call(child, quote!(&mut q), quote!(&mut b));
            quote! {
                {
                    let text = ::ingest_runtime::check::json_string(&key);
                    let mut q = ::ingest_runtime::json::Parser::new(text.as_bytes());
                    let mut b = c.branch();
                    let result = #call;
                    if !::ingest_runtime::Checker::passed(&b, result)? {
                        c.bad_property_name(&key, b)?;
                    }
                }
            }
        });
        let count_properties = node.min_properties.is_some() || node.max_properties.is_some();
        let count_decl = count_properties.then(|| quote!(let mut count = 0usize;));
        let count_inc = count_properties.then(|| quote!(count += 1;));
        let min = node.min_properties.map(|n| {
            let n = count_tokens(n);
            quote!(c.min_properties(count, #n)?;)
        });
        let max = node.max_properties.map(|n| {
            let n = count_tokens(n);
            quote!(c.max_properties(count, #n)?;)
        });
        let noted_decl = (!noted.is_empty()).then(|| {
            let n = noted.len();
            quote!(let mut noted = [false; #n];)
        });
        // Whether a name is present: a declared property's `seen` flag, or a noted name's.
        let present = |name: &str| -> TokenStream {
            if let Some(i) = node.properties.iter().position(|p| p.name == name) {
                quote!(seen[#i])
            } else {
                let i = noted.iter().position(|n| n == name).unwrap_or(0);
                quote!(noted[#i])
            }
        };
        let mut required = Vec::new();
        for (index, property) in node.properties.iter().enumerate() {
            if property.required {
                let name = &property.name;
                required.push(quote!(if !seen[#index] { c.missing(#name)?; }));
            }
        }
        for name in &node.required {
            let flag = present(name);
            required.push(quote!(if !#flag { c.missing(#name)?; }));
        }
        for (trigger, names) in &node.dependent_required {
            let trigger_flag = present(trigger);
            let checks = names.iter().map(|name| {
                let flag = present(name);
                quote!(if !#flag { c.dependent_missing(#trigger, #name)?; })
            });
            required.push(quote!(if #trigger_flag { #(#checks)* }));
        }
        let dependents: Vec<TokenStream> = node
            .dependent_schemas
            .iter()
            .enumerate()
            .map(|(i, (trigger, _))| {
                let flag = present(trigger);
                quote!(dependents[#i] = #flag;)
            })
            .collect();
        let loop_body = if node.properties.is_empty() {
            quote! {
                let key = p.last_str();
                #push
                #count_inc
                #property_names
                #other_arm
            }
        } else {
            let mut arms = Vec::new();
            for (index, property) in node.properties.iter().enumerate() {
                let name = &property.name;
                let call = self.call(&property.child, quote!(p), quote!(c));
                let matching = patterns_matching(node, name);
                let value_fork = (!matching.is_empty()).then(|| quote!(let value = p.fork();));
                let pattern_calls = matching.iter().map(|(i, child)| {
                    let _ = i;
                    let call = self.call(child, quote!(&mut value.fork()), quote!(c));
                    quote!(#call?;)
                });
                let pattern_calls: Vec<TokenStream> = pattern_calls.collect();
                arms.push(quote! {
                    #name => {
                        if seen[#index] {
                            return ::core::result::Result::Err(p.duplicate_key(&key));
                        }
                        seen[#index] = true;
                        c.enter_key(#name);
                        #value_fork
                        #call?;
                        #(#pattern_calls)*
                        c.leave();
                    }
                });
            }
            quote! {
                let key = p.last_str();
                #push
                #count_inc
                #property_names
                match ::core::convert::AsRef::<str>::as_ref(&key) {
                    #(#arms)*
                    _ => { #other_arm }
                }
            }
        };
        let seen_decl = (!node.properties.is_empty()).then(|| {
            let count = node.properties.len();
            quote!(let mut seen = [false; #count];)
        });
        quote! {
            #statics
            p.begin_object()?;
            let mut first = true;
            #seen_decl
            #noted_decl
            let mut others = ::ingest_runtime::json::KeySet::default();
            #count_decl
            while p.read_key(&mut first)? {
                #loop_body
            }
            #(#required)*
            #(#dependents)*
            #min
            #max
        }
    }
}

/// The `impl ingest_runtime::Event` for a type whose schema is `node`.
pub fn expand(ty: &Ident, generics: &syn::Generics, node: &Node) -> TokenStream {
    let mut expander = Expander {
        functions: Vec::new(),
    };
    // A type whose schema may be an object reads it through a root function that can index
    // its members (`Event::validate_indexed`); `validate_json` is that without the index.
    let indexed = !node.never && !node.is_trivial() && node.allows(InstanceType::Object);
    let root = if indexed {
        expander.root(node)
    } else {
        expander.node(node)
    };
    let functions = std::mem::take(&mut expander.functions);
    let validate = if indexed {
        quote! {
            fn validate_json(
                p: &mut ::ingest_runtime::json::Parser<'_>,
                c: &mut ::ingest_runtime::Checker,
            ) -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                <Self as ::ingest_runtime::Event>::validate_indexed(p, c, ::core::option::Option::None)
            }
            fn validate_indexed<'a>(
                p: &mut ::ingest_runtime::json::Parser<'a>,
                c: &mut ::ingest_runtime::Checker,
                m: ::core::option::Option<&mut ::ingest_runtime::Members<'a>>,
            ) -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                #(#functions)*
                #root(p, c, m)
            }
        }
    } else {
        quote! {
            fn validate_json(
                p: &mut ::ingest_runtime::json::Parser<'_>,
                c: &mut ::ingest_runtime::Checker,
            ) -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                #(#functions)*
                #root(p, c)
            }
        }
    };
    let names = node.evaluated_names().map(|names| {
        quote! {
            const EVALUATED_NAMES: ::core::option::Option<&'static [&'static str]> =
                ::core::option::Option::Some(&[#(#names),*]);
        }
    });
    let members = node.decided_by_members().then(|| {
        let body = expander.members_body(node);
        let helpers = std::mem::take(&mut expander.functions);
        quote! {
            const DECIDED_BY_MEMBERS: bool = true;
            fn matches_members(
                kind: ::ingest_runtime::json::Kind,
                p: &::ingest_runtime::json::Parser<'_>,
                m: &::ingest_runtime::Members<'_>,
            ) -> bool {
                #(#helpers)*
                #body
            }
        }
    });
    let annotate = node.annotates().then(|| {
        let body = expander.annotate_body(node);
        let helpers = std::mem::take(&mut expander.functions);
        quote! {
            fn annotate<'a>(
                p: &mut ::ingest_runtime::json::Parser<'a>,
                a: &mut ::ingest_runtime::Annotations<'a>,
            ) -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                #(#helpers)*
                #body
            }
        }
    });
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        #[allow(clippy::all, clippy::pedantic, unused_mut, unused_variables, non_snake_case)]
        impl #impl_generics ::ingest_runtime::Event for #ty #ty_generics #where_clause {
            #validate
            #names
            #members
            #annotate
        }
    }
}
