"""boto3 clients for the reconciler: one configuration, a plan-mode write guard, call accounting.

Every AWS call the product makes goes through a client from :class:`ClientFactory`. Two things are
enforced there, by botocore client events rather than by discipline at each call site (the handlers are in
:mod:`reconciler.aws.hooks`; AWS's failures, as the product reports them, in :mod:`reconciler.aws.failures`):

* **Plan mode cannot write, by construction.** A factory built with ``read_only=True`` registers a
  ``before-parameter-build`` handler on each client it makes. botocore emits that event at the very
  start of ``_make_api_call``, before parameter validation, endpoint resolution, signing or any
  network I/O; the handler raises :class:`~reconciler.errors.MutationRefused` for every operation
  that :func:`is_read_only_operation` does not allow, so a mutating request is never sent.
* **Every call is counted.** With a :class:`CallRecorder`, a ``before-call`` handler counts logical
  API calls (one per client method call, paginator page or waiter poll) and a ``before-send``
  handler counts HTTP attempts (the first send plus each botocore retry).
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from reconciler.aws import hooks
from reconciler.aws.failures import translate_errors
from reconciler.aws.operations import is_read_only_operation
from reconciler.errors import AwsAccessError, CallsStopped

# boto3 and botocore (a fifth of a second to import) are imported where a client is made or an error of theirs is
# caught: the commands that make no AWS call (``--version``, ``validate``) do not load them.
if TYPE_CHECKING:
    import boto3.session
    import botocore.config
    import botocore.loaders
    from botocore.client import BaseClient
    from botocore.config import _RetryDict
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sts import STSClient

    from reconciler.manifests.model import Account

__all__ = ["AssumedRole", "AwsConfig", "CallRecorder", "ClientFactory"]

RetryMode = Literal["legacy", "standard", "adaptive"]
_RETRY_MODES: frozenset[str] = frozenset({"legacy", "standard", "adaptive"})


@dataclass(frozen=True)
class AwsConfig:
    """How to reach AWS.

    ``endpoint_url=None`` leaves endpoint selection to boto3, which honours ``AWS_ENDPOINT_URL`` and
    ``AWS_ENDPOINT_URL_<SERVICE>`` from the environment (and ``endpoint_url`` in the profile).
    ``region=None`` and ``profile=None`` likewise defer to the usual boto3 environment and config files.
    ``max_attempts`` is the total number of attempts per call, the first one included (botocore's
    ``total_max_attempts``, the same meaning as ``AWS_MAX_ATTEMPTS``); 1 disables retries.
    """

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    max_attempts: int = 8
    retry_mode: str = "adaptive"
    max_pool: int = 32
    # Hub and spoke: assume this role (in another account) with the credentials of the profile or environment.
    assume: AssumedRole | None = None

    def __post_init__(self) -> None:
        if self.retry_mode not in _RETRY_MODES:
            raise ValueError(f"retry_mode must be one of {sorted(_RETRY_MODES)}, not {self.retry_mode!r}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.max_pool < 1:
            raise ValueError(f"max_pool must be at least 1, not {self.max_pool}")

    def botocore_config(self) -> botocore.config.Config:
        """The botocore client configuration for these settings."""
        import botocore.config  # noqa: PLC0415 - see the imports

        retries: _RetryDict = {
            "mode": cast("RetryMode", self.retry_mode),
            "total_max_attempts": self.max_attempts,
        }
        return botocore.config.Config(
            retries=retries,
            max_pool_connections=self.max_pool,
            connect_timeout=5,
            read_timeout=60,
        )


#: A role session name is at most 64 characters of ``[\w+=,.@-]``.
_SESSION_NAME = re.compile(r"[^\w+=,.@-]")


@dataclass(frozen=True)
class AssumedRole:
    """A role to assume (sts:AssumeRole), with its external id and a session name that says who uses it: the
    reconciler, for what, from which commit (CloudTrail shows it on every call made with the role)."""

    role_arn: str
    session_name: str = "reconciler"
    external_id: str | None = None

    @staticmethod
    def session_name_for(mode: str, commit: str | None = None) -> str:
        """``reconciler-<mode>[-<commit12>]``, e.g. ``reconciler-apply-0a1b2c3d4e5f``."""
        name = f"reconciler-{mode}" + (f"-{commit[:12]}" if commit else "")
        return _SESSION_NAME.sub("-", name)[:64]

    @classmethod
    def for_account(
        cls, account: Account | None, *, read_only: bool, mode: str, commit: str | None = None
    ) -> AssumedRole | None:
        """The role to reach ``account`` with: its read role (or its role) when ``read_only``, else its role;
        None when there is no Account or it names no role (the credentials are the account's own)."""
        role = account.role_for(read_only=read_only) if account is not None else None
        if account is None or role is None:
            return None
        return cls(role, cls.session_name_for(mode, commit), account.external_id)


# --------------------------------------------------------------------------------------------------
# Call accounting
# --------------------------------------------------------------------------------------------------


class CallRecorder:
    """Thread-safe count of the AWS operations sent through factory clients.

    ``counts()`` are logical API calls (one per client method call); ``attempts()`` are HTTP sends,
    retries included, so ``total_attempts() - total()`` is the number of retries.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()
        self._attempts: Counter[tuple[str, str]] = Counter()

    def record(self, service: str, operation: str) -> None:
        """Count one logical call of ``service:operation``."""
        with self._lock:
            self._calls[(service, operation)] += 1

    def record_attempt(self, service: str, operation: str) -> None:
        """Count one HTTP attempt of ``service:operation``."""
        with self._lock:
            self._attempts[(service, operation)] += 1

    def counts(self) -> dict[tuple[str, str], int]:
        """Logical calls per ``(service, operation)``."""
        with self._lock:
            return dict(self._calls)

    def attempts(self) -> dict[tuple[str, str], int]:
        """HTTP attempts per ``(service, operation)``, retries included."""
        with self._lock:
            return dict(self._attempts)

    def total(self) -> int:
        """All logical calls."""
        with self._lock:
            return sum(self._calls.values())

    def total_attempts(self) -> int:
        """All HTTP attempts."""
        with self._lock:
            return sum(self._attempts.values())

    def mutating(self) -> list[tuple[str, str]]:
        """The distinct operations called that are not reads, sorted."""
        with self._lock:
            keys = list(self._calls)
        return sorted(k for k in keys if not is_read_only_operation(*k))

    def reset(self) -> None:
        """Forget everything counted so far."""
        with self._lock:
            self._calls.clear()
            self._attempts.clear()


# --------------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------------


class ClientFactory:
    """Makes and caches one boto3 client per service, all sharing one session and configuration.

    boto3 sessions and client creation are not thread-safe, so clients are created under a lock; the
    clients themselves are thread-safe and are shared by all threads.
    """

    def __init__(
        self,
        config: AwsConfig,
        *,
        read_only: bool,
        recorder: CallRecorder | None = None,
        guard: Callable[[str, str], None] | None = None,
        on_send: Callable[[], None] | None = None,
    ) -> None:
        self._config = config
        self._read_only = read_only
        self._recorder = recorder
        # Called before every HTTP attempt (the controller's heartbeat: a long reconcile is not a hung one).
        self._on_send = on_send
        # Called with (service, operation) before every mutating call and every attempt of it; raises to
        # stop the call before it is sent (apply: the lease must still be held).
        self._guard = guard
        self._lock = threading.Lock()
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, BaseClient] = {}
        # The account these credentials belong to, once the account guard asked (``reconciler.aws.account``).
        self.identity: str | None = None
        self._stopped = threading.Event()

    @property
    def read_only(self) -> bool:
        """True when every client refuses mutating operations before sending them."""
        return self._read_only

    @property
    def config(self) -> AwsConfig:
        return self._config

    @property
    def recorder(self) -> CallRecorder | None:
        return self._recorder

    @contextmanager
    def guarding(self, guard: Callable[[str, str], None]) -> Iterator[ClientFactory]:
        """For the block, every client of this factory calls ``guard(service, operation)`` before sending any
        mutating operation, each retry included; ``guard`` raises to stop the call before it is sent."""
        previous, self._guard = self._guard, guard
        try:
            yield self
        finally:
            self._guard = previous

    def stop_calls(self) -> None:
        """From now on, every call of this factory's clients ends with its HTTP attempt in flight, with
        :class:`CallsStopped`: no other attempt, no retry, no backoff sleep. For work abandoned while its calls
        are in flight (an early read whose manifests did not load), so that it does not hold up its process."""
        self._stopped.set()

    def prepare(self, services: Iterable[str]) -> None:
        """Make the clients of ``services`` now, on the calling thread (each is otherwise made on its first use).

        The first client of a process imports boto3 and reads botocore's data directory: thousands of small file
        look-ups, each of which lets go of the interpreter lock. Made on a thread while another one computes (the
        manifests loading), each look-up then waits for the lock; an early read made its first call only once the
        load was over. Raises what :meth:`client` raises."""
        for service in services:
            self.client(service)

    def _check_stopped(self, **_: Any) -> None:
        if self._stopped.is_set():
            raise CallsStopped("the calls of this work were stopped: it was abandoned")

    @overload
    def client(self, service_name: Literal["iam"]) -> IAMClient: ...
    @overload
    def client(self, service_name: Literal["s3"]) -> S3Client: ...
    @overload
    def client(self, service_name: Literal["sagemaker"]) -> SageMakerClient: ...
    @overload
    def client(self, service_name: Literal["sts"]) -> STSClient: ...
    @overload
    def client(self, service_name: str) -> Any: ...

    def client(self, service_name: str) -> Any:
        """The client for ``service_name`` (a boto3 service name such as ``"iam"``), made on first use.

        Raises :class:`AwsAccessError` when no client can be made (unknown profile, no region).
        """
        cached = self._clients.get(service_name)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._clients.get(service_name)
            if cached is None:
                with translate_errors(f"creating the {service_name} client"):
                    cached = self._create(service_name)
                self._clients[service_name] = cached
            return cached

    def _check_guard(self, service: str) -> Any:
        def check(event_name: str, **_: Any) -> None:
            guard = self._guard
            if guard is None:
                return
            # "before-call.<service-id>.<Operation>" / "before-send.<service-id>.<Operation>"
            operation = event_name.rsplit(".", 1)[-1]
            if not is_read_only_operation(service, operation):
                guard(service, operation)

        return check

    def _create(self, service_name: str) -> BaseClient:
        # Called with self._lock held.
        if self._session is None:
            self._session = _new_session(profile=self._config.profile, region=self._config.region)
            if self._config.assume is not None:
                _assume(self._session, self._config)
        client: BaseClient = self._session.client(
            service_name,
            endpoint_url=self._config.endpoint_url,
            config=self._config.botocore_config(),
        )
        _remember_paginators(client)
        # The botocore service name ("iam", "sagemaker", ...), which is what the allow-list is keyed by.
        service = client.meta.service_model.service_name
        events = client.meta.events
        if service == "iam":  # its policy documents, each distinct text decoded once per answer
            from botocore.handlers import json_decode_policies  # noqa: PLC0415 - see the imports

            from reconciler.aws.answers import PolicyDocumentDecoder  # noqa: PLC0415

            events.unregister("after-call.iam", json_decode_policies)
            events.register("after-call.iam", PolicyDocumentDecoder())
        events.register("before-parameter-build", hooks.forbidding_handler(service))
        events.register("before-send", self._check_stopped)
        events.register("needs-retry", self._check_stopped)
        if self._read_only:
            events.register("before-parameter-build", hooks.refusing_handler(service))
        if not self._read_only:
            events.register("before-call", self._check_guard(service))
            events.register("before-send", self._check_guard(service))
        if self._on_send is not None:
            on_send = self._on_send
            events.register("before-send", lambda **_: on_send())
        if self._recorder is not None:
            events.register("before-call", hooks.call_counter(self._recorder, service))
            events.register("before-send", hooks.attempt_counter(self._recorder, service))
        record_dir = os.environ.get(hooks.RECORD_CALLS_ENV)
        if record_dir:
            events.register("before-call", hooks.call_logger(record_dir, service))
        return client


def _remember_paginators(client: BaseClient) -> None:
    """Make the client's ``get_paginator`` hand out one paginator per operation, made on first use.

    botocore's makes a new class, with its docstring objects and compiled JMESPath expressions, on every call:
    the reads ask for one per resource (ListPolicyTags, ListAccessKeys, ...), about 1,600 at 1x, all of it
    garbage the cyclic collector has to find. A paginator holds only its operation's configuration (each
    ``paginate`` makes its own iterator), so one serves every thread.
    """
    made: dict[str, Any] = {}
    make = client.get_paginator

    def get_paginator(operation_name: str) -> Any:
        found = made.get(operation_name)
        if found is None:
            found = made.setdefault(operation_name, make(operation_name))
        return found

    client.get_paginator = get_paginator  # type: ignore[method-assign]


_loader_lock = threading.Lock()
_shared_loader: botocore.loaders.Loader | None = None


def _new_session(*, profile: str | None, region: str | None) -> boto3.session.Session:
    """A boto3 session whose botocore data loader (the parsed service models) is shared process-wide.

    Each new session would parse the service model JSON again: 0.1-0.35 s for a SageMaker client, 15 ms
    with the shared loader. Credentials, region and profile stay per session. The loader only caches
    immutable model data, the same sharing that every client of one session already does. Timestamps in
    answers are parsed by :func:`reconciler.aws.timestamps.parse_timestamp` (the same values, faster).
    """
    global _shared_loader  # noqa: PLW0603 - one process-wide cache, made on first use
    import boto3.session  # noqa: PLC0415 - see the imports
    import botocore.loaders  # noqa: PLC0415
    import botocore.session  # noqa: PLC0415

    from reconciler.aws.timestamps import parse_timestamp  # noqa: PLC0415

    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = botocore.loaders.create_loader()
        core = botocore.session.Session()
        core.register_component("data_loader", _shared_loader)
        # botocore's answers, timestamps parsed without dateutil's general parser where the form allows
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
        session = boto3.session.Session(botocore_session=core, profile_name=profile, region_name=region)
        # boto3 appends its own data directory to the loader's search path for every new session.
        paths = _shared_loader.search_paths
        paths[:] = list(dict.fromkeys(paths))
    return session


def _assume(session: boto3.session.Session, config: AwsConfig) -> None:
    """Make ``session`` use the credentials of ``config.assume``, fetched with the session's own credentials on
    first use and refreshed before they expire (botocore's own assume-role fetcher, as for a profile's
    ``role_arn``). The STS client that fetches them goes to the same endpoint as the other clients."""
    from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials  # noqa: PLC0415

    assert config.assume is not None
    core = session._session  # boto3 keeps its botocore session here
    source = core.get_credentials()
    if source is None:
        raise AwsAccessError(f"no usable AWS credentials to assume {config.assume.role_arn} with")
    extra: dict[str, Any] = {"RoleSessionName": config.assume.session_name}
    if config.assume.external_id:
        extra["ExternalId"] = config.assume.external_id

    def sts_client(service_name: str, **kwargs: Any) -> Any:
        kwargs.setdefault("region_name", config.region)
        return core.create_client(service_name, endpoint_url=config.endpoint_url, **kwargs)

    fetcher = AssumeRoleCredentialFetcher(
        client_creator=sts_client, source_credentials=source, role_arn=config.assume.role_arn, extra_args=extra
    )
    # How botocore's own credential providers hand over refreshable credentials.
    core._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        method="assume-role", refresh_using=fetcher.fetch_credentials
    )
