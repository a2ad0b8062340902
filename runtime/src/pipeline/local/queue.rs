//! SQS: an in-process queue with visibility timeouts, receive counts, a DLQ and retention.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::{DateTime, Utc};

use super::super::{ErrorKind, InfraError, MessageQueue, Service};
use super::{Clock, lock, millis};

#[derive(Debug, Clone)]
struct Message {
    id: String,
    body: String,
    sent_at: DateTime<Utc>,
    receive_count: u64,
    visible_at: DateTime<Utc>,
}

/// Counts of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Messages sent.
    pub sent: u64,
    /// Receives (a message received twice counts twice).
    pub receives: u64,
    /// Messages deleted after success.
    pub deleted: u64,
    /// Messages moved to the DLQ.
    pub dead_lettered: u64,
    /// Messages dropped by retention.
    pub expired: u64,
    /// `ChangeMessageVisibility` calls that took effect.
    pub visibility_changes: u64,
}

/// A message that left the queue other than by a delete after success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedMessage {
    /// Its body.
    pub body: String,
    /// When it was first sent (the DLQ's retention counts from it).
    pub sent_at: DateTime<Utc>,
    /// When it left.
    pub at: DateTime<Utc>,
}

/// How close the messages the queue delivered came to being lost: the least time left before
/// retention and the fewest receives left before the DLQ, when each was deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueMargins {
    /// Least milliseconds left before the retention (and when).
    pub retention: Option<(i64, DateTime<Utc>)>,
    /// Fewest receives left before `maxReceiveCount` (and when).
    pub receives_left: Option<(u64, DateTime<Utc>)>,
}

/// An in-process SQS queue with a DLQ.
#[derive(Debug)]
pub struct LocalQueue {
    /// Queue name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Visibility timeout.
    pub visibility_timeout: Duration,
    /// Receives before a message moves to the DLQ.
    pub max_receive_count: u64,
    /// Retention.
    pub retention: Duration,
    clock: Clock,
    messages: Mutex<Vec<Message>>,
    dlq: Mutex<Vec<Message>>,
    expired: Mutex<Vec<DroppedMessage>>,
    margins: Mutex<QueueMargins>,
    next_id: AtomicU64,
    stats: Mutex<QueueStats>,
}

impl LocalQueue {
    /// A queue.
    pub fn new(
        name: &str,
        region: &str,
        visibility_timeout: Duration,
        max_receive_count: u64,
        retention: Duration,
        clock: impl Into<Clock>,
    ) -> Self {
        LocalQueue {
            name: name.to_owned(),
            region: region.to_owned(),
            visibility_timeout,
            max_receive_count: max_receive_count.max(1),
            retention,
            clock: clock.into(),
            messages: Mutex::new(Vec::new()),
            dlq: Mutex::new(Vec::new()),
            expired: Mutex::new(Vec::new()),
            margins: Mutex::new(QueueMargins::default()),
            next_id: AtomicU64::new(1),
            stats: Mutex::new(QueueStats::default()),
        }
    }

    /// Sends a message; returns its id.
    pub fn send(&self, body: String) -> String {
        let now = self.clock.now();
        let id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            self.next_id.fetch_add(1, Ordering::SeqCst),
            0
        );
        lock(&self.messages).push(Message {
            id: id.clone(),
            body,
            sent_at: now,
            receive_count: 0,
            visible_at: now,
        });
        lock(&self.stats).sent += 1;
        id
    }

    /// Receives up to `max` visible messages (moving those past `maxReceiveCount` to the DLQ).
    pub fn receive(&self, max: usize) -> Vec<SqsMessage> {
        let now = self.clock.now();
        let mut messages = lock(&self.messages);
        let mut stats = lock(&self.stats);
        let retention = millis(self.retention);
        let (kept, expired): (Vec<Message>, Vec<Message>) = std::mem::take(&mut *messages)
            .into_iter()
            .partition(|m| m.sent_at + retention > now);
        *messages = kept;
        stats.expired += expired.len() as u64;
        lock(&self.expired).extend(expired.into_iter().map(|m| DroppedMessage {
            body: m.body,
            sent_at: m.sent_at,
            at: now,
        }));
        let mut out = Vec::new();
        let mut index = 0;
        while index < messages.len() && out.len() < max {
            if messages[index].visible_at > now {
                index += 1;
                continue;
            }
            if messages[index].receive_count >= self.max_receive_count {
                let mut message = messages.remove(index);
                message.visible_at = now;
                lock(&self.dlq).push(message);
                stats.dead_lettered += 1;
                continue;
            }
            let message = &mut messages[index];
            message.receive_count += 1;
            message.visible_at = now + millis(self.visibility_timeout);
            stats.receives += 1;
            let mut sqs = SqsMessage::default();
            sqs.message_id = Some(message.id.clone());
            sqs.receipt_handle = Some(format!("{}#{}", message.id, message.receive_count));
            sqs.body = Some(message.body.clone());
            sqs.attributes.insert(
                "ApproximateReceiveCount".to_owned(),
                message.receive_count.to_string(),
            );
            sqs.attributes.insert(
                "SentTimestamp".to_owned(),
                message.sent_at.timestamp_millis().to_string(),
            );
            sqs.event_source = Some("aws:sqs".to_owned());
            sqs.event_source_arn = Some(format!(
                "arn:aws:sqs:{}:123456789012:{}",
                self.region, self.name
            ));
            sqs.aws_region = Some(self.region.clone());
            out.push(sqs);
            index += 1;
        }
        out
    }

    /// Deletes a message by id.
    pub fn delete(&self, id: &str) {
        let now = self.clock.now();
        let mut messages = lock(&self.messages);
        let Some(index) = messages.iter().position(|m| m.id == id) else {
            return;
        };
        let message = messages.remove(index);
        lock(&self.stats).deleted += 1;
        let mut margins = lock(&self.margins);
        let left_ms = (message.sent_at + millis(self.retention) - now).num_milliseconds();
        if margins.retention.is_none_or(|(least, _)| left_ms < least) {
            margins.retention = Some((left_ms, now));
        }
        let receives_left = self.max_receive_count.saturating_sub(message.receive_count);
        if margins
            .receives_left
            .is_none_or(|(least, _)| receives_left < least)
        {
            margins.receives_left = Some((receives_left, now));
        }
    }

    /// How close the deleted messages came to retention and to the DLQ.
    pub fn margins(&self) -> QueueMargins {
        *lock(&self.margins)
    }

    /// The messages retention deleted.
    pub fn expired_messages(&self) -> Vec<DroppedMessage> {
        lock(&self.expired).clone()
    }

    /// The messages in the DLQ (`at`: when each moved there).
    pub fn dead_letter_messages(&self) -> Vec<DroppedMessage> {
        lock(&self.dlq)
            .iter()
            .map(|m| DroppedMessage {
                body: m.body.clone(),
                sent_at: m.sent_at,
                at: m.visible_at,
            })
            .collect()
    }

    /// Messages in the queue (visible or not).
    pub fn len(&self) -> usize {
        lock(&self.messages).len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of the messages in the queue (visible or not).
    pub fn ids(&self) -> Vec<String> {
        lock(&self.messages).iter().map(|m| m.id.clone()).collect()
    }

    /// Bodies of the messages in the DLQ.
    pub fn dead_letters(&self) -> Vec<String> {
        lock(&self.dlq).iter().map(|m| m.body.clone()).collect()
    }

    /// Makes every message visible now, as `ChangeMessageVisibility` to 0 on each in-flight
    /// message would (receive counts are kept): `ingest dev` uses it when it stops, so the
    /// bridge retries at once instead of after the visibility timeout.
    pub fn make_visible(&self) {
        let now = self.clock.now();
        for message in lock(&self.messages).iter_mut() {
            message.visible_at = message.visible_at.min(now);
        }
    }

    /// `ChangeMessageVisibility`: the message received with `receipt_handle` becomes visible
    /// `seconds` from now. As in SQS, only the handle of the message's latest receive works,
    /// and a deleted message cannot be changed.
    pub fn change_visibility(&self, receipt_handle: &str, seconds: u64) -> Result<(), InfraError> {
        let invalid = |message: String| {
            InfraError::new(
                Service::Sqs,
                "ChangeMessageVisibility",
                ErrorKind::Invalid,
                message,
            )
        };
        if seconds > crate::redelivery::MAX_VISIBILITY_SECONDS {
            return Err(invalid(format!(
                "a visibility timeout of {seconds} s is above 12 hours"
            )));
        }
        let (id, receive) = receipt_handle
            .rsplit_once('#')
            .and_then(|(id, count)| Some((id, count.parse::<u64>().ok()?)))
            .ok_or_else(|| invalid(format!("ReceiptHandleIsInvalid: {receipt_handle:?}")))?;
        let now = self.clock.now();
        let mut messages = lock(&self.messages);
        let message = messages
            .iter_mut()
            .find(|m| m.id == id && m.receive_count == receive)
            .ok_or_else(|| {
                invalid(format!(
                    "MessageNotInflight: no message was last received with {receipt_handle:?}"
                ))
            })?;
        message.visible_at = now + millis(Duration::from_secs(seconds));
        lock(&self.stats).visibility_changes += 1;
        Ok(())
    }

    /// When the next invisible message becomes visible, if any.
    pub fn next_visible(&self) -> Option<DateTime<Utc>> {
        lock(&self.messages).iter().map(|m| m.visible_at).min()
    }

    /// Counts.
    pub fn stats(&self) -> QueueStats {
        *lock(&self.stats)
    }
}

impl MessageQueue for LocalQueue {
    fn change_visibility(
        &self,
        receipt_handle: &str,
        seconds: u64,
    ) -> impl Future<Output = Result<(), InfraError>> + Send {
        std::future::ready(LocalQueue::change_visibility(self, receipt_handle, seconds))
    }
}
