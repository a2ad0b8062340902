//! Local stand-ins for the AWS services, so the very same handlers run on one machine with no
//! Docker and no AWS (feature `local`).
//!
//! | AWS | here | what it keeps of the real behaviour |
//! |---|---|---|
//! | time | [`Clock`] | a simulated clock ([`SimClock`]): waits (handler backoff, visibility timeouts, buffering) advance it instead of sleeping, so an hours-long outage runs in seconds and every run is reproducible; or the wall clock, for `ingest dev` |
//! | S3 | [`LocalStore`] | buckets as folders of files (or in memory); every bucket can be made to fail ([`Faults`]) |
//! | Kinesis | [`LocalStream`] | shards chosen by partition key, increasing sequence numbers, arrival times, retention |
//! | Lambda ← Kinesis | [`KinesisMapping`] | one batch per shard per poll, checkpoints, `batchItemFailures` (retry from the lowest), bisect on function error, bounded retries, an on-failure destination, maximum record age, the function's timeout (a longer invocation fails whole) |
//! | Firehose | [`LocalSpool`] | `PutRecordBatch` limits, per-entry failures (`FailedPutCount`), the throughput quota (entries over it refused), buffering by time and size, gzip objects under the spool prefix, the 24 h discard of what it could not deliver, and the S3 notification of each object (after an `s3:TestEvent`, `docs/traps.md#s3-test-event`), optionally late and duplicated |
//! | SQS | [`LocalQueue`] | visibility timeouts, `ChangeMessageVisibility` by receipt handle (the latest receive's only), receive counts, `maxReceiveCount` into a DLQ, retention (what it deleted is kept for the report) |
//! | Lambda ← SQS | [`SqsMapping`] | batches, `batchItemFailures` per message, the function's timeout |
//! | Lambda `Invoke` | [`LocalInvoker`] | the 6 MB payload limit, function errors, and an outage of the function |
//!
//! Events travel as Lambda delivers them: each Kinesis and SQS event is JSON bytes, parsed by
//! the same functions the bootstrap uses ([`super::records::parse_kinesis_event`], serde for
//! SQS), and each answer is JSON bytes the mapping reads back. Locks are held only for a moment, never across a
//! wait, so other threads may put records while a pipeline runs (`ingest dev` serves HTTP on
//! its own thread).
//!
//! Both regions wired from these stand-ins ([`LocalServices`], owned and shared, and
//! [`LocalPipeline`], the event source mappings and handlers that borrow them) are what the
//! outage drill ([`super::drill`], simulated time) and `ingest dev` (the wall clock, behind
//! HTTP) run: [`LocalPipeline::step`] is one round of every mapping, and nothing else of the
//! wiring is written twice.

mod clock;
mod faults;
mod invoker;
mod mapping;
mod queue;
mod settings;
mod spool;
mod store;
mod stream;
mod wiring;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub use clock::{Clock, Concurrent, Rng, SimClock};
pub use faults::Faults;
pub use invoker::LocalInvoker;
pub use mapping::{
    KinesisMapping, MappingStats, ParkReason, Parked, SqsMapping, StreamMargins, kinesis_payload,
};
pub use queue::{DroppedMessage, LocalQueue, QueueMargins, QueueStats};
pub use settings::{LOCAL_ACCOUNT, PipelineSettings, RegionSettings, Role, exceeds_event_limit};
pub use spool::{FIREHOSE_RETENTION, LocalSpool, SpoolStats};
pub use store::LocalStore;
pub use stream::{LocalStream, StreamRecord, shard_id};
pub use wiring::{BatchLog, LocalPipeline, LocalServices, Outage, Stage};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A duration as chrono's (saturating).
pub fn millis_of(d: Duration) -> chrono::Duration {
    millis(d)
}

fn millis(d: Duration) -> chrono::Duration {
    chrono::Duration::milliseconds(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
