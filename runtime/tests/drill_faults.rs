//! The drill's pessimistic model, one fault mode at a time, and the property that ties them
//! together: within the declared outage every accepted record ends in good or quarantine, byte
//! for byte; beyond it the report names each lost record and the buffer that dropped it.
//!
//! Each loss test has a twin within the buffers that loses nothing, so each can fail both ways.

mod pipeline_common;

use std::collections::BTreeSet;
use std::time::Duration;

use ingest_runtime::pipeline::bridge::DEFAULT_CHUNK_BYTES;
use ingest_runtime::pipeline::drill::{
    AlarmThresholds, DrillConfig, DrillFaults, DrillRegion, DrillReport, hostile_records, run,
};
use ingest_runtime::pipeline::local::{
    Clock, KinesisMapping, LocalStream, Outage, PipelineSettings, kinesis_payload,
};
use ingest_runtime::pipeline::records::parse_kinesis_event;
use ingest_runtime::redelivery::Redelivery;
use pipeline_common::{REGISTRY, clock, note, punch};
use proptest::prelude::*;

/// The buffers of a spec that declares `outage_hours` with a margin of a quarter of it, as the
/// plan derives them (`ingest check` of the seed: 24 h, margin 6 h, streams 36 h, mappings
/// 30 h, 404 receives paced 30 s to 300 s, the queue kept until the DLQ and a margin more).
fn declared(outage_hours: u64, outage_seconds: u64) -> DrillConfig {
    let outage = outage_hours * 3600;
    let margin = outage / 4;
    let redelivery = Redelivery {
        first_delay_seconds: 30,
        max_delay_seconds: 300,
        growth: 2,
        jitter_percent: 10,
        max_receive_count: 0,
    }
    .covering(outage + margin, 1001);
    let retention_hours = (outage + 2 * margin).div_ceil(3600);
    DrillConfig {
        pipeline: PipelineSettings {
            name: "wiw-events".to_owned(),
            primary: DrillRegion {
                region: "us-east-1".to_owned(),
                shards: 8,
                weight: 95,
                retention_hours,
            },
            secondary: DrillRegion {
                region: "us-west-2".to_owned(),
                shards: 4,
                weight: 5,
                retention_hours,
            },
            max_event_bytes: 262_144,
            validator_batch_size: 500,
            validator_max_retries: None,
            validator_max_record_age_seconds: outage + margin,
            receiver_batch_size: 500,
            receiver_max_retries: None,
            receiver_max_record_age_seconds: outage + margin,
            bridge_batch_size: 10,
            bridge_max_concurrency: 10,
            bridge_chunk_bytes: DEFAULT_CHUNK_BYTES,
            visibility_timeout_seconds: 1800,
            max_receive_count: redelivery.max_receive_count,
            queue_retention_seconds: redelivery.dead_letter_after_seconds(300, 1800) + margin,
            bridge_redelivery: Some(redelivery),
            spool_buffer_seconds: 60,
            spool_buffer_mb: 5,
            spool_quota_bytes_per_second: Some(5 * 1024 * 1024),
            validator_timeout_seconds: Some(60),
            receiver_timeout_seconds: Some(60),
            bridge_timeout_seconds: Some(300),
            dlq_retention_seconds: Some(1_209_600),
            failed_retention_days: Some(30),
        },
        failover_automatic: true,
        health_interval_seconds: 30,
        health_failure_threshold: 3,
        peak_events_per_second: 500,
        outage_seconds,
        seed: 11,
        start: None,
        notes: serde_json::Value::Null,
        flood: None,
        outage: Outage::Brownout,
        faults: DrillFaults::default(),
        // The plan's: a shard stalled after an hour, records near their age limit after the
        // declared outage, spool data stale after an hour and critical at half of 24 h.
        alarms: Some(AlarmThresholds {
            stalled_iterator_age_seconds: 3600,
            expiry_iterator_age_seconds: outage,
            spool_freshness_seconds: 3600,
            spool_freshness_critical_seconds: 12 * 3600,
        }),
    }
}

/// Whether the run set off the alarm whose description starts with `alarm`.
fn fired(report: &DrillReport, alarm: &str) -> bool {
    report.alarms.iter().any(|a| a.alarm.starts_with(alarm))
}

/// `n` request bodies: valid punches and notes, invalid notes, a batch now and then, garbage.
fn records(n: usize) -> Vec<Vec<u8>> {
    (1..=n)
        .map(|id| {
            let source = format!("app/{}", id % 7);
            match id % 20 {
                0 => format!(
                    "[{},{}]",
                    punch(&source, id, 2),
                    note(&source, id + 1_000_000, "hi")
                ),
                3 => note(&source, id, "a note far longer than twenty characters"),
                9 => "{not json".to_owned(),
                n if n % 2 == 0 => punch(&source, id, 1),
                _ => note(&source, id, "hello"),
            }
            .into_bytes()
        })
        .collect()
}

/// Nothing accepted lost, nothing altered, every accepted event in good or quarantine.
fn assert_nothing_lost(report: &DrillReport) {
    assert_eq!(report.lost, 0, "{}", report.render());
    assert!(report.lost_records.is_empty(), "{:?}", report.lost_records);
    assert_eq!(report.altered, 0, "{}", report.render());
    assert_eq!(report.good + report.quarantined, report.accepted);
}

/// The lost records account for every lost event, each with a reason from `allowed`.
fn assert_losses_explained(report: &DrillReport, allowed: &[&str]) {
    assert!(report.lost > 0, "{}", report.render());
    let events: usize = report.lost_records.iter().map(|r| r.events).sum();
    assert_eq!(events, report.lost);
    let reasons: BTreeSet<&str> = report
        .lost_records
        .iter()
        .map(|r| r.reason.as_str())
        .collect();
    assert!(
        reasons.iter().all(|r| allowed.contains(r)),
        "reasons {reasons:?}, expected only {allowed:?}\n{}",
        report.render()
    );
    assert_eq!(
        report.lost_reasons.values().sum::<usize>(),
        report.lost,
        "{:?}",
        report.lost_reasons
    );
}

fn margin_left(report: &DrillReport, buffer: &str) -> f64 {
    report.margins[buffer]
        .least_left
        .unwrap_or_else(|| panic!("nothing passed through {buffer}: {:?}", report.margins))
}

#[test]
fn in_a_brownout_lambda_keeps_invoking_and_the_records_age_toward_the_limit() {
    let config = declared(2, 2 * 3600);
    let report = run(&REGISTRY, &config, &records(600), None);
    assert_nothing_lost(&report);
    // Records the primary accepted before the drain waited out the outage in its stream,
    // every invocation failing: they came within the margin of the maximum record age.
    let age_limit = config.pipeline.validator_max_record_age_seconds as f64;
    let left = margin_left(&report, "primary mapping record age");
    assert!(
        left < age_limit - 2.0 * 3600.0 + 300.0,
        "{left} s left of {age_limit}"
    );
    assert!(report.good_by_via["direct"] > 0);
    // Two hours of failing invocations: the stalled-shard alarm, before anything is lost.
    assert!(
        fired(&report, "primary mapping IteratorAge: a shard is stalled"),
        "{}",
        report.render()
    );
    assert!(!fired(&report, "primary mapping OnFailureDestination"));

    // A whole-region outage stops Lambda's reads too: nothing waits in the primary stream.
    let region = run(
        &REGISTRY,
        &DrillConfig {
            outage: Outage::Region,
            ..config.clone()
        },
        &records(600),
        None,
    );
    assert_nothing_lost(&region);
    assert!(margin_left(&region, "primary mapping record age") > age_limit - 600.0);
}

#[test]
fn beyond_the_record_age_the_validators_mapping_parks_records_and_the_drill_names_them() {
    let mut config = declared(2, 3 * 3600);
    // Buffers for two hours, an outage of three: the brownout outlasts the mapping's age.
    config.pipeline.max_receive_count = 1000;
    config.pipeline.queue_retention_seconds = 1_209_600;
    let report = run(&REGISTRY, &config, &records(2000), None);
    assert_losses_explained(&report, &["record-age"]);
    assert!(report.lost_records.iter().all(|r| r.region == "primary"));
    assert!(report.parked > 0);
    // The alarms that would have told the operator: records near their age limit, then
    // given up to the failed bucket (where `ingest redrive --failed` finds them).
    for alarm in [
        "primary mapping IteratorAge: records near being given up",
        "primary mapping OnFailureDestinationDeliveredEventCount",
    ] {
        assert!(fired(&report, alarm), "{alarm}\n{}", report.render());
    }
}

#[test]
fn a_spool_bucket_down_for_longer_than_24_hours_makes_firehose_discard() {
    let mut config = declared(2, 600);
    config.faults.spool_s3_down_seconds = 23 * 3600;
    let within = run(&REGISTRY, &config, &records(400), None);
    assert_nothing_lost(&within);
    let left = margin_left(&within, "firehose 24 h");
    assert!(left <= 3600.0 + 300.0, "{left} s left of Firehose's 24 h");
    // Hours before Firehose would discard, its freshness alarm is critical.
    assert!(
        fired(&within, "spool DeliveryToS3.DataFreshness: critical"),
        "{}",
        within.render()
    );

    config.faults.spool_s3_down_seconds = 25 * 3600;
    let beyond = run(&REGISTRY, &config, &records(400), None);
    assert_losses_explained(&beyond, &["firehose-discard"]);
    assert!(beyond.bridge.spool_discarded > 0);
    assert!(beyond.lost_records.iter().all(|r| r.region == "secondary"));
}

#[test]
fn a_queue_budget_shorter_than_the_outage_dead_letters_and_says_so() {
    let mut config = declared(2, 2 * 3600);
    config.outage = Outage::Region;
    let within = run(&REGISTRY, &config, &records(400), None);
    assert_nothing_lost(&within);
    assert!(margin_left(&within, "spool queue receives") >= 1.0);
    assert!(!fired(&within, "bridge dead-letter queue"));

    config.pipeline.bridge_redelivery = config
        .pipeline
        .bridge_redelivery
        .map(|r| r.covering(3600, 1001));
    config.pipeline.max_receive_count =
        config.pipeline.bridge_redelivery.unwrap().max_receive_count;
    let beyond = run(&REGISTRY, &config, &records(400), None);
    assert_losses_explained(&beyond, &["dead-letter"]);
    assert!(beyond.bridge.dead_letters > 0);
    assert!(
        fired(&beyond, "bridge dead-letter queue"),
        "{}",
        beyond.render()
    );
}

#[test]
fn calls_that_hang_run_into_deadlines_and_nothing_is_lost() {
    let mut config = declared(2, 2 * 3600);
    config.outage = Outage::Hang;
    let report = run(&REGISTRY, &config, &records(600), None);
    assert_nothing_lost(&report);
    let left = margin_left(&report, "primary mapping record age");
    assert!(left < config.pipeline.validator_max_record_age_seconds as f64 - 3600.0);
}

#[test]
fn an_invocation_that_outlasts_the_function_timeout_fails_whole() {
    let clock = clock();
    let stream = LocalStream::new(
        "s",
        "us-east-1",
        1,
        Duration::from_secs(86_400),
        clock.clone(),
    );
    for n in 0..3 {
        stream.put_record(format!("{n}").as_bytes(), "k").unwrap();
    }
    let mut mapping = KinesisMapping::new(1, 10, None, Duration::from_secs(86_400));
    mapping.timeout = Some(Duration::from_secs(60));
    let now = Clock::from(clock.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Answers "all done", but after 61 s: Lambda has killed it; nothing is checkpointed.
        mapping
            .poll(&stream, &now, |_| async {
                clock.advance(Duration::from_secs(61));
                Ok(br#"{"batchItemFailures":[]}"#.to_vec())
            })
            .await;
        assert_eq!(mapping.lag(&stream), 3);
        assert_eq!(mapping.stats.failed_invocations, 1);
        // An answer naming a record that was not in the batch fails it whole too.
        mapping
            .poll(&stream, &now, |_| async {
                Ok(br#"{"batchItemFailures":[{"itemIdentifier":"1"}]}"#.to_vec())
            })
            .await;
        assert_eq!(mapping.lag(&stream), 3);
        assert_eq!(mapping.stats.failed_invocations, 2);
        // In time and done: checkpointed (the batch was halved after the timeout).
        for _ in 0..2 {
            mapping
                .poll(&stream, &now, |_| async {
                    Ok(br#"{"batchItemFailures":[]}"#.to_vec())
                })
                .await;
        }
        assert_eq!(mapping.lag(&stream), 0);
        assert_eq!(mapping.stats.failed_invocations, 2);
    });
}

#[test]
fn the_mapping_sends_what_lambda_sends_and_the_bootstraps_parser_reads_it() {
    let clock = clock();
    clock.advance(Duration::from_millis(980));
    let stream = LocalStream::new(
        "s",
        "us-east-1",
        1,
        Duration::from_secs(86_400),
        clock.clone(),
    );
    stream.put_record(&[0xff, 0x00, b'{'], "k").unwrap();
    let event = stream.kinesis_event(0, &stream.read(0, 0, 1));
    let payload = kinesis_payload(&event).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert!(
        json["Records"][0]["kinesis"]["approximateArrivalTimestamp"].is_f64(),
        "a JSON number, as Lambda sends: {json}"
    );
    let parsed = parse_kinesis_event(&payload).unwrap();
    assert_eq!(parsed.records[0].kinesis.data.0, vec![0xff, 0x00, b'{']);
    assert_eq!(
        parsed.records[0].kinesis.approximate_arrival_timestamp.0,
        clock.now()
    );
}

#[test]
fn late_and_duplicated_notifications_lose_nothing_and_duplicates_collapse_later() {
    let mut config = declared(2, 3600);
    config.faults.notification_delay_seconds = 600;
    config.faults.duplicate_notifications_per_mille = 500;
    let report = run(&REGISTRY, &config, &records(600), None);
    assert_nothing_lost(&report);
    assert!(report.bridge.duplicate_notifications > 0);
    // A spool object delivered twice is validated twice, and its good and quarantine
    // objects get the same keys (origin and content): the second copy overwrites the first.
    assert!(report.bridge.receives > report.bridge.spool_objects);
    assert_eq!(report.duplicates, 0);
}

#[test]
fn firehose_throttling_at_its_quota_is_retried_and_loses_nothing() {
    let mut config = declared(2, 1800);
    // Far below what the drained secondary must carry at the drill's rate.
    config.pipeline.spool_quota_bytes_per_second = Some(600);
    config.peak_events_per_second = 50;
    let report = run(&REGISTRY, &config, &records(3000), None);
    assert_nothing_lost(&report);
    assert!(report.bridge.spool_throttled > 0, "{}", report.render());
}

#[test]
fn hostile_records_end_in_quarantine() {
    let mut config = declared(2, 600);
    config.faults.hostile_records = 3;
    let hostile = hostile_records(3, config.pipeline.max_event_bytes);
    assert!(hostile.iter().all(|r| r.len() <= 262_144));
    assert!(std::str::from_utf8(&hostile[2]).is_err());
    let report = run(&REGISTRY, &config, &records(200), None);
    assert_nothing_lost(&report);
    let plain = run(
        &REGISTRY,
        &DrillConfig {
            faults: DrillFaults::default(),
            ..config.clone()
        },
        &records(200),
        None,
    );
    // The array of `{}`: one event each, every one quarantined.
    assert!(
        report.quarantined > plain.quarantined + 80_000,
        "{}",
        report.render()
    );
    assert_eq!(report.good, plain.good);

    // Ten identical hostile records: each is accounted for, not only the first.
    config.faults.hostile_records = 0;
    let mut sent = records(100);
    sent.extend(std::iter::repeat_n(hostile[0].clone(), 10));
    let report = run(&REGISTRY, &config, &sent, None);
    assert_nothing_lost(&report);
    assert!(report.quarantined > 10 * 87_000, "{}", report.render());
}

/// A fault schedule: how the primary is down, for how long, and the other modes.
fn schedule() -> impl Strategy<Value = (u8, u64, u64, u64, u32, usize, u64)> {
    (
        0u8..3,
        1u64..=4,
        0u64..=4,
        0u64..=900,
        0u32..=500,
        0usize..=1,
        any::<u64>(),
    )
}

fn outage_kind(kind: u8) -> Outage {
    match kind {
        0 => Outage::Region,
        1 => Outage::Brownout,
        _ => Outage::Hang,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Within the declared two hours (and Firehose's 24 h), whatever the schedule, every
    /// accepted record ends in good or quarantine, byte for byte.
    #[test]
    fn within_the_declared_outage_nothing_is_lost(
        (kind, quarters, spool_quarters, delay, duplicates, hostile, seed) in schedule(),
    ) {
        let mut config = declared(2, quarters * 1800);
        config.outage = outage_kind(kind);
        config.seed = seed;
        config.faults = DrillFaults {
            spool_s3_down_seconds: spool_quarters * 1800,
            notification_delay_seconds: delay,
            duplicate_notifications_per_mille: duplicates,
            hostile_records: hostile,
        };
        let report = run(&REGISTRY, &config, &records(60), None);
        prop_assert_eq!(report.lost, 0, "{}", report.render());
        prop_assert_eq!(report.altered, 0);
        prop_assert_eq!(report.good + report.quarantined, report.accepted);
    }

    /// Beyond it (the outage twice the declared one and the queue's budget cut to an hour),
    /// the report names each lost record and a buffer the schedule overran.
    #[test]
    fn beyond_the_declared_outage_every_loss_is_named(
        (kind, _quarters, _spool, delay, duplicates, _hostile, seed) in schedule(),
    ) {
        let mut config = declared(2, 4 * 3600 + 1800);
        config.outage = outage_kind(kind);
        config.seed = seed;
        // The queue's retry budget an hour: when calls hang, each receive also waits out the
        // bridge's invoke, which stretches a budget of the declared two hours past even this
        // outage, and the schedule would overrun nothing.
        config.pipeline.bridge_redelivery = config
            .pipeline
            .bridge_redelivery
            .map(|r| r.covering(3600, 1001));
        config.pipeline.max_receive_count =
            config.pipeline.bridge_redelivery.map_or(1, |r| r.max_receive_count);
        config.faults.notification_delay_seconds = delay;
        config.faults.duplicate_notifications_per_mille = duplicates;
        let report = run(&REGISTRY, &config, &records(200), None);
        prop_assert!(report.lost > 0, "{}", report.render());
        let events: usize = report.lost_records.iter().map(|r| r.events).sum();
        prop_assert_eq!(events, report.lost);
        for lost in &report.lost_records {
            prop_assert!(
                ["record-age", "dead-letter", "queue-retention", "stream-retention"]
                    .contains(&lost.reason.as_str()),
                "{:?}", lost
            );
            // And the alarm that watches the buffer that dropped it.
            let alarm = match lost.reason.as_str() {
                "record-age" => format!("{} mapping IteratorAge: records near being given up", lost.region),
                "dead-letter" => "bridge dead-letter queue".to_owned(),
                _ => continue,
            };
            prop_assert!(fired(&report, &alarm), "{}\n{}", alarm, report.render());
        }
        prop_assert!(!report.alarms.is_empty(), "{}", report.render());
    }
}
