"""What every client of :class:`~reconciler.aws.clients.ClientFactory` runs before a call, as botocore event
handlers (the factory registers them): refuse the operations the product never sends, refuse every mutation in
plan mode, count calls and HTTP attempts, and record which operations the product sends (for the IAM policy
check of the test suite)."""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from reconciler.aws.operations import is_read_only_operation
from reconciler.errors import MutationRefused

if TYPE_CHECKING:
    from types import FrameType

    from botocore.model import OperationModel

    from reconciler.aws.clients import CallRecorder

__all__ = [
    "FORBIDDEN_OPERATIONS",
    "RECORD_CALLS_ENV",
    "attempt_counter",
    "call_counter",
    "call_logger",
    "forbidding_handler",
    "refusing_handler",
]


#: Operations no client of the product ever sends, in any mode: the reconciler never deletes,
#: overwrites or expires an object (a lifecycle rule could expire them all). Refused before sending.
FORBIDDEN_OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("s3", "DeleteObject"),
        ("s3", "DeleteObjects"),
        ("s3", "PutBucketLifecycle"),
        ("s3", "PutBucketLifecycleConfiguration"),
        ("s3", "RestoreObject"),
        ("s3", "PutObjectRetention"),
        ("s3", "PutObjectLegalHold"),
    }
)


def forbidding_handler(service: str) -> Any:
    def refuse_forbidden(model: OperationModel, **_: Any) -> None:
        if (service, model.name) in FORBIDDEN_OPERATIONS:
            raise MutationRefused(service, model.name, "ever: the reconciler never deletes or expires objects")

    return refuse_forbidden


def refusing_handler(service: str) -> Any:
    def refuse_mutations(model: OperationModel, **_: Any) -> None:
        if not is_read_only_operation(service, model.name):
            raise MutationRefused(service, model.name)

    return refuse_mutations


def call_counter(recorder: CallRecorder, service: str) -> Any:
    def count_call(model: OperationModel, **_: Any) -> None:
        recorder.record(service, model.name)

    return count_call


#: When set to a directory, every factory client appends ``service:Operation`` to ``calls-<pid>.txt`` there,
#: once per operation and process, for each call that the product itself sends (not for calls that other
#: code, such as a test, makes directly on a client). The test suite sets it, to check that
#: ``deploy/iam/reconciler-policy.json`` allows every operation the product calls.
RECORD_CALLS_ENV = "RECONCILER_RECORD_CALLS"

_logged: set[tuple[str, str, str]] = set()
_logged_lock = threading.Lock()


def _sent_by_product() -> bool:
    """Whether the code calling the client (the first frame outside botocore and boto3) is the product's."""
    frame: FrameType | None = sys._getframe(2)  # skip this function and the event handler
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(("botocore.", "boto3.")):
        frame = frame.f_back
    return frame is not None and str(frame.f_globals.get("__name__", "")).startswith("reconciler.")


def call_logger(directory: str, service: str) -> Any:
    def log_call(model: OperationModel, **_: Any) -> None:
        key = (directory, service, model.name)
        if key in _logged or not _sent_by_product():
            return
        with _logged_lock:
            if key in _logged:
                return
            _logged.add(key)
            with open(os.path.join(directory, f"calls-{os.getpid()}.txt"), "a", encoding="utf-8") as out:
                out.write(f"{service}:{model.name}\n")

    return log_call


def attempt_counter(recorder: CallRecorder, service: str) -> Any:
    def count_attempt(event_name: str, **_: Any) -> None:
        # event_name is "before-send.<service-id>.<Operation>"
        recorder.record_attempt(service, event_name.rsplit(".", 1)[-1])

    return count_attempt
