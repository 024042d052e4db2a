"""What the IAM kinds' facts share: their attached and inline policies as the rules see them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.facts.builder import Facts
from reconciler.facts.model import Attachment, DocKind, PolicyDoc, fixed_locator, statement_locator, where
from reconciler.kinds.context import Context
from reconciler.kinds.iamshared import written_index
from reconciler.manifests.model import Expiry, Source


def desired_attachments(
    ref: str,
    source: Source | None,
    policies: Sequence[str],
    facts: Facts,
    ctx: Context,
    *,
    indexes: tuple[int, ...] = (),
    ends: Mapping[str, Expiry] | None = None,
) -> tuple[Attachment, ...]:
    """The attachments a manifest declares (``spec.policies``), located (``indexes``: where each is as written,
    when expired ones were taken out), with when each that ends does (``ends``)."""
    ends = ends or {}
    return tuple(
        facts.attachment(
            policy,
            ctx.policy_arn(policy),
            ref,
            where(source, "spec", "policies", written_index(indexes, position)),
            expires=ends.get(policy),
        )
        for position, policy in enumerate(policies)
    )


def desired_inline(ref: str, source: Source | None, documents: Mapping[str, Any], facts: Facts) -> list[PolicyDoc]:
    """The inline policies a manifest declares (``spec.inlinePolicies``), located."""
    out = []
    for name in sorted(documents):
        doc = facts.docs.build(
            DocKind.INLINE,
            name,
            f"inline policy {name!r} of {ref}",
            ref,
            where(source, "spec", "inlinePolicies", name),
            documents[name],
            statement_locator(source, "spec", "inlinePolicies", name),
        )
        if doc is not None:
            out.append(doc)
    return out


def live_attachments(ref: str, arns: Sequence[str], facts: Facts) -> tuple[Attachment, ...]:
    return tuple(facts.attachment(arn, arn, ref, None) for arn in arns)


def live_inline(
    ref: str, documents: Mapping[str, Mapping[str, Any]], facts: Facts, *, guard_name: str | None = None
) -> tuple[PolicyDoc, ...]:
    """The inline policies in the account; the one named ``guard_name`` (a group's guard) is the reconciler's."""
    out = []
    for name in sorted(documents):
        guard = name == guard_name
        doc = facts.docs.build(
            DocKind.GUARD if guard else DocKind.INLINE,
            name,
            f"MFA guard of {ref}" if guard else f"inline policy {name!r} of {ref}",
            ref,
            None,
            documents[name],
            fixed_locator(None),
            generated=guard,
        )
        if doc is not None:
            out.append(doc)
    return tuple(out)
