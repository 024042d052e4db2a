"""Privilege escalation (ESC001): a principal allowed one of the escalation paths of
:data:`reconciler.rules.escalation.ESCALATION_PATHS` on resources it does not own.

What a principal *owns* depends on what the path does with the resource:

* **credentials** (``iam:CreateAccessKey``, ``iam:CreateLoginProfile``, ``iam:UpdateLoginProfile``): its own
  user, named by its ARN or as ``user/${aws:username}`` (the user making the request). Managing one's own
  keys and password gives nothing more; doing it for another user is taking that user over.
* **passing a role** (``iam:PassRole`` with an action that runs code under it): itself (a role passing itself
  runs code with its own permissions), and the execution role of each notebook or Studio user profile the
  manifests let it open (``sagemaker:CreatePresignedNotebookInstanceUrl`` / ``CreatePresignedDomainUrl``):
  it already runs code as that role there. A role passed only to another service (``iam:PassedToService``)
  does not complete a path through this one. ``iam:PassRole`` on every role without ``iam:PassedToService``
  is LP003's and is not reported again here.
* **assuming a role** (``sts:AssumeRole``): a role named by its ARN is a delegation its trust policy decides;
  a wildcard in the role name (or ``*``) reaches every role that trusts the account, which it does not own.
* **writing permissions** (attaching or putting policies, policy versions, group membership, trust policies):
  nothing. Writing its own permissions, those of a role it works through, or anyone else's is the escalation
  itself. Only a condition that bounds what is written makes such a statement safe: ``iam:PermissionsBoundary``
  (the boundary caps what the written principal can do), or, for attachments, ``iam:PolicyARN`` naming
  literal policies none of which is an administrator policy.

Principals that already allow ``*`` on ``*`` are not reported (LP001/AUD003 do), nor the account's unmanaged
principals (AUD003/AUD006 judge those). A user is reported only for a path none of its groups completes
alone (the group is reported). Grants are computed as everywhere in the rules
(:class:`reconciler.rules.analysis.GrantFinder`: a conditional Allow counts, an unconditional Deny removes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from reconciler.facts.model import ADMIN_POLICY_ARNS, Model, PolicyDoc, Principal, Statement
from reconciler.rules.analysis import Grant, GrantFinder, allows_everything
from reconciler.rules.base import BOTH, Hit, Rule
from reconciler.rules.catalog import catalog
from reconciler.rules.conditions import NEGATED_OPERATORS, parse_operator
from reconciler.rules.escalation import ESCALATION_PATHS, EscalationPath
from reconciler.rules.findings import Severity
from reconciler.rules.patterns import glob_match, has_wildcard, patterns_intersect, split_arn
from reconciler.rules.privilege import passes_any_role

_CREDENTIALS = frozenset({"iam:createaccesskey", "iam:createloginprofile", "iam:updateloginprofile"})
_SELF_USER = re.compile(r"arn:aws[a-z-]*:iam::([0-9]{12}|\*):user/(.*/)?\$\{aws:username\}", re.IGNORECASE)
_BOUNDING_OPERATORS = ("stringequals", "arnequals", "stringlike", "arnlike")


def path_kind(path: EscalationPath) -> str:
    """What the path does with its first action's resource: ``credentials``, ``pass``, ``assume`` or ``write``."""
    first = path.needs[0][0].lower()
    if first in _CREDENTIALS:
        return "credentials"
    if first == "iam:passrole":
        return "pass"
    if first == "sts:assumerole":
        return "assume"
    return "write"


def _passed_to(path: EscalationPath) -> str:
    """The service principal a pass-role path hands the role to (the service of its companion action)."""
    return f"{path.needs[1][0].split(':', 1)[0].lower()}.amazonaws.com"


def _reached(s: Statement, target: str) -> list[str]:
    if s.resource is not None:
        return [r for r in s.resource if patterns_intersect(r, target)]
    return ["NotResource " + ", ".join(s.not_resource or ())]


def _bounded(s: Statement, action: str) -> bool:
    """A write statement whose condition caps what can be written: a permissions boundary that must be set, or
    (attachments) literal policy ARNs none of which is an administrator policy."""
    for operator, block in s.condition.items():
        if operator.lower() not in _BOUNDING_OPERATORS:
            continue  # IfExists, negated and set operators do not require anything
        for key, values in block.items():
            if key.lower() == "iam:permissionsboundary" and values and action.lower() != "iam:addusertogroup":
                return True
            if key.lower() == "iam:policyarn" and values and action.lower().startswith("iam:attach"):
                return all(not has_wildcard(v) and v not in ADMIN_POLICY_ARNS for v in values)
    return False


def _passes_to(s: Statement, service: str) -> bool:
    """Whether the statement's iam:PassedToService conditions (if any) let the role go to ``service``."""
    for operator, block in s.condition.items():
        op = parse_operator(operator)
        for key, values in block.items():
            if key.lower() != "iam:passedtoservice":
                continue
            matches = any(glob_match(v, service) for v in values)
            if matches == (op.base in NEGATED_OPERATORS):
                return False
    return True


@dataclass(frozen=True)
class _Found:
    path: EscalationPath
    key: Grant  # the grant of the path's first action
    others: tuple[Grant, ...]  # one grant for each further action


class _Escalation:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.finder = GrantFinder(model)
        self.wanted = list(dict.fromkeys(need for path in ESCALATION_PATHS for need in path.needs))
        self._admin: dict[int, tuple[PolicyDoc, bool]] = {}  # id of a document -> (it, kept alive; the answer)

    def admin(self, principal: Principal) -> bool:
        """Whether one of the principal's effective documents allows everything (answered once per document)."""
        return any(self._allows_everything(doc) for _, doc in self.model.effective_with_holders(principal))

    def _allows_everything(self, doc: PolicyDoc) -> bool:
        found = self._admin.get(id(doc))
        if found is None:
            found = self._admin[id(doc)] = (doc, any(allows_everything(s) for s in doc.statements))
        return found[1]

    def owned_roles(self, principal: Principal) -> set[str]:
        owned = {principal.arn} if principal.kind == "Role" else set()
        region, account = self.model.region or "*", self.model.account_id
        opened: list[tuple[str, str, str | None]] = [
            (
                "sagemaker:CreatePresignedNotebookInstanceUrl",
                f"arn:aws:sagemaker:{region}:{account}:notebook-instance/{nb.name.lower()}",
                nb.role_arn,
            )
            for nb in self.model.notebooks.values()
        ]
        for profile in self.model.profiles.values():
            domain = self.model.domains.get(profile.domain or "")
            role = profile.role_arn or (domain.role_arn if domain is not None else None)
            target = f"arn:aws:sagemaker:{region}:{account}:user-profile/*/{profile.name}"
            opened.append(("sagemaker:CreatePresignedDomainUrl", target, role))
        for action, target, role in opened:
            if role is not None and self.finder(principal, [(action, target)]):
                owned.add(role)
        return owned

    def qualifies(self, principal: Principal, path: EscalationPath, grant: Grant, roles: set[str]) -> bool:
        kind, s = path_kind(path), grant.statement
        reached = _reached(s, grant.target)
        if grant.action != path.needs[0][0]:
            # A companion action (sagemaker:CreateNotebookInstance...): on any resource it applies to.
            info = catalog().action(grant.action)
            return info is None or any(
                r == "*" or r.startswith("NotResource") or catalog().applies(info, r) for r in reached
            )
        if kind == "write":
            return not _bounded(s, grant.action)
        if kind == "credentials":
            mine = {principal.arn} if principal.kind == "User" else set()
            return any(r not in mine and not _SELF_USER.fullmatch(r) for r in reached)
        if kind == "assume":
            return any(
                r == "*" or r.startswith("NotResource") or has_wildcard((split_arn(r) or [""] * 6)[5])
                for r in reached
                if r not in roles
            )
        if passes_any_role(s, self.model.account_id) is not None or not _passes_to(s, _passed_to(path)):
            return False  # LP003's, or passed to another service only
        return any(r not in roles for r in reached)

    def paths(self, principal: Principal) -> list[_Found]:
        grants = self.finder(principal, self.wanted)
        if not grants:
            return []
        by_need: dict[tuple[str, str], list[Grant]] = {}
        for grant in grants:
            by_need.setdefault((grant.action, grant.target), []).append(grant)
        roles: set[str] | None = None
        found: list[_Found] = []
        for path in ESCALATION_PATHS:
            if any(need not in by_need for need in path.needs):
                continue
            if roles is None:
                roles = self.owned_roles(principal)
            chosen: list[Grant] = []
            for need in path.needs:
                usable = [g for g in by_need[need] if self.qualifies(principal, path, g, roles)]
                if not usable:
                    break
                chosen.append(usable[0])
            else:
                found.append(_Found(path, chosen[0], tuple(chosen[1:])))
        return found


def _statement_name(doc: PolicyDoc, s: Statement) -> str:
    return f"{doc.label}, statement {s.sid!r}" if s.sid else f"{doc.label}, statement {s.index + 1}"


def _hint(kinds: set[str]) -> str:
    hints = {
        "write": "scope it to what this principal must administer and bound it with a Condition on "
        "iam:PermissionsBoundary (or iam:PolicyARN for attachments), or remove it",
        "credentials": "limit it to the user's own credentials: Resource arn:aws:iam::ACCOUNT:user/${aws:username}",
        "pass": "allow iam:PassRole only on its own role (or the execution role of the notebook it uses), with "
        "iam:PassedToService",
        "assume": "name the roles it may assume, one ARN each",
    }
    return "; ".join(hints[k] for k in ("write", "credentials", "pass", "assume") if k in kinds)


def _esc001(model: Model) -> Iterator[Hit]:
    esc = _Escalation(model)
    complete_in_group: dict[str, set[str]] = {}
    for principal in (*(model.roles[n] for n in sorted(model.roles)), *(model.groups[n] for n in sorted(model.groups))):
        found = esc.paths(principal) if principal.managed and not esc.admin(principal) else []
        complete_in_group[principal.ref] = {f.path.id for f in found}
        yield from _hits(principal, found)
    for name in sorted(model.users):
        user = model.users[name]
        if not user.managed or esc.admin(user):
            continue
        inherited = set().union(*(complete_in_group.get(f"Group/{g}", set()) for g in user.groups))
        yield from _hits(user, [f for f in esc.paths(user) if f.path.id not in inherited])


def _hits(principal: Principal, found: list[_Found]) -> Iterator[Hit]:
    by_statement: dict[int, list[_Found]] = {}
    for f in found:
        by_statement.setdefault(id(f.key.statement), []).append(f)
    for group in by_statement.values():
        key = group[0].key
        reached = sorted({r for f in group for r in _reached(f.key.statement, f.key.target)})
        actions = ", ".join(dict.fromkeys(f.key.action for f in group))
        ways = "; ".join(f"{f.path.id} ({f.path.title})" for f in group)
        companions: dict[str, list[str]] = {}
        for other in (o for f in group for o in f.others):
            actions_of = companions.setdefault(_statement_name(other.document, other.statement), [])
            if other.action not in actions_of:
                actions_of.append(other.action)
        if companions:
            ways += ", with " + "; ".join(f"{', '.join(a)} from {where}" for where, a in companions.items())
        yield Hit(
            principal.ref,
            key.statement.location or key.document.location,
            f"{principal.ref} can grant itself more: {_statement_name(key.document, key.statement)} allows "
            f"{actions} on {', '.join(reached)}, resources it does not own: {ways}",
            _hint({path_kind(f.path) for f in group}),
        )


RULES: tuple[Rule, ...] = (
    Rule(
        "ESC001",
        Severity.ERROR,
        "Privilege escalation path",
        "Permissions that let a principal grant itself (or a principal it controls) more -- writing policies, "
        "policy versions, group membership or trust policies, another user's credentials, passing a role to "
        "code it runs, assuming any role -- on resources it does not own make every other limit moot.",
        _esc001,
        BOTH,
    ),
)
