//! Firehose: an in-process delivery stream that buffers records into gzip objects in a bucket
//! and notifies a queue of each object, as the spool's S3 notification does.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::super::receiver::{MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_RECORD_BYTES};
use super::super::records::{self, encode_s3_key, timestamp};
use super::super::{DeliveryStream, ErrorKind, InfraError, ObjectStore, Service};
use super::{Clock, Faults, LocalQueue, LocalStore, lock, millis};

#[derive(Debug, Default)]
struct SpoolBuffer {
    bytes: Vec<u8>,
    first_at: Option<DateTime<Utc>>,
    records: usize,
}

/// Counts of a spool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Records accepted.
    pub accepted: u64,
    /// Entries refused (`FailedPutCount`).
    pub refused: u64,
    /// Objects written.
    pub objects: u64,
    /// Failed object writes (retried at the next flush).
    pub failed_writes: u64,
}

/// An in-process Firehose delivery stream into a bucket, notifying a queue of each object.
#[derive(Debug)]
pub struct LocalSpool<'a> {
    /// Delivery stream name.
    pub name: String,
    /// Region (of the bucket's notifications).
    pub region: String,
    /// Destination bucket.
    pub bucket: String,
    /// Key prefix (`spool/`); objects go under `<prefix>dt=YYYY-MM-DD/hr=HH/`.
    pub prefix: String,
    /// Buffering interval.
    pub buffer_interval: Duration,
    /// Buffering size.
    pub buffer_bytes: usize,
    store: &'a LocalStore,
    queue: &'a LocalQueue,
    clock: Clock,
    buffer: Mutex<SpoolBuffer>,
    counter: AtomicU64,
    stats: Mutex<SpoolStats>,
    /// Failures of `PutRecordBatch` calls ([`Faults::check`]) and of entries ([`Faults::draw`]).
    pub faults: Faults,
}

impl<'a> LocalSpool<'a> {
    /// A delivery stream; sends the bucket's `s3:TestEvent` to the queue, as configuring the
    /// notification does.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        region: &str,
        bucket: &str,
        buffer_interval: Duration,
        buffer_bytes: usize,
        store: &'a LocalStore,
        queue: &'a LocalQueue,
        clock: impl Into<Clock>,
    ) -> Self {
        let clock = clock.into();
        let test_event = serde_json::json!({
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": timestamp(clock.now()),
            "Bucket": bucket,
            "RequestId": "0000000000000000",
            "HostId": "local",
        });
        queue.send(test_event.to_string());
        LocalSpool {
            name: name.to_owned(),
            region: region.to_owned(),
            bucket: bucket.to_owned(),
            prefix: "spool/".to_owned(),
            buffer_interval,
            buffer_bytes: buffer_bytes.max(1),
            store,
            queue,
            clock,
            buffer: Mutex::new(SpoolBuffer::default()),
            counter: AtomicU64::new(1),
            stats: Mutex::new(SpoolStats::default()),
            faults: Faults::new(),
        }
    }

    /// Counts.
    pub fn stats(&self) -> SpoolStats {
        *lock(&self.stats)
    }

    /// Records buffered and not yet written.
    pub fn buffered(&self) -> usize {
        lock(&self.buffer).records
    }

    /// When the buffer is due, if it holds anything.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        lock(&self.buffer)
            .first_at
            .map(|t| t + millis(self.buffer_interval))
    }

    /// Writes the buffer when its interval has passed or it is full (or always, with
    /// `force`); returns whether an object was written.
    pub async fn flush(&self, force: bool) -> bool {
        let now = self.clock.now();
        let (bytes, first_at, records) = {
            let mut buffer = lock(&self.buffer);
            let Some(first_at) = buffer.first_at else {
                return false;
            };
            let due = force
                || buffer.bytes.len() >= self.buffer_bytes
                || first_at + millis(self.buffer_interval) <= now;
            if !due {
                return false;
            }
            let taken = std::mem::take(&mut *buffer);
            (taken.bytes, first_at, taken.records)
        };
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let key = format!(
            "{}{}/{}-1-{}-{n:08}.gz",
            self.prefix,
            records::partition(first_at),
            self.name,
            first_at.format("%Y-%m-%d-%H-%M-%S")
        );
        let body = records::gzip(&bytes);
        let size = body.len();
        match self.store.put_object(&self.bucket, &key, body).await {
            Ok(()) => {
                let notification = serde_json::json!({"Records": [{
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": self.region,
                    "eventTime": timestamp(now),
                    "eventName": "ObjectCreated:Put",
                    "userIdentity": {"principalId": "AWS:FIREHOSE"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "spool",
                        "bucket": {"name": self.bucket, "ownerIdentity": {"principalId": "LOCAL"}, "arn": format!("arn:aws:s3:::{}", self.bucket)},
                        "object": {"key": encode_s3_key(&key), "size": size, "eTag": format!("{n:032x}"), "sequencer": format!("{n:016X}")}
                    }
                }]});
                self.queue.send(notification.to_string());
                lock(&self.stats).objects += 1;
                true
            }
            Err(_) => {
                let mut buffer = lock(&self.buffer);
                let mut restored = bytes;
                restored.extend_from_slice(&buffer.bytes);
                buffer.bytes = restored;
                buffer.records += records;
                buffer.first_at = Some(buffer.first_at.map_or(first_at, |t| t.min(first_at)));
                lock(&self.stats).failed_writes += 1;
                false
            }
        }
    }
}

impl DeliveryStream for LocalSpool<'_> {
    fn put_record_batch(
        &self,
        stream: &str,
        records: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Vec<Option<String>>, InfraError>> + Send {
        let result = (|| {
            let invalid = |message: String| {
                InfraError::new(
                    Service::Firehose,
                    "PutRecordBatch",
                    ErrorKind::Invalid,
                    message,
                )
            };
            if stream != self.name {
                return Err(InfraError::new(
                    Service::Firehose,
                    "PutRecordBatch",
                    ErrorKind::NotFound,
                    format!("no delivery stream {stream}"),
                ));
            }
            self.faults.check(Service::Firehose, "PutRecordBatch")?;
            if records.is_empty() || records.len() > MAX_BATCH_RECORDS {
                return Err(invalid(format!(
                    "{} records; a batch holds 1 to {MAX_BATCH_RECORDS}",
                    records.len()
                )));
            }
            let total: usize = records.iter().map(Vec::len).sum();
            if total > MAX_BATCH_BYTES {
                return Err(invalid(format!(
                    "{total} bytes; a batch holds at most {MAX_BATCH_BYTES}"
                )));
            }
            if let Some(record) = records.iter().find(|r| r.len() > MAX_RECORD_BYTES) {
                return Err(invalid(format!(
                    "a record of {} bytes; at most {MAX_RECORD_BYTES}",
                    record.len()
                )));
            }
            let now = self.clock.now();
            let mut results = Vec::with_capacity(records.len());
            let mut buffer = lock(&self.buffer);
            let mut stats = lock(&self.stats);
            for record in records {
                if self.faults.draw() {
                    stats.refused += 1;
                    results.push(Some("ServiceUnavailableException".to_owned()));
                } else {
                    buffer.bytes.extend_from_slice(&record);
                    buffer.records += 1;
                    buffer.first_at.get_or_insert(now);
                    stats.accepted += 1;
                    results.push(None);
                }
            }
            Ok(results)
        })();
        std::future::ready(result)
    }
}
