"""``reconciler check``: the security rules on the manifests alone, with no AWS account, no credentials and no
network, and what a change does to them compared with a base revision.

What runs is what ``plan`` runs on the manifests (:func:`reconciler.rules.desired_findings`), with the AWS
managed policies resolved from the offline snapshot (:mod:`reconciler.rules.awsmanaged`) instead of IAM, plus
the check's own CHK001 (a reference to an AWS managed policy the snapshot does not know), then
``Settings.exceptions``. Left out, because only the account can tell: KEY001 (a managed user's access keys)
and everything ``plan`` refuses for what it reads (drift, adoption, deletions).

Pure: the caller loads the manifests (now and, with ``--base``, at the base revision) and renders the result
(:mod:`reconciler.engine.render_check`, :mod:`reconciler.engine.sarif`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from reconciler import clock
from reconciler.engine.expiry import effective
from reconciler.manifests import DesiredState
from reconciler.rules import Finding, Report, desired_findings
from reconciler.rules.access import access_of
from reconciler.rules.accessdiff import (
    AccessDiff,
    access_to_dict,
    diff_access,
    render_access_markdown,
    render_access_text,
)
from reconciler.rules.awsmanaged import Snapshot, referenced, snapshot, unknown_aws_policies
from reconciler.rules.exceptions import apply_exceptions
from reconciler.rules.fromdesired import from_desired

__all__ = [
    "AccessDiffFunction",
    "AccessDiffSection",
    "AccountCheck",
    "BaseStates",
    "CheckResult",
    "Comparison",
    "access_diff",
    "check_state",
    "compare",
    "run_check",
]

#: The rules ``check`` runs: those of the manifests (``plan``'s) and its own.
CHECK_ORIGINS: Final = frozenset({"desired", "check"})
OK, REFUSED = 0, 3


# ---------------------------------------------------------------------------------------------- the access diff
#
# How a change moves effective access (who gains or loses writes and deletes on protected buckets,
# administrator-equivalent permissions, which roles they can assume, escalation paths): the rules' access diff
# (reconciler.rules.accessdiff, the one plan shows). ``run_check`` calls ``access_diff(before, after)`` for every
# account when ``--base`` is given; what it returns is ``AccountCheck.access_diff``, and every renderer prints it
# as its own section (text: ``render_text``, Markdown: ``render_markdown``, JSON: ``accessDiff`` = ``to_dict()``).


class AccessDiffSection(Protocol):
    """The access diff of one account, as the check's renderers show it."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the check's ``accounts[].accessDiff``)."""
        ...

    def render_text(self, *, color: bool = False) -> str:
        """Plain text, its own heading included; ``""`` when there is nothing to say."""
        ...

    def render_markdown(self) -> str:
        """A Markdown section for the pull-request comment, its own heading (``###``) included."""
        ...


AccessDiffFunction = Callable[[DesiredState | None, DesiredState], AccessDiffSection | None]


@dataclass(frozen=True)
class _AccessSection:
    """The access diff of the rules (:mod:`reconciler.rules.accessdiff`), as the check's renderers show it."""

    diff: AccessDiff

    def to_dict(self) -> dict[str, Any]:
        return access_to_dict(self.diff)

    def render_text(self, *, color: bool = False) -> str:
        return render_access_text(self.diff, color=color)

    def render_markdown(self) -> str:
        return render_access_markdown(self.diff, limit=ACCESS_MARKDOWN_LIMIT)


#: The most characters of the access section in a check's Markdown (the findings need room too).
ACCESS_MARKDOWN_LIMIT: Final = 20_000


def _model(desired: DesiredState, known: Snapshot) -> Any:
    return from_desired(desired, known.documents(referenced(desired)))


def access_diff(before: DesiredState | None, after: DesiredState) -> AccessDiffSection | None:
    """The change in effective access from ``before`` (the manifests at the base revision; None when the account
    is not there: everything it grants is new) to ``after`` (the manifests now), by the same evaluator as plan's
    access diff, with the AWS managed policies of the offline snapshot."""
    known = snapshot()
    empty = DesiredState(settings=after.settings, resources={}, account=after.account)
    was = access_of(_model(before if before is not None else empty, known))
    now = access_of(_model(after, known))
    return _AccessSection(diff_access(was, now))


# ---------------------------------------------------------------------------------------------- the check


def check_state(desired: DesiredState, *, region: str | None = None, known: Snapshot | None = None) -> Report:
    """The report of the rules on ``desired`` alone: plan's rules with the snapshot's AWS managed policies, CHK001
    for the references the snapshot does not know (instead of LP008's 'not checked' on them), exceptions."""
    known = known if known is not None else snapshot()
    arns = referenced(desired)
    unknown = {arn for arn in arns if not known.knows(arn)}
    findings = [
        f
        for f in desired_findings(desired, known.documents(arns), region=region)
        if not (f.rule == "LP008" and any(f" attaches {arn}," in f.message for arn in unknown))
    ]
    return apply_exceptions(
        [*findings, *unknown_aws_policies(desired, known)],
        desired.settings,
        origin=CHECK_ORIGINS,
        subject="manifests",
        observed=desired.observed,
    )


@dataclass(frozen=True)
class Comparison:
    """The findings now against those at the base revision: new, fixed (at the base, gone now) and unchanged.

    A finding is the same when its rule, severity, resource and message are (its location may move)."""

    base: str  # the revision as given (--base)
    new: tuple[Finding, ...] = ()
    fixed: tuple[Finding, ...] = ()  # located in the base revision's files
    unchanged: tuple[Finding, ...] = ()
    note: str | None = None  # e.g. the account is not at the base revision

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "note": self.note,
            "new": [f.to_dict() for f in self.new],
            "fixed": [f.to_dict() for f in self.fixed],
            "unchanged": [f.to_dict() for f in self.unchanged],
        }

    def summary(self) -> str:
        return f"{len(self.new)} new, {len(self.fixed)} fixed, {len(self.unchanged)} unchanged"


def _identity(finding: Finding) -> tuple[str, str, str, str]:
    return (finding.rule, finding.severity.value, finding.resource, finding.message)


def compare(before: Iterable[Finding], after: Iterable[Finding], base: str, note: str | None = None) -> Comparison:
    """Match ``after`` against ``before`` as multisets of identities (two equal findings count twice)."""
    remaining = Counter(_identity(f) for f in before)
    new: list[Finding] = []
    unchanged: list[Finding] = []
    for finding in after:
        if remaining[_identity(finding)] > 0:
            remaining[_identity(finding)] -= 1
            unchanged.append(finding)
        else:
            new.append(finding)
    fixed: list[Finding] = []
    for finding in before:
        if remaining[_identity(finding)] > 0:
            remaining[_identity(finding)] -= 1
            fixed.append(finding)
    return Comparison(base, tuple(new), tuple(fixed), tuple(unchanged), note)


@dataclass(frozen=True)
class AccountCheck:
    """One account's check: its report, and with ``--base`` the comparison and the access diff."""

    name: str | None  # the Account's metadata.name in a fleet; None for a directory of one account
    account_id: str
    region: str | None
    resources: int
    report: Report
    home: str | None = None  # where its Settings are ("file:line:col"): where an unlocated finding is shown
    comparison: Comparison | None = None
    access_diff: AccessDiffSection | None = None  # the seam: see access_diff()

    @property
    def exit_status(self) -> int:
        return REFUSED if self.report.refuses else OK

    @property
    def label(self) -> str:
        return self.name or "manifests"


@dataclass(frozen=True)
class BaseStates:
    """The manifests at the base revision: each account's desired state by name (None: a directory of one
    account), or why they could not be loaded."""

    ref: str
    commit: str
    states: Mapping[str | None, DesiredState] = field(default_factory=dict)
    error: str | None = None  # the manifests at the revision do not load: no comparison
    note: str | None = None  # said of every account, e.g. the directory is not at the revision


@dataclass(frozen=True)
class CheckResult:
    directory: str
    accounts: tuple[AccountCheck, ...]
    fleet: bool
    snapshot: Mapping[str, Any]  # Snapshot.describe()
    base: BaseStates | None = None

    @property
    def exit_status(self) -> int:
        """3 when any account has an error finding, else 0."""
        return max((a.exit_status for a in self.accounts), default=OK)

    @property
    def errors(self) -> int:
        return sum(len(a.report.errors) for a in self.accounts)

    @property
    def warnings(self) -> int:
        return sum(len(a.report.warnings) for a in self.accounts)


def _key(desired: DesiredState) -> str | None:
    return desired.account.name if desired.account is not None else None


def run_check(
    states: Sequence[DesiredState],
    *,
    directory: str,
    fleet: bool,
    base: BaseStates | None = None,
    region: str | None = None,
    diff: AccessDiffFunction = access_diff,
    known: Snapshot | None = None,
) -> CheckResult:
    """Check every account of ``states``; with ``base``, compare each with the same account at the base revision
    (found by name) and compute its access diff. Both revisions are judged as in force now, as plan judges them
    (the access whose expiresAt passed taken out: :mod:`reconciler.engine.expiry`)."""
    known = known if known is not None else snapshot()
    accounts: list[AccountCheck] = []
    at = clock.now()
    for loaded in states:
        desired = effective(loaded, at).desired
        report = check_state(desired, region=desired.settings.region or region, known=known)
        comparison: Comparison | None = None
        section: AccessDiffSection | None = None
        if base is not None and base.error is None:
            base_state = base.states.get(_key(desired))
            before = effective(base_state, at).desired if base_state is not None else None
            note = base.note
            if before is None and note is None:
                note = f"account {desired.account.name} is not at {base.ref}" if desired.account else None
            old = check_state(before, region=before.settings.region or region, known=known) if before else None
            comparison = compare(old.findings if old else (), report.findings, base.ref, note)
            section = diff(before, desired)
        settings = desired.settings
        accounts.append(
            AccountCheck(
                name=desired.account.name if desired.account is not None else None,
                account_id=settings.account_id,
                region=settings.region or region,
                resources=desired.count(),
                report=report,
                home=settings.source.where() if settings.source else None,
                comparison=comparison,
                access_diff=section,
            )
        )
    return CheckResult(directory, tuple(accounts), fleet, known.describe(), base)
