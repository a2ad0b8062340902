//! The lever's drain switches: one flag per region, kept in the secondary region and read by
//! Route 53's inverted string-match health checks (`docs/architecture.md#the-lever`).
//!
//! [`DrainSwitches`] is the one place that knows how a switch is stored: today an S3 object per
//! region in the secondary stack's switch bucket (outputs `SwitchObjectPrimary` /
//! `SwitchObjectSecondary`), drained when its body contains
//! [`SWITCH_SEARCH_STRING`]. A different mechanism (an alarm the lever sets, say) changes this
//! file only. Setting or reading a switch calls S3 in the secondary region and nothing else:
//! never Route 53's control plane, never the primary region.

use aws_sdk_s3::primitives::ByteStream;

use super::{Call, Cloud, CloudError};
use crate::plan::Role;
use crate::render::context::SWITCH_SEARCH_STRING;

/// The body of a switch that does not drain: it must not contain [`SWITCH_SEARCH_STRING`].
const RESTORED_BODY: &str = "drain=off\n";

/// The state of one region's switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchState {
    /// The region is drained: its health check reads unhealthy, Route 53 sends it nothing.
    Drained,
    /// Set and not drained.
    Restored,
    /// Never set: reads as not drained.
    Unset,
}

impl SwitchState {
    /// Whether the region is drained.
    pub fn is_drained(self) -> bool {
        self == SwitchState::Drained
    }

    /// `drained`, `not drained`, `not drained (never set)`.
    pub fn describe(self) -> &'static str {
        match self {
            SwitchState::Drained => "drained",
            SwitchState::Restored => "not drained",
            SwitchState::Unset => "not drained (never set)",
        }
    }
}

/// Where a switch lives: `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchLocation {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
}

impl SwitchLocation {
    /// Parses `s3://bucket/key`.
    pub fn parse(url: &str) -> Option<SwitchLocation> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/')?;
        (!bucket.is_empty() && !key.is_empty()).then(|| SwitchLocation {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// The output of the secondary stack that locates a role's switch.
pub fn output_key(role: Role) -> &'static str {
    match role {
        Role::Primary => "SwitchObjectPrimary",
        Role::Secondary => "SwitchObjectSecondary",
    }
}

/// Both regions' switches, in the secondary region.
#[derive(Debug, Clone)]
pub struct DrainSwitches<'a> {
    cloud: &'a Cloud,
    region: String,
    primary: SwitchLocation,
    secondary: SwitchLocation,
}

impl<'a> DrainSwitches<'a> {
    /// The switches, located by the secondary stack's outputs (read in `region`, the secondary
    /// region); `None` when an output is missing.
    pub fn from_outputs(
        cloud: &'a Cloud,
        region: &str,
        outputs: &std::collections::BTreeMap<String, String>,
    ) -> Option<DrainSwitches<'a>> {
        let locate = |role| {
            outputs
                .get(output_key(role))
                .and_then(|url| SwitchLocation::parse(url))
        };
        Some(DrainSwitches {
            cloud,
            region: region.to_owned(),
            primary: locate(Role::Primary)?,
            secondary: locate(Role::Secondary)?,
        })
    }

    /// Where `role`'s switch is.
    pub fn location(&self, role: Role) -> &SwitchLocation {
        match role {
            Role::Primary => &self.primary,
            Role::Secondary => &self.secondary,
        }
    }

    /// Reads `role`'s switch.
    pub async fn read(&self, role: Role) -> Result<SwitchState, CloudError> {
        let location = self.location(role);
        let call = || Call::new("s3", "GetObject", &self.region);
        let object = match self
            .cloud
            .s3(&self.region)
            .get_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(error) => {
                let error = self.cloud.error(call(), error);
                return if error.service_code() == Some("NoSuchKey") {
                    Ok(SwitchState::Unset)
                } else {
                    Err(error)
                };
            }
        };
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| CloudError::Unexpected {
                call: call().to_string(),
                what: format!("reading s3://{}/{}: {e}", location.bucket, location.key),
            })?
            .into_bytes();
        Ok(state_of(&body))
    }

    /// Sets `role`'s switch; `who` is recorded in the object's metadata.
    pub async fn set(&self, role: Role, drained: bool, who: &str) -> Result<(), CloudError> {
        let location = self.location(role);
        let body = if drained {
            format!("{SWITCH_SEARCH_STRING}\n")
        } else {
            RESTORED_BODY.to_owned()
        };
        self.cloud
            .s3(&self.region)
            .put_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .content_type("text/plain")
            .metadata("set-by", who)
            .body(ByteStream::from(body.into_bytes()))
            .send()
            .await
            .map_err(|e| {
                self.cloud
                    .error(Call::new("s3", "PutObject", &self.region), e)
            })?;
        Ok(())
    }
}

/// How the health checkers read a switch's body: drained when it contains the search string.
pub fn state_of(body: &[u8]) -> SwitchState {
    let needle = SWITCH_SEARCH_STRING.as_bytes();
    if body.windows(needle.len()).any(|window| window == needle) {
        SwitchState::Drained
    } else {
        SwitchState::Restored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_read_as_the_health_checkers_read_them() {
        assert_eq!(
            state_of(format!("{SWITCH_SEARCH_STRING}\n").as_bytes()),
            SwitchState::Drained
        );
        assert_eq!(state_of(RESTORED_BODY.as_bytes()), SwitchState::Restored);
        assert_eq!(state_of(b""), SwitchState::Restored);
    }

    #[test]
    fn locations_parse_from_the_outputs() {
        assert_eq!(
            SwitchLocation::parse("s3://b-switch/switch/primary"),
            Some(SwitchLocation {
                bucket: "b-switch".into(),
                key: "switch/primary".into()
            })
        );
        assert_eq!(SwitchLocation::parse("https://x/y"), None);
        assert_eq!(SwitchLocation::parse("s3://bucket"), None);
    }
}
