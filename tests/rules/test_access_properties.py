"""Properties of the access diff on generated models: access only grows with what is allowed.

An Allow statement only grants and a Deny only takes away (the rules' approximations: a conditional Allow
grants, a conditional Deny takes nothing), so adding an Allow never removes access and removing one never
adds any; a Deny does the reverse. Checked on every document the access diff reads: identity policies of
roles, users and groups, trust policies and bucket policies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.facts.model import BucketView, DocKind, Model, PolicyDoc, Principal, parse_statements
from reconciler.rules.access import Entitlement, access_of
from reconciler.rules.accessdiff import diff_access

ACCOUNT = "123456789012"
ROLES = ("r1", "r2")
USERS = ("u1", "u2", "u3")
GROUPS = ("g1", "g2")
BUCKETS = ("raw", "sagemaker-out")

ACTIONS = (
    "*",
    "s3:*",
    "s3:Put*",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:PutBucketPolicy",
    "iam:*",
    "iam:PassRole",
    "iam:AttachRolePolicy",
    "iam:CreateAccessKey",
    "sagemaker:CreateNotebookInstance",
    "sts:AssumeRole",
)
RESOURCES = (
    "*",
    "arn:aws:s3:::raw",
    "arn:aws:s3:::raw/*",
    "arn:aws:s3:::*sagemaker*",
    "arn:aws:s3:::r*",
    "arn:aws:s3:::other/*",
    f"arn:aws:iam::{ACCOUNT}:role/*",
    f"arn:aws:iam::{ACCOUNT}:role/r1",
    f"arn:aws:iam::{ACCOUNT}:user/*",
    "arn:aws:iam::*:user/${aws:username}",
)
PRINCIPALS = (
    "*",
    ACCOUNT,
    "111122223333",
    f"arn:aws:iam::{ACCOUNT}:role/r2",
    f"arn:aws:iam::{ACCOUNT}:user/u1",
)
CONDITION = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}

Statement = dict[str, Any]


def _some(values: Sequence[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True)


@st.composite
def statements(draw: st.DrawFn, *, effect: str | None = None, principal: bool = False) -> Statement:
    s: Statement = {"Effect": effect or draw(st.sampled_from(("Allow", "Deny")))}
    s["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = draw(_some(ACTIONS))
    if principal:
        s["Principal"] = "*" if draw(st.integers(0, 6)) == 0 else {"AWS": draw(_some(PRINCIPALS))}
        if draw(st.booleans()):
            s["Action"] = draw(st.sampled_from(("sts:AssumeRole", "s3:PutObject", "s3:*")))
            s.pop("NotAction", None)
    if not principal or draw(st.booleans()):
        s["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = draw(_some(RESOURCES))
    if draw(st.integers(0, 3)) == 0:
        s["Condition"] = CONDITION
    return s


# A document: (kind, name) where kind is role, user, group (identity), trust (a role's) or bucket.
DocKey = tuple[str, str]
IDENTITY = [("role", n) for n in ROLES] + [("user", n) for n in USERS] + [("group", n) for n in GROUPS]
RESOURCE = [("trust", n) for n in ROLES] + [("bucket", n) for n in BUCKETS]


@dataclass(frozen=True)
class Spec:
    """A generated account: every document's statements, group memberships, the protected buckets' writers."""

    docs: Mapping[DocKey, tuple[Statement, ...]]
    groups: Mapping[str, tuple[str, ...]]
    writers: Mapping[str, tuple[str, ...] | None]

    def with_docs(self, key: DocKey, statements_: tuple[Statement, ...]) -> Spec:
        return Spec({**self.docs, key: statements_}, self.groups, self.writers)


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    docs: dict[DocKey, tuple[Statement, ...]] = {}
    for key in IDENTITY:
        docs[key] = tuple(draw(st.lists(statements(), max_size=3)))
    for key in RESOURCE:
        docs[key] = tuple(draw(st.lists(statements(principal=True), max_size=2)))
    groups = {u: tuple(draw(st.lists(st.sampled_from(GROUPS), max_size=2, unique=True))) for u in USERS}
    writers = {
        b: draw(st.one_of(st.none(), st.just((f"arn:aws:iam::{ACCOUNT}:role/r1",)), st.just(()))) for b in BUCKETS
    }
    return Spec(docs, groups, writers)


def _doc(kind: DocKind, label: str, owner: str, statements_: tuple[Statement, ...]) -> PolicyDoc:
    document = {"Version": "2012-10-17", "Statement": list(statements_)}
    return PolicyDoc(kind, label, label, owner, None, parse_statements(document, lambda _i: None))


def build(spec: Spec) -> Model:
    def principal(kind: str, name: str, **extra: Any) -> Principal:
        ref = f"{kind.capitalize()}/{name}"
        inline = (_doc(DocKind.INLINE, f"inline policy 'p' of {ref}", ref, spec.docs[(kind, name)]),)
        arn = f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"
        return Principal(kind.capitalize(), name, arn, True, None, inline=inline, **extra)

    def trust(name: str) -> PolicyDoc:
        return _doc(DocKind.TRUST, f"trust policy of Role/{name}", f"Role/{name}", spec.docs[("trust", name)])

    roles = {n: principal("role", n, trust=trust(n)) for n in ROLES}
    users = {n: principal("user", n, groups=spec.groups[n]) for n in USERS}
    groups = {n: principal("group", n) for n in GROUPS}
    buckets = {
        b: BucketView(
            b,
            True,
            None,
            policy=_doc(DocKind.BUCKET, f"bucket policy of Bucket/{b}", f"Bucket/{b}", spec.docs[("bucket", b)]),
            writers=spec.writers[b],
        )
        for b in BUCKETS
    }
    return Model("desired", ACCOUNT, roles=roles, groups=groups, users=users, buckets=buckets)


def entitlements(spec: Spec) -> set[Entitlement]:
    return set(access_of(build(spec)).entries)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(spec=specs(), data=st.data())
def test_adding_a_statement_never_removes_access_a_deny_never_adds_any(spec: Spec, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(IDENTITY + RESOURCE))
    added = data.draw(statements(principal=key[0] in ("trust", "bucket")))
    bigger = spec.with_docs(key, (*spec.docs[key], added))
    before, after = entitlements(spec), entitlements(bigger)
    if added["Effect"] == "Allow":
        assert before <= after
        changes = diff_access(access_of(build(spec)), access_of(build(bigger))).lines
        assert all(line.change == "gain" for line in changes)
    else:
        assert after <= before


@PROPERTY
@given(spec=specs(), data=st.data())
def test_removing_a_statement_never_adds_access_a_deny_never_takes_any(spec: Spec, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from([k for k in IDENTITY + RESOURCE if spec.docs[k]] or [IDENTITY[0]]))
    if not spec.docs[key]:
        return
    index = data.draw(st.integers(0, len(spec.docs[key]) - 1))
    removed = spec.docs[key][index]
    smaller = spec.with_docs(key, spec.docs[key][:index] + spec.docs[key][index + 1 :])
    before, after = entitlements(spec), entitlements(smaller)
    if removed["Effect"] == "Allow":
        assert after <= before
        changes = diff_access(access_of(build(spec)), access_of(build(smaller))).lines
        assert all(line.change == "lose" for line in changes)
    else:
        assert before <= after


@PROPERTY
@given(spec=specs())
def test_the_diff_is_deterministic_and_symmetric(spec: Spec) -> None:
    """From nothing to the spec, everything is gained; back, the same lines are lost."""
    empty, full = access_of(build(Spec({k: () for k in spec.docs}, spec.groups, spec.writers))), access_of(build(spec))
    gained = diff_access(empty, full)
    assert gained == diff_access(empty, access_of(build(spec)))
    lost = diff_access(full, empty)
    assert {line.change for line in gained.lines} <= {"gain"} and {line.change for line in lost.lines} <= {"lose"}

    def keys(lines: Sequence[Any]) -> list[tuple[Any, ...]]:
        return sorted((ln.category, ln.subject, ln.what, ln.on, ln.members, ln.via) for ln in lines)

    assert keys(gained.lines) == keys(lost.lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), other=specs(), data=st.data())
def test_the_incremental_diff_is_the_full_diff(spec: Spec, other: Spec, data: st.DataObject) -> None:
    """Analysing only the principals whose documents differ gives exactly the diff of everything: between
    unrelated models, and between a model and a few edits of it (what a plan or a pull request is)."""
    edited = spec
    # Edits of trust and bucket policies only leave every role and user as it was: the case where the
    # incremental diff must find, from what differs, the principals whose own documents also grant it.
    keys = RESOURCE if data.draw(st.booleans()) else IDENTITY + RESOURCE
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(keys))
        added = data.draw(statements(principal=key[0] in ("trust", "bucket")))
        edited = edited.with_docs(key, (*edited.docs[key], added))
    if data.draw(st.booleans()):
        user = data.draw(st.sampled_from(USERS))
        edited = Spec(
            edited.docs,
            {**edited.groups, user: data.draw(st.sampled_from(((), ("g1",), ("g1", "g2"))))},
            edited.writers,
        )
    for a, b in ((spec, edited), (edited, spec), (spec, other)):
        before, after = access_of(build(a)), access_of(build(b))
        assert diff_access(before, after) == diff_access(before, after, incremental=False)
