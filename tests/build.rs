//! Generates, into `OUT_DIR`, the validators that the conformance, differential and property
//! tests (and the benchmark) exercise, through the real generator and derive:
//!
//! - `conformance.rs`: one module per group of the JSON Schema Test Suite
//!   (vendored in `vendor/json-schema-test-suite`, the files listed in [`SUITE_FILES`]), each the Rust
//!   types `ingest_codegen::types` writes for the group's schema (so `#[derive(Event)]` expands
//!   them when this crate compiles), and a table of every test case. Groups whose schema uses a
//!   keyword outside the subset are listed as skipped, with the parser's reason.
//! - `specs.rs`: one module per spec in `specs/`, the same events module that `ingest synth`
//!   writes to `generated/<name>/events/`.
//! - `shapes.rs`: one module per schema of `fixtures/schemas/shapes.json` (schemas whose Rust
//!   types take every shape `ingest_codegen::types` knows: nullable nested objects, string enums
//!   without `type`, structs without `type`, many properties...) with the instances listed
//!   there, for the differential tests of the evaluator.
//!
//! A missing suite fails the build: conformance must never pass by running nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ingest_codegen::events::{EventInput, module_tokens};
use ingest_codegen::schema::{Schema, parse};
use ingest_codegen::types::{TypeOptions, rust_types};
use serde_json::Value;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    conformance(&root, &out);
    specs(&root, &out);
    shapes(&root, &out);
}

/// Where the vendored suite's draft 2020-12 files are.
fn suite_dir(root: &Path) -> PathBuf {
    root.join("vendor/json-schema-test-suite/tests/draft2020-12")
}

/// The suite files that run: those of the keywords and formats ingest supports. The other files
/// of the vendored folder test keywords the schema parser refuses.
const SUITE_FILES: &[&str] = &[
    "additionalProperties.json",
    "boolean_schema.json",
    "const.json",
    "default.json",
    "enum.json",
    "exclusiveMaximum.json",
    "exclusiveMinimum.json",
    "items.json",
    "maxItems.json",
    "maxLength.json",
    "maxProperties.json",
    "maximum.json",
    "minItems.json",
    "minLength.json",
    "minProperties.json",
    "minimum.json",
    "multipleOf.json",
    "pattern.json",
    "prefixItems.json",
    "properties.json",
    "required.json",
    "type.json",
    "uniqueItems.json",
    "optional/format/date-time.json",
    "optional/format/date.json",
    "optional/format/email.json",
    "optional/format/uuid.json",
];

fn conformance(root: &Path, out: &Path) {
    let dir = suite_dir(root);
    println!("cargo:rerun-if-changed={}", dir.display());
    // A missing file fails the build: conformance must never pass by running nothing.
    let files: Vec<PathBuf> = SUITE_FILES
        .iter()
        .map(|name| {
            let path = dir.join(name);
            assert!(
                path.is_file(),
                "the JSON Schema Test Suite file {} is missing (vendor/json-schema-test-suite)",
                path.display()
            );
            path
        })
        .collect();

    let mut modules = String::new();
    let mut cases = String::new();
    let mut skipped = String::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let name = file
            .strip_prefix(&dir)
            .unwrap_or(file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(file).expect("suite file reads");
        let groups: Vec<Value> = serde_json::from_str(&text).expect("suite file is JSON");
        for (index, group) in groups.iter().enumerate() {
            let description = group["description"].as_str().unwrap_or_default();
            let schema = match parse(&group["schema"]) {
                Ok(schema) => schema,
                Err(errors) => {
                    let reason = errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ");
                    let tests = group["tests"].as_array().map_or(0, Vec::len);
                    writeln!(
                        skipped,
                        "    ({name:?}, {description:?}, {tests}, {reason:?}),"
                    )
                    .unwrap();
                    continue;
                }
            };
            let module = format!(
                "g_{}_{index}",
                name.trim_end_matches(".json")
                    .replace(['/', '-'], "_")
                    .to_lowercase()
            );
            let tokens = rust_types("Root", &schema, None, TypeOptions { serde: false });
            let schema_text = serde_json::to_string(&group["schema"]).unwrap();
            writeln!(
                modules,
                "#[allow(dead_code, missing_docs, clippy::all)]\npub mod {module} {{\n{tokens}\n}}"
            )
            .unwrap();
            for test in group["tests"].as_array().into_iter().flatten() {
                let data = serde_json::to_string(&test["data"]).unwrap();
                let valid = test["valid"].as_bool().expect("valid is a boolean");
                let test_description = test["description"].as_str().unwrap_or_default();
                writeln!(
                    cases,
                    "    Case {{ file: {name:?}, group: {description:?}, test: {test_description:?}, schema: {schema_text:?}, data: {data:?}, valid: {valid}, validate: <{module}::Root as ::ingest_runtime::Event>::validate_json, is_valid: <{module}::Root as ::ingest_runtime::Event>::is_valid, violations: <{module}::Root as ::ingest_runtime::Event>::violations }},"
                )
                .unwrap();
            }
        }
    }
    let code = format!(
        "{modules}\n/// Every test case of the supported groups.\npub static CASES: &[Case] = &[\n{cases}];\n\n/// Groups skipped: (file, group, number of tests, why).\npub static SKIPPED: &[(&str, &str, usize, &str)] = &[\n{skipped}];\n"
    );
    std::fs::write(out.join("conformance.rs"), code).expect("OUT_DIR is writable");
}

fn specs(root: &Path, out: &Path) {
    let specs_dir = root.join("specs");
    println!("cargo:rerun-if-changed={}", specs_dir.display());
    let mut code = String::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&specs_dir)
        .expect("specs/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    let mut index = String::new();
    for path in paths {
        println!("cargo:rerun-if-changed={}", path.display());
        let checked = ingest_synth::check_spec(&path)
            .unwrap_or_else(|_| panic!("{} must pass `ingest check`", path.display()));
        let plan = checked.plan;
        let mut events: Vec<(String, Option<String>, Schema, Value)> = plan
            .events
            .iter()
            .map(|e| {
                (
                    e.type_name.clone(),
                    e.description.clone(),
                    e.schema.clone(),
                    e.schema_json.clone(),
                )
            })
            .collect();
        events.sort_by(|a, b| a.0.cmp(&b.0));
        let inputs: Vec<EventInput<'_>> = events
            .iter()
            .map(|(type_name, description, schema, schema_json)| EventInput {
                type_name,
                description: description.as_deref(),
                schema,
                schema_json,
            })
            .collect();
        let module = plan.name.replace('-', "_");
        let tokens = module_tokens(&inputs);
        writeln!(
            code,
            "#[allow(dead_code, missing_docs, clippy::all)]\npub mod {module} {{\n{tokens}\n}}"
        )
        .unwrap();
        let file = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        writeln!(index, "    ({file:?}, &{module}::REGISTRY),").unwrap();
    }
    writeln!(code, "/// Every spec of `specs/` with its registry.\npub static SPECS: &[(&str, &::ingest_runtime::Registry)] = &[\n{index}];").unwrap();
    std::fs::write(out.join("specs.rs"), code).expect("OUT_DIR is writable");
}

/// A schema with more declared properties than fit in one word of bits (the evaluator's set of
/// seen properties) and than it scans (it looks them up in a map): 70 properties.
fn many_properties() -> (Value, Vec<String>) {
    let names: Vec<String> = (0..70).map(|i| format!("p{i}")).collect();
    let properties: serde_json::Map<String, Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let schema = match i % 3 {
                0 => serde_json::json!({"type": "integer", "minimum": i}),
                1 => serde_json::json!({"type": "string", "maxLength": 2}),
                _ => serde_json::json!({"type": ["boolean", "null"]}),
            };
            (name.clone(), schema)
        })
        .collect();
    let schema = serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": ["p0", "p17", "p65", "p69"],
        "additionalProperties": false
    });
    let member = |i: usize| match i % 3 {
        0 => format!("\"p{i}\":{i}"),
        1 => format!("\"p{i}\":\"ab\""),
        _ => format!("\"p{i}\":null"),
    };
    let in_order: Vec<String> = (0..70).map(member).collect();
    let reversed: Vec<String> = (0..70).rev().map(member).collect();
    let data = vec![
        format!("{{{}}}", in_order.join(",")),
        format!("{{{}}}", reversed.join(",")),
        format!("{{{},\"p66\":0}}", in_order[..67].join(",")),
        r#"{"p1":"abc","p64":1,"p66":1,"p68":"x","p70":1,"p3":-1}"#.to_owned(),
        r#"{"p65":0,"p69":null}"#.to_owned(),
    ];
    (schema, data)
}

fn shapes(root: &Path, out: &Path) {
    let path = root.join("tests/fixtures/schemas/shapes.json");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).expect("the shapes fixture reads");
    let groups: Vec<Value> = serde_json::from_str(&text).expect("the shapes fixture is JSON");
    let mut all: Vec<(String, Value, Vec<String>)> = groups
        .iter()
        .map(|group| {
            let data = group["data"]
                .as_array()
                .expect("data is a list of JSON texts")
                .iter()
                .map(|d| d.as_str().expect("each instance is JSON text").to_owned())
                .collect();
            (
                group["description"].as_str().unwrap_or_default().to_owned(),
                group["schema"].clone(),
                data,
            )
        })
        .collect();
    let (schema, data) = many_properties();
    all.push((
        "70 properties, some required, no others".to_owned(),
        schema,
        data,
    ));

    let mut modules = String::new();
    let mut entries = String::new();
    for (index, (description, schema_json, data)) in all.iter().enumerate() {
        let schema = parse(schema_json)
            .unwrap_or_else(|e| panic!("shape {description:?} must be a valid schema: {e:?}"));
        let module = format!("s_{index}");
        let tokens = rust_types("Root", &schema, None, TypeOptions { serde: false });
        writeln!(
            modules,
            "#[allow(dead_code, missing_docs, clippy::all)]\npub mod {module} {{\n{tokens}\n}}"
        )
        .unwrap();
        let schema_text = serde_json::to_string(schema_json).unwrap();
        writeln!(
            entries,
            "    Shape {{ description: {description:?}, schema: {schema_text:?}, data: &{data:?}, validate: <{module}::Root as ::ingest_runtime::Event>::validate_json }},"
        )
        .unwrap();
    }
    let code = format!(
        "{modules}\n/// Every schema of the shapes fixture, with its generated validator.\npub static SHAPES: &[Shape] = &[\n{entries}];\n"
    );
    std::fs::write(out.join("shapes.rs"), code).expect("OUT_DIR is writable");
}
