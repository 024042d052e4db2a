"""Wildcard patterns of IAM policies and ARN templates of the Service Authorization Reference.

Pure string logic, no catalog and no AWS:

* A *policy pattern* is a ``Resource``/``NotResource`` entry as written in a policy: ``*`` matches any
  run of characters (``/`` and ``:`` included), ``?`` any one character, and a policy variable such as
  ``${aws:username}`` is treated as ``*`` (its value is only known per request). Matching is
  case-sensitive, as IAM's ARN matching is.
* A *template* is an ARN form from the catalog, e.g.
  ``arn:${Partition}:sagemaker:${Region}:${Account}:notebook-instance/${NotebookInstanceName}``: each
  ``${Name}`` stands for one non-empty value from a character class (see :func:`template_tokens`).

ARNs are compared segment by segment (``arn:partition:service:region:account:resource``; the resource
segment may contain further ``:``), so a wildcard in one segment never swallows the colons of the next.
:func:`intersects` answers "is there an ARN that both describe?" exactly for these two languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

ARN_SEGMENTS: Final = 6
_VARIABLE: Final = re.compile(r"\$\{[^}]*\}")
_LOWER_DIGITS_DASH: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_DIGITS: Final = frozenset("0123456789")
_PARTITION_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz-")
_ALNUM: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Name syntaxes the catalog's templates do not carry, from the services' documentation. Only names that
# can never contain "/" are listed; any other variable may hold any character (no false alarms).
# - SageMaker names (notebook instances, endpoints, models, jobs...): ``[a-zA-Z0-9](-*[a-zA-Z0-9])*``.
# - S3 bucket names: lower-case letters, digits, "." and "-" (legacy us-east-1 buckets: also upper case
#   and "_"); S3 access point names: lower-case letters, digits and "-".
_SAGEMAKER_NAME_CHARS: Final = frozenset(_ALNUM + "-")
_S3_BUCKET_CHARS: Final = frozenset(_ALNUM + ".-_")
_NAME_CHARS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("s3", "BucketName"): _S3_BUCKET_CHARS,
    ("s3", "AccessPointName"): _S3_BUCKET_CHARS,
}


@dataclass(frozen=True)
class Token:
    """One element of a pattern: a literal character, one character of a class, or a run (``star``)."""

    literal: str | None = None
    chars: frozenset[str] | None = None  # None: any character
    star: bool = False

    def accepts(self, char: str) -> bool:
        if self.literal is not None:
            return self.literal == char
        return self.chars is None or char in self.chars


def _one(chars: frozenset[str] | None) -> Token:
    return Token(chars=chars)


def _star(chars: frozenset[str] | None) -> Token:
    return Token(chars=chars, star=True)


def policy_tokens(pattern: str) -> tuple[Token, ...]:
    """Tokens of a policy pattern: ``*`` and ``${var}`` are runs, ``?`` one character."""
    out: list[Token] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "$" and pattern.startswith("${", i) and "}" in pattern[i:]:
            i = pattern.index("}", i) + 1
            out.append(_star(None))
            continue
        if char == "*":
            out.append(_star(None))
        elif char == "?":
            out.append(_one(None))
        else:
            out.append(Token(literal=char))
        i += 1
    return tuple(out)


def variable_chars(service: str, name: str, *, strict: bool) -> frozenset[str] | None:
    """The characters a template variable may take (None: any). ``strict=False`` relaxes names."""
    if name == "Partition":
        return _PARTITION_CHARS
    if name == "Region":
        return _LOWER_DIGITS_DASH
    if name == "Account":
        return _DIGITS
    if not strict:
        return None
    if service == "sagemaker" and name.endswith("Name"):
        return _SAGEMAKER_NAME_CHARS
    return _NAME_CHARS.get((service, name))


def template_tokens(template: str, service: str, *, strict: bool = True) -> tuple[Token, ...]:
    """Tokens of a catalog ARN template: every ``${Name}`` is one or more characters of its class."""
    out: list[Token] = []
    pos = 0
    for match in _VARIABLE.finditer(template):
        out.extend(Token(literal=c) for c in template[pos : match.start()])
        name = match.group(0)[2:-1]
        chars = variable_chars(service, name, strict=strict)
        if name == "Account":
            out.extend(_one(chars) for _ in range(12))  # exactly 12 digits
        else:
            out.extend((_one(chars), _star(chars)))
        pos = match.end()
    out.extend(Token(literal=c) for c in template[pos:])
    return tuple(out)


def _compatible(a: Token, b: Token) -> bool:
    """Whether one character can satisfy both non-run tokens (or a run's class and a token)."""
    if a.literal is not None:
        return b.accepts(a.literal)
    if b.literal is not None:
        return a.accepts(b.literal)
    if a.chars is None or b.chars is None:
        return True
    return bool(a.chars & b.chars)


def intersects(a: tuple[Token, ...], b: tuple[Token, ...]) -> bool:
    """Whether some string is matched by both token sequences. Its callers remember the answers by the strings the
    tokens come from (hashing those is much cheaper than hashing the tokens).

    A search of the pairs of positions (i in ``a``, j in ``b``) reachable from (0, 0), each numbered
    ``i * (len(b) + 1) + j``: a run may match nothing (advance past it) or one more character that the other
    side's token accepts (advance the other side); two single characters advance both. Every step advances,
    so the pairs form no cycle. Iterative and without closures, it leaves no garbage for the cyclic collector.
    """
    la, lb = len(a), len(b)
    width = lb + 1
    end = la * width + lb
    seen = {0}
    stack = [0]
    while stack:
        state = stack.pop()
        if state == end:
            return True
        i, j = divmod(state, width)
        x = a[i] if i < la else None
        y = b[j] if j < lb else None
        steps: list[int] = []
        if x is not None and x.star:
            steps.append(width)  # a's run matches nothing more
            if y is not None and not y.star and _compatible(x, y):
                steps.append(1)  # ... or one more character, b's
        if y is not None and y.star:
            steps.append(1)
            if x is not None and not x.star and _compatible(x, y):
                steps.append(width)
        if x is not None and y is not None and not x.star and not y.star and _compatible(x, y):
            steps.append(width + 1)  # one character each
        for step in steps:
            if state + step not in seen:
                seen.add(state + step)
                stack.append(state + step)
    return False


def split_arn(value: str) -> list[str] | None:
    """The six segments of an ARN (pattern), or None when it is not one.

    A pattern with fewer segments whose last one ends with ``*`` (``arn:aws:s3:*``) is padded with
    ``*`` segments, since IAM lets a trailing wildcard run to the end of the ARN.
    """
    parts = value.split(":", ARN_SEGMENTS - 1)
    if parts[0] != "arn":
        return None
    if len(parts) < ARN_SEGMENTS:
        if not parts[-1].endswith("*"):
            return None
        parts += ["*"] * (ARN_SEGMENTS - len(parts))
    return parts


@lru_cache(maxsize=65536)
def pattern_intersects_template(pattern: str, template: str, service: str, *, strict: bool = True) -> bool:
    """Whether the policy pattern can match some ARN of the template's resource type (memoised: the rules ask about
    the same patterns and resource types often)."""
    if pattern == "*":
        return True
    p_parts = split_arn(pattern)
    t_parts = template.split(":", ARN_SEGMENTS - 1)
    if p_parts is None or len(t_parts) != ARN_SEGMENTS:
        return False
    for index, (p, t) in enumerate(zip(p_parts, t_parts, strict=True)):
        if not strict and index in (3, 4) and p == "":
            continue  # lenient: an empty region/account is tolerated
        if index == 4 and p == "aws" and t == "${Account}" and service == "iam":
            continue  # AWS managed policies: arn:aws:iam::aws:policy/...
        if not segment_intersects(p, t, service, strict=strict):
            return False
    return True


@lru_cache(maxsize=65536)
def segment_intersects(pattern: str, template: str, service: str, *, strict: bool = True) -> bool:
    """Whether one ARN segment of a policy pattern can match the same segment of a template."""
    return intersects(_policy_tokens_cached(pattern), _template_tokens_cached(template, service, strict))


@cache
def _policy_tokens_cached(pattern: str) -> tuple[Token, ...]:
    return policy_tokens(pattern)


@cache
def _template_tokens_cached(template: str, service: str, strict: bool) -> tuple[Token, ...]:
    return template_tokens(template, service, strict=strict)


@lru_cache(maxsize=65536)
def patterns_intersect(a: str, b: str) -> bool:
    """Whether two policy patterns (``*``/``?``/``${var}`` wildcards) can match the same string (memoised by the
    strings themselves: hashing them is cheaper than hashing their tokens).

    Without the token search when one is a literal (does the other match it?) or both are a literal and a final
    ``*`` (is one literal a prefix of the other?)."""
    if not has_wildcard(b):
        return glob_match(a, b)
    if not has_wildcard(a):
        return glob_match(b, a)
    prefix_a, prefix_b = _star_prefix(a), _star_prefix(b)
    if prefix_a is not None and prefix_b is not None:
        return prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)
    return intersects(_policy_tokens_cached(a), _policy_tokens_cached(b))


def _star_prefix(pattern: str) -> str | None:
    """``raw/`` for ``raw/*``: the literal before the final ``*`` of a pattern with no other wildcard; else None."""
    if pattern.endswith("*") and not has_wildcard(prefix := pattern[:-1]):
        return prefix
    return None


@cache
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for token in policy_tokens(pattern):
        if token.star:
            parts.append(".*")
        elif token.literal is None:
            parts.append(".")
        else:
            parts.append(re.escape(token.literal))
    return re.compile("".join(parts), re.DOTALL)


def glob_match(pattern: str, text: str) -> bool:
    """Whether the policy pattern matches the literal ``text`` (case-sensitive); a literal pattern, or a literal and
    a final ``*``, without a regex."""
    if not has_wildcard(pattern):
        return pattern == text
    prefix = _star_prefix(pattern)
    if prefix is not None:
        return text.startswith(prefix)
    return _glob_regex(pattern).fullmatch(text) is not None


def covers(pattern: str, target: str) -> bool:
    """Whether ``pattern`` matches every string ``target`` (itself a pattern) matches.

    A sound approximation: ``target``'s wildcards are taken as literal characters that only a wildcard
    of ``pattern`` can match, so a "covers" answer is always right; a few real coverings are missed.
    """
    return glob_match(pattern, target)


def has_wildcard(value: str) -> bool:
    return "*" in value or "?" in value or "${" in value
