"""The writer index of DATA001/DATA002 only prunes: it never hides a principal that holds a grant, nor a
statement that grants; and the grant finder's memo and literal-bucket shortcut change no answer.

The index keeps the rules linear in the size of the account (it answers "who could write bucket B"
from one pass over the documents instead of asking every principal about every bucket). Its safety
property, checked here on generated documents: every principal that :func:`grants` finds writing a
bucket is among that bucket's candidates.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_support import ACCOUNT, bucket, group, manifest, policy, role, user

from reconciler.facts.model import BucketView, Model, Principal, parse_statements
from reconciler.kinds import load_directory
from reconciler.rules import data, registry
from reconciler.rules.analysis import (
    ANY_BUCKET,
    AnyBucket,
    Grant,
    GrantFinder,
    action_in,
    deny_covers,
    grants,
    resource_reaching,
    s3_buckets_reached,
)
from reconciler.rules.data import _WriterIndex, wanted
from reconciler.rules.fromdesired import from_desired

BUCKETS = ("raw", "result", "raw-archive")
RESOURCES = (
    "*",
    "arn:aws:s3:::raw/*",
    "arn:aws:s3:::raw",
    "arn:aws:s3:::result/data/*",
    "arn:aws:s3:::ra*",
    "arn:aws:s3:::r?w/*",
    "arn:aws:s3:::${aws:username}/*",
    "arn:*:s3:::result/*",
    "arn:aws:s3:::raw-archive/x",
    "arn:aws:sagemaker:ap-northeast-1:123456789012:notebook-instance/nb",
    "arn:aws:s3:::other/*",
)
ACTIONS = ("s3:PutObject", "s3:Get*", "s3:*", "*", "s3:Delete*", "s3:PutBucketPolicy", "sagemaker:*", "s3:P?tObject")

statement = st.builds(
    lambda effect, actions, resources, not_resource: {
        "Effect": effect,
        "Action": actions,
        ("NotResource" if not_resource else "Resource"): resources,
    },
    st.sampled_from(("Allow", "Allow", "Deny")),
    st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2, unique=True),
    st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2, unique=True),
    st.sampled_from((False, False, True)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(statement, min_size=1, max_size=3), min_size=1, max_size=4))
def test_every_principal_with_a_write_grant_is_a_candidate(documents: list[list[dict[str, object]]]) -> None:
    docs = [policy(f"p{i}", *statements) for i, statements in enumerate(documents)]
    roles = [role(f"r{i}", f"p{i}") for i in range(len(documents))]
    roles.append(role("all", *(f"p{i}" for i in range(len(documents)))))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings_doc = manifest("Settings", "t", {"accountId": ACCOUNT, "region": "ap-northeast-1"})
        (root / "settings.yaml").write_text(yaml.safe_dump(settings_doc), encoding="utf-8")
        resources = [*docs, *roles, *(bucket(name) for name in BUCKETS)]
        (root / "all.yaml").write_text(yaml.safe_dump_all(resources, sort_keys=False), encoding="utf-8")
        model = from_desired(load_directory(root), {}, "ap-northeast-1")
    index = _WriterIndex(model)
    for name in BUCKETS:
        view = model.buckets[name]
        candidates = {index.order[i].ref: i for i in index.candidates(view)}
        writers = {p.ref for p in model.roles.values() if grants(model, p, wanted(view))}
        assert writers <= set(candidates), f"{name}: {sorted(writers - set(candidates))} write but were pruned"
        # a candidate's grants, from the statements the index kept of it, are every grant it holds
        for ref, position in candidates.items():
            principal = index.order[position]
            kept = [(g.action, g.statement.index, g.pattern) for g in index.grants_on(position, view)]
            every = [
                (g.action, g.statement.index, g.pattern)
                for action, target in wanted(view)
                for g in _brute_force(model, principal, action, target)
            ]
            assert kept == every, (ref, name)
        # only the principals with a statement that may reach any bucket write it through a pattern not naming it
        full, pruned = data._writers(index, view), data._writers(index, view, through_wildcards=True)
        assert _wild(full, view) == _wild(pruned, view), name
        # the finder's shortcuts (remembered answers, literal bucket names) change no answer
        finder = GrantFinder(model)
        for principal in model.roles.values():
            for action, target in wanted(view):
                fast = [(g.statement.index, g.pattern) for g in finder(principal, [(action, target)])]
                slow = [(g.statement.index, g.pattern) for g in _brute_force(model, principal, action, target)]
                assert fast == slow, (principal.ref, action, target)


def _wild(writers: dict[str, data._Holder], view: BucketView) -> dict[str, list[Grant]]:
    """DATA002's question: each holder's grants through a pattern that does not name the bucket, if any."""
    found = {ref: [g for g in entry.grants if not data.names_bucket(g.pattern, view)] for ref, entry in writers.items()}
    return {ref: grants_ for ref, grants_ in found.items() if grants_}


def _brute_force(model: Model, principal: Principal, action: str, target: str) -> list[Grant]:
    """grants() as first written: no memo, no shortcut."""
    docs = list(model.effective_with_holders(principal))
    if any(deny_covers(s, action, target) for _, d in docs for s in d.statements if s.deny):
        return []
    return [
        Grant(principal, holder, doc, s, action, target, pattern)
        for holder, doc in docs
        for s in doc.statements
        if s.allow and action_in(s, action) and (pattern := resource_reaching(s, target)) is not None
    ]


def _reach(resource: object, *, key: str = "Resource") -> frozenset[str] | AnyBucket:
    raw = {"Effect": "Allow", "Action": "s3:PutObject", key: resource}
    (statement_,) = parse_statements({"Statement": [raw]}, lambda _i: None)
    return s3_buckets_reached(statement_)


def test_reachable_buckets_names_only_what_a_literal_bucket_name_allows() -> None:
    assert _reach(["arn:aws:s3:::raw/*", "arn:aws:s3:::result"]) == {"raw", "result"}
    assert _reach("arn:aws:sagemaker:ap-northeast-1:123456789012:notebook-instance/nb") == frozenset()
    for anything in ("*", "arn:aws:s3:::raw*", "arn:aws:s3:::${aws:username}/*", "arn:*:s3:::raw/*"):
        assert _reach(anything) is ANY_BUCKET, anything
    assert _reach("arn:aws:s3:::raw/*", key="NotResource") is ANY_BUCKET


def test_one_evaluation_makes_the_writer_index_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """DATA001, DATA002 (and AUD006) share the index within one evaluation; nothing is kept after it."""
    made: list[Model] = []
    real = data._WriterIndex

    def counting(model: Model) -> data._WriterIndex:
        made.append(model)
        return real(model)

    monkeypatch.setattr(data, "_WriterIndex", counting)
    with tempfile.TemporaryDirectory() as root:
        files = {"settings.yaml": manifest("Settings", "env", {"accountId": ACCOUNT}), "b.yaml": bucket("raw")}
        for name, document in files.items():
            (Path(root) / name).write_text(yaml.safe_dump(document))
        model = from_desired(load_directory(root))
    registry.run(model)
    assert made == [model]
    registry.run(model)
    assert made == [model, model]  # a new evaluation, a new index
    data.writer_index(model)
    data.writer_index(model)
    assert len(made) == 4  # outside an evaluation, nothing is kept


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(statement, min_size=1, max_size=3), min_size=1, max_size=3),
    st.lists(st.lists(st.integers(min_value=0, max_value=2), max_size=3, unique=True), min_size=1, max_size=4),
)
def test_members_sharing_group_documents_get_each_grant_in_order(
    documents: list[list[dict[str, object]]], memberships: list[list[int]]
) -> None:
    """What the finder remembers per document (a group's, shared by its members) and per bucket's targets (shared
    by every candidate) gives each member the grants it holds, in the order of the pairs asked about and then of
    its documents, with a Deny of any of its groups taking them away."""
    docs = [policy(f"p{i}", *statements) for i, statements in enumerate(documents)]
    groups = [group(f"g{i}", f"p{i}") for i in range(len(documents))]
    users = [user(f"u{j}", *(f"g{i}" for i in sorted(m) if i < len(documents))) for j, m in enumerate(memberships)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings_doc = manifest("Settings", "t", {"accountId": ACCOUNT, "region": "ap-northeast-1"})
        (root / "settings.yaml").write_text(yaml.safe_dump(settings_doc), encoding="utf-8")
        resources = [*docs, *groups, *users, *(bucket(name) for name in BUCKETS)]
        (root / "all.yaml").write_text(yaml.safe_dump_all(resources, sort_keys=False), encoding="utf-8")
        model = from_desired(load_directory(root), {}, "ap-northeast-1")
    index = _WriterIndex(model)
    finder = GrantFinder(model)
    for name in BUCKETS:
        view = model.buckets[name]
        candidates = {index.order[i].ref: i for i in index.candidates(view)}
        for principal in model.users.values():
            every = [
                (g.holder.ref, g.action, g.target, g.statement.index, g.pattern)
                for action, target in wanted(view)
                for g in _brute_force(model, principal, action, target)
            ]
            position = candidates.get(principal.ref)
            kept = [] if position is None else index.grants_on(position, view)
            assert [(g.holder.ref, g.action, g.target, g.statement.index, g.pattern) for g in kept] == every
            asked = finder(principal, wanted(view))
            assert [(g.holder.ref, g.action, g.target, g.statement.index, g.pattern) for g in asked] == every


def test_targets_remember_a_statement_per_actions_it_was_asked_about() -> None:
    """The answers kept with a :class:`Targets` are those of a statement for the actions its bearing covers: a
    bearing on fewer actions does not get the answers of one on more, nor the other way round."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = {
            "settings.yaml": manifest("Settings", "t", {"accountId": ACCOUNT, "region": "ap-northeast-1"}),
            "p.yaml": policy("p", {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "*"}),
            "r.yaml": role("r", "p"),
        }
        for name, document in files.items():
            (root / name).write_text(yaml.safe_dump(document), encoding="utf-8")
        model = from_desired(load_directory(root), {}, "ap-northeast-1")
    finder = GrantFinder(model)
    principal = model.roles["r"]
    targets = finder.targets([("s3:PutObject", "arn:aws:s3:::raw/*"), ("s3:DeleteObject", "arn:aws:s3:::raw/*")])
    both = finder.bearing(principal, ("s3:PutObject", "s3:DeleteObject"))
    one = finder.bearing(principal, ("s3:PutObject",))
    for _ in range(2):
        assert [g.action for g in finder.grants_of(principal, one, targets)] == ["s3:PutObject"]
        assert [g.action for g in finder.grants_of(principal, both, targets)] == ["s3:PutObject", "s3:DeleteObject"]
