"""Least privilege (LP001-LP010): what a policy allows, checked against the IAM catalog.

Content rules run on the documents people write (Policy manifests / customer managed policies, inline
policies, trust and bucket policies), never on statements the product generates. AWS managed policies
attached to a principal are checked for the broad grants only (LP001-LP003), reported on the principal
that attaches them: their other details are AWS's to fix.

Here: the broad grants (LP001-LP004, LP010) and the documents that could not be checked (LP008). The
statements that do not do what they say (LP005-LP007, LP009) are in :mod:`reconciler.rules.ineffective`;
``RULES`` lists all ten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from reconciler.facts.model import DocKind, Model, PolicyDoc, Principal, Statement
from reconciler.policydoc import action_matches, action_set
from reconciler.rules import ineffective
from reconciler.rules.analysis import allows_everything, service_wide
from reconciler.rules.base import BOTH, Hit, Rule, authored_statements
from reconciler.rules.catalog import ActionInfo, catalog
from reconciler.rules.findings import Severity
from reconciler.rules.patterns import covers, has_wildcard, split_arn


def _notable(actions: tuple[ActionInfo, ...], limit: int = 5) -> list[str]:
    """A few of the most consequential actions, one kind at a time: retention bypass, deletes,
    permission changes (ACLs), updates, tagging."""
    kinds: list[Callable[[ActionInfo], bool]] = [
        lambda a: a.name.startswith("Bypass"),
        lambda a: a.name.startswith("Delete"),
        lambda a: "Permissions management" in a.access_level,
        lambda a: a.name.startswith("Update"),
        lambda a: "Tagging" in a.access_level,
        lambda a: "Write" in a.access_level,
    ]
    pools = [
        sorted(
            (a for a in actions if kind(a)),
            key=lambda a: ("Version" not in a.name and "Acl" not in a.name, len(a.name), a.name),
        )
        for kind in kinds
    ]
    out: list[str] = []
    while len(out) < limit and any(pools):
        for pool in pools:
            while pool and pool[0].full in out:
                pool.pop(0)
            if pool and len(out) < limit:
                out.append(pool.pop(0).full)
    return out


def _aws_managed(model: Model) -> Iterator[tuple[Principal, PolicyDoc]]:
    for principal, doc in model.identity_documents():
        if principal is not None and doc.kind is DocKind.AWS_MANAGED:
            yield principal, doc


# ---------------------------------------------------------------------------------------------- LP001


def _lp001(model: Model) -> Iterator[Hit]:
    for doc, s in authored_statements(model):
        if allows_everything(s):
            yield Hit(
                doc.owner,
                s.location,
                f'{doc.label} allows every action on every resource ("*" on "*"): full administrator access',
                "list the actions and resources that are needed",
            )
    for principal, doc in _aws_managed(model):
        if any(allows_everything(s) for s in doc.statements):
            yield Hit(
                principal.ref,
                doc.location,
                f'{principal.ref} attaches {doc.label}, which allows "*" on "*" (full administrator access)',
                "attach a Policy that allows only what is needed",
            )


# ---------------------------------------------------------------------------------------------- LP002


def _wide_detail(pattern: str, resources: tuple[str, ...]) -> str:
    named = [r for r in resources if r != "*"]
    if "*" in resources or not named:
        if pattern in ("*", "*:*"):
            return "every action of every service on every resource"
        service = pattern.split(":", 1)[0]
        count = len(catalog().actions(service))
        return f"every {service} action ({count} in the catalog) on every resource"
    parts = []
    for resource in named:
        on = catalog().actions_on(resource)
        if pattern not in ("*", "*:*"):
            on = tuple(a for a in on if action_matches(pattern, a.full))
        if on:
            services = sorted({a.service for a in on})
            parts.append(
                f"all {len(on)} {'/'.join(services)} actions that apply to {resource}, including "
                + ", ".join(_notable(on))
            )
        else:
            parts.append(f"every action on {resource}")
    return "; ".join(parts)


def _wide_hint(resources: tuple[str, ...]) -> str:
    reads = sorted(
        {a.full for r in resources if r != "*" for a in catalog().actions_on(r) if a.access_level == "Read"},
        key=lambda n: (len(n), n),
    )[:2]
    example = f" (e.g. {', '.join(reads)})" if reads else ""
    return f"list only the actions that are needed{example}"


def _lp002(model: Model) -> Iterator[Hit]:
    for doc, s in authored_statements(model):
        if not s.allow or s.action is None or allows_everything(s):
            continue
        for pattern in s.action:
            if service_wide(pattern):
                resources = s.resource or ("*",)
                detail = _wide_detail(pattern, resources)
                yield Hit(doc.owner, s.location, f"{doc.label} allows {pattern!r}: {detail}", _wide_hint(resources))
    for principal, doc in _aws_managed(model):
        wide = sorted(
            {
                p
                for s in doc.statements
                if s.allow and not allows_everything(s)
                for p in (s.action or ())
                if service_wide(p)
            }
        )
        if wide:
            yield Hit(
                principal.ref,
                doc.location,
                f"{principal.ref} attaches {doc.label}, which allows {', '.join(wide)} (every action of the service)",
                "replace it with a Policy manifest that allows only the actions and resources needed",
            )


# ---------------------------------------------------------------------------------------------- LP003


def passes_any_role(s: Statement, account: str) -> str | None:
    if not s.allow or s.action is None or "*" in s.action:
        return None
    if not action_set(s.action).matches("iam:PassRole"):
        return None
    if "iam:passedtoservice" in s.condition_keys():
        return None
    for resource in s.resource or ():
        if resource == "*" or covers(resource, f"arn:aws:iam::{account}:role/*"):
            return resource
    return None


def _lp003(model: Model) -> Iterator[Hit]:
    hint = (
        "name the roles it may pass, and add Condition StringEquals iam:PassedToService (e.g. sagemaker.amazonaws.com)"
    )
    for doc, s in authored_statements(model):
        resource = passes_any_role(s, model.account_id)
        if resource is not None:
            yield Hit(
                doc.owner,
                s.location,
                f"{doc.label} allows iam:PassRole on {resource}: the holder can hand any "
                "role, including more privileged ones, to any service",
                hint,
            )
    for principal, doc in _aws_managed(model):
        for s in doc.statements:
            resource = passes_any_role(s, model.account_id)
            if resource is not None:
                yield Hit(
                    principal.ref,
                    doc.location,
                    f"{principal.ref} attaches {doc.label}, which allows "
                    f"iam:PassRole on {resource} without iam:PassedToService",
                    hint,
                )
                break


# ---------------------------------------------------------------------------------------------- LP004


def _lp004(model: Model) -> Iterator[Hit]:
    for doc, s in authored_statements(model):
        if not s.allow:
            continue
        for element, values in (
            ("NotAction", s.not_action),
            ("NotResource", s.not_resource),
            ("NotPrincipal", s.not_principal),
        ):
            if values is None:
                continue
            shown = (
                ", ".join(values)
                if isinstance(values, tuple)
                else ", ".join(f"{k}={'/'.join(v)}" for k, v in sorted(values.items()))
            )
            yield Hit(
                doc.owner,
                s.location,
                f"{doc.label} has Allow with {element} ({shown}): it allows everything "
                "else, including actions, resources or principals added to AWS later",
                f"write Allow with {element.removeprefix('Not')} listing what is allowed",
            )


# ---------------------------------------------------------------------------------------------- LP008


def _lp008(model: Model) -> Iterator[Hit]:
    for principal in model.principals:
        for attachment in principal.attachments:
            if attachment.document is None:
                yield Hit(
                    principal.ref,
                    attachment.location or principal.location,
                    f"{principal.ref} attaches {attachment.arn}, whose document is not known: "
                    "its permissions were not checked",
                    "check the ARN; plan reads AWS managed policies from IAM",
                )
    for owner, label, location, why in model.unreadable:
        yield Hit(owner, location, f"{label} could not be read ({why}): it was not checked", "fix the document")


# ---------------------------------------------------------------------------------------------- LP010

_SCOPING_KEYS = frozenset({"aws:resourceaccount", "aws:resourceorgid", "aws:resourceorgpaths"})


def _every_resource(pattern: str) -> bool:
    """``*``, or an ARN whose resource part is only wildcards (``arn:aws:s3:::*``, ``arn:aws:s3:::*/*``)."""
    if pattern == "*":
        return True
    parts = split_arn(pattern)
    return parts is not None and "*" in parts[5] and set(parts[5]) <= {"*", "/"}


def _scoped_by_condition(s: Statement) -> bool:
    """A condition on the resource's tags or account narrows a wildcard resource (attribute-based access)."""
    return any(k in _SCOPING_KEYS or "resourcetag/" in k for k in s.condition_keys())


def _template(action: ActionInfo, model: Model) -> str:
    cat = catalog()
    rtype = cat.resource_type(action.service, action.resource_types[0])
    if rtype is None:
        return action.resource_types[0]
    values = {"${Partition}": "aws", "${Region}": model.region or "REGION", "${Account}": model.account_id}
    out = rtype.template
    for variable, value in values.items():
        out = out.replace(variable, value)
    return out


def _lp010(model: Model) -> Iterator[Hit]:
    cat = catalog()
    for doc, s in authored_statements(model):
        if not s.allow or s.action is None or s.resource is None or allows_everything(s) or _scoped_by_condition(s):
            continue
        wide = [r for r in s.resource if _every_resource(r)]
        if not wide:
            continue
        patterns: list[str] = []
        scoped: dict[str, ActionInfo] = {}
        for pattern in s.action:
            service = pattern.partition(":")[0]
            if service_wide(pattern) or has_wildcard(service) or not cat.has_service(service):
                continue  # LP002, or not one service
            if action_matches(pattern, "iam:PassRole") and passes_any_role(s, model.account_id) is not None:
                continue  # LP003
            found = [
                a
                for a in cat.expand(pattern)
                if a.resource_types and a.access_level != "List" and any(cat.applies(a, r) for r in wide)
            ]
            if found:
                patterns.append(pattern)
                scoped.update((a.full, a) for a in found)
        if not scoped:
            continue
        writes = [a for a in scoped.values() if a.access_level in ("Write", "Permissions management")]
        shown = ", ".join(a.full for a in (writes or list(scoped.values()))[:4])
        what = (
            f"{shown} takes resource-level permissions"
            if len(scoped) == 1
            else f"{len(scoped)} actions take resource-level permissions ({shown}{', ...' if len(scoped) > 4 else ''})"
        )
        reach = "write to or change any of them" if writes else "read any of them"
        yield Hit(
            doc.owner,
            s.location,
            f"{doc.label} allows {', '.join(patterns)} on {', '.join(wide)}, every such resource of the account, "
            f"although {what}: the holder can {reach}, present or future",
            f"name the resources it needs, e.g. {_template((writes or list(scoped.values()))[0], model)}",
            Severity.ERROR if writes else Severity.WARNING,
        )


_OWN: tuple[Rule, ...] = (
    Rule(
        "LP001",
        Severity.ERROR,
        "Allow * on *",
        "A statement that allows every action on every resource is administrator access; nothing in this "
        "environment needs it.",
        _lp001,
        BOTH,
    ),
    Rule(
        "LP002",
        Severity.ERROR,
        "Service-wide action (* or service:*)",
        '"*" or "s3:*" allows every current and future action of a service, e.g. on an S3 object ARN it '
        "includes s3:PutObjectAcl, s3:DeleteObjectVersion and s3:BypassGovernanceRetention.",
        _lp002,
        BOTH,
    ),
    Rule(
        "LP003",
        Severity.ERROR,
        "iam:PassRole on every role",
        "iam:PassRole on * lets the holder give any role, including more privileged ones, to a service it "
        "controls (privilege escalation).",
        _lp003,
        BOTH,
    ),
    Rule(
        "LP004",
        Severity.ERROR,
        "NotAction / NotResource / NotPrincipal with Allow",
        "Allow with a Not* element allows everything that is not listed, including what AWS adds later.",
        _lp004,
        BOTH,
    ),
    Rule(
        "LP010",
        Severity.ERROR,
        "Wildcard resource on an action that takes resource-level permissions",
        'Resource "*" on an action that can be limited to named resources (the catalog lists its resource '
        "types) reaches every such resource of the account: an error for actions that write or change "
        'permissions, a warning for reads. Actions without resource types need "*" and are not reported, nor '
        "statements narrowed by a condition on the resource's tags or account.",
        _lp010,
        BOTH,
    ),
    Rule(
        "LP008",
        Severity.WARNING,
        "Policy document not available",
        "An attached policy whose document is unknown (not fetched, unreadable) cannot be checked.",
        _lp008,
        BOTH,
    ),
)

RULES: tuple[Rule, ...] = tuple(sorted((*_OWN, *ineffective.RULES), key=lambda rule: rule.id))
