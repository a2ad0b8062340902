//! Record formats and object keys (`docs/architecture.md#records-and-keys`).
//!
//! - **Good line**: the event exactly as received, with an `ingest` member appended before its
//!   closing brace: `{...the event...,"ingest":{"received_at":"2020-11-25T13:15:02.125Z","region":"us-east-1","via":"direct"}}`.
//!   The event's bytes are not re-serialized; only raw line breaks (which JSON allows only as
//!   whitespace between tokens) become spaces, so each event stays on one NDJSON line. Athena
//!   reads `ingest` as `struct<received_at,region,via>` next to the CloudEvents attributes.
//! - **Quarantine line**: [`QuarantineLine`]: the reason kind, every violation, the event type
//!   when it could be read, the origin (region, shard, sequence, via), `received_at`, and the
//!   original bytes (text when UTF-8, else base64, told by `original_encoding`).
//! - **Keys**: `events/type=<type>/dt=YYYY-MM-DD/hr=HH/<region>-<shard>-<first-seq>-<content>.json.gz`
//!   and `dt=YYYY-MM-DD/hr=HH/<region>-<shard>-<first-seq>-<content>.json.gz`, from the origin
//!   and arrival time of the records, never from the clock of the handler, so a retried batch
//!   writes the same keys. Lines are grouped by (type, hour, origin region, origin shard);
//!   `<first-seq>` is the lowest sequence number of the group. `<content>` ([`content_tag`]) is
//!   a digest of the group's lines: `<region>-<shard>-<first-seq>` alone is
//!   not unique, because two different groups can start at the same record (a batch retried
//!   from a failure point and, through the bridge, spool objects that overlap after a receiver
//!   retry); without the digest the later write would replace the earlier object and lose the
//!   records only it held. Identical content still gets the identical key, so retries stay
//!   idempotent.
//! - **Spool line** ([`SpoolRecord`]): what the receiver puts into Firehose for each record
//!   of the secondary stream: its origin and its bytes in base64 (exact, and of a size known in
//!   advance), one JSON object per line (Firehose concatenates records:
//!   `docs/traps.md#firehose-putrecordbatch`).
//! - **Bridge request** ([`BridgeRequest`]): one chunk of a spool object, sent by the bridge to
//!   the primary validator with `Invoke`; the answer is a [`BridgeResponse`].

use std::cmp::Ordering;
use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::check::Violation;
use crate::envelope::Reason;
use crate::json::{Kind, Parser};

/// How a record reached the validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// From the primary's own stream.
    Direct,
    /// Through the secondary region's spool and the bridge.
    Bridge,
}

impl Via {
    /// `direct` or `bridge`.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Direct => "direct",
            Via::Bridge => "bridge",
        }
    }
}

/// Where a record entered the system: the stream record it arrived as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The region of the stream.
    pub region: String,
    /// The shard (`shardId-000000000003`).
    pub shard: String,
    /// The record's sequence number.
    pub sequence: String,
    /// The stream's arrival time (`ApproximateArrivalTimestamp`).
    pub arrival: DateTime<Utc>,
}

/// Reads a Kinesis event as Lambda delivers it (JSON), with exact arrival times.
///
/// `aws_lambda_events` (1.2) reads `approximateArrivalTimestamp` through the float's shortest
/// text and takes the digits after the point as milliseconds, so `…650.98` becomes 98 ms
/// instead of 980 ms and `…650.5` 5 ms. The arrival time is `received_at` of every good line,
/// so each record's time is read again here from the same JSON number, rounded to the
/// millisecond Kinesis gives.
pub fn parse_kinesis_event(
    payload: &[u8],
) -> Result<aws_lambda_events::event::kinesis::KinesisEvent, serde_json::Error> {
    #[derive(Deserialize)]
    struct Arrivals {
        #[serde(rename = "Records", default)]
        records: Vec<ArrivalRecord>,
    }
    #[derive(Deserialize)]
    struct ArrivalRecord {
        kinesis: ArrivalKinesis,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ArrivalKinesis {
        approximate_arrival_timestamp: Seconds,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(f64),
        Text(String),
    }

    let mut event: aws_lambda_events::event::kinesis::KinesisEvent =
        serde_json::from_slice(payload)?;
    let arrivals: Arrivals = serde_json::from_slice(payload)?;
    for (record, arrival) in event.records.iter_mut().zip(arrivals.records) {
        let seconds = match arrival.kinesis.approximate_arrival_timestamp {
            Seconds::Number(seconds) => seconds,
            Seconds::Text(text) => text.trim().parse().map_err(serde::de::Error::custom)?,
        };
        // f64 holds today's epoch seconds to about 0.2 microseconds: rounding is exact.
        let millis = (seconds * 1000.0).round();
        let time = DateTime::from_timestamp_millis(millis as i64)
            .filter(|_| millis.is_finite())
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "approximateArrivalTimestamp {seconds} is not a time"
                ))
            })?;
        record.kinesis.approximate_arrival_timestamp.0 = time;
    }
    Ok(event)
}

/// An RFC 3339 UTC timestamp with milliseconds (`2020-11-25T13:15:02.125Z`): fixed width, so
/// it sorts as text.
pub fn timestamp(time: DateTime<Utc>) -> String {
    // Written field by field: chrono's `format` parses its pattern on every call, and this
    // runs once per record.
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        time.year(),
        time.month(),
        time.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.timestamp_subsec_millis().min(999)
    )
}

/// Reads an RFC 3339 timestamp.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The partition path of an arrival time: `dt=YYYY-MM-DD/hr=HH`.
pub fn partition(time: DateTime<Utc>) -> String {
    format!(
        "dt={:04}-{:02}-{:02}/hr={:02}",
        time.year(),
        time.month(),
        time.day(),
        time.hour()
    )
}

/// A digest of an object's uncompressed lines (64 bits, in hex): the last part of its key, so
/// objects with different contents never share a key.
///
/// The lines are read eight bytes at a time, each word mixed in by a multiply and a shift, and
/// the length last: a stable hash (the same on every machine and release, unlike std's) that
/// costs about a millisecond for a 5 MB object, where byte-at-a-time FNV cost several.
/// It needs no resistance to attack: only groups that start at the same record of the same
/// shard ever compete for a key. [`ContentTag`] computes the same digest line by line.
pub fn content_tag(lines: &[u8]) -> String {
    let mut tag = ContentTag::default();
    tag.update(lines);
    tag.finish()
}

/// [`content_tag`] fed piece by piece, as lines are written: the digest of the concatenation.
#[derive(Debug, Clone)]
pub struct ContentTag {
    hash: u64,
    tail: [u8; 8],
    tail_len: usize,
    len: u64,
}

impl Default for ContentTag {
    fn default() -> Self {
        ContentTag {
            hash: 0xcbf2_9ce4_8422_2325,
            tail: [0; 8],
            tail_len: 0,
            len: 0,
        }
    }
}

impl ContentTag {
    const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

    #[inline]
    fn mix(hash: u64, word: u64) -> u64 {
        let hash = (hash ^ word).wrapping_mul(Self::MULTIPLIER);
        hash ^ (hash >> 29)
    }

    /// Adds bytes.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.tail_len > 0 {
            let take = (8 - self.tail_len).min(bytes.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&bytes[..take]);
            self.tail_len += take;
            bytes = &bytes[take..];
            if self.tail_len < 8 {
                return;
            }
            self.hash = Self::mix(self.hash, u64::from_le_bytes(self.tail));
            self.tail_len = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut full = [0u8; 8];
            full.copy_from_slice(word);
            self.hash = Self::mix(self.hash, u64::from_le_bytes(full));
        }
        let rest = words.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    /// The digest, in hex.
    pub fn finish(&self) -> String {
        let mut tail = [0u8; 8];
        tail[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
        let hash = Self::mix(self.hash, u64::from_le_bytes(tail));
        let hash = Self::mix(hash, self.len);
        format!("{hash:016x}")
    }
}

/// The key of a good object holding `lines`.
pub fn good_key(
    type_name: &str,
    arrival: DateTime<Utc>,
    region: &str,
    shard: &str,
    first_sequence: &str,
    lines: &[u8],
) -> String {
    good_key_tagged(
        type_name,
        arrival,
        region,
        shard,
        first_sequence,
        &content_tag(lines),
    )
}

/// [`good_key`] with the lines' [`content_tag`] computed already.
pub fn good_key_tagged(
    type_name: &str,
    arrival: DateTime<Utc>,
    region: &str,
    shard: &str,
    first_sequence: &str,
    tag: &str,
) -> String {
    format!(
        "events/type={type_name}/{}/{region}-{shard}-{first_sequence}-{tag}.json.gz",
        partition(arrival)
    )
}

/// The key of a quarantine object holding `lines`.
pub fn quarantine_key(
    arrival: DateTime<Utc>,
    region: &str,
    shard: &str,
    first_sequence: &str,
    lines: &[u8],
) -> String {
    quarantine_key_tagged(arrival, region, shard, first_sequence, &content_tag(lines))
}

/// [`quarantine_key`] with the lines' [`content_tag`] computed already.
pub fn quarantine_key_tagged(
    arrival: DateTime<Utc>,
    region: &str,
    shard: &str,
    first_sequence: &str,
    tag: &str,
) -> String {
    format!(
        "{}/{region}-{shard}-{first_sequence}-{tag}.json.gz",
        partition(arrival)
    )
}

/// Compares sequence numbers (decimal strings of any length) by value.
pub fn compare_sequences(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The shard of a Kinesis record from its `eventID` (`shardId-000000000000:4959...`).
pub fn shard_of_event_id(event_id: &str) -> &str {
    event_id
        .split_once(':')
        .map_or(event_id, |(shard, _)| shard)
}

/// Where a line of a batch came from, as written in quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginField {
    /// Region of the stream.
    pub region: String,
    /// Shard.
    pub shard: String,
    /// Sequence number.
    pub sequence: String,
    /// `direct` or `bridge`.
    pub via: Via,
}

/// One violation as written in quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationField {
    /// JSON pointer (relative to the event).
    pub pointer: String,
    /// Schema keyword (or `cloudevents`, `json`, `size`).
    pub keyword: String,
    /// What is wrong.
    pub message: String,
}

impl From<&Violation> for ViolationField {
    fn from(v: &Violation) -> Self {
        ViolationField {
            pointer: v.pointer.clone(),
            keyword: v.keyword.to_owned(),
            message: v.message.clone(),
        }
    }
}

/// One line of a quarantine object (the columns of the quarantine table, plus `event_index`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineLine {
    /// The reason kind: `not_json`, `bad_envelope`, `unknown_type`, `schema_violation`, `too_large`.
    pub kind: String,
    /// Every violation.
    pub violations: Vec<ViolationField>,
    /// The CloudEvents `type`, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Where the record came from.
    pub origin: OriginField,
    /// The record's arrival time.
    pub received_at: String,
    /// The original bytes: text when UTF-8, else base64.
    pub original: String,
    /// `utf8` or `base64`.
    pub original_encoding: String,
    /// For an event of a batch record: its index in the array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_index: Option<usize>,
}

impl QuarantineLine {
    /// A line for rejected bytes.
    pub fn new(
        reason: Reason,
        violations: &[Violation],
        original: &[u8],
        origin: &Origin,
        via: Via,
    ) -> Self {
        Self::of_kind(reason.as_str(), violations, original, origin, via)
    }

    /// A line of any reason kind, the pipeline's own included (`unqueryable`...). At most
    /// [`MAX_VIOLATIONS_PER_LINE`] violations are written, each message at most
    /// [`MAX_MESSAGE_BYTES`]; the rest are summed up in one more violation.
    pub fn of_kind(
        kind: &str,
        violations: &[Violation],
        original: &[u8],
        origin: &Origin,
        via: Via,
    ) -> Self {
        let (original, original_encoding) = encode_original(original);
        let mut fields: Vec<ViolationField> = violations
            .iter()
            .take(MAX_VIOLATIONS_PER_LINE)
            .map(ViolationField::from)
            .collect();
        for field in &mut fields {
            shorten_message(&mut field.message);
        }
        if violations.len() > MAX_VIOLATIONS_PER_LINE {
            fields.push(ViolationField {
                pointer: String::new(),
                keyword: "violations".to_owned(),
                message: format!(
                    "and {} more violations, not listed",
                    violations.len() - MAX_VIOLATIONS_PER_LINE
                ),
            });
        }
        QuarantineLine {
            kind: kind.to_owned(),
            violations: fields,
            event_type: None,
            origin: OriginField {
                region: origin.region.clone(),
                shard: origin.shard.clone(),
                sequence: origin.sequence.clone(),
                via,
            },
            received_at: timestamp(origin.arrival),
            original,
            original_encoding: original_encoding.to_owned(),
            event_index: None,
        }
    }

    /// The original bytes, decoded.
    pub fn original_bytes(&self) -> Option<Vec<u8>> {
        match self.original_encoding.as_str() {
            "base64" => BASE64.decode(&self.original).ok(),
            _ => Some(self.original.clone().into_bytes()),
        }
    }
}

/// Violations written per quarantine line; the rest are counted in one more.
pub const MAX_VIOLATIONS_PER_LINE: usize = 16;
/// Longest violation message written, in bytes; a longer one is cut at a character boundary.
pub const MAX_MESSAGE_BYTES: usize = 256;

/// Cuts a message to [`MAX_MESSAGE_BYTES`], marking the cut.
fn shorten_message(message: &mut String) {
    if message.len() <= MAX_MESSAGE_BYTES {
        return;
    }
    let mut end = MAX_MESSAGE_BYTES - 3;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message.truncate(end);
    message.push_str("...");
}

/// Text when the bytes are UTF-8 and their JSON string is no longer than base64 would be,
/// else base64; with the encoding's name. Control characters take 6 bytes each in a JSON
/// string (`\u0001`), so a record of them is written as base64: an original never costs more
/// than 4/3 of its bytes (plus quotes).
pub fn encode_original(bytes: &[u8]) -> (String, &'static str) {
    match std::str::from_utf8(bytes) {
        Ok(text) if escaped_len(text) <= bytes.len().div_ceil(3) * 4 => (text.to_owned(), "utf8"),
        _ => (BASE64.encode(bytes), "base64"),
    }
}

/// The length of `text` as the inside of a JSON string (as serde_json escapes it).
fn escaped_len(text: &str) -> usize {
    text.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// The top-level facts of an event that the pipeline needs: its `type`, `source` and `id`,
/// and where its `data` is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFields {
    /// CloudEvents `type`.
    pub type_name: Option<String>,
    /// CloudEvents `source`.
    pub source: Option<String>,
    /// CloudEvents `id`.
    pub id: Option<String>,
    /// The byte range of `data`'s value in the event.
    pub data: Option<(usize, usize)>,
}

/// Reads the top-level members of an event object (without validating it).
pub fn event_fields(event: &[u8]) -> EventFields {
    let mut fields = EventFields::default();
    let mut p = Parser::new(event);
    let read = (|| {
        p.begin_object()?;
        let mut first = true;
        while let Some(key) = p.next_key(&mut first)? {
            let slot = match key.as_ref() {
                "type" => Some(&mut fields.type_name),
                "source" => Some(&mut fields.source),
                "id" => Some(&mut fields.id),
                "data" => {
                    p.peek()?;
                    let start = p.offset();
                    p.skip_value()?;
                    fields.data = Some((start, p.offset()));
                    continue;
                }
                _ => None,
            };
            match slot {
                Some(slot) if p.peek()? == Kind::String => {
                    *slot = Some(p.parse_str()?.into_owned())
                }
                _ => p.skip_value()?,
            }
        }
        Ok::<(), crate::json::Error>(())
    })();
    let _ = read;
    fields
}

/// Appends the good line of a valid event (see the module documentation) and a newline.
pub fn push_good_line(out: &mut Vec<u8>, event: &[u8], received_at: &str, region: &str, via: Via) {
    let event = event.trim_ascii();
    let body = event.strip_suffix(b"}").unwrap_or(event);
    out.extend(
        body.iter()
            .map(|b| if matches!(b, b'\n' | b'\r') { b' ' } else { *b }),
    );
    out.extend_from_slice(b",\"ingest\":{\"received_at\":");
    push_json_string(out, received_at);
    out.extend_from_slice(b",\"region\":");
    push_json_string(out, region);
    out.extend_from_slice(b",\"via\":\"");
    out.extend_from_slice(via.as_str().as_bytes());
    out.extend_from_slice(b"\"}}\n");
}

/// Splits a good line into the event as received (line breaks as spaces) and its `ingest`
/// member; `None` when the line does not end with one.
pub fn split_good_line(line: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let line = line.trim_ascii_end();
    let marker = b",\"ingest\":{\"received_at\":";
    let at = line.windows(marker.len()).rposition(|w| w == marker)?;
    let mut event = line[..at].to_vec();
    event.push(b'}');
    Some((event, &line[at + 1..line.len() - 1]))
}

fn push_json_string(out: &mut Vec<u8>, text: &str) {
    let encoded = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned());
    out.extend_from_slice(encoded.as_bytes());
}

/// The spool line of one record of the secondary stream (written by the receiver).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolRecord {
    /// Region of the secondary stream.
    pub region: String,
    /// Shard.
    pub shard: String,
    /// Sequence number.
    pub sequence: String,
    /// Arrival time in the secondary stream (RFC 3339).
    pub arrival: String,
    /// The record's bytes, base64.
    pub data: String,
    /// Set when the record was too large to travel whole through Firehose: its size in bytes;
    /// `data` then holds only its beginning and the validator quarantines it as `too_large`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated_from: Option<u64>,
    /// Set when Firehose refused the record itself as invalid: why. `data` holds its beginning
    /// (and `truncated_from` its size); the validator quarantines it as `unspoolable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

impl SpoolRecord {
    /// The spool record of a stream record.
    pub fn new(origin: &Origin, data: &[u8]) -> Self {
        SpoolRecord {
            region: origin.region.clone(),
            shard: origin.shard.clone(),
            sequence: origin.sequence.clone(),
            arrival: timestamp(origin.arrival),
            data: BASE64.encode(data),
            truncated_from: None,
            refused: None,
        }
    }

    /// The line (JSON and a newline).
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }

    /// The origin, or `None` when the arrival time is unreadable.
    pub fn origin(&self) -> Option<Origin> {
        Some(Origin {
            region: self.region.clone(),
            shard: self.shard.clone(),
            sequence: self.sequence.clone(),
            arrival: parse_timestamp(&self.arrival)?,
        })
    }

    /// The record's bytes, or `None` when `data` is not base64.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        BASE64.decode(&self.data).ok()
    }
}

/// The bridge's `Invoke` payload: one chunk of a spool object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeRequest {
    /// The chunk.
    pub ingest_bridge: BridgeChunk,
}

/// One chunk of a spool object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeChunk {
    /// The spool bucket.
    pub bucket: String,
    /// The spool object's key.
    pub key: String,
    /// The chunk's index in the object (chunks are cut the same way every time).
    pub chunk: usize,
    /// The index in chunk `chunk` of the first of `lines`: a chunk the bridge split after the
    /// validator failed on it is sent in parts, and each line keeps its place (a line that is
    /// not a spool record gets its origin from it, the same in a part as in the whole chunk).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub first_line: usize,
    /// When the spool object was written (the notification's `eventTime`): the arrival time of
    /// lines whose own cannot be read.
    pub spooled_at: String,
    /// Whole spool lines (NDJSON), base64.
    pub lines: String,
    /// Set when the validator failed on these lines alone, again and again (or a line is too
    /// long for one invoke, and `lines` holds its beginning): the validator does not judge
    /// them but quarantines each as `unprocessable` with this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unprocessable: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The validator's answer to a [`BridgeRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeResponse {
    /// Spool lines in the chunk.
    pub records: usize,
    /// Events written to good.
    pub good: usize,
    /// Lines written to quarantine.
    pub quarantined: usize,
    /// Indices of the lines that could not be finished (an infrastructure failure); the bridge
    /// retries the chunk when this is not empty.
    pub unfinished: Vec<usize>,
}

/// Gzips bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4 + 64),
        flate2::Compression::default(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Gunzips bytes that start with the gzip magic number (every member of a multi-member file);
/// returns other bytes unchanged (moto ignores Firehose's GZIP setting).
pub fn gunzip_if_gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

/// Decodes an object key as S3 notifications carry it: URL-encoded, with `+` for spaces.
pub fn decode_s3_key(key: &str) -> String {
    let plus_as_space = key.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8_lossy()
        .into_owned()
}

/// Encodes an object key as S3 notifications do (everything but unreserved characters and `/`).
pub fn encode_s3_key(key: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(key, SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2020, 11, 25, 13, 5, 9).unwrap() + chrono::Duration::milliseconds(42)
    }

    #[test]
    fn kinesis_arrival_times_keep_their_milliseconds() {
        let payload = |arrival: &str| {
            format!(
                r#"{{"Records":[{{"kinesis":{{"kinesisSchemaVersion":"1.0","partitionKey":"p","sequenceNumber":"1","data":"e30=","approximateArrivalTimestamp":{arrival}}},"eventSource":"aws:kinesis","eventID":"shardId-000000000000:1","awsRegion":"us-east-1"}}]}}"#
            )
        };
        for (arrival, millis) in [
            ("1606310709.98", 980),
            ("1606310709.5", 500),
            ("1606310709.010", 10),
            ("1606310709.042", 42),
            ("1606310709", 0),
            ("1.606310709999E9", 999),
            ("\"1606310709.25\"", 250),
        ] {
            let event = parse_kinesis_event(payload(arrival).as_bytes()).unwrap();
            let time = event.records[0].kinesis.approximate_arrival_timestamp.0;
            assert_eq!(time.timestamp(), 1_606_310_709, "{arrival}");
            assert_eq!(time.timestamp_subsec_millis(), millis, "{arrival}");
        }
        assert!(parse_kinesis_event(b"{\"Records\":[{}]}").is_err());
    }

    #[test]
    fn keys_follow_design_section_7() {
        assert_eq!(
            good_key(
                "shift.created",
                at(),
                "us-east-1",
                "shardId-000000000003",
                "4959",
                b"{}\n"
            ),
            format!(
                "events/type=shift.created/dt=2020-11-25/hr=13/us-east-1-shardId-000000000003-4959-{}.json.gz",
                content_tag(b"{}\n")
            )
        );
        assert_eq!(
            quarantine_key(at(), "us-west-2", "s", "1", b"x\n"),
            format!(
                "dt=2020-11-25/hr=13/us-west-2-s-1-{}.json.gz",
                content_tag(b"x\n")
            )
        );
        // Same lines, same key (retries are idempotent); other lines, another key.
        assert_eq!(content_tag(b"a\n"), content_tag(b"a\n"));
        assert_ne!(content_tag(b"a\n"), content_tag(b"a\nb\n"));
        assert_eq!(content_tag(b"").len(), 16);
        // Zero padding of the last word and the length are both part of the digest.
        assert_ne!(content_tag(b"a"), content_tag(b"a\0"));
        assert_ne!(content_tag(b""), content_tag(b"\0\0\0\0\0\0\0\0"));
        assert_ne!(content_tag(b"12345678a"), content_tag(b"12345678b"));
        assert_eq!(timestamp(at()), "2020-11-25T13:05:09.042Z");
        assert_eq!(parse_timestamp("2020-11-25T13:05:09.042Z"), Some(at()));
    }

    #[test]
    fn good_lines_keep_the_event_bytes() {
        let event = b" {\"id\":\"1\",\n \"data\":{\"a\": [1, 2]}}\n";
        let mut out = Vec::new();
        push_good_line(
            &mut out,
            event,
            "2020-11-25T13:05:09.042Z",
            "us-east-1",
            Via::Bridge,
        );
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(
            text,
            "{\"id\":\"1\",  \"data\":{\"a\": [1, 2]},\"ingest\":{\"received_at\":\"2020-11-25T13:05:09.042Z\",\"region\":\"us-east-1\",\"via\":\"bridge\"}}\n"
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["ingest"]["via"], "bridge");
        let (back, ingest) = split_good_line(&out).unwrap();
        assert_eq!(back, b"{\"id\":\"1\",  \"data\":{\"a\": [1, 2]}}");
        assert!(ingest.starts_with(b"\"ingest\":{"));
    }

    #[test]
    fn sequences_compare_by_value() {
        assert_eq!(compare_sequences("9", "10"), Ordering::Less);
        assert_eq!(compare_sequences("0010", "10"), Ordering::Equal);
        assert_eq!(
            compare_sequences(
                "49590338271490256608559692538361571095921575989136588898",
                "49590338271490256608559692538361571095921575989136588899"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn s3_keys_round_trip() {
        let key = "spool/dt=2020-11-25/hr=13/wiw events-1.gz";
        let encoded = encode_s3_key(key);
        assert_eq!(encoded, "spool/dt%3D2020-11-25/hr%3D13/wiw%20events-1.gz");
        assert_eq!(decode_s3_key(&encoded), key);
        assert_eq!(decode_s3_key("spool%2Fa+b.gz"), "spool/a b.gz");
    }

    #[test]
    fn fields_and_gzip() {
        let fields =
            event_fields(br#"{"type":"a.b","data":{"type":"x"},"source":"s","id":"7","ingest":1}"#);
        assert_eq!(fields.type_name.as_deref(), Some("a.b"));
        assert_eq!(fields.source.as_deref(), Some("s"));
        assert_eq!(fields.id.as_deref(), Some("7"));
        let mut two = gzip(b"a\n");
        two.extend(gzip(b"b\n"));
        assert_eq!(gunzip_if_gzip(&two).unwrap(), b"a\nb\n");
        assert_eq!(gunzip_if_gzip(b"plain").unwrap(), b"plain");
        let line = QuarantineLine::new(
            Reason::NotJson,
            &[],
            &[0xff, 0x00],
            &Origin {
                region: "r".into(),
                shard: "s".into(),
                sequence: "1".into(),
                arrival: at(),
            },
            Via::Direct,
        );
        assert_eq!(line.original_encoding, "base64");
        assert_eq!(line.original_bytes().unwrap(), vec![0xff, 0x00]);
    }
}
