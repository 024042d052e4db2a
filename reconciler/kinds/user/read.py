"""Reading users: from the shared GetAccountAuthorizationDetails answer, plus, per user named in git or owned,
console access and access keys, and, per user a plan may delete, what deleting it removes (MFA devices, signing
certificates, SSH public keys).

Console access (whether the user has a login profile) comes from the account's credential report when more than
:data:`REPORT_FROM_USERS` - 1 users are read: ``GenerateCredentialReport`` until it is ``COMPLETE`` (bounded),
then ``GetCredentialReport``: two calls for the whole account instead of one ``GetLoginProfile`` per user. AWS
regenerates the report only when it is more than 4 hours old, so its answer can be that old. Only its "a
password is there" is taken, and only where git says so too (or says nothing: a user to delete): a user the
report does not list (created since), lists without a password (one may have been made since, by hand or by the
reconciler) or lists otherwise than git says is read with ``GetLoginProfile``. So a console password is never
missed; what can lag, up to 4 hours, is a password *removed* since the report, for a user git gives one: it is
recreated once AWS makes a new report. Where the report cannot be had (no permission, not ready in time),
``GetLoginProfile`` per user.

By name (a targeted read): ``GetUser``, ``ListGroupsForUser``, ``ListAttachedUserPolicies``,
``ListUserPolicies`` and ``GetUserPolicy`` per inline policy, ``GetLoginProfile``, ``ListAccessKeys``, and what
deleting it removes for a user the plan may delete.
"""

from __future__ import annotations

import csv
import io
import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import structlog
from botocore.exceptions import ClientError

from reconciler.aws.answers import document, error_code, tags
from reconciler.aws.clients import ClientFactory
from reconciler.aws.failures import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.errors import AwsAccessError
from reconciler.kinds.iamnamed import call, listed, resolve
from reconciler.kinds.iamread import account_details
from reconciler.kinds.user import LiveUser

if TYPE_CHECKING:
    from mypy_boto3_iam.client import IAMClient

log = structlog.get_logger(__name__)

#: From this many users to read on, console access comes from the credential report (2 calls) rather than one
#: GetLoginProfile per user.
REPORT_FROM_USERS = 3
#: How long to wait for AWS to generate the credential report, and how often to ask.
REPORT_WAIT_SECONDS = 60.0
REPORT_POLL_SECONDS = (0.2, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class ReportRow:
    """One user's line of the credential report (what the reconciler reads of it)."""

    password_enabled: bool
    mfa_active: bool


def read(session: ReadSession) -> dict[str, LiveUser]:
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
    scope = session.scope
    considered = [n for n, u in users.items() if scope.detailed("User", n, u.tags)]
    deletable = [n for n, u in users.items() if scope.may_delete("User", n, u.tags)]
    keys = session.fan_out(lambda n: _access_keys(session, n), considered)
    credentials = session.fan_out(lambda n: _credentials(session, n), deletable)
    logins, reported = console_access(session, considered)
    for name, key in zip(considered, keys, strict=True):
        users[name] = replace(
            users[name], console_access=logins[name], console_from_report=name in reported, access_keys=key.result()
        )
    for name, future in zip(deletable, credentials, strict=True):
        mfa, certificates, ssh = future.result()
        users[name] = replace(users[name], mfa_devices=mfa, signing_certificates=certificates, ssh_public_keys=ssh)
    return users


def console_access(session: ReadSession, names: list[str]) -> tuple[dict[str, bool], set[str]]:
    """Whether each of ``names`` has a login profile: from the credential report for many users, each answer
    that the report lacks or that differs from git confirmed by ``GetLoginProfile``; else per user. And the users
    whose answer is the report's."""
    report = credential_report(session.factory) if len(names) >= REPORT_FROM_USERS else None
    git = session.scope.hints.get("User", {})
    known: dict[str, bool] = {}
    if report is not None:
        for name in names:
            row = report.get(name)
            if row is not None and row.password_enabled and git.get(name) in (None, True):
                known[name] = True
    reported = set(known)
    asked = [n for n in names if n not in known]
    answers = session.fan_out(lambda n: _has_login_profile(session.factory, n), asked)
    for name, future in zip(asked, answers, strict=True):
        known[name] = future.result()
    return known, reported


def confirm_console_access(factory: ClientFactory, users: Mapping[str, LiveUser]) -> dict[str, LiveUser]:
    """``users`` whose console access is the credential report's answer, read again with ``GetLoginProfile``: a
    plan reads so the users it changes, which apply reads again the same way before writing."""
    out: dict[str, LiveUser] = {}
    for name, user in users.items():
        if user.console_from_report:
            out[name] = replace(user, console_access=_has_login_profile(factory, name), console_from_report=False)
    return out


def credential_report(factory: ClientFactory) -> dict[str, ReportRow] | None:
    """The account's credential report, by user name (the root account's line left out); None when it cannot
    be had (no permission, not generated within :data:`REPORT_WAIT_SECONDS`), said in a warning.

    ``GenerateCredentialReport`` is allowed to read-only clients (``reconciler.aws.operations``): it changes no
    resource, permission or credential; AWS makes a new report only when the last one is over 4 hours old."""
    iam = factory.client("iam")
    deadline = time.monotonic() + REPORT_WAIT_SECONDS
    try:
        with translate_errors("reading IAM (GenerateCredentialReport)"):
            iam.generate_credential_report()
        for attempt in itertools.count():
            try:
                with translate_errors("reading IAM (GetCredentialReport)"):
                    return _rows(iam.get_credential_report()["Content"])
            except ClientError as exc:
                code = error_code(exc)
                if code not in ("ReportInProgress", "ReportNotPresent", "ReportExpired"):
                    raise
            if time.monotonic() > deadline:
                log.warning("the credential report was not ready in time; reading login profiles one by one")
                return None
            time.sleep(REPORT_POLL_SECONDS[min(attempt, len(REPORT_POLL_SECONDS) - 1)])
            if code != "ReportInProgress":  # none to wait for: ask for one again
                with translate_errors("reading IAM (GenerateCredentialReport)"):
                    iam.generate_credential_report()
    except (ClientError, AwsAccessError) as exc:
        log.warning("the credential report cannot be read; reading login profiles one by one", error=str(exc))
    return None


def _rows(content: bytes | str) -> dict[str, ReportRow]:
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    return {
        row["user"]: ReportRow(row.get("password_enabled") == "true", row.get("mfa_active") == "true")
        for row in csv.DictReader(io.StringIO(text))
        if row.get("user") and row["user"] != "<root_account>"
    }


def _has_login_profile(factory: ClientFactory, user: str) -> bool:
    try:
        with translate_errors("reading IAM (GetLoginProfile)"):
            factory.client("iam").get_login_profile(UserName=user)
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return False
        raise
    return True


def _access_keys(session: ReadSession, user: str) -> tuple[str, ...]:
    with translate_errors("reading IAM (ListAccessKeys)"):
        pages = session.factory.client("iam").get_paginator("list_access_keys").paginate(UserName=user)
        return _keys(pages)


def _keys(pages: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
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


def read_named(session: ReadSession, names: frozenset[str]) -> dict[str, LiveUser]:
    iam = session.factory.client("iam")
    first: dict[tuple[str, str], Callable[[], Any]] = {}
    for name in sorted(names):
        first[(name, "user")] = call("GetUser", iam.get_user, UserName=name)
        first[(name, "groups")] = call("ListGroupsForUser", _groups, iam, name)
        first[(name, "attached")] = call("ListAttachedUserPolicies", _attached, iam, name)
        first[(name, "inline")] = call("ListUserPolicies", _inline_names, iam, name)
        first[(name, "login")] = call("GetLoginProfile", _has_login_profile, session.factory, name)
        first[(name, "keys")] = call("ListAccessKeys", _access_keys, session, name)
    found = resolve(session, first)
    parts = ("user", "groups", "attached", "inline", "login", "keys")
    existing: dict[str, dict[str, Any]] = {}
    for name in sorted(names):
        answer = found[(name, "user")]
        if answer is not None and all(found[(name, part)] is not None for part in parts):
            existing[name] = answer["User"]
    second: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, user in existing.items():
        for policy in found[(name, "inline")] or ():
            second[(name, f"inline:{policy}")] = call(
                "GetUserPolicy", iam.get_user_policy, UserName=name, PolicyName=policy
            )
        if session.scope.may_delete("User", name, tags(user.get("Tags"))):
            second[(name, "credentials")] = call("ListMFADevices", _credentials, session, name)
    details = resolve(session, second)
    out: dict[str, LiveUser] = {}
    for name, u in existing.items():
        inline = {}
        for policy in found[(name, "inline")] or ():
            answer = details[(name, f"inline:{policy}")]
            if answer is not None:
                inline[policy] = document(answer["PolicyDocument"])
        live = LiveUser(
            name=u["UserName"],
            arn=u["Arn"],
            path=u.get("Path", "/"),
            groups=tuple(sorted(found[(name, "groups")] or ())),
            attached=tuple(sorted(found[(name, "attached")] or ())),
            inline=inline,
            tags=tags(u.get("Tags")),
            boundary=(u.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            console_access=bool(found[(name, "login")]),
            access_keys=found[(name, "keys")],
        )
        credentials = details.get((name, "credentials"))
        if credentials is not None:
            mfa, certificates, ssh = credentials
            live = replace(live, mfa_devices=mfa, signing_certificates=certificates, ssh_public_keys=ssh)
        out[name] = live
    return out


def _groups(iam: IAMClient, name: str) -> tuple[str, ...]:
    return listed(iam.get_paginator("list_groups_for_user").paginate(UserName=name), "Groups", "GroupName")


def _attached(iam: IAMClient, name: str) -> tuple[str, ...]:
    pages = iam.get_paginator("list_attached_user_policies").paginate(UserName=name)
    return listed(pages, "AttachedPolicies", "PolicyArn")


def _inline_names(iam: IAMClient, name: str) -> tuple[str, ...]:
    return listed(iam.get_paginator("list_user_policies").paginate(UserName=name), "PolicyNames")
