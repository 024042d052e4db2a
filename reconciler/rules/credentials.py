"""Credentials (KEY001): access keys on the users the reconciler manages.

Keys of humans are not declared in git (they are secrets, and belong to the person), so a managed user's
own access keys are never silently kept: every plan and every audit reports them. Long-lived keys of a
human are what leaks; an exception with its reason records a deliberate one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from reconciler.facts.model import Model
from reconciler.rules.base import BOTH, Hit, Rule
from reconciler.rules.findings import Finding, Severity


def _hits(users: Iterable[tuple[str, tuple[str, ...], str | None]]) -> Iterator[Hit]:
    for name, keys, location in users:
        if keys:
            yield Hit(
                f"User/{name}",
                location,
                f"User/{name} has {len(keys)} access key(s) of its own: {', '.join(keys)}",
                "prefer temporary credentials (IAM Identity Center, or a role assumed with MFA); delete the "
                "key, or record it in Settings.exceptions with its reason",
            )


def _key001(model: Model) -> Iterator[Hit]:
    return _hits(
        (u.name, u.access_keys, u.location) for u in (model.users[n] for n in sorted(model.users)) if u.managed
    )


KEY001 = Rule(
    "KEY001",
    Severity.WARNING,
    "Access key on a managed user",
    "Keys of humans are not declared in git: a managed user's own access keys are reported, never "
    "silently kept. Long-lived keys are what leaks.",
    _key001,
    BOTH,
)
RULES: tuple[Rule, ...] = (KEY001,)


def managed_user_keys(keys: Mapping[str, tuple[str, ...]], locations: Mapping[str, str | None]) -> list[Finding]:
    """KEY001 for plan: ``keys`` of the users named in the manifests, as read from the account."""
    return [
        Finding(KEY001.id, KEY001.severity, h.resource, h.location, h.message, h.hint)
        for h in _hits((name, keys[name], locations.get(name)) for name in sorted(keys))
    ]
