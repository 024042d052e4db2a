"""A lease in DynamoDB, so that two writers (two controllers, or a controller and a manual
``apply``) never interleave writes; and the record of the last applied commit.

The lease is one item, written with a conditional put: it is taken when absent or expired, renewed
by its owner while working (a background thread), and released at the end. An owner that dies keeps
the lease only until it expires. If renewal fails (the lease was lost), ``lost`` is set and the
executor starts no new change.

A holder also keeps its own, local view of how long the lease lasts: :meth:`Lease.valid` is false once
the last successful take or renewal is older than 80% of the TTL, measured on the monotonic clock from
before that request was sent. A process paused past that point (SIGSTOP, a frozen VM) therefore knows,
the moment it resumes and before any renewal thread runs, that another writer may hold the lease now:
apply checks ``valid()`` before every change and before every AWS write, so it writes nothing more.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from botocore.exceptions import ClientError

from reconciler.aws.clients import ClientFactory
from reconciler.aws.failures import translate_errors
from reconciler.errors import ReconcilerError

log = structlog.get_logger(__name__)

DEFAULT_TABLE = "reconciler-state"
#: The IAM actions the lease and the last applied commit need, on the state table only. (TransactWriteItems,
#: which records the applied commit and releases the lease in one call, is authorized as the PutItem and
#: DeleteItem it holds: it has no IAM action of its own.)
ACTIONS: tuple[str, ...] = (
    "dynamodb:DescribeTable",
    "dynamodb:CreateTable",
    "dynamodb:TagResource",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)


class LeaseTimeout(ReconcilerError):
    """Another writer held the lease for longer than we were willing to wait."""

    retryable = True


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Holder:
    owner: str
    expires_at: float


class StateTable:
    """The DynamoDB table holding the lease and the last applied commit (created on first use)."""

    def __init__(self, factory: ClientFactory, name: str = DEFAULT_TABLE, *, account_id: str) -> None:
        self.factory = factory
        self.name = name
        self.account_id = account_id
        self._ready = False

    @property
    def db(self) -> Any:
        return self.factory.client("dynamodb")

    def ensure(self) -> None:
        if self._ready:
            return
        with translate_errors(f"preparing the state table {self.name}"):
            try:
                self.db.describe_table(TableName=self.name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
                try:
                    self.db.create_table(
                        TableName=self.name,
                        BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        Tags=[{"Key": "managed-by", "Value": "reconciler"}],
                    )
                except ClientError as race:
                    if race.response.get("Error", {}).get("Code") != "ResourceInUseException":
                        raise
                self.db.get_waiter("table_exists").wait(
                    TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
                )
        self._ready = True

    def key(self, what: str) -> dict[str, Any]:
        return {"pk": {"S": f"{what}#{self.account_id}"}}

    def last_applied(self) -> str | None:
        """The last commit applied to this account (None: never, or the table does not exist yet, which a
        read-only reader does not create)."""
        if self.factory.read_only and not self._ready:
            with translate_errors(f"reading the state table {self.name}"):
                try:
                    self.db.describe_table(TableName=self.name)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                        return None
                    raise
            self._ready = True
        self.ensure()
        with translate_errors("reading the last applied commit"):
            item = self.db.get_item(TableName=self.name, Key=self.key("applied"), ConsistentRead=True).get("Item")
        return item["sha"]["S"] if item else None

    def applied_item(self, sha: str, *, owner: str) -> dict[str, Any]:
        """The item recording ``sha`` as this account's last applied commit."""
        return {**self.key("applied"), "sha": {"S": sha}, "at": {"N": f"{time.time():.3f}"}, "by": {"S": owner}}

    def record_applied(self, sha: str, *, owner: str) -> None:
        self.ensure()
        with translate_errors("recording the applied commit"):
            self.db.put_item(TableName=self.name, Item=self.applied_item(sha, owner=owner))


#: The share of the TTL a holder trusts its lease for, after the request that took or renewed it was sent.
VALID_SHARE = 0.8


class Lease:
    def __init__(
        self,
        table: StateTable,
        *,
        owner: str | None = None,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.time,
        on_wait: Callable[[float, bool], None] | None = None,
    ) -> None:
        self.table = table
        self.owner = owner or default_owner()
        self.ttl = ttl
        self.clock = clock
        self.lost = threading.Event()
        self._stop_renewing = threading.Event()
        self._valid_until = 0.0  # time.monotonic() after which this holder no longer trusts its lease
        # Told how long acquire() waited and whether another writer held the lease (metrics).
        self.on_wait = on_wait
        # (commit, owner) to record as the last applied commit when the lease is released at the end of
        # ``held`` (see ``record_on_release``).
        self._record: tuple[str, str] | None = None

    def valid(self) -> bool:
        """Whether this process may still write: it holds the lease, and the last take or renewal is recent
        enough that it cannot have expired (see the module's docstring)."""
        return not self.lost.is_set() and time.monotonic() < self._valid_until

    def _trusted_from(self, sent_at: float) -> None:
        self._valid_until = sent_at + self.ttl * VALID_SHARE

    def holder(self) -> Holder | None:
        self.table.ensure()
        item = self.table.db.get_item(TableName=self.table.name, Key=self.table.key("lease"), ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return None
        return Holder(item["owner"]["S"], float(item["expires_at"]["N"]))

    def try_acquire(self) -> bool:
        """Take the lease if it is free or expired (or already ours). One conditional put."""
        self.table.ensure()
        now = self.clock()
        sent_at = time.monotonic()
        try:
            with translate_errors("taking the lease"):
                self.table.db.put_item(
                    TableName=self.table.name,
                    Item={
                        **self.table.key("lease"),
                        "owner": {"S": self.owner},
                        "expires_at": {"N": f"{now + self.ttl:.3f}"},
                        "acquired_at": {"N": f"{now:.3f}"},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR #o = :me",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}, ":me": {"S": self.owner}},
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        self.lost.clear()
        self._trusted_from(sent_at)
        return True

    def acquire(self, *, timeout: float, poll: float = 2.0, stop: threading.Event | None = None) -> None:
        """Wait for the lease, saying so, until ``timeout`` seconds have passed (LeaseTimeout)."""
        started = time.monotonic()
        deadline = started + timeout
        announced = None
        contended = False
        while not self.try_acquire():
            contended = True
            holder = self.holder()
            if holder is not None and holder.owner != announced:
                log.warning(
                    "waiting for the lease",
                    holder=holder.owner,
                    expires_in=round(max(0.0, holder.expires_at - self.clock()), 1),
                )
                announced = holder.owner
            if time.monotonic() + poll > deadline or (stop is not None and stop.is_set()):
                who = holder.owner if holder else "another writer"
                if self.on_wait is not None:
                    self.on_wait(time.monotonic() - started, True)
                raise LeaseTimeout(f"the lease is held by {who}; gave up after {timeout:.0f}s")
            (stop.wait if stop is not None else time.sleep)(poll)
        if self.on_wait is not None:
            self.on_wait(time.monotonic() - started, contended)
        log.info("lease acquired", owner=self.owner, ttl=self.ttl)

    def renew(self) -> bool:
        now = self.clock()
        sent_at = time.monotonic()
        try:
            self.table.db.update_item(
                TableName=self.table.name,
                Key=self.table.key("lease"),
                UpdateExpression="SET expires_at = :exp",
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":exp": {"N": f"{now + self.ttl:.3f}"}, ":me": {"S": self.owner}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                self.lost.set()
                log.error("lease lost", owner=self.owner)
                return False
            raise
        self._trusted_from(sent_at)
        return True

    def release(self) -> None:
        try:
            self.table.db.delete_item(
                TableName=self.table.name,
                Key=self.table.key("lease"),
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        log.info("lease released", owner=self.owner)

    def record_on_release(self, sha: str, *, owner: str) -> None:
        """Record ``sha`` as the last applied commit when ``held`` releases the lease after its block ends
        without an exception: one DynamoDB transaction (TransactWriteItems) writes the record and deletes the
        lease item, on condition that this process still holds it; when it no longer does, the record is
        written on its own (the changes were made: the record must say so)."""
        self._record = (sha, owner)

    def _release_recording(self, sha: str, owner: str) -> None:
        table = self.table
        try:
            with translate_errors("recording the applied commit and releasing the lease"):
                table.db.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": table.name, "Item": table.applied_item(sha, owner=owner)}},
                        {
                            "Delete": {
                                "TableName": table.name,
                                "Key": table.key("lease"),
                                "ConditionExpression": "#o = :me",
                                "ExpressionAttributeNames": {"#o": "owner"},
                                "ExpressionAttributeValues": {":me": {"S": self.owner}},
                            }
                        },
                    ]
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            log.warning("the lease was no longer ours at release; recording the applied commit on its own")
            table.record_applied(sha, owner=owner)
            return
        log.info("lease released", owner=self.owner, applied_commit=sha)

    @contextmanager
    def held(self, *, timeout: float, stop: threading.Event | None = None) -> Iterator[Lease]:
        """Hold the lease for the block, renewing it every ttl/3 in the background."""
        self._record = None
        self.acquire(timeout=timeout, stop=stop)
        self._stop_renewing.clear()

        def renew_loop() -> None:
            while not self._stop_renewing.wait(self.ttl / 3):
                try:
                    if not self.renew():
                        return
                except Exception:
                    log.warning("lease renewal failed; retrying", exc_info=True)

        renewer = threading.Thread(target=renew_loop, name="lease-renewal", daemon=True)
        renewer.start()
        completed = False
        try:
            yield self
            completed = True
        finally:
            self._stop_renewing.set()
            renewer.join(timeout=5)
            record, self._record = self._record, None
            recorded = False
            try:
                if completed and record is not None:
                    self._release_recording(*record)  # a failure to record is the cycle's failure
                    recorded = True
            finally:
                if not recorded:
                    try:
                        self.release()
                    except Exception:
                        log.warning("lease release failed; it expires by itself", exc_info=True)
