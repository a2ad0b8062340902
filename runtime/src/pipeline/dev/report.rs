//! What a run says: the banner, a line per handler batch, and the summary when it stops.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Serialize;

use super::super::local::{BatchLog, PipelineSettings, Role, Stage};
use super::{DevAddresses, DevConfig};

/// Requests answered, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// Accepted (200), by region role.
    pub accepted: std::collections::BTreeMap<String, u64>,
    /// Refused with 413: over `api.max_event_bytes`.
    pub too_large: u64,
    /// Refused with 400: an empty or unreadable body.
    pub bad_request: u64,
    /// Refused with 415: a content type without a mapping template.
    pub unsupported_media_type: u64,
    /// Refused with 503: the region's stream is down.
    pub unavailable: u64,
}

/// What is left when `ingest dev` stops: all zero when everything accepted was delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// Records the validator has not processed.
    pub primary_stream: usize,
    /// Records the receiver has not processed.
    pub secondary_stream: usize,
    /// Records buffered in the spool.
    pub spool_buffered: usize,
    /// Spool notifications the bridge has not finished.
    pub queue_messages: usize,
    /// Spool notifications in the DLQ (their objects stay in the spool bucket).
    pub dead_letters: usize,
    /// Records the primary's mapping sent to its on-failure destination.
    pub parked: usize,
}

impl Pending {
    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        *self == Pending::default()
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DevSummary {
    /// Requests answered.
    pub requests: RequestCounts,
    /// Handler invocations.
    pub batches: u64,
    /// Good lines written (a retried batch writes its lines again).
    pub good: u64,
    /// Quarantine lines written.
    pub quarantined: u64,
    /// Spool objects written.
    pub spool_objects: u64,
    /// What is left.
    pub pending: Pending,
    /// Where the buckets are.
    pub out: PathBuf,
}

impl DevSummary {
    /// Whether everything accepted reached good or quarantine.
    pub fn delivered(&self) -> bool {
        self.pending.is_empty()
    }

    /// The summary as printed when `ingest dev` stops.
    pub fn render(&self) -> String {
        let r = &self.requests;
        let accepted: u64 = r.accepted.values().sum();
        let by_role: Vec<String> = r.accepted.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let refused = r.too_large + r.bad_request + r.unsupported_media_type;
        let mut text = format!(
            "stopped: {} accepted ({}), {refused} refused ({} too large, {} bad, {} unsupported media type), {} unavailable\n",
            count(accepted, "request"),
            if by_role.is_empty() {
                "none".to_owned()
            } else {
                by_role.join(", ")
            },
            r.too_large,
            r.bad_request,
            r.unsupported_media_type,
            r.unavailable,
        );
        text.push_str(&format!(
            "wrote: {}, {}, {} in {}, under {}\n",
            count(self.good, "good line"),
            count(self.quarantined, "quarantine line"),
            count(self.spool_objects, "spool object"),
            count(self.batches, "handler batch"),
            self.out.display()
        ));
        if self.delivered() {
            text.push_str("delivered: everything accepted is in good or quarantine\n");
        } else {
            let p = &self.pending;
            let parts: Vec<String> = [
                (p.primary_stream, "records in the primary's stream"),
                (p.secondary_stream, "records in the secondary's stream"),
                (p.spool_buffered, "records in the spool's buffer"),
                (p.queue_messages, "spool notifications in the queue"),
                (p.dead_letters, "spool notifications in the DLQ"),
                (p.parked, "records parked by the primary's mapping"),
            ]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
            text.push_str(&format!("not delivered: {}\n", parts.join(", ")));
        }
        text
    }
}

/// `1 request`, `2 requests`, `1 handler batch`, `2 handler batches`.
fn count(n: u64, what: &str) -> String {
    let plural = if what.ends_with("ch") { "es" } else { "s" };
    format!("{n} {what}{}", if n == 1 { "" } else { plural })
}

/// A handler batch as one log line (the time it started comes before it).
pub(super) fn batch_line(settings: &PipelineSettings, log: &BatchLog) -> String {
    let role = log.stage.role();
    let mut line = format!(
        "{} {} {}",
        settings.region(role).region,
        role.as_str(),
        log.stage.as_str()
    );
    if let Some(shard) = &log.shard {
        line.push(' ');
        line.push_str(shard);
    }
    match log.stage {
        Stage::Validator => line.push_str(&format!(
            ": records={} good={} quarantined={} failed={}",
            log.records, log.good, log.quarantined, log.failed
        )),
        Stage::Receiver => line.push_str(&format!(
            ": records={} spooled={} failed={}",
            log.records, log.spooled, log.failed
        )),
        Stage::Spool => line.push_str(&format!(": records={} object written", log.records)),
        Stage::Bridge => line.push_str(&format!(
            ": messages={} good={} quarantined={} failed={}",
            log.records, log.good, log.quarantined, log.failed
        )),
    }
    line.push_str(&format!(" {:.1}ms", log.duration.as_secs_f64() * 1000.0));
    if let Some(error) = &log.error {
        line.push_str(&format!(" ({error})"));
    }
    if let Some(seconds) = log.paced_seconds {
        line.push_str(&format!("; failed messages come back within {seconds} s"));
    }
    line
}

/// The banner printed when `ingest dev` is up.
pub fn banner(config: &DevConfig, addresses: &DevAddresses, out: &std::path::Path) -> String {
    let p = &config.pipeline;
    let url = |a: SocketAddr| format!("http://{a}");
    let mut text = format!(
        "ingest dev: {} on loopback; Ctrl-C stops, flushes the spool and drains\n",
        p.name
    );
    text.push_str(&format!(
        "  domain     {:<24} POST /events, GET /health: weighted {}/{} among regions in DNS; GET /lever, POST /lever/{{drain,restore,outage,recover}}/{{primary,secondary}} with X-Ingest-Lever: 1\n",
        url(addresses.domain),
        p.primary.weight,
        p.secondary.weight
    ));
    for role in Role::BOTH {
        let region = p.region(role);
        text.push_str(&format!(
            "  {:<10} {:<24} POST /events, GET /health: {}, {} shard{}\n",
            role.as_str(),
            url(addresses.region(role)),
            region.region,
            region.shards,
            if region.shards == 1 { "" } else { "s" }
        ));
    }
    text.push_str(&format!(
        "  buckets    {}/{{{}, {}, {}}}\n",
        out.display(),
        p.good_bucket(),
        p.quarantine_bucket(),
        p.spool_bucket()
    ));
    let retried = match &p.bridge_redelivery {
        Some(schedule) => format!(
            "after {} s, growing x{} to {} s ({} receives)",
            schedule.first_delay_seconds,
            schedule.growth,
            schedule.max_delay_seconds,
            schedule.max_receive_count
        ),
        None => format!("after {} s", p.visibility_timeout_seconds),
    };
    text.push_str(&format!(
        "  timing     the spool writes after {} s or {} MB; a failed bridge message is retried {retried}\n",
        p.spool_buffer_seconds, p.spool_buffer_mb
    ));
    text.push_str(&format!(
        "  try        curl -H 'content-type: application/json' --data @event.json {}/events\n",
        url(addresses.domain)
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_was_left() {
        let mut summary = DevSummary {
            out: PathBuf::from("out"),
            good: 1,
            batches: 2,
            ..DevSummary::default()
        };
        summary.requests.accepted.insert("primary".to_owned(), 1);
        summary.requests.too_large = 1;
        let text = summary.render();
        assert!(text.starts_with(
            "stopped: 1 request accepted (primary 1), 1 refused (1 too large, 0 bad, 0 unsupported media type), 0 unavailable\n"
        ));
        assert!(text.contains(
            "wrote: 1 good line, 0 quarantine lines, 0 spool objects in 2 handler batches, under out\n"
        ));
        assert!(summary.delivered());
        assert!(text.ends_with("delivered: everything accepted is in good or quarantine\n"));

        summary.pending.primary_stream = 3;
        summary.pending.dead_letters = 1;
        assert!(!summary.delivered());
        assert!(summary.render().ends_with(
            "not delivered: 3 records in the primary's stream, 1 spool notifications in the DLQ\n"
        ));
    }
}
