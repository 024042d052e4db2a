"""What the embedded emulator (moto 5.2) lacks for users, added to it: users' permissions boundaries, and a
credential report that is as old as AWS's can be.

moto's users have no permissions boundary: CreateUser ignores ``PermissionsBoundary``,
PutUserPermissionsBoundary / DeleteUserPermissionsBoundary answer HTTP 500, and GetUser /
GetAccountAuthorizationDetails never show one. AWS has them, and a boundary set by hand on a managed user
is drift the reconciler must see and remove. Added, onto ``User`` (the model) and ``IamResponse`` (the
actions):

  + permissions_boundary                the property moto's serializer reads (GetUser,
                                        GetAccountAuthorizationDetails)
  + put_user_permissions_boundary       validated as AWS does (the ARN, the policy exists)
  + delete_user_permissions_boundary
  ~ create_user                         honours ``PermissionsBoundary``

AWS compiles the credential report when ``GenerateCredentialReport`` is called and the last report is more than
4 hours old, and ``GetCredentialReport`` answers that report until then: a login profile made or removed since is
not in it. moto compiles it afresh on every ``GetCredentialReport``. Added, onto ``IAMBackend`` (the times are
``reconciler.clock``'s, so that tests can make a report old without waiting):

  ~ report_generated / generate_report  a report is kept for 4 hours; a request after that compiles a new one
  ~ get_credential_report               the report as it was compiled

Installed by ``reconciler.sandbox`` when the first emulator starts (``Kind.install_emulator``); moto is
imported only then.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from reconciler import clock

_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]+$")
_installed = False


def _boundary(self: Any) -> dict[str, str] | None:
    arn = getattr(self, "permissions_boundary_arn", None)
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn} if arn else None


def _set_boundary(backend: Any, user_name: str, arn: str | None) -> None:
    from moto.iam.exceptions import InvalidInput, NoSuchEntity  # noqa: PLC0415 - moto only with the sandbox

    if arn and not _POLICY_ARN.match(arn):
        raise InvalidInput(f"ARN {arn} is not valid.")
    user = backend.get_user(user_name)
    if arn and arn.split(":")[4] != "aws" and arn not in backend.managed_policies:
        raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
    user.permissions_boundary_arn = arn


def _put_user_permissions_boundary(self: Any) -> Any:
    from moto.core.responses import EmptyResult  # noqa: PLC0415

    _set_boundary(self.backend, self._get_param("UserName"), self._get_param("PermissionsBoundary"))
    return EmptyResult()


def _delete_user_permissions_boundary(self: Any) -> Any:
    from moto.core.responses import EmptyResult  # noqa: PLC0415

    _set_boundary(self.backend, self._get_param("UserName"), None)
    return EmptyResult()


def _creating_with_boundary(original: Any) -> Any:
    @functools.wraps(original)
    def create_user(self: Any) -> Any:
        result = original(self)
        boundary = self._get_param("PermissionsBoundary")
        if boundary:
            _set_boundary(self.backend, self._get_param("UserName"), boundary)
        return result

    return create_user


#: How long AWS keeps a credential report before a GenerateCredentialReport compiles a new one.
REPORT_LIFETIME = dt.timedelta(hours=4)


def _kept_report(backend: Any) -> tuple[dt.datetime, str] | None:
    kept: tuple[dt.datetime, str] | None = getattr(backend, "reconciler_credential_report", None)
    if kept is None or clock.now() - kept[0] >= REPORT_LIFETIME:
        return None
    return kept


def _report_generated(self: Any) -> bool:
    return _kept_report(self) is not None


def _generating_report(original_get: Any) -> Any:
    def generate_report(self: Any) -> None:
        if _kept_report(self) is None:
            self.credential_report = True
            self.reconciler_credential_report = (clock.now(), original_get(self))

    return generate_report


def _get_kept_report(self: Any) -> str:
    from moto.iam.exceptions import ReportNotPresentException  # noqa: PLC0415

    kept: tuple[dt.datetime, str] | None = getattr(self, "reconciler_credential_report", None)
    if kept is None:
        raise ReportNotPresentException("Credential report not present")
    return kept[1]


def install() -> None:
    """Add users' permissions boundaries to moto: the model property its serializer reads (GetUser,
    GetAccountAuthorizationDetails), CreateUser's parameter, and the Put/Delete actions; and a credential
    report kept as AWS keeps it. Idempotent."""
    global _installed  # noqa: PLW0603 - once per process
    if _installed:
        return
    from moto.iam.models import IAMBackend, User  # noqa: PLC0415
    from moto.iam.responses import IamResponse  # noqa: PLC0415

    additions: list[tuple[type, str, Any]] = [
        (IAMBackend, "report_generated", _report_generated),
        (IAMBackend, "generate_report", _generating_report(IAMBackend.get_credential_report)),
        (IAMBackend, "get_credential_report", _get_kept_report),
        (User, "permissions_boundary_arn", None),
        (User, "permissions_boundary", property(_boundary)),
        (IamResponse, "create_user", _creating_with_boundary(IamResponse.create_user)),
        (IamResponse, "put_user_permissions_boundary", _put_user_permissions_boundary),
        (IamResponse, "delete_user_permissions_boundary", _delete_user_permissions_boundary),
    ]
    for cls, name, value in additions:
        setattr(cls, name, value)
    _installed = True
