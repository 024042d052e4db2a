"""The commands that read and report: ``validate``, ``audit`` and ``import``."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from reconciler.commands.accounts import (
    account_factory,
    accounts_argument,
    for_each_account,
    load_selected,
    shard_arguments,
)
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
from reconciler.kinds.registry import KIND_ORDER

if TYPE_CHECKING:
    from reconciler.importer import Filters
    from reconciler.manifests import DesiredState
    from reconciler.manifests.fleet import Fleet
    from reconciler.rules import Report


def register(commands: Subcommands) -> None:
    """The ``validate``, ``audit`` and ``import`` commands and their arguments."""
    validate = commands.add_parser("validate", help="check the manifests (schemas and references)")
    directory_argument(validate)
    accounts_argument(validate)
    shard_arguments(validate)
    validate.set_defaults(handler=cmd_validate, logs=False)  # it reads files and logs nothing

    audit = commands.add_parser("audit", help="check the live account's security (read-only); exit 3 on errors")
    audit.add_argument(
        "directory",
        nargs="?",
        default=None,
        help="manifest directory (optional): adds drift, its ownership tag and its exceptions",
    )
    aws_arguments(audit)
    accounts_argument(audit)
    shard_arguments(audit)
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
    parser.add_argument(
        "--observe",
        action="store_true",
        help="write metadata.management: observe in every manifest: apply then writes nothing to them, while "
        "plan, audit and the controller report their drift and findings; switch them to enforce a few at a time "
        "(docs/import.md)",
    )
    parser.add_argument("--name", default="imported", help="metadata.name of the Settings manifest (default: imported)")
    parser.add_argument(
        "--account-id", default=None, help="refuse to read unless the credentials belong to this 12-digit account"
    )
    parser.add_argument(
        "--fleet",
        metavar="DIR",
        default=None,
        help="import the accounts of this fleet's Account manifests (their read roles), each into OUT/NAME/ as a "
        "directory of one account (with --accounts: only those)",
    )
    accounts_argument(parser)
    shard_arguments(parser)
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


def _counts(state: DesiredState) -> str:
    counts = ", ".join(f"{len(state.of(kind))} {kind}" for kind in sorted(state.resources) if state.of(kind))
    return f"1 Settings, {counts} ({state.count()} resources)"


def cmd_validate(args: argparse.Namespace, out: TextIO) -> Exit:
    fleet = load_selected(args, args.directory)
    if not fleet.is_fleet:
        out.write(f"{args.directory}: valid: {_counts(fleet.states[0])}\n")
        return Exit.OK
    selected = f", {len(fleet.states)} selected" if len(fleet.states) != len(fleet.accounts) else ""
    out.write(f"{args.directory}: valid: a fleet of {len(fleet.accounts)} account(s){selected}\n")
    for state in fleet.states:
        assert state.account is not None
        region = state.settings.region or "-"
        out.write(f"  {state.account.name} ({state.account.account_id}, {region}): {_counts(state)}\n")
    return Exit.OK


def cmd_import(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.importer import ImportOptions, import_account  # noqa: PLC0415
    from reconciler.importer.report import render_import  # noqa: PLC0415

    if args.fleet is not None:
        return _import_fleet(args, out)
    if args.accounts:
        raise UsageError("--accounts selects accounts of a fleet: give the fleet's directory with --fleet DIR")
    region = cli_region(args)
    if not region:
        raise UsageError("no region: give --region or set AWS_REGION")
    if args.account_id is not None and not re.fullmatch(r"\d{12}", args.account_id):
        raise UsageError(f"--account-id must be 12 digits, not {args.account_id!r}")
    options = ImportOptions(
        out=Path(args.out),
        display=args.out,
        filters=_filters(args),
        force=args.force,
        name=args.name,
        account_id=args.account_id,
        observe=args.observe,
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


def _filters(args: argparse.Namespace) -> Filters:
    from reconciler.importer import Filters  # noqa: PLC0415

    return Filters(
        kinds=args.kinds,
        include=tuple(args.include),
        exclude=tuple(args.exclude),
        exclude_tags=tuple(args.exclude_tag),
    )


def _import_fleet(args: argparse.Namespace, out: TextIO) -> Exit:
    """Each selected account of a fleet into OUT/NAME/, read with its read role; one failing never stops the others."""
    from reconciler.importer import ImportOptions, import_account  # noqa: PLC0415
    from reconciler.importer.report import render_import  # noqa: PLC0415

    if args.account_id is not None:
        raise UsageError("--account-id is for one account; with --fleet, each Account's id is checked")
    fleet = load_selected(args, args.fleet)
    if not fleet.is_fleet:
        raise UsageError(f"--fleet {args.fleet} has no Account manifests")

    def one(desired: DesiredState) -> str:
        assert desired.account is not None
        region = desired.settings.region or cli_region(args)
        if not region:
            raise UsageError(f"no region for {desired.account.ref}: set its spec.region, Settings.region or --region")
        target = Path(args.out) / desired.account.name
        options = ImportOptions(
            out=target,
            display=str(target),
            filters=_filters(args),
            force=args.force,
            name=desired.account.name,
            account_id=desired.account.account_id,
            observe=args.observe,
        )
        reader = account_factory(args, desired.account, region, read_only=True, mode="import")
        return render_import(import_account(reader, region, options), str(target), color=False)

    with maybe_sandbox(args):
        outcomes = for_each_account(fleet, one, workers=1)
    for outcome in outcomes:
        out.write(f"=== Account {outcome.name} ({outcome.account_id}) ===\n")
        out.write(outcome.result if outcome.result is not None else f"error: {outcome.error}\n")
    return Exit.ERROR if any(o.error is not None for o in outcomes) else Exit.OK


def cmd_audit(args: argparse.Namespace, out: TextIO) -> Exit:
    from reconciler.audit import audit  # noqa: PLC0415
    from reconciler.rules import render_findings_json, render_findings_text  # noqa: PLC0415

    if args.directory is None and (args.accounts or args.shard_count > 1):
        raise UsageError("--accounts and the shard flags select accounts of a fleet: give its manifest directory")
    fleet = load_selected(args, args.directory) if args.directory else None
    if fleet is not None and fleet.is_fleet:
        return _audit_fleet(args, fleet, out)
    if fleet is not None and not fleet.states:
        out.write(f"{args.directory}: its account is another shard's; nothing to audit\n")
        return Exit.OK
    desired = fleet.states[0] if fleet is not None else None
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


def _audit_fleet(args: argparse.Namespace, fleet: Fleet, out: TextIO) -> Exit:
    """Audit each selected account (its read role); a failure in one never stops the others. Exit 3 when any
    account has error findings, 1 when any failed."""
    from reconciler.audit import audit  # noqa: PLC0415
    from reconciler.rules import render_findings_json, render_findings_text  # noqa: PLC0415

    def one(desired: DesiredState) -> Report:
        region = region_of(args, desired)
        return audit(account_factory(args, desired.account, region, read_only=True, mode="audit"), desired, region)

    with maybe_sandbox(args):
        outcomes = for_each_account(fleet, one, workers=1)
    if args.output == "json":
        entries = [
            {
                "name": o.name,
                "accountId": o.account_id,
                "region": o.region,
                "error": o.error,
                "findings": None if o.result is None else json.loads(render_findings_json(o.result)),
            }
            for o in outcomes
        ]
        out.write(json.dumps({"accounts": entries}, indent=2) + "\n")
    else:
        for o in outcomes:
            out.write(f"=== Account {o.name} ({o.account_id}, {o.region or '-'}) ===\n")
            if o.result is None:
                out.write(f"error: {o.error}\n\n")
            else:
                out.write(render_findings_text(o.result, color=out.isatty()) + "\n\n")
    if any(o.error is not None for o in outcomes):
        return Exit.ERROR
    return Exit.REFUSED if any(o.result is not None and o.result.refuses for o in outcomes) else Exit.OK
