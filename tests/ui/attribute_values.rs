// Values that are well-formed but wrong.
use ingest_runtime::Event;

#[derive(Event)]
struct Values {
    #[event(type = [])]
    a: serde_json::Value,
    #[event(type = ["strin", "string", "string", 3])]
    b: serde_json::Value,
    #[event(multiple_of = 0)]
    c: f64,
    #[event(pattern = "(unclosed")]
    d: String,
    #[event(format = "idn-email")]
    e: String,
    #[event(enum = "{}")]
    f: serde_json::Value,
    #[event(enum = "[1, 1.0]")]
    g: serde_json::Value,
    #[event(examples = "1")]
    h: String,
    #[event(min_length = 5, max_length = 2)]
    i: String,
    #[event(minimum = 10, exclusive_maximum = 10)]
    j: f64,
}

fn main() {}
