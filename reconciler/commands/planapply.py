"""``reconciler plan`` and ``reconciler apply``: what a reviewer reads is exactly what is applied.

- ``plan DIR`` prints the verdict first (refused, and why, with what unblocks it), the findings, then
  the plan; ``--out FILE`` also saves it, with what it was computed from.
- ``apply FILE`` executes exactly that saved plan, after checking under the lease that nothing it touches
  moved. ``apply DIR`` plans, shows the plan, and asks for ``yes`` on a terminal (``--auto-approve``
  off a terminal), then applies that very plan the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import TextIO

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from reconciler.aws.account import check_account
from reconciler.aws.lease import Lease, StateTable
from reconciler.commands.accounts import (
    account_factory,
    accounts_argument,
    for_each_account,
    load_reading,
    shard_arguments,
)
from reconciler.commands.common import (
    DEFAULT_DIR,
    Exit,
    Subcommands,
    UsageError,
    allow_deletes_argument,
    aws_arguments,
    cli_region,
    directory_argument,
    factory,
    lease_arguments,
    maybe_sandbox,
    plan_options,
    region_of,
    replace_arguments,
    stop_on_signals,
)
from reconciler.engine.adoption import adoption_note, adoption_report, render_adoption
from reconciler.engine.converge import Planned, PlanRefused, PlanStale, apply_saved, make_plan
from reconciler.engine.executor import ApplyResult, Outcome, Status
from reconciler.engine.planfile import SavedPlan, load_plan_file, write_plan_file
from reconciler.engine.render import SYMBOLS, render_json, render_text, render_verdict
from reconciler.engine.render_fleet import (
    AccountPlan,
    plan_section,
    render_fleet_json,
    render_fleet_markdown,
    render_fleet_text,
    worst,
)
from reconciler.engine.render_markdown import render_markdown
from reconciler.errors import ReconcilerError
from reconciler.kinds.read import EarlyRead
from reconciler.manifests import DesiredState
from reconciler.manifests.fleet import Fleet
from reconciler.rules.accessdiff import render_access_text

log = structlog.get_logger(__name__)


def register(commands: Subcommands) -> None:
    """The ``plan`` and ``apply`` commands and their arguments."""
    plan = commands.add_parser("plan", help="show what would change in the account (never writes)")
    directory_argument(plan)
    aws_arguments(plan)
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
    allow_deletes_argument(plan)
    replace_arguments(plan)
    accounts_argument(plan)
    account_workers_argument(plan)
    shard_arguments(plan)
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
    aws_arguments(apply)
    apply.add_argument(
        "--adopt", action="store_true", help="take over resources named in git that exist without the ownership tag"
    )
    allow_deletes_argument(apply)
    replace_arguments(apply)
    apply.add_argument(
        "--auto-approve",
        action="store_true",
        help="apply the plan without asking for 'yes' (required off a terminal, e.g. in CI)",
    )
    apply.add_argument("--workers", type=int, default=8, help="changes run in parallel (default 8)")
    accounts_argument(apply)
    account_workers_argument(apply)
    shard_arguments(apply)
    lease_arguments(apply)
    apply.add_argument(
        "--no-lease",
        action="store_true",
        help="do not take the lease (only when nothing else can write to the account)",
    )
    plan.set_defaults(handler=cmd_plan)
    apply.set_defaults(handler=cmd_apply)


def account_workers_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--account-workers",
        type=int,
        default=4,
        metavar="N",
        help="a fleet: accounts read at the same time (default 4)",
    )


def _plan_one(args: argparse.Namespace, desired: DesiredState, directory: str) -> SavedPlan:
    """One account's plan of a fleet, keeping only what is shown and applied: the findings as text and JSON, not
    the report and the facts behind it (a fleet's memory stays that of the accounts being read)."""
    region = region_of(args, desired)
    reader = account_factory(args, desired.account, region, read_only=True, mode="plan")
    planned = make_plan(desired, reader, region, **plan_options(args), display_root=directory)
    saved = planned.saved
    return dataclasses.replace(
        saved, report=None, saved_findings=saved.findings, saved_findings_text=saved.findings_text
    )


def _plan_status(saved: SavedPlan) -> Exit:
    if saved.verdict.refused:
        return Exit.REFUSED
    return Exit.OK if saved.plan.empty else Exit.CHANGES


def _plan_fleet(args: argparse.Namespace, fleet: Fleet, directory: str) -> list[AccountPlan]:
    outcomes = for_each_account(fleet, lambda d: _plan_one(args, d, directory), workers=max(1, args.account_workers))
    return [
        AccountPlan(
            o.name,
            o.account_id,
            o.region,
            Exit.ERROR if o.result is None else _plan_status(o.result),
            o.result,
            o.error,
        )
        for o in outcomes
    ]


def _fleet_plan_command(args: argparse.Namespace, fleet: Fleet, out: TextIO) -> Exit:
    if args.out and len(fleet.states) != 1:
        raise UsageError(
            f"a saved plan is for one account, and {len(fleet.states)} are selected: plan each with "
            "--accounts NAME --out FILE"
        )
    with maybe_sandbox(args):
        accounts = _plan_fleet(args, fleet, args.directory)
    digest = None
    if args.out and accounts[0].saved is not None:
        digest = write_plan_file(Path(args.out), accounts[0].saved)
        log.info("plan saved", path=args.out, digest=digest, account=accounts[0].name)
    if args.output == "json":
        out.write(render_fleet_json(accounts))
    elif args.output == "markdown":
        text = render_fleet_markdown(accounts, adopt=args.adopt)
        out.write(text + (f"\nPlan file digest: `{digest}`\n" if digest else "") + "\n")
    else:
        tty = out.isatty()
        out.write(
            render_fleet_text(accounts, section=lambda a: plan_section(a, color=tty, adopt=args.adopt), color=tty)
        )
        if digest:
            out.write(f"Saved the plan to {args.out} ({digest}). Apply exactly it with: reconciler apply {args.out}\n")
    return Exit(worst([a.status for a in accounts]))


def _one_account(fleet: Fleet, directory: str, out: TextIO) -> DesiredState | None:
    """The account of a directory of one account; None (said) when it is another shard's."""
    if not fleet.states:
        out.write(f"{directory}: its account is another shard's (--shard-index/--shard-count); nothing to do\n")
        return None
    return fleet.states[0]


def _plan_account(args: argparse.Namespace, desired: DesiredState, directory: str, early: EarlyRead | None) -> Planned:
    """The plan of a directory of one account (``plan DIR``, ``apply DIR``), made from its read started while the
    manifests loaded when there is one (``load_reading``), with that read's clients when it reads this region."""
    region = region_of(args, desired)
    if early is not None and early.scope.region == region:
        reader = early.factory
    else:
        reader = factory(args, region, read_only=True)
    return make_plan(desired, reader, region, **plan_options(args), display_root=directory, early=early)


def cmd_plan(args: argparse.Namespace, out: TextIO) -> Exit:
    fleet, early = load_reading(args, args.directory)
    with early or nullcontext():
        if fleet.is_fleet:
            return _fleet_plan_command(args, fleet, out)
        desired = _one_account(fleet, args.directory, out)
        if desired is None:
            return Exit.OK
        with maybe_sandbox(args):
            planned = _plan_account(args, desired, args.directory, early)
    saved = planned.saved
    assert saved.report is not None
    # The account as read is not shown: let it go before the plan is rendered (what a large account's plan peaks
    # at otherwise: the text is made while the whole account is still in memory).
    del planned
    digest = write_plan_file(Path(args.out), saved) if args.out else None
    if digest:
        log.info("plan saved", path=args.out, digest=digest)
    plan = saved.plan
    if args.output == "json":
        out.write(render_json(plan, invariants=dict(saved.findings), verdict=saved.verdict, access=saved.access))
    elif args.output == "markdown":
        if args.adopt:
            tag = desired.settings.ownership_tag
            plan = dataclasses.replace(
                plan, notes=(*plan.notes, adoption_note(adoption_report(plan, tag.key, tag.value)))
            )
        text = render_markdown(
            plan, findings=saved.findings_text, adopt=args.adopt, verdict=saved.verdict, access=saved.shown_access
        )
        out.write(text + (f"\nPlan file digest: `{digest}`\n" if digest else "") + "\n")
    else:
        tty = out.isatty()
        _show(out, saved, color=tty)
        if args.adopt:
            tag = desired.settings.ownership_tag
            out.write(render_adoption(adoption_report(plan, tag.key, tag.value)) + "\n")
        if digest:
            out.write(f"Saved the plan to {args.out} ({digest}). Apply exactly it with: reconciler apply {args.out}\n")
    if saved.verdict.refused:
        return Exit.REFUSED
    return Exit.OK if plan.empty else Exit.CHANGES


def _show(out: TextIO, saved: SavedPlan, *, color: bool) -> None:
    """The verdict (when refused) first, then the findings, then the plan."""
    verdict = render_verdict(saved.verdict, color=color)
    if verdict:
        out.write(verdict + "\n")
    written = False
    for line in saved.findings_lines():  # written as made: a large account's findings are megabytes of text
        out.write(line + "\n")
        written = True
    if written:
        out.write("\n")
    access = render_access_text(saved.shown_access, color=color)
    if access:
        out.write(access + "\n")
    out.write(render_text(saved.plan, color=color, adopt=saved.adopt) + "\n")
    out.flush()


def _confirm(out: TextIO) -> bool:
    out.write("Do you want to apply this plan? Only 'yes' is accepted.\n  Enter a value: ")
    out.flush()
    return sys.stdin.readline().strip() == "yes"


def cmd_apply(args: argparse.Namespace, out: TextIO) -> Exit:
    target = Path(args.target)
    if target.is_file():
        return _apply_file(args, target, out)
    interactive = sys.stdin.isatty()
    if not args.auto_approve and not interactive:
        raise UsageError(
            "apply needs a confirmation, and there is no terminal to ask on: add --auto-approve to apply what "
            "the plan shows, or save a plan with 'reconciler plan --out FILE' and apply it with "
            "'reconciler apply FILE'. Nothing was changed."
        )
    fleet, early = load_reading(args, args.target)
    with early or nullcontext():
        if fleet.is_fleet:
            return _apply_fleet(args, fleet, out)
        desired = _one_account(fleet, args.target, out)
        if desired is None:
            return Exit.OK
        with maybe_sandbox(args):
            planned = _plan_account(args, desired, args.target, early)
            saved = planned.saved
            del planned  # the account as read is not shown (see cmd_plan); apply reads again what it touches
            _show(out, saved, color=out.isatty())
            if saved.verdict.refused:
                out.write("Refused: nothing was changed.\n")
                return Exit.REFUSED if saved.verdict.by_invariants else Exit.ERROR
            if saved.plan.empty:
                return Exit.OK
            if not args.auto_approve and not _confirm(out):
                out.write("Apply cancelled: nothing was changed.\n")
                return Exit.ERROR
            return _execute(args, saved, out, verify=not args.no_lease)


def _apply_fleet(args: argparse.Namespace, fleet: Fleet, out: TextIO) -> Exit:
    """Plan every selected account, show the fleet's plan, ask once, then apply each account's plan under its own
    lease; a refusal or a failure in one account never stops the others. The exit status is the worst."""
    with maybe_sandbox(args):
        accounts = _plan_fleet(args, fleet, args.target)
        tty = out.isatty()
        out.write(render_fleet_text(accounts, section=lambda a: plan_section(a, color=tty, adopt=args.adopt)))
        statuses: dict[str, Exit] = {}
        ready: list[AccountPlan] = []
        for a in accounts:
            if a.saved is None:
                statuses[a.name] = Exit.ERROR
            elif a.saved.verdict.refused:
                statuses[a.name] = Exit.REFUSED if a.saved.verdict.by_invariants else Exit.ERROR
            elif a.saved.plan.empty:
                statuses[a.name] = Exit.OK
            else:
                ready.append(a)
        if ready and not args.auto_approve and not _confirm(out):
            out.write("Apply cancelled: nothing was changed.\n")
            return Exit.ERROR
        stop = stop_on_signals()
        written = threading.Lock()

        def apply_one(a: AccountPlan) -> None:
            # Each account under its own lease, --account-workers at a time; its report is written whole when
            # it is done, so that the accounts' lines never interleave.
            assert a.saved is not None
            block = io.StringIO()
            if stop.is_set():
                block.write(f"\nstopped: account {a.name} was not applied\n")
                status = Exit.ERROR
            else:
                block.write(f"\n=== Applying account {a.name} ({a.account_id}) ===\n")
                status = _execute_isolated(args, a.saved, block, verify=not args.no_lease, stop=stop)
            with written:
                statuses[a.name] = status
                out.write(block.getvalue())
                out.flush()

        with ThreadPoolExecutor(max_workers=max(1, args.account_workers), thread_name_prefix="apply") as pool:
            list(pool.map(apply_one, ready))
    refused = sorted(n for n, s in statuses.items() if s == Exit.REFUSED)
    failed = sorted(n for n, s in statuses.items() if s == Exit.ERROR)
    out.write(
        f"\nFleet: {len(ready)} account(s) applied, {len(refused)} refused, {len(failed)} failed"
        + (f" (refused: {', '.join(refused)})" if refused else "")
        + (f" (failed: {', '.join(failed)})" if failed else "")
        + ".\n"
    )
    return Exit(worst(list(statuses.values())))


def _execute_isolated(
    args: argparse.Namespace, saved: SavedPlan, out: TextIO, *, verify: bool, stop: threading.Event
) -> Exit:
    """One account's apply; its error is reported and returned, never raised to stop the others."""
    try:
        return _execute(args, saved, out, verify=verify, stop=stop)
    except ReconcilerError as exc:
        out.write(f"error: {exc}\n")
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        out.write(f"error: AWS failed after retries: {exc}\n")
    return Exit.ERROR


def _apply_file(args: argparse.Namespace, path: Path, out: TextIO) -> Exit:
    if args.adopt or args.allow_deletes is not None or args.replace or args.allow_destroy_retained:
        raise UsageError(
            "a saved plan was made with its own --adopt, --allow-deletes, --replace and --allow-destroy-retained; "
            "plan again with the options you want"
        )
    if getattr(args, "sandbox", False):
        raise UsageError("--sandbox starts an empty emulator, for which no saved plan can be current")
    saved = load_plan_file(path)
    if args.region and args.region != saved.target.region:
        raise UsageError(f"--region {args.region} conflicts with the plan's region {saved.target.region}")
    args.region = saved.target.region
    reader = account_factory(
        args, saved.account, saved.target.region, read_only=True, mode="apply", commit=saved.commit
    )
    check_account(reader, saved.target.account_id)
    commit = f", commit {saved.commit[:12]}" if saved.commit else ""
    out.write(
        f"Applying the saved plan {path} ({saved.digest}), made from {saved.directory}{commit} "
        f"for account {saved.target.account_id} ({saved.target.region}).\n\n"
    )
    _show(out, saved, color=out.isatty())
    return _execute(args, saved, out, verify=True)


def _execute(
    args: argparse.Namespace, saved: SavedPlan, out: TextIO, *, verify: bool, stop: threading.Event | None = None
) -> Exit:
    tty = out.isatty()
    region = saved.target.region
    stop = stop if stop is not None else stop_on_signals()
    account, commit = saved.account, saved.commit
    writer = account_factory(args, account, region, read_only=False, mode="apply", commit=commit)
    lease = None
    if not args.no_lease:
        # The state table is the command's own account's (the hub's, in a fleet): one lease item per account.
        table_region = region if account is None else (cli_region(args) or region)
        table = StateTable(
            factory(args, table_region, read_only=False), args.state_table, account_id=saved.target.account_id
        )  # its own clients: the writer's are guarded
        holder = Lease(table, ttl=args.lease_ttl)
        lease = lambda: holder.held(timeout=args.lease_timeout, stop=stop)  # noqa: E731

    def progress(outcome: Outcome) -> None:
        change = outcome.change
        line = f"  {SYMBOLS[change.action]} {change.ref}: {outcome.status.value} ({outcome.seconds:.1f}s)"
        out.write(line + (f": {outcome.message}" if outcome.message else "") + "\n")
        out.flush()

    if tty and not saved.plan.empty:
        out.write("\nApplying...\n")
    try:
        result = apply_saved(
            saved,
            reader=account_factory(args, account, region, read_only=True, mode="apply", commit=commit),
            writer=writer,
            lease=lease,
            workers=args.workers,
            verify=verify,
            on_outcome=progress if tty else None,
            log_changes=not tty,
            stop=stop.is_set,
        )
    except PlanRefused as exc:
        out.write(f"{exc}\nRefused: nothing was changed.\n")
        return Exit.REFUSED if exc.invariants else Exit.ERROR
    except PlanStale as exc:
        out.write(f"error: {exc}\nNothing was changed.\n")
        return Exit.ERROR
    return _report(result, out)


def _report(result: ApplyResult | None, out: TextIO) -> Exit:
    if result is None:
        return Exit.OK
    if result.lease_lost:
        out.write("The lease was lost (another writer holds it now): no further change was started. Not made:\n")
        for outcome in result.not_made():
            out.write(f"  {outcome.change.ref} ({outcome.change.action.value}): {outcome.message}\n")
    else:
        for outcome in result.not_made():
            out.write(f"{outcome.status.value}: {outcome.change.ref}: {outcome.message}\n")
    for outcome in result.of(Status.PENDING):
        out.write(f"pending: {outcome.change.ref}: {outcome.message}\n")
    out.write(result.summary() + "\n")
    return Exit.OK if result.ok else Exit.ERROR
