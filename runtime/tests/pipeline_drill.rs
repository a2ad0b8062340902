//! The outage drill as a test: 10,000 events through both regions while the primary is down
//! for ten minutes; nothing accepted is lost.

mod pipeline_common;

use ingest_runtime::pipeline::bridge::DEFAULT_CHUNK_BYTES;
use ingest_runtime::pipeline::drill::{DrillConfig, DrillRegion, run};
use ingest_runtime::pipeline::local::PipelineSettings;
use pipeline_common::{REGISTRY, note, punch};

fn seed_config(outage_seconds: u64) -> DrillConfig {
    DrillConfig {
        pipeline: PipelineSettings {
            name: "wiw-events".to_owned(),
            primary: DrillRegion {
                region: "us-east-1".to_owned(),
                shards: 32,
                weight: 95,
                retention_hours: 24,
            },
            secondary: DrillRegion {
                region: "us-west-2".to_owned(),
                shards: 4,
                weight: 5,
                retention_hours: 24,
            },
            max_event_bytes: 262_144,
            validator_batch_size: 500,
            validator_max_retries: None,
            validator_max_record_age_seconds: 86_400,
            receiver_batch_size: 500,
            receiver_max_retries: None,
            receiver_max_record_age_seconds: 0,
            bridge_batch_size: 10,
            bridge_max_concurrency: 10,
            bridge_chunk_bytes: DEFAULT_CHUNK_BYTES,
            visibility_timeout_seconds: 1800,
            max_receive_count: 49,
            queue_retention_seconds: 91_800,
            spool_buffer_seconds: 60,
            spool_buffer_mb: 5,
        },
        failover_automatic: true,
        health_interval_seconds: 30,
        health_failure_threshold: 3,
        peak_events_per_second: 500,
        outage_seconds,
        seed: 7,
        start: None,
        notes: serde_json::Value::Null,
    }
}

/// 10,000 events: mostly valid, some invalid, some batches, one not JSON.
fn events() -> (Vec<Vec<u8>>, usize) {
    let mut records = Vec::new();
    let mut events = 0;
    let mut id = 0;
    while events < 10_000 {
        id += 1;
        let source = format!("app/{}", id % 17);
        let record = match id % 50 {
            0 => {
                let batch = format!(
                    "[{},{},{}]",
                    punch(&source, id, 1),
                    note(&source, id + 1_000_000, "this note is far too long"),
                    punch(&source, id + 2_000_000, 3)
                );
                events += 3;
                batch
            }
            7 => {
                events += 1;
                punch(&source, id, 0)
            }
            13 => {
                events += 1;
                "{not json".to_owned()
            }
            _ => {
                events += 1;
                if id % 2 == 0 {
                    punch(&source, id, 5)
                } else {
                    note(&source, id, "hello")
                }
            }
        };
        records.push(record.into_bytes());
    }
    (records, events)
}

#[test]
fn ten_thousand_events_survive_a_ten_minute_outage() {
    let (records, count) = events();
    let report = run(&REGISTRY, &seed_config(600), &records, None);
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.sent, count);
    assert!(count >= 10_000);
    assert_eq!(
        report.accepted, count,
        "every request is eventually accepted"
    );
    assert_eq!(report.lost, 0);
    assert_eq!(report.good + report.quarantined, report.accepted);
    assert_eq!(report.altered, 0, "good lines hold the events as sent");
    assert!(
        report.accepted_by_region["secondary"] > 2_000,
        "traffic drained to the secondary"
    );
    assert!(
        report.good_by_via["bridge"] > 2_000,
        "the bridge delivered the backlog"
    );
    assert!(report.bridge.test_events_skipped == 1);
    assert_eq!(report.bridge.dead_letters, 0);
    assert!(report.drain_seconds > 0.0);
    assert!(report.quarantine_reasons["schema_violation"] > 0);
    assert!(report.quarantine_reasons["not_json"] > 0);
}

#[test]
fn an_outage_longer_than_the_retry_budget_loses_events_and_says_so() {
    let (records, _) = events();
    let records = &records[..500];
    let mut config = seed_config(4 * 3600);
    config.pipeline.max_receive_count = 2;
    config.pipeline.queue_retention_seconds = 4 * 3600;
    let report = run(&REGISTRY, &config, records, None);
    assert!(report.bridge.dead_letters > 0);
    assert!(report.lost > 0, "{report:?}");
}
