// Keywords that do not fit the Rust type of the field.
use ingest_runtime::Event;

#[derive(Event)]
struct Nested {
    x: i64,
}

#[derive(Event)]
struct Mismatch {
    #[event(minimum = 1)]
    name: String,
    #[event(min_length = 1)]
    count: i64,
    #[event(type = "string")]
    label: String,
    #[event(max_items = 3)]
    nested: Nested,
    #[event(never, minimum = 1)]
    gone: Option<serde_json::Value>,
    tags: std::collections::BTreeMap<String, String>,
    #[event(items(ty = String))]
    list: Vec<String>,
    #[event(items(nullable))]
    plain: Vec<String>,
    #[event(additional_properties = false)]
    loose: serde_json::Value,
}

fn main() {}
