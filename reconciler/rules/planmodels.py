"""The two models ``plan``'s access diff compares: the account as the plan read it, and as apply leaves it.

**Before** (:func:`account_model`) is the account, built from the ``LiveState`` the plan read, with no further
read. What the plan found equal to the manifests (a policy, role, group or bucket with no change) is taken from
the manifests' model, which the invariant rules built already: by meaning it is the same (the plan compares
the same documents), and the two sides then share the objects, so the diff sees at once that nothing moved
there. Users always come from the account: their group memberships are the groups' to converge.

**After** (:func:`after_apply`): apply makes the manifests' resources true and deletes what the plan deletes;
everything else in the account (principals, customer managed policies and buckets the reconciler does not
own, owned ones it releases) stays as it is. So the model after apply is the manifests' model plus the
account's other resources, each of which sees the groups and customer managed policies as the manifests make
them; a user the manifests do not declare leaves the groups they declare (apply converges their members).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace

from reconciler.aws.live import LiveState
from reconciler.facts.builder import Facts
from reconciler.facts.model import Model, PolicyDoc, Principal
from reconciler.kinds import KIND_ORDER, REGISTRY

__all__ = ["account_model", "after_apply"]

#: The kinds whose unchanged resources the account model takes from the manifests' model.
_REUSED = ("Policy", "Role", "Group", "Bucket")


def _rebind(principal: Principal, by_arn: Mapping[str, PolicyDoc | None]) -> Principal:
    """``principal`` with its attachments to the policies of ``by_arn`` bound to those documents (None: gone)."""
    attachments = tuple(
        replace(a, document=by_arn[a.arn]) if a.arn in by_arn and a.document is not by_arn[a.arn] else a
        for a in principal.attachments
    )
    rebound = any(new is not old for new, old in zip(attachments, principal.attachments, strict=True))
    return replace(principal, attachments=attachments) if rebound else principal


def account_model(desired: Model, live: LiveState, changed: Collection[str], *, ownership: tuple[str, str]) -> Model:
    """The model of the account as the plan read it (``changed``: the ``Kind/name`` of the plan's changes)."""
    own = {"Policy": desired.policies, "Role": desired.roles, "Group": desired.groups, "Bucket": desired.buckets}
    same = {
        kind: frozenset(n for n in live.of(kind) if n in own[kind] and f"{kind}/{n}" not in changed) for kind in _REUSED
    }
    facts = Facts(
        "live",
        live.account_id,
        live.region,
        aws_documents={arn: p.document for arn, p in live.aws_policies.items()},
        ownership=ownership,
    )
    for name in same["Policy"]:
        doc = desired.policies[name]
        facts.add_policy(name, doc.arn or "", doc)
    for kind in KIND_ORDER:
        for name, resource in sorted(live.of(kind).items()):
            if name not in same.get(kind, ()):
                REGISTRY[kind].live_facts(resource, facts)
        if kind == "Policy":  # before the principals: a reused one may attach a policy that changes
            by_arn = {d.arn: d for d in facts.policies.values() if d.arn}
            facts.roles.update({n: _rebind(desired.roles[n], by_arn) for n in same["Role"]})
            facts.groups.update({n: _rebind(desired.groups[n], by_arn) for n in same["Group"]})
            facts.buckets.update({n: desired.buckets[n] for n in same["Bucket"]})
    return facts.model()


def after_apply(desired: Model, live: Model, deleted: Iterable[str]) -> Model:
    """The model of the account after apply: ``desired``, plus the resources of ``live`` it does not name and
    the plan does not delete (``deleted``: the ``Kind/name`` the plan deletes). A kept principal's attachments
    to customer managed policies are rebound (by ARN) to their documents after apply; a kept user's groups are
    looked up in the result, so it sees them as the manifests make them, and it is no longer a member of the
    groups the manifests declare."""
    gone = frozenset(deleted)
    policies = dict(desired.policies)
    policies.update({n: d for n, d in live.policies.items() if n not in policies and f"Policy/{n}" not in gone})
    by_arn: dict[str, PolicyDoc | None] = {d.arn: d for d in policies.values() if d.arn}
    # A customer managed policy the plan deletes is no longer there to grant anything.
    by_arn.update({d.arn: None for n, d in live.policies.items() if d.arn and f"Policy/{n}" in gone})

    def kept(principals: Mapping[str, Principal], own: Mapping[str, Principal]) -> dict[str, Principal]:
        out = dict(own)
        for name, principal in principals.items():
            if name in out or principal.ref in gone:
                continue
            stays = _rebind(principal, by_arn)
            if stays.kind == "User" and any(g in desired.groups for g in stays.groups):
                stays = replace(stays, groups=tuple(g for g in stays.groups if g not in desired.groups))
            out[name] = stays
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
