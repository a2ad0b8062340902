//! The template view: the sections found once, the resources indexed by logical id, and the
//! small readers of literal values every check shares.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::Problems;
use super::references::{references, single_entry};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &["malformed-template"];

/// Pseudo parameters a `Ref` or `${...}` may name.
pub(super) const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::URLSuffix",
    "AWS::NoValue",
    "AWS::NotificationARNs",
];

pub(super) static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

/// A borrowed view of a template with its sections found and its resources indexed.
pub(super) struct Template<'a> {
    pub(super) root: &'a Map<String, Value>,
    pub(super) parameters: &'a Map<String, Value>,
    pub(super) conditions: &'a Map<String, Value>,
    pub(super) outputs: &'a Map<String, Value>,
    pub(super) mappings: &'a Map<String, Value>,
    pub(super) resources: Vec<Resource<'a>>,
    pub(super) index: HashMap<&'a str, usize>,
}

/// One entry of `Resources`.
pub(super) struct Resource<'a> {
    pub(super) id: &'a str,
    /// `Type`, or "" when it is missing.
    pub(super) ty: &'a str,
    /// The whole entry (`Type`, `Properties`, `DependsOn`, `Condition`, `Metadata`, ...).
    pub(super) entry: &'a Value,
    /// The same entry as a map.
    pub(super) body: &'a Map<String, Value>,
    /// `Properties`, or an empty map.
    pub(super) properties: &'a Map<String, Value>,
}

impl<'a> Resource<'a> {
    /// The names in `DependsOn` (a string or a list); entries that are not strings are skipped.
    pub(super) fn depends_on(&self) -> Vec<&'a str> {
        match self.body.get("DependsOn") {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

impl<'a> Template<'a> {
    /// Finds the sections; reports and returns `None` when the template is not a mapping.
    pub(super) fn new(root: &'a Value, problems: &mut Problems) -> Option<Self> {
        let Some(root) = root.as_object() else {
            problems.global(
                "malformed-template",
                "the template is not a mapping of sections",
            );
            return None;
        };
        let mut section = |name: &str| match root.get(name) {
            None => &*EMPTY,
            Some(Value::Object(map)) => map,
            Some(_) => {
                problems.global(
                    "malformed-template",
                    format!("the `{name}` section is not a mapping"),
                );
                &*EMPTY
            }
        };
        let parameters = section("Parameters");
        let conditions = section("Conditions");
        let outputs = section("Outputs");
        let mappings = section("Mappings");
        let resource_map = section("Resources");
        let not_a_mapping = root.get("Resources").is_some_and(|r| !r.is_object());
        if resource_map.is_empty() && !not_a_mapping {
            problems.global(
                "malformed-template",
                "the template declares no resources; CloudFormation requires at least one",
            );
        }
        let mut resources = Vec::with_capacity(resource_map.len());
        for (id, entry) in resource_map {
            let Some(body) = entry.as_object() else {
                problems.at(id, "malformed-template", "the resource is not a mapping");
                continue;
            };
            let ty = body.get("Type").and_then(Value::as_str).unwrap_or("");
            if ty.is_empty() {
                problems.at(id, "malformed-template", "the resource has no `Type`");
            }
            let properties = match body.get("Properties") {
                None => &*EMPTY,
                Some(Value::Object(map)) => map,
                Some(_) => {
                    problems.at(id, "malformed-template", "`Properties` is not a mapping");
                    &*EMPTY
                }
            };
            resources.push(Resource {
                id,
                ty,
                entry,
                body,
                properties,
            });
        }
        let index = resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id, i))
            .collect();
        Some(Self {
            root,
            parameters,
            conditions,
            outputs,
            mappings,
            resources,
            index,
        })
    }

    pub(super) fn resource(&self, id: &str) -> Option<&Resource<'a>> {
        self.index.get(id).map(|&i| &self.resources[i])
    }

    pub(super) fn of_type<'t>(
        &'t self,
        ty: &'t str,
    ) -> impl Iterator<Item = &'t Resource<'a>> + 't {
        self.resources.iter().filter(move |r| r.ty == ty)
    }

    /// Whether a `Ref` or an undotted `${name}` may name `name`.
    pub(super) fn resolves(&self, name: &str) -> bool {
        self.parameters.contains_key(name)
            || self.index.contains_key(name)
            || PSEUDO_PARAMETERS.contains(&name)
    }

    /// The resources `value` points at (through `Ref`, `Fn::GetAtt` or `${...}`), first
    /// reference first, without repeats.
    pub(super) fn referenced_resources<'t>(&'t self, value: &'a Value) -> Vec<&'t Resource<'a>> {
        let mut seen = HashSet::new();
        references(value)
            .into_iter()
            .filter_map(|reference| reference.target())
            .filter(|name| seen.insert(*name))
            .filter_map(|name| self.resource(name))
            .collect()
    }

    /// Whether CloudFormation creates `to` before `from`: `from` names it in `DependsOn` or
    /// points at it (`Ref`, `Fn::GetAtt`, `${...}`), directly or through other resources.
    pub(super) fn creates_before(&self, from: &str, to: &str) -> bool {
        let mut seen = HashSet::new();
        let mut pending = vec![from];
        while let Some(id) = pending.pop() {
            let Some(resource) = self.resource(id) else {
                continue;
            };
            let pointed = references(resource.entry)
                .into_iter()
                .filter_map(|reference| reference.target());
            for next in resource.depends_on().into_iter().chain(pointed) {
                if next == to {
                    return true;
                }
                if seen.insert(next) {
                    pending.push(next);
                }
            }
        }
        false
    }

    /// The places whose values may hold intrinsic functions: every resource, output and
    /// condition, with the kind of entry and its logical id.
    pub(super) fn places(&self) -> impl Iterator<Item = (Place, &'a str, &'a Value)> + '_ {
        let resources = self
            .resources
            .iter()
            .map(|r| (Place::Resource, r.id, r.entry));
        let outputs = self
            .outputs
            .iter()
            .map(|(id, v)| (Place::Output, id.as_str(), v));
        let conditions = self
            .conditions
            .iter()
            .map(|(id, v)| (Place::Condition, id.as_str(), v));
        resources.chain(outputs).chain(conditions)
    }
}

/// The kind of entry a reference was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    Resource,
    Output,
    Condition,
}

impl Place {
    pub(super) fn noun(self) -> &'static str {
        match self {
            Place::Resource => "resource",
            Place::Output => "output",
            Place::Condition => "condition",
        }
    }
}

/// Whether `value` is an intrinsic function (its value is known only at deploy time).
pub(super) fn is_intrinsic(value: &Value) -> bool {
    value
        .as_object()
        .and_then(single_entry)
        .is_some_and(|(key, _)| key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
}

/// A literal number, written as a number or as a numeric string (CloudFormation accepts both).
pub(super) fn literal_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// A literal `true` (a boolean or the string "true").
pub(super) fn is_true(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

pub(super) fn object<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    map.get(key).and_then(Value::as_object)
}

pub(super) fn array<'a>(map: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    map.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub(super) fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// Every string in `value`, keys excluded.
pub(super) fn strings(value: &Value) -> Vec<&str> {
    fn walk<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::String(text) => found.push(text),
            Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
            Value::Object(map) => map.values().for_each(|item| walk(item, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(value, &mut found);
    found
}

/// The service principals of a policy statement (`Principal.Service`, a string or a list),
/// as written: literal or `Fn::Sub` text.
pub(super) fn service_principals(statement: &Map<String, Value>) -> Vec<&str> {
    let Some(service) = object(statement, "Principal").and_then(|p| p.get("Service")) else {
        return Vec::new();
    };
    strings(service)
}

/// The actions of a policy statement (`Action`, a string or a list).
pub(super) fn actions(statement: &Map<String, Value>) -> Vec<&str> {
    statement.get("Action").map(strings).unwrap_or_default()
}

/// The statements of a policy document (`Statement`, a mapping or a list of them).
pub(super) fn statements(document: &Value) -> Vec<&Map<String, Value>> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(statement)) => vec![statement],
        _ => Vec::new(),
    }
}

/// A list of names for messages: `A`, `B`.
pub(super) fn names(list: &[&str]) -> String {
    list.iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::{TOPIC, cases};

    cases! {
        malformed_template: "malformed-template", "Resources: []\n", TOPIC;
    }
}
