"""MFA (MFA001-MFA003): every user is behind an MFA guard that still lets them enrol a device.

A statement *enforces MFA* when it denies (nearly) everything to requests made without MFA: Effect Deny,
``Action: "*"`` or a ``NotAction`` list, on ``Resource: "*"``, under
``BoolIfExists``/``Bool`` ``aws:MultiFactorAuthPresent: false`` or ``Null aws:MultiFactorAuthAge: true``.
The product's group guard (``requireMFA: true``) is AWS's documented
``BlockMostAccessUnlessSignedInWithMFA`` statement.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.facts.model import Model, PolicyDoc, Principal, Statement, where
from reconciler.policydoc import action_matches
from reconciler.rules.base import BOTH, Hit, Rule
from reconciler.rules.findings import Severity

# Without these a user who has no device yet cannot enrol one (console or CLI).
ENROLMENT_ACTIONS: tuple[str, ...] = ("iam:CreateVirtualMFADevice", "iam:EnableMFADevice")


def enforces_mfa(s: Statement) -> bool:
    """A Deny of (nearly) everything when the request was not authenticated with MFA."""
    if not s.deny:
        return False
    broad = (s.action is not None and any(a in ("*", "*:*") for a in s.action)) or s.not_action is not None
    everywhere = s.resource is not None and "*" in s.resource
    if not (broad and everywhere):
        return False
    present = s.condition_values("Bool", "aws:MultiFactorAuthPresent")
    age_null = s.condition_values("Null", "aws:MultiFactorAuthAge")
    return (present is not None and "false" in present) or (age_null is not None and "true" in age_null)


def locks_out(s: Statement) -> bool:
    exempt = s.not_action or ()
    return enforces_mfa(s) and not all(any(action_matches(p, a) for p in exempt) for a in ENROLMENT_ACTIONS)


def group_enforces_mfa(group: Principal) -> bool:
    return any(enforces_mfa(s) for d in group.documents for s in d.statements)


def _mfa001(model: Model) -> Iterator[Hit]:
    for user in (model.users[n] for n in sorted(model.users)):
        groups = [model.groups[g] for g in user.groups if g in model.groups]
        if any(group_enforces_mfa(g) for g in groups):
            continue
        listed = ", ".join(user.groups) if user.groups else "no group"
        yield Hit(
            user.ref,
            where(user.source, "spec", "groups") or user.location,
            f"{user.ref} is in no group that enforces MFA ({listed}): without MFA the password (or an access "
            "key) alone gives the user's permissions",
            "add the user to a Group with requireMFA: true",
        )


def _lockout_docs(model: Model) -> Iterator[PolicyDoc]:
    seen: set[int] = set()
    for doc in model.authored_documents():
        seen.add(id(doc))
        yield doc
    for principal in model.principals:
        for doc in principal.documents:
            if id(doc) not in seen:
                seen.add(id(doc))
                yield doc


def _mfa002(model: Model) -> Iterator[Hit]:
    for doc in _lockout_docs(model):
        for s in doc.statements:
            if not locks_out(s):
                continue
            what = "every action" if s.not_action is None else "all but " + ", ".join(s.not_action)
            yield Hit(
                doc.owner,
                s.location,
                f"{doc.label} denies {what} without MFA and makes no exception for MFA self-service "
                f"({', '.join(ENROLMENT_ACTIONS)}...): a user without a device is locked out and cannot "
                "enrol one",
                "use requireMFA: true on the Group (AWS's BlockMostAccessUnlessSignedInWithMFA: BoolIfExists "
                "aws:MultiFactorAuthPresent false, NotAction for MFA self-service) and remove this statement",
            )


def _mfa003(model: Model) -> Iterator[Hit]:
    for user in (model.users[n] for n in sorted(model.users)):
        held = [a.arn for a in user.attachments] + [d.name for d in user.inline]
        if held:
            yield Hit(
                user.ref,
                user.location,
                f"{user.ref} holds policies directly ({', '.join(held)}): they escape the groups' MFA guard and review",
                "grant permissions through a Group; detach the user's policies",
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "MFA001",
        Severity.ERROR,
        "User not in an MFA-enforcing group",
        "A user's permissions must be usable only after signing in with MFA: every User belongs to a group "
        "whose policies deny everything else without MFA.",
        _mfa001,
        BOTH,
    ),
    Rule(
        "MFA002",
        Severity.ERROR,
        "Deny-without-MFA that locks users out",
        "Denying every action without MFA also denies enrolling the first MFA device: new users are locked out. "
        "AWS's documented statement exempts MFA self-service with NotAction.",
        _mfa002,
        BOTH,
    ),
    Rule(
        "MFA003",
        Severity.ERROR,
        "User with directly attached or inline policies",
        "Permissions belong to groups (which carry the MFA guard); a user's own policies escape it.",
        _mfa003,
        BOTH,
    ),
)
