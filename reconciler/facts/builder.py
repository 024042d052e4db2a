"""The rules' model of one side (the manifests, or the account) under construction.

``reconciler.rules`` makes one :class:`Facts`, asks every kind of the registry, in the kinds' order, to add what
the rules see of its resources (the kind's ``facts.py``), and takes the :class:`Model` out. The order matters:
a role's attachments find the customer managed policies added before it, a notebook its role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.facts.model import (
    AccountFacts,
    Attachment,
    BucketView,
    DocBuilder,
    DocKind,
    KeyView,
    Model,
    NotebookView,
    PolicyDoc,
    Principal,
    StudioDomainView,
    StudioProfileView,
    fixed_locator,
    policy_name_from_arn,
)
from reconciler.manifests.model import Expiry

__all__ = ["Facts"]


@dataclass
class Facts:
    """The model being built, and what the kinds' facts need to add to it."""

    origin: str  # "desired" or "live"
    account_id: str
    region: str | None = None
    # AWS managed policy ARN -> its document (read by the reader; attachments resolve them).
    aws_documents: Mapping[str, Any] = field(default_factory=dict)
    # Live side: the ownership tag (key, value), and the buckets an ACL grants to everyone.
    ownership: tuple[str, str] | None = None
    public_acl_buckets: frozenset[str] = frozenset()
    # Manifests side: Settings.maxHumanWriteDays, for the rules.
    max_human_write_days: int = 14
    docs: DocBuilder = field(default_factory=DocBuilder)
    policies: dict[str, PolicyDoc] = field(default_factory=dict)
    policy_by_arn: dict[str, PolicyDoc] = field(default_factory=dict)
    roles: dict[str, Principal] = field(default_factory=dict)
    groups: dict[str, Principal] = field(default_factory=dict)
    users: dict[str, Principal] = field(default_factory=dict)
    buckets: dict[str, BucketView] = field(default_factory=dict)
    notebooks: dict[str, NotebookView] = field(default_factory=dict)
    keys: dict[str, KeyView] = field(default_factory=dict)
    domains: dict[str, StudioDomainView] = field(default_factory=dict)
    profiles: dict[str, StudioProfileView] = field(default_factory=dict)
    _aws_docs: dict[tuple[str, str | None], PolicyDoc] = field(default_factory=dict, repr=False)

    def role_named(self, arn: str | None) -> str | None:
        """The name of the Role (among those added) whose ARN is ``arn``."""
        return next((r.name for r in self.roles.values() if r.arn == arn), None) if arn else None

    def owns(self, tags: Mapping[str, str]) -> bool:
        """Whether a live resource carries the ownership tag."""
        return self.ownership is not None and tags.get(self.ownership[0]) == self.ownership[1]

    def add_policy(self, name: str, arn: str, doc: PolicyDoc | None) -> None:
        """A customer managed policy (its document None when unreadable: attachments then find none)."""
        if doc is not None:
            self.policies[name] = doc
            self.policy_by_arn[arn] = doc

    def attachment(
        self, ref: str, arn: str, owner: str, location: str | None, *, expires: Expiry | None = None
    ) -> Attachment:
        """An attached policy (``ref`` as the manifest says it): a customer managed one added before, or an AWS
        managed one among the documents the reader read (read once per place: an account attaches the same
        AWS managed policy to many principals). ``expires``: when the attachment ends (manifests only)."""
        document = self.policy_by_arn.get(arn)
        if document is None and arn in self.aws_documents:
            label = f"AWS managed policy {policy_name_from_arn(arn)}"
            known = self._aws_docs.get((arn, location))
            if known is not None:
                return Attachment(ref, arn, location, replace(known, owner=owner), expires)
            document = self.docs.build(
                DocKind.AWS_MANAGED,
                arn,
                label,
                owner,
                location,
                self.aws_documents[arn],
                fixed_locator(location),
                arn=arn,
            )
            if document is not None:
                self._aws_docs[(arn, location)] = document
        return Attachment(ref, arn, location, document, expires)

    def model(self, account: AccountFacts | None = None) -> Model:
        return Model(
            self.origin,
            self.account_id,
            self.policies,
            self.roles,
            self.groups,
            self.users,
            self.buckets,
            self.notebooks,
            tuple(self.docs.unreadable),
            account,
            region=self.region,
            keys=self.keys,
            domains=self.domains,
            profiles=self.profiles,
            max_human_write_days=self.max_human_write_days,
        )
