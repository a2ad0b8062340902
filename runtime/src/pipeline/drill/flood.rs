//! The drill's flood phase: one hostile address floods the primary's public routes while the
//! honest clients send at the spec's peak; then, when the spec has a web ACL, the same flood
//! from a rotating pool of addresses (WAF's mitigation lag, [`RotatingPool`]: judged in bytes
//! against the smaller stream, which it must not fill unless the spec accepts that), and a
//! swarm of addresses each under the per-address limits against the smaller stream
//! ([`SwarmConfig`], [`run_swarm`]: it must not throttle the stream).
//!
//! What a flood meets is what the stacks put in front of the API, with the spec's numbers
//! ([`FloodConfig`], from the plan):
//!
//! - **The web ACL** (`api.waf`), evaluated first. `GET /health` is allowed only from Route 53's
//!   checker ranges with the health token, so the hostile address's reads of it are blocked
//!   outright (and, WAF stopping at the first rule that decides, never counted by the rate
//!   rule). So are the reads of someone else's Route 53 health checks
//!   ([`FloodConfig::foreign_checks`]): they come from the checker ranges too, but without our
//!   token. Modelled without the token match ([`ForeignChecks::token_required`] false: the old
//!   rule, or a leaked token), they are allowed, take the health method's tokens and fail our
//!   checkers' reads. `POST /events`
//!   goes through the per-address rate rule: WAF counts each address's requests (blocked ones
//!   included: they reach the rule) and re-estimates the rate every
//!   [`WafRule::detection_seconds`] over the trailing [`WafRule::window_seconds`]; an address
//!   over [`WafRule::rate_per_ip`] is blocked from that check until a check finds it under.
//!   So the flood gets through until the first check after it starts: the model does not
//!   assume WAF is instant.
//! - **The stage throttle**, API Gateway's token bucket: [`FloodConfig::stage_rate`] tokens a
//!   second up to [`FloodConfig::stage_burst`]; a request without a token gets 429. Requests
//!   that arrive together take the tokens in a random order (the drill's seed), so the flood
//!   takes its share of them for as long as WAF lets it through.
//! - **`GET /health`'s own method throttle** ([`FloodConfig::health_rate`],
//!   [`FloodConfig::health_burst`]), which the checkers' reads need a token of. Each of the
//!   [`FloodConfig::health_checkers`] checkers reads every health interval; a checker turns
//!   unhealthy after `failure_threshold` failed reads in a row and healthy again after as many
//!   good ones, and Route 53 calls the endpoint healthy while more than
//!   [`FloodConfig::healthy_checkers_percent`] of its checkers do.
//! - **The lever** is the switch metric, written only by the publisher from switch objects
//!   that only the operator role may write (`docs/security.md#the-lever`): no public route
//!   reaches it. The phase counts the lever's changes by requests of the flood over the routes
//!   it can reach, which are `POST /events` and `GET /health`.
//!
//! The honest clients are as many addresses as it takes to send the spec's peak with each at
//! half the WAF limit ([`FloodConfig::honest_addresses`]), sending the primary's share of the
//! peak (its Route 53 weight); a refused request is sent again with the drill's client backoff
//! ([`super::CLIENT_RETRY`]). The phase runs the flood for [`FloodConfig::seconds`] and then
//! until every honest request is accepted or given up.
//!
//! The verdict ([`FloodReport::held`]): no honest request given up, the honest clients'
//! requests accepted on their first try over the flood's second half at no less than what the
//! stage throttle leaves them (their offered rate, or the stage's rate if that is lower), and
//! no change of the health verdict or the lever, the swarm not throttling the smaller stream,
//! and the rotating pool not filling it unless the spec accepts that. First tries, because a starved client still
//! gets in by retrying, only minutes late: the report gives the longest wait too. With `api.waf` off the same flood takes the stage's tokens and the
//! health route's: the honest rate drops to a fraction of the stage's and the primary turns
//! unhealthy, and the drill fails, saying so.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use super::{CLIENT_RETRY, DrillConfig};
use crate::pipeline::local::Rng;

/// The model's time step, in milliseconds: API Gateway refills its buckets continuously; at
/// this step a bucket of the smallest useful rate (1 a second) still refills in 100 steps.
const STEP_MS: u64 = 10;

/// Someone else's Route 53 health checks on the primary's health route: they come from the
/// same checker ranges as ours (anyone can create health checks in their own account), so an
/// address allow-list admits them; only the health token tells ours apart
/// (`docs/security.md#the-health-route`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignChecks {
    /// Their reads a second, all from checker addresses, none with our token.
    pub reads_per_second: u64,
    /// Whether the web ACL's allow rule requires the token. False models the rule without it
    /// (or a token that leaked): the reads are allowed and take the method's tokens.
    pub token_required: bool,
}

/// Many addresses, each just under the web ACL's per-address limits, writing to the smaller
/// region's stream (reached directly at its own API host): what the large-body rule and
/// `api.waf.min_addresses_to_fill` bound (`docs/security.md#bytes-per-address`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmConfig {
    /// Hostile addresses.
    pub addresses: u64,
    /// Requests each sends per window (just under `rate_per_ip`).
    pub requests_per_window: u64,
    /// Of them, bodies over the large-body threshold (just under the large-body limit).
    pub large_per_window: u64,
    /// The window, in seconds.
    pub window_seconds: u64,
    /// Bytes of a body the web ACL counts as small (the threshold).
    pub small_body_bytes: u64,
    /// Bytes of a large body (`api.max_event_bytes`).
    pub large_body_bytes: u64,
    /// The stream's write capacity: bytes a second.
    pub stream_bytes_per_second: u64,
    /// The stream's write capacity: records a second.
    pub stream_records_per_second: u64,
    /// The honest clients' events to that region (its share of the peak), in thousandths of
    /// an event a second.
    pub honest_millievents_per_second: u64,
    /// Their bodies' size (`capacity.average_event_bytes`).
    pub honest_body_bytes: u64,
}

/// The flood again from a pool of addresses, a fresh one for each of WAF's detection intervals:
/// during its mitigation lag an address is bounded by the stage throttle only
/// (`docs/security.md#the-mitigation-lag`). What the pool gets through the stage is written as
/// bodies of [`RotatingPool::body_bytes`] to the smaller stream (reached at its own region's
/// API host, whose stage has the same throttle), with the honest clients' share of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatingPool {
    /// Bytes of each of its bodies (`api.max_event_bytes`).
    pub body_bytes: u64,
    /// The smaller stream's write capacity: bytes a second.
    pub stream_bytes_per_second: u64,
    /// The smaller stream's write capacity: records a second.
    pub stream_records_per_second: u64,
    /// The honest clients' events to that region, in thousandths of an event a second.
    pub honest_millievents_per_second: u64,
    /// Their bodies' size (`capacity.average_event_bytes`).
    pub honest_body_bytes: u64,
    /// The team's reason for accepting that the pool fills the stream
    /// (`api.waf.mitigation_lag_accepted`): a filled stream is then reported, not a failure.
    pub accepted: Option<String>,
}

/// The web ACL's per-address rate rule (`api.waf`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WafRule {
    /// Requests one address may send per window.
    pub rate_per_ip: u64,
    /// The evaluation window, in seconds.
    pub window_seconds: u64,
    /// How often WAF re-estimates an address's rate (how late it starts and stops blocking).
    pub detection_seconds: u64,
}

/// What the stacks put in front of the primary's API, and the flood (from the plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloodConfig {
    /// How long the hostile address floods, in seconds.
    pub seconds: u64,
    /// Requests a second the hostile address sends to each public route.
    pub requests_per_second: u64,
    /// The stage throttle's steady rate (requests a second).
    pub stage_rate: u64,
    /// The stage throttle's burst.
    pub stage_burst: u64,
    /// `GET /health`'s method throttle rate.
    pub health_rate: u64,
    /// `GET /health`'s method throttle burst.
    pub health_burst: u64,
    /// The web ACL's rate rule; `None` when `api.waf` is off (and `/health` is open to all).
    pub waf: Option<WafRule>,
    /// Addresses the honest clients send from.
    pub honest_addresses: u64,
    /// Route 53 checkers reading `GET /health` (one per checker region).
    pub health_checkers: u64,
    /// Route 53 calls an endpoint healthy while more than this share of its checkers do.
    pub healthy_checkers_percent: u64,
    /// Someone else's health checks read the health route during the flood.
    pub foreign_checks: Option<ForeignChecks>,
    /// The flood again from a rotating pool of addresses, against the smaller stream; `None`
    /// when there is no web ACL (the single address is then bound by nothing either) or when
    /// a request needs a key or the authorizer's yes (the pool has neither).
    pub rotating_pool: Option<RotatingPool>,
    /// Many addresses under the per-address limits against the smaller stream.
    pub swarm: Option<SwarmConfig>,
}

/// What the rotating pool did to the honest clients.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RotationReport {
    /// Addresses the pool used (one per detection interval).
    pub addresses: u64,
    /// Its `POST /events` that reached the stream.
    pub flood_accepted: u64,
    /// Honest requests refused (429) and sent again.
    pub honest_refused: u64,
    /// Honest requests given up: lost.
    pub honest_gave_up: u64,
    /// The longest an honest request waited, in seconds.
    pub honest_longest_wait_seconds: f64,
    /// Honest requests accepted a second on their first try, over the flood's second half.
    pub honest_accepted_per_second: f64,
    /// Bytes a second the pool and the honest clients wrote to the smaller stream, over the
    /// flood, and the stream's capacity.
    pub offered_bytes_per_second: u64,
    /// See [`RotationReport::offered_bytes_per_second`].
    pub stream_bytes_per_second: u64,
    /// Whether that filled the stream, in bytes or in records.
    pub fills_stream: bool,
    /// The spec's reason for accepting it, if it gives one.
    pub accepted: Option<String>,
}

/// What the swarm did to the smaller stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SwarmReport {
    /// Hostile addresses, each under its limits.
    pub addresses: u64,
    /// How long they sent, in seconds.
    pub seconds: u64,
    /// Bytes a second they offered together, and the stream's capacity.
    pub offered_bytes_per_second: u64,
    /// See [`SwarmReport::offered_bytes_per_second`].
    pub stream_bytes_per_second: u64,
    /// Seconds in which the stream refused writes (`WriteProvisionedThroughputExceeded`).
    pub throttled_seconds: u64,
    /// Honest requests sent (first tries).
    pub honest_sent: u64,
    /// Honest requests the stream refused (each sent again).
    pub honest_refused: u64,
    /// Honest requests given up: lost.
    pub honest_gave_up: u64,
    /// The longest an honest request waited, in seconds.
    pub honest_longest_wait_seconds: f64,
}

/// What the flood did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FloodReport {
    /// How long the hostile address flooded, in seconds.
    pub seconds: u64,
    /// Whether the web ACL was there.
    pub waf: bool,
    /// Requests the hostile address sent (both routes).
    pub flood_sent: u64,
    /// Of them, blocked by the web ACL (the health route's rule or the rate rule).
    pub flood_blocked_by_waf: u64,
    /// Of them, refused with 429 by the stage or the health method's throttle.
    pub flood_throttled: u64,
    /// Of them, `POST /events` that reached the stream.
    pub flood_accepted: u64,
    /// When the rate rule first blocked the hostile address (seconds into the flood).
    pub waf_blocked_after_seconds: Option<f64>,
    /// Honest requests sent (first tries).
    pub honest_sent: u64,
    /// Honest requests accepted, retries included.
    pub honest_accepted: u64,
    /// Honest requests accepted on their first try.
    pub honest_accepted_first_try: u64,
    /// 429s the honest clients got from the throttle (each retried).
    pub honest_throttled: u64,
    /// Honest requests blocked by the web ACL's rate rule.
    pub honest_blocked_by_waf: u64,
    /// Honest requests given up after the client's retries: lost to the flood.
    pub honest_gave_up: u64,
    /// The longest an honest request waited to be accepted, in seconds.
    pub honest_longest_wait_seconds: f64,
    /// Honest requests a second sent to the primary (its share of the peak).
    pub honest_offered_per_second: f64,
    /// What the stage throttle leaves the honest clients: their rate, or the stage's if lower.
    pub stage_leaves_per_second: f64,
    /// Honest requests accepted a second on their first try, over the flood's second half
    /// (retries would hide a starved client: it gets in eventually, minutes late).
    pub honest_accepted_per_second: f64,
    /// Reads of `GET /health` by someone else's health checks (checker addresses, no token).
    pub foreign_check_reads: u64,
    /// Of them, blocked by the web ACL (the allow rule wants the token; the next rule blocks).
    pub foreign_check_reads_blocked_by_waf: u64,
    /// Health checkers' reads of `GET /health`, and how many failed (429).
    pub health_reads: u64,
    /// See [`FloodReport::health_reads`].
    pub health_reads_failed: u64,
    /// Changes of the primary's health verdict (Route 53's, over its checkers).
    pub health_verdict_changes: u64,
    /// Changes of the lever made by the flood's requests.
    pub lever_changes: u64,
    /// The same flood from a rotating pool of addresses, if it ran.
    pub rotation: Option<RotationReport>,
    /// The swarm against the smaller stream, if it ran.
    pub swarm: Option<SwarmReport>,
}

impl FloodReport {
    /// Whether the flood stopped no honest client and moved nothing: see the module docs.
    pub fn held(&self) -> bool {
        self.honest_gave_up == 0
            && !self.starved()
            && self.health_verdict_changes == 0
            && self.lever_changes == 0
            && self
                .swarm
                .as_ref()
                .is_none_or(|s| s.throttled_seconds == 0 && s.honest_gave_up == 0)
            && self.rotation_failure().is_none()
    }

    /// Why the rotating pool failed the phase, for the verdict: it filled the smaller stream
    /// and the spec does not accept that.
    pub fn rotation_failure(&self) -> Option<String> {
        let rotation = self
            .rotation
            .as_ref()
            .filter(|r| r.fills_stream && r.accepted.is_none())?;
        Some(format!(
            "let a pool of {} fresh addresses fill the smaller stream during WAF's mitigation lag ({} KiB/s offered to {} KiB/s)",
            rotation.addresses,
            rotation.offered_bytes_per_second / 1024,
            rotation.stream_bytes_per_second / 1024
        ))
    }

    /// Why the swarm failed the phase, for the verdict: it throttled the smaller stream, or
    /// honest requests were given up.
    pub fn swarm_failure(&self) -> Option<String> {
        let swarm = self
            .swarm
            .as_ref()
            .filter(|s| s.throttled_seconds > 0 || s.honest_gave_up > 0)?;
        Some(format!(
            "let {} addresses each under the per-address limits throttle the smaller stream for {} s ({} honest requests refused, {} given up)",
            swarm.addresses, swarm.throttled_seconds, swarm.honest_refused, swarm.honest_gave_up
        ))
    }

    /// Whether the honest clients got less than the stage throttle leaves them (a request a
    /// second of rounding allowed).
    pub fn starved(&self) -> bool {
        self.honest_accepted_per_second + 1.0 < self.stage_leaves_per_second
    }

    /// Lines for people: the flood, someone else's health checks, the honest clients, the
    /// verdicts, and the rotating pool and the swarm when they ran (name, text).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let mut rows = vec![
            (
                "flood",
                format!(
                    "one address, {} s, {} requests to POST /events and GET /health: {} blocked by WAF{}, {} throttled, {} reached the stream",
                    self.seconds,
                    self.flood_sent,
                    self.flood_blocked_by_waf,
                    match (self.waf, self.waf_blocked_after_seconds) {
                        (false, _) => " (no web ACL)".to_owned(),
                        (true, Some(at)) => format!(" (the rate rule from {at:.0} s)"),
                        (true, None) => " (the rate rule never fired)".to_owned(),
                    },
                    self.flood_throttled,
                    self.flood_accepted
                ),
            ),
            (
                "foreign checks",
                format!(
                    "{} reads of GET /health from checker addresses without our token: {} blocked by WAF",
                    self.foreign_check_reads, self.foreign_check_reads_blocked_by_waf
                ),
            ),
            (
                "honest",
                format!(
                    "{} of {} requests accepted ({} on the first try, {} given up, the longest wait {:.0} s); {:.0}/s on the first try of the {:.0}/s the stage leaves them",
                    self.honest_accepted,
                    self.honest_sent,
                    self.honest_accepted_first_try,
                    self.honest_gave_up,
                    self.honest_longest_wait_seconds,
                    self.honest_accepted_per_second,
                    self.stage_leaves_per_second
                ),
            ),
            (
                "verdicts",
                format!(
                    "{} changes of the primary's health verdict ({} of {} checker reads failed), {} of the lever",
                    self.health_verdict_changes,
                    self.health_reads_failed,
                    self.health_reads,
                    self.lever_changes
                ),
            ),
        ];
        if let Some(r) = &self.rotation {
            rows.push((
                "rotating",
                format!(
                    "the same flood from {} addresses, a fresh one each WAF detection interval (its mitigation lag; the stage throttle is the only bound): {} reached the stream, {} KiB/s with the honest share offered to the smaller stream's {} KiB/s{}; the honest clients had {} requests refused and sent again, {} given up, the longest wait {:.0} s, {:.0}/s on the first try",
                    r.addresses,
                    r.flood_accepted,
                    r.offered_bytes_per_second / 1024,
                    r.stream_bytes_per_second / 1024,
                    match (r.fills_stream, &r.accepted) {
                        (false, _) => ": not filled".to_owned(),
                        (true, None) => ": FILLED".to_owned(),
                        (true, Some(reason)) => format!(": filled, accepted in the spec (\"{reason}\")"),
                    },
                    r.honest_refused,
                    r.honest_gave_up,
                    r.honest_longest_wait_seconds,
                    r.honest_accepted_per_second
                ),
            ));
        }
        if let Some(s) = &self.swarm {
            rows.push((
                "swarm",
                format!(
                    "{} addresses each under the per-address limits, {} s, offered {} KiB/s to the smaller stream ({} KiB/s): {} s throttled; honest {} sent, {} refused and sent again, {} given up, the longest wait {:.0} s",
                    s.addresses,
                    s.seconds,
                    s.offered_bytes_per_second / 1024,
                    s.stream_bytes_per_second / 1024,
                    s.throttled_seconds,
                    s.honest_sent,
                    s.honest_refused,
                    s.honest_gave_up,
                    s.honest_longest_wait_seconds
                ),
            ));
        }
        rows
    }
}

/// A token bucket: `rate` tokens a second up to `burst`.
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
}

impl Bucket {
    fn new(rate: u64, burst: u64) -> Self {
        Bucket {
            tokens: burst as f64,
            rate: rate as f64,
            burst: burst as f64,
        }
    }

    fn refill(&mut self, seconds: f64) {
        self.tokens = (self.tokens + self.rate * seconds).min(self.burst);
    }

    /// Serves `ours` requests mixed at random with `others`, one token each, while tokens
    /// last: which of ours got one (in order), and how many of the others did.
    fn serve(&mut self, ours: usize, others: u64, rng: &mut Rng) -> (Vec<bool>, u64) {
        let tokens = self.tokens.floor().max(0.0) as u64;
        let total = ours as u64 + others;
        if total <= tokens {
            self.tokens -= total as f64;
            return (vec![true; ours], others);
        }
        // Each of ours holds a uniformly random place in the arrival order: draw whether it
        // is among the first `tokens` places, without replacement.
        let mut left = tokens;
        let mut places = total;
        let served = (0..ours)
            .map(|_| {
                let got = rng.below(places) < left;
                places -= 1;
                if got {
                    left -= 1;
                }
                got
            })
            .collect();
        self.tokens -= tokens as f64;
        (served, left.min(others))
    }
}

/// The web ACL's rate rule: per address, the requests of each detection interval of the
/// trailing window, and whether the last check blocked it.
struct RateRule {
    rule: WafRule,
    counts: Vec<Vec<u64>>,
    slot: usize,
    blocked: Vec<bool>,
}

impl RateRule {
    fn new(rule: &WafRule, addresses: usize) -> Self {
        let slots = usize::try_from(
            rule.window_seconds
                .div_ceil(rule.detection_seconds.max(1))
                .max(1),
        )
        .unwrap_or(1);
        RateRule {
            rule: rule.clone(),
            counts: vec![vec![0; slots]; addresses],
            slot: 0,
            blocked: vec![false; addresses],
        }
    }

    /// A check: every address over the limit in the trailing window is blocked until the next.
    fn check(&mut self) {
        for (counts, blocked) in self.counts.iter().zip(self.blocked.iter_mut()) {
            *blocked = counts.iter().sum::<u64>() > self.rule.rate_per_ip;
        }
        self.slot = (self.slot + 1) % self.counts[0].len();
        for counts in &mut self.counts {
            counts[self.slot] = 0;
        }
    }

    /// `address` is a fresh one: no counts, not blocked.
    fn forget(&mut self, address: usize) {
        self.counts[address].iter_mut().for_each(|c| *c = 0);
        self.blocked[address] = false;
    }

    /// Counts `n` requests of `address`; whether they are blocked.
    fn admit(&mut self, address: usize, n: u64) -> bool {
        self.counts[address][self.slot] += n;
        !self.blocked[address]
    }
}

/// One Route 53 checker's view: consecutive results and its verdict.
#[derive(Debug, Clone, Copy)]
struct Checker {
    healthy: bool,
    streak: u64,
}

impl Checker {
    fn observe(&mut self, ok: bool, threshold: u64) {
        if ok == self.healthy {
            self.streak = 0;
            return;
        }
        self.streak += 1;
        if self.streak >= threshold.max(1) {
            self.healthy = ok;
            self.streak = 0;
        }
    }
}

/// An honest request waiting to be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Retry {
    at_ms: u64,
    first_ms: u64,
    attempt: u32,
    address: usize,
}

impl Retry {
    /// A first try, sent now from `address`.
    fn fresh(now_ms: u64, address: usize) -> Self {
        Self {
            at_ms: now_ms,
            first_ms: now_ms,
            attempt: 0,
            address,
        }
    }
}

/// Fractional arrivals: how many whole requests are due after each step.
struct Arrivals {
    per_step: f64,
    due: f64,
}

impl Arrivals {
    fn new(per_second: f64) -> Self {
        Arrivals {
            per_step: per_second * STEP_MS as f64 / 1000.0,
            due: 0.0,
        }
    }

    fn next(&mut self) -> u64 {
        self.due += self.per_step;
        let whole = self.due.floor();
        self.due -= whole;
        whole as u64
    }
}

/// Runs the flood phase of `config` (none without [`DrillConfig::flood`]): the flood from one
/// address, then (when configured) from a rotating pool, and the swarm.
pub fn run(config: &DrillConfig) -> Option<FloodReport> {
    let flood = config.flood.as_ref()?;
    let mut report = simulate(config, flood, false);
    if let (Some(pool), Some(rule)) = (flood.rotating_pool.as_ref(), flood.waf.as_ref()) {
        let rotated = simulate(config, flood, true);
        let seconds = flood.seconds.max(1) as f64;
        let honest_per_second = pool.honest_millievents_per_second as f64 / 1000.0;
        let pool_per_second = rotated.flood_accepted as f64 / seconds;
        let offered_bytes = pool_per_second * pool.body_bytes as f64
            + honest_per_second * pool.honest_body_bytes as f64;
        let offered_records = pool_per_second + honest_per_second;
        report.rotation = Some(RotationReport {
            addresses: flood.seconds.div_ceil(rule.detection_seconds.max(1)),
            flood_accepted: rotated.flood_accepted,
            honest_refused: rotated.honest_throttled + rotated.honest_blocked_by_waf,
            honest_gave_up: rotated.honest_gave_up,
            honest_longest_wait_seconds: rotated.honest_longest_wait_seconds,
            honest_accepted_per_second: rotated.honest_accepted_per_second,
            offered_bytes_per_second: offered_bytes as u64,
            stream_bytes_per_second: pool.stream_bytes_per_second,
            fills_stream: offered_bytes >= pool.stream_bytes_per_second as f64
                || offered_records >= pool.stream_records_per_second as f64,
            accepted: pool.accepted.clone(),
        });
    }
    report.swarm = flood
        .swarm
        .as_ref()
        .map(|swarm| run_swarm(swarm, flood.seconds, config.seed));
    Some(report)
}

/// One run of the flood; with `rotate`, the hostile address is a fresh one after each of
/// WAF's checks (its counts start from nothing, so no check ever finds it over the limit).
#[allow(clippy::too_many_lines)]
fn simulate(config: &DrillConfig, flood: &FloodConfig, rotate: bool) -> FloodReport {
    let pipeline = &config.pipeline;
    let total_weight = pipeline.primary.weight + pipeline.secondary.weight;
    let primary_share = if total_weight == 0 {
        0.5
    } else {
        pipeline.primary.weight as f64 / total_weight as f64
    };
    let offered = config.peak_events_per_second as f64 * primary_share;
    let mut report = FloodReport {
        seconds: flood.seconds,
        waf: flood.waf.is_some(),
        honest_offered_per_second: offered,
        stage_leaves_per_second: offered.min(flood.stage_rate as f64),
        ..FloodReport::default()
    };
    // Its own sequence of the drill's seed, so the phase does not depend on the client's draws.
    let mut rng = Rng::new(config.seed ^ u64::from_be_bytes(*b"\0\0\0flood"));
    let mut stage = Bucket::new(flood.stage_rate, flood.stage_burst);
    let mut health = Bucket::new(flood.health_rate, flood.health_burst);
    // Address 0 is the hostile one; the honest ones follow.
    let honest_addresses = usize::try_from(flood.honest_addresses.max(1)).unwrap_or(1);
    let mut waf = flood
        .waf
        .as_ref()
        .map(|rule| RateRule::new(rule, honest_addresses + 1));
    let detection_ms = flood
        .waf
        .as_ref()
        .map(|rule| (rule.detection_seconds * 1000).max(STEP_MS));
    let mut honest = Arrivals::new(offered);
    let mut hostile_events = Arrivals::new(flood.requests_per_second as f64);
    let mut hostile_health = Arrivals::new(flood.requests_per_second as f64);
    let mut foreign_reads = Arrivals::new(
        flood
            .foreign_checks
            .as_ref()
            .map_or(0.0, |f| f.reads_per_second as f64),
    );
    let mut next_address = 0usize;
    let mut retries: BinaryHeap<Reverse<Retry>> = BinaryHeap::new();

    let checkers = usize::try_from(flood.health_checkers.max(1)).unwrap_or(1);
    let interval_ms = (config.health_interval_seconds * 1000).max(STEP_MS);
    // The checkers read in turn, spread over the interval (on the model's steps).
    let checker_offset_ms: Vec<u64> = (0..checkers as u64)
        .map(|c| c * interval_ms / checkers as u64 / STEP_MS * STEP_MS)
        .collect();
    let mut checker_state = vec![
        Checker {
            healthy: true,
            streak: 0,
        };
        checkers
    ];
    let endpoint_healthy = |state: &[Checker]| {
        let healthy = state.iter().filter(|c| c.healthy).count() as u64;
        healthy * 100 > flood.healthy_checkers_percent * state.len() as u64
    };
    let mut verdict = endpoint_healthy(&checker_state);

    let flood_ms = flood.seconds * 1000;
    let second_half_ms = flood_ms / 2;
    let mut accepted_in_second_half = 0u64;
    let mut now_ms = 0u64;
    while now_ms < flood_ms || !retries.is_empty() {
        let flooding = now_ms < flood_ms;
        stage.refill(STEP_MS as f64 / 1000.0);
        health.refill(STEP_MS as f64 / 1000.0);
        if let (Some(rule), Some(every)) = (waf.as_mut(), detection_ms)
            && now_ms > 0
            && now_ms.is_multiple_of(every)
        {
            rule.check();
            if rotate {
                rule.forget(0);
            }
            if rule.blocked[0] && report.waf_blocked_after_seconds.is_none() {
                report.waf_blocked_after_seconds = Some(now_ms as f64 / 1000.0);
            }
        }

        // POST /events: the honest requests due now, new and retried, and the flood's.
        let mut sends: Vec<Retry> = Vec::new();
        if flooding {
            for _ in 0..honest.next() {
                sends.push(Retry::fresh(now_ms, 1 + next_address));
                next_address = (next_address + 1) % honest_addresses;
            }
            report.honest_sent += sends.len() as u64;
        }
        while retries.peek().is_some_and(|r| r.0.at_ms <= now_ms) {
            if let Some(Reverse(retry)) = retries.pop() {
                sends.push(retry);
            }
        }
        let mut hostile = if flooding { hostile_events.next() } else { 0 };
        report.flood_sent += hostile;
        if let Some(rule) = waf.as_mut()
            && hostile > 0
            && !rule.admit(0, hostile)
        {
            report.flood_blocked_by_waf += hostile;
            hostile = 0;
        }
        let mut passed = Vec::with_capacity(sends.len());
        for send in sends {
            let admitted = waf.as_mut().is_none_or(|rule| rule.admit(send.address, 1));
            if admitted {
                passed.push(send);
            } else {
                report.honest_blocked_by_waf += 1;
                refuse(send, now_ms, &mut retries, &mut report);
            }
        }
        let (served, hostile_served) = stage.serve(passed.len(), hostile, &mut rng);
        report.flood_accepted += hostile_served;
        report.flood_throttled += hostile - hostile_served;
        for (send, got) in passed.into_iter().zip(served) {
            if got {
                report.honest_accepted += 1;
                if send.attempt == 0 {
                    report.honest_accepted_first_try += 1;
                }
                if send.attempt == 0 && (second_half_ms..flood_ms).contains(&now_ms) {
                    accepted_in_second_half += 1;
                }
                report.honest_longest_wait_seconds = report
                    .honest_longest_wait_seconds
                    .max((now_ms - send.first_ms) as f64 / 1000.0);
            } else {
                report.honest_throttled += 1;
                refuse(send, now_ms, &mut retries, &mut report);
            }
        }

        // GET /health: the flood's reads, and the checkers' due now.
        let hostile = if flooding { hostile_health.next() } else { 0 };
        report.flood_sent += hostile;
        let mut hostile = if waf.is_some() {
            // Only Route 53's checker ranges may read it: the rule before the rate rule.
            report.flood_blocked_by_waf += hostile;
            0
        } else {
            hostile
        };
        // Someone else's health checks: checker addresses, so the allow rule's address match
        // holds; without our token they fall to the block rule, unless the rule does not
        // ask for it. An allowed read ends WAF's evaluation: the rate rule never counts it.
        if let Some(foreign) = flood.foreign_checks.as_ref()
            && flooding
        {
            let reads = foreign_reads.next();
            report.foreign_check_reads += reads;
            if waf.is_some() && foreign.token_required {
                report.foreign_check_reads_blocked_by_waf += reads;
            } else {
                hostile += reads;
            }
        }
        let due: Vec<usize> = (0..checkers)
            .filter(|c| (now_ms + checker_offset_ms[*c]).is_multiple_of(interval_ms))
            .collect();
        let (served, hostile_served) = health.serve(due.len(), hostile, &mut rng);
        report.flood_throttled += hostile - hostile_served;
        for (checker, ok) in due.into_iter().zip(served) {
            report.health_reads += 1;
            if !ok {
                report.health_reads_failed += 1;
            }
            checker_state[checker].observe(ok, config.health_failure_threshold);
        }
        let now_healthy = endpoint_healthy(&checker_state);
        if now_healthy != verdict {
            report.health_verdict_changes += 1;
            verdict = now_healthy;
        }
        now_ms += STEP_MS;
    }
    // `lever_changes` stays 0 by the stacks' design, not by chance: the flood's routes are
    // `POST /events` and `GET /health`, and the lever is written only through the operator
    // role's switch objects, which neither reaches (`ingest dev`'s flood test sends to the
    // lever's own routes too).
    let half_seconds = (flood_ms - second_half_ms) as f64 / 1000.0;
    report.honest_accepted_per_second = if half_seconds > 0.0 {
        accepted_in_second_half as f64 / half_seconds
    } else {
        0.0
    };
    report
}

/// The swarm: `addresses` hostile addresses, each sending just under its limits spread over
/// the window, and the honest clients' share, writing to a stream of the given capacity. The
/// stream's byte and record allowances refill continuously up to a second's worth; when a
/// step's writes exceed them, each write gets through with the same chance (the hostile ones
/// in proportion, the honest ones drawn), and a refused honest request is sent again with the
/// client's backoff.
pub fn run_swarm(swarm: &SwarmConfig, seconds: u64, seed: u64) -> SwarmReport {
    let mut rng = Rng::new(seed ^ u64::from_be_bytes(*b"\0\0\0swarm"));
    let window = swarm.window_seconds.max(1) as f64;
    let small_per_second = swarm.addresses as f64
        * swarm
            .requests_per_window
            .saturating_sub(swarm.large_per_window) as f64
        / window;
    let large_per_second = swarm.addresses as f64 * swarm.large_per_window as f64 / window;
    let honest_per_second = swarm.honest_millievents_per_second as f64 / 1000.0;
    let offered = small_per_second * swarm.small_body_bytes as f64
        + large_per_second * swarm.large_body_bytes as f64
        + honest_per_second * swarm.honest_body_bytes as f64;
    let mut report = SwarmReport {
        addresses: swarm.addresses,
        seconds,
        offered_bytes_per_second: offered as u64,
        stream_bytes_per_second: swarm.stream_bytes_per_second,
        ..SwarmReport::default()
    };
    let mut bytes = Bucket::new(swarm.stream_bytes_per_second, swarm.stream_bytes_per_second);
    let mut records = Bucket::new(
        swarm.stream_records_per_second,
        swarm.stream_records_per_second,
    );
    let mut small = Arrivals::new(small_per_second);
    let mut large = Arrivals::new(large_per_second);
    let mut honest = Arrivals::new(honest_per_second);
    let mut retries: BinaryHeap<Reverse<Retry>> = BinaryHeap::new();
    let mut throttled_in_second = false;
    let flood_ms = seconds * 1000;
    let mut now_ms = 0u64;
    while now_ms < flood_ms || !retries.is_empty() {
        let flooding = now_ms < flood_ms;
        bytes.refill(STEP_MS as f64 / 1000.0);
        records.refill(STEP_MS as f64 / 1000.0);
        let mut sends: Vec<Retry> = Vec::new();
        if flooding {
            for _ in 0..honest.next() {
                sends.push(Retry::fresh(now_ms, 0));
            }
            report.honest_sent += sends.len() as u64;
        }
        while retries.peek().is_some_and(|r| r.0.at_ms <= now_ms) {
            if let Some(Reverse(retry)) = retries.pop() {
                sends.push(retry);
            }
        }
        let (hostile_small, hostile_large) = if flooding {
            (small.next(), large.next())
        } else {
            (0, 0)
        };
        let want_bytes = (hostile_small * swarm.small_body_bytes
            + hostile_large * swarm.large_body_bytes
            + sends.len() as u64 * swarm.honest_body_bytes) as f64;
        let want_records = (hostile_small + hostile_large + sends.len() as u64) as f64;
        let chance = (bytes.tokens / want_bytes.max(1.0))
            .min(records.tokens / want_records.max(1.0))
            .min(1.0);
        if chance < 1.0 {
            throttled_in_second = true;
        }
        let hostile_served =
            chance * (want_bytes - sends.len() as f64 * swarm.honest_body_bytes as f64);
        let hostile_records = chance * (hostile_small + hostile_large) as f64;
        let mut served_bytes = hostile_served;
        let mut served_records = hostile_records;
        for send in sends {
            let got = chance >= 1.0 || (rng.below(1_000_000) as f64) < chance * 1_000_000.0;
            if got {
                served_bytes += swarm.honest_body_bytes as f64;
                served_records += 1.0;
                report.honest_longest_wait_seconds = report
                    .honest_longest_wait_seconds
                    .max((now_ms - send.first_ms) as f64 / 1000.0);
            } else {
                report.honest_refused += 1;
                if send.attempt >= CLIENT_RETRY.retries {
                    report.honest_gave_up += 1;
                } else {
                    retries.push(Reverse(Retry {
                        at_ms: now_ms + CLIENT_RETRY.backoff_ms(send.attempt),
                        attempt: send.attempt + 1,
                        ..send
                    }));
                }
            }
        }
        bytes.tokens = (bytes.tokens - served_bytes).max(0.0);
        records.tokens = (records.tokens - served_records).max(0.0);
        now_ms += STEP_MS;
        if now_ms.is_multiple_of(1000) {
            if throttled_in_second && now_ms <= flood_ms {
                report.throttled_seconds += 1;
            }
            throttled_in_second = false;
        }
    }
    report
}

/// An honest request refused: sent again after the client's backoff, or given up.
fn refuse(
    send: Retry,
    now_ms: u64,
    retries: &mut BinaryHeap<Reverse<Retry>>,
    report: &mut FloodReport,
) {
    if send.attempt >= CLIENT_RETRY.retries {
        report.honest_gave_up += 1;
        return;
    }
    retries.push(Reverse(Retry {
        at_ms: now_ms + CLIENT_RETRY.backoff_ms(send.attempt),
        attempt: send.attempt + 1,
        ..send
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> WafRule {
        WafRule {
            rate_per_ip: 100,
            window_seconds: 60,
            detection_seconds: 30,
        }
    }

    #[test]
    fn the_rate_rule_blocks_from_the_check_after_the_limit_and_lets_go_once_the_window_is_under() {
        let mut waf = RateRule::new(&rule(), 2);
        // Address 0 sends 101 in the first 30 s; address 1 exactly the limit.
        assert!(waf.admit(0, 101), "nothing is blocked before a check");
        assert!(waf.admit(1, 100));
        waf.check();
        assert!(waf.blocked[0] && !waf.blocked[1]);
        // Blocked requests still count: while address 0 keeps sending, it stays blocked.
        assert!(!waf.admit(0, 60));
        waf.check();
        assert!(waf.blocked[0], "161 in the trailing 60 s");
        // It stops sending: the next check sees only the last interval's 60, under the limit.
        waf.check();
        assert!(!waf.blocked[0], "60 in the trailing 60 s");
        assert!(waf.admit(0, 1));
    }

    #[test]
    fn a_bucket_serves_its_burst_then_its_rate_and_shares_it_at_random() {
        let mut rng = Rng::new(1);
        let mut bucket = Bucket::new(10, 20);
        let (ours, others) = bucket.serve(5, 15, &mut rng);
        assert_eq!((ours, others), (vec![true; 5], 15), "the burst covers 20");
        let (ours, others) = bucket.serve(1, 0, &mut rng);
        assert_eq!((ours, others), (vec![false], 0), "empty until it refills");
        bucket.refill(1.0);
        // 10 tokens for 1000 requests of which 100 are ours: about a tenth of the tokens.
        let mut ours_served = 0;
        let mut others_served = 0;
        for _ in 0..1000 {
            let (ours, others) = bucket.serve(100, 900, &mut rng);
            ours_served += ours.iter().filter(|got| **got).count();
            others_served += others;
            bucket.refill(1.0);
        }
        assert_eq!(ours_served as u64 + others_served, 10_000);
        assert!((800..1200).contains(&ours_served), "{ours_served}");
    }
}
