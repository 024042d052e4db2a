"""The evaluation model of a ``LiveState``: what is deployed, for ``reconciler audit``.

Every kind adds what the rules see of its live resources (its ``facts.py``), in the kinds' order. The deployed
documents replace the manifests' (locations are None). A resource is *managed* when it carries the ownership
mark (the ownership tag; for groups, the guard inline policy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.aws.live import LiveState
from reconciler.facts.builder import Facts
from reconciler.facts.model import AccountFacts, Model, document_of
from reconciler.kinds import KIND_ORDER, REGISTRY
from reconciler.manifests.model import DEFAULT_OWNERSHIP_TAG


def from_live(
    live: LiveState,
    *,
    ownership: tuple[str, str] = (DEFAULT_OWNERSHIP_TAG.key, DEFAULT_OWNERSHIP_TAG.value),
    aws_policies: Mapping[str, Any] | None = None,
    account: AccountFacts | None = None,
    public_acl_buckets: frozenset[str] = frozenset(),
) -> Model:
    """The model of the account. ``aws_policies`` adds AWS managed documents to ``live.aws_policies``."""
    aws_documents: dict[str, Any] = {arn: p.document for arn, p in live.aws_policies.items()}
    aws_documents.update({arn: document_of(v) for arn, v in (aws_policies or {}).items()})
    facts = Facts(
        "live",
        live.account_id,
        live.region,
        aws_documents=aws_documents,
        ownership=ownership,
        public_acl_buckets=public_acl_buckets,
    )
    for kind in KIND_ORDER:
        for _, resource in sorted(live.of(kind).items()):
            REGISTRY[kind].live_facts(resource, facts)
    return facts.model(account)
