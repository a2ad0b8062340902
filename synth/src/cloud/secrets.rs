//! The health token: the secret only our Route 53 endpoint checks send
//! (`docs/security.md#the-health-route`).
//!
//! Anyone can create Route 53 health checks in their own account against our health route:
//! they come from the same checker ranges as ours, so an address allow-list cannot tell them
//! apart. Our checks send `?token=<value>`, and the web ACLs admit a health read only with it.
//! The value lives in the Secrets Manager secret `<name>/health-token`, one copy in each region
//! whose stacks take it (the regional stacks' web ACLs, the dns stack's checks), and reaches
//! the stacks as a `NoEcho` parameter, so the generated templates hold no value and stay the
//! same for the same spec.
//!
//! The value must be the same everywhere and across deploys: a web ACL that expects one value
//! while the checks send another fails the checks. So [`health_token`] reads every copy, uses
//! the one value it finds, copies it to the regions that lack it, and creates a random one
//! (Secrets Manager's `GetRandomPassword`, 43 letters and digits, about 256 bits) only when no
//! region has one. It never changes an existing value (rotating is the operator's act, in the
//! order `docs/security.md` gives), and two copies that differ are an error that names them.

use aws_sdk_secretsmanager::types::Tag;

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

/// What [`health_token`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthToken {
    /// The value.
    pub value: String,
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

/// The health token kept in `secret` in every one of `regions`: the existing value, copied
/// where it is missing, or a new random one when no region has it. With `create` false
/// (`ingest diff`) nothing is written: a missing token is made up for the change set only.
pub async fn health_token(
    cloud: &Cloud,
    name: &str,
    secret: &str,
    regions: &[String],
    create: bool,
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
    let value = match found.into_iter().next() {
        Some((_, value)) => value,
        None => {
            let region = &regions[0];
            cloud
                .secretsmanager(region)
                .get_random_password()
                .password_length(TOKEN_LENGTH)
                .exclude_punctuation(true)
                .include_space(false)
                .require_each_included_type(true)
                .send()
                .await
                .map_err(|e| {
                    cloud.error(Call::new("secretsmanager", "GetRandomPassword", region), e)
                })?
                .random_password
                .filter(|value| valid_token(value))
                .ok_or_else(|| CloudError::Unexpected {
                    call: Call::new("secretsmanager", "GetRandomPassword", region).to_string(),
                    what: "no password of 43 letters and digits in the answer".to_owned(),
                })?
        }
    };
    if create {
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
        created_in: missing,
    })
}

#[cfg(test)]
mod tests {
    use super::valid_token;

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
}
