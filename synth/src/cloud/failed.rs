//! The batches a Kinesis mapping gave up on, replayed (`ingest redrive --failed`).
//!
//! When a stream mapping gives up on a batch (its records reached the maximum age, or a
//! retry count ran out), Lambda writes the invocation record to the mapping's S3 on-failure
//! destination, the region's failed bucket, under
//! `aws/lambda/<mapping UUID>/<shard>/YYYY/MM/DD/...`: a JSON document with the failure's
//! metadata (`requestContext`, `KinesisBatchInfo`) and, for S3 destinations only, `payload`, the
//! invocation's event as an escaped JSON string (Lambda developer guide, "Capturing discarded
//! batches for a Kinesis Data Streams event source"). Nothing reads that bucket by itself.
//!
//! The records' data is that `payload`: the record's `KinesisBatchInfo` holds only the shard and
//! the range of sequence numbers. A record without a `payload` (a destination that is not S3, or
//! a record Lambda could not write whole) cannot be replayed from the bucket: its data is in the
//! stream only while the stream retains it (the range can be read back with `GetShardIterator`
//! `AT_SEQUENCE_NUMBER` and `GetRecords` until then), and is gone after. Such a record is kept and
//! reported with its shard and range, never dropped; this command does not read the stream, since
//! the stacks write every record to S3 with its payload.
//!
//! A replay invokes the mapping's own function (`RequestResponse`) with that payload: the
//! validator for the primary's bucket, the receiver for the secondary's, so the records go
//! through the same code as the first time. The payload was an invocation payload, so it fits
//! `Invoke`'s limit. A replay succeeded when the function answered without a function error and
//! with no `batchItemFailures`; the object then moves under `redriven/` (copied, then deleted),
//! so running the command again replays only what is left. A replay that fails leaves the object
//! where it was. Replaying twice is safe: duplicates collapse on `(source, id)`.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde::Deserialize;

use super::{Call, Cloud, CloudError};

/// Where a Kinesis mapping's failure records are, in its on-failure bucket.
pub const FAILURE_PREFIX: &str = "aws/lambda/";
/// Where replayed failure records are kept.
pub const REDRIVEN_PREFIX: &str = "redriven/";

/// A failure record, as far as a replay reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct FailureRecord {
    /// Why the mapping gave up, and on which function.
    #[serde(rename = "requestContext", default)]
    pub request_context: Option<FailureContext>,
    /// The batch's shard and sequence range.
    #[serde(rename = "KinesisBatchInfo", default)]
    pub batch: Option<BatchInfo>,
    /// The invocation's event, as JSON text (S3 destinations only).
    #[serde(default)]
    pub payload: Option<String>,
}

/// `requestContext` of a failure record.
#[derive(Debug, Clone, Deserialize)]
pub struct FailureContext {
    /// `RetryAttemptsExhausted`, `RecordAgeExceeded`...
    #[serde(default)]
    pub condition: Option<String>,
}

/// `KinesisBatchInfo` of a failure record.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchInfo {
    /// The shard.
    #[serde(rename = "shardId", default)]
    pub shard_id: Option<String>,
    /// The batch's first sequence number.
    #[serde(rename = "startSequenceNumber", default)]
    pub start_sequence_number: Option<String>,
    /// The batch's last sequence number.
    #[serde(rename = "endSequenceNumber", default)]
    pub end_sequence_number: Option<String>,
    /// Records in the batch.
    #[serde(rename = "batchSize", default)]
    pub batch_size: Option<u64>,
    /// The stream.
    #[serde(rename = "streamArn", default)]
    pub stream_arn: Option<String>,
}

/// What replaying one failure record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// The function took every record; the object moved under `redriven/`.
    Done {
        /// Records in the batch.
        records: usize,
    },
    /// `--dry-run`: it would be replayed.
    Would {
        /// Records in the batch.
        records: usize,
    },
    /// The function failed or left records unfinished; the object stays.
    Failed {
        /// What the function answered.
        answer: String,
    },
    /// The object is not a failure record with a payload; it stays.
    Unreadable {
        /// Why.
        why: String,
    },
}

/// The failed bucket of one region and the function its mapping invokes.
#[derive(Debug, Clone)]
pub struct FailedBatches<'a> {
    cloud: &'a Cloud,
    region: String,
    s3: aws_sdk_s3::Client,
    lambda: aws_sdk_lambda::Client,
}

impl<'a> FailedBatches<'a> {
    /// The failed bucket and the functions of `region`.
    pub fn new(cloud: &'a Cloud, region: &str) -> Self {
        FailedBatches {
            cloud,
            region: region.to_owned(),
            s3: cloud.s3(region),
            lambda: cloud.lambda(region),
        }
    }

    fn call(&self, service: &'static str, operation: &'static str) -> Call {
        Call::new(service, operation, &self.region)
    }

    /// The keys of every failure record in `bucket` not replayed yet, in key order (oldest
    /// first within a shard).
    pub async fn keys(&self, bucket: &str) -> Result<Vec<String>, CloudError> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(FAILURE_PREFIX)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| self.cloud.error(self.call("s3", "ListObjectsV2"), e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// Replays the failure record at `key` through `function` (or only reads it, `dry_run`).
    pub async fn replay(
        &self,
        bucket: &str,
        key: &str,
        function: &str,
        dry_run: bool,
    ) -> Result<Replay, CloudError> {
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.cloud.error(self.call("s3", "GetObject"), e))?;
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| CloudError::Unexpected {
                call: self.call("s3", "GetObject").to_string(),
                what: format!("reading s3://{bucket}/{key}: {e}"),
            })?
            .into_bytes();
        let (payload, records) = match read_failure_record(&body) {
            Ok(found) => found,
            Err(why) => return Ok(Replay::Unreadable { why }),
        };
        if dry_run {
            return Ok(Replay::Would { records });
        }
        let answer = self
            .lambda
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| self.cloud.error(self.call("lambda", "InvokeFunction"), e))?;
        let text = answer
            .payload()
            .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
            .unwrap_or_default();
        if answer.function_error().is_some() || !all_taken(&text) {
            return Ok(Replay::Failed { answer: text });
        }
        let target = format!("{REDRIVEN_PREFIX}{key}");
        self.s3
            .copy_object()
            .bucket(bucket)
            .key(&target)
            .copy_source(format!("{bucket}/{}", encode_copy_source(key)))
            .send()
            .await
            .map_err(|e| self.cloud.error(self.call("s3", "CopyObject"), e))?;
        self.s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.cloud.error(self.call("s3", "DeleteObject"), e))?;
        Ok(Replay::Done { records })
    }
}

/// The invocation payload of a failure record and how many records it holds.
pub fn read_failure_record(body: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let record: FailureRecord = serde_json::from_slice(body)
        .map_err(|e| format!("not a failure record of a stream mapping: {e}"))?;
    let Some(payload) = record.payload else {
        let unknown = || "?".to_owned();
        let batch = record.batch.as_ref();
        let field = |pick: fn(&BatchInfo) -> Option<&String>| {
            batch.and_then(pick).cloned().unwrap_or_else(unknown)
        };
        return Err(format!(
            "it has no `payload`, so not the records' data: {} record(s) of {} {} from sequence number {} to {}, which the stream holds only until its retention runs out (read them back with GetShardIterator AT_SEQUENCE_NUMBER and GetRecords before then)",
            batch
                .and_then(|b| b.batch_size)
                .map_or_else(unknown, |n| n.to_string()),
            field(|b| b.stream_arn.as_ref()),
            field(|b| b.shard_id.as_ref()),
            field(|b| b.start_sequence_number.as_ref()),
            field(|b| b.end_sequence_number.as_ref()),
        ));
    };
    let event: serde_json::Value = serde_json::from_str(&payload)
        .map_err(|e| format!("its `payload` is not the invocation's JSON event: {e}"))?;
    let records = event
        .get("Records")
        .and_then(serde_json::Value::as_array)
        .map(Vec::len)
        .ok_or("its `payload` has no `Records`: not a Kinesis event")?;
    Ok((payload.into_bytes(), records))
}

/// Whether a stream function's answer reports no unfinished record.
pub fn all_taken(answer: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(answer)
        .ok()
        .and_then(|value| {
            value
                .get("batchItemFailures")
                .and_then(serde_json::Value::as_array)
                .map(Vec::is_empty)
        })
        .unwrap_or(false)
}

/// A key as `CopyObject`'s source wants it: URL-encoded, `/` kept.
fn encode_copy_source(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Lambda developer guide, with a payload of two records.
    const RECORD: &str = r#"{
        "requestContext": {"requestId": "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
            "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
            "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0", "timestamp": "2019-11-14T00:38:06.021Z",
        "KinesisBatchInfo": {"shardId": "shardId-000000000001",
            "startSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
            "endSequenceNumber": "49601189658422359378836298522902373528957594348623495186",
            "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
            "approximateArrivalOfLastRecord": "2019-11-14T00:38:05.580Z",
            "batchSize": 2, "streamArn": "arn:aws:kinesis:us-east-2:123456789012:stream/mystream"},
        "payload": "{\"Records\":[{\"kinesis\":{\"data\":\"e30=\"}},{\"kinesis\":{\"data\":\"e30=\"}}]}"
    }"#;

    #[test]
    fn a_failure_record_gives_back_the_invocation_payload() {
        let (payload, records) = read_failure_record(RECORD.as_bytes()).unwrap();
        assert_eq!(records, 2);
        assert!(payload.starts_with(br#"{"Records":[{"kinesis""#));
        let metadata_only = RECORD.replace(r#""payload""#, r#""other""#);
        let why = read_failure_record(metadata_only.as_bytes()).unwrap_err();
        assert!(why.contains("no `payload`"), "{why}");
        assert!(
            why.contains("2 record(s) of arn:aws:kinesis:us-east-2:123456789012:stream/mystream shardId-000000000001 from sequence number 49601189658422359378836298521827638475320189012309704722 to 49601189658422359378836298522902373528957594348623495186"),
            "{why}"
        );
        assert!(read_failure_record(b"{}").is_err());
    }

    #[test]
    fn only_an_answer_without_failures_counts_as_taken() {
        assert!(all_taken(r#"{"batchItemFailures":[]}"#));
        assert!(!all_taken(
            r#"{"batchItemFailures":[{"itemIdentifier":"1"}]}"#
        ));
        assert!(!all_taken(r#"{"errorType":"BadPayload"}"#));
        assert!(!all_taken("null"));
        assert_eq!(
            encode_copy_source("aws/lambda/u/s/2019-11-14T00.38.06-x y"),
            "aws/lambda/u/s/2019-11-14T00.38.06-x%20y"
        );
    }
}
