//! AWS failures as one line that says what happened and what to do.
//!
//! [`from_sdk`] sorts an SDK failure by what the user can do about it: credentials that are
//! missing or refused (set them), an action IAM denied (grant it: the line names the action and
//! the resource, taken from AWS's own message when it says them), throttling that outlasted the
//! SDK's retries (wait), an endpoint that could not be reached (check `--endpoint-url` and the
//! network), and anything else the service answered (its code and message).

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use super::Call;

/// Error codes that mean the credentials themselves were refused.
const CREDENTIAL_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidToken",
];
/// Error codes of a denied action.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "Forbidden",
];
/// Error codes that mean "slow down".
const THROTTLED_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "RequestThrottled",
    "PriorRequestNotComplete",
];

/// What went wrong talking to AWS.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CloudError {
    /// The credential chain found nothing.
    #[error(
        "no AWS credentials{}{}",
        profile_phrase(profile),
        detail_phrase(detail)
    )]
    #[diagnostic(
        code(ingest::aws_credentials),
        help(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary \
             credentials), or name a profile of ~/.aws/config with --profile or AWS_PROFILE \
             (for IAM Identity Center, run `aws sso login --profile NAME` first)"
        )
    )]
    NoCredentials {
        /// The profile asked for, if any.
        profile: Option<String>,
        /// What the chain said, when it said something useful.
        detail: Option<String>,
    },

    /// AWS refused the credentials (expired, unknown key, bad signature).
    #[error("AWS refused the credentials ({code}) on {call}")]
    #[diagnostic(
        code(ingest::aws_credentials_refused),
        help(
            "the access key is unknown, disabled or expired: refresh it (for IAM Identity Center: \
             `aws sso login`), or unset AWS_ACCESS_KEY_ID/AWS_SESSION_TOKEN to use the profile"
        )
    )]
    CredentialsRefused {
        /// The call.
        call: String,
        /// The service's error code.
        code: String,
    },

    /// `--profile` names a profile that is in no AWS configuration file.
    #[error("AWS profile `{profile}` is not defined in ~/.aws/config or ~/.aws/credentials")]
    #[diagnostic(code(ingest::aws_profile), help("{}", known_profiles(known)))]
    UnknownProfile {
        /// The profile asked for.
        profile: String,
        /// The profiles that exist.
        known: Vec<String>,
    },

    /// The AWS configuration files could not be read.
    #[error("cannot read the AWS configuration files: {detail}")]
    #[diagnostic(
        code(ingest::aws_profile_file),
        help("fix ~/.aws/config (or the file AWS_CONFIG_FILE names)")
    )]
    ProfileFile {
        /// What the parser said.
        detail: String,
    },

    /// IAM denied an action.
    #[error("access denied: {action} on {resource}")]
    #[diagnostic(
        code(ingest::aws_access_denied),
        help(
            "allow {action} on {resource} for the identity you deploy with (docs/deploy.md lists \
             every permission ingest needs)"
        )
    )]
    Denied {
        /// The IAM action.
        action: String,
        /// The resource, as AWS named it (or the call's region when it did not).
        resource: String,
    },

    /// AWS kept throttling the call through every retry.
    #[error("AWS throttled {call} through {attempts} attempts")]
    #[diagnostic(
        code(ingest::aws_throttled),
        help(
            "another tool or pipeline in the account is using the same API heavily; wait a minute \
             and run the command again"
        )
    )]
    Throttled {
        /// The call.
        call: String,
        /// How many attempts were made.
        attempts: u32,
    },

    /// The endpoint did not answer.
    #[error("cannot reach {endpoint} for {call}: {reason}")]
    #[diagnostic(
        code(ingest::aws_unreachable),
        help(
            "check the network, and --endpoint-url / AWS_ENDPOINT_URL if you point ingest at an \
             emulator (is it running?)"
        )
    )]
    Unreachable {
        /// The endpoint (the override, or AWS's own endpoint of the service).
        endpoint: String,
        /// The call.
        call: String,
        /// What failed (connection refused, timed out, DNS).
        reason: String,
    },

    /// The service answered with an error.
    #[error("{call} failed: {code}: {message}")]
    #[diagnostic(code(ingest::aws_call))]
    Service {
        /// The call.
        call: String,
        /// The service's error code.
        code: String,
        /// Its message.
        message: String,
    },

    /// The endpoint answered with an HTTP error that carries no AWS error.
    #[error("{endpoint} answered {call} with HTTP {status} and no AWS error")]
    #[diagnostic(
        code(ingest::aws_unsupported),
        help(
            "an emulator that does not implement this call answers so; against AWS, a proxy or \
             firewall is in the way"
        )
    )]
    Unsupported {
        /// The call.
        call: String,
        /// The endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
    },

    /// An answer lacked what the call promises.
    #[error("{call}: {what}")]
    #[diagnostic(
        code(ingest::aws_unexpected),
        help("the endpoint does not behave like AWS; if it is an emulator, it lacks this part")
    )]
    Unexpected {
        /// The call.
        call: String,
        /// What was missing or wrong.
        what: String,
    },
}

impl CloudError {
    /// No credentials: the chain found none (`detail` is what it said).
    pub fn no_credentials(profile: Option<&str>, detail: Option<String>) -> CloudError {
        CloudError::NoCredentials {
            profile: profile.map(str::to_owned),
            detail,
        }
    }

    /// A failure of the credential chain, before any call.
    pub fn credentials(profile: Option<&str>, error: &CredentialsError) -> CloudError {
        let detail = match error {
            // "no providers in chain provided credentials" says nothing a user can act on.
            CredentialsError::CredentialsNotLoaded(_) => None,
            other => Some(error_chain(other)),
        };
        CloudError::no_credentials(profile, detail)
    }

    /// The service's error code, when the service answered one.
    pub fn service_code(&self) -> Option<&str> {
        match self {
            CloudError::Service { code, .. } | CloudError::CredentialsRefused { code, .. } => {
                Some(code)
            }
            _ => None,
        }
    }

    /// The service's message, when it answered with an error.
    pub fn service_message(&self) -> Option<&str> {
        match self {
            CloudError::Service { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// An SDK failure of `call` as a [`CloudError`]; `endpoint` is the override in force, if any.
pub fn from_sdk<E>(
    call: Call,
    endpoint: Option<&str>,
    error: SdkError<E, HttpResponse>,
) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(credentials) = find_source::<CredentialsError>(&error) {
        return CloudError::credentials(None, credentials);
    }
    match &error {
        SdkError::ServiceError(context) => {
            let err = context.err();
            let status = context.raw().status().as_u16();
            match err.code() {
                Some(code) => classify(
                    call,
                    code.to_owned(),
                    err.message().unwrap_or("").to_owned(),
                ),
                // An answer without an error code is not AWS's: an emulator that lacks the call,
                // or a proxy in the way.
                None => CloudError::Unsupported {
                    call: call.to_string(),
                    endpoint: endpoint.map_or_else(|| "the endpoint".to_owned(), str::to_owned),
                    status,
                },
            }
        }
        SdkError::TimeoutError(_) => unreachable(call, endpoint, "timed out".to_owned()),
        SdkError::DispatchFailure(failure) => {
            let reason = if failure.is_timeout() {
                "timed out".to_owned()
            } else {
                innermost(&error)
            };
            unreachable(call, endpoint, reason)
        }
        SdkError::ResponseError(_) => CloudError::Unexpected {
            call: call.to_string(),
            what: format!("unreadable answer: {}", innermost(&error)),
        },
        _ => CloudError::Unexpected {
            call: call.to_string(),
            what: error_chain(&error),
        },
    }
}

/// A service's error answer, sorted by its code.
pub fn classify(call: Call, code: String, message: String) -> CloudError {
    if CREDENTIAL_CODES.contains(&code.as_str()) {
        return CloudError::CredentialsRefused {
            call: call.to_string(),
            code,
        };
    }
    if DENIED_CODES.contains(&code.as_str()) || message.contains("is not authorized to perform") {
        let (action, resource) = denied_parts(&message);
        return CloudError::Denied {
            action: action.unwrap_or_else(|| call.action()),
            resource: resource
                .unwrap_or_else(|| format!("the resources it needs in {}", call.region)),
        };
    }
    if THROTTLED_CODES.contains(&code.as_str()) {
        return CloudError::Throttled {
            call: call.to_string(),
            attempts: super::MAX_ATTEMPTS,
        };
    }
    CloudError::Service {
        call: call.to_string(),
        code,
        message,
    }
}

/// The action and resource of AWS's "... is not authorized to perform: ACTION on resource:
/// RESOURCE because ..." message.
fn denied_parts(message: &str) -> (Option<String>, Option<String>) {
    let after = |marker: &str| {
        message.find(marker).map(|at| {
            message[at + marker.len()..]
                .trim_start()
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or("")
                .trim_end_matches(['.', ','])
                .to_owned()
        })
    };
    let action = after("not authorized to perform:").filter(|a| !a.is_empty());
    let resource = after("on resource:").filter(|r| !r.is_empty());
    (action, resource)
}

fn unreachable(call: Call, endpoint: Option<&str>, reason: String) -> CloudError {
    let endpoint = endpoint.map_or_else(
        || format!("the {} endpoint of {}", call.service, call.region),
        str::to_owned,
    );
    CloudError::Unreachable {
        endpoint,
        call: call.to_string(),
        reason,
    }
}

fn find_source<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// The deepest cause's message (connection refused, dns error...).
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// Every message of the chain, joined.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn profile_phrase(profile: &Option<String>) -> String {
    profile
        .as_deref()
        .map(|p| format!(" for profile `{p}`"))
        .unwrap_or_default()
}

fn detail_phrase(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

fn known_profiles(known: &[String]) -> String {
    if known.is_empty() {
        "no profile is defined: create one with `aws configure --profile NAME`, or set \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            .to_owned()
    } else {
        format!("defined profiles: {}", known.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call {
        Call::new("cloudformation", "CreateChangeSet", "us-east-1")
    }

    #[test]
    fn denied_names_the_action_and_the_resource_aws_gave() {
        let error = classify(
            call(),
            "AccessDenied".into(),
            "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: \
             cloudformation:CreateChangeSet on resource: arn:aws:cloudformation:us-east-1:123456789012:stack/x/* \
             because no identity-based policy allows the cloudformation:CreateChangeSet action"
                .into(),
        );
        assert_eq!(
            error.to_string(),
            "access denied: cloudformation:CreateChangeSet on arn:aws:cloudformation:us-east-1:123456789012:stack/x/*"
        );
    }

    #[test]
    fn denied_without_details_names_the_call() {
        let error = classify(
            Call::new("s3", "HeadBucket", "us-west-2"),
            "AccessDenied".into(),
            "Access Denied".into(),
        );
        assert_eq!(
            error.to_string(),
            "access denied: s3:ListBucket on the resources it needs in us-west-2"
        );
    }

    #[test]
    fn refused_credentials_and_throttling_are_their_own_kinds() {
        assert!(matches!(
            classify(call(), "ExpiredToken".into(), String::new()),
            CloudError::CredentialsRefused { .. }
        ));
        assert_eq!(
            classify(call(), "Throttling".into(), "Rate exceeded".into()).to_string(),
            "AWS throttled cloudformation:CreateChangeSet in us-east-1 through 5 attempts"
        );
        assert_eq!(
            classify(call(), "ValidationError".into(), "bad".into()).to_string(),
            "cloudformation:CreateChangeSet in us-east-1 failed: ValidationError: bad"
        );
    }
}
