"""What the commands share for a fleet: ``--accounts`` and the shard flags, loading the selected accounts, a client
factory per account (hub and spoke), and running one account's work without letting its failure stop the others.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from reconciler.aws.clients import AssumedRole, AwsConfig, ClientFactory
from reconciler.aws.failures import aws_failures
from reconciler.commands.common import UsageError, factory, region_with
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.logs import get_logger

# The manifests (YAML, the kinds, jsonschema) are imported when a command loads them, and structlog when an
# account's work runs, not when the command line is parsed: ``reconciler --version`` loads none of it.
if TYPE_CHECKING:
    from reconciler.kinds.read import EarlyRead
    from reconciler.manifests import DesiredState
    from reconciler.manifests.fleet import AccountSelector, Fleet
    from reconciler.manifests.model import Account

__all__ = [
    "AccountOutcome",
    "account_factory",
    "accounts_argument",
    "aws_config",
    "check_shards",
    "for_each_account",
    "load_reading",
    "load_selected",
    "shard_arguments",
    "shard_defaults",
]

log = get_logger(__name__)
T = TypeVar("T")

#: The environment variables the shard flags default to (Kubernetes sets the first two for its pods).
JOB_INDEX_ENV = "JOB_COMPLETION_INDEX"
SHARD_INDEX_ENV = "RECONCILER_SHARD_INDEX"
SHARD_COUNT_ENV = "RECONCILER_SHARD_COUNT"


def _selector(text: str) -> AccountSelector:
    from reconciler.manifests.fleet import SelectorError, parse_selector  # noqa: PLC0415 - see the imports

    try:
        return parse_selector(text)
    except SelectorError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def accounts_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--accounts",
        action="append",
        type=_selector,
        default=[],
        metavar="SELECTOR",
        help="only these accounts of the fleet (repeatable; any matches): names or shell patterns, KEY=VALUE and "
        "KEY!=VALUE labels, !NAME to leave one out, comma-separated, e.g. 'env=prod,!prod-eu' (docs/fleet.md)",
    )


def shard_defaults(environ: os._Environ[str] | dict[str, str] | None = None) -> tuple[int, int]:
    """(index, count) from the environment: ``RECONCILER_SHARD_INDEX``, else an Indexed Job's
    ``JOB_COMPLETION_INDEX``, else a StatefulSet pod's ordinal (the end of ``HOSTNAME``, ``reconciler-fleet-3``);
    the count from ``RECONCILER_SHARD_COUNT`` (default 1)."""
    env = os.environ if environ is None else environ
    count = int(env.get(SHARD_COUNT_ENV) or 1)
    for name in (SHARD_INDEX_ENV, JOB_INDEX_ENV):
        if env.get(name):
            return int(env[name]), count
    ordinal = re.search(r"-(\d+)$", env.get("HOSTNAME", ""))
    if count > 1 and ordinal:
        return int(ordinal.group(1)), count
    return 0, count


def shard_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        index, count = shard_defaults()
    except ValueError:
        index, count = 0, 1  # reported when used: check_shards
    group = parser.add_argument_group("shards (a fleet over several processes: docs/fleet.md)")
    group.add_argument(
        "--shard-index",
        type=int,
        default=index,
        metavar="I",
        help=f"this process's shard, 0..N-1 (default: ${SHARD_INDEX_ENV}, ${JOB_INDEX_ENV}, or the StatefulSet "
        f"pod's ordinal; now {index})",
    )
    group.add_argument(
        "--shard-count",
        type=int,
        default=count,
        metavar="N",
        help=f"how many shards share the fleet; each account goes to one by rendezvous hashing of its id "
        f"(default: ${SHARD_COUNT_ENV}, else 1; now {count})",
    )


def check_shards(args: argparse.Namespace) -> tuple[int, int]:
    index, count = getattr(args, "shard_index", 0), getattr(args, "shard_count", 1)
    try:
        shard_defaults()
    except ValueError as exc:
        raise UsageError(f"${SHARD_INDEX_ENV}, ${JOB_INDEX_ENV} or ${SHARD_COUNT_ENV} is not a number: {exc}") from None
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"--shard-index must be 0..{count - 1} with --shard-count {count}, not {index}")
    return index, count


def selection(args: argparse.Namespace) -> Callable[[Account], bool] | None:
    """What ``--accounts`` and the shard flags keep (None: every account)."""
    from reconciler.manifests.fleet import shard_of  # noqa: PLC0415 - see the imports

    selectors: Sequence[AccountSelector] = getattr(args, "accounts", None) or ()
    index, count = check_shards(args)
    if not selectors and count == 1:
        return None

    def keep(account: Account) -> bool:
        if selectors and not any(s.matches(account) for s in selectors):
            return False
        return count == 1 or shard_of(account.account_id, count) == index

    return keep


def load_selected(args: argparse.Namespace, directory: str) -> Fleet:
    """The accounts of ``directory`` that ``--accounts`` and the shard flags select, loaded and validated.

    A directory without Account manifests is one account: ``--accounts`` is refused there, and with shards it is
    this shard's or not (by its Settings' account id)."""
    from reconciler.kinds import load_fleet  # noqa: PLC0415 - see the imports
    from reconciler.manifests.fleet import Fleet, shard_of  # noqa: PLC0415

    keep = selection(args)
    fleet = load_fleet(Path(directory), display_root=directory, select=keep)
    selectors = getattr(args, "accounts", None) or ()
    if not fleet.is_fleet:
        if selectors:
            raise UsageError(f"--accounts selects Account manifests, and {directory} has none (it is one account)")
        index, count = check_shards(args)
        if count > 1 and shard_of(fleet.states[0].settings.account_id, count) != index:
            return Fleet(states=(), accounts=(), root=fleet.root, fingerprint=fleet.fingerprint)
        return fleet
    if selectors and not fleet.states and getattr(args, "shard_count", 1) == 1:
        names = ", ".join(a.name for a in fleet.accounts[:20])
        text = " / ".join(s.text for s in selectors)
        raise UsageError(f"--accounts {text} matches none of the {len(fleet.accounts)} account(s): {names}")
    return fleet


def load_reading(args: argparse.Namespace, directory: str) -> tuple[Fleet, EarlyRead | None]:
    """:func:`load_selected`, and for a directory of one account whose Settings are at its top (and neither
    ``--accounts``, the shard flags nor ``--sandbox``), its account's read started first and going on meanwhile
    (``EarlyRead``, to give to ``make_plan``; the caller closes it). A Settings that the read cannot start from
    (no region, one that contradicts ``--region``) leaves the load to report its problems first, as without it."""
    from reconciler.kinds.read import EarlyRead  # noqa: PLC0415 - see the imports
    from reconciler.manifests.peek import peek_settings  # noqa: PLC0415

    _, count = check_shards(args)
    if getattr(args, "accounts", None) or count > 1 or getattr(args, "sandbox", False):
        return load_selected(args, directory), None
    peek = peek_settings(directory)
    try:
        region = region_with(args, peek.region) if peek is not None else None
    except UsageError:
        region = None
    if peek is None or region is None:
        return load_selected(args, directory), None
    tag = peek.ownership_tag
    early = EarlyRead(factory(args, region, read_only=True), peek.account_id, region, (tag.key, tag.value))
    try:
        fleet = load_selected(args, directory)
    except BaseException:
        early.close()
        raise
    if fleet.is_fleet:  # Settings without Account manifests at the top, and Account manifests elsewhere
        early.close()
        return fleet, None
    return fleet, early


def aws_config(
    args: argparse.Namespace, account: Account | None, region: str, *, read_only: bool, mode: str, commit: str | None
) -> AwsConfig:
    """How to reach an account: its spoke role (the read or the write one) assumed with the command's own
    credentials when its Account names one; else the command's credentials themselves."""
    assume = AssumedRole.for_account(account, read_only=read_only, mode=mode, commit=commit)
    return AwsConfig(endpoint_url=args.endpoint_url, region=region, profile=args.profile, assume=assume)


def account_factory(
    args: argparse.Namespace,
    account: Account | None,
    region: str,
    *,
    read_only: bool,
    mode: str,
    commit: str | None = None,
) -> ClientFactory:
    """The client factory for one account (see :func:`aws_config`); read-only ones cannot send a write."""
    config = aws_config(args, account, region, read_only=read_only, mode=mode, commit=commit)
    return ClientFactory(config, read_only=read_only)


@dataclass(frozen=True)
class AccountOutcome(Generic[T]):
    """One account's result, or the one-line error that stopped it."""

    desired: DesiredState
    result: T | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        account = self.desired.account
        return account.name if account is not None else self.desired.settings.name

    @property
    def account_id(self) -> str:
        return self.desired.settings.account_id

    @property
    def region(self) -> str:
        return self.desired.settings.region or ""


def one_account(desired: DesiredState, work: Callable[[DesiredState], T]) -> AccountOutcome[T]:
    """``work(desired)``, its failure turned into the account's error (logged with the account's name)."""
    import structlog  # noqa: PLC0415 - see the imports

    name = desired.account.name if desired.account is not None else desired.settings.name
    try:
        with structlog.contextvars.bound_contextvars(account=name):
            return AccountOutcome(desired, result=work(desired))
    except ManifestError:
        raise
    except ReconcilerError as exc:
        message = str(exc)
    except aws_failures() as exc:
        message = f"AWS failed after retries: {exc}"
    log.error("account failed; the others go on", account=name, error=message)
    return AccountOutcome(desired, error=message)


def for_each_account(fleet: Fleet, work: Callable[[DesiredState], T], *, workers: int = 4) -> list[AccountOutcome[T]]:
    """``work`` for every account of ``fleet`` (``workers`` at a time), in the fleet's order; a failure in one
    account is its outcome's error and never stops the others."""
    if len(fleet.states) <= 1 or workers <= 1:
        return [one_account(d, work) for d in fleet.states]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="account") as pool:
        return list(pool.map(lambda d: one_account(d, work), fleet.states))
