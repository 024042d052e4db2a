"""Shared machinery for the AWS steps of each kind: what a step gets, and how it reports."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code
from reconciler.aws.clients import ClientFactory
from reconciler.errors import ReconcilerError
from reconciler.kinds.context import Target
from reconciler.values import thaw

if TYPE_CHECKING:
    # IAM's Tag shape; S3's and SageMaker's are the same TypedDict ({Key: str, Value: str}), and TypedDicts
    # are structural, so one list serves all three services.
    from mypy_boto3_iam.type_defs import TagTypeDef

T = TypeVar("T")
P = ParamSpec("P")


class StepError(ReconcilerError):
    """A change could not be made. ``retryable`` says whether a later run may succeed as is."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Pending(Exception):
    """The change waits for a condition outside the reconciler (e.g. a notebook being stopped)."""


@dataclass
class StepContext:
    """What a step needs: the clients (writable), the plan context, and the apply options."""

    aws: ClientFactory
    ctx: Target
    notebook_updates: str = "when-stopped"
    # IAM eventual consistency: how long to keep retrying a call that fails only because a new
    # role or policy is not visible yet to another service.
    consistency_timeout: float = 60.0
    poll_interval: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


@dataclass(frozen=True)
class StepInput:
    """One change, as the steps see it: plain views and the names of the fields that change."""

    name: str
    live: dict[str, Any]
    desired: dict[str, Any]
    fields: frozenset[tuple[str, ...]]  # the paths of the fields that change (``("inlinePolicies", "x")``)

    def changed(self, *path: str) -> bool:
        """Whether the field at ``path`` changes, or anything under it (``changed("inlinePolicies")`` when
        ``("inlinePolicies", "x")`` does)."""
        return any(f[: len(path)] == path for f in self.fields)


def doc(document: object) -> str:
    return json.dumps(thaw(document), separators=(",", ":"), sort_keys=True, default=str)


def tag_list(tags: dict[str, str]) -> list[TagTypeDef]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def retag(
    live: Mapping[str, str],
    want: Mapping[str, str],
    *,
    add: Callable[[list[TagTypeDef]], object],
    remove: Callable[[list[str]], object],
) -> None:
    """Make a resource's tags ``want`` from ``live``: ``add`` the new and changed ones, ``remove`` the others
    (each called only when there is something to send)."""
    added = {k: v for k, v in want.items() if live.get(k) != v}
    removed = sorted(k for k in live if k not in want)
    if added:
        add(tag_list(added))
    if removed:
        remove(removed)


def ignore(codes: tuple[str, ...], call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T | None:
    """``call(*args, **kwargs)``; an error with one of ``codes`` (e.g. NoSuchEntity on a delete) means done.

    The arguments are checked against ``call``'s signature (a typed client method's request shape)."""
    try:
        return call(*args, **kwargs)
    except ClientError as exc:
        if error_code(exc) in codes:
            return None
        raise


def until_consistent(step: StepContext, call: Callable[[], T], *, when: Callable[[ClientError], bool]) -> T:
    """Retry ``call`` with bounded backoff while ``when(error)`` says it is IAM eventual consistency."""
    deadline = time.monotonic() + step.consistency_timeout
    delay = step.poll_interval
    while True:
        try:
            return call()
        except ClientError as exc:
            if not when(exc) or time.monotonic() + delay > deadline:
                raise
            step.sleep(delay)
            delay = min(delay * 2, 15.0)


#: One AWS step of a kind: makes one change, given the clients and the change's views.
Step = Callable[[StepContext, StepInput], None]
