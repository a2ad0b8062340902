//! What a record may cost and what the lake can read: hostile records become one quarantine
//! line with their bytes, lines carry bounded violations, objects are split at a size bound,
//! and valid events Athena could not read are quarantined as `unqueryable` (loss paths 5 and 7
//! of `docs/guarantees.md`).

mod pipeline_common;

use ingest_runtime::pipeline::lake::LakeSchema;
use ingest_runtime::pipeline::local::LocalStore;
use ingest_runtime::pipeline::records::{
    MAX_VIOLATIONS_PER_LINE, QuarantineLine, gunzip_if_gzip, split_good_line,
};
use ingest_runtime::pipeline::validator::{ValidatorConfig, ValidatorHandler};
use ingest_runtime::pipeline::{Deadline, RetryPolicy};
use pipeline_common::{REGISTRY, clock, kinesis, note, punch};

fn config(max_event_bytes: usize) -> ValidatorConfig {
    ValidatorConfig {
        region: "us-east-1".to_owned(),
        good_bucket: "good".to_owned(),
        quarantine_bucket: "quarantine".to_owned(),
        max_event_bytes,
        retry: RetryPolicy::default(),
        lake: LakeSchema::new([
            ("clock.in", "struct<punch_id:string,user_id:bigint>"),
            ("note.added", "struct<count:bigint,text:string>"),
        ])
        .unwrap(),
    }
}

fn lines(store: &LocalStore, bucket: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for key in store.list(bucket, "") {
        let text = gunzip_if_gzip(&store.read(bucket, &key).unwrap()).unwrap();
        out.extend(
            text.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    out
}

fn quarantined(store: &LocalStore) -> Vec<QuarantineLine> {
    lines(store, "quarantine")
        .iter()
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect()
}

async fn run(records: &[Vec<u8>], config: &ValidatorConfig) -> LocalStore {
    let clock = clock();
    let (_stream, event) = kinesis("us-east-1", records, &clock);
    let store = LocalStore::memory();
    let handler = ValidatorHandler {
        registry: &REGISTRY,
        config,
        store: &store,
        sleeper: &clock,
        deadline: Deadline::NONE,
    };
    let outcome = handler.process_kinesis(&event).await;
    assert!(outcome.unfinished.is_empty());
    store
}

/// Loss path 7: events valid by their schema that Athena's OpenX reader refuses (keys equal
/// once lowercased, a bigint that is not a plain 64-bit literal) used to be written to good,
/// where they made every query over their object fail.
#[tokio::test]
async fn valid_events_athena_cannot_read_are_quarantined_as_unqueryable() {
    let unreadable = [
        note("app", 1, "hi").replace(r#""text":"hi""#, r#""text":"hi","Start":1,"start":2"#),
        punch("app", 2, 5).replace(r#""user_id":5"#, r#""user_id":1e2"#),
        punch("app", 3, 5).replace(r#""user_id":5"#, r#""user_id":18446744073709551616"#),
        // `Count` is an extra property that Athena reads as the bigint column `count`.
        note("app", 4, "hi").replace(r#""text":"hi""#, r#""text":"hi","Count":"many""#),
        note("app", 5, "hi").replace(r#""text":"hi""#, r#""text":"hi","x":{"Ä":1,"ä":2}"#),
    ];
    let fine = [
        punch("app", 6, 9_223_372_036_854_775_807),
        note("app", 7, "hi").replace(r#""text":"hi""#, r#""text":"hi","Start":1,"x":{"a":1.5}"#),
    ];
    let records: Vec<Vec<u8>> = unreadable
        .iter()
        .chain(&fine)
        .map(|r| r.clone().into_bytes())
        .collect();
    let store = run(&records, &config(4096)).await;
    let good = lines(&store, "good");
    assert_eq!(good.len(), fine.len(), "only the readable events are good");
    for line in &good {
        let (event, _) = split_good_line(line).unwrap();
        assert!(fine.iter().any(|f| f.as_bytes() == event.as_slice()));
    }
    let quarantine = quarantined(&store);
    assert_eq!(quarantine.len(), unreadable.len());
    let mut pointers = Vec::new();
    for line in &quarantine {
        assert_eq!(line.kind, "unqueryable");
        assert_eq!(line.violations[0].keyword, "athena");
        assert!(
            unreadable
                .iter()
                .any(|u| u.as_bytes() == line.original_bytes().unwrap())
        );
        pointers.push(line.violations[0].pointer.clone());
    }
    pointers.sort();
    assert_eq!(
        pointers,
        [
            "/data",
            "/data/Count",
            "/data/user_id",
            "/data/user_id",
            "/data/x"
        ]
    );
}

/// Loss path 5: a record of tens of thousands of empty objects used to become one quarantine
/// line per element (about 57 MB of lines held for 256 KiB); it is one line now, with the
/// record's bytes, read no further than its budget or its size allows.
#[tokio::test]
async fn a_record_of_empty_objects_is_one_quarantine_line_with_its_bytes() {
    let empties = format!("[{}]", vec!["{}"; 87_000].join(",")).into_bytes();
    let ones = format!("[{}]", vec!["1"; 130_000].join(",")).into_bytes();
    assert!(empties.len() <= 262_144 && ones.len() <= 262_144);
    let records = vec![
        empties.clone(),
        punch("app", 1, 5).into_bytes(),
        ones.clone(),
    ];
    let store = run(&records, &config(262_144)).await;
    let quarantine = quarantined(&store);
    assert_eq!(quarantine.len(), 2, "one line per hostile record");
    for (line, record) in quarantine.iter().zip([&empties, &ones]) {
        assert_eq!(
            (line.kind.as_str(), line.violations[0].keyword.as_str()),
            ("too_large", "events")
        );
        assert!(
            line.violations[0].message.contains("kept whole"),
            "{}",
            line.violations[0].message
        );
        assert_eq!(
            &line.original_bytes().unwrap(),
            record,
            "the record is kept whole"
        );
        assert_eq!(line.event_index, None);
    }
    // 2,835 empty objects fill the budget of eight times the record's bytes...
    assert!(
        quarantine[0].violations[0]
            .message
            .contains("bytes of quarantine lines")
    );
    // ...while numbers make short lines: more events than 259,999 bytes of valid events could
    // be stops the reading first.
    assert!(
        quarantine[1].violations[0]
            .message
            .contains("more than valid events of its 260001 bytes could be"),
        "{}",
        quarantine[1].violations[0].message
    );
    assert_eq!(
        lines(&store, "good").len(),
        1,
        "the other record is unaffected"
    );
}

/// A batch whose events would make more quarantine lines than the budget allows is one line
/// too, with the first event's problems; a batch within it keeps a line per event.
#[tokio::test]
async fn quarantine_lines_beyond_the_budget_collapse_into_one() {
    // Sixteen attribute names CloudEvents forbids: a 100-byte event makes a 2.5 KB line.
    let event: String = format!(
        "{{{}}}",
        (b'A'..=b'P')
            .map(|k| format!(r#""{}":1"#, k as char))
            .collect::<Vec<_>>()
            .join(",")
    );
    let heavy = format!("[{}]", vec![event.as_str(); 300].join(",")).into_bytes();
    let light = format!("[{event},{}]", punch("app", 2, 0)).into_bytes();
    let store = run(&[heavy.clone(), light], &config(262_144)).await;
    let quarantine = quarantined(&store);
    let whole: Vec<&QuarantineLine> = quarantine
        .iter()
        .filter(|l| l.kind == "too_large")
        .collect();
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].original_bytes().unwrap(), heavy);
    assert!(
        whole[0].violations[0]
            .message
            .contains("bytes of quarantine lines")
    );
    assert_eq!(
        whole[0].violations[1].pointer, "/0/A",
        "the first problems follow"
    );
    let per_event: Vec<(&str, Option<usize>)> = quarantine
        .iter()
        .filter(|l| l.kind != "too_large")
        .map(|l| (l.kind.as_str(), l.event_index))
        .collect();
    assert_eq!(
        per_event,
        [("bad_envelope", Some(0)), ("schema_violation", Some(1))]
    );
}

/// A line lists at most 16 violations and says how many more there were.
#[tokio::test]
async fn a_line_lists_sixteen_violations_and_counts_the_rest() {
    let extras: String = (0..40).map(|k| format!(r#","k{k}":1"#)).collect();
    let record = punch("app", 1, 5).replace(r#""user_id":5"#, &format!(r#""user_id":5{extras}"#));
    let store = run(&[record.into_bytes()], &config(4096)).await;
    let line = &quarantined(&store)[0];
    assert_eq!(line.violations.len(), MAX_VIOLATIONS_PER_LINE + 1);
    assert_eq!(
        line.violations[MAX_VIOLATIONS_PER_LINE].message,
        "and 24 more violations, not listed"
    );
}

/// An original of control characters is stored as base64 (a JSON string would take six bytes
/// for each); ordinary text stays text.
#[tokio::test]
async fn originals_never_cost_more_than_base64() {
    let controls = vec![1u8; 300];
    let store = run(
        &[controls.clone(), b"{\"a\":\"text\"".to_vec()],
        &config(4096),
    )
    .await;
    let mut quarantine = quarantined(&store);
    quarantine.sort_by_key(|l| l.original_encoding.clone());
    assert_eq!(quarantine[0].original_encoding, "base64");
    assert_eq!(quarantine[0].original_bytes().unwrap(), controls);
    assert_eq!(quarantine[1].original_encoding, "utf8");
}
