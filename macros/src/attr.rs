//! Parsing `#[event(...)]` attributes into [`Keywords`], collecting every error.
//!
//! Each attribute key is parsed on its own; a mistake in one is recorded with its span and
//! parsing goes on, so one compile shows every mistake. The keys are the attribute names of
//! codegen's keyword table (`ingest_codegen::keywords::KEYWORDS`) plus the few that only the
//! derive has ([`DERIVE_KEYS`]). Values are checked here when the check needs nothing but the
//! value (a pattern that compiles, a known format, valid JSON), with the messages of codegen's
//! shared checks; checks that depend on the Rust type or on other keys happen in `model`.

use std::collections::BTreeSet;

use ingest_codegen::keywords;
use ingest_codegen::schema::{Format, InstanceType, closest};
use proc_macro2::{Span, TokenStream};
use serde_json::{Number, Value};
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, Lit, Token};

/// A value with the span of the attribute key that set it.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// Where an attribute group appears; decides which keys are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// On a struct with named fields (an object schema).
    Struct,
    /// On a tuple struct with one field (a schema for that field's type).
    Newtype,
    /// On an enum: of unit variants (a string enum), or of one-field variants (a union).
    Enum,
    /// On an enum variant.
    Variant,
    /// On a named field.
    Field,
    /// Inside `items(...)` or `values(...)`.
    Group,
}

/// `unevaluated_properties` / `unevaluated_items`: `= false`, or a type for the rest.
#[derive(Clone)]
pub enum Rest {
    False,
    Type(Box<syn::Type>),
}

/// `dependent_required`: each property name with the names it requires.
pub type DependentRequired = Vec<(String, Vec<String>)>;

/// Every key an `#[event(...)]` group can set.
#[derive(Clone, Default)]
pub struct Keywords {
    pub types: Option<Spanned<BTreeSet<InstanceType>>>,
    pub min_length: Option<Spanned<u64>>,
    pub max_length: Option<Spanned<u64>>,
    pub pattern: Option<Spanned<String>>,
    pub format: Option<Spanned<Format>>,
    pub minimum: Option<Spanned<Number>>,
    pub maximum: Option<Spanned<Number>>,
    pub exclusive_minimum: Option<Spanned<Number>>,
    pub exclusive_maximum: Option<Spanned<Number>>,
    pub multiple_of: Option<Spanned<Number>>,
    pub prefix_items: Option<Spanned<Vec<syn::Type>>>,
    pub contains: Option<Spanned<syn::Type>>,
    pub min_contains: Option<Spanned<u64>>,
    pub max_contains: Option<Spanned<u64>>,
    pub min_items: Option<Spanned<u64>>,
    pub max_items: Option<Spanned<u64>>,
    pub unique_items: Option<Spanned<bool>>,
    pub unevaluated_items: Option<Spanned<Rest>>,
    pub items: Option<Spanned<Box<Keywords>>>,
    pub values: Option<Spanned<Box<Keywords>>>,
    pub required_names: Option<Spanned<Vec<String>>>,
    pub pattern_properties: Option<Spanned<Vec<(String, syn::Type)>>>,
    pub property_names: Option<Spanned<syn::Type>>,
    pub dependent_required: Option<Spanned<DependentRequired>>,
    pub dependent_schemas: Option<Spanned<Vec<(String, syn::Type)>>>,
    pub min_properties: Option<Spanned<u64>>,
    pub max_properties: Option<Spanned<u64>>,
    pub unevaluated_properties: Option<Spanned<Rest>>,
    pub additional_properties_false: Option<Span>,
    pub enum_values: Option<Spanned<Vec<Value>>>,
    pub const_value: Option<Spanned<Value>>,
    pub all_of: Option<Spanned<Vec<syn::Type>>>,
    pub any_of: Option<Spanned<Vec<syn::Type>>>,
    pub one_of: Option<Spanned<Vec<syn::Type>>>,
    /// `one_of` / `any_of` without types: on an enum, the variants are the branches.
    pub union: Option<Spanned<&'static str>>,
    pub tag: Option<Spanned<String>>,
    pub not: Option<Spanned<syn::Type>>,
    pub test: Option<Spanned<syn::Type>>,
    pub then: Option<Spanned<syn::Type>>,
    pub otherwise: Option<Spanned<syn::Type>>,
    pub title: Option<Spanned<String>>,
    pub default: Option<Spanned<Value>>,
    pub examples: Option<Spanned<Vec<Value>>>,
    pub rename: Option<Spanned<String>>,
    pub required: Option<Span>,
    pub nullable: Option<Span>,
    pub additional: Option<Span>,
    pub never: Option<Span>,
    pub ty: Option<Spanned<syn::Type>>,
}

/// The keys only the derive has (they say how Rust maps to JSON, not a schema keyword).
pub const DERIVE_KEYS: &[&str] = &[
    "values",
    "tag",
    "rename",
    "nullable",
    "additional",
    "never",
    "ty",
];

/// Every key, in the order of the keyword table, then the derive's own.
fn all_keys() -> Vec<&'static str> {
    keywords::KEYWORDS
        .iter()
        .filter_map(|k| k.attribute)
        .chain(DERIVE_KEYS.iter().copied())
        .collect()
}

fn allowed_in(key: &str, place: Place) -> bool {
    match place {
        Place::Variant => key == "rename",
        Place::Enum => !matches!(
            key,
            "rename" | "required" | "nullable" | "additional" | "never" | "values" | "ty"
        ),
        Place::Struct => !matches!(
            key,
            "rename" | "nullable" | "additional" | "never" | "values" | "ty" | "tag"
        ),
        Place::Newtype => !matches!(
            key,
            "rename"
                | "required"
                | "additional"
                | "values"
                | "ty"
                | "additional_properties"
                | "tag"
        ),
        Place::Field => !matches!(key, "ty" | "additional_properties" | "tag"),
        Place::Group => !matches!(
            key,
            "rename" | "required" | "additional" | "values" | "additional_properties" | "tag"
        ),
    }
}

fn place_name(place: Place) -> &'static str {
    match place {
        Place::Struct => "a struct",
        Place::Newtype => "a tuple struct",
        Place::Enum => "an enum",
        Place::Variant => "an enum variant",
        Place::Field => "a field",
        Place::Group => "`items(...)` or `values(...)`",
    }
}

/// Collects errors; turns them into one `syn::Error` at the end.
#[derive(Default)]
pub struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    pub fn push_error(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    pub fn finish(self) -> Result<(), syn::Error> {
        let mut errors = self.errors.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                for error in errors {
                    first.combine(error);
                }
                Err(first)
            }
        }
    }
}

/// Parses every `#[event(...)]` attribute of an item into one [`Keywords`].
pub fn parse(attrs: &[syn::Attribute], place: Place, errors: &mut Errors) -> Keywords {
    let mut keywords = Keywords::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
        if let Err(error) =
            attr.parse_nested_meta(|meta| parse_key(&mut keywords, place, meta, errors))
        {
            errors.push_error(error);
        }
    }
    keywords
}

fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

fn set<T>(slot: &mut Option<Spanned<T>>, key: &str, span: Span, value: T, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(span, format!("`{key}` is given twice; keep one"));
    } else {
        *slot = Some(Spanned { value, span });
    }
}

fn set_flag(slot: &mut Option<Span>, key: &str, span: Span, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(span, format!("`{key}` is given twice; keep one"));
    } else {
        *slot = Some(span);
    }
}

fn parse_count(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<u64> {
    let lit: syn::LitInt = meta.value()?.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{key}` takes a non-negative integer, as in `{key} = 1`"),
        )
    })?;
    lit.base10_parse::<u64>().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!("`{key}` takes a non-negative integer, as in `{key} = 1`"),
        )
    })
}

fn parse_number(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Number> {
    let expr: Expr = meta.value()?.parse()?;
    let bad = || {
        syn::Error::new(
            expr.span(),
            format!("`{key}` takes a number, as in `{key} = 1` or `{key} = -0.5`"),
        )
    };
    let (negative, lit) = match &expr {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr: inner,
            ..
        }) => match inner.as_ref() {
            Expr::Lit(ExprLit { lit, .. }) => (true, lit),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    let digits = match lit {
        Lit::Int(i) if i.suffix().is_empty() => i.base10_digits().to_owned(),
        Lit::Float(f) if f.suffix().is_empty() => f.base10_digits().to_owned(),
        _ => return Err(bad()),
    };
    let text = if negative {
        format!("-{digits}")
    } else {
        digits
    };
    if let Ok(u) = text.parse::<u64>() {
        return Ok(u.into());
    }
    if let Ok(i) = text.parse::<i64>() {
        return Ok(i.into());
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .ok_or_else(bad)
}

fn parse_str(meta: &ParseNestedMeta<'_>, key: &str, example: &str) -> syn::Result<syn::LitStr> {
    meta.value()?.parse::<syn::LitStr>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{key}` takes a string, as in `{key} = {example}`"),
        )
    })
}

fn parse_json(meta: &ParseNestedMeta<'_>, key: &str, example: &str) -> syn::Result<(Value, Span)> {
    let lit = parse_str(meta, key, example)?;
    serde_json::from_str::<Value>(&lit.value())
        .map(|v| (v, lit.span()))
        .map_err(|e| syn::Error::new(lit.span(), format!("`{key}` must be JSON text: {e}")))
}

fn parse_bool(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    if meta.input.peek(Token![=]) {
        Ok(meta.value()?.parse::<syn::LitBool>()?.value)
    } else {
        Ok(true)
    }
}

/// `["a", "b"]`: a list of names.
fn parse_names(input: ParseStream<'_>, key: &str) -> syn::Result<Vec<String>> {
    let expr: Expr = input.parse()?;
    let bad = |span| {
        syn::Error::new(
            span,
            format!("`{key}` takes a list of property names, as in `[\"a\", \"b\"]`"),
        )
    };
    let Expr::Array(array) = &expr else {
        return Err(bad(expr.span()));
    };
    let mut names: Vec<String> = Vec::new();
    for element in &array.elems {
        match element {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => {
                if names.contains(&s.value()) {
                    return Err(syn::Error::new(
                        s.span(),
                        format!("`{}` is listed twice in `{key}`", s.value()),
                    ));
                }
                names.push(s.value());
            }
            other => return Err(bad(other.span())),
        }
    }
    Ok(names)
}

/// `(A, B)`: the types of an applicator's branches.
fn parse_types(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Vec<syn::Type>> {
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!(
            "`{key}` takes the types of its subschemas in parentheses, as in `{key}(Circle, Square)`"
        )));
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let types = content.parse_terminated(<syn::Type as syn::parse::Parse>::parse, Token![,])?;
    if types.is_empty() {
        return Err(syn::Error::new(
            content.span(),
            format!("`{key}` needs at least one type"),
        ));
    }
    Ok(types.into_iter().collect())
}

/// `(T)`: one subschema's type.
fn parse_type(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<syn::Type> {
    let mut types = parse_types(meta, key)?;
    if types.len() > 1 {
        return Err(syn::Error::new(
            types[1].span(),
            format!("`{key}` takes one type"),
        ));
    }
    Ok(types.remove(0))
}

/// `("name" = value, ...)`: entries keyed by a property name or a pattern.
fn parse_entries<T>(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
    value: impl Fn(ParseStream<'_>) -> syn::Result<T>,
) -> syn::Result<Vec<(syn::LitStr, T)>> {
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!(
            "`{key}` takes entries in parentheses, as in `{key}({example})`"
        )));
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let mut entries = Vec::new();
    while !content.is_empty() {
        let name: syn::LitStr = content.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("each entry of `{key}` is a quoted name, `=`, and a value, as in `{key}({example})`"),
            )
        })?;
        content.parse::<Token![=]>()?;
        let parsed = value(&content)?;
        if entries
            .iter()
            .any(|(n, _): &(syn::LitStr, T)| n.value() == name.value())
        {
            return Err(syn::Error::new(
                name.span(),
                format!("{:?} is given twice in `{key}`", name.value()),
            ));
        }
        entries.push((name, parsed));
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(entries)
}

/// `= false` or `(T)`.
fn parse_rest(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Rest> {
    if meta.input.peek(Token![=]) {
        let lit: syn::LitBool = meta.value()?.parse()?;
        if lit.value {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "`{key} = true` checks nothing; remove it, or give the type of the rest: `{key}(T)`"
                ),
            ));
        }
        Ok(Rest::False)
    } else {
        parse_type(meta, key).map(|ty| Rest::Type(Box::new(ty)))
    }
}

fn parse_type_names(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<BTreeSet<InstanceType>> {
    let expr: Expr = meta.value()?.parse()?;
    let names: Vec<&Expr> = match &expr {
        Expr::Array(array) => array.elems.iter().collect(),
        other => vec![other],
    };
    if names.is_empty() {
        return Err(syn::Error::new(
            expr.span(),
            "`type` is an empty list, which no value can match",
        ));
    }
    let mut types = BTreeSet::new();
    for name in names {
        let Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) = name
        else {
            errors.push(name.span(), "`type` takes a type name or a list of them, as in `type = \"string\"` or `type = [\"string\", \"null\"]`");
            continue;
        };
        match InstanceType::from_name(&s.value()) {
            Some(t) if types.insert(t) => {}
            Some(_) => errors.push(
                s.span(),
                format!("`{}` is listed twice in `type`", s.value()),
            ),
            None => {
                let help = closest(&s.value(), InstanceType::NAMES.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_else(|| {
                        format!("; the JSON types are {}", InstanceType::NAMES.join(", "))
                    });
                errors.push(
                    s.span(),
                    format!("`{}` is not a JSON type{help}", s.value()),
                );
            }
        }
    }
    Ok(types)
}

fn parse_key(
    k: &mut Keywords,
    place: Place,
    meta: ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<()> {
    let Some(ident) = meta.path.get_ident() else {
        errors.push(meta.path.span(), "expected a key such as `minimum = 1`");
        return skip_value(&meta);
    };
    let key = ident.to_string();
    let key = key.strip_prefix("r#").unwrap_or(&key).to_owned();
    let span = ident.span();
    let known = all_keys();
    if !known.contains(&key.as_str()) {
        let help = match key.as_str() {
            "min" | "ge" => " (did you mean `minimum`?)".to_owned(),
            "max" | "le" => " (did you mean `maximum`?)".to_owned(),
            "optional" => " (an `Option<_>` field is optional unless it has `required`)".to_owned(),
            "ref" => " (a reference is a type: give the field the referenced type, or list it in `all_of(...)`)".to_owned(),
            _ => closest(&key, known.iter().copied())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default(),
        };
        errors.push(span, format!("unknown `event` attribute `{key}`{help}"));
        return skip_value(&meta);
    }
    if !allowed_in(&key, place) {
        let why = match (key.as_str(), place) {
            ("rename", _) => "it names a field or variant".to_owned(),
            ("nullable" | "never", Place::Struct) => "it belongs on a field".to_owned(),
            ("required", _) => "it belongs on a field, or on a struct with the names of properties that are not fields: `required = [\"a\"]`".to_owned(),
            ("additional", _) => "it marks the map field that holds additional properties".to_owned(),
            ("values", _) => "it belongs on the `#[event(additional)]` field".to_owned(),
            ("additional_properties", _) => "it belongs on the struct".to_owned(),
            ("tag", _) => "it names the property that tells the variants of a union enum apart".to_owned(),
            ("ty", _) => "it names the type inside `items(...)` or `values(...)` when the outer type is `serde_json::Value`".to_owned(),
            (_, Place::Variant) => "a variant takes only `rename`".to_owned(),
            _ => "it does not apply there".to_owned(),
        };
        errors.push(
            span,
            format!("`{key}` cannot be used on {}: {why}", place_name(place)),
        );
        return skip_value(&meta);
    }
    match key.as_str() {
        "type" => {
            let types = parse_type_names(&meta, errors)?;
            set(&mut k.types, "type", span, types, errors);
        }
        "min_length" => {
            let v = parse_count(&meta, &key)?;
            set(&mut k.min_length, &key, span, v, errors);
        }
        "max_length" => {
            let v = parse_count(&meta, &key)?;
            set(&mut k.max_length, &key, span, v, errors);
        }
        "min_items" => {
            let v = parse_count(&meta, &key)?;
            set(&mut k.min_items, &key, span, v, errors);
        }
        "max_items" => {
            let v = parse_count(&meta, &key)?;
            set(&mut k.max_items, &key, span, v, errors);
        }
        "min_contains" => {
            let v = parse_count(&meta, &key)?;
            set(&mut k.min_contains, &key, span, v, errors);
        }
        "max_contains" => {
            let v = parse_count(&meta, &key)?;
            set(&mut k.max_contains, &key, span, v, errors);
        }
        "min_properties" => {
            let v = parse_count(&meta, &key)?;
            set(&mut k.min_properties, &key, span, v, errors);
        }
        "max_properties" => {
            let v = parse_count(&meta, &key)?;
            set(&mut k.max_properties, &key, span, v, errors);
        }
        "minimum" => {
            let v = parse_number(&meta, &key)?;
            set(&mut k.minimum, &key, span, v, errors);
        }
        "maximum" => {
            let v = parse_number(&meta, &key)?;
            set(&mut k.maximum, &key, span, v, errors);
        }
        "exclusive_minimum" => {
            let v = parse_number(&meta, &key)?;
            set(&mut k.exclusive_minimum, &key, span, v, errors);
        }
        "exclusive_maximum" => {
            let v = parse_number(&meta, &key)?;
            set(&mut k.exclusive_maximum, &key, span, v, errors);
        }
        "multiple_of" => {
            let v = parse_number(&meta, &key)?;
            if let Err(message) = keywords::check_multiple_of(&key, v.as_f64().unwrap_or(0.0)) {
                errors.push(span, message);
            }
            set(&mut k.multiple_of, &key, span, v, errors);
        }
        "pattern" => {
            let lit = parse_str(&meta, &key, "\"^[a-z]+$\"")?;
            if let Err(message) = keywords::check_pattern(&lit.value()) {
                errors.push(lit.span(), format!("`pattern` {message}"));
            }
            set(&mut k.pattern, &key, span, lit.value(), errors);
        }
        "format" => {
            let lit = parse_str(&meta, &key, "\"date-time\"")?;
            match keywords::format_named(&lit.value()) {
                Ok(format) => set(&mut k.format, &key, span, format, errors),
                Err((message, help)) => errors.push(lit.span(), format!("{message}; {help}")),
            }
        }
        "unique_items" => {
            if parse_bool(&meta)? {
                set(&mut k.unique_items, &key, span, true, errors);
            }
        }
        "items" | "values" => {
            let mut group = Keywords::default();
            // `items()` (nothing inside) is a group that says only that the keyword is there.
            let empty = {
                let fork = meta.input.fork();
                let content;
                syn::parenthesized!(content in fork);
                content.is_empty()
            };
            if empty {
                let content;
                syn::parenthesized!(content in meta.input);
                let _ = content;
            } else {
                meta.parse_nested_meta(|inner| parse_key(&mut group, Place::Group, inner, errors))?;
            }
            let slot = if key == "items" {
                &mut k.items
            } else {
                &mut k.values
            };
            set(slot, &key, span, Box::new(group), errors);
        }
        "prefix_items" => {
            let types = parse_types(&meta, &key)?;
            set(&mut k.prefix_items, &key, span, types, errors);
        }
        "contains" => {
            let ty = parse_type(&meta, &key)?;
            set(&mut k.contains, &key, span, ty, errors);
        }
        "property_names" => {
            let ty = parse_type(&meta, &key)?;
            set(&mut k.property_names, &key, span, ty, errors);
        }
        "not" => {
            let ty = parse_type(&meta, &key)?;
            set(&mut k.not, &key, span, ty, errors);
        }
        "if" => {
            let ty = parse_type(&meta, &key)?;
            set(&mut k.test, &key, span, ty, errors);
        }
        "then" => {
            let ty = parse_type(&meta, &key)?;
            set(&mut k.then, &key, span, ty, errors);
        }
        "else" => {
            let ty = parse_type(&meta, &key)?;
            set(&mut k.otherwise, &key, span, ty, errors);
        }
        "unevaluated_items" => {
            let rest = parse_rest(&meta, &key)?;
            set(&mut k.unevaluated_items, &key, span, rest, errors);
        }
        "unevaluated_properties" => {
            let rest = parse_rest(&meta, &key)?;
            set(&mut k.unevaluated_properties, &key, span, rest, errors);
        }
        "all_of" => {
            let types = parse_types(&meta, &key)?;
            set(&mut k.all_of, &key, span, types, errors);
        }
        "any_of" | "one_of" => {
            if meta.input.peek(syn::token::Paren) {
                let types = parse_types(&meta, &key)?;
                let slot = if key == "any_of" {
                    &mut k.any_of
                } else {
                    &mut k.one_of
                };
                set(slot, &key, span, types, errors);
            } else if place == Place::Enum {
                let name = if key == "any_of" { "any_of" } else { "one_of" };
                set(&mut k.union, "one_of` or `any_of", span, name, errors);
            } else {
                errors.push(span, format!("`{key}` without types makes an enum a union of its variants; here, list the branches' types: `{key}(A, B)`"));
            }
        }
        "tag" => {
            let lit = parse_str(&meta, &key, "\"kind\"")?;
            set(&mut k.tag, &key, span, lit.value(), errors);
        }
        "pattern_properties" => {
            let entries = parse_entries(&meta, &key, "\"^x_\" = String", |input| {
                input.parse::<syn::Type>()
            })?;
            for (pattern, _) in &entries {
                if let Err(message) = keywords::check_pattern(&pattern.value()) {
                    errors.push(
                        pattern.span(),
                        format!("the `pattern_properties` pattern {message}"),
                    );
                }
            }
            let entries = entries.into_iter().map(|(p, t)| (p.value(), t)).collect();
            set(&mut k.pattern_properties, &key, span, entries, errors);
        }
        "dependent_schemas" => {
            let entries = parse_entries(&meta, &key, "\"card\" = CardDetails", |input| {
                input.parse::<syn::Type>()
            })?;
            let entries = entries.into_iter().map(|(p, t)| (p.value(), t)).collect();
            set(&mut k.dependent_schemas, &key, span, entries, errors);
        }
        "dependent_required" => {
            let entries =
                parse_entries(&meta, &key, "\"card\" = [\"billing_address\"]", |input| {
                    parse_names(input, "dependent_required")
                })?;
            let entries = entries.into_iter().map(|(p, t)| (p.value(), t)).collect();
            set(&mut k.dependent_required, &key, span, entries, errors);
        }
        "additional_properties" => {
            let lit: syn::LitBool = meta.value()?.parse()?;
            if lit.value {
                errors.push(lit.span(), "`additional_properties = true` is the default; remove it (for a schema, add a map field with `#[event(additional, values(...))]`)");
            } else {
                set_flag(&mut k.additional_properties_false, &key, span, errors);
            }
        }
        "enum" => {
            let (value, lit_span) = parse_json(&meta, &key, "r#\"[\"a\", \"b\"]\"#")?;
            match value {
                Value::Array(values) if !values.is_empty() => {
                    for (i, a) in values.iter().enumerate() {
                        if values[..i]
                            .iter()
                            .any(|b| ingest_codegen::schema::json_equal(a, b))
                        {
                            errors.push(lit_span, format!("`enum` lists {a} twice"));
                        }
                    }
                    set(&mut k.enum_values, &key, span, values, errors);
                }
                _ => errors.push(
                    lit_span,
                    "`enum` must be a non-empty JSON array, as in `enum = r#\"[\"a\", 1]\"#`",
                ),
            }
        }
        "const" => {
            let (value, _) = parse_json(&meta, &key, "\"1\"")?;
            set(&mut k.const_value, &key, span, value, errors);
        }
        "default" => {
            let (value, _) = parse_json(&meta, &key, "\"0\"")?;
            set(&mut k.default, &key, span, value, errors);
        }
        "examples" => {
            let (value, lit_span) = parse_json(&meta, &key, "r#\"[\"a\"]\"#")?;
            match value {
                Value::Array(values) => set(&mut k.examples, &key, span, values, errors),
                _ => errors.push(lit_span, "`examples` must be a JSON array"),
            }
        }
        "title" => {
            let lit = parse_str(&meta, &key, "\"Shift created\"")?;
            set(&mut k.title, &key, span, lit.value(), errors);
        }
        "rename" => {
            let lit = parse_str(&meta, &key, "\"createdBy\"")?;
            set(&mut k.rename, &key, span, lit.value(), errors);
        }
        "ty" => {
            let ty: syn::Type = meta.value()?.parse()?;
            set(&mut k.ty, &key, span, ty, errors);
        }
        "required" if place == Place::Struct => {
            if !meta.input.peek(Token![=]) {
                errors.push(span, "on a struct, `required` lists the properties that must be present but are not fields: `required = [\"a\"]`; a field is required unless it is an `Option<_>`");
                return skip_value(&meta);
            }
            let names = parse_names(meta.value()?, "required")?;
            set(&mut k.required_names, &key, span, names, errors);
        }
        "required" => set_flag(&mut k.required, &key, span, errors),
        "nullable" => set_flag(&mut k.nullable, &key, span, errors),
        "additional" => set_flag(&mut k.additional, &key, span, errors),
        "never" => set_flag(&mut k.never, &key, span, errors),
        other => unreachable!("`{other}` is a known key but not parsed"),
    }
    Ok(())
}

impl Keywords {
    /// The assertion and applicator keys that are set, with their spans, for applicability
    /// checks (annotations and the derive's own keys are not among them).
    pub fn assertions(&self) -> Vec<(&'static str, Span)> {
        let mut out = Vec::new();
        let mut add = |key: &'static str, span: Option<Span>| {
            if let Some(span) = span {
                out.push((key, span));
            }
        };
        add("type", self.types.as_ref().map(|s| s.span));
        add("min_length", self.min_length.as_ref().map(|s| s.span));
        add("max_length", self.max_length.as_ref().map(|s| s.span));
        add("pattern", self.pattern.as_ref().map(|s| s.span));
        add("format", self.format.as_ref().map(|s| s.span));
        add("minimum", self.minimum.as_ref().map(|s| s.span));
        add("maximum", self.maximum.as_ref().map(|s| s.span));
        add(
            "exclusive_minimum",
            self.exclusive_minimum.as_ref().map(|s| s.span),
        );
        add(
            "exclusive_maximum",
            self.exclusive_maximum.as_ref().map(|s| s.span),
        );
        add("multiple_of", self.multiple_of.as_ref().map(|s| s.span));
        add("prefix_items", self.prefix_items.as_ref().map(|s| s.span));
        add("contains", self.contains.as_ref().map(|s| s.span));
        add("min_contains", self.min_contains.as_ref().map(|s| s.span));
        add("max_contains", self.max_contains.as_ref().map(|s| s.span));
        add("min_items", self.min_items.as_ref().map(|s| s.span));
        add("max_items", self.max_items.as_ref().map(|s| s.span));
        add("unique_items", self.unique_items.as_ref().map(|s| s.span));
        add(
            "unevaluated_items",
            self.unevaluated_items.as_ref().map(|s| s.span),
        );
        add("items", self.items.as_ref().map(|s| s.span));
        add("required", self.required_names.as_ref().map(|s| s.span));
        add(
            "pattern_properties",
            self.pattern_properties.as_ref().map(|s| s.span),
        );
        add(
            "property_names",
            self.property_names.as_ref().map(|s| s.span),
        );
        add(
            "dependent_required",
            self.dependent_required.as_ref().map(|s| s.span),
        );
        add(
            "dependent_schemas",
            self.dependent_schemas.as_ref().map(|s| s.span),
        );
        add(
            "min_properties",
            self.min_properties.as_ref().map(|s| s.span),
        );
        add(
            "max_properties",
            self.max_properties.as_ref().map(|s| s.span),
        );
        add(
            "unevaluated_properties",
            self.unevaluated_properties.as_ref().map(|s| s.span),
        );
        add("enum", self.enum_values.as_ref().map(|s| s.span));
        add("const", self.const_value.as_ref().map(|s| s.span));
        add("all_of", self.all_of.as_ref().map(|s| s.span));
        add("any_of", self.any_of.as_ref().map(|s| s.span));
        add("one_of", self.one_of.as_ref().map(|s| s.span));
        add("not", self.not.as_ref().map(|s| s.span));
        add("if", self.test.as_ref().map(|s| s.span));
        add("then", self.then.as_ref().map(|s| s.span));
        add("else", self.otherwise.as_ref().map(|s| s.span));
        add("never", self.never);
        out
    }
}
