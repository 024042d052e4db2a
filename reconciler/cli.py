"""The command line: commands, options, exit statuses, output format.

Exit statuses (stable, scripts rely on them):
  0  success, nothing to change
  1  error: invalid manifests, AWS unreachable, wrong account, a failed change
  2  plan: changes are present
  3  refused by the invariants
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import TextIO

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from reconciler import __version__
from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.controller.lease import DEFAULT_TABLE, Lease, StateTable
from reconciler.controller.loop import Controller, ControllerConfig, parse_interval
from reconciler.controller.metrics import HealthServer, Metrics
from reconciler.engine.adoption import adoption_note, adoption_report, render_adoption
from reconciler.engine.converge import converge
from reconciler.engine.executor import ApplyOptions, Outcome, Status
from reconciler.engine.gate import InvariantsRefused, evaluate_preview, invariant_gate
from reconciler.engine.plan import KIND_ORDER, Plan
from reconciler.engine.preview import preview
from reconciler.engine.render import render_json, render_markdown, render_text
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.logs import configure_logging
from reconciler.manifests import DesiredState, load_directory
from reconciler.rules import Report, findings_to_dict, render_findings_json, render_findings_text


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
    parser.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        default="auto",
        help="log format on stderr (auto: console on a terminal, JSON lines otherwise)",
    )
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = commands.add_parser("validate", help="check the manifests (schemas and references)")
    _directory_argument(validate)

    plan = commands.add_parser("plan", help="show what would change in the account (never writes)")
    _directory_argument(plan)
    _aws_arguments(plan)
    plan.add_argument(
        "--output",
        choices=("text", "json", "markdown"),
        default="text",
        help="text (default; colour on a terminal), json (schemas/plan.schema.json), "
        "or markdown (for a pull-request comment)",
    )
    plan.add_argument(
        "--adopt",
        action="store_true",
        help="plan as apply --adopt: resources named in git that exist without the ownership tag are taken "
        "over; says which of them get only the ownership mark and which also change",
    )

    apply = commands.add_parser("apply", help="make the account match the manifests")
    _directory_argument(apply)
    _aws_arguments(apply)
    apply.add_argument(
        "--adopt", action="store_true", help="take over resources named in git that exist without the ownership tag"
    )
    apply.add_argument(
        "--allow-deletes",
        type=int,
        default=None,
        metavar="N",
        help="allow up to N deletions (overrides Settings.maxDeletes and the broken-checkout rail)",
    )
    apply.add_argument("--workers", type=int, default=8, help="changes run in parallel (default 8)")
    _lease_arguments(apply)
    apply.add_argument(
        "--no-lease",
        action="store_true",
        help="do not take the lease (only when nothing else can write to the account)",
    )

    run = commands.add_parser("run", help="the GitOps controller: pull git, reconcile, repeat")
    run.add_argument("--source", required=True, help="git URL or local repository path")
    run.add_argument("--branch", default="main", help="branch to follow (default main)")
    run.add_argument(
        "--path", default=DEFAULT_DIR, help=f"manifest directory in the repository (default {DEFAULT_DIR})"
    )
    run.add_argument("--interval", default="5m", help="time between reconciles, with 10%% jitter (default 5m)")
    run.add_argument(
        "--mode",
        choices=("apply", "plan"),
        default="apply",
        help="apply (default) converges; plan only reports drift and changes",
    )
    run.add_argument("--once", action="store_true", help="one reconcile, for schedulers; exit status as plan/apply")
    run.add_argument(
        "--allow-rewind", action="store_true", help="apply a commit that is not a descendant of the last applied one"
    )
    run.add_argument(
        "--cache-dir",
        default=os.environ.get("RECONCILER_CACHE_DIR", "/tmp/reconciler-cache"),  # noqa: S108
        help="where the repository is cloned (default /tmp/reconciler-cache)",
    )
    run.add_argument("--metrics-port", type=int, default=None, help="serve /metrics, /healthz and /readyz here")
    run.add_argument("--adopt", action="store_true", help="take over unowned resources named in git")
    run.add_argument("--allow-deletes", type=int, default=None, metavar="N", help="as for apply")
    _lease_arguments(run)
    _aws_arguments(run, sandbox=False)

    audit = commands.add_parser("audit", help="check the live account's security (read-only); exit 3 on errors")
    audit.add_argument(
        "directory",
        nargs="?",
        default=None,
        help="manifest directory (optional): adds drift, its ownership tag and its exceptions",
    )
    _aws_arguments(audit)
    audit.add_argument("--output", choices=("text", "json"), default="text")

    _import_parser(commands)

    commands.add_parser("demo", help="the whole GitOps loop against an embedded AWS, in under a minute")

    sandbox = commands.add_parser("sandbox", help="run the embedded AWS emulator on 127.0.0.1 in the foreground")
    sandbox.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000; 0 picks a free one)")
    return parser


def _import_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "import",
        help="write manifests of what the account holds (read-only), to bring it under git",
        description="Read the account (read-only) and write one manifest per resource under --out, in a folder "
        "per kind, with a Settings manifest. Skips AWS managed policies, service-linked and AWS-reserved roles, "
        "and what --exclude/--exclude-tag name. Reports the security findings of what it wrote, and what "
        "apply --adopt would change besides the ownership mark. See docs/import.md.",
    )
    parser.add_argument("--out", required=True, help="directory to write the manifests to (created if missing)")
    parser.add_argument(
        "--kinds",
        type=_kinds,
        default=frozenset(KIND_ORDER),
        metavar="KIND[,KIND...]",
        help=f"kinds to import (default: all of {', '.join(KIND_ORDER)}); a user's groups and a notebook's "
        "role come along when needed",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATTERN",
        help="import only names matching this shell pattern (repeatable); a pattern with a / matches "
        "Kind/name, e.g. 'Role/ml-*'",
    )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN", help="leave out names matching (repeatable)"
    )
    parser.add_argument(
        "--exclude-tag",
        action="append",
        type=_tag_filter,
        default=[],
        metavar="KEY=VALUE",
        help="leave out resources carrying this tag (repeatable; KEY alone: any value), e.g. the marker tag of "
        "another tool; groups cannot be tagged",
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that already exist")
    parser.add_argument(
        "--name", default="imported", help="metadata.name of the Settings manifest (default: imported)"
    )
    parser.add_argument(
        "--account-id", default=None, help="refuse to read unless the credentials belong to this 12-digit account"
    )
    _aws_arguments(parser)


def _kinds(text: str) -> frozenset[str]:
    by_lower = {k.lower(): k for k in KIND_ORDER}
    kinds = set()
    for item in (part.strip() for part in text.split(",")):
        if item.lower() not in by_lower:
            raise argparse.ArgumentTypeError(f"unknown kind {item!r}; expected some of {', '.join(KIND_ORDER)}")
        kinds.add(by_lower[item.lower()])
    return frozenset(kinds)


def _tag_filter(text: str) -> tuple[str, str | None]:
    key, sep, value = text.partition("=")
    if not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE or KEY, got {text!r}")
    return (key, value if sep else None)


def _directory_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory", nargs="?", default=DEFAULT_DIR, help=f"manifest directory (default: {DEFAULT_DIR})"
    )


def _lease_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-table",
        default=DEFAULT_TABLE,
        help=f"DynamoDB table for the lease and the last applied commit (default {DEFAULT_TABLE}; "
        "created on first use)",
    )
    parser.add_argument(
        "--lease-timeout", type=float, default=600.0, help="seconds to wait for another writer's lease (default 600)"
    )


def _aws_arguments(parser: argparse.ArgumentParser, *, sandbox: bool = True) -> None:
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


def cmd_validate(args: argparse.Namespace, out: TextIO) -> Exit:
    state = load_directory(Path(args.directory), display_root=args.directory)
    counts = ", ".join(f"{len(state.of(kind))} {kind}" for kind in sorted(state.resources) if state.of(kind))
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
        result = preview(desired, _factory(args, region, read_only=True), region, invariants=True)
    report = evaluate_preview(desired, result)
    adoption = ""
    plan = result.plan
    if args.adopt:
        tag = desired.settings.ownership_tag
        summary = adoption_report(plan, tag.key, tag.value)
        adoption = render_adoption(summary)
        if args.output == "markdown":
            plan = dataclasses.replace(plan, notes=(*plan.notes, adoption_note(summary)))
    if args.output == "json":
        out.write(render_json(result.plan, invariants=findings_to_dict(report)))
    elif args.output == "markdown":
        findings = render_findings_text(report, color=False, quiet_when_clean=True)
        out.write(render_markdown(plan, findings=findings, adopt=args.adopt) + "\n")
    else:
        findings = render_findings_text(report, color=out.isatty(), quiet_when_clean=True)
        if findings:
            out.write(findings + "\n\n")
        out.write(render_text(result.plan, color=out.isatty(), adopt=args.adopt) + "\n")
        if adoption:
            out.write(adoption + "\n")
    if report.refuses:
        return Exit.REFUSED
    return Exit.OK if result.plan.empty else Exit.CHANGES


def _cli_region(args: argparse.Namespace) -> str:
    return args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""


def cmd_import(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.importer import Filters, ImportOptions, import_account  # noqa: PLC0415
    from reconciler.importer.report import render_import  # noqa: PLC0415

    region = _cli_region(args)
    if not region:
        raise UsageError("no region: give --region or set AWS_REGION")
    if args.account_id is not None and not re.fullmatch(r"\d{12}", args.account_id):
        raise UsageError(f"--account-id must be 12 digits, not {args.account_id!r}")
    options = ImportOptions(
        out=Path(args.out),
        display=args.out,
        filters=Filters(kinds=args.kinds, include=tuple(args.include), exclude=tuple(args.exclude),
                        exclude_tags=tuple(args.exclude_tag)),
        force=args.force,
        name=args.name,
        account_id=args.account_id,
    )
    with _maybe_sandbox(args):
        try:
            result = import_account(_factory(args, region, read_only=True), region, options)
        except ManifestError as exc:  # the files are written, but other files in --out break the directory
            for problem in exc.problems:
                out.write(f"{problem}\n")
            out.write(f"The manifests were written, but {args.out} does not validate with the files already in it "
                      "(see above).\n")
            return Exit.ERROR
    out.write(render_import(result, args.out, color=out.isatty()))
    return Exit.OK


def cmd_audit(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.aws.audit import audit  # noqa: PLC0415

    desired = load_directory(Path(args.directory), display_root=args.directory) if args.directory else None
    if desired is not None:
        region = _region(args, desired)
    else:
        region = _cli_region(args)
        if not region:
            raise UsageError("no region: give a manifest directory with Settings.region, --region, or AWS_REGION")
    with _maybe_sandbox(args):
        report: Report = audit(_factory(args, region, read_only=True), desired, region)
    if args.output == "json":
        out.write(render_findings_json(report))
    else:
        out.write(render_findings_text(report, color=out.isatty()) + "\n")
    return Exit.REFUSED if report.refuses else Exit.OK


_SYMBOL = {"create": "+", "update": "~", "adopt": "~", "delete": "-", "release": "~"}


def cmd_apply(args: argparse.Namespace, out: TextIO) -> Exit:
    desired = load_directory(Path(args.directory), display_root=args.directory)
    region = _region(args, desired)
    tty = out.isatty()
    shown: list[Plan] = []

    def show(plan: Plan) -> None:
        if not shown or shown[-1] != plan:  # under the lease the plan is computed again
            out.write(render_text(plan, color=tty) + "\n")
            if not plan.empty and tty:
                out.write("\nApplying...\n")
            out.flush()
        shown.append(plan)

    def progress(outcome: Outcome) -> None:
        change = outcome.change
        line = f"  {_SYMBOL[change.action.value]} {change.ref}: {outcome.status.value} ({outcome.seconds:.1f}s)"
        out.write(line + (f": {outcome.message}" if outcome.message else "") + "\n")
        out.flush()

    stop = _stop_on_signals()
    with _maybe_sandbox(args):
        writer = _factory(args, region, read_only=False)
        lease = None
        if not args.no_lease:
            table = StateTable(writer, args.state_table, account_id=desired.settings.account_id)
            holder = Lease(table)
            lease = lambda: holder.held(timeout=args.lease_timeout, stop=stop)  # noqa: E731
        options = ApplyOptions(adopt=args.adopt, allow_deletes=args.allow_deletes, max_workers=args.workers)
        shown_findings: list[str] = []

        def show_findings(report: Report) -> None:
            findings = render_findings_text(report, color=tty, quiet_when_clean=True)
            if findings and findings not in shown_findings:
                out.write(findings + "\n\n")
                shown_findings.append(findings)

        try:
            done = converge(
                desired,
                reader=_factory(args, region, read_only=True),
                writer=writer,
                region=region,
                options=options,
                gate=invariant_gate(show_findings),
                lease=lease,
                on_plan=show,
                on_outcome=progress if tty else None,
                log_changes=not tty,
                stop=stop.is_set,
            )
        except InvariantsRefused:
            out.write("Refused by the security invariants: nothing was changed.\n")
            return Exit.REFUSED
    applied = done.result
    if applied is None:
        return Exit.OK
    for outcome in applied.of(Status.FAILED) + applied.of(Status.SKIPPED):
        out.write(f"{outcome.status.value}: {outcome.change.ref}: {outcome.message}\n")
    for outcome in applied.of(Status.PENDING):
        out.write(f"pending: {outcome.change.ref}: {outcome.message}\n")
    out.write(applied.summary() + "\n")
    return Exit.OK if applied.ok else Exit.ERROR


def _stop_on_signals() -> threading.Event:
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
        structlog.get_logger(__name__).warning("stop requested; finishing the changes in flight",
                                               signal=received[0] if received else None)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
    threading.Thread(target=announce, name="stop-announcer", daemon=True).start()
    return stop


def cmd_run(args: argparse.Namespace, out: TextIO) -> Exit:
    try:
        interval = parse_interval(args.interval)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    config = ControllerConfig(
        source=args.source,
        branch=args.branch,
        path=args.path,
        cache_dir=Path(args.cache_dir),
        interval=interval,
        mode=args.mode,
        allow_rewind=args.allow_rewind,
        state_table=args.state_table,
        lease_timeout=args.lease_timeout,
        region=args.region,
        options=ApplyOptions(adopt=args.adopt, allow_deletes=args.allow_deletes),
    )
    aws = AwsConfig(endpoint_url=args.endpoint_url, region=args.region, profile=args.profile)
    stop = _stop_on_signals()
    metrics = Metrics()
    server = HealthServer(metrics, args.metrics_port).start() if args.metrics_port is not None else None
    try:
        controller = Controller(config, aws, metrics=metrics, stop=stop)
        if args.once:
            return Exit(controller.reconcile_once())
        return Exit(controller.run_forever())
    finally:
        if server is not None:
            server.stop()


def cmd_sandbox(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.sandbox import run_sandbox  # noqa: PLC0415 - moto is imported only for this command

    return Exit(run_sandbox(args.port, out=out))


def cmd_demo(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.demo import run_demo  # noqa: PLC0415 - moto is imported only for this command

    return Exit(run_demo(out))


COMMANDS = {
    "validate": cmd_validate,
    "plan": cmd_plan,
    "apply": cmd_apply,
    "run": cmd_run,
    "audit": cmd_audit,
    "import": cmd_import,
    "sandbox": cmd_sandbox,
    "demo": cmd_demo,
}


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
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        # AWS still failing after botocore's retries (throttling, 5xx, an unparsable answer):
        # a clear error and exit 1; the next run starts again from what is there.
        out.write(f"error: AWS failed after retries: {exc}\n")
        return Exit.ERROR


def main() -> None:
    sys.exit(run())
