//! Structural checking of a spec against the JSON Schema derived from [`super::raw`].
//!
//! serde stops at the first unknown key or wrong type; users deserve all of them at once. So
//! before deserializing, the spec's JSON value is walked alongside the schema that schemars
//! derives from the raw types (the same schema `ingest schema` prints), and every unknown key
//! (with a did-you-mean), missing key, wrong type and invalid choice is reported. Only the
//! constructs schemars emits for our types are handled: `$ref` into `$defs`, `anyOf`/`oneOf`
//! (options and documented enums), `type`, `enum`/`const`, `properties`/`required`/
//! `additionalProperties`, `items` and the unsigned integer formats.

use ingest_codegen::schema::{PathSegment, closest, describe};
use serde_json::{Map, Value};

/// A structural problem, before it is given a place in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path of the offending value (or of the mapping missing a key).
    pub path: Vec<PathSegment>,
    /// Point at the key rather than the value.
    pub at_key: bool,
    /// Stable code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
    /// Short label under the span.
    pub label: String,
    /// Whether removing the value at `path` leaves a value serde can read (so later checks can
    /// still run on the rest of the spec).
    pub removable: bool,
}

/// Checks `value` against `schema` (whose `$defs` hold the referenced definitions).
pub fn check(schema: &Value, value: &Value) -> Vec<Problem> {
    let mut walker = Walker {
        root: schema,
        path: Vec::new(),
        problems: Vec::new(),
    };
    walker.walk(schema, value);
    walker.problems
}

/// Removes the values that `problems` blame, where that is possible, so the rest of the spec can
/// still be deserialized and checked.
pub fn prune(value: &mut Value, problems: &[Problem]) {
    for problem in problems.iter().filter(|p| p.removable) {
        if let Some((PathSegment::Key(last), parent)) = problem.path.split_last()
            && let Some(Value::Object(map)) = descend(value, parent)
        {
            map.shift_remove(last);
        }
    }
}

fn descend<'v>(value: &'v mut Value, path: &[PathSegment]) -> Option<&'v mut Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(value);
    };
    let next = match (value, first) {
        (Value::Object(map), PathSegment::Key(key)) => map.get_mut(key)?,
        (Value::Array(items), PathSegment::Index(index)) => items.get_mut(*index)?,
        _ => return None,
    };
    descend(next, rest)
}

struct Walker<'s> {
    root: &'s Value,
    path: Vec<PathSegment>,
    problems: Vec<Problem>,
}

impl<'s> Walker<'s> {
    fn resolve(&self, schema: &'s Value) -> &'s Value {
        let mut schema = schema;
        while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let target = reference
                .strip_prefix("#/$defs/")
                .and_then(|name| self.root.get("$defs")?.get(name));
            match target {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn key_path(&self) -> String {
        display_path(&self.path)
    }

    fn problem(&mut self, code: &'static str, message: String, label: &str, help: String) {
        self.problems.push(Problem {
            path: self.path.clone(),
            at_key: false,
            code,
            message,
            help,
            label: label.to_owned(),
            removable: true,
        });
    }

    /// Walks one value; returns whether it was valid.
    fn walk(&mut self, schema: &'s Value, value: &Value) -> bool {
        let schema = self.resolve(schema);
        let Value::Object(schema_map) = schema else {
            return schema != &Value::Bool(false);
        };
        for combinator in ["anyOf", "oneOf"] {
            if let Some(Value::Array(variants)) = schema_map.get(combinator) {
                return self.walk_variants(variants, value);
            }
        }
        if let Some(expected) = schema_map.get("type")
            && !type_matches(expected, value)
        {
            let wanted = type_names(expected);
            let help = if wanted == "string" && !value.is_object() && !value.is_array() {
                "quote the value to make it a string".to_owned()
            } else if wanted.starts_with("object") && value.is_null() {
                "give this key a mapping, or remove it".to_owned()
            } else {
                format!("write {} here", article(&wanted))
            };
            let message = format!(
                "`{}` must be {}, but it is {}",
                self.key_path(),
                article(&wanted),
                describe(value)
            );
            self.problem("wrong-type", message, &format!("expected {wanted}"), help);
            return false;
        }
        if let Some(Value::Array(choices)) = schema_map.get("enum")
            && !choices.contains(value)
        {
            self.invalid_choice(choices, value);
            return false;
        }
        if let Some(expected) = schema_map.get("const")
            && expected != value
        {
            self.invalid_choice(std::slice::from_ref(expected), value);
            return false;
        }
        let mut valid = true;
        if let Value::Number(number) = value {
            valid &= self.check_integer_format(schema_map, number);
        }
        if let Value::Object(map) = value {
            valid &= self.walk_object(schema_map, map);
        }
        if let (Value::Array(items), Some(item_schema)) = (value, schema_map.get("items")) {
            for (index, item) in items.iter().enumerate() {
                self.path.push(PathSegment::Index(index));
                valid &= self.walk(item_schema, item);
                self.path.pop();
            }
        }
        valid
    }

    fn walk_variants(&mut self, variants: &'s [Value], value: &Value) -> bool {
        // Documented enums come out of schemars as one `const` (or `enum`) per variant.
        let choices: Option<Vec<Value>> = variants
            .iter()
            .map(|variant| {
                let variant = self.resolve(variant);
                variant
                    .get("const")
                    .cloned()
                    .map(|c| vec![c])
                    .or_else(|| variant.get("enum").and_then(Value::as_array).cloned())
            })
            .collect::<Option<Vec<_>>>()
            .map(|lists| lists.into_iter().flatten().collect());
        if let Some(choices) = choices {
            if choices.contains(value) {
                return true;
            }
            self.invalid_choice(&choices, value);
            return false;
        }
        // Options: `null` or the real schema. Report against the real schema.
        let mut candidates: Vec<&'s Value> = Vec::new();
        for variant in variants {
            let resolved = self.resolve(variant);
            if resolved.get("type") == Some(&Value::String("null".into())) {
                if value.is_null() {
                    return true;
                }
            } else {
                candidates.push(variant);
            }
        }
        for candidate in &candidates {
            let mut trial = Walker {
                root: self.root,
                path: self.path.clone(),
                problems: Vec::new(),
            };
            if trial.walk(candidate, value) {
                return true;
            }
            if candidates.len() == 1 {
                self.problems.extend(trial.problems);
                return false;
            }
        }
        let message = format!("`{}` has a shape that is not allowed here", self.key_path());
        self.problem(
            "wrong-type",
            message,
            "unexpected shape",
            "see `ingest schema` for the accepted shapes".to_owned(),
        );
        false
    }

    fn invalid_choice(&mut self, choices: &[Value], value: &Value) {
        let names: Vec<String> = choices
            .iter()
            .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned))
            .collect();
        let shown = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        let help = match value.as_str().and_then(|s| closest(s, names.iter())) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!("use one of: {}", names.join(", ")),
        };
        let message = format!(
            "`{}` is `{shown}`, which is not one of: {}",
            self.key_path(),
            names.join(", ")
        );
        self.problem("invalid-choice", message, "not an allowed value", help);
    }

    fn check_integer_format(
        &mut self,
        schema: &Map<String, Value>,
        number: &serde_json::Number,
    ) -> bool {
        let unsigned = matches!(
            schema.get("format").and_then(Value::as_str),
            Some("uint" | "uint8" | "uint16" | "uint32" | "uint64")
        ) || schema.get("minimum").and_then(Value::as_f64) == Some(0.0);
        if unsigned && number.as_u64().is_none() {
            let message = format!(
                "`{}` must be a whole number of 0 or more, but it is {number}",
                self.key_path()
            );
            self.problem(
                "wrong-type",
                message,
                "expected a whole number",
                "write a whole number without sign or decimals".to_owned(),
            );
            return false;
        }
        true
    }

    fn walk_object(&mut self, schema: &'s Map<String, Value>, map: &Map<String, Value>) -> bool {
        let mut valid = true;
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let missing: Vec<&str> = match schema.get("required") {
            Some(Value::Array(required)) => required
                .iter()
                .filter_map(Value::as_str)
                .filter(|name| !map.contains_key(*name))
                .collect(),
            _ => Vec::new(),
        };
        // Required keys that an unknown key is a misspelling of: the misspelling is the one
        // problem reported, not also the key it stands for.
        let mut misspelt: Vec<&str> = Vec::new();
        for (key, value) in map {
            self.path.push(PathSegment::Key(key.clone()));
            if let Some(property_schema) = properties.and_then(|p| p.get(key)) {
                valid &= self.walk(property_schema, value);
            } else {
                match additional {
                    Some(Value::Bool(false)) => {
                        valid = false;
                        let known: Vec<&String> =
                            properties.map(|p| p.keys().collect()).unwrap_or_default();
                        let suggestion = closest(key, known.iter().copied());
                        if let Some(name) = missing.iter().find(|name| suggestion == Some(**name)) {
                            misspelt.push(name);
                        }
                        let help = match suggestion {
                            Some(suggestion) if misspelt.contains(&suggestion) => {
                                format!("did you mean `{suggestion}`? (it is required)")
                            }
                            Some(suggestion) => format!("did you mean `{suggestion}`?"),
                            None => format!(
                                "allowed keys here: {}",
                                known
                                    .iter()
                                    .map(|k| k.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                        let message = format!("unknown key `{}`", self.key_path());
                        self.problems.push(Problem {
                            path: self.path.clone(),
                            at_key: true,
                            code: "unknown-key",
                            message,
                            help,
                            label: "not a key of this mapping".to_owned(),
                            removable: true,
                        });
                    }
                    Some(extra_schema) => valid &= self.walk(extra_schema, value),
                    None => {}
                }
            }
            self.path.pop();
        }
        for name in missing {
            valid = false;
            if !misspelt.contains(&name) {
                let description = properties
                    .and_then(|p| p.get(name))
                    .map(|s| self.resolve(s))
                    .and_then(|s| s.get("description"))
                    .and_then(Value::as_str)
                    .map(|d| d.split(". ").next().unwrap_or(d).trim_end_matches('.'))
                    .unwrap_or("");
                let at = if self.path.is_empty() {
                    "the top level".to_owned()
                } else {
                    format!("`{}`", self.key_path())
                };
                self.problems.push(Problem {
                    path: self.path.clone(),
                    at_key: true,
                    code: "missing-key",
                    message: format!("{at} is missing the required key `{name}`"),
                    help: if description.is_empty() {
                        format!("add `{name}:`")
                    } else {
                        format!("add `{name}:` ({})", lowercase_first(description))
                    },
                    label: format!("`{name}` missing"),
                    removable: false,
                });
            }
        }
        valid
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn type_matches(expected: &Value, value: &Value) -> bool {
    match expected {
        Value::String(name) => single_type_matches(name, value),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .any(|name| single_type_matches(name, value)),
        _ => true,
    }
}

fn single_type_matches(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value
            .as_number()
            .is_some_and(ingest_codegen::schema::is_integral),
        _ => true,
    }
}

fn type_names(expected: &Value) -> String {
    let name = |n: &str| match n {
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "integer" => "a whole number".to_owned(),
        other => other.to_owned(),
    };
    match expected {
        Value::String(n) => name(n),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .filter(|n| *n != "null")
            .map(name)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "a value".to_owned(),
    }
}

fn article(noun: &str) -> String {
    if noun.starts_with("a ") || noun.starts_with("an ") {
        noun.to_owned()
    } else if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {noun}")
    } else {
        format!("a {noun}")
    }
}

/// `regions.primary.weight`, `events."shift.created".schema`, `x[2]`.
pub fn display_path(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            PathSegment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let plain = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
                if plain {
                    out.push_str(key);
                } else {
                    out.push_str(&format!("{key:?}"));
                }
            }
            PathSegment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}
