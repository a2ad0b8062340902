//! `$ref`: two references are the same only when what they point to is the same in both
//! documents, and so on through the references in there.
//!
//! Only references inside the event's own schema are followed: `#`, `#/json/pointer` and
//! `#anchor` (a `$anchor` anywhere in the document). Anything else (another file, an `$id`)
//! cannot be resolved here, so it never counts as unchanged. A visited set makes cycles end.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::schema::json_equal;

/// Whether every reference inside `subtree` (of the old document) points at equal schemas in
/// both documents, transitively.
pub(super) fn targets_unchanged(old_root: &Value, new_root: &Value, subtree: &Value) -> bool {
    let mut visited = BTreeSet::new();
    references(subtree)
        .into_iter()
        .all(|reference| unchanged(old_root, new_root, reference, &mut visited))
}

/// Whether one reference points at equal schemas in both documents, transitively.
pub(super) fn reference_unchanged(old_root: &Value, new_root: &Value, reference: &str) -> bool {
    unchanged(old_root, new_root, reference, &mut BTreeSet::new())
}

fn unchanged<'v>(
    old_root: &'v Value,
    new_root: &Value,
    reference: &'v str,
    visited: &mut BTreeSet<&'v str>,
) -> bool {
    if !visited.insert(reference) {
        return true;
    }
    let (Some(old), Some(new)) = (resolve(old_root, reference), resolve(new_root, reference))
    else {
        return false;
    };
    json_equal(old, new)
        && references(old)
            .into_iter()
            .all(|inner| unchanged(old_root, new_root, inner, visited))
}

/// Every `$ref` and `$dynamicRef` string in a subtree.
fn references(value: &Value) -> Vec<&str> {
    let mut found = Vec::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner) {
                        ("$ref" | "$dynamicRef", Value::String(reference)) => {
                            found.push(reference.as_str())
                        }
                        _ => stack.push(inner),
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

/// What a local reference points at.
pub(super) fn resolve<'v>(root: &'v Value, reference: &str) -> Option<&'v Value> {
    let fragment = reference.strip_prefix('#')?;
    let fragment = percent_decode(fragment)?;
    if fragment.is_empty() {
        return Some(root);
    }
    match fragment.strip_prefix('/') {
        Some(pointer) => pointer.split('/').try_fold(root, |value, token| {
            let token = token.replace("~1", "/").replace("~0", "~");
            match value {
                Value::Object(map) => map.get(&token),
                Value::Array(items) => items.get(token.parse::<usize>().ok()?),
                _ => None,
            }
        }),
        None => find_anchor(root, &fragment),
    }
}

fn find_anchor<'v>(value: &'v Value, anchor: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => {
            if map.get("$anchor").and_then(Value::as_str) == Some(anchor) {
                return Some(value);
            }
            map.values().find_map(|inner| find_anchor(inner, anchor))
        }
        Value::Array(items) => items.iter().find_map(|inner| find_anchor(inner, anchor)),
        _ => None,
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_pointers_and_anchors() {
        let root =
            json!({"$defs": {"a/b": {"type": "string"}, "c": {"$anchor": "here", "minimum": 1}}});
        assert_eq!(
            resolve(&root, "#/$defs/a~1b"),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(resolve(&root, "#/%24defs/c/minimum"), Some(&json!(1)));
        assert_eq!(
            resolve(&root, "#here").and_then(|v| v.get("minimum")),
            Some(&json!(1))
        );
        assert_eq!(resolve(&root, "#"), Some(&root));
        assert_eq!(resolve(&root, "other.json#/a"), None);
    }

    #[test]
    fn follows_references_through_cycles() {
        let old = json!({"$defs": {
            "node": {"properties": {"next": {"$ref": "#/$defs/node"}, "leaf": {"$ref": "#/$defs/leaf"}}},
            "leaf": {"type": "string"}
        }});
        let mut new = old.clone();
        assert!(reference_unchanged(&old, &new, "#/$defs/node"));
        new["$defs"]["leaf"] = json!({"type": "integer"});
        // `node` is equal in both, but a schema it refers to is not.
        assert!(!reference_unchanged(&old, &new, "#/$defs/node"));
        assert!(!targets_unchanged(
            &old,
            &new,
            &json!({"$ref": "#/$defs/node"})
        ));
        assert!(targets_unchanged(&old, &new, &json!({"type": "object"})));
    }
}
