"""Effective access to what matters, from one evaluation model: the access diff's facts.

:func:`access_of` reduces a :class:`~reconciler.facts.model.Model` (the manifests, or the account) to the
entitlements a reviewer cares about; :func:`reconciler.rules.accessdiff.diff_access` compares two of them.
Four categories, each computed with the rules' own analysis (:mod:`reconciler.rules.analysis`), so the
access diff and the rules never disagree on what a policy allows:

- **data**: who may write, delete or re-open the objects of each protected bucket (a bucket that declares
  ``access.write``): DATA001's actions and targets (:func:`reconciler.rules.data.wanted`), from identity
  documents (minus an unconditional Deny of the same principal) and from the bucket's own policy;
- **admin**: who holds administrator access: an Allow of ``*`` on ``*`` (LP001), or an attachment of one of
  the AWS managed policies the product treats as administrator access (``ADMIN_POLICY_ARNS``, as AUD003),
  whether or not its document was read;
- **assume**: who may assume each role: the principals its trust policy names, and when it trusts its own
  account, the principals of the account whose policies allow ``sts:AssumeRole`` on it;
- **escalation**: who holds each privilege escalation path of
  :data:`reconciler.rules.escalation.ESCALATION_PATHS` (every action of the path allowed on its resource).

The approximations are the rules' (``docs/rules.md``): a conditional Allow counts as granting, only an
unconditional Deny takes away, permissions boundaries and SCPs are not considered. Pure: nothing here
reads AWS. The cost is linear in the model: every statement's answers are computed once
(:class:`~reconciler.rules.analysis.GrantFinder`), and buckets only look at the principals whose
statements can reach them (DATA001's index).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from reconciler.facts.model import ADMIN_POLICY_ARNS, BucketView, Model, Principal
from reconciler.rules.analysis import S3_ARN_PREFIX, Grant, GrantFinder, action_in, allows_everything, resource_reaching
from reconciler.rules.data import WriterIndex, wanted
from reconciler.rules.escalation import ESCALATION_PATHS

__all__ = ["ASSUME_ACTIONS", "Access", "Category", "Entitlement", "Via", "access_of", "after_apply"]

#: The actions a trust policy lets a principal assume a role with.
ASSUME_ACTIONS: tuple[str, ...] = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity")
ADMIN = "*"  # the "what" of an administrator entitlement
_SELF = ("${aws:username}", "${aws:userid}")  # a user pattern with these reaches only the principal's own user


class Category(StrEnum):
    """What an entitlement is about, in the order the access diff shows them."""

    DATA = "data"
    ADMIN = "admin"
    ASSUME = "assume"
    ESCALATION = "escalation"


@dataclass(frozen=True, order=True)
class Entitlement:
    """One thing a principal may do: the unit the access diff compares.

    ``who``: ``Kind/name`` of a principal of the model, or an identifier outside it (an ARN of another
    account, ``*``, a service or identity provider). ``what``: an action (data, assume), ``*`` (admin) or
    an escalation path's id. ``on``: an ARN pattern (data), ``Role/name`` (assume), ``*`` or ``""``.
    """

    category: Category
    who: str
    what: str
    on: str


@dataclass(frozen=True, order=True)
class Via:
    """How an entitlement is granted: the principal holding the document (a group, for its members; the
    grantee itself for a trust or bucket policy), the document's label, and a detail (the resource pattern
    when it reaches the target through a wildcard)."""

    holder: str
    source: str
    detail: str = ""


Entries = Mapping[Entitlement, frozenset[Via]]


@dataclass(frozen=True)
class Access:
    """The entitlements of one model (:func:`access_of`), with what the diff needs to name principals."""

    origin: str
    entries: Entries
    protected: frozenset[str]  # the protected buckets' names
    buckets: frozenset[str] = frozenset()  # every bucket's name
    # role ref -> the workloads running as it (NotebookInstance/..., StudioDomain/...), for the reader.
    workloads: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # (Kind/name, policy ARN) of attachments whose document is not known: not counted, but for admin.
    unread: frozenset[tuple[str, str]] = frozenset()
    # The write entitlements of a bucket this model does not protect (the other side of a diff may).
    bucket_writes: Callable[[str], Entries] | None = field(default=None, compare=False, repr=False)

    def data_entries(self, buckets: Iterable[str]) -> dict[Entitlement, frozenset[Via]]:
        """The data entitlements on ``buckets``: this model's, whether or not it protects them."""
        wanted_ = set(buckets)
        out = {e: v for e, v in self.entries.items() if e.category is Category.DATA and bucket_of(e) in wanted_}
        if self.bucket_writes is not None:
            for name in sorted(wanted_ - self.protected):
                out.update(self.bucket_writes(name))
        return out


def bucket_of(entitlement: Entitlement) -> str:
    """The bucket a data entitlement is about."""
    return entitlement.on.removeprefix(S3_ARN_PREFIX).split("/", 1)[0]


class _Collector:
    def __init__(self) -> None:
        self.entries: dict[Entitlement, set[Via]] = defaultdict(set)

    def add(self, entitlement: Entitlement, via: Via) -> None:
        self.entries[entitlement].add(via)

    def frozen(self) -> dict[Entitlement, frozenset[Via]]:
        return {e: frozenset(self.entries[e]) for e in sorted(self.entries)}


def _actors(model: Model) -> list[Principal]:
    """The principals that act: roles and users (a group's documents act through its members)."""
    return [*(model.roles[n] for n in sorted(model.roles)), *(model.users[n] for n in sorted(model.users))]


def _holders(model: Model, principal: Principal) -> list[Principal]:
    return [principal, *(model.groups[g] for g in principal.groups if g in model.groups)]


def _via(grant: Grant) -> Via:
    return Via(grant.holder.ref, grant.document.label)


# --------------------------------------------------------------------------------------------------
# The four categories
# --------------------------------------------------------------------------------------------------


def _admins(model: Model, finder: GrantFinder, out: _Collector) -> None:
    for principal in _actors(model):
        docs = list(model.effective_with_holders(principal))
        if any(finder.deny_covers(s, ADMIN, ADMIN) for _, doc in docs for s in doc.statements):
            continue  # an unconditional Deny of everything
        vias = [Via(h.ref, d.label) for h, d in docs if any(allows_everything(s) for s in d.statements)]
        for holder in _holders(model, principal):
            vias += [
                Via(holder.ref, f"AWS managed policy {a.arn.rsplit('/', 1)[-1]}")
                for a in holder.attachments
                if a.arn in ADMIN_POLICY_ARNS
            ]
        for via in vias:
            out.add(Entitlement(Category.ADMIN, principal.ref, ADMIN, ADMIN), via)


_NEEDS: tuple[tuple[str, str], ...] = tuple(dict.fromkeys(need for path in ESCALATION_PATHS for need in path.needs))


def _escalations(model: Model, finder: GrantFinder, out: _Collector) -> None:
    actions = tuple(dict.fromkeys(action for action, _ in _NEEDS))
    for principal in _actors(model):
        statements = [s for _, doc in model.effective_with_holders(principal) for s in doc.statements if s.allow]
        if not any(finder.covered(s, actions) for s in statements):
            continue  # nothing of any path: the common case, decided without resource matching
        granted: dict[tuple[str, str], list[Grant]] = defaultdict(list)
        for grant in finder(principal, _NEEDS):
            if not any(variable in grant.pattern for variable in _SELF):
                granted[(grant.action, grant.target)].append(grant)
        for path in ESCALATION_PATHS:
            if all(need in granted for need in path.needs):
                for need in path.needs:
                    for grant in granted[need]:
                        out.add(Entitlement(Category.ESCALATION, principal.ref, path.id, ""), _via(grant))


def _assumers(model: Model, finder: GrantFinder, out: _Collector) -> None:
    refs = {p.arn: p.ref for p in _actors(model)}
    root = f"arn:aws:iam::{model.account_id}:root"
    trusting_root: list[Principal] = []
    for name in sorted(model.roles):
        role = model.roles[name]
        trust = role.trust
        if trust is None:
            continue
        denied = {
            value
            for s in trust.statements
            if s.deny and not s.condition and s.principal and any(action_in(s, a) for a in ASSUME_ACTIONS)
            for values in s.principal.values()
            for value in values
        }
        for s in trust.statements:
            if not s.allow or not s.principal:
                continue
            for action in (a for a in ASSUME_ACTIONS if action_in(s, a)):
                for value in (v for values in s.principal.values() for v in values):
                    if value in denied or "*" in denied:
                        continue
                    who = refs.get(value, value)
                    out.add(Entitlement(Category.ASSUME, who, action, role.ref), Via(who, trust.label))
                    if value == root and action == "sts:AssumeRole" and role not in trusting_root:
                        trusting_root.append(role)
    if not trusting_root:
        return
    # A role that trusts its own account: who the account's policies allow to assume it.
    wanted_ = [("sts:AssumeRole", role.arn) for role in trusting_root]
    by_arn = {role.arn: role for role in trusting_root}
    for principal in _actors(model):
        statements = [s for _, doc in model.effective_with_holders(principal) for s in doc.statements if s.allow]
        if not any(finder.covered(s, ("sts:AssumeRole",)) for s in statements):
            continue
        for grant in finder(principal, wanted_):
            role = by_arn[grant.target]
            if role is not principal:
                out.add(Entitlement(Category.ASSUME, principal.ref, grant.action, role.ref), _via(grant))


def bucket_writes(model: Model, index: WriterIndex, bucket: BucketView) -> Iterator[tuple[Entitlement, Via]]:
    """Who may write, delete or re-open ``bucket``'s data: DATA001's grants, and its bucket policy's Allows."""
    for principal in index.candidates(bucket):
        for grant in index.grants(principal, wanted(bucket)):
            detail = "" if grant.pattern == grant.target else grant.pattern
            via = Via(grant.holder.ref, grant.document.label, detail)
            yield Entitlement(Category.DATA, principal.ref, grant.action, grant.target), via
    policy = bucket.policy
    if policy is None:
        return
    refs = {p.arn: p.ref for p in _actors(model)}
    for s in policy.statements:
        if not s.allow or not s.principal:
            continue
        for action, target in wanted(bucket):
            pattern = resource_reaching(s, target) if action_in(s, action) else None
            if pattern is None:
                continue
            for value in (v for values in s.principal.values() for v in values):
                who = refs.get(value, value)
                detail = "" if pattern == target else pattern
                yield Entitlement(Category.DATA, who, action, target), Via(who, policy.label, detail)


def _writes_of(model: Model, index: WriterIndex, name: str) -> dict[Entitlement, frozenset[Via]]:
    out = _Collector()
    bucket = model.buckets.get(name) or BucketView(name, False, None)
    for entitlement, via in bucket_writes(model, index, bucket):
        out.add(entitlement, via)
    return out.frozen()


def _unread(model: Model) -> frozenset[tuple[str, str]]:
    return frozenset((p.ref, a.arn) for p in model.principals for a in p.attachments if a.document is None)


def access_of(model: Model) -> Access:
    """The entitlements of ``model``: see the module's documentation. Deterministic (entries are sorted)."""
    index = WriterIndex(model)
    finder = index.grants  # one finder: every statement's answers are shared by the four categories
    out = _Collector()
    protected = frozenset(name for name, bucket in model.buckets.items() if bucket.protected)
    for name in sorted(protected):
        for entitlement, via in bucket_writes(model, index, model.buckets[name]):
            out.add(entitlement, via)
    _admins(model, finder, out)
    _assumers(model, finder, out)
    _escalations(model, finder, out)
    workloads: dict[str, list[str]] = defaultdict(list)
    for workload in model.execution_roles():
        if workload.role_name is not None and workload.role_name in model.roles:
            workloads[f"Role/{workload.role_name}"].append(workload.ref)
    return Access(
        model.origin,
        out.frozen(),
        protected,
        frozenset(model.buckets),
        workloads={ref: tuple(sorted(set(w))) for ref, w in sorted(workloads.items())},
        unread=_unread(model),
        bucket_writes=lambda name: _writes_of(model, index, name),
    )


# --------------------------------------------------------------------------------------------------
# The account after apply
# --------------------------------------------------------------------------------------------------


def after_apply(desired: Model, live: Model, deleted: Iterable[str]) -> Model:
    """The account as apply leaves it, for ``plan``'s access diff: the manifests' resources, plus the
    account's other principals, policies and buckets that the plan does not delete (``deleted``: the
    ``Kind/name`` it deletes), which apply leaves as they are. A kept principal sees the groups and
    customer managed policies as the manifests make them (its attachments are rebound by ARN)."""
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
                replace(a, document=by_arn.get(a.arn)) if a.arn in by_arn or a.arn in gone_arns else a
                for a in p.attachments
            )
            out[name] = replace(p, attachments=attachments)
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
