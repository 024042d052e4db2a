"""The desired state: the Settings and one immutable value per resource manifest, built after validation
(each kind builds its own: ``reconciler.kinds``).

Every resource keeps where it came from (``Source``), so that later layers (the plan, the invariant
rules) can name ``file:line`` for any field.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from reconciler.clock import expiry_instant
from reconciler.manifests.schedule import SyncWindow
from reconciler.manifests.yamlsource import Document, Pos

SETTINGS = "Settings"
ACCOUNT = "Account"
SETTINGS_SCHEMA = "settings.schema.json"

POLICY_ARN_PREFIX = "arn:aws"


def is_policy_arn(ref: str) -> bool:
    return ref.startswith(POLICY_ARN_PREFIX)


@dataclass(frozen=True)
class Source:
    """Where a resource is defined: its file and document, with positions of every field."""

    document: Document = field(repr=False, compare=False)

    @property
    def file(self) -> str:
        return self.document.file

    @property
    def line(self) -> int:
        return self.document.start.line

    def at(self, *path: str | int) -> Pos:
        """Position of ``path`` inside the document (``at("spec", "policies", 0)``)."""
        return self.document.pos(tuple(path))

    def where(self, *path: str | int) -> str:
        pos = self.at(*path)
        return f"{self.file}:{pos.line}:{pos.col}"


@dataclass(frozen=True)
class Expiry:
    """When an ``expiresAt`` ends access: as written, the instant (a date: the end of that day UTC), and where."""

    text: str
    at: dt.datetime
    location: str | None = None  # file:line:col of the value

    def passed(self, now: dt.datetime) -> bool:
        return now >= self.at

    def left(self, now: dt.datetime) -> dt.timedelta:
        return self.at - now


def expiry_at(value: str | None, source: Source | None, *path: str | int) -> Expiry | None:
    """The :class:`Expiry` of an ``expiresAt`` that passed its schema (None when there is none)."""
    if value is None:
        return None
    return Expiry(value, expiry_instant(value), source.where(*path) if source is not None else None)


def ending_entries(
    items: list[Any], source: Source | None, spec_field: str, key: str
) -> tuple[tuple[str, ...], dict[str, Expiry]]:
    """``spec.<spec_field>`` as written, each entry a name or ``{<key>: name, expiresAt}`` (a role's or group's
    ``policies``, a user's ``groups``): the names in order, and when each of the entries that end does."""
    names: list[str] = []
    ends: dict[str, Expiry] = {}
    for index, item in enumerate(items):
        name = item if isinstance(item, str) else item[key]
        names.append(name)
        expiry = expiry_at(
            None if isinstance(item, str) else item.get("expiresAt"), source, "spec", spec_field, index, "expiresAt"
        )
        if expiry is not None:
            ends[name] = expiry
    return tuple(names), ends


@dataclass(frozen=True)
class Resource:
    kind: ClassVar[str] = ""
    name: str
    source: Source | None = field(compare=False, repr=False)
    # What removing the manifest does: "Delete" the resource, or "Retain" it (release: the ownership
    # mark is removed, the resource stays). Each kind's schema gives its default.
    deletion_policy: str = "Delete"
    # ``metadata.management`` as written: "enforce", "observe", or None (Settings.defaultManagement decides:
    # ask ``DesiredState.observed``).
    management: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class OwnershipTag:
    key: str
    value: str


#: The ownership tag when the Settings name none (the Settings schema's default).
DEFAULT_OWNERSHIP_TAG = OwnershipTag("managed-by", "reconciler")

ENFORCE = "enforce"
OBSERVE = "observe"


def is_glob(resource: str) -> bool:
    """Whether an exception's ``Kind/name`` is a shell-style glob of names (``Policy/legacy-*``)."""
    return any(c in resource for c in "*?[")


@dataclass(frozen=True)
class PolicyException:
    """A deliberate exception to ``rule`` on ``resource``: an exact ``Kind/name``, or a glob of them
    (``Policy/legacy-*``, which the loader accepts only with an owner and an expiry at most 90 days ahead)."""

    rule: str
    resource: str
    reason: str
    owner: str = ""
    # When the exception stops excusing anything (``expiresAt`` as written; None: it does not expire).
    expires_at: str | None = None

    @property
    def is_glob(self) -> bool:
        return is_glob(self.resource)

    def matches(self, resource: str) -> bool:
        """Whether the exception names ``resource`` (``Kind/name``): exactly, or by its glob."""
        if not self.is_glob:
            return resource == self.resource
        return fnmatch.fnmatchcase(resource, self.resource)

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and expiry_instant(self.expires_at) <= now


@dataclass(frozen=True)
class Settings(Resource):
    kind: ClassVar[str] = "Settings"
    account_id: str = ""
    region: str | None = None
    ownership_tag: OwnershipTag = DEFAULT_OWNERSHIP_TAG
    # Expiring access and schedules (docs/operations.md): warn this many days before an expiresAt; a human's
    # write access to protected data must expire within maxHumanWriteDays; the controller applies nothing while
    # suspended, and outside its sync windows only what always proceeds.
    expiry_warning_days: int = 3
    max_human_write_days: int = 14
    suspend: bool = False
    sync_windows: tuple[SyncWindow, ...] = ()
    prune: bool = True
    max_deletes: int = 10
    notebook_updates: str = "when-stopped"
    exceptions: tuple[PolicyException, ...] = ()
    # The management of resources whose manifest does not say (metadata.management).
    default_management: str = ENFORCE


def build_settings(name: str, spec: Mapping[str, Any], document: Document) -> Settings:
    """The typed Settings of a manifest whose spec passed its schema (defaults filled in)."""
    source = Source(document)
    tag = spec["ownershipTag"]
    return Settings(
        name,
        source,
        account_id=spec.get("accountId", ""),
        region=spec.get("region"),
        ownership_tag=OwnershipTag(tag["key"], tag["value"]),
        expiry_warning_days=spec["expiryWarningDays"],
        max_human_write_days=spec["maxHumanWriteDays"],
        suspend=spec["suspend"],
        sync_windows=tuple(
            SyncWindow(w["kind"], w["schedule"], w["duration"], w["timezone"], source.where("spec", "syncWindows", i))
            for i, w in enumerate(spec["syncWindows"])
        ),
        prune=spec["prune"],
        max_deletes=spec["maxDeletes"],
        notebook_updates=spec["notebookUpdates"],
        exceptions=tuple(
            PolicyException(e["rule"], e["resource"], e["reason"], e["owner"], e.get("expiresAt"))
            for e in spec["exceptions"]
        ),
        default_management=spec["defaultManagement"],
    )


@dataclass(frozen=True)
class Account(Resource):
    """One AWS account of the fleet, as its manifest declares it."""

    kind: ClassVar[str] = ACCOUNT
    account_id: str = ""
    region: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)
    variables: Mapping[str, str] = field(default_factory=dict, compare=False)
    # Hub and spoke: the role the reconciler's own identity assumes in the account to change it, and the
    # role it assumes to read it (plan, audit, import); both None: the credentials are the account's own.
    role_arn: str | None = None
    read_role_arn: str | None = None
    external_id: str | None = None

    def role_for(self, *, read_only: bool) -> str | None:
        """The role to assume: for reading, ``readRoleArn`` when there is one, else ``roleArn``."""
        return (self.read_role_arn or self.role_arn) if read_only else self.role_arn

    def describe(self) -> str:
        return f"{self.name} ({self.account_id}{', ' + self.region if self.region else ''})"


@dataclass(frozen=True)
class DesiredState:
    """Every manifest of a directory, validated: one Settings and the resources by kind and name."""

    settings: Settings
    resources: Mapping[str, Mapping[str, Resource]]
    # The fleet's account this state is for (its Settings carry the account's id and region); None in a
    # directory without Account manifests.
    account: Account | None = None
    root: str = ""
    # sha256 over every manifest file's path and text, as loaded (a saved plan records what it came from).
    fingerprint: str = ""
    # When this is the state in force at an instant (engine/expiry.py: expired access taken out), the manifests as
    # loaded, for what a plan says is or is not declared in git; None: this is the state as loaded.
    loaded: DesiredState | None = field(default=None, compare=False, repr=False)

    @property
    def written(self) -> DesiredState:
        """The manifests as loaded (what git declares), expired entries included."""
        return self.loaded or self

    def of(self, kind: str) -> Mapping[str, Resource]:
        return self.resources.get(kind, {})

    def get(self, kind: str, name: str) -> Resource | None:
        return self.of(kind).get(name)

    def __iter__(self) -> Iterator[Resource]:
        """Every resource, kind by kind in the order they were loaded with, by name within a kind."""
        for kind in self.resources:
            yield from (self.of(kind)[n] for n in sorted(self.of(kind)))

    def count(self) -> int:
        return sum(len(v) for v in self.resources.values())

    def management(self, resource: Resource) -> str:
        """How the reconciler treats ``resource``: "enforce" (converge it) or "observe" (read, diff and
        check it; never write to it): its ``metadata.management``, else ``Settings.defaultManagement``."""
        return resource.management or self.settings.default_management

    @cached_property
    def observed(self) -> frozenset[str]:
        """``Kind/name`` of every resource under ``management: observe``."""
        return frozenset(r.ref for r in self if self.management(r) == OBSERVE)
