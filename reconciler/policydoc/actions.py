"""Action names and patterns: IAM matches them ignoring case, with ``*`` and ``?`` wildcards."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["ActionSet", "action_matches", "action_regex", "action_set", "canonical_action"]


def canonical_action(action: str) -> str:
    """The form in which action names appear in canonical statements (IAM ignores their case)."""
    return action.lower()


@lru_cache(maxsize=16384)
def action_regex(pattern: str) -> re.Pattern[str]:
    """An action pattern (``*``/``?`` wildcards) as a regex over lower-cased ``service:Name``.

    Compiled once per pattern: AWS managed policies hold thousands of patterns, more than ``re``'s own
    cache keeps, and the rules ask about each of them for every principal that attaches the policy.
    """
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()), re.DOTALL
    )


def _has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _prefix(pattern: str) -> str | None:
    """``get`` for ``get*``: the literal prefix of a pattern whose only wildcard is one final ``*``; else None."""
    if pattern.endswith("*") and not _has_wildcard(pattern[:-1]):
        return pattern[:-1]
    return None


class _Wildcards:
    """Wildcard patterns matched against one string: prefixes (``get*``) at once, the others one regex each."""

    __slots__ = ("prefixes", "regexes")

    def __init__(self, patterns: list[str]) -> None:
        prefixes = [p for p in (_prefix(p) for p in patterns) if p is not None]
        self.prefixes = tuple(dict.fromkeys(prefixes))
        self.regexes = tuple(action_regex(p) for p in dict.fromkeys(p for p in patterns if _prefix(p) is None))

    def match(self, text: str) -> bool:
        if text.startswith(self.prefixes):
            return True
        return bool(self.regexes) and any(r.fullmatch(text) for r in self.regexes)


class ActionSet:
    """A list of action patterns (any of them matches), answered without a regex per pattern or an alternation.

    An AWS managed policy's statement can list thousands of patterns (ReadOnlyAccess): a set of the exact names,
    and the wildcards grouped by the service they name (``s3:Get*`` is asked only about ``s3:`` actions; nearly
    all are a prefix and a final ``*``, checked by one ``str.startswith``); a wildcard in the service part
    (``*``, ``*:Get*``) is asked about every action. The same answers as :func:`action_matches` on each pattern.
    """

    __slots__ = ("_any_service", "_by_service", "_exact")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        lowered = [p.lower() for p in patterns]
        self._exact = frozenset(p for p in lowered if not _has_wildcard(p))
        by_service: dict[str, list[str]] = {}
        any_service: list[str] = []
        for pattern in lowered:
            if not _has_wildcard(pattern):
                continue
            service, sep, rest = pattern.partition(":")
            if sep and not _has_wildcard(service):
                by_service.setdefault(service, []).append(rest)
            else:
                any_service.append(pattern)
        self._by_service = {service: _Wildcards(rests) for service, rests in by_service.items()}
        self._any_service = _Wildcards(any_service)

    def matches(self, action: str) -> bool:
        """Whether one of the patterns covers ``action`` (any case, as IAM matches)."""
        name = action.lower()
        if name in self._exact:
            return True
        service, sep, rest = name.partition(":")
        if sep:
            wildcards = self._by_service.get(service)
            if wildcards is not None and wildcards.match(rest):
                return True
        return self._any_service.match(name)


@lru_cache(maxsize=4096)
def action_set(patterns: tuple[str, ...]) -> ActionSet:
    """The :class:`ActionSet` of a statement's Action (or NotAction) list, made once per list: keyed by the
    patterns themselves, so an AWS managed policy's is made once per process and version, whichever principals
    attach it and however many times the controller reconciles."""
    return ActionSet(patterns)


def action_matches(pattern: str, action: str) -> bool:
    """Whether the IAM action ``pattern`` (``*`` and ``?`` wildcards allowed) covers ``action``.

    Case-insensitive, as IAM is: ``action_matches("IAM:Pass*", "iam:PassRole")`` is true.
    """
    return action_regex(pattern).fullmatch(action.lower()) is not None
