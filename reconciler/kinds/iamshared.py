"""What the IAM kinds' views share."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from reconciler.kinds.context import Context, Exists, Grant, Removal, Report, Target
from reconciler.manifests.model import Expiry, Resource, Source, ending_entries, is_policy_arn

#: The answer the IAM kinds read from together (IAM's GetAccountAuthorizationDetails, see ``iamread``): each
#: declares it in ``Kind.sources``.
IAM_SOURCE = "iam"


def policy_refs(arns: Any, ctx: Target) -> set[str]:
    """``Policy/name`` for the ARNs that are customer managed policies of this account."""
    prefix = f"arn:aws:iam::{ctx.account_id}:policy/"
    return {f"Policy/{arn.rsplit('/', 1)[-1]}" for arn in arns or () if isinstance(arn, str) and arn.startswith(prefix)}


def check_policy_refs(resource: Resource, refs: tuple[str, ...], field: str, exists: Exists, report: Report) -> None:
    """Report each of ``refs`` (spec.FIELD[i]) that is neither a Policy manifest nor a policy ARN, or is repeated."""
    for i in duplicates(refs):
        report(resource, ("spec", field, i), f"policy {refs[i]} is attached more than once", ("Policy", refs[i]))
    for i, ref in enumerate(refs):
        if not is_policy_arn(ref) and not exists("Policy", ref):
            report(
                resource,
                ("spec", field, i),
                f"no Policy manifest named '{ref}' (and not a policy ARN)",
                ("Policy", ref),
            )


def duplicates(names: tuple[str, ...]) -> list[int]:
    """The indexes of the names that repeat an earlier one (a list may write a name plainly or with expiresAt)."""
    seen: set[str] = set()
    out = []
    for index, name in enumerate(names):
        if name in seen:
            out.append(index)
        seen.add(name)
    return out


def attachments(items: list[Any], source: Source) -> tuple[tuple[str, ...], dict[str, Expiry]]:
    """``spec.policies`` as written (a reference, or ``{policy, expiresAt}``): the references, and when each of
    the attachments that end does."""
    return ending_entries(items, source, "policies", "policy")


def written_index(indexes: tuple[int, ...], position: int) -> int:
    """Where the ``position``-th attached policy is in ``spec.policies`` as written (``indexes``: empty when no
    attachment has been taken out since the manifest was loaded)."""
    return indexes[position] if indexes else position


def attachment_grants(
    resource: Resource, refs: tuple[str, ...], indexes: tuple[int, ...], ends: Mapping[str, Expiry], ctx: Context
) -> tuple[Grant, ...]:
    """The attachments of ``resource`` (``spec.policies``) that end."""
    return tuple(
        Grant(
            resource.ref,
            f"attachment of policy {ref}",
            ("spec", "policies", written_index(indexes, position)),
            ends[ref],
            (Removal(resource.ref, "policies", ctx.policy_arn(ref)),),
        )
        for position, ref in enumerate(refs)
        if ref in ends
    )


def without_attachments(
    refs: tuple[str, ...], indexes: tuple[int, ...], ends: Mapping[str, Expiry], ended: Collection[Grant]
) -> dict[str, Any]:
    """The fields (``policies``, ``policy_index``, ``policy_expiry``) of a Role or Group without the ``ended``
    attachments."""
    gone = {grant.path[-1] for grant in ended}
    kept = [(ref, written_index(indexes, p)) for p, ref in enumerate(refs) if written_index(indexes, p) not in gone]
    policies = tuple(ref for ref, _ in kept)
    return {
        "policies": policies,
        "policy_index": tuple(index for _, index in kept),
        "policy_expiry": {ref: e for ref, e in ends.items() if ref in policies},
    }
