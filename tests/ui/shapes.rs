// Items the derive cannot turn into a schema.
use ingest_runtime::Event;

#[derive(Event)]
struct Unit;

#[derive(Event)]
struct Pair(String, String);

#[derive(Event)]
struct Generic<T> {
    value: T,
}

#[derive(Event)]
enum Empty {}

#[derive(Event)]
enum Shape {
    Circle(f64),
    #[event(rename = "square")]
    Square,
    #[event(rename = "square")]
    Box,
}

#[derive(Event)]
union Bits {
    a: u32,
}

#[derive(Event)]
struct Inner {
    x: i64,
}

#[derive(Event)]
#[event(nullable)]
struct Wrapper(#[event(minimum = 1)] Inner);

#[derive(Event)]
#[event(type = "string", min_items = 1)]
struct NotAnObject {
    x: i64,
}

fn main() {}
