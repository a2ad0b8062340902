//! CloudFormation: what is deployed, change sets, and following a stack's events to the end.
//!
//! Every change goes through a change set ([`Stacks::create_change_set`]): it is the diff
//! `ingest diff` shows and the one `ingest deploy` executes, so what was shown is exactly what
//! runs. A change set CloudFormation refuses because nothing changed is "no changes", not an
//! error. [`Stacks::follow`] polls the stack's events from a cursor taken before the operation
//! started and hands each new one, oldest first, to an observer (the progress display), until
//! the stack reaches a stable status; it keeps the failures (with CloudFormation's reasons) and
//! the resources a deletion skipped (retained).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter, Tag};

use super::{Call, Cloud, CloudError};

/// First wait between two polls; it doubles up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(250);
/// Longest wait between two polls.
const POLL_MAX: Duration = Duration::from_secs(3);

/// A stack as CloudFormation describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedStack {
    /// The stack's ARN (it stays valid after deletion, unlike the name).
    pub id: String,
    /// Its name.
    pub name: String,
    /// `CREATE_COMPLETE`, `UPDATE_ROLLBACK_FAILED`...
    pub status: String,
    /// Why it is in that status, when CloudFormation says.
    pub status_reason: Option<String>,
    /// Outputs by key.
    pub outputs: BTreeMap<String, String>,
    /// Parameters by key.
    pub parameters: BTreeMap<String, String>,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
}

/// What a stack's status means for the next operation on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    /// Deployed and stable: it can be updated.
    Stable,
    /// Created by a change set that never ran (`REVIEW_IN_PROGRESS`): a create change set
    /// works on it.
    Review,
    /// An operation is running.
    Busy,
    /// The first create failed and rolled back (`ROLLBACK_COMPLETE`): it can only be deleted.
    FailedCreate,
    /// An update's rollback failed (`UPDATE_ROLLBACK_FAILED`): continue the rollback first.
    RollbackFailed,
    /// A deletion failed: delete again once the cause is removed.
    DeleteFailed,
    /// Gone.
    Deleted,
}

/// How a status is to be read.
pub fn status_kind(status: &str) -> StatusKind {
    match status {
        "REVIEW_IN_PROGRESS" => StatusKind::Review,
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" => StatusKind::FailedCreate,
        "UPDATE_ROLLBACK_FAILED" => StatusKind::RollbackFailed,
        "DELETE_FAILED" => StatusKind::DeleteFailed,
        "DELETE_COMPLETE" => StatusKind::Deleted,
        s if s.ends_with("_IN_PROGRESS") => StatusKind::Busy,
        _ => StatusKind::Stable,
    }
}

/// Whether a status ends an operation well.
pub fn status_succeeded(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "DELETE_COMPLETE" | "IMPORT_COMPLETE"
    )
}

/// Where a change set's template comes from.
#[derive(Debug, Clone)]
pub enum TemplateSource {
    /// A template staged in S3 (`TemplateURL`).
    Url(String),
    /// The template the stack already has (a parameter-only change).
    Previous,
}

/// A parameter of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterValue {
    /// Its key.
    pub key: String,
    /// The value, or `None` to keep the stack's current one.
    pub value: Option<String>,
}

/// What a change set should do.
#[derive(Debug, Clone)]
pub struct ChangeSetRequest {
    /// The stack.
    pub stack: String,
    /// Whether the stack exists yet (an update) or not (a create).
    pub create: bool,
    /// The template.
    pub template: TemplateSource,
    /// Every parameter.
    pub parameters: Vec<ParameterValue>,
    /// `CAPABILITY_IAM`, `CAPABILITY_NAMED_IAM`, as the template needs.
    pub capabilities: Vec<String>,
    /// Stack tags (CloudFormation copies them onto every resource that takes tags).
    pub tags: BTreeMap<String, String>,
    /// The change set's description.
    pub description: String,
}

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceChange {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    /// The resource's logical id.
    pub logical_id: String,
    /// Its type.
    pub resource_type: String,
    /// `True`, `False` or `Conditional` for a modification; `None` otherwise.
    pub replacement: Option<String>,
}

/// A change set ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    /// Its ARN.
    pub id: String,
    /// The stack's ARN.
    pub stack_id: String,
    /// The resource changes, in CloudFormation's order.
    pub changes: Vec<ResourceChange>,
}

/// What creating a change set gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeSetOutcome {
    /// CloudFormation found nothing to change (the change set was deleted again).
    NoChanges,
    /// A change set to show and maybe execute.
    Ready(ChangeSet),
}

/// One stack event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    /// The event's id.
    pub id: String,
    /// The resource's logical id (the stack's own name for stack-level events).
    pub logical_id: String,
    /// The resource type (`AWS::CloudFormation::Stack` for the stack itself).
    pub resource_type: String,
    /// The resource's physical id, once it has one.
    pub physical_id: Option<String>,
    /// `CREATE_IN_PROGRESS`, `CREATE_FAILED`, `DELETE_SKIPPED`...
    pub status: String,
    /// CloudFormation's reason, if it gave one.
    pub reason: Option<String>,
}

impl StackEvent {
    /// Whether the event is about the stack itself rather than one of its resources.
    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }

    /// Whether the resource is done with this operation (created, updated, deleted, kept).
    pub fn is_done(&self) -> bool {
        self.status.ends_with("_COMPLETE") || self.status == "DELETE_SKIPPED"
    }

    /// Whether the resource failed.
    pub fn is_failure(&self) -> bool {
        self.status.ends_with("_FAILED")
    }
}

/// How an operation on a stack ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The stack's final status.
    pub status: String,
    /// Its status reason.
    pub status_reason: Option<String>,
    /// Resources that failed, with CloudFormation's reasons, oldest first.
    pub failures: Vec<StackEvent>,
    /// Resources a deletion kept (`DELETE_SKIPPED`: `DeletionPolicy: Retain`).
    pub retained: Vec<StackEvent>,
}

impl Finished {
    /// Whether the operation succeeded.
    pub fn succeeded(&self) -> bool {
        status_succeeded(&self.status)
    }
}

/// CloudFormation in one region.
#[derive(Debug, Clone)]
pub struct Stacks<'a> {
    cloud: &'a Cloud,
    region: String,
    client: aws_sdk_cloudformation::Client,
}

impl<'a> Stacks<'a> {
    /// CloudFormation in `region`.
    pub fn new(cloud: &'a Cloud, region: &str) -> Self {
        Stacks {
            cloud,
            region: region.to_owned(),
            client: cloud.cloudformation(region),
        }
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    fn call(&self, operation: &'static str) -> Call {
        Call::new("cloudformation", operation, &self.region)
    }

    /// The stack named (or with the ARN) `stack`, or `None` when there is none.
    pub async fn describe(&self, stack: &str) -> Result<Option<DeployedStack>, CloudError> {
        let answer = match self.client.describe_stacks().stack_name(stack).send().await {
            Ok(answer) => answer,
            Err(error) => {
                let error = self.cloud.error(self.call("DescribeStacks"), error);
                if error.service_code() == Some("ValidationError")
                    && error
                        .service_message()
                        .is_some_and(|m| m.contains("does not exist"))
                {
                    return Ok(None);
                }
                return Err(error);
            }
        };
        let Some(stack) = answer.stacks().first() else {
            return Ok(None);
        };
        let pairs = |items: Vec<(Option<&str>, Option<&str>)>| {
            items
                .into_iter()
                .filter_map(|(k, v)| Some((k?.to_owned(), v.unwrap_or("").to_owned())))
                .collect::<BTreeMap<_, _>>()
        };
        let described = DeployedStack {
            id: stack.stack_id().unwrap_or(stack_name(stack)).to_owned(),
            name: stack_name(stack).to_owned(),
            status: stack
                .stack_status()
                .map_or_else(String::new, |s| s.as_str().to_owned()),
            status_reason: stack.stack_status_reason().map(str::to_owned),
            outputs: pairs(
                stack
                    .outputs()
                    .iter()
                    .map(|o| (o.output_key(), o.output_value()))
                    .collect(),
            ),
            parameters: pairs(
                stack
                    .parameters()
                    .iter()
                    .map(|p| (p.parameter_key(), p.parameter_value()))
                    .collect(),
            ),
            tags: pairs(stack.tags().iter().map(|t| (t.key(), t.value())).collect()),
        };
        if status_kind(&described.status) == StatusKind::Deleted {
            return Ok(None);
        }
        Ok(Some(described))
    }

    /// Creates a change set and waits until CloudFormation has worked it out.
    pub async fn create_change_set(
        &self,
        request: &ChangeSetRequest,
    ) -> Result<ChangeSetOutcome, CloudError> {
        let name = format!("ingest-{}", unix_millis());
        let mut call = self
            .client
            .create_change_set()
            .stack_name(&request.stack)
            .change_set_name(&name)
            .description(&request.description)
            .change_set_type(if request.create {
                ChangeSetType::Create
            } else {
                ChangeSetType::Update
            });
        call = match &request.template {
            TemplateSource::Url(url) => call.template_url(url),
            TemplateSource::Previous => call.use_previous_template(true),
        };
        for parameter in &request.parameters {
            let builder = Parameter::builder().parameter_key(&parameter.key);
            call = call.parameters(match &parameter.value {
                Some(value) => builder.parameter_value(value).build(),
                None => builder.use_previous_value(true).build(),
            });
        }
        for capability in &request.capabilities {
            call = call.capabilities(Capability::from(capability.as_str()));
        }
        for (key, value) in &request.tags {
            call = call.tags(Tag::builder().key(key).value(value).build());
        }
        let created = call
            .send()
            .await
            .map_err(|e| self.cloud.error(self.call("CreateChangeSet"), e))?;
        let id = created.id().unwrap_or(&name).to_owned();
        let mut wait = POLL_FIRST;
        loop {
            let described = self
                .client
                .describe_change_set()
                .change_set_name(&id)
                .stack_name(&request.stack)
                .send()
                .await
                .map_err(|e| self.cloud.error(self.call("DescribeChangeSet"), e))?;
            match described.status() {
                Some(ChangeSetStatus::CreateComplete) => break,
                Some(ChangeSetStatus::Failed) => {
                    let reason = described.status_reason().unwrap_or("").to_owned();
                    // The change set is of no use either way; leaving it would clutter the stack.
                    self.delete_change_set(&id, &request.stack).await?;
                    if is_no_changes(&reason) {
                        return Ok(ChangeSetOutcome::NoChanges);
                    }
                    return Err(CloudError::Service {
                        call: self.call("CreateChangeSet").to_string(),
                        code: "ChangeSetFailed".to_owned(),
                        message: reason,
                    });
                }
                _ => {}
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(POLL_MAX);
        }
        let mut changes = Vec::new();
        let mut next: Option<String> = None;
        let mut stack_id: Option<String>;
        loop {
            let page = self
                .client
                .describe_change_set()
                .change_set_name(&id)
                .stack_name(&request.stack)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| self.cloud.error(self.call("DescribeChangeSet"), e))?;
            stack_id = page.stack_id().map(str::to_owned);
            for change in page.changes() {
                if let Some(resource) = change.resource_change() {
                    changes.push(ResourceChange {
                        action: resource
                            .action()
                            .map_or_else(String::new, |a| a.as_str().to_owned()),
                        logical_id: resource.logical_resource_id().unwrap_or("").to_owned(),
                        resource_type: resource.resource_type().unwrap_or("").to_owned(),
                        replacement: resource
                            .replacement()
                            .map(|r| r.as_str().to_owned())
                            .filter(|r| !r.is_empty()),
                    });
                }
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(ChangeSetOutcome::Ready(ChangeSet {
            id,
            stack_id: stack_id.unwrap_or_else(|| request.stack.clone()),
            changes,
        }))
    }

    /// Deletes a change set that will not run.
    pub async fn delete_change_set(&self, id: &str, stack: &str) -> Result<(), CloudError> {
        self.client
            .delete_change_set()
            .change_set_name(id)
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| self.cloud.error(self.call("DeleteChangeSet"), e))?;
        Ok(())
    }

    /// The newest event of a stack: where following a new operation starts.
    pub async fn cursor(&self, stack_id: &str) -> Result<Option<String>, CloudError> {
        let page = self
            .client
            .describe_stack_events()
            .stack_name(stack_id)
            .send()
            .await
            .map_err(|e| self.cloud.error(self.call("DescribeStackEvents"), e))?;
        Ok(page
            .stack_events()
            .first()
            .and_then(|e| e.event_id())
            .map(str::to_owned))
    }

    /// Executes a change set.
    pub async fn execute(&self, change_set: &ChangeSet) -> Result<(), CloudError> {
        self.client
            .execute_change_set()
            .change_set_name(&change_set.id)
            .stack_name(&change_set.stack_id)
            .client_request_token(format!("ingest-{}", unix_millis()))
            .send()
            .await
            .map_err(|e| self.cloud.error(self.call("ExecuteChangeSet"), e))?;
        Ok(())
    }

    /// Starts deleting a stack.
    pub async fn delete(&self, stack_id: &str) -> Result<(), CloudError> {
        self.client
            .delete_stack()
            .stack_name(stack_id)
            .client_request_token(format!("ingest-{}", unix_millis()))
            .send()
            .await
            .map_err(|e| self.cloud.error(self.call("DeleteStack"), e))?;
        Ok(())
    }

    /// Follows a stack's events after `cursor` until it reaches a stable status; `observe` sees
    /// each new event, oldest first, and is called with `None` on every poll (to refresh an
    /// elapsed time).
    pub async fn follow(
        &self,
        stack_id: &str,
        cursor: Option<String>,
        observe: &mut dyn FnMut(Option<&StackEvent>),
    ) -> Result<Finished, CloudError> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut failures = Vec::new();
        let mut retained = Vec::new();
        let mut wait = POLL_FIRST;
        loop {
            // Read the status first: every event up to it is then in the page read next.
            let stack = self.describe(stack_id).await?;
            let (status, reason) = match &stack {
                Some(stack) => (stack.status.clone(), stack.status_reason.clone()),
                None => ("DELETE_COMPLETE".to_owned(), None),
            };
            for event in self.events_since(stack_id, cursor.as_deref()).await? {
                if !seen.insert(event.id.clone()) {
                    continue;
                }
                if event.is_failure() && !event.is_stack() {
                    failures.push(event.clone());
                }
                if event.status == "DELETE_SKIPPED" {
                    retained.push(event.clone());
                }
                observe(Some(&event));
            }
            observe(None);
            let kind = status_kind(&status);
            if kind != StatusKind::Busy && kind != StatusKind::Review {
                return Ok(Finished {
                    status,
                    status_reason: reason,
                    failures,
                    retained,
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(POLL_MAX);
        }
    }

    /// The events after `cursor`, oldest first.
    async fn events_since(
        &self,
        stack_id: &str,
        cursor: Option<&str>,
    ) -> Result<Vec<StackEvent>, CloudError> {
        let mut events = Vec::new();
        let mut next: Option<String> = None;
        'pages: loop {
            let page = self
                .client
                .describe_stack_events()
                .stack_name(stack_id)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| self.cloud.error(self.call("DescribeStackEvents"), e))?;
            for event in page.stack_events() {
                let id = event.event_id().unwrap_or("");
                if Some(id) == cursor {
                    break 'pages;
                }
                events.push(StackEvent {
                    id: id.to_owned(),
                    logical_id: event.logical_resource_id().unwrap_or("").to_owned(),
                    resource_type: event.resource_type().unwrap_or("").to_owned(),
                    physical_id: event
                        .physical_resource_id()
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned),
                    status: event
                        .resource_status()
                        .map_or_else(String::new, |s| s.as_str().to_owned()),
                    reason: event
                        .resource_status_reason()
                        .filter(|r| !r.is_empty())
                        .map(str::to_owned),
                });
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        events.reverse();
        Ok(events)
    }
}

fn stack_name(stack: &aws_sdk_cloudformation::types::Stack) -> &str {
    stack.stack_name().unwrap_or("")
}

/// Whether a failed change set's reason says only that nothing changed.
pub fn is_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("does not contain changes")
}

/// Milliseconds since the Unix epoch: unique enough for change set names and request tokens
/// of one user.
fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_read_for_what_they_allow() {
        assert_eq!(status_kind("CREATE_COMPLETE"), StatusKind::Stable);
        assert_eq!(status_kind("UPDATE_ROLLBACK_COMPLETE"), StatusKind::Stable);
        assert_eq!(status_kind("ROLLBACK_COMPLETE"), StatusKind::FailedCreate);
        assert_eq!(
            status_kind("UPDATE_ROLLBACK_FAILED"),
            StatusKind::RollbackFailed
        );
        assert_eq!(
            status_kind("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            StatusKind::Busy
        );
        assert_eq!(status_kind("REVIEW_IN_PROGRESS"), StatusKind::Review);
        assert!(status_succeeded("UPDATE_COMPLETE"));
        assert!(!status_succeeded("UPDATE_ROLLBACK_COMPLETE"));
        assert!(is_no_changes(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(is_no_changes("No updates are to be performed."));
        assert!(!is_no_changes("Template format error"));
    }
}
