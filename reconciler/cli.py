"""The command line: commands, options, exit statuses, output format.

Exit statuses (stable, scripts rely on them):
  0  success, nothing to change
  1  error: invalid manifests, AWS unreachable, wrong account, a failed change
  2  plan: changes are present
  3  refused by the invariants
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from reconciler import __version__
from reconciler.aws.clients import AwsConfig
from reconciler.commands.common import (
    Exit,
    UsageError,
    cli_region,
    factory,
    maybe_sandbox,
    region_of,
    stop_on_signals,
)
from reconciler.commands.planapply import cmd_apply, cmd_plan
from reconciler.controller.lease import DEFAULT_TABLE
from reconciler.controller.loop import Controller, ControllerConfig, parse_interval
from reconciler.controller.metrics import HealthServer, Metrics
from reconciler.controller.webhook import WebhookConfig, WebhookConfigError
from reconciler.engine.executor import ApplyOptions
from reconciler.engine.plan import KIND_ORDER
from reconciler.errors import ManifestError, ManifestProblem, ReconcilerError
from reconciler.logs import configure_logging
from reconciler.manifests import load_directory
from reconciler.rules import Report, render_findings_json, render_findings_text

__all__ = ["Exit", "UsageError", "main", "run"]

DEFAULT_DIR = "desired-state"


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
    _allow_deletes_argument(plan)
    plan.add_argument(
        "--out",
        metavar="FILE",
        default=None,
        help="also save the plan to FILE, with what it was computed from; 'reconciler apply FILE' executes "
        "exactly it (see docs/operations.md)",
    )

    apply = commands.add_parser(
        "apply",
        help="make the account match the manifests (a directory), or execute a saved plan (a file)",
        description="With a directory: plan, show the plan, ask for 'yes' on a terminal (off a terminal, "
        "--auto-approve is required), then apply exactly that plan. With a plan file from 'plan --out': "
        "execute exactly it, after checking that nothing it touches changed since it was made.",
    )
    apply.add_argument(
        "target",
        nargs="?",
        default=DEFAULT_DIR,
        metavar="DIR|FILE",
        help=f"manifest directory (default: {DEFAULT_DIR}) or saved plan file",
    )
    _aws_arguments(apply)
    apply.add_argument(
        "--adopt", action="store_true", help="take over resources named in git that exist without the ownership tag"
    )
    _allow_deletes_argument(apply)
    apply.add_argument(
        "--auto-approve",
        action="store_true",
        help="apply the plan without asking for 'yes' (required off a terminal, e.g. in CI)",
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
    run.add_argument(
        "--health-stale-after",
        default="5m",
        metavar="DURATION",
        help="/healthz answers 503 when the loop made no progress for this long (default 5m; a long reconcile "
        "keeps it fresh: every AWS request, lease poll and change is progress)",
    )
    secret = run.add_mutually_exclusive_group()
    secret.add_argument(
        "--webhook-secret-file",
        metavar="PATH",
        default=None,
        help="serve POST /hooks/git on --metrics-port: a push signed with this secret (GitHub's "
        "X-Hub-Signature-256) starts a reconcile at once",
    )
    secret.add_argument(
        "--webhook-secret-env", metavar="NAME", default=None, help="as --webhook-secret-file, the secret read from "
        "the environment variable NAME"
    )
    run.add_argument("--adopt", action="store_true", help="take over unowned resources named in git")
    _allow_deletes_argument(run)
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


def _allow_deletes_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-deletes",
        type=int,
        default=None,
        metavar="N",
        help="allow up to N deletions (overrides Settings.maxDeletes and the broken-checkout rail)",
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
    parser.add_argument(
        "--lease-ttl",
        type=float,
        default=60.0,
        help="seconds the lease lasts unless renewed (renewed every third of it; default 60). A writer that "
        "could not renew it in time starts no further change and sends no further write",
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


def cmd_import(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.importer import Filters, ImportOptions, import_account  # noqa: PLC0415
    from reconciler.importer.report import render_import  # noqa: PLC0415

    region = cli_region(args)
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
    with maybe_sandbox(args):
        try:
            result = import_account(factory(args, region, read_only=True), region, options)
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
        region = region_of(args, desired)
    else:
        region = cli_region(args)
        if not region:
            raise UsageError("no region: give a manifest directory with Settings.region, --region, or AWS_REGION")
    with maybe_sandbox(args):
        report: Report = audit(factory(args, region, read_only=True), desired, region)
    if args.output == "json":
        out.write(render_findings_json(report))
    else:
        out.write(render_findings_text(report, color=out.isatty()) + "\n")
    return Exit.REFUSED if report.refuses else Exit.OK


def _webhook(args: argparse.Namespace) -> WebhookConfig | None:
    if args.webhook_secret_file is None and args.webhook_secret_env is None:
        return None
    if args.metrics_port is None:
        raise UsageError("the webhook is served on --metrics-port: give it too")
    if args.webhook_secret_file is not None:
        return WebhookConfig.from_file(Path(args.webhook_secret_file))
    return WebhookConfig.from_env(args.webhook_secret_env)


def cmd_run(args: argparse.Namespace, out: TextIO) -> Exit:
    try:
        interval = parse_interval(args.interval)
        stale_after = parse_interval(args.health_stale_after)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        webhook = _webhook(args)
    except WebhookConfigError as exc:
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
        lease_ttl=args.lease_ttl,
        region=args.region,
        options=ApplyOptions(adopt=args.adopt, allow_deletes=args.allow_deletes),
    )
    aws = AwsConfig(endpoint_url=args.endpoint_url, region=args.region, profile=args.profile)
    stop = stop_on_signals()
    wake = threading.Event()
    metrics = Metrics(stale_after=stale_after, interval=interval)
    server = None
    if args.metrics_port is not None:
        server = HealthServer(metrics, args.metrics_port, webhook=webhook, trigger=wake.set).start()
    try:
        controller = Controller(config, aws, metrics=metrics, stop=stop, wake=wake)
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


def _problem_dict(problem: ManifestProblem) -> dict[str, Any]:
    kind, _, name = (problem.resource or "").partition("/")
    return {"file": problem.file, "line": problem.line, "column": problem.col, "kind": kind or None,
            "name": name or None, "field": problem.field, "message": problem.message}


def _error_dict(message: str) -> dict[str, Any]:
    return {"file": None, "line": None, "column": None, "kind": None, "name": None, "field": None,
            "message": message}


def run(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Parse ``argv`` and run the command; return its exit status. Never raises ReconcilerError.

    With ``--output json``, a failure still prints one JSON object on ``out`` (``{"errors": [...]}``, each
    with file, line, column, kind, name, field and message), and nothing else.
    """
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    configure_logging(fmt=args.log_format, level=args.log_level)
    as_json = getattr(args, "output", None) == "json"
    errors: list[dict[str, Any]] = []
    try:
        return int(COMMANDS[args.command](args, out))
    except ManifestError as exc:
        if as_json:
            errors = [_problem_dict(p) for p in exc.problems]
        else:
            for problem in exc.problems:
                out.write(f"{problem}\n")
            out.write(f"{len(exc.problems)} problem(s) found; nothing was planned or applied.\n")
        return Exit.ERROR
    except ReconcilerError as exc:
        errors = [_error_dict(str(exc))]
        return Exit.ERROR
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        # AWS still failing after botocore's retries (throttling, 5xx, an unparsable answer):
        # a clear error and exit 1; the next run starts again from what is there.
        errors = [_error_dict(f"AWS failed after retries: {exc}")]
        return Exit.ERROR
    finally:
        if errors:
            if as_json:
                out.write(json.dumps({"errors": errors}, indent=2, sort_keys=True) + "\n")
            else:
                out.write("".join(f"error: {e['message']}\n" for e in errors))


def main() -> None:
    sys.exit(run())
