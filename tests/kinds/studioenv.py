"""Helpers for the Studio kinds' tests: the manifests of a domain and two user profiles, and plain boto3 calls that
look at (or change by hand) what the emulator holds."""

from __future__ import annotations

from typing import Any

import boto3
from apply.applyenv import Env

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"
OWNED = {"managed-by": "reconciler"}

STUDIO_YAML = """\
apiVersion: reconciler/v1
kind: StudioDomain
metadata:
  name: ml-studio
spec:
  vpcId: vpc-0a1b2c3d4e5f60718
  subnetIds: [subnet-0a1b2c3d4e5f60718]
  securityGroupIds: [sg-0a1b2c3d4e5f60718]
  defaultExecutionRole: notebook-for-engineer-role
  kmsKey: sagemaker-studio
  tags:
    team: ml-platform
---
apiVersion: reconciler/v1
kind: StudioUserProfile
metadata:
  name: alice
spec:
  domain: ml-studio
  executionRole: notebook-for-administrator-role
  for:
    user: alice
---
apiVersion: reconciler/v1
kind: StudioUserProfile
metadata:
  name: engineers
spec:
  domain: ml-studio
  executionRole: notebook-for-engineer-role
  for:
    group: SageMakerEngineer
"""


def except_rule(env: Env, rule: str, resource: str, reason: str) -> None:
    """A ``Settings.exceptions`` entry: a finding the test causes on purpose, accepted with its reason (apply
    refuses a plan with an error finding)."""
    env.edit(
        "settings.yaml",
        lambda t: (
            t.rstrip("\n")
            + f"\n  exceptions:\n    - {{rule: {rule}, resource: {resource}, reason: {reason!r}, owner: ml-platform}}\n"
        ),
    )


def sm() -> Any:
    return boto3.client("sagemaker")


def domains(name: str) -> list[dict[str, Any]]:
    """The summaries of the domains named ``name``."""
    return [d for d in sm().list_domains()["Domains"] if d["DomainName"] == name]


def domain(name: str) -> dict[str, Any]:
    (found,) = domains(name)
    described: dict[str, Any] = sm().describe_domain(DomainId=found["DomainId"])
    return described


def profile(name: str, domain_name: str = "ml-studio") -> dict[str, Any]:
    described: dict[str, Any] = sm().describe_user_profile(
        DomainId=domain(domain_name)["DomainId"], UserProfileName=name
    )
    return described


def profile_names(domain_name: str = "ml-studio") -> list[str]:
    listed = sm().list_user_profiles(DomainIdEquals=domain(domain_name)["DomainId"])["UserProfiles"]
    return sorted(p["UserProfileName"] for p in listed)


def tags(arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sm().list_tags(ResourceArn=arn)["Tags"]}


def refs(env: Env) -> list[tuple[str, str]]:
    return [(c.action.value, c.ref) for c in env.plan()]
