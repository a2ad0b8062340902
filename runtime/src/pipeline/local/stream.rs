//! Kinesis: an in-process stream with shards, sequence numbers, arrival times and retention.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use chrono::{DateTime, Utc};

use super::super::{InfraError, Service};
use super::{Clock, Faults, lock};

/// One record of a [`LocalStream`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// Partition key.
    pub partition_key: String,
    /// Sequence number (increasing within the stream).
    pub sequence: String,
    /// Arrival time.
    pub arrival: DateTime<Utc>,
    /// The bytes.
    pub data: Vec<u8>,
}

/// An in-process Kinesis stream.
#[derive(Debug)]
pub struct LocalStream {
    /// Stream name.
    pub name: String,
    /// Region.
    pub region: String,
    /// How long records are kept.
    pub retention: Duration,
    shards: Vec<Mutex<Vec<StreamRecord>>>,
    next_sequence: AtomicU64,
    clock: Clock,
    /// Failures of `PutRecord` and of reading (an outage stops both).
    pub faults: Faults,
}

/// The id of shard `index` (`shardId-000000000003`).
pub fn shard_id(index: usize) -> String {
    format!("shardId-{index:012}")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl LocalStream {
    /// A stream with `shards` shards (at least 1).
    pub fn new(
        name: &str,
        region: &str,
        shards: usize,
        retention: Duration,
        clock: impl Into<Clock>,
    ) -> Self {
        LocalStream {
            name: name.to_owned(),
            region: region.to_owned(),
            retention,
            shards: (0..shards.max(1)).map(|_| Mutex::new(Vec::new())).collect(),
            next_sequence: AtomicU64::new(1),
            clock: clock.into(),
            faults: Faults::new(),
        }
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// `PutRecord`: the shard index and sequence number of the new record.
    pub fn put_record(
        &self,
        data: &[u8],
        partition_key: &str,
    ) -> Result<(usize, String), InfraError> {
        self.faults.check(Service::Kinesis, "PutRecord")?;
        let shard = usize::try_from(fnv1a(partition_key.as_bytes()) % self.shards.len() as u64)
            .unwrap_or(0);
        let sequence = format!(
            "4959{:052}",
            self.next_sequence.fetch_add(1, Ordering::SeqCst)
        );
        lock(&self.shards[shard]).push(StreamRecord {
            partition_key: partition_key.to_owned(),
            sequence: sequence.clone(),
            arrival: self.clock.now(),
            data: data.to_vec(),
        });
        Ok((shard, sequence))
    }

    /// Records of a shard from position `from`, at most `max`.
    pub fn read(&self, shard: usize, from: usize, max: usize) -> Vec<StreamRecord> {
        let records = lock(&self.shards[shard]);
        records.iter().skip(from).take(max).cloned().collect()
    }

    /// Records ever put into a shard.
    pub fn len(&self, shard: usize) -> usize {
        lock(&self.shards[shard]).len()
    }

    /// Whether no record was ever put.
    pub fn is_empty(&self) -> bool {
        (0..self.shards.len()).all(|s| self.len(s) == 0)
    }

    /// The first position of a shard still within retention.
    pub fn trim_horizon(&self, shard: usize) -> usize {
        let now = self.clock.now();
        let retention = chrono::Duration::milliseconds(
            i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX),
        );
        lock(&self.shards[shard])
            .iter()
            .take_while(|r| r.arrival + retention < now)
            .count()
    }

    /// The Kinesis event Lambda would deliver for these records of a shard.
    pub fn kinesis_event(&self, shard: usize, records: &[StreamRecord]) -> KinesisEvent {
        let shard = shard_id(shard);
        let mut event = KinesisEvent::default();
        for r in records {
            let mut record = KinesisEventRecord::default();
            record.aws_region = Some(self.region.clone());
            record.event_id = Some(format!("{shard}:{}", r.sequence));
            record.event_name = Some("aws:kinesis:record".to_owned());
            record.event_source = Some("aws:kinesis".to_owned());
            record.event_source_arn = Some(format!(
                "arn:aws:kinesis:{}:123456789012:stream/{}",
                self.region, self.name
            ));
            record.event_version = Some("1.0".to_owned());
            record.kinesis.approximate_arrival_timestamp.0 = r.arrival;
            record.kinesis.data.0.clone_from(&r.data);
            record.kinesis.partition_key.clone_from(&r.partition_key);
            record.kinesis.sequence_number.clone_from(&r.sequence);
            record.kinesis.kinesis_schema_version = Some("1.0".to_owned());
            event.records.push(record);
        }
        event
    }
}
