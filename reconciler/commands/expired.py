"""``reconciler expired [DIR]``: the entries of the manifests whose ``expiresAt`` passed, and those that end soon;
``--write`` cuts the expired ones out of the files, so that a pull request brings git back in line with what the
account holds (the reconciler removed their access already, with no commit: docs/operations.md).

Exit status: 0 nothing expired (entries ending soon may be listed), 2 expired entries are still in the manifests
(without ``--write``), 1 invalid manifests, or a rewrite that would not load (nothing is written then).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from reconciler import clock
from reconciler.commands.common import Exit, Subcommands, directory_argument
from reconciler.engine.expiry import exception_grants, grants_of, left_text
from reconciler.engine.render import grant_to_dict
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.kinds import load_fleet
from reconciler.kinds.context import Grant
from reconciler.manifests.model import Resource
from reconciler.manifests.yamledit import Cut, CutError, cut

__all__ = ["register"]


def register(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "expired",
        help="list the entries whose expiresAt passed (and those ending soon); --write removes the expired ones",
        description="List the users, memberships, policy attachments and Settings.exceptions of the manifests whose "
        "expiresAt passed (the reconciler no longer applies them; an expired exception excuses nothing) and those "
        "that end within Settings.expiryWarningDays. With "
        "--write, remove the expired ones from the files in place, keeping comments and the layout of the rest.",
    )
    directory_argument(parser)
    parser.add_argument("--write", action="store_true", help="remove the expired entries from the manifest files")
    parser.add_argument(
        "--within",
        type=int,
        default=None,
        metavar="DAYS",
        help="list the entries that end within DAYS (default: Settings.expiryWarningDays)",
    )
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.set_defaults(handler=cmd_expired)


@dataclass(frozen=True)
class _Entry:
    grant: Grant
    file: str
    document: Any  # the Pos where its document starts


def _entries(directory: str) -> tuple[list[_Entry], int]:
    """Every entry that ends, once each (a fleet's accounts share the documents), and the warning days."""
    fleet = load_fleet(Path(directory), display_root=directory)
    seen: dict[tuple[str, Any, tuple[str | int, ...]], _Entry] = {}
    for desired in fleet.states:
        for resource, grant in (*grants_of(desired), *exception_grants(desired)):
            entry = _entry(resource, grant)
            seen.setdefault((entry.file, entry.document, grant.path), entry)
    warn = min(state.settings.expiry_warning_days for state in fleet.states)
    return list(seen.values()), warn


def _entry(resource: Resource, grant: Grant) -> _Entry:
    assert resource.source is not None
    return _Entry(grant, resource.source.file, resource.source.document.start)


def cmd_expired(args: argparse.Namespace, out: TextIO) -> Exit:
    now = clock.now()
    entries, warn = _entries(args.directory)
    within = args.within if args.within is not None else warn
    expired = [e for e in entries if e.grant.expiry.passed(now)]
    soon = [
        e
        for e in entries
        if not e.grant.expiry.passed(now) and e.grant.expiry.left(now).total_seconds() <= within * 86400
    ]
    written: dict[str, list[_Entry]] = {}
    if args.write and expired:
        written = _write(args.directory, expired)
    if args.output == "json":
        out.write(json.dumps(_json(now, expired, soon, written, args.write), indent=2, sort_keys=True) + "\n")
    else:
        _text(out, now, expired, soon, written=written, within=within)
    return Exit.CHANGES if expired and not args.write else Exit.OK


def _what(grant: Grant) -> str:
    return grant.resource if grant.entry == grant.resource else f"{grant.resource}: {grant.entry}"


def _text(
    out: TextIO, now: Any, expired: list[_Entry], soon: list[_Entry], *, written: dict[str, list[_Entry]], within: int
) -> None:
    for entry in expired:
        g = entry.grant
        out.write(f"expired   {g.expiry.text}  {_what(g)}  ({g.expiry.location})\n")
    for entry in soon:
        g = entry.grant
        left = left_text(g.expiry.left(now))
        out.write(f"expiring  {g.expiry.text}  {_what(g)}, in {left}  ({g.expiry.location})\n")
    if written:
        removed = sum(len(v) for v in written.values())
        out.write(f"Removed {removed} expired entr{'y' if removed == 1 else 'ies'} from {len(written)} file(s):\n")
        out.writelines(
            f"  {file}{' (deleted: nothing else in it)' if not Path(file).exists() else ''}\n" for file in written
        )
    elif expired:
        out.write(
            f"{len(expired)} expired entr{'y is' if len(expired) == 1 else 'ies are'} still in the manifests (no "
            "longer in force: the next plan removes their access); --write removes them from the files\n"
        )
    else:
        out.write("No expired entry in the manifests.\n")
    if not soon:
        out.write(f"Nothing ends within {within} day(s).\n")


def _json(
    now: Any, expired: list[_Entry], soon: list[_Entry], written: dict[str, list[_Entry]], write: bool
) -> dict[str, Any]:
    return {
        "at": now.isoformat(),
        "expired": [grant_to_dict(e.grant) for e in expired],
        "expiring": [
            {**grant_to_dict(e.grant), "secondsLeft": int(e.grant.expiry.left(now).total_seconds())} for e in soon
        ],
        "written": [
            {"file": file, "deleted": not Path(file).exists(), "removed": [e.grant.entry for e in entries]}
            for file, entries in written.items()
        ]
        if write
        else None,
    }


class WriteRefused(ReconcilerError):
    """The expired entries could not be cut out so that the manifests still load: nothing was written."""


def _write(directory: str, expired: list[_Entry]) -> dict[str, list[_Entry]]:
    """Cut the expired entries out of their files: first in a copy of the directory, which must load, then in
    place (each file replaced whole). Returns the entries removed, by file."""
    by_file: dict[str, list[_Entry]] = defaultdict(list)
    for entry in expired:
        by_file[entry.file].append(entry)
    texts: dict[str, str | None] = {}
    for file, entries in by_file.items():
        whole = {e.document for e in entries if not e.grant.path}
        cuts = [Cut(e.document, e.grant.path) for e in entries if not e.grant.path or e.document not in whole]
        try:
            # bytes decoded as they are: line endings and all stay as written
            texts[file] = cut(Path(file).read_bytes().decode("utf-8"), cuts)
        except (CutError, OSError) as exc:
            raise WriteRefused(f"{file}: cannot remove the expired entries ({exc}); nothing was written") from None
    root = Path(directory)
    with tempfile.TemporaryDirectory(prefix="reconciler-expired-") as scratch:
        copy = Path(scratch) / "manifests"
        shutil.copytree(root, copy, symlinks=True)
        for file, text in texts.items():
            _put(copy / _under(Path(file), root), text)
        try:
            load_fleet(copy, display_root=directory)
        except ManifestError as exc:
            problems = "; ".join(str(p) for p in exc.problems[:3])
            raise WriteRefused(
                f"without the expired entries the manifests would not load: {problems}; edit them by hand "
                "(nothing was written)"
            ) from None
    for file, text in texts.items():
        _put(Path(file), text)
    return dict(by_file)


def _under(path: Path, root: Path) -> Path:
    """``path`` (as the loader names a file: under ``root`` as given) relative to ``root``."""
    return path if str(root) in ("", ".") else path.relative_to(root)


def _put(path: Path, text: str | None) -> None:
    """Replace ``path`` with ``text`` atomically (None: delete it)."""
    if text is None:
        path.unlink()
        return
    fd, tmp = tempfile.mkstemp(prefix=".expired-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
