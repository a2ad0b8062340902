//! Checks of rendered CloudFormation templates for the mistakes cfn-lint does not catch.
//!
//! The renderer calls [`check_template`] on every template it writes. The template arrives as a
//! `serde_json::Value` in long form (`{"Ref": x}`, `{"Fn::GetAtt": [a, b]}`, `{"Fn::Sub": ...}`),
//! which is what [`crate::yaml::parse_cloudformation`] and [`crate::yaml::Node::to_json`] produce
//! from YAML text.
//!
//! Design:
//! - [`Template`] is a borrowed view that finds the sections once and indexes the resources by
//!   logical id; nothing is copied. A malformed template (not a mapping, a section that is not a
//!   mapping, a resource without `Type`) is reported as `malformed-template` and the rest is
//!   still checked as far as it can be.
//! - One walker, [`references`], understands the intrinsic functions (`Ref`, `Fn::GetAtt`,
//!   `Fn::Sub` in both forms with its `${!Literal}` escape and local map, `Fn::If`, `Condition`,
//!   `Fn::FindInMap`) and lists every name a value points at. The resolution and usage checks
//!   and the checks that follow a property to another resource (an event source mapping to its
//!   stream or queue, a bucket notification to its queue and that queue's policy) all use it.
//! - Each check is a plain function over the view, listed in [`CHECKS`]; every check runs, so
//!   one call reports every problem. Each problem carries a stable kebab-case code and a message
//!   that says what is wrong and how to fix it, citing the trap of `docs/traps.md` where there
//!   is one.
//! - A value given by an intrinsic function (a parameter, a `Fn::If`) is unknown until deploy
//!   time and is not judged; only literal values are. The exceptions are the places where the
//!   intrinsic itself says enough: a `Weight` that is a `Ref` to a parameter must be a parameter
//!   bounded to 0..255.
//!
//! The deploy-time checks are the mistakes cfn-lint 1.58 misses
//! (`docs/traps.md#cfn-lint-blind-spots`), plus the traps `putrecords-partial-failure`,
//! `certificate-region`, `route53-zero-weight-and-health-checks`, `alias-evaluate-target-health`,
//! `kinesis-poison-record`, `sqs-visibility-timeout` and `sqs-aws-managed-key` of `docs/traps.md`,
//! and calculated health checks whose children do not resolve.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::LazyLock;

use serde_json::{Map, Value};

/// One problem found in a rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    /// Logical id of the entry at fault: a resource, or for problems outside `Resources` the
    /// parameter, condition, output or mapping. `None` when the template as a whole is at fault.
    pub resource: Option<String>,
    /// Stable kebab-case code of the check, e.g. `unresolved-ref` or
    /// `weighted-record-without-health-check`.
    pub code: &'static str,
    /// What is wrong and how to fix it, citing the trap (G-number) where there is one.
    pub message: String,
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let resource = self.resource.as_deref().unwrap_or("template");
        write!(f, "{resource}: {}", self.message)
    }
}

/// Checks a rendered template (long form JSON) and returns every problem found, in the order of
/// the checks and, within a check, of the template. An empty list means the template passed.
pub fn check_template(template: &Value) -> Vec<TemplateProblem> {
    let mut problems = Problems::default();
    if let Some(view) = Template::new(template, &mut problems) {
        for check in CHECKS {
            check(&view, &mut problems);
        }
    }
    problems.0
}

/// A check: reads the template, adds what it finds.
type Check = fn(&Template<'_>, &mut Problems);

/// Every check, in the order their problems are reported.
const CHECKS: &[Check] = &[
    check_references,
    check_usage,
    check_limits,
    check_record_sets,
    check_event_source_mappings,
    check_api_methods,
    check_api_deployments,
    check_domain_names,
    check_streams,
    check_bucket_notifications,
    check_bucket_lifecycles,
    check_glue_parameters,
    check_health_checks,
    check_partitions,
];

/// Pseudo parameters a `Ref` or `${...}` may name.
const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::URLSuffix",
    "AWS::NoValue",
    "AWS::NotificationARNs",
];

/// Template quotas, the current ones (`docs/traps.md#cloudformation-template-limits`).
const MAX_RESOURCES: usize = 500;
const MAX_PARAMETERS: usize = 200;
const MAX_OUTPUTS: usize = 200;
const MAX_MAPPINGS: usize = 200;
const MAX_LOGICAL_ID: usize = 255;

/// The problems found so far.
#[derive(Default)]
struct Problems(Vec<TemplateProblem>);

impl Problems {
    /// A problem of the entry with logical id `id`.
    fn at(&mut self, id: &str, code: &'static str, message: impl Into<String>) {
        self.0.push(TemplateProblem {
            resource: Some(id.to_owned()),
            code,
            message: message.into(),
        });
    }

    /// A problem of the template as a whole.
    fn global(&mut self, code: &'static str, message: impl Into<String>) {
        self.0.push(TemplateProblem {
            resource: None,
            code,
            message: message.into(),
        });
    }
}

static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

/// A borrowed view of a template with its sections found and its resources indexed.
struct Template<'a> {
    root: &'a Map<String, Value>,
    parameters: &'a Map<String, Value>,
    conditions: &'a Map<String, Value>,
    outputs: &'a Map<String, Value>,
    mappings: &'a Map<String, Value>,
    resources: Vec<Resource<'a>>,
    index: HashMap<&'a str, usize>,
}

/// One entry of `Resources`.
struct Resource<'a> {
    id: &'a str,
    /// `Type`, or "" when it is missing.
    ty: &'a str,
    /// The whole entry (`Type`, `Properties`, `DependsOn`, `Condition`, `Metadata`, ...).
    entry: &'a Value,
    /// The same entry as a map.
    body: &'a Map<String, Value>,
    /// `Properties`, or an empty map.
    properties: &'a Map<String, Value>,
}

impl<'a> Resource<'a> {
    /// The names in `DependsOn` (a string or a list); entries that are not strings are skipped.
    fn depends_on(&self) -> Vec<&'a str> {
        match self.body.get("DependsOn") {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

impl<'a> Template<'a> {
    /// Finds the sections; reports and returns `None` when the template is not a mapping.
    fn new(root: &'a Value, problems: &mut Problems) -> Option<Self> {
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

    fn resource(&self, id: &str) -> Option<&Resource<'a>> {
        self.index.get(id).map(|&i| &self.resources[i])
    }

    fn of_type<'t>(&'t self, ty: &'t str) -> impl Iterator<Item = &'t Resource<'a>> + 't {
        self.resources.iter().filter(move |r| r.ty == ty)
    }

    /// Whether a `Ref` or an undotted `${name}` may name `name`.
    fn resolves(&self, name: &str) -> bool {
        self.parameters.contains_key(name)
            || self.index.contains_key(name)
            || PSEUDO_PARAMETERS.contains(&name)
    }

    /// The resources `value` points at (through `Ref`, `Fn::GetAtt` or `${...}`), first
    /// reference first, without repeats.
    fn referenced_resources<'t>(&'t self, value: &'a Value) -> Vec<&'t Resource<'a>> {
        let mut seen = HashSet::new();
        references(value)
            .into_iter()
            .filter_map(|reference| reference.target())
            .filter(|name| seen.insert(*name))
            .filter_map(|name| self.resource(name))
            .collect()
    }

    /// The places whose values may hold intrinsic functions: every resource, output and
    /// condition, with the kind of entry and its logical id.
    fn places(&self) -> impl Iterator<Item = (Place, &'a str, &'a Value)> + '_ {
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
enum Place {
    Resource,
    Output,
    Condition,
}

impl Place {
    fn noun(self) -> &'static str {
        match self {
            Place::Resource => "resource",
            Place::Output => "output",
            Place::Condition => "condition",
        }
    }
}

/// A name that an intrinsic function points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reference<'a> {
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
    fn target(self) -> Option<&'a str> {
        match self {
            Reference::Ref(name) => Some(name),
            Reference::GetAtt(resource, _) => Some(resource),
            Reference::Sub(name) => Some(name.split_once('.').map_or(name, |(r, _)| r)),
            Reference::If(_) | Reference::Condition(_) | Reference::Mapping(_) => None,
        }
    }
}

/// Every reference in `value`, in document order.
fn references(value: &Value) -> Vec<Reference<'_>> {
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
fn sub_variables(text: &str) -> Vec<&str> {
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
fn single_entry(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    let mut entries = map.iter();
    match (entries.next(), entries.next()) {
        (Some((key, value)), None) => Some((key.as_str(), value)),
        _ => None,
    }
}

/// Whether `value` is an intrinsic function (its value is known only at deploy time).
fn is_intrinsic(value: &Value) -> bool {
    value
        .as_object()
        .and_then(single_entry)
        .is_some_and(|(key, _)| key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
}

/// A literal number, written as a number or as a numeric string (CloudFormation accepts both).
fn literal_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// A literal `true` (a boolean or the string "true").
fn is_true(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn object<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    map.get(key).and_then(Value::as_object)
}

fn array<'a>(map: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    map.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// Every string in `value`, keys excluded.
fn strings(value: &Value) -> Vec<&str> {
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

/// A list of names for messages: `A`, `B`.
fn names(list: &[&str]) -> String {
    list.iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// 1. Resolution

fn check_references(t: &Template<'_>, problems: &mut Problems) {
    for (place, id, value) in t.places() {
        let noun = place.noun();
        for reference in references(value) {
            match reference {
                Reference::Ref(name) if !t.resolves(name) => problems.at(
                    id,
                    "unresolved-ref",
                    format!(
                        "{noun} `Ref`s `{name}`, which is not a parameter, a resource or a pseudo parameter"
                    ),
                ),
                Reference::GetAtt(resource, attribute) if t.resource(resource).is_none() => {
                    problems.at(
                        id,
                        "unresolved-get-att",
                        format!(
                            "{noun} uses `Fn::GetAtt {resource}.{attribute}`, but there is no resource `{resource}`"
                        ),
                    );
                }
                Reference::Sub(name) => match name.split_once('.') {
                    Some((resource, _)) if t.resource(resource).is_none() => problems.at(
                        id,
                        "unresolved-sub-variable",
                        format!(
                            "{noun} has `${{{name}}}` in `Fn::Sub`, but there is no resource `{resource}`; write `${{!{name}}}` if it is meant literally (G26)"
                        ),
                    ),
                    None if !t.resolves(name) => problems.at(
                        id,
                        "unresolved-sub-variable",
                        format!(
                            "{noun} has `${{{name}}}` in `Fn::Sub`, which is not in its variable map, a parameter, a resource or a pseudo parameter; write `${{!{name}}}` if it is meant literally (G26)"
                        ),
                    ),
                    _ => {}
                },
                Reference::If(name) | Reference::Condition(name)
                    if !t.conditions.contains_key(name) =>
                {
                    problems.at(
                        id,
                        "unresolved-condition",
                        format!("{noun} names the condition `{name}`, which is not defined"),
                    );
                }
                Reference::Mapping(name) if !t.mappings.contains_key(name) => problems.at(
                    id,
                    "unresolved-mapping",
                    format!("{noun} uses `Fn::FindInMap` on `{name}`, which is not a mapping"),
                ),
                _ => {}
            }
        }
    }
    for resource in &t.resources {
        match resource.body.get("DependsOn") {
            None | Some(Value::String(_)) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            Some(_) => problems.at(
                resource.id,
                "unresolved-depends-on",
                "`DependsOn` must be a resource name or a list of resource names",
            ),
        }
        for name in resource.depends_on() {
            if name == resource.id {
                problems.at(
                    resource.id,
                    "unresolved-depends-on",
                    "the resource `DependsOn` itself",
                );
            } else if t.resource(name).is_none() {
                problems.at(
                    resource.id,
                    "unresolved-depends-on",
                    format!("`DependsOn` names `{name}`, which is not a resource"),
                );
            }
        }
    }
    for (place, id, condition) in attribute_conditions(t) {
        if !t.conditions.contains_key(condition) {
            problems.at(
                id,
                "unresolved-condition",
                format!(
                    "the {} is created under the condition `{condition}`, which is not defined",
                    place.noun()
                ),
            );
        }
    }
}

/// The `Condition` attributes of resources and outputs.
fn attribute_conditions<'a>(t: &Template<'a>) -> Vec<(Place, &'a str, &'a str)> {
    let resources = t
        .resources
        .iter()
        .filter_map(|r| Some((Place::Resource, r.id, text(r.body, "Condition")?)));
    let outputs = t.outputs.iter().filter_map(|(id, output)| {
        let condition = output.get("Condition")?.as_str()?;
        Some((Place::Output, id.as_str(), condition))
    });
    resources.chain(outputs).collect()
}

// ---------------------------------------------------------------------------------------------
// 2. Usage

fn check_usage(t: &Template<'_>, problems: &mut Problems) {
    let mut used_parameters = HashSet::new();
    let mut used_conditions = HashSet::new();
    for (place, id, value) in t.places() {
        for reference in references(value) {
            match reference {
                Reference::Ref(name) | Reference::Sub(name) => {
                    used_parameters.insert(name);
                }
                Reference::If(name) | Reference::Condition(name)
                    if !(place == Place::Condition && name == id) =>
                {
                    used_conditions.insert(name);
                }
                _ => {}
            }
        }
    }
    used_conditions.extend(attribute_conditions(t).into_iter().map(|(_, _, c)| c));
    for name in t.parameters.keys() {
        if !used_parameters.contains(name.as_str()) {
            problems.at(
                name,
                "unused-parameter",
                "the parameter is never used (no `Ref` or `Fn::Sub` names it); remove it or use it",
            );
        }
    }
    for name in t.conditions.keys() {
        if !used_conditions.contains(name.as_str()) {
            problems.at(
                name,
                "unused-condition",
                "the condition is never used (no resource, output, `Fn::If` or other condition names it); remove it or use it",
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Limits

fn check_limits(t: &Template<'_>, problems: &mut Problems) {
    let counts = [
        (
            "too-many-resources",
            "resources",
            t.resources.len(),
            MAX_RESOURCES,
        ),
        (
            "too-many-parameters",
            "parameters",
            t.parameters.len(),
            MAX_PARAMETERS,
        ),
        ("too-many-outputs", "outputs", t.outputs.len(), MAX_OUTPUTS),
        (
            "too-many-mappings",
            "mappings",
            t.mappings.len(),
            MAX_MAPPINGS,
        ),
    ];
    for (code, noun, count, max) in counts {
        if count > max {
            problems.global(
                code,
                format!(
                    "the template has {count} {noun}; CloudFormation allows at most {max} per template (split the stack)"
                ),
            );
        }
    }
    let ids = t
        .parameters
        .keys()
        .chain(t.conditions.keys())
        .chain(t.outputs.keys())
        .chain(t.mappings.keys())
        .map(String::as_str)
        .chain(t.resources.iter().map(|r| r.id));
    for id in ids {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems.at(
                id,
                "invalid-logical-id",
                "a logical id may hold only the letters A-Z, a-z and the digits 0-9",
            );
        } else if id.len() > MAX_LOGICAL_ID {
            problems.at(
                id,
                "invalid-logical-id",
                format!(
                    "the logical id is {} characters long; the limit is {MAX_LOGICAL_ID}",
                    id.len()
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Deploy-time mistakes

/// A Route 53 record: a `RecordSet`, or one entry of a `RecordSetGroup`.
struct Record<'a> {
    owner: &'a str,
    /// " (record N of the group)" for group members, else "".
    label: String,
    properties: &'a Map<String, Value>,
}

fn record_sets<'a>(t: &Template<'a>) -> Vec<Record<'a>> {
    let mut records: Vec<Record<'a>> = t
        .of_type("AWS::Route53::RecordSet")
        .map(|r| Record {
            owner: r.id,
            label: String::new(),
            properties: r.properties,
        })
        .collect();
    for group in t.of_type("AWS::Route53::RecordSetGroup") {
        for (i, entry) in array(group.properties, "RecordSets").iter().enumerate() {
            if let Some(properties) = entry.as_object() {
                records.push(Record {
                    owner: group.id,
                    label: format!(" (record {} of the group)", i + 1),
                    properties,
                });
            }
        }
    }
    records
}

fn check_record_sets(t: &Template<'_>, problems: &mut Problems) {
    for Record {
        owner,
        label,
        properties,
    } in record_sets(t)
    {
        if let Some(weight) = properties.get("Weight") {
            if !properties.contains_key("SetIdentifier") {
                problems.at(
                    owner,
                    "weighted-record-without-set-identifier",
                    format!(
                        "weighted record{label} has no `SetIdentifier`; Route 53 needs one to tell the members of a weighted set apart"
                    ),
                );
            }
            if !properties.contains_key("HealthCheckId") {
                problems.at(
                    owner,
                    "weighted-record-without-health-check",
                    format!(
                        "weighted record{label} has no `HealthCheckId`: a record without a health check is always healthy, so traffic never fails over (G6)"
                    ),
                );
            }
            check_weight(t, owner, &label, weight, problems);
        }
        if let Some(alias) = object(properties, "AliasTarget") {
            let extra: Vec<&str> = ["ResourceRecords", "TTL"]
                .into_iter()
                .filter(|key| properties.contains_key(*key))
                .collect();
            if !extra.is_empty() {
                problems.at(
                    owner,
                    "alias-record-with-records",
                    format!(
                        "alias record{label} also sets {}; an alias record takes neither `ResourceRecords` nor `TTL`",
                        names(&extra)
                    ),
                );
            }
            if is_true(alias.get("EvaluateTargetHealth")) && is_cloudfront_target(t, alias) {
                problems.at(
                    owner,
                    "edge-alias-evaluates-target-health",
                    format!(
                        "alias record{label} targets an edge (CloudFront) domain with `EvaluateTargetHealth: true`, which Route 53 does not allow; set it to false and rely on `HealthCheckId` (G7)"
                    ),
                );
            }
        }
    }
}

fn check_weight(
    t: &Template<'_>,
    owner: &str,
    label: &str,
    weight: &Value,
    problems: &mut Problems,
) {
    if let Value::Object(map) = weight {
        let parameter = match single_entry(map) {
            Some(("Ref", Value::String(name))) => name.as_str(),
            _ => return,
        };
        let Some(declaration) = t.parameters.get(parameter).and_then(Value::as_object) else {
            return;
        };
        if !parameter_within(declaration, 0.0, 255.0) {
            problems.at(
                owner,
                "weight-parameter-unbounded",
                format!(
                    "record{label} takes its `Weight` from the parameter `{parameter}`, which is not bounded to 0..255; give it `MinValue: 0` and `MaxValue: 255` so a bad weight fails at parameter validation, not halfway through the update"
                ),
            );
        }
        return;
    }
    let in_range =
        literal_number(weight).is_some_and(|w| w.fract() == 0.0 && (0.0..=255.0).contains(&w));
    if !in_range {
        problems.at(
            owner,
            "weight-out-of-range",
            format!("record{label} has `Weight: {weight}`; Route 53 weights are whole numbers from 0 to 255"),
        );
    }
}

/// Whether a parameter can only take values within `min..=max`: by `AllowedValues`, or by
/// `MinValue` and `MaxValue` within the bounds.
fn parameter_within(declaration: &Map<String, Value>, min: f64, max: f64) -> bool {
    let within = |value: &Value| literal_number(value).is_some_and(|v| (min..=max).contains(&v));
    let allowed = array(declaration, "AllowedValues");
    if !allowed.is_empty() {
        return allowed.iter().all(within);
    }
    let bound = |key: &str| declaration.get(key).and_then(literal_number);
    matches!(
        (bound("MinValue"), bound("MaxValue")),
        (Some(low), Some(high)) if low >= min && high <= max
    )
}

/// Whether an alias target is a CloudFront distribution: an edge API Gateway domain
/// (`DistributionDomainName`), a `CloudFront::Distribution`, or CloudFront's zone.
fn is_cloudfront_target(t: &Template<'_>, alias: &Map<String, Value>) -> bool {
    const CLOUDFRONT_ZONE: &str = "Z2FDTNDATAQYW2";
    let dns_is_edge = alias.get("DNSName").is_some_and(|dns| {
        references(dns)
            .into_iter()
            .any(|reference| match reference {
                Reference::GetAtt(_, "DistributionDomainName") => true,
                Reference::GetAtt(resource, "DomainName") => t
                    .resource(resource)
                    .is_some_and(|r| r.ty == "AWS::CloudFront::Distribution"),
                _ => false,
            })
    });
    let zone_is_edge = alias.get("HostedZoneId").is_some_and(|zone| {
        zone.as_str() == Some(CLOUDFRONT_ZONE)
            || references(zone)
                .into_iter()
                .any(|r| matches!(r, Reference::GetAtt(_, "DistributionHostedZoneId")))
    });
    dns_is_edge || zone_is_edge
}

/// What an event source mapping reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A Kinesis or DynamoDB stream.
    Stream,
    /// An SQS queue.
    Queue,
}

/// The kind of source an `EventSourceArn` names: by the type of the resource it points at, or
/// by the service in a literal (or `Fn::Sub`-built) ARN.
fn source_kind(t: &Template<'_>, arn: &Value) -> Option<Source> {
    let kind_of_type = |ty: &str| match ty {
        "AWS::Kinesis::Stream" | "AWS::Kinesis::StreamConsumer" | "AWS::DynamoDB::Table" => {
            Some(Source::Stream)
        }
        "AWS::SQS::Queue" => Some(Source::Queue),
        _ => None,
    };
    if let Some(resource) = t.referenced_resources(arn).first() {
        return kind_of_type(resource.ty);
    }
    let text = match arn {
        Value::String(text) => text.as_str(),
        Value::Object(map) => match single_entry(map) {
            Some(("Fn::Sub", Value::String(text))) => text,
            Some(("Fn::Sub", Value::Array(parts))) => parts.first()?.as_str()?,
            _ => return None,
        },
        _ => return None,
    };
    match blank_sub_variables(text).split(':').nth(2)? {
        "kinesis" | "dynamodb" => Some(Source::Stream),
        "sqs" => Some(Source::Queue),
        _ => None,
    }
}

/// `text` with every `${...}` replaced by `_`, so the colons of `${AWS::Region}` do not count
/// as ARN separators.
fn blank_sub_variables(text: &str) -> String {
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

/// Event source mapping keys that only streams take.
const STREAM_ONLY_KEYS: &[&str] = &[
    "StartingPosition",
    "StartingPositionTimestamp",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "ParallelizationFactor",
    "TumblingWindowInSeconds",
    "DestinationConfig",
];

fn check_event_source_mappings(t: &Template<'_>, problems: &mut Problems) {
    for mapping in t.of_type("AWS::Lambda::EventSourceMapping") {
        let p = mapping.properties;
        let Some(arn) = p.get("EventSourceArn") else {
            continue;
        };
        match source_kind(t, arn) {
            Some(Source::Stream) => {
                if !p.contains_key("StartingPosition") {
                    problems.at(
                        mapping.id,
                        "kinesis-mapping-without-starting-position",
                        "the mapping reads a stream but has no `StartingPosition`; streams require one (TRIM_HORIZON, LATEST or AT_TIMESTAMP)",
                    );
                }
                for key in ["MaximumRetryAttempts", "MaximumRecordAgeInSeconds"] {
                    let unbounded = match p.get(key) {
                        None => true,
                        Some(value) => literal_number(value) == Some(-1.0),
                    };
                    if unbounded {
                        problems.at(
                            mapping.id,
                            "kinesis-mapping-unbounded-retries",
                            format!(
                                "the stream mapping leaves `{key}` unbounded (missing or -1): one poison record stalls its shard until it expires; set a bound and an on-failure destination (G11)"
                            ),
                        );
                    }
                }
            }
            Some(Source::Queue) => {
                let stream_keys: Vec<&str> = STREAM_ONLY_KEYS
                    .iter()
                    .copied()
                    .filter(|key| p.contains_key(*key))
                    .collect();
                if !stream_keys.is_empty() {
                    problems.at(
                        mapping.id,
                        "sqs-mapping-stream-option",
                        format!(
                            "the mapping reads an SQS queue but sets {}, which only stream sources take; remove them (retries belong to the queue's RedrivePolicy)",
                            names(&stream_keys)
                        ),
                    );
                }
                check_visibility_timeout(t, mapping, arn, problems);
            }
            None => {}
        }
    }
}

/// The queue's visibility timeout must be at least 6 times the function timeout
/// (`docs/traps.md#sqs-visibility-timeout`). Absent values take the service defaults (30 s and
/// 3 s); values given by intrinsics are not judged.
fn check_visibility_timeout(
    t: &Template<'_>,
    mapping: &Resource<'_>,
    arn: &Value,
    problems: &mut Problems,
) {
    let Some(queue) = t
        .referenced_resources(arn)
        .into_iter()
        .find(|r| r.ty == "AWS::SQS::Queue")
    else {
        return;
    };
    let Some(function) = mapping.properties.get("FunctionName").and_then(|name| {
        t.referenced_resources(name)
            .into_iter()
            .find(|r| r.ty == "AWS::Lambda::Function")
    }) else {
        return;
    };
    let seconds = |properties: &Map<String, Value>, key: &str, default: f64| {
        properties.get(key).map_or(Some(default), literal_number)
    };
    let (Some(visibility), Some(timeout)) = (
        seconds(queue.properties, "VisibilityTimeout", 30.0),
        seconds(function.properties, "Timeout", 3.0),
    ) else {
        return;
    };
    if timeout * 6.0 > visibility {
        problems.at(
            mapping.id,
            "sqs-visibility-timeout-too-short",
            format!(
                "function `{}` has a timeout of {timeout} s but queue `{}` a visibility timeout of {visibility} s; make the visibility timeout at least 6 x {timeout} = {} s (G14)",
                function.id,
                queue.id,
                timeout * 6.0
            ),
        );
    }
}

/// Integration types that call a backend over HTTP and so need `IntegrationHttpMethod`.
const HTTP_INTEGRATIONS: &[&str] = &["AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY"];

fn check_api_methods(t: &Template<'_>, problems: &mut Problems) {
    for method in t.of_type("AWS::ApiGateway::Method") {
        let Some(integration) = object(method.properties, "Integration") else {
            continue;
        };
        if let Some(kind) = text(integration, "Type")
            && HTTP_INTEGRATIONS.contains(&kind)
            && !integration.contains_key("IntegrationHttpMethod")
        {
            problems.at(
                method.id,
                "integration-without-http-method",
                format!(
                    "the {kind} integration has no `IntegrationHttpMethod`; API Gateway needs the method it calls the backend with (POST for AWS service actions)"
                ),
            );
        }
        let calls_put_records = integration
            .get("Uri")
            .is_some_and(|uri| strings(uri).into_iter().any(names_put_records));
        let surfaces_failures = integration
            .get("IntegrationResponses")
            .is_some_and(|r| strings(r).iter().any(|s| s.contains("FailedRecordCount")));
        if calls_put_records && !surfaces_failures {
            problems.at(
                method.id,
                "put-records-integration",
                "the integration calls Kinesis PutRecords, which answers 200 even when some records failed; use PutRecord, or map `FailedRecordCount` in the integration responses so clients resend (G1)",
            );
        }
    }
}

/// Whether a URI names the action `PutRecords` (not `PutRecord`).
fn names_put_records(uri: &str) -> bool {
    uri.match_indices("PutRecords").any(|(at, word)| {
        !uri[at + word.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

fn check_api_deployments(t: &Template<'_>, problems: &mut Problems) {
    for deployment in t.of_type("AWS::ApiGateway::Deployment") {
        let api = deployment.properties.get("RestApiId");
        let depends_on = deployment.depends_on();
        let missing: Vec<&str> = t
            .of_type("AWS::ApiGateway::Method")
            .filter(|method| method.properties.get("RestApiId") == api)
            .map(|method| method.id)
            .filter(|id| !depends_on.contains(id))
            .collect();
        if !missing.is_empty() {
            problems.at(
                deployment.id,
                "deployment-missing-method-dependency",
                format!(
                    "the deployment does not `DependsOn` the methods {} of its API, so it may snapshot the API before they exist; list every method (and give the deployment a content-hash id so edits redeploy) (G2)",
                    names(&missing)
                ),
            );
        }
    }
}

fn check_domain_names(t: &Template<'_>, problems: &mut Problems) {
    for domain in t.of_type("AWS::ApiGateway::DomainName") {
        let p = domain.properties;
        let types: Vec<&str> = match object(p, "EndpointConfiguration").map(|e| e.get("Types")) {
            None | Some(None) => vec!["EDGE"],
            Some(Some(Value::Array(types))) => types.iter().filter_map(Value::as_str).collect(),
            Some(Some(_)) => continue,
        };
        let has = |key: &str| p.contains_key(key);
        let mut mismatch = |message: &str| {
            problems.at(domain.id, "domain-certificate-mismatch", message);
        };
        if types.contains(&"REGIONAL") {
            if has("CertificateArn") {
                mismatch(
                    "a REGIONAL domain name takes `RegionalCertificateArn` (a certificate in its own region), not `CertificateArn` (G3)",
                );
            }
            if !has("RegionalCertificateArn") {
                mismatch("a REGIONAL domain name needs `RegionalCertificateArn` (G3)");
            }
        }
        if types.contains(&"EDGE") {
            if has("RegionalCertificateArn") {
                mismatch(
                    "an EDGE domain name takes `CertificateArn` (a us-east-1 certificate), not `RegionalCertificateArn` (G3)",
                );
            }
            if !has("CertificateArn") {
                mismatch("an EDGE domain name needs `CertificateArn` (G3)");
            }
            if let Some(arn) = text(p, "CertificateArn")
                && let Some(region) = arn.split(':').nth(3)
                && region != "us-east-1"
            {
                problems.at(
                    domain.id,
                    "edge-certificate-region",
                    format!(
                        "an EDGE domain name needs a certificate in us-east-1, but `CertificateArn` is in {region} (G3)"
                    ),
                );
            }
        }
    }
}

fn check_streams(t: &Template<'_>, problems: &mut Problems) {
    for stream in t.of_type("AWS::Kinesis::Stream") {
        let mode =
            object(stream.properties, "StreamModeDetails").and_then(|d| text(d, "StreamMode"));
        if mode == Some("ON_DEMAND") && stream.properties.contains_key("ShardCount") {
            problems.at(
                stream.id,
                "on-demand-stream-with-shard-count",
                "an ON_DEMAND stream takes no `ShardCount`; remove it or use PROVISIONED",
            );
        }
    }
}

/// The destinations an S3 bucket notifies, each with the resource that must grant S3 access
/// before the bucket is created (`docs/traps.md#s3-notification-destination-validation`):
/// configuration list, key of the target, policy type,
/// policy property naming the target.
const NOTIFICATION_TARGETS: &[(&str, &str, &str, &str)] = &[
    (
        "QueueConfigurations",
        "Queue",
        "AWS::SQS::QueuePolicy",
        "Queues",
    ),
    (
        "TopicConfigurations",
        "Topic",
        "AWS::SNS::TopicPolicy",
        "Topics",
    ),
    (
        "LambdaConfigurations",
        "Function",
        "AWS::Lambda::Permission",
        "FunctionName",
    ),
];

fn check_bucket_notifications(t: &Template<'_>, problems: &mut Problems) {
    let mut managed_key_queues = HashSet::new();
    for bucket in t.of_type("AWS::S3::Bucket") {
        let Some(notifications) = object(bucket.properties, "NotificationConfiguration") else {
            continue;
        };
        let depends_on = bucket.depends_on();
        for &(list, target_key, policy_type, policy_key) in NOTIFICATION_TARGETS {
            for configuration in array(notifications, list) {
                let Some(target) = configuration
                    .get(target_key)
                    .and_then(|value| t.referenced_resources(value).into_iter().next())
                else {
                    continue;
                };
                let policies: Vec<&str> = t
                    .of_type(policy_type)
                    .filter(|policy| {
                        policy.properties.get(policy_key).is_some_and(|value| {
                            t.referenced_resources(value)
                                .iter()
                                .any(|r| r.id == target.id)
                        })
                    })
                    .map(|policy| policy.id)
                    .collect();
                if policies.is_empty() {
                    problems.at(
                        bucket.id,
                        "notification-without-policy-dependency",
                        format!(
                            "the bucket notifies `{}`, but no {policy_type} lets S3 deliver to it; S3 validates the destination when the bucket is created (G20)",
                            target.id
                        ),
                    );
                } else if !policies.iter().any(|p| depends_on.contains(p)) {
                    problems.at(
                        bucket.id,
                        "notification-without-policy-dependency",
                        format!(
                            "the bucket notifies `{}` but does not `DependsOn` {}; S3 validates the destination when the bucket is created, so the policy must exist first (G20)",
                            target.id,
                            names(&policies)
                        ),
                    );
                }
                if target.ty == "AWS::SQS::Queue"
                    && text(target.properties, "KmsMasterKeyId")
                        .is_some_and(|key| key.ends_with("alias/aws/sqs"))
                    && managed_key_queues.insert(target.id)
                {
                    problems.at(
                        target.id,
                        "s3-notified-queue-aws-managed-key",
                        format!(
                            "the queue receives S3 notifications from `{}` but is encrypted with the AWS managed key alias/aws/sqs, whose policy S3 cannot use; use `SqsManagedSseEnabled: true` or a customer managed key that allows s3.amazonaws.com (G21)",
                            bucket.id
                        ),
                    );
                }
            }
        }
    }
}

/// Storage classes that need objects to be at least 30 days old before a transition.
const THIRTY_DAY_CLASSES: &[&str] = &["STANDARD_IA", "ONEZONE_IA"];

fn check_bucket_lifecycles(t: &Template<'_>, problems: &mut Problems) {
    for bucket in t.of_type("AWS::S3::Bucket") {
        let Some(lifecycle) = object(bucket.properties, "LifecycleConfiguration") else {
            continue;
        };
        for rule in array(lifecycle, "Rules")
            .iter()
            .filter_map(Value::as_object)
        {
            let rule_id = text(rule, "Id").unwrap_or("(no Id)");
            let transitions = ["Transitions", "NoncurrentVersionTransitions"]
                .into_iter()
                .flat_map(|key| array(rule, key).iter())
                .chain(
                    ["Transition", "NoncurrentVersionTransition"]
                        .into_iter()
                        .filter_map(|key| rule.get(key)),
                )
                .filter_map(Value::as_object);
            for transition in transitions {
                let Some(class) =
                    text(transition, "StorageClass").filter(|c| THIRTY_DAY_CLASSES.contains(c))
                else {
                    continue;
                };
                if let Some(days) = transition.get("TransitionInDays").and_then(literal_number)
                    && days < 30.0
                {
                    problems.at(
                        bucket.id,
                        "lifecycle-ia-too-early",
                        format!(
                            "lifecycle rule `{rule_id}` moves objects to {class} after {days} days; S3 requires at least 30"
                        ),
                    );
                }
            }
        }
    }
}

fn check_glue_parameters(t: &Template<'_>, problems: &mut Problems) {
    let tables = t.of_type("AWS::Glue::Table").filter_map(|table| {
        let input = object(table.properties, "TableInput")?;
        let storage = object(input, "StorageDescriptor");
        let serde = storage.and_then(|s| object(s, "SerdeInfo"));
        let maps = [
            ("TableInput.Parameters", Some(input)),
            ("StorageDescriptor.Parameters", storage),
            ("SerdeInfo.Parameters", serde),
        ];
        Some((table.id, maps))
    });
    for (id, maps) in tables {
        for (label, owner) in maps {
            let Some(parameters) = owner.and_then(|o| object(o, "Parameters")) else {
                continue;
            };
            for (key, value) in parameters {
                let kind = match value {
                    Value::String(_) => continue,
                    _ if is_intrinsic(value) => continue,
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    Value::Null => "empty",
                    Value::Array(_) => "a list",
                    Value::Object(_) => "a mapping",
                };
                problems.at(
                    id,
                    "glue-parameter-not-string",
                    format!(
                        "{label} `{key}` is {kind}; Glue parameters are strings, so quote it (e.g. \"{value}\")"
                    ),
                );
            }
        }
    }
}

fn check_health_checks(t: &Template<'_>, problems: &mut Problems) {
    for check in t.of_type("AWS::Route53::HealthCheck") {
        let Some(config) = object(check.properties, "HealthCheckConfig") else {
            continue;
        };
        if text(config, "Type") != Some("CALCULATED") {
            continue;
        }
        let children = array(config, "ChildHealthChecks");
        if children.is_empty() {
            problems.at(
                check.id,
                "calculated-health-check-children",
                "the CALCULATED health check has no `ChildHealthChecks`",
            );
            continue;
        }
        for child in children {
            for reference in references(child) {
                // An unknown name is reported once, by the resolution check.
                if let Some(target) = reference.target().and_then(|name| t.resource(name))
                    && target.ty != "AWS::Route53::HealthCheck"
                {
                    problems.at(
                        check.id,
                        "calculated-health-check-children",
                        format!(
                            "child `{}` of the CALCULATED health check is a {}, not an AWS::Route53::HealthCheck",
                            target.id, target.ty
                        ),
                    );
                }
                if reference.target() == Some(check.id) {
                    problems.at(
                        check.id,
                        "calculated-health-check-children",
                        "the CALCULATED health check lists itself as a child",
                    );
                }
            }
        }
        if let Some(threshold) = config.get("HealthThreshold").and_then(literal_number)
            && threshold > children.len() as f64
        {
            problems.at(
                check.id,
                "calculated-health-check-children",
                format!(
                    "`HealthThreshold` {threshold} exceeds the {} child health checks, so Route 53 always considers it unhealthy",
                    children.len()
                ),
            );
        }
    }
}

/// Keys whose literal ARNs come from the spec (certificates) and may name their partition.
fn is_certificate_key(key: &str) -> bool {
    key.ends_with("CertificateArn")
}

fn check_partitions(t: &Template<'_>, problems: &mut Problems) {
    // Every string of the template counts, in every section; a problem is charged to the entry
    // of a section that holds it, or to the template for top-level keys like `Description`.
    const SECTIONS: &[&str] = &[
        "Parameters",
        "Mappings",
        "Conditions",
        "Resources",
        "Outputs",
    ];
    let mut places: Vec<(Option<&str>, &Value)> = Vec::new();
    for (key, value) in t.root {
        match value {
            Value::Object(entries) if SECTIONS.contains(&key.as_str()) => {
                places.extend(entries.iter().map(|(id, v)| (Some(id.as_str()), v)));
            }
            _ => places.push((None, value)),
        }
    }
    for (owner, value) in places {
        let mut found = Vec::new();
        hard_coded_partitions(value, &mut found);
        for arn in found {
            let message = format!(
                "`{}` hard-codes the `aws` partition; build ARNs with `!Sub arn:${{AWS::Partition}}:...`",
                excerpt(arn)
            );
            match owner {
                Some(id) => problems.at(id, "hard-coded-partition", message),
                None => problems.global("hard-coded-partition", message),
            }
        }
    }
}

/// The strings under `value` that hold a hard-coded partition (`arn:aws:`, `arn:aws-cn:`, ...),
/// skipping certificate ARN properties.
fn hard_coded_partitions<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::String(text) if has_hard_coded_partition(text) => found.push(text),
        Value::Array(items) => items
            .iter()
            .for_each(|item| hard_coded_partitions(item, found)),
        Value::Object(map) => {
            for (key, item) in map {
                if !is_certificate_key(key) {
                    hard_coded_partitions(item, found);
                }
            }
        }
        _ => {}
    }
}

fn has_hard_coded_partition(text: &str) -> bool {
    text.match_indices("arn:aws").any(|(at, prefix)| {
        let before = text[..at].chars().next_back();
        let after = text[at + prefix.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric()) && matches!(after, Some(':' | '-'))
    })
}

/// The start of a long string, for messages.
fn excerpt(text: &str) -> String {
    const LIMIT: usize = 80;
    let start = text.find("arn:aws").unwrap_or(0);
    let tail = &text[start..];
    match tail.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}...", &tail[..end]),
        None => tail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::diagnostic::SourceFile;
    use crate::yaml::parse_cloudformation;

    /// Every code the checks can report; each must have a case below.
    const CODES: &[&str] = &[
        "malformed-template",
        "unresolved-ref",
        "unresolved-get-att",
        "unresolved-sub-variable",
        "unresolved-depends-on",
        "unresolved-condition",
        "unresolved-mapping",
        "unused-parameter",
        "unused-condition",
        "too-many-resources",
        "too-many-parameters",
        "too-many-outputs",
        "too-many-mappings",
        "invalid-logical-id",
        "weighted-record-without-set-identifier",
        "weighted-record-without-health-check",
        "weight-out-of-range",
        "weight-parameter-unbounded",
        "alias-record-with-records",
        "edge-alias-evaluates-target-health",
        "kinesis-mapping-without-starting-position",
        "kinesis-mapping-unbounded-retries",
        "sqs-mapping-stream-option",
        "sqs-visibility-timeout-too-short",
        "integration-without-http-method",
        "put-records-integration",
        "deployment-missing-method-dependency",
        "domain-certificate-mismatch",
        "edge-certificate-region",
        "on-demand-stream-with-shard-count",
        "notification-without-policy-dependency",
        "s3-notified-queue-aws-managed-key",
        "lifecycle-ia-too-early",
        "glue-parameter-not-string",
        "calculated-health-check-children",
        "hard-coded-partition",
    ];

    fn check(text: &str) -> Vec<TemplateProblem> {
        let source = Arc::new(SourceFile::new("test.yaml", text.to_owned()));
        let node = parse_cloudformation(&source)
            .unwrap_or_else(|d| panic!("test template does not parse: {d:?}\n{text}"));
        let mut diagnostics = Vec::new();
        let value = node.to_json(&source, &mut diagnostics);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        check_template(&value)
    }

    fn codes(text: &str) -> Vec<&'static str> {
        check(text).into_iter().map(|p| p.code).collect()
    }

    /// The broken template yields problems of `code` and no other; the fixed one yields none.
    fn check_case(code: &str, broken: &str, fixed: &str) {
        assert!(CODES.contains(&code), "`{code}` is not in CODES");
        assert_ne!(broken, fixed, "the fix changes nothing");
        let found = check(broken);
        assert!(
            !found.is_empty() && found.iter().all(|p| p.code == code),
            "broken template: expected only `{code}`, got {found:#?}"
        );
        let found = check(fixed);
        assert!(
            found.is_empty(),
            "fixed template: expected no problem, got {found:#?}"
        );
    }

    macro_rules! cases {
        ($($name:ident: $code:literal, $broken:expr, $fixed:expr;)*) => {
            const CASE_CODES: &[&str] = &[$($code),*];
            $(
                #[test]
                fn $name() {
                    check_case($code, &$broken, &$fixed);
                }
            )*
        };
    }

    const TOPIC: &str = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n";

    const SUBSCRIPTION: &str = r#"Resources:
  Topic:
    Type: AWS::SNS::Topic
  Subscription:
    Type: AWS::SNS::Subscription
    DependsOn: [Topic, Queue]
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt Queue.Arn
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${Topic.TopicName}-${!literal}-${AWS::Region}"
      Tags:
        - Key: name
          Value: !Sub ["${Prefix}-${AWS::StackName}", {Prefix: !GetAtt Topic.TopicName}]
"#;

    const CONDITIONS: &str = r#"Parameters:
  Env:
    Type: String
    AllowedValues: [prod, test]
Conditions:
  IsProduction: !Equals [!Ref Env, prod]
  IsTest: !Not [!Condition IsProduction]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Condition: IsProduction
    Properties:
      DisplayName: !If [IsTest, test, !Ref AWS::NoValue]
Outputs:
  TopicArn:
    Condition: IsProduction
    Value: !Ref Topic
"#;

    const MAPPINGS: &str = r#"Mappings:
  Sizes:
    us-east-1:
      shards: 2
Resources:
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: !FindInMap [Sizes, !Ref AWS::Region, shards]
"#;

    const DNS: &str = r#"Resources:
  Check:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: HTTPS
        FullyQualifiedDomainName: abc123.execute-api.us-west-2.amazonaws.com
        ResourcePath: /v1/health
  Record:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: Z0000000000000000001
      Name: ingest.example.com
      Type: A
      SetIdentifier: secondary
      Weight: 95
      HealthCheckId: !Ref Check
      AliasTarget:
        DNSName: d-abc123.execute-api.us-west-2.amazonaws.com
        HostedZoneId: Z2OJLYMUO9EFXC
        EvaluateTargetHealth: false
"#;

    fn dns_with_weight_parameter(max: &str) -> String {
        format!(
            "Parameters:\n  Weight:\n    Type: Number\n    MinValue: 0\n    MaxValue: {max}\n{}",
            DNS.replace("Weight: 95", "Weight: !Ref Weight")
        )
    }

    const EDGE_DNS: &str = r#"Resources:
  Domain:
    Type: AWS::ApiGateway::DomainName
    Properties:
      DomainName: ingest.example.com
      CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc"
      EndpointConfiguration:
        Types: [EDGE]
  Check:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: HTTPS
        FullyQualifiedDomainName: abc123.execute-api.us-east-1.amazonaws.com
  Record:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: Z0000000000000000001
      Name: ingest.example.com
      Type: A
      SetIdentifier: primary
      Weight: 5
      HealthCheckId: !Ref Check
      AliasTarget:
        DNSName: !GetAtt Domain.DistributionDomainName
        HostedZoneId: !GetAtt Domain.DistributionHostedZoneId
        EvaluateTargetHealth: false
"#;

    const FUNCTION: &str = r#"  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Role: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ingest"
      Code:
        ZipFile: unused
      Timeout: 60
"#;

    fn kinesis_mapping() -> String {
        format!(
            r#"Resources:
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
{FUNCTION}  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      EventSourceArn: !GetAtt Stream.Arn
      FunctionName: !Ref Function
      StartingPosition: TRIM_HORIZON
      BisectBatchOnFunctionError: true
      MaximumRetryAttempts: 10
      MaximumRecordAgeInSeconds: 3600
"#
        )
    }

    fn sqs_mapping() -> String {
        format!(
            r#"Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 360
{FUNCTION}  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      EventSourceArn: !GetAtt Queue.Arn
      FunctionName: !GetAtt Function.Arn
      BatchSize: 10
      FunctionResponseTypes: [ReportBatchItemFailures]
"#
        )
    }

    const API: &str = r#"Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: ingest
  Method:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: POST
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:kinesis:action/PutRecord"
        Credentials: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/api"
  HealthMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: MOCK
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [Method, HealthMethod]
    Properties:
      RestApiId: !Ref Api
"#;

    const PUT_RECORDS_RESPONSES: &str = r#"        IntegrationResponses:
          - StatusCode: "200"
            ResponseTemplates:
              application/json: '{"failed": $input.path("$.FailedRecordCount")}'
"#;

    const REGIONAL_DOMAIN: &str = r#"Resources:
  Domain:
    Type: AWS::ApiGateway::DomainName
    Properties:
      DomainName: ingest.example.com
      RegionalCertificateArn: "arn:aws:acm:us-west-2:123456789012:certificate/abc"
      EndpointConfiguration:
        Types: [REGIONAL]
"#;

    const EDGE_DOMAIN: &str = r#"Resources:
  Domain:
    Type: AWS::ApiGateway::DomainName
    Properties:
      DomainName: ingest.example.com
      CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc"
"#;

    const ON_DEMAND: &str = r#"Resources:
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      StreamModeDetails:
        StreamMode: ON_DEMAND
"#;

    const NOTIFIED_BUCKET: &str = r#"Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: !Sub "s3.${AWS::URLSuffix}"
            Action: sqs:SendMessage
            Resource: !GetAtt Queue.Arn
            Condition:
              ArnLike:
                aws:SourceArn: !Sub "arn:${AWS::Partition}:s3:::spool-${AWS::AccountId}"
  Bucket:
    Type: AWS::S3::Bucket
    DependsOn: QueuePolicy
    Properties:
      BucketName: !Sub "spool-${AWS::AccountId}"
      NotificationConfiguration:
        QueueConfigurations:
          - Event: "s3:ObjectCreated:*"
            Queue: !GetAtt Queue.Arn
"#;

    const LIFECYCLE: &str = r#"Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      LifecycleConfiguration:
        Rules:
          - Id: cool-down
            Status: Enabled
            Transitions:
              - StorageClass: STANDARD_IA
                TransitionInDays: 10
            NoncurrentVersionTransitions:
              - StorageClass: GLACIER
                TransitionInDays: 1
"#;

    const GLUE: &str = r#"Resources:
  Database:
    Type: AWS::Glue::Database
    Properties:
      CatalogId: !Ref AWS::AccountId
      DatabaseInput:
        Name: lake
  Table:
    Type: AWS::Glue::Table
    Properties:
      CatalogId: !Ref AWS::AccountId
      DatabaseName: !Ref Database
      TableInput:
        Name: events
        Parameters:
          projection.enabled: true
          projection.dt.interval: 1
          storage.location.template: !Sub "s3://lake-${AWS::AccountId}/dt=${!dt}/"
        StorageDescriptor:
          SerdeInfo:
            Parameters:
              ignore.malformed.json: "false"
"#;

    const CALCULATED: &str = r#"Resources:
  Endpoint:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: HTTPS
        FullyQualifiedDomainName: abc123.execute-api.us-west-2.amazonaws.com
  Topic:
    Type: AWS::SNS::Topic
  Calculated:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: CALCULATED
        ChildHealthChecks:
          - !Ref Topic
        HealthThreshold: 1
"#;

    /// A template with `count` entries in `section`, each used so that nothing else fires.
    fn many(section: &str, count: usize) -> String {
        let mut text = String::new();
        match section {
            "Resources" => {
                text.push_str("Resources:\n");
                for i in 0..count {
                    text.push_str(&format!("  Topic{i}:\n    Type: AWS::SNS::Topic\n"));
                }
            }
            "Parameters" => {
                text.push_str("Parameters:\n");
                for i in 0..count {
                    text.push_str(&format!("  P{i}:\n    Type: String\n"));
                }
                let used: String = (0..count).map(|i| format!("${{P{i}}}")).collect();
                text.push_str(&format!(
                    "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !Sub \"{used}\"\n"
                ));
            }
            "Outputs" => {
                text.push_str(TOPIC);
                text.push_str("Outputs:\n");
                for i in 0..count {
                    text.push_str(&format!("  O{i}:\n    Value: !Ref Topic\n"));
                }
            }
            "Mappings" => {
                text.push_str("Mappings:\n");
                for i in 0..count {
                    text.push_str(&format!("  M{i}:\n    k:\n      v: x\n"));
                }
                text.push_str(TOPIC);
            }
            other => panic!("no generator for {other}"),
        }
        text
    }

    cases! {
        malformed_template: "malformed-template", "Resources: []\n", TOPIC;
        unresolved_ref: "unresolved-ref",
            SUBSCRIPTION.replace("!Ref Topic", "!Ref Topc"), SUBSCRIPTION;
        unresolved_get_att: "unresolved-get-att",
            SUBSCRIPTION.replace("!GetAtt Queue.Arn", "!GetAtt Queues.Arn"), SUBSCRIPTION;
        unresolved_sub_variable: "unresolved-sub-variable",
            SUBSCRIPTION.replace("${AWS::Region}", "${Stage}"), SUBSCRIPTION;
        unresolved_depends_on: "unresolved-depends-on",
            SUBSCRIPTION.replace("[Topic, Queue]", "[Topic, Queue, Missing]"), SUBSCRIPTION;
        unresolved_condition: "unresolved-condition",
            CONDITIONS.replace(
                "    Condition: IsProduction\n    Properties:",
                "    Condition: IsProd\n    Properties:",
            ),
            CONDITIONS;
        unresolved_mapping: "unresolved-mapping",
            MAPPINGS.replace("[Sizes,", "[Size,"), MAPPINGS;
        unused_parameter: "unused-parameter",
            format!("Parameters:\n  Unused:\n    Type: String\n{TOPIC}"),
            format!("Parameters:\n  Unused:\n    Type: String\n{TOPIC}    Properties:\n      DisplayName: !Ref Unused\n");
        unused_condition: "unused-condition",
            CONDITIONS.replace("!If [IsTest, test, !Ref AWS::NoValue]", "test"), CONDITIONS;
        too_many_resources: "too-many-resources", many("Resources", 501), many("Resources", 500);
        too_many_parameters: "too-many-parameters", many("Parameters", 201), many("Parameters", 200);
        too_many_outputs: "too-many-outputs", many("Outputs", 201), many("Outputs", 200);
        too_many_mappings: "too-many-mappings", many("Mappings", 201), many("Mappings", 200);
        invalid_logical_id: "invalid-logical-id", TOPIC.replace("Topic:", "Alarm-Topic:"), TOPIC;
        weighted_record_without_set_identifier: "weighted-record-without-set-identifier",
            DNS.replace("      SetIdentifier: secondary\n", ""), DNS;
        weighted_record_without_health_check: "weighted-record-without-health-check",
            DNS.replace("      HealthCheckId: !Ref Check\n", ""), DNS;
        weight_out_of_range: "weight-out-of-range", DNS.replace("Weight: 95", "Weight: 300"), DNS;
        weight_parameter_unbounded: "weight-parameter-unbounded",
            dns_with_weight_parameter("1000"), dns_with_weight_parameter("255");
        alias_record_with_records: "alias-record-with-records",
            DNS.replace("      Type: A\n", "      Type: A\n      TTL: \"60\"\n"), DNS;
        edge_alias_evaluates_target_health: "edge-alias-evaluates-target-health",
            EDGE_DNS.replace("EvaluateTargetHealth: false", "EvaluateTargetHealth: true"), EDGE_DNS;
        kinesis_mapping_without_starting_position: "kinesis-mapping-without-starting-position",
            kinesis_mapping().replace("      StartingPosition: TRIM_HORIZON\n", ""), kinesis_mapping();
        kinesis_mapping_unbounded_retries: "kinesis-mapping-unbounded-retries",
            kinesis_mapping().replace("MaximumRetryAttempts: 10", "MaximumRetryAttempts: -1"),
            kinesis_mapping();
        sqs_mapping_stream_option: "sqs-mapping-stream-option",
            sqs_mapping().replace(
                "      BatchSize: 10\n",
                "      BatchSize: 10\n      BisectBatchOnFunctionError: true\n      StartingPosition: LATEST\n",
            ),
            sqs_mapping();
        sqs_visibility_timeout_too_short: "sqs-visibility-timeout-too-short",
            sqs_mapping().replace("VisibilityTimeout: 360", "VisibilityTimeout: 300"), sqs_mapping();
        integration_without_http_method: "integration-without-http-method",
            API.replace("        IntegrationHttpMethod: POST\n", ""), API;
        put_records_integration: "put-records-integration",
            API.replace("action/PutRecord\"", "action/PutRecords\""),
            API.replace("action/PutRecord\"", "action/PutRecords\"").replace(
                "  HealthMethod:\n",
                &format!("{PUT_RECORDS_RESPONSES}  HealthMethod:\n"),
            );
        deployment_missing_method_dependency: "deployment-missing-method-dependency",
            API.replace("DependsOn: [Method, HealthMethod]", "DependsOn: Method"), API;
        domain_certificate_mismatch: "domain-certificate-mismatch",
            REGIONAL_DOMAIN.replace("RegionalCertificateArn:", "CertificateArn:"), REGIONAL_DOMAIN;
        edge_certificate_region: "edge-certificate-region",
            EDGE_DOMAIN.replace(":us-east-1:", ":us-west-2:"), EDGE_DOMAIN;
        on_demand_stream_with_shard_count: "on-demand-stream-with-shard-count",
            format!("{ON_DEMAND}      ShardCount: 4\n"), ON_DEMAND;
        notification_without_policy_dependency: "notification-without-policy-dependency",
            NOTIFIED_BUCKET.replace("    DependsOn: QueuePolicy\n", ""), NOTIFIED_BUCKET;
        s3_notified_queue_aws_managed_key: "s3-notified-queue-aws-managed-key",
            NOTIFIED_BUCKET.replace("SqsManagedSseEnabled: true", "KmsMasterKeyId: alias/aws/sqs"),
            NOTIFIED_BUCKET;
        lifecycle_ia_too_early: "lifecycle-ia-too-early",
            LIFECYCLE, LIFECYCLE.replace("TransitionInDays: 10", "TransitionInDays: 30");
        glue_parameter_not_string: "glue-parameter-not-string",
            GLUE,
            GLUE.replace("enabled: true", "enabled: \"true\"").replace("interval: 1", "interval: \"1\"");
        calculated_health_check_children: "calculated-health-check-children",
            CALCULATED, CALCULATED.replace("!Ref Topic", "!Ref Endpoint");
        hard_coded_partition: "hard-coded-partition",
            FUNCTION_TEMPLATE.replace("arn:${AWS::Partition}:iam", "arn:aws:iam"), FUNCTION_TEMPLATE;
    }

    const FUNCTION_TEMPLATE: &str = r#"Resources:
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Role: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ingest"
      Code:
        ZipFile: unused
"#;

    #[test]
    fn every_code_has_a_case() {
        let mut cases: Vec<&str> = CASE_CODES.to_vec();
        let mut codes: Vec<&str> = CODES.to_vec();
        cases.sort_unstable();
        codes.sort_unstable();
        assert_eq!(cases, codes);
    }

    #[test]
    fn display_is_resource_then_message() {
        let problem = TemplateProblem {
            resource: Some("Record".into()),
            code: "weight-out-of-range",
            message: "too heavy".into(),
        };
        assert_eq!(problem.to_string(), "Record: too heavy");
        let global = TemplateProblem {
            resource: None,
            ..problem
        };
        assert_eq!(global.to_string(), "template: too heavy");
    }

    #[test]
    fn sub_variables_skip_escapes() {
        assert_eq!(
            sub_variables("a${A}b${!dt}c${ B.Arn }${!x}${AWS::Region}${unclosed"),
            ["A", "B.Arn", "AWS::Region"]
        );
    }

    #[test]
    fn sub_map_keys_shadow_and_dotted_variables_need_a_resource() {
        let text = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !Sub [\"${Local}${Gone.Arn}\", {Local: x}]\n";
        let found = check(text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].code, "unresolved-sub-variable");
        assert!(found[0].message.contains("`Gone`"), "{}", found[0].message);
        assert_eq!(found[0].resource.as_deref(), Some("Topic"));
    }

    #[test]
    fn references_in_outputs_and_string_get_att_are_resolved() {
        let text = format!(
            "{TOPIC}Outputs:\n  A:\n    Value: !GetAtt Nope.Arn\n  B:\n    Value: {{\"Fn::GetAtt\": \"Topic.TopicName\"}}\n"
        );
        assert_eq!(codes(&text), ["unresolved-get-att"]);
        assert_eq!(check(&text)[0].resource.as_deref(), Some("A"));
    }

    #[test]
    fn conditions_named_by_if_and_condition_functions() {
        // `Fn::If` on an undefined condition; `IsTest` is then unused as well.
        let text = CONDITIONS.replace("!If [IsTest,", "!If [IsTesting,");
        assert_eq!(codes(&text), ["unresolved-condition", "unused-condition"]);
        let text = CONDITIONS.replace("!Condition IsProduction", "!Condition IsProd");
        assert_eq!(codes(&text), ["unresolved-condition"]);
        // A condition naming only itself is not used.
        let text = CONDITIONS
            .replace("!If [IsTest, test, !Ref AWS::NoValue]", "test")
            .replace("!Not [!Condition IsProduction]", "!Not [!Condition IsTest]");
        assert_eq!(codes(&text), ["unused-condition"]);
    }

    #[test]
    fn depends_on_a_string_and_itself() {
        let text = format!("{TOPIC}    DependsOn: Topic\n");
        assert_eq!(codes(&text), ["unresolved-depends-on"]);
        let text = format!("{TOPIC}    DependsOn: Other\n");
        assert_eq!(codes(&text), ["unresolved-depends-on"]);
    }

    #[test]
    fn long_logical_ids_are_rejected() {
        let long = "T".repeat(256);
        assert_eq!(
            codes(&TOPIC.replace("Topic:", &format!("{long}:"))),
            ["invalid-logical-id"]
        );
        let limit = "T".repeat(255);
        assert!(codes(&TOPIC.replace("Topic:", &format!("{limit}:"))).is_empty());
    }

    #[test]
    fn weight_parameter_bounded_by_allowed_values_passes() {
        let text = dns_with_weight_parameter("255").replace(
            "    MinValue: 0\n    MaxValue: 255\n",
            "    AllowedValues: [0, 5, 95]\n",
        );
        assert!(codes(&text).is_empty(), "{:#?}", check(&text));
        let text = dns_with_weight_parameter("255").replace("    MinValue: 0\n", "");
        assert_eq!(codes(&text), ["weight-parameter-unbounded"]);
    }

    #[test]
    fn record_set_groups_are_checked_too() {
        let text = r#"Resources:
  Records:
    Type: AWS::Route53::RecordSetGroup
    Properties:
      HostedZoneId: Z0000000000000000001
      RecordSets:
        - Name: ingest.example.com
          Type: CNAME
          Weight: 256
          SetIdentifier: a
          TTL: "60"
          ResourceRecords: [a.example.com]
"#;
        let found = check(text);
        assert_eq!(
            found.iter().map(|p| p.code).collect::<Vec<_>>(),
            [
                "weighted-record-without-health-check",
                "weight-out-of-range"
            ]
        );
        assert!(found[1].message.contains("record 1 of the group"));
    }

    #[test]
    fn cloudfront_zone_counts_as_edge_target() {
        let text = DNS
            .replace("Z2OJLYMUO9EFXC", "Z2FDTNDATAQYW2")
            .replace("EvaluateTargetHealth: false", "EvaluateTargetHealth: true");
        assert_eq!(codes(&text), ["edge-alias-evaluates-target-health"]);
        // A regional target may evaluate its health.
        let text = DNS.replace("EvaluateTargetHealth: false", "EvaluateTargetHealth: true");
        assert!(codes(&text).is_empty());
    }

    #[test]
    fn mapping_source_is_found_from_a_sub_built_arn() {
        let text = kinesis_mapping()
            .replace(
                "!GetAtt Stream.Arn",
                "!Sub \"arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/other\"",
            )
            .replace("      MaximumRecordAgeInSeconds: 3600\n", "");
        assert_eq!(codes(&text), ["kinesis-mapping-unbounded-retries"]);
        let text = sqs_mapping().replace(
            "!GetAtt Queue.Arn",
            "!Sub \"arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:other\"",
        );
        let text = text.replace("      BatchSize: 10\n", "      ParallelizationFactor: 2\n");
        assert_eq!(codes(&text), ["sqs-mapping-stream-option"]);
    }

    #[test]
    fn visibility_timeout_uses_defaults_and_skips_intrinsics() {
        // No VisibilityTimeout: the default 30 s is below 6 x 60 s.
        let text = sqs_mapping().replace("VisibilityTimeout: 360", "DelaySeconds: 0");
        let found = check(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].message.contains("360 s (G14)"),
            "{}",
            found[0].message
        );
        // A visibility timeout from a parameter is not judged.
        let text = format!(
            "Parameters:\n  Visibility:\n    Type: Number\n{}",
            sqs_mapping().replace(
                "VisibilityTimeout: 360",
                "VisibilityTimeout: !Ref Visibility"
            )
        );
        assert!(codes(&text).is_empty());
    }

    #[test]
    fn edge_domain_with_regional_certificate() {
        let text = EDGE_DOMAIN.replace("CertificateArn:", "RegionalCertificateArn:");
        let found = check(&text);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found
                .iter()
                .all(|p| p.code == "domain-certificate-mismatch")
        );
    }

    #[test]
    fn notification_without_any_queue_policy() {
        let start = NOTIFIED_BUCKET.find("  QueuePolicy:").unwrap();
        let end = NOTIFIED_BUCKET.find("  Bucket:").unwrap();
        let text = format!("{}{}", &NOTIFIED_BUCKET[..start], &NOTIFIED_BUCKET[end..])
            .replace("    DependsOn: QueuePolicy\n", "");
        let found = check(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].message.contains("no AWS::SQS::QueuePolicy"));
    }

    #[test]
    fn calculated_health_check_threshold_and_empty_children() {
        let fixed = CALCULATED.replace("!Ref Topic", "!Ref Endpoint");
        let text = fixed.replace("HealthThreshold: 1", "HealthThreshold: 2");
        assert_eq!(codes(&text), ["calculated-health-check-children"]);
        let text = fixed
            .replace("          - !Ref Endpoint\n", "")
            .replace("ChildHealthChecks:\n", "ChildHealthChecks: []\n");
        assert_eq!(codes(&text), ["calculated-health-check-children"]);
    }

    #[test]
    fn unknown_child_health_check_is_reported_once() {
        let text = CALCULATED.replace("!Ref Topic", "!Ref Nowhere");
        assert_eq!(codes(&text), ["unresolved-ref"]);
    }

    #[test]
    fn certificate_arns_may_name_the_partition_but_other_strings_not() {
        assert!(codes(EDGE_DOMAIN).is_empty());
        let text = format!("Description: \"see arn:aws-cn:s3:::x\"\n{TOPIC}");
        let found = check(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].resource, None);
        // "arn:aws" inside a longer word is not an ARN.
        assert!(!has_hard_coded_partition("learn:aws:docs"));
        assert!(has_hard_coded_partition("x,arn:aws:sqs:us-east-1:1:q"));
    }

    #[test]
    fn sub_variables_are_blanked_for_arn_fields() {
        assert_eq!(
            blank_sub_variables("arn:${AWS::Partition}:sqs:${AWS::Region}:q${x"),
            "arn:_:sqs:_:q${x"
        );
    }

    #[test]
    fn put_record_is_not_put_records() {
        assert!(!names_put_records(
            "arn:x:apigateway:r:kinesis:action/PutRecord"
        ));
        assert!(names_put_records(
            "arn:x:apigateway:r:kinesis:action/PutRecords"
        ));
        assert!(names_put_records("action/PutRecords?x"));
        assert!(!names_put_records("action/PutRecordsBatch"));
    }

    #[test]
    fn noncurrent_transitions_count_too() {
        let text = LIFECYCLE
            .replace("TransitionInDays: 10", "TransitionInDays: 30")
            .replace("StorageClass: GLACIER", "StorageClass: ONEZONE_IA");
        assert_eq!(codes(&text), ["lifecycle-ia-too-early"]);
    }

    #[test]
    fn not_a_mapping_is_malformed() {
        assert_eq!(check_template(&serde_json::json!([1, 2])).len(), 1);
        assert_eq!(codes("Resources: []\n"), ["malformed-template"]);
        assert_eq!(codes("Description: empty\n"), ["malformed-template"]);
        assert_eq!(
            codes("Resources:\n  Topic:\n    Properties: {}\n"),
            ["malformed-template"]
        );
    }
}
