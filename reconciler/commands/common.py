"""What several commands share: exit statuses, the region, AWS clients, the sandbox, signals."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import TYPE_CHECKING, Any, TypeAlias

from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.errors import ReconcilerError
from reconciler.logs import get_logger

if TYPE_CHECKING:
    from reconciler.manifests import DesiredState

DEFAULT_DIR = "desired-state"

#: Where a command adds its parser (what ``ArgumentParser.add_subparsers`` returns).
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Exit(IntEnum):
    OK = 0
    ERROR = 1
    CHANGES = 2
    REFUSED = 3


class UsageError(ReconcilerError):
    """The command line contradicts itself or the manifests."""


def region_of(args: argparse.Namespace, desired: DesiredState) -> str:
    return region_with(args, desired.settings.region)


def region_with(args: argparse.Namespace, settings_region: str | None) -> str:
    """The region of a command: the Settings' (``settings_region``), else the command line's or the environment's;
    UsageError when none says, or when they contradict each other."""
    if settings_region and args.region and args.region != settings_region:
        raise UsageError(f"--region {args.region} conflicts with Settings.region {settings_region}")
    region = settings_region or args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise UsageError("no region: set Settings.region, --region, or AWS_REGION")
    return str(region)


def cli_region(args: argparse.Namespace) -> str:
    return str(args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "")


def factory(args: argparse.Namespace, region: str, *, read_only: bool) -> ClientFactory:
    config = AwsConfig(endpoint_url=args.endpoint_url, region=region, profile=args.profile)
    return ClientFactory(config, read_only=read_only)


@contextmanager
def maybe_sandbox(args: argparse.Namespace) -> Iterator[None]:
    """With --sandbox: an embedded emulator for the duration of the command, with dummy credentials."""
    if not getattr(args, "sandbox", False):
        yield
        return
    from reconciler.sandbox import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Emulator  # noqa: PLC0415

    with Emulator.start(port=0) as emulator:
        args.endpoint_url = emulator.url
        os.environ["AWS_ACCESS_KEY_ID"] = TEST_ACCESS_KEY_ID
        os.environ["AWS_SECRET_ACCESS_KEY"] = TEST_SECRET_ACCESS_KEY
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        args.profile = None
        yield


def stop_on_signals() -> threading.Event:
    """SIGTERM/SIGINT: finish the changes in flight, start no new one (main thread only).

    The handler only sets an event (a second signal interrupts at once): it must not log, since the
    signal can arrive while the main thread holds the logger's lock. A watcher thread logs instead.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return stop
    received: list[str] = []

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        received.append(signal.Signals(signum).name)
        stop.set()

    def announce() -> None:
        stop.wait()
        get_logger(__name__).warning(
            "stop requested; finishing the changes in flight", signal=received[0] if received else None
        )

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
    threading.Thread(target=announce, name="stop-announcer", daemon=True).start()
    return stop


# ---------------------------------------------------------------- arguments several commands take


def directory_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory", nargs="?", default=DEFAULT_DIR, help=f"manifest directory (default: {DEFAULT_DIR})"
    )


def allow_deletes_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-deletes",
        type=int,
        default=None,
        metavar="N",
        help="allow up to N deletions (overrides Settings.maxDeletes and the broken-checkout rail)",
    )


def replace_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="KIND/NAME",
        help="delete and recreate this resource (repeatable): for a change AWS cannot make in place (a notebook's "
        "network settings, a role's or policy's path); the plan shows what the replacement destroys, and it "
        "counts against the deletion rails",
    )
    parser.add_argument(
        "--allow-destroy-retained",
        action="store_true",
        help="allow --replace of resources whose deletionPolicy is Retain (a notebook: its volume is destroyed)",
    )


def plan_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``plan``/``apply`` that change what is planned (``make_plan``'s keyword arguments)."""
    return {
        "adopt": args.adopt,
        "allow_deletes": args.allow_deletes,
        "replace": frozenset(args.replace),
        "allow_destroy_retained": args.allow_destroy_retained,
    }


def lease_arguments(parser: argparse.ArgumentParser) -> None:
    from reconciler.aws.lease import DEFAULT_TABLE  # noqa: PLC0415 - only the commands that take the lease load it

    parser.add_argument(
        "--state-table",
        default=DEFAULT_TABLE,
        help=f"DynamoDB table for the lease and the last applied commit (default {DEFAULT_TABLE}; "
        "created on first use)",
    )
    parser.add_argument(
        "--lease-timeout", type=float, default=600.0, help="seconds to wait for another writer's lease (default 600)"
    )
    parser.add_argument(
        "--lease-ttl",
        type=float,
        default=60.0,
        help="seconds the lease lasts unless renewed (renewed every third of it; default 60). A writer that "
        "could not renew it in time starts no further change and sends no further write",
    )


def aws_arguments(parser: argparse.ArgumentParser, *, sandbox: bool = True) -> None:
    group = parser.add_argument_group("AWS connection")
    group.add_argument(
        "--endpoint-url",
        default=None,
        help="AWS endpoint (default: AWS_ENDPOINT_URL, else AWS itself); e.g. the sandbox's URL",
    )
    group.add_argument(
        "--region", default=None, help="region, when Settings.region does not say (default: the AWS configuration)"
    )
    group.add_argument("--profile", default=None, help="AWS profile (default: the AWS configuration)")
    if not sandbox:
        return
    group.add_argument(
        "--sandbox",
        action="store_true",
        help="start an embedded AWS emulator (empty account 123456789012) for this command "
        "and run against it; no AWS account needed",
    )
