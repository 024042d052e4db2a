"""The deletion rails of the verdict on pure plans (no emulator): a checkout that lost most of its manifests is
refused whether what it loses would be deleted or released."""

from __future__ import annotations

import textwrap
from pathlib import Path

from livestates import ACCOUNT, REGION, in_sync

from reconciler.engine.differ import build_plan
from reconciler.engine.plan import Action
from reconciler.engine.verdict import judge
from reconciler.kinds import load_directory

SETTINGS = f"""\
    apiVersion: reconciler/v1
    kind: Settings
    metadata: {{name: rails}}
    spec: {{accountId: "{ACCOUNT}", region: {REGION}, ownershipTag: {{key: managed-by, value: reconciler}}}}
    """


def bucket(name: str) -> str:
    return f"""\
    apiVersion: reconciler/v1
    kind: Bucket
    metadata: {{name: {name}}}
    spec: {{deletionPolicy: Retain}}
    """


def directory(root: Path, *buckets: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "settings.yaml").write_text(textwrap.dedent(SETTINGS))
    for path in root.glob("b-*.yaml"):
        path.unlink()
    for name in buckets:
        (root / f"b-{name}.yaml").write_text(textwrap.dedent(bucket(name)))
    return root


def test_a_checkout_that_would_release_most_of_the_account_is_refused(tmp_path: Path) -> None:
    names = ("raw-one", "raw-two", "raw-three")
    live = in_sync(load_directory(directory(tmp_path / "ds", *names)))
    # Two of the three manifests are lost: nothing would be destroyed, but two thirds would leave management.
    plan = build_plan(load_directory(directory(tmp_path / "ds", "raw-one")), live)
    assert [(c.action, c.ref) for c in plan] == [
        (Action.RELEASE, "Bucket/raw-three"),
        (Action.RELEASE, "Bucket/raw-two"),
    ]
    verdict = judge(plan, None, max_deletes=10)
    (refusal,) = verdict.refusals
    assert refusal.code == "most-deleted"
    assert refusal.message.startswith("the plan deletes 0 and releases 2 of the 3 resources the reconciler owns")
    assert refusal.resources == ("Bucket/raw-three", "Bucket/raw-two")
    assert refusal.unblock == "review the releases, then rerun with --allow-deletes 0"
    assert not judge(plan, None, max_deletes=10, allow_deletes=0).refused
    # One of three is no broken checkout.
    fewer = build_plan(load_directory(directory(tmp_path / "ds", "raw-one", "raw-two")), live)
    assert not judge(fewer, None, max_deletes=10).refused


def test_a_plan_of_part_of_the_account_is_judged_against_all_it_owns(tmp_path: Path) -> None:
    """A targeted plan (``build_plan(only=...)``, the controller's between full reads) compares a few resources: its
    own count of what the reconciler owns would make one release look like most of the account. ``owned``: the
    whole account's count, as a full plan counts it, gives the verdict the full plan gives."""
    names = [f"raw-{i}" for i in range(6)]
    live = in_sync(load_directory(directory(tmp_path / "ds", *names)))
    desired = load_directory(directory(tmp_path / "ds", *names[1:]))
    full = build_plan(desired, live)
    part = build_plan(desired, live, only={"Bucket": frozenset({"raw-0"})})
    assert [(c.action, c.ref) for c in part] == [(c.action, c.ref) for c in full] == [(Action.RELEASE, "Bucket/raw-0")]
    assert part.unchanged == {} and full.unchanged == {"Bucket": 5}
    assert judge(part, None, max_deletes=10).refusals[0].code == "most-deleted"  # 1 of 1: all of "the account"
    assert not judge(full, None, max_deletes=10).refused
    assert not judge(part, None, max_deletes=10, owned=6).refused  # what the full plan counts
    assert judge(part, None, max_deletes=10, owned=1).refused
