//! Generates, into `OUT_DIR`, the validators that the conformance, differential and property
//! tests (and the benchmark) exercise, through the real generator and derive:
//!
//! - `conformance.rs`: one module per group of the JSON Schema Test Suite (vendored in
//!   `vendor/json-schema-test-suite`, every file of its `draft2020-12` folder), each the Rust
//!   types `ingest_codegen::types` writes for the group's schema (so `#[derive(Event)]` expands
//!   them when this crate compiles), and a table of every test case. A group is skipped only for
//!   one of the reasons of [`SKIP_REASONS`] (the one place that says what does not run, and
//!   why), decided by the schema parser's own error; any other parse error fails the build.
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
use ingest_codegen::schema::{Document, parse};
use ingest_codegen::types::{TypeOptions, rust_types, type_name};
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

/// Why a group of the suite does not run, by the code of the parser's error. Issue 11's rule: a
/// `$ref` to a URL (nothing is fetched), `$dynamicRef`/`$dynamicAnchor` and `$vocabulary` are
/// refused, formats are asserted (unsupported ones refused). Every other schema must pass, or be
/// refused with a located error that says what to do, and the reason below says which; the
/// conformance test checks that each such group's errors carry a location and a help. A group
/// whose schema fails to parse for any other reason fails the build.
const SKIP_REASONS: &[(&str, &str)] = &[
    (
        "refused-keyword",
        "uses `$dynamicRef`/`$dynamicAnchor` or `$vocabulary` (refused by the rule: dynamic references are resolved while validating, so no type can be generated), or draft-07's `dependencies` or `definitions`, refused with a located error that names the draft 2020-12 keyword to write instead (`dependentRequired` or `dependentSchemas`; `$defs`)",
    ),
    (
        "unsupported-keyword",
        "uses a key that is no keyword: refused with a located error that suggests the keyword it may be misspelt from, or else says to remove it or name it `x-<key>`, an annotation ingest ignores (an unknown key is never ignored silently, so a typo cannot leave something unchecked)",
    ),
    (
        "ref-remote",
        "refers to a schema by a URL outside the document (refused by the rule: ingest never fetches)",
    ),
    (
        "format-unsupported",
        "asserts a format ingest does not check (refused by the rule, with a located error listing the supported formats and `pattern` as the way to say anything else)",
    ),
    (
        "schema-uri",
        "declares a custom meta-schema by URL (to switch vocabularies, which the rule refuses; ingest never fetches it): refused with a located error that says to set `$schema` to draft 2020-12's or remove it",
    ),
    (
        "enum-empty",
        "has `enum: []`, which accepts nothing: refused with a located error that says to list the allowed values, remove `enum`, or write the schema `false` to allow no value on purpose",
    ),
    (
        "format-asserted",
        "expects `format` to be an annotation only (draft 2020-12's default vocabulary), where ingest asserts every format it supports (the format-assertion vocabulary, by the rule; `optional/format/*.json` test that)",
    ),
];

/// Cases that do not run although their group does: the file, the end of the test's
/// description, and the code of their reason in [`SKIP_REASONS`].
const SKIPPED_CASES: &[(&str, &str, &str)] = &[(
    "format.json",
    "string is only an annotation by default",
    "format-asserted",
)];

/// Every file of a folder, recursively, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} must be readable: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out
}

fn conformance(root: &Path, out: &Path) {
    let dir = suite_dir(root);
    println!("cargo:rerun-if-changed={}", dir.display());
    // A missing suite fails the build: conformance must never pass by running nothing.
    let files = files_under(&dir);
    assert!(
        files.len() >= 80,
        "the JSON Schema Test Suite is missing files ({} found under vendor/json-schema-test-suite)",
        files.len()
    );

    let mut modules = String::new();
    let mut cases = String::new();
    let mut skipped = String::new();
    let mut unexpected: Vec<String> = Vec::new();
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
                    // The first reason of the table that an error has (a `$ref` to a
                    // `$dynamicAnchor` also fails to resolve, say: the keyword is the reason).
                    let Some((code, why)) = SKIP_REASONS
                        .iter()
                        .find(|(c, _)| errors.iter().any(|e| e.code == *c))
                        .copied()
                    else {
                        unexpected.push(format!("{name} / {description}: {errors:?}"));
                        continue;
                    };
                    let detail = errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ");
                    let tests = group["tests"].as_array().map_or(0, Vec::len);
                    let schema_text = serde_json::to_string(&group["schema"]).unwrap();
                    writeln!(
                        skipped,
                        "    Skipped {{ file: {name:?}, group: {description:?}, cases: {tests}, code: {code:?}, reason: {why:?}, detail: {detail:?}, schema: {schema_text:?} }},"
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
                if let Some((_, _, code)) = SKIPPED_CASES
                    .iter()
                    .find(|(file, end, _)| *file == name && test_description.ends_with(end))
                {
                    let why = SKIP_REASONS
                        .iter()
                        .find(|(c, _)| c == code)
                        .map(|(_, why)| *why)
                        .expect("a case is skipped for a reason of SKIP_REASONS");
                    let group = format!("{description} / {test_description}");
                    writeln!(
                        skipped,
                        "    Skipped {{ file: {name:?}, group: {group:?}, cases: 1, code: {code:?}, reason: {why:?}, detail: \"\", schema: {schema_text:?} }},"
                    )
                    .unwrap();
                    continue;
                }
                writeln!(
                    cases,
                    "    Case {{ file: {name:?}, group: {description:?}, test: {test_description:?}, schema: {schema_text:?}, data: {data:?}, valid: {valid}, validate: <{module}::Root as ::ingest_runtime::Event>::validate_json, is_valid: <{module}::Root as ::ingest_runtime::Event>::is_valid, violations: <{module}::Root as ::ingest_runtime::Event>::violations }},"
                )
                .unwrap();
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "groups whose schema does not parse for a reason that is not a skip reason:\n{}",
        unexpected.join("\n")
    );
    let reasons: String = SKIP_REASONS
        .iter()
        .map(|(code, why)| format!("    ({code:?}, {why:?}),\n"))
        .collect();
    let code = format!(
        "{modules}\n/// Every test case of the groups that run.\npub static CASES: &[Case] = &[\n{cases}];\n\n/// Groups skipped, each for one of `SKIP_REASONS`.\npub static SKIPPED: &[Skipped] = &[\n{skipped}];\n\n/// Why a group may be skipped: (the parser's error code, the reason).\npub static SKIP_REASONS: &[(&str, &str)] = &[\n{reasons}];\n"
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
        let mut events: Vec<(String, Option<String>, Document, Value)> = plan
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
        // Each event type's serde round trip, for `tests/round_trip.rs`.
        let value = "::ingest_runtime::__private::serde_json";
        let round_trips: String = inputs
            .iter()
            .map(|input| {
                let ty = type_name(input.type_name);
                format!(
                    "    ({:?}, |v| {{ let typed: {ty} = {value}::from_value(v.clone()).map_err(|e| e.to_string())?; {value}::to_value(&typed).map_err(|e| e.to_string()) }}),\n",
                    input.type_name
                )
            })
            .collect();
        writeln!(
            code,
            "#[allow(dead_code, missing_docs, clippy::all)]\npub mod {module} {{\n{tokens}\n/// Each event type's round trip through its generated type: JSON -> type -> JSON.\npub static ROUND_TRIPS: &[(&str, fn(&{value}::Value) -> Result<{value}::Value, String>)] = &[\n{round_trips}];\n}}"
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
