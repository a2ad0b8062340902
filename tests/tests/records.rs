//! The per-record verdict through a generated registry (specs/ingest.yaml): reason kinds,
//! envelopes, batches, and robustness. No input may panic; the fast verdict always equals
//! the report's; duplicate keys, deep nesting, huge numbers and invalid UTF-8 are rejected.

use ingest_runtime::json::Parser;
use ingest_runtime::{EventVerdict, Reason, RecordOutcome, Rejection, Validator, Violation};
use ingest_tests::generated::specs::wiw_events::REGISTRY;
use proptest::prelude::*;

const SHIFT_CREATED: &str = r#"{"specversion":"1.0","id":"e-1","source":"app://ios","type":"shift.created","time":"2024-03-01T09:00:00Z","data":{"shift_id":"2eb8aa08-aa98-11ea-b4aa-73b441d16380","location_id":12,"start_time":"2024-03-01T09:00:00Z","end_time":"2024-03-01T17:00:00Z","created_by":{"user_id":7,"role":"manager"},"labels":["a","b"],"break_minutes":30}}"#;

/// Where each violation is and which keyword failed.
type Found = Vec<(String, &'static str)>;

fn verdict(record: &[u8]) -> Result<(), (Reason, Found)> {
    let validator = Validator::new(&REGISTRY);
    let outcome = validator.validate(record);
    assert_eq!(
        validator.is_valid(record),
        outcome.is_valid(),
        "fast and report disagree on {:?}",
        String::from_utf8_lossy(record)
    );
    let rejection = match outcome {
        RecordOutcome::Rejected(r) => r,
        RecordOutcome::Events { events, .. } => {
            match events.into_iter().find_map(|e| e.result.err()) {
                Some(r) => r,
                None => return Ok(()),
            }
        }
    };
    Err((
        rejection.reason,
        rejection
            .violations
            .into_iter()
            .map(|v| (v.pointer, v.keyword))
            .collect(),
    ))
}

fn reason(record: &str) -> Option<Reason> {
    verdict(record.as_bytes()).err().map(|e| e.0)
}

#[test]
fn a_valid_event_and_a_valid_batch() {
    assert_eq!(verdict(SHIFT_CREATED.as_bytes()), Ok(()));
    let batch = format!("[{SHIFT_CREATED}, {SHIFT_CREATED}]");
    assert_eq!(verdict(batch.as_bytes()), Ok(()));
    let data_first = SHIFT_CREATED
        .replace(r#""type":"shift.created","#, "")
        .replace(r#"}}"#, r#"},"type":"shift.created"}"#);
    assert_eq!(
        verdict(data_first.as_bytes()),
        Ok(()),
        "data before type is validated once type is known"
    );
}

#[test]
fn every_reason_kind() {
    assert_eq!(reason("{not json"), Some(Reason::NotJson));
    assert_eq!(
        reason(&SHIFT_CREATED.replace("\"1.0\"", "\"0.3\"")),
        Some(Reason::BadEnvelope)
    );
    assert_eq!(
        reason(&SHIFT_CREATED.replace(r#""id":"e-1","#, "")),
        Some(Reason::BadEnvelope)
    );
    assert_eq!(
        reason(&SHIFT_CREATED.replace("shift.created", "shift.exploded")),
        Some(Reason::UnknownType)
    );
    assert_eq!(
        reason(&SHIFT_CREATED.replace(r#""location_id":12"#, r#""location_id":0"#)),
        Some(Reason::SchemaViolation)
    );
    assert_eq!(reason("[]"), Some(Reason::BadEnvelope));
    assert_eq!(reason("42"), Some(Reason::BadEnvelope));
    let big = Validator::new(&REGISTRY).with_max_bytes(100);
    match big.validate(SHIFT_CREATED.as_bytes()) {
        RecordOutcome::Rejected(r) => assert_eq!(r.reason, Reason::TooLarge),
        other => panic!("expected too_large, got {other:?}"),
    }
    assert!(!big.is_valid(SHIFT_CREATED.as_bytes()));
}

#[test]
fn an_ingest_attribute_is_a_bad_envelope() {
    // The pipeline appends its own `ingest` member to good lines: an event with one would be
    // ambiguous there, whatever its value.
    for value in [r#""x""#, "1", r#"{"region":"us-east-1"}"#, "null"] {
        let record = SHIFT_CREATED.replace(
            r#""id":"e-1","#,
            &format!(r#""id":"e-1","ingest":{value},"#),
        );
        let (reason, violations) = verdict(record.as_bytes()).unwrap_err();
        assert_eq!(reason, Reason::BadEnvelope, "{value}");
        assert_eq!(violations, vec![("/ingest".to_owned(), "cloudevents")]);
    }
    let record = SHIFT_CREATED.replace(r#""id":"e-1","#, r#""id":"e-1","ingest":1,"#);
    let RecordOutcome::Events { events, .. } =
        Validator::new(&REGISTRY).validate(record.as_bytes())
    else {
        panic!("one event");
    };
    let message = &events[0].result.as_ref().unwrap_err().violations[0].message;
    assert!(message.contains("rename"), "{message}");
    let in_data =
        SHIFT_CREATED.replace(r#""break_minutes":30"#, r#""break_minutes":30,"ingest":1"#);
    assert_eq!(
        reason(&in_data),
        Some(Reason::SchemaViolation),
        "only the envelope reserves the name"
    );
}

#[test]
fn a_batch_is_read_once_with_a_verdict_per_event() {
    let bad = SHIFT_CREATED.replace(r#""location_id":12"#, r#""location_id":0"#);
    let batch = format!(" [ {SHIFT_CREATED} ,\n{bad}, 42 ] ");
    let validator = Validator::new(&REGISTRY);
    assert!(!validator.is_valid(batch.as_bytes()));
    let RecordOutcome::Events {
        batch: true,
        events,
    } = validator.validate(batch.as_bytes())
    else {
        panic!("a batch of three");
    };
    let raws: Vec<&[u8]> = events.iter().map(|e| e.raw).collect();
    assert_eq!(raws, [SHIFT_CREATED.as_bytes(), bad.as_bytes(), b"42"]);
    let reasons: Vec<Option<Reason>> = events
        .iter()
        .map(|e| e.result.as_ref().err().map(|r| r.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            None,
            Some(Reason::SchemaViolation),
            Some(Reason::BadEnvelope)
        ]
    );
    // Anything malformed anywhere makes the whole record not JSON, as before.
    for broken in [
        format!("[{SHIFT_CREATED},{bad}"),
        format!("[{SHIFT_CREATED},{{]"),
        format!("[{SHIFT_CREATED}] x"),
        format!(
            "[{}]",
            bad.replace(r#""id":"e-1","#, r#""id":"e-1","id":"e-2","#)
        ),
    ] {
        assert_eq!(reason(&broken), Some(Reason::NotJson), "{broken}");
    }
    let mut invalid_utf8 = format!("[{SHIFT_CREATED},{SHIFT_CREATED}]").into_bytes();
    let at = invalid_utf8.len() - 20;
    invalid_utf8[at] = 0xc0;
    assert_eq!(verdict(&invalid_utf8).unwrap_err().0, Reason::NotJson);
}

#[test]
fn violations_have_pointers_keywords_and_all_are_reported() {
    let bad = SHIFT_CREATED
        .replace(r#""location_id":12"#, r#""location_id":0"#)
        .replace(r#""role":"manager""#, r#""role":"boss""#)
        .replace(
            r#""break_minutes":30"#,
            r#""break_minutes":31,"extra":true"#,
        )
        .replace(r#""labels":["a","b"]"#, r#""labels":["a","a"]"#);
    let (reason, violations) = verdict(bad.as_bytes()).unwrap_err();
    assert_eq!(reason, Reason::SchemaViolation);
    assert_eq!(
        violations,
        vec![
            ("/data/location_id".to_owned(), "minimum"),
            ("/data/created_by/role".to_owned(), "enum"),
            ("/data/labels".to_owned(), "uniqueItems"),
            ("/data/break_minutes".to_owned(), "multipleOf"),
            ("/data/extra".to_owned(), "additionalProperties"),
        ]
    );
    let missing = SHIFT_CREATED.replace(r#""location_id":12,"#, "");
    assert_eq!(
        verdict(missing.as_bytes()).unwrap_err().1,
        vec![("/data".to_owned(), "required")]
    );
}

#[test]
fn duplicate_keys_are_rejected_anywhere() {
    let in_envelope = SHIFT_CREATED.replace(r#""id":"e-1","#, r#""id":"e-1","id":"e-2","#);
    assert_eq!(reason(&in_envelope), Some(Reason::NotJson));
    let in_data = SHIFT_CREATED.replace(
        r#""location_id":12"#,
        r#""location_id":12,"location_id":13"#,
    );
    assert_eq!(reason(&in_data), Some(Reason::NotJson));
    let in_nested = SHIFT_CREATED.replace(r#""user_id":7,"#, r#""user_id":7,"user_id":7,"#);
    assert_eq!(reason(&in_nested), Some(Reason::NotJson));
    let in_extension = SHIFT_CREATED.replace(
        r#""id":"e-1","#,
        r#""id":"e-1","traceparent":"x","traceparent":"y","#,
    );
    assert_eq!(reason(&in_extension), Some(Reason::NotJson));
}

#[test]
fn hostile_inputs_are_rejected_without_panicking() {
    for depth in [200, 40_000] {
        let deep_array = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(reason(&deep_array), Some(Reason::NotJson));
        let deep_data = SHIFT_CREATED.replace(
            r#""labels":["a","b"]"#,
            &format!(r#""labels":{}"#, "[".repeat(depth)),
        );
        assert_eq!(reason(&deep_data), Some(Reason::NotJson));
        let deep_object = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        assert_eq!(reason(&deep_object), Some(Reason::NotJson));
    }
    let huge = SHIFT_CREATED.replace(r#""location_id":12"#, r#""location_id":1e999"#);
    assert_eq!(
        reason(&huge),
        Some(Reason::NotJson),
        "numbers beyond f64 are not JSON we accept"
    );
    let long_integer = SHIFT_CREATED.replace(
        r#""location_id":12"#,
        &format!(r#""location_id":{}"#, "9".repeat(300)),
    );
    assert_eq!(
        reason(&long_integer),
        None,
        "a 300-digit integer is an integer (as a float), and at least 1"
    );
    let mut invalid_utf8 = SHIFT_CREATED.as_bytes().to_vec();
    let at = SHIFT_CREATED.find("manager").unwrap();
    invalid_utf8[at] = 0xff;
    assert_eq!(verdict(&invalid_utf8).unwrap_err().0, Reason::NotJson);
    assert_eq!(
        reason(&SHIFT_CREATED.replace("e-1", "\\ud800")),
        Some(Reason::NotJson)
    );
}

/// The verdict on a batch as two passes give it: split the record into elements first (any
/// malformed byte rejects the whole record), then validate each element on its own. The
/// validator reads a batch once; its outcome must be the same.
fn two_pass_outcome(record: &[u8]) -> RecordOutcome<'_> {
    let validator = Validator::new(&REGISTRY);
    let mut p = Parser::new(record);
    let mut spans = Vec::new();
    let read = (|| {
        p.peek()?;
        p.begin_array()?;
        let mut first = true;
        while p.next_element(&mut first)? {
            p.peek()?;
            let start = p.offset();
            p.skip_value()?;
            spans.push((start, p.offset()));
        }
        p.finish()
    })();
    match read {
        Err(error) => RecordOutcome::Rejected(Rejection {
            reason: Reason::NotJson,
            violations: vec![Violation {
                pointer: String::new(),
                keyword: "json",
                message: format!("not valid JSON: {error}"),
            }],
        }),
        Ok(()) if spans.is_empty() => validator.validate(record),
        Ok(()) => RecordOutcome::Events {
            batch: true,
            events: spans
                .iter()
                .map(|(start, end)| EventVerdict {
                    raw: &record[*start..*end],
                    result: validator.validate_event(&record[*start..*end]),
                })
                .collect(),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = verdict(&bytes);
    }

    #[test]
    fn mutated_events_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = SHIFT_CREATED.as_bytes().to_vec();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = verdict(&bytes);
    }

    #[test]
    fn a_batch_read_once_equals_split_then_validate(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6)) {
        let other = SHIFT_CREATED.replace(r#""location_id":12"#, r#""location_id":0"#);
        let mut bytes = format!("[{SHIFT_CREATED},{other}]").into_bytes();
        for (at, byte) in edits {
            let i = at.index(bytes.len() - 1) + 1;
            bytes[i] = byte;
        }
        let _ = verdict(&bytes);
        prop_assert_eq!(Validator::new(&REGISTRY).validate(&bytes), two_pass_outcome(&bytes));
    }

    #[test]
    fn arbitrary_json_in_data_never_panics(text in "[\\[\\]{}\",:0-9a-z.eE+\\- ]{0,64}") {
        let record = SHIFT_CREATED.replace(r#""location_id":12"#, &format!(r#""location_id":{text}"#));
        let _ = verdict(record.as_bytes());
    }
}
