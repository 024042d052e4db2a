"""Shared questions about statements: does this statement allow (or deny) this action on this resource?

Approximations, all documented in ``docs/rules.md``: a conditional Allow counts as granting (it does
under some request); only an unconditional Deny counts as taking away; permissions boundaries, SCPs,
session policies and resource policies of other services are not considered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.rules.model import Model, PolicyDoc, Principal, Statement, action_regex
from reconciler.rules.patterns import covers, has_wildcard, patterns_intersect

# What an Allow must say about the principal to be public: any of these condition keys narrows it.
NARROWING_KEYS: frozenset[str] = frozenset({
    "aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceip",
    "aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn", "aws:userid",
    "aws:sourceorgid", "aws:sourceorgpaths",
})


def action_in(statement: Statement, action: str) -> bool:
    """Whether the statement's Action/NotAction covers ``action`` (IAM matches action names ignoring case)."""
    name = action.lower()
    if statement.action is not None:
        return any(action_regex(p).fullmatch(name) for p in statement.action)
    if statement.not_action is not None:
        return not any(action_regex(p).fullmatch(name) for p in statement.not_action)
    return False


def resource_reaching(statement: Statement, target: str) -> str | None:
    """The statement's resource pattern that can match some resource of ``target`` (a pattern), or None.

    With NotResource: ``"NotResource"`` unless a NotResource entry covers the whole target.
    """
    if statement.resource is not None:
        reaching = [r for r in statement.resource if patterns_intersect(r, target)]
        # The most telling one first: a pattern that covers the whole target (names the bucket).
        return next((r for r in reaching if covers(r, target)), reaching[0] if reaching else None)
    if statement.not_resource is not None:
        if any(covers(nr, target) for nr in statement.not_resource):
            return None
        return "NotResource " + ", ".join(statement.not_resource)
    return None


def deny_covers(statement: Statement, action: str, target: str) -> bool:
    """Whether an unconditional Deny takes ``action`` away on every resource of ``target``."""
    if not statement.deny or statement.condition or not action_in(statement, action):
        return False
    if statement.resource is not None:
        return any(covers(r, target) for r in statement.resource)
    if statement.not_resource is not None:
        return not any(patterns_intersect(nr, target) for nr in statement.not_resource)
    return False


def is_public_principal(statement: Statement) -> bool:
    """An Allow to everyone (``"*"`` or ``{"AWS": "*"}``) that no narrowing condition key restricts."""
    if not statement.allow or statement.principal is None:
        return False
    everyone = any("*" in values for values in statement.principal.values())
    return everyone and not (statement.condition_keys() & NARROWING_KEYS)


def allows_everything(statement: Statement) -> bool:
    """Allow ``*`` on ``*``."""
    return (statement.allow and statement.action is not None and any(a in ("*", "*:*") for a in statement.action)
            and statement.resource is not None and "*" in statement.resource)


def service_wide(pattern: str) -> bool:
    """``*`` or ``service:*``."""
    if pattern in ("*", "*:*"):
        return True
    service, sep, name = pattern.partition(":")
    return bool(sep) and name == "*" and not has_wildcard(service)


@dataclass(frozen=True)
class Grant:
    """``holder`` (whose document it is) lets ``principal`` do ``action`` on ``target``."""

    principal: Principal
    holder: Principal
    document: PolicyDoc
    statement: Statement
    action: str
    target: str
    pattern: str


def grants(model: Model, principal: Principal, wanted: Iterable[tuple[str, str]]) -> list[Grant]:
    """The Allow statements that give ``principal`` each (action, target) not denied unconditionally."""
    docs = list(model.effective_with_holders(principal))
    denies = [s for _, d in docs for s in d.statements if s.deny]
    out: list[Grant] = []
    for action, target in wanted:
        if any(deny_covers(s, action, target) for s in denies):
            continue
        for holder, doc in docs:
            for statement in doc.statements:
                if not statement.allow or not action_in(statement, action):
                    continue
                pattern = resource_reaching(statement, target)
                if pattern is not None:
                    out.append(Grant(principal, holder, doc, statement, action, target, pattern))
    return out
