"""AWS managed policies: read by ARN, for the rules (their documents) and the audit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from reconciler.aws.answers import document, error_code
from reconciler.aws.clients import ClientFactory
from reconciler.aws.failures import translate_errors
from reconciler.aws.live import LiveState

__all__ = ["AWS_MANAGED_PREFIX", "READS", "AwsPolicy", "attached_aws_policies", "read_aws_policies", "read_aws_policy"]

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"

#: The IAM actions of reading an AWS managed policy.
READS: tuple[str, ...] = ("iam:GetPolicy", "iam:GetPolicyVersion")


@dataclass(frozen=True)
class AwsPolicy:
    """An AWS managed policy, with its default version's document."""

    name: str
    arn: str
    path: str
    document: Mapping[str, Any] = field(default_factory=dict)
    default_version_id: str = "v1"
    description: str | None = None


def read_aws_policy(factory: ClientFactory, arn: str) -> AwsPolicy | None:
    """An AWS managed policy and its default version's document (GetPolicy, GetPolicyVersion); None when AWS
    has no such policy."""
    iam = factory.client("iam")
    try:
        with translate_errors("reading an AWS managed policy"):
            meta = iam.get_policy(PolicyArn=arn)["Policy"]
            version = iam.get_policy_version(PolicyArn=arn, VersionId=meta["DefaultVersionId"])
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    return AwsPolicy(
        name=meta["PolicyName"],
        arn=arn,
        path=meta.get("Path", "/"),
        document=document(version["PolicyVersion"].get("Document", {})),
        default_version_id=meta["DefaultVersionId"],
        description=meta.get("Description"),
    )


def read_aws_policies(factory: ClientFactory, arns: Iterable[str], *, max_workers: int = 16) -> dict[str, AwsPolicy]:
    """The AWS managed policies of ``arns`` that exist, by ARN, read side by side."""
    wanted = sorted(set(arns))
    if not wanted:
        return {}
    with ThreadPoolExecutor(max_workers=min(max_workers, len(wanted)), thread_name_prefix="aws-policies") as pool:
        found = dict(zip(wanted, pool.map(lambda arn: read_aws_policy(factory, arn), wanted), strict=True))
    return {arn: policy for arn, policy in found.items() if policy is not None}


def attached_aws_policies(live: LiveState) -> list[str]:
    """The AWS managed policies attached to principals of the account whose documents ``live`` has not read."""
    arns = {
        a
        for principals in live.resources.values()
        for p in principals.values()
        for a in getattr(p, "attached", ())
        if a.startswith(AWS_MANAGED_PREFIX)
    }
    return sorted(arns - set(live.aws_policies))
