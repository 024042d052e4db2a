"""Account states built by hand with boto3 (as a console user would), for the import tests.

``Account`` describes a state in a few plain fields; ``build`` creates it in the emulator; ``accounts()``
is the Hypothesis strategy of many shapes; ``not_representable`` is the oracle: the fields that a
manifest cannot say as they are (so that adopting the resource also changes them), derived from the
description alone, not from the product's code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from hypothesis import strategies as st

from reconciler.kinds.context import Context
from reconciler.kinds.group.guard import Group, group_guard_document
from reconciler.manifests.model import DesiredState, Settings

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
OWNERSHIP = {"managed-by": "reconciler"}
PASSWORD = "Very-Secret-Passw0rd!"  # the secret the tests look for in the output
AWS = "arn:aws:iam::aws:policy/"

DOCUMENTS: list[dict[str, Any]] = [
    {
        "Version": "2012-10-17",
        "Statement": {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::raw-data-1/*"},
    },
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "List",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": ["arn:aws:s3:::raw-data-1", "arn:aws:s3:::results.bucket"],
            },
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::raw-data-1/*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            },
        ],
    },
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MFA",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"Null": {"aws:MultiFactorAuthAge": True}},
            },
        ],
    },
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "NotAction": ["iam:ChangePassword", "sts:GetSessionToken"],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
    },
]

TRUSTS: list[dict[str, Any]] = [
    # The console's "AWS service: S3" (the seed's mistake).
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    },
    # Exactly what trustedServices generates: imported as trustedServices.
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["sagemaker.amazonaws.com"]},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            }
        ],
    },
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Humans",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ],
    },
    # No Version (AWS then reads it as 2008-10-17), one statement as a mapping, two services.
    {
        "Statement": {
            "Effect": "Allow",
            "Principal": {"Service": ["glue.amazonaws.com", "sagemaker.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    },
]

TAG_VALUES = ["ml", "1234", "true", "a: b # c", "データ", ""]
TAG_KEYS = ["team", "cost-center", "aws-cost:note"]


@dataclass(frozen=True)
class PolicySpec:
    name: str
    document: int = 0
    path: str = "/"
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RoleSpec:
    name: str
    trust: int = 0
    policies: tuple[str, ...] = ()  # PolicySpec names or AWS managed ARNs
    inline: bool = False
    boundary: str | None = None
    path: str = "/"
    description: str | None = None
    max_session: int = 3600
    tags: dict[str, str] = field(default_factory=dict)
    owned: bool = False


@dataclass(frozen=True)
class GroupSpec:
    name: str
    policies: tuple[str, ...] = ()
    inline: bool = False
    path: str = "/"
    owned: bool = False  # carries the reconciler's guard (requireMFA: true)


@dataclass(frozen=True)
class UserSpec:
    name: str
    groups: tuple[str, ...] = ()
    console: bool = False
    access_key: bool = False
    own_policy: str | None = None  # None, "attached" or "inline": what a manifest cannot hold
    path: str = "/"
    tags: dict[str, str] = field(default_factory=dict)
    owned: bool = False


@dataclass(frozen=True)
class BucketSpec:
    name: str
    versioning: str | None = None  # None (never set), "Enabled", "Suspended"
    encryption: str | None = "SSE-S3"  # None, "SSE-S3", "SSE-KMS" (with a key)
    public_access_block: str | None = "full"  # None, "full", "partial"
    tls_only: bool = False  # the reconciler's TLS-only statement is in the bucket policy
    writers: tuple[str, ...] = ()  # "Role/x" / "User/y": the reconciler's writers statement
    extra: str | None = None  # None, "plain" (a valid Sid), "odd-sid" (a Sid S3 allows, manifests do not)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NotebookSpec:
    name: str
    role: str
    instance_type: str = "ml.t3.medium"
    root_access: str = "Enabled"
    direct_internet: str = "Enabled"
    kms: bool = False
    volume: int = 5
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    policies: tuple[PolicySpec, ...] = ()
    roles: tuple[RoleSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()
    buckets: tuple[BucketSpec, ...] = ()
    notebooks: tuple[NotebookSpec, ...] = ()
    service_linked_role: bool = False

    def refs(self) -> dict[str, bool]:
        """``Kind/name`` of every resource a user manages -> whether the reconciler already owns it."""
        out: dict[str, bool] = {}
        out.update({f"Policy/{p.name}": False for p in self.policies})
        out.update({f"Role/{r.name}": r.owned for r in self.roles})
        out.update({f"Group/{g.name}": g.owned for g in self.groups})
        out.update({f"User/{u.name}": u.owned for u in self.users})
        out.update({f"Bucket/{b.name}": False for b in self.buckets})
        out.update({f"NotebookInstance/{n.name}": False for n in self.notebooks})
        return out


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _arn(kind: str, name: str, path: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}{path}{name}"


def bucket_policy(bucket: BucketSpec, account: Account) -> dict[str, Any] | None:
    """The bucket policy as a user (or an earlier reconciler) wrote it."""
    arn = f"arn:aws:s3:::{bucket.name}"
    statements: list[dict[str, Any]] = []
    if bucket.tls_only:
        statements.append(
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
    if bucket.writers:
        arns = {f"Role/{r.name}": _arn("role", r.name, r.path) for r in account.roles}
        arns |= {f"User/{u.name}": _arn("user", u.name, u.path) for u in account.users}
        writers = sorted(arns[w] for w in bucket.writers)
        statements.append(
            {
                "Sid": "DenyObjectWritesExceptDeclaredWriters",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                    "s3:PutObjectAcl",
                    "s3:PutObjectVersionAcl",
                    "s3:PutObjectRetention",
                    "s3:PutObjectLegalHold",
                    "s3:BypassGovernanceRetention",
                    "s3:RestoreObject",
                ],
                "Resource": f"{arn}/*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": writers}},
            }
        )
    if bucket.extra:
        sid = "Deny-Bucket-Delete" if bucket.extra == "odd-sid" else "DenyBucketDelete"
        statements.append(
            {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": arn}
        )
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def _guard(group: GroupSpec) -> dict[str, Any]:
    desired = DesiredState(Settings("s", None, account_id=ACCOUNT), {})
    ctx = Context(ACCOUNT, REGION, "managed-by", "reconciler", desired)
    return group_guard_document(Group(group.name, None, path=group.path, require_mfa=True), ctx)


def build(account: Account) -> list[str]:
    """Create ``account`` in the emulator that boto3 points at; return the secrets it created."""
    iam, s3, sm = boto3.client("iam"), boto3.client("s3"), boto3.client("sagemaker")
    secrets: list[str] = []
    policy_arns = {p.name: _arn("policy", p.name, p.path) for p in account.policies}

    def ref(name: str) -> str:
        return name if name.startswith("arn:") else policy_arns[name]

    for p in account.policies:
        iam.create_policy(
            PolicyName=p.name,
            Path=p.path,
            PolicyDocument=json.dumps(DOCUMENTS[p.document]),
            Tags=_tags(p.tags),
            **({"Description": p.description} if p.description else {}),
        )
    for r in account.roles:
        extra: dict[str, Any] = {"Description": r.description} if r.description else {}
        if r.boundary:
            extra["PermissionsBoundary"] = ref(r.boundary)
        iam.create_role(
            RoleName=r.name,
            Path=r.path,
            AssumeRolePolicyDocument=json.dumps(TRUSTS[r.trust]),
            MaxSessionDuration=r.max_session,
            Tags=_tags({**r.tags, **(OWNERSHIP if r.owned else {})}),
            **extra,
        )
        for p in r.policies:
            iam.attach_role_policy(RoleName=r.name, PolicyArn=ref(p))
        if r.inline:
            iam.put_role_policy(RoleName=r.name, PolicyName="inline-logs", PolicyDocument=json.dumps(DOCUMENTS[1]))
    if account.service_linked_role:
        iam.create_service_linked_role(AWSServiceName="sagemaker.amazonaws.com")
    for g in account.groups:
        iam.create_group(GroupName=g.name, Path=g.path)
        if g.owned:
            iam.put_group_policy(
                GroupName=g.name, PolicyName="reconciler-group-guard", PolicyDocument=json.dumps(_guard(g))
            )
        for p in g.policies:
            iam.attach_group_policy(GroupName=g.name, PolicyArn=ref(p))
        if g.inline:
            iam.put_group_policy(GroupName=g.name, PolicyName="mfa", PolicyDocument=json.dumps(DOCUMENTS[2]))
    for u in account.users:
        iam.create_user(UserName=u.name, Path=u.path, Tags=_tags({**u.tags, **(OWNERSHIP if u.owned else {})}))
        for g_name in u.groups:
            iam.add_user_to_group(GroupName=g_name, UserName=u.name)
        if u.console:
            iam.create_login_profile(UserName=u.name, Password=PASSWORD, PasswordResetRequired=False)
            secrets.append(PASSWORD)
        if u.access_key:
            key = iam.create_access_key(UserName=u.name)["AccessKey"]
            secrets += [key["AccessKeyId"], key["SecretAccessKey"]]
        if u.own_policy == "attached":
            iam.attach_user_policy(UserName=u.name, PolicyArn=f"{AWS}ReadOnlyAccess")
        elif u.own_policy == "inline":
            iam.put_user_policy(UserName=u.name, PolicyName="direct", PolicyDocument=json.dumps(DOCUMENTS[1]))
    for b in account.buckets:
        s3.create_bucket(Bucket=b.name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if b.tags:
            s3.put_bucket_tagging(Bucket=b.name, Tagging={"TagSet": _tags(b.tags)})
        if b.versioning:
            s3.put_bucket_versioning(Bucket=b.name, VersioningConfiguration={"Status": b.versioning})
        if b.encryption:
            default = (
                {"SSEAlgorithm": "AES256"}
                if b.encryption == "SSE-S3"
                else {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/data"}
            )
            s3.put_bucket_encryption(
                Bucket=b.name,
                ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
            )  # type: ignore[typeddict-item]
        if b.public_access_block:
            s3.put_public_access_block(
                Bucket=b.name,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": b.public_access_block == "full",
                },
            )
        policy = bucket_policy(b, account)
        if policy:
            s3.put_bucket_policy(Bucket=b.name, Policy=json.dumps(policy))
    roles = {r.name: r for r in account.roles}
    for n in account.notebooks:
        args: dict[str, Any] = {
            "NotebookInstanceName": n.name,
            "InstanceType": n.instance_type,
            "RoleArn": _arn("role", n.role, roles[n.role].path),
            "RootAccess": n.root_access,
            "DirectInternetAccess": n.direct_internet,
            "VolumeSizeInGB": n.volume,
            "Tags": _tags(n.tags),
        }
        if n.direct_internet == "Disabled":
            args |= {"SubnetId": "subnet-0a1b2c3d", "SecurityGroupIds": ["sg-0a1b2c3d"]}
        if n.kms:
            args["KmsKeyId"] = "alias/notebooks"
        sm.create_notebook_instance(**args)
    return secrets


def not_representable(account: Account) -> dict[str, set[str]]:
    """The oracle: ``Kind/name`` -> the fields adopting it changes besides the ownership mark."""
    out: dict[str, set[str]] = {}
    for b in account.buckets:
        fields = set()
        if b.encryption is None:
            fields.add("encryption")
        if b.public_access_block != "full":
            fields.add("publicAccessBlock")
        if not b.tls_only or b.extra == "odd-sid":
            fields.add("policy")
        if fields:
            out[f"Bucket/{b.name}"] = fields
    for u in account.users:
        if u.own_policy == "attached":
            out[f"User/{u.name}"] = {"policies"}
        elif u.own_policy == "inline":
            out[f"User/{u.name}"] = {"inlinePolicies.direct"}
    return out


# ------------------------------------------------------------------------------ Hypothesis strategies

NAMES = {
    "Policy": ["data-read", "logs.write", "Admin_Access"],
    "Role": ["nb-role", "etl.role", "Deploy_Role"],
    "Group": ["Engineers", "data.admins"],
    "User": ["alice", "bob.smith", "carol@example.com"],
    "Bucket": ["raw-data-1", "results.bucket"],
    "NotebookInstance": ["nb-one", "nb-two"],
}
AWS_POLICIES = [f"{AWS}ReadOnlyAccess", f"{AWS}AmazonSageMakerFullAccess"]

tags = st.dictionaries(st.sampled_from(TAG_KEYS), st.sampled_from(TAG_VALUES), max_size=2)
paths = st.sampled_from(["/", "/team/ml/"])
descriptions = st.sampled_from([None, "Runs the notebook", "データ: read # raw"])


def _names(kind: str) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(NAMES[kind]), unique=True, max_size=len(NAMES[kind]))


@st.composite
def accounts(draw: st.DrawFn) -> Account:
    policies = tuple(
        PolicySpec(name, draw(st.integers(0, len(DOCUMENTS) - 1)), draw(paths), draw(descriptions), draw(tags))
        for name in draw(_names("Policy"))
    )
    attachable = [p.name for p in policies] + AWS_POLICIES
    refs = st.lists(st.sampled_from(attachable), unique=True, max_size=2)
    roles = tuple(
        RoleSpec(
            name,
            draw(st.integers(0, len(TRUSTS) - 1)),
            tuple(draw(refs)),
            draw(st.booleans()),
            draw(st.none() | st.sampled_from(attachable)),
            draw(paths),
            draw(descriptions),
            draw(st.sampled_from([3600, 7200])),
            draw(tags),
            draw(st.booleans()),
        )
        for name in draw(_names("Role"))
    )
    groups = tuple(
        GroupSpec(name, tuple(draw(refs)), draw(st.booleans()), draw(paths), draw(st.booleans()))
        for name in draw(_names("Group"))
    )
    group_names = st.lists(st.sampled_from([g.name for g in groups]), unique=True) if groups else st.just([])
    users = tuple(
        UserSpec(
            name,
            tuple(draw(group_names)),
            draw(st.booleans()),
            draw(st.booleans()),
            draw(st.sampled_from([None, None, "attached", "inline"])),
            draw(paths),
            draw(tags),
            draw(st.booleans()),
        )
        for name in draw(_names("User"))
    )
    principals = [f"Role/{r.name}" for r in roles] + [f"User/{u.name}" for u in users]
    writers = st.lists(st.sampled_from(principals), unique=True, max_size=2) if principals else st.just([])
    buckets = tuple(
        BucketSpec(
            name,
            draw(st.sampled_from([None, "Enabled", "Suspended"])),
            draw(st.sampled_from([None, "SSE-S3", "SSE-KMS"])),
            draw(st.sampled_from([None, "full", "partial"])),
            draw(st.booleans()),
            tuple(draw(writers)),
            draw(st.sampled_from([None, "plain", "odd-sid"])),
            draw(tags),
        )
        for name in draw(_names("Bucket"))
    )
    notebooks: tuple[NotebookSpec, ...] = ()
    if roles:
        notebooks = tuple(
            NotebookSpec(
                name,
                draw(st.sampled_from([r.name for r in roles])),
                draw(st.sampled_from(["ml.t3.medium", "ml.t2.medium"])),
                draw(st.sampled_from(["Enabled", "Disabled"])),
                draw(st.sampled_from(["Enabled", "Disabled"])),
                draw(st.booleans()),
                draw(st.sampled_from([5, 20])),
                draw(tags),
            )
            for name in draw(_names("NotebookInstance"))
        )
    return Account(policies, roles, groups, users, buckets, notebooks, draw(st.booleans()))
