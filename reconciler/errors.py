"""The product's error types.

Errors are values with structure, not strings: each says what went wrong and whether retrying
the same operation later can help (``retryable``), so the controller can decide between backing
off and reporting a bad commit.
"""

from __future__ import annotations

from dataclasses import dataclass


class ReconcilerError(Exception):
    """Base of every error the product raises on purpose. The CLI turns these into exit status 1."""

    retryable: bool = False


@dataclass(frozen=True)
class ManifestProblem:
    """One problem found in the manifests, located at the exact node that causes it."""

    file: str
    line: int
    col: int
    resource: str | None
    field: str | None
    message: str

    @property
    def sort_key(self) -> tuple[str, int, int, str, str, str]:
        return (self.file, self.line, self.col, self.resource or "", self.field or "", self.message)

    def __str__(self) -> str:
        parts = [f"{self.file}:{self.line}:{self.col}"]
        if self.resource:
            parts.append(self.resource)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class ManifestError(ReconcilerError):
    """The manifests are invalid; nothing may be planned or applied from them."""

    def __init__(self, problems: list[ManifestProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


class AwsAccessError(ReconcilerError):
    """AWS could not be reached or refused a read (endpoint down, bad credentials)."""

    retryable = True


class CallsStopped(ReconcilerError):
    """The calls of a client factory were stopped (``ClientFactory.stop_calls``): the work they were for was
    abandoned."""


class AccountMismatchError(ReconcilerError):
    """The credentials belong to another account than ``Settings.accountId``."""


class MutationRefused(ReconcilerError):
    """A mutating AWS operation was attempted through a read-only (plan mode) client."""

    def __init__(self, service: str, operation: str, reason: str = "in read-only mode") -> None:
        self.service = service
        self.operation = operation
        super().__init__(f"refused to send {service}:{operation} {reason}")
