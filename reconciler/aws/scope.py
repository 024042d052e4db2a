"""What a read covers (:class:`ReadScope`): a plain value, so that the differ that computes it loads no AWS SDK."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReadScope:
    """What to read in detail: the resources named in git, plus every owned one.

    ``deleting`` is for re-reading what a saved plan touches: when given, only the named resources and
    those in ``deleting`` are read in detail, and exactly those in ``deleting`` are read as a plan that
    deletes them needs (a user's credentials, whether a bucket is empty). Otherwise the owned resources
    that git does not name are the ones a plan may delete.

    ``only`` makes a *targeted* read (the controller's, for the resources a commit changed): exactly these
    resources, by kind and name, are read; a kind with none of them is not read at all, and a kind that can
    read resources by name (its ``read.py`` has ``read_named``) reads nothing else. Give ``names`` and
    ``deleting`` with it (``deleting``: those of them no longer in git).
    """

    account_id: str
    region: str
    ownership_key: str
    ownership_value: str
    names: Mapping[str, frozenset[str]] = field(default_factory=dict)
    aws_policy_arns: frozenset[str] = frozenset()
    deleting: Mapping[str, frozenset[str]] | None = None
    only: Mapping[str, frozenset[str]] | None = None
    # What git says of a resource that helps its kind read it with fewer calls (kind -> name -> hint: a
    # Policy's path, for its ARN; whether a User has console access, to know which answers of the credential
    # report to confirm): ``Kind.read_hint``.
    hints: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    def named(self, kind: str, name: str) -> bool:
        return name in self.names.get(kind, frozenset())

    def reads(self, kind: str) -> bool:
        """Whether this read reads ``kind`` at all (a targeted read reads only the kinds it names)."""
        return self.only is None or bool(self.only.get(kind))

    def owns(self, tags: Mapping[str, str]) -> bool:
        return tags.get(self.ownership_key) == self.ownership_value

    def detailed(self, kind: str, name: str, tags: Mapping[str, str]) -> bool:
        """Whether to read this resource's details (settings, credentials)."""
        if self.deleting is not None:
            return self.named(kind, name) or name in self.deleting.get(kind, frozenset())
        return self.named(kind, name) or self.owns(tags)

    def may_delete(self, kind: str, name: str, tags: Mapping[str, str]) -> bool:
        """Whether a plan may delete this resource, so what deleting it removes must be read."""
        if self.deleting is not None:
            return name in self.deleting.get(kind, frozenset())
        return self.owns(tags) and not self.named(kind, name)


class ScopeAbandoned(Exception):
    """An early read's scope never came (:meth:`EarlyScope.abandon`): the manifests did not load, or their Settings
    are not the ones the read started from. The read stops at its next look at the scope."""


@dataclass(frozen=True)
class EarlyScope:
    """The scope of a whole-account read started before the manifests are loaded (``reconciler.kinds.read.
    EarlyRead``): the Settings' part now (the account, the region, the ownership tag), the rest once the manifests
    are loaded (:meth:`resolve`). A kind's read makes its account-wide calls first and looks at the scope after:
    :attr:`reconciler.aws.session.ReadSession.scope` waits for it."""

    account_id: str
    region: str
    ownership_key: str
    ownership_value: str
    later: Future[ReadScope] = field(default_factory=Future, compare=False, repr=False)
    # A read of the whole account: never targeted (``ReadScope.only``), every kind read.
    only: None = None

    def reads(self, kind: str) -> bool:
        return True

    def resolve(self, scope: ReadScope) -> bool:
        """Give the read ``scope``, if it is a whole-account read of the same account, region and owner tag: True.
        Else the read is abandoned (it was started from other Settings): False."""
        same = (scope.account_id, scope.region, scope.ownership_key, scope.ownership_value) == (
            self.account_id,
            self.region,
            self.ownership_key,
            self.ownership_value,
        )
        if not same or scope.only is not None or scope.deleting is not None:
            self.abandon()
            return False
        try:
            self.later.set_result(scope)
        except InvalidStateError:  # abandoned before
            return False
        return True

    def abandon(self) -> bool:
        """The scope will not come: the read stops at its next look at it (:class:`ScopeAbandoned`). False when
        it was given (or abandoned) before."""
        try:
            self.later.set_exception(ScopeAbandoned("the read was abandoned before the manifests were loaded"))
        except InvalidStateError:
            return False
        return True

    def resolved(self) -> ReadScope:
        """The scope, once given (waits); :class:`ScopeAbandoned` when it will not be."""
        return self.later.result()


def resolved(scope: ReadScope | EarlyScope) -> ReadScope:
    """The scope itself, waiting for an early read's."""
    return scope.resolved() if isinstance(scope, EarlyScope) else scope
