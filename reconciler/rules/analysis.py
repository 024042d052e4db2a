"""Shared questions about statements: does this statement allow (or deny) this action on this resource?

Approximations, all documented in ``docs/rules.md``: a conditional Allow counts as granting (it does
under some request); only an unconditional Deny counts as taking away; permissions boundaries, SCPs,
session policies and resource policies of other services are not considered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from reconciler.facts.model import Model, PolicyDoc, Principal, Statement
from reconciler.policydoc import action_set
from reconciler.rules.patterns import covers, has_wildcard, patterns_intersect

# What an Allow must say about the principal to be public: any of these condition keys narrows it.
NARROWING_KEYS: frozenset[str] = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:userid",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
    }
)


def action_in(statement: Statement, action: str) -> bool:
    """Whether the statement's Action/NotAction covers ``action`` (IAM matches action names ignoring case)."""
    if statement.action is not None:
        return action_set(statement.action).matches(action)
    if statement.not_action is not None:
        return not action_set(statement.not_action).matches(action)
    return False


def actions_in(statement: Statement, actions: tuple[str, ...]) -> tuple[str, ...]:
    """The ``actions`` the statement's Action/NotAction covers, in their order (:func:`action_in` of each)."""
    if statement.action is not None:
        matches = action_set(statement.action).matches
        return tuple(a for a in actions if matches(a))
    if statement.not_action is not None:
        excluded = action_set(statement.not_action).matches
        return tuple(a for a in actions if not excluded(a))
    return ()


def resource_reaching(statement: Statement, target: str) -> str | None:
    """The statement's resource pattern that can match some resource of ``target`` (a pattern), or None.

    With NotResource: ``"NotResource"`` unless a NotResource entry covers the whole target.
    """
    if statement.resource is not None:
        reaching = [r for r in statement.resource if patterns_intersect(r, target)]
        # The most telling one first: a pattern that covers the whole target (names the bucket).
        return next((r for r in reaching if covers(r, target)), reaching[0] if reaching else None)
    if statement.not_resource is not None:
        if any(covers(nr, target) for nr in statement.not_resource):
            return None
        return "NotResource " + ", ".join(statement.not_resource)
    return None


def deny_covers(statement: Statement, action: str, target: str) -> bool:
    """Whether an unconditional Deny takes ``action`` away on every resource of ``target``."""
    if not statement.deny or statement.condition or not action_in(statement, action):
        return False
    if statement.resource is not None:
        return any(covers(r, target) for r in statement.resource)
    if statement.not_resource is not None:
        return not any(patterns_intersect(nr, target) for nr in statement.not_resource)
    return False


def account_of(principal: str) -> str | None:
    """The account field of an AWS principal's ARN; None for anything else (``*``). The policy parser has
    already written a bare account id as that account's root ARN, as AWS stores it."""
    parts = principal.split(":")
    return parts[4] if len(parts) >= 6 and principal.startswith("arn:") else None


def is_public_principal(statement: Statement) -> bool:
    """An Allow to everyone (``"*"`` or ``{"AWS": "*"}``) that no narrowing condition key restricts."""
    if not statement.allow or statement.principal is None:
        return False
    everyone = any("*" in values for values in statement.principal.values())
    return everyone and not (statement.condition_keys() & NARROWING_KEYS)


def allows_everything(statement: Statement) -> bool:
    """Allow ``*`` on ``*``."""
    return (
        statement.allow
        and statement.action is not None
        and any(a in ("*", "*:*") for a in statement.action)
        and statement.resource is not None
        and "*" in statement.resource
    )


def service_wide(pattern: str) -> bool:
    """``*`` or ``service:*``."""
    if pattern in ("*", "*:*"):
        return True
    service, sep, name = pattern.partition(":")
    return bool(sep) and name == "*" and not has_wildcard(service)


S3_ARN_PREFIX = "arn:aws:s3:::"


class AnyBucket:
    """Stands for "every bucket": contains any name."""

    def __contains__(self, name: object) -> bool:
        return True


ANY_BUCKET = AnyBucket()


@lru_cache(maxsize=4096)
def s3_bucket_of(target: str) -> str | None:
    """The bucket a target pattern names literally (``arn:aws:s3:::NAME`` or ``.../key``), or None."""
    if not target.startswith(S3_ARN_PREFIX):
        return None
    name = target.removeprefix(S3_ARN_PREFIX).split("/", 1)[0]
    return None if has_wildcard(name) else name


def s3_buckets_reached(statement: Statement) -> frozenset[str] | AnyBucket:
    """The bucket names a statement's resources can reach; ``ANY_BUCKET`` when they may reach any."""
    if statement.resource is None:  # NotResource: everything but some
        return ANY_BUCKET
    names: set[str] = set()
    for pattern in statement.resource:
        if pattern.startswith(S3_ARN_PREFIX):
            name = pattern.removeprefix(S3_ARN_PREFIX).split("/", 1)[0]
            if has_wildcard(name):
                return ANY_BUCKET
            names.add(name)
        elif has_wildcard(pattern):  # "*", "arn:*:s3:::...": may be any bucket
            return ANY_BUCKET
        # else: a literal ARN of another service never names an S3 resource
    return frozenset(names)


@dataclass(frozen=True)
class Grant:
    """``holder`` (whose document it is) lets ``principal`` do ``action`` on ``target``."""

    principal: Principal
    holder: Principal
    document: PolicyDoc
    statement: Statement
    action: str
    target: str
    pattern: str


def grants(model: Model, principal: Principal, wanted: Iterable[tuple[str, str]]) -> list[Grant]:
    """The Allow statements that give ``principal`` each (action, target) not denied unconditionally."""
    return GrantFinder(model)(principal, wanted)


# A document's statements that bear on some actions: its unconditional Denies covering one, and its Allows
# that do, each with the actions it covers (:meth:`GrantFinder.document_bearing`).
_DocBearing = tuple[tuple[Statement, ...], tuple[tuple[Statement, tuple[str, ...]], ...]]


# What :func:`actions_in` answers from: a statement's Action, its NotAction, and the actions asked about.
_ActionLists = tuple[tuple[str, ...] | None, tuple[str, ...] | None, tuple[str, ...]]


def _position(hit: tuple[int, Principal, PolicyDoc, Statement, str]) -> int:
    return hit[0]


@dataclass(frozen=True)
class Bearing:
    """A principal's statements that bear on some actions (:meth:`GrantFinder.bearing`): its unconditional
    Denies that cover one of them, and its Allows that do, each with its holder, document and the actions it
    covers. What :meth:`GrantFinder.grants_of` needs to answer for any target of those actions."""

    denies: tuple[Statement, ...]
    allows: tuple[tuple[Principal, PolicyDoc, Statement, tuple[str, ...]], ...]


class Targets:
    """The (action, target) pairs a caller asks :meth:`GrantFinder.grants_of` about, made by
    :meth:`GrantFinder.targets`: each statement's answers about them are remembered with them, so a caller that
    asks about the same pairs for many principals (a bucket's write targets) keeps them and passes them again."""

    __slots__ = ("actions", "bucket", "hits", "pairs")

    def __init__(self, pairs: tuple[tuple[str, str], ...]) -> None:
        self.pairs = pairs
        self.actions = tuple(dict.fromkeys(action for action, _ in pairs))  # each once, in their order
        # The bucket every target names literally, if they all name the same: a statement whose resources
        # reach other buckets only reaches none of the targets (as :meth:`GrantFinder.resource_reaching` tells).
        buckets = {s3_bucket_of(target) for _, target in pairs}
        self.bucket = buckets.pop() if len(buckets) == 1 else None
        # (id of a statement, id of the actions it covers) -> (them, kept alive, and where it reaches: the
        # position of each pair it grants, with the resource pattern that reaches the pair's target)
        self.hits: dict[tuple[int, int], tuple[Statement, tuple[str, ...], tuple[tuple[int, str], ...]]] = {}


class GrantFinder:
    """:func:`grants`, remembering each statement's answers (policies are shared by many principals).

    Keyed by statement identity: a finder lives no longer than the model whose statements it saw.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self._reach: dict[tuple[int, str], str | None] = {}
        self._deny: dict[tuple[int, str, str], bool] = {}
        self._buckets: dict[int, frozenset[str] | AnyBucket] = {}
        self._covered: dict[tuple[int, tuple[str, ...]], tuple[str, ...]] = {}
        # The same, by the statement's Action and NotAction: a model's statements share a few lists of actions.
        self._action_lists: dict[_ActionLists, tuple[str, ...]] = {}
        # actions -> id of a document -> (the document, kept alive; its denies and allows that bear on them)
        self._documents: dict[tuple[str, ...], dict[int, tuple[PolicyDoc, _DocBearing]]] = {}
        self._targets: dict[tuple[tuple[str, str], ...], Targets] = {}

    def __call__(self, principal: Principal, wanted: Iterable[tuple[str, str]]) -> list[Grant]:
        targets = self.targets(wanted)
        return self.grants_of(principal, self.bearing(principal, targets.actions), targets)

    def targets(self, wanted: Iterable[tuple[str, str]]) -> Targets:
        """The :class:`Targets` of ``wanted``, to pass to :meth:`grants_of`: the same for the same pairs (compared
        as the strings they are), so that their answers serve every principal asked about them."""
        pairs = tuple(wanted)
        found = self._targets.get(pairs)
        if found is None:
            found = self._targets[pairs] = Targets(pairs)
        return found

    def bearing(self, principal: Principal, actions: tuple[str, ...]) -> Bearing:
        """The statements of ``principal``'s effective documents that bear on ``actions``, in their order."""
        denies: list[Statement] = []
        allows: list[tuple[Principal, PolicyDoc, Statement, tuple[str, ...]]] = []
        of_document = self._documents.get(actions)
        if of_document is None:
            of_document = self._documents[actions] = {}
        for holder, doc in self.model.effective_with_holders(principal):
            found = of_document.get(id(doc))
            if found is None:
                found = of_document[id(doc)] = (doc, self.document_bearing(doc, actions))
            doc_denies, doc_allows = found[1]
            if doc_denies:
                denies += doc_denies
            if doc_allows:
                allows += [(holder, doc, statement, covered) for statement, covered in doc_allows]
        return Bearing(tuple(denies), tuple(allows))

    def document_bearing(self, doc: PolicyDoc, actions: tuple[str, ...]) -> _DocBearing:
        """The statements of one document that bear on ``actions``, in its order: its unconditional Denies that
        cover one of them, and its Allows that do, each with the actions it covers (:meth:`bearing` asks once per
        document: a group's or a managed policy's serve every principal that holds it)."""
        denies: list[Statement] = []
        allows: list[tuple[Statement, tuple[str, ...]]] = []
        for statement in doc.statements:
            if statement.allow:
                covered = self.covered(statement, actions)
                if covered:
                    allows.append((statement, covered))
            elif statement.deny and not statement.condition and self.covered(statement, actions):
                denies.append(statement)  # only an unconditional Deny takes away
        return tuple(denies), tuple(allows)

    def grants_of(self, principal: Principal, bearing: Bearing, targets: Targets) -> list[Grant]:
        """The grants to ``principal`` of each (action, target) of ``targets``, from its ``bearing`` on (at least)
        those actions: for each pair in order, the Allows that cover it and reach the target, in the bearing's
        order, unless a Deny covers it."""
        sources: list[tuple[Principal, PolicyDoc, Statement, tuple[tuple[int, str], ...]]] = []
        bucket, remembered, reached = targets.bucket, targets.hits, self._buckets
        for holder, doc, statement, covered in bearing.allows:
            if bucket is not None:
                reach = reached.get(id(statement))
                if bucket not in (reach if reach is not None else self.s3_buckets_reached(statement)):
                    continue
            known = remembered.get((id(statement), id(covered)))
            hits = known[2] if known is not None else self._hits(statement, covered, targets)
            if hits:
                sources.append((holder, doc, statement, hits))
        if not sources:
            return []
        pairs = targets.pairs
        if len(sources) == 1 and not bearing.denies:  # the usual case: the pairs one statement grants, in order
            holder, doc, statement, hits = sources[0]
            return [Grant(principal, holder, doc, statement, *pairs[position], pattern) for position, pattern in hits]
        found = [
            (position, holder, doc, statement, pattern)
            for holder, doc, statement, hits in sources
            for position, pattern in hits
        ]
        if len(sources) > 1:
            found.sort(key=_position)  # stable: by pair, then in the bearing's order
        if bearing.denies:
            denied = {
                position
                for position in {hit[0] for hit in found}
                if any(self.deny_covers(s, *pairs[position]) for s in bearing.denies)
            }
            found = [hit for hit in found if hit[0] not in denied]
        return [
            Grant(principal, holder, doc, statement, *pairs[position], pattern)
            for position, holder, doc, statement, pattern in found
        ]

    def _hits(self, statement: Statement, covered: tuple[str, ...], targets: Targets) -> tuple[tuple[int, str], ...]:
        """Which pairs of ``targets`` the Allow ``statement`` (covering ``covered`` of their actions) grants: the
        position of each, with the pattern that reaches its target; remembered with the targets (by the identity of
        the statement and of ``covered``, both kept alive with the answer)."""
        key = (id(statement), id(covered))
        found = targets.hits.get(key)
        if found is None:
            reaching: dict[str, str | None] = {}  # by target: the pairs share a few
            hits: list[tuple[int, str]] = []
            for position, (action, target) in enumerate(targets.pairs):
                if action not in covered:
                    continue
                if target not in reaching:
                    reaching[target] = self.resource_reaching(statement, target)
                pattern = reaching[target]
                if pattern is not None:
                    hits.append((position, pattern))
            found = targets.hits[key] = (statement, covered, tuple(hits))
        return found[2]

    def covered(self, statement: Statement, actions: tuple[str, ...]) -> tuple[str, ...]:
        """The ``actions`` the statement's Action/NotAction covers, in their order."""
        key = (id(statement), actions)
        found = self._covered.get(key)
        if found is None:
            lists = (statement.action, statement.not_action, actions)
            found = self._action_lists.get(lists)
            if found is None:
                found = self._action_lists[lists] = actions_in(statement, actions)
            self._covered[key] = found
        return found

    def resource_reaching(self, statement: Statement, target: str) -> str | None:
        bucket = s3_bucket_of(target)
        if bucket is not None and bucket not in self.s3_buckets_reached(statement):
            return None  # its resources name other buckets only: no pattern matching, nothing to keep
        key = (id(statement), target)
        if key not in self._reach:
            self._reach[key] = resource_reaching(statement, target)
        return self._reach[key]

    def s3_buckets_reached(self, statement: Statement) -> frozenset[str] | AnyBucket:
        key = id(statement)
        if key not in self._buckets:
            self._buckets[key] = s3_buckets_reached(statement)
        return self._buckets[key]

    def deny_covers(self, statement: Statement, action: str, target: str) -> bool:
        if statement.condition or not statement.deny:  # only an unconditional Deny takes away: cheap to tell
            return False
        key = (id(statement), action, target)
        found = self._deny.get(key)
        if found is None:
            found = self._deny[key] = deny_covers(statement, action, target)
        return found
