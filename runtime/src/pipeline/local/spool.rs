//! Firehose: an in-process delivery stream that buffers records into gzip objects in a bucket
//! and notifies a queue of each object, as the spool's S3 notification does.
//!
//! As pessimistic as AWS documents it:
//!
//! - **24 hours, then lost**: while the bucket fails, Firehose keeps retrying, but "the maximum
//!   data storage time of Amazon Data Firehose is 24 hours. If data delivery fails for more
//!   than 24 hours, your data is lost" (Firehose developer guide, "Handle data delivery
//!   failure", S3 destination). An object whose oldest record is older than
//!   [`FIREHOSE_RETENTION`] when a delivery is
//!   attempted is discarded and kept in [`LocalSpool::discarded`]. An object that failed is
//!   tried again as it is one buffering interval later; new records form new objects.
//! - **Throughput quota** (G36): with a quota in bytes per second, entries beyond it within a
//!   second are refused one by one (`ServiceUnavailableException`, as Firehose throttles a
//!   `PutRecordBatch`); the caller must retry them.
//! - **Notifications at least once, maybe late**: "Amazon S3 event notifications are designed
//!   to be delivered at least once. Typically, event notifications are delivered in seconds but
//!   can sometimes take a minute or longer" (S3 user guide). [`LocalSpool::set_notifications`]
//!   delays each one by a seeded random time and sends some twice.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::super::receiver::{MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_RECORD_BYTES};
use super::super::records::{self, encode_s3_key, timestamp};
use super::super::{DeliveryStream, ErrorKind, InfraError, ObjectStore, Service};
use super::{Clock, Faults, LocalQueue, LocalStore, Rng, lock, millis};

/// How long Firehose keeps data it cannot deliver (fixed for Direct PUT streams).
pub const FIREHOSE_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// The records buffered, each with the time Firehose accepted it, oldest first.
#[derive(Debug, Default)]
struct SpoolBuffer {
    entries: Vec<(DateTime<Utc>, Vec<u8>)>,
    bytes: usize,
}

/// An object Firehose formed from its buffer and could not write yet: it is retried as it
/// is, and new records form new objects.
#[derive(Debug)]
struct SpoolObject {
    n: u64,
    key: String,
    body: Vec<u8>,
    first_at: DateTime<Utc>,
    entries: Vec<(DateTime<Utc>, Vec<u8>)>,
    retry_at: DateTime<Utc>,
}

impl SpoolBuffer {
    fn first_at(&self) -> Option<DateTime<Utc>> {
        self.entries.first().map(|(at, _)| *at)
    }
}

/// How the spool's S3 notifications arrive: each after a random delay of up to
/// `max_delay`, and a second copy of `duplicate_per_mille` / 1000 of them.
#[derive(Debug, Clone)]
struct Notifications {
    rng: Rng,
    max_delay: Duration,
    duplicate_per_mille: u32,
    pending: Vec<(DateTime<Utc>, String)>,
}

/// Firehose's throughput quota: bytes accepted in the current second.
#[derive(Debug, Default)]
struct Quota {
    second: i64,
    bytes: u64,
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
    /// Failed object writes (each object is retried as it is).
    pub failed_writes: u64,
    /// Entries refused over the throughput quota.
    pub throttled: u64,
    /// Records discarded after [`FIREHOSE_RETENTION`] undelivered.
    pub discarded: u64,
    /// Notifications sent a second time.
    pub duplicate_notifications: u64,
    /// Least milliseconds a delivered record had left of [`FIREHOSE_RETENTION`] (and when).
    pub closest_to_discard: Option<(i64, DateTime<Utc>)>,
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
    undelivered: Mutex<Vec<SpoolObject>>,
    counter: AtomicU64,
    stats: Mutex<SpoolStats>,
    notifications: Mutex<Option<Notifications>>,
    quota: Mutex<Quota>,
    discarded: Mutex<Vec<(DateTime<Utc>, Vec<u8>)>>,
    /// The delivery stream's throughput quota in bytes per second (`None`: unlimited).
    pub quota_bytes_per_second: Option<u64>,
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
            undelivered: Mutex::new(Vec::new()),
            counter: AtomicU64::new(1),
            stats: Mutex::new(SpoolStats::default()),
            notifications: Mutex::new(None),
            quota: Mutex::new(Quota::default()),
            discarded: Mutex::new(Vec::new()),
            quota_bytes_per_second: None,
            faults: Faults::new(),
        }
    }

    /// Counts.
    pub fn stats(&self) -> SpoolStats {
        *lock(&self.stats)
    }

    /// Records buffered or in undelivered objects: not yet written.
    pub fn buffered(&self) -> usize {
        lock(&self.buffer).entries.len()
            + lock(&self.undelivered)
                .iter()
                .map(|o| o.entries.len())
                .sum::<usize>()
    }

    /// When the buffer or an undelivered object is due, if any.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        let buffer_due = lock(&self.buffer)
            .first_at()
            .map(|t| t + millis(self.buffer_interval));
        let retry_due = lock(&self.undelivered).iter().map(|o| o.retry_at).min();
        buffer_due.into_iter().chain(retry_due).min()
    }

    /// Delays each notification by a random time of up to `max_delay` (seeded by `seed`) and
    /// sends `duplicate_per_mille` / 1000 of them twice.
    pub fn set_notifications(&self, seed: u64, max_delay: Duration, duplicate_per_mille: u32) {
        *lock(&self.notifications) = Some(Notifications {
            rng: Rng::new(seed),
            max_delay,
            duplicate_per_mille,
            pending: Vec::new(),
        });
    }

    /// Notifications written but not yet delivered.
    pub fn pending_notifications(&self) -> usize {
        lock(&self.notifications)
            .as_ref()
            .map_or(0, |n| n.pending.len())
    }

    /// When the next late notification is due, if any.
    pub fn next_notification(&self) -> Option<DateTime<Utc>> {
        lock(&self.notifications)
            .as_ref()
            .and_then(|n| n.pending.iter().map(|(at, _)| *at).min())
    }

    /// Delivers the late notifications that are due; returns how many.
    pub fn deliver_notifications(&self) -> usize {
        let now = self.clock.now();
        let due: Vec<String> = match lock(&self.notifications).as_mut() {
            None => return 0,
            Some(n) => {
                let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut n.pending)
                    .into_iter()
                    .partition(|(at, _)| *at <= now);
                n.pending = later;
                due.into_iter().map(|(_, body)| body).collect()
            }
        };
        for body in &due {
            self.queue.send(body.clone());
        }
        due.len()
    }

    fn notify(&self, body: String) {
        let now = self.clock.now();
        let mut notifications = lock(&self.notifications);
        let Some(n) = notifications.as_mut() else {
            self.queue.send(body);
            return;
        };
        let max_ms = u64::try_from(n.max_delay.as_millis()).unwrap_or(u64::MAX);
        let copies = if n.rng.below(1000) < u64::from(n.duplicate_per_mille) {
            lock(&self.stats).duplicate_notifications += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = n.rng.below(max_ms.saturating_add(1));
            let at = now + millis(Duration::from_millis(delay));
            n.pending.push((at, body.clone()));
        }
    }

    /// The records Firehose discarded after [`FIREHOSE_RETENTION`] undelivered, each with the
    /// time it was accepted.
    pub fn discarded(&self) -> Vec<(DateTime<Utc>, Vec<u8>)> {
        lock(&self.discarded).clone()
    }

    /// Delivers what is due: the objects whose retry is due (those holding a record older
    /// than [`FIREHOSE_RETENTION`] are discarded instead), then the buffer as a new object when
    /// its interval has passed or it is full (with `force`: everything, now); returns whether
    /// an object was written.
    pub async fn flush(&self, force: bool) -> bool {
        let now = self.clock.now();
        let retries: Vec<SpoolObject> = {
            let mut undelivered = lock(&self.undelivered);
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut *undelivered)
                .into_iter()
                .partition(|object| force || object.retry_at <= now);
            *undelivered = later;
            due
        };
        let mut written = false;
        for object in retries {
            if object.first_at + millis(FIREHOSE_RETENTION) <= now {
                lock(&self.stats).discarded += object.entries.len() as u64;
                lock(&self.discarded).extend(object.entries);
                continue;
            }
            written |= self.deliver(object).await;
        }
        let entries = {
            let mut buffer = lock(&self.buffer);
            let Some(first_at) = buffer.first_at() else {
                return written;
            };
            let due = force
                || buffer.bytes >= self.buffer_bytes
                || first_at + millis(self.buffer_interval) <= now;
            if !due {
                return written;
            }
            std::mem::take(&mut *buffer).entries
        };
        let first_at = entries.first().map_or(now, |(at, _)| *at);
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let key = format!(
            "{}{}/{}-1-{}-{n:08}.gz",
            self.prefix,
            records::partition(first_at),
            self.name,
            first_at.format("%Y-%m-%d-%H-%M-%S")
        );
        let bytes: Vec<u8> = entries
            .iter()
            .flat_map(|(_, r)| r.iter().copied())
            .collect();
        let object = SpoolObject {
            n,
            key,
            body: records::gzip(&bytes),
            first_at,
            entries,
            retry_at: now,
        };
        self.deliver(object).await || written
    }

    /// Writes one object and notifies; on failure keeps it to try again one buffering
    /// interval later (the interval between Firehose's retries is not documented).
    async fn deliver(&self, mut object: SpoolObject) -> bool {
        let n = object.n;
        let size = object.body.len();
        match self
            .store
            .put_object(&self.bucket, &object.key, object.body.clone())
            .await
        {
            Ok(()) => {
                let written = self.clock.now();
                let notification = serde_json::json!({"Records": [{
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": self.region,
                    "eventTime": timestamp(written),
                    "eventName": "ObjectCreated:Put",
                    "userIdentity": {"principalId": "AWS:FIREHOSE"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "spool",
                        "bucket": {"name": self.bucket, "ownerIdentity": {"principalId": "LOCAL"}, "arn": format!("arn:aws:s3:::{}", self.bucket)},
                        "object": {"key": encode_s3_key(&object.key), "size": size, "eTag": format!("{n:032x}"), "sequencer": format!("{n:016X}")}
                    }
                }]});
                self.notify(notification.to_string());
                let mut stats = lock(&self.stats);
                stats.objects += 1;
                let left_ms =
                    (object.first_at + millis(FIREHOSE_RETENTION) - written).num_milliseconds();
                if stats
                    .closest_to_discard
                    .is_none_or(|(least, _)| left_ms < least)
                {
                    stats.closest_to_discard = Some((left_ms, written));
                }
                true
            }
            Err(_) => {
                lock(&self.stats).failed_writes += 1;
                object.retry_at = self.clock.now() + millis(self.buffer_interval);
                lock(&self.undelivered).push(object);
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
            let mut quota = lock(&self.quota);
            if quota.second != now.timestamp() {
                *quota = Quota {
                    second: now.timestamp(),
                    bytes: 0,
                };
            }
            for record in records {
                let size = record.len() as u64;
                // A second's first record always fits (a record is at most 1,000 KiB, below
                // every quota); the rest must fit in what the second has left.
                if self
                    .quota_bytes_per_second
                    .is_some_and(|limit| quota.bytes > 0 && quota.bytes + size > limit)
                {
                    stats.throttled += 1;
                    results.push(Some("ServiceUnavailableException".to_owned()));
                } else if self.faults.draw() {
                    stats.refused += 1;
                    results.push(Some("ServiceUnavailableException".to_owned()));
                } else {
                    quota.bytes += size;
                    buffer.bytes += record.len();
                    buffer.entries.push((now, record));
                    stats.accepted += 1;
                    results.push(None);
                }
            }
            Ok(results)
        })();
        std::future::ready(result)
    }
}
