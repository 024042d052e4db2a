"""``reconciler import``: read the account, write manifests, and check what was written.

1. Read (read-only clients): the account id, then the same reader as ``plan`` with a scope that names
   every resource of the kinds asked for; then the documents of the AWS managed policies the imported
   roles and groups attach (for the invariant rules).
2. Select (``select.py``), convert (``convert.py``), write (``writer.py``).
3. Check, without another read: load the directory as ``validate`` does, evaluate the security rules
   on it (findings point at the written files), and diff it against the account just read. The diff
   should hold only adoptions that add the ownership mark; any other field is something the manifests
   cannot say as it is (reported, not hidden).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.aws.account import check_account
from reconciler.aws.clients import ClientFactory
from reconciler.aws.failures import translate_errors
from reconciler.aws.live import LiveState
from reconciler.aws.policies import read_aws_policies
from reconciler.aws.scope import ReadScope
from reconciler.engine.adoption import AdoptionReport, adoption_report
from reconciler.engine.differ import build_plan
from reconciler.engine.plan import Plan
from reconciler.importer.convert import convert, settings_manifest
from reconciler.importer.select import Filters, Selection, Skipped, select
from reconciler.importer.writer import layout, write_files
from reconciler.kinds import KIND_ORDER, load_directory
from reconciler.kinds.read import read_account
from reconciler.manifests.model import DEFAULT_OWNERSHIP_TAG, OBSERVE, OwnershipTag
from reconciler.rules import Report, evaluate

__all__ = ["ImportOptions", "ImportResult", "import_account"]


@dataclass(frozen=True)
class ImportOptions:
    out: Path
    display: str  # how to show ``out`` (as the user typed it)
    filters: Filters = field(default_factory=Filters)
    force: bool = False
    name: str = "imported"
    account_id: str | None = None  # when given: refuse credentials of another account
    ownership: OwnershipTag = DEFAULT_OWNERSHIP_TAG
    # Write ``metadata.management: observe`` in every manifest: the first commit changes nothing, shows everything.
    observe: bool = False


@dataclass(frozen=True)
class ImportResult:
    account_id: str
    region: str
    files: tuple[str, ...]
    counts: Mapping[str, int]
    skipped: tuple[Skipped, ...]
    dependencies: tuple[tuple[str, str], ...]
    aws_policies: tuple[str, ...]
    findings: Report
    adoption: AdoptionReport
    plan: Plan
    observe: bool = False


@dataclass(frozen=True)
class _ImportScope(ReadScope):
    """Every resource of the kinds asked for is read in detail (the reader's ``named``)."""

    kinds: frozenset[str] = frozenset(KIND_ORDER)

    def named(self, kind: str, name: str) -> bool:
        return kind in self.kinds


def read_live(factory: ClientFactory, region: str, options: ImportOptions) -> LiveState:
    if options.account_id:
        account = check_account(factory, options.account_id)
    else:
        with translate_errors("checking the account (sts:GetCallerIdentity)"):
            account = str(factory.client("sts").get_caller_identity()["Account"])
    # Users and groups refer to each other, notebooks to roles: IAM is read whole anyway (one
    # GetAccountAuthorizationDetails pass); only the per-resource reads follow the kinds asked for.
    scope = _ImportScope(
        account_id=account,
        region=region,
        ownership_key=options.ownership.key,
        ownership_value=options.ownership.value,
        kinds=options.filters.kinds,
    )
    return read_account(factory, scope, check=False)


def _header(live: LiveState) -> list[str]:
    return [
        f"Imported by `reconciler import` from account {live.account_id} ({live.region}).",
        "Review before committing: see docs/import.md (what is skipped, what adoption changes).",
    ]


def import_account(factory: ClientFactory, region: str, options: ImportOptions) -> ImportResult:
    """Read the account through ``factory`` (read-only), write the manifests, check them."""
    live = read_live(factory, region, options)
    selection: Selection = select(live, options.filters)
    manifests, unwritable = convert(live, selection, options.ownership, OBSERVE if options.observe else None)
    settings = settings_manifest(options.name, live.account_id, region, options.ownership)
    files = layout(settings, manifests, _header(live))
    write_files(options.out, files, force=options.force, display=options.display)

    desired = load_directory(options.out, display_root=options.display)
    findings = evaluate(desired, read_aws_policies(factory, selection.aws_policies), region=region)
    plan = build_plan(desired, live)
    return ImportResult(
        account_id=live.account_id,
        region=region,
        files=tuple(files),
        counts=dict(Counter(m.kind for m in manifests)),
        skipped=(*selection.skipped, *unwritable),
        dependencies=selection.dependencies,
        aws_policies=selection.aws_policies,
        findings=findings,
        adoption=adoption_report(plan, options.ownership.key, options.ownership.value),
        plan=plan,
        observe=options.observe,
    )
