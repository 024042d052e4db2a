"""The commands that read and report: ``validate``, ``audit`` and ``import``."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TextIO

from reconciler.commands.common import (
    Exit,
    Subcommands,
    UsageError,
    aws_arguments,
    cli_region,
    directory_argument,
    factory,
    maybe_sandbox,
    region_of,
)
from reconciler.errors import ManifestError
from reconciler.kinds import KIND_ORDER, load_directory
from reconciler.rules import Report, render_findings_json, render_findings_text


def register(commands: Subcommands) -> None:
    """The ``validate``, ``audit`` and ``import`` commands and their arguments."""
    validate = commands.add_parser("validate", help="check the manifests (schemas and references)")
    directory_argument(validate)
    validate.set_defaults(handler=cmd_validate)

    audit = commands.add_parser("audit", help="check the live account's security (read-only); exit 3 on errors")
    audit.add_argument(
        "directory",
        nargs="?",
        default=None,
        help="manifest directory (optional): adds drift, its ownership tag and its exceptions",
    )
    aws_arguments(audit)
    audit.add_argument("--output", choices=("text", "json"), default="text")
    audit.set_defaults(handler=cmd_audit)
    _import_parser(commands)


def _import_parser(commands: Subcommands) -> None:
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
    parser.add_argument("--name", default="imported", help="metadata.name of the Settings manifest (default: imported)")
    parser.add_argument(
        "--account-id", default=None, help="refuse to read unless the credentials belong to this 12-digit account"
    )
    aws_arguments(parser)
    parser.set_defaults(handler=cmd_import)


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
        filters=Filters(
            kinds=args.kinds,
            include=tuple(args.include),
            exclude=tuple(args.exclude),
            exclude_tags=tuple(args.exclude_tag),
        ),
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
            out.write(
                f"The manifests were written, but {args.out} does not validate with the files already in it "
                "(see above).\n"
            )
            return Exit.ERROR
    out.write(render_import(result, args.out, color=out.isatty()))
    return Exit.OK


def cmd_audit(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.audit import audit  # noqa: PLC0415

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
