//! What `ingest status` reads besides the stacks: the Route 53 health checkers' verdict, the
//! stream's iterator age (CloudWatch), and how many quarantine objects arrived in the last hour.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;

use super::{Call, Cloud, CloudError};

/// Share of checkers that must see an endpoint healthy for Route 53 to call it healthy
/// (more than 18%).
const HEALTHY_SHARE: f64 = 0.18;
/// How far back the iterator age is looked for.
const METRIC_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Quarantine objects counted at most (a listing beyond this says "at least").
pub const QUARANTINE_COUNT_LIMIT: u64 = 10_000;

/// What Route 53's health checkers report for one health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HealthVerdict {
    /// Checkers that last saw it healthy.
    pub healthy: u32,
    /// Checkers that reported.
    pub checkers: u32,
}

impl HealthVerdict {
    /// Whether Route 53 treats the endpoint as healthy.
    pub fn is_healthy(self) -> bool {
        self.checkers > 0 && f64::from(self.healthy) > f64::from(self.checkers) * HEALTHY_SHARE
    }
}

/// The checkers' latest observations of a health check. Route 53 is global: `region` only
/// picks the partition's endpoint.
pub async fn health_check(
    cloud: &Cloud,
    region: &str,
    id: &str,
) -> Result<HealthVerdict, CloudError> {
    let answer = cloud
        .route53(region)
        .get_health_check_status()
        .health_check_id(id)
        .send()
        .await
        .map_err(|e| cloud.error(Call::new("route53", "GetHealthCheckStatus", region), e))?;
    let observations = answer.health_check_observations();
    let healthy = observations
        .iter()
        .filter(|o| {
            o.status_report()
                .and_then(|r| r.status())
                .is_some_and(|s| s.starts_with("Success"))
        })
        .count();
    Ok(HealthVerdict {
        healthy: u32::try_from(healthy).unwrap_or(u32::MAX),
        checkers: u32::try_from(observations.len()).unwrap_or(u32::MAX),
    })
}

/// The stream's largest iterator age in milliseconds over the last minutes
/// (`AWS/Kinesis GetRecords.IteratorAgeMilliseconds`), or `None` when CloudWatch has no data.
pub async fn iterator_age_ms(
    cloud: &Cloud,
    region: &str,
    stream: &str,
) -> Result<Option<f64>, CloudError> {
    let now = SystemTime::now();
    let query = MetricDataQuery::builder()
        .id("age")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/Kinesis")
                        .metric_name("GetRecords.IteratorAgeMilliseconds")
                        .dimensions(
                            Dimension::builder()
                                .name("StreamName")
                                .value(stream)
                                .build(),
                        )
                        .build(),
                )
                .period(60)
                .stat("Maximum")
                .build(),
        )
        .build();
    let answer = cloud
        .cloudwatch(region)
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(DateTime::from(now - METRIC_WINDOW))
        .end_time(DateTime::from(now))
        .scan_by(ScanBy::TimestampDescending)
        .send()
        .await
        .map_err(|e| cloud.error(Call::new("cloudwatch", "GetMetricData", region), e))?;
    Ok(answer
        .metric_data_results()
        .first()
        .and_then(|result| result.values().first().copied()))
}

/// How many quarantine objects were written in the last hour, by their key's hour partition
/// (`dt=YYYY-MM-DD/hr=HH/`, this hour and the one before) and their modification time; at most
/// [`QUARANTINE_COUNT_LIMIT`].
pub async fn quarantine_last_hour(
    cloud: &Cloud,
    region: &str,
    bucket: &str,
) -> Result<u64, CloudError> {
    let now = SystemTime::now();
    let since = DateTime::from(now - Duration::from_secs(3600));
    let s3 = cloud.s3(region);
    let mut count = 0u64;
    for at in [now - Duration::from_secs(3600), now] {
        let prefix = hour_prefix(at);
        let mut token: Option<String> = None;
        loop {
            let page = s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| cloud.error(Call::new("s3", "ListObjectsV2", region), e))?;
            count += page
                .contents()
                .iter()
                .filter(|o| o.last_modified().is_some_and(|t| t.secs() >= since.secs()))
                .count() as u64;
            if count >= QUARANTINE_COUNT_LIMIT {
                return Ok(QUARANTINE_COUNT_LIMIT);
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
    }
    Ok(count)
}

/// The quarantine key prefix of the hour `at` falls in: `dt=YYYY-MM-DD/hr=HH/` (UTC).
pub fn hour_prefix(at: SystemTime) -> String {
    let text = DateTime::from(at)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    // "2026-12-01T20:13:49Z"
    let date = text.get(..10).unwrap_or("1970-01-01");
    let hour = text.get(11..13).unwrap_or("00");
    format!("dt={date}/hr={hour}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hour_prefix_is_the_quarantine_layout() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_156_029); // 2026-12-01T20:13:49Z
        assert_eq!(hour_prefix(at), "dt=2026-12-01/hr=20/");
    }

    #[test]
    fn route53_calls_healthy_above_eighteen_percent() {
        assert!(
            HealthVerdict {
                healthy: 4,
                checkers: 16
            }
            .is_healthy()
        );
        assert!(
            !HealthVerdict {
                healthy: 2,
                checkers: 16
            }
            .is_healthy()
        );
        assert!(
            !HealthVerdict {
                healthy: 0,
                checkers: 0
            }
            .is_healthy()
        );
    }
}
