//! The drain switches as `ingest lever` writes them (`docs/security.md#the-lever`).
//!
//! A switch is an object `switch/<region>` in the secondary stack's switch bucket whose body is
//! [`SwitchBody`] as JSON. The lever's publisher (`ingest_runtime::pipeline::lever`) reads it
//! every minute and on every change, and publishes 1 (drained) or 0 as the metric the switch
//! alarms watch; Route 53's `CLOUDWATCH_METRIC` checks read those alarms' data. Only the
//! stack's operator role may write the objects (a `Deny` in the bucket policy for everyone
//! else), and nothing about them is reachable from the internet.
//!
//! This module is the writing side of the body's format and needs no AWS SDK; the reading
//! side is the publisher's (a test in the tests crate holds the two together).

use serde::{Deserialize, Serialize};

use crate::plan::Role;

/// The key of a region's switch in the switch bucket.
pub fn switch_key(role: Role) -> String {
    format!("switch/{}", role.as_str())
}

/// A switch object's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchBody {
    /// Whether the region is drained.
    pub drained: bool,
    /// Who set it (the command line that did).
    pub by: String,
    /// When, RFC 3339 in UTC: the publisher's tamper check measures from it.
    pub at: String,
}

impl SwitchBody {
    /// The JSON text of the body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a switch body serializes")
    }

    /// A body read back; `None` when it is not a lever switch (the publisher then publishes
    /// "not drained").
    pub fn parse(bytes: &[u8]) -> Option<SwitchBody> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_round_trips_and_junk_is_not_a_switch() {
        let body = SwitchBody {
            drained: true,
            by: "ingest lever drain primary".into(),
            at: "2026-12-01T10:00:00Z".into(),
        };
        assert_eq!(SwitchBody::parse(body.to_json().as_bytes()), Some(body));
        assert_eq!(SwitchBody::parse(b"drain=on\n"), None);
        assert_eq!(switch_key(Role::Secondary), "switch/secondary");
    }
}
