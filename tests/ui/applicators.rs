// The applicators and the keywords of draft 2020-12 that the derive adds: every mistake is
// reported, with its span, in the same compile.
use ingest_runtime::Event;

#[derive(Event)]
struct Circle {
    r: f64,
}

#[derive(Event)]
#[event(required = ["r"], min_contains = 1, then(Circle))]
struct Keys {
    r: f64,
    #[event(one_of)]
    a: serde_json::Value,
    #[event(prefix_items(String), items(max_length = 3))]
    b: Vec<String>,
    #[event(contains(String))]
    c: String,
    #[event(nullable)]
    d: Option<Option<String>>,
    #[event(required)]
    e: Option<Option<String>>,
    #[event(unevaluated_properties = true)]
    f: serde_json::Value,
    #[event(all_of())]
    g: serde_json::Value,
    #[event(pattern_properties("(" = String))]
    h: serde_json::Value,
    #[event(dependent_required("a" = "b"))]
    i: serde_json::Value,
}

#[derive(Event)]
#[event(required)]
struct Flag {
    a: String,
}

#[derive(Event)]
#[event(tag = "kind")]
enum NotAUnion {
    Circle(Circle),
}

#[derive(Event)]
#[event(one_of, tag = "kind")]
enum Shape {
    Circle(Circle),
    Square,
    Pair(Circle, Circle),
}

fn main() {}
