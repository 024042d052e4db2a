"""What the embedded emulator (moto 5.2) lacks for notebook instances, added to it.

moto's SageMaker has no UpdateNotebookInstance, ListNotebookInstanceLifecycleConfigs nor
UpdateNotebookInstanceLifecycleConfig (it answers HTTP 500, NotImplementedError), and its
CreateNotebookInstance leaves RootAccess unset, so DescribeNotebookInstance omitted it. Added, onto
``SageMakerModelBackend`` (the model) and ``SageMakerResponse`` (the action):

  + update_notebook_instance                   as AWS: only a Stopped instance, validated
  + list_notebook_instance_lifecycle_configs   NameContains, SortBy, SortOrder, paged
  + update_notebook_instance_lifecycle_config  OnCreate / OnStart
  ~ create_notebook_instance                   RootAccess defaults to "Enabled", as in AWS

moto's response classes find actions by method name (camelcase_to_underscores(Action)), so adding a
method to the response class is enough to route a new action. Installed by ``reconciler.sandbox`` when the
first emulator starts (``Kind.install_emulator``); moto is imported only then.
"""

# moto is imported inside functions on purpose: importing a kind must not import moto.
# ruff: noqa: PLC0415

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_ROOT_ACCESS_VALUES = ("Enabled", "Disabled")
_installed = False


def install() -> None:
    """Add the notebook APIs above to moto. Idempotent."""
    global _installed  # noqa: PLW0603 - once per process
    if _installed:
        return
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    original_create = SageMakerModelBackend.create_notebook_instance
    setattr(  # noqa: B010
        SageMakerModelBackend, "create_notebook_instance", _defaulting_root_access(original_create)
    )
    backend_methods: dict[str, Callable[..., Any]] = {
        "update_notebook_instance": _backend_update_notebook_instance,
        "list_notebook_instance_lifecycle_configs": _backend_list_notebook_instance_lifecycle_configs,
        "update_notebook_instance_lifecycle_config": _backend_update_notebook_instance_lifecycle_config,
    }
    response_methods: dict[str, Callable[..., Any]] = {
        "update_notebook_instance": _response_update_notebook_instance,
        "list_notebook_instance_lifecycle_configs": _response_list_notebook_instance_lifecycle_configs,
        "update_notebook_instance_lifecycle_config": _response_update_notebook_instance_lifecycle_config,
    }
    for name, function in backend_methods.items():
        setattr(SageMakerModelBackend, name, function)
    for name, function in response_methods.items():
        setattr(SageMakerResponse, name, function)
    _installed = True


def _validation_error(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    error: Exception = ValidationError(message=message)
    return error


# --- notebook instances ----------------------------------------------------------------------------


def _defaulting_root_access(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_notebook_instance(self: Any, *args: Any, **kwargs: Any) -> Any:
        root_access = kwargs.get("root_access")
        if root_access is None:
            kwargs["root_access"] = "Enabled"
        elif root_access not in _ROOT_ACCESS_VALUES:
            raise _validation_error(
                f"Value '{root_access}' at 'rootAccess' failed to satisfy constraint: "
                "Member must satisfy enum value set: [Enabled, Disabled]"
            )
        return original(self, *args, **kwargs)

    return create_notebook_instance


def _backend_update_notebook_instance(
    self: Any,
    notebook_instance_name: str,
    *,
    instance_type: str | None = None,
    role_arn: str | None = None,
    lifecycle_config_name: str | None = None,
    disassociate_lifecycle_config: bool | None = None,
    volume_size_in_gb: int | None = None,
    root_access: str | None = None,
    accelerator_types: list[str] | None = None,
    disassociate_accelerator_types: bool | None = None,
    default_code_repository: str | None = None,
    disassociate_default_code_repository: bool | None = None,
    additional_code_repositories: list[str] | None = None,
    disassociate_additional_code_repositories: bool | None = None,
) -> None:
    """UpdateNotebookInstance, as AWS does it: only a Stopped instance can be updated."""
    from moto.core.utils import utcnow

    notebook = self.get_notebook_instance(notebook_instance_name)  # ValidationException RecordNotFound
    if notebook.status != "Stopped":
        raise _validation_error(
            f"Status ({notebook.status}) not in ([Stopped]). Unable to transition to (Updating) "
            f"for Notebook Instance ({notebook.arn})"
        )
    if lifecycle_config_name is not None and disassociate_lifecycle_config:
        raise _validation_error("LifecycleConfigName and DisassociateLifecycleConfig cannot both be specified")
    if instance_type is not None:
        notebook.validate_instance_type(instance_type)
    if volume_size_in_gb is not None:
        notebook.validate_volume_size_in_gb(volume_size_in_gb)
        if volume_size_in_gb < notebook.volume_size_in_gb:
            raise _validation_error(
                f"VolumeSizeInGB can only be increased: {notebook.volume_size_in_gb} to "
                f"{volume_size_in_gb} requested for Notebook Instance ({notebook.arn})"
            )
    if root_access is not None and root_access not in _ROOT_ACCESS_VALUES:
        raise _validation_error(
            f"Value '{root_access}' at 'rootAccess' failed to satisfy constraint: "
            "Member must satisfy enum value set: [Enabled, Disabled]"
        )
    if (
        lifecycle_config_name is not None
        and lifecycle_config_name not in self.notebook_instance_lifecycle_configurations
    ):
        raise _validation_error(
            f"Unable to describe Notebook Instance Lifecycle Config '{lifecycle_config_name}'. "
            "(Details: Notebook Instance Lifecycle Config does not exist.)"
        )

    if instance_type is not None:
        notebook.instance_type = instance_type
    if role_arn is not None:
        notebook.role_arn = role_arn
    if lifecycle_config_name is not None:
        notebook.lifecycle_config_name = lifecycle_config_name
    if disassociate_lifecycle_config:
        notebook.lifecycle_config_name = None
    if volume_size_in_gb is not None:
        notebook.volume_size_in_gb = volume_size_in_gb
    if root_access is not None:
        notebook.root_access = root_access
    if accelerator_types is not None:
        notebook.accelerator_types = accelerator_types
    if disassociate_accelerator_types:
        notebook.accelerator_types = None
    if default_code_repository is not None:
        notebook.default_code_repository = default_code_repository
    if disassociate_default_code_repository:
        notebook.default_code_repository = None
    if additional_code_repositories is not None:
        notebook.additional_code_repositories = additional_code_repositories
    if disassociate_additional_code_repositories:
        notebook.additional_code_repositories = None
    notebook.last_modified_time = utcnow()


def _response_update_notebook_instance(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    self.sagemaker_backend.update_notebook_instance(
        notebook_instance_name=self._get_param("NotebookInstanceName"),
        instance_type=self._get_param("InstanceType"),
        role_arn=self._get_param("RoleArn"),
        lifecycle_config_name=self._get_param("LifecycleConfigName"),
        disassociate_lifecycle_config=self._get_param("DisassociateLifecycleConfig"),
        volume_size_in_gb=self._get_param("VolumeSizeInGB"),
        root_access=self._get_param("RootAccess"),
        accelerator_types=self._get_param("AcceleratorTypes"),
        disassociate_accelerator_types=self._get_param("DisassociateAcceleratorTypes"),
        default_code_repository=self._get_param("DefaultCodeRepository"),
        disassociate_default_code_repository=self._get_param("DisassociateDefaultCodeRepository"),
        additional_code_repositories=self._get_param("AdditionalCodeRepositories"),
        disassociate_additional_code_repositories=self._get_param("DisassociateAdditionalCodeRepositories"),
    )
    return EmptyResult()


# --- SageMaker notebook instance lifecycle configurations ------------------------------------------


def _backend_list_notebook_instance_lifecycle_configs(
    self: Any, *, name_contains: str | None, sort_by: str, sort_order: str
) -> list[Any]:
    configs = list(self.notebook_instance_lifecycle_configurations.values())
    if name_contains:
        configs = [c for c in configs if name_contains in c.notebook_instance_lifecycle_config_name]
    sort_keys: dict[str, Callable[[Any], Any]] = {
        "Name": lambda c: c.notebook_instance_lifecycle_config_name,
        "CreationTime": lambda c: c.creation_time,
        "LastModifiedTime": lambda c: c.last_modified_time,
    }
    if sort_by not in sort_keys:
        raise _validation_error(
            f"Value '{sort_by}' at 'sortBy' failed to satisfy constraint: "
            "Member must satisfy enum value set: [Name, CreationTime, LastModifiedTime]"
        )
    return sorted(configs, key=sort_keys[sort_by], reverse=sort_order == "Descending")


def _response_list_notebook_instance_lifecycle_configs(self: Any) -> Any:
    from moto.core.responses import ActionResult

    configs = self.sagemaker_backend.list_notebook_instance_lifecycle_configs(
        name_contains=self._get_param("NameContains"),
        sort_by=self._get_param("SortBy", "CreationTime"),
        sort_order=self._get_param("SortOrder", "Ascending"),
    )
    max_results = int(self._get_param("MaxResults") or 10)
    token = self._get_param("NextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise _validation_error(f"Invalid pagination token: {token}") from None
    page = configs[start : start + max_results]
    next_token = str(start + max_results) if start + max_results < len(configs) else None
    return ActionResult(
        {
            "NotebookInstanceLifecycleConfigs": [
                {
                    "NotebookInstanceLifecycleConfigName": c.notebook_instance_lifecycle_config_name,
                    "NotebookInstanceLifecycleConfigArn": c.arn,
                    "CreationTime": c.creation_time,
                    "LastModifiedTime": c.last_modified_time,
                }
                for c in page
            ],
            "NextToken": next_token,
        }
    )


def _backend_update_notebook_instance_lifecycle_config(
    self: Any,
    notebook_instance_lifecycle_config_name: str,
    *,
    on_create: list[dict[str, str]] | None,
    on_start: list[dict[str, str]] | None,
) -> None:
    from moto.core.utils import utcnow

    config = self.notebook_instance_lifecycle_configurations.get(notebook_instance_lifecycle_config_name)
    if config is None:
        raise _validation_error(
            f"Unable to update Notebook Instance Lifecycle Config "
            f"'{notebook_instance_lifecycle_config_name}'. "
            "(Details: Notebook Instance Lifecycle Config does not exist.)"
        )
    if on_create is not None:
        config.on_create = on_create
    if on_start is not None:
        config.on_start = on_start
    config.last_modified_time = utcnow()


def _response_update_notebook_instance_lifecycle_config(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    self.sagemaker_backend.update_notebook_instance_lifecycle_config(
        notebook_instance_lifecycle_config_name=self._get_param("NotebookInstanceLifecycleConfigName"),
        on_create=self._get_param("OnCreate"),
        on_start=self._get_param("OnStart"),
    )
    return EmptyResult()
