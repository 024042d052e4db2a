"""What the embedded emulator (moto 5.2) lacks for users, added to it: users' permissions boundaries.

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

Installed by ``reconciler.sandbox`` when the first emulator starts (``Kind.install_emulator``); moto is
imported only then.
"""

from __future__ import annotations

import functools
import re
from typing import Any

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


def install() -> None:
    """Add users' permissions boundaries to moto: the model property its serializer reads (GetUser,
    GetAccountAuthorizationDetails), CreateUser's parameter, and the Put/Delete actions. Idempotent."""
    global _installed  # noqa: PLW0603 - once per process
    if _installed:
        return
    from moto.iam.models import User  # noqa: PLC0415
    from moto.iam.responses import IamResponse  # noqa: PLC0415

    additions: list[tuple[type, str, Any]] = [
        (User, "permissions_boundary_arn", None),
        (User, "permissions_boundary", property(_boundary)),
        (IamResponse, "create_user", _creating_with_boundary(IamResponse.create_user)),
        (IamResponse, "put_user_permissions_boundary", _put_user_permissions_boundary),
        (IamResponse, "delete_user_permissions_boundary", _delete_user_permissions_boundary),
    ]
    for cls, name, value in additions:
        setattr(cls, name, value)
    _installed = True
