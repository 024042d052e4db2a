"""MFA (MFA001-MFA003): every user is behind an MFA guard that still lets them enrol a device.

A statement *enforces MFA* when it denies (nearly) everything to requests made without MFA: Effect Deny,
``Action: "*"`` or a ``NotAction`` list, on ``Resource: "*"``, under ``BoolIfExists
aws:MultiFactorAuthPresent: false`` or ``Null aws:MultiFactorAuthAge: true``. The ``Bool`` form does not
count: a request signed with a user's long-term access key carries no ``aws:MultiFactorAuthPresent`` at all,
so ``Bool ... false`` is not true for it and the Deny does not apply (MFA004 reports such conditions). The
product's group guard (``requireMFA: true``) is AWS's documented ``BlockMostAccessUnlessSignedInWithMFA``
statement.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.facts.model import Model, PolicyDoc, Principal, Statement, where
from reconciler.policydoc import action_matches
from reconciler.rules.base import BOTH, Hit, Rule, authored_documents, authored_statements
from reconciler.rules.conditions import NEGATED_OPERATORS, parse_operator, true_without_key
from reconciler.rules.findings import Severity

# Without these a user who has no device yet cannot enrol one (console or CLI).
ENROLMENT_ACTIONS: tuple[str, ...] = ("iam:CreateVirtualMFADevice", "iam:EnableMFADevice")


PRESENT = "aws:MultiFactorAuthPresent"
AGE = "aws:MultiFactorAuthAge"


def _values(s: Statement, operator: str, key: str) -> tuple[str, ...]:
    """The values of ``key`` (any case) under exactly ``operator`` (any case)."""
    for written, block in s.condition.items():
        if written.lower() == operator.lower():
            for name, values in block.items():
                if name.lower() == key.lower():
                    return tuple(v.lower() for v in values)
    return ()


def _denies_broadly(s: Statement) -> bool:
    if not s.deny:
        return False
    broad = (s.action is not None and any(a in ("*", "*:*") for a in s.action)) or s.not_action is not None
    return broad and s.resource is not None and "*" in s.resource


def enforces_mfa(s: Statement) -> bool:
    """A Deny of (nearly) everything to every request not authenticated with MFA, access keys included."""
    if not _denies_broadly(s):
        return False
    return "false" in _values(s, "BoolIfExists", PRESENT) or "true" in _values(s, "Null", AGE)


def denies_without_mfa(s: Statement) -> bool:
    """A Deny of (nearly) everything to some requests without MFA: :func:`enforces_mfa`, or its ``Bool`` form,
    which spares requests signed with long-term access keys."""
    return enforces_mfa(s) or (_denies_broadly(s) and "false" in _values(s, "Bool", PRESENT))


def locks_out(s: Statement) -> bool:
    exempt = s.not_action or ()
    return denies_without_mfa(s) and not all(any(action_matches(p, a) for p in exempt) for a in ENROLMENT_ACTIONS)


def group_enforces_mfa(group: Principal) -> bool:
    return any(enforces_mfa(s) for d in group.documents for s in d.statements)


def _mfa001(model: Model) -> Iterator[Hit]:
    for user in (model.users[n] for n in sorted(model.users)):
        groups = [model.groups[g] for g in user.groups if g in model.groups]
        if any(group_enforces_mfa(g) for g in groups):
            continue
        listed = ", ".join(user.groups) if user.groups else "no group"
        open_ = [g.ref for g in groups if any(denies_without_mfa(s) for d in g.documents for s in d.statements)]
        why = (
            f"; {', '.join(open_)} denies without MFA under Bool aws:MultiFactorAuthPresent, which requests "
            "signed with access keys bypass (MFA004)"
            if open_
            else ""
        )
        yield Hit(
            user.ref,
            where(user.source, "spec", "groups") or user.location,
            f"{user.ref} is in no group that enforces MFA ({listed}): without MFA the password (or an access "
            f"key) alone gives the user's permissions{why}",
            "add the user to a Group with requireMFA: true",
        )


def _lockout_docs(model: Model) -> Iterator[PolicyDoc]:
    seen: set[int] = set()
    for doc in authored_documents(model):
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


def _fails_open(s: Statement) -> Iterator[tuple[str, str, str]]:
    """(condition as written, why it fails open, the fixed condition) for each MFA test a request signed
    with a long-term access key (which carries neither aws:MultiFactorAuthPresent nor aws:MultiFactorAuthAge)
    slips through: a Deny meant for requests without MFA that is false when the key is absent, an Allow meant
    for requests with MFA that is true when it is absent."""
    for written, block in s.condition.items():
        op = parse_operator(written)
        if op.base is None or op.base == "Null":
            continue
        for key, raw in block.items():
            values = tuple(v.lower() for v in raw)
            shown = f"{written} {key}: {', '.join(repr(v) for v in raw)}"
            holds = true_without_key(written, raw)
            if key.lower() == PRESENT.lower():
                negated = op.base in NEGATED_OPERATORS
                without_mfa = ("true" if negated else "false") in values  # the test matches requests without MFA
                fixed_deny, fixed_allow = (
                    f'{{"BoolIfExists": {{"{PRESENT}": "false"}}}}',
                    f'{{"Bool": {{"{PRESENT}": "true"}}}}',
                )
            elif key.lower() == AGE.lower() and op.base.startswith("Numeric"):
                without_mfa = "GreaterThan" in op.base  # the test matches old (or no) MFA
                fixed_deny = f'{{"{op.base}IfExists": {{"{AGE}": "{raw[0]}"}}}}'
                fixed_allow = f'{{"{op.base}": {{"{AGE}": "{raw[0]}"}}}}'
            else:
                continue
            if s.deny and without_mfa and not holds:
                yield (
                    shown,
                    f"a request signed with an access key carries no {key}, so the condition is false and the Deny "
                    "does not apply: an access key alone bypasses MFA",
                    fixed_deny,
                )
            elif s.allow and not without_mfa and holds:
                yield (
                    shown,
                    f"the condition is true when the request carries no {key}, so a request signed with an access "
                    "key is allowed without MFA",
                    fixed_allow,
                )


def _mfa004(model: Model) -> Iterator[Hit]:
    for doc, s in authored_statements(model):
        for shown, why, fixed in _fails_open(s):
            name = f"statement {s.sid!r}" if s.sid else f"statement {s.index + 1}"
            yield Hit(
                doc.owner,
                s.location,
                f"{doc.label}, {name}: {s.effect} under {shown} fails open: {why}",
                f"write Condition: {fixed}",
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
    Rule(
        "MFA004",
        Severity.ERROR,
        "MFA condition that fails open",
        "A request signed with a user's long-term access key carries no aws:MultiFactorAuthPresent or "
        "aws:MultiFactorAuthAge: a Deny under Bool aws:MultiFactorAuthPresent false (or NumericGreaterThan "
        "aws:MultiFactorAuthAge) does not apply to it, and an Allow under an ...IfExists MFA test allows it. "
        "Only BoolIfExists false (Deny) or Bool true (Allow) enforce MFA for every request.",
        _mfa004,
        BOTH,
    ),
)
