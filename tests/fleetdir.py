"""Fleets of accounts for tests: the shipped example made a fleet, or a small fleet that applies fast.

Both reach each account through a spoke role; the emulator answers AssumeRole for any account id with
credentials for that account, and keeps a separate state per account.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_ACCOUNT = "123456789012"
#: name -> (account id, labels, region or None)
ACCOUNTS: dict[str, tuple[str, dict[str, str], str | None]] = {
    "dev": ("111111111111", {"env": "dev", "team": "ml"}, None),
    "prod": ("222222222222", {"env": "prod", "team": "ml"}, "eu-west-1"),
}


def account_manifests(accounts: dict[str, tuple[str, dict[str, str], str | None]]) -> str:
    docs = []
    for name, (account_id, labels, region) in accounts.items():
        label_text = "".join(f"\n    {k}: {v}" for k, v in labels.items())
        region_text = f"\n  region: {region}" if region else ""
        docs.append(
            f"""apiVersion: reconciler/v1
kind: Account
metadata:
  name: {name}
  labels:{label_text or " {}"}
spec:
  accountId: "{account_id}"{region_text}
  roleArn: arn:aws:iam::{account_id}:role/reconciler-spoke
  readRoleArn: arn:aws:iam::{account_id}:role/reconciler-spoke-read
  externalId: fleet-{name}
  vars:
    team: {labels.get("team", "none")}
"""
        )
    return "---\n".join(docs)


def example_fleet(root: Path, accounts: dict[str, tuple[str, dict[str, str], str | None]] = ACCOUNTS) -> Path:
    """The shipped example as a fleet under ``root``: bucket names and account ids made per account with
    ``${account.name}`` and ``${account.id}``, Settings without an accountId, and ``accounts.yaml``."""
    shutil.copytree(REPO / "desired-state", root)
    for path in root.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        text = text.replace(EXAMPLE_ACCOUNT, "${account.id}")
        text = text.replace("sagemaker-rawdata", "${account.name}-sagemaker-rawdata")
        text = text.replace("sagemaker-result", "${account.name}-sagemaker-result")
        if path.name == "settings.yaml":
            text = "\n".join(line for line in text.splitlines() if "accountId" not in line) + "\n"
        path.write_text(text, encoding="utf-8")
    (root / "accounts.yaml").write_text(account_manifests(accounts), encoding="utf-8")
    return root


SMALL_SETTINGS = """apiVersion: reconciler/v1
kind: Settings
metadata:
  name: small-fleet
spec:
  region: ap-northeast-1
"""

SMALL_RESOURCES = """apiVersion: reconciler/v1
kind: Policy
metadata:
  name: read-results
spec:
  document:
    Version: "2012-10-17"
    Statement:
      - Sid: ReadResults
        Effect: Allow
        Action: ["s3:GetObject"]
        Resource: "arn:aws:s3:::${account.name}-results/*"
---
apiVersion: reconciler/v1
kind: Role
metadata:
  name: analyst-${account.vars.team}
spec:
  trustedServices: [sagemaker.amazonaws.com]
  policies: [read-results]
"""


def small_fleet(root: Path, accounts: dict[str, tuple[str, dict[str, str], str | None]] = ACCOUNTS) -> Path:
    """A fleet of a Settings, one policy and one role per account (fast to apply)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "settings.yaml").write_text(SMALL_SETTINGS, encoding="utf-8")
    (root / "iam.yaml").write_text(SMALL_RESOURCES, encoding="utf-8")
    (root / "accounts.yaml").write_text(account_manifests(accounts), encoding="utf-8")
    return root


def iam_in(account_id: str) -> object:
    """An IAM client for ``account_id`` (through an assumed role, as the reconciler reaches it)."""
    creds = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/test-observer", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        "iam",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def role_names(account_id: str) -> list[str]:
    client = iam_in(account_id)
    return sorted(r["RoleName"] for r in client.list_roles()["Roles"])  # type: ignore[attr-defined]
