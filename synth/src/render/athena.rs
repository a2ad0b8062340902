//! Athena tables from event schemas, and the de-duplicating queries.
//!
//! Each event type gets a Glue table over the good bucket's `events/type=<type>/dt=/hr=` layout
//! (`docs/architecture.md#records-and-keys`) with partition projection, whose columns are the
//! CloudEvents attributes, `data` typed from the event's schema (objects as `struct<...>`, arrays
//! as `array<...>`), and the `ingest` metadata the validator adds. The quarantine table reads the
//! quarantine records. Delivery is at least once, so every table gets a query that keeps one row
//! per `(source, id)`.
//!
//! Unions keep every event queryable ([`data_type`]): the fields of a `oneOf`'s or `anyOf`'s
//! object branches (and of `allOf` and `$ref`, which add fields) are merged into one struct,
//! where every field is nullable as Hive columns are; a field whose branches give it different
//! types, and a union whose branches are not all objects and not all of one type, is read as
//! its JSON text (`string`: the OpenX JSON SerDe hands a string column the text of any JSON
//! value). A recursive schema is JSON text where it refers back. [`Table::unions`] and
//! [`Table::recursive`] say which, for the architecture page.

use ingest_codegen::schema::{Document, InstanceType, Schema, SchemaObject, is_bare_reference};
use serde::Serialize;

use crate::plan::{EventPlan, Plan};

/// First day of the `dt` partition projection.
pub const PROJECTION_START: &str = "2020-01-01";

/// A Glue table.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Glue table resource id.
    pub logical_id: String,
    /// Table name.
    pub table_name: String,
    /// Table description.
    pub description: String,
    /// StorageDescriptor.Location (Sub text).
    pub location_sub: String,
    /// `storage.location.template` (Sub text with `${!dt}`/`${!hr}`,
    /// `docs/traps.md#sub-literal-escape`).
    pub location_template_sub: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Event tables only: the CloudEvents type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Event tables only: NamedQuery id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_logical_id: Option<String>,
    /// Event tables only: NamedQuery name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedupe_query_name: Option<String>,
    /// Event tables only: NamedQuery description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedupe_description: Option<String>,
    /// Event tables only: the query (also written to `generated/<name>/athena/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedupe_sql: Option<String>,
    /// How the unions of the event's schema became columns (empty without unions).
    pub unions: Vec<UnionColumn>,
    /// Where the schema refers back to itself: those values are JSON text.
    pub recursive: Vec<String>,
}

/// How one union (`oneOf`, `anyOf`, or `allOf` with object branches) became columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnionColumn {
    /// Where, as Athena reads it (`data.shape`).
    pub path: String,
    /// The keyword (`oneOf`, `anyOf`, `allOf`).
    pub keyword: String,
    /// The branches' fields merged as nullable columns (their types agree).
    pub merged: Vec<String>,
    /// The branches' fields whose types differ: JSON text.
    pub json_fields: Vec<String>,
    /// The branches are not all objects nor all of one type: the whole value is JSON text.
    pub whole_json: bool,
}

/// A column.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Hive type.
    pub hive_type: String,
    /// Comment (`""` for none).
    pub comment: String,
}

fn column(name: &str, hive_type: impl Into<String>, comment: &str) -> Column {
    Column {
        name: name.to_owned(),
        hive_type: hive_type.into(),
        comment: comment.to_owned(),
    }
}

/// `shift_created` -> `ShiftCreated`.
fn pascal(table: &str) -> String {
    table
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// Whether a property name can be a Hive struct field as it is.
fn hive_safe(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The Hive type of `data` for an event's schema, with how its unions became columns and
/// where it is recursive.
pub fn data_type(document: &Document) -> (String, Vec<UnionColumn>, Vec<String>) {
    let mut walker = Walker {
        document,
        stack: Vec::new(),
        unions: Vec::new(),
        recursive: Vec::new(),
    };
    let hive = walker.hive(&document.root, "data");
    (hive, walker.unions, walker.recursive)
}

/// The Hive type of `data` for an event's schema.
pub fn hive_type(document: &Document) -> String {
    data_type(document).0
}

struct Walker<'d> {
    document: &'d Document,
    /// The definitions being typed (a reference to one of them is a recursion).
    stack: Vec<usize>,
    unions: Vec<UnionColumn>,
    recursive: Vec<String>,
}

impl<'d> Walker<'d> {
    /// Follows a `$ref` alone to its target; `None` where that recurses.
    fn resolve(&mut self, schema: &'d Schema, path: &str) -> Option<(&'d Schema, usize)> {
        let mut schema = schema;
        let mut pushed = 0;
        while let Some(object) = schema.as_object()
            && is_bare_reference(object)
            && let Some(reference) = &object.reference
        {
            if self.stack.contains(&reference.target) {
                if !self.recursive.iter().any(|p| p == path) {
                    self.recursive.push(path.to_owned());
                }
                self.stack.truncate(self.stack.len() - pushed);
                return None;
            }
            self.stack.push(reference.target);
            pushed += 1;
            schema = &self.document.definitions[reference.target].schema;
        }
        Some((schema, pushed))
    }

    /// The Hive type of a value described by `schema`. Values without one clear type (unions
    /// of other types than objects, or no `type`) are read as their JSON text: `string`.
    fn hive(&mut self, schema: &'d Schema, path: &str) -> String {
        let Some((schema, pushed)) = self.resolve(schema, path) else {
            return "string".to_owned();
        };
        let hive = self.hive_resolved(schema, path);
        self.stack.truncate(self.stack.len() - pushed);
        hive
    }

    fn hive_resolved(&mut self, schema: &'d Schema, path: &str) -> String {
        let Some(object) = schema.as_object() else {
            return "string".to_owned();
        };
        let union: &'d [Schema] = if object.one_of.is_empty() {
            &object.any_of
        } else {
            &object.one_of
        };
        if self.objectish(schema) {
            return self.object_type(object, path);
        }
        if !union.is_empty() {
            // Not objects: one Hive type if every branch has the same, else JSON text.
            let keyword = if object.one_of.is_empty() {
                "anyOf"
            } else {
                "oneOf"
            };
            let types: Vec<String> = union.iter().map(|b| self.hive(b, path)).collect();
            if types.windows(2).all(|w| w[0] == w[1]) && object.types.is_none() {
                return types
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| "string".to_owned());
            }
            self.unions.push(UnionColumn {
                path: path.to_owned(),
                keyword: keyword.to_owned(),
                merged: Vec::new(),
                json_fields: Vec::new(),
                whole_json: true,
            });
            return "string".to_owned();
        }
        let types: Vec<InstanceType> = object
            .types
            .iter()
            .flatten()
            .copied()
            .filter(|t| *t != InstanceType::Null)
            .collect();
        match types.as_slice() {
            [InstanceType::Array] => {
                let item_path = format!("{path}[]");
                let items = match &object.items {
                    Some(items) if object.prefix_items.is_empty() => self.hive(items, &item_path),
                    _ => "string".to_owned(),
                };
                format!("array<{items}>")
            }
            [InstanceType::Integer] => "bigint".to_owned(),
            [InstanceType::Number] | [InstanceType::Integer, InstanceType::Number] => {
                "double".to_owned()
            }
            [InstanceType::Boolean] => "boolean".to_owned(),
            _ => "string".to_owned(),
        }
    }

    /// Whether a schema describes objects only: `type: object`, or a union (or `allOf`) of
    /// such schemas, or properties under an object type from a `$ref` beside them.
    fn objectish(&mut self, schema: &'d Schema) -> bool {
        let Some(object) = self.document.resolve(schema).as_object() else {
            return false;
        };
        let typed = object.types.as_ref().map(|t| {
            t.iter()
                .copied()
                .filter(|t| *t != InstanceType::Null)
                .collect::<Vec<_>>()
        });
        match typed.as_deref() {
            Some([InstanceType::Object]) => true,
            Some(_) => false,
            None => {
                let union = if object.one_of.is_empty() {
                    &object.any_of
                } else {
                    &object.one_of
                };
                let from_union = !union.is_empty() && union.iter().all(|b| self.objectish(b));
                let from_all_of =
                    !object.all_of.is_empty() && object.all_of.iter().any(|b| self.objectish(b));
                let from_reference = object
                    .reference
                    .as_ref()
                    .is_some_and(|r| self.objectish(&self.document.definitions[r.target].schema));
                from_union || from_all_of || from_reference
            }
        }
    }

    /// The fields an object schema gives, in order: its properties, then those of its `$ref`,
    /// `allOf`, and `oneOf`/`anyOf` branches (a union's merge is recorded).
    fn fields(&mut self, object: &'d SchemaObject, path: &str) -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = Vec::new();
        for (name, schema) in &object.properties {
            let hive = self.hive(schema, &format!("{path}.{name}"));
            fields.push((name.clone(), hive));
        }
        let mut sources: Vec<(&'d Schema, Option<&'static str>)> = Vec::new();
        if let Some(reference) = &object.reference {
            sources.push((&self.document.definitions[reference.target].schema, None));
        }
        sources.extend(object.all_of.iter().map(|b| (b, None)));
        let keyword = if object.one_of.is_empty() {
            "anyOf"
        } else {
            "oneOf"
        };
        let union = if object.one_of.is_empty() {
            &object.any_of
        } else {
            &object.one_of
        };
        sources.extend(union.iter().map(|b| (b, Some(keyword))));
        let mut note = UnionColumn {
            path: path.to_owned(),
            keyword: keyword.to_owned(),
            merged: Vec::new(),
            json_fields: Vec::new(),
            whole_json: false,
        };
        for (source, in_union) in sources {
            let Some((resolved, pushed)) = self.resolve(source, path) else {
                continue;
            };
            let Some(branch) = resolved.as_object() else {
                self.stack.truncate(self.stack.len() - pushed);
                continue;
            };
            let branch_fields = self.fields(branch, path);
            self.stack.truncate(self.stack.len() - pushed);
            for (name, hive) in branch_fields {
                match fields.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, existing)) if *existing == hive => {}
                    Some((_, existing)) => {
                        *existing = "string".to_owned();
                        if in_union.is_some() && !note.json_fields.contains(&name) {
                            note.json_fields.push(name.clone());
                        }
                        note.merged.retain(|n| *n != name);
                    }
                    None => {
                        if in_union.is_some() {
                            note.merged.push(name.clone());
                        }
                        fields.push((name, hive));
                    }
                }
            }
        }
        if !union.is_empty() && !self.unions.iter().any(|u| u.path == note.path) {
            self.unions.push(note);
        }
        fields
    }

    fn object_type(&mut self, object: &'d SchemaObject, path: &str) -> String {
        let fields = self.fields(object, path);
        if fields.is_empty() {
            // A map of values (`additionalProperties` only): keys vary per event.
            let values = match &object.additional_properties {
                Some(schema) => self.hive(schema, &format!("{path}.*")),
                None => "string".to_owned(),
            };
            return format!("map<string,{values}>");
        }
        if !fields.iter().all(|(name, _)| hive_safe(name)) {
            return "string".to_owned();
        }
        let fields: Vec<String> = fields
            .iter()
            .map(|(name, hive)| format!("{name}:{hive}"))
            .collect();
        format!("struct<{}>", fields.join(","))
    }
}

/// Each event type and the Hive type of its table's `data` column, in plan order: what the
/// validator checks valid events against, so every good line stays readable by the tables
/// (`ingest_runtime::pipeline::lake`; the generated `bootstrap` and the local pipelines carry it).
pub fn lake_columns(plan: &Plan) -> Vec<(String, String)> {
    plan.events
        .iter()
        .map(|event| (event.type_name.clone(), hive_type(&event.schema)))
        .collect()
}

/// The table of one event type.
pub fn event_table(plan: &Plan, event: &EventPlan) -> Table {
    let table = &event.table_name;
    let good = crate::plan::bucket_name(&plan.name, "good");
    let description = event.description.clone().unwrap_or_default();
    let (data, unions, recursive) = data_type(&event.schema);
    Table {
        logical_id: format!("Table{}", pascal(table)),
        table_name: table.clone(),
        description: description.clone(),
        location_sub: format!("s3://{good}/events/type={}/", event.type_name),
        location_template_sub: format!(
            "s3://{good}/events/type={}/dt=${{!dt}}/hr=${{!hr}}/",
            event.type_name
        ),
        columns: vec![
            column("specversion", "string", "CloudEvents specversion"),
            column(
                "id",
                "string",
                "CloudEvents id; (source, id) identifies an event",
            ),
            column("source", "string", "CloudEvents source"),
            column("type", "string", "CloudEvents type"),
            column("time", "string", "CloudEvents time (RFC 3339)"),
            column("subject", "string", "CloudEvents subject"),
            column("datacontenttype", "string", "CloudEvents datacontenttype"),
            column("dataschema", "string", "CloudEvents dataschema"),
            column("data", data, &description),
            column(
                "ingest",
                "struct<received_at:string,region:string,via:string>",
                "Added by the validator: arrival time, region, direct|bridge",
            ),
        ],
        event_type: Some(event.type_name.clone()),
        query_logical_id: Some(format!("Dedupe{}", pascal(table))),
        dedupe_query_name: Some(format!("{}-dedupe-{table}", plan.name)),
        dedupe_description: Some(format!(
            "{}: rows de-duplicated on (source, id), earliest arrival kept",
            event.type_name
        )),
        dedupe_sql: Some(dedupe_sql(&plan.athena.database, &event.type_name, table)),
        unions,
        recursive,
    }
}

/// The query that keeps one row per `(source, id)`, the earliest arrival, over the last 7 days.
pub fn dedupe_sql(database: &str, type_name: &str, table: &str) -> String {
    format!(
        "-- {type_name}: one row per (source, id), the earliest arrival wins; last 7 days\n\
         SELECT *\n\
         FROM (\n  \
           SELECT t.*,\n         \
           row_number() OVER (PARTITION BY t.source, t.id ORDER BY t.ingest.received_at) AS ingest_copy\n  \
           FROM \"{database}\".\"{table}\" t\n  \
           WHERE t.dt >= date_format(current_date - INTERVAL '7' DAY, '%Y-%m-%d')\n\
         ) WHERE ingest_copy = 1\n"
    )
}

/// The quarantine table.
pub fn quarantine_table(plan: &Plan) -> Table {
    let quarantine = crate::plan::bucket_name(&plan.name, "quarantine");
    Table {
        logical_id: "QuarantineTable".to_owned(),
        table_name: "quarantine".to_owned(),
        description: "Records the validator rejected, with reasons and the original bytes"
            .to_owned(),
        location_sub: format!("s3://{quarantine}/"),
        location_template_sub: format!("s3://{quarantine}/dt=${{!dt}}/hr=${{!hr}}/"),
        columns: vec![
            column(
                "kind",
                "string",
                "not_json | bad_envelope | unknown_type | schema_violation | too_large",
            ),
            column(
                "violations",
                "array<struct<pointer:string,keyword:string,message:string>>",
                "Every violation: JSON pointer, keyword, message",
            ),
            column(
                "event_type",
                "string",
                "CloudEvents type when it could be read",
            ),
            column(
                "origin",
                "struct<region:string,shard:string,sequence:string,via:string>",
                "Where the record came from",
            ),
            column("received_at", "string", "Arrival time (RFC 3339)"),
            column(
                "original",
                "string",
                "The original bytes: text, or base64 when not UTF-8",
            ),
            column("original_encoding", "string", "utf8 | base64"),
        ],
        event_type: None,
        query_logical_id: None,
        dedupe_query_name: None,
        dedupe_description: None,
        dedupe_sql: None,
        unions: Vec::new(),
        recursive: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hive(schema: serde_json::Value) -> String {
        hive_type(&ingest_codegen::schema::parse(&schema).unwrap())
    }

    #[test]
    fn unions_merge_into_nullable_fields_or_json_text() {
        let schema = json!({
            "type": "object",
            "properties": {
                "shape": {"oneOf": [
                    {"$ref": "#/$defs/circle"},
                    {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "number"}, "label": {"type": "integer"}}}
                ]},
                "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "tree": {"$ref": "#/$defs/node"}
            },
            "$defs": {
                "circle": {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}, "label": {"type": "string"}}},
                "node": {"type": "object", "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}
            }
        });
        let (hive, unions, recursive) = data_type(&ingest_codegen::schema::parse(&schema).unwrap());
        assert_eq!(
            hive,
            "struct<shape:struct<kind:string,r:double,label:string,side:double>,either:string,tree:struct<value:bigint,children:array<string>>>"
        );
        assert_eq!(
            unions,
            [
                UnionColumn {
                    path: "data.shape".to_owned(),
                    keyword: "oneOf".to_owned(),
                    merged: vec!["kind".to_owned(), "r".to_owned(), "side".to_owned()],
                    json_fields: vec!["label".to_owned()],
                    whole_json: false,
                },
                UnionColumn {
                    path: "data.either".to_owned(),
                    keyword: "anyOf".to_owned(),
                    merged: Vec::new(),
                    json_fields: Vec::new(),
                    whole_json: true,
                }
            ]
        );
        assert_eq!(recursive, ["data.tree.children[]"]);
    }

    #[test]
    fn maps_schemas_to_hive_types() {
        assert_eq!(hive(json!({"type": "string", "format": "uuid"})), "string");
        assert_eq!(hive(json!({"type": ["integer", "null"]})), "bigint");
        assert_eq!(hive(json!({"type": "number"})), "double");
        assert_eq!(hive(json!({"type": "boolean"})), "boolean");
        assert_eq!(hive(json!({"type": ["string", "integer"]})), "string");
        assert_eq!(hive(json!({"const": 1})), "string");
        assert_eq!(
            hive(
                json!({"type": "array", "items": {"type": "object", "properties": {"a": {"type": "integer"}, "b_2": {"type": "array", "items": {"type": "string"}}}}})
            ),
            "array<struct<a:bigint,b_2:array<string>>>"
        );
        assert_eq!(
            hive(json!({"type": "object", "additionalProperties": {"type": "boolean"}})),
            "map<string,boolean>"
        );
        assert_eq!(
            hive(json!({"type": "object", "properties": {"Bad Name": {"type": "string"}}})),
            "string"
        );
    }

    #[test]
    fn logical_ids_are_pascal_case() {
        assert_eq!(pascal("shift_created"), "ShiftCreated");
        assert_eq!(pascal("timeoff_requested_v2"), "TimeoffRequestedV2");
    }
}
