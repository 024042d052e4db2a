"""What a rule is: a stable id, a severity, a title and rationale, and a check over the model."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from reconciler.facts.model import Model, PolicyDoc, Statement
from reconciler.rules.findings import Finding, Severity


@dataclass(frozen=True)
class Hit:
    """What a check reports; the rule turns it into a :class:`Finding` with its id and severity."""

    resource: str
    location: str | None
    message: str
    hint: str = ""
    severity: Severity | None = None  # only for rules documented with two severities


Check = Callable[[Model], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    rationale: str
    check: Check
    # Where the rule runs: on the manifests ("desired"), on the account ("live"), or both; "check": only in
    # ``reconciler check``, which evaluates it itself (it needs what only the check has: the offline snapshot).
    applies_to: frozenset[str] = frozenset({"desired", "live"})

    def __call__(self, model: Model) -> Iterator[Finding]:
        if model.origin not in self.applies_to:
            return
        for hit in self.check(model):
            yield Finding(self.id, hit.severity or self.severity, hit.resource, hit.location, hit.message, hit.hint)


DESIRED = frozenset({"desired"})
LIVE = frozenset({"live"})
BOTH = frozenset({"desired", "live"})
CHECK = frozenset({"check"})


T = TypeVar("T")
# What the rules of one evaluation share (``reconciler.rules.registry.run``): facts derived from the model that
# several rules need, made once. Outside an evaluation (a rule called on its own) nothing is kept.
_shared: ContextVar[dict[Any, Any] | None] = ContextVar("rules_shared", default=None)


def shared(key: Any, make: Callable[[], T]) -> T:
    """``make()``, made once per evaluation for ``key`` (which names the model it is about, e.g. by ``id``)."""
    memo = _shared.get()
    if memo is None:
        return make()
    if key not in memo:
        memo[key] = make()
    value: T = memo[key]
    return value


def sharing() -> Any:
    """Start an evaluation's shared facts: ``token = sharing()``, then ``end_sharing(token)`` to drop them."""
    return _shared.set({})


def end_sharing(token: Any) -> None:
    _shared.reset(token)


def authored_statements(model: Model) -> tuple[tuple[PolicyDoc, Statement], ...]:
    """:meth:`Model.authored_statements <reconciler.facts.model.Model.authored_statements>`, listed once per
    evaluation: a dozen rules read them all (the model is kept with the list: no other model can take its id)."""
    return shared(("authored statements", id(model)), lambda: (model, tuple(model.authored_statements())))[1]


def authored_documents(model: Model) -> tuple[PolicyDoc, ...]:
    """:meth:`Model.authored_documents <reconciler.facts.model.Model.authored_documents>`, listed once per
    evaluation (kept with the model, as :func:`authored_statements`)."""
    return shared(("authored documents", id(model)), lambda: (model, tuple(model.authored_documents())))[1]
