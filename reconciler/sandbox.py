"""The embedded AWS: moto's HTTP server in a background thread, for ``reconciler sandbox`` and the tests.

Importing this module has no side effects: moto is imported, ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set
and moto is extended only when :meth:`Emulator.start` runs.

moto 5.2.5 lacks a few SageMaker APIs the product uses, and ignores UpdateGroup's NewPath unless the
group is renamed too; these are added in one place, the "Extensions to moto" section at the end of
this module, by functions installed onto moto's classes when the first
emulator starts (see :func:`_install_moto_extensions`). The same section makes :meth:`Emulator.reset`
fast. Check that section again when upgrading moto.
"""

# moto is imported inside functions on purpose: importing this module must not import moto (slow, and
# MOTO_IAM_LOAD_MANAGED_POLICIES has to be set first).
# ruff: noqa: PLC0415

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "TEST_ACCESS_KEY_ID",
    "TEST_SECRET_ACCESS_KEY",
    "Emulator",
    "run_sandbox",
    "start_emulator",
]

#: The account every request lands in (moto's default account).
DEFAULT_ACCOUNT_ID = "123456789012"
#: The region ``reconciler sandbox`` tells users to use.
DEFAULT_REGION = "ap-northeast-1"
#: Dummy credentials; moto accepts any, these map to :data:`DEFAULT_ACCOUNT_ID`.
TEST_ACCESS_KEY_ID = "testing"
TEST_SECRET_ACCESS_KEY = "testing"  # noqa: S105 - a well-known dummy value, not a secret


class Emulator:
    """A running moto server on ``host:port``, serving requests from a daemon thread of this process.

    Make one with :meth:`start`; use it as a context manager or call :meth:`stop`. All emulators in a
    process share moto's state (moto keeps it in module globals), so :meth:`reset` clears them all.
    """

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread, host: str) -> None:
        self._server = server
        self._thread = thread
        self._host = host
        self._port = int(server.server_address[1])
        self._stopped = False
        self._lock = threading.Lock()

    @classmethod
    def start(cls, port: int = 0, host: str = "127.0.0.1") -> Emulator:
        """Start serving on ``host:port`` (``port=0``: a free port) and return once requests are served.

        Raises :class:`ReconcilerError` when the address cannot be bound.
        """
        # moto reads this when it builds an IAM backend; set before moto is first imported, as documented.
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        _install_moto_extensions()
        global _initial_no_auth_action_count  # noqa: PLW0603 - recorded once, for reset()
        if _initial_no_auth_action_count is None:
            from moto import settings

            _initial_no_auth_action_count = settings.INITIAL_NO_AUTH_ACTION_COUNT

        # What moto.server.ThreadedMotoServer does, except that the listening socket is made here, in
        # the calling thread, so that a port in use raises: werkzeug would print and sys.exit(), and in
        # ThreadedMotoServer that kills the server thread and leaves start() waiting forever.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            listener = socket.create_server((host, port), family=family, backlog=128)  # werkzeug's
        except OSError as exc:
            raise ReconcilerError(f"cannot start the AWS emulator on {host}:{port}: {exc}") from exc
        with listener:  # werkzeug serves a duplicate of this descriptor
            app = DomainDispatcherApplication(create_backend_app)
            server = make_server(
                host, port, app, threaded=True, request_handler=MotoRequestHandler, fd=listener.fileno()
            )
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"aws-emulator-{server.server_address[1]}",
            daemon=True,
        )
        thread.start()
        emulator = cls(server, thread, host)
        _warm_up()
        return emulator

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The endpoint URL, e.g. ``http://127.0.0.1:5000``, for ``AWS_ENDPOINT_URL``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def account_id(self) -> str:
        return DEFAULT_ACCOUNT_ID

    def reset(self) -> None:
        """Forget every resource created in the emulator; AWS managed IAM policies stay available.

        Does what ``POST /moto-api/reset`` does, in-process and without rebuilding the 1,582 AWS managed
        policies from JSON (see :func:`_reset_moto_state`). Also turns IAM authorization enforcement
        back to what it was at start (off, unless ``INITIAL_NO_AUTH_ACTION_COUNT`` was set).
        """
        with self._lock:
            if self._stopped:
                raise ReconcilerError("the AWS emulator is stopped")
            _reset_moto_state()

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<Emulator {self.url} {state}>"


def start_emulator(port: int = 0, host: str = "127.0.0.1") -> Emulator:
    """Same as :meth:`Emulator.start`."""
    return Emulator.start(port=port, host=host)


def run_sandbox(
    port: int,
    *,
    out: TextIO,
    host: str = "127.0.0.1",
    region: str = DEFAULT_REGION,
    stop: threading.Event | None = None,
) -> int:
    """Run the emulator in the foreground until SIGINT or SIGTERM (or ``stop`` is set); return 0.

    Prints to ``out`` the environment that points other commands (``reconciler plan``, the AWS CLI, ...)
    at it. Signal handlers are installed only when called from the main thread, and are restored on
    return. Raises :class:`ReconcilerError` when the port cannot be bound.
    """
    stop_event = stop if stop is not None else threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        # Installed before the (slow) start, so that an early Ctrl-C also ends in a clean stop.

        def on_signal(received: int, frame: FrameType | None) -> None:
            stop_event.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        emulator = Emulator.start(port=port, host=host)
        try:
            out.write(
                f"AWS emulator (moto) listening on {emulator.url}, account {DEFAULT_ACCOUNT_ID}.\n"
                "Point other commands at it with:\n"
                "\n"
                f"  export AWS_ENDPOINT_URL={emulator.url}\n"
                f"  export AWS_ACCESS_KEY_ID={TEST_ACCESS_KEY_ID}\n"
                f"  export AWS_SECRET_ACCESS_KEY={TEST_SECRET_ACCESS_KEY}\n"
                f"  export AWS_DEFAULT_REGION={region}\n"
                "  unset AWS_PROFILE AWS_SESSION_TOKEN\n"
                "\n"
                f"Its account id is {DEFAULT_ACCOUNT_ID} (Settings.accountId in the manifests). "
                "State lives in memory only. Press Ctrl-C to stop.\n"
            )
            out.flush()
            while not stop_event.wait(0.2):
                pass
        finally:
            emulator.stop()
    finally:
        for restored, handler in previous.items():
            signal.signal(restored, handler)
    out.write("AWS emulator stopped.\n")
    out.flush()
    return 0


# ==================================================================================================
# Extensions to moto (5.2.5)
#
# The only place where moto is patched. Everything here is installed onto moto's classes by
# _install_moto_extensions(), once per process, when the first emulator starts:
#
#   SageMakerModelBackend / SageMakerResponse
#     + update_notebook_instance                   moto answers HTTP 500 (NotImplementedError)
#     + list_notebook_instance_lifecycle_configs   idem
#     + update_notebook_instance_lifecycle_config  idem
#     ~ create_notebook_instance                   RootAccess defaults to "Enabled", as in AWS (moto
#                                                  leaves it unset, so Describe omitted it)
#   S3Response
#     ~ _bucket_response_put                       CreateBucket honours CreateBucketConfiguration.Tags
#                                                  (AWS does; moto ignores them)
#   IAM users (reconciler/kinds/iam_emulator.py)
#     + Put/DeleteUserPermissionsBoundary          moto answers HTTP 500; CreateUser ignores the parameter
#                                                  and GetUser / GetAccountAuthorizationDetails never show one
#   IAMBackend
#     ~ _init_aws_policies                         the AWS managed policies are built from JSON once per
#                                                  (account, partition); each new backend gets the same
#                                                  objects back, restored to their pristine state,
#                                                  instead of 1,582 policies parsed again after every
#                                                  reset (see _PristinePolicies)
#
# moto's response classes find actions by method name (camelcase_to_underscores(Action)), so adding a
# method to the response class is enough to route a new action.
# ==================================================================================================

_install_lock = threading.Lock()
_installed = False
_initial_no_auth_action_count: float | None = None
_original_init_aws_policies: Callable[[Any], list[Any]] | None = None
_policy_templates: dict[tuple[str, str], _PristinePolicies] = {}

_ROOT_ACCESS_VALUES = ("Enabled", "Disabled")


def _install_moto_extensions() -> None:
    global _installed, _original_init_aws_policies  # noqa: PLW0603 - once-per-process install
    with _install_lock:
        if _installed:
            return
        from moto.iam.models import IAMBackend
        from moto.sagemaker.models import SageMakerModelBackend
        from moto.sagemaker.responses import SageMakerResponse

        _original_init_aws_policies = IAMBackend._init_aws_policies
        setattr(IAMBackend, "_init_aws_policies", _init_aws_policies_from_templates)  # noqa: B010

        setattr(IAMBackend, "update_group", _moving_group(IAMBackend.update_group))  # noqa: B010
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
        from moto.s3.responses import S3Response

        original_put = S3Response._bucket_response_put
        setattr(S3Response, "_bucket_response_put", _tagging_bucket_creation(original_put))  # noqa: B010
        for name, function in backend_methods.items():
            setattr(SageMakerModelBackend, name, function)
        for name, function in response_methods.items():
            setattr(SageMakerResponse, name, function)
        from reconciler.kinds.user import emulator as iam_emulator

        iam_emulator.install()
        _installed = True


# --- fast reset -----------------------------------------------------------------------------------


def _warm_up() -> None:
    """Build the IAM backends (and the managed-policy templates) now rather than in the first request."""
    from moto.iam.models import iam_backends
    from moto.utilities.utils import PARTITION_NAMES

    for partition in PARTITION_NAMES:  # the first request touches every partition (get_account_id_from)
        iam_backends[DEFAULT_ACCOUNT_ID][partition]


def _reset_moto_state() -> None:
    """``moto_api_backend.reset()`` (what ``POST /moto-api/reset`` runs), minus its slow part.

    moto's reset first re-initialises every backend in place, then drops them all; the next request
    builds new ones. For IAM the re-initialisation is pure waste (six partitions, each rebuilding
    1,582 managed policies) and nothing is left to clean up, so the IAM backends are dropped without
    it. Every other service goes through moto's own reset (S3's closes its temporary files).
    """
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.base_backend import backend_lock
    from moto.iam.models import iam_backends
    from moto.moto_api._internal.models import moto_api_backend

    with backend_lock:
        iam_backends.clear()
        moto_api_backend.reset()
        if _initial_no_auth_action_count is not None:
            settings.INITIAL_NO_AUTH_ACTION_COUNT = _initial_no_auth_action_count
        ActionAuthenticatorMixin.request_count = 0
    _warm_up()


def _init_aws_policies_from_templates(self: Any) -> list[Any]:
    """Replacement for ``IAMBackend._init_aws_policies``: the cached policies, restored to pristine."""
    assert _original_init_aws_policies is not None
    key = (str(self.account_id), str(self.region_name))
    templates = _policy_templates.get(key)
    if templates is None:
        policies = _original_init_aws_policies(self)
        if not policies:  # managed policies not enabled: nothing worth caching
            return policies
        templates = _policy_templates[key] = _PristinePolicies(policies)
    return templates.restored()


class _PristinePolicies:
    """The AWS managed policies of one (account, partition), shared by the IAM backends built for it.

    Building 1,582 policies from JSON takes about 0.13 s per partition, and copying them about 10 ms
    (plus the garbage-collector pauses that so many short-lived objects cause); restoring the few that
    a test touched (attachment counts, tags, versions) takes about 2 ms. moto drops the previous backend
    before it builds the next one, so only one live backend uses these objects at a time.
    """

    def __init__(self, policies: list[Any]) -> None:
        self._policies = policies
        self._snapshots = [_Snapshot(policy) for policy in policies]

    def restored(self) -> list[Any]:
        for snapshot in self._snapshots:
            snapshot.restore()
        return list(self._policies)


class _Snapshot:
    """The state of one object, one level of containers deep (``tags``, ``versions`` and their items)."""

    __slots__ = ("_containers", "_items", "_obj", "_state")

    def __init__(self, obj: Any) -> None:
        self._obj = obj
        self._state = dict(obj.__dict__)
        self._containers: list[tuple[Any, Any]] = []
        self._items: list[tuple[Any, dict[str, Any]]] = []
        for value in self._state.values():
            if isinstance(value, dict | set):
                self._containers.append((value, value.copy()))
            elif isinstance(value, list):
                self._containers.append((value, list(value)))
                self._items.extend((item, dict(item.__dict__)) for item in value if hasattr(item, "__dict__"))

    def restore(self) -> None:
        obj = self._obj
        if obj.__dict__ != self._state:
            obj.__dict__.clear()
            obj.__dict__.update(self._state)
        for container, contents in self._containers:
            if container != contents:
                container.clear()
                if isinstance(container, list):
                    container.extend(contents)
                else:
                    container.update(contents)
        for item, state in self._items:
            if item.__dict__ != state:
                item.__dict__.clear()
                item.__dict__.update(state)


# --- SageMaker notebook instances -----------------------------------------------------------------


def _validation_error(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    error: Exception = ValidationError(message=message)
    return error


def _tagging_bucket_creation(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateBucket honours ``CreateBucketConfiguration.Tags`` (AWS does since 2025; moto ignores it).

    The reconciler relies on it: a bucket is created already carrying its ownership tag, so a crash
    right after creation cannot leave an untagged bucket that the next run would see as foreign.
    """

    @functools.wraps(original)
    def bucket_response_put(self: Any, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        result = original(self, request, bucket_name, querystring)
        if not querystring and self.body:
            import xmltodict

            try:
                config = xmltodict.parse(self.body).get("CreateBucketConfiguration") or {}
            except Exception:  # noqa: BLE001 - malformed bodies were already answered by moto
                return result
            tags = (config.get("Tags") or {}).get("Tag") or []
            if isinstance(tags, dict):
                tags = [tags]
            if tags:
                self.backend.put_bucket_tagging(bucket_name, {t["Key"]: t.get("Value") or "" for t in tags})
        return result

    return bucket_response_put


def _moving_group(original: Callable[..., Any]) -> Callable[..., Any]:
    """UpdateGroup with a NewPath and no NewGroupName: moto changes nothing; AWS moves the group."""

    @functools.wraps(original)
    def update_group(self: Any, group_name: str, new_group_name: str | None, new_path: str | None) -> None:
        if new_group_name or not new_path:
            original(self, group_name, new_group_name, new_path)
        else:
            self.get_group(group_name).path = new_path

    return update_group


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
