"""Protected data (DATA001-DATA003): who can write, delete or re-open a bucket's objects, and for how long a human can.

For every bucket the rules compute, from every identity document (Policy manifests, inline policies,
what users inherit from their groups, and attached AWS managed policies), which principals are allowed
the object write/delete actions on ``arn:aws:s3:::BUCKET/*`` or the policy-changing actions on
``arn:aws:s3:::BUCKET`` (wildcards matched as IAM matches them, case-sensitively), minus what an
unconditional Deny of the same principal takes away.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from reconciler import clock
from reconciler.facts.model import BucketView, DocKind, Model, Principal, where
from reconciler.kinds.bucket import OBJECT_WRITE_ACTIONS
from reconciler.manifests.model import Expiry
from reconciler.rules.analysis import (
    S3_ARN_PREFIX,
    AnyBucket,
    Bearing,
    Grant,
    GrantFinder,
    Targets,
    action_in,
    resource_reaching,
)
from reconciler.rules.base import BOTH, DESIRED, Hit, Rule, shared
from reconciler.rules.findings import Severity
from reconciler.rules.patterns import covers, has_wildcard

# Bucket-level actions that change who may write, or that delete data wholesale.
BUCKET_CONTROL_ACTIONS: tuple[str, ...] = (
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
    "s3:DeleteBucket",
)


def wanted(bucket: BucketView) -> list[tuple[str, str]]:
    return [(a, f"{bucket.arn}/*") for a in OBJECT_WRITE_ACTIONS] + [(a, bucket.arn) for a in BUCKET_CONTROL_ACTIONS]


def names_bucket(pattern: str, bucket: BucketView) -> bool:
    """Whether the resource pattern names the bucket itself (no wildcard in the bucket name)."""
    if not pattern.startswith(S3_ARN_PREFIX):
        return False
    name = pattern.removeprefix(S3_ARN_PREFIX).split("/", 1)[0]
    return name == bucket.name and not has_wildcard(name)


@dataclass
class _Holder:
    holder: Principal
    principals: set[str] = field(default_factory=set)
    grants: list[Grant] = field(default_factory=list)


#: What a writer does: the object write/delete actions on a bucket's objects, the control actions on the bucket.
WRITE_ACTIONS: tuple[str, ...] = (*OBJECT_WRITE_ACTIONS, *BUCKET_CONTROL_ACTIONS)


class _WriterIndex:
    """Which principals could hold a write grant on which bucket, from one pass over every document.

    Each principal's statements that bear on the write actions are kept (a few of its own); a bucket's
    candidates are the principals whose Allows among them can reach it, and
    :meth:`~reconciler.rules.analysis.GrantFinder.grants_of` decides, exactly, from those statements alone.
    Without it the rules would ask every principal about every bucket (buckets x principals).
    """

    def __init__(self, model: Model) -> None:
        self.grants = GrantFinder(model)
        self.order: list[Principal] = []
        self.bearing: list[Bearing] = []
        self.anywhere: list[int] = []
        self.by_bucket: dict[str, list[int]] = {}
        self._targets: dict[str, Targets] = {}
        roles, users = (model.roles[n] for n in sorted(model.roles)), (model.users[n] for n in sorted(model.users))
        for principal in (*roles, *users):
            bearing = self.grants.bearing(principal, WRITE_ACTIONS)
            if not bearing.allows:
                continue
            position = len(self.order)
            self.order.append(principal)
            self.bearing.append(bearing)
            buckets: set[str] = set()
            for _, _, statement, _ in bearing.allows:
                reach = self.grants.s3_buckets_reached(statement)
                if isinstance(reach, AnyBucket):
                    self.anywhere.append(position)
                    break
                buckets |= reach
            else:
                for name in buckets:
                    self.by_bucket.setdefault(name, []).append(position)

    def candidates(self, bucket: BucketView, *, through_wildcards: bool = False) -> list[int]:
        """Positions of the principals that may write the bucket, in the model's order (roles, then users, each
        by name). ``through_wildcards``: only those that may through a pattern that does not name the bucket
        (:func:`names_bucket`), which only a statement that may reach any bucket has: the patterns of one that
        names its buckets literally reach a bucket only by naming it (the bucket name ends where "/" or the ARN
        does), and its other resources are ARNs of other services, with no wildcard."""
        if through_wildcards:
            return list(self.anywhere)
        return sorted({*self.anywhere, *self.by_bucket.get(bucket.name, ())})

    def grants_on(self, position: int, bucket: BucketView) -> list[Grant]:
        """The write grants the candidate at ``position`` holds on ``bucket`` (:func:`wanted`'s order)."""
        targets = self._targets.get(bucket.name)
        if targets is None:
            targets = self._targets[bucket.name] = self.grants.targets(wanted(bucket))
        return self.grants.grants_of(self.order[position], self.bearing[position], targets)


def writer_index(model: Model) -> _WriterIndex:
    """The model's writer index, made once per evaluation (DATA001, DATA002 and AUD006 all need it)."""
    return shared(("writer index", id(model)), lambda: _WriterIndex(model))


def _writers(index: _WriterIndex, bucket: BucketView, *, through_wildcards: bool = False) -> dict[str, _Holder]:
    """Grants by the principal holding the document (a role, a group, or a user's own policies); with
    ``through_wildcards``, of the candidates that may write through a pattern not naming the bucket only
    (:meth:`_WriterIndex.candidates`: every grant through such a pattern is among theirs)."""
    holders: dict[str, _Holder] = {}
    of_holder: dict[int, _Holder] = {}  # the same, by holder identity (alive: their grants are in the entries)
    for position in index.candidates(bucket, through_wildcards=through_wildcards):
        arn = index.order[position].arn
        for grant in index.grants_on(position, bucket):
            entry = of_holder.get(id(grant.holder))
            if entry is None:
                ref = grant.holder.ref
                entry = holders.get(ref)
                if entry is None:
                    entry = holders[ref] = _Holder(grant.holder)
                of_holder[id(grant.holder)] = entry
            entry.principals.add(arn)
            entry.grants.append(grant)
    return holders


def _describe(grants_: list[Grant]) -> tuple[str, str | None]:
    actions = sorted({g.action for g in grants_})
    shown = ", ".join(actions[:4]) + (f" and {len(actions) - 4} more" if len(actions) > 4 else "")
    sources: list[str] = []
    for g in grants_:
        whole = g.pattern.startswith("NotResource") or covers(g.pattern, g.target)
        partial = "" if whole else ", for the keys it matches"
        text = f"{g.document.label} ({g.pattern}{partial})"
        if text not in sources:
            sources.append(text)
    via = "; ".join(sources[:2]) + (" ..." if len(sources) > 2 else "")
    location = next((g.statement.location for g in grants_ if g.statement.location), None)
    return f"{shown} via {via}", location


def _hint(holder: Principal, bucket: BucketView, grants_: list[Grant]) -> str:
    aws = sorted(
        {
            g.document.label.removeprefix("AWS managed policy ")
            for g in grants_
            if g.document.kind is DocKind.AWS_MANAGED
        }
    )
    ref = holder.ref
    if aws:
        return (
            f"replace AWS managed {', '.join(aws)} with a Policy that names only the buckets {ref} "
            f"writes, or add {ref} to access.write of {bucket.ref}"
        )
    return f"remove the grant, or add {ref} to access.write of {bucket.ref}"


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _data001(model: Model) -> Iterator[Hit]:
    index = writer_index(model)
    for name in sorted(model.buckets):
        bucket = model.buckets[name]
        if bucket.writers is None:
            continue
        allowed, bucket_ref = set(bucket.writers), bucket.ref
        for ref, entry in sorted(_writers(index, bucket).items()):
            outside = entry.principals - allowed
            if not outside:
                continue
            # all of the entry's principals are outside (a role's own entry): all of its grants are theirs
            outsiders_grants = (
                entry.grants
                if len(outside) == len(entry.principals)
                else [g for g in entry.grants if g.principal.arn in outside]
            )
            detail, location = _describe(outsiders_grants)
            group = entry.holder.kind == "Group"
            who = f"members of {ref} ({', '.join(_short(a) for a in sorted(outside))})" if group else ref
            yield Hit(
                ref,
                location,
                f"{who} can write, delete or re-open objects of protected {bucket_ref} but "
                f"{'are' if group else 'is'} not in its access.write: {detail}",
                _hint(entry.holder, bucket, entry.grants),
            )
        yield from _bucket_policy_writers(bucket, allowed)


def unmanaged_writers(model: Model) -> Iterator[Hit]:
    """AUD006: unmanaged roles and users that can write, delete or re-open a protected bucket's data."""
    index = writer_index(model)
    unmanaged = {p.arn: p for p in (*model.roles.values(), *model.users.values()) if not p.managed}
    for name in sorted(model.buckets):
        bucket = model.buckets[name]
        if not bucket.protected:
            continue
        for entry in _writers(index, bucket).values():
            for arn in sorted(entry.principals & unmanaged.keys()):
                principal = unmanaged[arn]
                detail, _ = _describe([g for g in entry.grants if g.principal.arn == arn])
                yield Hit(
                    principal.ref,
                    None,
                    f"{principal.ref} is not managed by the reconciler and can write, delete or re-open objects "
                    f"of protected {bucket.ref}: {detail}",
                    "bring it into the manifests and declare it in the bucket's access.write (or remove the "
                    "grant); protected data is changed only by reviewed writers",
                )


def _bucket_policy_writers(bucket: BucketView, allowed: set[str]) -> Iterator[Hit]:
    if bucket.policy is None:
        return
    targets = wanted(bucket)
    for s in bucket.policy.statements:
        if s.generated or not s.allow or not s.principal:
            continue
        if not any(action_in(s, a) and resource_reaching(s, t) for a, t in targets):
            continue
        outsiders = sorted(p for values in s.principal.values() for p in values if p not in allowed)
        if outsiders:
            yield Hit(
                bucket.ref,
                s.location,
                f"the bucket policy of {bucket.ref} allows writes to {', '.join(outsiders)}, not in access.write",
                "remove the statement, or declare the principal in access.write",
            )


def _data002(model: Model) -> Iterator[Hit]:
    index = writer_index(model)
    for name in sorted(model.buckets):
        bucket = model.buckets[name]
        if bucket.writers is not None or not bucket.managed:
            continue
        for ref, entry in sorted(_writers(index, bucket, through_wildcards=True).items()):
            wild = [g for g in entry.grants if not names_bucket(g.pattern, bucket)]
            if not wild:
                continue
            detail, location = _describe(wild)
            yield Hit(
                ref,
                location,
                f"{entry.holder.ref} can write or delete objects of {bucket.ref} through a wildcard that does "
                f"not name the bucket: {detail}; the bucket declares no access.write, so nothing stops it",
                f"declare access.write on {bucket.ref} (the product then denies writes to everyone else) and "
                + _hint(entry.holder, bucket, wild).replace(
                    f", or add {entry.holder.ref} to access.write of {bucket.ref}", ""
                ),
            )


def grant_ends(user: Principal, grant: Grant) -> Expiry | None:
    """When the access ``grant`` gives ``user`` ends: the earliest ``expiresAt`` on its way (the user's own, its
    membership of the group holding the document, the attachment of the document to its holder); None: never."""
    holder = grant.holder
    attachment = next((a for a in holder.attachments if a.document is grant.document), None)
    ends = [
        user.expires,
        user.group_expiry.get(holder.name) if holder.kind == "Group" else None,
        attachment.expires if attachment is not None else None,
    ]
    known = [e for e in ends if e is not None]
    return min(known, key=lambda e: e.at) if known else None


def _way(user: Principal, grant: Grant) -> str:
    via = f"membership of {grant.holder.ref}, " if grant.holder.kind == "Group" else ""
    return f"{via}{grant.document.label}"


def _data003(model: Model) -> Iterator[Hit]:
    index = writer_index(model)
    now = clock.now()
    limit = dt.timedelta(days=model.max_human_write_days)
    for name in sorted(model.buckets):
        bucket = model.buckets[name]
        if not bucket.protected:
            continue
        for position in index.candidates(bucket):
            user = index.order[position]
            if user.kind != "User":
                continue
            standing: list[str] = []
            too_far: list[tuple[Expiry, str]] = []
            for grant in index.grants_on(position, bucket):
                way = _way(user, grant)
                ends = grant_ends(user, grant)
                if ends is None and way not in standing:
                    standing.append(way)
                elif ends is not None and ends.at - now > limit and (ends, way) not in too_far:
                    too_far.append((ends, way))
            if not standing and not too_far:
                continue
            days = f"{model.max_human_write_days} days (Settings.maxHumanWriteDays)"
            if standing:
                problem = f"with no end, through {'; '.join(standing[:2])}{' ...' if len(standing) > 2 else ''}"
            else:
                ends, way = max(too_far, key=lambda item: item[0].at)
                problem = f"until {ends.text}, more than {days} ahead, through {way}"
            yield Hit(
                user.ref,
                where(user.source, "spec", "groups") or user.location,
                f"{user.ref} (a human) can write, delete or re-open objects of protected {bucket.ref} {problem}: "
                "standing human write access to protected data is refused",
                f"give the membership, the attachment or the user an expiresAt at most {days} ahead "
                "(docs/operations.md), or grant the write to a role instead",
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "DATA001",
        Severity.ERROR,
        "Writer of a protected bucket not declared",
        "A bucket that declares access.write is protected: only the listed principals may write or delete its "
        "objects or change its policy. Any other principal whose policies allow it (e.g. through "
        "AmazonSageMakerFullAccess, which allows s3:PutObject and s3:DeleteObject on every bucket whose name "
        "contains 'sagemaker') is an error.",
        _data001,
        BOTH,
    ),
    Rule(
        "DATA002",
        Severity.ERROR,
        "Unprotected bucket writable through a wildcard",
        "A bucket without access.write can be written by any policy whose resource wildcard happens to match "
        "its name (arn:aws:s3:::*sagemaker*): the per-role split of the manifests does not protect it.",
        _data002,
        BOTH,
    ),
    Rule(
        "DATA003",
        Severity.ERROR,
        "Standing human write access to protected data",
        "A human (a User, or a member of a Group) who can write, delete or re-open objects of a protected bucket "
        "(one that declares access.write) must hold that access through a grant that ends: an expiresAt on the "
        "user, on the membership of the group that grants it, or on the policy's attachment, no further ahead than "
        "Settings.maxHumanWriteDays (default 14). Temporary access for a task ends by itself; standing access to raw "
        "data is what outlives its purpose.",
        _data003,
        DESIRED,
    ),
)
