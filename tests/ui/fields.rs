// Field-level rules: optional and nullable fields, names, the additional-properties map.
use ingest_runtime::Event;
use std::collections::BTreeMap;

#[derive(Event)]
#[event(additional_properties = false)]
struct Fields {
    #[event(nullable)]
    a: i64,
    #[event(required)]
    b: String,
    c: Option<Option<String>>,
    #[event(rename = "d")]
    dee: String,
    d: String,
    #[event(additional, minimum = 1, rename = "x")]
    more: BTreeMap<String, i64>,
    #[event(additional)]
    again: BTreeMap<String, i64>,
    #[event(additional)]
    not_a_map: Vec<String>,
}

#[derive(Event)]
struct TypedValues {
    #[event(additional, values(ty = String))]
    typed: BTreeMap<String, i64>,
}

fn main() {}
