"""The command line: commands, options, exit statuses, output format.

Exit statuses (stable, scripts rely on them):
  0  success, nothing to change
  1  error: invalid manifests, AWS unreachable, wrong account, a failed change
  2  plan: changes are present
  3  refused by the invariants (check, audit: error findings)
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from reconciler import __version__
from reconciler.aws.failures import aws_failures
from reconciler.commands.common import Exit, UsageError
from reconciler.errors import ManifestError, ManifestProblem, ReconcilerError
from reconciler.logs import configure_logging
from reconciler.runtime import tune_process

__all__ = ["Exit", "UsageError", "main", "run", "tune_for"]

#: The modules of ``reconciler.commands`` that register the commands (each its ``register``), in ``--help``'s order.
COMMAND_MODULES: tuple[str, ...] = ("inspect", "check", "expired", "planapply", "run")
#: Which of them registers each command. A command line names one command, and only its module is imported (the
#: engine, boto3, the rules... are a fifth of a second to half a second): ``reconciler --version`` imports none.
#: Only a speed-up: a command missing here makes every module load, as for ``--help``, an unknown command or none.
COMMANDS: dict[str, str] = {
    "validate": "inspect",
    "audit": "inspect",
    "import": "inspect",
    "check": "check",
    "expired": "expired",
    "plan": "planapply",
    "apply": "planapply",
    "run": "run",
}
#: The commands of this module.
_OWN_COMMANDS = frozenset({"demo", "sandbox"})
#: The commands that keep running: the controller (but ``run --once``), the emulator, the demo's loop.
_LONG_RUNNING = frozenset({"run", "sandbox", "demo"})
#: The options before the command that take a value (the value is not the command).
_VALUED_OPTIONS = frozenset({"--log-format", "--log-level"})


def _command_at(argv: Sequence[str]) -> int:
    """The position in ``argv`` of the command's name (its first word that is neither an option nor an option's
    value); ``len(argv)`` when there is none."""
    expect_value = False
    for at, arg in enumerate(argv):
        if expect_value:
            expect_value = False
        elif arg in _VALUED_OPTIONS:
            expect_value = True
        elif not arg.startswith("-"):
            return at
    return len(argv)


def _modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The command modules that parsing ``argv`` needs: the one of the command it names; none for ``--version``
    before any command or help; all of them otherwise (``--help``, no command, an unknown one)."""
    at = _command_at(argv)
    for arg in argv[:at]:
        if arg in ("-h", "--help"):
            return COMMAND_MODULES
        if arg == "--version":
            return ()
    if at == len(argv):
        return COMMAND_MODULES
    if argv[at] in _OWN_COMMANDS:
        return ()
    module = COMMANDS.get(argv[at])
    return (module,) if module is not None else COMMAND_MODULES


def _one_shot(argv: Sequence[str]) -> bool:
    """Whether the command line does one piece of work and exits: every command but the controller (unless
    ``--once``), the emulator and the demo (:func:`reconciler.runtime.tune_process`)."""
    at = _command_at(argv)
    command = argv[at] if at < len(argv) else None
    return command not in _LONG_RUNNING or (command == "run" and "--once" in argv[at:])


def _parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
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
    # A command that logs nothing (validate) says so with logs=False: structlog is then neither configured nor
    # imported.
    parser.set_defaults(logs=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in modules:
        importlib.import_module(f"reconciler.commands.{module}").register(commands)
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
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(_modules_for(argv)).parse_args(argv)
    if args.logs:
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
    except aws_failures() as exc:
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


def tune_for(argv: Sequence[str]) -> None:
    """Set up the process for the command line ``argv``: the garbage collector's pace, for one piece of work or for
    a service, and the C allocator's arenas (:func:`reconciler.runtime.tune_process`). Only the entry point does."""
    tune_process(one_shot=_one_shot(argv))


def main() -> None:
    tune_for(sys.argv[1:])
    sys.exit(run())
