//! Athena tables from event schemas, and the de-duplicating queries.
//!
//! Each event type gets a Glue table over the good bucket's `events/type=<type>/dt=/hr=` layout
//! (`docs/architecture.md#records-and-keys`) with partition projection, whose columns are the
//! CloudEvents attributes, `data` typed from the event's schema (objects as `struct<...>`, arrays
//! as `array<...>`), and the `ingest` metadata the validator adds. The quarantine table reads the
//! quarantine records. Delivery is at least once, so every table gets a query that keeps one row
//! per `(source, id)`.

use ingest_codegen::schema::{InstanceType, Schema, SchemaObject};
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

/// The Hive type of a value described by `schema`. Values without one clear type (unions other
/// than with null, or no `type`) are read as their JSON text: `string`.
pub fn hive_type(schema: &Schema) -> String {
    let Some(object) = schema.as_object() else {
        return "string".to_owned();
    };
    let types: Vec<InstanceType> = object
        .types
        .iter()
        .flatten()
        .copied()
        .filter(|t| *t != InstanceType::Null)
        .collect();
    match types.as_slice() {
        [InstanceType::Object] => object_type(object),
        [InstanceType::Array] => format!(
            "array<{}>",
            object
                .items
                .as_ref()
                .map_or_else(|| "string".to_owned(), hive_type)
        ),
        [InstanceType::Integer] => "bigint".to_owned(),
        [InstanceType::Number] | [InstanceType::Integer, InstanceType::Number] => {
            "double".to_owned()
        }
        [InstanceType::Boolean] => "boolean".to_owned(),
        _ => "string".to_owned(),
    }
}

fn object_type(object: &SchemaObject) -> String {
    if object.properties.is_empty() {
        // A map of values (`additionalProperties` only): keys vary per event.
        let values = object
            .additional_properties
            .as_ref()
            .map_or_else(|| "string".to_owned(), hive_type);
        return format!("map<string,{values}>");
    }
    if !object.properties.iter().all(|(name, _)| hive_safe(name)) {
        return "string".to_owned();
    }
    let fields: Vec<String> = object
        .properties
        .iter()
        .map(|(name, schema)| format!("{name}:{}", hive_type(schema)))
        .collect();
    format!("struct<{}>", fields.join(","))
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
            column("data", hive_type(&event.schema), &description),
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
