"""Least privilege (LP001-LP008): what a policy allows, checked against the IAM catalog.

Content rules run on the documents people write (Policy manifests / customer managed policies, inline
policies, trust and bucket policies), never on statements the product generates. AWS managed policies
attached to a principal are checked for the broad grants only (LP001-LP003), reported on the principal
that attaches them: their other details are AWS's to fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator

from reconciler.policydoc import action_matches
from reconciler.rules.analysis import allows_everything, service_wide
from reconciler.rules.base import BOTH, Hit, Rule
from reconciler.rules.catalog import ActionInfo, catalog
from reconciler.rules.findings import Severity
from reconciler.rules.model import DocKind, Model, PolicyDoc, Principal, Statement
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


def _documents(model: Model) -> Iterator[PolicyDoc]:
    yield from model.authored_documents()


def _statements(model: Model) -> Iterator[tuple[PolicyDoc, Statement]]:
    for doc in _documents(model):
        for statement in doc.statements:
            if not statement.generated:
                yield doc, statement


def _aws_managed(model: Model) -> Iterator[tuple[Principal, PolicyDoc]]:
    for principal, doc in model.identity_documents():
        if principal is not None and doc.kind is DocKind.AWS_MANAGED:
            yield principal, doc


# ---------------------------------------------------------------------------------------------- LP001


def _lp001(model: Model) -> Iterator[Hit]:
    for doc, s in _statements(model):
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
    for doc, s in _statements(model):
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


def _passes_any_role(s: Statement, account: str) -> str | None:
    if not s.allow or s.action is None or "*" in s.action:
        return None
    if not any(action_matches(p, "iam:PassRole") for p in s.action):
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
    for doc, s in _statements(model):
        resource = _passes_any_role(s, model.account_id)
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
            resource = _passes_any_role(s, model.account_id)
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
    for doc, s in _statements(model):
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


# ---------------------------------------------------------------------------------------------- LP005


def _action_problem(pattern: str) -> tuple[str, str] | None:
    if pattern in ("*", "*:*"):
        return None
    service, sep, name = pattern.partition(":")
    if not sep or not service or not name:
        return (f"{pattern!r} is not of the form service:Action", "write it as service:Action, e.g. s3:GetObject")
    if has_wildcard(service):
        return None
    cat = catalog()
    if not cat.has_service(service):
        close = difflib.get_close_matches(service.lower(), sorted(cat.services), n=1)
        return (
            f"{pattern!r} names an unknown service {service!r}",
            f"did you mean {close[0]}:{name}?" if close else "check the service prefix",
        )
    if cat.expand(pattern):
        return None
    names = [a.name for a in cat.actions(service)]
    close = difflib.get_close_matches(name, names, n=3)
    what = "matches no" if has_wildcard(name) else "is not a"
    return (
        f"{pattern!r} {what} {service} action in the IAM catalog of {cat.updated_at}",
        f"did you mean {', '.join(f'{service}:{c}' for c in close)}?" if close else "check the action name",
    )


def _lp005(model: Model) -> Iterator[Hit]:
    for doc, s in _statements(model):
        for pattern in (s.action or ()) + (s.not_action or ()):
            problem = _action_problem(pattern)
            if problem is not None:
                yield Hit(doc.owner, s.location, f"{doc.label}: {problem[0]}", problem[1])


# ---------------------------------------------------------------------------------------------- LP006


def _parents(resource: str) -> list[str]:
    """``arn:aws:s3:::b/k/*`` -> ``arn:aws:s3:::b/k``, ``arn:aws:s3:::b``."""
    parts = split_arn(resource)
    if parts is None:
        return []
    head, rest = ":".join(parts[:5]) + ":", parts[5]
    out: list[str] = []
    while True:
        cut = max(rest.rfind("/"), rest.rfind(":"))
        if cut <= 0:
            return out
        rest = rest[:cut]
        if not has_wildcard(rest):
            out.append(head + rest)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").split("-"))


def _type_phrase(action: ActionInfo) -> str:
    cat = catalog()
    if not action.resource_types:
        return f'{action.full} only applies to "*"'
    forms = []
    for name in action.resource_types:
        rtype = cat.resource_type(action.service, name)
        forms.append(f"{name} ({rtype.template})" if rtype else name)
    return f"{action.full} applies to " + ", ".join(forms)


def _granted_elsewhere(doc: PolicyDoc, action: ActionInfo, resource: str) -> bool:
    cat = catalog()
    for s in doc.statements:
        if (
            s.allow
            and s.action
            and any(action_matches(p, action.full) for p in s.action)
            and any(r == "*" or (r != resource and cat.applies(action, r)) for r in s.resource or ())
        ):
            return True
    return False


def _lp006(model: Model) -> Iterator[Hit]:
    cat = catalog()
    for doc, s in _statements(model):
        if s.action is None or s.resource is None or "*" in s.resource:
            continue
        resources = [r for r in s.resource if cat.arn_problem(r) is None]
        if not resources:
            continue  # LP007 reports the ARNs
        verb = "allows" if s.allow else "denies"
        for pattern in s.action:
            service, _, name = pattern.partition(":")
            if pattern in ("*", "*:*") or has_wildcard(service) or not cat.has_service(service):
                continue
            expanded = cat.expand(pattern)
            if not expanded:
                continue  # LP005
            applying = tuple(a for a in expanded if any(cat.applies(a, r) for r in resources))
            if not applying:
                hint = "list the resources the action applies to"
                for r in resources:
                    for parent in _parents(r):
                        fits = [a.full for a in expanded if cat.applies(a, parent)]
                        if fits:
                            hint = f"{', '.join(fits[:3])} needs {parent} (not {r})"
                            break
                    else:
                        continue
                    break
                detail = (
                    _type_phrase(expanded[0])
                    if len(expanded) == 1
                    else (f"none of its {len(expanded)} actions applies to these resources")
                )
                yield Hit(
                    doc.owner,
                    s.location,
                    f"{doc.label}: {pattern} {verb} nothing on {', '.join(resources)}: {detail}",
                    hint,
                )
                continue
            if not s.allow or not has_wildcard(name):
                continue
            yield from _sliver(doc, s, pattern, expanded=expanded, applying=applying, resources=resources)


def _sliver(
    doc: PolicyDoc,
    s: Statement,
    pattern: str,
    *,
    expanded: tuple[ActionInfo, ...],
    applying: tuple[ActionInfo, ...],
    resources: list[str],
) -> Iterator[Hit]:
    """A wildcard whose namesake action (``List*`` -> ``ListBucket``) needs a parent ARN that is missing."""
    cat = catalog()
    verb = pattern.partition(":")[2].split("*", 1)[0].split("?", 1)[0]
    if not verb:
        return
    for resource in resources:
        for parent in _parents(resource):
            for rtype in cat.types_for_arn(parent):
                namesake = cat.action(f"{rtype.service}:{verb}{_camel(rtype.name)}")
                if (
                    namesake is None
                    or namesake not in expanded
                    or namesake in applying
                    or namesake.access_level not in ("List", "Read")
                    or not cat.applies(namesake, parent)
                    or _granted_elsewhere(doc, namesake, resource)
                ):
                    continue
                only = ", ".join(a.full for a in applying[:4]) + (" ..." if len(applying) > 4 else "")
                yield Hit(
                    doc.owner,
                    s.location,
                    f"{doc.label}: {pattern} on {resource} allows only {only}; {namesake.full} is not "
                    f"allowed: it applies to the {rtype.name} ARN {parent}, which the statement does not list",
                    f"add {parent} to the resources for {namesake.full} (a separate statement)",
                )
                return


# ---------------------------------------------------------------------------------------------- LP007


def _lp007(model: Model) -> Iterator[Hit]:
    cat = catalog()
    for doc, s in _statements(model):
        for resource in (s.resource or ()) + (s.not_resource or ()):
            problem = cat.arn_problem(resource)
            if problem is None:
                continue
            fixed = cat.suggest_arn(resource, model.region, model.account_id)
            hint = f"write it as {fixed}" if fixed else "write the ARN in the form the service documents"
            yield Hit(
                doc.owner, s.location, f"{doc.label}: {resource} {problem}; the statement matches nothing there", hint
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


# ---------------------------------------------------------------------------------------------- LP009


def _lp009(model: Model) -> Iterator[Hit]:
    cat = catalog()
    for doc, s in _statements(model):
        for block in s.condition.values():
            for key in block:  # as written
                if cat.condition_key_known(key) is False:
                    service = key.split(":", 1)[0]
                    names = [k for k in cat.condition_keys(service) if "$" not in k and "<" not in k]
                    close = difflib.get_close_matches(key, names, n=2)
                    yield Hit(
                        doc.owner,
                        s.location,
                        f"{doc.label}: condition key {key} is not a {service} condition key in the IAM catalog "
                        f"of {cat.updated_at}: requests never carry it, so the condition does not test what "
                        "it says",
                        f"did you mean {', '.join(close)}?" if close else "check the key name",
                    )


RULES: tuple[Rule, ...] = (
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
        "LP005",
        Severity.ERROR,
        "Unknown action",
        "IAM accepts unknown action names silently: a typo grants (or denies) nothing.",
        _lp005,
        BOTH,
    ),
    Rule(
        "LP006",
        Severity.ERROR,
        "Action does not apply to the given resources",
        "An action is authorised only on the resource types the Service Authorization Reference lists for it: "
        "s3:ListBucket on an object ARN grants nothing, and s3:List* on object ARNs grants only the few "
        "object-level List actions.",
        _lp006,
        BOTH,
    ),
    Rule(
        "LP007",
        Severity.ERROR,
        "Malformed ARN",
        "An ARN that fits none of its service's resource types (empty region or account, a '/' in a name) "
        "matches nothing, so the statement silently does nothing.",
        _lp007,
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
    Rule(
        "LP009",
        Severity.WARNING,
        "Unknown service condition key",
        "A condition on a key the service never sends is never true (or, with ...IfExists, always true). "
        "Service keys (s3:prefix, iam:PassedToService...) are checked against the catalog; global aws: keys "
        "are not in it.",
        _lp009,
        BOTH,
    ),
)
