//! Parsing `#[event(...)]` attributes into [`Keywords`], collecting every error.
//!
//! Each attribute key is parsed on its own; a mistake in one is recorded with its span and
//! parsing goes on, so one compile shows every mistake. Values are checked here when the check
//! needs nothing but the value (a pattern that compiles, a known format, valid JSON); checks
//! that depend on the Rust type or on other keys happen in `model`.

use std::collections::BTreeSet;

use ingest_codegen::schema::{Format, InstanceType, closest};
use proc_macro2::{Span, TokenStream};
use serde_json::{Number, Value};
use syn::meta::ParseNestedMeta;
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
    /// On an enum of unit variants (a string enum).
    Enum,
    /// On an enum variant.
    Variant,
    /// On a named field.
    Field,
    /// Inside `items(...)` or `values(...)`.
    Group,
}

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
    pub min_items: Option<Spanned<u64>>,
    pub max_items: Option<Spanned<u64>>,
    pub unique_items: Option<Spanned<bool>>,
    pub items: Option<Spanned<Box<Keywords>>>,
    pub values: Option<Spanned<Box<Keywords>>>,
    pub min_properties: Option<Spanned<u64>>,
    pub max_properties: Option<Spanned<u64>>,
    pub additional_properties_false: Option<Span>,
    pub enum_values: Option<Spanned<Vec<Value>>>,
    pub const_value: Option<Spanned<Value>>,
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

/// The keys of the subset's assertion keywords, by the JSON type they apply to.
pub const STRING_KEYS: &[&str] = &["min_length", "max_length", "pattern", "format"];
/// Number keys.
pub const NUMBER_KEYS: &[&str] = &[
    "minimum",
    "maximum",
    "exclusive_minimum",
    "exclusive_maximum",
    "multiple_of",
];
/// Array keys.
pub const ARRAY_KEYS: &[&str] = &["min_items", "max_items", "unique_items", "items"];
/// Object keys.
pub const OBJECT_KEYS: &[&str] = &["min_properties", "max_properties", "additional_properties"];

const ALL_KEYS: &[&str] = &[
    "type",
    "min_length",
    "max_length",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusive_minimum",
    "exclusive_maximum",
    "multiple_of",
    "min_items",
    "max_items",
    "unique_items",
    "items",
    "values",
    "min_properties",
    "max_properties",
    "additional_properties",
    "enum",
    "const",
    "title",
    "default",
    "examples",
    "rename",
    "required",
    "nullable",
    "additional",
    "never",
    "ty",
];

fn allowed_in(key: &str, place: Place) -> bool {
    match place {
        Place::Variant => key == "rename",
        Place::Enum => {
            STRING_KEYS.contains(&key) || matches!(key, "title" | "default" | "examples")
        }
        Place::Struct => !matches!(
            key,
            "rename" | "required" | "nullable" | "additional" | "never" | "values" | "ty"
        ),
        Place::Newtype => !matches!(
            key,
            "rename" | "required" | "additional" | "values" | "ty" | "additional_properties"
        ),
        Place::Field => !matches!(key, "ty" | "additional_properties"),
        Place::Group => !matches!(
            key,
            "rename" | "required" | "additional" | "values" | "additional_properties"
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

fn type_from_name(name: &str) -> Option<InstanceType> {
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

const TYPE_NAMES: &[&str] = &[
    "null", "boolean", "object", "array", "number", "string", "integer",
];

fn parse_types(
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
        match type_from_name(&s.value()) {
            Some(t) if types.insert(t) => {}
            Some(_) => errors.push(
                s.span(),
                format!("`{}` is listed twice in `type`", s.value()),
            ),
            None => {
                let help = closest(&s.value(), TYPE_NAMES.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_else(|| format!("; the JSON types are {}", TYPE_NAMES.join(", ")));
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
    if !ALL_KEYS.contains(&key.as_str()) {
        let help = match key.as_str() {
            "min" | "ge" => " (did you mean `minimum`?)".to_owned(),
            "max" | "le" => " (did you mean `maximum`?)".to_owned(),
            "optional" => " (an `Option<_>` field is optional unless it has `required`)".to_owned(),
            _ => closest(&key, ALL_KEYS.iter().copied())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default(),
        };
        errors.push(span, format!("unknown `event` attribute `{key}`{help}"));
        return skip_value(&meta);
    }
    if !allowed_in(&key, place) {
        let why = match (key.as_str(), place) {
            ("rename", _) => "it names a field or variant".to_owned(),
            ("required" | "nullable" | "never", Place::Struct) => "it belongs on a field".to_owned(),
            ("additional", _) => "it marks the map field that holds additional properties".to_owned(),
            ("values", _) => "it belongs on the `#[event(additional)]` field".to_owned(),
            ("additional_properties", _) => "it belongs on the struct".to_owned(),
            ("ty", _) => "it names the type inside `items(...)` or `values(...)` when the outer type is `serde_json::Value`".to_owned(),
            (_, Place::Enum) => "an enum is a string enum; only string keywords and annotations apply".to_owned(),
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
            let types = parse_types(&meta, errors)?;
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
            if !v.as_f64().is_some_and(|f| f > 0.0) {
                errors.push(
                    span,
                    format!("`multiple_of` must be greater than 0, but it is {v}"),
                );
            }
            set(&mut k.multiple_of, &key, span, v, errors);
        }
        "pattern" => {
            let lit = parse_str(&meta, &key, "\"^[a-z]+$\"")?;
            if let Err(error) = regex::Regex::new(&lit.value()) {
                let first = error
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                errors.push(
                    lit.span(),
                    format!("`pattern` is not a valid regular expression: {first}"),
                );
            }
            set(&mut k.pattern, &key, span, lit.value(), errors);
        }
        "format" => {
            let lit = parse_str(&meta, &key, "\"date-time\"")?;
            let format = match lit.value().as_str() {
                "date-time" => Some(Format::DateTime),
                "date" => Some(Format::Date),
                "uuid" => Some(Format::Uuid),
                "email" => Some(Format::Email),
                other => {
                    let names = ["date-time", "date", "uuid", "email"];
                    let help = closest(other, names.iter().copied())
                        .map(|c| format!("did you mean `{c}`?"))
                        .unwrap_or_else(|| {
                            format!("the supported formats are {}", names.join(", "))
                        });
                    errors.push(
                        lit.span(),
                        format!("`{other}` is not a supported format; {help}"),
                    );
                    None
                }
            };
            if let Some(format) = format {
                set(&mut k.format, &key, span, format, errors);
            }
        }
        "unique_items" => {
            if parse_bool(&meta)? {
                set(&mut k.unique_items, &key, span, true, errors);
            }
        }
        "items" | "values" => {
            let mut group = Keywords::default();
            meta.parse_nested_meta(|inner| parse_key(&mut group, Place::Group, inner, errors))?;
            let slot = if key == "items" {
                &mut k.items
            } else {
                &mut k.values
            };
            set(slot, &key, span, Box::new(group), errors);
        }
        "additional_properties" => {
            let lit: syn::LitBool = meta.value()?.parse()?;
            if lit.value {
                errors.push(lit.span(), "`additional_properties = true` is the default; remove it (for a schema, add a map field with `#[event(additional)]`)");
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
        "required" => set_flag(&mut k.required, &key, span, errors),
        "nullable" => set_flag(&mut k.nullable, &key, span, errors),
        "additional" => set_flag(&mut k.additional, &key, span, errors),
        "never" => set_flag(&mut k.never, &key, span, errors),
        _ => unreachable!("every key of ALL_KEYS is handled"),
    }
    Ok(())
}

impl Keywords {
    /// The assertion keys that are set, with their spans, for applicability checks.
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
        add("min_items", self.min_items.as_ref().map(|s| s.span));
        add("max_items", self.max_items.as_ref().map(|s| s.span));
        add("unique_items", self.unique_items.as_ref().map(|s| s.span));
        add("items", self.items.as_ref().map(|s| s.span));
        add(
            "min_properties",
            self.min_properties.as_ref().map(|s| s.span),
        );
        add(
            "max_properties",
            self.max_properties.as_ref().map(|s| s.span),
        );
        add("enum", self.enum_values.as_ref().map(|s| s.span));
        add("const", self.const_value.as_ref().map(|s| s.span));
        add("never", self.never);
        out
    }
}
