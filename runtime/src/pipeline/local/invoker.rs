//! Lambda `Invoke` of a validator in this process.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::super::bridge::INVOKE_LIMIT_BYTES;
use super::super::validator::ValidatorHandler;
use super::super::{
    Deadline, ErrorKind, InfraError, InvokeOutput, Invoker, ObjectStore, Service, Sleeper,
};
use super::Faults;

/// Lambda `Invoke` of a validator in this process.
#[derive(Debug)]
pub struct LocalInvoker<'a, S, Z> {
    /// The function's name or ARN, as the bridge is configured with.
    pub function: String,
    /// The validator it runs.
    pub validator: ValidatorHandler<'a, S, Z>,
    /// An outage of the function.
    pub faults: &'a Faults,
    /// The function's timeout: a run that takes longer (on the validator's clock) answers
    /// as Lambda does, with a function error and no result; the handler starts no work it
    /// could not finish before it.
    pub timeout: Option<Duration>,
    invocations: AtomicU64,
}

impl<'a, S, Z> LocalInvoker<'a, S, Z> {
    /// An invoker of `validator` under the name `function`.
    pub fn new(function: &str, validator: ValidatorHandler<'a, S, Z>, faults: &'a Faults) -> Self {
        LocalInvoker {
            function: function.to_owned(),
            validator,
            faults,
            timeout: None,
            invocations: AtomicU64::new(0),
        }
    }

    /// Invocations so far (failed ones included).
    pub fn invocations(&self) -> u64 {
        self.invocations.load(Ordering::SeqCst)
    }
}

impl<S: ObjectStore, Z: Sleeper> Invoker for LocalInvoker<'_, S, Z> {
    fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<InvokeOutput, InfraError>> + Send {
        self.invocations.fetch_add(1, Ordering::SeqCst);
        let precheck = if function != self.function {
            Err(InfraError::new(
                Service::Lambda,
                "Invoke",
                ErrorKind::NotFound,
                format!("ResourceNotFoundException: {function}"),
            ))
        } else if payload.len() > INVOKE_LIMIT_BYTES {
            Err(InfraError::new(
                Service::Lambda,
                "Invoke",
                ErrorKind::Invalid,
                format!(
                    "RequestEntityTooLargeException: {} bytes, more than {INVOKE_LIMIT_BYTES}",
                    payload.len()
                ),
            ))
        } else {
            self.faults.check(Service::Lambda, "Invoke")
        };
        async move {
            precheck?;
            let started = self.validator.sleeper.now_ms();
            let validator = ValidatorHandler {
                deadline: self
                    .timeout
                    .map_or(Deadline::NONE, |timeout| Deadline::after(started, timeout)),
                ..self.validator
            };
            let answer = validator.handle_payload(&payload).await;
            let took = self.validator.sleeper.now_ms().saturating_sub(started);
            if let Some(timeout) = self.timeout.filter(|t| u128::from(took) > t.as_millis()) {
                return Ok(InvokeOutput {
                    function_error: Some("Unhandled".to_owned()),
                    payload: serde_json::json!({
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": format!("Task timed out after {} seconds", timeout.as_secs()),
                    })
                    .to_string()
                    .into_bytes(),
                });
            }
            match answer {
                Ok(payload) => Ok(InvokeOutput {
                    function_error: None,
                    payload,
                }),
                Err(error) => Ok(InvokeOutput {
                    function_error: Some("Unhandled".to_owned()),
                    payload: serde_json::json!({"errorType": "HandlerError", "errorMessage": error.to_string()})
                        .to_string()
                        .into_bytes(),
                }),
            }
        }
    }
}
