"""The command line: commands, options, exit statuses, output format.

Exit statuses (stable, scripts rely on them):
  0  success, nothing to change
  1  error: invalid manifests, AWS unreachable, wrong account, a failed change
  2  plan: changes are present
  3  refused by the invariants
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path
from typing import TextIO

from reconciler import __version__
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.logs import configure_logging
from reconciler.manifests import load_directory


class Exit(IntEnum):
    OK = 0
    ERROR = 1
    CHANGES = 2
    REFUSED = 3


DEFAULT_DIR = "desired-state"


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
    validate.add_argument("directory", nargs="?", default=DEFAULT_DIR,
                          help=f"manifest directory (default: {DEFAULT_DIR})")
    return parser


def cmd_validate(args: argparse.Namespace, out: TextIO) -> Exit:
    state = load_directory(Path(args.directory), display_root=args.directory)
    counts = ", ".join(
        f"{len(state.of(kind))} {kind}" for kind in sorted(state.resources) if state.of(kind)
    )
    out.write(f"{args.directory}: valid: 1 Settings, {counts} ({state.count()} resources)\n")
    return Exit.OK


COMMANDS = {"validate": cmd_validate}


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
