"""The command line: commands, options, exit statuses, output format.

Exit statuses (stable, scripts rely on them):
  0  success, nothing to change
  1  error: invalid manifests, AWS unreachable, wrong account, a failed change
  2  plan: changes are present
  3  refused by the invariants
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import TextIO

from reconciler import __version__
from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.engine.differ import context
from reconciler.engine.executor import ApplyOptions, Executor, Outcome, Status, check_rails
from reconciler.engine.plan import Action
from reconciler.engine.preview import preview
from reconciler.engine.render import render_json, render_markdown, render_text
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.logs import configure_logging
from reconciler.manifests import DesiredState, load_directory


class Exit(IntEnum):
    OK = 0
    ERROR = 1
    CHANGES = 2
    REFUSED = 3


DEFAULT_DIR = "desired-state"


class UsageError(ReconcilerError):
    """The command line contradicts itself or the manifests."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconciler",
        description="Keep an AWS SageMaker environment converged to YAML manifests in git.",
    )
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}")
    parser.add_argument("--log-format", choices=("auto", "json", "console"), default="auto",
                        help="log format on stderr (auto: console on a terminal, JSON lines otherwise)")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = commands.add_parser("validate", help="check the manifests (schemas and references)")
    _directory_argument(validate)

    plan = commands.add_parser("plan", help="show what would change in the account (never writes)")
    _directory_argument(plan)
    _aws_arguments(plan)
    plan.add_argument("--output", choices=("text", "json", "markdown"), default="text",
                      help="text (default; colour on a terminal), json (schemas/plan.schema.json), "
                           "or markdown (for a pull-request comment)")

    apply = commands.add_parser("apply", help="make the account match the manifests")
    _directory_argument(apply)
    _aws_arguments(apply)
    apply.add_argument("--adopt", action="store_true",
                       help="take over resources named in git that exist without the ownership tag")
    apply.add_argument("--allow-deletes", type=int, default=None, metavar="N",
                       help="allow up to N deletions (overrides Settings.maxDeletes and the broken-checkout rail)")
    apply.add_argument("--workers", type=int, default=8, help="changes run in parallel (default 8)")

    sandbox = commands.add_parser("sandbox", help="run the embedded AWS emulator on 127.0.0.1 in the foreground")
    sandbox.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000; 0 picks a free one)")
    return parser


def _directory_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", nargs="?", default=DEFAULT_DIR,
                        help=f"manifest directory (default: {DEFAULT_DIR})")


def _aws_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS connection")
    group.add_argument("--endpoint-url", default=None,
                       help="AWS endpoint (default: AWS_ENDPOINT_URL, else AWS itself); e.g. the sandbox's URL")
    group.add_argument("--region", default=None,
                       help="region, when Settings.region does not say (default: the AWS configuration)")
    group.add_argument("--profile", default=None, help="AWS profile (default: the AWS configuration)")
    group.add_argument("--sandbox", action="store_true",
                       help="start an embedded AWS emulator (empty account 123456789012) for this command "
                            "and run against it; no AWS account needed")


def cmd_validate(args: argparse.Namespace, out: TextIO) -> Exit:
    state = load_directory(Path(args.directory), display_root=args.directory)
    counts = ", ".join(
        f"{len(state.of(kind))} {kind}" for kind in sorted(state.resources) if state.of(kind)
    )
    out.write(f"{args.directory}: valid: 1 Settings, {counts} ({state.count()} resources)\n")
    return Exit.OK


def _region(args: argparse.Namespace, desired: DesiredState) -> str:
    settings_region = desired.settings.region
    if settings_region and args.region and args.region != settings_region:
        raise UsageError(f"--region {args.region} conflicts with Settings.region {settings_region}")
    region = settings_region or args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise UsageError("no region: set Settings.region, --region, or AWS_REGION")
    return region


def _factory(args: argparse.Namespace, region: str, *, read_only: bool) -> ClientFactory:
    config = AwsConfig(endpoint_url=args.endpoint_url, region=region, profile=args.profile)
    return ClientFactory(config, read_only=read_only)


@contextmanager
def _maybe_sandbox(args: argparse.Namespace) -> Iterator[None]:
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


def cmd_plan(args: argparse.Namespace, out: TextIO) -> Exit:
    desired = load_directory(Path(args.directory), display_root=args.directory)
    region = _region(args, desired)
    with _maybe_sandbox(args):
        result = preview(desired, _factory(args, region, read_only=True), region)
    if args.output == "json":
        out.write(render_json(result.plan) + "\n")
    elif args.output == "markdown":
        out.write(render_markdown(result.plan) + "\n")
    else:
        out.write(render_text(result.plan, color=out.isatty()) + "\n")
    return Exit.OK if result.plan.empty else Exit.CHANGES


_SYMBOL = {"create": "+", "update": "~", "adopt": "~", "delete": "-", "release": "~"}


def cmd_apply(args: argparse.Namespace, out: TextIO) -> Exit:
    desired = load_directory(Path(args.directory), display_root=args.directory)
    region = _region(args, desired)
    tty = out.isatty()
    with _maybe_sandbox(args):
        # The plan is computed with read-only clients; only the executor gets writable ones.
        result = preview(desired, _factory(args, region, read_only=True), region)
        plan = result.plan
        out.write(render_text(plan, color=tty) + "\n")
        if plan.empty:
            return Exit.OK
        settings = desired.settings
        options = ApplyOptions(adopt=args.adopt, allow_deletes=args.allow_deletes, max_workers=args.workers)
        owned = sum(plan.unchanged.values()) + sum(
            plan.count(a) for a in (Action.UPDATE, Action.DELETE, Action.RELEASE))
        check_rails(plan, max_deletes=settings.max_deletes, owned=owned, options=options)

        def progress(outcome: Outcome) -> None:
            change = outcome.change
            line = f"  {_SYMBOL[change.action.value]} {change.ref}: {outcome.status.value} ({outcome.seconds:.1f}s)"
            if outcome.message:
                line += f": {outcome.message}"
            out.write(line + "\n")
            out.flush()

        out.write("\nApplying...\n" if tty else "")
        executor = Executor(_factory(args, region, read_only=False), context(desired, region), options,
                            notebook_updates=settings.notebook_updates, on_outcome=progress if tty else None,
                            log_changes=not tty)
        applied = executor.run(plan)
    for outcome in applied.of(Status.FAILED) + applied.of(Status.SKIPPED):
        out.write(f"failed: {outcome.change.ref}: {outcome.message}\n" if outcome.status is Status.FAILED
                  else f"skipped: {outcome.change.ref}: {outcome.message}\n")
    for outcome in applied.of(Status.PENDING):
        out.write(f"pending: {outcome.change.ref}: {outcome.message}\n")
    out.write(applied.summary() + "\n")
    return Exit.OK if applied.ok else Exit.ERROR


def cmd_sandbox(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.sandbox import run_sandbox  # noqa: PLC0415 - moto is imported only for this command

    return Exit(run_sandbox(args.port, out=out))


COMMANDS = {"validate": cmd_validate, "plan": cmd_plan, "apply": cmd_apply, "sandbox": cmd_sandbox}


def run(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Parse ``argv`` and run the command; return its exit status. Never raises ReconcilerError."""
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    configure_logging(fmt=args.log_format, level=args.log_level)
    try:
        return int(COMMANDS[args.command](args, out))
    except ManifestError as exc:
        for problem in exc.problems:
            out.write(f"{problem}\n")
        out.write(f"{len(exc.problems)} problem(s) found; nothing was planned or applied.\n")
        return Exit.ERROR
    except ReconcilerError as exc:
        out.write(f"error: {exc}\n")
        return Exit.ERROR


def main() -> None:
    sys.exit(run())
