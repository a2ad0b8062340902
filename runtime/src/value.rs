//! JSON equality as JSON Schema defines it, for `enum`, `const` and `uniqueItems`.

use serde_json::{Number, Value};
use std::fmt::Write;

fn number_equal(x: &Number, y: &Number) -> bool {
    match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
        (Some(x), Some(y), _, _) => x == y,
        (_, _, Some(x), Some(y)) => x == y,
        _ => x.as_f64() == y.as_f64(),
    }
}

/// Whether two values are equal by JSON Schema's rules: numbers by value (`1 == 1.0`), objects
/// regardless of key order, arrays element by element.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_equal(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A text that is the same for two values exactly when [`json_equal`] holds, so that
/// `uniqueItems` can use a hash set instead of comparing every pair.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 1.8e19 {
                    let _ = write!(out, "{}", f as i128);
                } else {
                    let _ = write!(out, "{f:e}");
                }
            }
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                write_canonical(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (key, item) in entries {
                let _ = write!(out, "{key:?}:");
                write_canonical(item, out);
                out.push(',');
            }
            out.push('}');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// Parses JSON that generated code embeds (enum and const values). Codegen writes this text
/// from a parsed value, so it is always valid; a panic here means the generated code was edited.
pub fn embedded(text: &str) -> Value {
    serde_json::from_str(text).expect("generated code embeds valid JSON")
}

/// Parses a JSON array that generated code embeds (the values of an `enum`).
pub fn embedded_list(text: &str) -> Vec<Value> {
    match embedded(text) {
        Value::Array(values) => values,
        other => vec![other],
    }
}

/// A short rendering of a value for messages (long values are cut).
pub fn short(value: &Value) -> String {
    let text = value.to_string();
    shorten(&text)
}

/// Cuts a text to at most 80 characters for messages.
pub fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_agrees_with_equality() {
        let values = [
            json!(1),
            json!(1.0),
            json!(-1),
            json!(1.5),
            json!("1"),
            json!([1]),
            json!([1.0]),
            json!({"a": 1, "b": [true]}),
            json!({"b": [true], "a": 1.0}),
            json!(null),
            json!(false),
            json!(0),
            json!({"a": 2}),
            json!(1e19),
            json!(10000000000000000000u64),
        ];
        for a in &values {
            for b in &values {
                assert_eq!(json_equal(a, b), canonical(a) == canonical(b), "{a} vs {b}");
            }
        }
    }
}
