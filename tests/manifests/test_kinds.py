"""Manifests, kind by kind and field by field: what loads, what is refused and exactly how it is reported.

Every manifest in these tables is written by ``manifest()``, which always lays out the header the same
way, so that a spec field's position is easy to read off the table:

    1 apiVersion: reconciler/v1
    2 kind: <Kind>
    3 metadata:
    4   name: <name>          <- the name's value is at 4:9
    5 spec:                  <- the spec key is at 5:1
    6   <first spec line>     <- spec keys are at column 3; a value at column len(key) + 5

Problems are compared as full strings (``file:line:col: Kind/name: field: message``), so a change of a
position or of a message wording shows up here.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ManifestError, ManifestProblem
from reconciler.kinds import load_directory
from reconciler.kinds.bucket import Bucket, BucketAccess, Encryption
from reconciler.kinds.group.guard import Group
from reconciler.kinds.notebook import NotebookInstance
from reconciler.kinds.policy import Policy
from reconciler.kinds.role import Role
from reconciler.kinds.user import User
from reconciler.manifests import DesiredState
from reconciler.manifests.model import OwnershipTag, PolicyException, Settings

REPO = Path(__file__).resolve().parents[2]

# The patterns as the messages print them.
ACCOUNT_RE = r"^\d{12}$"
REGION_RE = r"^[a-z]{2}(-[a-z]+)+-\d$"
IAM_NAME_RE = r"^[\w+=,.@-]+$"
IAM_PATH_RE = r"^/(?:[\x21-\x7E]*/)?$"
POLICY_REF_RE = r"^(arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\x21-\x7E]+|[\w+=,.@-]{1,128})$"
PRINCIPAL_REF_RE = r"^(Role|Group|User)/[\w+=,.@-]{1,128}$"
SERVICE_RE = r"^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$"
TAG_KEY_RE = r"^[\w .:/=+@-]+$"
BUCKET_RE = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
NOTEBOOK_RE = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
KINDS_TEXT = (
    "Settings, Account, Policy, Role, Group, User, KmsKey, Bucket, NotebookInstance, StudioDomain, StudioUserProfile"
)
QUOTE_HINT = "(quote it: YAML reads yes/no/on/off/true/false as booleans)"
NUMBER_HINT = "(quote it: YAML reads unquoted digits as a number)"
STATEMENT_ONE_OF = "a statement needs exactly one of Action or NotAction"
ROLE_ONE_OF = "give exactly one of trustedServices or assumeRolePolicy"

# Every problem line starts with ``file:line:col: ``.
PROBLEM_SHAPE = re.compile(r"^[^:\n]+:\d+:\d+: \S")

DEFAULT_NAMES = {
    "Settings": "env",
    "Policy": "p",
    "Role": "r",
    "Group": "g",
    "User": "u",
    "Bucket": "bkt",
    "NotebookInstance": "nb",
}


def manifest(kind: str, spec: str | None = None, *, name: str | None = None) -> str:
    """One manifest document; ``spec`` is YAML text placed (indented) under ``spec:`` from line 6."""
    head = f"apiVersion: reconciler/v1\nkind: {kind}\nmetadata:\n  name: {name or DEFAULT_NAMES[kind]}\nspec:"
    body = textwrap.dedent(spec or "").strip("\n")
    if not body:
        return head + " {}\n"
    return head + "\n" + textwrap.indent(body, "  ") + "\n"


SETTINGS = manifest("Settings", 'accountId: "123456789012"')

# Targets for references from the manifests under test (names no table case uses).
SUPPORT = "---\n".join(
    [
        manifest(
            "Policy",
            'document: {Statement: {Effect: Allow, Action: "s3:ListAllMyBuckets", Resource: "*"}}',
            name="base-policy",
        ),
        manifest("Role", "trustedServices: [sagemaker.amazonaws.com]", name="base-role"),
        manifest("Group", "", name="base-group"),
        manifest("User", "", name="base-user"),
    ]
)


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def load(root: Path, files: dict[str, str], *, settings: bool = True) -> DesiredState:
    """Write ``files`` (plus a valid Settings in its own file) under ``root`` and load them."""
    write(root, ({"settings.yaml": SETTINGS} if settings else {}) | files)
    return load_directory(root, display_root="m")


def problems(root: Path, files: dict[str, str], *, settings: bool = True) -> list[str]:
    """Like ``load`` but the manifests must be refused: the problem lines, in the order reported."""
    with pytest.raises(ManifestError) as caught:
        load(root, files, settings=settings)
    return checked_lines(caught.value)


def checked_lines(error: ManifestError) -> list[str]:
    lines = [str(p) for p in error.problems]
    assert lines, "a ManifestError without problems"
    for line in lines:
        assert PROBLEM_SHAPE.match(line), f"not file:line:col: ...: {line!r}"
    assert str(error) == "\n".join(lines)
    where = [(p.file, p.line, p.col) for p in error.problems]
    assert where == sorted(where), "problems are not in file:line:col order"
    return lines


def file_of(kind: str) -> str:
    return f"{kind.lower()}.yaml"


EXPIRES_PATTERN = json.loads((Path(__file__).parents[2] / "schemas/common.schema.json").read_text())["$defs"][
    "expiresAt"
]["pattern"]


def spec_case(kind: str, spec: str, *expected: str, name: str | None = None, id: str) -> Any:
    return pytest.param(kind, spec, name, list(expected), id=id)


def check_spec_case(tmp_path: Path, kind: str, spec: str, name: str | None, expected: list[str]) -> None:
    files = {file_of(kind): manifest(kind, spec, name=name)}
    if kind == "Settings":
        assert problems(tmp_path, files, settings=False) == expected
    else:
        assert problems(tmp_path, files | {"support.yaml": SUPPORT}) == expected


# --------------------------------------------------------------------------------------------------
# The shipped example
# --------------------------------------------------------------------------------------------------


def test_shipped_desired_state_loads() -> None:
    state = load_directory(REPO / "desired-state", display_root="desired-state")
    assert state.count() == 22
    assert {kind: len(state.of(kind)) for kind in state.resources} == {
        "Policy": 5,
        "Role": 2,
        "Group": 2,
        "User": 3,
        "KmsKey": 3,  # one per bucket, one for the Studio domain
        "Bucket": 2,
        "NotebookInstance": 2,
        "StudioDomain": 1,
        "StudioUserProfile": 2,
    }
    assert state.settings.account_id == "123456789012"
    assert state.settings.region == "ap-northeast-1"
    assert sorted(state.of("NotebookInstance")) == ["notebook-for-administrator", "notebook-for-engineer"]
    assert state.of("Role")["notebook-for-engineer-role"].policies == ("notebook-engineer-data", "notebook-logs")
    assert state.of("User")["alice"].groups == ("SageMakerAdministrator",)
    assert state.of("Bucket")["sagemaker-rawdata"].access.write == ("Role/notebook-for-administrator-role",)
    rawdata = state.of("Bucket")["sagemaker-rawdata"].source
    assert rawdata is not None
    assert rawdata.where("spec", "access", "write", 0) == "desired-state/buckets/buckets.yaml:17:9"
    # Unquoted or quoted, the policy language version stays the string IAM wants.
    assert all(p.document["Version"] == "2012-10-17" for p in state.of("Policy").values())


def test_shipped_desired_state_with_one_broken_reference(tmp_path: Path) -> None:
    """The shipped example, copied, with one notebook pointing at a role that does not exist."""
    for path in (REPO / "desired-state").rglob("*.yaml"):
        rel = path.relative_to(REPO / "desired-state")
        write(tmp_path, {str(rel): path.read_text(encoding="utf-8")})
    notebooks = tmp_path / "notebooks" / "notebooks.yaml"
    notebooks.write_text(notebooks.read_text().replace("role: notebook-for-engineer-role", "role: nobody"))
    with pytest.raises(ManifestError) as caught:
        load_directory(tmp_path, display_root="desired-state")
    assert checked_lines(caught.value) == [
        "desired-state/notebooks/notebooks.yaml:24:9: NotebookInstance/notebook-for-engineer: spec.role: "
        "no Role manifest named 'nobody'",
    ]


# --------------------------------------------------------------------------------------------------
# Valid manifests: every field, with the typed values it becomes
# --------------------------------------------------------------------------------------------------

VALID = [
    pytest.param(
        "Settings",
        """
        accountId: "000000000000"
        region: us-gov-west-1
        ownershipTag: {key: owner, value: ""}
        prune: no
        maxDeletes: 0
        notebookUpdates: restart
        exceptions:
          - rule: LP003
            resource: Role/notebook-for-administrator-role
            reason: the administrators' notebook writes raw data on purpose
            owner: ml-platform@example.com
            expiresAt: 2026-12-31
        defaultManagement: observe
        """,
        {
            "account_id": "000000000000",
            "region": "us-gov-west-1",
            "ownership_tag": OwnershipTag("owner", ""),
            "prune": False,
            "max_deletes": 0,
            "notebook_updates": "restart",
            "exceptions": (
                PolicyException(
                    "LP003",
                    "Role/notebook-for-administrator-role",
                    "the administrators' notebook writes raw data on purpose",
                    "ml-platform@example.com",
                    "2026-12-31",
                ),
            ),
            "default_management": "observe",
        },
        id="settings-every-field",
    ),
    pytest.param(
        "Policy",
        """
        description: "Read: the raw data"
        path: /ml/data/
        tags: {team: ml-platform, "cost center": "1234", "a:b/c=d+e@f.g": ""}
        document:
          Version: "2008-10-17"
          Id: read-raw
          Statement:
            - Sid: Read1
              Effect: Deny
              NotAction: [s3:PutObject, "s3:Delete*"]
              NotResource: arn:aws:s3:::sagemaker-rawdata/*
              Condition:
                Bool: {aws:SecureTransport: false}
                NumericLessThan: {s3:max-keys: 10}
                StringEquals: {aws:PrincipalTag/team: [a, b]}
                "Null": {aws:TokenIssueTime: true}
        """,
        {
            "description": "Read: the raw data",
            "path": "/ml/data/",
            "tags": {"team": "ml-platform", "cost center": "1234", "a:b/c=d+e@f.g": ""},
            "document": {
                "Version": "2008-10-17",
                "Id": "read-raw",
                "Statement": [
                    {
                        "Sid": "Read1",
                        "Effect": "Deny",
                        "NotAction": ["s3:PutObject", "s3:Delete*"],
                        "NotResource": "arn:aws:s3:::sagemaker-rawdata/*",
                        "Condition": {
                            "Bool": {"aws:SecureTransport": False},
                            "NumericLessThan": {"s3:max-keys": 10},
                            "StringEquals": {"aws:PrincipalTag/team": ["a", "b"]},
                            "Null": {"aws:TokenIssueTime": True},
                        },
                    }
                ],
            },
        },
        id="policy-every-field",
    ),
    pytest.param(
        "Policy",
        """
        document:
          Version: 2012-10-17
          Statement: {Effect: Allow, Action: "*", Resource: "*"}
        """,
        {"document": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}},
        id="policy-unquoted-version-statement-as-mapping",
    ),
    pytest.param(
        "Role",
        """
        description: ""
        trustedServices: [sagemaker.amazonaws.com, s3.amazonaws.com.cn]
        policies:
          - base-policy
          - arn:aws:iam::aws:policy/ReadOnlyAccess
          - arn:aws-cn:iam::123456789012:policy/team/Mine
        inlinePolicies:
          logs.write@v1:
            Statement:
              - {Effect: Allow, Action: logs:PutLogEvents, Resource: "*"}
        permissionsBoundary: arn:aws-us-gov:iam::aws:policy/PowerUserAccess
        maxSessionDuration: 43200
        path: /notebooks/
        tags: {team: ml}
        """,
        {
            "description": "",
            "trusted_services": ("sagemaker.amazonaws.com", "s3.amazonaws.com.cn"),
            "assume_role_policy": None,
            "policies": (
                "base-policy",
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "arn:aws-cn:iam::123456789012:policy/team/Mine",
            ),
            "inline_policies": {
                "logs.write@v1": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}],
                }
            },
            "permissions_boundary": "arn:aws-us-gov:iam::aws:policy/PowerUserAccess",
            "max_session_duration": 43200,
            "path": "/notebooks/",
            "tags": {"team": "ml"},
        },
        id="role-trusted-services-every-field",
    ),
    pytest.param(
        "Role",
        """
        assumeRolePolicy:
          Statement:
            - Effect: Allow
              Principal: {Service: [sagemaker.amazonaws.com], AWS: "arn:aws:iam::123456789012:root"}
              Action: sts:AssumeRole
              Condition: {StringEquals: {aws:SourceAccount: 123456789012}}
            - Effect: Allow
              Principal: {Federated: arn:aws:iam::123456789012:saml-provider/corp, CanonicalUser: abc}
              Action: [sts:AssumeRoleWithSAML]
            - Effect: Deny
              NotPrincipal: "*"
              Action: sts:TagSession
        permissionsBoundary: base-policy
        maxSessionDuration: 3600
        """,
        {
            "trusted_services": (),
            "permissions_boundary": "base-policy",
            "policies": (),
            "assume_role_policy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": ["sagemaker.amazonaws.com"], "AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": 123456789012}},
                    },
                    {
                        "Effect": "Allow",
                        "Principal": {
                            "Federated": "arn:aws:iam::123456789012:saml-provider/corp",
                            "CanonicalUser": "abc",
                        },
                        "Action": ["sts:AssumeRoleWithSAML"],
                    },
                    {"Effect": "Deny", "NotPrincipal": "*", "Action": "sts:TagSession"},
                ],
            },
        },
        id="role-assume-role-policy",
    ),
    pytest.param(
        "Group",
        """
        policies: [base-policy, arn:aws:iam::aws:policy/IAMUserChangePassword]
        inlinePolicies:
          deny-s3: {Statement: {Effect: Deny, Action: "s3:*", Resource: "*"}}
        requireMFA: off
        path: /people/
        """,
        {
            "policies": ("base-policy", "arn:aws:iam::aws:policy/IAMUserChangePassword"),
            "inline_policies": {
                "deny-s3": {"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}
            },
            "require_mfa": False,
            "path": "/people/",
        },
        id="group-every-field",
    ),
    pytest.param(
        "User",
        """
        groups: [base-group]
        path: /people/
        tags: {team: data-science, email: carol@example.com}
        consoleAccess: true
        """,
        {
            "groups": ("base-group",),
            "path": "/people/",
            "console_access": True,
            "tags": {"team": "data-science", "email": "carol@example.com"},
        },
        id="user-every-field",
    ),
    pytest.param(
        "Bucket",
        """
        region: eu-central-1
        versioning: false
        encryption: {type: SSE-KMS, kmsKeyId: alias/data}
        access:
          read: [Role/base-role, Group/base-group, User/base-user]
          write: [Role/base-role]
        policy:
          - Sid: DenyInsecure
            Effect: Deny
            Principal: "*"
            Action: "s3:*"
            Resource: ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]
            Condition: {Bool: {aws:SecureTransport: "false"}}
        deletionPolicy: Delete
        tags: {data-classification: raw}
        """,
        {
            "region": "eu-central-1",
            "versioning": False,
            "encryption": Encryption("SSE-KMS", "alias/data"),
            "access": BucketAccess(("Role/base-role", "Group/base-group", "User/base-user"), ("Role/base-role",)),
            "policy": (
                {
                    "Sid": "DenyInsecure",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ),
            "deletion_policy": "Delete",
            "tags": {"data-classification": "raw"},
        },
        id="bucket-every-field",
    ),
    pytest.param(
        "Bucket",
        "encryption: {kmsKeyId: alias/ignored}",
        {
            "encryption": Encryption("SSE-S3", "alias/ignored"),
        },
        id="bucket-encryption-type-defaults-even-with-a-key",
    ),
    pytest.param(
        "NotebookInstance",
        """
        instanceType: ml.p3.2xlarge
        role: base-role
        rootAccess: Enabled
        directInternetAccess: Enabled
        subnetId: subnet-0a1b2c3d
        securityGroupIds: [sg-0a1b, sg-ffff]
        kmsKeyId: arn:aws:kms:eu-west-1:123456789012:key/abc
        volumeSizeInGB: 16384
        lifecycleConfigName: on--start-1
        tags: {team: ml}
        """,
        {
            "instance_type": "ml.p3.2xlarge",
            "role": "base-role",
            "root_access": "Enabled",
            "direct_internet_access": "Enabled",
            "subnet_id": "subnet-0a1b2c3d",
            "security_group_ids": ("sg-0a1b", "sg-ffff"),
            "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/abc",
            "volume_size_in_gb": 16384,
            "lifecycle_config_name": "on--start-1",
            "tags": {"team": "ml"},
        },
        id="notebook-every-field",
    ),
]


def typed(root: Path, kind: str, spec: str) -> Any:
    """The typed model value of one manifest of ``kind`` (next to the SUPPORT targets of its references)."""
    files = {file_of(kind): manifest(kind, spec)}
    if kind == "Settings":
        return load(root, files, settings=False).settings
    resource = load(root, files | {"support.yaml": SUPPORT}).get(kind, DEFAULT_NAMES[kind])
    assert resource is not None
    return resource


@pytest.mark.parametrize(("kind", "spec", "expected"), VALID)
def test_valid_manifest(tmp_path: Path, kind: str, spec: str, expected: dict[str, Any]) -> None:
    resource = typed(tmp_path, kind, spec)
    assert {attr: getattr(resource, attr) for attr in expected} == expected


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        pytest.param("Policy", "a" * 128, id="policy-name-128"),
        pytest.param("Policy", "+=,.@_-", id="policy-name-punctuation"),
        pytest.param("Role", "r" * 64, id="role-name-64"),
        pytest.param("Group", "g" * 128, id="group-name-128"),
        pytest.param("User", "u" * 64, id="user-name-64"),
        pytest.param("User", "first.last@example.com", id="user-name-email"),
        pytest.param("Bucket", "abc", id="bucket-name-3"),
        pytest.param("Bucket", "b" * 63, id="bucket-name-63"),
        pytest.param("Bucket", "my.bucket-1", id="bucket-name-dots"),
        pytest.param("NotebookInstance", "n" * 63, id="notebook-name-63"),
        pytest.param("NotebookInstance", "a--b-1", id="notebook-name-hyphens"),
        pytest.param("Settings", "x" * 128, id="settings-name-128"),
    ],
)
def test_valid_names(tmp_path: Path, kind: str, name: str) -> None:
    specs = {
        "Policy": 'document: {Statement: {Effect: Allow, Action: "*"}}',
        "Role": "trustedServices: [sagemaker.amazonaws.com]",
        "NotebookInstance": "instanceType: ml.t3.medium\nrole: base-role",
        "Settings": 'accountId: "123456789012"',
    }
    files = {file_of(kind): manifest(kind, specs.get(kind, ""), name=name), "support.yaml": SUPPORT}
    state = load(tmp_path, files, settings=kind != "Settings")
    resource = state.settings if kind == "Settings" else state.get(kind, name)
    assert resource is not None
    assert resource.name == name


# --------------------------------------------------------------------------------------------------
# Defaults, asserted on the typed model
# --------------------------------------------------------------------------------------------------

DEFAULTS = [
    pytest.param(
        "Settings",
        'accountId: "123456789012"',
        {
            "region": None,
            "ownership_tag": OwnershipTag("managed-by", "reconciler"),
            "prune": True,
            "max_deletes": 10,
            "notebook_updates": "when-stopped",
            "exceptions": (),
        },
        id="settings",
    ),
    pytest.param(
        "Policy",
        "document: {Statement: {Effect: Allow, Action: '*'}}",
        {
            "description": None,
            "path": "/",
            "tags": {},
            "document": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*"}},
        },
        id="policy",
    ),
    pytest.param(
        "Role",
        "trustedServices: [sagemaker.amazonaws.com]",
        {
            "max_session_duration": 3600,
            "policies": (),
            "inline_policies": {},
            "permissions_boundary": None,
            "path": "/",
            "description": None,
            "tags": {},
            "assume_role_policy": None,
        },
        id="role",
    ),
    pytest.param("Group", "", {"require_mfa": True, "policies": (), "inline_policies": {}, "path": "/"}, id="group"),
    pytest.param("User", "", {"groups": (), "path": "/", "tags": {}, "console_access": False}, id="user"),
    pytest.param(
        "Bucket",
        "",
        {
            "versioning": True,
            "deletion_policy": "Retain",
            "encryption": Encryption("SSE-S3", None),
            "access": BucketAccess((), ()),
            "policy": (),
            "region": None,
            "tags": {},
        },
        id="bucket",
    ),
    pytest.param(
        "Bucket",
        "encryption: {}\naccess: {read: [Role/base-role]}",
        {
            "encryption": Encryption("SSE-S3", None),
            "access": BucketAccess(("Role/base-role",), ()),
        },
        id="bucket-empty-encryption-and-access",
    ),
    pytest.param(
        "NotebookInstance",
        "instanceType: ml.t3.medium\nrole: base-role",
        {
            "root_access": "Disabled",
            "direct_internet_access": "Disabled",
            "subnet_id": None,
            "security_group_ids": (),
            "kms_key_id": None,
            "volume_size_in_gb": 5,
            "lifecycle_config_name": None,
            "tags": {},
        },
        id="notebook",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "expected"), DEFAULTS)
def test_defaults(tmp_path: Path, kind: str, spec: str, expected: dict[str, Any]) -> None:
    resource = typed(tmp_path, kind, spec)
    assert {attr: getattr(resource, attr) for attr in expected} == expected


def test_defaults_give_the_model_types(tmp_path: Path) -> None:
    state = load(tmp_path, {"all.yaml": SUPPORT + "---\n" + manifest("Bucket")})
    assert isinstance(state.settings, Settings)
    assert isinstance(state.of("Policy")["base-policy"], Policy)
    assert isinstance(state.of("Role")["base-role"], Role)
    assert isinstance(state.of("Group")["base-group"], Group)
    assert isinstance(state.of("User")["base-user"], User)
    assert isinstance(state.of("Bucket")["bkt"], Bucket)
    assert state.count() == 5
    assert [r.ref for r in state] == [
        "Policy/base-policy",
        "Role/base-role",
        "Group/base-group",
        "User/base-user",
        "Bucket/bkt",
    ]


def test_defaults_are_not_shared_between_manifests(tmp_path: Path) -> None:
    state = load(
        tmp_path,
        {
            "b.yaml": manifest("Bucket", name="one") + "---\n" + manifest("Bucket", name="two"),
            "n.yaml": SUPPORT + "---\n" + manifest("NotebookInstance", "instanceType: ml.t3.medium\nrole: base-role"),
        },
    )
    one, two = state.of("Bucket")["one"], state.of("Bucket")["two"]
    assert one.encryption == two.encryption == Encryption()
    assert one.tags is not two.tags
    assert isinstance(state.of("NotebookInstance")["nb"], NotebookInstance)


# --------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------

S = "m/settings.yaml"
EXCEPTION_OK = """
    accountId: "123456789012"
    exceptions:
      - rule: {rule}
        resource: {resource}
        reason: {reason}
        owner: ml-platform
"""


def exception_spec(rule: str = "LP003", resource: str = "Role/x", reason: str = "ok", extra: str = "") -> str:
    text = EXCEPTION_OK.format(rule=rule, resource=resource, reason=reason)
    return text + (f"        {extra}\n" if extra else "")


SETTINGS_CASES = [
    spec_case(
        "Settings",
        "region: us-east-1",
        f"{S}:5:1: Settings/env: spec: missing required field 'accountId'",
        id="accountId-missing",
    ),
    spec_case(
        "Settings",
        'accountId: "12345678901"',
        f'{S}:6:14: Settings/env: spec.accountId: "12345678901" does not match the expected format {ACCOUNT_RE}',
        id="accountId-11-digits",
    ),
    spec_case(
        "Settings",
        'accountId: "1234567890123"',
        f'{S}:6:14: Settings/env: spec.accountId: "1234567890123" does not match the expected format {ACCOUNT_RE}',
        id="accountId-13-digits",
    ),
    spec_case(
        "Settings",
        "accountId: 12345678901a",
        f'{S}:6:14: Settings/env: spec.accountId: "12345678901a" does not match the expected format {ACCOUNT_RE}',
        id="accountId-letter",
    ),
    spec_case(
        "Settings",
        "accountId: 123456789012",
        f"{S}:6:14: Settings/env: spec.accountId: expected string, got number 123456789012 {NUMBER_HINT}",
        id="accountId-int",
    ),
    spec_case(
        "Settings",
        "accountId: yes",
        f"{S}:6:14: Settings/env: spec.accountId: expected string, got boolean true {QUOTE_HINT}",
        id="accountId-bool",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nregion: tokyo',
        f'{S}:7:11: Settings/env: spec.region: "tokyo" does not match the expected format {REGION_RE}',
        id="region-word",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nregion: AP-NORTHEAST-1',
        f'{S}:7:11: Settings/env: spec.region: "AP-NORTHEAST-1" does not match the expected format {REGION_RE}',
        id="region-uppercase",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nregion: us-east',
        f'{S}:7:11: Settings/env: spec.region: "us-east" does not match the expected format {REGION_RE}',
        id="region-no-number",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nregion: no',
        f"{S}:7:11: Settings/env: spec.region: expected string, got boolean false {QUOTE_HINT}",
        id="region-bool",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nownershipTag: managed-by',
        f'{S}:7:17: Settings/env: spec.ownershipTag: expected mapping, got string "managed-by"',
        id="ownershipTag-string",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nownershipTag: {key: a}',
        f"{S}:7:3: Settings/env: spec.ownershipTag: missing required field 'value'",
        id="ownershipTag-value-missing",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nownershipTag: {value: a}',
        f"{S}:7:3: Settings/env: spec.ownershipTag: missing required field 'key'",
        id="ownershipTag-key-missing",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nownershipTag: {key: "", value: x}',
        f"{S}:7:23: Settings/env: spec.ownershipTag.key: string must not be empty",
        id="ownershipTag-key-empty",
    ),
    spec_case(
        "Settings",
        f'accountId: "123456789012"\nownershipTag: {{key: {"k" * 129}, value: x}}',
        f'{S}:7:23: Settings/env: spec.ownershipTag.key: "{"k" * 56}... is too long: 129 characters, the limit is 128',
        id="ownershipTag-key-too-long",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nownershipTag: {key: a, value: 1}',
        f"{S}:7:33: Settings/env: spec.ownershipTag.value: expected string, got number 1 {NUMBER_HINT}",
        id="ownershipTag-value-int",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nownershipTag: {key: a, value: b, scope: all}',
        f"{S}:7:36: Settings/env: spec.ownershipTag.scope: unknown field 'scope'; allowed: key, value",
        id="ownershipTag-unknown-field",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nprune: "yes"',
        f'{S}:7:10: Settings/env: spec.prune: expected boolean, got string "yes"',
        id="prune-string",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nprune: 1',
        f"{S}:7:10: Settings/env: spec.prune: expected boolean, got number 1",
        id="prune-int",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nmaxDeletes: -1',
        f"{S}:7:15: Settings/env: spec.maxDeletes: -1 is less than the minimum of 0",
        id="maxDeletes-negative",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nmaxDeletes: "10"',
        f'{S}:7:15: Settings/env: spec.maxDeletes: expected integer, got string "10"',
        id="maxDeletes-string",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nmaxDeletes: 1.5',
        f"{S}:7:15: Settings/env: spec.maxDeletes: expected integer, got number 1.5",
        id="maxDeletes-float",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nnotebookUpdates: always',
        f'{S}:7:20: Settings/env: spec.notebookUpdates: "always" is not one of "when-stopped", "restart"',
        id="notebookUpdates-enum",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nnotebookUpdates: Restart',
        f'{S}:7:20: Settings/env: spec.notebookUpdates: "Restart" is not one of "when-stopped", "restart"',
        id="notebookUpdates-case",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nexceptions: {}',
        f"{S}:7:15: Settings/env: spec.exceptions: expected list, got mapping {{}}",
        id="exceptions-mapping",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nexceptions: [LP003]',
        f'{S}:7:16: Settings/env: spec.exceptions[0]: expected mapping, got string "LP003"',
        id="exceptions-item-string",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nexceptions:\n  - rule: LP003\n    resource: Role/x\n    owner: me',
        f"{S}:8:7: Settings/env: spec.exceptions[0]: missing required field 'reason'",
        id="exception-reason-missing",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nexceptions:\n  - resource: Role/x\n    reason: ok\n    owner: me',
        f"{S}:8:7: Settings/env: spec.exceptions[0]: missing required field 'rule'",
        id="exception-rule-missing",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nexceptions:\n  - rule: LP003\n    reason: ok\n    owner: me',
        f"{S}:8:7: Settings/env: spec.exceptions[0]: missing required field 'resource'",
        id="exception-resource-missing",
    ),
    spec_case(
        "Settings",
        exception_spec(rule="lp3"),
        f'{S}:8:13: Settings/env: spec.exceptions[0].rule: "lp3" does not match the expected format ^[A-Z]+[0-9]{{3}}$',
        id="exception-rule-pattern",
    ),
    spec_case(
        "Settings",
        exception_spec(resource="Role"),
        f'{S}:9:17: Settings/env: spec.exceptions[0].resource: "Role" does not match the expected format '
        r"^[A-Z][A-Za-z0-9]*/\S+$",
        id="exception-resource-no-name",
    ),
    spec_case(
        "Settings",
        exception_spec(resource="Bukcet/raw"),
        f"{S}:9:17: Settings/env: spec.exceptions[0].resource: unknown kind 'Bukcet'; expected one of Settings, "
        "Account, Policy, Role, Group, User, KmsKey, Bucket, NotebookInstance, StudioDomain, StudioUserProfile",
        id="exception-resource-unknown-kind",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"\nexceptions:\n  - rule: LP003\n    resource: Role/x\n    reason: ok',
        f"{S}:8:7: Settings/env: spec.exceptions[0]: missing required field 'owner'",
        id="exception-owner-missing",
    ),
    spec_case(
        "Settings",
        exception_spec(resource="Policy/legacy-*"),
        f"{S}:9:17: Settings/env: spec.exceptions[0].resource: an exception for a glob of resources "
        "(Policy/legacy-*) needs an expiresAt at most 90 days ahead (exact names need none)",
        id="exception-glob-without-expiry",
    ),
    spec_case(
        "Settings",
        exception_spec(extra="expiresAt: 2026-02-30"),
        f"{S}:12:18: Settings/env: spec.exceptions[0].expiresAt: '2026-02-30' is not an RFC 3339 date",
        id="exception-expiry-not-a-date",
    ),
    spec_case(
        "Settings",
        exception_spec(extra="expiresAt: next week"),
        f'{S}:12:18: Settings/env: spec.exceptions[0].expiresAt: "next week" does not match the expected format '
        + EXPIRES_PATTERN,
        id="exception-expiry-pattern",
    ),
    spec_case(
        "Settings",
        exception_spec(reason='""'),
        f"{S}:10:15: Settings/env: spec.exceptions[0].reason: string must not be empty",
        id="exception-reason-empty",
    ),
    spec_case(
        "Settings",
        exception_spec(extra="ticket: X-1"),
        f"{S}:12:7: Settings/env: spec.exceptions[0].ticket: unknown field 'ticket'; allowed: expiresAt, owner, "
        "reason, resource, rule",
        id="exception-unknown-field",
    ),
    spec_case(
        "Settings",
        'acountId: "123456789012"',
        f"{S}:5:1: Settings/env: spec: missing required field 'accountId'",
        f"{S}:6:3: Settings/env: spec.acountId: unknown field 'acountId'; did you mean 'accountId'?",
        id="spec-unknown-field-typo",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"',
        f"{S}:4:9: Settings/: metadata.name: string must not be empty",
        name='""',
        id="metadata-name-empty",
    ),
    spec_case(
        "Settings",
        'accountId: "123456789012"',
        f'{S}:4:9: Settings/{"x" * 129}: metadata.name: "{"x" * 56}... is too long: 129 characters, the limit is 128',
        name="x" * 129,
        id="metadata-name-too-long",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "name", "expected"), SETTINGS_CASES)
def test_invalid_settings(tmp_path: Path, kind: str, spec: str, name: str | None, expected: list[str]) -> None:
    check_spec_case(tmp_path, kind, spec, name, expected)


# --------------------------------------------------------------------------------------------------
# Policy, and the policy document, statement, principal and condition of common.schema.json
# --------------------------------------------------------------------------------------------------

P = "m/policy.yaml"
DOC = 'document: {Statement: {Effect: Allow, Action: "*"}}'


def policy_doc(doc: str) -> str:
    """A Policy spec whose document is ``doc``: document keys at line 7 column 5."""
    return "document:\n" + textwrap.indent(textwrap.dedent(doc).strip("\n"), "  ")


def statement(lines: str) -> str:
    """A Policy spec with one statement: its first key at 8:9, the next keys at column 9 below."""
    body = textwrap.dedent(lines).strip("\n").splitlines()
    return policy_doc("Statement:\n  - " + "\n    ".join(body))


POLICY_CASES = [
    spec_case(
        "Policy", "description: x", f"{P}:5:1: Policy/p: spec: missing required field 'document'", id="document-missing"
    ),
    spec_case("Policy", "", f"{P}:5:1: Policy/p: spec: missing required field 'document'", id="spec-empty"),
    spec_case(
        "Policy",
        'document: "Statement: []"',
        f'{P}:6:13: Policy/p: spec.document: expected mapping, got string "Statement: []"',
        id="document-string",
    ),
    spec_case(
        "Policy",
        "document: []",
        f"{P}:6:13: Policy/p: spec.document: expected mapping, got list []",
        id="document-list",
    ),
    spec_case(
        "Policy",
        f"description: yes\n{DOC}",
        f"{P}:6:16: Policy/p: spec.description: expected string, got boolean true {QUOTE_HINT}",
        id="description-bool",
    ),
    spec_case(
        "Policy",
        f"description: 5\n{DOC}",
        f"{P}:6:16: Policy/p: spec.description: expected string, got number 5 {NUMBER_HINT}",
        id="description-int",
    ),
    spec_case(
        "Policy",
        f"description: {'d' * 1001}\n{DOC}",
        f'{P}:6:16: Policy/p: spec.description: "{"d" * 56}... is too long: 1001 characters, the limit is 1000',
        id="description-too-long",
    ),
    spec_case(
        "Policy",
        f"path: ml/\n{DOC}",
        f'{P}:6:9: Policy/p: spec.path: "ml/" does not match the expected format {IAM_PATH_RE}',
        id="path-no-leading-slash",
    ),
    spec_case(
        "Policy",
        f"path: /ml\n{DOC}",
        f'{P}:6:9: Policy/p: spec.path: "/ml" does not match the expected format {IAM_PATH_RE}',
        id="path-no-trailing-slash",
    ),
    spec_case(
        "Policy",
        f'path: "/a b/"\n{DOC}',
        f'{P}:6:9: Policy/p: spec.path: "/a b/" does not match the expected format {IAM_PATH_RE}',
        id="path-space",
    ),
    spec_case(
        "Policy", f"path: [/]\n{DOC}", f'{P}:6:9: Policy/p: spec.path: expected string, got list ["/"]', id="path-list"
    ),
    spec_case(
        "Policy",
        f"tags: [team]\n{DOC}",
        f'{P}:6:9: Policy/p: spec.tags: expected mapping, got list ["team"]',
        id="tags-list",
    ),
    spec_case(
        "Policy",
        f"tags: {{team: 1}}\n{DOC}",
        f"{P}:6:16: Policy/p: spec.tags.team: expected string, got number 1 {NUMBER_HINT}",
        id="tags-value-int",
    ),
    spec_case(
        "Policy",
        f"tags: {{team: yes}}\n{DOC}",
        f"{P}:6:16: Policy/p: spec.tags.team: expected string, got boolean true {QUOTE_HINT}",
        id="tags-value-bool",
    ),
    spec_case(
        "Policy",
        f"tags: {{team: {'v' * 257}}}\n{DOC}",
        f'{P}:6:16: Policy/p: spec.tags.team: "{"v" * 56}... is too long: 257 characters, the limit is 256',
        id="tags-value-too-long",
    ),
    spec_case(
        "Policy",
        f'tags: {{"a!b": x}}\n{DOC}',
        f'{P}:6:10: Policy/p: spec.tags: key "a!b" does not match the expected format {TAG_KEY_RE}',
        id="tags-key-pattern",
    ),
    spec_case(
        "Policy",
        f"tags: {{{'k' * 129}: x}}\n{DOC}",
        f'{P}:6:10: Policy/p: spec.tags: key "{"k" * 56}... is too long: 129 characters, the limit is 128',
        id="tags-key-too-long",
    ),
    spec_case(
        "Policy",
        f"tags: {{{', '.join(f't{i}: v' for i in range(50))}}}\n{DOC}",
        f"{P}:6:9: Policy/p: spec.tags: mapping has 50 entries; the limit is 49",
        id="tags-50",
    ),
    spec_case(
        "Policy",
        'documents: {Statement: {Effect: Allow, Action: "*"}}',
        f"{P}:5:1: Policy/p: spec: missing required field 'document'",
        f"{P}:6:3: Policy/p: spec.documents: unknown field 'documents'; did you mean 'document'?",
        id="spec-unknown-field-typo",
    ),
    spec_case(
        "Policy",
        f"{DOC}\nversion: 1",
        f"{P}:7:3: Policy/p: spec.version: unknown field 'version'; "
        "allowed: deletionPolicy, description, document, path, tags",
        id="spec-unknown-field",
    ),
    spec_case(
        "Policy",
        DOC,
        f'{P}:4:9: Policy/a b: metadata.name: "a b" does not match the expected format {IAM_NAME_RE}',
        name='"a b"',
        id="metadata-name-space",
    ),
    spec_case(
        "Policy",
        DOC,
        f'{P}:4:9: Policy/{"p" * 129}: metadata.name: "{"p" * 56}... is too long: 129 characters, the limit is 128',
        name="p" * 129,
        id="metadata-name-too-long",
    ),
]

DOCUMENT_CASES = [
    spec_case(
        "Policy",
        'document: {Version: "2012-10-17"}',
        f"{P}:6:3: Policy/p: spec.document: missing required field 'Statement'",
        id="Statement-missing",
    ),
    spec_case(
        "Policy",
        "document: {}",
        f"{P}:6:3: Policy/p: spec.document: missing required field 'Statement'",
        id="document-empty",
    ),
    spec_case(
        "Policy",
        policy_doc("Statement: []"),
        f"{P}:7:16: Policy/p: spec.document.Statement: list must not be empty",
        id="Statement-empty",
    ),
    spec_case(
        "Policy",
        policy_doc('Statement: "x"'),
        f'{P}:7:16: Policy/p: spec.document.Statement: expected mapping or list, got string "x"',
        id="Statement-string",
    ),
    spec_case(
        "Policy",
        policy_doc('Version: 2012-10-18\nStatement: {Effect: Allow, Action: "*"}'),
        f'{P}:7:14: Policy/p: spec.document.Version: "2012-10-18" is not one of "2012-10-17", "2008-10-17"',
        id="Version-enum",
    ),
    spec_case(
        "Policy",
        policy_doc('Version: 2012\nStatement: {Effect: Allow, Action: "*"}'),
        f'{P}:7:14: Policy/p: spec.document.Version: 2012 is not one of "2012-10-17", "2008-10-17"',
        id="Version-int",
    ),
    spec_case(
        "Policy",
        policy_doc('Id: 5\nStatement: {Effect: Allow, Action: "*"}'),
        f"{P}:7:9: Policy/p: spec.document.Id: expected string, got number 5 {NUMBER_HINT}",
        id="Id-int",
    ),
    spec_case(
        "Policy",
        policy_doc('Statements: {Effect: Allow, Action: "*"}'),
        f"{P}:6:3: Policy/p: spec.document: missing required field 'Statement'",
        f"{P}:7:5: Policy/p: spec.document.Statements: unknown field 'Statements'; did you mean 'Statement'?",
        id="document-unknown-field-typo",
    ),
    spec_case(
        "Policy",
        policy_doc('Statement: {Effect: Allow, Action: "*"}\nversion: "2012-10-17"'),
        f"{P}:8:5: Policy/p: spec.document.version: unknown field 'version'; did you mean 'Version'?",
        id="document-unknown-field-case",
    ),
]

STATEMENT_CASES = [
    spec_case(
        "Policy",
        statement("Effect: allow\nAction: s3:GetObject"),
        f'{P}:8:17: Policy/p: spec.document.Statement[0].Effect: "allow" is not one of "Allow", "Deny"',
        id="Effect-lowercase",
    ),
    spec_case(
        "Policy",
        statement("Effect: yes\nAction: s3:GetObject"),
        f'{P}:8:17: Policy/p: spec.document.Statement[0].Effect: true is not one of "Allow", "Deny" {QUOTE_HINT}',
        id="Effect-bool",
    ),
    spec_case(
        "Policy",
        statement("Action: s3:GetObject"),
        f"{P}:8:9: Policy/p: spec.document.Statement[0]: missing required field 'Effect'",
        id="Effect-missing",
    ),
    spec_case(
        "Policy",
        statement('Effect: Allow\nResource: "*"'),
        f"{P}:8:9: Policy/p: spec.document.Statement[0]: {STATEMENT_ONE_OF}",
        id="neither-Action-nor-NotAction",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nNotAction: s3:PutObject"),
        f"{P}:8:9: Policy/p: spec.document.Statement[0]: {STATEMENT_ONE_OF}",
        id="both-Action-and-NotAction",
    ),
    spec_case(
        "Policy",
        statement('Effect: Allow\nAction: s3:GetObject\nResource: "*"\nNotResource: "*"'),
        f"{P}:8:9: Policy/p: spec.document.Statement[0]: Resource and NotResource cannot be used together",
        id="both-Resource-and-NotResource",
    ),
    spec_case(
        "Policy",
        policy_doc("Statement: {Effect: Allow}"),
        f"{P}:7:16: Policy/p: spec.document.Statement: {STATEMENT_ONE_OF}",
        id="mapping-form-no-Action",
    ),
    spec_case(
        "Policy",
        policy_doc('Statement: {Effect: deny, Action: "*"}'),
        f'{P}:7:25: Policy/p: spec.document.Statement.Effect: "deny" is not one of "Allow", "Deny"',
        id="mapping-form-Effect-lowercase",
    ),
    spec_case(
        "Policy",
        policy_doc('Statement: {Effect: Allow, Action: "*", Actions: "*"}'),
        f"{P}:7:45: Policy/p: spec.document.Statement.Actions: unknown field 'Actions'; did you mean 'Action'?",
        id="mapping-form-unknown-field",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: []"),
        f"{P}:9:17: Policy/p: spec.document.Statement[0].Action: list must not be empty",
        id="Action-empty-list",
    ),
    spec_case(
        "Policy",
        statement('Effect: Allow\nAction: ""'),
        f"{P}:9:17: Policy/p: spec.document.Statement[0].Action: string must not be empty",
        id="Action-empty-string",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: 5"),
        f"{P}:9:17: Policy/p: spec.document.Statement[0].Action: expected string or list, got number 5 {NUMBER_HINT}",
        id="Action-int",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: [5]"),
        f"{P}:9:18: Policy/p: spec.document.Statement[0].Action[0]: expected string, got number 5 {NUMBER_HINT}",
        id="Action-item-int",
    ),
    spec_case(
        "Policy",
        statement('Effect: Allow\nAction: ["s3:GetObject", ""]'),
        f"{P}:9:34: Policy/p: spec.document.Statement[0].Action[1]: string must not be empty",
        id="Action-item-empty",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nNotAction: {}"),
        f"{P}:9:20: Policy/p: spec.document.Statement[0].NotAction: expected string or list, got mapping {{}}",
        id="NotAction-mapping",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nResource: yes"),
        f"{P}:10:19: Policy/p: spec.document.Statement[0].Resource: expected string or list, "
        f"got boolean true {QUOTE_HINT}",
        id="Resource-bool",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nNotResource: []"),
        f"{P}:10:22: Policy/p: spec.document.Statement[0].NotResource: list must not be empty",
        id="NotResource-empty",
    ),
    spec_case(
        "Policy",
        statement("Sid: a-b\nEffect: Allow\nAction: s3:GetObject"),
        f'{P}:8:14: Policy/p: spec.document.Statement[0].Sid: "a-b" does not match the expected format ^[A-Za-z0-9]*$',
        id="Sid-pattern",
    ),
    spec_case(
        "Policy",
        statement("Sid: 5\nEffect: Allow\nAction: s3:GetObject"),
        f"{P}:8:14: Policy/p: spec.document.Statement[0].Sid: expected string, got number 5 {NUMBER_HINT}",
        id="Sid-int",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nActions: s3:PutObject"),
        f"{P}:10:9: Policy/p: spec.document.Statement[0].Actions: unknown field 'Actions'; did you mean 'Action'?",
        id="unknown-field-typo",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nCondtion: {}"),
        f"{P}:10:9: Policy/p: spec.document.Statement[0].Condtion: unknown field 'Condtion'; did you mean 'Condition'?",
        id="unknown-field-Condtion",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nPrincipal: all"),
        f'{P}:10:20: Policy/p: spec.document.Statement[0].Principal: "all" does not match the expected '
        r"format ^\*$",
        id="Principal-not-star",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nPrincipal: [x]"),
        f'{P}:10:20: Policy/p: spec.document.Statement[0].Principal: expected string or mapping, got list ["x"]',
        id="Principal-list",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nPrincipal: {}"),
        f"{P}:10:20: Policy/p: spec.document.Statement[0].Principal: mapping must not be empty",
        id="Principal-empty",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nPrincipal: {Foo: x}"),
        f"{P}:10:21: Policy/p: spec.document.Statement[0].Principal.Foo: unknown field 'Foo'; "
        "allowed: AWS, CanonicalUser, Federated, Service",
        id="Principal-unknown-type",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nPrincipal: {aws: x}"),
        f"{P}:10:21: Policy/p: spec.document.Statement[0].Principal.aws: unknown field 'aws'; "
        "allowed: AWS, CanonicalUser, Federated, Service",
        id="Principal-lowercase-type",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nPrincipal: {AWS: []}"),
        f"{P}:10:26: Policy/p: spec.document.Statement[0].Principal.AWS: list must not be empty",
        id="Principal-AWS-empty",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nPrincipal: {Service: 5}"),
        f"{P}:10:30: Policy/p: spec.document.Statement[0].Principal.Service: expected string or list, "
        f"got number 5 {NUMBER_HINT}",
        id="Principal-Service-int",
    ),
    spec_case(
        "Policy",
        statement('Effect: Allow\nAction: s3:GetObject\nPrincipal: {Federated: [""]}'),
        f"{P}:10:33: Policy/p: spec.document.Statement[0].Principal.Federated[0]: string must not be empty",
        id="Principal-Federated-item-empty",
    ),
    spec_case(
        "Policy",
        statement('Effect: Allow\nAction: s3:GetObject\nPrincipal: {CanonicalUser: ""}'),
        f"{P}:10:36: Policy/p: spec.document.Statement[0].Principal.CanonicalUser: string must not be empty",
        id="Principal-CanonicalUser-empty",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nNotPrincipal: all"),
        f'{P}:10:23: Policy/p: spec.document.Statement[0].NotPrincipal: "all" does not match the expected '
        r"format ^\*$",
        id="NotPrincipal-not-star",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nNotPrincipal: {AWS: 1}"),
        f"{P}:10:29: Policy/p: spec.document.Statement[0].NotPrincipal.AWS: expected string or list, "
        f"got number 1 {NUMBER_HINT}",
        id="NotPrincipal-AWS-int",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nCondition: x"),
        f'{P}:10:20: Policy/p: spec.document.Statement[0].Condition: expected mapping, got string "x"',
        id="Condition-string",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nCondition: {StringEquals: x}"),
        f'{P}:10:35: Policy/p: spec.document.Statement[0].Condition.StringEquals: expected mapping, got string "x"',
        id="Condition-operator-string",
    ),
    spec_case(
        "Policy",
        statement("Effect: Allow\nAction: s3:GetObject\nCondition: {StringEquals: {}}"),
        f"{P}:10:35: Policy/p: spec.document.Statement[0].Condition.StringEquals: mapping must not be empty",
        id="Condition-operator-empty",
    ),
    spec_case(
        "Policy",
        statement("""
              Effect: Allow
              Action: s3:GetObject
              Condition:
                StringEquals:
                  aws:SourceAccount: []
              """),
        f"{P}:12:32: Policy/p: spec.document.Statement[0].Condition.StringEquals.aws:SourceAccount: "
        "list must not be empty",
        id="Condition-value-empty-list",
    ),
    spec_case(
        "Policy",
        statement("""
              Effect: Allow
              Action: s3:GetObject
              Condition:
                StringEquals:
                  aws:SourceAccount: {}
              """),
        f"{P}:12:32: Policy/p: spec.document.Statement[0].Condition.StringEquals.aws:SourceAccount: "
        "expected string or boolean or number or list, got mapping {}",
        id="Condition-value-mapping",
    ),
    spec_case(
        "Policy",
        statement("""
              Effect: Allow
              Action: s3:GetObject
              Condition:
                StringEquals:
                  aws:SourceAccount: [a, [b]]
              """),
        f"{P}:12:36: Policy/p: spec.document.Statement[0].Condition.StringEquals.aws:SourceAccount[1]: "
        'expected string or boolean or number, got list ["b"]',
        id="Condition-value-nested-list",
    ),
    spec_case(
        "Policy",
        statement("""
              Effect: Allow
              Action: s3:GetObject
              Condition:
                StringEquals:
                  aws:SourceAccount: ~
              """),
        f"{P}:12:32: Policy/p: spec.document.Statement[0].Condition.StringEquals.aws:SourceAccount: "
        "expected string or boolean or number or list, got null",
        id="Condition-value-null",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "name", "expected"), POLICY_CASES + DOCUMENT_CASES + STATEMENT_CASES)
def test_invalid_policy(tmp_path: Path, kind: str, spec: str, name: str | None, expected: list[str]) -> None:
    check_spec_case(tmp_path, kind, spec, name, expected)


# --------------------------------------------------------------------------------------------------
# Role
# --------------------------------------------------------------------------------------------------

R = "m/role.yaml"
TRUST = "trustedServices: [sagemaker.amazonaws.com]"


def role(extra: str) -> str:
    """A Role spec with trustedServices on line 6 and ``extra`` from line 7."""
    return TRUST + "\n" + textwrap.dedent(extra).strip("\n")


ROLE_CASES = [
    spec_case("Role", "description: x", f"{R}:6:3: Role/r: spec: {ROLE_ONE_OF}", id="neither-trust-form"),
    spec_case("Role", "", f"{R}:5:7: Role/r: spec: {ROLE_ONE_OF}", id="spec-empty"),
    spec_case(
        "Role",
        role("assumeRolePolicy: {Statement: {Effect: Allow, Action: sts:AssumeRole}}"),
        f"{R}:6:3: Role/r: spec: {ROLE_ONE_OF}",
        id="both-trust-forms",
    ),
    spec_case(
        "Role",
        "trustedServices: sagemaker.amazonaws.com",
        f'{R}:6:20: Role/r: spec.trustedServices: expected list, got string "sagemaker.amazonaws.com"',
        id="trustedServices-string",
    ),
    spec_case(
        "Role",
        "trustedServices: []",
        f"{R}:6:20: Role/r: spec.trustedServices: list must not be empty",
        id="trustedServices-empty",
    ),
    spec_case(
        "Role",
        "trustedServices: [sagemaker.amazonaws.com, sagemaker.amazonaws.com]",
        f'{R}:6:20: Role/r: spec.trustedServices: list has duplicate items: "sagemaker.amazonaws.com" at [0] and [1]',
        id="trustedServices-duplicate",
    ),
    spec_case(
        "Role",
        "trustedServices: [sagemaker]",
        f'{R}:6:21: Role/r: spec.trustedServices[0]: "sagemaker" does not match the expected format {SERVICE_RE}',
        id="trustedServices-short-name",
    ),
    spec_case(
        "Role",
        "trustedServices: [S3.amazonaws.com]",
        f'{R}:6:21: Role/r: spec.trustedServices[0]: "S3.amazonaws.com" does not match the expected format '
        f"{SERVICE_RE}",
        id="trustedServices-uppercase",
    ),
    spec_case(
        "Role",
        "trustedServices: [5]",
        f"{R}:6:21: Role/r: spec.trustedServices[0]: expected string, got number 5 {NUMBER_HINT}",
        id="trustedServices-int",
    ),
    spec_case(
        "Role",
        "assumeRolePolicy: x",
        f'{R}:6:21: Role/r: spec.assumeRolePolicy: expected mapping, got string "x"',
        id="assumeRolePolicy-string",
    ),
    spec_case(
        "Role",
        "assumeRolePolicy: {}",
        f"{R}:6:3: Role/r: spec.assumeRolePolicy: missing required field 'Statement'",
        id="assumeRolePolicy-empty",
    ),
    spec_case(
        "Role",
        """
              assumeRolePolicy:
                Statement:
                  - Effect: Permit
                    Principal: {Service: sagemaker.amazonaws.com}
                    Action: sts:AssumeRole
              """,
        f'{R}:8:17: Role/r: spec.assumeRolePolicy.Statement[0].Effect: "Permit" is not one of "Allow", "Deny"',
        id="assumeRolePolicy-Effect",
    ),
    spec_case(
        "Role",
        """
              assumeRolePolicy:
                Statement:
                  - Effect: Allow
                    Principal: sagemaker.amazonaws.com
                    Action: sts:AssumeRole
              """,
        f'{R}:9:20: Role/r: spec.assumeRolePolicy.Statement[0].Principal: "sagemaker.amazonaws.com" '
        r"does not match the expected format ^\*$",
        id="assumeRolePolicy-Principal-string",
    ),
    spec_case(
        "Role",
        role("policies: p"),
        f'{R}:7:13: Role/r: spec.policies: expected list, got string "p"',
        id="policies-string",
    ),
    spec_case(
        "Role",
        role("policies: [p, p]"),
        f'{R}:7:13: Role/r: spec.policies: list has duplicate items: "p" at [0] and [1]',
        id="policies-duplicate",
    ),
    spec_case(
        "Role",
        role("policies: [5]"),
        f"{R}:7:14: Role/r: spec.policies[0]: expected string or mapping, got number 5 {NUMBER_HINT}",
        id="policies-int",
    ),
    spec_case(
        "Role",
        role("policies:\n  - arn:aws:iam::aws:role/ReadOnlyAccess"),
        f'{R}:8:7: Role/r: spec.policies[0]: "arn:aws:iam::aws:role/ReadOnlyAccess" does not match the '
        f"expected format {POLICY_REF_RE}",
        id="policies-role-arn",
    ),
    spec_case(
        "Role",
        role("policies:\n  - arn:aws:iam::12345678901:policy/x"),
        f'{R}:8:7: Role/r: spec.policies[0]: "arn:aws:iam::12345678901:policy/x" does not match the '
        f"expected format {POLICY_REF_RE}",
        id="policies-arn-11-digit-account",
    ),
    spec_case(
        "Role",
        role("policies:\n  - arn:azure:iam::aws:policy/x"),
        f'{R}:8:7: Role/r: spec.policies[0]: "arn:azure:iam::aws:policy/x" does not match the '
        f"expected format {POLICY_REF_RE}",
        id="policies-arn-bad-partition",
    ),
    spec_case(
        "Role",
        role("policies:\n  - arn:aws:iam::aws:policy/"),
        f'{R}:8:7: Role/r: spec.policies[0]: "arn:aws:iam::aws:policy/" does not match the '
        f"expected format {POLICY_REF_RE}",
        id="policies-arn-no-name",
    ),
    spec_case(
        "Role",
        role("policies:\n  - bad name"),
        f'{R}:8:7: Role/r: spec.policies[0]: "bad name" does not match the expected format {POLICY_REF_RE}',
        id="policies-name-space",
    ),
    spec_case(
        "Role",
        role(f"policies:\n  - {'p' * 129}"),
        f'{R}:8:7: Role/r: spec.policies[0]: "{"p" * 56}... does not match the expected format {POLICY_REF_RE}',
        id="policies-name-too-long",
    ),
    spec_case(
        "Role",
        role(f"policies: [{', '.join(f'p{i}' for i in range(21))}]"),
        f"{R}:7:13: Role/r: spec.policies: list has 21 items; the limit is 20",
        id="policies-21",
    ),
    spec_case(
        "Role",
        role("inlinePolicies: []"),
        f"{R}:7:19: Role/r: spec.inlinePolicies: expected mapping, got list []",
        id="inlinePolicies-list",
    ),
    spec_case(
        "Role",
        role('inlinePolicies: {"bad name": {Statement: {Effect: Allow, Action: "*"}}}'),
        f'{R}:7:20: Role/r: spec.inlinePolicies: key "bad name" does not match the expected format {IAM_NAME_RE}',
        id="inlinePolicies-name-pattern",
    ),
    spec_case(
        "Role",
        role(f'inlinePolicies: {{{"i" * 129}: {{Statement: {{Effect: Allow, Action: "*"}}}}}}'),
        f'{R}:7:20: Role/r: spec.inlinePolicies: key "{"i" * 56}... is too long: 129 characters, the limit is 128',
        id="inlinePolicies-name-too-long",
    ),
    spec_case(
        "Role",
        role("inlinePolicies:\n  logs: allow-all"),
        f'{R}:8:11: Role/r: spec.inlinePolicies.logs: expected mapping, got string "allow-all"',
        id="inlinePolicies-document-string",
    ),
    spec_case(
        "Role",
        role("inlinePolicies:\n  logs:\n    Statement: {Effect: Allow}"),
        f"{R}:9:18: Role/r: spec.inlinePolicies.logs.Statement: {STATEMENT_ONE_OF}",
        id="inlinePolicies-statement-no-Action",
    ),
    spec_case(
        "Role",
        role("permissionsBoundary: arn:aws:iam::aws:policy"),
        f'{R}:7:24: Role/r: spec.permissionsBoundary: "arn:aws:iam::aws:policy" does not match the expected '
        f"format {POLICY_REF_RE}",
        id="permissionsBoundary-arn-no-name",
    ),
    spec_case(
        "Role",
        role("permissionsBoundary: [b]"),
        f'{R}:7:24: Role/r: spec.permissionsBoundary: expected string, got list ["b"]',
        id="permissionsBoundary-list",
    ),
    spec_case(
        "Role",
        role("maxSessionDuration: 3599"),
        f"{R}:7:23: Role/r: spec.maxSessionDuration: 3599 is less than the minimum of 3600",
        id="maxSessionDuration-too-short",
    ),
    spec_case(
        "Role",
        role("maxSessionDuration: 43201"),
        f"{R}:7:23: Role/r: spec.maxSessionDuration: 43201 is greater than the maximum of 43200",
        id="maxSessionDuration-too-long",
    ),
    spec_case(
        "Role",
        role('maxSessionDuration: "3600"'),
        f'{R}:7:23: Role/r: spec.maxSessionDuration: expected integer, got string "3600"',
        id="maxSessionDuration-string",
    ),
    spec_case(
        "Role",
        role("maxSessionDuration: true"),
        f"{R}:7:23: Role/r: spec.maxSessionDuration: expected integer, got boolean true",
        id="maxSessionDuration-bool",
    ),
    spec_case(
        "Role",
        role("path: notebooks"),
        f'{R}:7:9: Role/r: spec.path: "notebooks" does not match the expected format {IAM_PATH_RE}',
        id="path-pattern",
    ),
    spec_case(
        "Role",
        role("description: yes"),
        f"{R}:7:16: Role/r: spec.description: expected string, got boolean true {QUOTE_HINT}",
        id="description-bool",
    ),
    spec_case(
        "Role",
        role(f"description: {'d' * 1001}"),
        f'{R}:7:16: Role/r: spec.description: "{"d" * 56}... is too long: 1001 characters, the limit is 1000',
        id="description-too-long",
    ),
    spec_case(
        "Role",
        role("tags: {team: [a]}"),
        f'{R}:7:16: Role/r: spec.tags.team: expected string, got list ["a"]',
        id="tags-value-list",
    ),
    spec_case(
        "Role",
        role("polices: []"),
        f"{R}:7:3: Role/r: spec.polices: unknown field 'polices'; did you mean 'policies'?",
        id="unknown-field-typo",
    ),
    spec_case(
        "Role",
        role("managedPolicyArns: []"),
        f"{R}:7:3: Role/r: spec.managedPolicyArns: unknown field 'managedPolicyArns'; allowed: "
        "assumeRolePolicy, deletionPolicy, description, inlinePolicies, maxSessionDuration, path, "
        "permissionsBoundary, policies, tags, trustedServices",
        id="unknown-field",
    ),
    spec_case(
        "Role",
        TRUST,
        f'{R}:4:9: Role/{"r" * 65}: metadata.name: "{"r" * 56}... is too long: 65 characters, the limit is 64',
        name="r" * 65,
        id="metadata-name-too-long",
    ),
    spec_case(
        "Role",
        TRUST,
        f'{R}:4:9: Role/a/b: metadata.name: "a/b" does not match the expected format {IAM_NAME_RE}',
        name="a/b",
        id="metadata-name-slash",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "name", "expected"), ROLE_CASES)
def test_invalid_role(tmp_path: Path, kind: str, spec: str, name: str | None, expected: list[str]) -> None:
    check_spec_case(tmp_path, kind, spec, name, expected)


# --------------------------------------------------------------------------------------------------
# Group and User
# --------------------------------------------------------------------------------------------------

G = "m/group.yaml"
U = "m/user.yaml"

GROUP_CASES = [
    spec_case(
        "Group",
        "path: /reconciler-pending/",
        f"{G}:6:9: Group/g: spec.path: the path /reconciler-pending/ is reserved: the reconciler marks the "
        "groups it is creating or deleting with it",
        id="path-reserved",
    ),
    spec_case(
        "Group",
        'requireMFA: "true"',
        f'{G}:6:15: Group/g: spec.requireMFA: expected boolean, got string "true"',
        id="requireMFA-string",
    ),
    spec_case(
        "Group",
        "requireMFA: 1",
        f"{G}:6:15: Group/g: spec.requireMFA: expected boolean, got number 1",
        id="requireMFA-int",
    ),
    spec_case(
        "Group",
        "policies: base-policy",
        f'{G}:6:13: Group/g: spec.policies: expected list, got string "base-policy"',
        id="policies-string",
    ),
    spec_case(
        "Group",
        "policies: [a, a]",
        f'{G}:6:13: Group/g: spec.policies: list has duplicate items: "a" at [0] and [1]',
        id="policies-duplicate",
    ),
    spec_case(
        "Group",
        'policies: ["arn:aws:iam::aws:user/x"]',
        f'{G}:6:14: Group/g: spec.policies[0]: "arn:aws:iam::aws:user/x" does not match the expected format '
        f"{POLICY_REF_RE}",
        id="policies-user-arn",
    ),
    spec_case(
        "Group",
        "inlinePolicies: x",
        f'{G}:6:19: Group/g: spec.inlinePolicies: expected mapping, got string "x"',
        id="inlinePolicies-string",
    ),
    spec_case(
        "Group",
        """
              inlinePolicies:
                mfa:
                  Statement: {Effect: Allow, Action: "*"}
                  Versoin: "2012-10-17"
              """,
        f"{G}:9:7: Group/g: spec.inlinePolicies.mfa.Versoin: unknown field 'Versoin'; did you mean 'Version'?",
        id="inlinePolicies-document-typo",
    ),
    spec_case(
        "Group",
        "path: /ml",
        f'{G}:6:9: Group/g: spec.path: "/ml" does not match the expected format {IAM_PATH_RE}',
        id="path",
    ),
    spec_case(
        "Group",
        "requireMfa: true",
        f"{G}:6:3: Group/g: spec.requireMfa: unknown field 'requireMfa'; did you mean 'requireMFA'?",
        id="unknown-field-typo",
    ),
    spec_case(
        "Group",
        "users: [alice]",
        f"{G}:6:3: Group/g: spec.users: unknown field 'users'; "
        "allowed: deletionPolicy, inlinePolicies, path, policies, requireMFA",
        id="unknown-field",
    ),
    spec_case(
        "Group",
        "",
        f'{G}:4:9: Group/a b: metadata.name: "a b" does not match the expected format {IAM_NAME_RE}',
        name='"a b"',
        id="metadata-name-space",
    ),
    spec_case(
        "Group",
        "",
        f'{G}:4:9: Group/{"g" * 129}: metadata.name: "{"g" * 56}... is too long: 129 characters, the limit is 128',
        name="g" * 129,
        id="metadata-name-too-long",
    ),
]

USER_CASES = [
    spec_case(
        "User",
        "groups: SageMakerEngineer",
        f'{U}:6:11: User/u: spec.groups: expected list, got string "SageMakerEngineer"',
        id="groups-string",
    ),
    spec_case(
        "User",
        "groups: [a, a]",
        f'{U}:6:11: User/u: spec.groups: list has duplicate items: "a" at [0] and [1]',
        id="groups-duplicate",
    ),
    spec_case(
        "User",
        'groups: ["b c"]',
        f'{U}:6:12: User/u: spec.groups[0]: "b c" does not match the expected format {IAM_NAME_RE}',
        id="groups-item-pattern",
    ),
    spec_case(
        "User",
        "groups: [Group/a]",
        f'{U}:6:12: User/u: spec.groups[0]: "Group/a" does not match the expected format {IAM_NAME_RE}',
        id="groups-item-kind-prefix",
    ),
    spec_case(
        "User",
        "groups: [5]",
        f"{U}:6:12: User/u: spec.groups[0]: expected string or mapping, got number 5 {NUMBER_HINT}",
        id="groups-item-int",
    ),
    spec_case(
        "User",
        f"groups: [{', '.join(f'g{i}' for i in range(11))}]",
        f"{U}:6:11: User/u: spec.groups: list has 11 items; the limit is 10",
        id="groups-11",
    ),
    spec_case(
        "User",
        'consoleAccess: "yes"',
        f'{U}:6:18: User/u: spec.consoleAccess: expected boolean, got string "yes"',
        id="consoleAccess-string",
    ),
    spec_case(
        "User",
        "path: people",
        f'{U}:6:9: User/u: spec.path: "people" does not match the expected format {IAM_PATH_RE}',
        id="path",
    ),
    spec_case(
        "User",
        "tags: {team: 1}",
        f"{U}:6:16: User/u: spec.tags.team: expected string, got number 1 {NUMBER_HINT}",
        id="tags-value-int",
    ),
    spec_case("User", 'tags: {"": x}', f"{U}:6:10: User/u: spec.tags: key must not be empty", id="tags-key-empty"),
    spec_case("User", "tags: x", f'{U}:6:9: User/u: spec.tags: expected mapping, got string "x"', id="tags-string"),
    spec_case(
        "User",
        "group: [a]",
        f"{U}:6:3: User/u: spec.group: unknown field 'group'; did you mean 'groups'?",
        id="unknown-field-typo",
    ),
    spec_case(
        "User",
        "password: secret",
        f"{U}:6:3: User/u: spec.password: unknown field 'password'; "
        "allowed: consoleAccess, deletionPolicy, expiresAt, groups, path, permissionsBoundary, tags",
        id="unknown-field",
    ),
    spec_case(
        "User",
        "",
        f'{U}:4:9: User/{"u" * 65}: metadata.name: "{"u" * 56}... is too long: 65 characters, the limit is 64',
        name="u" * 65,
        id="metadata-name-too-long",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "name", "expected"), GROUP_CASES + USER_CASES)
def test_invalid_group_and_user(tmp_path: Path, kind: str, spec: str, name: str | None, expected: list[str]) -> None:
    check_spec_case(tmp_path, kind, spec, name, expected)


# --------------------------------------------------------------------------------------------------
# Bucket
# --------------------------------------------------------------------------------------------------

B = "m/bucket.yaml"

BUCKET_CASES = [
    spec_case(
        "Bucket",
        "",
        f'{B}:4:9: Bucket/Bad_Bucket: metadata.name: "Bad_Bucket" does not match the expected format {BUCKET_RE}',
        name="Bad_Bucket",
        id="name-uppercase-underscore",
    ),
    spec_case(
        "Bucket",
        "",
        f'{B}:4:9: Bucket/ab: metadata.name: "ab" does not match the expected format {BUCKET_RE}',
        name="ab",
        id="name-too-short",
    ),
    spec_case(
        "Bucket",
        "",
        f'{B}:4:9: Bucket/{"b" * 64}: metadata.name: "{"b" * 56}... does not match the expected format {BUCKET_RE}',
        name="b" * 64,
        id="name-too-long",
    ),
    spec_case(
        "Bucket",
        "",
        f'{B}:4:9: Bucket/-abc: metadata.name: "-abc" does not match the expected format {BUCKET_RE}',
        name="-abc",
        id="name-leading-hyphen",
    ),
    spec_case(
        "Bucket",
        "",
        f'{B}:4:9: Bucket/s3://abc: metadata.name: "s3://abc" does not match the expected format {BUCKET_RE}',
        name="s3://abc",
        id="name-url",
    ),
    spec_case(
        "Bucket",
        "",
        f"{B}:4:9: Bucket: metadata.name: expected string, got number 12345 {NUMBER_HINT}",
        name="12345",
        id="name-int",
    ),
    spec_case(
        "Bucket",
        'versioning: "yes"',
        f'{B}:6:15: Bucket/bkt: spec.versioning: expected boolean, got string "yes"',
        id="versioning-string",
    ),
    spec_case(
        "Bucket",
        "encryption: {type: SSE-KMS}",
        f"{B}:6:15: Bucket/bkt: spec.encryption: SSE-KMS needs exactly one of kmsKeyId or kmsKey",
        id="sse-kms-without-key",
    ),
    spec_case(
        "Bucket",
        "encryption: {type: SSE-KMS, kmsKeyId: alias/k, kmsKey: k}",
        f"{B}:6:15: Bucket/bkt: spec.encryption: SSE-KMS needs exactly one of kmsKeyId or kmsKey",
        id="sse-kms-with-two-keys",
    ),
    spec_case(
        "Bucket",
        "encryption: {type: SSE-KMS, kmsKey: aws/s3}",
        f'{B}:6:39: Bucket/bkt: spec.encryption.kmsKey: "aws/s3" does not match the expected format '
        "^(?!aws/)[a-zA-Z0-9_-][a-zA-Z0-9/_-]{0,249}$",
        id="sse-kms-key-of-aws",
    ),
    spec_case(
        "Bucket",
        "encryption: {type: AES}",
        f'{B}:6:22: Bucket/bkt: spec.encryption.type: "AES" is not one of "SSE-S3", "SSE-KMS"',
        id="encryption-type-enum",
    ),
    spec_case(
        "Bucket",
        "encryption: {type: sse-s3}",
        f'{B}:6:22: Bucket/bkt: spec.encryption.type: "sse-s3" is not one of "SSE-S3", "SSE-KMS"',
        id="encryption-type-lowercase",
    ),
    spec_case(
        "Bucket",
        "encryption: SSE-S3",
        f'{B}:6:15: Bucket/bkt: spec.encryption: expected mapping, got string "SSE-S3"',
        id="encryption-string",
    ),
    spec_case(
        "Bucket",
        "encryption: {type: SSE-KMS, kmsKeyID: k}",
        f"{B}:6:15: Bucket/bkt: spec.encryption: SSE-KMS needs exactly one of kmsKeyId or kmsKey",
        f"{B}:6:31: Bucket/bkt: spec.encryption.kmsKeyID: unknown field 'kmsKeyID'; did you mean 'kmsKeyId'?",
        id="encryption-unknown-field",
    ),
    spec_case(
        "Bucket",
        'encryption: {type: SSE-KMS, kmsKeyId: ""}',
        f"{B}:6:41: Bucket/bkt: spec.encryption.kmsKeyId: string must not be empty",
        id="kmsKeyId-empty",
    ),
    spec_case(
        "Bucket",
        "encryption: {type: SSE-KMS, kmsKeyId: 5}",
        f"{B}:6:41: Bucket/bkt: spec.encryption.kmsKeyId: expected string, got number 5 {NUMBER_HINT}",
        id="kmsKeyId-int",
    ),
    spec_case(
        "Bucket",
        "access: Role/r",
        f'{B}:6:11: Bucket/bkt: spec.access: expected mapping, got string "Role/r"',
        id="access-string",
    ),
    spec_case(
        "Bucket",
        "access: {admin: []}",
        f"{B}:6:12: Bucket/bkt: spec.access.admin: unknown field 'admin'; allowed: read, write",
        id="access-unknown-field",
    ),
    spec_case(
        "Bucket",
        "access:\n  read: [Role/a, Role/a]",
        f'{B}:7:11: Bucket/bkt: spec.access.read: list has duplicate items: "Role/a" at [0] and [1]',
        id="access-read-duplicate",
    ),
    spec_case(
        "Bucket",
        "access:\n  read: Role/a",
        f'{B}:7:11: Bucket/bkt: spec.access.read: expected list, got string "Role/a"',
        id="access-read-string",
    ),
    spec_case(
        "Bucket",
        "access:\n  write: [role/a]",
        f'{B}:7:13: Bucket/bkt: spec.access.write[0]: "role/a" does not match the expected format {PRINCIPAL_REF_RE}',
        id="access-write-lowercase-kind",
    ),
    spec_case(
        "Bucket",
        "access:\n  write: [Policy/p]",
        f'{B}:7:13: Bucket/bkt: spec.access.write[0]: "Policy/p" does not match the expected format {PRINCIPAL_REF_RE}',
        id="access-write-policy",
    ),
    spec_case(
        "Bucket",
        "access:\n  write: [base-role]",
        f'{B}:7:13: Bucket/bkt: spec.access.write[0]: "base-role" does not match the expected format '
        f"{PRINCIPAL_REF_RE}",
        id="access-write-no-kind",
    ),
    spec_case(
        "Bucket",
        "access:\n  write: [arn:aws:iam::123456789012:role/x]",
        f'{B}:7:13: Bucket/bkt: spec.access.write[0]: "arn:aws:iam::123456789012:role/x" does not match the '
        f"expected format {PRINCIPAL_REF_RE}",
        id="access-write-arn",
    ),
    spec_case(
        "Bucket",
        "policy: {Effect: Allow}",
        f'{B}:6:11: Bucket/bkt: spec.policy: expected list, got mapping {{"Effect": "Allow"}}',
        id="policy-mapping",
    ),
    spec_case(
        "Bucket",
        'policy:\n  - Effect: Deny\n    Principal: "*"',
        f"{B}:7:7: Bucket/bkt: spec.policy[0]: {STATEMENT_ONE_OF}",
        id="policy-statement-no-Action",
    ),
    spec_case(
        "Bucket",
        'policy:\n  - Effect: Deny\n    Principal: everyone\n    Action: "s3:*"',
        f'{B}:8:18: Bucket/bkt: spec.policy[0].Principal: "everyone" does not match the expected format '
        r"^\*$",
        id="policy-statement-Principal",
    ),
    spec_case(
        "Bucket",
        "deletionPolicy: delete",
        f'{B}:6:19: Bucket/bkt: spec.deletionPolicy: "delete" is not one of "Retain", "Delete"',
        id="deletionPolicy-lowercase",
    ),
    spec_case(
        "Bucket",
        "deletionPolicy: Destroy",
        f'{B}:6:19: Bucket/bkt: spec.deletionPolicy: "Destroy" is not one of "Retain", "Delete"',
        id="deletionPolicy-enum",
    ),
    spec_case(
        "Bucket",
        "region: Tokyo",
        f'{B}:6:11: Bucket/bkt: spec.region: "Tokyo" does not match the expected format {REGION_RE}',
        id="region",
    ),
    spec_case(
        "Bucket",
        'tags: {"data class!": raw}',
        f'{B}:6:10: Bucket/bkt: spec.tags: key "data class!" does not match the expected format {TAG_KEY_RE}',
        id="tags-key-pattern",
    ),
    spec_case(
        "Bucket",
        "versionning: true",
        f"{B}:6:3: Bucket/bkt: spec.versionning: unknown field 'versionning'; did you mean 'versioning'?",
        id="unknown-field-typo",
    ),
    spec_case(
        "Bucket",
        "lifecycle: []",
        f"{B}:6:3: Bucket/bkt: spec.lifecycle: unknown field 'lifecycle'; allowed: access, deletionPolicy, "
        "encryption, policy, region, tags, versioning",
        id="unknown-field",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "name", "expected"), BUCKET_CASES)
def test_invalid_bucket(tmp_path: Path, kind: str, spec: str, name: str | None, expected: list[str]) -> None:
    check_spec_case(tmp_path, kind, spec, name, expected)


# --------------------------------------------------------------------------------------------------
# NotebookInstance
# --------------------------------------------------------------------------------------------------

N = "m/notebookinstance.yaml"
NB = "NotebookInstance/nb"


def notebook(extra: str = "") -> str:
    """A NotebookInstance spec with instanceType (line 6), role (line 7) and ``extra`` from line 8."""
    return "instanceType: ml.t3.medium\nrole: base-role\n" + textwrap.dedent(extra).strip("\n")


NOTEBOOK_CASES = [
    spec_case(
        "NotebookInstance",
        "instanceType: ml.t3.medium",
        f"{N}:5:1: {NB}: spec: missing required field 'role'",
        id="role-missing",
    ),
    spec_case(
        "NotebookInstance",
        "role: base-role",
        f"{N}:5:1: {NB}: spec: missing required field 'instanceType'",
        id="instanceType-missing",
    ),
    spec_case(
        "NotebookInstance",
        notebook(),
        f'{N}:4:9: NotebookInstance/a/b: metadata.name: "a/b" does not match the expected format {NOTEBOOK_RE}',
        name="a/b",
        id="name-slash",
    ),
    spec_case(
        "NotebookInstance",
        notebook(),
        f'{N}:4:9: NotebookInstance/nb_1: metadata.name: "nb_1" does not match the expected format {NOTEBOOK_RE}',
        name="nb_1",
        id="name-underscore",
    ),
    spec_case(
        "NotebookInstance",
        notebook(),
        f'{N}:4:9: NotebookInstance/-nb: metadata.name: "-nb" does not match the expected format {NOTEBOOK_RE}',
        name="-nb",
        id="name-leading-hyphen",
    ),
    spec_case(
        "NotebookInstance",
        notebook(),
        f'{N}:4:9: NotebookInstance/{"n" * 64}: metadata.name: "{"n" * 56}... does not match the expected '
        f"format {NOTEBOOK_RE}",
        name="n" * 64,
        id="name-too-long",
    ),
    spec_case(
        "NotebookInstance",
        "instanceType: t3.medium\nrole: base-role",
        f'{N}:6:17: {NB}: spec.instanceType: "t3.medium" does not match the expected format '
        r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
        id="instanceType-no-ml-prefix",
    ),
    spec_case(
        "NotebookInstance",
        "instanceType: ML.T3.MEDIUM\nrole: base-role",
        f'{N}:6:17: {NB}: spec.instanceType: "ML.T3.MEDIUM" does not match the expected format '
        r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
        id="instanceType-uppercase",
    ),
    spec_case(
        "NotebookInstance",
        "instanceType: [ml.t3.medium]\nrole: base-role",
        f'{N}:6:17: {NB}: spec.instanceType: expected string, got list ["ml.t3.medium"]',
        id="instanceType-list",
    ),
    spec_case(
        "NotebookInstance",
        "instanceType: ml.t3.medium\nrole: arn:aws:iam::123456789012:role/x",
        f'{N}:7:9: {NB}: spec.role: "arn:aws:iam::123456789012:role/x" does not match the expected format '
        f"{IAM_NAME_RE}",
        id="role-arn",
    ),
    spec_case(
        "NotebookInstance",
        'instanceType: ml.t3.medium\nrole: ""',
        f'{N}:7:9: {NB}: spec.role: "" does not match the expected format {IAM_NAME_RE}',
        id="role-empty",
    ),
    spec_case(
        "NotebookInstance",
        "instanceType: ml.t3.medium\nrole: no",
        f"{N}:7:9: {NB}: spec.role: expected string, got boolean false {QUOTE_HINT}",
        id="role-bool",
    ),
    spec_case(
        "NotebookInstance",
        notebook("rootAccess: yes"),
        f'{N}:8:15: {NB}: spec.rootAccess: true is not one of "Enabled", "Disabled" {QUOTE_HINT}',
        id="rootAccess-yes",
    ),
    spec_case(
        "NotebookInstance",
        notebook("rootAccess: enabled"),
        f'{N}:8:15: {NB}: spec.rootAccess: "enabled" is not one of "Enabled", "Disabled"',
        id="rootAccess-lowercase",
    ),
    spec_case(
        "NotebookInstance",
        notebook("directInternetAccess: None"),
        f'{N}:8:25: {NB}: spec.directInternetAccess: "None" is not one of "Enabled", "Disabled"',
        id="directInternetAccess-enum",
    ),
    # YAML 1.1 reads Off as a boolean: the message shows false, not what was written.
    spec_case(
        "NotebookInstance",
        notebook("directInternetAccess: Off"),
        f'{N}:8:25: {NB}: spec.directInternetAccess: false is not one of "Enabled", "Disabled" {QUOTE_HINT}',
        id="directInternetAccess-Off-is-a-boolean",
    ),
    spec_case(
        "NotebookInstance",
        notebook("subnetId: sub-1"),
        f'{N}:8:13: {NB}: spec.subnetId: "sub-1" does not match the expected format ^subnet-[0-9a-f]+$',
        id="subnetId-pattern",
    ),
    spec_case(
        "NotebookInstance",
        notebook("subnetId: subnet-ABC"),
        f'{N}:8:13: {NB}: spec.subnetId: "subnet-ABC" does not match the expected format ^subnet-[0-9a-f]+$',
        id="subnetId-uppercase",
    ),
    spec_case(
        "NotebookInstance",
        notebook("securityGroupIds: sg-1"),
        f'{N}:8:21: {NB}: spec.securityGroupIds: expected list, got string "sg-1"',
        id="securityGroupIds-string",
    ),
    spec_case(
        "NotebookInstance",
        notebook("securityGroupIds: [sg-1, sg-1]"),
        f'{N}:8:21: {NB}: spec.securityGroupIds: list has duplicate items: "sg-1" at [0] and [1]',
        id="securityGroupIds-duplicate",
    ),
    spec_case(
        "NotebookInstance",
        notebook("securityGroupIds: [sg-xyz]"),
        f'{N}:8:22: {NB}: spec.securityGroupIds[0]: "sg-xyz" does not match the expected format ^sg-[0-9a-f]+$',
        id="securityGroupIds-pattern",
    ),
    spec_case(
        "NotebookInstance",
        notebook(f"securityGroupIds: [{', '.join(f'sg-{i}' for i in range(6))}]"),
        f"{N}:8:21: {NB}: spec.securityGroupIds: list has 6 items; the limit is 5",
        id="securityGroupIds-6",
    ),
    spec_case(
        "NotebookInstance",
        notebook('kmsKeyId: ""'),
        f"{N}:8:13: {NB}: spec.kmsKeyId: string must not be empty",
        id="kmsKeyId-empty",
    ),
    spec_case(
        "NotebookInstance",
        notebook("kmsKeyId: alias/k\nkmsKey: k"),
        f"{N}:6:3: {NB}: spec: give at most one of kmsKeyId or kmsKey",
        id="kmsKeyId-and-kmsKey",
    ),
    spec_case(
        "NotebookInstance",
        notebook("kmsKeyId: 5"),
        f"{N}:8:13: {NB}: spec.kmsKeyId: expected string, got number 5 {NUMBER_HINT}",
        id="kmsKeyId-int",
    ),
    spec_case(
        "NotebookInstance",
        notebook("volumeSizeInGB: 4"),
        f"{N}:8:19: {NB}: spec.volumeSizeInGB: 4 is less than the minimum of 5",
        id="volumeSizeInGB-small",
    ),
    spec_case(
        "NotebookInstance",
        notebook("volumeSizeInGB: 16385"),
        f"{N}:8:19: {NB}: spec.volumeSizeInGB: 16385 is greater than the maximum of 16384",
        id="volumeSizeInGB-large",
    ),
    spec_case(
        "NotebookInstance",
        notebook('volumeSizeInGB: "20"'),
        f'{N}:8:19: {NB}: spec.volumeSizeInGB: expected integer, got string "20"',
        id="volumeSizeInGB-string",
    ),
    spec_case(
        "NotebookInstance",
        notebook("lifecycleConfigName: a_b"),
        f'{N}:8:24: {NB}: spec.lifecycleConfigName: "a_b" does not match the expected format {NOTEBOOK_RE}',
        id="lifecycleConfigName-pattern",
    ),
    spec_case(
        "NotebookInstance",
        notebook("tags: {owner: ~}"),
        f"{N}:8:17: {NB}: spec.tags.owner: expected string, got null",
        id="tags-value-null",
    ),
    spec_case(
        "NotebookInstance",
        "instancetype: ml.t3.medium\nrole: base-role",
        f"{N}:5:1: {NB}: spec: missing required field 'instanceType'",
        f"{N}:6:3: {NB}: spec.instancetype: unknown field 'instancetype'; did you mean 'instanceType'?",
        id="unknown-field-case",
    ),
    spec_case(
        "NotebookInstance",
        notebook("securityGroups: [sg-1]"),
        f"{N}:8:3: {NB}: spec.securityGroups: unknown field 'securityGroups'; did you mean 'securityGroupIds'?",
        id="unknown-field-typo",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "name", "expected"), NOTEBOOK_CASES)
def test_invalid_notebook(tmp_path: Path, kind: str, spec: str, name: str | None, expected: list[str]) -> None:
    check_spec_case(tmp_path, kind, spec, name, expected)


# --------------------------------------------------------------------------------------------------
# The manifest envelope: apiVersion, kind, metadata, spec, documents that are not mappings
# --------------------------------------------------------------------------------------------------

X = "m/x.yaml"
UNKNOWN_KIND = f"expected one of {KINDS_TEXT}"

ENVELOPE_CASES = [
    pytest.param(
        "apiVersion: reconciler/v2\nkind: Group\nmetadata:\n  name: g\nspec: {}\n",
        [f'{X}:1:13: Group/g: apiVersion: "reconciler/v2" is not one of "reconciler/v1"'],
        id="apiVersion-v2",
    ),
    pytest.param(
        "apiVersion: v1\nkind: Group\nmetadata:\n  name: g\nspec: {}\n",
        [f'{X}:1:13: Group/g: apiVersion: "v1" is not one of "reconciler/v1"'],
        id="apiVersion-v1",
    ),
    pytest.param(
        "apiVersion: 1\nkind: Group\nmetadata:\n  name: g\nspec: {}\n",
        [f'{X}:1:13: Group/g: apiVersion: 1 is not one of "reconciler/v1"'],
        id="apiVersion-int",
    ),
    pytest.param(
        "kind: Group\nmetadata:\n  name: g\nspec: {}\n",
        [f"{X}:1:1: Group/g: missing required field 'apiVersion'"],
        id="apiVersion-missing",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Group\nspec: {}\n",
        [f"{X}:1:1: Group: missing required field 'metadata'"],
        id="metadata-missing",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\n",
        [f"{X}:1:1: Group/g: missing required field 'spec'"],
        id="spec-missing",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Group\nmetadata: {}\nspec: {}\n",
        [f"{X}:3:1: Group: metadata: missing required field 'name'"],
        id="metadata-name-missing",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Group\nmetadata: g\nspec: {}\n",
        [f'{X}:3:11: Group: metadata: expected mapping, got string "g"'],
        id="metadata-string",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\n  labels: {}\nspec: {}\n",
        [f"{X}:5:3: Group/g: metadata.labels: unknown field 'labels'; allowed: accounts, management, name"],
        id="metadata-unknown-field",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  nmae: g\nspec: {}\n",
        [
            f"{X}:3:1: Group: metadata: missing required field 'name'",
            f"{X}:4:3: Group: metadata.nmae: unknown field 'nmae'; did you mean 'name'?",
        ],
        id="metadata-name-typo",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\nspec: {}\nstatus: {}\n",
        [f"{X}:6:1: Group/g: status: unknown field 'status'; allowed: apiVersion, kind, metadata, spec"],
        id="top-level-unknown-field",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\nspecs: {}\n",
        [
            f"{X}:1:1: Group/g: missing required field 'spec'",
            f"{X}:5:1: Group/g: specs: unknown field 'specs'; did you mean 'spec'?",
        ],
        id="top-level-typo",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\nspec: []\n",
        [f"{X}:5:7: Group/g: spec: expected mapping, got list []"],
        id="spec-list",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\nspec:\n",
        [f"{X}:5:6: Group/g: spec: expected mapping, got null"],
        id="spec-null",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nmetadata:\n  name: g\nspec: {}\n",
        [f"{X}:1:1: missing required field 'kind'"],
        id="kind-missing",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind:\nmetadata:\n  name: g\nspec: {}\n",
        [f"{X}:1:1: missing required field 'kind'"],
        id="kind-null",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: Grupo\nmetadata:\n  name: g\nspec: {}\n",
        [f"{X}:2:7: Grupo/g: kind: unknown kind 'Grupo'; {UNKNOWN_KIND}"],
        id="kind-unknown",
    ),
    pytest.param(
        "apiVersion: reconciler/v1\nkind: role\nmetadata:\n  name: g\nspec: {}\n",
        [f"{X}:2:7: role/g: kind: unknown kind 'role'; {UNKNOWN_KIND}"],
        id="kind-lowercase",
    ),
    pytest.param("kind: 5\n", [f"{X}:1:7: kind: unknown kind 5; {UNKNOWN_KIND}"], id="kind-int"),
    pytest.param("kind: [Role]\n", [f"{X}:1:7: kind: unknown kind ['Role']; {UNKNOWN_KIND}"], id="kind-list"),
    pytest.param(
        "- apiVersion: reconciler/v1\n- kind: Group\n",
        [f"{X}:1:1: a manifest must be a mapping with apiVersion, kind, metadata and spec"],
        id="document-list",
    ),
    pytest.param(
        "hello\n",
        [f"{X}:1:1: a manifest must be a mapping with apiVersion, kind, metadata and spec"],
        id="document-scalar",
    ),
    pytest.param(
        "# a comment\n\n  42\n",
        [f"{X}:3:3: a manifest must be a mapping with apiVersion, kind, metadata and spec"],
        id="document-number-after-comment",
    ),
    pytest.param(
        manifest("Group") + "---\n- a\n",
        [f"{X}:7:1: a manifest must be a mapping with apiVersion, kind, metadata and spec"],
        id="second-document-list",
    ),
    pytest.param(
        manifest("Group") + "---\n" + manifest("Group", "requireMFA: maybe", name="h"),
        [f'{X}:12:15: Group/h: spec.requireMFA: expected boolean, got string "maybe"'],
        id="second-document-invalid",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ENVELOPE_CASES)
def test_invalid_envelope(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert problems(tmp_path, {"x.yaml": text}) == expected


def test_empty_documents_between_separators_are_skipped(tmp_path: Path) -> None:
    state = load(tmp_path, {"x.yaml": "---\n---\n# only a comment\n---\n" + manifest("Group") + "---\n"})
    assert list(state.of("Group")) == ["g"]


# --------------------------------------------------------------------------------------------------
# Meaning: duplicates, exactly one Settings, references
# --------------------------------------------------------------------------------------------------


def test_duplicate_across_files_names_the_first(tmp_path: Path) -> None:
    files = {"a.yaml": manifest("Group"), "b.yaml": "# the same group again\n" + manifest("Group")}
    assert problems(tmp_path, files) == [
        "m/b.yaml:5:9: Group/g: metadata.name: duplicate Group/g; first defined at m/a.yaml:1",
    ]


def test_duplicate_in_one_file_and_in_subdirectories(tmp_path: Path) -> None:
    files = {
        "groups/a.yaml": manifest("Group") + "---\n" + manifest("Group"),
        "more/b.yml": manifest("Group"),
    }
    assert problems(tmp_path, files) == [
        "m/groups/a.yaml:10:9: Group/g: metadata.name: duplicate Group/g; first defined at m/groups/a.yaml:1",
        "m/more/b.yml:4:9: Group/g: metadata.name: duplicate Group/g; first defined at m/groups/a.yaml:1",
    ]


def test_same_name_in_different_kinds_is_fine(tmp_path: Path) -> None:
    files = {
        "x.yaml": "---\n".join(
            [
                manifest("Group", name="same"),
                manifest("User", name="same"),
                manifest("Role", TRUST, name="same"),
                manifest("Policy", DOC, name="same"),
            ]
        )
    }
    assert load(tmp_path, files).count() == 4


def test_duplicate_of_an_invalid_manifest_is_not_reported(tmp_path: Path) -> None:
    files = {"a.yaml": manifest("Group", "path: bad"), "b.yaml": manifest("Group")}
    assert problems(tmp_path, files) == [
        f'm/a.yaml:6:9: Group/g: spec.path: "bad" does not match the expected format {IAM_PATH_RE}',
    ]


def test_zero_settings(tmp_path: Path) -> None:
    assert problems(tmp_path, {"g.yaml": manifest("Group")}, settings=False) == [
        "m:0:0: no Settings manifest found; exactly one is required",
    ]


def test_two_settings(tmp_path: Path) -> None:
    other = manifest("Settings", 'accountId: "210987654321"', name="other")
    assert problems(tmp_path, {"a-settings.yaml": other}) == [
        "m/settings.yaml:1:1: Settings/env: more than one Settings manifest; the first is at m/a-settings.yaml:1",
    ]


def test_three_settings_in_one_file(tmp_path: Path) -> None:
    text = "---\n".join(manifest("Settings", 'accountId: "123456789012"', name=n) for n in ("a", "b", "c"))
    assert problems(tmp_path, {"settings.yaml": text}, settings=False) == [
        "m/settings.yaml:8:1: Settings/b: more than one Settings manifest; the first is at m/settings.yaml:1",
        "m/settings.yaml:15:1: Settings/c: more than one Settings manifest; the first is at m/settings.yaml:1",
    ]


def test_an_invalid_settings_is_not_also_reported_missing(tmp_path: Path) -> None:
    text = manifest("Settings", "accountId: 42")
    assert problems(tmp_path, {"settings.yaml": text}, settings=False) == [
        f"m/settings.yaml:6:14: Settings/env: spec.accountId: expected string, got number 42 {NUMBER_HINT}",
    ]


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({}, id="empty"),
        pytest.param({"README.md": "# manifests\n", "settings.json": "{}"}, id="other-extensions"),
        pytest.param({".hidden/settings.yaml": SETTINGS, ".x.yaml": SETTINGS}, id="hidden-only"),
    ],
)
def test_no_manifest_found(tmp_path: Path, files: dict[str, str]) -> None:
    assert problems(tmp_path, files, settings=False) == ["m:0:0: no *.yaml or *.yml manifest found"]


def test_hidden_files_are_skipped_and_yml_is_read(tmp_path: Path) -> None:
    files = {".github/dup.yaml": SETTINGS, "groups/g.yml": manifest("Group"), "notes.txt": "kind: Nothing"}
    state = load(tmp_path, files)
    assert list(state.of("Group")) == ["g"]
    assert state.settings.name == "env"


@pytest.mark.parametrize("is_file", [pytest.param(False, id="missing"), pytest.param(True, id="a-file")])
def test_root_not_a_directory(tmp_path: Path, is_file: bool) -> None:
    root = tmp_path / "settings.yaml"
    if is_file:
        root.write_text(SETTINGS)
    with pytest.raises(ManifestError) as caught:
        load_directory(root, display_root="m")
    assert checked_lines(caught.value) == ["m:0:0: not a directory"]


DANGLING = [
    pytest.param(
        "Role",
        "trustedServices: [sagemaker.amazonaws.com]\npolicies: [base-policy, nope]",
        "m/role.yaml:7:27: Role/r: spec.policies[1]: no Policy manifest named 'nope' (and not a policy ARN)",
        id="role-policies",
    ),
    pytest.param(
        "Role",
        "trustedServices: [sagemaker.amazonaws.com]\npermissionsBoundary: boundary",
        "m/role.yaml:7:24: Role/r: spec.permissionsBoundary: no Policy manifest named 'boundary'",
        id="role-permissionsBoundary",
    ),
    pytest.param(
        "Role",
        "trustedServices: [sagemaker.amazonaws.com]\npolicies: [base-role]",
        "m/role.yaml:7:14: Role/r: spec.policies[0]: no Policy manifest named 'base-role' (and not a policy ARN)",
        id="role-policies-names-a-role",
    ),
    pytest.param(
        "Group",
        "policies:\n  - arn:aws:iam::aws:policy/ReadOnlyAccess\n  - use-notebook",
        "m/group.yaml:8:7: Group/g: spec.policies[1]: no Policy manifest named 'use-notebook' (and not a policy ARN)",
        id="group-policies",
    ),
    pytest.param(
        "User",
        "groups: [base-group, SageMakerEngineer]",
        "m/user.yaml:6:24: User/u: spec.groups[1]: no Group manifest named 'SageMakerEngineer'",
        id="user-groups",
    ),
    pytest.param(
        "User",
        "groups: [base-user]",
        "m/user.yaml:6:12: User/u: spec.groups[0]: no Group manifest named 'base-user'",
        id="user-groups-names-a-user",
    ),
    pytest.param(
        "NotebookInstance",
        "instanceType: ml.t3.medium\nrole: notebook-role",
        "m/notebookinstance.yaml:7:9: NotebookInstance/nb: spec.role: no Role manifest named 'notebook-role'",
        id="notebook-role",
    ),
    pytest.param(
        "Bucket",
        "access:\n  read: [Role/base-role, Role/reader]",
        "m/bucket.yaml:7:28: Bucket/bkt: spec.access.read[1]: no Role manifest named 'reader'",
        id="bucket-read-role",
    ),
    pytest.param(
        "Bucket",
        "access:\n  read: [Group/readers]",
        "m/bucket.yaml:7:12: Bucket/bkt: spec.access.read[0]: no Group manifest named 'readers'",
        id="bucket-read-group",
    ),
    pytest.param(
        "Bucket",
        "access:\n  read: [User/base-group]",
        "m/bucket.yaml:7:12: Bucket/bkt: spec.access.read[0]: no User manifest named 'base-group'",
        id="bucket-read-user",
    ),
    pytest.param(
        "Bucket",
        "access:\n  write:\n    - Group/base-group\n    - User/writer",
        "m/bucket.yaml:9:9: Bucket/bkt: spec.access.write[1]: no User manifest named 'writer'",
        id="bucket-write-user",
    ),
    pytest.param(
        "Bucket",
        "access:\n  write: [Role/writer]",
        "m/bucket.yaml:7:13: Bucket/bkt: spec.access.write[0]: no Role manifest named 'writer'",
        id="bucket-write-role",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "expected"), DANGLING)
def test_dangling_reference(tmp_path: Path, kind: str, spec: str, expected: str) -> None:
    files = {file_of(kind): manifest(kind, spec), "support.yaml": SUPPORT}
    assert problems(tmp_path, files) == [expected]


def test_policy_arns_need_no_manifest(tmp_path: Path) -> None:
    arns = [
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "arn:aws:iam::aws:policy/service-role/AmazonSageMakerRole",
        "arn:aws-cn:iam::aws:policy/X",
        "arn:aws-us-gov:iam::123456789012:policy/path/Mine",
    ]
    listed = "\n".join(f"  - {a}" for a in arns)
    files = {
        "x.yaml": "---\n".join(
            [
                manifest("Role", f"{TRUST}\npolicies:\n{listed}\npermissionsBoundary: {arns[0]}"),
                manifest("Group", f"policies:\n{listed}"),
            ]
        )
    }
    state = load(tmp_path, files)
    assert state.of("Role")["r"].policies == tuple(arns)
    assert state.of("Role")["r"].permissions_boundary == arns[0]
    assert state.of("Group")["g"].policies == tuple(arns)


def test_references_resolve_across_files(tmp_path: Path) -> None:
    files = {
        "a/policy.yaml": manifest("Policy", DOC, name="data"),
        "b/role.yaml": manifest("Role", f"{TRUST}\npolicies: [data]\npermissionsBoundary: data", name="nb-role"),
        "c/notebook.yaml": manifest("NotebookInstance", "instanceType: ml.t3.medium\nrole: nb-role"),
        "d/group.yaml": manifest("Group", "policies: [data]", name="team"),
        "e/user.yaml": manifest("User", "groups: [team]", name="alice"),
        "f/bucket.yaml": manifest("Bucket", "access: {read: [User/alice, Group/team], write: [Role/nb-role]}"),
    }
    assert load(tmp_path, files).count() == 6


def test_reference_to_an_invalid_manifest_is_not_reported_again(tmp_path: Path) -> None:
    files = {
        "x.yaml": manifest("Role", f"{TRUST}\npolicies: [broken]")
        + "---\n"
        + manifest("Policy", "description: no document", name="broken")
    }
    assert problems(tmp_path, files) == [
        "m/x.yaml:13:1: Policy/broken: spec: missing required field 'document'",
    ]


def test_yaml_syntax_error_elsewhere_suppresses_reference_checks(tmp_path: Path) -> None:
    files = {"bad.yaml": "kind: Policy\nmetadata: [\n", "role.yaml": manifest("Role", f"{TRUST}\npolicies: [p]")}
    assert problems(tmp_path, files) == [
        "m/bad.yaml:3:1: YAML syntax error: expected the node content, but found '<stream end>' "
        "(while parsing a flow node)",
    ]


def test_several_errors_in_one_run_are_reported_together_in_order(tmp_path: Path) -> None:
    files = {
        "z-notebook.yaml": manifest("NotebookInstance", "instanceType: ml.t3.medium\nrole: ghost\nrootAccess: yes"),
        "b-users.yaml": manifest("User", "groups: [ghosts]", name="alice")
        + "---\n"
        + manifest("User", 'consoleAccess: "true"', name="bob"),
        "a-role.yaml": manifest("Role", "trustedServices: [sagemaker.amazonaws.com]\npolicies: [ghost]\npolices: []"),
        "c-bucket.yaml": manifest("Bucket", "access: {write: [Role/ghost]}", name="data")
        + "---\n"
        + manifest("Group", name="g")
        + "---\n"
        + manifest("Group", name="g"),
    }
    assert problems(tmp_path, files) == [
        "m/a-role.yaml:8:3: Role/r: spec.polices: unknown field 'polices'; did you mean 'policies'?",
        "m/b-users.yaml:6:12: User/alice: spec.groups[0]: no Group manifest named 'ghosts'",
        'm/b-users.yaml:13:18: User/bob: spec.consoleAccess: expected boolean, got string "true"',
        "m/c-bucket.yaml:6:20: Bucket/data: spec.access.write[0]: no Role manifest named 'ghost'",
        "m/c-bucket.yaml:17:9: Group/g: metadata.name: duplicate Group/g; first defined at m/c-bucket.yaml:8",
        'm/z-notebook.yaml:8:15: NotebookInstance/nb: spec.rootAccess: true is not one of "Enabled", "Disabled" '
        f"{QUOTE_HINT}",
    ]


def test_every_problem_has_the_file_line_col_shape(tmp_path: Path) -> None:
    """A directory with one of everything wrong: each line starts with ``file:line:col: ``."""
    files = {
        "empty.yaml": "",
        "syntax.yaml": "a: [\n",
        "tabs.yaml": "kind: Group\nmetadata:\n\tname: g\n",
        "binary.yaml": "kind: \x00",
        "list.yaml": "- 1\n",
        "kindless.yaml": "metadata: {}\n",
        "grupo.yaml": "kind: Grupo\n",
        "bad.yaml": manifest("Role", "polices: []"),
        "refs.yaml": manifest("User", "groups: [nobody]"),
    }
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, files, settings=False)
    assert checked_lines(caught.value) == [
        f"m/bad.yaml:6:3: Role/r: spec: {ROLE_ONE_OF}",
        "m/bad.yaml:6:3: Role/r: spec.polices: unknown field 'polices'; did you mean 'policies'?",
        "m/binary.yaml:1:1: binary file (NUL byte), not YAML",
        "m/empty.yaml:1:1: file holds no manifest (empty file)",
        f"m/grupo.yaml:1:7: Grupo: kind: unknown kind 'Grupo'; {UNKNOWN_KIND}",
        "m/kindless.yaml:1:1: missing required field 'kind'",
        "m/list.yaml:1:1: a manifest must be a mapping with apiVersion, kind, metadata and spec",
        "m/syntax.yaml:2:1: YAML syntax error: expected the node content, but found '<stream end>' "
        "(while parsing a flow node)",
        "m/tabs.yaml:3:1: YAML syntax error: found character '\\t' that cannot start any token "
        "(while scanning for the next token); tabs cannot be used for indentation in YAML, use spaces",
    ]
    for problem in caught.value.problems:
        if problem.file == "m":
            assert (problem.line, problem.col) == (0, 0)
        else:
            assert problem.line >= 1
            assert problem.col >= 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "apiversion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\nspec: {}\n",
            [
                f"{X}:1:1: Group/g: missing required field 'apiVersion'",
                f"{X}:1:1: Group/g: apiversion: unknown field 'apiversion'; did you mean 'apiVersion'?",
            ],
            id="apiversion-typo-on-line-1",
        ),
        pytest.param(
            "metadata: {}\nkind: Group\nspec: {}\n",
            [
                f"{X}:1:1: Group: missing required field 'apiVersion'",
                f"{X}:1:1: Group: metadata: missing required field 'name'",
            ],
            id="metadata-first-and-apiVersion-missing",
        ),
    ],
)
def test_problems_at_the_same_position(tmp_path: Path, text: str, expected: list[str]) -> None:
    """A problem without a field next to one with a field at the same file:line:col (was a TypeError)."""
    assert problems(tmp_path, {"x.yaml": text}) == expected


def test_manifest_problem_str() -> None:
    problem = ManifestProblem("m/x.yaml", 3, 5, "Role/r", "spec.path", "bad")
    assert str(problem) == "m/x.yaml:3:5: Role/r: spec.path: bad"
    assert str(ManifestProblem("m/x.yaml", 1, 1, None, None, "bad")) == "m/x.yaml:1:1: bad"
    assert str(ManifestProblem("m", 0, 0, None, None, "none")) == "m:0:0: none"


# --------------------------------------------------------------------------------------------------
# Former bugs (each was pinned by a strict xfail until fixed), and the messages reported by testers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            manifest("NotebookInstance"),
            [
                f"{N}:5:1: {NB}: spec: missing required field 'instanceType'",
                f"{N}:5:1: {NB}: spec: missing required field 'role'",
            ],
            id="notebook-spec-empty",
        ),
        pytest.param(
            "kind: Group\n",
            [
                "m/notebookinstance.yaml:1:1: Group: missing required field 'apiVersion'",
                "m/notebookinstance.yaml:1:1: Group: missing required field 'metadata'",
                "m/notebookinstance.yaml:1:1: Group: missing required field 'spec'",
            ],
            id="only-kind",
        ),
    ],
)
def test_several_missing_required_fields_are_each_named(tmp_path: Path, text: str, expected: list[str]) -> None:
    """jsonschema yields one 'required' error per missing field: each names its own (was the first, N times)."""
    assert problems(tmp_path, {"notebookinstance.yaml": text}) == expected


@pytest.mark.parametrize(
    ("kind", "spec", "where"),
    [
        pytest.param("User", "tags:\n  team: a\n  bad!key: b", (8, 5), id="tags"),
        pytest.param(
            "Role",
            f"{TRUST}\ninlinePolicies:\n  ok: {{Statement: {{Effect: Allow, Action: '*'}}}}\n"
            "  not ok: {Statement: {Effect: Allow, Action: '*'}}",
            (9, 5),
            id="inlinePolicies",
        ),
    ],
)
def test_bad_key_is_located_at_the_key(tmp_path: Path, kind: str, spec: str, where: tuple[int, int]) -> None:
    """A bad mapping key (propertyNames) is located at that key, not at the mapping's first key."""
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, {file_of(kind): manifest(kind, spec)})
    assert [(p.line, p.col) for p in caught.value.problems] == [where]


def test_bad_key_names_the_key(tmp_path: Path) -> None:
    assert problems(tmp_path, {"user.yaml": manifest("User", "tags:\n  team: a\n  bad!key: b")}) == [
        f'{U}:8:5: User/u: spec.tags: key "bad!key" does not match the expected format {TAG_KEY_RE}',
    ]


def test_duplicate_is_located_at_the_name(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, {"a.yaml": manifest("Group"), "b.yaml": "# again\n" + manifest("Group")})
    [problem] = caught.value.problems
    assert (problem.field, problem.line, problem.col) == ("metadata.name", 5, 9)


@pytest.mark.parametrize(
    ("kind", "spec", "attr"),
    [
        pytest.param(
            "NotebookInstance",
            "instanceType: ml.t3.medium\nrole: base-role\nvolumeSizeInGB: 20.0",
            "volume_size_in_gb",
            id="volumeSizeInGB",
        ),
        pytest.param("Role", f"{TRUST}\nmaxSessionDuration: 7200.0", "max_session_duration", id="maxSessionDuration"),
    ],
)
def test_integer_fields_hold_ints(tmp_path: Path, kind: str, spec: str, attr: str) -> None:
    try:
        state = load(tmp_path, {file_of(kind): manifest(kind, spec), "support.yaml": SUPPORT})
    except ManifestError:
        return  # refusing 20.0 would be fine too
    assert type(getattr(state.get(kind, DEFAULT_NAMES[kind]), attr)) is int


@pytest.mark.parametrize(
    ("kind", "spec", "name", "expected"),
    [
        spec_case(
            "NotebookInstance",
            notebook("volumeSizeInGB: 20.0"),
            f"{N}:8:19: {NB}: spec.volumeSizeInGB: expected integer, got number 20.0",
            id="volumeSizeInGB",
        ),
        spec_case(
            "Role",
            role("maxSessionDuration: 7200.0"),
            f"{R}:7:23: Role/r: spec.maxSessionDuration: expected integer, got number 7200.0",
            id="maxSessionDuration",
        ),
        spec_case(
            "Settings",
            'accountId: "123456789012"\nmaxDeletes: 3.0',
            f"{S}:7:15: Settings/env: spec.maxDeletes: expected integer, got number 3.0",
            id="maxDeletes",
        ),
        spec_case(
            "Settings",
            'accountId: "123456789012"\nmaxDeletes: 1e3',  # YAML 1.1: a string, not a number
            f'{S}:7:15: Settings/env: spec.maxDeletes: expected integer, got string "1e3"',
            id="maxDeletes-1e3",
        ),
    ],
)
def test_integer_fields_refuse_floats(
    tmp_path: Path, kind: str, spec: str, name: str | None, expected: list[str]
) -> None:
    """YAML's 20.0 is a float, which boto3 refuses where AWS wants an integer: refused here, with a clear message."""
    check_spec_case(tmp_path, kind, spec, name, expected)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"# caf\xe9\n", id="latin-1"),
        pytest.param(b"\x00", id="nul"),
    ],
)
def test_unreadable_file_does_not_cascade(tmp_path: Path, raw: bytes) -> None:
    write(tmp_path, {"role.yaml": manifest("Role", f"{TRUST}\npolicies: [p]")})
    (tmp_path / "policy.yaml").write_bytes(manifest("Policy", DOC).encode() + raw)
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, {})
    assert [p.file for p in caught.value.problems] == ["m/policy.yaml"]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(SETTINGS + "  region: [\n", id="yaml-syntax-error"),
        pytest.param(SETTINGS.encode() + b"# caf\xe9\n", id="not-utf-8"),
        pytest.param(SETTINGS.encode() + b"\x00", id="nul"),
    ],
)
def test_unparsable_settings_is_not_also_reported_missing(tmp_path: Path, content: str | bytes) -> None:
    """The file that could not be read or parsed may be the Settings: its own problem is the only one."""
    write(tmp_path, {"group.yaml": manifest("Group")})
    path = tmp_path / "settings.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, {}, settings=False)
    checked_lines(caught.value)
    assert [p.file for p in caught.value.problems] == ["m/settings.yaml"]


def test_settings_with_an_unknown_kind_is_not_also_reported_missing(tmp_path: Path) -> None:
    text = SETTINGS.replace("kind: Settings", "kind: Setings")
    assert problems(tmp_path, {"settings.yaml": text}, settings=False) == [
        f"m/settings.yaml:2:7: Setings/env: kind: unknown kind 'Setings'; {UNKNOWN_KIND}",
    ]


def test_document_of_unknown_kind_hides_its_name_from_reference_checks(tmp_path: Path) -> None:
    files = {
        "policy.yaml": manifest("Policy", DOC).replace("kind: Policy", "kind: Polcy"),
        "role.yaml": manifest("Role", f"{TRUST}\npolicies: [p]"),
    }
    assert problems(tmp_path, files) == [
        f"m/policy.yaml:2:7: Polcy/p: kind: unknown kind 'Polcy'; {UNKNOWN_KIND}",
    ]


def test_an_empty_file_does_not_hide_dangling_references(tmp_path: Path) -> None:
    """An empty file declares nothing: references are still checked (only unparsable files stop them)."""
    files = {"empty.yaml": "# nothing yet\n", "user.yaml": manifest("User", "groups: [nobody]")}
    assert problems(tmp_path, files) == [
        "m/empty.yaml:1:1: file holds no manifest (empty file)",
        "m/user.yaml:6:12: User/u: spec.groups[0]: no Group manifest named 'nobody'",
    ]


@pytest.mark.parametrize(
    ("kind", "spec", "expected"),
    [
        pytest.param(
            "Policy",
            policy_doc("Statement: [x]"),
            [f'{P}:7:17: Policy/p: spec.document.Statement[0]: expected mapping, got string "x"'],
            id="policy-statement-string",
        ),
        pytest.param(
            "Bucket",
            "policy: [5]",
            [f"{B}:6:12: Bucket/bkt: spec.policy[0]: expected mapping, got number 5"],
            id="bucket-statement-number",
        ),
    ],
)
def test_non_mapping_statement_has_one_problem(tmp_path: Path, kind: str, spec: str, expected: list[str]) -> None:
    """'oneOf'/'not' of 'required' hold vacuously on a non-mapping: only the type error is reported."""
    assert problems(tmp_path, {file_of(kind): manifest(kind, spec)}) == expected


def test_role_spec_list_has_one_problem(tmp_path: Path) -> None:
    text = "apiVersion: reconciler/v1\nkind: Role\nmetadata:\n  name: r\nspec: []\n"
    assert problems(tmp_path, {"role.yaml": text}) == ["m/role.yaml:5:7: Role/r: spec: expected mapping, got list []"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: "a\\nb"\nspec: {}\n', id="name"),
        pytest.param('apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\nspec: {"x\\ny": 1}\n', id="key"),
        pytest.param('apiVersion: reconciler/v1\nkind: "Gr\\noup"\n', id="kind"),
        pytest.param(
            'apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: "a\\u2028b\\x1b[31m"\nspec: {}\n',
            id="line-separator-and-escape",
        ),
        pytest.param(
            'apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\nspec: {"a\\rb": 1, "a\\rb": 2}\n',
            id="duplicate-key",
        ),
        pytest.param(
            'kind: Settings\nmetadata: {name: "a\\nb"}\nspec: {accountId: "123456789012"}\n---\n'
            'kind: Settings\nmetadata: {name: "c\\nd"}\nspec: {accountId: "123456789012"}\n',
            id="settings",
        ),
    ],
)
def test_each_problem_is_one_line(tmp_path: Path, text: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, {"x.yaml": text})
    for line in str(caught.value).splitlines():
        assert PROBLEM_SHAPE.match(line), line
    assert len(str(caught.value).splitlines()) == len(caught.value.problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            'apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: "a\\nb"\nspec: {}\n',
            f'{X}:4:9: Group/a\\nb: metadata.name: "a\\nb" does not match the expected format {IAM_NAME_RE}',
            id="name",
        ),
        pytest.param(
            'apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\nspec: {"x\\ny": 1}\n',
            f"{X}:5:8: Group/g: spec.x\\ny: unknown field 'x\\ny'; allowed: deletionPolicy, inlinePolicies, path, "
            "policies, requireMFA",
            id="key",
        ),
        pytest.param(
            'apiVersion: reconciler/v1\nkind: "Gr\\noup"\n',
            f"{X}:2:7: Gr\\noup: kind: unknown kind 'Gr\\noup'; {UNKNOWN_KIND}",
            id="kind",
        ),
        pytest.param(
            'apiVersion: reconciler/v1\nkind: Group\nmetadata:\n  name: "a\\u2028b\\x1b[31m"\nspec: {}\n',
            f'{X}:4:9: Group/a\\u2028b\\x1b[31m: metadata.name: "a\\u2028b\\u001b[31m" does not match the '
            f"expected format {IAM_NAME_RE}",
            id="line-separator-and-escape",
        ),
    ],
)
def test_control_characters_are_escaped(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, {"x.yaml": text}) == [expected]


def test_file_name_with_a_newline_is_escaped(tmp_path: Path) -> None:
    assert problems(tmp_path, {"a\nb.yaml": "kind: Grupo\n"}) == [
        f"m/a\\nb.yaml:1:7: Grupo: kind: unknown kind 'Grupo'; {UNKNOWN_KIND}",
    ]


@pytest.mark.parametrize(
    ("kind", "spec", "name", "expected"),
    [
        # A JSON Schema pattern is an ECMA-262 regex: its $ is the very end, where Python's $ also matches before
        # a final newline, so a block scalar ("g" and a newline) passed as an IAM name.
        spec_case(
            "Group",
            "",
            f'{G}:4:9: Group/g\\n: metadata.name: "g\\n" does not match the expected format {IAM_NAME_RE}',
            name="|\n    g",
            id="name-with-a-final-newline",
        ),
        spec_case(
            "Settings",
            "accountId: |\n  123456789012",
            f'{S}:6:14: Settings/env: spec.accountId: "123456789012\\n" does not match the expected format '
            f"{ACCOUNT_RE}",
            id="accountId-with-a-final-newline",
        ),
        spec_case(
            "User",
            "tags:\n  ? |\n    team\n  : ml",
            f'{U}:7:7: User/u: spec.tags: key "team\\n" does not match the expected format {TAG_KEY_RE}',
            id="tag-key-with-a-final-newline",
        ),
    ],
)
def test_patterns_follow_json_schema_regex_semantics(
    tmp_path: Path, kind: str, spec: str, name: str | None, expected: list[str]
) -> None:
    check_spec_case(tmp_path, kind, spec, name, expected)


@pytest.mark.parametrize(
    ("kind", "spec", "name", "expected"),
    [
        # One vocabulary on both sides: mapping, list, string, number, boolean, null (and no "null null").
        spec_case(
            "Settings",
            'accountId: "123456789012"\nownershipTag:',
            f"{S}:7:16: Settings/env: spec.ownershipTag: expected mapping, got null",
            id="mapping-null",
        ),
        spec_case(
            "Settings",
            'accountId: "123456789012"\nexceptions:',
            f"{S}:7:14: Settings/env: spec.exceptions: expected list, got null",
            id="list-null",
        ),
        # A number where a string is expected gets the same kind of hint as a boolean does.
        spec_case(
            "Settings",
            "accountId: 000000000000",  # YAML 1.1 reads it as the octal number 0
            f"{S}:6:14: Settings/env: spec.accountId: expected string, got number 0 {NUMBER_HINT}",
            id="accountId-octal",
        ),
        spec_case(
            "Settings",
            "accountId: 1.5",
            f"{S}:6:14: Settings/env: spec.accountId: expected string, got number 1.5 {NUMBER_HINT}",
            id="accountId-float",
        ),
        # A YAML 1.1 boolean in an enum of strings gets the quoting hint.
        spec_case(
            "Bucket",
            "deletionPolicy: yes",
            f'{B}:6:19: Bucket/bkt: spec.deletionPolicy: true is not one of "Retain", "Delete" {QUOTE_HINT}',
            id="enum-bool",
        ),
        spec_case(
            "Bucket",
            "deletionPolicy: 1",
            f'{B}:6:19: Bucket/bkt: spec.deletionPolicy: 1 is not one of "Retain", "Delete"',
            id="enum-number",
        ),
        # Generic jsonschema messages are rewritten: no Python repr, values JSON-quoted and cut at 60 characters.
        spec_case(
            "Policy",
            f'description: "{"é" * 1001}"\n{DOC}',
            f'{P}:6:16: Policy/p: spec.description: "{"é" * 56}... is too long: 1001 characters, the limit is 1000',
            id="maxLength-counts-characters",
        ),
        spec_case(
            "Role",
            role("maxSessionDuration: 3599"),
            f"{R}:7:23: Role/r: spec.maxSessionDuration: 3599 is less than the minimum of 3600",
            id="minimum",
        ),
        # The duplicate of a list is named, with where it is.
        spec_case(
            "User",
            "groups: [a, b, b, a]",
            f'{U}:6:11: User/u: spec.groups: list has duplicate items: "b" at [1] and [2]',
            id="duplicate-later",
        ),
        spec_case(
            "Bucket",
            "access:\n  write: [Role/a, Group/g, Role/a]",
            f'{B}:7:12: Bucket/bkt: spec.access.write: list has duplicate items: "Role/a" at [0] and [2]',
            id="duplicate-apart",
        ),
        # Every unknown field is reported, each at its own key.
        spec_case(
            "Group",
            "users: [a]\nrequireMfa: true",
            f"{G}:6:3: Group/g: spec.users: unknown field 'users'; allowed: deletionPolicy, inlinePolicies, path, "
            "policies, requireMFA",
            f"{G}:7:3: Group/g: spec.requireMfa: unknown field 'requireMfa'; did you mean 'requireMFA'?",
            id="two-unknown-fields",
        ),
    ],
)
def test_messages(tmp_path: Path, kind: str, spec: str, name: str | None, expected: list[str]) -> None:
    check_spec_case(tmp_path, kind, spec, name, expected)


def test_no_message_prints_a_python_repr_of_a_value(tmp_path: Path) -> None:
    """Every rewritten message: an over-long list, mapping, string and key, and an empty string."""
    spec = "\n".join(
        [
            f"description: {'d' * 1001}",
            f"tags: {{{', '.join(f't{i}: v' for i in range(50))}}}",
            f"policies: [{', '.join(f'p{i}' for i in range(21))}]",
            f"inlinePolicies: {{{'i' * 129}: {{Statement: {{Effect: Allow, Action: '*'}}}}}}",
            'permissionsBoundary: ""',
        ]
    )
    lines = problems(tmp_path, {"role.yaml": manifest("Role", f"{TRUST}\n{spec}")})
    assert len(lines) == 5
    for line in lines:
        assert "'" not in line.split(": ", 3)[-1], line
        assert len(line) < 200, line
