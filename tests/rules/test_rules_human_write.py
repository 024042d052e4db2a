"""DATA003: a human's write access to protected data must end, within Settings.maxHumanWriteDays."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from rules_support import ACCOUNT, manifest

from reconciler.clock import frozen
from reconciler.engine.expiry import effective
from reconciler.kinds import load_directory
from reconciler.rules import Report, evaluate

NOW = "2026-12-07T00:00:00Z"
RAW_WRITE = manifest(
    "Policy",
    "raw-write",
    {"document": {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::raw/*"}]}},
)
RAW = manifest("Bucket", "raw", {"access": {"write": ["Group/writers", "Role/loader"]}})
UNPROTECTED = manifest("Bucket", "scratch", {})
LOADER = manifest("Role", "loader", {"trustedServices": ["sagemaker.amazonaws.com"], "policies": ["raw-write"]})


def group(policies: list[Any], inline: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return manifest("Group", "writers", {"policies": policies, "inlinePolicies": dict(inline or {})})


def user(name: str = "dana", **spec: Any) -> dict[str, Any]:
    return manifest("User", name, {"groups": ["writers"], **spec})


@pytest.fixture
def judge(tmp_path: Path) -> Any:
    def _judge(*docs: Mapping[str, Any], days: int | None = None, at: str = NOW) -> Report:
        spec: dict[str, Any] = {"accountId": ACCOUNT, "region": "ap-northeast-1"}
        if days is not None:
            spec["maxHumanWriteDays"] = days
        (tmp_path / "settings.yaml").write_text(yaml.safe_dump(manifest("Settings", "t", spec)), encoding="utf-8")
        (tmp_path / "all.yaml").write_text(yaml.safe_dump_all([RAW_WRITE, RAW, LOADER, *docs]), encoding="utf-8")
        with frozen(at) as now:
            return evaluate(effective(load_directory(tmp_path, display_root="m"), now).desired)

    return _judge


def data003(report: Report) -> list[str]:
    return [f.message for f in report.findings if f.rule == "DATA003"]


def test_a_standing_membership_is_refused_at_the_users_groups(judge: Any) -> None:
    report = judge(group(["raw-write"]), user())
    (finding,) = [f for f in report.findings if f.rule == "DATA003"]
    assert finding.severity.value == "error"
    assert (finding.resource, finding.location) == ("User/dana", "m/all.yaml:47:3")
    assert finding.message == (
        "User/dana (a human) can write, delete or re-open objects of protected Bucket/raw with no end, through "
        "membership of Group/writers, Policy/raw-write: standing human write access to protected data is refused"
    )
    assert "at most 14 days (Settings.maxHumanWriteDays) ahead" in finding.hint


@pytest.mark.parametrize(
    "docs",
    [
        pytest.param(
            [group(["raw-write"]), user(groups=[{"name": "writers", "expiresAt": "2026-12-20"}])], id="member"
        ),
        pytest.param([group([{"policy": "raw-write", "expiresAt": "2026-12-10"}]), user()], id="attachment"),
        pytest.param([group(["raw-write"]), user(expiresAt="2026-12-20T18:00:00+09:00")], id="user"),
        # The earliest end on the way counts: the user ends in time, whatever the membership says.
        pytest.param(
            [
                group(["raw-write"]),
                user(expiresAt="2026-12-08", groups=[{"name": "writers", "expiresAt": "2027-06-01"}]),
            ],
            id="earliest",
        ),
        pytest.param([group(["raw-write"]), manifest("User", "dana", {"groups": []})], id="no-member"),
    ],
)
def test_write_access_that_ends_in_time_passes(judge: Any, docs: list[dict[str, Any]]) -> None:
    assert data003(judge(*docs)) == []


def test_an_end_too_far_ahead_is_refused_with_the_limit(judge: Any) -> None:
    docs = [group(["raw-write"]), user(groups=[{"name": "writers", "expiresAt": "2026-12-21"}])]
    (message,) = data003(judge(*docs))
    assert "until 2026-12-21, more than 14 days (Settings.maxHumanWriteDays) ahead, through membership" in message
    assert data003(judge(*docs, days=15)) == []  # the end of the 21st is 15 days ahead
    assert data003(judge(*docs, at="2026-12-08T00:00:00Z")) == []  # a day later it is within the limit


def test_an_inline_policy_cannot_end(judge: Any) -> None:
    inline = {"raw": RAW_WRITE["spec"]["document"]}
    docs = [group([], inline), user(groups=[{"name": "writers", "expiresAt": "2026-12-10"}])]
    assert data003(judge(*docs)) == []  # the membership ends: the way to the inline policy does
    (message,) = data003(judge(group([], inline), user()))
    assert "through membership of Group/writers, inline policy 'raw' of Group/writers" in message


def test_only_protected_buckets_and_only_humans(judge: Any) -> None:
    everything = manifest(
        "Policy",
        "scratch-write",
        {
            "document": {
                "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::scratch/*"}]
            }
        },
    )
    assert data003(judge(everything, UNPROTECTED, group(["scratch-write"]), user())) == []
    assert data003(judge(group([]), user())) == []  # the role Role/loader writes: not a human


def test_once_ended_the_grant_is_gone_and_nothing_is_reported(judge: Any) -> None:
    docs = [group(["raw-write"]), user(groups=[{"name": "writers", "expiresAt": "2026-12-01"}])]
    assert data003(judge(*docs)) == []  # ended on the 1st: not in force on the 7th


def test_the_example_grants_no_human_write_on_its_protected_buckets() -> None:
    with frozen(NOW):
        report = evaluate(load_directory(Path(__file__).resolve().parents[2] / "desired-state"))
    assert data003(report) == []
