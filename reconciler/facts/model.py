"""The evaluation model: what the rules read, built from the manifests or from the live account.

Rules never see a ``DesiredState`` or a ``LiveState`` directly: both are reduced to this one shape, so
the same rule checks what is about to be applied (``plan``) and what is deployed (``audit``).

For every principal (Role, Group, User) the model holds its policy documents, each statement tagged
with where it comes from: the document's label (``Policy/x``, ``AWS managed policy ...``), the
resource a finding about it is reported on, and ``file:line:col`` of the statement in the manifests
(None for live resources). Users inherit their groups' documents (:meth:`Model.effective_with_holders`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar

from reconciler.manifests.model import Expiry, Source
from reconciler.policydoc import (
    PolicyDocument,
    PolicyDocumentError,
    PolicyStatement,
    parse_policy,
    render_statement,
)
from reconciler.policydoc.measure import document_size, written_version

__all__ = [
    "ADMIN_POLICY_ARNS",
    "AccountFacts",
    "Attachment",
    "BucketView",
    "DocKind",
    "Drift",
    "KeyView",
    "Model",
    "NotebookView",
    "PolicyDoc",
    "Principal",
    "Statement",
    "StudioDomainView",
    "StudioProfileView",
    "Workload",
    "parse_statements",
    "where",
]

ADMIN_POLICY_ARNS: frozenset[str] = frozenset(
    {
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/IAMFullAccess",
        "arn:aws:iam::aws:policy/PowerUserAccess",
    }
)


def where(source: Source | None, *path: str | int) -> str | None:
    """``file:line:col`` of a field of a manifest resource, or None for a live resource."""
    return source.where(*path) if source is not None else None


class DocKind(StrEnum):
    MANAGED = "managed"  # a customer managed policy (a Policy manifest)
    INLINE = "inline"
    AWS_MANAGED = "aws-managed"
    GUARD = "guard"  # the group guard the product generates
    TRUST = "trust"
    BUCKET = "bucket-policy"
    KEY = "key-policy"  # judged by the KMS rules, not by the identity-policy linter (kms:* on * is its norm)


_PARSED_FIELDS = tuple(f.name for f in fields(PolicyStatement))


@dataclass(frozen=True, kw_only=True)
class Statement(PolicyStatement):
    """One statement of a document the rules read: the policy parser's statement (typed, values
    normalised, in the order and case written: :class:`reconciler.policydoc.PolicyStatement`), with
    its position in the document, where it is in the manifests, and whether the product generated it."""

    index: int
    location: str | None
    generated: bool = False

    @classmethod
    def located(
        cls, statement: PolicyStatement, index: int, location: str | None, *, generated: bool = False
    ) -> Statement:
        parsed = {name: getattr(statement, name) for name in _PARSED_FIELDS}
        return cls(index=index, location=location, generated=generated, **parsed)

    def render(self) -> str:
        return render_statement(self)


@dataclass(frozen=True)
class PolicyDoc:
    """A policy document and where it comes from."""

    kind: DocKind
    name: str
    label: str  # for messages: "Policy/x", "inline policy 'p' of Role/r", "AWS managed policy X"
    owner: str  # the Kind/name findings about its content are reported on
    location: str | None
    statements: tuple[Statement, ...]
    arn: str | None = None
    # As written, for the policy-language rules and IAM's quotas: the Version it declares (None: none, so
    # IAM applies 2008-10-17), and its size in the characters IAM counts (no whitespace).
    version: str | None = None
    size: int = 0

    @property
    def authored(self) -> bool:
        """Written by the people who own the manifests or the account (not AWS, not the product)."""
        return self.kind in (DocKind.MANAGED, DocKind.INLINE, DocKind.TRUST, DocKind.BUCKET)


@dataclass(frozen=True)
class Attachment:
    """A managed policy attached to a principal; ``document`` is None when it is not known."""

    ref: str
    arn: str
    location: str | None
    document: PolicyDoc | None
    expires: Expiry | None = None  # manifests only: when the attachment ends (its expiresAt)


@dataclass(frozen=True)
class Principal:
    kind: str  # "Role", "Group" or "User"
    name: str
    arn: str
    managed: bool  # in the manifests, or (live) carrying the ownership mark
    location: str | None
    source: Source | None = field(default=None, repr=False, compare=False)
    attachments: tuple[Attachment, ...] = ()
    inline: tuple[PolicyDoc, ...] = ()
    groups: tuple[str, ...] = ()
    trust: PolicyDoc | None = None
    console_access: bool | None = None
    path: str = "/"
    # A user's own access keys ("ID (Status)"), where they were read (the account; plan adds them).
    access_keys: tuple[str, ...] = ()
    # Manifests only: when a user ends (its expiresAt), and when each of its memberships that ends does.
    expires: Expiry | None = None
    group_expiry: Mapping[str, Expiry] = field(default_factory=dict, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def documents(self) -> tuple[PolicyDoc, ...]:
        """The principal's own identity documents: attached (when known) and inline."""
        return tuple([a.document for a in self.attachments if a.document is not None]) + self.inline


@dataclass(frozen=True)
class BucketView:
    name: str
    managed: bool
    location: str | None
    source: Source | None = field(default=None, repr=False, compare=False)
    detailed: bool = True
    versioning: bool | None = None
    encryption: str | None = None  # "SSE-S3", "SSE-KMS", or None (no default encryption)
    public_access_block: Mapping[str, bool] | None = None
    policy: PolicyDoc | None = None
    # Principal ARNs declared as the only writers; None: the bucket declares none (not protected).
    writers: tuple[str, ...] | None = None
    # Principal ARNs declared as readers (manifests only; the account does not record them).
    readers: tuple[str, ...] | None = None
    kms_key_id: str | None = None  # with SSE-KMS: the key as configured (an alias ARN when it names a KmsKey)
    public_acl: bool | None = None  # live only: an ACL grant to AllUsers / AuthenticatedUsers

    @property
    def ref(self) -> str:
        return f"Bucket/{self.name}"

    @property
    def protected(self) -> bool:
        return self.writers is not None

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"


@dataclass(frozen=True)
class NotebookView:
    name: str
    managed: bool
    location: str | None
    source: Source | None = field(default=None, repr=False, compare=False)
    detailed: bool = True
    root_access: str | None = None
    direct_internet_access: str | None = None
    subnet_id: str | None = None
    kms_key_id: str | None = None
    role_name: str | None = None
    role_arn: str | None = None
    role_field: ClassVar[str] = "role"

    @property
    def ref(self) -> str:
        return f"NotebookInstance/{self.name}"


@dataclass(frozen=True)
class KeyView:
    """A customer managed KMS key, known by its alias ``alias/NAME``."""

    name: str
    managed: bool
    location: str | None
    source: Source | None = field(default=None, repr=False, compare=False)
    alias_arn: str = ""  # how manifests refer to it
    key_arn: str | None = None  # live only (a key that does not exist yet has none)
    rotation: bool | None = None
    policy: PolicyDoc | None = None

    @property
    def ref(self) -> str:
        return f"KmsKey/{self.name}"

    def named_by(self, key_id: str | None) -> bool:
        """Whether a key setting (key id, key ARN, alias name or alias ARN) designates this key."""
        if not key_id:
            return False
        names = {self.alias_arn, f"alias/{self.name}"}
        if self.key_arn:
            names |= {self.key_arn, self.key_arn.rsplit("/", 1)[-1]}
        return key_id in names

    @property
    def target(self) -> str:
        """The resource pattern IAM statements are matched against: the key's ARN, or any key of the account
        and region while it does not exist (an IAM statement cannot name a key before it exists)."""
        if self.key_arn:
            return self.key_arn
        return self.alias_arn.replace(f":alias/{self.name}", ":key/*")


@dataclass(frozen=True)
class StudioDomainView:
    name: str
    managed: bool
    location: str | None
    source: Source | None = field(default=None, repr=False, compare=False)
    detailed: bool = True
    app_network_access_type: str | None = None
    kms_key_id: str | None = None
    role_name: str | None = None  # the default execution role, when it is a Role the rules see
    role_arn: str | None = None
    role_field: ClassVar[str] = "defaultExecutionRole"

    @property
    def ref(self) -> str:
        return f"StudioDomain/{self.name}"


@dataclass(frozen=True)
class StudioProfileView:
    name: str
    managed: bool
    location: str | None
    source: Source | None = field(default=None, repr=False, compare=False)
    detailed: bool = True
    domain: str | None = None
    role_name: str | None = None  # its execution role, when it is a Role the rules see
    role_arn: str | None = None
    role_field: ClassVar[str] = "executionRole"

    @property
    def ref(self) -> str:
        return f"StudioUserProfile/{self.name}"


@dataclass(frozen=True)
class Workload:
    """A SageMaker workload and the role it runs as (see :meth:`Model.execution_roles`)."""

    ref: str
    location: str | None  # of its role field in the manifest
    role_name: str | None  # when it is a Role the rules see
    role_arn: str | None


@dataclass(frozen=True)
class Drift:
    """Security-relevant fields of an owned resource that differ from the manifests."""

    kind: str
    name: str
    fields: tuple[str, ...]
    location: str | None = None
    # Under ``management: observe``: reported, and apply does not restore it.
    observed: bool = False


@dataclass(frozen=True)
class AccountFacts:
    """What only the live account can tell (``reconciler audit``)."""

    root_mfa: bool | None = None
    # MFA devices per user with a console password (users without a password are not listed).
    mfa_devices: Mapping[str, int] = field(default_factory=dict)
    drift: tuple[Drift, ...] = ()
    manifests: bool = False  # the audit was given manifests (drift was computed)


@dataclass(frozen=True)
class Model:
    """Everything the rules read."""

    origin: str  # "desired" or "live"
    account_id: str
    policies: Mapping[str, PolicyDoc] = field(default_factory=dict)
    roles: Mapping[str, Principal] = field(default_factory=dict)
    groups: Mapping[str, Principal] = field(default_factory=dict)
    users: Mapping[str, Principal] = field(default_factory=dict)
    buckets: Mapping[str, BucketView] = field(default_factory=dict)
    notebooks: Mapping[str, NotebookView] = field(default_factory=dict)
    # Documents that could not be read: (owner Kind/name, label, location, why).
    unreadable: tuple[tuple[str, str, str | None, str], ...] = ()
    account: AccountFacts | None = None
    region: str | None = None
    keys: Mapping[str, KeyView] = field(default_factory=dict)
    domains: Mapping[str, StudioDomainView] = field(default_factory=dict)
    profiles: Mapping[str, StudioProfileView] = field(default_factory=dict)
    # Manifests only: how far ahead a human's write access to protected data may end (Settings.maxHumanWriteDays).
    max_human_write_days: int = 14

    def key_named_by(self, key_id: str | None) -> KeyView | None:
        """The KmsKey a key setting designates, when it is one the rules see."""
        return next((k for k in self.keys.values() if k.named_by(key_id)), None)

    def execution_roles(self) -> Iterator[Workload]:
        """Every SageMaker workload that runs as a role: notebooks, Studio domains (their default execution
        role) and user profiles, in that order."""
        views: list[NotebookView | StudioDomainView | StudioProfileView] = []
        for group in (self.notebooks, self.domains, self.profiles):
            views += [group[name] for name in sorted(group)]
        for view in views:
            if not view.detailed or (view.role_arn is None and isinstance(view, StudioProfileView)):
                continue  # not read in detail; a profile without a role of its own runs as its domain's
            location = where(view.source, "spec", view.role_field) or view.location
            yield Workload(view.ref, location, view.role_name, view.role_arn)

    @property
    def principals(self) -> tuple[Principal, ...]:
        return (
            tuple(self.roles[n] for n in sorted(self.roles))
            + tuple(self.groups[n] for n in sorted(self.groups))
            + tuple(self.users[n] for n in sorted(self.users))
        )

    def effective_with_holders(self, principal: Principal) -> Iterator[tuple[Principal, PolicyDoc]]:
        """The identity documents that apply to ``principal`` (its own, and for a user its groups'), each with
        the principal that holds it."""
        for doc in principal.documents:
            yield principal, doc
        if principal.kind == "User":
            for name in principal.groups:
                group = self.groups.get(name)
                if group is not None:
                    for doc in group.documents:
                        yield group, doc

    def authored_documents(self) -> Iterator[PolicyDoc]:
        """Every document written by people, once each: customer managed, inline, trust, bucket."""
        for name in sorted(self.policies):
            yield self.policies[name]
        for principal in self.principals:
            yield from (d for d in principal.inline if d.authored)
            if principal.trust is not None and principal.trust.authored:
                yield principal.trust
        for name in sorted(self.buckets):
            policy = self.buckets[name].policy
            if policy is not None:
                yield policy

    def authored_statements(self) -> Iterator[tuple[PolicyDoc, Statement]]:
        """The statements people wrote, with their document: :meth:`authored_documents`' statements but
        those the product generates (the rules on a policy's content judge only what people can fix)."""
        for doc in self.authored_documents():
            for statement in doc.statements:
                if not statement.generated:
                    yield doc, statement

    def identity_documents(self) -> Iterator[tuple[Principal | None, PolicyDoc]]:
        """Identity documents once each: customer managed policies (no principal), then every
        principal's inline documents and AWS managed attachments."""
        for name in sorted(self.policies):
            yield None, self.policies[name]
        for principal in self.principals:
            for attachment in principal.attachments:
                if attachment.document is not None and attachment.document.kind is DocKind.AWS_MANAGED:
                    yield principal, attachment.document
            for doc in principal.inline:
                yield principal, doc


# --------------------------------------------------------------------------------------------------
# Reading documents
# --------------------------------------------------------------------------------------------------


def parse_statements(
    document: Any, location: Callable[[int], str | None], *, generated: bool = False
) -> tuple[Statement, ...]:
    """The statements of a document (mapping or JSON text), in order, located by ``location(index)``.

    Read by the one policy parser (:func:`reconciler.policydoc.parse_policy`), which plan's comparison
    uses too. Raises :class:`PolicyDocumentError` for a document that is not a well-formed policy.
    """
    return _located(parse_policy(document), location, generated=generated)


def _located(
    parsed: PolicyDocument, location: Callable[[int], str | None], *, generated: bool
) -> tuple[Statement, ...]:
    return tuple(
        Statement.located(statement, index, location(index), generated=generated)
        for index, statement in enumerate(parsed.statements)
    )


def statement_locator(source: Source | None, *path: str | int) -> Callable[[int], str | None]:
    """``index -> file:line:col`` of ``path + ("Statement", index)`` in a manifest (None when live)."""
    if source is None:
        return lambda _index: None
    return lambda index: source.where(*path, "Statement", index)


def fixed_locator(location: str | None) -> Callable[[int], str | None]:
    return lambda _index: location


@dataclass
class DocBuilder:
    """Collects documents, turning unreadable ones into ``Model.unreadable`` entries.

    A document built with ``same`` (the strings it is generated from, e.g. a role's trusted services and account:
    equal only for equal documents) is parsed and measured once for all that share it (8,000 roles' trust
    policies have a few dozen texts); each keeps its own places."""

    unreadable: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    _same: dict[tuple[str, ...], tuple[PolicyDocument, str | None, int]] = field(default_factory=dict, repr=False)

    def build(  # noqa: PLR0917 - one call shape, used in two modules
        self,
        kind: DocKind,
        name: str,
        label: str,
        owner: str,
        location: str | None,
        document: Any,
        locate: Callable[[int], str | None],
        *,
        arn: str | None = None,
        generated: bool = False,
        same: tuple[str, ...] | None = None,
    ) -> PolicyDoc | None:
        known = self._same.get(same) if same is not None else None
        if known is None:
            try:
                parsed = parse_policy(document)
            except PolicyDocumentError as exc:
                self.unreadable.append((owner, label, location, str(exc)))
                return None
            known = (parsed, written_version(document), document_size(document))
            if same is not None:
                self._same[same] = known
        parsed, version, size = known
        statements = _located(parsed, locate, generated=generated)
        return PolicyDoc(kind, name, label, owner, location, statements, arn, version=version, size=size)


def policy_name_from_arn(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def document_of(value: Any) -> Any:
    """An AWS managed policy document given as a mapping, or anything with a ``.document`` (AwsPolicy)."""
    return getattr(value, "document", value)
