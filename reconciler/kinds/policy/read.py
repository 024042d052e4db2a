"""Reading customer managed policies: from the shared GetAccountAuthorizationDetails answer (every policy with
its versions and documents), plus ``ListPolicyTags`` per policy, since IAM returns policy tags nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.aws.answers import document, tags
from reconciler.aws.clients import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.iamread import account_details
from reconciler.kinds.policy import LivePolicy


def read(session: ReadSession) -> dict[str, LivePolicy]:
    listed = [_policy(p) for p in account_details(session)["Policies"]]
    tags_of = session.fan_out(lambda arn: _tags(session, arn), (p.arn for p in listed))
    return {p.name: replace(p, tags=f.result()) for p, f in zip(listed, tags_of, strict=True)}


def _policy(p: Mapping[str, Any]) -> LivePolicy:
    arn = str(p["Arn"])
    versions = p.get("PolicyVersionList", [])
    default = next((v for v in versions if v.get("IsDefaultVersion")), versions[0] if versions else {})
    return LivePolicy(
        # GetAccountAuthorizationDetails in the emulator omits PolicyName: the ARN ends with it.
        name=str(p.get("PolicyName") or arn.rsplit("/", 1)[-1]),
        arn=arn,
        path=str(p.get("Path", "/")),
        document=document(default.get("Document", {})),
        default_version_id=str(p.get("DefaultVersionId") or default.get("VersionId", "v1")),
        version_ids=tuple(sorted(str(v["VersionId"]) for v in versions)),
        description=p.get("Description") or None,
        attachment_count=int(p.get("AttachmentCount", 0)),
    )


def _tags(session: ReadSession, arn: str) -> dict[str, str]:
    with translate_errors("reading IAM (ListPolicyTags)"):
        pages = session.factory.client("iam").get_paginator("list_policy_tags").paginate(PolicyArn=arn)
        return {k: v for page in pages for k, v in tags(page.get("Tags")).items()}
