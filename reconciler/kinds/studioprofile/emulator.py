"""What the embedded emulator (moto 5.2) lacks for Studio user profiles and their apps, added to it.

moto's SageMaker has no user profiles and no apps (HTTP 500). Added, onto ``SageMakerModelBackend`` and
``SageMakerResponse``, with the shapes of AWS's answers (botocore's service model):

  + create_user_profile / describe_user_profile / list_user_profiles / update_user_profile /
    delete_user_profile   profiles are InService at once; a profile with apps not Deleted cannot be deleted
                          (ResourceInUse), as in AWS
  + create_app / list_apps / delete_app   apps of a profile; a deleted app stays listed as ``Deleted`` for a
                          while in AWS, and here until the reset
  ~ add_tags / list_tags / delete_tags    on a profile ARN (``user-profile/DOMAIN/NAME``), a key's new value
                          replacing the old one
  ~ delete_domain         refused while the domain holds user profiles (ResourceInUse), as in AWS
  ~ update_domain         AppNetworkAccessType changed, or a subnet removed, refused while the domain has apps
                          InService, Pending or Deleting (ValidationException), as in AWS

Installed by ``reconciler.sandbox`` when the first emulator starts (``Kind.install_emulator``).
"""

# moto is imported inside functions on purpose: importing a kind must not import moto.
# ruff: noqa: PLC0415

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_installed = False


def install() -> None:
    """Add the profile and app APIs above to moto. Idempotent."""
    global _installed  # noqa: PLW0603 - once per process
    if _installed:
        return
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    from reconciler.kinds.studiodomain import emulator as domain_emulator

    domain_emulator.install()  # UpdateDomain, wrapped below
    wrapped: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
        "add_tags": _profile_add_tags,
        "list_tags": _profile_list_tags,
        "delete_tags": _profile_delete_tags,
        "delete_domain": _refusing_domain_with_profiles,
        "update_domain": _refusing_network_changes_with_apps,
    }
    for name, wrap in wrapped.items():
        setattr(SageMakerModelBackend, name, wrap(getattr(SageMakerModelBackend, name)))
    for name, function in _RESPONSES.items():
        setattr(SageMakerResponse, name, function)
    _installed = True


@dataclass
class _Profile:
    domain_id: str
    name: str
    arn: str
    user_settings: dict[str, Any]
    tags: list[dict[str, str]]
    created: datetime
    modified: datetime
    uid: str
    status: str = "InService"

    def summary(self) -> dict[str, Any]:
        return {
            "DomainId": self.domain_id,
            "UserProfileName": self.name,
            "Status": self.status,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified,
        }


@dataclass
class _App:
    domain_id: str
    profile: str
    app_type: str
    name: str
    arn: str
    created: datetime
    resource_spec: dict[str, Any] = field(default_factory=dict)
    status: str = "InService"

    def summary(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "DomainId": self.domain_id,
            "UserProfileName": self.profile,
            "AppType": self.app_type,
            "AppName": self.name,
            "Status": self.status,
            "CreationTime": self.created,
        }
        if self.resource_spec:
            answer["ResourceSpec"] = self.resource_spec
        return answer


def _profiles(backend: Any) -> dict[tuple[str, str], _Profile]:
    """The backend's profiles by (domain id, name); a reset makes new backends, so this starts empty again."""
    store: dict[tuple[str, str], _Profile] = backend.__dict__.setdefault("_studio_user_profiles", {})
    return store


def _apps(backend: Any) -> dict[tuple[str, str, str, str], _App]:
    store: dict[tuple[str, str, str, str], _App] = backend.__dict__.setdefault("_studio_apps", {})
    return store


def _error(kind: str, message: str) -> Exception:
    from moto.sagemaker import exceptions

    classes: dict[str, Callable[[str], Exception]] = {
        "ValidationException": exceptions.ValidationError,
        "ResourceNotFound": exceptions.ResourceNotFound,
        "ResourceInUse": exceptions.ResourceInUseException,
    }
    return classes[kind](message)


def _profile(backend: Any, domain_id: str, name: str) -> _Profile:
    found = _profiles(backend).get((domain_id, name))
    if found is None:
        raise _error("ResourceNotFound", f"User profile {name} does not exist in domain {domain_id}")
    return found


def _page(self: Any, items: list[Any]) -> tuple[list[Any], str | None]:
    max_results = int(self._get_param("MaxResults") or 10)
    token = self._get_param("NextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise _error("ValidationException", f"Invalid pagination token: {token}") from None
    end = start + max_results
    return items[start:end], (str(end) if end < len(items) else None)


def _sorted(self: Any, items: list[Any], keys: dict[str, Callable[[Any], Any]]) -> list[Any]:
    sort_by = self._get_param("SortBy") or "CreationTime"
    if sort_by not in keys:
        raise _error("ValidationException", f"Value '{sort_by}' at 'sortBy' failed to satisfy constraint")
    return sorted(items, key=keys[sort_by], reverse=(self._get_param("SortOrder") or "Descending") == "Descending")


# --- user profiles ----------------------------------------------------------------------------------


def _create_user_profile(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.utils import arn_formatter

    backend = self.sagemaker_backend
    domain_id, name = self._get_param("DomainId"), self._get_param("UserProfileName")
    if domain_id not in backend.domains:
        raise _error("ResourceNotFound", f"Domain {domain_id} does not exist")
    if (domain_id, name) in _profiles(backend):
        raise _error("ResourceInUse", f"User profile {name} already exists in domain {domain_id}")
    now = utcnow()
    profile = _Profile(
        domain_id=domain_id,
        name=name,
        arn=arn_formatter("user-profile", f"{domain_id}/{name}", backend.account_id, backend.region_name),
        user_settings=dict(self._get_param("UserSettings") or {}),
        tags=list(self._get_param("Tags") or []),
        created=now,
        modified=now,
        uid=str(random.randint(200001, 299999)),  # noqa: S311 - an emulated POSIX uid, not a secret
    )
    _profiles(backend)[(domain_id, name)] = profile
    return ActionResult({"UserProfileArn": profile.arn})


def _describe_user_profile(self: Any) -> Any:
    from moto.core.responses import ActionResult

    p = _profile(self.sagemaker_backend, self._get_param("DomainId"), self._get_param("UserProfileName"))
    return ActionResult(
        {
            "DomainId": p.domain_id,
            "UserProfileArn": p.arn,
            "UserProfileName": p.name,
            "HomeEfsFileSystemUid": p.uid,
            "Status": p.status,
            "LastModifiedTime": p.modified,
            "CreationTime": p.created,
            "UserSettings": p.user_settings,
        }
    )


def _list_user_profiles(self: Any) -> Any:
    from moto.core.responses import ActionResult

    domain_id, contains = self._get_param("DomainIdEquals"), self._get_param("UserProfileNameContains")
    found = [
        p
        for p in _profiles(self.sagemaker_backend).values()
        if (not domain_id or p.domain_id == domain_id) and (not contains or contains in p.name)
    ]
    found = _sorted(self, found, {"CreationTime": lambda p: p.created, "LastModifiedTime": lambda p: p.modified})
    page, token = _page(self, found)
    return ActionResult({"UserProfiles": [p.summary() for p in page], "NextToken": token})


def _update_user_profile(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    p = _profile(self.sagemaker_backend, self._get_param("DomainId"), self._get_param("UserProfileName"))
    if p.status != "InService":
        raise _error("ValidationException", f"User profile {p.name} is {p.status}: it cannot be updated")
    p.user_settings = {**p.user_settings, **(self._get_param("UserSettings") or {})}
    p.modified = utcnow()
    return ActionResult({"UserProfileArn": p.arn})


def _delete_user_profile(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    backend = self.sagemaker_backend
    p = _profile(backend, self._get_param("DomainId"), self._get_param("UserProfileName"))
    apps = [a for a in _apps(backend).values() if (a.domain_id, a.profile) == (p.domain_id, p.name)]
    if any(a.status != "Deleted" for a in apps):
        raise _error("ResourceInUse", f"User profile {p.name} has apps that are not deleted: delete them first")
    del _profiles(backend)[(p.domain_id, p.name)]
    return EmptyResult()


# --- apps ------------------------------------------------------------------------------------------


def _create_app(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.utils import arn_formatter

    backend = self.sagemaker_backend
    domain_id, profile = self._get_param("DomainId"), self._get_param("UserProfileName")
    app_type, name = self._get_param("AppType"), self._get_param("AppName")
    _profile(backend, domain_id, profile)
    key = (domain_id, profile, app_type, name)
    existing = _apps(backend).get(key)
    if existing is not None and existing.status != "Deleted":
        raise _error("ResourceInUse", f"App {app_type}/{name} already exists for user profile {profile}")
    arn = arn_formatter(
        "app", f"{domain_id}/{profile}/{app_type.lower()}/{name}", backend.account_id, backend.region_name
    )
    _apps(backend)[key] = _App(domain_id, profile, app_type, name, arn, utcnow(), self._get_param("ResourceSpec") or {})
    return ActionResult({"AppArn": arn})


def _list_apps(self: Any) -> Any:
    from moto.core.responses import ActionResult

    domain_id, profile = self._get_param("DomainIdEquals"), self._get_param("UserProfileNameEquals")
    if profile and not domain_id:
        raise _error("ValidationException", "UserProfileNameEquals requires DomainIdEquals")
    found = [
        a
        for a in _apps(self.sagemaker_backend).values()
        if (not domain_id or a.domain_id == domain_id) and (not profile or a.profile == profile)
    ]
    page, token = _page(self, _sorted(self, found, {"CreationTime": lambda a: a.created}))
    return ActionResult({"Apps": [a.summary() for a in page], "NextToken": token})


def _delete_app(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    key = (
        self._get_param("DomainId"),
        self._get_param("UserProfileName"),
        self._get_param("AppType"),
        self._get_param("AppName"),
    )
    app = _apps(self.sagemaker_backend).get(key)
    if app is None or app.status == "Deleted":
        raise _error("ResourceNotFound", f"App {key[2]}/{key[3]} does not exist")
    app.status = "Deleted"
    return EmptyResult()


_RESPONSES: dict[str, Callable[..., Any]] = {
    "create_user_profile": _create_user_profile,
    "describe_user_profile": _describe_user_profile,
    "list_user_profiles": _list_user_profiles,
    "update_user_profile": _update_user_profile,
    "delete_user_profile": _delete_user_profile,
    "create_app": _create_app,
    "list_apps": _list_apps,
    "delete_app": _delete_app,
}


# --- tags on profiles, and domains that hold profiles ----------------------------------------------


def _profile_by_arn(backend: Any, arn: str) -> _Profile:
    domain_id, _, name = arn.split(":user-profile/", 1)[1].partition("/")
    found = _profiles(backend).get((domain_id, name))
    if found is None:
        raise _error("ValidationException", f"Could not find user-profile with name {domain_id}/{name}")
    return found


def _profile_add_tags(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def add_tags(self: Any, arn: str, tags: list[dict[str, str]]) -> Any:
        if ":user-profile/" not in arn:
            return original(self, arn, tags)
        profile = _profile_by_arn(self, arn)
        keys = {t["Key"] for t in tags}
        profile.tags = [t for t in profile.tags if t["Key"] not in keys] + list(tags)
        return profile.tags

    return add_tags


def _profile_list_tags(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def list_tags(self: Any, arn: str, **kwargs: Any) -> Any:
        if ":user-profile/" not in arn:
            return original(self, arn=arn, **kwargs)
        return list(_profile_by_arn(self, arn).tags), None

    return list_tags


def _profile_delete_tags(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete_tags(self: Any, arn: str, tag_keys: list[str]) -> None:
        if ":user-profile/" not in arn:
            original(self, arn, tag_keys)
            return
        profile = _profile_by_arn(self, arn)
        profile.tags = [t for t in profile.tags if t["Key"] not in tag_keys]

    return delete_tags


def _refusing_domain_with_profiles(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete_domain(self: Any, domain_id: str, retention_policy: dict[str, str] | None) -> None:
        held = sorted(name for (domain, name) in _profiles(self) if domain == domain_id)
        if held:
            raise _error(
                "ResourceInUse", f"Domain {domain_id} has user profiles ({', '.join(held)}): delete them first"
            )
        original(self, domain_id=domain_id, retention_policy=retention_policy)

    return delete_domain


def _refusing_network_changes_with_apps(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update_domain(self: Any, domain_id: str, **kwargs: Any) -> Any:
        domain = self.domains.get(domain_id)
        busy = [
            a
            for a in _apps(self).values()
            if a.domain_id == domain_id and a.status in ("InService", "Pending", "Deleting")
        ]
        if domain is not None and busy:
            access, subnets = kwargs.get("app_network_access_type"), kwargs.get("subnet_ids")
            if access is not None and access != domain.app_network_access_type:
                raise _error("ValidationException", "AppNetworkAccessType cannot be updated while apps are running")
            if subnets is not None and set(domain.subnet_ids) - set(subnets):
                raise _error("ValidationException", "Subnets cannot be removed while apps are running")
        return original(self, domain_id, **kwargs)

    return update_domain
