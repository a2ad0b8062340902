// Keys in places where they do not apply.
use ingest_runtime::Event;

#[derive(Event)]
#[event(rename = "x", required, additional_properties = true)]
struct Container {
    #[event(ty = String, additional_properties = false)]
    a: String,
    #[event(values(min_length = 1))]
    b: String,
}

#[derive(Event)]
#[event(minimum = 1)]
enum Color {
    #[event(min_length = 1)]
    Red,
}

fn main() {}
