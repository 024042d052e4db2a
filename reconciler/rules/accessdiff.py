"""The access diff: who gains or loses what matters between two models, and how it is shown.

    diff_access(access_of(before), access_of(after)) -> AccessDiff
    render_access_text(diff) / render_access_markdown(diff) / access_to_dict(diff) / access_from_dict(data)

``plan`` compares the account (before) with the account as apply leaves it (after:
:func:`reconciler.rules.access.after_apply`); ``check --base REF`` compares the manifests at REF with the
manifests now. Changes are grouped into lines a reviewer reads: the principals that gain an entitlement
through one group's documents are shown as that group's members ("members of Group/SageMakerEngineer
(hanako, jiro) gain s3:PutObject on sagemaker-rawdata/*"); a role is shown with the workloads that run as
it. Everything is sorted: the same models give the same diff, byte for byte.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.facts.model import ADMIN_POLICY_ARNS
from reconciler.manifests.yamlsource import printable
from reconciler.rules.access import Access, Category, Entitlement, Found, Via, bucket_of
from reconciler.rules.analysis import S3_ARN_PREFIX
from reconciler.rules.escalation import ESCALATION_PATHS

__all__ = [
    "AccessDiff",
    "AccessLine",
    "access_from_dict",
    "access_to_dict",
    "diff_access",
    "render_access_markdown",
    "render_access_text",
]

GAIN, LOSE = "gain", "lose"
_ORDER = {c: i for i, c in enumerate(Category)}
_TITLES = {
    Category.DATA: "Protected data (write, delete or re-open objects)",
    Category.ADMIN: "Administrator access",
    Category.ASSUME: "Who can assume roles",
    Category.ESCALATION: "Privilege escalation paths",
}
_PATH_TITLES = {path.id: path.title for path in ESCALATION_PATHS}
NO_CHANGE = "Access changes: none (protected data, administrator access, role trust, privilege escalation)."
_NO_CHANGE_MD = "None: protected data, administrator access, role trust and privilege escalation are unchanged."
_SHOWN_WORKLOADS = 3


@dataclass(frozen=True)
class AccessLine:
    """One line of the diff: ``subject`` (and the group's ``members`` concerned) gains or loses ``what``."""

    category: Category
    change: str  # "gain" or "lose"
    subject: str  # Kind/name of a principal (a group for its members), or an identifier outside the model
    what: tuple[str, ...]  # actions (data, assume), "*" (admin), escalation path ids
    on: str = ""  # the bucket pattern (data: "sagemaker-rawdata/*"), the role (assume: "Role/x")
    members: tuple[str, ...] = ()  # a group's users concerned, by name
    via: tuple[str, ...] = ()  # the documents that grant it (after) or granted it (before)
    runs: tuple[str, ...] = ()  # a role's workloads (NotebookInstance/..., StudioDomain/...)

    @property
    def sort_key(self) -> tuple[int, str, str, int, tuple[str, ...]]:
        return (_ORDER[self.category], self.on, self.subject, 0 if self.change == LOSE else 1, self.members)

    @property
    def text(self) -> str:
        """The line as a sentence (no symbol), safe to print."""
        plural = bool(self.members)
        who = _who(self.subject)
        if plural:
            who = f"members of {who} ({', '.join(self.members)})"
        elif self.runs:
            more = len(self.runs) - _SHOWN_WORKLOADS
            who += f" (runs {', '.join(self.runs[:_SHOWN_WORKLOADS])}{f' and {more} more' if more > 0 else ''})"
        verb = self.change if plural else f"{self.change}s"
        if self.category is Category.DATA:
            body = f"{verb} {', '.join(self.what)} on {self.on}"
        elif self.category is Category.ADMIN:
            body = f"{verb} administrator access"
        elif self.category is Category.ASSUME:
            how = "" if self.what == ("sts:AssumeRole",) else f" ({', '.join(self.what)})"
            body = f"can {'newly' if self.change == GAIN else 'no longer'} assume {self.on}{how}"
        else:
            paths = "; ".join(f"{p} ({_PATH_TITLES.get(p, '?')})" for p in self.what)
            body = f"{verb} privilege escalation: {paths}"
        via = f" via {', '.join(self.via)}" if self.via else ""
        return printable(f"{who} {body}{via}")


@dataclass(frozen=True)
class AccessDiff:
    """The change in effective access: lines in display order, and notes (protection changes, documents
    that could not be evaluated)."""

    lines: tuple[AccessLine, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.lines

    def of(self, category: Category) -> tuple[AccessLine, ...]:
        return tuple(line for line in self.lines if line.category is category)


def _who(subject: str) -> str:
    if subject == "*":
        return 'anyone ("*")'
    match = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):root", subject)
    if match:
        return f"account {match.group(1)}"
    if subject.endswith(".amazonaws.com") or subject.endswith(".amazon.com"):
        return f"service {subject}"
    return subject


# --------------------------------------------------------------------------------------------------
# The diff
# --------------------------------------------------------------------------------------------------


def _on(entitlement: Entitlement) -> str:
    return entitlement.on.removeprefix(S3_ARN_PREFIX) if entitlement.category is Category.DATA else entitlement.on


def _via_text(via: Via, subject: str) -> str:
    text = via.source + (f" ({via.detail})" if via.detail else "")
    if via.holder not in (subject, "") and via.holder not in via.source:
        text += f" of {via.holder}"
    return text


def _lines(
    changed: Iterable[Entitlement], entries: Mapping[Entitlement, Iterable[Via]], access: Access, change: str
) -> list[AccessLine]:
    """Changed entitlements as lines: one per (category, target, subject), a group's members split by what
    they gain."""
    grouped: dict[tuple[Category, str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    vias: dict[tuple[Category, str, str, str], set[Via]] = defaultdict(set)
    for e in changed:
        granted = frozenset(entries[e])
        holders = {v.holder for v in granted}
        subject = e.who
        if e.who.startswith("User/") and len(holders) == 1:
            (holder,) = holders
            subject = holder if holder.startswith("Group/") else e.who
        key = (e.category, _on(e), subject)
        grouped[key][e.who].add(e.what)
        if e.category is Category.ASSUME:  # the role's own trust policy goes without saying
            granted = frozenset(v for v in granted if not v.source.startswith(f"trust policy of {e.on}"))
        vias[(*key, e.who)] |= granted
    out: list[AccessLine] = []
    for (category, on, subject), whos in grouped.items():
        by_what: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for who, what in whos.items():
            by_what[tuple(sorted(what))].append(who)
        for whats, members in by_what.items():
            vias_ = {v for who in members for v in vias[(category, on, subject, who)]}
            group = subject.startswith("Group/")
            out.append(
                AccessLine(
                    category,
                    change,
                    subject,
                    whats,
                    on,
                    members=tuple(sorted(m.removeprefix("User/") for m in members)) if group else (),
                    via=tuple(sorted({_via_text(v, subject) for v in vias_})),
                    runs=access.workloads.get(subject, ()),
                )
            )
    return out


def _notes(before: Access, after: Access) -> list[str]:
    notes = [
        f"Bucket/{b} {'becomes protected' if b in before.buckets else 'is new and protected'} (declares access.write)"
        for b in sorted(after.protected - before.protected)
    ]
    notes += [
        f"Bucket/{b} {'is no longer protected' if b in after.buckets else 'was protected and is gone'}"
        for b in sorted(before.protected - after.protected)
    ]
    for side, only in (("before", before.unread - after.unread), ("after", after.unread - before.unread)):
        for ref, arn in sorted(only):
            counted = "only the administrator access it names is counted" if arn in ADMIN_POLICY_ARNS else "not counted"
            notes.append(f"{ref} attaches {arn} ({side} only), whose document was not read: {counted}")
    return notes


def _add(into: dict[Entitlement, set[Via]], found: Found) -> None:
    for entitlement, via in found:
        into.setdefault(entitlement, set()).add(via)


def diff_access(before: Access, after: Access, *, incremental: bool = True) -> AccessDiff:
    """What changes from ``before`` to ``after``: gained and lost entitlements, as lines in display order.

    Protected buckets are those of either side: a bucket protected on one side only is compared on both
    (the other side's writers are computed for it), so protecting a bucket never shows its writers as new.

    Only what differs is analysed: the roles and users whose documents differ (:meth:`Access.actor_key`), the
    trust and bucket policies that differ, and then whatever else could grant an entitlement found to differ
    (its holder's documents, the role's trust, the bucket's policy). The answer is the same as comparing
    everything (``incremental=False``), at the cost of the change rather than of the account.
    """
    buckets = before.protected | after.protected
    roots = {**before.root_arns, **after.root_arns}
    old: dict[Entitlement, set[Via]] = {}
    new: dict[Entitlement, set[Via]] = {}
    if not incremental:
        _add(old, before.everything(buckets, roots))
        _add(new, after.everything(buckets, roots))
        return _diff(before, after, old, new)
    todo = _differing(before, after, buckets)
    done: set[_Part] = set()
    while todo:
        for part in sorted(todo):
            _add(old, _entries(before, part, buckets, roots))
            _add(new, _entries(after, part, buckets, roots))
        done |= todo
        todo = {part for e in old.keys() ^ new.keys() for part in _sources(e, before, after)} - done
    return _diff(before, after, old, new)


_Part = tuple[str, str]  # ("actor", Kind/name) | ("trust", Role/name) | ("policy", bucket name)


def _differing(before: Access, after: Access, buckets: Collection[str]) -> set[_Part]:
    """The parts whose documents differ: compared by identity first (cheap, and enough for what two models
    share), then by content."""

    def differ(key: Callable[..., Any], name: str) -> bool:
        return bool(
            key(before, name, identity=True) != key(after, name, identity=True)
            and key(before, name) != key(after, name)
        )

    actors = sorted(set(before.actors) | set(after.actors))
    roles = sorted({f"Role/{n}" for n in before.model.roles} | {f"Role/{n}" for n in after.model.roles})
    parts = {("actor", ref) for ref in actors if differ(Access.actor_key, ref)}
    parts |= {("trust", ref) for ref in roles if differ(Access.trust_key, ref)}
    parts |= {("policy", name) for name in buckets if differ(Access.policy_key, name)}
    if set(before.root_arns) != set(after.root_arns):  # a role trusts its account on one side only
        parts |= {("actor", ref) for ref in actors if _may_assume(before, ref) or _may_assume(after, ref)}
    return parts


def _may_assume(access: Access, ref: str) -> bool:
    return ref in access.actors and access.may_assume(ref)


def _entries(access: Access, part: _Part, buckets: Collection[str], roots: Mapping[str, str]) -> Found:
    kind, name = part
    if kind == "actor":
        return access.actor_entries(name, buckets, roots)
    return access.trust_entries(name) if kind == "trust" else access.policy_entries(name)


def _sources(e: Entitlement, before: Access, after: Access) -> list[_Part]:
    """Every part that can grant ``e``: its holder's documents, and the role's trust or the bucket's policy."""
    parts: list[_Part] = []
    if e.who in before.actors or e.who in after.actors:
        parts.append(("actor", e.who))
    if e.category is Category.ASSUME:
        parts.append(("trust", e.on))
    elif e.category is Category.DATA:
        parts.append(("policy", bucket_of(e)))
    return parts


def _diff(
    before: Access, after: Access, old: Mapping[Entitlement, Iterable[Via]], new: Mapping[Entitlement, Iterable[Via]]
) -> AccessDiff:
    gained = sorted(e for e in new if e not in old)
    lost = sorted(e for e in old if e not in new)
    lines = _lines(gained, new, after, GAIN) + _lines(lost, old, before, LOSE)
    return AccessDiff(tuple(sorted(lines, key=lambda line: line.sort_key)), tuple(_notes(before, after)))


# --------------------------------------------------------------------------------------------------
# Renderers and the JSON form
# --------------------------------------------------------------------------------------------------


def _sections(diff: AccessDiff) -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(symbol, sentence)]) per category that changes, then the notes."""
    out = []
    for category in Category:
        lines = diff.of(category)
        if lines:
            out.append((_TITLES[category], [("+" if ln.change == GAIN else "-", ln.text) for ln in lines]))
    return out


def render_access_text(diff: AccessDiff | None, *, color: bool = False) -> str:
    """The section for a terminal ("" when the diff was not computed; one line when nothing changes)."""
    if diff is None:
        return ""
    lines = [NO_CHANGE if diff.empty else "Access changes:"]
    for title, entries in _sections(diff):
        lines.append(f"  {title}:")
        for symbol, text in entries:
            painted = f"\x1b[{'32' if symbol == '+' else '31'}m{symbol}\x1b[0m" if color else symbol
            lines.append(f"    {painted} {text}")
    lines += [f"  Note: {printable(note)}" for note in diff.notes]
    return "\n".join(lines) + "\n"


def _fence(body: str) -> str:
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", body)), default=0) + 1)
    return f"{fence}diff\n{body}\n{fence}\n"


def render_access_markdown(diff: AccessDiff | None, *, limit: int | None = None) -> str:
    """The section for a pull-request comment: a heading and a ```diff block ("" when not computed).

    ``limit``: at most that many characters (give or take a line); lines are left out from the end, and
    the last line says how many.
    """
    if diff is None:
        return ""
    if diff.empty and not diff.notes:
        return f"### Access changes\n\n{_NO_CHANGE_MD}\n\n"
    body: list[str] = []
    for title, entries in _sections(diff):
        body.append(f"# {title}")
        body += [f"{symbol} {text}" for symbol, text in entries]
    body += [f"# Note: {printable(note)}" for note in diff.notes]
    if limit is not None and sum(len(line) + 1 for line in body) > limit:
        kept, used = [], 200
        for line in body:
            if used + len(line) + 1 > limit:
                break
            kept.append(line)
            used += len(line) + 1
        omitted = len(body) - len(kept)
        body = [*kept, f"# ... {omitted} more lines omitted: run reconciler plan locally for all of them"]
    return f"### Access changes\n\n{_fence(chr(10).join(body))}\n"


def access_to_dict(diff: AccessDiff) -> dict[str, Any]:
    """The JSON form (``access`` in ``schemas/plan.schema.json``)."""
    return {
        "changes": [
            {
                "category": line.category.value,
                "change": line.change,
                "subject": line.subject,
                "members": list(line.members),
                "what": list(line.what),
                "on": line.on,
                "via": list(line.via),
                "runs": list(line.runs),
                "text": line.text,
            }
            for line in diff.lines
        ],
        "notes": list(diff.notes),
    }


def access_from_dict(data: Mapping[str, Any]) -> AccessDiff:
    """The diff back from :func:`access_to_dict`'s form (a saved plan's)."""
    return AccessDiff(
        tuple(
            AccessLine(
                Category(c["category"]),
                str(c["change"]),
                str(c["subject"]),
                tuple(c["what"]),
                str(c["on"]),
                members=tuple(c["members"]),
                via=tuple(c["via"]),
                runs=tuple(c["runs"]),
            )
            for c in data["changes"]
        ),
        tuple(str(n) for n in data["notes"]),
    )
