use super::*;
use serde_json::json;

fn errors(value: Value) -> Vec<(String, &'static str)> {
    match parse(&value) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| (e.pointer(), e.code)).collect(),
    }
}

#[test]
fn accepts_every_supported_keyword() {
    let schema = json!({
        "$schema": DRAFT_2020_12, "$id": "https://example.com/order.json", "title": "t",
        "description": "d", "$comment": "c",
        "type": "object", "required": ["a"], "additionalProperties": false,
        "minProperties": 1, "maxProperties": 3, "default": {}, "examples": [{}],
        "properties": {
            "a": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^a", "format": "uuid"},
            "b": {"type": ["integer", "null"], "minimum": 0, "maximum": 9, "multipleOf": 3},
            "c": {"type": "array", "items": {"enum": ["x", "y"]}, "minItems": 1, "maxItems": 2, "uniqueItems": true,
                  "prefixItems": [{"const": "x"}], "contains": {"const": "y"}, "minContains": 1, "maxContains": 2,
                  "unevaluatedItems": false},
            "d": {"const": 1, "exclusiveMinimum": 0, "exclusiveMaximum": 2, "deprecated": true},
            "e": {"$ref": "#/$defs/node"}
        },
        "patternProperties": {"^x_": {"type": "string"}},
        "propertyNames": {"maxLength": 8},
        "dependentRequired": {"a": ["b"]},
        "dependentSchemas": {"b": {"required": ["c"]}},
        "unevaluatedProperties": false,
        "allOf": [{"minProperties": 1}], "anyOf": [true], "oneOf": [{"required": ["a"]}],
        "not": {"required": ["zz"]}, "if": {"required": ["b"]}, "then": {"required": ["c"]}, "else": true,
        "$defs": {"node": {"$anchor": "node", "type": "object", "properties": {"next": {"$ref": "#node"}}}}
    });
    let parsed = parse(&schema).expect("valid schema");
    let object = parsed.root.as_object().unwrap();
    assert_eq!(object.properties.len(), 5);
    assert_eq!(object.properties[0].0, "a", "property order is kept");
    assert_eq!(object.required, vec!["a"]);
    assert_eq!(
        parsed.definitions.len(),
        1,
        "`#/$defs/node` and `#node` are one definition"
    );
    assert_eq!(parsed.definitions[0].pointer, "/$defs/node");
    assert_eq!(parsed.definitions[0].name, "node");
    let node = parsed.definitions[0].schema.as_object().unwrap();
    let next = node.property("next").unwrap().as_object().unwrap();
    assert_eq!(
        next.reference.as_ref().unwrap().target,
        0,
        "recursion is an index"
    );
}

#[test]
fn reports_every_problem_with_its_path() {
    let found = errors(json!({
        "type": "object",
        "properties": {
            "a": {"type": "string", "minLength": 5, "maxLength": 2, "pattern": "(?<=x)y"},
            "b": {"type": "int", "oneOf": []},
            "c": {"enum": [], "multipleOf": 0},
            "d": {"type": "string", "minimum": 1, "format": "hostnme"}
        },
        "required": ["a", "z", "a"],
        "additionalProperties": false
    }));
    assert_eq!(
        found,
        vec![
            ("/properties/a/pattern".to_owned(), "pattern-invalid"),
            ("/properties/a/minLength".to_owned(), "min-above-max"),
            ("/properties/b/type".to_owned(), "type-unknown"),
            ("/properties/b/oneOf".to_owned(), "schema-list-empty"),
            ("/properties/c/enum".to_owned(), "enum-empty"),
            (
                "/properties/c/multipleOf".to_owned(),
                "multiple-of-not-positive"
            ),
            ("/properties/d/format".to_owned(), "format-unsupported"),
            ("/properties/d/minimum".to_owned(), "keyword-never-applies"),
            ("/required/2".to_owned(), "required-duplicate"),
            ("/required/1".to_owned(), "required-cannot-exist"),
        ]
    );
}

#[test]
fn refused_keywords_say_what_to_do_instead() {
    for (keyword, hint) in [
        ("$dynamicRef", "`$ref`"),
        ("$dynamicAnchor", "`$ref`"),
        ("$vocabulary", "meta-schemas"),
        ("definitions", "`$defs`"),
        ("nullable", "type"),
    ] {
        let error = parse(&json!({ keyword: "x" })).unwrap_err().remove(0);
        assert_eq!(error.code, "refused-keyword");
        assert!(error.help.contains(hint), "{keyword}: {}", error.help);
    }
    let error = parse(&json!({"properties": {"a": {"$ref": "https://example.com/a.json"}}}))
        .unwrap_err()
        .remove(0);
    assert_eq!(
        (error.code, error.pointer().as_str()),
        ("ref-remote", "/properties/a/$ref")
    );
    assert!(error.message.contains("never fetches"), "{}", error.message);
    let error = parse(&json!({"$ref": "common.json#/$defs/a"}))
        .unwrap_err()
        .remove(0);
    assert_eq!(error.code, "ref-file");
}

#[test]
fn references_resolve_against_ids_pointers_and_anchors() {
    let document = parse(&json!({
        "$id": "http://example.com/root.json",
        "properties": {
            "a": {"$ref": "#/$defs/x~1y"},
            "b": {"$ref": "http://example.com/other.json"},
            "c": {"$ref": "other.json#inner"},
            "d": {"$ref": "#/properties/a"},
            "e": {"$ref": "#"},
            "f": {"$ref": "#/$defs/percent%25field"}
        },
        "$defs": {
            "x/y": {"type": "integer"},
            "o": {"$id": "other.json", "type": "object", "$defs": {"i": {"$anchor": "inner", "type": "string"}}},
            "percent%field": {"type": "null"}
        }
    }))
    .expect("every reference resolves");
    let pointers: Vec<&str> = document
        .definitions
        .iter()
        .map(|d| d.pointer.as_str())
        .collect();
    assert_eq!(
        pointers,
        [
            "/$defs/x~1y",
            "/$defs/o",
            "/$defs/o/$defs/i",
            "/properties/a",
            "",
            "/$defs/percent%field"
        ]
    );
    assert!(document.definitions[4].is_document_root());
    assert_eq!(document.definitions[2].name, "inner");
}

#[test]
fn missing_targets_are_located_with_a_suggestion() {
    let error =
        parse(&json!({"$defs": {"address": {}}, "properties": {"a": {"$ref": "#/$defs/adress"}}}))
            .unwrap_err()
            .remove(0);
    assert_eq!(
        (error.code, error.pointer().as_str()),
        ("ref-not-found", "/properties/a/$ref")
    );
    assert_eq!(error.help, "did you mean `/$defs/address`?");
    let error = parse(&json!({"$ref": "#nod", "$defs": {"n": {"$anchor": "node"}}}))
        .unwrap_err()
        .remove(0);
    assert_eq!(error.code, "ref-not-found");
    assert_eq!(error.help, "did you mean `#node`?");
}

#[test]
fn in_place_cycles_are_refused_and_recursion_through_parts_is_not() {
    let found = errors(json!({
        "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}},
        "$ref": "#/$defs/a"
    }));
    // `$defs` comes first, so `b` is reached first (from `a`), and the edge back is `a`'s.
    assert_eq!(found, vec![("/$defs/a/$ref".to_owned(), "ref-cycle")]);
    assert!(
        errors(json!({
            "type": "object",
            "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}
        }))
        .is_empty()
    );
}

struct Files(Vec<(&'static str, Value)>);

impl Loader for Files {
    fn load(&mut self, uri: &str) -> Result<Value, String> {
        self.0
            .iter()
            .find(|(name, _)| uri.ends_with(name))
            .map(|(_, value)| value.clone())
            .ok_or_else(|| "no such file".to_owned())
    }
}

#[test]
fn files_are_read_once_relative_to_the_referring_file() {
    let mut files = Files(vec![
        (
            "/specs/common.json",
            json!({"$defs": {"address": {"type": "object", "properties": {"zip": {"$ref": "sub/zip.json"}}}}}),
        ),
        (
            "/specs/sub/zip.json",
            json!({"type": "string", "pattern": "^[0-9]{5}$"}),
        ),
    ]);
    let document = parse_with(
        &json!({"properties": {
            "home": {"$ref": "common.json#/$defs/address"},
            "work": {"$ref": "common.json#/$defs/address"}
        }}),
        "file:///specs/ingest.yaml",
        &mut files,
    )
    .expect("resolves");
    assert_eq!(document.definitions.len(), 2);
    assert_eq!(
        document.definitions[0].file.as_deref(),
        Some("file:///specs/common.json")
    );
    assert_eq!(
        document.definitions[1].file.as_deref(),
        Some("file:///specs/sub/zip.json")
    );
    assert_eq!(document.definitions[1].name, "zip");

    let errors = parse_with(
        &json!({"properties": {"a": {"$ref": "missing.json"}, "b": {"$ref": "common.json#/$defs/nope"}}}),
        "file:///specs/ingest.yaml",
        &mut files,
    )
    .unwrap_err();
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.file.clone(), e.pointer(), e.code))
        .collect();
    assert_eq!(
        found,
        [
            (None, "/properties/a/$ref".to_owned(), "ref-file"),
            (None, "/properties/b/$ref".to_owned(), "ref-not-found"),
        ]
    );
    let mut broken = Files(vec![(
        "/specs/bad.json",
        json!({"$defs": {"x": {"minLenght": 1}}}),
    )]);
    let errors = parse_with(
        &json!({"$ref": "bad.json#/$defs/x"}),
        "file:///specs/s.yaml",
        &mut broken,
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file.as_deref(), Some("file:///specs/bad.json"));
    assert_eq!(errors[0].pointer(), "/$defs/x/minLenght");
}

#[test]
fn a_schema_that_read_files_bundles_into_one_that_resolves_the_same() {
    let mut files = Files(vec![
        (
            "/specs/common.json",
            json!({"$defs": {"money": {"type": "integer", "minimum": 0}, "pair": {"type": "array", "items": {"$ref": "#/$defs/money"}}}}),
        ),
        ("/postal/zip.json", json!({"type": "string"})),
    ]);
    let value = json!({"properties": {
        "a": {"$ref": "schemas/../common.json#/$defs/pair"},
        "b": {"$ref": "../postal/zip.json"}
    }});
    let document = parse_with(&value, "file:///specs/x.yaml", &mut files).expect("resolves");
    let bundled = bundle(&document, &value, "thing");
    assert_eq!(
        bundled["$id"],
        "https://schemas.ingest.invalid/_/thing.json"
    );
    assert_eq!(
        bundled["$defs"]["common.json"]["$id"],
        "https://schemas.ingest.invalid/_/common.json"
    );
    assert_eq!(
        bundled["$defs"]["../postal/zip.json"]["$id"],
        "https://schemas.ingest.invalid/postal/zip.json"
    );
    let again = parse(&bundled).expect("the bundle resolves without files");
    assert_eq!(again.definitions.len(), document.definitions.len());
    let plain = json!({"type": "object"});
    assert_eq!(bundle(&parse(&plain).unwrap(), &plain, "x"), plain);
}

#[test]
fn numeric_ranges_consider_exclusive_bounds() {
    assert!(errors(json!({"minimum": 1, "maximum": 1})).is_empty());
    assert_eq!(
        errors(json!({"minimum": 1, "exclusiveMaximum": 1}))[0].1,
        "min-above-max"
    );
    assert_eq!(
        errors(json!({"exclusiveMinimum": 3, "maximum": 2}))[0].1,
        "min-above-max"
    );
    assert_eq!(
        errors(json!({"exclusiveMinimum": true}))[0].1,
        "exclusive-bound-boolean"
    );
}

#[test]
fn counts_accept_integral_floats_only() {
    assert!(errors(json!({"maxLength": 2.0})).is_empty());
    assert_eq!(errors(json!({"maxLength": 2.5}))[0].1, "not-a-count");
    assert_eq!(errors(json!({"minItems": -1}))[0].1, "not-a-count");
}

#[test]
fn suggests_close_keywords() {
    let error = parse(&json!({"minLenght": 1})).unwrap_err().remove(0);
    assert_eq!(error.help, "did you mean `minLength`?");
    assert_eq!(error.target, Target::Key);
}

#[test]
fn enum_values_must_fit_the_type() {
    assert_eq!(
        errors(json!({"type": "string", "enum": ["a", 1]})),
        vec![("/enum/1".to_owned(), "value-never-matches-type")]
    );
    assert!(errors(json!({"type": "integer", "enum": [1.0]})).is_empty());
    assert_eq!(errors(json!({"enum": [1, 1.0]}))[0].1, "enum-duplicate");
}

#[test]
fn pattern_properties_can_make_a_required_name_possible() {
    assert!(
        errors(json!({
            "required": ["x_1"], "patternProperties": {"^x_": {}}, "additionalProperties": false
        }))
        .is_empty()
    );
    assert_eq!(
        errors(json!({"patternProperties": {"(": {}}})),
        vec![("/patternProperties/(".to_owned(), "pattern-invalid")]
    );
}

#[test]
fn edit_distance_counts_transpositions_once() {
    assert_eq!(edit_distance("shards", "shards"), 0);
    assert_eq!(edit_distance("shrads", "shards"), 1);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

#[test]
fn unknown_keys_are_refused_with_what_to_do_but_extensions_are_annotations() {
    let with_extensions = json!({
        "type": "object",
        "x-owner": "checkout",
        "properties": {"a": {"type": "string", "x-pii": true, "x-lookup": {"minimum": "not a schema"}}}
    });
    let parsed = parse(&with_extensions).expect("`x-` keys are annotations");
    assert_eq!(
        parsed,
        parse(&json!({"type": "object", "properties": {"a": {"type": "string"}}})).unwrap(),
        "an extension changes nothing"
    );

    for (key, help_starts) in [
        ("minimun", "did you mean `minimum`?"),
        (
            "owner-team",
            "remove it, or keep it as an annotation of your own by naming it `x-owner-team`",
        ),
    ] {
        let errors = parse(&json!({"type": "integer", key: 1})).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].code, "unsupported-keyword");
        assert_eq!(errors[0].pointer(), format!("/{key}"));
        assert!(
            errors[0].help.starts_with(help_starts),
            "{}",
            errors[0].help
        );
    }
}
