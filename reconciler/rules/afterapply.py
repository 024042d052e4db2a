"""The account as apply leaves it: what ``plan``'s access diff compares the account with.

Apply makes the manifests' resources true and deletes what the plan deletes; everything else in the account
(principals, customer managed policies and buckets the reconciler does not own, owned ones it releases) stays
as it is. So the model after apply is the manifests' model plus the account's other resources, each of which
sees the groups and customer managed policies as the manifests make them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from reconciler.facts.model import Model, Principal

__all__ = ["after_apply"]


def after_apply(desired: Model, live: Model, deleted: Iterable[str]) -> Model:
    """The model of the account after apply: ``desired``, plus the resources of ``live`` it does not name and
    the plan does not delete (``deleted``: the ``Kind/name`` the plan deletes). A kept principal's attachments
    to customer managed policies are rebound (by ARN) to their documents after apply; a kept user's groups are
    looked up in the result, so it sees them as the manifests make them."""
    gone = frozenset(deleted)
    policies = dict(desired.policies)
    policies.update({n: d for n, d in live.policies.items() if n not in policies and f"Policy/{n}" not in gone})
    by_arn = {d.arn: d for d in policies.values() if d.arn}
    # A customer managed policy the plan deletes is no longer there to grant anything.
    gone_arns = {d.arn for n, d in live.policies.items() if d.arn and f"Policy/{n}" in gone}

    def kept(principals: Mapping[str, Principal], own: Mapping[str, Principal]) -> dict[str, Principal]:
        out = dict(own)
        for name, p in principals.items():
            if name in out or p.ref in gone:
                continue
            attachments = tuple(
                replace(a, document=by_arn.get(a.arn))
                if (a.arn in by_arn or a.arn in gone_arns) and a.document is not by_arn.get(a.arn)
                else a
                for a in p.attachments
            )
            rebound = any(new is not old for new, old in zip(attachments, p.attachments, strict=True))
            out[name] = replace(p, attachments=attachments) if rebound else p
        return out

    buckets = dict(desired.buckets)
    buckets.update({n: b for n, b in live.buckets.items() if n not in buckets and b.ref not in gone})
    return Model(
        "desired",
        desired.account_id,
        policies,
        kept(live.roles, desired.roles),
        kept(live.groups, desired.groups),
        kept(live.users, desired.users),
        buckets,
        desired.notebooks,
        desired.unreadable,
        desired.account,
        region=desired.region,
        keys=desired.keys,
        domains=desired.domains,
        profiles=desired.profiles,
    )
