"""Desired state + live state -> Plan. Pure: no AWS calls, no clock, no randomness."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from reconciler.aws.live import LiveState, fingerprint
from reconciler.aws.scope import ReadScope
from reconciler.engine.adoption import is_ownership_mark
from reconciler.engine.plan import Action, Change, FieldChange, Plan
from reconciler.kinds import KIND_ORDER, REGISTRY, Context, Kind
from reconciler.kinds.context import REPLACEMENT, Blocker
from reconciler.manifests.model import DesiredState, is_policy_arn
from reconciler.policydoc import PolicyDocumentError, diff_documents, equivalent, normalise


def context(desired: DesiredState, region: str) -> Context:
    tag = desired.settings.ownership_tag
    return Context(desired.settings.account_id, region, tag.key, tag.value, desired)


def read_scope(desired: DesiredState, region: str) -> ReadScope:
    """What the reader must look at in detail for this desired state."""
    tag = desired.settings.ownership_tag
    return ReadScope(
        account_id=desired.settings.account_id,
        region=region,
        ownership_key=tag.key,
        ownership_value=tag.value,
        names={kind: frozenset(desired.of(kind)) for kind in KIND_ORDER},
        aws_policy_arns=aws_policy_references(desired),
        hints=read_hints(desired),
    )


def read_hints(desired: DesiredState) -> dict[str, dict[str, object]]:
    """What the manifests tell the kinds' reads (``Kind.read_hint``), by kind and name."""
    out: dict[str, dict[str, object]] = {}
    for resource in desired:
        hint = REGISTRY[resource.kind].read_hint(resource)
        if hint is not None:
            out.setdefault(resource.kind, {})[resource.name] = hint
    return out


def aws_policy_references(desired: DesiredState) -> frozenset[str]:
    """The AWS managed policies the manifests refer to (attached, or as a boundary)."""
    return frozenset(
        ref
        for resource in desired
        for ref in REGISTRY[resource.kind].policy_references(resource)
        if is_policy_arn(ref) and ":iam::aws:policy/" in ref
    )


def _deep_diff() -> Any:
    """deepdiff's ``DeepDiff``, imported when a plain field differs: a plan that changes nothing never needs it,
    and it is the largest import of the product (about 20 MB and 0.2 s, pydantic included)."""
    from deepdiff import DeepDiff  # noqa: PLC0415 - see the docstring

    return DeepDiff


class _LiveDocument:
    """What one live document object was found to be: its JSON (None: not JSON), and whether it reads as a
    policy (None: not asked yet). Holds the document, so that its ``id`` is not another's while it is known."""

    __slots__ = ("document", "policy", "text")

    def __init__(self, document: Any) -> None:
        self.document = document
        self.text = _json(document)
        self.policy: bool | None = None


class Documents:
    """Policy documents compared by meaning, for one plan. The live side's objects are shared: IAM's answers
    decode each distinct text once (``reconciler.aws.answers``), so the trust policy of a thousand roles is one
    object, dumped and checked once here rather than once per role."""

    def __init__(self) -> None:
        self._live: dict[int, _LiveDocument] = {}

    def equal(self, old: Any, new: Any) -> bool:
        """Whether ``old`` (live) and ``new`` (desired) are the same policy; False when either is not one."""
        if old is None or new is None:
            return old is None and new is None
        known = self._live.get(id(old))
        if known is None or known.document is not old:
            known = self._live[id(old)] = _LiveDocument(old)
        try:
            # the common case, written as read (types and order included: True is not 1 here, as it is to ==)
            if known.text is not None and known.text == _json(new):
                if known.policy is None:
                    known.policy = False
                    normalise(old)  # it must read as a policy
                    known.policy = True
                return known.policy
            return equivalent(old, new)
        except PolicyDocumentError:
            return False


def _json(document: Any) -> str | None:
    """The document as JSON; None for what is not JSON (a YAML date)."""
    try:
        return json.dumps(document)
    except (TypeError, ValueError):
        return None


def _statements(old: Any, new: Any) -> Any:
    # A document that is created or removed is diffed against an empty one of the same Version,
    # so only its statements show, not a Version change.
    version = (new or old or {}).get("Version", "2012-10-17")
    empty = {"Version": version, "Statement": []}
    try:
        return diff_documents(old or empty, new or empty)
    except PolicyDocumentError:
        return None


def diff_fields(
    kind: Kind, old: dict[str, Any], new: dict[str, Any], documents: Documents | None = None
) -> list[FieldChange]:
    """The fields that differ between a live view (old) and a desired view (new), by meaning (``documents``: the
    plan's comparer of policy documents)."""
    documents = documents or Documents()
    changes: list[FieldChange] = []
    plain_old = {k: v for k, v in old.items() if k not in kind.document_fields | kind.document_map_fields}
    plain_new = {k: v for k, v in new.items() if k not in kind.document_fields | kind.document_map_fields}
    # deepdiff compares the plain fields; lists are sets here (attached policies, groups, subnets).
    for name in sorted(set(plain_old) | set(plain_new)):
        before, after = plain_old.get(name), plain_new.get(name)
        # Views keep lists sorted, so equal values are the common, cheap case; deepdiff decides the rest.
        if before != after and _deep_diff()(before, after, ignore_order=True):
            changes.append(
                FieldChange((name,), old.get(name), new.get(name), replaces=name in kind.replace_fields and name in old)
            )
    for name in sorted(kind.document_fields):
        if not documents.equal(old.get(name), new.get(name)):
            changes.append(
                FieldChange(
                    (name,),
                    old.get(name),
                    new.get(name),
                    statements=_statements(old.get(name), new.get(name)),
                    replaces=name in kind.replace_fields and name in old,
                )
            )
    for name in sorted(kind.document_map_fields):
        old_map, new_map = old.get(name) or {}, new.get(name) or {}
        for key in sorted(set(old_map) | set(new_map)):
            if not documents.equal(old_map.get(key), new_map.get(key)):
                changes.append(
                    FieldChange(
                        (name, key),
                        old_map.get(key),
                        new_map.get(key),
                        statements=_statements(old_map.get(key), new_map.get(key)),
                    )
                )
    return sorted(changes, key=lambda c: c.field)


def _change(
    kind: Kind,
    action: Action,
    name: str,
    fields: list[FieldChange],
    *,
    current: Any,
    live: LiveState,
    ctx: Context,
    desired: Any = None,
    have: Any = None,
    source: str | None = None,
    notes: tuple[str, ...] = (),
    retain: bool = False,
) -> Change:
    """A change with what the kind says about it: why apply would refuse it, its notes, its side effects."""
    changed = list(dict.fromkeys(f.name for f in fields))
    replaced = [f.name for f in fields if f.replaces]
    ref = f"{kind.name}/{name}"
    blocker = None
    if action is not Action.REPLACE:
        blocker = kind.blocker(
            action.value, changed=changed, replaced=replaced, live=current, desired=desired or {}, ctx=ctx
        )
    if blocker is not None and blocker.code == REPLACEMENT:
        blocker = Blocker(
            blocker.code,
            blocker.message,
            f"rerun with --replace {ref} to delete and recreate it, or: {blocker.unblock}",
        )
    return Change(
        action,
        kind.name,
        name,
        fields=tuple(fields),
        desired=desired,
        live=have,
        source=source,
        notes=notes + kind.plan_notes(action.value, changed, current, ctx),
        destroys=kind.destroys(current, live) if action in (Action.DELETE, Action.REPLACE) else (),
        blocker=blocker,
        fingerprint=fingerprint(current),
        retain=retain and action is Action.REPLACE,
        adopting=action is Action.REPLACE and current is not None and not kind.owned(current, ctx),
    )


OBSERVED_NOTE = "observed, not enforced (metadata.management: observe): reported only, nothing is written to it"


def _converge_action(kind: Kind, current: Any, fields: list[FieldChange], ctx: Context, replace: bool) -> Action | None:
    """What converging an existing resource to git takes: None when it already matches."""
    if replace:
        return Action.REPLACE
    if not kind.owned(current, ctx) and not kind.empty_shell(current):
        return Action.ADOPT
    return Action.UPDATE if fields else None


def build_plan(
    desired: DesiredState,
    live: LiveState,
    *,
    replace: frozenset[str] = frozenset(),
    only: Mapping[str, frozenset[str]] | None = None,
) -> Plan:
    """Every change that makes ``live`` match ``desired``, ordered for execution.

    ``replace``: ``Kind/name`` of existing resources to delete and recreate (``--replace``). Resources under
    ``management: observe`` are compared like the others, but their differences go to ``Plan.observed``.

    ``only`` (a targeted plan, the controller's between full reads): compare only these resources, by kind and
    name, on both sides; the views are still made in the context of the whole of ``desired`` (a group's
    members are its users' manifests', wherever they are)."""
    ctx = context(desired, live.region)

    def compared(kind: str, name: str) -> bool:
        return only is None or name in only.get(kind, ())

    settings = desired.settings
    documents = Documents()
    changes: list[Change] = []
    observed: list[Change] = []
    observed_in_sync = 0
    unchanged: Counter[str] = Counter()
    kept: list[str] = []
    for kind_name in KIND_ORDER:
        kind = REGISTRY[kind_name]
        live_items = live.of(kind_name)
        for name, resource in sorted(desired.of(kind_name).items()):
            if not compared(kind_name, name):
                continue
            want = kind.desired_view(resource, ctx)
            source = resource.source.where() if resource.source else None
            current = live_items.get(name)
            watched = resource.ref in desired.observed
            into = observed if watched else changes
            extra: tuple[str, ...] = (OBSERVED_NOTE,) if watched else ()
            if current is None:
                shown = {k: v for k, v in want.items() if v not in (None, [], {})}
                into.append(
                    _change(
                        kind,
                        Action.CREATE,
                        name,
                        diff_fields(kind, {}, shown, documents),
                        current=None,
                        live=live,
                        ctx=ctx,
                        desired=want,
                        source=source,
                        notes=extra,
                    )
                )
                continue
            have = kind.live_view(current, ctx)
            fields = diff_fields(kind, have, want, documents)
            if watched:
                # Never written, so never marked: the missing mark is not a difference of an observed resource.
                fields = [f for f in fields if not is_ownership_mark(f, ctx.ownership_key, ctx.ownership_value)]
            action = _converge_action(kind, current, fields, ctx, resource.ref in replace and not watched)
            if action is None or (watched and not fields):
                if watched:
                    observed_in_sync += 1
                else:
                    unchanged[kind_name] += 1
                continue
            if action is Action.ADOPT:
                extra += (
                    f"exists without the ownership tag {ctx.ownership_key}={ctx.ownership_value}: "
                    + ("enforcing it means taking it over" if watched else "converging it means taking it over")
                    + " (apply --adopt)",
                )
            if action is Action.REPLACE:
                extra += ("replaced on request (--replace): deleted, then created as the manifest says",)
            into.append(
                _change(
                    kind,
                    action,
                    name,
                    fields,
                    current=current,
                    live=live,
                    ctx=ctx,
                    desired=want,
                    have=have,
                    source=source,
                    notes=extra,
                    retain=resource.deletion_policy == "Retain",
                )
            )
        for name, current in sorted(live_items.items()):
            if name in desired.of(kind_name) or not compared(kind_name, name) or not kind.owned(current, ctx):
                continue
            if not settings.prune:
                kept.append(f"{kind_name}/{name}")
                continue
            have = kind.live_view(current, ctx)
            if kind.deletable(current, ctx):
                shown = {k: v for k, v in have.items() if v not in (None, [], {})}
                changes.append(
                    _change(
                        kind,
                        Action.DELETE,
                        name,
                        diff_fields(kind, shown, {}, documents),
                        current=current,
                        live=live,
                        ctx=ctx,
                        have=have,
                    )
                )
            else:
                note = (
                    "no longer in git; its deletionPolicy Retain keeps it: the ownership mark is removed and "
                    "it stays as it is, unmanaged"
                )
                released = [FieldChange((f,), old, new) for f, old, new in kind.release_fields(current, ctx)]
                changes.append(
                    _change(
                        kind,
                        Action.RELEASE,
                        name,
                        released,
                        current=current,
                        live=live,
                        ctx=ctx,
                        have=have,
                        notes=(note,),
                    )
                )
    notes: tuple[str, ...] = ()
    if kept:
        notes = (f"prune is off: {len(kept)} owned resource(s) no longer in git are kept: {', '.join(kept)}",)
    return Plan(
        account_id=settings.account_id,
        region=live.region,
        changes=tuple(changes),
        unchanged=dict(unchanged),
        notes=notes,
        observed=tuple(observed),
        observed_in_sync=observed_in_sync,
    )
