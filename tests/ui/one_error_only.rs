// A mistake gives its own error and nothing else: the placeholder impl keeps `is_valid`
// and the registry type-checking, so there is no cascade of "trait not implemented".
use ingest_runtime::Event;

#[derive(Event)]
struct Punch {
    #[event(minimum = "one")]
    user_id: i64,
}

fn main() {
    let _ = Punch::is_valid(b"{}");
}
