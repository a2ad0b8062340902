//! From a parsed item and its [`Keywords`] to the validator model of `ingest-codegen`.
//!
//! The Rust type of each position says which JSON type it holds (`String` is a string, `i64`
//! an integer, `Vec<T>` an array of `T`, `Option<T>` may be absent or null, another type has
//! its own `#[derive(Event)]`), and the keywords add what the type cannot say. This module
//! checks that they fit together (a `minimum` on a `String` is an error, with its span; which
//! JSON values a keyword applies to comes from codegen's keyword table) and builds the
//! [`Node`]. Every problem is collected in [`Errors`].

use std::collections::BTreeSet;

use ingest_codegen::keywords::{self, Family};
use ingest_codegen::schema::InstanceType;
use ingest_codegen::validator::{Additional, Child, Condition, Node, Property, Tag, Unevaluated};
use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, PathArguments, Type};

use crate::attr::{self, Errors, Keywords, Place, Rest};

/// What a Rust type says about the JSON at its position.
enum Shape {
    Scalar(InstanceType),
    Value,
    Vec(Box<Shape>),
    Map(Box<Shape>),
    Option(Box<Shape>),
    Named(Box<Type>),
}

fn generic_args(segment: &syn::PathSegment) -> Vec<&Type> {
    match &segment.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn shape_of(ty: &Type) -> Shape {
    match ty {
        Type::Tuple(tuple) if tuple.elems.is_empty() => Shape::Scalar(InstanceType::Null),
        Type::Paren(inner) => shape_of(&inner.elem),
        Type::Group(inner) => shape_of(&inner.elem),
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return Shape::Named(Box::new(ty.clone()));
            };
            let args = generic_args(last);
            match (last.ident.to_string().as_str(), args.as_slice()) {
                ("String", []) => Shape::Scalar(InstanceType::String),
                ("bool", []) => Shape::Scalar(InstanceType::Boolean),
                (
                    "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64"
                    | "u128" | "usize",
                    [],
                ) => Shape::Scalar(InstanceType::Integer),
                ("f32" | "f64", []) => Shape::Scalar(InstanceType::Number),
                ("Value", []) => Shape::Value,
                ("Vec", [inner]) => Shape::Vec(Box::new(shape_of(inner))),
                ("Option", [inner]) => Shape::Option(Box::new(shape_of(inner))),
                ("Box", [inner]) => shape_of(inner),
                ("BTreeMap" | "HashMap" | "IndexMap", [_, value]) => {
                    Shape::Map(Box::new(shape_of(value)))
                }
                _ => Shape::Named(Box::new(ty.clone())),
            }
        }
        _ => Shape::Named(Box::new(ty.clone())),
    }
}

/// The values an attribute key applies to, from codegen's keyword table (`None` for the keys
/// that apply to any value, and the derive's own keys).
fn family(key: &str) -> Option<Family> {
    keywords::by_attribute(key)
        .map(|k| k.family)
        .filter(|f| *f != Family::Any)
}

fn rust_for(t: InstanceType) -> &'static str {
    match t {
        InstanceType::String => "`String`",
        InstanceType::Number => "`f64` (or `i64` for integers)",
        InstanceType::Integer => "`i64`",
        InstanceType::Array => "`Vec<_>`",
        InstanceType::Object => "a struct",
        InstanceType::Boolean => "`bool`",
        InstanceType::Null => "`()`",
    }
}

fn as_f64(n: &Option<attr::Spanned<serde_json::Number>>) -> Option<f64> {
    n.as_ref().and_then(|s| s.value.as_f64())
}

/// Checks the ranges that keywords set together, with codegen's messages: min <= max, a
/// non-empty numeric range.
fn check_ranges(k: &Keywords, errors: &mut Errors) {
    for (min_key, min, max_key, max, unit) in [
        (
            "min_length",
            &k.min_length,
            "max_length",
            &k.max_length,
            "characters",
        ),
        (
            "min_items",
            &k.min_items,
            "max_items",
            &k.max_items,
            "items",
        ),
        (
            "min_properties",
            &k.min_properties,
            "max_properties",
            &k.max_properties,
            "properties",
        ),
    ] {
        if let (Some(min), Some(max)) = (min, max)
            && let Err(message) =
                keywords::check_counts(min_key, min.value, max_key, max.value, unit)
        {
            errors.push(min.span, message);
        }
    }
    if let Err(range) = keywords::check_range(keywords::Range {
        minimum: (as_f64(&k.minimum), "minimum"),
        exclusive_minimum: (as_f64(&k.exclusive_minimum), "exclusive_minimum"),
        maximum: (as_f64(&k.maximum), "maximum"),
        exclusive_maximum: (as_f64(&k.exclusive_maximum), "exclusive_maximum"),
    }) {
        let span = match range.lower {
            "minimum" => k.minimum.as_ref().map(|s| s.span),
            _ => k.exclusive_minimum.as_ref().map(|s| s.span),
        };
        errors.push(span.unwrap_or_else(Span::call_site), range.message);
    }
}

struct Builder<'e> {
    errors: &'e mut Errors,
}

impl Builder<'_> {
    /// Keywords that apply to one JSON type only must fit the Rust type.
    fn check_applies(&mut self, k: &Keywords, shape: InstanceType) {
        for (key, span) in k.assertions() {
            if key == "type" {
                self.errors.push(span, format!("`type` is given by the Rust type ({}); use `serde_json::Value` for a value of several types", rust_for(shape)));
                continue;
            }
            let Some(applies_to) = family(key) else {
                continue;
            };
            if !applies_to.includes(shape) {
                self.errors.push(
                    span,
                    format!(
                        "`{key}` applies to {}, but this value is {} ({})",
                        applies_to.plural(),
                        shape_word(shape),
                        rust_for(shape),
                    ),
                );
            }
        }
    }

    /// The child of a subschema named by a type in an attribute (`all_of(T)`): a type with
    /// its own derive, or one the derive knows (`String`, `Vec<i64>`...).
    fn typed(&mut self, ty: &Type) -> Child {
        let shape = shape_of(ty);
        self.child(&shape, ty, &Keywords::default(), false)
    }

    fn rest(&mut self, rest: &Rest) -> Unevaluated {
        match rest {
            Rest::False => Unevaluated::Denied,
            Rest::Type(ty) => Unevaluated::Schema(Box::new(self.typed(ty))),
        }
    }

    /// Fills the keywords every position shares into a node.
    fn fill(&mut self, node: &mut Node, k: &Keywords) {
        check_ranges(k, self.errors);
        node.min_length = k.min_length.as_ref().map(|s| s.value);
        node.max_length = k.max_length.as_ref().map(|s| s.value);
        node.pattern = k.pattern.as_ref().map(|s| s.value.clone());
        node.format = k.format.as_ref().map(|s| s.value);
        node.minimum = k.minimum.as_ref().map(|s| s.value.clone());
        node.maximum = k.maximum.as_ref().map(|s| s.value.clone());
        node.exclusive_minimum = k.exclusive_minimum.as_ref().map(|s| s.value.clone());
        node.exclusive_maximum = k.exclusive_maximum.as_ref().map(|s| s.value.clone());
        node.multiple_of = k.multiple_of.as_ref().map(|s| s.value.clone());
        node.prefix_items = k
            .prefix_items
            .iter()
            .flat_map(|s| s.value.clone())
            .map(|t| self.typed(&t))
            .collect();
        node.contains = k.contains.as_ref().map(|s| self.typed(&s.value));
        node.min_contains = k.min_contains.as_ref().map(|s| s.value);
        node.max_contains = k.max_contains.as_ref().map(|s| s.value);
        if k.contains.is_none() {
            for (key, span) in [
                ("min_contains", k.min_contains.as_ref().map(|s| s.span)),
                ("max_contains", k.max_contains.as_ref().map(|s| s.span)),
            ] {
                if let Some(span) = span {
                    self.errors.push(span, format!("`{key}` counts the items that match `contains`, so it has no effect without `contains(T)`"));
                }
            }
        }
        node.min_items = k.min_items.as_ref().map(|s| s.value);
        node.max_items = k.max_items.as_ref().map(|s| s.value);
        node.unique_items = k.unique_items.is_some();
        node.unevaluated_items = k.unevaluated_items.as_ref().map(|s| self.rest(&s.value));
        node.pattern_properties = k
            .pattern_properties
            .iter()
            .flat_map(|s| s.value.clone())
            .map(|(pattern, t)| (pattern, self.typed(&t)))
            .collect();
        node.property_names = k.property_names.as_ref().map(|s| self.typed(&s.value));
        node.dependent_required = k
            .dependent_required
            .as_ref()
            .map(|s| s.value.clone())
            .unwrap_or_default();
        node.dependent_schemas = k
            .dependent_schemas
            .iter()
            .flat_map(|s| s.value.clone())
            .map(|(name, t)| (name, self.typed(&t)))
            .collect();
        node.min_properties = k.min_properties.as_ref().map(|s| s.value);
        node.max_properties = k.max_properties.as_ref().map(|s| s.value);
        node.unevaluated_properties = k
            .unevaluated_properties
            .as_ref()
            .map(|s| self.rest(&s.value));
        node.enum_values = k.enum_values.as_ref().map(|s| s.value.clone());
        node.const_value = k.const_value.as_ref().map(|s| s.value.clone());
        let branches = |b: &mut Self, list: &Option<attr::Spanned<Vec<Type>>>| -> Vec<Child> {
            list.iter()
                .flat_map(|s| s.value.clone())
                .map(|t| b.typed(&t))
                .collect()
        };
        node.all_of = branches(self, &k.all_of);
        node.any_of = branches(self, &k.any_of);
        node.one_of = branches(self, &k.one_of);
        node.not = k.not.as_ref().map(|s| self.typed(&s.value));
        node.condition = k.test.as_ref().map(|test| Condition {
            test: self.typed(&test.value),
            then: k.then.as_ref().map(|s| self.typed(&s.value)),
            otherwise: k.otherwise.as_ref().map(|s| self.typed(&s.value)),
        });
        if k.test.is_none() {
            for (key, span) in [
                ("then", k.then.as_ref().map(|s| s.span)),
                ("else", k.otherwise.as_ref().map(|s| s.span)),
            ] {
                if let Some(span) = span {
                    self.errors.push(
                        span,
                        format!("`{key}` applies when `if` holds (or not), so it has no effect without `if(T)`"),
                    );
                }
            }
        }
        node.never = k.never.is_some();
        if node.never && k.assertions().len() > 1 {
            self.errors.push(
                k.never.unwrap_or_else(Span::call_site),
                "`never` rejects every value; other keywords beside it would never be checked",
            );
        }
    }

    /// A position holding a value of Rust type `ty` with keywords `k`. `nullable` adds `null`.
    fn child(&mut self, shape: &Shape, ty: &Type, k: &Keywords, nullable: bool) -> Child {
        match shape {
            Shape::Option(inner) => self.child(inner, ty, k, true),
            Shape::Named(named) => {
                for (key, span) in k.assertions() {
                    self.errors.push(span, format!(
                        "`{key}` cannot go on a value of type `{}`: its schema comes from that type's own `#[derive(Event)]`",
                        named.to_token_stream().to_string().replace(' ', "")
                    ));
                }
                Child::Type {
                    path: named.to_token_stream(),
                    nullable,
                }
            }
            Shape::Map(_) => {
                self.errors.push(ty.span(), "a map holds the properties that no field declares: mark it `#[event(additional)]` inside a struct");
                Child::Inline(Box::default())
            }
            Shape::Scalar(t) => {
                self.check_applies(k, *t);
                let mut node = Node::default();
                self.fill(&mut node, k);
                let mut types: BTreeSet<InstanceType> = [*t].into();
                if nullable {
                    types.insert(InstanceType::Null);
                }
                node.types = Some(types);
                Child::Inline(Box::new(node))
            }
            Shape::Vec(element) => {
                self.check_applies(k, InstanceType::Array);
                let mut node = Node::default();
                self.fill(&mut node, k);
                let element_ty = match ty_arg(ty) {
                    Some(t) => t.clone(),
                    None => ty.clone(),
                };
                let group = k
                    .items
                    .as_ref()
                    .map(|g| g.value.as_ref().clone())
                    .unwrap_or_default();
                let loose = matches!(element.as_ref(), Shape::Value);
                if let Some(t) = &group.ty
                    && !loose
                {
                    self.errors.push(t.span, "`ty` is only for `items(...)` of a `serde_json::Value` (or a `Vec<serde_json::Value>`); here the element type is the `Vec`'s");
                }
                if let Some(prefix) = &k.prefix_items
                    && !loose
                {
                    self.errors.push(prefix.span, "`prefix_items` gives the first items types of their own, so the `Vec` must hold `serde_json::Value`s; give the other items a type with `items(ty = T)`");
                }
                self.check_group_nullable(&group, element);
                // A `Vec<Value>` has `items` only if it says so (`items(...)`, even empty):
                // `unevaluated_items` tells the two apart.
                node.items = if !loose {
                    Some(self.child(element, &element_ty, &group, false))
                } else if k.items.is_some() {
                    Some(self.loose_group(&group))
                } else {
                    None
                };
                let mut types: BTreeSet<InstanceType> = [InstanceType::Array].into();
                if nullable {
                    types.insert(InstanceType::Null);
                }
                node.types = Some(types);
                Child::Inline(Box::new(node))
            }
            Shape::Value => {
                let mut node = Node::default();
                self.fill(&mut node, k);
                node.types = k.types.as_ref().map(|s| s.value.clone());
                if nullable && let Some(types) = &mut node.types {
                    types.insert(InstanceType::Null);
                }
                if let Some(group) = &k.items {
                    node.items = Some(self.loose_group(&group.value));
                }
                Child::Inline(Box::new(node))
            }
        }
    }

    /// `items(...)` of a position whose elements have no Rust type of their own (a `Value` or a
    /// struct that also accepts arrays): elements are `Value`s unless `ty` names a type.
    fn loose_group(&mut self, group: &Keywords) -> Child {
        match &group.ty {
            Some(ty) => {
                let shape = shape_of(&ty.value);
                self.child(
                    &shape,
                    &ty.value,
                    &Keywords {
                        ty: None,
                        nullable: None,
                        ..group.clone()
                    },
                    group.nullable.is_some(),
                )
            }
            None => self.child(
                &Shape::Value,
                &syn::parse_quote!(Value),
                group,
                group.nullable.is_some(),
            ),
        }
    }

    fn check_group_nullable(&mut self, group: &Keywords, element: &Shape) {
        if let Some(span) = group.nullable
            && !matches!(element, Shape::Option(_) | Shape::Value)
        {
            self.errors.push(
                span,
                "`nullable` needs the element type to be an `Option<_>`",
            );
        }
    }

    fn structure(&mut self, fields: &syn::FieldsNamed, k: &Keywords) -> Node {
        let mut node = Node::default();
        self.fill(&mut node, k);
        let types = k
            .types
            .as_ref()
            .map(|s| s.value.clone())
            .unwrap_or_else(|| [InstanceType::Object].into());
        if !types.contains(&InstanceType::Object)
            && let Some(t) = &k.types
        {
            self.errors.push(
                t.span,
                "a struct with named fields is an object schema: `type` must include \"object\"",
            );
        }
        for (key, span) in k.assertions() {
            if let Some(applies) = family(key)
                && !types.iter().any(|t| applies.includes(*t))
            {
                self.errors.push(
                    span,
                    format!(
                        "`{key}` never applies: the struct's `type` does not include {}",
                        applies.plural()
                    ),
                );
            }
        }
        node.types = Some(types);
        if let Some(group) = &k.items {
            node.items = Some(self.loose_group(&group.value));
        }
        let mut names: Vec<(String, Span)> = Vec::new();
        let mut additional: Option<(Child, Span, bool)> = None;
        for field in &fields.named {
            let fk = attr::parse(&field.attrs, Place::Field, self.errors);
            let ident = field
                .ident
                .as_ref()
                .map(|i| i.to_string())
                .unwrap_or_default();
            let ident = ident.strip_prefix("r#").unwrap_or(&ident).to_owned();
            let shape = shape_of(&field.ty);
            if let Some(span) = fk.additional {
                for (key, kspan) in fk.assertions() {
                    self.errors.push(kspan, format!("`{key}` cannot go on the `additional` field; keywords for its values go in `values(...)`"));
                }
                if let Some(r) = &fk.rename {
                    self.errors.push(
                        r.span,
                        "the `additional` field has no name in JSON; remove `rename`",
                    );
                }
                let Shape::Map(value_shape) = &shape else {
                    self.errors.push(field.ty.span(), "the `additional` field must be a map from `String` to the value type, such as `BTreeMap<String, serde_json::Value>`");
                    continue;
                };
                // With `additional_properties = false`, the map can only hold the keys of
                // `pattern_properties`.
                if let Some(false_span) = k.additional_properties_false
                    && k.pattern_properties.is_none()
                {
                    self.errors.push(false_span, "`additional_properties = false` contradicts the `#[event(additional)]` field (which would hold only the keys `pattern_properties` matches, and there is no `pattern_properties`)");
                }
                if additional.is_some() {
                    self.errors
                        .push(span, "only one field can hold the additional properties");
                    continue;
                }
                let value_ty = map_value_ty(&field.ty)
                    .cloned()
                    .unwrap_or_else(|| field.ty.clone());
                let group = fk
                    .values
                    .as_ref()
                    .map(|g| g.value.as_ref().clone())
                    .unwrap_or_default();
                self.check_group_nullable(&group, value_shape);
                let child = match &group.ty {
                    Some(_) if !matches!(value_shape.as_ref(), Shape::Value) => {
                        self.errors.push(
                            span,
                            "`ty` in `values(...)` is only for maps of `serde_json::Value`",
                        );
                        Child::Inline(Box::default())
                    }
                    Some(_) => self.loose_group(&group),
                    None => self.child(value_shape, &value_ty, &group, false),
                };
                // A map of JSON values without `values(...)` only holds what no keyword
                // checks (`additionalProperties` is absent); with `values(...)`, even empty,
                // or with values of a type, it is `additionalProperties`.
                let checked = fk.values.is_some() || !matches!(value_shape.as_ref(), Shape::Value);
                additional = Some((child, span, checked));
                continue;
            }
            if let Some(v) = &fk.values {
                self.errors.push(
                    v.span,
                    "`values(...)` belongs on the `#[event(additional)]` field",
                );
            }
            let name = fk.rename.as_ref().map_or(ident, |r| r.value.clone());
            let name_span = fk.rename.as_ref().map_or_else(|| field.span(), |r| r.span);
            if names.iter().any(|(n, _)| *n == name) {
                self.errors
                    .push(name_span, format!("two fields are named `{name}` in JSON"));
            }
            names.push((name.clone(), name_span));
            let (required, nullable, inner) = match &shape {
                Shape::Option(inner) => match inner.as_ref() {
                    // Absent, null, or a value.
                    Shape::Option(innermost) => {
                        if let Some(span) = fk.nullable {
                            self.errors.push(span, "`Option<Option<_>>` is already nullable (`Some(None)` is null); remove `nullable`");
                        }
                        if let Some(span) = fk.required {
                            self.errors.push(span, "`Option<Option<_>>` is for a property that may be absent; for one that must be present but may be null, use `Option<_>` with `nullable, required`");
                        }
                        (false, true, innermost.as_ref())
                    }
                    inner => (fk.required.is_some(), fk.nullable.is_some(), inner),
                },
                other => {
                    if let Some(span) = fk.nullable {
                        self.errors
                            .push(span, "a field that may be null must be an `Option<_>`");
                    }
                    if let Some(span) = fk.required {
                        self.errors.push(span, "a field that is not an `Option<_>` is always required; remove `required`");
                    }
                    (true, false, other)
                }
            };
            let inner_ty = match &shape {
                Shape::Option(outer) => {
                    let once = ty_arg(&field.ty)
                        .cloned()
                        .unwrap_or_else(|| field.ty.clone());
                    if matches!(outer.as_ref(), Shape::Option(_)) {
                        ty_arg(&once).cloned().unwrap_or(once)
                    } else {
                        once
                    }
                }
                _ => field.ty.clone(),
            };
            let child = if fk.never.is_some() {
                let mut never = Node::default();
                self.fill(&mut never, &fk);
                Child::Inline(Box::new(never))
            } else {
                self.child(inner, &inner_ty, &fk, nullable)
            };
            node.properties.push(Property {
                name,
                required,
                child,
            });
        }
        if let Some(required) = &k.required_names {
            for name in &required.value {
                if node.properties.iter().any(|p| p.name == *name) {
                    self.errors.push(required.span, format!("`{name}` is a field; a field is required unless it is an `Option<_>` (add `required` to it to require a key whose value may be null)"));
                }
            }
            node.required = required.value.clone();
        }
        node.additional = match (additional, k.additional_properties_false) {
            (_, Some(_)) => Additional::Denied,
            (Some((child, _, true)), None) => Additional::Schema(Box::new(child)),
            (Some((_, _, false)), None) | (None, None) => Additional::Absent,
        };
        node
    }

    /// An enum: of unit variants, a string enum; of one-field variants marked `one_of` or
    /// `any_of`, a union whose branches are the variants' types.
    fn enumeration(&mut self, input: &DeriveInput, data: &syn::DataEnum, k: &Keywords) -> Node {
        let mut node = Node::default();
        if data.variants.is_empty() {
            self.errors.push(
                input.ident.span(),
                "an enum with no variants matches no value; add a variant per allowed value",
            );
        }
        let mut names: Vec<String> = Vec::new();
        let mut branches = Vec::new();
        for variant in &data.variants {
            let vk = attr::parse(&variant.attrs, Place::Variant, self.errors);
            let name = vk
                .rename
                .as_ref()
                .map_or_else(|| variant.ident.to_string(), |r| r.value.clone());
            if names.contains(&name) {
                self.errors.push(
                    vk.rename
                        .as_ref()
                        .map_or_else(|| variant.span(), |r| r.span),
                    format!("two variants are named \"{name}\" in JSON"),
                );
            }
            names.push(name);
            match (&variant.fields, k.union.is_some()) {
                (Fields::Unit, false) => {}
                (Fields::Unnamed(fields), true) if fields.unnamed.len() == 1 => {
                    branches.push(self.typed(&fields.unnamed[0].ty));
                }
                (Fields::Unit, true) => self.errors.push(
                    variant.span(),
                    "a variant of a union holds its branch's value: one field of the branch's type, as in `Circle(Circle)`",
                ),
                (_, true) => self.errors.push(
                    variant.fields.span(),
                    "a variant of a union holds its branch's value: one field of the branch's type, as in `Circle(Circle)`",
                ),
                (_, false) => self.errors.push(
                    variant.fields.span(),
                    "an enum of unit variants is a string enum; an enum whose variants hold values is a union: mark it `#[event(one_of)]` or `#[event(any_of)]`",
                ),
            }
        }
        match &k.union {
            None => {
                for (key, span) in k.assertions() {
                    if family(key).is_some_and(|f| f != Family::String) || key == "type" {
                        self.errors.push(span, format!("`{key}` cannot be used on an enum of unit variants: it is a string enum; only string keywords and annotations apply"));
                    }
                }
                if let Some(tag) = &k.tag {
                    self.errors.push(tag.span, "`tag` names the property that tells a union's variants apart; mark the enum `#[event(one_of)]` or `#[event(any_of)]`");
                }
                self.fill(&mut node, k);
                node.types = Some([InstanceType::String].into());
                node.enum_values = Some(names.into_iter().map(serde_json::Value::String).collect());
            }
            Some(union) => {
                self.fill(&mut node, k);
                node.types = k.types.as_ref().map(|s| s.value.clone());
                if union.value == "one_of" {
                    node.one_of = branches;
                } else {
                    node.any_of = branches;
                }
                node.tag = k.tag.as_ref().map(|tag| Tag {
                    property: tag.value.clone(),
                    values: names,
                });
            }
        }
        node
    }
}

fn shape_word(t: InstanceType) -> &'static str {
    match t {
        InstanceType::String => "a string",
        InstanceType::Number => "a number",
        InstanceType::Integer => "an integer",
        InstanceType::Array => "an array",
        InstanceType::Object => "an object",
        InstanceType::Boolean => "a boolean",
        InstanceType::Null => "null",
    }
}

/// The first type argument (`T` of `Vec<T>` or `Option<T>`).
fn ty_arg(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .and_then(|s| generic_args(s).into_iter().next()),
        _ => None,
    }
}

/// The value type of a map (`T` of `BTreeMap<String, T>`).
fn map_value_ty(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .and_then(|s| generic_args(s).into_iter().nth(1)),
        _ => None,
    }
}

/// Parses and checks a derive input into the validator model, or every error found.
pub fn build(input: &DeriveInput) -> Result<Node, syn::Error> {
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.push(
            input.generics.span(),
            "`#[derive(Event)]` does not support generic types: an event's schema is fixed",
        );
    }
    let node = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => {
                let k = attr::parse(&input.attrs, Place::Struct, &mut errors);
                Builder {
                    errors: &mut errors,
                }
                .structure(fields, &k)
            }
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                let k = attr::parse(&input.attrs, Place::Newtype, &mut errors);
                let field = &fields.unnamed[0];
                for attr in field.attrs.iter().filter(|a| a.path().is_ident("event")) {
                    errors.push(
                        attr.span(),
                        "put the `event` attributes of a tuple struct on the struct itself",
                    );
                }
                let shape = shape_of(&field.ty);
                let nullable = k.nullable.is_some();
                if nullable && !matches!(shape, Shape::Option(_)) {
                    errors.push(
                        k.nullable.unwrap_or_else(Span::call_site),
                        "`nullable` needs the inner type to be an `Option<_>`",
                    );
                }
                let mut builder = Builder {
                    errors: &mut errors,
                };
                match builder.child(&shape, &field.ty, &k, false) {
                    Child::Inline(node) => *node,
                    Child::Type { .. } => {
                        errors.push(field.ty.span(), "a tuple struct must wrap a JSON type (`String`, `f64`, `Vec<_>`, `serde_json::Value`...), not another event type (for the same schema, use a type alias)");
                        Node::default()
                    }
                }
            }
            _ => {
                errors.push(input.ident.span(), "`#[derive(Event)]` needs a struct with named fields (an object), a tuple struct with one field, or an enum (a string enum, or a union of its variants' types)");
                Node::default()
            }
        },
        Data::Enum(data) => {
            let k = attr::parse(&input.attrs, Place::Enum, &mut errors);
            Builder {
                errors: &mut errors,
            }
            .enumeration(input, data, &k)
        }
        Data::Union(data) => {
            errors.push(
                data.union_token.span,
                "`#[derive(Event)]` does not support unions",
            );
            Node::default()
        }
    };
    errors.finish().map(|()| node)
}
