//! Schema -> Rust types annotated for `#[derive(Event)]` (the typify habit: one generator,
//! used by `ingest synth` for event crates and by the conformance tests for the suite).
//!
//! Each schema position becomes a Rust type plus the `#[event(...)]` keywords that the Rust type
//! alone does not say:
//!
//! | schema | Rust |
//! | --- | --- |
//! | object with `properties`, `required` or `additionalProperties` | a `struct`, one field per property |
//! | string `enum` | an `enum` of unit variants |
//! | `string`, `integer`, `number`, `boolean`, `null` | `String`, `i64`, `f64`, `bool`, `()` |
//! | `array` | `Vec<item>` (keywords of the item in `items(...)`) |
//! | several types, or none | `serde_json::Value` with `type = [...]` |
//! | `null` allowed | `Option<_>` plus `nullable` |
//! | property not required | `Option<_>` |
//! | `additionalProperties` with a schema | a `#[event(additional)]` map field |
//!
//! The derive turns the types and attributes back into exactly the schema's assertions, so the
//! validator is generated from what a reader of the crate sees. Annotations survive as doc
//! comments (`description`) and `title`, `default`, `examples` attributes. Output is
//! deterministic: names are derived from the schema only and collisions are settled in schema
//! order.

use std::collections::{BTreeSet, HashSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use serde_json::{Number, Value};

use crate::schema::{InstanceType, Schema, SchemaObject};

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
    schema: &Schema,
    description: Option<&str>,
    options: TypeOptions,
) -> TokenStream {
    let mut generator = Generator {
        items: Vec::new(),
        names: HashSet::new(),
        options,
    };
    generator.root(root_name, schema, description);
    let items = generator.items;
    quote!(#(#items)*)
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

/// A Rust type for one schema position and the keywords it still needs.
struct Shape {
    ty: TokenStream,
    keywords: Vec<TokenStream>,
    nullable: bool,
}

struct Generator {
    items: Vec<TokenStream>,
    names: HashSet<String>,
    options: TypeOptions,
}

/// Whether a schema position becomes a `struct` (one field per property). The derive checks
/// such a position through the struct's own `Event` implementation; `ingest-eval` mirrors that
/// through this same test.
pub fn needs_struct(object: &SchemaObject) -> bool {
    !object.properties.is_empty()
        || !object.required.is_empty()
        || matches!(&object.additional_properties, Some(s) if *s != Schema::Bool(true))
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
        && object.const_value.is_none()
        && object.minimum.is_none()
        && object.maximum.is_none()
        && object.exclusive_minimum.is_none()
        && object.exclusive_maximum.is_none()
        && object.multiple_of.is_none()
        && object.items.is_none()
        && object.min_items.is_none()
        && object.max_items.is_none()
        && !object.unique_items
        && !needs_struct(object)
        && object.min_properties.is_none()
        && object.max_properties.is_none()
}

impl Generator {
    fn fresh(&mut self, hint: &str) -> Ident {
        let name = unique(type_name(hint), &mut self.names);
        Ident::new(&name, Span::call_site())
    }

    fn derives(&self) -> TokenStream {
        if self.options.serde {
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

    fn root(&mut self, name: &str, schema: &Schema, description: Option<&str>) {
        let ident = self.fresh(name);
        let fallback = format!("The data of `{name}` events.");
        let doc = docs(Some(
            description
                .or_else(|| schema.as_object().and_then(|o| o.description.as_deref()))
                .unwrap_or(&fallback),
        ));
        match schema.as_object() {
            Some(object) if needs_struct(object) => self.structure(ident, object, doc),
            Some(object) if is_string_enum(object) => self.enumeration(ident, object, doc),
            _ => {
                let slot = self.items.len();
                self.items.push(TokenStream::new());
                let shape = self.shape(schema, name);
                let Shape {
                    ty,
                    mut keywords,
                    nullable,
                } = shape;
                let ty = if nullable {
                    keywords.push(quote!(nullable));
                    quote!(::core::option::Option<#ty>)
                } else {
                    ty
                };
                let derives = self.derives();
                let attribute = (!keywords.is_empty()).then(|| quote!(#[event(#(#keywords),*)]));
                let inner_doc = docs(Some("The value."));
                self.items[slot] = quote! {
                    #doc
                    #derives
                    #attribute
                    pub struct #ident(#inner_doc pub #ty);
                };
            }
        }
    }

    /// The keywords that apply whatever the Rust type (annotations, enum, const, and each
    /// type's own keywords); the Rust type adds none of its own.
    fn keywords(&mut self, object: &SchemaObject, hint: &str) -> Vec<TokenStream> {
        let mut k = Vec::new();
        if let Some(v) = object.min_length {
            let v = proc_macro2::Literal::u64_unsuffixed(v);
            k.push(quote!(min_length = #v));
        }
        if let Some(v) = object.max_length {
            let v = proc_macro2::Literal::u64_unsuffixed(v);
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
        if let Some(v) = object.min_items {
            let v = proc_macro2::Literal::u64_unsuffixed(v);
            k.push(quote!(min_items = #v));
        }
        if let Some(v) = object.max_items {
            let v = proc_macro2::Literal::u64_unsuffixed(v);
            k.push(quote!(max_items = #v));
        }
        if object.unique_items {
            k.push(quote!(unique_items));
        }
        if let Some(v) = object.min_properties {
            let v = proc_macro2::Literal::u64_unsuffixed(v);
            k.push(quote!(min_properties = #v));
        }
        if let Some(v) = object.max_properties {
            let v = proc_macro2::Literal::u64_unsuffixed(v);
            k.push(quote!(max_properties = #v));
        }
        if let Some(values) = &object.enum_values {
            let text = Value::Array(values.clone()).to_string();
            k.push(quote!(enum = #text));
        }
        if let Some(value) = &object.const_value {
            let text = value.to_string();
            k.push(quote!(const = #text));
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
        let _ = hint;
        k
    }

    /// Items of an array whose Rust type is not `Vec<T>` (a `Value` or a struct container).
    fn loose_items(&mut self, object: &SchemaObject, hint: &str, keywords: &mut Vec<TokenStream>) {
        if let Some(items) = &object.items {
            let item = self.shape(items, &format!("{hint}Item"));
            let group = self.group("items", item);
            if group.to_string() != quote!(items()).to_string() {
                keywords.push(group);
            }
        }
    }

    /// `items(...)` for a position whose Rust type does not give the element type: the
    /// element's Rust type goes in `ty` unless it is a `Value`.
    fn group(&mut self, name: &str, shape: Shape) -> TokenStream {
        let key = format_ident!("{}", name);
        let Shape {
            ty,
            mut keywords,
            nullable,
        } = shape;
        if nullable {
            keywords.push(quote!(nullable));
        }
        if ty.to_string() != quote!(::ingest_runtime::__private::serde_json::Value).to_string() {
            keywords.insert(0, quote!(ty = #ty));
        }
        quote!(#key(#(#keywords),*))
    }

    fn shape(&mut self, schema: &Schema, hint: &str) -> Shape {
        let value = quote!(::ingest_runtime::__private::serde_json::Value);
        let object = match schema {
            Schema::Bool(true) => {
                return Shape {
                    ty: value,
                    keywords: Vec::new(),
                    nullable: false,
                };
            }
            Schema::Bool(false) => {
                return Shape {
                    ty: value,
                    keywords: vec![quote!(never)],
                    nullable: false,
                };
            }
            Schema::Object(object) => object,
        };
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
            self.structure(ident.clone(), &container, doc);
            return Shape {
                ty: quote!(#ident),
                keywords: Vec::new(),
                nullable,
            };
        }
        if is_string_enum(object) {
            let ident = self.fresh(hint);
            self.enumeration(ident.clone(), object, doc);
            return Shape {
                ty: quote!(#ident),
                keywords: Vec::new(),
                nullable: false,
            };
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
            Some(InstanceType::Array) => {
                let item = match &object.items {
                    Some(items) => self.shape(items, &format!("{hint}Item")),
                    None => Shape {
                        ty: value.clone(),
                        keywords: Vec::new(),
                        nullable: false,
                    },
                };
                let item_ty = &item.ty;
                let element = if item.nullable {
                    quote!(::core::option::Option<#item_ty>)
                } else {
                    quote!(#item_ty)
                };
                if !item.keywords.is_empty() {
                    let inner = &item.keywords;
                    keywords.push(quote!(items(#(#inner),*)));
                }
                quote!(::std::vec::Vec<#element>)
            }
            _ => {
                // Several types, or any: a JSON value; `null` stays in `type`.
                if non_null.as_ref().is_some_and(BTreeSet::is_empty) {
                    return Shape {
                        ty: quote!(()),
                        keywords,
                        nullable: false,
                    };
                }
                if let Some(types) = &object.types {
                    keywords.insert(0, type_names(types));
                }
                self.loose_items(object, hint, &mut keywords);
                return Shape {
                    ty: value,
                    keywords,
                    nullable: false,
                };
            }
        };
        Shape {
            ty,
            keywords,
            nullable: has_null,
        }
    }

    fn structure(&mut self, ident: Ident, object: &SchemaObject, doc: TokenStream) {
        // The type comes before the types of its fields.
        let slot = self.items.len();
        self.items.push(TokenStream::new());
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
        let mut taken = HashSet::new();
        let mut fields = Vec::new();
        let mut declared: Vec<(&str, Option<&Schema>)> = object
            .properties
            .iter()
            .map(|(n, s)| (n.as_str(), Some(s)))
            .collect();
        for name in &object.required {
            if object.property(name).is_none() {
                declared.push((name.as_str(), None));
            }
        }
        let serde = self.options.serde;
        for (name, schema) in declared {
            let required = object.required.iter().any(|r| r == name);
            let field = unique(field_name(name), &mut taken);
            let field_ident = Ident::new(&field, Span::call_site());
            let true_schema = Schema::Bool(true);
            let schema = schema.unwrap_or(&true_schema);
            let field_doc = schema
                .as_object()
                .and_then(|o| o.description.clone())
                .unwrap_or_else(|| format!("The `{name}` property."));
            let field_doc = docs(Some(&field_doc));
            let Shape {
                ty,
                mut keywords,
                nullable,
                ..
            } = self.shape(schema, &format!("{hint}{}", type_name(name)));
            let mut serde_attrs = Vec::new();
            if field != name {
                keywords.insert(0, quote!(rename = #name));
                serde_attrs.push(quote!(rename = #name));
            }
            let ty = if nullable {
                keywords.push(quote!(nullable));
                if required {
                    keywords.push(quote!(required));
                }
                quote!(::core::option::Option<#ty>)
            } else if !required {
                serde_attrs.push(quote!(default, skip_serializing_if = "Option::is_none"));
                quote!(::core::option::Option<#ty>)
            } else {
                ty
            };
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
        if let Some(additional) = &object.additional_properties
            && !matches!(additional, Schema::Bool(_))
        {
            let field = unique("additional_properties".to_owned(), &mut taken);
            let field_ident = Ident::new(&field, Span::call_site());
            let shape = self.shape(additional, &format!("{hint}Value"));
            let Shape {
                ty,
                keywords,
                nullable,
                ..
            } = shape;
            let value_ty = if nullable {
                quote!(::core::option::Option<#ty>)
            } else {
                ty
            };
            let values = (!keywords.is_empty()).then(|| quote!(, values(#(#keywords),*)));
            let serde_attr = serde.then(|| quote!(#[serde(flatten)]));
            fields.push(quote! {
                /// Properties not listed above, by name.
                #[event(additional #values)]
                #serde_attr
                pub #field_ident: ::std::collections::BTreeMap<::std::string::String, #value_ty>
            });
        }
        let derives = self.derives();
        let attribute = (!container.is_empty()).then(|| quote!(#[event(#(#container),*)]));
        self.items[slot] = quote! {
            #doc
            #derives
            #attribute
            pub struct #ident {
                #(#fields),*
            }
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
        let serde = self.options.serde;
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
        self.items.push(quote! {
            #doc
            #derives
            #extra
            #attribute
            pub enum #ident {
                #(#variants),*
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
