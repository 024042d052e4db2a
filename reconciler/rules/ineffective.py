"""Least privilege, the statements that do not do what they say (LP005-LP007, LP009), checked against the
IAM catalog: an action that does not exist, an action that does not apply to the resources listed, an ARN
no resource can have, a condition key no request carries. IAM accepts all of them silently, and the
statement then grants (or denies) less than it reads, often nothing.

Like the other least-privilege rules (:mod:`reconciler.rules.privilege`, whose ``RULES`` lists these
too), they run on the statements people write, never on those the product generates.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from reconciler.facts.model import Model, PolicyDoc, Statement
from reconciler.policydoc import action_matches
from reconciler.rules.base import BOTH, Hit, Rule, authored_statements
from reconciler.rules.catalog import ActionInfo, catalog
from reconciler.rules.conditions import close_global_key, global_key_known, true_without_key
from reconciler.rules.findings import Severity
from reconciler.rules.patterns import has_wildcard, split_arn

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
    for doc, s in authored_statements(model):
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
    for doc, s in authored_statements(model):
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
    for doc, s in authored_statements(model):
        for resource in (s.resource or ()) + (s.not_resource or ()):
            problem = cat.arn_problem(resource)
            if problem is None:
                continue
            fixed = cat.suggest_arn(resource, model.region, model.account_id)
            hint = f"write it as {fixed}" if fixed else "write the ARN in the form the service documents"
            yield Hit(
                doc.owner, s.location, f"{doc.label}: {resource} {problem}; the statement matches nothing there", hint
            )


# ---------------------------------------------------------------------------------------------- LP009


def _unknown_key(key: str) -> tuple[str, str] | None:
    """(what the key is not, a hint) when no request carries ``key``; None when it is known or cannot be told."""
    cat = catalog()
    if key.lower().startswith("aws:"):
        if global_key_known(key):
            return None
        global_close = close_global_key(key)
        return (
            "a global condition key (IAM User Guide, AWS global condition context keys)",
            f"did you mean {global_close}?" if global_close else "check the key name",
        )
    if cat.condition_key_known(key) is not False:
        return None
    service = key.split(":", 1)[0]
    names = [k for k in cat.condition_keys(service) if "$" not in k and "<" not in k]
    close = difflib.get_close_matches(key, names, n=2)
    return (
        f"a {service} condition key in the IAM catalog of {cat.updated_at}",
        f"did you mean {', '.join(close)}?" if close else "check the key name",
    )


def _lp009(model: Model) -> Iterator[Hit]:
    for doc, s in authored_statements(model):
        for operator, block in s.condition.items():
            for key, values in block.items():  # as written
                unknown = _unknown_key(key)
                if unknown is None:
                    continue
                holds = true_without_key(operator, values)
                opens = holds if s.allow else not holds
                verb = "Allow" if s.allow else "Deny"
                effect = f"the {verb} {'applies without the condition' if holds else 'never applies'}"
                yield Hit(
                    doc.owner,
                    s.location,
                    f"{doc.label}: condition key {key} is not {unknown[0]}: requests never carry it, so the "
                    f"condition does not test what it says (under {operator}, {effect})",
                    unknown[1],
                    Severity.ERROR if opens else Severity.WARNING,
                )


RULES: tuple[Rule, ...] = (
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
        "LP009",
        Severity.WARNING,
        "Unknown condition key",
        "A condition on a key no request carries is never true (or, with ...IfExists or a negated operator, "
        "always true). Service keys (s3:prefix, iam:PassedToService...) are checked against the catalog, global "
        "aws: keys against the IAM User Guide's list. An error when it opens access (an Allow that always "
        "applies, a Deny that never does), a warning otherwise.",
        _lp009,
        BOTH,
    ),
)
