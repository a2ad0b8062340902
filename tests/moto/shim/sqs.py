"""SQS dead-letter queue redrive (StartMessageMoveTask), which moto does not implement.

`ingest redrive` moves what the bridge's dead-letter queue holds back to the spool queue, with
the API AWS provides for it: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.
moto answers NotImplemented to all three. The shim implements them on moto's SQS backend, with
SQS's rules:

- the source must be a queue that some queue uses as its dead-letter queue ("Source queue must
  be configured as a Dead Letter Queue."), and must exist, as must a given destination;
- without a DestinationArn the messages go back to their source queue; moto does not record
  which queue a dead-lettered message came from, so the shim needs the dead-letter queue to
  have exactly one source (ingest's has one) and otherwise asks for a DestinationArn;
- the messages available in the source are moved (in-flight ones stay), their receive count
  starting again from zero, as a redriven message's does.

The move is synchronous: the task is COMPLETED when StartMessageMoveTask returns, with
ApproximateNumberOfMessagesMoved saying how many. CancelMessageMoveTask therefore always finds
no running task, as it would for a finished one.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import unix_time_millis
from moto.sqs.exceptions import InvalidParameterValue, SQSException
from moto.sqs.models import Queue
from moto.sqs.responses import SQSResponse


def _tasks(backend: Any) -> list[dict[str, Any]]:
    """The region's move tasks, newest last; kept on the SQS backend, so POST
    /moto-api/reset wipes them with the queues."""
    if not hasattr(backend, "shim_message_move_tasks"):
        backend.shim_message_move_tasks = []
    return backend.shim_message_move_tasks


class ResourceNotFound(SQSException):
    def __init__(self, message: str):
        super().__init__("ResourceNotFoundException", message)


def _queue(backend: Any, arn: str, parameter: str) -> Queue:
    name = arn.split(":")[-1]
    queue = backend.queues.get(name)
    if queue is None or queue.queue_arn != arn:
        raise ResourceNotFound(
            f"The resource that you specified for the {parameter} parameter doesn't exist."
        )
    return queue


def start_message_move_task(self: SQSResponse) -> ActionResult:
    backend = self.sqs_backend
    source = _queue(backend, self._get_param("SourceArn"), "SourceArn")
    origins = backend.list_dead_letter_source_queues(source.name)
    if not origins:
        raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
    destination_arn = self._get_param("DestinationArn")
    if destination_arn:
        destination = _queue(backend, destination_arn, "DestinationArn")
    elif len(origins) == 1:
        destination = origins[0]
    else:
        raise InvalidParameterValue(
            "the shim cannot tell which of this dead-letter queue's source queues a message "
            "came from (moto does not record it); give a DestinationArn"
        )
    started = int(unix_time_millis())
    with source._messages_lock:
        movable = [m for m in source._messages if m.visible and not m.delayed]
        source._messages = [m for m in source._messages if m not in movable]
    for message in movable:
        message.approximate_receive_count = 0
        message.receipt_handle = None
        destination.add_message(message)
    handle = base64.b64encode(
        json.dumps({"source": source.queue_arn, "started": started}).encode()
    ).decode()
    task = {
        "TaskHandle": handle,
        "Status": "COMPLETED",
        "SourceArn": source.queue_arn,
        "DestinationArn": destination.queue_arn,
        "ApproximateNumberOfMessagesMoved": len(movable),
        "ApproximateNumberOfMessagesToMove": len(movable),
        "StartedTimestamp": started,
    }
    rate = self._get_param("MaxNumberOfMessagesPerSecond")
    if rate is not None:
        task["MaxNumberOfMessagesPerSecond"] = int(rate)
    _tasks(backend).append(task)
    return ActionResult({"TaskHandle": handle})


def list_message_move_tasks(self: SQSResponse) -> ActionResult:
    source = _queue(self.sqs_backend, self._get_param("SourceArn"), "SourceArn")
    limit = int(self._get_param("MaxResults") or 1)
    tasks = [
        {k: v for k, v in task.items() if k != "TaskHandle"}
        for task in reversed(_tasks(self.sqs_backend))
        if task["SourceArn"] == source.queue_arn
    ]
    return ActionResult({"Results": tasks[:limit]})


def cancel_message_move_task(self: SQSResponse) -> ActionResult:
    raise ResourceNotFound("Task does not exist or is not running.")


def install() -> None:
    SQSResponse.start_message_move_task = start_message_move_task  # type: ignore[attr-defined]
    SQSResponse.list_message_move_tasks = list_message_move_tasks  # type: ignore[attr-defined]
    SQSResponse.cancel_message_move_task = cancel_message_move_task  # type: ignore[attr-defined]
