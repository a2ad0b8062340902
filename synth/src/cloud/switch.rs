//! The lever's drain switches in AWS (`docs/security.md#the-lever`): one object per region in
//! the secondary stack's switch bucket, published by the lever's function as the metric whose
//! alarms Route 53's `CLOUDWATCH_METRIC` checks read.
//!
//! [`DrainSwitches`] is the one place that knows where a switch is and how its state shows:
//! the object (outputs `SwitchObjectPrimary` / `SwitchObjectSecondary`, body
//! [`SwitchBody`](crate::lever::SwitchBody)), the value last published for it
//! (`GetMetricData`) and its alarm (`DescribeAlarms`, outputs `PrimarySwitchAlarmName` /
//! `SecondarySwitchAlarmName`). Every call goes to the secondary region and nothing else:
//! never Route 53's control plane, never the primary region. Writing needs the stack's operator
//! role (output `LeverOperatorRoleArn`): the bucket policy denies every other principal, so
//! `ingest lever` assumes it ([`Cloud::assume_role`]) through the secondary region's STS.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::DateTime;

use super::{Call, Cloud, CloudError};
use crate::lever::SwitchBody;
use crate::plan::{LEVER_DIMENSION_PIPELINE, LEVER_DIMENSION_REGION, Plan, Role};

/// How far back `GetMetricData` looks for the last published value.
const PUBLISHED_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The state of one region's switch object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchState {
    /// The region is drained.
    Drained,
    /// Set, and not drained.
    Restored,
    /// Never set: reads as not drained.
    Unset,
    /// An object that is not a lever switch: the publisher publishes it as not drained.
    Unreadable,
}

impl SwitchState {
    /// Whether the switch drains its region.
    pub fn is_drained(self) -> bool {
        self == SwitchState::Drained
    }

    /// `drained`, `not drained`, ...
    pub fn describe(self) -> &'static str {
        match self {
            SwitchState::Drained => "drained",
            SwitchState::Restored => "not drained",
            SwitchState::Unset => "not drained (never set)",
            SwitchState::Unreadable => "not drained (the object is not a lever switch)",
        }
    }
}

/// A switch as read from its object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Switch {
    /// Its state.
    pub state: SwitchState,
    /// Who last set it, when set.
    pub by: Option<String>,
    /// When, when set.
    pub at: Option<String>,
}

/// The value the publisher last published for a switch.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Published {
    /// 1 drained, 0 not.
    pub value: f64,
    /// When (seconds since the epoch).
    pub at_epoch_seconds: i64,
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

/// The output of the secondary stack that locates a role's switch object.
pub fn output_key(role: Role) -> &'static str {
    match role {
        Role::Primary => "SwitchObjectPrimary",
        Role::Secondary => "SwitchObjectSecondary",
    }
}

/// The output of the secondary stack that names a role's switch alarm.
pub fn alarm_output_key(role: Role) -> &'static str {
    match role {
        Role::Primary => "PrimarySwitchAlarmName",
        Role::Secondary => "SecondarySwitchAlarmName",
    }
}

/// The output of the secondary stack with the operator role's ARN.
pub const OPERATOR_ROLE_OUTPUT: &str = "LeverOperatorRoleArn";

/// Both regions' switches, in the secondary region.
#[derive(Debug, Clone)]
pub struct DrainSwitches<'a> {
    cloud: &'a Cloud,
    region: String,
    pipeline: String,
    namespace: String,
    metric: String,
    objects: [SwitchLocation; 2],
    alarms: [String; 2],
}

fn index(role: Role) -> usize {
    match role {
        Role::Primary => 0,
        Role::Secondary => 1,
    }
}

impl<'a> DrainSwitches<'a> {
    /// The switches of `plan`, located by the secondary stack's outputs; `Err` names the first
    /// output that is missing.
    pub fn from_outputs(
        cloud: &'a Cloud,
        plan: &Plan,
        outputs: &BTreeMap<String, String>,
    ) -> Result<DrainSwitches<'a>, &'static str> {
        let object = |role| {
            outputs
                .get(output_key(role))
                .and_then(|url| SwitchLocation::parse(url))
                .ok_or(output_key(role))
        };
        let alarm = |role| {
            outputs
                .get(alarm_output_key(role))
                .cloned()
                .ok_or(alarm_output_key(role))
        };
        Ok(DrainSwitches {
            cloud,
            region: plan.secondary.region.clone(),
            pipeline: plan.name.clone(),
            namespace: plan.failover.lever.namespace.to_owned(),
            metric: plan.failover.lever.metric.to_owned(),
            objects: [object(Role::Primary)?, object(Role::Secondary)?],
            alarms: [alarm(Role::Primary)?, alarm(Role::Secondary)?],
        })
    }

    /// Where `role`'s switch is.
    pub fn location(&self, role: Role) -> &SwitchLocation {
        &self.objects[index(role)]
    }

    /// The same switches through another connection (the operator role's).
    pub fn with_cloud<'b>(&self, cloud: &'b Cloud) -> DrainSwitches<'b> {
        DrainSwitches {
            cloud,
            region: self.region.clone(),
            pipeline: self.pipeline.clone(),
            namespace: self.namespace.clone(),
            metric: self.metric.clone(),
            objects: self.objects.clone(),
            alarms: self.alarms.clone(),
        }
    }

    /// Reads `role`'s switch object.
    pub async fn read(&self, role: Role) -> Result<Switch, CloudError> {
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
                    Ok(Switch {
                        state: SwitchState::Unset,
                        by: None,
                        at: None,
                    })
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
        Ok(match SwitchBody::parse(&body) {
            Some(switch) => Switch {
                state: if switch.drained {
                    SwitchState::Drained
                } else {
                    SwitchState::Restored
                },
                by: Some(switch.by),
                at: Some(switch.at),
            },
            None => Switch {
                state: SwitchState::Unreadable,
                by: None,
                at: None,
            },
        })
    }

    /// Sets `role`'s switch; `who` and the time go into the body.
    pub async fn set(&self, role: Role, drained: bool, who: &str) -> Result<(), CloudError> {
        let location = self.location(role);
        let body = SwitchBody {
            drained,
            by: who.to_owned(),
            at: rfc3339(SystemTime::now()),
        };
        self.cloud
            .s3(&self.region)
            .put_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .content_type("application/json")
            .body(ByteStream::from(body.to_json().into_bytes()))
            .send()
            .await
            .map_err(|e| {
                self.cloud
                    .error(Call::new("s3", "PutObject", &self.region), e)
            })?;
        Ok(())
    }

    /// The value last published for `role`'s switch in the last minutes, if any.
    pub async fn published(&self, role: Role) -> Result<Option<Published>, CloudError> {
        let now = SystemTime::now();
        let query = MetricDataQuery::builder()
            .id("switch")
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace(&self.namespace)
                            .metric_name(&self.metric)
                            .dimensions(
                                Dimension::builder()
                                    .name(LEVER_DIMENSION_PIPELINE)
                                    .value(&self.pipeline)
                                    .build(),
                            )
                            .dimensions(
                                Dimension::builder()
                                    .name(LEVER_DIMENSION_REGION)
                                    .value(role.as_str())
                                    .build(),
                            )
                            .build(),
                    )
                    .period(60)
                    .stat("Maximum")
                    .build(),
            )
            .build();
        let answer = self
            .cloud
            .cloudwatch(&self.region)
            .get_metric_data()
            .metric_data_queries(query)
            .start_time(DateTime::from(now - PUBLISHED_WINDOW))
            .end_time(DateTime::from(now + Duration::from_secs(60)))
            .scan_by(ScanBy::TimestampDescending)
            .send()
            .await
            .map_err(|e| {
                self.cloud
                    .error(Call::new("cloudwatch", "GetMetricData", &self.region), e)
            })?;
        let Some(result) = answer.metric_data_results().first() else {
            return Ok(None);
        };
        Ok(result
            .values()
            .first()
            .zip(result.timestamps().first())
            .map(|(value, at)| Published {
                value: *value,
                at_epoch_seconds: at.secs(),
            }))
    }

    /// The state of `role`'s switch alarm (`OK`, `ALARM`, `INSUFFICIENT_DATA`), `None` when
    /// there is no such alarm.
    pub async fn alarm_state(&self, role: Role) -> Result<Option<String>, CloudError> {
        let name = &self.alarms[index(role)];
        let answer = self
            .cloud
            .cloudwatch(&self.region)
            .describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .map_err(|e| {
                self.cloud
                    .error(Call::new("cloudwatch", "DescribeAlarms", &self.region), e)
            })?;
        Ok(answer
            .metric_alarms()
            .first()
            .and_then(|alarm| alarm.state_value())
            .map(|state| state.as_str().to_owned()))
    }
}

/// `2026-12-01T20:13:49Z`.
pub fn rfc3339(at: SystemTime) -> String {
    DateTime::from(at)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lever::switch_key;

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
        assert_eq!(switch_key(Role::Primary), "switch/primary");
    }

    #[test]
    fn times_are_rfc3339_in_utc() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_156_029);
        assert_eq!(rfc3339(at), "2026-12-01T20:13:49Z");
    }
}
