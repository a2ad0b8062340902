//! Kinesis streams.

use super::Problems;
use super::template::{Template, object, text};

/// Codes this file reports.
pub(super) const CODES: &[&str] = &["on-demand-stream-with-shard-count"];

pub(super) fn check_streams(t: &Template<'_>, problems: &mut Problems) {
    for stream in t.of_type("AWS::Kinesis::Stream") {
        let mode =
            object(stream.properties, "StreamModeDetails").and_then(|d| text(d, "StreamMode"));
        if mode == Some("ON_DEMAND") && stream.properties.contains_key("ShardCount") {
            problems.at(
                stream.id,
                "on-demand-stream-with-shard-count",
                "an ON_DEMAND stream takes no `ShardCount`; remove it or use PROVISIONED",
            );
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template_checks::test_support::cases;

    const ON_DEMAND: &str = r#"Resources:
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      StreamModeDetails:
        StreamMode: ON_DEMAND
"#;

    cases! {
        on_demand_stream_with_shard_count: "on-demand-stream-with-shard-count",
            format!("{ON_DEMAND}      ShardCount: 4\n"), ON_DEMAND;
    }
}
