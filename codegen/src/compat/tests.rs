//! Unit tests of the comparison: one schema pair per behaviour, asserting verdicts, rules,
//! locations and witnesses. The CLI's fixture pairs (`tests/fixtures/compat/`) cover the
//! rendered output.

use serde_json::{Value, json};

use super::*;
use crate::schema::parse;

/// Keeps only what the schema model parses, so a test can give a schema keywords the model
/// does not know yet (the comparison walks the JSON next to the model).
fn known_only(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| crate::keywords::supported().any(|known| known == key.as_str()))
                .map(|(key, inner)| {
                    let inner = match key.as_str() {
                        "properties" => Value::Object(
                            inner
                                .as_object()
                                .unwrap()
                                .iter()
                                .map(|(name, schema)| (name.clone(), known_only(schema)))
                                .collect(),
                        ),
                        "items" | "additionalProperties" => known_only(inner),
                        _ => inner.clone(),
                    };
                    (key.clone(), inner)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn compare(old: Value, new: Value) -> Vec<Finding> {
    let old_schema = parse(&known_only(&old)).expect("old schema parses");
    let new_schema = parse(&known_only(&new)).expect("new schema parses");
    let input = |schema, json| EventInput {
        type_name: "t",
        description: None,
        schema,
        schema_json: json,
    };
    compare_event(&input(&old_schema, &old), &input(&new_schema, &new))
}

/// `(verdict, rule, schema pointer, instance pointer)` of each finding.
fn summary(findings: &[Finding]) -> Vec<(Verdict, &'static str, String, String)> {
    findings
        .iter()
        .map(|f| (f.verdict, f.rule.code(), f.pointer(), f.instance.clone()))
        .collect()
}

fn only(old: Value, new: Value) -> Finding {
    let findings = compare(old, new);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    findings.into_iter().next().unwrap()
}

fn object(properties: Value) -> Value {
    json!({"type": "object", "properties": properties})
}

#[test]
fn identical_schemas_have_no_findings() {
    let schema = json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "pattern": "^x"}}});
    assert!(compare(schema.clone(), schema).is_empty());
    // Annotations never matter.
    assert!(
        compare(
            json!({"title": "a"}),
            json!({"title": "b", "description": "c"})
        )
        .is_empty()
    );
    // Nor do extensions, the author's own annotations.
    assert!(
        compare(
            json!({"type": "string", "x-owner": "a"}),
            json!({"type": "string", "x-owner": "b", "x-pii": true})
        )
        .is_empty()
    );
}

#[test]
fn type_narrowing_and_widening() {
    let f = only(
        object(json!({"a": {"type": ["string", "null"]}})),
        object(json!({"a": {"type": "string"}})),
    );
    assert_eq!(
        summary(std::slice::from_ref(&f)),
        vec![(
            Verdict::Breaking,
            "type-narrowed",
            "/properties/a/type".into(),
            "/a".into()
        )]
    );
    assert!(
        f.message.contains("`null` is no longer valid"),
        "{}",
        f.message
    );

    let f = only(json!({"type": "number"}), json!({"type": "integer"}));
    assert_eq!(f.rule, Rule::TypeNarrowed);
    assert!(f.message.contains("such as 0.5"), "{}", f.message);

    assert_eq!(
        only(json!({"type": "integer"}), json!({"type": "number"})).verdict,
        Verdict::Safe
    );
    // Numbers that had to be multiples of 5 were integers anyway.
    assert!(
        compare(
            json!({"type": "number", "multipleOf": 5}),
            json!({"type": "integer", "multipleOf": 5})
        )
        .iter()
        .all(|f| f.verdict == Verdict::Safe)
    );
    assert_eq!(
        only(json!({}), json!({"type": "string"})).verdict,
        Verdict::Breaking
    );
}

#[test]
fn enum_values_removed_and_added_are_separate_findings() {
    let findings = compare(json!({"enum": ["a", "b"]}), json!({"enum": ["a", "c"]}));
    assert_eq!(
        summary(&findings),
        vec![
            (
                Verdict::Breaking,
                "enum-value-removed",
                "/enum".into(),
                "".into()
            ),
            (Verdict::Safe, "enum-value-added", "/enum".into(), "".into()),
        ]
    );
    assert_eq!(
        only(json!({"const": 1}), json!({"const": 2})).rule,
        Rule::ConstChanged
    );
    assert_eq!(
        only(json!({"const": 1}), json!({"enum": [1, 2]})).rule,
        Rule::EnumValueAdded
    );
    assert_eq!(
        only(
            json!({"type": "boolean"}),
            json!({"type": "boolean", "enum": [true, false]})
        )
        .verdict,
        Verdict::Safe,
        "every boolean is listed"
    );
    assert_eq!(
        only(
            json!({"type": "string"}),
            json!({"type": "string", "enum": ["a"]})
        )
        .verdict,
        Verdict::Breaking
    );
}

#[test]
fn bounds_are_compared_on_the_grid_of_valid_numbers() {
    let f = only(json!({"minimum": 0}), json!({"minimum": 1}));
    assert_eq!(
        (f.verdict, f.rule),
        (Verdict::Breaking, Rule::RangeNarrowed)
    );
    assert!(f.message.contains(": 0 was valid"), "{}", f.message);

    let f = only(
        json!({"type": "number"}),
        json!({"type": "number", "exclusiveMaximum": 10}),
    );
    assert_eq!(f.verdict, Verdict::Breaking);
    assert!(f.message.contains(": 10 was valid"), "{}", f.message);

    // On integers, `exclusiveMinimum: 0` and `minimum: 1` admit the same numbers.
    let findings = compare(
        json!({"type": "integer", "exclusiveMinimum": 0}),
        json!({"type": "integer", "minimum": 1}),
    );
    assert!(
        findings.iter().all(|f| f.verdict == Verdict::Safe),
        "{findings:#?}"
    );
    // On numbers they do not: 0.5 was valid.
    let f = only(
        json!({"type": "number", "exclusiveMinimum": 0}),
        json!({"type": "number", "minimum": 1}),
    );
    assert_eq!(f.verdict, Verdict::Breaking);
    assert!(f.message.contains("0.5 was valid"), "{}", f.message);

    assert_eq!(
        only(json!({"maximum": 5}), json!({"maximum": 6})).rule,
        Rule::RangeWidened
    );
    assert_eq!(
        only(json!({"maximum": 5}), json!({})).rule,
        Rule::RangeWidened
    );
    // Multiples of 10 from 1 up start at 10: `minimum: 10` excludes nothing.
    assert_eq!(
        only(
            json!({"type": "integer", "minimum": 1, "multipleOf": 10}),
            json!({"type": "integer", "minimum": 10, "multipleOf": 10})
        )
        .verdict,
        Verdict::Safe
    );
}

#[test]
fn multiple_of_is_safe_only_for_divisors_of_the_old_step() {
    let f = only(json!({"multipleOf": 2}), json!({"multipleOf": 4}));
    assert_eq!(
        (f.verdict, f.rule),
        (Verdict::Breaking, Rule::MultipleOfNarrowed)
    );
    assert!(f.message.contains(": 2 was valid"), "{}", f.message);
    assert_eq!(
        only(json!({"multipleOf": 4}), json!({"multipleOf": 2})).verdict,
        Verdict::Safe
    );
    assert_eq!(
        only(json!({"multipleOf": 0.3}), json!({"multipleOf": 0.1})).verdict,
        Verdict::Safe,
        "exact decimals, not floats"
    );
    assert_eq!(
        only(
            json!({"type": "integer"}),
            json!({"type": "integer", "multipleOf": 0.5})
        )
        .verdict,
        Verdict::Safe
    );
    assert_eq!(
        only(
            json!({"type": "number"}),
            json!({"type": "number", "multipleOf": 1})
        )
        .verdict,
        Verdict::Breaking
    );
}

#[test]
fn listed_values_are_checked_directly() {
    // Every listed value fits the new bound: the change is safe.
    assert_eq!(
        only(
            json!({"enum": [5, 7]}),
            json!({"enum": [5, 7], "minimum": 5})
        )
        .verdict,
        Verdict::Safe
    );
    let f = only(
        json!({"enum": [4, 5]}),
        json!({"enum": [4, 5], "minimum": 5}),
    );
    assert!(f.message.contains(": 4 was valid"), "{}", f.message);
    let f = only(
        json!({"enum": ["ab", "abc"]}),
        json!({"enum": ["ab", "abc"], "pattern": "^ab$"}),
    );
    assert_eq!((f.verdict, f.rule), (Verdict::Breaking, Rule::PatternAdded));
    assert!(f.message.contains("\"abc\""), "{}", f.message);
    assert_eq!(
        only(
            json!({"enum": ["ab"]}),
            json!({"enum": ["ab"], "pattern": "^a"})
        )
        .verdict,
        Verdict::Safe
    );
}

#[test]
fn lengths_and_counts() {
    let f = only(
        json!({"type": "string"}),
        json!({"type": "string", "maxLength": 3}),
    );
    assert_eq!(
        (f.verdict, f.rule),
        (Verdict::Breaking, Rule::LengthNarrowed)
    );
    assert!(
        f.message.contains("a string of 4 characters"),
        "{}",
        f.message
    );
    assert_eq!(
        only(
            json!({"type": "string", "minLength": 2}),
            json!({"type": "string", "minLength": 1})
        )
        .rule,
        Rule::LengthWidened
    );
    let f = only(
        json!({"type": "array"}),
        json!({"type": "array", "minItems": 1}),
    );
    assert_eq!(f.rule, Rule::ItemCountNarrowed);
    assert!(f.message.contains("an array of 0 items"), "{}", f.message);
    // Two required properties mean at least two properties: `minProperties: 2` is moot.
    assert_eq!(
        only(
            json!({"type": "object", "required": ["a", "b"]}),
            json!({"type": "object", "required": ["a", "b"], "minProperties": 2})
        )
        .verdict,
        Verdict::Safe
    );
    // A uuid is 36 characters: the check cannot prove `maxLength: 36` safe, but finds no
    // uuid it rejects either.
    assert_eq!(
        only(
            json!({"type": "string", "format": "uuid"}),
            json!({"type": "string", "format": "uuid", "maxLength": 36})
        )
        .verdict,
        Verdict::CannotTell
    );
    let f = only(
        json!({"type": "string", "format": "uuid"}),
        json!({"type": "string", "format": "uuid", "maxLength": 20}),
    );
    assert_eq!(f.verdict, Verdict::Breaking);
}

#[test]
fn patterns_are_judged_by_witnesses() {
    let f = only(
        json!({"type": "string", "pattern": "^[A-Z]{2,3}$"}),
        json!({"type": "string", "pattern": "^[A-Z]{3}$"}),
    );
    assert_eq!(
        (f.verdict, f.rule),
        (Verdict::Breaking, Rule::PatternChanged)
    );
    assert!(f.message.contains("\"AA\""), "{}", f.message);
    // Widening a pattern cannot be proven: cannot tell, never a guess.
    let f = only(
        json!({"type": "string", "pattern": "^[A-Z]{3}$"}),
        json!({"type": "string", "pattern": "^[A-Z]{2,3}$"}),
    );
    assert_eq!(
        (f.verdict, f.rule),
        (Verdict::CannotTell, Rule::PatternChanged)
    );
    assert!(f.help.as_deref().unwrap().contains("ingest validate"));
    // An unanchored old pattern let text around the match through.
    let f = only(
        json!({"type": "string", "pattern": "[0-9]{3}"}),
        json!({"type": "string", "pattern": "^[0-9]{3}$"}),
    );
    assert_eq!(f.verdict, Verdict::Breaking);
    let f = only(
        json!({"type": "string"}),
        json!({"type": "string", "pattern": "^[a-z]+$"}),
    );
    assert_eq!((f.verdict, f.rule), (Verdict::Breaking, Rule::PatternAdded));
    assert_eq!(
        only(
            json!({"type": "string", "pattern": "^a"}),
            json!({"type": "string"})
        )
        .rule,
        Rule::PatternRemoved
    );
}

#[test]
fn formats() {
    let f = only(
        json!({"type": "string"}),
        json!({"type": "string", "format": "uuid"}),
    );
    assert_eq!((f.verdict, f.rule), (Verdict::Breaking, Rule::FormatAdded));
    let f = only(
        json!({"type": "string", "format": "date"}),
        json!({"type": "string", "format": "date-time"}),
    );
    assert_eq!(
        (f.verdict, f.rule),
        (Verdict::Breaking, Rule::FormatChanged)
    );
    assert!(f.message.contains("\"2024-01-31\""), "{}", f.message);
    // A pattern that only lets uuids through: no witness, so cannot tell.
    let uuid = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
    assert_eq!(
        only(
            json!({"type": "string", "pattern": uuid}),
            json!({"type": "string", "pattern": uuid, "format": "uuid"})
        )
        .verdict,
        Verdict::CannotTell
    );
    assert_eq!(
        only(
            json!({"type": "string", "format": "email"}),
            json!({"type": "string"})
        )
        .rule,
        Rule::FormatRemoved
    );
}

#[test]
fn required_and_properties() {
    let findings = compare(
        json!({"type": "object", "required": ["a"], "properties": {"a": {}, "b": {}}}),
        json!({"type": "object", "required": ["b"], "properties": {"a": {}, "b": {}}}),
    );
    assert_eq!(
        summary(&findings),
        vec![
            (
                Verdict::Breaking,
                "required-added",
                "/required/0".into(),
                "".into()
            ),
            (
                Verdict::Safe,
                "required-removed",
                "/required".into(),
                "".into()
            ),
        ]
    );
    // A new property in a closed object: no event had it.
    let f = only(
        json!({"type": "object", "additionalProperties": false, "properties": {"a": {}}}),
        json!({"type": "object", "additionalProperties": false, "properties": {"a": {}, "b": {"type": "string"}}}),
    );
    assert_eq!(
        summary(&[f]),
        vec![(
            Verdict::Safe,
            "property-added",
            "/properties/b".into(),
            "/b".into()
        )]
    );
    // In an open object, `b` could have been anything.
    let f = only(
        object(json!({"a": {}})),
        object(json!({"a": {}, "b": {"type": "string"}})),
    );
    assert_eq!(
        (f.verdict, f.rule),
        (Verdict::Breaking, Rule::PropertyAdded)
    );
    // Removed from a closed object: events that send it break.
    let f = only(
        json!({"type": "object", "additionalProperties": false, "properties": {"a": {}, "b": {}}}),
        json!({"type": "object", "additionalProperties": false, "properties": {"a": {}}}),
    );
    assert_eq!(
        summary(&[f]),
        vec![(
            Verdict::Breaking,
            "property-removed",
            "/properties".into(),
            "/b".into()
        )]
    );
    assert_eq!(
        only(
            object(json!({"a": {}, "b": {"type": "string"}})),
            object(json!({"a": {}}))
        )
        .verdict,
        Verdict::Safe
    );
}

#[test]
fn additional_properties() {
    let f = only(
        json!({"type": "object"}),
        json!({"type": "object", "additionalProperties": false}),
    );
    assert_eq!(
        summary(&[f]),
        vec![(
            Verdict::Breaking,
            "additional-properties-closed",
            "/additionalProperties".into(),
            "".into()
        )]
    );
    assert_eq!(
        only(
            json!({"type": "object", "additionalProperties": false}),
            json!({"type": "object"})
        )
        .rule,
        Rule::AdditionalPropertiesOpened
    );
    let f = only(
        json!({"type": "object", "additionalProperties": {"type": ["string", "number"]}}),
        json!({"type": "object", "additionalProperties": {"type": "string"}}),
    );
    assert_eq!(
        summary(&[f]),
        vec![(
            Verdict::Breaking,
            "type-narrowed",
            "/additionalProperties/type".into(),
            "/*".into()
        )]
    );
}

#[test]
fn nested_changes_carry_both_pointers() {
    let old = json!({"type": "object", "properties": {"lines": {"type": "array", "items": {
        "type": "object", "properties": {"sku": {"type": "string", "maxLength": 20}}}}}});
    let mut new = old.clone();
    new["properties"]["lines"]["items"]["properties"]["sku"]["maxLength"] = json!(10);
    let f = only(old, new);
    assert_eq!(
        f.pointer(),
        "/properties/lines/items/properties/sku/maxLength"
    );
    assert_eq!(f.instance, "/lines/*/sku");
    assert_eq!(f.target, Target::Value);
}

#[test]
fn arrays() {
    let f = only(
        json!({"type": "array"}),
        json!({"type": "array", "uniqueItems": true}),
    );
    assert_eq!(
        (f.verdict, f.rule),
        (Verdict::Breaking, Rule::UniqueItemsAdded)
    );
    // At most one item: never a repeat.
    assert!(
        compare(
            json!({"type": "array", "maxItems": 1}),
            json!({"type": "array", "maxItems": 1, "uniqueItems": true})
        )
        .is_empty()
    );
    assert_eq!(
        only(
            json!({"type": "array", "uniqueItems": true}),
            json!({"type": "array"})
        )
        .rule,
        Rule::UniqueItemsRemoved
    );
    let f = only(
        json!({"type": "array", "items": {"type": "integer"}}),
        json!({"type": "array", "items": {"type": "integer", "minimum": 0}}),
    );
    assert_eq!(
        (f.pointer(), f.instance),
        ("/items/minimum".into(), "/*".into())
    );
}

#[test]
fn schema_false_and_keywords_of_other_types() {
    let f = only(object(json!({"a": {}})), object(json!({"a": false})));
    assert_eq!((f.verdict, f.rule), (Verdict::Breaking, Rule::SchemaFalse));
    assert_eq!(
        only(object(json!({"a": false})), object(json!({"a": {}}))).rule,
        Rule::SchemaFalseRemoved
    );
    // A string keyword added with a new type that old events never had: only the widening.
    let f = only(
        json!({"type": "integer"}),
        json!({"type": ["integer", "string"], "maxLength": 3}),
    );
    assert_eq!(f.rule, Rule::TypeWidened);
}

#[test]
fn keywords_without_rules_fall_back_to_identical_or_cannot_tell() {
    let old = json!({"type": "object", "flagged": 1, "properties": {"a": {"type": "string"}}});
    assert!(compare(old.clone(), old.clone()).is_empty());
    let mut new = old.clone();
    new["flagged"] = json!(2);
    let f = only(old, new);
    assert_eq!(
        summary(&[f]),
        vec![(
            Verdict::CannotTell,
            "keyword-not-judged",
            "/flagged".into(),
            "".into()
        )]
    );
    // A property that changed next to `patternProperties` cannot be judged on its own.
    let f = only(
        json!({"type": "object", "patternProperties": {"^a": {}}, "properties": {"b": {"type": "string"}}}),
        json!({"type": "object", "patternProperties": {"^a": {}}, "properties": {"b": {"type": ["string", "null"]}}}),
    );
    assert_eq!(
        (f.verdict, f.rule),
        (Verdict::CannotTell, Rule::KeywordNotJudged)
    );
}

#[test]
fn references_compare_what_they_point_at_without_looping() {
    let old = json!({
        "type": "object",
        "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}, "v": {"type": "string"}}}},
        "properties": {"head": {"$ref": "#/$defs/node"}}
    });
    assert!(compare(old.clone(), old.clone()).is_empty());
    let mut new = old.clone();
    new["$defs"]["node"]["properties"]["v"] = json!({"type": "integer"});
    let f = only(old, new);
    assert_eq!(
        (f.verdict, f.rule, f.pointer()),
        (
            Verdict::CannotTell,
            Rule::KeywordNotJudged,
            "/properties/head/$ref".to_owned()
        )
    );
    assert!(
        f.message.contains("points at a schema that changed"),
        "{}",
        f.message
    );
}

#[test]
fn event_types_added_and_removed() {
    let schema = parse(&json!({"type": "object"})).unwrap();
    let json = json!({"type": "object"});
    let input = |name| EventInput {
        type_name: name,
        description: None,
        schema: &schema,
        schema_json: &json,
    };
    let findings = compare_events(&[input("a"), input("b")], &[input("a"), input("c")]);
    let got: Vec<(Verdict, &str, &str)> = findings
        .iter()
        .map(|f| (f.verdict, f.rule.code(), f.event.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Verdict::Safe, "event-type-added", "c"),
            (Verdict::Breaking, "event-type-removed", "b"),
        ]
    );
}
