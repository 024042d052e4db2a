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
