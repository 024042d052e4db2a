"""Audit-only rules (AUD001-AUD007): facts that only the live account has.

They run in ``reconciler audit`` (on a model built from the account), never on ``plan``.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.facts.model import ADMIN_POLICY_ARNS, BucketView, Model, Principal
from reconciler.rules.analysis import allows_everything, is_public_principal
from reconciler.rules.base import LIVE, Hit, Rule
from reconciler.rules.buckets import pab_fully_on
from reconciler.rules.data import unmanaged_writers
from reconciler.rules.findings import Severity


def _aud001(model: Model) -> Iterator[Hit]:
    if model.account is None:
        return
    for name, count in sorted(model.account.mfa_devices.items()):
        if count == 0:
            yield Hit(
                f"User/{name}",
                None,
                f"User/{name} can sign in to the console with a password and has no MFA device",
                "enrol an MFA device for the user (or remove the login profile)",
            )


def _aud002(model: Model) -> Iterator[Hit]:
    if model.account is not None and model.account.root_mfa is False:
        yield Hit(
            f"Account/{model.account_id}",
            None,
            f"the root user of account {model.account_id} has no MFA device (iam:GetAccountSummary "
            "AccountMFAEnabled is 0)",
            "sign in as root and enable MFA (a hardware or passkey device)",
        )


def _admin_reasons(model: Model, principal: Principal) -> list[str]:
    reasons: list[str] = []
    holders = [principal] + [model.groups[g] for g in principal.groups if g in model.groups]
    for holder in holders:
        via = "" if holder is principal else f" via {holder.ref}"
        reasons += [f"{a.arn.rsplit('/', 1)[-1]}{via}" for a in holder.attachments if a.arn in ADMIN_POLICY_ARNS]
    for holder, doc in model.effective_with_holders(principal):
        if doc.arn not in ADMIN_POLICY_ARNS and any(allows_everything(s) for s in doc.statements):
            via = "" if holder is principal else f" via {holder.ref}"
            reasons.append(f'"*" on "*" in {doc.label}{via}')
    return reasons


def _aud003(model: Model) -> Iterator[Hit]:
    for principal in model.principals:
        if principal.managed or principal.kind == "Group":
            continue
        reasons = _admin_reasons(model, principal)
        if reasons:
            yield Hit(
                principal.ref,
                None,
                f"{principal.ref} is not managed by the reconciler and holds administrator-like permissions: "
                + ", ".join(sorted(set(reasons))),
                "bring it into the manifests (with an exception and a reason if it must stay), or remove it",
            )


def public_reasons(bucket: BucketView) -> list[str]:
    pab = bucket.public_access_block or {}
    reasons = []
    if bucket.policy is not None and not (pab.get("BlockPublicPolicy") and pab.get("RestrictPublicBuckets")):
        reasons += [
            f"its policy allows {s.render()} to anyone" for s in bucket.policy.statements if is_public_principal(s)
        ]
    if bucket.public_acl and not pab.get("IgnorePublicAcls"):
        reasons.append("its ACL grants access to AllUsers or AuthenticatedUsers")
    return reasons


def _aud004(model: Model) -> Iterator[Hit]:
    for name in sorted(model.buckets):
        bucket = model.buckets[name]
        if not bucket.detailed:
            continue
        reasons = public_reasons(bucket)
        if reasons:
            yield Hit(
                bucket.ref,
                bucket.location,
                f"{bucket.ref} is public: {'; '.join(reasons)}",
                "turn Block Public Access on and remove the public grant",
            )
        elif not bucket.managed and not pab_fully_on(bucket):
            yield Hit(
                bucket.ref,
                None,
                f"{bucket.ref} (not managed) does not have Block Public Access fully on: nothing stops a "
                "future policy or ACL from making it public",
                "turn all four Block Public Access settings on",
                Severity.WARNING,
            )


def _aud005(model: Model) -> Iterator[Hit]:
    if model.account is None:
        return
    for drift in model.account.drift:
        yield Hit(
            f"{drift.kind}/{drift.name}",
            drift.location,
            f"{drift.kind}/{drift.name} differs from the manifests in {', '.join(drift.fields)}: a security "
            "setting was changed outside git",
            "review the change; the resource is observed (management: observe), so apply does not restore it: "
            "enforce it, or write the change into its manifest"
            if drift.observed
            else "review the change; apply restores the manifests",
        )


def _aud007(model: Model) -> Iterator[Hit]:
    for user in (model.users[n] for n in sorted(model.users)):
        if user.managed:
            continue
        for name in sorted(user.groups):
            group = model.groups.get(name)
            if group is not None and group.managed:
                yield Hit(
                    user.ref,
                    None,
                    f"{user.ref} is not managed by the reconciler but is a member of managed {group.ref}: it "
                    "holds the group's permissions without review",
                    f"declare the user in the manifests with the group in its groups, or remove it from "
                    f"{group.ref} (apply does)",
                )


RULES: tuple[Rule, ...] = (
    Rule(
        "AUD001",
        Severity.ERROR,
        "Console user without an MFA device",
        "A password alone signs in; whoever has it can also enrol their own MFA device first.",
        _aud001,
        LIVE,
    ),
    Rule(
        "AUD002",
        Severity.ERROR,
        "Root user without MFA",
        "The root user can do everything, including closing the account; AWS requires MFA on it (Security Hub IAM.9).",
        _aud002,
        LIVE,
    ),
    Rule(
        "AUD003",
        Severity.ERROR,
        "Unmanaged principal with administrator-like permissions",
        "A role or user outside the manifests holding AdministratorAccess, PowerUserAccess, IAMFullAccess or "
        '"*" on "*" is an unreviewed way around every rule here.',
        _aud003,
        LIVE,
    ),
    Rule(
        "AUD004",
        Severity.ERROR,
        "Public bucket (warning: unmanaged bucket without full Block Public Access)",
        "A bucket whose policy or ACL grants everyone access, not neutralised by Block Public Access, is public.",
        _aud004,
        LIVE,
    ),
    Rule(
        "AUD005",
        Severity.ERROR,
        "Drift of a security-relevant field",
        "A policy, trust, group membership, bucket protection or notebook setting of an owned resource that "
        "differs from git was changed without review.",
        _aud005,
        LIVE,
    ),
    Rule(
        "AUD006",
        Severity.ERROR,
        "Unmanaged principal that can write or delete protected data",
        "A role or user outside the manifests whose policies allow writing, deleting or re-opening the objects "
        "of a protected bucket is an unreviewed writer of data that only declared writers may change.",
        unmanaged_writers,
        LIVE,
    ),
    Rule(
        "AUD007",
        Severity.ERROR,
        "Unmanaged member of a managed group",
        "A user outside the manifests added to a group the reconciler manages gets that group's permissions "
        "without review: the classic way to grant oneself access by hand.",
        _aud007,
        LIVE,
    ),
)
