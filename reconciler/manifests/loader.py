"""Load a directory of manifests into a validated ``DesiredState``, or fail with every problem.

First the directory's files are listed, read and parsed (:func:`reconciler.manifests.files.read_directory`),
without following a symbolic link out of it, and counted and sized before any is read. Then two passes, all
problems collected before failing: (1) YAML and JSON Schema, per document; (2) meaning across documents:
duplicates, exactly one Settings, references that resolve.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from reconciler.errors import ManifestError, ManifestProblem
from reconciler.manifests import fleet, schema
from reconciler.manifests.files import read_directory
from reconciler.manifests.fleet import (
    ACCOUNT_SCHEMA,
    EVERYWHERE,
    Fleet,
    Placement,
    build_account,
    placement_of,
)
from reconciler.manifests.model import (
    ACCOUNT,
    SETTINGS,
    SETTINGS_SCHEMA,
    Account,
    DesiredState,
    Resource,
    Settings,
    Source,
    build_settings,
)
from reconciler.manifests.semantics import ReferenceChecker, check_references, exception_problems
from reconciler.manifests.yamlsource import Document, printable

API_VERSION = "reconciler/v1"


def _field(path: list[str | int] | tuple[str | int, ...]) -> str | None:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _label(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(kind, str) and isinstance(name, str):
        return f"{kind}/{name}"
    if isinstance(kind, str):
        return kind
    return None


class KindSpec(ReferenceChecker, Protocol):
    """What the loader needs of a resource kind (``reconciler.kinds.Kind`` is one)."""

    @property
    def schema(self) -> str:
        """The kind's JSON Schema file (in ``schemas/``)."""

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource: ...


def _check_document(
    doc: Document, problems: list[ManifestProblem], kinds: Mapping[str, KindSpec], *, single: bool
) -> Resource | None:
    """The resource (or Settings) of one document, or None with its problems. ``single``: the directory has no
    Account manifests, so there is no ``${account.*}`` variable to use."""
    data = doc.data
    label = _label(data)

    def problem(
        field: tuple[str | int, ...], message: str, *, at: tuple[str | int, ...] | None = None, key: bool = False
    ) -> None:
        pos = doc.pos(field if at is None else at, key=key)
        problems.append(ManifestProblem(doc.file, pos.line, pos.col, label, _field(field), message))

    if not isinstance(data, dict):
        problem((), "a manifest must be a mapping with apiVersion, kind, metadata and spec")
        return None
    kind = data.get("kind")
    if kind is None:
        problem((), "missing required field 'kind'")
        return None
    if not isinstance(kind, str) or (kind != SETTINGS and kind not in kinds):
        problem(("kind",), f"unknown kind {_repr(kind)}; expected one of {', '.join((SETTINGS, ACCOUNT, *kinds))}")
        return None
    before = len(problems)
    if single and doc.mentions_variables:
        for path in fleet.variable_paths(data):
            problem(path, "uses ${account.…} variables, which come from Account manifests; this directory has none")
        if len(problems) > before:
            return None
    spec = data.get("spec")
    if single and kind == SETTINGS and isinstance(spec, dict) and "accountId" not in spec:
        # Required in a directory of one account; with Account manifests, each Account gives its id.
        problem(("spec",), "missing required field 'accountId'", key=True)
    errors = schema.validate(SETTINGS_SCHEMA if kind == SETTINGS else kinds[kind].schema, data)
    for described in schema.describe_all(errors):
        problem(described.path, described.message, at=described.at, key=described.key)
    if errors:
        return None
    name, spec = data["metadata"]["name"], data["spec"]
    if kind == SETTINGS:
        # An exception names a resource by ``Kind/name``: any kind of the registry, the Settings, or the account.
        known = (SETTINGS, "Account", *kinds)
        for index, exception in enumerate(spec.get("exceptions", [])):
            named = exception["resource"].split("/", 1)[0]
            if named not in known:
                problem(
                    ("spec", "exceptions", index, "resource"),
                    f"unknown kind {_repr(named)}; expected one of {', '.join(known)}",
                )
            for path, message in exception_problems(exception):
                problem(("spec", "exceptions", index, *path), message)
        if len(problems) > before:
            return None
        return build_settings(name, spec, doc)
    resource = kinds[kind].build(name, spec, Source(doc))
    management = data["metadata"].get("management")
    return dataclasses.replace(resource, management=management) if management else resource


def _repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _identity(data: Any, kinds: Mapping[str, KindSpec]) -> tuple[str, str]:
    """(kind, name) a document that failed validation may declare; ``*`` where that cannot be told."""
    if not isinstance(data, dict):
        return ("*", "*")
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    known = kind if isinstance(kind, str) and (kind == SETTINGS or kind in kinds) else "*"
    return (known, name if isinstance(name, str) else "*")


def load_directory(
    root: Path | str, *, kinds: Mapping[str, KindSpec], display_root: Path | str | None = None
) -> DesiredState:
    """Load and validate every manifest under ``root``, of the resource ``kinds`` (by name, in the order the
    desired state lists them) and one Settings: a directory of one account. Raises ManifestError listing every
    problem (a directory with Account manifests is a fleet: :func:`load_fleet`).

    ``reconciler.kinds.load_directory`` is this, with the registry of kinds."""
    fleet = load_fleet(root, kinds=kinds, display_root=display_root)
    if fleet.accounts:
        first = fleet.accounts[0]
        assert first.source is not None
        raise ManifestError(
            [
                ManifestProblem(
                    first.source.file,
                    first.source.line,
                    1,
                    first.ref,
                    None,
                    f"the directory describes a fleet of {len(fleet.accounts)} account(s) (Account manifests); "
                    "this takes a directory of one account",
                )
            ]
        )
    return fleet.states[0]


def load_fleet(
    root: Path | str,
    *,
    kinds: Mapping[str, KindSpec],
    display_root: Path | str | None = None,
    select: Callable[[Account], bool] | None = None,
) -> Fleet:
    """Load and validate every manifest under ``root``: the desired state of each account of the fleet that
    ``select`` keeps (every one by default), or of the one account of a directory without Account manifests.
    Raises ManifestError listing every problem (of the selected accounts), located; a problem that only some
    accounts have says which."""
    root = Path(root)
    base = Path(display_root) if display_root is not None else root
    if not root.is_dir():
        raise ManifestError([ManifestProblem(printable(str(base)), 0, 0, None, None, "not a directory")])
    read = read_directory(root, base)
    problems = _Problems(read.problems)
    accounts, others = _accounts(read.documents, problems)
    is_fleet = bool(accounts) or len(others) < len(read.documents)
    targets: list[Account | None] = [a for a in accounts if select is None or select(a)] if is_fleet else [None]
    states = {id(t): _State(t) for t in targets}
    for doc in others:
        placement = _placement(doc, problems, is_fleet)
        matching = [t for t in targets if t is None or placement.matches(t)]
        if not matching:
            continue
        if not is_fleet or not (doc.mentions_variables and fleet.uses_variables(doc.data)):
            found: list[ManifestProblem] = []
            resource = _check_document(doc, found, kinds, single=not is_fleet)
            problems.add(found, None)
            for target in matching:
                states[id(target)].add(doc, resource, kinds)
            continue
        for target in matching:
            assert target is not None
            found = []
            expanded = _expanded(doc, target, found)
            # An unknown variable is the problem to fix; the text it left would only fail the schema again.
            resource = None if found else _check_document(expanded, found, kinds, single=False)
            problems.add(found, target.name)
            states[id(target)].add(expanded, resource, kinds)
    for state in states.values():
        found = state.finish(kinds, unparsed_files=read.unparsed_files, base=base, empty=not read.files)
        problems.add(found, state.account.name if state.account is not None else None)
    if problems:
        raise ManifestError(problems.listed([t.name for t in targets if t is not None]))
    built = tuple(state.desired(str(root), read.fingerprint) for state in states.values())
    # The resources are built: their documents keep positions (for findings), not the raw data.
    for desired in built:
        for resource in (desired.settings, *desired):
            if resource.source is not None:
                resource.source.document.data = None
    for account in accounts:
        if account.source is not None:
            account.source.document.data = None
    return Fleet(states=built, accounts=tuple(accounts), root=str(root), fingerprint=read.fingerprint)


class _Problems:
    """Problems, each with the accounts it was found for (None: found once, for every account)."""

    def __init__(self, first: list[ManifestProblem]) -> None:
        self._found: dict[ManifestProblem, set[str] | None] = dict.fromkeys(first)

    def __bool__(self) -> bool:
        return bool(self._found)

    def add(self, problems: list[ManifestProblem], account: str | None) -> None:
        for problem in problems:
            if problem in self._found:
                seen = self._found[problem]
                if seen is not None:
                    if account is None:
                        self._found[problem] = None
                    else:
                        seen.add(account)
            else:
                self._found[problem] = None if account is None else {account}

    def listed(self, accounts: list[str]) -> list[ManifestProblem]:
        """Every problem on one line; one that only some accounts have names them."""
        out = []
        for problem, found in self._found.items():
            if found is not None and set(accounts) - found:
                names = sorted(found)
                shown = ", ".join(f"Account/{n}" for n in names[:3])
                more = f" and {len(names) - 3} more" if len(names) > 3 else ""
                out.append(_one_line(dataclasses.replace(problem, message=f"{problem.message} (for {shown}{more})")))
            else:
                out.append(_one_line(problem))
        return out


def _accounts(documents: list[Document], problems: _Problems) -> tuple[list[Account], list[Document]]:
    """The Account manifests (checked: unique names and ids), and the other documents."""
    accounts: dict[str, Account] = {}
    by_id: dict[str, Account] = {}
    others: list[Document] = []
    found: list[ManifestProblem] = []
    for doc in documents:
        data = doc.data
        if not (isinstance(data, dict) and data.get("kind") == ACCOUNT):
            others.append(doc)
            continue
        label = _label(data)
        before = len(found)
        for described in schema.describe_all(schema.validate(ACCOUNT_SCHEMA, data)):
            pos = doc.pos(described.at or described.path, key=described.key)
            found.append(ManifestProblem(doc.file, pos.line, pos.col, label, _field(described.path), described.message))
        if len(found) > before:
            continue
        meta = data["metadata"]
        account = build_account(meta["name"], meta.get("labels", {}), data["spec"], Source(doc))
        for seen, key, what in (
            (accounts, account.name, "metadata.name"),
            (by_id, account.account_id, "spec.accountId"),
        ):
            first = seen.get(key)
            if first is not None:
                assert first.source is not None
                pos = doc.pos(tuple(what.split(".")))
                found.append(
                    ManifestProblem(
                        doc.file,
                        pos.line,
                        pos.col,
                        account.ref,
                        what,
                        f"{key} is also {first.ref}'s, at {first.source.file}:{first.source.line}",
                    )
                )
                break
        else:
            accounts[account.name] = by_id[account.account_id] = account
    problems.add(found, None)
    return sorted(accounts.values(), key=lambda a: a.name), others


def _placement(doc: Document, problems: _Problems, is_fleet: bool) -> Placement:
    """The accounts a document is for (``metadata.accounts``); a problem when it cannot be read."""
    data = doc.data
    meta = data.get("metadata") if isinstance(data, dict) else None
    raw = meta.get("accounts") if isinstance(meta, dict) else None
    if raw is None:
        return EVERYWHERE
    found: list[ManifestProblem] = []
    if not is_fleet:
        pos = doc.pos(("metadata", "accounts"), key=True)
        message = "metadata.accounts selects Account manifests, and this directory has none"
        found.append(ManifestProblem(doc.file, pos.line, pos.col, _label(data), "metadata.accounts", message))
        problems.add(found, None)
        return EVERYWHERE
    placement, selector_problems = placement_of(raw)
    for path, message in selector_problems:
        at = ("metadata", "accounts", *path)
        pos = doc.pos(at)
        found.append(ManifestProblem(doc.file, pos.line, pos.col, _label(data), _field(at), message))
    problems.add(found, None)
    return placement


def _expanded(doc: Document, account: Account, problems: list[ManifestProblem]) -> Document:
    """``doc`` with ``account``'s variables in its strings (the same positions)."""
    label = _label(doc.data)

    def problem(path: tuple[str | int, ...], message: str) -> None:
        pos = doc.pos(path)
        problems.append(ManifestProblem(doc.file, pos.line, pos.col, label, _field(path), message))

    return dataclasses.replace(doc, data=fleet.substitute(doc.data, account, problem))


class _State:
    """What one account's desired state collects while the documents are checked."""

    def __init__(self, account: Account | None) -> None:
        self.account = account
        self.resources: dict[str, dict[str, Resource]] = {}
        self.settings: list[Settings] = []
        self.settings_documents = 0
        # (kind, name) declared by documents that failed validation: references to them are not reported
        # as missing (that would be a cascade of the real error); "*" stands for a kind or a name that
        # cannot be told.
        self.failed: set[tuple[str, str]] = set()
        self.problems: list[ManifestProblem] = []

    def keep(self, resource: Resource) -> None:
        """A resource (or the Settings) of an earlier load whose file did not change."""
        if isinstance(resource, Settings):
            self.settings.append(resource)
            self.settings_documents += 1
        else:
            self.resources.setdefault(resource.kind, {})[resource.name] = resource

    def add(self, doc: Document, resource: Resource | None, kinds: Mapping[str, KindSpec]) -> None:
        if isinstance(doc.data, dict) and doc.data.get("kind") == SETTINGS:
            self.settings_documents += 1
        if resource is None:
            self.failed.add(_identity(doc.data, kinds))
            return
        if isinstance(resource, Settings):
            self.settings.append(self._settings(resource))
            return
        seen = self.resources.setdefault(resource.kind, {})
        first = seen.get(resource.name)
        if first is not None and first.source is not None and resource.source is not None:
            name = resource.source.at("metadata", "name")
            self.problems.append(
                ManifestProblem(
                    resource.source.file,
                    name.line,
                    name.col,
                    resource.ref,
                    "metadata.name",
                    f"duplicate {resource.ref}; first defined at {first.source.file}:{first.source.line}",
                )
            )
            return
        seen[resource.name] = resource

    def _settings(self, settings: Settings) -> Settings:
        """The Settings as this account has them: its id, and its region over the Settings' one."""
        account = self.account
        source = settings.source
        assert source is not None
        if account is None:
            return settings
        if settings.account_id and settings.account_id != account.account_id:
            pos = source.at("spec", "accountId")
            self.problems.append(
                ManifestProblem(
                    source.file,
                    pos.line,
                    pos.col,
                    settings.ref,
                    "spec.accountId",
                    f"{settings.account_id} is not the id of {account.ref} ({account.account_id}); leave accountId "
                    "out, or write ${account.id}",
                )
            )
        return dataclasses.replace(settings, account_id=account.account_id, region=account.region or settings.region)

    def finish(
        self, kinds: Mapping[str, KindSpec], *, unparsed_files: bool, base: Path, empty: bool
    ) -> list[ManifestProblem]:
        """The problems across this account's documents: references, and exactly one Settings."""
        problems = self.problems
        failed = self.failed

        def hidden(kind: str, name: str) -> bool:
            # A file that cannot be read or is not even YAML hides its names entirely.
            return unparsed_files or bool({(kind, name), ("*", name), (kind, "*"), ("*", "*")} & failed)

        def report(res: Resource, path: tuple[str | int, ...], message: str, target: tuple[str, str]) -> None:
            assert res.source is not None
            if hidden(*target):
                return
            pos = res.source.at(*path)
            problems.append(ManifestProblem(res.source.file, pos.line, pos.col, res.ref, _field(path), message))

        self.resources = {kind: self.resources.get(kind, {}) for kind in kinds}
        check_references(self.resources, kinds, report)
        settings = self.settings
        if empty:
            problems.append(ManifestProblem(str(base), 0, 0, None, None, "no *.yaml or *.yml manifest found"))
        elif len(settings) > 1:
            first = settings[0]
            for extra in settings[1:]:
                assert extra.source is not None and first.source is not None
                problems.append(
                    ManifestProblem(
                        extra.source.file,
                        extra.source.line,
                        1,
                        extra.ref,
                        None,
                        f"more than one Settings manifest; the first is at {first.source.file}:{first.source.line}",
                    )
                )
        elif self.settings_documents == 0 and not unparsed_files and not any(kind == "*" for kind, _ in failed):
            # A file that could not be parsed, or a document whose kind is missing or unknown, may be the
            # Settings: its own problem is the one to fix.
            what = "" if self.account is None else f" for {self.account.ref}"
            problems.append(
                ManifestProblem(
                    str(base), 0, 0, None, None, f"no Settings manifest found{what}; exactly one is required"
                )
            )
        return problems

    def desired(self, root: str, fingerprint: str) -> DesiredState:
        return DesiredState(
            settings=self.settings[0],
            resources=self.resources,
            account=self.account,
            root=root,
            fingerprint=fingerprint,
        )


def _one_line(problem: ManifestProblem) -> ManifestProblem:
    """``problem`` with control characters escaped everywhere, so that it prints as exactly one line."""
    return ManifestProblem(
        printable(problem.file),
        problem.line,
        problem.col,
        None if problem.resource is None else printable(problem.resource),
        None if problem.field is None else printable(problem.field),
        printable(problem.message),
    )
