"""The StudioDomain's deletion blocker, on hand-made live states (no emulator): a domain is deleted only when this
plan deletes every profile it holds; any profile that stays (unknown to git, released, or kept by prune: false)
makes the deletion a blocker in plan, before apply would refuse it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.aws.live import LiveState
from reconciler.engine.differ import build_plan
from reconciler.engine.plan import Action
from reconciler.errors import ManifestError
from reconciler.kinds import load_directory
from reconciler.kinds.context import DELETION_POLICY_TAG
from reconciler.kinds.studiodomain import DomainProfile, LiveDomain
from reconciler.kinds.studioprofile import FOR_TAG, LiveProfile

REPO = Path(__file__).resolve().parents[2]
OWNED = {"managed-by": "reconciler"}
DELETE = {DELETION_POLICY_TAG: "Delete"}


def _live(profile_tags: dict[str, str]) -> LiveState:
    """An owned domain recorded as Delete, holding one profile ``p`` with ``profile_tags``."""
    domain = LiveDomain(
        name="ml-studio",
        domain_id="d-1",
        arn="arn:aws:sagemaker:ap-northeast-1:123456789012:domain/d-1",
        tags={**OWNED, **DELETE},
        status="InService",
        profiles=(DomainProfile("p", profile_tags),),
    )
    profile = LiveProfile(
        name="p",
        domain_id="d-1",
        domain="ml-studio",
        arn="arn:aws:sagemaker:ap-northeast-1:123456789012:user-profile/d-1/p",
        tags={**profile_tags, FOR_TAG: "User/u"},
        status="InService",
    )
    return LiveState(
        "123456789012", "ap-northeast-1", {"StudioDomain": {"ml-studio": domain}, "StudioUserProfile": {"p": profile}}
    )


@pytest.fixture
def settings_only(tmp_path: Path) -> Path:
    shutil.copy(REPO / "desired-state" / "settings.yaml", tmp_path / "settings.yaml")
    return tmp_path


@pytest.mark.parametrize(
    ("profile_tags", "blocked"),
    [
        pytest.param({}, True, id="unknown-to-git"),
        pytest.param(OWNED, True, id="owned-retained-so-released"),
        pytest.param({**OWNED, **DELETE}, False, id="owned-deleted-by-this-plan"),
    ],
)
def test_the_domain_deletion_is_blocked_by_every_profile_that_stays(
    settings_only: Path, profile_tags: dict[str, str], blocked: bool
) -> None:
    plan = build_plan(load_directory(settings_only), _live(profile_tags))
    domain = next(c for c in plan if c.kind == "StudioDomain")
    assert domain.action is Action.DELETE
    if blocked:
        assert domain.blocker is not None and domain.blocker.code == "domain-has-profiles"
        assert domain.blocker.message.endswith(": p")
    else:
        assert domain.blocker is None
        assert [c.ref for c in plan] == ["StudioUserProfile/p", "StudioDomain/ml-studio"]


def test_with_prune_off_nothing_is_deleted_so_nothing_is_blocked(settings_only: Path) -> None:
    settings = settings_only / "settings.yaml"
    settings.write_text(settings.read_text().replace("prune: true", "prune: false"))
    plan = build_plan(load_directory(settings_only), _live({}))
    assert list(plan) == []


def test_what_the_schemas_refuse_is_located(settings_only: Path) -> None:
    (settings_only / "studio.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: StudioDomain\nmetadata:\n  name: sd\nspec:\n  authMode: SSO\n"
        "  vpcId: vpc-0a1b\n  subnetIds: []\n  defaultExecutionRole: r\n---\n"
        "apiVersion: reconciler/v1\nkind: StudioUserProfile\nmetadata:\n  name: sp\nspec:\n  domain: sd\n"
        "  executionRole: r\n  for:\n    user: u\n    group: g\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_directory(settings_only, display_root="m")
    assert [str(p) for p in caught.value.problems] == [
        'm/studio.yaml:6:13: StudioDomain/sd: spec.authMode: "SSO" is not one of "IAM"',
        "m/studio.yaml:8:14: StudioDomain/sd: spec.subnetIds: list must not be empty",
        "m/studio.yaml:19:5: StudioUserProfile/sp: spec.for: mapping has 2 entries; the limit is 1",
    ]
