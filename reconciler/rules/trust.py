"""Trust (TR001-TR004): who may assume each role."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.facts.model import Model, PolicyDoc, Principal, Statement
from reconciler.policydoc import action_matches
from reconciler.rules.analysis import account_of
from reconciler.rules.base import BOTH, Hit, Rule
from reconciler.rules.findings import Severity
from reconciler.rules.patterns import has_wildcard

SAGEMAKER = "sagemaker.amazonaws.com"
CONFUSED_DEPUTY_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"})


def _trusts(model: Model) -> Iterator[tuple[Principal, PolicyDoc]]:
    for name in sorted(model.roles):
        role = model.roles[name]
        if role.trust is not None:
            yield role, role.trust


def _assumes(s: Statement) -> bool:
    return s.allow and any(action_matches(p, "sts:AssumeRole") for p in s.action or ())


def _tr001(model: Model) -> Iterator[Hit]:
    for role, doc in _trusts(model):
        for s in doc.statements:
            if s.allow and s.principal and any("*" in values for values in s.principal.values()):
                yield Hit(
                    role.ref,
                    s.location,
                    f'{doc.label} trusts "*": any AWS principal of any account may assume the role (conditions aside)',
                    "name the principals (a service or role ARNs)",
                )


def trusted_services(doc: PolicyDoc | None) -> list[str]:
    if doc is None:
        return []
    return sorted(
        {svc for s in doc.statements if _assumes(s) and s.principal for svc in s.principal.get("Service", ())}
    )


def _what(users: list[str]) -> str:
    if len(users) > 1:
        return "them"
    return "the notebook" if users[0].startswith("NotebookInstance/") else users[0]


def _tr002(model: Model) -> Iterator[Hit]:
    reported: set[str] = set()
    workloads = list(model.execution_roles())
    for workload in workloads:
        role = model.roles.get(workload.role_name or "")
        if role is None or role.ref in reported:
            continue
        services = trusted_services(role.trust)
        if SAGEMAKER in services:
            continue
        reported.add(role.ref)
        users = [w.ref for w in workloads if w.role_name == role.name]
        shown = ", ".join(services) if services else "no service"
        location = role.trust.location if role.trust is not None else role.location
        yield Hit(
            role.ref,
            location,
            f"{role.ref} runs {', '.join(sorted(users))} but trusts {shown}, not {SAGEMAKER}: SageMaker "
            f"cannot assume it, so creating {_what(users)} fails",
            f"trustedServices: [{SAGEMAKER}]",
        )


def _tr003(model: Model) -> Iterator[Hit]:
    for role, doc in _trusts(model):
        for s in doc.statements:
            services = s.principal.get("Service", ()) if s.allow and s.principal else ()
            if services and not (s.condition_keys() & CONFUSED_DEPUTY_KEYS):
                yield Hit(
                    role.ref,
                    s.location,
                    f"{doc.label} trusts {', '.join(services)} without aws:SourceAccount or aws:SourceArn: "
                    "the service may assume the role on behalf of another account (confused deputy)",
                    f'add Condition StringEquals aws:SourceAccount: "{model.account_id}" (trustedServices does this)',
                )


def _tr004(model: Model) -> Iterator[Hit]:
    for role, doc in _trusts(model):
        for s in doc.statements:
            if not s.allow or not s.principal:
                continue
            for principal in s.principal.get("AWS", ()):
                if principal == "*":
                    continue  # TR001
                account = account_of(principal)
                if account is None or account == model.account_id:
                    continue
                whole = principal.endswith(":root") or has_wildcard(principal)
                if whole:
                    yield Hit(
                        role.ref,
                        s.location,
                        f"{doc.label} trusts {principal}: every principal of account {account} that is "
                        "allowed sts:AssumeRole there may assume the role",
                        "list the exact role ARNs of the other account (and require sts:ExternalId)",
                    )


RULES: tuple[Rule, ...] = (
    Rule(
        "TR001",
        Severity.ERROR,
        "Trust policy with a * principal",
        'A role that trusts "*" may be assumed from any account.',
        _tr001,
        BOTH,
    ),
    Rule(
        "TR002",
        Severity.ERROR,
        "Execution role does not trust SageMaker",
        "SageMaker assumes the execution role of a notebook, a Studio domain or a user profile; a role that does "
        "not trust sagemaker.amazonaws.com makes creating them fail.",
        _tr002,
        BOTH,
    ),
    Rule(
        "TR003",
        Severity.WARNING,
        "Service principal without aws:SourceAccount / aws:SourceArn",
        "AWS recommends pinning service principals to the account or resource (confused deputy prevention).",
        _tr003,
        BOTH,
    ),
    Rule(
        "TR004",
        Severity.ERROR,
        "Cross-account principal not listed explicitly",
        "Trusting another account's root (or a wildcard) delegates the decision to whoever administers that "
        "account; cross-account principals must be listed one by one.",
        _tr004,
        BOTH,
    ),
)
