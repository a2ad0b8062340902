//! What the pipeline tests share: a registry of two event types, events, and Kinesis events.

#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use ingest_runtime::pipeline::local::{LocalStream, SimClock};
use ingest_runtime::{Event, EventType, Registry};

/// A clock punch.
#[derive(Event)]
#[event(additional_properties = false)]
pub struct Punch {
    #[event(format = "uuid")]
    punch_id: String,
    #[event(minimum = 1)]
    user_id: i64,
}

/// A note.
#[derive(Event)]
pub struct Note {
    #[event(max_length = 20)]
    text: String,
}

static TYPES: [EventType; 2] = [
    EventType {
        type_name: "clock.in",
        description: "A punch.",
        validate: <Punch as Event>::validate_json,
    },
    EventType {
        type_name: "note.added",
        description: "A note.",
        validate: <Note as Event>::validate_json,
    },
];

/// The registry of the tests.
pub static REGISTRY: Registry = Registry::new(&TYPES);

/// A valid clock.in event.
pub fn punch(source: &str, id: usize, user_id: i64) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"{source}","type":"clock.in","data":{{"punch_id":"2eb8aa08-aa98-11ea-b4aa-73b441d16380","user_id":{user_id}}}}}"#
    )
}

/// A note.added event (valid when `text` has at most 20 characters).
pub fn note(source: &str, id: usize, text: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"{source}","type":"note.added","data":{{"text":"{text}"}}}}"#
    )
}

/// 2020-11-25T13:00:00Z.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 11, 25, 13, 0, 0).unwrap()
}

/// A clock at [`start`].
pub fn clock() -> SimClock {
    SimClock::new(start())
}

/// A one-shard stream in `region` holding `records`, and the Kinesis event of all of them.
pub fn kinesis(
    region: &str,
    records: &[Vec<u8>],
    clock: &SimClock,
) -> (LocalStream, aws_lambda_events::event::kinesis::KinesisEvent) {
    let stream = LocalStream::new(
        "s",
        region,
        1,
        std::time::Duration::from_secs(86_400),
        clock.clone(),
    );
    for record in records {
        stream.put_record(record, "pk").unwrap();
    }
    let all = stream.read(0, 0, usize::MAX);
    let event = stream.kinesis_event(0, &all);
    (stream, event)
}
