"""Action names and patterns: IAM matches them ignoring case, with ``*`` and ``?`` wildcards."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["action_matches", "action_regex", "actions_regex", "canonical_action"]


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


@lru_cache(maxsize=4096)
def actions_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a list of action patterns (any of them): an AWS managed policy's statement can
    list thousands, and one match in C beats a Python loop over as many regexes."""
    return re.compile("|".join(f"(?:{action_regex(p).pattern})" for p in patterns), re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """Whether the IAM action ``pattern`` (``*`` and ``?`` wildcards allowed) covers ``action``.

    Case-insensitive, as IAM is: ``action_matches("IAM:Pass*", "iam:PassRole")`` is true.
    """
    return action_regex(pattern).fullmatch(action.lower()) is not None
