// How the applicators' attributes are written: types in parentheses, one type where one schema
// goes, entries as quoted names with values, each name once. Each mistake stops its attribute,
// so each is on a type of its own.
use ingest_runtime::Event;

#[derive(Event)]
struct Circle {
    r: f64,
}

#[derive(Event)]
struct TypesWithoutParentheses {
    #[event(all_of = Circle)]
    a: serde_json::Value,
}

#[derive(Event)]
struct TwoTypesWhereOneGoes {
    #[event(not(Circle, Circle))]
    a: serde_json::Value,
}

#[derive(Event)]
struct EntriesWithoutParentheses {
    #[event(pattern_properties = "^x_")]
    a: serde_json::Value,
}

#[derive(Event)]
struct UnquotedEntryName {
    #[event(dependent_schemas(card = Circle))]
    a: serde_json::Value,
}

#[derive(Event)]
struct EntryNamedTwice {
    #[event(dependent_schemas("card" = Circle, "card" = Circle))]
    a: serde_json::Value,
}

fn main() {}
