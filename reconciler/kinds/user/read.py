"""Reading users: from the shared GetAccountAuthorizationDetails answer, plus, per user named in git or owned,
console access and access keys (``GetLoginProfile``, ``ListAccessKeys``), and, per user a plan may delete, what
deleting it removes (MFA devices, signing certificates, SSH public keys)."""

from __future__ import annotations

from dataclasses import replace

from botocore.exceptions import ClientError

from reconciler.aws.answers import document, error_code, tags
from reconciler.aws.clients import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.iamread import account_details
from reconciler.kinds.user import LiveUser


def read(session: ReadSession) -> dict[str, LiveUser]:
    scope = session.scope
    users = {
        u["UserName"]: LiveUser(
            name=u["UserName"],
            arn=u["Arn"],
            path=u.get("Path", "/"),
            groups=tuple(sorted(u.get("GroupList", []))),
            attached=tuple(sorted(a["PolicyArn"] for a in u.get("AttachedManagedPolicies", []))),
            inline={i["PolicyName"]: document(i["PolicyDocument"]) for i in u.get("UserPolicyList", [])},
            tags=tags(u.get("Tags")),
            boundary=(u.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        )
        for u in account_details(session)["UserDetailList"]
    }
    considered = [n for n, u in users.items() if scope.detailed("User", n, u.tags)]
    deletable = [n for n, u in users.items() if scope.may_delete("User", n, u.tags)]
    logins = session.fan_out(lambda n: _has_login_profile(session, n), considered)
    keys = session.fan_out(lambda n: _access_keys(session, n), considered)
    credentials = session.fan_out(lambda n: _credentials(session, n), deletable)
    for name, login, key in zip(considered, logins, keys, strict=True):
        users[name] = replace(users[name], console_access=login.result(), access_keys=key.result())
    for name, future in zip(deletable, credentials, strict=True):
        mfa, certificates, ssh = future.result()
        users[name] = replace(users[name], mfa_devices=mfa, signing_certificates=certificates, ssh_public_keys=ssh)
    return users


def _has_login_profile(session: ReadSession, user: str) -> bool:
    try:
        with translate_errors("reading IAM (GetLoginProfile)"):
            session.factory.client("iam").get_login_profile(UserName=user)
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return False
        raise
    return True


def _access_keys(session: ReadSession, user: str) -> tuple[str, ...]:
    with translate_errors("reading IAM (ListAccessKeys)"):
        pages = session.factory.client("iam").get_paginator("list_access_keys").paginate(UserName=user)
        return tuple(
            sorted(
                f"{k['AccessKeyId']} ({k.get('Status', 'Active')})"
                for page in pages
                for k in page.get("AccessKeyMetadata", [])
            )
        )


def _credentials(session: ReadSession, user: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """MFA devices, signing certificates and SSH public keys: what deleting the user removes."""
    iam = session.factory.client("iam")
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
