//! Schema -> Rust types annotated for `#[derive(Event)]` (the typify habit: one generator,
//! used by `ingest synth` for event crates and by the conformance tests for the suite).
//!
//! Each schema position becomes a Rust type plus the `#[event(...)]` keywords that the Rust type
//! alone does not say:
//!
//! | schema | Rust |
//! | --- | --- |
//! | object with `properties`, `required`, `additionalProperties` or `patternProperties` | a `struct`, one field per property, and a map of the other properties unless `additionalProperties` is `false` |
//! | string `enum` | an `enum` of unit variants |
//! | `oneOf` or `anyOf` alone, of objects told apart by a `const` property | an `enum` with a variant per branch, serde-tagged on that property |
//! | `oneOf` or `anyOf` alone, otherwise | an untagged `enum` with a variant per branch |
//! | `$ref` alone | the type of its target (a `$defs` entry is a named type, generated once and shared by every event that reaches it); `Box` where it refers back to a type being defined |
//! | `string`, `integer`, `number`, `boolean`, `null` | `String`, `i64`, `f64`, `bool`, `()` |
//! | `array` | `Vec<item>` (keywords of the item in `items(...)`; `Vec<Value>` with `prefixItems`) |
//! | several types, or none | `serde_json::Value` with `type = [...]` |
//! | `null` allowed | `Option<_>` plus `nullable` |
//! | property not required | `Option<_>`; `Option<Option<_>>` if it may also be `null` |
//!
//! Applicators become attributes that name a type per subschema (`all_of(A, B)`, `not(C)`,
//! `if(D)`, `pattern_properties("^x_" = E)`...), each type generated for its subschema (or the
//! runtime's own `String`, `i64`, `f64`, `bool`, `()` and `serde_json::Value` where the
//! subschema is just a type). A `$ref` beside other keywords is the first type of `all_of`.
//!
//! The derive turns the types and attributes back into exactly the schema's assertions, so the
//! validator is generated from what a reader of the crate sees. Annotations survive as doc
//! comments (`description`) and `title`, `default`, `examples` attributes. With serde derives
//! on, every valid event deserializes into its type and serializes back to the same JSON.
//! Output is deterministic: names are derived from the schema only and collisions are settled
//! in schema order.

use std::collections::{BTreeSet, HashMap, HashSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use serde_json::{Number, Value};

use crate::schema::{Document, InstanceType, Reference, Schema, SchemaObject, is_bare_reference};
use crate::validator::Tag;

/// What to derive besides `Event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeOptions {
    /// Also derive serde's `Serialize` and `Deserialize` (for producers), through the runtime's
    /// re-export of serde.
    pub serde: bool,
}

/// Rust items (structs and enums, each with `#[derive(Event)]`) for one schema; the root type is
/// called `root_name` and documented with `description`.
pub fn rust_types(
    root_name: &str,
    document: &Document,
    description: Option<&str>,
    options: TypeOptions,
) -> TokenStream {
    let mut set = TypeSet::new(options);
    set.document(0, root_name, document, description);
    set.finish()
}

/// The types of several documents (a spec's events), generated together so that a `$defs`
/// entry of a shared file becomes one type, whichever events reach it.
#[derive(Debug)]
pub struct TypeSet {
    items: Vec<TokenStream>,
    names: HashSet<String>,
    options: TypeOptions,
    definitions: HashMap<DefinitionKey, Ident>,
}

/// Which definition: one of a shared file (the same for every document that reads the file),
/// or one of a document's own text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum DefinitionKey {
    File(String, String),
    Local(usize, String),
}

/// Names that the derive reads as known types (`shape_of` in `ingest-macros`), so no
/// generated type may take them.
const RESERVED: &[&str] = &[
    "String", "Value", "Vec", "Option", "Box", "BTreeMap", "HashMap", "IndexMap", "Self",
];

impl TypeSet {
    /// An empty set.
    pub fn new(options: TypeOptions) -> Self {
        TypeSet {
            items: Vec::new(),
            names: RESERVED.iter().map(|s| (*s).to_owned()).collect(),
            options,
            definitions: HashMap::new(),
        }
    }

    /// Adds the types of one document, the `index`-th (which tells its own definitions from
    /// another document's); the root type is called `root_name` (or, if a type of an earlier
    /// document took that name, `root_name` with a number: the name is returned).
    pub fn document(
        &mut self,
        index: usize,
        root_name: &str,
        document: &Document,
        description: Option<&str>,
    ) -> Ident {
        let root = fresh(&mut self.names, root_name);
        self.definitions
            .insert(DefinitionKey::Local(index, String::new()), root.clone());
        let mut generator = Generator {
            set: self,
            document,
            index,
            stack: vec![DefinitionKey::Local(index, String::new())],
        };
        generator.root(root.clone(), root_name, &document.root, description);
        root
    }

    /// Every item generated, in order (a type before its parts).
    pub fn finish(self) -> TokenStream {
        let items = self.items;
        quote!(#(#items)*)
    }
}

/// A Rust type name in UpperCamelCase from any text (`shift.created` -> `ShiftCreated`).
pub fn type_name(text: &str) -> String {
    let mut out = String::new();
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'T');
    }
    out
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// A field name in snake_case from any property name.
fn field_name(text: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            if !out.ends_with('_') {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    let trimmed = out.trim_matches('_').to_owned();
    let mut name = if trimmed.is_empty() {
        "field".to_owned()
    } else {
        trimmed
    };
    if name.starts_with(|c: char| c.is_ascii_digit()) || KEYWORDS.contains(&name.as_str()) {
        name.insert(0, '_');
        if KEYWORDS.contains(&&name[1..]) {
            name = format!("{}_", &name[1..]);
        }
    }
    name
}

fn unique(name: String, taken: &mut HashSet<String>) -> String {
    if taken.insert(name.clone()) {
        return name;
    }
    (2..)
        .map(|n| format!("{name}{n}"))
        .find(|candidate| taken.insert(candidate.clone()))
        .unwrap_or(name)
}

fn fresh(names: &mut HashSet<String>, hint: &str) -> Ident {
    let name = unique(type_name(hint), names);
    Ident::new(&name, Span::call_site())
}

fn docs(text: Option<&str>) -> TokenStream {
    let lines: Vec<String> = text
        .unwrap_or_default()
        .lines()
        .map(|line| format!(" {}", line.trim_end()))
        .collect();
    quote!(#(#[doc = #lines])*)
}

fn number_tokens(n: &Number) -> TokenStream {
    if let Some(u) = n.as_u64() {
        let lit = proc_macro2::Literal::u64_unsuffixed(u);
        quote!(#lit)
    } else if let Some(i) = n.as_i64() {
        let lit = proc_macro2::Literal::u64_unsuffixed(i.unsigned_abs());
        quote!(-#lit)
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        let lit = proc_macro2::Literal::f64_unsuffixed(f.abs());
        if f < 0.0 { quote!(-#lit) } else { quote!(#lit) }
    }
}

fn count_literal(n: u64) -> proc_macro2::Literal {
    proc_macro2::Literal::u64_unsuffixed(n)
}

fn type_names(types: &BTreeSet<InstanceType>) -> TokenStream {
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    if let [one] = names.as_slice() {
        quote!(type = #one)
    } else {
        quote!(type = [#(#names),*])
    }
}

/// Every JSON type: the `type` a struct is given when its schema has none (a struct accepts
/// what its schema accepts, objects or not).
pub const ALL_TYPES: [InstanceType; 6] = [
    InstanceType::Null,
    InstanceType::Boolean,
    InstanceType::Object,
    InstanceType::Array,
    InstanceType::Number,
    InstanceType::String,
];

/// The JSON names of the keywords a schema object sets (annotations included).
pub fn present_keywords(object: &SchemaObject) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |set: bool, name: &'static str| {
        if set {
            out.push(name);
        }
    };
    add(object.reference.is_some(), "$ref");
    add(!object.defs.is_empty(), "$defs");
    add(object.anchor.is_some(), "$anchor");
    add(object.types.is_some(), "type");
    add(object.enum_values.is_some(), "enum");
    add(object.const_value.is_some(), "const");
    add(!object.all_of.is_empty(), "allOf");
    add(!object.any_of.is_empty(), "anyOf");
    add(!object.one_of.is_empty(), "oneOf");
    add(object.not.is_some(), "not");
    add(object.if_schema.is_some(), "if");
    add(object.then_schema.is_some(), "then");
    add(object.else_schema.is_some(), "else");
    add(object.minimum.is_some(), "minimum");
    add(object.maximum.is_some(), "maximum");
    add(object.exclusive_minimum.is_some(), "exclusiveMinimum");
    add(object.exclusive_maximum.is_some(), "exclusiveMaximum");
    add(object.multiple_of.is_some(), "multipleOf");
    add(object.min_length.is_some(), "minLength");
    add(object.max_length.is_some(), "maxLength");
    add(object.pattern.is_some(), "pattern");
    add(object.format.is_some(), "format");
    add(!object.prefix_items.is_empty(), "prefixItems");
    add(object.items.is_some(), "items");
    add(object.contains.is_some(), "contains");
    add(object.min_contains.is_some(), "minContains");
    add(object.max_contains.is_some(), "maxContains");
    add(object.min_items.is_some(), "minItems");
    add(object.max_items.is_some(), "maxItems");
    add(object.unique_items, "uniqueItems");
    add(object.unevaluated_items.is_some(), "unevaluatedItems");
    add(!object.properties.is_empty(), "properties");
    add(!object.required.is_empty(), "required");
    add(
        object.additional_properties.is_some(),
        "additionalProperties",
    );
    add(!object.pattern_properties.is_empty(), "patternProperties");
    add(object.property_names.is_some(), "propertyNames");
    add(!object.dependent_required.is_empty(), "dependentRequired");
    add(!object.dependent_schemas.is_empty(), "dependentSchemas");
    add(object.min_properties.is_some(), "minProperties");
    add(object.max_properties.is_some(), "maxProperties");
    add(
        object.unevaluated_properties.is_some(),
        "unevaluatedProperties",
    );
    add(object.title.is_some(), "title");
    add(object.description.is_some(), "description");
    add(object.default.is_some(), "default");
    add(object.examples.is_some(), "examples");
    out
}

/// Whether a schema position becomes a `struct` (one field per property). The derive checks
/// such a position through the struct's own `Event` implementation; `ingest-eval` mirrors that
/// through this same test.
pub fn needs_struct(object: &SchemaObject) -> bool {
    !object.properties.is_empty()
        || !object.required.is_empty()
        || object.additional_properties.is_some()
        || !object.pattern_properties.is_empty()
}

/// Whether a schema position becomes an `enum` of unit variants (a string enum): its values
/// must then be strings, whatever `type` says (`type` is absent or `string`).
pub fn is_string_enum(object: &SchemaObject) -> bool {
    let only_strings = object
        .enum_values
        .as_ref()
        .is_some_and(|values| values.iter().all(Value::is_string));
    let typed_string = match &object.types {
        None => true,
        Some(types) => types.len() == 1 && types.contains(&InstanceType::String),
    };
    only_strings
        && typed_string
        && present_keywords(object).iter().all(|k| {
            matches!(
                *k,
                "enum"
                    | "type"
                    | "minLength"
                    | "maxLength"
                    | "pattern"
                    | "format"
                    | "$defs"
                    | "$anchor"
                    | "title"
                    | "description"
                    | "default"
                    | "examples"
            )
        })
}

/// Whether a schema position becomes an `enum` with a variant per branch: it is a `oneOf` or an
/// `anyOf` (not both) and says nothing else but `type` and annotations.
pub fn is_union(object: &SchemaObject) -> bool {
    (object.one_of.is_empty() != object.any_of.is_empty())
        && present_keywords(object).iter().all(|k| {
            matches!(
                *k,
                "oneOf"
                    | "anyOf"
                    | "type"
                    | "$defs"
                    | "$anchor"
                    | "title"
                    | "description"
                    | "default"
                    | "examples"
            )
        })
}

/// The property that tells a union's branches apart, if there is one: every branch (a `$ref`
/// alone followed to its target) is an object schema (`type: object`) that requires the
/// property and gives it a string `const` (or a one-string `enum`), a different one per
/// branch. The first such property of the first branch wins.
///
/// Such a union is an enum serde-tags on that property, and its validators read the property
/// and check only the branch it selects: no other branch can match, so the verdict is the
/// union's.
pub fn discriminator(document: &Document, branches: &[Schema]) -> Option<Tag> {
    let objects: Vec<&SchemaObject> = branches
        .iter()
        .map(|b| document.resolve(b).as_object())
        .collect::<Option<_>>()?;
    let object_only = |o: &SchemaObject| {
        o.types
            .as_ref()
            .is_some_and(|t| t.len() == 1 && t.contains(&InstanceType::Object))
    };
    if objects.len() < 2 || !objects.iter().all(|o| object_only(o)) {
        return None;
    }
    let constant = |o: &SchemaObject, name: &str| -> Option<String> {
        if !o.required.iter().any(|r| r == name) {
            return None;
        }
        let property = document.resolve(o.property(name)?).as_object()?;
        let only = present_keywords(property)
            .iter()
            .all(|k| matches!(*k, "const" | "enum" | "type" | "title" | "description"));
        let typed_string = property
            .types
            .as_ref()
            .is_none_or(|t| t.len() == 1 && t.contains(&InstanceType::String));
        if !only || !typed_string {
            return None;
        }
        match (&property.const_value, &property.enum_values) {
            (Some(Value::String(value)), None) => Some(value.clone()),
            (None, Some(values)) if values.len() == 1 => values[0].as_str().map(str::to_owned),
            _ => None,
        }
    };
    objects[0].properties.iter().find_map(|(name, _)| {
        let values: Vec<String> = objects
            .iter()
            .map(|o| constant(o, name))
            .collect::<Option<_>>()?;
        let distinct: HashSet<&String> = values.iter().collect();
        (distinct.len() == values.len()).then(|| Tag {
            property: name.clone(),
            values,
        })
    })
}

/// A Rust type for one schema position and the keywords it still needs.
struct Shape {
    ty: TokenStream,
    keywords: Vec<TokenStream>,
    nullable: bool,
    /// The type is a definition being generated (a reference back up): it needs a `Box`
    /// wherever it is held directly.
    recursive: bool,
}

impl Shape {
    fn plain(ty: TokenStream) -> Self {
        Shape {
            ty,
            keywords: Vec::new(),
            nullable: false,
            recursive: false,
        }
    }

    /// The type as held in a field, a variant or a newtype: boxed when recursive.
    fn held(&self) -> TokenStream {
        let ty = &self.ty;
        if self.recursive {
            quote!(::std::boxed::Box<#ty>)
        } else {
            quote!(#ty)
        }
    }
}

fn value_type() -> TokenStream {
    quote!(::ingest_runtime::__private::serde_json::Value)
}

struct Generator<'s, 'd> {
    set: &'s mut TypeSet,
    document: &'d Document,
    index: usize,
    /// The definitions (and the root) whose types are being generated.
    stack: Vec<DefinitionKey>,
}

impl Generator<'_, '_> {
    fn fresh(&mut self, hint: &str) -> Ident {
        fresh(&mut self.set.names, hint)
    }

    fn derives(&self) -> TokenStream {
        if self.set.options.serde {
            quote! {
                #[derive(
                    Debug, Clone, PartialEq,
                    ::ingest_runtime::__private::serde::Serialize,
                    ::ingest_runtime::__private::serde::Deserialize,
                    ::ingest_runtime::Event,
                )]
                #[serde(crate = "::ingest_runtime::__private::serde")]
            }
        } else {
            quote!(#[derive(Debug, ::ingest_runtime::Event)])
        }
    }

    fn push(&mut self, item: TokenStream) {
        self.set.items.push(item);
    }

    /// Reserves the place of an item, so a type comes before the types of its parts.
    fn slot(&mut self) -> usize {
        self.set.items.push(TokenStream::new());
        self.set.items.len() - 1
    }

    fn root(&mut self, ident: Ident, name: &str, schema: &Schema, description: Option<&str>) {
        let fallback = format!("The data of `{name}` events.");
        let doc = docs(Some(
            description
                .or_else(|| schema.as_object().and_then(|o| o.description.as_deref()))
                .unwrap_or(&fallback),
        ));
        self.named(ident, schema, doc);
    }

    /// The type `ident` for a schema, as the root of a document or a definition: a struct, an
    /// enum, an alias of a referenced type, or a newtype.
    fn named(&mut self, ident: Ident, schema: &Schema, doc: TokenStream) {
        let hint = ident.to_string();
        match schema.as_object() {
            Some(object) if is_bare_reference(object) => {
                let reference = object.reference.as_ref().expect("a bare reference");
                let target = self.reference(reference).ty;
                self.push(quote! {
                    #doc
                    pub type #ident = #target;
                });
            }
            Some(object) if is_union(object) => self.union(ident, object, doc),
            Some(object) if needs_struct(object) => self.structure(ident, object, doc, None),
            Some(object) if is_string_enum(object) => self.enumeration(ident, object, doc),
            _ => {
                let slot = self.slot();
                let shape = self.shape(schema, &hint);
                let mut keywords = shape.keywords.clone();
                let held = shape.held();
                let ty = if shape.nullable {
                    keywords.push(quote!(nullable));
                    quote!(::core::option::Option<#held>)
                } else {
                    held
                };
                let derives = self.derives();
                let attribute = (!keywords.is_empty()).then(|| quote!(#[event(#(#keywords),*)]));
                let inner_doc = docs(Some("The value."));
                self.set.items[slot] = quote! {
                    #doc
                    #derives
                    #attribute
                    pub struct #ident(#inner_doc pub #ty);
                };
            }
        }
    }

    fn key(&self, reference: &Reference) -> DefinitionKey {
        let definition = &self.document.definitions[reference.target];
        match &definition.file {
            Some(file) => DefinitionKey::File(file.clone(), definition.pointer.clone()),
            None => DefinitionKey::Local(self.index, definition.pointer.clone()),
        }
    }

    /// The type of a reference's target, generated on first sight.
    fn reference(&mut self, reference: &Reference) -> Shape {
        let key = self.key(reference);
        let recursive = self.stack.contains(&key);
        if let Some(ident) = self.set.definitions.get(&key) {
            return Shape {
                ty: quote!(#ident),
                keywords: Vec::new(),
                nullable: false,
                recursive,
            };
        }
        let definition = &self.document.definitions[reference.target];
        let ident = self.fresh(&definition.name);
        self.set.definitions.insert(key.clone(), ident.clone());
        let schema = definition.schema.clone();
        let fallback = format!("The schema `{}`.", reference.written);
        let doc = docs(Some(
            schema
                .as_object()
                .and_then(|o| o.description.as_deref())
                .unwrap_or(&fallback),
        ));
        self.stack.push(key);
        self.named(ident.clone(), &schema, doc);
        self.stack.pop();
        Shape::plain(quote!(#ident))
    }

    /// A type that validates a subschema on its own (an applicator's branch): the target of a
    /// bare `$ref`, the runtime's `String`, `i64`, `f64`, `bool`, `()` or `Value` for a schema
    /// that is just a type, or a type generated for it.
    fn branch(&mut self, schema: &Schema, hint: &str) -> Shape {
        if let Schema::Bool(true) = schema {
            return Shape::plain(value_type());
        }
        if let Some(object) = schema.as_object()
            && is_bare_reference(object)
        {
            let reference = object.reference.as_ref().expect("a bare reference");
            return self.reference(reference);
        }
        if let Some(object) = schema.as_object()
            && !needs_struct(object)
            && !is_union(object)
            && !is_string_enum(object)
        {
            let only_type = present_keywords(object).iter().all(|k| {
                matches!(
                    *k,
                    "type" | "title" | "description" | "default" | "examples"
                )
            });
            let single = object
                .types
                .as_ref()
                .filter(|t| t.len() == 1)
                .and_then(|t| t.first().copied());
            if only_type {
                let ty = match single {
                    Some(InstanceType::String) => Some(quote!(::std::string::String)),
                    Some(InstanceType::Integer) => Some(quote!(i64)),
                    Some(InstanceType::Number) => Some(quote!(f64)),
                    Some(InstanceType::Boolean) => Some(quote!(bool)),
                    Some(InstanceType::Null) => Some(quote!(())),
                    None if object.types.is_none() => Some(value_type()),
                    _ => None,
                };
                if let Some(ty) = ty {
                    return Shape::plain(ty);
                }
            }
        }
        let ident = self.fresh(hint);
        self.named(
            ident.clone(),
            schema,
            docs(Some(&format!("A subschema: `{hint}`."))),
        );
        Shape::plain(quote!(#ident))
    }

    /// The type of a subschema for an attribute (`all_of(T)`): never boxed.
    fn branch_type(&mut self, schema: &Schema, hint: &str) -> TokenStream {
        self.branch(schema, hint).ty
    }

    /// The keywords that apply whatever the Rust type (annotations, enum, const, applicators,
    /// and each type's own keywords); the Rust type adds none of its own.
    fn keywords(&mut self, object: &SchemaObject, hint: &str) -> Vec<TokenStream> {
        let mut k = Vec::new();
        if let Some(v) = object.min_length {
            let v = count_literal(v);
            k.push(quote!(min_length = #v));
        }
        if let Some(v) = object.max_length {
            let v = count_literal(v);
            k.push(quote!(max_length = #v));
        }
        if let Some(v) = &object.pattern {
            k.push(quote!(pattern = #v));
        }
        if let Some(v) = object.format {
            let v = v.as_str();
            k.push(quote!(format = #v));
        }
        for (value, key) in [
            (&object.minimum, quote!(minimum)),
            (&object.maximum, quote!(maximum)),
            (&object.exclusive_minimum, quote!(exclusive_minimum)),
            (&object.exclusive_maximum, quote!(exclusive_maximum)),
            (&object.multiple_of, quote!(multiple_of)),
        ] {
            if let Some(n) = value {
                let n = number_tokens(n);
                k.push(quote!(#key = #n));
            }
        }
        if !object.prefix_items.is_empty() {
            let types: Vec<TokenStream> = object
                .prefix_items
                .iter()
                .enumerate()
                .map(|(i, s)| self.branch_type(s, &format!("{hint}Item{i}")))
                .collect();
            k.push(quote!(prefix_items(#(#types),*)));
        }
        if let Some(contains) = &object.contains {
            let ty = self.branch_type(contains, &format!("{hint}Contains"));
            k.push(quote!(contains(#ty)));
            if let Some(v) = object.min_contains {
                let v = count_literal(v);
                k.push(quote!(min_contains = #v));
            }
            if let Some(v) = object.max_contains {
                let v = count_literal(v);
                k.push(quote!(max_contains = #v));
            }
        }
        if let Some(v) = object.min_items {
            let v = count_literal(v);
            k.push(quote!(min_items = #v));
        }
        if let Some(v) = object.max_items {
            let v = count_literal(v);
            k.push(quote!(max_items = #v));
        }
        if object.unique_items {
            k.push(quote!(unique_items));
        }
        if let Some(rest) = &object.unevaluated_items {
            k.push(match rest {
                Schema::Bool(false) => quote!(unevaluated_items = false),
                other => {
                    let ty = self.branch_type(other, &format!("{hint}UnevaluatedItem"));
                    quote!(unevaluated_items(#ty))
                }
            });
        }
        if !object.pattern_properties.is_empty() {
            let entries: Vec<TokenStream> = object
                .pattern_properties
                .iter()
                .enumerate()
                .map(|(i, (pattern, s))| {
                    let ty = self.branch_type(s, &format!("{hint}Pattern{i}"));
                    quote!(#pattern = #ty)
                })
                .collect();
            k.push(quote!(pattern_properties(#(#entries),*)));
        }
        if let Some(names) = &object.property_names {
            let ty = self.branch_type(names, &format!("{hint}Name"));
            k.push(quote!(property_names(#ty)));
        }
        if !object.dependent_required.is_empty() {
            let entries = object
                .dependent_required
                .iter()
                .map(|(name, names)| quote!(#name = [#(#names),*]));
            k.push(quote!(dependent_required(#(#entries),*)));
        }
        if !object.dependent_schemas.is_empty() {
            let entries: Vec<TokenStream> = object
                .dependent_schemas
                .iter()
                .map(|(name, s)| {
                    let ty = self.branch_type(s, &format!("{hint}If{}", type_name(name)));
                    quote!(#name = #ty)
                })
                .collect();
            k.push(quote!(dependent_schemas(#(#entries),*)));
        }
        if let Some(v) = object.min_properties {
            let v = count_literal(v);
            k.push(quote!(min_properties = #v));
        }
        if let Some(v) = object.max_properties {
            let v = count_literal(v);
            k.push(quote!(max_properties = #v));
        }
        if let Some(rest) = &object.unevaluated_properties {
            k.push(match rest {
                Schema::Bool(false) => quote!(unevaluated_properties = false),
                other => {
                    let ty = self.branch_type(other, &format!("{hint}Unevaluated"));
                    quote!(unevaluated_properties(#ty))
                }
            });
        }
        if let Some(values) = &object.enum_values {
            let text = Value::Array(values.clone()).to_string();
            k.push(quote!(enum = #text));
        }
        if let Some(value) = &object.const_value {
            let text = value.to_string();
            k.push(quote!(const = #text));
        }
        let mut all_of: Vec<TokenStream> = Vec::new();
        if let Some(reference) = &object.reference {
            all_of.push(self.reference(reference).ty);
        }
        for (i, s) in object.all_of.iter().enumerate() {
            all_of.push(self.branch_type(s, &format!("{hint}AllOf{i}")));
        }
        if !all_of.is_empty() {
            k.push(quote!(all_of(#(#all_of),*)));
        }
        for (branches, key, name) in [
            (&object.any_of, quote!(any_of), "AnyOf"),
            (&object.one_of, quote!(one_of), "OneOf"),
        ] {
            if branches.is_empty() {
                continue;
            }
            let types: Vec<TokenStream> = branches
                .iter()
                .enumerate()
                .map(|(i, s)| self.branch_type(s, &format!("{hint}{name}{i}")))
                .collect();
            k.push(quote!(#key(#(#types),*)));
        }
        if let Some(not) = &object.not {
            let ty = self.branch_type(not, &format!("{hint}Not"));
            k.push(quote!(not(#ty)));
        }
        if let Some(test) = &object.if_schema {
            let ty = self.branch_type(test, &format!("{hint}If"));
            k.push(quote!(if(#ty)));
            if let Some(then) = &object.then_schema {
                let ty = self.branch_type(then, &format!("{hint}Then"));
                k.push(quote!(then(#ty)));
            }
            if let Some(otherwise) = &object.else_schema {
                let ty = self.branch_type(otherwise, &format!("{hint}Else"));
                k.push(quote!(else(#ty)));
            }
        }
        if let Some(title) = &object.title {
            k.push(quote!(title = #title));
        }
        if let Some(value) = &object.default {
            let text = value.to_string();
            k.push(quote!(default = #text));
        }
        if let Some(values) = &object.examples {
            let text = Value::Array(values.clone()).to_string();
            k.push(quote!(examples = #text));
        }
        k
    }

    /// `items(...)` for a position whose Rust type does not give the element type (a `Value`,
    /// a `Vec<Value>` after `prefixItems`, or a struct container).
    fn loose_items(&mut self, object: &SchemaObject, hint: &str, keywords: &mut Vec<TokenStream>) {
        if let Some(items) = &object.items {
            // Even `items()`: `items: true` evaluates every item for `unevaluatedItems`.
            let item = self.shape(items, &format!("{hint}Item"));
            let group = self.group("items", item);
            keywords.push(group);
        }
    }

    /// `items(...)` or `values(...)` for a position whose Rust type does not give the element
    /// type: the element's Rust type goes in `ty` unless it is a `Value`.
    fn group(&mut self, name: &str, shape: Shape) -> TokenStream {
        let key = format_ident!("{}", name);
        let ty = shape.held();
        let Shape {
            mut keywords,
            nullable,
            ..
        } = shape;
        if nullable {
            keywords.push(quote!(nullable));
        }
        if ty.to_string() != value_type().to_string() {
            keywords.insert(0, quote!(ty = #ty));
        }
        quote!(#key(#(#keywords),*))
    }

    fn shape(&mut self, schema: &Schema, hint: &str) -> Shape {
        let value = value_type();
        let object = match schema {
            Schema::Bool(true) => return Shape::plain(value),
            Schema::Bool(false) => {
                return Shape {
                    keywords: vec![quote!(never)],
                    ..Shape::plain(value)
                };
            }
            Schema::Object(object) => object,
        };
        if is_bare_reference(object) {
            let reference = object.reference.as_ref().expect("a bare reference");
            return self.reference(reference);
        }
        let fallback = format!("The `{hint}` value.");
        let doc = docs(Some(object.description.as_deref().unwrap_or(&fallback)));
        let non_null: Option<BTreeSet<InstanceType>> = object.types.as_ref().map(|t| {
            t.iter()
                .copied()
                .filter(|t| *t != InstanceType::Null)
                .collect()
        });
        let has_null = object
            .types
            .as_ref()
            .is_some_and(|t| t.contains(&InstanceType::Null));

        if is_union(object) {
            let ident = self.fresh(hint);
            self.union(ident.clone(), object, doc);
            return Shape::plain(quote!(#ident));
        }
        if needs_struct(object) {
            let ident = self.fresh(hint);
            let nullable = has_null
                && non_null
                    .as_ref()
                    .is_some_and(|t| t.len() == 1 && t.contains(&InstanceType::Object));
            let mut container = object.clone();
            if nullable {
                container.types = Some([InstanceType::Object].into());
            }
            self.structure(ident.clone(), &container, doc, None);
            return Shape {
                nullable,
                ..Shape::plain(quote!(#ident))
            };
        }
        if is_string_enum(object) {
            let ident = self.fresh(hint);
            self.enumeration(ident.clone(), object, doc);
            return Shape::plain(quote!(#ident));
        }
        let mut keywords = self.keywords(object, hint);
        let single = non_null
            .as_ref()
            .filter(|t| t.len() == 1)
            .and_then(|t| t.first().copied());
        let ty = match single {
            Some(InstanceType::String) => quote!(::std::string::String),
            Some(InstanceType::Integer) => quote!(i64),
            Some(InstanceType::Number) => quote!(f64),
            Some(InstanceType::Boolean) => quote!(bool),
            Some(InstanceType::Array) if !object.prefix_items.is_empty() => {
                self.loose_items(object, hint, &mut keywords);
                quote!(::std::vec::Vec<#value>)
            }
            Some(InstanceType::Array) => {
                let item = match &object.items {
                    Some(items) => self.shape(items, &format!("{hint}Item")),
                    None => Shape::plain(value.clone()),
                };
                let item_ty = &item.ty;
                let element = if item.nullable {
                    quote!(::core::option::Option<#item_ty>)
                } else {
                    quote!(#item_ty)
                };
                // `items()` says that `items` is there when the element type cannot (a
                // `Value`): it evaluates every item for `unevaluatedItems`.
                let says_nothing = object.items.is_some()
                    && item.ty.to_string() == value.to_string()
                    && !item.nullable;
                if !item.keywords.is_empty() || says_nothing {
                    let inner = &item.keywords;
                    keywords.push(quote!(items(#(#inner),*)));
                }
                quote!(::std::vec::Vec<#element>)
            }
            _ => {
                // Several types, or any: a JSON value; `null` stays in `type`.
                if non_null.as_ref().is_some_and(BTreeSet::is_empty) {
                    return Shape {
                        keywords,
                        ..Shape::plain(quote!(()))
                    };
                }
                if let Some(types) = &object.types {
                    keywords.insert(0, type_names(types));
                }
                self.loose_items(object, hint, &mut keywords);
                return Shape {
                    keywords,
                    ..Shape::plain(value)
                };
            }
        };
        Shape {
            ty,
            keywords,
            nullable: has_null,
            recursive: false,
        }
    }

    /// A struct for an object schema. `tag` is the property a tagged union's enum writes
    /// (with its value for this variant): serde leaves it to the enum.
    fn structure(
        &mut self,
        ident: Ident,
        object: &SchemaObject,
        doc: TokenStream,
        tag: Option<(&str, &str)>,
    ) {
        // The type comes before the types of its fields.
        let slot = self.slot();
        let hint = ident.to_string();
        let mut container = self.keywords(object, &hint);
        match &object.types {
            Some(types) if types.len() == 1 && types.contains(&InstanceType::Object) => {}
            Some(types) => container.insert(0, type_names(types)),
            None => container.insert(0, type_names(&ALL_TYPES.into_iter().collect())),
        }
        self.loose_items(object, &hint, &mut container);
        if object.additional_properties == Some(Schema::Bool(false)) {
            container.push(quote!(additional_properties = false));
        }
        let undeclared: Vec<&String> = object
            .required
            .iter()
            .filter(|name| object.property(name).is_none())
            .collect();
        if !undeclared.is_empty() {
            container.push(quote!(required = [#(#undeclared),*]));
        }
        let mut taken = HashSet::new();
        let mut fields = Vec::new();
        let mut extra_items = Vec::new();
        let serde = self.set.options.serde;
        for (name, schema) in &object.properties {
            let required = object.required.iter().any(|r| r == name);
            let field = unique(field_name(name), &mut taken);
            let field_ident = Ident::new(&field, Span::call_site());
            let field_doc = schema
                .as_object()
                .and_then(|o| o.description.clone())
                .unwrap_or_else(|| format!("The `{name}` property."));
            let field_doc = docs(Some(&field_doc));
            let shape = self.shape(schema, &format!("{hint}{}", type_name(name)));
            let held = shape.held();
            let Shape {
                mut keywords,
                nullable,
                ..
            } = shape;
            let mut serde_attrs = Vec::new();
            if field != *name {
                keywords.insert(0, quote!(rename = #name));
                serde_attrs.push(quote!(rename = #name));
            }
            let ty = match (nullable, required) {
                (true, true) => {
                    keywords.push(quote!(nullable));
                    keywords.push(quote!(required));
                    quote!(::core::option::Option<#held>)
                }
                (true, false) => {
                    serde_attrs.push(quote!(
                        default,
                        skip_serializing_if = "Option::is_none",
                        with = "::ingest_runtime::__private::double_option"
                    ));
                    quote!(::core::option::Option<::core::option::Option<#held>>)
                }
                (false, false) => {
                    serde_attrs.push(quote!(default, skip_serializing_if = "Option::is_none"));
                    quote!(::core::option::Option<#held>)
                }
                (false, true) => held,
            };
            if let Some((property, value)) = tag
                && property == name
                && serde
            {
                // The enum writes the tag; reading, serde hands the variant the other keys.
                let function = format_ident!("tag_{}", field);
                let path = format!("{ident}::{function}");
                serde_attrs.push(quote!(skip_serializing, default = #path));
                extra_items.push(quote! {
                    impl #ident {
                        fn #function() -> #ty {
                            ::core::convert::From::from(#value)
                        }
                    }
                });
            }
            let event_attr = (!keywords.is_empty()).then(|| quote!(#[event(#(#keywords),*)]));
            let serde_attr =
                (serde && !serde_attrs.is_empty()).then(|| quote!(#[serde(#(#serde_attrs),*)]));
            fields.push(quote! {
                #field_doc
                #event_attr
                #serde_attr
                pub #field_ident: #ty
            });
        }
        // The other properties' map: unless `additionalProperties` is false, and even then for
        // the keys `patternProperties` matches.
        if object.additional_properties != Some(Schema::Bool(false))
            || !object.pattern_properties.is_empty()
        {
            let field = unique("additional_properties".to_owned(), &mut taken);
            let field_ident = Ident::new(&field, Span::call_site());
            let serde_attr = serde.then(|| quote!(#[serde(flatten)]));
            let (value_ty, attribute) = match &object.additional_properties {
                None | Some(Schema::Bool(false)) => (value_type(), quote!(#[event(additional)])),
                Some(additional) => {
                    let shape = self.shape(additional, &format!("{hint}Value"));
                    if object.pattern_properties.is_empty() {
                        // Every other key's value has the schema's type.
                        let held = shape.held();
                        let Shape {
                            keywords, nullable, ..
                        } = shape;
                        let value_ty = if nullable {
                            quote!(::core::option::Option<#held>)
                        } else {
                            held
                        };
                        // A typed map checks its values; a map of JSON values needs
                        // `values(...)` to say the keyword is there.
                        let attribute = if keywords.is_empty()
                            && value_ty.to_string() != value_type().to_string()
                        {
                            quote!(#[event(additional)])
                        } else {
                            quote!(#[event(additional, values(#(#keywords),*))])
                        };
                        (value_ty, attribute)
                    } else {
                        // Keys that patterns match are in the map too, with values of their
                        // own: the map holds JSON values, checked as `ty`.
                        let group = self.group("values", shape);
                        (value_type(), quote!(#[event(additional, #group)]))
                    }
                }
            };
            fields.push(quote! {
                /// Properties not listed above, by name.
                #attribute
                #serde_attr
                pub #field_ident: ::std::collections::BTreeMap<::std::string::String, #value_ty>
            });
        }
        let derives = self.derives();
        let attribute = (!container.is_empty()).then(|| quote!(#[event(#(#container),*)]));
        self.set.items[slot] = quote! {
            #doc
            #derives
            #attribute
            pub struct #ident {
                #(#fields),*
            }
            #(#extra_items)*
        };
    }

    fn enumeration(&mut self, ident: Ident, object: &SchemaObject, doc: TokenStream) {
        let hint = ident.to_string();
        let container = self.keywords(
            &SchemaObject {
                enum_values: None,
                ..object.clone()
            },
            &hint,
        );
        let mut taken = HashSet::new();
        let serde = self.set.options.serde;
        let variants = object
            .enum_values
            .iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|value| {
                let name = unique(type_name(value), &mut taken);
                let variant = Ident::new(&name, Span::call_site());
                let variant_doc = docs(Some(&format!("`{value}`")));
                let serde_attr = serde.then(|| quote!(#[serde(rename = #value)]));
                quote! {
                    #variant_doc
                    #[event(rename = #value)]
                    #serde_attr
                    #variant
                }
            });
        let variants: Vec<TokenStream> = variants.collect();
        let derives = self.derives();
        let attribute = (!container.is_empty()).then(|| quote!(#[event(#(#container),*)]));
        let extra = (!serde)
            .then(TokenStream::new)
            .unwrap_or_else(|| quote!(#[derive(Copy, Eq, Hash)]));
        self.push(quote! {
            #doc
            #derives
            #extra
            #attribute
            pub enum #ident {
                #(#variants),*
            }
        });
    }

    /// An enum with a variant per branch of a `oneOf` or `anyOf`.
    fn union(&mut self, ident: Ident, object: &SchemaObject, doc: TokenStream) {
        let slot = self.slot();
        let hint = ident.to_string();
        let (keyword, branches) = if object.one_of.is_empty() {
            (quote!(any_of), &object.any_of)
        } else {
            (quote!(one_of), &object.one_of)
        };
        let tag = discriminator(self.document, branches);
        let serde = self.set.options.serde;
        let mut container = vec![keyword];
        if let Some(types) = &object.types {
            container.push(type_names(types));
        }
        if let Some(tag) = &tag {
            let property = &tag.property;
            container.push(quote!(tag = #property));
        }
        container.extend(self.keywords(
            &SchemaObject {
                any_of: Vec::new(),
                one_of: Vec::new(),
                types: None,
                ..object.clone()
            },
            &hint,
        ));
        let mut taken = HashSet::new();
        let mut variants = Vec::new();
        for (i, branch) in branches.iter().enumerate() {
            let (name, payload, attributes) = match &tag {
                Some(tag) => {
                    let value = &tag.values[i];
                    let name = unique(type_name(value), &mut taken);
                    // A fresh struct for the branch, so its tag field can leave the tag to
                    // the enum (a `$defs` type may be used elsewhere, untagged).
                    let resolved = self.document.resolve(branch).clone();
                    let object = resolved.as_object().expect("a tagged branch is an object");
                    let struct_ident = self.fresh(&format!("{hint}{name}"));
                    let branch_doc = docs(Some(
                        object
                            .description
                            .as_deref()
                            .unwrap_or(&format!("The `{value}` variant's data.")),
                    ));
                    self.structure(
                        struct_ident.clone(),
                        object,
                        branch_doc,
                        Some((&tag.property, value)),
                    );
                    let serde_attr = serde.then(|| quote!(#[serde(rename = #value)]));
                    (
                        name,
                        quote!(#struct_ident),
                        quote!(#[event(rename = #value)] #serde_attr),
                    )
                }
                None => {
                    let name = unique(self.variant_name(branch, i), &mut taken);
                    let payload = self.branch(branch, &format!("{hint}{name}")).held();
                    (name, payload, TokenStream::new())
                }
            };
            let variant = Ident::new(&name, Span::call_site());
            let variant_doc = docs(Some(&format!("Branch {i}.")));
            variants.push(quote! {
                #variant_doc
                #attributes
                #variant(#payload)
            });
        }
        let derives = self.derives();
        let serde_attr = match (&tag, serde) {
            (Some(tag), true) => {
                let property = &tag.property;
                quote!(#[serde(tag = #property)])
            }
            (None, true) => quote!(#[serde(untagged)]),
            (_, false) => TokenStream::new(),
        };
        self.set.items[slot] = quote! {
            #doc
            #derives
            #serde_attr
            #[event(#(#container),*)]
            pub enum #ident {
                #(#variants),*
            }
        };
    }

    /// A variant name for an untagged branch: its `$ref`'s name, its title, or its type.
    fn variant_name(&self, branch: &Schema, index: usize) -> String {
        let Some(object) = branch.as_object() else {
            return format!("Variant{index}");
        };
        if is_bare_reference(object)
            && let Some(reference) = &object.reference
        {
            return type_name(&self.document.definitions[reference.target].name);
        }
        if let Some(title) = &object.title {
            return type_name(title);
        }
        match object
            .types
            .as_ref()
            .filter(|t| t.len() == 1)
            .and_then(|t| t.first())
        {
            Some(t) => type_name(t.as_str()),
            None => format!("Variant{index}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::parse;
    use serde_json::json;

    #[test]
    fn names() {
        assert_eq!(type_name("shift.created"), "ShiftCreated");
        assert_eq!(type_name("9lives"), "T9lives");
        assert_eq!(field_name("createdBy"), "created_by");
        assert_eq!(field_name("type"), "type_");
        assert_eq!(field_name("foo\nbar"), "foo_bar");
        assert_eq!(field_name(""), "field");
        assert_eq!(field_name("1st"), "_1st");
    }

    fn generated(schema: Value) -> String {
        let document = parse(&schema).expect("a valid schema");
        crate::events::format_tokens(rust_types(
            "Root",
            &document,
            None,
            TypeOptions { serde: true },
        ))
    }

    #[test]
    fn unions_become_enums_tagged_where_a_const_tells_them_apart() {
        let code = generated(json!({
            "$defs": {
                "circle": {"type": "object", "required": ["kind", "r"], "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}}},
                "square": {"type": "object", "required": ["kind"], "properties": {"kind": {"const": "square"}, "side": {"type": "number"}}}
            },
            "oneOf": [{"$ref": "#/$defs/circle"}, {"$ref": "#/$defs/square"}]
        }));
        for expected in [
            "#[serde(tag = \"kind\")]",
            "#[event(one_of, tag = \"kind\")]",
            "pub enum Root {",
            "Circle(RootCircle)",
            "#[serde(skip_serializing, default = \"RootCircle::tag_kind\")]",
        ] {
            assert!(code.contains(expected), "lacks {expected:?}:\n{code}");
        }
        let code =
            generated(json!({"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 1}]}));
        for expected in [
            "#[serde(untagged)]",
            "String(::std::string::String)",
            "Integer(RootInteger)",
        ] {
            assert!(code.contains(expected), "lacks {expected:?}:\n{code}");
        }
    }

    #[test]
    fn recursion_is_boxed_and_definitions_are_named_once() {
        let code = generated(json!({
            "type": "object",
            "properties": {
                "left": {"$ref": "#/$defs/node"},
                "right": {"$ref": "#/$defs/node"},
                "children": {"type": "array", "items": {"$ref": "#"}}
            },
            "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}}
        }));
        assert_eq!(code.matches("pub struct Node {").count(), 1, "{code}");
        assert!(
            code.contains("pub next: ::core::option::Option<::std::boxed::Box<Node>>"),
            "{code}"
        );
        assert!(
            code.contains("pub left: ::core::option::Option<Node>"),
            "{code}"
        );
        assert!(code.contains("::std::vec::Vec<Root>"), "{code}");
    }
}
