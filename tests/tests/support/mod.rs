//! Event generators that the differential tests share: values for a schema, near its edges
//! (boundaries of numeric ranges and lengths, valid and invalid formats, missing required and
//! extra properties, wrong types, duplicated array items), so roughly half are valid.
//!
//! The generator reads a schema without references: [`inlined`] replaces every `$ref` of a
//! parsed document by its target (recursion cut a few levels down). Applicators are read as a
//! producer would satisfy them: a branch of `oneOf`/`anyOf`, the parts of `allOf` merged, the
//! names `if`/`then`/`else`, `dependentRequired` and `dependentSchemas` may require made
//! likely, tuples by `prefixItems`, keys by `patternProperties`.

#![allow(dead_code)]

use std::cell::Cell;

use ingest_codegen::schema::{Document, Schema};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

thread_local! {
    /// Whether the strategy being built is [`valid_value_for`]'s: every choice inside the
    /// schema as the generator reads it. Strategies are built eagerly (the recursion happens
    /// while building, not while sampling), so a flag read while building decides them.
    static STRICT: Cell<bool> = const { Cell::new(false) };
}

fn strict() -> bool {
    STRICT.with(Cell::get)
}

/// What [`inlined`] puts where it cuts a recursive reference: a schema the generator reads as
/// "nothing more below here" (an empty array where it is the items' schema).
const CUT: &str = "recursion cut here";

fn is_cut(schema: &Value) -> bool {
    schema.get("$comment").and_then(Value::as_str) == Some(CUT)
}

/// `Some` of the strategy's value with probability `p`, which may be 0 or 1 (which
/// `proptest::option::weighted` refuses).
fn maybe<S>(p: f64, strategy: S) -> BoxedStrategy<Option<S::Value>>
where
    S: Strategy + 'static,
    S::Value: Clone + 'static,
{
    if p >= 1.0 {
        strategy.prop_map(Some).boxed()
    } else if p <= 0.0 {
        Just(None).boxed()
    } else {
        proptest::option::weighted(p, strategy).boxed()
    }
}

// Each list of samples starts with two valid ones.
const DATE_TIMES: &[&str] = &[
    "2024-03-01T09:00:00Z",
    "2024-03-01T09:00:00.123+01:00",
    "1998-12-31T23:59:60Z",
    "1998-12-31T22:59:60Z",
    "2024-02-30T09:00:00Z",
    "2024-03-01 09:00:00Z",
    "2024-03-01T24:00:00Z",
    "2024-03-01t09:00:00z",
    "2024-03-01T09:00:00",
    "2024-03-01T09:00:00+01",
];
const DATES: &[&str] = &[
    "2024-02-29",
    "0001-01-01",
    "2023-02-29",
    "2024-13-01",
    "2024-1-01",
    "2024-03-01T00:00:00Z",
];
const UUIDS: &[&str] = &[
    "2eb8aa08-aa98-11ea-b4aa-73b441d16380",
    "2EB8AA08-AA98-11EA-B4AA-73B441D16380",
    "2eb8aa08aa9811eab4aa73b441d16380",
    "2eb8aa08-aa98-11ea-b4aa-73b441d1638",
    "not-a-uuid",
];
const TIMES: &[&str] = &[
    "08:30:06Z",
    "23:59:60Z",
    "08:30:06",
    "24:00:00Z",
    "8:30:06Z",
];
const DURATIONS: &[&str] = &["P4DT12H30M5S", "PT36H", "PT1D", "P", "P1Y2D", "PT0.5S"];
const IPV4S: &[&str] = &[
    "192.168.0.1",
    "10.0.0.255",
    "256.1.1.1",
    "127.0.1",
    "01.2.3.4",
];
const IPV6S: &[&str] = &[
    "::1",
    "2001:db8::7",
    "12345::",
    "1::2::3",
    "::ffff:192.168.0.01",
];
const HOSTNAMES: &[&str] = &[
    "www.example.com",
    "xn--9n2bp8q.xn--9t4b11yi5a",
    "-bad.example.com",
    "a_b.example",
    "example.",
];
const URIS: &[&str] = &[
    "https://example.com/a?b=c#d",
    "urn:isbn:0451450523",
    "/relative/path",
    "http://example.com/%6G",
    "http:/[::1]",
];
const EMAILS: &[&str] = &[
    "joe.bloggs@example.com",
    "a+b@sub.example.org",
    "te..st@example.com",
    "@example.com",
    "joe@",
    "\"joe bloggs\"@example.com",
    "joe bloggs@example.com",
    ".test@example.com",
];

fn number_near(schema: &Map<String, Value>, integer: bool) -> BoxedStrategy<Value> {
    let mut anchors: Vec<f64> = vec![0.0, 1.0, -1.0, 7.0, 1e9];
    for key in [
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ] {
        if let Some(n) = schema.get(key).and_then(Value::as_f64) {
            anchors.extend([n, n - 1.0, n + 1.0, n - 0.5, n + 0.5, n * 2.0]);
        }
    }
    let anchors2 = anchors.clone();
    let lower = schema
        .get("minimum")
        .and_then(Value::as_f64)
        .or_else(|| {
            schema
                .get("exclusiveMinimum")
                .and_then(Value::as_f64)
                .map(|m| m + 1.0)
        })
        .unwrap_or(-1000.0);
    let upper = schema
        .get("maximum")
        .and_then(Value::as_f64)
        .or_else(|| {
            schema
                .get("exclusiveMaximum")
                .and_then(Value::as_f64)
                .map(|m| m - 1.0)
        })
        .unwrap_or(lower + 1000.0);
    let step = schema
        .get("multipleOf")
        .and_then(Value::as_f64)
        .unwrap_or(1.0);
    let inside = (0.0f64..=1.0).prop_map(move |t| {
        let raw = lower.ceil() + t * (upper.floor() - lower.ceil()).max(0.0);
        let stepped = (raw / step).floor() * step;
        let value = if stepped < lower {
            lower.ceil()
        } else {
            stepped
        };
        json!(value as i64)
    });
    if strict() {
        return inside.boxed();
    }
    prop_oneof![
        6 => inside,
        1 => proptest::sample::select(anchors).prop_map(move |f| {
            if integer || f.fract() == 0.0 { json!(f as i64) } else { json!(f) }
        }),
        1 => proptest::sample::select(anchors2).prop_map(|f| json!(f + 0.25)),
        1 => any::<i32>().prop_map(|i| json!(i)),
        1 => Just(json!(1.0)),
    ]
    .boxed()
}

fn string_for(schema: &Map<String, Value>) -> BoxedStrategy<Value> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values = values.clone();
        if strict() {
            return proptest::sample::select(values).boxed();
        }
        return prop_oneof![
            4 => proptest::sample::select(values),
            1 => "[a-z]{0,8}".prop_map(Value::String),
        ]
        .boxed();
    }
    let samples: Option<&[&str]> = match schema.get("format").and_then(Value::as_str) {
        Some("date-time") => Some(DATE_TIMES),
        Some("date") => Some(DATES),
        Some("uuid") => Some(UUIDS),
        Some("email") => Some(EMAILS),
        Some("time") => Some(TIMES),
        Some("duration") => Some(DURATIONS),
        Some("ipv4") => Some(IPV4S),
        Some("ipv6") => Some(IPV6S),
        Some("hostname") => Some(HOSTNAMES),
        Some("uri") => Some(URIS),
        _ => None,
    };
    if let Some(samples) = samples {
        // The first two samples of each list are valid.
        if strict() {
            return proptest::sample::select(&samples[..2])
                .prop_map(|s| json!(s))
                .boxed();
        }
        return prop_oneof![
            3 => proptest::sample::select(&samples[..2]).prop_map(|s| json!(s)),
            1 => proptest::sample::select(samples).prop_map(|s| json!(s)),
        ]
        .boxed();
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        // Generate from the pattern without its anchors (the generator does not take them).
        let body = pattern.trim_start_matches('^').trim_end_matches('$');
        let matching = proptest::string::string_regex(body).expect("spec patterns are simple");
        if strict() {
            return matching.prop_map(Value::String).boxed();
        }
        return prop_oneof![
            3 => matching.prop_map(Value::String),
            1 => "[#a-zA-Z0-9_ -]{0,12}".prop_map(Value::String),
        ]
        .boxed();
    }
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .map_or(min + 20, |m| m as usize);
    let low = min.saturating_sub(1);
    if strict() {
        return proptest::collection::vec(proptest::char::range('a', 'z'), min..=max.min(min + 20))
            .prop_map(|c| Value::String(c.into_iter().collect()))
            .boxed();
    }
    prop_oneof![
        4 => proptest::collection::vec(proptest::char::range('a', 'z'), min..=max.min(min + 20))
            .prop_map(|c| Value::String(c.into_iter().collect())),
        1 => proptest::collection::vec(proptest::char::range('a', 'z'), low..=max + 1)
            .prop_map(|c| Value::String(c.into_iter().collect())),
        1 => proptest::collection::vec(any::<char>(), 0..6).prop_map(|c| Value::String(c.into_iter().collect())),
    ]
    .boxed()
}

pub fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[a-z]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A schema's JSON with every `$ref` replaced by its target (and a `$ref` beside other
/// keywords by `allOf: [target, the rest]`), read from the parsed document: the raw JSON and
/// the parsed tree are walked together, so a reference goes where the parser resolved it
/// (`$id`s, anchors, other files). A recursive reference is cut after `depth` levels (`{}`).
pub fn inlined(document: &Document, raw: &Value) -> Value {
    inline(document, raw, raw, &document.root, 0)
}

fn definition_json<'d>(document: &'d Document, root: &'d Value, target: usize) -> Value {
    let definition = &document.definitions[target];
    let file = match &definition.file {
        Some(uri) => document
            .files
            .iter()
            .find(|(u, _)| u == uri)
            .map(|(_, v)| v)
            .expect("the document keeps every file it read"),
        None => root,
    };
    file.pointer(&definition.pointer)
        .cloned()
        .unwrap_or(Value::Bool(true))
}

fn inline(document: &Document, root: &Value, raw: &Value, parsed: &Schema, depth: u32) -> Value {
    let (Value::Object(map), Schema::Object(object)) = (raw, parsed) else {
        return raw.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let sub = |name: &str, i: Option<usize>| -> Option<&Schema> {
            match (key.as_str(), i) {
                ("items", _) => object.items.as_ref(),
                ("contains", _) => object.contains.as_ref(),
                ("not", _) => object.not.as_ref(),
                ("if", _) => object.if_schema.as_ref(),
                ("then", _) => object.then_schema.as_ref(),
                ("else", _) => object.else_schema.as_ref(),
                ("additionalProperties", _) => object.additional_properties.as_ref(),
                ("unevaluatedProperties", _) => object.unevaluated_properties.as_ref(),
                ("unevaluatedItems", _) => object.unevaluated_items.as_ref(),
                ("propertyNames", _) => object.property_names.as_ref(),
                ("allOf", Some(i)) => object.all_of.get(i),
                ("anyOf", Some(i)) => object.any_of.get(i),
                ("oneOf", Some(i)) => object.one_of.get(i),
                ("prefixItems", Some(i)) => object.prefix_items.get(i),
                ("properties", _) => object.property(name),
                ("patternProperties", _) => object
                    .pattern_properties
                    .iter()
                    .find(|(p, _)| p == name)
                    .map(|(_, s)| s),
                ("dependentSchemas", _) => object
                    .dependent_schemas
                    .iter()
                    .find(|(p, _)| p == name)
                    .map(|(_, s)| s),
                _ => None,
            }
        };
        let walked = match (key.as_str(), value) {
            ("$ref" | "$defs", _) => continue,
            ("allOf" | "anyOf" | "oneOf" | "prefixItems", Value::Array(items)) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match sub("", Some(i)) {
                        Some(schema) => inline(document, root, item, schema, depth + 1),
                        None => item.clone(),
                    })
                    .collect(),
            ),
            ("properties" | "patternProperties" | "dependentSchemas", Value::Object(entries)) => {
                Value::Object(
                    entries
                        .iter()
                        .map(|(name, item)| {
                            let walked = match sub(name, None) {
                                Some(schema) => inline(document, root, item, schema, depth + 1),
                                None => item.clone(),
                            };
                            (name.clone(), walked)
                        })
                        .collect(),
                )
            }
            (_, item) => match sub("", None) {
                Some(schema) => inline(document, root, item, schema, depth + 1),
                None => item.clone(),
            },
        };
        out.insert(key.clone(), walked);
    }
    let Some(reference) = &object.reference else {
        return Value::Object(out);
    };
    let target = if depth > 12 {
        json!({ "$comment": CUT })
    } else {
        let raw_target = definition_json(document, root, reference.target);
        inline(
            document,
            root,
            &raw_target,
            &document.definitions[reference.target].schema,
            depth + 4,
        )
    };
    if out.is_empty() {
        target
    } else {
        json!({"allOf": [target, Value::Object(out)]})
    }
}

/// A schema with its in-place applicators folded into one object a value can be generated
/// from: `allOf`'s parts and `dependentSchemas` merged in, the names `then`, `else` and
/// `dependentRequired` may require made required, and a `oneOf`/`anyOf` branch picked by
/// `branch` (an index, modulo the branches).
fn folded(schema: &Map<String, Value>, branch: usize) -> Map<String, Value> {
    let mut out = schema.clone();
    let mut parts: Vec<Value> = Vec::new();
    for key in ["allOf"] {
        if let Some(Value::Array(items)) = out.remove(key) {
            parts.extend(items);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(items)) = out.remove(key)
            && !items.is_empty()
        {
            parts.push(items[branch % items.len()].clone());
        }
    }
    for key in ["then", "else"] {
        if let Some(Value::Object(part)) = out.remove(key) {
            // Only what it requires: its other keywords depend on `if`.
            if let Some(required) = part.get("required") {
                parts.push(json!({ "required": required }));
            }
        }
    }
    out.remove("if");
    out.remove("not");
    if let Some(Value::Object(dependents)) = out.remove("dependentSchemas") {
        parts.extend(dependents.into_values());
    }
    if let Some(Value::Object(dependents)) = out.remove("dependentRequired") {
        let names: Vec<Value> = dependents
            .values()
            .filter_map(Value::as_array)
            .flatten()
            .cloned()
            .collect();
        parts.push(json!({ "required": names }));
    }
    for part in parts {
        let Value::Object(part) = part else {
            continue;
        };
        let part = folded(&part, branch / 3);
        for (key, value) in part {
            match (key.as_str(), out.get_mut(&key), value) {
                ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                    for (name, schema) in theirs {
                        mine.entry(name).or_insert(schema);
                    }
                }
                ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                    for name in theirs {
                        if !mine.contains(&name) {
                            mine.push(name);
                        }
                    }
                }
                (_, Some(_), _) => {}
                (_, None, value) => {
                    out.insert(key, value);
                }
            }
        }
    }
    out
}

/// Values for a schema: mostly of its type and near its limits, sometimes anything. At the
/// top (`depth` 0), half the events are [`valid_value_for`]'s, since in a schema of many
/// properties the edges of each would otherwise make almost every event invalid.
pub fn value_for(schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    if depth == 0 && !strict() {
        let valid = valid_value_for(schema);
        return prop_oneof![valid, values(schema, depth)].boxed();
    }
    values(schema, depth)
}

/// Values for a schema with every choice inside it as the generator reads it (the branch of
/// a union, the required names of `then` and `else` alike, lengths and bounds kept): valid
/// events, unless a keyword the generator does not read (`not`, `contains`, `if` beyond the
/// names it requires) says otherwise.
pub fn valid_value_for(schema: &Value) -> BoxedStrategy<Value> {
    let was = STRICT.with(|s| s.replace(true));
    let strategy = values(schema, 0);
    STRICT.with(|s| s.set(was));
    strategy
}

fn values(schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    let Some(schema) = schema.as_object() else {
        return if strict() && *schema == Value::Bool(true) {
            Just(Value::Null).boxed()
        } else {
            any_json()
        };
    };
    let unions = ["oneOf", "anyOf"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Value::as_array))
        .map(Vec::len)
        .max()
        .unwrap_or(1);
    if unions > 1 || schema.contains_key("allOf") || schema.contains_key("dependentSchemas") {
        let branches: Vec<BoxedStrategy<Value>> = (0..unions)
            .map(|b| value_for_folded(folded(schema, b), depth))
            .collect();
        return proptest::strategy::Union::new(branches).boxed();
    }
    value_for_folded(folded(schema, 0), depth)
}

fn value_for_folded(schema: Map<String, Value>, depth: u32) -> BoxedStrategy<Value> {
    let schema = &schema;
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ if schema.contains_key("properties") || schema.contains_key("patternProperties") => {
            vec!["object".into()]
        }
        _ if schema.contains_key("prefixItems") => vec!["array".into()],
        _ => vec!["string".into(), "integer".into(), "null".into()],
    };
    let mut options: Vec<BoxedStrategy<Value>> = Vec::new();
    for t in &types {
        options.push(match t.as_str() {
            "null" => Just(Value::Null).boxed(),
            "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
            "integer" => number_near(schema, true),
            "number" => number_near(schema, false),
            "string" => string_for(schema),
            "array" if schema.contains_key("prefixItems") => tuple_for(schema, depth),
            "array" if strict() => {
                let items = schema.get("items").unwrap_or(&Value::Bool(true));
                let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
                let max = schema.get("maxItems").and_then(Value::as_u64).unwrap_or(4) as usize;
                let max = if is_cut(items) {
                    0
                } else {
                    max.min(min.max(3))
                };
                let unique = schema.get("uniqueItems") == Some(&Value::Bool(true));
                proptest::collection::vec(value_for(items, depth + 1), min..=max.max(min))
                    .prop_map(move |mut items| {
                        if unique {
                            let mut seen: Vec<Value> = Vec::new();
                            items.retain(|item| {
                                let new = !seen.contains(item);
                                seen.push(item.clone());
                                new
                            });
                        }
                        Value::Array(items)
                    })
                    .boxed()
            }
            "array" => {
                let item = value_for(schema.get("items").unwrap_or(&Value::Bool(true)), depth + 1);
                let max = schema.get("maxItems").and_then(Value::as_u64).unwrap_or(4) as usize;
                proptest::collection::vec(item, 0..=(max + 1).min(4))
                    .prop_flat_map(|items| {
                        let n = items.len();
                        (Just(items), 0..=n)
                    })
                    .prop_map(|(mut items, dup)| {
                        if dup < items.len() && dup > 0 {
                            let copy = items[dup - 1].clone();
                            items[dup] = copy;
                        }
                        Value::Array(items)
                    })
                    .boxed()
            }
            "object" => object_for(schema, depth),
            _ => any_json(),
        });
    }
    if let Some(c) = schema.get("const") {
        if strict() {
            return Just(c.clone()).boxed();
        }
        options.push(Just(c.clone()).boxed());
        options.push(Just(c.clone()).boxed());
    }
    if strict()
        && let Some(values) = schema.get("enum").and_then(Value::as_array)
    {
        return proptest::sample::select(values.clone()).boxed();
    }
    let typed = proptest::strategy::Union::new(options).boxed();
    if strict() {
        return typed;
    }
    prop_oneof![30 => typed, 1 => any_json()].boxed()
}

/// An array for `prefixItems`: the tuple, then (sometimes) items of `items` or
/// `unevaluatedItems`, sometimes one short.
fn tuple_for(schema: &Map<String, Value>, depth: u32) -> BoxedStrategy<Value> {
    let prefix: Vec<BoxedStrategy<Value>> = schema
        .get("prefixItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| value_for(s, depth + 1))
        .collect();
    let rest_schema = schema
        .get("items")
        .or_else(|| schema.get("unevaluatedItems"))
        .cloned()
        .unwrap_or(Value::Bool(true));
    let room = schema
        .get("maxItems")
        .and_then(Value::as_u64)
        .map_or(2, |max| (max as usize).saturating_sub(prefix.len()).min(2));
    let rest = if rest_schema == Value::Bool(false) || (strict() && room == 0) {
        Just(Vec::new()).boxed()
    } else {
        let most = if strict() { room } else { 2 };
        proptest::collection::vec(value_for(&rest_schema, depth + 1), 0..=most).boxed()
    };
    let whole = if strict() { 1.0 } else { 0.9 };
    (prefix, rest, maybe(whole, Just(())))
        .prop_map(|(mut items, rest, whole)| {
            if whole.is_none() {
                items.pop();
            }
            items.extend(rest);
            Value::Array(items)
        })
        .boxed()
}

fn object_for(schema: &Map<String, Value>, depth: u32) -> BoxedStrategy<Value> {
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let properties: Vec<(String, Value)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let additional = schema
        .get("additionalProperties")
        .or_else(|| schema.get("unevaluatedProperties"))
        .cloned()
        .unwrap_or(Value::Bool(true));
    // Keys `patternProperties` matches, from its first pattern.
    let patterned: BoxedStrategy<Vec<(String, Value)>> = match schema
        .get("patternProperties")
        .and_then(Value::as_object)
        .and_then(|p| p.iter().next())
    {
        Some((pattern, sub)) => {
            let body = pattern.trim_start_matches('^').trim_end_matches('$');
            let keys = proptest::string::string_regex(body)
                .expect("spec patterns are simple")
                .prop_filter("a key of 1 to 32 characters", |k| {
                    (1..=32).contains(&k.chars().count())
                });
            proptest::collection::vec((keys, value_for(sub, depth + 1)), 0..3).boxed()
        }
        None => Just(Vec::new()).boxed(),
    };
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    for (name, sub) in properties {
        let keep = match (required.contains(&name), strict()) {
            (true, true) => 1.0,
            (true, false) => 0.97,
            (false, _) => 0.6,
        };
        let name2 = name.clone();
        fields.push(
            maybe(keep, value_for(&sub, depth + 1))
                .prop_map(move |v| v.map(|v| (name2.clone(), v)))
                .boxed(),
        );
    }
    let extra_value = if additional == Value::Bool(false) {
        any_json()
    } else {
        value_for(&additional, depth + 1)
    };
    let extras = proptest::collection::vec(("[a-z]{1,5}", extra_value), 0..3);
    let extra_weight = match (additional == Value::Bool(false), strict()) {
        (true, true) => 0.0,
        (true, false) => 0.05,
        (false, _) => 0.5,
    };
    (fields, maybe(extra_weight, extras), patterned)
        .prop_map(|(fields, extras, patterned)| {
            let mut map = Map::new();
            for (k, v) in fields.into_iter().flatten() {
                map.insert(k, v);
            }
            for (k, v) in extras.into_iter().flatten().chain(patterned) {
                map.entry(k).or_insert(v);
            }
            Value::Object(map)
        })
        .boxed()
}
