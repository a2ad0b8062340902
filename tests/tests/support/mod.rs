//! Event generators that the differential tests share: values for a schema, near its edges
//! (boundaries of numeric ranges and lengths, valid and invalid formats, missing required and
//! extra properties, wrong types, duplicated array items), so roughly half are valid.

#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};

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
    "2023-02-29",
    "2024-13-01",
    "2024-1-01",
    "0001-01-01",
    "2024-03-01T00:00:00Z",
];
const UUIDS: &[&str] = &[
    "2eb8aa08-aa98-11ea-b4aa-73b441d16380",
    "2EB8AA08-AA98-11EA-B4AA-73B441D16380",
    "2eb8aa08aa9811eab4aa73b441d16380",
    "2eb8aa08-aa98-11ea-b4aa-73b441d1638",
    "not-a-uuid",
];
const EMAILS: &[&str] = &[
    "joe.bloggs@example.com",
    "te..st@example.com",
    "@example.com",
    "joe@",
    "a+b@sub.example.org",
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
        _ => None,
    };
    if let Some(samples) = samples {
        // The first two samples of each list are valid.
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

/// Values for a schema: mostly of its type and near its limits, sometimes anything.
pub fn value_for(schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    let Some(schema) = schema.as_object() else {
        return any_json();
    };
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
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
        options.push(Just(c.clone()).boxed());
        options.push(Just(c.clone()).boxed());
    }
    let typed = proptest::strategy::Union::new(options).boxed();
    prop_oneof![30 => typed, 1 => any_json()].boxed()
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
        .cloned()
        .unwrap_or(Value::Bool(true));
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    for (name, sub) in properties {
        let keep = if required.contains(&name) { 0.97 } else { 0.6 };
        let name2 = name.clone();
        fields.push(
            proptest::option::weighted(keep, value_for(&sub, depth + 1))
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
    let extra_weight = if additional == Value::Bool(false) {
        0.05
    } else {
        0.5
    };
    (fields, proptest::option::weighted(extra_weight, extras))
        .prop_map(|(fields, extras)| {
            let mut map = Map::new();
            for (k, v) in fields.into_iter().flatten() {
                map.insert(k, v);
            }
            for (k, v) in extras.into_iter().flatten() {
                map.entry(k).or_insert(v);
            }
            Value::Object(map)
        })
        .boxed()
}
