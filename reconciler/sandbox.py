"""The embedded AWS: moto's HTTP server in a background thread, for ``reconciler sandbox`` and the tests.

Importing this module has no side effects: moto is imported, ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set
and moto is extended only when :meth:`Emulator.start` runs.

moto 5.2 lacks a few APIs the product uses (SageMaker notebook updates, users' permissions boundaries, ...).
Each kind adds what it needs in its own package, ``reconciler/kinds/<kind>/emulator.py``; this module knows
no kind: when the first emulator starts it installs, once per process, the generic extension that makes
:meth:`Emulator.reset` fast and then every kind's additions, over the kind registry (see
:func:`_install_moto_extensions`). Check the "Extensions to moto" section at the end of this module and the
kinds' ``emulator.py`` again when upgrading moto.
"""

# moto is imported inside functions on purpose: importing this module must not import moto (slow, and
# MOTO_IAM_LOAD_MANAGED_POLICIES has to be set first).
# ruff: noqa: PLC0415

from __future__ import annotations

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
# Installed onto moto's classes by _install_moto_extensions(), once per process, when the first emulator
# starts:
#
#   IAMBackend
#     ~ _init_aws_policies                         the AWS managed policies are built from JSON once per
#                                                  (account, partition); each new backend gets the same
#                                                  objects back, restored to their pristine state,
#                                                  instead of 1,582 policies parsed again after every
#                                                  reset (see _PristinePolicies)
#   every kind of reconciler.kinds.REGISTRY
#     Kind.install_emulator()                      the kind's own additions, where moto lacks (or gets
#                                                  wrong) an API it uses: its emulator.py, if it has one,
#                                                  says what and why
# ==================================================================================================

_install_lock = threading.Lock()
_installed = False
_initial_no_auth_action_count: float | None = None
_original_init_aws_policies: Callable[[Any], list[Any]] | None = None
_policy_templates: dict[tuple[str, str], _PristinePolicies] = {}


def _install_moto_extensions() -> None:
    global _installed, _original_init_aws_policies  # noqa: PLW0603 - once-per-process install
    with _install_lock:
        if _installed:
            return
        from moto.iam.models import IAMBackend

        from reconciler.kinds import REGISTRY

        _original_init_aws_policies = IAMBackend._init_aws_policies
        setattr(IAMBackend, "_init_aws_policies", _init_aws_policies_from_templates)  # noqa: B010
        for kind in REGISTRY.values():
            kind.install_emulator()
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
