"""Bringing the seed's hand-made account under management in steps (docs/import.md), as a team would.

The account is built by hand as the blog post did (untagged, with its mistakes). ``import --observe`` writes
manifests that change nothing; each later commit of a real git repository switches a few resources to
``enforce``, fixing or excepting what they break, until the whole account is enforced and the plan is empty.
On the way, the notebooks built with direct internet access are replaced (``--replace``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from gitrepo import git
from import_support import plan_json, run_cli, seed_by_hand

from reconciler import clock
from reconciler.aws.clients import AwsConfig

REPO = Path(__file__).resolve().parents[2]
SEED_DIR = REPO / "tests" / "fixtures" / "seed"
REGION = "ap-northeast-1"
OWNERSHIP = ("managed-by", "reconciler")
TODAY = "2026-12-07T09:00:00Z"


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def enforce(directory: Path, folder: str) -> list[str]:
    """Switch every manifest of ``folder`` to enforce (drop the import's ``management: observe``)."""
    names = []
    for path in sorted((directory / folder).glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert "  management: observe\n" in text
        path.write_text(text.replace("  management: observe\n", ""), encoding="utf-8")
        names.append(path.stem)
    return names


def add_exceptions(directory: Path, entries: list[dict[str, Any]]) -> None:
    path = directory / "settings.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["spec"].setdefault("exceptions", []).extend(entries)
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")


def errors(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted({(f["rule"], f["resource"]) for f in plan["invariants"]["findings"] if f["severity"] == "error"})


def except_exactly(directory: Path, plan: dict[str, Any]) -> int:
    """Accept the standing errors one exception per (rule, resource), as a reviewed commit would."""
    pairs = errors(plan)
    add_exceptions(
        directory,
        [{"rule": r, "resource": res, "reason": "accepted while adopting", "owner": "ml-platform"} for r, res in pairs],
    )
    return len(pairs)


def marked() -> set[str]:
    """``Kind/name`` of the IAM roles, policies and buckets that carry the ownership tag (what was written)."""
    iam, s3 = boto3.client("iam"), boto3.client("s3")
    found = set()
    for role in iam.list_roles()["Roles"]:
        tags = iam.list_role_tags(RoleName=role["RoleName"])["Tags"]
        if {"Key": OWNERSHIP[0], "Value": OWNERSHIP[1]} in tags:
            found.add(f"Role/{role['RoleName']}")
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        tags = iam.list_policy_tags(PolicyArn=policy["Arn"])["Tags"]
        if {"Key": OWNERSHIP[0], "Value": OWNERSHIP[1]} in tags:
            found.add(f"Policy/{policy['PolicyName']}")
    for bucket in s3.list_buckets()["Buckets"]:
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]
        except s3.exceptions.ClientError:
            tags = []
        if {"Key": OWNERSHIP[0], "Value": OWNERSHIP[1]} in tags:
            found.add(f"Bucket/{bucket['Name']}")
    return found


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    monkeypatch.setenv(clock.ENV, TODAY)
    return clock.now()


def test_the_seed_is_taken_over_in_steps_and_ends_fully_enforced_with_an_empty_plan(
    aws: AwsConfig, tmp_path: Path, today: dt.datetime
) -> None:
    seed_by_hand(SEED_DIR, REGION)
    repo = tmp_path / "infra"
    git(tmp_path, "init", "-q", str(repo))
    ds = repo / "ds"

    # 1. Import as observed: the first commit changes nothing and shows everything.
    code, text = run_cli("import", "--out", str(ds), "--observe")
    assert code == 0, text
    assert "metadata.management: observe; apply writes nothing" in text
    commit(repo, "import the hand-made account, observed")
    code, plan = plan_json(ds)
    assert code == 0  # nothing to do, nothing refused: the seed's errors are reported as warnings
    assert plan["changes"] == []
    # What a manifest cannot say as the console left it (the buckets' unset encryption and public access block
    # get the schema's safe defaults) is drift of observed resources: shown, and named by the import already.
    drifting = {f"{c['kind']}/{c['name']}" for c in plan["observed"]}
    assert drifting and {ref.split("/")[0] for ref in drifting} == {"Bucket"}
    assert all(f"  {ref}: " in text for ref in drifting)
    total = plan["observedInSync"] + len(drifting)
    assert total >= 14  # policies, roles, groups, users, buckets and notebooks of the seed
    warnings = [f for f in plan["invariants"]["findings"] if f["message"].startswith("observed, not enforced: ")]
    assert len(warnings) >= 10 and not errors(plan)
    code, text = run_cli("apply", str(ds), "--auto-approve")
    assert code == 0, text
    assert marked() == set()  # nothing written, not even the ownership mark

    # Drift on an observed resource is reported, never reverted.
    boto3.client("iam").tag_role(RoleName="notebook-for-engineer-role", Tags=[{"Key": "cost", "Value": "x"}])
    code, plan = plan_json(ds)
    assert code == 0 and plan["changes"] == []
    assert [(c["action"], c["kind"], c["name"]) for c in plan["observed"] if c["kind"] == "Role"] == [
        ("adopt", "Role", "notebook-for-engineer-role")
    ]
    code, text = run_cli("apply", str(ds), "--auto-approve")
    assert code == 0, text
    tags = boto3.client("iam").list_role_tags(RoleName="notebook-for-engineer-role")["Tags"]
    assert {"Key": "cost", "Value": "x"} in tags
    boto3.client("iam").untag_role(RoleName="notebook-for-engineer-role", TagKeys=["cost"])

    # 2. Enforce the policies. Their findings refuse now; one glob exception with an owner and an expiry covers
    # the family while they are rewritten, and every plan counts what it excuses.
    policies = enforce(ds, "policies")
    code, plan = plan_json(ds, "--adopt")
    assert code == 3
    policy_errors = [(r, res) for r, res in errors(plan) if res.startswith("Policy/")]
    assert policy_errors and len(policy_errors) == len(errors(plan))
    expires = (today + dt.timedelta(days=60)).date().isoformat()
    add_exceptions(
        ds,
        [
            {"rule": rule, "resource": "Policy/*", "reason": "the seed's policies, rewritten in SEC-7", "owner": "sec"}
            | {"expiresAt": expires}
            for rule in sorted({r for r, _ in policy_errors})
        ],
    )
    commit(repo, "enforce the policies")
    code, plan = plan_json(ds, "--adopt")
    assert code == 2, plan["verdict"]
    assert {(c["action"], c["kind"]) for c in plan["changes"]} == {("adopt", "Policy")}
    assert sorted(c["name"] for c in plan["changes"]) == sorted(policies)
    used = {u["resource"]: u for u in plan["invariants"]["exceptionsInUse"]}
    assert used["Policy/*"]["owner"] == "sec" and used["Policy/*"]["expiresAt"] == expires
    assert sum(u["matched"] for u in plan["invariants"]["exceptionsInUse"]) == len(policy_errors)
    code, text = run_cli("apply", str(ds), "--adopt", "--auto-approve")
    assert code == 0, text
    assert marked() == {f"Policy/{p}" for p in policies}

    # 3. Roles and buckets, then groups and users: a few kinds per commit, errors excepted one by one.
    for folders in (("roles", "buckets"), ("groups", "users")):
        for folder in folders:
            enforce(ds, folder)
        code, plan = plan_json(ds, "--adopt")
        if code == 3:
            assert except_exactly(ds, plan)
        commit(repo, f"enforce {' and '.join(folders)}")
        code, text = run_cli("apply", str(ds), "--adopt", "--auto-approve")
        assert code == 0, text
    assert {m.split("/")[0] for m in marked()} == {"Policy", "Role", "Bucket"}

    # 4. The notebooks: direct internet access off needs a replacement, which plan names before apply does it.
    for path in sorted((ds / "notebooks").glob("*.yaml")):
        text = path.read_text(encoding="utf-8").replace(
            "directInternetAccess: Enabled", "directInternetAccess: Disabled"
        )
        path.write_text(text + "  subnetId: subnet-0a1b2c3d\n  securityGroupIds: [sg-0a1b2c3d]\n", encoding="utf-8")
    notebooks = enforce(ds, "notebooks")
    code, plan = plan_json(ds, "--adopt")
    if code == 3 and errors(plan):
        except_exactly(ds, plan)
    commit(repo, "enforce the notebooks, without direct internet access")
    code, plan = plan_json(ds, "--adopt")
    assert code == 3
    assert {r["code"] for r in plan["verdict"]["refusals"]} == {"replacement"}
    for name in notebooks:
        assert f"--replace NotebookInstance/{name}" in str(plan["verdict"])
    replace = [arg for name in notebooks for arg in ("--replace", f"NotebookInstance/{name}")]
    code, plan = plan_json(ds, "--adopt", *replace)
    assert code == 3  # Retain protects the volumes: a second flag says the reviewer saved the work
    assert {r["code"] for r in plan["verdict"]["refusals"]} == {"retained"}
    replaced = [c for c in plan["changes"] if c["action"] == "replace"]
    assert sorted(c["name"] for c in replaced) == sorted(notebooks)
    assert all("storage volume" in c["destroys"][0] for c in replaced)
    code, text = run_cli(
        "apply", str(ds), "--adopt", *replace, "--allow-destroy-retained", "--allow-deletes", "2", "--auto-approve"
    )
    assert code == 0, text
    assert "2 replaced" in text
    sm = boto3.client("sagemaker")
    for name in notebooks:
        assert sm.describe_notebook_instance(NotebookInstanceName=name)["DirectInternetAccess"] == "Disabled"

    # The whole account is enforced and converged: an empty plan, no observed resource left.
    code, plan = plan_json(ds)
    assert code == 0, plan["verdict"]
    assert (plan["changes"], plan["observed"], plan["observedInSync"]) == ([], [], 0)
    assert sum(plan["summary"]["unchangedByKind"].values()) == total
    assert "management: observe" not in "".join(p.read_text() for p in ds.rglob("*.yaml"))
    assert len(git(repo, "log", "--oneline").splitlines()) == 5
