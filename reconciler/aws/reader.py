"""Read the account with the fewest API calls.

- IAM: one ``GetAccountAuthorizationDetails`` pass (filtered to users, roles, groups and local
  policies, following ``Marker``) gives every principal with its attached and inline policies and
  every customer managed policy with its versions and documents. What it lacks is read in bulk
  (``ListRoles`` for descriptions and session durations, a page per 1,000 roles) or only where needed
  (``ListPolicyTags`` per customer managed policy, because IAM returns policy tags nowhere else;
  ``GetLoginProfile`` per considered user).
- S3 and SageMaker: list, then tags for everything (ownership is a tag), then the settings of the
  buckets and notebooks that are named in git or owned, all fanned out over a bounded thread pool.

Three pipelines (IAM, S3, SageMaker) run side by side; their per-resource calls share one pool.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from reconciler.aws.clients import ClientFactory, translate_errors
from reconciler.aws.live import (
    LiveBucket,
    LiveGroup,
    LiveNotebook,
    LivePolicy,
    LiveRole,
    LiveState,
    LiveUser,
)
from reconciler.aws.scope import ReadScope, check_account

T = TypeVar("T")

GAAD_FILTER: list[Any] = ["User", "Role", "Group", "LocalManagedPolicy"]


def _doc(value: Any) -> dict[str, Any]:
    """A policy document from IAM: a dict (boto3 decodes), or URL-encoded JSON text."""
    if isinstance(value, dict):
        return value
    text = str(value)
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError:
        loaded = json.loads(urllib.parse.unquote(text))
    return loaded if isinstance(loaded, dict) else {}


def _tags(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in items or ()}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class AccountReader:
    """Reads a ``LiveState``. One instance per read; ``max_workers`` bounds concurrent calls."""

    def __init__(
        self,
        factory: ClientFactory,
        scope: ReadScope,
        *,
        max_workers: int = 16,
        on_aws_policies: Callable[[Mapping[str, LivePolicy]], None] | None = None,
    ) -> None:
        self.factory = factory
        self.scope = scope
        self.max_workers = max_workers
        # Called (on the reading thread) with the AWS managed policies as soon as they are read, while
        # the rest of the account is still being read: the invariants need nothing else from AWS.
        self.on_aws_policies = on_aws_policies

    def read(self) -> LiveState:
        with (
            ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="read") as calls,
            ThreadPoolExecutor(max_workers=3, thread_name_prefix="pipeline") as pipelines,
        ):
            self._calls = calls
            iam = pipelines.submit(self._read_iam)
            s3 = pipelines.submit(self._read_buckets)
            sagemaker = pipelines.submit(self._read_notebooks)
            aws_policies = {arn: calls.submit(self._aws_policy, arn) for arn in sorted(self.scope.aws_policy_arns)}
            resolved = {arn: p for arn, f in aws_policies.items() if (p := _result(f)) is not None}
            if self.on_aws_policies is not None:
                self.on_aws_policies(resolved)
            policies, roles, groups, users = _result(iam)
            buckets = _result(s3)
            notebooks = _result(sagemaker)
        return LiveState(
            self.scope.account_id, self.scope.region, policies, roles, groups, users, buckets, notebooks, resolved
        )

    def _fan_out(self, fn: Callable[[T], Any], items: Iterable[T]) -> list[Future[Any]]:
        return [self._calls.submit(fn, item) for item in items]

    # ---------------------------------------------------------------- IAM

    def _read_iam(self) -> tuple[dict[str, LivePolicy], dict[str, LiveRole], dict[str, LiveGroup], dict[str, LiveUser]]:
        role_extras = self._calls.submit(self._role_extras)
        details = self._gaad()
        policy_tags = dict(
            zip(
                (p["Arn"] for p in details["Policies"]),
                self._fan_out(self._policy_tags, (p["Arn"] for p in details["Policies"])),
                strict=True,
            )
        )
        users_raw = details["UserDetailList"]
        considered_users = [
            u["UserName"] for u in users_raw if self.scope.detailed("User", u["UserName"], _tags(u.get("Tags")))
        ]
        deletable_users = [
            u["UserName"] for u in users_raw if self.scope.may_delete("User", u["UserName"], _tags(u.get("Tags")))
        ]
        logins = dict(zip(considered_users, self._fan_out(self._has_login_profile, considered_users), strict=True))
        keys = dict(zip(considered_users, self._fan_out(self._access_keys, considered_users), strict=True))
        credentials = dict(zip(deletable_users, self._fan_out(self._credentials, deletable_users), strict=True))

        # The model is built from the answer at once, and the answer dropped: it is the read's largest
        # allocation, and nothing else needs it while the per-resource calls above complete. What those
        # calls add (policy tags, role descriptions, console access) is filled in after.
        policies: dict[str, LivePolicy] = {}
        tags_of: dict[str, Future[Any]] = {}
        for p in details["Policies"]:
            policy = self._policy(p, {})
            policies[policy.name] = policy
            tags_of[policy.name] = policy_tags[p["Arn"]]
        roles = {
            r["RoleName"]: LiveRole(
                name=r["RoleName"],
                arn=r["Arn"],
                path=r.get("Path", "/"),
                trust=_doc(r.get("AssumeRolePolicyDocument", {})),
                attached=tuple(sorted(a["PolicyArn"] for a in r.get("AttachedManagedPolicies", []))),
                inline={i["PolicyName"]: _doc(i["PolicyDocument"]) for i in r.get("RolePolicyList", [])},
                boundary=(r.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
                tags=_tags(r.get("Tags")),
                instance_profiles=tuple(sorted(ip["InstanceProfileName"] for ip in r.get("InstanceProfileList", []))),
            )
            for r in details["RoleDetailList"]
        }
        members: dict[str, list[str]] = {}
        for u in users_raw:
            for group_name in u.get("GroupList", []):
                members.setdefault(group_name, []).append(u["UserName"])
        groups = {
            g["GroupName"]: LiveGroup(
                name=g["GroupName"],
                arn=g["Arn"],
                path=g.get("Path", "/"),
                attached=tuple(sorted(a["PolicyArn"] for a in g.get("AttachedManagedPolicies", []))),
                inline={i["PolicyName"]: _doc(i["PolicyDocument"]) for i in g.get("GroupPolicyList", [])},
                members=tuple(sorted(members.get(g["GroupName"], ()))),
            )
            for g in details["GroupDetailList"]
        }
        users = {
            u["UserName"]: LiveUser(
                name=u["UserName"],
                arn=u["Arn"],
                path=u.get("Path", "/"),
                groups=tuple(sorted(u.get("GroupList", []))),
                attached=tuple(sorted(a["PolicyArn"] for a in u.get("AttachedManagedPolicies", []))),
                inline={i["PolicyName"]: _doc(i["PolicyDocument"]) for i in u.get("UserPolicyList", [])},
                tags=_tags(u.get("Tags")),
                boundary=(u.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            )
            for u in users_raw
        }
        del details, users_raw

        for name, policy in policies.items():
            policies[name] = replace(policy, tags=_result(tags_of[name]))
        extras = _result(role_extras)
        for name, role in roles.items():
            description, max_session = extras.get(name, (None, 3600))
            roles[name] = replace(role, description=description or None, max_session_duration=max_session)
        for name, future in logins.items():
            users[name] = replace(users[name], console_access=_result(future), access_keys=_result(keys[name]))
        for name, future in credentials.items():
            mfa, certificates, ssh = _result(future)
            users[name] = replace(users[name], mfa_devices=mfa, signing_certificates=certificates, ssh_public_keys=ssh)
        return policies, roles, groups, users

    def _gaad(self) -> dict[str, list[dict[str, Any]]]:
        """The GetAccountAuthorizationDetails answer: users, roles, groups, customer managed policies."""
        details: dict[str, list[dict[str, Any]]] = {
            "Policies": [],
            "RoleDetailList": [],
            "GroupDetailList": [],
            "UserDetailList": [],
        }
        iam = self.factory.client("iam")
        with translate_errors("reading IAM (GetAccountAuthorizationDetails)"):
            for page in iam.get_paginator("get_account_authorization_details").paginate(
                Filter=GAAD_FILTER, PaginationConfig={"PageSize": 1000}
            ):
                for key, items in details.items():
                    items.extend(page.get(key, []))  # type: ignore[arg-type]
        return details

    def _role_extras(self) -> dict[str, tuple[str | None, int]]:
        """Description and MaxSessionDuration, which GetAccountAuthorizationDetails does not return."""
        out: dict[str, tuple[str | None, int]] = {}
        with translate_errors("reading IAM (ListRoles)"):
            for page in (
                self.factory.client("iam").get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 1000})
            ):
                for r in page.get("Roles", []):
                    out[r["RoleName"]] = (r.get("Description"), int(r.get("MaxSessionDuration", 3600)))
        return out

    @staticmethod
    def _policy(p: Mapping[str, Any], tags: dict[str, str]) -> LivePolicy:
        arn = str(p["Arn"])
        versions = p.get("PolicyVersionList", [])
        default = next((v for v in versions if v.get("IsDefaultVersion")), versions[0] if versions else {})
        return LivePolicy(
            # GetAccountAuthorizationDetails in the emulator omits PolicyName: the ARN ends with it.
            name=str(p.get("PolicyName") or arn.rsplit("/", 1)[-1]),
            arn=arn,
            path=str(p.get("Path", "/")),
            document=_doc(default.get("Document", {})),
            default_version_id=str(p.get("DefaultVersionId") or default.get("VersionId", "v1")),
            version_ids=tuple(sorted(str(v["VersionId"]) for v in versions)),
            description=p.get("Description") or None,
            tags=tags,
            attachment_count=int(p.get("AttachmentCount", 0)),
        )

    def _policy_tags(self, arn: str) -> dict[str, str]:
        with translate_errors("reading IAM (ListPolicyTags)"):
            pages = self.factory.client("iam").get_paginator("list_policy_tags").paginate(PolicyArn=arn)
            return {k: v for page in pages for k, v in _tags(page.get("Tags")).items()}

    def _has_login_profile(self, user: str) -> bool:
        try:
            with translate_errors("reading IAM (GetLoginProfile)"):
                self.factory.client("iam").get_login_profile(UserName=user)
        except ClientError as exc:
            if _code(exc) == "NoSuchEntity":
                return False
            raise
        return True

    def _access_keys(self, user: str) -> tuple[str, ...]:
        with translate_errors("reading IAM (ListAccessKeys)"):
            pages = self.factory.client("iam").get_paginator("list_access_keys").paginate(UserName=user)
            return tuple(
                sorted(
                    f"{k['AccessKeyId']} ({k.get('Status', 'Active')})"
                    for page in pages
                    for k in page.get("AccessKeyMetadata", [])
                )
            )

    def _credentials(self, user: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """MFA devices, signing certificates and SSH public keys: what deleting the user removes."""
        iam = self.factory.client("iam")
        with translate_errors("reading IAM (a user's credentials)"):
            mfa = tuple(
                sorted(
                    d["SerialNumber"]
                    for page in iam.get_paginator("list_mfa_devices").paginate(UserName=user)
                    for d in page.get("MFADevices", [])
                )
            )
            certificates = tuple(
                sorted(
                    c["CertificateId"]
                    for page in iam.get_paginator("list_signing_certificates").paginate(UserName=user)
                    for c in page.get("Certificates", [])
                )
            )
            ssh = tuple(
                sorted(
                    k["SSHPublicKeyId"]
                    for page in iam.get_paginator("list_ssh_public_keys").paginate(UserName=user)
                    for k in page.get("SSHPublicKeys", [])
                )
            )
        return mfa, certificates, ssh

    def _aws_policy(self, arn: str) -> LivePolicy | None:
        return read_aws_policy(self.factory, arn)

    # ---------------------------------------------------------------- S3

    def _read_buckets(self) -> dict[str, LiveBucket]:
        s3 = self.factory.client("s3")
        with translate_errors("reading S3 (ListBuckets)"):
            names = [b["Name"] for page in s3.get_paginator("list_buckets").paginate() for b in page.get("Buckets", [])]
        tags = dict(zip(names, self._fan_out(self._bucket_tags, names), strict=True))
        buckets: dict[str, LiveBucket] = {}
        detail: dict[str, list[Future[Any]]] = {}
        for name in names:
            bucket_tags = _result(tags[name])
            if bucket_tags is None:  # deleted since it was listed
                continue
            buckets[name] = LiveBucket(name=name, tags=bucket_tags)
            if self.scope.detailed("Bucket", name, bucket_tags):
                detail[name] = [
                    self._calls.submit(fn, name)
                    for fn in (
                        self._bucket_versioning,
                        self._bucket_encryption,
                        self._bucket_public_access_block,
                        self._bucket_policy,
                    )
                ]
                if self.scope.may_delete("Bucket", name, bucket_tags):
                    detail[name].append(self._calls.submit(self._bucket_empty, name))
        for name, futures in detail.items():
            versioning, encryption, pab, policy, *empty = (_result(f) for f in futures)
            buckets[name] = LiveBucket(
                name=name,
                tags=buckets[name].tags,
                detailed=True,
                versioning=versioning,
                encryption=encryption,
                public_access_block=pab,
                policy=policy,
                empty=empty[0] if empty else None,
            )
        return buckets

    def _bucket_empty(self, name: str) -> bool | None:
        """No object, no version and no delete marker (one ListObjectVersions call of one key)."""
        out = self._s3_call(
            "ListObjectVersions",
            lambda: self.factory.client("s3").list_object_versions(Bucket=name, MaxKeys=1),
            ("NoSuchBucket",),
        )
        return None if out is None else not (out.get("Versions") or out.get("DeleteMarkers"))

    def _s3_call(self, what: str, call: Callable[[], T], absent: Iterable[str]) -> T | None:
        try:
            with translate_errors(f"reading S3 ({what})"):
                return call()
        except ClientError as exc:
            if _code(exc) in absent:
                return None
            raise

    def _bucket_tags(self, name: str) -> dict[str, str] | None:
        s3 = self.factory.client("s3")
        try:
            with translate_errors("reading S3 (GetBucketTagging)"):
                return _tags(s3.get_bucket_tagging(Bucket=name).get("TagSet"))
        except ClientError as exc:
            if _code(exc) in ("NoSuchTagSet", "NoSuchTagSetError"):
                return {}
            if _code(exc) == "NoSuchBucket":
                return None
            raise

    def _bucket_versioning(self, name: str) -> str | None:
        out = self._s3_call(
            "GetBucketVersioning",
            lambda: self.factory.client("s3").get_bucket_versioning(Bucket=name),
            ("NoSuchBucket",),
        )
        return None if out is None else out.get("Status")

    def _bucket_encryption(self, name: str) -> dict[str, Any] | None:
        out = self._s3_call(
            "GetBucketEncryption",
            lambda: self.factory.client("s3").get_bucket_encryption(Bucket=name),
            ("ServerSideEncryptionConfigurationNotFoundError", "NoSuchBucket"),
        )
        if out is None:
            return None
        rules = out.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
        algorithm = default.get("SSEAlgorithm")
        if algorithm is None:
            return None
        result: dict[str, Any] = {"type": "SSE-S3" if algorithm == "AES256" else "SSE-KMS"}
        if default.get("KMSMasterKeyID"):
            result["kmsKeyId"] = default["KMSMasterKeyID"]
        return result

    def _bucket_public_access_block(self, name: str) -> dict[str, bool] | None:
        out = self._s3_call(
            "GetPublicAccessBlock",
            lambda: self.factory.client("s3").get_public_access_block(Bucket=name),
            ("NoSuchPublicAccessBlockConfiguration", "NoSuchBucket"),
        )
        if out is None:
            return None
        return {k: bool(v) for k, v in out.get("PublicAccessBlockConfiguration", {}).items()}

    def _bucket_policy(self, name: str) -> dict[str, Any] | None:
        out = self._s3_call(
            "GetBucketPolicy",
            lambda: self.factory.client("s3").get_bucket_policy(Bucket=name),
            ("NoSuchBucketPolicy", "NoSuchBucket"),
        )
        return None if out is None else _doc(out["Policy"])

    # ---------------------------------------------------------------- SageMaker

    def _read_notebooks(self) -> dict[str, LiveNotebook]:
        sm = self.factory.client("sagemaker")
        with translate_errors("reading SageMaker (ListNotebookInstances)"):
            listed = [
                (n["NotebookInstanceName"], n["NotebookInstanceArn"])
                for page in sm.get_paginator("list_notebook_instances").paginate()
                for n in page.get("NotebookInstances", [])
            ]
        tags = self._fan_out(self._notebook_tags, (arn for _, arn in listed))
        notebooks: dict[str, LiveNotebook] = {}
        details: dict[str, Future[Any]] = {}
        for (name, arn), tag_future in zip(listed, tags, strict=True):
            nb_tags = _result(tag_future)
            notebooks[name] = LiveNotebook(name=name, arn=arn, tags=nb_tags)
            if self.scope.detailed("NotebookInstance", name, nb_tags):
                details[name] = self._calls.submit(self._describe_notebook, name)
        for name, future in details.items():
            d = _result(future)
            if d is None:
                del notebooks[name]
                continue
            notebooks[name] = LiveNotebook(
                name=name,
                arn=notebooks[name].arn,
                tags=notebooks[name].tags,
                detailed=True,
                status=d.get("NotebookInstanceStatus"),
                instance_type=d.get("InstanceType"),
                role_arn=d.get("RoleArn"),
                root_access=d.get("RootAccess", "Enabled"),
                direct_internet_access=d.get("DirectInternetAccess", "Enabled"),
                subnet_id=d.get("SubnetId"),
                security_group_ids=tuple(sorted(d.get("SecurityGroups", []))),
                kms_key_id=d.get("KmsKeyId"),
                volume_size_in_gb=d.get("VolumeSizeInGB"),
                lifecycle_config_name=d.get("NotebookInstanceLifecycleConfigName"),
            )
        return notebooks

    def _notebook_tags(self, arn: str) -> dict[str, str]:
        with translate_errors("reading SageMaker (ListTags)"):
            pages = self.factory.client("sagemaker").get_paginator("list_tags").paginate(ResourceArn=arn)
            return {k: v for page in pages for k, v in _tags(page.get("Tags")).items()}

    def _describe_notebook(self, name: str) -> dict[str, Any] | None:
        try:
            with translate_errors("reading SageMaker (DescribeNotebookInstance)"):
                return dict(self.factory.client("sagemaker").describe_notebook_instance(NotebookInstanceName=name))
        except ClientError as exc:
            if _code(exc) in ("ValidationException", "ResourceNotFound"):
                return None
            raise


def read_aws_policy(factory: ClientFactory, arn: str) -> LivePolicy | None:
    """An AWS managed policy and its default version's document (GetPolicy, GetPolicyVersion); None
    when AWS has no such policy. Shared by plan's reader, the audit and the import."""
    iam = factory.client("iam")
    try:
        with translate_errors("reading an AWS managed policy"):
            meta = iam.get_policy(PolicyArn=arn)["Policy"]
            version = iam.get_policy_version(PolicyArn=arn, VersionId=meta["DefaultVersionId"])
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise
    return LivePolicy(
        name=meta["PolicyName"],
        arn=arn,
        path=meta.get("Path", "/"),
        document=_doc(version["PolicyVersion"].get("Document", {})),
        default_version_id=meta["DefaultVersionId"],
        description=meta.get("Description"),
    )


def _result(future: Future[T]) -> T:
    return future.result()


def read_account(
    factory: ClientFactory,
    scope: ReadScope,
    *,
    max_workers: int = 16,
    on_aws_policies: Callable[[Mapping[str, LivePolicy]], None] | None = None,
) -> LiveState:
    """Check the account, then read it. Raises AccountMismatchError before any other read."""
    check_account(factory, scope.account_id)
    return AccountReader(factory, scope, max_workers=max_workers, on_aws_policies=on_aws_policies).read()
