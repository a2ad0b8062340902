//! `$ref`: two references are the same only when what they point to is the same in both
//! documents, and so on through the references in there.
//!
//! References are followed as the schema parser resolved them: against the URI of the document
//! they are written in, into the event's own schema (`#`, `#/json/pointer`, `#anchor`: a
//! `$anchor` anywhere in the document) or into a file a reference read
//! (`common.json#/$defs/address`, and the references in that file against its own URI). Each
//! side reads its own files, as its spec was loaded: the old spec's from the old revision. A
//! reference that resolves to nothing loaded (an `$id` elsewhere) cannot be followed here, so it
//! never counts as unchanged. A visited set makes cycles end.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::schema::json_equal;
use crate::schema::uri::Uri;

/// One side's schema documents: the event's schema at its base URI, and the files its
/// references read, by URI.
#[derive(Debug, Clone, Copy)]
pub(super) struct Documents<'v> {
    /// The event's schema.
    pub root: &'v Value,
    /// The URI its references resolve against (`ingest_codegen::schema::Document::base`).
    pub base: &'v str,
    /// Every file a reference read (`ingest_codegen::schema::Document::files`).
    pub files: &'v [(String, Value)],
}

impl<'v> Documents<'v> {
    /// What `reference`, written in the document at `from` (a URI without fragment), points
    /// at, with the URI of the document that holds it.
    fn resolve(&self, from: &str, reference: &str) -> Option<(String, &'v Value)> {
        let target = Uri::parse(from).ok()?.resolve(&Uri::parse(reference).ok()?);
        let resource = target.resource();
        let document = if resource == Uri::parse(self.base).ok()?.resource() {
            self.root
        } else {
            &self.files.iter().find(|(uri, _)| *uri == resource)?.1
        };
        let found = resolve(
            document,
            &format!("#{}", target.fragment.unwrap_or_default()),
        )?;
        Some((resource, found))
    }
}

/// Whether every reference inside `subtree` (of the old event schema) points at equal schemas
/// in both sides, transitively.
pub(super) fn targets_unchanged(old: Documents<'_>, new: Documents<'_>, subtree: &Value) -> bool {
    let mut visited = BTreeSet::new();
    references(subtree)
        .into_iter()
        .all(|reference| unchanged(old, new, (old.base, new.base), reference, &mut visited))
}

/// Whether one reference of the event schema points at equal schemas in both sides,
/// transitively.
pub(super) fn reference_unchanged(old: Documents<'_>, new: Documents<'_>, reference: &str) -> bool {
    unchanged(
        old,
        new,
        (old.base, new.base),
        reference,
        &mut BTreeSet::new(),
    )
}

/// `from`: the URIs of the documents the reference is written in, old and new.
fn unchanged(
    old: Documents<'_>,
    new: Documents<'_>,
    from: (&str, &str),
    reference: &str,
    visited: &mut BTreeSet<(String, String)>,
) -> bool {
    // The document a reference is written in and its text name its target.
    if !visited.insert((from.0.to_owned(), reference.to_owned())) {
        return true;
    }
    let (Some((old_uri, old_target)), Some((new_uri, new_target))) = (
        old.resolve(from.0, reference),
        new.resolve(from.1, reference),
    ) else {
        return false;
    };
    json_equal(old_target, new_target)
        && references(old_target)
            .into_iter()
            .all(|inner| unchanged(old, new, (&old_uri, &new_uri), inner, visited))
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

    /// A schema read without files, at the base the parser gives it.
    fn inline(root: &Value) -> Documents<'_> {
        Documents {
            root,
            base: "file:///schema.json",
            files: &[],
        }
    }

    #[test]
    fn follows_references_through_cycles() {
        let old = json!({"$defs": {
            "node": {"properties": {"next": {"$ref": "#/$defs/node"}, "leaf": {"$ref": "#/$defs/leaf"}}},
            "leaf": {"type": "string"}
        }});
        let mut new = old.clone();
        assert!(reference_unchanged(
            inline(&old),
            inline(&new),
            "#/$defs/node"
        ));
        new["$defs"]["leaf"] = json!({"type": "integer"});
        // `node` is equal in both, but a schema it refers to is not.
        assert!(!reference_unchanged(
            inline(&old),
            inline(&new),
            "#/$defs/node"
        ));
        assert!(!targets_unchanged(
            inline(&old),
            inline(&new),
            &json!({"$ref": "#/$defs/node"})
        ));
        assert!(targets_unchanged(
            inline(&old),
            inline(&new),
            &json!({"type": "object"})
        ));
        assert!(!reference_unchanged(
            inline(&old),
            inline(&old),
            "other.json#/a"
        ));
    }

    #[test]
    fn follows_references_into_each_sides_own_files() {
        // The old spec is elsewhere (another folder, another revision): each side's references
        // resolve against its own base, into the files it read.
        let root = json!({"properties": {"to": {"$ref": "common.json#/$defs/address"}}});
        let common = json!({"$defs": {
            "address": {"properties": {"country": {"$ref": "#/$defs/country"}}},
            "country": {"type": "string", "minLength": 2}
        }});
        let old_files = [("file:///old/specs/common.json".to_owned(), common.clone())];
        let old = Documents {
            root: &root,
            base: "file:///old/specs/ingest.yaml",
            files: &old_files,
        };
        let same = [("file:///work/specs/common.json".to_owned(), common.clone())];
        let new = Documents {
            root: &root,
            base: "file:///work/specs/ingest.yaml",
            files: &same,
        };
        assert!(targets_unchanged(old, new, &root));

        // A change two references away, inside the file.
        let mut changed = common;
        changed["$defs"]["country"]["minLength"] = json!(3);
        let changed = [("file:///work/specs/common.json".to_owned(), changed)];
        let new = Documents {
            files: &changed,
            ..new
        };
        assert!(!targets_unchanged(old, new, &root));
        assert!(!reference_unchanged(old, new, "common.json#/$defs/address"));

        // A file the new side did not read is not the same schema.
        let new = Documents { files: &[], ..new };
        assert!(!reference_unchanged(old, new, "common.json#/$defs/address"));
    }
}
