"""The command line: commands, options, exit statuses, output format.

Exit statuses (stable, scripts rely on them):
  0  success, nothing to change
  1  error: invalid manifests, AWS unreachable, wrong account, a failed change
  2  plan: changes are present
  3  refused by the invariants (check, audit: error findings)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from reconciler import __version__
from reconciler.commands import check, expired, inspect, planapply
from reconciler.commands import run as run_command
from reconciler.commands.common import Exit, UsageError
from reconciler.errors import ManifestError, ManifestProblem, ReconcilerError
from reconciler.logs import configure_logging

__all__ = ["Exit", "UsageError", "main", "run"]


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
    inspect.register(commands)
    check.register(commands)
    expired.register(commands)
    planapply.register(commands)
    run_command.register(commands)
    commands.add_parser("demo", help="the whole GitOps loop against an embedded AWS, in under a minute").set_defaults(
        handler=cmd_demo
    )
    sandbox = commands.add_parser("sandbox", help="run the embedded AWS emulator on 127.0.0.1 in the foreground")
    sandbox.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000; 0 picks a free one)")
    sandbox.set_defaults(handler=cmd_sandbox)
    return parser


def cmd_sandbox(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.sandbox import run_sandbox  # noqa: PLC0415 - moto is imported only for this command

    return Exit(run_sandbox(args.port, out=out))


def cmd_demo(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.demo import run_demo  # noqa: PLC0415 - moto is imported only for this command

    return Exit(run_demo(out))


def _problem_dict(problem: ManifestProblem) -> dict[str, Any]:
    kind, _, name = (problem.resource or "").partition("/")
    return {
        "file": problem.file,
        "line": problem.line,
        "column": problem.col,
        "kind": kind or None,
        "name": name or None,
        "field": problem.field,
        "message": problem.message,
    }


def _error_dict(message: str) -> dict[str, Any]:
    return {"file": None, "line": None, "column": None, "kind": None, "name": None, "field": None, "message": message}


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
        return int(args.handler(args, out))
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
