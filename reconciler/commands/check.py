"""``reconciler check [DIR]``: validation and every security rule that needs the manifests alone, with no AWS
account, no credentials and no network (a pull-request check, a pre-commit hook).

Exit statuses: 0 no error finding, 3 error findings, 1 invalid manifests or a check that could not run. With
``--base REF``, the manifests at that git revision of DIR's repository are read with ``git`` (a local operation:
the revision must already be fetched) into a temporary directory and checked too, to say which findings are new,
fixed or unchanged; that is also where the access diff (:func:`reconciler.engine.check.access_diff`) gets the
state before the change.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from tempfile import TemporaryDirectory
from typing import TextIO

from reconciler.commands.accounts import accounts_argument, load_selected, selection
from reconciler.commands.common import Exit, Subcommands, UsageError, cli_region, directory_argument
from reconciler.engine.check import BaseStates, run_check
from reconciler.engine.render_check import (
    render_check_json,
    render_check_markdown,
    render_check_text,
    render_problems_markdown,
)
from reconciler.engine.render_markdown import _md
from reconciler.engine.sarif import SRCROOT, UriOf, render_sarif, render_sarif_failure, render_sarif_problems
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.kinds import load_fleet
from reconciler.manifests.fleet import Fleet

__all__ = ["cmd_check", "register", "revision_tree"]

OUTPUTS = ("text", "json", "markdown", "sarif")


def register(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "check",
        help="the security rules on the manifests alone: no AWS account, credentials or network (pull requests, "
        "pre-commit); exit 3 on error findings",
        description="Validate the manifests and evaluate every security rule that depends on them alone, offline: "
        "AWS managed policies come from a snapshot shipped with reconciler. Exit 0: no error finding; 3: error "
        "findings; 1: invalid manifests, or the check could not run. See docs/ci.md.",
    )
    directory_argument(parser)
    parser.add_argument(
        "--output",
        choices=OUTPUTS,
        default="text",
        help="text (default), json (schemas/check.schema.json), markdown (a pull-request comment, under 65,000 "
        "characters), or sarif (SARIF 2.1.0, for code-scanning annotations at each manifest line)",
    )
    parser.add_argument(
        "--base",
        metavar="REF",
        default=None,
        help="also check the manifests at this git revision of DIR's repository (e.g. origin/main, already "
        "fetched) and report which findings are new, fixed or unchanged",
    )
    parser.add_argument(
        "--region",
        default=None,
        help="the region the rules assume when Settings.region does not say (default: AWS_REGION, else us-east-1); "
        "nothing is sent to it",
    )
    accounts_argument(parser)
    parser.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace, out: TextIO) -> Exit:
    try:
        return _check(args, out)
    except ManifestError as exc:
        if args.output == "sarif":
            out.write(render_sarif_problems(exc.problems, uri_of=uri_mapper(args.directory)))
        elif args.output == "markdown":
            out.write(render_problems_markdown(args.directory, exc.problems))
        else:
            raise  # text and JSON: as every command reports invalid manifests
        return Exit.ERROR
    except ReconcilerError as exc:
        if args.output == "sarif":
            out.write(render_sarif_failure(str(exc)))
        elif args.output == "markdown":
            out.write(f"## ❌ Reconciler check could not run\n\n{_md(str(exc))}\n")
        else:
            raise
        return Exit.ERROR


def _check(args: argparse.Namespace, out: TextIO) -> Exit:
    fleet = load_selected(args, args.directory)
    base = load_base(args, fleet) if args.base is not None else None
    result = run_check(
        fleet.states, directory=args.directory, fleet=fleet.is_fleet, base=base, region=cli_region(args) or None
    )
    if args.output == "json":
        out.write(render_check_json(result))
    elif args.output == "markdown":
        out.write(render_check_markdown(result))
    elif args.output == "sarif":
        out.write(render_sarif(result, uri_of=uri_mapper(args.directory)))
    else:
        out.write(render_check_text(result, color=out.isatty()))
    return Exit(result.exit_status)


# ---------------------------------------------------------------------------------------------- --base


def load_base(args: argparse.Namespace, current: Fleet) -> BaseStates:
    """The selected accounts' manifests at ``args.base``, shown under the same paths as now."""
    ref = args.base
    with revision_tree(args.directory, ref) as (commit, tree):
        if tree is None:
            return BaseStates(ref, commit, note=f"{args.directory} is not at {ref}: every finding is new")
        try:
            before = load_fleet(tree, display_root=args.directory, select=selection(args))
        except ManifestError as exc:
            first = exc.problems[0] if exc.problems else ""
            return BaseStates(
                ref, commit, error=f"its manifests do not load ({len(exc.problems)} problem(s); the first: {first})"
            )
    if before.is_fleet != current.is_fleet:
        what = "a fleet" if before.is_fleet else "one account"
        return BaseStates(ref, commit, note=f"the directory was {what} at {ref}: every finding is new")
    states = {(s.account.name if s.account is not None else None): s for s in before.states}
    return BaseStates(ref, commit, states)


def _git(cwd: str | Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], input=stdin, capture_output=True, env=env, check=False)
    except FileNotFoundError:
        raise UsageError("--base needs git, and it is not installed") from None


def _git_out(cwd: str | Path, *args: str) -> str | None:
    done = _git(cwd, *args)
    return done.stdout.decode("utf-8", "surrogateescape").strip() if done.returncode == 0 else None


@contextmanager
def revision_tree(directory: str, ref: str) -> Iterator[tuple[str, Path | None]]:
    """(the commit ``ref`` names, ``directory`` as it is in that commit, written to a temporary directory; None
    when it is not there). Only local git operations (rev-parse, ls-tree, cat-file): nothing is fetched."""
    if not Path(directory).is_dir():
        raise UsageError(f"--base: {directory} is not a directory")
    prefix = _git_out(directory, "rev-parse", "--show-prefix")
    if prefix is None:
        raise UsageError(f"--base {ref}: {directory} is not inside a git work tree")
    commit = _git_out(directory, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if not commit:
        raise UsageError(
            f"--base {ref}: no such revision in the repository of {directory} (in CI, fetch it first, e.g. "
            "actions/checkout with fetch-depth: 0)"
        )
    prefix = prefix.rstrip("/")
    tree = _git_out(
        directory, "rev-parse", "--verify", "--quiet", f"{commit}:{prefix}" if prefix else f"{commit}^{{tree}}"
    )
    if not tree or _git_out(directory, "cat-file", "-t", tree) != "tree":
        yield commit, None
        return
    with TemporaryDirectory(prefix="reconciler-base-") as tmp:
        root = Path(tmp) / (PurePosixPath(prefix).name or "root")
        root.mkdir()
        _write_tree(directory, tree, root)
        yield commit, root


def _write_tree(cwd: str, tree: str, root: Path) -> None:
    listing = _git(cwd, "ls-tree", "-r", "-z", "--full-tree", tree)
    if listing.returncode != 0:
        raise UsageError(f"git ls-tree failed: {listing.stderr.decode(errors='replace').strip()}")
    entries: list[tuple[str, str, str]] = []  # (mode, object, path)
    for record in listing.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, sha = meta.decode().split(" ")
        if kind == "blob":  # a submodule (commit) has nothing to check
            entries.append((mode, sha, name.decode("utf-8", "surrogateescape")))
    if not entries:
        return
    batch = _git(cwd, "cat-file", "--batch", stdin="".join(f"{sha}\n" for _, sha, _ in entries).encode())
    if batch.returncode != 0:
        raise UsageError(f"git cat-file failed: {batch.stderr.decode(errors='replace').strip()}")
    data, offset = batch.stdout, 0
    for mode, _sha, path in entries:
        header_end = data.index(b"\n", offset)
        size = int(data[offset:header_end].split(b" ")[2])
        content = data[header_end + 1 : header_end + 1 + size]
        offset = header_end + 1 + size + 1
        target = root.joinpath(*PurePosixPath(path).parts)
        if ".." in PurePosixPath(path).parts:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            target.symlink_to(content.decode("utf-8", "surrogateescape"))
        else:
            target.write_bytes(content)


# ---------------------------------------------------------------------------------------------- SARIF paths


def uri_mapper(directory: str) -> UriOf:
    """Manifest files as SARIF URIs relative to the root of DIR's git repository (what code scanning expects,
    wherever the command runs from); outside a repository, as printed."""
    top = _git_out(directory, "rev-parse", "--show-toplevel") if Path(directory).is_dir() else None
    real_top = os.path.realpath(top) if top else None

    def uri_of(file: str) -> tuple[str, str | None]:
        path = os.path.realpath(file)
        if real_top and (path + os.sep).startswith(real_top + os.sep):
            return PurePosixPath(*Path(os.path.relpath(path, real_top)).parts).as_posix(), SRCROOT
        if real_top or os.path.isabs(file):
            return Path(path).as_uri(), None
        return file.replace(os.sep, "/").removeprefix("./"), SRCROOT

    return uri_of
