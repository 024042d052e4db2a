"""What the rules see of a KMS key: its alias (how buckets and domains name it), rotation, and its key policy
(a document of its own kind: kms:* for the account root is the norm there)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reconciler.facts.builder import Facts
from reconciler.facts.model import DocKind, KeyView, PolicyDoc, fixed_locator, statement_locator, where
from reconciler.kinds.context import Context
from reconciler.kinds.kmskey import KmsKey, LiveKmsKey, default_policy


def _policy(
    facts: Facts,
    ref: str,
    document: Mapping[str, Any] | None,
    location: str | None,
    locate: Callable[[int], str | None],
) -> PolicyDoc | None:
    if document is None:
        return None
    return facts.docs.build(DocKind.KEY, "policy", f"key policy of {ref}", ref, location, document, locate)


def desired(key: KmsKey, facts: Facts, ctx: Context) -> None:
    if key.policy is not None:
        policy = _policy(
            facts,
            key.ref,
            key.policy,
            where(key.source, "spec", "policy"),
            statement_locator(key.source, "spec", "policy"),
        )
    else:  # the default policy: found at the manifest itself
        policy = _policy(
            facts, key.ref, default_policy(ctx.account_id), where(key.source), fixed_locator(where(key.source))
        )
    facts.keys[key.name] = KeyView(
        key.name,
        True,
        where(key.source),
        key.source,
        alias_arn=ctx.kms_key_arn(key.name),
        rotation=key.rotation,
        policy=policy,
    )


def live(key: LiveKmsKey, facts: Facts) -> None:
    ref = f"KmsKey/{key.name}"
    facts.keys[key.name] = KeyView(
        key.name,
        facts.owns(key.tags),
        None,
        None,
        alias_arn=key.arn,
        key_arn=key.key_arn,
        rotation=key.rotation,
        policy=_policy(facts, ref, key.policy, None, fixed_locator(None)),
    )
