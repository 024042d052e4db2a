"""IAM quotas (QTA001-QTA004), checked at plan time rather than discovered when apply fails half-way.

Sizes are IAM's: characters without whitespace (:func:`reconciler.policydoc.measure.document_size`), of the
documents the reconciler writes (the generated trust policy and group guard included). The limits are IAM's
defaults (``GetAccountSummary``: ``PolicySizeQuota``, ``RoleSizeQuota``...); an account whose quota was
raised records that as an exception (``Settings.exceptions``) on the finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.facts.model import DocKind, Model, where
from reconciler.rules.base import BOTH, Hit, Rule
from reconciler.rules.findings import Severity

MANAGED_POLICY_SIZE = 6_144
INLINE_SIZE = {"User": 2_048, "Role": 10_240, "Group": 5_120}
ATTACHED_POLICIES = 10
TRUST_POLICY_SIZE = 2_048
_ADJUSTABLE = {
    "Role": "the default quota, which AWS raises up to 20 on request",
    "User": "the default quota, which AWS raises up to 20 on request",
    "Group": "a quota AWS does not raise",
}


def _over(size: int, limit: int) -> str:
    return f"{size:,} characters (without whitespace), {size - limit:,} over the limit of {limit:,}"


def _qta001(model: Model) -> Iterator[Hit]:
    for name in sorted(model.policies):
        doc = model.policies[name]
        if doc.kind is DocKind.MANAGED and doc.size > MANAGED_POLICY_SIZE:
            yield Hit(
                doc.owner,
                doc.location,
                f"{doc.label} is {_over(doc.size, MANAGED_POLICY_SIZE)} for a managed policy: IAM refuses it "
                "(LimitExceeded), so apply fails",
                "split it into two Policy manifests and attach both",
            )


def _qta002(model: Model) -> Iterator[Hit]:
    for principal in model.principals:
        limit = INLINE_SIZE[principal.kind]
        docs = principal.inline
        total = sum(d.size for d in docs)
        if total <= limit:
            continue
        parts = ", ".join(f"{d.name} {d.size:,}" for d in sorted(docs, key=lambda d: -d.size))
        yield Hit(
            principal.ref,
            where(principal.source, "spec", "inlinePolicies") or principal.location,
            f"the inline policies of {principal.ref} total {_over(total, limit)} for all the inline policies "
            f"of a {principal.kind.lower()} together ({parts}): IAM refuses the last one put, so apply fails",
            "move statements to a Policy manifest (a managed policy) and attach it",
        )


def _qta003(model: Model) -> Iterator[Hit]:
    for principal in model.principals:
        count = len({a.arn for a in principal.attachments})
        if count <= ATTACHED_POLICIES:
            continue
        yield Hit(
            principal.ref,
            where(principal.source, "spec", "policies") or principal.location,
            f"{principal.ref} attaches {count} managed policies, {count - ATTACHED_POLICIES} over the limit of "
            f"{ATTACHED_POLICIES} per {principal.kind.lower()} ({_ADJUSTABLE[principal.kind]}): "
            "IAM refuses the attachments beyond it, so apply fails",
            "merge policies into fewer Policy manifests"
            + ("" if principal.kind == "Group" else ", or raise the account's quota and record an exception"),
        )


def _qta004(model: Model) -> Iterator[Hit]:
    for name in sorted(model.roles):
        role = model.roles[name]
        trust = role.trust
        if trust is not None and trust.size > TRUST_POLICY_SIZE:
            yield Hit(
                role.ref,
                trust.location,
                f"{trust.label} is {_over(trust.size, TRUST_POLICY_SIZE)} for a trust policy (the default "
                "quota, which AWS raises on request): IAM refuses it, so apply fails",
                "trust fewer principals (one statement per kind of principal, a list of ARNs each), or raise "
                "the quota and record an exception",
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "QTA001",
        Severity.ERROR,
        "Managed policy over 6,144 characters",
        "IAM refuses a managed policy longer than 6,144 characters (whitespace not counted): apply fails.",
        _qta001,
        BOTH,
    ),
    Rule(
        "QTA002",
        Severity.ERROR,
        "Inline policies over the principal's total size",
        "All the inline policies of a principal together may hold 2,048 characters for a user, 5,120 for a "
        "group and 10,240 for a role (whitespace not counted); beyond, apply fails.",
        _qta002,
        BOTH,
    ),
    Rule(
        "QTA003",
        Severity.ERROR,
        "More than 10 managed policies attached",
        "IAM attaches at most 10 managed policies to a role, a user or a group (the default quota; roles and "
        "users can be raised to 20): the attachments beyond fail.",
        _qta003,
        BOTH,
    ),
    Rule(
        "QTA004",
        Severity.ERROR,
        "Trust policy over 2,048 characters",
        "IAM refuses a role trust policy longer than 2,048 characters (the default quota, whitespace not "
        "counted): apply fails.",
        _qta004,
        BOTH,
    ),
)
