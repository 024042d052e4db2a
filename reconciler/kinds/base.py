"""What every resource kind declares (:class:`Kind`): how to see desired and live as comparable views, and facts.

A *view* is a flat mapping of field name -> JSON-like value, the same shape on both sides, so the
differ can compare them field by field. Policy documents stay as written (for display and for
apply); the differ compares them by meaning (see ``document_fields``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Collection, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from reconciler.kinds.context import (
    DELETION_POLICIES,
    DELETION_POLICY_TAG,
    REPLACEMENT,
    Blocker,
    Context,
    Exists,
    Grant,
    Report,
    Target,
)
from reconciler.manifests.model import Resource, Source

if TYPE_CHECKING:
    from reconciler.aws.live import LiveState
    from reconciler.aws.session import ReadSession
    from reconciler.facts.builder import Facts
    from reconciler.kinds.importing import ImportContext
    from reconciler.kinds.steps import Step


class Kind:
    """Everything about one resource kind, declared in one place (its package under ``reconciler.kinds``).

    The generic machinery iterates over the registry and asks each kind: the loader (``schema``,
    ``build``, ``check_references``), the reader, the differ (the views and the facts below), the
    executor (``step``), the importer, the audit and the rules' front-end.
    """

    name: ClassVar[str] = ""
    # The kind's JSON Schema (a file in schemas/) and the folder ``reconciler import`` writes it to.
    schema: ClassVar[str] = ""
    folder: ClassVar[str] = ""
    # Fields holding one policy document, and fields holding name -> policy document.
    document_fields: ClassVar[frozenset[str]] = frozenset()
    document_map_fields: ClassVar[frozenset[str]] = frozenset()
    # Fields AWS cannot change in place: changing them means replacing the resource.
    replace_fields: ClassVar[frozenset[str]] = frozenset()
    # Facts (Cloud Custodian style): the IAM actions the kind needs to read (``read.py``), to change
    # (``steps.py``), and what the audit reads of it beyond the plan's read. deploy/iam/ allows exactly these
    # (and the few actions of the generic machinery), which a test checks over the registry.
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    audit_reads: ClassVar[tuple[str, ...]] = ()
    # The fields whose drift ``reconciler audit`` reports as a security finding (AUD005).
    security_fields: ClassVar[frozenset[str]] = frozenset()
    # What else to do when a field in ``replace_fields`` changes (apply replaces a resource only when
    # ``--replace Kind/name`` asks for it; the plan says so first).
    replace_hint: ClassVar[str] = "change the field back in the manifest, or give the resource a new name"
    # What removing the manifest does when the manifest does not say (its schema's default).
    default_deletion_policy: ClassVar[str] = "Delete"

    # ------------------------------------------------------------------ the manifest

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource:
        """The typed value of a manifest whose spec passed the kind's schema (defaults filled in)."""
        raise NotImplementedError

    def check_references(self, resource: Resource, exists: Exists, report: Report) -> None:
        """Report each reference of ``resource`` to a manifest that does not exist (none by default)."""
        return

    def policy_references(self, resource: Resource) -> tuple[str, ...]:
        """The policies ``resource`` refers to (Policy manifest names or ARNs): what the reader must read."""
        return ()

    # ------------------------------------------------------------------ access that ends

    def grants(self, resource: Resource, ctx: Context) -> tuple[Grant, ...]:
        """The entries of ``resource`` that end at an ``expiresAt`` (none by default)."""
        return ()

    def without(self, resource: Resource, ended: Collection[Grant]) -> Resource | None:
        """``resource`` without the ``ended`` grants (among its own); None when the resource itself ended."""
        return resource

    # ------------------------------------------------------------------ the views

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    def owned(self, live: Any, ctx: Context) -> bool:
        """Whether the live resource carries the ownership mark."""
        return ctx.owns(getattr(live, "tags", {}))

    def deletion_tags(self, resource: Resource) -> dict[str, str]:
        """The tag recording ``resource``'s deletion policy (none when it is the kind's default)."""
        if resource.deletion_policy == self.default_deletion_policy:
            return {}
        return {DELETION_POLICY_TAG: resource.deletion_policy}

    def recorded_deletion_policy(self, live: Any) -> str:
        """The deletion policy recorded on the live resource when it was last applied."""
        value = getattr(live, "tags", {}).get(DELETION_POLICY_TAG)
        return value if value in DELETION_POLICIES else self.default_deletion_policy

    def deletable(self, live: Any, ctx: Context) -> bool:
        """Whether pruning deletes the resource (False: it is released instead)."""
        return self.recorded_deletion_policy(live) == "Delete"

    def release_fields(self, live: Any, ctx: Context) -> list[tuple[str, Any, Any]]:
        """(field, old, new) of what releasing the resource changes: its ownership mark goes."""
        tags = getattr(live, "tags", {})
        return [("tags", {k: v for k, v in tags.items() if k in (ctx.ownership_key, DELETION_POLICY_TAG)}, {})]

    def empty_shell(self, live: Any) -> bool:
        """An unmarked resource with nothing in it, which a crashed create may leave: taking it over
        loses nothing, so it is converged without --adopt (only when git names it)."""
        return False

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        """``Kind/name`` of the other managed resources a view refers to (for the dependency graph)."""
        return set()

    def blocker(
        self,
        action: str,
        *,
        changed: Sequence[str],
        replaced: Sequence[str],
        live: Any,
        desired: Mapping[str, Any],
        ctx: Context,
    ) -> Blocker | None:
        """Why apply would refuse this change (None: it would not). ``action`` is the plan action's value,
        ``changed`` the fields that change and ``replaced`` those of them AWS cannot change in place."""
        if action in ("update", "adopt") and replaced:
            return Blocker(
                REPLACEMENT,
                f"AWS cannot change {', '.join(replaced)} in place, and apply replaces a resource only when asked",
                self.replace_hint,
            )
        return None

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        """What deleting ``live`` also removes, beyond its own fields (shown on the plan's deletion)."""
        return ()

    def plan_notes(self, action: str, changed: Sequence[str], live: Any, ctx: Context) -> tuple[str, ...]:
        """Facts about this change the reviewer should read (e.g. it will wait for a notebook to stop)."""
        return ()

    # ------------------------------------------------------------------ the import (``reconciler import``)

    # Why a field of an adopted resource still changes: what a manifest of this kind cannot say (field -> why).
    import_field_reasons: ClassVar[Mapping[str, str]] = {}

    def import_skip(self, live: Any) -> str | None:
        """Why ``reconciler import`` never writes a manifest for this resource (AWS or the reconciler manages it)."""
        return None

    def import_needs(self, live: Any, name_of: Callable[[str], tuple[str, str] | None]) -> list[tuple[str, str]]:
        """(kind, name) of what a manifest of ``live`` must refer to by name, so is imported with it; ("", ARN)
        for a target that is not a resource of the account. ``name_of(arn)``: (kind, name) of a live resource."""
        return []

    def import_aws_policies(self, live: Any) -> tuple[str, ...]:
        """The policy ARNs ``live`` attaches (the import reads the AWS managed ones among them for the rules)."""
        return ()

    def import_stub(self, name: str, live: Any) -> Resource | None:
        """A manifest value carrying what other kinds' generated documents need of this one (its path)."""
        return None

    def to_spec(self, live: Any, ictx: ImportContext) -> dict[str, Any]:
        """The values of the spec of a manifest for ``live`` (None or empty: left out), from ``imports.py``."""
        to_spec: Callable[[Any, ImportContext], dict[str, Any]] = self.facet("imports").to_spec
        return to_spec(live, ictx)

    # The kinds whose changes this kind's creates and updates follow (their deletions go the other way).
    after: ClassVar[tuple[str, ...]] = ()

    # The shared answers the kind reads from (e.g. ``"iam"``: IAM's GetAccountAuthorizationDetails, fetched once
    # for all the kinds that declare it).
    sources: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ the facets, loaded when used
    #
    # A kind is a package: its ``__init__`` declares the kind (this class) and its models; ``read.py`` reads it
    # (``read(session)``), ``steps.py`` changes it (``STEPS``: action -> step) and ``imports.py`` writes manifests
    # for it (``to_spec``). Each is imported only when used: computing a plan never loads the code that writes.

    def facet(self, module: str) -> ModuleType:
        """The kind's module ``module`` (``read``, ``steps``, ``imports``), from its package."""
        return importlib.import_module(f"{type(self).__module__}.{module}")

    def optional_facet(self, module: str) -> ModuleType | None:
        """The kind's module ``module`` when the kind has one (``facts``, ``emulator``), else None."""
        name = f"{type(self).__module__}.{module}"
        return importlib.import_module(name) if importlib.util.find_spec(name) is not None else None

    def install_emulator(self) -> None:
        """Add to the embedded emulator (moto) what it lacks for this kind: the kind's optional ``emulator.py``
        (its ``install()``), called once per process by ``reconciler.sandbox`` before the first emulator starts."""
        module = self.optional_facet("emulator")
        if module is not None:
            module.install()

    def desired_facts(self, resource: Resource, facts: Facts, ctx: Context) -> None:
        """Add what the security rules see of a manifest to ``facts`` (the kind's optional ``facts.py``:
        ``desired``); a kind without one shows the rules nothing."""
        module = self.optional_facet("facts")
        if module is not None:
            module.desired(resource, facts, ctx)

    def live_facts(self, live: Any, facts: Facts) -> None:
        """Add what the security rules see of a live resource to ``facts`` (``facts.py``: ``live``)."""
        module = self.optional_facet("facts")
        if module is not None:
            module.live(live, facts)

    def read(self, session: ReadSession) -> Mapping[str, Any]:
        """Every resource of this kind in the account, by name (its live models, in detail where
        ``session.scope`` says)."""
        read: Callable[[ReadSession], Mapping[str, Any]] = self.facet("read").read
        return read(session)

    def read_hint(self, resource: Resource) -> object | None:
        """What the manifest tells this kind's read that saves calls (``ReadScope.hints``); None: nothing."""
        return None

    def reads_by_name(self) -> bool:
        """Whether the kind can read resources by name (its ``read.py`` has ``read_named``)."""
        return hasattr(self.facet("read"), "read_named")

    def read_named(self, session: ReadSession, names: frozenset[str]) -> Mapping[str, Any]:
        """The resources of this kind called ``names`` that exist, read by name with per-resource calls (a
        targeted read: ``ReadScope.only``), each the same live model as :meth:`read` gives, except what is read
        only for a deletion (``ReadScope.may_delete``). Only for a kind that :meth:`reads_by_name`."""
        read_named: Callable[[ReadSession, frozenset[str]], Mapping[str, Any]] = self.facet("read").read_named
        return read_named(session, names)

    def step(self, action: str) -> Step | None:
        """The AWS step that makes ``action`` ("create", "update", "delete", "release"); None: not for this kind."""
        steps: Mapping[str, Step] = self.facet("steps").STEPS
        return steps.get(action)
