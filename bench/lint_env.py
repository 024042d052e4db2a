"""The environment around a case of the linter corpus: the smallest manifests, or live account, in which the product
judges the case's document as it judges any other (``plan`` on manifests, ``audit`` on the account)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bench.lint_cases import REPO, Case

AWS_POLICIES = REPO / "tests" / "fixtures" / "seed" / "aws-managed-policies.json"
ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
OWNED = {"managed-by": "reconciler"}


def _manifest(kind: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": dict(spec)}


def _extra_policies(case: Case) -> tuple[list[dict[str, Any]], list[str]]:
    """The holder's further attachments: (Policy manifests to add, the references to attach)."""
    if isinstance(case.attach, tuple):
        return [], list(case.attach)
    docs = [
        _manifest(
            "Policy",
            f"extra-{n:02d}",
            {
                "document": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": f"arn:aws:s3:::sagemaker-rawdata/extra-{n:02d}/*",
                        }
                    ],
                }
            },
        )
        for n in range(1, case.attach + 1)
    ]
    return docs, [d["metadata"]["name"] for d in docs]


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _key(name: str, role: str) -> dict[str, Any]:
    root = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    return _manifest(
        "KmsKey",
        name,
        {
            "policy": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "Admin", "Effect": "Allow", "Principal": root, "Action": "kms:*", "Resource": "*"},
                    {
                        "Sid": "Use",
                        "Effect": "Allow",
                        "Principal": {"AWS": _role_arn(role)},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                        "Resource": "*",
                    },
                ],
            }
        },
    )


def manifests_of(case: Case) -> list[dict[str, Any]]:
    """The manifests around the case's document."""
    name = case.holder_name
    extra, refs = _extra_policies(case)
    out: list[dict[str, Any]] = [*extra]
    policies = list(refs)
    inline: dict[str, Any] = {}
    if case.where == "identity":
        out.append(_manifest("Policy", "case-policy", {"document": dict(case.document)}))
        policies.insert(0, "case-policy")
    elif case.where == "inline":
        inline["case-policy"] = dict(case.document)
    if case.where == "trust":
        out.append(_manifest("Role", name, {"assumeRolePolicy": dict(case.document), "policies": policies}))
    elif case.where == "bucket":
        out.append(_manifest("Role", name, {"trustedServices": ["sagemaker.amazonaws.com"], "policies": policies}))
        out.append(_key("case-key", name))
        bucket = {
            "versioning": True,
            "encryption": {"type": "SSE-KMS", "kmsKey": "case-key"},
            "access": {"read": [f"Role/{name}"], "write": [f"Role/{name}"]},
            "policy": list(case.document.get("Statement", [])),
        }
        out.append(_manifest("Bucket", "case-bucket", bucket))
    elif case.holder == "Role":
        spec: dict[str, Any] = {"trustedServices": ["sagemaker.amazonaws.com"], "policies": policies}
        if inline:
            spec["inlinePolicies"] = inline
        out.append(_manifest("Role", name, spec))
    else:  # a Group, with a member
        spec = {"requireMFA": case.require_mfa, "policies": policies}
        if inline:
            spec["inlinePolicies"] = inline
        out.append(_manifest("Group", name, spec))
        out.append(_manifest("User", f"{name}-member", {"groups": [name]}))
    return [*out, *(dict(m) for m in case.manifests)]


def _aws_policies() -> dict[str, Any]:
    data = json.loads(AWS_POLICIES.read_text(encoding="utf-8"))
    return {arn: entry["document"] for arn, entry in data["policies"].items()}


def evaluate_manifests(case: Case) -> Any:
    from reconciler.kinds import load_directory
    from reconciler.rules import evaluate

    settings = _manifest("Settings", "bench", {"accountId": ACCOUNT, "region": REGION})
    with tempfile.TemporaryDirectory(prefix="lint-bench-") as tmp:
        root = Path(tmp)
        (root / "settings.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
        (root / "case.yaml").write_text(yaml.safe_dump_all(manifests_of(case), sort_keys=False), encoding="utf-8")
        return evaluate(load_directory(root, display_root=case.name), _aws_policies())


# ------------------------------------------------------------------------------------------------ the account

_GUARD = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "BlockMostAccessUnlessSignedInWithMFA",
            "Effect": "Deny",
            "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices"],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    ],
}
_SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ],
}


def _with_writers(document: Mapping[str, Any]) -> dict[str, Any]:
    """A bucket policy of the account, with the statement the reconciler writes on a protected bucket appended
    (as ``plan`` would have left it: the case's statements are the rest)."""
    from reconciler.kinds.bucket import OBJECT_WRITE_ACTIONS

    found = document.get("Statement", [])
    statements = [found] if isinstance(found, Mapping) else list(found)
    statements.append(
        {
            "Sid": "DenyObjectWritesExceptDeclaredWriters",
            "Effect": "Deny",
            "Principal": "*",
            "Action": list(OBJECT_WRITE_ACTIONS),
            "Resource": "arn:aws:s3:::case-bucket/*",
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [_role_arn("case")]}},
        }
    )
    return {**document, "Statement": statements}


def live_state_of(case: Case) -> Any:
    """The account around the case's document, as ``audit`` reads it (every resource owned)."""
    from reconciler.aws.live import LiveState
    from reconciler.kinds.bucket import LiveBucket
    from reconciler.kinds.group import LiveGroup
    from reconciler.kinds.group.guard import GROUP_GUARD_POLICY
    from reconciler.kinds.kmskey import LiveKmsKey
    from reconciler.kinds.policy import LivePolicy
    from reconciler.kinds.role import LiveRole
    from reconciler.kinds.user import LiveUser

    name, document = case.holder_name, dict(case.document)
    attached = list(case.attach) if isinstance(case.attach, tuple) else []
    policies: dict[str, Any] = {}
    for n in range(1, (case.attach if isinstance(case.attach, int) else 0) + 1):
        arn = f"arn:aws:iam::{ACCOUNT}:policy/extra-{n:02d}"
        doc = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::sagemaker-rawdata/x{n}/*"}
            ],
        }
        policies[f"extra-{n:02d}"] = LivePolicy(f"extra-{n:02d}", arn, "/", doc, "v1", ("v1",), tags=OWNED)
        attached.append(arn)
    if case.where == "identity":
        arn = f"arn:aws:iam::{ACCOUNT}:policy/case-policy"
        policies["case-policy"] = LivePolicy("case-policy", arn, "/", document, "v1", ("v1",), tags=OWNED)
        attached.insert(0, arn)
    inline = {"case-policy": document} if case.where == "inline" else {}
    resources: dict[str, dict[str, Any]] = {
        "Policy": policies,
        "Role": {},
        "Group": {},
        "User": {},
        "Bucket": {},
        "KmsKey": {},
    }
    guard = {GROUP_GUARD_POLICY: _GUARD}
    if case.where == "trust":
        resources["Role"][name] = LiveRole(name, _role_arn(name), "/", document, tuple(attached), tags=OWNED)
    elif case.where == "bucket":
        key_policy = _key("case-key", "case")["spec"]["policy"]
        resources["KmsKey"]["case-key"] = LiveKmsKey(
            "case-key",
            f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/case-key",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            tags=OWNED,
            detailed=True,
            policy=key_policy,
            rotation=True,
        )
        resources["Role"]["case"] = LiveRole("case", _role_arn("case"), "/", _SAGEMAKER_TRUST, tags=OWNED)
        resources["Bucket"]["case-bucket"] = LiveBucket(
            "case-bucket",
            OWNED,
            detailed=True,
            versioning="Enabled",
            encryption={"type": "SSE-KMS", "kmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/case-key"},
            public_access_block=dict.fromkeys(
                ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
            ),
            policy=_with_writers(document),
        )
    elif case.holder == "Role":
        role = LiveRole(name, _role_arn(name), "/", _SAGEMAKER_TRUST, tuple(attached), inline, tags=OWNED)
        resources["Role"][name] = role
    elif case.holder == "Group":
        arn = f"arn:aws:iam::{ACCOUNT}:group/{name}"
        resources["Group"][name] = LiveGroup(name, arn, "/", tuple(attached), {**inline, **guard})
    else:
        resources["Group"]["guarded"] = LiveGroup("guarded", f"arn:aws:iam::{ACCOUNT}:group/guarded", "/", (), guard)
        user_arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
        resources["User"][name] = LiveUser(name, user_arn, "/", ("guarded",), tuple(attached), inline, tags=OWNED)
    return LiveState(ACCOUNT, REGION, resources)


def evaluate_account(case: Case) -> Any:
    from reconciler.rules import evaluate_model
    from reconciler.rules.fromlive import from_live

    return evaluate_model(from_live(live_state_of(case), aws_policies=_aws_policies()))
