"""Effective access to what matters, from one evaluation model: the access diff's facts.

:func:`access_of` wraps a :class:`~reconciler.facts.model.Model` (the manifests, or the account) as an
:class:`Access`, which answers, with the rules' own analysis (:mod:`reconciler.rules.analysis`), so that the
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
reads AWS, and the answers are computed when asked for, so that :func:`~reconciler.rules.accessdiff.
diff_access` analyses only the principals whose documents differ between its two sides
(:meth:`Access.actor_key`); every statement's answers are computed once
(:class:`~reconciler.rules.analysis.GrantFinder`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from reconciler.facts.model import ADMIN_POLICY_ARNS, BucketView, Model, PolicyDoc, Principal, Statement
from reconciler.kinds.bucket import OBJECT_WRITE_ACTIONS
from reconciler.rules.analysis import AnyBucket, Grant, GrantFinder, action_in, allows_everything, resource_reaching
from reconciler.rules.data import BUCKET_CONTROL_ACTIONS, wanted
from reconciler.rules.escalation import ESCALATION_PATHS

__all__ = ["ASSUME_ACTIONS", "Access", "Category", "Entitlement", "Via", "access_of", "principal_ref"]

#: The actions a trust policy lets a principal assume a role with.
ASSUME_ACTIONS: tuple[str, ...] = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity")
ADMIN = "*"  # the "what" and "on" of an administrator entitlement
_SELF = ("${aws:username}", "${aws:userid}")  # a user pattern with these reaches only the principal's own user
_WRITES = (*OBJECT_WRITE_ACTIONS, *BUCKET_CONTROL_ACTIONS)
_NEEDS: tuple[tuple[str, str], ...] = tuple(dict.fromkeys(need for path in ESCALATION_PATHS for need in path.needs))
_NEED_ACTIONS = tuple(dict.fromkeys(action for action, _ in _NEEDS))


class Category(StrEnum):
    """What an entitlement is about, in the order the access diff shows them."""

    DATA = "data"
    ADMIN = "admin"
    ASSUME = "assume"
    ESCALATION = "escalation"


@dataclass(frozen=True, order=True)
class Entitlement:
    """One thing a principal may do: the unit the access diff compares.

    ``who``: ``Kind/name`` of a role or user of the account, or an identifier outside it (an ARN of another
    account, ``*``, a service or identity provider). ``what``: an action (data, assume), ``*`` (admin) or
    an escalation path's id. ``on``: an ARN pattern (data), ``Role/name`` (assume), ``*`` (admin) or ``""``.
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


Found = list[tuple[Entitlement, Via]]
_ARN = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):(role|user)/(?:[^*?]*/)?([^/*?]+)")


def principal_ref(value: str, account_id: str) -> str:
    """``Role/name`` or ``User/name`` for the ARN of a role or user of ``account_id``; anything else as is."""
    match = _ARN.fullmatch(value)
    if match is None or match.group(1) != account_id:
        return value
    return f"{match.group(2).capitalize()}/{match.group(3)}"


def bucket_of(entitlement: Entitlement) -> str:
    """The bucket a data entitlement is about."""
    return entitlement.on.removeprefix("arn:aws:s3:::").split("/", 1)[0]


def _statement_key(s: Statement) -> tuple[Any, ...]:
    """A statement as written, without where it is: equal on both sides of a diff when it grants the same."""
    return (s.effect, s.action, s.not_action, s.resource, s.not_resource, s.principal, s.not_principal, s.condition)


def _holders(model: Model, principal: Principal) -> list[Principal]:
    return [principal, *(model.groups[g] for g in principal.groups if g in model.groups)]


def _via(grant: Grant) -> Via:
    detail = "" if grant.pattern == grant.target else grant.pattern
    return Via(grant.holder.ref, grant.document.label, detail)


class Access:
    """The entitlements of one model (:func:`access_of`), computed when asked for.

    The entitlements of a role or user (data, admin, escalation, and assuming roles that trust the account)
    depend only on its effective documents, summed up by :meth:`actor_key`; those a trust or bucket policy
    grants only on that policy (:meth:`trust_key`, :meth:`policy_key`). ``entries`` holds them all.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self.origin = model.origin
        ordered = [*(model.roles[n] for n in sorted(model.roles)), *(model.users[n] for n in sorted(model.users))]
        self.actors: dict[str, Principal] = {p.ref: p for p in ordered}
        self.buckets = frozenset(model.buckets)
        self.protected = frozenset(name for name, bucket in model.buckets.items() if bucket.protected)
        self.finder = GrantFinder(model)
        self._doc_keys: dict[int, tuple[Any, ...]] = {}
        self._reach: dict[str, tuple[bool, frozenset[str]]] = {}

    # --- what the diff compares -------------------------------------------------------------------

    def actor_key(self, ref: str, *, identity: bool = False) -> tuple[Any, ...] | None:
        """Everything an actor's entitlements depend on (None: no such role or user): its effective documents'
        statements with their holders, and its attachments that count by name (admin) or are not known.

        ``identity``: the documents by identity instead (cheap): equal for two models that share them, as the
        account's and the manifests' models of a plan do for what the plan leaves unchanged.
        """
        principal = self.actors.get(ref)
        if principal is None:
            return None
        # In a stable order: the account lists attachments by ARN, the manifests as written.
        held = sorted(self.model.effective_with_holders(principal), key=lambda hd: (hd[0].ref, hd[1].kind, hd[1].name))
        docs = tuple((holder.ref, id(doc) if identity else self._doc_key(doc)) for holder, doc in held)
        by_name = tuple(
            sorted(
                (holder.ref, a.arn)
                for holder in _holders(self.model, principal)
                for a in holder.attachments
                if a.document is None or a.arn in ADMIN_POLICY_ARNS
            )
        )
        return (principal.arn, docs, by_name)

    def may_assume(self, ref: str) -> bool:
        """Whether some Allow of the actor covers ``sts:AssumeRole`` (on any resource)."""
        return any(self.finder.covered(s, ("sts:AssumeRole",)) for s in self._allows(self.actors[ref]))

    @cached_property
    def unread(self) -> frozenset[tuple[str, str]]:
        """(Kind/name, policy ARN) of attachments whose document is not known: not counted, but for admin."""
        return frozenset((p.ref, a.arn) for p in self.model.principals for a in p.attachments if a.document is None)

    @cached_property
    def workloads(self) -> dict[str, tuple[str, ...]]:
        """Role ref -> the workloads running as it (NotebookInstance/..., StudioDomain/...), for the reader."""
        found: dict[str, set[str]] = {}
        for workload in self.model.execution_roles():
            if workload.role_name is not None and workload.role_name in self.model.roles:
                found.setdefault(f"Role/{workload.role_name}", set()).add(workload.ref)
        return {ref: tuple(sorted(refs)) for ref, refs in sorted(found.items())}

    @cached_property
    def entries(self) -> dict[Entitlement, frozenset[Via]]:
        """Every entitlement of the model (its own protected buckets), sorted."""
        return _collect(self.everything(self.protected, self.root_arns))

    def everything(self, buckets: Collection[str], roots: Mapping[str, str]) -> Found:
        """All entitlements, on ``buckets`` (protected on either side of a diff) and with the roles trusting their
        account given by ``roots`` (role ref -> ARN, of either side; only those of this side count)."""
        found: Found = []
        for name in sorted(self.model.roles):
            found += self.trust_entries(f"Role/{name}")
        for name in sorted(buckets):
            found += self.policy_entries(name)
        for ref in self.actors:
            found += self.actor_entries(ref, buckets, roots)
        return found

    # --- trust and bucket policies ------------------------------------------------------------------

    def trust_key(self, ref: str, *, identity: bool = False) -> Any:
        """What a role's trust entitlements depend on: its trust policy (by identity, or its statements)."""
        role = self.model.roles.get(ref.removeprefix("Role/"))
        if role is None or role.trust is None:
            return None
        return (role.arn, id(role.trust) if identity else self._doc_key(role.trust))

    def trust_entries(self, ref: str) -> Found:
        """Who the trust policy of the role ``ref`` lets assume it."""
        role = self.model.roles.get(ref.removeprefix("Role/"))
        trust = role.trust if role is not None else None
        if role is None or trust is None:
            return []
        denied = {
            value
            for s in trust.statements
            if s.deny and not s.condition and s.principal and any(action_in(s, a) for a in ASSUME_ACTIONS)
            for values in s.principal.values()
            for value in values
        }
        found: Found = []
        for s in trust.statements:
            if not s.allow or not s.principal:
                continue
            for action in (a for a in ASSUME_ACTIONS if action_in(s, a)):
                for value in (v for values in s.principal.values() for v in values):
                    if value not in denied and "*" not in denied:
                        who = principal_ref(value, self.model.account_id)
                        found.append((Entitlement(Category.ASSUME, who, action, role.ref), Via(who, trust.label)))
        return found

    @cached_property
    def root_arns(self) -> dict[str, str]:
        """Role ref -> ARN of the roles that trust their own account (its principals allowed to may assume them)."""
        root = f"arn:aws:iam::{self.model.account_id}:root"
        return {
            f"Role/{name}": role.arn
            for name, role in sorted(self.model.roles.items())
            if any(e.who == root and e.what == "sts:AssumeRole" for e, _ in self.trust_entries(f"Role/{name}"))
        }

    def policy_key(self, name: str, *, identity: bool = False) -> Any:
        """What the entitlements a bucket's policy grants depend on: the policy (by identity, or its statements)."""
        bucket = self.model.buckets.get(name)
        if bucket is None or bucket.policy is None:
            return None
        return id(bucket.policy) if identity else self._doc_key(bucket.policy)

    def policy_entries(self, name: str) -> Found:
        """Who the policy of the bucket ``name`` lets write, delete or re-open its data."""
        bucket = self.model.buckets.get(name)
        policy = bucket.policy if bucket is not None else None
        if bucket is None or policy is None:
            return []
        found: Found = []
        for s in policy.statements:
            if not s.allow or not s.principal:
                continue
            for action, target in wanted(bucket):
                pattern = resource_reaching(s, target) if action_in(s, action) else None
                if pattern is None:
                    continue
                detail = "" if pattern == target else pattern
                for value in (v for values in s.principal.values() for v in values):
                    who = principal_ref(value, self.model.account_id)
                    found.append((Entitlement(Category.DATA, who, action, target), Via(who, policy.label, detail)))
        return found

    # --- one actor (the expensive part: only for actors that differ) ------------------------------

    def actor_entries(self, ref: str, buckets: Collection[str], roots: Mapping[str, str]) -> Found:
        """The actor's entitlements: writes to ``buckets``, admin, escalation paths, and assuming the roles of
        ``roots`` that trust the account on this side."""
        principal = self.actors.get(ref)
        if principal is None:
            return []
        found: Found = []
        found += self._writes(principal, buckets)
        found += self._admin(principal)
        found += self._escalations(principal)
        found += self._assumes(principal, roots)
        return found

    def _allows(self, principal: Principal) -> Iterator[Statement]:
        for _, doc in self.model.effective_with_holders(principal):
            yield from (s for s in doc.statements if s.allow)

    def _reaches(self, principal: Principal) -> tuple[bool, frozenset[str]]:
        """(reaches any bucket, the buckets it names) through statements that allow a write: DATA001's pruning."""
        found = self._reach.get(principal.ref)
        if found is None:
            anywhere, names = False, set[str]()
            for s in self._allows(principal):
                if self.finder.covered(s, _WRITES):
                    reach = self.finder.s3_buckets_reached(s)
                    if isinstance(reach, AnyBucket):
                        anywhere = True
                        break
                    names |= reach
            found = self._reach[principal.ref] = (anywhere, frozenset(names))
        return found

    def _writes(self, principal: Principal, buckets: Collection[str]) -> Found:
        anywhere, names = self._reaches(principal)
        targets = sorted(buckets) if anywhere else sorted(names.intersection(buckets))
        pairs = [pair for name in targets for pair in wanted(BucketView(name, False, None))]
        if not pairs:
            return []
        grants = self.finder(principal, pairs)
        return [(Entitlement(Category.DATA, principal.ref, g.action, g.target), _via(g)) for g in grants]

    def _admin(self, principal: Principal) -> Found:
        docs = list(self.model.effective_with_holders(principal))
        if any(self.finder.deny_covers(s, ADMIN, ADMIN) for _, doc in docs for s in doc.statements):
            return []  # an unconditional Deny of everything
        vias = [Via(h.ref, d.label) for h, d in docs if any(allows_everything(s) for s in d.statements if s.allow)]
        for holder in _holders(self.model, principal):
            for a in holder.attachments:
                if a.arn in ADMIN_POLICY_ARNS:
                    vias.append(Via(holder.ref, f"AWS managed policy {a.arn.rsplit('/', 1)[-1]}"))
        return [(Entitlement(Category.ADMIN, principal.ref, ADMIN, ADMIN), via) for via in vias]

    def _escalations(self, principal: Principal) -> Found:
        if not any(self.finder.covered(s, _NEED_ACTIONS) for s in self._allows(principal)):
            return []  # nothing of any path: the common case, decided without resource matching
        granted: dict[tuple[str, str], list[Grant]] = {}
        for grant in self.finder(principal, _NEEDS):
            if not any(variable in grant.pattern for variable in _SELF):
                granted.setdefault((grant.action, grant.target), []).append(grant)
        found: Found = []
        for path in ESCALATION_PATHS:
            if all(need in granted for need in path.needs):
                entitlement = Entitlement(Category.ESCALATION, principal.ref, path.id, "")
                found += [
                    (entitlement, Via(g.holder.ref, g.document.label)) for need in path.needs for g in granted[need]
                ]
        return found

    def _assumes(self, principal: Principal, roots: Mapping[str, str]) -> Found:
        """Roles that trust the account (on this side) whose ARN the actor's policies allow it to assume."""
        mine = {ref: arn for ref, arn in roots.items() if ref in self.root_arns and ref != principal.ref}
        if not mine or not self.may_assume(principal.ref):
            return []
        by_arn = {arn: ref for ref, arn in mine.items()}
        grants = self.finder(principal, [("sts:AssumeRole", arn) for arn in sorted(by_arn)])
        return [(Entitlement(Category.ASSUME, principal.ref, g.action, by_arn[g.target]), _via(g)) for g in grants]

    def _doc_key(self, doc: PolicyDoc) -> tuple[Any, ...]:
        key = self._doc_keys.get(id(doc))
        if key is None:
            key = self._doc_keys[id(doc)] = tuple(_statement_key(s) for s in doc.statements)
        return key


def _collect(found: Found) -> dict[Entitlement, frozenset[Via]]:
    out: dict[Entitlement, set[Via]] = {}
    for entitlement, via in found:
        out.setdefault(entitlement, set()).add(via)
    return {e: frozenset(out[e]) for e in sorted(out)}


def access_of(model: Model) -> Access:
    """The entitlements of ``model``, computed when asked for (see :class:`Access`). Pure and deterministic."""
    return Access(model)
