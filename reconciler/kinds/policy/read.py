"""Reading customer managed policies: from the shared GetAccountAuthorizationDetails answer (every policy with
its versions and documents), plus ``ListPolicyTags`` per policy, since IAM returns policy tags nowhere else.

By name (a targeted read): ``GetPolicy`` (with its tags) at the path git gives (its read hint),
``ListPolicyVersions`` and ``GetPolicyVersion`` of the default version; a policy not found there is looked for
by name in ``ListPolicies`` (local policies; IAM names are unique in an account, whatever the path)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from reconciler.aws.answers import document, tags
from reconciler.aws.failures import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.iamnamed import call, listed, resolve
from reconciler.kinds.iamread import account_details
from reconciler.kinds.policy import LivePolicy

if TYPE_CHECKING:
    from mypy_boto3_iam.client import IAMClient


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


def read_named(session: ReadSession, names: frozenset[str]) -> dict[str, LivePolicy]:
    iam = session.factory.client("iam")
    scope = session.scope
    paths = scope.hints.get("Policy", {})

    def arn(name: str, path: object) -> str:
        return f"arn:aws:iam::{scope.account_id}:policy{path}{name}"

    found = resolve(
        session, {name: call("GetPolicy", iam.get_policy, PolicyArn=arn(name, paths.get(name, "/"))) for name in names}
    )
    missing = [name for name, meta in found.items() if meta is None]
    if missing:  # elsewhere than git says, or not at all
        with translate_errors("reading IAM (ListPolicies)"):
            pages = iam.get_paginator("list_policies").paginate(Scope="Local", PaginationConfig={"PageSize": 1000})
            local = {p["PolicyName"]: p["Arn"] for p in listed(pages, "Policies")}
        found |= resolve(
            session, {n: call("GetPolicy", iam.get_policy, PolicyArn=local[n]) for n in missing if n in local}
        )
    metas = {name: answer["Policy"] for name, answer in sorted(found.items()) if answer is not None}
    details: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, meta in metas.items():
        details[(name, "versions")] = call("ListPolicyVersions", _versions, iam, meta["Arn"])
        details[(name, "default")] = call(
            "GetPolicyVersion", iam.get_policy_version, PolicyArn=meta["Arn"], VersionId=meta["DefaultVersionId"]
        )
    answers = resolve(session, details)
    out: dict[str, LivePolicy] = {}
    for name, meta in metas.items():
        versions, default = answers[(name, "versions")], answers[(name, "default")]
        if versions is None or default is None:  # deleted while it was read
            continue
        out[name] = LivePolicy(
            name=str(meta.get("PolicyName") or name),
            arn=str(meta["Arn"]),
            path=str(meta.get("Path", "/")),
            document=document(default["PolicyVersion"].get("Document", {})),
            default_version_id=str(meta["DefaultVersionId"]),
            version_ids=tuple(sorted(str(v["VersionId"]) for v in versions)),
            description=meta.get("Description") or None,
            tags=tags(meta.get("Tags")),
            attachment_count=int(meta.get("AttachmentCount", 0)),
        )
    return out


def _versions(iam: IAMClient, arn: str) -> tuple[Any, ...]:
    return listed(iam.get_paginator("list_policy_versions").paginate(PolicyArn=arn), "Versions")
