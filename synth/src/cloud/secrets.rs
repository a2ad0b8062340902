//! The health token: the secret only our Route 53 endpoint checks send
//! (`docs/security.md#the-health-token`).
//!
//! Anyone can create Route 53 health checks in their own account against our health route:
//! they come from the same checker ranges as ours, so an address allow-list cannot tell them
//! apart. Our checks send `?token=<value>`, and the web ACLs admit a health read only with it.
//! The value lives in the Secrets Manager secret `<name>/health-token`, one copy in each region
//! whose stacks take it (the regional stacks' web ACLs, the dns stack's checks), and reaches
//! the stacks as a `NoEcho` parameter, so the generated templates hold no value and stay the
//! same for the same spec.
//!
//! **One value, kept.** [`health_token`] reads every copy, uses the one value it finds and
//! copies it to the regions that lack it; two copies that differ are an error that names them.
//! When no region has it, the value the deployed endpoint checks send is the truth (read from
//! Route 53 by [`deployed_checks`]): the secret is made again with that value, never a new
//! one behind the checks' back. Only with no deployed checks (a first deploy) is a random one
//! created (Secrets Manager's `GetRandomPassword`, 43 letters and digits, about 256 bits). The
//! value changes only on `ingest deploy --rotate-health-token` (`PutSecretValue` in every
//! region; Secrets Manager keeps the old version as `AWSPREVIOUS`).
//!
//! **No window.** A change of the token (a rotation, or the first deploy of a web ACL that
//! requires one onto checks that send none) cannot reach the web ACLs and the checks at the
//! same moment: the regional stacks and the dns stack deploy one after the other, minutes
//! apart. So each web ACL accepts two values, `HealthToken` and `HealthTokenPrevious`, and
//! [`decide`] picks the second from what the deployed checks send: a rotation deploys the
//! regions accepting {new, old}, then the checks send new, and the next deploy narrows the web
//! ACLs to {new, new}. Checks that send no token at all (stacks from before the token) are
//! updated first, while the deployed web ACLs still ignore the query string.

use aws_sdk_secretsmanager::types::Tag;

use super::stacks::{Stacks, StatusKind, status_kind};
use super::{Call, Cloud, CloudError};
use crate::errors::Error;

/// Length of a generated token: 43 characters of 62 carry about 256 bits.
const TOKEN_LENGTH: i64 = 43;
/// What a token may be: URL-safe (it goes in a query string unencoded), 32-128 characters
/// (the parameters' `AllowedPattern`; WAF's `SearchString` allows 200 bytes).
fn valid_token(value: &str) -> bool {
    (32..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where the value [`health_token`] returns came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The secret, as it was (copied to the regions in `created_in`).
    Kept,
    /// No region had the secret: the value the deployed endpoint checks send, written back.
    Recovered,
    /// No region had the secret and no check is deployed: a new random value.
    New,
    /// `--rotate-health-token`: a new random value in place of the one the secret held.
    Rotated,
}

/// What [`health_token`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthToken {
    /// The value.
    pub value: String,
    /// Where it came from.
    pub source: TokenSource,
    /// Regions where the secret was created (or, with `create` false, would be).
    pub created_in: Vec<String>,
}

/// The secret's value in `region`, if it exists.
async fn read(cloud: &Cloud, region: &str, secret: &str) -> Result<Option<String>, CloudError> {
    let answer = cloud
        .secretsmanager(region)
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await;
    match answer {
        Ok(answer) => Ok(Some(answer.secret_string.unwrap_or_default())),
        Err(error) => {
            let error = cloud.error(Call::new("secretsmanager", "GetSecretValue", region), error);
            if error.service_code() == Some("ResourceNotFoundException") {
                Ok(None)
            } else {
                Err(error)
            }
        }
    }
}

/// A new random token from Secrets Manager in `region`.
async fn random_token(cloud: &Cloud, region: &str) -> Result<String, CloudError> {
    let call = || Call::new("secretsmanager", "GetRandomPassword", region);
    cloud
        .secretsmanager(region)
        .get_random_password()
        .password_length(TOKEN_LENGTH)
        .exclude_punctuation(true)
        .include_space(false)
        .require_each_included_type(true)
        .send()
        .await
        .map_err(|e| cloud.error(call(), e))?
        .random_password
        .filter(|value| valid_token(value))
        .ok_or_else(|| CloudError::Unexpected {
            call: call().to_string(),
            what: "no password of 43 letters and digits in the answer".to_owned(),
        })
}

/// How [`health_token`] may change the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Create it where it is absent (`ingest deploy`).
    Create,
    /// Create it where it is absent, and put a new random value where it is (`ingest deploy
    /// --rotate-health-token`).
    Rotate,
    /// Nothing (`ingest diff`): a missing token is made up for the change set only.
    ReadOnly,
}

/// The health token kept in `secret` in every one of `regions`: the existing value, copied
/// where it is missing; when no region has it, `deployed` (the value the deployed endpoint
/// checks send, [`DeployedChecks::sent`]), else a new random one; with [`Write::Rotate`] a new
/// random one in every region.
pub async fn health_token(
    cloud: &Cloud,
    name: &str,
    secret: &str,
    regions: &[String],
    deployed: Option<&str>,
    write: Write,
) -> Result<HealthToken, Error> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for region in regions {
        match read(cloud, region, secret).await? {
            Some(value) => found.push((region.clone(), value)),
            None => missing.push(region.clone()),
        }
    }
    if let Some((region, value)) = found.iter().find(|(_, value)| !valid_token(value)) {
        return Err(Error::HealthToken {
            what: format!(
                "the secret {secret} in {region} holds {} characters that are not a health token",
                value.len()
            ),
            help: format!(
                "put 32 to 128 letters, digits, `-` or `_` in it (for example `aws secretsmanager put-secret-value --region {region} --secret-id {secret} --secret-string \"$(openssl rand -base64 32 | tr '+/' '-_' | tr -d =)\"`), the same in {}",
                regions.join(" and ")
            ),
        });
    }
    if let Some((first_region, first)) = found.first()
        && let Some((other_region, _)) = found.iter().find(|(_, value)| value != first)
    {
        return Err(Error::HealthToken {
            what: format!(
                "the secret {secret} differs between {first_region} and {other_region}: the web ACLs and the health checks must send and expect one value"
            ),
            help: format!(
                "put the value the deployed stacks use (the one in {first_region}, if you did not rotate it) in every region: `aws secretsmanager put-secret-value --region {other_region} --secret-id {secret} --secret-string ...`"
            ),
        });
    }
    let (value, source) = match (write, found.first(), deployed) {
        (Write::Rotate, _, _) => (
            random_token(cloud, &regions[0]).await?,
            TokenSource::Rotated,
        ),
        (_, Some((_, value)), _) => (value.clone(), TokenSource::Kept),
        (_, None, Some(sent)) if valid_token(sent) => (sent.to_owned(), TokenSource::Recovered),
        (_, None, _) => (random_token(cloud, &regions[0]).await?, TokenSource::New),
    };
    if write == Write::Rotate {
        for (region, _) in &found {
            cloud
                .secretsmanager(region)
                .put_secret_value()
                .secret_id(secret)
                .secret_string(&value)
                .send()
                .await
                .map_err(|e| {
                    cloud.error(Call::new("secretsmanager", "PutSecretValue", region), e)
                })?;
        }
    }
    if write != Write::ReadOnly {
        for region in &missing {
            cloud
                .secretsmanager(region)
                .create_secret()
                .name(secret)
                .description(format!(
                    "ingest {name} - the health token: only Route 53 endpoint checks that send it may read the health route (created by ingest deploy; the same value in every region)"
                ))
                .secret_string(&value)
                .tags(Tag::builder().key("ingest:name").value(name).build())
                .send()
                .await
                .map_err(|e| cloud.error(Call::new("secretsmanager", "CreateSecret", region), e))?;
        }
    }
    Ok(HealthToken {
        value,
        source,
        created_in: missing,
    })
}

/// What the deployed endpoint checks send, as Route 53 has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployedChecks {
    /// No stack of checks (a first deploy), or one without endpoint checks.
    Absent,
    /// The `token` query argument of each endpoint check's `ResourcePath`, in the stack's
    /// resource order (`None`: the check sends no token, a stack from before the token).
    Sending(Vec<Option<String>>),
}

impl DeployedChecks {
    /// The token the deployed checks send, if those that send one agree on it: the value a
    /// lost secret is made again with.
    pub fn sent(&self) -> Option<&str> {
        let DeployedChecks::Sending(tokens) = self else {
            return None;
        };
        let mut sent = tokens.iter().flatten();
        let first = sent.next()?;
        sent.all(|token| token == first).then_some(first.as_str())
    }
}

/// The value of the query argument `argument` in a health check's `ResourcePath`
/// (`/v1/health?token=abc` gives `abc`), if it has one.
pub fn token_in_path(path: &str, argument: &str) -> Option<String> {
    let (_, query) = path.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == argument && !value.is_empty()).then(|| value.to_owned())
    })
}

/// What the endpoint checks of `stack` (the dns stack, in `region`) send now: the stack's
/// `AWS::Route53::HealthCheck` resources (DescribeStackResources), each read with
/// `route53:GetHealthCheck`; the HTTP(S) ones are the endpoint checks.
pub async fn deployed_checks(
    cloud: &Cloud,
    stack: &str,
    region: &str,
    argument: &str,
) -> Result<DeployedChecks, CloudError> {
    if Stacks::new(cloud, region)
        .describe(stack)
        .await?
        .is_none_or(|s| status_kind(&s.status) == StatusKind::Review)
    {
        return Ok(DeployedChecks::Absent);
    }
    let resources = cloud
        .cloudformation(region)
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            cloud.error(
                Call::new("cloudformation", "DescribeStackResources", region),
                e,
            )
        })?;
    let mut tokens = Vec::new();
    for resource in resources.stack_resources() {
        if resource.resource_type() != Some("AWS::Route53::HealthCheck") {
            continue;
        }
        // A stack whose first create failed lists its deleted resources too.
        if resource
            .resource_status()
            .is_some_and(|status| status.as_str().starts_with("DELETE_"))
        {
            continue;
        }
        let Some(id) = resource.physical_resource_id().filter(|id| !id.is_empty()) else {
            continue;
        };
        let answer = match cloud
            .route53(region)
            .get_health_check()
            .health_check_id(id)
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(error) => {
                let error = cloud.error(Call::new("route53", "GetHealthCheck", region), error);
                if error.service_code() == Some("NoSuchHealthCheck") {
                    continue;
                }
                return Err(error);
            }
        };
        let Some(config) = answer
            .health_check()
            .and_then(|check| check.health_check_config())
        else {
            continue;
        };
        if !matches!(
            config.r#type().as_str(),
            "HTTP" | "HTTPS" | "HTTP_STR_MATCH" | "HTTPS_STR_MATCH"
        ) {
            continue;
        }
        // A value that is not a token (a path edited by hand) counts as none: the web ACLs
        // must not accept it, and the checks are updated first to send the current one.
        tokens.push(
            config
                .resource_path()
                .and_then(|path| token_in_path(path, argument))
                .filter(|token| valid_token(token)),
        );
    }
    Ok(if tokens.is_empty() {
        DeployedChecks::Absent
    } else {
        DeployedChecks::Sending(tokens)
    })
}

/// In which order the stacks of one deploy go, for the health token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The usual order: the regional stacks, then the dns stack (its parameters are their
    /// outputs). Their web ACLs accept the token the checks send now and the current one.
    RegionsFirst,
    /// The dns stack first (with the deployed regional stacks' outputs), then the usual order:
    /// the deployed checks send no token, and the deployed web ACLs, from before the token,
    /// ignore the query string, while the new ones would refuse a read without it.
    DnsFirst,
}

/// Where the token stands, for the deploy's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// No endpoint checks yet (a first deploy): nothing sends a token.
    FirstDeploy,
    /// The checks send the current token: the web ACLs accept it alone.
    Steady,
    /// The checks send another token (a rotation under way): the web ACLs accept both until the
    /// dns stack has deployed; the next deploy drops the previous one.
    Rotating,
    /// The checks send no token (stacks from before it): they change first.
    Upgrading,
}

/// What [`decide`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDecision {
    /// The value of `HealthTokenPrevious`: the token the checks send now, or the current one.
    pub previous: String,
    /// The order of the stacks.
    pub order: Order,
    /// Where the token stands.
    pub transition: Transition,
}

/// Which token the web ACLs accept beside `current`, and in which order the stacks go, from
/// what the deployed checks send. Pure: the deploy's only decision about the token.
pub fn decide(current: &str, checks: &DeployedChecks) -> TokenDecision {
    let same = |transition| TokenDecision {
        previous: current.to_owned(),
        order: Order::RegionsFirst,
        transition,
    };
    let DeployedChecks::Sending(tokens) = checks else {
        return same(Transition::FirstDeploy);
    };
    if tokens.iter().any(Option::is_none) {
        // Checks without a token first: after them, the web ACLs need the current one only.
        return TokenDecision {
            order: Order::DnsFirst,
            ..same(Transition::Upgrading)
        };
    }
    match tokens.iter().flatten().find(|token| *token != current) {
        Some(sent) => TokenDecision {
            previous: sent.clone(),
            order: Order::RegionsFirst,
            transition: Transition::Rotating,
        },
        None => same(Transition::Steady),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_url_safe_and_long_enough() {
        assert!(valid_token(&"a".repeat(43)));
        assert!(valid_token("Ab0-_Ab0-_Ab0-_Ab0-_Ab0-_Ab0-_Ab"));
        assert!(!valid_token(&"a".repeat(31)), "too short to guess-proof");
        assert!(!valid_token(&"a".repeat(129)));
        assert!(
            !valid_token(&format!("{}&x=1", "a".repeat(40))),
            "breaks the query"
        );
        assert!(
            !valid_token(&format!("{}+/", "a".repeat(40))),
            "base64 needs encoding"
        );
    }

    const NEW: &str = "NewNewNewNewNewNewNewNewNewNewNewNewNewNew123";
    const OLD: &str = "OldOldOldOldOldOldOldOldOldOldOldOldOldOld123";

    fn sending(tokens: &[Option<&str>]) -> DeployedChecks {
        DeployedChecks::Sending(tokens.iter().map(|t| t.map(str::to_owned)).collect())
    }

    #[test]
    fn a_first_deploy_accepts_the_current_token_alone_in_the_usual_order() {
        let decision = decide(NEW, &DeployedChecks::Absent);
        assert_eq!(decision.previous, NEW);
        assert_eq!(decision.order, Order::RegionsFirst);
        assert_eq!(decision.transition, Transition::FirstDeploy);
    }

    #[test]
    fn checks_that_send_the_current_token_narrow_the_web_acls_to_it() {
        let decision = decide(NEW, &sending(&[Some(NEW), Some(NEW)]));
        assert_eq!(decision.previous, NEW);
        assert_eq!(decision.order, Order::RegionsFirst);
        assert_eq!(decision.transition, Transition::Steady);
    }

    #[test]
    fn a_rotation_keeps_the_token_the_checks_send_until_they_send_the_new_one() {
        // The web ACLs update first and must still admit the deployed checks.
        let decision = decide(NEW, &sending(&[Some(OLD), Some(OLD)]));
        assert_eq!(decision.previous, OLD);
        assert_eq!(decision.order, Order::RegionsFirst);
        assert_eq!(decision.transition, Transition::Rotating);
    }

    #[test]
    fn checks_from_before_the_token_are_updated_before_the_web_acls_require_it() {
        for checks in [
            sending(&[None, None]),
            // A dns update that half happened is rolled back, but be safe with a mix.
            sending(&[None, Some(NEW)]),
            sending(&[Some(OLD), None]),
        ] {
            let decision = decide(NEW, &checks);
            assert_eq!(decision.order, Order::DnsFirst, "{checks:?}");
            assert_eq!(decision.transition, Transition::Upgrading);
            // Once the checks send the current token, the web ACLs need no other.
            assert_eq!(decision.previous, NEW);
        }
    }

    #[test]
    fn the_token_a_check_sends_is_its_query_argument() {
        assert_eq!(
            token_in_path(&format!("/v1/health?token={OLD}"), "token").as_deref(),
            Some(OLD)
        );
        assert_eq!(
            token_in_path("/v1/health?x=1&token=abc&y=2", "token").as_deref(),
            Some("abc")
        );
        assert_eq!(token_in_path("/v1/health", "token"), None);
        assert_eq!(token_in_path("/v1/health?token=", "token"), None);
        assert_eq!(token_in_path("/v1/health?tokens=abc", "token"), None);
        // What a lost secret is made again with: the one value the checks that send one agree on.
        assert_eq!(sending(&[Some(OLD), Some(OLD)]).sent(), Some(OLD));
        assert_eq!(sending(&[Some(OLD), Some(NEW)]).sent(), None);
        assert_eq!(sending(&[Some(OLD), None]).sent(), Some(OLD));
        assert_eq!(sending(&[None, None]).sent(), None);
        assert_eq!(DeployedChecks::Absent.sent(), None);
    }
}
