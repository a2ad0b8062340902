//! Route 53's health-checker address ranges, for the web ACL's health-route allow-list
//! (`docs/security.md#the-health-route`).
//!
//! AWS publishes its address ranges in `ip-ranges.json`; the checkers' are the entries of
//! service `ROUTE53_HEALTHCHECKS`, each with the checker region it serves ("Add these ranges to
//! the list of allowed IP address ranges if you're using Route 53 health checks", Route 53 DG,
//! *IP address ranges of Amazon Route 53 servers*). The ranges change over time, so they are
//! not baked into the generated templates (which must be the same for the same spec): each
//! regional stack takes them as the parameter `Route53CheckerCidrs`, and `ingest deploy` (and
//! `diff`) fill it here, from a file given with `--ip-ranges` (offline, tests, a reviewed copy)
//! or else downloaded from [`IP_RANGES_URL`]. Neither working is an error that says how to get
//! the file; the stacks are never deployed with an empty or guessed list. Only IPv4 is kept:
//! Route 53 checks a domain-name endpoint over IPv4 only.
//!
//! A checker whose range is missing gets 403 and reports the region unhealthy; Route 53 calls
//! an endpoint healthy when more than 18% of its checkers do, so a few stale ranges change
//! nothing, and if most were stale the region would fail over to the other, which is sized
//! for all the traffic: staleness degrades to a failover, never to an outage. Redeploying
//! refreshes the list (`ingest diff` shows when it changed).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::byte_stream::ByteStream;
use serde::Deserialize;

use crate::errors::Error;

/// Where AWS publishes its address ranges.
pub const IP_RANGES_URL: &str = "https://ip-ranges.amazonaws.com/ip-ranges.json";
/// The service of the health checkers' ranges.
pub const CHECKER_SERVICE: &str = "ROUTE53_HEALTHCHECKS";
/// How long the download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Deserialize)]
struct RangesFile {
    #[serde(rename = "syncToken", default)]
    sync_token: String,
    #[serde(rename = "createDate", default)]
    create_date: String,
    prefixes: Vec<Prefix>,
}

#[derive(Debug, Deserialize)]
struct Prefix {
    ip_prefix: String,
    region: String,
    service: String,
}

/// The ranges the web ACL lets read the health route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerRanges {
    /// IPv4 CIDRs, sorted and without duplicates.
    pub cidrs: Vec<String>,
    /// Where they came from (file or URL) and its `createDate`/`syncToken`, for messages.
    pub source: String,
}

impl CheckerRanges {
    /// The parameter value: a comma-separated list.
    pub fn parameter_value(&self) -> String {
        self.cidrs.join(",")
    }
}

/// The checkers' IPv4 ranges in `regions` from the text of an `ip-ranges.json`, plus `extra`.
pub fn checker_ranges(
    text: &[u8],
    from: &str,
    regions: &[String],
    extra: &[String],
) -> Result<CheckerRanges, String> {
    let file: RangesFile = serde_json::from_slice(text)
        .map_err(|e| format!("{from} is not AWS's ip-ranges.json: {e}"))?;
    let mut cidrs: BTreeSet<String> = file
        .prefixes
        .iter()
        .filter(|p| p.service == CHECKER_SERVICE && regions.contains(&p.region))
        .map(|p| p.ip_prefix.clone())
        .collect();
    let found = cidrs.len();
    let missing: Vec<&String> = regions
        .iter()
        .filter(|region| {
            !file
                .prefixes
                .iter()
                .any(|p| p.service == CHECKER_SERVICE && &p.region == *region)
        })
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{from} has no {CHECKER_SERVICE} ranges for {}: is it AWS's current ip-ranges.json, and are those Route 53 checker regions?",
            missing
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    cidrs.extend(extra.iter().cloned());
    Ok(CheckerRanges {
        cidrs: cidrs.into_iter().collect(),
        source: format!(
            "{found} {CHECKER_SERVICE} ranges of {} from {from} (created {}, sync token {})",
            regions.join(", "),
            if file.create_date.is_empty() {
                "?"
            } else {
                &file.create_date
            },
            if file.sync_token.is_empty() {
                "?"
            } else {
                &file.sync_token
            }
        ),
    })
}

/// The text of `ip-ranges.json`: the file given, else the download.
pub async fn fetch(file: Option<&Path>) -> Result<(Vec<u8>, String), Error> {
    if let Some(path) = file {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        return Ok((bytes, path.display().to_string()));
    }
    download()
        .await
        .map(|bytes| (bytes, IP_RANGES_URL.to_owned()))
}

async fn download() -> Result<Vec<u8>, Error> {
    let failed = |why: String| Error::IpRanges {
        what: format!("could not download {IP_RANGES_URL}: {why}"),
    };
    let connector = aws_smithy_http_client::Connector::builder()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build();
    let request = HttpRequest::get(IP_RANGES_URL).map_err(|e| failed(e.to_string()))?;
    let response = tokio::time::timeout(DOWNLOAD_TIMEOUT, connector.call(request))
        .await
        .map_err(|_| failed(format!("no answer within {} s", DOWNLOAD_TIMEOUT.as_secs())))?
        .map_err(|e| {
            failed(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string())
        })?;
    let status = response.status().as_u16();
    let body = ByteStream::new(response.into_body())
        .collect()
        .await
        .map_err(|e| failed(e.to_string()))?
        .into_bytes()
        .to_vec();
    if !(200..300).contains(&status) {
        return Err(failed(format!("HTTP {status}")));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
      "syncToken": "1764612345", "createDate": "2026-12-01-10-00-00",
      "prefixes": [
        {"ip_prefix": "15.177.0.0/18", "region": "us-east-1", "service": "ROUTE53_HEALTHCHECKS", "network_border_group": "us-east-1"},
        {"ip_prefix": "15.177.64.0/23", "region": "us-west-1", "service": "ROUTE53_HEALTHCHECKS", "network_border_group": "us-west-1"},
        {"ip_prefix": "15.177.66.0/23", "region": "eu-west-1", "service": "ROUTE53_HEALTHCHECKS", "network_border_group": "eu-west-1"},
        {"ip_prefix": "15.177.68.0/23", "region": "sa-east-1", "service": "ROUTE53_HEALTHCHECKS", "network_border_group": "sa-east-1"},
        {"ip_prefix": "3.5.0.0/19", "region": "us-east-1", "service": "S3", "network_border_group": "us-east-1"}
      ],
      "ipv6_prefixes": []
    }"#;

    fn regions(names: &[&str]) -> Vec<String> {
        names.iter().map(|r| (*r).to_owned()).collect()
    }

    #[test]
    fn only_the_checkers_of_the_checks_regions_and_the_extra_ranges() {
        let ranges = checker_ranges(
            FILE.as_bytes(),
            "fixture",
            &regions(&["us-east-1", "us-west-1", "eu-west-1"]),
            &["203.0.113.0/24".to_owned()],
        )
        .unwrap();
        assert_eq!(
            ranges.cidrs,
            [
                "15.177.0.0/18",
                "15.177.64.0/23",
                "15.177.66.0/23",
                "203.0.113.0/24"
            ]
        );
        assert_eq!(
            ranges.parameter_value(),
            "15.177.0.0/18,15.177.64.0/23,15.177.66.0/23,203.0.113.0/24"
        );
        assert!(
            ranges.source.contains("sync token 1764612345"),
            "{}",
            ranges.source
        );
    }

    #[test]
    fn a_region_without_ranges_or_a_wrong_file_is_an_error() {
        let error = checker_ranges(
            FILE.as_bytes(),
            "fixture",
            &regions(&["us-east-1", "ap-southeast-2"]),
            &[],
        )
        .unwrap_err();
        assert!(error.contains("ap-southeast-2"), "{error}");
        let error = checker_ranges(b"{}", "x.json", &regions(&["us-east-1"]), &[]).unwrap_err();
        assert!(
            error.contains("x.json is not AWS's ip-ranges.json"),
            "{error}"
        );
    }
}
