//! The bridge's queues in the secondary region: their depth, and moving what the dead-letter
//! queue holds back to the bridge queue (`ingest redrive`).
//!
//! The redrive receives from the DLQ, sends each message (body and message attributes) to the
//! bridge queue, and deletes from the DLQ only what the send accepted. A message is never
//! deleted before its copy is in the bridge queue, so an interruption at any point loses
//! nothing; at worst a message is sent twice, which the pipeline tolerates (delivery is
//! at-least-once and duplicates collapse on the event's `(source, id)`).

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};

use super::{Call, Cloud, CloudError};

/// Messages per receive and batch (SQS's maximum).
const BATCH: i32 = 10;
/// Seconds a received message stays invisible in the DLQ while it is being moved.
const MOVE_VISIBILITY_SECONDS: i32 = 120;

/// How many messages a queue holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Depth {
    /// Waiting to be received (`ApproximateNumberOfMessages`).
    pub visible: u64,
    /// Received and not yet deleted (`ApproximateNumberOfMessagesNotVisible`).
    pub in_flight: u64,
}

/// SQS in one region.
#[derive(Debug, Clone)]
pub struct Queues<'a> {
    cloud: &'a Cloud,
    region: String,
    client: aws_sdk_sqs::Client,
}

impl<'a> Queues<'a> {
    /// SQS in `region`.
    pub fn new(cloud: &'a Cloud, region: &str) -> Self {
        Queues {
            cloud,
            region: region.to_owned(),
            client: cloud.sqs(region),
        }
    }

    fn call(&self, operation: &'static str) -> Call {
        Call::new("sqs", operation, &self.region)
    }

    /// The URL of the queue named `name`, or `None` when there is none.
    pub async fn url(&self, name: &str) -> Result<Option<String>, CloudError> {
        match self.client.get_queue_url().queue_name(name).send().await {
            Ok(answer) => Ok(answer.queue_url().map(str::to_owned)),
            Err(error) => {
                let error = self.cloud.error(self.call("GetQueueUrl"), error);
                match error.service_code() {
                    Some(
                        "AWS.SimpleQueueService.NonExistentQueue"
                        | "QueueDoesNotExist"
                        | "NonExistentQueue",
                    ) => Ok(None),
                    _ => Err(error),
                }
            }
        }
    }

    /// How many messages the queue at `url` holds.
    pub async fn depth(&self, url: &str) -> Result<Depth, CloudError> {
        let answer = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| self.cloud.error(self.call("GetQueueAttributes"), e))?;
        let read = |name: QueueAttributeName| {
            answer
                .attributes()
                .and_then(|attributes| attributes.get(&name))
                .and_then(|value| value.parse().ok())
                .unwrap_or(0)
        };
        Ok(Depth {
            visible: read(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: read(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        })
    }

    /// Moves every message of `from` to `to`; `moved` is told the running count after each
    /// batch. Returns how many were moved.
    pub async fn redrive(
        &self,
        from: &str,
        to: &str,
        moved: &mut dyn FnMut(u64),
    ) -> Result<u64, CloudError> {
        let mut total = 0u64;
        loop {
            let received = self
                .client
                .receive_message()
                .queue_url(from)
                .max_number_of_messages(BATCH)
                .visibility_timeout(MOVE_VISIBILITY_SECONDS)
                .wait_time_seconds(1)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|e| self.cloud.error(self.call("ReceiveMessage"), e))?;
            let messages = received.messages();
            if messages.is_empty() {
                return Ok(total);
            }
            let mut sends = Vec::new();
            for (index, message) in messages.iter().enumerate() {
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(message.body().unwrap_or(""))
                    .set_message_attributes(message.message_attributes().cloned())
                    .build()
                    .map_err(|e| CloudError::Unexpected {
                        call: self.call("SendMessageBatch").to_string(),
                        what: e.to_string(),
                    })?;
                sends.push(entry);
            }
            let sent = self
                .client
                .send_message_batch()
                .queue_url(to)
                .set_entries(Some(sends))
                .send()
                .await
                .map_err(|e| self.cloud.error(self.call("SendMessageBatch"), e))?;
            if let Some(failed) = sent.failed().first() {
                // What was not sent stays in the DLQ (it becomes visible again); stop here so
                // the error is seen rather than retried in a loop.
                return Err(CloudError::Service {
                    call: self.call("SendMessageBatch").to_string(),
                    code: failed.code().to_owned(),
                    message: format!(
                        "{} (moved {total} before; the rest stay in the dead-letter queue)",
                        failed.message().unwrap_or("a message was refused")
                    ),
                });
            }
            let mut deletes = Vec::new();
            for entry in sent.successful() {
                let Some(message) = entry
                    .id()
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| messages.get(index))
                else {
                    continue;
                };
                let Some(handle) = message.receipt_handle() else {
                    continue;
                };
                deletes.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(entry.id())
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| CloudError::Unexpected {
                            call: self.call("DeleteMessageBatch").to_string(),
                            what: e.to_string(),
                        })?,
                );
            }
            let count = deletes.len() as u64;
            self.client
                .delete_message_batch()
                .queue_url(from)
                .set_entries(Some(deletes))
                .send()
                .await
                .map_err(|e| self.cloud.error(self.call("DeleteMessageBatch"), e))?;
            total += count;
            moved(total);
        }
    }
}
