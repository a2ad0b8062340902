// Mistakes in how attributes are written: every one is reported in the same compile.
use ingest_runtime::Event;

#[derive(Event)]
struct Shift {
    #[event(minimun = 1)]
    a: i64,
    #[event(optional)]
    b: Option<i64>,
    #[event(min_length = 1, min_length = 2)]
    c: String,
    #[event(min_length = "one")]
    d: String,
    #[event(minimum = "1")]
    e: i64,
    #[event(pattern = 5)]
    f: String,
    #[event(enum = "[1,")]
    g: serde_json::Value,
    #[event(foo::bar = 1)]
    h: String,
}

fn main() {}
