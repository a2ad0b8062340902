//! Applicators decided from the index of an object's members (`ingest_runtime::Members`):
//! the verdicts and the reports are those of reading the object again, including where the
//! index gives up (more members than it holds, an escaped key) and for `contains` decided in
//! the same pass as `items`.

// Fields are read by the validators only.
#![allow(dead_code)]

use std::collections::BTreeMap;

use ingest_runtime::Event;
use ingest_runtime::json::{Kind, Parser};
use ingest_runtime::{Members, Violation};
use serde_json::Value;

/// `if`: `{"properties": {"channel": {"const": "store"}}, "required": ["channel"]}`.
#[derive(Event)]
#[event(type = ["null", "boolean", "object", "array", "number", "string"])]
struct InStore {
    #[event(const = "\"store\"")]
    channel: Value,
    #[event(additional)]
    rest: BTreeMap<String, Value>,
}

/// `then`: `{"required": ["store_id"]}`.
#[derive(Event)]
#[event(type = ["null", "boolean", "object", "array", "number", "string"], required = ["store_id"])]
struct HasStore {
    #[event(additional)]
    rest: BTreeMap<String, Value>,
}

/// `else`: `{"required": ["address"], "minProperties": 2, "maxProperties": 20}`.
#[derive(Event)]
#[event(
    type = ["null", "boolean", "object", "array", "number", "string"],
    required = ["address"],
    min_properties = 2,
    max_properties = 20
)]
struct HasAddress {
    #[event(additional)]
    rest: BTreeMap<String, Value>,
}

/// `not`: a `test` member that matches a pattern.
#[derive(Event)]
#[event(type = ["null", "boolean", "object", "array", "number", "string"])]
struct Test {
    #[event(pattern = "^test-")]
    test: Value,
    #[event(additional)]
    rest: BTreeMap<String, Value>,
}

/// `dependentSchemas` of `gift`: `{"required": ["note"], "dependentRequired": {"note": ["to"]}}`.
#[derive(Event)]
#[event(
    type = ["null", "boolean", "object", "array", "number", "string"],
    required = ["note"],
    dependent_required("note" = ["to"])
)]
struct Gift {
    #[event(additional)]
    rest: BTreeMap<String, Value>,
}

/// The object the applicators above apply to.
#[derive(Event)]
#[event(
    if(InStore),
    then(HasStore),
    else(HasAddress),
    not(Test),
    dependent_schemas("gift" = Gift)
)]
struct Order {
    channel: String,
    #[event(additional)]
    rest: BTreeMap<String, Value>,
}

/// `contains`: `{"properties": {"wrapped": {"const": true}}, "required": ["wrapped"]}`.
#[derive(Event)]
#[event(type = ["null", "boolean", "object", "array", "number", "string"])]
struct Wrapped {
    #[event(const = "true")]
    wrapped: Value,
    #[event(additional)]
    rest: BTreeMap<String, Value>,
}

/// An item of `Basket::lines`.
#[derive(Event)]
struct Line {
    #[event(min_length = 1)]
    sku: String,
    wrapped: Option<bool>,
    #[event(additional)]
    rest: BTreeMap<String, Value>,
}

/// At most two wrapped lines, at least one.
#[derive(Event)]
struct Basket {
    #[event(contains(Wrapped), min_contains = 1, max_contains = 2)]
    lines: Vec<Line>,
}

/// An instance, whether it is valid, and the (pointer, keyword) of each violation.
type Case = (&'static str, bool, &'static [(&'static str, &'static str)]);

fn verdicts<T: Event>(json: &str) -> (bool, Vec<(String, &'static str)>) {
    let fast = T::is_valid(json.as_bytes());
    let report = T::violations(json.as_bytes())
        .unwrap_or_else(|e| panic!("{json} is JSON: {e}"))
        .into_iter()
        .map(
            |Violation {
                 pointer, keyword, ..
             }| (pointer, keyword),
        )
        .collect();
    (fast, report)
}

/// `{"channel": ..., "k0": 0, ..., "k{n-1}": 0, <tail>}`.
fn with_members(channel: &str, n: usize, tail: &str) -> String {
    let mut text = format!(r#"{{"channel":"{channel}""#);
    for i in 0..n {
        text.push_str(&format!(r#","k{i}":0"#));
    }
    text.push_str(tail);
    text.push('}');
    text
}

#[test]
fn only_the_schemas_that_ask_about_members_are_decided_by_them() {
    // Checked when this test compiles.
    const {
        assert!(InStore::DECIDED_BY_MEMBERS);
        assert!(HasStore::DECIDED_BY_MEMBERS);
        assert!(HasAddress::DECIDED_BY_MEMBERS);
        assert!(Test::DECIDED_BY_MEMBERS);
        assert!(Gift::DECIDED_BY_MEMBERS);
        assert!(Wrapped::DECIDED_BY_MEMBERS);
        // Its own applicators need more than the members.
        assert!(!Order::DECIDED_BY_MEMBERS);
    }
}

#[test]
fn if_then_else_not_and_dependent_schemas_agree_with_a_second_read() {
    let cases: &[Case] = &[
        (r#"{"channel":"store","store_id":"S1"}"#, true, &[]),
        (r#"{"channel":"store"}"#, false, &[("", "required")]),
        (r#"{"channel":"web","address":"a"}"#, true, &[]),
        (r#"{"channel":"web","k":0}"#, false, &[("", "required")]),
        // One member: `else` also finds too few.
        (
            r#"{"channel":"web"}"#,
            false,
            &[("", "required"), ("", "minProperties")],
        ),
        (
            r#"{"channel":"web","address":"a","test":"test-1"}"#,
            false,
            &[("", "not")],
        ),
        (
            r#"{"channel":"web","address":"a","test":"prod-1"}"#,
            true,
            &[],
        ),
        (
            r#"{"channel":"web","address":"a","gift":1,"note":"n","to":"t"}"#,
            true,
            &[],
        ),
        (
            r#"{"channel":"web","address":"a","gift":1,"note":"n"}"#,
            false,
            &[("", "dependentRequired")],
        ),
        (
            r#"{"channel":"web","address":"a","gift":1}"#,
            false,
            &[("", "required")],
        ),
        // `minProperties` of `else`: one member is too few.
        (
            r#"{"address":"a"}"#,
            false,
            &[("", "required"), ("", "minProperties")],
        ),
    ];
    for (json, valid, expected) in cases {
        let (fast, report) = verdicts::<Order>(json);
        assert_eq!(fast, *valid, "{json}");
        let expected: Vec<(String, &str)> = expected
            .iter()
            .map(|(p, k)| ((*p).to_owned(), *k))
            .collect();
        assert_eq!(report, expected, "{json}");
    }
}

#[test]
fn more_members_than_the_index_holds_are_read_again() {
    let many = Members::CAPACITY + 4;
    // `store_id` after the members the index holds.
    let valid = with_members("store", many, r#","store_id":"S1""#);
    assert_eq!(verdicts::<Order>(&valid), (true, vec![]));
    let missing = with_members("store", many, "");
    assert_eq!(
        verdicts::<Order>(&missing),
        (false, vec![(String::new(), "required")])
    );
    // `maxProperties` of `else` (20), counted past the index's capacity.
    let too_many = with_members("web", many, r#","address":"a""#);
    assert_eq!(
        verdicts::<Order>(&too_many),
        (false, vec![(String::new(), "maxProperties")])
    );
    let few_enough = with_members("web", 10, r#","address":"a""#);
    assert_eq!(verdicts::<Order>(&few_enough), (true, vec![]));
}

#[test]
fn an_escaped_key_is_read_again() {
    // `store\u005fid` is `store_id`.
    let json = r#"{"channel":"store","store\u005fid":"S1"}"#;
    assert_eq!(verdicts::<Order>(json), (true, vec![]));
    let json = r#"{"channel":"store","\u0073tore":"S1"}"#;
    assert_eq!(
        verdicts::<Order>(json),
        (false, vec![(String::new(), "required")])
    );
}

#[test]
fn contains_is_decided_in_the_pass_over_the_items() {
    let line = |wrapped: &str| format!(r#"{{"sku":"a","wrapped":{wrapped}}}"#);
    let basket = |lines: &[String]| format!(r#"{{"lines":[{}]}}"#, lines.join(","));
    let (t, f) = (line("true"), line("false"));
    assert_eq!(
        verdicts::<Basket>(&basket(&[t.clone(), f.clone()])),
        (true, vec![])
    );
    assert_eq!(
        verdicts::<Basket>(&basket(&[f.clone(), f.clone()])),
        (false, vec![("/lines".to_owned(), "minContains")])
    );
    assert_eq!(
        verdicts::<Basket>(&basket(&[t.clone(), t.clone(), t.clone()])),
        (false, vec![("/lines".to_owned(), "maxContains")])
    );
    // An item that breaks `items` still counts for `contains` when it matches it.
    let bad = r#"{"sku":"","wrapped":true}"#.to_owned();
    assert_eq!(
        verdicts::<Basket>(&basket(&[bad, f.clone()])),
        (false, vec![("/lines/0/sku".to_owned(), "minLength")])
    );
    // Items with more members than the index holds, and an escaped key.
    let mut big = String::from(r#"{"sku":"a""#);
    for i in 0..Members::CAPACITY + 2 {
        big.push_str(&format!(r#","x{i}":0"#));
    }
    big.push_str(r#","wrapped":true}"#);
    assert_eq!(
        verdicts::<Basket>(&basket(&[big, f.clone()])),
        (true, vec![])
    );
    let escaped = r#"{"sku":"a","wr\u0061pped":true}"#.to_owned();
    assert_eq!(verdicts::<Basket>(&basket(&[escaped, f])), (true, vec![]));
}

#[test]
fn an_index_decides_only_for_an_object() {
    let text = r#"{"store_id":"S1","n":1}"#;
    let mut p = Parser::new(text.as_bytes());
    let start = p.fork();
    let mut members = Members::new(true);
    p.begin_object().unwrap();
    let mut first = true;
    while p.read_key(&mut first).unwrap() {
        members.push(&p.last_str(), p.offset());
        p.skip_value().unwrap();
    }
    assert!(members.complete());
    assert_eq!(members.len(), 2);
    assert!(HasStore::matches_members(Kind::Object, &start, &members));
    assert!(!HasAddress::matches_members(Kind::Object, &start, &members));
    // Not an object: read as before (every type is allowed).
    let number = Parser::new(b"7");
    assert!(HasStore::matches_members(
        Kind::Number,
        &number,
        &Members::new(true)
    ));
    // An index that was not enabled holds nothing and is not complete.
    let mut off = Members::new(false);
    off.push(&"store_id".into(), 1);
    assert!(!off.complete());
    assert!(off.is_empty());
}
