"""Build account state by hand with plain boto3 calls, the way the seed's author did in the console.

The preview tests need live resources that match (or deliberately differ from) the manifests
before the product can write anything itself. These helpers take the desired *views* of the kinds
registry and issue the raw AWS calls; they are test scaffolding, not the product's executor.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.engine.differ import context
from reconciler.kinds import REGISTRY
from reconciler.kinds.studioprofile import FOR_TAG
from reconciler.manifests.model import DesiredState

SANDBOX_ACCOUNT = "123456789012"


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _kms_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"TagKey": k, "TagValue": v} for k, v in sorted(tags.items())]


def build(desired: DesiredState, region: str, *, skip: set[str] = frozenset(), tag: bool = True) -> None:  # type: ignore[assignment]
    """Create every resource of ``desired`` (except the refs in ``skip``) as the views say."""
    import boto3

    ctx = context(desired, region)
    iam = boto3.client("iam")
    s3 = boto3.client("s3")
    sm = boto3.client("sagemaker")
    own = {ctx.ownership_key} if not tag else set()

    def view(kind: str, name: str) -> dict[str, Any]:
        v = REGISTRY[kind].desired_view(desired.of(kind)[name], ctx)
        v["tags"] = {k: x for k, x in v.get("tags", {}).items() if k not in own}
        return v

    for name in desired.of("Policy"):
        if f"Policy/{name}" in skip:
            continue
        v = view("Policy", name)
        iam.create_policy(
            PolicyName=name,
            Path=v["path"],
            PolicyDocument=json.dumps(v["document"]),
            Description=v["description"] or "",
            Tags=_tags(v["tags"]),
        )
    for name in desired.of("Role"):
        if f"Role/{name}" in skip:
            continue
        v = view("Role", name)
        extra = {"Description": v["description"]} if v["description"] else {}
        iam.create_role(
            RoleName=name,
            Path=v["path"],
            AssumeRolePolicyDocument=json.dumps(v["trust"]),
            MaxSessionDuration=v["maxSessionDuration"],
            Tags=_tags(v["tags"]),
            **extra,
        )
        for arn in v["policies"]:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for pname, doc in v["inlinePolicies"].items():
            iam.put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
    for name in desired.of("Group"):
        if f"Group/{name}" in skip:
            continue
        v = view("Group", name)
        iam.create_group(GroupName=name, Path=v["path"])
        for arn in v["policies"]:
            iam.attach_group_policy(GroupName=name, PolicyArn=arn)
        for pname, doc in v["inlinePolicies"].items():
            if not tag and pname.startswith("reconciler-"):
                continue
            iam.put_group_policy(GroupName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
    for name in desired.of("User"):
        if f"User/{name}" in skip:
            continue
        v = view("User", name)
        iam.create_user(UserName=name, Path=v["path"], Tags=_tags(v["tags"]))
        for group in desired.of("User")[name].groups:
            iam.add_user_to_group(GroupName=group, UserName=name)
        if v["consoleAccess"]:
            iam.create_login_profile(UserName=name, Password="Initial-Passw0rd!", PasswordResetRequired=True)
    kms = boto3.client("kms")
    for name in desired.of("KmsKey"):
        if f"KmsKey/{name}" in skip:
            continue
        v = view("KmsKey", name)
        key = kms.create_key(Description=v["description"], Policy=json.dumps(v["policy"]), Tags=_kms_tags(v["tags"]))
        kms.create_alias(AliasName=f"alias/{name}", TargetKeyId=key["KeyMetadata"]["KeyId"])
        if v["rotation"]:
            kms.enable_key_rotation(KeyId=key["KeyMetadata"]["KeyId"])
    for name in desired.of("Bucket"):
        if f"Bucket/{name}" in skip:
            continue
        v = view("Bucket", name)
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if v["tags"]:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(v["tags"])})
        if v["versioning"]:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        enc = v["encryption"]
        default: dict[str, str] = {"SSEAlgorithm": "AES256" if enc["type"] == "SSE-S3" else "aws:kms"}
        if enc.get("kmsKeyId"):
            default["KMSMasterKeyID"] = enc["kmsKeyId"]
        s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}
        )  # type: ignore[typeddict-item]
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=v["publicAccessBlock"])
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(v["policy"]))
    for name in desired.of("NotebookInstance"):
        if f"NotebookInstance/{name}" in skip:
            continue
        v = view("NotebookInstance", name)
        args: dict[str, Any] = {
            "NotebookInstanceName": name,
            "InstanceType": v["instanceType"],
            "RoleArn": v["role"],
            "RootAccess": v["rootAccess"],
            "DirectInternetAccess": v["directInternetAccess"],
            "VolumeSizeInGB": v["volumeSizeInGB"],
            "Tags": _tags(v["tags"]),
        }
        if v["subnetId"]:
            args["SubnetId"] = v["subnetId"]
        if v["securityGroupIds"]:
            args["SecurityGroupIds"] = v["securityGroupIds"]
        if v["kmsKeyId"]:
            args["KmsKeyId"] = v["kmsKeyId"]
        if v["lifecycleConfigName"]:
            args["LifecycleConfigName"] = v["lifecycleConfigName"]
        sm.create_notebook_instance(**args)
    for name in desired.of("StudioDomain"):
        if f"StudioDomain/{name}" in skip:
            continue
        v = view("StudioDomain", name)
        settings: dict[str, Any] = {"ExecutionRole": v["defaultExecutionRole"]}
        if v["securityGroupIds"]:
            settings["SecurityGroups"] = v["securityGroupIds"]
        domain: dict[str, Any] = {
            "DomainName": name,
            "AuthMode": v["authMode"],
            "DefaultUserSettings": settings,
            "SubnetIds": v["subnetIds"],
            "VpcId": v["vpcId"],
            "AppNetworkAccessType": v["appNetworkAccessType"],
            "Tags": _tags(v["tags"]),
        }
        if v["kmsKey"]:
            domain["KmsKeyId"] = v["kmsKey"]
        sm.create_domain(**domain)
    domain_ids = {d["DomainName"]: d["DomainId"] for d in sm.list_domains()["Domains"]}
    for name in desired.of("StudioUserProfile"):
        if f"StudioUserProfile/{name}" in skip:
            continue
        v = view("StudioUserProfile", name)
        sm.create_user_profile(
            DomainId=domain_ids[v["domain"]],
            UserProfileName=name,
            UserSettings={"ExecutionRole": v["executionRole"]},
            Tags=_tags({**v["tags"], FOR_TAG: v["for"]}),  # who the profile is for: a tag, owned or not
        )
