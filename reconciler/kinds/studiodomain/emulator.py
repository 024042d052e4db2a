"""What the embedded emulator (moto 5.2) lacks for Studio domains, added to it.

moto's SageMaker creates, describes, lists and deletes domains, but has no UpdateDomain (HTTP 500), names a
domain's id after its name (``d-NAME``: a second domain of one name silently replaced the first, where AWS keeps
both under random ids), and keeps ``Tags`` as given (None without tags: AddTags then fails; AddTags appends a
second value for a key AWS overwrites). Added, onto ``SageMakerModelBackend`` and ``SageMakerResponse``:

  + update_domain      as AWS: DefaultUserSettings merged, SubnetIds, AppNetworkAccessType; VpcId only where
                       the domain has none; an unknown domain is a ValidationException
  ~ Domain.__init__    a random id (``d-`` and 12 characters, as AWS), tags a list
  ~ create_domain      answers DomainId too, as AWS does
  ~ add_tags           on a domain: a key's new value replaces the old one, as in AWS

Installed by ``reconciler.sandbox`` when the first emulator starts (``Kind.install_emulator``).
"""

# moto is imported inside functions on purpose: importing a kind must not import moto.
# ruff: noqa: PLC0415

from __future__ import annotations

import functools
import secrets
import string
from collections.abc import Callable
from typing import Any

_installed = False
_ID_ALPHABET = string.ascii_lowercase + string.digits


def install() -> None:
    """Add the domain APIs above to moto. Idempotent."""
    global _installed  # noqa: PLW0603 - once per process
    if _installed:
        return
    from moto.sagemaker.models import Domain, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    setattr(Domain, "__init__", _random_id(Domain.__init__))  # noqa: B010
    setattr(SageMakerModelBackend, "add_tags", _replacing_domain_tags(SageMakerModelBackend.add_tags))  # noqa: B010
    setattr(SageMakerModelBackend, "create_domain", _answering_id(SageMakerModelBackend.create_domain))  # noqa: B010
    setattr(SageMakerModelBackend, "update_domain", _backend_update_domain)  # noqa: B010
    setattr(SageMakerResponse, "update_domain", _response_update_domain)  # noqa: B010
    _installed = True


def _random_id(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        from moto.sagemaker.utils import arn_formatter

        original(self, *args, **kwargs)
        self.id = "d-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
        self.arn = arn_formatter("domain", self.id, self.account_id, self.region_name)
        self.tags = list(self.tags or [])

    return __init__


def _answering_id(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    @functools.wraps(original)
    def create_domain(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = dict(original(self, *args, **kwargs))
        return {**answer, "DomainId": str(answer["DomainArn"]).rsplit("/", 1)[-1]}

    return create_domain


def _replacing_domain_tags(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def add_tags(self: Any, arn: str, tags: list[dict[str, str]]) -> Any:
        if ":domain/" not in arn:
            return original(self, arn, tags)
        domain = self._get_resource_from_arn(arn)
        keys = {t["Key"] for t in tags}
        domain.tags = [t for t in domain.tags or [] if t["Key"] not in keys] + list(tags)
        return domain.tags

    return add_tags


def _validation_error(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    error: Exception = ValidationError(message=message)
    return error


def _backend_update_domain(
    self: Any,
    domain_id: str,
    *,
    default_user_settings: dict[str, Any] | None = None,
    subnet_ids: list[str] | None = None,
    app_network_access_type: str | None = None,
    vpc_id: str | None = None,
) -> str:
    """UpdateDomain, as AWS does it: given settings replace those of the same name, the rest stay."""
    from moto.core.utils import utcnow

    domain = self.domains.get(domain_id)
    if domain is None:
        raise _validation_error(f"Could not find domain '{domain_id}'.")
    if domain.status != "InService":
        raise _validation_error(f"Domain {domain_id} is {domain.status}: it cannot be updated")
    if app_network_access_type not in (None, "VpcOnly", "PublicInternetOnly"):
        raise _validation_error(
            f"Value '{app_network_access_type}' at 'appNetworkAccessType' failed to satisfy constraint: "
            "Member must satisfy enum value set: [PublicInternetOnly, VpcOnly]"
        )
    if vpc_id is not None and domain.vpc_id and vpc_id != domain.vpc_id:
        raise _validation_error("VpcId can be set only on a domain created without a VPC")
    if default_user_settings:
        domain.default_user_settings = {**(domain.default_user_settings or {}), **default_user_settings}
    if subnet_ids is not None:
        domain.subnet_ids = subnet_ids
    if app_network_access_type is not None:
        domain.app_network_access_type = app_network_access_type
    if vpc_id is not None:
        domain.vpc_id = vpc_id
    domain.last_modified_time = utcnow()
    return str(domain.arn)


def _response_update_domain(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arn = self.sagemaker_backend.update_domain(
        domain_id=self._get_param("DomainId"),
        default_user_settings=self._get_param("DefaultUserSettings"),
        subnet_ids=self._get_param("SubnetIds"),
        app_network_access_type=self._get_param("AppNetworkAccessType"),
        vpc_id=self._get_param("VpcId"),
    )
    return ActionResult({"DomainArn": arn})
