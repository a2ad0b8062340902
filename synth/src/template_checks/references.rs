//! The reference walker: every name an intrinsic function points at.
//!
//! One walker serves every check: `Ref`, `Fn::GetAtt` (list and dotted string), `Fn::Sub` in
//! both forms (its `${!Literal}` escape is text, and the names in its local map shadow the
//! template's), `Fn::If`, `Condition` and `Fn::FindInMap`.

use serde_json::{Map, Value};

use super::template::EMPTY;

/// A name that an intrinsic function points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reference<'a> {
    /// `{"Ref": name}`.
    Ref(&'a str),
    /// `{"Fn::GetAtt": [resource, attribute]}`; the attribute is "" when it is not a literal.
    GetAtt(&'a str, &'a str),
    /// `${name}` or `${Resource.Attribute}` in a `Fn::Sub` string, not shadowed by its map.
    Sub(&'a str),
    /// The condition named by `Fn::If`.
    If(&'a str),
    /// The condition named by `{"Condition": name}`.
    Condition(&'a str),
    /// The mapping named by `Fn::FindInMap`.
    Mapping(&'a str),
}

impl<'a> Reference<'a> {
    /// The parameter or resource this reference may point at, if it can point at one.
    pub(super) fn target(self) -> Option<&'a str> {
        match self {
            Reference::Ref(name) => Some(name),
            Reference::GetAtt(resource, _) => Some(resource),
            Reference::Sub(name) => Some(name.split_once('.').map_or(name, |(r, _)| r)),
            Reference::If(_) | Reference::Condition(_) | Reference::Mapping(_) => None,
        }
    }
}

/// Every reference in `value`, in document order.
pub(super) fn references(value: &Value) -> Vec<Reference<'_>> {
    let mut found = Vec::new();
    collect_references(value, &mut found);
    found
}

fn collect_references<'a>(value: &'a Value, found: &mut Vec<Reference<'a>>) {
    match value {
        Value::Array(items) => {
            for item in items {
                collect_references(item, found);
            }
        }
        Value::Object(map) => {
            if let Some((function, argument)) = single_entry(map) {
                intrinsic_reference(function, argument, found);
            }
            for item in map.values() {
                collect_references(item, found);
            }
        }
        _ => {}
    }
}

/// The references an intrinsic function names itself (its arguments are walked separately).
fn intrinsic_reference<'a>(function: &str, argument: &'a Value, found: &mut Vec<Reference<'a>>) {
    let first = || match argument {
        Value::Array(items) => items.first().and_then(Value::as_str),
        _ => None,
    };
    match (function, argument) {
        ("Ref", Value::String(name)) => found.push(Reference::Ref(name)),
        ("Fn::GetAtt", Value::String(dotted)) => {
            let (resource, attribute) = dotted.split_once('.').unwrap_or((dotted, ""));
            found.push(Reference::GetAtt(resource, attribute));
        }
        ("Fn::GetAtt", Value::Array(parts)) => {
            if let Some(resource) = first() {
                let attribute = parts.get(1).and_then(Value::as_str).unwrap_or("");
                found.push(Reference::GetAtt(resource, attribute));
            }
        }
        ("Fn::Sub", Value::String(text)) => {
            found.extend(sub_variables(text).into_iter().map(Reference::Sub));
        }
        ("Fn::Sub", Value::Array(parts)) => {
            let local = parts.get(1).and_then(Value::as_object).unwrap_or(&EMPTY);
            if let Some(text) = first() {
                found.extend(
                    sub_variables(text)
                        .into_iter()
                        .filter(|name| !local.contains_key(*name))
                        .map(Reference::Sub),
                );
            }
        }
        ("Fn::If", _) => found.extend(first().map(Reference::If)),
        ("Fn::FindInMap", _) => found.extend(first().map(Reference::Mapping)),
        ("Condition", Value::String(name)) => found.push(Reference::Condition(name)),
        _ => {}
    }
}

/// The variables of a `Fn::Sub` string: `${Name}` and `${Resource.Attribute}`; `${!Literal}`
/// is an escape for the text `${Literal}` (`docs/traps.md#sub-literal-escape`), not a variable.
pub(super) fn sub_variables(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        if let Some(literal) = after.strip_prefix('!') {
            rest = literal;
            continue;
        }
        let Some(end) = after.find('}') else { break };
        names.push(after[..end].trim());
        rest = &after[end + 1..];
    }
    names
}

/// The only entry of a one-entry mapping: the shape of an intrinsic function.
pub(super) fn single_entry(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    let mut entries = map.iter();
    match (entries.next(), entries.next()) {
        (Some((key, value)), None) => Some((key.as_str(), value)),
        _ => None,
    }
}

/// `text` with every `${...}` replaced by `_`, so the colons of `${AWS::Region}` do not count
/// as ARN separators.
pub(super) fn blank_sub_variables(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push('_');
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::sub_variables;

    #[test]
    fn sub_variables_skip_escapes() {
        assert_eq!(
            sub_variables("a${A}b${!dt}c${ B.Arn }${!x}${AWS::Region}${unclosed"),
            ["A", "B.Arn", "AWS::Region"]
        );
    }
}
