"""Helpers for the rule tests (tests/rules): manifests built in Python, the seed fixture's AWS documents."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reconciler.manifests import DesiredState
from reconciler.rules import Report

Loader = Callable[..., DesiredState]
Evaluator = Callable[..., Report]

REPO = Path(__file__).resolve().parents[2]
SEED_DIR = REPO / "tests" / "fixtures" / "seed"
ACCOUNT = "123456789012"


def seed_aws_policies() -> dict[str, Any]:
    """AWS managed policy documents by ARN (a dated snapshot, see the file's _source)."""
    data = json.loads((SEED_DIR / "aws-managed-policies.json").read_text(encoding="utf-8"))
    return {arn: entry["document"] for arn, entry in data["policies"].items()}


def manifest(kind: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": dict(spec)}


def policy(name: str, *statements: Mapping[str, Any]) -> dict[str, Any]:
    return manifest("Policy", name, {"document": {"Version": "2012-10-17", "Statement": list(statements)}})


def allow(action: str | list[str], resource: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def role(
    name: str,
    *policies: str,
    services: tuple[str, ...] = ("sagemaker.amazonaws.com",),
    trust: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"policies": list(policies), **extra}
    if trust is not None:
        spec["assumeRolePolicy"] = dict(trust)
    else:
        spec["trustedServices"] = list(services)
    return manifest("Role", name, spec)


def group(name: str, *policies: str, mfa: bool = True, **extra: Any) -> dict[str, Any]:
    return manifest("Group", name, {"policies": list(policies), "requireMFA": mfa, **extra})


def user(name: str, *groups: str) -> dict[str, Any]:
    return manifest("User", name, {"groups": list(groups)})


def bucket(name: str, **spec: Any) -> dict[str, Any]:
    return manifest("Bucket", name, spec)


def notebook(name: str, role_name: str, **spec: Any) -> dict[str, Any]:
    base = {
        "instanceType": "ml.t3.medium",
        "role": role_name,
        "subnetId": "subnet-0a1b2c3d",
        "securityGroupIds": ["sg-0a1b2c3d"],
        "kmsKeyId": "alias/notebooks",
    }
    return manifest("NotebookInstance", name, {**base, **spec})


def hits(report: Report, rule: str) -> list[str]:
    """The resources a rule reported, sorted."""
    return sorted(f.resource for f in report.findings if f.rule == rule)
